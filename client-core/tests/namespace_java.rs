//! Namespace interop with the official Java client (5.3.3, `ClientConfig.setNamespace`) through
//! FerroMQ's servers: a Java producer in namespace `ns` read by our consumer in `ns`, and our
//! producer in `ns` read by a Java consumer in `ns`; each side sees the bare topic, the wire
//! carries `ns%topic` (client-core/tests/namespace.rs checks that namespaces keep apart).
//!
//! Needs `java` and `mvn` on PATH; prints `SKIPPED` and passes otherwise (set
//! `FERROMQ_COMPAT_REQUIRED=1` to fail instead).

mod common;

use std::time::Duration;

use common::{consumer_options, producer_options, unique, wait_for, Servers};
use ferromq_client::{
    ClientConfig, ConsumeResult, FilterExpression, Message, MessageView, Producer, PushConsumer,
};
use ferromq_tests::clients::java_namespaced;
use ferromq_tests::require_tools;

const JAVA: &[&str] = &["java", "mvn"];

fn in_namespace(mut config: ClientConfig, ns: &str) -> ClientConfig {
    config.namespace = Some(ns.to_owned());
    config
}

/// A push consumer of `topic` in namespace `ns` collecting (body, topic) pairs.
async fn collect(
    servers: &Servers,
    ns: &str,
    topic: &str,
) -> (
    PushConsumer,
    std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>,
) {
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = got.clone();
    let group = unique("NsJavaGroup");
    let mut options = consumer_options(servers, &group, &unique("ns-consumer"));
    options.client = in_namespace(options.client, ns);
    let consumer = PushConsumer::start(
        options,
        [(topic.to_owned(), FilterExpression::all())],
        move |batch: &[MessageView]| {
            let mut got = sink.lock().expect("lock");
            for m in batch {
                got.push((
                    String::from_utf8_lossy(m.body()).into_owned(),
                    m.topic().to_owned(),
                ));
            }
            ConsumeResult::Success
        },
    )
    .await
    .expect("consumer");
    (consumer, got)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn java_producer_to_rust_consumer_in_a_namespace() {
    if !require_tools("java_producer_to_rust_consumer_in_a_namespace", JAVA) {
        return;
    }
    let servers = Servers::start(|_| {}).await;
    let ns = "javaNs";
    let topic = unique("NsFromJava");
    servers.create_topic(&format!("{ns}%{topic}"), 4).await;
    let n = 5;
    let namesrv = servers.namesrv.addr().to_owned();
    let t = topic.clone();
    let run = tokio::task::spawn_blocking(move || {
        java_namespaced(&["produce", &namesrv, "javaNs", &t, &n.to_string()])
    })
    .await
    .expect("java");
    run.assert_success();
    let sent: Vec<&str> = run
        .output
        .lines()
        .filter(|l| l.starts_with("SENT\t"))
        .collect();
    assert_eq!(sent.len(), n, "{}", run.output);

    let (consumer, got) = collect(&servers, ns, &topic).await;
    wait_for("the Java messages", Duration::from_secs(60), || async {
        got.lock().expect("lock").len() >= n
    })
    .await;
    let mut got = got.lock().expect("lock").clone();
    got.sort();
    let expected: Vec<(String, String)> = (0..n)
        .map(|i| (format!("java {i}"), topic.clone()))
        .collect();
    assert_eq!(got, expected);
    consumer.shutdown().await;
    servers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_producer_to_java_consumer_in_a_namespace() {
    if !require_tools("rust_producer_to_java_consumer_in_a_namespace", JAVA) {
        return;
    }
    let servers = Servers::start(|_| {}).await;
    let ns = "rustNs";
    let topic = unique("NsFromRust");
    servers.create_topic(&format!("{ns}%{topic}"), 4).await;
    let mut options = producer_options(&servers, &unique("ns-producer"));
    options.client = in_namespace(options.client, ns);
    let producer = Producer::start(options).await.expect("producer");
    let n = 5;
    for i in 0..n {
        let sent = producer
            .send(Message::new(&topic, format!("rust {i}")).with_keys([format!("rust-{i}")]))
            .await
            .expect("send");
        assert_eq!(sent.queue.topic, topic);
    }
    producer.shutdown().await;

    let namesrv = servers.namesrv.addr().to_owned();
    let t = topic.clone();
    let group = unique("NsJavaConsumer");
    let run = tokio::task::spawn_blocking(move || {
        java_namespaced(&["consume", &namesrv, "rustNs", &t, &group, &n.to_string()])
    })
    .await
    .expect("java");
    run.assert_success();
    let mut received: Vec<String> = run
        .output
        .lines()
        .filter(|l| l.starts_with("RECV\t"))
        .map(str::to_owned)
        .collect();
    received.sort();
    received.dedup();
    assert_eq!(received.len(), n, "{}", run.output);
    for (i, line) in received.iter().enumerate() {
        // Java's listener, too, sees the topic without the namespace.
        assert_eq!(
            *line,
            format!("RECV\tkey=rust-{i}\ttopic={topic}\tbody=rust {i}"),
            "{}",
            run.output
        );
    }
    servers.stop().await;
}
