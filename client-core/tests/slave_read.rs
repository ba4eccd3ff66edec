//! Consumers of a broker name whose master dies (Apache's classic master/slave HA) against real
//! FerroMQ servers: a SYNC_MASTER and its slave under one broker name. When the master stops,
//! push and lite pull consumers go on reading every acknowledged message from the slave and
//! commit their offsets there; once the master is back, the push consumer's offsets reach it.
//! A dead master leaves the client's route after the first failed pull (a forced, throttled
//! route refresh), not at the next periodic refresh: the lite pull case runs with periodic
//! refreshes and rebalances turned off, so it can only pass that way. Producers, which need a
//! master, send to the topic's other broker name meanwhile, and a producer whose client cached
//! the masterless route asks for it again once the master is back.

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{unique, wait_for};
use ferromq_broker::config::BrokerRole;
use ferromq_client::{
    Admin, ClientConfig, ConsumeFrom, ConsumeResult, FilterExpression, Message, MessageView,
    Producer, ProducerOptions, PullConsumer, PullConsumerOptions, PushConsumer,
    PushConsumerOptions, SendStatus, TopicOptions,
};
use ferromq_tests::remoting::{request, Response};
use ferromq_tests::{FerroBroker, FerroNamesrv};

const BROKER: &str = "ha-broker";
/// A second broker name (a master alone) for the producer case.
const OTHER: &str = "other-broker";
const QUEUES: i32 = 4;
const MESSAGES: usize = 40;
const WAIT: Duration = Duration::from_secs(30);
const T: Duration = Duration::from_secs(5);
// Request codes of the raw probes.
const QUERY_CONSUMER_OFFSET: i32 = 14;
const GET_ALL_TOPIC_CONFIG: i32 = 21;
const GET_MAX_OFFSET: i32 = 30;

/// A name server, a SYNC_MASTER (while running) and its slave, all named [`BROKER`], and
/// possibly a master named [`OTHER`].
struct Pair {
    namesrv: FerroNamesrv,
    master: Option<FerroBroker>,
    slave: FerroBroker,
    /// Runs until the pair stops.
    _other: Option<FerroBroker>,
}

/// One raw request to `addr` off the async threads; `None` when the broker does not answer.
async fn probe(addr: &str, code: i32, fields: &[(&str, &str)]) -> Option<Response> {
    let addr = addr.to_owned();
    let fields: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let fields: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        request(&addr, code, &fields, &[], T).ok()
    })
    .await
    .expect("probe")
}

fn ext(r: &Response, field: &str) -> Option<i64> {
    r.header["extFields"][field].as_str()?.parse().ok()
}

/// The group's committed offset of each queue of `topic` on the broker at `addr` (-1 where it
/// has none), or `None` if the broker does not answer.
async fn committed(addr: &str, group: &str, topic: &str) -> Option<Vec<i64>> {
    let mut out = Vec::new();
    for q in 0..QUEUES {
        let q = q.to_string();
        let fields = [("consumerGroup", group), ("topic", topic), ("queueId", &q)];
        let r = probe(addr, QUERY_CONSUMER_OFFSET, &fields).await?;
        out.push(if r.code == 0 {
            ext(&r, "offset").unwrap_or(-1)
        } else {
            -1
        });
    }
    Some(out)
}

/// The end offset of each queue of `topic` on the broker at `addr`.
async fn ends(addr: &str, topic: &str) -> Vec<i64> {
    let mut out = Vec::new();
    for q in 0..QUEUES {
        let q = q.to_string();
        let r = probe(addr, GET_MAX_OFFSET, &[("topic", topic), ("queueId", &q)])
            .await
            .expect("max offset");
        out.push(ext(&r, "offset").expect("offset"));
    }
    out
}

fn client(namesrv: &str, instance: &str, route_refresh: Duration) -> ClientConfig {
    ClientConfig {
        namesrv_addr: namesrv.to_owned(),
        instance_name: instance.to_owned(),
        route_refresh_interval: route_refresh,
        ..ClientConfig::default()
    }
}

