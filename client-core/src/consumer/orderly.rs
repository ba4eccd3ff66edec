//! Orderly consumption (docs/protocol.md, "Orderly consumption"): queues locked on the broker
//! (LOCK_BATCH_MQ, renewed every 20 s, considered lost 30 s after the last success), one listener
//! call at a time per queue in offset order, suspend-and-retry on failure, DLQ after the maximum
//! reconsume times.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferromq_protocol::body::{
    LockBatchRequestBody, LockBatchResponseBody, MessageQueue, UnlockBatchRequestBody,
};
use ferromq_protocol::header::client::{LockBatchMqRequestHeader, UnlockBatchMqRequestHeader};
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};

use super::push::{lock, pause, resend, Inner, Listener, QueueState};
use super::{guarded, OrderlyResult};
use crate::error::{Error, Result};
use crate::message::MessageView;
use crate::rt::Instant;

/// Renewal period of the queue locks.
const LOCK_RENEW: Duration = Duration::from_secs(20);
/// A lock not renewed for this long is considered lost by the client.
const LOCK_MAX_LIVE: Duration = Duration::from_secs(30);

/// Orderly state of one queue.
#[derive(Debug, Default)]
pub(crate) struct OrderlyState {
    locked: AtomicBool,
    last_lock: Mutex<Option<Instant>>,
    msgs: Mutex<BTreeMap<i64, MessageView>>,
    running: AtomicBool,
    /// Held while a listener call runs, so a released queue is committed only after it.
    pub(super) consume_lock: tokio::sync::Mutex<()>,
}

impl OrderlyState {
    pub(super) fn mark_locked(&self) {
        *lock(&self.last_lock) = Some(Instant::now());
        self.locked.store(true, Ordering::Release);
    }

    fn mark_unlocked(&self) {
        self.locked.store(false, Ordering::Release);
    }

    /// When the lock was last granted, ms since the epoch.
    pub(super) fn last_lock_ms(&self) -> Option<i64> {
        let at = (*lock(&self.last_lock))?;
        let ago = i64::try_from(at.elapsed().as_millis()).unwrap_or(i64::MAX);
        Some(crate::client::now_ms().saturating_sub(ago))
    }

    /// Locked, and renewed recently enough.
    pub(super) fn is_locked(&self) -> bool {
        self.locked.load(Ordering::Acquire)
            && lock(&self.last_lock).is_some_and(|t| t.elapsed() < LOCK_MAX_LIVE)
    }

    pub(super) fn put(&self, views: Vec<MessageView>) {
        let mut msgs = lock(&self.msgs);
        for v in views {
            msgs.insert(v.queue_offset(), v);
        }
    }

    fn take(&self, n: usize) -> Vec<MessageView> {
        lock(&self.msgs).values().take(n).cloned().collect()
    }

    fn remove(&self, offsets: &[i64]) {
        let mut msgs = lock(&self.msgs);
        for o in offsets {
            msgs.remove(o);
        }
    }

    fn bump_reconsume(&self, offsets: &[i64]) {
        let mut msgs = lock(&self.msgs);
        for o in offsets {
            if let Some(m) = msgs.get_mut(o) {
                m.set_reconsume_times(m.reconsume_times() + 1);
            }
        }
    }

    fn is_empty(&self) -> bool {
        lock(&self.msgs).is_empty()
    }
}

