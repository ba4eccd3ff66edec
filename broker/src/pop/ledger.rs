//! The pop ledger: the durable record of which popped messages are in flight, and the pop offset
//! of each (group, topic, queue) (docs/pop.md, "Storage").
//!
//! One append-only file, `<storePathRootDir>/pop/ledger`. Every record is framed as
//! `u32 length | u32 crc32 | JSON payload` (little-endian). A record is written and fsynced
//! (`fdatasync`) before the request that wrote it is answered, and it is applied to the
//! in-memory [`State`] under the same lock, so the state always equals a replay of the file.
//! Concurrent writers share one sync (group commit, [`Ledger::append`]).
//! Replay stops at the first short or corrupt frame (a write torn by a crash) and cuts the file
//! there. When the file grows past [`COMPACT_AT`] and twice its size after the last rewrite (and
//! at every start) it is rewritten from the
//! state: a temp file, fsynced, renamed over the ledger, the directory fsynced.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

/// The ledger is rewritten from the state when it exceeds this many bytes.
pub(crate) const COMPACT_AT: u64 = 16 * 1024 * 1024;
/// Largest frame replay accepts (a corrupt length beyond it ends the replay).
const MAX_FRAME: usize = 64 * 1024 * 1024;

/// One popped message: the group that popped it, the topic it is stored in (a pop retry topic
/// for retried messages), its queue and queue offset.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Key {
    pub(crate) group: String,
    pub(crate) topic: String,
    pub(crate) queue_id: i32,
    pub(crate) offset: i64,
}

/// An in-flight message.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// The pop time of the current handle (an ack or change must carry it).
    pub(crate) pop_time: i64,
    pub(crate) invisible_time: i64,
    pub(crate) revive_qid: i32,
    /// An ack, change or revive of it is being written: others leave it alone.
    pub(crate) busy: bool,
}

impl Entry {
    /// When it becomes visible again.
    pub(crate) fn visible_at(&self) -> i64 {
        self.pop_time.saturating_add(self.invisible_time)
    }
}

/// The last orderly (FIFO) batch popped from a (group, topic, queue): until every offset of it
/// is acked or visible again, the queue is blocked for that group (Apache's OrderInfo).
#[derive(Debug, Clone, Default)]
pub(crate) struct OrderBatch {
    pub(crate) pop_time: i64,
    pub(crate) invisible_time: i64,
    pub(crate) attempt_id: Option<String>,
    pub(crate) offsets: Vec<i64>,
    pub(crate) acked: BTreeSet<i64>,
    /// Offsets whose visibility a change moved.
    pub(crate) visible_at: HashMap<i64, i64>,
    /// How often each offset was delivered before this batch (only offsets redelivered).
    pub(crate) counts: BTreeMap<i64, i32>,
}

impl OrderBatch {
    /// Whether a pop with `attempt_id` must skip the queue at `now`: some offset is neither acked
    /// nor visible again, and the pop is not a retry of the same attempt.
    pub(crate) fn blocks(&self, attempt_id: Option<&str>, now: i64) -> bool {
        if self.attempt_id.is_some() && self.attempt_id.as_deref() == attempt_id {
            return false;
        }
        self.offsets.iter().any(|o| {
            !self.acked.contains(o)
                && now
                    < self
                        .visible_at
                        .get(o)
                        .copied()
                        .unwrap_or(self.pop_time.saturating_add(self.invisible_time))
        })
    }

    /// Where the group's orderly consumption continues: the first unacked offset of the batch,
    /// or past its last one.
    pub(crate) fn next_offset(&self) -> i64 {
        self.offsets
            .iter()
            .find(|o| !self.acked.contains(o))
            .copied()
            .unwrap_or_else(|| self.offsets.last().map_or(0, |o| o + 1))
    }
}

