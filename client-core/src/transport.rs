//! How the client reaches name servers and brokers.
//!
//! [`Transport`] is the seam between the client's logic and the network: send a request to an
//! address and wait for the answer, or send it oneway. Requests the broker sends *to* the client
//! (check-transaction, notify-consumer-ids-changed, ...) arrive at the [`InboundHandler`] given
//! when the transport is built. `TcpTransport` (native targets) is the implementation over
//! `ferromq_remoting::Connection`: one connection per address, opened on demand, reopened
//! after a failure with an exponential backoff. A WebSocket transport for WASM can implement the
//! same trait and be plugged in with [`TransportFactory`].

use std::sync::Arc;
use std::time::Duration;

use ferromq_protocol::RemotingCommand;
use futures::future::BoxFuture;

use crate::error::Result;

#[cfg(not(target_arch = "wasm32"))]
pub use crate::tcp::TcpTransport;

/// Sends remoting commands to addresses (`host:port`).
pub trait Transport: Send + Sync + 'static {
    /// Sends `request` to `addr` and waits up to `timeout` for the response.
    fn request<'a>(
        &'a self,
        addr: &'a str,
        request: RemotingCommand,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<RemotingCommand>>;

    /// Sends `request` to `addr` as oneway: no response is expected.
    fn request_oneway<'a>(
        &'a self,
        addr: &'a str,
        request: RemotingCommand,
    ) -> BoxFuture<'a, Result<()>>;

    /// Closes every connection.
    fn close(&self);

    /// The name servers list `addr` again after the client had lost it (a broker registered
    /// anew): forget the failed connects to it, so the next request connects at once instead
    /// of failing until the reconnect backoff is over.
    fn forgive(&self, _addr: &str) {}
}

/// Receives the requests a server sends to the client.
pub trait InboundHandler: Send + Sync + 'static {
    /// Answers `request` that arrived from `addr`; `None` sends no answer.
    fn handle(
        &self,
        addr: String,
        request: RemotingCommand,
    ) -> BoxFuture<'static, Option<RemotingCommand>>;
}

/// A function building a transport from the handler of its inbound requests.
pub type MakeTransport = dyn Fn(Arc<dyn InboundHandler>) -> Arc<dyn Transport> + Send + Sync;

/// Builds the transport of a new [`Client`](crate::Client); set in
/// [`ClientConfig::transport`](crate::ClientConfig::transport) to replace the native TCP
/// transport (e.g. by a WebSocket one in the browser).
#[derive(Clone)]
pub struct TransportFactory(pub Arc<MakeTransport>);

impl TransportFactory {
    /// A factory from a closure.
    pub fn new<F>(make: F) -> Self
    where
        F: Fn(Arc<dyn InboundHandler>) -> Arc<dyn Transport> + Send + Sync + 'static,
    {
        TransportFactory(Arc::new(make))
    }
}

impl std::fmt::Debug for TransportFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TransportFactory(..)")
    }
}
