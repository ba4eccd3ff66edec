//! Java's hash codes and hash-table iteration order: Apache's tools print sets and maps in the
//! order a default `java.util.HashMap` / `HashSet` iterates them, and scripts compare against
//! that output.

use ferromq_protocol::body::MessageQueue;

/// Java's `String.hashCode` (over UTF-16 code units, wrapping).
pub(crate) fn string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// Java's `MessageQueue.hashCode`.
pub(crate) fn queue_hash(mq: &MessageQueue) -> i32 {
    [
        string_hash(&mq.broker_name),
        mq.queue_id,
        string_hash(&mq.topic),
    ]
    .into_iter()
    .fold(1i32, |r, h| r.wrapping_mul(31).wrapping_add(h))
}

/// The bucket `hash` falls in within a Java hash table of `capacity` (a power of two).
pub(crate) fn bucket(hash: i32, capacity: usize) -> usize {
    let h = u32::from_ne_bytes(hash.to_ne_bytes());
    usize::try_from(h ^ (h >> 16)).unwrap_or(0) & (capacity - 1)
}

/// The capacity of a default Java hash table holding `n` keys: 16, doubled while more than
/// three quarters full.
fn capacity_for(n: usize) -> usize {
    let mut capacity = 16usize;
    while n > capacity / 4 * 3 {
        capacity *= 2;
    }
    capacity
}

/// The order in which a default `HashMap` / `HashSet` iterates distinct keys with these hash
/// codes, inserted in this order: bucket by bucket, insertion order within a bucket. (Java
/// turns a bucket of 8 or more keys into a tree, which never happens at these sizes.)
pub(crate) fn hash_order(hashes: &[i32]) -> Vec<usize> {
    let capacity = capacity_for(hashes.len());
    let mut order: Vec<usize> = (0..hashes.len()).collect();
    order.sort_by_key(|&i| (bucket(hashes[i], capacity), i));
    order
}

/// `items` (in insertion order) in the order a default `HashSet` of them iterates.
pub(crate) fn set_order<'a>(items: impl IntoIterator<Item = &'a String>) -> Vec<&'a String> {
    let items: Vec<&String> = items.into_iter().collect();
    let hashes: Vec<i32> = items.iter().map(|s| string_hash(s)).collect();
    hash_order(&hashes).into_iter().map(|i| items[i]).collect()
}

/// Sorts `queues` into the order a default `HashSet` (or `HashMap`, `ConcurrentHashMap`) of
/// them iterates.
pub(crate) fn sort_queues(queues: &mut [MessageQueue]) {
    let capacity = capacity_for(queues.len());
    queues.sort_by_cached_key(|mq| bucket(queue_hash(mq), capacity));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_hashes_are_javas() {
        assert_eq!(string_hash(""), 0);
        assert_eq!(string_hash("hello"), 99_162_322);
        assert_eq!(string_hash("TAGS"), 2_567_193);
        // Overflows wrap as in Java.
        assert_eq!(string_hash("polygenelubricants"), i32::MIN);
    }

    #[test]
    fn set_order_is_a_hash_sets() {
        // Java: new HashSet<>(List.of("TBW102", "DefaultCluster", "AdminTopic", "a", "b"))
        // iterates a, b, AdminTopic, TBW102, DefaultCluster (buckets 1, 2, 8, 11, 15 of 16).
        let names: Vec<String> = ["TBW102", "DefaultCluster", "AdminTopic", "a", "b"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let order: Vec<&str> = set_order(&names).into_iter().map(String::as_str).collect();
        assert_eq!(order, ["a", "b", "AdminTopic", "TBW102", "DefaultCluster"]);
    }

    #[test]
    fn queues_sort_as_apaches_print_msg_visits_them() {
        // Apache 5.3.3's printMsg visited queue 1 of CmpTopic on broker-x before queue 0.
        let mut queues: Vec<_> = (0..2)
            .map(|i| MessageQueue::new("CmpTopic", "broker-x", i))
            .collect();
        sort_queues(&mut queues);
        assert_eq!(queues[0].queue_id, 1);
    }
}
