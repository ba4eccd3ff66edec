//! `PullConsumer`: the lite pull consumer (assign or subscribe, poll, seek, commit, pause and
//! resume), also a blocking iterator and an async iterator over messages.

use std::time::Duration;

use ferromq_client::{MessageView, PullConsumer, PullConsumerOptions};
use ferromq_protocol::body::MessageQueue;
use pyo3::exceptions::{PyStopAsyncIteration, PyStopIteration};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::error;
use crate::message::{consume_from, ConsumeFromArg, PyMessageQueue, PyMessageView};
use crate::push::expression;
use crate::runtime::{awaitable, wait};
use crate::slot::{client_config, seconds, Common, Slot};

/// A lite pull consumer: `subscribe()` (queues shared by the group) or `assign()` (exactly
/// those queues), then `poll()` batches, or iterate: `for m in consumer` blocks for the next
/// message, `async for m in consumer` awaits it. Iteration ends when the consumer is shut down
/// or, with `iter_timeout` (seconds), when no message came for that long.
///
/// `PullConsumer(namesrv, group, *, consume_from=None, consume_timestamp_ms=None,
/// auto_commit=None, pull_batch_size=None, iter_timeout=None, instance_name=None,
/// request_timeout=None, credentials=None, tls=None, namespace=None)`. Polled messages count as consumed: their offsets are committed by
/// `commit()` or, with auto commit (the default), every 5 seconds and at shutdown. Options
/// left at None take the client core's defaults (last offset, auto commit, 10 per pull).
#[pyclass(name = "PullConsumer", module = "ferromq")]
pub(crate) struct PyPullConsumer {
    options: PullConsumerOptions,
    iter_timeout: Option<Duration>,
    slot: Slot<PullConsumer>,
}

fn queues(qs: Vec<PyMessageQueue>) -> Vec<MessageQueue> {
    qs.into_iter().map(|q| q.inner).collect()
}

