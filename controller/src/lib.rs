//! FerroMQ controller: RocketMQ 5.x controller mode (RIP-44) on openraft.
//!
//! A quorum of controllers (3 usually) keeps, per broker set, its replicas and their broker ids,
//! the master and its epoch, and the sync state set and its epoch. Brokers in controller mode
//! ask the leader for ids, register, report their sync state set and heartbeat; when a master
//! stops heartbeating the leader elects a replica of the sync state set. State changes are Raft
//! log entries (openraft), so they survive the loss of any minority of controllers.
//!
//! - [`config`]: Apache's `ControllerConfig` / `JraftConfig` keys and the quorum they name;
//! - [`state`]: the replicated state and the events that change it (the Raft log payload);
//! - [`manager`]: what each request decides (Apache's `ReplicasInfoManager`);
//! - [`elect`]: who becomes master (Apache's `DefaultElectPolicy`);
//! - [`heartbeat`]: broker liveness, in memory on each controller;
//! - [`raft`]: openraft's types, the durable log, the snapshotting state machine, the network;
//! - [`node`]: one running controller; [`service`]: its request codes;
//! - [`bind`], [`run`]: listen on this controller's port and serve it until shutdown (what
//!   `mqcontroller` and the tests call).
//!
//! docs/controller.md has the operator's view.

#![warn(missing_docs)]

pub mod config;
pub mod elect;
pub mod heartbeat;
pub mod manager;
pub mod node;
mod notify;
pub mod raft;
pub mod service;
pub mod state;

use std::future::Future;
use std::sync::Arc;

use ferromq_remoting::ConnectionConfig;
use tokio::net::TcpListener;

pub use config::ControllerConfig;
pub use node::{Controller, StartError};

/// Binds this controller's port: `bindAddress` and the port of its own peer address.
pub async fn bind(config: &ControllerConfig) -> std::io::Result<TcpListener> {
    let peers = config
        .peers()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let addr = &peers.me().addr;
    let port = addr
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse::<u16>().ok())
        .unwrap_or_default();
    let host = config.bind_address.trim();
    TcpListener::bind((host, port)).await.map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("cannot listen on {host}:{port} (peer {addr}): {e}"),
        )
    })
}

/// Serves `listener` for `controller` until `shutdown` completes, then stops the controller.
/// The port serves TLS as the `tls.server.*` keys say (docs/tls.md); an unusable TLS setting
/// stops the controller before the port serves.
pub async fn run(
    listener: TcpListener,
    controller: Arc<Controller>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let config = controller.config();
    let conn_config = ConnectionConfig {
        max_in_flight: usize::try_from(config.controller_request_thread_pool_queue_capacity)
            .unwrap_or(1)
            .max(1),
        ..ConnectionConfig::default()
    };
    let tls = match config.server_tls() {
        Ok(t) => t,
        Err(e) => {
            controller.shutdown().await;
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, e));
        }
    };
    match &tls {
        Some(t) => tracing::info!(mode = t.mode().name(), "controller port serves TLS"),
        None => tracing::info!("controller port serves plaintext only (no TLS certificate)"),
    }
    let served =
        ferromq_remoting::serve_tls(listener, controller.clone(), conn_config, tls, shutdown).await;
    controller.shutdown().await;
    served
}
