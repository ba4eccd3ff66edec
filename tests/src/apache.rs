//! The real Apache RocketMQ 5.3.3 name server and broker (jars from Maven Central), started on
//! free ports with their state and logs in temporary directories.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::Duration;

use tempfile::TempDir;

use crate::artifacts::JavaArtifacts;
use crate::net::{free_broker_port, free_port, port_accepts, wait_until};
use crate::process::{tail_of_file, ChildGuard, TAIL_LINES};
use crate::remoting;

/// How long a JVM server may take to open its port (several seconds on 2 cores).
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(90);

fn java_server_command(
    classpath: &str,
    heap: &str,
    home: &Path,
    main: &str,
    conf: &Path,
) -> Command {
    let mut cmd = Command::new("java");
    cmd.env("ROCKETMQ_HOME", home)
        .arg(format!("-Xms{heap}"))
        .arg(format!("-Xmx{heap}"))
        .arg("-XX:+UseG1GC")
        .arg(format!("-Duser.home={}", home.display()))
        .arg("-cp")
        .arg(classpath)
        .arg(main)
        .arg("-c")
        .arg(conf);
    cmd
}

fn server_failure(what: &str, err: &str, child: &ChildGuard, extra_log: &Path) -> String {
    let mut msg = format!(
        "{what}: {err}\n--- {} output ({}) ---\n{}",
        child.name(),
        child.log_path().display(),
        child.log_tail(TAIL_LINES)
    );
    if extra_log.is_file() {
        let _ = write!(
            msg,
            "\n--- {} ---\n{}",
            extra_log.display(),
            tail_of_file(extra_log, TAIL_LINES)
        );
    }
    msg
}

/// Apache `NamesrvStartup` on a free port of 127.0.0.1. Killed on drop.
#[derive(Debug)]
pub struct ApacheNamesrv {
    // Field order matters: the process dies before its directory is removed.
    child: ChildGuard,
    addr: String,
    dir: TempDir,
}

impl ApacheNamesrv {
    /// Fetches the jars if needed, starts the name server and waits until its port accepts
    /// connections. Panics (with the output tail) if it does not come up.
    pub fn start() -> Self {
        let jars = JavaArtifacts::get();
        let dir = tempfile::Builder::new()
            .prefix("apache-namesrv-")
            .tempdir()
            .expect("tempdir");
        let home = dir.path().join("home");
        fs::create_dir_all(&home).expect("create namesrv home");
        let port = free_port();
        let conf = dir.path().join("namesrv.conf");
        fs::write(&conf, format!("listenPort={port}\n")).expect("write namesrv.conf");
        let cmd = java_server_command(
            &jars.server_classpath,
            "256m",
            &home,
            "org.apache.rocketmq.namesrv.NamesrvStartup",
            &conf,
        );
        let mut child = ChildGuard::spawn("apache-namesrv", cmd, &dir.path().join("namesrv.out"))
            .unwrap_or_else(|e| panic!("{e}"));
        let addr = format!("127.0.0.1:{port}");
        let log = home.join("logs/rocketmqlogs/namesrv.log");
        if let Err(e) = wait_until(
            &format!("Apache name server on {addr}"),
            STARTUP_TIMEOUT,
            || {
                child.ensure_running()?;
                Ok(port_accepts(&addr))
            },
        ) {
            panic!(
                "{}",
                server_failure("Apache name server did not start", &e, &child, &log)
            );
        }
        Self { child, addr, dir }
    }

    /// `"127.0.0.1:port"`.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The temporary directory holding config, store, `user.home` and logs.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The process guard (e.g. to read its output).
    pub fn child(&self) -> &ChildGuard {
        &self.child
    }
}

