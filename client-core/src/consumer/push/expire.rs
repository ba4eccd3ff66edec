//! The consume timeout of concurrent listeners (Java `consumeTimeout`; Apache's
//! `ConsumeMessageConcurrentlyService.cleanExpireMsg` and `ProcessQueue.cleanExpiredMsg`): a
//! listener call that never returns would hold its queue's commit offset back forever, and
//! after `consume_concurrently_max_span` stop the queue. Every `consume_timeout` the oldest
//! unconsumed messages of each queue are looked at; one whose listener call began more than
//! `consume_timeout` ago is returned to the broker (CONSUMER_SEND_MSG_BACK, delay level 3, as
//! Java) and dropped from the cache, and the offset moves on. The stuck call is not interrupted;
//! when it ends, its answer no longer counts for the messages that expired.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use super::concurrent::send_back;
use super::state::{lock, pause, Inner, QueueState};
use crate::consumer::MessageModel;
use crate::message::MessageView;
use crate::rt::Instant;

/// The delay level an expired message is returned with (Java's `sendMessageBack(msg, 3)`).
const EXPIRED_DELAY_LEVEL: i32 = 3;
/// Messages looked at per queue and check (Java's loop bound).
const PER_QUEUE_AND_CHECK: usize = 16;

/// The messages of one queue that a concurrent listener call has, by offset, with when the
/// call began. A hash map keeps its table when it empties (a tree would free its node after
/// every call of one message and allocate it again for the next).
#[derive(Debug, Default)]
pub(crate) struct InListener(Mutex<HashMap<i64, (MessageView, Instant), OffsetHash>>);

/// Hashes a queue offset with one multiplication. The map holds at most the messages inside
/// listener calls (`consume_threads` calls of `consume_batch_size`), so keys chosen to collide
/// cannot make it costly, and SipHash (a few percent of the consumer's CPU per message with
/// two lookups per call) buys nothing here.
type OffsetHash = BuildHasherDefault<OffsetHasher>;

#[derive(Debug, Default)]
pub(crate) struct OffsetHasher(u64);

impl Hasher for OffsetHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_i64(&mut self, n: i64) {
        // An odd multiplier spreads consecutive offsets over both the low bits (the bucket)
        // and the high ones (the control byte).
        self.0 = (self.0 ^ n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl InListener {
    /// A listener call begins with `messages`, `now`.
    pub(crate) fn begin(&self, messages: &[MessageView], now: Instant) {
        let mut map = lock(&self.0);
        for m in messages {
            map.insert(m.queue_offset(), (m.clone(), now));
        }
    }

    /// The call with `messages` ended.
    pub(crate) fn end(&self, messages: &[MessageView]) {
        let mut map = lock(&self.0);
        for m in messages {
            map.remove(&m.queue_offset());
        }
    }

    /// The message at `offset` if its listener call began more than `timeout` ago.
    fn expired(&self, offset: i64, timeout: std::time::Duration) -> Option<MessageView> {
        lock(&self.0)
            .get(&offset)
            .filter(|(_, began)| began.elapsed() > timeout)
            .map(|(m, _)| m.clone())
    }
}

/// Checks every queue every `consume_timeout` until the consumer stops (concurrent listeners
/// only).
pub(crate) async fn expire_loop(inner: Arc<Inner>) {
    let mut stop = inner.stop.subscribe();
    while pause(&mut stop, inner.options.consume_timeout).await {
        let queues: Vec<Arc<QueueState>> = lock(&inner.queues).values().cloned().collect();
        for qs in queues {
            expire_queue(&inner, &qs).await;
        }
    }
}

/// Returns the expired messages at the head of one queue, oldest first; stops at the first
/// that has not expired (or is not in a listener call yet).
async fn expire_queue(inner: &Arc<Inner>, qs: &QueueState) {
    for _ in 0..PER_QUEUE_AND_CHECK {
        if qs.dropped.load(Ordering::Acquire) || inner.closed.load(Ordering::Acquire) {
            return;
        }
        let Some(first) = lock(&qs.pq).first() else {
            return;
        };
        let Some(m) = qs.in_listener.expired(first, inner.options.consume_timeout) else {
            return;
        };
        if inner.options.message_model == MessageModel::Clustering {
            if !send_back(inner, &m, EXPIRED_DELAY_LEVEL).await {
                tracing::warn!(queue = ?qs.mq, offset = first, "could not return an expired message; trying again at the next check");
                return;
            }
            tracing::info!(queue = ?qs.mq, offset = first, msg_id = %m.msg_id(), "a listener call outlived the consume timeout; its message was returned for redelivery");
        } else {
            tracing::warn!(queue = ?qs.mq, offset = first, "a listener call outlived the consume timeout; broadcasting has no redelivery, the message is dropped");
        }
        let commit = {
            let mut pq = lock(&qs.pq);
            // Unless the call ended meanwhile and settled it.
            if pq.first() == Some(first) {
                pq.remove([first])
            } else {
                None
            }
        };
        if let Some(offset) = commit {
            if !qs.dropped.load(Ordering::Acquire) {
                inner.offsets.update(&qs.mq, offset, true);
            }
        }
    }
}
