//! What the `mqadmin` tests share: running the built binary, and a name server with one
//! registered broker.

#![allow(dead_code, unreachable_pub)]

use std::process::Command;
use std::time::Duration;

use ferromq_tests::{FerroBroker, FerroNamesrv};

/// What one run printed and how it exited.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `mqadmin args`.
pub fn run(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_mqadmin"))
        .args(args)
        .env_remove("NAMESRV_ADDR")
        .output()
        .expect("run mqadmin");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `mqadmin args`, which must succeed; its stdout.
pub fn ok(args: &[&str]) -> String {
    let r = run(args);
    assert_eq!(r.code, Some(0), "mqadmin {args:?}: {}", r.stderr);
    r.stdout
}

/// A name server and one broker named `name`, registered.
pub fn cluster(name: &str) -> (FerroNamesrv, FerroBroker) {
    let namesrv = FerroNamesrv::start();
    let broker = FerroBroker::start(namesrv.addr(), |s| {
        s.broker.broker_name = name.to_owned();
    });
    ferromq_tests::net::wait_until("registration", Duration::from_secs(30), || {
        let info = ferromq_tests::remoting::broker_cluster_info(namesrv.addr())
            .map_err(|e| e.to_string())?;
        Ok(info.body_text().contains(broker.addr()))
    })
    .expect("the broker registers");
    (namesrv, broker)
}
