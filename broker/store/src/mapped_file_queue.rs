//! A directory of contiguous [`MappedFile`]s forming one append-only log (the commitlog, or one
//! consume queue).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::error::{Result, StoreError};
use crate::mapped_file::{MappedFile, Warmed};

/// How far ahead of the write position the warming thread keeps a file's pages mapped.
pub const WARM_AHEAD: usize = 8 << 20;
/// The write position asks for warming when it comes this close to the warm end.
const WARM_LOW: usize = WARM_AHEAD / 2;
/// What the warming thread maps per `madvise` (so a roll-over's file gets its turn soon).
const WARM_STEP: usize = 2 << 20;

/// Where the allocation thread hands over the file it created.
type Slot = Arc<(Mutex<Option<Result<Arc<MappedFile>>>>, Condvar)>;

/// A file being allocated ahead of need: its start offset and where it will appear.
type Ahead = (u64, Slot);

fn wait_slot(slot: &Slot) -> Result<Arc<MappedFile>> {
    let (lock, cond) = &**slot;
    let mut r = lock.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        if let Some(r) = r.take() {
            return r;
        }
        r = cond.wait(r).unwrap_or_else(|e| e.into_inner());
    }
}

/// The files of one log, oldest first.
#[derive(Debug)]
pub struct MappedFileQueue {
    dir: PathBuf,
    file_size: usize,
    files: RwLock<Vec<Arc<MappedFile>>>,
    /// With allocation ahead on (the commitlog), the next file is created and its first
    /// [`WARM_AHEAD`] bytes pre-faulted on a background thread while the current one fills
    /// (Apache's AllocateMappedFileService). The thread hands the file over as soon as it is
    /// created and mapped, then pre-faults, so a roll-over never waits for the pre-fault; no lock
    /// is held while it waits for the file.
    allocate_ahead: bool,
    ahead: Mutex<Option<Ahead>>,
    /// With allocation ahead on: the thread that keeps the pages ahead of the write position
    /// mapped ([`MappedFileQueue::wrote_to`]).
    warmer: Option<Warmer>,
}

/// A thread that pre-faults the newest file ahead of its write position, [`WARM_AHEAD`]
/// bytes at most, asked by the appender when it comes within [`WARM_LOW`] of the warm end. A
/// page fault per page written, taken under the put lock with the kernel zeroing the page, was a
/// fifth to a quarter of the broker's profile under load; here that work is done on another
/// thread with no lock held (docs/performance-broker.md, "Fifth round"). Only a bounded
/// stretch is mapped ahead (not the whole file), so a broker that writes little holds little
/// page cache it has not used and writes few zero pages back.
#[derive(Debug)]
struct Warmer {
    shared: Arc<WarmShared>,
}

#[derive(Debug, Default)]
struct WarmShared {
    /// The file to warm, when asked.
    file: Mutex<Option<Arc<MappedFile>>>,
    wake: Condvar,
    /// Asked and not done yet: the appender does not ask again.
    asked: AtomicBool,
    stop: AtomicBool,
}

impl Warmer {
    fn start() -> Option<Warmer> {
        let shared = Arc::new(WarmShared::default());
        let thread = shared.clone();
        match std::thread::Builder::new()
            .name("fmq-warm".to_owned())
            .spawn(move || warm_loop(&thread))
        {
            Ok(_) => Some(Warmer { shared }),
            Err(e) => {
                tracing::warn!(error = %e, "cannot start the warming thread; appends fault their pages in");
                None
            }
        }
    }

    /// Asks for `file` to be warmed ahead of its write position if that came close to its
    /// warm end (two atomic loads otherwise).
    fn wrote_to(&self, file: &Arc<MappedFile>) {
        let warmed = file.warmed();
        if warmed >= file.size() || file.wrote() + WARM_LOW < warmed {
            return;
        }
        if self.shared.asked.swap(true, Ordering::AcqRel) {
            return;
        }
        *self.shared.file.lock().unwrap_or_else(|e| e.into_inner()) = Some(file.clone());
        self.shared.wake.notify_one();
    }
}

impl Drop for Warmer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        // Under the lock, so the thread cannot miss it between its check and its wait.
        let _file = self.shared.file.lock().unwrap_or_else(|e| e.into_inner());
        self.shared.wake.notify_one();
    }
}

