//! The client core's [`Transport`] over the browser `WebSocket` (or any global `WebSocket` with
//! the same API, such as the `ws` package in Node).
//!
//! Each WebSocket carries remoting frames (4-byte big-endian length prefix) in binary messages;
//! FerroMQ's servers send one frame per message, but frames split across messages or several
//! in one are accepted too (remoting/src/websocket.rs).
//!
//! JavaScript objects are not `Send`, while the core wants a `Send + Sync` transport with `Send`
//! futures. So every connection is a local task (`spawn_local`) that owns its WebSocket; the
//! transport talks to it through `futures::channel` queues, which are `Send`.
//!
//! Addresses: a `ws://` or `wss://` URL (the name servers the user configured) is used as is.
//! A broker address `ip:port` from route data is translated by asking a name server for the
//! KV item `FERROMQ_WEBSOCKET` / `ip:port` (GET_KV_CONFIG), which a broker with a WebSocket
//! listener announces (`wss://` when its port serves TLS only); the answer is cached and
//! forgotten when that connection fails. A client that reaches its name servers over `wss://`
//! reaches the brokers over `wss://` too: an announced `ws://` URL (a broker in permissive
//! mode, serving both) is dialed as `wss://`, so TLS is never dropped on the way to a broker
//! (and an https page never tries plain `ws://`, which browsers block).
//! Connections are opened on demand and reopened on demand after a failure; after a failed
//! connect, attempts to that URL wait out the core's [`Backoff`], as the TCP transport's do.
//!
//! What happens on a connection (opaques, which response completes which request, requests from
//! the broker, late answers, timeouts, failing every waiter when it closes) is the core's
//! [`Mux`], shared by the transport (which registers requests) and the connection task (which
//! feeds it the frames it reads); this file only moves frames and events.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::BytesMut;
use ferromq_client::mux::{self, operation_of, Backoff, Inbound, Mux, Shutdown, CONNECT_TIMEOUT};
use ferromq_client::{rt, Error, ErrorKind, InboundHandler, Result, Transport};
use ferromq_common::lock;
use ferromq_protocol::frame::{self, FrameDecoder, DEFAULT_MAX_FRAME_LEN};
use ferromq_protocol::header::namesrv::{
    GetKVConfigRequestHeader, GetKVConfigResponseHeader, WEBSOCKET_KV_NAMESPACE,
};
use ferromq_protocol::{LanguageCode, RemotingCommand, RequestCode, ResponseCode, SerializeType};
use futures::channel::{mpsc, oneshot};
use futures::future::BoxFuture;
use futures::StreamExt;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{BinaryType, CloseEvent, Event, MessageEvent, WebSocket};

/// A request of ours awaiting its response.
struct Waiter {
    reply: oneshot::Sender<Result<RemotingCommand>>,
    /// The request's operation (for errors).
    op: &'static str,
    /// The request's timeout (for the error when it expires).
    timeout: Duration,
}

/// The requests awaiting responses on one connection.
type Pending = Arc<Mutex<Mux<Waiter, rt::Instant>>>;

/// What the transport asks a connection task to do.
enum Command {
    /// Write `cmd` (prepared by the connection's [`Mux`], or an answer to a broker request).
    Send(RemotingCommand),
    /// Close the WebSocket.
    Close,
}

/// The transport's handle of one connection task.
#[derive(Clone)]
struct Conn {
    tx: mpsc::UnboundedSender<Command>,
    pending: Pending,
}

impl Conn {
    /// Whether the connection is open or opening (its task closes the mux when it ends).
    fn alive(&self) -> bool {
        !lock(&self.pending).is_closed()
    }
}

