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
//! How many threads are awake follows what the listener does. When calls are pending and no
//! thread is awake, one is woken (or started) at once. Every [`SPREAD_AFTER`] while calls are
//! pending, the pool sets how many threads should be awake: one per CPU, plus one for every
//! thread that has been inside the same call since the previous check (a listener blocked on
//! I/O, a lock, a sleep), and twice as many as are awake when every running call is such a
//! one. Threads are woken up to that number, and a thread that finishes a call while more than
//! that number are awake goes to sleep even if calls are pending. So a listener that answers in
//! microseconds, draining a backlog, runs on as many threads as there are CPUs instead of
//! `consume_threads` threads taking turns on them (each turn a context switch and a contended
//! lock), while a listener that blocks still gets up to `consume_threads` calls at once within
//! a few checks.
//!
//! Threads enter the runtime's context (as tokio's blocking threads do), so a listener may use
//! [`tokio::runtime::Handle::current`] and the blocking calls of the bindings.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use super::concurrent;
use super::state::{lock, Inner, QueueState};
use crate::message::MessageView;

/// How often, while calls are pending, the pool looks at how many threads should be awake.
pub(crate) const SPREAD_AFTER: Duration = Duration::from_millis(1);

/// One listener call waiting for a thread.
pub(crate) struct Job {
    pub(crate) inner: Arc<Inner>,
    pub(crate) qs: Arc<QueueState>,
    pub(crate) messages: Vec<MessageView>,
}

/// What the spread check knows of one started thread.
#[derive(Debug, Clone, Copy)]
struct Slot {
    /// Calls the thread has taken.
    taken: u64,
    /// `taken` at the previous check ([`Slot::NEW`] before the first check that saw the
    /// thread).
    seen: u64,
    /// The thread is inside a call.
    busy: bool,
}

impl Slot {
    const NEW: u64 = u64::MAX;
}

struct State<J> {
    jobs: VecDeque<J>,
    /// One per thread started, by the thread's index.
    slots: Vec<Slot>,
    /// Threads waiting for work.
    idle: usize,
    /// Wake-ups given to waiting threads and not yet taken.
    tokens: usize,
    /// How many threads should be awake while calls are pending (set by each check).
    target: usize,
    /// A spread check is scheduled.
    armed: bool,
    closed: bool,
}

impl<J> State<J> {
    /// Threads taking or running calls.
    fn awake(&self) -> usize {
        self.slots.len() - self.idle + self.tokens
    }
}

struct Shared<J> {
    state: Mutex<State<J>>,
    ready: Condvar,
    /// Runs one call on a pool thread.
    run: fn(J),
    max: usize,
    /// Threads that can run at once (the CPUs this process may use), at most `max`.
    cpus: usize,
    runtime: tokio::runtime::Handle,
    name: String,
    /// The spread check runs on a timer (false only in tests, which run it by hand).
    timed: bool,
}

/// The consume threads of one consumer (`J`: a pending call, [`Job`] but in tests).
pub(crate) struct Pool<J: Send + 'static = Job> {
    shared: Arc<Shared<J>>,
}

impl<J: Send + 'static> std::fmt::Debug for Pool<J> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = lock(&self.shared.state);
        f.debug_struct("Pool")
            .field("threads", &s.slots.len())
            .field("idle", &s.idle)
            .field("target", &s.target)
            .field("pending", &s.jobs.len())
            .finish()
    }
}

impl Pool {
    /// A pool of at most `max` threads named after `group`, calling the consumer's listener;
    /// must be created inside a runtime.
    pub(crate) fn new(max: usize, group: &str) -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        Pool::with(max, cpus, group, concurrent::consume_here, true)
    }
}

impl<J: Send + 'static> Pool<J> {
    fn with(max: usize, cpus: usize, group: &str, run: fn(J), timed: bool) -> Self {
        let max = max.max(1);
        let cpus = cpus.clamp(1, max);
        Pool {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    jobs: VecDeque::new(),
                    slots: Vec::new(),
                    idle: 0,
                    tokens: 0,
                    target: cpus,
                    armed: false,
                    closed: false,
                }),
                ready: Condvar::new(),
                run,
                max,
                cpus,
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
                timed,
            }),
        }
    }

    /// Queues one call per item of `jobs`, in order.
    pub(crate) fn submit(&self, jobs: impl IntoIterator<Item = J>) {
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
        arm(shared, s);
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

impl<J: Send + 'static> Drop for Pool<J> {
    fn drop(&mut self) {
        self.close();
    }
}

