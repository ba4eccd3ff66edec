//! Retention and disk protection (docs/store.md, "Retention and disk protection").
//!
//! A pass runs every `cleanResourceInterval` ms. Expired commitlog files (older than
//! `fileReservedTime` hours by modification time) are deleted oldest first, never the newest, at
//! most `deleteFileBatchMax` per pass and stopping at the first one still within its reserved
//! time, so no holes appear. A pass deletes when:
//!
//! - the hour (UTC; Apache uses the JVM's local zone) is one of `deleteWhen`, or
//! - disk use is at or above `diskMaxUsedSpaceRatio`, or
//! - it is forced ([`MessageStore::clean_files`] with `force`, what Apache's
//!   DELETE_EXPIRED_COMMITLOG does; the broker does not serve that code yet).
//!
//! At or above `diskSpaceCleanForciblyRatio` (with `cleanFileForciblyEnable`) the oldest files go
//! whatever their age. At or above `diskSpaceWarningLevelRatio` the store refuses writes with a
//! clear error (reads go on) until use drops below the forced-clean ratio. Unlike Apache the
//! ratios are not clamped, so operators can set them where their disks need them.
//! Consume-queue and index files that only point below the commitlog's new first offset go with
//! it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::Result;
use crate::store::MessageStore;

/// What a retention pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CleanReport {
    /// Percent of the fullest store disk in use.
    pub disk_used_percent: u64,
    /// Whether this pass was allowed to delete (time window, disk pressure or forced).
    pub deleting: bool,
    /// Commitlog files removed.
    pub commit_log_files: usize,
    /// Consume-queue files removed.
    pub consume_queue_files: usize,
    /// Index files removed.
    pub index_files: usize,
    /// Whether the store accepts writes after this pass.
    pub writable: bool,
}

/// Percent of the filesystem holding `path` that is in use, rounded up, as Apache computes it
/// (`used / (used + available to unprivileged users)`).
pub fn disk_used_percent(path: &std::path::Path) -> Option<u64> {
    let st = rustix::fs::statvfs(path).ok()?;
    let frsize = st.f_frsize.max(1);
    let used = st
        .f_blocks
        .saturating_sub(st.f_bfree)
        .saturating_mul(frsize);
    let avail = st.f_bavail.saturating_mul(frsize);
    let total = used + avail;
    (total > 0).then(|| (used * 100).div_ceil(total))
}

/// Whether `now` falls in one of the `;`-separated hours of `delete_when` (UTC).
pub fn in_delete_window(delete_when: &str, now: SystemTime) -> bool {
    let hour = now
        .duration_since(UNIX_EPOCH)
        .map(|d| (d.as_secs() / 3600) % 24)
        .unwrap_or(0);
    delete_when
        .split(';')
        .filter_map(|h| h.trim().parse::<u64>().ok())
        .any(|h| h == hour)
}

impl MessageStore {
    /// Runs one retention pass at `now`; `force` deletes expired files outside `deleteWhen`.
    pub fn clean_files(&self, now: SystemTime, force: bool) -> Result<CleanReport> {
        let config = &*self.live_config();
        let used = [config.commit_log_dir(), config.root().to_owned()]
            .iter()
            .filter_map(|p| disk_used_percent(p))
            .max()
            .unwrap_or(0);
        self.update_disk_state(used);
        let clean_immediately =
            config.clean_file_forcibly_enable && used >= config.disk_space_clean_forcibly_ratio;
        let deleting = force
            || clean_immediately
            || used >= config.disk_max_used_space_ratio
            || in_delete_window(&config.delete_when, now);
        let mut report = CleanReport {
            disk_used_percent: used,
            deleting,
            ..CleanReport::default()
        };
        if deleting {
            let reserved = Duration::from_secs(config.file_reserved_time.saturating_mul(3600));
            let files = self.commit_log.files();
            while report.commit_log_files < config.delete_file_batch_max.max(1) {
                let all = files.files();
                let (Some(first), true) = (all.first(), all.len() > 1) else {
                    break;
                };
                let expired = clean_immediately
                    || first
                        .modified()
                        .and_then(|m| m.checked_add(reserved))
                        .is_some_and(|t| t <= now);
                if !expired {
                    break;
                }
                if files.delete_first()?.is_some() {
                    tracing::info!(file = %first.path().display(), "commitlog file deleted by retention");
                    report.commit_log_files += 1;
                } else {
                    break;
                }
            }
            if report.commit_log_files > 0 {
                let min = self.commit_log.min_offset();
                report.consume_queue_files = self.consume_queues.clean_expired(min)?;
                self.consume_queues.correct_min_offsets(min);
                if let Some(index) = &self.index {
                    report.index_files = index.delete_expired(min)?;
                }
            }
        }
        if clean_immediately
            && report.commit_log_files == 0
            && used >= config.disk_space_warning_level_ratio
        {
            tracing::error!(used, "disk nearly full and nothing left to delete");
        }
        report.writable = self.is_writable();
        Ok(report)
    }
}
