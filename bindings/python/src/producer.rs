//! `Producer`: sync, asyncio, oneway, queue and sharding-key sends, batches, and
//! request-reply (requests, sync and asyncio, and replies).

use std::time::Duration;

use ferromq_client::{
    Error, Message, MessageView, Producer, ProducerOptions, SelectByHash, SendResult,
};
use ferromq_protocol::body::MessageQueue;
use pyo3::prelude::*;

use crate::error;
use crate::message::{PyMessage, PyMessageQueue, PyMessageView, PySendResult};
use crate::runtime::{awaitable, wait};
use crate::selector;
use crate::slot::{client_config, seconds, Common, Slot};

/// A producer.
///
/// `Producer(namesrv, group=None, *, instance_name=None, send_timeout=None, retry_times=None,
/// compress_threshold=None, max_message_size=None, request_timeout=None, credentials=None,
/// tls=None, namespace=None)`. `namesrv` is
/// `host:port` (several separated by `;`); timeouts are in seconds. Options left at None take
/// the client core's defaults: group `DEFAULT_PRODUCER`, 3 s timeouts, 2 retries, compression
/// above 4096 bytes, 4 MiB messages. Call `start()` (or use `with Producer(...) as p:`), then
/// send; `shutdown()` when done. A shut-down producer cannot be started again.
///
/// Every client constructor takes `credentials=(access_key, secret_key)` (or with a third
/// item, a security token) to sign each request for brokers with ACL on, and `tls=True` (the
/// system's trusted roots) or `tls=TlsConfig(...)` to connect over TLS.
///
/// Producers and consumers take `namespace="ns"` (Apache's client namespace): topics and
/// groups go on the wire as `ns%name`; messages, send results and queues show the bare names.
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

/// A request's whole timeout (send and wait) from `timeout_ms`; a negative one is refused here,
/// zero by the core.
fn request_timeout(py: Python<'_>, timeout_ms: i64) -> PyResult<Duration> {
    u64::try_from(timeout_ms)
        .map(Duration::from_millis)
        .map_err(|_| error::invalid(py, "request", "timeout_ms must not be negative"))
}

async fn request_to(
    p: Producer,
    m: Message,
    t: Target,
    timeout: Duration,
) -> Result<MessageView, Error> {
    match t {
        Target::Any => p.request(m, timeout).await,
        Target::Queue(q) => p.request_to_queue(m, &q, timeout).await,
        Target::Key(k) => p.request_with_selector(m, &SelectByHash, &k, timeout).await,
    }
}

fn view_object(py: Python<'_>, v: MessageView) -> PyResult<Py<PyAny>> {
    Ok(Py::new(py, PyMessageView::from(v))?.into_any())
}

