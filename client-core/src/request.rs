//! Request-reply (docs/request-reply.md): the requests of this process waiting for their
//! replies, the replies the broker pushes (PUSH_REPLY_MESSAGE_TO_CLIENT), and building a reply
//! to a received request ([`Message::reply_to`]).
//!
//! A request carries three properties: `CORRELATION_ID` (a fresh UUID), `REPLY_TO_CLIENT` (this
//! client's id) and `TTL` (the requester's timeout, ms). A responder answers with a message to
//! `<cluster>_REPLY_TOPIC` carrying the same three and `MSG_TYPE=reply`; the broker pushes it
//! to the client named by `REPLY_TO_CLIENT`, and `complete` hands it to the waiting request by
//! its correlation id. As Apache's `RequestFutureHolder`, the table is one per process: the
//! correlation ids are UUIDs, unique across every client of the process.

use std::collections::{BTreeMap, HashMap};
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use ferromq_common::lock;
use ferromq_protocol::message::{decompress, property, sysflag, CompressionType, MessageExt};
use ferromq_protocol::RemotingCommand;
use futures::channel::oneshot;

use crate::error::{Error, ErrorKind, Result};
use crate::message::{Message, MessageView};

/// `MixAll.REPLY_MESSAGE_FLAG`: the `MSG_TYPE` of a reply.
pub const REPLY_MESSAGE_FLAG: &str = "reply";
/// The reply topic of a cluster is `<cluster>` followed by this.
pub const REPLY_TOPIC_SUFFIX: &str = "_REPLY_TOPIC";
/// How long a timed-out correlation id is remembered, to tell a late reply from a stray one.
const REMEMBER_EXPIRED: Duration = Duration::from_secs(120);
/// At most this many timed-out ids are remembered.
const MAX_EXPIRED: usize = 10_000;
/// Largest reply body accepted after decompression.
const MAX_REPLY_BODY: usize = 64 * 1024 * 1024;

/// The reply topic of `cluster` (`MixAll.getReplyTopic`).
pub fn reply_topic(cluster: &str) -> String {
    format!("{cluster}{REPLY_TOPIC_SUFFIX}")
}

#[derive(Default)]
struct Table {
    waiting: HashMap<String, oneshot::Sender<MessageView>>,
    /// Timed-out ids with when they timed out (ms).
    expired: HashMap<String, i64>,
}

static TABLE: LazyLock<Mutex<Table>> = LazyLock::new(Mutex::default);

/// A request waiting for its reply; dropping it forgets the request.
pub(crate) struct Pending {
    id: String,
    rx: oneshot::Receiver<MessageView>,
    answered: bool,
}

impl Pending {
    /// Registers `id` as waiting.
    pub(crate) fn register(id: String) -> Pending {
        let (tx, rx) = oneshot::channel();
        lock(&TABLE).waiting.insert(id.clone(), tx);
        Pending {
            id,
            rx,
            answered: false,
        }
    }