/// The WebSocket [`Transport`].
pub(crate) struct WsTransport {
    inbound: Arc<dyn InboundHandler>,
    /// The name servers' WebSocket URLs, asked for broker endpoints.
    namesrvs: Vec<String>,
    /// Open (or opening) connections by URL.
    conns: Mutex<HashMap<String, Conn>>,
    /// Broker `ip:port` -> its `ws://` URL.
    endpoints: Mutex<HashMap<String, String>>,
    /// Connect failures by URL.
    backoffs: Mutex<HashMap<String, Arc<Mutex<Backoff>>>>,
    closed: Shutdown,
    request_timeout: Duration,
}

impl std::fmt::Debug for WsTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsTransport")
            .field("namesrvs", &self.namesrvs)
            .finish_non_exhaustive()
    }
}

/// Whether `addr` is a WebSocket URL (used as is) rather than a broker's `ip:port`.
pub(crate) fn is_ws_url(addr: &str) -> bool {
    let lower = addr.get(..6).unwrap_or("").to_ascii_lowercase();
    lower.starts_with("ws://") || lower.starts_with("wss://")
}

impl WsTransport {
    /// A transport whose name servers are `namesrvs` (`ws://` URLs) and whose inbound requests
    /// go to `inbound`.
    pub(crate) fn new(
        namesrvs: Vec<String>,
        inbound: Arc<dyn InboundHandler>,
        request_timeout: Duration,
    ) -> Self {
        WsTransport {
            inbound,
            namesrvs,
            conns: Mutex::new(HashMap::new()),
            endpoints: Mutex::new(HashMap::new()),
            backoffs: Mutex::new(HashMap::new()),
            closed: Shutdown::default(),
            request_timeout,
        }
    }

    /// The live connection to `url`, opening one when there is none.
    fn conn(&self, op: &'static str, url: &str, addr: &str) -> Result<Conn> {
        self.closed.check(op)?;
        let mut conns = lock(&self.conns);
        if let Some(c) = conns.get(url).filter(|c| c.alive()) {
            return Ok(c.clone());
        }
        let backoff = lock(&self.backoffs)
            .entry(url.to_owned())
            .or_default()
            .clone();
        lock(&backoff).check(rt::Instant::now(), op, url)?;
        let (tx, rx) = mpsc::unbounded();
        let conn = Conn {
            tx,
            pending: Arc::new(Mutex::new(Mux::new())),
        };
        conns.insert(url.to_owned(), conn.clone());
        drop(conns);
        let task = ConnTask {
            url: url.to_owned(),
            addr: addr.to_owned(),
            inbound: self.inbound.clone(),
            pending: conn.pending.clone(),
            own_tx: conn.tx.clone(),
            backoff,
        };
        // JavaScript objects live in the task, which is therefore local (not `Send`).
        wasm_bindgen_futures::spawn_local(task.run(rx));
        Ok(conn)
    }

    /// The URL to reach `addr` at.
    async fn resolve(&self, op: &'static str, addr: &str) -> Result<String> {
        if is_ws_url(addr) {
            return Ok(addr.to_owned());
        }
        if let Some(url) = lock(&self.endpoints).get(addr) {
            return Ok(url.clone());
        }
        let header = GetKVConfigRequestHeader {
            namespace: WEBSOCKET_KV_NAMESPACE.to_owned(),
            key: addr.to_owned(),
        };
        let mut last: Option<Error> = None;
        for ns in &self.namesrvs {
            let request = RemotingCommand::request_with_header(RequestCode::GET_KV_CONFIG, &header);
            let response = match self.exchange(ns, ns, request, self.request_timeout).await {
                Ok(r) => r,
                Err(e) => {
                    last = Some(e);
                    continue;
                }
            };
            if response.response_code() == ResponseCode::SUCCESS {
                let value = response
                    .header::<GetKVConfigResponseHeader>()
                    .ok()
                    .and_then(|h| h.value)
                    .filter(|v| is_ws_url(v));
                if let Some(url) = value {
                    let url = keep_tls(ns, url);
                    lock(&self.endpoints).insert(addr.to_owned(), url.clone());
                    return Ok(url);
                }
            }
            last = Some(Error::new(
                ErrorKind::Connect,
                op,
                format!(
                    "broker {addr} has no WebSocket endpoint announced to the name server {ns} \
                     (set webSocketListenPort in its configuration)"
                ),
            ));
        }
        Err(last.unwrap_or_else(|| Error::invalid(op, "no name server WebSocket URL")))
    }

