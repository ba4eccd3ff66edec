//! Automatic failover in controller mode with the official Java client (issue 19).
//!
//! Every test runs a FerroMQ name server, three FerroMQ controllers (`mqcontroller` processes)
//! and three `mqbroker` replicas of `broker-a` in controller mode with
//! `allAckInSyncStateSet=true` and `SYNC_FLUSH` (`ferromq_tests::cmode`). Apache's
//! `DefaultMQProducer` (5.3.3, Java `ControllerFailover`, 2 threads) sends messages with unique
//! keys through all of it and records every acknowledged key with the time and the store host
//! of its acknowledgement. Each failover cycle waits until the master acknowledges sends, hurts
//! it, and measures the time from the fault to the first acknowledged send stored by another
//! broker; then it lets the old master come back (restarted, resumed, or reconnected) and waits
//! until it is in the sync state set again. At the end a Java push consumer (a new group) must
//! receive every acknowledged key; duplicates are counted.
//!
//! - `kill -9` of the master, 20 cycles (`FERROMQ_FAILOVER_CYCLES=N` for more);
//! - `kill -9` of the master and of the controller leader at the same moment (2 cycles);
//! - `kill -STOP` of the master, `kill -CONT` once another is elected (2 cycles): the resumed
//!   broker answers a write sent straight to it with anything but SUCCESS, rejoins as a slave, and
//!   its commitlog is byte-identical to the new master's up to where both reach (what it stored
//!   unacknowledged was cut);
//! - a network partition: the master runs in a network namespace whose veth link is taken down
//!   (`ferromq_tests::netns`), then brought up; the same checks as for the pause. Needs
//!   `CAP_NET_ADMIN` and `ip`, else `SKIPPED: ...` with the reason (a failure with
//!   `FERROMQ_NETNS_REQUIRED=1`).
//!
//! The pause and partition tests found a bug, fixed in the store: a send the master admitted
//! just before it turned slave reached the commitlog after the replica's cut and sat where the
//! new master's first record belongs (`CommitLog::follows_master`). `same_log_as_master` reports
//! the first differing offset; `FERROMQ_KEEP_CLUSTER=1` keeps the stores for a post-mortem.
//!
//! The tests run one at a time (a lock), each about 20-90 s. They need `java` and `mvn`, else
//! `SKIPPED` (`FERROMQ_COMPAT_REQUIRED=1` fails instead), and the binaries:
//! `cargo build -p ferromq-namesrv -p ferromq-broker -p ferromq-controller`.

use std::sync::Mutex;
use std::time::Duration;

use ferromq_tests::artifacts::JavaArtifacts;
use ferromq_tests::clients::{java_controller_produce, java_ha_consume, result_figures};
use ferromq_tests::cmode::{
    acks, first_ack_elsewhere, max_offset, now_millis, send_direct, wait_acks_from, CmodeCluster,
    CLUSTER_TIMEOUT,
};
use ferromq_tests::net::wait_until;
use ferromq_tests::netns::Netns;
use ferromq_tests::require_tools;

const TOOLS: &[&str] = &["java", "mvn"];
/// Sends the master must acknowledge in a cycle before it is hurt.
const ACKS_BEFORE_FAULT: usize = 10;
/// Longest the producer may run.
const PRODUCER_MAX_SECONDS: u64 = 3_600;
const CONSUME_TIMEOUT: Duration = Duration::from_secs(180);

/// One test at a time: each runs seven processes and two JVMs.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    Kill,
    KillWithControllerLeader,
    Pause,
    Partition,
}

/// What a run of cycles measured.
struct Figures {
    /// Fault to the first acknowledged send stored by another broker, per cycle.
    times: Vec<Duration>,
    acked: usize,
    duplicates: u64,
    /// Acknowledgements from the hurt master that arrived more than a second after the fault.
    late_acks_from_old_master: usize,
}

