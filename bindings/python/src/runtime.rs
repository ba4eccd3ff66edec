//! The tokio runtime the binding owns (the core never creates one), created on first use and
//! created again in a child process after `fork()` (the parent's worker threads do not exist
//! there). Blocking calls poll their future on the calling thread inside the runtime's context
//! with the GIL released (see [`wait`]); awaitables
//! complete an asyncio future through its loop's `call_soon_threadsafe`, handed over by one
//! completion thread (runtime workers never wait for the GIL).

use std::future::Future;
use std::sync::mpsc::{channel, sync_channel, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::sync::Mutex;
use std::time::Duration;

use ferromq_client::blocking::poll_here;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use tokio::runtime::Runtime;

use crate::error;

struct Current {
    pid: u32,
    runtime: &'static Runtime,
}

static CURRENT: Mutex<Option<Current>> = Mutex::new(None);

/// The runtime of this process.
pub(crate) fn runtime() -> &'static Runtime {
    let pid = std::process::id();
    let mut current = CURRENT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(c) = current.as_ref() {
        if c.pid == pid {
            return c.runtime;
        }
    }
    // First use, or a child after fork(): the old runtime (if any) is leaked, never dropped,
    // since dropping it would touch the parent's threads and epoll instance.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .thread_name("ferromq-runtime")
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("cannot start the ferromq runtime: {e}"));
    let runtime: &'static Runtime = Box::leak(Box::new(runtime));
    *current = Some(Current { pid, runtime });
    runtime
}

/// The id of the current process (objects remember where they were created).
pub(crate) fn pid() -> u32 {
    std::process::id()
}

/// Runs `future` to completion and returns its output, waiting with the GIL released; Ctrl-C
/// (a pending signal handler raising) cancels the wait and the future.
///
/// On an ordinary Python thread the future is polled on the calling thread itself (inside the
/// runtime's context, so its timers and spawned tasks work; `ferromq_client::blocking`): the
/// request is written without a hop to a runtime worker, and the answer wakes this thread
/// directly. On a thread that already
/// belongs to the runtime (a listener or selector calling back into the client) it runs as a
/// task instead, since a runtime thread must never be parked waiting for the runtime.
pub(crate) fn wait<T, F>(py: Python<'_>, future: F) -> PyResult<T>
where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
{
    if tokio::runtime::Handle::try_current().is_ok() {
        return wait_on_task(py, future);
    }
    let runtime = runtime();
    let mut future = Box::pin(future);
    loop {
        let (back, polled) = py.detach(move || {
            let _context = runtime.enter();
            let polled = poll_here(future.as_mut(), Some(SIGNAL_CHECK));
            (future, polled)
        });
        future = back;
        if let Some(value) = polled {
            return Ok(value);
        }
        // Dropping the future (on return) cancels the operation.
        py.check_signals()?;
    }
}

/// How often a blocking call looks for a pending Ctrl-C.
const SIGNAL_CHECK: Duration = Duration::from_millis(100);

/// [`wait`] for runtime threads: the future runs as a task, this thread waits on a channel.
fn wait_on_task<T, F>(py: Python<'_>, future: F) -> PyResult<T>
where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
{
    let (tx, rx) = sync_channel(1);
    let task = runtime().spawn(async move {
        let _ = tx.send(future.await);
    });
    let mut rx = rx;
    loop {
        let (back, received) = py.detach(move || {
            let r = rx.recv_timeout(SIGNAL_CHECK);
            (rx, r)
        });
        rx = back;
        match received {
            Ok(value) => return Ok(value),
            Err(RecvTimeoutError::Timeout) => {
                if let Err(e) = py.check_signals() {
                    task.abort();
                    return Err(e);
                }
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Err(error::illegal_state(
                    py,
                    "wait",
                    "the operation was cancelled (runtime stopped)",
                ))
            }
        }
    }
}

/// `_complete(items)`: completes asyncio futures, `items` a list of `(future, ok, value)`;
/// futures already done (cancelled) are skipped. Runs on the futures' loop (through
/// `call_soon_threadsafe`).
#[pyfunction]
#[pyo3(name = "_complete")]
pub(crate) fn complete(items: Vec<(Bound<'_, PyAny>, bool, Bound<'_, PyAny>)>) -> PyResult<()> {
    for (future, ok, value) in items {
        if future.call_method0("done")?.is_truthy()? {
            continue;
        }
        if ok {
            future.call_method1("set_result", (value,))?;
        } else {
            future.call_method1("set_exception", (value,))?;
        }
    }
    Ok(())
}

static COMPLETE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Builds `(ok, value)`, the result or the exception, with the GIL held.
type Outcome = Box<dyn for<'py> FnOnce(Python<'py>) -> (bool, Py<PyAny>) + Send>;

/// `(future, ok, value)` for `_complete`.
type Item = (Py<PyAny>, bool, Py<PyAny>);

/// A finished operation waiting to complete its asyncio future.
struct Completion {
    event_loop: Py<PyAny>,
    future: Py<PyAny>,
    outcome: Outcome,
}

/// What the completer thread is asked to do.
enum Job {
    Complete(Completion),
    /// Stop (at interpreter exit) and say so on the channel.
    Stop(SyncSender<()>),
}

struct Completer {
    pid: u32,
    tx: Sender<Job>,
}

static COMPLETER: Mutex<Option<Completer>> = Mutex::new(None);

/// The sender to this process's completer thread: the one thread that takes the GIL to hand
/// results to event loops, so runtime workers never wait for the GIL, and completions that
/// pile up while it waits go to each loop in one `call_soon_threadsafe`.
fn completer() -> Sender<Job> {
    let pid = std::process::id();
    let mut current = COMPLETER.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(c) = current.as_ref() {
        if c.pid == pid {
            return c.tx.clone();
        }
    }
    let (tx, rx) = channel::<Job>();
    std::thread::Builder::new()
        .name("ferromq-complete".to_owned())
        .spawn(move || complete_loop(rx))
        .unwrap_or_else(|e| panic!("cannot start the ferromq completion thread: {e}"));
    *current = Some(Completer {
        pid,
        tx: tx.clone(),
    });
    tx
}

fn complete_loop(rx: Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let first = match first {
            Job::Complete(c) => c,
            Job::Stop(done) => {
                let _ = done.send(());
                return;
            }
        };
        let mut stop = None;
        let attached = Python::try_attach(|py| {
            let complete = match COMPLETE.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
                Ok(wrap_pyfunction!(complete, py)?.into_any().unbind())
            }) {
                Ok(f) => f.clone_ref(py),
                Err(e) => {
                    e.print(py);
                    return;
                }
            };
            // Group by loop: one wake-up per loop for everything finished meanwhile.
            let mut groups: Vec<(Py<PyAny>, Vec<Item>)> = Vec::new();
            let mut jobs = std::iter::once(Job::Complete(first)).chain(rx.try_iter());
            for job in jobs.by_ref() {
                let c = match job {
                    Job::Complete(c) => c,
                    Job::Stop(done) => {
                        stop = Some(done);
                        break;
                    }
                };
                let (ok, value) = (c.outcome)(py);
                let item = (c.future, ok, value);
                match groups
                    .iter_mut()
                    .find(|(l, _)| l.as_ptr() == c.event_loop.as_ptr())
                {
                    Some((_, items)) => items.push(item),
                    None => groups.push((c.event_loop, vec![item])),
                }
            }
            for (event_loop, items) in groups {
                // The loop may be closed by now: nobody is waiting then.
                let _ = event_loop.call_method1(
                    py,
                    "call_soon_threadsafe",
                    (complete.clone_ref(py), items),
                );
            }
        });
        if let Some(done) = stop {
            let _ = done.send(());
            return;
        }
        if attached.is_none() {
            // The interpreter is shutting down.
            return;
        }
    }
}

