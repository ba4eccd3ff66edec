//! Messages as JavaScript sees them: [`Message`] (a plain object to send), [`ReceivedMessage`]
//! (what listeners and the pull consumer get), [`SendResult`] and [`MessageQueue`].

use std::collections::HashMap;

use napi::bindgen_prelude::{Buffer, Either};
use napi_derive::napi;

use ferromq_client::message::SendStatus as CoreSendStatus;
use ferromq_client::{Message as CoreMessage, MessageView, SendResult as CoreSendResult};

/// A message to send: a plain object, e.g.
/// `{ topic: 'orders', body: 'hello', tag: 'TagA', keys: ['order-1'], properties: { a: '1' } }`.
#[napi(object)]
pub struct Message {
    /// The topic.
    pub topic: String,
    /// The body: a string (sent as UTF-8) or a Buffer. Must not be empty.
    pub body: Either<String, Buffer>,
    /// The tag (one per message; consumers filter on it).
    pub tag: Option<String>,
    /// Keys, indexed by the broker (must not contain spaces).
    pub keys: Option<Vec<String>>,
    /// User properties (SQL92 filters select on them).
    pub properties: Option<HashMap<String, String>>,
    /// Deliver after this delay level (1-based into the broker's `messageDelayLevel`;
    /// level 2 is 5 s by default).
    pub delay_level: Option<i32>,
    /// Deliver at this time, ms since the epoch (timer message).
    pub deliver_time_ms: Option<i64>,
    /// Deliver this many ms after the broker stores it (timer message).
    pub delay_ms: Option<i64>,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Message")
            .field("topic", &self.topic)
            .field("tag", &self.tag)
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

impl Message {
    /// The core message.
    pub(crate) fn into_core(self) -> CoreMessage {
        let body: Vec<u8> = match self.body {
            Either::A(s) => s.into_bytes(),
            Either::B(b) => b.to_vec(),
        };
        let mut m = CoreMessage::new(self.topic, body);
        if let Some(tag) = self.tag {
            m = m.with_tag(tag);
        }
        if let Some(keys) = self.keys {
            if !keys.is_empty() {
                m = m.with_keys(keys);
            }
        }
        if let Some(props) = self.properties {
            let mut props: Vec<_> = props.into_iter().collect();
            props.sort();
            for (k, v) in props {
                m = m.with_property(k, v);
            }
        }
        if let Some(level) = self.delay_level {
            m = m.with_delay_level(level);
        }
        if let Some(at) = self.deliver_time_ms {
            m = m.with_deliver_time_ms(at);
        }
        if let Some(ms) = self.delay_ms {
            m = m.with_delay_ms(ms);
        }
        m
    }

    /// A core message shown to JavaScript (the local-transaction callback).
    pub(crate) fn from_core(m: &CoreMessage) -> Message {
        let properties: HashMap<String, String> =
            m.properties().clone().into_map().into_iter().collect();
        let keys = m.property("KEYS").map(|k| {
            k.split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        });
        Message {
            topic: m.topic().to_owned(),
            body: Either::B(Buffer::from(m.body().to_vec())),
            tag: m.tag().map(str::to_owned),
            keys,
            properties: Some(properties),
            delay_level: None,
            deliver_time_ms: None,
            delay_ms: None,
        }
    }
}

/// The reply to a received request (docs/request-reply.md), with `body`: a message to the
/// reply topic of the cluster that stored the request, carrying its correlation id, reply-to
/// client and TTL (in `properties`, with `MSG_TYPE: 'reply'`). Send it with
/// `producer.sendReply(reply)`. Throws `InvalidArgument` when `request` has no `CLUSTER`
/// property (it was not stored by a broker).
#[napi(ts_return_type = "Message")]
pub fn reply_to(
    request: ReceivedMessage,
    body: Either<String, Buffer>,
) -> crate::error::Fallible<Message> {
    let body: Vec<u8> = match body {
        Either::A(s) => s.into_bytes(),
        Either::B(b) => b.to_vec(),
    };
    let reply = CoreMessage::reply_to_properties(
        |name| request.properties.get(name).map(String::as_str),
        body,
    );
    crate::error::Fallible(reply.map(|m| Message::from_core(&m)))
}

/// A queue of a topic on one broker group.
#[napi(object)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageQueue {
    /// The topic.
    pub topic: String,
    /// The broker group (broker name).
    pub broker_name: String,
    /// The queue id within the topic on that broker.
    pub queue_id: i32,
}

