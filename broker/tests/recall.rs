//! RECALL_MESSAGE (370) over a socket: the recall handle of a timer send, a recalled message
//! never delivered while the others are, and Apache's answers to bad recalls.

#![allow(clippy::unwrap_used)]

use ferromq_common::now_ms;
use ferromq_protocol::header::pull::PullMessageResponseHeader;
use ferromq_protocol::header::recall::{
    RecallHandle, RecallMessageRequestHeader, RecallMessageResponseHeader,
};
use ferromq_protocol::header::send::SendMessageResponseHeader;
use ferromq_protocol::message::{property, Properties};
use ferromq_protocol::{CommandHeader, RemotingCommand, RequestCode, ResponseCode};
use ferromq_remoting::Connection;

mod support;
use support::*;

/// Sends a timer message; its send answer header.
async fn send_timer(
    c: &Connection,
    topic: &str,
    body: &str,
    delay_ms: i64,
) -> SendMessageResponseHeader {
    let resp = c
        .request(
            timer_request(topic, body, property::TIMER_DELAY_MS, delay_ms),
            T,
        )
        .await
        .unwrap();
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS, "{resp:?}");
    SendMessageResponseHeader::read_ext(&resp.ext_fields).unwrap()
}

fn recall_request(topic: &str, handle: &str) -> RemotingCommand {
    let h = RecallMessageRequestHeader {
        producer_group: Some("PG".to_owned()),
        topic: topic.to_owned(),
        recall_handle: handle.to_owned(),
        broker_name: None,
    };
    RemotingCommand::request_with_header(RequestCode::RECALL_MESSAGE, &h)
}

async fn recall(c: &Connection, topic: &str, handle: &str) -> RemotingCommand {
    c.request(recall_request(topic, handle), T).await.unwrap()
}

/// Pulls `topic` queue 0 until a message with body `last` arrives; the bodies, in order.
async fn pull_until(c: &Connection, topic: &str, last: &str) -> Vec<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut bodies = Vec::new();
    let mut offset = 0;
    while !bodies.iter().any(|b| b == last) {
        assert!(
            std::time::Instant::now() < deadline,
            "{last} never arrived; got {bodies:?}"
        );
        let resp = c
            .request(pull_request("GR", topic, 0, offset, 2000), T)
            .await
            .unwrap();
        if resp.response_code() == ResponseCode::SUCCESS {
            for m in messages(&resp.body) {
                bodies.push(String::from_utf8(m.body.to_vec()).unwrap());
            }
        }
        offset = PullMessageResponseHeader::read_ext(&resp.ext_fields)
            .unwrap()
            .next_begin_offset;
    }
    bodies
}

#[tokio::test]
async fn a_recalled_timer_message_is_never_delivered() {
    let broker = TestBroker::start(|s| s.broker.recall_message_enable = true).await;
    let c = broker.client().await;
    subscribe(&c, "GR", "Recalled", "*").await;
    let sent_at = now_ms();
    let gone = send_timer(&c, "Recalled", "recalled", 1500).await;
    let kept = send_timer(&c, "Recalled", "kept", 2500).await;

    // The handle is Apache's HandleV1: topic, broker, delivery time + 1, unique id.
    let handle = RecallHandle::decode(gone.recall_handle.as_deref().unwrap()).unwrap();
    assert_eq!(handle.topic, "Recalled");
    assert_eq!(handle.broker_name, "broker-t");
    assert_eq!(Some(&handle.message_id), gone.transaction_id.as_ref());
    let ts: i64 = handle.timestamp.parse().unwrap();
    assert!(
        ts > sent_at + 1500 && ts <= now_ms() + 1501,
        "timestamp {ts} is the delivery time + 1"
    );

    let resp = recall(&c, "Recalled", gone.recall_handle.as_deref().unwrap()).await;
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS, "{resp:?}");
    let answer = RecallMessageResponseHeader::read_ext(&resp.ext_fields).unwrap();
    assert_eq!(answer.msg_id, handle.message_id);

    // "kept" is due after "recalled": once it is delivered, "recalled" was handled, and only
    // "kept" is in the queue.
    let bodies = pull_until(&c, "Recalled", "kept").await;
    assert_eq!(bodies, ["kept"]);

    // Too late now: Apache's ILLEGAL_OPERATION.
    let resp = recall(&c, "Recalled", kept.recall_handle.as_deref().unwrap()).await;
    assert_eq!(resp.response_code(), ResponseCode::ILLEGAL_OPERATION);
    assert!(resp
        .remark
        .unwrap_or_default()
        .contains("timestamp invalid"));
    broker.stop().await;
}

