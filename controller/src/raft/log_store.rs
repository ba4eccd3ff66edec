//! The durable Raft log.
//!
//! Layout under `<controllerStorePath>/raft/`:
//!
//! - `log`: entries appended in index order, each as `length (u32 LE) | crc32 of the payload
//!   (u32 LE) | payload (the entry as JSON)`; fsynced before openraft is told an append is done;
//!   a conflict truncates the file at the first dropped entry (and fsyncs);
//! - `vote.json`, `committed.json`, `purged.json`: the vote, the last committed log id and the
//!   last purged log id, each replaced atomically ([`write_atomic`]) and fsynced.
//!
//! On open the file is read whole (controller logs are small: a snapshot every
//! `controllerSnapshotEveryEntries` entries lets the log before it go). A record cut short or
//! failing its checksum is a torn write from a crash: the file is cut there (those entries were
//! never acknowledged). Entries at or below the purged id are skipped; after a purge the file is
//! rewritten with the remaining entries (again atomically).
//!
//! File I/O runs inline on the Raft task: the writes are a few hundred bytes.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::ops::RangeBounds;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{RaftLogId, RaftLogReader, StorageIOError, Vote};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::fsutil::{read_optional, sync_dir, write_atomic};
use super::{Entry, LogId, NodeId, StorageError, TypeConfig};

const HEADER: usize = 8;

/// The durable log; clones share it (openraft reads through a clone while it appends).
#[derive(Clone, Debug)]
pub struct LogStore {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug)]
struct Inner {
    dir: PathBuf,
    file: File,
    len: u64,
    /// Index -> (offset of its record in `log`, entry).
    entries: BTreeMap<u64, (u64, Entry)>,
    vote: Option<Vote<NodeId>>,
    committed: Option<LogId>,
    purged: Option<LogId>,
}

fn io_err(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

fn read_json<T: DeserializeOwned>(path: &Path) -> std::io::Result<Option<T>> {
    match read_optional(path)? {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| io_err(format!("{}: {e}", path.display()))),
    }
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    write_atomic(path, &serde_json::to_vec(value).map_err(io_err)?)
}

/// Encodes one record.
fn record(entry: &Entry) -> std::io::Result<Vec<u8>> {
    let payload = serde_json::to_vec(entry).map_err(io_err)?;
    let len = u32::try_from(payload.len()).map_err(io_err)?;
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
    Ok(out)
}

/// Decodes the records of `bytes`: the entries with their offsets, and where the valid part
/// ends (a torn or corrupt tail starts there).
fn decode_records(bytes: &[u8]) -> (Vec<(u64, Entry)>, usize) {
    let mut out = Vec::new();
    let mut pos = 0;
    while bytes.len() - pos >= HEADER {
        let word = |at: usize| {
            let mut w = [0u8; 4];
            w.copy_from_slice(&bytes[at..at + 4]);
            u32::from_le_bytes(w)
        };
        let len = word(pos) as usize;
        let crc = word(pos + 4);
        let Some(payload) = bytes.get(pos + HEADER..pos + HEADER + len) else {
            break;
        };
        if crc32fast::hash(payload) != crc {
            break;
        }
        let Ok(entry) = serde_json::from_slice::<Entry>(payload) else {
            tracing::error!(
                offset = pos,
                "raft log record passes its checksum but is not an entry"
            );
            break;
        };
        out.push((pos as u64, entry));
        pos += HEADER + len;
    }
    (out, pos)
}

impl LogStore {
    /// Opens (or creates) the log in `dir`, recovering from a torn tail.
    pub fn open(dir: &Path) -> std::io::Result<LogStore> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("log");
        let bytes = read_optional(&path)?.unwrap_or_default();
        let (records, valid) = decode_records(&bytes);
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)?;
        if valid < bytes.len() {
            tracing::warn!(
                file = %path.display(),
                cut_at = valid,
                dropped_bytes = bytes.len() - valid,
                "raft log ends with a torn or corrupt record; cutting it off"
            );
            file.set_len(valid as u64)?;
            file.sync_all()?;
        }
        sync_dir(dir)?;
        file.seek(SeekFrom::Start(valid as u64))?;
        let purged: Option<LogId> = read_json(&dir.join("purged.json"))?;
        let entries = records
            .into_iter()
            .filter(|(_, e)| purged.is_none_or(|p| e.log_id.index > p.index))
            .map(|(off, e)| (e.log_id.index, (off, e)))
            .collect();
        Ok(LogStore {
            inner: Arc::new(Mutex::new(Inner {
                vote: read_json(&dir.join("vote.json"))?,
                committed: read_json(&dir.join("committed.json"))?,
                purged,
                dir: dir.to_owned(),
                file,
                len: valid as u64,
                entries,
            })),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        ferromq_common::lock(&self.inner)
    }
}

impl Inner {
    fn append(&mut self, entries: Vec<Entry>) -> std::io::Result<()> {
        let mut buf = Vec::new();
        let mut placed = Vec::with_capacity(entries.len());
        for entry in entries {
            let offset = self.len + buf.len() as u64;
            buf.extend_from_slice(&record(&entry)?);
            placed.push((offset, entry));
        }
        self.file.write_all(&buf)?;
        self.file.sync_data()?;
        self.len += buf.len() as u64;
        for (offset, entry) in placed {
            self.entries.insert(entry.log_id.index, (offset, entry));
        }
        Ok(())
    }

