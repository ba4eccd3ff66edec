//! GET_CONSUMER_RUNNING_INFO relayed by the broker to our consumers (`mqadmin consumerStatus
//! -i`): the answer describes the consumer from its real state — per assigned queue the offset it
//! will commit and its cache, the subscriptions, per topic the pull and consume rates — in
//! Apache's JSON shape (queue keys as raw `MessageQueue` beans).

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{producer_options, unique, wait_for, Servers};
use ferromq_client::{
    Admin, ConsumeFrom, ConsumeResult, FilterExpression, Message, MessageView, OrderlyResult,
    Producer, PullConsumer, PullConsumerOptions, PushConsumer, PushConsumerOptions,
};
use ferromq_protocol::body::ConsumerRunningInfo;
use ferromq_protocol::header::client::GetConsumerRunningInfoRequestHeader;
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use ferromq_remoting::{Connection, ConnectionConfig, IgnoreRequests};

const WAIT: Duration = Duration::from_secs(30);

/// Sends `n` messages (bodies `m-<i>`, and `bad` for the one at `bad`) and returns, per queue,
/// the offset after its last message.
async fn send(servers: &Servers, topic: &str, n: usize, bad: Option<usize>) -> BTreeMap<i32, i64> {
    let producer = Producer::start(producer_options(servers, &unique("pg")))
        .await
        .expect("producer");
    let mut ends = BTreeMap::new();
    for i in 0..n {
        let body = if Some(i) == bad {
            "bad".to_owned()
        } else {
            format!("m-{i}")
        };
        let r = producer
            .send(Message::new(topic, body))
            .await
            .expect("send");
        let end = ends.entry(r.queue.queue_id).or_insert(0);
        *end = (*end).max(r.queue_offset + 1);
    }
    producer.shutdown().await;
    ends
}

/// The running info through our `Admin` (the broker relays it to the client).
async fn running_info(
    admin: &Admin,
    servers: &Servers,
    group: &str,
    client_id: &str,
    jstack: bool,
) -> ConsumerRunningInfo {
    let value = admin
        .consumer_running_info_at(servers.broker.addr(), group, client_id, jstack)
        .await
        .expect("running info");
    ConsumerRunningInfo::from_value(value).expect("Apache's ConsumerRunningInfo")
}