async fn lock_batch(
    inner: &Inner,
    broker: &str,
    mqs: BTreeSet<MessageQueue>,
) -> Result<BTreeSet<MessageQueue>> {
    let client = &inner.client;
    let topic = mqs
        .iter()
        .next()
        .map(|q| q.topic.clone())
        .unwrap_or_default();
    // Locks live on the master only (Apache locks with onlyThisBroker): with the master gone
    // this fails, the queues of this broker name stay unlocked (or lapse after LOCK_MAX_LIVE)
    // and their orderly consumption pauses until a master is back, even though their pulls
    // could be served by a slave.
    let addr = client.master_addr_for(broker, &topic).await?;
    let body = LockBatchRequestBody {
        client_id: client.id().to_owned(),
        consumer_group: inner.options.group.clone(),
        mq_set: mqs,
        only_this_broker: false,
    };
    let header = LockBatchMqRequestHeader {
        broker_name: Some(broker.to_owned()),
    };
    let request = RemotingCommand::request_with_header(RequestCode::LOCK_BATCH_MQ, &header)
        .with_body(body.encode());
    let response = client
        .broker_request(&addr, request, Duration::from_secs(1))
        .await?;
    if response.response_code() != ResponseCode::SUCCESS {
        return Err(Error::from_response("lock queues", &response));
    }
    LockBatchResponseBody::decode(&response.body)
        .map(|b| b.lock_ok_mq_set)
        .map_err(|e| Error::protocol("lock queues", e))
}

/// Locks one queue on its broker; true if granted.
pub(super) async fn lock_one(inner: &Inner, mq: &MessageQueue) -> bool {
    match lock_batch(inner, &mq.broker_name, BTreeSet::from([mq.clone()])).await {
        Ok(granted) => granted.contains(mq),
        Err(e) => {
            tracing::debug!(queue = ?mq, error = %e, "queue lock failed");
            false
        }
    }
}

/// Releases queue locks (UNLOCK_BATCH_MQ per broker).
pub(super) async fn unlock(inner: &Inner, mqs: &[MessageQueue]) {
    let mut by_broker: HashMap<&str, BTreeSet<MessageQueue>> = HashMap::new();
    for mq in mqs {
        by_broker
            .entry(mq.broker_name.as_str())
            .or_default()
            .insert(mq.clone());
    }
    for (broker, set) in by_broker {
        // The master's locks only; without a master there is nothing to release (they lapse
        // on the broker after its lock expiry).
        let Some(addr) = inner.client.master_addr(broker) else {
            continue;
        };
        let body = UnlockBatchRequestBody {
            client_id: inner.client.id().to_owned(),
            consumer_group: inner.options.group.clone(),
            mq_set: set,
            only_this_broker: false,
        };
        let header = UnlockBatchMqRequestHeader {
            broker_name: Some(broker.to_owned()),
        };
        let request = RemotingCommand::request_with_header(RequestCode::UNLOCK_BATCH_MQ, &header)
            .with_body(body.encode());
        if let Err(e) = inner
            .client
            .broker_request(&addr, request, Duration::from_secs(1))
            .await
        {
            tracing::debug!(%broker, error = %e, "unlock failed");
        }
    }
}

/// Renews the locks of every assigned queue every 20 s.
pub(super) async fn renew_locks(inner: Arc<Inner>) {
    let mut stop = inner.stop.subscribe();
    while pause(&mut stop, LOCK_RENEW).await {
        let queues: Vec<Arc<QueueState>> = lock(&inner.queues).values().cloned().collect();
        let mut by_broker: HashMap<String, BTreeSet<MessageQueue>> = HashMap::new();
        for qs in &queues {
            by_broker
                .entry(qs.mq.broker_name.clone())
                .or_default()
                .insert(qs.mq.clone());
        }
        for (broker, set) in by_broker {
            let granted = match lock_batch(&inner, &broker, set).await {
                Ok(g) => g,
                Err(e) => {
                    tracing::debug!(%broker, error = %e, "lock renewal failed");
                    continue;
                }
            };
            for qs in queues.iter().filter(|q| q.mq.broker_name == broker) {
                if granted.contains(&qs.mq) {
                    qs.orderly.mark_locked();
                    kick(&inner, qs);
                } else {
                    qs.orderly.mark_unlocked();
                }
            }
        }
    }
}

/// Starts the queue's consume loop unless it runs already.
pub(super) fn kick(inner: &Arc<Inner>, qs: &Arc<QueueState>) {
    if !qs.orderly.running.swap(true, Ordering::AcqRel) {
        crate::rt::spawn(consume_loop(inner.clone(), qs.clone()));
    }
}

