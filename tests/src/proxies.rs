//! gRPC proxies in Apache's cluster mode in front of a whole cluster (issue 21): FerroMQ's
//! standalone `mqproxy` ([`FerroProxy`]) and Apache's 5.3.3 `rocketmq-proxy` jar
//! ([`ApacheClusterProxy`]), each reading an Apache `rmq-proxy.json`; plus the set-up a
//! cluster of several brokers needs (topics and groups on every master, a route that lists all
//! of them) and a probe of each queue's max offset (what each broker stored).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use ferromq_client::testing::{Binaries, LocalCluster};
use serde_json::json;
use tempfile::TempDir;

use crate::apache::STARTUP_TIMEOUT;
use crate::artifacts::JavaArtifacts;
use crate::grpc::{self, GrpcTarget, MessageType};
use crate::net::{free_port, port_accepts, wait_until};
use crate::process::{tail_of_file, ChildGuard, TAIL_LINES};
use crate::remoting;

/// `GET_MAX_OFFSET` (Apache's request code 30).
const GET_MAX_OFFSET: i32 = 30;

/// Longest long poll the proxies allow a receive (5 s as in the other gRPC tests: a push
/// consumer's waiting poll is not woken by a retried message).
const MAX_LONG_POLLING_MS: u64 = 5_000;

/// The `rmq-proxy.json` both proxies read (Apache's key names).
fn proxy_json(namesrv: &str, grpc_port: u16, remoting_port: u16) -> String {
    json!({
        "rocketMQClusterName": "DefaultCluster",
        "namesrvAddr": namesrv,
        "grpcServerPort": grpc_port,
        "remotingListenPort": remoting_port,
        "grpcClientConsumerMaxLongPollingTimeoutMillis": MAX_LONG_POLLING_MS,
    })
    .to_string()
}

/// Waits until `endpoint` accepts connections while `child` runs; panics with `logs` otherwise.
fn wait_up(child: &mut ChildGuard, endpoint: &str, logs: impl Fn(&ChildGuard) -> String) {
    if let Err(e) = wait_until(&format!("proxy on {endpoint}"), STARTUP_TIMEOUT, || {
        child.ensure_running()?;
        Ok(port_accepts(endpoint))
    }) {
        panic!("proxy did not start: {e}\n{}", logs(child));
    }
}

/// FerroMQ's `mqproxy` (cluster mode) as a process, in front of the name servers `namesrv`.
/// Killed on drop.
#[derive(Debug)]
pub struct FerroProxy {
    child: ChildGuard,
    endpoint: String,
    _dir: TempDir,
}

impl FerroProxy {
    /// The `mqproxy` binary: `FERROMQ_PROXY_BIN`, else next to the `mqbroker` that
    /// `LocalCluster` runs (the same cargo target directory or `FERROMQ_BIN_DIR`).
    pub fn binary() -> PathBuf {
        if let Some(path) = std::env::var_os("FERROMQ_PROXY_BIN") {
            return PathBuf::from(path);
        }
        let broker = Binaries::find()
            .unwrap_or_else(|e| panic!("no FerroMQ binaries: {e}"))
            .broker;
        let proxy = broker.with_file_name("mqproxy");
        assert!(
            proxy.is_file(),
            "no mqproxy next to {} (cargo build -p ferromq-proxy)",
            broker.display()
        );
        proxy
    }

    /// Starts `mqproxy -pc rmq-proxy.json` with the name servers `namesrv` and waits until its
    /// gRPC port accepts connections.
    pub fn start(namesrv: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("ferro-mqproxy-")
            .tempdir()
            .expect("tempdir");
        let port = free_port();
        let conf = dir.path().join("rmq-proxy.json");
        std::fs::write(&conf, proxy_json(namesrv, port, free_port())).expect("write config");
        let mut cmd = Command::new(Self::binary());
        cmd.arg("-pc").arg(&conf).env("HOME", dir.path());
        let mut child = ChildGuard::spawn("mqproxy", cmd, &dir.path().join("mqproxy.out"))
            .unwrap_or_else(|e| panic!("{e}"));
        let endpoint = format!("127.0.0.1:{port}");
        wait_up(&mut child, &endpoint, |c| c.log_tail(TAIL_LINES));
        Self {
            child,
            endpoint,
            _dir: dir,
        }
    }

