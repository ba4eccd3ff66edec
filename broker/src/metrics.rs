//! The broker's metrics in Prometheus text format (`metricsExporterType=PROM`), under Apache
//! 5.x's names and labels (`BrokerMetricsConstant`): every series carries `cluster`,
//! `node_type="broker"` and `node_id` (the broker name). Counters come from the broker's own
//! statistics ([`crate::stats`]), gauges are read when scraped.
//!
//! Series per topic and per topic and group are bounded by `metricsMaxSeries`: beyond it, the
//! rest are summed under `topic="_other_"` (and `consumer_group="_other_"`).

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use ferromq_protocol::names;
use ferromq_store::flush::FLUSH_LATENCY_BOUNDS_US;

use crate::meters::{FINISH_BUCKETS, PROCESSORS, SIZE_BUCKETS};
use crate::state::Broker;
use crate::stats::StatsName;

/// The label value standing for the series beyond `metricsMaxSeries`.
const OTHER: &str = "_other_";

/// The scrape: every metric, as text.
pub(crate) fn render(broker: &Broker) -> String {
    let settings = broker.settings();
    let b = &settings.broker;
    let node = format!(
        r#"cluster="{}",node_type="broker",node_id="{}""#,
        escape(&b.broker_cluster_name),
        escape(&b.broker_name)
    );
    let cap = b.metrics_max_series;
    let mut out = String::with_capacity(4096);
    let gauge = |out: &mut String, name: &str, help: &str, value: i64| {
        head(out, name, help, "gauge");
        let _ = writeln!(out, "{name}{{{node}}} {value}");
    };
    gauge(
        &mut out,
        "rocketmq_broker_permission",
        "The broker's permission bits (brokerPermission).",
        i64::from(b.broker_permission),
    );
    let topics = broker.topic_wrapper().topic_config_table;
    gauge(
        &mut out,
        "rocketmq_topic_number",
        "Topics on this broker.",
        count(topics.len()),
    );
    let groups = broker.groups.names();
    gauge(
        &mut out,
        "rocketmq_consumer_group_number",
        "Subscription groups on this broker.",
        count(groups.len()),
    );
    let (producers, consumers) = broker.clients.connection_counts();
    gauge(
        &mut out,
        "rocketmq_producer_connections",
        "Producer connections registered by heartbeat.",
        count(producers),
    );
    gauge(
        &mut out,
        "rocketmq_consumer_connections",
        "Consumer connections registered by heartbeat.",
        count(consumers),
    );

    let keyed = &broker.stats.keyed;
    let pair_other = format!("{OTHER}@{OTHER}");
    messages_in(&mut out, broker, &node, cap);
    for (metric, help, name) in [
        (
            "rocketmq_messages_out_total",
            "Messages served to pulls, by topic and consumer group.",
            StatsName::GroupGetNums,
        ),
        (
            "rocketmq_throughput_out_total",
            "Record bytes served to pulls, by topic and consumer group.",
            StatsName::GroupGetSize,
        ),
    ] {
        head(&mut out, metric, help, "counter");
        for (key, value) in capped(keyed.totals(name), cap, &pair_other) {
            let (topic, group) = split_pair(&key);
            let _ = writeln!(
                out,
                r#"{metric}{{{node},topic="{}",consumer_group="{}"}} {value}"#,
                escape(topic),
                escape(group)
            );
        }
    }

    head(
        &mut out,
        "rocketmq_send_to_dlq_messages_total",
        "Messages moved to a dead-letter queue, by consumer group and original topic.",
        "counter",
    );
    let dlq = broker.stats.meters.dlq();
    let dlq = capped(
        dlq.into_iter()
            .map(|((group, topic), n)| (format!("{topic}@{group}"), n))
            .collect(),
        cap,
        &pair_other,
    );
    for (key, n) in dlq {
        let (topic, group) = split_pair(&key);
        let _ = writeln!(
            out,
            r#"rocketmq_send_to_dlq_messages_total{{{node},consumer_group="{}",topic="{}",is_system="{}"}} {n}"#,
            escape(group),
            escape(topic),
            is_system(topic, group)
        );
    }

    transactions(&mut out, broker, &node, cap);
    head(
        &mut out,
        "rocketmq_processor_watermark",
        "Requests being served per processor (Apache: queued per thread pool), held pulls left out.",
        "gauge",
    );
    let serving = broker.stats.meters.processing.snapshot();
    for (name, value) in PROCESSORS.iter().zip(serving) {
        let _ = writeln!(
            out,
            r#"rocketmq_processor_watermark{{{node},processor="{name}"}} {value}"#
        );
    }

    // Lag, as Apache's ConsumerLagCalculator: per group and topic it has offsets of (retry
    // topics left out), the messages past the committed offsets, and how long the oldest of
    // them has waited. A queue without a committed offset has no lag.
    let now = ferromq_common::now_ms();
    // Per group and topic: lag, lag latency, in flight (pulled, not committed), ready (stored,
    // not pulled) and queueing latency (the oldest message not pulled yet).
    let mut series: [Vec<(String, u64)>; 5] = Default::default();
    for group in &groups {
        for topic in broker.offsets.topics_of_group(group) {
            if topic.starts_with(names::RETRY_TOPIC_PREFIX) {
                continue;
            }
            let Some(config) = topics.get(&topic) else {
                continue;
            };
            let g = GroupQueues::measure(broker, group, &topic, config.write_queue_nums);
            let key = format!("{topic}@{group}");
            let since = |t: Option<i64>| t.map_or(0, |t| now.saturating_sub(t).max(0));
            for (values, value) in series.iter_mut().zip([
                g.lag,
                since(g.oldest_unconsumed),
                g.inflight,
                g.ready,
                since(g.oldest_unpulled),
            ]) {
                values.push((key.clone(), u64::try_from(value).unwrap_or(0)));
            }
        }
    }
    let [lags, lag_latencies, inflight, ready, queueing] = series;
    for (metric, help, values) in [
        (
            "rocketmq_consumer_lag_messages",
            "Messages a consumer group has yet to consume, by topic.",
            lags,
        ),
        (
            "rocketmq_consumer_lag_latency",
            "Milliseconds the oldest message a consumer group has yet to consume has waited.",
            lag_latencies,
        ),
        (
            "rocketmq_consumer_inflight_messages",
            "Messages pulled by a consumer group and not yet committed.",
            inflight,
        ),
        (
            "rocketmq_consumer_ready_messages",
            "Messages stored and not yet pulled by a consumer group.",
            ready,
        ),
        (
            "rocketmq_consumer_queueing_latency",
            "Milliseconds the oldest message not yet pulled by a consumer group has waited.",
            queueing,
        ),
    ] {
        head(&mut out, metric, help, "gauge");
        for (key, value) in capped(values, cap, &pair_other) {
            let (topic, group) = split_pair(&key);
            let _ = writeln!(
                out,
                r#"{metric}{{{node},topic="{}",consumer_group="{}",is_retry="false",is_system="{}"}} {value}"#,
                escape(topic),
                escape(group),
                is_system(topic, group)
            );
        }
    }

    let store = &broker.store;
    let log = store.commit_log();
    gauge(
        &mut out,
        "rocketmq_storage_size",
        "Bytes of commitlog kept.",
        signed(log.max_offset().saturating_sub(log.min_offset())),
    );
    gauge(
        &mut out,
        "rocketmq_storage_flush_behind_bytes",
        "Commitlog bytes written but not yet flushed.",
        signed(log.max_offset().saturating_sub(log.flushed_offset())),
    );
    gauge(
        &mut out,
        "rocketmq_storage_dispatch_behind_bytes",
        "Commitlog bytes not yet indexed into consume queues.",
        signed(log.max_offset().saturating_sub(store.dispatched_offset())),
    );
    let flush = log.flusher().stats();
    let metric = "ferromq_storage_flush_latency";
    head(
        &mut out,
        metric,
        "Milliseconds each commitlog sync took (fsync of the written pages).",
        "histogram",
    );
    let mut cumulative = 0u64;
    for (i, count) in flush.latency_buckets.iter().enumerate() {
        cumulative += count.load(Ordering::Relaxed);
        let le = FLUSH_LATENCY_BOUNDS_US.get(i).map_or_else(
            || "+Inf".to_owned(),
            |us| format!("{}", *us as f64 / 1000.0),
        );
        let _ = writeln!(out, r#"{metric}_bucket{{{node},le="{le}"}} {cumulative}"#);
    }
    let sum_ms = flush.latency_sum_us.load(Ordering::Relaxed) as f64 / 1000.0;
    let _ = writeln!(out, "{metric}_sum{{{node}}} {sum_ms}");
    let _ = writeln!(out, "{metric}_count{{{node}}} {cumulative}");
    head(
        &mut out,
        "ferromq_dispatch_skipped_records_total",
        "Commitlog records the dispatcher could not index and skipped.",
        "counter",
    );
    let _ = writeln!(
        out,
        "ferromq_dispatch_skipped_records_total{{{node}}} {}",
        store.undispatchable_records()
    );
    gauge(
        &mut out,
        "ferromq_store_fault",
        "1 while the store refuses writes after an I/O fault (runtime info's storeFault says why).",
        i64::from(store.fault().is_some()),
    );
    if let Some(open) = open_files() {
        gauge(
            &mut out,
            "ferromq_open_files",
            "File descriptors the broker process holds (files, sockets).",
            open,
        );
    }
    broker.stats.rpc.render(&mut out, &node);
    // Ours: replication as a master sees it.
    head(
        &mut out,
        "ferromq_replication_lag_bytes",
        "Bytes a connected slave has yet to acknowledge (master only).",
        "gauge",
    );
    let end = log.max_offset();
    for slave in broker.replication.slaves() {
        let _ = writeln!(
            out,
            r#"ferromq_replication_lag_bytes{{{node},slave="{}"}} {}"#,
            slave.addr,
            signed(end.saturating_sub(slave.ack))
        );
    }
    out
}

/// `rocketmq_messages_in_total`, `rocketmq_throughput_in_total` and `rocketmq_message_size` by
/// topic and message type; past `cap` topics and types, the rest are summed under `_other_`.
/// The transaction series, per topic; topics beyond `cap` summed under `_other_`.
fn transactions(out: &mut String, broker: &Broker, node: &str, cap: usize) {
    const N: usize = FINISH_BUCKETS.len() + 5;
    let mut rows: Vec<(String, [u64; N])> = Vec::new();
    for (i, (topic, t)) in broker.stats.meters.transactions().into_iter().enumerate() {
        let mut v = [0u64; N];
        v[0] = u64::try_from(t.half.load(Ordering::Relaxed)).unwrap_or(0);
        v[1] = t.commits.load(Ordering::Relaxed);
        v[2] = t.rollbacks.load(Ordering::Relaxed);
        v[3] = t.finish_sum.load(Ordering::Relaxed);
        for (slot, count) in v[4..].iter_mut().zip(&t.finish) {
            *slot = count.load(Ordering::Relaxed);
        }
        if i < cap {
            rows.push((topic, v));
        } else {
            if i == cap {
                rows.push((OTHER.to_owned(), [0; N]));
            }
            if let Some(last) = rows.last_mut() {
                for (sum, add) in last.1.iter_mut().zip(v) {
                    *sum = sum.saturating_add(add);
                }
            }
        }
    }
    for (metric, help, kind, at) in [
        (
            "rocketmq_half_messages",
            "Half (prepared) messages not yet committed, rolled back or discarded.",
            "gauge",
            0,
        ),
        (
            "rocketmq_commit_messages_total",
            "Transactional messages committed.",
            "counter",
            1,
        ),
        (
            "rocketmq_rollback_messages_total",
            "Transactional messages rolled back.",
            "counter",
            2,
        ),
    ] {
        head(out, metric, help, kind);
        for (topic, v) in &rows {
            let _ = writeln!(
                out,
                r#"{metric}{{{node},topic="{}"}} {}"#,
                escape(topic),
                v[at]
            );
        }
    }
    let metric = "rocketmq_finish_message_latency";
    head(
        out,
        metric,
        "Seconds from a committed half message's birth to its commit (Apache's unit).",
        "histogram",
    );
    for (topic, v) in &rows {
        let labels = format!(r#"{node},topic="{}""#, escape(topic));
        let mut cumulative = 0u64;
        for (i, count) in v[4..].iter().enumerate() {
            cumulative += count;
            let le = FINISH_BUCKETS
                .get(i)
                .map_or_else(|| "+Inf".to_owned(), |b| b.to_string());
            let _ = writeln!(out, r#"{metric}_bucket{{{labels},le="{le}"}} {cumulative}"#);
        }
        let _ = writeln!(out, "{metric}_sum{{{labels}}} {}", v[3]);
        let _ = writeln!(out, "{metric}_count{{{labels}}} {cumulative}");
    }
}

fn messages_in(out: &mut String, broker: &Broker, node: &str, cap: usize) {
    let all = broker.stats.meters.topics_in();
    let n = all.len();
    let mut rows: Vec<(String, &'static str, [u64; SIZE_BUCKETS.len() + 4])> = Vec::new();
    for (i, ((topic, kind), meter)) in all.into_iter().enumerate() {
        let mut v = [0u64; SIZE_BUCKETS.len() + 4];
        v[0] = meter.messages.load(Ordering::Relaxed);
        v[1] = meter.bytes.load(Ordering::Relaxed);
        v[2] = meter.size_sum.load(Ordering::Relaxed);
        for (slot, count) in v[3..].iter_mut().zip(&meter.sizes) {
            *slot = count.load(Ordering::Relaxed);
        }
        if i < cap || n <= cap {
            rows.push((topic, kind.label(), v));
        } else {
            if i == cap {
                rows.push((OTHER.to_owned(), OTHER, [0; SIZE_BUCKETS.len() + 4]));
            }
            if let Some(last) = rows.last_mut() {
                for (sum, add) in last.2.iter_mut().zip(v) {
                    *sum = sum.saturating_add(add);
                }
            }
        }
    }
    let label = |topic: &str, kind: &str| {
        format!(
            r#"{node},topic="{}",message_type="{kind}",is_system="{}""#,
            escape(topic),
            names::is_internal_topic(topic)
        )
    };
    for (metric, help, at) in [
        (
            "rocketmq_messages_in_total",
            "Messages stored, by the topic producers sent them to and the message type.",
            0,
        ),
        (
            "rocketmq_throughput_in_total",
            "Record bytes stored, by topic and message type.",
            1,
        ),
    ] {
        head(out, metric, help, "counter");
        for (topic, kind, v) in &rows {
            let _ = writeln!(out, "{metric}{{{}}} {}", label(topic, kind), v[at]);
        }
    }
    let metric = "rocketmq_message_size";
    head(
        out,
        metric,
        "Bytes per message of each send (its record bytes over its messages).",
        "histogram",
    );
    for (topic, kind, v) in &rows {
        let labels = label(topic, kind);
        let mut cumulative = 0u64;
        for (i, count) in v[3..].iter().enumerate() {
            cumulative += count;
            let le = SIZE_BUCKETS
                .get(i)
                .map_or_else(|| "+Inf".to_owned(), |b| b.to_string());
            let _ = writeln!(out, r#"{metric}_bucket{{{labels},le="{le}"}} {cumulative}"#);
        }
        let _ = writeln!(out, "{metric}_sum{{{labels}}} {}", v[2]);
        let _ = writeln!(out, "{metric}_count{{{labels}}} {cumulative}");
    }
}

/// One group's position on one topic, summed over its queues as Apache's lag calculator does:
/// a queue without a committed offset counts for nothing; the pull offset is the committed one
/// until the group pulls past it.
#[derive(Debug, Default)]
struct GroupQueues {
    lag: i64,
    inflight: i64,
    ready: i64,
    /// Store time of the oldest message not consumed / not pulled, over the queues.
    oldest_unconsumed: Option<i64>,
    oldest_unpulled: Option<i64>,
}

impl GroupQueues {
    fn measure(broker: &Broker, group: &str, topic: &str, queues: i32) -> GroupQueues {
        let mut g = GroupQueues::default();
        let earliest = |old: Option<i64>, t: Option<i64>| match (old, t.filter(|t| *t > 0)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        for q in 0..queues {
            let Some(at) = broker.offsets.query(group, topic, q) else {
                continue;
            };
            let end = broker.store.max_offset_in_queue(topic, q);
            let pulled = broker
                .offsets
                .query_pull(group, topic, q)
                .map_or(at, |p| p.max(at))
                .min(end.max(at));
            g.inflight = g.inflight.saturating_add(pulled - at);
            if end > at {
                g.lag = g.lag.saturating_add(end - at);
                let stored = broker.store.store_time_in_queue(topic, q, at);
                g.oldest_unconsumed = earliest(g.oldest_unconsumed, stored);
            }
            if end > pulled {
                g.ready = g.ready.saturating_add(end - pulled);
                let stored = broker.store.store_time_in_queue(topic, q, pulled);
                g.oldest_unpulled = earliest(g.oldest_unpulled, stored);
            }
        }
        g
    }
}

/// Apache's `isSystem`: a system topic, or a group named `CID_RMQ_SYS_...` (any case).
/// Descriptors open in this process (Linux's `/proc/self/fd`); `None` where there is none.
fn open_files() -> Option<i64> {
    let entries = std::fs::read_dir("/proc/self/fd").ok()?;
    Some(count(entries.count()))
}

fn is_system(topic: &str, group: &str) -> bool {
    names::is_internal_topic(topic)
        || group
            .get(..12)
            .is_some_and(|p| p.eq_ignore_ascii_case("CID_RMQ_SYS_"))
}

fn head(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// The first `cap` entries (sorted by key) as they are; the rest summed under `other`.
fn capped(mut entries: Vec<(String, u64)>, cap: usize, other: &str) -> Vec<(String, u64)> {
    entries.sort();
    if entries.len() <= cap {
        return entries;
    }
    let rest: u64 = entries[cap..]
        .iter()
        .map(|(_, v)| *v)
        .fold(0, u64::saturating_add);
    entries.truncate(cap);
    entries.push((other.to_owned(), rest));
    entries
}

/// `topic@group` into its parts (`_other_` for the summed entry).
fn split_pair(key: &str) -> (&str, &str) {
    key.rsplit_once('@').unwrap_or((key, OTHER))
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A label value as the text format wants it.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_beyond_the_cap_are_summed() {
        let entries = vec![
            ("b".to_owned(), 2),
            ("a".to_owned(), 1),
            ("c".to_owned(), 3),
            ("d".to_owned(), 4),
        ];
        let kept = capped(entries, 2, "_other_");
        assert_eq!(
            kept,
            [
                ("a".to_owned(), 1),
                ("b".to_owned(), 2),
                ("_other_".to_owned(), 7)
            ]
        );
        assert_eq!(split_pair("T@G"), ("T", "G"));
        assert_eq!(split_pair("_other_@_other_"), ("_other_", "_other_"));
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
