//! The controller client's loop: broker id, registration, heartbeats, the set's state every
//! `syncBrokerMetadataPeriod` (and at once after NOTIFY_BROKER_ROLE_CHANGED), role changes,
//! and, as master, changes of the sync state set.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use ferromq_protocol::body::SyncStateSet;
use ferromq_protocol::header::{
    AlterSyncStateSetRequestHeader, AlterSyncStateSetResponseHeader, ApplyBrokerIdRequestHeader,
    BrokerHeartbeatRequestHeader, ElectMasterRequestHeader, ElectMasterResponseHeader,
    GetNextBrokerIdRequestHeader, GetNextBrokerIdResponseHeader, GetReplicaInfoRequestHeader,
    GetReplicaInfoResponseHeader, RegisterBrokerToControllerRequestHeader,
    RegisterBrokerToControllerResponseHeader,
};
use ferromq_protocol::{CommandHeader, RemotingCommand, RequestCode, ResponseCode};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::client::{request, Controllers};
use super::identity::{IdentityFiles, Pending};
use crate::config::{BrokerRole, Settings};
use crate::services::ha::autoswitch::epoch::EpochEntry;
use crate::services::ha::autoswitch::Role;
use crate::state::Broker;

/// Pause after a failed step (no controller leader, a refused request).
const RETRY: Duration = Duration::from_millis(500);

/// The set's state as a controller reported it.
#[derive(Debug, Default)]
struct SetState {
    master_id: Option<i64>,
    master_addr: Option<String>,
    master_epoch: i32,
    sync_state_set: BTreeSet<i64>,
    sync_state_set_epoch: i32,
}

