//! The lite pull consumer against a real FerroMQ name server and broker: assign, poll, seek,
//! commit, pause / resume, committed offsets surviving a restart, and subscribe mode.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{poll_until, producer_options, unique, wait_for, Servers};
use ferromq_client::{
    ConsumeFrom, FilterExpression, Message, MessageView, Producer, PullConsumer,
    PullConsumerOptions,
};

const WAIT: Duration = Duration::from_secs(30);

fn options(servers: &Servers, group: &str, instance: &str) -> PullConsumerOptions {
    PullConsumerOptions {
        client: servers.client_config(instance),
        group: group.to_owned(),
        consume_from: ConsumeFrom::FirstOffset,
        auto_commit: false,
        ..PullConsumerOptions::default()
    }
}

fn bodies(ms: &[MessageView]) -> Vec<String> {
    ms.iter()
        .map(|m| String::from_utf8_lossy(m.body()).into_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assign_poll_seek_commit_and_restart() {
    let servers = Servers::start(|_| {}).await;
    let topic = unique("Pull");
    servers.create_topic(&topic, 1).await;
    let producer = Producer::start(producer_options(&servers, &unique("pg")))
        .await
        .expect("producer");
    for i in 0..10 {
        producer
            .send(Message::new(&topic, format!("p{i}")))
            .await
            .expect("send");
    }
    let group = unique("pull");
    let consumer = PullConsumer::start(options(&servers, &group, &format!("{group}-a")))
        .await
        .expect("start");
    let queues = consumer.fetch_queues(&topic).await.expect("queues");
    assert_eq!(queues.len(), 1);
    let mq = queues[0].clone();
    consumer.assign(queues.clone()).await.expect("assign");
    let got = poll_until(&consumer, 10, WAIT).await;
    assert_eq!(
        bodies(&got),
        (0..10).map(|i| format!("p{i}")).collect::<Vec<_>>(),
        "all 10, once, in order"
    );

    // Seek back re-reads.
    consumer.seek(&mq, 5).await.expect("seek");
    let again = poll_until(&consumer, 5, WAIT).await;
    assert_eq!(
        bodies(&again),
        (5..10).map(|i| format!("p{i}")).collect::<Vec<_>>()
    );

    // Commit 10, then a restarted consumer of the group starts there.
    consumer.commit().await.expect("commit");
    assert_eq!(consumer.committed(&mq).await.expect("committed"), Some(10));
    consumer.shutdown().await;
    for i in 10..13 {
        producer
            .send(Message::new(&topic, format!("p{i}")))
            .await
            .expect("send");
    }
    let restarted = PullConsumer::start(options(&servers, &group, &format!("{group}-b")))
        .await
        .expect("start");
    restarted.assign(vec![mq.clone()]).await.expect("assign");
    let rest = poll_until(&restarted, 3, WAIT).await;
    assert_eq!(bodies(&rest), ["p10", "p11", "p12"]);

    // Paused queues are not fetched; resumed ones are.
    restarted.pause(std::slice::from_ref(&mq));
    // Let a fetch in flight (started before the pause) deliver, then check nothing more comes.
    let _ = restarted
        .poll(Duration::from_millis(200))
        .await
        .expect("poll");
    producer
        .send(Message::new(&topic, "while-paused"))
        .await
        .expect("send");
    assert!(restarted
        .poll(Duration::from_millis(500))
        .await
        .expect("poll")
        .is_empty());
    restarted.resume(std::slice::from_ref(&mq));
    let resumed = poll_until(&restarted, 1, WAIT).await;
    assert_eq!(bodies(&resumed), ["while-paused"]);
    restarted.shutdown().await;
    producer.shutdown().await;
    servers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_mode_reads_every_queue_with_tag_filtering() {
    let servers = Servers::start(|_| {}).await;
    let topic = unique("PullSub");
    servers.create_topic(&topic, 4).await;
    let producer = Producer::start(producer_options(&servers, &unique("pg")))
        .await
        .expect("producer");
    for i in 0..12 {
        let tag = if i % 2 == 0 { "keep" } else { "skip" };
        producer
            .send(Message::new(&topic, format!("s{i}")).with_tag(tag))
            .await
            .expect("send");
    }
    let group = unique("pullsub");
    let consumer = PullConsumer::start(options(&servers, &group, &group))
        .await
        .expect("start");
    consumer
        .subscribe(&topic, FilterExpression::tag("keep"))
        .await
        .expect("subscribe");
    wait_for("4 queues", WAIT, || async {
        consumer.assignment().len() == 4
    })
    .await;
    let got = poll_until(&consumer, 6, WAIT).await;
    let got: BTreeSet<String> = bodies(&got).into_iter().collect();
    assert_eq!(got, (0..12).step_by(2).map(|i| format!("s{i}")).collect());
    consumer.shutdown().await;
    producer.shutdown().await;
    servers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_message_hands_out_one_at_a_time_and_ends_at_shutdown() {
    let servers = Servers::start(|_| {}).await;
    let topic = unique("PullNext");
    servers.create_topic(&topic, 1).await;
    let producer = Producer::start(producer_options(&servers, &unique("pg")))
        .await
        .expect("producer");
    for i in 0..5 {
        producer
            .send(Message::new(&topic, format!("n{i}")))
            .await
            .expect("send");
    }
    let group = unique("pullnext");
    let consumer = PullConsumer::start(options(&servers, &group, &format!("{group}-a")))
        .await
        .expect("start");
    let queues = consumer.fetch_queues(&topic).await.expect("queues");
    consumer.assign(queues.clone()).await.expect("assign");

    // One message per call, in order, though the broker hands out batches of up to 10.
    let first = consumer.next_message(Some(WAIT)).await.expect("next");
    assert_eq!(bodies(first.as_slice()), vec!["n0"]);
    // poll returns what next_message left buffered first (this batch may hold the rest).
    let mut rest = consumer.poll(WAIT).await.expect("poll");
    while rest.len() < 4 {
        let more = consumer.next_message(Some(WAIT)).await.expect("next");
        rest.extend(more);
    }
    assert_eq!(bodies(&rest), vec!["n1", "n2", "n3", "n4"]);

    // A seek drops what is buffered of the queue and reads again from the offset.
    consumer.seek(&queues[0], 3).await.expect("seek");
    let again = consumer.next_message(Some(WAIT)).await.expect("next");
    assert_eq!(bodies(again.as_slice()), vec!["n3"]);

    // Nothing more: the limit ends the wait with None.
    let last = consumer.next_message(Some(WAIT)).await.expect("next");
    assert_eq!(bodies(last.as_slice()), vec!["n4"]);
    assert!(consumer
        .next_message(Some(Duration::from_millis(200)))
        .await
        .expect("next")
        .is_none());

    // An unlimited wait ends when the consumer shuts down.
    let waiting = {
        let c = consumer.clone();
        tokio::spawn(async move { c.next_message(None).await })
    };
    consumer.shutdown().await;
    let ended = tokio::time::timeout(WAIT, waiting)
        .await
        .expect("next_message returned after shutdown")
        .expect("task");
    assert!(matches!(ended, Ok(None)));
    assert!(consumer.next_message(None).await.expect("after").is_none());
    producer.shutdown().await;
}
