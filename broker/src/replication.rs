//! What the broker knows about replication (docs/protocol.md, "Replication"): on a master, the
//! connected slaves and the offsets they acknowledged, which SYNC_MASTER sends wait on; on a
//! slave, its master's HA address as the name servers report it.
//!
//! A leaf: the HA services (`services::ha`) keep it current, the send handler waits on it.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use ferromq_common::lock;
use tokio::sync::{oneshot, watch};

/// One connected slave.
#[derive(Debug, Clone)]
pub(crate) struct SlaveLink {
    /// Where it connected from.
    pub(crate) addr: SocketAddr,
    /// The offset it last reported: its commitlog holds everything below.
    pub(crate) ack: u64,
    /// Where the transfer to it started (0 until its first report was answered).
    pub(crate) transfer_from: u64,
    /// Bytes sent to it, per second.
    pub(crate) sent: Rate,
}

/// A slave's connection to its master, while it is up.
#[derive(Debug, Clone, Default)]
pub(crate) struct MasterLink {
    /// The master's HA address.
    pub(crate) addr: String,
    /// When the master last sent something (ms since the epoch).
    pub(crate) last_read_ms: i64,
    /// When this slave last reported its offset (ms since the epoch).
    pub(crate) last_write_ms: i64,
    /// Bytes received, per second.
    pub(crate) received: Rate,
}

/// A byte count per wall-clock second: what the last complete second carried.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Rate {
    second: i64,
    this_second: u64,
    last_second: u64,
}

impl Rate {
    /// Counts `bytes` at `now_ms`.
    pub(crate) fn add(&mut self, bytes: u64, now_ms: i64) {
        self.roll(now_ms);
        self.this_second += bytes;
    }

    /// Bytes of the second before the one `now_ms` falls in.
    pub(crate) fn per_second(mut self, now_ms: i64) -> u64 {
        self.roll(now_ms);
        self.last_second
    }

    fn roll(&mut self, now_ms: i64) {
        let second = now_ms.div_euclid(1000);
        if second != self.second {
            self.last_second = if second == self.second + 1 {
                self.this_second
            } else {
                0
            };
            self.this_second = 0;
            self.second = second;
        }
    }
}

/// How a SYNC_MASTER send ended up waiting for its slaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Replicated {
    /// Enough slaves have the message.
    Yes,
    /// Not enough slaves are connected and in sync to wait for (SLAVE_NOT_AVAILABLE).
    NoSlave,
    /// The slaves did not acknowledge in time (FLUSH_SLAVE_TIMEOUT).
    TimedOut,
}

/// Replication state shared by the HA services and the send path.
#[derive(Debug)]
pub(crate) struct Replication {
    slaves: Mutex<HashMap<u64, SlaveLink>>,
    connected: AtomicUsize,
    next_id: AtomicU64,
    /// The commitlog's end after the last local append, published while slaves are connected.
    log_end: watch::Sender<u64>,
    /// SYNC_MASTER sends waiting for acknowledgements, woken only once theirs arrived.
    waiters: Mutex<Waiters>,
    /// A slave's master: (HA address, broker address), from the name servers.
    master: Mutex<Option<(String, String)>>,
    /// A slave's live connection to its master.
    master_link: Mutex<Option<MasterLink>>,
    /// Controller mode: role, epochs, sync state set, confirm offset.
    pub(crate) auto: crate::services::ha::autoswitch::State,
}

/// Sends waiting for slaves, by how many acknowledgements they need, then by the offset they
/// wait for.
#[derive(Debug, Default)]
struct Waiters {
    next: u64,
    by_needed: BTreeMap<usize, BTreeMap<(u64, u64), oneshot::Sender<()>>>,
}

impl Waiters {
    /// A waiter for `end` acknowledged by `needed` slaves; its key and its wake-up.
    fn add(&mut self, end: u64, needed: usize) -> ((u64, u64), oneshot::Receiver<()>) {
        let (tx, rx) = oneshot::channel();
        self.next += 1;
        let key = (end, self.next);
        self.by_needed.entry(needed).or_default().insert(key, tx);
        (key, rx)
    }

    fn remove(&mut self, needed: usize, key: (u64, u64)) {
        if let Some(waiting) = self.by_needed.get_mut(&needed) {
            waiting.remove(&key);
        }
    }

    /// Wakes every waiter whose offset `needed` slaves have acknowledged; `acks` is sorted, the
    /// highest first.
    fn release(&mut self, acks: &[u64]) {
        for (needed, waiting) in &mut self.by_needed {
            let Some(&reached) = acks.get(needed.saturating_sub(1)) else {
                continue;
            };
            let later = waiting.split_off(&(reached.saturating_add(1), 0));
            for (_, tx) in std::mem::replace(waiting, later) {
                let _ = tx.send(());
            }
        }
    }
}

