//! Timer messages (RocketMQ 5.x; docs/protocol.md, "Delayed and timer messages"): delivery at any
//! time up to `timerMaxDelaySec` (3 days) after the send.
//!
//! # On the wire and in the commitlog, as Apache
//! A message with `TIMER_DELIVER_MS` (absolute ms), `TIMER_DELAY_SEC` or `TIMER_DELAY_MS`
//! (relative to its arrival) and no delay level is stored in `rmq_sys_wheel_timer` queue 0 with
//! `TIMER_OUT_MS` = its delivery time and its real topic and queue in `REAL_TOPIC` / `REAL_QID`.
//! A delivery time already past stores it as a normal message; one further out than
//! `timerMaxDelaySec` is refused with MESSAGE_ILLEGAL; with `timerWheelEnable=false` timer
//! messages are refused with SYSTEM_ERROR. When it is due, the real message (timer properties
//! removed, `TIMER_OUT_MS` kept) is stored in its real topic and queue.
//!
//! # The data structure (FerroMQ's, not Apache's timer wheel + timer log)
//! The timer topic's consume queue is the durable index: its tag code is the delivery time
//! (set at dispatch, and rebuilt with the queue on recovery), so no second log is written. One
//! task per broker keeps the entries read from that queue and not yet delivered in a min-heap
//! ordered by `(delivery time, queue offset)`, sleeps until the head is due or an entry
//! arrives, and delivers every due entry in one batch (appended in order, then awaited
//! together, so a SYNC_FLUSH broker pays one flush per batch, not per message).
//!
//! Delivery is out of queue order, so progress is not one offset. At most once a second while
//! anything changes, and at shutdown, the task writes `config/timerProgress.properties`
//! ([`TimerProgress`]): the queue offset read up to, the lowest offset still pending, and the
//! heap head. Entries read and ordered before the head were delivered; everything from the head
//! on, and everything not yet read, is pending. At start the task rebuilds the heap by scanning
//! the queue from the lowest pending offset, so a restart, graceful or `kill -9`, loses no timer
//! message; entries that came due while the broker was down are delivered at once. A crash
//! after a delivery and before the next checkpoint delivers those messages again (at least
//! once, as every RocketMQ redelivery), never zero times.
//!
//! Costs: 24 bytes of heap per pending timer message (a million pending take 24 MB); a restart
//! reads 20 bytes of consume queue per entry from the lowest pending one.
//!
//! # Recall (RECALL_MESSAGE, [`crate::handlers::recall`])
//! A recall parks a delete marker (`TIMER_DEL_UNIQKEY` = `<topic>+<unique id>`) due 1 ms before
//! the message it cancels, so the heap yields it first. Delivering a marker stores nothing: its
//! key is remembered, and the message with that key, due next, is dropped instead of delivered.
//! Keys are forgotten once an entry due later than their message has been handled (the message
//! is then gone or never existed). At start, the markers handled just before the pending head
//! are read again, so a restart between a marker and its message still drops the message.
//! Producers cannot send `TIMER_DEL_UNIQKEY` themselves (MESSAGE_ILLEGAL).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferromq_protocol::message::{decode_all, property, DecodeOptions, MessageExt};
use ferromq_store::configs::{TimerProgress, TIMER_TOPIC};
use ferromq_store::store::Pending;

use crate::delays::REQUEST_PROPERTIES;
use crate::handlers::recall::delete_key;
use crate::records::stored;
use crate::state::Broker;

/// Most messages delivered in one batch.
const BATCH: usize = 1024;
/// Most often the progress file is written while messages are being delivered.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);
/// Back-off after a failed delivery.
const RETRY_AFTER: Duration = Duration::from_millis(100);
/// How long the task sleeps with nothing pending and no arrival (arrivals wake it at once).
const IDLE: Duration = Duration::from_secs(1);

/// Where the timer task keeps its progress.
fn progress_path(broker: &Broker) -> PathBuf {
    broker
        .settings()
        .store
        .config_dir()
        .join(TimerProgress::FILE_NAME)
}

/// One pending timer message: `(delivery time, queue offset, commitlog offset)`.
type Entry = (i64, i64, i64);

/// The delivery task's state: the heap of pending entries and how far the queue was read.
#[derive(Debug, Default)]
struct Timers {
    heap: BinaryHeap<Reverse<Entry>>,
    enqueue_offset: i64,
    /// Delete keys of the recall markers met, each with its marker's delivery time.
    recalled: HashMap<String, i64>,
}