fn warm_loop(shared: &WarmShared) {
    loop {
        let file = {
            let mut slot = shared.file.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                if shared.stop.load(Ordering::Acquire) {
                    return;
                }
                if let Some(file) = slot.take() {
                    break file;
                }
                slot = shared.wake.wait(slot).unwrap_or_else(|e| e.into_inner());
            }
        };
        loop {
            let goal = (file.wrote() + WARM_AHEAD).min(file.size());
            let from = file.warmed();
            if from >= goal || shared.stop.load(Ordering::Acquire) {
                break;
            }
            if file.warm(goal.min(from + WARM_STEP)) == Warmed::Refused {
                break;
            }
        }
        shared.asked.store(false, Ordering::Release);
    }
}

impl MappedFileQueue {
    /// Loads every file in `dir` (which may not exist yet). Files must be named by their offset,
    /// be exactly `file_size` bytes and be contiguous; an empty last file (a crash while creating
    /// it) is removed, as Apache does.
    pub fn load(dir: &Path, file_size: usize) -> Result<MappedFileQueue> {
        let mut names: Vec<(u64, PathBuf)> = Vec::new();
        match std::fs::read_dir(dir) {
            Ok(entries) => {
                for entry in entries {
                    let entry = entry.map_err(|e| StoreError::io("list", dir, e))?;
                    let path = entry.path();
                    let Some(start) = path
                        .file_name()
                        .and_then(|n| n.to_str())
                        .filter(|n| n.len() == 20)
                        .and_then(|n| n.parse::<u64>().ok())
                    else {
                        continue;
                    };
                    names.push((start, path));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::io("list", dir, e)),
        }
        names.sort();
        if let Some((_, last)) = names.last() {
            // A crash while creating (or allocating ahead) the newest file can leave it empty or
            // short; a file of the wrong size that holds nothing but zeros was never written.
            let len = std::fs::metadata(last).map(|m| m.len()).unwrap_or(0);
            let never_written = len == 0
                || (len != file_size as u64
                    && std::fs::read(last)
                        .map(|b| b.iter().all(|x| *x == 0))
                        .unwrap_or(false));
            if never_written {
                tracing::warn!(file = %last.display(), len, "removing an unfinished store file");
                std::fs::remove_file(last)
                    .map_err(|e| StoreError::io("remove unfinished", last, e))?;
                names.pop();
            }
        }
        let mut files: Vec<Arc<MappedFile>> = Vec::with_capacity(names.len());
        for (start, path) in names {
            if let Some(prev) = files.last() {
                if prev.end() != start {
                    return Err(StoreError::Corrupt(format!(
                        "{} does not follow {} (files must be contiguous)",
                        path.display(),
                        prev.path().display()
                    )));
                }
            }
            files.push(MappedFile::open(&path, file_size)?);
        }
        Ok(MappedFileQueue {
            dir: dir.to_owned(),
            file_size,
            files: RwLock::new(files),
            allocate_ahead: false,
            ahead: Mutex::new(None),
            warmer: None,
        })
    }

    /// Turns on allocation ahead (each new file starts the background creation of the next)
    /// and warming ahead of the write position ([`MappedFileQueue::wrote_to`]).
    pub fn with_allocation_ahead(mut self) -> Self {
        self.allocate_ahead = true;
        self.warmer = Warmer::start();
        self
    }

    /// Tells the queue that `file` was appended to: with warming on, asks the warming thread to
    /// map the pages ahead of the write position when it comes close to the warm end. The
    /// appender calls it after each append.
    pub fn wrote_to(&self, file: &Arc<MappedFile>) {
        if let Some(w) = &self.warmer {
            w.wrote_to(file);
        }
    }

    fn take_ahead(&self, start: u64) -> Option<Arc<MappedFile>> {
        let (ahead_start, slot) = self
            .ahead
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()?;
        let file = match wait_slot(&slot) {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(error = %e, "allocating the next file ahead failed; creating it now");
                return None;
            }
        };
        if ahead_start == start {
            Some(file)
        } else {
            let _ = file.delete();
            None
        }
    }

    fn allocate_next_ahead(&self, start: u64) {
        if !self.allocate_ahead {
            return;
        }
        let (dir, size) = (self.dir.clone(), self.file_size);
        let slot: Slot = Arc::default();
        let handover = slot.clone();
        let spawned = std::thread::Builder::new()
            .name("fmq-allocate".to_owned())
            .spawn(move || {
                let created = MappedFile::create(&dir, start, size);
                let file = created.as_ref().ok().cloned();
                let (lock, cond) = &*handover;
                *lock.lock().unwrap_or_else(|e| e.into_inner()) = Some(created);
                cond.notify_all();
                // After the handover: a writer may already be appending to it. The rest is
                // warmed as the writer gets there.
                if let Some(file) = file {
                    file.warm(WARM_AHEAD);
                }
            });
        match spawned {
            Ok(_) => {
                *self.ahead.lock().unwrap_or_else(|e| e.into_inner()) = Some((start, slot));
            }
            Err(e) => tracing::warn!(error = %e, "cannot start the allocation thread"),
        }
    }

