//! The official Apache RocketMQ client programs: Java (`rocketmq-client` 5.3.3,
//! `tests/compat/java`; `ProduceConsume` also on 4.9.8, `tests/compat/java49`) and Go
//! (`rocketmq-client-go/v2` v2.1.2, `tests/compat/go`).
//!
//! Each run gets a fresh temporary `HOME` / `user.home` (the clients write logs and offsets
//! there), is bounded by [`CLIENT_TIMEOUT`] (or the timeout given), and is killed if it overruns.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::artifacts::{GoProgram, JavaArtifacts};
use crate::process::{run_bounded, ChildGuard, ProgramRun};

/// Upper bound for one client program run.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(120);

/// The outcome of a client program run; see [`ProgramRun::assert_success`].
pub type ClientRun = ProgramRun;

/// Which build of the Java client programs runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JavaClient {
    /// `tests/compat/java` on `rocketmq-client` 5.3.3 (every program).
    V5,
    /// `tests/compat/java49` on `rocketmq-client` 4.9.8 (`ProduceConsume` and `AclAdmin49`).
    V4,
    /// `tests/compat/grpc-java` on `rocketmq-client-java` (the 5.x gRPC SDK).
    Grpc,
}

fn java_client(main: &str, args: &[String], name: &str) -> ClientRun {
    java_client_on(JavaClient::V5, main, args, name, CLIENT_TIMEOUT)
}

/// Runs `main` of the `client` build; the program's own deadline (`-Dcompat.timeoutMs`) is
/// `timeout` minus 15 s, so it can report before the harness kills it at `timeout`.
pub fn java_client_on(
    client: JavaClient,
    main: &str,
    args: &[String],
    name: &str,
    timeout: Duration,
) -> ClientRun {
    java_client_with(client, main, args, name, timeout, &[])
}

/// [`java_client_on`] with extra JVM options before the main class (`-Dtls.enable=true`).
fn java_client_with(
    client: JavaClient,
    main: &str,
    args: &[String],
    name: &str,
    timeout: Duration,
    jvm_options: &[String],
) -> ClientRun {
    let home = tempfile::Builder::new()
        .prefix("java-client-")
        .tempdir()
        .expect("tempdir");
    let mut cmd = java_command(client, main, args, home.path(), timeout);
    // JVM options go before the main class: rebuild the argument list with them in front.
    if !jvm_options.is_empty() {
        let rest: Vec<std::ffi::OsString> = cmd.get_args().map(|a| a.to_owned()).collect();
        let mut with = Command::new("java");
        with.envs(cmd.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))))
            .args(jvm_options)
            .args(rest);
        cmd = with;
    }
    let mut run = run_bounded(name, cmd, &home.path().join("out.log"), timeout)
        .unwrap_or_else(|e| panic!("cannot run {name}: {e}"));
    if !run.success() {
        run.output.push_str(&client_log_tail(home.path()));
    }
    run
}

/// The tail of the Java client's own log (`rocketmq_client.log` under `-Drocketmq.client.logRoot`),
/// for a failed run's report.
fn client_log_tail(home: &Path) -> String {
    let candidates = [
        home.join("logs").join("rocketmq_client.log"),
        home.join("logs")
            .join("rocketmqlogs")
            .join("rocketmq_client.log"),
    ];
    let Some(log) = candidates.into_iter().find(|p| p.is_file()) else {
        return String::new();
    };
    // Warnings, errors and exception messages, without stack frames.
    let text = String::from_utf8_lossy(&std::fs::read(&log).unwrap_or_default()).into_owned();
    let notable: Vec<&str> = text
        .lines()
        .filter(|l| {
            l.contains(" WARN ")
                || l.contains(" ERROR ")
                || (!l.starts_with('\t') && (l.contains("Exception") || l.starts_with("Caused by")))
        })
        .collect();
    format!(
        "\n--- {} (warnings and errors) ---\n{}",
        log.display(),
        notable[notable.len().saturating_sub(40)..].join("\n")
    )
}

