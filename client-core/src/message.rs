//! Messages as the user builds them ([`Message`]), as a consumer receives them
//! ([`MessageView`]), and the outcome of a send ([`SendResult`]).

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use ferromq_protocol::body::MessageQueue;
use ferromq_protocol::message::{property, MessageExt, MessageParts, Properties};

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
/// listener call and in its consume-timeout watch, and a redelivery keeps it besides). A
/// pulled message decodes its properties when first asked for them (a tag, a key, a property,
/// the message id, [`Self::ext`]), once; the messages of one pull share their topic and queue.
#[derive(Clone)]
pub struct MessageView(Arc<Received>);

#[derive(Clone)]
struct Received {
    /// The record; for a pulled message, without its topic and properties (see `lazy`).
    head: MessageExt,
    /// The topic the application sees.
    topic: Arc<str>,
    /// A pulled message's properties as stored, decoded on first use.
    lazy: Option<Lazy>,
    /// Shared by the messages of one pull.
    queue: Arc<MessageQueue>,
}

#[derive(Clone)]
struct Lazy {
    raw: Bytes,
    properties: OnceLock<Properties>,
    /// [`MessageView::ext`]: the head with the topic and the properties.
    full: OnceLock<MessageExt>,
}

impl std::fmt::Debug for MessageView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageView")
            .field("ext", self.ext())
            .field("queue", &self.0.queue)
            .finish()
    }
}

impl MessageView {
    /// A received record from `broker_name`; a redelivery pulled from `retry_topic` (the
    /// group's `%RETRY%<group>`) gets its real topic back from `RETRY_TOPIC`.
    pub(crate) fn new(mut ext: MessageExt, broker_name: &str, retry_topic: Option<&str>) -> Self {
        let queue = Arc::new(MessageQueue::new(
            ext.topic.clone(),
            broker_name,
            ext.queue_id,
        ));
        if retry_topic == Some(ext.topic.as_str()) {
            if let Some(real) = ext.properties.value(property::RETRY_TOPIC) {
                ext.topic = real.to_owned();
            }
        }
        let topic = Arc::from(ext.topic.as_str());
        MessageView(Arc::new(Received {
            head: ext,
            topic,
            lazy: None,
            queue,
        }))
    }

