//! The broker's listeners and its life: bind the configured ports, serve the remoting protocol
//! (TCP and WebSocket) with the background services running, then shut down in order.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use ferromq_remoting::{AllowedOrigins, ConnectionConfig, ServerTls, TlsConnector};
use tokio::net::TcpListener;

use crate::config::{BrokerConfig, MetricsExporterType};
use crate::dispatch::BrokerHandler;
use crate::services::{register, Services};
use crate::state::Broker;
use crate::BrokerError;
use ferromq_common::settings::SettingValue;

/// Binds the broker's listeners as configured: `bindAddress:listenPort`, and the fast port
/// `bindAddress:listenPort - 2` (`None` when that one cannot be bound; clients fall back to the
/// main port). The TLS settings are checked first, so that `mqbroker` reports an unusable one
/// before it reports success.
pub async fn bind(b: &BrokerConfig) -> Result<(TcpListener, Option<TcpListener>), BrokerError> {
    server_tls(b)?;
    outbound_config(b).map_err(BrokerError::Config)?;
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

/// The TLS of the broker's remoting ports (`tls.server.*`); `None` serves plaintext only.
fn server_tls(b: &BrokerConfig) -> Result<Option<Arc<ServerTls>>, BrokerError> {
    let tls = b
        .tls_keys()
        .and_then(|k| k.server())
        .and_then(ServerTls::new)
        .map_err(|e| BrokerError::Config(format!("TLS: {e}")))?;
    Ok(tls)
}

/// The settings of connections the broker dials (name servers, its master's remoting port):
/// TLS when `tls.enable=true` (`tls.client.*`).
pub(crate) fn outbound_config(b: &BrokerConfig) -> Result<ConnectionConfig, String> {
    let tls = b
        .tls_keys()
        .and_then(|k| k.client())
        .and_then(|c| c.as_ref().map(TlsConnector::new).transpose())
        .map_err(|e| format!("TLS: {e}"))?;
    Ok(ConnectionConfig {
        tls,
        ..ConnectionConfig::default()
    })
}

/// Serves the broker on `listener` (and on `fast_listener`, Apache's `listenPort - 2`) until
/// `shutdown` completes; then unregisters from the name servers and closes the store cleanly.
///
/// The WebSocket listener, if `webSocketListenPort` is set, is bound here ([`bind_web_socket`]).
/// The remoting and WebSocket ports serve TLS as the `tls.*` keys say (docs/tls.md); a TLS
/// setting that cannot be used stops start-up.
pub async fn run(
    broker: Arc<Broker>,
    listener: TcpListener,
    fast_listener: Option<TcpListener>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), BrokerError> {
    let settings = broker.settings();
    let b = &settings.broker;
    let connection = connection_config(b);
    let tls = server_tls(b)?;
    match &tls {
        Some(t) => tracing::info!(mode = t.mode().name(), "remoting ports serve TLS"),
        None => tracing::info!("remoting ports serve plaintext only (no TLS certificate)"),
    }
    outbound_config(b).map_err(BrokerError::Config)?;
    let origins = AllowedOrigins::parse(&b.web_socket_allowed_origins);
    let websocket = bind_web_socket(b).await?;
    let handler = Arc::new(BrokerHandler(broker.clone()));
    let ha_listener = if b.broker_role.is_master() || b.enable_controller_mode {
        crate::services::ha::master::bind(b).await?
    } else {
        None
    };
    let metrics_listener = match b.metrics_exporter_type {
        MetricsExporterType::Prom => Some(crate::services::metrics::bind(b).await?),
        MetricsExporterType::Disable => None,
        other => {
            tracing::warn!(
                exporter = ?other,
                "metricsExporterType {} is not supported by FerroMQ (PROM is); no metrics exported",
                other.render_setting()
            );
            None
        }
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let services = Services::start(&broker, &stop_rx, ha_listener, metrics_listener);
    let serve_one = |l: TcpListener| {
        let (h, c, mut rx) = (handler.clone(), connection.clone(), stop_rx.clone());
        let tls = tls.clone();
        tokio::spawn(async move {
            let _ = ferromq_remoting::serve_tls(l, h, c, tls, async move {
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
        let tls = tls.clone();
        servers.push(tokio::spawn(async move {
            let _ = ferromq_remoting::serve_websocket_tls(ws, h, c, origins, tls, async move {
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
    services.join().await;
    register::unregister_all(&broker).await;
    broker.persist_all();
    let store = broker.store.clone();
    tokio::task::spawn_blocking(move || store.shutdown())
        .await
        .map_err(|e| BrokerError::Config(format!("store shutdown panicked: {e}")))??;
    Ok(())
}
