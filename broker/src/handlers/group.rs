//! Subscription groups and what they consumed: UPDATE_AND_CREATE_SUBSCRIPTIONGROUP,
//! GET_ALL_SUBSCRIPTIONGROUP_CONFIG, GET_SUBSCRIPTIONGROUP_CONFIG, DELETE_SUBSCRIPTIONGROUP,
//! CLONE_GROUP_OFFSET, GET_BROKER_CONSUME_STATS, QUERY_CONSUME_TIME_SPAN,
//! UPDATE_AND_GET_GROUP_FORBIDDEN, GET_ALL_CONSUMER_OFFSET,
//! GET_CONSUME_STATS and QUERY_TOPIC_CONSUME_BY_WHO.

use ferromq_protocol::body::{
    ConsumeStats, ConsumeStatsList, GroupForbidden, MessageQueue, OffsetWrapper,
    QueryConsumeTimeSpanBody, QueueTimeSpan,
};
use ferromq_protocol::header::admin::{
    CloneGroupOffsetRequestHeader, DeleteSubscriptionGroupRequestHeader,
    GetConsumeStatsInBrokerHeader, GetConsumeStatsRequestHeader,
    GetSubscriptionGroupConfigRequestHeader, QueryConsumeTimeSpanRequestHeader,
    QueryTopicConsumeByWhoRequestHeader, UpdateGroupForbiddenRequestHeader,
};
use ferromq_protocol::{names, CommandHeader, RemotingCommand, ResponseCode};
use ferromq_store::configs::subscription_groups::SubscriptionGroupConfig;

use crate::response::{bad_header, fail, ok, Response};
use crate::state::Broker;
use crate::stats::StatsName;

/// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP: the group's settings, as a JSON body.
pub(crate) async fn update_group(broker: &Broker, req: &RemotingCommand) -> Response {
    match ferromq_protocol::json::from_slice::<SubscriptionGroupConfig>(&req.body) {
        Ok(config) => {
            if let Err(e) = names::check_group(&config.group_name) {
                return fail(ResponseCode::INVALID_PARAMETER, e.to_string());
            }
            let max = broker.settings().broker.max_topic_queue_nums;
            if config.retry_queue_nums > max {
                // Its retry topic would get that many queues (Apache accepts any number).
                return fail(
                    ResponseCode::INVALID_PARAMETER,
                    format!(
                        "retryQueueNums {} is over maxTopicQueueNums {max}",
                        config.retry_queue_nums
                    ),
                );
            }
            broker.groups.update(config);
            broker.persist_groups().await;
            ok()
        }
        Err(e) => fail(
            ResponseCode::SYSTEM_ERROR,
            format!("bad subscription group body: {e}"),
        ),
    }
}

/// GET_ALL_SUBSCRIPTIONGROUP_CONFIG: the table as `subscriptionGroup.json` holds it.
pub(crate) fn all_groups(broker: &Broker) -> Response {
    ok().with_body(broker.groups.encode().into_bytes())
}

