//! What operators' tools read and change while the store runs (the broker's admin codes): the
//! run-time settings, consume queue units and store times, and the cleanups on demand.

use std::sync::Arc;

use crate::config::StoreConfig;
use crate::consume_queue::CqUnit;
use crate::error::Result;
use crate::store::MessageStore;

impl MessageStore {
    /// The settings now, run-time changes included.
    pub fn live_config(&self) -> Arc<StoreConfig> {
        self.live.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Changes settings while the store is open. Only keys [`StoreConfig::is_runtime_updatable`]
    /// accepts may differ from the current ones; they take effect at once (flush timings and
    /// `maxMessageSize` from the next flush round and put; retention, transfer limits and the
    /// rest at their next use). Refused with the first fixed key that differs.
    pub fn update_config(&self, next: StoreConfig) -> std::result::Result<(), String> {
        let mut live = self.live.write().unwrap_or_else(|e| e.into_inner());
        let fixed = live
            .to_pairs()
            .into_iter()
            .zip(next.to_pairs())
            .find(|((key, old), (_, new))| old != new && !StoreConfig::is_runtime_updatable(key));
        if let Some(((key, _), _)) = fixed {
            return Err(key.to_owned());
        }
        self.commit_log.apply(&next);
        *live = Arc::new(next);
        Ok(())
    }

    /// The store time of the oldest message still in the commitlog.
    pub fn earliest_store_time(&self) -> Option<i64> {
        let min = i64::try_from(self.commit_log.min_offset()).ok()?;
        self.store_time_of(min)
    }

    /// Up to `max` consume queue units of a queue from `from` (empty when none are kept there).
    pub fn queue_units(
        &self,
        topic: &str,
        queue_id: i32,
        from: i64,
        max: usize,
    ) -> Vec<(i64, CqUnit)> {
        match self.consume_queues.queue(topic, queue_id) {
            Some(q) if max > 0 => q.units(from.max(q.min_offset()), max),
            _ => Vec::new(),
        }
    }

    /// Store time of the message at `offset` of a queue, if it is still kept.
    pub fn store_time_in_queue(&self, topic: &str, queue_id: i32, offset: i64) -> Option<i64> {
        let q = self.consume_queues.queue(topic, queue_id)?;
        let unit = q.unit(offset)?;
        self.store_time_of(unit.commit_log_offset)
    }

    /// Drops consume queue files whose units all point before the commitlog's oldest offset
    /// (CLEAN_EXPIRED_CONSUMEQUEUE); how many.
    pub fn clean_expired_consume_queues(&self) -> Result<usize> {
        self.consume_queues
            .clean_expired(self.commit_log.min_offset())
    }

    /// Deletes the consume queues of every topic `keep` refuses (CLEAN_UNUSED_TOPIC); the topics
    /// deleted.
    pub fn clean_unused_topics(&self, keep: impl Fn(&str) -> bool) -> Result<Vec<String>> {
        let mut deleted = Vec::new();
        for topic in self.consume_queues.topics() {
            if !keep(&topic) {
                self.delete_topic(&topic)?;
                deleted.push(topic);
            }
        }
        Ok(deleted)
    }
}
