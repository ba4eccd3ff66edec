//! `ferromq._ferromq._LocalCluster`: the Rust `ferromq_client::testing::LocalCluster` for the
//! pure-Python `ferromq.testing` module, which adds the context managers, the broker handles
//! and the pytest plugin. Every blocking call (start, restart, stop) releases the GIL.
//!
//! Brokers are addressed by group index and role: `(i, false)` is the master of group `i`
//! (`broker-a` is 0), `(i, true)` its slave.

use std::path::PathBuf;
use std::sync::{RwLock, RwLockReadGuard};
use std::time::Duration;

use ferromq_client::testing::{Binaries, LocalBroker, LocalCluster, LocalClusterError};
use pyo3::exceptions::{PyFileNotFoundError, PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;

fn to_py(e: LocalClusterError) -> PyErr {
    let text = e.to_string();
    match e {
        LocalClusterError::BinariesNotFound { .. } => PyFileNotFoundError::new_err(text),
        LocalClusterError::Io { .. } => PyOSError::new_err(text),
        _ => PyRuntimeError::new_err(text),
    }
}

fn stopped() -> PyErr {
    PyRuntimeError::new_err("LocalCluster: not running (not started yet, or stopped)")
}

/// A name server and brokers as child processes; see `ferromq.testing.LocalCluster`.
#[pyclass(name = "_LocalCluster", module = "ferromq._ferromq", frozen)]
pub(crate) struct PyLocalCluster {
    cluster: RwLock<Option<LocalCluster>>,
}

impl PyLocalCluster {
    fn read(&self) -> RwLockReadGuard<'_, Option<LocalCluster>> {
        self.cluster.read().unwrap_or_else(|e| e.into_inner())
    }

    fn with<T>(&self, f: impl FnOnce(&LocalCluster) -> PyResult<T>) -> PyResult<T> {
        match self.read().as_ref() {
            Some(c) => f(c),
            None => Err(stopped()),
        }
    }

    fn with_broker<T>(
        &self,
        i: usize,
        slave: bool,
        f: impl FnOnce(&LocalBroker) -> PyResult<T>,
    ) -> PyResult<T> {
        self.with(|c| {
            let groups = c.brokers().len();
            let broker = if slave {
                c.slave(i)
            } else {
                c.brokers().get(i)
            };
            match broker {
                Some(b) => f(b),
                None if slave && c.slave(0).is_none() => Err(PyValueError::new_err(
                    "LocalCluster: this cluster has no slaves (start it with slaves=True)",
                )),
                None => Err(PyValueError::new_err(format!(
                    "LocalCluster: no broker group {i} (the cluster has {groups})"
                ))),
            }
        })
    }
}

