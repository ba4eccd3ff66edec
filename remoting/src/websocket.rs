//! Remoting over WebSocket, for browser clients (the WASM client), which cannot open TCP.
//!
//! The WebSocket carries the same byte stream as TCP: remoting frames with their 4-byte length
//! prefix, in binary messages. The server sends exactly one frame per message; it accepts frames
//! split across messages or several in one. Text messages close the connection, as a malformed
//! frame does. Any path is accepted for the upgrade (`ws://host:port/` is the documented one).
//!
//! Browsers let any page open a WebSocket to any host, so the upgrade checks the `Origin`
//! header against [`AllowedOrigins`] and answers HTTP 403 to pages it does not admit.
//!
//! Each accepted WebSocket becomes an ordinary [`Connection`] (over an in-memory pipe), so the
//! name server's and the broker's handlers serve it unchanged; its peer address is the TCP
//! peer's.
//!
//! With TLS ([`serve_websocket_tls`], the server's `tls.server.*` settings and the same
//! [`ServerTls`] as its TCP port, certificate reload included) the port serves `wss://`: in
//! `enforcing` mode only TLS, in `permissive` mode TLS or plain `ws://` told apart by the
//! connection's first byte (`0x16` starts a TLS handshake; an HTTP upgrade starts with `G`).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::connection::{Connection, ConnectionConfig, Handler};
use crate::server::RefusalLog;
use crate::tls::{ServerTls, TlsMode, TLS_HANDSHAKE_BYTE};

/// How long a client may take to complete the upgrade (the TLS handshake included).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Buffer of the pipe between a WebSocket and its connection.
const PIPE: usize = 256 * 1024;

fn ws_config(config: &ConnectionConfig) -> WebSocketConfig {
    let max = config.max_frame_len.saturating_add(4);
    WebSocketConfig::default()
        .max_message_size(Some(max))
        .max_frame_size(Some(max))
}

/// Which web pages may open a WebSocket (`webSocketAllowedOrigins`): the `Origin` header a
/// browser sends with the upgrade is checked against it.
///
/// - A request without `Origin` is admitted: it does not come from a web page (Node's `ws`,
///   other programs), and only browsers need to be kept from connecting on a page's behalf.
/// - With an empty list, a page is admitted when its host is the host the request was sent to
///   (the `Host` header), ports aside: a page served from `http://127.0.0.1:8080` may use
///   `ws://127.0.0.1:9877/`. `localhost`, `127.0.0.1` and `[::1]` count as one host.
/// - Otherwise the origin must be one of the list, compared whole and ignoring case
///   (`https://app.example.com`, `http://127.0.0.1:8080`); `*` admits every page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllowedOrigins(Vec<String>);

impl AllowedOrigins {
    /// Parses a comma-separated list; blanks are ignored, so `""` is the same-host rule.
    pub fn parse(list: &str) -> AllowedOrigins {
        AllowedOrigins(
            list.split(',')
                .map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase())
                .filter(|o| !o.is_empty())
                .collect(),
        )
    }

    /// Whether an upgrade with these `Origin` and `Host` headers is admitted.
    pub fn admits(&self, origin: Option<&str>, host: Option<&str>) -> bool {
        let Some(origin) = origin else { return true };
        let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
        if self.0.is_empty() {
            let page = origin.split_once("://").map(|(_, rest)| host_of(rest));
            return match (page, host.map(host_of)) {
                (Some(page), Some(host)) => !page.is_empty() && same_host(&page, &host),
                _ => false,
            };
        }
        self.0.iter().any(|o| o == "*" || *o == origin)
    }
}

