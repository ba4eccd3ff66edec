//! Replication in controller mode (Apache 5.x's auto-switch HA, RIP-44): the same commitlog
//! streaming as classic HA, with master epochs so a replica that was master can find where its
//! log and the new master's agree ([`epoch`], [`wire`]).
//!
//! - [`master`]: while this broker is master, serves slaves on `haListenPort`: a handshake with
//!   its epochs, then transfer frames that never span two epochs and carry the confirm offset;
//!   slaves' acks expand the sync state set and move the confirm offset.
//! - [`slave`]: while this broker is a slave, follows the master the controllers named.
//! - [`State`] (here): what both share with the controller client (`crate::replicas`) and the
//!   send path: role, epochs, sync state set, per-slave progress and the confirm offset.

pub(crate) mod epoch;
pub(crate) mod master;
pub(crate) mod slave;
pub(crate) mod wire;

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use ferromq_common::lock;
use tokio::sync::watch;

use epoch::{EpochEntry, EpochFile};

/// This broker's place in its set, as the controllers last said.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) enum Role {
    /// Not decided yet (starting, or no master known).
    #[default]
    Unknown,
    /// Master of `epoch`.
    Master { epoch: i32 },
    /// Slave of the master at `addr` (broker address) with id `id`, in `epoch`.
    Slave { id: i64, addr: String, epoch: i32 },
}

/// A connected slave's progress, by its broker id.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SlaveProgress {
    /// What it acknowledged (its log's end).
    pub(crate) ack: u64,
    /// When it last had everything the master had (ms), for shrinking the set.
    pub(crate) caught_up_ms: i64,
    /// Open connections from it (a reconnect may overlap the old one).
    pub(crate) links: u32,
    /// The master's log end when it last sent to it, and when (ms): acknowledging that end
    /// means it was caught up at that time (Apache's rule, which holds under constant load).
    sent: (u64, i64),
}

#[derive(Debug, Default)]
struct Inner {
    epochs: EpochFile,
    sync_state_set: BTreeSet<i64>,
    sync_state_set_epoch: i32,
    slaves: HashMap<i64, SlaveProgress>,
    local_id: Option<i64>,
}

/// Controller-mode replication state.
#[derive(Debug)]
pub(crate) struct State {
    inner: Mutex<Inner>,
    role: watch::Sender<Role>,
    /// Everything below it is on every member of the sync state set.
    confirm: watch::Sender<u64>,
    /// Wakes the controller client: a slave caught up, or the controller notified a change.
    pub(crate) wake: tokio::sync::Notify,
    sync_requested: std::sync::atomic::AtomicBool,
}

impl Default for State {
    fn default() -> Self {
        State {
            inner: Mutex::default(),
            role: watch::channel(Role::Unknown).0,
            confirm: watch::channel(0).0,
            wake: tokio::sync::Notify::new(),
            sync_requested: std::sync::atomic::AtomicBool::new(false),
        }
    }
}

impl State {
    /// Asks the controller client to fetch the set's state now.
    pub(crate) fn sync_now(&self) {
        self.sync_requested
            .store(true, std::sync::atomic::Ordering::Release);
        self.wake.notify_one();
    }

    /// Whether a fetch was asked for since the last call.
    pub(crate) fn take_sync_request(&self) -> bool {
        self.sync_requested
            .swap(false, std::sync::atomic::Ordering::AcqRel)
    }

    /// Loads the epoch file (start-up).
    pub(crate) fn load_epochs(&self, file: EpochFile) {
        lock(&self.inner).epochs = file;
    }

    /// The id the controllers gave this broker.
    pub(crate) fn set_local_id(&self, id: i64) {
        lock(&self.inner).local_id = Some(id);
    }

    pub(crate) fn local_id(&self) -> Option<i64> {
        lock(&self.inner).local_id
    }

    pub(crate) fn role(&self) -> Role {
        self.role.borrow().clone()
    }

    pub(crate) fn watch_role(&self) -> watch::Receiver<Role> {
        self.role.subscribe()
    }

    pub(crate) fn set_role(&self, role: Role) {
        self.role.send_replace(role);
    }

    pub(crate) fn epochs(&self) -> Vec<EpochEntry> {
        lock(&self.inner).epochs.entries()
    }

    pub(crate) fn last_epoch(&self) -> i32 {
        lock(&self.inner).epochs.last_epoch()
    }

    /// Where `epoch` ends in a log ending at `log_end`, and where it starts.
    pub(crate) fn epoch_range(&self, offset: i64, log_end: i64) -> Option<(EpochEntry, i64)> {
        let g = lock(&self.inner);
        let entry = g.epochs.entry_at(offset)?;
        Some((entry, g.epochs.end_of(entry.epoch, log_end)?))
    }

    /// Runs `f` on the epoch file.
    pub(crate) fn with_epochs<T>(&self, f: impl FnOnce(&mut EpochFile) -> T) -> T {
        f(&mut lock(&self.inner).epochs)
    }

