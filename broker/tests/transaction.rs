//! Transactional messages over real sockets: COMMIT is delivered, ROLLBACK never is, UNKNOW leads
//! to a check-back on the producer's own connection that commits, and then it is delivered.
//! Committed messages keep `TRAN_MSG=true` (as Apache's do), and a retry that still carries it is
//! not taken for a half message.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferromq_broker::Settings;
use ferromq_protocol::header::pull::{PullMessageRequestHeader, PullMessageResponseHeader};
use ferromq_protocol::header::send::{SendMessageRequestHeaderV2, SendMessageResponseHeader};
use ferromq_protocol::header::transaction::EndTransactionRequestHeader;
use ferromq_protocol::message::{
    decode_all, property, DecodeOptions, MessageExt, MessageId, Properties,
};
use ferromq_protocol::{CommandHeader, RemotingCommand, RequestCode, ResponseCode};
use ferromq_remoting::{Connection, ConnectionConfig};

const T: Duration = Duration::from_secs(10);

mod support;
use support::{half_request, heartbeat, CommitOnCheck};

/// A broker on a free port with fast transaction checks; send `()` to stop it.
struct TestBroker {
    addr: String,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<Result<(), ferromq_broker::BrokerError>>,
    _dir: tempfile::TempDir,
}

async fn start_broker() -> TestBroker {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut settings = Settings::default();
    settings.broker.broker_ip1 = "127.0.0.1".into();
    settings.broker.listen_port = port;
    settings.broker.namesrv_addr = String::new();
    settings.broker.transaction_check_interval = 200;
    settings.broker.transaction_time_out = 300;
    settings.store = ferromq_store::StoreConfig {
        mapped_file_size_commit_log: 4 << 20,
        max_hash_slot_num: 1024,
        max_index_num: 4096,
        ..ferromq_store::StoreConfig::with_root(dir.path())
    };
    let broker = ferromq_broker::open(settings).await.unwrap();
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(ferromq_broker::run(broker, listener, None, async move {
        let _ = rx.await;
    }));
    TestBroker {
        addr: format!("127.0.0.1:{port}"),
        stop,
        server,
        _dir: dir,
    }
}

impl TestBroker {
    async fn stop(self) {
        let _ = self.stop.send(());
        self.server.await.unwrap().unwrap();
    }
}

/// Pulls `topic` queue 0 from offset 0 until `want` messages came (10 s at most).
async fn pull(conn: &Connection, topic: &str, want: usize) -> Vec<MessageExt> {
    let mut got = Vec::new();
    let mut offset = 0;
    let deadline = Instant::now() + T;
    while got.len() < want {
        assert!(Instant::now() < deadline, "got only {got:?}");
        let h = PullMessageRequestHeader {
            consumer_group: "TXC".into(),
            topic: topic.into(),
            queue_id: 0,
            queue_offset: offset,
            max_msg_nums: 32,
            sys_flag: 2,
            suspend_timeout_millis: 2000,
            sub_version: 1,
            ..Default::default()
        };
        let resp = conn
            .request(
                RemotingCommand::request_with_header(RequestCode::PULL_MESSAGE, &h),
                T,
            )
            .await
            .unwrap();
        if resp.response_code() == ResponseCode::SUCCESS {
            got.extend(decode_all(&resp.body, &DecodeOptions::client()).unwrap());
            offset = PullMessageResponseHeader::read_ext(&resp.ext_fields)
                .unwrap()
                .next_begin_offset;
        }
    }
    got
}

/// A connection of producer group TXG and consumer group TXC (subscribed to `Tx`) whose
/// check-backs [`CommitOnCheck`] answers.
async fn connect(addr: &str) -> (Connection, Arc<CommitOnCheck>) {
    let checker = Arc::new(CommitOnCheck::new("TXG"));
    let producer = Connection::connect(addr, checker.clone(), ConnectionConfig::default())
        .await
        .unwrap();
    producer
        .request(heartbeat("TXG", "TXC", "Tx"), T)
        .await
        .unwrap();
    (producer, checker)
}

