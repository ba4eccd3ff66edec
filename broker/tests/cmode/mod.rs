//! What the controller-mode tests share: three in-process controllers, a name server, `mqbroker`
//! processes of one broker set (`broker-a`), and the questions they ask them.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

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

pub const DEADLINE: Duration = Duration::from_secs(60);

/// Three controllers on loopback; dropped with the test's runtime.
pub struct Quorum {
    pub addrs: Vec<String>,
    nodes: Vec<(Arc<Controller>, Option<tokio::sync::oneshot::Sender<()>>)>,
    _dir: tempfile::TempDir,
}

impl Quorum {
    /// Stops the controller that leads (its port closes, its Raft node stops); its index.
    pub async fn kill_leader(&mut self) -> usize {
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

pub async fn quorum() -> Quorum {
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

pub async fn namesrv() -> (String, tempfile::TempDir) {
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
pub fn free_port() -> u16 {
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
pub struct BrokerProc {
    conf: PathBuf,
    pub root: PathBuf,
    pub addr: String,
    pub child: Option<Child>,
}

impl BrokerProc {
    pub fn new(dir: &Path, i: usize, ns: &str, controllers: &str, extra: &str) -> BrokerProc {
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

    pub fn start(&mut self) {
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

    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    pub fn commit_log(&self) -> Vec<u8> {
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

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.root.join("broker.log")).unwrap_or_default()
    }
}

impl Drop for BrokerProc {
    fn drop(&mut self) {
        self.kill9();
    }
}

pub async fn connect(addr: &str) -> Option<Connection> {
    Connection::connect(addr, Arc::new(IgnoreRequests), ConnectionConfig::default())
        .await
        .ok()
}

/// The set's master (id, address) and sync state set, from whichever controller leads.
pub async fn replica_info(controllers: &[String]) -> Option<(i64, String, Vec<i64>)> {
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
pub async fn wait_master(controllers: &[String], size: usize, not: Option<&str>) -> (i64, String) {
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

pub async fn max_offset(addr: &str) -> Option<u64> {
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

pub fn client(ns: &str, name: &str) -> ClientConfig {
    ClientConfig {
        route_refresh_interval: Duration::from_millis(500),
        ..ClientConfig::new(ns.to_owned(), Some(name.to_owned()))
    }
}

pub async fn send_acked(producer: &Producer, body: &str) {
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

pub async fn queue_max_offset(c: &Connection, topic: &str, queue_id: i32) -> i64 {
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

pub async fn wait_offset(addr: &str, end: u64, what: &str) {
    let deadline = Instant::now() + DEADLINE;
    while max_offset(addr).await.unwrap_or(0) != end {
        assert!(
            Instant::now() < deadline,
            "{what}: {addr} never reached {end}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends a signal to a broker process (`kill -STOP` / `kill -CONT`).
pub fn signal(b: &BrokerProc, sig: &str) {
    let pid = b.child.as_ref().unwrap().id().to_string();
    let ok = Command::new("kill").args([sig, &pid]).status().unwrap();
    assert!(ok.success(), "kill {sig} {pid}");
}

/// A FerroMQ producer on the test name server (route refresh 500 ms).
pub async fn producer(ns: &str, name: &str, group: &str, retry_times: u32) -> Producer {
    Producer::start(ProducerOptions {
        client: client(ns, name),
        group: group.to_owned(),
        retry_times,
        ..ProducerOptions::default()
    })
    .await
    .unwrap()
}

/// Sends `<prefix>-<n>` messages (counting `n` on) to `topic` until `count` of them are in
/// `acked`, within [`DEADLINE`]; refusals and errors are retried after a short pause.
pub async fn send_until_acked(
    producer: &Producer,
    topic: &str,
    prefix: &str,
    n: &mut usize,
    acked: &mut Vec<String>,
    count: usize,
) {
    let deadline = Instant::now() + DEADLINE;
    while acked.len() < count {
        assert!(
            Instant::now() < deadline,
            "only {} of {count} sends acknowledged",
            acked.len()
        );
        let body = format!("{prefix}-{n}");
        *n += 1;
        match producer.send(Message::new(topic, body.clone())).await {
            Ok(r) if r.status == SendStatus::Ok => acked.push(body),
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// A pull consumer of a new group reads `topic` from the first offset until every body of
/// `acked` was seen (within [`DEADLINE`]); returns the duplicates (deliveries beyond the first).
pub async fn consume_all(
    ns: &str,
    name: &str,
    group: &str,
    topic: &str,
    acked: &[String],
) -> usize {
    let consumer = PullConsumer::start(PullConsumerOptions {
        client: client(ns, name),
        group: group.to_owned(),
        consume_from: ConsumeFrom::FirstOffset,
        auto_commit: false,
        ..PullConsumerOptions::default()
    })
    .await
    .unwrap();
    consumer
        .subscribe(topic, FilterExpression::all())
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
    consumer.shutdown().await;
    seen.values().map(|n| n - 1).sum()
}

/// Three replicas of `broker-a` (with `extra` config lines), started.
pub fn start_brokers(dir: &Path, ns: &str, controllers: &str, extra: &str) -> Vec<BrokerProc> {
    let mut brokers: Vec<BrokerProc> = (0..3)
        .map(|i| BrokerProc::new(dir, i, ns, controllers, extra))
        .collect();
    for b in &mut brokers {
        b.start();
    }
    brokers
}
