//! A line to the JavaScript thread: items posted from any thread, handled on the JavaScript
//! thread in batches, one thread-safe-function call per batch.
//!
//! Calling a `ThreadsafeFunction` once per item costs a queue node, a wake-up of the event loop
//! and a call into JavaScript per item. Here the items wait in one queue; the first post after
//! the JavaScript thread took the queue signals it (one `napi_call_threadsafe_function`), and
//! the items posted before the JavaScript thread gets to run are handled by that one call, in
//! the order they were posted. The Promise driver ([`crate::promise`]) and the push consumer's
//! listener ([`crate::consumer`]) use it.
//!
//! Lifetime: the line holds a raw thread-safe function. [`JsThread::close`] releases it (any
//! thread); Node then finalizes it once its pending calls ran. An environment cleanup hook
//! marks the line closed when the environment tears down first, so that no thread calls into a
//! thread-safe function Node has freed: every call into it happens under the state lock after
//! checking `closed`.

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use napi::{check_status, sys};

/// What a line does with its items on the JavaScript thread.
pub(crate) trait Handler: Send + Sync + 'static {
    /// The items posted to the line.
    type Item: Send + 'static;

    /// Handles the items posted since the previous call, in posting order. `function` is the
    /// JavaScript function the line was created with (null without one).
    fn handle(&self, env: sys::napi_env, function: sys::napi_value, items: Vec<Self::Item>);
}

struct State<I> {
    items: Vec<I>,
    /// A call into the JavaScript thread is pending: later posts only queue.
    signaled: bool,
    /// Released or torn down: nothing may call the thread-safe function any more.
    closed: bool,
    /// Whether the line keeps the event loop alive.
    referenced: bool,
}

struct Inner<H: Handler> {
    handler: H,
    state: Mutex<State<H::Item>>,
    /// The raw thread-safe function: Node-API allows calling and releasing it from any
    /// thread; ref / unref take the env, which only the JavaScript thread has.
    tsfn: AtomicPtr<sys::napi_threadsafe_function__>,
}

impl<H: Handler> Inner<H> {
    fn state(&self) -> MutexGuard<'_, State<H::Item>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn tsfn(&self) -> sys::napi_threadsafe_function {
        self.tsfn.load(Ordering::Acquire)
    }
}

/// A handle on a line to the JavaScript thread (cheap to clone).
pub(crate) struct JsThread<H: Handler>(Arc<Inner<H>>);

impl<H: Handler> Clone for JsThread<H> {
    fn clone(&self) -> Self {
        JsThread(self.0.clone())
    }
}

impl<H: Handler> std::fmt::Debug for JsThread<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsThread").finish_non_exhaustive()
    }
}

impl<H: Handler> JsThread<H> {
    /// A line whose items `handler` handles; `function` (a JavaScript function, or null) is
    /// handed to each call. It keeps the event loop alive until [`Self::set_referenced`] or
    /// [`Self::close`]. Must run on the JavaScript thread of `env`.
    pub(crate) fn new(
        env: sys::napi_env,
        function: sys::napi_value,
        name: &str,
        handler: H,
    ) -> napi::Result<Self> {
        let mut resource_name = ptr::null_mut();
        // SAFETY: on the JavaScript thread with its live env; `name` outlives the call.
        check_status!(unsafe {
            sys::napi_create_string_utf8(
                env,
                name.as_ptr().cast(),
                name.len() as isize,
                &mut resource_name,
            )
        })?;
        let inner = Arc::new(Inner {
            handler,
            state: Mutex::new(State {
                items: Vec::new(),
                signaled: false,
                closed: false,
                referenced: true,
            }),
            tsfn: AtomicPtr::new(ptr::null_mut()),
        });
        // The thread-safe function's context: one strong count, given back in `finalize`.
        let context = Arc::into_raw(inner.clone()).cast_mut().cast::<c_void>();
        let mut tsfn = ptr::null_mut();
        // SAFETY: on the JavaScript thread; `context` stays valid until `finalize` runs.
        let status = unsafe {
            sys::napi_create_threadsafe_function(
                env,
                function,
                ptr::null_mut(),
                resource_name,
                0,
                1,
                context,
                Some(finalize::<H>),
                context,
                Some(call::<H>),
                &mut tsfn,
            )
        };
        if status != sys::Status::napi_ok {
            // SAFETY: Node did not take `context`; this gives its count back.
            drop(unsafe { Arc::from_raw(context.cast::<Inner<H>>()) });
            check_status!(
                status,
                "could not create the thread-safe function of {}",
                name
            )?;
        }
        inner.tsfn.store(tsfn, Ordering::Release);
        let line = JsThread(inner);
        // The environment cleanup hook (registered after the thread-safe function, so it runs
        // before Node's own teardown of it) closes the line; `finalize` removes it.
        // SAFETY: on the JavaScript thread; `context` stays valid until `finalize`.
        let hooked =
            unsafe { sys::napi_add_env_cleanup_hook(env, Some(teardown::<H>), context.cast()) };
        if hooked != sys::Status::napi_ok {
            line.close();
            return Err(napi::Error::new(
                napi::Status::from(hooked),
                format!("could not register the cleanup of {name}"),
            ));
        }
        Ok(line)
    }

