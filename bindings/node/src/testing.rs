//! The addon's half of `require('ferromq/testing').LocalCluster`: the core's
//! `ferromq_client::testing::LocalCluster` (real `mqnamesrv`/`mqbroker` processes on free
//! ports, a temporary store, ready once the name server lists every broker) behind Promises.
//!
//! Starting, restarting and stopping block for seconds, so they run on tokio's blocking pool
//! (`spawn_blocking`), never on the JavaScript thread. `testing.js` wraps these classes: it
//! passes the package's bundled `bin/` directory, adds `Symbol.asyncDispose` and stops leftover
//! clusters when the process exits.

use std::path::PathBuf;
use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::time::Duration;

use napi::{Error, Result, Status};
use napi_derive::napi;

use ferromq_client::testing::{
    Binaries, LocalBroker as CoreBroker, LocalCluster as CoreCluster, LocalClusterError,
};

/// How to start a local cluster (every field optional).
#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct LocalClusterOptions {
    /// Broker groups (masters), named `broker-a`, `broker-b`, ... (1).
    pub brokers: Option<u32>,
    /// Whether each master gets a slave (`brokerRole=SLAVE`; the masters are then
    /// `SYNC_MASTER` unless a config line says otherwise) (false).
    pub slaves: Option<bool>,
    /// Properties lines (`key=value`, Apache's key names) for every broker, written after the
    /// cluster's own lines, so they win (e.g. `enablePropertyFilter=true`).
    pub broker_config: Option<Vec<String>>,
    /// Properties lines for the name server.
    pub namesrv_config: Option<Vec<String>>,
    /// How long each server may take to boot and register, ms (60000).
    pub boot_timeout_ms: Option<u32>,
    /// Whether start and restart wait until the name server lists each broker (true). The
    /// check asks in plaintext: set it to false for a name server with
    /// `tls.server.mode=enforcing`, and wait for the registration in the test.
    pub wait_for_registration: Option<bool>,
    /// The directory of the servers the package bundles, looked at before `FERROMQ_BIN_DIR`
    /// and `PATH` (`ferromq/testing` passes it).
    pub bundled_bin_dir: Option<String>,
}

/// Where a cluster's server binaries were found.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct LocalClusterBinaries {
    /// Path of `mqnamesrv`.
    pub namesrv: String,
    /// Path of `mqbroker`.
    pub broker: String,
    /// Which rule found them: `bundled`, `FERROMQ_BIN_DIR` or `PATH`.
    pub source: String,
}

type Shared = Arc<RwLock<Option<CoreCluster>>>;

fn err(e: LocalClusterError) -> Error {
    Error::new(Status::GenericFailure, e.to_string())
}

fn stopped() -> Error {
    Error::new(
        Status::GenericFailure,
        "LocalCluster: the cluster is stopped".to_owned(),
    )
}

fn read(shared: &Shared) -> RwLockReadGuard<'_, Option<CoreCluster>> {
    shared.read().unwrap_or_else(|e| e.into_inner())
}

/// Runs `f` on the blocking pool.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::new(Status::GenericFailure, format!("LocalCluster: {e}")))?
}

/// The addon's local cluster; use `require('ferromq/testing').LocalCluster`, which wraps it.
#[napi]
#[derive(Debug)]
pub struct NativeLocalCluster {
    shared: Shared,
    namesrv_addr: String,
    dir: String,
    binaries: LocalClusterBinaries,
    brokers: u32,
    slaves: bool,
}

