//! `config/topics.json`: the broker's topic table (Apache `TopicConfigManager`).
//!
//! The file is a `TopicConfigSerializeWrapper` without the static-topic mapping fields:
//! `{"dataVersion":{"counter":1,"stateVersion":0,"timestamp":..},"topicConfigTable":{"<topic>":
//! {"attributes":{},"order":false,"perm":6,"readQueueNums":8,"topicFilterType":"SINGLE_TAG",
//! "topicName":"<topic>","topicSysFlag":0,"writeQueueNums":8}}}`.

use std::collections::BTreeMap;
use std::sync::RwLock;

use ferromq_protocol::body::{perm, DataVersion, TopicConfig, TopicConfigSerializeWrapper};
use serde::Serialize;

use super::file;
use super::table::{ConfigTable, TableContents};
use crate::error::Result;

/// `RMQ_SYS_SELF_TEST_TOPIC`.
pub const SELF_TEST_TOPIC: &str = "SELF_TEST_TOPIC";
/// The auto-create template topic (`AUTO_CREATE_TOPIC_KEY_TOPIC`).
pub const AUTO_CREATE_TOPIC_KEY_TOPIC: &str = "TBW102";
/// `RMQ_SYS_BENCHMARK_TOPIC`.
pub const BENCHMARK_TOPIC: &str = "BenchmarkTest";
/// `RMQ_SYS_OFFSET_MOVED_EVENT`.
pub const OFFSET_MOVED_EVENT_TOPIC: &str = "OFFSET_MOVED_EVENT";
/// Delayed messages wait here, queue `level - 1` per delay level (`RMQ_SYS_SCHEDULE_TOPIC`).
pub const SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";
/// Queues of [`SCHEDULE_TOPIC`], one per delay level.
pub const SCHEDULE_TOPIC_QUEUE_NUM: i32 = 18;
/// Transaction half messages (`RMQ_SYS_TRANS_HALF_TOPIC`).
pub const TRANS_HALF_TOPIC: &str = "RMQ_SYS_TRANS_HALF_TOPIC";
/// Transaction op records (`RMQ_SYS_TRANS_OP_HALF_TOPIC`).
pub const TRANS_OP_HALF_TOPIC: &str = "RMQ_SYS_TRANS_OP_HALF_TOPIC";
/// Default message trace topic (`msgTraceTopicName`).
pub const TRACE_TOPIC: &str = "RMQ_SYS_TRACE_TOPIC";
/// 5.x timer wheel topic (`TimerMessageStore.TIMER_TOPIC`).
pub const TIMER_TOPIC: &str = "rmq_sys_wheel_timer";
/// Suffix of the per-cluster reply topic `<cluster>_REPLY_TOPIC`.
pub const REPLY_TOPIC_SUFFIX: &str = "_REPLY_TOPIC";
/// Prefix of the per-cluster POP revive topic `rmq_sys_REVIVE_LOG_<cluster>`.
pub const REVIVE_TOPIC_PREFIX: &str = "rmq_sys_REVIVE_LOG_";
/// Prefix of the per-broker `rmq_sys_SYNC_BROKER_MEMBER_<broker>` topic.
pub const SYNC_BROKER_MEMBER_PREFIX: &str = "rmq_sys_SYNC_BROKER_MEMBER_";

/// The broker settings that decide which system topics exist at startup, with Apache's
/// defaults for everything [`SystemTopics::new`] does not take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SystemTopics {
    /// `brokerClusterName`.
    pub cluster_name: String,
    /// `brokerName`.
    pub broker_name: String,
    /// `autoCreateTopicEnable` (true): whether `TBW102` exists.
    pub auto_create_topic_enable: bool,
    /// `defaultTopicQueueNums` (8): queues of `TBW102`.
    pub default_topic_queue_nums: i32,
    /// `clusterTopicEnable` (true): the cluster-named topic is readable and writable too.
    pub cluster_topic_enable: bool,
    /// `brokerTopicEnable` (true): the broker-named topic is readable and writable too.
    pub broker_topic_enable: bool,
    /// `traceTopicEnable` (false): whether the trace topic exists.
    pub trace_topic_enable: bool,
    /// `msgTraceTopicName` ([`TRACE_TOPIC`]).
    pub msg_trace_topic_name: String,
    /// `reviveQueueNum` (8): queues of the POP revive topic.
    pub revive_queue_num: i32,
    /// `timerWheelEnable` (true): whether the 5.x timer topic exists.
    pub timer_wheel_enable: bool,
}

