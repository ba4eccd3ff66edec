//! The broker's Prometheus endpoint (`metricsExporterType=PROM`): `GET /metrics` on
//! `metricsPromExporterHost`:`metricsPromExporterPort` answers [`crate::metrics::render`]
//! (the HTTP side is `ferromq_remoting::prometheus`).

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::BrokerConfig;
use crate::state::Broker;
use crate::BrokerError;

/// Binds the metrics listener (`metricsPromExporterHost`, else `brokerIP1`).
pub(crate) async fn bind(b: &BrokerConfig) -> Result<TcpListener, BrokerError> {
    let host = match b.metrics_prom_exporter_host.trim() {
        "" => b.broker_ip1.trim(),
        host => host,
    };
    let port = b.metrics_prom_exporter_port;
    TcpListener::bind((host, port)).await.map_err(|e| {
        BrokerError::Config(format!(
            "cannot listen on {host}:{port} (metricsPromExporterHost, metricsPromExporterPort): {e}"
        ))
    })
}

/// Serves scrapes until `stop`.
pub(crate) fn start(
    broker: &Arc<Broker>,
    listener: TcpListener,
    stop: &watch::Receiver<bool>,
) -> JoinHandle<()> {
    let (broker, mut stop) = (broker.clone(), stop.clone());
    let render: ferromq_remoting::prometheus::Render =
        Arc::new(move || crate::metrics::render(&broker));
    ferromq_remoting::prometheus::spawn(listener, render, async move {
        let _ = stop.wait_for(|s| *s).await;
    })
}
