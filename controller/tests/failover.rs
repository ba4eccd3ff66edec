//! Automatic failover driven by heartbeats: a master that stops heartbeating (its connection
//! still open) is replaced by an in-sync replica after its heartbeat timeout; and when the
//! controller leader dies at the same moment, the new leader elects once brokers heartbeat to it.
//! Prints the measured delays (`cargo test -- --nocapture`).

#![allow(clippy::print_stdout)]

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferromq_protocol::body::SyncStateSet;
use ferromq_protocol::header::{
    AlterSyncStateSetRequestHeader, ApplyBrokerIdRequestHeader, BrokerHeartbeatRequestHeader,
    ElectMasterRequestHeader, GetReplicaInfoRequestHeader, GetReplicaInfoResponseHeader,
};
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use support::{call, connect, eventually, req, Quorum};

/// A broker that heartbeats to every controller every 100 ms (timeout 600 ms) until stopped.
struct Broker {
    stop: Arc<AtomicBool>,
}

impl Broker {
    fn start(id: i64, controllers: Vec<String>) -> Broker {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        tokio::spawn(async move {
            let mut conns: Vec<Option<ferromq_remoting::Connection>> =
                controllers.iter().map(|_| None).collect();
            while !flag.load(Ordering::Acquire) {
                for (addr, conn) in controllers.iter().zip(conns.iter_mut()) {
                    if conn.as_ref().is_none_or(|c| c.is_closed()) {
                        *conn = ferromq_remoting::Connection::connect(
                            addr,
                            Arc::new(ferromq_remoting::IgnoreRequests),
                            ferromq_remoting::ConnectionConfig::default(),
                        )
                        .await
                        .ok();
                    }
                    let Some(c) = conn else { continue };
                    let h = BrokerHeartbeatRequestHeader {
                        cluster_name: "c".into(),
                        broker_addr: format!("127.0.0.1:{}", 30_000 + id),
                        broker_name: "b".into(),
                        broker_id: Some(id),
                        epoch: Some(1),
                        max_offset: Some(1000),
                        confirm_offset: None,
                        heartbeat_timeout_millis: Some(600),
                        election_priority: None,
                    };
                    let _ = c
                        .request(
                            RemotingCommand::request_with_header(RequestCode::BROKER_HEARTBEAT, &h),
                            Duration::from_millis(500),
                        )
                        .await;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        Broker { stop }
    }

    fn stop(&self) {
        self.stop.store(true, Ordering::Release);
    }
}

async fn master_of(addr: &str) -> Option<GetReplicaInfoResponseHeader> {
    let conn = connect(addr).await;
    let h = GetReplicaInfoRequestHeader {
        broker_name: Some("b".into()),
    };
    let resp = call(&conn, req(RequestCode::CONTROLLER_GET_REPLICA_INFO, &h)).await;
    conn.close();
    (resp.code == ResponseCode::SUCCESS.0)
        .then(|| resp.header().ok())
        .flatten()
}

async fn wait_master(q: &Quorum, want: i64) -> GetReplicaInfoResponseHeader {
    let addrs: Vec<String> = q.running().iter().map(|&i| q.addrs[i].clone()).collect();
    eventually(&format!("broker {want} to be master"), || {
        let addrs = addrs.clone();
        async move {
            for a in &addrs {
                if let Some(h) = master_of(a).await {
                    if h.master_broker_id == Some(want) {
                        return Some(h);
                    }
                }
            }
            None
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_master_is_replaced_even_when_the_controller_leader_dies_too() {
    let mut q = Quorum::start(3, "").await;
    let l = q.leader().await;
    let admin = connect(&q.addrs[l]).await;
    for id in 1..=3 {
        let h = ApplyBrokerIdRequestHeader {
            cluster_name: Some("c".into()),
            broker_name: Some("b".into()),
            applied_broker_id: Some(id),
            register_check_code: Some(format!("127.0.0.1:{};1", 30_000 + id)),
        };
        let resp = call(&admin, req(RequestCode::CONTROLLER_APPLY_BROKER_ID, &h)).await;
        assert_eq!(resp.code, 0, "{:?}", resp.remark);
    }
    let brokers: Vec<Broker> = (1..=3)
        .map(|id| Broker::start(id, q.addrs.clone()))
        .collect();
    let elect = ElectMasterRequestHeader {
        cluster_name: Some("c".into()),
        broker_name: Some("b".into()),
        broker_id: Some(1),
        designate_elect: Some(false),
        invoke_time: None,
    };
    let resp = call(&admin, req(RequestCode::CONTROLLER_ELECT_MASTER, &elect)).await;
    assert_eq!(resp.code, 0, "{:?}", resp.remark);
    let alter = |master: i64, epoch: i32, set: &[i64], set_epoch: i32| {
        let h = AlterSyncStateSetRequestHeader {
            broker_name: Some("b".into()),
            master_broker_id: Some(master),
            master_epoch: Some(epoch),
            invoke_time: None,
        };
        let body = SyncStateSet {
            sync_state_set: set.iter().copied().collect(),
            sync_state_set_epoch: set_epoch,
        };
        req(RequestCode::CONTROLLER_ALTER_SYNC_STATE_SET, &h).with_body(body.encode())
    };
    // Replicas 1 and 2 in sync; 3 is not.
    let resp = call(&admin, alter(1, 1, &[1, 2], 1)).await;
    assert_eq!(resp.code, 0, "{:?}", resp.remark);

    // Master 1 goes silent (its connections stay open).
    brokers[0].stop();
    let silent = Instant::now();
    let h = wait_master(&q, 2).await;
    let first = silent.elapsed();
    assert_eq!(h.master_epoch, Some(2));

    // Master 2 widens its set to {2, 3}, then goes silent while the controller leader dies.
    let l = q.leader().await;
    let admin = connect(&q.addrs[l]).await;
    let resp = call(&admin, alter(2, 2, &[2, 3], 3)).await;
    assert_eq!(resp.code, 0, "{:?}", resp.remark);
    brokers[1].stop();
    let silent = Instant::now();
    q.kill(l).await;
    let h = wait_master(&q, 3).await;
    let second = silent.elapsed();
    assert_eq!(h.master_epoch, Some(3));
    println!(
        "failover: silent master replaced after {} ms; with the controller leader killed too, after {} ms",
        first.as_millis(),
        second.as_millis()
    );
    brokers[2].stop();
    q.shutdown().await;
}