/// The commit offsets of `topic`'s queues in `info`.
fn commit_offsets(info: &ConsumerRunningInfo, topic: &str) -> BTreeMap<i32, i64> {
    info.mq_table
        .iter()
        .filter(|(mq, _)| mq.topic == topic)
        .map(|(mq, pq)| (mq.queue_id, pq.commit_offset))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_consumer_reports_its_queues_offsets_subscriptions_and_rates() {
    let servers = Servers::start(|_| {}).await;
    let topic = unique("Running");
    servers.create_topic(&topic, 4).await;
    let n = 24;
    let ends = send(&servers, &topic, n, Some(5)).await;
    assert_eq!(ends.len(), 4, "{ends:?}");

    // Every message succeeds except `bad`, which fails once and is redelivered.
    let ok = Arc::new(AtomicUsize::new(0));
    let seen = ok.clone();
    let listener = move |batch: &[MessageView]| {
        for m in batch {
            if m.body().as_ref() == b"bad" && m.reconsume_times() == 0 {
                return ConsumeResult::ReconsumeLater;
            }
        }
        seen.fetch_add(batch.len(), Ordering::SeqCst);
        ConsumeResult::Success
    };
    let group = unique("cg");
    let options = PushConsumerOptions {
        client: servers.client_config(&unique("running")),
        group: group.clone(),
        consume_from: ConsumeFrom::FirstOffset,
        ..PushConsumerOptions::default()
    };
    let consumer = PushConsumer::start(
        options,
        [(topic.clone(), FilterExpression::all())],
        listener,
    )
    .await
    .expect("consumer");
    wait_for("every message consumed", WAIT, || async {
        ok.load(Ordering::SeqCst) >= n
    })
    .await;
    let client_id = consumer.client().id().to_owned();
    let admin = Admin::new(&servers.client_config(&unique("admin"))).expect("admin");

    // The commit offsets reach the end of each queue as the listener settles the messages.
    let deadline = Instant::now() + WAIT;
    let info = loop {
        let info = running_info(&admin, &servers, &group, &client_id, false).await;
        if commit_offsets(&info, &topic) == ends {
            break info;
        }
        assert!(
            Instant::now() < deadline,
            "commit offsets {:?}, queue ends {ends:?}",
            commit_offsets(&info, &topic)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    for (mq, pq) in info.mq_table.iter().filter(|(mq, _)| mq.topic == topic) {
        assert_eq!(pq.cached_msg_count, 0, "{mq:?}: {pq:?}");
        assert!(!pq.droped && !pq.locked, "{mq:?}: {pq:?}");
        assert!(pq.last_pull_timestamp > 0, "{mq:?} was pulled: {pq:?}");
        assert!(pq.last_lock_timestamp > 0, "{mq:?}: {pq:?}");
    }
    let consumed_queues = info
        .mq_table
        .values()
        .filter(|pq| pq.last_consume_timestamp > 0)
        .count();
    assert!(consumed_queues >= 4, "{:?}", info.mq_table);
    // The retry topic is subscribed and its queue assigned too.
    let retry = format!("%RETRY%{group}");
    assert!(
        info.mq_table.keys().any(|mq| mq.topic == retry),
        "{:?}",
        info.mq_table
    );
    let subscribed: Vec<&str> = info
        .subscription_set
        .iter()
        .map(|s| s.topic.as_str())
        .collect();
    assert!(subscribed.contains(&topic.as_str()) && subscribed.contains(&retry.as_str()));
    assert_eq!(
        info.subscription_set
            .iter()
            .find(|s| s.topic == topic)
            .map(|s| s.sub_string.as_str()),
        Some("*")
    );

    // Rates of the last minute: pulls and consumption measured, the one failure counted.
    let status = &info.status_table[&topic];
    assert!(status.pull_tps > 0.0, "{status:?}");
    assert!(status.consume_ok_tps > 0.0, "{status:?}");
    assert!(
        status.consume_rt >= 0.0 && status.pull_rt >= 0.0,
        "{status:?}"
    );
    assert!(status.consume_failed_tps > 0.0, "{status:?}");
    assert_eq!(status.consume_failed_msgs, 1, "{status:?}");
    assert!(
        info.status_table.contains_key(&retry),
        "{:?}",
        info.status_table
    );

    // Properties Apache's tools read.
    let p = &info.properties;
    assert_eq!(p["PROP_CONSUME_TYPE"], "CONSUME_PASSIVELY");
    assert_eq!(p["PROP_CONSUMEORDERLY"], "false");
    assert_eq!(p["PROP_THREADPOOL_CORE_SIZE"], "20");
    assert_eq!(p["PROP_NAMESERVER_ADDR"], servers.namesrv.addr());
    assert_eq!(p["PROP_CLIENT_VERSION"], "V5_3_3");
    assert_eq!(p["consumerGroup"], group);
    assert_eq!(p["messageModel"], "CLUSTERING");
    assert_eq!(p["consumeFromWhere"], "CONSUME_FROM_FIRST_OFFSET");
    let started: i64 = p["PROP_CONSUMER_START_TIMESTAMP"]
        .parse()
        .expect("a number");
    assert!(started > 0 && started <= ferromq_common::now_ms());
    assert!(info.jstack.is_none());

    // Asked for, `jstack` describes the consumer's tasks.
    let with_tasks = running_info(&admin, &servers, &group, &client_id, true).await;
    let jstack = with_tasks.jstack.expect("jstack");
    assert!(jstack.contains(&format!("pull task {topic}/")), "{jstack}");

    // On the wire, queue keys are raw MessageQueue beans, as fastjson writes them.
    let raw = Connection::connect(
        servers.broker.addr(),
        Arc::new(IgnoreRequests),
        ConnectionConfig::default(),
    )
    .await
    .expect("connection");
    let h = GetConsumerRunningInfoRequestHeader {
        consumer_group: group.clone(),
        client_id: client_id.clone(),
        jstack_enable: Some(false),
        broker_name: None,
    };
    let r = raw
        .request(
            RemotingCommand::request_with_header(RequestCode::GET_CONSUMER_RUNNING_INFO, &h),
            Duration::from_secs(15),
        )
        .await
        .expect("relay");
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    let text = String::from_utf8_lossy(&r.body);
    assert!(text.contains("\"mqTable\":{{\"brokerName\":"), "{text}");
    assert!(text.contains("\"consumeOKTPS\":"), "{text}");

    consumer.shutdown().await;
    admin.shutdown().await;
    servers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lite_pull_consumer_reports_its_queues_and_pull_rates() {
    let servers = Servers::start(|_| {}).await;
    let topic = unique("RunningPull");
    servers.create_topic(&topic, 2).await;
    let n = 10;
    let ends = send(&servers, &topic, n, None).await;
    let group = unique("pcg");
    let options = PullConsumerOptions {
        client: servers.client_config(&unique("running-pull")),
        group: group.clone(),
        consume_from: ConsumeFrom::FirstOffset,
        auto_commit: false,
        ..PullConsumerOptions::default()
    };
    let consumer = PullConsumer::start(options).await.expect("consumer");
    consumer
        .subscribe(&topic, FilterExpression::all())
        .await
        .expect("subscribe");
    let deadline = Instant::now() + WAIT;
    let mut polled = 0;
    while polled < n {
        assert!(Instant::now() < deadline, "polled {polled} of {n}");
        polled += consumer
            .poll(Duration::from_millis(200))
            .await
            .expect("poll")
            .len();
    }
    let admin = Admin::new(&servers.client_config(&unique("admin"))).expect("admin");
    let info = running_info(&admin, &servers, &group, consumer.client().id(), false).await;
    assert_eq!(commit_offsets(&info, &topic), ends, "{:?}", info.mq_table);
    for pq in info.mq_table.values() {
        assert_eq!(pq.cached_msg_count, 0, "{pq:?}");
        assert!(
            pq.last_pull_timestamp > 0 && pq.last_consume_timestamp > 0,
            "{pq:?}"
        );
    }
    assert_eq!(info.properties["PROP_CONSUME_TYPE"], "CONSUME_ACTIVELY");
    assert!(info.properties["PROP_CONSUMER_START_TIMESTAMP"]
        .parse::<i64>()
        .is_ok());
    let status = &info.status_table[&topic];
    assert!(
        status.pull_tps > 0.0 && status.consume_ok_tps > 0.0,
        "{status:?}"
    );
    assert_eq!(info.subscription_set.len(), 1);
    consumer.shutdown().await;
    admin.shutdown().await;
    servers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_orderly_consumer_reports_its_queue_locks() {
    let servers = Servers::start(|_| {}).await;
    let topic = unique("RunningOrderly");
    servers.create_topic(&topic, 2).await;
    let n = 8;
    let ends = send(&servers, &topic, n, None).await;
    let consumed = Arc::new(AtomicUsize::new(0));
    let seen = consumed.clone();
    let listener = move |batch: &[MessageView]| {
        seen.fetch_add(batch.len(), Ordering::SeqCst);
        OrderlyResult::Success
    };
    let group = unique("ocg");
    let options = PushConsumerOptions {
        client: servers.client_config(&unique("running-orderly")),
        group: group.clone(),
        consume_from: ConsumeFrom::FirstOffset,
        ..PushConsumerOptions::default()
    };
    let before = ferromq_common::now_ms();
    let consumer = PushConsumer::start_orderly(
        options,
        [(topic.clone(), FilterExpression::all())],
        listener,
    )
    .await
    .expect("consumer");
    wait_for("every message consumed", WAIT, || async {
        consumed.load(Ordering::SeqCst) >= n
    })
    .await;
    let admin = Admin::new(&servers.client_config(&unique("admin"))).expect("admin");
    let client_id = consumer.client().id().to_owned();
    let deadline = Instant::now() + WAIT;
    let info = loop {
        let info = running_info(&admin, &servers, &group, &client_id, false).await;
        if commit_offsets(&info, &topic) == ends {
            break info;
        }
        assert!(Instant::now() < deadline, "{:?}", info.mq_table);
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(info.properties["PROP_CONSUMEORDERLY"], "true");
    for (mq, pq) in info.mq_table.iter().filter(|(mq, _)| mq.topic == topic) {
        assert!(pq.locked, "{mq:?} is locked on the broker: {pq:?}");
        assert!(
            pq.last_lock_timestamp >= before - 1000,
            "{mq:?} locked since it was assigned: {pq:?}"
        );
        assert_eq!(pq.transaction_msg_count, 0, "{pq:?}");
    }
    consumer.shutdown().await;
    admin.shutdown().await;
    servers.stop().await;
}
