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

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferromq_client::{
    ClientConfig, ConsumeFrom, FilterExpression, Message, Producer, ProducerOptions, PullConsumer,
    PullConsumerOptions, SendStatus,
};
use ferromq_controller::{Controller, ControllerConfig};
use ferromq_protocol::body::SyncStateSet;
use ferromq_protocol::header::{GetReplicaInfoRequestHeader, GetReplicaInfoResponseHeader};
use ferromq_protocol::{CommandHeader, RemotingCommand, RequestCode, ResponseCode};
use ferromq_remoting::{Connection, ConnectionConfig, IgnoreRequests};
use tokio::net::TcpListener;

mod support;
use support::{create_topic_request, send_request, wait_max_offset};

const DEADLINE: Duration = Duration::from_secs(60);

/// Three controllers on loopback; dropped with the test's runtime.
struct Quorum {
    addrs: Vec<String>,
    nodes: Vec<(Arc<Controller>, Option<tokio::sync::oneshot::Sender<()>>)>,
    _dir: tempfile::TempDir,
}

impl Quorum {
    /// Stops the controller that leads (its port closes, its Raft node stops); its index.
    async fn kill_leader(&mut self) -> usize {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let leader = self
                .nodes
                .iter()
                .position(|(c, stop)| stop.is_some() && c.is_leader());
            if let Some(i) = leader {
                if let Some(stop) = self.nodes[i].1.take() {
                    let _ = stop.send(());
                }
                return i;
            }
            assert!(Instant::now() < deadline, "no controller leads");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn quorum() -> Quorum {
    let dir = tempfile::tempdir().unwrap();
    let mut listeners = Vec::new();
    for _ in 0..3 {
        listeners.push(TcpListener::bind("127.0.0.1:0").await.unwrap());
    }
    let addrs: Vec<String> = listeners
        .iter()
        .map(|l| l.local_addr().unwrap().to_string())
        .collect();
    let peers: Vec<String> = addrs
        .iter()
        .enumerate()
        .map(|(i, a)| format!("n{i}-{a}"))
        .collect();
    let mut nodes = Vec::new();
    for (i, l) in listeners.into_iter().enumerate() {
        let text = format!(
            "controllerDLegerGroup=g\ncontrollerDLegerPeers={}\ncontrollerDLegerSelfId=n{i}\n\
             controllerStorePath={}\nbindAddress=127.0.0.1\njRaftElectionTimeoutMs=500\n\
             scanNotActiveBrokerInterval=200\nscanInactiveMasterInterval=500\n\
             controllerWriteTimeoutMs=2000\n",
            peers.join(";"),
            dir.path().join(format!("n{i}")).display()
        );
        let config = ControllerConfig::from_properties(&text).unwrap().0;
        let controller = Controller::start(config).await.unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(ferromq_controller::run(l, controller.clone(), async move {
            let _ = stopped.await;
        }));
        nodes.push((controller, Some(stop)));
    }
    Quorum {
        addrs,
        nodes,
        _dir: dir,
    }
}

async fn namesrv() -> (String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let config = ferromq_namesrv::NamesrvConfig {
        kv_config_path: dir.path().join("kvConfig.json"),
        ..Default::default()
    };
    tokio::spawn(ferromq_namesrv::run(
        listener,
        config,
        std::future::pending::<()>(),
    ));
    (addr, dir)
}

/// A listen port whose neighbours (the fast port below it, the HA port above) are free too.
fn free_port() -> u16 {
    loop {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let p = l.local_addr().unwrap().port();
        if !(1030..=65000).contains(&p) {
            continue;
        }
        let neighbours_free = [p - 2, p + 1]
            .iter()
            .all(|q| std::net::TcpListener::bind(("127.0.0.1", *q)).is_ok());
        if neighbours_free {
            return p;
        }
    }
}

/// One `mqbroker` process.
struct BrokerProc {
    conf: PathBuf,
    root: PathBuf,
    addr: String,
    child: Option<Child>,
}

impl BrokerProc {
    fn new(dir: &Path, i: usize, ns: &str, controllers: &str, extra: &str) -> BrokerProc {
        let root = dir.join(format!("b{i}"));
        std::fs::create_dir_all(&root).unwrap();
        let port = free_port();
        let conf = root.join("broker.conf");
        std::fs::write(
            &conf,
            format!(
                "brokerClusterName=C\nbrokerName=broker-a\nbrokerId=-1\nlistenPort={port}\n\
                 brokerIP1=127.0.0.1\nbrokerIP2=127.0.0.1\nnamesrvAddr={ns}\n\
                 storePathRootDir={}\nmappedFileSizeCommitLog=4194304\n\
                 enableControllerMode=true\ncontrollerAddr={controllers}\n\
                 allAckInSyncStateSet=true\nbrokerHeartbeatInterval=200\n\
                 controllerHeartBeatTimeoutMills=2000\nsyncBrokerMetadataPeriod=1000\n\
                 checkSyncStateSetPeriod=1000\nhaSendHeartbeatInterval=200\nslaveTimeout=3000\n\
                 registerNameServerPeriod=10000\n{extra}\n",
                root.join("store").display()
            ),
        )
        .unwrap();
        BrokerProc {
            conf,
            root,
            addr: format!("127.0.0.1:{port}"),
            child: None,
        }
    }

    fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.root.join("broker.log"))
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_mqbroker"))
            .arg("-c")
            .arg(&self.conf)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    fn commit_log(&self) -> Vec<u8> {
        let dir = self.root.join("store").join("commitlog");
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        files
            .iter()
            .flat_map(|f| std::fs::read(f).unwrap())
            .collect()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.root.join("broker.log")).unwrap_or_default()
    }
}

