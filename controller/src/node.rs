//! One controller: the Raft node, the replicated state it applies, the broker liveness table,
//! and the background monitor that elects new masters.
//!
//! Changes go through `Controller::write`: one at a time (Apache's event scheduler), on the
//! leader only, after the leader has applied everything committed before it (so a new leader
//! never decides on a stale state), then appended to the Raft log and awaited until applied.
//! Reads are answered by the leader from its applied state (after a leadership check with the
//! quorum when `processReadEvent=true`).
//!
//! A controller counts as leader (for reads, writes, `isLeader` in the metadata and the monitor)
//! only once a quorum has acknowledged its leadership in the current term: openraft restores a
//! restarted controller that led before its crash as leader of its old term at once, holding
//! the state it had then, until a peer answers with a newer term. Answering in that window gave
//! brokers and tools a master and sync state set that were no longer true.
//!
//! The monitor removes expired heartbeats every `scanNotActiveBrokerInterval`; a removed (or
//! disconnected) master triggers an election at once. Every `scanInactiveMasterInterval` the
//! leader also elects for each set whose master is not alive while another replica is; it
//! starts doing so once brokers had a whole heartbeat timeout (the longest in its table, 10 s
//! when it is empty) to heartbeat to it since it became leader.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use ferromq_protocol::header::ElectMasterRequestHeader;
use ferromq_protocol::{RemotingCommand, ResponseCode};
use openraft::error::{CheckIsLeaderError, ClientWriteError, InitializeError, RaftError};
use openraft::{BasicNode, ServerState, SnapshotPolicy};
use tokio::sync::{mpsc, watch, Notify};

use crate::config::{ControllerConfig, Peer, Peers};
use crate::elect::Liveness;
use crate::heartbeat::{BrokerKey, BrokerLiveTable};
use crate::manager::{self, Outcome};
use crate::raft::log_store::LogStore;
use crate::raft::network::Network;
use crate::raft::state_machine::{Applied, StateMachine};
use crate::raft::{NodeId, Raft, Request};
use crate::state::ReplicasState;

/// Why a controller could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The quorum keys are wrong.
    #[error("{0}")]
    Config(String),
    /// The store could not be opened.
    #[error("controllerStorePath {path}: {source}")]
    Store {
        /// The path.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// openraft refused to start.
    #[error("raft: {0}")]
    Raft(String),
}

/// A running controller.
pub struct Controller {
    config: RwLock<ControllerConfig>,
    peers: Peers,
    raft: Raft,
    metrics: watch::Receiver<openraft::RaftMetrics<NodeId, BasicNode>>,
    applied: Arc<RwLock<Applied>>,
    live: Mutex<BrokerLiveTable>,
    writes: tokio::sync::Mutex<()>,
    inactive_tx: mpsc::UnboundedSender<BrokerKey>,
    stop: Notify,
    /// The addresses the peers' host names resolved to at start: Raft RPCs are taken from
    /// these only ([`Controller::is_peer_ip`]).
    peer_ips: std::collections::HashSet<std::net::IpAddr>,
    /// Raft RPCs refused for coming from elsewhere, logged at most once a second.
    refused_raft: Mutex<(Option<Instant>, u64)>,
    /// The settings of the connections this controller dials (TLS with `tls.enable`).
    dial: ferromq_remoting::ConnectionConfig,
    /// The Raft term in which a quorum acknowledged this controller as leader
    /// ([`NOT_CONFIRMED`] before any).
    confirmed_term: AtomicU64,
}

/// `Controller::confirmed_term` before this process confirmed a leadership.
const NOT_CONFIRMED: u64 = u64::MAX;

impl std::fmt::Debug for Controller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Controller")
            .field("me", self.peers.me())
            .field("leader", &self.leader().map(|p| &p.id))
            .finish()
    }
}

