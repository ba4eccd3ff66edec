//! Messages as JavaScript sees them: a plain object to send, a plain object received, and the
//! send result.
//!
//! To send: `{ topic, body, tag?, keys?, properties?, delayLevel?, deliverAt?, delayMs?,
//! shardingKey? }` (`body`: string, Uint8Array or ArrayBuffer; `keys`: a string or an array of
//! strings; `deliverAt`, also spelled `deliverTimeMs` as in the Node package: ms since the
//! epoch).
//!
//! Received: `{ topic, tag, tags, keys, properties, body (Uint8Array), text(), msgId,
//! offsetMsgId, brokerName, queueId, queueOffset, reconsumeTimes, bornTimestamp,
//! storeTimestamp }`.

use ferromq_client::message::SendStatus;
use ferromq_client::{Message as CoreMessage, MessageView, SendResult};
use ferromq_protocol::body::MessageQueue;
use ferromq_protocol::message::MessageExt;
use js_sys::{Array, Object, Uint8Array};
use wasm_bindgen::prelude::*;

use crate::error::invalid;
use crate::js;

/// A message to send, and its sharding key if it has one.
pub(crate) fn from_js(
    v: &JsValue,
    op: &'static str,
) -> Result<(CoreMessage, Option<String>), JsValue> {
    if !v.is_object() {
        return Err(invalid(
            op,
            "a message must be an object { topic, body, ... }",
        ));
    }
    let topic = js::string(v, "topic", op)?;
    let body = match js::get(v, "body") {
        Some(b) => js::bytes(&b, "body", op)?,
        None => return Err(invalid(op, "`body` is required")),
    };
    if body.is_empty() {
        return Err(invalid(op, "the message body is empty"));
    }
    let mut m = CoreMessage::new(topic, body);
    if let Some(tag) = js::opt_string(v, "tag", op)?.or(js::opt_string(v, "tags", op)?) {
        m = m.with_tag(tag);
    }
    if let Some(keys) = js::get(v, "keys") {
        let keys: Vec<String> = if let Some(s) = keys.as_string() {
            vec![s]
        } else if Array::is_array(&keys) {
            Array::from(&keys)
                .iter()
                .map(|k| {
                    k.as_string()
                        .ok_or_else(|| invalid(op, "`keys` must be strings"))
                })
                .collect::<Result<_, _>>()?
        } else {
            return Err(invalid(
                op,
                "`keys` must be a string or an array of strings",
            ));
        };
        if keys.iter().any(|k| k.contains(' ')) {
            return Err(invalid(op, "a key must not contain spaces"));
        }
        if !keys.is_empty() {
            m = m.with_keys(keys);
        }
    }
    if let Some(props) = js::get(v, "properties") {
        for (k, value) in js::string_map(&props, "properties", op)? {
            m = m.with_property(k, value);
        }
    }
    if let Some(level) = js::opt_i64(v, "delayLevel", op)? {
        let level = i32::try_from(level).map_err(|_| invalid(op, "`delayLevel` is too large"))?;
        m = m.with_delay_level(level);
    }
    let deliver_at = match js::opt_i64(v, "deliverAt", op)? {
        Some(at) => Some(at),
        None => js::opt_i64(v, "deliverTimeMs", op)?,
    };
    if let Some(at) = deliver_at {
        m = m.with_deliver_time_ms(at);
    }
    if let Some(ms) = js::opt_i64(v, "delayMs", op)? {
        m = m.with_delay_ms(ms);
    }
    let sharding_key = js::opt_string(v, "shardingKey", op)?;
    Ok((m, sharding_key))
}

fn text_fn() -> js_sys::Function {
    crate::text_function()
}

/// A received message as a plain object.
pub(crate) fn to_js(v: &MessageView) -> JsValue {
    ext_to_js(v.ext(), &v.queue().broker_name, v.queue().queue_id)
}