/// A ledger record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "k")]
pub(crate) enum Record {
    /// Messages popped from one queue, and where the next pop of the group reads.
    Pop {
        g: String,
        t: String,
        q: i32,
        pt: i64,
        it: i64,
        rq: i32,
        o: Vec<i64>,
        n: i64,
    },
    /// A message acked (removed if its handle's pop time matches).
    Ack {
        g: String,
        t: String,
        q: i32,
        o: i64,
        pt: i64,
    },
    /// A message's invisible time changed: new pop time `npt`, invisible time `it`.
    Change {
        g: String,
        t: String,
        q: i32,
        o: i64,
        pt: i64,
        npt: i64,
        it: i64,
    },
    /// A message copied to its pop retry topic (no longer in flight here).
    Revived {
        g: String,
        t: String,
        q: i32,
        o: i64,
        pt: i64,
    },
    /// The pop offset of a queue moved without messages being in flight.
    Offset {
        g: String,
        t: String,
        q: i32,
        n: i64,
    },
    /// An orderly batch popped: it replaces the previous one; `n` is where the group's orderly
    /// consumption stands (the batch start), `c` the delivery counts carried over.
    OrderPop {
        g: String,
        t: String,
        q: i32,
        pt: i64,
        it: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        a: Option<String>,
        o: Vec<i64>,
        #[serde(default)]
        c: Vec<(i64, i32)>,
        n: i64,
    },
    /// An offset of the current orderly batch acked (if the pop time matches).
    OrderAck {
        g: String,
        t: String,
        q: i32,
        o: i64,
        pt: i64,
    },
    /// An offset of the current orderly batch becomes visible at `at` (if the pop time matches).
    OrderChange {
        g: String,
        t: String,
        q: i32,
        o: i64,
        pt: i64,
        at: i64,
    },
}

/// What the ledger says: in-flight messages, their revive order, pop offsets.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) inflight: HashMap<Key, Entry>,
    /// (visible at, key) of every in-flight message.
    pub(crate) due: BTreeSet<(i64, Key)>,
    /// Next offset to pop per (group, topic, queue) (for orderly pops: the first unacked one).
    pub(crate) offsets: HashMap<(String, String, i32), i64>,
    /// The current orderly batch per (group, topic, queue).
    pub(crate) orders: HashMap<(String, String, i32), OrderBatch>,
}

impl State {
    fn insert(&mut self, key: Key, entry: Entry) {
        if let Some(old) = self.inflight.remove(&key) {
            self.due.remove(&(old.visible_at(), key.clone()));
        }
        self.due.insert((entry.visible_at(), key.clone()));
        self.inflight.insert(key, entry);
    }

    /// Removes `key` if its pop time is `pop_time`.
    fn remove_if(&mut self, key: &Key, pop_time: i64) {
        if self
            .inflight
            .get(key)
            .is_some_and(|e| e.pop_time == pop_time)
        {
            if let Some(old) = self.inflight.remove(key) {
                self.due.remove(&(old.visible_at(), key.clone()));
            }
        }
    }

    /// Moves an entry's visibility (in memory only: a failed revive backs off).
    pub(crate) fn postpone(&mut self, key: &Key, visible_at: i64) {
        if let Some(e) = self.inflight.get_mut(key) {
            self.due.remove(&(e.visible_at(), key.clone()));
            e.invisible_time = visible_at.saturating_sub(e.pop_time);
            e.busy = false;
            self.due.insert((e.visible_at(), key.clone()));
        }
    }

    /// Applies a durable record.
    pub(crate) fn apply(&mut self, r: &Record) {
        match r {
            Record::Pop {
                g,
                t,
                q,
                pt,
                it,
                rq,
                o,
                n,
            } => {
                for off in o {
                    let key = Key {
                        group: g.clone(),
                        topic: t.clone(),
                        queue_id: *q,
                        offset: *off,
                    };
                    let entry = Entry {
                        pop_time: *pt,
                        invisible_time: *it,
                        revive_qid: *rq,
                        busy: false,
                    };
                    self.insert(key, entry);
                }
                let slot = self.offsets.entry((g.clone(), t.clone(), *q)).or_insert(*n);
                *slot = (*slot).max(*n);
            }
            Record::Ack { g, t, q, o, pt } | Record::Revived { g, t, q, o, pt } => {
                let key = Key {
                    group: g.clone(),
                    topic: t.clone(),
                    queue_id: *q,
                    offset: *o,
                };
                self.remove_if(&key, *pt);
            }
            Record::Change {
                g,
                t,
                q,
                o,
                pt,
                npt,
                it,
            } => {
                let key = Key {
                    group: g.clone(),
                    topic: t.clone(),
                    queue_id: *q,
                    offset: *o,
                };
                if let Some(e) = self.inflight.get(&key).filter(|e| e.pop_time == *pt) {
                    let entry = Entry {
                        pop_time: *npt,
                        invisible_time: *it,
                        revive_qid: e.revive_qid,
                        busy: false,
                    };
                    self.insert(key, entry);
                }
            }
            Record::Offset { g, t, q, n } => {
                self.offsets.insert((g.clone(), t.clone(), *q), *n);
            }
            Record::OrderPop {
                g,
                t,
                q,
                pt,
                it,
                a,
                o,
                c,
                n,
            } => {
                let key = (g.clone(), t.clone(), *q);
                let batch = OrderBatch {
                    pop_time: *pt,
                    invisible_time: *it,
                    attempt_id: a.clone(),
                    offsets: o.clone(),
                    counts: c.iter().copied().collect(),
                    ..OrderBatch::default()
                };
                self.orders.insert(key.clone(), batch);
                self.offsets.insert(key, *n);
            }
            Record::OrderAck { g, t, q, o, pt } => {
                let key = (g.clone(), t.clone(), *q);
                if let Some(b) = self.orders.get_mut(&key) {
                    if b.pop_time == *pt && b.offsets.contains(o) {
                        b.acked.insert(*o);
                        let next = b.next_offset();
                        let slot = self.offsets.entry(key).or_insert(next);
                        *slot = (*slot).max(next);
                    }
                }
            }
            Record::OrderChange { g, t, q, o, pt, at } => {
                let key = (g.clone(), t.clone(), *q);
                if let Some(b) = self.orders.get_mut(&key) {
                    if b.pop_time == *pt && b.offsets.contains(o) {
                        b.visible_at.insert(*o, *at);
                    }
                }
            }
        }
    }

