//! `Admin`: the core's admin client (cluster, topics, statistics, consumer progress, messages
//! by key or id, broker runtime figures) with dict and list results.

use std::collections::BTreeMap;
use std::sync::Arc;

use ferromq_client::admin::DEFAULT_CLUSTER;
use ferromq_client::{Admin, TopicOptions};
use ferromq_protocol::body::MessageQueue;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use crate::error;
use crate::message::PyMessageView;
use crate::runtime::{runtime, wait};
use crate::slot::{client_config, Common, Slot};

/// `{"topic", "broker_name", "queue_id"}` plus the fields `extra` sets, one dict per queue.
fn queue_rows<'py, V>(
    py: Python<'py>,
    table: &BTreeMap<MessageQueue, V>,
    extra: impl Fn(&Bound<'py, PyDict>, &V) -> PyResult<()>,
) -> PyResult<Bound<'py, PyList>> {
    let out = PyList::empty(py);
    for (mq, v) in table {
        let d = PyDict::new(py);
        d.set_item("topic", &mq.topic)?;
        d.set_item("broker_name", &mq.broker_name)?;
        d.set_item("queue_id", mq.queue_id)?;
        extra(&d, v)?;
        out.append(d)?;
    }
    Ok(out)
}

/// Admin operations: `Admin(namesrv, *, instance_name=None, request_timeout=None,
/// credentials=None, tls=None)`, then
/// `cluster_info`, `create_topic`, `delete_topic`, `topic_route`, `topic_stats`,
/// `consumer_progress`, `query_by_key`, `view_by_offset_id`, `broker_runtime_info`; usable at
/// once (and as a context manager that shuts it down). A shut-down admin refuses calls.
#[pyclass(name = "Admin", module = "ferromq")]
pub(crate) struct PyAdmin {
    slot: Slot<Arc<Admin>>,
}

#[pymethods]
impl PyAdmin {
    #[new]
    #[pyo3(signature = (namesrv, *, instance_name=None, request_timeout=None, credentials=None, tls=None))]
    fn new(
        py: Python<'_>,
        namesrv: &str,
        instance_name: Option<String>,
        request_timeout: Option<f64>,
        credentials: Option<Bound<'_, PyAny>>,
        tls: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let config = client_config(
            py,
            namesrv,
            Common {
                instance_name,
                request_timeout,
                credentials,
                tls,
                // Apache's admin client applies no namespace.
                namespace: None,
            },
        )?;
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

    /// Deletes `topic` from every master of `cluster` (`DefaultCluster`) and from the name
    /// servers.
    #[pyo3(signature = (topic, *, cluster=None))]
    fn delete_topic(&self, py: Python<'_>, topic: String, cluster: Option<String>) -> PyResult<()> {
        let a = self.slot.get(py, "delete topic")?;
        let cluster = cluster.unwrap_or_else(|| DEFAULT_CLUSTER.to_owned());
        wait(py, async move { a.delete_topic(&cluster, &topic).await })?
            .map_err(|e| error::to_py(py, &e))
    }

    /// The offsets of every queue of `topic`: a list of `{"topic", "broker_name", "queue_id",
    /// "min_offset", "max_offset", "last_update_timestamp"}` dicts, in queue order.
    fn topic_stats<'py>(&self, py: Python<'py>, topic: String) -> PyResult<Bound<'py, PyList>> {
        let a = self.slot.get(py, "topic stats")?;
        let stats = wait(py, async move { a.topic_stats(&topic).await })?
            .map_err(|e| error::to_py(py, &e))?;
        queue_rows(py, &stats, |d, s| {
            d.set_item("min_offset", s.min_offset)?;
            d.set_item("max_offset", s.max_offset)?;
            d.set_item("last_update_timestamp", s.last_update_timestamp)
        })
    }

    /// How far `group` has consumed `topic`: a list of `{"topic", "broker_name", "queue_id",
    /// "broker_offset", "consumer_offset", "pull_offset", "last_timestamp"}` dicts.
    fn consumer_progress<'py>(
        &self,
        py: Python<'py>,
        group: String,
        topic: String,
    ) -> PyResult<Bound<'py, PyList>> {
        let a = self.slot.get(py, "consumer progress")?;
        let progress = wait(py, async move { a.consumer_progress(&group, &topic).await })?
            .map_err(|e| error::to_py(py, &e))?;
        queue_rows(py, &progress, |d, p| {
            d.set_item("broker_offset", p.broker_offset)?;
            d.set_item("consumer_offset", p.consumer_offset)?;
            d.set_item("pull_offset", p.pull_offset)?;
            d.set_item("last_timestamp", p.last_timestamp)
        })
    }

    /// The messages of `topic` with `key` among their keys, from every broker's index (at
    /// most `max` per broker).
    #[pyo3(signature = (topic, key, *, max=32))]
    fn query_by_key(
        &self,
        py: Python<'_>,
        topic: String,
        key: String,
        max: i32,
    ) -> PyResult<Vec<PyMessageView>> {
        let a = self.slot.get(py, "query message")?;
        let found = wait(py, async move { a.query_by_key(&topic, &key, max).await })?
            .map_err(|e| error::to_py(py, &e))?;
        Ok(found.into_iter().map(PyMessageView::from).collect())
    }

    /// The message with broker id `offset_msg_id` (a SendResult's `offset_msg_id`).
    fn view_by_offset_id(&self, py: Python<'_>, offset_msg_id: String) -> PyResult<PyMessageView> {
        let a = self.slot.get(py, "view message")?;
        wait(py, async move { a.view_by_offset_id(&offset_msg_id).await })?
            .map(PyMessageView::from)
            .map_err(|e| error::to_py(py, &e))
    }

    /// A broker's runtime figures (`putTps`, `commitLogMaxOffset`, `brokerVersionDesc`, ...)
    /// as the broker names them, from the broker at `broker_addr` (`host:port`).
    fn broker_runtime_info(
        &self,
        py: Python<'_>,
        broker_addr: String,
    ) -> PyResult<BTreeMap<String, String>> {
        let a = self.slot.get(py, "broker runtime info")?;
        wait(py, async move { a.broker_runtime_info(&broker_addr).await })?
            .map_err(|e| error::to_py(py, &e))
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