/// The slaves' acknowledged offsets, highest first.
fn sorted_acks(slaves: &HashMap<u64, SlaveLink>) -> Vec<u64> {
    let mut acks: Vec<u64> = slaves.values().map(|s| s.ack).collect();
    acks.sort_unstable_by(|a, b| b.cmp(a));
    acks
}

impl Default for Replication {
    fn default() -> Self {
        Replication {
            slaves: Mutex::default(),
            connected: AtomicUsize::new(0),
            next_id: AtomicU64::new(1),
            log_end: watch::channel(0).0,
            waiters: Mutex::default(),
            master: Mutex::default(),
            master_link: Mutex::default(),
            auto: Default::default(),
        }
    }
}

impl Replication {
    /// The store's append listener: wakes the slaves' connections (a no-op without slaves).
    pub(crate) fn appended(&self, end: u64) {
        // A controller-mode master alone in its sync state set confirms what it writes.
        if matches!(
            self.auto.role(),
            crate::services::ha::autoswitch::Role::Master { .. }
        ) {
            self.auto.update_confirm(end);
        }
        if self.connected.load(Ordering::Acquire) > 0 {
            self.log_end.send_replace(end);
        }
    }

    /// Follows the commitlog's end (for a slave's connection).
    pub(crate) fn watch_log_end(&self) -> watch::Receiver<u64> {
        self.log_end.subscribe()
    }

