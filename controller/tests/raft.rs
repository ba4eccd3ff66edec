//! The Raft layer with three in-process controllers on loopback: leader election, failover,
//! recovery from the durable log and from snapshots, and no progress without a majority.

mod support;

use ferromq_protocol::header::{
    ApplyBrokerIdRequestHeader, GetNextBrokerIdRequestHeader, GetNextBrokerIdResponseHeader,
};
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use support::{call, connect, eventually, req, Quorum};

/// CONTROLLER_APPLY_BROKER_ID for broker set `set`, id `id`, on `addr`.
async fn apply_id(addr: &str, set: &str, id: i64) -> RemotingCommand {
    let conn = connect(addr).await;
    let h = ApplyBrokerIdRequestHeader {
        cluster_name: Some("c".into()),
        broker_name: Some(set.into()),
        applied_broker_id: Some(id),
        register_check_code: Some(format!("127.0.0.1:{};1", 10_000 + id)),
    };
    let resp = call(&conn, req(RequestCode::CONTROLLER_APPLY_BROKER_ID, &h)).await;
    conn.close();
    resp
}

/// CONTROLLER_GET_NEXT_BROKER_ID (a read) for broker set `set`, on `addr`.
async fn ask_next_id(addr: &str, set: &str) -> RemotingCommand {
    let conn = connect(addr).await;
    let h = GetNextBrokerIdRequestHeader {
        cluster_name: Some("c".into()),
        broker_name: Some(set.into()),
    };
    let resp = call(&conn, req(RequestCode::CONTROLLER_GET_NEXT_BROKER_ID, &h)).await;
    conn.close();
    resp
}

/// The next broker id of `set`, asked of `addr` (which must lead).
async fn next_id(addr: &str, set: &str) -> i64 {
    let resp = ask_next_id(addr, set).await;
    assert_eq!(resp.code, ResponseCode::SUCCESS.0, "{:?}", resp.remark);
    resp.header::<GetNextBrokerIdResponseHeader>()
        .expect("header")
        .next_broker_id
        .expect("next id")
}

