//! Failures against real FerroMQ servers: a dead name server in the list, a broker that goes
//! away (sends retried on the other broker), and a broker restart (connections re-opened).

mod common;

use std::time::Duration;

use common::{consumer_options, producer_options, unique, wait_for, Collected, Servers};
use ferromq_client::{Admin, FilterExpression, Message, Producer, PushConsumer, TopicOptions};
use ferromq_tests::FerroBroker;

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_name_server_in_the_list_is_skipped() {
    let servers = Servers::start(|_| {}).await;
    let topic = unique("NsFailover");
    servers.create_topic(&topic, 2).await;
    let mut options = producer_options(&servers, &unique("pg"));
    // A closed port first: the client moves on to the live one and sticks to it.
    options.client.namesrv_addr = format!("127.0.0.1:1;{}", servers.namesrv.addr());
    let producer = Producer::start(options).await.expect("producer");
    for i in 0..3 {
        producer
            .send(Message::new(&topic, format!("m{i}")))
            .await
            .expect("send");
    }
    producer.shutdown().await;
    servers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_move_to_the_other_broker_when_one_dies() {
    let servers = Servers::start(|_| {}).await;
    let ns = servers.namesrv.addr().to_owned();
    let broker_b = tokio::task::spawn_blocking(move || {
        FerroBroker::start(&ns, |s| s.broker.broker_name = "ferro-broker-b".to_owned())
    })
    .await
    .expect("broker b");
    let admin = Admin::new(&servers.client_config("admin")).expect("admin");
    wait_for("two brokers", WAIT, || async {
        admin
            .cluster_info()
            .await
            .map(|c| c.broker_addr_table.len() == 2)
            .unwrap_or(false)
    })
    .await;
    let topic = unique("TwoBrokers");
    admin
        .create_topic(
            "DefaultCluster",
            &topic,
            &TopicOptions {
                queue_nums: 2,
                ..TopicOptions::default()
            },
        )
        .await
        .expect("create");
    wait_for("route on both brokers", WAIT, || async {
        admin
            .topic_route(&topic)
            .await
            .map(|r| r.queue_datas.len() == 2)
            .unwrap_or(false)
    })
    .await;
    admin.shutdown().await;
    let mut options = producer_options(&servers, &unique("pg"));
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
    // Broker b goes away; the producer's cached route still lists it.
    tokio::task::spawn_blocking(move || drop(broker_b))
        .await
        .expect("stop b");
    for i in 0..8 {
        let r = producer
            .send(Message::new(&topic, format!("after{i}")))
            .await
            .expect("retried on a");
        assert_eq!(r.queue.broker_name, "ferro-broker-a");
    }
    producer.shutdown().await;
    servers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_reconnect_after_a_broker_restart() {
    let servers = Servers::start(|_| {}).await;
    let topic = unique("Restart");
    servers.create_topic(&topic, 2).await;
    let producer = Producer::start(producer_options(&servers, &unique("pg")))
        .await
        .expect("producer");
    let got = Collected::default();
    let group = unique("cg");
    let consumer = PushConsumer::start(
        consumer_options(&servers, &group, &group),
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

    let Servers { namesrv, broker } = servers;
    let broker = tokio::task::spawn_blocking(move || broker.stop().start())
        .await
        .expect("restart");
    let servers = Servers { namesrv, broker };
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
    servers.stop().await;
}
