//! Controller mode as processes: a FerroMQ name server (`mqnamesrv`), FerroMQ controllers
//! (`mqcontroller`) and the `mqbroker` replicas of one broker set (`broker-a`) in controller
//! mode, each a real process that can be killed with `SIGKILL`, paused with `SIGSTOP` or (with
//! [`crate::netns`]) cut off the network.
//!
//! Every server listens on and advertises one IP address ([`CmodeCluster::ip`]): `127.0.0.1`
//! normally, the host end of a veth pair when a broker runs in a network namespace (that broker
//! then advertises the namespace's end). The questions the tests ask the servers (who is master,
//! the sync state set, a broker's commitlog end) use the blocking client of [`crate::remoting`].
//!
//! The binaries come from [`Binaries::find`] (the cargo target dir of the running test);
//! `mqcontroller` is looked for beside `mqbroker`. Build them first:
//! `cargo build -p ferromq-namesrv -p ferromq-broker -p ferromq-controller`.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use ferromq_client::testing::Binaries;
use serde_json::Value;

use crate::net::{free_broker_port, free_port, wait_for_port, wait_until};
use crate::process::{tail_of_file, ChildGuard};
use crate::remoting;

/// How long a wait for the cluster (an election, a catch-up) may take.
pub const CLUSTER_TIMEOUT: Duration = Duration::from_secs(60);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);
const GET_BROKER_RUNTIME_INFO: i32 = 28;
const SEND_MESSAGE: i32 = 10;
const CONTROLLER_GET_REPLICA_INFO: i32 = 1004;
const CONTROLLER_GET_METADATA_INFO: i32 = 1005;
/// The broker set every test uses.
pub const BROKER_NAME: &str = "broker-a";

/// The server binaries: `mqnamesrv`, `mqbroker` and `mqcontroller`.
#[derive(Debug, Clone)]
pub struct ServerBinaries {
    /// `mqnamesrv`.
    pub namesrv: PathBuf,
    /// `mqbroker`.
    pub broker: PathBuf,
    /// `mqcontroller`.
    pub controller: PathBuf,
}

impl ServerBinaries {
    /// Finds the three binaries; panics naming the build command when one is missing.
    pub fn find() -> ServerBinaries {
        let b = Binaries::find().unwrap_or_else(|e| {
            panic!("{e} (cargo build -p ferromq-namesrv -p ferromq-broker -p ferromq-controller)")
        });
        let controller = b.broker.with_file_name("mqcontroller");
        assert!(
            controller.is_file(),
            "no mqcontroller beside {} (cargo build -p ferromq-controller)",
            b.broker.display()
        );
        ServerBinaries {
            namesrv: b.namesrv,
            broker: b.broker,
            controller,
        }
    }
}

/// One server process with its config file and log; started and stopped by the test.
#[derive(Debug)]
pub struct Server {
    /// What it is, for messages (`controller n1`, `broker 2`).
    pub name: String,
    /// `ip:port` it serves on.
    pub addr: String,
    /// Its directory (config, log, store).
    pub root: PathBuf,
    program: PathBuf,
    conf: PathBuf,
    /// Network namespace it runs in (`ip netns exec`), if any.
    netns: Option<String>,
    guard: Option<ChildGuard>,
}

impl Server {
    /// Starts the process (again, on the same config and store).
    pub fn start(&mut self) {
        assert!(self.guard.is_none(), "{} already runs", self.name);
        let mut cmd = match &self.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(&self.program);
                c
            }
            None => Command::new(&self.program),
        };
        cmd.arg("-c").arg(&self.conf);
        let log = self.root.join("server.log");
        let guard = ChildGuard::spawn(&self.name, cmd, &log)
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.name));
        self.guard = Some(guard);
    }

    /// `kill -9` (its whole process group) and reaps it.
    pub fn kill9(&mut self) {
        if let Some(mut g) = self.guard.take() {
            g.kill();
        }
    }

    /// Whether the process was started and not killed by the test.
    pub fn is_started(&self) -> bool {
        self.guard.is_some()
    }

    /// Sends `SIGSTOP` (`true`) or `SIGCONT` (`false`) to the process group.
    pub fn pause(&self, stop: bool) {
        let g = self.guard.as_ref().expect("not running");
        pause_group(g.id(), stop);
    }

    /// The last lines of its log.
    pub fn log_tail(&self, lines: usize) -> String {
        tail_of_file(&self.root.join("server.log"), lines)
    }

    /// Its whole log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.root.join("server.log")).unwrap_or_default()
    }

    /// Its commitlog files' bytes, in order (a broker only).
    pub fn commit_log(&self) -> Vec<u8> {
        commit_log_bytes(&self.root.join("store").join("commitlog"))
    }
}

