//! Issue 15: Apache's own `mqadmin` (`rocketmq-tools` 5.3.3) inspects OUR push consumer on
//! OUR servers: `consumerStatus -g G -i <clientId>` prints the consumer's queue rows (offsets,
//! process-queue detail) and its rates from our client's running info; `consumerStatus -g G`
//! analyses it (start timestamp, subscriptions, rebalance); `consumerProgress -g G` prints the
//! messages a held listener keeps in flight (`#Inflight`, from the broker's pull offsets).
//!
//! Lives with the client's tests because it drives our client (`ferromq-tests` holds the
//! `mqadmin` harness and does not depend on the client). Needs `java` (17) and `mvn`; prints
//! `SKIPPED: ...` and passes otherwise (`FERROMQ_COMPAT_REQUIRED=1` fails instead).

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use common::{producer_options, unique, Servers};
use ferromq_client::{
    Admin, ConsumeFrom, ConsumeResult, FilterExpression, Message, MessageView, Producer,
    PushConsumer, PushConsumerOptions,
};
use ferromq_protocol::body::ConsumerRunningInfo;
use ferromq_tests::mqadmin::apache_mqadmin;
use ferromq_tests::process::{tail_of_text, TAIL_LINES};
use ferromq_tests::require_tools;

const WAIT: Duration = Duration::from_secs(30);
const MESSAGES: usize = 16;
/// The message (by send order) the listener holds until released.
const HELD: usize = 2;

/// Runs Apache's `mqadmin` off the async threads; panics unless it printed no failure.
async fn mqadmin(namesrv: &str, args: &[&str]) -> String {
    let namesrv = namesrv.to_owned();
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let run = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        apache_mqadmin(&namesrv, &args)
    })
    .await
    .expect("mqadmin task");
    run.assert_success();
    let failed = run.output.contains("command failed")
        || run
            .output
            .lines()
            .any(|l| l.starts_with("\tat ") || l.starts_with("Caused by: "));
    assert!(
        !failed,
        "{} printed a failure:\n{}",
        run.name,
        tail_of_text(&run.output, TAIL_LINES)
    );
    run.output
}

/// The whitespace-separated fields of the lines of `section` (from its `#Title#` line to the
/// next blank line) whose first field is `first`.
fn rows<'a>(out: &'a str, section: &str, first: &str) -> Vec<Vec<&'a str>> {
    out.lines()
        .skip_while(|l| l.trim() != section)
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|f| f.first() == Some(&first))
        .collect()
}

/// A listener that holds one message (body `held`) until released, and consumes the rest.
#[derive(Clone, Default)]
struct Holding {
    consumed: Arc<AtomicUsize>,
    released: Arc<(Mutex<bool>, Condvar)>,
}

impl Holding {
    fn listener(&self) -> impl ferromq_client::MessageListener {
        let this = self.clone();
        move |batch: &[MessageView]| {
            if batch.iter().any(|m| m.body().as_ref() == b"held") {
                let (lock, cv) = &*this.released;
                let mut released = lock.lock().expect("lock");
                while !*released {
                    released = cv.wait(released).expect("wait");
                }
            }
            this.consumed.fetch_add(batch.len(), Ordering::SeqCst);
            ConsumeResult::Success
        }
    }