impl Timers {
    /// Rebuilds the pending entries from the queue and the stored progress.
    fn recover(broker: &Broker, progress: TimerProgress) -> Timers {
        let min = broker.store.min_offset_in_queue(TIMER_TOPIC, 0);
        let max = broker.store.max_offset_in_queue(TIMER_TOPIC, 0);
        let mut timers = Timers {
            heap: BinaryHeap::new(),
            enqueue_offset: progress.enqueue_offset.max(min).min(max),
            recalled: HashMap::new(),
        };
        let mut handled = Vec::new();
        for offset in progress.scan_from.max(min)..timers.enqueue_offset {
            if let Some(unit) = broker.store.unit(TIMER_TOPIC, 0, offset) {
                if progress.is_pending(unit.tags_code, offset) {
                    timers
                        .heap
                        .push(Reverse((unit.tags_code, offset, unit.commit_log_offset)));
                } else {
                    handled.push((unit.tags_code, unit.commit_log_offset));
                }
            }
        }
        // Markers handled 1 ms before the head: their messages may still be pending.
        if let Some(&Reverse((head, _, _))) = timers.heap.peek() {
            for (due, commit_log_offset) in handled {
                if due + 1 >= head {
                    if let Some(m) = timed_message(broker, commit_log_offset) {
                        timers.note_marker(&m, due);
                    }
                }
            }
        }
        timers
    }

    /// Remembers the key of a recall marker due at `due`; whether `m` was one.
    fn note_marker(&mut self, m: &MessageExt, due: i64) -> bool {
        match m.properties.value(property::TIMER_DEL_UNIQKEY) {
            Some(key) => {
                self.recalled.insert(key.to_owned(), due);
                true
            }
            None => false,
        }
    }

    /// Whether `m` was recalled (its key is then forgotten).
    fn take_recalled(&mut self, m: &MessageExt) -> bool {
        if self.recalled.is_empty() {
            return false;
        }
        let (Some(topic), Some(id)) = (
            m.properties.value(property::REAL_TOPIC),
            m.properties.uniq_key(),
        ) else {
            return false;
        };
        self.recalled.remove(&delete_key(topic, id)).is_some()
    }

    /// Reads the entries that arrived since the last call; whether there were any.
    fn read_new(&mut self, broker: &Broker) -> bool {
        let before = self.enqueue_offset;
        let max = broker.store.max_offset_in_queue(TIMER_TOPIC, 0);
        self.enqueue_offset = self
            .enqueue_offset
            .max(broker.store.min_offset_in_queue(TIMER_TOPIC, 0));
        while self.enqueue_offset < max {
            let Some(unit) = broker.store.unit(TIMER_TOPIC, 0, self.enqueue_offset) else {
                break; // not dispatched yet
            };
            self.heap.push(Reverse((
                unit.tags_code,
                self.enqueue_offset,
                unit.commit_log_offset,
            )));
            self.enqueue_offset += 1;
        }
        self.enqueue_offset != before
    }

    fn progress(&self) -> TimerProgress {
        let head = self
            .heap
            .peek()
            .map(|Reverse((ms, offset, _))| (*ms, *offset));
        TimerProgress {
            enqueue_offset: self.enqueue_offset,
            scan_from: self
                .heap
                .iter()
                .map(|Reverse((_, offset, _))| *offset)
                .min()
                .unwrap_or(self.enqueue_offset),
            pending_from: head,
        }
    }

