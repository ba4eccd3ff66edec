//! The dispatcher (Apache's ReputMessageService, docs/store.md, "Dispatch"): one thread follows
//! the commitlog and hands every record to the consume queues and the index, then to an arrival
//! listener (long polling).
//!
//! It reads up to the flushed offset under SYNC_FLUSH (consumers never see unsynced data) and up
//! to the written offset under ASYNC_FLUSH. It is woken by appends and by completed syncs instead
//! of polling every millisecond.
//!
//! A record that cannot be dispatched never stalls the store:
//! - an error about the record itself (a topic that cannot name a directory, a bad queue id:
//!   [`StoreError::is_transient`] is false) is logged with topic, queue and offset, counted
//!   ([`Reput::undispatchable`]) and skipped;
//! - a transient error (EMFILE, ENOSPC, EIO, ...) holds the record back in a *lane*: the
//!   record's queue for a dispatcher that only needs per-queue order (the consume queues), or
//!   the whole dispatcher otherwise (the index). Later records of the same lane wait behind it
//!   in order; every other lane goes on. A held lane is retried with exponential backoff (10 ms
//!   up to 5 s). While records are held, [`Reput::durable_offset`] stays below the first of
//!   them, so the checkpoint never claims them and a restart dispatches them again. At most
//!   [`MAX_HELD`] records are held; past that dispatch waits for the retries.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{fence, AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::commit_log::{CommitLog, DispatchRequest, Scan};
use crate::error::{Result, StoreError};

/// Most records held back by transient failures before dispatch stops advancing.
pub const MAX_HELD: usize = 100_000;
const FIRST_BACKOFF: Duration = Duration::from_millis(10);
/// How long the dispatcher lets records gather after a busy pass (see `Reput::run`).
const LINGER: Duration = Duration::from_millis(1);
/// Records a pass must find to count as busy: below it the dispatcher waits to be woken by the
/// next append, so a message sent at a low rate is dispatched (and a long-polling consumer or a
/// request-reply responder served) at once instead of up to [`LINGER`] later.
const LINGER_AFTER: usize = 16;
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Something fed every dispatched record, in commitlog order.
pub trait Dispatcher: Send + Sync + std::fmt::Debug {
    /// Takes one record. Must be idempotent: recovery may hand the same record again.
    fn dispatch(&self, req: &DispatchRequest) -> Result<()>;

    /// Whether records need to stay in order only within their `(topic, queue id)`: then a
    /// transient failure holds back only that queue. `false` (the default) holds back every
    /// later record of this dispatcher.
    fn ordered_per_queue(&self) -> bool {
        false
    }

    /// Called after each pass over new records (one or many): a dispatcher that gathers its
    /// writes (the index) writes them here. An error is logged; what was gathered stays for the
    /// next call.
    fn end_of_pass(&self) -> Result<()> {
        Ok(())
    }
}

/// Called for every record after the dispatchers (long polling wakes pull requests here).
pub type ArrivalListener = Arc<dyn Fn(&DispatchRequest) + Send + Sync>;

/// Records of one dispatcher that must be dispatched in order: dispatcher index, and the
/// queue for a dispatcher ordered per queue.
type LaneKey = (usize, Option<(String, i32)>);

#[derive(Debug)]
struct Lane {
    waiting: VecDeque<DispatchRequest>,
    backoff: Duration,
    retry_at: Instant,
}

#[derive(Debug, Default)]
struct Held {
    lanes: HashMap<LaneKey, Lane>,
    records: usize,
    full_logged: bool,
}

/// The dispatcher's position and wake-up signal.
#[derive(Debug)]
pub struct Reput {
    offset: AtomicU64,
    /// Commitlog offset of the first held record (`u64::MAX`: none).
    held_floor: AtomicU64,
    held: Mutex<Held>,
    undispatchable: AtomicU64,
    wake: Mutex<bool>,
    cond: Condvar,
    /// Set while the thread is (about to be) waiting on `cond`: only then does [`Self::wake`]
    /// take the lock and signal. Every append wakes the dispatcher, so a wake-up that always
    /// locked and signalled cost each message a futex system call and a lock hand-off with the
    /// dispatcher thread (docs/performance.md).
    sleeping: AtomicBool,
    stop: AtomicBool,
}

fn lane_key(i: usize, d: &dyn Dispatcher, req: &DispatchRequest) -> LaneKey {
    (
        i,
        d.ordered_per_queue()
            .then(|| (req.topic.clone(), req.queue_id)),
    )
}

impl Reput {
    /// A dispatcher starting at commitlog offset `from`.
    pub fn new(from: u64) -> Arc<Reput> {
        Arc::new(Reput {
            offset: AtomicU64::new(from),
            held_floor: AtomicU64::new(u64::MAX),
            held: Mutex::new(Held::default()),
            undispatchable: AtomicU64::new(0),
            wake: Mutex::new(false),
            cond: Condvar::new(),
            sleeping: AtomicBool::new(false),
            stop: AtomicBool::new(false),
        })
    }

