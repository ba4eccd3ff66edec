//! Topic management: UPDATE_AND_CREATE_TOPIC, DELETE_TOPIC_IN_BROKER, GET_ALL_TOPIC_CONFIG,
//! GET_TOPIC_CONFIG, GET_TOPIC_STATS_INFO, QUERY_CONSUME_QUEUE, CLEAN_UNUSED_TOPIC and
//! CLEAN_EXPIRED_CONSUMEQUEUE.

use ferromq_protocol::body::{
    perm, ConsumeQueueData, MessageQueue, QueryConsumeQueueResponseBody, TopicConfig, TopicOffset,
    TopicStatsTable,
};
use ferromq_protocol::header::admin::{
    CreateTopicRequestHeader, DeleteTopicRequestHeader, GetTopicConfigRequestHeader,
    GetTopicStatsInfoRequestHeader, QueryConsumeQueueRequestHeader,
};
use ferromq_protocol::{names, CommandHeader, RemotingCommand, ResponseCode};

use crate::response::{bad_header, fail, ok, Response};
use crate::state::Broker;
use crate::stats::StatsName;

/// UPDATE_AND_CREATE_TOPIC: a valid name that is not an internal topic, queue counts within
/// `maxTopicQueueNums`, and permission bits Apache knows.
pub(crate) async fn create_topic(broker: &Broker, req: &RemotingCommand) -> Response {
    let h = match CreateTopicRequestHeader::read_ext(&req.ext_fields) {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    if let Err(refusal) = crate::limits::admin_topic(&h.topic) {
        return refusal;
    }
    let max = broker.settings().broker.max_topic_queue_nums;
    for (what, n) in [("read", h.read_queue_nums), ("write", h.write_queue_nums)] {
        if !(0..=max).contains(&n) {
            return fail(
                ResponseCode::INVALID_PARAMETER,
                format!("{what}QueueNums {n} is out of range 0..={max} (maxTopicQueueNums)"),
            );
        }
    }
    if h.perm & !(perm::READ_WRITE | perm::INHERIT) != 0 {
        return fail(
            ResponseCode::INVALID_PARAMETER,
            format!(
                "perm {} is not a combination of 4 (read), 2 (write) and 1 (inherit)",
                h.perm
            ),
        );
    }
    let current = broker
        .topics
        .get(&h.topic)
        .map(|c| c.attributes)
        .unwrap_or_default();
    let attributes = match alter_attributes(current, h.attributes.as_deref().unwrap_or_default()) {
        Ok(a) => a,
        Err(why) => return fail(ResponseCode::INVALID_PARAMETER, why),
    };
    let mut config = TopicConfig::new(h.topic.as_str(), h.read_queue_nums, h.write_queue_nums);
    config.attributes = attributes;
    config.perm = h.perm;
    config.order = h.order;
    config.topic_sys_flag = h.topic_sys_flag.unwrap_or(0);
    broker.put_topic(config).await;
    ok()
}

/// Values of the topic attribute `message.type` (Apache's `TopicMessageType`).
const MESSAGE_TYPES: &[&str] = &[
    "UNSPECIFIED",
    "NORMAL",
    "FIFO",
    "DELAY",
    "TRANSACTION",
    "MIXED",
];

/// Applies `+key=value` (set) and `-key` (remove) entries, comma-separated, to a topic's
/// attributes, as Apache's `AttributeUtil.alterCurrentAttributes`; the only key known is
/// `message.type` (docs/grpc.md, "Message types").
fn alter_attributes(
    mut current: std::collections::BTreeMap<String, String>,
    change: &str,
) -> Result<std::collections::BTreeMap<String, String>, String> {
    for entry in change.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (add, rest) = if let Some(rest) = entry.strip_prefix('+') {
            (true, rest)
        } else if let Some(rest) = entry.strip_prefix('-') {
            (false, rest)
        } else {
            return Err(format!("attribute {entry} must start with + or -"));
        };
        let (key, value) = match rest.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (rest, None),
        };
        if key != "message.type" {
            return Err(format!("unsupported key: {key}"));
        }
        match (add, value) {
            (true, Some(v)) if MESSAGE_TYPES.contains(&v) => {
                current.insert(key.to_owned(), v.to_owned());
            }
            (true, Some(v)) => {
                return Err(format!(
                    "value {v} of {key} is not one of {}",
                    MESSAGE_TYPES.join(",")
                ))
            }
            (true, None) => return Err(format!("attribute {entry} has no value")),
            (false, _) => {
                current.remove(key);
            }
        }
    }
    Ok(current)
}

