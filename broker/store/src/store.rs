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
use ferromq_protocol::message::MessageExt;

use crate::checkpoint::{Checkpoint, CheckpointFile};
use crate::commit_log::{AppendResult, CommitLog, DispatchRequest};
use crate::config::{FlushDiskType, StoreConfig};
use crate::consume_queue::{ConsumeQueueStore, CqUnit, TimeBoundary};
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

#[derive(Debug)]
struct ConsumeQueueDispatcher(Arc<ConsumeQueueStore>);
impl Dispatcher for ConsumeQueueDispatcher {
    fn dispatch(&self, req: &DispatchRequest) -> Result<()> {
        self.0.dispatch(req)
    }
    fn ordered_per_queue(&self) -> bool {
        true
    }
}

#[derive(Debug)]
struct IndexDispatcher(Arc<IndexService>);
impl Dispatcher for IndexDispatcher {
    fn dispatch(&self, req: &DispatchRequest) -> Result<()> {
        self.0.dispatch(req)
    }
    fn end_of_pass(&self) -> Result<()> {
        self.0.end_of_pass()
    }
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
    dispatchers: Vec<Arc<dyn Dispatcher>>,
    checkpoint: Mutex<(CheckpointFile, Checkpoint)>,
    fault: Arc<Fault>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    pub(crate) stopping: Arc<AtomicBool>,
    writable: AtomicBool,
    pub(crate) disk_full: AtomicBool,
    pub(crate) disk_used: AtomicU64,
    last_exit_ok: bool,
    total_memory: u64,
    /// Told the log's new end after every local append (a master's replication).
    pub(crate) append_listener: OnceLock<AppendListener>,
    /// Commitlog offset the dispatcher stops at (`u64::MAX`: none); controller mode keeps
    /// consumers below the confirm offset with it ([`MessageStore::set_dispatch_limit`]).
    pub(crate) dispatch_limit: Arc<AtomicU64>,
    _lock: File,
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

fn total_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(8 << 30)
}

fn take_lock(config: &StoreConfig) -> Result<File> {
    let path = config.root_file("lock");
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| StoreError::io("open", &path, e))?;
    rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive)
        .map_err(|_| StoreError::Locked(config.root().to_owned()))?;
    Ok(file)
}

impl MessageStore {
    /// Opens (creating if needed) the store under `config.store_path_root_dir`, recovers it and
    /// starts its threads.
    pub fn open(config: StoreConfig) -> Result<Arc<MessageStore>> {
        MessageStore::open_with_listener(config, None)
    }

    /// Like [`MessageStore::open`], calling `listener` for every dispatched record.
    pub fn open_with_listener(
        config: StoreConfig,
        listener: Option<ArrivalListener>,
    ) -> Result<Arc<MessageStore>> {
        MessageStore::open_truncated(config, listener, None)
    }

