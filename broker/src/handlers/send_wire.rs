//! The send path without a properties map (docs/performance-broker.md, "Fourth round: the send
//! path"): a plain single message and every batch are stored with the client's properties text as
//! it arrived, the broker's own properties appended after it ([`ferromq_protocol::message::scan`]
//! has why a reader sees the same properties as when the text was decoded into a map, the broker's
//! keys inserted, and encoded again).
//!
//! What still goes through [`Properties`](ferromq_protocol::message::Properties) and
//! [`MessageExt`](ferromq_protocol::message::MessageExt) (`send.rs`): a message to a retry topic
//! bound for the dead-letter queue (DELAY removed), a prepared (transactional) message, one with
//! a delay level or timer properties (moved to another topic with REAL_TOPIC / REAL_QID). A text
//! that is not canonical (invalid UTF-8, segments a reader drops, over 32767 bytes once the
//! broker's keys are appended) is stored decoded and encoded again, as before.

use std::borrow::Cow;

use ferromq_protocol::message::properties::MAX_PROPERTIES_LEN;
use ferromq_protocol::message::scan::{appended_len, canonical_text, Scan};
use ferromq_protocol::message::{
    decode_batch_raw, property, sysflag, Appended, TransactionType, WireMessage,
};
use ferromq_protocol::ResponseCode;
use ferromq_store::store::Pending;

use crate::meters::MessageType;
use crate::response::{fail, Response};

use super::send::{store_refusal, uniq_ids, Put, SendRequest};

/// What the WAIT property says for a reader (`Properties::wait_store_msg_ok`): wait unless it
/// is `false`, in any case.
fn waits(value: Option<&[u8]>) -> bool {
    value.is_none_or(|v| !v.eq_ignore_ascii_case(b"false"))
}

/// The properties text to store for `text` with `appended` set: the text itself when it is
/// canonical and fits, else its decoded and encoded form (`owned`), with nothing left to append.
fn stored_text<'a>(
    text: &'a [u8],
    canonical: bool,
    appended: &mut Appended<'a>,
    owned: &'a mut Option<Vec<u8>>,
) -> &'a [u8] {
    if canonical && appended_len(text, appended.as_slice()) <= MAX_PROPERTIES_LEN {
        return text;
    }
    let fixed = owned.insert(canonical_text(text, appended.as_slice()));
    *appended = Appended::new();
    fixed
}

const SINGLE: [&str; 7] = [
    property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
    property::WAIT_STORE_MSG_OK,
    property::TRANSACTION_PREPARED,
    property::DELAY_TIME_LEVEL,
    property::TIMER_DELIVER_MS,
    property::TIMER_DELAY_SEC,
    property::TIMER_DELAY_MS,
];

/// Stores a single message through the wire path if it is a plain one (module docs); `None`:
/// it is not, nothing was done.
pub(super) fn put_plain(
    send: &SendRequest<'_>,
    topic: &str,
    queue_id: i32,
) -> Option<Result<Put, Response>> {
    let text = send.h.properties.as_deref().unwrap_or("").as_bytes();
    let scan = Scan::new(text, &SINGLE);
    if sysflag::transaction_type(send.h.sys_flag) == TransactionType::Prepared
        || scan.values[2..].iter().any(Option::is_some)
    {
        return None;
    }
    let uniq: Cow<'_, str> = match scan.values[0] {
        Some(v) => String::from_utf8_lossy(v),
        None => uniq_ids(send.broker).next_id().into(),
    };
    let b = &send.settings.broker;
    // What Apache 5.3.3's send hook context stamps on every single message it stores.
    let mut appended = Appended::new();
    appended.push(property::MSG_REGION, b.region_id.as_str());
    appended.push(
        property::TRACE_SWITCH,
        if b.trace_on { "true" } else { "false" },
    );
    if scan.values[0].is_none() {
        appended.push(property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX, &uniq);
    }
    appended.push(property::CLUSTER, b.broker_cluster_name.as_str());
    let mut owned = None;
    let properties = stored_text(text, scan.canonical, &mut appended, &mut owned);
    let message = WireMessage {
        topic,
        queue_id,
        flag: send.h.flag,
        body: send.req.body.clone(),
        properties,
        appended,
        sys_flag: send.h.sys_flag,
        born_timestamp: send.h.born_timestamp,
        born_host: send.conn.peer_addr(),
        store_host: send.broker.store_host,
        reconsume_times: send.h.reconsume_times.unwrap_or(0),
        wait_store_msg_ok: waits(scan.values[1]),
    };
    let meters = &send.broker.stats.meters;
    let kind = meters.is_enabled().then(|| MessageType::of_text(text));
    let messages = std::slice::from_ref(&message);
    let mut put = match send.broker.store.put_messages(messages) {
        Ok(pending) => put(pending, messages, kind),
        Err(e) => return Some(Err(store_refusal(e))),
    };
    drop(message);
    put.transaction_id = Some(uniq.into_owned());
    Some(Ok(put))
}

