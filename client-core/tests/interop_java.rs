//! Interop with the official Java client (5.3.3) through FerroMQ's servers: our producer to a
//! Java (lite pull) consumer, and a Java producer to our push consumer; ordered messages (hash
//! selector to an orderly consumer) and transactions (commit, rollback, check-back) both ways. Bodies above 4 KiB are
//! compressed by whichever side produces, so the zlib sysflag and format are checked both ways.
//!
//! Needs `java` and `mvn` on PATH; prints `SKIPPED` and passes otherwise (set
//! `FERROMQ_COMPAT_REQUIRED=1` to fail instead).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{consumer_options, producer_options, unique, Collected, Servers};
use ferromq_client::{
    FilterExpression, Message, MessageView, OrderlyResult, Producer, PushConsumer, SelectByHash,
    TransactionListener, TransactionProducer, TransactionState,
};
use ferromq_tests::clients::{java_interop, java_store_consume, java_store_produce};
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

/// `RECV` lines of `Interop consume` in delivery order: (key, queue id).
fn deliveries(output: &str) -> Vec<(String, i32)> {
    output
        .lines()
        .filter(|l| l.starts_with("RECV\t"))
        .map(|l| {
            let field = |name: &str| {
                l.split('\t')
                    .find_map(|f| f.strip_prefix(name))
                    .unwrap_or_default()
                    .to_owned()
            };
            (field("key="), field("qid=").parse().expect("qid"))
        })
        .collect()
}

/// Checks that every `<shard>-<seq>` key came once, each shard from one queue, in seq order.
fn assert_ordered(got: &[(String, i32)], shards: usize, per_shard: usize) {
    assert_eq!(got.len(), shards * per_shard, "{got:?}");
    let mut next: BTreeMap<String, (usize, i32)> = BTreeMap::new();
    for (key, qid) in got {
        let (shard, seq) = key.rsplit_once('-').expect("shard-seq key");
        let seq: usize = seq.parse().expect("seq");
        let entry = next.entry(shard.to_owned()).or_insert((0, *qid));
        assert_eq!(seq, entry.0, "{shard}: order broken at {key} in {got:?}");
        assert_eq!(*qid, entry.1, "{shard}: from one queue only");
        entry.0 += 1;
    }
    assert_eq!(next.len(), shards);
}

/// Ordered: our hash-selector producer (3 shards x 20 over 4 queues) to a Java orderly consumer,
/// which must see each shard from one queue in send order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_ordered_to_java_orderly_consumer() {
    if !require_tools("rust_ordered_to_java_orderly_consumer", JAVA) {
        return;
    }
    let servers = Servers::start(|_| {}).await;
    let topic = unique("InteropOrderedRustToJava");
    servers.create_topic(&topic, 4).await;
    let producer = Producer::start(producer_options(&servers, &unique("pg")))
        .await
        .expect("producer");
    for seq in 0..20 {
        for s in 0..3 {
            let shard = format!("SHARD{s}");
            let m = Message::new(&topic, format!("rust {shard} #{seq}"))
                .with_keys([format!("{shard}-{seq}")])
                .with_property("shard", shard.as_str())
                .with_property("seq", seq.to_string());
            producer
                .send_with_selector(m, &SelectByHash, &shard)
                .await
                .expect("send");
        }
    }
    let ns = servers.namesrv.addr().to_owned();
    let run = tokio::task::spawn_blocking(move || {
        java_interop(&["consume", &ns, &topic, "60", "orderly", "0"])
    })
    .await
    .expect("java");
    run.assert_success();
    assert_ordered(&deliveries(&run.output), 3, 20);
    producer.shutdown().await;
    servers.stop().await;
}

/// Ordered: a Java `SelectMessageQueueByHash` producer to our orderly consumer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn java_ordered_to_rust_orderly_consumer() {
    if !require_tools("java_ordered_to_rust_orderly_consumer", JAVA) {
        return;
    }
    let servers = Servers::start(|_| {}).await;
    let topic = unique("InteropOrderedJavaToRust");
    servers.create_topic(&topic, 4).await;
    let ns = servers.namesrv.addr().to_owned();
    let run = {
        let topic = topic.clone();
        tokio::task::spawn_blocking(move || {
            java_interop(&["ordered-produce", &ns, &topic, "3", "20"])
        })
        .await
        .expect("java")
    };
    run.assert_success();
    let order: Arc<Mutex<Vec<(String, i32)>>> = Arc::default();
    let listener = {
        let order = order.clone();
        move |messages: &[MessageView]| {
            let mut order = order.lock().expect("lock");
            for m in messages {
                order.push((m.keys().join(" "), m.queue().queue_id));
            }
            OrderlyResult::Success
        }
    };
    let group = unique("cg");
    let consumer = PushConsumer::start_orderly(
        consumer_options(&servers, &group, &group),
        [(topic.clone(), FilterExpression::all())],
        listener,
    )
    .await
    .expect("consumer");
    common::wait_for("60 ordered messages", Duration::from_secs(30), || {
        let n = order.lock().expect("lock").len();
        async move { n >= 60 }
    })
    .await;
    assert_ordered(&order.lock().expect("lock"), 3, 20);
    consumer.shutdown().await;
    servers.stop().await;
}

