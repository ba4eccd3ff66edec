//! Request/response over loopback: what the remoting layer adds to a round trip, beside the
//! machine's own limit measured in the same run.
//!
//! - `remoting/one in flight`: a [`Connection`] calls a server whose handler answers at once,
//!   one request at a time (the path of a sync send, without the broker's work).
//! - `raw tcp/one in flight` and `blocking std tcp/one in flight`: the same bytes each way over
//!   a plain socket ping-pong (tokio driven from `block_on`, and blocking `std::net` threads), no
//!   framing: what the machine does without the remoting layer. Both wake a sleeping thread per
//!   message, so on a 2-core VM they come out slower than the remoting line, whose caller is a
//!   task on a runtime worker that is still awake when the answer comes (the same remoting calls
//!   driven from `block_on` took 59 µs against 21 µs, the raw tokio ping-pong 72 µs).
//! - `remoting/64 in flight`: 64 callers on one connection (a sync producer with 64 threads).
//! - `remoting tls/...`: the same over TLS (rustls, ECDSA P-256 certificate, TLS 1.3), and
//!   `remoting permissive plain/one in flight`: a plaintext connection to a server that also
//!   takes TLS on the port (permissive), which must cost what plain `remoting` costs. On the
//!   shared 2-core VM (load about 4): plain 23.1 µs, permissive plain 23.9 µs, TLS 28.7 µs one
//!   in flight; 1.03 ms against 1.22 ms for 64 in flight (TLS +18 %).
//!
//! ```text
//! cargo bench -p ferromq-remoting --bench roundtrip
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode, SerializeType};
use ferromq_remoting::{Connection, ConnectionConfig, Handler, IgnoreRequests};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const T: Duration = Duration::from_secs(10);

/// Answers every request at once with a response about the size of a send's.
struct Answer;

impl Handler for Answer {
    async fn handle(&self, _conn: &Connection, _req: RemotingCommand) -> Option<RemotingCommand> {
        Some(answer())
    }
}

fn answer() -> RemotingCommand {
    let mut resp = RemotingCommand::response(ResponseCode::SUCCESS, None);
    resp.ext_fields
        .insert("msgId", "7F00000100002A9F0000000000000000");
    resp.ext_fields.insert("queueId", "3");
    resp.ext_fields.insert("queueOffset", "4711");
    resp
}

fn request() -> RemotingCommand {
    let mut req = RemotingCommand::request(RequestCode::SEND_MESSAGE_V2);
    for (k, v) in [
        ("a", "please_rename_unique_group_name"),
        ("b", "BenchmarkTest"),
        ("c", "TBW102"),
        ("d", "4"),
        ("e", "3"),
        ("f", "0"),
        ("g", "1732000000000"),
        ("h", "0"),
        ("i", "UNIQ_KEY\u{1}7F0000010B2C18B4AAC25F4E9C3A0000\u{2}"),
    ] {
        req.ext_fields.insert(k, v);
    }
    req.with_body(Bytes::from(vec![b'x'; 1024]))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

async fn remoting_pair() -> Connection {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(ferromq_remoting::serve(
        listener,
        Arc::new(Answer),
        ConnectionConfig::default(),
        std::future::pending::<()>(),
    ));
    Connection::connect(&addr, Arc::new(IgnoreRequests), ConnectionConfig::default())
        .await
        .unwrap()
}

/// A permissive TLS server with a fresh self-signed certificate; a TLS connection and a
/// plaintext one to it.
async fn tls_pairs(dir: &std::path::Path) -> (Connection, Connection) {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    let tls = ferromq_remoting::ServerTls::new(ferromq_remoting::ServerTlsSettings {
        mode: ferromq_remoting::TlsMode::Permissive,
        cert_path: Some(cert_path.clone()),
        key_path: Some(key_path),
        ..ferromq_remoting::ServerTlsSettings::default()
    })
    .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(ferromq_remoting::serve_tls(
        listener,
        Arc::new(Answer),
        ConnectionConfig::default(),
        tls,
        std::future::pending::<()>(),
    ));
    let connector = ferromq_remoting::TlsConnector::new(&ferromq_remoting::ClientTlsSettings {
        trust: ferromq_remoting::ServerTrust::CaFile(cert_path),
        verify_hostname: true,
        ..ferromq_remoting::ClientTlsSettings::default()
    })
    .unwrap();
    let secure = ConnectionConfig {
        tls: Some(connector),
        ..ConnectionConfig::default()
    };
    let tls_conn = Connection::connect(&addr, Arc::new(IgnoreRequests), secure)
        .await
        .unwrap();
    let plain = Connection::connect(&addr, Arc::new(IgnoreRequests), ConnectionConfig::default())
        .await
        .unwrap();
    (tls_conn, plain)
}

/// One caller, one request at a time, from a task on a runtime worker.
fn one_in_flight(rt: &tokio::runtime::Runtime, conn: &Connection, iters: u64) -> Duration {
    let conn = conn.clone();
    rt.block_on(async move {
        tokio::spawn(async move {
            let start = Instant::now();
            for _ in 0..iters {
                let resp = conn.request(request(), T).await.unwrap();
                assert_eq!(resp.code, ResponseCode::SUCCESS.0);
            }
            start.elapsed()
        })
        .await
        .unwrap()
    })
}

/// 64 callers on one connection.
fn many_in_flight(rt: &tokio::runtime::Runtime, conn: &Connection, iters: u64) -> Duration {
    rt.block_on(async {
        let start = Instant::now();
        let callers: Vec<_> = (0..64)
            .map(|_| {
                let conn = conn.clone();
                tokio::spawn(async move {
                    for _ in 0..iters {
                        conn.request(request(), T).await.unwrap();
                    }
                })
            })
            .collect();
        for c in callers {
            c.await.unwrap();
        }
        start.elapsed()
    })
}

/// The encoded sizes of a request and its response, for the raw baseline.
fn frame_sizes() -> (usize, usize) {
    let mut buf = bytes::BytesMut::new();
    ferromq_protocol::frame::encode(&request(), SerializeType::Json, &mut buf).unwrap();
    let req = buf.len();
    buf.clear();
    ferromq_protocol::frame::encode(&answer(), SerializeType::Json, &mut buf).unwrap();
    (req, buf.len())
}

async fn raw_pair(req_len: usize, resp_len: usize) -> TcpStream {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        s.set_nodelay(true).unwrap();
        let mut inbuf = vec![0u8; req_len];
        let out = vec![1u8; resp_len];
        while s.read_exact(&mut inbuf).await.is_ok() {
            if s.write_all(&out).await.is_err() {
                break;
            }
        }
    });
    let s = TcpStream::connect(addr).await.unwrap();
    s.set_nodelay(true).unwrap();
    s
}

