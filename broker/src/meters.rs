//! What the Prometheus exporter counts beyond the broker's own statistics, under Apache 5.x's
//! labels (`BrokerMetricsManager`):
//!
//! - per topic and message type (`normal`, `fifo`, `delay`, `transaction`, read from the
//!   send's properties as Apache's `getMessageType` does): `rocketmq_messages_in_total`,
//!   `rocketmq_throughput_in_total` (record bytes written) and the `rocketmq_message_size`
//!   histogram (one observation per send: its bytes over its messages, buckets 1 KiB, 4 KiB,
//!   512 KiB, 1 MiB, 2 MiB, 4 MiB). Sends to retry and dead-letter topics are left out, as
//!   Apache does;
//! - per consumer group and original topic: `rocketmq_send_to_dlq_messages_total`;
//! - per topic (the one the producer named): transactions as Apache's `EndTransactionProcessor`
//!   counts them: `rocketmq_half_messages` (stored and not yet committed, rolled back or
//!   discarded by the checker), `rocketmq_commit_messages_total`,
//!   `rocketmq_rollback_messages_total` and the `rocketmq_finish_message_latency` histogram
//!   (seconds from the half message's birth to its commit; Apache declares the unit ms but
//!   records seconds, with buckets 5 s, 1 min, 10 min, 1 h, 12 h, 24 h: the same here). Unlike
//!   Apache, which persists the half count, it starts at 0 when the broker starts.
//!
//! - per request processor (Apache's thread pools: `send`, `pull`, `lite_pull`, ...):
//!   `rocketmq_processor_watermark`. Apache reports the tasks queued for each pool's threads;
//!   FerroMQ serves a request on its connection's task with nothing queued, so the nearest
//!   figure is the requests being served now, pulls held for new messages left out.
//!
//! Nothing is recorded while the exporter is off. At most [`MAX_KEYS`] keys are kept per
//! table (topics are created by clients); the rest count under `_other_`.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use ferromq_protocol::message::scan::Scan;
use ferromq_protocol::message::{property, Properties};
use ferromq_protocol::{names, RequestCode};

/// Keys kept apart per table.
pub(crate) const MAX_KEYS: usize = 10_000;

/// The key standing for those beyond [`MAX_KEYS`].
pub(crate) const OTHER: &str = "_other_";

/// Apache's `rocketmq_message_size` bucket bounds, in bytes.
pub(crate) const SIZE_BUCKETS: [u64; 6] = [
    1024,
    4 * 1024,
    512 * 1024,
    1024 * 1024,
    2 * 1024 * 1024,
    4 * 1024 * 1024,
];

/// Apache's `rocketmq_finish_message_latency` bucket bounds (seconds, as Apache records them).
pub(crate) const FINISH_BUCKETS: [u64; 6] = [5, 60, 600, 3600, 12 * 3600, 24 * 3600];

/// Apache's `TopicMessageType` as a metrics label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum MessageType {
    Normal,
    Fifo,
    Delay,
    Transaction,
}

impl MessageType {
    /// The type of a send with `properties` (Apache's `getMessageType`).
    pub(crate) fn of(properties: &Properties) -> MessageType {
        if properties
            .get(property::TRANSACTION_PREPARED)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        {
            MessageType::Transaction
        } else if properties.value(property::SHARDING_KEY).is_some() {
            MessageType::Fifo
        } else if [
            "__STARTDELIVERTIME",
            property::DELAY_TIME_LEVEL,
            property::TIMER_DELIVER_MS,
            property::TIMER_DELAY_SEC,
            property::TIMER_DELAY_MS,
        ]
        .iter()
        .any(|key| properties.value(key).is_some())
        {
            MessageType::Delay
        } else {
            MessageType::Normal
        }
    }

