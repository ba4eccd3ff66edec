//! A quorum of in-process controllers on loopback, and a remoting client to talk to them.

#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferromq_controller::{Controller, ControllerConfig};
use ferromq_protocol::header::{
    ApplyBrokerIdRequestHeader, BrokerHeartbeatRequestHeader, ElectMasterRequestHeader,
    GetMetaDataResponseHeader,
};
use ferromq_protocol::{CommandHeader, RemotingCommand, RequestCode};
use ferromq_remoting::{Connection, ConnectionConfig, IgnoreRequests};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const DEADLINE: Duration = Duration::from_secs(15);

/// One running controller.
pub struct Node {
    pub controller: Arc<Controller>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

/// Controllers `n0..n{k}` on loopback, each with its own store under one temp dir.
pub struct Quorum {
    pub dir: tempfile::TempDir,
    pub addrs: Vec<String>,
    pub nodes: Vec<Option<Node>>,
    extra: String,
}

impl Quorum {
    /// Starts `n` controllers; `extra` is appended to every config file.
    pub async fn start(n: usize, extra: &str) -> Quorum {
        let mut listeners = Vec::new();
        let mut addrs = Vec::new();
        for _ in 0..n {
            let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            addrs.push(l.local_addr().expect("addr").to_string());
            listeners.push(l);
        }
        let mut q = Quorum {
            dir: tempfile::tempdir().expect("tmp"),
            addrs,
            nodes: (0..n).map(|_| None).collect(),
            extra: extra.to_owned(),
        };
        for (i, l) in listeners.into_iter().enumerate() {
            q.start_on(i, l).await;
        }
        q
    }

    pub fn store(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("n{i}"))
    }

    pub fn config(&self, i: usize) -> ControllerConfig {
        let peers: Vec<String> = self
            .addrs
            .iter()
            .enumerate()
            .map(|(j, a)| format!("n{j}-{a}"))
            .collect();
        let text = format!(
            "controllerDLegerGroup=test\ncontrollerDLegerPeers={}\ncontrollerDLegerSelfId=n{i}\ncontrollerStorePath={}\nbindAddress=127.0.0.1\njRaftElectionTimeoutMs=500\nscanNotActiveBrokerInterval=200\nscanInactiveMasterInterval=500\ncontrollerWriteTimeoutMs=2000\n{}\n",
            peers.join(";"),
            self.store(i).display(),
            self.extra
        );
        ControllerConfig::from_properties(&text).expect("config").0
    }