/// A name server, controllers and the replicas of `broker-a`, all processes.
#[derive(Debug)]
pub struct CmodeCluster {
    /// The address every server listens on (brokers in a namespace excepted).
    pub ip: String,
    /// The name server's `ip:port`.
    pub namesrv: String,
    /// The controllers.
    pub controllers: Vec<Server>,
    /// The brokers (not started by [`CmodeCluster::new`]).
    pub brokers: Vec<Server>,
    bins: ServerBinaries,
    _namesrv: Server,
    // Last: the servers die before their directories are removed.
    dir: tempfile::TempDir,
}

impl CmodeCluster {
    /// Starts a name server and `controllers` controllers on `ip` (election timeout 500 ms, a
    /// broker's heartbeats checked every 200 ms) and waits for a controller leader. The brokers
    /// are added by [`CmodeCluster::add_broker`].
    pub fn new(ip: &str, controllers: usize) -> CmodeCluster {
        let bins = ServerBinaries::find();
        // FERROMQ_KEEP_CLUSTER=1 keeps the servers' directories (stores, logs) for a post-mortem.
        let keep = std::env::var("FERROMQ_KEEP_CLUSTER").is_ok_and(|v| v == "1");
        let dir = tempfile::Builder::new()
            .prefix("cmode-")
            .disable_cleanup(keep)
            .tempdir()
            .expect("tempdir");
        let ns_root = dir.path().join("namesrv");
        std::fs::create_dir_all(&ns_root).expect("mkdir");
        let ns_port = free_port();
        let ns_conf = ns_root.join("namesrv.properties");
        std::fs::write(
            &ns_conf,
            format!(
                "listenPort={ns_port}\nbindAddress={ip}\nkvConfigPath={}\nconfigStorePath={}\n",
                ns_root.join("kv.json").display(),
                ns_root.join("runtime.properties").display()
            ),
        )
        .expect("write");
        let mut namesrv = Server {
            name: "namesrv".into(),
            addr: format!("{ip}:{ns_port}"),
            root: ns_root,
            program: bins.namesrv.clone(),
            conf: ns_conf,
            netns: None,
            guard: None,
        };
        namesrv.start();
        let ports: Vec<u16> = (0..controllers).map(|_| free_port()).collect();
        let peers: Vec<String> = ports
            .iter()
            .enumerate()
            .map(|(i, p)| format!("n{i}-{ip}:{p}"))
            .collect();
        let mut ctls = Vec::new();
        for (i, port) in ports.iter().enumerate() {
            let root = dir.path().join(format!("controller-n{i}"));
            std::fs::create_dir_all(&root).expect("mkdir");
            let conf = root.join("controller.properties");
            std::fs::write(
                &conf,
                format!(
                    "controllerDLegerGroup=g\ncontrollerDLegerPeers={}\n\
                     controllerDLegerSelfId=n{i}\ncontrollerStorePath={}\nbindAddress={ip}\n\
                     jRaftElectionTimeoutMs=500\nscanNotActiveBrokerInterval=200\n\
                     scanInactiveMasterInterval=500\ncontrollerWriteTimeoutMs=2000\n",
                    peers.join(";"),
                    root.join("store").display()
                ),
            )
            .expect("write");
            let mut c = Server {
                name: format!("controller n{i}"),
                addr: format!("{ip}:{port}"),
                root,
                program: bins.controller.clone(),
                conf,
                netns: None,
                guard: None,
            };
            c.start();
            ctls.push(c);
        }
        for s in std::iter::once(&namesrv).chain(&ctls) {
            wait_for_port(&s.addr, CLUSTER_TIMEOUT)
                .unwrap_or_else(|e| panic!("{}: {e}\n{}", s.name, s.log_tail(40)));
        }
        let cluster = CmodeCluster {
            ip: ip.to_owned(),
            namesrv: namesrv.addr.clone(),
            controllers: ctls,
            brokers: Vec::new(),
            bins,
            _namesrv: namesrv,
            dir,
        };
        cluster.controller_leader();
        cluster
    }

