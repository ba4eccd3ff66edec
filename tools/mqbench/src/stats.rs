//! Latency and throughput bookkeeping: an interval that the reporter takes every period, and
//! the totals for the final summary.

use std::sync::Mutex;
use std::time::Duration;

/// Samples of one period (or of the whole run).
#[derive(Debug, Default, Clone)]
pub struct Window {
    /// Successful operations.
    pub ok: u64,
    /// Failed operations.
    pub failed: u64,
    /// Latencies in microseconds.
    pub latencies_us: Vec<u64>,
}

impl Window {
    fn merge(&mut self, other: &Window) {
        self.ok += other.ok;
        self.failed += other.failed;
        self.latencies_us.extend_from_slice(&other.latencies_us);
    }

    /// A summary over `elapsed`.
    pub fn summary(&self, elapsed: Duration) -> Summary {
        let mut l = self.latencies_us.clone();
        l.sort_unstable();
        let pct = |p: f64| -> f64 {
            if l.is_empty() {
                return 0.0;
            }
            let i = ((p * l.len() as f64).ceil() as usize).clamp(1, l.len()) - 1;
            l[i] as f64 / 1000.0
        };
        let secs = elapsed.as_secs_f64().max(1e-9);
        Summary {
            tps: self.ok as f64 / secs,
            ok: self.ok,
            failed: self.failed,
            max_ms: l.last().map_or(0.0, |m| *m as f64 / 1000.0),
            avg_ms: if l.is_empty() {
                0.0
            } else {
                l.iter().sum::<u64>() as f64 / l.len() as f64 / 1000.0
            },
            p50_ms: pct(0.50),
            p99_ms: pct(0.99),
            p999_ms: pct(0.999),
        }
    }
}

/// Figures of a report line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Successful operations per second.
    pub tps: f64,
    /// Successful operations.
    pub ok: u64,
    /// Failed operations.
    pub failed: u64,
    /// Largest latency, ms.
    pub max_ms: f64,
    /// Mean latency, ms.
    pub avg_ms: f64,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// 99.9th percentile, ms.
    pub p999_ms: f64,
}

/// Shared recorder: the current period and the totals.
#[derive(Debug, Default)]
pub struct Recorder {
    current: Mutex<Window>,
    total: Mutex<Window>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Recorder {
    /// Records `n` successful operations that took `latency` each.
    pub fn ok(&self, n: u64, latency: Duration) {
        let mut w = lock(&self.current);
        w.ok += n;
        w.latencies_us.push(latency.as_micros() as u64);
    }

    /// Records `n` failed operations.
    pub fn failed(&self, n: u64) {
        lock(&self.current).failed += n;
    }

    /// Ends the current period and returns it (it is also added to the totals).
    pub fn take(&self) -> Window {
        let w = std::mem::take(&mut *lock(&self.current));
        lock(&self.total).merge(&w);
        w
    }

    /// The totals so far (periods taken).
    pub fn total(&self) -> Window {
        lock(&self.total).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_rates() {
        let r = Recorder::default();
        for ms in 1..=100 {
            r.ok(1, Duration::from_millis(ms));
        }
        r.failed(2);
        let s = r.take().summary(Duration::from_secs(2));
        assert_eq!(s.ok, 100);
        assert_eq!(s.failed, 2);
        assert!((s.tps - 50.0).abs() < 1e-9);
        assert!((s.p50_ms - 50.0).abs() < 1e-9);
        assert!((s.p99_ms - 99.0).abs() < 1e-9);
        assert!((s.max_ms - 100.0).abs() < 1e-9);
        assert!((s.avg_ms - 50.5).abs() < 1e-9);
        assert_eq!(r.total().ok, 100);
        assert_eq!(r.take().ok, 0);
    }
}
