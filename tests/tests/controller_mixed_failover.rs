//! Mixed broker set, failover away from an Apache master: an Apache RocketMQ 5.3.3 broker and
//! two FerroMQ brokers, all in controller mode with `allAckInSyncStateSet=true`, under three
//! FerroMQ controllers (`mqcontroller` processes, `ferromq_tests::cmode`).
//!
//! The Apache broker starts first and is elected master; the FerroMQ brokers follow it and join
//! the sync state set; sends to it are acknowledged. Then the Apache master is paused
//! (`SIGSTOP`): the controllers elect a FerroMQ broker, which takes acknowledged writes. A write
//! is sent to the paused Apache broker, which reads it first thing when it resumes (`SIGCONT`),
//! while it still believes it leads: it must not acknowledge it. The Apache broker then learns
//! it is a slave, cuts what it stored past the FerroMQ master's epoch start, and follows the
//! FerroMQ master: its commitlog becomes byte-identical to the FerroMQ master's.
//!
//! A second test kills the Apache master (`kill -9`) with a tail its paused FerroMQ slaves never
//! acknowledged; a FerroMQ broker is elected, and the Apache broker, restarted on its store,
//! cuts that tail and ends byte-identical to the FerroMQ master.
//!
//! A third test turns it round: a FerroMQ master killed with a tail its paused Apache slave never
//! acknowledged; the Apache broker is elected, and the FerroMQ broker, restarted on its store,
//! cuts that tail against the Apache master.
//!
//! A fourth runs the official Java producer (`ControllerFailover`) through two `kill -9`
//! failovers of such a set (the Apache master, then the FerroMQ master that replaced it, each
//! restarted afterwards); every acknowledged key is consumed.
//!
//! Needs `java` and `mvn` (else `SKIPPED`, or a failure with `FERROMQ_COMPAT_REQUIRED=1`) and
//! `cargo build -p ferromq-namesrv -p ferromq-broker -p ferromq-controller`. About 2 min for the
//! four (one at a time).

use std::path::Path;
use std::time::Duration;

use ferromq_tests::apache::{ApacheBroker, BrokerOptions};
use ferromq_tests::clients::{java_controller_produce, java_ha_consume, result_figures};
use ferromq_tests::cmode::{
    acks, commit_log_bytes, finish_send, first_ack_elsewhere, max_offset, now_millis, pause_group,
    send_direct, start_send, wait_acks_from, wait_offset_at_least, CmodeCluster, CLUSTER_TIMEOUT,
};
use ferromq_tests::net::{free_broker_port, wait_until};
use ferromq_tests::require_tools;

/// One test at a time: each runs a JVM broker and seven other servers.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Sends `n` messages to `addr`, each of which must be acknowledged (retried until then).
fn send_acked(cluster: &CmodeCluster, addr: &str, n: usize, tag: &str) {
    for i in 0..n {
        let mut last = None;
        wait_until(
            &format!("{tag}-{i} acknowledged by {addr}"),
            CLUSTER_TIMEOUT,
            || {
                last = Some(send_direct(addr, "Mixed", &format!("{tag}-{i}")));
                Ok(matches!(last, Some(Ok((0, _)))))
            },
        )
        .unwrap_or_else(|e| panic!("{e}: last {last:?}\n{}", cluster.logs()));
    }
}

