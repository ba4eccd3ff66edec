//! Controller mode on the broker side (Apache's `ReplicasManager`; docs/controller.md,
//! "Brokers in controller mode"): get a broker id from the controllers and keep it
//! ([`identity`]), register, heartbeat, and take the role the controllers decide: master of a
//! new epoch (registered with the name servers as brokerId 0) or slave of the master they name
//! (`services::ha::autoswitch`). As master it widens the sync state set when a slave catches up
//! and narrows it when one falls behind for `haMaxTimeSlaveNotCatchup`.
//!
//! [`check_settings`] refuses unworkable combinations at start-up; [`startup_truncation`] cuts a
//! former master's unacknowledged tail before the store opens; [`replicated`] is what a send
//! waits on with `allAckInSyncStateSet=true`.

mod client;
mod identity;
mod role;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ferromq_protocol::body::SyncStateSet;
use ferromq_protocol::header::{GetReplicaInfoRequestHeader, GetReplicaInfoResponseHeader};
use ferromq_protocol::{CommandHeader, RemotingCommand, RequestCode, ResponseCode};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Settings;
use crate::response::Response;
use crate::services::ha::autoswitch::{epoch::EpochFile, Role};
use crate::state::Broker;

use identity::IdentityFiles;

/// Refuses a controller-mode configuration that cannot work, naming the key.
pub(crate) fn check_settings(s: &Settings) -> Result<(), String> {
    let b = &s.broker;
    if !b.enable_controller_mode {
        return Ok(());
    }
    if b.enable_dleger_commit_log {
        return Err(
            "enableControllerMode=true and enableDLegerCommitLog=true exclude each other \
                    (the controllers replace DLedger's elections)"
                .to_owned(),
        );
    }
    if controller_addrs(s).is_empty() {
        return Err(
            "enableControllerMode=true needs controllerAddr (`host:port;host:port`)".to_owned(),
        );
    }
    if b.min_in_sync_replicas == 0 {
        return Err("minInSyncReplicas must be at least 1".to_owned());
    }
    if b.broker_heartbeat_interval == 0 || b.sync_broker_metadata_period == 0 {
        return Err(
            "brokerHeartbeatInterval and syncBrokerMetadataPeriod must be above 0".to_owned(),
        );
    }
    if b.controller_heart_beat_timeout_mills <= b.broker_heartbeat_interval {
        return Err(format!(
            "controllerHeartBeatTimeoutMills ({}) must exceed brokerHeartbeatInterval ({})",
            b.controller_heart_beat_timeout_mills, b.broker_heartbeat_interval
        ));
    }
    Ok(())
}

