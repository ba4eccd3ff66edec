//! Rebalancing: which queues this member holds, and starting and releasing them.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use ferromq_protocol::body::MessageQueue;

use super::pull_loop::pull_loop;
use super::state::{lock, Inner, QueueState};
use crate::consumer::{orderly, queues};

/// One rebalance round over every subscribed topic. Returns true when the round is unfinished
/// (a topic has no route or no known member yet, or an orderly queue is still locked by its
/// previous owner): the caller retries soon.
pub(crate) async fn rebalance(inner: &Arc<Inner>) -> bool {
    let mut retry_soon = false;
    let topics: Vec<String> = lock(&inner.subs).keys().cloned().collect();
    let mut wanted: HashSet<MessageQueue> = HashSet::new();
    let mut kept_topics: HashSet<String> = HashSet::new();
    for topic in topics {
        match queues::allocate(&inner.group_view(), &topic).await {
            Ok(mine) => wanted.extend(mine),
            Err(e) => {
                tracing::debug!(%topic, error = %e, "rebalance skipped a topic");
                kept_topics.insert(topic);
                retry_soon = true;
            }
        }
    }
    let (removed, current): (Vec<Arc<QueueState>>, HashSet<MessageQueue>) = {
        let mut queues = lock(&inner.queues);
        let removed_keys: Vec<MessageQueue> = queues
            .keys()
            .filter(|mq| !wanted.contains(*mq) && !kept_topics.contains(&mq.topic))
            .cloned()
            .collect();
        let removed = removed_keys
            .iter()
            .filter_map(|k| queues.remove(k))
            .collect();
        (removed, queues.keys().cloned().collect())
    };
    let mut changed = !removed.is_empty();
    for qs in removed {
        qs.dropped.store(true, Ordering::Release);
        // Orderly: let a listener call in flight finish before committing and unlocking.
        let guard = if inner.is_orderly() {
            crate::rt::timeout(Duration::from_secs(20), qs.orderly.consume_lock.lock())
                .await
                .ok()
        } else {
            None
        };
        let mq = [qs.mq.clone()];
        if let Err(e) = inner.offsets.persist(&inner.client, &mq).await {
            tracing::debug!(error = %e, "commit of a released queue failed");
        }
        inner.offsets.remove(&qs.mq);
        inner.nodes.forget(&qs.mq);
        if inner.is_orderly() {
            orderly::unlock(inner, &mq).await;
        }
        drop(guard);
    }
    for mq in wanted.into_iter().filter(|mq| !current.contains(mq)) {
        if inner.is_orderly() && !orderly::lock_one(inner, &mq).await {
            retry_soon = true;
            continue;
        }
        let offset = match queues::initial_offset(&inner.group_view(), &mq).await {
            Ok(o) => o,
            Err(e) => {
                tracing::debug!(queue = ?mq, error = %e, "no start offset yet");
                continue;
            }
        };
        inner.offsets.update(&mq, offset, false);
        let qs = Arc::new(QueueState::new(mq.clone(), inner.stats.topic(&mq.topic)));
        if inner.is_orderly() {
            qs.orderly.mark_locked();
        }
        if inner.closed.load(Ordering::Acquire) {
            return false;
        }
        lock(&inner.queues).insert(mq, qs.clone());
        crate::rt::spawn(pull_loop(inner.clone(), qs, offset));
        changed = true;
    }
    if changed {
        inner.rebalances.fetch_add(1, Ordering::Relaxed);
    }
    retry_soon
}
