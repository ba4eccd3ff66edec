//! One remoting connection: frames in both directions, requests multiplexed by opaque.
//!
//! A connection is symmetric. Whoever opened it, either side may send requests: a client calls
//! the server, and the server calls the client over the same socket (check-transaction,
//! notify-consumer-ids-changed, protocol.md 2.4). Incoming requests go to a [`Handler`];
//! incoming responses complete the matching pending call.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use ferromq_protocol::codes::{LanguageCode, ResponseCode, Version};
use ferromq_protocol::frame::{self, FrameDecoder, DEFAULT_MAX_FRAME_LEN};
use ferromq_protocol::{RemotingCommand, SerializeType};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, Semaphore};

use crate::error::RemotingError;

/// Remark Apache sends when it sheds load (clients recognise the `[OVERLOAD]` prefix).
pub const OVERLOAD_REMARK: &str = "[OVERLOAD]system busy, start flow control for a while";

/// Handles requests arriving on a connection.
pub trait Handler: Send + Sync + 'static {
    /// Answers `request`. The returned response gets the request's opaque and the response flag;
    /// it is dropped for oneway requests, which are never answered. `None` sends nothing.
    fn handle(
        &self,
        conn: &Connection,
        request: RemotingCommand,
    ) -> impl Future<Output = Option<RemotingCommand>> + Send;

    /// Called once when the connection has closed (peer gone, idle, bad frame or shutdown).
    fn on_close(&self, _conn: &Connection) {}
}

/// A handler for connections whose peer sends no requests (a client talking to a name server):
/// anything that arrives is left unanswered.
#[derive(Debug, Clone, Copy, Default)]
pub struct IgnoreRequests;

impl Handler for IgnoreRequests {
    async fn handle(
        &self,
        _conn: &Connection,
        _request: RemotingCommand,
    ) -> Option<RemotingCommand> {
        None
    }
}

/// Settings of a connection.
#[derive(Clone, Debug)]
pub struct ConnectionConfig {
    /// Largest frame accepted, length field included.
    pub max_frame_len: usize,
    /// Close after this long without receiving anything (Apache: 120 s).
    pub idle_timeout: Duration,
    /// Requests handled at once on this connection; beyond it requests get `SYSTEM_BUSY`.
    pub max_in_flight: usize,
    /// Frames queued for writing before senders wait.
    pub write_queue: usize,
    /// `language` stamped on commands this side originates or answers.
    pub language: LanguageCode,
    /// `version` stamped on commands this side originates or answers.
    pub version: Version,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        ConnectionConfig {
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
            idle_timeout: Duration::from_secs(120),
            max_in_flight: 256,
            write_queue: 4096,
            language: LanguageCode::JAVA,
            version: Version::V5_3_3,
        }
    }
}

type Pending = Mutex<HashMap<i32, oneshot::Sender<RemotingCommand>>>;

struct Inner {
    id: u64,
    peer: SocketAddr,
    local: SocketAddr,
    tx: mpsc::Sender<Frame>,
    pending: Pending,
    next_opaque: AtomicI32,
    closed: AtomicBool,
    close_signal: tokio::sync::Notify,
    config: ConnectionConfig,
}

/// A cheap, cloneable handle to one live (or closed) connection.
#[derive(Clone)]
pub struct Connection {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("id", &self.inner.id)
            .field("peer", &self.inner.peer)
            .field("closed", &self.is_closed())
            .finish()
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl Connection {
    /// Dials `addr` and starts serving the connection; requests from the peer go to `handler`.
    pub async fn connect<H: Handler>(
        addr: &str,
        handler: Arc<H>,
        config: ConnectionConfig,
    ) -> Result<Connection, RemotingError> {
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|source| RemotingError::Connect {
                addr: addr.to_owned(),
                source,
            })?;
        Connection::start(stream, handler, config).map_err(|source| RemotingError::Connect {
            addr: addr.to_owned(),
            source,
        })
    }

    /// Starts serving an established stream (the server side of an accepted socket, or a dialed
    /// one). Returns at once; reading and writing run on spawned tasks.
    pub fn start<H: Handler>(
        stream: TcpStream,
        handler: Arc<H>,
        config: ConnectionConfig,
    ) -> std::io::Result<Connection> {
        let _ = stream.set_nodelay(true);
        let peer = stream.peer_addr()?;
        let local = stream.local_addr()?;
        let (read, write) = stream.into_split();
        Ok(Connection::start_io(
            read, write, peer, local, handler, config,
        ))
    }

