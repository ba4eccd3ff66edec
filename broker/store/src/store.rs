//! [`MessageStore`]: the commitlog, consume queues, index and checkpoint working together.
//!
//! Opening (docs/store.md, "Opening and recovery"): take the `lock` file, note whether the last run
//! ended cleanly (no `abort` file), load every file, recover the consume queues, then scan the
//! commitlog from where the consume queues and index may lag, re-dispatching every record from
//! there (both are idempotent) and truncating a torn tail (an invalid record past the synced
//! offset the checkpoint records; one before it stops start-up, see
//! `forceRecoverCorruptCommitLog`). After a clean exit that point is the consume queues'
//! high-water mark; after a crash it is FerroMQ's checkpointed dispatch offset (consume queues
//! are cut back to it first), falling back to the high-water mark for a store last written by
//! Apache.
//!
//! After a failed write or sync ([`MessageStore::fault`]) the store refuses every put and fails
//! every SYNC_FLUSH wait with [`PutStatus::Failed`] until restarted; reads go on. It then writes
//! no checkpoint and keeps the `abort` file, so the next start recovers from the last state known
//! to be on disk.

use std::fs::File;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferromq_protocol::message::{EncodeRecord, MessageExt};

use crate::checkpoint::{Checkpoint, CheckpointFile};
use crate::commit_log::{AppendResult, CommitLog};
use crate::config::{FlushDiskType, StoreConfig};
use crate::consume_queue::ConsumeQueueStore;
use crate::dispatch::{ArrivalListener, Dispatcher, Reput};
use crate::error::{Result, StoreError};
use crate::fault::Fault;
use crate::flush::{FlushOutcome, FlushTicket};
use crate::index::IndexService;

/// How a put's durability ended (PutMessageStatus of an appended message).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PutStatus {
    /// Stored, and flushed as the flush policy requires.
    PutOk,
    /// Stored, but the SYNC_FLUSH sync did not complete in time (response code 10).
    FlushDiskTimeout,
    /// Not acknowledged: a write or sync of the store failed (the reason), so the message may
    /// never reach the disk. The store refuses writes until restarted; a broker answers
    /// SYSTEM_ERROR.
    Failed(Arc<str>),
}

/// A stored message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PutResult {
    /// Durability outcome.
    pub status: PutStatus,
    /// Where it was written.
    pub append: AppendResult,
}

/// An appended message whose flush may still be pending.
#[derive(Debug)]
pub struct Pending {
    /// Where it was written.
    pub append: AppendResult,
    ticket: FlushTicket,
}

impl Pending {
    /// Waits (async) for the flush policy to be satisfied.
    pub async fn finish(self) -> PutResult {
        let outcome = self.ticket.clone().await;
        Self::result(self.append, outcome)
    }

    /// Waits (blocking) for the flush policy to be satisfied.
    pub fn wait(self) -> PutResult {
        let outcome = self.ticket.wait();
        Self::result(self.append, outcome)
    }

    fn result(append: AppendResult, outcome: FlushOutcome) -> PutResult {
        PutResult {
            status: match outcome {
                FlushOutcome::Flushed => PutStatus::PutOk,
                FlushOutcome::TimedOut => PutStatus::FlushDiskTimeout,
                FlushOutcome::Failed(reason) => PutStatus::Failed(reason),
            },
            append,
        }
    }
}

/// Outcome of a pull from one queue (Apache's GetMessageStatus, docs/protocol.md, "Pull headers").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GetMessageStatus {
    /// Messages returned.
    Found,
    /// Units scanned, none passed the filter.
    NoMatchedMessage,
    /// The commitlog bytes are gone (retention).
    MessageWasRemoving,
    /// A hole in the queue.
    OffsetFoundNull,
    /// Offset beyond the queue end.
    OffsetOverflowBadly,
    /// Offset exactly at the queue end: caught up.
    OffsetOverflowOne,
    /// Offset before the first kept unit.
    OffsetTooSmall,
    /// The queue does not exist.
    NoMatchedLogicQueue,
    /// The queue exists but is empty.
    NoMessageInQueue,
}

