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
//! The header lives in atomics. The writer stores an entry, then publishes the new `indexCount`,
//! then points the slot at the entry, so a reader that finds a slot value below the count it
//! loads afterwards reads a complete entry.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, Ordering};

use ferromq_protocol::message::tag_hash_code;

use crate::error::{Result, StoreError};
use crate::fault::inject::{self, IoOp};

/// Header size.
pub(super) const HEADER_SIZE: u64 = 40;
const SLOT_SIZE: u64 = 4;
const ENTRY_SIZE: u64 = 20;

/// Total size of a file with `slots` hash slots and `entries` entries.
pub(super) fn file_size(slots: u32, entries: u32) -> u64 {
    HEADER_SIZE + u64::from(slots) * SLOT_SIZE + u64::from(entries) * ENTRY_SIZE
}

/// Apache's `indexKeyHashMethod`: `abs(String.hashCode())`, with `Integer.MIN_VALUE` (whose
/// absolute value does not fit) mapped to 0. Never negative.
pub(super) fn key_hash(key: &str) -> i32 {
    tag_hash_code(key).checked_abs().unwrap_or(0)
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
            path,
        };
        let init = f
            .file
            .set_len(file_size(slots, entries))
            .map_err(|e| StoreError::io("size", &f.path, e))
            .and_then(|()| f.write_header())
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

    /// Number of the next entry (Apache's `indexCount`).
    pub(super) fn index_count(&self) -> i32 {
        self.index_count.load(Ordering::Acquire)
    }

    /// No entry fits any more (Apache's `isWriteFull`: `indexCount >= maxIndexNum`).
    pub(super) fn is_full(&self) -> bool {
        i64::from(self.index_count()) >= i64::from(self.entries)
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
        let head = self.read_i32(self.slot_pos(hash))?;
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
        let count = self.index_count.load(Ordering::Acquire);
        if i64::from(count) >= i64::from(self.entries) {
            return Ok(false);
        }
        let prev = self.slot_head(hash, count)?;
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
        self.write_at(&entry.encode(), self.entry_pos(count))?;
        if prev == 0 {
            self.hash_slot_count.fetch_add(1, Ordering::AcqRel);
        }
        self.end_phy_offset.store(phy_offset, Ordering::Release);
        self.end_timestamp.store(store_timestamp, Ordering::Release);
        self.index_count.store(count + 1, Ordering::Release);
        self.write_at(&count.to_be_bytes(), self.slot_pos(hash))?;
        Ok(true)
    }

    /// Whether an entry for `hash` at `phy_offset` exists among the newest entries, the ones
    /// for `phy_offset` itself (only meaningful when `phy_offset` is the file's end offset, as
    /// dispatch is in commitlog order).
    pub(super) fn holds_newest(&self, hash: i32, phy_offset: i64) -> Result<bool> {
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
        assert_eq!(f.read_entry(1).expect("read").time_diff, 0);
        assert!(f.put(3, 700, 15_600).expect("put"));
        assert!(f.put(11, 800, 15_600).expect("put"));
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
        f.write_at(&9i32.to_be_bytes(), f.slot_pos(6))
            .expect("write");
        let (mut out, mut seen) = (Vec::new(), HashSet::new());
        f.select(6, 0, i64::MAX, 10, &mut out, &mut seen)
            .expect("select");
        assert!(out.is_empty());
        assert!(f.put(6, 200, 2_000).expect("put"));
        assert_eq!(f.read_entry(2).expect("read").prev, 0, "treated as empty");
        f.select(6, 0, i64::MAX, 10, &mut out, &mut seen)
            .expect("select");
        assert_eq!(out, vec![200]);
    }
}
