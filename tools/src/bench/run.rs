//! The timing loop shared by every benchmark: workers run until a stop flag is raised, while a
//! reporter prints progress every second and figures every interval.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Reporter, Stats, Summary};

/// Raised when the benchmark's time is up; workers check it between operations.
#[derive(Debug, Clone, Default)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    /// Whether workers should stop.
    pub fn is_raised(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    fn raise(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// How long and how often.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Measured time.
    pub duration: Duration,
    /// Between interval lines (10 s).
    pub interval: Duration,
    /// How long workers may take to finish what is in flight after the stop.
    pub drain: Duration,
    /// End the measured window early once this many operations succeeded (`duration` is then
    /// a time limit).
    pub messages: Option<u64>,
}

/// How often the loop looks for [`Timing::messages`]: the measured window ends at most this
/// late after the count is reached.
const COUNT_POLL: Duration = Duration::from_millis(10);

/// Runs `workers` (one future that completes when all of them saw the stop flag) for
/// `timing.duration`, reporting as it goes; returns the summary of the whole run.
pub async fn run<F>(
    stats: Arc<Stats>,
    reporter: &Reporter,
    timing: Timing,
    stop: StopFlag,
    workers: F,
) -> Summary
where
    F: Future<Output = ()> + Send + 'static,
{
    let start = stats.snapshot(true);
    let began = Instant::now();
    let workers = tokio::spawn(workers);
    let mut last = start.clone();
    let mut next_interval = began + timing.interval;
    let end = began + timing.duration;
    let mut next_progress = began + Duration::from_secs(1);
    loop {
        let now = Instant::now();
        if now >= end || timing.messages.is_some_and(|n| stats.ok() >= start.ok + n) {
            break;
        }
        let mut tick = next_progress.min(next_interval).min(end);
        if timing.messages.is_some() {
            tick = tick.min(now + COUNT_POLL);
        }
        tokio::time::sleep_until(tick.into()).await;
        let now = Instant::now();
        if now < next_progress && now < next_interval {
            continue;
        }
        next_progress = now + Duration::from_secs(1);
        if now >= next_interval && now < end {
            let snap = stats.snapshot(true);
            reporter.interval(&last, &snap, now - began);
            last = snap;
            next_interval += timing.interval;
        } else {
            reporter.progress(&stats, &last, now - began, timing.duration);
        }
    }
    // The measured window ends here: what completes while draining is not counted.
    let finish = stats.snapshot(false);
    stop.raise();
    if tokio::time::timeout(timing.drain, workers).await.is_err() {
        eprintln!(
            "mqbench: workers still busy {:?} after the stop",
            timing.drain
        );
    }
    reporter.summary(&start, &finish)
}