    /// [`MessageType::of`] for a properties text not decoded into a map.
    pub(crate) fn of_text(text: &[u8]) -> MessageType {
        let scan = Scan::new(
            text,
            &[
                property::TRANSACTION_PREPARED,
                property::SHARDING_KEY,
                "__STARTDELIVERTIME",
                property::DELAY_TIME_LEVEL,
                property::TIMER_DELIVER_MS,
                property::TIMER_DELAY_SEC,
                property::TIMER_DELAY_MS,
            ],
        );
        if scan.values[0].is_some_and(|v| String::from_utf8_lossy(v).eq_ignore_ascii_case("true")) {
            MessageType::Transaction
        } else if scan.has(1) {
            MessageType::Fifo
        } else if scan.values[2..].iter().any(Option::is_some) {
            MessageType::Delay
        } else {
            MessageType::Normal
        }
    }

    /// The label value.
    pub(crate) fn label(self) -> &'static str {
        match self {
            MessageType::Normal => "normal",
            MessageType::Fifo => "fifo",
            MessageType::Delay => "delay",
            MessageType::Transaction => "transaction",
        }
    }
}

/// Apache's processor (thread pool) names, in its order.
pub(crate) const PROCESSORS: [&str; 12] = [
    "send",
    "async_put",
    "pull",
    "ack",
    "query_message",
    "client_manager",
    "heartbeat",
    "lite_pull",
    "transaction",
    "consumer_manager",
    "admin",
    "reply",
];

/// The processor of a request code, as Apache's broker assigns codes to its pools.
pub(crate) fn processor_of(code: RequestCode) -> usize {
    match code {
        RequestCode::SEND_MESSAGE
        | RequestCode::SEND_MESSAGE_V2
        | RequestCode::SEND_BATCH_MESSAGE
        | RequestCode::CONSUMER_SEND_MSG_BACK => 0,
        RequestCode::PULL_MESSAGE => 2,
        RequestCode::QUERY_MESSAGE | RequestCode::VIEW_MESSAGE_BY_ID => 4,
        RequestCode::UNREGISTER_CLIENT | RequestCode::CHECK_CLIENT_CONFIG => 5,
        RequestCode::HEART_BEAT => 6,
        RequestCode::LITE_PULL_MESSAGE => 7,
        RequestCode::END_TRANSACTION => 8,
        RequestCode::GET_CONSUMER_LIST_BY_GROUP
        | RequestCode::UPDATE_CONSUMER_OFFSET
        | RequestCode::QUERY_CONSUMER_OFFSET => 9,
        RequestCode::SEND_REPLY_MESSAGE | RequestCode::SEND_REPLY_MESSAGE_V2 => 11,
        _ => 10,
    }
}

/// Requests being served per processor.
#[derive(Debug, Default)]
pub(crate) struct Processing {
    serving: [AtomicI64; PROCESSORS.len()],
}

/// Counts a request as served (or a pull as held) while alive.
#[derive(Debug)]
pub(crate) struct Serving<'a> {
    counter: &'a AtomicI64,
    delta: i64,
}

impl Drop for Serving<'_> {
    fn drop(&mut self) {
        self.counter.fetch_sub(self.delta, Ordering::Relaxed);
    }
}

impl Processing {
    /// Counts a request of `code` until the guard is dropped.
    pub(crate) fn serving(&self, code: RequestCode) -> Serving<'_> {
        self.count(processor_of(code), 1)
    }

    /// Leaves a pull of `code` out while it is held for new messages (until the guard drops).
    pub(crate) fn held(&self, code: RequestCode) -> Serving<'_> {
        self.count(processor_of(code), -1)
    }

    fn count(&self, processor: usize, delta: i64) -> Serving<'_> {
        let counter = &self.serving[processor];
        counter.fetch_add(delta, Ordering::Relaxed);
        Serving { counter, delta }
    }

    /// Requests being served per processor, in [`PROCESSORS`] order.
    pub(crate) fn snapshot(&self) -> [i64; PROCESSORS.len()] {
        self.serving
            .each_ref()
            .map(|c| c.load(Ordering::Relaxed).max(0))
    }
}

