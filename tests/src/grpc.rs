//! The gRPC side of the compatibility tests (issue 21): Apache's proxy in local mode (the
//! reference `MessagingService`, broker embedded, from the Maven jars), topic and group set-up
//! over remoting, and the official 5.x SDK programs: Java (`tests/compat/grpc-java`,
//! `rocketmq-client-java`) and Go (`tests/compat/go-grpc`, `rocketmq-clients/golang/v5`).
//!
//! A [`GrpcTarget`] names what the programs talk to: the gRPC endpoint, the broker's remoting
//! address (for set-up) and the name server (for the remoting clients of the interop tests).
//! The same scenarios run against Apache's proxy and FerroMQ's endpoint.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::json;
use tempfile::TempDir;

use crate::apache::{ApacheNamesrv, STARTUP_TIMEOUT};
use crate::artifacts::{GoProgram, JavaArtifacts};
use crate::clients::{java_client_on, java_command, ClientRun, JavaClient};
use crate::net::{free_broker_port, free_port, port_accepts, wait_until};
use crate::process::{run_bounded, tail_of_file, ChildGuard, TAIL_LINES};
use crate::remoting;

/// Tools the gRPC tests need on `PATH` (pass to [`crate::require_tools`]).
pub const GRPC_TOOLS: &[&str] = &["java", "mvn", "go"];

/// What an Apache broker needs for the `transaction` scenario (Apache's key names): open
/// transactions checked every second, 3 s after their send (time for commits to land), and the
/// commit/rollback records written every 500 ms (Apache 5.x batches them, every 3 s by default:
/// the check-back would see committed messages as open).
pub const APACHE_TRANSACTION_CONFIG: &[(&str, &str)] = &[
    ("transactionCheckInterval", "1000"),
    ("transactionTimeOut", "3000"),
    ("transactionOpBatchInterval", "500"),
];

/// Remoting request codes used for set-up (Apache's numbers).
const UPDATE_AND_CREATE_TOPIC: i32 = 17;
const UPDATE_AND_CREATE_SUBSCRIPTIONGROUP: i32 = 200;

/// Where the gRPC programs and the set-up requests go.
#[derive(Debug, Clone)]
pub struct GrpcTarget {
    /// The gRPC endpoint, `"127.0.0.1:port"`.
    pub endpoint: String,
    /// The broker's remoting address (topics and groups are created there).
    pub broker: String,
    /// The name server address (routes; the remoting clients).
    pub namesrv: String,
}

/// A 5.x topic's `message.type` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    /// `NORMAL`.
    Normal,
    /// `FIFO` (sends carry a message group).
    Fifo,
    /// `DELAY` (sends carry a delivery timestamp).
    Delay,
    /// `TRANSACTION` (sends are half messages).
    Transaction,
}

impl MessageType {
    /// The attribute value, as Apache spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageType::Normal => "NORMAL",
            MessageType::Fifo => "FIFO",
            MessageType::Delay => "DELAY",
            MessageType::Transaction => "TRANSACTION",
        }
    }
}

/// Creates `topic` with 4 queues and `+message.type=<ty>` on the broker at `target.broker`,
/// then waits until the name server routes it. Panics on a refusal or timeout.
pub fn create_topic(target: &GrpcTarget, topic: &str, ty: MessageType) {
    create_topic_with_queues(target, topic, ty, 4);
}

/// [`create_topic`] with `queues` read and write queues.
pub fn create_topic_with_queues(target: &GrpcTarget, topic: &str, ty: MessageType, queues: u32) {
    let queues = queues.to_string();
    let attributes = format!("+message.type={}", ty.as_str());
    let response = remoting::request(
        &target.broker,
        UPDATE_AND_CREATE_TOPIC,
        &[
            ("topic", topic),
            ("defaultTopic", "TBW102"),
            ("readQueueNums", &queues),
            ("writeQueueNums", &queues),
            ("perm", "6"),
            ("topicFilterType", "SINGLE_TAG"),
            ("topicSysFlag", "0"),
            ("order", "false"),
            ("attributes", &attributes),
        ],
        &[],
        Duration::from_secs(10),
    )
    .unwrap_or_else(|e| panic!("create topic {topic} on {}: {e}", target.broker));
    assert_eq!(
        response.code,
        0,
        "create topic {topic} ({attributes}): {:?}",
        response.remark()
    );
    let mut last = String::new();
    if let Err(e) = wait_until(
        &format!("route of {topic}"),
        Duration::from_secs(30),
        || match remoting::topic_route(&target.namesrv, topic) {
            Ok(r) if r.code == 0 => Ok(true),
            Ok(r) => {
                last = format!("code {} {:?}", r.code, r.remark());
                Ok(false)
            }
            Err(e) => {
                last = e.to_string();
                Ok(false)
            }
        },
    ) {
        panic!("{e} (last: {last})");
    }
}