/// The cluster, the Java producer, and the cycles; returns once every acknowledged key was
/// consumed. `netns`: the first broker runs inside it and is made master first (partition).
fn run_cycles(test: &str, fault: Fault, cycles: usize, netns: Option<&Netns>) -> Figures {
    let ip = netns.map_or("127.0.0.1", |n| n.host_ip.as_str());
    let mut cluster = CmodeCluster::new(ip, 3);
    for i in 0..3 {
        let (bip, ns) = match (i, netns) {
            (0, Some(n)) => (Some(n.ns_ip.as_str()), Some(n.name.as_str())),
            _ => (None, None),
        };
        cluster.add_broker(bip, ns, "slaveTimeout=1000");
    }
    // The broker in the namespace starts alone so that it is elected.
    cluster.brokers[0].start();
    if netns.is_some() {
        let info = cluster.wait_master(1, None);
        assert_eq!(info.master_addr, cluster.brokers[0].addr);
    }
    for b in &mut cluster.brokers[1..] {
        b.start();
    }
    cluster.wait_master(3, None);
    let work = tempfile::tempdir().expect("tempdir");
    let ack_file = work.path().join("acked.txt");
    let stop_file = work.path().join("stop");
    let topic = "CtlFailover";
    let mut producer = java_controller_produce(
        &cluster.namesrv,
        topic,
        &ack_file,
        &stop_file,
        PRODUCER_MAX_SECONDS,
        2,
    );
    let mut times = Vec::new();
    let mut late = 0;
    for cycle in 0..cycles {
        let master = cluster.wait_master(3, None).master_addr;
        let since = now_millis();
        wait_acks_from(&ack_file, &master, since, ACKS_BEFORE_FAULT, || {
            producer.is_running()
        })
        .unwrap_or_else(|e| {
            panic!(
                "cycle {cycle}: {e}\n{}\n{}",
                producer.output(),
                cluster.logs()
            )
        });
        let old = cluster.broker_at(&master);
        let t0 = now_millis();
        let mut dead_controller = None;
        let mut stale_end = 0;
        match fault {
            Fault::Kill => cluster.brokers[old].kill9(),
            Fault::KillWithControllerLeader => {
                let leader = cluster.controller_leader();
                cluster.brokers[old].kill9();
                cluster.controllers[leader].kill9();
                dead_controller = Some(leader);
            }
            Fault::Pause => cluster.brokers[old].pause(true),
            Fault::Partition => netns.expect("a namespace").cut(),
        }
        let first = first_ack_elsewhere(&ack_file, &master, t0).unwrap_or_else(|e| {
            panic!(
                "cycle {cycle}: {e}\n{}\n{}",
                producer.output(),
                cluster.logs()
            )
        });
        let took = Duration::from_millis(first - t0);
        let new = cluster.wait_master(2, Some(&master)).master_addr;
        eprintln!(
            "{test}: cycle {cycle}: {fault:?} of {master}: first ack on {new} after {took:?}"
        );
        times.push(took);
        match fault {
            Fault::Kill => cluster.brokers[old].start(),
            Fault::KillWithControllerLeader => {
                cluster.brokers[old].start();
                if let Some(c) = dead_controller {
                    cluster.controllers[c].start();
                }
            }
            Fault::Pause => {
                cluster.brokers[old].pause(false);
                stale_end = refuses_writes_as_master(&cluster, &master);
            }
            Fault::Partition => {
                netns.expect("a namespace").restore();
                stale_end = refuses_writes_as_master(&cluster, &master);
            }
        }
        // Back in the sync state set: it follows the new master again.
        let info = cluster.wait_master(3, None);
        assert_eq!(info.master_addr, new, "the new master keeps its role");
        if matches!(fault, Fault::Pause | Fault::Partition) {
            same_log_as_master(&cluster, old, &new, stale_end);
        }
        late += acks(&ack_file)
            .iter()
            .filter(|a| a.host == master && a.at > t0 + 1_000)
            .count();
    }
    std::fs::write(&stop_file, b"stop").expect("stop file");
    let run = producer.finish();
    run.assert_success();
    let produced = result_figures(&run.output).unwrap_or_default();
    let acked = acks(&ack_file);
    assert_eq!(
        produced.get("acked").copied(),
        Some(acked.len() as f64),
        "{}",
        run.output
    );
    let consumed = java_ha_consume(
        &cluster.namesrv,
        topic,
        "ctl_failover_readers",
        &ack_file,
        CONSUME_TIMEOUT,
    );
    let figures = result_figures(&consumed.output).unwrap_or_default();
    assert!(
        consumed.success() && figures.get("missing") == Some(&0.0),
        "acknowledged messages lost: {figures:?}\n{}\n{}",
        consumed.output,
        cluster.logs()
    );
    let duplicates = figures.get("duplicates").copied().unwrap_or(0.0) as u64;
    let unique: std::collections::HashSet<&str> = acked.iter().map(|a| a.key.as_str()).collect();
    assert_eq!(unique.len(), acked.len(), "a key acknowledged twice");
    Figures {
        times,
        acked: acked.len(),
        duplicates,
        late_acks_from_old_master: late,
    }
}

