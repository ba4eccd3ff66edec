//! `PushConsumer`: a listener callable fed by the client (concurrent or orderly, clustering or
//! broadcasting, tag or SQL92 subscription).

use std::path::PathBuf;
use std::time::Duration;

use ferromq_client::{
    Allocation, EachMessage, FilterExpression, MessageModel, PushConsumer, PushConsumerOptions,
};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::error;
use crate::listener::PyListener;
use crate::message::{consume_from, ConsumeFromArg};
use crate::slot::{client_config, Common, Slot};

/// A subscription expression: a tag expression, or SQL92 when `sql` is given (the core's rule).
pub(crate) fn expression(
    py: Python<'_>,
    expression: Option<String>,
    sql: Option<String>,
) -> PyResult<FilterExpression> {
    FilterExpression::from_parts(expression, sql).map_err(|e| error::to_py(py, &e))
}

/// Seconds as a `Duration`; negative, NaN or infinite is an InvalidArgumentError (the core
/// judges the rest).
fn duration(py: Python<'_>, name: &str, seconds: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(seconds).map_err(|_| {
        error::invalid(
            py,
            "consumer",
            &format!("{name} must be a number of seconds, 0 or more, not {seconds}"),
        )
    })
}

/// A push consumer: the client pulls and calls `listener(message)` for each message on its
/// own threads (taking the GIL for the call).
///
/// `PushConsumer(namesrv, group, topic, expression=None, *, sql=None, listener, orderly=False,
/// broadcasting=False, consume_from=None, consume_timestamp_ms=None, consume_threads=None,
/// consume_batch_size=None, allocation=None, max_reconsume_times=None, instance_name=None,
/// offset_store_dir=None, request_timeout=None, credentials=None, tls=None, namespace=None,
/// enable_msg_trace=False, trace_topic=None, consume_timeout=None,
/// suspend_current_queue_time=None, await_termination=None, pull_threshold_for_queue=None,
/// pull_threshold_size_for_queue=None, pull_threshold_for_topic=None,
/// pull_threshold_size_for_topic=None)`.
/// `expression` is a tag expression (`"*"`, `"A || B"`; all when omitted), `sql` a SQL92
/// selector over properties instead. The listener returns None, True or ConsumeResult.SUCCESS
/// when consumed, False or ConsumeResult.RECONSUME_LATER to have the message redelivered;
/// raising an exception (or returning anything else) also means redelivery. `orderly`
/// consumes each queue in order, one message at a time; `broadcasting` gives every member
/// every message. `consume_batch_size` messages of one queue are handed over together (the
/// listener still gets one per call, in order; the first not consumed stops the batch and the
/// whole batch is redelivered); `allocation` shares the queues among the group's members:
/// "averagely", "averagelyByCircle" or "consistentHash" (any case, `_`/`-` separators and
/// Java's names too). Options left at None take the client core's defaults: start from the
/// last offset, 20 consume threads, a batch of 1, averagely, 16 redeliveries before the DLQ,
/// a 3 s request timeout. Times are in seconds: `consume_timeout` (900: a message whose
/// listener call runs longer is redelivered and the queue moves on; more than 0),
/// `suspend_current_queue_time` (1: the pause before an orderly listener's refused message is
/// offered again; 0.01 to 30), `await_termination` (10: how long `shutdown()` waits for
/// listener calls in flight; later ones are abandoned and their messages redelivered). Pulling
/// a queue pauses above `pull_threshold_for_queue` cached messages (1000) or
/// `pull_threshold_size_for_queue` body bytes (100 MiB); `pull_threshold_for_topic` and
/// `pull_threshold_size_for_topic` (bytes), when given, are shared among the queues held
/// instead.
#[pyclass(name = "PushConsumer", module = "ferromq")]
pub(crate) struct PyPushConsumer {
    options: PushConsumerOptions,
    topic: String,
    filter: FilterExpression,
    listener: Py<PyAny>,
    orderly: bool,
    slot: Slot<PushConsumer>,
}

impl PyPushConsumer {
    /// The start of the core consumer, with the listener adapted by the core.
    fn starting(
        &self,
        py: Python<'_>,
    ) -> impl std::future::Future<Output = ferromq_client::Result<PushConsumer>> + Send + 'static
    {
        let options = self.options.clone();
        let subs = vec![(self.topic.clone(), self.filter.clone())];
        let listener = EachMessage::new(PyListener::new(self.listener.clone_ref(py)));
        let orderly = self.orderly;
        async move {
            if orderly {
                PushConsumer::start_orderly(options, subs, listener).await
            } else {
                PushConsumer::start(options, subs, listener).await
            }
        }
    }
}