#[napi]
impl NativeLocalCluster {
    /// Starts a name server and the brokers; resolves once the name server lists every broker.
    #[napi]
    pub async fn start(options: Option<LocalClusterOptions>) -> Result<NativeLocalCluster> {
        let o = options.unwrap_or_default();
        let brokers = o.brokers.unwrap_or(1);
        if brokers == 0 {
            return Err(Error::new(
                Status::InvalidArg,
                "LocalCluster: brokers must be at least 1".to_owned(),
            ));
        }
        let slaves = o.slaves.unwrap_or(false);
        let core = blocking(move || {
            let bundled = o.bundled_bin_dir.map(PathBuf::from);
            let binaries = Binaries::find_with_bundled(bundled.as_deref()).map_err(err)?;
            let mut builder = CoreCluster::builder()
                .brokers(brokers as usize)
                .slaves(slaves)
                .binaries(binaries)
                .wait_for_registration(o.wait_for_registration.unwrap_or(true));
            for line in o.broker_config.unwrap_or_default() {
                builder = builder.broker_config(line);
            }
            for line in o.namesrv_config.unwrap_or_default() {
                builder = builder.namesrv_config(line);
            }
            if let Some(ms) = o.boot_timeout_ms {
                builder = builder.boot_timeout(Duration::from_millis(u64::from(ms)));
            }
            builder.start().map_err(err)
        })
        .await?;
        let b = core.binaries();
        let binaries = LocalClusterBinaries {
            namesrv: b.namesrv.display().to_string(),
            broker: b.broker.display().to_string(),
            source: b.source.to_owned(),
        };
        Ok(NativeLocalCluster {
            namesrv_addr: core.namesrv_addr().to_owned(),
            dir: core.dir().display().to_string(),
            binaries,
            brokers,
            slaves,
            shared: Arc::new(RwLock::new(Some(core))),
        })
    }

    /// The name server's address, `127.0.0.1:port`.
    #[napi(getter)]
    pub fn namesrv_addr(&self) -> String {
        self.namesrv_addr.clone()
    }

    /// The cluster's directory: `namesrv/` and one directory per broker (properties file,
    /// store, one log per start). Deleted by `stop()` unless `FERROMQ_KEEP_CLUSTER=1`.
    #[napi(getter)]
    pub fn dir(&self) -> String {
        self.dir.clone()
    }

    /// The server binaries the cluster runs and where they were found.
    #[napi(getter)]
    pub fn binaries(&self) -> LocalClusterBinaries {
        self.binaries.clone()
    }

    /// The number of broker groups.
    #[napi(getter)]
    pub fn broker_count(&self) -> u32 {
        self.brokers
    }

    /// The master of broker group `index` (`broker-a` is 0).
    #[napi]
    pub fn broker(&self, index: u32) -> Result<NativeLocalBroker> {
        self.handle(index, false)
    }

    /// The slave of broker group `index` (a cluster started with `slaves: true`).
    #[napi]
    pub fn slave(&self, index: u32) -> Result<NativeLocalBroker> {
        if !self.slaves {
            return Err(Error::new(
                Status::InvalidArg,
                "LocalCluster: started without slaves".to_owned(),
            ));
        }
        self.handle(index, true)
    }

    fn handle(&self, index: u32, slave: bool) -> Result<NativeLocalBroker> {
        if index >= self.brokers {
            return Err(Error::new(
                Status::InvalidArg,
                format!(
                    "LocalCluster: no broker {index} (the cluster has {})",
                    self.brokers
                ),
            ));
        }
        let guard = read(&self.shared);
        let core = guard.as_ref().ok_or_else(stopped)?;
        let b = pick(core, index as usize, slave).ok_or_else(stopped)?;
        Ok(NativeLocalBroker {
            shared: self.shared.clone(),
            index: index as usize,
            slave,
            broker_name: b.broker_name().to_owned(),
            broker_id: b.broker_id(),
        })
    }

    /// Stops every server cleanly (`SIGTERM`, up to 10 s each, then `SIGKILL`) and deletes the
    /// directory. A second call does nothing.
    #[napi]
    pub async fn stop(&self) -> Result<()> {
        let shared = self.shared.clone();
        blocking(move || {
            let core = shared.write().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(core) = core {
                core.stop();
            }
            Ok(())
        })
        .await
    }

