//! Issue 21, ACL: the official Java 5.x SDK (`rocketmq-client-java` 5.0.8) with
//! `StaticSessionCredentialsProvider` against FerroMQ's gRPC endpoint on a broker with ACL 2.0
//! on (docs/grpc.md, "ACL"). With the right keys it sends and a simple consumer receives and
//! acks every message; with a wrong secret the producer is refused.
//!
//! Needs `java` (17) and `mvn` (else `SKIPPED`, or a failure with `FERROMQ_COMPAT_REQUIRED=1`)
//! and `cargo build -p ferromq-namesrv -p ferromq-broker` first.
//!
//! ```text
//! cargo test -p ferromq-tests --test compat_grpc_acl -- --nocapture
//! ```

use std::time::Duration;

use ferromq_client::admin::auth::{acl_info, user_info};
use ferromq_client::testing::LocalCluster;
use ferromq_client::{Admin, ClientConfig, Credentials, SubscriptionGroup};
use ferromq_protocol::body::TopicConfig;
use ferromq_tests::grpc::{self, java_grpc_tools};
use ferromq_tests::net::free_port;
use ferromq_tests::require_tools;

const N: usize = 12;

#[test]
fn java_sdk_with_credentials_against_acl2() {
    if !require_tools("compat_grpc_acl", grpc::GRPC_TOOLS) {
        return;
    }
    let grpc_port = free_port();
    let cluster = LocalCluster::builder()
        .broker_config(format!("grpcServerPort={grpc_port}"))
        .broker_config("authenticationEnabled=true")
        .broker_config("authorizationEnabled=true")
        .broker_config(r#"initAuthenticationUser={"username":"root","password":"root-secret-1"}"#)
        .start()
        .expect("FerroMQ cluster starts");
    let endpoint = format!("127.0.0.1:{grpc_port}");
    ferromq_tests::net::wait_for_port(&endpoint, Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("gRPC endpoint not listening: {e}"));
    let topic = format!("GrpcAcl{}", std::process::id());
    let group = format!("{topic}_g");
    let broker = cluster.broker(0).addr();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let config = ClientConfig {
            credentials: Some(Credentials::new("root", "root-secret-1")),
            ..cluster.client_config("grpc-acl-admin")
        };
        let root = Admin::new(&config).expect("admin");
        root.create_topic_at(&broker, &TopicConfig::new(&topic, 4, 4))
            .await
            .expect("create topic");
        root.create_subscription_group_at(&broker, &SubscriptionGroup::new(&group))
            .await
            .expect("create group");
        root.create_user_at(
            &broker,
            &user_info("alice", Some("alice-secret-1"), None, None),
        )
        .await
        .expect("create user");
        let topic_resource = format!("Topic:{topic}");
        let group_resource = format!("Group:{group}");
        root.create_acl_at(
            &broker,
            &acl_info(
                "User:alice",
                &[&topic_resource, &group_resource],
                &["Pub", "Sub"],
                &[],
                "Allow",
            ),
        )
        .await
        .expect("create acl");
        // The SDK's producer needs the route: wait until the name server has it.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while root.topic_route(&topic).await.is_err() {
            assert!(std::time::Instant::now() < deadline, "no route for {topic}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let run = java_grpc_tools(
        &[
            "acl",
            &endpoint,
            &topic,
            &group,
            &N.to_string(),
            "alice",
            "alice-secret-1",
            "wrong-secret",
        ],
        Duration::from_secs(120),
    );
    eprintln!("{}", run.output);
    let want = format!("OK: acl: sent {N} received {N} acked {N}; wrong secret refused: ");
    let line = run.output.lines().find(|l| l.starts_with(&want));
    assert!(
        run.success() && line.is_some_and(|l| l.contains("check signature failed.")),
        "Java SDK with credentials:\n{}\n{}",
        run.output,
        cluster.broker(0).log_tail()
    );
}
