//! A store's side of master/slave replication (docs/store.md, "Replication"): what a master
//! reads for its slaves, and a slave's appends of its master's bytes.

use std::sync::atomic::Ordering;

use bytes::Bytes;

use crate::config::FlushDiskType;
use crate::error::{Result, StoreError};
use crate::store::{AppendListener, MessageStore};

impl MessageStore {
    /// Sets what is told the log's new end after every local append (once; later calls are
    /// ignored and return `false`).
    pub fn set_append_listener(&self, listener: AppendListener) -> bool {
        self.append_listener.set(listener).is_ok()
    }

    /// Appends bytes a master replicated at `offset` ([`CommitLog::append_replicated`](crate::commit_log::CommitLog::append_replicated)) and lets
    /// the flusher and the dispatcher take them up. Refused while the store stops, after an I/O
    /// fault and while the disk is full, as local writes are.
    pub fn append_replicated(&self, offset: u64, data: &[u8]) -> Result<()> {
        if self.stopping.load(Ordering::Acquire) {
            return Err(StoreError::NotWritable(
                "the store is shutting down".to_owned(),
            ));
        }
        if self.disk_full.load(Ordering::Acquire) {
            return Err(StoreError::NotWritable(format!(
                "disk full: {}% used, at or above diskSpaceWarningLevelRatio {}%",
                self.disk_used.load(Ordering::Acquire),
                self.live_config().disk_space_warning_level_ratio
            )));
        }
        self.commit_log.append_replicated(offset, data)?;
        self.commit_log.flusher().wake();
        if self.config.flush_disk_type == FlushDiskType::AsyncFlush {
            self.reput.wake();
        }
        Ok(())
    }

    /// Dispatches (builds consume queues and index for) only records below `limit`
    /// (`u64::MAX`: everything written), so consumers never see bytes past it; a higher limit
    /// wakes the dispatcher. Controller mode sets it to the confirm offset.
    pub fn set_dispatch_limit(&self, limit: u64) {
        let before = self.dispatch_limit.swap(limit, Ordering::AcqRel);
        if limit > before {
            self.reput.wake();
        }
    }

    /// Cuts a replica's log at `offset` while it runs (controller mode: the part of its log its
    /// new master does not have). Refused when the dispatcher already passed `offset` (consume
    /// queues would point past the log; a restart cuts it with [`MessageStore::open_truncated`]).
    /// The checkpoint is written again so recovery does not expect the cut bytes.
    pub fn truncate_replica(&self, offset: u64) -> Result<()> {
        let limit = self.dispatch_limit.load(Ordering::Acquire).min(offset);
        self.dispatch_limit.store(limit, Ordering::Release);
        let dispatched = self.reput.offset();
        if dispatched > offset {
            return Err(StoreError::NotWritable(format!(
                "records up to {dispatched} are dispatched, past {offset}; restart the broker \
                 to cut its log there"
            )));
        }
        self.commit_log.truncate_replica(offset)?;
        self.write_checkpoint()
    }

    /// Makes a replica's store the writer of a new master term (controller mode): cuts a
    /// partly replicated record, dispatches everything to the end, and takes each queue's next
    /// offset from its consume queue. Returns the log's end, where the new term starts.
    pub fn promote(&self, timeout: std::time::Duration) -> Result<u64> {
        let end = self.commit_log.end_replication()?;
        self.set_dispatch_limit(u64::MAX);
        if self.config.flush_disk_type == FlushDiskType::SyncFlush {
            let _ = self.commit_log.flush_ticket(end).wait();
        } else {
            self.commit_log.flusher().wake();
        }
        self.reput.wake();
        if !self.reput.wait_for(end, timeout) {
            return Err(StoreError::NotWritable(format!(
                "the dispatcher did not reach {end} within {timeout:?}"
            )));
        }
        for (topic, queue_id, next) in self.consume_queues.next_offsets() {
            self.commit_log.set_queue_offset(&topic, queue_id, next);
        }
        Ok(end)
    }

    /// Up to `max` commitlog bytes from `offset`, within one file, for a replica
    /// ([`CommitLog::data_from`](crate::commit_log::CommitLog::data_from)).
    pub fn replication_data(&self, offset: u64, max: usize) -> Option<Bytes> {
        self.commit_log.data_from(offset, max)
    }
}
