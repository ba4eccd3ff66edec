//! Mixed broker set: a FerroMQ broker and an Apache RocketMQ 5.3.3 broker, both in controller
//! mode (`allAckInSyncStateSet=true`), under three FerroMQ controllers and a FerroMQ name
//! server. The FerroMQ broker starts first and is elected master; the Apache broker follows it
//! over the auto-switch HA protocol (handshake with epochs, transfer frames, acks), joins the
//! sync state set, and acknowledged sends then need its ack. The FerroMQ broker stops; the
//! Apache broker is elected; the FerroMQ broker restarts on its store and follows the Apache
//! master until both logs end at the same offset.
//!
//! Needs `java` and `mvn` (the Apache jars come from Maven through `ferromq_tests`); without
//! them it prints `SKIPPED` and passes, unless `FERROMQ_COMPAT_REQUIRED=1`.

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferromq_protocol::body::KVTable;
use ferromq_protocol::header::send::SendMessageRequestHeaderV2;
use ferromq_protocol::message::{property, Properties};
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use ferromq_tests::artifacts::JavaArtifacts;
use ferromq_tests::jvm::{apache_controller_mode_broker, ControllerModeBroker, Jvm};
use ferromq_tests::net::free_broker_port;
use ferromq_tests::require_tools;
use support::{call, connect, ferromq_broker, Quorum};

fn apache_broker(classpath: &str, dir: &Path, port: u16, namesrv: &str, controllers: &str) -> Jvm {
    let broker = ControllerModeBroker {
        tag: "apache",
        port,
        namesrv,
        controllers,
        extra: "mappedFileSizeCommitLog=4194304\nhaSendHeartbeatInterval=500",
    };
    apache_controller_mode_broker(classpath, dir, broker)
}

async fn wait_for<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    limit: Duration,
    mut check: impl FnMut() -> F,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn max_offset(addr: &str) -> Option<u64> {
    let c = ferromq_remoting::Connection::connect(
        addr,
        std::sync::Arc::new(ferromq_remoting::IgnoreRequests),
        ferromq_remoting::ConnectionConfig::default(),
    )
    .await
    .ok()?;
    let r = c
        .request(
            RemotingCommand::request(RequestCode::GET_BROKER_RUNTIME_INFO),
            Duration::from_secs(3),
        )
        .await
        .ok()?;
    c.close();
    KVTable::decode(&r.body)
        .ok()?
        .table
        .get("commitLogMaxOffset")?
        .parse()
        .ok()
}

fn send(body: &str) -> RemotingCommand {
    let mut props = Properties::new();
    props.insert(property::WAIT_STORE_MSG_OK, "true");
    let h = SendMessageRequestHeaderV2 {
        producer_group: "PG".to_owned(),
        topic: "Mixed".to_owned(),
        default_topic: "TBW102".to_owned(),
        default_topic_queue_nums: 4,
        queue_id: 0,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        flag: 0,
        properties: Some(props.encode()),
        reconsume_times: Some(0),
        ..Default::default()
    };
    RemotingCommand::request_with_header(RequestCode::SEND_MESSAGE_V2, &h)
        .with_body(Bytes::copy_from_slice(body.as_bytes()))
}

