//! Brokers in controller mode: three `mqbroker` processes of one broker set under three
//! in-process FerroMQ controllers and a name server. A master is elected and widens the sync
//! state set to all three; sends with `allAckInSyncStateSet=true` are acknowledged; `kill -9` of
//! the master elects another member of the set, the FerroMQ client follows, and every
//! acknowledged message is consumed from the new master. The old master then restarts as a
//! slave and catches up. The time from the kill to the first successful send is printed.
//!
//! A second test leaves an unacknowledged tail on a master (its slaves are killed first), kills
//! it, lets a restarted slave take over, and restarts the old master: it cuts its tail back to
//! where the new master's epoch starts and ends up byte-identical to the new master.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use ferromq_client::{Message, SendStatus};
use ferromq_controller::ControllerConfig;
use ferromq_protocol::ResponseCode;

mod cmode;
mod support;
use cmode::*;
use support::{create_topic_request, send_request, wait_max_offset};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_master_is_replaced_from_the_sync_state_set_without_losing_acknowledged_sends() {
    let q = quorum().await;
    let controllers = q.addrs.join(";");
    let (ns, _ns_dir) = namesrv().await;
    let dir = tempfile::tempdir().unwrap();
    let mut brokers = start_brokers(dir.path(), &ns, &controllers, "");
    let (master_id, master_addr) = wait_master(&q.addrs, 3, None).await;
    eprintln!("master {master_id} at {master_addr}; sync state set of 3");

    let producer = producer(&ns, "cmode-p", "cmode-producers", 2).await;
    let mut acked = Vec::new();
    let mut i = 0;
    send_until_acked(&producer, "Failover", "m", &mut i, &mut acked, 100).await;
    // Every member of the sync state set has what was acknowledged.
    let master_end = max_offset(&master_addr).await.unwrap();
    for b in &brokers {
        let deadline = Instant::now() + DEADLINE;
        while max_offset(&b.addr).await.unwrap_or(0) < master_end {
            assert!(Instant::now() < deadline, "{} did not catch up", b.addr);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    let killed = brokers.iter().position(|b| b.addr == master_addr).unwrap();
    brokers[killed].kill9();
    let killed_at = Instant::now();
    let first = acked.len() + 1;
    send_until_acked(&producer, "Failover", "m", &mut i, &mut acked, first).await;
    let first_send = killed_at.elapsed();
    send_until_acked(&producer, "Failover", "m", &mut i, &mut acked, 120).await;
    let (new_id, new_addr) = wait_master(&q.addrs, 2, Some(&master_addr)).await;
    eprintln!(
        "kill -9 of the master to the first acknowledged send on the new master ({new_id} at \
         {new_addr}): {:?}",
        first_send
    );

    // Every acknowledged message is consumed.
    let duplicates = consume_all(&ns, "cmode-c", "cmode-readers", "Failover", &acked).await;
    eprintln!(
        "{} acknowledged, all consumed, {duplicates} duplicates",
        acked.len()
    );

    // The old master comes back as a slave of the new one and catches up.
    brokers[killed].start();
    let (_, still) = wait_master(&q.addrs, 3, None).await;
    assert_eq!(still, new_addr, "the new master keeps its role");
    let end = max_offset(&new_addr).await.unwrap();
    let deadline = Instant::now() + DEADLINE;
    while max_offset(&brokers[killed].addr).await.unwrap_or(0) != end {
        assert!(
            Instant::now() < deadline,
            "the old master did not catch up: {}",
            brokers[killed].log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_former_master_cuts_its_unacknowledged_tail_when_it_returns() {
    let q = quorum().await;
    let controllers = q.addrs.join(";");
    let (ns, _ns_dir) = namesrv().await;
    let dir = tempfile::tempdir().unwrap();
    // No periodic shrink of the sync state set during the test; a short slaveTimeout.
    let extra = "checkSyncStateSetPeriod=600000\nslaveTimeout=500";
    let mut brokers = start_brokers(dir.path(), &ns, &controllers, extra);
    let (_, master_addr) = wait_master(&q.addrs, 3, None).await;
    let producer = producer(&ns, "tail-p", "tail-producers", 0).await;
    let mc = connect(&master_addr).await.unwrap();
    let r = mc
        .request(create_topic_request("Tail", 1), DEADLINE)
        .await
        .unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    for i in 0..20 {
        let r = mc
            .request(
                send_request("Tail", 0, format!("acked-{i}").as_bytes(), "T", "k"),
                DEADLINE,
            )
            .await
            .unwrap();
        assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    }
    wait_max_offset(&mc, "Tail", 0, 20).await;
    let acked_end = max_offset(&master_addr).await.unwrap();
    let old = brokers.iter().position(|b| b.addr == master_addr).unwrap();
    let slaves: Vec<usize> = (0..3).filter(|i| *i != old).collect();
    for b in &slaves {
        wait_offset(&brokers[*b].addr, acked_end, "slave").await;
    }
    // The slaves die; the master stores one more message no slave gets: not acknowledged.
    for b in &slaves {
        brokers[*b].kill9();
    }
    let r = mc
        .request(
            send_request("Tail", 0, b"unacknowledged", "T", "k"),
            DEADLINE,
        )
        .await
        .unwrap();
    assert_eq!(
        r.response_code(),
        ResponseCode::FLUSH_SLAVE_TIMEOUT,
        "stored, not acknowledged: {:?}",
        r.remark
    );
    let tail_end = max_offset(&master_addr).await.unwrap();
    assert!(tail_end > acked_end);
    // Consumers never see it: the master dispatches only up to the confirm offset.
    assert_eq!(queue_max_offset(&mc, "Tail", 0).await, 20);
    brokers[old].kill9();
    for b in &slaves {
        brokers[*b].start();
    }
    let (_, new_addr) = wait_master(&q.addrs, 2, Some(&master_addr)).await;
    send_acked(&producer, "after").await;
    let new_end = max_offset(&new_addr).await.unwrap();

    // The old master returns: it cuts its tail at the new master's epoch start (acked_end),
    // then copies the new master's log.
    brokers[old].start();
    wait_offset(&brokers[old].addr, new_end, "the old master").await;
    let new = brokers.iter().position(|b| b.addr == new_addr).unwrap();
    let (a, b) = (brokers[old].commit_log(), brokers[new].commit_log());
    let end = new_end as usize;
    assert!(
        a[..end] == b[..end],
        "the old master's log differs from the new master's: {}",
        brokers[old].log()
    );
    assert!(
        brokers[old].log().contains("truncated"),
        "no truncation logged: {}",
        brokers[old].log()
    );
    producer.shutdown().await;
}

/// Failover cycles (3 by default, `FERROMQ_FAILOVER_CYCLES` for more): each sends 20
/// acknowledged messages, kills the master with `kill -9`, measures the time to the first
/// acknowledged send on its successor and restarts the killed broker as a slave. Every
/// acknowledged message is consumed at the end; duplicates are counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failover_cycles_lose_no_acknowledged_message() {
    let cycles: usize = std::env::var("FERROMQ_FAILOVER_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let q = quorum().await;
    let controllers = q.addrs.join(";");
    let (ns, _ns_dir) = namesrv().await;
    let dir = tempfile::tempdir().unwrap();
    let mut brokers = start_brokers(dir.path(), &ns, &controllers, "");
    let producer = producer(&ns, "cycles-p", "cycles-producers", 2).await;
    let mut acked = Vec::new();
    let mut times = Vec::new();
    let mut n = 0;
    for cycle in 0..cycles {
        let (_, master_addr) = wait_master(&q.addrs, 3, None).await;
        for _ in 0..20 {
            let body = format!("c{cycle}-{n}");
            n += 1;
            if let Ok(r) = producer.send(Message::new("Cycles", body.clone())).await {
                if r.status == SendStatus::Ok {
                    acked.push(body);
                }
            }
        }
        let killed = brokers.iter().position(|b| b.addr == master_addr).unwrap();
        brokers[killed].kill9();
        let at = Instant::now();
        let deadline = at + DEADLINE;
        loop {
            assert!(Instant::now() < deadline, "cycle {cycle}: no new master");
            let body = format!("c{cycle}-{n}");
            n += 1;
            match producer.send(Message::new("Cycles", body.clone())).await {
                Ok(r) if r.status == SendStatus::Ok => {
                    times.push(at.elapsed());
                    acked.push(body);
                    break;
                }
                _ => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
        brokers[killed].start();
    }
    let duplicates = consume_all(&ns, "cycles-c", "cycles-readers", "Cycles", &acked).await;
    times.sort();
    eprintln!(
        "{cycles} cycles: kill -9 to first acknowledged send p50 {:?}, max {:?}; {} acknowledged, \
         0 lost, {duplicates} duplicates",
        times[times.len() / 2],
        times[times.len() - 1],
        acked.len()
    );
    producer.shutdown().await;
}

/// The example configs of `conf/controller/` load without unknown keys and pass the checks.
#[test]
fn the_example_configs_load() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../conf/controller");
    let mut brokers = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("controller-") {
            let (_, report) = ControllerConfig::from_properties(&text).unwrap();
            assert!(report.unknown_keys.is_empty(), "{name}: {report:?}");
        } else {
            let mut s = ferromq_broker::Settings::default();
            let report = s.apply_properties(&text).unwrap();
            assert!(
                report.unknown_keys.is_empty(),
                "{name}: {:?}",
                report.unknown_keys
            );
            assert!(s.broker.enable_controller_mode && s.broker.all_ack_in_sync_state_set);
            brokers += 1;
        }
    }
    assert_eq!(brokers, 6);
}
