//! The parity suite (tests/parity/README.md) in Rust: the ten cases against a real FerroMQ name
//! server and broker, one `<case> <outcome>` line each, compared with
//! `tests/parity/expected.txt`, the text every language's runner must print.
//!
//! Rust's producers and consumers come into being started, so the life-cycle cases use the
//! core's [`Lifecycle`] (created, started, shut down), which is what every binding's objects
//! are; the option cases use the core functions the bindings build options with.

mod common;

use std::fmt::Display;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{consumer_options, poll_until, producer_options, unique, wait_for, Servers};
use ferromq_client::{
    ConsumeFrom, ConsumeFromKind, ConsumeResult, EachMessage, Error, FilterExpression, Lifecycle,
    Message, MessageView, Producer, ProducerOptions, PullConsumer, PullConsumerOptions,
    PushConsumer, SelectByHash,
};

const WAIT: Duration = Duration::from_secs(30);
/// How long `listener_success` watches for a delivery that should not come.
const QUIET: Duration = Duration::from_secs(1);

/// `error=<kind>` for an error, `ok` otherwise.
fn outcome<T>(r: Result<T, Error>) -> String {
    match r {
        Ok(_) => "ok".to_owned(),
        Err(e) => format!("error={}", e.kind()),
    }
}

fn joined<T: Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// A producer as the bindings present it: created, to be started (possibly twice) with
/// `options`.
fn producer(servers: &Servers) -> (Lifecycle<Producer>, ProducerOptions) {
    let options = producer_options(servers, &unique("parity_pg"));
    (Lifecycle::new("producer"), options)
}

async fn start_twice(servers: &Servers) -> String {
    let (p, options) = producer(servers);
    p.start(|| Producer::start(options.clone()))
        .await
        .expect("first start");
    let again = p.start(|| Producer::start(options.clone())).await;
    p.shutdown().await;
    outcome(again)
}

async fn start_after_shutdown(servers: &Servers) -> String {
    let (p, options) = producer(servers);
    p.start(|| Producer::start(options.clone()))
        .await
        .expect("first start");
    p.shutdown().await;
    outcome(p.start(|| Producer::start(options.clone())).await)
}

async fn shutdown_twice(servers: &Servers) -> String {
    let (p, options) = producer(servers);
    p.start(|| Producer::start(options.clone()))
        .await
        .expect("start");
    p.shutdown().await;
    p.shutdown().await;
    "ok".to_owned()
}

/// Sends one message to a fresh topic and consumes it with `answer`, which is told the number
/// of the delivery (0 for the first); returns the consumer and the reconsume times of the
/// deliveries, once `done` holds of them.
async fn consume_one(
    servers: &Servers,
    case: &str,
    answer: impl Fn(usize) -> ConsumeResult + Send + Sync + 'static,
    done: impl Fn(&[i32]) -> bool,
) -> (PushConsumer, Arc<Mutex<Vec<i32>>>) {
    let topic = unique(&format!("parity_{case}"));
    servers.create_topic(&topic, 1).await;
    let producer = Producer::start(producer_options(servers, &unique("parity_pg")))
        .await
        .expect("producer");
    producer
        .send(Message::new(&topic, case.to_owned()))
        .await
        .expect("send");
    producer.shutdown().await;
    let seen: Arc<Mutex<Vec<i32>>> = Arc::default();
    let record = seen.clone();
    let group = unique("parity_cg");
    let consumer = PushConsumer::start(
        consumer_options(servers, &group, &group),
        [(topic, FilterExpression::all())],
        EachMessage::new(move |m: &MessageView| {
            let delivery = {
                let mut seen = record.lock().expect("lock");
                seen.push(m.reconsume_times());
                seen.len() - 1
            };
            answer(delivery)
        }),
    )
    .await
    .expect("consumer");
    wait_for(case, WAIT, || async { done(&seen.lock().expect("lock")) }).await;
    (consumer, seen)
}

async fn listener_success(servers: &Servers) -> String {
    let (consumer, seen) = consume_one(
        servers,
        "listener_success",
        |_| ConsumeResult::Success,
        |s| !s.is_empty(),
    )
    .await;
    // The one bounded wait of the suite: a redelivery, if any, would come within it.
    tokio::time::sleep(QUIET).await;
    consumer.shutdown().await;
    let deliveries = seen.lock().expect("lock").len();
    format!("deliveries={deliveries}")
}

