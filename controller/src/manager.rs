//! What each controller request decides (Apache's `ReplicasInfoManager`): given the replicated
//! state and the leader's view of liveness, the answer and the [`Event`]s to append to the Raft
//! log. Nothing here changes state: the events do, once committed ([`ReplicasState::apply`]).
//!
//! Where Java would fail with a `NullPointerException` on a missing header field, FerroMQ
//! answers `CONTROLLER_INVALID_REQUEST` naming the field.

use std::collections::BTreeSet;

use ferromq_protocol::body::{
    BrokerMemberGroup, BrokerReplicasInfo, ElectMasterResponseBody, ReplicaIdentity, ReplicasInfo,
    SyncStateSet,
};
use ferromq_protocol::header::{
    AlterSyncStateSetRequestHeader, AlterSyncStateSetResponseHeader, ApplyBrokerIdRequestHeader,
    ApplyBrokerIdResponseHeader, CleanControllerBrokerDataRequestHeader, ElectMasterRequestHeader,
    ElectMasterResponseHeader, GetNextBrokerIdRequestHeader, GetNextBrokerIdResponseHeader,
    GetReplicaInfoRequestHeader, GetReplicaInfoResponseHeader,
    RegisterBrokerToControllerRequestHeader, RegisterBrokerToControllerResponseHeader,
};
use ferromq_protocol::ResponseCode;

use crate::elect::{self, Liveness};
use crate::state::{BrokerSet, Event, ReplicasState, FIRST_BROKER_CONTROLLER_ID};

/// The answer to one request and the events it produces (Java `ControllerResult`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome<H> {
    /// Response code.
    pub code: ResponseCode,
    /// Remark, on failures.
    pub remark: Option<String>,
    /// Response header.
    pub header: H,
    /// Response body.
    pub body: Option<Vec<u8>>,
    /// Events to append to the log (even on some failures: an election that found nobody
    /// still records that the master is gone).
    pub events: Vec<Event>,
}

impl<H: Default> Outcome<H> {
    fn ok(header: H) -> Self {
        Outcome {
            code: ResponseCode::SUCCESS,
            remark: None,
            header,
            body: None,
            events: Vec::new(),
        }
    }

    fn fail(code: ResponseCode, remark: impl Into<String>) -> Self {
        Outcome {
            code,
            remark: Some(remark.into()),
            header: H::default(),
            body: None,
            events: Vec::new(),
        }
    }

    fn with_body(mut self, body: Vec<u8>) -> Self {
        self.body = Some(body);
        self
    }

    fn with_event(mut self, event: Event) -> Self {
        self.events.push(event);
        self
    }
}

fn missing<H: Default>(field: &str) -> Outcome<H> {
    Outcome::fail(
        ResponseCode::CONTROLLER_INVALID_REQUEST,
        format!("missing header field `{field}`"),
    )
}

/// Longest broker name, cluster name, address or register check code the controller stores
/// (FerroMQ's limit; every stored string is in the Raft log and every snapshot).
pub const MAX_NAME_LEN: usize = 255;

/// Refuses a string the controller would store when it is empty, too long or has control
/// characters.
fn check_stored(field: &str, value: &str) -> Result<(), String> {
    if value.is_empty() || value.len() > MAX_NAME_LEN || value.chars().any(char::is_control) {
        return Err(format!(
            "`{field}` must be 1 to {MAX_NAME_LEN} bytes without control characters"
        ));
    }
    Ok(())
}

fn sync_state_body(set: &BrokerSet) -> Vec<u8> {
    SyncStateSet {
        sync_state_set: set.sync_state_set.clone(),
        sync_state_set_epoch: set.sync_state_set_epoch,
    }
    .encode()
}

/// CONTROLLER_GET_NEXT_BROKER_ID: 1 for an unknown set, else the set's next id.
pub fn next_broker_id(
    state: &ReplicasState,
    h: &GetNextBrokerIdRequestHeader,
) -> Outcome<GetNextBrokerIdResponseHeader> {
    let Some(broker_name) = h.broker_name.as_deref() else {
        return missing("brokerName");
    };
    let next = state
        .get(broker_name)
        .map_or(FIRST_BROKER_CONTROLLER_ID, |s| s.next_broker_id);
    Outcome::ok(GetNextBrokerIdResponseHeader {
        cluster_name: h.cluster_name.clone(),
        broker_name: h.broker_name.clone(),
        next_broker_id: Some(next),
    })
}