    /// Like [`MessageStore::open_with_listener`], and when `truncate_to` is below the recovered
    /// end, cuts the commitlog there (with the consume queues) before anything reads it: a
    /// former master in controller mode drops the tail its new master never had.
    pub fn open_truncated(
        config: StoreConfig,
        listener: Option<ArrivalListener>,
        truncate_to: Option<u64>,
    ) -> Result<Arc<MessageStore>> {
        let root = config.root().to_owned();
        std::fs::create_dir_all(&root).map_err(|e| StoreError::io("create", &root, e))?;
        let lock = take_lock(&config)?;
        let abort = config.root_file("abort");
        let last_exit_ok = !abort.exists();
        let commit_log = Arc::new(CommitLog::load(&config)?);
        let (cp_file, cp) = CheckpointFile::open(&config.root_file("checkpoint"))?;
        let cq_size = usize::try_from(config.consume_queue_file_size())
            .map_err(|_| StoreError::Corrupt("mappedFileSizeConsumeQueue too large".to_owned()))?;
        let consume_queues = Arc::new(ConsumeQueueStore::load(
            &config.consume_queue_dir(),
            cq_size,
        )?);
        consume_queues.recover()?;
        let index = if config.message_index_enable {
            Some(Arc::new(IndexService::load(
                &config.index_dir(),
                config.max_hash_slot_num,
                config.max_index_num,
                // With FerroMQ's checkpoint the index is known durable up to the dispatched
                // offset, so Apache's rule (drop index files newer than the checkpoint time after
                // a crash) is only needed for stores last written by Apache.
                last_exit_ok || cp.dispatched_offset.is_some(),
                cp.index_msg_timestamp,
            )?))
        } else {
            None
        };

        // Where consume queues and index may lag the commitlog.
        let mut dispatch_from = consume_queues.max_phy_offset();
        if !last_exit_ok {
            if let Some(durable) = cp.dispatched_offset {
                consume_queues.truncate_from(durable)?;
                dispatch_from = durable;
            }
            tracing::warn!(root = %root.display(), from = dispatch_from, "last exit was abnormal: recovering");
        }
        let dispatch_from = dispatch_from.max(commit_log.min_offset());
        // The index rebuilds from its own end (it skips what it already holds).
        let index_from = index
            .as_ref()
            .map(|i| {
                u64::try_from(i.last_update().1)
                    .unwrap_or(0)
                    .min(dispatch_from)
            })
            .unwrap_or(dispatch_from)
            .max(commit_log.min_offset());
        let scan_start = dispatch_from.min(index_from);
        let scan_from = if commit_log.files().is_empty() {
            0
        } else {
            scan_start - scan_start % config.mapped_file_size_commit_log
        };
        let mut redispatched = 0u64;
        let mut undispatchable = 0u64;
        let mut rebuild_error = None;
        // Below this offset the commitlog was synced when the checkpoint was written (a clean
        // shutdown records its end); unknown (0) in a checkpoint written by Apache.
        let durable = cp.flushed_offset.unwrap_or(0);
        // A transient failure fails the start (after it nothing more is dispatched, so no
        // queue gets a gap); a record that cannot be dispatched is counted and skipped.
        let end = commit_log.recover(
            scan_from,
            config.check_crc_on_recover,
            durable,
            config.force_recover_corrupt_commit_log,
            |req| {
                if rebuild_error.is_some() {
                    return;
                }
                let mut ok = Ok(true);
                if req.commit_log_offset >= dispatch_from {
                    ok = rebuilt("consume queue", req, consume_queues.dispatch(req));
                    redispatched += 1;
                }
                if req.commit_log_offset >= index_from {
                    if let (Some(index), Ok(_)) = (&index, &ok) {
                        let indexed = rebuilt("index", req, index.dispatch(req));
                        ok = ok.and_then(|cq| indexed.map(|i| cq && i));
                    }
                }
                match ok {
                    Ok(true) => {}
                    Ok(false) => undispatchable += 1,
                    Err(e) => rebuild_error = Some(e),
                }
            },
        )?;
        if let Some(e) = rebuild_error {
            return Err(e);
        }
        let end = match truncate_to {
            Some(cut) if cut < end => {
                commit_log.files().truncate(cut)?;
                tracing::warn!(root = %root.display(), from = end, to = cut, "commitlog truncated to the master's epoch boundary");
                cut
            }
            _ => end,
        };
        if end == 0 && commit_log.files().is_empty() {
            consume_queues.destroy_all()?;
        } else {
            consume_queues.truncate_from(end)?;
        }
        for (topic, queue_id, next) in consume_queues.next_offsets() {
            commit_log.set_queue_offset(&topic, queue_id, next);
        }
        consume_queues.flush()?;
        if let Some(index) = &index {
            index.flush()?;
        }
        tracing::info!(
            root = %root.display(),
            commit_log_end = end,
            redispatched,
            clean = last_exit_ok,
            "store recovered"
        );

        let mut dispatchers: Vec<Arc<dyn Dispatcher>> =
            vec![Arc::new(ConsumeQueueDispatcher(consume_queues.clone()))];
        if let Some(index) = &index {
            dispatchers.push(Arc::new(IndexDispatcher(index.clone())));
        }
        let reput = Reput::new(end);
        reput.count_undispatchable(undispatchable);
        let store = Arc::new(MessageStore {
            live: RwLock::new(Arc::new(config.clone())),
            reput,
            dispatchers,
            fault: commit_log.fault().clone(),
            checkpoint: Mutex::new((cp_file, cp)),
            threads: Mutex::new(Vec::new()),
            stopping: Arc::new(AtomicBool::new(false)),
            writable: AtomicBool::new(true),
            disk_full: AtomicBool::new(false),
            disk_used: AtomicU64::new(0),
            last_exit_ok,
            total_memory: total_memory(),
            append_listener: OnceLock::new(),
            dispatch_limit: Arc::new(AtomicU64::new(u64::MAX)),
            config,
            commit_log,
            consume_queues,
            index,
            _lock: lock,
        });
        store.write_checkpoint()?;
        store.start_threads(listener)?;
        std::fs::write(&abort, std::process::id().to_string())
            .map_err(|e| StoreError::io("create", &abort, e))?;
        Ok(store)
    }

