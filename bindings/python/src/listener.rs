//! Python callables as the core's listener traits. They run on client threads that take the
//! GIL for the call; an exception (or an unusable return value) is logged on the `ferromq`
//! logger and counts as a failed consume, so the message is redelivered, never dropped.

use ferromq_client::{
    ConsumeResult, Message, MessageListener, MessageView, OrderlyListener, OrderlyResult,
    TransactionListener, TransactionState,
};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;

use crate::message::{PyConsumeResult, PyMessage, PyMessageView, PyTransactionState};

/// Logs `err` (with its traceback) on the `ferromq` logger.
fn report(py: Python<'_>, what: &str, err: PyErr) {
    let logged = py
        .import("logging")
        .and_then(|logging| logging.call_method1("getLogger", ("ferromq",)))
        .and_then(|logger| {
            let kwargs = pyo3::types::PyDict::new(py);
            kwargs.set_item("exc_info", err.clone_ref(py).into_value(py))?;
            logger.call_method("error", (what,), Some(&kwargs))
        });
    if logged.is_err() {
        err.print(py);
    }
}

/// Calls a message listener on each message; false as soon as one fails.
fn consume_all(callable: &Py<PyAny>, messages: &[MessageView]) -> bool {
    Python::try_attach(|py| {
        for m in messages {
            let outcome = Py::new(py, PyMessageView::from(m.clone()))
                .and_then(|view| callable.call1(py, (view,)))
                .and_then(|r| success(py, r.bind(py)));
            match outcome {
                Ok(true) => {}
                Ok(false) => return false,
                Err(e) => {
                    report(
                        py,
                        "message listener failed; the message will be redelivered",
                        e,
                    );
                    return false;
                }
            }
        }
        true
    })
    // The interpreter is shutting down: not consumed.
    .unwrap_or(false)
}

/// A listener's answer: None, True or ConsumeResult.SUCCESS mean consumed.
fn success(py: Python<'_>, r: &Bound<'_, PyAny>) -> PyResult<bool> {
    if r.is_none() {
        return Ok(true);
    }
    if let Ok(b) = r.cast::<pyo3::types::PyBool>() {
        return Ok(b.is_true());
    }
    if let Ok(c) = r.extract::<PyConsumeResult>() {
        return Ok(c == PyConsumeResult::Success);
    }
    let _ = py;
    Err(PyTypeError::new_err(format!(
        "a listener returns ConsumeResult, bool or None, not {}",
        r.get_type().name()?
    )))
}

/// A Python callable `listener(message: MessageView) -> ConsumeResult | bool | None`.
pub(crate) struct PyListener {
    pub(crate) callable: Py<PyAny>,
}

impl MessageListener for PyListener {
    fn consume(&self, messages: &[MessageView]) -> ConsumeResult {
        if consume_all(&self.callable, messages) {
            ConsumeResult::Success
        } else {
            ConsumeResult::ReconsumeLater
        }
    }
}

impl OrderlyListener for PyListener {
    fn consume(&self, messages: &[MessageView]) -> OrderlyResult {
        if consume_all(&self.callable, messages) {
            OrderlyResult::Success
        } else {
            OrderlyResult::SuspendCurrentQueueAMoment
        }
    }
}

/// A transaction state from a callable's answer: TransactionState, True (commit), False
/// (rollback) or None (unknown).
fn state(r: &Bound<'_, PyAny>) -> PyResult<TransactionState> {
    if r.is_none() {
        return Ok(TransactionState::Unknown);
    }
    if let Ok(b) = r.cast::<pyo3::types::PyBool>() {
        return Ok(if b.is_true() {
            TransactionState::Commit
        } else {
            TransactionState::Rollback
        });
    }
    let s: PyTransactionState = r.extract().map_err(|_| {
        PyTypeError::new_err("a transaction callable returns TransactionState, bool or None")
    })?;
    Ok(match s {
        PyTransactionState::Commit => TransactionState::Commit,
        PyTransactionState::Rollback => TransactionState::Rollback,
        PyTransactionState::Unknown => TransactionState::Unknown,
    })
}

/// `execute(message, transaction_id)` and `check(message_view)`; an exception means
/// UNKNOWN (the broker checks back later).
pub(crate) struct PyTransactionListener {
    pub(crate) execute: Py<PyAny>,
    pub(crate) check: Py<PyAny>,
}

impl TransactionListener for PyTransactionListener {
    fn execute(&self, message: &Message, transaction_id: &str) -> TransactionState {
        Python::try_attach(|py| {
            let r = Py::new(
                py,
                PyMessage {
                    inner: message.clone(),
                },
            )
            .and_then(|m| self.execute.call1(py, (m, transaction_id)))
            .and_then(|r| state(r.bind(py)));
            r.unwrap_or_else(|e| {
                report(py, "transaction execute callable failed; state UNKNOWN", e);
                TransactionState::Unknown
            })
        })
        .unwrap_or(TransactionState::Unknown)
    }

    fn check(&self, message: &MessageView) -> TransactionState {
        Python::try_attach(|py| {
            let r = Py::new(py, PyMessageView::from(message.clone()))
                .and_then(|m| self.check.call1(py, (m,)))
                .and_then(|r| state(r.bind(py)));
            r.unwrap_or_else(|e| {
                report(py, "transaction check callable failed; state UNKNOWN", e);
                TransactionState::Unknown
            })
        })
        .unwrap_or(TransactionState::Unknown)
    }
}
