//! The replicated state: every broker set the controller knows, changed only by [`Event`]s.
//!
//! This is the state machine behind the Raft log. It holds what Apache's `ReplicasInfoManager`
//! keeps in its two tables (`BrokerReplicaInfo` and `SyncStateInfo`), merged into one
//! [`BrokerSet`] per broker name. Applying an event is deterministic and never fails, so every
//! controller that applies the same log reaches the same state. Deciding whether a request is
//! allowed, and which events it produces, is [`crate::manager`]'s job.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// The id the controller hands to the first broker of a set (Java `FIRST_BROKER_CONTROLLER_ID`).
pub const FIRST_BROKER_CONTROLLER_ID: i64 = 1;

/// One replica of a broker set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replica {
    /// The address the broker registered with (`ip:port`).
    pub address: String,
    /// `address;timestamp` sent when the broker applied for its id: a restarted broker sends
    /// the same code back, a different broker claiming the id does not.
    pub register_check_code: String,
}

/// One broker set (all replicas under one broker name) and its election state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerSet {
    /// The cluster the set belongs to.
    pub cluster_name: String,
    /// The broker name.
    pub broker_name: String,
    /// The id [`crate::manager`] offers next (starts at 1, bumped at every new replica).
    pub next_broker_id: i64,
    /// Replicas by broker id.
    pub replicas: BTreeMap<i64, Replica>,
    /// The current master, if any.
    pub master_broker_id: Option<i64>,
    /// Bumped at every election, including one that found no master; 0 = never elected.
    pub master_epoch: i32,
    /// Replicas in sync with the master (the master included).
    pub sync_state_set: BTreeSet<i64>,
    /// Bumped at every change of the sync state set.
    pub sync_state_set_epoch: i32,
}

impl BrokerSet {
    fn new(cluster_name: &str, broker_name: &str) -> BrokerSet {
        BrokerSet {
            cluster_name: cluster_name.to_owned(),
            broker_name: broker_name.to_owned(),
            next_broker_id: FIRST_BROKER_CONTROLLER_ID,
            replicas: BTreeMap::new(),
            master_broker_id: None,
            master_epoch: 0,
            sync_state_set: BTreeSet::new(),
            sync_state_set_epoch: 0,
        }
    }

    /// The address of `broker_id`, if it is a replica.
    pub fn address_of(&self, broker_id: Option<i64>) -> Option<&str> {
        broker_id
            .and_then(|id| self.replicas.get(&id))
            .map(|r| r.address.as_str())
    }

    /// The master's address, if there is a master.
    pub fn master_address(&self) -> Option<&str> {
        self.address_of(self.master_broker_id)
    }

    /// No master was ever elected for this set.
    pub fn is_first_election(&self) -> bool {
        self.master_epoch == 0
    }

    fn add_replica(&mut self, id: i64, address: &str, check_code: &str) {
        self.replicas.insert(
            id,
            Replica {
                address: address.to_owned(),
                register_check_code: check_code.to_owned(),
            },
        );
        self.next_broker_id += 1;
    }

    fn set_sync_state_set(&mut self, set: BTreeSet<i64>) {
        self.sync_state_set = set;
        self.sync_state_set_epoch += 1;
    }
}

/// A change to the replicated state: the payload of a Raft log entry.
///
/// The names follow Apache's `EventType`s; the JSON form is FerroMQ's own (the log is not shared
/// with Apache controllers).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Event {
    /// A broker took an id (`APPLY_BROKER_ID_EVENT`); creates the set on its first broker.
    ApplyBrokerId {
        /// Cluster name.
        cluster_name: String,
        /// Broker name.
        broker_name: String,
        /// The broker's address.
        broker_address: String,
        /// The id taken.
        broker_id: i64,
        /// The broker's register check code.
        register_check_code: String,
    },
    /// A replica registered from a new address (`UPDATE_BROKER_ADDRESS`).
    UpdateBrokerAddress {
        /// Broker name.
        broker_name: String,
        /// The replica.
        broker_id: i64,
        /// Its new address.
        broker_address: String,
    },
    /// An election ended (`ELECT_MASTER_EVENT`): `new_master` is the elected replica (the sync
    /// state set becomes just it), `None` means the master is gone and no replica could take
    /// over (the sync state set is kept).
    ElectMaster {
        /// Broker name.
        broker_name: String,
        /// The new master.
        new_master: Option<i64>,
    },
    /// The master changed its sync state set (`ALTER_SYNC_STATE_SET_EVENT`).
    AlterSyncStateSet {
        /// Broker name.
        broker_name: String,
        /// The new set.
        sync_state_set: BTreeSet<i64>,
    },
    /// An operator removed replicas or the whole set (`CLEAN_BROKER_DATA_EVENT`).
    CleanBrokerData {
        /// Broker name.
        broker_name: String,
        /// The replicas to remove; `None` or empty = the whole set.
        broker_ids: Option<BTreeSet<i64>>,
    },
}

/// Every broker set, by broker name (Apache keys its tables by broker name alone).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicasState {
    /// Broker sets by broker name.
    pub sets: BTreeMap<String, BrokerSet>,
}

impl ReplicasState {
    /// The set named `broker_name`.
    pub fn get(&self, broker_name: &str) -> Option<&BrokerSet> {
        self.sets.get(broker_name)
    }

