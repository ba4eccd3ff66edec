//! A real FerroMQ cluster for tests, in one line (feature `testing`).
//!
//! ```no_run
//! # fn main() -> Result<(), ferromq_client::testing::LocalClusterError> {
//! use ferromq_client::testing::LocalCluster;
//!
//! let cluster = LocalCluster::start(1)?;
//! let config = cluster.client_config("my-test");
//! // ... Producer::start(ProducerOptions { client: config, .. }) ...
//! cluster.broker(0).kill(); // SIGKILL, as an operator or a crash would
//! cluster.broker(0).restart()?; // same ports, same store; back once the name server lists it
//! # Ok(())
//! # }
//! ```
//!
//! [`LocalCluster`] starts the `mqnamesrv` and `mqbroker` binaries as child processes on free
//! loopback ports (picked below the kernel's ephemeral range, so no client connection can take
//! one between the check and the bind), each server with its properties file (Apache's keys),
//! store and log in one fresh temporary directory. It returns once the name server lists every
//! broker. Dropping it kills every process and deletes the directory (set
//! `FERROMQ_KEEP_CLUSTER=1` to keep it; its path is printed). Clusters in parallel tests get
//! distinct ports and directories. Only a test process killed with `SIGKILL` leaves its servers
//! running (nothing runs then to stop them); their directories name the process id.
//!
//! The API is blocking and needs no runtime: it works in a plain `#[test]` and inside a
//! `#[tokio::test]` alike (start-up blocks the calling thread for the second or so the servers
//! take to boot; wrap it in `spawn_blocking` if other tasks must run meanwhile).
//!
//! # Where the binaries come from
//! In this order, the first place that has both `mqnamesrv` and `mqbroker`:
//! 1. the directory in `FERROMQ_BIN_DIR` (e.g. the `bin/` of the server tarball);
//! 2. the cargo target directory of the running test or example (`target/<profile>/`), which
//!    has them after `cargo build -p ferromq-namesrv -p ferromq-broker` (or any
//!    `cargo test --workspace`);
//! 3. `PATH`.
//!
//! The Python and Node packages' `LocalCluster` look in the servers they bundle first
//! ([`Binaries::find_with_bundled`]), then `FERROMQ_BIN_DIR`, then `PATH`.
//!
//! The choice is logged (`tracing` at info, and once on standard error). When none has them,
//! [`LocalClusterError::BinariesNotFound`] lists the places looked at and how to get them.

use std::fmt::{self, Write as _};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use ferromq_protocol::body::ClusterInfo;
use ferromq_protocol::frame::{self, FrameDecoder};
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode, SerializeType};

use crate::ClientConfig;

mod binaries;
mod ports;

pub use binaries::Binaries;
use ports::{free_broker_port, free_ports};

/// Environment variable naming a directory with `mqnamesrv` and `mqbroker`, looked at first.
pub const BIN_DIR_ENV: &str = "FERROMQ_BIN_DIR";
/// Set to `1` to keep a cluster's directory (configs, stores, logs) after it is dropped.
pub const KEEP_ENV: &str = "FERROMQ_KEEP_CLUSTER";
/// The cluster name every broker registers under (`brokerClusterName`).
pub const CLUSTER_NAME: &str = "DefaultCluster";

const POLL: Duration = Duration::from_millis(50);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);
const TAIL_LINES: usize = 40;

/// Why a [`LocalCluster`] could not start or a broker could not restart. Its `Debug` form is
/// the readable message, so `.expect(..)` in a test prints what to do.
#[non_exhaustive]
pub enum LocalClusterError {
    /// No place had both `mqnamesrv` and `mqbroker`; each entry says where and what was found.
    BinariesNotFound {
        /// The places looked at, in order, each with what it lacked.
        looked_at: Vec<String>,
    },
    /// A file or process operation failed.
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: io::Error,
    },
    /// A server exited, or was not ready before its deadline.
    NotReady {
        /// Which server and what was awaited.
        what: String,
        /// The reason and the tail of its log.
        detail: String,
    },
}

