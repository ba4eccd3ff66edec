//! Client-side counters as plain objects (`producer.metrics()`, `consumer.metrics()`): the
//! core's `ProducerMetrics` and `ConsumerMetrics` with camelCase keys (declared in `types`).

use ferromq_client::{ConsumerMetrics, LatencyHistogram, ProducerMetrics};
use js_sys::{Array, Object};
use wasm_bindgen::prelude::*;

use crate::js;

/// A count as a JavaScript number (exact up to 2^53).
fn count(n: u64) -> JsValue {
    JsValue::from_f64(n as f64)
}

fn histogram(h: &LatencyHistogram) -> JsValue {
    let o = Object::new();
    let list = |v: &[u64]| v.iter().map(|&n| count(n)).collect::<Array>();
    js::set(&o, "boundsMs", list(&h.bounds_ms));
    js::set(&o, "counts", list(&h.counts));
    js::set(&o, "count", count(h.count));
    js::set(&o, "sumMs", count(h.sum_ms));
    o.into()
}

/// `{ sends, messages, sendFailures, sendLatency }`.
pub(crate) fn producer_to_js(m: &ProducerMetrics) -> JsValue {
    let o = Object::new();
    js::set(&o, "sends", count(m.sends));
    js::set(&o, "messages", count(m.messages));
    js::set(&o, "sendFailures", count(m.send_failures));
    js::set(&o, "sendLatency", histogram(&m.send_latency));
    o.into()
}

/// `{ consumed, consumeFailures, consumeLatency, rebalances, queues, totalLag }`.
pub(crate) fn consumer_to_js(m: &ConsumerMetrics) -> JsValue {
    let queues: Array = m
        .queues
        .iter()
        .map(|q| {
            let e = Object::new();
            js::set(&e, "topic", q.queue.topic.as_str());
            js::set(&e, "brokerName", q.queue.broker_name.as_str());
            js::set(&e, "queueId", q.queue.queue_id);
            js::set(&e, "consumerOffset", js::num(q.consumer_offset));
            js::set(&e, "brokerMaxOffset", js::num(q.broker_max_offset));
            js::set(&e, "lag", js::num(q.lag));
            JsValue::from(e)
        })
        .collect();
    let o = Object::new();
    js::set(&o, "consumed", count(m.consumed));
    js::set(&o, "consumeFailures", count(m.consume_failures));
    js::set(&o, "consumeLatency", histogram(&m.consume_latency));
    js::set(&o, "rebalances", count(m.rebalances));
    js::set(&o, "queues", queues);
    js::set(&o, "totalLag", js::num(m.total_lag()));
    o.into()
}