/// Creates (or updates) consumer group `group` on the broker: `orderly` is Apache's
/// `consumeMessageOrderly` (FIFO consumption for the 5.x SDKs), `retry_max_times` gives the
/// SDKs `retry_max_times + 1` delivery attempts, and retries back off 1 s (an exponential
/// `groupRetryPolicy` with initial = max = 1 s).
pub fn create_group(target: &GrpcTarget, group: &str, orderly: bool, retry_max_times: u32) {
    let body = json!({
        "groupName": group,
        "consumeEnable": true,
        "consumeFromMinEnable": true,
        "consumeBroadcastEnable": true,
        "consumeMessageOrderly": orderly,
        "retryQueueNums": 1,
        "retryMaxTimes": retry_max_times,
        // Retry after 1 s, not Apache's default 10 s and more: push consumers back off this long.
        "groupRetryPolicy": {
            "type": "EXPONENTIAL",
            "exponentialRetryPolicy": {"initial": 1000, "max": 1000, "multiplier": 1},
        },
        "brokerId": 0,
        "whichBrokerWhenConsumeSlowly": 1,
        "notifyConsumerIdsChangedEnable": true,
        "groupSysFlag": 0,
        "consumeTimeoutMinute": 15,
        "attributes": {},
    })
    .to_string();
    let response = remoting::request(
        &target.broker,
        UPDATE_AND_CREATE_SUBSCRIPTIONGROUP,
        &[],
        body.as_bytes(),
        Duration::from_secs(10),
    )
    .unwrap_or_else(|e| panic!("create group {group} on {}: {e}", target.broker));
    assert_eq!(
        response.code,
        0,
        "create group {group}: {:?}",
        response.remark()
    );
}

/// Every scenario of `GrpcScenarios` (tests/compat/grpc-java), in a sensible run order.
pub const SCENARIOS: &[&str] = &[
    "normal",
    "fifo",
    "delay",
    "transaction",
    "change-invisible",
    "redelivery",
    "dlq",
    "push-concurrent",
    "push-fifo",
];

/// Creates what scenario `scenario` needs under `prefix`: topic `<prefix>_<scenario>` with its
/// message type, group `<topic>_g` (orderly for the FIFO ones; 2 attempts and a pre-created
/// `%DLQ%` topic for `dlq`).
pub fn prepare_scenario(target: &GrpcTarget, prefix: &str, scenario: &str) {
    let topic = format!("{prefix}_{scenario}");
    let group = format!("{topic}_g");
    let (ty, orderly, retries) = match scenario {
        "fifo" | "push-fifo" => (MessageType::Fifo, true, 16),
        "delay" => (MessageType::Delay, false, 16),
        "transaction" => (MessageType::Transaction, false, 16),
        "dlq" => (MessageType::Normal, false, 1),
        _ => (MessageType::Normal, false, 16),
    };
    create_topic(target, &topic, ty);
    create_group(target, &group, orderly, retries);
    if scenario == "dlq" {
        create_topic_with_queues(target, &format!("%DLQ%{group}"), MessageType::Normal, 1);
    }
}

