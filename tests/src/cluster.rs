//! A FerroMQ cluster of real processes: the `mqnamesrv` and `mqbroker` binaries of this
//! workspace on free loopback ports, each broker with its properties file (Apache's keys),
//! store and logs in one temporary directory.
//!
//! Unlike [`crate::ferro`] (in-process servers), a broker here can die the way a machine or an
//! operator kills it: [`Cluster::kill9`] sends `SIGKILL`, [`Cluster::terminate`] `SIGTERM`, and
//! [`Cluster::restart`] starts the same binary again on the same ports and data directory
//! (after [`Cluster::set_property`], e.g. to promote a slave by hand).
//!
//! The binaries come from the target directory of the running test (`cargo test --workspace`
//! builds them; otherwise `cargo build --bins` first). Every wait has a deadline; a failure
//! shows the tail of the logs concerned. Each start of a server writes a fresh log,
//! `<name>.<n>.log`, so a restarted broker's "boot success" is its own.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::net::{free_broker_port, free_port, port_accepts, wait_until};
use crate::process::{tail_of_file, ChildGuard, TAIL_LINES};
use crate::remoting;

/// How long a server binary may take to print "boot success" and open its port (a restart
/// after `kill -9` recovers the store first).
pub const BOOT_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the name server may take to list (or drop) a broker.
pub const REGISTRATION_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a slave may take to catch up with its master.
pub const SYNC_TIMEOUT: Duration = Duration::from_secs(60);
/// `GET_BROKER_RUNTIME_INFO`.
pub const GET_BROKER_RUNTIME_INFO: i32 = 28;
/// `UPDATE_AND_CREATE_TOPIC`.
pub const UPDATE_AND_CREATE_TOPIC: i32 = 17;
/// `GET_ALL_TOPIC_CONFIG`.
pub const GET_ALL_TOPIC_CONFIG: i32 = 21;
/// Timeout of one harness request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// `brokerRole`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `SYNC_MASTER`: a send is acknowledged once a slave has it.
    SyncMaster,
    /// `ASYNC_MASTER`.
    AsyncMaster,
    /// `SLAVE`.
    Slave,
}

impl Role {
    /// Apache's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::SyncMaster => "SYNC_MASTER",
            Role::AsyncMaster => "ASYNC_MASTER",
            Role::Slave => "SLAVE",
        }
    }
}

/// `flushDiskType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flush {
    /// `SYNC_FLUSH`: a send is acknowledged once it is on disk.
    Sync,
    /// `ASYNC_FLUSH`.
    Async,
}

impl Flush {
    /// Apache's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Flush::Sync => "SYNC_FLUSH",
            Flush::Async => "ASYNC_FLUSH",
        }
    }
}

/// One broker of a layout.
#[derive(Debug, Clone)]
pub struct BrokerSpec {
    /// The harness's name for it (`broker-a`, `broker-a-s`, ...): its directory and log names.
    pub name: String,
    /// `brokerName`.
    pub broker_name: String,
    /// `brokerId` (0 for a master).
    pub broker_id: u32,
    /// `brokerRole`.
    pub role: Role,
    /// `flushDiskType`.
    pub flush: Flush,
}

impl BrokerSpec {
    /// A master (`broker_id` 0) named after its `brokerName`.
    pub fn master(broker_name: &str, role: Role, flush: Flush) -> Self {
        Self {
            name: broker_name.to_owned(),
            broker_name: broker_name.to_owned(),
            broker_id: 0,
            role,
            flush,
        }
    }

    /// Slave 1 of `broker_name`, named `<broker_name>-s`.
    pub fn slave(broker_name: &str, flush: Flush) -> Self {
        Self {
            name: format!("{broker_name}-s"),
            broker_name: broker_name.to_owned(),
            broker_id: 1,
            role: Role::Slave,
            flush,
        }
    }
}

/// A `mqbroker` process of a [`Cluster`] (running or not).
#[derive(Debug)]
pub struct ProcessBroker {
    spec: BrokerSpec,
    listen_port: u16,
    dir: PathBuf,
    /// Properties written after the harness's own lines (later keys win).
    overrides: Vec<(String, String)>,
    starts: u32,
    child: Option<ChildGuard>,
}

