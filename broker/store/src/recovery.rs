//! Opening a [`MessageStore`] (docs/store.md, "Opening and recovery"): the lock, the files,
//! the consume queues and index recovered against the commitlog, a torn tail truncated, and the
//! cut of a former master's tail in controller mode ([`MessageStore::open_truncated`]). The
//! store module's docs describe the steps.

use std::fs::File;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use crate::checkpoint::CheckpointFile;
use crate::commit_log::{CommitLog, DispatchRequest};
use crate::config::StoreConfig;
use crate::consume_queue::ConsumeQueueStore;
use crate::dispatch::{ArrivalListener, Dispatcher, Reput};
use crate::error::{Result, StoreError};
use crate::index::IndexService;
use crate::store::MessageStore;

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