#[pymethods]
impl PyLocalCluster {
    /// Starts the cluster and returns once the name server lists every broker (GIL released).
    /// `bundled`: the directory the package ships its servers in, looked at first; `bin_dir`:
    /// use exactly this directory instead of looking.
    #[new]
    #[pyo3(signature = (brokers, slaves, broker_config, broker_config_for, namesrv_config, boot_timeout, bundled, bin_dir))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        brokers: usize,
        slaves: bool,
        broker_config: Vec<String>,
        broker_config_for: Vec<(String, String)>,
        namesrv_config: Vec<String>,
        boot_timeout: f64,
        bundled: Option<PathBuf>,
        bin_dir: Option<PathBuf>,
    ) -> PyResult<Self> {
        if brokers == 0 {
            return Err(PyValueError::new_err(
                "LocalCluster: brokers must be at least 1",
            ));
        }
        if !(boot_timeout.is_finite() && boot_timeout > 0.0) {
            return Err(PyValueError::new_err(
                "LocalCluster: boot_timeout must be a positive number of seconds",
            ));
        }
        for line in broker_config
            .iter()
            .chain(namesrv_config.iter())
            .chain(broker_config_for.iter().map(|(_, l)| l))
        {
            if !line.contains('=') || line.contains('\n') {
                return Err(PyValueError::new_err(format!(
                    "LocalCluster: a config line is `key=value` on one line, got {line:?}"
                )));
            }
        }
        let cluster = py.detach(move || {
            let binaries = match bin_dir {
                Some(dir) => Binaries {
                    namesrv: dir.join("mqnamesrv"),
                    broker: dir.join("mqbroker"),
                    source: "bin_dir argument",
                },
                None => Binaries::find_with_bundled(bundled.as_deref()).map_err(to_py)?,
            };
            for exe in [&binaries.namesrv, &binaries.broker] {
                if !exe.is_file() {
                    return Err(PyFileNotFoundError::new_err(format!(
                        "LocalCluster: {} does not exist",
                        exe.display()
                    )));
                }
            }
            let mut builder = LocalCluster::builder()
                .brokers(brokers)
                .slaves(slaves)
                .boot_timeout(Duration::from_secs_f64(boot_timeout))
                .binaries(binaries);
            for line in broker_config {
                builder = builder.broker_config(line);
            }
            for (name, line) in broker_config_for {
                builder = builder.broker_config_for(&name, line);
            }
            for line in namesrv_config {
                builder = builder.namesrv_config(line);
            }
            builder.start().map_err(to_py)
        })?;
        Ok(Self {
            cluster: RwLock::new(Some(cluster)),
        })
    }

    #[getter]
    fn namesrv_addr(&self) -> PyResult<String> {
        self.with(|c| Ok(c.namesrv_addr().to_owned()))
    }

    #[getter]
    fn groups(&self) -> PyResult<usize> {
        self.with(|c| Ok(c.brokers().len()))
    }

    #[getter]
    fn has_slaves(&self) -> PyResult<bool> {
        self.with(|c| Ok(c.slave(0).is_some()))
    }

    #[getter]
    fn dir(&self) -> PyResult<PathBuf> {
        self.with(|c| Ok(c.dir().to_path_buf()))
    }

    /// `(namesrv path, broker path, where they were found)`.
    #[getter]
    fn binaries(&self) -> PyResult<(PathBuf, PathBuf, String)> {
        self.with(|c| {
            let b = c.binaries();
            Ok((b.namesrv.clone(), b.broker.clone(), b.source.to_owned()))
        })
    }

    #[getter]
    fn running(&self) -> bool {
        self.read().is_some()
    }

    fn wait_all_listed(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.with(|c| c.wait_all_listed().map_err(to_py)))
    }

    /// Stops every server cleanly and deletes the directory; nothing when already stopped.
    fn stop(&self, py: Python<'_>) {
        let taken = self
            .cluster
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(c) = taken {
            py.detach(move || c.stop());
        }
    }

    /// `(addr, port, broker_name, broker_id)`.
    fn broker_info(&self, i: usize, slave: bool) -> PyResult<(String, u16, String, u32)> {
        self.with_broker(i, slave, |b| {
            Ok((
                b.addr(),
                b.port(),
                b.broker_name().to_owned(),
                b.broker_id(),
            ))
        })
    }

    fn broker_dir(&self, i: usize, slave: bool) -> PyResult<PathBuf> {
        self.with_broker(i, slave, |b| Ok(b.dir()))
    }

    fn broker_running(&self, i: usize, slave: bool) -> PyResult<bool> {
        self.with_broker(i, slave, |b| Ok(b.is_running()))
    }

    fn broker_log_tail(&self, i: usize, slave: bool) -> PyResult<String> {
        self.with_broker(i, slave, |b| Ok(b.log_tail()))
    }

    fn broker_kill(&self, py: Python<'_>, i: usize, slave: bool) -> PyResult<()> {
        py.detach(|| {
            self.with_broker(i, slave, |b| {
                b.kill();
                Ok(())
            })
        })
    }

    fn broker_stop(&self, py: Python<'_>, i: usize, slave: bool) -> PyResult<()> {
        py.detach(|| {
            self.with_broker(i, slave, |b| {
                b.stop();
                Ok(())
            })
        })
    }

    fn broker_restart(&self, py: Python<'_>, i: usize, slave: bool) -> PyResult<()> {
        py.detach(|| self.with_broker(i, slave, |b| b.restart().map_err(to_py)))
    }
}
