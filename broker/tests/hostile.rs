//! What a hostile client sends, over real sockets: internal topics, path-like names, forged
//! records at offsets into other records, huge counts and numbers at the edge of overflow. Each
//! request gets a refusal with a reason, and an ordinary message sent afterwards is still
//! delivered (nothing stalls the dispatcher).
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use bytes::Bytes;
use ferromq_protocol::body::{
    ConsumerData, HeartbeatData, LockBatchRequestBody, LockBatchResponseBody, MessageQueue,
    SubscriptionData,
};
use ferromq_protocol::header::client::ConsumerSendMsgBackRequestHeader;
use ferromq_protocol::header::offset::UpdateConsumerOffsetRequestHeader;
use ferromq_protocol::header::query::ViewMessageRequestHeader;
use ferromq_protocol::header::send::{SendMessageRequestHeaderV2, SendMessageResponseHeader};
use ferromq_protocol::header::transaction::EndTransactionRequestHeader;
use ferromq_protocol::message::{body_crc, property, MessageExt, MessageId, Properties};
use ferromq_protocol::{CommandHeader, RemotingCommand, RequestCode, ResponseCode};
use ferromq_remoting::Connection;

mod support;
use support::*;

async fn call(c: &Connection, req: RemotingCommand) -> RemotingCommand {
    c.request(req, T).await.unwrap()
}

fn send_with(topic: &str, props: &Properties, body: &[u8], reconsume: i32) -> RemotingCommand {
    let h = SendMessageRequestHeaderV2 {
        reconsume_times: Some(reconsume),
        ..send_header(topic, props.encode())
    };
    RemotingCommand::request_with_header(RequestCode::SEND_MESSAGE_V2, &h)
        .with_body(Bytes::copy_from_slice(body))
}

/// Sends one message to a fresh topic and pulls it back: the dispatcher still runs.
async fn canary_is_delivered(c: &Connection, topic: &str) {
    let resp = call(c, send_request(topic, 0, b"canary", "T", "k")).await;
    assert_eq!(
        resp.response_code(),
        ResponseCode::SUCCESS,
        "{:?}",
        resp.remark
    );
    subscribe(c, "CanaryGroup", topic, "*").await;
    let deadline = Instant::now() + T;
    loop {
        let resp = call(c, pull_request("CanaryGroup", topic, 0, 0, 1000)).await;
        if resp.response_code() == ResponseCode::SUCCESS {
            assert_eq!(&messages(&resp.body)[0].body[..], b"canary");
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the canary on {topic} was never delivered: {:?}",
            resp.response_code()
        );
    }
}

#[tokio::test]
async fn internal_topics_refuse_client_sends_and_delivery_goes_on() {
    let broker = TestBroker::start(|_| {}).await;
    let c = broker.client().await;
    // The probe that stalled every topic: a timer-topic record whose REAL_TOPIC is path-like.
    let mut props = Properties::new();
    props.insert(property::REAL_TOPIC, "a/b");
    props.insert(property::REAL_QUEUE_ID, "0");
    props.insert(property::TIMER_OUT_MS, "1");
    for topic in [
        "rmq_sys_wheel_timer",
        "rmq_sys_REVIVE_LOG_DefaultCluster",
        "SCHEDULE_TOPIC_XXXX",
        "RMQ_SYS_TRANS_HALF_TOPIC",
        "RMQ_SYS_TRANS_OP_HALF_TOPIC",
    ] {
        let resp = call(&c, send_with(topic, &props, b"x", 0)).await;
        assert_eq!(
            resp.response_code(),
            ResponseCode::NO_PERMISSION,
            "{topic}: {:?}",
            resp.remark
        );
        assert!(resp.remark.unwrap().contains("forbidden"));
    }
    // REAL_TOPIC on an ordinary topic is only a property: stored, never followed.
    let resp = call(&c, send_with("Plain", &props, b"x", 0)).await;
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    canary_is_delivered(&c, "Canary").await;
    broker.stop().await;
}