/// The `java` command line of `main` of the `client` build, with `home` as `HOME` and
/// `user.home` and the program's own deadline derived from `timeout`.
pub(crate) fn java_command(
    client: JavaClient,
    main: &str,
    args: &[String],
    home: &Path,
    timeout: Duration,
) -> Command {
    let jars = JavaArtifacts::get();
    let classpath = match client {
        JavaClient::V5 => &jars.client_classpath,
        JavaClient::V4 => &jars.client49_classpath,
        JavaClient::Grpc => &jars.grpc_client_classpath,
    };
    let mut cmd = Command::new("java");
    cmd.env("HOME", home)
        .args([
            "-Xms64m",
            "-Xmx256m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
        ])
        .arg(format!("-Duser.home={}", home.display()))
        .arg(format!(
            "-Drocketmq.client.logRoot={}",
            home.join("logs").display()
        ))
        // The program's own deadline, below the harness's kill timeout so it can report.
        .arg(format!(
            "-Dcompat.timeoutMs={}",
            program_deadline(timeout).as_millis()
        ))
        .arg("-cp")
        .arg(classpath)
        .arg(main)
        .args(args);
    cmd
}

/// A client program's own deadline when the harness kills it at `timeout`.
fn program_deadline(timeout: Duration) -> Duration {
    timeout.saturating_sub(Duration::from_secs(15))
}

fn go_client(args: &[String], name: &str) -> ClientRun {
    go_client_with_timeout(args, name, CLIENT_TIMEOUT)
}

fn go_client_with_timeout(args: &[String], name: &str, timeout: Duration) -> ClientRun {
    let program = GoProgram::get();
    let home = tempfile::Builder::new()
        .prefix("go-client-")
        .tempdir()
        .expect("tempdir");
    let mut cmd = Command::new(&program.binary);
    cmd.env("HOME", home.path()).args(args);
    run_bounded(name, cmd, &home.path().join("out.log"), timeout)
        .unwrap_or_else(|e| panic!("cannot run {name}: {e}"))
}

/// Java `ProduceConsume`: creates `topic` through the name server's `TBW102` route, waits for
/// its route, sends `n` sync messages (tags, keys, user properties, distinct UTF-8 bodies), then
/// a push consumer (new group, from the first offset) must receive exactly those `n` intact.
pub fn java_produce_consume(namesrv: &str, topic: &str, n: usize) -> ClientRun {
    java_client(
        "org.ferromq.compat.ProduceConsume",
        &[namesrv.to_owned(), topic.to_owned(), n.to_string()],
        &format!("java ProduceConsume {topic} x{n}"),
    )
}

/// [`java_produce_consume`] with extra JVM options, such as Apache's TLS system properties
/// (`-Dtls.enable=true`, `-Dtls.client.trustCertPath=...`).
pub fn java_produce_consume_with(
    namesrv: &str,
    topic: &str,
    n: usize,
    jvm_options: &[String],
) -> ClientRun {
    java_client_with(
        JavaClient::V5,
        "org.ferromq.compat.ProduceConsume",
        &[namesrv.to_owned(), topic.to_owned(), n.to_string()],
        &format!("java ProduceConsume {topic} x{n} {jvm_options:?}"),
        CLIENT_TIMEOUT,
        jvm_options,
    )
}

/// `ProduceConsume` (the same source) built against `rocketmq-client` 4.9.8.
pub fn java49_produce_consume(namesrv: &str, topic: &str, n: usize) -> ClientRun {
    java_client_on(
        JavaClient::V4,
        "org.ferromq.compat.ProduceConsume",
        &[namesrv.to_owned(), topic.to_owned(), n.to_string()],
        &format!("java 4.9.8 ProduceConsume {topic} x{n}"),
        CLIENT_TIMEOUT,
    )
}

