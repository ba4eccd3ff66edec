//! The `mqnamesrv` binary as an operator runs it: Apache's flags, config files, clean stop.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use ferromq_protocol::header::namesrv::GetRouteInfoRequestHeader;
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use ferromq_remoting::{Connection, ConnectionConfig, IgnoreRequests};

const BIN: &str = env!("CARGO_BIN_EXE_mqnamesrv");

#[test]
fn help_and_print_config() {
    let out = Command::new(BIN).arg("-h").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("-c, --configFile"));

    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("namesrv.properties");
    std::fs::write(&conf, "listenPort=19999\norderMessageEnable=true\n").unwrap();
    let out = Command::new(BIN)
        .args(["-c", conf.to_str().unwrap(), "-p"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("listenPort=19999\n") && text.contains("orderMessageEnable=true\n"),
        "{text}"
    );
}

#[test]
fn a_bad_value_stops_start_up_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("namesrv.properties");
    std::fs::write(&conf, "listenPort=98760\n").unwrap();
    let out = Command::new(BIN)
        .args(["-c", conf.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("listenPort") && err.contains("98760"), "{err}");
    let out = Command::new(BIN).arg("--bogus").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test]
async fn starts_serves_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let conf = dir.path().join("namesrv.properties");
    let kv = dir.path().join("kv").join("kvConfig.json");
    std::fs::write(
        &conf,
        format!(
            "listenPort={port}\nbindAddress=127.0.0.1\nkvConfigPath={}\n",
            kv.display()
        ),
    )
    .unwrap();
    let mut child = Command::new(BIN)
        .args(["-c", conf.to_str().unwrap()])
        .env("HOME", dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The boot line is printed once the port is bound.
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(
        line.contains(&format!("address 127.0.0.1:{port}")),
        "{line}"
    );

    let conn = Connection::connect(
        &format!("127.0.0.1:{port}"),
        Arc::new(IgnoreRequests),
        ConnectionConfig::default(),
    )
    .await
    .unwrap();
    let h = GetRouteInfoRequestHeader {
        topic: "T".to_owned(),
        accept_standard_json_only: None,
    };
    let resp = conn
        .request(
            RemotingCommand::request_with_header(RequestCode::GET_ROUTEINFO_BY_TOPIC, &h),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert_eq!(resp.response_code(), ResponseCode::TOPIC_NOT_EXIST);

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "mqnamesrv did not stop on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(exit.success(), "{exit:?}");
    tokio::time::timeout(Duration::from_secs(5), conn.closed())
        .await
        .expect("connections closed on shutdown");
}

#[test]
fn logs_go_to_a_json_file_when_configured() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let logs = dir.path().join("logs");
    let conf = dir.path().join("namesrv.properties");
    std::fs::write(
        &conf,
        format!(
            "listenPort={port}\nbindAddress=127.0.0.1\nkvConfigPath={}\nlogFormat=json\nlogDir={}\nbogusKey=1\n",
            dir.path().join("kv.json").display(),
            logs.display()
        ),
    )
    .unwrap();
    let mut child = Command::new(BIN)
        .args(["-c", conf.to_str().unwrap()])
        .env("HOME", dir.path())
        .env_remove("FERROMQ_LOG_FORMAT")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains("boot success"), "{line}");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(out.stderr.is_empty(), "nothing on stderr with logDir set");

    let text = std::fs::read_to_string(logs.join("namesrv.log")).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        lines.iter().any(|l| l["level"] == "WARN"
            && l["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("unknown config key ignored: bogusKey"))),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l["level"] == "INFO" && l["fields"]["message"] == "shutting down"),
        "{text}"
    );

    // An unknown format stops start-up, naming the key.
    std::fs::write(&conf, format!("listenPort={port}\nlogFormat=xml\n")).unwrap();
    let out = Command::new(BIN)
        .args(["-c", conf.to_str().unwrap()])
        .env_remove("FERROMQ_LOG_FORMAT")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("logFormat") && err.contains("xml"), "{err}");
}
