//! Scenarios of docs/scenarios.md with the Rust producer and push consumer against a real FerroMQ
//! name server and broker: quickstart, async-oneway, batch, ordered (selector), compression.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::{consumer_options, producer_options, unique, Collected, Servers};
use ferromq_client::{FilterExpression, Message, Producer, PushConsumer, SelectByHash, SendStatus};

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quickstart_sync_sends_arrive_intact() {
    let servers = Servers::start(|_| {}).await;
    let topic = unique("Quickstart");
    servers.create_topic(&topic, 4).await;
    let producer = Producer::start(producer_options(&servers, &unique("pg")))
        .await
        .expect("producer");
    let n = 20;
    let mut sent = BTreeSet::new();
    for i in 0..n {
        let m = Message::new(&topic, format!("body-{i}"))
            .with_tag("TagA")
            .with_keys([format!("key-{i}")])
            .with_property("index", i.to_string());
        let r = producer.send(m).await.expect("send");
        assert_eq!(r.status, SendStatus::Ok);
        sent.insert(r.msg_id);
    }
    let got = Collected::default();
    let group = unique("cg");
    let consumer = PushConsumer::start(
        consumer_options(&servers, &group, &group),
        [(topic.clone(), FilterExpression::tag("TagA"))],
        got.listener(),
    )
    .await
    .expect("consumer");
    got.wait_for(n, WAIT).await;
    let messages = got.snapshot();
    let ids: BTreeSet<String> = messages.iter().map(|m| m.msg_id()).collect();
    assert_eq!(ids, sent);
    for m in &messages {
        let i = m.property("index").expect("user property");
        assert_eq!(m.body().as_ref(), format!("body-{i}").as_bytes());
        assert_eq!(m.tag(), Some("TagA"));
        assert_eq!(m.keys(), vec![format!("key-{i}").as_str()]);
        assert_eq!(m.topic(), topic);
    }
    consumer.shutdown().await;
    producer.shutdown().await;
    servers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_and_oneway_sends_are_all_consumed_and_large_bodies_round_trip() {
    let servers = Servers::start(|_| {}).await;
    let topic = unique("AsyncOneway");
    servers.create_topic(&topic, 4).await;
    let producer = Producer::start(producer_options(&servers, &unique("pg")))
        .await
        .expect("producer");
    let n = 10;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for i in 0..n {
        let tx = tx.clone();
        producer.send_async(Message::new(&topic, format!("async-{i}")), move |r| {
            let _ = tx.send(r);
        });
    }
    for _ in 0..n {
        let r = rx.recv().await.expect("callback").expect("async send");
        assert_eq!(r.status, SendStatus::Ok);
    }
    for i in 0..n {
        producer
            .send_oneway(Message::new(&topic, format!("oneway-{i}")))
            .await
            .expect("oneway");
    }
    // Above the 4 KiB threshold: compressed by the producer, decompressed for the listener.
    let large: String = (0..20_000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    producer
        .send(Message::new(&topic, large.clone()))
        .await
        .expect("large send");
    let got = Collected::default();
    let group = unique("cg");
    let consumer = PushConsumer::start(
        consumer_options(&servers, &group, &group),
        [(topic.clone(), FilterExpression::all())],
        got.listener(),
    )
    .await
    .expect("consumer");
    got.wait_for(2 * n + 1, WAIT).await;
    let bodies: BTreeSet<String> = got
        .snapshot()
        .iter()
        .map(|m| String::from_utf8_lossy(m.body()).into_owned())
        .collect();
    for i in 0..n {
        assert!(bodies.contains(&format!("async-{i}")));
        assert!(bodies.contains(&format!("oneway-{i}")));
    }
    assert!(
        bodies.contains(&large),
        "the compressed body arrives decompressed"
    );
    consumer.shutdown().await;
    producer.shutdown().await;
    servers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_lands_contiguously_in_one_queue_and_selector_keeps_keys_together() {
    let servers = Servers::start(|_| {}).await;
    let topic = unique("Batch");
    servers.create_topic(&topic, 4).await;
    let producer = Producer::start(producer_options(&servers, &unique("pg")))
        .await
        .expect("producer");
    let batch: Vec<Message> = (0..16)
        .map(|i| Message::new(&topic, format!("batch-{i}")).with_tag("B"))
        .collect();
    let results = producer.send_batch(batch).await.expect("batch");
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].msg_id.split(',').count(), 16);
    let keys = ["order-1", "order-2", "order-3"];
    let mut queue_of_key = BTreeMap::new();
    for round in 0..5 {
        for key in keys {
            let m = Message::new(&topic, format!("{key}:{round}")).with_tag("O");
            let r = producer
                .send_with_selector(m, &SelectByHash, key)
                .await
                .expect("send");
            let q = queue_of_key.entry(key).or_insert(r.queue.queue_id);
            assert_eq!(*q, r.queue.queue_id, "same key, same queue");
        }
    }
    let got = Collected::default();
    let group = unique("cg");
    let consumer = PushConsumer::start(
        consumer_options(&servers, &group, &group),
        [(topic.clone(), FilterExpression::all())],
        got.listener(),
    )
    .await
    .expect("consumer");
    got.wait_for(16 + 15, WAIT).await;
    let messages = got.snapshot();
    let batch: Vec<_> = messages.iter().filter(|m| m.tag() == Some("B")).collect();
    assert_eq!(batch.len(), 16);
    let queues: BTreeSet<i32> = batch.iter().map(|m| m.queue().queue_id).collect();
    assert_eq!(queues.len(), 1, "one batch, one queue");
    let mut offsets: Vec<i64> = batch.iter().map(|m| m.queue_offset()).collect();
    offsets.sort();
    assert!(
        offsets.windows(2).all(|w| w[1] == w[0] + 1),
        "contiguous offsets {offsets:?}"
    );
    for key in keys {
        let qs: BTreeSet<i32> = messages
            .iter()
            .filter(|m| String::from_utf8_lossy(m.body()).starts_with(&format!("{key}:")))
            .map(|m| m.queue().queue_id)
            .collect();
        assert_eq!(qs.len(), 1, "{key} stays in one queue");
    }
    consumer.shutdown().await;
    producer.shutdown().await;
    servers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flow_control_bounds_the_messages_cached_per_queue() {
    let servers = Servers::start(|_| {}).await;
    let topic = unique("Flow");
    servers.create_topic(&topic, 1).await;
    let producer = Producer::start(producer_options(&servers, &unique("pg")))
        .await
        .expect("producer");
    let batch: Vec<Message> = (0..100)
        .map(|i| Message::new(&topic, format!("f{i}")))
        .collect();
    producer.send_batch(batch).await.expect("batch");
    let gate = std::sync::Arc::new((std::sync::Mutex::new(false), std::sync::Condvar::new()));
    let consumed = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (g, c) = (gate.clone(), consumed.clone());
    let group = unique("cg");
    let mut options = consumer_options(&servers, &group, &group);
    options.pull_threshold_for_queue = 10;
    options.pull_batch_size = 5;
    options.consume_threads = 1;
    let consumer = PushConsumer::start(
        options,
        [(topic.clone(), FilterExpression::all())],
        move |_: &[ferromq_client::MessageView]| {
            let (open, cv) = &*g;
            let mut open = open.lock().expect("lock");
            while !*open {
                open = cv.wait(open).expect("wait");
            }
            c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            ferromq_client::ConsumeResult::Success
        },
    )
    .await
    .expect("consumer");
    // The listener is blocked: pulling stops once more than 10 messages wait.
    common::wait_for("the cache to fill", WAIT, || async {
        consumer.cached_messages() > 10
    })
    .await;
    // Two more pull rounds' worth of time (each would add 5) must not grow the cache: pulls
    // are paused. Observed through the cache size only, so this cannot fail on a slow machine.
    for _ in 0..10 {
        assert!(
            consumer.cached_messages() <= 15,
            "cached {}",
            consumer.cached_messages()
        );
        tokio::task::yield_now().await;
    }
    {
        let (open, cv) = &*gate;
        *open.lock().expect("lock") = true;
        cv.notify_all();
    }
    common::wait_for("all 100", WAIT, || async {
        consumed.load(std::sync::atomic::Ordering::SeqCst) == 100
    })
    .await;
    consumer.shutdown().await;
    producer.shutdown().await;
    servers.stop().await;
}

/// A blocking listener that waits gets `consume_threads` calls at once, never more: the consume
/// threads spread waiting calls over every thread (each call here blocks until four are
/// running), and each call's thread has the runtime's context, as tokio's blocking threads do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_listeners_run_consume_threads_calls_at_once() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Arc, Condvar, Mutex};

    const THREADS: usize = 4;
    let servers = Servers::start(|_| {}).await;
    let topic = unique("Spread");
    servers.create_topic(&topic, 1).await;
    let producer = Producer::start(producer_options(&servers, &unique("pg")))
        .await
        .expect("producer");
    let batch: Vec<Message> = (0..12)
        .map(|i| Message::new(&topic, format!("s{i}")))
        .collect();
    producer.send_batch(batch).await.expect("batch");

    // (calls running now, most calls running at once), and a flag that ends the waiting.
    let running = Arc::new((Mutex::new((0usize, 0usize)), Condvar::new()));
    let give_up = Arc::new(AtomicBool::new(false));
    let consumed = Arc::new(AtomicUsize::new(0));
    let in_runtime = Arc::new(AtomicUsize::new(0));
    let (r, g, c, rt) = (
        running.clone(),
        give_up.clone(),
        consumed.clone(),
        in_runtime.clone(),
    );
    let group = unique("cg");
    let mut options = consumer_options(&servers, &group, &group);
    options.consume_threads = THREADS;
    let consumer = PushConsumer::start(
        options,
        [(topic.clone(), FilterExpression::all())],
        move |_: &[ferromq_client::MessageView]| {
            if tokio::runtime::Handle::try_current().is_ok() {
                rt.fetch_add(1, Ordering::SeqCst);
            }
            let (state, cv) = &*r;
            let mut s = state.lock().expect("lock");
            s.0 += 1;
            s.1 = s.1.max(s.0);
            cv.notify_all();
            while s.1 < THREADS && !g.load(Ordering::SeqCst) {
                s = cv
                    .wait_timeout(s, Duration::from_millis(100))
                    .expect("wait")
                    .0;
            }
            s.0 -= 1;
            c.fetch_add(1, Ordering::SeqCst);
            ferromq_client::ConsumeResult::Success
        },
    )
    .await
    .expect("consumer");
    let peak = || running.0.lock().expect("lock").1;
    let reached = tokio::time::timeout(WAIT, async {
        while peak() < THREADS {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    give_up.store(true, Ordering::SeqCst);
    assert!(
        reached.is_ok(),
        "at most {} calls ran at once, {THREADS} expected",
        peak()
    );
    common::wait_for("all 12", WAIT, || async {
        consumed.load(Ordering::SeqCst) == 12
    })
    .await;
    assert_eq!(
        peak(),
        THREADS,
        "never more calls at once than consume_threads"
    );
    assert_eq!(in_runtime.load(Ordering::SeqCst), 12);
    consumer.shutdown().await;
    producer.shutdown().await;
    servers.stop().await;
}

/// Asynchronous listeners: the futures are awaited (the listener sleeps before answering), a
/// `ReconsumeLater` future brings the message back through `%RETRY%` with reconsumeTimes 1,
/// and an orderly async listener sees each queue in offset order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_listeners_are_awaited_retried_and_ordered() {
    use ferromq_client::{ConsumeResult, MessageView, OrderlyResult};
    use std::sync::{Arc, Mutex};

    let servers = Servers::start(|s| s.store.message_delay_level = "1s 1s 1s 1s".to_owned()).await;
    let topic = unique("AsyncListener");
    servers.create_topic(&topic, 2).await;
    let producer = Producer::start(producer_options(&servers, &unique("pg")))
        .await
        .expect("producer");
    let n = 12;
    for i in 0..n {
        let m = Message::new(&topic, format!("a-{i}")).with_keys([format!("{}", i % 3)]);
        producer
            .send_with_selector(m, &SelectByHash, &format!("{}", i % 3))
            .await
            .expect("send");
    }

    // Concurrent: message a-5 fails once.
    let seen: Arc<Mutex<Vec<(String, i32)>>> = Arc::default();
    let group = unique("cg");
    let consumer = PushConsumer::start_async(
        consumer_options(&servers, &group, &group),
        [(topic.clone(), FilterExpression::all())],
        {
            let seen = seen.clone();
            move |messages: Vec<MessageView>| {
                let seen = seen.clone();
                async move {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    let mut fail = false;
                    for m in &messages {
                        let body = String::from_utf8_lossy(m.body()).into_owned();
                        fail |= body == "a-5" && m.reconsume_times() == 0;
                        seen.lock().expect("seen").push((body, m.reconsume_times()));
                    }
                    if fail {
                        ConsumeResult::ReconsumeLater
                    } else {
                        ConsumeResult::Success
                    }
                }
            }
        },
    )
    .await
    .expect("consumer");
    common::wait_for("the retried message", WAIT, || {
        let seen = seen.clone();
        async move {
            let seen = seen.lock().expect("seen");
            seen.iter().any(|(b, r)| b == "a-5" && *r == 1)
                && (0..n).all(|i| seen.iter().any(|(b, _)| *b == format!("a-{i}")))
        }
    })
    .await;
    consumer.shutdown().await;

    // Orderly: per sharding key, bodies arrive in send order.
    let ordered: Arc<Mutex<Vec<String>>> = Arc::default();
    let group = unique("cg-orderly");
    let consumer = PushConsumer::start_orderly_async(
        consumer_options(&servers, &group, &group),
        [(topic.clone(), FilterExpression::all())],
        {
            let ordered = ordered.clone();
            move |messages: Vec<MessageView>| {
                let ordered = ordered.clone();
                async move {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    let mut got = ordered.lock().expect("ordered");
                    got.extend(
                        messages
                            .iter()
                            .map(|m| String::from_utf8_lossy(m.body()).into_owned()),
                    );
                    OrderlyResult::Success
                }
            }
        },
    )
    .await
    .expect("orderly consumer");
    common::wait_for("every message, orderly", WAIT, || {
        let ordered = ordered.clone();
        async move { ordered.lock().expect("ordered").len() >= n }
    })
    .await;
    let got = ordered.lock().expect("ordered").clone();
    for key in 0..3 {
        let of_key: Vec<usize> = got
            .iter()
            .filter_map(|b| b.strip_prefix("a-")?.parse::<usize>().ok())
            .filter(|i| i % 3 == key)
            .collect();
        let mut sorted = of_key.clone();
        sorted.sort_unstable();
        assert_eq!(of_key, sorted, "key {key} in send order: {got:?}");
    }
    consumer.shutdown().await;
    producer.shutdown().await;
    servers.stop().await;
}
