//! Request-reply interop with the official Java client (5.3.3) through FerroMQ's servers: a
//! Java requester (`DefaultMQProducer.request` with a `RequestCallback`) answered by our responder
//! (`Message::reply_to` + `send_reply`), and our requester answered by a Java responder
//! (`MessageUtil.createReplyMessage` + `send`); and, through the Apache RocketMQ 5.3.3 broker, our
//! requester answered by a Java responder and by ours.
//!
//! Needs `java` and `mvn` on PATH; prints `SKIPPED` and passes otherwise (set
//! `FERROMQ_COMPAT_REQUIRED=1` to fail instead).

mod common;

use std::time::Duration;

use common::{consumer_options, producer_options, unique, wait_for, Servers};
use ferromq_client::{
    ConsumeResult, FilterExpression, Message, MessageView, Producer, PushConsumer,
};
use ferromq_protocol::message::property;
use ferromq_tests::clients::{java_request, java_respond};
use ferromq_tests::require_tools;

const JAVA: &[&str] = &["java", "mvn"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn java_requester_rust_responder() {
    if !require_tools("java_requester_rust_responder", JAVA) {
        return;
    }
    let servers = Servers::start(|_| {}).await;
    let topic = unique("RpcJavaToRust");
    servers.create_topic(&topic, 4).await;
    let replier = Producer::start(producer_options(&servers, &unique("replier")))
        .await
        .expect("replier");
    let group = unique("responder");
    let answering = replier.clone();
    let consumer = PushConsumer::start_async(
        consumer_options(&servers, &group, &group),
        [(topic.clone(), FilterExpression::all())],
        move |messages: Vec<MessageView>| {
            let producer = answering.clone();
            async move {
                for m in messages {
                    let mut body = b"pong:".to_vec();
                    body.extend_from_slice(m.body());
                    let reply = Message::reply_to(&m, body).expect("a request from Java");
                    producer.send_reply(reply).await.expect("reply accepted");
                }
                ConsumeResult::Success
            }
        },
    )
    .await
    .expect("responder");
    let namesrv = servers.namesrv.addr().to_owned();
    let t = topic.clone();
    let run = tokio::task::spawn_blocking(move || java_request(&namesrv, &t, 5, 30_000))
        .await
        .expect("java");
    run.assert_success();
    let replies = run
        .output
        .lines()
        .filter(|l| l.starts_with("REPLY\t"))
        .count();
    assert_eq!(replies, 5, "{}", run.output);
    consumer.shutdown().await;
    replier.shutdown().await;
    servers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_requester_java_responder() {
    if !require_tools("rust_requester_java_responder", JAVA) {
        return;
    }
    let servers = Servers::start(|_| {}).await;
    let topic = unique("RpcRustToJava");
    servers.create_topic(&topic, 4).await;
    let n = 4;
    let mut java = java_respond(servers.namesrv.addr(), &topic, n);
    wait_for("the Java responder", Duration::from_secs(60), || {
        let ready = java.output().contains("READY") || !java.is_running();
        async move { ready }
    })
    .await;
    let requester = Producer::start(producer_options(&servers, &unique("requester")))
        .await
        .expect("requester");
    for i in 0..n {
        let body = format!("rust-{i}");
        let reply = requester
            .request(Message::new(&topic, body.clone()), Duration::from_secs(30))
            .await
            .unwrap_or_else(|e| panic!("reply to {body}: {e}\n{}", java.output()));
        assert_eq!(reply.body().as_ref(), format!("pong:{body}").as_bytes());
        assert_eq!(reply.property(property::MESSAGE_TYPE), Some("reply"));
        assert_eq!(
            reply.property(property::MESSAGE_REPLY_TO_CLIENT),
            Some(requester.client().id())
        );
    }
    let run = tokio::task::spawn_blocking(move || java.finish())
        .await
        .expect("java");
    run.assert_success();
    requester.shutdown().await;
    servers.stop().await;
}

/// Through the Apache RocketMQ 5.3.3 name server and broker: our requester answered by a Java
/// responder, then by our own responder (Apache's `ReplyMessageProcessor` pushing to our
/// client).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_requester_through_the_apache_broker() {
    if !require_tools("rust_requester_through_the_apache_broker", JAVA) {
        return;
    }
    let (namesrv, broker) = tokio::task::spawn_blocking(|| {
        let namesrv = ferromq_tests::ApacheNamesrv::start();
        let mut broker = ferromq_tests::ApacheBroker::start(
            namesrv.addr(),
            ferromq_tests::BrokerOptions::default(),
        );
        broker.wait_registered(namesrv.addr(), Duration::from_secs(90));
        (namesrv, broker)
    })
    .await
    .expect("apache servers");
    let ns = namesrv.addr().to_owned();
    let config = |instance: &str| ferromq_client::ClientConfig {
        namesrv_addr: ns.clone(),
        instance_name: instance.to_owned(),
        ..ferromq_client::ClientConfig::default()
    };
    let producer = |group: &str| ferromq_client::ProducerOptions {
        client: config(group),
        group: group.to_owned(),
        ..ferromq_client::ProducerOptions::default()
    };
    let topic = unique("RpcApache");
    let admin = ferromq_client::Admin::new(&config("apache-admin")).expect("admin");
    admin
        .create_topic(
            "DefaultCluster",
            &topic,
            &ferromq_client::TopicOptions {
                queue_nums: 2,
                ..ferromq_client::TopicOptions::default()
            },
        )
        .await
        .expect("create topic");
    wait_for("topic route", Duration::from_secs(60), || async {
        admin.topic_route(&topic).await.is_ok()
    })
    .await;
    admin.shutdown().await;

    let requester = Producer::start(producer(&unique("requester")))
        .await
        .expect("requester");
    // A Java responder.
    let n = 3;
    let mut java = java_respond(&ns, &topic, n);
    wait_for("the Java responder", Duration::from_secs(60), || {
        let ready = java.output().contains("READY") || !java.is_running();
        async move { ready }
    })
    .await;
    for i in 0..n {
        let body = format!("apache-{i}");
        let reply = requester
            .request(Message::new(&topic, body.clone()), Duration::from_secs(30))
            .await
            .unwrap_or_else(|e| panic!("reply to {body}: {e}\n{}", java.output()));
        assert_eq!(reply.body().as_ref(), format!("pong:{body}").as_bytes());
    }
    let run = tokio::task::spawn_blocking(move || java.finish())
        .await
        .expect("java");
    run.assert_success();

    // Our responder, on a second topic.
    let topic2 = format!("{topic}_rust");
    let admin = ferromq_client::Admin::new(&config("apache-admin2")).expect("admin");
    admin
        .create_topic(
            "DefaultCluster",
            &topic2,
            &ferromq_client::TopicOptions::default(),
        )
        .await
        .expect("create topic");
    wait_for("topic route", Duration::from_secs(60), || async {
        admin.topic_route(&topic2).await.is_ok()
    })
    .await;
    admin.shutdown().await;
    let replier = Producer::start(producer(&unique("replier")))
        .await
        .expect("replier");
    let group = unique("responder");
    let answering = replier.clone();
    let consumer = PushConsumer::start_async(
        ferromq_client::PushConsumerOptions {
            client: config(&group),
            group: group.clone(),
            consume_from: ferromq_client::ConsumeFrom::FirstOffset,
            ..ferromq_client::PushConsumerOptions::default()
        },
        [(topic2.clone(), FilterExpression::all())],
        move |messages: Vec<MessageView>| {
            let producer = answering.clone();
            async move {
                for m in messages {
                    let mut body = b"pong:".to_vec();
                    body.extend_from_slice(m.body());
                    let reply = Message::reply_to(&m, body).expect("a request");
                    producer.send_reply(reply).await.expect("reply accepted");
                }
                ConsumeResult::Success
            }
        },
    )
    .await
    .expect("responder");
    let reply = requester
        .request(Message::new(&topic2, "ours"), Duration::from_secs(30))
        .await
        .expect("reply");
    assert_eq!(reply.body().as_ref(), b"pong:ours");
    consumer.shutdown().await;
    replier.shutdown().await;
    requester.shutdown().await;
    tokio::task::spawn_blocking(move || drop((broker, namesrv)))
        .await
        .expect("apache servers stop");
}
