//! Remoting over WebSocket, for browser clients (the WASM client), which cannot open TCP.
//!
//! The WebSocket carries the same byte stream as TCP: remoting frames with their 4-byte length
//! prefix, in binary messages. The server sends exactly one frame per message; it accepts frames
//! split across messages or several in one. Text messages close the connection, as a malformed
//! frame does. Any path is accepted for the upgrade (`ws://host:port/` is the documented one).
//!
//! Each accepted WebSocket becomes an ordinary [`Connection`] (over an in-memory pipe), so the
//! name server's and the broker's handlers serve it unchanged; its peer address is the TCP
//! peer's.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::connection::{Connection, ConnectionConfig, Handler};

/// How long a client may take to complete the upgrade.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Buffer of the pipe between a WebSocket and its connection.
const PIPE: usize = 256 * 1024;

fn ws_config(config: &ConnectionConfig) -> WebSocketConfig {
    let max = config.max_frame_len.saturating_add(4);
    WebSocketConfig::default()
        .max_message_size(Some(max))
        .max_frame_size(Some(max))
}

/// Accepts WebSocket connections on `listener` and serves each with `handler` until `shutdown`
/// completes; then stops accepting and closes every connection it opened.
pub async fn serve_websocket<H: Handler>(
    listener: TcpListener,
    handler: Arc<H>,
    config: ConnectionConfig,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = &mut shutdown => break,
        };
        match accepted {
            Ok((stream, peer)) => {
                let (handler, config, mut stop) =
                    (handler.clone(), config.clone(), stop_rx.clone());
                tokio::spawn(async move {
                    let upgraded = tokio::time::timeout(
                        HANDSHAKE_TIMEOUT,
                        tokio_tungstenite::accept_async_with_config(
                            stream,
                            Some(ws_config(&config)),
                        ),
                    )
                    .await;
                    let ws = match upgraded {
                        Ok(Ok(ws)) => ws,
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, error = %e, "WebSocket upgrade failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(%peer, "WebSocket upgrade timed out");
                            return;
                        }
                    };
                    let conn = match serve_one(ws, handler, config) {
                        Ok(conn) => conn,
                        Err(e) => {
                            tracing::debug!(%peer, error = %e, "WebSocket connection failed at start");
                            return;
                        }
                    };
                    tracing::debug!(%peer, id = conn.id(), "accepted WebSocket connection");
                    tokio::select! {
                        _ = stop.wait_for(|s| *s) => conn.close(),
                        () = conn.closed() => {}
                    }
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "WebSocket accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    let _ = stop_tx.send(true);
    Ok(())
}

/// Serves one upgraded WebSocket as a [`Connection`].
fn serve_one<H: Handler>(
    ws: WebSocketStream<TcpStream>,
    handler: Arc<H>,
    config: ConnectionConfig,
) -> std::io::Result<Connection> {
    let peer = ws.get_ref().peer_addr()?;
    let local = ws.get_ref().local_addr()?;
    let (ours, theirs) = tokio::io::duplex(PIPE);
    let (read, write) = tokio::io::split(theirs);
    let conn = Connection::start_io(read, write, peer, local, handler, config.clone());
    let (mut sink, mut stream) = ws.split();
    let (mut from_conn, mut to_conn) = tokio::io::split(ours);
    // WebSocket -> connection: message payloads in order.
    let inbound = {
        let conn = conn.clone();
        async move {
            while let Some(msg) = stream.next().await {
                match msg {
                    Ok(Message::Binary(data)) => {
                        if to_conn.write_all(&data).await.is_err() {
                            break;
                        }
                    }
                    Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => {}
                    Ok(Message::Text(_)) => {
                        tracing::warn!(peer = %conn.peer_addr(), "closing WebSocket: text message");
                        break;
                    }
                    Ok(Message::Close(_)) | Err(_) => break,
                }
            }
            let _ = to_conn.shutdown().await;
            conn.close();
        }
    };
    // Connection -> WebSocket: one frame per binary message.
    let outbound = {
        let conn = conn.clone();
        async move {
            while let Ok(frame) = next_frame(&mut from_conn, &config).await {
                if sink.send(Message::Binary(frame)).await.is_err() {
                    break;
                }
            }
            let _ = sink.close().await;
            conn.close();
        }
    };
    tokio::spawn(inbound);
    tokio::spawn(outbound);
    Ok(conn)
}

/// Reads one length-prefixed frame (prefix included) from the connection's side of the pipe.
async fn next_frame(
    from: &mut tokio::io::ReadHalf<DuplexStream>,
    config: &ConnectionConfig,
) -> std::io::Result<Bytes> {
    let mut prefix = [0u8; 4];
    from.read_exact(&mut prefix).await?;
    let len = usize::try_from(u32::from_be_bytes(prefix)).unwrap_or(usize::MAX);
    if len > config.max_frame_len {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "frame over the limit",
        ));
    }
    let mut frame = BytesMut::zeroed(4 + len);
    frame[..4].copy_from_slice(&prefix);
    from.read_exact(&mut frame[4..]).await?;
    Ok(frame.freeze())
}