/// CONTROLLER_APPLY_BROKER_ID: a new set accepts only id 1; a known set accepts a free id, or
/// the id this broker (same register check code) already holds.
pub fn apply_broker_id(
    state: &ReplicasState,
    h: &ApplyBrokerIdRequestHeader,
) -> Outcome<ApplyBrokerIdResponseHeader> {
    let (Some(broker_name), Some(id), Some(code)) = (
        h.broker_name.as_deref(),
        h.applied_broker_id,
        h.register_check_code.as_deref(),
    ) else {
        return missing("brokerName, appliedBrokerId or registerCheckCode");
    };
    let address = code.split(';').next().unwrap_or_default();
    let checked = check_stored("brokerName", broker_name)
        .and_then(|()| check_stored("clusterName", h.cluster_name.as_deref().unwrap_or("-")))
        .and_then(|()| check_stored("registerCheckCode", code))
        .and_then(|()| check_stored("registerCheckCode address", address));
    if let Err(e) = checked {
        return Outcome::fail(ResponseCode::CONTROLLER_INVALID_REQUEST, e);
    }
    let header = ApplyBrokerIdResponseHeader {
        cluster_name: h.cluster_name.clone(),
        broker_name: h.broker_name.clone(),
    };
    let event = Event::ApplyBrokerId {
        cluster_name: h.cluster_name.clone().unwrap_or_default(),
        broker_name: broker_name.to_owned(),
        broker_address: address.to_owned(),
        broker_id: id,
        register_check_code: code.to_owned(),
    };
    let allowed = match state.get(broker_name) {
        None => id == FIRST_BROKER_CONTROLLER_ID,
        Some(set) => set
            .replicas
            .get(&id)
            .is_none_or(|r| r.register_check_code == code),
    };
    if allowed {
        return Outcome::ok(header).with_event(event);
    }
    let remark = match state.get(broker_name) {
        None => format!(
            "Broker-set: {broker_name} hasn't been registered in controller, but broker try to apply brokerId: {id}"
        ),
        Some(_) => format!("Fail to apply brokerId: {id} in broker-set: {broker_name}"),
    };
    let mut out = Outcome::fail(ResponseCode::CONTROLLER_BROKER_ID_INVALID, remark);
    out.header = header;
    out
}

/// CONTROLLER_REGISTER_BROKER: a replica that holds an id comes online; it learns the master
/// (when one is alive) and the sync state set; a changed address is recorded.
pub fn register_broker(
    state: &ReplicasState,
    h: &RegisterBrokerToControllerRequestHeader,
    live: &dyn Liveness,
) -> Outcome<RegisterBrokerToControllerResponseHeader> {
    let (Some(broker_name), Some(id), Some(address)) = (
        h.broker_name.as_deref(),
        h.broker_id,
        h.broker_address.as_deref(),
    ) else {
        return missing("brokerName, brokerId or brokerAddress");
    };
    if let Err(e) = check_stored("brokerAddress", address) {
        return Outcome::fail(ResponseCode::CONTROLLER_INVALID_REQUEST, e);
    }
    let Some(set) = state.get(broker_name) else {
        return Outcome::fail(
            ResponseCode::CONTROLLER_BROKER_NEED_TO_BE_REGISTERED,
            format!("Broker-set: {broker_name} hasn't been registered in controller"),
        );
    };
    let Some(replica) = set.replicas.get(&id) else {
        return Outcome::fail(
            ResponseCode::CONTROLLER_BROKER_NEED_TO_BE_REGISTERED,
            format!("BrokerId: {id} hasn't been registered in broker-set: {broker_name}"),
        );
    };
    let mut header = RegisterBrokerToControllerResponseHeader {
        cluster_name: h.cluster_name.clone(),
        broker_name: h.broker_name.clone(),
        ..Default::default()
    };
    if let Some(master) = set.master_broker_id {
        if live.is_alive(&set.cluster_name, broker_name, master) {
            header.master_broker_id = Some(master);
            header.master_address = set.master_address().map(str::to_owned);
            header.master_epoch = Some(set.master_epoch);
            header.sync_state_set_epoch = Some(set.sync_state_set_epoch);
        }
    }
    let mut out = Outcome::ok(header).with_body(sync_state_body(set));
    if replica.address != address {
        out = out.with_event(Event::UpdateBrokerAddress {
            broker_name: broker_name.to_owned(),
            broker_id: id,
            broker_address: address.to_owned(),
        });
    }
    out
}

