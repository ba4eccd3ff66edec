//! ACL on the gRPC endpoint (docs/grpc.md, "ACL"): a broker with ACL 2.0 (or ACL 1.0) and
//! `grpcServerPort` checks each call's `authorization` / `x-mq-date-time` metadata, signed as
//! the 5.x SDKs sign it, against its own users and ACLs (or `plain_acl.yml`).

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ferromq_client::testing::LocalCluster;
use ferromq_client::{Admin, ClientConfig, Credentials};
use ferromq_protocol::acl::SigningKey;
use ferromq_protocol::body::TopicConfig;
use ferromq_proxy::pb::{self, telemetry_command::Command, Code};
use support::*;

const ROOT: (&str, &str) = ("root", "root-secret-1");
const ALICE: (&str, &str) = ("alice", "alice-secret-1");

/// A broker with `lines` and its gRPC endpoint on a free port.
async fn local(lines: Vec<String>) -> (LocalCluster, SocketAddr) {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let cluster = tokio::task::spawn_blocking(move || {
        let mut b = LocalCluster::builder()
            .brokers(1)
            .broker_config(format!("grpcServerPort={port}"));
        for line in lines {
            b = b.broker_config(line);
        }
        b.start()
    })
    .await
    .expect("join")
    .expect("cluster");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let deadline = Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        assert!(Instant::now() < deadline, "grpcServerPort never listened");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (cluster, addr)
}

