//! Issue 22, message trace: a traced send and consume from FerroMQ's client, against FerroMQ's
//! broker with `traceTopicEnable=true`, show up in Apache's `mqadmin queryMsgTraceById`, and
//! FerroMQ's `mqadmin queryMsgTraceById` prints the same lines for the same data.
//!
//! Needs `java` (17) and `mvn` for Apache's mqadmin; prints `SKIPPED: ...` and passes otherwise
//! (set `FERROMQ_COMPAT_REQUIRED=1` to fail instead).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferromq_client::{
    ClientConfig, ConsumeFrom, ConsumeResult, FilterExpression, Message, MessageView, Producer,
    ProducerOptions, PushConsumer, PushConsumerOptions,
};
use ferromq_tests::mqadmin::{apache_mqadmin_until, ferro_mqadmin};
use ferromq_tests::net::wait_until;
use ferromq_tests::remoting::{broker_cluster_info, topic_route};
use ferromq_tests::{require_tools, FerroBroker, FerroNamesrv};

const TOPIC: &str = "TraceTestTopic";
const PRODUCER_GROUP: &str = "trace_test_pg";
const CONSUMER_GROUP: &str = "trace_test_cg";

/// The lines of a queryMsgTraceById output that carry trace data (headers and rows).
fn trace_lines(output: &str) -> Vec<String> {
    output
        .lines()
        .filter(|l| l.starts_with("#Type") || l.starts_with("Pub ") || l.starts_with("Sub "))
        .map(|l| l.trim_end().to_owned())
        .collect()
}

fn has_both(output: &str) -> bool {
    let lines = trace_lines(output);
    lines
        .iter()
        .any(|l| l.starts_with("Pub ") && l.contains(PRODUCER_GROUP))
        && lines
            .iter()
            .any(|l| l.starts_with("Sub ") && l.contains(CONSUMER_GROUP))
}

#[test]
fn traced_send_and_consume_appear_in_apaches_query_msg_trace_by_id() {
    if !require_tools(
        "traced_send_and_consume_appear_in_apaches_query_msg_trace_by_id",
        &["java", "mvn"],
    ) {
        return;
    }
    let namesrv = FerroNamesrv::start();
    let broker = FerroBroker::start(namesrv.addr(), |s| {
        s.broker.trace_topic_enable = true;
    });
    let ns = namesrv.addr().to_owned();
    wait_until("registration", Duration::from_secs(60), || {
        let info = broker_cluster_info(&ns).map_err(|e| e.to_string())?;
        Ok(info.body_text().contains(broker.addr()))
    })
    .expect("broker registered");
    // traceTopicEnable: the broker made the trace topic at start-up, with one queue.
    let route = topic_route(&ns, "RMQ_SYS_TRACE_TOPIC").expect("route request");
    assert_eq!(route.code, 0, "no route for RMQ_SYS_TRACE_TOPIC: {route:?}");
    let route: serde_json::Value = serde_json::from_slice(&route.body).expect("route JSON");
    assert_eq!(route["queueDatas"][0]["writeQueueNums"], 1, "{route}");

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let msg_id = rt.block_on(async {
        let client = ClientConfig {
            namesrv_addr: ns.clone(),
            ..ClientConfig::default()
        };
        let producer = Producer::start(ProducerOptions {
            client: client.clone(),
            group: PRODUCER_GROUP.to_owned(),
            enable_msg_trace: true,
            ..ProducerOptions::default()
        })
        .await
        .expect("producer");
        assert_eq!(producer.trace_topic(), Some("RMQ_SYS_TRACE_TOPIC"));
        let sent = producer
            .send(
                Message::new(TOPIC, "traced body")
                    .with_tag("TagA")
                    .with_keys(["trace-key-1"]),
            )
            .await
            .expect("send");
        let received: Arc<Mutex<Vec<String>>> = Arc::default();
        let seen = received.clone();
        let consumer = PushConsumer::start(
            PushConsumerOptions {
                client,
                group: CONSUMER_GROUP.to_owned(),
                consume_from: ConsumeFrom::FirstOffset,
                enable_msg_trace: true,
                ..PushConsumerOptions::default()
            },
            [(TOPIC.to_owned(), FilterExpression::tag("*"))],
            move |messages: &[MessageView]| {
                let mut seen = seen.lock().expect("lock");
                seen.extend(messages.iter().map(MessageView::msg_id));
                ConsumeResult::Success
            },
        )
        .await
        .expect("consumer");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while !received.lock().expect("lock").contains(&sent.msg_id) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the message was never consumed"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Shutdown flushes the queued trace records.
        consumer.shutdown().await;
        producer.shutdown().await;
        assert_eq!(producer.traces_dropped(), 0);
        assert_eq!(consumer.traces_dropped(), 0);
        sent.msg_id
    });

    let args = ["queryMsgTraceById", "-i", msg_id.as_str()];
    let mut apache_output = String::new();
    wait_until(
        "traces in Apache's mqadmin",
        Duration::from_secs(120),
        || {
            let run = apache_mqadmin_until(&ns, &args, Duration::from_secs(60), has_both);
            apache_output = run.output;
            Ok(has_both(&apache_output))
        },
    )
    .unwrap_or_else(|e| panic!("{e}; Apache's mqadmin printed:\n{apache_output}"));

    eprintln!("Apache's queryMsgTraceById:\n{apache_output}");
    let ours = ferro_mqadmin(&ns, &args);
    ours.assert_success();
    eprintln!("ours:\n{}", ours.output);
    assert_eq!(
        trace_lines(&ours.output),
        trace_lines(&apache_output),
        "our queryMsgTraceById differs from Apache's.\nours:\n{}\nApache's:\n{apache_output}",
        ours.output
    );
    let lines = trace_lines(&ours.output);
    assert_eq!(lines.len(), 4, "{}", ours.output);
    assert!(lines[1].contains("success"), "{}", lines[1]);
    assert!(lines[3].contains("success"), "{}", lines[3]);

    // An id with no trace: a clear failure.
    let none = ferro_mqadmin(&ns, &["queryMsgTraceById", "-i", "NO_SUCH_ID"]);
    assert!(none.status.is_some_and(|s| !s.success()), "{}", none.output);
    assert!(
        none.output.contains("no trace of message NO_SUCH_ID"),
        "{}",
        none.output
    );
}
