//! The native [`Transport`]: tokio TCP over [`ferromq_remoting::Connection`], one connection
//! per address, opened on demand and reopened after a failure with an exponential backoff;
//! over TLS when [`crate::ClientConfig::tls`] is set.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferromq_common::lock;
use ferromq_protocol::RemotingCommand;
use ferromq_remoting::{
    ClientTlsSettings, Connection, ConnectionConfig, Handler, RemotingError, ServerTrust,
    TlsConnector,
};
use futures::future::BoxFuture;

use crate::client::TlsConfig;
use crate::error::{Error, ErrorKind, Result};
use crate::mux::{operation_of, Backoff, Shutdown, CONNECT_TIMEOUT};
use crate::rt::Instant;
use crate::transport::{InboundHandler, Transport};

/// One address: its live connection, and the connect attempt in progress (one at a time).
#[derive(Debug, Default)]
struct Slot {
    conn: Mutex<Option<Connection>>,
    backoff: Mutex<Backoff>,
    connecting: tokio::sync::Mutex<()>,
}

impl Slot {
    fn live(&self) -> Option<Connection> {
        lock(&self.conn)
            .as_ref()
            .filter(|c| !c.is_closed())
            .cloned()
    }
}

/// The tokio TCP [`Transport`].
pub struct TcpTransport {
    slots: Mutex<HashMap<String, Arc<Slot>>>,
    handler: Arc<dyn InboundHandler>,
    config: ConnectionConfig,
    closed: Shutdown,
}

impl std::fmt::Debug for TcpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpTransport").finish_non_exhaustive()
    }
}

struct Bridge {
    addr: String,
    handler: Arc<dyn InboundHandler>,
}

impl Handler for Bridge {
    async fn handle(
        &self,
        _conn: &Connection,
        request: RemotingCommand,
    ) -> Option<RemotingCommand> {
        self.handler.handle(self.addr.clone(), request).await
    }
}

/// Loads the certificates `tls` names (at client start, so a bad file is reported then).
pub(crate) fn connector(tls: Option<&TlsConfig>) -> Result<Option<TlsConnector>> {
    let Some(tls) = tls else { return Ok(None) };
    let trust = match (&tls.ca_file, tls.trust_any_server) {
        (_, true) => ServerTrust::Any,
        (Some(ca), false) => ServerTrust::CaFile(ca.clone()),
        (None, false) => ServerTrust::System,
    };
    let settings = ClientTlsSettings {
        trust,
        verify_hostname: tls.verify_hostname,
        server_name: tls.server_name.clone(),
        cert_path: tls.cert_file.clone(),
        key_path: tls.key_file.clone(),
    };
    TlsConnector::new(&settings)
        .map(Some)
        .map_err(|e| Error::invalid("client", format!("TLS: {e}")))
}

impl TcpTransport {
    /// A plaintext transport whose inbound requests go to `handler`.
    pub fn new(handler: Arc<dyn InboundHandler>) -> Self {
        TcpTransport::with_tls(handler, None)
    }

    /// A transport whose connections use `tls` (`None`: plaintext).
    pub fn with_tls(handler: Arc<dyn InboundHandler>, tls: Option<TlsConnector>) -> Self {
        let config = ConnectionConfig {
            language: ferromq_protocol::LanguageCode::RUST,
            tls,
            ..ConnectionConfig::default()
        };
        TcpTransport {
            slots: Mutex::new(HashMap::new()),
            handler,
            config,
            closed: Shutdown::default(),
        }
    }

    fn slot(&self, addr: &str) -> Arc<Slot> {
        let mut slots = lock(&self.slots);
        // Looked up before `entry`, which would copy the address on every request.
        if let Some(slot) = slots.get(addr) {
            return slot.clone();
        }
        slots.entry(addr.to_owned()).or_default().clone()
    }