impl ProcessBroker {
    /// The harness's name (`broker-a`, `broker-a-s`, ...).
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// `brokerName`.
    pub fn broker_name(&self) -> &str {
        &self.spec.broker_name
    }

    /// What it was started as (roles changed by [`Cluster::set_property`] are not reflected).
    pub fn spec(&self) -> &BrokerSpec {
        &self.spec
    }

    /// `127.0.0.1:listenPort`, the address clients and the name server use.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.listen_port)
    }

    /// `haListenPort` (listenPort + 1, set explicitly so a failed bind stops the broker).
    pub fn ha_port(&self) -> u16 {
        self.listen_port + 1
    }

    /// `storePathRootDir`.
    pub fn store_dir(&self) -> PathBuf {
        self.dir.join("store")
    }

    /// The properties file it is started with.
    pub fn conf_path(&self) -> PathBuf {
        self.dir.join("broker.properties")
    }

    /// How many processes the harness has started for this broker (a start that could not
    /// bind its port and was retried counts too).
    pub fn starts(&self) -> u32 {
        self.starts
    }

    /// Whether the process is running (it has not exited or been killed).
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_status().is_none())
    }

    /// The tail of its current (or last) log.
    pub fn log_tail(&self, lines: usize) -> String {
        match &self.child {
            Some(c) => c.log_tail(lines),
            None => "<never started>".to_owned(),
        }
    }

    fn properties(&self, namesrv: &str) -> String {
        let mut text = String::new();
        let mut set = |k: &str, v: &str| {
            let _ = writeln!(text, "{k}={v}");
        };
        set("brokerClusterName", "DefaultCluster");
        set("brokerName", &self.spec.broker_name);
        set("brokerId", &self.spec.broker_id.to_string());
        set("brokerRole", self.spec.role.as_str());
        set("flushDiskType", self.spec.flush.as_str());
        set("listenPort", &self.listen_port.to_string());
        set("haListenPort", &self.ha_port().to_string());
        set("namesrvAddr", namesrv);
        set("brokerIP1", "127.0.0.1");
        set("brokerIP2", "127.0.0.1");
        set("bindAddress", "127.0.0.1");
        set("storePathRootDir", &self.store_dir().display().to_string());
        // Small files: four brokers on one small disk.
        set("mappedFileSizeCommitLog", &(32u64 << 20).to_string());
        set("mappedFileSizeConsumeQueue", &(20u64 * 30_000).to_string());
        set("maxHashSlotNum", "50000");
        set("maxIndexNum", "200000");
        set("flushConsumerOffsetInterval", "1000");
        // The shortest period (10 s): a slave learns its restarted master's address from a
        // registration answer.
        set("registerNameServerPeriod", "10000");
        for (k, v) in &self.overrides {
            set(k, v);
        }
        text
    }

    /// Writes the properties and starts the binary; returns once it printed "boot success"
    /// and its port accepts connections. A listen port still held by the previous process (in
    /// the moments after a kill) makes it exit at once: then it is started again, up to
    /// [`BOOT_TIMEOUT`].
    fn start(&mut self, bin: &Path, namesrv: &str) {
        fs::write(self.conf_path(), self.properties(namesrv)).expect("write broker.properties");
        let deadline = Instant::now() + BOOT_TIMEOUT;
        loop {
            self.starts += 1;
            let log = self
                .dir
                .join(format!("{}.{}.log", self.spec.name, self.starts));
            let mut cmd = Command::new(bin);
            cmd.arg("-c").arg(self.conf_path());
            if std::env::var_os("RUST_LOG").is_none() {
                cmd.env("RUST_LOG", "info");
            }
            let child =
                ChildGuard::spawn(&self.spec.name, cmd, &log).unwrap_or_else(|e| panic!("{e}"));
            self.child = Some(child);
            let addr = self.addr();
            let child = self.child.as_mut().expect("just set");
            let booted = wait_until(
                &format!("{} to boot on {addr}", self.spec.name),
                deadline.saturating_duration_since(Instant::now()),
                || {
                    child.ensure_running()?;
                    let text = fs::read_to_string(child.log_path()).unwrap_or_default();
                    Ok(text.contains("boot success") && port_accepts(&addr))
                },
            );
            match booted {
                Ok(()) => return,
                Err(e) => {
                    let text = child.log_tail(TAIL_LINES);
                    // `mqbroker: invalid configuration: cannot listen on ...` and exit: a port
                    // of the previous process not yet released (the fast port's warning does
                    // not stop the broker and is not this).
                    let bind_failed = child.try_status().is_some()
                        && text
                            .lines()
                            .any(|l| l.starts_with("mqbroker:") && l.contains("cannot listen"));
                    if bind_failed && Instant::now() < deadline {
                        // The port is still held (by a dying process); try again shortly.
                        std::thread::sleep(Duration::from_millis(200));
                        continue;
                    }
                    panic!("{e}\n--- {} ---\n{text}", child.log_path().display());
                }
            }
        }
    }
}

