//! Counters and latency histograms shared by the benchmark's worker tasks, and the summaries
//! computed from two snapshots of them.
//!
//! Recording is lock-free (relaxed atomics), so thousands of concurrent senders can record
//! without contending on anything but cache lines. Latencies go into a log-linear histogram of
//! microseconds: exact below 1,024 us, then 64 sub-buckets per power of two (at most 1.6 %
//! relative error), up to about 73 minutes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

/// Values below this are their own bucket.
const LINEAR: u64 = 1024;
/// Sub-buckets per power of two above [`LINEAR`].
const SUB_BITS: u32 = 6;
const SUB: u64 = 1 << SUB_BITS;
/// Powers of two covered above [`LINEAR`] (2^10 .. 2^42 us).
const POWERS: u64 = 32;
const BUCKETS: usize = (LINEAR + POWERS * SUB) as usize;

fn bucket_of(us: u64) -> usize {
    if us < LINEAR {
        return us as usize;
    }
    let power = u64::from(63 - us.leading_zeros()); // >= 10
    let sub = (us >> (power - u64::from(SUB_BITS))) & (SUB - 1);
    let index = LINEAR + (power - 10) * SUB + sub;
    (index as usize).min(BUCKETS - 1)
}

/// The largest value that falls in bucket `index` (what quantiles report).
fn bucket_upper(index: usize) -> u64 {
    let index = index as u64;
    if index < LINEAR {
        return index;
    }
    let power = (index - LINEAR) / SUB + 10;
    let sub = (index - LINEAR) % SUB;
    let width = 1u64 << (power - u64::from(SUB_BITS));
    (1u64 << power) + (sub + 1) * width - 1
}

/// A concurrent latency histogram in microseconds.
#[derive(Debug)]
pub struct Histogram {
    buckets: Box<[AtomicU64]>,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl Histogram {
    /// Counts one latency.
    pub fn record(&self, latency: Duration) {
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.buckets[bucket_of(us)].fetch_add(1, Ordering::Relaxed);
    }

    /// The counts now.
    pub fn snapshot(&self) -> Counts {
        Counts(
            self.buckets
                .iter()
                .map(|b| b.load(Ordering::Relaxed))
                .collect(),
        )
    }
}

/// Bucket counts of a [`Histogram`] at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts(Vec<u64>);

impl Counts {
    /// How many latencies were recorded.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// The latencies recorded after `earlier` was taken.
    pub fn since(&self, earlier: &Counts) -> Counts {
        Counts(
            self.0
                .iter()
                .enumerate()
                .map(|(i, n)| n.saturating_sub(earlier.0.get(i).copied().unwrap_or(0)))
                .collect(),
        )
    }

    /// The latency at quantile `q` (0..=1), as its bucket's upper bound; zero when empty.
    pub fn quantile(&self, q: f64) -> Duration {
        let total = self.total();
        if total == 0 {
            return Duration::ZERO;
        }
        let want = ((total as f64 * q.clamp(0.0, 1.0)).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, n) in self.0.iter().enumerate() {
            seen += n;
            if seen >= want {
                return Duration::from_micros(bucket_upper(i));
            }
        }
        Duration::from_micros(bucket_upper(BUCKETS - 1))
    }
}

/// What every worker records: successes, failures, latencies.
#[derive(Debug, Default)]
pub struct Stats {
    ok: AtomicU64,
    failed: AtomicU64,
    latency_sum_us: AtomicU64,
    max_us: AtomicU64,
    interval_max_us: AtomicU64,
    histogram: Histogram,
}

/// The counters of [`Stats`] at one moment.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// When it was taken.
    pub at: Instant,
    /// Successful operations (messages: a batch of n counts n).
    pub ok: u64,
    /// Failed operations.
    pub failed: u64,
    latency_sum_us: u64,
    latency_count: u64,
    max: Duration,
    histogram: Counts,
}

impl Stats {
    /// Records `n` messages handled by one operation that took `latency`.
    pub fn record(&self, ok: bool, n: u64, latency: Duration) {
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        if ok {
            self.ok.fetch_add(n, Ordering::Relaxed);
        } else {
            self.failed.fetch_add(n, Ordering::Relaxed);
        }
        self.latency_sum_us.fetch_add(us, Ordering::Relaxed);
        self.max_us.fetch_max(us, Ordering::Relaxed);
        self.interval_max_us.fetch_max(us, Ordering::Relaxed);
        self.histogram.record(latency);
    }

    /// Records a latency only (a consumer's born-to-consumed time), counting one success.
    pub fn record_latency(&self, latency: Duration) {
        self.record(true, 1, latency);
    }