/// The liveness table as seen at one instant, for the rules in [`crate::manager`].
struct LiveView<'a> {
    table: std::sync::MutexGuard<'a, BrokerLiveTable>,
    now: Instant,
}

impl Liveness for LiveView<'_> {
    fn is_alive(&self, cluster_name: &str, broker_name: &str, broker_id: i64) -> bool {
        self.table
            .is_active(&key(cluster_name, broker_name, broker_id), self.now)
    }

    fn rank(
        &self,
        cluster_name: &str,
        broker_name: &str,
        broker_id: i64,
    ) -> Option<(i32, i64, i32)> {
        self.table
            .get(&key(cluster_name, broker_name, broker_id))
            .map(|i| (i.epoch, i.max_offset, i.election_priority))
    }
}

fn key(cluster_name: &str, broker_name: &str, broker_id: i64) -> BrokerKey {
    BrokerKey {
        cluster_name: cluster_name.to_owned(),
        broker_name: broker_name.to_owned(),
        broker_id,
    }
}

/// A response with `code` and `remark`.
pub(crate) fn fail(code: ResponseCode, remark: impl Into<String>) -> RemotingCommand {
    RemotingCommand::response(code, Some(remark.into()))
}

fn raft_config(config: &ControllerConfig, group: &str) -> Result<openraft::Config, StartError> {
    let election = u64::try_from(config.election_timeout().as_millis()).unwrap_or(u64::MAX);
    openraft::Config {
        cluster_name: if group.is_empty() {
            "ferromq-controller".to_owned()
        } else {
            group.to_owned()
        },
        heartbeat_interval: (election / 5).max(10),
        election_timeout_min: election,
        election_timeout_max: election * 2,
        snapshot_policy: SnapshotPolicy::LogsSinceLast(
            config.controller_snapshot_every_entries.max(1),
        ),
        // Snapshots are small: drop the log behind them, a lagging peer gets the snapshot.
        max_in_snapshot_log_to_keep: 0,
        install_snapshot_timeout: election.max(200),
        // Chunks travel as JSON arrays of numbers (up to 4 bytes per byte): keep a frame far
        // below the remoting frame limit.
        snapshot_max_chunk_size: 256 * 1024,
        ..Default::default()
    }
    .validate()
    .map_err(|e| StartError::Raft(e.to_string()))
}

impl Controller {
    /// Opens the store under `controllerStorePath`, starts the Raft node (forming the quorum on
    /// first start) and the monitor. Raft RPCs from peers arrive through [`crate::run`]'s port.
    pub async fn start(config: ControllerConfig) -> Result<Arc<Controller>, StartError> {
        let peers = config.peers().map_err(StartError::Config)?;
        let store = config.controller_store_path.clone();
        let open_err = |source| StartError::Store {
            path: store.display().to_string(),
            source,
        };
        let log = LogStore::open(&store.join("raft")).map_err(open_err)?;
        let sm = StateMachine::open(&store.join("snapshot")).map_err(open_err)?;
        let applied = sm.shared();
        let raft_config = Arc::new(raft_config(&config, &peers.group)?);
        let dial = ferromq_remoting::ConnectionConfig {
            tls: config.client_tls().map_err(StartError::Config)?,
            ..ferromq_remoting::ConnectionConfig::default()
        };
        let network = Network::new(dial.clone());
        let raft = Raft::new(peers.me().node_id, raft_config, network, log, sm)
            .await
            .map_err(|e| StartError::Raft(e.to_string()))?;
        let members: BTreeMap<NodeId, BasicNode> = peers
            .peers
            .iter()
            .map(|p| (p.node_id, BasicNode::new(&p.addr)))
            .collect();
        // Every controller proposes the same membership; all but the first are told NotAllowed.
        match raft.initialize(members).await {
            Ok(()) | Err(RaftError::APIError(InitializeError::NotAllowed(_))) => {}
            Err(e) => return Err(StartError::Raft(e.to_string())),
        }
        let peer_ips = resolve_peer_ips(&peers).await;
        let (inactive_tx, inactive_rx) = mpsc::unbounded_channel();
        let controller = Arc::new(Controller {
            metrics: raft.metrics(),
            config: RwLock::new(config),
            peers,
            raft,
            applied,
            live: Mutex::new(BrokerLiveTable::default()),
            writes: tokio::sync::Mutex::new(()),
            inactive_tx,
            stop: Notify::new(),
            peer_ips,
            refused_raft: Mutex::new((None, 0)),
            dial,
            confirmed_term: AtomicU64::new(NOT_CONFIRMED),
        });
        tokio::spawn(controller.clone().monitor(inactive_rx));
        tracing::info!(me = ?controller.peers.me(), "controller started");
        Ok(controller)
    }

