//! Waiting for a future on the calling thread, for the bindings' blocking calls (C's
//! `fmq_producer_send`, Python's `Producer.send`, Node's `sendSync`).
//!
//! Running the operation as a runtime task and waiting for its result on a channel costs two
//! thread wake-ups per call besides the one the network needs: the calling thread wakes a
//! runtime worker to start the task, and the worker wakes the caller at the end. Polling the
//! future on the calling thread itself (inside the runtime's context, see
//! [`tokio::runtime::Runtime::enter`]) writes the request at once; when the answer comes, the
//! worker that read it wakes the caller through the future's waker. [`poll_here`] first waits
//! for that wake-up for a short while without sleeping ([`SPIN`], yielding the processor), since
//! an answer from a broker on the same host usually comes within tens of microseconds and a
//! sleeping thread takes a scheduler round to wake; then it parks the thread.
//!
//! The caller must not be a runtime worker thread: it would stop that worker while the
//! future waits for something the worker should run.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;
use std::time::{Duration, Instant};

/// How long [`poll_here`] waits for a wake-up by yielding before it parks the thread.
pub const SPIN: Duration = Duration::from_micros(100);

/// Wakes the thread that polls a future on itself.
struct ThreadWaker {
    thread: Thread,
    /// Set by a wake-up, cleared by the poller before each poll.
    woken: AtomicBool,
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.woken.swap(true, Ordering::AcqRel) {
            self.thread.unpark();
        }
    }
}

/// Polls `future` on this thread until it is ready, or until `limit` passed without it being
/// ready (`None`: poll it again later, e.g. after checking for a signal; dropping it cancels
/// the operation). Must run inside a runtime context and off the runtime's worker threads.
pub fn poll_here<F: Future + ?Sized>(
    mut future: Pin<&mut F>,
    limit: Option<Duration>,
) -> Option<F::Output> {
    let start = Instant::now();
    let deadline = limit.map(|l| start + l);
    let waker = Arc::new(ThreadWaker {
        thread: std::thread::current(),
        woken: AtomicBool::new(true),
    });
    let task_waker = Waker::from(waker.clone());
    let mut cx = Context::from_waker(&task_waker);
    let mut spin_until = start;
    loop {
        if waker.woken.swap(false, Ordering::AcqRel) {
            if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
                return Some(value);
            }
            spin_until = Instant::now() + SPIN;
            continue;
        }
        let now = Instant::now();
        if deadline.is_some_and(|d| now >= d) {
            return None;
        }
        if now < spin_until {
            std::thread::yield_now();
            continue;
        }
        match deadline {
            Some(d) => std::thread::park_timeout(d - now),
            None => std::thread::park(),
        }
    }
}

/// Runs `future` to completion on this thread (see [`poll_here`]). Must run inside a runtime
/// context and off the runtime's worker threads.
pub fn block_here<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    loop {
        if let Some(value) = poll_here(future.as_mut(), None) {
            return value;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_future_woken_from_another_thread_completes_here() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let _context = rt.enter();
        let (tx, rx) = tokio::sync::oneshot::channel();
        rt.spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let _ = tx.send(7);
        });
        assert_eq!(block_here(rx).ok(), Some(7));
        // Timers registered from this thread fire too.
        let slept = block_here(async {
            let start = Instant::now();
            tokio::time::sleep(Duration::from_millis(30)).await;
            start.elapsed()
        });
        assert!(slept >= Duration::from_millis(30));
    }

    #[test]
    fn a_limit_returns_the_pending_future_for_later() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let _context = rt.enter();
        let mut sleep = std::pin::pin!(tokio::time::sleep(Duration::from_millis(200)));
        let started = Instant::now();
        assert!(poll_here(sleep.as_mut(), Some(Duration::from_millis(20))).is_none());
        assert!(started.elapsed() >= Duration::from_millis(20));
        assert!(poll_here(sleep.as_mut(), Some(Duration::from_secs(5))).is_some());
        assert!(started.elapsed() >= Duration::from_millis(200));
    }
}
