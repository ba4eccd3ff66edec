//! Broker liveness, kept in memory on each controller (Apache's `DefaultBrokerHeartbeatManager`).
//!
//! Brokers in controller mode send BROKER_HEARTBEAT with their epoch and commitlog end. The table
//! is not replicated: a controller that becomes leader learns liveness from the next heartbeats,
//! which is why the leader waits a heartbeat timeout before it elects on its own
//! ([`crate::node`]). Times are passed in, so the rules are tested without sleeping.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long a broker that gave no timeout of its own stays alive without a heartbeat (Java
/// `DEFAULT_BROKER_CHANNEL_EXPIRED_TIME`, 10 s).
pub const DEFAULT_HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(10);

/// A replica's identity: cluster name, broker name, broker id.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BrokerKey {
    /// Cluster name.
    pub cluster_name: String,
    /// Broker name.
    pub broker_name: String,
    /// Broker id.
    pub broker_id: i64,
}

/// What a replica last reported (Java `BrokerLiveInfo`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveInfo {
    /// The address it heartbeats from.
    pub broker_addr: String,
    /// When the last heartbeat came.
    pub last_update: Instant,
    /// How long it counts as alive after that.
    pub timeout: Duration,
    /// The highest master epoch in its commitlog (-1 unknown).
    pub epoch: i32,
    /// Its commitlog end (-1 unknown).
    pub max_offset: i64,
    /// Its confirm offset (-1 unknown).
    pub confirm_offset: i64,
    /// Lower wins among replicas with equal epoch and offset (`i32::MAX` = none).
    pub election_priority: i32,
    /// The connection the heartbeats arrive on, so its close marks the broker gone.
    pub connection_id: Option<u64>,
}

/// One heartbeat, as the BROKER_HEARTBEAT header carries it (Java defaults for missing fields).
#[derive(Clone, Debug, Default)]
pub struct Heartbeat {
    /// Broker address.
    pub broker_addr: String,
    /// Heartbeat timeout in ms.
    pub timeout_millis: Option<i64>,
    /// Epoch.
    pub epoch: Option<i32>,
    /// Commitlog end.
    pub max_offset: Option<i64>,
    /// Confirm offset.
    pub confirm_offset: Option<i64>,
    /// Election priority.
    pub election_priority: Option<i32>,
}

/// The most departed replicas remembered (a broker that heartbeats again is forgotten at once;
/// past this, the oldest are dropped, which only delays a scan election by a heartbeat timeout).
const MAX_DEPARTED: usize = 4096;

/// The liveness table.
#[derive(Debug, Default)]
pub struct BrokerLiveTable {
    table: HashMap<BrokerKey, LiveInfo>,
    /// Replicas this controller saw go (heartbeats expired or connection closed) and not come
    /// back, with when: a new leader knows those are dead without waiting to hear from them.
    departed: HashMap<BrokerKey, Instant>,
}

impl BrokerLiveTable {
    /// Records a heartbeat at `now`. Epoch and offsets only move forward (a late heartbeat from
    /// before a restart does not roll them back).
    pub fn on_heartbeat(
        &mut self,
        key: BrokerKey,
        hb: &Heartbeat,
        connection_id: Option<u64>,
        now: Instant,
    ) {
        let timeout = hb
            .timeout_millis
            .and_then(|ms| u64::try_from(ms).ok())
            .map_or(DEFAULT_HEARTBEAT_TIMEOUT, Duration::from_millis);
        let epoch = hb.epoch.unwrap_or(-1);
        let max_offset = hb.max_offset.unwrap_or(-1);
        let confirm_offset = hb.confirm_offset.unwrap_or(-1);
        let priority = hb.election_priority.unwrap_or(i32::MAX);
        self.departed.remove(&key);
        match self.table.get_mut(&key) {
            None => {
                tracing::info!(?key, addr = %hb.broker_addr, "new broker heartbeat");
                self.table.insert(
                    key,
                    LiveInfo {
                        broker_addr: hb.broker_addr.clone(),
                        last_update: now,
                        timeout,
                        epoch,
                        max_offset,
                        confirm_offset,
                        election_priority: priority,
                        connection_id,
                    },
                );
            }
            Some(info) => {
                info.last_update = now;
                info.timeout = timeout;
                info.election_priority = priority;
                info.broker_addr.clone_from(&hb.broker_addr);
                if connection_id.is_some() {
                    info.connection_id = connection_id;
                }
                if epoch > info.epoch || (epoch == info.epoch && max_offset > info.max_offset) {
                    info.epoch = epoch;
                    info.max_offset = max_offset;
                    info.confirm_offset = confirm_offset;
                }
            }
        }
    }

    /// Whether `key` heartbeated within its timeout.
    pub fn is_active(&self, key: &BrokerKey, now: Instant) -> bool {
        self.table
            .get(key)
            .is_some_and(|i| now.saturating_duration_since(i.last_update) <= i.timeout)
    }

    /// The replicas this controller saw go (expired or disconnected) and has not heard from
    /// since.
    pub fn departed_keys(&self) -> std::collections::HashSet<BrokerKey> {
        self.departed.keys().cloned().collect()
    }