/// CONTROLLER_ALTER_SYNC_STATE_SET: the current master, at the current master epoch and sync
/// state set epoch, replaces the set with live replicas that include itself.
pub fn alter_sync_state_set(
    state: &ReplicasState,
    h: &AlterSyncStateSetRequestHeader,
    new_set: &SyncStateSet,
    live: &dyn Liveness,
) -> Outcome<AlterSyncStateSetResponseHeader> {
    let Some(broker_name) = h.broker_name.as_deref() else {
        return missing("brokerName");
    };
    let Some(set) = state.get(broker_name) else {
        return Outcome::fail(
            ResponseCode::CONTROLLER_ALTER_SYNC_STATE_SET_FAILED,
            "Broker metadata is not existed",
        );
    };
    let wanted = &new_set.sync_state_set;
    if *wanted == set.sync_state_set {
        return Outcome::fail(
            ResponseCode::CONTROLLER_ALTER_SYNC_STATE_SET_FAILED,
            "The newSyncStateSet is equal with oldSyncStateSet, no needed to update syncStateSet",
        );
    }
    if set.master_broker_id.is_none() || set.master_broker_id != h.master_broker_id {
        return Outcome::fail(
            ResponseCode::CONTROLLER_INVALID_MASTER,
            format!(
                "Rejecting alter syncStateSet request because the current leader is:{{{}}}, not {{{}}}",
                show(set.master_broker_id),
                show(h.master_broker_id)
            ),
        );
    }
    if h.master_epoch != Some(set.master_epoch) {
        return Outcome::fail(
            ResponseCode::CONTROLLER_FENCED_MASTER_EPOCH,
            format!(
                "Rejecting alter syncStateSet request because the current master epoch is:{{{}}}, not {{{}}}",
                set.master_epoch,
                show(h.master_epoch)
            ),
        );
    }
    if new_set.sync_state_set_epoch != set.sync_state_set_epoch {
        return Outcome::fail(
            ResponseCode::CONTROLLER_FENCED_SYNC_STATE_SET_EPOCH,
            format!(
                "Rejecting alter syncStateSet request because the current syncStateSet epoch is:{{{}}}, not {{{}}}",
                set.sync_state_set_epoch, new_set.sync_state_set_epoch
            ),
        );
    }
    for &id in wanted {
        if !set.replicas.contains_key(&id) {
            return Outcome::fail(
                ResponseCode::CONTROLLER_INVALID_REPLICAS,
                format!("Rejecting alter syncStateSet request because the replicas {{{id}}} don't exist"),
            );
        }
        if !live.is_alive(&set.cluster_name, broker_name, id) {
            return Outcome::fail(
                ResponseCode::CONTROLLER_BROKER_NOT_ALIVE,
                format!("Rejecting alter syncStateSet request because the replicas {{{id}}} don't alive"),
            );
        }
    }
    if !set.master_broker_id.is_some_and(|m| wanted.contains(&m)) {
        return Outcome::fail(
            ResponseCode::CONTROLLER_ALTER_SYNC_STATE_SET_FAILED,
            format!(
                "Rejecting alter syncStateSet request because the newSyncStateSet don't contains origin leader {{{}}}",
                show(set.master_broker_id)
            ),
        );
    }
    let epoch = set.sync_state_set_epoch + 1;
    Outcome::ok(AlterSyncStateSetResponseHeader {
        new_sync_state_set_epoch: Some(epoch),
    })
    .with_body(
        SyncStateSet {
            sync_state_set: wanted.clone(),
            sync_state_set_epoch: epoch,
        }
        .encode(),
    )
    .with_event(Event::AlterSyncStateSet {
        broker_name: broker_name.to_owned(),
        sync_state_set: wanted.clone(),
    })
}

fn show<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "null".to_owned(), |v| v.to_string())
}

