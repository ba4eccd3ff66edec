//! One remoting connection: frames in both directions, requests multiplexed by opaque.
//!
//! A connection is symmetric. Whoever opened it, either side may send requests: a client calls
//! the server, and the server calls the client over the same socket (check-transaction,
//! notify-consumer-ids-changed, docs/protocol.md, "Requests from the broker to the client").
//! Incoming requests go to a [`Handler`]; incoming responses complete the matching pending call.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

use bytes::BytesMut;
use ferromq_protocol::codes::{LanguageCode, ResponseCode, Version};
use ferromq_protocol::frame::{FrameDecoder, DEFAULT_MAX_FRAME_LEN};
use ferromq_protocol::mux::{self, Inbound, Mux};
use ferromq_protocol::RemotingCommand;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, Notify, Semaphore};
use tokio::time::Instant;

use crate::error::RemotingError;
use crate::tls::TlsConnector;

mod write;
use write::{write_loop, Frame, Gathered};

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

/// Netty's default write-buffer high water mark (64 KiB): what Apache's
/// `writeBufferHighWaterMark = 0` means, and what the servers use then.
pub const DEFAULT_WRITE_HIGH_WATER_MARK: usize = 64 * 1024;
/// Netty's default write-buffer low water mark (32 KiB).
pub const DEFAULT_WRITE_LOW_WATER_MARK: usize = 32 * 1024;

/// Settings of a connection.
#[derive(Clone, Debug)]
pub struct ConnectionConfig {
    /// Largest frame accepted, length field included.
    pub max_frame_len: usize,
    /// Close when no complete frame has arrived for this long while nothing is in flight (no
    /// request of the peer being handled, no call of ours awaiting its response). Bytes that do
    /// not complete a frame do not count, so a peer trickling a byte at a time cannot keep the
    /// connection open (Apache: `serverChannelMaxIdleTimeSeconds`, 120 s).
    pub idle_timeout: Duration,
    /// Close when a frame has been arriving for this long without being complete, whatever is in
    /// flight (slowloris). The servers use `serverChannelMaxIdleTimeSeconds` for it too.
    pub frame_timeout: Duration,
    /// Requests handled at once on this connection; beyond it requests get `SYSTEM_BUSY`. A
    /// request holds its slot until its response is queued for the socket.
    pub max_in_flight: usize,
    /// Frames queued for writing before senders wait.
    pub write_queue: usize,
    /// Bytes queued for the socket above which this side stops reading requests until the queue
    /// is back under [`Self::write_low_water_mark`] (Netty's `writeBufferHighWaterMark`, which
    /// Apache's server turns into auto-read off). So a peer that sends requests without reading
    /// the responses costs a bounded amount of memory: this mark, plus the responses of the
    /// requests already read (at most `max_in_flight`), plus `write_queue` overload answers. A
    /// peer that reads nothing for `idle_timeout` while reading is stopped is disconnected.
    ///
    /// 0 (the default) never stops reading. Servers turn it on; clients leave it off: a client
    /// must keep reading responses while its own requests queue, or two peers that both stop
    /// reading could wait on each other.
    pub write_high_water_mark: usize,
    /// Where reading resumes once stopped by [`Self::write_high_water_mark`].
    pub write_low_water_mark: usize,
    /// Connections [`crate::serve`] and [`crate::serve_websocket`] keep open at once, each
    /// listener counting its own; beyond it new connections are closed as they are accepted and
    /// the open ones are served as before. 0 = no limit. Not used by a single connection.
    pub max_connections: usize,
    /// `language` stamped on commands this side originates or answers.
    pub language: LanguageCode,
    /// `version` stamped on commands this side originates or answers.
    pub version: Version,
    /// TLS for connections this side dials ([`Connection::connect`]); `None` is plaintext.
    /// Not used by listeners, whose TLS is [`crate::serve_tls`]'s.
    pub tls: Option<TlsConnector>,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        ConnectionConfig {
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
            idle_timeout: Duration::from_secs(120),
            frame_timeout: Duration::from_secs(120),
            max_in_flight: 256,
            write_queue: 4096,
            write_high_water_mark: 0,
            write_low_water_mark: 0,
            max_connections: 0,
            language: LanguageCode::JAVA,
            version: Version::V5_3_3,
            tls: None,
        }
    }
}

