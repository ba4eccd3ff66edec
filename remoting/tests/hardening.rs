//! The transport against misbehaving peers over real sockets: a client that never reads its
//! responses, more connections than the limit, and peers that trickle bytes.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use ferromq_protocol::frame::encode_to_bytes;
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode, SerializeType};
use ferromq_remoting::{serve, Connection, ConnectionConfig, Handler};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, Semaphore};

const T: Duration = Duration::from_secs(10);

/// Size of every response body of [`Big`].
const RESPONSE: usize = 64 * 1024;

/// Answers every request with a freshly allocated 64 KiB body (so queued responses are real
/// memory), code 999 after waiting on a gate; remembers the server side of each connection.
#[derive(Default)]
struct Big {
    conns: Mutex<Vec<Connection>>,
    gate: Option<Arc<Semaphore>>,
}

impl Handler for Big {
    async fn handle(&self, conn: &Connection, req: RemotingCommand) -> Option<RemotingCommand> {
        {
            let mut conns = self.conns.lock().unwrap();
            if !conns.iter().any(|c| c.id() == conn.id()) {
                conns.push(conn.clone());
            }
        }
        if req.code == 999 {
            if let Some(g) = &self.gate {
                let _p = g.acquire().await.unwrap();
            }
        }
        Some(
            RemotingCommand::response(ResponseCode::SUCCESS, None)
                .with_body(Bytes::from(vec![7u8; RESPONSE])),
        )
    }
}

struct Nothing;
impl Handler for Nothing {
    async fn handle(&self, _c: &Connection, _r: RemotingCommand) -> Option<RemotingCommand> {
        None
    }
}

async fn start(handler: Arc<Big>, config: ConnectionConfig) -> (String, oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(serve(listener, handler, config, async move {
        let _ = rx.await;
    }));
    (addr, tx)
}

async fn client(addr: &str) -> Connection {
    Connection::connect(addr, Arc::new(Nothing), ConnectionConfig::default())
        .await
        .unwrap()
}

/// This process's resident set size in KiB (Linux), for the printed figures.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Whether the server closes `stream`: reads until end of stream or an error.
async fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(T, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => {}
            Err(_) => return false,
        }
    }
}

