//! Apache's controller protocol against three in-process controllers, through the remoting
//! codec: broker ids, registration, election, sync state sets, metadata, config, cleaning, a
//! follower's CONTROLLER_NOT_LEADER, and a failover when the master's connection drops.

mod support;

use std::sync::Arc;
use std::time::Duration;

use ferromq_protocol::body::{BrokerReplicasInfo, ElectMasterResponseBody, SyncStateSet};
use ferromq_protocol::header::{
    AlterSyncStateSetRequestHeader, AlterSyncStateSetResponseHeader, ApplyBrokerIdRequestHeader,
    BrokerHeartbeatRequestHeader, CleanControllerBrokerDataRequestHeader, ElectMasterRequestHeader,
    ElectMasterResponseHeader, GetNextBrokerIdRequestHeader, GetNextBrokerIdResponseHeader,
    GetReplicaInfoRequestHeader, GetReplicaInfoResponseHeader,
    NotifyBrokerRoleChangedRequestHeader, RegisterBrokerToControllerRequestHeader,
    RegisterBrokerToControllerResponseHeader,
};
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use ferromq_remoting::{Connection, ConnectionConfig, Handler};
use support::{call, connect, connect_from, eventually, metadata, req, Quorum};
use tokio::sync::mpsc;

/// A stand-in broker port that records what the controller sends it.
struct Recorder(mpsc::UnboundedSender<RemotingCommand>);

impl Handler for Recorder {
    async fn handle(
        &self,
        _conn: &Connection,
        request: RemotingCommand,
    ) -> Option<RemotingCommand> {
        let _ = self.0.send(request);
        None
    }
}

async fn broker_port() -> (String, mpsc::UnboundedReceiver<RemotingCommand>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(ferromq_remoting::serve(
        listener,
        Arc::new(Recorder(tx)),
        ConnectionConfig::default(),
        std::future::pending(),
    ));
    (addr, rx)
}

fn ok(resp: &RemotingCommand, what: &str) {
    assert_eq!(
        resp.code,
        ResponseCode::SUCCESS.0,
        "{what}: {:?}",
        resp.remark
    );
}

