//! The docs/scenarios.md scenarios with the Rust client against the real Apache RocketMQ 5.3.3 name
//! server and broker (jars from Maven Central): quickstart, async-oneway, batch, ordered,
//! tag-filter, sql-filter, transaction, delayed, timer, retry-dlq and pull. One server pair for
//! the whole file (a JVM broker takes seconds to start).
//!
//! Needs `java` and `mvn` on PATH; prints `SKIPPED` and passes otherwise (set
//! `FERROMQ_COMPAT_REQUIRED=1` to fail instead).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{unique, wait_for, Collected};
use ferromq_client::{
    Admin, ClientConfig, ConsumeFrom, ConsumeResult, FilterExpression, Message, MessageView,
    OrderlyResult, Producer, ProducerOptions, PullConsumer, PullConsumerOptions, PushConsumer,
    PushConsumerOptions, SelectByHash, TopicOptions, TransactionListener, TransactionProducer,
    TransactionState,
};
use ferromq_tests::{require_tools, ApacheBroker, ApacheNamesrv, BrokerOptions};

const WAIT: Duration = Duration::from_secs(60);

struct Apache {
    ns: String,
}

impl Apache {
    fn config(&self, instance: &str) -> ClientConfig {
        ClientConfig {
            namesrv_addr: self.ns.clone(),
            instance_name: instance.to_owned(),
            ..ClientConfig::default()
        }
    }

    fn producer(&self, group: &str) -> ProducerOptions {
        ProducerOptions {
            client: self.config(group),
            group: group.to_owned(),
            ..ProducerOptions::default()
        }
    }

    fn consumer(&self, group: &str) -> PushConsumerOptions {
        PushConsumerOptions {
            client: self.config(group),
            group: group.to_owned(),
            consume_from: ConsumeFrom::FirstOffset,
            ..PushConsumerOptions::default()
        }
    }

    async fn topic(&self, prefix: &str, queues: i32) -> String {
        let topic = unique(prefix);
        let admin = Admin::new(&self.config("apache-admin")).expect("admin");
        let options = TopicOptions {
            queue_nums: queues,
            ..TopicOptions::default()
        };
        admin
            .create_topic("DefaultCluster", &topic, &options)
            .await
            .expect("create topic");
        wait_for("topic route", WAIT, || async {
            admin.topic_route(&topic).await.is_ok()
        })
        .await;
        admin.shutdown().await;
        topic
    }

    async fn consume_all(
        &self,
        topic: &str,
        expr: FilterExpression,
        n: usize,
    ) -> (PushConsumer, Collected) {
        let got = Collected::default();
        let c = PushConsumer::start(
            self.consumer(&unique("cg")),
            [(topic.to_owned(), expr)],
            got.listener(),
        )
        .await
        .expect("consumer");
        got.wait_for(n, WAIT).await;
        (c, got)
    }
}

fn bodies(c: &Collected) -> BTreeSet<String> {
    c.snapshot()
        .iter()
        .map(|m| String::from_utf8_lossy(m.body()).into_owned())
        .collect()
}

/// The local transaction's outcome is in the body; `unknown` is undecided at first and commits
/// when the broker checks back. Check-backs answer the true state, as a real application must
/// (Apache 5.x may check a message again before its commit/rollback record is written).
struct Decisions(Arc<AtomicUsize>);

fn decided(body: &[u8]) -> TransactionState {
    if body == b"rollback" {
        TransactionState::Rollback
    } else {
        TransactionState::Commit
    }
}

impl TransactionListener for Decisions {
    fn execute(&self, message: &Message, _id: &str) -> TransactionState {
        match message.body().as_ref() {
            b"unknown" => TransactionState::Unknown,
            body => decided(body),
        }
    }

