//! The route registry: which brokers live, which topics they serve (docs/protocol.md, "Name server
//! behaviour").
//!
//! Pure state with no I/O: the request processor calls it under one lock and the liveness scan
//! calls [`RouteRegistry::expire`]. Every broker is known by `(cluster, address)`; its connection
//! id lets the name server forget it the moment its TCP connection closes.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use ferromq_protocol::body::{
    perm, topic_sys_flag, BrokerData, ClusterInfo, DataVersion, QueueData,
    TopicConfigSerializeWrapper, TopicRouteData,
};

/// The broker id of a master.
pub const MASTER_ID: i64 = 0;

/// Default time after which a silent broker is dropped (Apache: 120 s).
pub const DEFAULT_BROKER_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct BrokerKey {
    cluster: String,
    addr: String,
}

#[derive(Clone, Debug)]
struct LiveBroker {
    last_update: Instant,
    timeout: Duration,
    data_version: DataVersion,
    conn_id: Option<u64>,
    ha_server_addr: String,
}

/// One REGISTER_BROKER request, decoded.
#[derive(Clone, Debug)]
pub struct Registration {
    /// Cluster of the broker.
    pub cluster: String,
    /// Address clients use (`ip:port`).
    pub broker_addr: String,
    /// Broker name (shared by a master and its slaves).
    pub broker_name: String,
    /// 0 for a master.
    pub broker_id: i64,
    /// HA address slaves replicate from.
    pub ha_server_addr: String,
    /// `__ZONE_NAME` ext field, if sent.
    pub zone_name: Option<String>,
    /// Expiry override from the header.
    pub timeout: Option<Duration>,
    /// 5.x acting-master flag (absent for old brokers).
    pub enable_acting_master: Option<bool>,
    /// The broker's topics and their data version.
    pub topics: TopicConfigSerializeWrapper,
    /// Filter servers (obsolete; kept and dropped as Apache does).
    pub filter_servers: Vec<String>,
    /// The connection the registration came on.
    pub conn_id: Option<u64>,
}

/// What the name server answers a registration with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegistrationResult {
    /// For slaves: the master's HA address.
    pub ha_server_addr: Option<String>,
    /// For slaves: the master's address.
    pub master_addr: Option<String>,
}

/// Why a registration was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RegisterError {
    /// Apache's guard: a first registration carrying exactly one topic is refused (a broker
    /// registering a single new topic before its full registration).
    #[error("register broker failed: broker {broker_name}[{broker_id}] has not registered yet")]
    NotRegisteredYet {
        /// Broker name.
        broker_name: String,
        /// Broker id.
        broker_id: i64,
    },
}

/// The registry. Not synchronised: the owner wraps it in a lock.
#[derive(Debug, Default)]
pub struct RouteRegistry {
    /// topic -> broker name -> queue data.
    topic_queues: HashMap<String, BTreeMap<String, QueueData>>,
    /// broker name -> addresses by id.
    brokers: BTreeMap<String, BrokerData>,
    /// cluster -> broker names.
    clusters: BTreeMap<String, BTreeSet<String>>,
    live: HashMap<BrokerKey, LiveBroker>,
    filter_servers: HashMap<BrokerKey, Vec<String>>,
    delete_topic_with_broker_registration: bool,
}