/// The first delivery is refused by `first`, the next ones succeed.
async fn retried(
    servers: &Servers,
    case: &str,
    first: impl Fn() -> ConsumeResult + Send + Sync + 'static,
) -> String {
    let (consumer, seen) = consume_one(
        servers,
        case,
        move |delivery| {
            if delivery == 0 {
                first()
            } else {
                ConsumeResult::Success
            }
        },
        |s| s.len() >= 2,
    )
    .await;
    consumer.shutdown().await;
    let seen = seen.lock().expect("lock").clone();
    format!("deliveries={} reconsume={}", seen.len(), joined(&seen))
}

async fn pull_seek(servers: &Servers) -> String {
    let topic = unique("parity_pull_seek");
    servers.create_topic(&topic, 4).await;
    let producer = Producer::start(producer_options(servers, &unique("parity_pg")))
        .await
        .expect("producer");
    for i in 0..5 {
        producer
            .send_with_selector(
                Message::new(&topic, format!("m{i}")),
                &SelectByHash,
                "parity",
            )
            .await
            .expect("send");
    }
    producer.shutdown().await;
    let group = unique("parity_pull");
    let consumer = PullConsumer::start(PullConsumerOptions {
        client: servers.client_config(&group),
        group,
        consume_from: ConsumeFrom::FirstOffset,
        ..PullConsumerOptions::default()
    })
    .await
    .expect("pull consumer");
    let queues = consumer.fetch_queues(&topic).await.expect("queues");
    consumer.assign(queues).await.expect("assign");
    let first = poll_until(&consumer, 5, WAIT).await;
    let queue = first[0].queue().clone();
    consumer.seek(&queue, 2).await.expect("seek");
    let again = poll_until(&consumer, 3, WAIT).await;
    consumer.shutdown().await;
    let offsets =
        |ms: &[MessageView]| joined(&ms.iter().map(|m| m.queue_offset()).collect::<Vec<_>>());
    format!("offsets={} after_seek={}", offsets(&first), offsets(&again))
}

/// A unified-style diff of two line lists (the runner's output is short: a line-by-line
/// comparison is enough).
fn diff(expected: &[&str], actual: &[String]) -> String {
    let mut out = String::from("--- tests/parity/expected.txt\n+++ Rust runner\n");
    for i in 0..expected.len().max(actual.len()) {
        match (expected.get(i), actual.get(i)) {
            (Some(e), Some(a)) if *e == a => out.push_str(&format!(" {e}\n")),
            (e, a) => {
                if let Some(e) = e {
                    out.push_str(&format!("-{e}\n"));
                }
                if let Some(a) = a {
                    out.push_str(&format!("+{a}\n"));
                }
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_case_prints_the_expected_outcome() {
    let servers = Servers::start(|s| {
        s.store.message_delay_level = vec!["1s"; 18].join(" ");
    })
    .await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    let lines = vec![
        ("start_twice", start_twice(&servers).await),
        ("start_after_shutdown", start_after_shutdown(&servers).await),
        ("shutdown_twice", shutdown_twice(&servers).await),
        (
            "invalid_consume_from",
            outcome("sideways".parse::<ConsumeFromKind>()),
        ),
        (
            "timestamp_without_timestamp_start",
            outcome(ConsumeFrom::new(
                Some(ConsumeFromKind::LastOffset),
                Some(now),
            )),
        ),
        (
            "tag_and_sql",
            outcome(FilterExpression::from_parts(
                Some("TagA".to_owned()),
                Some("a > 1".to_owned()),
            )),
        ),
        ("listener_success", listener_success(&servers).await),
        (
            "listener_retry",
            retried(&servers, "listener_retry", || ConsumeResult::ReconsumeLater).await,
        ),
        (
            "listener_throws",
            retried(&servers, "listener_throws", || {
                panic!("the listener fails its first delivery (expected by the parity suite)")
            })
            .await,
        ),
        ("pull_seek", pull_seek(&servers).await),
    ];
    servers.stop().await;

    let actual: Vec<String> = lines
        .into_iter()
        .map(|(case, outcome)| format!("{case} {outcome}"))
        .collect();
    #[allow(clippy::print_stdout)] // the runner's output is the lines it compares
    for line in &actual {
        println!("{line}");
    }
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/parity/expected.txt");
    let expected = std::fs::read_to_string(path).expect("tests/parity/expected.txt");
    let expected: Vec<&str> = expected.lines().collect();
    assert!(
        expected == actual,
        "the Rust runner's outcomes differ from tests/parity/expected.txt:\n{}",
        diff(&expected, &actual)
    );
}