    /// Delivers the due entries (at most [`BATCH`]); returns how many were handled (recall
    /// markers and recalled messages included), or the failure after which the rest stays
    /// pending.
    async fn deliver_due(&mut self, broker: &Broker, now: i64) -> Result<usize, String> {
        let mut pending: Vec<(Entry, Pending)> = Vec::new();
        let mut result = Ok(0);
        // Markers and recalled messages: handled, nothing stored.
        let mut dropped = 0;
        while pending.len() < BATCH {
            let Some(&Reverse(entry)) = self.heap.peek() else {
                break;
            };
            let (due, _, commit_log_offset) = entry;
            if due > now {
                break;
            }
            if !self.recalled.is_empty() {
                // A key whose message was due before this entry has done its work.
                self.recalled.retain(|_, marker| *marker + 1 >= due);
            }
            let Some(timed) = timed_message(broker, commit_log_offset) else {
                self.heap.pop();
                continue;
            };
            if self.note_marker(&timed, due) {
                self.heap.pop();
                dropped += 1;
                continue;
            }
            if self.take_recalled(&timed) {
                tracing::debug!(commit_log_offset, "timer message recalled; not delivered");
                self.heap.pop();
                dropped += 1;
                continue;
            }
            match put_real(broker, &timed).await {
                Ok(Some(p)) => pending.push((entry, p)),
                Ok(None) => {}
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
            self.heap.pop();
        }
        let n = pending.len();
        for (entry, p) in pending {
            if let Err(reason) = stored(p).await {
                // Not durable: the entry stays pending (at least once, never zero times).
                self.heap.push(Reverse(entry));
                result = Err(reason);
            }
        }
        result.map(|_| n + dropped)
    }
}

/// The timer message stored at `commit_log_offset`; `None` (logged) when it is gone or does not
/// decode (the entry is skipped, as Apache does).
fn timed_message(broker: &Broker, commit_log_offset: i64) -> Option<MessageExt> {
    let Some(record) = u64::try_from(commit_log_offset)
        .ok()
        .and_then(|o| broker.store.message_at(o))
    else {
        tracing::error!(
            commit_log_offset,
            "timer message gone from the commitlog; skipped"
        );
        return None;
    };
    let timed = decode_all(&record, &DecodeOptions::store())
        .ok()
        .and_then(|mut v| v.pop());
    if timed.is_none() {
        tracing::error!(commit_log_offset, "timer message does not decode; skipped");
    }
    timed
}

/// Appends the real message of the timer message `timed`; `None` when there is nothing to
/// deliver (the entry is skipped, as Apache does).
async fn put_real(broker: &Broker, timed: &MessageExt) -> Result<Option<Pending>, String> {
    let mut real = match broker.time_up(timed) {
        Ok(real) => real,
        Err(reason) => {
            tracing::error!(commit_log_offset = timed.commit_log_offset, %reason, "timer message dropped");
            return Ok(None);
        }
    };
    for p in REQUEST_PROPERTIES {
        real.properties.remove(p);
    }
    broker.ensure_delivery_topic(&real.topic).await;
    broker
        .store
        .put_message(&real)
        .map(Some)
        .map_err(|e| e.to_string())
}

/// Delivers timer messages until `stop`, then writes the progress one last time.
async fn run(broker: Arc<Broker>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let path = progress_path(&broker);
    let stored = match TimerProgress::load(&path) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the timer progress; rescanning the timer queue");
            TimerProgress::default()
        }
    };
    let mut timers = Timers::recover(&broker, stored);
    tracing::info!(pending = timers.heap.len(), "timer messages restored");
    let mut dirty = false;
    let mut last_save = Instant::now();
    loop {
        let wake = broker.arrival(TIMER_TOPIC, 0);
        let notified = wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        dirty |= timers.read_new(&broker);
        let now = ferromq_common::now_ms();
        let mut wait = match timers.deliver_due(&broker, now).await {
            Ok(n) if n > 0 => {
                dirty = true;
                Duration::ZERO
            }
            Ok(_) => match timers.heap.peek() {
                Some(Reverse((due, _, _))) => {
                    Duration::from_millis(u64::try_from(due - now).unwrap_or(0)).min(IDLE)
                }
                None => IDLE,
            },
            Err(reason) => {
                tracing::warn!(%reason, "timer delivery failed; retrying");
                RETRY_AFTER
            }
        };
        if dirty {
            let since = last_save.elapsed();
            if since >= CHECKPOINT_EVERY {
                dirty = !save(&path, timers.progress()).await;
                last_save = Instant::now();
            } else {
                wait = wait.min(CHECKPOINT_EVERY - since);
            }
        }
        if wait.is_zero() {
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = &mut notified => {}
            _ = stop.wait_for(|s| *s) => break,
        }
    }
    timers.read_new(&broker);
    let _ = save(&path, timers.progress()).await;
}

/// Writes `progress` from a blocking thread; whether it was written.
async fn save(path: &std::path::Path, progress: TimerProgress) -> bool {
    let path = path.to_owned();
    match tokio::task::spawn_blocking(move || progress.save(&path)).await {
        Ok(Ok(())) => true,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "cannot write the timer progress");
            false
        }
        Err(e) => {
            tracing::error!(error = %e, "timer progress writer panicked");
            false
        }
    }
}

/// Starts the timer delivery task.
pub(crate) fn start(
    broker: &Arc<Broker>,
    stop: &tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run(broker.clone(), stop.clone()))
}
