//! One index file in Apache's `IndexFile` layout (docs/store.md, "Index files"), read and written
//! with `pread`/`pwrite` (no mapping, no `unsafe`).
//!
//! | bytes | content |
//! |---|---|
//! | 0..40 | header: i64 beginTimestamp, i64 endTimestamp, i64 beginPhyOffset, i64 endPhyOffset, i32 hashSlotCount, i32 indexCount |
//! | 40.. | `slots` × i32: number of the newest entry of each hash slot, 0 = empty |
//! | 40 + 4×slots.. | `entries` × 20 B: i32 keyHash, i64 phyOffset, i32 timeDiff (s), i32 prevEntry |
//!
//! All integers are big-endian. Entry 0 is never used, so `indexCount` starts at 1 and is the
//! number of the next entry to write; `hashSlotCount` counts slots that became non-empty.
//!
//! The file is created sparse (`set_len`): with the default 5,000,000 slots and 20,000,000
//! entries it is 420,000,040 bytes long but takes disk space only as entries are written, like
//! Apache's. Because nothing is mapped, a full disk surfaces as an `ENOSPC` error from the write
//! instead of a `SIGBUS`.
//!
//! Concurrency: one writer (the owner serialises [`IndexFile::put`]) and any number of readers.
//! The header lives in atomics. The writer stores entries, then publishes the new `indexCount`,
//! then points the slots at the entries, so a reader that finds a slot value below the count it
//! loads afterwards reads a complete entry.
//!
//! Writes are gathered: [`IndexFile::put`] adds the entry and the slot's new head to an
//! in-memory batch, and [`IndexFile::flush_pending`] (the owner calls it at the end of each
//! dispatch pass, before syncing, querying or rolling over, and every [`MAX_PENDING`] entries)
//! writes the batch's entries with one `pwrite` (they are consecutive), publishes the count,
//! writes each changed slot, then the header. Indexing a message so costs one `pread` of its
//! slot and one `pwrite` of it, where writing each entry, slot and header as it came cost four
//! system calls a message (docs/performance.md).
//!
//! The hash slots themselves are mapped (`index/slots.rs`) where the file system can allocate
//! them up front: a slot's head is then read and written in memory, and indexing a message
//! makes no system call of its own; elsewhere they are read and written with `pread`/`pwrite`.

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, Ordering};
use std::sync::{Mutex, PoisonError};

use ferromq_protocol::message::tag_hash_code;

use super::slots::{MapError, SlotMap};
use crate::error::{Result, StoreError};
use crate::fault::inject::{self, IoOp};

/// Header size.
pub(super) const HEADER_SIZE: u64 = 40;
const SLOT_SIZE: u64 = 4;
const ENTRY_SIZE: u64 = 20;
/// Entries gathered before the batch is written whatever the pass (20 KiB).
const MAX_PENDING: usize = 1024;

/// What the writer has added and not yet written (module docs).
#[derive(Debug, Default)]
struct Pending {
    /// Encoded entries, numbered from the published `indexCount` on.
    entries: Vec<u8>,
    /// Slot position -> its new head entry.
    slots: HashMap<u64, i32>,
    /// Slots of the batch that were empty before it.
    new_slots: i32,
}

impl Pending {
    fn count(&self) -> i32 {
        // At most MAX_PENDING entries.
        (self.entries.len() / ENTRY_SIZE as usize) as i32
    }
}

/// The number of the slot at byte position `pos`.
fn slot_number(pos: u64) -> u32 {
    // Positions come from `slot_pos`, below 40 + 4 × u32::MAX.
    u32::try_from((pos - HEADER_SIZE) / SLOT_SIZE).unwrap_or(u32::MAX)
}

/// Total size of a file with `slots` hash slots and `entries` entries.
pub(super) fn file_size(slots: u32, entries: u32) -> u64 {
    HEADER_SIZE + u64::from(slots) * SLOT_SIZE + u64::from(entries) * ENTRY_SIZE
}

/// Apache's `indexKeyHashMethod`: `abs(String.hashCode())`, with `Integer.MIN_VALUE` (whose
/// absolute value does not fit) mapped to 0. Never negative.
pub(super) fn key_hash(key: &str) -> i32 {
    tag_hash_code(key).checked_abs().unwrap_or(0)
}

