//! Request-reply (docs/request-reply.md) between Rust clients through a real FerroMQ name server
//! and broker: the reply comes back to its requester, concurrent requests get their own replies,
//! a request without a reply times out (and its late reply does not confuse the next request),
//! and the broker refuses a reply whose requester it does not know.

mod common;

use std::time::Duration;

use common::{consumer_options, producer_options, unique, Servers};
use ferromq_client::{
    ConsumeResult, ErrorKind, FilterExpression, Message, MessageView, Producer, PushConsumer,
};
use ferromq_protocol::message::property;
use ferromq_protocol::ResponseCode;

const TIMEOUT: Duration = Duration::from_secs(20);

/// A responder: a push consumer of `topic` answering `pong:<body>` through `producer`; a body
/// starting with `slow` is answered after 1.5 s.
async fn responder(servers: &Servers, topic: &str, producer: Producer) -> PushConsumer {
    let group = unique("responder");
    PushConsumer::start_async(
        consumer_options(servers, &group, &group),
        [(topic.to_owned(), FilterExpression::all())],
        move |messages: Vec<MessageView>| {
            let producer = producer.clone();
            async move {
                for m in messages {
                    if m.body().starts_with(b"slow") {
                        tokio::time::sleep(Duration::from_millis(1500)).await;
                    }
                    let mut body = b"pong:".to_vec();
                    body.extend_from_slice(m.body());
                    let reply = Message::reply_to(&m, body).expect("a request");
                    if let Err(e) = producer.send_reply(reply).await {
                        // A reply to a requester that gave up may be refused; not a test failure.
                        eprintln!("reply not delivered: {e}");
                    }
                }
                ConsumeResult::Success
            }
        },
    )
    .await
    .expect("responder")
}

struct Setup {
    servers: Servers,
    topic: String,
    requester: Producer,
    replier: Producer,
    consumer: PushConsumer,
}

async fn setup() -> Setup {
    let servers = Servers::start(|_| {}).await;
    let topic = unique("Rpc");
    servers.create_topic(&topic, 4).await;
    let replier = Producer::start(producer_options(&servers, &unique("replier")))
        .await
        .expect("replier");
    let consumer = responder(&servers, &topic, replier.clone()).await;
    let requester = Producer::start(producer_options(&servers, &unique("requester")))
        .await
        .expect("requester");
    Setup {
        servers,
        topic,
        requester,
        replier,
        consumer,
    }
}

impl Setup {
    async fn stop(self) {
        self.consumer.shutdown().await;
        self.requester.shutdown().await;
        self.replier.shutdown().await;
        self.servers.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_gets_its_reply_and_concurrent_requests_are_matched() {
    let s = setup().await;
    let reply = s
        .requester
        .request(Message::new(&s.topic, "ping"), TIMEOUT)
        .await
        .expect("reply");
    assert_eq!(reply.body().as_ref(), b"pong:ping");
    assert_eq!(reply.topic(), "DefaultCluster_REPLY_TOPIC");
    assert_eq!(reply.property(property::MESSAGE_TYPE), Some("reply"));
    assert_eq!(
        reply.property(property::MESSAGE_REPLY_TO_CLIENT),
        Some(s.requester.client().id())
    );
    assert_eq!(reply.property(property::MESSAGE_TTL), Some("20000"));
    assert!(reply.property(property::CORRELATION_ID).is_some());

    // 16 requests at once, each must get the reply to its own body.
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..16 {
        let requester = s.requester.clone();
        let topic = s.topic.clone();
        tasks.spawn(async move {
            let body = format!("req-{i}");
            let reply = requester
                .request(Message::new(&topic, body.clone()), TIMEOUT)
                .await
                .expect("reply");
            (body, reply)
        });
    }
    let mut answered = 0;
    while let Some(done) = tasks.join_next().await {
        let (body, reply) = done.expect("task");
        assert_eq!(reply.body().as_ref(), format!("pong:{body}").as_bytes());
        answered += 1;
    }
    assert_eq!(answered, 16);

    // The callback form.
    let (tx, rx) = tokio::sync::oneshot::channel();
    s.requester
        .request_async(Message::new(&s.topic, "cb"), TIMEOUT, move |r| {
            let _ = tx.send(r);
        });
    let reply = rx.await.expect("callback").expect("reply");
    assert_eq!(reply.body().as_ref(), b"pong:cb");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_times_out_and_its_late_reply_is_dropped() {
    let s = setup().await;
    // Warm the route and the responder so that the slow request's timeout is about the reply.
    let warm = s
        .requester
        .request(Message::new(&s.topic, "warm"), TIMEOUT)
        .await
        .expect("reply");
    assert_eq!(warm.body().as_ref(), b"pong:warm");
    let e = s
        .requester
        .request(Message::new(&s.topic, "slow"), Duration::from_millis(500))
        .await
        .expect_err("no reply within 500 ms");
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    // The late reply of "slow" arrives while this one waits: it must not be taken for this one.
    let next = s
        .requester
        .request(Message::new(&s.topic, "after"), TIMEOUT)
        .await
        .expect("reply");
    assert_eq!(next.body().as_ref(), b"pong:after");

    let zero = s
        .requester
        .request(Message::new(&s.topic, "x"), Duration::ZERO)
        .await
        .expect_err("a zero timeout");
    assert_eq!(zero.kind(), ErrorKind::InvalidArgument);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_broker_refuses_a_reply_to_an_unknown_client() {
    let s = setup().await;
    let reply = Message::new("DefaultCluster_REPLY_TOPIC", "orphan")
        .with_property(property::MESSAGE_TYPE, "reply")
        .with_property(property::CORRELATION_ID, "no-such-request")
        .with_property(property::MESSAGE_REPLY_TO_CLIENT, "10.0.0.1@nobody");
    let e = s.replier.send_reply(reply).await.expect_err("refused");
    assert_eq!(e.response_code(), Some(ResponseCode::SYSTEM_ERROR), "{e}");
    assert!(
        e.remark()
            .is_some_and(|r| r.contains("channel of <10.0.0.1@nobody> not found")),
        "{e}"
    );
    // Without REPLY_TO_CLIENT at all.
    let reply = Message::new("DefaultCluster_REPLY_TOPIC", "orphan")
        .with_property(property::MESSAGE_TYPE, "reply");
    let e = s.replier.send_reply(reply).await.expect_err("refused");
    assert_eq!(e.response_code(), Some(ResponseCode::SYSTEM_ERROR), "{e}");
    assert!(
        e.remark().is_some_and(|r| r.contains("REPLY_TO_CLIENT")),
        "{e}"
    );
    // A plain message is not a reply.
    let e = s
        .replier
        .send_reply(Message::new(&s.topic, "plain"))
        .await
        .expect_err("not a reply");
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    s.stop().await;
}