    /// Discards a file allocated ahead (its offset is no longer the next one).
    fn discard_ahead(&self) {
        let taken = self.ahead.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some((_, slot)) = taken {
            if let Ok(f) = wait_slot(&slot) {
                let _ = f.delete();
            }
        }
    }

    fn read_files(&self) -> RwLockReadGuard<'_, Vec<Arc<MappedFile>>> {
        self.files.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_files(&self) -> RwLockWriteGuard<'_, Vec<Arc<MappedFile>>> {
        self.files.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Bytes per file.
    pub fn file_size(&self) -> usize {
        self.file_size
    }

    /// All files, oldest first.
    pub fn files(&self) -> Vec<Arc<MappedFile>> {
        self.read_files().clone()
    }

    /// Whether there are no files.
    pub fn is_empty(&self) -> bool {
        self.read_files().is_empty()
    }

    /// The oldest file.
    pub fn first(&self) -> Option<Arc<MappedFile>> {
        self.read_files().first().cloned()
    }

    /// The newest file.
    pub fn last(&self) -> Option<Arc<MappedFile>> {
        self.read_files().last().cloned()
    }

    /// The newest file if it has room, else a new one after it (or at `start_if_empty`, aligned
    /// down to a file boundary, when there are no files).
    pub fn writable(&self, start_if_empty: u64) -> Result<Arc<MappedFile>> {
        if let Some(last) = self.last() {
            if !last.is_full() {
                return Ok(last);
            }
        }
        self.create_next(start_if_empty)
    }

    /// Creates the file after the newest one (or takes the one allocated ahead). No lock is
    /// held while the file is created or awaited, so readers never wait for a roll-over.
    /// Callers serialise appends, so only one roll-over runs at a time.
    pub fn create_next(&self, start_if_empty: u64) -> Result<Arc<MappedFile>> {
        let start = match self.last() {
            Some(last) => last.end(),
            None => start_if_empty - start_if_empty % self.file_size as u64,
        };
        let file = match self.take_ahead(start) {
            Some(f) => f,
            None => MappedFile::create(&self.dir, start, self.file_size)?,
        };
        {
            let mut files = self.write_files();
            let expected = files.last().map_or(start, |l| l.end());
            if expected != start {
                drop(files);
                let _ = file.delete();
                return Err(StoreError::NotWritable(format!(
                    "concurrent roll-over in {}: expected the next file at {expected}, made {start}",
                    self.dir.display()
                )));
            }
            files.push(file.clone());
        }
        self.allocate_next_ahead(start + self.file_size as u64);
        Ok(file)
    }

    /// The file holding store offset `offset`.
    pub fn find(&self, offset: u64) -> Option<Arc<MappedFile>> {
        let files = self.read_files();
        let first = files.first()?;
        if offset < first.start() {
            return None;
        }
        let size = self.file_size as u64;
        let guess = usize::try_from(offset / size - first.start() / size).ok()?;
        match files.get(guess) {
            Some(f) if f.start() <= offset && offset < f.end() => Some(f.clone()),
            _ => files
                .iter()
                .find(|f| f.start() <= offset && offset < f.end())
                .cloned(),
        }
    }

    /// Store offset of the first byte still kept.
    pub fn min_offset(&self) -> u64 {
        self.first().map(|f| f.start()).unwrap_or(0)
    }

    /// Store offset just past the last written byte.
    pub fn max_offset(&self) -> u64 {
        self.last()
            .map(|f| f.start() + f.wrote() as u64)
            .unwrap_or(0)
    }

    /// Store offset just past the last byte known to be on disk.
    pub fn flushed_offset(&self) -> u64 {
        let files = self.read_files();
        for f in files.iter().rev() {
            if f.flushed() > 0 || f.start() == files[0].start() {
                return f.start() + f.flushed() as u64;
            }
        }
        0
    }

    /// Syncs every file with unsynced bytes; returns the flushed offset.
    pub fn flush(&self) -> Result<u64> {
        for f in self.files() {
            if f.wrote() > f.flushed() {
                f.flush()?;
            }
        }
        Ok(self.flushed_offset())
    }

