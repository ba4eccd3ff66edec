//! The accept loop shared by the name server and the broker.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;

use crate::connection::{Connection, ConnectionConfig, Handler};

/// Accepts connections on `listener` and serves each with `handler` until `shutdown` completes;
/// then stops accepting and closes every connection it opened.
///
/// At most `config.max_connections` connections (0 = no limit) are open at once: beyond it a
/// new connection is closed as soon as it is accepted, and the open ones are served as before.
pub async fn serve<H: Handler>(
    listener: TcpListener,
    handler: Arc<H>,
    config: ConnectionConfig,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut open: Vec<Connection> = Vec::new();
    let mut refused = RefusalLog::default();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = &mut shutdown => break,
        };
        match accepted {
            Ok((stream, peer)) => {
                open.retain(|c| !c.is_closed());
                if config.max_connections > 0 && open.len() >= config.max_connections {
                    refused.refuse(peer, config.max_connections);
                    drop(stream);
                    continue;
                }
                match Connection::start(stream, handler.clone(), config.clone()) {
                    Ok(conn) => {
                        tracing::debug!(%peer, id = conn.id(), "accepted connection");
                        open.push(conn);
                    }
                    Err(e) => tracing::debug!(%peer, error = %e, "connection failed at start"),
                }
            }
            // Out of file descriptors and similar: keep serving the connections we have.
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    for conn in &open {
        conn.close();
    }
    Ok(())
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
