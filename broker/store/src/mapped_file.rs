//! One fixed-size, memory-mapped store file (a commitlog or consume-queue segment).
//!
//! The file is named by the 20-digit store offset of its first byte and is fully allocated when
//! created (`fallocate`), so a full disk fails the creation cleanly instead of raising SIGBUS on a
//! later write into a sparse hole.
//!
//! Soundness of the one `unsafe` module in the store rests on these rules, upheld here:
//! - one writer at a time appends (the owner serialises calls to [`MappedFile::append`]);
//! - bytes below the published write position ([`MappedFile::wrote`]) are never written again
//!   while the file is shared, so readers may borrow them freely;
//! - [`MappedFile::truncate`] (recovery) runs before any reader exists;
//! - a read slice is a [`Bytes`] that owns an `Arc` of the file, so the mapping outlives every
//!   reader and deleting the file never unmaps memory still in use.
#![allow(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use memmap2::{MmapOptions, MmapRaw};

use crate::error::{Result, StoreError};
use crate::fault::inject::{self, IoOp};

/// Syncs a directory, making the creation or removal of its entries durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    inject::check(IoOp::Sync, dir)
        .and_then(|()| File::open(dir))
        .and_then(|d| d.sync_all())
        .map_err(|e| StoreError::io("sync directory", dir, e))
}

/// Creates `dir` and any missing parents, then syncs every directory that gained an entry, so
/// the new directories survive a crash.
pub(crate) fn create_dir_durable(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    // `dir` and the parents that do not exist yet, deepest first; then the first that exists.
    let mut to_sync: Vec<&Path> = vec![dir];
    let mut at = dir;
    while let Some(parent) = at.parent() {
        let parent = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        };
        to_sync.push(parent);
        if parent.is_dir() {
            break;
        }
        at = parent;
    }
    std::fs::create_dir_all(dir).map_err(|e| StoreError::io("create directory", dir, e))?;
    for d in to_sync {
        sync_dir(d)?;
    }
    Ok(())
}

/// The name of a store file starting at `offset`: 20 zero-padded decimal digits.
pub fn file_name(offset: u64) -> String {
    format!("{offset:020}")
}

/// A mapped store file.
#[derive(Debug)]
pub struct MappedFile {
    path: PathBuf,
    start: u64,
    size: usize,
    map: MmapRaw,
    _file: File,
    wrote: AtomicUsize,
    flushed: AtomicUsize,
    /// Bytes from the start that [`MappedFile::warm`] has populated (or that were written).
    warmed: AtomicUsize,
    deleted: AtomicBool,
}

/// What [`MappedFile::warm`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Warmed {
    /// Nothing to do: the range was warm already.
    Already,
    /// The pages are mapped writable (`MADV_POPULATE_WRITE`).
    Populated,
    /// The kernel has no `MADV_POPULATE_WRITE` (before 5.14): the pages were only read into the
    /// page cache (`MADV_WILLNEED`), appends still fault them in.
    Advised,
    /// The kernel refused both.
    Refused,
}

/// Set once `MADV_POPULATE_WRITE` has been refused as unknown: not asked again.
#[cfg(target_os = "linux")]
static NO_POPULATE_WRITE: AtomicBool = AtomicBool::new(false);

impl MappedFile {
    /// Creates `dir/<start>` of `size` bytes, fully allocated, and maps it.
    pub fn create(dir: &Path, start: u64, size: usize) -> Result<Arc<MappedFile>> {
        MappedFile::create_with(dir, start, size, false)
    }