impl Pair {
    /// Starts the name server and the master, creates `topic` on the master, then starts the
    /// slave (which syncs the topic from its master at once) and waits until the master has
    /// it in sync and the slave knows the topic.
    async fn start(topic: &str) -> Pair {
        Pair::start_with(topic, false).await
    }

    /// [`Self::start`], with the [`OTHER`] master too when `other` (the topic on both).
    async fn start_with(topic: &str, other: bool) -> Pair {
        let (namesrv, master, other) = tokio::task::spawn_blocking(move || {
            let namesrv = FerroNamesrv::start();
            let master = FerroBroker::start(namesrv.addr(), |s| {
                s.broker.broker_name = BROKER.to_owned();
                s.broker.broker_role = BrokerRole::SyncMaster;
                s.broker.ha_send_heartbeat_interval = 200;
            });
            let other = other.then(|| {
                FerroBroker::start(namesrv.addr(), |s| {
                    s.broker.broker_name = OTHER.to_owned();
                })
            });
            (namesrv, master, other)
        })
        .await
        .expect("masters start");
        let admin =
            Admin::new(&ClientConfig::new(namesrv.addr(), Some(unique("admin")))).expect("admin");
        let masters: Vec<String> = std::iter::once(&master)
            .chain(other.as_ref())
            .map(|b| b.addr().to_owned())
            .collect();
        wait_for("the masters' registration", WAIT, || async {
            admin.cluster_info().await.is_ok_and(|c| {
                masters.iter().all(|m| {
                    c.broker_addr_table
                        .values()
                        .any(|b| b.broker_addrs.values().any(|a| a == m))
                })
            })
        })
        .await;
        let master_addr = master.addr().to_owned();
        let options = TopicOptions {
            queue_nums: QUEUES,
            ..TopicOptions::default()
        };
        admin
            .create_topic("DefaultCluster", topic, &options)
            .await
            .expect("create topic");
        let ns = namesrv.addr().to_owned();
        let slave = tokio::task::spawn_blocking(move || {
            FerroBroker::start(&ns, |s| {
                s.broker.broker_name = BROKER.to_owned();
                s.broker.broker_id = 1;
                s.broker.broker_role = BrokerRole::Slave;
                s.broker.ha_send_heartbeat_interval = 200;
            })
        })
        .await
        .expect("slave starts");
        wait_for("the slave in sync", WAIT, || async {
            admin
                .broker_runtime_info(&master_addr)
                .await
                .is_ok_and(|i| i.get("haSlaveCount").map(String::as_str) == Some("1"))
        })
        .await;
        let slave_addr = slave.addr().to_owned();
        wait_for("the topic on the slave", WAIT, || async {
            probe(&slave_addr, GET_ALL_TOPIC_CONFIG, &[])
                .await
                .is_some_and(|r| r.code == 0 && r.body_text().contains(topic))
        })
        .await;
        wait_for("the topic's route", WAIT, || async {
            admin.topic_route(topic).await.is_ok_and(|r| {
                r.queue_datas.len() == masters.len()
                    && r.queue_datas.iter().all(|q| q.read_queue_nums == QUEUES)
                    && r.broker_datas.iter().any(|b| b.broker_addrs.len() == 2)
            })
        })
        .await;
        admin.shutdown().await;
        Pair {
            namesrv,
            master: Some(master),
            slave,
            _other: other,
        }
    }

    fn master_addr(&self) -> String {
        self.master
            .as_ref()
            .expect("master running")
            .addr()
            .to_owned()
    }

