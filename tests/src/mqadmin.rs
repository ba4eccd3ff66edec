//! Apache RocketMQ's own operator CLI, `mqadmin` (`rocketmq-tools` 5.3.3, main class
//! `org.apache.rocketmq.tools.command.MQAdminStartup`, classpath from `tests/compat/tools`), and
//! the Java `AdminFixture` program that keeps a producer and a push consumer online for it to
//! inspect.
//!
//! `MQAdminStartup` prints a command's failure (a stack trace) and still exits 0, so callers check
//! the output, never only the exit status.

use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::artifacts::JavaArtifacts;
use crate::net::wait_until;
use crate::process::{run_bounded, ChildGuard, ProgramRun, TAIL_LINES};

/// Upper bound for one `mqadmin` run (a JVM start plus a few requests; `checkMsgSendRT` and
/// `consumeMessage` take a few seconds more).
pub const MQADMIN_TIMEOUT: Duration = Duration::from_secs(60);

/// The main class that runs Apache's `MQAdminStartup` (either version, from the classpath) and
/// exits as soon as the command returns (`tests/compat/java/.../QuickMqadmin.java`: without it
/// every command idles 2.5-5 s in the client's shutdown).
pub const MQADMIN_MAIN: &str = "org.ferromq.compat.QuickMqadmin";

/// JVM options shared by `mqadmin` and the fixture: small heap, quick start.
const JVM_OPTS: &[&str] = &[
    "-Xms32m",
    "-Xmx256m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
];

fn java_command(home: &std::path::Path, namesrv: &str, classpath: &str) -> Command {
    let mut cmd = Command::new("java");
    // consumerStatus writes a directory of running-info files into the working directory.
    cmd.current_dir(home)
        .env("HOME", home)
        .env("NAMESRV_ADDR", namesrv)
        .env_remove("ROCKETMQ_HOME")
        .args(JVM_OPTS)
        .arg(format!("-Duser.home={}", home.display()))
        .arg(format!("-Drocketmq.home.dir={}", home.display()))
        .arg(format!(
            "-Drocketmq.client.logRoot={}",
            home.join("logs").display()
        ))
        .arg(format!("-Drocketmq.namesrv.addr={namesrv}"))
        .arg("-cp")
        .arg(classpath);
    cmd
}

/// Runs `mqadmin <args> -n <namesrv>` (Apache's `MQAdminStartup`, which reads `-n` into the
/// `rocketmq.namesrv.addr` property; the property and `NAMESRV_ADDR` are set too) in a fresh
/// `HOME` / `user.home`, killed after [`MQADMIN_TIMEOUT`]. The run's `output` is stdout and
/// stderr together.
pub fn apache_mqadmin(namesrv: &str, args: &[&str]) -> ProgramRun {
    let jars = JavaArtifacts::get();
    let home = tempfile::Builder::new()
        .prefix("mqadmin-")
        .tempdir()
        .expect("tempdir");
    let mut cmd = java_command(home.path(), namesrv, &jars.tools_classpath);
    cmd.arg(MQADMIN_MAIN).args(args).args(["-n", namesrv]);
    let name = format!("mqadmin {}", args.join(" "));
    run_bounded(&name, cmd, &home.path().join("out.log"), MQADMIN_TIMEOUT)
        .unwrap_or_else(|e| panic!("cannot run {name}: {e}"))
}

/// Runs Apache 4.9.8's `mqadmin <args> -n <namesrv>` (the ACL 1.0 commands live there; 5.3.3
/// dropped them) like [`apache_mqadmin`], signing with `credentials` as Apache's tool does: from
/// `conf/tools.yml` under its `rocketmq.home.dir`.
pub fn apache_mqadmin49_signed(
    namesrv: &str,
    args: &[&str],
    credentials: (&str, &str),
) -> ProgramRun {
    let jars = JavaArtifacts::get();
    let home = tempfile::Builder::new()
        .prefix("mqadmin49-")
        .tempdir()
        .expect("tempdir");
    fs::create_dir_all(home.path().join("conf")).expect("conf dir");
    fs::write(
        home.path().join("conf/tools.yml"),
        format!(
            "accessKey: {}\nsecretKey: {}\n",
            credentials.0, credentials.1
        ),
    )
    .expect("tools.yml");
    // 4.9.8 configures its log from this file and stops without it.
    fs::write(
        home.path().join("conf/logback_tools.xml"),
        "<configuration><root level=\"OFF\"/></configuration>\n",
    )
    .expect("logback_tools.xml");
    let mut cmd = java_command(home.path(), namesrv, &jars.tools49_classpath);
    cmd.arg(MQADMIN_MAIN).args(args).args(["-n", namesrv]);
    let name = format!("mqadmin 4.9.8 {}", args.join(" "));
    run_bounded(&name, cmd, &home.path().join("out.log"), MQADMIN_TIMEOUT)
        .unwrap_or_else(|e| panic!("cannot run {name}: {e}"))
}