    fn start_threads(self: &Arc<Self>, listener: Option<ArrivalListener>) -> Result<()> {
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
    pub fn put_messages(&self, messages: &[MessageExt]) -> Result<Pending> {
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
        let wait = messages
            .first()
            .is_none_or(|m| m.properties.wait_store_msg_ok());
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

    /// The consume queue's first and next offsets, or `None` if it does not exist.
    pub fn queue_range(&self, topic: &str, queue_id: i32) -> Option<(i64, i64)> {
        self.consume_queues
            .queue(topic, queue_id)
            .map(|q| (q.min_offset(), q.max_offset()))
    }

    /// Next queue offset to be written (0 for an unknown queue).
    pub fn max_offset_in_queue(&self, topic: &str, queue_id: i32) -> i64 {
        self.queue_range(topic, queue_id).map(|r| r.1).unwrap_or(0)
    }

    /// First queue offset still kept (0 for an unknown queue).
    pub fn min_offset_in_queue(&self, topic: &str, queue_id: i32) -> i64 {
        self.queue_range(topic, queue_id).map(|r| r.0).unwrap_or(0)
    }

    /// The queue's unit at `queue_offset`.
    pub fn unit(&self, topic: &str, queue_id: i32, queue_offset: i64) -> Option<CqUnit> {
        self.consume_queues
            .queue(topic, queue_id)?
            .unit(queue_offset)
    }

    pub(crate) fn store_time_of(&self, commit_log_offset: i64) -> Option<i64> {
        let offset = u64::try_from(commit_log_offset).ok()?;
        let rec = self.commit_log.read_record(offset)?;
        let m = ferromq_protocol::message::decode_all(
            &rec,
            &ferromq_protocol::message::DecodeOptions::store(),
        )
        .ok()?
        .into_iter()
        .next()?;
        Some(m.store_timestamp)
    }

    /// Queue offset of the first message stored at or after `timestamp_ms` (`upper`: the last at
    /// or before), as SEARCH_OFFSET_BY_TIMESTAMP answers.
    pub fn offset_by_time(
        &self,
        topic: &str,
        queue_id: i32,
        timestamp_ms: i64,
        upper: bool,
    ) -> i64 {
        match self.consume_queues.queue(topic, queue_id) {
            Some(q) => {
                let boundary = if upper {
                    TimeBoundary::Upper
                } else {
                    TimeBoundary::Lower
                };
                q.offset_by_time(timestamp_ms, boundary, |off| self.store_time_of(off))
            }
            None => 0,
        }
    }

    /// Store time of the first message still kept in a queue.
    pub fn earliest_message_time(&self, topic: &str, queue_id: i32) -> Option<i64> {
        let q = self.consume_queues.queue(topic, queue_id)?;
        let unit = q.unit(q.min_offset())?;
        self.store_time_of(unit.commit_log_offset)
    }

    /// The stored record at a commitlog offset (VIEW_MESSAGE_BY_ID).
    pub fn message_at(&self, commit_log_offset: u64) -> Option<Bytes> {
        self.commit_log.read_record(commit_log_offset)
    }

    /// Reads up to `max_msgs` messages (and roughly `max_bytes`) of a queue from `offset`,
    /// applying `filter`, with Apache's statuses and transfer limits (docs/store.md, "Reading").
    pub fn get_message(
        &self,
        topic: &str,
        queue_id: i32,
        offset: i64,
        max_msgs: usize,
        max_bytes: usize,
        filter: &dyn MessageFilter,
    ) -> GetMessageResult {
        let mut r = GetMessageResult {
            status: GetMessageStatus::NoMatchedLogicQueue,
            next_begin_offset: 0,
            min_offset: 0,
            max_offset: 0,
            messages: Vec::new(),
            queue_offsets: Vec::new(),
            suggest_pulling_from_slave: false,
        };
        let Some(q) = self.consume_queues.queue(topic, queue_id) else {
            return r;
        };
        let (min, max) = (q.min_offset(), q.max_offset());
        r.min_offset = min;
        r.max_offset = max;
        if max == 0 {
            r.status = GetMessageStatus::NoMessageInQueue;
            return r;
        }
        if offset < min {
            r.status = GetMessageStatus::OffsetTooSmall;
            r.next_begin_offset = min;
            return r;
        }
        if offset == max {
            r.status = GetMessageStatus::OffsetOverflowOne;
            r.next_begin_offset = offset;
            return r;
        }
        if offset > max {
            r.status = GetMessageStatus::OffsetOverflowBadly;
            r.next_begin_offset = max;
            return r;
        }
        let max_msgs = max_msgs.max(1);
        let scan = (16_000 / 20).max(max_msgs);
        let units = q.units(offset, scan);
        if units.is_empty() {
            r.status = GetMessageStatus::OffsetFoundNull;
            r.next_begin_offset = offset + 1;
            return r;
        }
        let max_phy = self.commit_log.max_offset();
        let config = self.live_config();
        let hot_bytes = self.total_memory * config.access_message_in_memory_max_ratio / 100;
        r.status = GetMessageStatus::NoMatchedMessage;
        let mut next = offset;
        let mut total = 0usize;
        let mut last_phy = 0u64;
        for (qoff, unit) in units {
            let Ok(phy) = u64::try_from(unit.commit_log_offset) else {
                next = qoff + 1;
                continue;
            };
            let size = usize::try_from(unit.size).unwrap_or(0);
            if size == 0 || unit.size == i32::MAX {
                next = qoff + 1;
                continue;
            }
            let hot = max_phy.saturating_sub(phy) <= hot_bytes;
            if !r.messages.is_empty() {
                let (count_limit, bytes_limit) = if hot {
                    (
                        config.max_transfer_count_on_message_in_memory,
                        config.max_transfer_bytes_on_message_in_memory,
                    )
                } else {
                    (
                        config.max_transfer_count_on_message_in_disk,
                        config.max_transfer_bytes_on_message_in_disk,
                    )
                };
                if r.messages.len() >= max_msgs
                    || r.messages.len() >= count_limit
                    || total + size > bytes_limit
                    || total + size > max_bytes
                {
                    break;
                }
            }
            next = qoff + 1;
            if !filter.matches_tags_code(unit.tags_code) {
                continue;
            }
            let Some(record) = self.commit_log.read(phy, size) else {
                if r.status != GetMessageStatus::Found {
                    r.status = GetMessageStatus::MessageWasRemoving;
                }
                continue;
            };
            if !filter.matches_record(&record) {
                continue;
            }
            total += size;
            last_phy = phy;
            r.messages.push(record);
            r.queue_offsets.push(qoff);
            r.status = GetMessageStatus::Found;
        }
        r.next_begin_offset = next;
        r.suggest_pulling_from_slave = max_phy.saturating_sub(last_phy) > hot_bytes;
        r
    }

    /// Messages whose `KEYS` or `UNIQ_KEY` hash-match `key` in `topic`, stored in `begin..=end`
    /// (ms), at most `max_num` (capped at `maxMsgsNumBatch`).
    pub fn query_message(
        &self,
        topic: &str,
        key: &str,
        max_num: usize,
        begin_ms: i64,
        end_ms: i64,
    ) -> QueryMessageResult {
        let Some(index) = &self.index else {
            return QueryMessageResult::default();
        };
        let found = index.query(
            topic,
            key,
            max_num.min(self.live_config().max_msgs_num_batch),
            begin_ms,
            end_ms,
        );
        QueryMessageResult {
            messages: found
                .phy_offsets
                .iter()
                .filter_map(|o| u64::try_from(*o).ok())
                .filter_map(|o| self.commit_log.read_record(o))
                .collect(),
            index_last_update_timestamp: found.index_last_update_timestamp,
            index_last_update_phyoffset: found.index_last_update_phyoffset,
        }
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

/// Recovery's verdict on one re-dispatch: `Ok(true)` done, `Ok(false)` the record cannot be
/// dispatched (logged; skipped), `Err` a transient failure that fails the start.
fn rebuilt(what: &str, req: &DispatchRequest, r: Result<()>) -> Result<bool> {
    match r {
        Ok(()) => Ok(true),
        Err(e) if e.is_transient() => Err(StoreError::NotWritable(format!(
            "rebuilding the {what} at commitlog offset {} failed: {e}",
            req.commit_log_offset
        ))),
        Err(e) => {
            tracing::error!(
                error = %e,
                topic = %req.topic,
                queue_id = req.queue_id,
                offset = req.commit_log_offset,
                "record cannot be dispatched to the {what}; skipped"
            );
            Ok(false)
        }
    }
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(f)
        .map_err(|e| StoreError::NotWritable(format!("cannot start thread {name}: {e}")))
}
