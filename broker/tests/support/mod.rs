//! Pieces shared by the broker's socket tests: a broker on a free port (in-process, or the
//! `mqbroker` binary as a process), the requests they send, and a transactional producer that
//! commits on check-back.
#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferromq_broker::Settings;
use ferromq_protocol::header::offset::{GetMaxOffsetRequestHeader, GetMaxOffsetResponseHeader};
use ferromq_protocol::header::pull::PullMessageRequestHeader;
use ferromq_protocol::header::query::QueryMessageRequestHeader;
use ferromq_protocol::message::MessageExt;
use ferromq_protocol::ResponseCode;
use ferromq_remoting::{ConnectionConfig, IgnoreRequests};

use bytes::Bytes;
use ferromq_common::now_ms;
use ferromq_protocol::body::{ConsumerData, HeartbeatData, ProducerData, SubscriptionData};
use ferromq_protocol::header::send::SendMessageRequestHeaderV2;
use ferromq_protocol::header::transaction::{
    CheckTransactionStateRequestHeader, EndTransactionRequestHeader,
};
use ferromq_protocol::message::{decode_all, property, DecodeOptions, Properties};
use ferromq_protocol::{CommandHeader, RemotingCommand, RequestCode};
use ferromq_remoting::{Connection, Handler};

/// A producer of `group` that answers every check-back with COMMIT, as a real transaction
/// checker would, and records `topic:body` of each message it was asked about.
#[derive(Debug)]
pub struct CommitOnCheck {
    pub group: String,
    pub checked: Mutex<Vec<String>>,
}

impl CommitOnCheck {
    pub fn new(group: &str) -> CommitOnCheck {
        CommitOnCheck {
            group: group.to_owned(),
            checked: Mutex::default(),
        }
    }

