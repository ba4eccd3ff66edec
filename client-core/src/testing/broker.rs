//! One `mqbroker` process of a [`LocalCluster`](super::LocalCluster), and the specification
//! of a broker in an explicit layout ([`BrokerSpec`]).

use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::ports::free_broker_port;
use super::server::{cluster_info, lock, port_accepts, wait_until, Server};
use super::{io_err, LocalClusterError, Result};

/// `brokerRole`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerRole {
    /// `SYNC_MASTER`: a send is acknowledged once a slave has it too.
    SyncMaster,
    /// `ASYNC_MASTER`: a send is acknowledged once the master has it.
    AsyncMaster,
    /// `SLAVE`: replicates its master (same `brokerName`, `brokerId` above 0).
    Slave,
}

impl BrokerRole {
    /// Apache's name, as written in a properties file.
    pub fn as_str(self) -> &'static str {
        match self {
            BrokerRole::SyncMaster => "SYNC_MASTER",
            BrokerRole::AsyncMaster => "ASYNC_MASTER",
            BrokerRole::Slave => "SLAVE",
        }
    }

    /// The role named by Apache's name, if it is one.
    pub fn parse(name: &str) -> Option<BrokerRole> {
        match name {
            "SYNC_MASTER" => Some(BrokerRole::SyncMaster),
            "ASYNC_MASTER" => Some(BrokerRole::AsyncMaster),
            "SLAVE" => Some(BrokerRole::Slave),
            _ => None,
        }
    }
}

/// `flushDiskType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FlushDiskType {
    /// `SYNC_FLUSH`: a send is acknowledged once it is on disk.
    Sync,
    /// `ASYNC_FLUSH` (the default): written to disk in the background.
    #[default]
    Async,
}

impl FlushDiskType {
    /// Apache's name, as written in a properties file.
    pub fn as_str(self) -> &'static str {
        match self {
            FlushDiskType::Sync => "SYNC_FLUSH",
            FlushDiskType::Async => "ASYNC_FLUSH",
        }
    }
}

/// One broker of an explicit layout ([`LocalClusterBuilder::broker`](super::LocalClusterBuilder::broker)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerSpec {
    /// The cluster's name for it (`broker-a`, `broker-a-s`, ...): its directory, and what
    /// [`LocalCluster::broker_named`](super::LocalCluster::broker_named) finds it by. Unique
    /// within a cluster, a plain directory name, and not `namesrv`.
    pub name: String,
    /// `brokerName` (the broker group).
    pub broker_name: String,
    /// `brokerId` (0 for a master).
    pub broker_id: u32,
    /// `brokerRole`.
    pub role: BrokerRole,
    /// `flushDiskType`.
    pub flush: FlushDiskType,
    /// Properties lines (`key=value`) of this broker only, written after every other line.
    pub config: Vec<String>,
}

impl BrokerSpec {
    /// A master (`brokerId` 0) named after its `brokerName`.
    pub fn master(broker_name: &str, role: BrokerRole, flush: FlushDiskType) -> Self {
        Self {
            name: broker_name.to_owned(),
            broker_name: broker_name.to_owned(),
            broker_id: 0,
            role,
            flush,
            config: Vec::new(),
        }
    }

    /// Slave 1 of `broker_name`, named `<broker_name>-s`.
    pub fn slave(broker_name: &str, flush: FlushDiskType) -> Self {
        Self {
            name: format!("{broker_name}-s"),
            broker_name: broker_name.to_owned(),
            broker_id: 1,
            role: BrokerRole::Slave,
            flush,
            config: Vec::new(),
        }
    }

    /// Adds a properties line for this broker only.
    pub fn config(mut self, line: impl Into<String>) -> Self {
        self.config.push(line.into());
        self
    }
}

/// One `mqbroker` process of a [`LocalCluster`](super::LocalCluster), running or not.
#[derive(Debug)]
pub struct LocalBroker {
    pub(super) name: String,
    pub(super) broker_name: String,
    pub(super) lines: Mutex<Vec<String>>,
    pub(super) port: Mutex<u16>,
    /// True until the broker first booted: a failed bind may then move it to other ports.
    pub(super) fresh_ports: Mutex<bool>,
    pub(super) namesrv_addr: String,
    pub(super) bin: PathBuf,
    pub(super) boot_timeout: Duration,
    pub(super) wait_listed: bool,
    pub(super) server: Mutex<Server>,
}

