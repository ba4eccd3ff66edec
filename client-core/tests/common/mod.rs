//! Shared helpers of the client integration tests: real FerroMQ servers, topic creation, and
//! waiting on conditions with deadlines.

#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use ferromq_broker::Settings;
use ferromq_client::{Admin, ClientConfig, TopicOptions};
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