    /// Kills every server at once and deletes the directory, blocking (for `process.on('exit')`).
    #[napi]
    pub fn destroy_sync(&self) {
        let core = self
            .shared
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        drop(core);
    }

    /// Whether `stop()` or `destroySync()` ran.
    #[napi(getter)]
    pub fn stopped(&self) -> bool {
        match self.shared.try_read() {
            Ok(guard) => guard.is_none(),
            // Being stopped right now.
            Err(_) => true,
        }
    }
}

fn pick(core: &CoreCluster, index: usize, slave: bool) -> Option<&CoreBroker> {
    if slave {
        core.slave(index)
    } else {
        core.brokers().get(index)
    }
}

/// One broker process of a `NativeLocalCluster`.
#[napi]
#[derive(Debug)]
pub struct NativeLocalBroker {
    shared: Shared,
    index: usize,
    slave: bool,
    broker_name: String,
    broker_id: u32,
}

impl NativeLocalBroker {
    fn with<T>(&self, f: impl FnOnce(&CoreBroker) -> T) -> Result<T> {
        with_broker(&self.shared, self.index, self.slave, f)
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&CoreBroker) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (shared, index, slave) = (self.shared.clone(), self.index, self.slave);
        blocking(move || with_broker(&shared, index, slave, f)?).await
    }
}

fn with_broker<T>(
    shared: &Shared,
    index: usize,
    slave: bool,
    f: impl FnOnce(&CoreBroker) -> T,
) -> Result<T> {
    let guard = read(shared);
    let core = guard.as_ref().ok_or_else(stopped)?;
    let b = pick(core, index, slave).ok_or_else(stopped)?;
    Ok(f(b))
}

#[napi]
impl NativeLocalBroker {
    /// `brokerName` (`broker-a`, ...).
    #[napi(getter)]
    pub fn broker_name(&self) -> String {
        self.broker_name.clone()
    }

    /// `brokerId` (0 for a master).
    #[napi(getter)]
    pub fn broker_id(&self) -> u32 {
        self.broker_id
    }

    /// `127.0.0.1:listenPort`, the address clients and the name server use.
    #[napi(getter)]
    pub fn addr(&self) -> Result<String> {
        self.with(CoreBroker::addr)
    }

    /// `listenPort` (the broker also listens on `listenPort - 2` and, for HA, `listenPort + 1`).
    #[napi(getter)]
    pub fn port(&self) -> Result<u32> {
        self.with(|b| u32::from(b.port()))
    }

    /// The broker's directory (properties file, `store/`, one log per start).
    #[napi(getter)]
    pub fn dir(&self) -> Result<String> {
        self.with(|b| b.dir().display().to_string())
    }

    /// Whether the process is running.
    #[napi(getter)]
    pub fn running(&self) -> bool {
        self.with(CoreBroker::is_running).unwrap_or(false)
    }

    /// The last lines of the current (or last) process's log.
    #[napi]
    pub fn log_tail(&self) -> Result<String> {
        self.with(CoreBroker::log_tail)
    }

    /// Adds a properties line from the next restart on (written last, so it wins).
    #[napi]
    pub fn add_config(&self, line: String) -> Result<()> {
        self.with(|b| b.add_config(line))
    }

    /// Kills the process with `SIGKILL` (no shutdown, no unregistration) and reaps it.
    #[napi]
    pub async fn kill(&self) -> Result<()> {
        self.run(|b| {
            b.kill();
            Ok(())
        })
        .await
    }

    /// Stops the process cleanly (`SIGTERM`; `SIGKILL` after 10 s).
    #[napi]
    pub async fn stop(&self) -> Result<()> {
        self.run(|b| {
            b.stop();
            Ok(())
        })
        .await
    }

    /// Starts the broker again on the same ports with the same store (killing it first if it
    /// still runs); resolves once the name server lists it.
    #[napi]
    pub async fn restart(&self) -> Result<()> {
        self.run(|b| b.restart().map_err(err)).await
    }
}
