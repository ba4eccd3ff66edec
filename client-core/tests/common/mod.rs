//! Shared helpers of the client integration tests: real FerroMQ servers, topic creation, and
//! waiting on conditions with deadlines.

#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use ferromq_broker::Settings;
use ferromq_client::trace::{data, TraceRecord};
use ferromq_client::{Admin, ClientConfig, ConsumeResult, MessageView, TopicOptions};
use ferromq_tests::{FerroBroker, FerroNamesrv};

/// A name server and one broker.
pub struct Servers {
    pub namesrv: FerroNamesrv,
    pub broker: FerroBroker,
}

impl Servers {
    /// Starts a name server and a broker (adjusted by `tweak`) and waits until the broker is
    /// registered.
    pub async fn start(tweak: impl FnOnce(&mut Settings) + Send + 'static) -> Servers {
        let (namesrv, broker) = tokio::task::spawn_blocking(move || {
            let namesrv = FerroNamesrv::start();
            let broker = FerroBroker::start(namesrv.addr(), tweak);
            (namesrv, broker)
        })
        .await
        .expect("servers start");
        let servers = Servers { namesrv, broker };
        let admin = Admin::new(&servers.client_config("admin-wait")).expect("admin");
        let broker_addr = servers.broker.addr().to_owned();
        wait_for("broker registration", Duration::from_secs(30), || async {
            admin
                .cluster_info()
                .await
                .map(|c| {
                    c.broker_addr_table
                        .values()
                        .any(|b| b.broker_addrs.values().any(|a| *a == broker_addr))
                })
                .unwrap_or(false)
        })
        .await;
        admin.shutdown().await;
        servers
    }

    /// Client settings for these servers with a given instance name.
    pub fn client_config(&self, instance: &str) -> ClientConfig {
        ClientConfig {
            namesrv_addr: self.namesrv.addr().to_owned(),
            instance_name: instance.to_owned(),
            ..ClientConfig::default()
        }
    }

    /// Creates `topic` with `queues` queues and waits until its route is visible.
    pub async fn create_topic(&self, topic: &str, queues: i32) {
        let admin = Admin::new(&self.client_config("admin")).expect("admin");
        let options = TopicOptions {
            queue_nums: queues,
            ..TopicOptions::default()
        };
        admin
            .create_topic("DefaultCluster", topic, &options)
            .await
            .expect("create topic");
        wait_for("topic route", Duration::from_secs(30), || async {
            admin
                .topic_route(topic)
                .await
                .map(|r| r.queue_datas.iter().any(|q| q.write_queue_nums == queues))
                .unwrap_or(false)
        })
        .await;
        admin.shutdown().await;
    }

    /// Stops the servers off the async threads (their drop joins runtime threads).
    pub async fn stop(self) {
        tokio::task::spawn_blocking(move || drop(self))
            .await
            .expect("servers stop");
    }
}