impl GetMessageStatus {
    /// The Java constant name (the pull response's remark).
    pub fn name(self) -> &'static str {
        match self {
            GetMessageStatus::Found => "FOUND",
            GetMessageStatus::NoMatchedMessage => "NO_MATCHED_MESSAGE",
            GetMessageStatus::MessageWasRemoving => "MESSAGE_WAS_REMOVING",
            GetMessageStatus::OffsetFoundNull => "OFFSET_FOUND_NULL",
            GetMessageStatus::OffsetOverflowBadly => "OFFSET_OVERFLOW_BADLY",
            GetMessageStatus::OffsetOverflowOne => "OFFSET_OVERFLOW_ONE",
            GetMessageStatus::OffsetTooSmall => "OFFSET_TOO_SMALL",
            GetMessageStatus::NoMatchedLogicQueue => "NO_MATCHED_LOGIC_QUEUE",
            GetMessageStatus::NoMessageInQueue => "NO_MESSAGE_IN_QUEUE",
        }
    }
}

/// Result of [`MessageStore::get_message`].
#[derive(Clone, Debug)]
pub struct GetMessageResult {
    /// Outcome.
    pub status: GetMessageStatus,
    /// Queue offset the consumer should ask for next.
    pub next_begin_offset: i64,
    /// Queue's first offset.
    pub min_offset: i64,
    /// Queue's next offset to be written.
    pub max_offset: i64,
    /// Stored records, zero-copy slices of the commitlog (a pull response body concatenates them).
    pub messages: Vec<Bytes>,
    /// Queue offset of each record in `messages`.
    pub queue_offsets: Vec<i64>,
    /// Whether the consumer is far behind (a slave could serve it).
    pub suggest_pulling_from_slave: bool,
}

impl GetMessageResult {
    /// Total bytes of the records.
    pub fn total_size(&self) -> usize {
        self.messages.iter().map(Bytes::len).sum()
    }
}

/// Decides which messages a pull returns (tag codes at the consume-queue level, properties at the
/// commitlog level for SQL92).
pub trait MessageFilter: Send + Sync {
    /// Consume-queue check on the unit's tag hash code.
    fn matches_tags_code(&self, tags_code: i64) -> bool;
    /// Commitlog check on the stored record (SQL92); TAG filters accept everything.
    fn matches_record(&self, _record: &Bytes) -> bool {
        true
    }
}

/// A filter that accepts everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct AcceptAll;

impl MessageFilter for AcceptAll {
    fn matches_tags_code(&self, _tags_code: i64) -> bool {
        true
    }
}

/// Result of [`MessageStore::query_message`].
#[derive(Clone, Debug, Default)]
pub struct QueryMessageResult {
    /// Stored records whose key hash matched (callers re-check keys).
    pub messages: Vec<Bytes>,
    /// Index end timestamp.
    pub index_last_update_timestamp: i64,
    /// Index end commitlog offset.
    pub index_last_update_phyoffset: i64,
}

/// The message store.
pub struct MessageStore {
    /// The settings the store opened with (paths, sizes, flush mode: fixed while it is open).
    pub(crate) config: StoreConfig,
    /// The settings now: [`MessageStore::update_config`] changes the run-time ones.
    pub(crate) live: RwLock<Arc<StoreConfig>>,
    pub(crate) commit_log: Arc<CommitLog>,
    pub(crate) consume_queues: Arc<ConsumeQueueStore>,
    pub(crate) index: Option<Arc<IndexService>>,
    pub(crate) reput: Arc<Reput>,
    pub(crate) dispatchers: Vec<Arc<dyn Dispatcher>>,
    pub(crate) checkpoint: Mutex<(CheckpointFile, Checkpoint)>,
    pub(crate) fault: Arc<Fault>,
    pub(crate) threads: Mutex<Vec<JoinHandle<()>>>,
    pub(crate) stopping: Arc<AtomicBool>,
    pub(crate) writable: AtomicBool,
    pub(crate) disk_full: AtomicBool,
    pub(crate) disk_used: AtomicU64,
    pub(crate) last_exit_ok: bool,
    pub(crate) total_memory: u64,
    /// Told the log's new end after every local append (a master's replication).
    pub(crate) append_listener: OnceLock<AppendListener>,
    /// Commitlog offset the dispatcher stops at (`u64::MAX`: none); controller mode keeps
    /// consumers below the confirm offset with it ([`MessageStore::set_dispatch_limit`]).
    pub(crate) dispatch_limit: Arc<AtomicU64>,
    pub(crate) _lock: File,
}