#[pymethods]
impl PyProducer {
    #[new]
    #[pyo3(signature = (namesrv, group=None, *, instance_name=None, send_timeout=None, retry_times=None, compress_threshold=None, max_message_size=None, request_timeout=None, credentials=None, tls=None, namespace=None, enable_msg_trace=false, trace_topic=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        namesrv: &str,
        group: Option<String>,
        instance_name: Option<String>,
        send_timeout: Option<f64>,
        retry_times: Option<u32>,
        compress_threshold: Option<usize>,
        max_message_size: Option<usize>,
        request_timeout: Option<f64>,
        credentials: Option<Bound<'_, PyAny>>,
        tls: Option<Bound<'_, PyAny>>,
        namespace: Option<String>,
        enable_msg_trace: bool,
        trace_topic: Option<String>,
    ) -> PyResult<Self> {
        let mut options = ProducerOptions {
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
            enable_msg_trace,
            trace_topic,
            ..ProducerOptions::default()
        };
        if let Some(g) = group {
            options.group = g;
        }
        if let Some(t) = send_timeout {
            options.send_timeout = seconds(t);
        }
        if let Some(n) = retry_times {
            options.retry_times = n;
        }
        if let Some(n) = compress_threshold {
            options.compress_threshold = n;
        }
        if let Some(n) = max_message_size {
            options.max_message_size = n;
        }
        Ok(PyProducer {
            options,
            slot: Slot::new("producer"),
        })
    }

    /// The producer group.
    #[getter]
    fn group(&self) -> &str {
        &self.options.group
    }

    /// Starts the producer. A started producer refuses a second start, and a shut-down one
    /// cannot be started again (create a new one).
    fn start(&self, py: Python<'_>) -> PyResult<()> {
        self.slot.start(py, Producer::start(self.options.clone()))
    }

    /// Stops the producer; a second call does nothing.
    fn shutdown(&self, py: Python<'_>) -> PyResult<()> {
        self.slot.shutdown(py)
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
        let start = Producer::start(this.options.clone());
        this.slot
            .start_awaitable(py, slf.clone().unbind().into_any(), start)
    }

    /// Shuts the producer down at the end of `async with`.
    #[pyo3(signature = (*_args))]
    fn __aexit__<'py>(
        &self,
        py: Python<'py>,
        _args: &Bound<'py, pyo3::types::PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.slot.shutdown_awaitable(py)
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
        let p = self.slot.get(py, "send")?;
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

    /// Sends to the queue `selector(message, queue_count)` picks among the topic's writable
    /// queues: it returns an int from 0 to `queue_count - 1` (one attempt, as with a sharding
    /// key). It runs on a client thread (taking the GIL) while the send waits. An exception or
    /// any other answer raises InvalidArgumentError and nothing is sent.
    fn send_with_selector(
        &self,
        py: Python<'_>,
        message: PyMessage,
        selector: Py<PyAny>,
    ) -> PyResult<PySendResult> {
        if !selector.bind(py).is_callable() {
            return Err(error::invalid(py, "send", "selector must be callable"));
        }
        let p = self.slot.get(py, "send")?;
        let selector = selector::selector(selector);
        wait(py, async move {
            p.send_with_selector(message.inner, &selector, "").await
        })?
        .map(PySendResult::from)
        .map_err(|e| error::to_py(py, &e))
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
        let p = self.slot.get(py, "send async")?;
        let t = target(queue, sharding_key);
        awaitable(py, send_to(p, message.inner, t), result_object)
    }

    /// Sends oneway: no answer is awaited, so nothing is known of the outcome. Never retried.
    fn send_oneway(&self, py: Python<'_>, message: PyMessage) -> PyResult<()> {
        let p = self.slot.get(py, "send oneway")?;
        wait(py, async move { p.send_oneway(message.inner).await })?
            .map_err(|e| error::to_py(py, &e))
    }

    /// Sends messages of one topic as batches (split at `max_message_size`); returns one
    /// SendResult per batch.
    fn send_batch(&self, py: Python<'_>, messages: Vec<PyMessage>) -> PyResult<Vec<PySendResult>> {
        let p = self.slot.get(py, "send batch")?;
        let messages: Vec<Message> = messages.into_iter().map(|m| m.inner).collect();
        wait(py, async move { p.send_batch(messages).await })?
            .map(|rs| rs.into_iter().map(PySendResult::from).collect())
            .map_err(|e| error::to_py(py, &e))
    }

    /// Sends `message` as a request and waits for its reply (docs/request-reply.md), with the
    /// GIL released; returns the reply as a MessageView. `timeout_ms` covers the send and the
    /// wait: without a reply by then RequestTimeoutError is raised (a reply arriving later is
    /// dropped). With `queue` the request goes to that queue, with `sharding_key` to the queue
    /// the key hashes to.
    #[pyo3(signature = (message, *, timeout_ms=3000, queue=None, sharding_key=None))]
    fn request(
        &self,
        py: Python<'_>,
        message: PyMessage,
        timeout_ms: i64,
        queue: Option<PyMessageQueue>,
        sharding_key: Option<String>,
    ) -> PyResult<PyMessageView> {
        let timeout = request_timeout(py, timeout_ms)?;
        let p = self.slot.get(py, "request")?;
        let t = target(queue, sharding_key);
        wait(py, request_to(p, message.inner, t, timeout))?
            .map(PyMessageView::from)
            .map_err(|e| error::to_py(py, &e))
    }

    /// A request to the given queue; same as `request(message, queue=queue, ...)`.
    #[pyo3(signature = (message, queue, *, timeout_ms=3000))]
    fn request_to_queue(
        &self,
        py: Python<'_>,
        message: PyMessage,
        queue: PyMessageQueue,
        timeout_ms: i64,
    ) -> PyResult<PyMessageView> {
        self.request(py, message, timeout_ms, Some(queue), None)
    }

    /// A request to the queue `selector(message, queue_count)` picks, as in
    /// `send_with_selector`.
    #[pyo3(signature = (message, selector, *, timeout_ms=3000))]
    fn request_with_selector(
        &self,
        py: Python<'_>,
        message: PyMessage,
        selector: Py<PyAny>,
        timeout_ms: i64,
    ) -> PyResult<PyMessageView> {
        if !selector.bind(py).is_callable() {
            return Err(error::invalid(py, "request", "selector must be callable"));
        }
        let timeout = request_timeout(py, timeout_ms)?;
        let p = self.slot.get(py, "request")?;
        let selector = selector::selector(selector);
        wait(py, async move {
            p.request_with_selector(message.inner, &selector, "", timeout)
                .await
        })?
        .map(PyMessageView::from)
        .map_err(|e| error::to_py(py, &e))
    }

    /// `request` without blocking: returns an asyncio future (await it) resolving to the
    /// reply or raising the error (RequestTimeoutError without a reply in `timeout_ms`). Must
    /// be called from a running event loop.
    #[pyo3(signature = (message, *, timeout_ms=3000, queue=None, sharding_key=None))]
    fn request_async<'py>(
        &self,
        py: Python<'py>,
        message: PyMessage,
        timeout_ms: i64,
        queue: Option<PyMessageQueue>,
        sharding_key: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let timeout = request_timeout(py, timeout_ms)?;
        let p = self.slot.get(py, "request async")?;
        let t = target(queue, sharding_key);
        awaitable(py, request_to(p, message.inner, t, timeout), view_object)
    }

    /// Sends a reply built with `Message.reply_to`; returns a SendResult once the broker
    /// pushed it to the requester (a requester that is gone, or gave up, raises BrokerError).
    /// Raises InvalidArgumentError for a message that is not a reply. (`send` and `send_async`
    /// send a reply the same way.)
    fn send_reply(&self, py: Python<'_>, reply: PyMessage) -> PyResult<PySendResult> {
        let p = self.slot.get(py, "send reply")?;
        wait(py, async move { p.send_reply(reply.inner).await })?
            .map(PySendResult::from)
            .map_err(|e| error::to_py(py, &e))
    }

    /// The producer's client-side counters since it started, as a dict: `sends` (send calls
    /// that succeeded; a batch is one), `messages` (messages in them), `send_failures` (calls
    /// that failed after their retries) and `send_latency` (a histogram of each call's time:
    /// `bounds_ms`, `counts` per bucket with one more for slower calls, `count`, `sum_ms`).
    /// Raises IllegalStateError unless started.
    fn metrics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
        let p = self.slot.get(py, "metrics")?;
        crate::metrics::producer(py, &p.metrics())
    }

    fn __repr__(&self) -> String {
        format!(
            "Producer(group={:?}, namesrv={:?}, started={})",
            self.options.group,
            self.options.client.namesrv_addr,
            self.slot.is_started()
        )
    }
}

impl Drop for PyProducer {
    fn drop(&mut self) {
        self.slot.drop_in_background();
    }
}