impl MessageQueue {
    pub(crate) fn from_core(q: &ferromq_protocol::body::MessageQueue) -> Self {
        MessageQueue {
            topic: q.topic.clone(),
            broker_name: q.broker_name.clone(),
            queue_id: q.queue_id,
        }
    }

    pub(crate) fn to_core(&self) -> ferromq_protocol::body::MessageQueue {
        ferromq_protocol::body::MessageQueue::new(
            self.topic.clone(),
            self.broker_name.clone(),
            self.queue_id,
        )
    }
}

/// A message as a consumer receives it.
#[napi(object)]
pub struct ReceivedMessage {
    /// The topic the producer sent to (also for redeliveries).
    pub topic: String,
    /// The body.
    pub body: Buffer,
    /// The tag, if any.
    pub tag: Option<String>,
    /// The keys (empty if none).
    pub keys: Vec<String>,
    /// All properties, system ones (`TAGS`, `KEYS`, `UNIQ_KEY`, ...) included.
    pub properties: HashMap<String, String>,
    /// The message id (the producer's UNIQ_KEY, else the broker's offset id).
    pub msg_id: String,
    /// The broker's offset message id.
    pub offset_msg_id: String,
    /// The broker group it was pulled from.
    pub broker_name: String,
    /// The queue it was pulled from (the retry queue for redeliveries).
    pub queue_id: i32,
    /// Its offset in that queue.
    pub queue_offset: i64,
    /// How many times it was redelivered before.
    pub reconsume_times: i32,
    /// When the producer created it, ms since the epoch.
    pub born_timestamp: i64,
    /// When the broker stored it, ms since the epoch.
    pub store_timestamp: i64,
}

impl std::fmt::Debug for ReceivedMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceivedMessage")
            .field("topic", &self.topic)
            .field("msg_id", &self.msg_id)
            .field("queue_id", &self.queue_id)
            .field("queue_offset", &self.queue_offset)
            .finish_non_exhaustive()
    }
}

impl ReceivedMessage {
    pub(crate) fn from_core(v: &MessageView) -> Self {
        ReceivedMessage {
            topic: v.topic().to_owned(),
            body: Buffer::from(v.body().to_vec()),
            tag: v.tag().map(str::to_owned),
            keys: v.keys().into_iter().map(str::to_owned).collect(),
            properties: v.properties().into_iter().collect(),
            msg_id: v.msg_id(),
            offset_msg_id: v.offset_msg_id(),
            broker_name: v.queue().broker_name.clone(),
            queue_id: v.queue().queue_id,
            queue_offset: v.queue_offset(),
            reconsume_times: v.reconsume_times(),
            born_timestamp: v.born_timestamp(),
            store_timestamp: v.store_timestamp(),
        }
    }
}

/// How a broker stored an accepted message.
#[napi(string_enum = "UPPER_SNAKE")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendStatus {
    /// Stored as configured.
    SendOk,
    /// Stored, but the disk flush timed out (SYNC_FLUSH).
    FlushDiskTimeout,
    /// Stored, but the slave did not confirm in time (SYNC_MASTER).
    FlushSlaveTimeout,
    /// Stored, but no slave is available (SYNC_MASTER).
    SlaveNotAvailable,
}

/// The result of an accepted send.
#[napi(object)]
#[derive(Debug)]
pub struct SendResult {
    /// How it was stored (`SEND_OK` normally).
    pub status: SendStatus,
    /// The client message id (comma-joined for a batch).
    pub msg_id: String,
    /// The broker's offset message id (comma-joined for a batch).
    pub offset_msg_id: String,
    /// The queue written.
    pub queue: MessageQueue,
    /// The offset in that queue (of the first message of a batch).
    pub queue_offset: i64,
    /// The transaction id (transactional sends).
    pub transaction_id: Option<String>,
}

impl SendResult {
    pub(crate) fn from_core(r: CoreSendResult) -> Self {
        let status = match r.status {
            CoreSendStatus::FlushDiskTimeout => SendStatus::FlushDiskTimeout,
            CoreSendStatus::FlushSlaveTimeout => SendStatus::FlushSlaveTimeout,
            CoreSendStatus::SlaveNotAvailable => SendStatus::SlaveNotAvailable,
            // `Ok` and any status a newer core adds: the broker accepted the message.
            _ => SendStatus::SendOk,
        };
        SendResult {
            status,
            msg_id: r.msg_id,
            offset_msg_id: r.offset_msg_id,
            queue: MessageQueue::from_core(&r.queue),
            queue_offset: r.queue_offset,
            transaction_id: r.transaction_id,
        }
    }
}