/// Settings for [`ApacheBroker::start`].
#[derive(Debug, Clone)]
pub struct BrokerOptions {
    /// `brokerClusterName`.
    pub cluster_name: String,
    /// `brokerName`.
    pub broker_name: String,
    /// `autoCreateTopicEnable` (also makes the broker register `TBW102`).
    pub auto_create_topic: bool,
    /// JVM heap (`-Xms` = `-Xmx`).
    pub heap: String,
    /// Extra `key=value` lines for `broker.conf` (Apache key names), written after the
    /// harness's own lines, so they override them (last key wins in Java properties).
    pub extra_config: Vec<(String, String)>,
    /// `storePathRootDir` (the commitlog in its `commitlog/`); `None`: a `store/` directory in
    /// the broker's temporary directory, removed with it. A given directory is kept.
    pub store_root: Option<PathBuf>,
    /// `listenPort`; `None`: a free port triple. A given port `p` needs `p - 2` and `p + 1`
    /// free as well (see [`crate::net::free_broker_port`]).
    pub listen_port: Option<u16>,
}

impl Default for BrokerOptions {
    fn default() -> Self {
        Self {
            cluster_name: "DefaultCluster".to_owned(),
            broker_name: "broker-a".to_owned(),
            auto_create_topic: true,
            heap: "512m".to_owned(),
            extra_config: Vec::new(),
            store_root: None,
            listen_port: None,
        }
    }
}

/// Apache `BrokerStartup` (master, brokerId 0) on a free port triple of 127.0.0.1. Killed on
/// drop.
#[derive(Debug)]
pub struct ApacheBroker {
    child: ChildGuard,
    addr: String,
    options: BrokerOptions,
    dir: TempDir,
}

impl ApacheBroker {
    /// Starts a broker that registers with `namesrv_addr` (`"host:port"`, or several separated
    /// by `;`) and waits until its listen port accepts connections. Use
    /// [`ApacheBroker::wait_registered`] before starting clients.
    pub fn start(namesrv_addr: &str, options: BrokerOptions) -> Self {
        let jars = JavaArtifacts::get();
        let dir = tempfile::Builder::new()
            .prefix("apache-broker-")
            .tempdir()
            .expect("tempdir");
        let home = dir.path().join("home");
        let store = options
            .store_root
            .clone()
            .unwrap_or_else(|| dir.path().join("store"));
        fs::create_dir_all(&home).expect("create broker home");
        let port = options.listen_port.unwrap_or_else(free_broker_port);
        let mut conf = String::new();
        let mut set = |k: &str, v: &str| {
            let _ = writeln!(conf, "{k}={v}");
        };
        set("brokerClusterName", &options.cluster_name);
        set("brokerName", &options.broker_name);
        set("brokerId", "0");
        set("brokerRole", "ASYNC_MASTER");
        set("flushDiskType", "ASYNC_FLUSH");
        set("brokerIP1", "127.0.0.1");
        set("brokerIP2", "127.0.0.1");
        set("listenPort", &port.to_string());
        set("namesrvAddr", namesrv_addr);
        set("storePathRootDir", &store.display().to_string());
        set(
            "storePathCommitLog",
            &store.join("commitlog").display().to_string(),
        );
        set(
            "autoCreateTopicEnable",
            &options.auto_create_topic.to_string(),
        );
        set("autoCreateSubscriptionGroup", "true");
        set("enablePropertyFilter", "true");
        set("mappedFileSizeCommitLog", &(128u64 << 20).to_string());
        for (k, v) in &options.extra_config {
            set(k, v);
        }
        let conf_path = dir.path().join("broker.conf");
        fs::write(&conf_path, conf).expect("write broker.conf");
        let cmd = java_server_command(
            &jars.server_classpath,
            &options.heap,
            &home,
            "org.apache.rocketmq.broker.BrokerStartup",
            &conf_path,
        );
        let mut child = ChildGuard::spawn("apache-broker", cmd, &dir.path().join("broker.out"))
            .unwrap_or_else(|e| panic!("{e}"));
        let addr = format!("127.0.0.1:{port}");
        let log = home.join("logs/rocketmqlogs/broker.log");
        if let Err(e) = wait_until(&format!("Apache broker on {addr}"), STARTUP_TIMEOUT, || {
            child.ensure_running()?;
            Ok(port_accepts(&addr))
        }) {
            panic!(
                "{}",
                server_failure("Apache broker did not start", &e, &child, &log)
            );
        }
        Self {
            child,
            addr,
            options,
            dir,
        }
    }