    /// Starts serving a connection over any byte stream halves carrying remoting frames (the
    /// WebSocket listener uses it); `peer` and `local` are what [`Self::peer_addr`] and
    /// [`Self::local_addr`] report.
    pub fn start_io<R, W, H>(
        read: R,
        write: W,
        peer: SocketAddr,
        local: SocketAddr,
        handler: Arc<H>,
        config: ConnectionConfig,
    ) -> Connection
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
        H: Handler,
    {
        let (tx, rx) = mpsc::channel(config.write_queue.max(1));
        let conn = Connection {
            inner: Arc::new(Inner {
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                peer,
                local,
                tx,
                pending: Mutex::new(HashMap::new()),
                next_opaque: AtomicI32::new(1),
                closed: AtomicBool::new(false),
                close_signal: tokio::sync::Notify::new(),
                config,
            }),
        };
        tokio::spawn(write_loop(write, rx, conn.clone()));
        tokio::spawn(read_loop(read, conn.clone(), handler));
        conn
    }

    /// A process-unique id of this connection.
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.inner.peer
    }

    /// This side's address.
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local
    }

    /// Whether the connection has closed.
    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire)
    }

    /// Closes the connection; pending calls fail with [`RemotingError::Closed`].
    pub fn close(&self) {
        if !self.inner.closed.swap(true, Ordering::AcqRel) {
            self.inner.close_signal.notify_waiters();
            self.lock_pending().clear();
        }
    }

    /// Waits until the connection has closed.
    pub async fn closed(&self) {
        while !self.is_closed() {
            let notified = self.inner.close_signal.notified();
            if self.is_closed() {
                break;
            }
            notified.await;
        }
    }

    fn lock_pending(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<i32, oneshot::Sender<RemotingCommand>>> {
        // A poisoned map only means a panic elsewhere; the map itself is still consistent.
        self.inner.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn stamp(&self, cmd: &mut RemotingCommand) {
        cmd.language = self.inner.config.language;
        cmd.version = self.inner.config.version.0;
    }

    /// Sends `request` and waits up to `timeout` for its response.
    pub async fn request(
        &self,
        mut request: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, RemotingError> {
        let opaque = self.inner.next_opaque.fetch_add(1, Ordering::Relaxed);
        request.opaque = opaque;
        request.flag &= !ferromq_protocol::command::FLAG_ONEWAY;
        self.stamp(&mut request);
        let (tx, rx) = oneshot::channel();
        self.lock_pending().insert(opaque, tx);
        if let Err(e) = self.send_raw(&request).await {
            self.lock_pending().remove(&opaque);
            return Err(e);
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(_)) => Err(RemotingError::Closed),
            Err(_) => {
                self.lock_pending().remove(&opaque);
                Err(RemotingError::Timeout(timeout))
            }
        }
    }

    /// Sends `request` as oneway (no response will come).
    pub async fn request_oneway(&self, mut request: RemotingCommand) -> Result<(), RemotingError> {
        request.opaque = self.inner.next_opaque.fetch_add(1, Ordering::Relaxed);
        request.flag |= ferromq_protocol::command::FLAG_ONEWAY;
        self.stamp(&mut request);
        self.send_raw(&request).await
    }

    /// Encodes and queues one command as is (JSON header).
    pub async fn send_raw(&self, cmd: &RemotingCommand) -> Result<(), RemotingError> {
        if self.is_closed() {
            return Err(RemotingError::Closed);
        }
        let frame = Frame::encode(cmd)?;
        self.inner
            .tx
            .send(frame)
            .await
            .map_err(|_| RemotingError::Closed)
    }

    fn try_send_raw(&self, cmd: &RemotingCommand) {
        if let Ok(frame) = Frame::encode(cmd) {
            // Only used for overload answers: if even the write queue is full, drop it.
            let _ = self.inner.tx.try_send(frame);
        }
    }
}

/// One queued frame: its encoded length words and header, and its body as the command holds it.
///
/// Only the header is encoded by the sender (a small buffer); the body is a reference-counted
/// [`Bytes`], copied once, by the writer, into the buffer it writes from. One large buffer per
/// frame made the allocator the largest cost of a busy client (glibc consolidates its small-chunk
/// bins on every large allocation).
struct Frame {
    header: Bytes,
    body: Bytes,
}

impl Frame {
    fn encode(cmd: &RemotingCommand) -> Result<Frame, RemotingError> {
        let mut header = BytesMut::with_capacity(256);
        frame::encode_header(cmd, SerializeType::Json, cmd.body.len(), &mut header)?;
        Ok(Frame {
            header: header.freeze(),
            body: cmd.body.clone(),
        })
    }
}

/// Most bytes gathered into one `write` when several frames are queued.
const WRITE_BATCH: usize = 64 * 1024;

/// Bodies at least this large are written from their own buffer instead of being copied.
const COPY_BODY_BELOW: usize = 16 * 1024;

async fn write_loop<W: AsyncWrite + Unpin>(
    mut write: W,
    mut rx: mpsc::Receiver<Frame>,
    conn: Connection,
) {
    let mut batch = BytesMut::with_capacity(WRITE_BATCH);
    'frames: loop {
        let first = tokio::select! {
            f = rx.recv() => f,
            _ = conn.closed() => None,
        };
        let Some(first) = first else { break };
        // Frames queued meanwhile (responses finishing together, async sends) go out in the same
        // syscall: one `write` per burst instead of one per frame.
        let mut next = Some(first);
        while let Some(frame) = next.take() {
            batch.extend_from_slice(&frame.header);
            if frame.body.len() < COPY_BODY_BELOW {
                batch.extend_from_slice(&frame.body);
            } else {
                let sent = match write.write_all(&batch).await {
                    Ok(()) => write.write_all(&frame.body).await,
                    Err(e) => Err(e),
                };
                batch.clear();
                if sent.is_err() {
                    break 'frames;
                }
            }
            if batch.len() < WRITE_BATCH {
                next = rx.try_recv().ok();
            }
        }
        if !batch.is_empty() {
            let sent = write.write_all(&batch).await;
            batch.clear();
            if sent.is_err() {
                break;
            }
        }
    }
    let _ = write.shutdown().await;
    conn.close();
}