    /// Waits up to `timeout` for the reply; a timeout is remembered so that the late reply is
    /// dropped quietly.
    pub(crate) async fn wait(mut self, timeout: Duration) -> Result<MessageView> {
        match crate::rt::timeout(timeout, &mut self.rx).await {
            Ok(Ok(view)) => {
                self.answered = true;
                Ok(view)
            }
            Ok(Err(_)) => Err(Error::illegal_state("request", "the request was dropped")),
            Err(_) => {
                let mut t = lock(&TABLE);
                t.waiting.remove(&self.id);
                let now = crate::rt::now_ms();
                let horizon = now - REMEMBER_EXPIRED.as_millis() as i64;
                t.expired.retain(|_, at| *at >= horizon);
                if t.expired.len() < MAX_EXPIRED {
                    t.expired.insert(self.id.clone(), now);
                }
                self.answered = true;
                Err(Error::new(
                    ErrorKind::Timeout,
                    "request",
                    format!(
                        "no reply within {} ms (correlation id {})",
                        timeout.as_millis(),
                        self.id
                    ),
                ))
            }
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if !self.answered {
            lock(&TABLE).waiting.remove(&self.id);
        }
    }
}

/// Hands a pushed reply to the request waiting for it; a reply nobody waits for is dropped
/// with a log line (debug for the late reply of a request that timed out). Returns whether a
/// request took it.
pub(crate) fn complete(reply: MessageView) -> bool {
    let Some(id) = reply.property(property::CORRELATION_ID).map(str::to_owned) else {
        tracing::warn!(topic = %reply.topic(), "reply without CORRELATION_ID dropped");
        return false;
    };
    let mut t = lock(&TABLE);
    match t.waiting.remove(&id) {
        Some(tx) => {
            drop(t);
            tx.send(reply).is_ok()
        }
        None if t.expired.remove(&id).is_some() => {
            tracing::debug!(correlation_id = %id, "late reply to a request that timed out dropped");
            false
        }
        None => {
            tracing::info!(correlation_id = %id, "reply to an unknown correlation id dropped");
            false
        }
    }
}

/// A fresh correlation id: a random (version 4) UUID, as Java's `CorrelationIdUtil`.
pub(crate) fn correlation_id() -> String {
    let hi = crate::rt::random_u64();
    let lo = crate::rt::random_u64();
    let hi = (hi & !0xF000) | 0x4000;
    let lo = (lo & !(0xC << 60)) | (0x8 << 60);
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xFFFF,
        hi & 0xFFFF,
        lo >> 48,
        lo & 0xFFFF_FFFF_FFFF
    )
}

/// Decodes a PUSH_REPLY_MESSAGE_TO_CLIENT request into the reply it carries (Apache's
/// `ReplyMessageRequestHeader` fields), `broker_name` being where it came from.
pub(crate) fn decode_push(request: &RemotingCommand, broker_name: &str) -> Result<MessageView> {
    let ext = &request.ext_fields;
    let bad = |what: &str| Error::invalid("receive reply", format!("bad or missing {what}"));
    let text = |k: &str| ext.get(k).ok_or_else(|| bad(k));
    let int = |k: &str| -> Result<i64> { text(k)?.trim().parse().map_err(|_| bad(k)) };
    let opt_int = |k: &str| -> Result<i64> {
        ext.get(k)
            .map_or(Ok(0), |v| v.trim().parse().map_err(|_| bad(k)))
    };
    let host = |k: &str| {
        ext.get(k)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| std::net::SocketAddr::from(([0, 0, 0, 0], 0)))
    };
    let sys_flag = i32::try_from(int("sysFlag")?).map_err(|_| bad("sysFlag"))?;
    let mut body = request.body.clone();
    if sys_flag & sysflag::COMPRESSED != 0 {
        let ty = CompressionType::from_value(
            (sys_flag & sysflag::COMPRESSION_TYPE_MASK) >> sysflag::COMPRESSION_TYPE_SHIFT,
        )
        .map_err(|e| Error::protocol("receive reply", e))?;
        body = decompress(&body, ty, MAX_REPLY_BODY)
            .map_err(|e| Error::protocol("receive reply", e))?
            .into();
    }
    let mut properties =
        ferromq_protocol::message::Properties::decode(ext.get("properties").unwrap_or(""));
    properties.insert(
        property::REPLY_MESSAGE_ARRIVE_TIME,
        crate::rt::now_ms().to_string(),
    );
    let message = MessageExt {
        topic: text("topic")?.to_owned(),
        queue_id: i32::try_from(int("queueId")?).map_err(|_| bad("queueId"))?,
        store_timestamp: opt_int("storeTimestamp")?,
        born_host: host("bornHost"),
        store_host: host("storeHost"),
        body,
        sys_flag: sys_flag & !sysflag::COMPRESSED,
        flag: i32::try_from(opt_int("flag")?).map_err(|_| bad("flag"))?,
        properties,
        born_timestamp: opt_int("bornTimestamp")?,
        reconsume_times: i32::try_from(opt_int("reconsumeTimes")?)
            .map_err(|_| bad("reconsumeTimes"))?,
        ..MessageExt::default()
    };
    Ok(MessageView::new(message, broker_name, None))
}