/// Called with the commitlog's new end after every local append.
pub type AppendListener = Arc<dyn Fn(u64) + Send + Sync>;

impl std::fmt::Debug for MessageStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageStore")
            .field("root", &self.config.root())
            .field("commit_log_max_offset", &self.commit_log.max_offset())
            .field("dispatched", &self.reput.offset())
            .finish_non_exhaustive()
    }
}

impl MessageStore {
    pub(crate) fn start_threads(self: &Arc<Self>, listener: Option<ArrivalListener>) -> Result<()> {
        let mut threads = self.threads.lock().unwrap_or_else(|e| e.into_inner());
        let log = self.commit_log.clone();
        threads.push(spawn("fmq-flush", move || log.flusher().run(log.files()))?);

        let sync = self.config.flush_disk_type == FlushDiskType::SyncFlush;
        if sync {
            let reput = self.reput.clone();
            self.commit_log
                .flusher()
                .set_on_flushed(Arc::new(move |_| reput.wake()));
        }
        let (reput, log, dispatchers, limit) = (
            self.reput.clone(),
            self.commit_log.clone(),
            self.dispatchers.clone(),
            self.dispatch_limit.clone(),
        );
        threads.push(spawn("fmq-dispatch", move || {
            let bound_log = log.clone();
            reput.run(&log, &dispatchers, listener, move || {
                let end = if sync {
                    bound_log.flushed_offset()
                } else {
                    bound_log.max_offset()
                };
                end.min(limit.load(Ordering::Acquire))
            })
        })?);

        let store = Arc::downgrade(self);
        let stopping = self.stopping.clone();
        threads.push(spawn("fmq-housekeeping", move || {
            let mut last_cq_flush = Instant::now();
            let mut last_clean = Instant::now();
            while !stopping.load(Ordering::Acquire) {
                std::thread::sleep(Duration::from_millis(200));
                let Some(store) = store.upgrade() else { return };
                let clean_every =
                    Duration::from_millis(store.live_config().clean_resource_interval.max(200));
                if last_clean.elapsed() >= clean_every {
                    last_clean = Instant::now();
                    if let Err(e) = store.clean_files(std::time::SystemTime::now(), false) {
                        tracing::error!(error = %e, "retention pass failed");
                    }
                }
                if last_cq_flush.elapsed()
                    >= Duration::from_millis(
                        store.live_config().flush_interval_consume_queue.max(200),
                    )
                {
                    last_cq_flush = Instant::now();
                    if store.fault.is_set() {
                        continue;
                    }
                    if let Err(e) = store.write_checkpoint() {
                        tracing::error!(error = %e, "checkpoint failed");
                    }
                }
            }
        })?);
        Ok(())
    }

    /// Syncs consume queues and index, then records in the checkpoint how far they are durable.
    pub(crate) fn write_checkpoint(&self) -> Result<()> {
        if let Some(reason) = self.fault.reason() {
            return Err(StoreError::NotWritable(format!(
                "store fault, no checkpoint written: {reason}"
            )));
        }
        // Both read before the syncs below: each was true when read and stays true.
        let dispatched = self.reput.durable_offset();
        let flushed = self.commit_log.synced_whole_offset();
        let written = self.sync_and_write_checkpoint(dispatched, flushed);
        if let Err(e) = &written {
            // Whatever failed (a consume-queue, index or checkpoint write or sync), the disk can
            // no longer be trusted.
            self.fault.record(format_args!("checkpoint: {e}"));
        }
        written
    }

