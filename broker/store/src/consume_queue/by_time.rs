//! Finding a queue offset by store time (Apache's `getOffsetInQueueByTime` with a `BoundaryType`).

use std::sync::Arc;

use super::queue::{partition_point, unit_in, units_written};
use super::{ConsumeQueue, CQ_UNIT_SIZE};
use crate::mapped_file::MappedFile;

/// Which end of a run of messages with the same store time [`ConsumeQueue::offset_by_time`]
/// returns (Apache's `BoundaryType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeBoundary {
    /// The first unit stored at or after the time.
    Lower,
    /// The last unit stored at or before the time.
    Upper,
}

/// A file with readable units `lo..=hi` (units below the min offset excluded).
struct Candidate {
    file: Arc<MappedFile>,
    lo: usize,
    hi: usize,
}

impl ConsumeQueue {
    /// The queue offset of the message stored closest to `timestamp_ms`, with Apache's
    /// semantics. `store_time` gives the store timestamp of the record at a commitlog offset, or
    /// `None` if the record is gone (it then counts as older than any time, as Apache treats
    /// records below the commitlog's min offset).
    ///
    /// - [`TimeBoundary::Lower`]: the first unit stored at or after the time; the max offset if
    ///   every unit is older.
    /// - [`TimeBoundary::Upper`]: the last unit stored at or before the time; 0 if every unit is
    ///   newer (Apache's answer).
    ///
    /// The search picks one file by the store times of its first and last units, then
    /// binary-searches it. An empty queue answers 0.
    ///
    /// Differences from Apache, at the edges only: files and units below the min offset are
    /// never looked at, and `Lower` for a time older than everything answers the min offset
    /// rather than the first file's start.
    pub fn offset_by_time(
        &self,
        timestamp_ms: i64,
        boundary: TimeBoundary,
        store_time: impl Fn(i64) -> Option<i64>,
    ) -> i64 {
        let min_byte = u64::try_from(self.min_offset()).unwrap_or(0) * CQ_UNIT_SIZE as u64;
        let candidates: Vec<Candidate> = self
            .files
            .files()
            .into_iter()
            .filter_map(|file| {
                let lo = usize::try_from(min_byte.saturating_sub(file.start()))
                    .unwrap_or(usize::MAX)
                    / CQ_UNIT_SIZE;
                let n = units_written(&file);
                (lo < n).then(|| Candidate {
                    file,
                    lo,
                    hi: n - 1,
                })
            })
            .collect();
        let time = |file: &MappedFile, index: usize| -> i64 {
            unit_in(file, index)
                .and_then(|u| store_time(u.commit_log_offset))
                .unwrap_or(i64::MIN)
        };
        let chosen = match boundary {
            // The first older file whose last unit is not older than the time, else the newest.
            TimeBoundary::Lower => candidates[..candidates.len().saturating_sub(1)]
                .iter()
                .find(|c| time(&c.file, c.hi) >= timestamp_ms)
                .or(candidates.last()),
            // The newest file whose first unit is not newer than the time.
            TimeBoundary::Upper => candidates
                .iter()
                .rev()
                .find(|c| time(&c.file, c.lo) <= timestamp_ms),
        };
        let Some(Candidate { file, lo, hi }) = chosen else {
            return 0;
        };
        let (lo, hi) = (*lo, *hi);
        let index = if time(file, hi) < timestamp_ms {
            match boundary {
                TimeBoundary::Lower => hi + 1,
                TimeBoundary::Upper => hi,
            }
        } else if time(file, lo) > timestamp_ms {
            match boundary {
                TimeBoundary::Lower => lo,
                // Not reached for a file chosen by its first unit's time; Apache's answer kept.
                TimeBoundary::Upper => return 0,
            }
        } else {
            match boundary {
                TimeBoundary::Lower => {
                    partition_point(lo, hi + 1, |i| time(file, i) < timestamp_ms)
                }
                // time(lo) <= timestamp, so the partition point is above lo.
                TimeBoundary::Upper => {
                    partition_point(lo, hi + 1, |i| time(file, i) <= timestamp_ms) - 1
                }
            }
        };
        i64::try_from(file.start() / CQ_UNIT_SIZE as u64).unwrap_or(i64::MAX) + index as i64
    }
}
