//! Push consumer housekeeping against real servers (`testing::LocalCluster`: the
//! `mqnamesrv`/`mqbroker` processes): the consume timeout of concurrent listeners, the pause of
//! a suspended orderly queue, topic-wide pull thresholds, and how shutdown bounds its wait for
//! listener calls in flight.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{unique, wait_for, Collected, Gate, StuckListener};
use ferromq_client::testing::LocalCluster;
use ferromq_client::{
    Admin, ConsumeFrom, ConsumeResult, FilterExpression, Message, MessageView, OrderlyResult,
    Producer, ProducerOptions, PushConsumer, PushConsumerOptions, SendResult, TopicOptions,
};

const WAIT: Duration = Duration::from_secs(30);

/// A cluster whose delay levels are all 1 s, so redeliveries come back quickly.
fn cluster() -> LocalCluster {
    LocalCluster::builder()
        .broker_config(format!("messageDelayLevel={}", ["1s"; 18].join(" ")))
        .start()
        .expect("cluster")
}

async fn create_topic(cluster: &LocalCluster, topic: &str, queues: i32) {
    let admin = Admin::new(&cluster.client_config("admin")).expect("admin");
    let options = TopicOptions {
        queue_nums: queues,
        ..TopicOptions::default()
    };
    admin
        .create_topic("DefaultCluster", topic, &options)
        .await
        .expect("create");
    wait_for("topic route", WAIT, || async {
        admin
            .topic_route(topic)
            .await
            .map(|r| r.queue_datas.iter().any(|q| q.write_queue_nums == queues))
            .unwrap_or(false)
    })
    .await;
    admin.shutdown().await;
}

async fn send(cluster: &LocalCluster, topic: &str, bodies: &[&str]) -> Vec<SendResult> {
    let group = unique("pg");
    let producer = Producer::start(ProducerOptions {
        client: cluster.client_config(&group),
        group,
        ..ProducerOptions::default()
    })
    .await
    .expect("producer");
    let mut sent = Vec::new();
    for body in bodies {
        sent.push(
            producer
                .send(Message::new(topic, body.to_string()))
                .await
                .expect("send"),
        );
    }
    producer.shutdown().await;
    sent
}

fn options(cluster: &LocalCluster, group: &str, instance: &str) -> PushConsumerOptions {
    PushConsumerOptions {
        client: cluster.client_config(instance),
        group: group.to_owned(),
        consume_from: ConsumeFrom::FirstOffset,
        ..PushConsumerOptions::default()
    }
}

