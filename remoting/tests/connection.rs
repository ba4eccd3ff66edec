//! The transport against itself over real sockets.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use ferromq_remoting::{serve, Connection, ConnectionConfig, Handler, RemotingError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, Semaphore};

/// Echoes the body; counts oneway requests; code 999 waits on a gate (to fill the in-flight limit);
/// codes 998 and 997 panic (at once, and after waiting once).
#[derive(Default)]
struct Echo {
    oneways: AtomicUsize,
    gate: Option<Arc<Semaphore>>,
}

impl Handler for Echo {
    async fn handle(&self, _conn: &Connection, req: RemotingCommand) -> Option<RemotingCommand> {
        if req.is_oneway() {
            self.oneways.fetch_add(1, Ordering::SeqCst);
            return Some(RemotingCommand::response(ResponseCode::SUCCESS, None));
        }
        if req.code == 998 {
            panic!("the handler's bug (a test of panics in handlers)");
        }
        if req.code == 997 {
            tokio::task::yield_now().await;
            panic!("the handler's bug after waiting (a test of panics in handlers)");
        }
        if req.code == 999 {
            if let Some(g) = &self.gate {
                let _p = g.acquire().await.unwrap();
            }
        }
        Some(RemotingCommand::response(ResponseCode::SUCCESS, None).with_body(req.body))
    }
}

struct Nothing;
impl Handler for Nothing {
    async fn handle(&self, _c: &Connection, _r: RemotingCommand) -> Option<RemotingCommand> {
        None
    }
}

async fn start(handler: Echo, config: ConnectionConfig) -> (String, oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(serve(listener, Arc::new(handler), config, async move {
        let _ = rx.await;
    }));
    (addr, tx)
}

const T: Duration = Duration::from_secs(5);

#[tokio::test]
async fn request_response_and_oneway() {
    let (addr, _stop) = start(Echo::default(), ConnectionConfig::default()).await;
    let conn = Connection::connect(&addr, Arc::new(Nothing), ConnectionConfig::default())
        .await
        .unwrap();
    let req = RemotingCommand::request(RequestCode::HEART_BEAT).with_body(&b"ping"[..]);
    let resp = conn.request(req, T).await.unwrap();
    assert!(resp.is_response());
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    assert_eq!(&resp.body[..], b"ping");
    // A oneway request is handled but never answered: the next call still gets its own response.
    conn.request_oneway(RemotingCommand::request(
        RequestCode::UPDATE_CONSUMER_OFFSET,
    ))
    .await
    .unwrap();
    let resp = conn
        .request(
            RemotingCommand::request(RequestCode(1)).with_body(&b"2"[..]),
            T,
        )
        .await
        .unwrap();
    assert_eq!(&resp.body[..], b"2");
}

