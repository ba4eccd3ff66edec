//! Brokers in controller mode under faults other than a plain `kill -9` of the master: a
//! master paused with `kill -STOP` and resumed, the master and the controller leader killed
//! together, and a sync state set too small for `minInSyncReplicas` (with the epoch cache
//! `mqadmin getBrokerEpoch` reads).
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};

mod cmode;
mod support;
use cmode::*;
use support::{create_topic_request, send_request};

/// A set whose sync state set is smaller than `minInSyncReplicas` refuses writes before storing
/// them, with Apache's answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn too_small_a_sync_state_set_refuses_writes() {
    let q = quorum().await;
    let (ns, _ns_dir) = namesrv().await;
    let dir = tempfile::tempdir().unwrap();
    let extra = "minInSyncReplicas=2";
    let mut broker = BrokerProc::new(dir.path(), 0, &ns, &q.addrs.join(";"), extra);
    broker.start();
    let (master_id, master) = wait_master(&q.addrs, 1, None).await;
    assert_eq!(master, broker.addr);
    let c = connect(&master).await.unwrap();
    // `mqadmin getBrokerEpoch`: one epoch, from offset 0, open-ended.
    let r = c
        .request(
            RemotingCommand::request(RequestCode::GET_BROKER_EPOCH_CACHE),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    let cache: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(cache["brokerName"], "broker-a");
    assert_eq!(cache["brokerId"], master_id);
    let epochs = cache["epochList"].as_array().unwrap();
    assert_eq!(epochs.len(), 1, "{cache}");
    assert_eq!(epochs[0]["startOffset"], 0);
    assert_eq!(epochs[0]["endOffset"], i64::MAX);
    let r = c
        .request(create_topic_request("Small", 1), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    let end = max_offset(&master).await.unwrap();
    let send = send_request("Small", 0, b"x", "TagA", "k");
    let r = c.request(send, Duration::from_secs(5)).await.unwrap();
    assert_eq!(r.response_code(), ResponseCode::SYSTEM_ERROR);
    assert!(
        r.remark
            .as_deref()
            .unwrap_or("")
            .contains("in-sync replicas not enough"),
        "{:?}",
        r.remark
    );
    assert_eq!(max_offset(&master).await.unwrap(), end, "nothing stored");
}

/// A paused (`kill -STOP`) master is replaced; resumed, it still believes it leads for a moment,
/// but what it stores then is never acknowledged (its sync state set has left it); once it learns
/// its new role it cuts that tail while running and ends byte-identical to the new master.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_paused_master_is_replaced_and_cuts_what_it_took_after() {
    let q = quorum().await;
    let controllers = q.addrs.join(";");
    let (ns, _ns_dir) = namesrv().await;
    let dir = tempfile::tempdir().unwrap();
    let extra = "slaveTimeout=500";
    let brokers = start_brokers(dir.path(), &ns, &controllers, extra);
    let (_, master_addr) = wait_master(&q.addrs, 3, None).await;
    let mc = connect(&master_addr).await.unwrap();
    let r = mc
        .request(create_topic_request("Pause", 1), DEADLINE)
        .await
        .unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    for i in 0..20 {
        let body = format!("acked-{i}");
        let r = mc
            .request(
                send_request("Pause", 0, body.as_bytes(), "T", "k"),
                DEADLINE,
            )
            .await
            .unwrap();
        assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    }
    let old = brokers.iter().position(|b| b.addr == master_addr).unwrap();
    signal(&brokers[old], "-STOP");
    let paused = Instant::now();
    let (_, new_addr) = wait_master(&q.addrs, 2, Some(&master_addr)).await;
    eprintln!("paused master replaced after {:?}", paused.elapsed());
    let nc = connect(&new_addr).await.unwrap();
    let r = nc
        .request(
            send_request("Pause", 0, b"on-the-new-master", "T", "k"),
            DEADLINE,
        )
        .await
        .unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);

    // Resumed, the old master may still take a write: it is never acknowledged.
    signal(&brokers[old], "-CONT");
    let r = mc
        .request(send_request("Pause", 0, b"stale", "T", "k"), DEADLINE)
        .await
        .unwrap();
    assert_ne!(
        r.response_code(),
        ResponseCode::SUCCESS,
        "a stale write was acknowledged: {}",
        brokers[old].log()
    );
    let new_end = max_offset(&new_addr).await.unwrap();
    wait_offset(&brokers[old].addr, new_end, "the resumed master").await;
    let new = brokers.iter().position(|b| b.addr == new_addr).unwrap();
    let (a, b) = (brokers[old].commit_log(), brokers[new].commit_log());
    let end = new_end as usize;
    assert!(
        a[..end] == b[..end],
        "the resumed master's log differs from the new master's: {}",
        brokers[old].log()
    );
    // Stored (answered FLUSH_SLAVE_TIMEOUT) rather than refused as a slave: then it was cut.
    if r.response_code() == ResponseCode::FLUSH_SLAVE_TIMEOUT {
        assert!(
            brokers[old].log().contains("truncated"),
            "the stale write was not cut: {}",
            brokers[old].log()
        );
    }
    eprintln!("stale write answered {} ({:?})", r.code, r.remark);
}

/// `kill -9` of the master and the controller leader at the same moment: the remaining two
/// controllers elect a leader, which elects a new master from the sync state set; every
/// acknowledged message is consumed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_master_and_the_controller_leader_die_together() {
    let mut q = quorum().await;
    let controllers = q.addrs.join(";");
    let (ns, _ns_dir) = namesrv().await;
    let dir = tempfile::tempdir().unwrap();
    let mut brokers = start_brokers(dir.path(), &ns, &controllers, "");
    let (_, master_addr) = wait_master(&q.addrs, 3, None).await;
    let producer = producer(&ns, "both-p", "both-producers", 2).await;
    let mut acked = Vec::new();
    let mut n = 0;
    send_until_acked(&producer, "Both", "b", &mut n, &mut acked, 30).await;
    let killed = brokers.iter().position(|b| b.addr == master_addr).unwrap();
    brokers[killed].kill9();
    let at = Instant::now();
    let dead_controller = q.kill_leader().await;
    let first = acked.len() + 1;
    send_until_acked(&producer, "Both", "b", &mut n, &mut acked, first).await;
    eprintln!(
        "master and controller leader (n{dead_controller}) killed: first acknowledged send after {:?}",
        at.elapsed()
    );
    consume_all(&ns, "both-c", "both-readers", "Both", &acked).await;
    producer.shutdown().await;
}
