//! Controller configuration: Apache's `ControllerConfig` and `JraftConfig` keys, read from a
//! properties file (`mqcontroller -c controller.properties`), plus a few FerroMQ keys.
//!
//! The quorum is named either the DLedger way (`controllerDLegerGroup`,
//! `controllerDLegerPeers=n0-127.0.0.1:9878;n1-...`, `controllerDLegerSelfId`) or, with
//! `controllerType=jRaft`, the jRaft way (`jRaftGroupId`, `jRaftInitConf`, `jRaftServerId`,
//! `jRaftControllerRPCAddr`). Either way FerroMQ runs Raft (openraft) and the controller
//! requests on one port per controller: the peer's address for DLedger, its
//! `jRaftControllerRPCAddr` entry for jRaft (the jRaft server addresses then only name the
//! peers). See docs/controller.md for every key read.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

pub use ferromq_common::settings::{LoadReport, SettingError as ConfigError};

fn home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

ferromq_remoting::server_settings! {
    [server_tls, client_tls]
    /// Controller settings (Apache key names in the docs of each field).
    pub struct ControllerConfig {
    /// `controllerType`: `DLedger` (the default) or `jRaft`: which keys name the quorum.
    controller_type: String = "DLedger".to_owned(), "controllerType", false;
    /// `controllerDLegerGroup`: the quorum's name (reported by GET_METADATA_INFO).
    controller_dleger_group: String = String::new(), "controllerDLegerGroup", false;
    /// `controllerDLegerPeers`: `id-host:port` for every controller, `;`-separated.
    controller_dleger_peers: String = String::new(), "controllerDLegerPeers", false;
    /// `controllerDLegerSelfId`: this controller's id among the peers.
    controller_dleger_self_id: String = String::new(), "controllerDLegerSelfId", false;
    /// `controllerStorePath`: the Raft log, vote and snapshots (`~/controller/store`).
    controller_store_path: PathBuf = home().join("controller").join("store"), "controllerStorePath", false;
    /// `enableElectUncleanMaster` (false): whether a replica outside the sync state set may
    /// become master when no replica in it is alive (it may lack acknowledged messages).
    enable_elect_unclean_master: bool = false, "enableElectUncleanMaster", true;
    /// `notifyBrokerRoleChanged` (true): send NOTIFY_BROKER_ROLE_CHANGED to the live replicas
    /// of a set after an election.
    notify_broker_role_changed: bool = true, "notifyBrokerRoleChanged", true;
    /// `scanNotActiveBrokerInterval` (5000 ms): how often expired broker heartbeats are removed
    /// (and a removed master triggers an election).
    scan_not_active_broker_interval: u64 = 5000, "scanNotActiveBrokerInterval", true;
    /// `scanInactiveMasterInterval` (5000 ms): how often the leader looks for sets whose master
    /// is not alive while another replica is; the first look comes one interval after it became
    /// leader (brokers need that long to heartbeat to a new leader).
    scan_inactive_master_interval: u64 = 5000, "scanInactiveMasterInterval", true;
    /// `electMasterMaxRetryCount` (3): elections tried in a row for one inactive master.
    elect_master_max_retry_count: u32 = 3, "electMasterMaxRetryCount", true;
    /// `processReadEvent` (false): serve reads only after confirming leadership with the quorum
    /// (Java's `isProcessReadEvent`); by default the leader answers reads from its state.
    process_read_event: bool = false, "processReadEvent", true, aliases ["isProcessReadEvent"];
    /// `configStorePath`: accepted; runtime updates are not written back.
    config_store_path: PathBuf = home().join("controller").join("controller.properties"), "configStorePath", false;
    /// `controllerThreadPoolNums` (accepted; tokio schedules requests).
    controller_thread_pool_nums: i32 = 16, "controllerThreadPoolNums", false;
    /// `controllerRequestThreadPoolQueueCapacity`: requests in flight per connection before
    /// SYSTEM_BUSY.
    controller_request_thread_pool_queue_capacity: u32 = 50000, "controllerRequestThreadPoolQueueCapacity", false;
    /// `mappedFileSize` (accepted; DLedger's file size, the FerroMQ log is one file).
    mapped_file_size: i64 = 1024 * 1024 * 1024, "mappedFileSize", false;

    /// `jRaftGroupId`: the quorum's name with `controllerType=jRaft`.
    j_raft_group_id: String = "jRaft-Controller".to_owned(), "jRaftGroupId", false;
    /// `jRaftServerId`: this controller's id (`host:port`) with `controllerType=jRaft`.
    j_raft_server_id: String = "localhost:9880".to_owned(), "jRaftServerId", false;
    /// `jRaftInitConf`: every controller's id, `,`-separated, with `controllerType=jRaft`.
    j_raft_init_conf: String = "localhost:9880,localhost:9881,localhost:9882".to_owned(), "jRaftInitConf", false;
    /// `jRaftControllerRPCAddr`: the controller ports, in `jRaftInitConf` order.
    j_raft_controller_rpc_addr: String = "localhost:9770,localhost:9771,localhost:9772".to_owned(), "jRaftControllerRPCAddr", false;
    /// `jRaftElectionTimeoutMs` (1000): the Raft election timeout in either mode (a follower
    /// waits 1 to 2 times this without a heartbeat before it stands; the leader heartbeats
    /// five times per timeout).
    j_raft_election_timeout_ms: u64 = 1000, "jRaftElectionTimeoutMs", false;
    /// `jRaftSnapshotIntervalSecs` (accepted; snapshots follow `controllerSnapshotEveryEntries`).
    j_raft_snapshot_interval_secs: u64 = 3600, "jRaftSnapshotIntervalSecs", false;

    /// `bindAddress` (FerroMQ, `0.0.0.0`): the address the controller port listens on.
    bind_address: String = "0.0.0.0".to_owned(), "bindAddress", false;
    /// `controllerSnapshotEveryEntries` (FerroMQ, 10000): a snapshot is written after this many
    /// log entries, and the log before it is dropped.
    controller_snapshot_every_entries: u64 = 10_000, "controllerSnapshotEveryEntries", false;
    /// `controllerWriteTimeoutMs` (FerroMQ, 5000, Apache's wait for DLedger): how long a change
    /// may wait to be committed by a majority before the request fails with SYSTEM_ERROR.
    controller_write_timeout_ms: u64 = 5000, "controllerWriteTimeoutMs", false;
    /// `logFormat` (FerroMQ, `text`) / `logDir` (empty = standard error) / `logMaxFiles` (7).
    log_format: String = "text".to_owned(), "logFormat", false;
    /// `logDir`: the directory of `controller.log`.
    log_dir: String = String::new(), "logDir", false;
    /// `logMaxFiles`: rolled log files kept.
    log_max_files: usize = 7, "logMaxFiles", false;
    // The TLS keys (Apache's `TlsSystemConfig`, as the name server and broker read them;
    // docs/tls.md), appended by `server_settings!`: the controller port serves TLS as
    // `tls.server.*` say, and the controller dials its peers (Raft) and brokers (role notices)
    // over TLS with `tls.enable=true`.
    }
}

