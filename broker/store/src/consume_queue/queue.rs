//! One consume queue: the files of `consumequeue/<topic>/<queueId>/` and its offsets.

use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use super::{CqUnit, CQ_UNIT_SIZE};
use crate::error::{Result, StoreError};
use crate::mapped_file::MappedFile;
use crate::mapped_file_queue::MappedFileQueue;

const UNIT: u64 = CQ_UNIT_SIZE as u64;

/// One consume queue (one topic, one queue id).
///
/// Offsets come in two kinds: *queue offsets* (the logical index of a unit, what consumers commit)
/// and *commitlog offsets* (where a unit's record is). A queue offset `n` is stored at byte
/// `n * 20` of the queue's files.
///
/// Readers may call any `&self` method from many threads while the store's single dispatcher
/// appends; a read sees every unit published before it started.
#[derive(Debug)]
pub struct ConsumeQueue {
    topic: String,
    queue_id: i32,
    pub(super) files: MappedFileQueue,
    /// Byte offset of the first unit still served (a multiple of 20).
    min_logic: AtomicI64,
    /// Commitlog offset just past the record of the last unit; 0 when there is none.
    max_phy: AtomicI64,
}

/// Unit `index` of `file`, if written.
pub(super) fn unit_in(file: &MappedFile, index: usize) -> Option<CqUnit> {
    CqUnit::decode(file.bytes(index.checked_mul(CQ_UNIT_SIZE)?, CQ_UNIT_SIZE)?)
}

/// Whole units written in `file`.
pub(super) fn units_written(file: &MappedFile) -> usize {
    file.wrote() / CQ_UNIT_SIZE
}