#[tokio::test]
async fn path_like_names_are_refused_wherever_a_name_can_reach_a_file() {
    let broker = TestBroker::start(|_| {}).await;
    let c = broker.client().await;
    let group = r#"{"groupName":"x/y","consumeEnable":true}"#;
    let resp = call(&c, update_group_request(group)).await;
    assert_eq!(resp.response_code(), ResponseCode::INVALID_PARAMETER);
    assert!(resp.remark.unwrap().contains("illegal characters"));

    let hb = HeartbeatData {
        client_id: "127.0.0.1@hostile".to_owned(),
        consumer_data_set: vec![ConsumerData {
            group_name: "../../etc".to_owned(),
            subscription_data_set: vec![SubscriptionData::tag("T", "*", 1)],
            ..Default::default()
        }],
        ..Default::default()
    };
    let resp = call(
        &c,
        RemotingCommand::request(RequestCode::HEART_BEAT).with_body(hb.encode()),
    )
    .await;
    assert_eq!(resp.response_code(), ResponseCode::INVALID_PARAMETER);

    let resp = call(&c, send_request("Orders", 0, b"o", "T", "k")).await;
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    let resp = call(&c, pull_request("x/y", "Orders", 0, 0, 0)).await;
    assert_eq!(resp.response_code(), ResponseCode::INVALID_PARAMETER);

    for topic in ["%DLQ%x/y", "%RETRY%x/y", "a/b", ".."] {
        let resp = call(&c, send_request(topic, 0, b"x", "T", "k")).await;
        assert_eq!(
            resp.response_code(),
            ResponseCode::INVALID_PARAMETER,
            "{topic}"
        );
        let resp = call(&c, create_topic_request(topic, 1)).await;
        assert_eq!(
            resp.response_code(),
            ResponseCode::INVALID_PARAMETER,
            "{topic}"
        );
    }
    canary_is_delivered(&c, "Canary").await;
    broker.stop().await;
}

