//! The acceptance scenario for a name server: official clients work through its routes.

use std::time::{Duration, Instant};

use crate::apache::{ApacheBroker, BrokerOptions};
use crate::clients::{go_produce_consume, java_produce_consume};

/// Tools the scenario needs on `PATH` (pass to [`crate::require_tools`]).
pub const COMPAT_TOOLS: &[&str] = &["java", "mvn", "go"];

/// How long the broker may take to show up in the name server after its port opened.
pub const REGISTRATION_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs the official-client scenario against the name server at `namesrv_addr`
/// (`"127.0.0.1:port"`):
///
/// 1. a real Apache RocketMQ 5.3.3 broker starts and registers with the name server (checked
///    with `GET_BROKER_CLUSTER_INFO` and the `TBW102` route);
/// 2. the Java client (5.3.3) creates a topic, sends `messages` messages and a push consumer
///    receives all of them with bodies, keys, tags and user properties intact;
/// 3. the Go client (v2.1.2) does the same on another topic (its send needs the route).
///
/// Panics with the failing program's output and the broker's log tail on any failure. The
/// broker is stopped before returning (or unwinding).
pub fn official_clients_round_trip(namesrv_addr: &str, messages: usize) {
    let start = Instant::now();
    let mut broker = ApacheBroker::start(namesrv_addr, BrokerOptions::default());
    broker.wait_registered(namesrv_addr, REGISTRATION_TIMEOUT);
    eprintln!(
        "broker {} registered with {namesrv_addr} after {:.1?}",
        broker.addr(),
        start.elapsed()
    );

    clients_round_trip(namesrv_addr, messages, &|| broker.log_tail());
}

/// Steps 2 and 3 of [`official_clients_round_trip`] against whatever broker serves
/// `namesrv_addr`'s routes; `broker_log` gives context when a client fails.
pub fn clients_round_trip(namesrv_addr: &str, messages: usize, broker_log: &dyn Fn() -> String) {
    let start = Instant::now();
    let suffix = format!("{}_{}", std::process::id(), start.elapsed().as_nanos());
    for run in [
        java_produce_consume(namesrv_addr, &format!("CompatJava_{suffix}"), messages),
        go_produce_consume(namesrv_addr, &format!("CompatGo_{suffix}"), messages),
    ] {
        if !run.success() {
            eprintln!("{}", broker_log());
        }
        run.assert_success();
        let ok_line = format!("OK: received all {messages} messages intact");
        assert!(
            run.output.contains(&ok_line),
            "{}: no '{ok_line}' in output:\n{}",
            run.name,
            run.output
        );
        eprintln!("{}: ok in {:.1?}", run.name, run.elapsed);
    }
}
