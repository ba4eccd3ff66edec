//! A Python callable as the core's `QueueSelector`: `selector(message, queue_count) -> int`.

use ferromq_client::{Error, Message, QueueSelector};
use ferromq_protocol::body::MessageQueue;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyInt};

use crate::message::PyMessage;

/// The core's queue selector calling `callable(message, queue_count)` on the runtime thread
/// that runs the send (taking the GIL for the call). An exception, or an answer that is not an
/// int from 0 to `queue_count - 1`, fails the send with InvalidArgumentError (nothing is sent).
pub(crate) struct PySelector {
    pub(crate) callable: Py<PyAny>,
}

impl QueueSelector for PySelector {
    fn select(&self, queues: &[MessageQueue], message: &Message, arg: &str) -> usize {
        self.try_select(queues, message, arg).unwrap_or(0)
    }

    fn try_select(
        &self,
        queues: &[MessageQueue],
        message: &Message,
        _arg: &str,
    ) -> ferromq_client::Result<usize> {
        let bad = |why: String| Error::invalid("send", why);
        let count = queues.len();
        Python::try_attach(|py| {
            let m = PyMessage {
                inner: message.clone(),
            };
            let answer = self
                .callable
                .call1(py, (m, count))
                .map_err(|e| bad(format!("the queue selector raised {e}")))?;
            let answer = answer.bind(py);
            let index = if answer.is_instance_of::<PyInt>() && !answer.is_instance_of::<PyBool>() {
                answer.extract::<usize>().ok().filter(|&i| i < count)
            } else {
                None
            };
            index.ok_or_else(|| {
                let shown = answer
                    .repr()
                    .map_or_else(|_| "?".to_owned(), |r| r.to_string());
                bad(format!(
                    "the queue selector answered {shown}; it must be an int from 0 to {}",
                    count.saturating_sub(1)
                ))
            })
        })
        .unwrap_or_else(|| Err(bad("the Python interpreter is shutting down".to_owned())))
    }
}