/// A name unique in this test process.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Polls `check` every 50 ms until it is true; panics after `timeout`.
pub async fn wait_for<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if check().await {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls `consumer` until it returned at least `n` messages; panics after `timeout`.
pub async fn poll_until(
    consumer: &ferromq_client::PullConsumer,
    n: usize,
    timeout: Duration,
) -> Vec<ferromq_client::MessageView> {
    let mut got = Vec::new();
    let deadline = Instant::now() + timeout;
    while got.len() < n {
        assert!(
            Instant::now() < deadline,
            "polled {} of {n} messages",
            got.len()
        );
        got.extend(
            consumer
                .poll(Duration::from_millis(500))
                .await
                .expect("poll"),
        );
    }
    got
}

/// Collects what a listener receives.
#[derive(Clone, Default)]
pub struct Collected {
    pub messages: std::sync::Arc<std::sync::Mutex<Vec<ferromq_client::MessageView>>>,
}

impl Collected {
    pub fn listener(&self) -> impl ferromq_client::MessageListener {
        let messages = self.messages.clone();
        move |batch: &[ferromq_client::MessageView]| {
            messages.lock().expect("lock").extend(batch.iter().cloned());
            ferromq_client::ConsumeResult::Success
        }
    }

    pub fn len(&self) -> usize {
        self.messages.lock().expect("lock").len()
    }

    pub fn snapshot(&self) -> Vec<ferromq_client::MessageView> {
        self.messages.lock().expect("lock").clone()
    }

    /// Waits until at least `n` messages arrived.
    pub async fn wait_for(&self, n: usize, timeout: Duration) {
        wait_for(&format!("{n} messages"), timeout, || async {
            self.len() >= n
        })
        .await;
    }
}

/// Push consumer options for these servers, starting from the first offset.
pub fn consumer_options(
    servers: &Servers,
    group: &str,
    instance: &str,
) -> ferromq_client::PushConsumerOptions {
    ferromq_client::PushConsumerOptions {
        client: servers.client_config(instance),
        group: group.to_owned(),
        consume_from: ferromq_client::ConsumeFrom::FirstOffset,
        ..ferromq_client::PushConsumerOptions::default()
    }
}

/// Producer options for these servers.
pub fn producer_options(servers: &Servers, group: &str) -> ferromq_client::ProducerOptions {
    ferromq_client::ProducerOptions {
        client: servers.client_config(group),
        group: group.to_owned(),
        ..ferromq_client::ProducerOptions::default()
    }
}

/// A gate listener threads wait at until the test opens it (60 s at the most, so a failing
/// test still ends).
#[derive(Default)]
pub struct Gate {
    open: Mutex<bool>,
    cv: Condvar,
}

impl Gate {
    /// Blocks until [`Gate::open`] (or 60 s).
    pub fn wait(&self) {
        let open = self.open.lock().expect("lock");
        let _ = self
            .cv
            .wait_timeout_while(open, Duration::from_secs(60), |open| !*open)
            .expect("wait");
    }

    /// Lets every waiting and future caller of [`Gate::wait`] through.
    pub fn open(&self) {
        *self.open.lock().expect("lock") = true;
        self.cv.notify_all();
    }
}

/// The consume-timeout scenario's listener (docs/scenarios.md): a message's first delivery
/// blocks on `gate`; redeliveries (reconsume times above 0) are collected in `again`.
#[derive(Clone, Default)]
pub struct StuckListener {
    pub gate: Arc<Gate>,
    /// Set once a blocked first call has returned (after the gate opened).
    pub first_returned: Arc<AtomicBool>,
    pub again: Arc<Mutex<Vec<MessageView>>>,
}

impl StuckListener {
    /// The listener to give to `PushConsumer::start`.
    pub fn listener(&self) -> impl Fn(&[MessageView]) -> ConsumeResult + Send + Sync + 'static {
        let this = self.clone();
        move |batch: &[MessageView]| {
            for m in batch {
                if m.reconsume_times() == 0 {
                    this.gate.wait();
                    this.first_returned.store(true, Ordering::SeqCst);
                } else {
                    this.again.lock().expect("lock").push(m.clone());
                }
            }
            ConsumeResult::Success
        }
    }

    /// Waits (up to `timeout`) for the first redelivery and returns it.
    pub async fn redelivered(&self, timeout: Duration) -> MessageView {
        wait_for("the redelivery", timeout, || async {
            !self.again.lock().expect("lock").is_empty()
        })
        .await;
        self.again.lock().expect("lock")[0].clone()
    }

    /// Checks that the first call is still blocked, opens the gate and waits (up to `timeout`)
    /// for that call to return.
    pub async fn release(&self, timeout: Duration) {
        assert!(
            !self.first_returned.load(Ordering::SeqCst),
            "the first call is still stuck"
        );
        self.gate.open();
        wait_for("the stuck call to end", timeout, || async {
            self.first_returned.load(Ordering::SeqCst)
        })
        .await;
    }

    /// How many redeliveries the listener saw.
    pub fn redeliveries(&self) -> usize {
        self.again.lock().expect("lock").len()
    }
}

/// Every trace record about `msg_id` in `trace_topic`, found by key as Apache's
/// `queryMsgTraceById` finds them.
pub async fn trace_records(admin: &Admin, trace_topic: &str, msg_id: &str) -> Vec<TraceRecord> {
    let found = admin
        .query_by_key(trace_topic, msg_id, 64)
        .await
        .unwrap_or_default();
    found
        .iter()
        .flat_map(|m| data::decode(&String::from_utf8_lossy(m.body())))
        .filter(|r| r.msg_id == msg_id)
        .collect()
}
