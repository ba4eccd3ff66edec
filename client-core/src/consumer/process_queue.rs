//! The messages of one queue that were pulled but not yet consumed, and the offset that is
//! safe to commit (the smallest one still in flight); what GET_CONSUMER_RUNNING_INFO reports
//! of the queue (Apache's `ProcessQueue.fillProcessQueueInfo`).

use std::collections::BTreeMap;

use ferromq_protocol::body::ProcessQueueInfo;

/// Bookkeeping of one assigned queue; no I/O.
#[derive(Debug, Default)]
pub(crate) struct ProcessQueue {
    in_flight: BTreeMap<i64, usize>,
    bytes: usize,
    max_offset: i64,
    /// When the queue was assigned, ms.
    started_ms: i64,
    /// When it was last pulled, ms.
    last_pull_ms: i64,
    /// When a listener last settled messages of it, ms.
    last_consume_ms: i64,
    /// Orderly: the smallest and largest offsets and the count of the batch the listener has.
    consuming: Option<(i64, i64, usize)>,
}

/// 1 MiB.
const MIB: usize = 1024 * 1024;

impl ProcessQueue {
    /// An empty queue assigned at `now_ms`.
    pub(crate) fn started(now_ms: i64) -> Self {
        ProcessQueue {
            started_ms: now_ms,
            ..ProcessQueue::default()
        }
    }

    /// A pull of the queue begins.
    pub(crate) fn mark_pulled(&mut self, now_ms: i64) {
        self.last_pull_ms = now_ms;
    }

    /// A listener call on the queue ended.
    pub(crate) fn mark_consumed(&mut self, now_ms: i64) {
        self.last_consume_ms = now_ms;
    }

    /// Orderly: the listener got the messages at `offsets` (`None`: it is done with them).
    pub(crate) fn set_consuming(&mut self, offsets: Option<&[i64]>) {
        self.consuming = offsets.and_then(|o| {
            let min = o.iter().min()?;
            let max = o.iter().max()?;
            Some((*min, *max, o.len()))
        });
    }

    /// The queue's cached messages and timestamps; the caller adds the commit offset and the
    /// lock and drop state.
    pub(crate) fn info(&self) -> ProcessQueueInfo {
        let mut info = ProcessQueueInfo {
            cached_msg_count: i32::try_from(self.count()).unwrap_or(i32::MAX),
            cached_msg_size_in_mib: i32::try_from(self.bytes / MIB).unwrap_or(i32::MAX),
            last_pull_timestamp: self.last_pull_ms,
            last_consume_timestamp: self.last_consume_ms,
            last_lock_timestamp: self.started_ms,
            ..ProcessQueueInfo::default()
        };
        if let (Some(first), Some(last)) = (
            self.in_flight.keys().next(),
            self.in_flight.keys().next_back(),
        ) {
            info.cached_msg_min_offset = *first;
            info.cached_msg_max_offset = *last;
        }
        if let Some((min, max, count)) = self.consuming {
            info.transaction_msg_min_offset = min;
            info.transaction_msg_max_offset = max;
            info.transaction_msg_count = i32::try_from(count).unwrap_or(i32::MAX);
        }
        info
    }

    /// Adds pulled messages as (queue offset, body size).
    pub(crate) fn put(&mut self, messages: impl IntoIterator<Item = (i64, usize)>) {
        for (offset, size) in messages {
            if self.in_flight.insert(offset, size).is_none() {
                self.bytes += size;
            }
            self.max_offset = self.max_offset.max(offset);
        }
    }

    /// Removes consumed messages; returns the offset to commit, if any message was known.
    pub(crate) fn remove(&mut self, offsets: impl IntoIterator<Item = i64>) -> Option<i64> {
        let mut known = false;
        for offset in offsets {
            if let Some(size) = self.in_flight.remove(&offset) {
                self.bytes -= size;
                known = true;
            }
        }
        if !known && self.max_offset == 0 {
            return None;
        }
        Some(match self.in_flight.keys().next() {
            Some(first) => *first,
            None => self.max_offset + 1,
        })
    }

    /// The smallest offset still in flight (what holds the commit offset back).
    pub(crate) fn first(&self) -> Option<i64> {
        self.in_flight.keys().next().copied()
    }

    /// Whether the message at `offset` is still in flight (not consumed nor expired).
    pub(crate) fn contains(&self, offset: i64) -> bool {
        self.in_flight.contains_key(&offset)
    }

    pub(crate) fn count(&self) -> usize {
        self.in_flight.len()
    }

    /// Distance between the first and the last message still in flight.
    pub(crate) fn span(&self) -> i64 {
        match (
            self.in_flight.keys().next(),
            self.in_flight.keys().next_back(),
        ) {
            (Some(first), Some(last)) => last - first,
            _ => 0,
        }
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    pub(crate) fn clear(&mut self) {
        self.in_flight.clear();
        self.bytes = 0;
        self.max_offset = 0;
        self.consuming = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_offset_is_the_smallest_in_flight() {
        let mut pq = ProcessQueue::default();
        pq.put([(5, 10), (6, 10), (7, 10)]);
        assert_eq!(pq.count(), 3);
        assert_eq!(pq.bytes(), 30);
        assert_eq!(pq.span(), 2);
        assert_eq!(pq.remove([6]), Some(5));
        assert_eq!(pq.first(), Some(5));
        assert!(pq.contains(7) && !pq.contains(6));
        assert_eq!(pq.remove([5]), Some(7));
        assert_eq!(pq.remove([7]), Some(8));
        assert_eq!(pq.bytes(), 0);
    }

    #[test]
    fn info_reports_the_cache_and_the_batch_in_the_listener() {
        let mut pq = ProcessQueue::started(100);
        pq.put([(5, MIB), (9, MIB + 1)]);
        pq.mark_pulled(200);
        pq.set_consuming(Some(&[5]));
        let info = pq.info();
        assert_eq!(
            (info.cached_msg_min_offset, info.cached_msg_max_offset),
            (5, 9)
        );
        assert_eq!((info.cached_msg_count, info.cached_msg_size_in_mib), (2, 2));
        assert_eq!(
            (info.transaction_msg_min_offset, info.transaction_msg_count),
            (5, 1)
        );
        assert_eq!(
            (info.last_pull_timestamp, info.last_lock_timestamp),
            (200, 100)
        );
        pq.remove([5]);
        pq.set_consuming(None);
        pq.mark_consumed(300);
        let info = pq.info();
        assert_eq!((info.cached_msg_min_offset, info.cached_msg_count), (9, 1));
        assert_eq!(
            (info.transaction_msg_count, info.last_consume_timestamp),
            (0, 300)
        );
    }
}