impl SystemTopics {
    /// Apache's defaults for the given cluster and broker name and the two auto-create
    /// settings.
    pub fn new(
        cluster_name: impl Into<String>,
        broker_name: impl Into<String>,
        auto_create_topic_enable: bool,
        default_topic_queue_nums: i32,
    ) -> Self {
        SystemTopics {
            cluster_name: cluster_name.into(),
            broker_name: broker_name.into(),
            auto_create_topic_enable,
            default_topic_queue_nums,
            cluster_topic_enable: true,
            broker_topic_enable: true,
            trace_topic_enable: false,
            msg_trace_topic_name: TRACE_TOPIC.to_owned(),
            revive_queue_num: 8,
            timer_wheel_enable: true,
        }
    }

    /// The topics an Apache 5.3.3 broker with these settings creates at startup
    /// (`TopicConfigManager.init`, plus the timer topic of the timer message store). Queue
    /// counts not set explicitly are Java's `TopicConfig` default of 16; perm is read|write
    /// unless noted.
    pub fn topics(&self) -> Vec<TopicConfig> {
        let rw_if = |enabled: bool| {
            if enabled {
                perm::INHERIT | perm::READ_WRITE
            } else {
                perm::INHERIT
            }
        };
        let mut out = vec![queues(SELF_TEST_TOPIC, 1)];
        if self.auto_create_topic_enable {
            let mut tbw = queues(AUTO_CREATE_TOPIC_KEY_TOPIC, self.default_topic_queue_nums);
            tbw.perm = perm::INHERIT | perm::READ_WRITE;
            out.push(tbw);
        }
        out.push(queues(BENCHMARK_TOPIC, 1024));
        let mut cluster = TopicConfig::new(self.cluster_name.as_str(), 16, 16);
        cluster.perm = rw_if(self.cluster_topic_enable);
        out.push(cluster);
        let mut broker = queues(&self.broker_name, 1);
        broker.perm = rw_if(self.broker_topic_enable);
        out.push(broker);
        out.push(queues(OFFSET_MOVED_EVENT_TOPIC, 1));
        out.push(queues(SCHEDULE_TOPIC, SCHEDULE_TOPIC_QUEUE_NUM));
        if self.trace_topic_enable {
            out.push(queues(&self.msg_trace_topic_name, 1));
        }
        out.push(queues(
            &format!("{}{REPLY_TOPIC_SUFFIX}", self.cluster_name),
            1,
        ));
        out.push(queues(
            &format!("{REVIVE_TOPIC_PREFIX}{}", self.cluster_name),
            self.revive_queue_num,
        ));
        let mut sync = queues(
            &format!("{SYNC_BROKER_MEMBER_PREFIX}{}", self.broker_name),
            1,
        );
        sync.perm = perm::INHERIT;
        out.push(sync);
        out.push(queues(TRANS_HALF_TOPIC, 1));
        out.push(queues(TRANS_OP_HALF_TOPIC, 1));
        if self.timer_wheel_enable {
            out.push(queues(TIMER_TOPIC, 1));
        }
        out
    }
}

fn queues(name: &str, n: i32) -> TopicConfig {
    TopicConfig::new(name, n, n)
}

/// The system topics of [`SystemTopics::new`] with Apache's other defaults.
pub fn system_topics(
    cluster_name: &str,
    broker_name: &str,
    auto_create_topic_enable: bool,
    default_topic_queue_nums: i32,
) -> Vec<TopicConfig> {
    SystemTopics::new(
        cluster_name,
        broker_name,
        auto_create_topic_enable,
        default_topic_queue_nums,
    )
    .topics()
}

#[derive(Debug, Default)]
struct Inner {
    data_version: DataVersion,
    topics: BTreeMap<String, TopicConfig>,
}

/// The file's shape, borrowed from the table so encoding copies nothing.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FileView<'a> {
    data_version: &'a DataVersion,
    topic_config_table: &'a BTreeMap<String, TopicConfig>,
}

/// What `topics.json` holds: the topic configs and the data version, under one lock.
#[derive(Debug)]
pub struct Topics(RwLock<Inner>);

impl Topics {
    fn with(data_version: DataVersion, topics: BTreeMap<String, TopicConfig>) -> Self {
        Topics(RwLock::new(Inner {
            data_version,
            topics,
        }))
    }
}

impl TableContents for Topics {
    const FILE_NAME: &'static str = "topics.json";

    fn empty() -> Self {
        Self::with(DataVersion::now(), BTreeMap::new())
    }

    fn decode(bytes: &[u8]) -> Result<Self> {
        let w = TopicConfigSerializeWrapper::decode(bytes)
            .map_err(|e| file::corrupt("topics.json", e))?;
        Ok(Self::with(w.data_version, w.topic_config_table))
    }

    /// Compact, keys sorted as fastjson writes them.
    fn encode(&self) -> String {
        let inner = file::read(&self.0);
        ferromq_protocol::json::to_string(&FileView {
            data_version: &inner.data_version,
            topic_config_table: &inner.topics,
        })
    }
    fn replace_with(&self, other: Self) {
        let other = other.0.into_inner().unwrap_or_else(|e| e.into_inner());
        *file::write(&self.0) = other;
    }
}

