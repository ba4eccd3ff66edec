//! A SYNC_MASTER dies under load and nothing it acknowledged is lost (the classic 2-master-
//! 2-slave layout, `conf/2m-2s-sync`, SYNC_FLUSH, every server a real process).
//!
//! Each cycle, on a topic of its own (4 queues on broker-a and broker-b):
//! 1. the official Java client sends keyed messages from 4 threads for a few seconds, writing
//!    every acknowledged key to a file;
//! 2. once some are acknowledged, broker-a's master is killed with `SIGKILL`; the name server
//!    drops it, keeps broker-a's queues for its slave, and the producer carries on with broker-b;
//! 3. with the master still down, a Java push consumer (a fresh group) must receive every
//!    acknowledged key, broker-a's from its slave; duplicates are counted, not failed;
//! 4. the master starts again on its ports and store, and its slave catches up (same
//!    `commitLogMaxOffset`) before the next cycle.
//!
//! A second test checks `LocalCluster`'s restart: a broker whose listen port is still taken is
//! started again until it binds (it needs no Java).
//!
//! `FERROMQ_HA_CYCLES` sets the number of cycles (5 by default). Needs `java` (17) and `mvn`;
//! prints `SKIPPED: ...` and passes otherwise (`FERROMQ_COMPAT_REQUIRED=1` fails instead). The
//! `mqnamesrv` and `mqbroker` binaries must be built (`cargo build -p ferromq-namesrv -p ferromq-broker`); the
//! cluster is `ferromq_client::testing::LocalCluster`, with the master/slave helpers of
//! `ferromq_tests::ha`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use ferromq_client::testing::{BrokerRole, BrokerSpec, FlushDiskType, LocalCluster};
use ferromq_tests::artifacts::JavaArtifacts;
use ferromq_tests::clients::{java_ha_consume, java_ha_produce, map_line, result_figures};
use ferromq_tests::ha::{self, broker};
use ferromq_tests::net::wait_until;
use ferromq_tests::require_tools;

const TOOLS: &[&str] = &["java", "mvn"];
/// How long the producer sends each cycle.
const SEND_SECONDS: u64 = 8;
/// Acknowledged sends before broker-a's master is killed (at least).
const ACKED_BEFORE_KILL: usize = 100;
/// Bound of one consumer run.
const CONSUME_TIMEOUT: Duration = Duration::from_secs(120);

fn cycles() -> usize {
    std::env::var("FERROMQ_HA_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
}

fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |s| s.lines().count())
}

fn deliveries_by_broker(output: &str) -> BTreeMap<String, u64> {
    map_line(output, "deliveries by broker name: ")
}