    fn sync_and_write_checkpoint(&self, dispatched: u64, flushed: u64) -> Result<()> {
        self.consume_queues.flush()?;
        if let Some(index) = &self.index {
            index.flush()?;
        }
        let mut guard = self.checkpoint.lock().unwrap_or_else(|e| e.into_inner());
        let (file, cp) = &mut *guard;
        cp.dispatched_offset = Some(dispatched);
        cp.flushed_offset = Some(flushed);
        cp.physic_msg_timestamp = crate::commit_log::now_ms();
        cp.logics_msg_timestamp = cp.physic_msg_timestamp;
        if let Some(index) = &self.index {
            cp.index_msg_timestamp = index.flushed_index_timestamp();
        }
        file.write(cp)
    }

    /// Why the store refuses writes after a failed write or sync, or `None` while it is healthy.
    /// Set once and kept until the store is reopened; the broker reports it in its runtime
    /// info.
    pub fn fault(&self) -> Option<Arc<str>> {
        self.fault.reason()
    }

    /// Records that could not be dispatched to a consume queue or the index because of
    /// something about the record itself (a topic that cannot name a directory, a bad queue id,
    /// ...), counted since the store was opened. Each was logged with its topic, queue and
    /// offset and skipped.
    pub fn undispatchable_records(&self) -> u64 {
        self.reput.undispatchable()
    }

    /// The settings the store opened with. Run-time settings may have changed since: see
    /// [`MessageStore::live_config`].
    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    /// Whether the previous run ended without a clean shutdown.
    pub fn recovered_from_crash(&self) -> bool {
        !self.last_exit_ok
    }

    /// The commitlog.
    pub fn commit_log(&self) -> &Arc<CommitLog> {
        &self.commit_log
    }

    /// The consume queues.
    pub fn consume_queues(&self) -> &Arc<ConsumeQueueStore> {
        &self.consume_queues
    }

    /// Commitlog offset below which every record is in the consume queues and index.
    pub fn dispatched_offset(&self) -> u64 {
        self.reput.offset()
    }

    /// Refuses (or allows again) writes, e.g. when the disk is too full.
    pub fn set_writable(&self, writable: bool) {
        self.writable.store(writable, Ordering::Release);
    }

    /// Whether puts are accepted.
    pub fn is_writable(&self) -> bool {
        self.writable.load(Ordering::Acquire)
            && !self.disk_full.load(Ordering::Acquire)
            && !self.stopping.load(Ordering::Acquire)
            && !self.fault.is_set()
    }

    /// Records the disk use seen by a retention pass: at `diskSpaceWarningLevelRatio` writes
    /// stop; below `diskSpaceCleanForciblyRatio` they resume.
    pub(crate) fn update_disk_state(&self, used_percent: u64) {
        self.disk_used.store(used_percent, Ordering::Release);
        let config = self.live_config();
        if used_percent >= config.disk_space_warning_level_ratio {
            if !self.disk_full.swap(true, Ordering::AcqRel) {
                tracing::error!(
                    used_percent,
                    limit = config.disk_space_warning_level_ratio,
                    "disk full: refusing writes"
                );
            }
        } else if used_percent < config.disk_space_clean_forcibly_ratio
            && self.disk_full.swap(false, Ordering::AcqRel)
        {
            tracing::warn!(used_percent, "disk space recovered: accepting writes again");
        }
    }

    /// Appends one message; await or wait the returned [`Pending`] for its flush. A message whose
    /// `WAIT` property is `false` does not wait for SYNC_FLUSH.
    pub fn put_message(&self, message: &MessageExt) -> Result<Pending> {
        self.put_messages(std::slice::from_ref(message))
    }

