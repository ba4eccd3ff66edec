//! Client-side counters an application reads from its own producers and consumers
//! ([`crate::Producer::metrics`], [`crate::PushConsumer::metrics`]), surfaced the same way by
//! every binding: sends and their failures with a latency histogram, messages consumed and
//! failed with the listener's latency, rebalances, and the lag of every queue a consumer holds.
//!
//! Recording is a few relaxed atomic adds per send or listener call; reading takes a snapshot.
//! Counters start at zero when the producer or consumer starts and only grow.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ferromq_protocol::body::MessageQueue;

/// Upper bounds (inclusive, milliseconds) of the latency histograms' buckets; a last bucket
/// holds everything slower.
pub const LATENCY_BOUNDS_MS: [u64; 9] = [1, 5, 10, 50, 100, 500, 1000, 3000, 10_000];

/// A latency histogram.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LatencyHistogram {
    /// The buckets' upper bounds in milliseconds ([`LATENCY_BOUNDS_MS`]).
    pub bounds_ms: Vec<u64>,
    /// Observations per bucket, not cumulative: one more entry than `bounds_ms`, the last
    /// counting those above the largest bound.
    pub counts: Vec<u64>,
    /// Observations in all.
    pub count: u64,
    /// Sum of the observations, milliseconds.
    pub sum_ms: u64,
}

impl LatencyHistogram {
    /// The smallest bucket bound at or below which `quantile` (0 to 1) of the observations
    /// fall; `None` without observations or when it falls in the last, unbounded bucket.
    pub fn quantile_bound_ms(&self, quantile: f64) -> Option<u64> {
        if self.count == 0 {
            return None;
        }
        let wanted = (quantile.clamp(0.0, 1.0) * self.count as f64)
            .ceil()
            .max(1.0) as u64;
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= wanted {
                return self.bounds_ms.get(i).copied();
            }
        }
        None
    }

    /// Adds `other`'s observations (same bounds).
    pub(crate) fn merge(&mut self, other: &LatencyHistogram) {
        if self.counts.is_empty() {
            *self = other.clone();
            return;
        }
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.count += other.count;
        self.sum_ms += other.sum_ms;
    }
}

/// Records latencies into [`LATENCY_BOUNDS_MS`] buckets.
#[derive(Debug, Default)]
pub(crate) struct LatencyRecorder {
    counts: [AtomicU64; LATENCY_BOUNDS_MS.len() + 1],
    sum_ms: AtomicU64,
}

