//! Message-listener calls combined per GIL acquisition.
//!
//! The core calls a per-message listener on its consume threads, one message per call and
//! many calls at once. If each of those threads took the GIL for its own message, every message
//! would cost a GIL hand-over between threads (a sleep and a wake-up on the critical path,
//! since only the GIL holder runs Python). Instead each call queues its message here; the one
//! thread that finds no other thread delivering becomes the deliverer: it takes the GIL once
//! and calls the Python listener for every message queued at that moment, in queue order,
//! handing each answer back to the thread that queued it. The others wait for their answer
//! without touching the GIL.
//!
//! The listener contract is unchanged: one message per call, one answer per message, each
//! message acknowledged on its own. A listener that blocks with the GIL released (I/O, a
//! request to another service) would hold up the messages queued behind it, so a thread whose
//! message has waited [`SELF_SERVE_AFTER`] without being started takes it back and calls the
//! listener itself, as without combining: listeners that wait still run concurrently, up to the
//! consumer's `consume_threads`.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::Thread;
use std::time::Duration;

use ferromq_client::{ConsumeResult, MessageView};
use pyo3::prelude::*;

/// How long a queued message may wait for the deliverer to start it before its own thread
/// calls the listener for it.
pub(crate) const SELF_SERVE_AFTER: Duration = Duration::from_millis(2);

const QUEUED: u8 = 0;
const STARTED: u8 = 1;
const DONE: u8 = 2;

/// One message waiting for its listener call.
struct Item {
    message: MessageView,
    state: AtomicU8,
    result: Mutex<Option<ConsumeResult>>,
    owner: Thread,
}

impl Item {
    /// Claims the item for a listener call (by the deliverer or its own thread); false when
    /// someone else did.
    fn claim(&self) -> bool {
        self.state
            .compare_exchange(QUEUED, STARTED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    fn finish(&self, result: ConsumeResult) {
        *self.result.lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
        self.state.store(DONE, Ordering::Release);
        self.owner.unpark();
    }

    fn done(&self) -> Option<ConsumeResult> {
        if self.state.load(Ordering::Acquire) == DONE {
            *self.result.lock().unwrap_or_else(|e| e.into_inner())
        } else {
            None
        }
    }
}

/// Calls `call` (with the GIL held) for messages queued by many threads, several per GIL
/// acquisition.
pub(crate) struct Combiner {
    queue: Mutex<VecDeque<Arc<Item>>>,
    /// A thread is delivering (holds or is taking the GIL for the queued messages).
    delivering: AtomicBool,
}

impl Combiner {
    pub(crate) fn new() -> Self {
        Combiner {
            queue: Mutex::new(VecDeque::new()),
            delivering: AtomicBool::new(false),
        }
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, VecDeque<Arc<Item>>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The listener's outcome for `message`, computed by `call` on this thread or another.
    /// `call` runs with the GIL held; `gone` gives the outcome when the interpreter is
    /// shutting down (no GIL to be had).
    pub(crate) fn consume<C, G>(&self, message: &MessageView, call: &C, gone: &G) -> ConsumeResult
    where
        C: Fn(Python<'_>, &MessageView) -> ConsumeResult,
        G: Fn() -> ConsumeResult,
    {
        let item = Arc::new(Item {
            message: message.clone(),
            state: AtomicU8::new(QUEUED),
            result: Mutex::new(None),
            owner: std::thread::current(),
        });
        self.queue().push_back(item.clone());
        loop {
            if let Some(r) = item.done() {
                return r;
            }
            if !self.delivering.swap(true, Ordering::SeqCst) {
                self.deliver(call, gone);
                continue;
            }
            std::thread::park_timeout(SELF_SERVE_AFTER);
            if let Some(r) = item.done() {
                return r;
            }
            if self.delivering.load(Ordering::SeqCst) && item.claim() {
                // Not started by the deliverer in time (its listener call may be waiting on
                // I/O): this thread calls the listener itself.
                return Python::try_attach(|py| call(py, &item.message)).unwrap_or_else(gone);
            }
            if item.state.load(Ordering::Acquire) == STARTED {
                // Being delivered: wait for the answer.
                while item.state.load(Ordering::Acquire) != DONE {
                    std::thread::park();
                }
            }
        }
    }

    /// Delivers the messages queued now, under one GIL acquisition, then hands the role on.
    fn deliver<C, G>(&self, call: &C, gone: &G)
    where
        C: Fn(Python<'_>, &MessageView) -> ConsumeResult,
        G: Fn() -> ConsumeResult,
    {
        let batch: Vec<Arc<Item>> = self.queue().drain(..).collect();
        if batch.is_empty() {
            self.delivering.store(false, Ordering::SeqCst);
            return;
        }
        let delivered = Python::try_attach(|py| {
            for item in &batch {
                if item.claim() {
                    item.finish(call(py, &item.message));
                }
            }
        });
        if delivered.is_none() {
            for item in &batch {
                if item.claim() {
                    item.finish(gone());
                }
            }
        }
        self.delivering.store(false, Ordering::SeqCst);
        // Messages queued meanwhile: wake their first owner to deliver them (it may find
        // another thread delivering already, which is fine).
        if let Some(next) = self.queue().front() {
            next.owner.unpark();
        }
    }
}
