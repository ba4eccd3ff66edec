//! Client-side counters ([`ferromq_client::metrics`]) against a real FerroMQ name server and
//! broker: what a producer sent and failed, what a push consumer consumed, its rebalances and
//! the lag of each queue it holds.

mod common;

use std::time::Duration;

use common::{consumer_options, producer_options, unique, wait_for, Collected, Servers};
use ferromq_client::{ErrorKind, FilterExpression, Message, Producer, PushConsumer};

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn producer_and_consumer_count_what_they_did() {
    let servers = Servers::start(|_| {}).await;
    let topic = unique("Metered");
    servers.create_topic(&topic, 4).await;
    let producer = Producer::start(producer_options(&servers, &unique("pg")))
        .await
        .expect("producer");
    assert_eq!(producer.metrics().sends, 0);
    for i in 0..10 {
        producer
            .send(Message::new(&topic, format!("m{i}")))
            .await
            .expect("send");
    }
    let batch = (0..5)
        .map(|i| Message::new(&topic, format!("b{i}")))
        .collect();
    assert_eq!(producer.send_batch(batch).await.expect("batch").len(), 1);
    let refused = producer
        .send(Message::new("bad/topic", "x"))
        .await
        .expect_err("an illegal topic is refused");
    assert_eq!(refused.kind(), ErrorKind::InvalidArgument);

    let m = producer.metrics();
    assert_eq!(m.sends, 11, "ten sends and one batch");
    assert_eq!(m.messages, 15);
    assert_eq!(m.send_failures, 1);
    assert_eq!(m.send_latency.count, 12);
    assert_eq!(m.send_latency.counts.iter().sum::<u64>(), 12);
    assert_eq!(
        m.send_latency.counts.len(),
        m.send_latency.bounds_ms.len() + 1
    );

    let got = Collected::default();
    let group = unique("cg");
    let consumer = PushConsumer::start(
        consumer_options(&servers, &group, &group),
        [(topic.clone(), FilterExpression::all())],
        got.listener(),
    )
    .await
    .expect("consumer");
    got.wait_for(15, WAIT).await;
    wait_for("the consumer's counters and offsets", WAIT, || {
        let m = consumer.metrics();
        let held = m.queues.iter().filter(|q| q.queue.topic == topic).count();
        async move { m.consumed == 15 && held == 4 && m.total_lag() == 0 }
    })
    .await;
    let m = consumer.metrics();
    assert_eq!(m.consume_failures, 0);
    assert_eq!(m.consume_latency.count, 15, "one listener call per message");
    assert!(m.rebalances >= 1, "the first assignment is a rebalance");
    let ends: i64 = m
        .queues
        .iter()
        .filter(|q| q.queue.topic == topic)
        .map(|q| q.broker_max_offset)
        .sum();
    assert_eq!(ends, 15, "the queues' ends add up to what was sent");
    // The group's retry topic is held too, as Apache's consumers hold it.
    let retry = format!("%RETRY%{group}");
    assert!(m
        .queues
        .iter()
        .all(|q| q.queue.topic == topic || q.queue.topic == retry));

    consumer.shutdown().await;
    producer.shutdown().await;
    servers.stop().await;
}