impl fmt::Display for LocalClusterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LocalClusterError::BinariesNotFound { looked_at } => {
                writeln!(
                    f,
                    "LocalCluster: mqnamesrv and mqbroker not found. Looked at:"
                )?;
                for place in looked_at {
                    writeln!(f, "  - {place}")?;
                }
                write!(
                    f,
                    "Build them in this workspace (`cargo build -p ferromq-namesrv -p ferromq-broker`), \
                     or unpack the FerroMQ server tarball and set {BIN_DIR_ENV}=<its bin/ directory>, \
                     or put them on PATH."
                )
            }
            LocalClusterError::Io { what, source } => write!(f, "LocalCluster: {what}: {source}"),
            LocalClusterError::NotReady { what, detail } => {
                write!(f, "LocalCluster: {what}: {detail}")
            }
        }
    }
}

impl fmt::Debug for LocalClusterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for LocalClusterError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LocalClusterError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// What [`LocalCluster`] functions return.
pub type Result<T> = std::result::Result<T, LocalClusterError>;

fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> LocalClusterError {
    let what = what.into();
    move |source| LocalClusterError::Io { what, source }
}

/// Options of a [`LocalCluster`]; [`LocalCluster::builder`] makes one.
#[derive(Debug, Clone)]
pub struct LocalClusterBuilder {
    brokers: usize,
    slaves: bool,
    broker_lines: Vec<String>,
    per_broker_lines: Vec<(String, String)>,
    namesrv_lines: Vec<String>,
    boot_timeout: Duration,
    binaries: Option<Binaries>,
    wait_listed: bool,
}

impl Default for LocalClusterBuilder {
    fn default() -> Self {
        Self {
            brokers: 1,
            slaves: false,
            broker_lines: Vec::new(),
            per_broker_lines: Vec::new(),
            namesrv_lines: Vec::new(),
            boot_timeout: Duration::from_secs(60),
            binaries: None,
            wait_listed: true,
        }
    }
}

impl LocalClusterBuilder {
    /// How many broker groups (masters), named `broker-a`, `broker-b`, ... (default 1).
    pub fn brokers(mut self, n: usize) -> Self {
        self.brokers = n;
        self
    }

    /// Whether each master gets a slave (`brokerId=1`, `brokerRole=SLAVE`, the same
    /// `brokerName`); the masters are then `SYNC_MASTER` unless a config line says otherwise.
    pub fn slaves(mut self, yes: bool) -> Self {
        self.slaves = yes;
        self
    }

    /// A properties line (`key=value`, Apache's key names) for every broker, written after the
    /// cluster's own lines, so it wins (e.g. `autoCreateTopicEnable=false`).
    pub fn broker_config(mut self, line: impl Into<String>) -> Self {
        self.broker_lines.push(line.into());
        self
    }

    /// A properties line for the brokers of one group only (`broker-a`, masters and slave),
    /// written after the lines of [`Self::broker_config`].
    pub fn broker_config_for(mut self, broker_name: &str, line: impl Into<String>) -> Self {
        self.per_broker_lines
            .push((broker_name.to_owned(), line.into()));
        self
    }

    /// A properties line for the name server.
    pub fn namesrv_config(mut self, line: impl Into<String>) -> Self {
        self.namesrv_lines.push(line.into());
        self
    }

    /// How long each server may take to boot and register (default 60 s; a restart after a
    /// kill recovers the store first).
    pub fn boot_timeout(mut self, timeout: Duration) -> Self {
        self.boot_timeout = timeout;
        self
    }

    /// Whether starting and restarting a broker waits until the name server lists it (default
    /// `true`). The check asks the name server in plaintext, so turn it off for a name server
    /// with `tls.server.mode=enforcing`: a broker then counts as ready once it has booted and
    /// accepts connections, and the test waits for its registration its own way (for example by
    /// retrying its first topic creation).
    pub fn wait_for_registration(mut self, yes: bool) -> Self {
        self.wait_listed = yes;
        self
    }

    /// Uses these binaries instead of looking for them.
    pub fn binaries(mut self, binaries: Binaries) -> Self {
        self.binaries = Some(binaries);
        self
    }