/// The exact `OK:` line scenario `scenario` prints with `n` messages (`n` a multiple of 6).
pub fn expected_line(scenario: &str, n: usize) -> String {
    assert!(n.is_multiple_of(6), "n must be a multiple of 6, not {n}");
    let third = n / 3;
    let half = n / 2;
    let summary = match scenario {
        "normal" => format!("sent {n} received {n} acked {n}"),
        "fifo" => format!("sent {n} groups 3 received {n} in order"),
        "delay" => format!("sent {n} received {n} none early"),
        "transaction" => format!(
            "committed {third} rolled-back {third} checked {third} received {}",
            2 * third
        ),
        "change-invisible" => format!("received {n} changed 1 redelivered 1 attempt 2"),
        "redelivery" => format!("received {n} acked {half} redelivered {half} attempt 2"),
        "dlq" => format!("received {n} attempts 2 each, dead-lettered {n}"),
        "push-concurrent" => format!(
            "consumed {n} deliveries {} failed-then-redelivered 1",
            n + 1
        ),
        "push-fifo" => format!("groups 3 consumed {n} in order"),
        other => panic!("unknown scenario {other}"),
    };
    format!("OK: {scenario}: {summary}")
}

/// Runs `scenarios` with `n` messages each in one JVM (`GrpcScenarios`), after
/// [`prepare_scenario`] for each. Returns the run; see [`missing_lines`].
pub fn run_java_scenarios(
    target: &GrpcTarget,
    prefix: &str,
    n: usize,
    scenarios: &[&str],
    timeout: Duration,
) -> ClientRun {
    for s in scenarios {
        prepare_scenario(target, prefix, s);
    }
    let mut args = vec![target.endpoint.clone(), prefix.to_owned(), n.to_string()];
    args.extend(scenarios.iter().map(|s| (*s).to_owned()));
    java_client_on(
        JavaClient::Grpc,
        "org.ferromq.grpc.GrpcScenarios",
        &args,
        &format!("java GrpcScenarios {}", scenarios.join(",")),
        timeout,
    )
}

/// The expected `OK:` lines of `scenarios` that `output` lacks (empty: all passed).
pub fn missing_lines(output: &str, scenarios: &[&str], n: usize) -> Vec<String> {
    scenarios
        .iter()
        .map(|s| expected_line(s, n))
        .filter(|line| !output.lines().any(|l| l.trim_end() == line))
        .collect()
}

/// Java `GrpcTools <args>` (send, receive-store, crash-ack-half, crash-drain, bench).
pub fn java_grpc_tools(args: &[&str], timeout: Duration) -> ClientRun {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let name = format!("java GrpcTools {}", args.join(" "));
    java_client_on(
        JavaClient::Grpc,
        "org.ferromq.grpc.GrpcTools",
        &args,
        &name,
        timeout,
    )
}

/// A Java `GrpcTools <args>` left running (`push-hold`); killed when dropped.
#[derive(Debug)]
pub struct GrpcBackground {
    guard: ChildGuard,
    _home: TempDir,
}

impl GrpcBackground {
    /// Starts `GrpcTools <args>`; its own deadline is `timeout`.
    pub fn start(args: &[&str], timeout: Duration) -> Self {
        let home = tempfile::Builder::new()
            .prefix("java-grpc-bg-")
            .tempdir()
            .expect("tempdir");
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        let name = format!("java GrpcTools {}", args.join(" "));
        let cmd = java_command(
            JavaClient::Grpc,
            "org.ferromq.grpc.GrpcTools",
            &args,
            home.path(),
            timeout,
        );
        let guard = ChildGuard::spawn(&name, cmd, &home.path().join("out.log"))
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        GrpcBackground { guard, _home: home }
    }

    /// What it printed so far.
    pub fn output(&self) -> String {
        String::from_utf8_lossy(&fs::read(self.guard.log_path()).unwrap_or_default()).into_owned()
    }

    /// Waits until the output holds `check`; an error with the output's tail at `timeout` or
    /// when the program exits first.
    pub fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        check: impl Fn(&str) -> bool,
    ) -> Result<(), String> {
        let log = self.guard.log_path().to_owned();
        let guard = &mut self.guard;
        wait_until(what, timeout, || {
            let out = String::from_utf8_lossy(&fs::read(&log).unwrap_or_default()).into_owned();
            if check(&out) {
                return Ok(true);
            }
            guard.ensure_running().map(|()| false)
        })
        .map_err(|e| format!("{e}\n{}", self.guard.log_tail(TAIL_LINES)))
    }
}

