//! Issue 21, mixed clusters: FerroMQ's standalone `mqproxy` (cluster mode) in front of Apache
//! RocketMQ 5.3.3's own name server and two brokers (`broker-a`, `broker-b`, from the Maven jars;
//! no Apache proxy anywhere), driven by the official Java 5.x SDK: send, simple-consumer receive
//! and ack, redelivery through the retry topic, FIFO message groups, delay, transactions with
//! check-back, push consumers. The same exact counts as against FerroMQ's brokers, and both
//! Apache brokers must have stored part of the normal topic.
//!
//! Needs `java` (17) and `mvn` (else `SKIPPED`) and `cargo build -p ferromq-proxy` first.

use std::time::Duration;

use ferromq_tests::apache::STARTUP_TIMEOUT;
use ferromq_tests::grpc::{self, missing_lines};
use ferromq_tests::proxies::{max_offsets, prepare_scenario_everywhere, targets, FerroProxy};
use ferromq_tests::{require_tools, ApacheBroker, ApacheNamesrv, BrokerOptions};

/// Messages per scenario (a multiple of 6).
const N: usize = 12;

const SCENARIOS: &[&str] = &[
    "normal",
    "fifo",
    "delay",
    "transaction",
    "redelivery",
    "push-concurrent",
    "push-fifo",
];

fn apache_broker(namesrv: &str, name: &str) -> ApacheBroker {
    let config = [
        ("transactionCheckInterval", "1000"),
        // Open transactions are checked 3 s after their send.
        ("transactionTimeOut", "3000"),
        // Commit/rollback records every 500 ms, not 3 s (see docs/grpc-sdk-tests.md).
        ("transactionOpBatchInterval", "500"),
    ];
    ApacheBroker::start(
        namesrv,
        BrokerOptions {
            broker_name: name.to_owned(),
            heap: "384m".to_owned(),
            extra_config: config
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            ..BrokerOptions::default()
        },
    )
}

#[test]
fn mqproxy_in_front_of_apache_brokers() {
    if !require_tools("grpc_apache_brokers", &["java", "mvn"]) {
        return;
    }
    let namesrv = ApacheNamesrv::start();
    let mut a = apache_broker(namesrv.addr(), "broker-a");
    let mut b = apache_broker(namesrv.addr(), "broker-b");
    a.wait_registered(namesrv.addr(), STARTUP_TIMEOUT);
    b.wait_registered(namesrv.addr(), STARTUP_TIMEOUT);
    let proxy = FerroProxy::start(namesrv.addr());
    let logs = || {
        format!(
            "{}\n--- broker-a ---\n{}\n--- broker-b ---\n{}",
            proxy.log_tail(),
            a.log_tail(),
            b.log_tail()
        )
    };
    let brokers = vec![a.addr().to_owned(), b.addr().to_owned()];
    let names = ["broker-a", "broker-b"];
    let targets = targets(proxy.endpoint(), namesrv.addr(), &brokers);
    let prefix = format!("GrpcApacheBrokers{}", std::process::id());
    for s in SCENARIOS {
        prepare_scenario_everywhere(&targets, &names, &prefix, s);
    }
    let run =
        grpc::run_java_scenarios(&targets[0], &prefix, N, SCENARIOS, Duration::from_secs(300));
    eprintln!(
        "Java SDK through mqproxy to Apache brokers:\n{}",
        run.output
    );
    let missing = missing_lines(&run.output, SCENARIOS, N);
    assert!(
        missing.is_empty() && run.success(),
        "missing {missing:#?}\n{}\n{}",
        run.output,
        logs()
    );
    let topic = format!("{prefix}_normal");
    let per_broker: Vec<i64> = brokers
        .iter()
        .map(|b| max_offsets(b, &topic, 4).iter().sum())
        .collect();
    eprintln!("{topic}: stored per broker {names:?} = {per_broker:?}");
    assert_eq!(per_broker.iter().sum::<i64>(), N as i64, "{per_broker:?}");
    assert!(per_broker.iter().all(|n| *n > 0), "{per_broker:?}");
}