    /// `controllerAddr` for the brokers.
    pub fn controller_addrs(&self) -> String {
        self.controllers
            .iter()
            .map(|c| c.addr.as_str())
            .collect::<Vec<_>>()
            .join(";")
    }

    /// Adds (does not start) a replica of `broker-a` in controller mode with
    /// `allAckInSyncStateSet=true` and `SYNC_FLUSH` (heartbeats every 200 ms, 2 s timeout),
    /// advertising `ip` (the cluster's when `None`) and run inside `netns` if given; `extra`
    /// lines are appended to its config. Returns its index.
    pub fn add_broker(&mut self, ip: Option<&str>, netns: Option<&str>, extra: &str) -> usize {
        let i = self.brokers.len();
        let root = self.dir.path().join(format!("broker-{i}"));
        std::fs::create_dir_all(&root).expect("mkdir");
        let port = free_broker_port();
        let ip = ip.unwrap_or(&self.ip).to_owned();
        let conf = root.join("broker.conf");
        std::fs::write(
            &conf,
            format!(
                "brokerClusterName=C\nbrokerName={BROKER_NAME}\nbrokerId=-1\nlistenPort={port}\n\
                 brokerIP1={ip}\nbrokerIP2={ip}\nnamesrvAddr={}\nstorePathRootDir={}\n\
                 mappedFileSizeCommitLog=4194304\nflushDiskType=SYNC_FLUSH\n\
                 enableControllerMode=true\ncontrollerAddr={}\nallAckInSyncStateSet=true\n\
                 brokerHeartbeatInterval=200\ncontrollerHeartBeatTimeoutMills=2000\n\
                 syncBrokerMetadataPeriod=1000\ncheckSyncStateSetPeriod=1000\n\
                 haSendHeartbeatInterval=200\nslaveTimeout=3000\nregisterNameServerPeriod=10000\n\
                 {extra}\n",
                self.namesrv,
                root.join("store").display(),
                self.controller_addrs()
            ),
        )
        .expect("write");
        self.brokers.push(Server {
            name: format!("broker {i}"),
            addr: format!("{ip}:{port}"),
            root,
            program: self.bins.broker.clone(),
            conf,
            netns: netns.map(str::to_owned),
            guard: None,
        });
        i
    }

    /// The index of the controller that leads (asking every running one); waits for one.
    pub fn controller_leader(&self) -> usize {
        let mut leader = None;
        wait_until("a controller leader", CLUSTER_TIMEOUT, || {
            leader = self.controllers.iter().position(|c| {
                c.is_started()
                    && remoting::request(
                        &c.addr,
                        CONTROLLER_GET_METADATA_INFO,
                        &[],
                        &[],
                        REQUEST_TIMEOUT,
                    )
                    .is_ok_and(|r| {
                        r.code == 0 && ext(&r.header, "isLeader").as_deref() == Some("true")
                    })
            });
            Ok(leader.is_some())
        })
        .unwrap_or_else(|e| panic!("{e}\n{}", self.logs()));
        leader.unwrap_or_default()
    }

    /// The set's master (id, address) and sync state set, as the leading controller says.
    pub fn replica_info(&self) -> Option<ReplicaInfo> {
        for c in self.controllers.iter().filter(|c| c.is_started()) {
            let Ok(r) = remoting::request(
                &c.addr,
                CONTROLLER_GET_REPLICA_INFO,
                &[("brokerName", BROKER_NAME)],
                &[],
                REQUEST_TIMEOUT,
            ) else {
                continue;
            };
            if r.code != 0 {
                continue;
            }
            let id: i64 = ext(&r.header, "masterBrokerId")?.parse().ok()?;
            let addr = ext(&r.header, "masterAddress").unwrap_or_default();
            let epoch: i32 = ext(&r.header, "masterEpoch")
                .and_then(|e| e.parse().ok())
                .unwrap_or(0);
            let body: Value = serde_json::from_slice(&r.body).ok()?;
            let set = body["syncStateSet"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_i64).collect())
                .unwrap_or_default();
            return (id >= 0 && !addr.is_empty()).then_some(ReplicaInfo {
                master_id: id,
                master_addr: addr,
                master_epoch: epoch,
                sync_state_set: set,
            });
        }
        None
    }

    /// Waits until the controllers name a master other than `not` whose sync state set has
    /// `size` members.
    pub fn wait_master(&self, size: usize, not: Option<&str>) -> ReplicaInfo {
        let mut got = None;
        let what = format!("a master (not {not:?}) with a sync state set of {size}");
        wait_until(&what, CLUSTER_TIMEOUT, || {
            got = self
                .replica_info()
                .filter(|r| r.sync_state_set.len() == size && Some(r.master_addr.as_str()) != not);
            Ok(got.is_some())
        })
        .unwrap_or_else(|e| panic!("{e}: last {:?}\n{}", self.replica_info(), self.logs()));
        got.expect("checked")
    }

    /// The index of the broker serving at `addr`.
    pub fn broker_at(&self, addr: &str) -> usize {
        self.brokers
            .iter()
            .position(|b| b.addr == addr)
            .unwrap_or_else(|| panic!("no broker at {addr}"))
    }

    /// The tails of every server's log, for a failure message.
    pub fn logs(&self) -> String {
        self.controllers
            .iter()
            .chain(&self.brokers)
            .map(|s| format!("--- {} ({}) ---\n{}", s.name, s.addr, s.log_tail(30)))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// What `CONTROLLER_GET_REPLICA_INFO` says about `broker-a`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaInfo {
    /// The master's broker id.
    pub master_id: i64,
    /// The master's address.
    pub master_addr: String,
    /// The master epoch.
    pub master_epoch: i32,
    /// The broker ids of the sync state set.
    pub sync_state_set: Vec<i64>,
}

