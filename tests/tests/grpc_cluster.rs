//! Issue 21: FerroMQ's standalone `mqproxy` in cluster mode (Apache's `rmq-proxy.json`) in front
//! of two FerroMQ masters (`broker-a`, `broker-b`, one name server), driven by the official Java
//! 5.x SDK (`rocketmq-client-java`, tests/compat/grpc-java).
//!
//! - `mqproxy_in_front_of_two_masters`: the SDK scenarios (simple and push consumers, FIFO
//!   message groups, transactions with check-back) with exact counts; both brokers must have
//!   stored part of each topic (their queues' max offsets), so the proxy really spread the
//!   sends and routed receives, acks and transaction ends to the broker holding each message.
//! - `mqproxy_survives_a_dead_master`: keyed sends and receives across `kill -9` of one master
//!   and its restart: every send succeeds (the SDK retries, the proxy passes over the dead
//!   broker), receives go on from the live one, and over the whole run each message arrives
//!   exactly once; then the same master hung (`SIGSTOP`: still routed, answering nothing):
//!   every send still succeeds, on the other master.
//!
//! Needs `java` (17) and `mvn` (else `SKIPPED`) and `cargo build -p ferromq-namesrv -p
//! ferromq-broker -p ferromq-proxy` first.

use std::collections::BTreeSet;
use std::time::Duration;

use ferromq_client::testing::LocalCluster;
use ferromq_tests::grpc::{create_group, java_grpc_tools, MessageType};
use ferromq_tests::proxies::{
    create_topic_everywhere, masters, max_offsets, pid_with_arg, received_idx, targets,
    with_broker_logs, FerroProxy, Frozen, ScenariosAcross,
};
use ferromq_tests::require_tools;

/// Messages per scenario (a multiple of 6; 12 over 8 queues of two brokers reaches both).
const N: usize = 12;

/// The SDK scenarios run through the proxy (DLQ, delay and invisibility are the same single
/// broker paths as in compat_grpc.rs).
const SCENARIOS: &[&str] = &[
    "normal",
    "fifo",
    "transaction",
    "push-concurrent",
    "push-fifo",
];

fn two_masters() -> LocalCluster {
    LocalCluster::builder()
        .brokers(2)
        .broker_config("transactionCheckInterval=1000")
        .broker_config("transactionTimeOut=3000")
        .start()
        .expect("name server and two masters start")
}

#[test]
fn mqproxy_in_front_of_two_masters() {
    if !require_tools("grpc_cluster", &["java", "mvn"]) {
        return;
    }
    let cluster = two_masters();
    let proxy = FerroProxy::start(cluster.namesrv_addr());
    let prefix = format!("GrpcCluster{}", std::process::id());
    let scenarios = ScenariosAcross::on_cluster(proxy.endpoint(), &cluster, &prefix, SCENARIOS, N);
    scenarios.run(
        "Java SDK scenarios through mqproxy",
        Duration::from_secs(300),
        || with_broker_logs(proxy.log_tail(), &cluster),
    );
    for s in SCENARIOS {
        let topic = format!("{prefix}_{s}");
        let per_broker = scenarios.stored(s);
        if matches!(*s, "normal" | "push-concurrent") {
            assert_eq!(
                per_broker.iter().sum::<i64>(),
                N as i64,
                "{topic}: {per_broker:?}"
            );
        }
        if matches!(*s, "normal" | "push-concurrent" | "transaction") {
            assert!(
                per_broker.iter().all(|n| *n > 0),
                "{topic}: every broker should hold some messages: {per_broker:?}"
            );
        }
    }
}

/// A `GrpcTools send-keyed` run of messages `from .. from + n`; panics unless all succeeded.
fn send_keyed(endpoint: &str, topic: &str, from: usize, n: usize, logs: &dyn Fn() -> String) {
    let run = java_grpc_tools(
        &[
            "send-keyed",
            endpoint,
            topic,
            &from.to_string(),
            &n.to_string(),
        ],
        Duration::from_secs(120),
    );
    let want = format!("OK: send-keyed: sent {n}");
    assert!(
        run.success() && run.output.lines().any(|l| l.trim_end() == want),
        "no '{want}':\n{}\n{}",
        run.output,
        logs()
    );
}

/// A `GrpcTools receive-keyed` run of exactly `n` distinct messages (3 s of quiet after them),
/// none twice; the idx numbers received.
fn receive_keyed(
    endpoint: &str,
    topic: &str,
    group: &str,
    n: usize,
    logs: &dyn Fn() -> String,
) -> BTreeSet<usize> {
    let (idx, duplicates) = receive_keyed_with(endpoint, topic, group, n, false, logs);
    assert_eq!(duplicates, 0);
    idx
}