/// A call of ours awaiting its response.
struct Waiter {
    tx: oneshot::Sender<Result<RemotingCommand, RemotingError>>,
    /// The call's timeout (for the error when it expires).
    timeout: Duration,
}

/// Calls awaiting responses, by opaque (the multiplexer shared with the WASM client).
type Pending = Mux<Waiter, Instant>;

struct Inner {
    id: u64,
    peer: SocketAddr,
    local: SocketAddr,
    tx: mpsc::Sender<Frame>,
    pending: Mutex<Pending>,
    closed: AtomicBool,
    close_signal: Notify,
    /// Bytes of frames handed to the writer and not yet written to the socket.
    queued_bytes: AtomicUsize,
    /// Counts writes to the socket (progress of a slow reader).
    writes: AtomicU64,
    /// Signalled after each write to the socket.
    wrote: Notify,
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
    /// With [`ConnectionConfig::tls`] set, the TLS handshake completes first.
    pub async fn connect<H: Handler>(
        addr: &str,
        handler: Arc<H>,
        config: ConnectionConfig,
    ) -> Result<Connection, RemotingError> {
        let failed = |source| RemotingError::Connect {
            addr: addr.to_owned(),
            source,
        };
        let stream = TcpStream::connect(addr).await.map_err(failed)?;
        let Some(tls) = config.tls.clone() else {
            return Connection::start(stream, handler, config).map_err(failed);
        };
        let _ = stream.set_nodelay(true);
        let peer = stream.peer_addr().map_err(failed)?;
        let local = stream.local_addr().map_err(failed)?;
        let stream = tls.connect(addr, stream).await.map_err(failed)?;
        Ok(Connection::start_stream(
            stream, peer, local, handler, config,
        ))
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
        let (conn, rx) = Connection::new(peer, local, config);
        tokio::spawn(write_loop(write, rx, conn.clone()));
        tokio::spawn(read_loop(read, conn.clone(), handler));
        conn
    }

    /// Starts serving a connection over one stream that cannot be read and written
    /// independently (a TLS stream: reading and writing both go through its one session
    /// state). Its reader and writer run in one task, so they never contend for the split
    /// stream's lock from two threads (with many requests in flight, that contention cost a
    /// futex wake-up per collision).
    pub fn start_stream<S, H>(
        stream: S,
        peer: SocketAddr,
        local: SocketAddr,
        handler: Arc<H>,
        config: ConnectionConfig,
    ) -> Connection
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        H: Handler,
    {
        let (read, write) = tokio::io::split(stream);
        let (conn, rx) = Connection::new(peer, local, config);
        let (w, r) = (conn.clone(), conn.clone());
        tokio::spawn(async move {
            tokio::join!(write_loop(write, rx, w), read_loop(read, r, handler));
        });
        conn
    }

