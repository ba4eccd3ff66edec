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
use ferromq_tests::grpc::APACHE_TRANSACTION_CONFIG;
use ferromq_tests::proxies::{FerroProxy, ScenariosAcross};
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

/// An Apache master `name` with the transaction check settings of the `transaction` scenario
/// (docs/grpc-sdk-tests.md).
fn apache_broker(namesrv: &str, name: &str) -> ApacheBroker {
    ApacheBroker::start(
        namesrv,
        BrokerOptions {
            broker_name: name.to_owned(),
            heap: "384m".to_owned(),
            extra_config: APACHE_TRANSACTION_CONFIG
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
    let scenarios = ScenariosAcross {
        endpoint: proxy.endpoint().to_owned(),
        namesrv: namesrv.addr().to_owned(),
        brokers: vec![a.addr().to_owned(), b.addr().to_owned()],
        names: vec!["broker-a".to_owned(), "broker-b".to_owned()],
        prefix: format!("GrpcApacheBrokers{}", std::process::id()),
        scenarios: SCENARIOS,
        n: N,
    };
    scenarios.run(
        "Java SDK through mqproxy to Apache brokers",
        Duration::from_secs(300),
        logs,
    );
    let per_broker = scenarios.stored("normal");
    assert_eq!(per_broker.iter().sum::<i64>(), N as i64, "{per_broker:?}");
    assert!(per_broker.iter().all(|n| *n > 0), "{per_broker:?}");
}