#[tokio::test]
async fn commit_rollback_and_check_back() {
    let broker = start_broker().await;
    let (producer, checker) = connect(&broker.addr).await;

    let mut half_offsets = std::collections::HashMap::new();
    for (body, decision) in [("commit", 8), ("rollback", 12), ("unknown", 0)] {
        let req = half_request("TXG", "Tx", body);
        let resp = producer.request(req, T).await.unwrap();
        assert_eq!(
            resp.response_code(),
            ResponseCode::SUCCESS,
            "{:?}",
            resp.remark
        );
        let sent = SendMessageResponseHeader::read_ext(&resp.ext_fields).unwrap();
        half_offsets.insert(body, sent.msg_id.parse::<MessageId>().unwrap().offset);
        let end = EndTransactionRequestHeader {
            producer_group: "TXG".into(),
            tran_state_table_offset: sent.queue_offset,
            commit_log_offset: sent.msg_id.parse::<MessageId>().unwrap().offset,
            commit_or_rollback: decision,
            msg_id: format!("UNIQ-{body}"),
            ..Default::default()
        };
        producer
            .request_oneway(RemotingCommand::request_with_header(
                RequestCode::END_TRANSACTION,
                &end,
            ))
            .await
            .unwrap();
    }

    // Consume the real topic until the committed and the checked-back messages are there.
    let mut bodies = Vec::new();
    for m in pull(&producer, "Tx", 2).await {
        assert_eq!(
            m.sys_flag & 0xC,
            0x8,
            "delivered as a committed transaction message"
        );
        assert_eq!(
            m.properties.value(property::TRANSACTION_PREPARED),
            Some("true"),
            "committed messages keep TRAN_MSG, as Apache's do"
        );
        let body = String::from_utf8(m.body.to_vec()).unwrap();
        if body == "commit" {
            assert_eq!(
                m.prepared_transaction_offset, half_offsets["commit"],
                "points at its half message"
            );
        }
        bodies.push(body);
    }
    assert_eq!(bodies, ["commit", "unknown"], "rollback is never delivered");
    let checked = checker.checked();
    assert!(
        checked.contains(&"Tx:unknown".to_owned()),
        "the check-back came with the real topic"
    );
    assert!(!checked
        .iter()
        .any(|c| c.contains("commit") || c.contains("rollback")));
    broker.stop().await;
}

/// The Java client's fallback when CONSUMER_SEND_MSG_BACK fails re-sends the consumed message
/// with all its properties: a committed transactional message's `TRAN_MSG=true` (so the client
/// also sets the prepared bit), plus reconsume times and a delay level. As in Apache's
/// SendMessageProcessor that is no half message; it is delivered after its delay, as a normal one.
#[tokio::test]
async fn a_retry_carrying_tran_msg_is_not_a_half_message() {
    let broker = start_broker().await;
    let (conn, checker) = connect(&broker.addr).await;
    let mut props = Properties::new();
    props.insert(property::TRANSACTION_PREPARED, "true");
    props.insert(property::PRODUCER_GROUP, "TXG");
    props.insert(property::DELAY_TIME_LEVEL, "1");
    props.insert(property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX, "UNIQ-retry");
    let h = SendMessageRequestHeaderV2 {
        producer_group: "TXG".into(),
        topic: "Tx".into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 1,
        queue_id: 0,
        sys_flag: 0x4,
        properties: Some(props.encode()),
        reconsume_times: Some(1),
        ..Default::default()
    };
    let req = RemotingCommand::request_with_header(RequestCode::SEND_MESSAGE_V2, &h)
        .with_body(Bytes::from("retry"));
    let resp = conn.request(req, T).await.unwrap();
    assert_eq!(
        resp.response_code(),
        ResponseCode::SUCCESS,
        "{:?}",
        resp.remark
    );
    let got = pull(&conn, "Tx", 1).await;
    assert_eq!(got.len(), 1);
    assert_eq!(&got[0].body[..], b"retry");
    assert_eq!(got[0].sys_flag & 0xC, 0, "delivered as a normal message");
    assert_eq!(got[0].reconsume_times, 1);
    assert!(checker.checked().is_empty(), "no check-back");
    broker.stop().await;
}