    fn new(
        peer: SocketAddr,
        local: SocketAddr,
        config: ConnectionConfig,
    ) -> (Connection, mpsc::Receiver<Frame>) {
        let (tx, rx) = mpsc::channel(config.write_queue.max(1));
        let conn = Connection {
            inner: Arc::new(Inner {
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                peer,
                local,
                tx,
                pending: Mutex::new(Mux::new()),
                closed: AtomicBool::new(false),
                close_signal: Notify::new(),
                queued_bytes: AtomicUsize::new(0),
                writes: AtomicU64::new(0),
                wrote: Notify::new(),
                config,
            }),
        };
        (conn, rx)
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

    /// Bytes queued for the socket and not yet written (frames handed to the writer, the one
    /// being written included).
    pub fn queued_bytes(&self) -> usize {
        self.inner.queued_bytes.load(Ordering::Acquire)
    }

    /// Closes the connection; pending calls fail with [`RemotingError::Closed`].
    pub fn close(&self) {
        if !self.inner.closed.swap(true, Ordering::AcqRel) {
            self.inner.close_signal.notify_waiters();
            // Dropping the waiters fails their calls.
            drop(self.lock_pending().close());
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

    fn lock_pending(&self) -> std::sync::MutexGuard<'_, Pending> {
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
        self.stamp(&mut request);
        let deadline = mux::deadline(Instant::now(), timeout);
        let (tx, rx) = oneshot::channel();
        let opaque = self
            .lock_pending()
            .request(&mut request, Waiter { tx, timeout }, deadline)
            .map_err(|_| RemotingError::Closed)?;
        if let Err(e) = self.send_raw(&request).await {
            self.lock_pending().forget(opaque);
            return Err(e);
        }
        match tokio::time::timeout_at(deadline, rx).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) => Err(RemotingError::Closed),
            Err(_) => {
                self.lock_pending().forget(opaque);
                Err(RemotingError::Timeout(timeout))
            }
        }
    }

    /// Sends `request` as oneway (no response will come).
    pub async fn request_oneway(&self, mut request: RemotingCommand) -> Result<(), RemotingError> {
        self.stamp(&mut request);
        self.lock_pending()
            .oneway(&mut request)
            .map_err(|_| RemotingError::Closed)?;
        self.send_raw(&request).await
    }

    /// Encodes and queues one command as is (JSON header).
    pub async fn send_raw(&self, cmd: &RemotingCommand) -> Result<(), RemotingError> {
        if self.is_closed() {
            return Err(RemotingError::Closed);
        }
        self.queue(Frame::encode(cmd)?).await
    }

    /// Hands an encoded frame to the writer, counting its bytes as queued.
    async fn queue(&self, frame: Frame) -> Result<(), RemotingError> {
        let len = frame.len();
        self.inner.queued_bytes.fetch_add(len, Ordering::AcqRel);
        if self.inner.tx.send(frame).await.is_err() {
            self.inner.queued_bytes.fetch_sub(len, Ordering::AcqRel);
            return Err(RemotingError::Closed);
        }
        Ok(())
    }

    fn try_send_raw(&self, cmd: &RemotingCommand) {
        if let Ok(frame) = Frame::encode(cmd) {
            // Only used for overload answers: if even the write queue is full, drop it.
            let len = frame.len();
            self.inner.queued_bytes.fetch_add(len, Ordering::AcqRel);
            if self.inner.tx.try_send(frame).is_err() {
                self.inner.queued_bytes.fetch_sub(len, Ordering::AcqRel);
            }
        }
    }

    /// The writer has written `len` queued bytes to the socket.
    fn written(&self, len: usize) {
        self.inner.queued_bytes.fetch_sub(len, Ordering::AcqRel);
        // Only a connection that stops reading waits for writes.
        if self.inner.config.write_high_water_mark > 0 {
            self.inner.writes.fetch_add(1, Ordering::AcqRel);
            self.inner.wrote.notify_waiters();
        }
    }

    /// Whether anything is in flight: a request of the peer being handled (`in_flight` lent
    /// out) or a call of ours awaiting its response.
    fn busy(&self, in_flight: &Semaphore) -> bool {
        in_flight.available_permits() < self.inner.config.max_in_flight.max(1)
            || !self.lock_pending().is_idle()
    }

    /// Whether more than the high water mark is queued (reading stops; never with the mark off).
    fn over_high_water_mark(&self) -> bool {
        let high = self.inner.config.write_high_water_mark;
        high > 0 && self.queued_bytes() > high
    }

    /// If more than the high water mark is queued (the peer is not reading its responses),
    /// waits until the queue is back under the low water mark: reading stops meanwhile.
    async fn backlogged(&self) -> Backlog {
        let high = self.inner.config.write_high_water_mark;
        if high == 0 || self.queued_bytes() <= high {
            return Backlog::None;
        }
        tracing::debug!(
            peer = %self.peer_addr(),
            queued = self.queued_bytes(),
            "write queue over the high water mark: reading stopped"
        );
        if self.drained().await {
            Backlog::Drained
        } else {
            Backlog::Close
        }
    }