    /// Stops the monitor and the Raft node.
    pub async fn shutdown(&self) {
        self.stop.notify_one();
        if let Err(e) = self.raft.shutdown().await {
            tracing::warn!("raft shutdown: {e}");
        }
    }

    /// Whether `ip` is one of the peers' addresses: anything else sending a Raft RPC could
    /// pose as a leader with a higher term, so those are refused.
    pub fn is_peer_ip(&self, ip: std::net::IpAddr) -> bool {
        self.peer_ips.contains(&ip)
    }

    /// Logs a refused Raft RPC: the first at once, then at most a line a second with the count.
    pub(crate) fn log_refused_raft(&self, from: std::net::SocketAddr, code: i32) {
        let mut state = ferromq_common::lock(&self.refused_raft);
        state.1 += 1;
        let now = Instant::now();
        if state
            .0
            .is_some_and(|t| now.duration_since(t) < Duration::from_secs(1))
        {
            return;
        }
        tracing::warn!(%from, code, refused = state.1, "refused a Raft request from an address that is not a controller peer");
        *state = (Some(now), 0);
    }

    /// The Raft handle.
    pub fn raft(&self) -> &Raft {
        &self.raft
    }

    /// The configured quorum.
    pub fn peers(&self) -> &Peers {
        &self.peers
    }