impl Drop for BrokerProc {
    fn drop(&mut self) {
        self.kill9();
    }
}

async fn connect(addr: &str) -> Option<Connection> {
    Connection::connect(addr, Arc::new(IgnoreRequests), ConnectionConfig::default())
        .await
        .ok()
}

/// The set's master (id, address) and sync state set, from whichever controller leads.
async fn replica_info(controllers: &[String]) -> Option<(i64, String, Vec<i64>)> {
    let h = GetReplicaInfoRequestHeader {
        broker_name: Some("broker-a".to_owned()),
    };
    for addr in controllers {
        let Some(c) = connect(addr).await else {
            continue;
        };
        let req =
            RemotingCommand::request_with_header(RequestCode::CONTROLLER_GET_REPLICA_INFO, &h);
        let Ok(r) = c.request(req, Duration::from_secs(3)).await else {
            continue;
        };
        c.close();
        if r.response_code() != ResponseCode::SUCCESS {
            continue;
        }
        let h = GetReplicaInfoResponseHeader::read_ext(&r.ext_fields).ok()?;
        let set = SyncStateSet::decode(&r.body).ok()?;
        return match (h.master_broker_id, h.master_address) {
            (Some(id), Some(a)) if id >= 0 && !a.is_empty() => {
                Some((id, a, set.sync_state_set.into_iter().collect()))
            }
            _ => None,
        };
    }
    None
}

/// Waits until the controllers name a master whose sync state set has `size` members (and,
/// with `not`, a master other than that address).
async fn wait_master(controllers: &[String], size: usize, not: Option<&str>) -> (i64, String) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some((id, addr, set)) = replica_info(controllers).await {
            if set.len() == size && Some(addr.as_str()) != not {
                return (id, addr);
            }
        }
        assert!(
            Instant::now() < deadline,
            "no master with a sync state set of {size}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn max_offset(addr: &str) -> Option<u64> {
    let c = connect(addr).await?;
    let r = c
        .request(
            RemotingCommand::request(RequestCode::GET_BROKER_RUNTIME_INFO),
            Duration::from_secs(3),
        )
        .await
        .ok()?;
    let table = ferromq_protocol::body::KVTable::decode(&r.body).ok()?.table;
    table.get("commitLogMaxOffset")?.parse().ok()
}

