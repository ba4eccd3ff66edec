//! The README's demo: a few sends of each kind through a local FerroMQ (or Apache RocketMQ)
//! name server and broker, and a push consumer printing what it receives.
//!
//! ```text
//! cargo run -p ferromq-examples --bin demo -- [namesrv]     # default 127.0.0.1:9876
//! ```
//!
//! Sends: sync, async (callback), oneway, a batch, ordered by sharding key (hash selector), a
//! delay level (1 s), a timer message (2 s ahead), and two transactions (one committed, one
//! rolled back). The consumer starts first, from the first offset of a fresh topic, and the demo
//! ends when every message that should arrive did (the rolled-back one never does), or after
//! 60 s with the list of what is missing.
#![allow(clippy::print_stdout)]

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ferromq_client::{
    Admin, ClientConfig, ConsumeFrom, ConsumeResult, FilterExpression, Message, MessageView,
    Producer, ProducerOptions, PushConsumer, PushConsumerOptions, SelectByHash, TopicOptions,
    TransactionListener, TransactionProducer, TransactionState,
};

/// Decides a demo transaction by its `decision` property.
struct ByProperty;

impl TransactionListener for ByProperty {
    fn execute(&self, message: &Message, transaction_id: &str) -> TransactionState {
        let state = match message.property("decision") {
            Some("commit") => TransactionState::Commit,
            _ => TransactionState::Rollback,
        };
        println!("  local transaction {transaction_id}: {state:?}");
        state
    }

    fn check(&self, _message: &MessageView) -> TransactionState {
        TransactionState::Commit
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

async fn demo(namesrv: &str) -> Result<bool, ferromq_client::Error> {
    let run = now_ms();
    let topic = format!("DemoTopic{run}");
    let client = ClientConfig {
        namesrv_addr: namesrv.to_owned(),
        ..ClientConfig::default()
    };
    let admin = Admin::new(&client)?;
    // A broker that just started registers with the name server within a moment: retry.
    let options = TopicOptions {
        queue_nums: 4,
        ..TopicOptions::default()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while let Err(e) = admin.create_topic("DefaultCluster", &topic, &options).await {
        if Instant::now() > deadline {
            return Err(e);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!("created topic {topic} with 4 queues");

    let expected: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let listener = {
        let expected = expected.clone();
        move |messages: &[MessageView]| {
            for m in messages {
                let key = m
                    .keys()
                    .first()
                    .map(|k| (*k).to_owned())
                    .unwrap_or_default();
                println!(
                    "received {key:<12} tag {:<8} queue {} offset {:<3} {} ms after its birth: {}",
                    m.tag().unwrap_or("-"),
                    m.queue().queue_id,
                    m.queue_offset(),
                    now_ms() - m.born_timestamp(),
                    String::from_utf8_lossy(m.body())
                );
                expected
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&key);
            }
            ConsumeResult::Success
        }
    };
    let consumer = PushConsumer::start(
        PushConsumerOptions {
            client: client.clone(),
            group: format!("DemoConsumer{run}"),
            consume_from: ConsumeFrom::FirstOffset,
            ..PushConsumerOptions::default()
        },
        [(topic.clone(), FilterExpression::all())],
        listener,
    )
    .await?;
    println!("consumer started");

    let producer = Producer::start(ProducerOptions {
        client: client.clone(),
        group: format!("DemoProducer{run}"),
        ..ProducerOptions::default()
    })
    .await?;
    let expect = |key: &str| {
        expected
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.to_owned());
    };
    let message = |kind: &str, i: usize, tag: &str| {
        let key = format!("{kind}-{i}");
        expect(&key);
        Message::new(&topic, format!("hello from a {kind} send #{i}"))
            .with_tag(tag)
            .with_keys([key])
            .with_property("demo", "true")
    };

    for i in 0..3 {
        let r = producer.send(message("sync", i, "Sync")).await?;
        println!(
            "sent sync #{i}: {:?} {} to queue {}",
            r.status, r.msg_id, r.queue.queue_id
        );
    }
    for i in 0..3 {
        producer.send_async(message("async", i, "Async"), move |r| match r {
            Ok(r) => println!("sent async #{i}: {:?} {}", r.status, r.msg_id),
            Err(e) => println!("async #{i} failed: {e}"),
        });
    }
    for i in 0..2 {
        producer.send_oneway(message("oneway", i, "Oneway")).await?;
        println!("sent oneway #{i}");
    }
    let batch = (0..3).map(|i| message("batch", i, "Batch")).collect();
    let rs = producer.send_batch(batch).await?;
    println!(
        "sent a batch of 3: {:?}",
        rs.iter().map(|r| &r.msg_id).collect::<Vec<_>>()
    );
    for i in 0..6 {
        let order = ["order-A", "order-B"][i % 2];
        let r = producer
            .send_with_selector(message("ordered", i, "Ordered"), &SelectByHash, order)
            .await?;
        println!("sent {order} step {}: queue {}", i / 2, r.queue.queue_id);
    }
    producer
        .send(message("delayed", 0, "Delayed").with_delay_level(1))
        .await?;
    println!("sent a message with delay level 1 (1 s)");
    producer
        .send(message("timer", 0, "Timer").with_deliver_time_ms(now_ms() + 2000))
        .await?;
    println!("sent a timer message due in 2 s");

    let tx = TransactionProducer::start(
        ProducerOptions {
            client: client.clone(),
            group: format!("DemoTxProducer{run}"),
            ..ProducerOptions::default()
        },
        ByProperty,
    )
    .await?;
    let committed = message("tx-commit", 0, "Tx").with_property("decision", "commit");
    let r = tx.send(committed).await?;
    println!("sent a transactional message: {:?}", r.state);
    let rolled_back = Message::new(&topic, "never delivered")
        .with_tag("Tx")
        .with_keys(["tx-rollback-0"])
        .with_property("decision", "rollback");
    let r = tx.send(rolled_back).await?;
    println!("sent a transactional message: {:?}", r.state);

    let deadline = Instant::now() + Duration::from_secs(60);
    let missing = loop {
        let left = expected.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if left.is_empty() || Instant::now() > deadline {
            break left;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    tx.shutdown().await;
    producer.shutdown().await;
    consumer.shutdown().await;
    admin.shutdown().await;
    if missing.is_empty() {
        println!("demo done: every message arrived, the rolled-back one did not");
        Ok(true)
    } else {
        println!("demo incomplete after 60 s; missing: {missing:?}");
        Ok(false)
    }
}

fn main() -> ExitCode {
    let namesrv = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9876".to_owned());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("demo: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(demo(&namesrv)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("demo: {e}");
            ExitCode::FAILURE
        }
    }
}