#[test]
fn java_clients_lose_no_acknowledged_message_when_a_sync_master_is_killed() {
    if !require_tools(
        "ha_failover::java_clients_lose_no_acknowledged_message_when_a_sync_master_is_killed",
        TOOLS,
    ) {
        return;
    }
    let started = Instant::now();
    // Maven first, so its first-run build is not inside any wait below.
    JavaArtifacts::get();
    let cluster = ha::two_masters_two_slaves(BrokerRole::SyncMaster, FlushDiskType::Sync);
    let namesrv = cluster.namesrv_addr();
    eprintln!(
        "2m-2s-sync cluster up in {:.1?} (name server {namesrv})",
        started.elapsed(),
    );
    let n = cycles();
    let topics: Vec<String> = (0..n).map(|c| format!("HaFailover{c}")).collect();
    for topic in &topics {
        ha::create_topic(&cluster, topic, 4);
    }
    // Slaves take the topics from their masters' tables.
    ha::wait_topic_known(&cluster, "broker-a-s", &topics);
    ha::wait_topic_known(&cluster, "broker-b-s", &topics);
    let work = tempfile::tempdir().expect("tempdir");
    let mut table = Vec::new();
    for (cycle, topic) in topics.iter().enumerate() {
        let t0 = Instant::now();
        ha::wait_route_with_masters(&cluster, topic, &["broker-a", "broker-b"]);
        let slave_before =
            ha::commit_log_max_offset(&cluster, "broker-a-s").expect("broker-a-s runtime info");
        let ack_file = work.path().join(format!("acked-{cycle}.txt"));
        let mut producer = java_ha_produce(namesrv, topic, SEND_SECONDS, &ack_file);

        // Kill broker-a's master once sends are acknowledged, broker-a's slave holds some of this
        // cycle's messages, and the producer has reported 2, 3 or 4 seconds of sending (the
        // cycle picks which), so the kill lands at different points of the run.
        let reports = 2 + cycle % 3;
        let waited = wait_until(
            "acknowledged sends, some on broker-a",
            Duration::from_secs(60),
            || {
                if !producer.is_running() {
                    return Err("the producer exited early".to_owned());
                }
                let on_a = ha::commit_log_max_offset(&cluster, "broker-a-s")
                    .is_ok_and(|o| o > slave_before);
                let progress = producer
                    .output()
                    .lines()
                    .filter(|l| l.contains(" ms] acked "))
                    .count();
                Ok(on_a && lines(&ack_file) >= ACKED_BEFORE_KILL && progress >= reports)
            },
        );
        if let Err(e) = waited {
            let out = producer.output();
            panic!(
                "cycle {cycle}: {e}\n--- producer ---\n{out}\n{}",
                ha::logs_tail(&cluster, &["broker-a", "broker-a-s"])
            );
        }
        broker(&cluster, "broker-a").kill();
        let acked_at_kill = lines(&ack_file);
        let killed_at = t0.elapsed();
        broker(&cluster, "broker-a")
            .wait_unlisted()
            .unwrap_or_else(|e| panic!("{e}\n{}", cluster.namesrv_log_tail()));

        let run = producer.finish();
        run.assert_success();
        let sent = result_figures(&run.output)
            .unwrap_or_else(|| panic!("no RESULT line from the producer:\n{}", run.output));
        let acked = lines(&ack_file);
        assert_eq!(
            sent.get("acked").copied(),
            Some(acked as f64),
            "the producer's count and its file differ"
        );
        assert!(
            acked > acked_at_kill,
            "cycle {cycle}: no send acknowledged after broker-a's master died \
             ({acked_at_kill} before):\n{}",
            run.output
        );

        // broker-a's master is still down: its messages come from its slave.
        let group = format!("ha_cg_{cycle}");
        let consumed = java_ha_consume(namesrv, topic, &group, &ack_file, CONSUME_TIMEOUT);
        if !consumed.success() {
            eprintln!("{}", ha::logs_tail(&cluster, &["broker-a-s", "broker-b"]));
        }
        consumed.assert_success();
        let got = result_figures(&consumed.output)
            .unwrap_or_else(|| panic!("no RESULT line from the consumer:\n{}", consumed.output));
        assert_eq!(
            got.get("missing").copied(),
            Some(0.0),
            "{}",
            consumed.output
        );
        let by_broker = deliveries_by_broker(&consumed.output);
        assert!(
            by_broker.get("broker-a").is_some_and(|&n| n > 0),
            "cycle {cycle}: nothing consumed from broker-a (its slave): {by_broker:?}"
        );

        // Back on its ports and store; returns once the name server lists it again.
        broker(&cluster, "broker-a")
            .restart()
            .unwrap_or_else(|e| panic!("{e}"));
        let end = ha::wait_in_sync(&cluster, "broker-a", "broker-a-s");
        let acked_by = map_line(&run.output, "acked by broker name: ");
        let figures = format!(
            "cycle {cycle}: acked {acked} {acked_by:?} ({acked_at_kill} before the kill at {:.1}s), \
             failed sends {}, consumed {} of them (+{} extra), duplicates {}, \
             from broker-a {} / broker-b {}, in sync at {end}, {:.1}s",
            killed_at.as_secs_f64(),
            sent.get("failed").copied().unwrap_or(f64::NAN),
            got.get("received").copied().unwrap_or(f64::NAN),
            got.get("extra").copied().unwrap_or(f64::NAN),
            got.get("duplicates").copied().unwrap_or(f64::NAN),
            by_broker.get("broker-a").copied().unwrap_or(0),
            by_broker.get("broker-b").copied().unwrap_or(0),
            t0.elapsed().as_secs_f64()
        );
        eprintln!("{figures}");
        if let Some(kinds) = run
            .output
            .lines()
            .find(|l| l.starts_with("failures by kind: "))
        {
            eprintln!("  producer {kinds}");
        }
        table.push(figures);
    }
    ha::wait_in_sync(&cluster, "broker-b", "broker-b-s");
    eprintln!(
        "ha_failover: {n} cycle(s) in {:.1?}\n{}",
        started.elapsed(),
        table.join("\n")
    );
}

/// `LocalCluster` itself: a broker restarted while its listen port is still taken (as in the
/// moments after a kill) is started again until the port is free, within the boot deadline.
#[test]
fn a_restart_waits_for_the_listen_port() {
    let cluster = LocalCluster::builder()
        .broker(BrokerSpec::master(
            "broker-a",
            BrokerRole::AsyncMaster,
            FlushDiskType::Async,
        ))
        .start()
        .unwrap_or_else(|e| panic!("{e}"));
    let b = broker(&cluster, "broker-a");
    b.kill();
    let holder = std::net::TcpListener::bind(b.addr()).expect("take the killed broker's port");
    let before = b.starts();
    // The first start after the kill writes this log; free the port once it failed to bind.
    let first_log = b.dir().join(format!("{}.log", before + 1));
    let releaser = std::thread::spawn(move || {
        let failed = wait_until("a start refused its port", Duration::from_secs(30), || {
            Ok(std::fs::read_to_string(&first_log).is_ok_and(|t| t.contains("cannot listen")))
        });
        drop(holder);
        failed
    });
    // Returns once the broker booted and the name server lists it.
    b.restart().unwrap_or_else(|e| panic!("{e}"));
    releaser
        .join()
        .expect("releaser")
        .expect("the first start after the kill fails to bind");
    assert!(b.is_running());
    assert!(b.starts() > before + 1);
}
