//! Python callables as the core's listener traits. They run on client threads that take the
//! GIL for the call. A message listener's return value is only translated into the core's
//! [`Answer`]; the contract (what retries, what counts as a failure) is the core's
//! (`ferromq_client::consumer::per_message`). Exceptions and unusable answers are also logged
//! on the `ferromq` logger.

use ferromq_client::{
    Answer, ConsumeResult, Message, MessageView, PerMessageListener, TransactionListener,
    TransactionState,
};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;

use crate::combine::Combiner;
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

/// The core's reading of a listener's return value: None, a bool, a `ConsumeResult` or a str;
/// anything else is unusable.
fn answer(r: &Bound<'_, PyAny>) -> Answer {
    if r.is_none() {
        return Answer::Nothing;
    }
    if let Ok(b) = r.cast::<pyo3::types::PyBool>() {
        return Answer::Bool(b.is_true());
    }
    if let Ok(c) = r.extract::<PyConsumeResult>() {
        return Answer::Result(c.into());
    }
    if let Ok(s) = r.extract::<String>() {
        return Answer::Text(s);
    }
    let kind = r
        .get_type()
        .name()
        .map_or_else(|_| "?".to_owned(), |n| n.to_string());
    Answer::Unusable(kind)
}

/// A Python callable `listener(message: MessageView) -> ConsumeResult | bool | str | None`,
/// called once per message (the core's `EachMessage` makes it a batch listener); the calls of
/// concurrent consume threads are combined per GIL acquisition ([`Combiner`]).
pub(crate) struct PyListener {
    callable: Py<PyAny>,
    combiner: Combiner,
}

impl PyListener {
    pub(crate) fn new(callable: Py<PyAny>) -> Self {
        PyListener {
            callable,
            combiner: Combiner::new(),
        }
    }

    /// Calls the listener for `message` (the GIL held) and reads its answer.
    fn call(&self, py: Python<'_>, message: &MessageView) -> ConsumeResult {
        let returned = Py::new(py, PyMessageView::from(message.clone()))
            .and_then(|view| self.callable.call1(py, (view,)));
        let answer = match returned {
            Ok(r) => answer(r.bind(py)),
            Err(e) => {
                let text = e.to_string();
                report(
                    py,
                    "message listener failed; the message will be redelivered",
                    e,
                );
                Answer::Failed(text)
            }
        };
        let unusable = match &answer {
            Answer::Unusable(kind) => Some(format!(
                "a listener returns ConsumeResult, bool, str or None, not {kind}"
            )),
            Answer::Text(s) => s
                .parse::<ConsumeResult>()
                .err()
                .map(|e| e.message().to_owned()),
            _ => None,
        };
        if let Some(why) = unusable {
            report(
                py,
                "message listener answer unusable; the message will be redelivered",
                PyTypeError::new_err(why),
            );
        }
        answer.outcome()
    }
}

impl PerMessageListener for PyListener {
    fn consume_one(&self, message: &MessageView) -> ConsumeResult {
        // The interpreter shutting down: not consumed.
        let gone =
            || Answer::Failed("the Python interpreter is shutting down".to_owned()).outcome();
        self.combiner.consume(
            message,
            &|py: Python<'_>, m: &MessageView| self.call(py, m),
            &gone,
        )
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
