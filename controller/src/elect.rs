//! Choosing a master (Apache's `DefaultElectPolicy`).
//!
//! Candidates are first the sync state set, then (only with `enableElectUncleanMaster=true`)
//! every replica. Among the candidates that are alive: the old master stays if it is alive and
//! nobody was designated; a designated replica wins if it is alive, else nobody does; otherwise
//! the replica with the highest epoch, then the highest commitlog end, then the lowest election
//! priority, then the lowest id.

use std::collections::BTreeSet;

/// What the policy needs to know about replicas: liveness and their last heartbeat.
pub trait Liveness {
    /// Whether the replica heartbeats.
    fn is_alive(&self, cluster_name: &str, broker_name: &str, broker_id: i64) -> bool;

    /// `(epoch, max_offset, election_priority)` from its last heartbeat.
    fn rank(
        &self,
        cluster_name: &str,
        broker_name: &str,
        broker_id: i64,
    ) -> Option<(i32, i64, i32)>;
}

/// Picks the new master of `broker_name` (see the module docs); `None` when no candidate is
/// alive (or the designated one is not).
pub fn elect(
    live: &dyn Liveness,
    cluster_name: &str,
    broker_name: &str,
    sync_state_set: &BTreeSet<i64>,
    all_replicas: Option<&BTreeSet<i64>>,
    old_master: Option<i64>,
    preferred: Option<i64>,
) -> Option<i64> {
    let from = |candidates: &BTreeSet<i64>| {
        try_elect(
            live,
            cluster_name,
            broker_name,
            candidates,
            old_master,
            preferred,
        )
    };
    from(sync_state_set).or_else(|| all_replicas.and_then(from))
}

fn try_elect(
    live: &dyn Liveness,
    cluster_name: &str,
    broker_name: &str,
    candidates: &BTreeSet<i64>,
    old_master: Option<i64>,
    preferred: Option<i64>,
) -> Option<i64> {
    let alive: Vec<i64> = candidates
        .iter()
        .copied()
        .filter(|&id| live.is_alive(cluster_name, broker_name, id))
        .collect();
    if alive.is_empty() {
        return None;
    }
    if let Some(old) = old_master {
        if alive.contains(&old) && preferred.is_none_or(|p| p == old) {
            return Some(old);
        }
    }
    if let Some(p) = preferred {
        return alive.contains(&p).then_some(p);
    }
    // Highest epoch, then highest offset, then lowest priority; ties go to the lowest id.
    alive.into_iter().min_by_key(|&id| {
        let (epoch, offset, priority) =
            live.rank(cluster_name, broker_name, id)
                .unwrap_or((-1, -1, i32::MAX));
        (
            std::cmp::Reverse(epoch),
            std::cmp::Reverse(offset),
            priority,
            id,
        )
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// Liveness from a table: id -> (epoch, offset, priority); absent = dead.
    #[derive(Debug, Default)]
    pub(crate) struct Table(pub(crate) BTreeMap<i64, (i32, i64, i32)>);

    impl Liveness for Table {
        fn is_alive(&self, _: &str, _: &str, id: i64) -> bool {
            self.0.contains_key(&id)
        }
        fn rank(&self, _: &str, _: &str, id: i64) -> Option<(i32, i64, i32)> {
            self.0.get(&id).copied()
        }
    }

    fn set(ids: &[i64]) -> BTreeSet<i64> {
        ids.iter().copied().collect()
    }

    #[test]
    fn old_master_stays_while_alive() {
        let live = Table([(1, (1, 10, 0)), (2, (1, 99, 0))].into_iter().collect());
        assert_eq!(
            elect(&live, "c", "b", &set(&[1, 2]), None, Some(1), None),
            Some(1)
        );
    }

    #[test]
    fn best_epoch_then_offset_then_priority() {
        let live = Table(
            [
                (2, (1, 50, 0)),
                (3, (2, 10, 0)),
                (4, (2, 10, -1)),
                (5, (2, 9, -5)),
            ]
            .into_iter()
            .collect(),
        );
        let got = elect(&live, "c", "b", &set(&[1, 2, 3, 4, 5]), None, Some(1), None);
        assert_eq!(got, Some(4), "epoch 2, offset 10, lower priority");
    }

    #[test]
    fn designated_replica_or_nothing() {
        let live = Table([(2, (1, 1, 0)), (3, (1, 1, 0))].into_iter().collect());
        assert_eq!(
            elect(&live, "c", "b", &set(&[1, 2, 3]), None, Some(1), Some(3)),
            Some(3)
        );
        assert_eq!(
            elect(&live, "c", "b", &set(&[1, 2, 3]), None, Some(1), Some(4)),
            None
        );
        // A designated replica beats a live old master.
        assert_eq!(
            elect(&live, "c", "b", &set(&[2, 3]), None, Some(2), Some(3)),
            Some(3)
        );
    }

    #[test]
    fn unclean_only_when_all_replicas_are_offered() {
        let live = Table([(3, (1, 1, 0))].into_iter().collect());
        let sync = set(&[1, 2]);
        let all = set(&[1, 2, 3]);
        assert_eq!(elect(&live, "c", "b", &sync, None, Some(1), None), None);
        assert_eq!(
            elect(&live, "c", "b", &sync, Some(&all), Some(1), None),
            Some(3)
        );
    }
}
