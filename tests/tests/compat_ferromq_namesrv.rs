//! Issue acceptance: the real Apache RocketMQ broker (5.3.3, Maven Central jars) registers with
//! FerroMQ's name server, then the official Java client (producer + push consumer) and the
//! official Go client send and receive through the routes it serves.
//!
//! Needs `java` (17), `mvn` and `go` on PATH; prints `SKIPPED: ...` and passes otherwise
//! (set `FERROMQ_COMPAT_REQUIRED=1` to fail instead).

use ferromq_tests::{official_clients_round_trip, require_tools, FerroNamesrv, COMPAT_TOOLS};

#[test]
fn official_clients_round_trip_through_ferromq_namesrv() {
    if !require_tools("compat_ferromq_namesrv", COMPAT_TOOLS) {
        return;
    }
    let namesrv = FerroNamesrv::start();
    official_clients_round_trip(namesrv.addr(), 32);
}