/// Registers ids 1..=n of `set` through the leader, retrying while leadership moves (a loaded
/// machine may delay heartbeats past an election timeout; re-applying an id one holds is
/// accepted).
async fn fill(q: &Quorum, set: &str, n: i64) {
    for id in 1..=n {
        let deadline = std::time::Instant::now() + support::DEADLINE;
        loop {
            let l = q.leader().await;
            let resp = apply_id(&q.addrs[l], set, id).await;
            if resp.code == ResponseCode::SUCCESS.0 {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline
                    && [
                        ResponseCode::CONTROLLER_NOT_LEADER.0,
                        ResponseCode::SYSTEM_ERROR.0
                    ]
                    .contains(&resp.code),
                "apply {set}/{id}: {} {:?}",
                resp.code,
                resp.remark
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_loss_elects_another_and_keeps_committed_state() {
    let mut q = Quorum::start(3, "").await;
    let first = q.leader().await;
    fill(&q, "b", 2).await;
    q.kill(first).await;
    let second = q.leader().await;
    assert_ne!(first, second);
    assert_eq!(
        next_id(&q.addrs[second], "b").await,
        3,
        "committed ids survive"
    );
    // Two of three still make progress.
    let resp = apply_id(&q.addrs[second], "b", 3).await;
    assert_eq!(resp.code, ResponseCode::SUCCESS.0, "{:?}", resp.remark);
    // The old leader comes back as a follower and catches up.
    q.restart(first).await;
    let back = q.controller(first).clone();
    eventually("the old leader to catch up", || {
        let back = back.clone();
        async move { (back.state().get("b").map(|s| s.next_broker_id) == Some(4)).then_some(()) }
    })
    .await;
    q.shutdown().await;
}

/// openraft restores a controller that led before it stopped as leader of that old term at once;
/// until a quorum acknowledges it, it must not serve the state it had then (here: the quorum
/// moved on without it, then went down, and it came back alone).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_leader_serves_nothing_until_a_quorum_acknowledges_it() {
    let mut q = Quorum::start(3, "").await;
    let first = q.leader().await;
    fill(&q, "b", 2).await;
    q.kill(first).await;
    let second = q.leader().await;
    fill(&q, "b", 3).await;
    for i in q.running() {
        q.kill(i).await;
    }
    q.restart(first).await;
    let alone = q.controller(first).clone();
    let addr = q.addrs[first].clone();
    // Two election timeouts at most (jRaftElectionTimeoutMs=500): never a leader, never an answer.
    let until = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while std::time::Instant::now() < until {
        assert!(
            !alone.is_leader() && alone.leader().is_none(),
            "a controller back alone counts itself leader of its old term"
        );
        let resp = ask_next_id(&addr, "b").await;
        assert_eq!(
            resp.code,
            ResponseCode::CONTROLLER_NOT_LEADER.0,
            "a controller back alone answered a read from its stale state: {:?}",
            resp.header::<GetNextBrokerIdResponseHeader>()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // With a peer back, a leader serves the newest state.
    q.restart(second).await;
    let l = q.leader().await;
    assert_eq!(next_id(&q.addrs[l], "b").await, 4);
    q.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_of_every_controller_recovers_from_the_log() {
    let mut q = Quorum::start(3, "").await;
    fill(&q, "b", 3).await;
    for i in 0..3 {
        q.kill(i).await;
    }
    for i in 0..3 {
        assert!(
            !q.store(i).join("snapshot/snapshot.json").exists(),
            "no snapshot expected: recovery must come from the log"
        );
        q.restart(i).await;
    }
    let l = q.leader().await;
    assert_eq!(next_id(&q.addrs[l], "b").await, 4);
    q.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_purge_the_log_and_restarts_load_them() {
    let mut q = Quorum::start(3, "controllerSnapshotEveryEntries=4").await;
    let l = q.leader().await;
    let lagging = (l + 1) % 3;
    q.kill(lagging).await;
    // Written while one follower is down: it will need the snapshot, the log is purged.
    fill(&q, "b", 6).await;
    fill(&q, "c", 4).await;
    let store = q.store(l);
    eventually("a snapshot and a purge on the leader", || {
        let store = store.clone();
        async move {
            (store.join("snapshot/snapshot.json").exists()
                && store.join("raft/purged.json").exists())
            .then_some(())
        }
    })
    .await;
    q.restart(lagging).await;
    let follower = q.controller(lagging).clone();
    eventually("the lagging follower to install the snapshot", || {
        let follower = follower.clone();
        async move {
            let s = follower.state();
            (s.get("b").map(|b| b.next_broker_id) == Some(7)
                && s.get("c").map(|c| c.next_broker_id) == Some(5))
            .then_some(())
        }
    })
    .await;
    let before = q.controller(l).state();
    for i in 0..3 {
        q.kill(i).await;
    }
    for i in 0..3 {
        q.restart(i).await;
    }
    let l = q.leader().await;
    assert_eq!(
        q.controller(l).state(),
        before,
        "state rebuilt from snapshot + log"
    );
    assert_eq!(next_id(&q.addrs[l], "c").await, 5);
    q.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_minority_makes_no_progress() {
    let mut q = Quorum::start(3, "").await;
    fill(&q, "b", 1).await;
    let l = q.leader().await;
    let survivor = (l + 1) % 3;
    for i in 0..3 {
        if i != survivor {
            q.kill(i).await;
        }
    }
    // Whatever role the survivor holds now, a change is refused or times out, clearly.
    let started = std::time::Instant::now();
    let resp = apply_id(&q.addrs[survivor], "b", 2).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(8));
    let remark = resp.remark.clone().unwrap_or_default();
    match ResponseCode(resp.code) {
        ResponseCode::CONTROLLER_NOT_LEADER => {
            assert!(remark.contains("not in leader state"), "{remark}")
        }
        ResponseCode::SYSTEM_ERROR => assert!(remark.contains("controller quorum"), "{remark}"),
        other => panic!("a lone controller accepted a change: {other} {remark}"),
    }
    // With a majority back, changes go through again.
    let back = (survivor + 1) % 3;
    q.restart(back).await;
    let l = q.leader().await;
    let addr = q.addrs[l].clone();
    eventually("a write after the majority returns", || {
        let addr = addr.clone();
        async move {
            let resp = apply_id(&addr, "b", 2).await;
            (resp.code == ResponseCode::SUCCESS.0).then_some(())
        }
    })
    .await;
    q.shutdown().await;
}
