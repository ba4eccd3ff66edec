//! `mqbench` against real FerroMQ servers: each benchmark runs briefly with `--json` and its
//! summary line must show real traffic and no failures.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use ferromq_tests::{FerroBroker, FerroNamesrv};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_mqbench");

/// Runs mqbench with `args`; returns its JSON lines (and stderr for messages).
fn mqbench(args: &[&str]) -> (Vec<Value>, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "mqbench {args:?} failed: {stderr}");
    let lines = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    (lines, stderr)
}

fn summary(lines: &[Value]) -> &Value {
    lines
        .iter()
        .find(|l| l["kind"] == "summary")
        .expect("a summary line")
}

#[test]
fn producer_consumer_and_transaction_runs_report_real_traffic() {
    let namesrv = FerroNamesrv::start();
    let broker = FerroBroker::start(namesrv.addr(), |s| {
        s.broker.transaction_check_interval = 300;
        s.broker.transaction_time_out = 300;
    });
    ferromq_tests::net::wait_until(
        "broker registration",
        std::time::Duration::from_secs(30),
        || {
            let info = ferromq_tests::remoting::broker_cluster_info(namesrv.addr())
                .map_err(|e| e.to_string())?;
            Ok(info.body_text().contains(broker.addr()))
        },
    )
    .unwrap();
    let ns = namesrv.addr();

    for mode in ["sync", "async"] {
        let (lines, stderr) = mqbench(&[
            "producer",
            "-n",
            ns,
            "-t",
            "Bench",
            "-w",
            "4",
            "-s",
            "256",
            "--mode",
            mode,
            "--duration",
            "2",
            "--interval",
            "1",
            "--json",
            "--queues",
            "4",
        ]);
        let s = summary(&lines);
        assert!(s["ok"].as_u64().unwrap() > 0, "{mode}: {s} {stderr}");
        assert_eq!(s["failures"], 0, "{mode}: {s}");
        assert!(s["p99_ms"].as_f64().unwrap() >= s["p50_ms"].as_f64().unwrap());
        assert!(
            lines.iter().any(|l| l["kind"] == "interval"),
            "interval lines: {lines:?}"
        );
    }

    // Async batches, ending at a message count well before the time limit.
    let (lines, stderr) = mqbench(&[
        "producer",
        "-n",
        ns,
        "-t",
        "Bench",
        "-s",
        "256",
        "--mode",
        "async",
        "--batch",
        "8",
        "--inflight",
        "4",
        "--messages",
        "2000",
        "--duration",
        "60",
        "--json",
        "--queues",
        "4",
    ]);
    let s = summary(&lines);
    assert!(
        s["ok"].as_u64().unwrap() >= 2000,
        "async batches: {s} {stderr}"
    );
    assert_eq!(s["ok"].as_u64().unwrap() % 8, 0, "whole batches: {s}");
    assert_eq!(s["failures"], 0, "async batches: {s}");
    assert!(
        s["seconds"].as_f64().unwrap() < 30.0,
        "--messages ends it: {s}"
    );

    // Draining a backlog: the run ends once that many messages were consumed.
    let (lines, _) = mqbench(&[
        "consumer",
        "-n",
        ns,
        "-t",
        "Bench",
        "-g",
        "bench_drain",
        "--from-first",
        "--messages",
        "1500",
        "--duration",
        "60",
        "--json",
    ]);
    let s = summary(&lines);
    assert!(s["ok"].as_u64().unwrap() >= 1500, "drained: {s}");
    assert!(
        s["seconds"].as_f64().unwrap() < 30.0,
        "--messages ends it: {s}"
    );

    let (lines, _) = mqbench(&[
        "consumer",
        "-n",
        ns,
        "-t",
        "Bench",
        "-g",
        "bench_c",
        "--from-first",
        "--duration",
        "3",
        "--json",
    ]);
    let s = summary(&lines);
    assert!(s["ok"].as_u64().unwrap() > 0, "consumed: {s}");
    assert_eq!(s["failures"], 0);

    let (lines, stderr) = mqbench(&[
        "transaction",
        "-n",
        ns,
        "-t",
        "BenchTx",
        "-w",
        "4",
        "--check-percent",
        "10",
        "--duration",
        "3",
        "--json",
    ]);
    let s = summary(&lines);
    assert!(s["ok"].as_u64().unwrap() > 0, "{s}");
    assert_eq!(s["failures"], 0, "{s}");
    let checks: u64 = stderr
        .split_whitespace()
        .zip(stderr.split_whitespace().skip(1))
        .find(|(_, w)| *w == "check-backs")
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("no check-back count in {stderr}"));
    assert!(
        checks > 0,
        "unknown transactions were checked back: {stderr}"
    );
}

#[test]
fn signed_sends_pass_a_broker_with_acl_and_unsigned_ones_fail() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("plain_acl.yml");
    std::fs::write(
        &rules,
        "accounts:\n  - accessKey: bench-key\n    secretKey: bench-secret\n    admin: true\n",
    )
    .unwrap();
    let namesrv = FerroNamesrv::start();
    let broker = FerroBroker::start(namesrv.addr(), |s| {
        s.broker.acl_enable = true;
        s.broker.acl_file_path = rules.display().to_string();
    });
    ferromq_tests::net::wait_until(
        "broker registration",
        std::time::Duration::from_secs(30),
        || {
            let info = ferromq_tests::remoting::broker_cluster_info(namesrv.addr())
                .map_err(|e| e.to_string())?;
            Ok(info.body_text().contains(broker.addr()))
        },
    )
    .unwrap();
    let ns = namesrv.addr();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "producer",
            "-n",
            ns,
            "-t",
            "AclBench",
            "-w",
            "2",
            "--duration",
            "1",
            "--interval",
            "1",
            "--json",
            "--queues",
            "2",
        ];
        args.extend_from_slice(extra);
        Command::new(BIN).args(&args).output().unwrap()
    };
    let signed = run(&["--access-key", "bench-key", "--secret-key", "bench-secret"]);
    let stderr = String::from_utf8_lossy(&signed.stderr);
    assert!(signed.status.success(), "{stderr}");
    let lines: Vec<Value> = String::from_utf8(signed.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let s = summary(&lines);
    assert!(s["ok"].as_u64().unwrap() > 0, "{s} {stderr}");
    assert_eq!(s["failures"], 0, "{s}");

    // Unsigned: the broker refuses, naming the missing key, and mqbench fails.
    let unsigned = run(&[]);
    let stderr = String::from_utf8_lossy(&unsigned.stderr);
    assert!(!unsigned.status.success(), "{stderr}");
    assert!(stderr.contains("No accessKey is configured"), "{stderr}");
}