    fn note_departed(&mut self, gone: &[BrokerKey], now: Instant) {
        for key in gone {
            self.departed.insert(key.clone(), now);
        }
        while self.departed.len() > MAX_DEPARTED {
            let oldest = self
                .departed
                .iter()
                .min_by_key(|(_, t)| **t)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => self.departed.remove(&k),
                None => break,
            };
        }
    }

    /// The longest heartbeat timeout among the replicas in the table (none when it is empty).
    pub fn longest_timeout(&self) -> Option<Duration> {
        self.table.values().map(|i| i.timeout).max()
    }

    /// What `key` last reported.
    pub fn get(&self, key: &BrokerKey) -> Option<&LiveInfo> {
        self.table.get(key)
    }

    /// Removes and returns the replicas whose timeout passed.
    pub fn expire(&mut self, now: Instant) -> Vec<BrokerKey> {
        let gone: Vec<BrokerKey> = self
            .table
            .iter()
            .filter(|(_, i)| now.saturating_duration_since(i.last_update) > i.timeout)
            .map(|(k, _)| k.clone())
            .collect();
        for key in &gone {
            self.table.remove(key);
            tracing::warn!(?key, "broker heartbeat expired");
        }
        self.note_departed(&gone, now);
        gone
    }

    /// Removes and returns the replicas that heartbeated on connection `id` (it closed).
    pub fn on_connection_closed(&mut self, id: u64) -> Vec<BrokerKey> {
        let gone: Vec<BrokerKey> = self
            .table
            .iter()
            .filter(|(_, i)| i.connection_id == Some(id))
            .map(|(k, _)| k.clone())
            .collect();
        for key in &gone {
            self.table.remove(key);
            tracing::info!(?key, "broker connection closed");
        }
        self.note_departed(&gone, Instant::now());
        gone
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: i64) -> BrokerKey {
        BrokerKey {
            cluster_name: "c".into(),
            broker_name: "b".into(),
            broker_id: id,
        }
    }

    #[test]
    fn alive_within_timeout_then_expired() {
        let t0 = Instant::now();
        let mut t = BrokerLiveTable::default();
        let hb = Heartbeat {
            broker_addr: "a:1".into(),
            timeout_millis: Some(1000),
            ..Heartbeat::default()
        };
        t.on_heartbeat(key(1), &hb, Some(7), t0);
        assert!(t.is_active(&key(1), t0 + Duration::from_millis(1000)));
        assert!(!t.is_active(&key(1), t0 + Duration::from_millis(1001)));
        assert!(!t.is_active(&key(2), t0));
        assert!(t.expire(t0 + Duration::from_millis(500)).is_empty());
        assert_eq!(t.expire(t0 + Duration::from_millis(1500)), vec![key(1)]);
        assert!(t.get(&key(1)).is_none());
    }

    #[test]
    fn longest_timeout_is_what_a_new_leader_waits_for() {
        let t0 = Instant::now();
        let mut t = BrokerLiveTable::default();
        assert_eq!(t.longest_timeout(), None);
        for (id, ms) in [(1, 1000), (2, 3000), (3, 2000)] {
            let hb = Heartbeat {
                broker_addr: format!("a:{id}"),
                timeout_millis: Some(ms),
                ..Heartbeat::default()
            };
            t.on_heartbeat(key(id), &hb, None, t0);
        }
        assert_eq!(t.longest_timeout(), Some(Duration::from_millis(3000)));
    }

    #[test]
    fn departed_replicas_are_remembered_until_they_heartbeat_again() {
        let t0 = Instant::now();
        let mut t = BrokerLiveTable::default();
        let hb = Heartbeat {
            broker_addr: "a:1".into(),
            timeout_millis: Some(1000),
            ..Heartbeat::default()
        };
        t.on_heartbeat(key(1), &hb, Some(7), t0);
        t.on_heartbeat(key(2), &hb, Some(8), t0);
        assert!(t.departed_keys().is_empty());
        assert_eq!(t.on_connection_closed(8), vec![key(2)]);
        t.expire(t0 + Duration::from_millis(1500));
        let gone = t.departed_keys();
        assert!(gone.contains(&key(1)) && gone.contains(&key(2)));
        t.on_heartbeat(key(1), &hb, Some(9), t0 + Duration::from_millis(2000));
        assert_eq!(
            t.departed_keys().into_iter().collect::<Vec<_>>(),
            vec![key(2)]
        );
    }

    #[test]
    fn epoch_and_offset_only_move_forward() {
        let t0 = Instant::now();
        let mut t = BrokerLiveTable::default();
        let mut hb = Heartbeat {
            broker_addr: "a:1".into(),
            epoch: Some(2),
            max_offset: Some(100),
            ..Heartbeat::default()
        };
        t.on_heartbeat(key(1), &hb, None, t0);
        hb.epoch = Some(1);
        hb.max_offset = Some(500);
        t.on_heartbeat(key(1), &hb, None, t0);
        let info = t.get(&key(1)).expect("info");
        assert_eq!((info.epoch, info.max_offset), (2, 100));
        assert_eq!(info.timeout, DEFAULT_HEARTBEAT_TIMEOUT);
        hb.epoch = Some(2);
        hb.max_offset = Some(150);
        t.on_heartbeat(key(1), &hb, None, t0);
        assert_eq!(t.get(&key(1)).expect("info").max_offset, 150);
    }

    #[test]
    fn closing_the_connection_removes_its_brokers() {
        let t0 = Instant::now();
        let mut t = BrokerLiveTable::default();
        let hb = Heartbeat::default();
        t.on_heartbeat(key(1), &hb, Some(1), t0);
        t.on_heartbeat(key(2), &hb, Some(2), t0);
        assert_eq!(t.on_connection_closed(1), vec![key(1)]);
        assert!(t.is_active(&key(2), t0));
    }
}