    /// Starts the name server and the brokers; returns once the name server lists every broker.
    pub fn start(self) -> Result<LocalCluster> {
        LocalCluster::launch(self)
    }
}

/// A name server and brokers, all real processes; everything is killed and deleted on drop.
#[derive(Debug)]
pub struct LocalCluster {
    // Brokers before the name server: they are killed first.
    brokers: Vec<LocalBroker>,
    slaves: Vec<LocalBroker>,
    namesrv: Server,
    namesrv_addr: String,
    binaries: Binaries,
    dir: PathBuf,
    done: bool,
}

impl LocalCluster {
    /// Starts a name server and `brokers` brokers with the defaults; returns once the name
    /// server lists every broker.
    pub fn start(brokers: usize) -> Result<LocalCluster> {
        Self::builder().brokers(brokers).start()
    }

    /// Options for a cluster.
    pub fn builder() -> LocalClusterBuilder {
        LocalClusterBuilder::default()
    }

    fn launch(options: LocalClusterBuilder) -> Result<LocalCluster> {
        let binaries = match options.binaries.clone() {
            Some(b) => b,
            None => Binaries::find()?,
        };
        announce(&binaries);
        let dir = make_temp_dir()?;
        let mut cluster = LocalCluster {
            brokers: Vec::new(),
            slaves: Vec::new(),
            namesrv: Server::new("namesrv", dir.join("namesrv")),
            namesrv_addr: String::new(),
            binaries,
            dir,
            done: false,
        };
        cluster.start_namesrv(&options)?;
        let sync = options.slaves;
        for i in 0..options.brokers {
            let name = group_name(i);
            let role = if sync { "SYNC_MASTER" } else { "ASYNC_MASTER" };
            let master = cluster.new_broker(&options, &name, 0, role)?;
            cluster.brokers.push(master);
            if options.slaves {
                let slave = cluster.new_broker(&options, &name, 1, "SLAVE")?;
                cluster.slaves.push(slave);
            }
        }
        // All processes first, then the waits: the servers boot in parallel.
        let deadline = Instant::now() + options.boot_timeout;
        for b in cluster.brokers.iter().chain(&cluster.slaves) {
            b.spawn()?;
        }
        for b in cluster.brokers.iter().chain(&cluster.slaves) {
            b.wait_ready(deadline)?;
        }
        Ok(cluster)
    }

    fn start_namesrv(&mut self, options: &LocalClusterBuilder) -> Result<()> {
        let dir = self.namesrv.dir.clone();
        fs::create_dir_all(&dir).map_err(io_err(format!("create {}", dir.display())))?;
        let conf = dir.join("namesrv.properties");
        let deadline = Instant::now() + options.boot_timeout;
        loop {
            let port = free_ports(1)[0];
            let mut text = format!(
                "listenPort={port}\nwebSocketListenPort=0\nkvConfigPath={}\nconfigStorePath={}\n",
                dir.join("kvConfig.json").display(),
                dir.join("namesrv-store.properties").display()
            );
            for line in &options.namesrv_lines {
                let _ = writeln!(text, "{line}");
            }
            fs::write(&conf, text).map_err(io_err(format!("write {}", conf.display())))?;
            let mut cmd = Command::new(&self.binaries.namesrv);
            cmd.arg("-c").arg(&conf);
            self.namesrv.spawn(cmd)?;
            let addr = format!("127.0.0.1:{port}");
            let ready = wait_until(deadline, || {
                self.namesrv.ensure_running()?;
                Ok(port_accepts(&addr))
            });
            match ready {
                Ok(()) => {
                    self.namesrv_addr = addr;
                    return Ok(());
                }
                // Another process took the port between the check and the bind: another port.
                Err(_) if self.namesrv.bind_failed() && Instant::now() < deadline => continue,
                Err(detail) => {
                    return Err(LocalClusterError::NotReady {
                        what: format!("name server on {addr}"),
                        detail: format!("{detail}\n{}", self.namesrv.log_tail()),
                    })
                }
            }
        }
    }