    /// Recovery: keeps bytes below `offset`, zeroing the rest of its file and deleting every
    /// later file.
    pub fn truncate(&self, offset: u64) -> Result<()> {
        self.discard_ahead();
        let mut files = self.write_files();
        while files.len() > 1 && files.last().is_some_and(|f| f.start() >= offset) {
            if let Some(f) = files.pop() {
                f.delete()?;
            }
        }
        if let Some(last) = files.last() {
            if offset < last.end() {
                let pos = usize::try_from(offset.saturating_sub(last.start())).unwrap_or(0);
                last.truncate(pos)?;
            }
        }
        Ok(())
    }

    /// At run time, with readers about: keeps bytes below `offset` without writing a byte any
    /// reader may hold. Later files are deleted (their mappings live on for readers holding
    /// them); the file holding `offset` is unlinked and replaced by a new file with a copy of
    /// its bytes below `offset` (readers of the old one keep its mapping). A crash between the
    /// unlink and the copy's flush loses that file's bytes: for a replica, which this is for,
    /// its master sends them again.
    pub fn truncate_live(&self, offset: u64) -> Result<()> {
        self.discard_ahead();
        let mut files = self.write_files();
        while files.len() > 1 && files.last().is_some_and(|f| f.start() >= offset) {
            if let Some(f) = files.pop() {
                f.delete()?;
            }
        }
        let Some(last) = files.last().cloned() else {
            return Ok(());
        };
        let end = last.start() + last.wrote() as u64;
        if offset >= end {
            return Ok(());
        }
        let keep = usize::try_from(offset.saturating_sub(last.start())).unwrap_or(0);
        let kept = last.bytes(0, keep).map(<[u8]>::to_vec).unwrap_or_default();
        last.delete()?;
        let fresh = MappedFile::create(&self.dir, last.start(), self.file_size)?;
        if !kept.is_empty() && fresh.append(&[&kept]).is_none() {
            return Err(crate::error::StoreError::Corrupt(format!(
                "{} bytes do not fit a new file of {}",
                kept.len(),
                self.file_size
            )));
        }
        fresh.flush()?;
        if let Some(slot) = files.last_mut() {
            *slot = fresh;
        }
        Ok(())
    }

    /// Removes the oldest file (retention); the newest is never removed.
    pub fn delete_first(&self) -> Result<Option<Arc<MappedFile>>> {
        let mut files = self.write_files();
        if files.len() <= 1 {
            return Ok(None);
        }
        let first = files.remove(0);
        first.delete()?;
        Ok(Some(first))
    }