/// Wakes (or starts) up to `n` threads for pending calls.
fn wake<J: Send + 'static>(shared: &Arc<Shared<J>>, s: &mut State<J>, n: usize) {
    for _ in 0..n {
        if s.idle > s.tokens {
            s.tokens += 1;
            shared.ready.notify_one();
        } else if s.slots.len() < shared.max {
            let worker = shared.clone();
            let index = s.slots.len();
            let started = std::thread::Builder::new()
                .name(shared.name.clone())
                .spawn(move || work(&worker, index));
            match started {
                Ok(_) => s.slots.push(Slot {
                    taken: 0,
                    seen: Slot::NEW,
                    busy: false,
                }),
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

/// Schedules a spread check in [`SPREAD_AFTER`] unless one is scheduled, while calls are
/// pending and threads are left to wake.
fn arm<J: Send + 'static>(shared: &Arc<Shared<J>>, mut s: MutexGuard<'_, State<J>>) {
    if !shared.timed || s.armed || s.closed || s.jobs.is_empty() || s.awake() >= shared.max {
        return;
    }
    s.armed = true;
    drop(s);
    let shared = shared.clone();
    shared.runtime.clone().spawn(async move {
        tokio::time::sleep(SPREAD_AFTER).await;
        spread(&shared);
    });
}

/// How many threads should be awake, given the threads still inside the call they were in at
/// the previous check (`stuck`) and the threads inside a call (`busy`): one per CPU besides
/// the stuck ones, and, when every call running is stuck, at least twice the stuck ones (a
/// listener that blocks gets its threads in a few checks). At most `max`.
fn target(cpus: usize, max: usize, stuck: usize, busy: usize) -> usize {
    let mut want = stuck + cpus;
    if stuck > 0 && stuck == busy {
        want = want.max(2 * stuck);
    }
    want.min(max)
}

/// The spread check, every [`SPREAD_AFTER`] while calls are pending: sets how many threads
/// should be awake and wakes threads up to that. A thread is stuck when it is inside the call
/// it was inside at the previous check (so for between one and two intervals at least).
fn spread<J: Send + 'static>(shared: &Arc<Shared<J>>) {
    let mut s = lock(&shared.state);
    s.armed = false;
    if s.closed || s.jobs.is_empty() {
        return;
    }
    let (mut stuck, mut busy, mut new) = (0, 0, false);
    for slot in &mut s.slots {
        new |= slot.seen == Slot::NEW;
        if slot.busy {
            busy += 1;
            if slot.taken == slot.seen {
                stuck += 1;
            }
        }
        slot.seen = slot.taken;
    }
    let want = target(shared.cpus, shared.max, stuck, busy);
    // A thread started since the last check cannot be told stuck or not yet: the target does
    // not fall until it can.
    s.target = if new { want.max(s.target) } else { want };
    let want = s.target.saturating_sub(s.awake()).min(s.jobs.len());
    wake(shared, &mut s, want);
    arm(shared, s);
}

/// One pool thread (`index`: its slot): takes calls until the pool closes; sleeps when none is
/// pending, or when more threads than the target are awake.
fn work<J: Send + 'static>(shared: &Arc<Shared<J>>, index: usize) {
    let _runtime = shared.runtime.enter();
    let mut s = lock(&shared.state);
    while !s.closed {
        if s.awake() <= s.target {
            if let Some(job) = s.jobs.pop_front() {
                let slot = &mut s.slots[index];
                slot.taken += 1;
                slot.busy = true;
                drop(s);
                (shared.run)(job);
                s = lock(&shared.state);
                s.slots[index].busy = false;
                continue;
            }
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
}

#[cfg(test)]
mod tests {
    //! The spread checks run by hand (`timed` off), with calls held at a gate until the test
    //! lets them finish, so that "still inside the same call" is decided by the test.

    use super::*;
    use std::collections::HashSet;
    use std::thread::ThreadId;

    #[derive(Default)]
    struct Counts {
        /// The calls started before this many may finish (calls are let go in start order).
        open_below: usize,
        started: usize,
        running: usize,
        /// Most calls running at once since the test last reset it.
        peak: usize,
        threads: HashSet<ThreadId>,
    }

    #[derive(Default)]
    struct Gate {
        counts: Mutex<Counts>,
        changed: Condvar,
    }

    impl Gate {
        /// A call: counts itself in, waits to be let go, counts itself out.
        fn call(gate: Arc<Gate>) {
            let mut c = lock(&gate.counts);
            let number = c.started;
            c.started += 1;
            c.running += 1;
            c.peak = c.peak.max(c.running);
            c.threads.insert(std::thread::current().id());
            gate.changed.notify_all();
            while number >= c.open_below {
                c = gate.changed.wait(c).unwrap_or_else(|e| e.into_inner());
            }
            c.running -= 1;
            gate.changed.notify_all();
        }

        /// Lets the next `n` calls (in start order) finish, now or when they start.
        fn let_go(&self, n: usize) {
            lock(&self.counts).open_below += n;
            self.changed.notify_all();
        }

        /// Waits until `done` holds of the counts (a test that never gets there fails after
        /// 20 s instead of hanging).
        fn until(&self, what: &str, done: impl Fn(&Counts) -> bool) {
            let deadline = std::time::Instant::now() + Duration::from_secs(20);
            let mut c = lock(&self.counts);
            while !done(&c) {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                assert!(!left.is_zero(), "never got to: {what}");
                c = self
                    .changed
                    .wait_timeout(c, left)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
        }
    }

    /// A pool of `max` threads on `cpus` CPUs, checked by hand, and its gate.
    fn pool(max: usize, cpus: usize) -> (tokio::runtime::Runtime, Pool<Arc<Gate>>, Arc<Gate>) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let pool = {
            let _in = rt.enter();
            Pool::with(max, cpus, "test", Gate::call, false)
        };
        (rt, pool, Arc::new(Gate::default()))
    }

    fn target_now(pool: &Pool<Arc<Gate>>) -> usize {
        lock(&pool.shared.state).target
    }

    #[test]
    fn the_target_is_a_thread_per_cpu_besides_the_stuck_ones() {
        assert_eq!(target(2, 20, 0, 2), 2);
        assert_eq!(target(2, 20, 1, 2), 3);
        // Every running call stuck: at least twice as many.
        assert_eq!(target(2, 20, 3, 3), 6);
        assert_eq!(target(2, 20, 1, 1), 3);
        assert_eq!(target(2, 20, 15, 15), 20);
        assert_eq!(target(4, 3, 0, 0), 3);
    }

    #[test]
    fn calls_that_answer_between_checks_keep_to_one_thread_per_cpu() {
        let (_rt, pool, gate) = pool(8, 1);
        pool.submit((0..20).map(|_| gate.clone()));
        gate.until("the first call", |c| c.started == 1);
        for i in 1..12 {
            spread(&pool.shared);
            assert_eq!(target_now(&pool), 1, "check {i}");
            gate.let_go(1);
            gate.until("the next call", |c| c.started == i + 1);
        }
        let c = lock(&gate.counts);
        assert_eq!(c.peak, 1);
        assert_eq!(c.threads.len(), 1);
        assert_eq!(lock(&pool.shared.state).slots.len(), 1);
    }

    #[test]
    fn calls_that_block_get_every_thread_within_a_few_checks() {
        let (_rt, pool, gate) = pool(8, 1);
        pool.submit((0..20).map(|_| gate.clone()));
        gate.until("the first call", |c| c.started == 1);
        let mut checks = 0;
        while lock(&gate.counts).running < 8 {
            checks += 1;
            assert!(
                checks <= 8,
                "8 blocked calls not running after {checks} checks"
            );
            spread(&pool.shared);
            let want = target_now(&pool);
            gate.until("the target's calls running", |c| c.running == want);
        }
        // Never more threads than the pool's maximum.
        assert_eq!(lock(&pool.shared.state).slots.len(), 8);
        gate.let_go(20);
        gate.until("every call", |c| c.started == 20 && c.running == 0);
    }

    #[test]
    fn surplus_threads_sleep_once_calls_answer_again() {
        let (_rt, pool, gate) = pool(8, 1);
        pool.submit((0..40).map(|_| gate.clone()));
        gate.until("the first call", |c| c.started == 1);
        while lock(&gate.counts).running < 8 {
            spread(&pool.shared);
            let want = target_now(&pool);
            gate.until("the target's calls running", |c| c.running == want);
        }
        // A check that sees the threads started last; the target holds.
        spread(&pool.shared);
        assert_eq!(target_now(&pool), 8);
        // Each thread finishes its call and takes another: none is stuck at the next check.
        gate.let_go(8);
        gate.until("8 more calls", |c| c.started == 16 && c.running == 8);
        spread(&pool.shared);
        assert_eq!(target_now(&pool), 1);
        // The next 8 answers: the threads that finish go to sleep but one, calls pending or not.
        lock(&gate.counts).peak = 0;
        gate.let_go(8);
        gate.until("one thread left running", |c| {
            c.running == 1 && c.started == 17
        });
        let idle = || lock(&pool.shared.state).idle;
        assert_eq!(idle(), 7);
        gate.let_go(1);
        gate.until("the next call", |c| c.started == 18);
        assert_eq!(lock(&gate.counts).peak, 1);
        assert_eq!(lock(&pool.shared.state).jobs.len(), 40 - 18);
    }
}