    /// Sends `MESSAGES` keyed messages; every one must be acknowledged (on the slave too).
    async fn send_all(&self, topic: &str) -> BTreeSet<String> {
        let group = unique("pg");
        let producer = Producer::start(ProducerOptions {
            client: client(self.namesrv.addr(), &group, Duration::from_secs(30)),
            group,
            ..ProducerOptions::default()
        })
        .await
        .expect("producer");
        let mut keys = BTreeSet::new();
        for i in 0..MESSAGES {
            let key = format!("k{i}");
            let sent = producer
                .send(Message::new(topic, format!("m{i}")).with_keys([key.clone()]))
                .await
                .expect("send");
            assert_eq!(sent.status, SendStatus::Ok, "message {i} not acknowledged");
            assert_eq!(sent.queue.broker_name, BROKER);
            keys.insert(key);
        }
        producer.shutdown().await;
        keys
    }

    /// Stops the master cleanly (it leaves the name server's route).
    async fn stop_master(&mut self) -> ferromq_tests::StoppedBroker {
        let master = self.master.take().expect("master running");
        tokio::task::spawn_blocking(move || master.stop())
            .await
            .expect("master stops")
    }

    /// Starts the stopped master again (same port, same data) and waits until the name
    /// servers list it.
    async fn restart_master(&mut self, stopped: ferromq_tests::StoppedBroker) {
        let master = tokio::task::spawn_blocking(move || stopped.start())
            .await
            .expect("master restarts");
        let addr = master.addr().to_owned();
        self.master = Some(master);
        let admin = Admin::new(&ClientConfig::new(
            self.namesrv.addr(),
            Some(unique("admin")),
        ))
        .expect("admin");
        wait_for("the restarted master's registration", WAIT, || async {
            admin.cluster_info().await.is_ok_and(|c| {
                c.broker_addr_table
                    .values()
                    .any(|b| b.broker_addrs.values().any(|a| *a == addr))
            })
        })
        .await;
        admin.shutdown().await;
    }

    async fn stop(self) {
        tokio::task::spawn_blocking(move || drop(self))
            .await
            .expect("servers stop");
    }
}

fn keys_of(messages: &[MessageView]) -> BTreeSet<String> {
    messages
        .iter()
        .flat_map(|m| m.keys().into_iter().map(str::to_owned))
        .collect()
}

/// A listener that records messages and, once `hold_after` messages were consumed, holds
/// every further call at a [`common::Gate`] until [`Gate::open`].
#[derive(Clone)]
struct Gate {
    got: Arc<Mutex<Vec<MessageView>>>,
    consumed: Arc<AtomicUsize>,
    hold_after: usize,
    gate: Arc<common::Gate>,
}

impl Gate {
    fn new(hold_after: usize) -> Gate {
        Gate {
            got: Arc::default(),
            consumed: Arc::default(),
            hold_after,
            gate: Arc::default(),
        }
    }

    fn open(&self) {
        self.gate.open();
    }

    fn consume(&self, batch: &[MessageView]) -> ConsumeResult {
        if self.consumed.load(Ordering::Acquire) >= self.hold_after {
            self.gate.wait();
        }
        self.got.lock().expect("got").extend(batch.iter().cloned());
        self.consumed.fetch_add(batch.len(), Ordering::AcqRel);
        ConsumeResult::Success
    }

    fn keys(&self) -> BTreeSet<String> {
        keys_of(&self.got.lock().expect("got"))
    }
}

/// Opens its gate when dropped, a failing test included: a listener held at the gate is a
/// blocking thread, and the runtime's shutdown waits for those, so a failed assertion would
/// otherwise hang the test instead of failing it.
struct OpenOnDrop(Gate);

