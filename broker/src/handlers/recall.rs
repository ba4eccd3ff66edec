//! RECALL_MESSAGE (370): cancels a timer message before it is due (docs/protocol.md,
//! "Recalling timer messages"), with Apache 5.3.3's checks and answers
//! (`RecallMessageProcessor`).
//!
//! The handle of a send answer names the topic, this broker, the delivery time + 1 and the
//! message's unique id. A recall stores a small delete marker in the timer topic, due 1 ms
//! before the message; when the timer task meets the marker it remembers the key
//! `<topic>+<unique id>`, and drops the message with that key when it comes due
//! ([`crate::services::timer`]). As in Apache, a handle that decodes and passes the checks is
//! answered SUCCESS whether or not such a message exists.

use bytes::Bytes;
use ferromq_protocol::body::perm;
use ferromq_protocol::header::recall::{
    RecallHandle, RecallMessageRequestHeader, RecallMessageResponseHeader, INVALID_HANDLE,
};
use ferromq_protocol::message::properties::{NAME_VALUE_SEPARATOR, PROPERTY_SEPARATOR};
use ferromq_protocol::message::{property, MessageExt, Properties};
use ferromq_protocol::{names, RemotingCommand, ResponseCode};
use ferromq_remoting::Connection;

use crate::records::stored;
use crate::response::{bad_header, fail, ok, Response};
use crate::state::Broker;

/// Tag of a delete marker (Apache's `RECALL_MESSAGE_TAG`).
const RECALL_TAG: &str = "_RECALL_TAG_";

/// What a remark says when the broker cannot serve a recall now (Apache's text).
const NOT_AVAILABLE: &str = "recall failed, broker service not available";

/// The key a delete marker carries and the timer task matches (Apache's
/// `TimerMessageStore.buildDeleteKey`).
pub(crate) fn delete_key(topic: &str, unique_id: &str) -> String {
    format!("{topic}+{unique_id}")
}

/// The handle a send answer carries for a message parked in the timer topic (Apache's
/// `SendMessageProcessor.attachRecallHandle`): none for retry topics or without a delivery time.
pub(crate) fn handle_for(broker_name: &str, parked: &MessageExt) -> Option<String> {
    let out_ms: i64 = parked
        .properties
        .value(property::TIMER_OUT_MS)?
        .trim()
        .parse()
        .ok()?;
    let topic = parked.properties.value(property::REAL_TOPIC)?;
    if topic.starts_with(names::RETRY_TOPIC_PREFIX) {
        return None;
    }
    let handle = RecallHandle {
        topic: topic.to_owned(),
        broker_name: broker_name.to_owned(),
        timestamp: out_ms.saturating_add(1).to_string(),
        message_id: parked.properties.uniq_key()?.to_owned(),
    };
    Some(handle.encode())
}

