//! The hash slots of an index file, mapped into memory: reading a slot's head and pointing it at
//! a new entry are a load and a store instead of a `pread` and a `pwrite` per message.
//!
//! The slot region is allocated on disk first (`fallocate`), so storing into the mapping never
//! needs a block the disk may not have: a full disk fails the allocation, as an error, when the
//! file is created, instead of raising `SIGBUS` at a later store. Where the file system cannot
//! allocate (or map), the index file keeps using `pread`/`pwrite`.
//!
//! The mapping is file-backed page cache shared with the descriptor's reads and writes (what
//! `pwrite` put there is what a load sees, and `fdatasync` of the descriptor writes the stored
//! slots back), so it adds no anonymous memory, and a file nobody writes to any more costs
//! only the pages the kernel keeps cached.
//!
//! Soundness: the mapping lives as long as this value; the index file is never truncated while
//! open (its size is checked on open and fixed at creation); slots are 4-byte aligned (the
//! mapping starts at a page and the slots at byte 40), and every access is an atomic of that
//! width, so the single writer and concurrent readers never race on plain memory.
#![allow(unsafe_code)]

use std::fs::File;
use std::sync::atomic::{AtomicU32, Ordering};

use memmap2::{MmapOptions, MmapRaw};

use super::file::HEADER_SIZE;

/// The mapped slot region of one index file.
#[derive(Debug)]
pub(super) struct SlotMap {
    map: MmapRaw,
    slots: u32,
}

/// Why the slots could not be mapped.
#[derive(Debug)]
pub(super) enum MapError {
    /// The disk has no room for the slot region.
    DiskFull,
    /// The file system cannot allocate or map it: use `pread`/`pwrite`.
    Unsupported(std::io::Error),
}

impl SlotMap {
    /// Allocates the slot region of `file` (header included) on disk and maps it.
    pub(super) fn new(file: &File, slots: u32) -> Result<SlotMap, MapError> {
        let len = HEADER_SIZE + u64::from(slots) * 4;
        if let Err(e) = rustix::fs::fallocate(file, rustix::fs::FallocateFlags::empty(), 0, len) {
            return Err(if e == rustix::io::Errno::NOSPC {
                MapError::DiskFull
            } else {
                MapError::Unsupported(e.into())
            });
        }
        let size = usize::try_from(len)
            .map_err(|_| MapError::Unsupported(std::io::ErrorKind::InvalidInput.into()))?;
        let map = MmapOptions::new()
            .len(size)
            .map_raw(file)
            .map_err(MapError::Unsupported)?;
        Ok(SlotMap { map, slots })
    }

    fn cell(&self, slot: u32) -> &AtomicU32 {
        let slot = slot % self.slots;
        let at = HEADER_SIZE as usize + slot as usize * 4;
        // SAFETY: `at + 4` is within the mapping (`slot < slots`, the length covers every slot)
        // and 4-byte aligned (module docs); the mapping outlives the returned reference, and the
        // memory is only ever accessed through atomics.
        unsafe { &*self.map.as_mut_ptr().add(at).cast::<AtomicU32>() }
    }

    /// The head stored in `slot` (big-endian in the file, as Apache writes it).
    pub(super) fn get(&self, slot: u32) -> i32 {
        i32::from_be_bytes(self.cell(slot).load(Ordering::Acquire).to_ne_bytes())
    }

    /// Points `slot` at entry `head`.
    pub(super) fn set(&self, slot: u32, head: i32) {
        self.cell(slot)
            .store(u32::from_ne_bytes(head.to_be_bytes()), Ordering::Release);
    }
}
