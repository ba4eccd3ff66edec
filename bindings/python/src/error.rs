//! The one place where client errors become Python exceptions: a class per
//! [`ErrorKind`] under `ferromq.FerroMQError`, each instance carrying `code` (the stable kind
//! name), `retryable`, `operation`, `response_code` and `remark`, with the Rust cause chain
//! kept as `__cause__`.

use ferromq_client::{Error, ErrorKind};
use pyo3::exceptions::{PyException, PyOSError, PyRuntimeError};
use pyo3::prelude::*;

pyo3::create_exception!(
    ferromq,
    FerroMQError,
    PyException,
    "Base class of every FerroMQ error; `code`, `retryable`, `operation`, `response_code` and `remark` describe it."
);
pyo3::create_exception!(
    ferromq,
    InvalidArgumentError,
    FerroMQError,
    "The caller passed something unusable (empty topic, oversized body, bad expression)."
);
pyo3::create_exception!(
    ferromq,
    ConnectError,
    FerroMQError,
    "No connection could be made to a name server or broker."
);
pyo3::create_exception!(
    ferromq,
    RequestTimeoutError,
    FerroMQError,
    "No answer within the request timeout."
);
pyo3::create_exception!(
    ferromq,
    ConnectionClosedError,
    FerroMQError,
    "The connection closed before the answer arrived."
);
pyo3::create_exception!(
    ferromq,
    TopicNotFoundError,
    FerroMQError,
    "The topic has no route or no usable queue."
);
pyo3::create_exception!(
    ferromq,
    BrokerError,
    FerroMQError,
    "A broker or name server answered with an error response code (see `response_code`)."
);
pyo3::create_exception!(
    ferromq,
    ProtocolError,
    FerroMQError,
    "A peer sent something that could not be decoded."
);
pyo3::create_exception!(
    ferromq,
    IllegalStateError,
    FerroMQError,
    "The client, producer or consumer is not started, already shut down, or from another process."
);
pyo3::create_exception!(
    ferromq,
    FerroIOError,
    FerroMQError,
    "A local file (broadcast offsets) could not be read or written."
);

/// Every kind the binding knows, with its stable name; used by the tests through
/// `ferromq._error_for_code`.
pub(crate) const KINDS: [ErrorKind; 9] = ErrorKind::ALL;

/// The exception class of `kind` (the base class for kinds added to the core later).
fn class(py: Python<'_>, kind: ErrorKind) -> Bound<'_, pyo3::types::PyType> {
    match kind {
        ErrorKind::InvalidArgument => py.get_type::<InvalidArgumentError>(),
        ErrorKind::Connect => py.get_type::<ConnectError>(),
        ErrorKind::Timeout => py.get_type::<RequestTimeoutError>(),
        ErrorKind::ConnectionClosed => py.get_type::<ConnectionClosedError>(),
        ErrorKind::TopicNotFound => py.get_type::<TopicNotFoundError>(),
        ErrorKind::Broker => py.get_type::<BrokerError>(),
        ErrorKind::Protocol => py.get_type::<ProtocolError>(),
        ErrorKind::IllegalState => py.get_type::<IllegalStateError>(),
        ErrorKind::Io => py.get_type::<FerroIOError>(),
        _ => py.get_type::<FerroMQError>(),
    }
}

/// The Python exception for a client error.
pub(crate) fn to_py(py: Python<'_>, e: &Error) -> PyErr {
    match build(py, e) {
        Ok(err) => err,
        Err(err) => err,
    }
}

fn build(py: Python<'_>, e: &Error) -> PyResult<PyErr> {
    let exc = class(py, e.kind()).call1((e.to_string(),))?;
    exc.setattr("code", e.kind().as_str())?;
    exc.setattr("retryable", e.is_retryable())?;
    exc.setattr("operation", e.operation())?;
    exc.setattr("response_code", e.response_code().map(|c| c.0))?;
    exc.setattr("remark", e.remark())?;
    let err = PyErr::from_value(exc);
    if let Some(source) = std::error::Error::source(e) {
        err.set_cause(py, Some(cause(py, source)));
    }
    Ok(err)
}

/// The cause chain as Python exceptions: an `OSError` (with its errno) for I/O errors, a
/// `RuntimeError` with the Rust error's text otherwise.
fn cause(py: Python<'_>, source: &(dyn std::error::Error + 'static)) -> PyErr {
    let err = match source.downcast_ref::<std::io::Error>() {
        Some(io) => match io.raw_os_error() {
            Some(errno) => PyOSError::new_err((errno, io.to_string())),
            None => PyOSError::new_err(io.to_string()),
        },
        None => PyRuntimeError::new_err(source.to_string()),
    };
    if let Some(next) = source.source() {
        err.set_cause(py, Some(cause(py, next)));
    }
    err
}

/// An `IllegalStateError` raised by the binding itself.
pub(crate) fn illegal_state(py: Python<'_>, operation: &'static str, message: &str) -> PyErr {
    to_py(py, &Error::illegal_state(operation, message))
}

/// An `InvalidArgumentError` raised by the binding itself.
pub(crate) fn invalid(py: Python<'_>, operation: &'static str, message: &str) -> PyErr {
    to_py(py, &Error::invalid(operation, message))
}

/// Test hook: the exception a client error of kind `code` becomes (`None` for an unknown
/// code).
#[pyfunction]
#[pyo3(name = "_error_for_code")]
pub(crate) fn error_for_code(py: Python<'_>, code: &str) -> Option<Py<PyAny>> {
    let kind = KINDS.into_iter().find(|k| k.as_str() == code)?;
    let mut e = Error::new(kind, "test", format!("a {code} error"));
    if kind == ErrorKind::Io {
        e = e.with_source(std::io::Error::from_raw_os_error(2));
    }
    Some(to_py(py, &e).into_value(py).into_any())
}

/// Registers the exception classes on the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("FerroMQError", py.get_type::<FerroMQError>())?;
    for kind in KINDS {
        let cls = class(py, kind);
        m.add(cls.name()?, cls)?;
    }
    m.add_function(wrap_pyfunction!(error_for_code, m)?)?;
    Ok(())
}