/// Go `compat-go-grpc send-receive <endpoint> <topic> <group> <n>`; the topic must exist
/// (NORMAL). Prints `OK: send-receive: sent n received n acked n`.
pub fn go_send_receive(endpoint: &str, topic: &str, group: &str, n: usize) -> ClientRun {
    let program = GoProgram::grpc();
    let home = tempfile::Builder::new()
        .prefix("go-grpc-client-")
        .tempdir()
        .expect("tempdir");
    let timeout = crate::CLIENT_TIMEOUT;
    let mut cmd = Command::new(&program.binary);
    cmd.env("HOME", home.path())
        // The SDK's log directory (an environment variable with dots in its name).
        .env("rocketmq.client.logRoot", home.path().join("logs"))
        .env(
            "COMPAT_TIMEOUT_MS",
            timeout
                .saturating_sub(Duration::from_secs(15))
                .as_millis()
                .to_string(),
        )
        .args(["send-receive", endpoint, topic, group, &n.to_string()]);
    let name = format!("go compat-go-grpc send-receive {topic} x{n}");
    let mut run = run_bounded(&name, cmd, &home.path().join("out.log"), timeout)
        .unwrap_or_else(|e| panic!("cannot run {name}: {e}"));
    if !run.success() {
        let log = home.path().join("logs/rocketmq_client_go.log");
        let _ = write!(
            run.output,
            "\n--- {} ---\n{}",
            log.display(),
            tail_of_file(&log, 30)
        );
    }
    run
}

/// The body `GrpcScenarios.message` / `GrpcTools send` give message `i` of `topic`.
pub fn grpc_body(topic: &str, i: usize) -> String {
    format!("body-{i}-\u{fc}\u{20ac}\u{4e2d}-{topic}")
}

/// Apache RocketMQ 5.3.3's proxy in local mode (`ProxyStartup -pm local`, its broker embedded)
/// plus an Apache name server, on free ports of 127.0.0.1. Killed on drop.
#[derive(Debug)]
pub struct ApacheProxy {
    child: ChildGuard,
    target: GrpcTarget,
    _namesrv: ApacheNamesrv,
    dir: TempDir,
}