pub(crate) async fn recall_message(
    broker: &Broker,
    conn: &Connection,
    req: &RemotingCommand,
) -> Response {
    let settings = broker.settings();
    let h = match req.header::<RecallMessageRequestHeader>() {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    let b = &settings.broker;
    if !b.recall_message_enable {
        return fail(
            ResponseCode::NO_PERMISSION,
            "recall failed, operation is forbidden (recallMessageEnable=false)",
        );
    }
    if !b.broker_role.is_master() {
        return fail(ResponseCode::SLAVE_NOT_AVAILABLE, NOT_AVAILABLE);
    }
    if b.broker_permission & perm::WRITE == 0 && !b.allow_recall_when_broker_not_writeable {
        return fail(ResponseCode::SERVICE_NOT_AVAILABLE, NOT_AVAILABLE);
    }
    if broker.topics.get(&h.topic).is_none() {
        return fail(
            ResponseCode::TOPIC_NOT_EXIST,
            format!("recall failed, the topic[{}] not exist", h.topic),
        );
    }
    let handle = match RecallHandle::decode(&h.recall_handle) {
        Ok(handle) => handle,
        Err(reason) => return fail(ResponseCode::ILLEGAL_OPERATION, reason),
    };
    if handle.topic != h.topic {
        return fail(
            ResponseCode::ILLEGAL_OPERATION,
            "recall failed, topic not match",
        );
    }
    if handle.broker_name != b.broker_name {
        return fail(ResponseCode::ILLEGAL_OPERATION, NOT_AVAILABLE);
    }
    // Messages of the broker's own topics are never recalled by clients.
    if names::is_internal_topic(&h.topic) {
        return fail(
            ResponseCode::NO_PERMISSION,
            format!("recall failed, topic[{}] is forbidden", h.topic),
        );
    }
    // The id and the group go into the marker's properties: a property separator in them
    // would add properties of the client's choosing (another topic's delete key, a real topic).
    if has_separator(&handle.message_id) || h.producer_group.as_deref().is_some_and(has_separator) {
        return fail(ResponseCode::ILLEGAL_OPERATION, INVALID_HANDLE);
    }
    let timestamp: i64 = handle.timestamp.trim().parse().unwrap_or(-1);
    let left = timestamp.saturating_sub(ferromq_common::now_ms());
    let max_ms = i64::try_from(settings.store.timer_max_delay_sec)
        .unwrap_or(i64::MAX)
        .saturating_mul(1000);
    if left <= 0 || left >= max_ms {
        return fail(
            ResponseCode::ILLEGAL_OPERATION,
            "recall failed, timestamp invalid",
        );
    }
    if !settings.store.timer_wheel_enable {
        return fail(
            ResponseCode::SYSTEM_ERROR,
            "timer messages are disabled on this broker (timerWheelEnable=false)",
        );
    }
    let mut marker = marker(broker, conn, &h, &handle, timestamp);
    // The handle's timestamp is the delivery time + 1: the marker is due 1 ms before it.
    broker.park_recall_marker(&mut marker, timestamp - 2);
    let pending = match broker.store.put_message(&marker) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "recall marker not stored");
            return fail(ResponseCode::SYSTEM_ERROR, "recall failed, execute error");
        }
    };
    if let Err(reason) = stored(pending).await {
        tracing::warn!(%reason, "recall marker not stored");
        return fail(ResponseCode::SYSTEM_ERROR, "recall failed, execute error");
    }
    let header = RecallMessageResponseHeader {
        msg_id: handle.message_id,
    };
    let mut resp = ok().with_header(&header);
    resp.ext_fields
        .insert(property::MSG_REGION, &settings.broker.region_id);
    resp
}

/// Whether `text` holds a character of the properties' wire format (name/value and pair
/// separators), which would split it into properties of its own when stored.
fn has_separator(text: &str) -> bool {
    text.bytes()
        .any(|b| b == NAME_VALUE_SEPARATOR as u8 || b == PROPERTY_SEPARATOR as u8)
}

/// The delete marker of Apache's `RecallMessageProcessor.buildMessage`.
fn marker(
    broker: &Broker,
    conn: &Connection,
    h: &RecallMessageRequestHeader,
    handle: &RecallHandle,
    timestamp: i64,
) -> MessageExt {
    let now = ferromq_common::now_ms();
    let mut properties = Properties::new();
    properties.insert(property::TAGS, RECALL_TAG);
    properties.insert(
        property::TIMER_DEL_UNIQKEY,
        delete_key(&handle.topic, &handle.message_id),
    );
    properties.insert(
        property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
        handle.message_id.as_str(),
    );
    properties.insert(property::TIMER_DELIVER_MS, timestamp.to_string());
    properties.insert(property::TRACE_CONTEXT, "");
    if let Some(group) = &h.producer_group {
        properties.insert(property::PRODUCER_GROUP, group.as_str());
    }
    MessageExt {
        topic: handle.topic.clone(),
        queue_id: 0,
        body: Bytes::from_static(b"0"),
        properties,
        born_timestamp: now,
        born_host: conn.peer_addr(),
        store_host: broker.store_host,
        ..MessageExt::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn property_separators_are_found() {
        assert!(!has_separator("7F0000010001000000000001"));
        assert!(!has_separator(""));
        assert!(has_separator("id\u{2}TIMER_DEL_UNIQKEY\u{1}Other+victim"));
        assert!(has_separator("id\u{1}"));
    }
}
