//! Apache RocketMQ 5.3.3's own `mqadmin` controller commands against FerroMQ's controller:
//! getControllerMetaData, getSyncStateSet, electMaster, getControllerConfig,
//! updateControllerConfig, cleanBrokerMetadata.
//!
//! Needs `java` and Apache's tools jars in `tests/compat/tools/target/dependency` (the
//! `ferromq-tests` compat tests fetch them with Maven; by hand: `mvn -q -f
//! tests/compat/tools/pom.xml dependency:copy-dependencies -DincludeScope=runtime`). Without them
//! the test prints `SKIPPED` and passes, unless `FERROMQ_COMPAT_REQUIRED=1`.

#![allow(clippy::print_stderr)]

mod support;

use std::path::PathBuf;
use std::process::Command;

use ferromq_protocol::header::{
    ApplyBrokerIdRequestHeader, BrokerHeartbeatRequestHeader, ElectMasterRequestHeader,
};
use ferromq_protocol::RequestCode;
use support::{call, connect, req, Quorum};

fn tools_dir() -> Option<PathBuf> {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/compat/tools/target/dependency");
    let has_tools = std::fs::read_dir(&dir).ok()?.flatten().any(|e| {
        e.file_name()
            .to_string_lossy()
            .starts_with("rocketmq-tools-5.3.3")
    });
    let has_java = Command::new("java").arg("-version").output().is_ok();
    (has_tools && has_java).then_some(dir)
}

/// Runs Apache's `mqadmin <args>`; returns its standard output.
async fn mqadmin(tools: &std::path::Path, home: &std::path::Path, args: &[&str]) -> String {
    let mut cmd = Command::new("java");
    cmd.env("HOME", home)
        .env("NAMESRV_ADDR", "127.0.0.1:1")
        .env_remove("ROCKETMQ_HOME")
        .args([
            "-Xms32m",
            "-Xmx256m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
        ])
        .arg(format!("-Duser.home={}", home.display()))
        .arg("-cp")
        .arg(format!("{}/*", tools.display()))
        .arg("org.apache.rocketmq.tools.command.MQAdminStartup")
        .args(args);
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("join")
        .expect("run java");
    // MQAdminStartup reports a failed command on standard error and still exits 0.
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "mqadmin {args:?} failed: {output}");
    output
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apache_mqadmin_controller_commands() {
    let Some(tools) = tools_dir() else {
        assert!(
            std::env::var_os("FERROMQ_COMPAT_REQUIRED").is_none(),
            "Apache's tools jars or java are missing"
        );
        eprintln!("SKIPPED: apache_mqadmin_controller_commands: java or tests/compat/tools jars not found");
        return;
    };
    let home = tempfile::tempdir().expect("tmp");
    let q = Quorum::start(3, "").await;
    let l = q.leader().await;
    let leader = q.addrs[l].clone();
    let admin = connect(&leader).await;
    let mut beats = Vec::new();
    for id in 1..=2i64 {
        let addr = format!("127.0.0.1:{}", 40_000 + id);
        let apply = ApplyBrokerIdRequestHeader {
            cluster_name: Some("c".into()),
            broker_name: Some("b".into()),
            applied_broker_id: Some(id),
            register_check_code: Some(format!("{addr};1")),
        };
        let resp = call(&admin, req(RequestCode::CONTROLLER_APPLY_BROKER_ID, &apply)).await;
        assert_eq!(resp.code, 0, "{:?}", resp.remark);
        let conn = connect(&leader).await;
        let hb = BrokerHeartbeatRequestHeader {
            cluster_name: "c".into(),
            broker_addr: addr,
            broker_name: "b".into(),
            broker_id: Some(id),
            epoch: Some(0),
            max_offset: Some(0),
            confirm_offset: None,
            heartbeat_timeout_millis: Some(60_000),
            election_priority: None,
        };
        call(&conn, req(RequestCode::BROKER_HEARTBEAT, &hb)).await;
        beats.push(conn);
    }
    let elect = ElectMasterRequestHeader {
        cluster_name: Some("c".into()),
        broker_name: Some("b".into()),
        broker_id: Some(1),
        designate_elect: Some(false),
        invoke_time: None,
    };
    assert_eq!(
        call(&admin, req(RequestCode::CONTROLLER_ELECT_MASTER, &elect))
            .await
            .code,
        0
    );

    let a = leader.as_str();
    let meta = mqadmin(&tools, home.path(), &["getControllerMetaData", "-a", a]).await;
    assert!(
        meta.contains(&format!("#ControllerLeaderAddress\t{a}")),
        "{meta}"
    );
    assert!(meta.contains("#ControllerGroup\ttest"), "{meta}");

    let sync = mqadmin(
        &tools,
        home.path(),
        &["getSyncStateSet", "-a", a, "-b", "b"],
    )
    .await;
    assert!(sync.contains("#MasterBrokerId\t1"), "{sync}");
    assert!(sync.contains("#MasterEpoch\t1"), "{sync}");

    let config = mqadmin(&tools, home.path(), &["getControllerConfig", "-a", a]).await;
    assert!(config.contains("enableElectUncleanMaster"), "{config}");
    mqadmin(
        &tools,
        home.path(),
        &[
            "updateControllerConfig",
            "-a",
            a,
            "-k",
            "enableElectUncleanMaster",
            "-v",
            "true",
        ],
    )
    .await;
    assert!(q.controller(l).config().enable_elect_unclean_master);

    // Replica 2 is outside the sync state set: designating it needs enableElectUncleanMaster
    // (Apache's DefaultElectPolicy), which the update above turned on.
    let elected = mqadmin(
        &tools,
        home.path(),
        &["electMaster", "-a", a, "-b", "2", "-bn", "b", "-c", "c"],
    )
    .await;
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
    let cleaned = mqadmin(
        &tools,
        home.path(),
        &[
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
        ],
    )
    .await;
    assert!(cleaned.contains("success"), "{cleaned}");
    assert!(q
        .controller(l)
        .state()
        .get("b")
        .is_some_and(|s| !s.replicas.contains_key(&1)));
    q.shutdown().await;
}