/// GET_SUBSCRIPTIONGROUP_CONFIG: one group's settings, as `subscriptionGroup.json` holds them.
pub(crate) fn group_config(broker: &Broker, req: &RemotingCommand) -> Response {
    let h = match GetSubscriptionGroupConfigRequestHeader::read_ext(&req.ext_fields) {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    match broker.groups.get(&h.group) {
        Some(config) => ok().with_body(ferromq_protocol::json::to_string(&config).into_bytes()),
        None => fail(
            ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST,
            format!("No group in this broker: {}", h.group),
        ),
    }
}

/// DELETE_SUBSCRIPTIONGROUP: the group, and its offsets when asked.
pub(crate) async fn delete_group(broker: &Broker, req: &RemotingCommand) -> Response {
    match DeleteSubscriptionGroupRequestHeader::read_ext(&req.ext_fields) {
        Ok(h) => {
            broker.groups.delete(&h.group_name);
            if h.clean_offset == Some(true) {
                broker.offsets.remove_group(&h.group_name);
            }
            broker.persist_groups().await;
            ok()
        }
        Err(e) => bad_header(e),
    }
}

/// CLONE_GROUP_OFFSET (`mqadmin cloneGroupOffset`): the destination group gets the source
/// group's offsets of one topic, or of every topic it has offsets of. Unless `offline`, a topic
/// the source group's online consumers do not subscribe to is skipped (Apache's rule).
pub(crate) fn clone_group_offset(broker: &Broker, req: &RemotingCommand) -> Response {
    let h = match CloneGroupOffsetRequestHeader::read_ext(&req.ext_fields) {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    if let Err(e) = names::check_group(&h.dest_group) {
        return fail(ResponseCode::INVALID_PARAMETER, e.to_string());
    }
    let topics: Vec<String> = match h.topic.as_deref().map(str::trim) {
        Some(topic) if !topic.is_empty() => vec![topic.to_owned()],
        _ => broker
            .offsets
            .topics_of_group(&h.src_group)
            .into_iter()
            .collect(),
    };
    let online = broker.clients.consumer_group(&h.src_group);
    for topic in topics {
        if broker.topics.get(&topic).is_none() {
            continue;
        }
        let subscribed = online
            .as_ref()
            .is_none_or(|g| g.subscriptions.is_empty() || g.subscriptions.contains_key(&topic));
        if !h.offline.unwrap_or(false) && !subscribed {
            continue;
        }
        broker
            .offsets
            .clone_offsets(&h.src_group, &h.dest_group, &topic);
    }
    // Written with the other offsets by housekeeping (flushConsumerOffsetInterval).
    ok()
}

/// GET_ALL_CONSUMER_OFFSET: the table as `consumerOffset.json` holds it.
pub(crate) fn all_offsets(broker: &Broker) -> Response {
    ok().with_body(broker.offsets.encode().into_bytes())
}

/// GET_CONSUME_STATS: per queue, the broker's offset, the group's committed offset and the next
/// offset it will pull (`pullOffset`, whose distance to the committed one mqadmin prints as
/// `#Inflight`).
pub(crate) fn consume_stats(broker: &Broker, req: &RemotingCommand) -> Response {
    let h = match GetConsumeStatsRequestHeader::read_ext(&req.ext_fields) {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    let topics: Vec<String> = match &h.topic {
        Some(t) if !t.is_empty() => vec![t.clone()],
        _ => broker
            .offsets
            .topics_of_group(&h.consumer_group)
            .into_iter()
            .collect(),
    };
    let mut stats = ConsumeStats::default();
    for topic in topics {
        if let Some(one) = topic_consume_stats(broker, &h.consumer_group, &topic) {
            stats.consume_tps += one.consume_tps;
            stats.offset_table.extend(one.offset_table);
        }
    }
    ok().with_body(stats.encode())
}

/// One group's progress on one topic: per queue the queue's end, the group's committed and pull
/// offsets and the store time of the last message it consumed; its consume rate over the last
/// minute.
fn topic_consume_stats(broker: &Broker, group: &str, topic: &str) -> Option<ConsumeStats> {
    let config = broker.topics.get(topic)?;
    let broker_name = broker.settings().broker.broker_name.clone();
    let mut stats = ConsumeStats::default();
    for q in 0..config.read_queue_nums.max(config.write_queue_nums) {
        let broker_offset = broker.store.max_offset_in_queue(topic, q).max(0);
        let consumer_offset = broker.offsets.query(group, topic, q).unwrap_or(0).max(0);
        // Apache: the pull offset (else the committed one), never below the committed one.
        let pull_offset = broker
            .offsets
            .query_pull(group, topic, q)
            .unwrap_or(consumer_offset)
            .max(consumer_offset);
        let last_timestamp = match consumer_offset - 1 {
            last if last >= 0 => broker
                .store
                .store_time_in_queue(topic, q, last)
                .unwrap_or(0),
            _ => 0,
        };
        stats.offset_table.insert(
            MessageQueue {
                broker_name: broker_name.clone(),
                queue_id: q,
                topic: topic.to_owned(),
            },
            OffsetWrapper {
                broker_offset,
                consumer_offset,
                last_timestamp,
                pull_offset,
            },
        );
    }
    let key = format!("{topic}@{group}");
    stats.consume_tps = broker
        .stats
        .keyed
        .view(StatsName::GroupGetNums, &key, ferromq_common::now_ms())
        .map_or(0.0, |[minute, _, _]| minute.tps);
    Some(stats)
}

/// GET_BROKER_CONSUME_STATS (`mqadmin brokerConsumeStats`, dashboards): every group's progress
/// on every topic it has offsets of (only topics marked order with `isOrder`), and the
/// broker's total lag. Topics the group's online consumers do not subscribe to are left out
/// (Apache's rule).
pub(crate) fn broker_consume_stats(broker: &Broker, req: &RemotingCommand) -> Response {
    let h = match GetConsumeStatsInBrokerHeader::read_ext(&req.ext_fields) {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    let mut list = ConsumeStatsList {
        broker_addr: broker.settings().broker.broker_addr(),
        ..ConsumeStatsList::default()
    };
    for group in broker.groups.names() {
        let online = broker.clients.consumer_group(&group);
        let mut per_topic = Vec::new();
        for topic in broker.offsets.topics_of_group(&group) {
            if h.is_order && !broker.topics.get(&topic).is_some_and(|t| t.order) {
                continue;
            }
            let subscribed = online
                .as_ref()
                .is_none_or(|g| g.subscriptions.is_empty() || g.subscriptions.contains_key(&topic));
            if !subscribed {
                continue;
            }
            if let Some(stats) = topic_consume_stats(broker, &group, &topic) {
                list.total_diff = list.total_diff.wrapping_add(stats.total_diff());
                list.total_inflight_diff = list
                    .total_inflight_diff
                    .wrapping_add(stats.inflight_total_diff());
                per_topic.push(stats);
            }
        }
        list.consume_stats_list
            .push(std::collections::BTreeMap::from([(group, per_topic)]));
    }
    ok().with_body(list.encode())
}

/// The bit of the forbidden table that forbids reading (Apache's `PermName.INDEX_PERM_READ`).
pub(crate) const READ_FORBIDDEN_BIT: u32 = 2;

/// UPDATE_AND_GET_GROUP_FORBIDDEN: forbids (`readable=false`) or allows a group to pull a
/// topic, and answers whether it may now; without `readable` it only answers. Pulls of a
/// forbidden group get NO_PERMISSION.
pub(crate) async fn group_forbidden(broker: &Broker, req: &RemotingCommand) -> Response {
    let h = match UpdateGroupForbiddenRequestHeader::read_ext(&req.ext_fields) {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    if let Err(e) = names::check_group(&h.group).and_then(|()| names::check_topic(&h.topic)) {
        return fail(ResponseCode::INVALID_PARAMETER, e.to_string());
    }
    if let Some(readable) = h.readable {
        broker
            .groups
            .update_forbidden(&h.group, &h.topic, READ_FORBIDDEN_BIT, !readable);
        broker.persist_groups().await;
    }
    let answer = GroupForbidden {
        readable: !broker
            .groups
            .is_forbidden(&h.group, &h.topic, READ_FORBIDDEN_BIT),
        group: h.group,
        topic: h.topic,
    };
    RemotingCommand::response(ResponseCode::SUCCESS, Some(String::new())).with_body(answer.encode())
}

/// QUERY_CONSUME_TIME_SPAN: per write queue, the store times of its oldest and newest message,
/// of the last message the group consumed, and how long the next one has waited.
pub(crate) fn consume_time_span(broker: &Broker, req: &RemotingCommand) -> Response {
    let h = match QueryConsumeTimeSpanRequestHeader::read_ext(&req.ext_fields) {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    let Some(config) = broker.topics.get(&h.topic) else {
        return fail(
            ResponseCode::TOPIC_NOT_EXIST,
            format!("topic[{}] not exist", h.topic),
        );
    };
    let broker_name = broker.settings().broker.broker_name.clone();
    let store = &broker.store;
    let now = ferromq_common::now_ms();
    let mut body = QueryConsumeTimeSpanBody::default();
    for q in 0..config.write_queue_nums {
        let min_time = store.earliest_message_time(&h.topic, q).unwrap_or(0);
        let max = store.max_offset_in_queue(&h.topic, q);
        let at = |offset: i64| store.store_time_in_queue(&h.topic, q, offset).unwrap_or(0);
        let consumed = broker.offsets.query(&h.group, &h.topic, q).unwrap_or(-1);
        body.consume_time_span_set.push(QueueTimeSpan {
            message_queue: MessageQueue {
                topic: h.topic.clone(),
                broker_name: broker_name.clone(),
                queue_id: q,
            },
            min_time_stamp: min_time,
            max_time_stamp: if max > 0 { at(max - 1) } else { 0 },
            consume_time_stamp: if consumed > 0 {
                at(consumed - 1)
            } else {
                min_time
            },
            delay_time: if consumed >= 0 && consumed < max {
                match at(consumed) {
                    0 => 0,
                    next => now.saturating_sub(next).max(0),
                }
            } else {
                0
            },
        });
    }
    ok().with_body(body.encode())
}

/// QUERY_TOPIC_CONSUME_BY_WHO: the groups with offsets on a topic.
pub(crate) fn consumed_by(broker: &Broker, req: &RemotingCommand) -> Response {
    match QueryTopicConsumeByWhoRequestHeader::read_ext(&req.ext_fields) {
        Ok(h) => {
            // Groups with offsets on the topic, and (as Apache) groups whose online consumers
            // subscribe to it though they committed nothing yet.
            let mut groups = broker.offsets.groups_of_topic(&h.topic);
            groups.extend(broker.clients.groups_subscribed_to(&h.topic));
            let groups: Vec<String> = groups.into_iter().collect();
            let body = format!(
                "{{\"groupList\":{}}}",
                ferromq_protocol::json::to_string(&groups)
            );
            ok().with_body(body.into_bytes())
        }
        Err(e) => bad_header(e),
    }
}
