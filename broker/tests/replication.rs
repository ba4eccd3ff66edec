//! Master/slave replication between real brokers over the classic HA protocol: a slave's
//! commitlog is byte-identical to its master's under concurrent sends and serves pulls; a slave
//! refuses writes; a SYNC_MASTER acknowledges only what a slave has (SLAVE_NOT_AVAILABLE
//! without one); a slave resumes from its own end after a restart; and either side refuses a
//! peer whose offsets do not line up, with raw HA peers speaking the wire format.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferromq_broker::config::BrokerRole;
use ferromq_broker::Settings;
use ferromq_protocol::body::KVTable;
use ferromq_protocol::header::transaction::EndTransactionRequestHeader;
use ferromq_protocol::{CommandHeader, RemotingCommand, RequestCode, ResponseCode};
use ferromq_remoting::Connection;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

mod support;
use support::*;

async fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

async fn runtime_info(c: &Connection) -> std::collections::BTreeMap<String, String> {
    let r = c
        .request(
            RemotingCommand::request(RequestCode::GET_BROKER_RUNTIME_INFO),
            T,
        )
        .await
        .unwrap();
    KVTable::decode(&r.body).unwrap().table
}

async fn max_offset(c: &Connection) -> u64 {
    runtime_info(c).await["commitLogMaxOffset"].parse().unwrap()
}

/// A master on `ha_port` (short heartbeats, so idle links show quickly), registering with
/// `namesrv` when given.
async fn master_with(role: BrokerRole, ha_port: u16, namesrv: &str) -> TestBroker {
    let namesrv = namesrv.to_owned();
    TestBroker::start(move |s: &mut Settings| {
        s.broker.broker_role = role;
        s.broker.ha_listen_port = ha_port;
        s.broker.broker_ip2 = "127.0.0.1".to_owned();
        s.broker.ha_send_heartbeat_interval = 200;
        s.broker.namesrv_addr = namesrv;
    })
    .await
}

async fn master(role: BrokerRole, ha_port: u16) -> TestBroker {
    master_with(role, ha_port, "").await
}

/// A slave of the master on `ha_port` (or, with port 0, of the master `namesrv` names), its
/// store under `root` when given.
async fn slave_with(ha_port: u16, root: Option<PathBuf>, namesrv: &str) -> TestBroker {
    let namesrv = namesrv.to_owned();
    TestBroker::start(move |s: &mut Settings| {
        s.broker.broker_role = BrokerRole::Slave;
        s.broker.broker_id = 1;
        if ha_port != 0 {
            s.broker.ha_master_address = format!("127.0.0.1:{ha_port}");
        }
        s.broker.ha_send_heartbeat_interval = 200;
        s.broker.namesrv_addr = namesrv;
        if let Some(root) = root {
            s.store.store_path_root_dir = root;
        }
    })
    .await
}

async fn slave(ha_port: u16, root: Option<PathBuf>) -> TestBroker {
    slave_with(ha_port, root, "").await
}