/// What the response and the statistics need of a put (the transaction id is the caller's).
fn put(pending: Pending, messages: &[WireMessage<'_>], kind: Option<MessageType>) -> Put {
    Put {
        pending,
        count: messages.len(),
        body_bytes: messages.iter().map(|m| m.body.len()).sum(),
        wait: messages.first().is_none_or(|m| m.wait_store_msg_ok),
        half: false,
        transaction_id: None,
        recall_handle: None,
        kind,
    }
}

/// Stores a SEND_BATCH_MESSAGE body through the wire path: each message gets UNIQ_KEY when it
/// has none and CLUSTER.
pub(super) fn put_batch(
    send: &SendRequest<'_>,
    topic: &str,
    queue_id: i32,
) -> Result<Put, Response> {
    let meters = &send.broker.stats.meters;
    let kind = meters
        .is_enabled()
        .then(|| MessageType::of_text(send.h.properties.as_deref().unwrap_or("").as_bytes()));
    let entries = match decode_batch_raw(&send.req.body) {
        Ok(entries) if !entries.is_empty() => entries,
        Ok(_) => return Err(fail(ResponseCode::MESSAGE_ILLEGAL, "empty batch")),
        Err(e) => {
            return Err(fail(
                ResponseCode::MESSAGE_ILLEGAL,
                format!("bad batch body: {e}"),
            ))
        }
    };
    const UNIQ: usize = 0;
    const WAIT: usize = 1;
    let names = [
        property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
        property::WAIT_STORE_MSG_OK,
    ];
    let scans: Vec<Scan<'_, 2>> = entries
        .iter()
        .map(|e| Scan::new(&e.properties, &names))
        .collect();
    // UNIQ_KEY of each message: its own, or one made here.
    let uniq: Vec<Cow<'_, str>> = scans
        .iter()
        .map(|s| match s.values[UNIQ] {
            Some(v) => String::from_utf8_lossy(v),
            None => uniq_ids(send.broker).next_id().into(),
        })
        .collect();
    let mut owned: Vec<Option<Vec<u8>>> = vec![None; entries.len()];
    let cluster = send.settings.broker.broker_cluster_name.as_str();
    let born_host = send.conn.peer_addr();
    let messages: Vec<WireMessage<'_>> = entries
        .iter()
        .zip(&scans)
        .zip(&uniq)
        .zip(owned.iter_mut())
        .map(|(((e, scan), uniq), owned)| {
            let mut appended = Appended::new();
            if scan.values[UNIQ].is_none() {
                appended.push(property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX, uniq);
            }
            appended.push(property::CLUSTER, cluster);
            let properties = stored_text(&e.properties, scan.canonical, &mut appended, owned);
            WireMessage {
                topic,
                queue_id,
                flag: e.flag,
                body: e.body.clone(),
                properties,
                appended,
                sys_flag: send.h.sys_flag,
                born_timestamp: send.h.born_timestamp,
                born_host,
                store_host: send.broker.store_host,
                reconsume_times: send.h.reconsume_times.unwrap_or(0),
                wait_store_msg_ok: waits(scan.values[WAIT]),
            }
        })
        .collect();
    let pending = send
        .broker
        .store
        .put_messages(&messages)
        .map_err(store_refusal)?;
    let mut put = put(pending, &messages, kind);
    put.transaction_id = uniq.first().map(|u| u.to_string());
    Ok(put)
}
