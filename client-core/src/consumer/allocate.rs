//! Queue allocation strategies of a clustering consumer group (docs/protocol.md, "Rebalancing").
//! Every member of a group must use the same one; inputs arrive sorted.

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

/// `AllocateMessageQueueConsistentHash`: a hash ring of `virtual_nodes` points per consumer
/// (`<clientId>-<k>`); each queue goes to the first point at or after the hash of its Java
/// `toString`, so few queues move when members come and go. Hash: the first 4 bytes of MD5.
#[derive(Debug, Clone, Copy)]
pub struct ConsistentHash {
    /// Points per consumer (10).
    pub virtual_nodes: usize,
}

impl Default for ConsistentHash {
    fn default() -> Self {
        ConsistentHash { virtual_nodes: 10 }
    }
}

fn ring_hash(key: &str) -> u32 {
    let d = md5(key.as_bytes());
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

impl AllocateStrategy for ConsistentHash {
    fn name(&self) -> &str {
        "CONSISTENT_HASH"
    }

    fn allocate(&self, me: &str, all: &[MessageQueue], consumers: &[String]) -> Vec<MessageQueue> {
        if !consumers.iter().any(|c| c == me) {
            return Vec::new();
        }
        let mut ring = std::collections::BTreeMap::new();
        for c in consumers {
            for k in 0..self.virtual_nodes {
                ring.insert(ring_hash(&format!("{c}-{k}")), c.as_str());
            }
        }
        all.iter()
            .filter(|mq| {
                let key = format!(
                    "MessageQueue [topic={}, brokerName={}, queueId={}]",
                    mq.topic, mq.broker_name, mq.queue_id
                );
                let h = ring_hash(&key);
                let owner = ring
                    .range(h..)
                    .next()
                    .or_else(|| ring.iter().next())
                    .map(|(_, c)| *c);
                owner == Some(me)
            })
            .cloned()
            .collect()
    }
}

/// Tells in which machine room a broker and a consumer are deployed
/// (Java `MachineRoomResolver`).
pub trait MachineRoomResolver: Send + Sync + std::fmt::Debug {
    /// The room of a queue's broker.
    fn broker_room(&self, queue: &MessageQueue) -> String;
    /// The room of a consumer, by client id.
    fn consumer_room(&self, client_id: &str) -> String;
}

/// `AllocateMachineRoomNearby`: queues are shared with `inner` among the consumers of the same
/// room; queues of rooms without any consumer are shared by all consumers.
#[derive(Debug)]
pub struct MachineRoomNearby<S, R> {
    /// Strategy used within a room.
    pub inner: S,
    /// Where brokers and consumers are.
    pub resolver: R,
}

impl<S: AllocateStrategy, R: MachineRoomResolver> AllocateStrategy for MachineRoomNearby<S, R> {
    fn name(&self) -> &str {
        "MACHINE_ROOM_NEARBY"
    }

    fn allocate(&self, me: &str, all: &[MessageQueue], consumers: &[String]) -> Vec<MessageQueue> {
        use std::collections::BTreeMap;
        if !consumers.iter().any(|c| c == me) {
            return Vec::new();
        }
        let mut room_queues: BTreeMap<String, Vec<MessageQueue>> = BTreeMap::new();
        for mq in all {
            room_queues
                .entry(self.resolver.broker_room(mq))
                .or_default()
                .push(mq.clone());
        }
        let mut room_consumers: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for c in consumers {
            room_consumers
                .entry(self.resolver.consumer_room(c))
                .or_default()
                .push(c.clone());
        }
        let mine = self.resolver.consumer_room(me);
        let mut out = Vec::new();
        if let (Some(queues), Some(members)) =
            (room_queues.remove(&mine), room_consumers.get(&mine))
        {
            out.extend(self.inner.allocate(me, &queues, members));
        }
        for (room, queues) in room_queues {
            if !room_consumers.contains_key(&room) {
                out.extend(self.inner.allocate(me, &queues, consumers));
            }
        }
        out
    }
}

/// MD5 (RFC 1321), for the consistent-hash ring only.
fn md5(input: &[u8]) -> [u8; 16] {
    const S: [u32; 64] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5,
        9, 14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10,
        15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
    ];
    let k: Vec<u32> = (0..64)
        .map(|i: i32| ((f64::from(i + 1)).sin().abs() * 4_294_967_296.0) as u32)
        .collect();
    let mut msg = input.to_vec();
    let bit_len = (input.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_le_bytes());
    let (mut a0, mut b0, mut c0, mut d0) = (
        0x6745_2301u32,
        0xefcd_ab89u32,
        0x98ba_dcfeu32,
        0x1032_5476u32,
    );
    for chunk in msg.chunks_exact(64) {
        let m: Vec<u32> = chunk
            .chunks_exact(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        let (mut a, mut b, mut c, mut d) = (a0, b0, c0, d0);
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let f = f.wrapping_add(a).wrapping_add(k[i]).wrapping_add(m[g]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(f.rotate_left(S[i]));
        }
        a0 = a0.wrapping_add(a);
        b0 = b0.wrapping_add(b);
        c0 = c0.wrapping_add(c);
        d0 = d0.wrapping_add(d);
    }
    let mut out = [0u8; 16];
    for (i, v) in [a0, b0, c0, d0].iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&v.to_le_bytes());
    }
    out
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
    fn md5_known_answers() {
        let hex = |d: [u8; 16]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(hex(md5(b"")), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(
            hex(md5(b"The quick brown fox jumps over the lazy dog")),
            "9e107d9d372bb6826bd81d3542a419d6"
        );
    }

    #[test]
    fn consistent_hash_partitions_and_moves_little() {
        let all = queues(16);
        let c3 = ids(3);
        let mut seen = Vec::new();
        for me in &c3 {
            seen.extend(ids_of(&ConsistentHash::default().allocate(me, &all, &c3)));
        }
        seen.sort();
        assert_eq!(
            seen,
            (0..16).collect::<Vec<_>>(),
            "every queue exactly once"
        );
        // c2 leaves: what c0 had, it keeps.
        let c2 = ids(2);
        let before = ConsistentHash::default().allocate("c0", &all, &c3);
        let after = ConsistentHash::default().allocate("c0", &all, &c2);
        assert!(before.iter().all(|q| after.contains(q)));
    }

    #[derive(Debug)]
    struct Rooms;

    impl MachineRoomResolver for Rooms {
        fn broker_room(&self, queue: &MessageQueue) -> String {
            queue
                .broker_name
                .split('@')
                .next()
                .unwrap_or_default()
                .to_owned()
        }
        fn consumer_room(&self, client_id: &str) -> String {
            client_id.split('@').next().unwrap_or_default().to_owned()
        }
    }

    #[test]
    fn machine_room_nearby_prefers_the_own_room() {
        let all: Vec<_> = ["r1@a", "r1@a", "r2@b", "r2@b", "r3@c", "r3@c"]
            .iter()
            .enumerate()
            .map(|(i, b)| MessageQueue::new("T", *b, i as i32))
            .collect();
        let consumers = vec!["r1@x".to_owned(), "r2@y".to_owned()];
        let s = MachineRoomNearby {
            inner: Averagely,
            resolver: Rooms,
        };
        // r1@x: both r1 queues, plus its share of the consumer-less room r3.
        assert_eq!(ids_of(&s.allocate("r1@x", &all, &consumers)), [0, 1, 4]);
        assert_eq!(ids_of(&s.allocate("r2@y", &all, &consumers)), [2, 3, 5]);
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
