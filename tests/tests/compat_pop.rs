//! POP with the official Java 5.3.3 client (`MQClientAPIImpl.popMessageAsync`, `ackMessageAsync`,
//! `batchAckMessageAsync`, `changeInvisibleTimeAsync`) against FerroMQ's name server and broker
//! (in-process, free ports): docs/pop.md. The program checks every delivery and prints one
//! `OK: pop: ...` line compared here exactly.
//!
//! Needs `java` (17) and `mvn` on PATH; prints `SKIPPED: ...` and passes otherwise (set
//! `FERROMQ_COMPAT_REQUIRED=1` to fail instead).
//!
//! ```text
//! cargo test -p ferromq-tests --test compat_pop -- --nocapture
//! ```

use std::time::Duration;

use ferromq_tests::clients::java_pop_scenario;
use ferromq_tests::{require_tools, FerroBroker, FerroNamesrv};

#[test]
fn java_pop_ack_batch_ack_change_and_redelivery() {
    if !require_tools("compat_pop", &["java", "mvn"]) {
        return;
    }
    let namesrv = FerroNamesrv::start();
    let broker = FerroBroker::start(namesrv.addr(), |s| {
        s.broker.revive_interval = 100;
        s.broker.pop_from_retry_probability = 0;
    });
    ferromq_tests::net::wait_until("broker registration", Duration::from_secs(30), || {
        let info = ferromq_tests::remoting::broker_cluster_info(namesrv.addr())
            .map_err(|e| e.to_string())?;
        Ok(info.body_text().contains(broker.addr()))
    })
    .expect("the broker registers with the name server");
    let topic = format!("PopJava_{}", std::process::id());
    let run = java_pop_scenario(namesrv.addr(), &topic, 8, Duration::from_secs(90));
    if !run.success() {
        eprintln!("FerroMQ broker data in {}", broker.dir().display());
    }
    run.assert_success();
    assert!(
        run.output
            .lines()
            .any(|l| l.trim_end() == "OK: pop: sent 8 popped 8 acked 4 redelivered 4"),
        "{}",
        run.output
    );
}

#[test]
fn java_push_consumer_in_pop_mode() {
    if !require_tools("compat_pop", &["java", "mvn"]) {
        return;
    }
    let namesrv = FerroNamesrv::start();
    let broker = FerroBroker::start(namesrv.addr(), |s| {
        s.broker.default_message_request_mode = "POP".into();
        s.broker.revive_interval = 100;
    });
    ferromq_tests::net::wait_until("broker registration", Duration::from_secs(30), || {
        let info = ferromq_tests::remoting::broker_cluster_info(namesrv.addr())
            .map_err(|e| e.to_string())?;
        Ok(info.body_text().contains(broker.addr()))
    })
    .expect("the broker registers with the name server");
    let topic = format!("PopPush_{}", std::process::id());
    let run = ferromq_tests::clients::java_pop_push_scenario(
        namesrv.addr(),
        &topic,
        8,
        Duration::from_secs(90),
    );
    if !run.success() {
        eprintln!("FerroMQ broker data in {}", broker.dir().display());
    }
    run.assert_success();
    assert!(
        run.output
            .lines()
            .any(|l| l.trim_end() == "OK: push: consumed 8 redelivered 1"),
        "{}",
        run.output
    );
}

/// Apache's `mqadmin setConsumeMode` (SET_MESSAGE_REQUEST_MODE with fastjson's body) against
/// FerroMQ's broker: the mode lands in `config/messageRequestMode.json`, and refusals come back
/// as Apache's tool expects.
#[test]
fn apache_mqadmin_set_consume_mode() {
    if !require_tools("compat_pop", &["java", "mvn"]) {
        return;
    }
    let namesrv = FerroNamesrv::start();
    let broker = FerroBroker::start(namesrv.addr(), |_| {});
    ferromq_tests::net::wait_until("broker registration", Duration::from_secs(30), || {
        let info = ferromq_tests::remoting::broker_cluster_info(namesrv.addr())
            .map_err(|e| e.to_string())?;
        Ok(info.body_text().contains(broker.addr()))
    })
    .expect("the broker registers with the name server");
    let admin = |args: &[&str]| ferromq_tests::mqadmin::apache_mqadmin(namesrv.addr(), args);
    let run = admin(&["updateTopic", "-b", broker.addr(), "-t", "PopMode"]);
    run.assert_success();
    let run = admin(&["updateSubGroup", "-b", broker.addr(), "-g", "PopModeGroup"]);
    run.assert_success();
    let run = admin(&[
        "setConsumeMode",
        "-b",
        broker.addr(),
        "-t",
        "PopMode",
        "-g",
        "PopModeGroup",
        "-m",
        "POP",
        "-q",
        "2",
    ]);
    run.assert_success();
    assert!(!run.output.contains("command failed"), "{}", run.output);
    let file = broker
        .dir()
        .join("store")
        .join("config")
        .join("messageRequestMode.json");
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(
        text.contains(r#""PopMode":{"PopModeGroup":{"#)
            && text.contains(r#""mode":"POP""#)
            && text.contains(r#""popShareQueueNum":2"#),
        "{}: {text}\n{}",
        file.display(),
        run.output
    );
    // A retry topic is refused (NO_PERMISSION): the tool reports the failure.
    let run = admin(&[
        "setConsumeMode",
        "-b",
        broker.addr(),
        "-t",
        "%RETRY%PopModeGroup",
        "-g",
        "PopModeGroup",
        "-m",
        "POP",
    ]);
    assert!(
        run.output
            .contains("retry topic is not allowed to set mode"),
        "{}",
        run.output
    );
}
