//! Issue 21: the official RocketMQ 5.x SDKs over gRPC, against Apache's proxy (local mode, from
//! the Maven jars: proves the programs and expectations) and against FerroMQ's gRPC endpoint
//! (the broker's `grpcServerPort`, brokers run by `LocalCluster`).
//!
//! Per server, one JVM runs every Java SDK scenario (`GrpcScenarios`: normal, FIFO, delay,
//! transaction with check-back, simple consumer receive/ack, change invisible duration,
//! redelivery, DLQ, push concurrent and FIFO) with exact counts; the Go SDK sends and receives;
//! and messages cross between the remoting client (5.3.3 `rocketmq-client`) and the gRPC SDK in
//! both directions. FerroMQ alone: the POP crash test over gRPC (10,000 messages, half acked,
//! `kill -9`, restart). The throughput figures come from the ignored test at the end.
//!
//! Needs `java` (17), `mvn` and `go` on PATH (else `SKIPPED`, or a failure with
//! `FERROMQ_COMPAT_REQUIRED=1`); the FerroMQ tests need `cargo build -p ferromq-namesrv -p
//! ferromq-broker` first.
//!
//! ```text
//! cargo test -p ferromq-tests --test compat_grpc -- --nocapture
//! cargo test -p ferromq-tests --test compat_grpc -- --ignored --nocapture grpc_throughput
//! ```

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use ferromq_client::testing::LocalCluster;
use ferromq_tests::clients::{java_interop, java_store_produce, result_figures};
use ferromq_tests::grpc::{
    self, create_group, create_topic, go_send_receive, java_grpc_tools, missing_lines,
    run_java_scenarios, ApacheProxy, GrpcTarget, MessageType, SCENARIOS,
};
use ferromq_tests::net::free_port;
use ferromq_tests::require_tools;

/// Messages per scenario (a multiple of 6: thirds for transactions, halves for redelivery).
const N: usize = 12;

/// Bound for the JVM running every scenario (transactions wait for a check-back, DLQ for two
/// invisible periods, the delay scenario for its timestamps).
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(300);

fn prefix(server: &str) -> String {
    format!("Grpc{server}{}", std::process::id())
}

/// A FerroMQ name server + broker with the gRPC endpoint on; the `GrpcTarget` to reach it.
fn ferromq_cluster(extra: &[&str]) -> (LocalCluster, GrpcTarget) {
    let grpc_port = free_port();
    let mut builder = LocalCluster::builder()
        .broker_config(format!("grpcServerPort={grpc_port}"))
        .broker_config("transactionCheckInterval=1000")
        .broker_config("transactionTimeOut=3000");
    for line in extra {
        builder = builder.broker_config(*line);
    }
    let cluster = builder.start().expect("FerroMQ cluster starts");
    let endpoint = format!("127.0.0.1:{grpc_port}");
    ferromq_tests::net::wait_for_port(&endpoint, Duration::from_secs(30)).unwrap_or_else(|e| {
        panic!(
            "FerroMQ's gRPC endpoint (grpcServerPort={grpc_port}) is not listening: {e}\n{}",
            cluster.broker(0).log_tail()
        )
    });
    let target = GrpcTarget {
        endpoint,
        broker: cluster.broker(0).addr(),
        namesrv: cluster.namesrv_addr().to_owned(),
    };
    (cluster, target)
}

/// Every check against one server; failures are collected so one run shows all of them.
fn all_checks(target: &GrpcTarget, server: &str, logs: &dyn Fn() -> String) {
    let prefix = prefix(server);
    let mut failures = Vec::new();

    let start = Instant::now();
    let run = run_java_scenarios(target, &prefix, N, SCENARIOS, SCENARIO_TIMEOUT);
    eprintln!(
        "{server}: Java SDK scenarios in {:.1?}:\n{}",
        start.elapsed(),
        run.output
    );
    let missing = missing_lines(&run.output, SCENARIOS, N);
    if !missing.is_empty() || !run.success() {
        failures.push(format!(
            "Java SDK scenarios: missing {missing:#?}\n{}",
            run.output
        ));
    }

    if let Err(e) = go_check(target, &prefix) {
        failures.push(e);
    }
    if let Err(e) = grpc_to_remoting(target, &prefix) {
        failures.push(e);
    }
    if let Err(e) = remoting_to_grpc(target, &prefix) {
        failures.push(e);
    }
    if !failures.is_empty() {
        panic!(
            "{server}: {} check(s) failed:\n{}\n--- server logs ---\n{}",
            failures.len(),
            failures.join("\n\n"),
            logs()
        );
    }
}