/// A name server and brokers, all real processes; everything is killed and deleted on drop.
#[derive(Debug)]
pub struct Cluster {
    // Brokers before the name server: dropped (killed) first.
    brokers: Vec<ProcessBroker>,
    namesrv: ChildGuard,
    namesrv_addr: String,
    broker_bin: PathBuf,
    dir: TempDir,
}

/// Set to `1` to keep a cluster's directory (configs, stores, logs) after the test; its path
/// is printed when the cluster is dropped.
pub const KEEP_ENV: &str = "FERROMQ_KEEP_CLUSTER";

impl Drop for Cluster {
    fn drop(&mut self) {
        for b in &mut self.brokers {
            if let Some(child) = b.child.as_mut() {
                child.kill();
            }
        }
        self.namesrv.kill();
        if std::env::var(KEEP_ENV).is_ok_and(|v| v == "1") {
            let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("tempdir"));
            eprintln!("{KEEP_ENV}=1: cluster kept in {}", dir.keep().display());
        }
    }
}

/// The directory of the workspace's binaries: `target/<profile>/` above the running test
/// executable (`target/<profile>/deps/<test>-<hash>`).
pub fn binary_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("path of the running test executable");
    let deps = exe.parent().expect("test executable has a directory");
    if deps.file_name().is_some_and(|n| n == "deps") {
        deps.parent().expect("deps has a parent").to_path_buf()
    } else {
        deps.to_path_buf()
    }
}

/// The path of the workspace binary `name`; panics if it has not been built.
pub fn binary(name: &str) -> PathBuf {
    let path = binary_dir().join(name);
    assert!(
        path.is_file(),
        "{} not found: build the binaries first: cargo build --bins",
        path.display()
    );
    path
}

impl Cluster {
    /// The classic 2-master-2-slave layout (`conf/2m-2s-*`): `broker-a` and `broker-b` masters
    /// with `master_role`, slaves `broker-a-s` and `broker-b-s`, all with `flush`; returns once
    /// the name server lists all four.
    pub fn two_masters_two_slaves(master_role: Role, flush: Flush) -> Cluster {
        Cluster::start(&[
            BrokerSpec::master("broker-a", master_role, flush),
            BrokerSpec::master("broker-b", master_role, flush),
            BrokerSpec::slave("broker-a", flush),
            BrokerSpec::slave("broker-b", flush),
        ])
    }