    pub fn checked(&self) -> Vec<String> {
        self.checked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Handler for CommitOnCheck {
    async fn handle(&self, conn: &Connection, req: RemotingCommand) -> Option<RemotingCommand> {
        if req.request_code() != RequestCode::CHECK_TRANSACTION_STATE {
            return None;
        }
        let h = CheckTransactionStateRequestHeader::read_ext(&req.ext_fields).ok()?;
        let m = decode_all(&req.body, &DecodeOptions::client())
            .ok()?
            .pop()?;
        self.checked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(format!("{}:{}", m.topic, String::from_utf8_lossy(&m.body)));
        let end = EndTransactionRequestHeader {
            producer_group: self.group.clone(),
            tran_state_table_offset: h.tran_state_table_offset,
            commit_log_offset: h.commit_log_offset,
            commit_or_rollback: 8,
            from_transaction_check: Some(true),
            msg_id: h.msg_id.unwrap_or_default(),
            ..Default::default()
        };
        let _ = conn
            .request_oneway(RemotingCommand::request_with_header(
                RequestCode::END_TRANSACTION,
                &end,
            ))
            .await;
        None
    }
}

/// A prepared (half) message of producer `group` to `topic` queue 0, `UNIQ_KEY` `UNIQ-<body>`.
pub fn half_request(group: &str, topic: &str, body: &str) -> RemotingCommand {
    let mut props = Properties::new();
    props.insert(property::TRANSACTION_PREPARED, "true");
    props.insert(property::PRODUCER_GROUP, group);
    props.insert(
        property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
        format!("UNIQ-{body}"),
    );
    let h = SendMessageRequestHeaderV2 {
        producer_group: group.into(),
        topic: topic.into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 1,
        queue_id: 0,
        sys_flag: 0x4,
        properties: Some(props.encode()),
        ..Default::default()
    };
    RemotingCommand::request_with_header(RequestCode::SEND_MESSAGE_V2, &h)
        .with_body(Bytes::from(body.to_owned()))
}

/// A heartbeat of producer `group` and of consumer `consumer_group` subscribed to `topic`.
pub fn heartbeat(group: &str, consumer_group: &str, topic: &str) -> RemotingCommand {
    let hb = HeartbeatData {
        client_id: format!("127.0.0.1@{group}"),
        producer_data_set: vec![ProducerData {
            group_name: group.into(),
        }],
        consumer_data_set: vec![ConsumerData {
            group_name: consumer_group.into(),
            subscription_data_set: vec![SubscriptionData::tag(topic, "*", 1)],
            ..Default::default()
        }],
        ..Default::default()
    };
    RemotingCommand::request(RequestCode::HEART_BEAT).with_body(hb.encode())
}

pub const T: Duration = Duration::from_secs(10);

pub struct TestBroker {
    pub addr: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl TestBroker {
    pub async fn start(tweak: impl FnOnce(&mut Settings)) -> TestBroker {
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut settings = Settings::default();
        settings.broker.broker_name = "broker-t".to_owned();
        settings.broker.broker_ip1 = "127.0.0.1".to_owned();
        settings.broker.listen_port = port;
        settings.broker.namesrv_addr = String::new();
        settings.store = ferromq_store::StoreConfig {
            mapped_file_size_commit_log: 4 << 20,
            max_hash_slot_num: 1024,
            max_index_num: 4096,
            max_message_size: 64 * 1024,
            ..ferromq_store::StoreConfig::with_root(dir.path())
        };
        tweak(&mut settings);
        let broker = ferromq_broker::open(settings).await.unwrap();
        let (stop, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            ferromq_broker::run(broker, listener, None, async move {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        TestBroker {
            addr: format!("127.0.0.1:{port}"),
            stop: Some(stop),
            task: Some(task),
            _dir: dir,
        }
    }

    /// The store's root directory.
    pub fn root(&self) -> &std::path::Path {
        self._dir.path()
    }

    pub async fn client(&self) -> Connection {
        Connection::connect(
            &self.addr,
            Arc::new(IgnoreRequests),
            ConnectionConfig::default(),
        )
        .await
        .unwrap()
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.unwrap();
        }
    }
}

/// A SEND_MESSAGE_V2 of `body` (also its KEYS) to `topic` queue 0 with the timer property
/// `property` (TIMER_DELAY_MS, TIMER_DELAY_SEC, TIMER_DELIVER_MS) set to `value`.
pub fn timer_request(
    topic: &str,
    body: &str,
    property: &str,
    value: impl std::fmt::Display,
) -> RemotingCommand {
    let mut props = Properties::new();
    props.insert(property, value.to_string());
    props.insert(property::KEYS, body);
    let h = SendMessageRequestHeaderV2 {
        producer_group: "PG".to_owned(),
        topic: topic.to_owned(),
        default_topic: "TBW102".to_owned(),
        default_topic_queue_nums: 1,
        queue_id: 0,
        born_timestamp: now_ms(),
        properties: Some(props.encode()),
        ..Default::default()
    };
    RemotingCommand::request_with_header(RequestCode::SEND_MESSAGE_V2, &h)
        .with_body(Bytes::copy_from_slice(body.as_bytes()))
}

/// A send header of producer group `PG` to `topic` queue 0 (auto-created with 4 queues) with the
/// properties text `properties`.
pub fn send_header(topic: &str, properties: String) -> SendMessageRequestHeaderV2 {
    SendMessageRequestHeaderV2 {
        producer_group: "PG".to_owned(),
        topic: topic.to_owned(),
        default_topic: "TBW102".to_owned(),
        default_topic_queue_nums: 4,
        queue_id: 0,
        born_timestamp: 1_700_000_000_000,
        properties: Some(properties),
        reconsume_times: Some(0),
        ..Default::default()
    }
}

pub fn send_request(
    topic: &str,
    queue_id: i32,
    body: &[u8],
    tag: &str,
    key: &str,
) -> RemotingCommand {
    let mut props = Properties::new();
    props.insert(property::TAGS, tag);
    props.insert(property::KEYS, key);
    props.insert(property::WAIT_STORE_MSG_OK, "true");
    let h = SendMessageRequestHeaderV2 {
        queue_id,
        ..send_header(topic, props.encode())
    };
    RemotingCommand::request_with_header(RequestCode::SEND_MESSAGE_V2, &h)
        .with_body(Bytes::copy_from_slice(body))
}

/// QUERY_MESSAGE for the messages of `topic` with key `key`, at any time, at most 32.
pub fn query_request(topic: &str, key: &str) -> RemotingCommand {
    let q = QueryMessageRequestHeader {
        topic: topic.into(),
        key: key.into(),
        max_num: 32,
        begin_timestamp: 0,
        end_timestamp: i64::MAX,
        ..Default::default()
    };
    RemotingCommand::request_with_header(RequestCode::QUERY_MESSAGE, &q)
}

/// Heartbeats one consumer of `group` subscribed to `topic` with `expr`.
pub async fn subscribe(conn: &Connection, group: &str, topic: &str, expr: &str) {
    let hb = HeartbeatData {
        client_id: "127.0.0.1@test".to_owned(),
        consumer_data_set: vec![ConsumerData {
            group_name: group.to_owned(),
            subscription_data_set: vec![SubscriptionData::tag(topic, expr, 1)],
            ..Default::default()
        }],
        ..Default::default()
    };
    let resp = conn
        .request(
            RemotingCommand::request(RequestCode::HEART_BEAT).with_body(hb.encode()),
            T,
        )
        .await
        .unwrap();
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
}

pub fn pull_request(
    group: &str,
    topic: &str,
    queue_id: i32,
    offset: i64,
    suspend_ms: i64,
) -> RemotingCommand {
    let h = PullMessageRequestHeader {
        consumer_group: group.to_owned(),
        topic: topic.to_owned(),
        queue_id,
        queue_offset: offset,
        max_msg_nums: 32,
        sys_flag: if suspend_ms > 0 { 2 } else { 0 },
        commit_offset: 0,
        suspend_timeout_millis: suspend_ms,
        sub_version: 1,
        ..Default::default()
    };
    RemotingCommand::request_with_header(RequestCode::PULL_MESSAGE, &h)
}

/// Sends are acknowledged before the dispatcher indexes them: waits for the queue to show `n`.
pub async fn wait_max_offset(c: &Connection, topic: &str, queue_id: i32, n: i64) {
    let deadline = Instant::now() + T;
    loop {
        let m = GetMaxOffsetRequestHeader {
            topic: topic.into(),
            queue_id,
            ..Default::default()
        };
        let req = RemotingCommand::request_with_header(RequestCode::GET_MAX_OFFSET, &m);
        let resp = c.request(req, T).await.unwrap();
        if GetMaxOffsetResponseHeader::read_ext(&resp.ext_fields)
            .unwrap()
            .offset
            == n
        {
            return;
        }
        assert!(Instant::now() < deadline, "dispatch did not catch up");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

pub fn messages(body: &Bytes) -> Vec<MessageExt> {
    decode_all(body, &DecodeOptions::client()).unwrap()
}

/// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP with `config`, the group's JSON.
pub fn update_group_request(config: &str) -> RemotingCommand {
    RemotingCommand::request(RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP)
        .with_body(Bytes::copy_from_slice(config.as_bytes()))
}

/// UPDATE_AND_CREATE_TOPIC for `topic` with `queues` read and write queues, read-write.
pub fn create_topic_request(topic: &str, queues: i32) -> RemotingCommand {
    let h = ferromq_protocol::header::admin::CreateTopicRequestHeader {
        topic: topic.to_owned(),
        default_topic: "TBW102".to_owned(),
        read_queue_nums: queues,
        write_queue_nums: queues,
        perm: 6,
        ..Default::default()
    };
    RemotingCommand::request_with_header(RequestCode::UPDATE_AND_CREATE_TOPIC, &h)
}

/// Writes a config file for the `mqbroker` binary in `dir`: broker `name` on a free port, no
/// name server, the store in `dir/store` with 1 MiB commitlog files, then the `extra` lines
/// (`key=value\n` each). Returns the broker's address and the file's path.
pub fn mqbroker_conf(dir: &Path, name: &str, extra: &str) -> (String, PathBuf) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let conf = dir.join("broker.properties");
    std::fs::write(
        &conf,
        format!(
            "brokerName={name}\nbrokerIP1=127.0.0.1\nlistenPort={port}\nnamesrvAddr=\n\
             storePathRootDir={}\nmappedFileSizeCommitLog=1048576\n{extra}",
            dir.join("store").display()
        ),
    )
    .unwrap();
    (format!("127.0.0.1:{port}"), conf)
}

/// Starts the `mqbroker` binary with the config file `conf` and waits for its "boot success"
/// line (the caller kills and reaps it).
pub fn start_mqbroker(conf: &Path) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mqbroker"))
        .args(["-c", conf.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains("boot success"), "{line}");
    child
}

/// A connection to the broker at `addr` that ignores the broker's requests.
pub async fn connect(addr: &str) -> Connection {
    Connection::connect(addr, Arc::new(IgnoreRequests), ConnectionConfig::default())
        .await
        .unwrap()
}
