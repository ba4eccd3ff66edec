//! Client-side counters as plain dicts (`Producer.metrics()`, `PushConsumer.metrics()`): the
//! core's [`ProducerMetrics`] and [`ConsumerMetrics`] with snake_case keys.

use ferromq_client::{ConsumerMetrics, LatencyHistogram, ProducerMetrics};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

fn histogram<'py>(py: Python<'py>, h: &LatencyHistogram) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("bounds_ms", PyList::new(py, &h.bounds_ms)?)?;
    d.set_item("counts", PyList::new(py, &h.counts)?)?;
    d.set_item("count", h.count)?;
    d.set_item("sum_ms", h.sum_ms)?;
    Ok(d)
}

/// `{sends, messages, send_failures, send_latency}`.
pub(crate) fn producer<'py>(py: Python<'py>, m: &ProducerMetrics) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("sends", m.sends)?;
    d.set_item("messages", m.messages)?;
    d.set_item("send_failures", m.send_failures)?;
    d.set_item("send_latency", histogram(py, &m.send_latency)?)?;
    Ok(d)
}

/// `{consumed, consume_failures, consume_latency, rebalances, queues, total_lag}`.
pub(crate) fn consumer<'py>(py: Python<'py>, m: &ConsumerMetrics) -> PyResult<Bound<'py, PyDict>> {
    let queues = PyList::empty(py);
    for q in &m.queues {
        let e = PyDict::new(py);
        e.set_item("topic", &q.queue.topic)?;
        e.set_item("broker_name", &q.queue.broker_name)?;
        e.set_item("queue_id", q.queue.queue_id)?;
        e.set_item("consumer_offset", q.consumer_offset)?;
        e.set_item("broker_max_offset", q.broker_max_offset)?;
        e.set_item("lag", q.lag)?;
        queues.append(e)?;
    }
    let d = PyDict::new(py);
    d.set_item("consumed", m.consumed)?;
    d.set_item("consume_failures", m.consume_failures)?;
    d.set_item("consume_latency", histogram(py, &m.consume_latency)?)?;
    d.set_item("rebalances", m.rebalances)?;
    d.set_item("queues", queues)?;
    d.set_item("total_lag", m.total_lag())?;
    Ok(d)
}
