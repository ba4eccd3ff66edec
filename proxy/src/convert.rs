//! Messages between the two worlds: a gRPC `Message` into the properties of a remoting send
//! (Apache's `SendMessageActivity.buildMessageProperty`), and a stored message into a gRPC
//! `Message` (Apache's `GrpcConverter.buildMessage`).

use std::collections::BTreeMap;

use ferromq_protocol::message::{property, MessageExt, Properties};
use prost_types::{Duration as PbDuration, Timestamp};

use crate::config::ProxyConfig;
use crate::pb::{self, Code, DigestType, Encoding, MessageType};
use crate::status::{ProxyError, ProxyResult};

/// Property names the system owns; a user property may not use them (Apache's
/// `MessageConst.STRING_HASH_SET`, the ones FerroMQ knows).
const SYSTEM_KEYS: &[&str] = &[
    property::KEYS,
    property::TAGS,
    property::WAIT_STORE_MSG_OK,
    property::DELAY_TIME_LEVEL,
    property::RETRY_TOPIC,
    property::REAL_TOPIC,
    property::REAL_QUEUE_ID,
    property::TRANSACTION_PREPARED,
    property::PRODUCER_GROUP,
    property::MIN_OFFSET,
    property::MAX_OFFSET,
    property::BUYER_ID,
    property::ORIGIN_MESSAGE_ID,
    property::TRANSFER_FLAG,
    property::CORRECTION_FLAG,
    property::MQ2_FLAG,
    property::RECONSUME_TIME,
    property::MSG_REGION,
    property::TRACE_SWITCH,
    property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
    property::EXTEND_UNIQ_INFO,
    property::MAX_RECONSUME_TIMES,
    property::CONSUME_START_TIMESTAMP,
    property::INNER_NUM,
    property::INNER_BASE,
    property::DUP_INFO,
    property::CHECK_IMMUNITY_TIME_IN_SECONDS,
    property::TRANSACTION_PREPARED_QUEUE_OFFSET,
    property::TRANSACTION_ID,
    property::TRANSACTION_CHECK_TIMES,
    property::INSTANCE_ID,
    property::CORRELATION_ID,
    property::MESSAGE_REPLY_TO_CLIENT,
    property::MESSAGE_TTL,
    property::REPLY_MESSAGE_ARRIVE_TIME,
    property::PUSH_REPLY_TIME,
    property::CLUSTER,
    property::MESSAGE_TYPE,
    property::POP_CK,
    property::POP_CK_OFFSET,
    property::FIRST_POP_TIME,
    property::SHARDING_KEY,
    property::FORWARD_QUEUE_ID,
    property::REDIRECT,
    property::INNER_MULTI_DISPATCH,
    property::INNER_MULTI_QUEUE_OFFSET,
    property::TRACE_CONTEXT,
    property::TIMER_DELAY_SEC,
    property::TIMER_DELAY_MS,
    property::TIMER_DELIVER_MS,
    property::TIMER_ENQUEUE_MS,
    property::TIMER_DEQUEUE_MS,
    property::TIMER_ROLL_TIMES,
    property::TIMER_OUT_MS,
    property::TIMER_DEL_UNIQKEY,
    property::TIMER_DELAY_LEVEL,
    property::BORN_HOST,
    property::BORN_TIMESTAMP,
    property::DLQ_ORIGIN_TOPIC,
    property::DLQ_ORIGIN_MESSAGE_ID,
    property::CRC32,
];

/// `MessageSysFlag.COMPRESSED_FLAG`.
pub const COMPRESSED_FLAG: i32 = 0x1;

/// Milliseconds of a protobuf timestamp.
pub fn ts_millis(t: &Timestamp) -> i64 {
    t.seconds
        .saturating_mul(1000)
        .saturating_add(i64::from(t.nanos) / 1_000_000)
}

/// A protobuf timestamp of `ms`.
pub fn ts_of(ms: i64) -> Timestamp {
    Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}

/// Milliseconds of a protobuf duration (negative or overflowing gives `None`).
pub fn duration_millis(d: &PbDuration) -> Option<i64> {
    if d.seconds < 0 || d.nanos < 0 {
        return None;
    }
    d.seconds
        .checked_mul(1000)
        .and_then(|ms| ms.checked_add(i64::from(d.nanos) / 1_000_000))
}

/// A protobuf duration of `ms`.
pub fn duration_of(ms: i64) -> PbDuration {
    PbDuration {
        seconds: ms / 1000,
        nanos: ((ms % 1000) * 1_000_000) as i32,
    }
}

