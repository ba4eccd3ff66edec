//! The `mqbroker` binary stopped and started again, gracefully and with `kill -9`, under
//! SYNC_FLUSH: every acknowledged message and the committed consumer offsets are still there,
//! and delayed, timer and half messages pending at the stop are delivered (or checked) after.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferromq_common::now_ms;
use ferromq_protocol::body::{ConsumerData, HeartbeatData, SubscriptionData};
use ferromq_protocol::header::offset::{
    QueryConsumerOffsetRequestHeader, QueryConsumerOffsetResponseHeader,
    UpdateConsumerOffsetRequestHeader,
};
use ferromq_protocol::header::pull::{PullMessageRequestHeader, PullMessageResponseHeader};
use ferromq_protocol::header::send::SendMessageRequestHeaderV2;
use ferromq_protocol::message::{decode_all, property, DecodeOptions, Properties};
use ferromq_protocol::{CommandHeader, RemotingCommand, RequestCode, ResponseCode};
use ferromq_remoting::{Connection, ConnectionConfig};
use support::{connect, mqbroker_conf, start_mqbroker};

const T: Duration = Duration::from_secs(10);

async fn send(c: &Connection, body: &str) {
    send_with(c, "Durable", body, &[]).await;
}

/// Sends `body` to `topic` queue 0 with the extra `properties`; asserts it was acknowledged.
async fn send_with(c: &Connection, topic: &str, body: &str, properties: &[(&str, String)]) {
    let mut props = Properties::new();
    props.insert(property::WAIT_STORE_MSG_OK, "true");
    for (k, v) in properties {
        props.insert(*k, v.as_str());
    }
    let h = SendMessageRequestHeaderV2 {
        producer_group: "PG".into(),
        topic: topic.into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 1,
        queue_id: 0,
        born_timestamp: 1,
        properties: Some(props.encode()),
        ..Default::default()
    };
    let req = RemotingCommand::request_with_header(RequestCode::SEND_MESSAGE_V2, &h)
        .with_body(Bytes::from(body.to_owned()));
    let resp = c.request(req, T).await.unwrap();
    assert_eq!(
        resp.response_code(),
        ResponseCode::SUCCESS,
        "acknowledged under SYNC_FLUSH"
    );
}

async fn all_bodies(c: &Connection) -> Vec<String> {
    bodies_of(c, "Durable").await
}

