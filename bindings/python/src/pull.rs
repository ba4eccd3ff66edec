//! `PullConsumer`: the lite pull consumer (assign or subscribe, poll, seek, commit, pause and
//! resume), also a blocking iterator and an async iterator over messages.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferromq_client::{MessageView, PullConsumer, PullConsumerOptions};
use ferromq_protocol::body::MessageQueue;
use pyo3::exceptions::{PyStopAsyncIteration, PyStopIteration};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::error;
use crate::message::{PyConsumeFrom, PyMessageQueue, PyMessageView};
use crate::push::expression;
use crate::runtime::{awaitable, exit_awaitable, runtime, wait};
use crate::slot::{client_config, seconds, Slot};

/// How long one poll of the iterators waits before checking again.
const ITER_POLL: Duration = Duration::from_millis(500);

/// A lite pull consumer: `subscribe()` (queues shared by the group) or `assign()` (exactly
/// those queues), then `poll()` batches, or iterate: `for m in consumer` blocks for the next
/// message, `async for m in consumer` awaits it. Iteration ends when the consumer is shut down
/// or, with `iter_timeout` (seconds), when no message came for that long.
///
/// `PullConsumer(namesrv, group, *, consume_from=ConsumeFrom.LAST_OFFSET,
/// consume_timestamp_ms=None, auto_commit=True, pull_batch_size=10, iter_timeout=None,
/// instance_name=None, request_timeout=3.0)`. Polled messages count as consumed: their offsets
/// are committed by `commit()` or, with `auto_commit`, every 5 seconds and at shutdown.
#[pyclass(name = "PullConsumer", module = "ferromq")]
pub(crate) struct PyPullConsumer {
    options: PullConsumerOptions,
    iter_timeout: Option<Duration>,
    buffer: Arc<Mutex<VecDeque<MessageView>>>,
    slot: Slot<PullConsumer>,
}

fn queues(qs: Vec<PyMessageQueue>) -> Vec<MessageQueue> {
    qs.into_iter().map(|q| q.inner).collect()
}

fn lock(b: &Mutex<VecDeque<MessageView>>) -> std::sync::MutexGuard<'_, VecDeque<MessageView>> {
    b.lock().unwrap_or_else(|e| e.into_inner())
}

/// The next message: from the buffer, else polled until one comes, the consumer is closed
/// (`None`) or `limit` passes (`None`).
async fn next_message(
    c: PullConsumer,
    buffer: Arc<Mutex<VecDeque<MessageView>>>,
    limit: Option<Duration>,
) -> Result<Option<MessageView>, ferromq_client::Error> {
    let started = std::time::Instant::now();
    loop {
        if let Some(m) = lock(&buffer).pop_front() {
            return Ok(Some(m));
        }
        let wait_for = match limit {
            Some(l) => match l.checked_sub(started.elapsed()) {
                Some(left) if !left.is_zero() => left.min(ITER_POLL),
                _ => return Ok(None),
            },
            None => ITER_POLL,
        };
        match c.poll(wait_for).await {
            Ok(batch) => lock(&buffer).extend(batch),
            Err(e) if e.kind() == ferromq_client::ErrorKind::IllegalState => return Ok(None),
            Err(e) => return Err(e),
        }
    }
}

