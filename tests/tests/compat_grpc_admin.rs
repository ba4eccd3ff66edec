//! Issue 21: operator commands reach a push consumer of the official Java 5.x SDK (gRPC) through
//! FerroMQ's broker and its gRPC endpoint (docs/grpc.md, "Admin commands"), with Apache's
//! `mqadmin` 5.3.3 and FerroMQ's:
//! - `consumerConnection` lists the gRPC client under its own id;
//! - `consumerStatus -i <id> -s` prints the running info with the SDK's thread dump (both tools);
//! - `queryMsgById -t <topic> -i <offsetMsgId> -g <group> -d <id>` has the SDK's listener consume the
//!   message (CONSUME_MESSAGE_DIRECTLY -> VerifyMessageCommand) and prints `CR_SUCCESS` (both).
//!
//! Needs `java` and `mvn` (else `SKIPPED`) and `cargo build -p ferromq-namesrv -p ferromq-broker
//! -p ferromq-tools` first.
//!
//! ```text
//! cargo test -p ferromq-tests --test compat_grpc_admin -- --nocapture
//! ```

use std::time::{Duration, Instant};

use ferromq_client::testing::LocalCluster;
use ferromq_client::{Admin, Message, Producer, ProducerOptions};
use ferromq_tests::grpc::{create_group, create_topic, GrpcBackground, GrpcTarget, MessageType};
use ferromq_tests::mqadmin::{apache_mqadmin, ferro_mqadmin};
use ferromq_tests::net::free_port;
use ferromq_tests::process::ProgramRun;
use ferromq_tests::require_tools;

/// Runs `tool` (Apache's or FerroMQ's `mqadmin`, `what` in a failure) with `args` against the
/// name server `ns`; panics unless it succeeds and prints each of `wanted`.
fn expect_mqadmin(
    what: &str,
    tool: fn(&str, &[&str]) -> ProgramRun,
    ns: &str,
    args: &[&str],
    wanted: &[&str],
) {
    let out = tool(ns, args);
    assert!(
        out.success() && wanted.iter().all(|w| out.output.contains(w)),
        "{what}:\n{}",
        out.output
    );
}

#[test]
fn operator_commands_reach_a_java_grpc_push_consumer() {
    if !require_tools("compat_grpc_admin", &["java", "mvn"]) {
        return;
    }
    let grpc_port = free_port();
    let cluster = LocalCluster::builder()
        .broker_config(format!("grpcServerPort={grpc_port}"))
        .start()
        .expect("FerroMQ cluster starts");
    let endpoint = format!("127.0.0.1:{grpc_port}");
    ferromq_tests::net::wait_for_port(&endpoint, Duration::from_secs(30)).expect("gRPC port");
    let target = GrpcTarget {
        endpoint: endpoint.clone(),
        broker: cluster.broker(0).addr(),
        namesrv: cluster.namesrv_addr().to_owned(),
    };
    let ns = cluster.namesrv_addr().to_owned();
    let topic = format!("GrpcAdmin{}", std::process::id());
    let group = format!("{topic}_g");
    create_topic(&target, &topic, MessageType::Normal);
    create_group(&target, &group, false, 16);

    let mut consumer = GrpcBackground::start(
        &["push-hold", &endpoint, &topic, &group, "150"],
        Duration::from_secs(200),
    );
    consumer
        .wait_for("the push consumer to start", Duration::from_secs(90), |o| {
            o.lines().any(|l| l.trim_end() == "READY")
        })
        .unwrap_or_else(|e| panic!("{e}"));

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let _in_runtime = rt.enter();
    let admin = Admin::new(&cluster.client_config("compat-grpc-admin")).expect("admin");
    // The proxy heartbeats the SDK's consumer under its own client id.
    let deadline = Instant::now() + Duration::from_secs(60);
    let client_id = loop {
        let listed = rt
            .block_on(admin.consumer_connection_at(&target.broker, &group))
            .ok()
            .and_then(|cc| cc.connection_set.into_iter().next())
            .map(|c| c.client_id);
        if let Some(id) = listed {
            break id;
        }
        assert!(
            Instant::now() < deadline,
            "the gRPC consumer was never listed"
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    eprintln!("gRPC consumer: {client_id}");

    // Apache's mqadmin: connection list, running info with the SDK's thread dump.
    expect_mqadmin(
        "consumerConnection",
        apache_mqadmin,
        &ns,
        &["consumerConnection", "-g", &group],
        &[&client_id],
    );
    let status = ["consumerStatus", "-g", &group, "-i", &client_id, "-s"];
    expect_mqadmin(
        "Apache consumerStatus -s",
        apache_mqadmin,
        &ns,
        &status,
        &["CONSUME_PASSIVELY", "java."],
    );
    // FerroMQ's mqadmin too.
    expect_mqadmin(
        "FerroMQ consumerStatus -s",
        ferro_mqadmin,
        &ns,
        &status,
        &["java."],
    );

    // A message sent over remoting; the operator has the SDK consume it directly.
    let sent = rt.block_on(async {
        let producer = Producer::start(ProducerOptions {
            client: cluster.client_config("compat-grpc-admin-producer"),
            group: format!("{group}_pg"),
            ..ProducerOptions::default()
        })
        .await
        .expect("producer");
        producer
            .send(Message::new(&topic, "direct-body"))
            .await
            .expect("send")
    });
    let query_direct = [
        "queryMsgById",
        "-t",
        &topic,
        "-i",
        &sent.offset_msg_id,
        "-g",
        &group,
        "-d",
        &client_id,
    ];
    expect_mqadmin(
        "Apache queryMsgById -d",
        apache_mqadmin,
        &ns,
        &query_direct,
        &["CR_SUCCESS"],
    );
    expect_mqadmin(
        "FerroMQ queryMsgById -d",
        ferro_mqadmin,
        &ns,
        &query_direct,
        &["consumeResult=CR_SUCCESS"],
    );
    // Once delivered as usual, once more for each operator command.
    consumer
        .wait_for(
            "the SDK's listener to consume the message three times",
            Duration::from_secs(30),
            |o| {
                o.lines()
                    .filter(|l| l.trim_end() == "CONSUMED direct-body")
                    .count()
                    >= 3
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
}
