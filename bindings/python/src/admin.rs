//! `Admin`: topic creation and cluster and route queries.

use std::sync::Arc;

use ferromq_client::admin::DEFAULT_CLUSTER;
use ferromq_client::{Admin, TopicOptions};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use crate::error;
use crate::runtime::{runtime, wait};
use crate::slot::{client_config, Slot};

/// Admin operations: `Admin(namesrv, *, instance_name=None, request_timeout=None)`; usable at
/// once (and as a context manager that shuts it down). A shut-down admin refuses calls.
#[pyclass(name = "Admin", module = "ferromq")]
pub(crate) struct PyAdmin {
    slot: Slot<Arc<Admin>>,
}

#[pymethods]
impl PyAdmin {
    #[new]
    #[pyo3(signature = (namesrv, *, instance_name=None, request_timeout=None))]
    fn new(
        py: Python<'_>,
        namesrv: &str,
        instance_name: Option<String>,
        request_timeout: Option<f64>,
    ) -> PyResult<Self> {
        let config = client_config(namesrv, instance_name, request_timeout);
        let admin = {
            let _entered = runtime().enter();
            Admin::new(&config).map_err(|e| error::to_py(py, &e))?
        };
        Ok(PyAdmin {
            slot: Slot::started("admin", Arc::new(admin)),
        })
    }

    /// Creates (or updates) `topic` on every master of `cluster` (`DefaultCluster`) with
    /// `queue_nums` (8) read and write queues; `order` marks it ordered.
    #[pyo3(signature = (topic, *, queue_nums=None, cluster=None, order=false))]
    fn create_topic(
        &self,
        py: Python<'_>,
        topic: String,
        queue_nums: Option<i32>,
        cluster: Option<String>,
        order: bool,
    ) -> PyResult<()> {
        let a = self.slot.get(py, "create topic")?;
        let cluster = cluster.unwrap_or_else(|| DEFAULT_CLUSTER.to_owned());
        let mut options = TopicOptions {
            order,
            ..TopicOptions::default()
        };
        if let Some(n) = queue_nums {
            options.queue_nums = n;
        }
        wait(py, async move {
            a.create_topic(&cluster, &topic, &options).await
        })?
        .map_err(|e| error::to_py(py, &e))
    }

    /// The name servers' cluster table: `{cluster: {broker_name: {broker_id: address}}}`.
    fn cluster_info<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let a = self.slot.get(py, "cluster info")?;
        let info =
            wait(py, async move { a.cluster_info().await })?.map_err(|e| error::to_py(py, &e))?;
        let out = PyDict::new(py);
        for (cluster, names) in &info.cluster_addr_table {
            let brokers = PyDict::new(py);
            for name in names {
                let addrs = PyDict::new(py);
                if let Some(b) = info.broker_addr_table.get(name) {
                    for (id, addr) in &b.broker_addrs {
                        addrs.set_item(id, addr)?;
                    }
                }
                brokers.set_item(name, addrs)?;
            }
            out.set_item(cluster, brokers)?;
        }
        Ok(out)
    }

    /// `topic`'s route, fresh from the name servers: a list of
    /// `{"broker_name", "read_queue_nums", "write_queue_nums", "perm"}` dicts, one per broker.
    fn topic_route<'py>(&self, py: Python<'py>, topic: String) -> PyResult<Bound<'py, PyList>> {
        let a = self.slot.get(py, "topic route")?;
        let route = wait(py, async move { a.topic_route(&topic).await })?
            .map_err(|e| error::to_py(py, &e))?;
        let out = PyList::empty(py);
        for q in &route.queue_datas {
            let d = PyDict::new(py);
            d.set_item("broker_name", &q.broker_name)?;
            d.set_item("read_queue_nums", q.read_queue_nums)?;
            d.set_item("write_queue_nums", q.write_queue_nums)?;
            d.set_item("perm", q.perm)?;
            out.append(d)?;
        }
        Ok(out)
    }

    /// Releases the connections; a second call does nothing.
    fn shutdown(&self, py: Python<'_>) -> PyResult<()> {
        self.slot.shutdown(py)
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, PyTuple>) -> PyResult<bool> {
        self.shutdown(py)?;
        Ok(false)
    }
}

impl Drop for PyAdmin {
    fn drop(&mut self) {
        self.slot.drop_in_background();
    }
}