    pub(crate) fn sync_state_set(&self) -> (BTreeSet<i64>, i32) {
        let g = lock(&self.inner);
        (g.sync_state_set.clone(), g.sync_state_set_epoch)
    }

    /// Takes the controllers' sync state set unless an older one (by epoch).
    pub(crate) fn set_sync_state_set(&self, set: BTreeSet<i64>, epoch: i32) -> bool {
        let mut g = lock(&self.inner);
        if epoch < g.sync_state_set_epoch {
            return false;
        }
        let changed = g.sync_state_set != set || g.sync_state_set_epoch != epoch;
        g.sync_state_set = set;
        g.sync_state_set_epoch = epoch;
        changed
    }

    /// A slave connected (master side).
    pub(crate) fn slave_connected(&self, id: i64, now_ms: i64) {
        let mut g = lock(&self.inner);
        let p = g.slaves.entry(id).or_default();
        p.links += 1;
        p.caught_up_ms = p.caught_up_ms.max(now_ms);
    }

    /// The master sent a slave a frame at `now_ms` while its log ended at `end`.
    pub(crate) fn sent_to(&self, id: i64, end: u64, now_ms: i64) {
        if let Some(p) = lock(&self.inner).slaves.get_mut(&id) {
            if p.sent.0 <= end {
                p.sent = (end, now_ms);
            }
        }
    }

    /// A slave's connection ended.
    pub(crate) fn slave_disconnected(&self, id: i64) {
        let mut g = lock(&self.inner);
        if let Some(p) = g.slaves.get_mut(&id) {
            p.links = p.links.saturating_sub(1);
            if p.links == 0 {
                g.slaves.remove(&id);
            }
        }
    }

    /// A slave acknowledged `ack` while the master's log ended at `master_end`; whether it is a
    /// candidate for the sync state set (caught up with the master, not in it yet).
    pub(crate) fn slave_acked(&self, id: i64, ack: u64, master_end: u64, now_ms: i64) -> bool {
        let mut g = lock(&self.inner);
        let in_set = g.sync_state_set.contains(&id);
        let Some(p) = g.slaves.get_mut(&id) else {
            return false;
        };
        p.ack = p.ack.max(ack);
        if p.ack >= master_end {
            p.caught_up_ms = now_ms;
        } else if p.ack >= p.sent.0 {
            p.caught_up_ms = p.caught_up_ms.max(p.sent.1);
        }
        !in_set && p.ack >= *self.confirm.borrow()
    }

    pub(crate) fn slaves(&self) -> HashMap<i64, SlaveProgress> {
        lock(&self.inner).slaves.clone()
    }

    /// Recomputes a master's confirm offset: the least acknowledged offset among the sync state
    /// set's slaves, or the master's end when it is alone. A member not connected holds it where
    /// it is (as Apache). Never moves back.
    pub(crate) fn update_confirm(&self, master_end: u64) -> u64 {
        let g = lock(&self.inner);
        let local = g.local_id;
        let mut least = master_end;
        for id in g.sync_state_set.iter().filter(|id| Some(**id) != local) {
            match g.slaves.get(id) {
                Some(p) => least = least.min(p.ack),
                None => return *self.confirm.borrow(),
            }
        }
        drop(g);
        self.raise_confirm(least)
    }

    /// Raises the confirm offset to `offset` (a slave takes its master's); the value now.
    pub(crate) fn raise_confirm(&self, offset: u64) -> u64 {
        self.confirm.send_if_modified(|c| {
            let up = offset > *c;
            if up {
                *c = offset;
            }
            up
        });
        *self.confirm.borrow()
    }

    /// Sets the confirm offset (a new term, or a slave after truncation).
    pub(crate) fn reset_confirm(&self, offset: u64) {
        self.confirm.send_replace(offset);
    }

    pub(crate) fn confirm(&self) -> u64 {
        *self.confirm.borrow()
    }

    pub(crate) fn watch_confirm(&self) -> watch::Receiver<u64> {
        self.confirm.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confirm_is_the_least_ack_of_the_set_and_waits_for_absent_members() {
        let s = State::default();
        s.set_local_id(1);
        s.set_sync_state_set([1, 2, 3].into(), 1);
        s.slave_connected(2, 0);
        s.slave_acked(2, 500, 500, 0);
        assert_eq!(
            s.update_confirm(500),
            0,
            "3 is in the set but not connected"
        );
        s.slave_connected(3, 0);
        s.slave_acked(3, 300, 500, 0);
        assert_eq!(s.update_confirm(500), 300);
        s.set_sync_state_set([1, 2].into(), 2);
        assert_eq!(s.update_confirm(600), 500);
        assert_eq!(s.update_confirm(400), 500, "never back");
        assert!(s.slave_acked(3, 600, 600, 0), "caught up: a candidate");
        assert!(!s.set_sync_state_set([1].into(), 1), "older epoch ignored");
        // Under load the master's end moves on; acknowledging what was sent at 50 counts.
        s.sent_to(2, 700, 50);
        s.slave_acked(2, 700, 900, 80);
        assert_eq!(s.slaves()[&2].caught_up_ms, 50);
    }
}