#[tokio::test]
async fn bad_recalls_get_apache_answers() {
    let broker = TestBroker::start(|s| s.broker.recall_message_enable = true).await;
    let c = broker.client().await;
    subscribe(&c, "GR", "RecallBad", "*").await;
    let sent = send_timer(&c, "RecallBad", "target", 2000).await;
    let good = sent.recall_handle.unwrap();
    let h = RecallHandle::decode(&good).unwrap();
    // Another topic that exists, for a handle naming it.
    let other = c
        .request(send_request("RecallOther", 0, b"x", "t", "k"), T)
        .await
        .unwrap();
    assert_eq!(other.response_code(), ResponseCode::SUCCESS);

    let forged = |f: &dyn Fn(&mut RecallHandle)| {
        let mut x = h.clone();
        f(&mut x);
        x.encode()
    };
    let far = (now_ms() + 10 * 24 * 3600 * 1000).to_string();
    let cases: Vec<(&str, String, &str, ResponseCode, &str)> = vec![
        (
            "not base64",
            "%%%".into(),
            "RecallBad",
            ResponseCode::ILLEGAL_OPERATION,
            "invalid",
        ),
        (
            "empty",
            String::new(),
            "RecallBad",
            ResponseCode::ILLEGAL_OPERATION,
            "invalid",
        ),
        (
            "wrong version",
            "djIgYSBiIGMgZA==".into(), // "v2 a b c d"
            "RecallBad",
            ResponseCode::ILLEGAL_OPERATION,
            "invalid",
        ),
        (
            "handle of another topic",
            forged(&|x| x.topic = "RecallOther".into()),
            "RecallBad",
            ResponseCode::ILLEGAL_OPERATION,
            "topic not match",
        ),
        (
            "another broker's handle",
            forged(&|x| x.broker_name = "broker-z".into()),
            "RecallBad",
            ResponseCode::ILLEGAL_OPERATION,
            "not available",
        ),
        (
            "past timestamp",
            forged(&|x| x.timestamp = "1000".into()),
            "RecallBad",
            ResponseCode::ILLEGAL_OPERATION,
            "timestamp invalid",
        ),
        (
            "timestamp past timerMaxDelaySec",
            forged(&|x| x.timestamp = far.clone()),
            "RecallBad",
            ResponseCode::ILLEGAL_OPERATION,
            "timestamp invalid",
        ),
        (
            "timestamp not a number",
            forged(&|x| x.timestamp = "soon".into()),
            "RecallBad",
            ResponseCode::ILLEGAL_OPERATION,
            "timestamp invalid",
        ),
        (
            // Stored as is, the id would give the marker the delete key of the message under
            // test, which this handle does not name.
            "message id smuggling a property",
            forged(&|x| {
                x.message_id = format!(
                    "0A00\u{2}{}\u{1}RecallBad+{}",
                    property::TIMER_DEL_UNIQKEY,
                    h.message_id
                )
            }),
            "RecallBad",
            ResponseCode::ILLEGAL_OPERATION,
            "invalid",
        ),
        (
            "unknown topic",
            forged(&|x| x.topic = "RecallNoSuchTopic".into()),
            "RecallNoSuchTopic",
            ResponseCode::TOPIC_NOT_EXIST,
            "not exist",
        ),
    ];
    for (what, handle, topic, want, remark) in cases {
        let resp = recall(&c, topic, &handle).await;
        assert_eq!(resp.response_code(), want, "{what}: {resp:?}");
        let text = resp.remark.unwrap_or_default();
        assert!(text.contains(remark), "{what}: remark {text:?}");
    }
    // So would a producer group holding a separator.
    let mut grouped = recall_request("RecallBad", &good);
    grouped.ext_fields.insert(
        "producerGroup",
        format!("PG\u{2}{}\u{1}x", property::TIMER_DEL_UNIQKEY),
    );
    let resp = c.request(grouped, T).await.unwrap();
    assert_eq!(resp.response_code(), ResponseCode::ILLEGAL_OPERATION);
    // A missing field is a bad header, not a crash.
    let mut bare = recall_request("RecallBad", &good);
    bare.ext_fields.remove("recallHandle");
    let resp = c.request(bare, T).await.unwrap();
    assert_ne!(resp.response_code(), ResponseCode::SUCCESS);
    // A handle for a message that does not exist is accepted, as Apache does, and recalls
    // nothing else.
    let resp = recall(
        &c,
        "RecallBad",
        &forged(&|x| x.message_id = "0A0000000000000000000000".into()),
    )
    .await;
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    // Producers cannot write a delete marker themselves.
    let mut marker = timer_request("RecallBad", "marker", property::TIMER_DELAY_MS, 1000);
    let mut props = Properties::new();
    props.insert(property::TIMER_DELAY_MS, "1000");
    props.insert(
        property::TIMER_DEL_UNIQKEY,
        format!("RecallBad+{}", h.message_id),
    );
    marker.ext_fields.insert("i", props.encode());
    let resp = c.request(marker, T).await.unwrap();
    assert_eq!(resp.response_code(), ResponseCode::MESSAGE_ILLEGAL);

    // None of that touched the message.
    assert_eq!(pull_until(&c, "RecallBad", "target").await, ["target"]);
    broker.stop().await;
}