    /// The views of the records pulled from `mq`, as the application sees them (`ns` taken off
    /// the topics): the messages share their queue and topic, and each decodes its properties
    /// when first asked. A redelivery pulled from `retry_topic` gets its real topic back from
    /// `RETRY_TOPIC` (its properties are decoded for that). A record of another queue (none is
    /// expected) gets its own queue.
    pub(crate) fn pulled<'a>(
        records: impl IntoIterator<Item = MessageParts> + 'a,
        mq: &'a MessageQueue,
        retry_topic: Option<&'a str>,
        ns: &'a Namespace,
    ) -> impl Iterator<Item = MessageView> + 'a {
        let queue = Arc::new(ns.unwrap_queue(mq));
        // The topic of the previous record, as stored and as the application sees it.
        let mut last: Option<(Bytes, Arc<str>)> = None;
        records.into_iter().map(move |parts| {
            let MessageParts {
                head,
                topic: stored,
                properties: raw,
            } = parts;
            let lazy = Lazy {
                raw,
                properties: OnceLock::new(),
                full: OnceLock::new(),
            };
            let stored_topic = std::str::from_utf8(&stored).unwrap_or_default();
            let own_queue = stored_topic != mq.topic || head.queue_id != mq.queue_id;
            let queue = if own_queue {
                Arc::new(ns.unwrap_queue(&MessageQueue::new(
                    stored_topic,
                    &mq.broker_name,
                    head.queue_id,
                )))
            } else {
                queue.clone()
            };
            let topic = if retry_topic == Some(stored_topic) {
                let props = lazy
                    .properties
                    .get_or_init(|| Properties::decode_bytes(&lazy.raw));
                let real = props.value(property::RETRY_TOPIC).unwrap_or(stored_topic);
                Arc::from(ns.unwrap(real).as_str())
            } else {
                match &last {
                    Some((b, t)) if *b == stored => t.clone(),
                    _ => {
                        let t: Arc<str> = Arc::from(ns.unwrap(stored_topic).as_str());
                        last = Some((stored.clone(), t.clone()));
                        t
                    }
                }
            };
            MessageView(Arc::new(Received {
                head,
                topic,
                lazy: Some(lazy),
                queue,
            }))
        })
    }

    /// Replaces the message's topic and its queue's topic (a namespace taken off).
    pub(crate) fn set_topics(&mut self, topic: String, queue_topic: String) {
        let received = Arc::make_mut(&mut self.0);
        received.topic = Arc::from(topic.as_str());
        match &mut received.lazy {
            Some(lazy) => lazy.full = OnceLock::new(),
            None => received.head.topic = topic,
        }
        Arc::make_mut(&mut received.queue).topic = queue_topic;
    }

    /// The properties, decoded on first use for a pulled message.
    fn props(&self) -> &Properties {
        match &self.0.lazy {
            None => &self.0.head.properties,
            Some(lazy) => lazy
                .properties
                .get_or_init(|| Properties::decode_bytes(&lazy.raw)),
        }
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
        match self.props().uniq_key() {
            Some(key) => key.to_owned(),
            None => self.0.head.offset_msg_id(),
        }
    }

    /// The broker's offsetMsgId (store host + commitlog offset).
    pub fn offset_msg_id(&self) -> String {
        self.0.head.offset_msg_id()
    }

    /// The topic the producer sent to (restored from `RETRY_TOPIC` for redeliveries).
    pub fn topic(&self) -> &str {
        &self.0.topic
    }

    /// The body (decompressed).
    pub fn body(&self) -> &Bytes {
        &self.0.head.body
    }

    /// The tag.
    pub fn tag(&self) -> Option<&str> {
        self.props().tags()
    }

    /// The keys.
    pub fn keys(&self) -> Vec<&str> {
        self.props().keys().collect()
    }

    /// A property by name.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.props().value(name)
    }

    /// All properties.
    pub fn properties(&self) -> BTreeMap<String, String> {
        self.props().clone().into_map()
    }

    /// The queue it was pulled from (the retry queue for redeliveries).
    pub fn queue(&self) -> &MessageQueue {
        &self.0.queue
    }

    /// Its offset in that queue.
    pub fn queue_offset(&self) -> i64 {
        self.0.head.queue_offset
    }

    /// How many times it was redelivered before.
    pub fn reconsume_times(&self) -> i32 {
        self.0.head.reconsume_times
    }

    pub(crate) fn set_reconsume_times(&mut self, times: i32) {
        let received = Arc::make_mut(&mut self.0);
        received.head.reconsume_times = times;
        if let Some(lazy) = &mut received.lazy {
            lazy.full = OnceLock::new();
        }
    }

    /// When the producer created it, ms since the epoch.
    pub fn born_timestamp(&self) -> i64 {
        self.0.head.born_timestamp
    }

    /// When the broker stored it, ms since the epoch.
    pub fn store_timestamp(&self) -> i64 {
        self.0.head.store_timestamp
    }

    /// The full stored record.
    pub fn ext(&self) -> &MessageExt {
        match &self.0.lazy {
            None => &self.0.head,
            Some(lazy) => lazy.full.get_or_init(|| MessageExt {
                topic: self.0.topic.to_string(),
                properties: self.props().clone(),
                ..self.0.head.clone()
            }),
        }
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

#[cfg(test)]
mod tests {
    use bytes::BytesMut;
    use ferromq_protocol::message::{decode_all, decode_all_parts, DecodeOptions};

    use super::*;

    /// A pull body: two records of `T` queue 1, and one of the retry topic.
    fn body() -> Bytes {
        let mut buf = BytesMut::new();
        for (i, topic) in ["ns%T", "ns%T", "%RETRY%ns%G"].into_iter().enumerate() {
            let mut properties = Properties::new();
            properties.insert(property::TAGS, "TagA");
            properties.insert(property::KEYS, "k1 k2");
            properties.insert(property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX, format!("ID{i}"));
            if i == 2 {
                properties.insert(property::RETRY_TOPIC, "ns%T");
            }
            let ext = MessageExt {
                topic: topic.to_owned(),
                queue_id: 1,
                queue_offset: i as i64,
                reconsume_times: i as i32,
                body: Bytes::from(format!("body-{i}")),
                properties,
                ..MessageExt::default()
            };
            ext.encode(&mut buf).expect("encode");
        }
        buf.freeze()
    }

    #[test]
    fn pulled_views_decode_their_properties_when_asked_as_before() {
        let body = body();
        let opts = DecodeOptions::client();
        let full = decode_all(&body, &opts).expect("decode");
        let parts = decode_all_parts(&body, &opts).expect("decode parts");
        let ns = Namespace::new(Some("ns")).expect("namespace");
        let mq = MessageQueue::new("ns%T", "b", 1);
        let views: Vec<_> = MessageView::pulled(parts, &mq, Some("%RETRY%ns%G"), &ns).collect();
        // The views of the same records built the eager way (each one decoded whole).
        let eager: Vec<_> = full
            .into_iter()
            .map(|ext| ns.unwrap_view(MessageView::new(ext, "b", Some("%RETRY%ns%G"))))
            .collect();
        assert_eq!(views.len(), 3);
        for (v, e) in views.iter().zip(&eager) {
            assert_eq!(v.topic(), "T");
            assert_eq!(v.topic(), e.topic());
            assert_eq!(v.body(), e.body());
            assert_eq!(v.tag(), Some("TagA"));
            assert_eq!(v.keys(), vec!["k1", "k2"]);
            assert_eq!(v.msg_id(), e.msg_id());
            assert_eq!(v.properties(), e.properties());
            assert_eq!(v.queue_offset(), e.queue_offset());
            assert_eq!(v.reconsume_times(), e.reconsume_times());
            assert_eq!(v.ext(), e.ext());
        }
        // The first two share the pulled queue; the redelivery has its own (the retry queue).
        assert!(Arc::ptr_eq(&views[0].0.queue, &views[1].0.queue));
        assert_eq!(views[0].queue(), &MessageQueue::new("T", "b", 1));
        assert_eq!(views[2].queue(), &MessageQueue::new("%RETRY%G", "b", 1));
        assert_eq!(views[2].queue(), eager[2].queue());

        // Changing one view (an orderly redelivery) leaves its clones and its record alone.
        let mut again = views[1].clone();
        again.set_reconsume_times(5);
        assert_eq!(again.reconsume_times(), 5);
        assert_eq!(again.ext().reconsume_times, 5);
        assert_eq!(views[1].reconsume_times(), 1);
        assert_eq!(views[1].ext().reconsume_times, 1);
    }
}
