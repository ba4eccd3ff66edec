//! FerroMQ name server: the RocketMQ route registry.
//!
//! Brokers register their topics here every 30 s; producers and consumers ask for a topic's
//! route; operators list clusters and topics. Name servers never talk to each other: each broker
//! registers with every one of them (docs/protocol.md, "Name server behaviour").
//!
//! - [`config`]: Apache's `NamesrvConfig` keys, from a properties file, with the runtime-safe
//!   subset that UPDATE_NAMESRV_CONFIG may change;
//! - [`route`]: the registry of brokers, clusters and topic queues, with expiry;
//! - [`kv`]: the persisted KV config (`ORDER_TOPIC_CONFIG` and friends);
//! - [`processor`]: one handler per request code;
//! - [`allow`]: `writeAllowList`, who may change the name server;
//! - [`bind`], [`run`]: bind the configured listener, serve it until shutdown (what `mqnamesrv`
//!   and the tests call).

#![warn(missing_docs)]

pub mod allow;
pub mod config;
pub mod kv;
pub mod processor;
pub mod route;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use ferromq_remoting::{AllowedOrigins, ConnectionConfig, ServerTls};
use tokio::net::TcpListener;

use config::MetricsExporterType;
pub use config::NamesrvConfig;
pub use processor::NameServer;

/// Binds the TCP listener, `bindAddress:listenPort`, after checking the TLS settings (so that
/// `mqnamesrv` reports an unusable one before it reports success).
pub async fn bind(config: &NamesrvConfig) -> std::io::Result<TcpListener> {
    server_tls(config)?;
    allow::WriteAllowList::parse(&config.write_allow_list).map_err(std::io::Error::other)?;
    let (host, port) = (config.bind_address.trim(), config.listen_port);
    TcpListener::bind((host, port))
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {host}:{port}: {e}")))
}

/// Binds the WebSocket listener, `webSocketBindAddress` (else `bindAddress`) :
/// `webSocketListenPort`; `None` when the port is 0 (off).
pub async fn bind_web_socket(config: &NamesrvConfig) -> std::io::Result<Option<TcpListener>> {
    let host = config.web_socket_bind_address().trim();
    match config.web_socket_listen_port {
        0 => Ok(None),
        port => TcpListener::bind((host, port))
            .await
            .map(Some)
            .map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!("cannot listen on {host}:{port} (WebSocket): {e}"),
                )
            }),
    }
}

/// Binds the Prometheus listener when `metricsExporterType=PROM`:
/// `metricsPromExporterHost` (else `bindAddress`) : `metricsPromExporterPort`.
pub async fn bind_metrics(config: &NamesrvConfig) -> std::io::Result<Option<TcpListener>> {
    match config.metrics_exporter_type {
        MetricsExporterType::Prom => {}
        MetricsExporterType::Disable => return Ok(None),
        other => {
            tracing::warn!(
                metricsExporterType = ?other,
                "metrics exporter not supported by FerroMQ (PROM is); no metrics exported"
            );
            return Ok(None);
        }
    }
    let host = match config.metrics_prom_exporter_host.trim() {
        "" => config.bind_address.trim(),
        host => host,
    };
    let port = config.metrics_prom_exporter_port;
    TcpListener::bind((host, port))
        .await
        .map(Some)
        .map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("cannot listen on {host}:{port} (metricsPromExporterHost, metricsPromExporterPort): {e}"),
            )
        })
}

/// The TLS of the name server's port (`tls.server.*`); `None` serves plaintext only.
fn server_tls(config: &NamesrvConfig) -> std::io::Result<Option<Arc<ServerTls>>> {
    config
        .tls_keys()
        .and_then(|k| k.server())
        .and_then(ServerTls::new)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("TLS: {e}")))
}

/// The connection settings of the name server's listeners.
fn connection_config(config: &NamesrvConfig) -> ConnectionConfig {
    let idle = Duration::from_secs(config.server_channel_max_idle_time_seconds.max(1));
    let high = match config.write_buffer_high_water_mark {
        0 => ferromq_remoting::DEFAULT_WRITE_HIGH_WATER_MARK,
        n => n,
    };
    let low = match config.write_buffer_low_water_mark {
        0 => ferromq_remoting::DEFAULT_WRITE_LOW_WATER_MARK,
        n => n,
    };
    ConnectionConfig {
        max_frame_len: config.frame_max_length as usize,
        idle_timeout: idle,
        frame_timeout: idle,
        max_in_flight: usize::try_from(config.client_request_thread_pool_queue_capacity)
            .unwrap_or(1)
            .max(1),
        write_high_water_mark: high,
        write_low_water_mark: low.min(high),
        max_connections: config.server_max_connections,
        ..ConnectionConfig::default()
    }
}

/// Serves the name server on `listener` until `shutdown` completes.
///
/// Loads the KV config from `config.kv_config_path` (created on first write), scans for expired
/// brokers every `scanNotActiveBrokerInterval` ms, and closes every connection on shutdown. The
/// WebSocket listener, if `webSocketListenPort` is set, is bound here ([`bind_web_socket`]).
/// The TCP and WebSocket ports serve TLS as the `tls.*` keys say (docs/tls.md); a TLS setting
/// that cannot be used stops start-up.
pub async fn run(
    listener: TcpListener,
    config: NamesrvConfig,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let allow =
        allow::WriteAllowList::parse(&config.write_allow_list).map_err(std::io::Error::other)?;
    if allow.is_on() {
        tracing::info!(rules = %config.write_allow_list, "writeAllowList: only these addresses may change the name server");
    }
    let kv = kv::KvStore::load(&config.kv_config_path)?;
    let connection = connection_config(&config);
    let tls = server_tls(&config)?;
    match &tls {
        Some(t) => tracing::info!(mode = t.mode().name(), "name server port serves TLS"),
        None => tracing::info!("name server port serves plaintext only (no TLS certificate)"),
    }
    let origins = AllowedOrigins::parse(&config.web_socket_allowed_origins);
    let websocket_listener = bind_web_socket(&config).await?;
    let metrics_listener = bind_metrics(&config).await?;
    let node = listener
        .local_addr()
        .map_or_else(|_| config.listen_port.to_string(), |a| a.to_string());
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
    let websocket = websocket_listener.map(|ws| {
        let mut stopped = stopped.clone();
        tokio::spawn(ferromq_remoting::serve_websocket_tls(
            ws,
            server.clone(),
            connection.clone(),
            origins,
            tls.clone(),
            async move {
                let _ = stopped.wait_for(|s| *s).await;
            },
        ))
    });
    let metrics = metrics_listener.map(|metrics| {
        server.rpc.enable();
        let mut stopped = stopped.clone();
        let render: ferromq_remoting::prometheus::Render = {
            let server = server.clone();
            Arc::new(move || server.render_metrics(&node))
        };
        ferromq_remoting::prometheus::spawn(metrics, render, async move {
            let _ = stopped.wait_for(|s| *s).await;
        })
    });
    let result = ferromq_remoting::serve_tls(listener, server, connection, tls, shutdown).await;
    let _ = stop.send(true);
    if let Some(ws) = websocket {
        let _ = ws.await;
    }
    if let Some(metrics) = metrics {
        let _ = metrics.await;
    }
    scanner.abort();
    result
}