/// Decides our transactions by key: commit, rollback, or unknown (committed on check-back).
struct ByKey;

impl TransactionListener for ByKey {
    fn execute(&self, message: &Message, _transaction_id: &str) -> TransactionState {
        match message.property("KEYS") {
            Some("tx-commit") => TransactionState::Commit,
            Some("tx-rollback") => TransactionState::Rollback,
            _ => TransactionState::Unknown,
        }
    }

    fn check(&self, message: &MessageView) -> TransactionState {
        if message.keys() == ["tx-rollback"] {
            TransactionState::Rollback
        } else {
            TransactionState::Commit
        }
    }
}

/// Transactions: our transaction producer to a Java consumer: the committed and the
/// checked-back messages arrive, the rolled-back one never does (a normal sentinel sent after
/// both commits, on the topic's only queue, bounds "never").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_transactions_to_java_consumer() {
    if !require_tools("rust_transactions_to_java_consumer", JAVA) {
        return;
    }
    let servers = Servers::start(|s| {
        s.broker.transaction_check_interval = 300;
        s.broker.transaction_time_out = 300;
    })
    .await;
    let topic = unique("InteropTxRustToJava");
    servers.create_topic(&topic, 1).await;
    let tx = TransactionProducer::start(producer_options(&servers, &unique("txpg")), ByKey)
        .await
        .expect("transaction producer");
    for key in ["tx-commit", "tx-rollback", "tx-check"] {
        tx.send(Message::new(&topic, format!("rust {key}")).with_keys([key]))
            .await
            .expect("half send");
    }
    // Wait (as a consumer) for the checked-back commit, then send the sentinel behind it.
    let got = Collected::default();
    let group = unique("cg");
    let watch = PushConsumer::start(
        consumer_options(&servers, &group, &group),
        [(topic.clone(), FilterExpression::all())],
        got.listener(),
    )
    .await
    .expect("consumer");
    got.wait_for(2, Duration::from_secs(30)).await;
    tx.producer()
        .send(Message::new(&topic, "sentinel").with_keys(["sentinel"]))
        .await
        .expect("sentinel");
    let ns = servers.namesrv.addr().to_owned();
    let run = tokio::task::spawn_blocking(move || {
        java_interop(&["consume", &ns, &topic, "3", "concurrent", "0"])
    })
    .await
    .expect("java");
    run.assert_success();
    let mut keys: Vec<String> = deliveries(&run.output)
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    keys.sort();
    assert_eq!(keys, ["sentinel", "tx-check", "tx-commit"]);
    watch.shutdown().await;
    tx.shutdown().await;
    servers.stop().await;
}

/// Transactions: a Java transaction producer to our consumer, bounded by a sentinel likewise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn java_transactions_to_rust_consumer() {
    if !require_tools("java_transactions_to_rust_consumer", JAVA) {
        return;
    }
    let servers = Servers::start(|s| {
        s.broker.transaction_check_interval = 300;
        s.broker.transaction_time_out = 300;
    })
    .await;
    let topic = unique("InteropTxJavaToRust");
    servers.create_topic(&topic, 1).await;
    let ns = servers.namesrv.addr().to_owned();
    let run = {
        let topic = topic.clone();
        tokio::task::spawn_blocking(move || java_interop(&["tx-produce", &ns, &topic]))
            .await
            .expect("java")
    };
    run.assert_success();
    assert!(run.output.contains("CHECKED\ttx-check"));
    let producer = Producer::start(producer_options(&servers, &unique("pg")))
        .await
        .expect("producer");
    producer
        .send(Message::new(&topic, "sentinel").with_keys(["sentinel"]))
        .await
        .expect("sentinel");
    let got = Collected::default();
    let group = unique("cg");
    let consumer = PushConsumer::start(
        consumer_options(&servers, &group, &group),
        [(topic.clone(), FilterExpression::all())],
        got.listener(),
    )
    .await
    .expect("consumer");
    got.wait_for(3, Duration::from_secs(30)).await;
    let mut keys: Vec<String> = got.snapshot().iter().map(|m| m.keys().join(" ")).collect();
    keys.sort();
    assert_eq!(keys, ["sentinel", "tx-check", "tx-commit"]);
    for m in got.snapshot().iter().filter(|m| m.keys() != ["sentinel"]) {
        assert_eq!(m.property("shard"), Some("tx"), "user properties intact");
    }
    consumer.shutdown().await;
    producer.shutdown().await;
    servers.stop().await;
}