    /// Applies one event. Events about unknown sets or replicas change nothing (they can only
    /// come from a log written against an older state, which the checks in
    /// [`crate::manager`] prevent on the leader).
    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::ApplyBrokerId {
                cluster_name,
                broker_name,
                broker_address,
                broker_id,
                register_check_code,
            } => {
                let set = self
                    .sets
                    .entry(broker_name.clone())
                    .or_insert_with(|| BrokerSet::new(cluster_name, broker_name));
                if !set.replicas.contains_key(broker_id) {
                    set.add_replica(*broker_id, broker_address, register_check_code);
                }
            }
            Event::UpdateBrokerAddress {
                broker_name,
                broker_id,
                broker_address,
            } => {
                if let Some(replica) = self
                    .sets
                    .get_mut(broker_name)
                    .and_then(|s| s.replicas.get_mut(broker_id))
                {
                    replica.address.clone_from(broker_address);
                }
            }
            Event::ElectMaster {
                broker_name,
                new_master,
            } => {
                let Some(set) = self.sets.get_mut(broker_name) else {
                    tracing::error!(broker_name, "election event for an unknown broker set");
                    return;
                };
                set.master_broker_id = *new_master;
                set.master_epoch += 1;
                if let Some(master) = new_master {
                    set.set_sync_state_set([*master].into_iter().collect());
                }
            }
            Event::AlterSyncStateSet {
                broker_name,
                sync_state_set,
            } => {
                if let Some(set) = self.sets.get_mut(broker_name) {
                    set.set_sync_state_set(sync_state_set.clone());
                }
            }
            Event::CleanBrokerData {
                broker_name,
                broker_ids,
            } => match broker_ids {
                Some(ids) if !ids.is_empty() => {
                    let Some(set) = self.sets.get_mut(broker_name) else {
                        return;
                    };
                    for id in ids {
                        set.replicas.remove(id);
                        set.sync_state_set.remove(id);
                    }
                    // Apache drops each of its two tables when it empties, and a set missing
                    // from either is unknown: one record per set, dropped when either empties.
                    if set.replicas.is_empty() || set.sync_state_set.is_empty() {
                        self.sets.remove(broker_name);
                    }
                }
                _ => {
                    self.sets.remove(broker_name);
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply_id(state: &mut ReplicasState, id: i64, addr: &str) {
        state.apply(&Event::ApplyBrokerId {
            cluster_name: "c".into(),
            broker_name: "b".into(),
            broker_address: addr.into(),
            broker_id: id,
            register_check_code: format!("{addr};1"),
        });
    }

    #[test]
    fn apply_id_creates_the_set_and_counts_ids() {
        let mut s = ReplicasState::default();
        apply_id(&mut s, 1, "a:1");
        apply_id(&mut s, 2, "a:2");
        apply_id(&mut s, 2, "a:9"); // already taken: no change
        let set = s.get("b").expect("set");
        assert_eq!(set.next_broker_id, 3);
        assert_eq!(set.address_of(Some(2)), Some("a:2"));
        assert!(set.is_first_election());
    }

    #[test]
    fn election_bumps_both_epochs_and_resets_the_set() {
        let mut s = ReplicasState::default();
        apply_id(&mut s, 1, "a:1");
        apply_id(&mut s, 2, "a:2");
        s.apply(&Event::ElectMaster {
            broker_name: "b".into(),
            new_master: Some(1),
        });
        s.apply(&Event::AlterSyncStateSet {
            broker_name: "b".into(),
            sync_state_set: [1, 2].into_iter().collect(),
        });
        let set = s.get("b").expect("set");
        assert_eq!((set.master_epoch, set.sync_state_set_epoch), (1, 2));
        s.apply(&Event::ElectMaster {
            broker_name: "b".into(),
            new_master: None,
        });
        let set = s.get("b").expect("set");
        assert_eq!(set.master_broker_id, None);
        assert_eq!(set.master_epoch, 2);
        assert_eq!(set.sync_state_set.len(), 2, "kept when nobody was elected");
        assert_eq!(set.sync_state_set_epoch, 2);
    }

    #[test]
    fn clean_removes_replicas_then_the_set() {
        let mut s = ReplicasState::default();
        apply_id(&mut s, 1, "a:1");
        apply_id(&mut s, 2, "a:2");
        s.apply(&Event::ElectMaster {
            broker_name: "b".into(),
            new_master: Some(1),
        });
        s.apply(&Event::AlterSyncStateSet {
            broker_name: "b".into(),
            sync_state_set: [1, 2].into_iter().collect(),
        });
        s.apply(&Event::CleanBrokerData {
            broker_name: "b".into(),
            broker_ids: Some([2].into_iter().collect()),
        });
        assert_eq!(s.get("b").expect("set").replicas.len(), 1);
        s.apply(&Event::CleanBrokerData {
            broker_name: "b".into(),
            broker_ids: None,
        });
        assert!(s.get("b").is_none());
    }

    #[test]
    fn events_round_trip_as_json() {
        let e = Event::AlterSyncStateSet {
            broker_name: "b".into(),
            sync_state_set: [1, 2].into_iter().collect(),
        };
        let text = serde_json::to_string(&e).expect("json");
        assert!(text.contains("\"type\":\"ALTER_SYNC_STATE_SET\""), "{text}");
        assert_eq!(serde_json::from_str::<Event>(&text).expect("parse"), e);
    }
}