impl Drop for OpenOnDrop {
    fn drop(&mut self) {
        self.0.open();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_push_consumer_reads_the_slave_while_the_master_is_down_and_commits_to_it_again() {
    let topic = unique("SlaveRead");
    let mut pair = Pair::start(&topic).await;
    let keys = pair.send_all(&topic).await;
    let group = unique("cg");
    // One message per pull and at most two waiting per queue: while the listener is held,
    // most messages stay on the brokers.
    let gate = Gate::new(10);
    let _open_on_exit = OpenOnDrop(gate.clone());
    let listener = gate.clone();
    let options = PushConsumerOptions {
        // Periodic route refreshes find the restarted master quickly.
        client: client(pair.namesrv.addr(), &group, Duration::from_secs(2)),
        group: group.clone(),
        consume_from: ConsumeFrom::FirstOffset,
        pull_batch_size: 1,
        pull_threshold_for_queue: 1,
        persist_interval: Duration::from_millis(300),
        pull_retry_delay: Duration::from_millis(300),
        ..PushConsumerOptions::default()
    };
    let consumer = PushConsumer::start(
        options,
        [(topic.clone(), FilterExpression::all())],
        move |batch: &[MessageView]| listener.consume(batch),
    )
    .await
    .expect("consumer");
    wait_for("the first messages", WAIT, || async {
        gate.consumed.load(Ordering::Acquire) >= 10
    })
    .await;
    let master_addr = pair.master_addr();
    // Some progress reaches the master. Not necessarily all ten: a queue's committed offset
    // stops at its lowest message still in a listener, and the held listeners may hold a
    // message below others of its queue that passed the gate (seen in CI: stuck at fewer).
    wait_for(
        "offsets of the first messages on the master",
        WAIT,
        || async {
            committed(&master_addr, &group, &topic)
                .await
                .is_some_and(|o| o.iter().filter(|o| **o > 0).sum::<i64>() > 0)
        },
    )
    .await;
    let on_master = committed(&master_addr, &group, &topic)
        .await
        .expect("master offsets");
    assert!(
        on_master.iter().filter(|o| **o > 0).sum::<i64>() < MESSAGES as i64,
        "the master saw everything consumed before it stopped: {on_master:?}"
    );

    let stopped = pair.stop_master().await;
    gate.open();
    wait_for("every acknowledged message", WAIT, || async {
        gate.keys() == keys
    })
    .await;
    let slave_addr = pair.slave.addr().to_owned();
    let end = ends(&slave_addr, &topic).await;
    assert_eq!(
        end.iter().sum::<i64>(),
        MESSAGES as i64,
        "slave queues {end:?}"
    );
    wait_for("the consumer's offsets on the slave", WAIT, || async {
        committed(&slave_addr, &group, &topic).await.as_ref() == Some(&end)
    })
    .await;

    // The master returns with the offsets it had; the consumer's reach it.
    pair.restart_master(stopped).await;
    let master_addr = pair.master_addr();
    wait_for(
        "the consumer's offsets on the restarted master",
        WAIT,
        || async { committed(&master_addr, &group, &topic).await.as_ref() == Some(&end) },
    )
    .await;
    assert_eq!(gate.keys(), keys);
    consumer.shutdown().await;
    pair.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lite_pull_consumer_leaves_a_dead_master_without_a_periodic_refresh() {
    let topic = unique("SlaveLite");
    let mut pair = Pair::start(&topic).await;
    let keys = pair.send_all(&topic).await;
    let group = unique("lite");
    // No periodic route refresh and no periodic rebalance within the test: only a failure
    // can tell the client that the master is gone.
    let hour = Duration::from_secs(3600);
    let consumer = PullConsumer::start(PullConsumerOptions {
        client: client(pair.namesrv.addr(), &group, hour),
        group: group.clone(),
        consume_from: ConsumeFrom::FirstOffset,
        pull_batch_size: 1,
        pull_threshold_for_queue: 1,
        rebalance_interval: hour,
        auto_commit: false,
        pull_retry_delay: Duration::from_millis(300),
        ..PullConsumerOptions::default()
    })
    .await
    .expect("consumer");
    consumer
        .subscribe(&topic, FilterExpression::all())
        .await
        .expect("subscribe");
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    while got.len() < 4 {
        assert!(tokio::time::Instant::now() < deadline, "nothing polled");
        got.extend(
            consumer
                .poll(Duration::from_millis(500))
                .await
                .expect("poll"),
        );
    }
    consumer.commit().await.expect("commit to the master");
    let before = got.len();
    assert!(before < MESSAGES, "everything polled before the stop");

    let stopped = pair.stop_master().await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while keys_of(&got) != keys {
        assert!(
            tokio::time::Instant::now() < deadline,
            "polled {} distinct keys of {MESSAGES} after the master stopped",
            keys_of(&got).len()
        );
        got.extend(
            consumer
                .poll(Duration::from_millis(500))
                .await
                .expect("poll"),
        );
    }
    // Offsets land on the slave, and the consumer reads them back from there.
    consumer.commit().await.expect("commit to the slave");
    let slave_addr = pair.slave.addr().to_owned();
    let end = ends(&slave_addr, &topic).await;
    assert_eq!(
        committed(&slave_addr, &group, &topic).await.as_ref(),
        Some(&end)
    );
    for mq in consumer.assignment() {
        let stored = consumer.committed(&mq).await.expect("committed");
        assert_eq!(stored, Some(end[mq.queue_id as usize]), "{mq:?}");
    }

    // The master is back, but the consumer's client (no periodic refresh) has cached a route
    // without it. A producer sharing that client finds no writable queue there and asks the
    // name servers again instead of failing.
    pair.restart_master(stopped).await;
    let producer = Producer::start(ProducerOptions {
        client: client(pair.namesrv.addr(), &group, hour),
        group: unique("pg"),
        ..ProducerOptions::default()
    })
    .await
    .expect("producer");
    let sent = producer
        .send(Message::new(&topic, "after the restart"))
        .await
        .expect("send with a cached route that lacks the master");
    assert_eq!(sent.queue.broker_name, BROKER);
    producer.shutdown().await;
    consumer.shutdown().await;
    pair.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sends_go_to_the_other_broker_name_while_one_has_no_master() {
    let topic = unique("SlaveSend");
    let mut pair = Pair::start_with(&topic, true).await;
    let ns = pair.namesrv.addr().to_owned();
    let producer = |instance: String| {
        let client = client(&ns, &instance, Duration::from_secs(30));
        async move {
            Producer::start(ProducerOptions {
                client,
                group: instance,
                latency_fault_enable: true,
                ..ProducerOptions::default()
            })
            .await
            .expect("producer")
        }
    };
    let sends = |producer: Producer, what: &'static str| {
        let topic = topic.clone();
        async move {
            let mut brokers = BTreeSet::new();
            for i in 0..2 * QUEUES {
                let sent = producer
                    .send(Message::new(&topic, format!("{what}{i}")))
                    .await
                    .unwrap_or_else(|e| panic!("{what} send {i}: {e}"));
                assert_eq!(sent.status, SendStatus::Ok);
                brokers.insert(sent.queue.broker_name);
            }
            producer.shutdown().await;
            brokers
        }
    };
    let before = producer(unique("pg")).await;
    // Started before the stop: its cached route still lists the master.
    let during = producer(unique("pg")).await;
    let all = BTreeSet::from([BROKER.to_owned(), OTHER.to_owned()]);
    assert_eq!(sends(before, "before").await, all, "round robin over both");

    let _stopped = pair.stop_master().await;
    let only_other = BTreeSet::from([OTHER.to_owned()]);
    assert_eq!(sends(during, "cached").await, only_other);
    // A client that learns the route now sees the broker name with its slave only, and
    // leaves it out of its queues.
    let admin = Admin::new(&client(&ns, &unique("admin"), Duration::from_secs(30))).expect("admin");
    wait_for("the route without the master", WAIT, || async {
        admin.topic_route(&topic).await.is_ok_and(|r| {
            r.broker(BROKER)
                .is_some_and(|b| b.broker_addrs.keys().eq([&1]))
        })
    })
    .await;
    admin.shutdown().await;
    let after = producer(unique("pg")).await;
    assert_eq!(sends(after, "fresh").await, only_other);
    pair.stop().await;
}
