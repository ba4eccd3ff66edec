//! Issue acceptance: the real Apache RocketMQ broker (5.3.3, Maven Central jars) registers with
//! FerroMQ's name server, then the official Java client (producer + push consumer) and the
//! official Go client send and receive through the routes it serves.
//!
//! Needs `java` (17), `mvn` and `go` on PATH; prints `SKIPPED: ...` and passes otherwise
//! (set `FERROMQ_COMPAT_REQUIRED=1` to fail instead).

use std::sync::mpsc;

use ferromq_namesrv::NamesrvConfig;
use ferromq_tests::{official_clients_round_trip, require_tools, COMPAT_TOOLS};

/// FerroMQ's name server on a free port, on its own runtime thread; stopped on drop.
struct FerroNamesrv {
    addr: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl FerroNamesrv {
    fn start() -> FerroNamesrv {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = NamesrvConfig {
            kv_config_path: dir.path().join("kvConfig.json"),
            config_store_path: dir.path().join("namesrv.properties"),
            ..NamesrvConfig::default()
        };
        let (addr_tx, addr_rx) = mpsc::channel();
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                let _ = addr_tx.send(listener.local_addr().expect("addr").to_string());
                ferromq_namesrv::run(listener, config, async move {
                    let _ = stop_rx.await;
                })
                .await
                .expect("name server runs");
            });
        });
        let addr = addr_rx.recv().expect("name server started");
        FerroNamesrv {
            addr,
            stop: Some(stop),
            thread: Some(thread),
            _dir: dir,
        }
    }
}

impl Drop for FerroNamesrv {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn official_clients_round_trip_through_ferromq_namesrv() {
    if !require_tools("compat_ferromq_namesrv", COMPAT_TOOLS) {
        return;
    }
    let namesrv = FerroNamesrv::start();
    official_clients_round_trip(&namesrv.addr, 32);
}
