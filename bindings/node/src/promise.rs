//! Promises settled by futures polled on the JavaScript thread.
//!
//! A napi-rs `async fn` spawns its future as a runtime task (and a second task watching it for
//! panics) and creates a thread-safe function per call to settle the Promise: the JavaScript
//! thread wakes a runtime worker to start the operation, and the worker wakes the JavaScript
//! thread at the end through a function created and torn down for this one call. For a send
//! that takes tens of microseconds on the wire, those hops are most of its cost.
//!
//! `JsPromise::new` instead polls the future on the calling (JavaScript) thread, inside the
//! runtime's context, as `sendSync` does: the request is written at once. When the future is
//! woken (the answer arrived), its waker posts it to one shared line to the JavaScript thread
//! (`jsthread`), which polls it there and settles the Promise. Futures woken while
//! the JavaScript thread is busy are polled together, one event-loop wake-up for all of them.
//!
//! Only futures that never wait for the JavaScript thread themselves may run here (no
//! JavaScript selector or transaction callback inside): they would wait for the thread that
//! polls them.

use std::cell::RefCell;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use futures::FutureExt;
use napi::bindgen_prelude::ToNapiValue;
use napi::{check_status, sys, JsError};
use tokio::runtime::Handle;

use crate::error::Fallible;
use crate::jsthread::{Handler, JsThread};

/// Builds the settled value on the JavaScript thread: `Ok` resolves, `Err` rejects.
type Settle = Box<dyn FnOnce(sys::napi_env) -> napi::Result<sys::napi_value> + Send>;

type Work = Pin<Box<dyn Future<Output = Settle> + Send>>;

/// The Promise's deferred handle: used only on the JavaScript thread.
struct Deferred(sys::napi_deferred);

// SAFETY: the handle is created, resolved and rejected on the JavaScript thread only (by
// `promise` and by the line's handler); other threads only move it around inside `Op`.
unsafe impl Send for Deferred {}

/// One pending Promise and the future that settles it.
struct Op {
    work: Mutex<Option<(Work, Deferred)>>,
    /// Posted to the line and not polled since: further wake-ups do nothing.
    queued: AtomicBool,
    line: JsThread<Driver>,
}

impl Wake for Op {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.queued.swap(true, Ordering::AcqRel) {
            // A closed line: the environment is gone, and the Promise with it.
            let _ = self.line.post(self.clone());
        }
    }
}

/// The line's handler: polls woken futures and settles their Promises.
struct Driver {
    runtime: Handle,
    /// Promises not settled yet; the line keeps the event loop alive while there are any.
    pending: AtomicUsize,
}

impl Handler for Driver {
    type Item = Arc<Op>;

    fn handle(&self, env: sys::napi_env, _function: sys::napi_value, ops: Vec<Arc<Op>>) {
        for op in ops {
            op.queued.store(false, Ordering::Release);
            poll(env, &op);
        }
    }
}

thread_local! {
    /// The line of this JavaScript thread (main thread or worker), made on first use.
    static LINE: RefCell<Option<JsThread<Driver>>> = const { RefCell::new(None) };
}

fn line(env: sys::napi_env) -> napi::Result<JsThread<Driver>> {
    LINE.with(|cell| {
        let mut slot = cell.borrow_mut();
        if let Some(line) = slot.as_ref().filter(|l| !l.is_closed()) {
            return Ok(line.clone());
        }
        let runtime = napi::bindgen_prelude::within_runtime_if_available(Handle::current);
        let driver = Driver {
            runtime,
            pending: AtomicUsize::new(0),
        };
        let line = JsThread::new(env, ptr::null_mut(), "ferromq_promise", driver)?;
        // Idle, it must not keep the process alive.
        line.set_referenced(env, false);
        *slot = Some(line.clone());
        Ok(line)
    })
}