    /// `"127.0.0.1:port"` of the gRPC endpoint.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The proxy's output tail.
    pub fn log_tail(&self) -> String {
        format!(
            "--- mqproxy output ({}) ---\n{}",
            self.child.log_path().display(),
            self.child.log_tail(TAIL_LINES)
        )
    }
}

/// Apache RocketMQ 5.3.3's proxy in cluster mode (`ProxyStartup -pm cluster`), a JVM in front
/// of the name servers `namesrv` and whatever brokers they route to. Killed on drop.
#[derive(Debug)]
pub struct ApacheClusterProxy {
    child: ChildGuard,
    endpoint: String,
    dir: TempDir,
}

impl ApacheClusterProxy {
    /// Starts the proxy and waits until its gRPC port accepts connections.
    pub fn start(namesrv: &str) -> Self {
        let jars = JavaArtifacts::get();
        let dir = tempfile::Builder::new()
            .prefix("apache-cluster-proxy-")
            .tempdir()
            .expect("tempdir");
        let home = dir.path().join("home");
        std::fs::create_dir_all(home.join("conf")).expect("create proxy home");
        let port = free_port();
        let conf = dir.path().join("rmq-proxy.json");
        std::fs::write(&conf, proxy_json(namesrv, port, free_port())).expect("write config");
        let mut cmd = Command::new("java");
        cmd.env("ROCKETMQ_HOME", &home)
            .env("RMQ_PROXY_HOME", &home)
            .args(["-Xms512m", "-Xmx512m", "-XX:+UseG1GC"])
            .arg(format!("-Duser.home={}", home.display()))
            .arg("-cp")
            .arg(&jars.proxy_classpath)
            .arg("org.apache.rocketmq.proxy.ProxyStartup")
            .args(["-pm", "cluster", "-pc"])
            .arg(&conf)
            .arg("-n")
            .arg(namesrv);
        let mut child = ChildGuard::spawn("apache-proxy", cmd, &dir.path().join("proxy.out"))
            .unwrap_or_else(|e| panic!("{e}"));
        let endpoint = format!("127.0.0.1:{port}");
        let log = home.join("logs/rocketmqlogs/proxy.log");
        wait_up(&mut child, &endpoint, |c| {
            format!(
                "{}\n{}",
                c.log_tail(TAIL_LINES),
                tail_of_file(&log, TAIL_LINES)
            )
        });
        Self {
            child,
            endpoint,
            dir,
        }
    }

    /// `"127.0.0.1:port"` of the gRPC endpoint.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The temporary directory (config, `user.home`, logs).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The proxy's output tail plus the tail of its `proxy.log`.
    pub fn log_tail(&self) -> String {
        let log = self.dir.path().join("home/logs/rocketmqlogs/proxy.log");
        format!(
            "--- apache proxy output ---\n{}\n--- {} ---\n{}",
            self.child.log_tail(TAIL_LINES),
            log.display(),
            tail_of_file(&log, TAIL_LINES)
        )
    }
}

/// One [`GrpcTarget`] per master: the same endpoint and name server, each broker's remoting
/// address (the set-up helpers of [`grpc`] create topics and groups on `target.broker`).
pub fn targets(endpoint: &str, namesrv: &str, brokers: &[String]) -> Vec<GrpcTarget> {
    brokers
        .iter()
        .map(|b| GrpcTarget {
            endpoint: endpoint.to_owned(),
            broker: b.clone(),
            namesrv: namesrv.to_owned(),
        })
        .collect()
}

/// Creates `topic` (4 queues, `message.type` `ty`) on every broker of `targets`, then waits
/// until the name server's route lists each of `broker_names`.
pub fn create_topic_everywhere(
    targets: &[GrpcTarget],
    broker_names: &[&str],
    topic: &str,
    ty: MessageType,
) {
    for t in targets {
        grpc::create_topic(t, topic, ty);
    }
    wait_route_lists(&targets[0].namesrv, topic, broker_names);
}