/// Queue-space byte offset of unit `index` of `file`.
fn byte_of(file: &MappedFile, index: usize) -> u64 {
    file.start() + index as u64 * UNIT
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// The first index in `lo..hi` where `pred` is false, for a `pred` that is true on a prefix.
pub(super) fn partition_point(
    mut lo: usize,
    mut hi: usize,
    mut pred: impl FnMut(usize) -> bool,
) -> usize {
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if pred(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

impl ConsumeQueue {
    /// Loads the files of one queue directory. Until [`ConsumeQueue::recover`] runs every file
    /// counts as full.
    pub(super) fn load(
        dir: &Path,
        topic: String,
        queue_id: i32,
        file_size: usize,
    ) -> Result<ConsumeQueue> {
        let queue = ConsumeQueue {
            topic,
            queue_id,
            files: MappedFileQueue::load(dir, file_size)?,
            min_logic: AtomicI64::new(0),
            max_phy: AtomicI64::new(0),
        };
        queue
            .min_logic
            .store(queue.first_unpadded(), Ordering::Release);
        Ok(queue)
    }

    /// The topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The queue id.
    pub fn queue_id(&self) -> i32 {
        self.queue_id
    }

    /// The queue offset of the first unit still served (padding and expired units are below it).
    pub fn min_offset(&self) -> i64 {
        self.min_logic.load(Ordering::Acquire) / CQ_UNIT_SIZE as i64
    }

    /// The queue offset the next unit will get.
    pub fn max_offset(&self) -> i64 {
        to_i64(self.files.max_offset() / UNIT)
    }

    /// Commitlog offset just past the record of the last unit (0 if the queue has none).
    pub fn max_phy_offset(&self) -> i64 {
        self.max_phy.load(Ordering::Acquire)
    }

    /// The file holding queue offset `queue_offset` and the unit's index in it, if the offset is
    /// at or above the min offset.
    fn locate(&self, queue_offset: i64) -> Option<(Arc<MappedFile>, usize)> {
        if queue_offset < self.min_offset() {
            return None;
        }
        let byte = u64::try_from(queue_offset).ok()?.checked_mul(UNIT)?;
        let file = self.files.find(byte)?;
        let index = usize::try_from((byte - file.start()) / UNIT).ok()?;
        Some((file, index))
    }

    /// The unit at `queue_offset`, if it is written and not below the min offset.
    pub fn unit(&self, queue_offset: i64) -> Option<CqUnit> {
        let (file, index) = self.locate(queue_offset)?;
        unit_in(&file, index)
    }

    /// Up to `max` units from `from` on, with their queue offsets, stopping at the end of the
    /// file that holds `from` (Apache reads one consume-queue file per pull:
    /// `travelCqFileNumWhenGetMessage` = 1). Empty if `from` is below the min offset or not
    /// written.
    pub fn units(&self, from: i64, max: usize) -> Vec<(i64, CqUnit)> {
        let Some((file, index)) = self.locate(from) else {
            return Vec::new();
        };
        let end = units_written(&file).min(index.saturating_add(max));
        if end <= index {
            return Vec::new();
        }
        let Some(bytes) = file.bytes(index * CQ_UNIT_SIZE, (end - index) * CQ_UNIT_SIZE) else {
            return Vec::new();
        };
        bytes
            .chunks_exact(CQ_UNIT_SIZE)
            .zip(from..)
            .filter_map(|(b, offset)| CqUnit::decode(b).map(|u| (offset, u)))
            .collect()
    }

    /// Appends the unit of the record with queue offset `queue_offset` (the dispatcher, the only
    /// writer). Apache's rules (docs/store.md, "Consume queues"):
    /// - a record at or before [`Self::max_phy_offset`] is already indexed and skipped;
    /// - the first file of an empty queue, created for a non-zero queue offset, is padded with
    ///   [`CqUnit::PADDING`] up to it and the min offset starts there;
    /// - a unit whose queue offset is behind the write position was built already and is
    ///   skipped; one ahead of it (a gap: a bug upstream) is logged and written at the write
    ///   position, as Apache does.
    pub(super) fn put(&self, unit: CqUnit, queue_offset: i64) -> Result<()> {
        if unit.commit_log_offset < self.max_phy_offset() {
            tracing::debug!(
                topic = %self.topic,
                queue_id = self.queue_id,
                commit_log_offset = unit.commit_log_offset,
                "consume queue unit already built; skipped"
            );
            return Ok(());
        }
        let expected = u64::try_from(queue_offset)
            .ok()
            .and_then(|q| q.checked_mul(UNIT))
            .ok_or_else(|| {
                StoreError::MessageIllegal(format!(
                    "queue offset {queue_offset} of {}:{} is out of range",
                    self.topic, self.queue_id
                ))
            })?;
        let first_file = self.files.is_empty();
        let file = self.files.writable(expected)?;
        if first_file {
            // Readers must never serve the padding: move the min offset first.
            self.min_logic.store(to_i64(expected), Ordering::Release);
            let padding = CqUnit::PADDING.encode();
            while byte_of(&file, units_written(&file)) < expected {
                if file.append(&[&padding]).is_none() {
                    return Err(StoreError::NotWritable(format!(
                        "padding {} did not fit",
                        file.path().display()
                    )));
                }
            }
        }
        let current = file.start() + file.wrote() as u64;
        if queue_offset != 0 && expected < current {
            tracing::debug!(
                topic = %self.topic,
                queue_id = self.queue_id,
                queue_offset,
                "consume queue unit built repeatedly; skipped"
            );
            return Ok(());
        }
        if queue_offset != 0 && expected != current {
            tracing::error!(
                topic = %self.topic,
                queue_id = self.queue_id,
                expected_queue_offset = queue_offset,
                written_at = current / UNIT,
                "[BUG] consume queue gap: unit written at the write position"
            );
        }
        if file.append(&[&unit.encode()]).is_none() {
            return Err(StoreError::NotWritable(format!(
                "consume queue unit did not fit {}",
                file.path().display()
            )));
        }
        self.max_phy.store(unit.end(), Ordering::Release);
        Ok(())
    }

    /// Queue-space byte offset of the first unit that is not padding (the first file's start
    /// if it has none written).
    fn first_unpadded(&self) -> i64 {
        let Some(first) = self.files.first() else {
            return 0;
        };
        let index = partition_point(0, units_written(&first), |i| {
            unit_in(&first, i).is_some_and(|u| u.is_padding())
        });
        to_i64(byte_of(&first, index))
    }

    /// Commitlog end of the last unit, 0 if there is none (or only padding).
    fn last_unit_end(&self) -> i64 {
        for file in self.files.files().iter().rev() {
            let n = units_written(file);
            if n > 0 {
                return match unit_in(file, n - 1) {
                    Some(u) if !u.is_padding() => u.end(),
                    _ => 0,
                };
            }
        }
        0
    }

    /// Recovery, before any reader: scans units from the third-last file and truncates after
    /// the last valid one, then derives the min offset and the max commitlog offset.
    ///
    /// A unit is valid if `offset >= 0 && size > 0` (Apache's test) and, unless it is leading
    /// padding, starts at or after the end of the unit before it: units are appended in
    /// commitlog order, so a unit pointing backwards is a torn write (for instance the second
    /// half of a unit whose first half, on another page, never reached the disk).
    pub(super) fn recover(&self) -> Result<()> {
        let files = self.files.files();
        let start = files.len().saturating_sub(3);
        let Some(first_scanned) = files.get(start) else {
            self.min_logic.store(0, Ordering::Release);
            self.max_phy.store(0, Ordering::Release);
            return Ok(());
        };
        let mut end = first_scanned.start();
        let mut prev_end = 0i64;
        let mut seen_real = false;
        // Whether a written unit was found invalid (a torn write), not merely the end of what
        // was written: only that is worth a log line.
        let mut torn = false;
        'scan: for file in &files[start..] {
            let n = units_written(file);
            for i in 0..n {
                let valid = match unit_in(file, i) {
                    Some(u) if u.is_padding() => !seen_real,
                    Some(u) if u.is_valid() && u.commit_log_offset >= prev_end => {
                        seen_real = true;
                        prev_end = u.end();
                        true
                    }
                    _ => false,
                };
                if !valid {
                    end = byte_of(file, i);
                    torn = true;
                    break 'scan;
                }
            }
            end = byte_of(file, n);
            if n * CQ_UNIT_SIZE < file.size() {
                break;
            }
        }
        if torn {
            tracing::info!(
                topic = %self.topic,
                queue_id = self.queue_id,
                queue_offset = end / UNIT,
                "consume queue truncated by recovery"
            );
        }
        self.files.truncate(end)?;
        self.max_phy.store(self.last_unit_end(), Ordering::Release);
        self.min_logic
            .store(self.first_unpadded(), Ordering::Release);
        Ok(())
    }

    /// Recovery, before any reader, after [`Self::recover`]: drops every unit whose record starts
    /// at or after `commit_log_offset` (Apache's `truncateDirtyLogicFiles`). Units are in
    /// commitlog order, so the cut is found by binary search, newest file first.
    pub(super) fn truncate_from(&self, commit_log_offset: i64) -> Result<()> {
        if self.max_phy_offset() <= commit_log_offset {
            return Ok(());
        }
        let clean = |u: CqUnit| u.is_padding() || u.commit_log_offset < commit_log_offset;
        let mut cut = None;
        for file in self.files.files().iter().rev() {
            let n = units_written(file);
            let first_dirty = partition_point(0, n, |i| unit_in(file, i).is_some_and(clean));
            if n > 0 && first_dirty == n {
                break;
            }
            cut = Some(byte_of(file, first_dirty));
            if first_dirty > 0 {
                break;
            }
        }
        if let Some(cut) = cut {
            self.files.truncate(cut)?;
        }
        self.max_phy.store(self.last_unit_end(), Ordering::Release);
        self.min_logic
            .fetch_min(to_i64(self.files.max_offset()), Ordering::AcqRel);
        Ok(())
    }

    /// Retention: deletes the oldest files whose last unit points below `commit_log_min_offset`,
    /// never the newest file, then raises the min offset ([`Self::correct_min_offset`]). Returns
    /// how many files were deleted.
    pub(super) fn delete_expired(&self, commit_log_min_offset: i64) -> Result<usize> {
        let mut deleted = 0;
        while let Some(first) = self.files.first() {
            // Only a full file is final; the newest one may still be growing.
            let n = units_written(&first);
            if n == 0 || n * CQ_UNIT_SIZE < first.size() {
                break;
            }
            match unit_in(&first, n - 1) {
                Some(u) if u.commit_log_offset < commit_log_min_offset || u.is_padding() => {}
                _ => break,
            }
            if self.files.delete_first()?.is_none() {
                break;
            }
            deleted += 1;
        }
        self.correct_min_offset(commit_log_min_offset);
        Ok(deleted)
    }

    /// Raises the min offset to the first unit whose record is still in the commitlog (at or
    /// after `commit_log_min_offset`); if even the last unit is gone, to the max offset (Apache's
    /// `correctMinOffset`). Never lowers it.
    pub fn correct_min_offset(&self, commit_log_min_offset: i64) {
        let gone = |u: CqUnit| u.is_padding() || u.commit_log_offset < commit_log_min_offset;
        let (Some(first), Some(last)) = (self.files.first(), self.files.last()) else {
            return;
        };
        let last_n = units_written(&last);
        if last_n > 0 && unit_in(&last, last_n - 1).is_some_and(gone) {
            self.raise_min(byte_of(&last, last_n));
            return;
        }
        let min = u64::try_from(self.min_logic.load(Ordering::Acquire)).unwrap_or(0);
        let from = usize::try_from(min.saturating_sub(first.start()) / UNIT).unwrap_or(usize::MAX);
        let n = units_written(&first);
        if from >= n || !unit_in(&first, from).is_some_and(gone) {
            return;
        }
        let index = partition_point(from, n, |i| unit_in(&first, i).is_none_or(gone));
        self.raise_min(byte_of(&first, index));
    }

    fn raise_min(&self, byte: u64) {
        self.min_logic.fetch_max(to_i64(byte), Ordering::AcqRel);
    }

    /// Deletes every file and the queue's directory (if nothing else is left in it).
    pub(super) fn destroy(&self) -> Result<()> {
        self.files.delete_all()?;
        self.min_logic.store(0, Ordering::Release);
        self.max_phy.store(0, Ordering::Release);
        let _ = std::fs::remove_dir(self.files.dir());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(i: i64) -> CqUnit {
        CqUnit {
            commit_log_offset: i * 100,
            size: 100,
            tags_code: i,
        }
    }

    /// A queue of 4-unit files holding units 0..n.
    fn queue(dir: &Path, n: i64) -> ConsumeQueue {
        let q = ConsumeQueue::load(dir, "T".to_owned(), 0, 4 * CQ_UNIT_SIZE).expect("load");
        for i in 0..n {
            q.put(unit(i), i).expect("put");
        }
        q
    }

    fn corrupt(dir: &Path, file_start: u64, pos: usize) {
        let path = dir.join(crate::mapped_file::file_name(file_start));
        let mut bytes = std::fs::read(&path).expect("read");
        bytes[pos..pos + CQ_UNIT_SIZE].fill(0xff);
        std::fs::write(&path, bytes).expect("write");
    }

    #[test]
    fn partition_point_finds_the_first_false() {
        assert_eq!(partition_point(0, 10, |i| i < 4), 4);
        assert_eq!(partition_point(3, 10, |_| true), 10);
        assert_eq!(partition_point(3, 10, |_| false), 3);
        assert_eq!(partition_point(5, 5, |_| true), 5);
    }

    #[test]
    fn recovery_scans_only_the_last_three_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        drop(queue(dir.path(), 18)); // files 0, 80, 160, 240, 320 (two units)
                                     // Damage in the fourth-last file is not looked at (Apache scans from the third-last).
        corrupt(dir.path(), 80, 20);
        let q = queue(dir.path(), 0);
        q.recover().expect("recover");
        assert_eq!((q.max_offset(), q.max_phy_offset()), (18, 1800));
        // Damage in the third-last file cuts there.
        corrupt(dir.path(), 160, 40);
        let q = queue(dir.path(), 0);
        q.recover().expect("recover");
        assert_eq!((q.max_offset(), q.max_phy_offset()), (10, 1000));
        assert_eq!(q.files.files().len(), 3);
    }

    #[test]
    fn recovery_accepts_leading_padding_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let q = ConsumeQueue::load(dir.path(), "T".to_owned(), 0, 4 * CQ_UNIT_SIZE).expect("load");
        q.put(unit(5), 2).expect("put");
        q.put(unit(6), 3).expect("put");
        q.put(unit(7), 4).expect("put");
        drop(q);
        let q = queue(dir.path(), 0);
        q.recover().expect("recover");
        assert_eq!(
            (q.min_offset(), q.max_offset(), q.max_phy_offset()),
            (2, 5, 800)
        );
        // A padding unit after a real one is damage.
        let path = dir.path().join(crate::mapped_file::file_name(80));
        let mut bytes = std::fs::read(&path).expect("read");
        bytes[20..40].copy_from_slice(&CqUnit::PADDING.encode());
        std::fs::write(&path, bytes).expect("write");
        let q = queue(dir.path(), 0);
        q.recover().expect("recover");
        assert_eq!(
            (q.min_offset(), q.max_offset(), q.max_phy_offset()),
            (2, 5, 800)
        );
        q.put(unit(8), 5).expect("put");
        q.put(unit(9), 6).expect("put");
        drop(q);
        let q = queue(dir.path(), 0);
        q.recover().expect("recover");
        assert_eq!(q.max_offset(), 7);
        let path = dir.path().join(crate::mapped_file::file_name(80));
        let mut bytes = std::fs::read(&path).expect("read");
        bytes[20..40].copy_from_slice(&CqUnit::PADDING.encode());
        std::fs::write(&path, bytes).expect("write");
        let q = queue(dir.path(), 0);
        q.recover().expect("recover");
        assert_eq!((q.max_offset(), q.max_phy_offset()), (5, 800));
    }
}
