//! Admin codes of Apache's `mqadmin` and dashboards: GET_TOPIC_CONFIG (351) and
//! GET_SUBSCRIPTIONGROUP_CONFIG (352) with Apache's bodies and refusals, and the requests the
//! broker relays to consumers (running info, consume directly, consumer status, reset offset),
//! against a connection that answers as a consumer would; a consumer that never answers stalls
//! nobody.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use bytes::Bytes;
use ferromq_protocol::body::{
    ConsumerData, GetConsumerStatusBody, HeartbeatData, MessageQueue, ResetOffsetBody,
    SubscriptionData, TopicConfig,
};
use ferromq_protocol::header::admin::{
    GetSubscriptionGroupConfigRequestHeader, GetTopicConfigRequestHeader,
};
use ferromq_protocol::header::client::{
    ConsumeMessageDirectlyResultRequestHeader, GetConsumerRunningInfoRequestHeader,
    GetConsumerStatusRequestHeader, ResetOffsetRequestHeader,
};
use ferromq_protocol::header::offset::{
    QueryConsumerOffsetRequestHeader, QueryConsumerOffsetResponseHeader,
    UpdateConsumerOffsetRequestHeader,
};
use ferromq_protocol::header::send::SendMessageResponseHeader;
use ferromq_protocol::{CommandHeader, RemotingCommand, RequestCode, ResponseCode};
use ferromq_remoting::{Connection, ConnectionConfig};
use ferromq_store::configs::subscription_groups::SubscriptionGroupConfig;

mod support;
use support::*;

