//! Per-topic pull and consume statistics of one consumer, as Apache's `ConsumerStatsManager`
//! keeps them for GET_CONSUMER_RUNNING_INFO's `statusTable`: pull RT and TPS, consume RT, OK
//! and failed TPS over the last minute, failed messages over the last hour.
//!
//! Recording is a few relaxed atomic adds on counters the caller already holds (a queue keeps
//! its topic's [`TopicStats`]); no lock and no lookup per message or pull. A sampler snapshots
//! the counters every 10 s (Apache's minute window is made of 10 s samples) and every 10 min
//! (the hour window); a rate is the difference between the counters now and the oldest snapshot
//! inside the window, divided by the time between them. Unlike Apache, whose rates stay 0 until
//! two samples exist, a consumer reports rates from its start on.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferromq_protocol::body::ConsumeStatus;

use super::push::{lock, pause};
use crate::client::now_ms;
use crate::metrics::{LatencyHistogram, LatencyRecorder};

/// Period of the minute window's samples.
pub(super) const SAMPLE_EVERY: Duration = Duration::from_secs(10);
const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 3_600_000;
/// Period of the hour window's samples.
const HOUR_SAMPLE_MS: i64 = 600_000;
/// Samples kept per window: the window's length over the period, plus one.
const KEEP: usize = 7;

/// A sum and the number of additions to it (Apache's `StatsItem` value and times).
#[derive(Debug, Default)]
struct Counter {
    sum: AtomicU64,
    times: AtomicU64,
}

impl Counter {
    fn add(&self, value: u64) {
        self.sum.fetch_add(value, Ordering::Relaxed);
        self.times.fetch_add(1, Ordering::Relaxed);
    }

    fn read(&self) -> (u64, u64) {
        (
            self.sum.load(Ordering::Relaxed),
            self.times.load(Ordering::Relaxed),
        )
    }
}

const PULL_RT: usize = 0;
const PULL_MSGS: usize = 1;
const CONSUME_RT: usize = 2;
const CONSUME_OK: usize = 3;
const CONSUME_FAILED: usize = 4;

/// The counters at one moment.
#[derive(Clone, Copy, Debug)]
struct Sample {
    at_ms: i64,
    values: [(u64, u64); 5],
}

impl Sample {
    /// Sum added per second from `base` to `self`.
    fn tps(&self, base: &Sample, which: usize) -> f64 {
        let elapsed = self.at_ms - base.at_ms;
        if elapsed <= 0 {
            return 0.0;
        }
        let sum = self.values[which].0.saturating_sub(base.values[which].0);
        sum as f64 * 1000.0 / elapsed as f64
    }

    /// Average of one addition from `base` to `self` (an RT: ms per call).
    fn average(&self, base: &Sample, which: usize) -> f64 {
        let sum = self.values[which].0.saturating_sub(base.values[which].0);
        let times = self.values[which].1.saturating_sub(base.values[which].1);
        if times == 0 {
            0.0
        } else {
            sum as f64 / times as f64
        }
    }

    /// Sum added from `base` to `self`.
    fn sum(&self, base: &Sample, which: usize) -> u64 {
        self.values[which].0.saturating_sub(base.values[which].0)
    }
}

#[derive(Debug)]
struct Samples {
    minute: VecDeque<Sample>,
    hour: VecDeque<Sample>,
}

/// The oldest sample of `ring` taken within `span_ms` before `now`, else the newest one.
fn base(ring: &VecDeque<Sample>, now: i64, span_ms: i64) -> Option<Sample> {
    ring.iter()
        .find(|s| s.at_ms >= now - span_ms)
        .or_else(|| ring.back())
        .copied()
}

/// The statistics of one topic of one consumer.
#[derive(Debug)]
pub(crate) struct TopicStats {
    counters: [Counter; 5],
    samples: Mutex<Samples>,
    /// Listener call times for [`crate::ConsumerMetrics`].
    latency: LatencyRecorder,
}

impl TopicStats {
    fn new(now: i64) -> Self {
        let stats = TopicStats {
            counters: Default::default(),
            latency: LatencyRecorder::default(),
            samples: Mutex::new(Samples {
                minute: VecDeque::with_capacity(KEEP + 1),
                hour: VecDeque::with_capacity(KEEP + 1),
            }),
        };
        let first = stats.snapshot(now);
        let mut s = lock(&stats.samples);
        s.minute.push_back(first);
        s.hour.push_back(first);
        drop(s);
        stats
    }

    /// A pull that found messages: its round trip and how many it brought (Apache records
    /// both only for pulls that found messages).
    pub(crate) fn pulled(&self, rt: Duration, messages: usize) {
        self.counters[PULL_RT].add(millis(rt));
        self.counters[PULL_MSGS].add(messages as u64);
    }

    /// A listener call: how long it took.
    pub(crate) fn consume_time(&self, rt: Duration) {
        self.counters[CONSUME_RT].add(millis(rt));
        self.latency.record(rt);
    }

    /// Messages settled by a listener call: consumed, and failed (to be redelivered).
    pub(crate) fn consumed(&self, ok: usize, failed: usize) {
        if ok > 0 {
            self.counters[CONSUME_OK].add(ok as u64);
        }
        if failed > 0 {
            self.counters[CONSUME_FAILED].add(failed as u64);
        }
    }

    fn snapshot(&self, now: i64) -> Sample {
        let mut values = [(0, 0); 5];
        for (v, c) in values.iter_mut().zip(&self.counters) {
            *v = c.read();
        }
        Sample { at_ms: now, values }
    }

