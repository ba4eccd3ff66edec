//! `Producer`: sync, asyncio, oneway, queue and sharding-key sends, batches.

use ferromq_client::{Error, Message, Producer, ProducerOptions, SelectByHash, SendResult};
use ferromq_protocol::body::MessageQueue;
use pyo3::prelude::*;

use crate::error;
use crate::message::{PyMessage, PyMessageQueue, PySendResult};
use crate::runtime::{awaitable, exit_awaitable, runtime, wait};
use crate::slot::{client_config, seconds, Slot};

/// A producer.
///
/// `Producer(namesrv, group="DEFAULT_PRODUCER", *, instance_name=None, send_timeout=3.0,
/// retry_times=2, compress_threshold=4096, max_message_size=4194304, request_timeout=3.0)`.
/// `namesrv` is `host:port` (several separated by `;`); timeouts are in seconds. Call
/// `start()` (or use `with Producer(...) as p:`), then send; `shutdown()` when done.
#[pyclass(name = "Producer", module = "ferromq")]
pub(crate) struct PyProducer {
    options: ProducerOptions,
    slot: Slot<Producer>,
}

/// Where a send goes.
enum Target {
    Any,
    Queue(MessageQueue),
    Key(String),
}

fn target(queue: Option<PyMessageQueue>, sharding_key: Option<String>) -> Target {
    match (queue, sharding_key) {
        (Some(q), _) => Target::Queue(q.inner),
        (None, Some(k)) => Target::Key(k),
        (None, None) => Target::Any,
    }
}

async fn send_to(p: Producer, m: Message, t: Target) -> Result<SendResult, Error> {
    match t {
        Target::Any => p.send(m).await,
        Target::Queue(q) => p.send_to_queue(m, &q).await,
        Target::Key(k) => p.send_with_selector(m, &SelectByHash, &k).await,
    }
}

fn result_object(py: Python<'_>, r: SendResult) -> PyResult<Py<PyAny>> {
    Ok(Py::new(py, PySendResult::from(r))?.into_any())
}

#[pymethods]
impl PyProducer {
    #[new]
    #[pyo3(signature = (namesrv, group="DEFAULT_PRODUCER", *, instance_name=None, send_timeout=3.0, retry_times=2, compress_threshold=4096, max_message_size=4194304, request_timeout=3.0))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        namesrv: &str,
        group: &str,
        instance_name: Option<String>,
        send_timeout: f64,
        retry_times: u32,
        compress_threshold: usize,
        max_message_size: usize,
        request_timeout: f64,
    ) -> Self {
        PyProducer {
            options: ProducerOptions {
                client: client_config(namesrv, instance_name, request_timeout),
                group: group.to_owned(),
                send_timeout: seconds(send_timeout),
                retry_times,
                compress_threshold,
                max_message_size,
                ..ProducerOptions::default()
            },
            slot: Slot::new("producer"),
        }
    }

    /// The producer group.
    #[getter]
    fn group(&self) -> &str {
        &self.options.group
    }

    /// Starts the producer (no-op when started).
    fn start(&self, py: Python<'_>) -> PyResult<()> {
        self.slot.check_process(py)?;
        if self.slot.is_set() {
            return Ok(());
        }
        let options = self.options.clone();
        let p = wait(py, Producer::start(options))?.map_err(|e| error::to_py(py, &e))?;
        self.slot.set(p);
        Ok(())
    }

    /// Stops the producer (no-op when not started).
    fn shutdown(&self, py: Python<'_>) -> PyResult<()> {
        self.slot.check_process(py)?;
        if let Some(p) = self.slot.take() {
            wait(py, async move { p.shutdown().await })?;
        }
        Ok(())
    }

    fn __enter__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        slf.borrow().start(slf.py())?;
        Ok(slf)
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        self.shutdown(py)?;
        Ok(false)
    }

    /// `async with Producer(...) as p:` starts the producer without blocking the loop.
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
                    Some(p) => Ok(p),
                    None => Producer::start(options).await,
                }
            },
            move |py, p| {
                me.borrow(py).slot.set(p);
                Ok(me.into_any())
            },
        )
    }

    /// Shuts the producer down at the end of `async with`.
    #[pyo3(signature = (*_args))]
    fn __aexit__<'py>(
        &self,
        py: Python<'py>,
        _args: &Bound<'py, pyo3::types::PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.slot.check_process(py)?;
        let started = self.slot.take();
        exit_awaitable(py, started.map(|x| async move { x.shutdown().await }))
    }

    /// Sends and waits for the broker's answer (retrying on another broker on failure);
    /// returns a SendResult. With `queue` it goes to that queue, with `sharding_key` to the
    /// queue the key hashes to (one attempt each, so ordering holds).
    #[pyo3(signature = (message, *, queue=None, sharding_key=None))]
    fn send(
        &self,
        py: Python<'_>,
        message: PyMessage,
        queue: Option<PyMessageQueue>,
        sharding_key: Option<String>,
    ) -> PyResult<PySendResult> {
        let p = self.slot.get(py)?;
        let t = target(queue, sharding_key);
        wait(py, send_to(p, message.inner, t))?
            .map(PySendResult::from)
            .map_err(|e| error::to_py(py, &e))
    }

    /// Sends to the given queue (one attempt); same as `send(message, queue=queue)`.
    fn send_to_queue(
        &self,
        py: Python<'_>,
        message: PyMessage,
        queue: PyMessageQueue,
    ) -> PyResult<PySendResult> {
        self.send(py, message, Some(queue), None)
    }

    /// Sends without blocking: returns an asyncio future (await it) resolving to the
    /// SendResult or raising the error. Must be called from a running event loop.
    #[pyo3(signature = (message, *, queue=None, sharding_key=None))]
    fn send_async<'py>(
        &self,
        py: Python<'py>,
        message: PyMessage,
        queue: Option<PyMessageQueue>,
        sharding_key: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let p = self.slot.get(py)?;
        let t = target(queue, sharding_key);
        awaitable(py, send_to(p, message.inner, t), result_object)
    }

    /// Sends oneway: no answer is awaited, so nothing is known of the outcome. Never retried.
    fn send_oneway(&self, py: Python<'_>, message: PyMessage) -> PyResult<()> {
        let p = self.slot.get(py)?;
        wait(py, async move { p.send_oneway(message.inner).await })?
            .map_err(|e| error::to_py(py, &e))
    }

    /// Sends messages of one topic as batches (split at `max_message_size`); returns one
    /// SendResult per batch.
    fn send_batch(&self, py: Python<'_>, messages: Vec<PyMessage>) -> PyResult<Vec<PySendResult>> {
        let p = self.slot.get(py)?;
        let messages: Vec<Message> = messages.into_iter().map(|m| m.inner).collect();
        wait(py, async move { p.send_batch(messages).await })?
            .map(|rs| rs.into_iter().map(PySendResult::from).collect())
            .map_err(|e| error::to_py(py, &e))
    }

    fn __repr__(&self) -> String {
        format!(
            "Producer(group={:?}, namesrv={:?}, started={})",
            self.options.group,
            self.options.client.namesrv_addr,
            self.slot.is_set()
        )
    }
}

impl Drop for PyProducer {
    fn drop(&mut self) {
        if let Some(p) = self.slot.take_for_drop() {
            runtime().spawn(async move { p.shutdown().await });
        }
    }
}