    fn truncate(&mut self, index: u64) -> std::io::Result<()> {
        let Some((_, (offset, _))) = self.entries.range(index..).next() else {
            return Ok(());
        };
        let offset = *offset;
        self.file.set_len(offset)?;
        self.file.sync_all()?;
        self.file.seek(SeekFrom::Start(offset))?;
        self.len = offset;
        self.entries.split_off(&index);
        Ok(())
    }

    fn purge(&mut self, log_id: LogId) -> std::io::Result<()> {
        // Record the purge first: a crash before the rewrite leaves entries that open() skips.
        write_json(&self.dir.join("purged.json"), &log_id)?;
        self.purged = Some(log_id);
        self.entries = self.entries.split_off(&(log_id.index + 1));
        let mut buf = Vec::new();
        let mut kept = BTreeMap::new();
        for (index, (_, entry)) in std::mem::take(&mut self.entries) {
            let offset = buf.len() as u64;
            buf.extend_from_slice(&record(&entry)?);
            kept.insert(index, (offset, entry));
        }
        let path = self.dir.join("log");
        write_atomic(&path, &buf)?;
        self.file = OpenOptions::new().read(true).write(true).open(&path)?;
        self.file.seek(SeekFrom::End(0))?;
        self.len = buf.len() as u64;
        self.entries = kept;
        Ok(())
    }
}

fn write_err(e: std::io::Error) -> StorageError {
    StorageIOError::write_logs(&e).into()
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        Ok(self
            .lock()
            .entries
            .range(range)
            .map(|(_, (_, e))| e.clone())
            .collect())
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        let inner = self.lock();
        let last = inner
            .entries
            .values()
            .next_back()
            .map(|(_, e)| *e.get_log_id())
            .or(inner.purged);
        Ok(LogState {
            last_purged_log_id: inner.purged,
            last_log_id: last,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), StorageError> {
        let mut inner = self.lock();
        write_json(&inner.dir.join("vote.json"), vote)
            .map_err(|e| StorageError::from(StorageIOError::write_vote(&e)))?;
        inner.vote = Some(*vote);
        Ok(())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, StorageError> {
        Ok(self.lock().vote)
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        let mut inner = self.lock();
        write_json(&inner.dir.join("committed.json"), &committed).map_err(write_err)?;
        inner.committed = committed;
        Ok(())
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, StorageError> {
        Ok(self.lock().committed)
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        let result = self.lock().append(entries.into_iter().collect());
        match result {
            Ok(()) => {
                callback.log_io_completed(Ok(()));
                Ok(())
            }
            Err(e) => {
                callback.log_io_completed(Err(io_err(&e)));
                Err(write_err(e))
            }
        }
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        self.lock().truncate(log_id.index).map_err(write_err)
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        self.lock().purge(log_id).map_err(write_err)
    }
}

#[cfg(test)]
mod tests {
    use openraft::{CommittedLeaderId, EntryPayload};

    use super::*;
    use crate::raft::Request;

    fn entry(term: u64, index: u64) -> Entry {
        Entry {
            log_id: LogId::new(CommittedLeaderId::new(term, 1), index),
            payload: EntryPayload::Normal(Request::default()),
        }
    }

    fn indexes(store: &LogStore) -> Vec<u64> {
        store.lock().entries.keys().copied().collect()
    }

    #[test]
    fn reopen_keeps_entries_vote_and_purge() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = LogStore::open(dir.path()).expect("open");
        store
            .lock()
            .append((1..=5).map(|i| entry(1, i)).collect())
            .expect("append");
        store.lock().truncate(4).expect("truncate");
        store.lock().append(vec![entry(2, 4)]).expect("append");
        store
            .lock()
            .purge(LogId::new(CommittedLeaderId::new(1, 1), 2))
            .expect("purge");
        write_json(&dir.path().join("vote.json"), &Vote::<NodeId>::new(3, 1)).expect("vote");
        drop(store);
        let again = LogStore::open(dir.path()).expect("reopen");
        assert_eq!(indexes(&again), vec![3, 4]);
        assert_eq!(again.lock().entries[&4].1.log_id.leader_id.term, 2);
        assert_eq!(again.lock().vote, Some(Vote::new(3, 1)));
        assert_eq!(again.lock().purged.map(|p| p.index), Some(2));
    }

    #[test]
    fn a_torn_or_corrupt_tail_is_cut_off() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = LogStore::open(dir.path()).expect("open");
        store
            .lock()
            .append((1..=3).map(|i| entry(1, i)).collect())
            .expect("append");
        let end = store.lock().len;
        drop(store);
        let path = dir.path().join("log");
        // A half-written fourth record.
        let mut f = OpenOptions::new().append(true).open(&path).expect("open");
        f.write_all(&record(&entry(1, 4)).expect("record")[..10])
            .expect("write");
        drop(f);
        let again = LogStore::open(dir.path()).expect("reopen");
        assert_eq!(indexes(&again), vec![1, 2, 3]);
        assert_eq!(std::fs::metadata(&path).expect("meta").len(), end);
        // Appends continue where the valid part ended.
        again.lock().append(vec![entry(1, 4)]).expect("append");
        drop(again);
        // Flip a byte inside record 2: records 2.. are dropped.
        let mut bytes = std::fs::read(&path).expect("read");
        let second = record(&entry(1, 1)).expect("record").len();
        bytes[second + HEADER + 3] ^= 0x55;
        std::fs::write(&path, &bytes).expect("write");
        assert_eq!(
            indexes(&LogStore::open(dir.path()).expect("reopen")),
            vec![1]
        );
    }
}