#[tokio::test]
async fn huge_counts_are_capped_or_refused() {
    let broker = TestBroker::start(|s| s.broker.topic_auto_create_max_per_second = 1).await;
    let c = broker.client().await;
    let resp = call(&c, create_topic_request("Wide", 1_000_000)).await;
    assert_eq!(resp.response_code(), ResponseCode::INVALID_PARAMETER);
    assert!(resp.remark.unwrap().contains("maxTopicQueueNums"));
    let resp = call(&c, create_topic_request("Wide", 4)).await;
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    // A group whose retry topic would get billions of queues (every listing of that topic's
    // queues would then loop for minutes) is refused; its retry topic never exists.
    let group = |retry_queue_nums: i64| {
        RemotingCommand::request(RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP).with_body(
            format!(r#"{{"groupName":"WideRetry","retryQueueNums":{retry_queue_nums}}}"#)
                .into_bytes(),
        )
    };
    let resp = call(&c, group(i64::from(i32::MAX))).await;
    assert_eq!(resp.response_code(), ResponseCode::INVALID_PARAMETER);
    assert!(resp.remark.unwrap().contains("maxTopicQueueNums"));
    assert_eq!(
        call(&c, group(2)).await.response_code(),
        ResponseCode::SUCCESS
    );

    // A pull asking for i32::MAX messages gets at most maxTransferCountOnMessageInMemory (32).
    for i in 0..40 {
        let resp = call(
            &c,
            send_request("Wide", 0, format!("m{i}").as_bytes(), "T", "k"),
        )
        .await;
        assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    }
    wait_max_offset(&c, "Wide", 0, 40).await;
    subscribe(&c, "G", "Wide", "*").await;
    let mut pull = pull_request("G", "Wide", 0, 0, 0);
    pull.ext_fields.insert("maxMsgNums", i32::MAX.to_string());
    let resp = call(&c, pull).await;
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    assert_eq!(messages(&resp.body).len(), 32);

    // Offsets only for topics and queues that exist.
    let commit = |topic: &str, queue_id: i32| {
        RemotingCommand::request_with_header(
            RequestCode::UPDATE_CONSUMER_OFFSET,
            &UpdateConsumerOffsetRequestHeader {
                consumer_group: "G".to_owned(),
                topic: topic.to_owned(),
                queue_id,
                commit_offset: 1,
                ..Default::default()
            },
        )
    };
    assert_eq!(
        call(&c, commit("NoSuchTopic", 0)).await.response_code(),
        ResponseCode::TOPIC_NOT_EXIST
    );
    assert_eq!(
        call(&c, commit("Wide", 999)).await.response_code(),
        ResponseCode::SYSTEM_ERROR
    );
    assert_eq!(
        call(&c, commit("Wide", 3)).await.response_code(),
        ResponseCode::SUCCESS
    );

    // Locks only for queues that exist.
    let mut mq_set = std::collections::BTreeSet::new();
    for q in 0..6 {
        mq_set.insert(MessageQueue {
            broker_name: "broker-t".to_owned(),
            topic: "Wide".to_owned(),
            queue_id: q,
        });
    }
    mq_set.insert(MessageQueue {
        broker_name: "broker-t".to_owned(),
        topic: "Invented".to_owned(),
        queue_id: 0,
    });
    let lock = LockBatchRequestBody {
        client_id: "c1".to_owned(),
        consumer_group: "G".to_owned(),
        mq_set,
        ..Default::default()
    };
    let resp = call(
        &c,
        RemotingCommand::request(RequestCode::LOCK_BATCH_MQ).with_body(lock.encode()),
    )
    .await;
    let held = LockBatchResponseBody::decode(&resp.body)
        .unwrap()
        .lock_ok_mq_set;
    assert_eq!(held.len(), 4, "{held:?}");

    // A heartbeat naming more groups than heartbeatMaxGroups (1024) is refused.
    let hb = HeartbeatData {
        client_id: "127.0.0.1@many".to_owned(),
        consumer_data_set: (0..1100)
            .map(|i| ConsumerData {
                group_name: format!("G{i}"),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    let resp = call(
        &c,
        RemotingCommand::request(RequestCode::HEART_BEAT).with_body(hb.encode()),
    )
    .await;
    assert_eq!(resp.response_code(), ResponseCode::SYSTEM_ERROR);
    assert!(resp.remark.unwrap().contains("heartbeatMaxGroups"));

    // Auto-creation at one topic a second: a burst of sends to new topics is refused in part.
    let mut busy = 0;
    for i in 0..10 {
        let resp = call(&c, send_request(&format!("Auto{i}"), 0, b"a", "T", "k")).await;
        match resp.response_code() {
            ResponseCode::SUCCESS => {}
            ResponseCode::SYSTEM_BUSY => {
                assert!(resp.remark.unwrap().contains("topicAutoCreateMaxPerSecond"));
                busy += 1;
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(busy >= 1, "no auto-creation was refused");
    broker.stop().await;
}

/// The commitlog offset of a send's message.
fn offset_of(resp: &RemotingCommand) -> i64 {
    let h = SendMessageResponseHeader::read_ext(&resp.ext_fields).unwrap();
    h.msg_id.parse::<MessageId>().unwrap().offset
}

/// A record of the transaction half topic whose commit would store a message in `Victim`,
/// claiming to be stored at `at`.
fn forged_half_record(at: i64) -> Bytes {
    let mut props = Properties::new();
    props.insert(property::REAL_TOPIC, "Victim");
    props.insert(property::REAL_QUEUE_ID, "0");
    props.insert(property::PRODUCER_GROUP, "PG");
    let body = Bytes::from_static(b"forged");
    MessageExt {
        topic: "RMQ_SYS_TRANS_HALF_TOPIC".to_owned(),
        body_crc: body_crc(&body),
        body,
        properties: props,
        commit_log_offset: at,
        queue_offset: 0,
        ..MessageExt::default()
    }
    .encode_to_bytes()
    .unwrap()
}

#[tokio::test]
async fn offsets_into_records_are_refused() {
    let broker = TestBroker::start(|_| {}).await;
    let c = broker.client().await;
    let resp = call(&c, create_topic_request("Victim", 1)).await;
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);

    // A first message with a placeholder forged record tells where bodies land; the second one
    // carries a forged record that names its own position correctly.
    let props = Properties::new();
    let first = call(&c, send_with("Carrier", &props, &forged_half_record(0), 0)).await;
    assert_eq!(first.response_code(), ResponseCode::SUCCESS);
    let first_at = offset_of(&first);
    let view = |offset: i64| {
        RemotingCommand::request_with_header(
            RequestCode::VIEW_MESSAGE_BY_ID,
            &ViewMessageRequestHeader {
                offset,
                ..Default::default()
            },
        )
    };
    let record = call(&c, view(first_at)).await;
    assert_eq!(record.response_code(), ResponseCode::SUCCESS);
    let body_pos = record
        .body
        .windows(forged_half_record(0).len())
        .position(|w| w == &forged_half_record(0)[..])
        .unwrap() as i64;
    let forged_at = first_at + record.body.len() as i64 + body_pos;
    let second = call(
        &c,
        send_with("Carrier", &props, &forged_half_record(forged_at), 0),
    )
    .await;
    assert_eq!(offset_of(&second), first_at + record.body.len() as i64);

    let resp = call(&c, view(forged_at)).await;
    assert_eq!(resp.response_code(), ResponseCode::SYSTEM_ERROR);
    let remark = resp.remark.unwrap();
    assert!(remark.contains("not the start of a record"), "{remark}");
    let resp = call(&c, view(first_at + 1)).await;
    assert_eq!(resp.response_code(), ResponseCode::SYSTEM_ERROR);

    let end = EndTransactionRequestHeader {
        producer_group: "PG".to_owned(),
        tran_state_table_offset: 0,
        commit_log_offset: forged_at,
        commit_or_rollback: 8,
        ..Default::default()
    };
    let resp = call(
        &c,
        RemotingCommand::request_with_header(RequestCode::END_TRANSACTION, &end),
    )
    .await;
    assert_eq!(
        resp.response_code(),
        ResponseCode::SYSTEM_ERROR,
        "{:?}",
        resp.remark
    );
    let back = ConsumerSendMsgBackRequestHeader {
        offset: forged_at,
        group: "G".to_owned(),
        delay_level: -1,
        ..Default::default()
    };
    let resp = call(
        &c,
        RemotingCommand::request_with_header(RequestCode::CONSUMER_SEND_MSG_BACK, &back),
    )
    .await;
    assert_eq!(resp.response_code(), ResponseCode::SYSTEM_ERROR);
    // A send-back naming another topic than the message's is refused too.
    let back = ConsumerSendMsgBackRequestHeader {
        offset: first_at,
        group: "G".to_owned(),
        delay_level: -1,
        origin_topic: Some("Victim".to_owned()),
        ..Default::default()
    };
    let resp = call(
        &c,
        RemotingCommand::request_with_header(RequestCode::CONSUMER_SEND_MSG_BACK, &back),
    )
    .await;
    assert_eq!(resp.response_code(), ResponseCode::SYSTEM_ERROR);

    // Nothing reached the victim, and the real record is still readable by its id.
    canary_is_delivered(&c, "Canary").await;
    let resp = call(&c, pull_request("CanaryGroup", "Victim", 0, 0, 0)).await;
    assert_ne!(resp.response_code(), ResponseCode::SUCCESS);
    assert_eq!(
        call(&c, view(first_at)).await.response_code(),
        ResponseCode::SUCCESS
    );
    broker.stop().await;
}

#[tokio::test]
async fn numbers_at_the_edge_do_not_overflow() {
    let broker = TestBroker::start(|_| {}).await;
    let c = broker.client().await;
    subscribe(&c, "G", "Edge", "*").await;
    let resp = call(&c, send_with("Edge", &Properties::new(), b"e", i32::MAX)).await;
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    let at = offset_of(&resp);
    wait_max_offset(&c, "Edge", 0, 1).await;
    // reconsumeTimes i32::MAX, a limit above it, delay level chosen by the broker (3 + times).
    let back = ConsumerSendMsgBackRequestHeader {
        offset: at,
        group: "G".to_owned(),
        delay_level: 0,
        origin_topic: Some("Edge".to_owned()),
        max_reconsume_times: Some(i32::MAX),
        ..Default::default()
    };
    let mut req = RemotingCommand::request_with_header(RequestCode::CONSUMER_SEND_MSG_BACK, &back);
    req.version = ferromq_protocol::Version::V5_3_3.0;
    let resp = call(&c, req).await;
    assert_eq!(
        resp.response_code(),
        ResponseCode::SUCCESS,
        "{:?}",
        resp.remark
    );
    // The same with the DLQ path (reconsumeTimes at the group's limit).
    let back = ConsumerSendMsgBackRequestHeader {
        max_reconsume_times: Some(16),
        ..back
    };
    let mut req = RemotingCommand::request_with_header(RequestCode::CONSUMER_SEND_MSG_BACK, &back);
    req.version = ferromq_protocol::Version::V5_3_3.0;
    let resp = call(&c, req).await;
    assert_eq!(
        resp.response_code(),
        ResponseCode::SUCCESS,
        "{:?}",
        resp.remark
    );
    let deadline = Instant::now() + T;
    loop {
        subscribe(&c, "G", "%DLQ%G", "*").await;
        let resp = call(&c, pull_request("G", "%DLQ%G", 0, 0, 1000)).await;
        if resp.response_code() == ResponseCode::SUCCESS {
            assert_eq!(messages(&resp.body)[0].reconsume_times, i32::MAX);
            break;
        }
        assert!(Instant::now() < deadline, "{:?}", resp.response_code());
    }
    broker.stop().await;
}

#[tokio::test]
async fn a_broker_with_many_topics_registers_compressed() {
    let ns_dir = tempfile::tempdir().unwrap();
    let ns_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ns_addr = ns_listener.local_addr().unwrap().to_string();
    let config = ferromq_namesrv::NamesrvConfig {
        kv_config_path: ns_dir.path().join("kvConfig.json"),
        // 2 MiB: the JSON body of the 12,000 topics below (about 2.4 MB) does not fit.
        frame_max_length: 2 << 20,
        ..Default::default()
    };
    let (ns_stop, ns_stopped) = tokio::sync::oneshot::channel::<()>();
    let ns = tokio::spawn(ferromq_namesrv::run(ns_listener, config, async move {
        let _ = ns_stopped.await;
    }));
    const TOPICS: usize = 12_000;
    let broker = TestBroker::start(|s| {
        s.broker.namesrv_addr = ns_addr.clone();
        let dir = s.store.config_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let table: Vec<String> = (0..TOPICS)
            .map(|i| {
                format!(
                    r#""ManyTopics_{i:05}":{{"topicName":"ManyTopics_{i:05}","readQueueNums":4,"writeQueueNums":4,"perm":6,"topicFilterType":"SINGLE_TAG","topicSysFlag":0,"order":false,"attributes":{{}}}}"#
                )
            })
            .collect();
        let json = format!(
            r#"{{"dataVersion":{{"counter":1,"stateVersion":0,"timestamp":0}},"topicConfigTable":{{{}}}}}"#,
            table.join(",")
        );
        std::fs::write(dir.join("topics.json"), json).unwrap();
    })
    .await;
    let c = Connection::connect(
        &ns_addr,
        std::sync::Arc::new(ferromq_remoting::IgnoreRequests),
        ferromq_remoting::ConnectionConfig::default(),
    )
    .await
    .unwrap();
    let deadline = Instant::now() + T;
    loop {
        let resp = call(
            &c,
            RemotingCommand::request(RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER),
        )
        .await;
        let listed = ferromq_protocol::body::TopicList::decode(&resp.body)
            .map(|l| {
                l.topic_list
                    .iter()
                    .filter(|t| t.starts_with("ManyTopics_"))
                    .count()
            })
            .unwrap_or(0);
        if listed == TOPICS {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the name server lists {listed} of {TOPICS} topics"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    broker.stop().await;
    let _ = ns_stop.send(());
    ns.await.unwrap().unwrap();
}

/// SEND_REPLY_MESSAGE(_V2) (docs/request-reply.md): a header that does not decode, an internal
/// topic, a reply without REPLY_TO_CLIENT and one to a client the broker does not know each get
/// Apache's code and a reason; delivery goes on.
#[tokio::test]
async fn bad_replies_are_refused_with_a_reason() {
    let broker = TestBroker::start(|_| {}).await;
    let c = broker.client().await;
    // Missing header fields.
    let mut bad = RemotingCommand::request(RequestCode::SEND_REPLY_MESSAGE);
    bad.ext_fields.insert("topic", "DefaultCluster_REPLY_TOPIC");
    let resp = call(&c, bad.with_body(Bytes::from_static(b"x"))).await;
    assert_eq!(resp.response_code(), ResponseCode::SYSTEM_ERROR);
    assert!(
        resp.remark
            .as_deref()
            .unwrap_or("")
            .contains("bad request header"),
        "{:?}",
        resp.remark
    );
    let reply = |topic: &str, props: &Properties| {
        let mut req = send_with(topic, props, b"pong", 0);
        req.code = RequestCode::SEND_REPLY_MESSAGE_V2.0;
        req
    };
    let mut props = Properties::new();
    props.insert(property::MESSAGE_TYPE, "reply");
    props.insert(property::CORRELATION_ID, "c-1");
    let resp = call(&c, reply("SCHEDULE_TOPIC_XXXX", &props)).await;
    assert_eq!(resp.response_code(), ResponseCode::NO_PERMISSION);
    let resp = call(&c, reply("DefaultCluster_REPLY_TOPIC", &props)).await;
    assert_eq!(resp.response_code(), ResponseCode::SYSTEM_ERROR);
    assert!(
        resp.remark
            .as_deref()
            .unwrap_or("")
            .contains("REPLY_TO_CLIENT"),
        "{:?}",
        resp.remark
    );
    props.insert(property::MESSAGE_REPLY_TO_CLIENT, "10.0.0.9@gone");
    let resp = call(&c, reply("DefaultCluster_REPLY_TOPIC", &props)).await;
    assert_eq!(resp.response_code(), ResponseCode::SYSTEM_ERROR);
    assert_eq!(
        resp.remark.as_deref(),
        Some("push reply message fail, channel of <10.0.0.9@gone> not found.")
    );
    canary_is_delivered(&c, "CanaryReply").await;
    broker.stop().await;
}