    /// Starts a name server and `layout`'s brokers in order; returns once the name server
    /// lists every broker.
    pub fn start(layout: &[BrokerSpec]) -> Cluster {
        let namesrv_bin = binary("mqnamesrv");
        let broker_bin = binary("mqbroker");
        let dir = tempfile::Builder::new()
            .prefix("ferromq-cluster-")
            .tempdir()
            .expect("tempdir");
        let port = free_port();
        let ns_dir = dir.path().join("namesrv");
        fs::create_dir_all(&ns_dir).expect("create namesrv dir");
        let conf = ns_dir.join("namesrv.properties");
        fs::write(
            &conf,
            format!(
                "listenPort={port}\nwebSocketListenPort=0\nkvConfigPath={}\nconfigStorePath={}\n",
                ns_dir.join("kvConfig.json").display(),
                ns_dir.join("namesrv-store.properties").display()
            ),
        )
        .expect("write namesrv.properties");
        let mut cmd = Command::new(&namesrv_bin);
        cmd.arg("-c").arg(&conf);
        if std::env::var_os("RUST_LOG").is_none() {
            cmd.env("RUST_LOG", "info");
        }
        let mut namesrv = ChildGuard::spawn("namesrv", cmd, &ns_dir.join("namesrv.log"))
            .unwrap_or_else(|e| panic!("{e}"));
        let namesrv_addr = format!("127.0.0.1:{port}");
        wait_until("name server to boot", BOOT_TIMEOUT, || {
            namesrv.ensure_running()?;
            Ok(port_accepts(&namesrv_addr))
        })
        .unwrap_or_else(|e| panic!("{e}\n{}", namesrv.log_tail(TAIL_LINES)));
        let mut cluster = Cluster {
            brokers: Vec::new(),
            namesrv,
            namesrv_addr,
            broker_bin,
            dir,
        };
        for spec in layout {
            let broker_dir = cluster.dir.path().join(&spec.name);
            fs::create_dir_all(&broker_dir).expect("create broker dir");
            cluster.brokers.push(ProcessBroker {
                spec: spec.clone(),
                listen_port: free_broker_port(),
                dir: broker_dir,
                overrides: Vec::new(),
                starts: 0,
                child: None,
            });
            let i = cluster.brokers.len() - 1;
            let (bin, ns) = (cluster.broker_bin.clone(), cluster.namesrv_addr.clone());
            cluster.brokers[i].start(&bin, &ns);
        }
        cluster.wait_all_listed();
        cluster
    }

    /// The name server's address, `127.0.0.1:port`.
    pub fn namesrv(&self) -> &str {
        &self.namesrv_addr
    }

    /// The cluster's temporary directory (one subdirectory per server).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The broker the harness calls `name`; panics if there is none.
    pub fn broker(&self, name: &str) -> &ProcessBroker {
        self.brokers
            .iter()
            .find(|b| b.spec.name == name)
            .unwrap_or_else(|| panic!("no broker {name} in the cluster"))
    }

    fn broker_mut(&mut self, name: &str) -> &mut ProcessBroker {
        self.brokers
            .iter_mut()
            .find(|b| b.spec.name == name)
            .unwrap_or_else(|| panic!("no broker {name} in the cluster"))
    }

    /// Every broker, in layout order.
    pub fn brokers(&self) -> &[ProcessBroker] {
        &self.brokers
    }

    /// `kill -9` of the broker: no shutdown hook, no unregistration; the name server notices
    /// the closed connection.
    pub fn kill9(&mut self, name: &str) {
        let b = self.broker_mut(name);
        if let Some(child) = b.child.as_mut() {
            child.kill();
        }
    }

    /// Stops the broker cleanly (`SIGTERM`: it unregisters and closes its store) and waits for
    /// it to exit; panics with its log if it does not exit successfully within 30 s.
    pub fn terminate(&mut self, name: &str) {
        let b = self.broker_mut(name);
        let child = b.child.as_mut().expect("broker was started");
        match child.terminate(Duration::from_secs(30)) {
            Some(status) if status.success() => {}
            Some(status) => panic!(
                "{name} exited with {status} on SIGTERM\n{}",
                child.log_tail(TAIL_LINES)
            ),
            None => panic!(
                "{name} still running 30 s after SIGTERM\n{}",
                child.log_tail(TAIL_LINES)
            ),
        }
    }

    /// Sets `key=value` in the broker's properties for its next [`Cluster::restart`] (after the
    /// harness's lines, so it wins). `brokerId` and `brokerRole` change the spec as well.
    pub fn set_property(&mut self, name: &str, key: &str, value: &str) {
        let b = self.broker_mut(name);
        match key {
            "brokerId" => b.spec.broker_id = value.parse().expect("numeric brokerId"),
            "brokerRole" => {
                b.spec.role = match value {
                    "SYNC_MASTER" => Role::SyncMaster,
                    "ASYNC_MASTER" => Role::AsyncMaster,
                    "SLAVE" => Role::Slave,
                    other => panic!("unknown brokerRole {other}"),
                }
            }
            _ => {
                b.overrides.retain(|(k, _)| k != key);
                b.overrides.push((key.to_owned(), value.to_owned()));
            }
        }
    }