/// [`key_hash`] of `topic#key` without building the string: Java's hash runs over the UTF-16
/// units of the three parts in turn.
pub(super) fn topic_key_hash(topic: &str, key: &str) -> i32 {
    let h = [topic, "#", key]
        .iter()
        .flat_map(|part| part.encode_utf16())
        .fold(0i32, |h, unit| {
            h.wrapping_mul(31).wrapping_add(i32::from(unit))
        });
    h.checked_abs().unwrap_or(0)
}

/// One 20-byte entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    key_hash: i32,
    phy_offset: i64,
    time_diff: i32,
    prev: i32,
}

impl Entry {
    fn encode(&self) -> [u8; ENTRY_SIZE as usize] {
        let mut b = [0u8; ENTRY_SIZE as usize];
        b[0..4].copy_from_slice(&self.key_hash.to_be_bytes());
        b[4..12].copy_from_slice(&self.phy_offset.to_be_bytes());
        b[12..16].copy_from_slice(&self.time_diff.to_be_bytes());
        b[16..20].copy_from_slice(&self.prev.to_be_bytes());
        b
    }

    fn decode(b: &[u8; ENTRY_SIZE as usize]) -> Entry {
        Entry {
            key_hash: i32_at(b, 0),
            phy_offset: i64_at(b, 4),
            time_diff: i32_at(b, 12),
            prev: i32_at(b, 16),
        }
    }
}

fn i32_at(b: &[u8], at: usize) -> i32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    i32::from_be_bytes(a)
}

fn i64_at(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(a)
}

/// An open index file.
#[derive(Debug)]
pub(super) struct IndexFile {
    path: PathBuf,
    name: String,
    file: File,
    slots: u32,
    entries: u32,
    begin_timestamp: AtomicI64,
    end_timestamp: AtomicI64,
    begin_phy_offset: AtomicI64,
    end_phy_offset: AtomicI64,
    hash_slot_count: AtomicI32,
    index_count: AtomicI32,
    /// Written since the last sync.
    dirty: AtomicBool,
    /// The writer's batch (module docs).
    pending: Mutex<Pending>,
    /// The hash slots in memory, when they could be mapped (module docs).
    slot_map: Option<SlotMap>,
}

