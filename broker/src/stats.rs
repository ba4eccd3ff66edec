//! Message counters for GET_BROKER_RUNTIME_INFO (`mqadmin clusterList`, `brokerStatus`,
//! dashboards): totals since start, per-second samples for the 10 s / 60 s / 600 s TPS Apache
//! prints, and the totals at this and the previous midnight (UTC) for its "today" and
//! "yesterday" columns.
//!
//! A leaf: the send and pull handlers count, the stats service samples once a second, the admin
//! handler reads.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use ferromq_common::lock;

/// Samples kept: one a second for the longest window (600 s), plus its start.
const MAX_SAMPLES: usize = 601;
const DAY_MS: i64 = 86_400_000;

/// Messages put and served since start, and their history.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    /// Messages stored (sends, batches count each message).
    pub(crate) put: AtomicU64,
    /// Messages served to pulls.
    pub(crate) got: AtomicU64,
    /// Pulls answered with messages.
    pub(crate) found: AtomicU64,
    /// Pulls answered without (nothing new, filtered out, bad offset).
    pub(crate) missed: AtomicU64,
    history: Mutex<History>,
}

/// The counters at one moment: put, got, found, missed.
type Totals = [u64; 4];

#[derive(Debug, Default)]
struct History {
    /// `(ms since the epoch, totals)`, oldest first.
    samples: VecDeque<(i64, Totals)>,
    /// The UTC day of the last sample (`None` before the first).
    day: Option<i64>,
    /// Totals at the start of today / yesterday (0 before the broker ran then).
    today_morning: Totals,
    yesterday_morning: Totals,
}

/// The put and got totals at the last two midnights and now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DayTotals {
    /// `(put, got)` at yesterday's midnight.
    pub(crate) yesterday_morning: (u64, u64),
    /// `(put, got)` at today's midnight.
    pub(crate) today_morning: (u64, u64),
    /// `(put, got)` now.
    pub(crate) now: (u64, u64),
}

/// Rates over one window, per second.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Rates {
    /// Messages stored.
    pub(crate) put: f64,
    /// Messages served.
    pub(crate) got: f64,
    /// Pulls answered with messages.
    pub(crate) found: f64,
    /// Pulls answered without.
    pub(crate) missed: f64,
}

impl Stats {
    /// Counters at zero, sampled at `now_ms` (the broker's start), so rates are right before
    /// the sampler's first tick.
    pub(crate) fn new(now_ms: i64) -> Stats {
        let stats = Stats::default();
        stats.sample(now_ms);
        stats
    }

    fn totals(&self) -> Totals {
        [&self.put, &self.got, &self.found, &self.missed].map(|c| c.load(Ordering::Relaxed))
    }

    /// Records the totals at `now_ms` (once a second); rolls the day marks at midnight.
    pub(crate) fn sample(&self, now_ms: i64) {
        let totals = self.totals();
        let mut h = lock(&self.history);
        let day = now_ms.div_euclid(DAY_MS);
        match h.day {
            Some(last) if last + 1 == day => {
                h.yesterday_morning = h.today_morning;
                h.today_morning = totals;
            }
            Some(last) if last != day => {
                // More than a day without samples (a suspended host): both marks are unknown
                // beyond "at most now".
                h.yesterday_morning = totals;
                h.today_morning = totals;
            }
            _ => {}
        }
        h.day = Some(day);
        h.samples.push_back((now_ms, totals));
        while h.samples.len() > MAX_SAMPLES {
            h.samples.pop_front();
        }
    }

    /// Rates over the last `window_s` seconds (over what was sampled, when the broker has run
    /// for less).
    pub(crate) fn rates(&self, window_s: i64, now_ms: i64) -> Rates {
        let now = self.totals();
        let h = lock(&self.history);
        let since = now_ms - window_s * 1000;
        let Some(&(at, then)) = h
            .samples
            .iter()
            .find(|(at, _)| *at >= since)
            .or_else(|| h.samples.back())
        else {
            return Rates::default();
        };
        let secs = (now_ms - at) as f64 / 1000.0;
        if secs <= 0.0 {
            return Rates::default();
        }
        let rate = |i: usize| now[i].saturating_sub(then[i]) as f64 / secs;
        Rates {
            put: rate(0),
            got: rate(1),
            found: rate(2),
            missed: rate(3),
        }
    }

    /// The day marks and the current totals.
    pub(crate) fn days(&self) -> DayTotals {
        let now = self.totals();
        let h = lock(&self.history);
        let pair = |t: Totals| (t[0], t[1]);
        DayTotals {
            yesterday_morning: pair(h.yesterday_morning),
            today_morning: pair(h.today_morning),
            now: pair(now),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_over_a_window() {
        let s = Stats::default();
        s.sample(1_000_000);
        s.put.fetch_add(100, Ordering::Relaxed);
        s.sample(1_010_000);
        s.put.fetch_add(600, Ordering::Relaxed);
        s.got.fetch_add(60, Ordering::Relaxed);
        // 10 s window: from the sample at 1_010_000.
        let r = s.rates(10, 1_020_000);
        assert_eq!((r.put, r.got), (60.0, 6.0));
        // 60 s window: only 20 s sampled, from the first sample.
        let r = s.rates(60, 1_020_000);
        assert_eq!((r.put, r.got), (35.0, 3.0));
        assert_eq!(Stats::default().rates(10, 5), Rates::default());
    }

    #[test]
    fn day_marks_roll_at_midnight() {
        let s = Stats::default();
        let day = 20_000 * DAY_MS;
        s.sample(day + 1000);
        s.put.fetch_add(5, Ordering::Relaxed);
        s.sample(day + DAY_MS + 10);
        s.put.fetch_add(7, Ordering::Relaxed);
        s.got.fetch_add(1, Ordering::Relaxed);
        let d = s.days();
        assert_eq!(d.yesterday_morning, (0, 0), "started yesterday");
        assert_eq!(d.today_morning, (5, 0));
        assert_eq!(d.now, (12, 1));
        s.sample(day + 2 * DAY_MS + 10);
        assert_eq!(s.days().yesterday_morning, (5, 0));
        assert_eq!(s.days().today_morning, (12, 1));
        s.sample(day + 9 * DAY_MS);
        assert_eq!(
            s.days().yesterday_morning,
            (12, 1),
            "a gap: both marks are now"
        );
    }
}