    /// Starts a stopped or killed broker again: the same binary, ports and store directory;
    /// returns once it booted (not yet registered: see [`Cluster::wait_listed`]). Panics if it
    /// is still running.
    pub fn restart(&mut self, name: &str) {
        let (bin, ns) = (self.broker_bin.clone(), self.namesrv_addr.clone());
        let b = self.broker_mut(name);
        assert!(!b.is_running(), "{name} is still running");
        b.start(&bin, &ns);
    }

    /// `GET_BROKER_CLUSTER_INFO` as text.
    pub fn cluster_info(&self) -> Result<String, String> {
        let info = remoting::broker_cluster_info(&self.namesrv_addr).map_err(|e| e.to_string())?;
        if info.code != 0 {
            return Err(format!(
                "GET_BROKER_CLUSTER_INFO code {} {:?}",
                info.code,
                info.remark()
            ));
        }
        Ok(info.body_text())
    }

    /// Waits until the name server lists every running broker of the cluster.
    pub fn wait_all_listed(&mut self) {
        let names: Vec<String> = self.brokers.iter().map(|b| b.spec.name.clone()).collect();
        for name in names {
            if self.broker_mut(&name).is_running() {
                self.wait_listed(&name);
            }
        }
    }

    /// Waits until the name server lists the broker's address.
    pub fn wait_listed(&mut self, name: &str) {
        let needle = format!("\"{}\"", self.broker(name).addr());
        let mut last = String::new();
        let waited = wait_until(
            &format!("the name server to list {name}"),
            REGISTRATION_TIMEOUT,
            || {
                let b = self.broker_mut(name);
                if let Some(child) = b.child.as_mut() {
                    child.ensure_running()?;
                }
                match self.cluster_info() {
                    Ok(text) => {
                        let listed = text.contains(&needle);
                        last = text;
                        Ok(listed)
                    }
                    Err(e) => {
                        last = e;
                        Ok(false)
                    }
                }
            },
        );
        if let Err(e) = waited {
            panic!("{e}; cluster info: {last}\n{}", self.logs_tail(&[name]));
        }
    }

    /// Waits until the name server no longer lists the broker's address (after a kill or a
    /// stop).
    pub fn wait_unlisted(&self, name: &str) {
        let needle = format!("\"{}\"", self.broker(name).addr());
        let mut last = String::new();
        let waited = wait_until(
            &format!("the name server to drop {name}"),
            REGISTRATION_TIMEOUT,
            || match self.cluster_info() {
                Ok(text) => {
                    let gone = !text.contains(&needle);
                    last = text;
                    Ok(gone)
                }
                Err(e) => {
                    last = e;
                    Ok(false)
                }
            },
        );
        if let Err(e) = waited {
            panic!("{e}; cluster info: {last}\n{}", self.namesrv.log_tail(30));
        }
    }

    /// The broker's `GET_BROKER_RUNTIME_INFO` table (every value a string).
    pub fn runtime_info(&self, name: &str) -> Result<serde_json::Value, String> {
        let addr = self.broker(name).addr();
        let r = remoting::request(&addr, GET_BROKER_RUNTIME_INFO, &[], &[], REQUEST_TIMEOUT)
            .map_err(|e| format!("GET_BROKER_RUNTIME_INFO to {name}: {e}"))?;
        if r.code != 0 {
            return Err(format!(
                "GET_BROKER_RUNTIME_INFO to {name}: code {} {:?}",
                r.code,
                r.remark()
            ));
        }
        let v: serde_json::Value = serde_json::from_slice(&r.body)
            .map_err(|e| format!("runtime info of {name}: {e}: {}", r.body_text()))?;
        Ok(v["table"].clone())
    }

