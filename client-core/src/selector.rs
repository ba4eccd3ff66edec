//! Choosing the queue of a send: the user's [`QueueSelector`] and the built-in ones, and the
//! producer's default round robin with latency-based fault avoidance (`FaultTracker`,
//! docs/protocol.md, "Producer queue selection and retries").

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::rt::Instant;

use ferromq_protocol::body::MessageQueue;

use crate::error::Result;
use crate::message::Message;

/// Picks a queue for a message; `arg` is what the caller passed to
/// [`Producer::send_with_selector`](crate::Producer::send_with_selector) (a sharding key, an
/// order id, ...). Returns an index into `queues` (taken modulo its length).
pub trait QueueSelector: Send + Sync {
    /// The index of the chosen queue.
    fn select(&self, queues: &[MessageQueue], message: &Message, arg: &str) -> usize;

    /// The index of the chosen queue, or why none was chosen (a binding's selector that failed
    /// or answered no index of `queues`); the send then fails with this error. The default is
    /// [`Self::select`] modulo the number of queues.
    fn try_select(&self, queues: &[MessageQueue], message: &Message, arg: &str) -> Result<usize> {
        Ok(self.select(queues, message, arg) % queues.len().max(1))
    }
}

/// What a selector written in a binding's language answered.
#[derive(Debug, Clone, PartialEq)]
pub enum SelectorAnswer {
    /// A number: it must be an integer naming one of the queues.
    Number(f64),
    /// Something else, described for the error (`"a string"`, `"None"`, ...).
    Unusable(String),
    /// The selector failed, said as what completes "the queue selector ..." in its language
    /// (`raised ValueError: ...`, `threw: ...`).
    Failed(String),
}

/// A binding's selector, a function of the message and the number of queues: the core checks
/// its answer, so every language accepts and refuses the same. An answer that is not an integer
/// from 0 to `queue_count - 1`, or a failure, fails the send with InvalidArgument before anything
/// is sent.
pub struct ForeignSelector<F>(pub F);

impl<F> std::fmt::Debug for ForeignSelector<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ForeignSelector")
    }
}

impl<F> QueueSelector for ForeignSelector<F>
where
    F: Fn(&Message, usize) -> SelectorAnswer + Send + Sync,
{
    fn select(&self, queues: &[MessageQueue], message: &Message, arg: &str) -> usize {
        // The producer calls try_select; an unusable answer here means the first queue.
        self.try_select(queues, message, arg).unwrap_or(0)
    }

    fn try_select(&self, queues: &[MessageQueue], message: &Message, _arg: &str) -> Result<usize> {
        let count = queues.len();
        let refuse = |what: String| {
            crate::error::Error::invalid(
                "send",
                format!(
                    "the queue selector answered {what}; it must be an integer from 0 to {}",
                    count.saturating_sub(1)
                ),
            )
        };
        match (self.0)(message, count) {
            SelectorAnswer::Number(n) if n.fract() == 0.0 && n >= 0.0 && n < count as f64 => {
                Ok(n as usize)
            }
            SelectorAnswer::Number(n) => Err(refuse(n.to_string())),
            SelectorAnswer::Unusable(what) => Err(refuse(what)),
            SelectorAnswer::Failed(why) => Err(crate::error::Error::invalid(
                "send",
                format!("the queue selector {why}"),
            )),
        }
    }
}

/// Java's `SelectMessageQueueByHash`: `abs(arg.hashCode() % n)`, so the same key always lands
/// in the same queue (and in the same queue as Java producers choose).
#[derive(Debug, Default, Clone, Copy)]
pub struct SelectByHash;

/// Java `String.hashCode`.
pub(crate) fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, u| h.wrapping_mul(31).wrapping_add(i32::from(u)))
}

impl QueueSelector for SelectByHash {
    fn select(&self, queues: &[MessageQueue], _message: &Message, arg: &str) -> usize {
        let n = queues.len().max(1) as i32;
        (java_string_hash(arg) % n).unsigned_abs() as usize
    }
}

/// A uniformly random queue.
#[derive(Debug, Default, Clone, Copy)]
pub struct SelectByRandom;

impl QueueSelector for SelectByRandom {
    fn select(&self, queues: &[MessageQueue], _message: &Message, _arg: &str) -> usize {
        random_u64() as usize % queues.len().max(1)
    }
}

/// Each call takes the next queue.
#[derive(Debug, Default)]
pub struct SelectRoundRobin {
    next: AtomicUsize,
}

impl QueueSelector for SelectRoundRobin {
    fn select(&self, queues: &[MessageQueue], _message: &Message, _arg: &str) -> usize {
        self.next.fetch_add(1, Ordering::Relaxed) % queues.len().max(1)
    }
}

pub(crate) use crate::rt::random_u64;

/// Java `MQFaultStrategy` tables: a send that took at least `LATENCY_MAX[i]` ms makes its broker
/// unavailable for `NOT_AVAILABLE[i]` ms (largest such `i`).
const LATENCY_MAX: [u64; 7] = [50, 100, 550, 1800, 3000, 5000, 15000];
const NOT_AVAILABLE: [u64; 7] = [0, 0, 2000, 5000, 6000, 10000, 30000];