    fn sample(&self, now: i64) {
        let current = self.snapshot(now);
        let mut s = lock(&self.samples);
        s.minute.push_back(current);
        while s.minute.len() > KEEP {
            s.minute.pop_front();
        }
        if s.hour
            .back()
            .is_none_or(|h| now - h.at_ms >= HOUR_SAMPLE_MS)
        {
            s.hour.push_back(current);
            while s.hour.len() > KEEP {
                s.hour.pop_front();
            }
        }
    }

    /// The rates as of `now` (Apache's `ConsumerStatsManager.consumeStatus`).
    pub(crate) fn status(&self, now: i64) -> ConsumeStatus {
        let current = self.snapshot(now);
        let (minute, hour) = {
            let s = lock(&self.samples);
            (base(&s.minute, now, MINUTE_MS), base(&s.hour, now, HOUR_MS))
        };
        let minute = minute.unwrap_or(current);
        let hour = hour.unwrap_or(current);
        let consume_rt = if current.sum(&minute, CONSUME_RT) == 0 {
            current.average(&hour, CONSUME_RT)
        } else {
            current.average(&minute, CONSUME_RT)
        };
        ConsumeStatus {
            pull_rt: current.average(&minute, PULL_RT),
            pull_tps: current.tps(&minute, PULL_MSGS),
            consume_rt,
            consume_ok_tps: current.tps(&minute, CONSUME_OK),
            consume_failed_tps: current.tps(&minute, CONSUME_FAILED),
            consume_failed_msgs: i64::try_from(current.sum(&hour, CONSUME_FAILED))
                .unwrap_or(i64::MAX),
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The statistics of every topic of one consumer. Topics are few (the subscriptions); the map
/// is only touched when a queue is assigned, on sampling and when running info is asked.
#[derive(Debug, Default)]
pub(crate) struct StatsTable {
    topics: Mutex<HashMap<String, Arc<TopicStats>>>,
}

impl StatsTable {
    /// The statistics of `topic`, created on first use.
    pub(crate) fn topic(&self, topic: &str) -> Arc<TopicStats> {
        let mut topics = lock(&self.topics);
        if let Some(t) = topics.get(topic) {
            return t.clone();
        }
        let t = Arc::new(TopicStats::new(now_ms()));
        topics.insert(topic.to_owned(), t.clone());
        t
    }

    /// `topic`'s rates now; zeros for a topic nothing was recorded for.
    pub(crate) fn status(&self, topic: &str) -> ConsumeStatus {
        let t = lock(&self.topics).get(topic).cloned();
        t.map(|t| t.status(now_ms())).unwrap_or_default()
    }

    /// Messages consumed and failed, and the listener's latencies, over every topic.
    pub(crate) fn totals(&self) -> (u64, u64, LatencyHistogram) {
        let topics: Vec<Arc<TopicStats>> = lock(&self.topics).values().cloned().collect();
        let mut latency = LatencyHistogram::default();
        let (mut ok, mut failed) = (0, 0);
        for t in topics {
            ok += t.counters[CONSUME_OK].read().0;
            failed += t.counters[CONSUME_FAILED].read().0;
            latency.merge(&t.latency.snapshot());
        }
        if latency.counts.is_empty() {
            latency = LatencyRecorder::default().snapshot();
        }
        (ok, failed, latency)
    }

    fn sample(&self, now: i64) {
        let topics: Vec<Arc<TopicStats>> = lock(&self.topics).values().cloned().collect();
        for t in topics {
            t.sample(now);
        }
    }
}

/// Samples `table` every [`SAMPLE_EVERY`] until `stop` fires.
pub(super) async fn sampler(table: Arc<StatsTable>, mut stop: tokio::sync::watch::Receiver<bool>) {
    while pause(&mut stop, SAMPLE_EVERY).await {
        table.sample(now_ms());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_over_the_minute_and_failures_over_the_hour() {
        let t = TopicStats::new(0);
        assert_eq!(t.status(0), ConsumeStatus::default());
        t.pulled(Duration::from_millis(4), 10);
        t.pulled(Duration::from_millis(6), 10);
        t.consume_time(Duration::from_millis(3));
        t.consumed(18, 2);
        let s = t.status(10_000);
        assert_eq!(s.pull_rt, 5.0);
        assert_eq!(s.pull_tps, 2.0);
        assert_eq!(s.consume_rt, 3.0);
        assert_eq!(s.consume_ok_tps, 1.8);
        assert_eq!(s.consume_failed_tps, 0.2);
        assert_eq!(s.consume_failed_msgs, 2);

        // Sampled every 10 s with nothing new: after a minute the rates are 0, the consume RT
        // falls back to the hour, and the hour still counts the failures.
        for at in (10_000..=70_000).step_by(10_000) {
            t.sample(at);
        }
        let s = t.status(75_000);
        assert_eq!((s.pull_tps, s.consume_ok_tps, s.pull_rt), (0.0, 0.0, 0.0));
        assert_eq!(s.consume_rt, 3.0);
        assert_eq!(s.consume_failed_msgs, 2);

        // New work is measured against the oldest sample inside the minute (at 20 s).
        t.consumed(40, 0);
        let s = t.status(80_000);
        assert_eq!(s.consume_ok_tps, 40.0 * 1000.0 / 60_000.0);

        // An hour of samples later the failures are forgotten.
        for at in (80_000..=4_000_000).step_by(10_000) {
            t.sample(at);
        }
        assert_eq!(t.status(4_000_000).consume_failed_msgs, 0);
    }

    #[test]
    fn the_table_creates_topics_once() {
        let table = StatsTable::default();
        let a = table.topic("A");
        a.consumed(1, 0);
        assert!(Arc::ptr_eq(&a, &table.topic("A")));
        assert_eq!(table.status("B"), ConsumeStatus::default());
        table.sample(now_ms());
        assert_eq!(lock(&a.samples).minute.len(), 2);
    }
}