    fn new_broker(
        &self,
        options: &LocalClusterBuilder,
        broker_name: &str,
        broker_id: u32,
        role: &str,
    ) -> Result<LocalBroker> {
        let label = if broker_id == 0 {
            broker_name.to_owned()
        } else {
            format!("{broker_name}-s")
        };
        let dir = self.dir.join(&label);
        fs::create_dir_all(&dir).map_err(io_err(format!("create {}", dir.display())))?;
        let mut lines = vec![
            format!("brokerClusterName={CLUSTER_NAME}"),
            format!("brokerName={broker_name}"),
            format!("brokerId={broker_id}"),
            format!("brokerRole={role}"),
            "flushDiskType=ASYNC_FLUSH".to_owned(),
            format!("namesrvAddr={}", self.namesrv_addr),
            "brokerIP1=127.0.0.1".to_owned(),
            "brokerIP2=127.0.0.1".to_owned(),
            "bindAddress=127.0.0.1".to_owned(),
            format!("storePathRootDir={}", dir.join("store").display()),
            // Small files: several brokers on one test machine's disk.
            format!("mappedFileSizeCommitLog={}", 32u64 << 20),
            format!("mappedFileSizeConsumeQueue={}", 20u64 * 30_000),
            "maxHashSlotNum=50000".to_owned(),
            "maxIndexNum=200000".to_owned(),
            "flushConsumerOffsetInterval=1000".to_owned(),
            // The shortest period: a slave learns a restarted master's address from it.
            "registerNameServerPeriod=10000".to_owned(),
        ];
        lines.extend(options.broker_lines.iter().cloned());
        lines.extend(
            options
                .per_broker_lines
                .iter()
                .filter(|(name, _)| name == broker_name)
                .map(|(_, line)| line.clone()),
        );
        let server = Server::new(&format!("broker {}", label_of(broker_name, broker_id)), dir);
        Ok(LocalBroker {
            label,
            broker_name: broker_name.to_owned(),
            broker_id,
            lines: Mutex::new(lines),
            port: Mutex::new(free_broker_port()),
            fresh_ports: true.into(),
            namesrv_addr: self.namesrv_addr.clone(),
            bin: self.binaries.broker.clone(),
            boot_timeout: options.boot_timeout,
            wait_listed: options.wait_listed,
            server: Mutex::new(server),
        })
    }

    /// The name server's address, `127.0.0.1:port`.
    pub fn namesrv_addr(&self) -> &str {
        &self.namesrv_addr
    }

    /// The master of broker group `i` (`broker-a` is 0). Panics if there is no such group.
    pub fn broker(&self, i: usize) -> &LocalBroker {
        &self.brokers[i]
    }

    /// The slave of broker group `i`, if the cluster was started with slaves.
    pub fn slave(&self, i: usize) -> Option<&LocalBroker> {
        self.slaves.get(i)
    }

    /// All masters, in group order.
    pub fn brokers(&self) -> &[LocalBroker] {
        &self.brokers
    }

    /// Client settings for this cluster with the given instance name.
    pub fn client_config(&self, instance: &str) -> ClientConfig {
        ClientConfig {
            namesrv_addr: self.namesrv_addr.clone(),
            instance_name: instance.to_owned(),
            ..ClientConfig::default()
        }
    }

    /// The binaries the cluster runs.
    pub fn binaries(&self) -> &Binaries {
        &self.binaries
    }

    /// The cluster's directory: `namesrv/` and one directory per broker (config, store, logs).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Waits until the name server lists every running broker.
    pub fn wait_all_listed(&self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        for b in self.brokers.iter().chain(&self.slaves) {
            if b.is_running() {
                b.wait_listed(deadline)?;
            }
        }
        Ok(())
    }

    /// Stops every server cleanly (`SIGTERM`: brokers unregister and close their stores; up to
    /// 10 s each, then `SIGKILL`) and deletes the directory.
    pub fn stop(mut self) {
        for b in self.slaves.iter().chain(&self.brokers) {
            b.stop();
        }
        self.namesrv.terminate(Duration::from_secs(10));
        self.clean_up();
    }

