//! Promoting a slave by hand, the classic procedure after a master is lost for good (the
//! 2m-2s-sync layout, SYNC_FLUSH, every server a real process):
//!
//! 1. the official Java client sends keyed messages to both masters (every acknowledged key in
//!    a file);
//! 2. broker-a's master is killed with `SIGKILL` and stays dead;
//! 3. broker-a's slave is stopped cleanly (`SIGTERM`), its properties changed to `brokerId=0`,
//!    `brokerRole=ASYNC_MASTER` (no slave is left to make SYNC_MASTER sends succeed), and it is
//!    started again from the same store;
//! 4. the name server routes broker-a to it as the master; a Java push consumer receives every
//!    acknowledged key (broker-a's from the promoted broker);
//! 5. it takes new sends: a second producer run gets acknowledgements from it, and a new group
//!    consumes them.
//!
//! Needs `java` (17) and `mvn`; prints `SKIPPED: ...` and passes otherwise. The `mqnamesrv` and
//! `mqbroker` binaries must be built (`cargo build -p ferromq-namesrv -p ferromq-broker`); the
//! cluster is `ferromq_client::testing::LocalCluster`, with the helpers of `ferromq_tests::ha`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use ferromq_client::testing::{BrokerRole, FlushDiskType};
use ferromq_tests::artifacts::JavaArtifacts;
use ferromq_tests::clients::{
    java_ha_consume, java_ha_produce, map_line, result_figures, ClientRun,
};
use ferromq_tests::ha::{self, broker};
use ferromq_tests::require_tools;

const TOOLS: &[&str] = &["java", "mvn"];
const TOPIC: &str = "HaPromotion";
const SEND_SECONDS: u64 = 3;
const CONSUME_TIMEOUT: Duration = Duration::from_secs(120);

fn deliveries_by_broker(output: &str) -> BTreeMap<String, u64> {
    map_line(output, "deliveries by broker name: ")
}

fn figure(run: &ClientRun, name: &str) -> f64 {
    result_figures(&run.output)
        .and_then(|f| f.get(name).copied())
        .unwrap_or_else(|| panic!("no {name} in {}'s RESULT line:\n{}", run.name, run.output))
}

#[test]
fn a_slave_promoted_by_hand_serves_every_acknowledged_message_and_takes_new_sends() {
    if !require_tools(
        "ha_promotion::a_slave_promoted_by_hand_serves_every_acknowledged_message_and_takes_new_sends",
        TOOLS,
    ) {
        return;
    }
    let started = Instant::now();
    JavaArtifacts::get();
    let cluster = ha::two_masters_two_slaves(BrokerRole::SyncMaster, FlushDiskType::Sync);
    let namesrv = cluster.namesrv_addr();
    ha::create_topic(&cluster, TOPIC, 4);
    ha::wait_topic_known(&cluster, "broker-a-s", &[TOPIC.to_owned()]);
    ha::wait_route_with_masters(&cluster, TOPIC, &["broker-a", "broker-b"]);
    let work = tempfile::tempdir().expect("tempdir");

    // 1. Acknowledged messages on both masters, replicated before each acknowledgement.
    let before = work.path().join("acked-before.txt");
    let run = java_ha_produce(namesrv, TOPIC, SEND_SECONDS, &before).finish();
    run.assert_success();
    let acked_before = figure(&run, "acked");
    let by_broker = map_line(&run.output, "acked by broker name: ");
    assert!(
        by_broker.get("broker-a").is_some_and(|&n| n > 0),
        "broker-a acknowledged nothing before the kill:\n{}",
        run.output
    );
    eprintln!(
        "before the kill: acked {acked_before} {by_broker:?}, failed {}",
        figure(&run, "failed")
    );
    let end = ha::wait_in_sync(&cluster, "broker-a", "broker-a-s");

    // 2. The master is lost.
    let master = broker(&cluster, "broker-a");
    master.kill();
    master.wait_unlisted().unwrap_or_else(|e| panic!("{e}"));

    // 3. The slave becomes broker-a's master.
    let slave = broker(&cluster, "broker-a-s");
    slave
        .terminate(Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("{e}"));
    slave.wait_unlisted().unwrap_or_else(|e| panic!("{e}"));
    slave.set_property("brokerId", "0");
    slave.set_property("brokerRole", BrokerRole::AsyncMaster.as_str());
    // Returns once the name server lists it as broker-a's brokerId 0.
    slave.restart().unwrap_or_else(|e| panic!("{e}"));
    ha::wait_route_with_masters(&cluster, TOPIC, &["broker-a", "broker-b"]);
    let promoted_end = ha::commit_log_max_offset(&cluster, "broker-a-s")
        .expect("runtime info of the promoted broker");
    assert_eq!(
        promoted_end, end,
        "the promoted broker's commitlog ends elsewhere than the old master's did"
    );

    // 4. Every acknowledged message, broker-a's from the promoted broker.
    let consumed = java_ha_consume(
        namesrv,
        TOPIC,
        "ha_promotion_cg_1",
        &before,
        CONSUME_TIMEOUT,
    );
    if !consumed.success() {
        eprintln!("{}", ha::logs_tail(&cluster, &["broker-a-s", "broker-b"]));
    }
    consumed.assert_success();
    let by_broker = deliveries_by_broker(&consumed.output);
    assert!(
        by_broker.get("broker-a").is_some_and(|&n| n > 0),
        "nothing consumed from broker-a: {by_broker:?}"
    );
    eprintln!(
        "before the promotion: acked {acked_before}, consumed {} (duplicates {}, extra {}), \
         by broker {by_broker:?}",
        figure(&consumed, "received"),
        figure(&consumed, "duplicates"),
        figure(&consumed, "extra"),
    );

    // 5. New sends, some of them to the promoted broker.
    let after = work.path().join("acked-after.txt");
    let run = java_ha_produce(namesrv, TOPIC, SEND_SECONDS, &after).finish();
    run.assert_success();
    let acked_after = figure(&run, "acked");
    let acked_by = map_line(&run.output, "acked by broker name: ");
    assert!(
        acked_by.get("broker-a").is_some_and(|&n| n > 0),
        "the promoted broker acknowledged no send: {acked_by:?}\n{}",
        run.output
    );
    let grown = ha::commit_log_max_offset(&cluster, "broker-a-s")
        .expect("runtime info of the promoted broker");
    assert!(
        grown > promoted_end,
        "the promoted broker stored nothing new ({promoted_end} -> {grown})"
    );
    let consumed = java_ha_consume(namesrv, TOPIC, "ha_promotion_cg_2", &after, CONSUME_TIMEOUT);
    consumed.assert_success();
    let by_broker = deliveries_by_broker(&consumed.output);
    eprintln!(
        "after the promotion: acked {acked_after} {acked_by:?}, failed {}, consumed {} \
         (duplicates {}, the {} earlier ones too: extra {}), by broker {by_broker:?}; {:.1?} in all",
        figure(&run, "failed"),
        figure(&consumed, "received"),
        figure(&consumed, "duplicates"),
        acked_before,
        figure(&consumed, "extra"),
        started.elapsed()
    );
}