    fn check(&self, message: &MessageView) -> TransactionState {
        if message.body().as_ref() == b"unknown" {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
        decided(message.body())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenarios_against_the_apache_broker() {
    if !require_tools("scenarios_against_the_apache_broker", &["java", "mvn"]) {
        return;
    }
    let (namesrv, broker) = tokio::task::spawn_blocking(|| {
        let namesrv = ApacheNamesrv::start();
        let options = BrokerOptions {
            extra_config: vec![
                (
                    "messageDelayLevel".to_owned(),
                    "1s 1s 1s 1s 1s 1s".to_owned(),
                ),
                ("transactionCheckInterval".to_owned(), "1000".to_owned()),
                ("transactionTimeOut".to_owned(), "1000".to_owned()),
                ("transactionOpBatchInterval".to_owned(), "100".to_owned()),
            ],
            ..BrokerOptions::default()
        };
        let mut broker = ApacheBroker::start(namesrv.addr(), options);
        broker.wait_registered(namesrv.addr(), Duration::from_secs(90));
        (namesrv, broker)
    })
    .await
    .expect("apache servers");
    let apache = Apache {
        ns: namesrv.addr().to_owned(),
    };
    let producer = Producer::start(apache.producer(&unique("pg")))
        .await
        .expect("producer");

    // quickstart + async-oneway + a compressed body.
    let topic = apache.topic("ApQuick", 4).await;
    let mut expected = BTreeSet::new();
    for i in 0..5 {
        let m = Message::new(&topic, format!("sync{i}"))
            .with_tag("A")
            .with_keys([format!("k{i}")])
            .with_property("p", "v");
        producer.send(m).await.expect("sync send");
        expected.insert(format!("sync{i}"));
        producer
            .send_oneway(Message::new(&topic, format!("oneway{i}")).with_tag("A"))
            .await
            .expect("oneway");
        expected.insert(format!("oneway{i}"));
        let (tx, rx) = tokio::sync::oneshot::channel();
        producer.send_async(
            Message::new(&topic, format!("async{i}")).with_tag("A"),
            move |r| {
                let _ = tx.send(r);
            },
        );
        rx.await.expect("callback").expect("async send");
        expected.insert(format!("async{i}"));
    }
    let large = "z".repeat(10_000);
    producer
        .send(Message::new(&topic, large.clone()).with_tag("A"))
        .await
        .expect("large");
    expected.insert(large);
    let (c, got) = apache
        .consume_all(&topic, FilterExpression::tag("A"), expected.len())
        .await;
    assert_eq!(bodies(&got), expected);
    assert!(got
        .snapshot()
        .iter()
        .filter(|m| m.body().starts_with(b"sync"))
        .all(|m| m.property("p") == Some("v")));
    c.shutdown().await;

    // batch: contiguous offsets in one queue.
    let topic = apache.topic("ApBatch", 4).await;
    let batch: Vec<Message> = (0..10)
        .map(|i| Message::new(&topic, format!("b{i}")))
        .collect();
    producer.send_batch(batch).await.expect("batch");
    let (c, got) = apache
        .consume_all(&topic, FilterExpression::all(), 10)
        .await;
    let mut offsets: Vec<i64> = got.snapshot().iter().map(|m| m.queue_offset()).collect();
    offsets.sort();
    assert!(offsets.windows(2).all(|w| w[1] == w[0] + 1));
    assert_eq!(
        got.snapshot()
            .iter()
            .map(|m| m.queue().queue_id)
            .collect::<BTreeSet<_>>()
            .len(),
        1
    );
    c.shutdown().await;

    // tag-filter and sql-filter.
    let topic = apache.topic("ApFilter", 2).await;
    for (i, tag) in ["A", "B", "C", "A", "B", "C"].iter().enumerate() {
        let m = Message::new(&topic, format!("{tag}{i}"))
            .with_tag(*tag)
            .with_property("a", i.to_string());
        producer.send(m).await.expect("send");
    }
    let (c, got) = apache
        .consume_all(&topic, FilterExpression::tag("A || C"), 4)
        .await;
    assert_eq!(
        bodies(&got),
        BTreeSet::from(["A0", "C2", "A3", "C5"].map(String::from))
    );
    c.shutdown().await;
    let (c, got) = apache
        .consume_all(&topic, FilterExpression::sql92("a >= 4"), 2)
        .await;
    assert_eq!(bodies(&got), BTreeSet::from(["B4", "C5"].map(String::from)));
    c.shutdown().await;

    // ordered: same key, same queue, in order, with an orderly consumer.
    let topic = apache.topic("ApOrdered", 4).await;
    for seq in 0..10 {
        for key in ["o1", "o2"] {
            let m = Message::new(&topic, format!("{key}:{seq}"));
            producer
                .send_with_selector(m, &SelectByHash, key)
                .await
                .expect("send");
        }
    }
    let log: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = log.clone();
    let orderly = PushConsumer::start_orderly(
        apache.consumer(&unique("ocg")),
        [(topic.clone(), FilterExpression::all())],
        move |batch: &[MessageView]| {
            for m in batch {
                sink.lock()
                    .expect("lock")
                    .push(String::from_utf8_lossy(m.body()).into_owned());
            }
            OrderlyResult::Success
        },
    )
    .await
    .expect("orderly");
    wait_for("20 ordered", WAIT, || async {
        log.lock().expect("lock").len() >= 20
    })
    .await;
    for key in ["o1", "o2"] {
        let seqs: Vec<u32> = log
            .lock()
            .expect("lock")
            .iter()
            .filter_map(|b| {
                b.strip_prefix(&format!("{key}:"))
                    .map(|s| s.parse().expect("seq"))
            })
            .collect();
        assert_eq!(seqs, (0..10).collect::<Vec<_>>());
    }
    orderly.shutdown().await;

    // transaction: commit, rollback, unknown answered commit on check-back.
    let topic = apache.topic("ApTx", 1).await;
    let checks = Arc::new(AtomicUsize::new(0));
    let tx =
        TransactionProducer::start(apache.producer(&unique("txpg")), Decisions(checks.clone()))
            .await
            .expect("tx producer");
    for body in ["commit", "rollback", "unknown"] {
        tx.send(Message::new(&topic, body)).await.expect("tx send");
    }
    // With check-backs every second, Apache 5.x may check (and so commit) a message a second
    // time before its commit record is written: duplicates are allowed, rollbacks are not.
    let (c, got) = apache.consume_all(&topic, FilterExpression::all(), 2).await;
    wait_for("the checked-back commit", WAIT, || async {
        bodies(&got).contains("unknown")
    })
    .await;
    assert_eq!(
        bodies(&got),
        BTreeSet::from(["commit", "unknown"].map(String::from))
    );
    assert!(checks.load(Ordering::SeqCst) >= 1);
    c.shutdown().await;
    tx.shutdown().await;

    // delayed (level 2 = 1 s here) and timer (deliver 3 s ahead).
    let topic = apache.topic("ApDelay", 2).await;
    let got = Collected::default();
    let c = PushConsumer::start(
        apache.consumer(&unique("cg")),
        [(topic.clone(), FilterExpression::all())],
        got.listener(),
    )
    .await
    .expect("consumer");
    let start = Instant::now();
    producer
        .send(Message::new(&topic, "delayed").with_delay_level(2))
        .await
        .expect("delayed");
    let deliver_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64
        + 3000;
    producer
        .send(Message::new(&topic, "timer").with_deliver_time_ms(deliver_at))
        .await
        .expect("timer");
    got.wait_for(2, WAIT).await;
    assert!(
        start.elapsed() >= Duration::from_secs(2),
        "the timer message waited"
    );
    let by_body: BTreeMap<String, i64> = got
        .snapshot()
        .iter()
        .map(|m| {
            (
                String::from_utf8_lossy(m.body()).into_owned(),
                m.store_timestamp(),
            )
        })
        .collect();
    assert!(
        by_body["timer"] >= deliver_at - 1000,
        "stored for delivery at the deliver time"
    );
    c.shutdown().await;

    // retry-dlq: redelivered with reconsumeTimes 0, 1, 2, then in %DLQ%<group>.
    let topic = apache.topic("ApRetry", 1).await;
    let group = unique("rcg");
    let attempts: Arc<Mutex<Vec<i32>>> = Arc::default();
    let seen = attempts.clone();
    let mut options = apache.consumer(&group);
    options.max_reconsume_times = 2;
    let failing = PushConsumer::start(
        options,
        [(topic.clone(), FilterExpression::all())],
        move |b: &[MessageView]| {
            seen.lock()
                .expect("lock")
                .extend(b.iter().map(MessageView::reconsume_times));
            ConsumeResult::ReconsumeLater
        },
    )
    .await
    .expect("consumer");
    let poison = producer
        .send(Message::new(&topic, "poison"))
        .await
        .expect("send");
    wait_for("3 deliveries", WAIT, || async {
        attempts.lock().expect("lock").len() >= 3
    })
    .await;
    assert_eq!(attempts.lock().expect("lock")[..3], [0, 1, 2]);
    let (c, dlq) = apache
        .consume_all(&format!("%DLQ%{group}"), FilterExpression::all(), 1)
        .await;
    assert_eq!(dlq.snapshot()[0].msg_id(), poison.msg_id);
    c.shutdown().await;
    failing.shutdown().await;

    // pull: assign, poll, seek back, commit.
    let topic = apache.topic("ApPull", 1).await;
    for i in 0..5 {
        producer
            .send(Message::new(&topic, format!("p{i}")))
            .await
            .expect("send");
    }
    let pull = PullConsumer::start(PullConsumerOptions {
        client: apache.config("apache-pull"),
        group: unique("pcg"),
        consume_from: ConsumeFrom::FirstOffset,
        auto_commit: false,
        ..PullConsumerOptions::default()
    })
    .await
    .expect("pull");
    let queues = pull.fetch_queues(&topic).await.expect("queues");
    pull.assign(queues.clone()).await.expect("assign");
    let mut polled = Vec::new();
    let deadline = Instant::now() + WAIT;
    while polled.len() < 5 && Instant::now() < deadline {
        polled.extend(pull.poll(Duration::from_millis(500)).await.expect("poll"));
    }
    assert_eq!(polled.len(), 5);
    pull.seek(&queues[0], 3).await.expect("seek");
    let mut again = Vec::new();
    while again.len() < 2 && Instant::now() < deadline {
        again.extend(pull.poll(Duration::from_millis(500)).await.expect("poll"));
    }
    assert_eq!(
        again.iter().map(|m| m.queue_offset()).collect::<Vec<_>>(),
        [3, 4]
    );
    pull.commit().await.expect("commit");
    assert_eq!(
        pull.committed(&queues[0]).await.expect("committed"),
        Some(5)
    );
    pull.shutdown().await;

    producer.shutdown().await;
    tokio::task::spawn_blocking(move || drop((broker, namesrv)))
        .await
        .expect("stop");
}