impl ApacheProxy {
    /// Starts the name server and the proxy; `extra_broker` lines (Apache keys) go last into
    /// the broker config. Test-friendly settings: open transactions are checked after 3 s, long
    /// polls last at most 5 s.
    /// Waits until the gRPC port accepts connections and the broker is registered; panics
    /// with the logs otherwise.
    pub fn start(extra_broker: &[(&str, &str)]) -> Self {
        let jars = JavaArtifacts::get();
        let namesrv = ApacheNamesrv::start();
        let dir = tempfile::Builder::new()
            .prefix("apache-proxy-")
            .tempdir()
            .expect("tempdir");
        let home = dir.path().join("home");
        fs::create_dir_all(home.join("conf")).expect("create proxy home");
        let store = dir.path().join("store");
        let broker_port = free_broker_port();
        let grpc_port = free_port();
        let remoting_port = free_port();
        let mut conf = String::new();
        let mut lines: Vec<(&str, String)> = vec![
            ("brokerClusterName", "DefaultCluster".into()),
            ("brokerName", "broker-a".into()),
            ("brokerId", "0".into()),
            ("brokerRole", "ASYNC_MASTER".into()),
            ("flushDiskType", "ASYNC_FLUSH".into()),
            ("brokerIP1", "127.0.0.1".into()),
            ("brokerIP2", "127.0.0.1".into()),
            ("listenPort", broker_port.to_string()),
            ("namesrvAddr", namesrv.addr().to_owned()),
            ("storePathRootDir", store.display().to_string()),
            (
                "storePathCommitLog",
                store.join("commitlog").display().to_string(),
            ),
            ("autoCreateTopicEnable", "true".into()),
            ("autoCreateSubscriptionGroup", "true".into()),
            ("mappedFileSizeCommitLog", (128u64 << 20).to_string()),
        ];
        lines.extend(
            APACHE_TRANSACTION_CONFIG
                .iter()
                .map(|(k, v)| (*k, (*v).to_owned())),
        );
        for (k, v) in &lines {
            let _ = writeln!(conf, "{k}={v}");
        }
        for (k, v) in extra_broker {
            let _ = writeln!(conf, "{k}={v}");
        }
        let broker_conf = dir.path().join("broker.conf");
        fs::write(&broker_conf, conf).expect("write broker.conf");
        let proxy_conf = dir.path().join("rmq-proxy.json");
        let proxy_json = json!({
            "rocketMQClusterName": "DefaultCluster",
            "namesrvAddr": namesrv.addr(),
            "grpcServerPort": grpc_port,
            "remotingListenPort": remoting_port,
            // A push consumer's long poll (20 s by default) is not woken by a retried message:
            // a nacked message waits for the poll to end.
            "grpcClientConsumerMaxLongPollingTimeoutMillis": 5000,
        });
        fs::write(&proxy_conf, proxy_json.to_string()).expect("write rmq-proxy.json");
        let mut cmd = Command::new("java");
        cmd.env("ROCKETMQ_HOME", &home)
            .env("RMQ_PROXY_HOME", &home)
            .args(["-Xms768m", "-Xmx768m", "-XX:+UseG1GC"])
            .arg(format!("-Duser.home={}", home.display()))
            .arg("-cp")
            .arg(&jars.proxy_classpath)
            .arg("org.apache.rocketmq.proxy.ProxyStartup")
            .args(["-pm", "local", "-bc"])
            .arg(&broker_conf)
            .arg("-pc")
            .arg(&proxy_conf)
            .arg("-n")
            .arg(namesrv.addr());
        let mut child = ChildGuard::spawn("apache-proxy", cmd, &dir.path().join("proxy.out"))
            .unwrap_or_else(|e| panic!("{e}"));
        let target = GrpcTarget {
            endpoint: format!("127.0.0.1:{grpc_port}"),
            broker: format!("127.0.0.1:{broker_port}"),
            namesrv: namesrv.addr().to_owned(),
        };
        let needle = format!("\"{}\"", target.broker);
        let ready = wait_until(
            &format!("Apache proxy on {}", target.endpoint),
            STARTUP_TIMEOUT,
            || {
                child.ensure_running()?;
                if !port_accepts(&target.endpoint) {
                    return Ok(false);
                }
                Ok(remoting::broker_cluster_info(&target.namesrv)
                    .is_ok_and(|info| info.code == 0 && info.body_text().contains(&needle)))
            },
        );
        let proxy = Self {
            child,
            target,
            _namesrv: namesrv,
            dir,
        };
        if let Err(e) = ready {
            panic!("Apache proxy did not start: {e}\n{}", proxy.log_tail());
        }
        proxy
    }

    /// Endpoint, broker and name server addresses.
    pub fn target(&self) -> &GrpcTarget {
        &self.target
    }

    /// The temporary directory holding configs, store and logs.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The proxy's output tail plus the tails of its `proxy.log` and `broker.log`.
    pub fn log_tail(&self) -> String {
        let logs = self.dir.path().join("home/logs/rocketmqlogs");
        let mut out = format!(
            "--- {} output ({}) ---\n{}",
            self.child.name(),
            self.child.log_path().display(),
            self.child.log_tail(TAIL_LINES)
        );
        for name in ["proxy.log", "broker.log"] {
            let log = logs.join(name);
            if log.is_file() {
                let _ = write!(
                    out,
                    "\n--- {} ---\n{}",
                    log.display(),
                    tail_of_file(&log, TAIL_LINES)
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_lines_have_exact_counts() {
        assert_eq!(
            expected_line("transaction", 12),
            "OK: transaction: committed 4 rolled-back 4 checked 4 received 8"
        );
        assert_eq!(
            expected_line("redelivery", 12),
            "OK: redelivery: received 12 acked 6 redelivered 6 attempt 2"
        );
        for s in SCENARIOS {
            assert!(expected_line(s, 6).starts_with(&format!("OK: {s}: ")));
        }
    }

    #[test]
    fn missing_lines_names_what_did_not_pass() {
        let output = "[+1ms] scenario normal\nOK: normal: sent 6 received 6 acked 6\r\n\
                      FAIL: fifo: java.lang.IllegalStateException: mg1\n";
        assert_eq!(
            missing_lines(output, &["normal", "fifo"], 6),
            ["OK: fifo: sent 6 groups 3 received 6 in order"]
        );
    }

    #[test]
    #[should_panic(expected = "multiple of 6")]
    fn counts_must_split_into_thirds_and_halves() {
        let _ = expected_line("normal", 8);
    }
}
