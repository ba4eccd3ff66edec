//! End-to-end broker figures over real sockets against an in-process broker (ASYNC_FLUSH, data in
//! a temporary directory), with raw remoting requests so that only the broker is measured:
//!
//! - `timer`: 10,000 timer messages whose delivery times are spread uniformly over 60 s, sent
//!   up front; a long-polling consumer records, for each, arrival time minus `TIMER_OUT_MS`
//!   (its due time). Prints p50 / p99 / max lateness.
//! - `transaction`: 64 concurrent producers send half messages and commit each one
//!   (END_TRANSACTION, oneway, as the Java client does); prints commits per second until every
//!   committed message is in its real topic.
//!
//! ```text
//! cargo bench -p ferromq-broker --bench messaging            # both
//! cargo bench -p ferromq-broker --bench messaging -- timer    # one of them
//! FERROMQ_BENCH_TIMER_N=2000 FERROMQ_BENCH_TIMER_SPAN_S=10 cargo bench ... -- timer
//! ```
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferromq_broker::Settings;
use ferromq_common::now_ms;
use ferromq_protocol::body::{ConsumerData, HeartbeatData, ProducerData, SubscriptionData};
use ferromq_protocol::header::pull::{PullMessageRequestHeader, PullMessageResponseHeader};
use ferromq_protocol::header::send::{SendMessageRequestHeaderV2, SendMessageResponseHeader};
use ferromq_protocol::header::transaction::EndTransactionRequestHeader;
use ferromq_protocol::message::{decode_all, property, DecodeOptions, MessageId, Properties};
use ferromq_protocol::{CommandHeader, RemotingCommand, RequestCode, ResponseCode};
use ferromq_remoting::{Connection, ConnectionConfig, IgnoreRequests};

const T: Duration = Duration::from_secs(30);

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A broker on a free port until the returned sender is dropped.
async fn broker(dir: &std::path::Path) -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut settings = Settings::default();
    settings.broker.broker_ip1 = "127.0.0.1".into();
    settings.broker.listen_port = port;
    settings.broker.namesrv_addr = String::new();
    settings.store = ferromq_store::StoreConfig::with_root(dir);
    let broker = ferromq_broker::open(settings).await.unwrap();
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(ferromq_broker::run(broker, listener, None, async move {
        let _ = rx.await;
    }));
    (format!("127.0.0.1:{port}"), stop)
}

async fn connect(addr: &str) -> Connection {
    Connection::connect(addr, Arc::new(IgnoreRequests), ConnectionConfig::default())
        .await
        .unwrap()
}

fn send_request(topic: &str, body: Bytes, props: &Properties, sys_flag: i32) -> RemotingCommand {
    let h = SendMessageRequestHeaderV2 {
        producer_group: "BENCH_PG".into(),
        topic: topic.into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 1,
        queue_id: 0,
        sys_flag,
        born_timestamp: now_ms(),
        properties: Some(props.encode()),
        ..Default::default()
    };
    RemotingCommand::request_with_header(RequestCode::SEND_MESSAGE_V2, &h).with_body(body)
}

async fn heartbeat(c: &Connection, topic: &str) {
    let hb = HeartbeatData {
        client_id: "bench@1".into(),
        producer_data_set: vec![ProducerData {
            group_name: "BENCH_PG".into(),
        }],
        consumer_data_set: vec![ConsumerData {
            group_name: "BENCH_CG".into(),
            subscription_data_set: vec![SubscriptionData::tag(topic, "*", 1)],
            ..Default::default()
        }],
        ..Default::default()
    };
    c.request(
        RemotingCommand::request(RequestCode::HEART_BEAT).with_body(hb.encode()),
        T,
    )
    .await
    .unwrap();
}

