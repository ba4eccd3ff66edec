//! The binding's tokio runtime: multi-threaded, created on first use and shared by every
//! handle (the client core never creates one). It lives until the process exits.

use std::cell::Cell;
use std::future::Future;
use std::sync::OnceLock;

use ferromq_client::{Error, ErrorKind};
use tokio::runtime::{Builder, Runtime};

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

thread_local! {
    /// Set while a callback that runs inside the runtime's async context is in C: blocking
    /// calls from there would deadlock or panic in tokio, so they are refused.
    static IN_ASYNC_CALLBACK: Cell<bool> = const { Cell::new(false) };
}

/// The shared runtime.
pub(crate) fn runtime() -> Result<&'static Runtime, Error> {
    if let Some(rt) = RUNTIME.get() {
        return Ok(rt);
    }
    let rt = Builder::new_multi_thread()
        .enable_all()
        .thread_name("ferromq-runtime")
        .build()
        .map_err(|e| {
            Error::new(ErrorKind::Io, "runtime", "cannot start the runtime").with_source(e)
        })?;
    // Two threads may race here; the loser's runtime is dropped before it ran anything.
    Ok(RUNTIME.get_or_init(|| rt))
}

/// Runs `future` to completion on the calling thread (the blocking C calls): polled there
/// inside the runtime's context, woken by the worker that gets the answer
/// ([`ferromq_client::blocking`]). On a thread of the runtime itself (a listener calling back
/// into the client, on the runtime's blocking pool) tokio's `block_on` waits instead.
pub(crate) fn block_on<F: Future>(op: &'static str, future: F) -> Result<F::Output, Error> {
    if IN_ASYNC_CALLBACK.with(Cell::get) {
        return Err(Error::illegal_state(
            op,
            "blocking calls are not allowed in a send-completion or transaction-execute callback",
        ));
    }
    let rt = runtime()?;
    if tokio::runtime::Handle::try_current().is_ok() {
        return Ok(rt.block_on(future));
    }
    let _context = rt.enter();
    Ok(ferromq_client::blocking::block_here(future))
}

/// Calls into C from the runtime's async context: blocking FerroMQ calls are refused there.
pub(crate) fn in_async_callback<T>(call: impl FnOnce() -> T) -> T {
    let before = IN_ASYNC_CALLBACK.with(|f| f.replace(true));
    let out = call();
    IN_ASYNC_CALLBACK.with(|f| f.set(before));
    out
}