/// The broker's topic table, stored in `config/topics.json`.
///
/// Reads take a shared lock. Every change bumps the [`DataVersion`] (what the name server
/// compares on re-registration) except `add_missing`, which, like Apache's startup defaults,
/// leaves it alone. Call [`ConfigTable::persist`] (from a blocking context) after changing it,
/// as Apache persists this file on every change.
pub type TopicConfigTable = ConfigTable<Topics>;

impl ConfigTable<Topics> {
    /// The config of `topic`.
    pub fn get(&self, topic: &str) -> Option<TopicConfig> {
        file::read(&self.contents().0).topics.get(topic).cloned()
    }

    /// Whether `topic` exists.
    pub fn contains(&self, topic: &str) -> bool {
        file::read(&self.contents().0).topics.contains_key(topic)
    }

    /// Runs `f` on the config of `topic` under the shared lock, without cloning it.
    pub fn with_topic<R>(&self, topic: &str, f: impl FnOnce(&TopicConfig) -> R) -> Option<R> {
        file::read(&self.contents().0).topics.get(topic).map(f)
    }

    /// Adds or replaces the config named by `config.topic_name` and bumps the data version;
    /// returns the previous config.
    pub fn put(&self, config: TopicConfig) -> Option<TopicConfig> {
        let old = {
            let mut inner = file::write(&self.contents().0);
            let old = inner.topics.insert(config.topic_name.clone(), config);
            inner.data_version.next_version();
            old
        };
        self.changed();
        old
    }

    /// Adds `config` unless its topic exists (Apache `createTopicIfAbsent`). Returns the
    /// topic's config afterwards and whether it was created; only a creation bumps the data
    /// version.
    pub fn put_if_absent(&self, config: TopicConfig) -> (TopicConfig, bool) {
        {
            let inner = file::read(&self.contents().0);
            if let Some(existing) = inner.topics.get(&config.topic_name) {
                return (existing.clone(), false);
            }
        }
        let result = {
            let mut inner = file::write(&self.contents().0);
            if let Some(existing) = inner.topics.get(&config.topic_name) {
                return (existing.clone(), false);
            }
            inner
                .topics
                .insert(config.topic_name.clone(), config.clone());
            inner.data_version.next_version();
            (config, true)
        };
        self.changed();
        result
    }

    /// Removes `topic` and bumps the data version; returns its config if it existed.
    pub fn delete(&self, topic: &str) -> Option<TopicConfig> {
        let old = {
            let mut inner = file::write(&self.contents().0);
            let old = inner.topics.remove(topic);
            if old.is_some() {
                inner.data_version.next_version();
            }
            old
        };
        if old.is_some() {
            self.changed();
        }
        old
    }

    /// Adds each config whose topic does not exist yet, leaving the data version alone (how
    /// Apache's startup defaults such as [`system_topics`] combine with a loaded file: the
    /// file wins). Returns how many were added.
    pub fn add_missing(&self, configs: impl IntoIterator<Item = TopicConfig>) -> usize {
        let added = {
            let mut inner = file::write(&self.contents().0);
            let mut added = 0;
            for c in configs {
                if !inner.topics.contains_key(&c.topic_name) {
                    inner.topics.insert(c.topic_name.clone(), c);
                    added += 1;
                }
            }
            added
        };
        if added > 0 {
            self.changed();
        }
        added
    }

    /// Topic names, sorted.
    pub fn names(&self) -> Vec<String> {
        file::read(&self.contents().0)
            .topics
            .keys()
            .cloned()
            .collect()
    }

    /// Every topic config, sorted by name.
    pub fn list(&self) -> Vec<TopicConfig> {
        file::read(&self.contents().0)
            .topics
            .values()
            .cloned()
            .collect()
    }

    /// Number of topics.
    pub fn len(&self) -> usize {
        file::read(&self.contents().0).topics.len()
    }

    /// Whether there are no topics.
    pub fn is_empty(&self) -> bool {
        file::read(&self.contents().0).topics.is_empty()
    }

    /// The current data version.
    pub fn data_version(&self) -> DataVersion {
        file::read(&self.contents().0).data_version.clone()
    }

    /// The table with its version as one consistent snapshot, the body of GET_ALL_TOPIC_CONFIG
    /// and the core of REGISTER_BROKER.
    pub fn serialize_wrapper(&self) -> TopicConfigSerializeWrapper {
        let inner = file::read(&self.contents().0);
        TopicConfigSerializeWrapper {
            data_version: inner.data_version.clone(),
            topic_config_table: inner.topics.clone(),
            ..TopicConfigSerializeWrapper::default()
        }
    }
}