    /// Sends `request` over the connection to `url` and waits for the response.
    async fn exchange(
        &self,
        url: &str,
        addr: &str,
        mut request: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand> {
        let op = operation_of(&request);
        let conn = self.conn(op, url, addr)?;
        let (reply, rx) = oneshot::channel();
        let waiter = Waiter { reply, op, timeout };
        let deadline = mux::deadline(rt::Instant::now(), timeout);
        let opaque = lock(&conn.pending)
            .request(&mut request, waiter, deadline)
            .map_err(|_| closed(op, addr))?;
        if conn.tx.unbounded_send(Command::Send(request)).is_err() {
            lock(&conn.pending).forget(opaque);
            return Err(closed(op, addr));
        }
        match rt::timeout(timeout, rx).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => Err(closed(op, addr)),
            Err(rt::Elapsed) => {
                lock(&conn.pending).forget(opaque);
                Err(timed_out(op, addr, timeout))
            }
        }
    }

    /// Forgets the endpoint of broker `addr` after its connection failed.
    fn on_failure(&self, addr: &str, e: &Error) {
        if matches!(e.kind(), ErrorKind::Connect | ErrorKind::ConnectionClosed) {
            lock(&self.endpoints).remove(addr);
        }
    }
}

/// `url` with `wss://` when the name server `ns` was reached over `wss://`.
pub(crate) fn keep_tls(ns: &str, url: String) -> String {
    let secure = ns
        .get(..6)
        .is_some_and(|s| s.eq_ignore_ascii_case("wss://"));
    match url.get(..5) {
        Some(scheme) if secure && scheme.eq_ignore_ascii_case("ws://") => {
            format!("wss://{}", &url[5..])
        }
        _ => url,
    }
}

fn closed(op: &'static str, addr: &str) -> Error {
    Error::new(
        ErrorKind::ConnectionClosed,
        op,
        format!("the WebSocket to {addr} closed"),
    )
}

fn timed_out(op: &'static str, addr: &str, timeout: Duration) -> Error {
    Error::new(
        ErrorKind::Timeout,
        op,
        format!("no answer from {addr} within {} ms", timeout.as_millis()),
    )
}

impl Transport for WsTransport {
    fn request<'a>(
        &'a self,
        addr: &'a str,
        request: RemotingCommand,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<RemotingCommand>> {
        Box::pin(async move {
            let op = operation_of(&request);
            let url = self.resolve(op, addr).await?;
            let r = self.exchange(&url, addr, request, timeout).await;
            if let Err(e) = &r {
                self.on_failure(addr, e);
            }
            r
        })
    }

    fn request_oneway<'a>(
        &'a self,
        addr: &'a str,
        mut request: RemotingCommand,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let op = operation_of(&request);
            let url = self.resolve(op, addr).await?;
            let conn = self.conn(op, &url, addr)?;
            lock(&conn.pending)
                .oneway(&mut request)
                .map_err(|_| closed(op, addr))?;
            conn.tx
                .unbounded_send(Command::Send(request))
                .map_err(|_| closed(op, addr))
        })
    }

    fn forgive(&self, addr: &str) {
        let url = if is_ws_url(addr) {
            Some(addr.to_owned())
        } else {
            lock(&self.endpoints).get(addr).cloned()
        };
        let backoff = url.and_then(|url| lock(&self.backoffs).get(&url).cloned());
        if let Some(backoff) = backoff {
            lock(&backoff).forgive();
        }
    }

    fn close(&self) {
        self.closed.close();
        for (_, conn) in lock(&self.conns).drain() {
            let _ = conn.tx.unbounded_send(Command::Close);
        }
    }
}

