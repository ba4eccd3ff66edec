//! The name server's listeners as configured, over real sockets: bind addresses, the connection
//! limit, the idle rule against a trickle of bytes, and the WebSocket port's origin check with
//! its default (same host) rule, which admits the example page served from another port.
#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use ferromq_namesrv::NamesrvConfig;
use ferromq_protocol::{RemotingCommand, RequestCode};
use ferromq_remoting::{Connection, ConnectionConfig, IgnoreRequests};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

const T: Duration = Duration::from_secs(10);
const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

async fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts the name server on 127.0.0.1 with `properties`; its address, and what stops it.
async fn start(properties: &str) -> (String, oneshot::Sender<()>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let (mut config, report) = NamesrvConfig::from_properties(properties).unwrap();
    assert!(report.unknown_keys.is_empty());
    config.kv_config_path = dir.path().join("kvConfig.json");
    config.config_store_path = dir.path().join("namesrv.properties");
    config.bind_address = "127.0.0.1".to_owned();
    config.listen_port = 0;
    let listener = ferromq_namesrv::bind(&config).await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (stop, rx) = oneshot::channel::<()>();
    tokio::spawn(ferromq_namesrv::run(listener, config, async move {
        let _ = rx.await;
    }));
    (addr, stop, dir)
}

#[tokio::test]
async fn listeners_bind_to_the_configured_address() {
    let (config, _) = NamesrvConfig::from_properties(&format!(
        "bindAddress=127.0.0.1\nlistenPort={}\nwebSocketListenPort={}\n",
        free_port().await,
        free_port().await
    ))
    .unwrap();
    let tcp = ferromq_namesrv::bind(&config).await.unwrap();
    assert_eq!(tcp.local_addr().unwrap().ip(), LOOPBACK);
    assert_eq!(tcp.local_addr().unwrap().port(), config.listen_port);
    let ws = ferromq_namesrv::bind_web_socket(&config)
        .await
        .unwrap()
        .expect("the port is on");
    assert_eq!(ws.local_addr().unwrap().ip(), LOOPBACK);
    drop(ws);
    let (config, _) = NamesrvConfig::from_properties(&format!(
        "webSocketBindAddress=127.0.0.1\nwebSocketListenPort={}\n",
        free_port().await
    ))
    .unwrap();
    assert_eq!(config.bind_address, "0.0.0.0");
    let ws = ferromq_namesrv::bind_web_socket(&config)
        .await
        .unwrap()
        .expect("the port is on");
    assert_eq!(ws.local_addr().unwrap().ip(), LOOPBACK);
    let (config, _) = NamesrvConfig::from_properties("bindAddress=192.0.2.1\n").unwrap();
    let err = ferromq_namesrv::bind(&config).await.err().unwrap();
    assert!(err.to_string().contains("192.0.2.1"), "{err}");
}

async fn works(addr: &str) -> Connection {
    let c = Connection::connect(addr, Arc::new(IgnoreRequests), ConnectionConfig::default())
        .await
        .unwrap();
    c.request(
        RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_INFO),
        T,
    )
    .await
    .unwrap();
    c
}

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
    let (addr, _stop, _dir) = start("serverMaxConnections=1\n").await;
    let first = works(&addr).await;
    let mut second = TcpStream::connect(&addr).await.unwrap();
    assert!(closed_by_server(&mut second).await, "the second is closed");
    first
        .request(
            RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_INFO),
            T,
        )
        .await
        .expect("the first is still served");
}

/// With `serverChannelMaxIdleTimeSeconds=1`, a byte every 100 ms that never completes a frame
/// does not keep the connection open.
#[tokio::test]
async fn a_trickle_of_bytes_is_disconnected_after_the_idle_time() {
    let (addr, _stop, _dir) = start("serverChannelMaxIdleTimeSeconds=1\n").await;
    let (mut read, mut write) = TcpStream::connect(&addr).await.unwrap().into_split();
    let trickle = async {
        // A length prefix announcing a large frame, then its bytes one at a time.
        let mut bytes = 60_000u32.to_be_bytes().to_vec();
        bytes.extend(std::iter::repeat_n(b'x', 1000));
        for b in bytes {
            if write.write_all(&[b]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        std::future::pending::<()>().await;
    };
    let closed = async {
        let mut buf = [0u8; 64];
        loop {
            match read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    let disconnected = tokio::select! {
        () = trickle => false,
        () = closed => true,
        () = tokio::time::sleep(T) => false,
    };
    assert!(disconnected, "the trickling connection is closed");
    works(&addr).await;
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
    String::from_utf8_lossy(&answer)
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap()
}

/// The default rule: pages of the host the WebSocket is dialed at, any port (the browser test
/// serves its page from http://127.0.0.1:<other port>), and programs without an Origin.
#[tokio::test]
async fn the_websocket_port_admits_same_host_pages_by_default() {
    let port = free_port().await;
    let (_addr, _stop, _dir) = start(&format!("webSocketListenPort={port}\n")).await;
    let ws = format!("127.0.0.1:{port}");
    assert_eq!(upgrade_status(&ws, None).await, 101);
    assert_eq!(
        upgrade_status(&ws, Some("http://127.0.0.1:8080")).await,
        101
    );
    assert_eq!(
        upgrade_status(&ws, Some("http://localhost:8080")).await,
        101
    );
    assert_eq!(upgrade_status(&ws, Some("https://evil.example")).await, 403);
}
