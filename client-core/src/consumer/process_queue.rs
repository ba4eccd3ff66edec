//! The messages of one queue that were pulled but not yet consumed, and the offset that is
//! safe to commit (the smallest one still in flight).

use std::collections::BTreeMap;

/// Bookkeeping of one assigned queue; no I/O.
#[derive(Debug, Default)]
pub(crate) struct ProcessQueue {
    in_flight: BTreeMap<i64, usize>,
    bytes: usize,
    max_offset: i64,
}

impl ProcessQueue {
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
        assert_eq!(pq.remove([5]), Some(7));
        assert_eq!(pq.remove([7]), Some(8));
        assert_eq!(pq.bytes(), 0);
    }
}
