//! The key index: `index/<yyyyMMddHHmmssSSS>` files in Apache's `IndexFile` format
//! (docs/store.md, "Index files" and "Query by key and by id"), so Apache reads FerroMQ's index and
//! the reverse.
//!
//! Every message gets one entry for `topic#UNIQ_KEY` and one for `topic#k` per space-separated
//! `KEYS` value (rolled-back transaction records get none). An entry holds only the key's Java
//! hash, so a query can return offsets of messages whose key merely hashes the same; the caller
//! re-checks the keys of the messages it reads, as Apache clients do.
//!
//! Files are created sparse at their full size (420,000,040 bytes with the defaults), their hash
//! slots allocated and mapped (`index/slots.rs`) and their entries written with `pwrite` (the
//! layout is documented in `index/file.rs`). One thread dispatches; queries run concurrently on
//! a snapshot of the file list, so deleting a file never disturbs a query already reading it.
//!
//! Writes are gathered per dispatch pass (`index/file.rs`): the dispatcher calls
//! [`IndexService::end_of_pass`], and syncing, querying and rolling over write the batch first.
//!
//! Durability: the header is rewritten with every batch; a process crash loses at most the batch
//! of the pass it interrupted, whose records the recovery dispatches again.
//! [`IndexService::flush`] syncs; once a full file is synced its end timestamp becomes
//! [`IndexService::flushed_index_timestamp`], which the store persists as the checkpoint's
//! `indexMsgTimestamp` (Apache flushes a full file on a helper thread when it rolls over; here
//! the store's periodic flush does it, off the dispatch thread).

mod file;
mod name;
mod slots;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use ferromq_protocol::message::{sysflag, TransactionType};

use crate::commit_log::DispatchRequest;
use crate::error::{Result, StoreError};
use ferromq_common::now_ms;
use file::IndexFile;

/// Apache's `indexKeyHashMethod` for a full index key (`topic#key`): the absolute value of
/// Java's `String.hashCode`, with `Integer.MIN_VALUE` mapped to 0.
pub fn index_key_hash(key: &str) -> i32 {
    file::key_hash(key)
}

/// The commitlog offsets a key query found (Apache's `QueryOffsetResult`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueryOffsetResult {
    /// Commitlog offsets of candidate messages, newest first, without duplicates.
    pub phy_offsets: Vec<i64>,
    /// End timestamp of the newest index file (0 without files).
    pub index_last_update_timestamp: i64,
    /// End commitlog offset of the newest index file (0 without files).
    pub index_last_update_phyoffset: i64,
}

/// The index files of one store.
#[derive(Debug)]
pub struct IndexService {
    dir: PathBuf,
    slots: u32,
    entries: u32,
    /// Oldest first.
    files: RwLock<Vec<Arc<IndexFile>>>,
    /// Serialises writers: dispatch and [`IndexService::destroy_all`].
    writer: Mutex<()>,
    flushed_index_timestamp: AtomicI64,
}