/// Sends `n` messages to `addr`, each of which must be acknowledged.
async fn send_acked(addr: &str, n: usize, tag: &str) {
    let c = connect(addr).await;
    for i in 0..n {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let r = call(&c, send(&format!("{tag}-{i}"))).await;
            if r.response_code() == ResponseCode::SUCCESS {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{tag}-{i} to {addr}: {} {:?}",
                r.code,
                r.remark
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_ferromq_and_an_apache_broker_replicate_each_other_in_controller_mode() {
    if !require_tools(
        "a_ferromq_and_an_apache_broker_replicate_each_other_in_controller_mode",
        &["java", "mvn"],
    ) {
        return;
    }
    let deps = tokio::task::spawn_blocking(|| JavaArtifacts::get().server_classpath.clone())
        .await
        .expect("java artifacts");
    let dir = tempfile::tempdir().expect("tmp");
    let namesrv = support::namesrv(dir.path()).await;
    let q = Quorum::start(3, "").await;
    let l = q.leader().await;
    let leader = q.controller(l).clone();
    let controllers = q.addrs.join(";");

    // The FerroMQ broker first: it is elected master.
    let ferro_root: PathBuf = dir.path().join("ferro-store");
    let ferro_port = free_broker_port();
    let ferro_addr = format!("127.0.0.1:{ferro_port}");
    let ferro = ferromq_broker(&ferro_root, ferro_port, &namesrv, &controllers, "").await;
    let ferro_id = wait_for(
        "the FerroMQ broker elected",
        Duration::from_secs(30),
        || {
            let s = leader.state();
            let r = s.get("broker-a").and_then(|set| {
                (set.address_of(set.master_broker_id) == Some(ferro_addr.as_str()))
                    .then_some(set.master_broker_id)
                    .flatten()
            });
            async move { r }
        },
    )
    .await;
    send_acked(&ferro_addr, 10, "before").await;

    // The Apache broker follows the FerroMQ master and joins the sync state set.
    let apache_port = free_broker_port();
    let apache_addr = format!("127.0.0.1:{apache_port}");
    let jvm = apache_broker(&deps, dir.path(), apache_port, &namesrv, &controllers);
    let apache_log = dir.path().join("apache.log");
    wait_for(
        "the Apache broker in the sync state set",
        Duration::from_secs(120),
        || {
            let s = leader.state();
            let r = s
                .get("broker-a")
                .and_then(|set| (set.sync_state_set.len() == 2).then_some(()));
            async move { r }
        },
    )
    .await;
    // Acknowledged now only once the Apache slave has them too.
    send_acked(&ferro_addr, 10, "both").await;
    let end = max_offset(&ferro_addr).await.expect("ferro offset");
    wait_for(
        "the Apache slave at the master's end",
        Duration::from_secs(30),
        || {
            let a = apache_addr.clone();
            async move { (max_offset(&a).await? == end).then_some(()) }
        },
    )
    .await;
    println!("mixed: an Apache 5.3.3 slave followed a FerroMQ master to offset {end}");
    // Apache's `mqadmin getBrokerEpoch` reads the FerroMQ broker's epochs.
    let (ns, addr) = (namesrv.clone(), ferro_addr.clone());
    let epochs = tokio::task::spawn_blocking(move || {
        let run =
            ferromq_tests::mqadmin::apache_mqadmin(&ns, &["getBrokerEpoch", "-b", "broker-a"]);
        run.assert_success();
        run.output
    })
    .await
    .expect("mqadmin");
    let ours = epochs
        .split("#clusterName")
        .find(|part| part.contains(&format!("#brokerAddr\t{addr}")))
        .unwrap_or_else(|| panic!("no epochs of {addr} in: {epochs}"));
    assert!(
        ours.contains("epoch=1") && ours.contains("startOffset=0"),
        "{ours}"
    );
    // FerroMQ's `mqadmin getBrokerEpoch` prints the same lines for both brokers (Apache's in
    // the order of a hash set: compared sorted). Nothing is written in between.
    let ns = namesrv.clone();
    let mine = tokio::task::spawn_blocking(move || {
        let run = ferromq_tests::mqadmin::ferro_mqadmin(&ns, &["getBrokerEpoch", "-b", "broker-a"]);
        run.assert_success();
        run.output
    })
    .await
    .expect("mqadmin");
    let sorted = |text: &str| {
        let mut lines: Vec<String> = text
            .lines()
            .filter(|l| l.starts_with('#'))
            .map(str::to_owned)
            .collect();
        lines.sort();
        lines
    };
    assert_eq!(
        sorted(&mine),
        sorted(&epochs),
        "ours:\n{mine}\nApache's:\n{epochs}"
    );
    assert!(
        mine.contains(&format!("#brokerAddr\t{apache_addr}")),
        "{mine}"
    );

    // The FerroMQ master stops; the Apache broker is elected and takes writes.
    ferro.stop().await;
    wait_for("the Apache broker elected", Duration::from_secs(60), || {
        let s = leader.state();
        let r = s.get("broker-a").and_then(|set| {
            (set.master_broker_id.is_some() && set.master_broker_id != Some(ferro_id)).then_some(())
        });
        async move { r }
    })
    .await;
    send_acked(&apache_addr, 10, "apache").await;

    // The FerroMQ broker returns as a slave of the Apache master and catches up.
    let ferro = ferromq_broker(&ferro_root, ferro_port, &namesrv, &controllers, "").await;
    let apache_end = max_offset(&apache_addr).await.expect("apache offset");
    assert!(apache_end > end);
    wait_for(
        "the FerroMQ slave at the Apache master's end",
        Duration::from_secs(60),
        || {
            let a = ferro_addr.clone();
            async move { (max_offset(&a).await? >= apache_end).then_some(()) }
        },
    )
    .await;
    println!("mixed: a FerroMQ slave followed an Apache 5.3.3 master to offset {apache_end}");
    ferro.stop().await;
    drop(jvm);
    if std::env::var_os("FERROMQ_KEEP_LOGS").is_some() {
        println!(
            "{}",
            std::fs::read_to_string(apache_log).unwrap_or_default()
        );
    }
    q.shutdown().await;
}