    /// A copy of the current settings.
    pub fn config(&self) -> ControllerConfig {
        self.config
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Applies a runtime settings update (UPDATE_CONTROLLER_CONFIG).
    pub(crate) fn update_config(
        &self,
        pairs: &[(String, String)],
    ) -> Result<(), crate::config::ConfigError> {
        self.config
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .update_at_runtime(pairs)
    }

    /// Whether this controller leads now: the Raft leader, acknowledged by a quorum in its
    /// current term (see the module docs).
    pub fn is_leader(&self) -> bool {
        self.raft_leader_term()
            .is_some_and(|term| self.confirmed_term.load(Ordering::Acquire) == term)
    }

    /// The term this node leads in, as Raft says (confirmed or not).
    fn raft_leader_term(&self) -> Option<u64> {
        let m = self.metrics.borrow();
        (m.state == ServerState::Leader && m.current_leader == Some(self.peers.me().node_id))
            .then_some(m.current_term)
    }

    /// Whether Raft says this node leads in a term no quorum has acknowledged it in yet.
    fn awaits_confirmation(&self) -> bool {
        self.raft_leader_term()
            .is_some_and(|term| self.confirmed_term.load(Ordering::Acquire) != term)
    }

    /// Asks a quorum to acknowledge this node's leadership when Raft names it leader of a term
    /// not confirmed yet; a node restored as the leader of an old term learns of the newer one
    /// here and steps down.
    async fn confirm_term(&self, timeout: Duration) {
        let Some(term) = self.raft_leader_term() else {
            return;
        };
        if self.confirmed_term.load(Ordering::Acquire) == term {
            return;
        }
        match self.confirm_leadership(timeout).await {
            // Checked again: a step down and a new election may have happened meanwhile.
            Ok(()) if self.raft_leader_term() == Some(term) => {
                self.confirmed_term.store(term, Ordering::Release);
            }
            Ok(()) => {}
            Err(e) => {
                tracing::info!(term, reason = ?e.remark, "leadership not acknowledged by a quorum")
            }
        }
    }

    /// The leader this controller knows of (itself only once confirmed, as [`Self::is_leader`]).
    pub fn leader(&self) -> Option<&Peer> {
        let leader = self.metrics.borrow().current_leader;
        let me = self.peers.me().node_id;
        leader
            .filter(|id| *id != me || self.is_leader())
            .and_then(|id| self.peers.by_node(id))
    }

    /// A copy of the applied state (tests and tools).
    pub fn state(&self) -> ReplicasState {
        self.applied
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .state
            .clone()
    }

    /// The CONTROLLER_NOT_LEADER answer, naming the leader when one is known.
    pub(crate) fn not_leader(&self) -> RemotingCommand {
        let remark = match self.leader() {
            Some(l) if l.node_id != self.peers.me().node_id => format!(
                "The controller is not in leader state, the leader is {} ({})",
                l.id, l.addr
            ),
            _ => "The controller is not in leader state, no leader is known now".to_owned(),
        };
        fail(ResponseCode::CONTROLLER_NOT_LEADER, remark)
    }

    /// Records a broker heartbeat.
    pub(crate) fn on_heartbeat(
        &self,
        key: BrokerKey,
        hb: &crate::heartbeat::Heartbeat,
        conn: Option<u64>,
    ) {
        ferromq_common::lock(&self.live).on_heartbeat(key, hb, conn, Instant::now());
    }

    /// A connection closed: the brokers that heartbeated on it are gone.
    pub(crate) fn on_connection_closed(&self, id: u64) {
        let gone = ferromq_common::lock(&self.live).on_connection_closed(id);
        for key in gone {
            let _ = self.inactive_tx.send(key);
        }
    }

    /// Waits until the leader has applied every committed entry and still leads a quorum.
    async fn confirm_leadership(&self, timeout: Duration) -> Result<(), RemotingCommand> {
        match tokio::time::timeout(timeout, self.raft.ensure_linearizable()).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(RaftError::APIError(CheckIsLeaderError::ForwardToLeader(_)))) => Err(self.not_leader()),
            Ok(Err(e)) => Err(fail(ResponseCode::SYSTEM_ERROR, format!("controller quorum: {e}"))),
            Err(_) => Err(fail(
                ResponseCode::SYSTEM_ERROR,
                format!(
                    "controller quorum: leadership not confirmed within {} ms (a majority of controllers is unreachable?)",
                    timeout.as_millis()
                ),
            )),
        }
    }

    /// Answers a read from the applied state, on the leader only.
    pub(crate) async fn read<T>(
        &self,
        f: impl FnOnce(&ReplicasState, &dyn Liveness) -> T,
    ) -> Result<T, RemotingCommand> {
        if !self.is_leader() {
            return Err(self.not_leader());
        }
        let config = self.config();
        if config.process_read_event {
            self.confirm_leadership(config.write_timeout()).await?;
        }
        let applied = self.applied.read().unwrap_or_else(|e| e.into_inner());
        let view = LiveView {
            table: ferromq_common::lock(&self.live),
            now: Instant::now(),
        };
        Ok(f(&applied.state, &view))
    }

    /// Decides a change on the leader and commits its events (see the module docs).
    pub(crate) async fn write<H>(
        &self,
        decide: impl FnOnce(&ReplicasState, &dyn Liveness, &ControllerConfig) -> Outcome<H>,
    ) -> Result<Outcome<H>, RemotingCommand> {
        let _one_at_a_time = self.writes.lock().await;
        if !self.is_leader() {
            return Err(self.not_leader());
        }
        let config = self.config();
        let timeout = config.write_timeout();
        self.confirm_leadership(timeout).await?;
        let outcome = {
            let applied = self.applied.read().unwrap_or_else(|e| e.into_inner());
            let view = LiveView {
                table: ferromq_common::lock(&self.live),
                now: Instant::now(),
            };
            decide(&applied.state, &view, &config)
        };
        if outcome.events.is_empty() {
            return Ok(outcome);
        }
        let request = Request {
            events: outcome.events.clone(),
        };
        match tokio::time::timeout(timeout, self.raft.client_write(request)).await {
            Ok(Ok(_)) => Ok(outcome),
            Ok(Err(RaftError::APIError(ClientWriteError::ForwardToLeader(_)))) => Err(self.not_leader()),
            Ok(Err(e)) => Err(fail(ResponseCode::SYSTEM_ERROR, format!("controller quorum: {e}"))),
            Err(_) => Err(fail(
                ResponseCode::SYSTEM_ERROR,
                format!(
                    "controller quorum: change not committed within {} ms (a majority of controllers is unreachable?)",
                    timeout.as_millis()
                ),
            )),
        }
    }

    /// Elects a master for `broker_name` on the controller's own initiative (its master is
    /// gone), retrying failures of the quorum up to `electMasterMaxRetryCount` times, and tells
    /// the replicas when a master was elected.
    pub async fn trigger_election(
        &self,
        broker_name: &str,
    ) -> Option<Outcome<ferromq_protocol::header::ElectMasterResponseHeader>> {
        let header = ElectMasterRequestHeader {
            cluster_name: Some(String::new()),
            broker_name: Some(broker_name.to_owned()),
            broker_id: Some(-1),
            designate_elect: Some(false),
            invoke_time: Some(ferromq_common::now_ms()),
        };
        let tries = self.config().elect_master_max_retry_count.max(1);
        for attempt in 1..=tries {
            let result = self
                .write(|state, live, config| {
                    manager::elect_master(state, &header, live, config.enable_elect_unclean_master)
                })
                .await;
            match result {
                Ok(outcome) => {
                    tracing::info!(broker_name, code = %outcome.code, master = ?outcome.header.master_broker_id, "controller-triggered election");
                    if outcome.code == ResponseCode::SUCCESS {
                        self.notify_role_changed(broker_name, &outcome);
                    }
                    return Some(outcome);
                }
                Err(resp) if resp.code == ResponseCode::CONTROLLER_NOT_LEADER.0 => return None,
                Err(resp) => {
                    tracing::warn!(broker_name, attempt, remark = ?resp.remark, "election failed")
                }
            }
        }
        None
    }

    /// Sends NOTIFY_BROKER_ROLE_CHANGED to the live replicas of the set (when
    /// `notifyBrokerRoleChanged`), in the background.
    pub(crate) fn notify_role_changed(
        &self,
        broker_name: &str,
        outcome: &Outcome<ferromq_protocol::header::ElectMasterResponseHeader>,
    ) {
        if !self.config().notify_broker_role_changed {
            return;
        }
        let Some(set) = self.state().get(broker_name).cloned() else {
            return;
        };
        let now = Instant::now();
        let targets: Vec<String> = {
            let live = ferromq_common::lock(&self.live);
            set.replicas
                .iter()
                .filter(|(id, _)| live.is_active(&key(&set.cluster_name, broker_name, **id), now))
                .map(|(_, r)| r.address.clone())
                .collect()
        };
        crate::notify::role_changed(targets, &outcome.header, &set, self.dial.clone());
    }

    async fn on_broker_inactive(&self, key: BrokerKey) {
        if !self.is_leader() {
            return;
        }
        let is_master = self
            .state()
            .get(&key.broker_name)
            .is_some_and(|s| s.master_broker_id == Some(key.broker_id));
        if is_master {
            tracing::warn!(?key, "master inactive, electing a new one");
            self.trigger_election(&key.broker_name).await;
        }
    }

    async fn monitor(self: Arc<Self>, mut inactive: mpsc::UnboundedReceiver<BrokerKey>) {
        let mut last_expire = Instant::now();
        let mut last_scan = Instant::now();
        let mut leader_since: Option<Instant> = None;
        let mut metrics = self.metrics.clone();
        loop {
            // Raft's view changes often; it wakes the loop only while a leadership awaits its
            // confirmation, so a new leader serves as soon as the quorum acknowledges it.
            let unconfirmed = self.awaits_confirmation();
            tokio::select! {
                _ = self.stop.notified() => return,
                Some(key) = inactive.recv() => self.on_broker_inactive(key).await,
                r = metrics.changed(), if unconfirmed => if r.is_err() { return },
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            }
            let config = self.config();
            self.confirm_term(config.write_timeout()).await;
            let now = Instant::now();
            leader_since = match (self.is_leader(), leader_since) {
                (true, None) => {
                    tracing::info!(me = %self.peers.me().id, "this controller is now the leader");
                    Some(now)
                }
                (true, since) => since,
                (false, Some(_)) => {
                    tracing::warn!(me = %self.peers.me().id, leader = ?self.leader().map(|p| &p.id), "this controller is no longer the leader");
                    None
                }
                (false, None) => None,
            };
            if now.duration_since(last_expire)
                >= Duration::from_millis(config.scan_not_active_broker_interval)
            {
                last_expire = now;
                let expired = ferromq_common::lock(&self.live).expire(now);
                for key in expired {
                    self.on_broker_inactive(key).await;
                }
            }
            // A master missing from this leader's table is dead if this controller saw it go, or
            // once it had a whole heartbeat timeout to reach this controller since it became
            // leader: a controller that was down, or that brokers were still skipping as
            // unreachable, starts with a table missing live brokers, and electing on it would
            // depose a healthy master.
            let scan_every = Duration::from_millis(config.scan_inactive_master_interval);
            let grace = scan_every.max(
                ferromq_common::lock(&self.live)
                    .longest_timeout()
                    .unwrap_or(crate::heartbeat::DEFAULT_HEARTBEAT_TIMEOUT),
            );
            let led_for = leader_since.map(|t| now.duration_since(t));
            if led_for.is_some_and(|d| d >= scan_every)
                && now.duration_since(last_scan) >= scan_every
            {
                last_scan = now;
                // Before that, only masters this controller saw go are known dead.
                let known_dead = led_for
                    .is_none_or(|d| d < grace)
                    .then(|| ferromq_common::lock(&self.live).departed_keys());
                let need = self
                    .read(|state, live| {
                        let mut need = manager::sets_needing_election(state, live);
                        if let Some(dead) = &known_dead {
                            need.retain(|name| {
                                state.sets.get(name).is_some_and(|set| {
                                    set.master_broker_id.is_some_and(|id| {
                                        dead.contains(&key(&set.cluster_name, name, id))
                                    })
                                })
                            });
                        }
                        need
                    })
                    .await
                    .unwrap_or_default();
                for broker_name in need {
                    self.trigger_election(&broker_name).await;
                }
            }
        }
    }
}

/// The IP addresses of every peer's host (IP literals as written, host names resolved once).
/// A peer that does not resolve is logged and left out: Raft RPCs from it are refused until
/// the controller restarts.
async fn resolve_peer_ips(peers: &Peers) -> std::collections::HashSet<std::net::IpAddr> {
    let mut ips = std::collections::HashSet::new();
    for peer in &peers.peers {
        match tokio::net::lookup_host(peer.addr.as_str()).await {
            Ok(addrs) => ips.extend(addrs.map(|a| a.ip())),
            Err(e) => {
                tracing::warn!(peer = %peer.addr, error = %e, "cannot resolve a controller peer's address; its Raft requests will be refused")
            }
        }
    }
    ips
}
