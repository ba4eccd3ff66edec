//! Retries and dead letters (docs/protocol.md, "Push consumption and retries" and
//! "Send-back and client management headers"):
//! CONSUMER_SEND_MSG_BACK puts a failed message into `%RETRY%<group>` with a growing delay
//! level, or into `%DLQ%<group>` once it was redelivered `maxReconsumeTimes` times (16 by
//! default) or the consumer asks for it (`delayLevel < 0`). Sends straight to a retry topic with
//! too many reconsumes go to the DLQ as well. A retry waits out its delay level in the schedule
//! topic ([`crate::services::schedule`]).

use std::sync::atomic::{AtomicU64, Ordering};

use ferromq_protocol::body::perm;
use ferromq_protocol::header::client::ConsumerSendMsgBackRequestHeader;
use ferromq_protocol::message::{create_message_id, property, MessageExt};
use ferromq_protocol::{names, CommandHeader, RemotingCommand, ResponseCode};

use crate::records::stored;
use crate::response::{bad_header, fail, ok, Response};
use crate::state::Broker;

static NEXT: AtomicU64 = AtomicU64::new(0);

/// CONSUMER_SEND_MSG_BACK.
pub(crate) async fn send_back(broker: &Broker, req: &RemotingCommand) -> Response {
    let h = match ConsumerSendMsgBackRequestHeader::read_ext(&req.ext_fields) {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    let group = match broker.group_for(&h.group) {
        Ok(g) => g,
        Err(refusal) => return refusal,
    };
    if !broker.settings().broker.broker_role.is_master() {
        // Apache's store refuses the put and the send-back answers SYSTEM_ERROR; the client
        // then sends the message back through its master.
        return fail(
            ResponseCode::SYSTEM_ERROR,
            format!(
                "SERVICE_NOT_AVAILABLE: {}",
                super::send::SLAVE_REFUSES_WRITES
            ),
        );
    }
    if broker.settings().broker.broker_permission & perm::WRITE == 0 {
        return fail(
            ResponseCode::NO_PERMISSION,
            "the broker sending message is forbidden",
        );
    }
    if group.retry_queue_nums <= 0 {
        return ok();
    }
    let original = match broker.record_at(h.offset).await {
        Ok((_, m)) => m,
        Err(reason) => {
            return fail(
                ResponseCode::SYSTEM_ERROR,
                format!("look message by offset failed, {}: {reason}", h.offset),
            )
        }
    };
    // The message must be one this group consumed: from the topic the consumer names (or the
    // group's own retry topic), with the id the consumer names.
    let retry_topic = names::retry_topic(&h.group);
    let topic_matches = match h.origin_topic.as_deref().filter(|t| !t.is_empty()) {
        Some(origin) => original.topic == origin || original.topic == retry_topic,
        None => true,
    };
    if !topic_matches
        || !crate::transactions::names_the_message(
            h.origin_msg_id.as_deref().unwrap_or(""),
            &original,
            broker,
        )
    {
        return fail(
            ResponseCode::SYSTEM_ERROR,
            format!(
                "the message at offset {} is not the one named by originTopic / originMsgId",
                h.offset
            ),
        );
    }
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
        (broker.ensure_dlq_topic(&h.group).await, 0)
    } else {
        let retry = broker.ensure_retry_topic(&h.group).await;
        let level = if h.delay_level == 0 {
            original.reconsume_times.saturating_add(3)
        } else {
            h.delay_level
        };
        properties.insert(property::DELAY_TIME_LEVEL, level.to_string());
        // The retry topic's queues (a group's retryQueueNums is capped at maxTopicQueueNums).
        let max = broker.settings().broker.max_topic_queue_nums;
        let queues = u64::try_from(group.retry_queue_nums.clamp(1, max.max(1))).unwrap_or(1);
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
        reconsume_times: original.reconsume_times.saturating_add(1),
        ..MessageExt::default()
    };
    if let Err(refusal) = broker.park_if_delayed(&mut message) {
        return refusal;
    }
    match broker.store.put_message(&message) {
        Ok(pending) => {
            if let Err(reason) = stored(pending).await {
                return fail(
                    ResponseCode::SYSTEM_ERROR,
                    format!("send back failed: {reason}"),
                );
            }
            if to_dlq {
                let topic = h.origin_topic.as_deref().unwrap_or(retry_topic.as_str());
                broker.stats.meters.sent_to_dlq(&h.group, topic);
                tracing::info!(group = %h.group, offset = h.offset, "message moved to the DLQ");
            }
            ok()
        }
        Err(e) => fail(ResponseCode::SYSTEM_ERROR, format!("send back failed: {e}")),
    }
}