/// Pulls `topic` queue 0 until `n` messages arrived, calling `each` with every message and the
/// time it arrived.
async fn consume(
    c: &Connection,
    topic: &str,
    n: usize,
    mut each: impl FnMut(&ferromq_protocol::message::MessageExt, i64),
) {
    let (mut got, mut offset) = (0, 0);
    while got < n {
        let h = PullMessageRequestHeader {
            consumer_group: "BENCH_CG".into(),
            topic: topic.into(),
            queue_id: 0,
            queue_offset: offset,
            max_msg_nums: 32,
            sys_flag: 2,
            suspend_timeout_millis: 15_000,
            sub_version: 1,
            ..Default::default()
        };
        let resp = c
            .request(
                RemotingCommand::request_with_header(RequestCode::PULL_MESSAGE, &h),
                T,
            )
            .await
            .unwrap();
        let now = now_ms();
        if resp.response_code() == ResponseCode::SUCCESS {
            for m in decode_all(&resp.body, &DecodeOptions::client()).unwrap() {
                each(&m, now);
                got += 1;
            }
        }
        offset = PullMessageResponseHeader::read_ext(&resp.ext_fields)
            .map(|h| h.next_begin_offset)
            .unwrap_or(offset);
    }
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn timer_lateness() {
    let n = env("FERROMQ_BENCH_TIMER_N", 10_000) as usize;
    let span_ms = env("FERROMQ_BENCH_TIMER_SPAN_S", 60) * 1000;
    let dir = tempfile::tempdir().unwrap();
    let (addr, _stop) = broker(dir.path()).await;
    let consumer = connect(&addr).await;
    heartbeat(&consumer, "BenchTimer").await;
    let producer = Arc::new(connect(&addr).await);
    // Due times from 2 s after the start (after every send is done) over the span, shuffled.
    let start = now_ms() + 2000;
    let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
    let due: Vec<i64> = (0..n)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            start + (seed % span_ms) as i64
        })
        .collect();
    let sending = Instant::now();
    let per_task = n.div_ceil(16);
    let tasks: Vec<_> = due
        .chunks(per_task)
        .map(|chunk| {
            let (producer, chunk) = (producer.clone(), chunk.to_vec());
            tokio::spawn(async move {
                for at in chunk {
                    let mut props = Properties::new();
                    props.insert(property::TIMER_DELIVER_MS, at.to_string());
                    let req = send_request("BenchTimer", Bytes::from(vec![b'x'; 1024]), &props, 0);
                    let resp = producer.request(req, T).await.unwrap();
                    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    println!(
        "timer: {n} messages sent in {:.2?}, due over {} s",
        sending.elapsed(),
        span_ms / 1000
    );
    let (mut lateness, mut stored) = (Vec::with_capacity(n), Vec::with_capacity(n));
    consume(&consumer, "BenchTimer", n, |m, arrived| {
        let out: i64 = m
            .properties
            .value(property::TIMER_OUT_MS)
            .and_then(|v| v.parse().ok())
            .unwrap();
        lateness.push(arrived - out);
        stored.push(m.store_timestamp - out);
    })
    .await;
    for (what, v) in [
        ("arrival at the consumer", &mut lateness),
        ("store time of the delivered message", &mut stored),
    ] {
        v.sort_unstable();
        println!(
            "timer: lateness ({what} minus due time) p50 {} ms, p99 {} ms, max {} ms, min {} ms",
            percentile(v, 0.5),
            percentile(v, 0.99),
            v[n - 1],
            v[0]
        );
    }
}

async fn transaction_commits() {
    let n = env("FERROMQ_BENCH_TX_N", 50_000) as usize;
    let producers = 64;
    let dir = tempfile::tempdir().unwrap();
    let (addr, _stop) = broker(dir.path()).await;
    let consumer = connect(&addr).await;
    heartbeat(&consumer, "BenchTx").await;
    let conns: Vec<Arc<Connection>> = {
        let mut v = Vec::new();
        for _ in 0..4 {
            let c = connect(&addr).await;
            heartbeat(&c, "BenchTx").await;
            v.push(Arc::new(c));
        }
        v
    };
    let started = Instant::now();
    let tasks: Vec<_> = (0..producers)
        .map(|p| {
            let c = conns[p % conns.len()].clone();
            let count = n / producers + usize::from(p < n % producers);
            tokio::spawn(async move {
                for i in 0..count {
                    let mut props = Properties::new();
                    props.insert(property::TRANSACTION_PREPARED, "true");
                    props.insert(property::PRODUCER_GROUP, "BENCH_PG");
                    props.insert(
                        property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
                        format!("TX-{p}-{i}"),
                    );
                    let req = send_request("BenchTx", Bytes::from(vec![b'x'; 1024]), &props, 0x4);
                    let resp = c.request(req, T).await.unwrap();
                    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
                    let sent = SendMessageResponseHeader::read_ext(&resp.ext_fields).unwrap();
                    let end = EndTransactionRequestHeader {
                        producer_group: "BENCH_PG".into(),
                        tran_state_table_offset: sent.queue_offset,
                        commit_log_offset: sent.msg_id.parse::<MessageId>().unwrap().offset,
                        commit_or_rollback: 8,
                        msg_id: format!("TX-{p}-{i}"),
                        ..Default::default()
                    };
                    c.request_oneway(RemotingCommand::request_with_header(
                        RequestCode::END_TRANSACTION,
                        &end,
                    ))
                    .await
                    .unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let sent = started.elapsed();
    consume(&consumer, "BenchTx", n, |_, _| {}).await;
    let all = started.elapsed();
    println!(
        "transaction: {n} half messages of 1 KiB sent and committed by {producers} producers in {sent:.2?}; \
         all committed messages consumable after {all:.2?}: {:.0} commits/s",
        n as f64 / all.as_secs_f64()
    );
}

fn main() {
    let which: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wants = |name: &str| which.is_empty() || which.iter().any(|w| w == name);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if wants("transaction") {
        rt.block_on(transaction_commits());
    }
    if wants("timer") {
        rt.block_on(timer_lateness());
    }
}