/// The host of `host[:port][/path]` (brackets kept for IPv6), lower case.
fn host_of(authority: &str) -> String {
    let authority = authority.trim();
    let authority = authority.split('/').next().unwrap_or_default();
    let host = if authority.starts_with('[') {
        match authority.find(']') {
            Some(end) => &authority[..=end],
            None => authority,
        }
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    host.to_ascii_lowercase()
}

fn same_host(a: &str, b: &str) -> bool {
    let loopback = |h: &str| matches!(h, "localhost" | "127.0.0.1" | "[::1]");
    a == b || (loopback(a) && loopback(b))
}

/// Accepts WebSocket connections on `listener` and serves each with `handler` until `shutdown`
/// completes; then stops accepting and closes every connection it opened. Plain `ws://` only:
/// [`serve_websocket_tls`] with `None`.
///
/// Upgrades from pages `origins` does not admit are answered 403 Forbidden. At most
/// `config.max_connections` connections (upgrades under way included; 0 = no limit) are open at
/// once: beyond it a new connection is closed as soon as it is accepted.
pub async fn serve_websocket<H: Handler>(
    listener: TcpListener,
    handler: Arc<H>,
    config: ConnectionConfig,
    origins: AllowedOrigins,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    serve_websocket_tls(listener, handler, config, origins, None, shutdown).await
}

/// [`serve_websocket`] with TLS as `tls` says (`None`: plain `ws://` only, no byte looked at
/// before the upgrade).
///
/// With TLS, each connection's first byte tells a TLS handshake from a plain HTTP upgrade: the
/// handshake and then the upgrade are completed over TLS (`wss://`); a plain connection is
/// upgraded as is in permissive mode and closed in enforcing mode (logged at most once a
/// second). Handshake and upgrade together must finish within 10 s.
pub async fn serve_websocket_tls<H: Handler>(
    listener: TcpListener,
    handler: Arc<H>,
    config: ConnectionConfig,
    origins: AllowedOrigins,
    tls: Option<Arc<ServerTls>>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let origins = Arc::new(origins);
    let open = Arc::new(AtomicUsize::new(0));
    let mut refused = RefusalLog::default();
    let tls_refused = Arc::new(Mutex::new(RefusalLog::default()));
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = &mut shutdown => break,
        };
        match accepted {
            Ok((stream, peer)) => {
                if config.max_connections > 0
                    && open.load(Ordering::Acquire) >= config.max_connections
                {
                    refused.refuse(peer, config.max_connections);
                    drop(stream);
                    continue;
                }
                let slot = Slot::take(&open);
                let (handler, config, mut stop, origins, tls, tls_refused) = (
                    handler.clone(),
                    config.clone(),
                    stop_rx.clone(),
                    origins.clone(),
                    tls.clone(),
                    tls_refused.clone(),
                );
                tokio::spawn(async move {
                    let _slot = slot;
                    let admitted = tokio::time::timeout(
                        HANDSHAKE_TIMEOUT,
                        admit(stream, peer, tls, &origins, handler, &config, &tls_refused),
                    )
                    .await;
                    let conn = match admitted {
                        Ok(Some(conn)) => conn,
                        Ok(None) => return,
                        Err(_) => {
                            tracing::debug!(%peer, "WebSocket upgrade timed out");
                            return;
                        }
                    };
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

/// Completes TLS (when the first byte asks for it and `tls` is set) and the upgrade, and starts
/// the connection; `None` when it is refused or fails before it starts.
async fn admit<H: Handler>(
    stream: TcpStream,
    peer: SocketAddr,
    tls: Option<Arc<ServerTls>>,
    origins: &AllowedOrigins,
    handler: Arc<H>,
    config: &ConnectionConfig,
    tls_refused: &Mutex<RefusalLog>,
) -> Option<Connection> {
    let local = stream.local_addr().ok()?;
    let Some(tls) = tls else {
        return upgrade(stream, peer, local, origins, handler, config).await;
    };
    let mut first = [0u8; 1];
    match stream.peek(&mut first).await {
        Ok(1) => {}
        // Closed or failed before a byte: nothing to serve.
        _ => return None,
    }
    let refuse = |what: &str| {
        tls_refused
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .log(peer, what);
    };
    if first[0] != TLS_HANDSHAKE_BYTE {
        if tls.mode() == TlsMode::Enforcing {
            refuse("closing plain WebSocket connection: tls.server.mode is enforcing (use wss://)");
            return None;
        }
        return upgrade(stream, peer, local, origins, handler, config).await;
    }
    let _ = stream.set_nodelay(true);
    let acceptor = tokio_rustls::TlsAcceptor::from(tls.config());
    match acceptor.accept(stream).await {
        Ok(stream) => upgrade(stream, peer, local, origins, handler, config).await,
        Err(e) => {
            refuse(&format!(
                "closing WebSocket connection: TLS handshake failed: {e}"
            ));
            None
        }
    }
}

/// The WebSocket upgrade (origin checked) over `stream`, then the connection serving it.
async fn upgrade<S, H>(
    stream: S,
    peer: SocketAddr,
    local: SocketAddr,
    origins: &AllowedOrigins,
    handler: Arc<H>,
    config: &ConnectionConfig,
) -> Option<Connection>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    H: Handler,
{
    // The callback's signature is tungstenite's.
    #[allow(clippy::result_large_err)]
    let check = |req: &Request, resp: Response| {
        let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
        let origin = header("origin");
        if origins.admits(origin, header("host")) {
            return Ok(resp);
        }
        tracing::warn!(
            %peer,
            origin = origin.unwrap_or_default(),
            "WebSocket upgrade refused: origin not in webSocketAllowedOrigins"
        );
        let mut refusal = ErrorResponse::new(Some("origin not allowed".to_owned()));
        *refusal.status_mut() = StatusCode::FORBIDDEN;
        Err(refusal)
    };
    let ws = match tokio_tungstenite::accept_hdr_async_with_config(
        stream,
        check,
        Some(ws_config(config)),
    )
    .await
    {
        Ok(ws) => ws,
        Err(e) => {
            tracing::debug!(%peer, error = %e, "WebSocket upgrade failed");
            return None;
        }
    };
    let conn = serve_one(ws, peer, local, handler, config.clone());
    tracing::debug!(%peer, id = conn.id(), "accepted WebSocket connection");
    Some(conn)
}

/// One open WebSocket connection (or upgrade under way) counted against the limit.
struct Slot(Arc<AtomicUsize>);

impl Slot {
    fn take(open: &Arc<AtomicUsize>) -> Slot {
        open.fetch_add(1, Ordering::AcqRel);
        Slot(open.clone())
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Serves one upgraded WebSocket as a [`Connection`].
fn serve_one<S, H>(
    ws: WebSocketStream<S>,
    peer: SocketAddr,
    local: SocketAddr,
    handler: Arc<H>,
    config: ConnectionConfig,
) -> Connection
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    H: Handler,
{
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
    conn
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
