//! A consumer that sends PULL requests and never reads its socket, against the real broker
//! (`ferromq_broker::run` on a free port, default transport settings): the broker stops reading
//! it once its unread responses pass the write high water mark, so memory stays bounded, and
//! other clients are served meanwhile.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferromq_broker::Settings;
use ferromq_protocol::body::{ConsumerData, HeartbeatData, SubscriptionData};
use ferromq_protocol::frame::encode_to_bytes;
use ferromq_protocol::header::offset::{GetMaxOffsetRequestHeader, GetMaxOffsetResponseHeader};
use ferromq_protocol::header::pull::PullMessageRequestHeader;
use ferromq_protocol::header::send::SendMessageRequestHeaderV2;
use ferromq_protocol::message::{property, Properties};
use ferromq_protocol::{CommandHeader, RemotingCommand, RequestCode, ResponseCode, SerializeType};
use ferromq_remoting::{Connection, ConnectionConfig, IgnoreRequests};
use tokio::io::AsyncWriteExt;

const T: Duration = Duration::from_secs(10);
const TOPIC: &str = "Big";
/// 32 messages of 32 KiB: each pull of the queue is answered with as many as one pull may carry
/// from memory (Apache's `maxTransferBytesOnMessageInMemory`, 256 KiB).
const MESSAGES: usize = 32;
const BODY: usize = 32 * 1024;

fn send_request(i: usize) -> RemotingCommand {
    let mut props = Properties::new();
    props.insert(property::WAIT_STORE_MSG_OK, "true");
    let h = SendMessageRequestHeaderV2 {
        producer_group: "PG".to_owned(),
        topic: TOPIC.to_owned(),
        default_topic: "TBW102".to_owned(),
        default_topic_queue_nums: 1,
        queue_id: 0,
        born_timestamp: 1_700_000_000_000,
        properties: Some(props.encode()),
        reconsume_times: Some(0),
        ..Default::default()
    };
    RemotingCommand::request_with_header(RequestCode::SEND_MESSAGE_V2, &h)
        .with_body(Bytes::from(vec![u8::try_from(i % 251).unwrap(); BODY]))
}

fn pull_request() -> RemotingCommand {
    let h = PullMessageRequestHeader {
        consumer_group: "G".to_owned(),
        topic: TOPIC.to_owned(),
        queue_id: 0,
        queue_offset: 0,
        max_msg_nums: 32,
        sys_flag: 0,
        commit_offset: 0,
        suspend_timeout_millis: 0,
        sub_version: 1,
        ..Default::default()
    };
    RemotingCommand::request_with_header(RequestCode::PULL_MESSAGE, &h)
}

/// This process's resident set size in KiB (Linux).
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_that_never_reads_its_pulls_costs_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut settings = Settings::default();
    settings.broker.broker_name = "broker-slow".to_owned();
    settings.broker.broker_ip1 = "127.0.0.1".to_owned();
    settings.broker.listen_port = port;
    settings.broker.namesrv_addr = String::new();
    settings.store = ferromq_store::StoreConfig {
        mapped_file_size_commit_log: 8 << 20,
        max_hash_slot_num: 1024,
        max_index_num: 4096,
        ..ferromq_store::StoreConfig::with_root(dir.path())
    };
    let broker = ferromq_broker::open(settings).await.unwrap();
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        ferromq_broker::run(broker, listener, None, async move {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    let addr = format!("127.0.0.1:{port}");
    let other = Connection::connect(&addr, Arc::new(IgnoreRequests), ConnectionConfig::default())
        .await
        .unwrap();
    for i in 0..MESSAGES {
        let resp = other.request(send_request(i), T).await.unwrap();
        assert_eq!(
            resp.response_code(),
            ResponseCode::SUCCESS,
            "{:?}",
            resp.remark
        );
    }
    let deadline = Instant::now() + T;
    loop {
        let h = GetMaxOffsetRequestHeader {
            topic: TOPIC.into(),
            queue_id: 0,
            ..Default::default()
        };
        let resp = other
            .request(
                RemotingCommand::request_with_header(RequestCode::GET_MAX_OFFSET, &h),
                T,
            )
            .await
            .unwrap();
        if GetMaxOffsetResponseHeader::read_ext(&resp.ext_fields)
            .unwrap()
            .offset
            == i64::try_from(MESSAGES).unwrap()
        {
            break;
        }
        assert!(Instant::now() < deadline, "dispatch did not catch up");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let hb = HeartbeatData {
        client_id: "127.0.0.1@slow".to_owned(),
        consumer_data_set: vec![ConsumerData {
            group_name: "G".to_owned(),
            subscription_data_set: vec![SubscriptionData::tag(TOPIC, "*", 1)],
            ..Default::default()
        }],
        ..Default::default()
    };
    let resp = other
        .request(
            RemotingCommand::request(RequestCode::HEART_BEAT).with_body(hb.encode()),
            T,
        )
        .await
        .unwrap();
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    let first = other.request(pull_request(), T).await.unwrap();
    assert_eq!(first.response_code(), ResponseCode::SUCCESS);
    let response_bytes = first.body.len();
    assert!(response_bytes >= 4 * BODY, "{response_bytes} bytes pulled");

    let rss_before = rss_kib();
    // 100000 pulls (30 MB of requests, more than the sockets' buffers hold) are answered with
    // over 20 GB; the broker must not try.
    const N: usize = 100_000;
    // Generous: the default high water mark is 64 KiB; the rest is the responses of requests
    // read before the queue passed it, the allocator's slack and the other client.
    const BOUND_KIB: u64 = 256 * 1024;
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let writer = tokio::spawn(async move {
        let mut sent = 0;
        while sent < N {
            let mut req = pull_request();
            req.opaque = i32::try_from(sent).unwrap() + 1;
            let frame = encode_to_bytes(&req, SerializeType::Json).unwrap();
            // The socket accepting nothing for 3 s means the broker stopped reading.
            match tokio::time::timeout(Duration::from_secs(3), slow.write_all(&frame)).await {
                Ok(Ok(())) => sent += 1,
                Ok(Err(_)) | Err(_) => break,
            }
        }
        (sent, slow)
    });
    let mut max_rss = rss_before;
    let mut served = 0;
    while !writer.is_finished() {
        let resp = other.request(pull_request(), T).await.unwrap();
        assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
        assert_eq!(resp.body.len(), response_bytes);
        served += 1;
        max_rss = max_rss.max(rss_kib());
        assert!(
            max_rss.saturating_sub(rss_before) <= BOUND_KIB,
            "RSS grew from {rss_before} KiB to {max_rss} KiB for a client that does not read"
        );
    }
    let (sent, _slow) = writer.await.unwrap();
    println!(
        "broker slow reader: {sent} of {N} pulls (~{} KiB answers each) written before the broker \
         stopped reading; VmRSS {rss_before} KiB before, at most {max_rss} KiB while it piled \
         up (+{} KiB); the other client got {served} pulls answered meanwhile",
        response_bytes / 1024,
        max_rss - rss_before
    );
    assert!(
        sent < N,
        "the broker kept reading a client that does not read"
    );
    assert!(served > 0);
    stop.send(()).unwrap();
    server.await.unwrap();
}