impl ControllerConfig {
    /// The TLS of the controller port; `None` serves plaintext only. An unusable setting is
    /// an error naming it.
    pub fn server_tls(
        &self,
    ) -> Result<Option<std::sync::Arc<ferromq_remoting::ServerTls>>, String> {
        self.tls_keys()
            .and_then(|k| k.server())
            .and_then(ferromq_remoting::ServerTls::new)
            .map_err(|e| format!("TLS: {e}"))
    }

    /// The TLS of the connections the controller dials (peers, brokers); `None` unless
    /// `tls.enable=true`.
    pub fn client_tls(&self) -> Result<Option<ferromq_remoting::TlsConnector>, String> {
        let settings = self
            .tls_keys()
            .and_then(|k| k.client())
            .map_err(|e| format!("TLS: {e}"))?;
        settings
            .map(|s| ferromq_remoting::TlsConnector::new(&s))
            .transpose()
            .map_err(|e| format!("TLS: {e}"))
    }
}

/// One controller of the quorum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peer {
    /// Its id as configured (`n0`, or `host:port` for jRaft).
    pub id: String,
    /// Its controller port, `host:port`: Raft and controller requests.
    pub addr: String,
    /// Its Raft node id: a stable hash of `id`, so listing order does not matter.
    pub node_id: u64,
}

/// The quorum as configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peers {
    /// The group name.
    pub group: String,
    /// Every controller.
    pub peers: Vec<Peer>,
    /// This controller's position in `peers`.
    pub self_index: usize,
}

impl Peers {
    /// This controller.
    pub fn me(&self) -> &Peer {
        &self.peers[self.self_index]
    }

    /// The peer with Raft node id `node_id`.
    pub fn by_node(&self, node_id: u64) -> Option<&Peer> {
        self.peers.iter().find(|p| p.node_id == node_id)
    }

    /// `id:address;` for every peer, as GET_METADATA_INFO reports them.
    pub fn describe(&self) -> String {
        self.peers
            .iter()
            .map(|p| format!("{}:{};", p.id, p.addr))
            .collect()
    }
}

/// FNV-1a, 64 bits: a node id that depends on the peer's id only.
fn node_id(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn check_addr(key: &str, addr: &str) -> Result<(), String> {
    match addr.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok(()),
        _ => Err(format!("{key}: `{addr}` is not host:port")),
    }
}

impl ControllerConfig {
    /// Builds a config from properties text: defaults, then each key in the text.
    pub fn from_properties(text: &str) -> Result<(ControllerConfig, LoadReport), ConfigError> {
        let mut config = ControllerConfig::default();
        let report = config.apply_properties(text)?;
        Ok((config, report))
    }

    /// Whether the jRaft keys name the quorum.
    pub fn is_jraft(&self) -> bool {
        self.controller_type.eq_ignore_ascii_case("jRaft")
    }

