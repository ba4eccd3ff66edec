//! Message counters for GET_BROKER_RUNTIME_INFO (`mqadmin clusterList`, `brokerStatus`,
//! dashboards): totals since start, per-second samples for the 10 s / 60 s / 600 s TPS Apache
//! prints, and the totals at this and the previous midnight (UTC) for its "today" and
//! "yesterday" columns.
//!
//! A leaf: the send and pull handlers count, the stats service samples once a second, the admin
//! handler reads.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

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
    /// Per topic and per `topic@group` (VIEW_BROKER_STATS_DATA).
    pub(crate) keyed: Keyed,
    /// The ten-second period the keyed statistics were last sampled in.
    keyed_tens: AtomicI64,
    /// Request latencies (`rocketmq_rpc_latency`), recorded while metrics are exported.
    pub(crate) rpc: ferromq_remoting::rpc_metrics::RpcLatencies,
    /// Sends by message type, message sizes and dead letters, while metrics are exported.
    pub(crate) meters: crate::meters::Meters,
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
        // The keyed statistics' finest window is 10 s: look at them only when a new ten
        // seconds began (thousands of keys are not walked every second).
        let tens = now_ms.div_euclid(10_000);
        if self.keyed_tens.swap(tens, Ordering::Relaxed) != tens {
            self.keyed.sample(now_ms);
        }
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

/// The keyed statistics VIEW_BROKER_STATS_DATA serves (`mqadmin statsAll`), under Apache's
/// names: messages and bytes put per topic, messages and bytes served per `topic@group`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StatsName {
    /// `TOPIC_PUT_NUMS`: messages stored, by topic.
    TopicPutNums,
    /// `TOPIC_PUT_SIZE`: bytes stored, by topic.
    TopicPutSize,
    /// `GROUP_GET_NUMS`: messages served, by `topic@group`.
    GroupGetNums,
    /// `GROUP_GET_SIZE`: bytes served, by `topic@group`.
    GroupGetSize,
}

impl StatsName {
    const ALL: [StatsName; 4] = [
        StatsName::TopicPutNums,
        StatsName::TopicPutSize,
        StatsName::GroupGetNums,
        StatsName::GroupGetSize,
    ];

    /// Apache's name for it.
    pub(crate) fn apache(self) -> &'static str {
        match self {
            StatsName::TopicPutNums => "TOPIC_PUT_NUMS",
            StatsName::TopicPutSize => "TOPIC_PUT_SIZE",
            StatsName::GroupGetNums => "GROUP_GET_NUMS",
            StatsName::GroupGetSize => "GROUP_GET_SIZE",
        }
    }

    /// The name for Apache's.
    pub(crate) fn from_apache(name: &str) -> Option<StatsName> {
        StatsName::ALL.into_iter().find(|n| n.apache() == name)
    }
}

/// Most keys tracked per statistic: a flood of topics or groups costs bounded memory (about
/// 1 KiB a key with its snapshots, so at most ~10 MiB a statistic); later keys are not tracked.
const MAX_KEYS: usize = 10_000;
/// Snapshots: every 10 s for the minute, every 10 min for the hour, every hour for the day
/// (Apache's `StatsItem` sampling).
const WINDOWS: [(i64, usize); 3] = [(10_000, 7), (600_000, 7), (3_600_000, 25)];

/// One counter of a keyed statistic: a value (messages or bytes) and how many calls added to
/// it, with snapshots for the minute, hour and day windows.
#[derive(Debug)]
struct Item {
    value: AtomicU64,
    times: AtomicU64,
    /// Per window: `(ms, value, times)`, oldest first.
    rings: Mutex<[VecDeque<(i64, u64, u64)>; 3]>,
}

/// One window of a keyed statistic, as Apache's `BrokerStatsItem`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Window {
    /// What was added in the window.
    pub(crate) sum: u64,
    /// `sum` per second.
    pub(crate) tps: f64,
    /// `sum` per call.
    pub(crate) avgpt: f64,
}

/// Keyed statistics, one map per [`StatsName`].
#[derive(Debug, Default)]
pub(crate) struct Keyed {
    maps: [RwLock<HashMap<String, Arc<Item>>>; 4],
}

impl Keyed {
    fn map(&self, name: StatsName) -> &RwLock<HashMap<String, Arc<Item>>> {
        &self.maps[name as usize]
    }