/// Every message of `topic` queue 0 (pulled as group `G`), in order.
async fn bodies_of(c: &Connection, topic: &str) -> Vec<String> {
    let hb = HeartbeatData {
        client_id: "t@1".into(),
        consumer_data_set: vec![ConsumerData {
            group_name: "G".into(),
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
    let mut bodies = Vec::new();
    let mut offset = 0;
    let deadline = Instant::now() + T;
    loop {
        let h = PullMessageRequestHeader {
            consumer_group: "G".into(),
            topic: topic.into(),
            queue_id: 0,
            queue_offset: offset,
            max_msg_nums: 32,
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
        if resp.response_code() != ResponseCode::SUCCESS {
            // Recovery re-dispatches at start; a freshly started broker may still be catching up.
            if Instant::now() < deadline
                && resp.response_code() == ResponseCode::PULL_NOT_FOUND
                && bodies.is_empty()
            {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
            return bodies;
        }
        for m in decode_all(&resp.body, &DecodeOptions::client()).unwrap() {
            bodies.push(String::from_utf8(m.body.to_vec()).unwrap());
        }
        offset = PullMessageResponseHeader::read_ext(&resp.ext_fields)
            .unwrap()
            .next_begin_offset;
    }
}

async fn commit(c: &Connection, offset: i64) {
    let h = UpdateConsumerOffsetRequestHeader {
        consumer_group: "G".into(),
        topic: "Durable".into(),
        queue_id: 0,
        commit_offset: offset,
        ..Default::default()
    };
    c.request(
        RemotingCommand::request_with_header(RequestCode::UPDATE_CONSUMER_OFFSET, &h),
        T,
    )
    .await
    .unwrap();
}

async fn committed(c: &Connection) -> i64 {
    let h = QueryConsumerOffsetRequestHeader {
        consumer_group: "G".into(),
        topic: "Durable".into(),
        queue_id: 0,
        set_zero_if_not_found: Some(false),
        ..Default::default()
    };
    let resp = c
        .request(
            RemotingCommand::request_with_header(RequestCode::QUERY_CONSUMER_OFFSET, &h),
            T,
        )
        .await
        .unwrap();
    assert_eq!(
        resp.response_code(),
        ResponseCode::SUCCESS,
        "{:?}",
        resp.remark
    );
    QueryConsumerOffsetResponseHeader::read_ext(&resp.ext_fields)
        .unwrap()
        .offset
}

/// Waits until the consumer offset file on disk holds `offset` for queue 0.
fn wait_offset_persisted(dir: &Path, offset: i64) {
    let path = dir.join("store").join("config").join("consumerOffset.json");
    let deadline = Instant::now() + T;
    while !std::fs::read_to_string(&path)
        .is_ok_and(|s| s.contains(&format!("0:{offset}")) || s.contains(&format!("\"0\":{offset}")))
    {
        assert!(Instant::now() < deadline, "offset {offset} never persisted");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test]
async fn acknowledged_messages_and_offsets_survive_graceful_stop_and_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, conf) = sync_flush_conf(dir.path(), "flushConsumerOffsetInterval=100\n");

    let mut broker = start_mqbroker(&conf);
    let c = connect(&addr).await;
    for i in 0..20 {
        send(&c, &format!("a{i}")).await;
    }
    commit(&c, 7).await;
    wait_offset_persisted(dir.path(), 7);
    Command::new("kill")
        .args(["-TERM", &broker.id().to_string()])
        .status()
        .unwrap();
    assert!(broker.wait().unwrap().success(), "graceful stop");
    assert!(!dir.path().join("store").join("abort").exists());

    let mut broker = start_mqbroker(&conf);
    let c = connect(&addr).await;
    assert_eq!(
        all_bodies(&c).await,
        (0..20).map(|i| format!("a{i}")).collect::<Vec<_>>()
    );
    assert_eq!(committed(&c).await, 7);
    for i in 0..20 {
        send(&c, &format!("b{i}")).await;
    }
    commit(&c, 33).await;
    wait_offset_persisted(dir.path(), 33);
    broker.kill().unwrap(); // SIGKILL
    broker.wait().unwrap();

    let mut broker = start_mqbroker(&conf);
    let c = connect(&addr).await;
    let expected: Vec<String> = (0..20)
        .map(|i| format!("a{i}"))
        .chain((0..20).map(|i| format!("b{i}")))
        .collect();
    assert_eq!(
        all_bodies(&c).await,
        expected,
        "every acknowledged message after kill -9"
    );
    assert_eq!(committed(&c).await, 33);
    broker.kill().unwrap();
    broker.wait().unwrap();
}

/// A free port and a SYNC_FLUSH broker config in `dir` using it, plus `extra` lines.
fn sync_flush_conf(dir: &Path, extra: &str) -> (String, PathBuf) {
    mqbroker_conf(
        dir,
        "restart-a",
        &format!("flushDiskType=SYNC_FLUSH\n{extra}"),
    )
}

#[tokio::test]
async fn pending_delayed_timer_and_half_messages_survive_graceful_stop_and_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    // 2 s delays; half messages checked from 1 s on, but nobody answers until the end.
    let (addr, conf) = sync_flush_conf(
        dir.path(),
        "messageDelayLevel=2s\ntransactionTimeOut=1000\ntransactionCheckInterval=300\n\
         transactionCheckMax=1000\n",
    );
    let mut due = std::collections::BTreeMap::new();
    for round in ["graceful", "kill9"] {
        let mut broker = start_mqbroker(&conf);
        let c = connect(&addr).await;
        let sent = now_ms();
        send_with(
            &c,
            "Pending",
            &format!("{round}-delayed"),
            &[(property::DELAY_TIME_LEVEL, "1".to_owned())],
        )
        .await;
        send_with(
            &c,
            "Pending",
            &format!("{round}-timer"),
            &[(property::TIMER_DELAY_SEC, "2".to_owned())],
        )
        .await;
        let resp = c
            .request(
                support::half_request("TXG", "Pending", &format!("{round}-half")),
                T,
            )
            .await
            .unwrap();
        assert_eq!(
            resp.response_code(),
            ResponseCode::SUCCESS,
            "{:?}",
            resp.remark
        );
        due.insert(format!("{round}-delayed"), sent + 2000);
        due.insert(format!("{round}-timer"), sent + 2000);
        due.insert(format!("{round}-half"), 0);
        // Stopped at once: nothing is due yet and no producer answered a check-back.
        if round == "graceful" {
            Command::new("kill")
                .args(["-TERM", &broker.id().to_string()])
                .status()
                .unwrap();
            assert!(broker.wait().unwrap().success(), "graceful stop");
        } else {
            broker.kill().unwrap(); // SIGKILL
            broker.wait().unwrap();
        }
    }

    let mut broker = start_mqbroker(&conf);
    let checker = Arc::new(support::CommitOnCheck::new("TXG"));
    let producer = Connection::connect(&addr, checker.clone(), ConnectionConfig::default())
        .await
        .unwrap();
    producer
        .request(support::heartbeat("TXG", "TXC", "Pending"), T)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut got = bodies_of(&producer, "Pending").await;
    while got.len() < due.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await; // polling, bounded by the deadline
        got = bodies_of(&producer, "Pending").await;
    }
    let arrived = now_ms();
    let mut sorted = got.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        due.keys().cloned().collect::<Vec<_>>(),
        "each pending message delivered exactly once after the restarts"
    );
    let mut checked = checker.checked();
    checked.sort();
    checked.dedup();
    assert_eq!(checked, ["Pending:graceful-half", "Pending:kill9-half"]);
    for (body, due) in &due {
        assert!(arrived >= *due, "{body} delivered before it was due");
    }
    broker.kill().unwrap();
    broker.wait().unwrap();
}
