//! Request-reply interop with the official Java client (5.3.3) through FerroMQ's servers: a
//! Java requester (`DefaultMQProducer.request` with a `RequestCallback`) answered by our responder
//! (`Message::reply_to` + `send_reply`), and our requester answered by a Java responder
//! (`MessageUtil.createReplyMessage` + `send`).
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
