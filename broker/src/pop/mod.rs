//! POP consumption (RocketMQ 5.x, docs/pop.md): the broker keeps, per consumer group, which
//! messages it handed out and until when they stay invisible; unacked ones are copied to the
//! group's pop retry topic when their invisible time passes (revive), with `reconsumeTimes + 1`.
//!
//! - [`handle`]: the receipt handle (`extraInfo` / `POP_CK`) and the response info strings;
//! - [`ledger`]: the fsynced record of in-flight messages and pop offsets (what survives a crash);
//! - [`revive`]: the task that makes unacked messages visible again;
//! - [`batch_ack`]: the BATCH_ACK_MESSAGE body;
//! - [`assignment`]: request modes and server-side queue allocation (QUERY_ASSIGNMENT);
//! - [`routes`]: a topic's queues across the cluster, from the name servers.
//!
//! The request handlers are in `crate::handlers::pop` and `crate::handlers::pop_assign`.

pub(crate) mod assignment;
pub(crate) mod batch_ack;
pub(crate) mod handle;
pub(crate) mod ledger;
pub(crate) mod revive;
pub(crate) mod routes;

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use ledger::{Key, Ledger, Record};

/// The broker's POP state.
#[derive(Debug)]
pub(crate) struct PopService {
    pub(crate) ledger: Arc<Ledger>,
    /// (group, topic, queue) being popped right now: a second pop skips them (Apache's tryLock).
    busy_queues: Mutex<HashSet<(String, String, i32)>>,
    /// Round-robin revive queue ids handed out.
    next_revive_qid: AtomicU64,
    /// Pop requests waiting for messages (long polling).
    parked: AtomicUsize,
    /// Of those, per `topic@group@queueId` (POLLING_INFO).
    parked_keys: Mutex<std::collections::HashMap<String, usize>>,
    /// Wakes the revive task early (tests, shutdown).
    pub(crate) revive_wake: tokio::sync::Notify,
    /// Request modes (PULL / POP) per topic and group.
    pub(crate) modes: assignment::ModeTable,
    /// Topic routes looked up for QUERY_ASSIGNMENT.
    pub(crate) routes: routes::RouteCache,
}

/// A (group, topic, queue) held by one pop; released on drop.
pub(crate) struct QueueGuard<'a> {
    pop: &'a PopService,
    key: (String, String, i32),
}

impl Drop for QueueGuard<'_> {
    fn drop(&mut self) {
        self.pop
            .busy_queues
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.key);
    }
}

/// A parked (long-polling) request, counted until dropped.
pub(crate) struct Parked<'a> {
    pop: &'a PopService,
    key: String,
}

impl Drop for Parked<'_> {
    fn drop(&mut self) {
        self.pop.parked.fetch_sub(1, Ordering::Relaxed);
        let mut keys = self
            .pop
            .parked_keys
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(n) = keys.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                keys.remove(&self.key);
            }
        }
    }
}

/// What an ack or change found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Claim {
    /// The entry is ours to write (marked busy).
    Claimed,
    /// No entry with that pop time (acked, revived, or a stale or foreign handle): a no-op.
    Missing,
}

impl PopService {
    /// Opens the ledger under `dir` (`<storePathRootDir>/pop`) and the request mode table in
    /// `config_dir`.
    pub(crate) fn open(dir: &Path, config_dir: &Path) -> std::io::Result<PopService> {
        Ok(PopService {
            modes: assignment::ModeTable::load(config_dir.join("messageRequestMode.json"))?,
            routes: routes::RouteCache::default(),
            ledger: Arc::new(Ledger::open(dir)?),
            busy_queues: Mutex::default(),
            next_revive_qid: AtomicU64::new(0),
            parked: AtomicUsize::new(0),
            parked_keys: Mutex::default(),
            revive_wake: tokio::sync::Notify::new(),
        })
    }

    /// Takes (group, topic, queue) for one pop, or `None` when another pop has it.
    pub(crate) fn try_queue(
        &self,
        group: &str,
        topic: &str,
        queue_id: i32,
    ) -> Option<QueueGuard<'_>> {
        let key = (group.to_owned(), topic.to_owned(), queue_id);
        let mut set = self.busy_queues.lock().unwrap_or_else(|e| e.into_inner());
        if !set.insert(key.clone()) {
            return None;
        }
        Some(QueueGuard { pop: self, key })
    }

    /// Counts a request parked on `key` (`topic@group@queueId`), or `None` when `max` requests
    /// are parked already (POLLING_FULL).
    pub(crate) fn park(&self, key: String, max: usize) -> Option<Parked<'_>> {
        if self.parked.fetch_add(1, Ordering::Relaxed) >= max {
            self.parked.fetch_sub(1, Ordering::Relaxed);
            return None;
        }
        *self
            .parked_keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key.clone())
            .or_insert(0) += 1;
        Some(Parked { pop: self, key })
    }

    /// Requests parked on `key` (`topic@group@queueId`).
    pub(crate) fn parked_on(&self, key: &str) -> usize {
        self.parked_keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .copied()
            .unwrap_or(0)
    }

    /// The next revive queue id, round robin over `revive_queue_num`.
    pub(crate) fn revive_qid(&self, revive_queue_num: i32) -> i32 {
        let n = u64::try_from(revive_queue_num.max(1)).unwrap_or(1);
        (self.next_revive_qid.fetch_add(1, Ordering::Relaxed) % n) as i32
    }

    /// The pop offset the ledger holds for a queue.
    pub(crate) fn offset(&self, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
        self.ledger
            .state()
            .offsets
            .get(&(group.to_owned(), topic.to_owned(), queue_id))
            .copied()
    }

    /// Marks the in-flight entry `key` popped at `pop_time` busy for an ack or change.
    pub(crate) fn claim(&self, key: &Key, pop_time: i64) -> Claim {
        let mut state = self.ledger.state();
        match state.inflight.get_mut(key) {
            Some(e) if e.pop_time == pop_time && !e.busy => {
                e.busy = true;
                Claim::Claimed
            }
            _ => Claim::Missing,
        }
    }

    /// Clears the busy mark of entries whose write failed.
    pub(crate) fn release(&self, keys: &[Key]) {
        let mut state = self.ledger.state();
        for k in keys {
            if let Some(e) = state.inflight.get_mut(k) {
                e.busy = false;
            }
        }
    }

    /// Writes `records` durably (on a blocking thread) and applies them.
    pub(crate) async fn write(&self, records: Vec<Record>) -> Result<(), String> {
        let ledger = self.ledger.clone();
        tokio::task::spawn_blocking(move || ledger.append(&records))
            .await
            .map_err(|e| format!("pop ledger writer panicked: {e}"))?
    }
}