impl IndexFile {
    /// Creates `dir/name`, sparse, with a header that starts where the previous file ended
    /// (`inherit_phy_offset`/`inherit_timestamp`, each applied only when positive, as Apache).
    pub(super) fn create(
        dir: &Path,
        name: &str,
        slots: u32,
        entries: u32,
        inherit_phy_offset: i64,
        inherit_timestamp: i64,
    ) -> Result<IndexFile> {
        crate::mapped_file::create_dir_durable(dir)?;
        let path = dir.join(name);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| StoreError::io("create", &path, e))?;
        let phy = inherit_phy_offset.max(0);
        let ts = inherit_timestamp.max(0);
        let slot_map = file
            .set_len(file_size(slots, entries))
            .map_err(|e| StoreError::io("size", &path, e))
            .and_then(|()| match SlotMap::new(&file, slots) {
                Ok(map) => Ok(Some(map)),
                Err(MapError::DiskFull) => Err(StoreError::NotWritable(format!(
                    "disk full: cannot allocate the hash slots of {}",
                    path.display()
                ))),
                Err(MapError::Unsupported(e)) => {
                    tracing::debug!(file = %path.display(), error = %e, "index slots not mapped");
                    Ok(None)
                }
            });
        let slot_map = match slot_map {
            Ok(map) => map,
            Err(e) => {
                let _ = std::fs::remove_file(&path);
                return Err(e);
            }
        };
        let f = IndexFile {
            name: name.to_owned(),
            file,
            slots,
            entries,
            begin_timestamp: AtomicI64::new(ts),
            end_timestamp: AtomicI64::new(ts),
            begin_phy_offset: AtomicI64::new(phy),
            end_phy_offset: AtomicI64::new(phy),
            hash_slot_count: AtomicI32::new(0),
            index_count: AtomicI32::new(1),
            dirty: AtomicBool::new(true),
            pending: Mutex::default(),
            slot_map,
            path,
        };
        let init = f
            .write_header()
            .and_then(|()| crate::mapped_file::sync_dir(dir));
        if let Err(e) = init {
            let _ = std::fs::remove_file(&f.path);
            return Err(e);
        }
        Ok(f)
    }

    /// Opens an existing file, which must have the size `slots`/`entries` give.
    pub(super) fn open(path: &Path, slots: u32, entries: u32) -> Result<IndexFile> {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| StoreError::io("open", path, e))?;
        let len = file
            .metadata()
            .map_err(|e| StoreError::io("stat", path, e))?
            .len();
        let want = file_size(slots, entries);
        if len != want {
            return Err(StoreError::Corrupt(format!(
                "index file {} is {len} bytes; maxHashSlotNum {slots} and maxIndexNum {entries} \
                 give {want}",
                path.display()
            )));
        }
        let mut h = [0u8; HEADER_SIZE as usize];
        file.read_exact_at(&mut h, 0)
            .map_err(|e| StoreError::io("read", path, e))?;
        // Apache writes indexCount only with the first entry, so a fresh file may hold 0.
        let index_count = i32_at(&h, 36).max(1);
        if i64::from(index_count) > i64::from(entries) {
            return Err(StoreError::Corrupt(format!(
                "index file {} has indexCount {index_count} > maxIndexNum {entries}",
                path.display()
            )));
        }
        let slot_map = SlotMap::new(&file, slots)
            .inspect_err(|e| {
                tracing::debug!(file = %path.display(), error = ?e, "index slots not mapped");
            })
            .ok();
        Ok(IndexFile {
            path: path.to_owned(),
            name,
            file,
            slots,
            entries,
            begin_timestamp: AtomicI64::new(i64_at(&h, 0)),
            end_timestamp: AtomicI64::new(i64_at(&h, 8)),
            begin_phy_offset: AtomicI64::new(i64_at(&h, 16)),
            end_phy_offset: AtomicI64::new(i64_at(&h, 24)),
            hash_slot_count: AtomicI32::new(i32_at(&h, 32)),
            index_count: AtomicI32::new(index_count),
            dirty: AtomicBool::new(false),
            pending: Mutex::default(),
            slot_map,
        })
    }

    /// The file name (creation time, `yyyyMMddHHmmssSSS`).
    pub(super) fn name(&self) -> &str {
        &self.name
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    pub(super) fn begin_timestamp(&self) -> i64 {
        self.begin_timestamp.load(Ordering::Acquire)
    }

    pub(super) fn end_timestamp(&self) -> i64 {
        self.end_timestamp.load(Ordering::Acquire)
    }

    pub(super) fn end_phy_offset(&self) -> i64 {
        self.end_phy_offset.load(Ordering::Acquire)
    }

    /// Number of the next entry written to the file (Apache's `indexCount`; entries of the
    /// writer's batch not included).
    pub(super) fn index_count(&self) -> i32 {
        self.index_count.load(Ordering::Acquire)
    }

    fn lock_pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// No entry fits any more (Apache's `isWriteFull`: `indexCount >= maxIndexNum`), counting
    /// the writer's batch.
    pub(super) fn is_full(&self) -> bool {
        let next = self.index_count() + self.lock_pending().count();
        i64::from(next) >= i64::from(self.entries)
    }

    /// Apache's `isTimeMatched`: the file's time range overlaps `[begin, end]`.
    pub(super) fn time_matches(&self, begin: i64, end: i64) -> bool {
        let (b, e) = (self.begin_timestamp(), self.end_timestamp());
        (begin < b && end > e) || (b..=e).contains(&begin) || (b..=e).contains(&end)
    }

    fn slot_pos(&self, hash: i32) -> u64 {
        // `hash` is never negative (see `key_hash`).
        HEADER_SIZE + u64::from(hash.unsigned_abs() % self.slots) * SLOT_SIZE
    }

    /// The head stored at slot position `pos`.
    fn read_slot(&self, pos: u64) -> Result<i32> {
        match &self.slot_map {
            Some(map) => Ok(map.get(slot_number(pos))),
            None => self.read_i32(pos),
        }
    }

    /// Stores `head` at slot position `pos`.
    fn write_slot(&self, pos: u64, head: i32) -> Result<()> {
        match &self.slot_map {
            Some(map) => {
                map.set(slot_number(pos), head);
                Ok(())
            }
            None => self.write_at(&head.to_be_bytes(), pos),
        }
    }

    fn entry_pos(&self, n: i32) -> u64 {
        HEADER_SIZE + u64::from(self.slots) * SLOT_SIZE + u64::from(n.unsigned_abs()) * ENTRY_SIZE
    }

    fn read_i32(&self, pos: u64) -> Result<i32> {
        let mut b = [0u8; 4];
        self.file
            .read_exact_at(&mut b, pos)
            .map_err(|e| StoreError::io("read", &self.path, e))?;
        Ok(i32::from_be_bytes(b))
    }

    fn read_entry(&self, n: i32) -> Result<Entry> {
        let mut b = [0u8; ENTRY_SIZE as usize];
        self.file
            .read_exact_at(&mut b, self.entry_pos(n))
            .map_err(|e| StoreError::io("read", &self.path, e))?;
        Ok(Entry::decode(&b))
    }

    fn write_at(&self, bytes: &[u8], pos: u64) -> Result<()> {
        inject::check(IoOp::Write, &self.path)
            .and_then(|()| self.file.write_all_at(bytes, pos))
            .map_err(|e| StoreError::io("write", &self.path, e))
    }

    /// The newest entry of `hash`'s slot, or 0 when the slot is empty or points at an entry
    /// not covered by `count` (written after the last header a crash left behind).
    fn slot_head(&self, hash: i32, count: i32) -> Result<i32> {
        let head = self.read_slot(self.slot_pos(hash))?;
        Ok(if head <= 0 || head >= count { 0 } else { head })
    }

    /// Writes the in-memory header to the file (the owner calls this after each message).
    pub(super) fn write_header(&self) -> Result<()> {
        let mut h = [0u8; HEADER_SIZE as usize];
        h[0..8].copy_from_slice(&self.begin_timestamp().to_be_bytes());
        h[8..16].copy_from_slice(&self.end_timestamp().to_be_bytes());
        h[16..24].copy_from_slice(&self.begin_phy_offset.load(Ordering::Acquire).to_be_bytes());
        h[24..32].copy_from_slice(&self.end_phy_offset().to_be_bytes());
        h[32..36].copy_from_slice(&self.hash_slot_count.load(Ordering::Acquire).to_be_bytes());
        h[36..40].copy_from_slice(&self.index_count().to_be_bytes());
        self.write_at(&h, 0)
    }

    /// Adds an entry for a key hashing to `hash` (see [`key_hash`]). Returns false, writing
    /// nothing, when the file is full. Single writer only.
    ///
    /// One deliberate difference from Apache: the first entry's time difference is taken
    /// after `beginTimestamp` becomes its own store time, so it is 0. Apache computes it against
    /// the timestamp a rolled file inherited and then overwrites that, which makes the first
    /// entry of every rolled file read back later than it was stored.
    pub(super) fn put(&self, hash: i32, phy_offset: i64, store_timestamp: i64) -> Result<bool> {
        let mut pending = self.lock_pending();
        let published = self.index_count.load(Ordering::Acquire);
        let count = published + pending.count();
        if i64::from(count) >= i64::from(self.entries) {
            return Ok(false);
        }
        let slot = self.slot_pos(hash);
        let prev = match pending.slots.get(&slot) {
            Some(head) => *head,
            None => self.slot_head(hash, published)?,
        };
        if count <= 1 {
            self.begin_phy_offset.store(phy_offset, Ordering::Release);
            self.begin_timestamp
                .store(store_timestamp, Ordering::Release);
        }
        let begin = self.begin_timestamp();
        let time_diff = if begin <= 0 {
            0
        } else {
            // Clamped into [0, i32::MAX], so the conversion cannot fail.
            i32::try_from(((store_timestamp - begin) / 1000).clamp(0, i64::from(i32::MAX)))
                .unwrap_or(i32::MAX)
        };
        let entry = Entry {
            key_hash: hash,
            phy_offset,
            time_diff,
            prev,
        };
        self.dirty.store(true, Ordering::Release);
        pending.entries.extend_from_slice(&entry.encode());
        if prev == 0 {
            pending.new_slots += 1;
        }
        pending.slots.insert(slot, count);
        self.end_phy_offset.store(phy_offset, Ordering::Release);
        self.end_timestamp.store(store_timestamp, Ordering::Release);
        if pending.count() as usize >= MAX_PENDING {
            self.write_pending(&mut pending)?;
        }
        Ok(true)
    }

    /// Writes the writer's batch and then the header (module docs). Nothing to do without a
    /// batch. After a failed write what is left of the batch stays for the next call.
    pub(super) fn flush_pending(&self) -> Result<()> {
        let mut pending = self.lock_pending();
        if pending.entries.is_empty() && pending.slots.is_empty() {
            return Ok(());
        }
        self.write_pending(&mut pending)?;
        self.write_header()
    }

    fn write_pending(&self, pending: &mut Pending) -> Result<()> {
        if !pending.entries.is_empty() {
            let published = self.index_count.load(Ordering::Acquire);
            self.write_at(&pending.entries, self.entry_pos(published))?;
            self.hash_slot_count
                .fetch_add(pending.new_slots, Ordering::AcqRel);
            self.index_count
                .store(published + pending.count(), Ordering::Release);
            pending.entries.clear();
            pending.new_slots = 0;
        }
        // Slots only after the count that covers their entries is published.
        let mut failed = None;
        pending.slots.retain(|pos, head| {
            if failed.is_some() {
                return true;
            }
            match self.write_slot(*pos, *head) {
                Ok(()) => false,
                Err(e) => {
                    failed = Some(e);
                    true
                }
            }
        });
        failed.map_or(Ok(()), Err)
    }

    /// Whether an entry for `hash` at `phy_offset` exists among the newest entries, the ones
    /// for `phy_offset` itself (only meaningful when `phy_offset` is the file's end offset, as
    /// dispatch is in commitlog order).
    pub(super) fn holds_newest(&self, hash: i32, phy_offset: i64) -> Result<bool> {
        // Rare (a record dispatched again after recovery): read it all from the file.
        self.flush_pending()?;
        let mut n = self.slot_head(hash, self.index_count())?;
        while n > 0 {
            let e = self.read_entry(n)?;
            if e.phy_offset != phy_offset {
                break;
            }
            if e.key_hash == hash {
                return Ok(true);
            }
            if e.prev >= n {
                break;
            }
            n = e.prev;
        }
        Ok(false)
    }

    /// Apache's `selectPhyOffset`: follows `hash`'s slot chain newest first and appends to
    /// `out` the offsets of entries with that exact hash stored within `[begin, end]`, until
    /// `out` holds `max` offsets or the chain goes back past `begin`. `seen` de-duplicates.
    pub(super) fn select(
        &self,
        hash: i32,
        begin: i64,
        end: i64,
        max: usize,
        out: &mut Vec<i64>,
        seen: &mut HashSet<i64>,
    ) -> Result<()> {
        let count = self.index_count();
        if count <= 1 {
            return Ok(());
        }
        let mut n = self.slot_head(hash, count)?;
        let base = self.begin_timestamp();
        while n > 0 && out.len() < max {
            let e = self.read_entry(n)?;
            if e.time_diff < 0 {
                break;
            }
            let stored = base + i64::from(e.time_diff) * 1000;
            if e.key_hash == hash && (begin..=end).contains(&stored) && seen.insert(e.phy_offset) {
                out.push(e.phy_offset);
            }
            // Chains only point backwards; anything else is damage, so stop rather than loop.
            if e.prev >= n || stored < begin {
                break;
            }
            n = e.prev;
        }
        Ok(())
    }

    /// Syncs the file if anything was written since the last sync.
    pub(super) fn sync(&self) -> Result<()> {
        if self.dirty.swap(false, Ordering::AcqRel) {
            if let Err(e) =
                inject::check(IoOp::Sync, &self.path).and_then(|()| self.file.sync_data())
            {
                self.dirty.store(true, Ordering::Release);
                return Err(StoreError::io("sync", &self.path, e));
            }
        }
        Ok(())
    }

    /// Removes the file from disk. Readers holding it keep reading the unlinked inode.
    pub(super) fn remove(&self) -> Result<()> {
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(StoreError::io("delete", &self.path, e))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_hash_edge_cases() {
        // "polygenelubricants".hashCode() == Integer.MIN_VALUE: abs overflows, Apache uses 0.
        assert_eq!(tag_hash_code("polygenelubricants"), i32::MIN);
        assert_eq!(key_hash("polygenelubricants"), 0);
        // A negative hash is made positive.
        assert_eq!(tag_hash_code("T#neg1"), -1_854_418_064);
        assert_eq!(key_hash("T#neg1"), 1_854_418_064);
        assert_eq!(key_hash("TopicTest#k1"), 2_746_024);
        assert_eq!(key_hash(""), 0);
        for (topic, key) in [("TopicTest", "k1"), ("T", "neg1"), ("名前", "🦀"), ("", "")] {
            assert_eq!(
                topic_key_hash(topic, key),
                key_hash(&format!("{topic}#{key}"))
            );
        }
    }

    #[test]
    fn sizes_match_apache() {
        assert_eq!(file_size(5_000_000, 20_000_000), 420_000_040);
        assert_eq!(file_size(64, 32), 936);
    }

    #[test]
    fn rolled_file_inherits_then_takes_its_first_entry() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f =
            IndexFile::create(dir.path(), "20240101000000000", 8, 4, 500, 7_000).expect("create");
        assert_eq!(f.index_count(), 1);
        assert_eq!((f.begin_timestamp(), f.end_timestamp()), (7_000, 7_000));
        assert_eq!(f.end_phy_offset(), 500);
        assert!(f.time_matches(7_000, 7_000));

        assert!(f.put(3, 600, 12_500).expect("put"));
        assert_eq!(
            f.begin_timestamp(),
            12_500,
            "begin moves to the first entry"
        );
        assert_eq!(f.index_count(), 1, "gathered, not written yet");
        f.flush_pending().expect("flush");
        assert_eq!(f.index_count(), 2);
        assert_eq!(f.read_entry(1).expect("read").time_diff, 0);
        assert!(f.put(3, 700, 15_600).expect("put"));
        assert!(f.put(11, 800, 15_600).expect("put"));
        f.flush_pending().expect("flush");
        assert_eq!(
            f.read_entry(2).expect("read"),
            Entry {
                key_hash: 3,
                phy_offset: 700,
                time_diff: 3,
                prev: 1
            }
        );
        assert!(f.is_full(), "entries 1..=3 of 4 used");
        assert!(!f.put(3, 900, 16_000).expect("put"), "full file refuses");
        assert_eq!(
            f.hash_slot_count.load(Ordering::Acquire),
            1,
            "3 and 11 share slot 3"
        );
        assert!(f.holds_newest(11, 800).expect("check"));
        assert!(!f.holds_newest(3, 800).expect("check"));
    }

    #[test]
    fn reader_ignores_slots_past_the_count() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = IndexFile::create(dir.path(), "20240101000000000", 8, 16, 0, 0).expect("create");
        assert!(f.put(5, 100, 1_000).expect("put"));
        // A slot pointing past indexCount (a crash between slot and header writes).
        f.flush_pending().expect("flush");
        f.write_at(&9i32.to_be_bytes(), f.slot_pos(6))
            .expect("write");
        let (mut out, mut seen) = (Vec::new(), HashSet::new());
        f.select(6, 0, i64::MAX, 10, &mut out, &mut seen)
            .expect("select");
        assert!(out.is_empty());
        assert!(f.put(6, 200, 2_000).expect("put"));
        f.flush_pending().expect("flush");
        assert_eq!(f.read_entry(2).expect("read").prev, 0, "treated as empty");
        f.select(6, 0, i64::MAX, 10, &mut out, &mut seen)
            .expect("select");
        assert_eq!(out, vec![200]);
    }

    #[test]
    fn a_batch_chains_its_own_entries_and_survives_reopening() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = IndexFile::create(dir.path(), "20240101000000000", 4, 64, 0, 0).expect("create");
        // Three keys in one slot (4 slots: 1, 5 and 9 share slot 1) and one elsewhere.
        for (i, hash) in [1, 5, 2, 9].into_iter().enumerate() {
            assert!(f.put(hash, 100 * (i as i64 + 1), 1_000).expect("put"));
        }
        assert_eq!(f.index_count(), 1, "nothing written before the flush");
        f.flush_pending().expect("flush");
        assert_eq!(f.index_count(), 5);
        assert_eq!(f.hash_slot_count.load(Ordering::Acquire), 2);
        let (mut out, mut seen) = (Vec::new(), HashSet::new());
        f.select(1, 0, i64::MAX, 10, &mut out, &mut seen)
            .expect("select");
        assert_eq!(out, vec![100], "only hash 1 itself");
        let chain: Vec<i32> = [4, 2, 1]
            .iter()
            .map(|&n| f.read_entry(n).expect("read").prev)
            .collect();
        assert_eq!(chain, vec![2, 1, 0], "9 -> 5 -> 1 within the batch");
        drop(f);
        let path = dir.path().join("20240101000000000");
        let again = IndexFile::open(&path, 4, 64).expect("open");
        assert_eq!(
            again.index_count(),
            5,
            "the header was written with the batch"
        );
        let (mut out, mut seen) = (Vec::new(), HashSet::new());
        again
            .select(9, 0, i64::MAX, 10, &mut out, &mut seen)
            .expect("select");
        assert_eq!(out, vec![400]);
    }
}