/// DELETE_TOPIC_IN_BROKER: the topic's config, offsets and files.
pub(crate) async fn delete_topic(broker: &Broker, req: &RemotingCommand) -> Response {
    let h = match DeleteTopicRequestHeader::read_ext(&req.ext_fields) {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    if let Err(refusal) = crate::limits::admin_topic(&h.topic) {
        return refusal;
    }
    broker.topics.delete(&h.topic);
    broker.persist_topics().await;
    broker.offsets.remove_topic(&h.topic);
    if let Err(e) = broker.store.delete_topic(&h.topic) {
        return fail(
            ResponseCode::SYSTEM_ERROR,
            format!("delete topic failed: {e}"),
        );
    }
    broker.topics_changed.notify_one();
    ok()
}

/// GET_ALL_TOPIC_CONFIG: the topic table as the broker registers it.
pub(crate) fn all_topic_config(broker: &Broker) -> Response {
    ok().with_body(broker.topic_wrapper().encode())
}

/// GET_TOPIC_CONFIG (`mqadmin topicStatus`, dashboards): one topic's config, as Apache's
/// `TopicConfigAndQueueMapping` (no logical queue mapping: FerroMQ has none).
pub(crate) fn topic_config(broker: &Broker, req: &RemotingCommand) -> Response {
    let h = match GetTopicConfigRequestHeader::read_ext(&req.ext_fields) {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    match broker.topics.get(&h.topic) {
        Some(config) => ok().with_body(config.encode()),
        None => fail(
            ResponseCode::TOPIC_NOT_EXIST,
            format!("No topic in this broker. topic: {}", h.topic),
        ),
    }
}

/// CLEAN_UNUSED_TOPIC: deletes the consume queues of topics the broker no longer has (a topic
/// deleted by hand from `topics.json`, say), keeping internal topics, on a blocking thread.
pub(crate) async fn clean_unused_topics(broker: &Broker) -> Response {
    // Asked of the live table topic by topic: a topic created meanwhile is in the table before
    // its first message reaches a consume queue, so it is never taken for unused.
    let topics = broker.topics.clone();
    let store = broker.store.clone();
    let cleaned = tokio::task::spawn_blocking(move || {
        store.clean_unused_topics(|t| topics.get(t).is_some() || names::is_internal_topic(t))
    })
    .await;
    match cleaned {
        Ok(Ok(deleted)) => {
            if !deleted.is_empty() {
                tracing::info!(?deleted, "unused topics' consume queues deleted");
            }
            ok()
        }
        Ok(Err(e)) => fail(ResponseCode::SYSTEM_ERROR, e.to_string()),
        Err(e) => fail(ResponseCode::SYSTEM_ERROR, e.to_string()),
    }
}

/// CLEAN_EXPIRED_CONSUMEQUEUE: drops consume queue files that only point at commitlog data
/// already deleted, on a blocking thread.
pub(crate) async fn clean_expired_consume_queues(broker: &Broker) -> Response {
    let store = broker.store.clone();
    match tokio::task::spawn_blocking(move || store.clean_expired_consume_queues()).await {
        Ok(Ok(_)) => ok(),
        Ok(Err(e)) => fail(ResponseCode::SYSTEM_ERROR, e.to_string()),
        Err(e) => fail(ResponseCode::SYSTEM_ERROR, e.to_string()),
    }
}

/// Most units QUERY_CONSUME_QUEUE returns at once.
const MAX_QUERY_UNITS: i32 = 1000;

/// QUERY_CONSUME_QUEUE (`mqadmin queryCq`): `count` units of one consume queue from `index`
/// (at most 1,000), with the queue's range and, for `consumerGroup`, its subscription.
pub(crate) fn query_consume_queue(broker: &Broker, req: &RemotingCommand) -> Response {
    let h = match QueryConsumeQueueRequestHeader::read_ext(&req.ext_fields) {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    let Some((min, max)) = broker.store.queue_range(&h.topic, h.queue_id) else {
        return fail(
            ResponseCode::SYSTEM_ERROR,
            format!("{}@{} is not exist!", h.queue_id, h.topic),
        );
    };
    let mut body = QueryConsumeQueueResponseBody {
        min_queue_index: min,
        max_queue_index: max,
        ..Default::default()
    };
    if let Some(group) = &h.consumer_group {
        match broker.clients.subscription(group, &h.topic) {
            Some(sub) => {
                body.filter_data = Some(sub.sub_string.clone());
                body.subscription_data = Some(sub);
            }
            None => body.filter_data = Some(format!("{group}@{} is not online!", h.topic)),
        }
    }
    let count = usize::try_from(h.count.clamp(0, MAX_QUERY_UNITS)).unwrap_or(0);
    let units = broker
        .store
        .queue_units(&h.topic, h.queue_id, h.index, count);
    for (_, unit) in units {
        body.queue_data.push(ConsumeQueueData {
            physic_offset: unit.commit_log_offset,
            physic_size: unit.size,
            tags_code: unit.tags_code,
            ..Default::default()
        });
    }
    ok().with_body(body.encode())
}

/// GET_TOPIC_STATS_INFO: each queue's offsets.
pub(crate) fn topic_stats(broker: &Broker, req: &RemotingCommand) -> Response {
    let h = match GetTopicStatsInfoRequestHeader::read_ext(&req.ext_fields) {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    let Some(topic) = broker.topics.get(&h.topic) else {
        return fail(
            ResponseCode::TOPIC_NOT_EXIST,
            format!("topic[{}] not exist", h.topic),
        );
    };
    let broker_name = broker.settings().broker.broker_name.clone();
    let mut table = TopicStatsTable::default();
    for q in 0..topic.write_queue_nums.max(topic.read_queue_nums) {
        let (min, max) = broker.store.queue_range(&h.topic, q).unwrap_or((0, 0));
        table.offset_table.insert(
            MessageQueue {
                broker_name: broker_name.clone(),
                queue_id: q,
                topic: h.topic.clone(),
            },
            TopicOffset {
                // The store time of the queue's newest message (0 for an empty queue).
                last_update_timestamp: match max {
                    m if m > min => broker
                        .store
                        .store_time_in_queue(&h.topic, q, m - 1)
                        .unwrap_or(0),
                    _ => 0,
                },
                max_offset: max,
                min_offset: min,
            },
        );
    }
    // Messages put per second over the last minute, as Apache 5.3 answers.
    table.topic_put_tps = Some(
        broker
            .stats
            .keyed
            .view(StatsName::TopicPutNums, &h.topic, ferromq_common::now_ms())
            .map_or(0.0, |[minute, _, _]| minute.tps),
    );
    ok().with_body(table.encode())
}

#[cfg(test)]
mod attribute_tests {
    use super::alter_attributes;

    #[test]
    fn message_type_attribute_is_set_replaced_and_removed() {
        let a = alter_attributes(Default::default(), "+message.type=FIFO").expect("set");
        assert_eq!(a.get("message.type").map(String::as_str), Some("FIFO"));
        let a = alter_attributes(a, "+message.type=TRANSACTION").expect("replace");
        assert_eq!(
            a.get("message.type").map(String::as_str),
            Some("TRANSACTION")
        );
        let a = alter_attributes(a, "-message.type").expect("remove");
        assert!(a.is_empty());
        assert!(alter_attributes(Default::default(), "+message.type=BOGUS").is_err());
        assert!(alter_attributes(Default::default(), "+other=1").is_err());
        assert!(alter_attributes(Default::default(), "message.type=FIFO").is_err());
        assert!(alter_attributes(Default::default(), "")
            .expect("empty")
            .is_empty());
    }
}