/// What the WebSocket's event handlers report to its task.
enum WsEvent {
    Open,
    Data(Vec<u8>),
    Text,
    Error,
    Closed(u16, String),
}

/// One connection: owns the WebSocket and its event handlers.
struct ConnTask {
    url: String,
    /// The address the core used (for inbound requests and error messages).
    addr: String,
    inbound: Arc<dyn InboundHandler>,
    /// The connection's multiplexer, shared with the transport.
    pending: Pending,
    /// Its own command queue (answers to inbound requests are written through it).
    own_tx: mpsc::UnboundedSender<Command>,
    /// Connect failures of its URL.
    backoff: Arc<Mutex<Backoff>>,
}

/// The event handlers of a WebSocket, removed when dropped.
struct Handlers {
    ws: WebSocket,
    _on_open: Closure<dyn FnMut(Event)>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(Event)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

impl Drop for Handlers {
    fn drop(&mut self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onerror(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
    }
}

fn open_socket(url: &str, events: mpsc::UnboundedSender<WsEvent>) -> Result<Handlers, JsValue> {
    let ws = WebSocket::new(url)?;
    ws.set_binary_type(BinaryType::Arraybuffer);
    let tx = events.clone();
    let on_open = Closure::<dyn FnMut(Event)>::new(move |_e: Event| {
        let _ = tx.unbounded_send(WsEvent::Open);
    });
    let tx = events.clone();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
        let data = e.data();
        let event = match data.dyn_into::<js_sys::ArrayBuffer>() {
            Ok(buf) => WsEvent::Data(js_sys::Uint8Array::new(&buf).to_vec()),
            Err(other) => match other.dyn_into::<js_sys::Uint8Array>() {
                Ok(view) => WsEvent::Data(view.to_vec()),
                Err(_) => WsEvent::Text,
            },
        };
        let _ = tx.unbounded_send(event);
    });
    let tx = events.clone();
    let on_error = Closure::<dyn FnMut(Event)>::new(move |_e: Event| {
        let _ = tx.unbounded_send(WsEvent::Error);
    });
    let tx = events;
    let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |e: CloseEvent| {
        let _ = tx.unbounded_send(WsEvent::Closed(e.code(), e.reason()));
    });
    ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    ws.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    Ok(Handlers {
        ws,
        _on_open: on_open,
        _on_message: on_message,
        _on_error: on_error,
        _on_close: on_close,
    })
}

impl ConnTask {
    fn error(&self, kind: ErrorKind, op: &'static str, what: &str) -> Error {
        Error::new(kind, op, format!("{what} ({})", self.url))
    }

    async fn run(self, mut commands: mpsc::UnboundedReceiver<Command>) {
        let (events_tx, mut events) = mpsc::unbounded();
        // Why the connection ended: the kind and text of the error its waiters get.
        let (kind, why) = match open_socket(&self.url, events_tx) {
            Err(e) => (
                ErrorKind::Connect,
                format!("cannot open a WebSocket: {}", crate::error::js_text(&e)),
            ),
            Ok(handlers) => match rt::timeout(CONNECT_TIMEOUT, events.next()).await {
                Ok(Some(WsEvent::Open)) => {
                    lock(&self.backoff).succeeded();
                    self.serve(&handlers.ws, &mut commands, &mut events).await
                }
                Err(rt::Elapsed) => (
                    ErrorKind::Connect,
                    format!(
                        "WebSocket not open within {} ms",
                        CONNECT_TIMEOUT.as_millis()
                    ),
                ),
                Ok(_) => (
                    ErrorKind::Connect,
                    "cannot open a WebSocket (refused or unreachable)".to_owned(),
                ),
            },
        };
        if kind == ErrorKind::Connect {
            lock(&self.backoff).failed(rt::Instant::now());
        }
        // Every request still waiting fails, those queued and not written yet included; what
        // is left in the queue is dropped.
        let waiters = lock(&self.pending).close();
        for w in waiters {
            let _ = w.reply.send(Err(self.error(kind, w.op, &why)));
        }
        commands.close();
    }

