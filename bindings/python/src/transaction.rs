//! `TransactionProducer`: half message, the user's local transaction, commit or rollback, and
//! the broker's check-backs answered by a callable.

use std::sync::Arc;

use ferromq_client::{ProducerOptions, TransactionProducer};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::error;
use crate::listener::PyTransactionListener;
use crate::message::{PyMessage, PySendResult, PyTransactionState};
use crate::runtime::wait;
use crate::slot::{client_config, seconds, Common, Slot};

/// What a transactional send did: the half message's `send_result` and the `state` the local
/// transaction decided.
#[pyclass(name = "TransactionSendResult", module = "ferromq", frozen)]
pub(crate) struct PyTransactionSendResult {
    /// The half message's SendResult.
    #[pyo3(get)]
    send_result: Py<PySendResult>,
    /// What the local transaction decided.
    #[pyo3(get)]
    state: PyTransactionState,
}

#[pymethods]
impl PyTransactionSendResult {
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "TransactionSendResult(state={}, send_result={})",
            match self.state {
                PyTransactionState::Commit => "COMMIT",
                PyTransactionState::Rollback => "ROLLBACK",
                PyTransactionState::Unknown => "UNKNOWN",
            },
            self.send_result.bind(py).repr()?
        ))
    }
}

/// A producer of transactional messages.
///
/// `TransactionProducer(namesrv, group, execute, check, *, instance_name=None,
/// send_timeout=None, request_timeout=None, credentials=None, tls=None, namespace=None,
/// enable_msg_trace=False, trace_topic=None)` (None: the client core's 3 s; `credentials`,
/// `tls`, `enable_msg_trace` and `trace_topic` as for `Producer`: a traced transaction
/// producer also records each commit, rollback or unknown, and each answer to a check-back,
/// as an EndTransaction record). `send(message)` stores a half message, calls
/// `execute(message, transaction_id)` and ends the transaction with its answer
/// (TransactionState, True = commit, False = rollback, None = unknown); for undecided
/// transactions the broker later calls `check(message_view)` with the same kinds of answers.
/// An exception in either means UNKNOWN.
#[pyclass(name = "TransactionProducer", module = "ferromq")]
pub(crate) struct PyTransactionProducer {
    options: ProducerOptions,
    listener: Arc<PyTransactionListener>,
    slot: Slot<TransactionProducer>,
}

struct Shared(Arc<PyTransactionListener>);

impl ferromq_client::TransactionListener for Shared {
    fn execute(
        &self,
        message: &ferromq_client::Message,
        transaction_id: &str,
    ) -> ferromq_client::TransactionState {
        self.0.execute(message, transaction_id)
    }

    fn check(&self, message: &ferromq_client::MessageView) -> ferromq_client::TransactionState {
        self.0.check(message)
    }
}

#[pymethods]
impl PyTransactionProducer {
    #[new]
    #[pyo3(signature = (namesrv, group, execute, check, *, instance_name=None, send_timeout=None, request_timeout=None, credentials=None, tls=None, namespace=None, enable_msg_trace=false, trace_topic=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        namesrv: &str,
        group: &str,
        execute: Py<PyAny>,
        check: Py<PyAny>,
        instance_name: Option<String>,
        send_timeout: Option<f64>,
        request_timeout: Option<f64>,
        credentials: Option<Bound<'_, PyAny>>,
        tls: Option<Bound<'_, PyAny>>,
        namespace: Option<String>,
        enable_msg_trace: bool,
        trace_topic: Option<String>,
    ) -> PyResult<Self> {
        if !execute.bind(py).is_callable() || !check.bind(py).is_callable() {
            return Err(error::invalid(
                py,
                "transaction producer",
                "execute and check must be callable",
            ));
        }
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
            group: group.to_owned(),
            enable_msg_trace,
            trace_topic,
            ..ProducerOptions::default()
        };
        if let Some(t) = send_timeout {
            options.send_timeout = seconds(t);
        }
        Ok(PyTransactionProducer {
            options,
            listener: Arc::new(PyTransactionListener { execute, check }),
            slot: Slot::new("transaction producer"),
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
        let start = TransactionProducer::start(self.options.clone(), Shared(self.listener.clone()));
        self.slot.start(py, start)
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
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, PyTuple>) -> PyResult<bool> {
        self.shutdown(py)?;
        Ok(false)
    }

    /// `async with TransactionProducer(...) as p:` starts the producer without blocking the loop.
    fn __aenter__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, PyAny>> {
        let py = slf.py();
        let this = slf.borrow();
        let start = TransactionProducer::start(this.options.clone(), Shared(this.listener.clone()));
        this.slot
            .start_awaitable(py, slf.clone().unbind().into_any(), start)
    }

    /// Shuts the producer down at the end of `async with`.
    #[pyo3(signature = (*_args))]
    fn __aexit__<'py>(
        &self,
        py: Python<'py>,
        _args: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.slot.shutdown_awaitable(py)
    }

    /// Sends `message` transactionally (half message, `execute`, end); returns a
    /// TransactionSendResult.
    fn send(&self, py: Python<'_>, message: PyMessage) -> PyResult<PyTransactionSendResult> {
        let p = self.slot.get(py, "send")?;
        let r = wait(py, async move { p.send(message.inner).await })?
            .map_err(|e| error::to_py(py, &e))?;
        let state = match r.state {
            ferromq_client::TransactionState::Commit => PyTransactionState::Commit,
            ferromq_client::TransactionState::Rollback => PyTransactionState::Rollback,
            ferromq_client::TransactionState::Unknown => PyTransactionState::Unknown,
        };
        Ok(PyTransactionSendResult {
            send_result: Py::new(py, PySendResult::from(r.send))?,
            state,
        })
    }

    /// The producer's client-side counters since it started, as a dict (the same keys as
    /// `Producer.metrics()`; each transactional send counts as one send). Raises
    /// IllegalStateError unless started.
    fn metrics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
        let p = self.slot.get(py, "metrics")?;
        crate::metrics::producer(py, &p.metrics())
    }

    fn __repr__(&self) -> String {
        format!(
            "TransactionProducer(group={:?}, started={})",
            self.options.group,
            self.slot.is_started()
        )
    }
}

impl Drop for PyTransactionProducer {
    fn drop(&mut self) {
        self.slot.drop_in_background();
    }
}
