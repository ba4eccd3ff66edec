//! Interop with the official Java client (5.3.3) through FerroMQ's servers: our producer to a
//! Java (lite pull) consumer, and a Java producer to our push consumer. Bodies above 4 KiB are
//! compressed by whichever side produces, so the zlib sysflag and format are checked both ways.
//!
//! Needs `java` and `mvn` on PATH; prints `SKIPPED` and passes otherwise (set
//! `FERROMQ_COMPAT_REQUIRED=1` to fail instead).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::{consumer_options, producer_options, unique, Collected, Servers};
use ferromq_client::{FilterExpression, Message, Producer, PushConsumer};
use ferromq_tests::clients::{java_store_consume, java_store_produce};
use ferromq_tests::require_tools;

const JAVA: &[&str] = &["java", "mvn"];

/// `RECV` lines of `StoreConsume` by msgId: the tab-separated `name=value` fields.
fn received(output: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    output
        .lines()
        .filter(|l| l.starts_with("RECV\t"))
        .map(|l| {
            let fields: BTreeMap<String, String> = l
                .split('\t')
                .skip(1)
                .filter_map(|f| f.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
                .collect();
            (fields["msgId"].clone(), fields)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_producer_to_java_consumer() {
    if !require_tools("rust_producer_to_java_consumer", JAVA) {
        return;
    }
    let servers = Servers::start(|_| {}).await;
    let topic = unique("InteropRustToJava");
    servers.create_topic(&topic, 4).await;
    let producer = Producer::start(producer_options(&servers, &unique("pg")))
        .await
        .expect("producer");
    let mut sent = BTreeMap::new();
    for i in 0..12 {
        // Every 4th body is above the compression threshold.
        let body = if i % 4 == 0 {
            format!("{i}:").repeat(3000)
        } else {
            format!("small-{i}")
        };
        let m = Message::new(&topic, body.clone())
            .with_tag(format!("T{}", i % 3))
            .with_keys([format!("RK-{i}")])
            .with_property("idx", i.to_string());
        let r = producer.send(m).await.expect("send");
        sent.insert(r.msg_id, (i, body));
    }
    let ns = servers.namesrv.addr().to_owned();
    let run = {
        let topic = topic.clone();
        tokio::task::spawn_blocking(move || {
            java_store_consume(&ns, &topic, 12, &["RK-5".to_owned()])
        })
        .await
        .expect("java")
    };
    run.assert_success();
    let got = received(&run.output);
    assert_eq!(
        got.keys().collect::<BTreeSet<_>>(),
        sent.keys().collect::<BTreeSet<_>>()
    );
    for (id, (i, body)) in &sent {
        let f = &got[id];
        assert_eq!(
            f["len"],
            body.len().to_string(),
            "#{i} body length (decompressed by Java)"
        );
        let crc = crc32fast::hash(body.as_bytes()) & 0x7FFF_FFFF;
        assert_eq!(f["crc"], crc.to_string(), "#{i} body");
        assert_eq!(f["p.TAGS"], format!("T{}", i % 3));
        assert_eq!(f["p.KEYS"], format!("RK-{i}"));
        assert_eq!(f["p.idx"], i.to_string());
        assert_eq!(f["p.UNIQ_KEY"], *id);
    }
    let (id5, _) = sent.iter().find(|(_, (i, _))| *i == 5).expect("#5");
    let query = run
        .output
        .lines()
        .find(|l| l.starts_with("QUERY\tRK-5\t"))
        .expect("QUERY line");
    assert!(
        query.contains(id5.as_str()),
        "the broker's key index finds our message: {query}"
    );
    producer.shutdown().await;
    servers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn java_producer_to_rust_consumer() {
    if !require_tools("java_producer_to_rust_consumer", JAVA) {
        return;
    }
    let servers = Servers::start(|_| {}).await;
    let topic = unique("InteropJavaToRust");
    let ns = servers.namesrv.addr().to_owned();
    let n = 12;
    let run = {
        let topic = topic.clone();
        tokio::task::spawn_blocking(move || java_store_produce(&ns, &topic, n))
            .await
            .expect("java")
    };
    run.assert_success();
    let sent: BTreeSet<String> = run
        .output
        .lines()
        .filter(|l| l.starts_with("SENT\t"))
        .filter_map(|l| l.split('\t').nth(5).map(str::to_owned))
        .collect();
    assert_eq!(sent.len(), n);
    let got = Collected::default();
    let group = unique("cg");
    let consumer = PushConsumer::start(
        consumer_options(&servers, &group, &group),
        [(topic.clone(), FilterExpression::all())],
        got.listener(),
    )
    .await
    .expect("consumer");
    got.wait_for(n, Duration::from_secs(30)).await;
    let messages = got.snapshot();
    let ids: BTreeSet<String> = messages.iter().map(|m| m.msg_id()).collect();
    assert_eq!(ids, sent);
    for m in &messages {
        let size: usize = m
            .property("size")
            .expect("size property")
            .parse()
            .expect("size");
        assert_eq!(
            m.body().len(),
            size,
            "bodies (some compressed by Java) arrive whole"
        );
        assert!(m.keys().iter().any(|k| k.starts_with("SK-")));
    }
    consumer.shutdown().await;
    servers.stop().await;
}