/// Java `BrokerScenarios <scenario> <namesrv> <topic> <n>` (5.3.3): one docs/scenarios.md scenario
/// (`async-oneway`, `batch`, `group`, `lite-pull`, `tag-filter`, `retry-dlq`, `query-view`) on a
/// topic it creates, groups named after the topic. Prints `OK: <scenario>: <summary>` on success.
/// Killed at `timeout`; the program gives up 15 s before.
pub fn java_broker_scenario(
    scenario: &str,
    namesrv: &str,
    topic: &str,
    n: usize,
    timeout: Duration,
) -> ClientRun {
    java_client_on(
        JavaClient::V5,
        "org.ferromq.compat.BrokerScenarios",
        &[
            scenario.to_owned(),
            namesrv.to_owned(),
            topic.to_owned(),
            n.to_string(),
        ],
        &format!("java BrokerScenarios {scenario} {topic} x{n}"),
        timeout,
    )
}

/// Java `OrderedDelayedScenarios <scenario> <namesrv> <topic> <n>` (5.3.3): `ordered` (n
/// messages per sharding key), `delayed` (n messages), `broadcast` (n messages),
/// `delayed-restart-send` / `delayed-restart-receive` (the halves around a broker restart) on a
/// topic it creates (or, after the restart, finds), groups named after the topic. Prints
/// `OK: <scenario>: <summary>` on success. Killed at `timeout`; the program gives up 15 s before.
pub fn java_ordered_delayed_scenario(
    scenario: &str,
    namesrv: &str,
    topic: &str,
    n: usize,
    timeout: Duration,
) -> ClientRun {
    java_client_on(
        JavaClient::V5,
        "org.ferromq.compat.OrderedDelayedScenarios",
        &[
            scenario.to_owned(),
            namesrv.to_owned(),
            topic.to_owned(),
            n.to_string(),
        ],
        &format!("java OrderedDelayedScenarios {scenario} {topic} x{n}"),
        timeout,
    )
}

/// Java `TransactionSqlTimerScenarios <scenario> <namesrv> <topic> <n>` (5.3.3): `transaction`
/// (n unused), `sql-filter` (n unused) or `timer` (n messages) on a one-queue topic it creates,
/// groups named after the topic. Prints `OK: <scenario>: <summary>` on success. Killed at
/// `timeout`; the program gives up 15 s before.
pub fn java_transaction_sql_timer_scenario(
    scenario: &str,
    namesrv: &str,
    topic: &str,
    n: usize,
    timeout: Duration,
) -> ClientRun {
    java_client_on(
        JavaClient::V5,
        "org.ferromq.compat.TransactionSqlTimerScenarios",
        &[
            scenario.to_owned(),
            namesrv.to_owned(),
            topic.to_owned(),
            n.to_string(),
        ],
        &format!("java TransactionSqlTimerScenarios {scenario} {topic} x{n}"),
        timeout,
    )
}

/// Java `AclRoundTrip <namesrv> <topic> <deniedTopic> <n> <adminKey> <adminSecret> <userKey>
/// <userSecret>` (5.3.3, `AclClientRPCHook`): the admin creates both topics, the user sends `n`
/// to `topic` and consumes them with a push consumer, and the user's send to `denied` must be
/// refused by the broker's ACL. Prints `OK: acl: <summary>` on success.
pub fn java_acl_round_trip(
    namesrv: &str,
    topic: &str,
    denied: &str,
    n: usize,
    admin: (&str, &str),
    user: (&str, &str),
) -> ClientRun {
    java_client(
        "org.ferromq.compat.AclRoundTrip",
        &[
            namesrv.to_owned(),
            topic.to_owned(),
            denied.to_owned(),
            n.to_string(),
            admin.0.to_owned(),
            admin.1.to_owned(),
            user.0.to_owned(),
            user.1.to_owned(),
        ],
        &format!("java AclRoundTrip {topic} x{n}"),
    )
}

/// [`java_acl_round_trip`] against a broker with ACL 2.0: the denied send must be answered
/// `refusal_code` (NO_PERMISSION, 16) with a remark containing `refusal_remark`.
#[allow(clippy::too_many_arguments)]
pub fn java_acl2_round_trip(
    namesrv: &str,
    topic: &str,
    denied: &str,
    n: usize,
    admin: (&str, &str),
    user: (&str, &str),
    refusal_code: i32,
    refusal_remark: &str,
) -> ClientRun {
    java_client(
        "org.ferromq.compat.AclRoundTrip",
        &[
            namesrv.to_owned(),
            topic.to_owned(),
            denied.to_owned(),
            n.to_string(),
            admin.0.to_owned(),
            admin.1.to_owned(),
            user.0.to_owned(),
            user.1.to_owned(),
            refusal_code.to_string(),
            refusal_remark.to_owned(),
        ],
        &format!("java AclRoundTrip (ACL 2.0) {topic} x{n}"),
    )
}

