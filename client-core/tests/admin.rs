//! The admin client against a real FerroMQ name server and broker.

mod common;

use std::time::Duration;

use common::{consumer_options, producer_options, unique, wait_for, Collected, Servers};
use ferromq_client::{Admin, ErrorKind, FilterExpression, Message, Producer, PushConsumer};

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_progress_queries_and_deletion() {
    let servers = Servers::start(|_| {}).await;
    let topic = unique("Admin");
    servers.create_topic(&topic, 2).await;
    let admin = Admin::new(&servers.client_config("admin-test")).expect("admin");
    let cluster = admin.cluster_info().await.expect("cluster info");
    assert!(cluster.cluster_addr_table.contains_key("DefaultCluster"));

    let producer = Producer::start(producer_options(&servers, &unique("pg")))
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
        consumer_options(&servers, &group, &group),
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
    servers.stop().await;
}