/// Go 5.x SDK: send N, a simple consumer receives and acks each once.
fn go_check(target: &GrpcTarget, prefix: &str) -> Result<(), String> {
    let topic = format!("{prefix}_go");
    create_topic(target, &topic, MessageType::Normal);
    let run = go_send_receive(&target.endpoint, &topic, &format!("{topic}_g"), N);
    let want = format!("OK: send-receive: sent {N} received {N} acked {N}");
    if run.success() && run.output.lines().any(|l| l.trim_end() == want) {
        eprintln!("Go SDK: ok in {:.1?}", run.elapsed);
        Ok(())
    } else {
        Err(format!("Go SDK: no '{want}':\n{}", run.output))
    }
}

/// The Java gRPC SDK sends; the Java remoting client's push consumer gets every message intact.
fn grpc_to_remoting(target: &GrpcTarget, prefix: &str) -> Result<(), String> {
    let topic = format!("{prefix}_to_remoting");
    create_topic(target, &topic, MessageType::Normal);
    let sent = java_grpc_tools(
        &["send", &target.endpoint, &topic, &N.to_string()],
        Duration::from_secs(90),
    );
    if !sent.success() || !sent.output.contains(&format!("OK: send: sent {N}")) {
        return Err(format!(
            "gRPC send for the remoting consumer:\n{}",
            sent.output
        ));
    }
    let consumed = java_interop(&[
        "consume",
        &target.namesrv,
        &topic,
        &N.to_string(),
        "concurrent",
        "1000",
    ]);
    if !consumed.success() {
        return Err(format!("remoting consumer:\n{}", consumed.output));
    }
    let mut got = BTreeSet::new();
    for line in consumed.output.lines().filter(|l| l.starts_with("RECV\t")) {
        let field = |name: &str| {
            line.split('\t')
                .find_map(|f| f.strip_prefix(name))
                .unwrap_or_default()
                .to_owned()
        };
        let key = field("key=");
        let Some(i) = key
            .strip_prefix(&format!("{topic}-"))
            .and_then(|s| s.parse::<usize>().ok())
        else {
            return Err(format!("remoting consumer got key {key:?}: {line}"));
        };
        if field("body=") != grpc::grpc_body(&topic, i) {
            return Err(format!("remoting consumer: body of {key}: {line}"));
        }
        if !got.insert(i) {
            return Err(format!("remoting consumer got {key} twice"));
        }
    }
    if got != (0..N).collect() {
        return Err(format!(
            "remoting consumer got {got:?}, expected 0..{N}\n{}",
            consumed.output
        ));
    }
    eprintln!("gRPC -> remoting: ok");
    Ok(())
}

/// The Java remoting producer sends (StoreProduce content: binary bodies up to 160 KB, two keys,
/// tags, a UTF-8 property); a Java gRPC simple consumer receives each intact, once.
fn remoting_to_grpc(target: &GrpcTarget, prefix: &str) -> Result<(), String> {
    let topic = format!("{prefix}_from_remoting");
    create_topic(target, &topic, MessageType::Normal);
    let n = 20;
    let sent = java_store_produce(&target.namesrv, &topic, n);
    if !sent.success() || !sent.output.contains(&format!("OK: sent {n}")) {
        return Err(format!("remoting producer:\n{}", sent.output));
    }
    let received = java_grpc_tools(
        &[
            "receive-store",
            &target.endpoint,
            &topic,
            &format!("{topic}_g"),
            &n.to_string(),
        ],
        Duration::from_secs(90),
    );
    let want = format!("OK: receive-store: received {n}");
    if received.success() && received.output.lines().any(|l| l.trim_end() == want) {
        eprintln!("remoting -> gRPC: ok");
        Ok(())
    } else {
        Err(format!("gRPC consumer: no '{want}':\n{}", received.output))
    }
}

