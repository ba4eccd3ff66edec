//! The `mqcontroller` binary: a one-controller quorum from a properties file comes up and leads;
//! a bad quorum is refused at start-up with the key named.

mod support;

use std::process::{Command, Stdio};

use support::{eventually, metadata};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqcontroller_starts_from_a_properties_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let conf = dir.path().join("controller.properties");
    std::fs::write(
        &conf,
        format!(
            "controllerDLegerGroup=group1\ncontrollerDLegerPeers=n0-{addr}\ncontrollerDLegerSelfId=n0\ncontrollerStorePath={}\njRaftElectionTimeoutMs=200\n",
            dir.path().join("store").display()
        ),
    )
    .expect("write");
    let mut child = Command::new(env!("CARGO_BIN_EXE_mqcontroller"))
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn");
    let addr2 = addr.clone();
    let leads = eventually("mqcontroller to lead", || {
        let addr = addr2.clone();
        async move {
            // Not listening yet: try again.
            tokio::net::TcpStream::connect(&addr).await.ok()?;
            let m = metadata(&addr).await;
            (m.is_leader == Some(true)).then_some(m)
        }
    })
    .await;
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        leads.controller_leader_address.as_deref(),
        Some(addr.as_str())
    );
    assert!(dir.path().join("store/raft/log").exists());

    let bad = dir.path().join("bad.properties");
    std::fs::write(
        &bad,
        "controllerDLegerPeers=n0-127.0.0.1:1\ncontrollerDLegerSelfId=n7\n",
    )
    .expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_mqcontroller"))
        .arg("-c")
        .arg(&bad)
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("self id `n7`"), "{err}");
}

/// Child processes killed (SIGKILL) when dropped, so a failing test leaves none behind.
struct Procs(Vec<Option<std::process::Child>>);

