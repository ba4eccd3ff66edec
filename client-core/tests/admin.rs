//! The admin client against a real FerroMQ name server and broker (`testing::LocalCluster`:
//! the `mqnamesrv`/`mqbroker` processes).

mod common;

use std::time::Duration;

use common::{unique, wait_for, Collected};
use ferromq_client::testing::LocalCluster;
use ferromq_client::{
    Admin, ConsumeFrom, ErrorKind, FilterExpression, Message, Producer, ProducerOptions,
    PushConsumer, PushConsumerOptions, TopicOptions,
};

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_progress_queries_and_deletion() {
    let servers = LocalCluster::start(1).expect("cluster");
    let topic = unique("Admin");
    let admin = Admin::new(&servers.client_config("admin-test")).expect("admin");
    let options = TopicOptions {
        queue_nums: 2,
        ..TopicOptions::default()
    };
    admin
        .create_topic("DefaultCluster", &topic, &options)
        .await
        .expect("create topic");
    wait_for("topic route", WAIT, || async {
        admin
            .topic_route(&topic)
            .await
            .map(|r| r.queue_datas.iter().any(|q| q.write_queue_nums == 2))
            .unwrap_or(false)
    })
    .await;
    let cluster = admin.cluster_info().await.expect("cluster info");
    assert!(cluster.cluster_addr_table.contains_key("DefaultCluster"));

    let group = unique("pg");
    let producer = Producer::start(ProducerOptions {
        client: servers.client_config(&group),
        group,
        ..ProducerOptions::default()
    })
    .await
    .expect("producer");
    let mut sent = Vec::new();
    for i in 0..6 {
        let m = Message::new(&topic, format!("a{i}")).with_keys([format!("AK-{i}")]);
        sent.push(producer.send(m).await.expect("send"));
    }
    // FerroMQ acknowledges a send before it reaches the consume queue: wait for the dispatch.
    wait_for("6 messages in the queues", WAIT, || async {
        admin
            .topic_stats(&topic)
            .await
            .map(|s| s.len() == 2 && s.values().map(|o| o.max_offset).sum::<i64>() == 6)
            .unwrap_or(false)
    })
    .await;

    // Query by key and view by offsetMsgId find the message we sent.
    wait_for("the key index", WAIT, || async {
        admin
            .query_by_key(&topic, "AK-3", 8)
            .await
            .map(|v| v.len() == 1)
            .unwrap_or(false)
    })
    .await;
    let found = admin.query_by_key(&topic, "AK-3", 8).await.expect("query");
    assert_eq!(found[0].msg_id(), sent[3].msg_id);
    let viewed = admin
        .view_by_offset_id(&sent[4].offset_msg_id)
        .await
        .expect("view");
    assert_eq!(viewed.msg_id(), sent[4].msg_id);
    assert_eq!(viewed.body().as_ref(), b"a4");

    // Consumer progress after a consumer has committed everything.
    let got = Collected::default();
    let group = unique("cg");
    let consumer = PushConsumer::start(
        PushConsumerOptions {
            client: servers.client_config(&group),
            group: group.clone(),
            consume_from: ConsumeFrom::FirstOffset,
            ..PushConsumerOptions::default()
        },
        [(topic.clone(), FilterExpression::all())],
        got.listener(),
    )
    .await
    .expect("consumer");
    got.wait_for(6, WAIT).await;
    consumer.shutdown().await;
    let progress = admin
        .consumer_progress(&group, &topic)
        .await
        .expect("progress");
    assert_eq!(progress.values().map(|o| o.consumer_offset).sum::<i64>(), 6);
    assert_eq!(progress.values().map(|o| o.broker_offset).sum::<i64>(), 6);

    admin
        .delete_topic("DefaultCluster", &topic)
        .await
        .expect("delete");
    let e = admin.topic_route(&topic).await.expect_err("gone");
    assert_eq!(e.kind(), ErrorKind::TopicNotFound);
    admin.shutdown().await;
    producer.shutdown().await;
}