/// Java `AclAdmin49 <brokerAddr> <adminKey> <adminSecret> <userKey> <userSecret> <whiteAddr>`
/// (4.9.8, `MQClientAPIImpl`'s ACL 1.0 admin calls signed by `AclClientRPCHook`): version, create
/// the user, the user refused the same call, replace the global white addresses, delete the user
/// twice (the second refused). Prints `OK: acl-admin: <summary>` on success.
pub fn java49_acl_admin(
    broker: &str,
    admin: (&str, &str),
    user: (&str, &str),
    white_addr: &str,
) -> ClientRun {
    java_client_on(
        JavaClient::V4,
        "org.ferromq.compat.AclAdmin49",
        &[
            broker.to_owned(),
            admin.0.to_owned(),
            admin.1.to_owned(),
            user.0.to_owned(),
            user.1.to_owned(),
            white_addr.to_owned(),
        ],
        "java 4.9.8 AclAdmin49",
        CLIENT_TIMEOUT,
    )
}

/// Go `compat-go <scenario> -namesrv .. -broker .. -topic .. -n ..` (v2.1.2): `tag-filter`,
/// `async-group`, `ordered`, `delayed`, `transaction` or `sql-filter` (see
/// `tests/compat/go/main.go`). Prints `OK: <scenario>: <summary>` on success.
/// Killed at `timeout`; the program gives up 15 s before.
pub fn go_broker_scenario(
    scenario: &str,
    namesrv: &str,
    broker: &str,
    topic: &str,
    n: usize,
    timeout: Duration,
) -> ClientRun {
    go_client_with_timeout(
        &[
            scenario.into(),
            "-namesrv".into(),
            namesrv.into(),
            "-broker".into(),
            broker.into(),
            "-topic".into(),
            topic.into(),
            "-n".into(),
            n.to_string(),
            "-timeout".into(),
            format!("{}s", program_deadline(timeout).as_secs()),
        ],
        &format!("go {scenario} {topic} x{n}"),
        timeout,
    )
}

/// Go `produce-consume`: sends `n` messages (topic auto-created by the broker via `TBW102`),
/// waits for the topic's route, then a push consumer from the first offset must receive exactly
/// those `n` intact.
pub fn go_produce_consume(namesrv: &str, topic: &str, n: usize) -> ClientRun {
    let timeout = CLIENT_TIMEOUT - Duration::from_secs(15);
    go_client(
        &[
            "produce-consume".into(),
            "-namesrv".into(),
            namesrv.into(),
            "-topic".into(),
            topic.into(),
            "-n".into(),
            n.to_string(),
            "-timeout".into(),
            format!("{}s", timeout.as_secs()),
        ],
        &format!("go produce-consume {topic} x{n}"),
    )
}

/// Go `acl`: signed with `who` (access key, secret key), `n` sends to `topic` succeed, a send to
/// `denied` and a send with a wrong secret are refused, and a push consumer of `group` receives
/// the `n` messages. Prints `OK: acl: ...` on success. Both topics must exist.
pub fn go_acl_round_trip(
    namesrv: &str,
    topic: &str,
    denied: &str,
    group: &str,
    who: (&str, &str),
    n: usize,
) -> ClientRun {
    let timeout = CLIENT_TIMEOUT - Duration::from_secs(15);
    go_client(
        &[
            "acl".into(),
            "-namesrv".into(),
            namesrv.into(),
            "-topic".into(),
            topic.into(),
            "-denied".into(),
            denied.into(),
            "-group".into(),
            group.into(),
            "-ak".into(),
            who.0.into(),
            "-sk".into(),
            who.1.into(),
            "-n".into(),
            n.to_string(),
            "-timeout".into(),
            format!("{}s", timeout.as_secs()),
        ],
        &format!("go acl {topic} x{n}"),
    )
}