impl Drop for Procs {
    fn drop(&mut self) {
        for child in self.0.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn spawn_controller(conf: &std::path::Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_mqcontroller"))
        .arg("-c")
        .arg(conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn")
}

/// The leader's index, once a running controller says it leads.
async fn process_leader(addrs: &[String], running: &[usize]) -> usize {
    eventually("a leader among the processes", || async {
        for &i in running {
            if tokio::net::TcpStream::connect(&addrs[i]).await.is_err() {
                continue;
            }
            if metadata(&addrs[i]).await.is_leader == Some(true) {
                return Some(i);
            }
        }
        None
    })
    .await
}

async fn apply(addr: &str, id: i64) -> ferromq_protocol::RemotingCommand {
    use ferromq_protocol::header::ApplyBrokerIdRequestHeader;
    let conn = support::connect(addr).await;
    let h = ApplyBrokerIdRequestHeader {
        cluster_name: Some("c".into()),
        broker_name: Some("b".into()),
        applied_broker_id: Some(id),
        register_check_code: Some(format!("127.0.0.1:{};1", 20_000 + id)),
    };
    let resp = support::call(
        &conn,
        support::req(
            ferromq_protocol::RequestCode::CONTROLLER_APPLY_BROKER_ID,
            &h,
        ),
    )
    .await;
    conn.close();
    resp
}

/// Config files for a quorum of three on free loopback ports: the addresses and the files.
fn three_configs(dir: &std::path::Path) -> (Vec<String>, Vec<std::path::PathBuf>) {
    let addrs: Vec<String> = (0..3)
        .map(|_| {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("free port")
                .port();
            format!("127.0.0.1:{port}")
        })
        .collect();
    let peers: Vec<String> = addrs
        .iter()
        .enumerate()
        .map(|(i, a)| format!("n{i}-{a}"))
        .collect();
    let confs: Vec<std::path::PathBuf> = (0..3)
        .map(|i| {
            let conf = dir.join(format!("n{i}.properties"));
            std::fs::write(
                &conf,
                format!(
                    "controllerDLegerGroup=g\ncontrollerDLegerPeers={}\ncontrollerDLegerSelfId=n{i}\ncontrollerStorePath={}\nbindAddress=127.0.0.1\njRaftElectionTimeoutMs=500\n",
                    peers.join(";"),
                    dir.join(format!("store{i}")).display()
                ),
            )
            .expect("write");
            conf
        })
        .collect();
    (addrs, confs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_survive_kill_9_of_the_leader() {
    let dir = tempfile::tempdir().expect("tmp");
    let (addrs, confs) = three_configs(dir.path());
    let mut procs = Procs(confs.iter().map(|c| Some(spawn_controller(c))).collect());
    let leader = process_leader(&addrs, &[0, 1, 2]).await;
    for id in 1..=2 {
        let resp = apply(&addrs[leader], id).await;
        assert_eq!(resp.code, 0, "apply {id}: {:?}", resp.remark);
    }
    // kill -9: no shutdown, the store is as the crash left it.
    let mut child = procs.0[leader].take().expect("child");
    child.kill().expect("kill");
    child.wait().expect("wait");
    let rest: Vec<usize> = (0..3).filter(|&i| i != leader).collect();
    let second = process_leader(&addrs, &rest).await;
    let resp = apply(&addrs[second], 2).await;
    assert_eq!(
        resp.code, 0,
        "id 2 re-applied by its holder: {:?}",
        resp.remark
    );
    let resp = apply(&addrs[second], 3).await;
    assert_eq!(resp.code, 0, "id 3 on the new leader: {:?}", resp.remark);
    // The killed controller restarts from its store and follows the new leader.
    procs.0[leader] = Some(spawn_controller(&confs[leader]));
    let addr = addrs[leader].clone();
    let want = addrs[second].clone();
    eventually("the restarted controller to follow", || {
        let (addr, want) = (addr.clone(), want.clone());
        async move {
            tokio::net::TcpStream::connect(&addr).await.ok()?;
            let m = metadata(&addr).await;
            (m.is_leader == Some(false) && m.controller_leader_address.as_deref() == Some(&want))
                .then_some(())
        }
    })
    .await;
}

/// GET_NEXT_BROKER_ID of set `b` from `addr`.
async fn next_id(addr: &str) -> Option<i64> {
    use ferromq_protocol::header::{GetNextBrokerIdRequestHeader, GetNextBrokerIdResponseHeader};
    let conn = support::connect(addr).await;
    let h = GetNextBrokerIdRequestHeader {
        cluster_name: Some("c".into()),
        broker_name: Some("b".into()),
    };
    let resp = support::call(
        &conn,
        support::req(
            ferromq_protocol::RequestCode::CONTROLLER_GET_NEXT_BROKER_ID,
            &h,
        ),
    )
    .await;
    conn.close();
    resp.header::<GetNextBrokerIdResponseHeader>()
        .ok()?
        .next_broker_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_every_controller_mid_writes_loses_no_acknowledged_change() {
    use std::sync::atomic::{AtomicI64, Ordering};
    let dir = tempfile::tempdir().expect("tmp");
    let (addrs, confs) = three_configs(dir.path());
    let mut procs = Procs(confs.iter().map(|c| Some(spawn_controller(c))).collect());
    let leader = process_leader(&addrs, &[0, 1, 2]).await;
    // A writer applies ids 1, 2, 3... one after the other; `acked` is the last acknowledged.
    let acked = std::sync::Arc::new(AtomicI64::new(0));
    let writer = {
        let (acked, addr) = (acked.clone(), addrs[leader].clone());
        tokio::spawn(async move {
            for id in 1.. {
                let Ok(conn) = ferromq_remoting::Connection::connect(
                    &addr,
                    std::sync::Arc::new(ferromq_remoting::IgnoreRequests),
                    ferromq_remoting::ConnectionConfig::default(),
                )
                .await
                else {
                    return;
                };
                let h = ferromq_protocol::header::ApplyBrokerIdRequestHeader {
                    cluster_name: Some("c".into()),
                    broker_name: Some("b".into()),
                    applied_broker_id: Some(id),
                    register_check_code: Some(format!("127.0.0.1:{};1", 20_000 + id)),
                };
                let req = support::req(
                    ferromq_protocol::RequestCode::CONTROLLER_APPLY_BROKER_ID,
                    &h,
                );
                match conn.request(req, std::time::Duration::from_secs(5)).await {
                    Ok(resp) if resp.code == 0 => acked.store(id, Ordering::SeqCst),
                    _ => return,
                }
                conn.close();
            }
        })
    };
    eventually("some acknowledged writes", || {
        let acked = acked.clone();
        async move { (acked.load(Ordering::SeqCst) >= 20).then_some(()) }
    })
    .await;
    for child in procs.0.iter_mut() {
        let mut c = child.take().expect("child");
        c.kill().expect("kill -9");
        c.wait().expect("wait");
    }
    writer.await.expect("writer");
    let acked = acked.load(Ordering::SeqCst);
    for (i, conf) in confs.iter().enumerate() {
        procs.0[i] = Some(spawn_controller(conf));
    }
    let leader = process_leader(&addrs, &[0, 1, 2]).await;
    let next = eventually("the next id after recovery", || {
        let addr = addrs[leader].clone();
        async move { next_id(&addr).await }
    })
    .await;
    // Every acknowledged id survived; at most the one in flight was committed besides.
    assert!(
        next == acked + 1 || next == acked + 2,
        "acknowledged up to {acked}, next id after recovery {next}"
    );
}