/// The Apache broker in controller mode on `store` and `port` (the same at every start).
fn start_apache(cluster: &CmodeCluster, store: &Path, port: u16) -> ApacheBroker {
    let extra: Vec<(String, String)> = [
        ("brokerClusterName", "C"),
        ("brokerId", "-1"),
        ("brokerRole", "SLAVE"),
        ("flushDiskType", "SYNC_FLUSH"),
        ("enableControllerMode", "true"),
        ("controllerAddr", &cluster.controller_addrs()),
        ("allAckInSyncStateSet", "true"),
        ("brokerHeartbeatInterval", "300"),
        ("controllerHeartBeatTimeoutMills", "3000"),
        ("syncBrokerMetadataPeriod", "1000"),
        ("haSendHeartbeatInterval", "500"),
        ("haMaxTimeSlaveNotCatchup", "60000"),
        ("mappedFileSizeCommitLog", "4194304"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    ApacheBroker::start(
        &cluster.namesrv,
        BrokerOptions {
            extra_config: extra,
            store_root: Some(store.to_owned()),
            listen_port: Some(port),
            heap: "256m".to_owned(),
            ..BrokerOptions::default()
        },
    )
}

/// Controllers, the Apache broker elected master, two FerroMQ brokers following it in the sync
/// state set, 20 acknowledged sends that both FerroMQ brokers hold. Returns the cluster, the
/// Apache broker, its store and port, and the acknowledged end.
fn apache_led_set() -> (CmodeCluster, ApacheBroker, tempfile::TempDir, u16, u64) {
    let mut cluster = CmodeCluster::new("127.0.0.1", 3);
    let store = tempfile::tempdir().expect("tempdir");
    let port = free_broker_port();
    let apache = start_apache(&cluster, store.path(), port);
    let apache_addr = apache.addr().to_owned();
    let info = cluster.wait_master(1, None);
    assert_eq!(
        info.master_addr,
        apache_addr,
        "the Apache broker, alone, is elected\n{}",
        apache.log_tail()
    );
    for _ in 0..2 {
        let i = cluster.add_broker(None, None, "");
        cluster.brokers[i].start();
    }
    cluster.wait_master(3, None);
    send_acked(&cluster, &apache_addr, 20, "on-apache");
    let acked_end = max_offset(&apache_addr).expect("apache answers");
    for b in &cluster.brokers {
        wait_offset_at_least(&b.addr, acked_end, "a FerroMQ slave")
            .unwrap_or_else(|e| panic!("{e}"));
    }
    eprintln!("mixed failover: two FerroMQ slaves followed an Apache master to {acked_end}");
    (cluster, apache, store, port, acked_end)
}

/// Sends acknowledged messages to `master` until its end passes `at_least`; returns its end.
fn grow_past(cluster: &CmodeCluster, master: &str, at_least: u64) -> u64 {
    let mut n = 0;
    while max_offset(master).unwrap_or(0) <= at_least || n == 0 {
        send_acked(cluster, master, 5, &format!("after{n}"));
        n += 1;
    }
    max_offset(master).expect("the master answers")
}

/// Waits until the Apache broker ends where the FerroMQ master `new` does (`new_end`) and checks
/// that both commitlogs are byte-identical up to there.
fn apache_equals_master(cluster: &CmodeCluster, apache: &ApacheBroker, new: &str, new_end: u64) {
    let mut apache_end = 0;
    wait_until(
        "the Apache broker at the FerroMQ master's end",
        CLUSTER_TIMEOUT,
        || {
            apache_end = max_offset(apache.addr()).unwrap_or(0);
            Ok(apache_end == new_end)
        },
    )
    .unwrap_or_else(|e| panic!("{e}: at {apache_end}\n{}", apache.log_tail()));
    let ours = cluster.brokers[cluster.broker_at(new)].commit_log();
    let theirs = commit_log_bytes(&apache.store_root().join("commitlog"));
    let end = usize::try_from(new_end).expect("offset");
    assert!(
        theirs.len() >= end && ours[..end] == theirs[..end],
        "the Apache broker's commitlog differs from the FerroMQ master's below {end}\n{}",
        apache.log_tail()
    );
}

#[test]
fn an_apache_former_master_cuts_its_stale_tail_against_a_ferromq_master() {
    let test = "controller_mixed_failover::an_apache_former_master_cuts_its_stale_tail";
    if !require_tools(test, &["java", "mvn"]) {
        return;
    }
    let _one = one_at_a_time();
    let (cluster, mut apache, _store, _port, acked_end) = apache_led_set();
    let apache_addr = apache.addr().to_owned();

    // The Apache master stops answering; a FerroMQ broker is elected and takes writes.
    let pid = apache.child().id();
    pause_group(pid, true);
    let new = cluster.wait_master(2, Some(&apache_addr)).master_addr;
    send_acked(&cluster, &new, 5, "on-ferromq");
    // Read by the Apache broker as soon as it resumes, before it learns its new role.
    let stale = start_send(&apache_addr, "Mixed", "stale").expect("connect to the paused broker");
    pause_group(pid, false);
    let (code, remark) = finish_send(stale).expect("an answer to the stale write");
    let stale_end = max_offset(&apache_addr).unwrap_or(0);
    assert_ne!(
        code,
        0,
        "the replaced Apache master acknowledged a write\n{}",
        apache.log_tail()
    );
    eprintln!(
        "mixed failover: the resumed Apache broker answered the stale write {code} ({remark}), \
         its end then {stale_end} (acknowledged end {acked_end})"
    );

    // Stored (FLUSH_SLAVE_TIMEOUT) rather than refused: it lies past the FerroMQ master's
    // epoch start (`acked_end`), where the FerroMQ master stored other messages.
    if code == 12 {
        assert!(
            stale_end > acked_end,
            "stored at {stale_end}, acked to {acked_end}"
        );
    }

    // It follows the FerroMQ master, without the stale write.
    cluster.wait_master(3, None);
    let new_end = grow_past(&cluster, &new, stale_end);
    apache_equals_master(&cluster, &apache, &new, new_end);
    eprintln!("mixed failover: the Apache former master cut its tail and equals the FerroMQ master up to {new_end}");
    let _ = apache.terminate(Duration::from_secs(10));
}

/// The Apache master is killed (`kill -9`) with a tail no slave acknowledged (its FerroMQ slaves
/// were paused when it stored it), a FerroMQ broker is elected, and the Apache broker restarts on
/// its store: it cuts that tail against the FerroMQ master and follows it.
#[test]
fn an_apache_master_killed_with_an_unacknowledged_tail_cuts_it_when_it_restarts() {
    let test = "controller_mixed_failover::an_apache_master_killed_with_an_unacknowledged_tail";
    if !require_tools(test, &["java", "mvn"]) {
        return;
    }
    let _one = one_at_a_time();
    let (cluster, apache, store, port, acked_end) = apache_led_set();
    let apache_addr = apache.addr().to_owned();
    // The slaves stop acknowledging; a write to the Apache master is stored, not acknowledged.
    for b in &cluster.brokers {
        b.pause(true);
    }
    let (code, remark) = send_direct(&apache_addr, "Mixed", "unacknowledged").expect("answer");
    let tail_end = max_offset(&apache_addr).expect("apache answers");
    assert_ne!(code, 0, "acknowledged without its slaves: {remark}");
    assert!(tail_end > acked_end, "nothing stored past {acked_end}");
    eprintln!("mixed failover: the Apache master answered {code} ({remark}), its end {tail_end}");
    // kill -9 (dropping the broker kills its process group; its store is ours).
    drop(apache);
    for b in &cluster.brokers {
        b.pause(false);
    }
    let new = cluster.wait_master(2, Some(&apache_addr)).master_addr;
    let new_end = grow_past(&cluster, &new, tail_end);

    // Back on its store: it cuts the unacknowledged tail and follows the FerroMQ master.
    let apache = start_apache(&cluster, store.path(), port);
    apache_equals_master(&cluster, &apache, &new, new_end);
    eprintln!(
        "mixed failover: the restarted Apache broker cut its tail (to {tail_end}) and equals the \
         FerroMQ master up to {new_end}"
    );
}

/// The other way round: a FerroMQ master with an Apache slave stores a write the (paused) Apache
/// slave never acknowledges, and is killed (`kill -9`); the Apache broker is elected and takes
/// writes; the FerroMQ broker, restarted on its store, cuts its unacknowledged tail against the
/// Apache master at start-up and ends byte-identical to it.
#[test]
fn a_ferromq_master_killed_with_an_unacknowledged_tail_cuts_it_against_an_apache_master() {
    let test = "controller_mixed_failover::a_ferromq_master_killed_with_an_unacknowledged_tail";
    if !require_tools(test, &["java", "mvn"]) {
        return;
    }
    let _one = one_at_a_time();
    let mut cluster = CmodeCluster::new("127.0.0.1", 3);
    let ferro = cluster.add_broker(None, None, "");
    cluster.brokers[ferro].start();
    let ferro_addr = cluster.brokers[ferro].addr.clone();
    assert_eq!(cluster.wait_master(1, None).master_addr, ferro_addr);
    let store = tempfile::tempdir().expect("tempdir");
    let apache = start_apache(&cluster, store.path(), free_broker_port());
    let apache_addr = apache.addr().to_owned();
    cluster.wait_master(2, None);
    send_acked(&cluster, &ferro_addr, 20, "on-ferromq");
    let acked_end = max_offset(&ferro_addr).expect("the master answers");
    wait_offset_at_least(&apache_addr, acked_end, "the Apache slave")
        .unwrap_or_else(|e| panic!("{e}\n{}", apache.log_tail()));

    // The Apache slave stops acknowledging; a write is stored, not acknowledged.
    pause_group(apache.child().id(), true);
    let (code, remark) = send_direct(&ferro_addr, "Mixed", "unacknowledged").expect("answer");
    let tail_end = max_offset(&ferro_addr).expect("the master answers");
    assert_ne!(code, 0, "acknowledged without its slave: {remark}");
    assert!(tail_end > acked_end, "nothing stored past {acked_end}");
    cluster.brokers[ferro].kill9();
    pause_group(apache.child().id(), false);
    let master = cluster.wait_master(1, Some(&ferro_addr)).master_addr;
    assert_eq!(master, apache_addr, "the Apache broker is elected");
    let apache_end = grow_past(&cluster, &apache_addr, tail_end);

    // Back on its store: it cuts the tail at the Apache master's epoch start and follows it.
    cluster.brokers[ferro].start();
    let mut end = 0;
    wait_until(
        "the FerroMQ broker at the Apache master's end",
        CLUSTER_TIMEOUT,
        || {
            end = max_offset(&ferro_addr).unwrap_or(0);
            Ok(end == apache_end)
        },
    )
    .unwrap_or_else(|e| panic!("{e}: at {end}\n{}", cluster.brokers[ferro].log_tail(60)));
    let ours = cluster.brokers[ferro].commit_log();
    let theirs = commit_log_bytes(&apache.store_root().join("commitlog"));
    let end = usize::try_from(apache_end).expect("offset");
    assert!(
        theirs.len() >= end && ours.len() >= end && ours[..end] == theirs[..end],
        "the FerroMQ broker's commitlog differs from the Apache master's below {end}\n{}",
        cluster.brokers[ferro].log_tail(60)
    );
    assert!(
        cluster.brokers[ferro].log().contains("truncated"),
        "no truncation logged: {}",
        cluster.brokers[ferro].log_tail(60)
    );
    eprintln!(
        "mixed failover: the restarted FerroMQ broker cut its tail (to {tail_end}) and equals the \
         Apache master up to {apache_end}"
    );
}

/// The official Java producer through failovers of a mixed set: an Apache master and two
/// FerroMQ brokers; the Apache master is killed (`kill -9`) and a FerroMQ broker takes over;
/// the Apache broker restarts and rejoins; then the FerroMQ master is killed and the set elects
/// again. Every acknowledged key is consumed at the end by a Java push consumer.
#[test]
fn the_java_producer_follows_failovers_between_apache_and_ferromq_masters() {
    let test = "controller_mixed_failover::the_java_producer_follows_failovers";
    if !require_tools(test, &["java", "mvn"]) {
        return;
    }
    let _one = one_at_a_time();
    let (mut cluster, apache, store, port, _) = apache_led_set();
    let apache_addr = apache.addr().to_owned();
    let mut apache = Some(apache);
    let work = tempfile::tempdir().expect("tempdir");
    let ack_file = work.path().join("acked.txt");
    let stop_file = work.path().join("stop");
    let mut producer =
        java_controller_produce(&cluster.namesrv, "MixedJava", &ack_file, &stop_file, 600, 2);
    for cycle in 0..2 {
        let master = cluster.wait_master(3, None).master_addr;
        let since = now_millis();
        wait_acks_from(&ack_file, &master, since, 10, || producer.is_running()).unwrap_or_else(
            |e| {
                panic!(
                    "cycle {cycle}: {e}\n{}\n{}",
                    producer.output(),
                    cluster.logs()
                )
            },
        );
        let t0 = now_millis();
        let ferro = (master != apache_addr).then(|| cluster.broker_at(&master));
        match ferro {
            Some(i) => cluster.brokers[i].kill9(),
            None => drop(apache.take()),
        }
        let first = first_ack_elsewhere(&ack_file, &master, t0).unwrap_or_else(|e| {
            panic!(
                "cycle {cycle}: {e}\n{}\n{}",
                producer.output(),
                cluster.logs()
            )
        });
        let new = cluster.wait_master(2, Some(&master)).master_addr;
        eprintln!(
            "mixed failover: cycle {cycle}: kill -9 of {} master {master}: first ack on {new} \
             after {} ms",
            if ferro.is_some() {
                "the FerroMQ"
            } else {
                "the Apache"
            },
            first - t0
        );
        match ferro {
            Some(i) => cluster.brokers[i].start(),
            None => apache = Some(start_apache(&cluster, store.path(), port)),
        }
    }
    cluster.wait_master(3, None);
    std::fs::write(&stop_file, b"stop").expect("stop file");
    let run = producer.finish();
    run.assert_success();
    let acked = acks(&ack_file).len();
    let consumed = java_ha_consume(
        &cluster.namesrv,
        "MixedJava",
        "mixed_java_readers",
        &ack_file,
        Duration::from_secs(180),
    );
    let figures = result_figures(&consumed.output).unwrap_or_default();
    assert!(
        consumed.success() && figures.get("missing") == Some(&0.0),
        "acknowledged messages lost: {figures:?}\n{}\n{}",
        consumed.output,
        cluster.logs()
    );
    eprintln!(
        "mixed failover: {acked} acknowledged, 0 lost, {} duplicates",
        figures.get("duplicates").copied().unwrap_or(0.0)
    );
    drop(apache);
}