/// Remembers brokers that were slow or failing and until when to avoid them.
#[derive(Debug, Default)]
pub(crate) struct FaultTracker {
    until: Mutex<HashMap<String, Instant>>,
}

impl FaultTracker {
    /// Records a send to `broker` that took `latency`; `isolate` marks a failure (treated as
    /// 10 s of latency, as Java does).
    pub(crate) fn record(&self, broker: &str, latency: Duration, isolate: bool) {
        let ms = if isolate {
            10_000
        } else {
            latency.as_millis() as u64
        };
        let pause = LATENCY_MAX
            .iter()
            .rposition(|max| ms >= *max)
            .map(|i| NOT_AVAILABLE[i])
            .unwrap_or(0);
        let mut until = self.until.lock().unwrap_or_else(|e| e.into_inner());
        if pause == 0 {
            until.remove(broker);
        } else {
            until.insert(
                broker.to_owned(),
                Instant::now() + Duration::from_millis(pause),
            );
        }
    }

    /// Whether `broker` may be used now.
    pub(crate) fn is_available(&self, broker: &str) -> bool {
        let until = self.until.lock().unwrap_or_else(|e| e.into_inner());
        until.get(broker).is_none_or(|t| Instant::now() >= *t)
    }
}

/// Round robin over `queues` from `start`, skipping `avoid_broker` and unavailable brokers
/// when any other queue exists.
pub(crate) fn pick_queue<'a>(
    queues: &'a [MessageQueue],
    start: usize,
    avoid_broker: Option<&str>,
    faults: Option<&FaultTracker>,
) -> Option<&'a MessageQueue> {
    let n = queues.len();
    if n == 0 {
        return None;
    }
    let ok = |mq: &MessageQueue| {
        avoid_broker != Some(mq.broker_name.as_str())
            && faults.is_none_or(|f| f.is_available(&mq.broker_name))
    };
    (0..n)
        .map(|i| &queues[(start + i) % n])
        .find(|mq| ok(mq))
        .or_else(|| {
            (0..n)
                .map(|i| &queues[(start + i) % n])
                .find(|mq| avoid_broker != Some(mq.broker_name.as_str()))
        })
        .or(Some(&queues[start % n]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queues() -> Vec<MessageQueue> {
        (0..4)
            .map(|i| MessageQueue::new("T", if i < 2 { "a" } else { "b" }, i % 2))
            .collect()
    }

    #[test]
    fn hash_selector_matches_java() {
        // "order-1".hashCode() = -1207111310 in Java; % 4 = -2 -> 2.
        assert_eq!(java_string_hash("order-1"), -1207111310);
        let m = Message::new("T", "x");
        assert_eq!(SelectByHash.select(&queues(), &m, "order-1"), 2);
    }

    #[test]
    fn a_foreign_selectors_answer_is_checked_by_the_core() {
        let queues: Vec<MessageQueue> = (0..3)
            .map(|i| MessageQueue {
                topic: "T".into(),
                broker_name: "b".into(),
                queue_id: i,
            })
            .collect();
        let m = Message::new("T", "x");
        let answer = |a: SelectorAnswer| {
            ForeignSelector(move |_: &Message, n: usize| {
                assert_eq!(n, 3);
                a.clone()
            })
            .try_select(&queues, &m, "")
        };
        assert_eq!(answer(SelectorAnswer::Number(2.0)).ok(), Some(2));
        for bad in [
            SelectorAnswer::Number(3.0),
            SelectorAnswer::Number(-1.0),
            SelectorAnswer::Number(1.5),
            SelectorAnswer::Number(f64::NAN),
            SelectorAnswer::Unusable("a string".into()),
            SelectorAnswer::Failed("boom".into()),
        ] {
            let e = answer(bad.clone()).expect_err("refused");
            assert_eq!(
                e.kind(),
                crate::error::ErrorKind::InvalidArgument,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn try_select_defaults_to_select_modulo_the_queues() {
        struct Tenth;
        impl QueueSelector for Tenth {
            fn select(&self, _: &[MessageQueue], _: &Message, _: &str) -> usize {
                10
            }
        }
        let m = Message::new("T", "x");
        assert_eq!(Tenth.try_select(&queues(), &m, "").ok(), Some(2));
        assert_eq!(Tenth.try_select(&[], &m, "").ok(), Some(0));
    }

    #[test]
    fn picking_skips_the_failed_broker_and_isolated_ones() {
        let q = queues();
        assert_eq!(
            pick_queue(&q, 0, Some("a"), None).map(|m| m.broker_name.as_str()),
            Some("b")
        );
        let faults = FaultTracker::default();
        faults.record("a", Duration::ZERO, true);
        assert!(!faults.is_available("a"));
        assert_eq!(
            pick_queue(&q, 1, None, Some(&faults)).map(|m| m.broker_name.as_str()),
            Some("b")
        );
        faults.record("a", Duration::from_millis(10), false);
        assert!(faults.is_available("a"));
    }
}
