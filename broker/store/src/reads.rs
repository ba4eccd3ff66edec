//! Reads of a [`MessageStore`]: queue ranges, offsets by time, messages by offset, pulls
//! ([`MessageStore::get_message`]) and key lookups ([`MessageStore::query_message`]).

use bytes::Bytes;

use crate::consume_queue::{CqUnit, TimeBoundary};
use crate::store::{
    GetMessageResult, GetMessageStatus, MessageFilter, MessageStore, QueryMessageResult,
};

impl MessageStore {
    /// The consume queue's first and next offsets, or `None` if it does not exist.
    pub fn queue_range(&self, topic: &str, queue_id: i32) -> Option<(i64, i64)> {
        self.consume_queues
            .queue(topic, queue_id)
            .map(|q| (q.min_offset(), q.max_offset()))
    }

    /// Next queue offset to be written (0 for an unknown queue).
    pub fn max_offset_in_queue(&self, topic: &str, queue_id: i32) -> i64 {
        self.queue_range(topic, queue_id).map(|r| r.1).unwrap_or(0)
    }

    /// First queue offset still kept (0 for an unknown queue).
    pub fn min_offset_in_queue(&self, topic: &str, queue_id: i32) -> i64 {
        self.queue_range(topic, queue_id).map(|r| r.0).unwrap_or(0)
    }

    /// The queue's unit at `queue_offset`.
    pub fn unit(&self, topic: &str, queue_id: i32, queue_offset: i64) -> Option<CqUnit> {
        self.consume_queues
            .queue(topic, queue_id)?
            .unit(queue_offset)
    }

    pub(crate) fn store_time_of(&self, commit_log_offset: i64) -> Option<i64> {
        let offset = u64::try_from(commit_log_offset).ok()?;
        let rec = self.commit_log.read_record(offset)?;
        let m = ferromq_protocol::message::decode_all(
            &rec,
            &ferromq_protocol::message::DecodeOptions::store(),
        )
        .ok()?
        .into_iter()
        .next()?;
        Some(m.store_timestamp)
    }

    /// Queue offset of the first message stored at or after `timestamp_ms` (`upper`: the last at
    /// or before), as SEARCH_OFFSET_BY_TIMESTAMP answers.
    pub fn offset_by_time(
        &self,
        topic: &str,
        queue_id: i32,
        timestamp_ms: i64,
        upper: bool,
    ) -> i64 {
        match self.consume_queues.queue(topic, queue_id) {
            Some(q) => {
                let boundary = if upper {
                    TimeBoundary::Upper
                } else {
                    TimeBoundary::Lower
                };
                q.offset_by_time(timestamp_ms, boundary, |off| self.store_time_of(off))
            }
            None => 0,
        }
    }

    /// Store time of the first message still kept in a queue.
    pub fn earliest_message_time(&self, topic: &str, queue_id: i32) -> Option<i64> {
        let q = self.consume_queues.queue(topic, queue_id)?;
        let unit = q.unit(q.min_offset())?;
        self.store_time_of(unit.commit_log_offset)
    }

    /// The stored record at a commitlog offset (VIEW_MESSAGE_BY_ID).
    pub fn message_at(&self, commit_log_offset: u64) -> Option<Bytes> {
        self.commit_log.read_record(commit_log_offset)
    }

