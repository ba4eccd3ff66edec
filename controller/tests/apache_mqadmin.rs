//! Apache RocketMQ 5.3.3's own `mqadmin` controller commands against FerroMQ's controller:
//! getControllerMetaData, getSyncStateSet, electMaster, getControllerConfig,
//! updateControllerConfig, cleanBrokerMetadata; FerroMQ's `mqadmin` must print the read commands'
//! output in the same layout.
//!
//! Needs `java` and `mvn` (Apache's tools jars come from Maven through `ferromq_tests`); without
//! them the test prints `SKIPPED` and passes, unless `FERROMQ_COMPAT_REQUIRED=1`.

#![allow(clippy::print_stderr)]

mod support;

use ferromq_tests::artifacts::JavaArtifacts;
use ferromq_tests::listing::compare_layouts;
use ferromq_tests::require_tools;
use support::{apache_mqadmin as mqadmin, broker_set, ferro_mqadmin_ok, Quorum};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apache_mqadmin_controller_commands() {
    if !require_tools("apache_mqadmin_controller_commands", &["java", "mvn"]) {
        return;
    }
    // Maven's first run, if any, before the quorum's timers start.
    tokio::task::spawn_blocking(JavaArtifacts::get)
        .await
        .expect("java artifacts");
    let q = Quorum::start(3, "").await;
    let l = q.leader().await;
    let leader = q.addrs[l].clone();
    let beats = broker_set(&leader).await;

    let a = leader.as_str();
    let meta = mqadmin(&["getControllerMetaData", "-a", a]).await;
    assert!(
        meta.contains(&format!("#ControllerLeaderAddress\t{a}")),
        "{meta}"
    );
    assert!(meta.contains("#ControllerGroup\ttest"), "{meta}");

    let sync = mqadmin(&["getSyncStateSet", "-a", a, "-b", "b"]).await;
    assert!(sync.contains("#MasterBrokerId\t1"), "{sync}");
    assert!(sync.contains("#MasterEpoch\t1"), "{sync}");

    let config = mqadmin(&["getControllerConfig", "-a", a]).await;
    assert!(config.contains("enableElectUncleanMaster"), "{config}");

    // FerroMQ's mqadmin prints the same layout.
    for (args, theirs) in [
        (["getControllerMetaData", "-a", a, "", ""], &meta),
        (["getSyncStateSet", "-a", a, "-b", "b"], &sync),
        (["getControllerConfig", "-a", a, "", ""], &config),
    ] {
        let args: Vec<&str> = args.into_iter().filter(|s| !s.is_empty()).collect();
        let ours = ferro_mqadmin_ok(&args).await;
        if let Err(diff) = compare_layouts(theirs, &ours, &[]) {
            panic!("layouts differ:\n{diff}\n--- Apache ---\n{theirs}\n--- ours ---\n{ours}");
        }
    }
    mqadmin(&[
        "updateControllerConfig",
        "-a",
        a,
        "-k",
        "enableElectUncleanMaster",
        "-v",
        "true",
    ])
    .await;
    assert!(q.controller(l).config().enable_elect_unclean_master);

    // Replica 2 is outside the sync state set: designating it needs enableElectUncleanMaster
    // (Apache's DefaultElectPolicy), which the update above turned on.
    let elected = mqadmin(&["electMaster", "-a", a, "-b", "2", "-bn", "b", "-c", "c"]).await;
    assert!(
        elected.contains("#BrokerMasterAddr\t127.0.0.1:40002"),
        "{elected}"
    );
    assert_eq!(
        q.controller(l)
            .state()
            .get("b")
            .and_then(|s| s.master_broker_id),
        Some(2)
    );

    beats[0].close();
    let cleaned = mqadmin(&[
        "cleanBrokerMetadata",
        "-a",
        a,
        "-bn",
        "b",
        "-c",
        "c",
        "-b",
        "1",
        "-l",
    ])
    .await;
    assert!(cleaned.contains("success"), "{cleaned}");
    assert!(q
        .controller(l)
        .state()
        .get("b")
        .is_some_and(|s| !s.replicas.contains_key(&1)));
    q.shutdown().await;
}
