//! Messages as the user builds them ([`Message`]), as a consumer receives them
//! ([`MessageView`]), and the outcome of a send ([`SendResult`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use ferromq_protocol::body::MessageQueue;
use ferromq_protocol::message::{property, MessageExt, Properties};

use crate::namespace::Namespace;

/// A message to send: topic, body, user flag and properties (tags, keys, user properties,
/// delay).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    topic: String,
    body: Bytes,
    flag: i32,
    properties: Properties,
}

impl Message {
    /// A message for `topic` with `body`; like Java's, it waits for the store (`WAIT=true`).
    pub fn new(topic: impl Into<String>, body: impl Into<Bytes>) -> Self {
        let mut properties = Properties::new();
        properties.insert(property::WAIT_STORE_MSG_OK, "true");
        Message {
            topic: topic.into(),
            body: body.into(),
            flag: 0,
            properties,
        }
    }

    /// Sets the tag (one per message; consumers filter on it).
    pub fn with_tag(mut self, tag: impl Into<String>) -> Self {
        self.properties.insert(property::TAGS, tag);
        self
    }

    /// Sets the keys (indexed by the broker; space-separated on the wire).
    pub fn with_keys<I, S>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let joined = keys
            .into_iter()
            .map(|k| k.as_ref().to_owned())
            .collect::<Vec<_>>()
            .join(property::KEY_SEPARATOR);
        self.properties.insert(property::KEYS, joined);
        self
    }

    /// Adds a user property.
    pub fn with_property(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(name, value);
        self
    }

    /// Delivers after delay level `level` (1-based into the broker's `messageDelayLevel`).
    pub fn with_delay_level(mut self, level: i32) -> Self {
        self.properties
            .insert(property::DELAY_TIME_LEVEL, level.to_string());
        self
    }

    /// Delivers at `deliver_ms` (milliseconds since the epoch; 5.x timer messages).
    pub fn with_deliver_time_ms(mut self, deliver_ms: i64) -> Self {
        self.properties
            .insert(property::TIMER_DELIVER_MS, deliver_ms.to_string());
        self
    }

    /// Delivers `delay_ms` milliseconds after the broker stores it (5.x timer messages).
    pub fn with_delay_ms(mut self, delay_ms: i64) -> Self {
        self.properties
            .insert(property::TIMER_DELAY_MS, delay_ms.to_string());
        self
    }

    /// Sets the user flag (opaque to the broker).
    pub fn with_flag(mut self, flag: i32) -> Self {
        self.flag = flag;
        self
    }

    /// The topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The user flag.
    pub fn flag(&self) -> i32 {
        self.flag
    }

    /// The tag, if set.
    pub fn tag(&self) -> Option<&str> {
        self.properties.tags()
    }

    /// A property by name.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties.value(name)
    }

    /// All properties, system ones included.
    pub fn properties(&self) -> &Properties {
        &self.properties
    }

    pub(crate) fn properties_mut(&mut self) -> &mut Properties {
        &mut self.properties
    }

    pub(crate) fn set_body(&mut self, body: Bytes) {
        self.body = body;
    }

    pub(crate) fn set_topic(&mut self, topic: String) {
        self.topic = topic;
    }
}

/// A received message: the stored record plus where it came from.
///
/// Cheap to clone: clones share one record (a consumer keeps a message in its cache, in the
/// listener call and in its consume-timeout watch, and a redelivery keeps it besides).
#[derive(Clone)]
pub struct MessageView(Arc<Received>);

#[derive(Clone)]
struct Received {
    ext: MessageExt,
    /// Shared by the messages of one pull.
    queue: Arc<MessageQueue>,
}

impl std::fmt::Debug for MessageView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageView")
            .field("ext", &self.0.ext)
            .field("queue", &self.0.queue)
            .finish()
    }
}

impl MessageView {
    /// A received record from `broker_name`; a redelivery pulled from `retry_topic` (the
    /// group's `%RETRY%<group>`) gets its real topic back from `RETRY_TOPIC`.
    pub(crate) fn new(ext: MessageExt, broker_name: &str, retry_topic: Option<&str>) -> Self {
        let queue = Arc::new(MessageQueue::new(
            ext.topic.clone(),
            broker_name,
            ext.queue_id,
        ));
        MessageView::in_queue(ext, queue, retry_topic)
    }

    /// A received record of `queue` (shared with the other messages of its pull); a
    /// redelivery pulled from `retry_topic` gets its real topic back from `RETRY_TOPIC`.
    pub(crate) fn in_queue(
        mut ext: MessageExt,
        queue: Arc<MessageQueue>,
        retry_topic: Option<&str>,
    ) -> Self {
        if retry_topic == Some(ext.topic.as_str()) {
            if let Some(real) = ext.properties.value(property::RETRY_TOPIC) {
                ext.topic = real.to_owned();
            }
        }
        MessageView(Arc::new(Received { ext, queue }))
    }

