//! The Rust client through a SYNC_MASTER's `kill -9` (the scenario of
//! `tests/tests/ha_failover.rs`, which runs it with the official Java client): the 2m-2s-sync
//! layout, SYNC_FLUSH, every server a real `mqnamesrv` / `mqbroker` process
//! (`ferromq_client::testing::LocalCluster`, with the master/slave helpers of
//! `ferromq_tests::ha`).
//!
//! Each cycle, on a topic of its own: 4 tasks send keyed messages for a few seconds (route
//! refreshed every second, latency fault tolerance on, 2 retries), remembering every key
//! acknowledged with `SendStatus::Ok`; once some are acknowledged, broker-a's master is killed
//! with `SIGKILL`, and the producer must carry on with broker-b. With the master still down, a
//! push consumer of a fresh group must receive every acknowledged key, broker-a's from its
//! slave (duplicates are counted, not failed). The master then starts again on its store and
//! its slave catches up before the next cycle.
//!
//! `FERROMQ_HA_CYCLES` sets the number of cycles (2 by default). The `mqnamesrv` and `mqbroker`
//! binaries must be built (`cargo build -p ferromq-namesrv -p ferromq-broker`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferromq_client::testing::{BrokerRole, FlushDiskType, LocalCluster};
use ferromq_client::{
    ClientConfig, ConsumeFrom, ConsumeResult, FilterExpression, Message, MessageView, Producer,
    ProducerOptions, PushConsumer, PushConsumerOptions, SendStatus,
};
use ferromq_tests::ha::{self, broker};

/// How long the producer sends each cycle.
const SEND_FOR: Duration = Duration::from_secs(8);
/// Sending tasks.
const SENDERS: usize = 4;
/// Acknowledged sends before broker-a's master is killed (at least).
const ACKED_BEFORE_KILL: usize = 100;
/// How long the consumer may take to receive every acknowledged key.
const CONSUME_WITHIN: Duration = Duration::from_secs(90);

fn cycles() -> usize {
    std::env::var("FERROMQ_HA_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2)
}

/// Runs blocking harness calls (process starts, waits) off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("harness call")
}

fn client(namesrv: &str, instance: &str) -> ClientConfig {
    ClientConfig {
        namesrv_addr: namesrv.to_owned(),
        instance_name: instance.to_owned(),
        route_refresh_interval: Duration::from_secs(1),
        ..ClientConfig::default()
    }
}

/// What the senders saw.
#[derive(Default)]
struct Sent {
    acked: Mutex<BTreeSet<String>>,
    /// Failures by kind (a send error's kind, or a stored-but-not-OK status), with broker name.
    failed: Mutex<BTreeMap<String, usize>>,
}

impl Sent {
    fn acked(&self) -> usize {
        self.acked.lock().expect("lock").len()
    }
}

/// Sends keyed messages from [`SENDERS`] tasks until `stop`.
fn start_senders(
    producer: &Arc<Producer>,
    topic: &str,
    cycle: usize,
    sent: &Arc<Sent>,
    stop: &Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..SENDERS)
        .map(|t| {
            let (producer, sent, stop) = (producer.clone(), sent.clone(), stop.clone());
            let topic = topic.to_owned();
            tokio::spawn(async move {
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let key = format!("RS-{cycle}-{t}-{i}");
                    i += 1;
                    let m = Message::new(&topic, format!("ha failover body {key}"))
                        .with_tag("TagHA")
                        .with_keys([key.clone()]);
                    match producer.send(m).await {
                        Ok(r) if r.status == SendStatus::Ok => {
                            sent.acked.lock().expect("lock").insert(key);
                        }
                        Ok(r) => {
                            let kind = format!("{:?}@{}", r.status, r.queue.broker_name);
                            *sent.failed.lock().expect("lock").entry(kind).or_default() += 1;
                        }
                        Err(e) => {
                            let kind = format!("{:?}", e.kind());
                            *sent.failed.lock().expect("lock").entry(kind).or_default() += 1;
                        }
                    }
                }
            })
        })
        .collect()
}