fn bench(c: &mut Criterion) {
    let rt = runtime();
    let conn = rt.block_on(remoting_pair());
    let dir = tempfile::tempdir().unwrap();
    let (tls_conn, permissive_plain) = rt.block_on(tls_pairs(dir.path()));
    let (req_len, resp_len) = frame_sizes();
    let raw = Arc::new(tokio::sync::Mutex::new(
        rt.block_on(raw_pair(req_len, resp_len)),
    ));

    let mut g = c.benchmark_group("roundtrip");
    g.throughput(Throughput::Elements(1));
    g.bench_function("remoting/one in flight", |b| {
        b.iter_custom(|iters| one_in_flight(&rt, &conn, iters));
    });
    g.bench_function("remoting tls/one in flight", |b| {
        b.iter_custom(|iters| one_in_flight(&rt, &tls_conn, iters));
    });
    g.bench_function("remoting permissive plain/one in flight", |b| {
        b.iter_custom(|iters| one_in_flight(&rt, &permissive_plain, iters));
    });
    g.bench_function("blocking std tcp/one in flight", |b| {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            use std::io::{Read, Write};
            let (mut s, _) = listener.accept().unwrap();
            s.set_nodelay(true).unwrap();
            let mut inbuf = vec![0u8; req_len];
            let out = vec![1u8; resp_len];
            while s.read_exact(&mut inbuf).is_ok() {
                if s.write_all(&out).is_err() {
                    break;
                }
            }
        });
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_nodelay(true).unwrap();
        let out = vec![0u8; req_len];
        let mut inbuf = vec![0u8; resp_len];
        b.iter(|| {
            use std::io::{Read, Write};
            s.write_all(&out).unwrap();
            s.read_exact(&mut inbuf).unwrap();
        });
    });
    g.bench_function("raw tcp/one in flight", |b| {
        let out = vec![0u8; req_len];
        let mut inbuf = vec![0u8; resp_len];
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut s = raw.lock().await;
                let start = Instant::now();
                for _ in 0..iters {
                    s.write_all(&out).await.unwrap();
                    s.read_exact(&mut inbuf).await.unwrap();
                }
                start.elapsed()
            })
        });
    });
    g.throughput(Throughput::Elements(64));
    g.bench_function("remoting/64 in flight", |b| {
        b.iter_custom(|iters| many_in_flight(&rt, &conn, iters));
    });
    g.bench_function("remoting tls/64 in flight", |b| {
        b.iter_custom(|iters| many_in_flight(&rt, &tls_conn, iters));
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(5)).sample_size(20);
    targets = bench
}
criterion_main!(benches);