async fn read_loop<R: AsyncRead + Unpin, H: Handler>(
    mut read: R,
    conn: Connection,
    handler: Arc<H>,
) {
    let config = conn.inner.config.clone();
    let decoder = FrameDecoder::new(config.max_frame_len);
    let in_flight = Arc::new(Semaphore::new(config.max_in_flight.max(1)));
    let mut buf = BytesMut::with_capacity(8 * 1024);
    'outer: loop {
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(cmd)) => dispatch(&conn, &handler, &in_flight, cmd),
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(peer = %conn.peer_addr(), error = %e, "closing connection: bad frame");
                    break 'outer;
                }
            }
        }
        if buf.capacity() - buf.len() < 4096 {
            buf.reserve(8 * 1024);
        }
        let read_result = tokio::select! {
            r = tokio::time::timeout(config.idle_timeout, read.read_buf(&mut buf)) => r,
            _ = conn.closed() => break,
        };
        match read_result {
            Ok(Ok(0)) => break,
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::debug!(peer = %conn.peer_addr(), error = %e, "read failed");
                break;
            }
            Err(_) => {
                tracing::info!(peer = %conn.peer_addr(), "closing idle connection");
                break;
            }
        }
    }
    conn.close();
    handler.on_close(&conn);
}

fn dispatch<H: Handler>(
    conn: &Connection,
    handler: &Arc<H>,
    in_flight: &Arc<Semaphore>,
    cmd: RemotingCommand,
) {
    if cmd.is_response() {
        let waiter = conn.lock_pending().remove(&cmd.opaque);
        match waiter {
            Some(tx) => {
                let _ = tx.send(cmd);
            }
            None => tracing::debug!(
                opaque = cmd.opaque,
                "response to an unknown or timed-out request"
            ),
        }
        return;
    }
    let Ok(permit) = in_flight.clone().try_acquire_owned() else {
        if !cmd.is_oneway() {
            let mut busy = RemotingCommand::answering(
                &cmd,
                ResponseCode::SYSTEM_BUSY,
                OVERLOAD_REMARK.to_owned(),
            );
            conn.stamp(&mut busy);
            conn.try_send_raw(&busy);
        }
        return;
    };
    let conn = conn.clone();
    let handler = handler.clone();
    tokio::spawn(async move {
        let opaque = cmd.opaque;
        let oneway = cmd.is_oneway();
        let response = handler.handle(&conn, cmd).await;
        drop(permit);
        if let (Some(mut response), false) = (response, oneway) {
            response.opaque = opaque;
            response.flag |= ferromq_protocol::command::FLAG_RESPONSE;
            conn.stamp(&mut response);
            if let Err(e) = conn.send_raw(&response).await {
                tracing::debug!(error = %e, "could not send a response");
            }
        }
    });
}