/// Deliveries by key and by broker name.
#[derive(Default)]
struct Received {
    by_key: Mutex<BTreeMap<String, usize>>,
    by_broker: Mutex<BTreeMap<String, usize>>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rust_clients_lose_no_acknowledged_message_when_a_sync_master_is_killed() {
    let started = Instant::now();
    let n = cycles();
    let topics: Vec<String> = (0..n).map(|c| format!("RustHaFailover{c}")).collect();
    let cluster = blocking({
        let topics = topics.clone();
        move || {
            let cluster = ha::two_masters_two_slaves(BrokerRole::SyncMaster, FlushDiskType::Sync);
            for topic in &topics {
                ha::create_topic(&cluster, topic, 4);
            }
            ha::wait_topic_known(&cluster, "broker-a-s", &topics);
            ha::wait_topic_known(&cluster, "broker-b-s", &topics);
            cluster
        }
    })
    .await;
    let cluster = Arc::new(cluster);
    // The cluster's waits block: each runs on a blocking thread.
    let with_cluster = |f: Box<dyn FnOnce(&LocalCluster) + Send>| {
        let cluster = cluster.clone();
        async move {
            blocking(move || f(&cluster)).await;
        }
    };
    let namesrv = cluster.namesrv_addr().to_owned();
    let mut table = Vec::new();
    for (cycle, topic) in topics.iter().enumerate() {
        let t0 = Instant::now();
        let topic_owned = topic.clone();
        with_cluster(Box::new(move |c| {
            ha::wait_route_with_masters(c, &topic_owned, &["broker-a", "broker-b"]);
        }))
        .await;
        let producer = Arc::new(
            Producer::start(ProducerOptions {
                client: client(&namesrv, &format!("ha-producer-{cycle}")),
                group: format!("ha_rust_pg_{cycle}"),
                send_timeout: Duration::from_secs(3),
                retry_times: 2,
                latency_fault_enable: true,
                ..ProducerOptions::default()
            })
            .await
            .expect("producer"),
        );
        let sent = Arc::new(Sent::default());
        let stop = Arc::new(AtomicBool::new(false));
        let senders = start_senders(&producer, topic, cycle, &sent, &stop);
        let send_until = Instant::now() + SEND_FOR;

        // Kill broker-a's master once sends are acknowledged and some 2-4 s into the run.
        let kill_after = Duration::from_secs(2 + (cycle % 3) as u64);
        let deadline = Instant::now() + Duration::from_secs(60);
        while sent.acked() < ACKED_BEFORE_KILL || t0.elapsed() < kill_after {
            assert!(
                Instant::now() < deadline,
                "cycle {cycle}: only {} sends acknowledged (failures {:?})",
                sent.acked(),
                sent.failed.lock().expect("lock")
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        with_cluster(Box::new(|c| broker(c, "broker-a").kill())).await;
        let acked_at_kill = sent.acked();
        let killed_at = t0.elapsed();
        with_cluster(Box::new(|c| {
            broker(c, "broker-a")
                .wait_unlisted()
                .unwrap_or_else(|e| panic!("{e}"));
        }))
        .await;

        tokio::time::sleep_until(send_until.into()).await;
        stop.store(true, Ordering::Relaxed);
        for s in senders {
            s.await.expect("sender task");
        }
        producer.shutdown().await;
        let acked: BTreeSet<String> = sent.acked.lock().expect("lock").clone();
        let failures = sent.failed.lock().expect("lock").clone();
        assert!(
            acked.len() > acked_at_kill,
            "cycle {cycle}: no send acknowledged after broker-a's master died \
             ({acked_at_kill} before; failures {failures:?})"
        );

        // broker-a's master is still down: its messages come from its slave.
        let received = Arc::new(Received::default());
        let listener = {
            let received = received.clone();
            move |batch: &[MessageView]| {
                for m in batch {
                    for key in m.keys() {
                        *received
                            .by_key
                            .lock()
                            .expect("lock")
                            .entry(key.to_owned())
                            .or_default() += 1;
                    }
                    *received
                        .by_broker
                        .lock()
                        .expect("lock")
                        .entry(m.queue().broker_name.clone())
                        .or_default() += 1;
                }
                ConsumeResult::Success
            }
        };
        let group = format!("ha_rust_cg_{cycle}");
        let consumer = PushConsumer::start(
            PushConsumerOptions {
                client: client(&namesrv, &format!("ha-consumer-{cycle}")),
                group: group.clone(),
                consume_from: ConsumeFrom::FirstOffset,
                ..PushConsumerOptions::default()
            },
            [(topic.clone(), FilterExpression::all())],
            listener,
        )
        .await
        .expect("consumer");
        let deadline = Instant::now() + CONSUME_WITHIN;
        let missing = loop {
            let missing: Vec<String> = {
                let by_key = received.by_key.lock().expect("lock");
                acked
                    .iter()
                    .filter(|k| !by_key.contains_key(*k))
                    .cloned()
                    .collect()
            };
            if missing.is_empty() || Instant::now() >= deadline {
                break missing;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        consumer.shutdown().await;
        let by_broker = received.by_broker.lock().expect("lock").clone();
        assert!(
            missing.is_empty(),
            "cycle {cycle}: {} of {} acknowledged keys never delivered (e.g. {:?}); \
             deliveries by broker {by_broker:?}",
            missing.len(),
            acked.len(),
            &missing[..missing.len().min(10)]
        );
        assert!(
            by_broker.get("broker-a").is_some_and(|&n| n > 0),
            "cycle {cycle}: nothing consumed from broker-a (its slave): {by_broker:?}"
        );
        let (duplicates, extra) = {
            let by_key = received.by_key.lock().expect("lock");
            let duplicates: usize = by_key.values().map(|n| n - 1).sum();
            let extra = by_key.keys().filter(|k| !acked.contains(*k)).count();
            (duplicates, extra)
        };

        with_cluster(Box::new(|c| {
            // Back on its ports and store; returns once the name server lists it again.
            broker(c, "broker-a")
                .restart()
                .unwrap_or_else(|e| panic!("{e}"));
            ha::wait_in_sync(c, "broker-a", "broker-a-s");
        }))
        .await;
        let figures = format!(
            "cycle {cycle}: acked {} ({acked_at_kill} before the kill at {:.1}s), failed sends {} \
             {failures:?}, consumed all of them (+{extra} extra), duplicates {duplicates}, \
             by broker {by_broker:?}, {:.1}s",
            acked.len(),
            killed_at.as_secs_f64(),
            failures.values().sum::<usize>(),
            t0.elapsed().as_secs_f64()
        );
        eprintln!("{figures}");
        table.push(figures);
    }
    with_cluster(Box::new(|c| {
        ha::wait_in_sync(c, "broker-b", "broker-b-s");
    }))
    .await;
    blocking(move || drop(cluster)).await;
    eprintln!(
        "ha_failover (Rust client): {n} cycle(s) in {:.1?}\n{}",
        started.elapsed(),
        table.join("\n")
    );
}