fn member_group(set: &BrokerSet) -> BrokerMemberGroup {
    BrokerMemberGroup {
        cluster: set.cluster_name.clone(),
        broker_name: set.broker_name.clone(),
        broker_addrs: set
            .replicas
            .iter()
            .map(|(id, r)| (*id, r.address.clone()))
            .collect(),
    }
}

/// CONTROLLER_ELECT_MASTER: the first election takes the asking replica; later ones follow
/// [`elect::elect`], over every replica only when `unclean` (`enableElectUncleanMaster`).
/// `brokerId` -1 (or absent) is an election the controller triggers itself.
pub fn elect_master(
    state: &ReplicasState,
    h: &ElectMasterRequestHeader,
    live: &dyn Liveness,
    unclean: bool,
) -> Outcome<ElectMasterResponseHeader> {
    let Some(broker_name) = h.broker_name.as_deref() else {
        return missing("brokerName");
    };
    let Some(set) = state.get(broker_name) else {
        return Outcome::fail(
            ResponseCode::CONTROLLER_BROKER_NEED_TO_BE_REGISTERED,
            "Broker hasn't been registered",
        );
    };
    let asking = h.broker_id.filter(|&id| id != -1);
    let all: BTreeSet<i64> = set.replicas.keys().copied().collect();
    let old = set.master_broker_id;
    let mut new_master = None;
    if set.is_first_election() {
        // FerroMQ also checks that the first master is a replica (Java takes any id).
        new_master = asking.filter(|id| set.replicas.contains_key(id));
    }
    if new_master.is_none() {
        let preferred = if h.designate_elect == Some(true) {
            asking
        } else {
            None
        };
        new_master = elect::elect(
            live,
            &set.cluster_name,
            broker_name,
            &set.sync_state_set,
            unclean.then_some(&all),
            old,
            preferred,
        );
    }
    match new_master {
        Some(master) if Some(master) == old => {
            let mut out = Outcome::fail(
                ResponseCode::CONTROLLER_MASTER_STILL_EXIST,
                format!(
                    "The old master {master} is still alive, not need to elect new master for broker {broker_name}"
                ),
            );
            out.header = ElectMasterResponseHeader {
                master_broker_id: Some(master),
                master_address: set.master_address().map(str::to_owned),
                master_epoch: Some(set.master_epoch),
                sync_state_set_epoch: Some(set.sync_state_set_epoch),
            };
            out.body = Some(
                ElectMasterResponseBody {
                    broker_member_group: None,
                    sync_state_set: set.sync_state_set.clone(),
                }
                .encode(),
            );
            out
        }
        Some(master) => Outcome::ok(ElectMasterResponseHeader {
            master_broker_id: Some(master),
            master_address: set.address_of(Some(master)).map(str::to_owned),
            master_epoch: Some(set.master_epoch + 1),
            sync_state_set_epoch: Some(set.sync_state_set_epoch + 1),
        })
        .with_body(
            ElectMasterResponseBody {
                broker_member_group: Some(member_group(set)),
                sync_state_set: [master].into_iter().collect(),
            }
            .encode(),
        )
        .with_event(Event::ElectMaster {
            broker_name: broker_name.to_owned(),
            new_master: Some(master),
        }),
        None if asking.is_none() => Outcome::fail(
            ResponseCode::CONTROLLER_MASTER_NOT_AVAILABLE,
            "Old master has down and failed to elect a new broker master",
        )
        .with_event(Event::ElectMaster {
            broker_name: broker_name.to_owned(),
            new_master: None,
        }),
        None => Outcome::fail(
            ResponseCode::CONTROLLER_ELECT_MASTER_FAILED,
            "Failed to elect a new master",
        ),
    }
}

/// CONTROLLER_GET_REPLICA_INFO: master and sync state set of one set.
pub fn replica_info(
    state: &ReplicasState,
    h: &GetReplicaInfoRequestHeader,
) -> Outcome<GetReplicaInfoResponseHeader> {
    let Some(set) = h.broker_name.as_deref().and_then(|n| state.get(n)) else {
        return Outcome::fail(
            ResponseCode::CONTROLLER_BROKER_METADATA_NOT_EXIST,
            "Broker metadata is not existed",
        );
    };
    Outcome::ok(GetReplicaInfoResponseHeader {
        master_broker_id: set.master_broker_id,
        master_address: set.master_address().map(str::to_owned),
        master_epoch: Some(set.master_epoch),
    })
    .with_body(sync_state_body(set))
}

