//! Client-side counters as plain C structs: fmq_producer_get_metrics,
//! fmq_transaction_producer_get_metrics and fmq_push_consumer_get_metrics fill the core's
//! [`ProducerMetrics`] and [`ConsumerMetrics`] into caller-owned memory (nothing to free).

use std::ffi::c_char;

use ferromq_client::metrics::LATENCY_BOUNDS_MS;
use ferromq_client::{ConsumerMetrics, Error, LatencyHistogram, ProducerMetrics};

use crate::consumer::fmq_push_consumer;
use crate::error::{fmq_result, guard};
use crate::ffi::{check_out, copy_str, handle, write_out};
use crate::producer::{fmq_producer, FMQ_ID_CAPACITY};
use crate::transaction::fmq_transaction_producer;

/// Number of bucket bounds of an fmq_latency_histogram.
pub const FMQ_LATENCY_BOUNDS: usize = 9;
/// Number of buckets of an fmq_latency_histogram (one more than the bounds).
pub const FMQ_LATENCY_BUCKETS: usize = 10;
/// Capacity of fmq_queue_lag's topic, NUL included: any topic (127 bytes) and the retry
/// topic of any group (`%RETRY%` and 255 bytes) fit.
pub const FMQ_TOPIC_CAPACITY: usize = 264;

/// A latency histogram (milliseconds).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct fmq_latency_histogram {
    /// The buckets' upper bounds, inclusive: 1, 5, 10, 50, 100, 500, 1000, 3000, 10000.
    pub bounds_ms: [u64; FMQ_LATENCY_BOUNDS],
    /// Observations per bucket, not cumulative; the last counts those above the largest bound.
    pub counts: [u64; FMQ_LATENCY_BUCKETS],
    /// Observations in all.
    pub count: u64,
    /// Sum of the observations.
    pub sum_ms: u64,
}

impl fmq_latency_histogram {
    fn from_core(h: &LatencyHistogram) -> Self {
        const { assert!(LATENCY_BOUNDS_MS.len() == FMQ_LATENCY_BOUNDS) };
        let mut out = fmq_latency_histogram {
            bounds_ms: [0; FMQ_LATENCY_BOUNDS],
            counts: [0; FMQ_LATENCY_BUCKETS],
            count: h.count,
            sum_ms: h.sum_ms,
        };
        for (d, s) in out.bounds_ms.iter_mut().zip(&h.bounds_ms) {
            *d = *s;
        }
        for (d, s) in out.counts.iter_mut().zip(&h.counts) {
            *d = *s;
        }
        out
    }
}

/// What a producer counted since it started (a plain struct: nothing to free).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct fmq_producer_metrics {
    /// Send calls that succeeded (a batch is one call; oneway sends once written).
    pub sends: u64,
    /// Messages in those calls.
    pub messages: u64,
    /// Send calls that failed, after their retries.
    pub send_failures: u64,
    /// Time of each send call, retries included, as the caller waited for it.
    pub send_latency: fmq_latency_histogram,
}

impl fmq_producer_metrics {
    fn from_core(m: &ProducerMetrics) -> Self {
        fmq_producer_metrics {
            sends: m.sends,
            messages: m.messages,
            send_failures: m.send_failures,
            send_latency: fmq_latency_histogram::from_core(&m.send_latency),
        }
    }
}

/// One queue a push consumer holds, and how far behind it is.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct fmq_queue_lag {
    /// The topic (the group's retry topic too), NUL-terminated.
    pub topic: [c_char; FMQ_TOPIC_CAPACITY],
    /// The broker group, NUL-terminated (truncated past FMQ_ID_CAPACITY - 1 bytes).
    pub broker_name: [c_char; FMQ_ID_CAPACITY],
    /// The queue id.
    pub queue_id: i32,
    /// The next offset to consume; -1 while unknown.
    pub consumer_offset: i64,
    /// The queue's end at the last pull; -1 before the first pull.
    pub broker_max_offset: i64,
    /// Messages between the two (0 while either is unknown).
    pub lag: i64,
}

