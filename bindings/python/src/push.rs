//! `PushConsumer`: a listener callable fed by the client (concurrent or orderly, clustering or
//! broadcasting, tag or SQL92 subscription).

use std::path::PathBuf;

use ferromq_client::{FilterExpression, MessageModel, PushConsumer, PushConsumerOptions};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::error;
use crate::listener::PyListener;
use crate::message::PyConsumeFrom;
use crate::runtime::{awaitable, exit_awaitable, runtime, wait};
use crate::slot::{client_config, Slot};

/// A subscription expression: a tag expression, or SQL92 when `sql` is given.
pub(crate) fn expression(
    py: Python<'_>,
    expression: Option<String>,
    sql: Option<String>,
) -> PyResult<FilterExpression> {
    match (expression, sql) {
        (Some(_), Some(_)) => Err(error::invalid(
            py,
            "subscribe",
            "give a tag expression or sql, not both",
        )),
        (_, Some(sql)) => Ok(FilterExpression::sql92(sql)),
        (Some(tag), None) => Ok(FilterExpression::tag(tag)),
        (None, None) => Ok(FilterExpression::all()),
    }
}

/// A push consumer: the client pulls and calls `listener(message)` for each message on its
/// own threads (taking the GIL for the call).
///
/// `PushConsumer(namesrv, group, topic, expression=None, *, sql=None, listener, orderly=False,
/// broadcasting=False, consume_from=ConsumeFrom.LAST_OFFSET, consume_timestamp_ms=None,
/// consume_threads=20, max_reconsume_times=-1, instance_name=None, offset_store_dir=None,
/// request_timeout=3.0)`. `expression` is a tag expression (`"*"`, `"A || B"`; all when
/// omitted), `sql` a SQL92 selector over properties instead. The listener returns
/// ConsumeResult.SUCCESS, True or None when consumed, ConsumeResult.RECONSUME_LATER or False
/// to have the message redelivered; raising an exception also means redelivery. `orderly`
/// consumes each queue in order, one message at a time; `broadcasting` gives every member
/// every message. `max_reconsume_times` (-1: 16) redeliveries precede the DLQ.
#[pyclass(name = "PushConsumer", module = "ferromq")]
pub(crate) struct PyPushConsumer {
    options: PushConsumerOptions,
    topic: String,
    filter: FilterExpression,
    listener: Py<PyAny>,
    orderly: bool,
    slot: Slot<PushConsumer>,
}

#[pymethods]
impl PyPushConsumer {
    #[new]
    #[pyo3(signature = (namesrv, group, topic, expression=None, *, sql=None, listener, orderly=false, broadcasting=false, consume_from=PyConsumeFrom::LastOffset, consume_timestamp_ms=None, consume_threads=20, max_reconsume_times=-1, instance_name=None, offset_store_dir=None, request_timeout=3.0))]
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
        consume_from: PyConsumeFrom,
        consume_timestamp_ms: Option<i64>,
        consume_threads: usize,
        max_reconsume_times: i32,
        instance_name: Option<String>,
        offset_store_dir: Option<PathBuf>,
        request_timeout: f64,
    ) -> PyResult<Self> {
        if !listener.bind(py).is_callable() {
            return Err(error::invalid(py, "consumer", "listener must be callable"));
        }
        let filter = self::expression(py, expression, sql)?;
        Ok(PyPushConsumer {
            options: PushConsumerOptions {
                client: client_config(namesrv, instance_name, request_timeout),
                group: group.to_owned(),
                message_model: if broadcasting {
                    MessageModel::Broadcasting
                } else {
                    MessageModel::Clustering
                },
                consume_from: consume_from.to_core(py, consume_timestamp_ms)?,
                consume_threads: consume_threads.max(1),
                max_reconsume_times,
                offset_store_dir,
                ..PushConsumerOptions::default()
            },
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

    /// Joins the group and starts consuming (no-op when started).
    fn start(&self, py: Python<'_>) -> PyResult<()> {
        self.slot.check_process(py)?;
        if self.slot.is_set() {
            return Ok(());
        }
        let options = self.options.clone();
        let subs = vec![(self.topic.clone(), self.filter.clone())];
        let listener = PyListener {
            callable: self.listener.clone_ref(py),
        };
        let orderly = self.orderly;
        let started = wait(py, async move {
            if orderly {
                PushConsumer::start_orderly(options, subs, listener).await
            } else {
                PushConsumer::start(options, subs, listener).await
            }
        })?;
        self.slot.set(started.map_err(|e| error::to_py(py, &e))?);
        Ok(())
    }

    /// `async with PushConsumer(...):` starts consuming without blocking the loop.
    fn __aenter__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, PyAny>> {
        let py = slf.py();
        let this = slf.borrow();
        this.slot.check_process(py)?;
        let started = this.slot.current();
        let options = this.options.clone();
        let subs = vec![(this.topic.clone(), this.filter.clone())];
        let listener = PyListener {
            callable: this.listener.clone_ref(py),
        };
        let orderly = this.orderly;
        let me = slf.clone().unbind();
        awaitable(
            py,
            async move {
                match started {
                    Some(c) => Ok(c),
                    None if orderly => PushConsumer::start_orderly(options, subs, listener).await,
                    None => PushConsumer::start(options, subs, listener).await,
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
        exit_awaitable(py, started.map(|x| async move { x.shutdown().await }))
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
        let c = self.slot.get(py)?;
        let filter = self::expression(py, expression, sql)?;
        wait(py, async move { c.subscribe(&topic, filter).await })?
            .map_err(|e| error::to_py(py, &e))
    }

    /// The queues currently assigned to this member.
    fn assigned_queues(&self, py: Python<'_>) -> PyResult<Vec<crate::message::PyMessageQueue>> {
        let c = self.slot.get(py)?;
        Ok(c.assigned_queues().into_iter().map(Into::into).collect())
    }

    /// Stops pulling, waits for listener calls in flight, commits offsets and leaves the group
    /// (no-op when not started).
    fn shutdown(&self, py: Python<'_>) -> PyResult<()> {
        self.slot.check_process(py)?;
        if let Some(c) = self.slot.take() {
            wait(py, async move { c.shutdown().await })?;
        }
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

    fn __repr__(&self) -> String {
        format!(
            "PushConsumer(group={:?}, topic={:?}, orderly={}, started={})",
            self.options.group,
            self.topic,
            self.orderly,
            self.slot.is_set()
        )
    }
}

impl Drop for PyPushConsumer {
    fn drop(&mut self) {
        if let Some(c) = self.slot.take_for_drop() {
            runtime().spawn(async move { c.shutdown().await });
        }
    }
}
