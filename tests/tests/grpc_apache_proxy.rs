//! Issue 21, mixed clusters the other way round: Apache RocketMQ 5.3.3's proxy
//! (`rocketmq-proxy` from Maven Central, `ProxyStartup -pm cluster`, Apache's `rmq-proxy.json`)
//! in front of FerroMQ's name server and two FerroMQ masters, driven by the official Java 5.x
//! SDK: sends spread over both brokers, simple and push consumers receive and ack each message
//! exactly once.
//!
//! Needs `java` (17) and `mvn` (else `SKIPPED`) and `cargo build -p ferromq-namesrv -p
//! ferromq-broker` first.

use std::time::Duration;

use ferromq_client::testing::LocalCluster;
use ferromq_tests::grpc::{self, missing_lines};
use ferromq_tests::proxies::{
    max_offsets, prepare_scenario_everywhere, targets, ApacheClusterProxy,
};
use ferromq_tests::require_tools;

/// Messages per scenario (a multiple of 6).
const N: usize = 12;

const SCENARIOS: &[&str] = &["normal", "push-concurrent"];

#[test]
fn apache_proxy_in_front_of_ferromq() {
    if !require_tools("grpc_apache_proxy", &["java", "mvn"]) {
        return;
    }
    let cluster = LocalCluster::builder()
        .brokers(2)
        .start()
        .expect("name server and two masters start");
    let proxy = ApacheClusterProxy::start(cluster.namesrv_addr());
    let logs = || {
        let mut out = proxy.log_tail();
        for b in cluster.brokers() {
            out.push_str(&format!("\n--- {} ---\n{}", b.name(), b.log_tail()));
        }
        out
    };
    let brokers: Vec<String> = cluster.brokers().iter().map(|b| b.addr()).collect();
    let names: Vec<String> = cluster
        .brokers()
        .iter()
        .map(|b| b.broker_name().to_owned())
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let targets = targets(proxy.endpoint(), cluster.namesrv_addr(), &brokers);
    let prefix = format!("GrpcApacheProxy{}", std::process::id());
    for s in SCENARIOS {
        prepare_scenario_everywhere(&targets, &names, &prefix, s);
    }
    let run =
        grpc::run_java_scenarios(&targets[0], &prefix, N, SCENARIOS, Duration::from_secs(240));
    eprintln!(
        "Java SDK through Apache's proxy to FerroMQ:\n{}",
        run.output
    );
    let missing = missing_lines(&run.output, SCENARIOS, N);
    assert!(
        missing.is_empty() && run.success(),
        "missing {missing:#?}\n{}\n{}",
        run.output,
        logs()
    );
    for s in SCENARIOS {
        let topic = format!("{prefix}_{s}");
        let per_broker: Vec<i64> = brokers
            .iter()
            .map(|b| max_offsets(b, &topic, 4).iter().sum())
            .collect();
        eprintln!("{topic}: stored per broker {names:?} = {per_broker:?}");
        assert_eq!(per_broker.iter().sum::<i64>(), N as i64, "{per_broker:?}");
    }
}
