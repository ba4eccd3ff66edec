//! Consume queues: per `(topic, queueId)` indexes into the commitlog, in Apache's on-disk layout
//! (docs/store.md, "Consume queues").
//!
//! Layout: `consumequeue/<topic>/<queueId>/<20-digit byte offset>`. Each file holds a whole number
//! of 20-byte units ([`CqUnit`]: big-endian `i64` commitlog offset, `i32` record size, `i64` tags
//! code) and is named by the byte offset of its first unit, so unit `n` of a queue lives at byte
//! `n * 20` of the queue's logical space and the files run `0`, `6000000`, `12000000`, ... with
//! Apache's default size.
//!
//! - [`ConsumeQueue`]: one queue; readers look units up by queue offset without taking any lock
//!   that a flush or an append holds.
//! - [`ConsumeQueueStore`]: every queue of a store: loading, recovery, dispatch (the single writer),
//!   flushing and retention.
//!
//! Files are [`MappedFileQueue`](crate::mapped_file_queue::MappedFileQueue)s; this module adds no
//! file layer of its own and no `unsafe`.

mod by_time;
mod queue;
mod store;

pub use by_time::TimeBoundary;
pub use queue::ConsumeQueue;
pub use store::ConsumeQueueStore;

/// Bytes per consume-queue unit.
pub const CQ_UNIT_SIZE: usize = 20;

/// One consume-queue unit: where a message's record is in the commitlog, and its tag hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CqUnit {
    /// Commitlog offset of the record.
    pub commit_log_offset: i64,
    /// Size of the record in bytes.
    pub size: i32,
    /// Tag hash code (for `SCHEDULE_TOPIC_XXXX`, the delivery timestamp).
    pub tags_code: i64,
}

impl CqUnit {
    /// The unit Apache writes before the first real unit of a queue whose first file starts
    /// below the queue's first offset: `(0, i32::MAX, 0)`.
    pub const PADDING: CqUnit = CqUnit {
        commit_log_offset: 0,
        size: i32::MAX,
        tags_code: 0,
    };

    /// The 20 on-disk bytes.
    pub fn encode(&self) -> [u8; CQ_UNIT_SIZE] {
        let mut b = [0u8; CQ_UNIT_SIZE];
        b[0..8].copy_from_slice(&self.commit_log_offset.to_be_bytes());
        b[8..12].copy_from_slice(&self.size.to_be_bytes());
        b[12..20].copy_from_slice(&self.tags_code.to_be_bytes());
        b
    }

    /// Decodes a unit from the first 20 bytes of `b`, or `None` if `b` is shorter.
    pub fn decode(b: &[u8]) -> Option<CqUnit> {
        let b: &[u8; CQ_UNIT_SIZE] = b.get(..CQ_UNIT_SIZE)?.try_into().ok()?;
        let mut offset = [0u8; 8];
        offset.copy_from_slice(&b[0..8]);
        let mut size = [0u8; 4];
        size.copy_from_slice(&b[8..12]);
        let mut tags = [0u8; 8];
        tags.copy_from_slice(&b[12..20]);
        Some(CqUnit {
            commit_log_offset: i64::from_be_bytes(offset),
            size: i32::from_be_bytes(size),
            tags_code: i64::from_be_bytes(tags),
        })
    }

    /// Apache's recovery test for a written unit: `offset >= 0 && size > 0` (padding passes).
    pub fn is_valid(&self) -> bool {
        self.commit_log_offset >= 0 && self.size > 0
    }

    /// Whether this is a padding unit ([`CqUnit::PADDING`]).
    pub fn is_padding(&self) -> bool {
        *self == CqUnit::PADDING
    }

    /// Commitlog offset just past the record (saturating, so garbage read from a torn file cannot
    /// overflow).
    pub fn end(&self) -> i64 {
        self.commit_log_offset.saturating_add(i64::from(self.size))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_golden_bytes() {
        let unit = CqUnit {
            commit_log_offset: 0x0102_0304_0506_0708,
            size: 0x1122_3344,
            tags_code: -2,
        };
        let golden: [u8; 20] = [
            0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, // offset
            0x11, 0x22, 0x33, 0x44, // size
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, // tags code -2
        ];
        assert_eq!(unit.encode(), golden);
        assert_eq!(CqUnit::decode(&golden), Some(unit));
        assert_eq!(CqUnit::decode(&golden[..19]), None);
        assert_eq!(
            CqUnit::PADDING.encode(),
            [0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        assert!(CqUnit::PADDING.is_valid() && CqUnit::PADDING.is_padding());
        assert!(!CqUnit::decode(&[0u8; 20]).is_some_and(|u| u.is_valid()));
    }
}