    /// Commitlog offset below which every record has been dispatched or skipped or is held
    /// back (see [`Self::durable_offset`]).
    pub fn offset(&self) -> u64 {
        self.offset.load(Ordering::Acquire)
    }

    /// Commitlog offset below which every record has been dispatched (or skipped as
    /// undispatchable): [`Self::offset`], or the first record held back by a transient failure.
    pub fn durable_offset(&self) -> u64 {
        // The floor is lowered before the offset moves past a held record.
        let offset = self.offset();
        offset.min(self.held_floor.load(Ordering::Acquire))
    }

    /// Records skipped because they cannot be dispatched (module docs).
    pub fn undispatchable(&self) -> u64 {
        self.undispatchable.load(Ordering::Relaxed)
    }

    /// Records held back by transient failures, waiting for a retry.
    pub fn held(&self) -> usize {
        self.lock_held().records
    }

    /// Adds to the undispatchable count (records recovery skipped).
    pub fn count_undispatchable(&self, n: u64) {
        self.undispatchable.fetch_add(n, Ordering::Relaxed);
    }

    fn lock_held(&self) -> std::sync::MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Asks the thread to look for new records: called after the bound it dispatches up to
    /// moved (an append, a sync). A thread that is not waiting needs nothing: before it waits it
    /// checks whether the bound moved since its last pass ([`Self::run`]).
    pub fn wake(&self) {
        // Pairs with the fence in `run`: either this load sees `sleeping`, or the thread's
        // check after setting it sees the moved bound.
        fence(Ordering::SeqCst);
        if self.sleeping.load(Ordering::Relaxed) {
            self.signal();
        }
    }

    fn signal(&self) {
        let mut w = self.wake.lock().unwrap_or_else(|e| e.into_inner());
        *w = true;
        self.cond.notify_one();
    }

