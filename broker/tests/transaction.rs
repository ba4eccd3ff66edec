//! Transactional messages over real sockets: COMMIT is delivered, ROLLBACK never is, UNKNOW leads
//! to a check-back on the producer's own connection that commits, and then it is delivered.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferromq_broker::Settings;
use ferromq_protocol::header::pull::{PullMessageRequestHeader, PullMessageResponseHeader};
use ferromq_protocol::header::send::SendMessageResponseHeader;
use ferromq_protocol::header::transaction::EndTransactionRequestHeader;
use ferromq_protocol::message::{decode_all, DecodeOptions, MessageId};
use ferromq_protocol::{CommandHeader, RemotingCommand, RequestCode, ResponseCode};
use ferromq_remoting::{Connection, ConnectionConfig};

const T: Duration = Duration::from_secs(10);

mod support;
use support::{half_request, heartbeat, CommitOnCheck};

#[tokio::test]
async fn commit_rollback_and_check_back() {
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
    let addr = format!("127.0.0.1:{port}");
    let checker = Arc::new(CommitOnCheck::new("TXG"));
    let producer = Connection::connect(&addr, checker.clone(), ConnectionConfig::default())
        .await
        .unwrap();
    producer
        .request(heartbeat("TXG", "TXC", "Tx"), T)
        .await
        .unwrap();

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
    let mut offset = 0;
    let deadline = Instant::now() + T;
    while bodies.len() < 2 {
        assert!(Instant::now() < deadline, "got only {bodies:?}");
        let h = PullMessageRequestHeader {
            consumer_group: "TXC".into(),
            topic: "Tx".into(),
            queue_id: 0,
            queue_offset: offset,
            max_msg_nums: 32,
            sys_flag: 2,
            suspend_timeout_millis: 2000,
            sub_version: 1,
            ..Default::default()
        };
        let resp = producer
            .request(
                RemotingCommand::request_with_header(RequestCode::PULL_MESSAGE, &h),
                T,
            )
            .await
            .unwrap();
        if resp.response_code() == ResponseCode::SUCCESS {
            for m in decode_all(&resp.body, &DecodeOptions::client()).unwrap() {
                assert_eq!(
                    m.sys_flag & 0xC,
                    0x8,
                    "delivered as a committed transaction message"
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
            offset = PullMessageResponseHeader::read_ext(&resp.ext_fields)
                .unwrap()
                .next_begin_offset;
        }
    }
    assert_eq!(bodies, ["commit", "unknown"], "rollback is never delivered");
    assert!(
        checker
            .checked
            .lock()
            .unwrap()
            .contains(&"Tx:unknown".to_owned()),
        "the check-back came with the real topic"
    );
    assert!(!checker
        .checked
        .lock()
        .unwrap()
        .iter()
        .any(|c| c.contains("commit") || c.contains("rollback")));
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}