    /// Registers a slave's connection; its id.
    pub(crate) fn connect(&self, addr: SocketAddr) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let link = SlaveLink {
            addr,
            ack: 0,
            transfer_from: 0,
            sent: Rate::default(),
        };
        lock(&self.slaves).insert(id, link);
        self.connected.fetch_add(1, Ordering::AcqRel);
        id
    }

    /// Records a slave's report and releases the sends it completes.
    pub(crate) fn ack(&self, id: u64, offset: u64) {
        let acks = {
            let mut slaves = lock(&self.slaves);
            if let Some(link) = slaves.get_mut(&id) {
                link.ack = link.ack.max(offset);
            }
            sorted_acks(&slaves)
        };
        lock(&self.waiters).release(&acks);
    }

    /// Records where the transfer to a slave starts.
    pub(crate) fn transfer_from(&self, id: u64, offset: u64) {
        if let Some(link) = lock(&self.slaves).get_mut(&id) {
            link.transfer_from = offset;
        }
    }

    /// Counts bytes sent to a slave.
    pub(crate) fn sent(&self, id: u64, bytes: u64) {
        if let Some(link) = lock(&self.slaves).get_mut(&id) {
            link.sent.add(bytes, ferromq_common::now_ms());
        }
    }

    /// Forgets a slave's connection.
    pub(crate) fn disconnect(&self, id: u64) {
        if lock(&self.slaves).remove(&id).is_some() {
            self.connected.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// The connected slaves.
    pub(crate) fn slaves(&self) -> Vec<SlaveLink> {
        lock(&self.slaves).values().cloned().collect()
    }

    /// Waits until `needed` slaves acknowledged `end` (the end of a stored message).
    ///
    /// As Apache 4.x's SYNC_MASTER: answers [`Replicated::NoSlave`] at once when fewer than
    /// `needed` slaves are connected within `max_gap` bytes of `master_end`, and
    /// [`Replicated::TimedOut`] when they do not acknowledge within `timeout`.
    pub(crate) async fn wait(
        &self,
        end: u64,
        needed: usize,
        master_end: u64,
        max_gap: u64,
        timeout: Duration,
    ) -> Replicated {
        let in_sync = lock(&self.slaves)
            .values()
            .filter(|s| master_end.saturating_sub(s.ack) < max_gap)
            .count();
        if in_sync < needed {
            return Replicated::NoSlave;
        }
        // Registered before the check, so an acknowledgement in between is not missed; only
        // the waiters an acknowledgement completes are woken (64 senders waiting would
        // otherwise all wake for every report).
        let (key, rx) = lock(&self.waiters).add(end, needed);
        let acks = sorted_acks(&lock(&self.slaves));
        lock(&self.waiters).release(&acks);
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(())) => Replicated::Yes,
            // The sender is only dropped with the whole table (shutdown).
            Ok(Err(_)) => Replicated::TimedOut,
            Err(_) => {
                lock(&self.waiters).remove(needed, key);
                Replicated::TimedOut
            }
        }
    }

    /// Remembers the master a slave replicates (from a registration answer); whether it changed.
    pub(crate) fn set_master(&self, ha_addr: &str, addr: &str) -> bool {
        let next = Some((ha_addr.to_owned(), addr.to_owned()));
        let mut master = lock(&self.master);
        let changed = *master != next;
        *master = next;
        changed
    }

    /// Forgets the master learned from the name servers (this broker became master).
    pub(crate) fn clear_master(&self) {
        *lock(&self.master) = None;
    }

    /// The master's broker address a slave learned from the name servers.
    pub(crate) fn master_addr(&self) -> Option<String> {
        lock(&self.master).as_ref().map(|(_, addr)| addr.clone())
    }

    /// The master's HA address a slave learned from the name servers.
    pub(crate) fn master_ha_addr(&self) -> Option<String> {
        lock(&self.master).as_ref().map(|(ha, _)| ha.clone())
    }

    /// Where a slave replicates from: `configured` (`haMasterAddress`) when set, else the
    /// address learned from the name servers.
    pub(crate) fn master_target(&self, configured: &str) -> Option<String> {
        let configured = configured.trim();
        if configured.is_empty() {
            self.master_ha_addr()
        } else {
            Some(configured.to_owned())
        }
    }

    /// A slave connected to its master at `addr`.
    pub(crate) fn master_connected(&self, addr: &str) {
        *lock(&self.master_link) = Some(MasterLink {
            addr: addr.to_owned(),
            ..MasterLink::default()
        });
    }

    /// A slave received `bytes` from its master (a heartbeat is 0).
    pub(crate) fn master_read(&self, bytes: u64) {
        let now = ferromq_common::now_ms();
        if let Some(link) = lock(&self.master_link).as_mut() {
            link.last_read_ms = now;
            link.received.add(bytes, now);
        }
    }

    /// A slave reported its offset to its master.
    pub(crate) fn master_written(&self) {
        if let Some(link) = lock(&self.master_link).as_mut() {
            link.last_write_ms = ferromq_common::now_ms();
        }
    }

    /// A slave's connection to its master ended.
    pub(crate) fn master_disconnected(&self) {
        *lock(&self.master_link) = None;
    }

    /// A slave's connection to its master, while it is up: the master is alive.
    pub(crate) fn master_link(&self) -> Option<MasterLink> {
        lock(&self.master_link).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr() -> SocketAddr {
        "127.0.0.1:1".parse().unwrap_or_else(|_| unreachable!())
    }

    #[tokio::test]
    async fn a_send_waits_for_an_ack_past_its_end() {
        let r = std::sync::Arc::new(Replication::default());
        let id = r.connect(addr());
        r.ack(id, 100);
        let t = Duration::from_secs(5);
        assert_eq!(r.wait(100, 1, 100, 1000, t).await, Replicated::Yes);
        let waiter = {
            let r = r.clone();
            tokio::spawn(async move { r.wait(300, 1, 300, 1000, t).await })
        };
        r.ack(id, 200);
        r.ack(id, 300);
        assert_eq!(waiter.await.ok(), Some(Replicated::Yes));
    }

    #[tokio::test]
    async fn no_slave_or_a_lagging_one_is_not_waited_for() {
        let r = Replication::default();
        let t = Duration::from_secs(5);
        assert_eq!(r.wait(10, 1, 10, 1000, t).await, Replicated::NoSlave);
        let id = r.connect(addr());
        r.ack(id, 10);
        assert_eq!(
            r.wait(5000, 1, 5000, 1000, t).await,
            Replicated::NoSlave,
            "4990 bytes behind with a 1000-byte gap allowed"
        );
        r.disconnect(id);
        assert!(r.slaves().is_empty());
    }

    #[test]
    fn a_rate_is_the_last_complete_second() {
        let mut r = Rate::default();
        r.add(10, 5_000);
        r.add(5, 5_999);
        assert_eq!(r.per_second(5_500), 0, "the second is not over");
        assert_eq!(r.per_second(6_200), 15);
        r.add(7, 6_300);
        assert_eq!(r.per_second(7_000), 7);
        assert_eq!(r.per_second(9_000), 0, "nothing in the second before");
    }

    #[tokio::test]
    async fn an_ack_wakes_only_the_sends_it_completes_and_two_slaves_count_twice() {
        let r = std::sync::Arc::new(Replication::default());
        let (a, b) = (r.connect(addr()), r.connect(addr()));
        let t = Duration::from_secs(5);
        let spawn = |end, needed| {
            let r = r.clone();
            tokio::spawn(async move { r.wait(end, needed, end, 1 << 30, t).await })
        };
        let (first, second, both) = (spawn(100, 1), spawn(200, 1), spawn(100, 2));
        tokio::task::yield_now().await;
        r.ack(a, 150);
        assert_eq!(first.await.ok(), Some(Replicated::Yes));
        assert!(!second.is_finished() && !both.is_finished());
        r.ack(b, 120);
        assert_eq!(
            both.await.ok(),
            Some(Replicated::Yes),
            "two slaves past 100"
        );
        r.ack(b, 250);
        assert_eq!(second.await.ok(), Some(Replicated::Yes));
        assert!(lock(&r.waiters).by_needed.values().all(BTreeMap::is_empty));
    }

    #[tokio::test]
    async fn a_silent_slave_times_the_send_out() {
        let r = Replication::default();
        let id = r.connect(addr());
        r.ack(id, 50);
        let waited = r.wait(60, 1, 60, 1000, Duration::from_millis(100)).await;
        assert_eq!(waited, Replicated::TimedOut);
    }
}
