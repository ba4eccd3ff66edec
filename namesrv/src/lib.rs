//! FerroMQ name server: the RocketMQ route registry.
//!
//! Brokers register their topics here every 30 s; producers and consumers ask for a topic's
//! route; operators list clusters and topics. Name servers never talk to each other: each broker
//! registers with every one of them (protocol.md section 8).
//!
//! - [`config`]: Apache's `NamesrvConfig` keys, from a properties file, with the runtime-safe
//!   subset that UPDATE_NAMESRV_CONFIG may change;
//! - [`route`]: the registry of brokers, clusters and topic queues, with expiry;
//! - [`kv`]: the persisted KV config (`ORDER_TOPIC_CONFIG` and friends);
//! - [`processor`]: one handler per request code;
//! - [`run`]: serve a listener until shutdown (what `mqnamesrv` and the tests call).

pub mod config;
pub mod kv;
pub mod processor;
pub mod route;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use ferromq_remoting::ConnectionConfig;
use tokio::net::TcpListener;

pub use config::NamesrvConfig;
pub use processor::NameServer;

/// Serves the name server on `listener` until `shutdown` completes.
///
/// Loads the KV config from `config.kv_config_path` (created on first write), scans for expired
/// brokers every `scanNotActiveBrokerInterval` ms, and closes every connection on shutdown.
pub async fn run(
    listener: TcpListener,
    config: NamesrvConfig,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let kv = kv::KvStore::load(&config.kv_config_path)?;
    let connection = ConnectionConfig {
        max_frame_len: config.frame_max_length as usize,
        idle_timeout: Duration::from_secs(config.server_channel_max_idle_time_seconds.max(1)),
        max_in_flight: usize::try_from(config.client_request_thread_pool_queue_capacity)
            .unwrap_or(1)
            .max(1),
        ..ConnectionConfig::default()
    };
    let server = Arc::new(NameServer::new(config, kv));
    let scanner = tokio::spawn({
        let server = server.clone();
        async move {
            loop {
                let every = server.config().scan_not_active_broker_interval.max(100);
                tokio::time::sleep(Duration::from_millis(every)).await;
                server.scan_not_active_brokers();
            }
        }
    });
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let websocket = match server.config().web_socket_listen_port {
        0 => None,
        port => {
            let addr = format!("{}:{port}", server.config().bind_address);
            let ws = TcpListener::bind(&addr).await.map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!("cannot listen on {addr} (WebSocket): {e}"),
                )
            })?;
            let mut stopped = stopped.clone();
            Some(tokio::spawn(ferromq_remoting::serve_websocket(
                ws,
                server.clone(),
                connection.clone(),
                ferromq_remoting::AllowedOrigins::default(),
                async move {
                    let _ = stopped.wait_for(|s| *s).await;
                },
            )))
        }
    };
    let result = ferromq_remoting::serve(listener, server, connection, shutdown).await;
    let _ = stop.send(true);
    if let Some(ws) = websocket {
        let _ = ws.await;
    }
    scanner.abort();
    result
}
