//! FerroMQ broker: the RocketMQ remoting server on top of [`ferromq_store`].
//!
//! - [`config`]: Apache's broker keys; one properties file configures broker and store;
//! - `broker`: shared state and request dispatch; `send`, `pull` (long polling), `clients`
//!   (producer and consumer groups from heartbeats), `register` (name servers);
//! - [`bind`], [`run`]: bind the configured listeners, serve until shutdown (what `mqbroker` and
//!   the tests call).

#![warn(missing_docs)]

pub mod clients;
pub mod config;

mod admin;
mod broker;
mod limits;
mod records;

mod locks;
mod pull;
mod register;
mod retry;
mod schedule;
mod send;
mod timer;
mod transaction;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use ferromq_remoting::{AllowedOrigins, ConnectionConfig};
use ferromq_store::configs::{
    system_groups, system_topics, ConsumerOffsetTable, SubscriptionGroupTable, TopicConfigTable,
};
use ferromq_store::dispatch::ArrivalListener;
use ferromq_store::MessageStore;
use tokio::net::TcpListener;

pub use broker::{Broker, BrokerHandler};
pub use config::{BrokerConfig, Settings};

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Why the broker could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// The store could not open or close.
    #[error(transparent)]
    Store(#[from] ferromq_store::StoreError),
    /// A socket or file error.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The configuration cannot work.
    #[error("invalid configuration: {0}")]
    Config(String),
}

/// Opens the store and config files of `settings` and builds the broker (no sockets yet).
pub async fn open(settings: Settings) -> Result<Arc<Broker>, BrokerError> {
    let store_host: SocketAddr = settings.broker.broker_addr().parse().map_err(|_| {
        BrokerError::Config(format!(
            "brokerIP1 `{}` is not an IP address",
            settings.broker.broker_ip1
        ))
    })?;
    let cell: Arc<OnceLock<Weak<Broker>>> = Arc::new(OnceLock::new());
    let listener_cell = cell.clone();
    let listener: ArrivalListener = Arc::new(move |req| {
        if let Some(b) = listener_cell.get().and_then(Weak::upgrade) {
            b.message_arrived(&req.topic, req.queue_id);
        }
    });
    let store_config = settings.store.clone();
    let store = tokio::task::spawn_blocking(move || {
        MessageStore::open_with_listener(store_config, Some(listener))
    })
    .await
    .map_err(|e| BrokerError::Config(format!("store open panicked: {e}")))??;
    let dir = settings.store.config_dir();
    let topics = TopicConfigTable::load(dir.join("topics.json"))?;
    let b = &settings.broker;
    topics.add_missing(system_topics(
        &b.broker_cluster_name,
        &b.broker_name,
        b.auto_create_topic_enable,
        b.default_topic_queue_nums,
    ));
    let groups = SubscriptionGroupTable::load(dir.join("subscriptionGroup.json"))?;
    groups.add_missing(system_groups());
    let offsets = ConsumerOffsetTable::load(dir.join("consumerOffset.json"))?;
    let delay_offsets =
        ferromq_store::configs::DelayOffsetTable::load(dir.join("delayOffset.json"))?;
    let delay_levels = settings.store.delay_levels();
    let broker = Arc::new(Broker {
        store,
        topics: Arc::new(topics),
        groups: Arc::new(groups),
        offsets,
        delay_offsets,
        delay_levels,
        clients: Default::default(),
        locks: Default::default(),
        transactions: Default::default(),
        store_host,
        arrivals: Default::default(),
        topics_changed: Default::default(),
        started: std::time::Instant::now(),
        stats: Default::default(),
        topic_creations: Default::default(),
        group_creations: Default::default(),
        settings: std::sync::RwLock::new(Arc::new(settings)),
    });
    let _ = cell.set(Arc::downgrade(&broker));
    broker.persist_all();
    Ok(broker)
}

impl Broker {
    /// Persists every config table that changed.
    pub fn persist_all(&self) {
        for (name, result) in [
            ("topics.json", self.topics.persist().map(|_| ())),
            ("subscriptionGroup.json", self.groups.persist().map(|_| ())),
            ("consumerOffset.json", self.offsets.persist().map(|_| ())),
            ("delayOffset.json", self.delay_offsets.persist().map(|_| ())),
        ] {
            if let Err(e) = result {
                tracing::error!(file = name, error = %e, "cannot persist");
            }
        }
    }
}

/// Binds the broker's listeners as configured: `bindAddress:listenPort`, and the fast port
/// `bindAddress:listenPort - 2` (`None` when that one cannot be bound; clients fall back to the
/// main port).
pub async fn bind(b: &BrokerConfig) -> Result<(TcpListener, Option<TcpListener>), BrokerError> {
    let host = b.bind_address.trim();
    let port = b.listen_port;
    let listener = TcpListener::bind((host, port)).await.map_err(|e| {
        BrokerError::Config(format!(
            "cannot listen on {host}:{port} (bindAddress, listenPort): {e}"
        ))
    })?;
    let fast = match port.checked_sub(2) {
        Some(p) if port != 0 => match TcpListener::bind((host, p)).await {
            Ok(l) => Some(l),
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen on the fast port {host}:{p}");
                None
            }
        },
        _ => None,
    };
    Ok((listener, fast))
}