/// The counters of one topic and message type.
#[derive(Debug, Default)]
pub(crate) struct TopicIn {
    pub(crate) messages: AtomicU64,
    pub(crate) bytes: AtomicU64,
    /// Per size bucket (the last one is `+Inf`), not cumulative.
    pub(crate) sizes: [AtomicU64; SIZE_BUCKETS.len() + 1],
    pub(crate) size_sum: AtomicU64,
}

/// The transaction counters of one topic.
#[derive(Debug, Default)]
pub(crate) struct TopicTx {
    /// Half messages stored and not yet resolved (never below 0).
    pub(crate) half: AtomicI64,
    pub(crate) commits: AtomicU64,
    pub(crate) rollbacks: AtomicU64,
    /// Commits per finish-latency bucket (the last one is `+Inf`), not cumulative.
    pub(crate) finish: [AtomicU64; FINISH_BUCKETS.len() + 1],
    /// Sum of the finish latencies, seconds.
    pub(crate) finish_sum: AtomicU64,
}

impl TopicTx {
    fn half_resolved(&self) {
        let _ = self
            .half
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                Some((v - 1).max(0))
            });
    }
}

/// A bounded table of counters.
#[derive(Debug)]
struct Table<K, V> {
    map: RwLock<HashMap<K, Arc<V>>>,
}

impl<K, V> Default for Table<K, V> {
    fn default() -> Self {
        Table {
            map: RwLock::new(HashMap::new()),
        }
    }
}

impl<K: Hash + Eq + Clone + Ord, V: Default> Table<K, V> {
    /// The entry of `key`, or of `other()` when the table is full.
    fn entry(&self, key: K, other: impl FnOnce() -> K) -> Arc<V> {
        let found = self
            .map
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .cloned();
        if let Some(v) = found {
            return v;
        }
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        let key = if map.len() >= MAX_KEYS && !map.contains_key(&key) {
            other()
        } else {
            key
        };
        map.entry(key).or_default().clone()
    }

    /// Every entry, sorted by key.
    fn all(&self) -> Vec<(K, Arc<V>)> {
        let mut all: Vec<(K, Arc<V>)> = self
            .map
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }
}

/// The exporter's own counters.
#[derive(Debug, Default)]
pub(crate) struct Meters {
    enabled: AtomicBool,
    topics_in: Table<(String, MessageType), TopicIn>,
    dlq: Table<(String, String), AtomicU64>,
    transactions: Table<String, TopicTx>,
    /// Requests being served per processor.
    pub(crate) processing: Processing,
}

impl Meters {
    /// Starts recording (the Prometheus exporter is on).
    pub(crate) fn enable(&self) {
        self.enabled.store(true, Ordering::Relaxed);
    }

    /// Whether anything is recorded.
    pub(crate) fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// Counts a send of `messages` messages (`bytes` written) to `topic`.
    pub(crate) fn message_in(&self, topic: &str, kind: MessageType, messages: u64, bytes: u64) {
        if !self.is_enabled()
            || messages == 0
            || topic.starts_with(names::RETRY_TOPIC_PREFIX)
            || topic.starts_with(names::DLQ_TOPIC_PREFIX)
        {
            return;
        }
        let meter = self
            .topics_in
            .entry((topic.to_owned(), kind), || (OTHER.to_owned(), kind));
        meter.messages.fetch_add(messages, Ordering::Relaxed);
        meter.bytes.fetch_add(bytes, Ordering::Relaxed);
        let size = bytes / messages;
        let i = SIZE_BUCKETS
            .iter()
            .position(|&bound| size <= bound)
            .unwrap_or(SIZE_BUCKETS.len());
        meter.sizes[i].fetch_add(1, Ordering::Relaxed);
        meter.size_sum.fetch_add(size, Ordering::Relaxed);
    }