/// A Promise settled by `future`: resolved with its value, or rejected with the JavaScript
/// error of its core error (see [`crate::error`]). The future is first polled here, on the
/// JavaScript thread, and afterwards whenever it is woken (see the module docs). Must run on
/// the JavaScript thread of `env`.
pub(crate) fn promise<T, F>(env: sys::napi_env, future: F) -> napi::Result<sys::napi_value>
where
    T: ToNapiValue + Send + 'static,
    F: Future<Output = Result<T, ferromq_client::Error>> + Send + 'static,
{
    let line = line(env)?;
    let mut deferred = ptr::null_mut();
    let mut promise = ptr::null_mut();
    // SAFETY: on the JavaScript thread with its live env.
    check_status!(unsafe { sys::napi_create_promise(env, &mut deferred, &mut promise) })?;
    let work: Work = Box::pin(future.map(|r| -> Settle {
        // SAFETY: a `Settle` runs on the JavaScript thread with its live env.
        Box::new(move |env| unsafe { Fallible::to_napi_value(env, Fallible(r)) })
    }));
    let op = Arc::new(Op {
        work: Mutex::new(Some((work, Deferred(deferred)))),
        queued: AtomicBool::new(false),
        line: line.clone(),
    });
    if line.handler().pending.fetch_add(1, Ordering::AcqRel) == 0 {
        line.set_referenced(env, true);
    }
    poll(env, &op);
    Ok(promise)
}

/// Polls `op` (on the JavaScript thread); settles its Promise when the future is done.
fn poll(env: sys::napi_env, op: &Arc<Op>) {
    let mut slot = op.work.lock().unwrap_or_else(|e| e.into_inner());
    let Some((work, _)) = slot.as_mut() else {
        return;
    };
    let waker = Waker::from(op.clone());
    let mut cx = Context::from_waker(&waker);
    let driver = op.line.handler();
    let polled = {
        let _context = driver.runtime.enter();
        catch_unwind(AssertUnwindSafe(|| work.as_mut().poll(&mut cx)))
    };
    let settle: Settle = match polled {
        Ok(Poll::Pending) => return,
        Ok(Poll::Ready(settle)) => settle,
        Err(_) => Box::new(|_| Err(napi::Error::from_reason("the operation panicked"))),
    };
    let Some((_, deferred)) = slot.take() else {
        return;
    };
    drop(slot);
    settle_promise(env, deferred, settle);
    if driver.pending.fetch_sub(1, Ordering::AcqRel) == 1 {
        op.line.set_referenced(env, false);
    }
}

fn settle_promise(env: sys::napi_env, deferred: Deferred, settle: Settle) {
    // SAFETY: on the JavaScript thread with its live env; the deferred is settled once.
    unsafe {
        match settle(env) {
            Ok(value) => {
                sys::napi_resolve_deferred(env, deferred.0, value);
            }
            Err(e) => {
                let error = JsError::from(e).into_value(env);
                sys::napi_reject_deferred(env, deferred.0, error);
            }
        }
    }
}

/// A Promise settled by a future polled on the JavaScript thread, as a napi return value (declare its TypeScript type with
/// `ts_return_type`).
#[derive(Debug, Clone, Copy)]
pub struct JsPromise(sys::napi_value);

impl JsPromise {
    /// The Promise of `future` (see the module docs). Must run on the JavaScript thread.
    pub(crate) fn new<T, F>(env: &napi::Env, future: F) -> napi::Result<JsPromise>
    where
        T: ToNapiValue + Send + 'static,
        F: Future<Output = Result<T, ferromq_client::Error>> + Send + 'static,
    {
        promise(env.raw(), future).map(JsPromise)
    }
}

impl napi::bindgen_prelude::TypeName for JsPromise {
    fn type_name() -> &'static str {
        "Promise"
    }

    fn value_type() -> napi::ValueType {
        napi::ValueType::Object
    }
}

impl ToNapiValue for JsPromise {
    unsafe fn to_napi_value(_env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        Ok(val.0)
    }
}