impl LatencyRecorder {
    pub(crate) fn record(&self, took: Duration) {
        let ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
        let i = LATENCY_BOUNDS_MS
            .iter()
            .position(|&bound| ms <= bound)
            .unwrap_or(LATENCY_BOUNDS_MS.len());
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        self.sum_ms.fetch_add(ms, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> LatencyHistogram {
        let counts: Vec<u64> = self
            .counts
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect();
        LatencyHistogram {
            bounds_ms: LATENCY_BOUNDS_MS.to_vec(),
            count: counts.iter().sum(),
            counts,
            sum_ms: self.sum_ms.load(Ordering::Relaxed),
        }
    }
}

/// What a producer counted (a snapshot, [`crate::Producer::metrics`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProducerMetrics {
    /// Send calls that succeeded (a batch is one call), oneway sends once written.
    pub sends: u64,
    /// Messages in those calls.
    pub messages: u64,
    /// Send calls that failed, after their retries.
    pub send_failures: u64,
    /// Time of each send call, retries included, as the caller waited for it.
    pub send_latency: LatencyHistogram,
}

/// A producer's counters.
#[derive(Debug, Default)]
pub(crate) struct ProducerCounters {
    sends: AtomicU64,
    messages: AtomicU64,
    failures: AtomicU64,
    latency: LatencyRecorder,
}

impl ProducerCounters {
    /// A send call of `messages` messages that took `took`, succeeded or not.
    pub(crate) fn record(&self, ok: bool, messages: usize, took: Duration) {
        if ok {
            self.sends.fetch_add(1, Ordering::Relaxed);
            self.messages.fetch_add(messages as u64, Ordering::Relaxed);
        } else {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
        self.latency.record(took);
    }

    pub(crate) fn snapshot(&self) -> ProducerMetrics {
        ProducerMetrics {
            sends: self.sends.load(Ordering::Relaxed),
            messages: self.messages.load(Ordering::Relaxed),
            send_failures: self.failures.load(Ordering::Relaxed),
            send_latency: self.latency.snapshot(),
        }
    }
}

/// One queue a consumer holds, and how far behind it is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueueLag {
    /// The queue.
    pub queue: MessageQueue,
    /// The consumer's offset (the next message to consume); -1 before it is known.
    pub consumer_offset: i64,
    /// The queue's end as the broker last reported it on a pull; -1 before the first pull.
    pub broker_max_offset: i64,
    /// Messages between the two (0 while either is unknown).
    pub lag: i64,
}

impl QueueLag {
    pub(crate) fn new(queue: MessageQueue, consumer_offset: i64, broker_max_offset: i64) -> Self {
        let lag = if consumer_offset < 0 || broker_max_offset < 0 {
            0
        } else {
            (broker_max_offset - consumer_offset).max(0)
        };
        QueueLag {
            queue,
            consumer_offset,
            broker_max_offset,
            lag,
        }
    }
}

/// What a push consumer counted (a snapshot, [`crate::PushConsumer::metrics`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConsumerMetrics {
    /// Messages the listener consumed successfully.
    pub consumed: u64,
    /// Messages the listener failed (each to be redelivered or dead-lettered).
    pub consume_failures: u64,
    /// Time of each listener call.
    pub consume_latency: LatencyHistogram,
    /// Rebalances that changed the consumer's queues.
    pub rebalances: u64,
    /// The queues the consumer holds now, in queue order.
    pub queues: Vec<QueueLag>,
}

impl ConsumerMetrics {
    /// The lag of all the consumer's queues.
    pub fn total_lag(&self) -> i64 {
        self.queues.iter().map(|q| q.lag).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_fall_in_their_buckets() {
        let r = LatencyRecorder::default();
        for ms in [0, 1, 2, 7, 70, 20_000] {
            r.record(Duration::from_millis(ms));
        }
        let h = r.snapshot();
        assert_eq!(h.counts, [2, 1, 1, 0, 1, 0, 0, 0, 0, 1]);
        assert_eq!(h.count, 6);
        assert_eq!(h.sum_ms, 20_080);
        assert_eq!(h.quantile_bound_ms(0.5), Some(5));
        assert_eq!(h.quantile_bound_ms(0.8), Some(100));
        assert_eq!(h.quantile_bound_ms(1.0), None, "the slowest is unbounded");
        let mut merged = LatencyHistogram::default();
        merged.merge(&h);
        merged.merge(&h);
        assert_eq!(merged.count, 12);
        assert_eq!(merged.counts[0], 4);
        assert_eq!(LatencyHistogram::default().quantile_bound_ms(0.5), None);
    }

    #[test]
    fn producer_counts_calls_messages_and_failures() {
        let c = ProducerCounters::default();
        c.record(true, 1, Duration::from_millis(3));
        c.record(true, 10, Duration::from_millis(4));
        c.record(false, 1, Duration::from_millis(3000));
        let m = c.snapshot();
        assert_eq!((m.sends, m.messages, m.send_failures), (2, 11, 1));
        assert_eq!(m.send_latency.count, 3);
    }

    #[test]
    fn lag_is_zero_until_both_ends_are_known() {
        let q = MessageQueue::new("T", "b", 0);
        assert_eq!(QueueLag::new(q.clone(), -1, 10).lag, 0);
        assert_eq!(QueueLag::new(q.clone(), 3, -1).lag, 0);
        assert_eq!(QueueLag::new(q.clone(), 3, 10).lag, 7);
        assert_eq!(QueueLag::new(q, 12, 10).lag, 0);
    }
}
