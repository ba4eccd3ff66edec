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
//! listener announces; the answer is cached and forgotten when that connection fails.
//! Connections are opened on demand and reopened on demand after a failure; after a failed
//! connect, attempts to that URL wait out a backoff (100 ms doubling to 3 s), as the TCP
//! transport's do.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::BytesMut;
use ferromq_client::{rt, Error, ErrorKind, InboundHandler, Result, Transport};
use ferromq_protocol::command::{FLAG_ONEWAY, FLAG_RESPONSE};
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

/// How long opening a WebSocket may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Backoff after a failed connect: 100 ms doubling to this cap (as the TCP transport).
const MAX_BACKOFF: Duration = Duration::from_secs(3);

/// Failed connects to one URL in a row, and when the next attempt may start.
#[derive(Debug, Default)]
struct Backoff {
    failures: u32,
    retry_at: Option<rt::Instant>,
}

impl Backoff {
    fn failed(&mut self) {
        self.failures = self.failures.saturating_add(1);
        let pause = Duration::from_millis(100)
            .saturating_mul(1 << self.failures.min(6))
            .min(MAX_BACKOFF);
        self.retry_at = Some(rt::Instant::now() + pause);
    }
}

/// What the transport asks a connection task to do.
enum Command {
    /// Write `cmd`; when `reply` is set, route the response with the same opaque there.
    Send {
        cmd: RemotingCommand,
        reply: Option<oneshot::Sender<Result<RemotingCommand>>>,
    },
    /// The requester stopped waiting for this opaque (timeout).
    Forget(i32),
    /// Close the WebSocket.
    Close,
}

/// The transport's handle of one connection task.
#[derive(Clone)]
struct Conn {
    tx: mpsc::UnboundedSender<Command>,
    alive: Arc<AtomicBool>,
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
    next_opaque: AtomicI32,
    closed: AtomicBool,
    request_timeout: Duration,
}

impl std::fmt::Debug for WsTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsTransport")
            .field("namesrvs", &self.namesrvs)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Whether `addr` is a WebSocket URL (used as is) rather than a broker's `ip:port`.
pub(crate) fn is_ws_url(addr: &str) -> bool {
    let lower = addr.get(..6).unwrap_or("").to_ascii_lowercase();
    lower.starts_with("ws://") || lower.starts_with("wss://")
}