/// Adds the SDK's signature metadata to `r`: the hex HMAC-SHA1 of `x-mq-date-time`.
fn sign<T>(mut r: tonic::Request<T>, key: (&str, &str)) -> tonic::Request<T> {
    let date = "20261207T101500Z";
    let sig: String = SigningKey::new(key.1)
        .mac(date.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let auth = format!(
        "MQv2-HMAC-SHA1 Credential={}, SignedHeaders=x-mq-date-time, Signature={sig}",
        key.0
    );
    r.metadata_mut()
        .insert("authorization", auth.parse().expect("ascii"));
    r.metadata_mut()
        .insert("x-mq-date-time", date.parse().expect("ascii"));
    r
}

fn admin(cluster: &LocalCluster, key: (&str, &str)) -> Admin {
    let config = ClientConfig {
        credentials: Some(Credentials::new(key.0, key.1)),
        ..cluster.client_config("grpc-acl-admin")
    };
    Admin::new(&config).expect("admin")
}

async fn create_topic(cluster: &LocalCluster, key: (&str, &str), topic: &str) {
    admin(cluster, key)
        .create_topic_at(&cluster.broker(0).addr(), &TopicConfig::new(topic, 2, 2))
        .await
        .expect("create topic");
}

/// SendMessage of one message to `topic`, signed with `key` (or unsigned).
async fn send(client: &mut Client, key: Option<(&str, &str)>, topic: &str) -> pb::Status {
    let req = request(
        pb::SendMessageRequest {
            messages: vec![message(topic, "hello", pb::MessageType::Normal)],
        },
        "acl-producer",
    );
    let req = match key {
        Some(k) => sign(req, k),
        None => req,
    };
    let r = client.send_message(req).await.expect("rpc").into_inner();
    r.status.expect("status")
}

/// Polls until a signed send to `topic` succeeds (the route appears after topic creation).
async fn send_until_ok(client: &mut Client, key: (&str, &str), topic: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let s = send(client, Some(key), topic).await;
        if s.code == Code::Ok as i32 {
            return;
        }
        assert!(Instant::now() < deadline, "send never succeeded: {s:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn receive_request(group: &str, topic: &str, poll_secs: i64) -> pb::ReceiveMessageRequest {
    pb::ReceiveMessageRequest {
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
        batch_size: 16,
        invisible_duration: Some(prost_types::Duration {
            seconds: 30,
            nanos: 0,
        }),
        auto_renew: false,
        long_polling_timeout: Some(prost_types::Duration {
            seconds: poll_secs,
            nanos: 0,
        }),
        attempt_id: None,
    }
}

/// One signed receive: (last status, messages).
async fn receive(
    client: &mut Client,
    key: (&str, &str),
    group: &str,
    topic: &str,
    poll_secs: i64,
) -> (pb::Status, Vec<pb::Message>) {
    let req = sign(
        request(receive_request(group, topic, poll_secs), "acl-consumer"),
        key,
    );
    let mut stream = client.receive_message(req).await.expect("rpc").into_inner();
    let mut status = None;
    let mut messages = Vec::new();
    while let Some(item) = stream.message().await.expect("stream") {
        match item.content {
            Some(pb::receive_message_response::Content::Status(s)) => status = Some(s),
            Some(pb::receive_message_response::Content::Message(m)) => messages.push(m),
            _ => {}
        }
    }
    (status.expect("a status"), messages)
}

/// The next command of a Telemetry stream (within 10 s).
async fn next(inbound: &mut tonic::Streaming<pb::TelemetryCommand>) -> pb::TelemetryCommand {
    tokio::time::timeout(Duration::from_secs(10), inbound.message())
        .await
        .expect("in time")
        .expect("stream ok")
        .expect("an answer")
}

fn assert_refused(s: &pb::Status, needle: &str) {
    assert_eq!(s.code, Code::Unauthorized as i32, "{s:?}");
    assert!(s.message.contains(needle), "{s:?} should say {needle}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acl2_checks_each_call_with_the_brokers_users_and_acls() {
    // The endpoint signs with the inner credentials here; the ACL 1.0 test below covers the
    // in-process secret.
    let (cluster, addr) = local(vec![
        "authenticationEnabled=true".into(),
        "authorizationEnabled=true".into(),
        r#"innerClientAuthenticationCredentials={"accessKey":"inner","secretKey":"inner-secret-1"}"#
            .into(),
        format!(
            "initAuthenticationUser={{\"username\":\"{}\",\"password\":\"{}\"}}",
            ROOT.0, ROOT.1
        ),
    ])
    .await;
    let root = admin(&cluster, ROOT);
    let broker = cluster.broker(0).addr();
    create_topic(&cluster, ROOT, "AclOrders").await;
    create_topic(&cluster, ROOT, "AclSecret").await;
    root.create_user_at(
        &broker,
        &ferromq_client::admin::auth::user_info(ALICE.0, Some(ALICE.1), None, None),
    )
    .await
    .expect("create alice");
    root.create_acl_at(
        &broker,
        &ferromq_client::admin::auth::acl_info(
            "User:alice",
            &["Topic:AclOrders", "Group:acl-workers"],
            &["Pub", "Sub"],
            &[],
            "Allow",
        ),
    )
    .await
    .expect("alice's acl");
    root.create_subscription_group_at(
        &broker,
        &ferromq_client::SubscriptionGroup::new("acl-workers"),
    )
    .await
    .expect("create group");

    let mut client = connect(addr).await;
    // Good keys: send (the endpoint's own requests to the broker pass its checks).
    send_until_ok(&mut client, ALICE, "AclOrders").await;

    // A long poll of a good client is under way while others are refused.
    let mut other = connect(addr).await;
    let waiting = tokio::spawn(async move {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut got = Vec::new();
        while got.len() < 2 && Instant::now() < deadline {
            let (s, mut m) = receive(&mut other, ALICE, "acl-workers", "AclOrders", 5).await;
            assert!(
                s.code == Code::Ok as i32 || s.code == Code::MessageNotFound as i32,
                "{s:?}"
            );
            got.append(&mut m);
        }
        (other, got)
    });

    // Wrong secret, unknown user, no header, no permission on the topic or the group.
    assert_refused(
        &send(&mut client, Some((ALICE.0, "wrong-secret")), "AclOrders").await,
        "check signature failed.",
    );
    assert_refused(
        &send(&mut client, Some(("nobody", "x-secret")), "AclOrders").await,
        "User:nobody is not found.",
    );
    assert_refused(
        &send(&mut client, None, "AclOrders").await,
        "username cannot be null.",
    );
    assert_refused(
        &send(&mut client, Some(ALICE), "AclSecret").await,
        "User:alice has no permission to access Topic:AclSecret",
    );
    let (s, m) = receive(&mut client, ALICE, "other-group", "AclOrders", 1).await;
    assert_refused(&s, "Group:other-group");
    assert!(m.is_empty());
    let route = client
        .query_route(sign(
            request(
                pb::QueryRouteRequest {
                    topic: resource("AclSecret"),
                    endpoints: Some(endpoints(addr)),
                },
                "acl-route",
            ),
            ALICE,
        ))
        .await
        .expect("rpc")
        .into_inner();
    assert_refused(&route.status.expect("status"), "Topic:AclSecret");

    // A Telemetry stream: a refused settings command is answered on the stream, which stays
    // open and serves the next command.
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let settings = |topic: &str| pb::TelemetryCommand {
        status: None,
        command: Some(Command::Settings(producer_settings(
            &[topic],
            endpoints(addr),
        ))),
    };
    tx.send(settings("AclSecret")).await.expect("queue");
    let mut inbound = client
        .telemetry(sign(
            request(tokio_stream::wrappers::ReceiverStream::new(rx), "acl-tel"),
            ALICE,
        ))
        .await
        .expect("telemetry")
        .into_inner();
    let first = next(&mut inbound).await;
    assert_refused(first.status.as_ref().expect("status"), "Topic:AclSecret");
    tx.send(settings("AclOrders")).await.expect("queue");
    let second = next(&mut inbound).await;
    assert_eq!(code(&second.status), Code::Ok, "{second:?}");

    // The good consumer's long poll was not disturbed: it gets what is sent now.
    send_until_ok(&mut client, ALICE, "AclOrders").await;
    let (mut other, got) = waiting.await.expect("join");
    assert!(
        got.len() >= 2,
        "the other client got {} messages",
        got.len()
    );
    // And acks them.
    for m in &got {
        let r = other
            .ack_message(sign(
                request(
                    pb::AckMessageRequest {
                        group: resource("acl-workers"),
                        topic: resource("AclOrders"),
                        entries: vec![pb::AckMessageEntry {
                            message_id: id(m),
                            receipt_handle: handle(m),
                            lite_topic: None,
                        }],
                    },
                    "acl-consumer",
                ),
                ALICE,
            ))
            .await
            .expect("rpc")
            .into_inner();
        assert_eq!(code(&r.status), Code::Ok, "{r:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acl1_refuses_with_permission_denied() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("plain_acl.yml");
    std::fs::write(
        &file,
        "accounts:\n\
         \x20 - {accessKey: ops-admin, secretKey: ops-secret-1, admin: true}\n\
         \x20 - {accessKey: app-orders, secretKey: app-secret-1, defaultTopicPerm: DENY,\n\
         \x20    defaultGroupPerm: SUB, topicPerms: [AclV1Orders=PUB|SUB]}\n",
    )
    .expect("write acl file");
    let (cluster, addr) = local(vec![
        "aclEnable=true".into(),
        format!("aclFilePath={}", file.display()),
    ])
    .await;
    create_topic(&cluster, ("ops-admin", "ops-secret-1"), "AclV1Orders").await;
    create_topic(&cluster, ("ops-admin", "ops-secret-1"), "AclV1Other").await;
    let app = ("app-orders", "app-secret-1");
    let mut client = connect(addr).await;
    send_until_ok(&mut client, app, "AclV1Orders").await;
    let denied = |r: Result<tonic::Response<pb::SendMessageResponse>, tonic::Status>| {
        let e = r.expect_err("refused with a gRPC status");
        assert_eq!(e.code(), tonic::Code::PermissionDenied, "{e:?}");
        e.message().to_owned()
    };
    let req = |topic: &str| {
        request(
            pb::SendMessageRequest {
                messages: vec![message(topic, "x", pb::MessageType::Normal)],
            },
            "v1",
        )
    };
    let m = denied(
        client
            .send_message(sign(req("AclV1Orders"), ("app-orders", "wrong-secret")))
            .await,
    );
    assert_eq!(m, "Check signature failed for accessKey=app-orders");
    let m = denied(client.send_message(sign(req("AclV1Other"), app)).await);
    assert_eq!(m, "No default permission for topic:AclV1Other");
    let m = denied(client.send_message(req("AclV1Orders")).await);
    assert_eq!(m, "No accessKey is configured");
    // A refused Telemetry command ends that stream with PERMISSION_DENIED (Apache 5.3.2).
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(pb::TelemetryCommand {
        status: None,
        command: Some(Command::Settings(producer_settings(
            &["AclV1Other"],
            endpoints(addr),
        ))),
    })
    .await
    .expect("queue");
    let mut inbound = client
        .telemetry(sign(
            request(tokio_stream::wrappers::ReceiverStream::new(rx), "v1-tel"),
            app,
        ))
        .await
        .expect("telemetry")
        .into_inner();
    let end = tokio::time::timeout(Duration::from_secs(10), inbound.message())
        .await
        .expect("in time")
        .expect_err("the stream ends with an error");
    assert_eq!(end.code(), tonic::Code::PermissionDenied, "{end:?}");
    assert_eq!(end.message(), "No default permission for topic:AclV1Other");
    drop(tx);
    // The connection still serves good calls.
    assert_eq!(
        send(&mut client, Some(app), "AclV1Orders").await.code,
        Code::Ok as i32
    );
}

/// An in-process proxy in cluster mode in front of `cluster`, signing with `signer`.
async fn cluster_proxy(
    cluster: &LocalCluster,
    signer: Option<ferromq_proxy::auth::Signer>,
) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let config = ferromq_proxy::ProxyConfig {
        namesrv_addr: cluster.namesrv_addr().to_owned(),
        ..ferromq_proxy::ProxyConfig::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let proxy = ferromq_proxy::Proxy::with_security(
        config,
        ferromq_proxy::Mode::Cluster,
        ferromq_proxy::Security {
            guard: None,
            signer,
        },
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(ferromq_proxy::serve(proxy, listener, async {
        let _ = stopped.await;
    }));
    (addr, stop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqproxy_signs_its_requests_to_a_broker_with_acl() {
    let cluster = tokio::task::spawn_blocking(|| {
        LocalCluster::builder()
            .brokers(1)
            .broker_config("authenticationEnabled=true")
            .broker_config("authorizationEnabled=true")
            .broker_config(format!(
                "initAuthenticationUser={{\"username\":\"{}\",\"password\":\"{}\"}}",
                ROOT.0, ROOT.1
            ))
            .start()
    })
    .await
    .expect("join")
    .expect("cluster");
    create_topic(&cluster, ROOT, "AclCluster").await;
    admin(&cluster, ROOT)
        .create_subscription_group_at(
            &cluster.broker(0).addr(),
            &ferromq_client::SubscriptionGroup::new("acl-cluster-g"),
        )
        .await
        .expect("create group");

    // Unsigned, the proxy's requests are refused by the broker (its route lookups go to the
    // name server, which checks nothing; the send itself does not pass): the broker's
    // NO_PERMISSION is FORBIDDEN, as in Apache's ResponseBuilder.
    let (unsigned, _stop1) = cluster_proxy(&cluster, None).await;
    let mut client = connect(unsigned).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let s = send(&mut client, None, "AclCluster").await;
        assert_ne!(s.code, Code::Ok as i32, "an unsigned proxy's send passed");
        if s.code == Code::Forbidden as i32 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never refused by the broker: {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // With the right keys (Apache's innerClientAuthenticationCredentials), send and receive.
    let (signed, _stop2) = cluster_proxy(
        &cluster,
        Some(ferromq_proxy::auth::Signer::new(ROOT.0, ROOT.1)),
    )
    .await;
    let mut client = connect(signed).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let s = send(&mut client, None, "AclCluster").await;
        if s.code == Code::Ok as i32 {
            break;
        }
        assert!(Instant::now() < deadline, "signed proxy never sent: {s:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let got = receive_n(
        &mut client,
        "acl-cluster-consumer",
        "acl-cluster-g",
        "AclCluster",
        1,
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body, b"hello");
}