/// A client sends 20 MB of requests, each answered with 64 KiB, and never reads: the server
/// stops reading it once 256 KiB are queued, so its queue stays near the high water mark plus
/// the responses of the requests already read (at most `max_in_flight`), the client cannot get
/// its requests through, and the server drops it once it has read nothing for `idle_timeout`.
/// Another client is served all along. Without the high water mark the server reads every
/// request and queues hundreds of MB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_costs_bounded_memory() {
    const HIGH: usize = 256 * 1024;
    const IN_FLIGHT: usize = 16;
    // Overload answers (SYSTEM_BUSY) are small but queued as well: up to `write_queue` of them.
    const BOUND: usize = HIGH + IN_FLIGHT * (RESPONSE + 1024) + 2 * 1024 * 1024;
    let config = ConnectionConfig {
        write_high_water_mark: HIGH,
        write_low_water_mark: HIGH / 2,
        max_in_flight: IN_FLIGHT,
        idle_timeout: Duration::from_secs(1),
        ..ConnectionConfig::default()
    };
    let handler = Arc::new(Big::default());
    let (addr, _stop) = start(handler.clone(), config).await;
    let rss_before = rss_kib();

    let mut slow = TcpStream::connect(&addr).await.unwrap();
    let slow_addr = slow.local_addr().unwrap();
    let request = encode_to_bytes(
        &RemotingCommand::request(RequestCode::PULL_MESSAGE).with_body(vec![1u8; 4096]),
        SerializeType::Json,
    )
    .unwrap();
    const N: usize = 5000;
    // Writes until every request is through, or the socket has accepted nothing for 3 s (the
    // server stopped reading), or the server closed it.
    let writer = tokio::spawn(async move {
        let mut sent = 0;
        while sent < N {
            match tokio::time::timeout(Duration::from_secs(3), slow.write_all(&request)).await {
                Ok(Ok(())) => sent += 1,
                Ok(Err(_)) | Err(_) => break,
            }
        }
        (sent, slow)
    });

    // Another client, served while the slow one piles up.
    let other = client(&addr).await;
    let mut max_queued = 0;
    let mut max_rss = rss_before;
    let mut served = 0;
    while !writer.is_finished() {
        let resp = other
            .request(RemotingCommand::request(RequestCode(1)), T)
            .await
            .unwrap();
        assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
        assert_eq!(resp.body.len(), RESPONSE);
        served += 1;
        for c in handler.conns.lock().unwrap().iter() {
            max_queued = max_queued.max(c.queued_bytes());
        }
        max_rss = max_rss.max(rss_kib());
        assert!(
            max_queued <= BOUND,
            "{max_queued} bytes queued for a client that does not read"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (sent, _slow) = writer.await.unwrap();
    println!(
        "slow reader: {sent} of {N} requests written, at most {max_queued} bytes queued for it \
         (bound {BOUND}), VmRSS {rss_before} KiB before, at most {max_rss} KiB while it piled up; \
         the other client got {served} responses meanwhile"
    );
    assert!(
        sent < N,
        "the server kept reading a client that does not read"
    );
    assert!(served > 0);
    // It read nothing for idle_timeout: the server has dropped it (or does so shortly).
    let slow_conn = handler
        .conns
        .lock()
        .unwrap()
        .iter()
        .find(|c| c.peer_addr() == slow_addr)
        .cloned()
        .expect("the slow client's connection");
    tokio::time::timeout(T, slow_conn.closed())
        .await
        .expect("a peer that reads nothing is disconnected");
}

/// With `max_connections` = 2 the third connection is closed at accept; the first two keep
/// working, and once one of them goes a new connection is accepted again.
#[tokio::test]
async fn connections_over_the_limit_are_closed_at_accept() {
    let config = ConnectionConfig {
        max_connections: 2,
        ..ConnectionConfig::default()
    };
    let (addr, _stop) = start(Arc::new(Big::default()), config).await;
    let first = client(&addr).await;
    let second = client(&addr).await;
    for c in [&first, &second] {
        c.request(RemotingCommand::request(RequestCode(1)), T)
            .await
            .unwrap();
    }
    let mut third = TcpStream::connect(&addr).await.unwrap();
    assert!(
        closed_by_server(&mut third).await,
        "the connection over the limit is closed"
    );
    for c in [&first, &second] {
        let resp = c
            .request(RemotingCommand::request(RequestCode(1)), T)
            .await
            .unwrap();
        assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    }
    // Once the server has seen the first one go, there is room again.
    first.close();
    let deadline = tokio::time::Instant::now() + T;
    loop {
        let c = client(&addr).await;
        if c.request(
            RemotingCommand::request(RequestCode(1)),
            Duration::from_secs(1),
        )
        .await
        .is_ok()
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "a slot freed by a closed connection is reused"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sends `frame` one byte every 50 ms until the server closes the connection; true if it did
/// within `T`.
async fn trickle(addr: &str, frame: &[u8]) -> bool {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let trickler = async {
        for byte in frame.iter().cycle() {
            if write.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        std::future::pending::<()>().await;
    };
    let closed = async {
        let mut buf = [0u8; 1024];
        loop {
            match read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::select! {
        () = trickler => false,
        () = closed => true,
        () = tokio::time::sleep(T) => false,
    }
}

fn frame_bytes() -> Bytes {
    encode_to_bytes(
        &RemotingCommand::request(RequestCode(1)).with_body(vec![0u8; 1024]),
        SerializeType::Json,
    )
    .unwrap()
}

/// A byte every 50 ms never completes a frame: with a 300 ms idle rule the connection is closed,
/// though bytes keep arriving far more often than that.
#[tokio::test]
async fn a_trickle_of_bytes_does_not_keep_a_connection_open() {
    let config = ConnectionConfig {
        idle_timeout: Duration::from_millis(300),
        ..ConnectionConfig::default()
    };
    let (addr, _stop) = start(Arc::new(Big::default()), config).await;
    assert!(trickle(&addr, &frame_bytes()).await);
}

/// A frame trickled in while a request of the same peer is in flight (so the idle rule does not
/// apply) is cut after `frame_timeout`.
#[tokio::test]
async fn a_frame_that_takes_too_long_to_arrive_is_cut() {
    let gate = Arc::new(Semaphore::new(0));
    let config = ConnectionConfig {
        idle_timeout: Duration::from_secs(60),
        frame_timeout: Duration::from_millis(300),
        ..ConnectionConfig::default()
    };
    let handler = Arc::new(Big {
        gate: Some(gate.clone()),
        ..Big::default()
    });
    let (addr, _stop) = start(handler, config).await;
    let stream = TcpStream::connect(&addr).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let mut held = RemotingCommand::request(RequestCode(999));
    held.opaque = 1;
    write
        .write_all(&encode_to_bytes(&held, SerializeType::Json).unwrap())
        .await
        .unwrap();
    let frame = frame_bytes();
    let trickler = async {
        for byte in frame.iter() {
            if write.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        std::future::pending::<()>().await;
    };
    let closed = async {
        let mut buf = [0u8; 1024];
        loop {
            match read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    let cut = tokio::select! {
        () = trickler => false,
        () = closed => true,
        () = tokio::time::sleep(T) => false,
    };
    assert!(cut, "the slow frame is cut");
}

/// The idle rule spares a connection whose request is still being handled: a response that takes
/// several idle periods still arrives.
#[tokio::test]
async fn a_request_in_flight_keeps_the_connection_open() {
    let gate = Arc::new(Semaphore::new(0));
    let config = ConnectionConfig {
        idle_timeout: Duration::from_millis(200),
        ..ConnectionConfig::default()
    };
    let handler = Arc::new(Big {
        gate: Some(gate.clone()),
        ..Big::default()
    });
    let (addr, _stop) = start(handler, config).await;
    let conn = client(&addr).await;
    let call = {
        let conn = conn.clone();
        tokio::spawn(async move {
            conn.request(RemotingCommand::request(RequestCode(999)), T)
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(1000)).await;
    gate.add_permits(1);
    let resp = call.await.unwrap().unwrap();
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
}
