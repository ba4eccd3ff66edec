//! Rate limiting of repeated warnings and errors: at most one line per window from each place
//! in the code (a `warn!` or `error!` call site). The next line that passes is preceded by one
//! saying how many were dropped. Info and more verbose lines are never limited.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tracing::callsite::Identifier;
use tracing::{Event, Level, Metadata};
use tracing_subscriber::layer::{Context, Filter};

/// The per-call-site limit of warnings and errors.
#[derive(Debug)]
pub struct RateLimit {
    window: Duration,
    sites: Mutex<HashMap<Identifier, Site>>,
}

#[derive(Debug)]
struct Site {
    last: Instant,
    dropped: u64,
}

/// Call sites tracked at most; past it, new sites are not limited (and not remembered).
const MAX_SITES: usize = 4096;

impl RateLimit {
    /// One line per second per call site.
    pub fn per_second() -> Self {
        Self::new(Duration::from_secs(1))
    }

    /// One line per `window` per call site.
    pub fn new(window: Duration) -> Self {
        RateLimit {
            window,
            sites: Mutex::new(HashMap::new()),
        }
    }

    /// Whether a line from `meta`'s call site at `now` is written; `Some(n)` as the second
    /// value when it is and `n` lines were dropped before it.
    pub fn admit(&self, meta: &Metadata<'_>, now: Instant) -> (bool, Option<u64>) {
        if *meta.level() > Level::WARN || meta.target() == module_path!() {
            return (true, None);
        }
        let mut sites = self.sites.lock().unwrap_or_else(|e| e.into_inner());
        let id = meta.callsite();
        match sites.get_mut(&id) {
            Some(site) if now.duration_since(site.last) < self.window => {
                site.dropped += 1;
                (false, None)
            }
            Some(site) => {
                site.last = now;
                let dropped = std::mem::take(&mut site.dropped);
                (true, (dropped > 0).then_some(dropped))
            }
            None => {
                if sites.len() < MAX_SITES {
                    sites.insert(
                        id,
                        Site {
                            last: now,
                            dropped: 0,
                        },
                    );
                }
                (true, None)
            }
        }
    }
}

impl<S> Filter<S> for RateLimit {
    fn enabled(&self, _meta: &Metadata<'_>, _cx: &Context<'_, S>) -> bool {
        true
    }

    fn event_enabled(&self, event: &Event<'_>, _cx: &Context<'_, S>) -> bool {
        let meta = event.metadata();
        let (admitted, dropped) = self.admit(meta, Instant::now());
        if let Some(dropped) = dropped {
            // Written by the writer of this very line, just before it (see `take_note`).
            let site = format!(
                "{}:{}",
                meta.file().unwrap_or("?"),
                meta.line().unwrap_or(0)
            );
            NOTE.with(|note| note.replace(Some(Note { dropped, site })));
        }
        admitted
    }
}

/// How many lines of a call site were dropped before the line being written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// Lines dropped.
    pub dropped: u64,
    /// `file:line` of the call site.
    pub site: String,
}

thread_local! {
    static NOTE: std::cell::RefCell<Option<Note>> = const { std::cell::RefCell::new(None) };
}

/// The note left by the filter for the line this thread is about to write, if any.
pub fn take_note() -> Option<Note> {
    NOTE.with(std::cell::RefCell::take)
}

impl Note {
    /// The note as a log line of its own, in `json` or text layout, stamped `now`.
    pub fn render(&self, json: bool, now: std::time::SystemTime) -> String {
        let stamp = crate::daily::rfc3339(now);
        let message = "similar lines dropped by the log rate limit";
        if json {
            let site = self.site.replace('\\', "\\\\").replace('"', "\\\"");
            format!(
                r#"{{"timestamp":"{stamp}","level":"WARN","fields":{{"message":"{message}","dropped":{},"site":"{site}"}},"target":"ferromq_logging"}}"#,
                self.dropped
            ) + "\n"
        } else {
            format!(
                "{stamp}  WARN ferromq_logging: {message} dropped={} site={}\n",
                self.dropped, self.site
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::Arc;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::Layer;

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn repeated_warnings_are_limited_and_counted() {
        let sink = Sink::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::registry().with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_writer(move || {
                    let mut w = writer.clone();
                    if let Some(note) = take_note() {
                        let line = note.render(true, std::time::SystemTime::now());
                        let _ = w.write_all(line.as_bytes());
                    }
                    w
                })
                .with_filter(RateLimit::new(Duration::from_millis(300))),
        );
        tracing::subscriber::with_default(subscriber, || {
            // Two bursts, the second after the window: one line each, then the count.
            for burst in 0..2 {
                if burst > 0 {
                    std::thread::sleep(Duration::from_millis(350));
                }
                for i in 0..50 {
                    tracing::warn!(i, "disk nearly full");
                    tracing::info!(i, "not limited");
                }
            }
        });
        let text = String::from_utf8(sink.0.lock().unwrap_or_else(|e| e.into_inner()).clone())
            .unwrap_or_default();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_default())
            .collect();
        let messages = |m: &str| {
            lines
                .iter()
                .filter(|l| l["fields"]["message"] == m)
                .collect::<Vec<_>>()
        };
        assert_eq!(messages("not limited").len(), 100);
        assert_eq!(messages("disk nearly full").len(), 2, "{text}");
        let dropped = messages("similar lines dropped by the log rate limit");
        assert_eq!(dropped.len(), 1, "{text}");
        assert_eq!(dropped[0]["fields"]["dropped"], 49);
        assert_eq!(dropped[0]["level"], "WARN");
    }
}