    /// The views of the records pulled from `mq`, as the application sees them (`ns` taken off
    /// the topics), sharing one queue. A record of another queue (none is expected) gets its own.
    pub(crate) fn pulled<'a>(
        records: impl IntoIterator<Item = MessageExt> + 'a,
        mq: &'a MessageQueue,
        retry_topic: Option<&'a str>,
        ns: &'a Namespace,
    ) -> impl Iterator<Item = MessageView> + 'a {
        let queue = Arc::new(ns.unwrap_queue(mq));
        records.into_iter().map(move |ext| {
            if ext.topic == mq.topic && ext.queue_id == mq.queue_id {
                let mut view = MessageView::in_queue(ext, queue.clone(), retry_topic);
                if ns.is_set() {
                    let unwrapped = ns.unwrap(view.topic());
                    Arc::make_mut(&mut view.0).ext.topic = unwrapped;
                }
                view
            } else {
                ns.unwrap_view(MessageView::new(ext, &mq.broker_name, retry_topic))
            }
        })
    }

    /// Replaces the message's topic and its queue's topic (a namespace taken off).
    pub(crate) fn set_topics(&mut self, topic: String, queue_topic: String) {
        let received = Arc::make_mut(&mut self.0);
        received.ext.topic = topic;
        Arc::make_mut(&mut received.queue).topic = queue_topic;
    }

    /// A record of queue 0 of `topic` on broker `b` at `offset` (unit tests).
    #[cfg(test)]
    pub(crate) fn for_test(topic: &str, offset: i64, body: String) -> Self {
        let ext = MessageExt {
            topic: topic.to_owned(),
            queue_offset: offset,
            body: body.into(),
            ..MessageExt::default()
        };
        MessageView::new(ext, "b", None)
    }

    /// The message id (UNIQ_KEY, else the offsetMsgId), as Java's `getMsgId()`.
    pub fn msg_id(&self) -> String {
        self.0.ext.msg_id()
    }

    /// The broker's offsetMsgId (store host + commitlog offset).
    pub fn offset_msg_id(&self) -> String {
        self.0.ext.offset_msg_id()
    }

    /// The topic the producer sent to (restored from `RETRY_TOPIC` for redeliveries).
    pub fn topic(&self) -> &str {
        &self.0.ext.topic
    }

    /// The body (decompressed).
    pub fn body(&self) -> &Bytes {
        &self.0.ext.body
    }

    /// The tag.
    pub fn tag(&self) -> Option<&str> {
        self.0.ext.tags()
    }

    /// The keys.
    pub fn keys(&self) -> Vec<&str> {
        self.0.ext.properties.keys().collect()
    }

    /// A property by name.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.0.ext.properties.value(name)
    }

    /// All properties.
    pub fn properties(&self) -> BTreeMap<String, String> {
        self.0.ext.properties.clone().into_map()
    }

    /// The queue it was pulled from (the retry queue for redeliveries).
    pub fn queue(&self) -> &MessageQueue {
        &self.0.queue
    }

    /// Its offset in that queue.
    pub fn queue_offset(&self) -> i64 {
        self.0.ext.queue_offset
    }

    /// How many times it was redelivered before.
    pub fn reconsume_times(&self) -> i32 {
        self.0.ext.reconsume_times
    }

    pub(crate) fn set_reconsume_times(&mut self, times: i32) {
        Arc::make_mut(&mut self.0).ext.reconsume_times = times;
    }

    /// When the producer created it, ms since the epoch.
    pub fn born_timestamp(&self) -> i64 {
        self.0.ext.born_timestamp
    }

    /// When the broker stored it, ms since the epoch.
    pub fn store_timestamp(&self) -> i64 {
        self.0.ext.store_timestamp
    }

    /// The full stored record.
    pub fn ext(&self) -> &MessageExt {
        &self.0.ext
    }
}

/// How a broker stored a message that it accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SendStatus {
    /// Stored as configured.
    Ok,
    /// Stored, but the disk flush timed out (SYNC_FLUSH).
    FlushDiskTimeout,
    /// Stored, but the slave did not confirm in time (SYNC_MASTER).
    FlushSlaveTimeout,
    /// Stored, but no slave is available (SYNC_MASTER).
    SlaveNotAvailable,
}

/// The result of an accepted send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendResult {
    /// How it was stored.
    pub status: SendStatus,
    /// The client message id (UNIQ_KEY; comma-joined for a batch).
    pub msg_id: String,
    /// The broker's offsetMsgId (comma-joined for a batch).
    pub offset_msg_id: String,
    /// The queue written.
    pub queue: MessageQueue,
    /// The logical offset in that queue (of the first message of a batch).
    pub queue_offset: i64,
    /// The transaction id the broker assigned (transactional sends).
    pub transaction_id: Option<String>,
    /// The handle to recall a timer message before it is due with
    /// [`Producer::recall`](crate::producer::Producer::recall) (5.x brokers; single sends of
    /// timer messages only).
    pub recall_handle: Option<String>,
}
