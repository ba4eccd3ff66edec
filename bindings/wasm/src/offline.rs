//! Helpers that need no server: the stored-message codec, SQL92 selectors and tag hash codes,
//! straight from `ferromq-protocol`.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use bytes::Bytes;
use ferromq_protocol::filter::{Outcome, Selector};
use ferromq_protocol::message::{decode_all, tag_hash_code, DecodeOptions, MessageExt};
use js_sys::{Array, Uint8Array};
use wasm_bindgen::prelude::*;

use crate::error::{invalid, to_js};
use crate::js;
use crate::message::{ext_to_js, from_js};

fn host(v: &JsValue, key: &str, op: &'static str) -> Result<Option<SocketAddr>, JsValue> {
    match js::opt_string(v, key, op)? {
        None => Ok(None),
        Some(s) => s
            .parse()
            .map(Some)
            .map_err(|_| invalid(op, format!("`{key}` must be `ip:port`, not {s:?}"))),
    }
}

/// Encodes one message in Apache RocketMQ's stored-record layout (as in the commit log and in
/// pull responses). Takes a message as `Producer.send` does (`topic`, `body`, `tag`, `keys`,
/// `properties`) plus the optional record fields `queueId`, `queueOffset`,
/// `commitLogOffset`, `flag`, `sysFlag`, `bornTimestamp`, `storeTimestamp`, `bornHost`,
/// `storeHost` (`'ip:port'`) and `reconsumeTimes`. The body CRC is computed.
#[wasm_bindgen(js_name = encodeMessage)]
pub fn encode_message(
    #[wasm_bindgen(unchecked_param_type = "Message & StoredFields")] message: JsValue,
) -> Result<Uint8Array, JsValue> {
    const OP: &str = "encode message";
    let (m, _) = from_js(&message, OP)?;
    let int = |key: &str| -> Result<Option<i64>, JsValue> { js::opt_i64(&message, key, OP) };
    let i32_of = |key: &str| -> Result<i32, JsValue> {
        int(key)?
            .map(|n| i32::try_from(n).map_err(|_| invalid(OP, format!("`{key}` is out of range"))))
            .transpose()
            .map(Option::unwrap_or_default)
    };
    let mut ext = MessageExt {
        topic: m.topic().to_owned(),
        body: m.body().clone(),
        properties: m.properties().clone(),
        queue_id: i32_of("queueId")?,
        flag: i32_of("flag")?,
        sys_flag: i32_of("sysFlag")?,
        reconsume_times: i32_of("reconsumeTimes")?,
        queue_offset: int("queueOffset")?.unwrap_or(0),
        commit_log_offset: int("commitLogOffset")?.unwrap_or(0),
        born_timestamp: int("bornTimestamp")?.unwrap_or(0),
        store_timestamp: int("storeTimestamp")?.unwrap_or(0),
        ..MessageExt::default()
    };
    if let Some(h) = host(&message, "bornHost", OP)? {
        ext.born_host = h;
    }
    if let Some(h) = host(&message, "storeHost", OP)? {
        ext.store_host = h;
    }
    ext.refresh_body_crc();
    let bytes = ext
        .encode_to_bytes()
        .map_err(|e| invalid(OP, e.to_string()))?;
    Ok(Uint8Array::from(bytes.as_ref()))
}

/// Decodes every stored record in `bytes` (one or several, as a pull response body carries
/// them), decompressing compressed bodies. Returns message objects shaped as received ones
/// (`brokerName` empty). Throws a `Protocol` error on malformed input.
#[wasm_bindgen(js_name = decodeMessages, unchecked_return_type = "ReceivedMessage[]")]
pub fn decode_messages(bytes: &[u8]) -> Result<Array, JsValue> {
    let buf = Bytes::copy_from_slice(bytes);
    let records = decode_all(&buf, &DecodeOptions::client()).map_err(|e| {
        to_js(&ferromq_client::Error::new(
            ferromq_client::ErrorKind::Protocol,
            "decode messages",
            e.to_string(),
        ))
    })?;
    Ok(records
        .iter()
        .map(|ext| ext_to_js(ext, "", ext.queue_id))
        .collect())
}

fn selector(expression: &str) -> Result<Selector, JsValue> {
    Selector::parse(expression).map_err(|e| invalid("sql92", e.to_string()))
}

fn props(properties: &JsValue) -> Result<BTreeMap<String, String>, JsValue> {
    if properties.is_undefined() || properties.is_null() {
        return Ok(BTreeMap::new());
    }
    Ok(js::string_map(properties, "properties", "sql92")?
        .into_iter()
        .collect())
}

/// Whether a message with `properties` (`{ name: value }`; `TAGS`, `KEYS` and user
/// properties) matches the SQL92 selector `expression`, exactly as the broker decides.
/// Throws `InvalidArgument` when the expression does not parse.
#[wasm_bindgen(js_name = sql92Matches)]
pub fn sql92_matches(
    expression: &str,
    #[wasm_bindgen(unchecked_param_type = "Record<string, string | number | boolean> | undefined")]
    properties: JsValue,
) -> Result<bool, JsValue> {
    Ok(selector(expression)?.evaluate(&props(&properties)?))
}

/// The three-valued result of the SQL92 `expression` on `properties`: `'TRUE'`, `'FALSE'`,
/// `'UNKNOWN'` (null, e.g. a missing property) or `'ERROR'` (what raises an exception in
/// Apache, e.g. a number conversion that fails); only `'TRUE'` delivers.
#[wasm_bindgen(
    js_name = sql92Outcome,
    unchecked_return_type = "'TRUE' | 'FALSE' | 'UNKNOWN' | 'ERROR'"
)]
pub fn sql92_outcome(
    expression: &str,
    #[wasm_bindgen(unchecked_param_type = "Record<string, string | number | boolean> | undefined")]
    properties: JsValue,
) -> Result<String, JsValue> {
    let outcome = selector(expression)?.outcome(&props(&properties)?);
    Ok(match outcome {
        Outcome::True => "TRUE",
        Outcome::False => "FALSE",
        Outcome::Unknown => "UNKNOWN",
        Outcome::Error(_) => "ERROR",
    }
    .to_owned())
}

/// The hash code of a tag as brokers store it in consume queues (Java `String.hashCode`).
#[wasm_bindgen(js_name = tagHashCode)]
pub fn tag_hash(tag: &str) -> i32 {
    tag_hash_code(tag)
}