    /// Stops the thread after its current pass.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        self.signal();
    }

    fn skip(&self, req: &DispatchRequest, e: &StoreError) {
        tracing::error!(
            error = %e,
            topic = %req.topic,
            queue_id = req.queue_id,
            offset = req.commit_log_offset,
            "record cannot be dispatched; skipped (counted in undispatchable records)"
        );
    }

    /// Retries the held lanes that are due; returns how many records got dispatched.
    fn retry_held(
        &self,
        dispatchers: &[Arc<dyn Dispatcher>],
        listener: Option<&ArrivalListener>,
    ) -> usize {
        let mut held = self.lock_held();
        if held.lanes.is_empty() {
            return 0;
        }
        let now = Instant::now();
        let (mut done, mut skipped) = (0usize, 0u64);
        held.lanes.retain(|(i, queue), lane| {
            if lane.retry_at > now {
                return true;
            }
            let Some(d) = dispatchers.get(*i) else {
                done += lane.waiting.len();
                return false;
            };
            while let Some(req) = lane.waiting.front() {
                match d.dispatch(req) {
                    Ok(()) => {
                        if let Some(l) = listener {
                            l(req);
                        }
                    }
                    Err(e) if e.is_transient() => {
                        lane.backoff = (lane.backoff * 2).min(MAX_BACKOFF);
                        lane.retry_at = now + lane.backoff;
                        tracing::warn!(
                            error = %e,
                            queue = ?queue,
                            offset = req.commit_log_offset,
                            held = lane.waiting.len(),
                            retry_in_ms = lane.backoff.as_millis() as u64,
                            "dispatch still failing; records of this lane stay held"
                        );
                        return true;
                    }
                    Err(e) => {
                        self.skip(req, &e);
                        skipped += 1;
                    }
                }
                lane.waiting.pop_front();
                done += 1;
            }
            tracing::info!(queue = ?queue, "held records dispatched; lane resumed");
            false
        });
        held.records -= done;
        if held.records < MAX_HELD {
            held.full_logged = false;
        }
        self.undispatchable.fetch_add(skipped, Ordering::Relaxed);
        let floor = held
            .lanes
            .values()
            .filter_map(|l| l.waiting.front().map(|r| r.commit_log_offset))
            .min()
            .unwrap_or(u64::MAX);
        self.held_floor.store(floor, Ordering::Release);
        done
    }

    /// When the next held lane is due for a retry.
    fn next_retry(&self) -> Option<Instant> {
        self.lock_held().lanes.values().map(|l| l.retry_at).min()
    }

    /// Dispatches one record to every dispatcher, holding it back in the lanes that are held or
    /// fail transiently. Returns whether it was held anywhere.
    fn dispatch_one(&self, req: &DispatchRequest, dispatchers: &[Arc<dyn Dispatcher>]) -> bool {
        let mut held_here = false;
        let mut skipped = false;
        for (i, d) in dispatchers.iter().enumerate() {
            let key = lane_key(i, d.as_ref(), req);
            let mut held = self.lock_held();
            if let Some(lane) = held.lanes.get_mut(&key) {
                lane.waiting.push_back(req.clone());
                held.records += 1;
                held_here = true;
                continue;
            }
            drop(held);
            match d.dispatch(req) {
                Ok(()) => {}
                Err(e) if e.is_transient() => {
                    tracing::warn!(
                        error = %e,
                        topic = %req.topic,
                        queue_id = req.queue_id,
                        offset = req.commit_log_offset,
                        "dispatch failed; holding this lane back and retrying with backoff"
                    );
                    self.held_floor
                        .fetch_min(req.commit_log_offset, Ordering::AcqRel);
                    let mut held = self.lock_held();
                    held.lanes.insert(
                        key,
                        Lane {
                            waiting: VecDeque::from([req.clone()]),
                            backoff: FIRST_BACKOFF,
                            retry_at: Instant::now() + FIRST_BACKOFF,
                        },
                    );
                    held.records += 1;
                    held_here = true;
                }
                Err(e) => {
                    self.skip(req, &e);
                    skipped = true;
                }
            }
        }
        if skipped {
            self.undispatchable.fetch_add(1, Ordering::Relaxed);
        }
        held_here
    }

    /// Dispatches every record below `bound()` that has not been dispatched yet; returns how many
    /// (held records count when their retry succeeds). Ends with each dispatcher's
    /// [`Dispatcher::end_of_pass`].
    pub fn pass(
        &self,
        log: &CommitLog,
        dispatchers: &[Arc<dyn Dispatcher>],
        listener: Option<&ArrivalListener>,
        bound: u64,
    ) -> usize {
        let n = self.pass_records(log, dispatchers, listener, bound);
        if n > 0 {
            for d in dispatchers {
                if let Err(e) = d.end_of_pass() {
                    tracing::warn!(error = %e, "dispatcher could not finish its pass; retried");
                }
            }
        }
        n
    }

    fn pass_records(
        &self,
        log: &CommitLog,
        dispatchers: &[Arc<dyn Dispatcher>],
        listener: Option<&ArrivalListener>,
        bound: u64,
    ) -> usize {
        let mut n = self.retry_held(dispatchers, listener);
        let mut offset = self.offset();
        while offset < bound {
            {
                let mut held = self.lock_held();
                if held.records >= MAX_HELD {
                    if !held.full_logged {
                        held.full_logged = true;
                        tracing::error!(
                            held = held.records,
                            offset,
                            "too many records held back by dispatch failures; dispatch waits"
                        );
                    }
                    return n;
                }
            }
            match log.scan(offset, false) {
                Scan::Message(req) => {
                    let held = self.dispatch_one(&req, dispatchers);
                    offset += req.size as u64;
                    self.offset.store(offset, Ordering::Release);
                    if !held {
                        if let Some(l) = listener {
                            l(&req);
                        }
                    }
                    n += 1;
                }
                Scan::EndOfFile => {
                    offset = log.next_file_start(offset);
                    self.offset.store(offset, Ordering::Release);
                }
                // The rest of a replicated record is still on its way.
                Scan::Incomplete => return n,
                Scan::End => {
                    if offset < log.min_offset() {
                        // Retention removed files we had not reached (only in a lagging replay).
                        offset = log.min_offset();
                        self.offset.store(offset, Ordering::Release);
                        continue;
                    }
                    tracing::error!(offset, bound, "unreadable record below the written offset");
                    return n;
                }
            }
        }
        n
    }

    /// The thread body: dispatches up to `bound()` whenever woken, until stopped.
    pub fn run(
        &self,
        log: &CommitLog,
        dispatchers: &[Arc<dyn Dispatcher>],
        listener: Option<ArrivalListener>,
        bound: impl Fn() -> u64,
    ) {
        loop {
            let passed = bound();
            let dispatched = self.pass(log, dispatchers, listener.as_ref(), passed);
            if self.stop.load(Ordering::Acquire) {
                // A last pass so a clean shutdown leaves nothing undispatched.
                self.pass(log, dispatchers, listener.as_ref(), bound());
                return;
            }
            if dispatched >= LINGER_AFTER {
                // Records are arriving fast: gather LINGER's worth for the next pass rather than
                // be woken by each append (as Apache's dispatcher polls every millisecond). At
                // a lower rate the thread waits below and the next append wakes it at once.
                std::thread::sleep(LINGER);
                continue;
            }
            let mut wait = Duration::from_millis(100);
            if let Some(at) = self.next_retry() {
                wait = wait.min(at.saturating_duration_since(Instant::now()));
            }
            let mut w = self.wake.lock().unwrap_or_else(|e| e.into_inner());
            if !*w {
                self.sleeping.store(true, Ordering::Relaxed);
                fence(Ordering::SeqCst);
                // Appended (or synced) since the pass began: pass again instead of waiting. An
                // unchanged bound with records left (a replicated record still incomplete)
                // waits for the next append, as before.
                if bound() == passed && !self.stop.load(Ordering::Acquire) {
                    w = self
                        .cond
                        .wait_timeout(w, wait)
                        .map(|(g, _)| g)
                        .unwrap_or_else(|e| e.into_inner().0);
                }
                self.sleeping.store(false, Ordering::Relaxed);
            }
            *w = false;
        }
    }

    /// Waits until everything below `target` is dispatched, or `timeout` passes.
    pub fn wait_for(&self, target: u64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.offset() < target {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        true
    }
}
