//! docs/scenarios.md with the Rust client against a real FerroMQ name server and broker: tag and
//! SQL92 filters, delay levels, transactions (commit, rollback, check-back), broadcasting,
//! retry then DLQ, and a group sharing queues across a member leaving.

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{consumer_options, producer_options, unique, wait_for, Collected, Servers};
use ferromq_client::{
    ConsumeResult, FilterExpression, Message, MessageModel, MessageView, Producer, PushConsumer,
    TransactionListener, TransactionProducer, TransactionState,
};

const WAIT: Duration = Duration::from_secs(30);

fn bodies(c: &Collected) -> BTreeSet<String> {
    c.snapshot()
        .iter()
        .map(|m| String::from_utf8_lossy(m.body()).into_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tag_filter_delivers_only_the_subscribed_tags() {
    let servers = Servers::start(|_| {}).await;
    let topic = unique("TagFilter");
    servers.create_topic(&topic, 2).await;
    let producer = Producer::start(producer_options(&servers, &unique("pg")))
        .await
        .expect("producer");
    for i in 0..9 {
        let tag = ["A", "B", "C"][i % 3];
        producer
            .send(Message::new(&topic, format!("{tag}{i}")).with_tag(tag))
            .await
            .expect("send");
    }
    producer
        .send(Message::new(&topic, "END").with_tag("C"))
        .await
        .expect("send");
    let got = Collected::default();
    let group = unique("cg");
    let consumer = PushConsumer::start(
        consumer_options(&servers, &group, &group),
        [(topic.clone(), FilterExpression::tag("A || C"))],
        got.listener(),
    )
    .await
    .expect("consumer");
    got.wait_for(7, WAIT).await;
    let tags: BTreeSet<String> = got
        .snapshot()
        .iter()
        .filter_map(|m| m.tag().map(str::to_owned))
        .collect();
    assert_eq!(tags, BTreeSet::from(["A".to_owned(), "C".to_owned()]));
    assert_eq!(got.len(), 7, "3 A + 3 C + END");
    consumer.shutdown().await;
    producer.shutdown().await;
    servers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql92_filter_delivers_exactly_the_matching_messages() {
    let servers = Servers::start(|s| s.broker.enable_property_filter = true).await;
    let topic = unique("SqlFilter");
    // One queue: the END sentinel, sent last, arrives last.
    servers.create_topic(&topic, 1).await;
    let producer = Producer::start(producer_options(&servers, &unique("pg")))
        .await
        .expect("producer");
    let mut expected = BTreeSet::new();
    for a in 1..=10 {
        for b in ["x", "y"] {
            let body = format!("a={a},b={b}");
            if a > 5 && b == "x" {
                expected.insert(body.clone());
            }
            let m = Message::new(&topic, body)
                .with_property("a", a.to_string())
                .with_property("b", b);
            producer.send(m).await.expect("send");
        }
    }
    let end = Message::new(&topic, "END")
        .with_property("a", "99")
        .with_property("b", "x");
    producer.send(end).await.expect("send");
    expected.insert("END".to_owned());
    let got = Collected::default();
    let group = unique("cg");
    let consumer = PushConsumer::start(
        consumer_options(&servers, &group, &group),
        [(topic.clone(), FilterExpression::sql92("a > 5 AND b = 'x'"))],
        got.listener(),
    )
    .await
    .expect("consumer");
    wait_for("the END sentinel", WAIT, || async {
        bodies(&got).contains("END")
    })
    .await;
    assert_eq!(bodies(&got), expected);
    assert_eq!(got.len(), expected.len());
    consumer.shutdown().await;
    producer.shutdown().await;
    servers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delay_level_holds_the_message_back() {
    let servers = Servers::start(|s| s.store.message_delay_level = "1s 2s 3s".to_owned()).await;
    let topic = unique("Delay");
    servers.create_topic(&topic, 2).await;
    let producer = Producer::start(producer_options(&servers, &unique("pg")))
        .await
        .expect("producer");
    let got = Collected::default();
    let group = unique("cg");
    let consumer = PushConsumer::start(
        consumer_options(&servers, &group, &group),
        [(topic.clone(), FilterExpression::all())],
        got.listener(),
    )
    .await
    .expect("consumer");
    let sent_at = Instant::now();
    let r = producer
        .send(Message::new(&topic, "later").with_delay_level(2))
        .await
        .expect("send");
    got.wait_for(1, WAIT).await;
    let m = &got.snapshot()[0];
    assert_eq!(m.msg_id(), r.msg_id);
    assert_eq!(m.topic(), topic);
    // Level 2 = 2 s with the tweaked levels: it cannot arrive before that.
    assert!(
        sent_at.elapsed() >= Duration::from_secs(2),
        "delivered after the delay"
    );
    consumer.shutdown().await;
    producer.shutdown().await;
    servers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timer_messages_wait_for_their_delivery_time() {
    let servers = Servers::start(|_| {}).await;
    let topic = unique("Timer");
    servers.create_topic(&topic, 2).await;
    let producer = Producer::start(producer_options(&servers, &unique("pg")))
        .await
        .expect("producer");
    let got = Collected::default();
    let group = unique("cg");
    let consumer = PushConsumer::start(
        consumer_options(&servers, &group, &group),
        [(topic.clone(), FilterExpression::all())],
        got.listener(),
    )
    .await
    .expect("consumer");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    let sent_at = Instant::now();
    // Sent in one order, due in the other: 2 s (absolute time), then 1 s (relative).
    let later = producer
        .send(Message::new(&topic, "at +2 s").with_deliver_time_ms(now + 2000))
        .await
        .expect("send");
    let sooner = producer
        .send(Message::new(&topic, "in 1 s").with_delay_ms(1000))
        .await
        .expect("send");
    got.wait_for(1, WAIT).await;
    let first = got.snapshot()[0].msg_id();
    assert!(
        sent_at.elapsed() >= Duration::from_millis(1000),
        "waited 1 s"
    );
    assert_eq!(first, sooner.msg_id, "the one due first arrives first");
    got.wait_for(2, WAIT).await;
    assert!(
        sent_at.elapsed() >= Duration::from_millis(1950),
        "waited 2 s"
    );
    assert_eq!(got.snapshot()[1].msg_id(), later.msg_id);
    consumer.shutdown().await;
    producer.shutdown().await;
    servers.stop().await;
}

struct Decisions {
    checked: Arc<AtomicUsize>,
}

impl TransactionListener for Decisions {
    fn execute(&self, message: &Message, _transaction_id: &str) -> TransactionState {
        match message.body().as_ref() {
            b"commit" => TransactionState::Commit,
            b"rollback" => TransactionState::Rollback,
            _ => TransactionState::Unknown,
        }
    }

    /// Answers the true state (a check-back may also come for a message whose end request is
    /// still in flight); `unknown` has committed by now.
    fn check(&self, message: &MessageView) -> TransactionState {
        if message.body().as_ref() == b"rollback" {
            return TransactionState::Rollback;
        }
        if message.body().as_ref() == b"unknown" {
            self.checked.fetch_add(1, Ordering::SeqCst);
        }
        TransactionState::Commit
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_commit_rollback_and_check_back() {
    let servers = Servers::start(|s| {
        s.broker.transaction_check_interval = 1000;
        s.broker.transaction_time_out = 1000;
    })
    .await;
    let topic = unique("Tx");
    // One queue: a wrongly committed rollback would be stored before the checked-back commit.
    servers.create_topic(&topic, 1).await;
    let checked = Arc::new(AtomicUsize::new(0));
    let producer = TransactionProducer::start(
        producer_options(&servers, &unique("txpg")),
        Decisions {
            checked: checked.clone(),
        },
    )
    .await
    .expect("producer");
    for body in ["commit", "rollback", "unknown"] {
        let r = producer
            .send(Message::new(&topic, body))
            .await
            .expect("send");
        assert!(r.send.transaction_id.is_some());
    }
    let got = Collected::default();
    let group = unique("cg");
    let consumer = PushConsumer::start(
        consumer_options(&servers, &group, &group),
        [(topic.clone(), FilterExpression::all())],
        got.listener(),
    )
    .await
    .expect("consumer");
    wait_for("the checked-back commit", WAIT, || async {
        bodies(&got).contains("unknown") && bodies(&got).contains("commit")
    })
    .await;
    assert_eq!(
        bodies(&got),
        BTreeSet::from(["commit".to_owned(), "unknown".to_owned()])
    );
    assert!(
        checked.load(Ordering::SeqCst) >= 1,
        "the undecided one was checked back"
    );
    consumer.shutdown().await;
    producer.shutdown().await;
    servers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcasting_delivers_everything_to_every_member() {
    let servers = Servers::start(|_| {}).await;
    let topic = unique("Broadcast");
    servers.create_topic(&topic, 2).await;
    let dir = tempfile::tempdir().expect("dir");
    let group = unique("cg");
    let mut members = Vec::new();
    for name in ["m1", "m2"] {
        let got = Collected::default();
        let mut options = consumer_options(&servers, &group, &format!("{group}-{name}"));
        options.message_model = MessageModel::Broadcasting;
        options.offset_store_dir = Some(dir.path().to_owned());
        let c = PushConsumer::start(
            options,
            [(topic.clone(), FilterExpression::all())],
            got.listener(),
        )
        .await
        .expect("consumer");
        members.push((c, got));
    }
    let producer = Producer::start(producer_options(&servers, &unique("pg")))
        .await
        .expect("producer");
    for i in 0..10 {
        producer
            .send(Message::new(&topic, format!("b{i}")))
            .await
            .expect("send");
    }
    for (c, got) in &members {
        got.wait_for(10, WAIT).await;
        assert_eq!(bodies(got).len(), 10);
        c.shutdown().await;
    }
    // Offsets were written locally, not to the broker.
    let files: Vec<_> = walk(dir.path())
        .into_iter()
        .filter(|p| p.ends_with("offsets.json"))
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
    producer.shutdown().await;
    servers.stop().await;
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_messages_are_retried_then_parked_in_the_dlq() {
    let servers =
        Servers::start(|s| s.store.message_delay_level = "1s 1s 1s 1s 1s 1s".to_owned()).await;
    let topic = unique("RetryDlq");
    servers.create_topic(&topic, 1).await;
    let group = unique("cg");
    let attempts: Arc<Mutex<Vec<i32>>> = Arc::default();
    let seen = attempts.clone();
    let mut options = consumer_options(&servers, &group, &group);
    options.max_reconsume_times = 2;
    let consumer = PushConsumer::start(
        options,
        [(topic.clone(), FilterExpression::all())],
        move |batch: &[MessageView]| {
            for m in batch {
                assert_eq!(m.body().as_ref(), b"poison");
                seen.lock().expect("lock").push(m.reconsume_times());
            }
            ConsumeResult::ReconsumeLater
        },
    )
    .await
    .expect("consumer");
    let producer = Producer::start(producer_options(&servers, &unique("pg")))
        .await
        .expect("producer");
    let sent = producer
        .send(Message::new(&topic, "poison"))
        .await
        .expect("send");
    wait_for("three deliveries", WAIT, || async {
        attempts.lock().expect("lock").len() >= 3
    })
    .await;
    assert_eq!(attempts.lock().expect("lock")[..3], [0, 1, 2]);
    // After the max reconsume times the message goes to %DLQ%<group>.
    let dlq = Collected::default();
    let dlq_group = unique("dlq");
    let dlq_consumer = PushConsumer::start(
        consumer_options(&servers, &dlq_group, &dlq_group),
        [(format!("%DLQ%{group}"), FilterExpression::all())],
        dlq.listener(),
    )
    .await
    .expect("dlq consumer");
    dlq.wait_for(1, WAIT).await;
    assert_eq!(dlq.snapshot()[0].msg_id(), sent.msg_id);
    assert_eq!(
        attempts.lock().expect("lock").len(),
        3,
        "no delivery after the DLQ"
    );
    dlq_consumer.shutdown().await;
    consumer.shutdown().await;
    producer.shutdown().await;
    servers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_members_share_the_queues_and_rebalance_when_one_leaves() {
    let servers = Servers::start(|_| {}).await;
    let topic = unique("Rebalance");
    servers.create_topic(&topic, 4).await;
    let group = unique("cg");
    let first_got = Collected::default();
    let first = PushConsumer::start(
        consumer_options(&servers, &group, &format!("{group}-1")),
        [(topic.clone(), FilterExpression::all())],
        first_got.listener(),
    )
    .await
    .expect("first");
    let second_got = Collected::default();
    let second = PushConsumer::start(
        consumer_options(&servers, &group, &format!("{group}-2")),
        [(topic.clone(), FilterExpression::all())],
        second_got.listener(),
    )
    .await
    .expect("second");
    let topic_queues = |c: &PushConsumer| {
        c.assigned_queues()
            .into_iter()
            .filter(|q| q.topic == topic)
            .count()
    };
    wait_for("2 + 2 queues", WAIT, || async {
        topic_queues(&first) == 2 && topic_queues(&second) == 2
    })
    .await;
    let a: BTreeSet<_> = first
        .assigned_queues()
        .into_iter()
        .filter(|q| q.topic == topic)
        .collect();
    let b: BTreeSet<_> = second
        .assigned_queues()
        .into_iter()
        .filter(|q| q.topic == topic)
        .collect();
    assert!(a.is_disjoint(&b));

    let producer = Producer::start(producer_options(&servers, &unique("pg")))
        .await
        .expect("producer");
    for i in 0..20 {
        producer
            .send(Message::new(&topic, format!("r{i}")))
            .await
            .expect("send");
    }
    wait_for("20 messages", WAIT, || async {
        first_got.len() + second_got.len() >= 20
    })
    .await;
    assert!(
        first_got.len() > 0 && second_got.len() > 0,
        "both members consumed"
    );
    let mut all = bodies(&first_got);
    all.extend(bodies(&second_got));
    assert_eq!(all.len(), 20);

    second.shutdown().await;
    wait_for("all 4 queues to the survivor", WAIT, || async {
        topic_queues(&first) == 4
    })
    .await;
    for i in 20..30 {
        producer
            .send(Message::new(&topic, format!("r{i}")))
            .await
            .expect("send");
    }
    wait_for("the rest", WAIT, || async {
        let mut all = bodies(&first_got);
        all.extend(bodies(&second_got));
        all.len() == 30
    })
    .await;
    first.shutdown().await;
    producer.shutdown().await;
    servers.stop().await;
}