    /// Waits until the queue is back under the low water mark. False when the connection
    /// closed meanwhile or the peer read nothing for `idle_timeout` (then it is closed).
    async fn drained(&self) -> bool {
        let config = &self.inner.config;
        loop {
            let wrote = self.inner.wrote.notified();
            if self.queued_bytes() <= config.write_low_water_mark {
                return true;
            }
            if self.is_closed() {
                return false;
            }
            let writes = self.inner.writes.load(Ordering::Acquire);
            tokio::select! {
                () = wrote => {}
                () = tokio::time::sleep(config.idle_timeout) => {
                    if self.inner.writes.load(Ordering::Acquire) == writes {
                        tracing::info!(
                            peer = %self.peer_addr(),
                            queued = self.queued_bytes(),
                            "closing connection: the peer has read nothing for {:?}",
                            config.idle_timeout
                        );
                        return false;
                    }
                }
                () = self.closed() => return false,
            }
        }
    }
}

/// What [`Connection::backlogged`] found.
enum Backlog {
    /// Under the high water mark: read on.
    None,
    /// Was over it, and the peer has read enough since.
    Drained,
    /// Was over it, and the peer read nothing for the idle time (or the connection closed).
    Close,
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
    let mut gathered = Gathered::new();
    // When the last complete frame arrived (or the connection was last found busy).
    let mut active = Instant::now();
    // Since when the incomplete frame in `buf` has been arriving.
    let mut partial_since: Option<Instant> = None;
    'outer: loop {
        let mut decoded = false;
        let mut paused = false;
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(cmd)) => {
                    decoded = true;
                    // Checked before each request, not only before each read: one read can bring
                    // many requests.
                    if !cmd.is_response() {
                        if conn.over_high_water_mark() {
                            // What is gathered goes first: the writer drains it with the rest.
                            gathered.flush(&conn).await;
                        }
                        match conn.backlogged().await {
                            Backlog::None => {}
                            Backlog::Drained => paused = true,
                            Backlog::Close => break 'outer,
                        }
                    }
                    if let Some(response) = dispatch(&conn, &handler, &in_flight, cmd).await {
                        gathered.push(&conn, &response).await;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    gathered.flush(&conn).await;
                    tracing::warn!(peer = %conn.peer_addr(), error = %e, "closing connection: bad frame");
                    break 'outer;
                }
            }
        }
        // Everything answered in this turn goes out before the next read can wait.
        gathered.flush(&conn).await;
        let now = Instant::now();
        if decoded {
            active = now;
            partial_since = None;
        }
        if buf.is_empty() {
            partial_since = None;
        } else if partial_since.is_none() {
            partial_since = Some(now);
        }
        match conn.backlogged().await {
            Backlog::None => {}
            Backlog::Drained => paused = true,
            Backlog::Close => break,
        }
        if paused {
            // Time spent not reading is not the peer's delay.
            let now = Instant::now();
            active = now;
            partial_since = partial_since.map(|_| now);
        }
        if buf.capacity() - buf.len() < 4096 {
            buf.reserve(8 * 1024);
        }
        let mut deadline = active + config.idle_timeout;
        if let Some(since) = partial_since {
            deadline = deadline.min(since + config.frame_timeout);
        }
        let read_result = tokio::select! {
            r = read.read_buf(&mut buf) => r,
            () = tokio::time::sleep_until(deadline) => {
                let now = Instant::now();
                if partial_since.is_some_and(|since| now >= since + config.frame_timeout) {
                    tracing::info!(
                        peer = %conn.peer_addr(),
                        "closing connection: a frame took longer than {:?} to arrive",
                        config.frame_timeout
                    );
                    break;
                }
                if now >= active + config.idle_timeout {
                    if !conn.busy(&in_flight) {
                        tracing::info!(
                            peer = %conn.peer_addr(),
                            "closing idle connection: no complete frame for {:?}",
                            config.idle_timeout
                        );
                        break;
                    }
                    active = now;
                }
                continue;
            }
            _ = conn.closed() => break,
        };
        match read_result {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                tracing::debug!(peer = %conn.peer_addr(), error = %e, "read failed");
                break;
            }
        }
    }
    conn.close();
    handler.on_close(&conn);
}