#[pymethods]
impl PyPushConsumer {
    #[new]
    #[pyo3(signature = (namesrv, group, topic, expression=None, *, sql=None, listener, orderly=false, broadcasting=false, consume_from=None, consume_timestamp_ms=None, consume_threads=None, consume_batch_size=None, allocation=None, max_reconsume_times=None, instance_name=None, offset_store_dir=None, request_timeout=None, credentials=None, tls=None, namespace=None, enable_msg_trace=false, trace_topic=None, consume_timeout=None, suspend_current_queue_time=None, await_termination=None, pull_threshold_for_queue=None, pull_threshold_size_for_queue=None, pull_threshold_for_topic=None, pull_threshold_size_for_topic=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        namesrv: &str,
        group: &str,
        topic: &str,
        expression: Option<String>,
        sql: Option<String>,
        listener: Py<PyAny>,
        orderly: bool,
        broadcasting: bool,
        consume_from: Option<ConsumeFromArg>,
        consume_timestamp_ms: Option<i64>,
        consume_threads: Option<usize>,
        consume_batch_size: Option<usize>,
        allocation: Option<String>,
        max_reconsume_times: Option<i32>,
        instance_name: Option<String>,
        offset_store_dir: Option<PathBuf>,
        request_timeout: Option<f64>,
        credentials: Option<Bound<'_, PyAny>>,
        tls: Option<Bound<'_, PyAny>>,
        namespace: Option<String>,
        enable_msg_trace: bool,
        trace_topic: Option<String>,
        consume_timeout: Option<f64>,
        suspend_current_queue_time: Option<f64>,
        await_termination: Option<f64>,
        pull_threshold_for_queue: Option<usize>,
        pull_threshold_size_for_queue: Option<usize>,
        pull_threshold_for_topic: Option<usize>,
        pull_threshold_size_for_topic: Option<usize>,
    ) -> PyResult<Self> {
        if !listener.bind(py).is_callable() {
            return Err(error::invalid(py, "consumer", "listener must be callable"));
        }
        let filter = self::expression(py, expression, sql)?;
        let mut options = PushConsumerOptions {
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
            offset_store_dir,
            enable_msg_trace,
            trace_topic,
            ..PushConsumerOptions::default()
        };
        if broadcasting {
            options.message_model = MessageModel::Broadcasting;
        }
        if let Some(n) = consume_threads {
            options.consume_threads = n;
        }
        if let Some(n) = consume_batch_size {
            options.consume_batch_size = n;
        }
        if let Some(a) = allocation {
            let a: Allocation = a.parse().map_err(|e| error::to_py(py, &e))?;
            options.allocate = a.strategy();
        }
        if let Some(n) = max_reconsume_times {
            options.max_reconsume_times = n;
        }
        if let Some(t) = consume_timeout {
            options.consume_timeout = duration(py, "consume_timeout", t)?;
        }
        if let Some(t) = suspend_current_queue_time {
            options.suspend_current_queue_time = duration(py, "suspend_current_queue_time", t)?;
        }
        if let Some(t) = await_termination {
            options.await_termination = duration(py, "await_termination", t)?;
        }
        if let Some(n) = pull_threshold_for_queue {
            options.pull_threshold_for_queue = n;
        }
        if let Some(n) = pull_threshold_size_for_queue {
            options.pull_threshold_size_for_queue = n;
        }
        options.pull_threshold_for_topic = pull_threshold_for_topic;
        options.pull_threshold_size_for_topic = pull_threshold_size_for_topic;
        options.validate().map_err(|e| error::to_py(py, &e))?;
        Ok(PyPushConsumer {
            options,
            topic: topic.to_owned(),
            filter,
            listener,
            orderly,
            slot: Slot::new("push consumer"),
        })
    }

    /// The consumer group.
    #[getter]
    fn group(&self) -> &str {
        &self.options.group
    }

    /// Joins the group and starts consuming. A started consumer refuses a second start, and a
    /// shut-down one cannot be started again (create a new one).
    fn start(&self, py: Python<'_>) -> PyResult<()> {
        self.slot.start(py, self.starting(py))
    }

    /// `async with PushConsumer(...):` starts consuming without blocking the loop.
    fn __aenter__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, PyAny>> {
        let py = slf.py();
        let this = slf.borrow();
        let start = this.starting(py);
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

    /// Adds (or replaces) a subscription of a started consumer.
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
        crate::runtime::wait(py, async move { c.subscribe(&topic, filter).await })?
            .map_err(|e| error::to_py(py, &e))
    }

    /// The queues currently assigned to this member.
    fn assigned_queues(&self, py: Python<'_>) -> PyResult<Vec<crate::message::PyMessageQueue>> {
        let c = self.slot.get(py, "assigned queues")?;
        Ok(c.assigned_queues().into_iter().map(Into::into).collect())
    }

    /// The consumer's client-side counters since it started, as a dict: `consumed` and
    /// `consume_failures` (messages the listener consumed or failed), `consume_latency` (a
    /// histogram of the listener calls' time, as in `Producer.metrics()`), `rebalances` (those
    /// that changed its queues), `queues` (one dict per held queue: `topic`, `broker_name`,
    /// `queue_id`, `consumer_offset`, `broker_max_offset`, `lag`; offsets are -1 while unknown)
    /// and `total_lag`. Raises IllegalStateError unless started.
    fn metrics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
        let c = self.slot.get(py, "metrics")?;
        crate::metrics::consumer(py, &c.metrics())
    }

    /// Stops pulling, waits for listener calls in flight, commits offsets and leaves the group.
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

    fn __repr__(&self) -> String {
        format!(
            "PushConsumer(group={:?}, topic={:?}, orderly={}, started={})",
            self.options.group,
            self.topic,
            self.orderly,
            self.slot.is_started()
        )
    }
}

impl Drop for PyPushConsumer {
    fn drop(&mut self) {
        self.slot.drop_in_background();
    }
}
