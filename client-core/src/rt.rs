//! The runtime services the client uses: spawning tasks, timers, running a user callback that
//! may block, and clocks.
//!
//! On native targets these are tokio's (the runtime the application or binding owns; the core
//! never creates one). On `wasm32` there is no tokio reactor, no threads and no `std` clock, so
//! the same functions run on the JavaScript event loop: tasks through
//! `wasm_bindgen_futures::spawn_local`, timers through the global `setTimeout` (browsers and
//! Node alike), clocks through `web-time` (`Date.now()` / `performance.now()`), and callbacks
//! inline on the one JS thread.
//!
//! Every future returned here is `Send` on both targets, so the client's own futures stay `Send`
//! and one code path serves both.

use std::future::Future;
use std::time::Duration;

#[cfg(not(target_arch = "wasm32"))]
pub use std::time::{Instant, SystemTime, UNIX_EPOCH};
#[cfg(target_arch = "wasm32")]
pub use web_time::{Instant, SystemTime, UNIX_EPOCH};

/// A deadline passed before the future completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed;

/// A callback run by [`spawn_blocking`] panicked (native targets only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Panicked;

/// Runs `future` in the background until it completes.
#[cfg(not(target_arch = "wasm32"))]
pub fn spawn<F>(future: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    tokio::spawn(future);
}

/// Runs `future` in the background until it completes.
#[cfg(target_arch = "wasm32")]
pub fn spawn<F>(future: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    wasm_bindgen_futures::spawn_local(future);
}

/// The runtime of the task that created it, to spawn onto from code that may run elsewhere (a
/// binding's own thread). On wasm32 there is only the JS event loop.
#[derive(Debug, Clone)]
pub struct Handle {
    #[cfg(not(target_arch = "wasm32"))]
    tokio: tokio::runtime::Handle,
}

impl Handle {
    /// The current runtime. Natively this must be called inside a tokio runtime (it panics
    /// otherwise, like `tokio::runtime::Handle::current`).
    pub fn current() -> Handle {
        Handle {
            #[cfg(not(target_arch = "wasm32"))]
            tokio: tokio::runtime::Handle::current(),
        }
    }

    /// Runs `future` in the background on this runtime.
    pub fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        #[cfg(not(target_arch = "wasm32"))]
        self.tokio.spawn(future);
        #[cfg(target_arch = "wasm32")]
        spawn(future);
    }
}

/// Completes after `duration`.
#[cfg(not(target_arch = "wasm32"))]
pub fn sleep(duration: Duration) -> impl Future<Output = ()> + Send {
    tokio::time::sleep(duration)
}

/// Completes after `duration`; dropping it early clears the timer.
#[cfg(target_arch = "wasm32")]
pub fn sleep(duration: Duration) -> impl Future<Output = ()> + Send {
    use futures::channel::oneshot;
    use futures::future::{select, Either};

    // The JS timer lives in a local task and the returned future only waits on channels, which
    // keeps it `Send`. When the future goes away first (a request answered before its timeout),
    // the task clears the timer: an armed 30 s timer would otherwise keep Node's event loop
    // alive after everything was shut down.
    let (fired_tx, fired_rx) = oneshot::channel::<()>();
    let (cancel_tx, cancel_rx) = oneshot::channel::<()>();
    let ms = i32::try_from(duration.as_millis()).unwrap_or(i32::MAX);
    wasm_bindgen_futures::spawn_local(async move {
        let mut handle = wasm_bindgen::JsValue::UNDEFINED;
        let fired = js_sys::Promise::new(&mut |resolve, _reject| {
            handle = js::set_timeout(&resolve, ms);
        });
        match select(wasm_bindgen_futures::JsFuture::from(fired), cancel_rx).await {
            Either::Left(_) => {
                let _ = fired_tx.send(());
            }
            Either::Right(_) => js::clear_timeout(&handle),
        }
    });
    async move {
        // Dropped with this future, fired or not: the task above then clears the timer.
        let _cancel = cancel_tx;
        let _ = fired_rx.await;
    }
}

#[cfg(target_arch = "wasm32")]
mod js {
    use wasm_bindgen::prelude::wasm_bindgen;
    use wasm_bindgen::JsValue;