    /// The JVM's process guard (its id leads the process group, for `SIGSTOP`/`SIGCONT`).
    pub fn child(&self) -> &ChildGuard {
        &self.child
    }

    /// The broker address clients use, `"127.0.0.1:listenPort"`.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// `brokerName`.
    pub fn name(&self) -> &str {
        &self.options.broker_name
    }

    /// The temporary directory holding config, store, `user.home` and logs.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `storePathRootDir`.
    pub fn store_root(&self) -> PathBuf {
        self.options
            .store_root
            .clone()
            .unwrap_or_else(|| self.dir.path().join("store"))
    }

    /// `<user.home>/logs/rocketmqlogs`, where the broker writes `broker.log`, `store.log`, ...
    pub fn log_dir(&self) -> PathBuf {
        self.dir.path().join("home/logs/rocketmqlogs")
    }

    /// Stops the broker gracefully: `SIGTERM`, so its shutdown hook runs (which flushes the
    /// store and removes its `abort` file), then waits up to `timeout` for the JVM to exit.
    /// Returns the exit status (a JVM ended by `SIGTERM` exits with 143); an error with the
    /// logs if it is still running at the deadline (it is then killed when dropped).
    pub fn terminate(&mut self, timeout: Duration) -> Result<ExitStatus, String> {
        match self.child.terminate(timeout) {
            Some(status) => Ok(status),
            None => Err(format!(
                "broker {} still running {timeout:?} after SIGTERM\n{}",
                self.addr,
                self.log_tail()
            )),
        }
    }

    /// The broker's stdout/stderr tail plus the tail of its `broker.log`.
    pub fn log_tail(&self) -> String {
        let log = self.dir.path().join("home/logs/rocketmqlogs/broker.log");
        server_failure("broker logs", "", &self.child, &log)
    }

    /// Waits until the name server at `namesrv_addr` lists this broker's address in
    /// `GET_BROKER_CLUSTER_INFO` and (with auto-creation on) serves a route for `TBW102`.
    /// Panics with the broker's logs on timeout or if the broker dies.
    pub fn wait_registered(&mut self, namesrv_addr: &str, timeout: Duration) {
        let needle = format!("\"{}\"", self.addr);
        let check_route = self.options.auto_create_topic;
        let mut last = String::from("no answer yet");
        let waited = wait_until(
            &format!("broker {} to register with {namesrv_addr}", self.addr),
            timeout,
            || {
                self.child.ensure_running()?;
                let info = match remoting::broker_cluster_info(namesrv_addr) {
                    Ok(info) => info,
                    Err(e) => {
                        last = format!("cluster info: {e}");
                        return Ok(false);
                    }
                };
                if info.code != 0 || !info.body_text().contains(&needle) {
                    last = format!("cluster info code {} body {}", info.code, info.body_text());
                    return Ok(false);
                }
                if !check_route {
                    return Ok(true);
                }
                match remoting::topic_route(namesrv_addr, "TBW102") {
                    Ok(route) if route.code == 0 => Ok(true),
                    Ok(route) => {
                        last = format!(
                            "TBW102 route code {} remark {:?}",
                            route.code,
                            route.remark()
                        );
                        Ok(false)
                    }
                    Err(e) => {
                        last = format!("TBW102 route: {e}");
                        Ok(false)
                    }
                }
            },
        );
        if let Err(e) = waited {
            panic!("{e} (last: {last})\n{}", self.log_tail());
        }
    }
}