/// A stored record as a plain object (the same shape as a received message).
pub(crate) fn ext_to_js(ext: &MessageExt, broker_name: &str, queue_id: i32) -> JsValue {
    let o = Object::new();
    js::set(&o, "topic", ext.topic.as_str());
    let tag = ext.tags().map(JsValue::from_str).unwrap_or(JsValue::NULL);
    js::set(&o, "tag", tag.clone());
    js::set(&o, "tags", tag);
    let keys: Array = ext.properties.keys().map(JsValue::from_str).collect();
    js::set(&o, "keys", keys);
    let props = Object::new();
    for (k, value) in ext.properties.clone().into_map() {
        js::set(&props, &k, value);
    }
    js::set(&o, "properties", props);
    js::set(&o, "body", Uint8Array::from(ext.body.as_ref()));
    js::set(&o, "msgId", ext.msg_id());
    js::set(&o, "offsetMsgId", ext.offset_msg_id());
    js::set(&o, "brokerName", broker_name);
    js::set(&o, "queueId", queue_id);
    js::set(&o, "queueOffset", js::num(ext.queue_offset));
    js::set(&o, "commitLogOffset", js::num(ext.commit_log_offset));
    js::set(&o, "reconsumeTimes", ext.reconsume_times);
    js::set(&o, "flag", ext.flag);
    js::set(&o, "sysFlag", ext.sys_flag);
    js::set(&o, "bornTimestamp", js::num(ext.born_timestamp));
    js::set(&o, "bornHost", ext.born_host.to_string());
    js::set(&o, "storeTimestamp", js::num(ext.store_timestamp));
    js::set(&o, "storeHost", ext.store_host.to_string());
    let descriptor = Object::new();
    js::set(&descriptor, "value", text_fn());
    let _ = Object::define_property(&o, &JsValue::from_str("text"), &descriptor);
    o.into()
}

/// `{ status, msgId, offsetMsgId, topic, brokerName, queueId, queueOffset, transactionId }`.
pub(crate) fn send_result_to_js(r: &SendResult) -> JsValue {
    let o = Object::new();
    let status = match r.status {
        SendStatus::FlushDiskTimeout => "FLUSH_DISK_TIMEOUT",
        SendStatus::FlushSlaveTimeout => "FLUSH_SLAVE_TIMEOUT",
        SendStatus::SlaveNotAvailable => "SLAVE_NOT_AVAILABLE",
        // `Ok` and any status a newer core adds: the broker accepted the message.
        _ => "SEND_OK",
    };
    js::set(&o, "status", status);
    js::set(&o, "msgId", r.msg_id.as_str());
    js::set(&o, "offsetMsgId", r.offset_msg_id.as_str());
    js::set(&o, "topic", r.queue.topic.as_str());
    js::set(&o, "brokerName", r.queue.broker_name.as_str());
    js::set(&o, "queueId", r.queue.queue_id);
    js::set(&o, "queueOffset", js::num(r.queue_offset));
    if let Some(t) = &r.transaction_id {
        js::set(&o, "transactionId", t.as_str());
    }
    o.into()
}

/// `{ topic, brokerName, queueId }`.
pub(crate) fn queue_to_js(q: &MessageQueue) -> JsValue {
    let o = Object::new();
    js::set(&o, "topic", q.topic.as_str());
    js::set(&o, "brokerName", q.broker_name.as_str());
    js::set(&o, "queueId", q.queue_id);
    o.into()
}

/// A queue from `{ topic, brokerName, queueId }`.
pub(crate) fn queue_from_js(v: &JsValue, op: &'static str) -> Result<MessageQueue, JsValue> {
    let queue_id =
        js::opt_i64(v, "queueId", op)?.ok_or_else(|| invalid(op, "`queueId` is required"))?;
    Ok(MessageQueue::new(
        js::string(v, "topic", op)?,
        js::string(v, "brokerName", op)?,
        i32::try_from(queue_id).map_err(|_| invalid(op, "`queueId` is out of range"))?,
    ))
}

/// A message being sent (the local-transaction callback) as a plain object: `{ topic, tag,
/// keys, properties, body, text() }`.
pub(crate) fn outgoing_to_js(m: &CoreMessage) -> JsValue {
    let o = Object::new();
    js::set(&o, "topic", m.topic());
    js::set(
        &o,
        "tag",
        m.tag().map(JsValue::from_str).unwrap_or(JsValue::NULL),
    );
    let keys: Array = m.properties().keys().map(JsValue::from_str).collect();
    js::set(&o, "keys", keys);
    let props = Object::new();
    for (k, value) in m.properties().clone().into_map() {
        js::set(&props, &k, value);
    }
    js::set(&o, "properties", props);
    js::set(&o, "body", Uint8Array::from(m.body().as_ref()));
    let descriptor = Object::new();
    js::set(&descriptor, "value", text_fn());
    let _ = Object::define_property(&o, &JsValue::from_str("text"), &descriptor);
    o.into()
}