#[tokio::test]
async fn one_topic_and_one_group_config() {
    let broker = TestBroker::start(|_| {}).await;
    let c = broker.client().await;
    let created = c.request(create_topic_request("Cfg", 3), T).await.unwrap();
    assert_eq!(created.response_code(), ResponseCode::SUCCESS);

    let get_topic = |topic: &str| {
        let h = GetTopicConfigRequestHeader {
            topic: topic.to_owned(),
            lo: Some(true),
        };
        RemotingCommand::request_with_header(RequestCode::GET_TOPIC_CONFIG, &h)
    };
    let r = c.request(get_topic("Cfg"), T).await.unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    let config = TopicConfig::decode(&r.body).unwrap();
    assert_eq!(config.topic_name, "Cfg");
    assert_eq!((config.read_queue_nums, config.write_queue_nums), (3, 3));
    assert_eq!(config.perm, 6);
    let r = c.request(get_topic("Missing"), T).await.unwrap();
    assert_eq!(r.response_code(), ResponseCode::TOPIC_NOT_EXIST);
    assert!(r.remark.unwrap_or_default().contains("Missing"));
    // No topic field: a clear refusal, not some other topic's config.
    let r = c
        .request(RemotingCommand::request(RequestCode::GET_TOPIC_CONFIG), T)
        .await
        .unwrap();
    assert_ne!(r.response_code(), ResponseCode::SUCCESS);
    assert!(r.remark.unwrap_or_default().contains("topic"));

    let group = r#"{"groupName":"CfgGroup","consumeEnable":true,"retryMaxTimes":5,"brokerId":0}"#;
    let r = c.request(update_group_request(group), T).await.unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    let get_group = |group: &str| {
        let h = GetSubscriptionGroupConfigRequestHeader {
            group: group.to_owned(),
        };
        RemotingCommand::request_with_header(RequestCode::GET_SUBSCRIPTIONGROUP_CONFIG, &h)
    };
    let r = c.request(get_group("CfgGroup"), T).await.unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    let text = String::from_utf8_lossy(&r.body).into_owned();
    assert!(text.contains(r#""groupName":"CfgGroup""#), "{text}");
    let config: SubscriptionGroupConfig = ferromq_protocol::json::from_slice(&r.body).unwrap();
    assert_eq!(config.group_name, "CfgGroup");
    assert_eq!(config.retry_max_times, 5);
    assert!(config.consume_enable);
    let r = c.request(get_group("NoSuchGroup"), T).await.unwrap();
    assert_eq!(
        r.response_code(),
        ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST
    );
    broker.stop().await;
}

/// A consumer connection that answers what the broker relays to it, as a client would, and
/// records each request it got.
#[derive(Default)]
struct FakeConsumer {
    got: std::sync::Mutex<Vec<RemotingCommand>>,
    /// Answer nothing (a consumer that hangs).
    silent: bool,
}

impl ferromq_remoting::Handler for FakeConsumer {
    async fn handle(&self, _: &Connection, request: RemotingCommand) -> Option<RemotingCommand> {
        self.got.lock().unwrap().push(request.clone());
        if self.silent {
            return None;
        }
        let code = request.request_code();
        let answer = if code == RequestCode::GET_CONSUMER_RUNNING_INFO {
            RemotingCommand::response(ResponseCode::SUCCESS, None).with_body(Bytes::from_static(
                br#"{"properties":{"consumeType":"CONSUME_PASSIVELY"}}"#,
            ))
        } else if code == RequestCode::CONSUME_MESSAGE_DIRECTLY {
            // Echo the message body it was handed, to show it got the right record.
            let record = ferromq_protocol::message::decode_all(
                &request.body,
                &ferromq_protocol::message::DecodeOptions::default(),
            )
            .unwrap();
            let body = format!(
                r#"{{"consumeResult":"CR_SUCCESS","remark":"{}"}}"#,
                String::from_utf8_lossy(&record[0].body)
            );
            RemotingCommand::response(ResponseCode::SUCCESS, None).with_body(body.into_bytes())
        } else if code == RequestCode::GET_CONSUMER_STATUS_FROM_CLIENT {
            let mut status = GetConsumerStatusBody::default();
            status.message_queue_table.insert(
                MessageQueue {
                    topic: "Relay".into(),
                    broker_name: "b".into(),
                    queue_id: 0,
                },
                2,
            );
            RemotingCommand::response(ResponseCode::SUCCESS, None).with_body(status.encode())
        } else {
            return None;
        };
        Some(answer)
    }
}

async fn consumer_conn(broker: &TestBroker, fake: &Arc<FakeConsumer>, id: &str) -> Connection {
    let c = Connection::connect(&broker.addr, fake.clone(), ConnectionConfig::default())
        .await
        .unwrap();
    let hb = HeartbeatData {
        client_id: id.to_owned(),
        consumer_data_set: vec![ConsumerData {
            group_name: "RelayGroup".to_owned(),
            subscription_data_set: vec![SubscriptionData::tag("Relay", "*", 1)],
            ..Default::default()
        }],
        ..Default::default()
    };
    let r = c
        .request(
            RemotingCommand::request(RequestCode::HEART_BEAT).with_body(hb.encode()),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_relayed_to_consumers() {
    let broker = TestBroker::start(|s| s.broker.broker_name = "relay-broker".to_owned()).await;
    let admin = broker.client().await;
    let created = admin
        .request(create_topic_request("Relay", 2), T)
        .await
        .unwrap();
    assert_eq!(created.response_code(), ResponseCode::SUCCESS);
    let sent = admin
        .request(send_request("Relay", 0, b"first", "T", "k1"), T)
        .await
        .unwrap();
    assert_eq!(sent.response_code(), ResponseCode::SUCCESS);
    let offset_msg_id = SendMessageResponseHeader::read_ext(&sent.ext_fields)
        .unwrap()
        .msg_id;
    admin
        .request(send_request("Relay", 0, b"second", "T", "k2"), T)
        .await
        .unwrap();
    wait_max_offset(&admin, "Relay", 0, 2).await;
    let fake = Arc::new(FakeConsumer::default());
    let _consumer = consumer_conn(&broker, &fake, "10.0.0.1@c1").await;

    // Running info: the consumer's own answer.
    let h = GetConsumerRunningInfoRequestHeader {
        consumer_group: "RelayGroup".into(),
        client_id: "10.0.0.1@c1".into(),
        jstack_enable: Some(false),
        broker_name: None,
    };
    let r = admin
        .request(
            RemotingCommand::request_with_header(RequestCode::GET_CONSUMER_RUNNING_INFO, &h),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    assert!(String::from_utf8_lossy(&r.body).contains("CONSUME_PASSIVELY"));
    let unknown = GetConsumerRunningInfoRequestHeader {
        client_id: "nobody".into(),
        ..h.clone()
    };
    let r = admin
        .request(
            RemotingCommand::request_with_header(RequestCode::GET_CONSUMER_RUNNING_INFO, &unknown),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.response_code(), ResponseCode::SYSTEM_ERROR);
    assert!(r.remark.unwrap_or_default().contains("not online"));

    // Consume directly: the broker hands the consumer the stored record msgId names.
    let h = ConsumeMessageDirectlyResultRequestHeader {
        consumer_group: "RelayGroup".into(),
        client_id: Some("10.0.0.1@c1".into()),
        msg_id: Some(offset_msg_id),
        topic: Some("Relay".into()),
        ..Default::default()
    };
    let r = admin
        .request(
            RemotingCommand::request_with_header(RequestCode::CONSUME_MESSAGE_DIRECTLY, &h),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    assert!(String::from_utf8_lossy(&r.body).contains(r#""remark":"first""#));
    let relayed = fake
        .got
        .lock()
        .unwrap()
        .iter()
        .find(|c| c.request_code() == RequestCode::CONSUME_MESSAGE_DIRECTLY)
        .cloned()
        .unwrap();
    assert_eq!(relayed.ext_fields.get("brokerName"), Some("relay-broker"));
    let bad = ConsumeMessageDirectlyResultRequestHeader {
        msg_id: Some("not-an-id".into()),
        ..h.clone()
    };
    let r = admin
        .request(
            RemotingCommand::request_with_header(RequestCode::CONSUME_MESSAGE_DIRECTLY, &bad),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.response_code(), ResponseCode::SYSTEM_ERROR);

    // Consumer status: every consumer's offsets, by client id.
    let h = GetConsumerStatusRequestHeader {
        topic: "Relay".into(),
        group: "RelayGroup".into(),
        ..Default::default()
    };
    let r = admin
        .request(
            RemotingCommand::request_with_header(
                RequestCode::INVOKE_BROKER_TO_GET_CONSUMER_STATUS,
                &h,
            ),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    let status = GetConsumerStatusBody::decode(&r.body).unwrap();
    assert_eq!(status.consumer_table.len(), 1);
    assert_eq!(
        status.consumer_table["10.0.0.1@c1"]
            .0
            .values()
            .copied()
            .collect::<Vec<_>>(),
        [2]
    );

    // Reset by time: the group committed 2 on queue 0; reset to the start (timestamp 0) tells
    // the consumer to go back to 0, and answers the table.
    let commit = UpdateConsumerOffsetRequestHeader {
        consumer_group: "RelayGroup".into(),
        topic: "Relay".into(),
        queue_id: 0,
        commit_offset: 2,
        ..Default::default()
    };
    for q in 0..2 {
        let commit = UpdateConsumerOffsetRequestHeader {
            queue_id: q,
            ..commit.clone()
        };
        admin
            .request(
                RemotingCommand::request_with_header(RequestCode::UPDATE_CONSUMER_OFFSET, &commit),
                T,
            )
            .await
            .unwrap();
    }
    let reset = ResetOffsetRequestHeader {
        topic: "Relay".into(),
        group: "RelayGroup".into(),
        timestamp: 0,
        is_force: false,
        ..Default::default()
    };
    let r = admin
        .request(
            RemotingCommand::request_with_header(
                RequestCode::INVOKE_BROKER_TO_RESET_OFFSET,
                &reset,
            ),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    let table = ResetOffsetBody::decode(&r.body).unwrap().offset_table;
    let by_queue: Vec<(i32, i64)> = table.iter().map(|(mq, o)| (mq.queue_id, *o)).collect();
    assert_eq!(by_queue, [(0, 0), (1, 0)]);
    let deadline = std::time::Instant::now() + T;
    loop {
        let notices: Vec<RemotingCommand> = fake
            .got
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.request_code() == RequestCode::RESET_CONSUMER_CLIENT_OFFSET)
            .cloned()
            .collect();
        if let Some(n) = notices.first() {
            let body = ResetOffsetBody::decode(&n.body).unwrap();
            assert_eq!(body.offset_table, table);
            assert_eq!(n.ext_fields.get("group"), Some("RelayGroup"));
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no reset notice");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // To the end (-1) without force: nothing moves forward of where the group is.
    let r = admin
        .request(
            RemotingCommand::request_with_header(
                RequestCode::INVOKE_BROKER_TO_RESET_OFFSET,
                &ResetOffsetRequestHeader {
                    timestamp: -1,
                    ..reset.clone()
                },
            ),
            T,
        )
        .await
        .unwrap();
    let table = ResetOffsetBody::decode(&r.body).unwrap().offset_table;
    let by_queue: Vec<(i32, i64)> = table.iter().map(|(mq, o)| (mq.queue_id, *o)).collect();
    assert_eq!(by_queue, [(0, 2), (1, 0)], "queue 1 is empty: its end is 0");
    // One queue (mqadmin resetOffsetByTime -q): to an offset when given, checked against the
    // queue's range, else by time.
    let one = |queue_id: i32, offset: Option<i64>| {
        RemotingCommand::request_with_header(
            RequestCode::INVOKE_BROKER_TO_RESET_OFFSET,
            &ResetOffsetRequestHeader {
                queue_id: Some(queue_id),
                offset,
                ..reset.clone()
            },
        )
    };
    let r = admin.request(one(0, Some(1)), T).await.unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    let table = ResetOffsetBody::decode(&r.body).unwrap().offset_table;
    let by_queue: Vec<(i32, i64)> = table.iter().map(|(mq, o)| (mq.queue_id, *o)).collect();
    assert_eq!(by_queue, [(0, 1)]);
    let r = admin.request(one(1, None), T).await.unwrap();
    let table = ResetOffsetBody::decode(&r.body).unwrap().offset_table;
    let by_queue: Vec<(i32, i64)> = table.iter().map(|(mq, o)| (mq.queue_id, *o)).collect();
    assert_eq!(by_queue, [(1, 0)]);
    let r = admin.request(one(0, Some(99)), T).await.unwrap();
    assert_eq!(r.response_code(), ResponseCode::SYSTEM_ERROR);
    let remark = r.remark.unwrap_or_default();
    assert!(remark.contains("not in consume queue range"), "{remark}");
    let r = admin.request(one(7, None), T).await.unwrap();
    assert_eq!(r.response_code(), ResponseCode::SYSTEM_ERROR, "no queue 7");
    // A one-queue reset is committed on the broker, consumers online or not.
    let query = QueryConsumerOffsetRequestHeader {
        consumer_group: "RelayGroup".into(),
        topic: "Relay".into(),
        queue_id: 0,
        ..Default::default()
    };
    let r = admin
        .request(
            RemotingCommand::request_with_header(RequestCode::QUERY_CONSUMER_OFFSET, &query),
            T,
        )
        .await
        .unwrap();
    let committed = QueryConsumerOffsetResponseHeader::read_ext(&r.ext_fields).unwrap();
    assert_eq!(committed.offset, 1);
    // A group nobody consumes in: CONSUMER_NOT_ONLINE.
    let r = admin
        .request(
            RemotingCommand::request_with_header(
                RequestCode::INVOKE_BROKER_TO_RESET_OFFSET,
                &ResetOffsetRequestHeader {
                    group: "Nobody".into(),
                    ..reset.clone()
                },
            ),
            T,
        )
        .await
        .unwrap();
    assert_ne!(r.response_code(), ResponseCode::SUCCESS);
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_that_never_answers_costs_the_admin_only_its_timeout() {
    let broker = TestBroker::start(|_| {}).await;
    let admin = broker.client().await;
    let fake = Arc::new(FakeConsumer {
        silent: true,
        ..Default::default()
    });
    let _consumer = consumer_conn(&broker, &fake, "10.0.0.2@hung").await;
    let h = GetConsumerRunningInfoRequestHeader {
        consumer_group: "RelayGroup".into(),
        client_id: "10.0.0.2@hung".into(),
        jstack_enable: None,
        broker_name: None,
    };
    let slow = {
        let admin = admin.clone();
        tokio::spawn(async move {
            admin
                .request(
                    RemotingCommand::request_with_header(
                        RequestCode::GET_CONSUMER_RUNNING_INFO,
                        &h,
                    ),
                    std::time::Duration::from_secs(30),
                )
                .await
                .unwrap()
        })
    };
    // Meanwhile the broker serves everyone else, the admin's own connection included.
    let created = admin
        .request(create_topic_request("StillServed", 1), T)
        .await
        .unwrap();
    assert_eq!(created.response_code(), ResponseCode::SUCCESS);
    let r = slow.await.unwrap();
    assert_eq!(r.response_code(), ResponseCode::CONSUME_MSG_TIMEOUT);
    broker.stop().await;
}

#[tokio::test]
async fn runtime_info_has_live_rates_and_the_fields_apaches_tools_print() {
    let broker = TestBroker::start(|_| {}).await;
    let c = broker.client().await;
    let started = ferromq_common::now_ms();
    for i in 0..3 {
        let r = c
            .request(
                send_request("Live", 0, format!("m{i}").as_bytes(), "T", "k"),
                T,
            )
            .await
            .unwrap();
        assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    }
    wait_max_offset(&c, "Live", 0, 3).await;
    subscribe(&c, "LiveGroup", "Live", "*").await;
    let found = c
        .request(pull_request("LiveGroup", "Live", 0, 0, 0), T)
        .await
        .unwrap();
    assert_eq!(found.response_code(), ResponseCode::SUCCESS);
    let missed = c
        .request(pull_request("LiveGroup", "Live", 0, 3, 0), T)
        .await
        .unwrap();
    assert_eq!(missed.response_code(), ResponseCode::PULL_NOT_FOUND);
    let r = c
        .request(
            RemotingCommand::request(RequestCode::GET_BROKER_RUNTIME_INFO),
            T,
        )
        .await
        .unwrap();
    let t = ferromq_protocol::body::KVTable::decode(&r.body)
        .unwrap()
        .table;
    let first = |k: &str| -> f64 {
        t[k].split_whitespace()
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{k}: {}", t[k]))
    };
    assert!(first("putTps") > 0.0, "putTps {}", t["putTps"]);
    assert_eq!(
        t["putTps"].split_whitespace().count(),
        3,
        "10 s, 60 s, 600 s"
    );
    assert!(first("getTransferredTps") > 0.0);
    assert!(first("getFoundTps") > 0.0 && first("getMissTps") > 0.0);
    assert_eq!(t["msgPutTotalTodayNow"], "3");
    assert_eq!(t["msgGetTotalTodayNow"], "3");
    assert_eq!(t["msgPutTotalTodayMorning"], "0", "started today");
    for k in [
        "sendThreadPoolQueueHeadWaitTimeMills",
        "pullThreadPoolQueueHeadWaitTimeMills",
        "ackThreadPoolQueueHeadWaitTimeMills",
    ] {
        assert_eq!(t[k], "0", "{k}");
    }
    let earliest: i64 = t["earliestMessageTimeStamp"].parse().unwrap();
    assert!(
        earliest >= started - 1000 && earliest <= ferromq_common::now_ms(),
        "earliest {earliest}, started {started}"
    );
    broker.stop().await;
}

/// UPDATE_BROKER_CONFIG with `body`; the answer.
async fn update_config(c: &Connection, body: &str) -> RemotingCommand {
    c.request(
        RemotingCommand::request(RequestCode::UPDATE_BROKER_CONFIG)
            .with_body(body.as_bytes().to_vec()),
        T,
    )
    .await
    .unwrap()
}

async fn config_text(c: &Connection) -> String {
    let r = c
        .request(RemotingCommand::request(RequestCode::GET_BROKER_CONFIG), T)
        .await
        .unwrap();
    String::from_utf8_lossy(&r.body).into_owned()
}

#[tokio::test]
async fn config_updates_take_effect_or_say_why_not() {
    let broker = TestBroker::start(|_| {}).await;
    let c = broker.client().await;

    // Store keys change while the store is open, and act at once.
    let r = update_config(&c, "flushIntervalCommitLog=250\nmaxMessageSize=1024\n").await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    let text = config_text(&c).await;
    assert!(text.contains("flushIntervalCommitLog=250"), "{text}");
    let big = c
        .request(send_request("Sized", 0, &[b'x'; 2000], "T", "k"), T)
        .await
        .unwrap();
    assert_eq!(big.response_code(), ResponseCode::MESSAGE_ILLEGAL);
    let small = c
        .request(send_request("Sized", 0, &[b'x'; 1000], "T", "k"), T)
        .await
        .unwrap();
    assert_eq!(small.response_code(), ResponseCode::SUCCESS);

    // defaultTopicQueueNums resizes TBW102: a topic created on send from now on gets 3 queues.
    let r = update_config(&c, "defaultTopicQueueNums=3").await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    let r = c
        .request(send_request("AfterResize", 0, b"x", "T", "k"), T)
        .await
        .unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    let h = GetTopicConfigRequestHeader {
        topic: "AfterResize".into(),
        lo: None,
    };
    let r = c
        .request(
            RemotingCommand::request_with_header(RequestCode::GET_TOPIC_CONFIG, &h),
            T,
        )
        .await
        .unwrap();
    let config = TopicConfig::decode(&r.body).unwrap();
    assert_eq!(config.write_queue_nums, 3);
    let r = update_config(&c, "defaultTopicQueueNums=0").await;
    assert_eq!(r.response_code(), ResponseCode::INVALID_PARAMETER);

    // Refusals name the reason; a refused request changes nothing, even its good keys.
    for (body, code, says) in [
        (
            "storePathRootDir=/tmp/x",
            ResponseCode::NO_PERMISSION,
            "black list",
        ),
        (
            "haMasterAddress=10.0.0.1:1",
            ResponseCode::NO_PERMISSION,
            "black list",
        ),
        (
            "flushIntervalCommitLog=999\nbrokerName=x",
            ResponseCode::NO_PERMISSION,
            "black list",
        ),
        (
            "mappedFileSizeCommitLog=1048576",
            ResponseCode::SYSTEM_ERROR,
            "restart",
        ),
        ("noSuchKey=1", ResponseCode::INVALID_PARAMETER, "noSuchKey"),
    ] {
        let r = update_config(&c, body).await;
        assert_eq!(r.response_code(), code, "{body}");
        let remark = r.remark.unwrap_or_default();
        assert!(remark.contains(says), "{body}: {remark}");
    }
    let text = config_text(&c).await;
    assert!(
        text.contains("flushIntervalCommitLog=250"),
        "unchanged: {text}"
    );
    broker.stop().await;
}

#[tokio::test]
async fn stats_by_topic_and_group_and_cloned_offsets() {
    use ferromq_protocol::body::BrokerStatsData;
    use ferromq_protocol::header::admin::{
        CloneGroupOffsetRequestHeader, ViewBrokerStatsDataRequestHeader,
    };
    use ferromq_protocol::header::offset::QueryConsumerOffsetRequestHeader;
    let broker = TestBroker::start(|_| {}).await;
    let c = broker.client().await;
    for i in 0..4 {
        let r = c
            .request(
                send_request("Counted", 0, format!("m{i}").as_bytes(), "T", "k"),
                T,
            )
            .await
            .unwrap();
        assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    }
    wait_max_offset(&c, "Counted", 0, 4).await;
    subscribe(&c, "Reader", "Counted", "*").await;
    let r = c
        .request(pull_request("Reader", "Counted", 0, 0, 0), T)
        .await
        .unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);

    let view = async |name: &str, key: &str| {
        let h = ViewBrokerStatsDataRequestHeader {
            stats_name: name.into(),
            stats_key: key.into(),
        };
        c.request(
            RemotingCommand::request_with_header(RequestCode::VIEW_BROKER_STATS_DATA, &h),
            T,
        )
        .await
        .unwrap()
    };
    let r = view("TOPIC_PUT_NUMS", "Counted").await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    let data = BrokerStatsData::decode(&r.body).unwrap();
    assert_eq!(data.stats_minute.sum, 4);
    assert_eq!(data.stats_day.sum, 4);
    assert_eq!(data.stats_minute.avgpt, 1.0, "one message per send");
    let r = view("GROUP_GET_NUMS", "Counted@Reader").await;
    assert_eq!(BrokerStatsData::decode(&r.body).unwrap().stats_hour.sum, 4);
    let r = view("TOPIC_PUT_NUMS", "NeverSent").await;
    assert_eq!(r.response_code(), ResponseCode::SYSTEM_ERROR);
    assert!(r.remark.unwrap_or_default().contains("not exist"));
    let r = view("NO_SUCH_STATS", "Counted").await;
    assert_eq!(r.response_code(), ResponseCode::SYSTEM_ERROR);

    // cloneGroupOffset: the new group starts where the old one is.
    let commit = UpdateConsumerOffsetRequestHeader {
        consumer_group: "Reader".into(),
        topic: "Counted".into(),
        queue_id: 0,
        commit_offset: 3,
        ..Default::default()
    };
    c.request(
        RemotingCommand::request_with_header(RequestCode::UPDATE_CONSUMER_OFFSET, &commit),
        T,
    )
    .await
    .unwrap();
    let h = CloneGroupOffsetRequestHeader {
        src_group: "Reader".into(),
        dest_group: "Copy".into(),
        topic: None,
        offline: Some(false),
    };
    let r = c
        .request(
            RemotingCommand::request_with_header(RequestCode::CLONE_GROUP_OFFSET, &h),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    let q = QueryConsumerOffsetRequestHeader {
        consumer_group: "Copy".into(),
        topic: "Counted".into(),
        queue_id: 0,
        ..Default::default()
    };
    let r = c
        .request(
            RemotingCommand::request_with_header(RequestCode::QUERY_CONSUMER_OFFSET, &q),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    assert_eq!(r.ext_fields.get("offset"), Some("3"));
    let bad = CloneGroupOffsetRequestHeader {
        dest_group: "../evil".into(),
        ..h
    };
    let r = c
        .request(
            RemotingCommand::request_with_header(RequestCode::CLONE_GROUP_OFFSET, &bad),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.response_code(), ResponseCode::INVALID_PARAMETER);
    broker.stop().await;
}

#[tokio::test]
async fn broker_consume_stats_lists_every_groups_lag() {
    use ferromq_protocol::body::{ConsumeStats, ConsumeStatsList};
    use ferromq_protocol::header::admin::{
        GetConsumeStatsInBrokerHeader, GetConsumeStatsRequestHeader,
    };
    let broker = TestBroker::start(|_| {}).await;
    let c = broker.client().await;
    let created = c.request(create_topic_request("Lag", 1), T).await.unwrap();
    assert_eq!(created.response_code(), ResponseCode::SUCCESS);
    let started = ferromq_common::now_ms();
    for i in 0..5 {
        c.request(
            send_request("Lag", 0, format!("m{i}").as_bytes(), "T", "k"),
            T,
        )
        .await
        .unwrap();
    }
    wait_max_offset(&c, "Lag", 0, 5).await;
    subscribe(&c, "LagGroup", "Lag", "*").await;
    let r = c
        .request(pull_request("LagGroup", "Lag", 0, 0, 0), T)
        .await
        .unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    let commit = UpdateConsumerOffsetRequestHeader {
        consumer_group: "LagGroup".into(),
        topic: "Lag".into(),
        queue_id: 0,
        commit_offset: 2,
        ..Default::default()
    };
    c.request(
        RemotingCommand::request_with_header(RequestCode::UPDATE_CONSUMER_OFFSET, &commit),
        T,
    )
    .await
    .unwrap();

    // One group's stats: the lag, the time of the last consumed message, the consume rate.
    let h = GetConsumeStatsRequestHeader {
        consumer_group: "LagGroup".into(),
        topic: Some("Lag".into()),
        ..Default::default()
    };
    let r = c
        .request(
            RemotingCommand::request_with_header(RequestCode::GET_CONSUME_STATS, &h),
            T,
        )
        .await
        .unwrap();
    let stats = ConsumeStats::decode(&r.body).unwrap();
    assert_eq!(stats.total_diff(), 3);
    let q0 = stats.offset_table.values().next().unwrap();
    assert!(q0.last_timestamp >= started - 1000, "{}", q0.last_timestamp);
    assert!(stats.consume_tps > 0.0, "5 messages pulled");

    // Every group on the broker.
    let h = GetConsumeStatsInBrokerHeader { is_order: false };
    let r = c
        .request(
            RemotingCommand::request_with_header(RequestCode::GET_BROKER_CONSUME_STATS, &h),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    let list = ConsumeStatsList::decode(&r.body).unwrap();
    assert_eq!(list.broker_addr, broker.addr);
    let lag_group = list
        .consume_stats_list
        .iter()
        .find_map(|m| m.get("LagGroup"))
        .expect("LagGroup listed");
    assert_eq!(lag_group.len(), 1);
    assert_eq!(lag_group[0].total_diff(), 3);
    assert_eq!(list.total_diff, 3);
    // Only order topics: "Lag" is not one.
    let h = GetConsumeStatsInBrokerHeader { is_order: true };
    let r = c
        .request(
            RemotingCommand::request_with_header(RequestCode::GET_BROKER_CONSUME_STATS, &h),
            T,
        )
        .await
        .unwrap();
    assert_eq!(ConsumeStatsList::decode(&r.body).unwrap().total_diff, 0);
    broker.stop().await;
}

#[tokio::test]
async fn time_spans_consume_queue_units_and_forbidden_groups() {
    use ferromq_protocol::body::{
        GroupForbidden, QueryConsumeQueueResponseBody, QueryConsumeTimeSpanBody,
    };
    use ferromq_protocol::header::admin::{
        QueryConsumeQueueRequestHeader, QueryConsumeTimeSpanRequestHeader,
        UpdateGroupForbiddenRequestHeader,
    };
    let broker = TestBroker::start(|_| {}).await;
    let c = broker.client().await;
    let created = c.request(create_topic_request("Span", 1), T).await.unwrap();
    assert_eq!(created.response_code(), ResponseCode::SUCCESS);
    for i in 0..3 {
        c.request(
            send_request("Span", 0, format!("m{i}").as_bytes(), "TagA", "k"),
            T,
        )
        .await
        .unwrap();
    }
    wait_max_offset(&c, "Span", 0, 3).await;
    subscribe(&c, "SpanGroup", "Span", "TagA").await;
    let commit = UpdateConsumerOffsetRequestHeader {
        consumer_group: "SpanGroup".into(),
        topic: "Span".into(),
        queue_id: 0,
        commit_offset: 1,
        ..Default::default()
    };
    c.request(
        RemotingCommand::request_with_header(RequestCode::UPDATE_CONSUMER_OFFSET, &commit),
        T,
    )
    .await
    .unwrap();

    let h = QueryConsumeTimeSpanRequestHeader {
        topic: "Span".into(),
        group: "SpanGroup".into(),
    };
    let r = c
        .request(
            RemotingCommand::request_with_header(RequestCode::QUERY_CONSUME_TIME_SPAN, &h),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    let spans = QueryConsumeTimeSpanBody::decode(&r.body).unwrap();
    let q0 = &spans.consume_time_span_set[0];
    assert!(q0.min_time_stamp > 0);
    assert!(q0.min_time_stamp <= q0.consume_time_stamp);
    assert!(q0.consume_time_stamp <= q0.max_time_stamp);
    assert!(q0.delay_time >= 0);

    let h = QueryConsumeQueueRequestHeader {
        topic: "Span".into(),
        queue_id: 0,
        index: 1,
        count: 5,
        consumer_group: Some("SpanGroup".into()),
    };
    let r = c
        .request(
            RemotingCommand::request_with_header(RequestCode::QUERY_CONSUME_QUEUE, &h),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    let cq = QueryConsumeQueueResponseBody::decode(&r.body).unwrap();
    assert_eq!((cq.min_queue_index, cq.max_queue_index), (0, 3));
    assert_eq!(cq.queue_data.len(), 2, "units 1 and 2");
    assert!(cq.queue_data[0].physic_offset < cq.queue_data[1].physic_offset);
    assert_eq!(cq.subscription_data.unwrap().sub_string, "TagA");
    let missing = QueryConsumeQueueRequestHeader {
        queue_id: 7,
        ..h.clone()
    };
    let r = c
        .request(
            RemotingCommand::request_with_header(RequestCode::QUERY_CONSUME_QUEUE, &missing),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.response_code(), ResponseCode::SYSTEM_ERROR);

    // Forbid the group to read the topic: its pulls get NO_PERMISSION until allowed again.
    let forbid = |readable: Option<bool>| {
        let h = UpdateGroupForbiddenRequestHeader {
            group: "SpanGroup".into(),
            topic: "Span".into(),
            readable,
        };
        RemotingCommand::request_with_header(RequestCode::UPDATE_AND_GET_GROUP_FORBIDDEN, &h)
    };
    let r = c.request(forbid(Some(false)), T).await.unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    assert!(!GroupForbidden::decode(&r.body).unwrap().readable);
    let pull = c
        .request(pull_request("SpanGroup", "Span", 0, 0, 0), T)
        .await
        .unwrap();
    assert_eq!(pull.response_code(), ResponseCode::NO_PERMISSION);
    assert!(pull.remark.unwrap_or_default().contains("forbidden"));
    let r = c.request(forbid(None), T).await.unwrap();
    assert!(
        !GroupForbidden::decode(&r.body).unwrap().readable,
        "a query changes nothing"
    );
    let r = c.request(forbid(Some(true)), T).await.unwrap();
    assert!(GroupForbidden::decode(&r.body).unwrap().readable);
    let pull = c
        .request(pull_request("SpanGroup", "Span", 0, 0, 0), T)
        .await
        .unwrap();
    assert_eq!(pull.response_code(), ResponseCode::SUCCESS);
    broker.stop().await;
}

#[tokio::test]
async fn producers_topic_stats_and_who_consumes() {
    use ferromq_protocol::body::{ProducerData, TopicStatsTable};
    use ferromq_protocol::header::admin::{
        GetTopicStatsInfoRequestHeader, QueryTopicConsumeByWhoRequestHeader,
    };
    let broker = TestBroker::start(|_| {}).await;
    let c = broker.client().await;
    let hb = HeartbeatData {
        client_id: "10.0.0.9@prod".to_owned(),
        producer_data_set: vec![ProducerData {
            group_name: "ProdGroup".to_owned(),
        }],
        ..Default::default()
    };
    let r = c
        .request(
            RemotingCommand::request(RequestCode::HEART_BEAT).with_body(hb.encode()),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    let r = c
        .request(
            RemotingCommand::request(RequestCode::GET_ALL_PRODUCER_INFO),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    let text = String::from_utf8_lossy(&r.body).into_owned();
    assert!(text.contains(r#""ProdGroup":[{"#), "{text}");
    assert!(text.contains(r#""clientId":"10.0.0.9@prod""#), "{text}");
    assert!(text.contains(r#""remoteIP":"127.0.0.1:"#), "{text}");

    let started = ferromq_common::now_ms();
    for i in 0..3 {
        c.request(
            send_request("Stat", 1, format!("m{i}").as_bytes(), "T", "k"),
            T,
        )
        .await
        .unwrap();
    }
    wait_max_offset(&c, "Stat", 1, 3).await;
    let h = GetTopicStatsInfoRequestHeader {
        topic: "Stat".into(),
        broker_name: None,
    };
    let r = c
        .request(
            RemotingCommand::request_with_header(RequestCode::GET_TOPIC_STATS_INFO, &h),
            T,
        )
        .await
        .unwrap();
    let stats = TopicStatsTable::decode(&r.body).unwrap();
    let q1 = stats
        .offset_table
        .iter()
        .find(|(mq, _)| mq.queue_id == 1)
        .unwrap()
        .1;
    assert!(q1.last_update_timestamp >= started - 1000, "{q1:?}");
    let q0 = stats
        .offset_table
        .iter()
        .find(|(mq, _)| mq.queue_id == 0)
        .unwrap()
        .1;
    assert_eq!(q0.last_update_timestamp, 0, "an empty queue");
    assert!(stats.topic_put_tps.unwrap_or(0.0) > 0.0);

    // A group subscribed by an online consumer counts as consuming before it commits anything.
    subscribe(&c, "Watcher", "Stat", "*").await;
    let h = QueryTopicConsumeByWhoRequestHeader {
        topic: "Stat".into(),
        broker_name: None,
    };
    let r = c
        .request(
            RemotingCommand::request_with_header(RequestCode::QUERY_TOPIC_CONSUME_BY_WHO, &h),
            T,
        )
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&r.body).contains("Watcher"));
    broker.stop().await;
}