/// The master-only services of the current term (delay levels, timers, transaction checks).
struct MasterTerm {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

pub(super) async fn run(broker: Arc<Broker>, mut stop: watch::Receiver<bool>) {
    let settings = broker.settings();
    let mut ctl = Controllers::new(
        super::controller_addrs(&settings),
        super::controller_dial(&settings),
    );
    let mut term: Option<MasterTerm> = None;
    let id = loop {
        match broker_id(&broker, &mut ctl).await {
            Ok(id) => break id,
            Err(e) => tracing::warn!(error = %e, "no broker id from the controllers yet"),
        }
        tokio::select! {
            () = tokio::time::sleep(RETRY) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    };
    broker.replication.auto.set_local_id(id);
    tracing::info!(broker_id = id, "broker id from the controllers");
    let mut registered = false;
    let mut next_sync = tokio::time::Instant::now();
    let mut next_check = tokio::time::Instant::now();
    let mut next_heartbeat = tokio::time::Instant::now();
    loop {
        let s = broker.settings();
        let b = &s.broker;
        let heartbeat_every = Duration::from_millis(b.broker_heartbeat_interval.max(50));
        // Wake-ups (a slave caught up, a notification) do not add heartbeats.
        if tokio::time::Instant::now() >= next_heartbeat {
            heartbeat(&broker, &mut ctl, id, &s).await;
            next_heartbeat = tokio::time::Instant::now() + heartbeat_every;
        }
        let now = tokio::time::Instant::now();
        let asked = broker.replication.auto.take_sync_request();
        if !registered || asked || now >= next_sync {
            let step = if registered {
                replica_info(&broker, &mut ctl).await
            } else {
                register(&mut ctl, id, &s).await
            };
            match step {
                Ok(state) => {
                    registered = true;
                    next_sync = now + Duration::from_millis(b.sync_broker_metadata_period);
                    if let Err(e) = apply(&broker, &mut ctl, id, state, &mut term).await {
                        tracing::warn!(error = %e, "cannot take the role the controllers decided");
                        next_sync = now + RETRY;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot reach the controller leader");
                    next_sync = now + RETRY;
                }
            }
        }
        if matches!(broker.replication.auto.role(), Role::Master { .. }) {
            let periodic = now >= next_check;
            if periodic {
                next_check = now + Duration::from_millis(b.check_sync_state_set_period.max(100));
            }
            if let Err(e) = alter_sync_state_set(&broker, &mut ctl, id, periodic).await {
                tracing::warn!(error = %e, "cannot change the sync state set");
            }
        }
        tokio::select! {
            () = tokio::time::sleep_until(next_heartbeat) => {}
            () = broker.replication.auto.wake.notified() => {}
            _ = stop.wait_for(|s| *s) => break,
        }
    }
    if let Some(t) = term.take() {
        end_term(t).await;
    }
}

/// The applied id, or a new one: next id, recorded, applied, committed (Apache's order).
async fn broker_id(broker: &Broker, ctl: &mut Controllers) -> Result<i64, String> {
    let s = broker.settings();
    let (cluster, name) = (&s.broker.broker_cluster_name, &s.broker.broker_name);
    let files = IdentityFiles::new(super::identity_path(&s));
    if let Some(id) = files.applied(cluster, name)? {
        return Ok(id);
    }
    let pending = match files.pending(cluster, name)? {
        Some(p) => p,
        None => {
            let h = GetNextBrokerIdRequestHeader {
                cluster_name: Some(cluster.clone()),
                broker_name: Some(name.clone()),
            };
            let r = ctl
                .call(|| request(RequestCode::CONTROLLER_GET_NEXT_BROKER_ID, &h))
                .await?;
            expect_success(&r, "CONTROLLER_GET_NEXT_BROKER_ID")?;
            let id = GetNextBrokerIdResponseHeader::read_ext(&r.ext_fields)
                .ok()
                .and_then(|h| h.next_broker_id)
                .ok_or("no nextBrokerId in the answer")?;
            let p = Pending {
                id,
                check_code: format!("{};{}", s.broker.broker_addr(), ferromq_common::now_ms()),
            };
            files.begin(cluster, name, &p)?;
            p
        }
    };
    let h = ApplyBrokerIdRequestHeader {
        cluster_name: Some(cluster.clone()),
        broker_name: Some(name.clone()),
        applied_broker_id: Some(pending.id),
        register_check_code: Some(pending.check_code.clone()),
    };
    let r = ctl
        .call(|| request(RequestCode::CONTROLLER_APPLY_BROKER_ID, &h))
        .await?;
    if let Err(e) = expect_success(&r, "CONTROLLER_APPLY_BROKER_ID") {
        // Taken by another broker meanwhile: start over with a fresh id.
        let _ = std::fs::remove_file(format!("{}-temp", super::identity_path(&s).display()));
        return Err(e);
    }
    files.commit(cluster, name, pending.id)?;
    Ok(pending.id)
}

fn expect_success(r: &RemotingCommand, what: &str) -> Result<(), String> {
    if r.response_code() == ResponseCode::SUCCESS {
        Ok(())
    } else {
        Err(format!(
            "{what}: code {} {}",
            r.code,
            r.remark.as_deref().unwrap_or("")
        ))
    }
}

async fn heartbeat(broker: &Broker, ctl: &mut Controllers, id: i64, s: &Settings) {
    let b = &s.broker;
    let auto = &broker.replication.auto;
    let h = BrokerHeartbeatRequestHeader {
        cluster_name: b.broker_cluster_name.clone(),
        broker_addr: b.broker_addr(),
        broker_name: b.broker_name.clone(),
        broker_id: Some(id),
        epoch: Some(auto.last_epoch()),
        max_offset: Some(broker.store.commit_log().max_offset() as i64),
        confirm_offset: Some(auto.confirm() as i64),
        heartbeat_timeout_millis: Some(b.controller_heart_beat_timeout_mills as i64),
        election_priority: Some(b.broker_election_priority),
    };
    ctl.oneway_to_all(|| request(RequestCode::BROKER_HEARTBEAT, &h))
        .await;
}

async fn register(ctl: &mut Controllers, id: i64, s: &Settings) -> Result<SetState, String> {
    let h = RegisterBrokerToControllerRequestHeader {
        cluster_name: Some(s.broker.broker_cluster_name.clone()),
        broker_name: Some(s.broker.broker_name.clone()),
        broker_id: Some(id),
        broker_address: Some(s.broker.broker_addr()),
        invoke_time: Some(ferromq_common::now_ms()),
    };
    let r = ctl
        .call(|| request(RequestCode::CONTROLLER_REGISTER_BROKER, &h))
        .await?;
    expect_success(&r, "CONTROLLER_REGISTER_BROKER")?;
    let h = RegisterBrokerToControllerResponseHeader::read_ext(&r.ext_fields)
        .map_err(|e| e.to_string())?;
    let set = decode_set(&r);
    Ok(SetState {
        master_id: h.master_broker_id.filter(|m| *m >= 0),
        master_addr: h.master_address.filter(|a| !a.is_empty()),
        master_epoch: h.master_epoch.unwrap_or(0),
        sync_state_set_epoch: h.sync_state_set_epoch.unwrap_or(set.sync_state_set_epoch),
        sync_state_set: set.sync_state_set,
    })
}

async fn replica_info(broker: &Broker, ctl: &mut Controllers) -> Result<SetState, String> {
    let h = GetReplicaInfoRequestHeader {
        broker_name: Some(broker.settings().broker.broker_name.clone()),
    };
    let r = ctl
        .call(|| request(RequestCode::CONTROLLER_GET_REPLICA_INFO, &h))
        .await?;
    expect_success(&r, "CONTROLLER_GET_REPLICA_INFO")?;
    let h = GetReplicaInfoResponseHeader::read_ext(&r.ext_fields).map_err(|e| e.to_string())?;
    let set = decode_set(&r);
    Ok(SetState {
        master_id: h.master_broker_id.filter(|m| *m >= 0),
        master_addr: h.master_address.filter(|a| !a.is_empty()),
        master_epoch: h.master_epoch.unwrap_or(0),
        sync_state_set: set.sync_state_set,
        sync_state_set_epoch: set.sync_state_set_epoch,
    })
}

fn decode_set(r: &RemotingCommand) -> SyncStateSet {
    SyncStateSet::decode(&r.body).unwrap_or_default()
}

/// Asks the controllers to elect (a set without master); the outcome as set state.
async fn elect(broker: &Broker, ctl: &mut Controllers, id: i64) -> Result<SetState, String> {
    let s = broker.settings();
    let h = ElectMasterRequestHeader {
        cluster_name: Some(s.broker.broker_cluster_name.clone()),
        broker_name: Some(s.broker.broker_name.clone()),
        broker_id: Some(id),
        designate_elect: Some(false),
        invoke_time: Some(ferromq_common::now_ms()),
    };
    let r = ctl
        .call(|| request(RequestCode::CONTROLLER_ELECT_MASTER, &h))
        .await?;
    expect_success(&r, "CONTROLLER_ELECT_MASTER")?;
    let h = ElectMasterResponseHeader::read_ext(&r.ext_fields).map_err(|e| e.to_string())?;
    let body = ferromq_protocol::body::ElectMasterResponseBody::decode(&r.body).unwrap_or_default();
    Ok(SetState {
        master_id: h.master_broker_id.filter(|m| *m >= 0),
        master_addr: h.master_address.filter(|a| !a.is_empty()),
        master_epoch: h.master_epoch.unwrap_or(0),
        sync_state_set: body.sync_state_set,
        sync_state_set_epoch: h.sync_state_set_epoch.unwrap_or(0),
    })
}

/// Takes the role `state` gives this broker.
async fn apply(
    broker: &Arc<Broker>,
    ctl: &mut Controllers,
    id: i64,
    mut state: SetState,
    term: &mut Option<MasterTerm>,
) -> Result<(), String> {
    if state.master_id.is_none() {
        state = elect(broker, ctl, id).await?;
    }
    let auto = &broker.replication.auto;
    let (Some(master_id), Some(master_addr)) = (state.master_id, state.master_addr.clone()) else {
        return Err("the controllers elected no master".to_owned());
    };
    let current = auto.role();
    if master_id == id {
        if current
            != (Role::Master {
                epoch: state.master_epoch,
            })
        {
            become_master(broker, state.master_epoch, term).await?;
        }
    } else {
        let next = Role::Slave {
            id: master_id,
            addr: master_addr,
            epoch: state.master_epoch,
        };
        if current != next {
            become_slave(broker, id, next, term).await;
        }
    }
    auto.set_sync_state_set(state.sync_state_set, state.sync_state_set_epoch);
    Ok(())
}

async fn become_master(
    broker: &Arc<Broker>,
    epoch: i32,
    term: &mut Option<MasterTerm>,
) -> Result<(), String> {
    let auto = &broker.replication.auto;
    if epoch < auto.last_epoch() {
        return Err(format!(
            "master epoch {epoch} is older than this log's newest epoch {}",
            auto.last_epoch()
        ));
    }
    // No slave sessions in the new term: the slave task stops on the role change below, and
    // the store takes no replicated bytes once promoted.
    auto.set_role(Role::Unknown);
    let store = broker.store.clone();
    let end = tokio::task::spawn_blocking(move || store.promote(Duration::from_secs(30)))
        .await
        .map_err(|e| format!("promotion panicked: {e}"))?
        .map_err(|e| format!("cannot take writes: {e}"))?;
    // A new term starts at the log's end. The same term again (this broker restarted while the
    // controllers still named it master) keeps its start: its slaves hold that entry too, and a
    // moved start would make them cut their logs back to the term before.
    auto.with_epochs(|e| {
        if e.last_epoch() == epoch {
            return Ok(());
        }
        e.append(EpochEntry {
            epoch,
            start: end as i64,
        })
        .map(|_| ())
    })?;
    auto.reset_confirm(end);
    set_role_settings(broker, BrokerRole::SyncMaster, 0);
    broker.replication.clear_master();
    auto.set_role(Role::Master { epoch });
    if term.is_none() {
        *term = Some(start_term(broker));
    }
    broker.topics_changed.notify_one();
    tracing::info!(epoch, start = end, "this broker is now the master");
    Ok(())
}

async fn become_slave(broker: &Broker, id: i64, role: Role, term: &mut Option<MasterTerm>) {
    if let Some(t) = term.take() {
        end_term(t).await;
    }
    set_role_settings(broker, BrokerRole::Slave, id);
    tracing::info!(?role, "this broker is now a slave");
    broker.replication.auto.set_role(role);
    broker.topics_changed.notify_one();
}

/// Swaps role and id into the settings the handlers and the name-server registration read.
fn set_role_settings(broker: &Broker, role: BrokerRole, id: i64) {
    let mut g = broker.settings.write().unwrap_or_else(|e| e.into_inner());
    let mut next = Settings::clone(&g);
    next.broker.broker_role = role;
    next.broker.broker_id = id;
    *g = Arc::new(next);
}

fn start_term(broker: &Arc<Broker>) -> MasterTerm {
    let (stop, rx) = watch::channel(false);
    let mut tasks = crate::services::schedule::start(broker, &rx);
    tasks.push(crate::services::timer::start(broker, &rx));
    tasks.push(crate::services::transaction_check::start(broker, &rx));
    MasterTerm { stop, tasks }
}

async fn end_term(t: MasterTerm) {
    let _ = t.stop.send(true);
    for task in t.tasks {
        let _ = task.await;
    }
}

/// As master: asks the controllers to add caught-up slaves to the sync state set, and (when
/// `periodic`) to drop members that have not caught up for `haMaxTimeSlaveNotCatchup` or are
/// not connected.
async fn alter_sync_state_set(
    broker: &Broker,
    ctl: &mut Controllers,
    id: i64,
    periodic: bool,
) -> Result<(), String> {
    let auto = &broker.replication.auto;
    let Role::Master { epoch } = auto.role() else {
        return Ok(());
    };
    let (set, set_epoch) = auto.sync_state_set();
    let slaves = auto.slaves();
    let confirm = auto.confirm();
    let now = ferromq_common::now_ms();
    let max_lag = broker.settings().broker.ha_max_time_slave_not_catchup as i64;
    let mut next = set.clone();
    next.insert(id);
    for (slave, p) in &slaves {
        if !set.contains(slave) && p.ack >= confirm {
            next.insert(*slave);
        }
    }
    if periodic {
        next.retain(|m| {
            *m == id
                || slaves
                    .get(m)
                    .is_some_and(|p| now - p.caught_up_ms <= max_lag)
        });
    }
    if next == set {
        return Ok(());
    }
    let h = AlterSyncStateSetRequestHeader {
        broker_name: Some(broker.settings().broker.broker_name.clone()),
        master_broker_id: Some(id),
        master_epoch: Some(epoch),
        invoke_time: Some(now),
    };
    let body = SyncStateSet {
        sync_state_set: next.clone(),
        sync_state_set_epoch: set_epoch,
    }
    .encode();
    let r = ctl
        .call(|| request(RequestCode::CONTROLLER_ALTER_SYNC_STATE_SET, &h).with_body(body.clone()))
        .await?;
    if r.response_code() != ResponseCode::SUCCESS {
        // Fenced (a newer epoch somewhere): fetch the set's state again.
        auto.sync_now();
        return Err(format!(
            "CONTROLLER_ALTER_SYNC_STATE_SET: code {} {}",
            r.code,
            r.remark.as_deref().unwrap_or("")
        ));
    }
    let new_epoch = AlterSyncStateSetResponseHeader::read_ext(&r.ext_fields)
        .ok()
        .and_then(|h| h.new_sync_state_set_epoch)
        .unwrap_or(set_epoch + 1);
    tracing::info!(from = ?set, to = ?next, epoch = new_epoch, "sync state set changed");
    auto.set_sync_state_set(next, new_epoch);
    auto.update_confirm(broker.store.commit_log().max_offset());
    Ok(())
}
