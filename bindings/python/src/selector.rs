//! A Python callable as the core's `QueueSelector`: `selector(message, queue_count) -> int`.

use ferromq_client::{ForeignSelector, Message, SelectorAnswer};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyInt};

use crate::message::PyMessage;

/// The core's queue selector calling `callable(message, queue_count)` on the runtime thread
/// that runs the send (taking the GIL for the call); the core checks the answer (an int naming
/// a queue; an exception or anything else fails the send with InvalidArgumentError).
pub(crate) fn selector(
    callable: Py<PyAny>,
) -> ForeignSelector<impl Fn(&Message, usize) -> SelectorAnswer> {
    ForeignSelector(move |message: &Message, count: usize| {
        Python::try_attach(|py| {
            let m = PyMessage {
                inner: message.clone(),
            };
            let answer = match callable.call1(py, (m, count)) {
                Ok(a) => a,
                Err(e) => return SelectorAnswer::Failed(format!("raised {e}")),
            };
            let answer = answer.bind(py);
            let number = (answer.is_instance_of::<PyInt>() && !answer.is_instance_of::<PyBool>())
                .then(|| answer.extract::<i64>().ok())
                .flatten();
            match number {
                Some(n) => SelectorAnswer::Number(n as f64),
                None => SelectorAnswer::Unusable(
                    answer
                        .repr()
                        .map_or_else(|_| "?".to_owned(), |r| r.to_string()),
                ),
            }
        })
        .unwrap_or_else(|| {
            SelectorAnswer::Failed("failed: the Python interpreter is shutting down".to_owned())
        })
    })
}