    /// Records that rebuild this state (what a compaction writes).
    fn records(&self) -> Vec<Record> {
        let mut out: Vec<Record> = Vec::new();
        for ((g, t, q), b) in &self.orders {
            out.push(Record::OrderPop {
                g: g.clone(),
                t: t.clone(),
                q: *q,
                pt: b.pop_time,
                it: b.invisible_time,
                a: b.attempt_id.clone(),
                o: b.offsets.clone(),
                c: b.counts.iter().map(|(o, c)| (*o, *c)).collect(),
                n: 0,
            });
            for o in &b.acked {
                out.push(Record::OrderAck {
                    g: g.clone(),
                    t: t.clone(),
                    q: *q,
                    o: *o,
                    pt: b.pop_time,
                });
            }
            for (o, at) in &b.visible_at {
                out.push(Record::OrderChange {
                    g: g.clone(),
                    t: t.clone(),
                    q: *q,
                    o: *o,
                    pt: b.pop_time,
                    at: *at,
                });
            }
        }
        // After the orderly records (which set offsets on the way): the offsets as they are.
        out.extend(self.offsets.iter().map(|((g, t, q), n)| Record::Offset {
            g: g.clone(),
            t: t.clone(),
            q: *q,
            n: *n,
        }));
        for (k, e) in &self.inflight {
            out.push(Record::Pop {
                g: k.group.clone(),
                t: k.topic.clone(),
                q: k.queue_id,
                pt: e.pop_time,
                it: e.invisible_time,
                rq: e.revive_qid,
                o: vec![k.offset],
                n: 0,
            });
        }
        out
    }
}

/// The ledger file and the state it holds.
#[derive(Debug)]
pub(crate) struct Ledger {
    path: PathBuf,
    /// The open file, its length, and its length right after the last compaction.
    file: Mutex<Option<(File, u64, u64)>>,
    /// Records waiting for the group-commit writer.
    queue: Mutex<WriteQueue>,
    /// [`COMPACT_AT`] (smaller in tests).
    compact_at: std::sync::atomic::AtomicU64,
    state: Mutex<State>,
    /// Set when a write or sync failed: nothing is answered SUCCESS over unsynced data again.
    fault: Mutex<Option<String>>,
}

fn frame(r: &Record, out: &mut Vec<u8>) {
    let payload = serde_json::to_vec(r).unwrap_or_default();
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
}