/// An ext field of a response header as a string (numbers and booleans included).
fn ext(header: &Value, key: &str) -> Option<String> {
    match &header["extFields"][key] {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// A broker's `commitLogMaxOffset` (`GET_BROKER_RUNTIME_INFO`), `None` if it does not answer.
pub fn max_offset(addr: &str) -> Option<u64> {
    let r = remoting::request(addr, GET_BROKER_RUNTIME_INFO, &[], &[], REQUEST_TIMEOUT).ok()?;
    let v: Value = serde_json::from_slice(&r.body).ok()?;
    let field = &v["table"]["commitLogMaxOffset"];
    field
        .as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| field.as_u64())
}

/// Waits until the broker at `addr` answers with a commitlog end of at least `end`.
pub fn wait_offset_at_least(addr: &str, end: u64, what: &str) -> Result<u64, String> {
    let mut got = 0;
    wait_until(
        &format!("{what} ({addr}) at offset {end}"),
        CLUSTER_TIMEOUT,
        || {
            got = max_offset(addr).unwrap_or(0);
            Ok(got >= end)
        },
    )
    .map_err(|e| format!("{e} (at {got})"))?;
    Ok(got)
}

/// Sends one message straight to the broker at `addr` (`SEND_MESSAGE`, queue 0, waiting for
/// the store) and returns the answer's code and remark; `Err` when the broker does not answer.
pub fn send_direct(addr: &str, topic: &str, body: &str) -> Result<(i64, String), String> {
    let stream =
        start_send(addr, topic, body).map_err(|e| format!("SEND_MESSAGE to {addr}: {e}"))?;
    finish_send(stream).map_err(|e| format!("SEND_MESSAGE to {addr}: {e}"))
}

/// Connects to `addr` and writes a `SEND_MESSAGE` request (see [`send_direct`]) without
/// waiting for the answer: a paused broker's kernel takes both, and the broker reads the
/// request first thing when it resumes. [`finish_send`] reads the answer.
pub fn start_send(addr: &str, topic: &str, body: &str) -> std::io::Result<std::net::TcpStream> {
    use std::io::Write as _;
    let born = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis().to_string())
        .unwrap_or_default();
    let sock: std::net::SocketAddr = addr
        .parse()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{e}")))?;
    let mut stream = std::net::TcpStream::connect_timeout(&sock, REQUEST_TIMEOUT)?;
    stream.set_read_timeout(Some(CLUSTER_TIMEOUT))?;
    stream.write_all(&remoting::encode_request(
        SEND_MESSAGE,
        remoting::VERSION_5_3_3,
        1,
        &[
            ("producerGroup", "cmode-direct"),
            ("topic", topic),
            ("defaultTopic", "TBW102"),
            ("defaultTopicQueueNums", "4"),
            ("queueId", "0"),
            ("sysFlag", "0"),
            ("bornTimestamp", &born),
            ("flag", "0"),
            ("properties", "WAIT\u{1}true\u{2}"),
            ("reconsumeTimes", "0"),
        ],
        body.as_bytes(),
    ))?;
    Ok(stream)
}

