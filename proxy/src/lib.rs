//! FerroMQ's gRPC proxy: Apache RocketMQ 5.x's `apache.rocketmq.v2.MessagingService` served over
//! HTTP/2 (tonic) and carried out over remoting against FerroMQ (or Apache) name servers and
//! brokers. Apache's two modes share this one code path (docs/grpc.md):
//! - cluster mode: the standalone `mqproxy` binary reads `rmq-proxy.json`;
//! - local mode: the broker starts [`serve`] in its own process when its config sets
//!   `grpcServerPort`, pointed at its own name servers.
//!
//! Layout:
//! - [`pb`]: the code generated at build time from Apache's published `.proto` files;
//! - [`config`]: `rmq-proxy.json` keys and the [`Mode`];
//! - [`backend`]: routes, topic types and requests to brokers over remoting;
//! - [`sessions`]: clients (settings, Telemetry streams) and open transactions, and the handler
//!   of the broker's transaction checks;
//! - [`relay`]: gRPC consumers heartbeated to the brokers, and the operator requests the
//!   brokers relay to them (running info, consume directly) over Telemetry;
//! - [`renew`]: invisible times of `auto_renew` receives kept up until the ack;
//! - [`convert`], [`receipt`], [`status`]: messages, receipt handles and answers;
//! - [`auth`]: credentials and resources of each call, and the [`auth::Guard`] that decides;
//! - `service`, `produce`, `consume`, `offsets`, `pull`, `recall`: the RPCs.

pub mod auth;
pub mod backend;
pub mod config;
mod consume;
pub mod convert;
mod offsets;
mod produce;
mod pull;
mod recall;
pub mod receipt;
pub mod relay;
pub mod renew;
mod service;
pub mod sessions;
pub mod status;
pub mod tls;

use std::net::SocketAddr;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Weak};
use std::time::Duration;

pub use config::{Mode, ProxyConfig};
use tokio::net::TcpListener;

/// Code generated from `apache/rocketmq/v2/*.proto` (see build.rs). The protos' comments
/// become its docs as they are, brackets and bare URLs included.
#[allow(
    rustdoc::broken_intra_doc_links,
    rustdoc::invalid_html_tags,
    rustdoc::bare_urls,
    missing_docs,
    unreachable_pub,
    clippy::all,
    missing_debug_implementations,
    rust_2018_idioms
)]
pub mod pb {
    tonic::include_proto!("apache.rocketmq.v2");
}

/// Largest gRPC message the server decodes (a send of a 4 MiB body plus properties fits).
const MAX_DECODING_MESSAGE_SIZE: usize = 16 * 1024 * 1024;

/// Milliseconds since the epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The proxy's shared state.
#[derive(Debug)]
pub struct Proxy {
    config: ProxyConfig,
    mode: Mode,
    backend: backend::Backend,
    sessions: Arc<sessions::Sessions>,
    renewals: renew::Renewals,
    client_id: String,
    round_robin: AtomicUsize,
    guard: Option<Arc<dyn auth::Guard>>,
    me: Weak<Proxy>,
}

/// How the proxy deals with ACL (docs/grpc.md, "ACL"): who checks the gRPC calls, and what the
/// proxy signs its own remoting requests with.
#[derive(Debug, Default, Clone)]
pub struct Security {
    /// Checks every call before it runs; `None`: calls are not checked.
    pub guard: Option<Arc<dyn auth::Guard>>,
    /// Signs the proxy's requests to name servers and brokers; `None`: unsigned.
    pub signer: Option<auth::Signer>,
}

impl Proxy {
    /// A proxy in `mode` with `config`, checking no call and signing nothing.
    pub fn new(config: ProxyConfig, mode: Mode) -> Arc<Proxy> {
        Proxy::with_security(config, mode, Security::default())
    }

    /// A proxy in `mode` with `config` and `security`.
    pub fn with_security(config: ProxyConfig, mode: Mode, security: Security) -> Arc<Proxy> {
        let sessions = Arc::new(sessions::Sessions::default());
        sessions.relay.set_timeout(Duration::from_secs(
            config.grpc_proxy_relay_request_timeout_in_seconds,
        ));
        let backend = backend::Backend::new(
            config.namesrvs(),
            Duration::from_millis(config.remoting_timeout_millis),
            Arc::new(sessions::Inbound(sessions.clone())),
            security.signer,
        );
        let client_id = format!("mqproxy@{}@{}", std::process::id(), config.grpc_server_port);
        Arc::new_cyclic(|me| Proxy {
            config,
            mode,
            backend,
            sessions,
            renewals: renew::Renewals::default(),
            client_id,
            round_robin: AtomicUsize::new(0),
            guard: security.guard,
            me: me.clone(),
        })
    }

    /// This proxy as an `Arc` (for tasks outliving a request).
    fn self_arc(&self) -> Arc<Proxy> {
        self.me
            .upgrade()
            .expect("the proxy is alive while it serves")
    }

    /// The configuration.
    pub fn config(&self) -> &ProxyConfig {
        &self.config
    }
}

/// Serves `MessagingService` on `listener` until `shutdown` completes.
pub async fn serve(
    proxy: Arc<Proxy>,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let local: Option<SocketAddr> = listener.local_addr().ok();
    tracing::info!(addr = ?local, mode = ?proxy.mode, "gRPC MessagingService listening");
    let heartbeats = tokio::spawn(service::keep_producers_registered(proxy.clone()));
    let renewals = tokio::spawn(proxy.clone().keep_renewing());
    let svc = pb::messaging_service_server::MessagingServiceServer::from_arc(proxy.clone())
        .max_decoding_message_size(MAX_DECODING_MESSAGE_SIZE);
    let tls = if proxy.config.tls_enable {
        let cfg = tls::server_config(
            proxy.config.tls_cert_path.as_deref(),
            proxy.config.tls_key_path.as_deref(),
        )
        .map_err(std::io::Error::other)?;
        Some(cfg)
    } else {
        None
    };
    let (incoming, acceptor) = tls::incoming(listener, tls);
    let result = tonic::transport::Server::builder()
        .add_service(svc)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await;
    heartbeats.abort();
    renewals.abort();
    acceptor.abort();
    proxy.backend.close();
    result.map_err(std::io::Error::other)
}