/// Parses frames from `data`: the records and the length of the valid prefix.
fn parse(data: &[u8]) -> (Vec<Record>, usize) {
    let mut records = Vec::new();
    let mut pos = 0;
    while data.len() - pos >= 8 {
        let len =
            u32::from_le_bytes([data[pos], data[pos + 1], data[pos + 2], data[pos + 3]]) as usize;
        let crc = u32::from_le_bytes([data[pos + 4], data[pos + 5], data[pos + 6], data[pos + 7]]);
        if len > MAX_FRAME || data.len() - pos - 8 < len {
            break;
        }
        let payload = &data[pos + 8..pos + 8 + len];
        if crc32fast::hash(payload) != crc {
            break;
        }
        let Ok(r) = serde_json::from_slice::<Record>(payload) else {
            break;
        };
        records.push(r);
        pos += 8 + len;
    }
    (records, pos)
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

impl Ledger {
    /// Opens (or creates) the ledger in `dir`, replays it and compacts it.
    pub(crate) fn open(dir: &Path) -> std::io::Result<Ledger> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("ledger");
        let mut data = Vec::new();
        if path.exists() {
            File::open(&path)?.read_to_end(&mut data)?;
        }
        let (records, valid) = parse(&data);
        if valid < data.len() {
            tracing::warn!(
                path = %path.display(),
                dropped = data.len() - valid,
                "pop ledger: cut a torn or corrupt tail"
            );
        }
        let mut state = State::default();
        for r in &records {
            state.apply(r);
        }
        let ledger = Ledger {
            path,
            file: Mutex::new(None),
            queue: Mutex::default(),
            compact_at: std::sync::atomic::AtomicU64::new(COMPACT_AT),
            state: Mutex::new(state),
            fault: Mutex::new(None),
        };
        let mut file = ledger.file.lock().unwrap_or_else(|e| e.into_inner());
        *file = Some(ledger.compact()?);
        drop(file);
        Ok(ledger)
    }

    /// The in-memory state (never hold it while calling [`Ledger::append`]).
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The write fault, if any.
    pub(crate) fn fault(&self) -> Option<String> {
        self.fault.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Rewrites the ledger from the state; returns the new file, open for appending.
    fn compact(&self) -> std::io::Result<(File, u64, u64)> {
        let records = self.state().records();
        let mut bytes = Vec::new();
        for r in &records {
            frame(r, &mut bytes);
        }
        let tmp = self.path.with_extension("tmp");
        {
            let mut f = File::create(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &self.path)?;
        if let Some(dir) = self.path.parent() {
            sync_dir(dir);
        }
        let f = OpenOptions::new().append(true).open(&self.path)?;
        let len = bytes.len() as u64;
        Ok((f, len, len))
    }

    /// Writes `records`, fsyncs them, then applies them to the state (blocking). Concurrent
    /// callers share syncs (group commit): the first becomes the writer and writes, in arrival
    /// order, everything queued meanwhile with one `fdatasync`. On an error the ledger is
    /// faulted and refuses every later write.
    pub(crate) fn append(&self, records: &[Record]) -> Result<(), String> {
        let ticket = Arc::new(Ticket::default());
        {
            let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
            q.batches.push((records.to_vec(), ticket.clone()));
            if q.writing {
                drop(q);
                return ticket.wait();
            }
            q.writing = true;
        }
        loop {
            let batches = {
                let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
                if q.batches.is_empty() {
                    q.writing = false;
                    break;
                }
                std::mem::take(&mut q.batches)
            };
            let result = self.write_batches(&batches);
            for (_, t) in &batches {
                t.complete(result.clone());
            }
        }
        ticket.wait()
    }

    /// Writes and syncs several callers' records at once, then applies them in order.
    fn write_batches(&self, batches: &[(Vec<Record>, Arc<Ticket>)]) -> Result<(), String> {
        let mut guard = self.file.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(reason) = self.fault() {
            return Err(reason);
        }
        let result = (|| -> std::io::Result<()> {
            // Compacting rewrites the whole state: only once the file doubled since the last
            // rewrite, so a large in-flight set is not rewritten on every append.
            if guard.as_ref().is_some_and(|(_, len, base)| {
                *len > self.compact_at.load(std::sync::atomic::Ordering::Relaxed)
                    && *len > base.saturating_mul(2)
            }) {
                *guard = None;
                *guard = Some(self.compact()?);
            }
            let Some((file, len, _)) = guard.as_mut() else {
                return Err(std::io::Error::other("the ledger is not open"));
            };
            let mut bytes = Vec::new();
            for r in batches.iter().flat_map(|(records, _)| records) {
                frame(r, &mut bytes);
            }
            file.write_all(&bytes)?;
            file.sync_data()?;
            *len += bytes.len() as u64;
            Ok(())
        })();
        match result {
            Ok(()) => {
                let mut state = self.state();
                for r in batches.iter().flat_map(|(records, _)| records) {
                    state.apply(r);
                }
                Ok(())
            }
            Err(e) => {
                let reason = format!("pop ledger write failed: {e}");
                tracing::error!(path = %self.path.display(), "{reason}");
                *self.fault.lock().unwrap_or_else(|e| e.into_inner()) = Some(reason.clone());
                Err(reason)
            }
        }
    }
}

/// One caller's wait for its records to be written.
#[derive(Debug, Default)]
struct Ticket {
    done: Mutex<Option<Result<(), String>>>,
    cv: Condvar,
}

impl Ticket {
    fn complete(&self, result: Result<(), String>) {
        *self.done.lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
        self.cv.notify_all();
    }

    fn wait(&self) -> Result<(), String> {
        let mut done = self.done.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(r) = done.take() {
                return r;
            }
            done = self.cv.wait(done).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// Records waiting for the writer, and whether a writer is at work.
#[derive(Debug, Default)]
struct WriteQueue {
    batches: Vec<(Vec<Record>, Arc<Ticket>)>,
    writing: bool,
}

#[cfg(test)]
#[path = "ledger_tests.rs"]
mod tests;
