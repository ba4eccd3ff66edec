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

    /// Up to `max` commitlog bytes from `offset`, within one file, for a replica
    /// ([`CommitLog::data_from`](crate::commit_log::CommitLog::data_from)).
    pub fn replication_data(&self, offset: u64, max: usize) -> Option<Bytes> {
        self.commit_log.data_from(offset, max)
    }
}