    fn clean_up(&mut self) {
        if self.done {
            return;
        }
        self.done = true;
        for b in self.slaves.iter().chain(&self.brokers) {
            b.kill();
        }
        self.namesrv.kill();
        if std::env::var(KEEP_ENV).is_ok_and(|v| v == "1") {
            eprintln!("{KEEP_ENV}=1: LocalCluster kept in {}", self.dir.display());
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        self.clean_up();
    }
}

fn group_name(i: usize) -> String {
    match u8::try_from(i) {
        Ok(n @ 0..=25) => format!("broker-{}", char::from(b'a' + n)),
        _ => format!("broker-{i}"),
    }
}

fn label_of(broker_name: &str, broker_id: u32) -> String {
    if broker_id == 0 {
        broker_name.to_owned()
    } else {
        format!("{broker_name} (slave {broker_id})")
    }
}

/// One `mqbroker` process of a [`LocalCluster`], running or not.
#[derive(Debug)]
pub struct LocalBroker {
    label: String,
    broker_name: String,
    broker_id: u32,
    lines: Mutex<Vec<String>>,
    port: Mutex<u16>,
    /// True until the broker first booted: a failed bind may then move it to other ports.
    fresh_ports: Mutex<bool>,
    namesrv_addr: String,
    bin: PathBuf,
    boot_timeout: Duration,
    wait_listed: bool,
    server: Mutex<Server>,
}

impl LocalBroker {
    /// `127.0.0.1:listenPort`, the address clients and the name server use.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port())
    }

    /// `listenPort` (the broker also listens on `listenPort - 2` and, for HA, `listenPort + 1`).
    pub fn port(&self) -> u16 {
        *lock(&self.port)
    }

    /// `brokerName`.
    pub fn broker_name(&self) -> &str {
        &self.broker_name
    }

    /// `brokerId` (0 for a master).
    pub fn broker_id(&self) -> u32 {
        self.broker_id
    }

    /// `storePathRootDir`.
    pub fn store_dir(&self) -> PathBuf {
        self.dir().join("store")
    }

    /// The broker's directory (properties file, store, one log per start).
    pub fn dir(&self) -> PathBuf {
        lock(&self.server).dir.clone()
    }

    /// Whether the process is running.
    pub fn is_running(&self) -> bool {
        lock(&self.server).ensure_running().is_ok()
    }

    /// The last lines of the current (or last) process's log.
    pub fn log_tail(&self) -> String {
        lock(&self.server).log_tail()
    }

    /// Kills the process with `SIGKILL` (no shutdown, no unregistration: the name server
    /// notices the closed connection) and reaps it. Does nothing if it is not running.
    pub fn kill(&self) {
        lock(&self.server).kill();
    }

    /// Stops the process cleanly (`SIGTERM`: it unregisters and closes its store), waiting up
    /// to 10 s before killing it.
    pub fn stop(&self) {
        lock(&self.server).terminate(Duration::from_secs(10));
    }

    /// Adds a properties line to this broker's file from its next [`restart`](Self::restart)
    /// on (written last, so it wins over earlier lines with the same key), e.g. another
    /// `webSocketListenPort`.
    pub fn add_config(&self, line: impl Into<String>) {
        lock(&self.lines).push(line.into());
    }

    /// Starts the broker again on the same ports with the same store (killing it first if it
    /// still runs); returns once the name server lists it.
    pub fn restart(&self) -> Result<()> {
        self.kill();
        self.spawn()?;
        self.wait_ready(Instant::now() + self.boot_timeout)
    }

    fn properties(&self) -> String {
        let port = self.port();
        let mut text = format!("listenPort={port}\nhaListenPort={}\n", port + 1);
        for line in lock(&self.lines).iter() {
            let _ = writeln!(text, "{line}");
        }
        text
    }

    fn spawn(&self) -> Result<()> {
        let mut server = lock(&self.server);
        let conf = server.dir.join("broker.properties");
        fs::write(&conf, self.properties()).map_err(io_err(format!("write {}", conf.display())))?;
        let mut cmd = Command::new(&self.bin);
        cmd.arg("-c").arg(&conf);
        server.spawn(cmd)
    }