/// The broker that was master at `old_master`, back from a pause or a partition, answers a write
/// sent straight to it with anything but SUCCESS (it stores it unacknowledged while it still
/// believes it leads, or refuses it as a slave). Returns its commitlog end right after the
/// answer (past the stale write if it stored it).
fn refuses_writes_as_master(cluster: &CmodeCluster, old_master: &str) -> u64 {
    let mut answer = None;
    wait_until("the old master to answer", CLUSTER_TIMEOUT, || {
        answer = send_direct(old_master, "CtlFailoverStale", "stale").ok();
        Ok(answer.is_some())
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", cluster.logs()));
    let (code, remark) = answer.unwrap_or_default();
    assert_ne!(
        code,
        0,
        "the old master acknowledged a write after it was replaced\n{}",
        cluster.logs()
    );
    let end = max_offset(old_master).unwrap_or(0);
    eprintln!("the old master answered a direct write with {code} ({remark}); its end {end}");
    end
}

/// The broker `old` (a former master) and the master at `master` hold the same bytes up to
/// where both reach, and both reach past `stale_end` (where `old` ended after the stale write):
/// whatever `old` stored after it was replaced was cut.
fn same_log_as_master(cluster: &CmodeCluster, old: usize, master: &str, stale_end: u64) {
    let m = cluster.broker_at(master);
    let (a, b) = (&cluster.brokers[old], &cluster.brokers[m]);
    let mut end = 0;
    wait_until(
        &format!("the old master and the new one past {stale_end}"),
        CLUSTER_TIMEOUT,
        || {
            end = max_offset(&a.addr)
                .zip(max_offset(&b.addr))
                .map_or(0, |(x, y)| x.min(y));
            Ok(end >= stale_end)
        },
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", cluster.logs()));
    let (la, lb) = (a.commit_log(), b.commit_log());
    let end = usize::try_from(end).expect("offset");
    assert!(la.len() >= end && lb.len() >= end);
    if let Some(first) = (0..end).find(|i| la[*i] != lb[*i]) {
        let window = |l: &[u8]| format!("{:02x?}", &l[first..(first + 48).min(end)]);
        panic!(
            "the old master's commitlog differs from the new master's at {first} (compared up to \
             {end}, stale end {stale_end}):\nold {}\nnew {}\n--- old ---\n{}\n--- new ---\n{}",
            window(&la),
            window(&lb),
            a.log_tail(40),
            b.log_tail(40)
        );
    }
    eprintln!("the old master's commitlog equals the new master's up to {end}");
}

fn report(test: &str, fault: Fault, f: &Figures) {
    let mut t = f.times.clone();
    t.sort();
    eprintln!(
        "FIGURES {test}: {fault:?} x{}: fault to first acknowledged send on the new master p50 \
         {:?}, max {:?}; {} acknowledged, 0 lost, {} duplicates; {} late acks from the old master",
        t.len(),
        t[t.len() / 2],
        t[t.len() - 1],
        f.acked,
        f.duplicates,
        f.late_acks_from_old_master
    );
}

fn prepare(test: &str) -> Option<std::sync::MutexGuard<'static, ()>> {
    if !require_tools(test, TOOLS) {
        return None;
    }
    let guard = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    JavaArtifacts::get();
    Some(guard)
}

#[test]
fn java_producer_loses_no_acknowledged_send_over_master_kills() {
    let test = "controller_failover::java_producer_loses_no_acknowledged_send_over_master_kills";
    let Some(_one) = prepare(test) else { return };
    let cycles = std::env::var("FERROMQ_FAILOVER_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let f = run_cycles(test, Fault::Kill, cycles, None);
    report(test, Fault::Kill, &f);
}

#[test]
fn java_producer_survives_the_master_and_the_controller_leader_dying_together() {
    let test = "controller_failover::java_producer_survives_the_master_and_the_controller_leader";
    let Some(_one) = prepare(test) else { return };
    let f = run_cycles(test, Fault::KillWithControllerLeader, 2, None);
    report(test, Fault::KillWithControllerLeader, &f);
}

#[test]
fn a_paused_master_is_replaced_and_rejoins_as_a_slave_without_its_stale_tail() {
    let test = "controller_failover::a_paused_master_is_replaced_and_rejoins_as_a_slave";
    let Some(_one) = prepare(test) else { return };
    let f = run_cycles(test, Fault::Pause, 2, None);
    report(test, Fault::Pause, &f);
}

#[test]
fn a_partitioned_master_is_replaced_and_rejoins_as_a_slave_without_its_stale_tail() {
    let test = "controller_failover::a_partitioned_master_is_replaced";
    let Some(_one) = prepare(test) else { return };
    let netns = match Netns::create() {
        Ok(n) => n,
        Err(reason) => {
            let msg = format!("{test}: no network namespace: {reason}");
            // Not FERROMQ_COMPAT_REQUIRED: a container without CAP_NET_ADMIN cannot be fixed by
            // installing something, so only a run that asks for it fails.
            assert!(
                std::env::var("FERROMQ_NETNS_REQUIRED").as_deref() != Ok("1"),
                "{msg} (and FERROMQ_NETNS_REQUIRED=1)"
            );
            eprintln!("SKIPPED: {msg}");
            return;
        }
    };
    let f = run_cycles(test, Fault::Partition, 1, Some(&netns));
    report(test, Fault::Partition, &f);
}
