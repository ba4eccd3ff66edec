//! Apache 5.3.3 servers of controller mode as bare JVMs, for the controller tests: a broker with
//! `enableControllerMode=true` ([`apache_controller_mode_broker`]) and a one-node DLedger
//! controller ([`apache_controller`]). Each runs from the Maven server classpath
//! (`JavaArtifacts::server_classpath`) with a small heap, its files under the caller's
//! directory, and is killed (SIGKILL) when its [`Jvm`] is dropped.

use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A server JVM, killed (SIGKILL) and reaped when dropped.
#[derive(Debug)]
pub struct Jvm(Child);

impl Drop for Jvm {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `java` with the options of these tests (256 MB heap, serial GC, quick start), the
/// `ROCKETMQ_HOME` / `user.home` of `home`, and stderr into `log`.
fn java(classpath: &str, home: &Path, main: &str, conf: &Path, log: &Path) -> Jvm {
    std::fs::create_dir_all(home).expect("create the JVM's home");
    let log = File::create(log).expect("create the JVM's log");
    let child = Command::new("java")
        .env("ROCKETMQ_HOME", home)
        .args([
            "-Xms256m",
            "-Xmx256m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
        ])
        .arg(format!("-Duser.home={}", home.display()))
        .arg("-cp")
        .arg(classpath)
        .arg(main)
        .arg("-c")
        .arg(conf)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start java");
    Jvm(child)
}

/// What [`apache_controller_mode_broker`] starts.
#[derive(Debug, Clone, Copy)]
pub struct ControllerModeBroker<'a> {
    /// Names its files under the directory: `<tag>.conf`, `<tag>-home`, `<tag>-store`,
    /// `<tag>.log` (stderr).
    pub tag: &'a str,
    /// `listenPort` (from `crate::net::free_broker_port`: `p - 2` and `p + 1` are used too).
    pub port: u16,
    /// `namesrvAddr`.
    pub namesrv: &'a str,
    /// `controllerAddr`.
    pub controllers: &'a str,
    /// More `key=value` lines.
    pub extra: &'a str,
}

/// Apache's `BrokerStartup` in controller mode: cluster `DefaultCluster`, broker set
/// `broker-a`, `allAckInSyncStateSet=true`, on 127.0.0.1.
pub fn apache_controller_mode_broker(
    classpath: &str,
    dir: &Path,
    b: ControllerModeBroker<'_>,
) -> Jvm {
    let store = dir.join(format!("{}-store", b.tag));
    let conf = dir.join(format!("{}.conf", b.tag));
    std::fs::write(
        &conf,
        format!(
            "brokerClusterName=DefaultCluster\nbrokerName=broker-a\nbrokerId=-1\n\
             brokerRole=SLAVE\nenableControllerMode=true\ncontrollerAddr={}\n\
             namesrvAddr={}\nallAckInSyncStateSet=true\nbrokerIP1=127.0.0.1\n\
             listenPort={}\nstorePathRootDir={}\nstorePathCommitLog={}/commitlog\n{}\n",
            b.controllers,
            b.namesrv,
            b.port,
            store.display(),
            store.display(),
            b.extra
        ),
    )
    .expect("write the broker config");
    java(
        classpath,
        &dir.join(format!("{}-home", b.tag)),
        "org.apache.rocketmq.broker.BrokerStartup",
        &conf,
        &dir.join(format!("{}.log", b.tag)),
    )
}

/// Apache's `ControllerStartup`: one DLedger controller `n0` of group `apache` on
/// `127.0.0.1:<port>` (the port both Raft and requests use), its store and log (`controller.log`)
/// under `dir`. It leads as soon as it has started; poll its metadata for that.
pub fn apache_controller(classpath: &str, dir: &Path, port: u16) -> Jvm {
    let conf = dir.join("controller.conf");
    std::fs::write(
        &conf,
        format!(
            "controllerDLegerGroup=apache\ncontrollerDLegerPeers=n0-127.0.0.1:{port}\n\
             controllerDLegerSelfId=n0\ncontrollerStorePath={}\n",
            dir.join("controller-store").display()
        ),
    )
    .expect("write the controller config");
    java(
        classpath,
        &dir.join("controller-home"),
        "org.apache.rocketmq.controller.ControllerStartup",
        &conf,
        &dir.join("controller.log"),
    )
}