#[test]
fn official_grpc_sdks_against_apache_proxy() {
    if !require_tools("compat_grpc", grpc::GRPC_TOOLS) {
        return;
    }
    let proxy = ApacheProxy::start(&[]);
    eprintln!("Apache proxy up: {:?}", proxy.target());
    all_checks(proxy.target(), "Apache", &|| proxy.log_tail());
}

#[test]
fn official_grpc_sdks_against_ferromq() {
    if !require_tools("compat_grpc", grpc::GRPC_TOOLS) {
        return;
    }
    let (cluster, target) = ferromq_cluster(&[]);
    all_checks(&target, "Ferro", &|| cluster.broker(0).log_tail());
}

/// A simple consumer acks half of 10,000 messages; the broker is killed (`SIGKILL`) and
/// restarted; every unacked message comes back exactly once and no acked one does.
#[test]
fn pop_crash_over_grpc_ferromq() {
    if !require_tools("compat_grpc", &["java", "mvn"]) {
        return;
    }
    let n = 10_000;
    let (cluster, target) = ferromq_cluster(&[]);
    let topic = format!("{}_crash", prefix("Ferro"));
    let group = format!("{topic}_g");
    create_topic(&target, &topic, MessageType::Normal);
    create_group(&target, &group, false, 16);
    let half = java_grpc_tools(
        &[
            "crash-ack-half",
            &target.endpoint,
            &topic,
            &group,
            &n.to_string(),
            "15",
        ],
        Duration::from_secs(300),
    );
    let want = format!("OK: crash-ack-half: received {n} acked {}", n / 2);
    eprintln!("before the kill ({:.1?}): {want}", half.elapsed);
    assert!(
        half.success() && half.output.lines().any(|l| l.trim_end() == want),
        "no '{want}':\n{}\n{}",
        half.output,
        cluster.broker(0).log_tail()
    );
    let broker = cluster.broker(0);
    broker.kill();
    broker.restart().expect("broker restarts after kill -9");
    ferromq_tests::net::wait_for_port(&target.endpoint, Duration::from_secs(60))
        .expect("gRPC endpoint back after the restart");
    let drain = java_grpc_tools(
        &[
            "crash-drain",
            &target.endpoint,
            &topic,
            &group,
            &n.to_string(),
            "20",
        ],
        Duration::from_secs(300),
    );
    let want = format!("OK: crash-drain: redelivered {} acked-again 0", n / 2);
    eprintln!("after the restart ({:.1?}): {want}", drain.elapsed);
    assert!(
        drain.success() && drain.output.lines().any(|l| l.trim_end() == want),
        "no '{want}':\n{}\n{}",
        drain.output,
        broker.log_tail()
    );
}

/// Java 5.x SDK throughput (1 KiB bodies, 20 s of async sends with 256 in flight, then receive
/// and ack of the backlog) against Apache's proxy and, when its endpoint starts, FerroMQ, one
/// after the other on this machine. Prints `RESULT` lines; asserts only that every sent message
/// was received.
#[test]
#[ignore = "measurement: run by hand for the issue's figures"]
fn grpc_throughput() {
    if !require_tools("compat_grpc", &["java", "mvn"]) {
        return;
    }
    let seconds = std::env::var("FERROMQ_GRPC_BENCH_SECONDS").unwrap_or_else(|_| "20".into());
    let bench = |target: &GrpcTarget, server: &str| {
        let topic = format!("{}_bench", prefix(server));
        create_topic(target, &topic, MessageType::Normal);
        let run = java_grpc_tools(
            &[
                "bench",
                &target.endpoint,
                &topic,
                &format!("{topic}_g"),
                &seconds,
                "1024",
                "256",
            ],
            Duration::from_secs(600),
        );
        run.assert_success();
        // One RESULT line for the sends, one for the receive + ack drain.
        result_figures(&run.output).expect("a RESULT line");
        for line in run.output.lines().filter(|l| l.starts_with("RESULT ")) {
            eprintln!("{server} {line}");
        }
    };
    {
        let proxy = ApacheProxy::start(&[]);
        bench(proxy.target(), "Apache");
    }
    let (_cluster, target) = ferromq_cluster(&[]);
    bench(&target, "Ferro");
}
