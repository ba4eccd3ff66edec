//! Flushing the commitlog: group commit under SYNC_FLUSH, interval flushing under ASYNC_FLUSH.
//!
//! One thread owns the syncing. Under SYNC_FLUSH a writer appends, then registers a
//! [`FlushTicket`] for the end of its bytes; the thread syncs everything written so far and
//! completes every ticket that sync covers, so one `fdatasync` serves all writers waiting at that
//! moment (those arriving during a sync share the next one). A ticket past its deadline completes
//! as timed out, never as flushed. Under ASYNC_FLUSH the thread syncs every
//! `flushIntervalCommitLog` ms when at least `flushCommitLogLeastPages` pages are dirty, and
//! whatever is dirty every `flushCommitLogThoroughInterval` ms.
//!
//! A failed sync records the store's [`Fault`]: every waiting ticket and every later one
//! completes as [`FlushOutcome::Failed`], and the thread syncs nothing more (a later sync could
//! "succeed" over pages the kernel already dropped, and the flushed offset must not move past
//! what is known to be on disk).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::config::FlushDiskType;
use crate::fault::Fault;
use crate::mapped_file_queue::MappedFileQueue;

/// How a flush wait ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FlushOutcome {
    /// A sync covering the bytes completed.
    Flushed,
    /// The deadline passed first (the message is stored; durability is not confirmed).
    TimedOut,
    /// A write or sync failed (the reason): the bytes may never reach the disk and must not be
    /// acknowledged.
    Failed(Arc<str>),
}

#[derive(Debug, Default)]
struct TicketState {
    outcome: Option<FlushOutcome>,
    waker: Option<Waker>,
    /// Threads blocked in [`FlushTicket::wait`]: the condition variable is signalled only for
    /// them (a signal is a futex system call even when nobody waits).
    sleepers: usize,
}

#[derive(Debug, Default)]
struct TicketInner {
    state: Mutex<TicketState>,
    cond: Condvar,
}

impl TicketInner {
    fn complete(&self, outcome: FlushOutcome) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if s.outcome.is_none() {
            s.outcome = Some(outcome);
            if let Some(w) = s.waker.take() {
                w.wake();
            }
            if s.sleepers > 0 {
                self.cond.notify_all();
            }
        }
    }
}

/// A wait for bytes to reach the disk: `.await` it, or [`FlushTicket::wait`] from a thread.
#[derive(Debug, Clone)]
pub struct FlushTicket(Arc<TicketInner>);

impl FlushTicket {
    /// A ticket complete from the start (every put under ASYNC_FLUSH gets one): made with its
    /// outcome, without locking or signalling anything.
    fn completed(outcome: FlushOutcome) -> Self {
        FlushTicket(Arc::new(TicketInner {
            state: Mutex::new(TicketState {
                outcome: Some(outcome),
                ..TicketState::default()
            }),
            cond: Condvar::new(),
        }))
    }

    /// Blocks until the flush completes or times out.
    pub fn wait(&self) -> FlushOutcome {
        let mut s = self.0.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(o) = &s.outcome {
                return o.clone();
            }
            s.sleepers += 1;
            s = self.0.cond.wait(s).unwrap_or_else(|e| e.into_inner());
            s.sleepers -= 1;
        }
    }
}

