//! `rocketmq_rpc_latency`: how long a server took to answer each request, as Apache 5.x's
//! remoting layer records it (`RemotingMetricsManager`): a histogram in milliseconds with
//! buckets 1, 3, 5, 7, 10, 100, 1000, 2000 and 3000, per request code, response code, whether
//! the request was held by long polling, and the result (`success`, or `oneway` for requests
//! that get no answer).
//!
//! Recording costs a read lock and a few relaxed atomic adds, and nothing at all while the
//! Prometheus exporter is off. The series are bounded: request codes come from clients, so
//! past [`MAX_SERIES`] label sets new ones are counted under `request_code="_other_"`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use ferromq_protocol::{RequestCode, ResponseCode};

/// Apache's bucket bounds, in milliseconds.
pub const BUCKETS_MS: [u64; 9] = [1, 3, 5, 7, 10, 100, 1000, 2000, 3000];

/// Label sets kept apart; the rest share one `_other_` series per response code.
pub const MAX_SERIES: usize = 1000;

/// The request code standing for the label sets beyond [`MAX_SERIES`].
const OTHER_CODE: i32 = i32::MIN;

tokio::task_local! {
    /// Set by a handler that held its request (a long-polling pull) while it is answered.
    static LONG_POLLED: std::cell::Cell<bool>;
}

/// Marks the request being handled as held by long polling (`is_long_polling="true"`).
pub fn mark_long_polled() {
    let _ = LONG_POLLED.try_with(|held| held.set(true));
}

