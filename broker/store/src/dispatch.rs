//! The dispatcher (Apache's ReputMessageService, store-and-broker.md 2.7): one thread follows
//! the commitlog and hands every record to the consume queues and the index, then to an arrival
//! listener (long polling).
//!
//! It reads up to the flushed offset under SYNC_FLUSH (consumers never see unsynced data) and up
//! to the written offset under ASYNC_FLUSH. It is woken by appends and by completed syncs instead
//! of polling every millisecond (11.12).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::commit_log::{CommitLog, DispatchRequest, Scan};
use crate::error::Result;

/// Something fed every dispatched record, in commitlog order.
pub trait Dispatcher: Send + Sync + std::fmt::Debug {
    /// Takes one record. Must be idempotent: recovery may hand the same record again.
    fn dispatch(&self, req: &DispatchRequest) -> Result<()>;
}

/// Called for every record after the dispatchers (long polling wakes pull requests here).
pub type ArrivalListener = Arc<dyn Fn(&DispatchRequest) + Send + Sync>;

/// The dispatcher's position and wake-up signal.
#[derive(Debug, Default)]
pub struct Reput {
    offset: AtomicU64,
    wake: Mutex<bool>,
    cond: Condvar,
    stop: AtomicBool,
}

impl Reput {
    /// A dispatcher starting at commitlog offset `from`.
    pub fn new(from: u64) -> Arc<Reput> {
        Arc::new(Reput {
            offset: AtomicU64::new(from),
            ..Reput::default()
        })
    }

    /// Commitlog offset below which every record has been dispatched.
    pub fn offset(&self) -> u64 {
        self.offset.load(Ordering::Acquire)
    }

    /// Asks the thread to look for new records.
    pub fn wake(&self) {
        let mut w = self.wake.lock().unwrap_or_else(|e| e.into_inner());
        *w = true;
        self.cond.notify_one();
    }

    /// Stops the thread after its current pass.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        self.wake();
    }

    /// Dispatches every record below `bound()` that has not been dispatched yet; returns how many.
    pub fn pass(
        &self,
        log: &CommitLog,
        dispatchers: &[Arc<dyn Dispatcher>],
        listener: Option<&ArrivalListener>,
        bound: u64,
    ) -> usize {
        let mut offset = self.offset();
        let mut n = 0;
        while offset < bound {
            match log.scan(offset, false) {
                Scan::Message(req) => {
                    for d in dispatchers {
                        if let Err(e) = d.dispatch(&req) {
                            tracing::error!(error = %e, offset, "dispatch failed; will retry");
                            self.offset.store(offset, Ordering::Release);
                            return n;
                        }
                    }
                    offset += req.size as u64;
                    self.offset.store(offset, Ordering::Release);
                    if let Some(l) = listener {
                        l(&req);
                    }
                    n += 1;
                }
                Scan::EndOfFile => {
                    offset = log.next_file_start(offset);
                    self.offset.store(offset, Ordering::Release);
                }
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
            self.pass(log, dispatchers, listener.as_ref(), bound());
            if self.stop.load(Ordering::Acquire) {
                // A last pass so a clean shutdown leaves nothing undispatched.
                self.pass(log, dispatchers, listener.as_ref(), bound());
                return;
            }
            let mut w = self.wake.lock().unwrap_or_else(|e| e.into_inner());
            if !*w {
                w = self
                    .cond
                    .wait_timeout(w, Duration::from_millis(100))
                    .map(|(g, _)| g)
                    .unwrap_or_else(|e| e.into_inner().0);
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
