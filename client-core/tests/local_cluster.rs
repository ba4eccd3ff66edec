//! `testing::LocalCluster`: the real `mqnamesrv`/`mqbroker` binaries started in one line, used
//! with the Rust producer and push consumer; a broker killed with SIGKILL and restarted on its
//! store; clusters side by side. Needs the binaries (`cargo build -p ferromq-namesrv -p
//! ferromq-broker`, or any `cargo test --workspace`), or `FERROMQ_BIN_DIR`.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferromq_client::testing::{
    BrokerRole, BrokerSpec, FlushDiskType, LocalCluster, LocalClusterError,
};
use ferromq_client::{
    Admin, ConsumeFrom, ConsumeResult, FilterExpression, Message, MessageView, Producer,
    ProducerOptions, PushConsumer, PushConsumerOptions, SendStatus, TopicOptions,
};

const WAIT: Duration = Duration::from_secs(30);

async fn wait_for<F: FnMut() -> bool>(what: &str, mut check: F) {
    let deadline = Instant::now() + WAIT;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn create_topic(cluster: &LocalCluster, topic: &str) {
    let admin = Admin::new(&cluster.client_config("admin")).expect("admin");
    let options = TopicOptions {
        queue_nums: 2,
        ..TopicOptions::default()
    };
    admin
        .create_topic("DefaultCluster", topic, &options)
        .await
        .expect("create topic");
    let deadline = Instant::now() + WAIT;
    loop {
        let route = admin.topic_route(topic).await;
        let queues = route.map(|r| r.queue_datas.len()).unwrap_or(0);
        if queues == cluster.brokers().len() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "route of {topic}: {queues} groups"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    admin.shutdown().await;
}

fn producer_options(cluster: &LocalCluster, group: &str) -> ProducerOptions {
    ProducerOptions {
        client: cluster.client_config(group),
        group: group.to_owned(),
        ..ProducerOptions::default()
    }
}

/// Starts a push consumer of `topic` that collects the bodies it gets.
async fn collect(cluster: &LocalCluster, topic: &str) -> (PushConsumer, Arc<Mutex<Vec<String>>>) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = got.clone();
    let group = format!("cg_{topic}");
    let options = PushConsumerOptions {
        client: cluster.client_config(&group),
        group: group.clone(),
        consume_from: ConsumeFrom::FirstOffset,
        ..PushConsumerOptions::default()
    };
    let consumer = PushConsumer::start(
        options,
        [(topic.to_owned(), FilterExpression::all())],
        move |batch: &[MessageView]| {
            let mut got = sink.lock().expect("lock");
            got.extend(
                batch
                    .iter()
                    .map(|m| String::from_utf8_lossy(m.body()).into_owned()),
            );
            ConsumeResult::Success
        },
    )
    .await
    .expect("consumer");
    (consumer, got)
}

fn bodies(got: &Mutex<Vec<String>>) -> BTreeSet<String> {
    got.lock().expect("lock").iter().cloned().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_line_cluster_carries_a_message_from_producer_to_push_consumer() {
    let cluster = LocalCluster::start(1).expect("cluster starts");
    assert!(cluster.namesrv_addr().starts_with("127.0.0.1:"));
    assert!(cluster.broker(0).is_running());
    assert!(cluster.dir().is_dir());
    let topic = "LocalClusterHello";
    create_topic(&cluster, topic).await;
    let producer = Producer::start(producer_options(&cluster, "pg_hello"))
        .await
        .expect("producer");
    let sent = producer
        .send(Message::new(topic, "hello from LocalCluster"))
        .await
        .expect("send");
    assert_eq!(sent.status, SendStatus::Ok);
    let (consumer, got) = collect(&cluster, topic).await;
    wait_for("the message", || !got.lock().expect("lock").is_empty()).await;
    assert_eq!(
        *got.lock().expect("lock"),
        vec!["hello from LocalCluster".to_owned()]
    );
    consumer.shutdown().await;
    producer.shutdown().await;
    let dir = cluster.dir().to_path_buf();
    cluster.stop();
    assert!(!dir.exists(), "stop() deletes {}", dir.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_broker_restarts_on_its_store_and_keeps_acknowledged_messages() {
    let cluster = LocalCluster::builder()
        .brokers(1)
        // Every acknowledged send is on disk: nothing may be lost to SIGKILL.
        .broker_config("flushDiskType=SYNC_FLUSH")
        .start()
        .expect("cluster starts");
    let topic = "LocalClusterRestart";
    create_topic(&cluster, topic).await;
    let producer = Producer::start(producer_options(&cluster, "pg_restart"))
        .await
        .expect("producer");
    for i in 0..5 {
        let r = producer
            .send(Message::new(topic, format!("before-{i}")))
            .await
            .expect("send before the kill");
        assert_eq!(r.status, SendStatus::Ok);
    }
    let addr = cluster.broker(0).addr();
    cluster.broker(0).kill();
    assert!(!cluster.broker(0).is_running());
    cluster.broker(0).restart().expect("broker restarts");
    assert!(cluster.broker(0).is_running());
    assert_eq!(cluster.broker(0).addr(), addr, "same port after restart");
    // The producer reconnects; retry while its connection to the old process is being replaced.
    let deadline = Instant::now() + WAIT;
    for i in 0..5 {
        loop {
            match producer
                .send(Message::new(topic, format!("after-{i}")))
                .await
            {
                Ok(r) if r.status == SendStatus::Ok => break,
                other => assert!(Instant::now() < deadline, "send after restart: {other:?}"),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let (consumer, got) = collect(&cluster, topic).await;
    let want: BTreeSet<String> = (0..5)
        .flat_map(|i| [format!("before-{i}"), format!("after-{i}")])
        .collect();
    wait_for("all ten messages", || bodies(&got).is_superset(&want)).await;
    assert_eq!(bodies(&got), want);
    consumer.shutdown().await;
    producer.shutdown().await;
}

#[test]
fn clusters_side_by_side_get_their_own_ports_and_directories() {
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| LocalCluster::start(2).expect("cluster a"));
        let b = s.spawn(|| LocalCluster::start(1).expect("cluster b"));
        (a.join().expect("thread a"), b.join().expect("thread b"))
    });
    let mut addrs: Vec<String> = vec![a.namesrv_addr().to_owned(), b.namesrv_addr().to_owned()];
    addrs.extend(a.brokers().iter().map(|x| x.addr()));
    addrs.extend(b.brokers().iter().map(|x| x.addr()));
    let distinct: BTreeSet<&String> = addrs.iter().collect();
    assert_eq!(distinct.len(), 5, "{addrs:?}");
    assert_ne!(a.dir(), b.dir());
    assert_eq!(a.broker(1).broker_name(), "broker-b");
    let (dir_a, dir_b) = (a.dir().to_path_buf(), b.dir().to_path_buf());
    drop(a);
    assert!(!dir_a.exists(), "drop deletes the directory");
    // The other cluster is untouched by the first one's drop.
    assert!(b.broker(0).is_running());
    drop(b);
    assert!(!dir_b.exists());
}

#[test]
fn slaves_register_beside_their_masters() {
    let cluster = LocalCluster::builder()
        .brokers(1)
        .slaves(true)
        .start()
        .expect("cluster with a slave");
    let slave = cluster.slave(0).expect("slave of broker-a");
    assert_eq!(slave.broker_name(), "broker-a");
    assert_eq!(slave.broker_id(), 1);
    assert_ne!(slave.addr(), cluster.broker(0).addr());
    assert!(slave.is_running());
}

#[test]
fn an_explicit_layout_runs_its_specs_and_a_stopped_slave_is_promoted_by_hand() {
    let cluster = LocalCluster::builder()
        .broker(BrokerSpec::master(
            "broker-x",
            BrokerRole::SyncMaster,
            FlushDiskType::Sync,
        ))
        .broker(BrokerSpec::slave("broker-x", FlushDiskType::Sync).config("slaveReadEnable=true"))
        .start()
        .expect("master and slave");
    let master = cluster.broker_named("broker-x").expect("master by name");
    let slave = cluster.broker_named("broker-x-s").expect("slave by name");
    assert_eq!(cluster.brokers().len(), 1);
    assert_eq!(cluster.slave(0).map(|b| b.name()), Some("broker-x-s"));
    assert_eq!(master.role(), Some(BrokerRole::SyncMaster));
    assert_eq!(slave.role(), Some(BrokerRole::Slave));
    assert_eq!(slave.broker_id(), 1);
    assert_eq!(slave.ha_port(), slave.port() + 1);
    let conf = std::fs::read_to_string(slave.conf_path()).expect("slave's properties");
    for line in [
        "brokerName=broker-x",
        "brokerId=1",
        "brokerRole=SLAVE",
        "flushDiskType=SYNC_FLUSH",
        "slaveReadEnable=true",
    ] {
        assert!(
            conf.lines().any(|l| l == line),
            "{line} missing in:\n{conf}"
        );
    }
    assert!(slave.store_dir().starts_with(slave.dir()));
    assert!(slave.log_path().is_file());

    // The master goes away cleanly (SIGTERM) and the name server drops it.
    master
        .terminate(Duration::from_secs(30))
        .expect("master stops on SIGTERM");
    assert!(!master.is_running());
    master.wait_unlisted().expect("master unlisted");

    // The slave is stopped, reconfigured and started again as broker-x's master.
    slave
        .terminate(Duration::from_secs(30))
        .expect("slave stops on SIGTERM");
    slave.wait_unlisted().expect("slave unlisted");
    let starts = slave.starts();
    slave.set_property("brokerId", "0");
    slave.set_property("brokerRole", "ASYNC_MASTER");
    assert_eq!(slave.broker_id(), 0);
    assert_eq!(slave.role(), Some(BrokerRole::AsyncMaster));
    // Returns once the name server lists it as brokerId 0 of broker-x.
    slave.restart().expect("promoted slave");
    assert_eq!(slave.starts(), starts + 1);
    let conf = std::fs::read_to_string(slave.conf_path()).expect("promoted properties");
    assert_eq!(
        conf.lines()
            .filter(|l| l.starts_with("brokerRole="))
            .collect::<Vec<_>>(),
        ["brokerRole=ASYNC_MASTER"],
        "set_property replaces the key:\n{conf}"
    );
}

#[test]
fn a_layout_naming_a_broker_twice_is_refused_before_anything_starts() {
    let spec = BrokerSpec::master("broker-a", BrokerRole::AsyncMaster, FlushDiskType::Async);
    let err = LocalCluster::builder()
        .broker(spec.clone())
        .broker(spec)
        .start()
        .expect_err("two brokers named broker-a");
    assert!(
        matches!(err, LocalClusterError::InvalidLayout { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("same name"), "{err}");
}
