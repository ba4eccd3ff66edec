//! Queue allocation strategies of a clustering consumer group (protocol.md 7.3). Every member
//! of a group must use the same one; inputs arrive sorted.

use ferromq_protocol::body::MessageQueue;

/// Decides which of a topic's queues this consumer takes.
pub trait AllocateStrategy: Send + Sync + std::fmt::Debug {
    /// The strategy's Java name (`AVG`, `AVG_BY_CIRCLE`, ...), reported to the broker.
    fn name(&self) -> &str;

    /// The queues of `all` (sorted) that `me` gets among `consumers` (sorted client ids).
    fn allocate(&self, me: &str, all: &[MessageQueue], consumers: &[String]) -> Vec<MessageQueue>;
}

/// `AllocateMessageQueueAveragely` (the default): consecutive ranges of nearly equal size.
#[derive(Debug, Default, Clone, Copy)]
pub struct Averagely;

impl AllocateStrategy for Averagely {
    fn name(&self) -> &str {
        "AVG"
    }

    fn allocate(&self, me: &str, all: &[MessageQueue], consumers: &[String]) -> Vec<MessageQueue> {
        let Some(i) = consumers.iter().position(|c| c == me) else {
            return Vec::new();
        };
        let (m, n) = (all.len(), consumers.len());
        if m == 0 {
            return Vec::new();
        }
        let rem = m % n;
        let avg = if m <= n {
            1
        } else if rem > 0 && i < rem {
            m / n + 1
        } else {
            m / n
        };
        let start = if rem > 0 && i < rem {
            i * avg
        } else {
            i * avg + rem
        };
        let take = avg.min(m.saturating_sub(start));
        all.iter().skip(start).take(take).cloned().collect()
    }
}

/// `AllocateMessageQueueAveragelyByCircle`: queue `j` goes to consumer `j % n`.
#[derive(Debug, Default, Clone, Copy)]
pub struct AveragelyByCircle;

impl AllocateStrategy for AveragelyByCircle {
    fn name(&self) -> &str {
        "AVG_BY_CIRCLE"
    }

    fn allocate(&self, me: &str, all: &[MessageQueue], consumers: &[String]) -> Vec<MessageQueue> {
        let Some(i) = consumers.iter().position(|c| c == me) else {
            return Vec::new();
        };
        let n = consumers.len();
        all.iter()
            .enumerate()
            .filter(|(j, _)| j % n == i)
            .map(|(_, q)| q.clone())
            .collect()
    }
}

/// `AllocateMessageQueueByConfig`: a fixed list, whatever the group looks like.
#[derive(Debug, Default, Clone)]
pub struct ByConfig {
    /// The queues to take.
    pub queues: Vec<MessageQueue>,
}

impl AllocateStrategy for ByConfig {
    fn name(&self) -> &str {
        "CONFIG"
    }

    fn allocate(
        &self,
        _me: &str,
        _all: &[MessageQueue],
        _consumers: &[String],
    ) -> Vec<MessageQueue> {
        self.queues.clone()
    }
}

/// `AllocateMessageQueueByMachineRoom`: only queues of brokers named `room@name` whose room is
/// in `rooms`, split evenly with the remainder spread one by one.
#[derive(Debug, Default, Clone)]
pub struct ByMachineRoom {
    /// The consumer's rooms.
    pub rooms: Vec<String>,
}

impl AllocateStrategy for ByMachineRoom {
    fn name(&self) -> &str {
        "MACHINE_ROOM"
    }

    fn allocate(&self, me: &str, all: &[MessageQueue], consumers: &[String]) -> Vec<MessageQueue> {
        let Some(i) = consumers.iter().position(|c| c == me) else {
            return Vec::new();
        };
        let premises: Vec<&MessageQueue> = all
            .iter()
            .filter(|q| {
                q.broker_name
                    .split_once('@')
                    .is_some_and(|(room, _)| self.rooms.iter().any(|r| r == room))
            })
            .collect();
        let n = consumers.len();
        let per = premises.len() / n;
        let mut out: Vec<MessageQueue> = premises
            .iter()
            .skip(i * per)
            .take(per)
            .map(|q| (*q).clone())
            .collect();
        let rem = premises.len() % n;
        if rem > i {
            out.push(premises[i + per * n].clone());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queues(m: i32) -> Vec<MessageQueue> {
        (0..m).map(|i| MessageQueue::new("T", "b", i)).collect()
    }

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("c{i}")).collect()
    }

    fn ids_of(qs: &[MessageQueue]) -> Vec<i32> {
        qs.iter().map(|q| q.queue_id).collect()
    }

    #[test]
    fn averagely_matches_java() {
        let all = queues(8);
        let c = ids(3);
        assert_eq!(ids_of(&Averagely.allocate("c0", &all, &c)), [0, 1, 2]);
        assert_eq!(ids_of(&Averagely.allocate("c1", &all, &c)), [3, 4, 5]);
        assert_eq!(ids_of(&Averagely.allocate("c2", &all, &c)), [6, 7]);
        // More consumers than queues: the last ones get nothing.
        let all = queues(2);
        assert_eq!(
            ids_of(&Averagely.allocate("c2", &all, &c)),
            Vec::<i32>::new()
        );
        assert_eq!(ids_of(&Averagely.allocate("c1", &all, &c)), [1]);
        assert!(Averagely.allocate("stranger", &all, &c).is_empty());
    }

    #[test]
    fn by_circle_and_by_machine_room() {
        let all = queues(5);
        let c = ids(2);
        assert_eq!(ids_of(&AveragelyByCircle.allocate("c1", &all, &c)), [1, 3]);
        let all: Vec<_> = ["r1@a", "r1@a", "r2@b", "r1@c", "r1@c"]
            .iter()
            .enumerate()
            .map(|(i, b)| MessageQueue::new("T", *b, i as i32))
            .collect();
        let s = ByMachineRoom {
            rooms: vec!["r1".to_owned()],
        };
        assert_eq!(ids_of(&s.allocate("c0", &all, &c)), [0, 1]);
        assert_eq!(ids_of(&s.allocate("c1", &all, &c)), [3, 4]);
    }
}
