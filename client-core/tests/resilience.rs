//! Failures against real FerroMQ servers (`testing::LocalCluster`: the `mqnamesrv`/`mqbroker`
//! processes): a dead name server in the list, a broker killed with SIGKILL (sends retried on
//! the other broker), and a broker killed and restarted (connections re-opened).

mod common;

use std::time::Duration;

use common::{unique, wait_for, Collected};
use ferromq_client::testing::LocalCluster;
use ferromq_client::{
    Admin, ConsumeFrom, FilterExpression, Message, Producer, ProducerOptions, PushConsumer,
    PushConsumerOptions, TopicOptions,
};

const WAIT: Duration = Duration::from_secs(30);

fn producer_options(cluster: &LocalCluster, group: &str) -> ProducerOptions {
    ProducerOptions {
        client: cluster.client_config(group),
        group: group.to_owned(),
        ..ProducerOptions::default()
    }
}

/// Creates `topic` with two queues on every broker and waits until the route lists them all.
async fn create_topic(cluster: &LocalCluster, topic: &str) {
    let admin = Admin::new(&cluster.client_config("admin")).expect("admin");
    let options = TopicOptions {
        queue_nums: 2,
        ..TopicOptions::default()
    };
    admin
        .create_topic("DefaultCluster", topic, &options)
        .await
        .expect("create");
    let groups = cluster.brokers().len();
    wait_for("route on every broker", WAIT, || async {
        admin
            .topic_route(topic)
            .await
            .map(|r| r.queue_datas.len() == groups)
            .unwrap_or(false)
    })
    .await;
    admin.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_name_server_in_the_list_is_skipped() {
    let cluster = LocalCluster::start(1).expect("cluster");
    let topic = unique("NsFailover");
    create_topic(&cluster, &topic).await;
    let mut options = producer_options(&cluster, &unique("pg"));
    // A closed port first: the client moves on to the live one and sticks to it.
    options.client.namesrv_addr = format!("127.0.0.1:1;{}", cluster.namesrv_addr());
    let producer = Producer::start(options).await.expect("producer");
    for i in 0..3 {
        producer
            .send(Message::new(&topic, format!("m{i}")))
            .await
            .expect("send");
    }
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_move_to_the_other_broker_when_one_dies() {
    let cluster = LocalCluster::start(2).expect("cluster of two brokers");
    let topic = unique("TwoBrokers");
    create_topic(&cluster, &topic).await;
    let mut options = producer_options(&cluster, &unique("pg"));
    options.latency_fault_enable = true;
    let producer = Producer::start(options).await.expect("producer");
    let mut brokers = std::collections::BTreeSet::new();
    for i in 0..8 {
        let r = producer
            .send(Message::new(&topic, format!("before{i}")))
            .await
            .expect("send");
        brokers.insert(r.queue.broker_name);
    }
    assert_eq!(brokers.len(), 2, "round robin over both brokers");
    // Broker b dies; the producer's cached route still lists it.
    cluster.broker(1).kill();
    for i in 0..8 {
        let r = producer
            .send(Message::new(&topic, format!("after{i}")))
            .await
            .expect("retried on a");
        assert_eq!(r.queue.broker_name, cluster.broker(0).broker_name());
    }
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_reconnect_after_a_broker_restart() {
    let cluster = LocalCluster::start(1).expect("cluster");
    let topic = unique("Restart");
    create_topic(&cluster, &topic).await;
    let producer = Producer::start(producer_options(&cluster, &unique("pg")))
        .await
        .expect("producer");
    let got = Collected::default();
    let group = unique("cg");
    let options = PushConsumerOptions {
        client: cluster.client_config(&group),
        group: group.clone(),
        consume_from: ConsumeFrom::FirstOffset,
        ..PushConsumerOptions::default()
    };
    let consumer = PushConsumer::start(
        options,
        [(topic.clone(), FilterExpression::all())],
        got.listener(),
    )
    .await
    .expect("consumer");
    producer
        .send(Message::new(&topic, "first"))
        .await
        .expect("send");
    got.wait_for(1, WAIT).await;

    // Killed and started again on its store; the clients' tasks keep running meanwhile.
    tokio::task::block_in_place(|| {
        cluster.broker(0).kill();
        cluster.broker(0).restart()
    })
    .expect("restart");
    // The restarted broker re-registers; sends succeed again once it is back (the first tries may
    // hit the closed connection and back off).
    wait_for("a send after the restart", WAIT, || async {
        producer.send(Message::new(&topic, "second")).await.is_ok()
    })
    .await;
    wait_for("the consumer to resume", WAIT, || async {
        got.snapshot()
            .iter()
            .any(|m| m.body().as_ref() == b"second")
    })
    .await;
    consumer.shutdown().await;
    producer.shutdown().await;
}
