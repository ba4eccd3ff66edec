//! The accept loop shared by the name server and the broker.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::connection::{Connection, ConnectionConfig, Handler};
use crate::tls::{Accepted, Refused, ServerTls};

/// Accepts connections on `listener` and serves each with `handler` until `shutdown` completes;
/// then stops accepting and closes every connection it opened. Plaintext only: [`serve_tls`]
/// with `None`.
///
/// At most `config.max_connections` connections (0 = no limit) are open at once: beyond it a
/// new connection is closed as soon as it is accepted, and the open ones are served as before.
pub async fn serve<H: Handler>(
    listener: TcpListener,
    handler: Arc<H>,
    config: ConnectionConfig,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    serve_tls(listener, handler, config, None, shutdown).await
}

/// [`serve`] with TLS as `tls` says (`None`: plaintext only, no byte looked at before the
/// connection is served).
///
/// With TLS, each accepted connection's first byte tells a TLS handshake (`0x16`) from a
/// remoting frame: the handshake is completed (within `config.frame_timeout`) and the
/// connection served over TLS; a plaintext one is served as is in permissive mode and closed in
/// enforcing mode. Connections being told apart or handshaking count against the limit and do
/// not hold up the accept loop.
pub async fn serve_tls<H: Handler>(
    listener: TcpListener,
    handler: Arc<H>,
    config: ConnectionConfig,
    tls: Option<Arc<ServerTls>>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut open: Vec<Connection> = Vec::new();
    let mut admitting: JoinSet<Option<Connection>> = JoinSet::new();
    let mut refused = RefusalLog::default();
    let refusals = Arc::new(TlsRefusals::default());
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            Some(done) = admitting.join_next(), if !admitting.is_empty() => {
                if let Ok(Some(conn)) = done {
                    open.push(conn);
                }
                continue;
            }
            () = &mut shutdown => break,
        };
        match accepted {
            Ok((stream, peer)) => {
                open.retain(|c| !c.is_closed());
                let count = open.len() + admitting.len();
                if config.max_connections > 0 && count >= config.max_connections {
                    refused.refuse(peer, config.max_connections);
                    drop(stream);
                    continue;
                }
                let Some(tls) = &tls else {
                    match Connection::start(stream, handler.clone(), config.clone()) {
                        Ok(conn) => {
                            tracing::debug!(%peer, id = conn.id(), "accepted connection");
                            open.push(conn);
                        }
                        Err(e) => {
                            tracing::debug!(%peer, error = %e, "connection failed at start")
                        }
                    }
                    continue;
                };
                admitting.spawn(admit(
                    stream,
                    peer,
                    tls.clone(),
                    handler.clone(),
                    config.clone(),
                    refusals.clone(),
                ));
            }
            // Out of file descriptors and similar: keep serving the connections we have.
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    admitting.shutdown().await;
    for conn in &open {
        conn.close();
    }
    Ok(())
}

/// Tells TLS from plaintext by the first byte and starts the connection accordingly; `None`
/// when it is refused or fails before it starts.
async fn admit<H: Handler>(
    stream: TcpStream,
    peer: SocketAddr,
    tls: Arc<ServerTls>,
    handler: Arc<H>,
    config: ConnectionConfig,
    refusals: Arc<TlsRefusals>,
) -> Option<Connection> {
    let local = stream.local_addr().ok()?;
    let stream = match tls
        .accept(stream, config.idle_timeout, config.frame_timeout)
        .await
    {
        Ok(Accepted::Plain(stream)) => {
            return Connection::start(stream, handler, config)
                .inspect_err(|e| tracing::debug!(%peer, error = %e, "connection failed at start"))
                .ok();
        }
        Ok(Accepted::Tls(stream)) => stream,
        Err(Refused::Silent) => return None,
        Err(Refused::Plaintext) => {
            TlsRefusals::log(
                &refusals.plaintext,
                peer,
                "closing plaintext connection: tls.server.mode is enforcing",
            );
            return None;
        }
        Err(Refused::Handshake(why)) => {
            TlsRefusals::log(
                &refusals.handshake,
                peer,
                &format!("closing connection: {why}"),
            );
            return None;
        }
    };
    let conn = Connection::start_stream(stream, peer, local, handler, config);
    tracing::debug!(%peer, id = conn.id(), "accepted TLS connection");
    Some(conn)
}

/// Connections a TLS listener refused, each kind logged at most once a second.
#[derive(Default)]
struct TlsRefusals {
    /// Plaintext on an enforcing port.
    plaintext: Mutex<RefusalLog>,
    /// Failed or timed-out handshakes (untrusted or missing client certificates included).
    handshake: Mutex<RefusalLog>,
}

impl TlsRefusals {
    fn log(log: &Mutex<RefusalLog>, peer: SocketAddr, what: &str) {
        log.lock()
            .unwrap_or_else(|e| e.into_inner())
            .log(peer, what);
    }
}

/// Logs connections refused for being over the limit: the first at once, then at most one line
/// a second with the count since (a flood of connections must not flood the log too).
#[derive(Default)]
pub(crate) struct RefusalLog {
    last: Option<Instant>,
    unlogged: u64,
}

impl RefusalLog {
    pub(crate) fn refuse(&mut self, peer: SocketAddr, limit: usize) {
        self.unlogged += 1;
        let now = Instant::now();
        if self
            .last
            .is_some_and(|t| now.duration_since(t) < Duration::from_secs(1))
        {
            return;
        }
        tracing::warn!(
            %peer,
            limit,
            refused = self.unlogged,
            "closing new connection: serverMaxConnections reached"
        );
        self.last = Some(now);
        self.unlogged = 0;
    }

    /// Counts a refusal and logs `what` under the same one-line-a-second rule.
    pub(crate) fn log(&mut self, peer: SocketAddr, what: &str) {
        self.unlogged += 1;
        let now = Instant::now();
        if self
            .last
            .is_some_and(|t| now.duration_since(t) < Duration::from_secs(1))
        {
            return;
        }
        tracing::warn!(%peer, refused = self.unlogged, "{what}");
        self.last = Some(now);
        self.unlogged = 0;
    }
}

/// Completes when `signal` fires; never when it could not be registered.
async fn wait(signal: Option<&mut tokio::signal::unix::Signal>) {
    match signal {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending::<()>().await,
    }
}

/// Completes when the process gets Ctrl-C (SIGINT) or SIGTERM: the servers' shutdown signal.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, SignalKind};
    // Registered now, not at the first poll: a signal sent as soon as the server said it is
    // up still stops it gracefully instead of killing it.
    let mut term = signal(SignalKind::terminate()).ok();
    let mut int = signal(SignalKind::interrupt()).ok();
    async move {
        tokio::select! {
            () = wait(int.as_mut()) => {}
            () = wait(term.as_mut()) => {}
        }
    }
}
