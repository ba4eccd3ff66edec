//! `enableControllerInNamesrv=true`: `mqnamesrv` also runs a controller on its own port, from
//! the controller keys of the same file, and stops it on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferromq_protocol::header::GetMetaDataResponseHeader;
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use ferromq_remoting::{Connection, ConnectionConfig, IgnoreRequests};

const BIN: &str = env!("CARGO_BIN_EXE_mqnamesrv");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

#[tokio::test]
async fn the_name_server_hosts_a_controller() {
    let dir = tempfile::tempdir().expect("tmp");
    let (port, controller_port) = (free_port(), free_port());
    let conf = dir.path().join("namesrv.properties");
    std::fs::write(
        &conf,
        format!(
            "listenPort={port}\nbindAddress=127.0.0.1\nkvConfigPath={}\nenableControllerInNamesrv=true\ncontrollerDLegerGroup=g1\ncontrollerDLegerPeers=n0-127.0.0.1:{controller_port}\ncontrollerDLegerSelfId=n0\ncontrollerStorePath={}\njRaftElectionTimeoutMs=200\n",
            dir.path().join("kv.json").display(),
            dir.path().join("controller").display()
        ),
    )
    .expect("write");
    let mut child = Command::new(BIN)
        .args(["-c", conf.to_str().expect("utf8")])
        .env("HOME", dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("boot line");
    assert!(line.contains(&format!("127.0.0.1:{port}")), "{line}");

    // The controller port answers, and its single controller leads.
    let conn = Connection::connect(
        &format!("127.0.0.1:{controller_port}"),
        Arc::new(IgnoreRequests),
        ConnectionConfig::default(),
    )
    .await
    .expect("controller port");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let resp = conn
            .request(
                RemotingCommand::request(RequestCode::CONTROLLER_GET_METADATA_INFO),
                Duration::from_secs(5),
            )
            .await
            .expect("metadata");
        assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
        let h: GetMetaDataResponseHeader = resp.header().expect("header");
        assert_eq!(h.group.as_deref(), Some("g1"));
        if h.is_leader == Some(true) {
            break;
        }
        assert!(Instant::now() < deadline, "the controller never led");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(Instant::now() < deadline, "mqnamesrv did not stop");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(exit.success(), "{exit:?}");
    tokio::time::timeout(Duration::from_secs(5), conn.closed())
        .await
        .expect("controller connections closed on shutdown");
}
