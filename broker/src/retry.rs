//! Retries and dead letters (store-and-broker.md 7, protocol.md 4.5):
//! CONSUMER_SEND_MSG_BACK puts a failed message into `%RETRY%<group>` with a growing delay
//! level, or into `%DLQ%<group>` once it was redelivered `maxReconsumeTimes` times (16 by
//! default) or the consumer asks for it (`delayLevel < 0`). Sends straight to a retry topic with
//! too many reconsumes go to the DLQ as well.
//!
//! Until the delay service exists, the `DELAY` level is recorded on the retry message but the
//! message is delivered at once; retries are still counted and still end in the DLQ.

use std::sync::atomic::{AtomicU64, Ordering};

use ferromq_protocol::body::TopicConfig;
use ferromq_protocol::header::client::ConsumerSendMsgBackRequestHeader;
use ferromq_protocol::message::{
    create_message_id, decode_all, property, DecodeOptions, MessageExt,
};
use ferromq_protocol::{CommandHeader, RemotingCommand, ResponseCode, Version};

use crate::broker::{bad_header, fail, ok, perm, Broker, Response};

/// Prefix of retry topics.
pub(crate) const RETRY_PREFIX: &str = "%RETRY%";
/// Prefix of dead-letter topics.
pub(crate) const DLQ_PREFIX: &str = "%DLQ%";

static NEXT: AtomicU64 = AtomicU64::new(0);

impl Broker {
    /// Creates `%DLQ%<group>` (one queue, readable so operators can drain it) if missing.
    pub(crate) fn ensure_dlq_topic(&self, group: &str) -> String {
        let name = format!("{DLQ_PREFIX}{group}");
        if !self.topics.contains(&name) {
            let mut config = TopicConfig::new(name.as_str(), 1, 1);
            config.perm = perm::READ | perm::WRITE;
            if self.topics.put_if_absent(config).1 {
                self.persist_topics();
                self.topics_changed.notify_one();
            }
        }
        name
    }

    /// The most redeliveries a group allows: the request's own limit for clients that send one
    /// (V3_4_9 and later), else the group's `retryMaxTimes`.
    pub(crate) fn max_reconsume_times(
        &self,
        group: &str,
        requested: Option<i32>,
        version: i32,
    ) -> i32 {
        match requested {
            Some(max) if Version(version) >= Version::V3_4_9 => max,
            _ => self
                .groups
                .get(group)
                .map(|g| g.retry_max_times)
                .unwrap_or(16),
        }
    }
}

pub(crate) async fn send_back(broker: &Broker, req: &RemotingCommand) -> Response {
    let h = match ConsumerSendMsgBackRequestHeader::read_ext(&req.ext_fields) {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    let auto = broker.settings().broker.auto_create_subscription_group;
    let Some(group) = broker.groups.get_or_create(&h.group, auto) else {
        return fail(
            ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST,
            format!("subscription group not exist, {}", h.group),
        );
    };
    if broker.settings().broker.broker_permission & perm::WRITE == 0 {
        return fail(
            ResponseCode::NO_PERMISSION,
            "the broker sending message is forbidden",
        );
    }
    if group.retry_queue_nums <= 0 {
        return ok();
    }
    let Some(record) = u64::try_from(h.offset)
        .ok()
        .and_then(|o| broker.store.message_at(o))
    else {
        return fail(
            ResponseCode::SYSTEM_ERROR,
            format!("look message by offset failed, {}", h.offset),
        );
    };
    let Some(original) = decode_all(&record, &DecodeOptions::store())
        .ok()
        .and_then(|mut v| v.pop())
    else {
        return fail(
            ResponseCode::SYSTEM_ERROR,
            format!("look message by offset failed, {}", h.offset),
        );
    };
    let max = broker.max_reconsume_times(&h.group, h.max_reconsume_times, req.version);
    let mut properties = original.properties.clone();
    if properties.value(property::RETRY_TOPIC).is_none() {
        properties.insert(property::RETRY_TOPIC, original.topic.as_str());
    }
    properties.insert(property::WAIT_STORE_MSG_OK, "false");
    if properties.value(property::ORIGIN_MESSAGE_ID).is_none() {
        let id = create_message_id(original.store_host, original.commit_log_offset);
        properties.insert(property::ORIGIN_MESSAGE_ID, id);
    }
    let to_dlq = original.reconsume_times >= max || h.delay_level < 0;
    let (topic, queue_id) = if to_dlq {
        (broker.ensure_dlq_topic(&h.group), 0)
    } else {
        let retry = format!("{RETRY_PREFIX}{}", h.group);
        broker.ensure_retry_topic(&h.group);
        let level = if h.delay_level == 0 {
            3 + original.reconsume_times
        } else {
            h.delay_level
        };
        properties.insert(property::DELAY_TIME_LEVEL, level.to_string());
        let queues = u64::try_from(group.retry_queue_nums).unwrap_or(1).max(1);
        (
            retry,
            (NEXT.fetch_add(1, Ordering::Relaxed) % queues) as i32,
        )
    };
    let mut message = MessageExt {
        topic,
        queue_id,
        flag: original.flag,
        body: original.body.clone(),
        properties,
        sys_flag: original.sys_flag,
        born_timestamp: original.born_timestamp,
        born_host: original.born_host,
        store_host: broker.store_host,
        reconsume_times: original.reconsume_times + 1,
        ..MessageExt::default()
    };
    if let Err(refusal) = broker.park_if_delayed(&mut message) {
        return refusal;
    }
    match broker.store.put_message(&message) {
        Ok(pending) => {
            pending.finish().await;
            if to_dlq {
                tracing::info!(group = %h.group, offset = h.offset, "message moved to the DLQ");
            }
            ok()
        }
        Err(e) => fail(ResponseCode::SYSTEM_ERROR, format!("send back failed: {e}")),
    }
}