    /// Waits for "boot success", the port, and the name server's listing; re-spawns (on new
    /// ports before the first boot) when the listen port could not be bound.
    fn wait_ready(&self, deadline: Instant) -> Result<()> {
        loop {
            let addr = self.addr();
            let booted = wait_until(deadline, || {
                let mut server = lock(&self.server);
                server.ensure_running()?;
                Ok(server.log_contains("boot success") && port_accepts(&addr))
            });
            match booted {
                Ok(()) => break,
                Err(_) if lock(&self.server).bind_failed() && Instant::now() < deadline => {
                    if *lock(&self.fresh_ports) {
                        *lock(&self.port) = free_broker_port();
                    } else {
                        // The old process's port is not released yet.
                        std::thread::sleep(Duration::from_millis(200));
                    }
                    self.spawn()?;
                }
                Err(detail) => {
                    return Err(LocalClusterError::NotReady {
                        what: format!("{} to boot on {addr}", self.label),
                        detail: format!("{detail}\n{}", self.log_tail()),
                    })
                }
            }
        }
        *lock(&self.fresh_ports) = false;
        if self.wait_listed {
            self.wait_listed(deadline)
        } else {
            Ok(())
        }
    }

    fn wait_listed(&self, deadline: Instant) -> Result<()> {
        let addr = self.addr();
        let id = i64::from(self.broker_id);
        let mut last = String::new();
        let listed = wait_until(deadline, || {
            lock(&self.server).ensure_running()?;
            match cluster_info(&self.namesrv_addr) {
                Ok(info) => Ok(info
                    .broker_addr_table
                    .get(&self.broker_name)
                    .is_some_and(|b| b.broker_addrs.get(&id) == Some(&addr))),
                Err(e) => {
                    last = e;
                    Ok(false)
                }
            }
        });
        listed.map_err(|detail| LocalClusterError::NotReady {
            what: format!("the name server to list {} ({addr})", self.label),
            detail: format!("{detail}; last answer: {last}\n{}", self.log_tail()),
        })
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A server process (or none yet), its directory and its numbered logs.
#[derive(Debug)]
struct Server {
    name: String,
    dir: PathBuf,
    starts: u32,
    child: Option<Child>,
    exited: Option<std::process::ExitStatus>,
    log: PathBuf,
}

impl Server {
    fn new(name: &str, dir: PathBuf) -> Self {
        Self {
            name: name.to_owned(),
            log: dir.join("none.log"),
            dir,
            starts: 0,
            child: None,
            exited: None,
        }
    }

    /// Spawns `cmd` (after killing any previous process), its output in `<n>.log`.
    fn spawn(&mut self, mut cmd: Command) -> Result<()> {
        self.kill();
        self.starts += 1;
        self.log = self.dir.join(format!("{}.log", self.starts));
        let out =
            File::create(&self.log).map_err(io_err(format!("create {}", self.log.display())))?;
        let err = out.try_clone().map_err(io_err("clone a log handle"))?;
        if std::env::var_os("RUST_LOG").is_none() {
            cmd.env("RUST_LOG", "info");
        }
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let child = cmd
            .spawn()
            .map_err(io_err(format!("start {} ({cmd:?})", self.name)))?;
        self.child = Some(child);
        self.exited = None;
        Ok(())
    }

    fn ensure_running(&mut self) -> std::result::Result<(), String> {
        let Some(child) = self.child.as_mut() else {
            return Err(format!("{} is not running", self.name));
        };
        if self.exited.is_none() {
            if let Ok(Some(status)) = child.try_wait() {
                self.exited = Some(status);
            }
        }
        match self.exited {
            None => Ok(()),
            Some(status) => Err(format!("{} exited with {status}", self.name)),
        }
    }

    fn log_text(&self) -> String {
        fs::read(&self.log)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    fn log_contains(&self, needle: &str) -> bool {
        self.log_text().contains(needle)
    }

    fn log_tail(&self) -> String {
        let text = self.log_text();
        let lines: Vec<&str> = text.lines().collect();
        format!(
            "--- {} ({}) ---\n{}",
            self.name,
            self.log.display(),
            lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n")
        )
    }

    /// Whether the process exited because it could not listen on its port.
    fn bind_failed(&mut self) -> bool {
        self.ensure_running().is_err()
            && self
                .log_text()
                .lines()
                .any(|l| l.contains("cannot listen") || l.contains("Address already in use"))
    }

    fn kill(&mut self) {
        if let Some(child) = self.child.as_mut() {
            if self.exited.is_none() {
                let _ = child.kill();
                if let Ok(status) = child.wait() {
                    self.exited = Some(status);
                }
            }
        }
    }

    /// `SIGTERM` through `kill(1)` (std sends no other signal than SIGKILL), waits up to
    /// `timeout` for the exit, then `SIGKILL`; at once when `kill(1)` cannot be run.
    fn terminate(&mut self, timeout: Duration) {
        if self.ensure_running().is_err() {
            return;
        }
        let signalled = self.child.as_ref().is_some_and(|child| {
            Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        });
        if signalled {
            let deadline = Instant::now() + timeout;
            let _ = wait_until(deadline, || Ok(self.ensure_running().is_err()));
        }
        self.kill();
    }
}

/// Polls `check` until it returns `Ok(true)`; an error at once when it returns one, or a timeout
/// error at the deadline.
fn wait_until(
    deadline: Instant,
    mut check: impl FnMut() -> std::result::Result<bool, String>,
) -> std::result::Result<(), String> {
    loop {
        if check()? {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err("timed out".to_owned());
        }
        std::thread::sleep(POLL);
    }
}

fn port_accepts(addr: &str) -> bool {
    addr.parse::<SocketAddr>()
        .is_ok_and(|a| TcpStream::connect_timeout(&a, Duration::from_millis(500)).is_ok())
}

/// `GET_BROKER_CLUSTER_INFO` over a blocking socket.
fn cluster_info(namesrv: &str) -> std::result::Result<ClusterInfo, String> {
    let addr: SocketAddr = namesrv.parse().map_err(|e| format!("{namesrv}: {e}"))?;
    let mut stream = TcpStream::connect_timeout(&addr, REQUEST_TIMEOUT)
        .map_err(|e| format!("connect {namesrv}: {e}"))?;
    stream
        .set_read_timeout(Some(REQUEST_TIMEOUT))
        .map_err(|e| e.to_string())?;
    let request = RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_INFO).with_opaque(1);
    let bytes = frame::encode_to_bytes(&request, SerializeType::Json).map_err(|e| e.to_string())?;
    stream.write_all(&bytes).map_err(|e| format!("send: {e}"))?;
    let decoder = FrameDecoder::default();
    let mut buf = BytesMut::with_capacity(4096);
    let response = loop {
        if let Some(cmd) = decoder.decode(&mut buf).map_err(|e| e.to_string())? {
            break cmd;
        }
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err("connection closed before the answer".to_owned());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    if response.response_code() != ResponseCode::SUCCESS {
        return Err(format!(
            "GET_BROKER_CLUSTER_INFO answered {:?} {:?}",
            response.response_code(),
            response.remark
        ));
    }
    ClusterInfo::decode(&response.body).map_err(|e| e.to_string())
}

fn announce(binaries: &Binaries) {
    tracing::info!(
        namesrv = %binaries.namesrv.display(),
        broker = %binaries.broker.display(),
        source = binaries.source,
        "LocalCluster binaries"
    );
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        eprintln!(
            "LocalCluster: using {} and {} (from {})",
            binaries.namesrv.display(),
            binaries.broker.display(),
            binaries.source
        );
    });
}

/// A new directory under the system temp dir, unique across processes and clusters.
fn make_temp_dir() -> Result<PathBuf> {
    static N: AtomicU64 = AtomicU64::new(0);
    let base = std::env::temp_dir();
    loop {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = base.join(format!(
            "ferromq-localcluster-{}-{}-{nanos:08x}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        match fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io_err(format!("create {}", dir.display()))(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_names_follow_apache_layouts() {
        assert_eq!(group_name(0), "broker-a");
        assert_eq!(group_name(1), "broker-b");
        assert_eq!(group_name(30), "broker-30");
    }
}