    /// The handler.
    pub(crate) fn handler(&self) -> &H {
        &self.0.handler
    }

    /// Queues `item` for the JavaScript thread; `Err(item)` when the line is closed.
    pub(crate) fn post(&self, item: H::Item) -> Result<(), H::Item> {
        let mut state = self.0.state();
        if state.closed {
            return Err(item);
        }
        state.items.push(item);
        if !state.signaled {
            // SAFETY: the line is open (checked under the lock that `close` and the teardown
            // hook take), so Node has not freed the thread-safe function.
            let status = unsafe {
                sys::napi_call_threadsafe_function(
                    self.0.tsfn(),
                    ptr::null_mut(),
                    sys::ThreadsafeFunctionCallMode::nonblocking,
                )
            };
            if status != sys::Status::napi_ok {
                // Closing under us (Node refused the call): nothing will take the queue.
                state.closed = true;
                let item = state.items.pop();
                return item.map_or(Ok(()), Err);
            }
            state.signaled = true;
        }
        Ok(())
    }

    /// Whether the line keeps Node's event loop alive. Must run on the JavaScript thread.
    pub(crate) fn set_referenced(&self, env: sys::napi_env, referenced: bool) {
        let mut state = self.0.state();
        if state.closed || state.referenced == referenced {
            return;
        }
        // SAFETY: on the JavaScript thread, the line open (checked under the lock).
        let status = unsafe {
            if referenced {
                sys::napi_ref_threadsafe_function(env, self.0.tsfn())
            } else {
                sys::napi_unref_threadsafe_function(env, self.0.tsfn())
            }
        };
        if status == sys::Status::napi_ok {
            state.referenced = referenced;
        }
    }

    /// Whether the line was closed (released or torn down).
    pub(crate) fn is_closed(&self) -> bool {
        self.0.state().closed
    }

    /// Releases the line (any thread): later posts fail, and it no longer keeps the event loop
    /// alive. Items already signaled are still handled; the rest are dropped with the line.
    pub(crate) fn close(&self) {
        let mut state = self.0.state();
        if state.closed {
            return;
        }
        state.closed = true;
        // SAFETY: the line was open until now (under the lock), so the function is alive.
        unsafe {
            sys::napi_release_threadsafe_function(
                self.0.tsfn(),
                sys::ThreadsafeFunctionReleaseMode::release,
            );
        }
    }
}

/// Runs on the JavaScript thread for each signal: hands the queued items to the handler.
unsafe extern "C" fn call<H: Handler>(
    env: sys::napi_env,
    function: sys::napi_value,
    context: *mut c_void,
    _data: *mut c_void,
) {
    if env.is_null() || context.is_null() {
        // The environment is tearing down: nothing can run.
        return;
    }
    // SAFETY: `context` is the line's `Inner`, kept alive until `finalize`.
    let inner = unsafe { &*context.cast_const().cast::<Inner<H>>() };
    let items = {
        let mut state = inner.state();
        state.signaled = false;
        std::mem::take(&mut state.items)
    };
    if items.is_empty() {
        return;
    }
    // A panic must not unwind into Node.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        inner.handler.handle(env, function, items)
    }));
}

/// Node finalized the thread-safe function (released, or torn down): the line gives back the
/// context's count and unhooks its cleanup.
unsafe extern "C" fn finalize<H: Handler>(
    env: sys::napi_env,
    data: *mut c_void,
    _hint: *mut c_void,
) {
    if data.is_null() {
        return;
    }
    // SAFETY: `data` is the context pointer made in `new`, whose count this gives back once.
    let inner = unsafe { Arc::from_raw(data.cast_const().cast::<Inner<H>>()) };
    inner.state().closed = true;
    if !env.is_null() {
        // SAFETY: on the JavaScript thread; removing a hook that already ran is a no-op.
        unsafe { sys::napi_remove_env_cleanup_hook(env, Some(teardown::<H>), data) };
    }
    drop(inner);
}

/// The environment tears down: close the line before Node frees the thread-safe function.
unsafe extern "C" fn teardown<H: Handler>(arg: *mut c_void) {
    if arg.is_null() {
        return;
    }
    // SAFETY: `arg` is the context pointer, alive until `finalize`, which runs after this
    // hook (Node runs hooks in reverse registration order and tears the function down in its
    // own, earlier registered, hook) or removes it.
    let inner = unsafe { &*arg.cast_const().cast::<Inner<H>>() };
    inner.state().closed = true;
}