/// Java `Capture` (for golden frames): one send, one batch of three, then a push consumer
/// subscribed to `TagA || TagB` for `consume`, all against `addr`.
pub fn java_capture(addr: &str, topic: &str, consume: Duration) -> ClientRun {
    java_client(
        "org.ferromq.compat.Capture",
        &[
            addr.to_owned(),
            topic.to_owned(),
            consume.as_millis().to_string(),
        ],
        "java Capture",
    )
}

/// Go `capture` (for golden frames): one send, then a push consumer subscribed to
/// `TagA || TagB` for `consume`, all against `addr`.
pub fn go_capture(addr: &str, topic: &str, consume: Duration) -> ClientRun {
    go_client(
        &[
            "capture".into(),
            "-addr".into(),
            addr.into(),
            "-topic".into(),
            topic.into(),
            "-consume".into(),
            format!("{}ms", consume.as_millis()),
        ],
        "go capture",
    )
}

/// Java `StoreProduce`: creates `topic` (4 queues) through the name server's `TBW102` route and
/// sends `n` messages with the deterministic content of `StoreData.java`, message `i` to queue
/// `i % 4`, printing `SENT\ti\tqueueId\tqueueOffset\toffsetMsgId\tmsgId` per send.
pub fn java_store_produce(namesrv: &str, topic: &str, n: usize) -> ClientRun {
    java_client(
        "org.ferromq.compat.StoreProduce",
        &[namesrv.to_owned(), topic.to_owned(), n.to_string()],
        &format!("java StoreProduce {topic} x{n}"),
    )
}

/// Java `StoreConsume`: prints the broker's min/max offsets of each queue of `topic`
/// (`OFFSETS`), reads `n` messages from the beginning of every queue with a lite pull consumer
/// (`RECV` lines with queue, offsets, ids, body length and CRC, properties), then queries the
/// broker's index for each of `keys` (`QUERY`) and views some messages by offsetMsgId (`VIEW`).
pub fn java_store_consume(namesrv: &str, topic: &str, n: usize, keys: &[String]) -> ClientRun {
    let mut args = vec![namesrv.to_owned(), topic.to_owned(), n.to_string()];
    args.extend(keys.iter().cloned());
    java_client(
        "org.ferromq.compat.StoreConsume",
        &args,
        &format!("java StoreConsume {topic} x{n}"),
    )
}

/// Java `Interop <mode> ...` (5.3.3): `consume <namesrv> <topic> <n> <orderly|concurrent>
/// <graceMillis>` prints `RECV` lines in delivery order; `ordered-produce <namesrv> <topic>
/// <shards> <perShard>` sends by `SelectMessageQueueByHash`; `tx-produce <namesrv> <topic>`
/// runs COMMIT / ROLLBACK / UNKNOW-then-COMMIT transactions. Each prints `OK` on success.
pub fn java_interop(args: &[&str]) -> ClientRun {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let name = format!("java Interop {}", args.join(" "));
    java_client("org.ferromq.compat.Interop", &args, &name)
}

/// Java `Namespaced <mode> ...` (5.3.3, `ClientConfig.setNamespace`): `produce <namesrv>
/// <namespace> <topic> <n>` prints `SENT` lines with the send result's topic; `consume <namesrv>
/// <namespace> <topic> <group> <n>` prints `RECV` lines with each message's topic. `OK` on
/// success.
pub fn java_namespaced(args: &[&str]) -> ClientRun {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let name = format!("java Namespaced {}", args.join(" "));
    java_client("org.ferromq.compat.Namespaced", &args, &name)
}

/// Java `RequestReply request <namesrv> <topic> <n> <timeoutMillis>` (5.3.3): n requests with a
/// `RequestCallback` (the 5.3.x sync `request` gives up as soon as the request is sent), each
/// reply checked to be `pong:<body>`; `OK` on success.
pub fn java_request(namesrv: &str, topic: &str, n: usize, timeout_ms: u64) -> ClientRun {
    let args = [
        "request".to_owned(),
        namesrv.to_owned(),
        topic.to_owned(),
        n.to_string(),
        timeout_ms.to_string(),
    ];
    java_client(
        "org.ferromq.compat.RequestReply",
        &args,
        &format!("java RequestReply request {topic} x{n}"),
    )
}