    /// The counters now; `reset_interval_max` starts a new interval for the maximum.
    pub fn snapshot(&self, reset_interval_max: bool) -> Snapshot {
        let interval_max = if reset_interval_max {
            self.interval_max_us.swap(0, Ordering::Relaxed)
        } else {
            self.max_us.load(Ordering::Relaxed)
        };
        let histogram = self.histogram.snapshot();
        Snapshot {
            at: Instant::now(),
            ok: self.ok.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            latency_sum_us: self.latency_sum_us.load(Ordering::Relaxed),
            latency_count: histogram.total(),
            max: Duration::from_micros(interval_max),
            histogram,
        }
    }

    /// Successful operations so far.
    pub fn ok(&self) -> u64 {
        self.ok.load(Ordering::Relaxed)
    }

    /// The largest latency since the start.
    pub fn max(&self) -> Duration {
        Duration::from_micros(self.max_us.load(Ordering::Relaxed))
    }
}

/// Figures for the period between two snapshots.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    /// Seconds covered.
    pub seconds: f64,
    /// Successful messages.
    pub ok: u64,
    /// Failed messages.
    pub failures: u64,
    /// Successful messages per second.
    pub tps: f64,
    /// Average latency in ms.
    pub avg_ms: f64,
    /// Median latency in ms.
    pub p50_ms: f64,
    /// 99th percentile latency in ms.
    pub p99_ms: f64,
    /// 99.9th percentile latency in ms.
    pub p999_ms: f64,
    /// Largest latency in ms.
    pub max_ms: f64,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl Summary {
    /// The figures from `earlier` to `later`, with `max` the largest latency in that period.
    pub fn between(earlier: &Snapshot, later: &Snapshot) -> Summary {
        let seconds = later
            .at
            .saturating_duration_since(earlier.at)
            .as_secs_f64()
            .max(1e-9);
        let ok = later.ok.saturating_sub(earlier.ok);
        let count = later.latency_count.saturating_sub(earlier.latency_count);
        let sum = later.latency_sum_us.saturating_sub(earlier.latency_sum_us);
        let h = later.histogram.since(&earlier.histogram);
        Summary {
            seconds,
            ok,
            failures: later.failed.saturating_sub(earlier.failed),
            tps: ok as f64 / seconds,
            avg_ms: if count == 0 {
                0.0
            } else {
                sum as f64 / count as f64 / 1000.0
            },
            p50_ms: ms(h.quantile(0.5)),
            p99_ms: ms(h.quantile(0.99)),
            p999_ms: ms(h.quantile(0.999)),
            max_ms: ms(later.max),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_exact_below_1024_us_and_within_2_percent_above() {
        for us in [0, 1, 500, 1023] {
            assert_eq!(bucket_upper(bucket_of(us)), us);
        }
        for us in [1024_u64, 1500, 9_999, 123_456, 7_654_321, 3_000_000_000] {
            let upper = bucket_upper(bucket_of(us));
            assert!(upper >= us, "{us} -> {upper}");
            assert!(
                (upper - us) as f64 / us as f64 <= 1.0 / 64.0,
                "{us} -> {upper}"
            );
        }
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn quantiles_of_a_known_distribution() {
        let h = Histogram::default();
        for us in 1..=1000 {
            h.record(Duration::from_micros(us));
        }
        let c = h.snapshot();
        assert_eq!(c.total(), 1000);
        assert_eq!(c.quantile(0.5), Duration::from_micros(500));
        assert_eq!(c.quantile(0.99), Duration::from_micros(990));
        assert_eq!(c.quantile(1.0), Duration::from_micros(1000));
        assert_eq!(Counts::default().quantile(0.5), Duration::ZERO);
    }

    #[test]
    fn a_summary_covers_only_its_interval() {
        let s = Stats::default();
        for _ in 0..10 {
            s.record(true, 1, Duration::from_millis(50));
        }
        let first = s.snapshot(true);
        s.record(true, 4, Duration::from_millis(2));
        s.record(false, 1, Duration::from_millis(3));
        let second = s.snapshot(true);
        let sum = Summary::between(&first, &second);
        assert_eq!((sum.ok, sum.failures), (4, 1));
        assert!((sum.avg_ms - 2.5).abs() < 1e-9, "{sum:?}");
        assert!((sum.max_ms - 3.0).abs() < 1e-9, "interval max: {sum:?}");
        assert!(sum.p99_ms < 3.1, "{sum:?}");
        assert!((ms(s.max()) - 50.0).abs() < 1e-9);
    }
}