    /// The quorum, from the DLedger or the jRaft keys; a clear error names the bad key.
    pub fn peers(&self) -> Result<Peers, String> {
        let (group, pairs, self_id, key) = if self.is_jraft() {
            let ids: Vec<&str> = split(&self.j_raft_init_conf, ',');
            let addrs: Vec<&str> = split(&self.j_raft_controller_rpc_addr, ',');
            if ids.len() != addrs.len() {
                return Err(format!(
                    "jRaftInitConf has {} peers but jRaftControllerRPCAddr has {} addresses",
                    ids.len(),
                    addrs.len()
                ));
            }
            let pairs: Vec<(String, String)> = ids
                .into_iter()
                .zip(addrs)
                .map(|(i, a)| (i.to_owned(), a.to_owned()))
                .collect();
            (
                self.j_raft_group_id.clone(),
                pairs,
                self.j_raft_server_id.trim().to_owned(),
                "jRaftControllerRPCAddr",
            )
        } else {
            let mut pairs = Vec::new();
            for item in split(&self.controller_dleger_peers, ';') {
                let Some((id, addr)) = item.split_once('-') else {
                    return Err(format!(
                        "controllerDLegerPeers: `{item}` is not id-host:port"
                    ));
                };
                pairs.push((id.trim().to_owned(), addr.trim().to_owned()));
            }
            (
                self.controller_dleger_group.clone(),
                pairs,
                self.controller_dleger_self_id.trim().to_owned(),
                "controllerDLegerPeers",
            )
        };
        if pairs.is_empty() {
            return Err(format!(
                "{key} is empty: name every controller of the quorum"
            ));
        }
        let mut peers = Vec::new();
        let mut seen = BTreeSet::new();
        for (id, addr) in pairs {
            check_addr(key, &addr)?;
            if id.is_empty() || !seen.insert(node_id(&id)) {
                return Err(format!("{key}: peer id `{id}` is empty or listed twice"));
            }
            peers.push(Peer {
                node_id: node_id(&id),
                id,
                addr,
            });
        }
        let Some(self_index) = peers.iter().position(|p| p.id == self_id) else {
            return Err(format!(
                "self id `{self_id}` is not among the peers ({})",
                peers
                    .iter()
                    .map(|p| p.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        };
        Ok(Peers {
            group,
            peers,
            self_index,
        })
    }

    /// The Raft election timeout.
    pub fn election_timeout(&self) -> Duration {
        Duration::from_millis(self.j_raft_election_timeout_ms.max(50))
    }

    /// How long a write may wait for the quorum.
    pub fn write_timeout(&self) -> Duration {
        Duration::from_millis(self.controller_write_timeout_ms.max(1))
    }
}

fn split(text: &str, sep: char) -> Vec<&str> {
    text.split(sep)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dledger_peers_parse_in_any_order() {
        let (c, report) = ControllerConfig::from_properties(
            "controllerDLegerGroup=group1\ncontrollerDLegerPeers=n0-127.0.0.1:9878;n1-127.0.0.1:9868 ;\ncontrollerDLegerSelfId=n1\nenableElectUncleanMaster=true\nisProcessReadEvent=true\n",
        )
        .expect("parse");
        assert!(report.unknown_keys.is_empty());
        assert!(c.enable_elect_unclean_master && c.process_read_event);
        let p = c.peers().expect("peers");
        assert_eq!(p.me().addr, "127.0.0.1:9868");
        assert_eq!(p.describe(), "n0:127.0.0.1:9878;n1:127.0.0.1:9868;");
        let (c2, _) = ControllerConfig::from_properties(
            "controllerDLegerPeers=n1-127.0.0.1:9868;n0-127.0.0.1:9878\ncontrollerDLegerSelfId=n0\n",
        )
        .expect("parse");
        let p2 = c2.peers().expect("peers");
        assert_eq!(
            p2.by_node(p.me().node_id).map(|x| x.id.as_str()),
            Some("n1")
        );
    }

    #[test]
    fn bad_quorums_are_named() {
        let err = |text: &str| {
            ControllerConfig::from_properties(text)
                .expect("parse")
                .0
                .peers()
                .expect_err("bad")
        };
        assert!(err("").contains("controllerDLegerPeers is empty"));
        assert!(err("controllerDLegerPeers=n0:9878\n").contains("not id-host:port"));
        assert!(err("controllerDLegerPeers=n0-host\n").contains("not host:port"));
        assert!(
            err("controllerDLegerPeers=n0-a:1;n0-b:2\ncontrollerDLegerSelfId=n0").contains("twice")
        );
        assert!(err("controllerDLegerPeers=n0-a:1\ncontrollerDLegerSelfId=n9").contains("n9"));
    }

    #[test]
    fn jraft_keys_name_the_quorum_too() {
        let (c, _) = ControllerConfig::from_properties(
            "controllerType=jRaft\njRaftServerId=localhost:9881\n",
        )
        .expect("parse");
        let p = c.peers().expect("peers");
        assert_eq!(p.peers.len(), 3);
        assert_eq!(p.me().addr, "localhost:9771");
        assert_eq!(p.group, "jRaft-Controller");
    }
}
