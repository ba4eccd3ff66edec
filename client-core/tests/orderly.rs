//! Orderly consumption against a real FerroMQ name server and broker: per-key order across a
//! rebalance, suspend-and-retry in place, and the DLQ after the maximum reconsume times.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{consumer_options, producer_options, unique, wait_for, Collected, Servers};
use ferromq_client::{
    FilterExpression, Message, MessageView, OrderlyResult, Producer, PushConsumer, SelectByHash,
};

const WAIT: Duration = Duration::from_secs(40);

type Log = Arc<Mutex<Vec<(String, u32)>>>;

fn recorder(log: &Log) -> impl Fn(&[MessageView]) -> OrderlyResult + Send + Sync + 'static {
    let log = log.clone();
    move |batch: &[MessageView]| {
        for m in batch {
            let body = String::from_utf8_lossy(m.body()).into_owned();
            let (key, seq) = body.split_once(':').expect("key:seq");
            log.lock()
                .expect("lock")
                .push((key.to_owned(), seq.parse().expect("seq")));
        }
        OrderlyResult::Success
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_key_is_consumed_in_order_across_a_rebalance() {
    let servers = Servers::start(|_| {}).await;
    let topic = unique("Ordered");
    servers.create_topic(&topic, 4).await;
    let group = unique("cg");
    let log: Log = Arc::default();
    let first = PushConsumer::start_orderly(
        consumer_options(&servers, &group, &format!("{group}-1")),
        [(topic.clone(), FilterExpression::all())],
        recorder(&log),
    )
    .await
    .expect("first");
    let producer = Producer::start(producer_options(&servers, &unique("pg")))
        .await
        .expect("producer");
    let keys = ["order-1", "order-2", "order-3"];
    let per_key = 30;
    for seq in 0..per_key / 2 {
        for key in keys {
            producer
                .send_with_selector(
                    Message::new(&topic, format!("{key}:{seq}")),
                    &SelectByHash,
                    key,
                )
                .await
                .expect("send");
        }
    }
    wait_for("some consumed", WAIT, || async {
        !log.lock().expect("lock").is_empty()
    })
    .await;
    // Mid-stream, two more members join: queues move between members while messages flow.
    let second = PushConsumer::start_orderly(
        consumer_options(&servers, &group, &format!("{group}-2")),
        [(topic.clone(), FilterExpression::all())],
        recorder(&log),
    )
    .await
    .expect("second");
    let third = PushConsumer::start_orderly(
        consumer_options(&servers, &group, &format!("{group}-3")),
        [(topic.clone(), FilterExpression::all())],
        recorder(&log),
    )
    .await
    .expect("third");
    for seq in per_key / 2..per_key {
        for key in keys {
            producer
                .send_with_selector(
                    Message::new(&topic, format!("{key}:{seq}")),
                    &SelectByHash,
                    key,
                )
                .await
                .expect("send");
        }
    }
    wait_for("everything", WAIT, || async {
        log.lock().expect("lock").len() >= keys.len() * per_key as usize
    })
    .await;
    let mut by_key: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for (key, seq) in log.lock().expect("lock").iter() {
        by_key.entry(key.clone()).or_default().push(*seq);
    }
    for key in keys {
        let seqs = &by_key[key];
        assert_eq!(
            *seqs,
            (0..per_key).collect::<Vec<_>>(),
            "{key} strictly in order, once each"
        );
    }
    for c in [first, second, third] {
        c.shutdown().await;
    }
    producer.shutdown().await;
    servers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_message_blocks_its_queue_then_goes_to_the_dlq() {
    let servers = Servers::start(|_| {}).await;
    let topic = unique("OrderedRetry");
    servers.create_topic(&topic, 1).await;
    let group = unique("cg");
    let seen: Arc<Mutex<Vec<(String, i32)>>> = Arc::default();
    let log = seen.clone();
    let mut options = consumer_options(&servers, &group, &group);
    options.max_reconsume_times = 2;
    let consumer = PushConsumer::start_orderly(
        options,
        [(topic.clone(), FilterExpression::all())],
        move |batch: &[MessageView]| {
            let m = &batch[0];
            let body = String::from_utf8_lossy(m.body()).into_owned();
            log.lock()
                .expect("lock")
                .push((body.clone(), m.reconsume_times()));
            if body == "poison" {
                OrderlyResult::SuspendCurrentQueueAMoment
            } else {
                OrderlyResult::Success
            }
        },
    )
    .await
    .expect("consumer");
    let producer = Producer::start(producer_options(&servers, &unique("pg")))
        .await
        .expect("producer");
    let poison = producer
        .send(Message::new(&topic, "poison"))
        .await
        .expect("send");
    producer
        .send(Message::new(&topic, "after"))
        .await
        .expect("send");
    wait_for("the message after the poison", WAIT, || async {
        seen.lock().expect("lock").iter().any(|(b, _)| b == "after")
    })
    .await;
    let log = seen.lock().expect("lock").clone();
    assert_eq!(
        log,
        vec![
            ("poison".to_owned(), 0),
            ("poison".to_owned(), 1),
            ("poison".to_owned(), 2),
            ("after".to_owned(), 0),
        ],
        "retried in place, in order, then given up"
    );
    let dlq = Collected::default();
    let dlq_group = unique("dlq");
    let dlq_consumer = PushConsumer::start(
        consumer_options(&servers, &dlq_group, &dlq_group),
        [(format!("%DLQ%{group}"), FilterExpression::all())],
        dlq.listener(),
    )
    .await
    .expect("dlq consumer");
    dlq.wait_for(1, WAIT).await;
    assert_eq!(dlq.snapshot()[0].msg_id(), poison.msg_id);
    dlq_consumer.shutdown().await;
    consumer.shutdown().await;
    producer.shutdown().await;
    servers.stop().await;
}