/// Runs `handle` (one request's handling) and tells whether it called [`mark_long_polled`].
pub async fn watch_long_polling<F: std::future::Future>(handle: F) -> (F::Output, bool) {
    LONG_POLLED
        .scope(std::cell::Cell::new(false), async move {
            let out = handle.await;
            (out, LONG_POLLED.with(std::cell::Cell::get))
        })
        .await
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Key {
    request: i32,
    response: i32,
    long_polling: bool,
    oneway: bool,
}

/// One histogram: cumulative counts are computed when rendered.
#[derive(Debug, Default)]
struct Histogram {
    /// Per bucket (the last one is `+Inf`), not cumulative.
    buckets: [AtomicU64; BUCKETS_MS.len() + 1],
    sum_ms: AtomicU64,
}

impl Histogram {
    fn record(&self, ms: u64) {
        let i = BUCKETS_MS
            .iter()
            .position(|&bound| ms <= bound)
            .unwrap_or(BUCKETS_MS.len());
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.sum_ms.fetch_add(ms, Ordering::Relaxed);
    }
}

/// A server's request latencies.
#[derive(Debug, Default)]
pub struct RpcLatencies {
    enabled: AtomicBool,
    series: RwLock<HashMap<Key, Arc<Histogram>>>,
}

impl RpcLatencies {
    /// Starts recording (the Prometheus exporter is on).
    pub fn enable(&self) {
        self.enabled.store(true, Ordering::Relaxed);
    }

    /// Whether requests are being recorded.
    pub fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// Counts one answered request.
    pub fn record(
        &self,
        request: i32,
        response: i32,
        long_polling: bool,
        oneway: bool,
        elapsed: Duration,
    ) {
        if !self.is_enabled() {
            return;
        }
        let ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        let key = Key {
            request,
            response,
            long_polling,
            oneway,
        };
        let found = self
            .series
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .cloned();
        let histogram = match found {
            Some(h) => h,
            None => {
                let mut series = self.series.write().unwrap_or_else(|e| e.into_inner());
                let key = if series.len() >= MAX_SERIES && !series.contains_key(&key) {
                    Key {
                        request: OTHER_CODE,
                        ..key
                    }
                } else {
                    key
                };
                series.entry(key).or_default().clone()
            }
        };
        histogram.record(ms);
    }

    /// The histograms in Prometheus text, each series labelled with `node` plus its own labels.
    pub fn render(&self, out: &mut String, node: &str) {
        let name = "rocketmq_rpc_latency";
        let _ = writeln!(
            out,
            "# HELP {name} Milliseconds from a request's arrival to its answer."
        );
        let _ = writeln!(out, "# TYPE {name} histogram");
        let mut series: Vec<(Key, Arc<Histogram>)> = self
            .series
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(k, h)| (*k, h.clone()))
            .collect();
        series.sort_by_key(|(k, _)| *k);
        for (key, h) in series {
            let labels = format!(
                r#"{node},protocol_type="remoting",request_code="{}",response_code="{}",is_long_polling="{}",result="{}""#,
                request_desc(key.request),
                response_desc(key.response),
                key.long_polling,
                if key.oneway { "oneway" } else { "success" }
            );
            let mut cumulative = 0u64;
            for (i, count) in h.buckets.iter().enumerate() {
                cumulative += count.load(Ordering::Relaxed);
                let le = BUCKETS_MS
                    .get(i)
                    .map_or_else(|| "+Inf".to_owned(), |b| format!("{b}"));
                let _ = writeln!(out, r#"{name}_bucket{{{labels},le="{le}"}} {cumulative}"#);
            }
            let sum = h.sum_ms.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_sum{{{labels}}} {sum}");
            let _ = writeln!(out, "{name}_count{{{labels}}} {cumulative}");
        }
    }
}

/// Apache's label for a request code: the constant's name in lower case, else the number.
fn request_desc(code: i32) -> String {
    if code == OTHER_CODE {
        return "_other_".to_owned();
    }
    RequestCode(code)
        .name()
        .map_or_else(|| code.to_string(), str::to_ascii_lowercase)
}

/// Apache's label for a response code: the constant's name in lower case, else the number.
fn response_desc(code: i32) -> String {
    ResponseCode(code)
        .name()
        .map_or_else(|| code.to_string(), str::to_ascii_lowercase)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn nothing_is_recorded_until_enabled() {
        let rpc = RpcLatencies::default();
        rpc.record(10, 0, false, false, ms(2));
        let mut out = String::new();
        rpc.render(&mut out, "n");
        assert!(!out.contains("_bucket"), "{out}");
    }

    #[test]
    fn buckets_are_cumulative_with_apache_bounds() {
        let rpc = RpcLatencies::default();
        rpc.enable();
        for n in [0, 2, 3, 8, 150, 5000] {
            rpc.record(310, 0, false, false, ms(n));
        }
        rpc.record(11, 19, true, false, ms(1000));
        let mut out = String::new();
        rpc.render(&mut out, r#"cluster="c""#);
        let send = r#"cluster="c",protocol_type="remoting",request_code="send_message_v2",response_code="success",is_long_polling="false",result="success""#;
        for (le, n) in [
            ("1", 1),
            ("3", 3),
            ("7", 3),
            ("10", 4),
            ("100", 4),
            ("1000", 5),
            ("3000", 5),
            ("+Inf", 6),
        ] {
            let line = format!(r#"rocketmq_rpc_latency_bucket{{{send},le="{le}"}} {n}"#);
            assert!(out.contains(&line), "{line} in\n{out}");
        }
        assert!(out.contains(&format!("rocketmq_rpc_latency_sum{{{send}}} 5163")));
        assert!(out.contains(&format!("rocketmq_rpc_latency_count{{{send}}} 6")));
        assert!(out.contains(
            r#"request_code="pull_message",response_code="pull_not_found",is_long_polling="true""#
        ));
    }

    #[test]
    fn label_sets_beyond_the_cap_share_one_series() {
        let rpc = RpcLatencies::default();
        rpc.enable();
        for code in 0..(MAX_SERIES as i32 + 50) {
            rpc.record(100_000 + code, 3, false, true, ms(1));
        }
        let mut out = String::new();
        rpc.render(&mut out, "n");
        let counts = out.matches("rocketmq_rpc_latency_count").count();
        assert_eq!(counts, MAX_SERIES + 1);
        assert!(out.contains(
            r#"request_code="_other_",response_code="request_code_not_supported",is_long_polling="false",result="oneway"} 50"#
        ));
    }

    #[tokio::test]
    async fn a_handler_marks_its_request_long_polled() {
        let (out, held) = watch_long_polling(async {
            mark_long_polled();
            7
        })
        .await;
        assert_eq!((out, held), (7, true));
        let (_, held) = watch_long_polling(async {}).await;
        assert!(!held);
        mark_long_polled(); // outside any request: ignored
    }
}