#[pymethods]
impl PyPullConsumer {
    #[new]
    #[pyo3(signature = (namesrv, group, *, consume_from=None, consume_timestamp_ms=None, auto_commit=None, pull_batch_size=None, iter_timeout=None, instance_name=None, request_timeout=None, credentials=None, tls=None, namespace=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        namesrv: &str,
        group: &str,
        consume_from: Option<ConsumeFromArg>,
        consume_timestamp_ms: Option<i64>,
        auto_commit: Option<bool>,
        pull_batch_size: Option<i32>,
        iter_timeout: Option<f64>,
        instance_name: Option<String>,
        request_timeout: Option<f64>,
        credentials: Option<Bound<'_, PyAny>>,
        tls: Option<Bound<'_, PyAny>>,
        namespace: Option<String>,
    ) -> PyResult<Self> {
        let mut options = PullConsumerOptions {
            client: client_config(
                py,
                namesrv,
                Common {
                    instance_name,
                    request_timeout,
                    credentials,
                    tls,
                    namespace,
                },
            )?,
            group: group.to_owned(),
            consume_from: self::consume_from(py, consume_from, consume_timestamp_ms)?,
            ..PullConsumerOptions::default()
        };
        if let Some(b) = auto_commit {
            options.auto_commit = b;
        }
        if let Some(n) = pull_batch_size {
            options.pull_batch_size = n;
        }
        options.validate().map_err(|e| error::to_py(py, &e))?;
        Ok(PyPullConsumer {
            options,
            iter_timeout: iter_timeout.map(seconds),
            slot: Slot::new("pull consumer"),
        })
    }

    /// The consumer group.
    #[getter]
    fn group(&self) -> &str {
        &self.options.group
    }

    /// Starts the consumer with no queues yet. A started consumer refuses a second start, and
    /// a shut-down one cannot be started again (create a new one).
    fn start(&self, py: Python<'_>) -> PyResult<()> {
        self.slot
            .start(py, PullConsumer::start(self.options.clone()))
    }

    /// Commits (with auto commit), stops fetching and leaves the group; iterators then stop.
    /// A second call does nothing.
    fn shutdown(&self, py: Python<'_>) -> PyResult<()> {
        self.slot.shutdown(py)
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
        let start = PullConsumer::start(this.options.clone());
        this.slot
            .start_awaitable(py, slf.clone().unbind().into_any(), start)
    }

    /// Shuts the consumer down at the end of `async with`.
    #[pyo3(signature = (*_args))]
    fn __aexit__<'py>(
        &self,
        py: Python<'py>,
        _args: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.slot.shutdown_awaitable(py)
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
        let c = self.slot.get(py, "subscribe")?;
        let filter = self::expression(py, expression, sql)?;
        wait(py, async move { c.subscribe(&topic, filter).await })?
            .map_err(|e| error::to_py(py, &e))
    }

    /// Reads exactly `queues` (no rebalancing), from their committed offsets.
    fn assign(&self, py: Python<'_>, queues: Vec<PyMessageQueue>) -> PyResult<()> {
        let c = self.slot.get(py, "assign")?;
        let qs = self::queues(queues);
        wait(py, async move { c.assign(qs).await })?.map_err(|e| error::to_py(py, &e))
    }

    /// The readable queues of `topic`.
    fn fetch_queues(&self, py: Python<'_>, topic: String) -> PyResult<Vec<PyMessageQueue>> {
        let c = self.slot.get(py, "fetch queues")?;
        wait(py, async move { c.fetch_queues(&topic).await })?
            .map(|qs| qs.into_iter().map(Into::into).collect())
            .map_err(|e| error::to_py(py, &e))
    }

    /// The queues currently read.
    fn assignment(&self, py: Python<'_>) -> PyResult<Vec<PyMessageQueue>> {
        let c = self.slot.get(py, "assignment")?;
        Ok(c.assignment().into_iter().map(Into::into).collect())
    }

    /// The next batch of messages of one queue, waiting up to `timeout` seconds; an empty list
    /// if none came.
    #[pyo3(signature = (timeout=1.0))]
    fn poll(&self, py: Python<'_>, timeout: f64) -> PyResult<Vec<PyMessageView>> {
        let c = self.slot.get(py, "poll")?;
        let d = seconds(timeout);
        let out = wait(py, async move { c.poll(d).await })?.map_err(|e| error::to_py(py, &e))?;
        Ok(out.into_iter().map(PyMessageView::from).collect())
    }

    /// Continues `queue` from `offset` (messages of it fetched but not handed out are dropped).
    fn seek(&self, py: Python<'_>, queue: PyMessageQueue, offset: i64) -> PyResult<()> {
        let c = self.slot.get(py, "seek")?;
        wait(py, async move { c.seek(&queue.inner, offset).await })?
            .map_err(|e| error::to_py(py, &e))
    }

    /// Continues `queue` from its first message.
    fn seek_to_begin(&self, py: Python<'_>, queue: PyMessageQueue) -> PyResult<()> {
        let c = self.slot.get(py, "seek to begin")?;
        wait(py, async move { c.seek_to_begin(&queue.inner).await })?
            .map_err(|e| error::to_py(py, &e))
    }

    /// Continues `queue` after its last message.
    fn seek_to_end(&self, py: Python<'_>, queue: PyMessageQueue) -> PyResult<()> {
        let c = self.slot.get(py, "seek to end")?;
        wait(py, async move { c.seek_to_end(&queue.inner).await })?
            .map_err(|e| error::to_py(py, &e))
    }

    /// Stores the consumed offsets of every queue on the broker now.
    fn commit(&self, py: Python<'_>) -> PyResult<()> {
        let c = self.slot.get(py, "commit")?;
        wait(py, async move { c.commit().await })?.map_err(|e| error::to_py(py, &e))
    }

    /// The offset committed on the broker for `queue`, or None.
    fn committed(&self, py: Python<'_>, queue: PyMessageQueue) -> PyResult<Option<i64>> {
        let c = self.slot.get(py, "committed")?;
        wait(py, async move { c.committed(&queue.inner).await })?.map_err(|e| error::to_py(py, &e))
    }

    /// Stops fetching `queues` (messages already fetched are still returned).
    fn pause(&self, py: Python<'_>, queues: Vec<PyMessageQueue>) -> PyResult<()> {
        let c = self.slot.get(py, "pause")?;
        c.pause(&self::queues(queues));
        Ok(())
    }

    /// Restarts fetching `queues`.
    fn resume(&self, py: Python<'_>, queues: Vec<PyMessageQueue>) -> PyResult<()> {
        let c = self.slot.get(py, "resume")?;
        c.resume(&self::queues(queues));
        Ok(())
    }

    /// Polls asynchronously: an asyncio future of the next batch (see `poll`).
    #[pyo3(signature = (timeout=1.0))]
    fn poll_async<'py>(&self, py: Python<'py>, timeout: f64) -> PyResult<Bound<'py, PyAny>> {
        let c = self.slot.get(py, "poll async")?;
        let d = seconds(timeout);
        awaitable(
            py,
            async move { c.poll(d).await },
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
        let limit = self.iter_timeout;
        match wait(py, async move { c.next_message(limit).await })? {
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
        let limit = self.iter_timeout;
        awaitable(
            py,
            async move { c.next_message(limit).await },
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
            self.slot.is_started()
        )
    }
}

impl Drop for PyPullConsumer {
    fn drop(&mut self) {
        self.slot.drop_in_background();
    }
}
