//! The `checkpoint` file: 4 KiB, Apache's five i64 fields at offsets 0-32
//! (docs/store.md, "Checkpoint"), plus FerroMQ's own fields at offset 64 that recovery prefers:
//! offsets instead of wall-clock timestamps. Apache ignores bytes past 40, so the file stays
//! compatible.
//!
//! | offset | field |
//! |---|---|
//! | 0 | physicMsgTimestamp: store time of the last flushed message |
//! | 8 | logicsMsgTimestamp: store time of the last dispatched message |
//! | 16 | indexMsgTimestamp |
//! | 24 | masterFlushedOffset |
//! | 32 | confirmPhyOffset |
//! | 64 | FerroMQ magic `FMQCKPT1` |
//! | 72 | dispatchedOffset: commitlog offset below which consume queues and index are built and synced |
//! | 80 | flushedOffset: commitlog offset below which the commitlog is synced (0: unknown) |

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::{Result, StoreError};
use crate::fault::inject::{self, IoOp};

const SIZE: usize = 4096;
const MAGIC: &[u8; 8] = b"FMQCKPT1";

/// The checkpoint values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Checkpoint {
    /// Store time of the last flushed message (ms).
    pub physic_msg_timestamp: i64,
    /// Store time of the last dispatched message (ms).
    pub logics_msg_timestamp: i64,
    /// Store time covered by flushed index files (ms).
    pub index_msg_timestamp: i64,
    /// Slave bookkeeping.
    pub master_flushed_offset: i64,
    /// Controller bookkeeping.
    pub confirm_phy_offset: i64,
    /// FerroMQ: commitlog offset below which consume queues and index are durable; `None` when the
    /// file was written by Apache.
    pub dispatched_offset: Option<u64>,
    /// FerroMQ: commitlog offset below which the commitlog was synced when the checkpoint was
    /// written (recovery never truncates below it); `None` when the file was written by Apache
    /// or by a FerroMQ version that did not record it.
    pub flushed_offset: Option<u64>,
}

/// The checkpoint file.
#[derive(Debug)]
pub struct CheckpointFile {
    path: PathBuf,
    file: File,
}

fn i64_at(buf: &[u8], at: usize) -> i64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&buf[at..at + 8]);
    i64::from_be_bytes(b)
}

impl CheckpointFile {
    /// Opens (or creates) the file and reads it.
    pub fn open(path: &Path) -> Result<(CheckpointFile, Checkpoint)> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| StoreError::io("open", path, e))?;
        let mut buf = vec![0u8; SIZE];
        let n = file
            .read_at(&mut buf, 0)
            .map_err(|e| StoreError::io("read", path, e))?;
        if n == 0 {
            // Possibly just created: make its directory entry durable.
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                crate::mapped_file::sync_dir(dir)?;
            }
        }
        buf.truncate(n);
        buf.resize(SIZE, 0);
        let cp = Checkpoint {
            physic_msg_timestamp: i64_at(&buf, 0),
            logics_msg_timestamp: i64_at(&buf, 8),
            index_msg_timestamp: i64_at(&buf, 16),
            master_flushed_offset: i64_at(&buf, 24),
            confirm_phy_offset: i64_at(&buf, 32),
            dispatched_offset: (&buf[64..72] == MAGIC)
                .then(|| u64::try_from(i64_at(&buf, 72)).ok())
                .flatten(),
            flushed_offset: (&buf[64..72] == MAGIC)
                .then(|| u64::try_from(i64_at(&buf, 80)).ok())
                .flatten()
                .filter(|o| *o > 0),
        };
        Ok((
            CheckpointFile {
                path: path.to_owned(),
                file,
            },
            cp,
        ))
    }

    /// Writes and syncs all fields (one 4 KiB page: written whole or not at all on Linux
    /// filesystems with 4 KiB blocks).
    pub fn write(&self, cp: &Checkpoint) -> Result<()> {
        let mut buf = vec![0u8; SIZE];
        for (at, v) in [
            (0, cp.physic_msg_timestamp),
            (8, cp.logics_msg_timestamp),
            (16, cp.index_msg_timestamp),
            (24, cp.master_flushed_offset),
            (32, cp.confirm_phy_offset),
        ] {
            buf[at..at + 8].copy_from_slice(&v.to_be_bytes());
        }
        if let Some(off) = cp.dispatched_offset {
            buf[64..72].copy_from_slice(MAGIC);
            buf[72..80].copy_from_slice(&i64::try_from(off).unwrap_or(i64::MAX).to_be_bytes());
            let flushed = cp.flushed_offset.unwrap_or(0);
            buf[80..88].copy_from_slice(&i64::try_from(flushed).unwrap_or(i64::MAX).to_be_bytes());
        }
        inject::check(IoOp::Write, &self.path)
            .and_then(|()| self.file.write_all_at(&buf, 0))
            .and_then(|()| inject::check(IoOp::Sync, &self.path))
            .and_then(|()| self.file.sync_data())
            .map_err(|e| StoreError::io("write", &self.path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_apache_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("checkpoint");
        let (f, cp) = CheckpointFile::open(&path).expect("create");
        assert_eq!(cp, Checkpoint::default());
        let want = Checkpoint {
            physic_msg_timestamp: 1_700_000_000_123,
            logics_msg_timestamp: 1_700_000_000_100,
            index_msg_timestamp: 5,
            master_flushed_offset: 0,
            confirm_phy_offset: 99,
            dispatched_offset: Some(4096),
            flushed_offset: Some(8192),
        };
        f.write(&want).expect("write");
        assert_eq!(std::fs::metadata(&path).expect("meta").len(), 4096);
        assert_eq!(CheckpointFile::open(&path).expect("reopen").1, want);
        // An Apache-written checkpoint has no FerroMQ fields.
        let mut apache = vec![0u8; 4096];
        apache[0..8].copy_from_slice(&7i64.to_be_bytes());
        std::fs::write(&path, &apache).expect("w");
        let cp = CheckpointFile::open(&path).expect("apache").1;
        assert_eq!(
            (
                cp.physic_msg_timestamp,
                cp.dispatched_offset,
                cp.flushed_offset
            ),
            (7, None, None)
        );
    }
}
