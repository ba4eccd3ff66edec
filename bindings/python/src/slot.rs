//! What every started object holds: the core object once started, and the process it was
//! created in. After `fork()` the child's copy refuses to work (the parent's connections and
//! runtime threads are not there) and is leaked rather than dropped.

use std::sync::Mutex;
use std::time::Duration;

use ferromq_client::ClientConfig;
use pyo3::prelude::*;

use crate::error;
use crate::runtime;

pub(crate) struct Slot<T> {
    pid: u32,
    what: &'static str,
    value: Mutex<Option<T>>,
}

impl<T: Clone> Slot<T> {
    pub(crate) fn new(what: &'static str) -> Self {
        Slot {
            pid: runtime::pid(),
            what,
            value: Mutex::new(None),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<T>> {
        self.value.lock().unwrap_or_else(|e| e.into_inner())
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

    /// The started core object.
    pub(crate) fn get(&self, py: Python<'_>) -> PyResult<T> {
        self.check_process(py)?;
        self.lock().clone().ok_or_else(|| {
            error::illegal_state(py, self.what, "not started (call start() or use `with`)")
        })
    }

    /// The started core object, if any (no error when not started).
    pub(crate) fn current(&self) -> Option<T> {
        self.lock().clone()
    }

    pub(crate) fn is_set(&self) -> bool {
        self.lock().is_some()
    }

    pub(crate) fn set(&self, value: T) {
        *self.lock() = Some(value);
    }

    pub(crate) fn take(&self) -> Option<T> {
        self.lock().take()
    }

    /// For `Drop`: the object to shut down, if it is still running in this process.
    pub(crate) fn take_for_drop(&mut self) -> Option<T> {
        let value = self
            .value
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if self.pid != runtime::pid() {
            std::mem::forget(value);
            return None;
        }
        value
    }
}

/// Client settings from the common constructor arguments. Without an instance name the
/// process id is used (as Java's `changeInstanceNameToPID`), so a child after `fork()` never
/// shares the parent's client.
pub(crate) fn client_config(
    namesrv: &str,
    instance_name: Option<String>,
    request_timeout: f64,
) -> ClientConfig {
    ClientConfig {
        namesrv_addr: namesrv.to_owned(),
        instance_name: instance_name.unwrap_or_else(|| runtime::pid().to_string()),
        request_timeout: seconds(request_timeout),
        ..ClientConfig::default()
    }
}

/// Seconds as a `Duration` (negative and NaN become zero).
pub(crate) fn seconds(s: f64) -> Duration {
    Duration::try_from_secs_f64(s).unwrap_or(Duration::ZERO)
}