    /// Reads up to `max_msgs` messages (and roughly `max_bytes`) of a queue from `offset`,
    /// applying `filter`, with Apache's statuses and transfer limits (docs/store.md, "Reading").
    pub fn get_message(
        &self,
        topic: &str,
        queue_id: i32,
        offset: i64,
        max_msgs: usize,
        max_bytes: usize,
        filter: &dyn MessageFilter,
    ) -> GetMessageResult {
        let mut r = GetMessageResult {
            status: GetMessageStatus::NoMatchedLogicQueue,
            next_begin_offset: 0,
            min_offset: 0,
            max_offset: 0,
            messages: Vec::new(),
            queue_offsets: Vec::new(),
            suggest_pulling_from_slave: false,
        };
        let Some(q) = self.consume_queues.queue(topic, queue_id) else {
            return r;
        };
        let (min, max) = (q.min_offset(), q.max_offset());
        r.min_offset = min;
        r.max_offset = max;
        if max == 0 {
            r.status = GetMessageStatus::NoMessageInQueue;
            return r;
        }
        if offset < min {
            r.status = GetMessageStatus::OffsetTooSmall;
            r.next_begin_offset = min;
            return r;
        }
        if offset == max {
            r.status = GetMessageStatus::OffsetOverflowOne;
            r.next_begin_offset = offset;
            return r;
        }
        if offset > max {
            r.status = GetMessageStatus::OffsetOverflowBadly;
            r.next_begin_offset = max;
            return r;
        }
        let max_msgs = max_msgs.max(1);
        let scan = (16_000 / 20).max(max_msgs);
        let units = q.units(offset, scan);
        if units.is_empty() {
            r.status = GetMessageStatus::OffsetFoundNull;
            r.next_begin_offset = offset + 1;
            return r;
        }
        let max_phy = self.commit_log.max_offset();
        let config = self.live_config();
        let hot_bytes = self.total_memory * config.access_message_in_memory_max_ratio / 100;
        r.status = GetMessageStatus::NoMatchedMessage;
        let mut next = offset;
        let mut total = 0usize;
        let mut last_phy = 0u64;
        for (qoff, unit) in units {
            let Ok(phy) = u64::try_from(unit.commit_log_offset) else {
                next = qoff + 1;
                continue;
            };
            let size = usize::try_from(unit.size).unwrap_or(0);
            if size == 0 || unit.size == i32::MAX {
                next = qoff + 1;
                continue;
            }
            let hot = max_phy.saturating_sub(phy) <= hot_bytes;
            if !r.messages.is_empty() {
                let (count_limit, bytes_limit) = if hot {
                    (
                        config.max_transfer_count_on_message_in_memory,
                        config.max_transfer_bytes_on_message_in_memory,
                    )
                } else {
                    (
                        config.max_transfer_count_on_message_in_disk,
                        config.max_transfer_bytes_on_message_in_disk,
                    )
                };
                if r.messages.len() >= max_msgs
                    || r.messages.len() >= count_limit
                    || total + size > bytes_limit
                    || total + size > max_bytes
                {
                    break;
                }
            }
            next = qoff + 1;
            if !filter.matches_tags_code(unit.tags_code) {
                continue;
            }
            let Some(record) = self.commit_log.read(phy, size) else {
                if r.status != GetMessageStatus::Found {
                    r.status = GetMessageStatus::MessageWasRemoving;
                }
                continue;
            };
            if !filter.matches_record(&record) {
                continue;
            }
            total += size;
            last_phy = phy;
            r.messages.push(record);
            r.queue_offsets.push(qoff);
            r.status = GetMessageStatus::Found;
        }
        r.next_begin_offset = next;
        r.suggest_pulling_from_slave = max_phy.saturating_sub(last_phy) > hot_bytes;
        r
    }

    /// Messages whose `KEYS` or `UNIQ_KEY` hash-match `key` in `topic`, stored in `begin..=end`
    /// (ms), at most `max_num` (capped at `maxMsgsNumBatch`).
    pub fn query_message(
        &self,
        topic: &str,
        key: &str,
        max_num: usize,
        begin_ms: i64,
        end_ms: i64,
    ) -> QueryMessageResult {
        let Some(index) = &self.index else {
            return QueryMessageResult::default();
        };
        let found = index.query(
            topic,
            key,
            max_num.min(self.live_config().max_msgs_num_batch),
            begin_ms,
            end_ms,
        );
        QueryMessageResult {
            messages: found
                .phy_offsets
                .iter()
                .filter_map(|o| u64::try_from(*o).ok())
                .filter_map(|o| self.commit_log.read_record(o))
                .collect(),
            index_last_update_timestamp: found.index_last_update_timestamp,
            index_last_update_phyoffset: found.index_last_update_phyoffset,
        }
    }
}
