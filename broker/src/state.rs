//! The broker's shared state: settings, store, config tables, clients and the small in-memory
//! tables the handlers and services share. Everything else reads or changes it; this module
//! depends on nothing of the broker's but leaf modules.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use ferromq_common::settings::SettingError;
use ferromq_store::configs::{
    ConsumerOffsetTable, DelayOffsetTable, SubscriptionGroupTable, TopicConfigTable,
};
use ferromq_store::MessageStore;
use tokio::sync::Notify;

use crate::acl::Acl;
use crate::auth::Auth;
use crate::clients::ClientManager;
use crate::config::{BrokerConfig, Settings};
use crate::limits::RateLimiter;
use crate::locks::QueueLocks;
use crate::replication::Replication;
use crate::stats::Stats;

/// Half messages of transactions with an op record (committed or rolled back), by half queue
/// offset; rebuilt from the op queue at start.
#[derive(Debug, Default)]
pub(crate) struct ResolvedHalves(Mutex<BTreeSet<i64>>);

impl ResolvedHalves {
    /// Records that the half message at `half_queue_offset` is resolved.
    pub(crate) fn insert(&self, half_queue_offset: i64) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(half_queue_offset);
    }

    /// Whether the half message at `half_queue_offset` is resolved.
    pub(crate) fn contains(&self, half_queue_offset: i64) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&half_queue_offset)
    }
}

/// A running broker's state.
#[derive(Debug)]
pub struct Broker {
    pub(crate) settings: RwLock<Arc<Settings>>,
    pub(crate) store: Arc<MessageStore>,
    pub(crate) topics: Arc<TopicConfigTable>,
    pub(crate) groups: Arc<SubscriptionGroupTable>,
    pub(crate) offsets: ConsumerOffsetTable,
    pub(crate) delay_offsets: DelayOffsetTable,
    /// Delay of each level in ms (`messageDelayLevel`).
    pub(crate) delay_levels: Vec<u64>,
    pub(crate) clients: ClientManager,
    pub(crate) locks: QueueLocks,
    pub(crate) resolved_halves: ResolvedHalves,
    /// Slaves and their acks (a master), the master's address (a slave).
    pub(crate) replication: Replication,
    pub(crate) store_host: SocketAddr,
    /// Long-polling wake-ups per (topic, queue).
    pub(crate) arrivals: Mutex<HashMap<(String, i32), Arc<Notify>>>,
    /// Signals the name-server registration loop that topics changed.
    pub(crate) topics_changed: Notify,
    /// When the broker started.
    pub(crate) started: Instant,
    /// Message counters for runtime info.
    pub(crate) stats: Stats,
    /// Topics created on demand (sends to unknown topics), rate limited.
    pub(crate) topic_creations: RateLimiter,
    /// Groups created on demand (heartbeats, pulls, send-backs), rate limited.
    pub(crate) group_creations: RateLimiter,
    /// POP consumption: in-flight messages and pop offsets (docs/pop.md).
    pub(crate) pop: crate::pop::PopService,
    /// ACL 1.0 rules when `aclEnable` is set.
    pub(crate) acl: Option<Acl>,
    /// ACL 2.0: users, ACLs and the `authenticationEnabled` / `authorizationEnabled` checks.
    pub(crate) auth: Arc<Auth>,
}

impl Broker {
    /// The current settings (runtime updates swap in a new snapshot).
    pub fn settings(&self) -> Arc<Settings> {
        self.settings
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Applies a runtime update (UPDATE_BROKER_CONFIG): only runtime-safe keys, all or nothing.
    pub fn update_settings(&self, pairs: &[(String, String)]) -> Result<(), SettingError> {
        let mut guard = self.settings.write().unwrap_or_else(|e| e.into_inner());
        let mut next = Settings::clone(&guard);
        let (broker_pairs, store_pairs): (Vec<_>, Vec<_>) = pairs
            .iter()
            .cloned()
            .partition(|(k, _)| BrokerConfig::KEYS.contains(&k.trim()));
        next.broker.update_at_runtime(&broker_pairs)?;
        next.store.update_at_runtime(&store_pairs)?;
        // Values that would leave the broker unable to work are refused whatever their spelling
        // (a key may come twice; the last wins).
        if next.store.max_message_size == 0 && guard.store.max_message_size != 0 {
            return Err(SettingError::BadValue {
                key: "maxMessageSize".to_owned(),
                value: "0".to_owned(),
                expected: "a size above 0",
            });
        }
        let queues = next.broker.default_topic_queue_nums;
        if queues != guard.broker.default_topic_queue_nums
            && !(1..=next.broker.max_topic_queue_nums).contains(&queues)
        {
            return Err(SettingError::BadValue {
                key: "defaultTopicQueueNums".to_owned(),
                value: queues.to_string(),
                expected: "1..=maxTopicQueueNums",
            });
        }
        if !store_pairs.is_empty() {
            self.store
                .update_config(next.store.clone())
                .map_err(|key| SettingError::NotRuntimeUpdatable { key })?;
        }
        *guard = Arc::new(next);
        Ok(())
    }

    /// The store.
    pub fn store(&self) -> &Arc<MessageStore> {
        &self.store
    }

    /// Persists every config table that changed.
    pub fn persist_all(&self) {
        for (name, result) in [
            ("topics.json", self.topics.persist().map(|_| ())),
            ("subscriptionGroup.json", self.groups.persist().map(|_| ())),
            ("consumerOffset.json", self.offsets.persist().map(|_| ())),
            ("delayOffset.json", self.delay_offsets.persist().map(|_| ())),
        ] {
            if let Err(e) = result {
                tracing::error!(file = name, error = %e, "cannot persist");
            }
        }
    }

    /// The wake-up of a queue's held pulls.
    pub(crate) fn arrival(&self, topic: &str, queue_id: i32) -> Arc<Notify> {
        let mut map = self.arrivals.lock().unwrap_or_else(|e| e.into_inner());
        map.entry((topic.to_owned(), queue_id)).or_default().clone()
    }

    /// Wakes pulls held on a queue (called for every dispatched message).
    pub(crate) fn message_arrived(&self, topic: &str, queue_id: i32) {
        let map = self.arrivals.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = map.get(&(topic.to_owned(), queue_id)) {
            n.notify_waiters();
        }
    }
}
