//! Issue 4 acceptance, first slice: the official Java client (5.3.3: producer + push consumer)
//! and Go client (v2.1.2) send and receive through FerroMQ's name server AND FerroMQ's broker:
//! topic creation, sync sends, heartbeats, rebalance, long-polling pulls, offsets.
//!
//! Needs `java` (17), `mvn` and `go` on PATH; prints `SKIPPED: ...` and passes otherwise
//! (set `FERROMQ_COMPAT_REQUIRED=1` to fail instead).

use ferromq_tests::{clients_round_trip, require_tools, FerroBroker, FerroNamesrv, COMPAT_TOOLS};

#[test]
fn official_clients_round_trip_through_ferromq_broker() {
    if !require_tools("compat_ferromq_broker", COMPAT_TOOLS) {
        return;
    }
    let namesrv = FerroNamesrv::start();
    let broker = FerroBroker::start(namesrv.addr(), |_| {});
    ferromq_tests::net::wait_until(
        "broker registration",
        std::time::Duration::from_secs(30),
        || {
            let info = ferromq_tests::remoting::broker_cluster_info(namesrv.addr())
                .map_err(|e| e.to_string())?;
            Ok(info.body_text().contains(broker.addr()))
        },
    )
    .expect("the broker registers with the name server");
    clients_round_trip(namesrv.addr(), 32, &|| {
        format!("FerroMQ broker data in {}", broker.dir().display())
    });
}