    fn release(&self) {
        let (lock, cv) = &*self.released;
        *lock.lock().expect("lock") = true;
        cv.notify_all();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apache_mqadmin_reads_our_consumers_status_and_inflight() {
    if !require_tools("compat_consumer_status", &["java", "mvn"]) {
        return;
    }
    let servers = Servers::start(|_| {}).await;
    let ns = servers.namesrv.addr().to_owned();
    let topic = unique("StatusTopic");
    servers.create_topic(&topic, 4).await;
    let producer = Producer::start(producer_options(&servers, &unique("pg")))
        .await
        .expect("producer");
    let mut ends: BTreeMap<i32, i64> = BTreeMap::new();
    let mut held = (0, 0);
    for i in 0..MESSAGES {
        let body = if i == HELD {
            "held".to_owned()
        } else {
            format!("m-{i}")
        };
        let r = producer
            .send(Message::new(&topic, body))
            .await
            .expect("send");
        if i == HELD {
            held = (r.queue.queue_id, r.queue_offset);
        }
        let end = ends.entry(r.queue.queue_id).or_insert(0);
        *end = (*end).max(r.queue_offset + 1);
    }
    producer.shutdown().await;
    assert_eq!(ends.len(), 4, "{ends:?}");
    let (held_queue, held_offset) = held;
    // Where each queue's committed offset settles: the end, or the held message.
    let mut committed = ends.clone();
    committed.insert(held_queue, held_offset);

    let group = unique("StatusGroup");
    let holding = Holding::default();
    let options = PushConsumerOptions {
        client: servers.client_config(&unique("status")),
        group: group.clone(),
        consume_from: ConsumeFrom::FirstOffset,
        persist_interval: Duration::from_millis(200),
        ..PushConsumerOptions::default()
    };
    let consumer = PushConsumer::start(
        options,
        [(topic.clone(), FilterExpression::all())],
        holding.listener(),
    )
    .await
    .expect("consumer");
    let client_id = consumer.client().id().to_owned();
    let admin = Admin::new(&servers.client_config(&unique("admin"))).expect("admin");

    // Settled: every other message consumed, the offsets committed on the broker.
    let deadline = Instant::now() + WAIT;
    loop {
        let stats = admin
            .consume_stats_at(servers.broker.addr(), &group, Some(&topic))
            .await
            .expect("consume stats");
        let on_broker: BTreeMap<i32, i64> = stats
            .offset_table
            .iter()
            .map(|(mq, w)| (mq.queue_id, w.consumer_offset))
            .collect();
        if holding.consumed.load(Ordering::SeqCst) == MESSAGES - 1 && on_broker == committed {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "broker offsets {on_broker:?}, expected {committed:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let info: ConsumerRunningInfo = {
        let v = admin
            .consumer_running_info_at(servers.broker.addr(), &group, &client_id, false)
            .await
            .expect("running info");
        ConsumerRunningInfo::from_value(v).expect("decode")
    };
    let broker_name = info
        .mq_table
        .keys()
        .next()
        .map(|mq| mq.broker_name.clone())
        .expect("queues");

    // One consumer's running info, printed by Apache's ConsumerRunningInfo.formatString.
    let out = mqadmin(&ns, &["consumerStatus", "-g", &group, "-i", &client_id]).await;
    let offsets: BTreeMap<i32, i64> = rows(&out, "#Consumer Offset#", &topic)
        .iter()
        .map(|f| {
            assert_eq!(f[1], broker_name, "{out}");
            (f[2].parse().expect("qid"), f[3].parse().expect("offset"))
        })
        .collect();
    assert_eq!(offsets, committed, "#Consumer Offset#:\n{out}");
    let detail = rows(&out, "#Consumer MQ Detail#", &topic);
    assert_eq!(detail.len(), 4, "{out}");
    let held_row = detail
        .iter()
        .find(|f| f[2] == held_queue.to_string())
        .expect("the held queue's row")
        .join(" ");
    assert!(
        held_row.contains(&format!("commitOffset={held_offset},"))
            && held_row.contains(&format!("cachedMsgMinOffset={held_offset},")),
        "{held_row}"
    );
    let rates = rows(&out, "#Consumer RT&TPS#", &topic);
    assert_eq!(rates.len(), 1, "{out}");
    let ok_tps: f64 = rates[0][4].parse().expect("#ConsumeOK TPS");
    assert!(ok_tps > 0.0, "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("PROP_CONSUME_TYPE") && l.ends_with("CONSUME_PASSIVELY")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("PROP_NAMESERVER_ADDR") && l.ends_with(ns.as_str())),
        "{out}"
    );

    // The whole group: Apache parses our start timestamp and compares subscriptions.
    let out = mqadmin(&ns, &["consumerStatus", "-g", &group]).await;
    assert!(out.contains(&client_id), "{out}");
    assert!(
        out.contains("Same subscription in the same group of consumer"),
        "{out}"
    );
    assert!(out.contains("Rebalance OK"), "{out}");

    // Progress: the held queue has its later messages pulled and not committed.
    let out = mqadmin(&ns, &["consumerProgress", "-g", &group]).await;
    let inflight: BTreeMap<i32, (i64, i64)> = out
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|f| f.first() == Some(&topic.as_str()) && f.len() >= 8)
        .map(|f| {
            let q: i32 = f[2].parse().expect("qid");
            (
                q,
                (
                    f[4].parse().expect("consumer offset"),
                    f[6].parse().expect("#Inflight"),
                ),
            )
        })
        .collect();
    let expected: BTreeMap<i32, (i64, i64)> = committed
        .iter()
        .map(|(q, c)| (*q, (*c, ends[q] - c)))
        .collect();
    assert_eq!(inflight, expected, "#Consumer Offset and #Inflight:\n{out}");
    assert!(ends[&held_queue] - held_offset > 0);
    assert!(
        out.contains(&format!(
            "Consume Inflight Total: {}",
            ends[&held_queue] - held_offset
        )),
        "{out}"
    );

    holding.release();
    consumer.shutdown().await;
    admin.shutdown().await;
    servers.stop().await;
}
