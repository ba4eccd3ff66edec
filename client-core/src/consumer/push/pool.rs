//! The consume threads of a blocking concurrent listener (native only; Java's
//! `consumeExecutor`): up to `consume_threads` threads, started as work arrives, each taking
//! listener calls from one queue of pending calls and settling each call's offsets itself.
//!
//! Before, every listener call went through a runtime task and `spawn_blocking`: a task spawned
//! per call, a wake-up of a blocking thread, and a wake-up of the task when the call returned,
//! so each message consumed with Java's batch size of 1 cost two or three thread wake-ups. Here a
//! thread that finishes a call takes the next pending one without sleeping, and a success is
//! settled on that thread (the process queue, the offset table, the statistics: a few locks
//! held for a moment). A failure is settled by a runtime task, since returning messages to the
//! broker is I/O.
//!
//! When calls are pending and no thread is awake, one is woken (or started) at once. More
//! threads are woken only when calls have been pending for [`SPREAD_AFTER`]: a listener that
//! answers in microseconds is served by one or two threads without waking the others for every
//! message, while one that blocks (on I/O, a lock, a sleep) gets the other threads within that
//! time, up to `consume_threads` calls at once as before.
//!
//! Threads enter the runtime's context (as tokio's blocking threads do), so a listener may use
//! [`tokio::runtime::Handle::current`] and the blocking calls of the bindings.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use super::concurrent;
use super::state::{lock, Inner, QueueState};
use crate::message::MessageView;

/// How long pending calls wait before more threads are woken to share them.
pub(crate) const SPREAD_AFTER: Duration = Duration::from_millis(1);

/// One listener call waiting for a thread.
pub(crate) struct Job {
    pub(crate) inner: Arc<Inner>,
    pub(crate) qs: Arc<QueueState>,
    pub(crate) messages: Vec<MessageView>,
}

#[derive(Default)]
struct State {
    jobs: VecDeque<Job>,
    /// Threads started and not ended.
    threads: usize,
    /// Threads waiting for work.
    idle: usize,
    /// Wake-ups given to waiting threads and not yet taken.
    tokens: usize,
    /// A spread check is scheduled.
    armed: bool,
    closed: bool,
}

impl State {
    /// Threads taking or running calls.
    fn awake(&self) -> usize {
        self.threads - self.idle + self.tokens
    }
}

struct Shared {
    state: Mutex<State>,
    ready: Condvar,
    max: usize,
    runtime: tokio::runtime::Handle,
    name: String,
}

/// The consume threads of one consumer.
pub(crate) struct Pool {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = lock(&self.shared.state);
        f.debug_struct("Pool")
            .field("threads", &s.threads)
            .field("idle", &s.idle)
            .field("pending", &s.jobs.len())
            .finish()
    }
}

impl Pool {
    /// A pool of at most `max` threads named after `group`; must be created inside a runtime.
    pub(crate) fn new(max: usize, group: &str) -> Self {
        Pool {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                ready: Condvar::new(),
                max: max.max(1),
                runtime: tokio::runtime::Handle::current(),
                // Only printable ASCII of the group: a thread name with a NUL byte would make
                // the spawn panic.
                name: format!(
                    "ferromq-consume-{}",
                    group
                        .chars()
                        .filter(char::is_ascii_graphic)
                        .collect::<String>()
                ),
            }),
        }
    }

    /// Queues one listener call per item of `jobs`, in order.
    pub(crate) fn submit(&self, jobs: impl IntoIterator<Item = Job>) {
        let shared = &self.shared;
        let mut s = lock(&shared.state);
        if s.closed {
            return;
        }
        s.jobs.extend(jobs);
        if s.jobs.is_empty() {
            return;
        }
        if s.awake() == 0 {
            wake(shared, &mut s, 1);
        }
        if !s.armed && s.awake() < shared.max {
            s.armed = true;
            drop(s);
            let shared = shared.clone();
            shared.runtime.clone().spawn(async move {
                tokio::time::sleep(SPREAD_AFTER).await;
                spread(&shared);
            });
        }
    }

    /// Drops the calls not started and lets the threads end after their current call.
    pub(crate) fn close(&self) {
        let dropped = {
            let mut s = lock(&self.shared.state);
            s.closed = true;
            std::mem::take(&mut s.jobs)
        };
        self.shared.ready.notify_all();
        drop(dropped);
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.close();
    }
}

/// Wakes (or starts) up to `n` threads for pending calls.
fn wake(shared: &Arc<Shared>, s: &mut State, n: usize) {
    for _ in 0..n {
        if s.idle > s.tokens {
            s.tokens += 1;
            shared.ready.notify_one();
        } else if s.threads < shared.max {
            let worker = shared.clone();
            let started = std::thread::Builder::new()
                .name(shared.name.clone())
                .spawn(move || work(&worker));
            match started {
                Ok(_) => s.threads += 1,
                Err(e) => {
                    tracing::warn!(error = %e, "could not start a consume thread");
                    return;
                }
            }
        } else {
            return;
        }
    }
}

/// Calls still pending after [`SPREAD_AFTER`]: wakes threads for them, and checks again later
/// while some remain and threads are left.
fn spread(shared: &Arc<Shared>) {
    let mut s = lock(&shared.state);
    s.armed = false;
    if s.closed || s.jobs.is_empty() {
        return;
    }
    let want = s.jobs.len().min(shared.max.saturating_sub(s.awake()));
    wake(shared, &mut s, want);
    if !s.jobs.is_empty() && s.awake() < shared.max {
        s.armed = true;
        drop(s);
        let shared = shared.clone();
        shared.runtime.clone().spawn(async move {
            tokio::time::sleep(SPREAD_AFTER).await;
            spread(&shared);
        });
    }
}

/// One consume thread: takes calls until the pool closes.
fn work(shared: &Arc<Shared>) {
    let _runtime = shared.runtime.enter();
    let mut s = lock(&shared.state);
    loop {
        if let Some(job) = s.jobs.pop_front() {
            drop(s);
            concurrent::consume_here(job);
            s = lock(&shared.state);
            continue;
        }
        if s.closed {
            break;
        }
        s.idle += 1;
        while s.tokens == 0 && !s.closed {
            s = shared.ready.wait(s).unwrap_or_else(|e| e.into_inner());
        }
        s.idle -= 1;
        if s.tokens > 0 {
            s.tokens -= 1;
        }
    }
    s.threads -= 1;
}
