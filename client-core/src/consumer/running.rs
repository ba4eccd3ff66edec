//! A push consumer's running info (GET_CONSUMER_RUNNING_INFO, Apache's
//! `DefaultMQPushConsumerImpl.consumerRunningInfo`): its settings under Apache's property
//! names, its subscriptions, per assigned queue the process-queue state and the offset it will
//! commit, and per subscribed topic its rates. The lite pull consumer builds its own in
//! `pull.rs` from the same pieces.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use ferromq_protocol::body::running::{
    PROP_CONSUMER_START_TIMESTAMP, PROP_CONSUME_ORDERLY, PROP_CONSUME_TYPE,
    PROP_THREADPOOL_CORE_SIZE,
};
use ferromq_protocol::body::{ConsumeFromWhere, ConsumerRunningInfo};

use super::push::{lock, Inner, QueueState};
use super::ConsumeFrom;
use crate::client::now_ms;

/// Java's `ConsumeFromWhere` of a start position.
pub(super) fn consume_from_where(from: ConsumeFrom) -> ConsumeFromWhere {
    match from {
        ConsumeFrom::LastOffset => ConsumeFromWhere::ConsumeFromLastOffset,
        ConsumeFrom::FirstOffset => ConsumeFromWhere::ConsumeFromFirstOffset,
        ConsumeFrom::Timestamp(_) => ConsumeFromWhere::ConsumeFromTimestamp,
    }
}

/// Properties under the names Apache's `MixAll.object2Properties(DefaultMQPushConsumer)`
/// gives them, for the settings this consumer has.
fn push_properties(inner: &Inner) -> BTreeMap<String, String> {
    let o = &inner.options;
    let mut p: BTreeMap<String, String> = [
        (PROP_CONSUME_TYPE, "CONSUME_PASSIVELY".to_owned()),
        (PROP_CONSUME_ORDERLY, inner.is_orderly().to_string()),
        (PROP_THREADPOOL_CORE_SIZE, o.consume_threads.to_string()),
        (PROP_CONSUMER_START_TIMESTAMP, inner.started_ms.to_string()),
        ("consumerGroup", o.group.clone()),
        ("messageModel", o.message_model.wire().name().to_owned()),
        (
            "consumeFromWhere",
            consume_from_where(o.consume_from).name().to_owned(),
        ),
        ("allocateMessageQueueStrategy", o.allocate.name().to_owned()),
        ("consumeThreadMin", o.consume_threads.to_string()),
        ("consumeThreadMax", o.consume_threads.to_string()),
        (
            "consumeConcurrentlyMaxSpan",
            o.consume_concurrently_max_span.to_string(),
        ),
        (
            "pullThresholdForQueue",
            o.pull_threshold_for_queue.to_string(),
        ),
        (
            "pullThresholdSizeForQueue",
            (o.pull_threshold_size_for_queue / (1024 * 1024)).to_string(),
        ),
        (
            "pullThresholdForTopic",
            o.pull_threshold_for_topic
                .map_or_else(|| "-1".to_owned(), |n| n.to_string()),
        ),
        (
            "pullThresholdSizeForTopic",
            o.pull_threshold_size_for_topic
                .map_or_else(|| "-1".to_owned(), |n| (n / (1024 * 1024)).to_string()),
        ),
        // Java counts whole minutes; a shorter timeout shows as 1.
        (
            "consumeTimeout",
            o.consume_timeout.as_secs().div_ceil(60).max(1).to_string(),
        ),
        (
            "suspendCurrentQueueTimeMillis",
            o.suspend_current_queue_time.as_millis().to_string(),
        ),
        (
            "awaitTerminationMillisWhenShutdown",
            o.await_termination.as_millis().to_string(),
        ),
        (
            "consumeMessageBatchMaxSize",
            o.consume_batch_size.to_string(),
        ),
        ("pullBatchSize", o.pull_batch_size.to_string()),
        ("maxReconsumeTimes", o.max_reconsume_times.to_string()),
        (
            "persistConsumerOffsetInterval",
            o.persist_interval.as_millis().to_string(),
        ),
        (
            "pullTimeDelayMillsWhenException",
            o.pull_retry_delay.as_millis().to_string(),
        ),
        ("unitMode", "false".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    if let ConsumeFrom::Timestamp(ms) = o.consume_from {
        p.insert("consumeTimestamp".to_owned(), ms.to_string());
    }
    p
}

/// The running info of a push consumer.
pub(super) fn push_info(inner: &Arc<Inner>, jstack: bool) -> ConsumerRunningInfo {
    let mut info = ConsumerRunningInfo {
        properties: push_properties(inner),
        subscription_set: lock(&inner.subs).values().cloned().collect(),
        ..ConsumerRunningInfo::default()
    };
    let mut queues: Vec<Arc<QueueState>> = lock(&inner.queues).values().cloned().collect();
    queues.sort_by(|a, b| a.mq.cmp(&b.mq));
    for qs in &queues {
        let mut pq = lock(&qs.pq).info();
        pq.commit_offset = inner.offsets.get(&qs.mq).unwrap_or(-1);
        pq.droped = qs.dropped.load(Ordering::Acquire);
        if inner.is_orderly() {
            pq.locked = qs.orderly.is_locked();
            if let Some(at) = qs.orderly.last_lock_ms() {
                pq.last_lock_timestamp = at;
            }
        }
        info.mq_table.insert(qs.mq.clone(), pq);
    }
    for sub in &info.subscription_set {
        info.status_table
            .insert(sub.topic.clone(), inner.stats.status(&sub.topic));
    }
    if jstack {
        info.jstack = Some(tasks(inner, &info));
    }
    info
}

/// What stands in for a Java thread dump: the consumer's tasks and where each queue is.
fn tasks(inner: &Inner, info: &ConsumerRunningInfo) -> String {
    let threads = inner.options.consume_threads.max(1);
    let busy = threads.saturating_sub(inner.permits.available_permits());
    let now = now_ms();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "FerroMQ push consumer {} (Rust client: async tasks, no JVM threads)",
        inner.options.group
    );
    let _ = writeln!(out, "listener calls running: {busy} of {threads}");
    for (mq, pq) in &info.mq_table {
        let _ = writeln!(
            out,
            "pull task {}/{}/{}: {} cached, {} in the listener, last pull {} ms ago{}",
            mq.topic,
            mq.broker_name,
            mq.queue_id,
            pq.cached_msg_count,
            pq.transaction_msg_count,
            now.saturating_sub(pq.last_pull_timestamp),
            if pq.droped { ", dropped" } else { "" }
        );
    }
    out
}