fn client(ns: &str, name: &str) -> ClientConfig {
    ClientConfig {
        route_refresh_interval: Duration::from_millis(500),
        ..ClientConfig::new(ns.to_owned(), Some(name.to_owned()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_master_is_replaced_from_the_sync_state_set_without_losing_acknowledged_sends() {
    let q = quorum().await;
    let controllers = q.addrs.join(";");
    let (ns, _ns_dir) = namesrv().await;
    let dir = tempfile::tempdir().unwrap();
    let mut brokers: Vec<BrokerProc> = (0..3)
        .map(|i| BrokerProc::new(dir.path(), i, &ns, &controllers, ""))
        .collect();
    for b in &mut brokers {
        b.start();
    }
    let (master_id, master_addr) = wait_master(&q.addrs, 3, None).await;
    eprintln!("master {master_id} at {master_addr}; sync state set of 3");

    let producer = Producer::start(ProducerOptions {
        client: client(&ns, "cmode-p"),
        group: "cmode-producers".to_owned(),
        retry_times: 2,
        ..ProducerOptions::default()
    })
    .await
    .unwrap();
    let mut acked = Vec::new();
    let deadline = Instant::now() + DEADLINE;
    let mut i = 0;
    while acked.len() < 100 {
        assert!(
            Instant::now() < deadline,
            "only {} sends acknowledged",
            acked.len()
        );
        let body = format!("m-{i}");
        match producer.send(Message::new("Failover", body.clone())).await {
            Ok(r) if r.status == SendStatus::Ok => acked.push(body),
            Ok(r) => eprintln!("{body}: {:?}", r.status),
            Err(e) => {
                eprintln!("{body}: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        i += 1;
    }
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
    let mut first_send = None;
    let deadline = Instant::now() + DEADLINE;
    while acked.len() < 120 {
        assert!(
            Instant::now() < deadline,
            "no send acknowledged after the kill: {}",
            brokers
                .iter()
                .map(BrokerProc::log)
                .collect::<Vec<_>>()
                .join("\n----\n")
        );
        let body = format!("m-{i}");
        i += 1;
        match producer.send(Message::new("Failover", body.clone())).await {
            Ok(r) if r.status == SendStatus::Ok => {
                first_send.get_or_insert_with(|| killed_at.elapsed());
                acked.push(body);
            }
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    let (new_id, new_addr) = wait_master(&q.addrs, 2, Some(&master_addr)).await;
    eprintln!(
        "kill -9 of the master to the first acknowledged send on the new master ({new_id} at \
         {new_addr}): {:?}",
        first_send.unwrap()
    );

    // Every acknowledged message is consumed.
    let consumer = PullConsumer::start(PullConsumerOptions {
        client: client(&ns, "cmode-c"),
        group: "cmode-readers".to_owned(),
        consume_from: ConsumeFrom::FirstOffset,
        auto_commit: false,
        ..PullConsumerOptions::default()
    })
    .await
    .unwrap();
    consumer
        .subscribe("Failover", FilterExpression::all())
        .await
        .unwrap();
    let mut seen = std::collections::HashMap::<String, usize>::new();
    let deadline = Instant::now() + DEADLINE;
    while !acked.iter().all(|b| seen.contains_key(b)) {
        assert!(
            Instant::now() < deadline,
            "{} acknowledged messages never consumed",
            acked.iter().filter(|b| !seen.contains_key(*b)).count()
        );
        for m in consumer.poll(Duration::from_millis(500)).await.unwrap() {
            *seen
                .entry(String::from_utf8_lossy(m.body()).into_owned())
                .or_default() += 1;
        }
    }
    let duplicates: usize = seen.values().map(|n| n - 1).sum();
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
    consumer.shutdown().await;
    producer.shutdown().await;
}

async fn send_acked(producer: &Producer, body: &str) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        match producer.send(Message::new("Tail", body.to_owned())).await {
            Ok(r) if r.status == SendStatus::Ok => return,
            other => {
                assert!(
                    Instant::now() < deadline,
                    "{body} not acknowledged: {other:?}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn queue_max_offset(c: &Connection, topic: &str, queue_id: i32) -> i64 {
    let h = ferromq_protocol::header::offset::GetMaxOffsetRequestHeader {
        topic: topic.into(),
        queue_id,
        ..Default::default()
    };
    let req = RemotingCommand::request_with_header(RequestCode::GET_MAX_OFFSET, &h);
    let r = c.request(req, DEADLINE).await.unwrap();
    ferromq_protocol::header::offset::GetMaxOffsetResponseHeader::read_ext(&r.ext_fields)
        .unwrap()
        .offset
}

async fn wait_offset(addr: &str, end: u64, what: &str) {
    let deadline = Instant::now() + DEADLINE;
    while max_offset(addr).await.unwrap_or(0) != end {
        assert!(
            Instant::now() < deadline,
            "{what}: {addr} never reached {end}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_former_master_cuts_its_unacknowledged_tail_when_it_returns() {
    let q = quorum().await;
    let controllers = q.addrs.join(";");
    let (ns, _ns_dir) = namesrv().await;
    let dir = tempfile::tempdir().unwrap();
    // No periodic shrink of the sync state set during the test; a short slaveTimeout.
    let extra = "checkSyncStateSetPeriod=600000\nslaveTimeout=500";
    let mut brokers: Vec<BrokerProc> = (0..3)
        .map(|i| BrokerProc::new(dir.path(), i, &ns, &controllers, extra))
        .collect();
    for b in &mut brokers {
        b.start();
    }
    let (_, master_addr) = wait_master(&q.addrs, 3, None).await;
    let producer = Producer::start(ProducerOptions {
        client: client(&ns, "tail-p"),
        group: "tail-producers".to_owned(),
        retry_times: 0,
        ..ProducerOptions::default()
    })
    .await
    .unwrap();
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
    let mut brokers: Vec<BrokerProc> = (0..3)
        .map(|i| BrokerProc::new(dir.path(), i, &ns, &controllers, ""))
        .collect();
    for b in &mut brokers {
        b.start();
    }
    let producer = Producer::start(ProducerOptions {
        client: client(&ns, "cycles-p"),
        group: "cycles-producers".to_owned(),
        retry_times: 2,
        ..ProducerOptions::default()
    })
    .await
    .unwrap();
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
    let consumer = PullConsumer::start(PullConsumerOptions {
        client: client(&ns, "cycles-c"),
        group: "cycles-readers".to_owned(),
        consume_from: ConsumeFrom::FirstOffset,
        auto_commit: false,
        ..PullConsumerOptions::default()
    })
    .await
    .unwrap();
    consumer
        .subscribe("Cycles", FilterExpression::all())
        .await
        .unwrap();
    let mut seen = std::collections::HashMap::<String, usize>::new();
    let deadline = Instant::now() + DEADLINE;
    while !acked.iter().all(|b| seen.contains_key(b)) {
        assert!(
            Instant::now() < deadline,
            "{} of {} acknowledged messages never consumed",
            acked.iter().filter(|b| !seen.contains_key(*b)).count(),
            acked.len()
        );
        for m in consumer.poll(Duration::from_millis(500)).await.unwrap() {
            *seen
                .entry(String::from_utf8_lossy(m.body()).into_owned())
                .or_default() += 1;
        }
    }
    times.sort();
    let duplicates: usize = seen.values().map(|n| n - 1).sum();
    eprintln!(
        "{cycles} cycles: kill -9 to first acknowledged send p50 {:?}, max {:?}; {} acknowledged, \
         0 lost, {duplicates} duplicates",
        times[times.len() / 2],
        times[times.len() - 1],
        acked.len()
    );
    consumer.shutdown().await;
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

/// Sends a signal to a broker process (`kill -STOP` / `kill -CONT`).
fn signal(b: &BrokerProc, sig: &str) {
    let pid = b.child.as_ref().unwrap().id().to_string();
    let ok = Command::new("kill").args([sig, &pid]).status().unwrap();
    assert!(ok.success(), "kill {sig} {pid}");
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
    let mut brokers: Vec<BrokerProc> = (0..3)
        .map(|i| BrokerProc::new(dir.path(), i, &ns, &controllers, extra))
        .collect();
    for b in &mut brokers {
        b.start();
    }
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
    let mut brokers: Vec<BrokerProc> = (0..3)
        .map(|i| BrokerProc::new(dir.path(), i, &ns, &controllers, ""))
        .collect();
    for b in &mut brokers {
        b.start();
    }
    let (_, master_addr) = wait_master(&q.addrs, 3, None).await;
    let producer = Producer::start(ProducerOptions {
        client: client(&ns, "both-p"),
        group: "both-producers".to_owned(),
        retry_times: 2,
        ..ProducerOptions::default()
    })
    .await
    .unwrap();
    let mut acked = Vec::new();
    let mut n = 0;
    while acked.len() < 30 {
        let body = format!("b-{n}");
        n += 1;
        if let Ok(r) = producer.send(Message::new("Both", body.clone())).await {
            if r.status == SendStatus::Ok {
                acked.push(body);
            }
        }
    }
    let killed = brokers.iter().position(|b| b.addr == master_addr).unwrap();
    brokers[killed].kill9();
    let at = Instant::now();
    let dead_controller = q.kill_leader().await;
    let deadline = at + DEADLINE;
    loop {
        assert!(
            Instant::now() < deadline,
            "no send acknowledged after the kills"
        );
        let body = format!("b-{n}");
        n += 1;
        match producer.send(Message::new("Both", body.clone())).await {
            Ok(r) if r.status == SendStatus::Ok => {
                acked.push(body);
                break;
            }
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    eprintln!(
        "master and controller leader (n{dead_controller}) killed: first acknowledged send after {:?}",
        at.elapsed()
    );
    let consumer = PullConsumer::start(PullConsumerOptions {
        client: client(&ns, "both-c"),
        group: "both-readers".to_owned(),
        consume_from: ConsumeFrom::FirstOffset,
        auto_commit: false,
        ..PullConsumerOptions::default()
    })
    .await
    .unwrap();
    consumer
        .subscribe("Both", FilterExpression::all())
        .await
        .unwrap();
    let mut seen = std::collections::HashSet::new();
    let deadline = Instant::now() + DEADLINE;
    while !acked.iter().all(|b| seen.contains(b)) {
        assert!(
            Instant::now() < deadline,
            "acknowledged messages never consumed"
        );
        for m in consumer.poll(Duration::from_millis(500)).await.unwrap() {
            seen.insert(String::from_utf8_lossy(m.body()).into_owned());
        }
    }
    consumer.shutdown().await;
    producer.shutdown().await;
}