fn operation_of(request: &RemotingCommand) -> &'static str {
    request.request_code().name().unwrap_or("request")
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
            next_opaque: AtomicI32::new(1),
            closed: AtomicBool::new(false),
            request_timeout,
        }
    }

    /// The live connection to `url`, opening one when there is none.
    fn conn(&self, op: &'static str, url: &str, addr: &str) -> Result<Conn> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::new(
                ErrorKind::IllegalState,
                op,
                "the client is shut down",
            ));
        }
        let mut conns = lock(&self.conns);
        if let Some(c) = conns.get(url).filter(|c| c.alive.load(Ordering::Acquire)) {
            return Ok(c.clone());
        }
        let backoff = lock(&self.backoffs)
            .entry(url.to_owned())
            .or_default()
            .clone();
        {
            let b = lock(&backoff);
            if b.retry_at.is_some_and(|at| rt::Instant::now() < at) {
                return Err(Error::new(
                    ErrorKind::Connect,
                    op,
                    format!(
                        "{url} unreachable (backing off after {} failed connects)",
                        b.failures
                    ),
                ));
            }
        }
        let (tx, rx) = mpsc::unbounded();
        let conn = Conn {
            tx,
            alive: Arc::new(AtomicBool::new(true)),
        };
        conns.insert(url.to_owned(), conn.clone());
        drop(conns);
        let task = ConnTask {
            url: url.to_owned(),
            addr: addr.to_owned(),
            inbound: self.inbound.clone(),
            alive: conn.alive.clone(),
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
        let opaque = self.next_opaque.fetch_add(1, Ordering::Relaxed);
        request.opaque = opaque;
        request.flag &= !FLAG_ONEWAY;
        let (reply, rx) = oneshot::channel();
        conn.tx
            .unbounded_send(Command::Send {
                cmd: request,
                reply: Some(reply),
            })
            .map_err(|_| closed(op, addr))?;
        match rt::timeout(timeout, rx).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => Err(closed(op, addr)),
            Err(rt::Elapsed) => {
                let _ = conn.tx.unbounded_send(Command::Forget(opaque));
                Err(Error::new(
                    ErrorKind::Timeout,
                    op,
                    format!("no answer from {addr} within {} ms", timeout.as_millis()),
                ))
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

fn closed(op: &'static str, addr: &str) -> Error {
    Error::new(
        ErrorKind::ConnectionClosed,
        op,
        format!("the WebSocket to {addr} closed"),
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
            request.opaque = self.next_opaque.fetch_add(1, Ordering::Relaxed);
            request.flag |= FLAG_ONEWAY;
            conn.tx
                .unbounded_send(Command::Send {
                    cmd: request,
                    reply: None,
                })
                .map_err(|_| closed(op, addr))
        })
    }

    fn close(&self) {
        self.closed.store(true, Ordering::Release);
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
    alive: Arc<AtomicBool>,
    /// Its own command queue (answers to inbound requests are written through it).
    own_tx: mpsc::UnboundedSender<Command>,
    /// Connect failures of its URL.
    backoff: Arc<Mutex<Backoff>>,
}

type Pending = HashMap<i32, oneshot::Sender<Result<RemotingCommand>>>;

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
        let failure = match open_socket(&self.url, events_tx) {
            Err(e) => Err(self.error(
                ErrorKind::Connect,
                "connect",
                &format!("cannot open a WebSocket: {}", crate::error::js_text(&e)),
            )),
            Ok(handlers) => {
                let opened = rt::timeout(CONNECT_TIMEOUT, events.next()).await;
                match opened {
                    Ok(Some(WsEvent::Open)) => {
                        *lock(&self.backoff) = Backoff::default();
                        let r = self.serve(&handlers.ws, &mut commands, &mut events).await;
                        drop(handlers);
                        r
                    }
                    Err(rt::Elapsed) => Err(self.error(
                        ErrorKind::Connect,
                        "connect",
                        &format!(
                            "WebSocket not open within {} ms",
                            CONNECT_TIMEOUT.as_millis()
                        ),
                    )),
                    Ok(_) => Err(self.error(
                        ErrorKind::Connect,
                        "connect",
                        "cannot open a WebSocket (refused or unreachable)",
                    )),
                }
            }
        };
        self.alive.store(false, Ordering::Release);
        let err = failure.err();
        if err.as_ref().is_some_and(|e| e.kind() == ErrorKind::Connect) {
            lock(&self.backoff).failed();
        }
        // Fail what was queued and not written yet.
        commands.close();
        while let Ok(cmd) = commands.try_recv() {
            if let Command::Send {
                reply: Some(reply),
                cmd,
            } = cmd
            {
                let e = match &err {
                    Some(e) if e.kind() == ErrorKind::Connect => {
                        self.error(ErrorKind::Connect, operation_of(&cmd), e.message())
                    }
                    _ => self.error(ErrorKind::ConnectionClosed, operation_of(&cmd), "closed"),
                };
                let _ = reply.send(Err(e));
            }
        }
    }

    /// Serves an open WebSocket until it closes or fails.
    async fn serve(
        &self,
        ws: &WebSocket,
        commands: &mut mpsc::UnboundedReceiver<Command>,
        events: &mut mpsc::UnboundedReceiver<WsEvent>,
    ) -> Result<()> {
        let mut pending: Pending = HashMap::new();
        let mut buf = BytesMut::new();
        let decoder = FrameDecoder::new(DEFAULT_MAX_FRAME_LEN);
        let outcome = loop {
            let next = futures::future::select(commands.next(), events.next()).await;
            match next {
                futures::future::Either::Left((cmd, _)) => match cmd {
                    None | Some(Command::Close) => break Ok(()),
                    Some(Command::Forget(opaque)) => {
                        pending.remove(&opaque);
                    }
                    Some(Command::Send { mut cmd, reply }) => {
                        cmd.language = LanguageCode::RUST;
                        let mut out = BytesMut::with_capacity(256 + cmd.body.len());
                        if let Err(e) = frame::encode(&cmd, SerializeType::Json, &mut out) {
                            if let Some(reply) = reply {
                                let _ = reply.send(Err(Error::new(
                                    ErrorKind::InvalidArgument,
                                    operation_of(&cmd),
                                    format!("cannot encode the request: {e}"),
                                )));
                            }
                            continue;
                        }
                        if let Err(e) = ws.send_with_u8_array(&out) {
                            let why =
                                format!("WebSocket send failed: {}", crate::error::js_text(&e));
                            if let Some(reply) = reply {
                                let op = operation_of(&cmd);
                                let _ = reply.send(Err(self.error(
                                    ErrorKind::ConnectionClosed,
                                    op,
                                    &why,
                                )));
                            }
                            break Err(why);
                        }
                        if let Some(reply) = reply {
                            pending.insert(cmd.opaque, reply);
                        }
                    }
                },
                futures::future::Either::Right((event, _)) => match event {
                    None => break Err("the WebSocket went away".to_owned()),
                    Some(WsEvent::Error) => break Err("WebSocket error".to_owned()),
                    Some(WsEvent::Closed(code, reason)) => {
                        break Err(format!("the WebSocket closed (code {code} {reason:?})"))
                    }
                    Some(WsEvent::Open) => {}
                    Some(WsEvent::Text) => break Err("the server sent a text message".to_owned()),
                    Some(WsEvent::Data(bytes)) => {
                        buf.extend_from_slice(&bytes);
                        loop {
                            match decoder.decode(&mut buf) {
                                Ok(Some(cmd)) => self.dispatch(cmd, &mut pending),
                                Ok(None) => break,
                                Err(_) => {
                                    fail_all(&mut pending, || {
                                        self.error(
                                            ErrorKind::Protocol,
                                            "receive",
                                            "undecodable frame from the server",
                                        )
                                    });
                                    return Err(self.error(
                                        ErrorKind::Protocol,
                                        "receive",
                                        "undecodable frame",
                                    ));
                                }
                            }
                        }
                    }
                },
            }
        };
        self.alive.store(false, Ordering::Release);
        let why = match &outcome {
            Ok(()) => "the client closed the WebSocket".to_owned(),
            Err(why) => why.clone(),
        };
        fail_all(&mut pending, || {
            self.error(ErrorKind::ConnectionClosed, "request", &why)
        });
        outcome.map_err(|why| self.error(ErrorKind::ConnectionClosed, "request", &why))
    }

    fn dispatch(&self, cmd: RemotingCommand, pending: &mut Pending) {
        if cmd.is_response() {
            if let Some(reply) = pending.remove(&cmd.opaque) {
                let _ = reply.send(Ok(cmd));
            }
            return;
        }
        let opaque = cmd.opaque;
        let oneway = cmd.is_oneway();
        let answer = self.inbound.handle(self.addr.clone(), cmd);
        let tx = self.own_tx.clone();
        wasm_bindgen_futures::spawn_local(async move {
            if let (Some(mut response), false) = (answer.await, oneway) {
                response.opaque = opaque;
                response.flag |= FLAG_RESPONSE;
                let _ = tx.unbounded_send(Command::Send {
                    cmd: response,
                    reply: None,
                });
            }
        });
    }
}

fn fail_all(pending: &mut Pending, err: impl Fn() -> Error) {
    for (_, reply) in pending.drain() {
        let _ = reply.send(Err(err()));
    }
}