/// [`receive_keyed`], with second copies counted instead of failing the run when
/// `allow_duplicates`: the idx numbers and the number of second copies.
fn receive_keyed_with(
    endpoint: &str,
    topic: &str,
    group: &str,
    n: usize,
    allow_duplicates: bool,
    logs: &dyn Fn() -> String,
) -> (BTreeSet<usize>, usize) {
    let n_text = n.to_string();
    let mut args = vec!["receive-keyed", endpoint, topic, group, &n_text, "3"];
    if allow_duplicates {
        args.push("allow-duplicates");
    }
    let run = java_grpc_tools(&args, Duration::from_secs(150));
    let prefix = format!("OK: receive-keyed: received {n} duplicates ");
    let duplicates = run
        .output
        .lines()
        .find_map(|l| l.trim_end().strip_prefix(&prefix))
        .and_then(|d| d.parse().ok());
    assert!(
        run.success() && duplicates.is_some(),
        "no '{prefix}..':\n{}\n{}",
        run.output,
        logs()
    );
    eprintln!("{}", run.output);
    (
        received_idx(&run.output).into_iter().collect(),
        duplicates.unwrap_or_default(),
    )
}

#[test]
fn mqproxy_survives_a_dead_master() {
    if !require_tools("grpc_cluster", &["java", "mvn"]) {
        return;
    }
    let n = 24;
    let cluster = two_masters();
    let proxy = FerroProxy::start(cluster.namesrv_addr());
    let (brokers, names) = masters(&cluster);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let targets = targets(proxy.endpoint(), cluster.namesrv_addr(), &brokers);
    let topic = format!("GrpcFailover{}", std::process::id());
    let group = format!("{topic}_g");
    create_topic_everywhere(&targets, &names, &topic, MessageType::Normal);
    for t in &targets {
        create_group(t, &group, false, 16);
    }
    let logs = || with_broker_logs(proxy.log_tail(), &cluster);
    let stored = |i: usize| -> i64 { max_offsets(&brokers[i], &topic, 4).iter().sum() };
    let endpoint = proxy.endpoint();

    // Both masters up: the sends spread over both, the consumer takes them all.
    send_keyed(endpoint, &topic, 0, n, &logs);
    let (a0, b0) = (stored(0), stored(1));
    eprintln!("before the kill: {names:?} stored {a0} / {b0}");
    assert!(a0 > 0 && b0 > 0 && a0 + b0 == n as i64, "{a0} / {b0}");
    let first = receive_keyed(endpoint, &topic, &group, n, &logs);
    assert_eq!(first, (0..n).collect(), "first round");

    // broker-b killed: every send still succeeds, on broker-a, and is received from there.
    cluster.broker(1).kill();
    send_keyed(endpoint, &topic, n, n, &logs);
    let a1 = stored(0);
    assert_eq!(
        a1,
        a0 + n as i64,
        "all sends after the kill on {}",
        names[0]
    );
    let second = receive_keyed(endpoint, &topic, &group, n, &logs);
    assert_eq!(second, (n..2 * n).collect(), "with {} dead", names[1]);

    // broker-b back: sends reach it again; nothing acked before comes back.
    cluster
        .broker(1)
        .restart()
        .expect("broker-b restarts after kill -9");
    send_keyed(endpoint, &topic, 2 * n, n, &logs);
    let (a2, b2) = (stored(0), stored(1));
    eprintln!("after the restart: {names:?} stored {a2} / {b2}");
    assert_eq!(a2 + b2, 3 * n as i64, "{a2} / {b2}");
    let third = receive_keyed(endpoint, &topic, &group, n, &logs);
    assert_eq!(third, (2 * n..3 * n).collect(), "after the restart");

    // broker-b hung (SIGSTOP): still registered and routed, its connections open, but it
    // answers nothing. The proxy's first send there times out; the SDK's retry must go to
    // broker-a, and later sends keep away from broker-b for a while (one more timeout each
    // 10 s). A timed-out send was still read by broker-b and is stored once it resumes: at
    // least once, so such a message is received twice.
    let pid = pid_with_arg(&cluster.broker(1).conf_path()).expect("broker-b's process");
    let frozen = Frozen::freeze(pid);
    send_keyed(endpoint, &topic, 3 * n, n, &logs);
    assert_eq!(stored(0), a2 + n as i64, "sends while broker-b hangs");
    drop(frozen);
    let (fourth, twice) = receive_keyed_with(endpoint, &topic, &group, n, true, &logs);
    assert_eq!(fourth, (3 * n..4 * n).collect(), "after the hang");
    assert!(
        twice <= 3,
        "{twice} second copies: more than the timed-out sends"
    );
    eprintln!("after the hang: {twice} message(s) stored on both brokers (timed out, retried)");
}