/// CONTROLLER_GET_SYNC_STATE_DATA: replicas in and out of sync, with liveness, for each known
/// name in `broker_names`.
pub fn sync_state_data(
    state: &ReplicasState,
    broker_names: &[String],
    live: &dyn Liveness,
) -> BrokerReplicasInfo {
    let mut info = BrokerReplicasInfo::default();
    for name in broker_names {
        let Some(set) = state.get(name) else { continue };
        let (mut in_sync, mut not_in_sync) = (Vec::new(), Vec::new());
        for (&id, replica) in &set.replicas {
            let identity = ReplicaIdentity {
                broker_name: name.clone(),
                broker_id: id,
                broker_address: replica.address.clone(),
                alive: live.is_alive(&set.cluster_name, name, id),
            };
            if set.sync_state_set.contains(&id) {
                in_sync.push(identity);
            } else {
                not_in_sync.push(identity);
            }
        }
        info.replicas_info_table.insert(
            name.clone(),
            ReplicasInfo {
                master_broker_id: set.master_broker_id,
                master_address: set.master_address().map(str::to_owned),
                master_epoch: Some(set.master_epoch),
                sync_state_set_epoch: Some(set.sync_state_set_epoch),
                in_sync_replicas: in_sync,
                not_in_sync_replicas: not_in_sync,
            },
        );
    }
    info
}

/// CLEAN_BROKER_DATA: removes replicas, or the whole set; unless `isCleanLivingBroker`, only
/// dead replicas, and the whole set only when it has no master.
pub fn clean_broker_data(
    state: &ReplicasState,
    h: &CleanControllerBrokerDataRequestHeader,
    live: &dyn Liveness,
) -> Outcome<()> {
    let Some(broker_name) = h.broker_name.as_deref() else {
        return missing("brokerName");
    };
    let invalid = ResponseCode::CONTROLLER_INVALID_CLEAN_BROKER_METADATA;
    let ids_text = h
        .broker_controller_ids_to_clean
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let mut ids = None;
    if h.is_clean_living_broker != Some(true) {
        let set = state.get(broker_name);
        if ids_text.is_none() && set.is_some_and(|s| s.master_broker_id.is_some()) {
            return Outcome::fail(
                invalid,
                format!("Broker {broker_name} is still alive, clean up failure"),
            );
        }
    }
    if let Some(text) = ids_text {
        let parsed: Result<BTreeSet<i64>, _> =
            text.split(';').map(|s| s.trim().parse::<i64>()).collect();
        let Ok(parsed) = parsed else {
            return Outcome::fail(
                invalid,
                format!("Please set the option <brokerControllerIdsToClean> according to the format: `{text}` is not a `;`-separated list of ids"),
            );
        };
        if h.is_clean_living_broker != Some(true) {
            let cluster = h.cluster_name.as_deref().unwrap_or_default();
            if let Some(id) = parsed
                .iter()
                .find(|&&id| live.is_alive(cluster, broker_name, id))
            {
                return Outcome::fail(
                    invalid,
                    format!("Broker [{broker_name},  {id}] is still alive, clean up failure"),
                );
            }
        }
        ids = Some(parsed);
    }
    if state.get(broker_name).is_none() {
        return Outcome::fail(
            invalid,
            format!("Broker {broker_name} is not existed,clean broker data failure."),
        );
    }
    Outcome::ok(()).with_event(Event::CleanBrokerData {
        broker_name: broker_name.to_owned(),
        broker_ids: ids,
    })
}

/// The sets whose master stopped heartbeating while another replica still does: they need an
/// election (Java `scanNeedReelectBrokerSets`).
pub fn sets_needing_election(state: &ReplicasState, live: &dyn Liveness) -> Vec<String> {
    state
        .sets
        .values()
        .filter(|set| {
            set.master_broker_id.is_some_and(|m| {
                !live.is_alive(&set.cluster_name, &set.broker_name, m)
                    && set
                        .replicas
                        .keys()
                        .any(|&id| live.is_alive(&set.cluster_name, &set.broker_name, id))
            })
        })
        .map(|set| set.broker_name.clone())
        .collect()
}

#[cfg(test)]
#[path = "manager_tests.rs"]
mod tests;