    /// Like [`MappedFile::create`]; `populate` pre-faults the whole mapping (MAP_POPULATE), so
    /// appends do not stall on page faults. The new file's directory entry is synced before it
    /// is returned (on failure the file is removed).
    pub fn create_with(
        dir: &Path,
        start: u64,
        size: usize,
        populate: bool,
    ) -> Result<Arc<MappedFile>> {
        let path = dir.join(file_name(start));
        create_dir_durable(dir)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| StoreError::io("create", &path, e))?;
        if let Err(e) =
            rustix::fs::fallocate(&file, rustix::fs::FallocateFlags::empty(), 0, size as u64)
        {
            let _ = std::fs::remove_file(&path);
            let source = std::io::Error::from(e);
            return Err(if source.raw_os_error() == Some(28) {
                StoreError::NotWritable(format!("disk full: cannot allocate {}", path.display()))
            } else {
                StoreError::io("allocate", &path, source)
            });
        }
        if let Err(e) = sync_dir(dir) {
            let _ = std::fs::remove_file(&path);
            return Err(e);
        }
        MappedFile::map(path, file, start, size, 0, populate)
    }

    /// Pre-faults the mapping writable from the write position (or where the last call stopped)
    /// up to `upto` bytes into the file, without changing its contents, so that appends there
    /// take no page fault (and the zeroing of a fresh page in it) while the put lock is held.
    /// One `madvise(MADV_POPULATE_WRITE)` per range; `MADV_WILLNEED` on kernels before 5.14.
    /// Safe to run while the file is appended to: the kernel does the work and touches no byte.
    pub fn warm(&self, upto: usize) -> Warmed {
        let upto = upto.min(self.size);
        let from = self.warmed.load(Ordering::Acquire).max(self.wrote());
        if upto <= from {
            return Warmed::Already;
        }
        let len = upto - from;
        let mut done = Warmed::Refused;
        #[cfg(target_os = "linux")]
        if !NO_POPULATE_WRITE.load(Ordering::Relaxed) {
            match self
                .map
                .advise_range(memmap2::Advice::PopulateWrite, from, len)
            {
                Ok(()) => done = Warmed::Populated,
                Err(e) if e.raw_os_error() == Some(rustix::io::Errno::INVAL.raw_os_error()) => {
                    NO_POPULATE_WRITE.store(true, Ordering::Relaxed);
                }
                Err(e) => {
                    tracing::debug!(file = %self.path.display(), error = %e, "could not pre-fault");
                }
            }
        }
        if done == Warmed::Refused
            && self
                .map
                .advise_range(memmap2::Advice::WillNeed, from, len)
                .is_ok()
        {
            done = Warmed::Advised;
        }
        self.warmed.fetch_max(upto, Ordering::AcqRel);
        done
    }

    /// How far into the file [`MappedFile::warm`] has gone (at least the write position).
    pub fn warmed(&self) -> usize {
        self.warmed.load(Ordering::Acquire).max(self.wrote())
    }

    /// Opens an existing file, which must be exactly `size` bytes. Everything in it counts as
    /// written until recovery truncates it.
    pub fn open(path: &Path, size: usize) -> Result<Arc<MappedFile>> {
        let start = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or_else(|| {
                StoreError::Corrupt(format!("{} is not named by its offset", path.display()))
            })?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| StoreError::io("open", path, e))?;
        let len = file
            .metadata()
            .map_err(|e| StoreError::io("stat", path, e))?
            .len();
        if len != size as u64 {
            return Err(StoreError::Corrupt(format!(
                "{} is {len} bytes; this store's files are {size} bytes (check mappedFileSize*)",
                path.display()
            )));
        }
        MappedFile::map(path.to_owned(), file, start, size, size, false)
    }

    fn map(
        path: PathBuf,
        file: File,
        start: u64,
        size: usize,
        wrote: usize,
        populate: bool,
    ) -> Result<Arc<MappedFile>> {
        let mut options = MmapOptions::new();
        options.len(size);
        if populate {
            options.populate();
        }
        let map = options
            .map_raw(&file)
            .map_err(|e| StoreError::io("map", &path, e))?;
        Ok(Arc::new(MappedFile {
            path,
            start,
            size,
            map,
            _file: file,
            wrote: AtomicUsize::new(wrote),
            flushed: AtomicUsize::new(wrote),
            // What this process mapped ahead; `warmed()` is never below the write position, so
            // a reopened file counts as warm only up to where recovery cuts it.
            warmed: AtomicUsize::new(0),
            deleted: AtomicBool::new(false),
        }))
    }

    /// Store offset of the first byte.
    pub fn start(&self) -> u64 {
        self.start
    }

    /// Store offset just past the last byte.
    pub fn end(&self) -> u64 {
        self.start + self.size as u64
    }

    /// Size in bytes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes written (and readable).
    pub fn wrote(&self) -> usize {
        self.wrote.load(Ordering::Acquire)
    }

    /// Bytes known to be on disk.
    pub fn flushed(&self) -> usize {
        self.flushed.load(Ordering::Acquire)
    }

    /// Bytes left for appends.
    pub fn remaining(&self) -> usize {
        self.size - self.wrote()
    }

    /// Whether no more bytes fit.
    pub fn is_full(&self) -> bool {
        self.wrote() >= self.size
    }

    /// Appends `parts` back to back at the write position and publishes them. Returns the
    /// position they start at, or `None` (nothing written) when they do not fit.
    ///
    /// Callers must not append concurrently (the commitlog's put lock, or the single dispatcher
    /// thread for consume queues).
    pub fn append(&self, parts: &[&[u8]]) -> Option<usize> {
        let pos = self.wrote.load(Ordering::Relaxed);
        let len: usize = parts.iter().map(|p| p.len()).sum();
        if len > self.size - pos {
            return None;
        }
        let mut at = pos;
        for part in parts {
            // SAFETY: `at..at + part.len()` lies within the mapping (checked above) and at or past
            // the published write position, so no reader borrows it and no other writer runs.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    part.as_ptr(),
                    self.map.as_mut_ptr().add(at),
                    part.len(),
                );
            }
            at += part.len();
        }
        self.wrote.store(at, Ordering::Release);
        Some(pos)
    }

    /// Marks everything written and seals the file (after an end-of-file blank record).
    pub fn seal(&self) {
        self.wrote.store(self.size, Ordering::Release);
    }

    /// A zero-copy view of written bytes `pos..pos + len`, or `None` if any of them are not
    /// written yet.
    pub fn read(self: &Arc<Self>, pos: usize, len: usize) -> Option<Bytes> {
        let end = pos.checked_add(len)?;
        if end > self.wrote() {
            return None;
        }
        Some(Bytes::from_owner(MappedRange {
            file: self.clone(),
            pos,
            len,
        }))
    }

    /// Borrows written bytes `pos..pos + len` without taking a reference count (scans).
    pub fn bytes(&self, pos: usize, len: usize) -> Option<&[u8]> {
        let end = pos.checked_add(len)?;
        if end > self.wrote() {
            return None;
        }
        // SAFETY: the range is within the published write position, which is never rewritten
        // while the file is shared (module docs).
        Some(unsafe { std::slice::from_raw_parts(self.map.as_ptr().add(pos), len) })
    }

    /// Syncs written bytes to disk (`msync`, which on Linux is an `fdatasync` of the range) and
    /// returns the new flushed position. Never reports bytes as flushed without syncing them.
    pub fn flush(&self) -> Result<usize> {
        let wrote = self.wrote();
        let flushed = self.flushed();
        if wrote > flushed {
            inject::check(IoOp::Sync, &self.path)
                .and_then(|()| self.map.flush_range(flushed, wrote - flushed))
                .map_err(|e| StoreError::io("sync", &self.path, e))?;
            self.flushed.fetch_max(wrote, Ordering::AcqRel);
        }
        Ok(self.flushed())
    }

    /// Recovery: syncs every written byte, whoever wrote it (a crashed process leaves its
    /// unsynced writes in the page cache, where recovery reads them; they must be on disk before
    /// the checkpoint calls them durable).
    pub fn sync_written(&self) -> Result<()> {
        let wrote = self.wrote();
        if wrote > 0 {
            inject::check(IoOp::Sync, &self.path)
                .and_then(|()| self.map.flush_range(0, wrote))
                .map_err(|e| StoreError::io("sync", &self.path, e))?;
        }
        Ok(())
    }

    /// Moves the write position back to `pos` without touching the bytes after it: for a
    /// replica that becomes the writer with a record its master sent only part of. Those bytes
    /// never formed a whole record, so no reader was given them, and the next appends
    /// overwrite them from `pos` (a crash before that leaves a torn tail, which recovery cuts).
    pub fn rewind(&self, pos: usize) {
        let pos = pos.min(self.wrote());
        self.wrote.store(pos, Ordering::Release);
        if self.flushed() > pos {
            self.flushed.store(pos, Ordering::Release);
        }
    }

    /// Recovery only, before any reader: sets the write position to `pos` and zeroes whatever
    /// stale bytes follow it, so an old record can never reappear after the next crash.
    pub fn truncate(&self, pos: usize) -> Result<()> {
        let pos = pos.min(self.size);
        const PAGE: usize = 4096;
        let mut at = pos;
        while at < self.size {
            let end = (at - at % PAGE + PAGE).min(self.size);
            // SAFETY: recovery runs before the file is shared; the range is within the mapping.
            let chunk =
                unsafe { std::slice::from_raw_parts_mut(self.map.as_mut_ptr().add(at), end - at) };
            if chunk.iter().any(|b| *b != 0) {
                chunk.fill(0);
            }
            at = end;
        }
        if pos < self.size {
            self.map
                .flush_range(pos, self.size - pos)
                .map_err(|e| StoreError::io("sync", &self.path, e))?;
        }
        self.wrote.store(pos, Ordering::Release);
        self.flushed.store(pos, Ordering::Release);
        Ok(())
    }

    /// Removes the file from disk; the mapping stays valid until the last reader drops it.
    pub fn delete(&self) -> Result<()> {
        if !self.deleted.swap(true, Ordering::AcqRel) {
            std::fs::remove_file(&self.path)
                .map_err(|e| StoreError::io("delete", &self.path, e))?;
        }
        Ok(())
    }

    /// Last modification time of the file.
    pub fn modified(&self) -> Option<std::time::SystemTime> {
        std::fs::metadata(&self.path)
            .and_then(|m| m.modified())
            .ok()
    }
}