/// The group's committed offset on the broker for `topic`'s queue 0 (-1 when it has none).
async fn committed(cluster: &LocalCluster, group: &str, topic: &str) -> i64 {
    let admin = Admin::new(&cluster.client_config("admin-offsets")).expect("admin");
    let progress = admin.consumer_progress(group, topic).await;
    admin.shutdown().await;
    progress
        .ok()
        .and_then(|p| {
            p.into_iter()
                .find(|(mq, _)| mq.topic == topic && mq.queue_id == 0)
                .map(|(_, o)| o.consumer_offset)
        })
        .unwrap_or(-1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_call_outliving_the_consume_timeout_is_redelivered_and_passed() {
    let cluster = cluster();
    let topic = unique("Expire");
    create_topic(&cluster, &topic, 1).await;
    let sent = send(&cluster, &topic, &["stuck"]).await;
    let stuck = StuckListener::default();
    let group = unique("cg-expire");
    let mut o = options(&cluster, &group, &group);
    o.consume_timeout = Duration::from_secs(1);
    o.persist_interval = Duration::from_millis(200);
    let consumer = PushConsumer::start(
        o,
        [(topic.clone(), FilterExpression::all())],
        stuck.listener(),
    )
    .await
    .expect("consumer");
    let again = stuck.redelivered(WAIT).await;
    assert_eq!(again.body().as_ref(), b"stuck");
    assert_eq!(again.msg_id(), sent[0].msg_id);
    assert_eq!(again.reconsume_times(), 1);
    // The queue's offset moves past the stuck message while its call still runs.
    wait_for("the offset to pass the stuck message", WAIT, || async {
        committed(&cluster, &group, &topic).await >= 1
    })
    .await;
    stuck.release(WAIT).await;
    consumer.shutdown().await;
    assert_eq!(stuck.redeliveries(), 1, "redelivered once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspended_orderly_queue_waits_the_suspend_time() {
    let cluster = cluster();
    let topic = unique("Suspend");
    create_topic(&cluster, &topic, 1).await;
    send(&cluster, &topic, &["o0"]).await;
    // Each call: (entered, returned, reconsume times).
    let calls: Arc<Mutex<Vec<(Instant, Instant, i32)>>> = Arc::default();
    let group = unique("cg-suspend");
    let mut o = options(&cluster, &group, &group);
    let suspend = Duration::from_millis(2500);
    o.suspend_current_queue_time = suspend;
    let seen = calls.clone();
    let consumer = PushConsumer::start_orderly(
        o,
        [(topic.clone(), FilterExpression::all())],
        move |batch: &[MessageView]| {
            let entered = Instant::now();
            let mut calls = seen.lock().expect("lock");
            let result = if calls.is_empty() {
                OrderlyResult::SuspendCurrentQueueAMoment
            } else {
                OrderlyResult::Success
            };
            calls.push((entered, Instant::now(), batch[0].reconsume_times()));
            result
        },
    )
    .await
    .expect("consumer");
    wait_for("the retry", WAIT, || async {
        calls.lock().expect("lock").len() >= 2
    })
    .await;
    consumer.shutdown().await;
    let calls = calls.lock().expect("lock").clone();
    let paused = calls[1].0.duration_since(calls[0].1);
    assert!(paused >= suspend, "retried {paused:?} after the suspension");
    assert_eq!((calls[0].2, calls[1].2), (0, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_topic_pull_threshold_is_shared_among_the_queues_held() {
    let cluster = cluster();
    let topic = unique("TopicFlow");
    create_topic(&cluster, &topic, 4).await;
    let gate = Arc::new(Gate::default());
    let group = unique("cg-topic-flow");
    let mut o = options(&cluster, &group, &group);
    o.pull_threshold_for_topic = Some(8);
    o.pull_batch_size = 1;
    o.consume_threads = 1;
    o.rebalance_interval = Duration::from_secs(1);
    let g = gate.clone();
    let consumer = PushConsumer::start(
        o,
        [(topic.clone(), FilterExpression::all())],
        move |_: &[MessageView]| {
            g.wait();
            ConsumeResult::Success
        },
    )
    .await
    .expect("consumer");
    // As in Java, the threshold is shared among every queue held: the topic's 4 and the
    // group's retry queue (the broker makes `%RETRY%<group>` at the first heartbeat). Wait for
    // all 5 before anything is sent, so the share is fixed while the cache fills.
    wait_for("the topic's 4 queues and the retry queue", WAIT, || async {
        consumer.assigned_queues().len() == 5
    })
    .await;
    let bodies: Vec<String> = (0..100).map(|i| format!("t{i}")).collect();
    let bodies: Vec<&str> = bodies.iter().map(String::as_str).collect();
    send(&cluster, &topic, &bodies).await;
    // 8 over 5 queues: 1 each; a queue is pulled (one message at a time) while it caches 1 or
    // fewer, so each of the topic's 4 queues (25 messages each) stops at 2; the retry queue
    // stays empty.
    wait_for("every queue to fill up to its share", WAIT, || async {
        consumer.cached_messages() >= 8
    })
    .await;
    // Many pull rounds' worth of time (a paused queue looks again every 50 ms): the cache does
    // not grow. Only an extra pull could fail this, however slow the machine.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(consumer.cached_messages(), 8);
    gate.open();
    wait_for("the rest", WAIT, || async {
        consumer.cached_messages() == 0
    })
    .await;
    consumer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_commits_a_call_that_ends_within_the_bound() {
    let cluster = cluster();
    let topic = unique("ShutdownWait");
    create_topic(&cluster, &topic, 1).await;
    send(&cluster, &topic, &["slow"]).await;
    let gate = Arc::new(Gate::default());
    let (entered, finished) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let group = unique("cg-shutdown-wait");
    let mut o = options(&cluster, &group, &group);
    o.await_termination = Duration::from_secs(30);
    // Only shutdown commits.
    o.persist_interval = Duration::from_secs(3600);
    let (g, e, f) = (gate.clone(), entered.clone(), finished.clone());
    let consumer = PushConsumer::start(
        o,
        [(topic.clone(), FilterExpression::all())],
        move |_: &[MessageView]| {
            e.store(true, Ordering::SeqCst);
            g.wait();
            f.store(true, Ordering::SeqCst);
            ConsumeResult::Success
        },
    )
    .await
    .expect("consumer");
    wait_for("the listener call", WAIT, || async {
        entered.load(Ordering::SeqCst)
    })
    .await;
    // The call ends a second after shutdown began: shutdown waits for it.
    let opener = gate.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        opener.open();
    });
    consumer.shutdown().await;
    assert!(
        finished.load(Ordering::SeqCst),
        "shutdown waited for the call"
    );
    assert_eq!(committed(&cluster, &group, &topic).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_abandons_a_call_outliving_the_bound_and_its_message_is_redelivered() {
    let cluster = cluster();
    let topic = unique("ShutdownAbandon");
    create_topic(&cluster, &topic, 1).await;
    let sent = send(&cluster, &topic, &["abandoned"]).await;
    let gate = Arc::new(Gate::default());
    let (entered, finished) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let group = unique("cg-shutdown-abandon");
    let mut o = options(&cluster, &group, "first");
    o.await_termination = Duration::from_millis(300);
    let (g, e, f) = (gate.clone(), entered.clone(), finished.clone());
    let first = PushConsumer::start(
        o,
        [(topic.clone(), FilterExpression::all())],
        move |_: &[MessageView]| {
            e.store(true, Ordering::SeqCst);
            g.wait();
            f.store(true, Ordering::SeqCst);
            ConsumeResult::Success
        },
    )
    .await
    .expect("consumer");
    wait_for("the listener call", WAIT, || async {
        entered.load(Ordering::SeqCst)
    })
    .await;
    first.shutdown().await;
    assert!(
        !finished.load(Ordering::SeqCst),
        "the call is still running"
    );
    assert!(committed(&cluster, &group, &topic).await < 1);
    // The next member of the group gets the message again.
    let collected = Collected::default();
    let second = PushConsumer::start(
        options(&cluster, &group, "second"),
        [(topic.clone(), FilterExpression::all())],
        collected.listener(),
    )
    .await
    .expect("second consumer");
    collected.wait_for(1, WAIT).await;
    let again = collected.snapshot();
    assert_eq!(again[0].msg_id(), sent[0].msg_id);
    assert_eq!(again[0].body().as_ref(), b"abandoned");
    // The abandoned call ends now; its answer commits nothing.
    gate.open();
    wait_for("the abandoned call to end", WAIT, || async {
        finished.load(Ordering::SeqCst)
    })
    .await;
    second.shutdown().await;
    assert_eq!(committed(&cluster, &group, &topic).await, 1);
    assert_eq!(collected.len(), 1);
}
