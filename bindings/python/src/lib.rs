//! The `ferromq` Python module: thin pyo3 wrappers over `ferromq-client`.
//!
//! Layout: [`runtime`] (the tokio runtime the binding owns, blocking waits with the GIL
//! released, asyncio futures), [`error`] (the exception hierarchy), [`message`] (value
//! types), [`listener`] (Python callables as the core's listener traits; [`combine`] delivers
//! concurrent listener calls several per GIL acquisition), [`selector`] (a
//! Python queue selector), [`metrics`] (client-side counters as dicts), [`security`] (credentials and TLS options), [`slot`] (started objects and fork safety),
//! [`testing`] (the Rust `LocalCluster` for `ferromq.testing`), then one file per
//! client object.

mod admin;
mod combine;
mod error;
mod listener;
mod message;
mod metrics;
mod producer;
mod pull;
mod push;
mod runtime;
mod security;
mod selector;
mod slot;
mod testing;
mod transaction;

use pyo3::prelude::*;

/// FerroMQ client: producers, consumers, transactions and admin over the Rust client core.
///
/// The extension `ferromq._ferromq`; the package `ferromq` (python/ferromq/__init__.py)
/// re-exports every public name, so `import ferromq` is the API.
#[pymodule]
#[pyo3(name = "_ferromq")]
fn ferromq(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    error::register(m)?;
    m.add_class::<message::PyMessage>()?;
    m.add_class::<message::PyMessageView>()?;
    m.add_class::<message::PyMessageQueue>()?;
    m.add_class::<message::PySendResult>()?;
    m.add_class::<message::PySendStatus>()?;
    m.add_class::<message::PyConsumeResult>()?;
    m.add_class::<message::PyConsumeFrom>()?;
    m.add_class::<message::PyTransactionState>()?;
    m.add_class::<producer::PyProducer>()?;
    m.add_class::<transaction::PyTransactionProducer>()?;
    m.add_class::<transaction::PyTransactionSendResult>()?;
    m.add_class::<push::PyPushConsumer>()?;
    m.add_class::<pull::PyPullConsumer>()?;
    m.add_class::<admin::PyAdmin>()?;
    m.add_class::<security::PyTlsConfig>()?;
    m.add_function(wrap_pyfunction!(runtime::complete, m)?)?;
    // At exit, the completion thread stops before the interpreter finalizes.
    let stop = wrap_pyfunction!(runtime::stop_completer, m)?;
    m.py().import("atexit")?.call_method1("register", (stop,))?;
    m.add_class::<testing::PyLocalCluster>()?;
    Ok(())
}
