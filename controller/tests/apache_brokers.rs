//! Mixed: two Apache RocketMQ 5.3.3 brokers in controller mode (`enableControllerMode=true`)
//! under a quorum of three FerroMQ controllers and a FerroMQ name server. They get their ids,
//! elect a master, form a sync state set of both; `kill -9` of the master elects the other, which
//! the controller tells (NOTIFY_BROKER_ROLE_CHANGED) and which then registers with the name
//! server as master (brokerId 0), so clients follow.
//!
//! Needs `java` and `mvn` (the Apache jars come from Maven through `ferromq_tests`); without
//! them it prints `SKIPPED` and passes, unless `FERROMQ_COMPAT_REQUIRED=1`.

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use ferromq_protocol::body::ClusterInfo;
use ferromq_protocol::{RemotingCommand, RequestCode};
use ferromq_tests::artifacts::JavaArtifacts;
use ferromq_tests::jvm::{apache_controller_mode_broker, ControllerModeBroker, Jvm};
use ferromq_tests::net::free_broker_port;
use ferromq_tests::require_tools;
use support::{call, connect, Quorum};

fn start_broker(
    classpath: &str,
    dir: &Path,
    n: usize,
    port: u16,
    namesrv: &str,
    controllers: &str,
) -> Jvm {
    let tag = format!("broker{n}");
    let broker = ControllerModeBroker {
        tag: &tag,
        port,
        namesrv,
        controllers,
        extra: "",
    };
    apache_controller_mode_broker(classpath, dir, broker)
}

/// Polls `check` every 100 ms for up to `limit`.
async fn wait_for<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apache_brokers_fail_over_under_ferromq_controllers() {
    if !require_tools(
        "apache_brokers_fail_over_under_ferromq_controllers",
        &["java", "mvn"],
    ) {
        return;
    }
    let deps = tokio::task::spawn_blocking(|| JavaArtifacts::get().server_classpath.clone())
        .await
        .expect("java artifacts");
    let dir = tempfile::tempdir().expect("tmp");
    let namesrv = support::namesrv(dir.path()).await;

    let mut q = Quorum::start(3, "").await;
    let l = q.leader().await;
    let controllers = q.addrs.join(";");
    let ports = [free_broker_port(), free_broker_port()];
    let mut jvms: Vec<Option<Jvm>> = ports
        .iter()
        .enumerate()
        .map(|(n, &p)| {
            Some(start_broker(
                &deps,
                dir.path(),
                n,
                p,
                &namesrv,
                &controllers,
            ))
        })
        .collect();

    // Both join; the first to ask is master; the master takes the other into its sync state set.
    let leader = q.controller(l).clone();
    let master = wait_for(
        "a master and a sync state set of two",
        Duration::from_secs(90),
        || {
            let set = leader.state().get("broker-a")?.clone();
            (set.replicas.len() == 2 && set.sync_state_set.len() == 2)
                .then_some(set.master_broker_id?)
        },
    )
    .await;
    let state = leader.state();
    let set = state.get("broker-a").expect("set");
    let master_addr = set.address_of(Some(master)).expect("addr").to_owned();
    let (other, other_addr) = set
        .replicas
        .iter()
        .find(|(id, _)| **id != master)
        .map(|(id, r)| (*id, r.address.clone()))
        .expect("other");
    let victim = ports
        .iter()
        .position(|p| master_addr.ends_with(&format!(":{p}")))
        .expect("master is one of ours");

    let killed = Instant::now();
    drop(jvms[victim].take());
    wait_for(
        "the other replica to be elected",
        Duration::from_secs(30),
        || {
            let s = leader.state();
            (s.get("broker-a")?.master_broker_id == Some(other)).then_some(())
        },
    )
    .await;
    let elected = killed.elapsed();

    // The new master registers with the name server as brokerId 0.
    let ns = connect(&namesrv).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let resp = call(
            &ns,
            RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_INFO),
        )
        .await;
        let info = ClusterInfo::decode(&resp.body).ok();
        let master0 = info
            .as_ref()
            .and_then(|i| i.broker_addr_table.get("broker-a"))
            .and_then(|b| b.broker_addrs.get(&0).cloned());
        if master0.as_deref() == Some(other_addr.as_str()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "name server never showed {other_addr} as master: {master0:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let routed = killed.elapsed();
    println!(
        "apache brokers: master killed (-9); new master elected after {} ms, routed by the name server after {} ms",
        elected.as_millis(),
        routed.as_millis()
    );

    // The old master comes back (it follows and rejoins the sync state set); then the master
    // and the controller leader die together.
    jvms[victim] = Some(start_broker(
        &deps,
        dir.path(),
        victim,
        ports[victim],
        &namesrv,
        &controllers,
    ));
    wait_for(
        "the old master back in the sync state set",
        Duration::from_secs(90),
        || {
            let set = leader.state().get("broker-a")?.clone();
            (set.master_broker_id == Some(other) && set.sync_state_set.len() == 2).then_some(())
        },
    )
    .await;
    let survivor = 1 - victim;
    let killed = Instant::now();
    drop(jvms[survivor].take());
    q.kill(l).await;
    let l2 = q.leader().await;
    let leader2 = q.controller(l2).clone();
    wait_for(
        "the rejoined replica to be elected by the new controller leader",
        Duration::from_secs(60),
        || {
            let s = leader2.state();
            (s.get("broker-a")?.master_broker_id == Some(master)).then_some(())
        },
    )
    .await;
    println!(
        "apache brokers: master and controller leader killed together; new master elected after {} ms",
        killed.elapsed().as_millis()
    );
    drop(jvms);
    q.shutdown().await;
}
