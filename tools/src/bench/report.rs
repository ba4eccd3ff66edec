//! What `mqbench` prints: a line every interval, a live progress line on a terminal, and a final
//! summary, as text or as JSON lines (`--json`).

use std::io::{IsTerminal, Write};
use std::time::Duration;

use serde::Serialize;

use super::stats::{Snapshot, Stats, Summary};

/// Where and how the figures are printed.
#[derive(Debug)]
pub struct Reporter {
    /// The benchmark's name in every line (`producer`, `consumer`, `transaction`).
    pub name: &'static str,
    /// What a latency measures (`send RT`, `born-to-consumed`).
    pub latency: &'static str,
    /// JSON lines instead of text.
    pub json: bool,
    /// Rewrite a progress line every second (only when stdout is a terminal and not JSON).
    pub live: bool,
}

#[derive(Serialize)]
struct JsonLine<'a> {
    bench: &'a str,
    kind: &'a str,
    #[serde(flatten)]
    summary: &'a Summary,
}

impl Reporter {
    /// A reporter for `name`; live progress when stdout is a terminal.
    pub fn new(name: &'static str, latency: &'static str, json: bool) -> Reporter {
        Reporter {
            name,
            latency,
            json,
            live: !json && std::io::stdout().is_terminal(),
        }
    }

    fn text(&self, label: &str, s: &Summary) -> String {
        format!(
            "{} {label}: TPS {:.0}, ok {}, failures {}, {} avg {:.3} ms, p50 {:.3} ms, p99 {:.3} ms, p999 {:.3} ms, max {:.3} ms",
            self.name, s.tps, s.ok, s.failures, self.latency, s.avg_ms, s.p50_ms, s.p99_ms, s.p999_ms, s.max_ms
        )
    }

    fn emit(&self, kind: &str, label: &str, s: &Summary) {
        let line = if self.json {
            serde_json::to_string(&JsonLine {
                bench: self.name,
                kind,
                summary: s,
            })
            .unwrap_or_default()
        } else {
            self.text(label, s)
        };
        let mut out = std::io::stdout().lock();
        if self.live {
            let _ = write!(out, "\r\x1b[2K");
        }
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }

    /// Prints the figures of one interval.
    pub fn interval(&self, from: &Snapshot, to: &Snapshot, elapsed: Duration) {
        let label = format!("[{:>4}s]", elapsed.as_secs());
        self.emit("interval", &label, &Summary::between(from, to));
    }

    /// Rewrites the live progress line (terminal only).
    pub fn progress(&self, stats: &Stats, from: &Snapshot, elapsed: Duration, total: Duration) {
        if !self.live {
            return;
        }
        let now = stats.snapshot(false);
        let s = Summary::between(from, &now);
        let mut out = std::io::stdout().lock();
        let _ = write!(
            out,
            "\r\x1b[2K{} {:>4}/{}s: TPS {:.0}, ok {}, failures {}",
            self.name,
            elapsed.as_secs(),
            total.as_secs(),
            s.tps,
            now.ok,
            now.failed
        );
        let _ = out.flush();
    }

    /// Prints the final summary of the whole run and returns it.
    pub fn summary(&self, start: &Snapshot, end: &Snapshot) -> Summary {
        let s = Summary::between(start, end);
        self.emit("summary", "summary", &s);
        s
    }
}