/// Heartbeats broker `id` at `addr` on `conn` (the connection then stands for the broker).
async fn heartbeat(conn: &Connection, id: i64, addr: &str) {
    let h = BrokerHeartbeatRequestHeader {
        cluster_name: "c".into(),
        broker_addr: addr.into(),
        broker_name: "b".into(),
        broker_id: Some(id),
        epoch: Some(0),
        max_offset: Some(100 * id),
        confirm_offset: None,
        heartbeat_timeout_millis: Some(30_000),
        election_priority: None,
    };
    ok(
        &call(conn, req(RequestCode::BROKER_HEARTBEAT, &h)).await,
        "heartbeat",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn brokers_join_elect_and_fail_over() {
    let q = Quorum::start(3, "").await;
    let l = q.leader().await;
    let leader_addr = q.addrs[l].clone();
    let follower_addr = q.addrs[(l + 1) % 3].clone();

    // Metadata: every controller names the same leader; only it says isLeader.
    for (i, addr) in q.addrs.iter().enumerate() {
        let m = metadata(addr).await;
        assert_eq!(
            m.controller_leader_id.as_deref(),
            Some(format!("n{l}").as_str())
        );
        assert_eq!(
            m.controller_leader_address.as_deref(),
            Some(leader_addr.as_str())
        );
        assert_eq!(m.is_leader, Some(i == l));
        assert_eq!(m.group.as_deref(), Some("test"));
        assert!(m
            .peers
            .as_deref()
            .is_some_and(|p| p.contains(&format!("n{i}:{addr};"))));
    }

    // A follower refuses, naming the leader.
    let follower = connect(&follower_addr).await;
    let next = GetNextBrokerIdRequestHeader {
        cluster_name: Some("c".into()),
        broker_name: Some("b".into()),
    };
    let refused = call(
        &follower,
        req(RequestCode::CONTROLLER_GET_NEXT_BROKER_ID, &next),
    )
    .await;
    assert_eq!(refused.code, ResponseCode::CONTROLLER_NOT_LEADER.0);
    assert!(
        refused
            .remark
            .as_deref()
            .is_some_and(|r| r.contains(&leader_addr)),
        "{:?}",
        refused.remark
    );

    // Three brokers get ids 1, 2, 3 and register. Broker 2's address is a real port.
    let (addr2, mut notified2) = broker_port().await;
    let addrs = [
        "127.0.0.1:10911".to_owned(),
        addr2.clone(),
        "127.0.0.1:10931".to_owned(),
    ];
    let admin = connect(&leader_addr).await;
    for (i, addr) in addrs.iter().enumerate() {
        let resp = call(
            &admin,
            req(RequestCode::CONTROLLER_GET_NEXT_BROKER_ID, &next),
        )
        .await;
        ok(&resp, "next id");
        let id = resp
            .header::<GetNextBrokerIdResponseHeader>()
            .expect("h")
            .next_broker_id;
        assert_eq!(id, Some(i as i64 + 1));
        let apply = ApplyBrokerIdRequestHeader {
            cluster_name: Some("c".into()),
            broker_name: Some("b".into()),
            applied_broker_id: id,
            register_check_code: Some(format!("{addr};{}", 1000 + i)),
        };
        ok(
            &call(&admin, req(RequestCode::CONTROLLER_APPLY_BROKER_ID, &apply)).await,
            "apply",
        );
        let reg = RegisterBrokerToControllerRequestHeader {
            cluster_name: Some("c".into()),
            broker_name: Some("b".into()),
            broker_id: id,
            broker_address: Some(addr.clone()),
            invoke_time: Some(1),
        };
        let resp = call(&admin, req(RequestCode::CONTROLLER_REGISTER_BROKER, &reg)).await;
        ok(&resp, "register");
        let h: RegisterBrokerToControllerResponseHeader = resp.header().expect("h");
        assert_eq!(h.master_broker_id, None, "no master yet");
    }
    // A different broker claiming id 2 is refused.
    let claim = ApplyBrokerIdRequestHeader {
        cluster_name: Some("c".into()),
        broker_name: Some("b".into()),
        applied_broker_id: Some(2),
        register_check_code: Some("10.9.9.9:1;5".into()),
    };
    let resp = call(&admin, req(RequestCode::CONTROLLER_APPLY_BROKER_ID, &claim)).await;
    assert_eq!(resp.code, ResponseCode::CONTROLLER_BROKER_ID_INVALID.0);

    // Each broker heartbeats on its own connection.
    let mut conns = Vec::new();
    for (i, addr) in addrs.iter().enumerate() {
        let c = connect(&leader_addr).await;
        heartbeat(&c, i as i64 + 1, addr).await;
        conns.push(c);
    }

    // Broker 1 asks to be master: the first election takes it.
    let elect = ElectMasterRequestHeader {
        cluster_name: Some("c".into()),
        broker_name: Some("b".into()),
        broker_id: Some(1),
        designate_elect: Some(false),
        invoke_time: Some(1),
    };
    let resp = call(&admin, req(RequestCode::CONTROLLER_ELECT_MASTER, &elect)).await;
    ok(&resp, "elect");
    let h: ElectMasterResponseHeader = resp.header().expect("h");
    assert_eq!(
        (h.master_broker_id, h.master_epoch, h.sync_state_set_epoch),
        (Some(1), Some(1), Some(1))
    );
    assert_eq!(h.master_address.as_deref(), Some(addrs[0].as_str()));
    let body = ElectMasterResponseBody::decode(&resp.body).expect("body");
    assert_eq!(
        body.broker_member_group.expect("group").broker_addrs.len(),
        3
    );
    // Asking again: the master is still there.
    let again = call(&admin, req(RequestCode::CONTROLLER_ELECT_MASTER, &elect)).await;
    assert_eq!(again.code, ResponseCode::CONTROLLER_MASTER_STILL_EXIST.0);

    // The master widens its sync state set to {1, 2}.
    let alter = AlterSyncStateSetRequestHeader {
        broker_name: Some("b".into()),
        master_broker_id: Some(1),
        master_epoch: Some(1),
        invoke_time: Some(1),
    };
    let set = SyncStateSet {
        sync_state_set: [1, 2].into_iter().collect(),
        sync_state_set_epoch: 1,
    };
    let resp = call(
        &admin,
        req(RequestCode::CONTROLLER_ALTER_SYNC_STATE_SET, &alter).with_body(set.encode()),
    )
    .await;
    ok(&resp, "alter");
    let h: AlterSyncStateSetResponseHeader = resp.header().expect("h");
    assert_eq!(h.new_sync_state_set_epoch, Some(2));
    // The same request again is fenced (stale epoch).
    let stale = SyncStateSet {
        sync_state_set: [1, 2, 3].into_iter().collect(),
        sync_state_set_epoch: 1,
    };
    let resp = call(
        &admin,
        req(RequestCode::CONTROLLER_ALTER_SYNC_STATE_SET, &alter).with_body(stale.encode()),
    )
    .await;
    assert_eq!(
        resp.code,
        ResponseCode::CONTROLLER_FENCED_SYNC_STATE_SET_EPOCH.0
    );

    // Replica info and sync state data.
    let info = GetReplicaInfoRequestHeader {
        broker_name: Some("b".into()),
    };
    let resp = call(&admin, req(RequestCode::CONTROLLER_GET_REPLICA_INFO, &info)).await;
    ok(&resp, "replica info");
    let h: GetReplicaInfoResponseHeader = resp.header().expect("h");
    assert_eq!((h.master_broker_id, h.master_epoch), (Some(1), Some(1)));
    assert_eq!(
        SyncStateSet::decode(&resp.body).expect("body"),
        SyncStateSet {
            sync_state_set: [1, 2].into_iter().collect(),
            sync_state_set_epoch: 2,
        }
    );
    let resp = call(
        &admin,
        RemotingCommand::request(RequestCode::CONTROLLER_GET_SYNC_STATE_DATA)
            .with_body(br#"["b"]"#.to_vec()),
    )
    .await;
    ok(&resp, "sync state data");
    let data = BrokerReplicasInfo::decode(&resp.body).expect("body");
    let b = &data.replicas_info_table["b"];
    let ids = |v: &Vec<ferromq_protocol::body::ReplicaIdentity>| {
        v.iter().map(|r| r.broker_id).collect::<Vec<_>>()
    };
    assert_eq!(
        (ids(&b.in_sync_replicas), ids(&b.not_in_sync_replicas)),
        (vec![1, 2], vec![3])
    );
    assert!(b.in_sync_replicas.iter().all(|r| r.alive));

    // The master's connection drops: the leader elects 2 (in sync), never 3, and tells 2.
    conns[0].close();
    let resp = eventually("broker 2 to be elected", || {
        let admin = admin.clone();
        let info = info.clone();
        async move {
            let resp = call(&admin, req(RequestCode::CONTROLLER_GET_REPLICA_INFO, &info)).await;
            let h: GetReplicaInfoResponseHeader = resp.header().ok()?;
            (h.master_broker_id == Some(2)).then_some(h)
        }
    })
    .await;
    assert_eq!(resp.master_epoch, Some(2));
    assert_eq!(resp.master_address.as_deref(), Some(addr2.as_str()));
    // Broker 2 was told of both elections: master 1 (epoch 1), then itself (epoch 2).
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let notice = tokio::time::timeout(Duration::from_secs(10), notified2.recv())
            .await
            .expect("notified in time")
            .expect("notice");
        assert_eq!(notice.code, RequestCode::NOTIFY_BROKER_ROLE_CHANGED.0);
        let h: NotifyBrokerRoleChangedRequestHeader = notice.header().expect("h");
        let set = SyncStateSet::decode(&notice.body).expect("body");
        seen.push((h.master_broker_id, h.master_epoch, set.sync_state_set_epoch));
    }
    assert_eq!(seen, vec![(Some(1), Some(1), 1), (Some(2), Some(2), 3)]);

    // Config: read, a runtime key changes, a path does not.
    let resp = call(
        &admin,
        RemotingCommand::request(RequestCode::GET_CONTROLLER_CONFIG),
    )
    .await;
    ok(&resp, "get config");
    let text = String::from_utf8(resp.body.to_vec()).expect("utf8");
    assert!(text.contains("enableElectUncleanMaster=false"), "{text}");
    let update = |body: &str| {
        RemotingCommand::request(RequestCode::UPDATE_CONTROLLER_CONFIG)
            .with_body(body.as_bytes().to_vec())
    };
    ok(
        &call(&admin, update("enableElectUncleanMaster=true")).await,
        "update",
    );
    assert!(q.controller(l).config().enable_elect_unclean_master);
    let resp = call(&admin, update("controllerStorePath=/tmp/elsewhere")).await;
    assert_eq!(resp.code, ResponseCode::NO_PERMISSION.0);

    // Cleaning a live replica is refused; once it is gone it works.
    let clean = CleanControllerBrokerDataRequestHeader {
        cluster_name: Some("c".into()),
        broker_name: Some("b".into()),
        broker_controller_ids_to_clean: Some("3".into()),
        is_clean_living_broker: Some(false),
        invoke_time: Some(1),
    };
    let resp = call(&admin, req(RequestCode::CLEAN_BROKER_DATA, &clean)).await;
    assert_eq!(
        resp.code,
        ResponseCode::CONTROLLER_INVALID_CLEAN_BROKER_METADATA.0
    );
    conns[2].close();
    let leader = q.controller(l).clone();
    eventually("broker 3 to be seen gone", || {
        let admin = admin.clone();
        let clean = clean.clone();
        let leader = leader.clone();
        async move {
            let resp = call(&admin, req(RequestCode::CLEAN_BROKER_DATA, &clean)).await;
            (resp.code == ResponseCode::SUCCESS.0
                && leader
                    .state()
                    .get("b")
                    .is_some_and(|s| !s.replicas.contains_key(&3)))
            .then_some(())
        }
    })
    .await;
    q.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_clear_answers() {
    let q = Quorum::start(3, "").await;
    let l = q.leader().await;
    let conn = connect(&q.addrs[l]).await;
    let resp = call(
        &conn,
        RemotingCommand::request(RequestCode::CONTROLLER_APPLY_BROKER_ID),
    )
    .await;
    assert_eq!(resp.code, ResponseCode::CONTROLLER_INVALID_REQUEST.0);
    let hb = RemotingCommand::request(RequestCode::BROKER_HEARTBEAT);
    let resp = call(&conn, hb).await;
    assert_eq!(
        resp.code,
        ResponseCode::SYSTEM_ERROR.0,
        "missing required header fields"
    );
    let resp = call(
        &conn,
        RemotingCommand::request(RequestCode::CONTROLLER_ALTER_SYNC_STATE_SET)
            .with_body(b"nope".to_vec()),
    )
    .await;
    assert_eq!(resp.code, ResponseCode::SYSTEM_ERROR.0);
    let resp = call(&conn, RemotingCommand::request(RequestCode(777))).await;
    assert_eq!(resp.code, ResponseCode::REQUEST_CODE_NOT_SUPPORTED.0);
    let resp = call(
        &conn,
        RemotingCommand::request(RequestCode(61_001)).with_body(b"{".to_vec()),
    )
    .await;
    assert_eq!(
        resp.code,
        ResponseCode::SYSTEM_ERROR.0,
        "garbage Raft RPC refused"
    );
    // The peers are at 127.0.0.1: a Raft RPC from any other address, however well formed, is
    // refused before openraft sees it (it could pose as a leader with a higher term); the
    // controller requests from that address are still served.
    let outsider = connect_from(&q.addrs[l], "127.0.0.2".parse().expect("ip")).await;
    for code in [61_001, 61_002, 61_003] {
        let resp = call(
            &outsider,
            RemotingCommand::request(RequestCode(code)).with_body(b"{}".to_vec()),
        )
        .await;
        assert_eq!(resp.code, ResponseCode::NO_PERMISSION.0, "Raft code {code}");
    }
    let meta = call(
        &outsider,
        RemotingCommand::request(RequestCode::CONTROLLER_GET_METADATA_INFO),
    )
    .await;
    assert_eq!(meta.code, ResponseCode::SUCCESS.0);
    assert_eq!(q.leader().await, l, "the leader is untouched");
    q.shutdown().await;
}