impl Message {
    /// The reply to a received request, with `body` (Apache's `MessageUtil.createReplyMessage`):
    /// addressed to the reply topic of the cluster that stored the request, carrying the
    /// request's correlation id, reply-to client and TTL, and `MSG_TYPE=reply` so that a
    /// producer sends it with SEND_REPLY_MESSAGE. Fails when the request has no `CLUSTER`
    /// property (it was not stored by a broker, or is not a request).
    pub fn reply_to(request: &MessageView, body: impl Into<bytes::Bytes>) -> Result<Message> {
        Self::reply_with(|key| request.property(key), body)
    }

    /// [`Message::reply_to`] for a request known by its properties only (a binding whose
    /// received messages are plain objects hands their property map back).
    pub fn reply_to_properties(
        properties: &BTreeMap<String, String>,
        body: impl Into<bytes::Bytes>,
    ) -> Result<Message> {
        Self::reply_with(|key| properties.get(key).map(String::as_str), body)
    }

    fn reply_with<'a>(
        property_of: impl Fn(&str) -> Option<&'a str>,
        body: impl Into<bytes::Bytes>,
    ) -> Result<Message> {
        let Some(cluster) = property_of(property::CLUSTER) else {
            return Err(Error::invalid(
                "create reply",
                "the request message has no CLUSTER property",
            ));
        };
        let mut reply = Message::new(reply_topic(cluster), body)
            .with_property(property::MESSAGE_TYPE, REPLY_MESSAGE_FLAG);
        for key in [
            property::CORRELATION_ID,
            property::MESSAGE_REPLY_TO_CLIENT,
            property::MESSAGE_TTL,
        ] {
            if let Some(v) = property_of(key) {
                reply = reply.with_property(key, v);
            }
        }
        Ok(reply)
    }

    /// Whether this message is a reply (`MSG_TYPE=reply`), sent with SEND_REPLY_MESSAGE.
    pub fn is_reply(&self) -> bool {
        self.property(property::MESSAGE_TYPE) == Some(REPLY_MESSAGE_FLAG)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlation_ids_look_like_uuids_and_differ() {
        let a = correlation_id();
        let b = correlation_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "{a}");
    }

    #[test]
    fn a_reply_copies_the_request_properties() {
        let mut ext = MessageExt::default();
        ext.properties.insert(property::CLUSTER, "C");
        ext.properties.insert(property::CORRELATION_ID, "id");
        ext.properties
            .insert(property::MESSAGE_REPLY_TO_CLIENT, "me");
        ext.properties.insert(property::MESSAGE_TTL, "3000");
        let request = MessageView::new(ext, "b", None);
        let reply = Message::reply_to(&request, "pong").expect("a reply");
        assert_eq!(reply.topic(), "C_REPLY_TOPIC");
        assert!(reply.is_reply());
        assert_eq!(reply.property(property::CORRELATION_ID), Some("id"));
        assert_eq!(
            reply.property(property::MESSAGE_REPLY_TO_CLIENT),
            Some("me")
        );
        assert_eq!(reply.property(property::MESSAGE_TTL), Some("3000"));
        let same = Message::reply_to_properties(&request.properties(), "pong").expect("a reply");
        assert_eq!(same.topic(), reply.topic());
        assert_eq!(same.properties(), reply.properties());
        assert!(
            Message::reply_to_properties(&BTreeMap::new(), "x").is_err(),
            "no cluster"
        );
        let stray = MessageView::new(MessageExt::default(), "b", None);
        assert_eq!(
            Message::reply_to(&stray, "x")
                .expect_err("no cluster")
                .kind(),
            ErrorKind::InvalidArgument
        );
    }

    #[test]
    fn a_reply_completes_its_request_once() {
        let id = correlation_id();
        let pending = Pending::register(id.clone());
        let mut ext = MessageExt::default();
        ext.properties.insert(property::CORRELATION_ID, id.as_str());
        assert!(complete(MessageView::new(ext.clone(), "b", None)));
        assert!(!complete(MessageView::new(ext, "b", None)), "no one waits");
        drop(pending);
    }
}