/// Binds the WebSocket listener, `webSocketBindAddress` (else `bindAddress`) :
/// `webSocketListenPort`; `None` when the port is 0 (off).
pub async fn bind_web_socket(b: &BrokerConfig) -> Result<Option<TcpListener>, BrokerError> {
    let host = b.web_socket_bind_address().trim();
    match b.web_socket_listen_port {
        0 => Ok(None),
        port => TcpListener::bind((host, port))
            .await
            .map(Some)
            .map_err(|e| {
                BrokerError::Config(format!(
                "cannot listen on {host}:{port} (webSocketBindAddress, webSocketListenPort): {e}"
            ))
            }),
    }
}

/// The connection settings of the broker's listeners.
fn connection_config(b: &BrokerConfig) -> ConnectionConfig {
    let idle = Duration::from_secs(b.server_channel_max_idle_time_seconds.max(1));
    let high = match b.write_buffer_high_water_mark {
        0 => ferromq_remoting::DEFAULT_WRITE_HIGH_WATER_MARK,
        n => n,
    };
    let low = match b.write_buffer_low_water_mark {
        0 => ferromq_remoting::DEFAULT_WRITE_LOW_WATER_MARK,
        n => n,
    };
    ConnectionConfig {
        idle_timeout: idle,
        frame_timeout: idle,
        max_in_flight: usize::try_from(b.send_thread_pool_queue_capacity)
            .unwrap_or(1)
            .max(1),
        write_high_water_mark: high,
        write_low_water_mark: low.min(high),
        max_connections: b.server_max_connections,
        ..ConnectionConfig::default()
    }
}

/// Serves the broker on `listener` (and on `fast_listener`, Apache's `listenPort - 2`) until
/// `shutdown` completes; then unregisters from the name servers and closes the store cleanly.
///
/// The WebSocket listener, if `webSocketListenPort` is set, is bound here ([`bind_web_socket`]).
pub async fn run(
    broker: Arc<Broker>,
    listener: TcpListener,
    fast_listener: Option<TcpListener>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), BrokerError> {
    let settings = broker.settings();
    let b = &settings.broker;
    let connection = connection_config(b);
    let origins = AllowedOrigins::parse(&b.web_socket_allowed_origins);
    let websocket = bind_web_socket(b).await?;
    let handler = Arc::new(BrokerHandler(broker.clone()));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut tasks = vec![
        tokio::spawn(register::registration_loop(broker.clone(), stop_rx.clone())),
        tokio::spawn(housekeeping(broker.clone(), stop_rx.clone())),
    ];
    if b.broker_id == 0 {
        tasks.extend(schedule::start(&broker, &stop_rx));
        tasks.push(timer::start(&broker, &stop_rx));
        tasks.push(tokio::spawn(transaction::checker(
            broker.clone(),
            stop_rx.clone(),
        )));
    }
    let serve_one = |l: TcpListener| {
        let (h, c, mut rx) = (handler.clone(), connection.clone(), stop_rx.clone());
        tokio::spawn(async move {
            let _ = ferromq_remoting::serve(l, h, c, async move {
                let _ = rx.wait_for(|s| *s).await;
            })
            .await;
        })
    };
    let mut servers = vec![serve_one(listener)];
    if let Some(fast) = fast_listener {
        servers.push(serve_one(fast));
    }
    if let Some(ws) = websocket {
        let (h, c, mut rx) = (handler.clone(), connection.clone(), stop_rx.clone());
        servers.push(tokio::spawn(async move {
            let _ = ferromq_remoting::serve_websocket(ws, h, c, origins, async move {
                let _ = rx.wait_for(|s| *s).await;
            })
            .await;
        }));
    }
    shutdown.await;
    tracing::info!("broker shutting down");
    let _ = stop_tx.send(true);
    for s in servers {
        let _ = s.await;
    }
    for t in tasks {
        let _ = t.await;
    }
    register::unregister_all(&broker).await;
    broker.persist_all();
    let store = broker.store.clone();
    tokio::task::spawn_blocking(move || store.shutdown())
        .await
        .map_err(|e| BrokerError::Config(format!("store shutdown panicked: {e}")))??;
    Ok(())
}

async fn housekeeping(broker: Arc<Broker>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let every = Duration::from_millis(
        broker
            .settings()
            .broker
            .flush_consumer_offset_interval
            .max(100),
    );
    let expiry = Duration::from_millis(broker.settings().broker.channel_expired_timeout);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let b = broker.clone();
        let _ = tokio::task::spawn_blocking(move || b.persist_all()).await;
        for conn in broker.clients.expired(expiry) {
            tracing::info!(peer = %conn.peer_addr(), "client expired: no heartbeat");
            conn.close();
        }
    }
}