#[pymethods]
impl PyPullConsumer {
    #[new]
    #[pyo3(signature = (namesrv, group, *, consume_from=PyConsumeFrom::LastOffset, consume_timestamp_ms=None, auto_commit=true, pull_batch_size=10, iter_timeout=None, instance_name=None, request_timeout=3.0))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        namesrv: &str,
        group: &str,
        consume_from: PyConsumeFrom,
        consume_timestamp_ms: Option<i64>,
        auto_commit: bool,
        pull_batch_size: i32,
        iter_timeout: Option<f64>,
        instance_name: Option<String>,
        request_timeout: f64,
    ) -> PyResult<Self> {
        Ok(PyPullConsumer {
            options: PullConsumerOptions {
                client: client_config(namesrv, instance_name, request_timeout),
                group: group.to_owned(),
                consume_from: consume_from.to_core(py, consume_timestamp_ms)?,
                auto_commit,
                pull_batch_size,
                ..PullConsumerOptions::default()
            },
            iter_timeout: iter_timeout.map(seconds),
            buffer: Arc::new(Mutex::new(VecDeque::new())),
            slot: Slot::new("pull consumer"),
        })
    }

    /// The consumer group.
    #[getter]
    fn group(&self) -> &str {
        &self.options.group
    }

    /// Starts the consumer with no queues yet (no-op when started).
    fn start(&self, py: Python<'_>) -> PyResult<()> {
        self.slot.check_process(py)?;
        if self.slot.is_set() {
            return Ok(());
        }
        let options = self.options.clone();
        let c = wait(py, PullConsumer::start(options))?.map_err(|e| error::to_py(py, &e))?;
        self.slot.set(c);
        Ok(())
    }

    /// Commits (with auto commit), stops fetching and leaves the group (no-op when not
    /// started). Iterators then stop.
    fn shutdown(&self, py: Python<'_>) -> PyResult<()> {
        self.slot.check_process(py)?;
        if let Some(c) = self.slot.take() {
            wait(py, async move { c.shutdown().await })?;
        }
        lock(&self.buffer).clear();
        Ok(())
    }

    fn __enter__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        slf.borrow().start(slf.py())?;
        Ok(slf)
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, PyTuple>) -> PyResult<bool> {
        self.shutdown(py)?;
        Ok(false)
    }

    /// `async with PullConsumer(...) as c:` starts the consumer without blocking the loop.
    fn __aenter__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, PyAny>> {
        let py = slf.py();
        let this = slf.borrow();
        this.slot.check_process(py)?;
        let options = this.options.clone();
        let started = this.slot.current();
        let me = slf.clone().unbind();
        awaitable(
            py,
            async move {
                match started {
                    Some(c) => Ok(c),
                    None => PullConsumer::start(options).await,
                }
            },
            move |py, c| {
                me.borrow(py).slot.set(c);
                Ok(me.into_any())
            },
        )
    }

    /// Shuts the consumer down at the end of `async with`.
    #[pyo3(signature = (*_args))]
    fn __aexit__<'py>(
        &self,
        py: Python<'py>,
        _args: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.slot.check_process(py)?;
        let started = self.slot.take();
        lock(&self.buffer).clear();
        exit_awaitable(py, started.map(|x| async move { x.shutdown().await }))
    }

    /// Subscribes to `topic` (a tag expression, or SQL92 with `sql`); the group's members share
    /// its queues.
    #[pyo3(signature = (topic, expression=None, *, sql=None))]
    fn subscribe(
        &self,
        py: Python<'_>,
        topic: String,
        expression: Option<String>,
        sql: Option<String>,
    ) -> PyResult<()> {
        let c = self.slot.get(py)?;
        let filter = self::expression(py, expression, sql)?;
        wait(py, async move { c.subscribe(&topic, filter).await })?
            .map_err(|e| error::to_py(py, &e))
    }

    /// Reads exactly `queues` (no rebalancing), from their committed offsets.
    fn assign(&self, py: Python<'_>, queues: Vec<PyMessageQueue>) -> PyResult<()> {
        let c = self.slot.get(py)?;
        let qs = self::queues(queues);
        wait(py, async move { c.assign(qs).await })?.map_err(|e| error::to_py(py, &e))
    }

    /// The readable queues of `topic`.
    fn fetch_queues(&self, py: Python<'_>, topic: String) -> PyResult<Vec<PyMessageQueue>> {
        let c = self.slot.get(py)?;
        wait(py, async move { c.fetch_queues(&topic).await })?
            .map(|qs| qs.into_iter().map(Into::into).collect())
            .map_err(|e| error::to_py(py, &e))
    }

    /// The queues currently read.
    fn assignment(&self, py: Python<'_>) -> PyResult<Vec<PyMessageQueue>> {
        let c = self.slot.get(py)?;
        Ok(c.assignment().into_iter().map(Into::into).collect())
    }

    /// The next batch of messages of one queue, waiting up to `timeout` seconds; an empty list
    /// if none came.
    #[pyo3(signature = (timeout=1.0))]
    fn poll(&self, py: Python<'_>, timeout: f64) -> PyResult<Vec<PyMessageView>> {
        let c = self.slot.get(py)?;
        let mut out: Vec<MessageView> = lock(&self.buffer).drain(..).collect();
        if out.is_empty() {
            let d = seconds(timeout);
            out = wait(py, async move { c.poll(d).await })?.map_err(|e| error::to_py(py, &e))?;
        }
        Ok(out.into_iter().map(PyMessageView::from).collect())
    }

    /// Continues `queue` from `offset` (buffered messages of it are discarded).
    fn seek(&self, py: Python<'_>, queue: PyMessageQueue, offset: i64) -> PyResult<()> {
        let c = self.slot.get(py)?;
        lock(&self.buffer).retain(|m| m.queue() != &queue.inner);
        wait(py, async move { c.seek(&queue.inner, offset).await })?
            .map_err(|e| error::to_py(py, &e))
    }

    /// Continues `queue` from its first message.
    fn seek_to_begin(&self, py: Python<'_>, queue: PyMessageQueue) -> PyResult<()> {
        let c = self.slot.get(py)?;
        lock(&self.buffer).retain(|m| m.queue() != &queue.inner);
        wait(py, async move { c.seek_to_begin(&queue.inner).await })?
            .map_err(|e| error::to_py(py, &e))
    }

    /// Continues `queue` after its last message.
    fn seek_to_end(&self, py: Python<'_>, queue: PyMessageQueue) -> PyResult<()> {
        let c = self.slot.get(py)?;
        lock(&self.buffer).retain(|m| m.queue() != &queue.inner);
        wait(py, async move { c.seek_to_end(&queue.inner).await })?
            .map_err(|e| error::to_py(py, &e))
    }

    /// Stores the consumed offsets of every queue on the broker now.
    fn commit(&self, py: Python<'_>) -> PyResult<()> {
        let c = self.slot.get(py)?;
        wait(py, async move { c.commit().await })?.map_err(|e| error::to_py(py, &e))
    }

    /// The offset committed on the broker for `queue`, or None.
    fn committed(&self, py: Python<'_>, queue: PyMessageQueue) -> PyResult<Option<i64>> {
        let c = self.slot.get(py)?;
        wait(py, async move { c.committed(&queue.inner).await })?.map_err(|e| error::to_py(py, &e))
    }

    /// Stops fetching `queues` (messages already fetched are still returned).
    fn pause(&self, py: Python<'_>, queues: Vec<PyMessageQueue>) -> PyResult<()> {
        let c = self.slot.get(py)?;
        c.pause(&self::queues(queues));
        Ok(())
    }

    /// Restarts fetching `queues`.
    fn resume(&self, py: Python<'_>, queues: Vec<PyMessageQueue>) -> PyResult<()> {
        let c = self.slot.get(py)?;
        c.resume(&self::queues(queues));
        Ok(())
    }

    /// Polls asynchronously: an asyncio future of the next batch (see `poll`).
    #[pyo3(signature = (timeout=1.0))]
    fn poll_async<'py>(&self, py: Python<'py>, timeout: f64) -> PyResult<Bound<'py, PyAny>> {
        let c = self.slot.get(py)?;
        let buffered: Vec<MessageView> = lock(&self.buffer).drain(..).collect();
        let d = seconds(timeout);
        awaitable(
            py,
            async move {
                if buffered.is_empty() {
                    c.poll(d).await
                } else {
                    Ok(buffered)
                }
            },
            |py, batch: Vec<MessageView>| {
                let list: Vec<PyMessageView> = batch.into_iter().map(Into::into).collect();
                Ok(list.into_pyobject(py)?.into_any().unbind())
            },
        )
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<PyMessageView> {
        self.slot.check_process(py)?;
        let Some(c) = self.slot.current() else {
            return Err(PyStopIteration::new_err(()));
        };
        let buffer = self.buffer.clone();
        let limit = self.iter_timeout;
        match wait(py, next_message(c, buffer, limit))? {
            Ok(Some(m)) => Ok(m.into()),
            Ok(None) => Err(PyStopIteration::new_err(())),
            Err(e) => Err(error::to_py(py, &e)),
        }
    }

    fn __aiter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.slot.check_process(py)?;
        let Some(c) = self.slot.current() else {
            return Err(PyStopAsyncIteration::new_err(()));
        };
        let buffer = self.buffer.clone();
        let limit = self.iter_timeout;
        awaitable(
            py,
            next_message(c, buffer, limit),
            |py, m: Option<MessageView>| match m {
                Some(m) => Ok(Py::new(py, PyMessageView::from(m))?.into_any()),
                None => Err(PyStopAsyncIteration::new_err(())),
            },
        )
    }

    fn __repr__(&self) -> String {
        format!(
            "PullConsumer(group={:?}, started={})",
            self.options.group,
            self.slot.is_set()
        )
    }
}

impl Drop for PyPullConsumer {
    fn drop(&mut self) {
        if let Some(c) = self.slot.take_for_drop() {
            runtime().spawn(async move { c.shutdown().await });
        }
    }
}
