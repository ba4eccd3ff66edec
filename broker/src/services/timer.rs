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
//! Not supported: cancelling a timer message with `TIMER_DEL_UNIQKEY` (Apache uses it only from
//! its gRPC proxy); such messages are refused with MESSAGE_ILLEGAL and a reason.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferromq_protocol::message::{decode_all, DecodeOptions};
use ferromq_store::configs::{TimerProgress, TIMER_TOPIC};
use ferromq_store::store::Pending;

use crate::delays::REQUEST_PROPERTIES;
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
}

impl Timers {
    /// Rebuilds the pending entries from the queue and the stored progress.
    fn recover(broker: &Broker, progress: TimerProgress) -> Timers {
        let min = broker.store.min_offset_in_queue(TIMER_TOPIC, 0);
        let max = broker.store.max_offset_in_queue(TIMER_TOPIC, 0);
        let mut timers = Timers {
            heap: BinaryHeap::new(),
            enqueue_offset: progress.enqueue_offset.max(min).min(max),
        };
        for offset in progress.scan_from.max(min)..timers.enqueue_offset {
            if let Some(unit) = broker.store.unit(TIMER_TOPIC, 0, offset) {
                if progress.is_pending(unit.tags_code, offset) {
                    timers
                        .heap
                        .push(Reverse((unit.tags_code, offset, unit.commit_log_offset)));
                }
            }
        }
        timers
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

    /// Delivers the due entries (at most [`BATCH`]); returns how many, or the failure after
    /// which the rest stays pending.
    async fn deliver_due(&mut self, broker: &Broker, now: i64) -> Result<usize, String> {
        let mut pending: Vec<(Entry, Pending)> = Vec::new();
        let mut result = Ok(0);
        while pending.len() < BATCH {
            let Some(&Reverse(entry)) = self.heap.peek() else {
                break;
            };
            let (due, _, commit_log_offset) = entry;
            if due > now {
                break;
            }
            match put_real(broker, commit_log_offset).await {
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
        result.map(|_| n)
    }
}

/// Appends the real message of the timer entry at `commit_log_offset`; `None` when there is
/// nothing to deliver (the entry is skipped, as Apache does).
async fn put_real(broker: &Broker, commit_log_offset: i64) -> Result<Option<Pending>, String> {
    let Some(record) = u64::try_from(commit_log_offset)
        .ok()
        .and_then(|o| broker.store.message_at(o))
    else {
        tracing::error!(
            commit_log_offset,
            "timer message gone from the commitlog; skipped"
        );
        return Ok(None);
    };
    let Some(timed) = decode_all(&record, &DecodeOptions::store())
        .ok()
        .and_then(|mut v| v.pop())
    else {
        tracing::error!(commit_log_offset, "timer message does not decode; skipped");
        return Ok(None);
    };
    let mut real = match broker.time_up(&timed) {
        Ok(real) => real,
        Err(reason) => {
            tracing::error!(commit_log_offset, %reason, "timer message dropped");
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