fn max_reconsume(inner: &Inner) -> i32 {
    if inner.options.max_reconsume_times < 0 {
        i32::MAX
    } else {
        inner.options.max_reconsume_times
    }
}

async fn consume_loop(inner: Arc<Inner>, qs: Arc<QueueState>) {
    let Listener::Orderly(listener) = inner.listener.clone() else {
        return;
    };
    let mut stop = inner.stop.subscribe();
    loop {
        loop {
            if qs.dropped.load(Ordering::Acquire) || *stop.borrow() || !qs.orderly.is_locked() {
                break;
            }
            let guard = qs.orderly.consume_lock.lock().await;
            if qs.dropped.load(Ordering::Acquire) {
                break;
            }
            let batch = qs.orderly.take(inner.options.consume_batch_size.max(1));
            if batch.is_empty() {
                break;
            }
            // Held until the batch is settled (shutdown waits for the permits).
            let Ok(permit) = inner.permits.clone().acquire_owned().await else {
                break;
            };
            if inner.closed.load(Ordering::Acquire) {
                break;
            }
            let offsets: Vec<i64> = batch.iter().map(MessageView::queue_offset).collect();
            lock(&qs.pq).set_consuming(Some(&offsets));
            let began = Instant::now();
            let trace = inner.tracer.as_ref().and_then(|t| t.before_consume(&batch));
            let result = guarded(
                listener.consume(batch.clone()),
                OrderlyResult::SuspendCurrentQueueAMoment,
            )
            .await;
            if let (Some(t), Some(trace)) = (&inner.tracer, trace) {
                let ok = result == OrderlyResult::Success;
                let code = if ok {
                    crate::trace::data::consume_code::SUCCESS
                } else {
                    crate::trace::data::consume_code::FAILED
                };
                t.after_consume(trace, ok, code);
            }
            qs.stats.consume_time(began.elapsed());
            if result == OrderlyResult::Success {
                qs.stats.consumed(batch.len(), 0);
            } else {
                qs.stats.consumed(0, batch.len());
            }
            {
                let mut pq = lock(&qs.pq);
                pq.set_consuming(None);
                pq.mark_consumed(crate::client::now_ms());
            }
            let settled = match result {
                OrderlyResult::Success => true,
                OrderlyResult::SuspendCurrentQueueAMoment => {
                    let max = max_reconsume(&inner);
                    if batch.iter().all(|m| m.reconsume_times() >= max) {
                        // Exhausted: to %RETRY%<group>, which the broker turns into the DLQ.
                        // Java sends RECONSUME_TIME = reconsumeTimes (= the max) and relies on
                        // Apache's "group holds orderly locks => DLQ" rule; one more than the max
                        // reaches the DLQ on any broker (reconsumeTimes > max). Only if that works
                        // does the queue move on.
                        let mut all_sent = true;
                        for m in &batch {
                            let times = m.reconsume_times().saturating_add(1);
                            all_sent &= resend(&inner, m, times, None).await;
                        }
                        all_sent
                    } else {
                        false
                    }
                }
            };
            if settled {
                qs.orderly.remove(&offsets);
                let commit = lock(&qs.pq).remove(offsets);
                if let Some(offset) = commit {
                    inner.offsets.update(&qs.mq, offset, true);
                }
                drop(permit);
                drop(guard);
            } else {
                qs.orderly.bump_reconsume(&offsets);
                drop(permit);
                drop(guard);
                if !pause(&mut stop, inner.options.suspend_current_queue_time).await {
                    break;
                }
            }
        }
        qs.orderly.running.store(false, Ordering::Release);
        // Messages may have arrived between the last look and clearing the flag.
        let resume = !qs.orderly.is_empty()
            && qs.orderly.is_locked()
            && !qs.dropped.load(Ordering::Acquire)
            && !qs.orderly.running.swap(true, Ordering::AcqRel);
        if !resume {
            break;
        }
    }
}