#[tokio::test]
async fn recall_is_off_unless_enabled_and_plain_sends_carry_no_handle() {
    let broker = TestBroker::start(|_| {}).await;
    let c = broker.client().await;
    let sent = send_timer(&c, "RecallOff", "x", 60_000).await;
    let handle = sent.recall_handle.expect("a timer send answers a handle");
    let resp = recall(&c, "RecallOff", &handle).await;
    assert_eq!(resp.response_code(), ResponseCode::NO_PERMISSION);
    assert!(resp
        .remark
        .unwrap_or_default()
        .contains("recallMessageEnable"));
    let plain = c
        .request(send_request("RecallOff", 0, b"y", "t", "k"), T)
        .await
        .unwrap();
    let h = SendMessageResponseHeader::read_ext(&plain.ext_fields).unwrap();
    assert_eq!(h.recall_handle, None);
    broker.stop().await;
}

/// A recall survives `kill -9`: the real `mqbroker` is killed right after the recall, before
/// either message is due, and the restarted broker still drops the recalled one.
#[tokio::test]
async fn a_recall_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, conf) = mqbroker_conf(
        dir.path(),
        "recall-a",
        "flushDiskType=SYNC_FLUSH\nrecallMessageEnable=true\n",
    );

    let mut broker = start_mqbroker(&conf);
    let c = connect(&addr).await;
    let gone = send_timer(&c, "RecallKill", "recalled", 2500).await;
    send_timer(&c, "RecallKill", "kept", 3500).await;
    let resp = recall(&c, "RecallKill", gone.recall_handle.as_deref().unwrap()).await;
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS, "{resp:?}");
    broker.kill().unwrap(); // SIGKILL
    broker.wait().unwrap();

    let mut broker = start_mqbroker(&conf);
    let c = connect(&addr).await;
    subscribe(&c, "GR", "RecallKill", "*").await;
    assert_eq!(pull_until(&c, "RecallKill", "kept").await, ["kept"]);
    broker.kill().unwrap();
    broker.wait().unwrap();
}