impl LocalBroker {
    /// The cluster's name for it: `broker-a`, `broker-a-s` (slave 1 of `broker-a`), or the
    /// [`BrokerSpec::name`] of an explicit layout.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `127.0.0.1:listenPort`, the address clients and the name server use.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port())
    }

    /// `listenPort` (the broker also listens on `listenPort - 2` and, for HA, `listenPort + 1`).
    pub fn port(&self) -> u16 {
        *lock(&self.port)
    }

    /// `haListenPort`: `listenPort + 1`, set explicitly so that a failed bind stops the broker.
    pub fn ha_port(&self) -> u16 {
        self.port() + 1
    }

    /// `brokerName`.
    pub fn broker_name(&self) -> &str {
        &self.broker_name
    }

    /// `brokerId` (0 for a master) as its properties file says, [`Self::set_property`]
    /// included.
    pub fn broker_id(&self) -> u32 {
        self.property("brokerId")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// `brokerRole` as its properties file says, [`Self::set_property`] included.
    pub fn role(&self) -> Option<BrokerRole> {
        self.property("brokerRole")
            .and_then(|v| BrokerRole::parse(&v))
    }

    /// The value its properties file gives `key` (the last line with that key, as the broker
    /// reads it), or `None`. The cluster's own lines count; `listenPort` and `haListenPort`
    /// are not among them (see [`Self::port`]).
    pub fn property(&self, key: &str) -> Option<String> {
        lock(&self.lines).iter().rev().find_map(|line| {
            let (k, v) = line.split_once('=')?;
            (k.trim() == key).then(|| v.trim().to_owned())
        })
    }

    /// `storePathRootDir`.
    pub fn store_dir(&self) -> PathBuf {
        self.dir().join("store")
    }

    /// The broker's directory (properties file, store, one log per start).
    pub fn dir(&self) -> PathBuf {
        lock(&self.server).dir.clone()
    }

    /// The properties file it is (or was last) started with.
    pub fn conf_path(&self) -> PathBuf {
        self.dir().join("broker.properties")
    }

    /// The log of the current (or last) process: `<dir>/<n>.log` for the `n`-th start.
    pub fn log_path(&self) -> PathBuf {
        lock(&self.server).log.clone()
    }

    /// How many processes have been started for this broker (a start that could not bind its
    /// port and was repeated counts too).
    pub fn starts(&self) -> u32 {
        lock(&self.server).starts
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

    /// Sends `SIGTERM` and waits up to `timeout` for the process to exit; an error (with the
    /// log's tail) when it is still running then (it is killed) or exits unsuccessfully. Does
    /// nothing if it is not running.
    pub fn terminate(&self, timeout: Duration) -> Result<()> {
        let mut server = lock(&self.server);
        if server.ensure_running().is_err() {
            return Ok(());
        }
        let problem = match server.terminate(timeout) {
            Some(status) if status.success() => return Ok(()),
            Some(status) => format!("exited with {status} on SIGTERM"),
            None => format!("still running {timeout:?} after SIGTERM (killed)"),
        };
        Err(LocalClusterError::NotReady {
            what: format!("{} to stop", self.name),
            detail: format!("{problem}\n{}", server.log_tail()),
        })
    }

    /// Adds a properties line to this broker's file from its next [`restart`](Self::restart)
    /// on (written last, so it wins over earlier lines with the same key), e.g. another
    /// `webSocketListenPort`.
    pub fn add_config(&self, line: impl Into<String>) {
        lock(&self.lines).push(line.into());
    }

    /// Sets `key=value` in this broker's properties from its next [`restart`](Self::restart)
    /// on, replacing every earlier line with that key, e.g. `brokerId=0` and
    /// `brokerRole=ASYNC_MASTER` to promote a stopped slave by hand.
    pub fn set_property(&self, key: &str, value: &str) {
        let mut lines = lock(&self.lines);
        lines.retain(|line| line.split_once('=').is_none_or(|(k, _)| k.trim() != key));
        lines.push(format!("{key}={value}"));
    }

    /// Starts the broker again on the same ports with the same store (killing it first if it
    /// still runs); returns once it booted and (unless the cluster was built without
    /// [`wait_for_registration`](super::LocalClusterBuilder::wait_for_registration)) the name
    /// server lists it. A listen port still held by the previous process, in the moments after
    /// a kill, makes a start fail: it is repeated until the boot deadline.
    pub fn restart(&self) -> Result<()> {
        self.kill();
        self.spawn()?;
        self.wait_ready(Instant::now() + self.boot_timeout)
    }

    /// Waits until the name server lists this broker's address under its `brokerName` and
    /// [`broker_id`](Self::broker_id), up to the cluster's boot timeout.
    pub fn wait_listed(&self) -> Result<()> {
        self.wait_listed_until(Instant::now() + self.boot_timeout)
    }

    /// Waits until the name server no longer lists this broker's address (after a kill or a
    /// stop), up to the cluster's boot timeout.
    pub fn wait_unlisted(&self) -> Result<()> {
        let addr = self.addr();
        let mut last = String::new();
        let gone = wait_until(Instant::now() + self.boot_timeout, || {
            match cluster_info(&self.namesrv_addr) {
                Ok(info) => Ok(!info
                    .broker_addr_table
                    .values()
                    .any(|b| b.broker_addrs.values().any(|a| *a == addr))),
                Err(e) => {
                    last = e;
                    Ok(false)
                }
            }
        });
        gone.map_err(|detail| LocalClusterError::NotReady {
            what: format!("the name server to drop {} ({addr})", self.name),
            detail: format!("{detail}; last error: {last}"),
        })
    }

    fn properties(&self) -> String {
        let port = self.port();
        let mut text = format!("listenPort={port}\nhaListenPort={}\n", port + 1);
        for line in lock(&self.lines).iter() {
            let _ = writeln!(text, "{line}");
        }
        text
    }

    pub(super) fn spawn(&self) -> Result<()> {
        let mut server = lock(&self.server);
        let conf = server.dir.join("broker.properties");
        fs::write(&conf, self.properties()).map_err(io_err(format!("write {}", conf.display())))?;
        let mut cmd = Command::new(&self.bin);
        cmd.arg("-c").arg(&conf);
        server.spawn(cmd)
    }

    /// Waits for "boot success", the port, and the name server's listing; re-spawns (on new
    /// ports before the first boot) when the listen port could not be bound.
    pub(super) fn wait_ready(&self, deadline: Instant) -> Result<()> {
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
                        what: format!("{} to boot on {addr}", self.name),
                        detail: format!("{detail}\n{}", self.log_tail()),
                    })
                }
            }
        }
        *lock(&self.fresh_ports) = false;
        if self.wait_listed {
            self.wait_listed_until(deadline)
        } else {
            Ok(())
        }
    }

    pub(super) fn wait_listed_until(&self, deadline: Instant) -> Result<()> {
        let addr = self.addr();
        let id = i64::from(self.broker_id());
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
            what: format!("the name server to list {} ({addr})", self.name),
            detail: format!("{detail}; last answer: {last}\n{}", self.log_tail()),
        })
    }
}
