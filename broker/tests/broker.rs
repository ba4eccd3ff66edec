//! The broker over real sockets, driven with raw remoting commands: sends, pulls with long
//! polling, offsets, retries into the DLQ, queries, and bad input.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use ferromq_protocol::body::{ConsumerData, HeartbeatData, SubscriptionData};
use ferromq_protocol::header::client::ConsumerSendMsgBackRequestHeader;
use ferromq_protocol::header::offset::*;
use ferromq_protocol::header::pull::PullMessageResponseHeader;
use ferromq_protocol::header::query::ViewMessageRequestHeader;
use ferromq_protocol::header::send::{SendMessageRequestHeaderV2, SendMessageResponseHeader};
use ferromq_protocol::message::{property, MessageExt, MessageId, Properties};
use ferromq_protocol::{CommandHeader, RemotingCommand, RequestCode, ResponseCode};
use ferromq_remoting::Connection;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod support;
use ferromq_common::now_ms;
use support::*;

#[tokio::test]
async fn send_pull_long_poll_offsets_and_queries() {
    let broker = TestBroker::start(|_| {}).await;
    let c = broker.client().await;
    subscribe(&c, "G1", "Orders", "*").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let resp = c
            .request(
                send_request(
                    "Orders",
                    1,
                    format!("m{i}").as_bytes(),
                    "TagA",
                    &format!("k{i}"),
                ),
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
        let h = SendMessageResponseHeader::read_ext(&resp.ext_fields).unwrap();
        assert_eq!((h.queue_id, h.queue_offset), (1, i));
        assert_eq!(
            h.msg_region.as_deref(),
            Some("DefaultRegion"),
            "4.9 Java clients read MSG_REGION"
        );
        assert!(h.transaction_id.is_some());
        ids.push(h.msg_id);
    }
    wait_max_offset(&c, "Orders", 1, 5).await;
    let resp = c
        .request(pull_request("G1", "Orders", 1, 0, 0), T)
        .await
        .unwrap();
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    let h = PullMessageResponseHeader::read_ext(&resp.ext_fields).unwrap();
    assert_eq!((h.next_begin_offset, h.min_offset, h.max_offset), (5, 0, 5));
    let got = messages(&resp.body);
    assert_eq!(
        got.iter().map(|m| m.body.to_vec()).collect::<Vec<_>>(),
        (0..5)
            .map(|i| format!("m{i}").into_bytes())
            .collect::<Vec<_>>()
    );
    assert!(got
        .iter()
        .all(|m| m.properties.value("CLUSTER") == Some("DefaultCluster")));

    // Long polling: a pull at the end is held and answered as soon as a message arrives.
    let c2 = c.clone();
    let held = tokio::spawn(async move {
        let started = Instant::now();
        let resp = c2
            .request(pull_request("G1", "Orders", 1, 5, 8000), T)
            .await
            .unwrap();
        (resp, started.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    c.request(send_request("Orders", 1, b"late", "TagA", "late"), T)
        .await
        .unwrap();
    let (resp, waited) = held.await.unwrap();
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    assert!(
        waited < Duration::from_secs(5),
        "woken by the arrival, not the timeout: {waited:?}"
    );
    assert_eq!(&messages(&resp.body)[0].body[..], b"late");
    // Without a new message the hold times out with PULL_NOT_FOUND and the four offsets.
    let resp = c
        .request(pull_request("G1", "Orders", 1, 6, 300), T)
        .await
        .unwrap();
    assert_eq!(resp.response_code(), ResponseCode::PULL_NOT_FOUND);
    assert_eq!(
        PullMessageResponseHeader::read_ext(&resp.ext_fields)
            .unwrap()
            .next_begin_offset,
        6
    );
    let resp = c
        .request(pull_request("G1", "Orders", 1, 99, 0), T)
        .await
        .unwrap();
    assert_eq!(resp.response_code(), ResponseCode::PULL_OFFSET_MOVED);

    // Offsets.
    let q = QueryConsumerOffsetRequestHeader {
        consumer_group: "Gnew".into(),
        topic: "Orders".into(),
        queue_id: 1,
        ..Default::default()
    };
    let resp = c
        .request(
            RemotingCommand::request_with_header(RequestCode::QUERY_CONSUMER_OFFSET, &q),
            T,
        )
        .await
        .unwrap();
    assert_eq!(
        QueryConsumerOffsetResponseHeader::read_ext(&resp.ext_fields)
            .unwrap()
            .offset,
        0,
        "first boot starts at 0"
    );
    let u = UpdateConsumerOffsetRequestHeader {
        consumer_group: "G1".into(),
        topic: "Orders".into(),
        queue_id: 1,
        commit_offset: 4,
        ..Default::default()
    };
    c.request(
        RemotingCommand::request_with_header(RequestCode::UPDATE_CONSUMER_OFFSET, &u),
        T,
    )
    .await
    .unwrap();
    let q = QueryConsumerOffsetRequestHeader {
        consumer_group: "G1".into(),
        ..q
    };
    let resp = c
        .request(
            RemotingCommand::request_with_header(RequestCode::QUERY_CONSUMER_OFFSET, &q),
            T,
        )
        .await
        .unwrap();
    assert_eq!(
        QueryConsumerOffsetResponseHeader::read_ext(&resp.ext_fields)
            .unwrap()
            .offset,
        4
    );
    let m = GetMaxOffsetRequestHeader {
        topic: "Orders".into(),
        queue_id: 1,
        ..Default::default()
    };
    let resp = c
        .request(
            RemotingCommand::request_with_header(RequestCode::GET_MAX_OFFSET, &m),
            T,
        )
        .await
        .unwrap();
    assert_eq!(
        GetMaxOffsetResponseHeader::read_ext(&resp.ext_fields)
            .unwrap()
            .offset,
        6
    );

    // Query by key, view by offsetMsgId.
    let resp = c.request(query_request("Orders", "k3"), T).await.unwrap();
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    assert_eq!(&messages(&resp.body)[0].body[..], b"m3");
    let id: MessageId = ids[2].parse().unwrap();
    assert_eq!(
        id.address.to_string(),
        broker.addr,
        "offsetMsgId names the broker's address"
    );
    let v = ViewMessageRequestHeader {
        offset: id.offset,
        ..Default::default()
    };
    let resp = c
        .request(
            RemotingCommand::request_with_header(RequestCode::VIEW_MESSAGE_BY_ID, &v),
            T,
        )
        .await
        .unwrap();
    assert_eq!(&messages(&resp.body)[0].body[..], b"m2");
    broker.stop().await;
}

#[tokio::test]
async fn failed_messages_are_retried_then_reach_the_dlq() {
    // Retries wait for their delay level (3 + reconsumeTimes): short levels keep this quick.
    let broker =
        TestBroker::start(|s| s.store.message_delay_level = "1s 1s 1s 1s 1s".to_owned()).await;
    let c = broker.client().await;
    subscribe(&c, "GR", "Work", "*").await;
    let resp = c
        .request(send_request("Work", 0, b"job", "T", "job-1"), T)
        .await
        .unwrap();
    let h = SendMessageResponseHeader::read_ext(&resp.ext_fields).unwrap();
    let mut offset = h.msg_id.parse::<MessageId>().unwrap().offset;
    // Fail it three times with maxReconsumeTimes 2: two retries, then the DLQ.
    for attempt in 1..=3 {
        let back = ConsumerSendMsgBackRequestHeader {
            offset,
            group: "GR".into(),
            delay_level: 0,
            max_reconsume_times: Some(2),
            ..Default::default()
        };
        let resp = c
            .request(
                RemotingCommand::request_with_header(RequestCode::CONSUMER_SEND_MSG_BACK, &back),
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
        let (topic, expect_reconsume) = if attempt <= 2 {
            ("%RETRY%GR", attempt)
        } else {
            ("%DLQ%GR", 3)
        };
        let deadline = Instant::now() + T;
        let got = loop {
            let next = (attempt as i64 - 1).min(1);
            let queue_offset = if topic == "%DLQ%GR" { 0 } else { next };
            let resp = c
                .request(pull_request("GR", topic, 0, queue_offset, 3000), T)
                .await
                .unwrap();
            if resp.response_code() == ResponseCode::SUCCESS {
                break messages(&resp.body).remove(0);
            }
            assert!(
                Instant::now() < deadline,
                "{topic}: {:?}",
                resp.response_code()
            );
            subscribe(&c, "GR", topic, "*").await;
        };
        assert_eq!(got.reconsume_times, expect_reconsume, "{topic}");
        assert_eq!(&got.body[..], b"job");
        assert_eq!(got.properties.value(property::RETRY_TOPIC), Some("Work"));
        assert!(got.properties.value(property::ORIGIN_MESSAGE_ID).is_some());
        offset = got.commit_log_offset;
    }
    broker.stop().await;
}

#[tokio::test]
async fn bad_input_gets_clear_answers_and_the_broker_keeps_serving() {
    let broker = TestBroker::start(|_| {}).await;
    let c = broker.client().await;
    let resp = c
        .request(RemotingCommand::request(RequestCode(4242)), T)
        .await
        .unwrap();
    assert_eq!(
        resp.response_code(),
        ResponseCode::REQUEST_CODE_NOT_SUPPORTED
    );
    let resp = c
        .request(send_request("Big", 0, &vec![0u8; 70_000], "T", "k"), T)
        .await
        .unwrap();
    assert_eq!(resp.response_code(), ResponseCode::MESSAGE_ILLEGAL);
    assert!(resp.remark.unwrap().contains("maxMessageSize"));
    let resp = c
        .request(send_request("bad topic!", 0, b"x", "T", "k"), T)
        .await
        .unwrap();
    assert_eq!(resp.response_code(), ResponseCode::INVALID_PARAMETER);
    assert!(resp.remark.unwrap().contains("illegal characters"));
    let resp = c
        .request(send_request("SCHEDULE_TOPIC_XXXX", 0, b"x", "T", "k"), T)
        .await
        .unwrap();
    assert_eq!(resp.response_code(), ResponseCode::NO_PERMISSION);
    let resp = c
        .request(send_request("Orders", 99, b"x", "T", "k"), T)
        .await
        .unwrap();
    assert_eq!(
        resp.response_code(),
        ResponseCode::INVALID_PARAMETER,
        "queue id out of range"
    );
    let resp = c
        .request(pull_request("G", "NoSuchTopic", 0, 0, 0), T)
        .await
        .unwrap();
    assert_eq!(resp.response_code(), ResponseCode::TOPIC_NOT_EXIST);
    // Garbage, oversized and truncated frames close only their own connection.
    for bad in [
        b"GET / HTTP/1.1\r\n\r\n".to_vec(),
        100_000_000i32.to_be_bytes().to_vec(),
        b"\x00\x00\x00\x40\x00\x00\x00\x10{\"code\"".to_vec(),
    ] {
        let mut s = tokio::net::TcpStream::connect(&broker.addr).await.unwrap();
        s.write_all(&bad).await.unwrap();
        let _ = s.shutdown().await;
        let mut buf = [0u8; 16];
        assert_eq!(
            tokio::time::timeout(T, s.read(&mut buf))
                .await
                .unwrap()
                .unwrap_or(0),
            0
        );
    }
    let resp = c
        .request(send_request("StillOk", 0, b"x", "T", "k"), T)
        .await
        .unwrap();
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    broker.stop().await;
}

#[tokio::test]
async fn admin_codes_and_safe_config_updates() {
    use ferromq_protocol::body::{ConsumeStats, ConsumerConnection, KVTable, TopicStatsTable};
    use ferromq_protocol::header::admin::{
        DeleteTopicRequestHeader, GetConsumeStatsRequestHeader,
        GetConsumerConnectionListRequestHeader, GetTopicStatsInfoRequestHeader,
    };
    let broker = TestBroker::start(|_| {}).await;
    let c = broker.client().await;
    subscribe(&c, "GA", "Stats", "*").await;
    for i in 0..3 {
        c.request(
            send_request("Stats", 2, format!("s{i}").as_bytes(), "T", "k"),
            T,
        )
        .await
        .unwrap();
    }
    wait_max_offset(&c, "Stats", 2, 3).await;
    let info = c
        .request(
            RemotingCommand::request(RequestCode::GET_BROKER_RUNTIME_INFO),
            T,
        )
        .await
        .unwrap();
    let info = KVTable::decode(&info.body).unwrap().table;
    for key in [
        "brokerVersionDesc",
        "putTps",
        "msgPutTotalTodayNow",
        "commitLogMaxOffset",
        "bootTimestamp",
    ] {
        assert!(info.contains_key(key), "runtime info has {key}");
    }
    assert_eq!(info["msgPutTotalTodayNow"], "3");

    let h = GetTopicStatsInfoRequestHeader {
        topic: "Stats".into(),
        ..Default::default()
    };
    let resp = c
        .request(
            RemotingCommand::request_with_header(RequestCode::GET_TOPIC_STATS_INFO, &h),
            T,
        )
        .await
        .unwrap();
    let stats = TopicStatsTable::decode(&resp.body).unwrap();
    let q2 = stats
        .offset_table
        .iter()
        .find(|(mq, _)| mq.queue_id == 2)
        .unwrap()
        .1;
    assert_eq!((q2.min_offset, q2.max_offset), (0, 3));

    let u = UpdateConsumerOffsetRequestHeader {
        consumer_group: "GA".into(),
        topic: "Stats".into(),
        queue_id: 2,
        commit_offset: 1,
        ..Default::default()
    };
    c.request(
        RemotingCommand::request_with_header(RequestCode::UPDATE_CONSUMER_OFFSET, &u),
        T,
    )
    .await
    .unwrap();
    let h = GetConsumeStatsRequestHeader {
        consumer_group: "GA".into(),
        topic: Some("Stats".into()),
        ..Default::default()
    };
    let resp = c
        .request(
            RemotingCommand::request_with_header(RequestCode::GET_CONSUME_STATS, &h),
            T,
        )
        .await
        .unwrap();
    let cs = ConsumeStats::decode(&resp.body).unwrap();
    let w = cs
        .offset_table
        .iter()
        .find(|(mq, _)| mq.queue_id == 2)
        .unwrap()
        .1;
    assert_eq!((w.broker_offset, w.consumer_offset), (3, 1));

    let h = GetConsumerConnectionListRequestHeader {
        consumer_group: "GA".into(),
        ..Default::default()
    };
    let resp = c
        .request(
            RemotingCommand::request_with_header(RequestCode::GET_CONSUMER_CONNECTION_LIST, &h),
            T,
        )
        .await
        .unwrap();
    let conns = ConsumerConnection::decode(&resp.body).unwrap();
    assert_eq!(conns.connection_set.len(), 1);
    assert!(conns.subscription_table.contains_key("Stats"));

    let resp = c
        .request(RemotingCommand::request(RequestCode::GET_BROKER_CONFIG), T)
        .await
        .unwrap();
    let text = String::from_utf8(resp.body.to_vec()).unwrap();
    assert!(text.contains("brokerName=broker-t"));
    // Only runtime-safe keys change; paths and ports are refused (CVE-2023-33246).
    let update = |body: &str| {
        RemotingCommand::request(RequestCode::UPDATE_BROKER_CONFIG)
            .with_body(body.as_bytes().to_vec())
    };
    for evil in [
        "storePathRootDir=/tmp/x",
        "listenPort=1",
        "brokerName=other",
        "rocketmqHome=/tmp",
    ] {
        let resp = c.request(update(evil), T).await.unwrap();
        assert_eq!(resp.response_code(), ResponseCode::NO_PERMISSION, "{evil}");
    }
    let resp = c
        .request(update("autoCreateTopicEnable=false\n"), T)
        .await
        .unwrap();
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    let resp = c
        .request(send_request("BrandNew", 0, b"x", "T", "k"), T)
        .await
        .unwrap();
    assert_eq!(
        resp.response_code(),
        ResponseCode::TOPIC_NOT_EXIST,
        "auto-create is off now"
    );

    let h = DeleteTopicRequestHeader {
        topic: "Stats".into(),
        ..Default::default()
    };
    let resp = c
        .request(
            RemotingCommand::request_with_header(RequestCode::DELETE_TOPIC_IN_BROKER, &h),
            T,
        )
        .await
        .unwrap();
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    let resp = c
        .request(pull_request("GA", "Stats", 2, 0, 0), T)
        .await
        .unwrap();
    assert_eq!(resp.response_code(), ResponseCode::TOPIC_NOT_EXIST);
    broker.stop().await;
}

fn delayed_request(topic: &str, body: &[u8], level: i32) -> RemotingCommand {
    let mut props = Properties::new();
    props.insert(property::DELAY_TIME_LEVEL, level.to_string());
    props.insert(property::WAIT_STORE_MSG_OK, "true");
    let h = SendMessageRequestHeaderV2 {
        producer_group: "PG".to_owned(),
        topic: topic.to_owned(),
        default_topic: "TBW102".to_owned(),
        default_topic_queue_nums: 1,
        queue_id: 0,
        properties: Some(props.encode()),
        ..Default::default()
    };
    RemotingCommand::request_with_header(RequestCode::SEND_MESSAGE_V2, &h)
        .with_body(Bytes::copy_from_slice(body))
}

#[tokio::test]
async fn delayed_messages_wait_for_their_level() {
    let broker = TestBroker::start(|s| s.store.message_delay_level = "1s 2s".to_owned()).await;
    let c = broker.client().await;
    subscribe(&c, "GD", "Later", "*").await;
    let sent = Instant::now();
    let resp = c
        .request(delayed_request("Later", b"one second", 1), T)
        .await
        .unwrap();
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    // Level 9 is clamped to the highest configured level (2 s).
    let resp = c
        .request(delayed_request("Later", b"two seconds", 9), T)
        .await
        .unwrap();
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    let resp = c
        .request(pull_request("GD", "Later", 0, 0, 0), T)
        .await
        .unwrap();
    assert_ne!(
        resp.response_code(),
        ResponseCode::SUCCESS,
        "nothing is in the real topic before its delay"
    );

    let mut got = Vec::new();
    let mut offset = 0;
    while got.len() < 2 {
        let resp = c
            .request(pull_request("GD", "Later", 0, offset, 5000), T)
            .await
            .unwrap();
        assert_eq!(
            resp.response_code(),
            ResponseCode::SUCCESS,
            "delivered within its delay plus a margin"
        );
        for m in messages(&resp.body) {
            got.push((
                String::from_utf8(m.body.to_vec()).unwrap(),
                sent.elapsed(),
                m,
            ));
        }
        offset = PullMessageResponseHeader::read_ext(&resp.ext_fields)
            .unwrap()
            .next_begin_offset;
    }
    assert_eq!(got[0].0, "one second");
    assert!(
        got[0].1 >= Duration::from_millis(950),
        "level 1 waited {:?}",
        got[0].1
    );
    assert_eq!(got[1].0, "two seconds");
    assert!(
        got[1].1 >= Duration::from_millis(1950),
        "level 2 waited {:?}",
        got[1].1
    );
    let m = &got[0].2;
    assert_eq!(m.properties.value(property::REAL_TOPIC), Some("Later"));
    assert_eq!(m.properties.value(property::DELAY_TIME_LEVEL), None);
    broker.stop().await;
}

#[tokio::test]
async fn sql92_subscriptions_select_by_properties() {
    let broker = TestBroker::start(|s| s.broker.enable_property_filter = true).await;
    let c = broker.client().await;
    for a in 1..=10 {
        let mut props = Properties::new();
        props.insert("a", a.to_string());
        props.insert("b", if a % 2 == 0 { "x" } else { "y" });
        let h = SendMessageRequestHeaderV2 {
            producer_group: "PG".into(),
            topic: "Sql".into(),
            default_topic: "TBW102".into(),
            default_topic_queue_nums: 1,
            queue_id: 0,
            properties: Some(props.encode()),
            ..Default::default()
        };
        let req = RemotingCommand::request_with_header(RequestCode::SEND_MESSAGE_V2, &h)
            .with_body(Bytes::from(a.to_string()));
        assert_eq!(
            c.request(req, T).await.unwrap().response_code(),
            ResponseCode::SUCCESS
        );
    }
    wait_max_offset(&c, "Sql", 0, 10).await;
    let hb = HeartbeatData {
        client_id: "127.0.0.1@sql".to_owned(),
        consumer_data_set: vec![ConsumerData {
            group_name: "GS".to_owned(),
            subscription_data_set: vec![SubscriptionData::sql92("Sql", "a > 5 AND b = 'x'", 1)],
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
    let (mut got, mut offset) = (Vec::new(), 0);
    while offset < 10 {
        let resp = c
            .request(pull_request("GS", "Sql", 0, offset, 0), T)
            .await
            .unwrap();
        if resp.response_code() == ResponseCode::SUCCESS {
            got.extend(
                messages(&resp.body)
                    .iter()
                    .map(|m| String::from_utf8(m.body.to_vec()).unwrap()),
            );
        }
        assert!(
            matches!(
                resp.response_code(),
                ResponseCode::SUCCESS | ResponseCode::PULL_RETRY_IMMEDIATELY
            ),
            "{:?}",
            resp.response_code()
        );
        offset = PullMessageResponseHeader::read_ext(&resp.ext_fields)
            .unwrap()
            .next_begin_offset;
    }
    assert_eq!(got, ["6", "8", "10"]);
    broker.stop().await;

    // With enablePropertyFilter off (the default), a SQL92 pull is refused with Apache's remark.
    let broker = TestBroker::start(|_| {}).await;
    let c = broker.client().await;
    c.request(
        RemotingCommand::request(RequestCode::HEART_BEAT).with_body(hb.encode()),
        T,
    )
    .await
    .unwrap();
    c.request(send_request("Sql", 0, b"x", "T", "k"), T)
        .await
        .unwrap();
    let resp = c
        .request(pull_request("GS", "Sql", 0, 0, 0), T)
        .await
        .unwrap();
    assert_eq!(resp.response_code(), ResponseCode::SYSTEM_ERROR);
    assert!(resp.remark.unwrap().contains("SQL92"));
    broker.stop().await;
}

/// Pulls `topic` queue 0 from `offset` until `n` messages came; each with the time it arrived.
async fn pull_n(c: &Connection, group: &str, topic: &str, n: usize) -> Vec<(MessageExt, i64)> {
    let mut got = Vec::new();
    let mut offset = 0;
    while got.len() < n {
        let resp = c
            .request(pull_request(group, topic, 0, offset, 5000), T)
            .await
            .unwrap();
        assert_eq!(
            resp.response_code(),
            ResponseCode::SUCCESS,
            "{n} messages arrive in {topic}; got {}",
            got.len()
        );
        let now = now_ms();
        got.extend(messages(&resp.body).into_iter().map(|m| (m, now)));
        offset = PullMessageResponseHeader::read_ext(&resp.ext_fields)
            .unwrap()
            .next_begin_offset;
    }
    got
}

#[tokio::test]
async fn timer_messages_are_delivered_at_their_time_in_time_order() {
    let broker = TestBroker::start(|_| {}).await;
    let c = broker.client().await;
    subscribe(&c, "GT", "Timed", "*").await;
    let start = now_ms();
    // Sent in one order, due in another: 1.5 s, 1 s, 0.5 s (absolute), then one already due.
    let sends = [
        ("delay-ms-1500", property::TIMER_DELAY_MS, 1500),
        ("delay-sec-1", property::TIMER_DELAY_SEC, 1),
        ("deliver-at-500", property::TIMER_DELIVER_MS, start + 500),
        (
            "deliver-in-the-past",
            property::TIMER_DELIVER_MS,
            start - 60_000,
        ),
    ];
    let mut sent_at = std::collections::HashMap::new();
    for (body, p, v) in sends {
        let at = now_ms();
        let resp = c
            .request(timer_request("Timed", body, p, v), T)
            .await
            .unwrap();
        assert_eq!(
            resp.response_code(),
            ResponseCode::SUCCESS,
            "{body}: {resp:?}"
        );
        sent_at.insert(body, at);
    }
    let got = pull_n(&c, "GT", "Timed", 4).await;
    let order: Vec<String> = got
        .iter()
        .map(|(m, _)| String::from_utf8(m.body.to_vec()).unwrap())
        .collect();
    assert_eq!(
        order,
        [
            "deliver-in-the-past",
            "deliver-at-500",
            "delay-sec-1",
            "delay-ms-1500"
        ]
    );
    for (m, arrived) in &got {
        let body = String::from_utf8(m.body.to_vec()).unwrap();
        let due = match body.as_str() {
            "delay-ms-1500" => sent_at[body.as_str()] + 1500,
            "delay-sec-1" => sent_at[body.as_str()] + 1000,
            "deliver-at-500" => start + 500,
            _ => 0,
        };
        assert!(*arrived >= due, "{body} arrived {} ms early", due - arrived);
        assert_eq!(m.topic, "Timed");
        assert_eq!(m.properties.value(property::KEYS), Some(body.as_str()));
        // Stamped on every stored message, as Apache 5.3.3 does.
        assert_eq!(
            m.properties.value(property::MSG_REGION),
            Some("DefaultRegion")
        );
        assert_eq!(m.properties.value(property::TRACE_SWITCH), Some("true"));
        if due > 0 {
            assert_eq!(m.properties.value(property::REAL_TOPIC), Some("Timed"));
            let out: i64 = m
                .properties
                .value(property::TIMER_OUT_MS)
                .unwrap()
                .parse()
                .unwrap();
            assert!(
                out >= due && out <= due + 1000,
                "{body}: TIMER_OUT_MS {out}, due {due}"
            );
            for p in [
                property::TIMER_DELAY_MS,
                property::TIMER_DELAY_SEC,
                property::TIMER_DELIVER_MS,
            ] {
                assert_eq!(
                    m.properties.value(p),
                    None,
                    "{body}: {p} removed on delivery"
                );
            }
        }
    }
    broker.stop().await;
}

#[tokio::test]
async fn illegal_timer_messages_are_refused_with_a_reason() {
    let broker = TestBroker::start(|s| s.store.timer_max_delay_sec = 10).await;
    let c = broker.client().await;
    let too_far = timer_request("Timed", "too far", property::TIMER_DELAY_SEC, 11);
    let not_a_number = timer_request("Timed", "nan", property::TIMER_DELAY_MS, "soon");
    for (what, req, reason) in [
        ("11 s over a 10 s maximum", too_far, "timerMaxDelaySec"),
        ("a delay that is not a number", not_a_number, "not a number"),
    ] {
        let resp = c.request(req, T).await.unwrap();
        assert_eq!(
            resp.response_code(),
            ResponseCode::MESSAGE_ILLEGAL,
            "{what}"
        );
        let remark = resp.remark.unwrap_or_default();
        assert!(remark.contains(reason), "{what}: remark {remark:?}");
    }
    broker.stop().await;

    let off = TestBroker::start(|s| s.store.timer_wheel_enable = false).await;
    let c = off.client().await;
    let resp = c
        .request(
            timer_request("Timed", "off", property::TIMER_DELAY_SEC, 1),
            T,
        )
        .await
        .unwrap();
    assert_eq!(resp.response_code(), ResponseCode::SYSTEM_ERROR);
    assert!(resp.remark.unwrap_or_default().contains("timerWheelEnable"));
    off.stop().await;
}
