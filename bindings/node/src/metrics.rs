//! Client-side counters as plain objects (`producer.metrics()`, `consumer.metrics()`): the
//! core's `ProducerMetrics` and `ConsumerMetrics` with camelCase keys. Counts are numbers
//! (exact up to 2^53).

use napi_derive::napi;

use ferromq_client::{
    ConsumerMetrics as CoreConsumerMetrics, LatencyHistogram as CoreHistogram,
    ProducerMetrics as CoreProducerMetrics,
};

fn num(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A latency histogram.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct LatencyHistogram {
    /// Upper bounds of the buckets, ms (inclusive).
    pub bounds_ms: Vec<i64>,
    /// Observations per bucket, not cumulative: one more entry than `boundsMs`, the last
    /// counting those above the largest bound.
    pub counts: Vec<i64>,
    /// Observations in all.
    pub count: i64,
    /// Sum of the observations, ms.
    pub sum_ms: i64,
}

impl LatencyHistogram {
    fn from_core(h: &CoreHistogram) -> Self {
        LatencyHistogram {
            bounds_ms: h.bounds_ms.iter().copied().map(num).collect(),
            counts: h.counts.iter().copied().map(num).collect(),
            count: num(h.count),
            sum_ms: num(h.sum_ms),
        }
    }
}

/// What a producer counted since it started.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct ProducerMetrics {
    /// Send calls that succeeded (a batch is one call; oneway sends once written).
    pub sends: i64,
    /// Messages in those calls.
    pub messages: i64,
    /// Send calls that failed, after their retries.
    pub send_failures: i64,
    /// Time of each send call, retries included.
    pub send_latency: LatencyHistogram,
}

impl ProducerMetrics {
    pub(crate) fn from_core(m: &CoreProducerMetrics) -> Self {
        ProducerMetrics {
            sends: num(m.sends),
            messages: num(m.messages),
            send_failures: num(m.send_failures),
            send_latency: LatencyHistogram::from_core(&m.send_latency),
        }
    }
}

/// One queue a consumer holds, and how far behind it is.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct QueueLag {
    /// The queue's topic (the group's retry topic too).
    pub topic: String,
    /// The broker group.
    pub broker_name: String,
    /// The queue id.
    pub queue_id: i32,
    /// The next offset to consume; -1 while unknown.
    pub consumer_offset: i64,
    /// The queue's end at the last pull; -1 before the first pull.
    pub broker_max_offset: i64,
    /// Messages between the two (0 while either is unknown).
    pub lag: i64,
}

/// What a push consumer counted since it started.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct ConsumerMetrics {
    /// Messages the listener consumed.
    pub consumed: i64,
    /// Messages the listener failed (to be redelivered or dead-lettered).
    pub consume_failures: i64,
    /// Time of each listener call.
    pub consume_latency: LatencyHistogram,
    /// Rebalances that changed the consumer's queues.
    pub rebalances: i64,
    /// The queues the consumer holds now, in queue order.
    pub queues: Vec<QueueLag>,
    /// The lag of all those queues.
    pub total_lag: i64,
}

impl ConsumerMetrics {
    pub(crate) fn from_core(m: &CoreConsumerMetrics) -> Self {
        ConsumerMetrics {
            consumed: num(m.consumed),
            consume_failures: num(m.consume_failures),
            consume_latency: LatencyHistogram::from_core(&m.consume_latency),
            rebalances: num(m.rebalances),
            queues: m
                .queues
                .iter()
                .map(|q| QueueLag {
                    topic: q.queue.topic.clone(),
                    broker_name: q.queue.broker_name.clone(),
                    queue_id: q.queue.queue_id,
                    consumer_offset: q.consumer_offset,
                    broker_max_offset: q.broker_max_offset,
                    lag: q.lag,
                })
                .collect(),
            total_lag: m.total_lag(),
        }
    }
}
