//! The RocketMQ remoting transport on tokio.
//!
//! - [`Connection`]: one TCP connection carrying frames both ways, requests multiplexed by
//!   opaque, requests from either side dispatched to a [`Handler`], oneway requests never
//!   answered, a bounded number of requests in flight (the rest answered `SYSTEM_BUSY`), reading
//!   stopped while the peer leaves too many response bytes unread (a high water mark), and an
//!   idle rule a trickle of bytes cannot defeat.
//! - [`serve`]: the accept loop used by `mqnamesrv` and `mqbroker`, with a connection limit;
//!   [`serve_tls`] the same with TLS ([`ServerTls`]: Apache's disabled / permissive / enforcing
//!   modes, mTLS, certificates reloaded when their files change).
//! - [`TlsConnector`]: TLS for dialed connections ([`ConnectionConfig::tls`]).
//! - [`serve_websocket`]: the same over WebSocket, for browser clients (binary messages carrying
//!   the TCP byte stream, one frame per message from the server), admitting pages by origin
//!   ([`AllowedOrigins`]); [`serve_websocket_tls`] serves `wss://` with the TCP port's TLS.
//!
//! - [`server_settings!`]: the settings keys every server reads alike (transport, TLS).
//! - [`prometheus`]: the servers' metrics endpoint; [`rpc_metrics`]: request latencies.
//!
//! Headers are always written as JSON, which every client reads (docs/protocol.md, "Binary
//! headers"); both header types are read.

#![warn(missing_docs)]

mod connection;
mod error;
pub mod prometheus;
pub mod rpc_metrics;
mod server;
pub mod server_settings;
mod tls;
mod tls_config;
mod websocket;

pub use connection::{
    Connection, ConnectionConfig, Handler, IgnoreRequests, DEFAULT_WRITE_HIGH_WATER_MARK,
    DEFAULT_WRITE_LOW_WATER_MARK, OVERLOAD_REMARK,
};
pub use error::RemotingError;
pub use server::{serve, serve_tls, shutdown_signal};
pub use tls::{
    Accepted, ClientAuth, ClientTlsSettings, Refused, ServerTls, ServerTlsSettings, ServerTrust,
    TlsConnector, TlsError, TlsMode,
};
pub use tls_config::{TlsKeys, DEFAULT_TLS_CONFIG_FILE};
pub use websocket::{serve_websocket, serve_websocket_tls, AllowedOrigins};