/// The controllers' addresses.
pub(crate) fn controller_addrs(s: &Settings) -> Vec<String> {
    s.broker
        .controller_addr
        .split(';')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `storePathEpochFile`, else `<root>/epochFileCheckpoint`.
pub(crate) fn epoch_path(s: &Settings) -> PathBuf {
    match s.broker.store_path_epoch_file.trim() {
        "" => s.store.root().join("epochFileCheckpoint"),
        p => PathBuf::from(p),
    }
}

/// `storePathBrokerIdentity`, else `<root>/brokerIdentity`.
pub(crate) fn identity_path(s: &Settings) -> PathBuf {
    match s.broker.store_path_broker_identity.trim() {
        "" => s.store.root().join("brokerIdentity"),
        p => PathBuf::from(p),
    }
}

/// Before the store opens: when this broker has epochs and the controllers name another
/// master, asks that master's HA port for its epochs and returns where this log must end
/// (the end of the newest epoch both logs share, as the master has it). The epoch file is cut
/// to match. Any failure (no controller, no master yet) leaves the log as it is: the slave's
/// handshake checks again later.
pub(crate) async fn startup_truncation(s: &Settings) -> Option<u64> {
    if !s.broker.enable_controller_mode {
        return None;
    }
    let mut epochs = match EpochFile::open(&epoch_path(s)) {
        Ok(e) if e.last_epoch() >= 0 => e,
        Ok(_) => return None,
        Err(e) => {
            tracing::warn!(error = %e, "epoch file unreadable");
            return None;
        }
    };
    let ids = IdentityFiles::new(identity_path(s));
    let b = &s.broker;
    let own_id = ids
        .applied(&b.broker_cluster_name, &b.broker_name)
        .ok()
        .flatten()?;
    let (master_id, master_addr) = match master_from_controllers(s).await {
        Ok(m) => m?,
        Err(e) => {
            tracing::warn!(error = %e, "cannot learn the master before opening the store");
            return None;
        }
    };
    if master_id == own_id {
        return None;
    }
    let ha = derived_ha_addr(&master_addr);
    let (_, master_end, master_epochs) = match crate::services::ha::autoswitch::slave::handshake(
        &ha,
        own_id,
        false,
        controller_dial(s).tls,
    )
    .await
    {
        Ok(h) => h,
        Err(e) => {
            tracing::warn!(master = %ha, error = %e, "cannot compare epochs with the master");
            return None;
        }
    };
    let Some(point) = epochs.consistent_point(i64::MAX, &master_epochs, master_end) else {
        tracing::error!(master = %ha, "this log and the master's share no epoch; keeping it as it is");
        return None;
    };
    if let Err(e) = epochs.truncate_from_offset(point) {
        tracing::warn!(error = %e, "cannot cut the epoch file");
    }
    tracing::info!(master = %ha, point, "the log is kept up to where it agrees with the master's");
    u64::try_from(point).ok()
}

/// The settings of connections to the controllers: TLS with `tls.enable=true`, as to the name
/// servers (a TLS setting that cannot be used already stopped start-up).
pub(crate) fn controller_dial(s: &Settings) -> ferromq_remoting::ConnectionConfig {
    crate::server::outbound_config(&s.broker).unwrap_or_else(|e| {
        tracing::warn!("controllers dialed in plaintext: {e}");
        ferromq_remoting::ConnectionConfig::default()
    })
}

async fn master_from_controllers(s: &Settings) -> Result<Option<(i64, String)>, String> {
    let header = GetReplicaInfoRequestHeader {
        broker_name: Some(s.broker.broker_name.clone()),
    };
    for addr in controller_addrs(s) {
        let Ok(Ok(conn)) = tokio::time::timeout(
            Duration::from_secs(3),
            ferromq_remoting::Connection::connect(
                &addr,
                Arc::new(ferromq_remoting::IgnoreRequests),
                controller_dial(s),
            ),
        )
        .await
        else {
            continue;
        };
        let req =
            RemotingCommand::request_with_header(RequestCode::CONTROLLER_GET_REPLICA_INFO, &header);
        let Ok(r) = conn.request(req, Duration::from_secs(3)).await else {
            continue;
        };
        conn.close();
        if r.response_code() != ResponseCode::SUCCESS {
            continue;
        }
        let h = GetReplicaInfoResponseHeader::read_ext(&r.ext_fields).map_err(|e| e.to_string())?;
        return Ok(match (h.master_broker_id, h.master_address) {
            (Some(id), Some(addr)) if id >= 0 && !addr.is_empty() => Some((id, addr)),
            _ => None,
        });
    }
    Err("no controller answered CONTROLLER_GET_REPLICA_INFO".to_owned())
}

/// A master's HA address from its broker address: the port after it (`listenPort + 1`, the
/// default `haListenPort`).
fn derived_ha_addr(addr: &str) -> String {
    match addr.rsplit_once(':') {
        Some((host, port)) => match port.parse::<u16>() {
            Ok(p) => format!("{host}:{}", p.saturating_add(1)),
            Err(_) => addr.to_owned(),
        },
        None => addr.to_owned(),
    }
}

/// The HA address of the master at broker address `addr`: what the name servers answered the
/// registration with when they name the same master, else `listenPort + 1` of its address.
pub(crate) fn master_ha_addr(broker: &Broker, addr: &str) -> String {
    match (
        broker.replication.master_addr(),
        broker.replication.master_ha_addr(),
    ) {
        (Some(m), Some(ha)) if m == addr && !ha.is_empty() => ha,
        _ => derived_ha_addr(addr),
    }
}

/// Starts the controller client and keeps the store's dispatch limit at the confirm offset.
pub(crate) fn start(broker: &Arc<Broker>, stop: &watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    vec![
        tokio::spawn(role::run(broker.clone(), stop.clone())),
        tokio::spawn(follow_confirm(broker.clone(), stop.clone())),
    ]
}

/// Consumers see only what every member of the sync state set has: the dispatcher stops at
/// the confirm offset on a slave, and on a master with `allAckInSyncStateSet=true` (as Apache's
/// reput, which reads up to the confirm offset then).
async fn follow_confirm(broker: Arc<Broker>, mut stop: watch::Receiver<bool>) {
    let auto = &broker.replication.auto;
    let (mut confirm, mut role) = (auto.watch_confirm(), auto.watch_role());
    loop {
        let limit = match &*role.borrow_and_update() {
            Role::Master { .. } if !broker.settings().broker.all_ack_in_sync_state_set => u64::MAX,
            Role::Unknown => u64::MAX,
            _ => *confirm.borrow_and_update(),
        };
        broker.store.set_dispatch_limit(limit);
        tokio::select! {
            r = confirm.changed() => if r.is_err() { return },
            r = role.changed() => if r.is_err() { return },
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

/// A slave acknowledged `offset` (master side): moves the confirm offset and asks for the slave
/// to join the sync state set once it has caught up.
pub(crate) fn slave_acked(broker: &Broker, slave_id: i64, offset: u64) {
    let auto = &broker.replication.auto;
    let end = broker.store.commit_log().max_offset();
    let candidate = auto.slave_acked(slave_id, offset, end, ferromq_common::now_ms());
    auto.update_confirm(end);
    if candidate {
        auto.wake.notify_one();
    }
}

/// A slave took its master's confirm offset.
pub(crate) fn slave_confirmed(broker: &Broker, confirm: u64) {
    broker.replication.auto.reset_confirm(confirm);
}

/// NOTIFY_BROKER_ROLE_CHANGED: the controller elected a master; the broker asks for its set's
/// state at once rather than at the next `syncBrokerMetadataPeriod` (oneway: no answer).
pub(crate) fn notified(broker: &Broker, req: &RemotingCommand) -> Response {
    if broker.settings().broker.enable_controller_mode {
        let set = SyncStateSet::decode(&req.body).ok();
        tracing::info!(?set, "the controller says the roles changed");
        broker.replication.auto.sync_now();
    }
    RemotingCommand::response(ResponseCode::SUCCESS, None)
}

/// One epoch of GET_BROKER_EPOCH_CACHE's answer (Apache's `EpochEntry`; the newest one ends at
/// `Long.MAX_VALUE`, as Apache's cache reports it).
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct EpochJson {
    end_offset: i64,
    epoch: i32,
    start_offset: i64,
}

/// GET_BROKER_EPOCH_CACHE's body (Apache's `EpochEntryCache`, fields in fastjson's order).
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct EpochCacheJson {
    broker_id: i64,
    broker_name: String,
    cluster_name: String,
    epoch_list: Vec<EpochJson>,
    max_offset: i64,
}

/// GET_BROKER_EPOCH_CACHE (`mqadmin getBrokerEpoch`): this broker's epochs and log end.
pub(crate) fn epoch_cache(broker: &Broker) -> Response {
    let s = broker.settings();
    if !s.broker.enable_controller_mode {
        return RemotingCommand::response(
            ResponseCode::SYSTEM_ERROR,
            Some("this request only for controllerMode".to_owned()),
        );
    }
    let entries = broker.replication.auto.epochs();
    let epoch_list = entries
        .iter()
        .enumerate()
        .map(|(i, e)| EpochJson {
            end_offset: entries.get(i + 1).map_or(i64::MAX, |n| n.start),
            epoch: e.epoch,
            start_offset: e.start,
        })
        .collect();
    let body = EpochCacheJson {
        broker_id: broker
            .replication
            .auto
            .local_id()
            .unwrap_or(s.broker.broker_id),
        broker_name: s.broker.broker_name.clone(),
        cluster_name: s.broker.broker_cluster_name.clone(),
        epoch_list,
        max_offset: broker.store.commit_log().max_offset() as i64,
    };
    RemotingCommand::response(ResponseCode::SUCCESS, None)
        .with_body(ferromq_protocol::json::to_string(&body).into_bytes())
}

/// Before a write is stored in controller mode (Apache checks it before the put too): a sync
/// state set smaller than `minInSyncReplicas` refuses it with SYSTEM_ERROR "in-sync replicas
/// not enough".
pub(crate) fn admit(broker: &Broker, settings: &Settings) -> Result<(), Response> {
    let min = settings.broker.min_in_sync_replicas;
    let (set, _) = broker.replication.auto.sync_state_set();
    if (set.len() as u64) < u64::from(min) {
        return Err(RemotingCommand::response(
            ResponseCode::SYSTEM_ERROR,
            Some(format!(
                "in-sync replicas not enough: the sync state set {set:?} is smaller than \
                 minInSyncReplicas {min}"
            )),
        ));
    }
    Ok(())
}

/// What a stored send waits for in controller mode (Apache's `CommitLog.handleHA` there). With
/// `allAckInSyncStateSet=true`: every member of the sync state set has everything below `end`.
/// Otherwise `inSyncReplicas` copies, the master's included (none to wait for at 1).
/// FLUSH_SLAVE_TIMEOUT after `slaveTimeout`, and as soon as this broker stops being the master
/// of the term the message was stored in: a master paused while another was elected must not
/// acknowledge what it stored meanwhile, whatever confirm offset it later hears of as a slave.
pub(crate) async fn replicated(broker: &Broker, settings: &Settings, end: u64) -> Option<Response> {
    let auto = &broker.replication.auto;
    let lost = || {
        Some(RemotingCommand::response(
            ResponseCode::FLUSH_SLAVE_TIMEOUT,
            Some(
                "the message is stored on this broker, but it stopped being the master before \
                 the replicas acknowledged it: it will be discarded"
                    .to_owned(),
            ),
        ))
    };
    let Role::Master { epoch } = auto.role() else {
        return lost();
    };
    let term = Role::Master { epoch };
    let mut role = auto.watch_role();
    let outcome = tokio::select! {
        r = wait_replicated(broker, settings, end) => r,
        _ = role.wait_for(|r| *r != term) => return lost(),
    };
    if outcome.is_none() && auto.role() != term {
        return lost();
    }
    outcome
}

async fn wait_replicated(broker: &Broker, settings: &Settings, end: u64) -> Option<Response> {
    let b = &settings.broker;
    let auto = &broker.replication.auto;
    let (set, _) = auto.sync_state_set();
    let timeout = Duration::from_millis(b.slave_timeout);
    if !b.all_ack_in_sync_state_set {
        let need = b.in_sync_replicas;
        if need <= 1 {
            return None;
        }
        let slaves = usize::try_from(need - 1).unwrap_or(usize::MAX);
        let master_end = broker.store.commit_log().max_offset();
        return match broker
            .replication
            .wait(end, slaves, master_end, b.ha_max_gap_not_in_sync, timeout)
            .await
        {
            crate::replication::Replicated::Yes => None,
            _ => Some(RemotingCommand::response(
                ResponseCode::FLUSH_SLAVE_TIMEOUT,
                Some(format!(
                    "the message is stored on the master, but fewer than {need} replicas \
                     (inSyncReplicas) have it within slaveTimeout {} ms",
                    b.slave_timeout
                )),
            )),
        };
    }
    auto.update_confirm(broker.store.commit_log().max_offset());
    let mut confirm = auto.watch_confirm();
    let reached = tokio::time::timeout(timeout, confirm.wait_for(|c| *c >= end))
        .await
        .is_ok_and(|r| r.is_ok());
    match reached {
        true => None,
        false => Some(RemotingCommand::response(
            ResponseCode::FLUSH_SLAVE_TIMEOUT,
            Some(format!(
                "the message is stored on the master, but not every member of the sync state \
                 set {set:?} acknowledged it within slaveTimeout {} ms",
                b.slave_timeout
            )),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_combinations_are_refused_naming_the_key() {
        let mut s = Settings::default();
        assert!(check_settings(&s).is_ok(), "off: nothing checked");
        s.apply_properties("enableControllerMode=true\n")
            .expect("keys");
        assert!(check_settings(&s).is_err_and(|e| e.contains("controllerAddr")));
        s.apply_properties(
            "controllerAddr=127.0.0.1:9878;127.0.0.1:9868\nenableDLegerCommitLog=true\n",
        )
        .expect("keys");
        assert!(check_settings(&s).is_err_and(|e| e.contains("enableDLegerCommitLog")));
        s.apply_properties("enableDLegerCommitLog=false\n")
            .expect("keys");
        assert!(check_settings(&s).is_ok());
        assert_eq!(controller_addrs(&s).len(), 2);
        s.apply_properties("brokerId=-1\nbrokerRole=SYNC_MASTER\n")
            .expect("keys");
        assert_eq!(s.broker.broker_id, -1, "controller mode keeps brokerId=-1");
        s.apply_properties("controllerHeartBeatTimeoutMills=500\n")
            .expect("keys");
        assert!(check_settings(&s).is_err_and(|e| e.contains("controllerHeartBeatTimeoutMills")));
    }

    #[test]
    fn derived_ha_address_is_the_next_port() {
        assert_eq!(derived_ha_addr("10.0.0.1:10911"), "10.0.0.1:10912");
    }
}
