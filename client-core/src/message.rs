//! Messages as the user builds them ([`Message`]), as a consumer receives them
//! ([`MessageView`]), and the outcome of a send ([`SendResult`]).

use std::collections::BTreeMap;

use bytes::Bytes;
use ferromq_protocol::body::MessageQueue;
use ferromq_protocol::message::{property, MessageExt, Properties};

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
#[derive(Debug, Clone)]
pub struct MessageView {
    ext: MessageExt,
    queue: MessageQueue,
}

impl MessageView {
    /// A received record from `broker_name`; a redelivery pulled from `retry_topic` (the
    /// group's `%RETRY%<group>`) gets its real topic back from `RETRY_TOPIC`.
    pub(crate) fn new(mut ext: MessageExt, broker_name: &str, retry_topic: Option<&str>) -> Self {
        let queue = MessageQueue::new(ext.topic.clone(), broker_name, ext.queue_id);
        if retry_topic == Some(ext.topic.as_str()) {
            if let Some(real) = ext.properties.value(property::RETRY_TOPIC) {
                ext.topic = real.to_owned();
            }
        }
        MessageView { ext, queue }
    }

    /// Replaces the message's topic and its queue's topic (a namespace taken off).
    pub(crate) fn set_topics(&mut self, topic: String, queue_topic: String) {
        self.ext.topic = topic;
        self.queue.topic = queue_topic;
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
        self.ext.msg_id()
    }

    /// The broker's offsetMsgId (store host + commitlog offset).
    pub fn offset_msg_id(&self) -> String {
        self.ext.offset_msg_id()
    }

    /// The topic the producer sent to (restored from `RETRY_TOPIC` for redeliveries).
    pub fn topic(&self) -> &str {
        &self.ext.topic
    }

    /// The body (decompressed).
    pub fn body(&self) -> &Bytes {
        &self.ext.body
    }

    /// The tag.
    pub fn tag(&self) -> Option<&str> {
        self.ext.tags()
    }

    /// The keys.
    pub fn keys(&self) -> Vec<&str> {
        self.ext.properties.keys().collect()
    }

    /// A property by name.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.ext.properties.value(name)
    }

    /// All properties.
    pub fn properties(&self) -> BTreeMap<String, String> {
        self.ext.properties.clone().into_map()
    }

    /// The queue it was pulled from (the retry queue for redeliveries).
    pub fn queue(&self) -> &MessageQueue {
        &self.queue
    }

    /// Its offset in that queue.
    pub fn queue_offset(&self) -> i64 {
        self.ext.queue_offset
    }

    /// How many times it was redelivered before.
    pub fn reconsume_times(&self) -> i32 {
        self.ext.reconsume_times
    }

    pub(crate) fn set_reconsume_times(&mut self, times: i32) {
        self.ext.reconsume_times = times;
    }

    /// When the producer created it, ms since the epoch.
    pub fn born_timestamp(&self) -> i64 {
        self.ext.born_timestamp
    }

    /// When the broker stored it, ms since the epoch.
    pub fn store_timestamp(&self) -> i64 {
        self.ext.store_timestamp
    }

    /// The full stored record.
    pub fn ext(&self) -> &MessageExt {
        &self.ext
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
