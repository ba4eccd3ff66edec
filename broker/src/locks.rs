//! Queue locks for orderly consumption (docs/protocol.md, "Orderly consumption"), the table
//! behind LOCK_BATCH_MQ and UNLOCK_BATCH_MQ. One owner per queue per group; a lock lasts 60 s
//! unless its owner renews it (clients renew every 20 s); the owner locking again renews it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ferromq_protocol::body::MessageQueue;

/// How long a lock lives without renewal (Apache's `rocketmq.broker.rebalance.lockMaxLiveTime`).
pub(crate) const LOCK_TTL: Duration = Duration::from_secs(60);

#[derive(Debug)]
struct Lock {
    client_id: String,
    renewed: Instant,
}

/// Locks of every group.
#[derive(Debug, Default)]
pub(crate) struct QueueLocks {
    groups: Mutex<HashMap<String, HashMap<MessageQueue, Lock>>>,
}

impl QueueLocks {
    /// Locks what it can of `queues` for `client_id`; returns the queues it now holds.
    pub(crate) fn lock(
        &self,
        group: &str,
        client_id: &str,
        queues: impl IntoIterator<Item = MessageQueue>,
        now: Instant,
    ) -> Vec<MessageQueue> {
        let mut groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        let locks = groups.entry(group.to_owned()).or_default();
        let mut held = Vec::new();
        for mq in queues {
            let free = match locks.get(&mq) {
                None => true,
                Some(l) => l.client_id == client_id || now.duration_since(l.renewed) > LOCK_TTL,
            };
            if free {
                locks.insert(
                    mq.clone(),
                    Lock {
                        client_id: client_id.to_owned(),
                        renewed: now,
                    },
                );
                held.push(mq);
            }
        }
        held
    }

    /// Whether `group` holds any lock that has not expired (Apache
    /// `RebalanceLockManager.isLockAllExpired`, negated): the group consumes orderly.
    pub(crate) fn any_live(&self, group: &str, now: Instant) -> bool {
        let groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        groups.get(group).is_some_and(|locks| {
            locks
                .values()
                .any(|l| now.duration_since(l.renewed) <= LOCK_TTL)
        })
    }

    /// Releases the queues `client_id` holds among `queues`.
    pub(crate) fn unlock(
        &self,
        group: &str,
        client_id: &str,
        queues: impl IntoIterator<Item = MessageQueue>,
    ) {
        let mut groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(locks) = groups.get_mut(group) {
            for mq in queues {
                if locks.get(&mq).is_some_and(|l| l.client_id == client_id) {
                    locks.remove(&mq);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mq(q: i32) -> MessageQueue {
        MessageQueue {
            broker_name: "b".into(),
            queue_id: q,
            topic: "T".into(),
        }
    }

    #[test]
    fn one_owner_renewal_and_expiry() {
        let locks = QueueLocks::default();
        let t0 = Instant::now();
        assert_eq!(locks.lock("G", "c1", [mq(0), mq(1)], t0).len(), 2);
        assert!(
            locks.lock("G", "c2", [mq(0), mq(2)], t0) == vec![mq(2)],
            "queue 0 is c1's"
        );
        assert_eq!(
            locks.lock("OtherGroup", "c2", [mq(0)], t0).len(),
            1,
            "locks are per group"
        );
        // c1 renews queue 0 at +50 s; at +70 s c2 still cannot take it, but it can take queue 1.
        assert_eq!(
            locks
                .lock("G", "c1", [mq(0)], t0 + Duration::from_secs(50))
                .len(),
            1
        );
        let later = t0 + Duration::from_secs(70);
        assert_eq!(locks.lock("G", "c2", [mq(0), mq(1)], later), vec![mq(1)]);
        // Unlock releases only the caller's own locks.
        locks.unlock("G", "c2", [mq(0)]);
        assert!(locks.lock("G", "c3", [mq(0)], later).is_empty());
        locks.unlock("G", "c1", [mq(0)]);
        assert_eq!(locks.lock("G", "c3", [mq(0)], later).len(), 1);
    }

    #[test]
    fn a_group_consumes_orderly_while_any_of_its_locks_lives() {
        let locks = QueueLocks::default();
        let t0 = Instant::now();
        assert!(!locks.any_live("G", t0), "no locks");
        locks.lock("G", "c1", [mq(0)], t0);
        assert!(locks.any_live("G", t0 + Duration::from_secs(59)));
        assert!(!locks.any_live("Other", t0));
        assert!(
            !locks.any_live("G", t0 + Duration::from_secs(61)),
            "expired"
        );
        locks.unlock("G", "c1", [mq(0)]);
        assert!(!locks.any_live("G", t0));
    }
}