    /// Deletes every file (the queue is emptied; its directory stays).
    pub fn delete_all(&self) -> Result<()> {
        self.discard_ahead();
        let mut files = self.write_files();
        for f in files.drain(..) {
            f.delete()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_truncation_leaves_readers_their_bytes_and_persists() {
        let dir = tempfile::tempdir().expect("tempdir");
        let q = MappedFileQueue::load(dir.path(), 100).expect("empty");
        for i in 0..25u8 {
            let f = q.writable(0).expect("writable");
            if f.append(&[&[i; 10]]).is_none() {
                unreachable!("10 bytes always fit in a non-full 100-byte file");
            }
        }
        let held = q
            .find(150)
            .and_then(|f| f.read(50, 10))
            .expect("a reader's bytes");
        let later = q
            .find(210)
            .and_then(|f| f.read(10, 10))
            .expect("a later file's bytes");
        q.truncate_live(140).expect("truncate");
        assert_eq!(q.max_offset(), 140);
        assert_eq!(q.files().len(), 2);
        assert_eq!(&held[..], &[15; 10], "the reader's bytes did not change");
        assert_eq!(
            &later[..],
            &[21; 10],
            "a deleted file stays mapped for its reader"
        );
        let f = q.writable(0).expect("writable");
        assert!(f.append(&[&[99; 10]]).is_some());
        assert_eq!(
            &held[..],
            &[15; 10],
            "an append after the cut writes the new file"
        );
        q.flush().expect("flush");
        drop(q);
        let q = MappedFileQueue::load(dir.path(), 100).expect("reload");
        let at = |o: u64| {
            q.find(o)
                .and_then(|f| f.bytes((o - f.start()) as usize, 1).map(<[u8]>::to_vec))
        };
        assert_eq!(at(139), Some(vec![13]));
        assert_eq!(at(140), Some(vec![99]));
        assert_eq!(at(150), Some(vec![0]), "nothing of the cut tail on disk");
    }

    #[test]
    fn grows_finds_truncates_and_reloads() {
        let dir = tempfile::tempdir().expect("tempdir");
        let q = MappedFileQueue::load(dir.path(), 100).expect("empty");
        assert!(q.is_empty() && q.max_offset() == 0);
        for i in 0..25u8 {
            let f = q.writable(0).expect("writable");
            if f.append(&[&[i; 10]]).is_none() {
                unreachable!("10 bytes always fit in a non-full 100-byte file");
            }
        }
        assert_eq!(q.files().len(), 3);
        assert_eq!(q.max_offset(), 250);
        assert_eq!(q.find(205).map(|f| f.start()), Some(200));
        assert_eq!(q.find(99).map(|f| f.start()), Some(0));
        assert_eq!(q.flush().expect("flush"), 250);
        q.truncate(150).expect("truncate");
        assert_eq!(q.max_offset(), 150);
        assert_eq!(q.files().len(), 2);
        drop(q);
        let q = MappedFileQueue::load(dir.path(), 100).expect("reload");
        assert_eq!(q.files().len(), 2);
        assert_eq!(
            q.find(140).and_then(|f| f.bytes(40, 1).map(<[u8]>::to_vec)),
            Some(vec![14])
        );
        assert_eq!(
            q.delete_first().expect("delete").map(|f| f.start()),
            Some(0)
        );
        assert_eq!(q.min_offset(), 100);
        assert!(q.delete_first().expect("keeps last").is_none());
    }

    #[test]
    fn the_warming_thread_keeps_pages_mapped_ahead_of_appends() {
        const MIB: usize = 1 << 20;
        let dir = tempfile::tempdir().expect("tempdir");
        let q = MappedFileQueue::load(dir.path(), 64 * MIB)
            .expect("empty")
            .with_allocation_ahead();
        let f = q.writable(0).expect("writable");
        let chunk = vec![3u8; MIB];
        for _ in 0..10 {
            f.append(&[&chunk]).expect("fits");
            q.wrote_to(&f);
        }
        // Asked at the first append (the file was cold): the thread gets to 8 MiB past the
        // write position of the moment it looked, and is asked again as appends near that.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while f.warmed() < 10 * MIB + WARM_LOW {
            assert!(
                std::time::Instant::now() < deadline,
                "warmed only to {}",
                f.warmed()
            );
            q.wrote_to(&f);
            std::thread::yield_now();
        }
        assert!(f.warmed() <= 10 * MIB + WARM_AHEAD, "{}", f.warmed());
        let all = f.bytes(0, 10 * MIB).expect("written");
        assert!(all.iter().all(|b| *b == 3));
    }

    #[test]
    fn allocation_ahead_hands_over_the_next_file_and_truncation_removes_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let q = MappedFileQueue::load(dir.path(), 4096)
            .expect("empty")
            .with_allocation_ahead();
        for i in 0..3u64 {
            let f = q.writable(0).expect("writable");
            assert_eq!(f.start(), i * 4096);
            f.append(&[&[1u8; 4096]]).expect("fits");
        }
        // The next file is being made; taking it is the roll-over.
        let next = q.create_next(0).expect("next");
        assert_eq!(next.start(), 3 * 4096);
        assert_eq!(q.files().len(), 4);
        // Truncation (recovery) waits for the file allocated ahead and deletes it.
        q.truncate(4096 + 10).expect("truncate");
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                crate::mapped_file::file_name(0),
                crate::mapped_file::file_name(4096)
            ]
        );
        assert_eq!(q.max_offset(), 4096 + 10);
    }

    #[test]
    fn rejects_gaps_and_wrong_sizes_and_drops_an_empty_last_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join(crate::mapped_file::file_name(0)),
            vec![0u8; 100],
        )
        .expect("w");
        std::fs::write(dir.path().join(crate::mapped_file::file_name(100)), b"").expect("w");
        let q = MappedFileQueue::load(dir.path(), 100).expect("empty last file dropped");
        assert_eq!(q.files().len(), 1);
        drop(q);
        let short = dir.path().join(crate::mapped_file::file_name(100));
        std::fs::write(&short, vec![0u8; 40]).expect("w");
        let q = MappedFileQueue::load(dir.path(), 100).expect("short all-zero last file dropped");
        assert_eq!(q.files().len(), 1);
        drop(q);
        std::fs::write(&short, vec![7u8; 40]).expect("w");
        assert!(
            MappedFileQueue::load(dir.path(), 100).is_err(),
            "a short file with data is corrupt"
        );
        std::fs::remove_file(&short).expect("rm");
        std::fs::write(
            dir.path().join(crate::mapped_file::file_name(300)),
            vec![0u8; 100],
        )
        .expect("w");
        assert!(MappedFileQueue::load(dir.path(), 100).is_err(), "gap");
        assert!(MappedFileQueue::load(dir.path(), 50).is_err(), "size");
    }
}
