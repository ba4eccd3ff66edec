//! What every client object holds: the core's [`Lifecycle`] of its core object (created →
//! started → shut down; the rules are the core's) and the process it was created in. After
//! `fork()` the child's copy refuses to work (the parent's connections and runtime threads are
//! not there) and is leaked rather than dropped.

use std::future::Future;
use std::time::Duration;

use ferromq_client::{ClientConfig, Lifecycle, Service, State};
use pyo3::prelude::*;

use crate::error;
use crate::runtime::{self, awaitable, exit_awaitable, wait};
use crate::security;

pub(crate) struct Slot<T> {
    pid: u32,
    what: &'static str,
    lifecycle: Lifecycle<T>,
}

impl<T: Service> Slot<T> {
    /// A created object (`what` names it in errors).
    pub(crate) fn new(what: &'static str) -> Self {
        Slot {
            pid: runtime::pid(),
            what,
            lifecycle: Lifecycle::new(what),
        }
    }

    /// An object started at construction.
    pub(crate) fn started(what: &'static str, value: T) -> Self {
        Slot {
            pid: runtime::pid(),
            what,
            lifecycle: Lifecycle::started(what, value),
        }
    }

    /// Fails unless this object belongs to the current process.
    pub(crate) fn check_process(&self, py: Python<'_>) -> PyResult<()> {
        if self.pid != runtime::pid() {
            return Err(error::illegal_state(
                py,
                self.what,
                "this object was created in another process (before fork()); create a new one",
            ));
        }
        Ok(())
    }

    /// The started core object for operation `op`.
    pub(crate) fn get(&self, py: Python<'_>, op: &'static str) -> PyResult<T> {
        self.check_process(py)?;
        self.lifecycle.get(op).map_err(|e| error::to_py(py, &e))
    }

    /// The started core object, if any (no error otherwise).
    pub(crate) fn current(&self) -> Option<T> {
        self.lifecycle.current()
    }

    pub(crate) fn is_started(&self) -> bool {
        self.lifecycle.state() == State::Started
    }

    /// Starts with `start`, waiting with the GIL released.
    pub(crate) fn start<Fut>(&self, py: Python<'_>, start: Fut) -> PyResult<()>
    where
        Fut: Future<Output = ferromq_client::Result<T>> + Send + 'static,
    {
        self.check_process(py)?;
        let lifecycle = self.lifecycle.clone();
        wait(
            py,
            async move { lifecycle.start(|| start).await.map(|_| ()) },
        )?
        .map_err(|e| error::to_py(py, &e))
    }

    /// Starts with `start` as an asyncio awaitable resolving to `me`.
    pub(crate) fn start_awaitable<'py, Fut>(
        &self,
        py: Python<'py>,
        me: Py<PyAny>,
        start: Fut,
    ) -> PyResult<Bound<'py, PyAny>>
    where
        Fut: Future<Output = ferromq_client::Result<T>> + Send + 'static,
    {
        self.check_process(py)?;
        let lifecycle = self.lifecycle.clone();
        awaitable(
            py,
            async move { lifecycle.start(|| start).await.map(|_| ()) },
            move |_, ()| Ok(me),
        )
    }

    /// Shuts down for good, waiting with the GIL released.
    pub(crate) fn shutdown(&self, py: Python<'_>) -> PyResult<()> {
        self.check_process(py)?;
        let lifecycle = self.lifecycle.clone();
        wait(py, async move { lifecycle.shutdown().await })
    }

    /// Shuts down for good as an asyncio awaitable (`__aexit__`).
    pub(crate) fn shutdown_awaitable<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.check_process(py)?;
        let lifecycle = self.lifecycle.clone();
        exit_awaitable(py, Some(async move { lifecycle.shutdown().await }))
    }

    /// For `Drop`: shuts a started object down in the background, if it runs in this process.
    pub(crate) fn drop_in_background(&mut self) {
        let started = self.lifecycle.close();
        if self.pid != runtime::pid() {
            std::mem::forget(started);
            return;
        }
        if let Some(s) = started {
            runtime::runtime().spawn(s.stop());
        }
    }
}

/// The constructor arguments every client object shares.
pub(crate) struct Common<'py> {
    pub(crate) instance_name: Option<String>,
    pub(crate) request_timeout: Option<f64>,
    pub(crate) credentials: Option<Bound<'py, PyAny>>,
    pub(crate) tls: Option<Bound<'py, PyAny>>,
    /// `namespace=`: topics and groups go on the wire as `ns%name` (docs/namespaces.md).
    pub(crate) namespace: Option<String>,
}

/// Client settings from the common constructor arguments (the instance-name rule and the
/// defaults are the core's: [`ClientConfig::new`]); unusable `credentials`, `tls` or
/// `namespace` raise InvalidArgumentError.
pub(crate) fn client_config(
    py: Python<'_>,
    namesrv: &str,
    common: Common<'_>,
) -> PyResult<ClientConfig> {
    let mut c = ClientConfig::new(namesrv, common.instance_name);
    if let Some(t) = common.request_timeout {
        c.request_timeout = seconds(t);
    }
    c.credentials = security::credentials(py, common.credentials.as_ref())?;
    c.tls = security::tls(py, common.tls.as_ref())?;
    if let Some(ns) = common.namespace.filter(|ns| !ns.is_empty()) {
        ferromq_client::namespace::validate(&ns).map_err(|e| error::to_py(py, &e))?;
        c.namespace = Some(ns);
    }
    Ok(c)
}

/// Seconds as a `Duration` (negative and NaN become zero).
pub(crate) fn seconds(s: f64) -> Duration {
    Duration::try_from_secs_f64(s).unwrap_or(Duration::ZERO)
}