/// Runs `mqadmin <args> -n <namesrv>` like [`apache_mqadmin`] for a command that never ends by
/// itself (`clusterRT` prints a line per round until killed): polls its output until `done` holds,
/// it exits, or `timeout` passes, then kills it. `status` is `None` when it was killed.
pub fn apache_mqadmin_until(
    namesrv: &str,
    args: &[&str],
    timeout: Duration,
    done: impl Fn(&str) -> bool,
) -> ProgramRun {
    let jars = JavaArtifacts::get();
    let home = tempfile::Builder::new()
        .prefix("mqadmin-")
        .tempdir()
        .expect("tempdir");
    let mut cmd = java_command(home.path(), namesrv, &jars.tools_classpath);
    cmd.arg(MQADMIN_MAIN).args(args).args(["-n", namesrv]);
    let name = format!("mqadmin {}", args.join(" "));
    let log = home.path().join("out.log");
    let start = std::time::Instant::now();
    let mut guard =
        ChildGuard::spawn(&name, cmd, &log).unwrap_or_else(|e| panic!("cannot run {name}: {e}"));
    let read = || String::from_utf8_lossy(&fs::read(&log).unwrap_or_default()).into_owned();
    // A timeout is not an error here: the caller checks the output.
    let _ = wait_until(&name, timeout, || {
        Ok(done(&read()) || guard.try_status().is_some())
    });
    let status = guard.try_status();
    guard.kill();
    ProgramRun {
        name,
        status,
        output: read(),
        elapsed: start.elapsed(),
    }
}

/// A running Java `AdminFixture` (see its source): `n` keyed messages sent to a 4-queue topic by
/// producer group `<group>_pg`, then a push consumer of `group` that prints a `RECV` line per
/// delivery; both stay online until the fixture is dropped (killed) or `hold` passes.
#[derive(Debug)]
pub struct AdminFixture {
    guard: ChildGuard,
    _home: tempfile::TempDir,
}

/// One `SENT` line of the fixture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    /// Index `i` (key `AK-i`, body `admin-body-i`).
    pub index: usize,
    /// Broker the message went to.
    pub broker_name: String,
    /// Queue id.
    pub queue_id: i32,
    /// Offset in the queue.
    pub queue_offset: i64,
    /// The broker's message id (store host + commitlog offset).
    pub offset_msg_id: String,
    /// The client's unique key (`UNIQ_KEY`).
    pub msg_id: String,
}

impl AdminFixture {
    /// Starts the fixture and waits (up to 90 s) until it has sent all `n` messages and its
    /// consumer is started.
    pub fn start(namesrv: &str, topic: &str, group: &str, n: usize, hold: Duration) -> Self {
        let jars = JavaArtifacts::get();
        let home = tempfile::Builder::new()
            .prefix("admin-fixture-")
            .tempdir()
            .expect("tempdir");
        let mut cmd = java_command(home.path(), namesrv, &jars.client_classpath);
        cmd.arg("-Dcompat.timeoutMs=60000")
            .arg("org.ferromq.compat.AdminFixture")
            .args([namesrv, topic, group])
            .arg(n.to_string())
            .arg(hold.as_millis().to_string());
        let log: PathBuf = home.path().join("out.log");
        let guard = ChildGuard::spawn(&format!("AdminFixture {topic} {group}"), cmd, &log)
            .unwrap_or_else(|e| panic!("cannot start AdminFixture: {e}"));
        let mut fixture = Self { guard, _home: home };
        fixture.wait_for(
            "the fixture's consumer to start",
            Duration::from_secs(90),
            |out| out.lines().any(|l| l.starts_with("CONSUMER ")),
        );
        fixture
    }

    /// Everything the fixture printed so far.
    pub fn output(&self) -> String {
        String::from_utf8_lossy(&fs::read(self.guard.log_path()).unwrap_or_default()).into_owned()
    }

    /// Waits until `check` holds for the output; panics with the output tail at `timeout` or when
    /// the fixture exits first.
    pub fn wait_for(&mut self, what: &str, timeout: Duration, check: impl Fn(&str) -> bool) {
        let log = self.guard.log_path().to_owned();
        let guard = &mut self.guard;
        wait_until(what, timeout, || {
            let out = String::from_utf8_lossy(&fs::read(&log).unwrap_or_default()).into_owned();
            if check(&out) {
                return Ok(true);
            }
            guard.ensure_running().map(|()| false)
        })
        .unwrap_or_else(|e| panic!("{e}\nfixture output:\n{}", self.guard.log_tail(TAIL_LINES)));
    }