impl RouteRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        RouteRegistry::default()
    }

    /// Sets `deleteTopicWithBrokerRegistration`: a master's registration then replaces its topic
    /// set instead of adding to it.
    pub fn set_delete_topic_with_broker_registration(&mut self, on: bool) {
        self.delete_topic_with_broker_registration = on;
    }

    /// Registers (or refreshes) a broker and its topics.
    pub fn register(
        &mut self,
        reg: Registration,
        now: Instant,
    ) -> Result<RegistrationResult, RegisterError> {
        let key = BrokerKey {
            cluster: reg.cluster.clone(),
            addr: reg.broker_addr.clone(),
        };
        self.clusters
            .entry(reg.cluster.clone())
            .or_default()
            .insert(reg.broker_name.clone());
        let mut register_first = false;
        let broker = self
            .brokers
            .entry(reg.broker_name.clone())
            .or_insert_with(|| {
                register_first = true;
                BrokerData::new(reg.cluster.clone(), reg.broker_name.clone())
            });
        if let Some(acting) = reg.enable_acting_master {
            broker.enable_acting_master = acting;
        }
        if reg.zone_name.is_some() {
            broker.zone_name = reg.zone_name.clone();
        }
        let old_version_broker = reg.enable_acting_master.is_none();
        // Same address under another id: a slave became master (or the reverse).
        broker
            .broker_addrs
            .retain(|id, addr| !(addr == &reg.broker_addr && *id != reg.broker_id));
        if !broker.broker_addrs.contains_key(&reg.broker_id)
            && reg.topics.topic_config_table.len() == 1
        {
            return Err(RegisterError::NotRegisteredYet {
                broker_name: reg.broker_name,
                broker_id: reg.broker_id,
            });
        }
        let previous = broker
            .broker_addrs
            .insert(reg.broker_id, reg.broker_addr.clone());
        register_first |= previous.is_none();
        let is_master = reg.broker_id == MASTER_ID;
        let is_prime_slave = !old_version_broker
            && !is_master
            && broker.broker_addrs.keys().next() == Some(&reg.broker_id);
        let acting_master = broker.enable_acting_master;

        if is_master || is_prime_slave {
            let version_changed = self
                .live
                .get(&key)
                .is_none_or(|l| l.data_version != reg.topics.data_version);
            if self.delete_topic_with_broker_registration && is_master {
                let keep: BTreeSet<&String> = reg.topics.topic_config_table.keys().collect();
                let name = &reg.broker_name;
                self.topic_queues.retain(|topic, queues| {
                    if !keep.contains(topic) {
                        queues.remove(name);
                    }
                    !queues.is_empty()
                });
            }
            for config in reg.topics.topic_config_table.values() {
                let present = self
                    .topic_queues
                    .get(&config.topic_name)
                    .is_some_and(|q| q.contains_key(&reg.broker_name));
                if register_first || version_changed || !present {
                    let mut perm = config.perm;
                    if is_prime_slave && acting_master {
                        perm &= !perm::WRITE;
                    }
                    let queue = QueueData {
                        broker_name: reg.broker_name.clone(),
                        perm,
                        read_queue_nums: config.read_queue_nums,
                        topic_sys_flag: config.topic_sys_flag,
                        write_queue_nums: config.write_queue_nums,
                    };
                    self.topic_queues
                        .entry(config.topic_name.clone())
                        .or_default()
                        .insert(reg.broker_name.clone(), queue);
                }
            }
        }

        self.live.insert(
            key.clone(),
            LiveBroker {
                last_update: now,
                timeout: reg.timeout.unwrap_or(DEFAULT_BROKER_TIMEOUT),
                data_version: reg.topics.data_version.clone(),
                conn_id: reg.conn_id,
                ha_server_addr: reg.ha_server_addr.clone(),
            },
        );
        if reg.filter_servers.is_empty() {
            self.filter_servers.remove(&key);
        } else {
            self.filter_servers.insert(key, reg.filter_servers);
        }

        let mut result = RegistrationResult::default();
        if !is_master {
            let master = self
                .brokers
                .get(&reg.broker_name)
                .and_then(|b| b.broker_addrs.get(&MASTER_ID))
                .cloned();
            if let Some(master_addr) = master {
                let master_key = BrokerKey {
                    cluster: reg.cluster,
                    addr: master_addr.clone(),
                };
                if let Some(live) = self.live.get(&master_key) {
                    result.ha_server_addr = Some(live.ha_server_addr.clone());
                    result.master_addr = Some(master_addr);
                }
            }
        }
        Ok(result)
    }

    /// Removes one broker address (UNREGISTER_BROKER, expiry or connection close). A broker name
    /// left without addresses disappears from its cluster and from every topic's route.
    pub fn unregister(
        &mut self,
        cluster: &str,
        broker_addr: &str,
        broker_name: &str,
        broker_id: i64,
    ) {
        let key = BrokerKey {
            cluster: cluster.to_owned(),
            addr: broker_addr.to_owned(),
        };
        self.live.remove(&key);
        self.filter_servers.remove(&key);
        let mut name_gone = false;
        if let Some(broker) = self.brokers.get_mut(broker_name) {
            if broker
                .broker_addrs
                .get(&broker_id)
                .is_some_and(|a| a == broker_addr)
            {
                broker.broker_addrs.remove(&broker_id);
            }
            if broker.broker_addrs.is_empty() {
                self.brokers.remove(broker_name);
                name_gone = true;
            }
        }
        if name_gone {
            if let Some(names) = self.clusters.get_mut(cluster) {
                names.remove(broker_name);
                if names.is_empty() {
                    self.clusters.remove(cluster);
                }
            }
            self.topic_queues.retain(|_, queues| {
                queues.remove(broker_name);
                !queues.is_empty()
            });
        }
    }

    fn unregister_key(&mut self, key: &BrokerKey) {
        let found = self.brokers.iter().find_map(|(name, b)| {
            b.broker_addrs
                .iter()
                .find(|(_, addr)| **addr == key.addr)
                .map(|(id, _)| (name.clone(), *id))
        });
        match found {
            Some((name, id)) => self.unregister(&key.cluster, &key.addr, &name, id),
            None => {
                self.live.remove(key);
                self.filter_servers.remove(key);
            }
        }
    }

    /// The registered addresses of `broker_name` by broker id (empty when unknown).
    pub fn broker_addrs(&self, broker_name: &str) -> BTreeMap<i64, String> {
        self.brokers
            .get(broker_name)
            .map(|b| b.broker_addrs.clone())
            .unwrap_or_default()
    }

    /// Forgets every broker registered over connection `conn_id` (it closed).
    pub fn connection_closed(&mut self, conn_id: u64) -> Vec<String> {
        let keys: Vec<BrokerKey> = self
            .live
            .iter()
            .filter(|(_, l)| l.conn_id == Some(conn_id))
            .map(|(k, _)| k.clone())
            .collect();
        for key in &keys {
            self.unregister_key(key);
        }
        keys.into_iter().map(|k| k.addr).collect()
    }

    /// Drops brokers silent for longer than their timeout; returns their addresses and
    /// connection ids (the caller closes those connections, as Apache does).
    pub fn expire(&mut self, now: Instant) -> Vec<(String, Option<u64>)> {
        let expired: Vec<(BrokerKey, Option<u64>)> = self
            .live
            .iter()
            .filter(|(_, l)| now.saturating_duration_since(l.last_update) > l.timeout)
            .map(|(k, l)| (k.clone(), l.conn_id))
            .collect();
        for (key, _) in &expired {
            self.unregister_key(key);
        }
        expired.into_iter().map(|(k, c)| (k.addr, c)).collect()
    }

    /// Refreshes a broker's liveness (BROKER_HEARTBEAT, QUERY_DATA_VERSION).
    pub fn touch(&mut self, cluster: &str, broker_addr: &str, now: Instant) {
        let key = BrokerKey {
            cluster: cluster.to_owned(),
            addr: broker_addr.to_owned(),
        };
        if let Some(l) = self.live.get_mut(&key) {
            l.last_update = now;
        }
    }

    /// The data version last registered by a broker, if it is live.
    pub fn data_version(&self, cluster: &str, broker_addr: &str) -> Option<&DataVersion> {
        self.live
            .get(&BrokerKey {
                cluster: cluster.to_owned(),
                addr: broker_addr.to_owned(),
            })
            .map(|l| &l.data_version)
    }

    /// The route of `topic`, or `None` when no live broker serves it.
    pub fn route(&self, topic: &str) -> Option<TopicRouteData> {
        let queues = self.topic_queues.get(topic)?;
        let broker_datas: Vec<BrokerData> = queues
            .keys()
            .filter_map(|name| self.brokers.get(name).cloned())
            .collect();
        if queues.is_empty() || broker_datas.is_empty() {
            return None;
        }
        let mut filter_server_table = BTreeMap::new();
        for b in &broker_datas {
            for addr in b.broker_addrs.values() {
                let key = BrokerKey {
                    cluster: b.cluster.clone(),
                    addr: addr.clone(),
                };
                if let Some(list) = self.filter_servers.get(&key) {
                    filter_server_table.insert(addr.clone(), list.clone());
                }
            }
        }
        Some(TopicRouteData {
            broker_datas,
            filter_server_table,
            order_topic_conf: None,
            queue_datas: queues.values().cloned().collect(),
            topic_queue_mapping_by_broker: None,
        })
    }

    /// All brokers by name and all clusters.
    pub fn cluster_info(&self) -> ClusterInfo {
        ClusterInfo {
            broker_addr_table: self.brokers.clone(),
            cluster_addr_table: self.clusters.clone(),
        }
    }

    /// Every topic with a route.
    pub fn topics(&self) -> BTreeSet<String> {
        self.topic_queues.keys().cloned().collect()
    }

    /// Topics served by some broker of `cluster`.
    pub fn topics_of_cluster(&self, cluster: &str) -> BTreeSet<String> {
        let Some(names) = self.clusters.get(cluster) else {
            return BTreeSet::new();
        };
        self.topic_queues
            .iter()
            .filter(|(_, q)| q.keys().any(|n| names.contains(n)))
            .map(|(t, _)| t.clone())
            .collect()
    }

    /// The system topics: every cluster name and broker name, plus one broker address to reach.
    pub fn system_topics(&self) -> (BTreeSet<String>, Option<String>) {
        let mut topics = BTreeSet::new();
        let mut addr = None;
        for (cluster, names) in &self.clusters {
            topics.insert(cluster.clone());
            for name in names {
                topics.insert(name.clone());
                if addr.is_none() {
                    addr = self
                        .brokers
                        .get(name)
                        .and_then(|b| b.broker_addrs.values().next().cloned());
                }
            }
        }
        (topics, addr)
    }

    /// Topics whose queue data matches a unit-flag predicate (the three unit topic lists).
    pub fn topics_by_sys_flag(&self, kind: UnitTopicKind) -> BTreeSet<String> {
        self.topic_queues
            .iter()
            .filter(|(_, q)| {
                q.values().next().is_some_and(|qd| {
                    let f = qd.topic_sys_flag;
                    match kind {
                        UnitTopicKind::Unit => f & topic_sys_flag::FLAG_UNIT != 0,
                        UnitTopicKind::HasUnitSub => f & topic_sys_flag::FLAG_UNIT_SUB != 0,
                        UnitTopicKind::HasUnitSubNotUnit => {
                            f & topic_sys_flag::FLAG_UNIT == 0
                                && f & topic_sys_flag::FLAG_UNIT_SUB != 0
                        }
                    }
                })
            })
            .map(|(t, _)| t.clone())
            .collect()
    }

    /// Deletes a topic's route, or only its queues on `cluster`'s brokers.
    pub fn delete_topic(&mut self, topic: &str, cluster: Option<&str>) {
        match cluster.and_then(|c| self.clusters.get(c)) {
            Some(names) => {
                if let Some(queues) = self.topic_queues.get_mut(topic) {
                    queues.retain(|name, _| !names.contains(name));
                    if queues.is_empty() {
                        self.topic_queues.remove(topic);
                    }
                }
            }
            None if cluster.is_some() => {}
            None => {
                self.topic_queues.remove(topic);
            }
        }
    }

    /// Adds queue data from a REGISTER_TOPIC_IN_NAMESRV body, for brokers that are registered.
    pub fn register_topic(&mut self, topic: &str, queue_datas: &[QueueData]) {
        for qd in queue_datas {
            if self.brokers.contains_key(&qd.broker_name) {
                self.topic_queues
                    .entry(topic.to_owned())
                    .or_default()
                    .insert(qd.broker_name.clone(), qd.clone());
            }
        }
    }

    /// Removes write permission from every topic of `broker_name`; returns how many changed.
    pub fn wipe_write_perm(&mut self, broker_name: &str) -> i32 {
        self.update_perm(broker_name, |p| p & !perm::WRITE)
    }

    /// Restores read and write permission on every topic of `broker_name`.
    pub fn add_write_perm(&mut self, broker_name: &str) -> i32 {
        self.update_perm(broker_name, |_| perm::READ_WRITE)
    }

    fn update_perm(&mut self, broker_name: &str, f: impl Fn(i32) -> i32) -> i32 {
        let mut count = 0;
        for queues in self.topic_queues.values_mut() {
            if let Some(qd) = queues.get_mut(broker_name) {
                qd.perm = f(qd.perm);
                count += 1;
            }
        }
        count
    }
}

/// The three unit topic lists (GET_UNIT_TOPIC_LIST and friends).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnitTopicKind {
    /// `FLAG_UNIT` set.
    Unit,
    /// `FLAG_UNIT_SUB` set.
    HasUnitSub,
    /// `FLAG_UNIT_SUB` set, `FLAG_UNIT` not.
    HasUnitSubNotUnit,
}