impl IndexService {
    /// Opens the index in `dir` (`StoreConfig::index_dir`) with `maxHashSlotNum` slots and
    /// `maxIndexNum` entries per file.
    ///
    /// Files load in name order. After an abnormal exit (`last_exit_ok` false), files whose end
    /// timestamp is newer than the checkpoint's `indexMsgTimestamp` (`checkpoint_index_ts`) are
    /// deleted, as Apache does; the store's recovery must then re-dispatch from at most the
    /// surviving end offset ([`IndexService::last_update`]) to rebuild them. Files without an
    /// index file name are ignored; an empty file (a creation cut short) is deleted.
    pub fn load(
        dir: &Path,
        max_hash_slot_num: u32,
        max_index_num: u32,
        last_exit_ok: bool,
        checkpoint_index_ts: i64,
    ) -> Result<Self> {
        if max_hash_slot_num == 0 || max_index_num < 2 || i32::try_from(max_index_num).is_err() {
            return Err(StoreError::Corrupt(format!(
                "index settings out of range: maxHashSlotNum {max_hash_slot_num} (>= 1), \
                 maxIndexNum {max_index_num} (2..=2147483647)"
            )));
        }
        let mut names = Vec::new();
        match std::fs::read_dir(dir) {
            Ok(rd) => {
                for entry in rd {
                    let entry = entry.map_err(|e| StoreError::io("list", dir, e))?;
                    let is_file = entry.file_type().is_ok_and(|t| t.is_file());
                    match entry.file_name().to_str() {
                        Some(n) if is_file && name::is_name(n) => names.push(n.to_owned()),
                        _ => tracing::debug!(file = ?entry.path(), "not an index file; ignored"),
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::io("list", dir, e)),
        }
        names.sort();
        let mut files = Vec::with_capacity(names.len());
        for n in names {
            let path = dir.join(&n);
            let len = std::fs::metadata(&path)
                .map_err(|e| StoreError::io("stat", &path, e))?
                .len();
            if len == 0 {
                tracing::warn!(file = %path.display(), "deleting empty index file");
                std::fs::remove_file(&path).map_err(|e| StoreError::io("delete", &path, e))?;
                continue;
            }
            let f = IndexFile::open(&path, max_hash_slot_num, max_index_num)?;
            if !last_exit_ok && f.end_timestamp() > checkpoint_index_ts {
                tracing::info!(
                    file = %path.display(),
                    end_timestamp = f.end_timestamp(),
                    checkpoint_index_ts,
                    "abnormal exit: deleting index file newer than the checkpoint"
                );
                f.remove()?;
                continue;
            }
            files.push(Arc::new(f));
        }
        Ok(IndexService {
            dir: dir.to_owned(),
            slots: max_hash_slot_num,
            entries: max_index_num,
            files: RwLock::new(files),
            writer: Mutex::new(()),
            flushed_index_timestamp: AtomicI64::new(checkpoint_index_ts),
        })
    }

    fn snapshot(&self) -> Vec<Arc<IndexFile>> {
        self.files
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn newest(&self) -> Option<Arc<IndexFile>> {
        self.files
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .last()
            .cloned()
    }

    /// Indexes one dispatched record: `topic#UNIQ_KEY` and `topic#k` for each non-empty
    /// space-separated `KEYS` value. Rolled-back transaction records are skipped, and so are
    /// records below the newest file's end offset (already indexed: re-dispatch after recovery
    /// is idempotent); a key already indexed for the newest file's end offset is not added
    /// again. Rolls over to a new file, named by its creation time, when the newest is full.
    ///
    /// Meant for the single dispatch thread; concurrent calls are serialised.
    pub fn dispatch(&self, req: &DispatchRequest) -> Result<()> {
        if sysflag::transaction_type(req.sys_flag) == TransactionType::Rollback {
            return Ok(());
        }
        let keys = req.uniq_key.iter().map(String::as_str).chain(
            req.keys
                .iter()
                .flat_map(|k| k.split(' '))
                .filter(|k| !k.is_empty()),
        );
        let phy = i64::try_from(req.commit_log_offset).map_err(|_| {
            StoreError::MessageIllegal(format!(
                "commitlog offset {} out of range",
                req.commit_log_offset
            ))
        })?;
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let mut current = self.newest();
        let mut last_indexed = None;
        if let Some(f) = &current {
            if phy < f.end_phy_offset() {
                return Ok(());
            }
            if phy == f.end_phy_offset() {
                last_indexed = Some(f.clone());
            }
        }
        let mut result = Ok(());
        for key in keys {
            let hash = file::topic_key_hash(&req.topic, key);
            if let Some(f) = &last_indexed {
                match f.holds_newest(hash, phy) {
                    Ok(true) => continue,
                    Ok(false) => {}
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
            }
            result = self.put(&mut current, hash, phy, req.store_timestamp);
            if result.is_err() {
                break;
            }
        }
        result
    }

    /// Writes what the dispatches since the last call gathered (the dispatcher calls it after
    /// each pass). A failed write keeps the rest for the next call.
    pub fn end_of_pass(&self) -> Result<()> {
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        self.write_gathered()
    }

    /// [`Self::end_of_pass`] with the writer lock held: only the newest file gathers.
    fn write_gathered(&self) -> Result<()> {
        match self.newest() {
            Some(f) => f.flush_pending(),
            None => Ok(()),
        }
    }

    /// Adds one entry to `current`, rolling over when it is full.
    fn put(
        &self,
        current: &mut Option<Arc<IndexFile>>,
        hash: i32,
        phy: i64,
        store_timestamp: i64,
    ) -> Result<()> {
        loop {
            if let Some(f) = current {
                if f.put(hash, phy, store_timestamp)? {
                    return Ok(());
                }
            }
            let rolled = self.roll(current.as_deref())?;
            *current = Some(rolled);
        }
    }

    /// Creates the next file, inheriting `prev`'s end offset and timestamp.
    fn roll(&self, prev: Option<&IndexFile>) -> Result<Arc<IndexFile>> {
        let (phy, ts) = match prev {
            Some(p) => {
                p.flush_pending()?;
                p.write_header()?;
                (p.end_phy_offset(), p.end_timestamp())
            }
            None => (0, 0),
        };
        let newest_name = prev.map(|p| p.name().to_owned());
        let mut name = name::next(now_ms(), newest_name.as_deref());
        let mut tries = 0;
        let f = loop {
            match IndexFile::create(&self.dir, &name, self.slots, self.entries, phy, ts) {
                Ok(f) => break f,
                // A leftover with that name (deleted from the list but not yet from disk).
                Err(StoreError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::AlreadyExists && tries < 100 =>
                {
                    tries += 1;
                    name = name::next(now_ms(), Some(&name));
                }
                Err(e) => return Err(e),
            }
        };
        tracing::info!(file = %f.path().display(), "created index file");
        let f = Arc::new(f);
        self.files
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(f.clone());
        Ok(f)
    }

    /// Commitlog offsets of messages indexed under `topic#key` and stored within
    /// `[begin_ms, end_ms]`, newest first, at most `max_num` of them, without duplicates.
    ///
    /// Walks the files newest first, skipping files whose time range misses the request and
    /// stopping at the first file that begins before `begin_ms` (Apache's rules). Only hashes
    /// are compared, so other keys with the same Java hash can appear. The store caps `max_num`
    /// at `maxMsgsNumBatch` before calling. A file that cannot be read is logged and skipped.
    pub fn query(
        &self,
        topic: &str,
        key: &str,
        max_num: usize,
        begin_ms: i64,
        end_ms: i64,
    ) -> QueryOffsetResult {
        {
            // What the dispatcher gathered and has not written yet is found too.
            let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
            if let Err(e) = self.write_gathered() {
                tracing::warn!(error = %e, "index query: gathered entries could not be written");
            }
        }
        let files = self.snapshot();
        let mut result = QueryOffsetResult::default();
        let Some(newest) = files.last() else {
            return result;
        };
        result.index_last_update_timestamp = newest.end_timestamp();
        result.index_last_update_phyoffset = newest.end_phy_offset();
        let hash = file::key_hash(&format!("{topic}#{key}"));
        let mut seen = HashSet::new();
        for f in files.iter().rev() {
            if result.phy_offsets.len() >= max_num {
                break;
            }
            if f.time_matches(begin_ms, end_ms) {
                if let Err(e) = f.select(
                    hash,
                    begin_ms,
                    end_ms,
                    max_num,
                    &mut result.phy_offsets,
                    &mut seen,
                ) {
                    tracing::warn!(error = %e, "index query skipped a file");
                }
            }
            if f.begin_timestamp() < begin_ms {
                break;
            }
        }
        result
    }

    /// Syncs every file written since its last sync, and advances
    /// [`IndexService::flushed_index_timestamp`] over the full files now on disk.
    pub fn flush(&self) -> Result<()> {
        {
            let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
            self.write_gathered()?;
        }
        for f in self.snapshot() {
            f.sync()?;
            if f.is_full() {
                self.flushed_index_timestamp
                    .fetch_max(f.end_timestamp(), Ordering::AcqRel);
            }
        }
        Ok(())
    }

    /// End timestamp of the newest full file known to be on disk (or the checkpoint value the
    /// service was loaded with): the store saves it as the checkpoint's `indexMsgTimestamp`.
    pub fn flushed_index_timestamp(&self) -> i64 {
        self.flushed_index_timestamp.load(Ordering::Acquire)
    }

    /// Deletes the oldest files whose end offset is below `commit_log_min_offset` (their
    /// messages are gone), stopping at the first that is not, and never the newest file.
    /// Returns how many were deleted.
    pub fn delete_expired(&self, commit_log_min_offset: u64) -> Result<usize> {
        let min = i64::try_from(commit_log_min_offset).unwrap_or(i64::MAX);
        let expired: Vec<Arc<IndexFile>> = {
            let mut files = self.files.write().unwrap_or_else(PoisonError::into_inner);
            let n = files
                .iter()
                .take(files.len().saturating_sub(1))
                .take_while(|f| f.end_phy_offset() < min)
                .count();
            files.drain(..n).collect()
        };
        for f in &expired {
            tracing::info!(file = %f.path().display(), "deleting expired index file");
            f.remove()?;
        }
        Ok(expired.len())
    }

    /// `(end timestamp, end commitlog offset)` of the newest file, `(0, 0)` without files: the
    /// `indexLastUpdateTimestamp`/`indexLastUpdatePhyoffset` of a query response.
    pub fn last_update(&self) -> (i64, i64) {
        self.newest()
            .map_or((0, 0), |f| (f.end_timestamp(), f.end_phy_offset()))
    }

    /// Deletes every index file (the store is being reset).
    pub fn destroy_all(&self) -> Result<()> {
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let files =
            std::mem::take(&mut *self.files.write().unwrap_or_else(PoisonError::into_inner));
        for f in &files {
            f.remove()?;
        }
        Ok(())
    }
}