#[tokio::test]
async fn server_calls_the_client_over_its_connection() {
    struct CallBack(tokio::sync::Mutex<Option<oneshot::Sender<Connection>>>);
    impl Handler for CallBack {
        async fn handle(&self, conn: &Connection, _r: RemotingCommand) -> Option<RemotingCommand> {
            if let Some(tx) = self.0.lock().await.take() {
                let _ = tx.send(conn.clone());
            }
            Some(RemotingCommand::response(ResponseCode::SUCCESS, None))
        }
    }
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (ctx, crx) = oneshot::channel();
    let (_stop, stop_rx) = oneshot::channel::<()>();
    tokio::spawn(serve(
        listener,
        Arc::new(CallBack(tokio::sync::Mutex::new(Some(ctx)))),
        ConnectionConfig::default(),
        async move {
            let _ = stop_rx.await;
        },
    ));
    let client = Connection::connect(
        &addr,
        Arc::new(Echo::default()),
        ConnectionConfig::default(),
    )
    .await
    .unwrap();
    client
        .request(RemotingCommand::request(RequestCode::HEART_BEAT), T)
        .await
        .unwrap();
    let server_side = crx.await.unwrap();
    let back = server_side
        .request(
            RemotingCommand::request(RequestCode::GET_CONSUMER_RUNNING_INFO)
                .with_body(&b"state?"[..]),
            T,
        )
        .await
        .unwrap();
    assert_eq!(&back.body[..], b"state?");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_costs_only_its_request() {
    let (addr, _stop) = start(Echo::default(), ConnectionConfig::default()).await;
    let conn = Connection::connect(&addr, Arc::new(Nothing), ConnectionConfig::default())
        .await
        .unwrap();
    for code in [998, 997] {
        let lost = conn
            .request(
                RemotingCommand::request(RequestCode(code)),
                Duration::from_millis(300),
            )
            .await;
        assert!(
            matches!(lost, Err(RemotingError::Timeout(_))),
            "code {code}: {lost:?}"
        );
        // The same connection goes on serving.
        let resp = conn
            .request(
                RemotingCommand::request(RequestCode(1)).with_body(&b"after"[..]),
                T,
            )
            .await
            .unwrap();
        assert_eq!(&resp.body[..], b"after", "code {code}");
    }
    assert!(!conn.is_closed());
}

#[tokio::test]
async fn a_bad_frame_closes_only_that_connection() {
    let (addr, _stop) = start(Echo::default(), ConnectionConfig::default()).await;
    let good = Connection::connect(&addr, Arc::new(Nothing), ConnectionConfig::default())
        .await
        .unwrap();
    for garbage in [
        &b"\xff\xff\xff\xffgarbage"[..],
        b"\x00\x00\x00\x09\x00\x00\x00\x05{bad}",
        b"\x7f\x00\x00\x00",
    ] {
        let mut bad = TcpStream::connect(&addr).await.unwrap();
        bad.write_all(garbage).await.unwrap();
        let mut buf = [0u8; 16];
        let n = tokio::time::timeout(T, bad.read(&mut buf))
            .await
            .expect("server closes the socket")
            .unwrap_or(0);
        assert_eq!(n, 0, "no reply to garbage, just a close");
    }
    let resp = good
        .request(
            RemotingCommand::request(RequestCode(1)).with_body(&b"still"[..]),
            T,
        )
        .await
        .unwrap();
    assert_eq!(&resp.body[..], b"still");
}

#[tokio::test]
async fn overload_is_answered_system_busy() {
    let gate = Arc::new(Semaphore::new(0));
    let handler = Echo {
        gate: Some(gate.clone()),
        ..Echo::default()
    };
    let config = ConnectionConfig {
        max_in_flight: 2,
        ..ConnectionConfig::default()
    };
    let (addr, _stop) = start(handler, config).await;
    let conn = Connection::connect(&addr, Arc::new(Nothing), ConnectionConfig::default())
        .await
        .unwrap();
    let mut calls = Vec::new();
    for _ in 0..3 {
        let c = conn.clone();
        calls.push(tokio::spawn(async move {
            c.request(RemotingCommand::request(RequestCode(999)), T)
                .await
        }));
    }
    // The third request cannot get an in-flight slot: it is answered at once, before the gate opens.
    let mut busy = None;
    while busy.is_none() {
        if let Some(i) = calls.iter().position(|c| c.is_finished()) {
            busy = Some(calls.swap_remove(i).await.unwrap().unwrap());
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(busy.unwrap().response_code(), ResponseCode::SYSTEM_BUSY);
    gate.add_permits(10);
    let codes: Vec<_> = futures_codes(calls).await;
    assert_eq!(
        codes
            .iter()
            .filter(|c| **c == ResponseCode::SUCCESS)
            .count(),
        2
    );
}

#[tokio::test]
async fn a_late_answer_after_a_timeout_reaches_nobody() {
    let gate = Arc::new(Semaphore::new(0));
    let echo = Echo {
        gate: Some(gate.clone()),
        ..Echo::default()
    };
    let (addr, _stop) = start(echo, ConnectionConfig::default()).await;
    let conn = Connection::connect(&addr, Arc::new(Nothing), ConnectionConfig::default())
        .await
        .unwrap();
    let held = RemotingCommand::request(RequestCode(999)).with_body(&b"late"[..]);
    let timeout = Duration::from_millis(200);
    assert!(matches!(
        conn.request(held, timeout).await,
        Err(RemotingError::Timeout(t)) if t == timeout
    ));
    // The held request is answered now, after its caller gave up; the next call on the same
    // connection gets its own answer, not that one.
    gate.add_permits(1);
    let next = RemotingCommand::request(RequestCode(1)).with_body(&b"next"[..]);
    let resp = conn.request(next, T).await.unwrap();
    assert_eq!(&resp.body[..], b"next");
    assert!(!conn.is_closed());
}

async fn futures_codes(
    calls: Vec<tokio::task::JoinHandle<Result<RemotingCommand, RemotingError>>>,
) -> Vec<ResponseCode> {
    let mut out = Vec::new();
    for c in calls {
        if let Ok(Ok(r)) = c.await {
            out.push(r.response_code());
        }
    }
    out
}

#[tokio::test]
async fn calls_fail_when_the_peer_goes_away() {
    let (addr, stop) = start(Echo::default(), ConnectionConfig::default()).await;
    let conn = Connection::connect(&addr, Arc::new(Nothing), ConnectionConfig::default())
        .await
        .unwrap();
    conn.request(RemotingCommand::request(RequestCode(1)), T)
        .await
        .unwrap();
    stop.send(()).unwrap();
    tokio::time::timeout(T, conn.closed())
        .await
        .expect("client notices the close");
    assert!(matches!(
        conn.request(RemotingCommand::request(RequestCode(1)), T)
            .await,
        Err(RemotingError::Closed)
    ));
}

/// Many requests in flight at once, with bodies below and above the size the writer copies into
/// its batch buffer (16 KiB) and bursts larger than one batch (64 KiB): every caller gets its own
/// body back, byte for byte, so frames gathered into one write are neither reordered internally,
/// torn nor mixed up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_frames_of_every_size_arrive_whole() {
    let (addr, _stop) = start(Echo::default(), ConnectionConfig::default()).await;
    let conn = Connection::connect(&addr, Arc::new(Nothing), ConnectionConfig::default())
        .await
        .unwrap();
    let sizes = [
        0usize,
        1,
        100,
        1024,
        16 * 1024 - 1,
        16 * 1024,
        70 * 1024,
        300 * 1024,
    ];
    let calls: Vec<_> = (0..400usize)
        .map(|i| {
            let conn = conn.clone();
            let len = sizes[i % sizes.len()];
            tokio::spawn(async move {
                let body: Vec<u8> = (0..len).map(|j| (i * 31 + j) as u8).collect();
                let req =
                    RemotingCommand::request(RequestCode::SEND_MESSAGE).with_body(body.clone());
                let resp = conn.request(req, T).await.unwrap();
                assert_eq!(resp.code, ResponseCode::SUCCESS.0);
                assert!(
                    resp.body[..] == body[..],
                    "call {i}: body of {len} bytes came back changed"
                );
            })
        })
        .collect();
    for call in calls {
        call.await.unwrap();
    }
    assert!(!conn.is_closed());
}

/// One burst (a single write) of a request whose handler waits, then 200 that are answered at
/// once, then 2 more that wait: the 200 come back while the others still wait (a handler that
/// waits becomes a task of its own and holds up nothing behind it), each answered exactly once
/// with its own body, and the waiting ones come back once their gate opens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_handler_holds_up_no_request_behind_it() {
    use ferromq_protocol::frame::{encode, FrameDecoder};
    use ferromq_protocol::SerializeType;

    let gate = Arc::new(Semaphore::new(0));
    let handler = Echo {
        gate: Some(gate.clone()),
        ..Echo::default()
    };
    let (addr, _stop) = start(handler, ConnectionConfig::default()).await;
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    let mut burst = bytes::BytesMut::new();
    let mut opaque = 0;
    let mut push = |code: i32, body: Vec<u8>| {
        opaque += 1;
        let mut req = RemotingCommand::request(RequestCode(code)).with_body(body);
        req.opaque = opaque;
        encode(&req, SerializeType::Json, &mut burst).unwrap();
    };
    push(999, b"first waits".to_vec());
    for i in 0..200u32 {
        push(1, i.to_be_bytes().to_vec());
    }
    push(999, b"waits too".to_vec());
    push(999, b"and so do I".to_vec());
    stream.write_all(&burst).await.unwrap();

    let decoder = FrameDecoder::new(1 << 20);
    let mut buf = bytes::BytesMut::new();
    let mut got = std::collections::BTreeMap::new();
    read_until(200, &mut stream, &mut buf, &decoder, &mut got).await;
    let answered = got.clone();
    assert_eq!(
        answered.len(),
        200,
        "only the immediate ones while the gate is shut"
    );
    for i in 0..200u32 {
        let body = &answered[&(i as i32 + 2)];
        assert_eq!(&body[..], &i.to_be_bytes()[..], "request {i}");
    }
    gate.add_permits(3);
    read_until(203, &mut stream, &mut buf, &decoder, &mut got).await;
    let all = got;
    assert_eq!(&all[&1][..], b"first waits");
    assert_eq!(&all[&202][..], b"waits too");
    assert_eq!(&all[&203][..], b"and so do I");
}

/// Reads responses until `got` (opaque to body) holds `want` of them; each opaque once.
async fn read_until(
    want: usize,
    stream: &mut TcpStream,
    buf: &mut bytes::BytesMut,
    decoder: &ferromq_protocol::frame::FrameDecoder,
    got: &mut std::collections::BTreeMap<i32, bytes::Bytes>,
) {
    tokio::time::timeout(T, async {
        while got.len() < want {
            while let Some(resp) = decoder.decode(buf).unwrap() {
                assert_eq!(resp.code, ResponseCode::SUCCESS.0);
                let again = got.insert(resp.opaque, resp.body.clone());
                assert!(again.is_none(), "opaque {} answered twice", resp.opaque);
            }
            if got.len() < want {
                assert!(stream.read_buf(buf).await.unwrap() > 0, "closed");
            }
        }
    })
    .await
    .expect("responses in time");
}