    #[wasm_bindgen]
    extern "C" {
        /// The global `setTimeout` (window, worker or Node).
        #[wasm_bindgen(js_name = setTimeout)]
        pub(super) fn set_timeout(callback: &js_sys::Function, ms: i32) -> JsValue;

        /// The global `clearTimeout`.
        #[wasm_bindgen(js_name = clearTimeout)]
        pub(super) fn clear_timeout(handle: &JsValue);

        /// `Math.random()`.
        #[wasm_bindgen(js_namespace = Math, js_name = random)]
        pub(super) fn random() -> f64;

        /// `Date.now()`.
        #[wasm_bindgen(js_namespace = Date, js_name = now)]
        pub(super) fn date_now() -> f64;
    }
}

/// Waits for `future`, at most `duration`.
pub async fn timeout<F>(duration: Duration, future: F) -> Result<F::Output, Elapsed>
where
    F: Future,
{
    #[cfg(not(target_arch = "wasm32"))]
    {
        tokio::time::timeout(duration, future)
            .await
            .map_err(|_| Elapsed)
    }
    #[cfg(target_arch = "wasm32")]
    {
        use futures::future::{select, Either};
        let future = std::pin::pin!(future);
        let timer = std::pin::pin!(sleep(duration));
        match select(future, timer).await {
            Either::Left((out, _)) => Ok(out),
            Either::Right(_) => Err(Elapsed),
        }
    }
}

/// Runs `call`, which may block (a user's listener), away from the tasks that do I/O: on a
/// tokio blocking thread natively, inline on wasm32 (the single JS thread).
pub async fn spawn_blocking<F, R>(call: F) -> Result<R, Panicked>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    #[cfg(not(target_arch = "wasm32"))]
    {
        tokio::task::spawn_blocking(call)
            .await
            .map_err(|_| Panicked)
    }
    #[cfg(target_arch = "wasm32")]
    {
        Ok(call())
    }
}

/// A periodic timer: the first [`tick`](Self::tick) completes at once, each later one `period`
/// after the previous tick completed (a late tick delays the following ones rather than
/// bursting). Dropping an unfinished `tick` future loses nothing.
#[derive(Debug)]
pub struct Ticker {
    period: Duration,
    next: Option<Instant>,
}

impl Ticker {
    /// A ticker with the given period.
    pub fn new(period: Duration) -> Self {
        Ticker { period, next: None }
    }

    /// Waits for the next tick.
    pub async fn tick(&mut self) {
        if let Some(at) = self.next {
            let now = Instant::now();
            if at > now {
                sleep(at - now).await;
            }
        }
        self.next = Some(Instant::now() + self.period);
    }
}

/// A random number, not for cryptography (queue choice, seeds of message keys and client ids).
pub fn random_u64() -> u64 {
    #[cfg(not(target_arch = "wasm32"))]
    {
        // The standard library's randomly keyed hasher: no extra dependency.
        use std::hash::{BuildHasher, Hasher};
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        hasher.finish()
    }
    #[cfg(target_arch = "wasm32")]
    {
        // Math.random() is in [0, 1): 32 bits from each of two calls.
        let half = || (js::random() * 4_294_967_296.0) as u64;
        (half() << 32) | half()
    }
}

/// Milliseconds since the Unix epoch.
#[cfg(not(target_arch = "wasm32"))]
pub use ferromq_common::now_ms;

/// Milliseconds since the Unix epoch (JavaScript's `Date.now()`).
#[cfg(target_arch = "wasm32")]
pub fn now_ms() -> i64 {
    js::date_now() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn timeout_and_ticker() {
        assert_eq!(timeout(Duration::from_secs(5), async { 7 }).await, Ok(7));
        assert_eq!(
            timeout(Duration::from_millis(10), std::future::pending::<()>()).await,
            Err(Elapsed)
        );
        let mut t = Ticker::new(Duration::from_millis(30));
        let began = Instant::now();
        t.tick().await;
        assert!(
            began.elapsed() < Duration::from_millis(30),
            "first tick at once"
        );
        t.tick().await;
        assert!(
            began.elapsed() >= Duration::from_millis(30),
            "then one period later"
        );
    }

    #[tokio::test]
    async fn spawn_blocking_reports_a_panic() {
        assert_eq!(spawn_blocking(|| 3).await, Ok(3));
        assert_eq!(
            spawn_blocking(|| panic!("listener bug")).await,
            Err::<(), _>(Panicked)
        );
    }
}