/// The answer to [`start_send`]'s request: its code and remark.
pub fn finish_send(mut stream: std::net::TcpStream) -> std::io::Result<(i64, String)> {
    let r = remoting::decode_frame(&remoting::read_frame(&mut stream)?)?;
    Ok((r.code, r.remark().unwrap_or_default().to_owned()))
}

/// A commitlog directory's files' bytes, in order.
pub fn commit_log_bytes(dir: &std::path::Path) -> Vec<u8> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    files
        .iter()
        .flat_map(|f| std::fs::read(f).unwrap_or_default())
        .collect()
}

/// Sends `SIGSTOP` (`stop`) or `SIGCONT` to the process group led by `pid`.
pub fn pause_group(pid: u32, stop: bool) {
    let p = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
        .expect("pid");
    let sig = if stop {
        rustix::process::Signal::STOP
    } else {
        rustix::process::Signal::CONT
    };
    rustix::process::kill_process_group(p, sig)
        .unwrap_or_else(|e| panic!("signal {sig:?} to group {pid}: {e}"));
    if stop {
        // `kill` returns before the threads stop: each stops when it next runs. A thread that
        // was running (a JVM's replication thread, say) could still read and acknowledge a
        // write sent right after; wait until every thread of the leader is stopped.
        wait_until(
            &format!("every thread of {pid} stopped"),
            Duration::from_secs(10),
            || Ok(all_threads_stopped(pid)),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    }
}

/// Whether every thread of process `pid` is stopped (`T`/`t` in `/proc`) or gone (`Z`/`X`).
fn all_threads_stopped(pid: u32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return true; // gone: nothing runs
    };
    tasks.flatten().all(|t| {
        let stat = std::fs::read_to_string(t.path().join("stat")).unwrap_or_default();
        // The state follows the command name, which is in parentheses and may hold spaces.
        match stat.rfind(')') {
            Some(i) => matches!(
                stat[i + 1..].trim_start().chars().next(),
                Some('T' | 't') | None
            ),
            None => true,
        }
    })
}

/// One send acknowledged to Java `ControllerFailover` (a line of its `<ackFile>.at`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    /// The message key.
    pub key: String,
    /// When the acknowledgement arrived, epoch milliseconds.
    pub at: u64,
    /// `ip:port` of the broker that stored it (from the offset message id).
    pub host: String,
}

/// The acknowledgements `ControllerFailover produce` wrote so far for `ack_file`.
pub fn acks(ack_file: &std::path::Path) -> Vec<Ack> {
    let text = std::fs::read_to_string(format!("{}.at", ack_file.display())).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let mut it = l.split(' ');
            Some(Ack {
                key: it.next()?.to_owned(),
                at: it.next()?.parse().ok()?,
                host: it.next()?.to_owned(),
            })
        })
        .collect()
}

/// Now, epoch milliseconds (the clock `ControllerFailover` stamps acknowledgements with).
pub fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Waits until `ack_file` lists `n` acknowledgements stored by `master` at or after `since`
/// (epoch ms); `Err` when the deadline passes or `producer_running` says the producer exited.
pub fn wait_acks_from(
    ack_file: &std::path::Path,
    master: &str,
    since: u64,
    n: usize,
    mut producer_running: impl FnMut() -> bool,
) -> Result<(), String> {
    wait_until(
        &format!("{n} sends acknowledged by {master}"),
        CLUSTER_TIMEOUT,
        || {
            if !producer_running() {
                return Err("the producer exited".to_owned());
            }
            let got = acks(ack_file)
                .iter()
                .filter(|a| a.at >= since && a.host == master)
                .count();
            Ok(got >= n)
        },
    )
}

/// Waits for the first acknowledgement at or after `t0` (epoch ms) stored by a broker other
/// than `old_master`, and returns its time.
pub fn first_ack_elsewhere(
    ack_file: &std::path::Path,
    old_master: &str,
    t0: u64,
) -> Result<u64, String> {
    let mut first = None;
    wait_until(
        &format!("a send acknowledged by a broker other than {old_master}"),
        CLUSTER_TIMEOUT,
        || {
            first = acks(ack_file)
                .iter()
                .filter(|a| a.at >= t0 && a.host != old_master)
                .map(|a| a.at)
                .min();
            Ok(first.is_some())
        },
    )?;
    Ok(first.unwrap_or(t0))
}
