//! Producer sends against a real FerroMQ name server and broker.

mod common;

use std::time::Duration;

use common::{unique, Servers};
use ferromq_client::{ErrorKind, Message, Producer, ProducerOptions, SendStatus};

fn options(servers: &Servers, group: &str) -> ProducerOptions {
    ProducerOptions {
        client: servers.client_config(group),
        group: group.to_owned(),
        ..ProducerOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_send_reports_queue_offset_and_ids() {
    let servers = Servers::start(|_| {}).await;
    let topic = unique("SyncSend");
    servers.create_topic(&topic, 4).await;
    let producer = Producer::start(options(&servers, &unique("pg")))
        .await
        .expect("start");
    let mut ids = Vec::new();
    for i in 0..8 {
        let m = Message::new(&topic, format!("hello {i}"))
            .with_tag("TagA")
            .with_keys(["k1"]);
        let r = producer.send(m).await.expect("send");
        assert_eq!(r.status, SendStatus::Ok);
        assert_eq!(r.queue.topic, topic);
        assert_eq!(
            r.msg_id.len(),
            32,
            "UNIQ_KEY in Apache's format: {}",
            r.msg_id
        );
        assert!(!r.offset_msg_id.is_empty());
        ids.push(r.msg_id);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 8);
    producer.shutdown().await;
    servers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_clear_errors_and_the_producer_keeps_working() {
    let servers = Servers::start(|_| {}).await;
    let topic = unique("BadInput");
    servers.create_topic(&topic, 2).await;
    let producer = Producer::start(options(&servers, &unique("pg")))
        .await
        .expect("start");
    let e = producer
        .send(Message::new("bad topic!", "x"))
        .await
        .expect_err("illegal topic");
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let big = vec![b'x'; 4 * 1024 * 1024 + 1];
    let e = producer
        .send(Message::new(&topic, big))
        .await
        .expect_err("oversized");
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    producer
        .send(Message::new(&topic, "fine"))
        .await
        .expect("still works");
    producer.shutdown().await;

    let mut opts = options(&servers, &unique("pg"));
    opts.client.namesrv_addr = "127.0.0.1:1".to_owned();
    opts.client.request_timeout = Duration::from_millis(500);
    let lost = Producer::start(opts).await.expect("start");
    let e = lost
        .send(Message::new(&topic, "x"))
        .await
        .expect_err("no name server");
    assert_eq!(e.kind(), ErrorKind::Connect, "{e}");
    lost.shutdown().await;
    servers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_requests_still_work_against_a_server_without_acl() {
    let servers = Servers::start(|_| {}).await;
    let topic = unique("Signed");
    servers.create_topic(&topic, 2).await;
    let mut opts = options(&servers, &unique("pg"));
    opts.client.credentials = Some(ferromq_client::Credentials::new("ak", "sk"));
    let producer = Producer::start(opts).await.expect("start");
    let r = producer
        .send(Message::new(&topic, "signed"))
        .await
        .expect("send");
    assert_eq!(r.status, SendStatus::Ok);
    producer.shutdown().await;
    servers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_topic_is_created_through_the_tbw102_route() {
    let servers = Servers::start(|_| {}).await;
    let topic = unique("AutoCreated");
    let producer = Producer::start(options(&servers, &unique("pg")))
        .await
        .expect("start");
    let r = producer
        .send(Message::new(&topic, "first"))
        .await
        .expect("send");
    assert_eq!(r.queue.topic, topic);
    // The broker created the topic and registered it: a fresh route lookup finds it.
    common::wait_for("the new route", Duration::from_secs(30), || async {
        producer.client().fetch_route(&topic).await.is_ok()
    })
    .await;
    producer
        .send(Message::new(&topic, "second"))
        .await
        .expect("send");
    producer.shutdown().await;
    servers.stop().await;
}

/// A transport decorator: counts requests and passes them to the TCP transport.
struct Counting {
    inner: std::sync::Arc<ferromq_client::TcpTransport>,
    requests: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl ferromq_client::Transport for Counting {
    fn request<'a>(
        &'a self,
        addr: &'a str,
        request: ferromq_protocol::RemotingCommand,
        timeout: Duration,
    ) -> futures::future::BoxFuture<'a, ferromq_client::Result<ferromq_protocol::RemotingCommand>>
    {
        self.requests
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.request(addr, request, timeout)
    }

    fn request_oneway<'a>(
        &'a self,
        addr: &'a str,
        request: ferromq_protocol::RemotingCommand,
    ) -> futures::future::BoxFuture<'a, ferromq_client::Result<()>> {
        self.inner.request_oneway(addr, request)
    }

    fn close(&self) {
        ferromq_client::Transport::close(self.inner.as_ref());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_transport_plugs_in_through_the_factory() {
    let servers = Servers::start(|_| {}).await;
    let topic = unique("Factory");
    servers.create_topic(&topic, 2).await;
    let requests = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = requests.clone();
    let mut opts = options(&servers, &unique("pg"));
    opts.client.transport = Some(ferromq_client::TransportFactory::new(move |handler| {
        std::sync::Arc::new(Counting {
            inner: std::sync::Arc::new(ferromq_client::TcpTransport::new(handler)),
            requests: counter.clone(),
        })
    }));
    let producer = Producer::start(opts).await.expect("start");
    producer
        .send(Message::new(&topic, "via the factory"))
        .await
        .expect("send");
    // At least the route lookup and the send went through it.
    assert!(requests.load(std::sync::atomic::Ordering::SeqCst) >= 2);
    producer.shutdown().await;
    servers.stop().await;
}