    /// Appends messages of one queue back to back (a batch).
    ///
    /// `M` is a [`MessageExt`] or, for a client's send, a
    /// [`WireMessage`](ferromq_protocol::message::WireMessage) whose properties stay the
    /// client's text.
    pub fn put_messages<M: EncodeRecord>(&self, messages: &[M]) -> Result<Pending> {
        if !self.is_writable() {
            return Err(StoreError::NotWritable(
                if let Some(reason) = self.fault.reason() {
                    format!("store fault, writes refused until restart: {reason}")
                } else if self.stopping.load(Ordering::Acquire) {
                    "the store is shutting down".to_owned()
                } else if self.disk_full.load(Ordering::Acquire) {
                    format!(
                        "disk full: {}% used, at or above diskSpaceWarningLevelRatio {}%",
                        self.disk_used.load(Ordering::Acquire),
                        self.live_config().disk_space_warning_level_ratio
                    )
                } else {
                    "the store refuses writes".to_owned()
                },
            ));
        }
        let append = self.commit_log.append_batch(messages)?;
        if let Some(listener) = self.append_listener.get() {
            listener(append.end_offset());
        }
        let wait = messages.first().is_none_or(|m| m.wait_store_msg_ok());
        let ticket = if wait {
            self.commit_log.flush_ticket(append.end_offset())
        } else {
            self.commit_log.flusher().wake();
            self.commit_log.flush_ticket(0)
        };
        if self.config.flush_disk_type == FlushDiskType::AsyncFlush {
            self.reput.wake();
        }
        Ok(Pending { append, ticket })
    }

    /// Appends and waits (async) for durability.
    pub async fn put(&self, message: &MessageExt) -> Result<PutResult> {
        Ok(self.put_message(message)?.finish().await)
    }

    /// Removes a topic's consume queues and forgets its queue offsets.
    pub fn delete_topic(&self, topic: &str) -> Result<()> {
        self.consume_queues.delete_topic(topic)?;
        self.commit_log.remove_topic(topic);
        Ok(())
    }

    /// Waits until everything written has been dispatched (tests, tools).
    pub fn wait_dispatched(&self, timeout: Duration) -> bool {
        let target = match self.config.flush_disk_type {
            FlushDiskType::SyncFlush => self.commit_log.synced_whole_offset(),
            FlushDiskType::AsyncFlush => self.commit_log.written_whole_offset(),
        };
        self.reput.wake();
        self.reput.wait_for(target, timeout)
    }

    /// Stops the threads, flushes everything, records the checkpoint and removes the `abort`
    /// file. Puts fail from now on.
    pub fn shutdown(&self) -> Result<()> {
        if self.stopping.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        self.commit_log.flusher().stop();
        self.reput.stop();
        let threads: Vec<_> = self
            .threads
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
            .collect();
        for t in threads {
            // The last reference may be dropped on one of our own threads: never join it.
            if t.thread().id() != std::thread::current().id() {
                let _ = t.join();
            }
        }
        if let Some(reason) = self.fault.reason() {
            // Nothing is synced or checkpointed after a fault, and the abort file stays: the
            // next start recovers from the last state known to be on disk.
            tracing::error!(%reason, "store stopped after a fault; the next start recovers as after a crash");
            return Ok(());
        }
        if let Err(e) = self.commit_log.files().flush() {
            self.fault
                .record(format_args!("commitlog flush at shutdown failed: {e}"));
            return Err(e);
        }
        let caught_up = self.reput.durable_offset() >= self.commit_log.max_offset();
        self.write_checkpoint()?;
        if caught_up {
            let abort = self.config.root_file("abort");
            match std::fs::remove_file(&abort) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(StoreError::io("remove", &abort, e)),
            }
        } else {
            tracing::warn!("dispatch lagged at shutdown; next start recovers as after a crash");
        }
        Ok(())
    }
}

impl Drop for MessageStore {
    fn drop(&mut self) {
        if !self.stopping.load(Ordering::Acquire) {
            if let Err(e) = self.shutdown() {
                tracing::error!(error = %e, "store shutdown failed");
            }
        }
    }
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(f)
        .map_err(|e| StoreError::NotWritable(format!("cannot start thread {name}: {e}")))
}