/// Runs [`grpc::prepare_scenario`] for `scenario` on every broker, then waits for the full
/// route of its topic.
pub fn prepare_scenario_everywhere(
    targets: &[GrpcTarget],
    broker_names: &[&str],
    prefix: &str,
    scenario: &str,
) {
    for t in targets {
        grpc::prepare_scenario(t, prefix, scenario);
    }
    wait_route_lists(
        &targets[0].namesrv,
        &format!("{prefix}_{scenario}"),
        broker_names,
    );
}

/// Waits (30 s at most) until `namesrv` routes `topic` to every one of `broker_names`.
pub fn wait_route_lists(namesrv: &str, topic: &str, broker_names: &[&str]) {
    let mut last = String::new();
    if let Err(e) = wait_until(
        &format!("route of {topic} on {broker_names:?}"),
        Duration::from_secs(30),
        || {
            let Ok(r) = remoting::topic_route(namesrv, topic) else {
                return Ok(false);
            };
            last = r.body_text();
            Ok(r.code == 0
                && broker_names
                    .iter()
                    .all(|b| last.matches(&format!("\"{b}\"")).count() >= 2))
        },
    ) {
        panic!("{e}; last route: {last}");
    }
}

/// The max offset of each of `queues` queues of `topic` on the broker at `addr`
/// (`GET_MAX_OFFSET`): how many messages it stored per queue.
pub fn max_offsets(addr: &str, topic: &str, queues: u32) -> Vec<i64> {
    (0..queues)
        .map(|q| {
            let q = q.to_string();
            let r = remoting::request(
                addr,
                GET_MAX_OFFSET,
                &[("topic", topic), ("queueId", &q)],
                &[],
                Duration::from_secs(5),
            )
            .unwrap_or_else(|e| panic!("GET_MAX_OFFSET {topic}/{q} on {addr}: {e}"));
            assert_eq!(
                r.code,
                0,
                "GET_MAX_OFFSET {topic}/{q} on {addr}: {:?}",
                r.remark()
            );
            r.header
                .get("extFields")
                .and_then(|f| f.get("offset"))
                .and_then(|o| {
                    o.as_str()
                        .map(str::to_owned)
                        .or_else(|| Some(o.to_string()))
                })
                .and_then(|o| o.parse().ok())
                .unwrap_or_else(|| panic!("no offset in {:?}", r.header))
        })
        .collect()
}

/// The remoting addresses and the broker names of `cluster`'s masters, in the same order.
pub fn masters(cluster: &LocalCluster) -> (Vec<String>, Vec<String>) {
    let brokers = cluster.brokers();
    (
        brokers.iter().map(|b| b.addr()).collect(),
        brokers.iter().map(|b| b.broker_name().to_owned()).collect(),
    )
}

/// `proxy_log` (a proxy's log tail) followed by the output tail of each broker of `cluster`.
pub fn with_broker_logs(proxy_log: String, cluster: &LocalCluster) -> String {
    let mut out = proxy_log;
    for b in cluster.brokers() {
        out.push_str(&format!("\n--- {} ---\n{}", b.name(), b.log_tail()));
    }
    out
}

/// The official Java 5.x SDK scenarios (`GrpcScenarios`) through a cluster-mode proxy in front
/// of several masters: each scenario's topic and group exist on every master, the SDK runs the
/// scenarios through the proxy, and each master's share of a topic is read back.
#[derive(Debug, Clone)]
pub struct ScenariosAcross<'a> {
    /// The proxy's gRPC endpoint.
    pub endpoint: String,
    /// The name server the proxy and the masters use.
    pub namesrv: String,
    /// Each master's remoting address.
    pub brokers: Vec<String>,
    /// Each master's broker name, in the order of `brokers`.
    pub names: Vec<String>,
    /// Topics are `{prefix}_{scenario}`.
    pub prefix: String,
    /// The scenarios, as [`grpc::expected_line`] knows them.
    pub scenarios: &'a [&'a str],
    /// Messages per scenario (a multiple of 6).
    pub n: usize,
}

