//! The accept loop shared by the name server and the broker.

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::connection::{Connection, ConnectionConfig, Handler};

/// Accepts connections on `listener` and serves each with `handler` until `shutdown` completes;
/// then stops accepting and closes every connection it opened.
pub async fn serve<H: Handler>(
    listener: TcpListener,
    handler: Arc<H>,
    config: ConnectionConfig,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut open: Vec<Connection> = Vec::new();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = &mut shutdown => break,
        };
        match accepted {
            Ok((stream, peer)) => {
                match Connection::start(stream, handler.clone(), config.clone()) {
                    Ok(conn) => {
                        tracing::debug!(%peer, id = conn.id(), "accepted connection");
                        open.retain(|c| !c.is_closed());
                        open.push(conn);
                    }
                    Err(e) => tracing::debug!(%peer, error = %e, "connection failed at start"),
                }
            }
            // Out of file descriptors and similar: keep serving the connections we have.
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
    for conn in &open {
        conn.close();
    }
    Ok(())
}

/// Completes when the process gets Ctrl-C (SIGINT) or SIGTERM: the servers' shutdown signal.
pub async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let sigterm = async {
        match term.as_mut() {
            Some(t) => {
                t.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = sigterm => {}
    }
}