/// Java `RequestReply respond <namesrv> <topic> <n>` (5.3.3), started in the background: a push
/// consumer answering each request with `MessageUtil.createReplyMessage(request, "pong:" +
/// body)`; prints `READY` once started, ends with `OK` after n accepted replies.
pub fn java_respond(namesrv: &str, topic: &str, n: usize) -> BackgroundRun {
    java_background(
        "org.ferromq.compat.RequestReply",
        &[
            "respond".to_owned(),
            namesrv.to_owned(),
            topic.to_owned(),
            n.to_string(),
        ],
        &format!("java RequestReply respond {topic} x{n}"),
        CLIENT_TIMEOUT,
    )
}

/// A client program running in the background (see [`java_ha_produce`]); killed when dropped.
#[derive(Debug)]
pub struct BackgroundRun {
    name: String,
    guard: ChildGuard,
    started: Instant,
    timeout: Duration,
    // After the guard: the program dies before its home is removed.
    home: tempfile::TempDir,
}

impl BackgroundRun {
    /// Whether the program is still running.
    pub fn is_running(&mut self) -> bool {
        self.guard.try_status().is_none()
    }

    /// Its output so far.
    pub fn output(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(self.guard.log_path()).unwrap_or_default())
            .into_owned()
    }

    /// Waits for the program to exit, killing it at the timeout it was started with (counted
    /// from its start), and returns the run.
    pub fn finish(mut self) -> ClientRun {
        let left = self.timeout.saturating_sub(self.started.elapsed());
        let status = self.guard.wait_timeout(left);
        self.guard.kill();
        let mut output = self.output();
        if !status.is_some_and(|s| s.success()) {
            output.push_str(&client_log_tail(self.home.path()));
        }
        ProgramRun {
            name: self.name.clone(),
            status,
            output,
            elapsed: self.started.elapsed(),
        }
    }
}

fn java_background(main: &str, args: &[String], name: &str, timeout: Duration) -> BackgroundRun {
    let home = tempfile::Builder::new()
        .prefix("java-client-")
        .tempdir()
        .expect("tempdir");
    let cmd = java_command(JavaClient::V5, main, args, home.path(), timeout);
    let guard = ChildGuard::spawn(name, cmd, &home.path().join("out.log"))
        .unwrap_or_else(|e| panic!("cannot run {name}: {e}"));
    BackgroundRun {
        name: name.to_owned(),
        guard,
        started: Instant::now(),
        timeout,
        home,
    }
}

/// Java `HaFailover produce` (5.3.3), started in the background: 4 threads send sync messages
/// with a unique key each to `topic` for `seconds` (latency fault tolerance on, 2 retries, the
/// route polled every second), appending every key acknowledged with SEND_OK to `ack_file` as it
/// comes. Ends with `RESULT acked=N failed=N seconds=S`. Killed at `seconds` + 60 s.
pub fn java_ha_produce(namesrv: &str, topic: &str, seconds: u64, ack_file: &Path) -> BackgroundRun {
    java_background(
        "org.ferromq.compat.HaFailover",
        &[
            "produce".to_owned(),
            namesrv.to_owned(),
            topic.to_owned(),
            seconds.to_string(),
            ack_file.display().to_string(),
        ],
        &format!("java HaFailover produce {topic} {seconds}s"),
        Duration::from_secs(seconds + 60),
    )
}

/// Java `ControllerFailover produce` (5.3.3), in the background: `threads` threads send sync
/// messages with a unique key each to `topic` until `stop_file` exists (at most `max_seconds`),
/// appending every key acknowledged with SEND_OK to `ack_file` (for [`java_ha_consume`]) and
/// `key epochMillis storeHost` to `<ack_file>.at`. Killed at `max_seconds` + 60 s.
pub fn java_controller_produce(
    namesrv: &str,
    topic: &str,
    ack_file: &Path,
    stop_file: &Path,
    max_seconds: u64,
    threads: usize,
) -> BackgroundRun {
    java_background(
        "org.ferromq.compat.ControllerFailover",
        &[
            "produce".to_owned(),
            namesrv.to_owned(),
            topic.to_owned(),
            ack_file.display().to_string(),
            stop_file.display().to_string(),
            max_seconds.to_string(),
            threads.to_string(),
        ],
        &format!("java ControllerFailover produce {topic}"),
        Duration::from_secs(max_seconds + 60),
    )
}

