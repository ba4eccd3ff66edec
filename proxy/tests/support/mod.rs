//! Shared pieces of the gRPC tests: a real name server and broker (LocalCluster), an in-process
//! `mqproxy` (cluster mode) in front of them, and a client from the same generated code.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferromq_client::testing::LocalCluster;
use ferromq_client::Admin;
use ferromq_protocol::body::TopicConfig;
use ferromq_proxy::pb::messaging_service_client::MessagingServiceClient;
use ferromq_proxy::pb::{self, telemetry_command::Command};
use ferromq_proxy::{Mode, Proxy, ProxyConfig};
use tokio::sync::{mpsc, oneshot};
use tonic::transport::Channel;

pub type Client = MessagingServiceClient<Channel>;

pub struct Env {
    pub cluster: LocalCluster,
    pub grpc_addr: std::net::SocketAddr,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A cluster with one broker (extra broker config lines given) and an in-process proxy.
pub async fn start(broker_lines: &[&str]) -> Env {
    start_with(broker_lines, |_| {}).await
}

/// As [`start`], with the proxy's config changed by `tweak`.
pub async fn start_with(broker_lines: &[&str], tweak: impl FnOnce(&mut ProxyConfig)) -> Env {
    let mut builder = LocalCluster::builder().brokers(1);
    for line in broker_lines {
        builder = builder.broker_config(*line);
    }
    let cluster = tokio::task::spawn_blocking(move || builder.start())
        .await
        .expect("join")
        .expect("cluster starts");
    let mut config = ProxyConfig {
        namesrv_addr: cluster.namesrv_addr().to_owned(),
        min_invisible_time_mills_for_recv: 1_000,
        ..ProxyConfig::default()
    };
    tweak(&mut config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let grpc_addr = listener.local_addr().expect("addr");
    let proxy = Proxy::new(config, Mode::Cluster);
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(ferromq_proxy::serve(proxy, listener, async {
        let _ = stopped.await;
    }));
    Env {
        cluster,
        grpc_addr,
        stop: Some(stop),
    }
}

impl Env {
    pub async fn client(&self) -> Client {
        connect(self.grpc_addr).await
    }

    /// Creates `topic` with `message.type` = `kind` on the broker.
    pub async fn create_topic(&self, topic: &str, kind: &str) {
        let admin = Admin::new(&self.cluster.client_config("grpc-test-admin")).expect("admin");
        let mut config = TopicConfig::new(topic, 4, 4);
        config.attributes = BTreeMap::from([("+message.type".to_owned(), kind.to_owned())]);
        admin
            .create_topic_at(&self.cluster.broker(0).addr(), &config)
            .await
            .expect("create topic");
        // The broker registers the new topic with the name server; wait for the route.
        let endpoints = endpoints(self.grpc_addr);
        let mut client = self.client().await;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let r = client
                .query_route(request(
                    pb::QueryRouteRequest {
                        topic: resource(topic),
                        endpoints: Some(endpoints.clone()),
                    },
                    "route-waiter",
                ))
                .await
                .expect("rpc")
                .into_inner();
            if code(&r.status) == pb::Code::Ok && !r.message_queues.is_empty() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "route of {topic} never appeared: {r:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Env {
    /// Creates consumer group `group` (orderly or not, with `retry_max_times`).
    pub async fn create_group(&self, group: &str, orderly: bool, retry_max_times: i32) {
        let admin = Admin::new(&self.cluster.client_config("grpc-test-admin")).expect("admin");
        let mut g = ferromq_client::SubscriptionGroup::new(group);
        g.consume_message_orderly = orderly;
        g.retry_max_times = retry_max_times;
        admin
            .create_subscription_group_at(&self.cluster.broker(0).addr(), &g)
            .await
            .expect("create group");
    }
}

pub async fn connect(addr: std::net::SocketAddr) -> Client {
    let channel = Channel::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    MessagingServiceClient::new(channel).max_decoding_message_size(64 * 1024 * 1024)
}

pub fn endpoints(addr: std::net::SocketAddr) -> pb::Endpoints {
    pb::Endpoints {
        scheme: pb::AddressScheme::IPv4 as i32,
        addresses: vec![pb::Address {
            host: addr.ip().to_string(),
            port: i32::from(addr.port()),
        }],
    }
}

pub fn resource(name: &str) -> Option<pb::Resource> {
    Some(pb::Resource {
        resource_namespace: String::new(),
        name: name.to_owned(),
    })
}

pub fn request<T>(message: T, client_id: &str) -> tonic::Request<T> {
    let mut r = tonic::Request::new(message);
    r.metadata_mut()
        .insert("x-mq-client-id", client_id.parse().expect("ascii id"));
    r
}

pub fn code(status: &Option<pb::Status>) -> pb::Code {
    status
        .as_ref()
        .and_then(|s| pb::Code::try_from(s.code).ok())
        .unwrap_or(pb::Code::Unspecified)
}

static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// A message for `topic` with a fresh id.
pub fn message(topic: &str, body: &str, kind: pb::MessageType) -> pb::Message {
    let n = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    pb::Message {
        topic: resource(topic),
        user_properties: Default::default(),
        system_properties: Some(pb::SystemProperties {
            tag: Some("TagA".to_owned()),
            keys: vec![format!("key-{n}")],
            message_id: format!("01GRPCTEST{n:020}"),
            message_type: kind as i32,
            ..Default::default()
        }),
        body: body.as_bytes().to_vec(),
    }
}

/// Opens a Telemetry stream, sends `settings` and returns the server's settings answer and the
/// stream of later commands (and the sender, which must stay alive to keep the stream open).
pub async fn telemetry(
    client: &mut Client,
    client_id: &str,
    settings: pb::Settings,
) -> (
    pb::TelemetryCommand,
    tonic::Streaming<pb::TelemetryCommand>,
    mpsc::Sender<pb::TelemetryCommand>,
) {
    let (tx, rx) = mpsc::channel(8);
    tx.send(pb::TelemetryCommand {
        status: None,
        command: Some(Command::Settings(settings)),
    })
    .await
    .expect("queue settings");
    let outbound = tokio_stream::wrappers::ReceiverStream::new(rx);
    let mut inbound = client
        .telemetry(request(outbound, client_id))
        .await
        .expect("telemetry")
        .into_inner();
    let first = tokio::time::timeout(Duration::from_secs(10), inbound.message())
        .await
        .expect("settings answer in time")
        .expect("stream ok")
        .expect("an answer");
    (first, inbound, tx)
}

pub fn producer_settings(topics: &[&str], access: pb::Endpoints) -> pb::Settings {
    pb::Settings {
        client_type: Some(pb::ClientType::Producer as i32),
        access_point: Some(access),
        pub_sub: Some(pb::settings::PubSub::Publishing(pb::Publishing {
            topics: topics.iter().filter_map(|t| resource(t)).collect(),
            max_body_size: 0,
            validate_message_type: true,
        })),
        ..Default::default()
    }
}

pub fn consumer_settings(group: &str, topic: &str, access: pb::Endpoints) -> pb::Settings {
    pb::Settings {
        client_type: Some(pb::ClientType::SimpleConsumer as i32),
        access_point: Some(access),
        pub_sub: Some(pb::settings::PubSub::Subscription(pb::Subscription {
            group: resource(group),
            subscriptions: vec![pb::SubscriptionEntry {
                topic: resource(topic),
                expression: Some(pb::FilterExpression {
                    r#type: pb::FilterType::Tag as i32,
                    expression: "*".to_owned(),
                }),
            }],
            ..Default::default()
        })),
        ..Default::default()
    }
}

/// One ReceiveMessage call: (status code, messages).
pub async fn receive_once(
    client: &mut Client,
    client_id: &str,
    group: &str,
    topic: &str,
    invisible: Duration,
    poll: Duration,
) -> (pb::Code, Vec<pb::Message>) {
    let req = pb::ReceiveMessageRequest {
        group: resource(group),
        message_queue: Some(pb::MessageQueue {
            topic: resource(topic),
            id: -1,
            ..Default::default()
        }),
        filter_expression: Some(pb::FilterExpression {
            r#type: pb::FilterType::Tag as i32,
            expression: "*".to_owned(),
        }),
        batch_size: 32,
        invisible_duration: Some(prost_types::Duration {
            seconds: invisible.as_secs() as i64,
            nanos: 0,
        }),
        auto_renew: false,
        long_polling_timeout: Some(prost_types::Duration {
            seconds: poll.as_secs() as i64,
            nanos: 0,
        }),
        attempt_id: None,
    };
    let mut stream = client
        .receive_message(request(req, client_id))
        .await
        .expect("receive rpc")
        .into_inner();
    let mut code_seen = pb::Code::Unspecified;
    let mut messages = Vec::new();
    while let Some(item) = stream.message().await.expect("receive stream") {
        match item.content {
            Some(pb::receive_message_response::Content::Status(s)) => {
                code_seen = pb::Code::try_from(s.code).unwrap_or(pb::Code::Unspecified)
            }
            Some(pb::receive_message_response::Content::Message(m)) => messages.push(m),
            _ => {}
        }
    }
    (code_seen, messages)
}

/// Receives until `want` messages came or `within` passed.
pub async fn receive_n(
    client: &mut Client,
    client_id: &str,
    group: &str,
    topic: &str,
    want: usize,
    within: Duration,
) -> Vec<pb::Message> {
    let deadline = Instant::now() + within;
    let mut got = Vec::new();
    while got.len() < want && Instant::now() < deadline {
        let (_, mut batch) = receive_once(
            client,
            client_id,
            group,
            topic,
            Duration::from_secs(30),
            Duration::from_secs(2),
        )
        .await;
        got.append(&mut batch);
    }
    got
}

pub fn handle(m: &pb::Message) -> String {
    m.system_properties
        .as_ref()
        .and_then(|s| s.receipt_handle.clone())
        .expect("a received message has a receipt handle")
}

pub fn id(m: &pb::Message) -> String {
    m.system_properties
        .as_ref()
        .map(|s| s.message_id.clone())
        .unwrap_or_default()
}

pub type Shared<T> = Arc<T>;
