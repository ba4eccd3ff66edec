//! FerroMQ's own servers, in-process on their own runtime threads, on free ports; stopped (and
//! their threads joined) on drop.

use std::sync::mpsc;
use std::thread::JoinHandle;

use ferromq_broker::Settings;
use ferromq_namesrv::NamesrvConfig;
use tokio::sync::oneshot;

/// Sends the in-process servers' logs to stderr when `FERROMQ_TEST_LOG` is set (an `EnvFilter`
/// directive such as `info` or `ferromq_remoting=debug`); the test harness shows them for failed
/// tests. Off by default.
fn init_test_logging() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if let Ok(filter) = std::env::var("FERROMQ_TEST_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
                .with_test_writer()
                .try_init();
        }
    });
}

/// A server running on its own tokio runtime thread.
#[derive(Debug)]
struct Running {
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// FerroMQ's name server.
#[derive(Debug)]
pub struct FerroNamesrv {
    addr: String,
    _running: Running,
    _dir: tempfile::TempDir,
}

impl FerroNamesrv {
    /// Starts a name server on a free loopback port with its KV file in a temp dir.
    pub fn start() -> FerroNamesrv {
        FerroNamesrv::start_with(|_| {})
    }

    /// [`Self::start`] with the settings adjusted by `tweak` first.
    pub fn start_with(tweak: impl FnOnce(&mut NamesrvConfig)) -> FerroNamesrv {
        init_test_logging();
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = NamesrvConfig {
            kv_config_path: dir.path().join("kvConfig.json"),
            config_store_path: dir.path().join("namesrv.properties"),
            ..NamesrvConfig::default()
        };
        tweak(&mut config);
        let (addr_tx, addr_rx) = mpsc::channel();
        let (stop, stop_rx) = oneshot::channel::<()>();
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
            _running: Running {
                stop: Some(stop),
                thread: Some(thread),
            },
            _dir: dir,
        }
    }

    /// `127.0.0.1:port`.
    pub fn addr(&self) -> &str {
        &self.addr
    }
}

/// FerroMQ's broker.
#[derive(Debug)]
pub struct FerroBroker {
    addr: String,
    _running: Running,
    data: BrokerData,
}

/// What survives a broker's stop: its data directory (deleted when this is dropped) and its
/// settings (the same port, the same store).
#[derive(Debug)]
struct BrokerData {
    dir: tempfile::TempDir,
    settings: Settings,
}

/// A broker that [`FerroBroker::stop`] stopped cleanly; [`StoppedBroker::start`] runs it again
/// on the same port with the same data directory. Dropping it deletes the directory.
#[derive(Debug)]
pub struct StoppedBroker {
    data: BrokerData,
}

impl FerroBroker {
    /// Starts a broker registered with `namesrv` on a free loopback port, its store in a temp
    /// dir; `tweak` adjusts the settings (store sizes, flush type, ...).
    pub fn start(namesrv: &str, tweak: impl FnOnce(&mut Settings)) -> FerroBroker {
        init_test_logging();
        let dir = tempfile::tempdir().expect("temp dir");
        let port = crate::net::free_broker_port();
        let mut settings = Settings::default();
        settings.broker.broker_name = "ferro-broker-a".to_owned();
        settings.broker.broker_ip1 = "127.0.0.1".to_owned();
        settings.broker.broker_ip2 = "127.0.0.1".to_owned();
        settings.broker.listen_port = port;
        settings.broker.namesrv_addr = namesrv.to_owned();
        settings.store = ferromq_store::StoreConfig {
            mapped_file_size_commit_log: 64 * 1024 * 1024,
            max_hash_slot_num: 50_000,
            max_index_num: 200_000,
            ..ferromq_store::StoreConfig::with_root(dir.path().join("store"))
        };
        tweak(&mut settings);
        Self::launch(BrokerData { dir, settings })
    }

    /// Runs a broker with `data`'s settings until the returned value is dropped or stopped.
    fn launch(data: BrokerData) -> FerroBroker {
        let settings = data.settings.clone();
        let port = settings.broker.listen_port;
        let addr = settings.broker.broker_addr();
        let (ready_tx, ready_rx) = mpsc::channel();
        let (stop, stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                    .await
                    .expect("bind");
                let fast = tokio::net::TcpListener::bind(("127.0.0.1", port - 2))
                    .await
                    .ok();
                let broker = ferromq_broker::open(settings).await.expect("broker opens");
                let _ = ready_tx.send(());
                ferromq_broker::run(broker, listener, fast, async move {
                    let _ = stop_rx.await;
                })
                .await
                .expect("broker runs");
            });
        });
        ready_rx.recv().expect("broker started");
        FerroBroker {
            addr,
            _running: Running {
                stop: Some(stop),
                thread: Some(thread),
            },
            data,
        }
    }

    /// Stops the broker the way a clean shutdown does (it unregisters from the name server,
    /// persists its config tables and closes the store) and returns once it has; the data
    /// directory and the port are kept for [`StoppedBroker::start`].
    pub fn stop(self) -> StoppedBroker {
        let FerroBroker {
            addr: _,
            _running: running,
            data,
        } = self;
        drop(running);
        StoppedBroker { data }
    }

    /// `127.0.0.1:port`.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The broker's data directory.
    pub fn dir(&self) -> &std::path::Path {
        self.data.dir.path()
    }
}

impl StoppedBroker {
    /// Starts the broker again: the same settings, port and data directory.
    pub fn start(self) -> FerroBroker {
        FerroBroker::launch(self.data)
    }

    /// The broker's data directory.
    pub fn dir(&self) -> &std::path::Path {
        self.data.dir.path()
    }
}
