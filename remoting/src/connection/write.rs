//! The writing side of a connection: queued frames, the writer task, and the responses a read
//! turn gathers.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use ferromq_protocol::frame;
use ferromq_protocol::{RemotingCommand, SerializeType};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use super::Connection;
use crate::error::RemotingError;

/// One queued frame: its encoded length words and header, and its body as the command holds it.
///
/// Only the header is encoded by the sender (a small buffer); the body is a reference-counted
/// [`Bytes`], copied once, by the writer, into the buffer it writes from. One large buffer per
/// frame made the allocator the largest cost of a busy client (glibc consolidates its small-chunk
/// bins on every large allocation).
pub(super) struct Frame {
    header: Bytes,
    body: Bytes,
}

impl Frame {
    pub(super) fn encode(cmd: &RemotingCommand) -> Result<Frame, RemotingError> {
        let mut header = BytesMut::with_capacity(256);
        frame::encode_header(cmd, SerializeType::Json, cmd.body.len(), &mut header)?;
        Ok(Frame {
            header: header.freeze(),
            body: cmd.body.clone(),
        })
    }

    pub(super) fn len(&self) -> usize {
        self.header.len() + self.body.len()
    }
}

/// Most bytes gathered into one `write` when several frames are queued.
const WRITE_BATCH: usize = 64 * 1024;

/// Bodies at least this large are written from their own buffer instead of being copied.
const COPY_BODY_BELOW: usize = 16 * 1024;

/// Writes `buf` whole, or gives up when the connection closes (a peer that reads nothing would
/// otherwise hold the writer, its socket and its buffers forever).
async fn write_or_close<W: AsyncWrite + Unpin>(
    write: &mut W,
    buf: &[u8],
    conn: &Connection,
) -> std::io::Result<()> {
    tokio::select! {
        r = write.write_all(buf) => r,
        () = conn.closed() => Err(std::io::ErrorKind::ConnectionAborted.into()),
    }
}

pub(super) async fn write_loop<W: AsyncWrite + Unpin>(
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
        // Queued bytes of the frames in `batch`.
        let mut batched = 0;
        while let Some(frame) = next.take() {
            batched += frame.len();
            batch.extend_from_slice(&frame.header);
            if frame.body.len() < COPY_BODY_BELOW {
                batch.extend_from_slice(&frame.body);
            } else {
                let sent = match write_or_close(&mut write, &batch, &conn).await {
                    Ok(()) => write_or_close(&mut write, &frame.body, &conn).await,
                    Err(e) => Err(e),
                };
                batch.clear();
                if sent.is_err() {
                    break 'frames;
                }
                conn.written(batched);
                batched = 0;
            }
            if batch.len() < WRITE_BATCH {
                next = rx.try_recv().ok();
            }
        }
        if !batch.is_empty() {
            let sent = write_or_close(&mut write, &batch, &conn).await;
            batch.clear();
            if sent.is_err() {
                break;
            }
            conn.written(batched);
        }
    }
    conn.close();
    let _ = tokio::time::timeout(Duration::from_secs(1), write.shutdown()).await;
}

/// Responses of requests answered inline during one read turn, encoded back to back: they go
/// to the writer as one queue entry, so a burst of requests costs one channel send, one wake-up
/// of the writer and one `write` instead of one of each per response.
pub(super) struct Gathered {
    buf: BytesMut,
}

/// Gathered bytes handed to the writer at once when reached (the rest of the read turn gathers
/// anew). Bounds what a read turn holds besides the queue counted in `queued_bytes`.
const GATHER_MAX: usize = 64 * 1024;

impl Gathered {
    pub(super) fn new() -> Self {
        Gathered {
            buf: BytesMut::new(),
        }
    }

    /// Adds `response`, or hands it to the writer alone when its body is too large to copy
    /// (after what was gathered so far, so that the order is kept).
    pub(super) async fn push(&mut self, conn: &Connection, response: &RemotingCommand) {
        if response.body.len() >= COPY_BODY_BELOW {
            self.flush(conn).await;
            if let Err(e) = conn.send_raw(response).await {
                tracing::debug!(error = %e, "could not send a response");
            }
            return;
        }
        if self.buf.capacity() == 0 {
            self.buf.reserve(4 * 1024);
        }
        let start = self.buf.len();
        match frame::encode_header(
            response,
            SerializeType::Json,
            response.body.len(),
            &mut self.buf,
        ) {
            Ok(()) => self.buf.extend_from_slice(&response.body),
            Err(e) => {
                self.buf.truncate(start);
                tracing::debug!(error = %e, "could not encode a response");
            }
        }
        if self.buf.len() >= GATHER_MAX {
            self.flush(conn).await;
        }
    }

    /// Queues what was gathered for the writer.
    pub(super) async fn flush(&mut self, conn: &Connection) {
        if self.buf.is_empty() {
            return;
        }
        let frame = Frame {
            header: self.buf.split().freeze(),
            body: Bytes::new(),
        };
        if let Err(e) = conn.queue(frame).await {
            tracing::debug!(error = %e, "could not send responses");
        }
    }
}