/// Java `HaFailover consume` (5.3.3): a clustering push consumer of `group` (from the first
/// offset, route polled every second) on `topic` until it received every key of `ack_file`, or
/// its deadline (`timeout` - 15 s). Prints `RESULT acked=N received=N missing=N duplicates=N
/// extra=N`; fails (exit 1) if an acknowledged key is missing.
pub fn java_ha_consume(
    namesrv: &str,
    topic: &str,
    group: &str,
    ack_file: &Path,
    timeout: Duration,
) -> ClientRun {
    java_client_on(
        JavaClient::V5,
        "org.ferromq.compat.HaFailover",
        &[
            "consume".to_owned(),
            namesrv.to_owned(),
            topic.to_owned(),
            group.to_owned(),
            ack_file.display().to_string(),
        ],
        &format!("java HaFailover consume {topic} {group}"),
        timeout,
    )
}

/// The `name=value` numbers of the last `RESULT ...` line of a program's output.
pub fn result_figures(output: &str) -> Option<std::collections::BTreeMap<String, f64>> {
    let line = output.lines().rev().find(|l| l.starts_with("RESULT "))?;
    Some(
        line.split_whitespace()
            .skip(1)
            .filter_map(|kv| {
                let (k, v) = kv.split_once('=')?;
                Some((k.to_owned(), v.parse().ok()?))
            })
            .collect(),
    )
}

/// The `name=count` pairs of the first line of `output` that starts with `prefix` followed by
/// a Java map (`{broker-a=12, broker-b=34}`), e.g. `HaFailover`'s `acked by broker name: ` and
/// `deliveries by broker name: ` lines; empty when there is no such line.
pub fn map_line(output: &str, prefix: &str) -> std::collections::BTreeMap<String, u64> {
    output
        .lines()
        .find_map(|l| l.strip_prefix(prefix))
        .map(|rest| {
            rest.trim()
                .trim_matches(|c| c == '{' || c == '}')
                .split(", ")
                .filter_map(|kv| {
                    let (k, v) = kv.split_once('=')?;
                    Some((k.to_owned(), v.parse().ok()?))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Java `PopScenario pop <namesrv> <topic> <n>` (5.3.3, `MQClientAPIImpl`'s POP calls): pop,
/// ack, batch ack, change-invisible and redelivery through the pop retry topic (docs/pop.md).
/// Prints `OK: pop: ...` on success. Killed at `timeout`; the program gives up 15 s before.
pub fn java_pop_scenario(namesrv: &str, topic: &str, n: usize, timeout: Duration) -> ClientRun {
    java_client_on(
        JavaClient::V5,
        "org.ferromq.compat.PopScenario",
        &[
            "pop".to_owned(),
            namesrv.to_owned(),
            topic.to_owned(),
            n.to_string(),
        ],
        &format!("java PopScenario {topic} x{n}"),
        timeout,
    )
}

/// Java `PopScenario push <namesrv> <topic> <n>` (5.3.3): a push consumer with
/// `clientRebalance=false` (the broker must hand out POP assignments) consumes `n` messages, one
/// of them retried once through CHANGE_MESSAGE_INVISIBLETIME. Prints `OK: push: ...`.
pub fn java_pop_push_scenario(
    namesrv: &str,
    topic: &str,
    n: usize,
    timeout: Duration,
) -> ClientRun {
    java_client_on(
        JavaClient::V5,
        "org.ferromq.compat.PopScenario",
        &[
            "push".to_owned(),
            namesrv.to_owned(),
            topic.to_owned(),
            n.to_string(),
        ],
        &format!("java PopScenario push {topic} x{n}"),
        timeout,
    )
}
