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