    /// Serves an open WebSocket until it closes or fails; returns why it ended.
    async fn serve(
        &self,
        ws: &WebSocket,
        commands: &mut mpsc::UnboundedReceiver<Command>,
        events: &mut mpsc::UnboundedReceiver<WsEvent>,
    ) -> (ErrorKind, String) {
        let mut buf = BytesMut::new();
        let decoder = FrameDecoder::new(DEFAULT_MAX_FRAME_LEN);
        let closed = |why: &str| (ErrorKind::ConnectionClosed, why.to_owned());
        loop {
            let next = futures::future::select(commands.next(), events.next()).await;
            match next {
                futures::future::Either::Left((cmd, _)) => match cmd {
                    None | Some(Command::Close) => {
                        return closed("the client closed the WebSocket")
                    }
                    Some(Command::Send(cmd)) => {
                        if let Err(why) = self.write(ws, cmd) {
                            return closed(&why);
                        }
                    }
                },
                futures::future::Either::Right((event, _)) => match event {
                    None => return closed("the WebSocket went away"),
                    Some(WsEvent::Error) => return closed("WebSocket error"),
                    Some(WsEvent::Closed(code, reason)) => {
                        return closed(&format!("the WebSocket closed (code {code} {reason:?})"))
                    }
                    Some(WsEvent::Open) => {}
                    Some(WsEvent::Text) => return closed("the server sent a text message"),
                    Some(WsEvent::Data(bytes)) => {
                        buf.extend_from_slice(&bytes);
                        self.expire();
                        loop {
                            match decoder.decode(&mut buf) {
                                Ok(Some(cmd)) => self.dispatch(cmd),
                                Ok(None) => break,
                                Err(_) => {
                                    return (
                                        ErrorKind::Protocol,
                                        "undecodable frame from the server".to_owned(),
                                    )
                                }
                            }
                        }
                    }
                },
            }
        }
    }

    /// Writes one command; `Err` (why) when the WebSocket failed.
    fn write(&self, ws: &WebSocket, mut cmd: RemotingCommand) -> std::result::Result<(), String> {
        cmd.language = LanguageCode::RUST;
        let mut out = BytesMut::with_capacity(256 + cmd.body.len());
        if let Err(e) = frame::encode(&cmd, SerializeType::Json, &mut out) {
            // Only a request of ours has a waiter (an answer's opaque is the peer's).
            let ours = !cmd.is_response() && !cmd.is_oneway();
            if let Some(w) = ours
                .then(|| lock(&self.pending).forget(cmd.opaque))
                .flatten()
            {
                let why = format!("cannot encode the request: {e}");
                let _ = w
                    .reply
                    .send(Err(Error::new(ErrorKind::InvalidArgument, w.op, why)));
            }
            return Ok(());
        }
        ws.send_with_u8_array(&out)
            .map_err(|e| format!("WebSocket send failed: {}", crate::error::js_text(&e)))
    }

    /// Times out the requests past their deadline, so that their late answers are dropped.
    fn expire(&self) {
        let expired = lock(&self.pending).expire(rt::Instant::now());
        for (_, w) in expired {
            let _ = w.reply.send(Err(timed_out(w.op, &self.addr, w.timeout)));
        }
    }

    fn dispatch(&self, cmd: RemotingCommand) {
        let inbound = lock(&self.pending).receive(cmd);
        match inbound {
            Inbound::Response { waiter, response } => {
                let _ = waiter.reply.send(Ok(response));
            }
            // An unknown opaque, or an answer after its requester gave up.
            Inbound::Unmatched(_) => {}
            Inbound::Request { request, reply } => {
                let answer = self.inbound.handle(self.addr.clone(), request);
                let tx = self.own_tx.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    if let Some(response) = reply.response(answer.await) {
                        let _ = tx.unbounded_send(Command::Send(response));
                    }
                });
            }
        }
    }
}
