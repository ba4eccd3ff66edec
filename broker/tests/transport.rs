//! The broker's listeners as configured: bind addresses, the connection limit, and the WebSocket
//! port's origin check, over real sockets.
#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use ferromq_broker::Settings;
use ferromq_protocol::{RemotingCommand, RequestCode};
use ferromq_remoting::{Connection, ConnectionConfig, IgnoreRequests};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const T: Duration = Duration::from_secs(10);
const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A port that was free a moment ago.
async fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Running {
    addr: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

async fn start(properties: &str) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut settings = Settings::default();
    settings.apply_properties(properties).unwrap();
    settings.broker.broker_name = "broker-t".to_owned();
    settings.broker.broker_ip1 = "127.0.0.1".to_owned();
    settings.broker.listen_port = port;
    settings.broker.namesrv_addr = String::new();
    settings.store = ferromq_store::StoreConfig {
        mapped_file_size_commit_log: 4 << 20,
        max_hash_slot_num: 1024,
        max_index_num: 4096,
        ..ferromq_store::StoreConfig::with_root(dir.path())
    };
    let broker = ferromq_broker::open(settings).await.unwrap();
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        ferromq_broker::run(broker, listener, None, async move {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    Running {
        addr: format!("127.0.0.1:{port}"),
        stop,
        task,
        _dir: dir,
    }
}

impl Running {
    async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap();
    }
}

#[tokio::test]
async fn listeners_bind_to_the_configured_address() {
    // The remoting port and the fast port (listenPort - 2) on bindAddress. The fast port is
    // best effort: try ports until one whose fast port is free too.
    let mut bound = None;
    for _ in 0..20 {
        let mut settings = Settings::default();
        settings
            .apply_properties(&format!(
                "bindAddress=127.0.0.1\nlistenPort={}\n",
                free_port().await
            ))
            .unwrap();
        if let Ok((main, Some(fast))) = ferromq_broker::bind(&settings.broker).await {
            bound = Some((settings.broker.listen_port, main, fast));
            break;
        }
    }
    let (port, main, fast) = bound.expect("a port pair to bind");
    assert_eq!(main.local_addr().unwrap().ip(), LOOPBACK);
    assert_eq!(main.local_addr().unwrap().port(), port);
    assert_eq!(fast.local_addr().unwrap().ip(), LOOPBACK);
    assert_eq!(fast.local_addr().unwrap().port(), port - 2);

    // The WebSocket port follows bindAddress unless webSocketBindAddress says otherwise.
    let mut settings = Settings::default();
    settings
        .apply_properties(&format!(
            "bindAddress=127.0.0.1\nwebSocketListenPort={}\n",
            free_port().await
        ))
        .unwrap();
    let ws = ferromq_broker::bind_web_socket(&settings.broker)
        .await
        .unwrap()
        .expect("the port is on");
    assert_eq!(ws.local_addr().unwrap().ip(), LOOPBACK);
    drop(ws);
    settings
        .apply_properties("bindAddress=0.0.0.0\nwebSocketBindAddress=127.0.0.1\n")
        .unwrap();
    let ws = ferromq_broker::bind_web_socket(&settings.broker)
        .await
        .unwrap()
        .expect("the port is on");
    assert_eq!(ws.local_addr().unwrap().ip(), LOOPBACK);
    settings
        .apply_properties("webSocketListenPort=0\n")
        .unwrap();
    assert!(ferromq_broker::bind_web_socket(&settings.broker)
        .await
        .unwrap()
        .is_none());
    // An address of no interface here (TEST-NET-1) is a clear error naming the keys.
    settings
        .apply_properties("bindAddress=192.0.2.1\nlistenPort=1\n")
        .unwrap();
    let err = ferromq_broker::bind(&settings.broker).await.err().unwrap();
    assert!(err.to_string().contains("bindAddress"), "{err}");
}

async fn client(addr: &str) -> Connection {
    Connection::connect(addr, Arc::new(IgnoreRequests), ConnectionConfig::default())
        .await
        .unwrap()
}

async fn works(conn: &Connection) -> bool {
    conn.request(
        RemotingCommand::request(RequestCode::GET_BROKER_RUNTIME_INFO),
        T,
    )
    .await
    .is_ok()
}

/// Reads until end of stream or an error: true if the broker closed the connection.
async fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(T, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => {}
            Err(_) => return false,
        }
    }
}

#[tokio::test]
async fn connections_over_server_max_connections_are_closed() {
    let broker = start("serverMaxConnections=2\n").await;
    let first = client(&broker.addr).await;
    let second = client(&broker.addr).await;
    assert!(works(&first).await && works(&second).await);
    let mut third = TcpStream::connect(&broker.addr).await.unwrap();
    assert!(closed_by_server(&mut third).await, "the third is closed");
    assert!(works(&first).await && works(&second).await);
    broker.stop().await;
}

/// A WebSocket upgrade request with `origin`; the status code of the answer.
async fn upgrade_status(addr: &str, origin: Option<&str>) -> u16 {
    // `run` binds the WebSocket port itself: wait until it listens.
    let deadline = tokio::time::Instant::now() + T;
    let mut stream = loop {
        match TcpStream::connect(addr).await {
            Ok(s) => break s,
            Err(e) => assert!(tokio::time::Instant::now() < deadline, "{e}"),
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let origin = origin
        .map(|o| format!("Origin: {o}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{origin}\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::time::timeout(T, stream.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "closed before answering");
        answer.extend_from_slice(&buf[..n]);
    }
    let status = String::from_utf8_lossy(&answer);
    status
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap()
}

#[tokio::test]
async fn the_websocket_port_admits_configured_origins_only() {
    let port = free_port().await;
    let broker = start(&format!(
        "webSocketListenPort={port}\nbindAddress=127.0.0.1\n\
         webSocketAllowedOrigins=https://console.example, http://127.0.0.1:8080\n"
    ))
    .await;
    let ws = format!("127.0.0.1:{port}");
    assert_eq!(upgrade_status(&ws, None).await, 101);
    assert_eq!(
        upgrade_status(&ws, Some("https://console.example")).await,
        101
    );
    assert_eq!(
        upgrade_status(&ws, Some("http://127.0.0.1:8080")).await,
        101
    );
    assert_eq!(
        upgrade_status(&ws, Some("http://127.0.0.1:9090")).await,
        403
    );
    assert_eq!(upgrade_status(&ws, Some("https://evil.example")).await, 403);
    broker.stop().await;
}