/// `_stop_completer()`, registered with `atexit`: stops this process's completion thread
/// while the interpreter is still whole. Without it the thread could take the GIL for a late
/// result just as the interpreter finalizes, which aborts the process ("Fatal Python error:
/// PyGILState_Release"). Results that finish later are dropped (no loop runs to take them);
/// a later awaitable starts the thread again.
#[pyfunction]
#[pyo3(name = "_stop_completer")]
pub(crate) fn stop_completer(py: Python<'_>) {
    let taken = {
        let mut current = COMPLETER.lock().unwrap_or_else(|e| e.into_inner());
        match current.take() {
            Some(c) if c.pid == std::process::id() => Some(c.tx),
            _ => None,
        }
    };
    let Some(tx) = taken else { return };
    let (done_tx, done_rx) = sync_channel(1);
    if tx.send(Job::Stop(done_tx)).is_ok() {
        // The thread may be waiting for the GIL this thread holds: release it meanwhile.
        let _ = py.detach(move || done_rx.recv_timeout(Duration::from_secs(2)));
    }
}

/// The awaitable an `__aexit__` returns: runs `shutdown` (when the object was started) and
/// resolves to `False`, so an exception raised in the `async with` body propagates.
pub(crate) fn exit_awaitable<'py, F>(
    py: Python<'py>,
    shutdown: Option<F>,
) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = ()> + Send + 'static,
{
    awaitable(
        py,
        async move {
            if let Some(shutdown) = shutdown {
                shutdown.await;
            }
            Ok(())
        },
        |py, ()| Ok(false.into_pyobject(py)?.to_owned().into_any().unbind()),
    )
}

/// An asyncio future of the running loop that `future` completes: its `Ok` value converted by
/// `convert`, its error as the mapped exception. Must be called on a thread with a running
/// event loop.
pub(crate) fn awaitable<'py, T, F, C>(
    py: Python<'py>,
    future: F,
    convert: C,
) -> PyResult<Bound<'py, PyAny>>
where
    T: Send + 'static,
    F: Future<Output = Result<T, ferromq_client::Error>> + Send + 'static,
    C: for<'a> FnOnce(Python<'a>, T) -> PyResult<Py<PyAny>> + Send + 'static,
{
    let asyncio = py.import("asyncio")?;
    let event_loop = asyncio.call_method0("get_running_loop")?;
    let py_future = event_loop.call_method0("create_future")?;
    let event_loop = event_loop.unbind();
    let target = py_future.clone().unbind();
    let tx = completer();
    runtime().spawn(async move {
        let result = future.await;
        let _ = tx.send(Job::Complete(Completion {
            event_loop,
            future: target,
            outcome: Box::new(move |py| match result {
                Ok(v) => match convert(py, v) {
                    Ok(obj) => (true, obj),
                    Err(e) => (false, e.into_value(py).into_any()),
                },
                Err(e) => (false, error::to_py(py, &e).into_value(py).into_any()),
            }),
        }));
    });
    Ok(py_future)
}