    async fn start_on(&mut self, i: usize, listener: TcpListener) {
        let controller = Controller::start(self.config(i)).await.expect("start");
        let (stop, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(ferromq_controller::run(
            listener,
            controller.clone(),
            async {
                let _ = rx.await;
            },
        ));
        self.nodes[i] = Some(Node {
            controller,
            stop,
            task,
        });
    }

    /// (Re)starts controller `i` on its port, from its store.
    pub async fn restart(&mut self, i: usize) {
        assert!(self.nodes[i].is_none(), "n{i} is running");
        let deadline = Instant::now() + DEADLINE;
        let listener = loop {
            match TcpListener::bind(&self.addrs[i]).await {
                Ok(l) => break l,
                Err(e) if Instant::now() < deadline => {
                    eprintln!("rebinding {}: {e}", self.addrs[i]);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("cannot rebind {}: {e}", self.addrs[i]),
            }
        };
        self.start_on(i, listener).await;
    }

    /// Stops controller `i` (its port closes, its Raft node stops).
    pub async fn kill(&mut self, i: usize) {
        let node = self.nodes[i].take().expect("running");
        let _ = node.stop.send(());
        node.task.await.expect("join").expect("served");
    }

    pub fn controller(&self, i: usize) -> &Arc<Controller> {
        &self.nodes[i].as_ref().expect("running").controller
    }

    pub fn running(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.nodes[i].is_some())
            .collect()
    }

    /// Waits until one running controller leads and every running one knows it.
    pub async fn leader(&self) -> usize {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let running = self.running();
            let leaders: Vec<usize> = running
                .iter()
                .copied()
                .filter(|&i| self.controller(i).is_leader())
                .collect();
            if let [l] = leaders[..] {
                let id = self.controller(l).peers().me().id.clone();
                if running
                    .iter()
                    .all(|&i| self.controller(i).leader().map(|p| &p.id) == Some(&id))
                {
                    return l;
                }
            }
            assert!(
                Instant::now() < deadline,
                "no single leader among {running:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn shutdown(mut self) {
        for i in self.running() {
            self.kill(i).await;
        }
    }
}

/// A remoting client connection to `addr`.
pub async fn connect(addr: &str) -> Connection {
    Connection::connect(addr, Arc::new(IgnoreRequests), ConnectionConfig::default())
        .await
        .expect("connect")
}

/// A remoting client connection to `addr` from the local address `from` (another loopback
/// address such as 127.0.0.2: a client that is not a controller peer).
pub async fn connect_from(addr: &str, from: std::net::IpAddr) -> Connection {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind(std::net::SocketAddr::new(from, 0))
        .expect("bind the client address");
    let stream = socket
        .connect(addr.parse().expect("controller address"))
        .await
        .expect("connect");
    Connection::start(
        stream,
        Arc::new(IgnoreRequests),
        ConnectionConfig::default(),
    )
    .expect("connection")
}

/// Sends a request and returns the response.
pub async fn call(conn: &Connection, cmd: RemotingCommand) -> RemotingCommand {
    conn.request(cmd, Duration::from_secs(10))
        .await
        .expect("response")
}

/// A request with a header and an optional body.
pub fn req<H: CommandHeader>(code: RequestCode, h: &H) -> RemotingCommand {
    RemotingCommand::request_with_header(code, h)
}

/// GET_METADATA_INFO from `addr`.
pub async fn metadata(addr: &str) -> GetMetaDataResponseHeader {
    let conn = connect(addr).await;
    let resp = call(
        &conn,
        RemotingCommand::request(RequestCode::CONTROLLER_GET_METADATA_INFO),
    )
    .await;
    conn.close();
    resp.header().expect("metadata header")
}

/// Polls `f` until it returns `Some`, failing after [`DEADLINE`] with `what`.
pub async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// On the controller (leader) `addr`: broker set `b` of cluster `c` with replicas 1 and 2
/// (`127.0.0.1:40001`, `:40002`), each heartbeating (60 s timeout) on its own connection, and
/// replica 1 elected master (the first election takes the replica that asks). Returns the
/// heartbeat connections: closing one makes that replica dead.
pub async fn broker_set(addr: &str) -> Vec<Connection> {
    let admin = connect(addr).await;
    let mut beats = Vec::new();
    for id in 1..=2i64 {
        let broker = format!("127.0.0.1:{}", 40_000 + id);
        let apply = ApplyBrokerIdRequestHeader {
            cluster_name: Some("c".into()),
            broker_name: Some("b".into()),
            applied_broker_id: Some(id),
            register_check_code: Some(format!("{broker};1")),
        };
        let resp = call(&admin, req(RequestCode::CONTROLLER_APPLY_BROKER_ID, &apply)).await;
        assert_eq!(resp.code, 0, "apply id {id}: {:?}", resp.remark);
        let conn = connect(addr).await;
        let hb = BrokerHeartbeatRequestHeader {
            cluster_name: "c".into(),
            broker_addr: broker,
            broker_name: "b".into(),
            broker_id: Some(id),
            epoch: Some(0),
            max_offset: Some(0),
            confirm_offset: None,
            heartbeat_timeout_millis: Some(60_000),
            election_priority: None,
        };
        call(&conn, req(RequestCode::BROKER_HEARTBEAT, &hb)).await;
        beats.push(conn);
    }
    let elect = ElectMasterRequestHeader {
        cluster_name: Some("c".into()),
        broker_name: Some("b".into()),
        broker_id: Some(1),
        designate_elect: Some(false),
        invoke_time: None,
    };
    let resp = call(&admin, req(RequestCode::CONTROLLER_ELECT_MASTER, &elect)).await;
    assert_eq!(resp.code, 0, "first election: {:?}", resp.remark);
    admin.close();
    beats
}

/// An in-process FerroMQ broker of set `broker-a` in controller mode
/// (`allAckInSyncStateSet=true`, quick heartbeats and checks, small files); `extra` is
/// appended to its properties. Stopped cleanly by [`Ferro::stop`].
pub struct Ferro {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

pub async fn ferromq_broker(
    root: &std::path::Path,
    port: u16,
    namesrv: &str,
    controllers: &str,
    extra: &str,
) -> Ferro {
    let mut settings = ferromq_broker::Settings::default();
    let text = format!(
        "brokerClusterName=DefaultCluster\nbrokerName=broker-a\nbrokerId=-1\n\
         enableControllerMode=true\ncontrollerAddr={controllers}\nnamesrvAddr={namesrv}\n\
         allAckInSyncStateSet=true\nbrokerIP1=127.0.0.1\nbrokerIP2=127.0.0.1\nlistenPort={port}\n\
         brokerHeartbeatInterval=500\nsyncBrokerMetadataPeriod=1000\n\
         checkSyncStateSetPeriod=1000\nhaSendHeartbeatInterval=500\nslaveTimeout=5000\n\
         mappedFileSizeCommitLog=4194304\nmaxHashSlotNum=1024\nmaxIndexNum=4096\n{extra}\n"
    );
    settings.apply_properties(&text).expect("settings");
    settings.store.store_path_root_dir = root.to_owned();
    let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("bind");
    let broker = ferromq_broker::open(settings).await.expect("open");
    let (stop, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        ferromq_broker::run(broker, listener, None, async move {
            let _ = rx.await;
        })
        .await
        .expect("broker run");
    });
    Ferro { stop, task }
}

impl Ferro {
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// An in-process FerroMQ name server on a free port of 127.0.0.1 (its KV file under `dir`),
/// serving until the test ends; its address.
pub async fn namesrv(dir: &std::path::Path) -> String {
    let config = ferromq_namesrv::NamesrvConfig {
        listen_port: 0,
        bind_address: "127.0.0.1".into(),
        kv_config_path: dir.join("kv.json"),
        ..ferromq_namesrv::NamesrvConfig::default()
    };
    let listener = ferromq_namesrv::bind(&config).await.expect("namesrv bind");
    let addr = listener.local_addr().expect("addr").to_string();
    tokio::spawn(ferromq_namesrv::run(
        listener,
        config,
        std::future::pending(),
    ));
    addr
}

/// The name server address the `mqadmin` harness passes with `-n` (the controller commands
/// accept it and do not use it).
pub const NO_NAMESRV: &str = "127.0.0.1:1";

/// FerroMQ's `mqadmin <args>` (a process), off the async runtime.
pub async fn ferro_mqadmin(args: &[&str]) -> ferromq_tests::process::ProgramRun {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ferromq_tests::mqadmin::ferro_mqadmin(NO_NAMESRV, &args)
    })
    .await
    .expect("join")
}

/// FerroMQ's `mqadmin <args>`, which must succeed; its output.
pub async fn ferro_mqadmin_ok(args: &[&str]) -> String {
    let run = ferro_mqadmin(args).await;
    run.assert_success();
    run.output
}

/// FerroMQ's `mqadmin <args>`, which must exit 1 with `text` in its output.
pub async fn ferro_mqadmin_refused(args: &[&str], text: &str) {
    let run = ferro_mqadmin(args).await;
    let code = run.status.and_then(|s| s.code());
    assert!(
        code == Some(1) && run.output.contains(text),
        "{args:?}: exit {code:?}, no {text:?} in:\n{}",
        run.output
    );
}

/// Apache's `mqadmin <args>` (a JVM), off the async runtime; its output. `MQAdminStartup`
/// reports a failed command in its output and still exits 0, so callers check the output.
pub async fn apache_mqadmin(args: &[&str]) -> String {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = ferromq_tests::mqadmin::apache_mqadmin(NO_NAMESRV, &args);
        run.assert_success();
        run.output
    })
    .await
    .expect("join")
}