    /// Adds `value` (one call) to `name`'s counter of `key`.
    pub(crate) fn add(&self, name: StatsName, key: &str, value: u64) {
        let map = self.map(name);
        let found = map
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned();
        let item = match found {
            Some(item) => item,
            None => {
                let mut map = map.write().unwrap_or_else(|e| e.into_inner());
                if map.len() >= MAX_KEYS && !map.contains_key(key) {
                    return;
                }
                let now = ferromq_common::now_ms();
                map.entry(key.to_owned())
                    .or_insert_with(|| {
                        Arc::new(Item {
                            value: AtomicU64::new(0),
                            times: AtomicU64::new(0),
                            rings: Mutex::new(std::array::from_fn(|_| {
                                VecDeque::from([(now, 0, 0)])
                            })),
                        })
                    })
                    .clone()
            }
        };
        item.value.fetch_add(value, Ordering::Relaxed);
        item.times.fetch_add(1, Ordering::Relaxed);
    }

    /// Takes the snapshots that are due at `now_ms` (called every second; cheap when none is).
    pub(crate) fn sample(&self, now_ms: i64) {
        for name in StatsName::ALL {
            let items: Vec<Arc<Item>> = self
                .map(name)
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .values()
                .cloned()
                .collect();
            for item in items {
                let snap = (
                    now_ms,
                    item.value.load(Ordering::Relaxed),
                    item.times.load(Ordering::Relaxed),
                );
                let mut rings = lock(&item.rings);
                for (ring, (every, keep)) in rings.iter_mut().zip(WINDOWS) {
                    if ring.back().is_none_or(|(at, _, _)| now_ms - at >= every) {
                        ring.push_back(snap);
                        while ring.len() > keep {
                            ring.pop_front();
                        }
                    }
                }
            }
        }
    }

    /// Every key of `name` with its total, sorted by key.
    pub(crate) fn totals(&self, name: StatsName) -> Vec<(String, u64)> {
        let mut all: Vec<(String, u64)> = self
            .map(name)
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(k, item)| (k.clone(), item.value.load(Ordering::Relaxed)))
            .collect();
        all.sort();
        all
    }

    /// The minute, hour and day windows of `name`'s counter of `key` up to `now_ms`; `None`
    /// when nothing was ever counted for it.
    pub(crate) fn view(&self, name: StatsName, key: &str, now_ms: i64) -> Option<[Window; 3]> {
        let item = self
            .map(name)
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned()?;
        let value = item.value.load(Ordering::Relaxed);
        let times = item.times.load(Ordering::Relaxed);
        let rings = lock(&item.rings);
        Some(std::array::from_fn(|i| {
            let Some(&(at, v, t)) = rings[i].front() else {
                return Window::default();
            };
            let sum = value.saturating_sub(v);
            let calls = times.saturating_sub(t);
            // Over at least a second: a window that has just begun has no meaningful rate
            // below that.
            let ms = (now_ms - at).max(1000);
            Window {
                sum,
                tps: sum as f64 * 1000.0 / ms as f64,
                avgpt: if calls > 0 {
                    sum as f64 / calls as f64
                } else {
                    0.0
                },
            }
        }))
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
    fn keyed_windows() {
        let k = Keyed::default();
        assert!(k.view(StatsName::TopicPutNums, "T", 0).is_none());
        k.add(StatsName::TopicPutNums, "T", 10);
        k.add(StatsName::TopicPutNums, "T", 20);
        let created = {
            let map = k.map(StatsName::TopicPutNums).read();
            let map = map.as_deref().ok().and_then(|m| m.get("T").cloned());
            map.map(|item| lock(&item.rings)[0][0].0)
                .unwrap_or_default()
        };
        let view = |at| k.view(StatsName::TopicPutNums, "T", at).unwrap_or_default();
        let [minute, hour, day] = view(created + 2000);
        assert_eq!(
            minute,
            Window {
                sum: 30,
                tps: 15.0,
                avgpt: 15.0
            }
        );
        assert_eq!((hour.sum, day.sum), (30, 30));
        // After a minute of snapshots, the minute window forgets what came before it.
        for i in 1..=7 {
            k.sample(created + i * 10_000);
        }
        k.add(StatsName::TopicPutNums, "T", 5);
        let [minute, hour, _] = view(created + 70_000);
        assert_eq!(minute.sum, 5);
        assert_eq!(hour.sum, 35);
        assert_eq!(
            StatsName::from_apache("GROUP_GET_NUMS"),
            Some(StatsName::GroupGetNums)
        );
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