impl Future for FlushTicket {
    type Output = FlushOutcome;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<FlushOutcome> {
        let mut s = self.0.state.lock().unwrap_or_else(|e| e.into_inner());
        match &s.outcome {
            Some(o) => Poll::Ready(o.clone()),
            None => {
                s.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// Counters for benchmarks and monitoring.
#[derive(Debug, Default)]
pub struct FlushStats {
    /// Syncs performed.
    pub syncs: AtomicU64,
    /// Tickets completed as flushed.
    pub acked: AtomicU64,
    /// Tickets that timed out.
    pub timed_out: AtomicU64,
    /// Tickets failed by a store fault.
    pub failed: AtomicU64,
    /// Syncs per duration bucket ([`FLUSH_LATENCY_BOUNDS_US`], then slower), not cumulative.
    pub latency_buckets: [AtomicU64; FLUSH_LATENCY_BOUNDS_US.len() + 1],
    /// Sum of the syncs' durations, microseconds.
    pub latency_sum_us: AtomicU64,
}

/// Upper bounds (microseconds) of the commitlog sync duration buckets: 0.1 ms to 1 s.
pub const FLUSH_LATENCY_BOUNDS_US: [u64; 11] = [
    100, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 500_000, 1_000_000,
];

impl FlushStats {
    fn record_sync(&self, took: Duration) {
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let i = FLUSH_LATENCY_BOUNDS_US
            .iter()
            .position(|&b| us <= b)
            .unwrap_or(FLUSH_LATENCY_BOUNDS_US.len());
        self.latency_buckets[i].fetch_add(1, Ordering::Relaxed);
        self.latency_sum_us.fetch_add(us, Ordering::Relaxed);
    }
}

#[derive(Debug)]
struct Pending {
    end: u64,
    deadline: Instant,
    ticket: Arc<TicketInner>,
}

#[derive(Debug, Default)]
struct State {
    pending: Vec<Pending>,
    stop: bool,
    wake: bool,
    /// The thread is waiting on the condition variable: only then do writers signal it (a
    /// signal costs a futex system call even when nobody waits, and under SYNC_FLUSH every
    /// message registers a ticket; a thread that is syncing finds the new tickets when it
    /// looks again).
    waiting: bool,
    /// While a SYNC_FLUSH batch forms: the number of waiting tickets at which the thread wants
    /// to be woken (0: at the first one).
    want: usize,
}

/// Longest a SYNC_FLUSH batch waits to form (see [`Flusher::run`]).
const MAX_FORMING: Duration = Duration::from_millis(2);

/// Timing settings of the flusher.
#[derive(Clone, Copy, Debug)]
pub struct FlushPolicy {
    /// SYNC_FLUSH or ASYNC_FLUSH.
    pub mode: FlushDiskType,
    /// ASYNC_FLUSH: time between flush attempts.
    pub interval: Duration,
    /// ASYNC_FLUSH: dirty bytes that trigger a sync.
    pub least_bytes: u64,
    /// ASYNC_FLUSH: sync whatever is dirty at least this often.
    pub thorough_interval: Duration,
    /// SYNC_FLUSH: how long a writer waits.
    pub sync_timeout: Duration,
}

/// Called after every sync with the new flushed offset.
pub type FlushHook = Arc<dyn Fn(u64) + Send + Sync>;

/// The flush service of one commitlog.
pub struct Flusher {
    state: Mutex<State>,
    cond: Condvar,
    /// Fixed when the store opens (read on every put without a lock).
    mode: FlushDiskType,
    /// Changed at run time by [`Flusher::set_timing`] (UPDATE_BROKER_CONFIG).
    policy: Mutex<FlushPolicy>,
    stats: FlushStats,
    on_flushed: OnceLock<FlushHook>,
    fault: Arc<Fault>,
}

impl std::fmt::Debug for Flusher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Flusher")
            .field("policy", &self.policy())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Flusher {
    /// A flusher that records a failed sync in `fault`; start its thread with
    /// [`Flusher::run`].
    pub fn new(policy: FlushPolicy, fault: Arc<Fault>) -> Arc<Flusher> {
        Arc::new(Flusher {
            state: Mutex::new(State::default()),
            cond: Condvar::new(),
            mode: policy.mode,
            policy: Mutex::new(policy),
            stats: FlushStats::default(),
            on_flushed: OnceLock::new(),
            fault,
        })
    }

    /// The fault state this flusher records failures in.
    pub fn fault(&self) -> &Arc<Fault> {
        &self.fault
    }

    /// Sets the hook called after every sync (the dispatcher's wake-up under SYNC_FLUSH). Only
    /// the first call takes effect.
    pub fn set_on_flushed(&self, hook: FlushHook) {
        let _ = self.on_flushed.set(hook);
    }

    /// The policy now.
    pub fn policy(&self) -> FlushPolicy {
        *self.policy.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes the timings of `next` (intervals, thresholds, sync timeout) from the next round
    /// on; the mode (SYNC_FLUSH or ASYNC_FLUSH) stays what the store opened with.
    pub fn set_timing(&self, next: FlushPolicy) {
        let mut policy = self.policy.lock().unwrap_or_else(|e| e.into_inner());
        *policy = FlushPolicy {
            mode: self.mode,
            ..next
        };
        drop(policy);
        self.cond.notify_all();
    }

    /// Counters.
    pub fn stats(&self) -> &FlushStats {
        &self.stats
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a wait for store offset `end` to be on disk (SYNC_FLUSH). Under ASYNC_FLUSH the
    /// ticket is already complete. After a fault every ticket is complete as failed.
    pub fn request(&self, end: u64, files: &MappedFileQueue) -> FlushTicket {
        if let Some(reason) = self.fault.reason() {
            self.stats.failed.fetch_add(1, Ordering::Relaxed);
            return FlushTicket::completed(FlushOutcome::Failed(reason));
        }
        if self.mode == FlushDiskType::AsyncFlush || files.flushed_offset() >= end {
            return FlushTicket::completed(FlushOutcome::Flushed);
        }
        let ticket = Arc::new(TicketInner::default());
        let mut s = self.lock();
        // Checked again under the lock: a fault recorded before this point fails every ticket
        // queued after it takes the lock, so none is left waiting.
        if let Some(reason) = self.fault.reason() {
            self.stats.failed.fetch_add(1, Ordering::Relaxed);
            return FlushTicket::completed(FlushOutcome::Failed(reason));
        }
        if s.stop {
            return FlushTicket::completed(FlushOutcome::TimedOut);
        }
        s.pending.push(Pending {
            end,
            deadline: Instant::now() + self.policy().sync_timeout,
            ticket: ticket.clone(),
        });
        if s.waiting && s.pending.len() >= s.want {
            self.cond.notify_one();
        }
        FlushTicket(ticket)
    }

    /// Asks the thread to flush soon (ASYNC_FLUSH writers may call it; cheap).
    pub fn wake(&self) {
        let mut s = self.lock();
        s.wake = true;
        if s.waiting {
            self.cond.notify_one();
        }
    }

    /// Stops the thread after a final flush.
    pub fn stop(&self) {
        let mut s = self.lock();
        s.stop = true;
        self.cond.notify_all();
    }

    /// Under SYNC_FLUSH, with tickets waiting: lets the batch form before syncing. The writers
    /// whose tickets the last sync completed (`last_batch`) come back with their next messages
    /// at about the same time; syncing at the first of them would make one small sync after
    /// another (Apache's group commit syncs whatever has queued up, 17-18 messages per sync
    /// with 64 writers). So the thread waits until as many tickets are queued as the last sync
    /// completed, for at most as long as that sync took (and [`MAX_FORMING`]). A lone writer
    /// (a batch of one) never waits, nor does anyone when a sync was quick.
    fn form_batch(&self, last_batch: usize, last_sync: Duration) {
        if last_batch <= 1 {
            return;
        }
        let deadline = Instant::now() + last_sync.min(MAX_FORMING);
        let mut s = self.lock();
        while !s.stop && s.pending.len() < last_batch {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            s.want = last_batch;
            s.waiting = true;
            s = self
                .cond
                .wait_timeout(s, deadline - now)
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
            s.waiting = false;
            s.want = 0;
        }
    }

    /// The flush loop; returns after [`Flusher::stop`], having flushed everything written.
    pub fn run(&self, files: &MappedFileQueue) {
        let mut last_thorough = Instant::now();
        // Tickets the last SYNC_FLUSH sync completed, and how long it took.
        let mut last_batch = 0usize;
        let mut last_sync = Duration::ZERO;
        loop {
            let policy = self.policy();
            let (stop, has_pending) = {
                let mut s = self.lock();
                let wait = match policy.mode {
                    FlushDiskType::SyncFlush => Duration::from_millis(10),
                    FlushDiskType::AsyncFlush => policy.interval,
                };
                if !s.stop && s.pending.is_empty() && !s.wake {
                    s.waiting = true;
                    s = self
                        .cond
                        .wait_timeout(s, wait)
                        .map(|(g, _)| g)
                        .unwrap_or_else(|e| e.into_inner().0);
                    s.waiting = false;
                }
                s.wake = false;
                (s.stop, !s.pending.is_empty())
            };
            if policy.mode == FlushDiskType::SyncFlush && has_pending && !stop {
                self.form_batch(last_batch, last_sync);
            }
            let dirty = files.max_offset().saturating_sub(files.flushed_offset());
            let due = match policy.mode {
                FlushDiskType::SyncFlush => {
                    has_pending
                        || (dirty > 0 && last_thorough.elapsed() >= policy.thorough_interval)
                }
                FlushDiskType::AsyncFlush => {
                    dirty >= policy.least_bytes.max(1)
                        || (dirty > 0 && last_thorough.elapsed() >= policy.thorough_interval)
                }
            };
            if self.fault.is_set() {
                // Nothing more is synced or acknowledged (module docs).
                self.fail_all();
                if stop {
                    return;
                }
                continue;
            }
            if due || stop {
                let began = Instant::now();
                match files.flush() {
                    Ok(_) => {
                        if dirty > 0 {
                            last_sync = began.elapsed();
                            self.stats.syncs.fetch_add(1, Ordering::Relaxed);
                            self.stats.record_sync(last_sync);
                            if let Some(hook) = self.on_flushed.get() {
                                hook(files.flushed_offset());
                            }
                        }
                        if last_thorough.elapsed() >= policy.thorough_interval {
                            last_thorough = Instant::now();
                        }
                    }
                    Err(e) => {
                        self.fault
                            .record(format_args!("commitlog flush failed: {e}"));
                        self.fail_all();
                        if stop {
                            return;
                        }
                        continue;
                    }
                }
            }
            if self.fault.is_set() {
                // Recorded elsewhere meanwhile (a consume-queue or checkpoint write): acknowledge
                // nothing more.
                self.fail_all();
            } else {
                last_batch = self.complete(files.flushed_offset(), stop);
            }
            if stop {
                return;
            }
        }
    }

    /// Completes every waiting ticket as failed (after a fault).
    fn fail_all(&self) {
        let Some(reason) = self.fault.reason() else {
            return;
        };
        let pending = std::mem::take(&mut self.lock().pending);
        for p in pending {
            self.stats.failed.fetch_add(1, Ordering::Relaxed);
            p.ticket.complete(FlushOutcome::Failed(reason.clone()));
        }
    }

    /// Completes the tickets `flushed` covers (and those past their deadline); returns how
    /// many were flushed.
    fn complete(&self, flushed: u64, stopping: bool) -> usize {
        let now = Instant::now();
        let mut flushed_count = 0;
        let mut done = Vec::new();
        {
            let mut s = self.lock();
            s.pending.retain(|p| {
                if p.end <= flushed {
                    done.push((p.ticket.clone(), FlushOutcome::Flushed));
                    false
                } else if p.deadline <= now || stopping {
                    done.push((p.ticket.clone(), FlushOutcome::TimedOut));
                    false
                } else {
                    true
                }
            });
        }
        for (ticket, outcome) in done {
            match outcome {
                FlushOutcome::Flushed => self.stats.acked.fetch_add(1, Ordering::Relaxed),
                FlushOutcome::TimedOut => self.stats.timed_out.fetch_add(1, Ordering::Relaxed),
                FlushOutcome::Failed(_) => self.stats.failed.fetch_add(1, Ordering::Relaxed),
            };
            if outcome == FlushOutcome::Flushed {
                flushed_count += 1;
            }
            ticket.complete(outcome);
        }
        flushed_count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_durations_fall_in_their_buckets() {
        let stats = FlushStats::default();
        for us in [50, 700, 700, 3_000_000] {
            stats.record_sync(Duration::from_micros(us));
        }
        let counts: Vec<u64> = stats
            .latency_buckets
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect();
        assert_eq!(counts, [1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(stats.latency_sum_us.load(Ordering::Relaxed), 3_001_450);
    }

    fn policy(mode: FlushDiskType, ms: u64) -> FlushPolicy {
        FlushPolicy {
            mode,
            interval: Duration::from_millis(ms),
            least_bytes: ms,
            thorough_interval: Duration::from_millis(ms),
            sync_timeout: Duration::from_millis(ms),
        }
    }

    #[test]
    fn timings_change_at_run_time_and_the_mode_does_not() {
        let f = Flusher::new(policy(FlushDiskType::SyncFlush, 500), Fault::new());
        f.set_timing(policy(FlushDiskType::AsyncFlush, 250));
        let now = f.policy();
        assert_eq!(now.mode, FlushDiskType::SyncFlush, "fixed at open");
        assert_eq!(now.interval, Duration::from_millis(250));
        assert_eq!(now.sync_timeout, Duration::from_millis(250));
        assert_eq!(now.least_bytes, 250);
    }
}