/// The owner behind a zero-copy read: keeps the file mapped while the bytes are alive.
struct MappedRange {
    file: Arc<MappedFile>,
    pos: usize,
    len: usize,
}

impl AsRef<[u8]> for MappedRange {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: constructed only by `MappedFile::read` for a range below the write position,
        // which is never rewritten while shared; the Arc keeps the mapping alive.
        unsafe { std::slice::from_raw_parts(self.file.map.as_ptr().add(self.pos), self.len) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The resident size of `file`'s mapping in this process, from /proc/self/smaps (Linux).
    #[cfg(target_os = "linux")]
    pub(crate) fn resident(file: &MappedFile) -> usize {
        let start = format!("{:x}-", file.map.as_ptr() as usize);
        let smaps = std::fs::read_to_string("/proc/self/smaps").expect("smaps");
        let mut lines = smaps.lines().skip_while(|l| !l.starts_with(&start));
        assert!(lines.next().is_some(), "the mapping is listed");
        let rss = lines
            .find_map(|l| l.strip_prefix("Rss:"))
            .expect("an Rss line");
        rss.trim()
            .trim_end_matches("kB")
            .trim()
            .parse::<usize>()
            .expect("kB")
            * 1024
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn warming_maps_pages_ahead_of_the_write_position_and_changes_no_byte() {
        const MIB: usize = 1 << 20;
        let dir = tempfile::tempdir().expect("tempdir");
        let f = MappedFile::create(dir.path(), 0, 16 * MIB).expect("create");
        assert_eq!(f.warmed(), 0);
        assert!(resident(&f) < MIB, "nothing mapped yet: {}", resident(&f));
        let done = f.warm(4 * MIB);
        assert_ne!(done, Warmed::Already);
        assert_eq!(f.warmed(), 4 * MIB);
        if done == Warmed::Populated {
            assert!(resident(&f) >= 4 * MIB, "resident {}", resident(&f));
            assert!(resident(&f) < 8 * MIB, "resident {}", resident(&f));
        }
        // Warm again below the warm end: nothing to do.
        assert_eq!(f.warm(3 * MIB), Warmed::Already);
        // Appends past the warm end: the next warming starts from the write position.
        let chunk = vec![7u8; MIB];
        for _ in 0..6 {
            f.append(&[&chunk]).expect("fits");
        }
        assert_eq!(f.warmed(), 6 * MIB);
        f.warm(8 * MIB);
        assert_eq!(f.warmed(), 8 * MIB);
        // Past the end: up to the end.
        f.warm(64 * MIB);
        assert_eq!(f.warmed(), 16 * MIB);
        f.flush().expect("flush");
        drop(f);
        // Reopened (a restart): all of it counts as written until recovery cuts it, then the
        // warm end is the cut, so appends after it get warmed again.
        let path = dir.path().join(file_name(0));
        let f = MappedFile::open(&path, 16 * MIB).expect("open");
        assert_eq!(f.warmed(), 16 * MIB);
        f.truncate(6 * MIB).expect("truncate");
        assert_eq!(f.warmed(), 6 * MIB);
        assert_ne!(f.warm(7 * MIB), Warmed::Already);
        // Contents: what was appended, then zeros.
        f.seal();
        let all = f.bytes(0, 16 * MIB).expect("all");
        assert!(all[..6 * MIB].iter().all(|b| *b == 7));
        assert!(all[6 * MIB..].iter().all(|b| *b == 0));
    }

    #[test]
    fn append_read_flush_truncate() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = MappedFile::create(dir.path(), 4096, 1024).expect("create");
        assert_eq!(
            f.path().file_name().and_then(|n| n.to_str()),
            Some("00000000000000004096")
        );
        assert_eq!(f.append(&[b"hello", b" world"]), Some(0));
        assert_eq!(f.append(&[b"!"]), Some(11));
        assert_eq!(f.read(0, 12).as_deref(), Some(&b"hello world!"[..]));
        assert!(f.read(0, 13).is_none(), "unwritten bytes are not readable");
        assert!(f.append(&[&[0u8; 1013]]).is_none(), "does not fit");
        assert_eq!(f.flush().expect("flush"), 12);
        f.truncate(5).expect("truncate");
        assert_eq!(f.wrote(), 5);
        let reopened = MappedFile::open(f.path(), 1024).expect("open");
        assert_eq!(reopened.start(), 4096);
        assert_eq!(
            reopened.bytes(0, 12),
            Some(&b"hello\0\0\0\0\0\0\0"[..]),
            "truncation zeroes the tail"
        );
        assert!(
            MappedFile::open(f.path(), 2048).is_err(),
            "size mismatch is reported"
        );
    }

    #[test]
    fn reads_outlive_deletion() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = MappedFile::create(dir.path(), 0, 4096).expect("create");
        f.append(&[b"keep me"]);
        let view = f.read(0, 7).expect("read");
        f.delete().expect("delete");
        drop(f);
        assert_eq!(&view[..], b"keep me");
    }
}