/// An in-process name server; its address and its stop.
async fn namesrv() -> (String, tokio::sync::oneshot::Sender<()>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let config = ferromq_namesrv::NamesrvConfig {
        kv_config_path: dir.path().join("kvConfig.json"),
        ..Default::default()
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(ferromq_namesrv::run(listener, config, async move {
        let _ = stopped.await;
    }));
    (addr, stop, dir)
}

/// Waits until `slave`'s commitlog ends where `master`'s does.
async fn caught_up(master: &Connection, slave: &Connection) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (m, s) = (max_offset(master).await, max_offset(slave).await);
        if m == s && m > 0 {
            return m;
        }
        assert!(Instant::now() < deadline, "slave at {s}, master at {m}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn commit_log_bytes(root: &Path) -> Vec<u8> {
    let mut files: Vec<_> = std::fs::read_dir(root.join("commitlog"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .iter()
        .flat_map(|f| std::fs::read(f).unwrap())
        .collect()
}

async fn send(c: &Connection, topic: &str, queue: i32, i: usize) -> RemotingCommand {
    let body = format!("m-{i}-{}", "x".repeat(i * 13 % 700));
    c.request(
        send_request(topic, queue, body.as_bytes(), "TagA", &format!("k{i}")),
        T,
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slave_copies_its_master_byte_for_byte_and_serves_pulls() {
    // The slave learns its master from the name server and syncs its topics from it.
    let (ns, ns_stop, _ns_dir) = namesrv().await;
    let ha = free_port().await;
    let master = master_with(BrokerRole::AsyncMaster, ha, &ns).await;
    let mc = master.client().await;
    let created = mc.request(create_topic_request("Rep", 4), T).await.unwrap();
    assert_eq!(created.response_code(), ResponseCode::SUCCESS);
    let slave = slave_with(0, None, &ns).await;
    let sc = slave.client().await;
    let senders: Vec<_> = (0..8)
        .map(|t| {
            let c = mc.clone();
            tokio::spawn(async move {
                for i in 0..50 {
                    let r = send(&c, "Rep", (t % 4) as i32, t * 1000 + i).await;
                    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
                }
            })
        })
        .collect();
    for s in senders {
        s.await.unwrap();
    }
    let end = caught_up(&mc, &sc).await as usize;
    assert_eq!(runtime_info(&mc).await["haSlaveCount"], "1");
    let (ml, sl) = (
        commit_log_bytes(master.root()),
        commit_log_bytes(slave.root()),
    );
    assert!(ml.len() >= end && sl.len() >= end);
    assert!(
        ml[..end] == sl[..end],
        "the slave's commitlog differs from its master's"
    );
    slave_pulls_everything(&sc).await;
    let info = runtime_info(&sc).await;
    assert_eq!(info["haMasterAddress"], format!("127.0.0.1:{ha}"));
    master.stop().await;
    slave.stop().await;
    let _ = ns_stop.send(());
}

/// Every queue of `Rep` on the slave has the 100 messages its master took (8 senders, 2 per
/// queue, 50 each), readable by pull.
async fn slave_pulls_everything(sc: &Connection) {
    subscribe(sc, "G", "Rep", "*").await;
    for q in 0..4 {
        wait_max_offset(sc, "Rep", q, 100).await;
        let mut got = 0;
        while got < 100 {
            let r = sc
                .request(pull_request("G", "Rep", q, got, 0), T)
                .await
                .unwrap();
            assert_eq!(r.response_code(), ResponseCode::SUCCESS);
            got += messages(&r.body).len() as i64;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slave_refuses_writes_and_end_transaction() {
    let ha = free_port().await;
    let slave = slave(ha, None).await;
    let sc = slave.client().await;
    let r = send(&sc, "OnSlave", 0, 1).await;
    assert_eq!(r.response_code(), ResponseCode::SERVICE_NOT_AVAILABLE);
    assert!(r.remark.unwrap_or_default().contains("slave"));
    let h = EndTransactionRequestHeader {
        producer_group: "PG".to_owned(),
        tran_state_table_offset: 0,
        commit_log_offset: 0,
        commit_or_rollback: 8,
        msg_id: "x".to_owned(),
        ..Default::default()
    };
    let r = sc
        .request(
            RemotingCommand::request_with_header(RequestCode::END_TRANSACTION, &h),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.response_code(), ResponseCode::SLAVE_NOT_AVAILABLE);
    // Topic and group changes belong on the master (the slave copies its tables from it).
    let r = sc
        .request(create_topic_request("OnSlave", 4), T)
        .await
        .unwrap();
    assert_eq!(r.response_code(), ResponseCode::SYSTEM_ERROR);
    assert!(r.remark.unwrap_or_default().contains("from slave broker"));
    let group = r#"{"groupName":"G","consumeEnable":true}"#;
    let r = sc.request(update_group_request(group), T).await.unwrap();
    assert_eq!(r.response_code(), ResponseCode::SYSTEM_ERROR);
    assert_eq!(max_offset(&sc).await, 0, "nothing was written");
    slave.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sync_master_acknowledges_only_what_its_slave_has() {
    let ha = free_port().await;
    let master = master(BrokerRole::SyncMaster, ha).await;
    let mc = master.client().await;
    // No slave: stored, but not acknowledged as replicated.
    let r = send(&mc, "Sync", 0, 0).await;
    assert_eq!(
        r.response_code(),
        ResponseCode::SLAVE_NOT_AVAILABLE,
        "{:?}",
        r.remark
    );
    let slave = slave(ha, None).await;
    let sc = slave.client().await;
    caught_up(&mc, &sc).await;
    for i in 1..=20 {
        let r = send(&mc, "Sync", 0, i).await;
        assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
        // Acknowledged means the slave has it already.
        let (m, s) = (max_offset(&mc).await, max_offset(&sc).await);
        assert!(
            s >= m,
            "send {i} acknowledged with the slave at {s}, the master at {m}"
        );
    }
    // The slave goes away: the master stops acknowledging.
    slave.stop().await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = send(&mc, "Sync", 0, 99).await;
        if r.response_code() == ResponseCode::SLAVE_NOT_AVAILABLE {
            break;
        }
        assert_eq!(r.response_code(), ResponseCode::FLUSH_SLAVE_TIMEOUT);
        assert!(
            Instant::now() < deadline,
            "the master never noticed its slave left"
        );
    }
    master.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restarted_slave_resumes_from_its_own_end() {
    let ha = free_port().await;
    let master = master(BrokerRole::AsyncMaster, ha).await;
    let mc = master.client().await;
    let dir = tempfile::tempdir().unwrap();
    for i in 0..30 {
        assert_eq!(
            send(&mc, "Resume", 0, i).await.response_code(),
            ResponseCode::SUCCESS
        );
    }
    let first = {
        let slave = slave(ha, Some(dir.path().to_path_buf())).await;
        let end = caught_up(&mc, &slave.client().await).await;
        slave.stop().await;
        end
    };
    for i in 30..60 {
        assert_eq!(
            send(&mc, "Resume", 0, i).await.response_code(),
            ResponseCode::SUCCESS
        );
    }
    let slave = slave(ha, Some(dir.path().to_path_buf())).await;
    let sc = slave.client().await;
    let end = caught_up(&mc, &sc).await;
    assert!(end > first);
    wait_max_offset(&sc, "Resume", 0, 60).await;
    let (ml, sl) = (
        commit_log_bytes(master.root()),
        commit_log_bytes(dir.path()),
    );
    assert!(ml[..end as usize] == sl[..end as usize]);
    slave.stop().await;
    master.stop().await;
}

/// What a raw HA peer reads until `n` bytes are in or the other side closes; `None` on close.
async fn read_n(s: &mut TcpStream, n: usize) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; n];
    match tokio::time::timeout(T, s.read_exact(&mut buf))
        .await
        .unwrap()
    {
        Ok(_) => Some(buf),
        Err(_) => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_master_speaks_apaches_frames_and_refuses_a_slave_ahead_of_it() {
    let ha = free_port().await;
    let master = master(BrokerRole::AsyncMaster, ha).await;
    let mc = master.client().await;
    assert_eq!(
        send(&mc, "Raw", 0, 1).await.response_code(),
        ResponseCode::SUCCESS
    );
    let end = max_offset(&mc).await;

    // A fresh slave reports 0 and gets the log from the start of the master's last file.
    let mut peer = TcpStream::connect(("127.0.0.1", ha)).await.unwrap();
    peer.write_all(&0i64.to_be_bytes()).await.unwrap();
    let head = read_n(&mut peer, 12).await.unwrap();
    let offset = i64::from_be_bytes(head[..8].try_into().unwrap());
    let size = i32::from_be_bytes(head[8..].try_into().unwrap());
    assert_eq!((offset, size as u64), (0, end));
    let body = read_n(&mut peer, size as usize).await.unwrap();
    assert_eq!(
        Bytes::from(body),
        Bytes::from(commit_log_bytes(master.root())[..end as usize].to_vec())
    );
    // Idle: heartbeats carry the next offset and no body.
    let beat = read_n(&mut peer, 12).await.unwrap();
    assert_eq!(
        i64::from_be_bytes(beat[..8].try_into().unwrap()),
        end as i64
    );
    assert_eq!(i32::from_be_bytes(beat[8..].try_into().unwrap()), 0);

    // A slave claiming more than the master has is refused: the master closes on it.
    let mut ahead = TcpStream::connect(("127.0.0.1", ha)).await.unwrap();
    ahead
        .write_all(&((end + 4096) as i64).to_be_bytes())
        .await
        .unwrap();
    assert!(
        read_n(&mut ahead, 12).await.is_none(),
        "the master kept talking to it"
    );
    master.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slave_refuses_a_master_whose_offsets_do_not_follow_its_log() {
    // A fake master: the slave reports its end (0), gets one frame at 0, reports the new end;
    // then a frame at a wrong offset, and the slave hangs up.
    let fake = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = fake.local_addr().unwrap().port();
    let source = master(BrokerRole::AsyncMaster, free_port().await).await;
    let c = source.client().await;
    assert_eq!(
        send(&c, "Fake", 0, 1).await.response_code(),
        ResponseCode::SUCCESS
    );
    let end = max_offset(&c).await as usize;
    let log = commit_log_bytes(source.root())[..end].to_vec();
    source.stop().await;

    let slave = slave(port, None).await;
    let (mut s, _) = tokio::time::timeout(T, fake.accept())
        .await
        .unwrap()
        .unwrap();
    let first = read_n(&mut s, 8).await.unwrap();
    assert_eq!(i64::from_be_bytes(first.try_into().unwrap()), 0);
    let mut frame = 0i64.to_be_bytes().to_vec();
    frame.extend_from_slice(&(end as i32).to_be_bytes());
    frame.extend_from_slice(&log);
    s.write_all(&frame).await.unwrap();
    // Reports come until one says the slave has all of it.
    let deadline = Instant::now() + T;
    loop {
        let r = read_n(&mut s, 8).await.unwrap();
        if i64::from_be_bytes(r.try_into().unwrap()) == end as i64 {
            break;
        }
        assert!(Instant::now() < deadline);
    }
    let mut wrong = ((end + 100) as i64).to_be_bytes().to_vec();
    wrong.extend_from_slice(&8i32.to_be_bytes());
    wrong.extend_from_slice(&[0u8; 8]);
    s.write_all(&wrong).await.unwrap();
    // The slave closes (reports may still arrive before the close).
    let deadline = Instant::now() + T;
    while read_n(&mut s, 8).await.is_some() {
        assert!(Instant::now() < deadline, "the slave kept the link");
    }
    assert_eq!(
        max_offset(&slave.client().await).await,
        end as u64,
        "nothing wrong appended"
    );
    slave.stop().await;
}

/// The broker id a pull answer suggests for the next pull.
async fn suggested(c: &Connection, group: &str, topic: &str, offset: i64) -> i64 {
    let r = c
        .request(pull_request(group, topic, 0, offset, 0), T)
        .await
        .unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    ferromq_protocol::header::pull::PullMessageResponseHeader::read_ext(&r.ext_fields)
        .unwrap()
        .suggest_which_broker_id
}

/// A broker with two messages in `Suggest` queue 0 and group `Slow` (brokerId 1,
/// whichBrokerWhenConsumeSlowly 2) subscribed to it.
async fn suggesting_broker(
    tweak: impl FnOnce(&mut Settings) + Send + 'static,
) -> (TestBroker, Connection) {
    let b = TestBroker::start(tweak).await;
    let c = b.client().await;
    for i in 0..2 {
        assert_eq!(
            send(&c, "Suggest", 0, i).await.response_code(),
            ResponseCode::SUCCESS
        );
    }
    wait_max_offset(&c, "Suggest", 0, 2).await;
    let group = r#"{"groupName":"Slow","consumeEnable":true,"brokerId":1,"whichBrokerWhenConsumeSlowly":2}"#;
    let r = c.request(update_group_request(group), T).await.unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    subscribe(&c, "Slow", "Suggest", "*").await;
    (b, c)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pull_answers_suggest_slaves_only_with_slave_read_enable() {
    // accessMessageInMemoryMaxRatio=0: every message pulled counts as no longer in memory.
    let (cold, c) = suggesting_broker(|s| s.store.access_message_in_memory_max_ratio = 0).await;
    assert_eq!(
        suggested(&c, "Slow", "Suggest", 0).await,
        0,
        "slaveReadEnable off: the master"
    );
    let update = RemotingCommand::request(RequestCode::UPDATE_BROKER_CONFIG)
        .with_body(Bytes::from_static(b"slaveReadEnable=true\n"));
    assert_eq!(
        c.request(update, T).await.unwrap().response_code(),
        ResponseCode::SUCCESS
    );
    assert_eq!(
        suggested(&c, "Slow", "Suggest", 0).await,
        2,
        "far behind: whichBrokerWhenConsumeSlowly"
    );
    cold.stop().await;

    let (hot, c) = suggesting_broker(|s| s.broker.slave_read_enable = true).await;
    assert_eq!(
        suggested(&c, "Slow", "Suggest", 0).await,
        1,
        "in memory: the group's brokerId"
    );
    hot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_ha_port_serves_a_bounded_number_of_connections() {
    let ha = free_port().await;
    let master = master(BrokerRole::AsyncMaster, ha).await;
    // The broker binds its HA port while it starts: wait until it answers requests.
    let _ = max_offset(&master.client().await).await;
    let mut peers = Vec::new();
    for _ in 0..16 {
        let mut p = TcpStream::connect(("127.0.0.1", ha)).await.unwrap();
        p.write_all(&0i64.to_be_bytes()).await.unwrap();
        // Served: a heartbeat comes within haSendHeartbeatInterval.
        assert!(read_n(&mut p, 12).await.is_some());
        peers.push(p);
    }
    let mut extra = TcpStream::connect(("127.0.0.1", ha)).await.unwrap();
    let _ = extra.write_all(&0i64.to_be_bytes()).await;
    assert!(
        read_n(&mut extra, 12).await.is_none(),
        "the 17th connection was served"
    );
    drop(peers);
    master.stop().await;
}

/// GET_BROKER_HA_STATUS, as `mqadmin haStatus` reads it.
async fn ha_status(c: &Connection) -> ferromq_protocol::body::HaRuntimeInfo {
    let r = c
        .request(
            RemotingCommand::request(RequestCode::GET_BROKER_HA_STATUS),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    ferromq_protocol::body::HaRuntimeInfo::decode(&r.body).unwrap()
}

/// A pull on `c`: its code, suggested broker id and next offset.
async fn pull_on(c: &Connection, offset: i64, suspend_ms: i64) -> (ResponseCode, i64, i64) {
    let r = c
        .request(pull_request("G", "Back", 0, offset, suspend_ms), T)
        .await
        .unwrap();
    let h = ferromq_protocol::header::pull::PullMessageResponseHeader::read_ext(&r.ext_fields)
        .unwrap_or_else(|e| panic!("{e}: {} {:?}", r.code, r.remark));
    (
        r.response_code(),
        h.suggest_which_broker_id,
        h.next_begin_offset,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slave_sends_consumers_to_its_live_master_and_serves_them_without_it() {
    // Through a name server, so the slave syncs the topic from its master.
    let (ns, ns_stop, _ns_dir) = namesrv().await;
    let ha = free_port().await;
    let master = master_with(BrokerRole::SyncMaster, ha, &ns).await;
    let mc = master.client().await;
    let created = mc
        .request(create_topic_request("Back", 1), T)
        .await
        .unwrap();
    assert_eq!(created.response_code(), ResponseCode::SUCCESS);
    let slave = slave_with(0, None, &ns).await;
    let sc = slave.client().await;
    let deadline = Instant::now() + T;
    while ha_status(&mc).await.ha_connection_info.is_empty() {
        assert!(Instant::now() < deadline, "the slave never connected");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for i in 0..3 {
        let r = send(&mc, "Back", 0, i).await;
        assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    }
    let end = caught_up(&mc, &sc).await;
    wait_max_offset(&sc, "Back", 0, 3).await;
    subscribe(&sc, "G", "Back", "*").await;

    // haStatus: the master lists its slave, in sync; the slave names its master.
    let status = ha_status(&mc).await;
    assert!(status.master);
    assert_eq!(status.master_commit_log_max_offset, end as i64);
    assert_eq!(status.in_sync_slave_nums, 1);
    assert_eq!(status.ha_connection_info.len(), 1);
    let link = &status.ha_connection_info[0];
    assert_eq!((link.slave_ack_offset, link.diff), (end as i64, 0));
    assert!(link.in_sync);
    let status = ha_status(&sc).await;
    assert!(!status.master);
    let client = &status.ha_client_runtime_info;
    assert_eq!(client.master_addr, format!("127.0.0.1:{ha}"));
    assert_eq!(client.max_offset, end as i64);
    assert!(client.last_read_timestamp > 0 && client.last_write_timestamp > 0);

    // The master is up: what the slave has it serves, pointing back to the master; for
    // nothing new it answers at once (no long poll), and it never moves the offset.
    assert_eq!(pull_on(&sc, 0, 0).await, (ResponseCode::SUCCESS, 0, 3));
    let started = Instant::now();
    assert_eq!(
        pull_on(&sc, 3, 20_000).await,
        (ResponseCode::PULL_RETRY_IMMEDIATELY, 0, 3)
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "a slave with a live master holds no pull"
    );
    assert_eq!(
        pull_on(&sc, 50, 0).await,
        (ResponseCode::PULL_RETRY_IMMEDIATELY, 0, 50),
        "a slave does not correct an offset past its end (offsetCheckInSlave=false)"
    );

    // Without its master the slave serves consumers as a master would, long polling included.
    master.stop().await;
    let deadline = Instant::now() + T;
    while ha_status(&sc)
        .await
        .ha_client_runtime_info
        .last_read_timestamp
        != 0
    {
        assert!(Instant::now() < deadline, "the slave still sees its master");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(pull_on(&sc, 1, 0).await, (ResponseCode::SUCCESS, 0, 3));
    assert_eq!(
        pull_on(&sc, 3, 200).await,
        (ResponseCode::PULL_NOT_FOUND, 0, 3)
    );
    assert_eq!(
        pull_on(&sc, 50, 0).await,
        (ResponseCode::PULL_OFFSET_MOVED, 0, 50),
        "the offset is still not corrected on a slave"
    );
    slave.stop().await;
    let _ = ns_stop.send(());
}