/// Polls `fut` once with the calling task's context; `Err` when it panicked.
///
/// A handler that panics must cost only its own request, as it did when every request ran in a
/// task of its own: a panic unwinding through the read loop would end the connection without
/// its `on_close` (and its peer's registrations would linger until they expire).
async fn poll_once<F: Future + Unpin>(fut: &mut F) -> std::thread::Result<Poll<F::Output>> {
    std::future::poll_fn(|cx| {
        Poll::Ready(std::panic::catch_unwind(std::panic::AssertUnwindSafe(
            || Pin::new(&mut *fut).poll(cx),
        )))
    })
    .await
}

/// Routes one incoming command: a response completes its call; a request is handled.
///
/// The handler is polled once right here, in the read loop: most requests (an ASYNC_FLUSH send,
/// a heartbeat, an offset update) complete without waiting, and their response is returned, to
/// be gathered with the others of this read turn. Only a handler that waits (a held pull, a
/// SYNC_FLUSH or replication wait, a call to another peer) becomes a task of its own, so that it
/// never holds up the requests behind it.
async fn dispatch<H: Handler>(
    conn: &Connection,
    handler: &Arc<H>,
    in_flight: &Arc<Semaphore>,
    cmd: RemotingCommand,
) -> Option<RemotingCommand> {
    let inbound = {
        let mut pending = conn.lock_pending();
        if cmd.is_response() {
            // Calls past their deadline are timed out before a late answer could complete them.
            for (_, late) in pending.expire(Instant::now()) {
                let _ = late.tx.send(Err(RemotingError::Timeout(late.timeout)));
            }
        }
        pending.receive(cmd)
    };
    let (cmd, reply) = match inbound {
        Inbound::Response { waiter, response } => {
            let _ = waiter.tx.send(Ok(response));
            return None;
        }
        Inbound::Unmatched(response) => {
            tracing::debug!(
                opaque = response.opaque,
                "response to an unknown or timed-out request"
            );
            return None;
        }
        Inbound::Request { request, reply } => (request, reply),
    };
    let Ok(permit) = in_flight.clone().try_acquire_owned() else {
        if !reply.is_oneway() {
            let mut busy = RemotingCommand::answering(
                &cmd,
                ResponseCode::SYSTEM_BUSY,
                OVERLOAD_REMARK.to_owned(),
            );
            conn.stamp(&mut busy);
            conn.try_send_raw(&busy);
        }
        return None;
    };
    let mut answer = {
        let (conn, handler) = (conn.clone(), handler.clone());
        Box::pin(async move {
            let answer = handler.handle(&conn, cmd).await;
            reply.response(answer).map(|mut response| {
                conn.stamp(&mut response);
                response
            })
        })
    };
    match poll_once(&mut answer).await {
        // The slot is free once the response is the read loop's: it is queued before the next
        // read (and what a read turn gathers is bounded by GATHER_MAX).
        Ok(Poll::Ready(response)) => response,
        Err(_) => {
            // The panic's message went to the panic hook (the log); the request stays
            // unanswered, as a panicked task's did, and the connection goes on.
            tracing::error!(peer = %conn.peer_addr(), "a request handler panicked; the request is not answered");
            None
        }
        Ok(Poll::Pending) => {
            let conn = conn.clone();
            tokio::spawn(async move {
                if let Some(response) = answer.await {
                    if let Err(e) = conn.send_raw(&response).await {
                        tracing::debug!(error = %e, "could not send a response");
                    }
                }
                // The slot is free once the response is queued (counted in the queued bytes),
                // not before: until then the response exists only here.
                drop(permit);
            });
            None
        }
    }
}