    /// Counts a message of `group` moved to its dead-letter queue (`topic`: where it was first
    /// sent, else the retry topic it came through).
    pub(crate) fn sent_to_dlq(&self, group: &str, topic: &str) {
        if !self.is_enabled() {
            return;
        }
        self.dlq
            .entry((group.to_owned(), topic.to_owned()), || {
                (OTHER.to_owned(), OTHER.to_owned())
            })
            .fetch_add(1, Ordering::Relaxed);
    }

    fn tx(&self, topic: &str) -> Option<Arc<TopicTx>> {
        self.is_enabled().then(|| {
            self.transactions
                .entry(topic.to_owned(), || OTHER.to_owned())
        })
    }

    /// Counts a half message stored for `topic`.
    pub(crate) fn half_stored(&self, topic: &str) {
        if let Some(t) = self.tx(topic) {
            t.half.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts a commit of a half message of `topic` born `latency_s` seconds ago.
    pub(crate) fn committed(&self, topic: &str, latency_s: u64) {
        if let Some(t) = self.tx(topic) {
            t.half_resolved();
            t.commits.fetch_add(1, Ordering::Relaxed);
            let i = FINISH_BUCKETS
                .iter()
                .position(|&bound| latency_s <= bound)
                .unwrap_or(FINISH_BUCKETS.len());
            t.finish[i].fetch_add(1, Ordering::Relaxed);
            t.finish_sum.fetch_add(latency_s, Ordering::Relaxed);
        }
    }

    /// Counts a rollback of a half message of `topic`.
    pub(crate) fn rolled_back(&self, topic: &str) {
        if let Some(t) = self.tx(topic) {
            t.half_resolved();
            t.rollbacks.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts a half message of `topic` the checker gave up on.
    pub(crate) fn half_discarded(&self, topic: &str) {
        if let Some(t) = self.tx(topic) {
            t.half_resolved();
        }
    }

    /// Per topic, sorted.
    pub(crate) fn transactions(&self) -> Vec<(String, Arc<TopicTx>)> {
        self.transactions.all()
    }

    /// Per topic and type, sorted.
    pub(crate) fn topics_in(&self) -> Vec<((String, MessageType), Arc<TopicIn>)> {
        self.topics_in.all()
    }

    /// Per group and topic, sorted.
    pub(crate) fn dlq(&self) -> Vec<((String, String), u64)> {
        self.dlq
            .all()
            .into_iter()
            .map(|(k, v)| (k, v.load(Ordering::Relaxed)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Properties {
        let mut p = Properties::default();
        for (k, v) in pairs {
            p.insert(*k, *v);
        }
        p
    }

    #[test]
    fn message_types_follow_apache() {
        let of = |p: &Properties| {
            let from_text = MessageType::of_text(p.encode().as_bytes());
            assert_eq!(from_text, MessageType::of(p), "{p:?}");
            from_text
        };
        assert_eq!(
            of(&props(&[("TRAN_MSG", "TRUE")])),
            MessageType::Transaction
        );
        assert_eq!(
            of(&props(&[("__STARTDELIVERTIME", "1")])),
            MessageType::Delay
        );
        assert_eq!(
            MessageType::of_text(b"TRAN_MSG\x01true\x02TRAN_MSG\x01false\x02"),
            MessageType::Normal,
            "the last value wins"
        );
        assert_eq!(of(&props(&[])), MessageType::Normal);
        assert_eq!(
            MessageType::of(&props(&[("TRAN_MSG", "true"), ("DELAY", "3")])),
            MessageType::Transaction
        );
        assert_eq!(
            MessageType::of(&props(&[("__SHARDINGKEY", "k"), ("DELAY", "3")])),
            MessageType::Fifo
        );
        assert_eq!(
            MessageType::of(&props(&[("TIMER_DELAY_SEC", "5")])),
            MessageType::Delay
        );
        assert_eq!(
            MessageType::of(&props(&[("TRAN_MSG", "false")])),
            MessageType::Normal
        );
    }

    #[test]
    fn sends_count_by_topic_and_type_once_enabled() {
        let m = Meters::default();
        m.message_in("T", MessageType::Normal, 1, 100);
        assert!(m.topics_in().is_empty(), "off: nothing recorded");
        m.enable();
        m.message_in("T", MessageType::Normal, 1, 100);
        m.message_in("T", MessageType::Normal, 4, 4 * 5000);
        m.message_in("T", MessageType::Delay, 1, 300);
        m.message_in("%RETRY%G", MessageType::Normal, 1, 300);
        m.message_in("%DLQ%G", MessageType::Normal, 1, 300);
        let all = m.topics_in();
        assert_eq!(all.len(), 2);
        let normal = &all[0].1;
        assert_eq!(all[0].0, ("T".to_owned(), MessageType::Normal));
        assert_eq!(normal.messages.load(Ordering::Relaxed), 5);
        assert_eq!(normal.bytes.load(Ordering::Relaxed), 20_100);
        let sizes: Vec<u64> = normal
            .sizes
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect();
        assert_eq!(sizes, [1, 0, 1, 0, 0, 0, 0]);
        assert_eq!(normal.size_sum.load(Ordering::Relaxed), 5100);
    }

    #[test]
    fn transactions_count_halves_and_their_ends() {
        let m = Meters::default();
        m.half_stored("T");
        assert!(m.transactions().is_empty(), "off: nothing recorded");
        m.enable();
        for _ in 0..3 {
            m.half_stored("T");
        }
        m.committed("T", 2);
        m.committed("T", 4000);
        m.rolled_back("T");
        m.half_discarded("T");
        m.rolled_back("U");
        let all = m.transactions();
        let t = &all[0].1;
        assert_eq!(all[0].0, "T");
        assert_eq!(t.half.load(Ordering::Relaxed), 0, "never below zero");
        assert_eq!(t.commits.load(Ordering::Relaxed), 2);
        assert_eq!(t.rollbacks.load(Ordering::Relaxed), 1);
        let finish: Vec<u64> = t.finish.iter().map(|c| c.load(Ordering::Relaxed)).collect();
        assert_eq!(finish, [1, 0, 0, 0, 1, 0, 0]);
        assert_eq!(t.finish_sum.load(Ordering::Relaxed), 4002);
        assert_eq!(all[1].1.half.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn requests_count_per_processor_while_served_and_not_held() {
        let p = Processing::default();
        let send = p.serving(RequestCode::SEND_MESSAGE_V2);
        let pull = p.serving(RequestCode::PULL_MESSAGE);
        let other = p.serving(RequestCode::GET_BROKER_RUNTIME_INFO);
        let at = |name: &str| PROCESSORS.iter().position(|p| *p == name).unwrap_or(99);
        let now = p.snapshot();
        assert_eq!(
            (now[at("send")], now[at("pull")], now[at("admin")]),
            (1, 1, 1)
        );
        let held = p.held(RequestCode::PULL_MESSAGE);
        assert_eq!(
            p.snapshot()[at("pull")],
            0,
            "a held pull is not being served"
        );
        drop(held);
        assert_eq!(p.snapshot()[at("pull")], 1);
        drop((send, pull, other));
        assert_eq!(p.snapshot(), [0; PROCESSORS.len()]);
    }

    #[test]
    fn keys_beyond_the_cap_count_as_other() {
        let m = Meters::default();
        m.enable();
        for i in 0..MAX_KEYS + 5 {
            m.sent_to_dlq("G", &format!("T{i}"));
        }
        let dlq = m.dlq();
        assert_eq!(dlq.len(), MAX_KEYS + 1);
        let other = (OTHER.to_owned(), OTHER.to_owned());
        assert_eq!(dlq.iter().find(|(k, _)| *k == other).map(|e| e.1), Some(5));
    }
}
