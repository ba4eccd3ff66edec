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
//! Besides `broker-a`, `broker-b`, ... (with [`LocalClusterBuilder::slaves`], each with a slave
//! `broker-a-s`, ...), a cluster can run any master/slave layout listed broker by broker
//! ([`LocalClusterBuilder::broker`] with a [`BrokerSpec`]: name, `brokerName`, `brokerId`,
//! [`BrokerRole`], [`FlushDiskType`], its own properties lines). A [`LocalBroker`] can be killed
//! (`SIGKILL`), terminated (`SIGTERM`, checked to exit cleanly), reconfigured
//! ([`LocalBroker::set_property`], e.g. to promote a slave by hand) and restarted on its ports and
//! store, and waited for until the name server lists or drops it.
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

use std::collections::HashSet;
use std::fmt::{self, Write as _};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::ClientConfig;

mod binaries;
mod broker;
mod ports;
mod server;

pub use binaries::Binaries;
pub use broker::{BrokerRole, BrokerSpec, FlushDiskType, LocalBroker};
use ports::{free_broker_port, free_ports};
use server::{port_accepts, wait_until, Server};

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
    /// The builder's layout cannot be run (e.g. two brokers with the same name).
    InvalidLayout {
        /// What is wrong.
        reason: String,
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
            LocalClusterError::InvalidLayout { reason } => {
                write!(f, "LocalCluster: invalid layout: {reason}")
            }
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
    master_role: Option<BrokerRole>,
    flush: FlushDiskType,
    layout: Vec<BrokerSpec>,
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
            master_role: None,
            flush: FlushDiskType::Async,
            layout: Vec::new(),
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

    /// The masters' `brokerRole` (default: `SYNC_MASTER` with [`Self::slaves`], otherwise
    /// `ASYNC_MASTER`). Not used with an explicit layout ([`Self::broker`]).
    pub fn master_role(mut self, role: BrokerRole) -> Self {
        self.master_role = Some(role);
        self
    }

    /// Every broker's `flushDiskType` (default `ASYNC_FLUSH`). Not used with an explicit
    /// layout ([`Self::broker`]).
    pub fn flush(mut self, flush: FlushDiskType) -> Self {
        self.flush = flush;
        self
    }

    /// Adds a broker to an explicit layout: with at least one, the cluster runs exactly these
    /// brokers, started in parallel, instead of the groups of [`Self::brokers`],
    /// [`Self::slaves`], [`Self::master_role`] and [`Self::flush`]. The lines of
    /// [`Self::broker_config`] and [`Self::broker_config_for`] still apply. Masters
    /// (`brokerId` 0) are then [`LocalCluster::brokers`] and the others
    /// [`LocalCluster::slave`]s, each in the order added; every one is found by its name with
    /// [`LocalCluster::broker_named`].
    pub fn broker(mut self, spec: BrokerSpec) -> Self {
        self.layout.push(spec);
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

    /// The brokers to run: the explicit layout, or the groups; an error for a layout that
    /// names a broker twice, leaves a name empty, or names one what is no directory of its own.
    fn layout(&self) -> Result<Vec<BrokerSpec>> {
        if self.layout.is_empty() {
            let role = self.master_role.unwrap_or(if self.slaves {
                BrokerRole::SyncMaster
            } else {
                BrokerRole::AsyncMaster
            });
            let mut specs = Vec::new();
            let mut slaves = Vec::new();
            for i in 0..self.brokers {
                let name = group_name(i);
                specs.push(BrokerSpec::master(&name, role, self.flush));
                if self.slaves {
                    slaves.push(BrokerSpec::slave(&name, self.flush));
                }
            }
            specs.extend(slaves);
            return Ok(specs);
        }
        let mut seen = HashSet::new();
        for spec in &self.layout {
            let problem = if spec.name.is_empty() || spec.broker_name.is_empty() {
                Some("a broker with an empty name or brokerName")
            } else if spec.name.contains(['/', '\\']) || spec.name.starts_with('.') {
                Some("a broker name that is not a plain directory name")
            } else if spec.name == "namesrv" {
                Some("a broker named after the name server's directory")
            } else if !seen.insert(spec.name.as_str()) {
                Some("two brokers with the same name")
            } else {
                None
            };
            if let Some(problem) = problem {
                return Err(LocalClusterError::InvalidLayout {
                    reason: format!("{problem} ({:?})", spec.name),
                });
            }
        }
        Ok(self.layout.clone())
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
        let layout = options.layout()?;
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
        for spec in &layout {
            let broker = cluster.new_broker(&options, spec)?;
            if spec.broker_id == 0 {
                cluster.brokers.push(broker);
            } else {
                cluster.slaves.push(broker);
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

    fn new_broker(&self, options: &LocalClusterBuilder, spec: &BrokerSpec) -> Result<LocalBroker> {
        let broker_name = spec.broker_name.as_str();
        let label = spec.name.clone();
        let dir = self.dir.join(&label);
        fs::create_dir_all(&dir).map_err(io_err(format!("create {}", dir.display())))?;
        let mut lines = vec![
            format!("brokerClusterName={CLUSTER_NAME}"),
            format!("brokerName={broker_name}"),
            format!("brokerId={}", spec.broker_id),
            format!("brokerRole={}", spec.role.as_str()),
            format!("flushDiskType={}", spec.flush.as_str()),
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
        lines.extend(spec.config.iter().cloned());
        let server = Server::new(&format!("broker {label}"), dir);
        Ok(LocalBroker {
            name: label,
            broker_name: broker_name.to_owned(),
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

    /// Every broker: the masters, then the slaves.
    pub fn all_brokers(&self) -> impl Iterator<Item = &LocalBroker> {
        self.brokers.iter().chain(&self.slaves)
    }

    /// The broker with this [name](LocalBroker::name) (`broker-a`, `broker-a-s`, or a
    /// [`BrokerSpec::name`]).
    pub fn broker_named(&self, name: &str) -> Option<&LocalBroker> {
        self.all_brokers().find(|b| b.name() == name)
    }

    /// The tail of the name server's log, for a failure message.
    pub fn namesrv_log_tail(&self) -> String {
        self.namesrv.log_tail()
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
                b.wait_listed_until(deadline)?;
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

    #[test]
    fn groups_become_masters_then_slaves_with_the_chosen_role_and_flush() {
        let specs = LocalCluster::builder()
            .brokers(2)
            .slaves(true)
            .flush(FlushDiskType::Sync)
            .layout()
            .expect("layout");
        let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["broker-a", "broker-b", "broker-a-s", "broker-b-s"]);
        assert_eq!(specs[0].role, BrokerRole::SyncMaster);
        assert_eq!(specs[2].role, BrokerRole::Slave);
        assert_eq!(specs[3].broker_id, 1);
        assert!(specs.iter().all(|s| s.flush == FlushDiskType::Sync));
        let specs = LocalCluster::builder()
            .slaves(true)
            .master_role(BrokerRole::AsyncMaster)
            .layout()
            .expect("layout");
        assert_eq!(specs[0].role, BrokerRole::AsyncMaster);
        assert_eq!(specs[0].flush, FlushDiskType::Async);
    }

    #[test]
    fn an_explicit_layout_replaces_the_groups_and_bad_names_are_refused() {
        let spec = BrokerSpec::master("x", BrokerRole::AsyncMaster, FlushDiskType::Async);
        let specs = LocalCluster::builder()
            .brokers(3)
            .broker(spec.clone())
            .layout()
            .expect("layout");
        assert_eq!(specs, std::slice::from_ref(&spec));
        for bad in ["", "../up", "a/b", "namesrv"] {
            let mut s = spec.clone();
            s.name = bad.to_owned();
            let err = LocalCluster::builder().broker(s).layout().expect_err(bad);
            assert!(
                matches!(err, LocalClusterError::InvalidLayout { .. }),
                "{err}"
            );
        }
    }
}