    /// The broker's `commitLogMaxOffset` (`GET_BROKER_RUNTIME_INFO`).
    pub fn commit_log_max_offset(&self, name: &str) -> Result<u64, String> {
        let table = self.runtime_info(name)?;
        let field = &table["commitLogMaxOffset"];
        field
            .as_str()
            .and_then(|s| s.parse().ok())
            .or_else(|| field.as_u64())
            .ok_or_else(|| format!("no commitLogMaxOffset in {name}'s runtime info"))
    }

    /// Waits until `slave` replicates `master` again and has all of it: its commitlog ends
    /// where the master's does, and the master (FerroMQ's `haSlaveAckOffsets`) has a slave
    /// connection that acknowledged that end. Equal offsets alone are not enough after a
    /// restart: the slave may not have reconnected yet (it retries every 5 s), and until it
    /// has, a SYNC_MASTER answers SLAVE_NOT_AVAILABLE. Returns the end.
    pub fn wait_in_sync(&self, master: &str, slave: &str) -> u64 {
        let mut last = String::new();
        let mut end = 0;
        let waited = wait_until(
            &format!("{slave} to replicate {master} and catch up"),
            SYNC_TIMEOUT,
            || {
                let (m, s) = match (self.runtime_info(master), self.commit_log_max_offset(slave)) {
                    (Ok(m), Ok(s)) => (m, s),
                    (Err(e), _) | (_, Err(e)) => {
                        last = e;
                        return Ok(false);
                    }
                };
                let m_end: u64 = m["commitLogMaxOffset"]
                    .as_str()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                let acks = m["haSlaveAckOffsets"].as_str().unwrap_or_default();
                last = format!("master at {m_end} (slave acks: '{acks}'), slave at {s}");
                end = m_end;
                let acked = acks.split(';').any(|a| {
                    a.rsplit_once('=')
                        .is_some_and(|(_, o)| o == m_end.to_string())
                });
                Ok(m_end == s && acked)
            },
        );
        if let Err(e) = waited {
            panic!("{e}: {last}\n{}", self.logs_tail(&[master, slave]));
        }
        end
    }

    /// Creates `topic` with `queues` read and write queues on every running master
    /// (`UPDATE_AND_CREATE_TOPIC`, as `mqadmin updateTopic -c` does); slaves get it from their
    /// master's tables (see [`Cluster::wait_topic_known`]).
    pub fn create_topic(&mut self, topic: &str, queues: u32) {
        let q = queues.to_string();
        let masters: Vec<(String, String)> = self
            .brokers
            .iter_mut()
            .filter(|b| b.spec.role != Role::Slave)
            .filter_map(|b| b.is_running().then(|| (b.spec.name.clone(), b.addr())))
            .collect();
        for (name, addr) in masters {
            let r = remoting::request(
                &addr,
                UPDATE_AND_CREATE_TOPIC,
                &[
                    ("topic", topic),
                    ("defaultTopic", "TBW102"),
                    ("readQueueNums", &q),
                    ("writeQueueNums", &q),
                    ("perm", "6"),
                    ("topicFilterType", "SINGLE_TAG"),
                    ("topicSysFlag", "0"),
                    ("order", "false"),
                ],
                &[],
                REQUEST_TIMEOUT,
            )
            .unwrap_or_else(|e| panic!("UPDATE_AND_CREATE_TOPIC {topic} on {name}: {e}"));
            assert_eq!(
                r.code,
                0,
                "UPDATE_AND_CREATE_TOPIC {topic} on {name}: {:?}",
                r.remark()
            );
        }
    }

    /// Waits until the broker's topic table (`GET_ALL_TOPIC_CONFIG`) has every one of
    /// `topics`: a slave's, once it synced its master's tables (every 10 s).
    pub fn wait_topic_known(&self, name: &str, topics: &[String]) {
        let addr = self.broker(name).addr();
        let mut missing: Vec<String> = topics.to_vec();
        let waited = wait_until(
            &format!("{name} to know the topics"),
            REGISTRATION_TIMEOUT,
            || {
                let r =
                    match remoting::request(&addr, GET_ALL_TOPIC_CONFIG, &[], &[], REQUEST_TIMEOUT)
                    {
                        Ok(r) if r.code == 0 => r,
                        _ => return Ok(false),
                    };
                let text = r.body_text();
                missing = topics
                    .iter()
                    .filter(|t| !text.contains(&format!("\"{t}\"")))
                    .cloned()
                    .collect();
                Ok(missing.is_empty())
            },
        );
        if let Err(e) = waited {
            panic!(
                "{e}: still missing {missing:?}\n{}",
                self.logs_tail(&[name])
            );
        }
    }

