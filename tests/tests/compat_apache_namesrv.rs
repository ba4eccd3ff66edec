//! The official-client acceptance scenario against the real Apache name server
//! (`NamesrvStartup` 5.3.3), proving the harness today. Swapping in FerroMQ's name server is a
//! one-line change: start it instead and pass its address.
//!
//! Needs `java` (17), `mvn` and `go` on PATH; prints `SKIPPED: ...` and passes otherwise
//! (set `FERROMQ_COMPAT_REQUIRED=1` to fail instead).

use ferromq_tests::{official_clients_round_trip, require_tools, ApacheNamesrv, COMPAT_TOOLS};

#[test]
fn official_clients_round_trip_through_apache_namesrv() {
    if !require_tools("compat_apache_namesrv", COMPAT_TOOLS) {
        return;
    }
    let namesrv = ApacheNamesrv::start();
    official_clients_round_trip(namesrv.addr(), 32);
}