/// What a push consumer counted since it started (a plain struct: nothing to free). Its
/// queues go to the array given to fmq_push_consumer_get_metrics.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct fmq_consumer_metrics {
    /// Messages the listener consumed.
    pub consumed: u64,
    /// Messages the listener failed (each to be redelivered or dead-lettered).
    pub consume_failures: u64,
    /// Time of each listener call.
    pub consume_latency: fmq_latency_histogram,
    /// Rebalances that changed the consumer's queues.
    pub rebalances: u64,
    /// The queues the consumer holds now (may exceed the capacity of the array given).
    pub queue_count: usize,
    /// The lag of all those queues.
    pub total_lag: i64,
}

fn queue_lag(q: &ferromq_client::QueueLag) -> fmq_queue_lag {
    let mut out = fmq_queue_lag {
        topic: [0; FMQ_TOPIC_CAPACITY],
        broker_name: [0; FMQ_ID_CAPACITY],
        queue_id: q.queue.queue_id,
        consumer_offset: q.consumer_offset,
        broker_max_offset: q.broker_max_offset,
        lag: q.lag,
    };
    copy_str(&mut out.topic, &q.queue.topic);
    copy_str(&mut out.broker_name, &q.queue.broker_name);
    out
}

fn consumer_metrics(m: &ConsumerMetrics) -> fmq_consumer_metrics {
    fmq_consumer_metrics {
        consumed: m.consumed,
        consume_failures: m.consume_failures,
        consume_latency: fmq_latency_histogram::from_core(&m.consume_latency),
        rebalances: m.rebalances,
        queue_count: m.queues.len(),
        total_lag: m.total_lag(),
    }
}

/// The producer's counters since it started, into `*out`. FMQ_ERR_ILLEGAL_STATE unless
/// started (also after shutdown: read them before). Does not block.
#[no_mangle]
pub extern "C" fn fmq_producer_get_metrics(
    producer: *const fmq_producer,
    out: *mut fmq_producer_metrics,
) -> fmq_result {
    guard(|| {
        let op = "fmq_producer_get_metrics";
        check_out(op, "out", out)?;
        let p = handle(op, producer)?.lifecycle.get(op)?;
        write_out(out, fmq_producer_metrics::from_core(&p.metrics()));
        Ok(())
    })
}

/// The transactional producer's counters since it started (as fmq_producer_get_metrics; a
/// transactional send counts as one send), into `*out`. FMQ_ERR_ILLEGAL_STATE unless started.
/// Does not block.
#[no_mangle]
pub extern "C" fn fmq_transaction_producer_get_metrics(
    producer: *const fmq_transaction_producer,
    out: *mut fmq_producer_metrics,
) -> fmq_result {
    guard(|| {
        let op = "fmq_transaction_producer_get_metrics";
        check_out(op, "out", out)?;
        let p = handle(op, producer)?.lifecycle.get(op)?;
        write_out(out, fmq_producer_metrics::from_core(&p.metrics()));
        Ok(())
    })
}

/// The push consumer's counters since it started, into `*out`, and its queues, in queue
/// order, into `queues`: an array of `capacity` elements given by the caller (NULL when
/// `capacity` is 0). `out->queue_count` is the number of queues held; when it exceeds
/// `capacity` only the first `capacity` are written (call again with a larger array).
/// FMQ_ERR_ILLEGAL_STATE unless started (also after shutdown: read them before). Does not
/// block.
#[no_mangle]
pub extern "C" fn fmq_push_consumer_get_metrics(
    consumer: *const fmq_push_consumer,
    queues: *mut fmq_queue_lag,
    capacity: usize,
    out: *mut fmq_consumer_metrics,
) -> fmq_result {
    guard(|| {
        let op = "fmq_push_consumer_get_metrics";
        check_out(op, "out", out)?;
        if capacity > 0 && queues.is_null() {
            return Err(Error::invalid(
                op,
                format!("queues is NULL but its capacity is {capacity}"),
            ));
        }
        let c = handle(op, consumer)?.lifecycle.get(op)?;
        let m = c.metrics();
        for (i, q) in m.queues.iter().take(capacity).enumerate() {
            // SAFETY: `queues` holds `capacity` writable elements (header); i < capacity.
            unsafe { queues.add(i).write(queue_lag(q)) };
        }
        write_out(out, consumer_metrics(&m));
        Ok(())
    })
}