    /// The `SENT` lines, in send order.
    pub fn sent(&self) -> Vec<SentMessage> {
        self.output()
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                if f.len() != 7 || f[0] != "SENT" {
                    return None;
                }
                Some(SentMessage {
                    index: f[1].parse().ok()?,
                    broker_name: f[2].to_owned(),
                    queue_id: f[3].parse().ok()?,
                    queue_offset: f[4].parse().ok()?,
                    offset_msg_id: f[5].to_owned(),
                    msg_id: f[6].to_owned(),
                })
            })
            .collect()
    }

    /// How many `RECV` lines (deliveries, redeliveries included) the consumer printed.
    pub fn received(&self) -> usize {
        count_received(&self.output())
    }

    /// The consumer's client id (`CONSUMER <id>` line).
    pub fn consumer_client_id(&self) -> String {
        self.output()
            .lines()
            .find_map(|l| l.strip_prefix("CONSUMER "))
            .map(str::to_owned)
            .expect("the fixture printed its consumer's client id")
    }
}

/// `RECV` lines in a fixture's output.
pub fn count_received(out: &str) -> usize {
    out.lines().filter(|l| l.starts_with("RECV\t")).count()
}

/// The directory of the workspace's binaries: `target/<profile>/` above the running test
/// executable (`target/<profile>/deps/<test>-<hash>`).
fn binary_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("path of the running test executable");
    let deps = exe.parent().expect("test executable has a directory");
    if deps.file_name().is_some_and(|n| n == "deps") {
        deps.parent().expect("deps has a parent").to_path_buf()
    } else {
        deps.to_path_buf()
    }
}

/// FerroMQ's `mqadmin` binary of this workspace (`tools/src/bin/mqadmin`), from the target
/// directory of the running test. `cargo test --workspace` builds it; when it is missing (e.g.
/// `cargo test -p ferromq-tests`), it is built once with `cargo build -p ferromq-tools --bin
/// mqadmin` into the same target directory.
pub fn ferro_mqadmin_path() -> PathBuf {
    static PATH: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        let dir = binary_dir();
        let path = dir.join("mqadmin");
        if path.is_file() {
            return path;
        }
        // target/<profile>/ -> the target directory and the profile (`debug` is `dev`).
        let target = dir.parent().expect("target directory").to_path_buf();
        let profile = match dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") | None => "dev".to_owned(),
            Some(other) => other.to_owned(),
        };
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
        let mut cmd = Command::new(cargo);
        cmd.args([
            "build",
            "-p",
            "ferromq-tools",
            "--bin",
            "mqadmin",
            "--profile",
        ])
        .arg(&profile)
        .arg("--manifest-path")
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", &target);
        let log = target.join("mqadmin-build.log");
        eprintln!("building mqadmin ({} not found)...", path.display());
        let run = run_bounded("cargo build --bin mqadmin", cmd, &log, BUILD_TIMEOUT)
            .unwrap_or_else(|e| panic!("cannot run cargo: {e}"));
        run.assert_success();
        assert!(path.is_file(), "cargo built no {}", path.display());
        path
    })
    .clone()
}

/// Upper bound for building `mqadmin` when the test run did not.
const BUILD_TIMEOUT: Duration = Duration::from_secs(900);

/// Runs FerroMQ's `mqadmin <args> -n <namesrv>` ([`ferro_mqadmin_path`]), killed after
/// [`MQADMIN_TIMEOUT`]. The run's `output` is stdout and stderr together; its exit status is
/// meaningful (0 done, 1 refused or unreachable, 2 bad command line).
pub fn ferro_mqadmin(namesrv: &str, args: &[&str]) -> ProgramRun {
    let dir = tempfile::Builder::new()
        .prefix("ferro-mqadmin-")
        .tempdir()
        .expect("tempdir");
    let mut cmd = Command::new(ferro_mqadmin_path());
    cmd.current_dir(dir.path())
        .env_remove("NAMESRV_ADDR")
        .args(args)
        .args(["-n", namesrv]);
    let name = format!("ferromq mqadmin {}", args.join(" "));
    run_bounded(&name, cmd, &dir.path().join("out.log"), MQADMIN_TIMEOUT)
        .unwrap_or_else(|e| panic!("cannot run {name}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::binary_dir;

    #[test]
    fn binary_dir_is_above_deps() {
        let dir = binary_dir();
        assert!(dir.is_dir(), "{}", dir.display());
        assert_ne!(dir.file_name().and_then(|n| n.to_str()), Some("deps"));
    }
}