    /// The live connection to `addr`, opened first if there is none. Every request comes
    /// here: the usual case (a live connection) is answered without entering the connect
    /// path, whose future (TCP connect, TLS handshake, timeout) is large and would otherwise
    /// make every request's boxed future that large too.
    async fn connection(&self, operation: &'static str, addr: &str) -> Result<Connection> {
        self.closed.check(operation)?;
        let slot = self.slot(addr);
        if let Some(conn) = slot.live() {
            return Ok(conn);
        }
        Box::pin(self.connect(operation, addr, slot)).await
    }

    async fn connect(
        &self,
        operation: &'static str,
        addr: &str,
        slot: Arc<Slot>,
    ) -> Result<Connection> {
        let _connecting = slot.connecting.lock().await;
        if let Some(conn) = slot.live() {
            return Ok(conn);
        }
        lock(&slot.backoff).check(Instant::now(), operation, addr)?;
        let bridge = Arc::new(Bridge {
            addr: addr.to_owned(),
            handler: self.handler.clone(),
        });
        let connect = Connection::connect(addr, bridge, self.config.clone());
        let result = match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
            Ok(r) => r,
            Err(_) => Err(RemotingError::Timeout(CONNECT_TIMEOUT)),
        };
        match result {
            Ok(conn) => {
                lock(&slot.backoff).succeeded();
                *lock(&slot.conn) = Some(conn.clone());
                if self.closed.is_closed() {
                    conn.close();
                }
                Ok(conn)
            }
            Err(e) => {
                lock(&slot.backoff).failed_because(Instant::now(), e.to_string());
                let mut err = Error::remoting(operation, addr, e);
                if err.kind() != ErrorKind::Connect {
                    err = Error::new(ErrorKind::Connect, operation, format!("connect to {addr}"))
                        .with_source(err);
                }
                Err(err)
            }
        }
    }
}

impl Transport for TcpTransport {
    fn request<'a>(
        &'a self,
        addr: &'a str,
        request: RemotingCommand,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<RemotingCommand>> {
        Box::pin(async move {
            let op = operation_of(&request);
            let conn = self.connection(op, addr).await?;
            conn.request(request, timeout)
                .await
                .map_err(|e| Error::remoting(op, addr, e))
        })
    }

    fn request_oneway<'a>(
        &'a self,
        addr: &'a str,
        request: RemotingCommand,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let op = operation_of(&request);
            let conn = self.connection(op, addr).await?;
            conn.request_oneway(request)
                .await
                .map_err(|e| Error::remoting(op, addr, e))
        })
    }

    fn forgive(&self, addr: &str) {
        let slot = lock(&self.slots).get(addr).cloned();
        if let Some(slot) = slot {
            lock(&slot.backoff).forgive();
        }
    }

    fn close(&self) {
        self.closed.close();
        let slots: Vec<Arc<Slot>> = lock(&self.slots).drain().map(|(_, s)| s).collect();
        for slot in slots {
            if let Some(conn) = lock(&slot.conn).take() {
                conn.close();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferromq_protocol::RequestCode;

    struct Deaf;

    impl InboundHandler for Deaf {
        fn handle(
            &self,
            _addr: String,
            _request: RemotingCommand,
        ) -> BoxFuture<'static, Option<RemotingCommand>> {
            Box::pin(async { None })
        }
    }

    #[tokio::test]
    async fn a_forgiven_address_is_connected_at_once() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let transport = TcpTransport::new(Arc::new(Deaf));
        {
            let slot = transport.slot(&addr);
            let mut backoff = lock(&slot.backoff);
            let now = Instant::now();
            while backoff.failed(now) < Backoff::MAX {}
        }
        let request = || RemotingCommand::request(RequestCode::HEART_BEAT);
        let wait = Duration::from_millis(200);
        let refused = transport.request(&addr, request(), wait).await.err();
        let refused = refused.map(|e| (e.kind(), e.to_string()));
        let (kind, text) = refused.unwrap_or((ErrorKind::Io, String::new()));
        assert_eq!(kind, ErrorKind::Connect);
        assert!(text.contains("backing off"), "{text}");

        transport.forgive(&addr);
        // The listener accepts but never answers: the request connects, then times out.
        let err = transport.request(&addr, request(), wait).await.err();
        assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::Timeout));
        transport.forgive("127.0.0.1:1");
        transport.close();
    }
}
