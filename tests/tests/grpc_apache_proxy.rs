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
use ferromq_tests::proxies::{with_broker_logs, ApacheClusterProxy, ScenariosAcross};
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
    let prefix = format!("GrpcApacheProxy{}", std::process::id());
    let scenarios = ScenariosAcross::on_cluster(proxy.endpoint(), &cluster, &prefix, SCENARIOS, N);
    scenarios.run(
        "Java SDK through Apache's proxy to FerroMQ",
        Duration::from_secs(240),
        || with_broker_logs(proxy.log_tail(), &cluster),
    );
    for s in SCENARIOS {
        let per_broker = scenarios.stored(s);
        assert_eq!(per_broker.iter().sum::<i64>(), N as i64, "{per_broker:?}");
    }
}