fn has_control(s: &str) -> bool {
    s.chars().any(|c| c.is_control())
}

/// A request's filter as the remoting `(expressionType, expression)`: no filter, an empty
/// expression or an unspecified type is every tag (`TAG`, `*`); `SQL` is `SQL92`; an unknown
/// type is `ILLEGAL_FILTER_EXPRESSION`.
pub fn filter_of(filter: Option<&pb::FilterExpression>) -> ProxyResult<(&'static str, String)> {
    let Some(f) = filter else {
        return Ok(("TAG", "*".to_owned()));
    };
    match pb::FilterType::try_from(f.r#type) {
        Ok(pb::FilterType::Tag) | Ok(pb::FilterType::Unspecified) => Ok((
            "TAG",
            if f.expression.trim().is_empty() {
                "*".to_owned()
            } else {
                f.expression.clone()
            },
        )),
        Ok(pb::FilterType::Sql) => Ok(("SQL92", f.expression.clone())),
        Err(_) => Err(ProxyError::new(
            Code::IllegalFilterExpression,
            format!("unknown filter type {}", f.r#type),
        )),
    }
}

/// Checks a topic or group name as Apache's `GrpcValidator` does.
pub fn validate_name(name: &str, what: &str, code: Code) -> ProxyResult<()> {
    if name.trim().is_empty() {
        return Err(ProxyError::new(
            code,
            format!("{what} name cannot be empty"),
        ));
    }
    if name.len() > 127 {
        return Err(ProxyError::new(
            code,
            format!("{what} name too long: {name}"),
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '%' || c == '-' || c == '_' || c == '|')
    {
        return Err(ProxyError::new(
            code,
            format!("{what} name contains illegal characters: {name}"),
        ));
    }
    Ok(())
}

/// The properties of a remoting send of `message` (its producer group is the topic, as Apache).
pub fn build_properties(
    message: &pb::Message,
    producer_group: &str,
    peer: Option<&str>,
    config: &ProxyConfig,
    now_ms: i64,
) -> ProxyResult<Properties> {
    let sys = message.system_properties.clone().unwrap_or_default();
    if message.body.is_empty() {
        return Err(ProxyError::new(
            Code::MessageBodyEmpty,
            "message body cannot be empty",
        ));
    }
    if message.body.len() > config.max_message_size {
        return Err(ProxyError::new(
            Code::MessageBodyTooLarge,
            format!(
                "message body cannot exceed the max {}",
                config.max_message_size
            ),
        ));
    }
    let mut props = Properties::new();
    if message.user_properties.len() > config.user_property_max_num {
        return Err(ProxyError::new(
            Code::MessagePropertiesTooLarge,
            format!(
                "too many user properties, max is {}",
                config.user_property_max_num
            ),
        ));
    }
    let mut size = 0usize;
    for (k, v) in &message.user_properties {
        if SYSTEM_KEYS.contains(&k.as_str()) {
            return Err(ProxyError::new(
                Code::IllegalMessagePropertyKey,
                format!("property is used by system: {k}"),
            ));
        }
        if has_control(k) || has_control(v) {
            return Err(ProxyError::new(
                Code::IllegalMessagePropertyKey,
                "the key or value of property cannot contain control character",
            ));
        }
        size += k.len() + v.len();
        props.insert(k.clone(), v.clone());
    }
    if let Some(tag) = &sys.tag {
        if tag.trim().is_empty() || tag.contains('|') || has_control(tag) {
            return Err(ProxyError::new(
                Code::IllegalMessageTag,
                format!("tag is illegal: {tag:?}"),
            ));
        }
        size += tag.len();
        props.insert(property::TAGS, tag.clone());
    }
    for key in &sys.keys {
        if !key.is_empty() && (key.trim().is_empty() || has_control(key)) {
            return Err(ProxyError::new(
                Code::IllegalMessageKey,
                "key cannot be blank or contain control characters",
            ));
        }
        size += key.len();
    }
    if !sys.keys.is_empty() {
        props.insert(property::KEYS, sys.keys.join(property::KEY_SEPARATOR));
    }
    if size > config.max_user_property_size {
        return Err(ProxyError::new(
            Code::MessagePropertiesTooLarge,
            format!(
                "the total size of user property is too large, max is {}",
                config.max_user_property_size
            ),
        ));
    }
    if sys.message_id.trim().is_empty() {
        return Err(ProxyError::new(
            Code::IllegalMessageId,
            "message id cannot be empty",
        ));
    }
    props.insert(
        property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
        sys.message_id.clone(),
    );
    let kind = MessageType::try_from(sys.message_type).unwrap_or(MessageType::Unspecified);
    if kind == MessageType::Transaction {
        props.insert(property::TRANSACTION_PREPARED, "true");
        if let Some(d) = &sys.orphaned_transaction_recovery_duration {
            let secs = duration_millis(d).unwrap_or(0) / 1000;
            props.insert(property::CHECK_IMMUNITY_TIME_IN_SECONDS, secs.to_string());
        }
    }
    if let Some(at) = &sys.delivery_timestamp {
        let ms = ts_millis(at);
        if ms - now_ms > config.max_delay_time_mills {
            return Err(ProxyError::new(
                Code::IllegalDeliveryTime,
                format!(
                    "the max delay time of message is too large, max is {}",
                    config.max_delay_time_mills
                ),
            ));
        }
        props.insert(property::TIMER_DELIVER_MS, ms.to_string());
    }
    props.insert(
        property::RECONSUME_TIME,
        sys.delivery_attempt.unwrap_or(0).to_string(),
    );
    props.insert(property::PRODUCER_GROUP, producer_group);
    if let Some(group) = sys.message_group.as_deref().filter(|g| !g.is_empty()) {
        if group.trim().is_empty() || has_control(group) {
            return Err(ProxyError::new(
                Code::IllegalMessageGroup,
                "message group cannot be blank or contain control characters",
            ));
        }
        if group.len() >= config.max_message_group_size {
            return Err(ProxyError::new(
                Code::IllegalMessageGroup,
                format!(
                    "message group exceed the max size {}",
                    config.max_message_group_size
                ),
            ));
        }
        props.insert(property::SHARDING_KEY, group);
    }
    if let Some(trace) = sys.trace_context.as_deref().filter(|t| !t.is_empty()) {
        props.insert(property::TRACE_CONTEXT, trace);
    }
    let born_host = if sys.born_host.trim().is_empty() {
        peer.unwrap_or_default().to_owned()
    } else {
        sys.born_host.clone()
    };
    if !born_host.is_empty() {
        props.insert(property::BORN_HOST, born_host);
    }
    if let Some(born) = &sys.born_timestamp {
        props.insert(property::BORN_TIMESTAMP, ts_millis(born).to_string());
    }
    Ok(props)
}

/// The message type a stored message was sent as (Apache's rules).
fn message_type_of(p: &Properties) -> MessageType {
    if p.value(property::TRANSACTION_PREPARED) == Some("true") {
        MessageType::Transaction
    } else if p.value(property::DELAY_TIME_LEVEL).is_some()
        || p.value(property::TIMER_DELIVER_MS).is_some()
        || p.value(property::TIMER_DELAY_SEC).is_some()
        || p.value(property::TIMER_OUT_MS).is_some()
    {
        MessageType::Delay
    } else if p.value(property::SHARDING_KEY).is_some() {
        MessageType::Fifo
    } else {
        MessageType::Normal
    }
}

/// A stored message as a gRPC `Message`; `topic` is the name the client knows.
pub fn to_grpc(m: &MessageExt, topic: &str, now_ms: i64) -> pb::Message {
    let p = &m.properties;
    let mut user = BTreeMap::new();
    for (k, v) in p.clone().into_map() {
        if !SYSTEM_KEYS.contains(&k.as_str()) {
            user.insert(k, v);
        }
    }
    let message_id = p.uniq_key().map(str::to_owned).unwrap_or_else(|| {
        ferromq_protocol::message::create_message_id(m.store_host, m.commit_log_offset)
    });
    let delivery = if let Some(secs) = p
        .value(property::TIMER_DELAY_SEC)
        .and_then(|s| s.parse::<i64>().ok())
    {
        Some(ts_of(now_ms + secs * 1000))
    } else {
        // A FerroMQ broker keeps the delivery time of a delivered timer message in
        // `TIMER_OUT_MS` only (Apache keeps `TIMER_DELIVER_MS` too).
        p.value(property::TIMER_DELIVER_MS)
            .or_else(|| p.value(property::TIMER_OUT_MS))
            .and_then(|s| s.parse::<i64>().ok())
            .map(ts_of)
    };
    let dead_letter_queue = match (
        p.value(property::DLQ_ORIGIN_TOPIC),
        p.value(property::DLQ_ORIGIN_MESSAGE_ID),
    ) {
        (Some(t), Some(id)) => Some(pb::DeadLetterQueue {
            topic: t.to_owned(),
            message_id: id.to_owned(),
        }),
        _ => None,
    };
    let sys = pb::SystemProperties {
        tag: p.tags().map(str::to_owned),
        keys: p.keys().map(str::to_owned).collect(),
        message_id,
        body_digest: Some(pb::Digest {
            r#type: DigestType::Crc32 as i32,
            checksum: format!("{:X}", crc32fast::hash(&m.body)),
        }),
        body_encoding: if m.sys_flag & COMPRESSED_FLAG != 0 {
            Encoding::Gzip as i32
        } else {
            Encoding::Identity as i32
        },
        message_type: message_type_of(p) as i32,
        born_timestamp: Some(ts_of(m.born_timestamp)),
        born_host: p
            .value(property::BORN_HOST)
            .map(str::to_owned)
            .unwrap_or_else(|| m.born_host.to_string()),
        store_timestamp: Some(ts_of(m.store_timestamp)),
        store_host: m.store_host.to_string(),
        delivery_timestamp: delivery,
        receipt_handle: p.value(property::POP_CK).map(str::to_owned),
        queue_id: m.queue_id,
        queue_offset: Some(m.queue_offset),
        invisible_duration: None,
        delivery_attempt: Some(m.reconsume_times + 1),
        message_group: p.value(property::SHARDING_KEY).map(str::to_owned),
        trace_context: p.value(property::TRACE_CONTEXT).map(str::to_owned),
        orphaned_transaction_recovery_duration: None,
        dead_letter_queue,
        lite_topic: None,
        priority: None,
    };
    pb::Message {
        topic: Some(pb::Resource {
            resource_namespace: String::new(),
            name: topic.to_owned(),
        }),
        user_properties: user.into_iter().collect(),
        system_properties: Some(sys),
        body: m.body.to_vec(),
    }
}

/// Java's `String.hashCode` of `s` (UTF-16 code units).
pub fn java_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// Guava's `Hashing.consistentHash(input, buckets)`, which Apache's proxy uses to map a message
/// group to one of the writable queues.
pub fn consistent_hash(input: i64, buckets: usize) -> usize {
    let buckets = buckets.max(1) as i64;
    let mut state = input;
    let mut candidate: i64 = 0;
    loop {
        state = state
            .wrapping_mul(2_862_933_555_777_941_757)
            .wrapping_add(1);
        let next_double =
            f64::from((((state as u64) >> 33) as i32).wrapping_add(1)) / 2_147_483_648.0;
        let next = ((candidate + 1) as f64 / next_double) as i64;
        if next >= 0 && next < buckets {
            candidate = next;
        } else {
            return candidate as usize;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_string_hash() {
        assert_eq!(java_hash(""), 0);
        assert_eq!(java_hash("abc"), 96354);
        assert_eq!(java_hash("group-1"), 293_427_299);
    }

    #[test]
    fn guava_consistent_hash_values() {
        // Values from Guava's HashingTest (consistentHash of small inputs).
        assert_eq!(consistent_hash(0, 1), 0);
        for buckets in 1..50 {
            for input in [-5i64, 0, 7, 1 << 40] {
                assert!(consistent_hash(input, buckets) < buckets);
            }
        }
        // Moving from n to n+1 buckets moves an input only to the new bucket (Guava's contract).
        for input in 0..200i64 {
            let a = consistent_hash(input, 8);
            let b = consistent_hash(input, 9);
            assert!(a == b || b == 8, "input {input}: {a} -> {b}");
        }
    }

    #[test]
    fn rejects_bad_messages_with_apache_codes() {
        let config = ProxyConfig::default();
        let mut m = pb::Message {
            topic: None,
            user_properties: Default::default(),
            system_properties: Some(pb::SystemProperties {
                message_id: "id1".to_owned(),
                ..Default::default()
            }),
            body: b"x".to_vec(),
        };
        assert!(build_properties(&m, "g", None, &config, 0).is_ok());
        m.user_properties.insert("TAGS".to_owned(), "x".to_owned());
        let e = build_properties(&m, "g", None, &config, 0).expect_err("must be refused");
        assert_eq!(e.code, Code::IllegalMessagePropertyKey);
        m.user_properties.clear();
        m.body.clear();
        let e = build_properties(&m, "g", None, &config, 0).expect_err("must be refused");
        assert_eq!(e.code, Code::MessageBodyEmpty);
        m.body = vec![0; config.max_message_size + 1];
        let e = build_properties(&m, "g", None, &config, 0).expect_err("must be refused");
        assert_eq!(e.code, Code::MessageBodyTooLarge);
    }
}