    /// Waits until the name server's route of `topic` has queues of every one of
    /// `broker_names` with the address of its running master (`brokerId` 0; after a
    /// promotion, the promoted broker) listed.
    pub fn wait_route_with_masters(&mut self, topic: &str, broker_names: &[&str]) {
        let masters: Vec<String> = broker_names
            .iter()
            .map(|name| {
                self.brokers
                    .iter_mut()
                    .find_map(|b| {
                        let master = b.spec.broker_name == *name && b.spec.broker_id == 0;
                        (master && b.is_running()).then(|| b.addr())
                    })
                    .unwrap_or_else(|| panic!("no running master of {name}"))
            })
            .collect();
        let mut last = String::new();
        let waited = wait_until(
            &format!("the route of {topic} with masters of {broker_names:?}"),
            REGISTRATION_TIMEOUT,
            || {
                let r = match remoting::topic_route(&self.namesrv_addr, topic) {
                    Ok(r) if r.code == 0 => r,
                    Ok(r) => {
                        last = format!("code {} {:?}", r.code, r.remark());
                        return Ok(false);
                    }
                    Err(e) => {
                        last = e.to_string();
                        return Ok(false);
                    }
                };
                last = r.body_text();
                Ok(broker_names.iter().zip(&masters).all(|(name, master)| {
                    // fastjson writes the ids as bare keys (`{0:"addr"}`), JSON as strings.
                    last.contains(&format!("\"brokerName\":\"{name}\""))
                        && (last.contains(&format!("0:\"{master}\""))
                            || last.contains(&format!("\"0\":\"{master}\"")))
                }))
            },
        );
        if let Err(e) = waited {
            panic!("{e}; last route: {last}");
        }
    }

    /// The tails of the named brokers' logs and of the name server's, for a failure message.
    pub fn logs_tail(&self, names: &[&str]) -> String {
        let mut out = String::new();
        for name in names {
            let b = self.broker(name);
            let path = b
                .child
                .as_ref()
                .map(|c| c.log_path().to_path_buf())
                .unwrap_or_default();
            let _ = write!(
                out,
                "\n--- {name} ({}) ---\n{}",
                path.display(),
                b.log_tail(TAIL_LINES)
            );
        }
        let _ = write!(
            out,
            "\n--- namesrv ({}) ---\n{}",
            self.namesrv.log_path().display(),
            tail_of_file(self.namesrv.log_path(), 20)
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_use_apache_keys_and_overrides_win() {
        let mut b = ProcessBroker {
            spec: BrokerSpec::slave("broker-a", Flush::Sync),
            listen_port: 30911,
            dir: PathBuf::from("/tmp/x"),
            overrides: Vec::new(),
            starts: 0,
            child: None,
        };
        b.overrides.push(("slaveReadEnable".into(), "true".into()));
        let text = b.properties("127.0.0.1:9876");
        for line in [
            "brokerName=broker-a",
            "brokerId=1",
            "brokerRole=SLAVE",
            "flushDiskType=SYNC_FLUSH",
            "listenPort=30911",
            "haListenPort=30912",
            "namesrvAddr=127.0.0.1:9876",
            "storePathRootDir=/tmp/x/store",
            "slaveReadEnable=true",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing in:\n{text}"
            );
        }
        assert_eq!(b.name(), "broker-a-s");
    }

    #[test]
    fn binary_dir_is_above_deps() {
        let dir = binary_dir();
        assert!(dir.is_dir(), "{}", dir.display());
        assert_ne!(dir.file_name().and_then(|n| n.to_str()), Some("deps"));
    }
}