impl<'a> ScenariosAcross<'a> {
    /// The scenarios through the proxy at `endpoint` in front of the masters of `cluster`.
    pub fn on_cluster(
        endpoint: &str,
        cluster: &LocalCluster,
        prefix: &str,
        scenarios: &'a [&'a str],
        n: usize,
    ) -> Self {
        let (brokers, names) = masters(cluster);
        Self {
            endpoint: endpoint.to_owned(),
            namesrv: cluster.namesrv_addr().to_owned(),
            brokers,
            names,
            prefix: prefix.to_owned(),
            scenarios,
            n,
        }
    }
}

impl ScenariosAcross<'_> {
    /// Prepares every scenario on every master (and waits until the route lists them all), runs
    /// the SDK's scenarios through the proxy for at most `timeout` and prints their output under
    /// `title`; panics with that output and `logs()` unless the program succeeded and printed
    /// each scenario's expected line.
    pub fn run(&self, title: &str, timeout: Duration, logs: impl Fn() -> String) {
        let targets = targets(&self.endpoint, &self.namesrv, &self.brokers);
        let names: Vec<&str> = self.names.iter().map(String::as_str).collect();
        for s in self.scenarios {
            prepare_scenario_everywhere(&targets, &names, &self.prefix, s);
        }
        let run =
            grpc::run_java_scenarios(&targets[0], &self.prefix, self.n, self.scenarios, timeout);
        eprintln!("{title}:\n{}", run.output);
        let missing = grpc::missing_lines(&run.output, self.scenarios, self.n);
        assert!(
            missing.is_empty() && run.success(),
            "missing {missing:#?}\n{}\n{}",
            run.output,
            logs()
        );
    }

    /// How many messages of `scenario`'s topic each master stored (the max offsets of its 4
    /// queues summed), in the order of `brokers`; printed too.
    pub fn stored(&self, scenario: &str) -> Vec<i64> {
        let topic = format!("{}_{scenario}", self.prefix);
        let per_broker: Vec<i64> = self
            .brokers
            .iter()
            .map(|b| max_offsets(b, &topic, 4).iter().sum())
            .collect();
        eprintln!(
            "{topic}: stored per broker {:?} = {per_broker:?}",
            self.names
        );
        per_broker
    }
}

/// The id of the process whose command line has the argument `arg` (a broker's config path).
pub fn pid_with_arg(arg: &Path) -> Option<u32> {
    let arg = arg.as_os_str().as_encoded_bytes();
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
        cmdline.split(|b| *b == 0).any(|a| a == arg).then_some(pid)
    })
}

/// A process held with `SIGSTOP` (it keeps its connections and its registration but answers
/// nothing: a hung broker); `SIGCONT` when dropped, even on a panic.
#[derive(Debug)]
pub struct Frozen(u32);

impl Frozen {
    /// Stops process `pid`.
    pub fn freeze(pid: u32) -> Frozen {
        signal(pid, "-STOP");
        Frozen(pid)
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        signal(self.0, "-CONT");
    }
}

fn signal(pid: u32, sig: &str) {
    let status = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap_or_else(|e| panic!("kill {sig} {pid}: {e}"));
    assert!(status.success(), "kill {sig} {pid}: {status}");
}

/// The idx numbers of a `GrpcTools receive-keyed` run (its `IDX a,b,c` line).
pub fn received_idx(output: &str) -> Vec<usize> {
    output
        .lines()
        .find_map(|l| l.strip_prefix("IDX "))
        .map(|list| {
            list.trim()
                .split(',')
                .filter(|s| !s.is_empty())
                .filter_map(|s| s.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_idx_line() {
        assert_eq!(received_idx("x\nIDX 0,2,5\nOK: y"), vec![0, 2, 5]);
        assert!(received_idx("IDX \n").is_empty());
        assert!(received_idx("nothing").is_empty());
    }
}
