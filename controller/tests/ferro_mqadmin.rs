//! FerroMQ's `mqadmin` controller commands (getControllerMetaData, getSyncStateSet,
//! getControllerConfig, updateControllerConfig, electMaster, cleanBrokerMetadata):
//!
//! - against a quorum of three FerroMQ controllers (always), asked through a follower;
//! - against Apache 5.3.3's controller (one DLedger node from the Maven jars), next to Apache's
//!   own `mqadmin`, whose output layout ours must match. Needs `java` and `mvn`, else that test
//!   prints `SKIPPED` and passes (unless `FERROMQ_COMPAT_REQUIRED=1`).
//!
//! `getBrokerEpoch` asks brokers, not controllers: `mixed_brokers.rs` runs it.

#![allow(clippy::print_stderr)]

mod support;

use std::time::Duration;

use ferromq_protocol::header::GetMetaDataResponseHeader;
use ferromq_protocol::{RemotingCommand, RequestCode};
use ferromq_tests::artifacts::JavaArtifacts;
use ferromq_tests::jvm::apache_controller;
use ferromq_tests::listing::compare_layouts;
use ferromq_tests::net::free_port;
use ferromq_tests::require_tools;
use support::{
    apache_mqadmin, broker_set, eventually, ferro_mqadmin, ferro_mqadmin_ok, ferro_mqadmin_refused,
    Quorum,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ferro_mqadmin_against_ferromq_controllers() {
    let q = Quorum::start(3, "").await;
    let l = q.leader().await;
    let leader = q.addrs[l].clone();
    let follower = q.addrs[(l + 1) % 3].clone();
    let mut beats = broker_set(&leader).await;
    let f = follower.as_str();

    // Every controller knows the leader; the follower says so.
    let meta = ferro_mqadmin_ok(&["getControllerMetaData", "-a", f]).await;
    assert!(meta.contains("\n#ControllerGroup\ttest\n"), "{meta}");
    assert!(
        meta.contains(&format!("\n#ControllerLeaderAddress\t{leader}\n")),
        "{meta}"
    );
    for (i, addr) in q.addrs.iter().enumerate() {
        assert!(meta.contains(&format!("\n#Peer:\tn{i}:{addr}")), "{meta}");
    }

    // Reads go to the leader, found through the follower.
    let sync = ferro_mqadmin_ok(&["getSyncStateSet", "-a", f, "-b", "b"]).await;
    for line in [
        "#brokerName\tb",
        "#MasterBrokerId\t1",
        "#MasterAddr\t127.0.0.1:40001",
        "#MasterEpoch\t1",
        "#SyncStateSetNums\t1",
        "InSyncReplica:\tReplicaIdentity{brokerName='b', brokerId=1, brokerAddress='127.0.0.1:40001', alive=true}",
        "NotInSyncReplica:\tReplicaIdentity{brokerName='b', brokerId=2, brokerAddress='127.0.0.1:40002', alive=true}",
    ] {
        assert!(sync.lines().any(|l| l == line), "no {line:?} in {sync}");
    }

    // --json (FerroMQ's addition) carries the same facts.
    let json = |text: String| -> serde_json::Value {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    };
    let meta = json(ferro_mqadmin_ok(&["getControllerMetaData", "-a", f, "--json"]).await);
    assert_eq!(meta["controllerLeaderAddress"], leader.as_str(), "{meta}");
    assert_eq!(meta["peers"].as_array().map(Vec::len), Some(3), "{meta}");
    let sync = json(ferro_mqadmin_ok(&["getSyncStateSet", "-a", f, "-b", "b", "--json"]).await);
    assert_eq!(sync["b"]["masterBrokerId"], 1, "{sync}");
    assert_eq!(sync["b"]["notInSyncReplicas"][0]["brokerId"], 2, "{sync}");

    // Configs are per controller: one block each.
    let two = format!("{};{}", q.addrs[0], q.addrs[1]);
    let config = ferro_mqadmin_ok(&["getControllerConfig", "-a", &two]).await;
    for addr in &q.addrs[..2] {
        assert!(
            config.contains(&format!("============{addr}============\n")),
            "{config}"
        );
    }
    assert!(
        config
            .lines()
            .any(|l| l.starts_with("enableElectUncleanMaster") && l.ends_with("=  false")),
        "{config}"
    );

    // A change reaches every controller named; a key that is not a run-time one is refused.
    let all = q.addrs.join(";");
    let updated = ferro_mqadmin_ok(&[
        "updateControllerConfig",
        "-a",
        &all,
        "-k",
        "enableElectUncleanMaster",
        "-v",
        "true",
    ])
    .await;
    assert!(
        updated.contains("update controller config success![")
            && updated.contains("enableElectUncleanMaster : true"),
        "{updated}"
    );
    for i in 0..3 {
        assert!(q.controller(i).config().enable_elect_unclean_master, "n{i}");
    }
    ferro_mqadmin_refused(
        &[
            "updateControllerConfig",
            "-a",
            f,
            "-k",
            "controllerStorePath",
            "-v",
            "/tmp",
        ],
        &format!("{f} 16 "),
    )
    .await;

    // Replica 2 (outside the sync state set; allowed by the update above) becomes master.
    let elected =
        ferro_mqadmin_ok(&["electMaster", "-a", f, "-b", "2", "-bn", "b", "-c", "c"]).await;
    for line in [
        "#ClusterName\tc",
        "#BrokerName\tb",
        "#BrokerMasterAddr\t127.0.0.1:40002",
        "#MasterEpoch\t2",
        "\t#Broker\t1\t127.0.0.1:40001",
        "\t#Broker\t2\t127.0.0.1:40002",
    ] {
        assert!(
            elected.lines().any(|l| l == line),
            "no {line:?} in {elected}"
        );
    }
    let state = q.controller(l).state();
    assert_eq!(state.get("b").and_then(|s| s.master_broker_id), Some(2));
    drop(state);
    ferro_mqadmin_refused(
        &["electMaster", "-a", f, "-b", "9", "-bn", "b", "-c", "c"],
        &format!("mqadmin: {f} 2012 "),
    )
    .await;

    // Bad command lines are refused before any request.
    ferro_mqadmin_refused(
        &["cleanBrokerMetadata", "-a", f, "-bn", "b", "-b", "1"],
        "clusterName option can not be empty",
    )
    .await;
    ferro_mqadmin_refused(
        &[
            "cleanBrokerMetadata",
            "-a",
            f,
            "-bn",
            "b",
            "-c",
            "c",
            "-b",
            "1;x",
        ],
        "broker ids",
    )
    .await;

    // Replica 1 stops heartbeating (its connection closes): its record can be removed.
    beats.remove(0).close();
    let cleaned = eventually("replica 1 cleaned", || async {
        let run = ferro_mqadmin(&[
            "cleanBrokerMetadata",
            "-a",
            f,
            "-bn",
            "b",
            "-c",
            "c",
            "-b",
            "1",
        ])
        .await;
        run.output
            .contains("clear broker b metadata from controller success!")
            .then_some(run.output)
    })
    .await;
    assert!(!cleaned.contains("mqadmin:"), "{cleaned}");
    let state = q.controller(l).state();
    assert!(state.get("b").is_some_and(|s| !s.replicas.contains_key(&1)));
    drop(state);
    drop(beats);
    q.shutdown().await;
}

/// GET_METADATA_INFO of Apache's controller once it leads (a JVM start: up to a minute here).
async fn apache_leader(addr: &str) -> GetMetaDataResponseHeader {
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        if let Some(meta) = apache_metadata(addr).await {
            return meta;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "Apache's controller at {addr} did not lead in time"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn apache_metadata(addr: &str) -> Option<GetMetaDataResponseHeader> {
    {
        let conn = tokio::time::timeout(
            Duration::from_secs(2),
            ferromq_remoting::Connection::connect(
                addr,
                std::sync::Arc::new(ferromq_remoting::IgnoreRequests),
                ferromq_remoting::ConnectionConfig::default(),
            ),
        )
        .await
        .ok()?
        .ok()?;
        let resp = conn
            .request(
                RemotingCommand::request(RequestCode::CONTROLLER_GET_METADATA_INFO),
                Duration::from_secs(2),
            )
            .await
            .ok()?;
        conn.close();
        let meta: GetMetaDataResponseHeader = resp.header().ok()?;
        meta.is_leader.unwrap_or(false).then_some(meta)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ferro_mqadmin_against_apache_controller() {
    if !require_tools("ferro_mqadmin_against_apache_controller", &["java", "mvn"]) {
        return;
    }
    let classpath = tokio::task::spawn_blocking(|| JavaArtifacts::get().server_classpath.clone())
        .await
        .expect("java artifacts");
    let dir = tempfile::tempdir().expect("tmp");
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let _jvm = apache_controller(&classpath, dir.path(), port);
    let meta = apache_leader(&addr).await;
    assert_eq!(
        meta.controller_leader_address.as_deref(),
        Some(addr.as_str())
    );
    let beats = broker_set(&addr).await;
    let a = addr.as_str();

    // The same commands with both tools: the same layout, and our values are Apache's.
    for args in [
        vec!["getControllerMetaData", "-a", a],
        vec!["getSyncStateSet", "-a", a, "-b", "b"],
        vec!["getControllerConfig", "-a", a],
    ] {
        let theirs = apache_mqadmin(&args).await;
        let mine = ferro_mqadmin_ok(&args).await;
        if let Err(diff) = compare_layouts(&theirs, &mine, &[]) {
            panic!(
                "{args:?}: layouts differ:\n{diff}\n--- Apache ---\n{theirs}\n--- ours ---\n{mine}"
            );
        }
        if args[0] != "getControllerConfig" {
            for line in theirs
                .lines()
                .filter(|l| l.starts_with('#') || l.contains("Replica"))
            {
                assert!(
                    mine.lines().any(|m| m == line),
                    "{args:?}: no {line:?} in\n{mine}"
                );
            }
        }
    }

    let updated = ferro_mqadmin_ok(&[
        "updateControllerConfig",
        "-a",
        a,
        "-k",
        "enableElectUncleanMaster",
        "-v",
        "true",
    ])
    .await;
    assert!(
        updated.contains("enableElectUncleanMaster : true"),
        "{updated}"
    );
    let config = ferro_mqadmin_ok(&["getControllerConfig", "-a", a]).await;
    assert!(
        config
            .lines()
            .any(|l| l.starts_with("enableElectUncleanMaster") && l.ends_with("=  true")),
        "{config}"
    );

    let elected =
        ferro_mqadmin_ok(&["electMaster", "-a", a, "-b", "2", "-bn", "b", "-c", "c"]).await;
    assert!(
        elected
            .lines()
            .any(|l| l == "#BrokerMasterAddr\t127.0.0.1:40002"),
        "{elected}"
    );
    let sync = ferro_mqadmin_ok(&["getSyncStateSet", "-a", a, "-b", "b"]).await;
    assert!(sync.lines().any(|l| l == "#MasterBrokerId\t2"), "{sync}");

    let cleaned =
        ferro_mqadmin_ok(&["cleanBrokerMetadata", "-a", a, "-bn", "b", "-c", "c", "-l"]).await;
    assert!(
        cleaned.contains("clear broker b metadata from controller success!"),
        "{cleaned}"
    );
    let gone = ferro_mqadmin(&["getSyncStateSet", "-a", a, "-b", "b"]).await;
    assert!(
        !gone.output.contains("#MasterBrokerId\t2"),
        "{}",
        gone.output
    );

    drop(beats);
}
