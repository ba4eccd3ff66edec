//! The epoch file (Apache's `epochFileCheckpoint`): which master epoch wrote which part of the
//! commitlog. Each entry is `<epoch, startOffset>`; an entry ends where the next one starts, and
//! the last one at the end of the log.
//!
//! On disk it is Apache's checkpoint text so either broker reads the other's file: the entry
//! count on the first line, the CRC32 of the entry lines on the second (as a signed 32-bit
//! number; 0 means "not checked"), then one `epoch-startOffset` line per entry. The previous
//! content is kept in `<file>.bak`, which is read when the file is missing, empty or corrupt.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One master term: its epoch and the commitlog offset its first message was written at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct EpochEntry {
    pub(crate) epoch: i32,
    pub(crate) start: i64,
}

/// The epochs of a commitlog, in memory and (with a path) on disk.
#[derive(Debug, Default)]
pub(crate) struct EpochFile {
    entries: BTreeMap<i32, i64>,
    path: Option<PathBuf>,
}

impl EpochFile {
    /// Entries with no file behind them (a peer's, from a handshake).
    pub(crate) fn in_memory(entries: &[EpochEntry]) -> EpochFile {
        EpochFile {
            entries: entries.iter().map(|e| (e.epoch, e.start)).collect(),
            path: None,
        }
    }

    /// Reads `path` (or its `.bak`); a missing file is an empty epoch list.
    pub(crate) fn open(path: &Path) -> Result<EpochFile, String> {
        let entries = match read(path) {
            Ok(e) if !e.is_empty() => e,
            first => match read(&bak(path)) {
                Ok(e) if !e.is_empty() => e,
                Ok(_) => first?,
                Err(e) => first.map_err(|_| e)?,
            },
        };
        Ok(EpochFile {
            entries: entries.into_iter().map(|e| (e.epoch, e.start)).collect(),
            path: Some(path.to_owned()),
        })
    }

    /// Every entry, oldest first.
    pub(crate) fn entries(&self) -> Vec<EpochEntry> {
        self.entries
            .iter()
            .map(|(&epoch, &start)| EpochEntry { epoch, start })
            .collect()
    }

    /// The newest entry.
    pub(crate) fn last(&self) -> Option<EpochEntry> {
        self.entries
            .iter()
            .next_back()
            .map(|(&epoch, &start)| EpochEntry { epoch, start })
    }

    /// The newest epoch, -1 when there is none.
    pub(crate) fn last_epoch(&self) -> i32 {
        self.last().map_or(-1, |e| e.epoch)
    }

    /// Where `epoch` ends: the next entry's start, or `log_end` for the newest.
    pub(crate) fn end_of(&self, epoch: i32, log_end: i64) -> Option<i64> {
        self.entries.get(&epoch)?;
        Some(
            self.entries
                .range(epoch.saturating_add(1)..)
                .next()
                .map_or(log_end, |(_, &s)| s),
        )
    }

    /// The entry whose range holds `offset` (the newest holds everything from its start).
    pub(crate) fn entry_at(&self, offset: i64) -> Option<EpochEntry> {
        self.entries
            .iter()
            .rev()
            .find(|(_, &start)| start <= offset)
            .map(|(&epoch, &start)| EpochEntry { epoch, start })
    }

    /// Appends a newer epoch; refused (false) unless both its epoch and start are past the
    /// newest entry's (an equal start replaces an entry that wrote nothing).
    pub(crate) fn append(&mut self, entry: EpochEntry) -> Result<bool, String> {
        if let Some(last) = self.last() {
            if last.epoch >= entry.epoch || last.start > entry.start {
                return Ok(false);
            }
            if last.start == entry.start {
                self.entries.remove(&last.epoch);
            }
        }
        self.entries.insert(entry.epoch, entry.start);
        self.persist()?;
        Ok(true)
    }

    /// Drops the entries starting at or after `offset` (the log was cut there).
    pub(crate) fn truncate_from_offset(&mut self, offset: i64) -> Result<(), String> {
        self.entries.retain(|_, start| *start < offset);
        self.persist()
    }

    /// The offset up to which this log (ending at `own_end`) and `other`'s (ending at
    /// `other_end`) hold the same bytes: the newest epoch both have with the same start, up to
    /// where the shorter of the two ends it. `None` when they share no epoch.
    pub(crate) fn consistent_point(
        &self,
        own_end: i64,
        other: &EpochFile,
        other_end: i64,
    ) -> Option<i64> {
        self.entries.iter().rev().find_map(|(&epoch, &start)| {
            let theirs = *other.entries.get(&epoch)?;
            (theirs == start).then(|| {
                let mine = self.end_of(epoch, own_end).unwrap_or(own_end);
                mine.min(other.end_of(epoch, other_end).unwrap_or(other_end))
            })
        })
    }

    fn persist(&self) -> Result<(), String> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        if self.entries.is_empty() {
            // As Apache: an empty list is not written (the file keeps the last entries).
            return Ok(());
        }
        write(path, &self.entries())
    }
}

fn bak(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".bak");
    PathBuf::from(name)
}

/// The file's text for `entries`.
pub(crate) fn encode(entries: &[EpochEntry]) -> String {
    let lines: String = entries
        .iter()
        .map(|e| format!("{}-{}\n", e.epoch, e.start))
        .collect();
    // Java's UtilAll.crc32 returns the CRC as a (signed) int.
    let crc = crc32fast::hash(lines.as_bytes()) as i32;
    format!("{}\n{crc}\n{lines}", entries.len())
}

/// Entries from the file's text.
pub(crate) fn decode(text: &str) -> Result<Vec<EpochEntry>, String> {
    let mut lines = text.lines();
    let count: usize = lines
        .next()
        .and_then(|l| l.trim().parse().ok())
        .ok_or("first line is not an entry count")?;
    let crc: i32 = lines
        .next()
        .and_then(|l| l.trim().parse().ok())
        .ok_or("second line is not a CRC32")?;
    let mut entries = Vec::new();
    let mut body = String::new();
    for line in lines {
        body.push_str(line);
        body.push('\n');
        let Some((epoch, start)) = line.split_once('-') else {
            continue;
        };
        let (Ok(epoch), Ok(start)) = (epoch.trim().parse(), start.trim().parse()) else {
            return Err(format!("bad entry line `{line}`"));
        };
        entries.push(EpochEntry { epoch, start });
    }
    if entries.len() != count {
        return Err(format!(
            "{count} entries announced, {} found",
            entries.len()
        ));
    }
    if crc != 0 && crc32fast::hash(body.as_bytes()) as i32 != crc {
        return Err("CRC32 does not match the entries".to_owned());
    }
    Ok(entries)
}

fn read(path: &Path) -> Result<Vec<EpochEntry>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) if text.trim().is_empty() => Ok(Vec::new()),
        Ok(text) => decode(&text).map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Writes `entries` to a temporary file, syncs it, keeps the old content as `.bak` and
/// renames the new one over it.
fn write(path: &Path, entries: &[EpochEntry]) -> Result<(), String> {
    use std::io::Write;
    let fail = |e: std::io::Error| format!("{}: {e}", path.display());
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    if path.exists() {
        std::fs::copy(path, bak(path)).map_err(fail)?;
    }
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    let mut f = std::fs::File::create(&tmp).map_err(fail)?;
    f.write_all(encode(entries).as_bytes()).map_err(fail)?;
    f.sync_all().map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(epoch: i32, start: i64) -> EpochEntry {
        EpochEntry { epoch, start }
    }

    #[test]
    fn apache_text_round_trips_and_a_bad_crc_is_refused() {
        let text = encode(&[e(7, 7000), e(8, 8000)]);
        let crc = crc32fast::hash(b"7-7000\n8-8000\n") as i32;
        assert_eq!(text, format!("2\n{crc}\n7-7000\n8-8000\n"));
        assert_eq!(decode(&text).ok(), Some(vec![e(7, 7000), e(8, 8000)]));
        assert!(decode("2\n12345\n7-7000\n8-8000\n").is_err());
        assert!(decode("3\n0\n7-7000\n8-8000\n").is_err(), "count mismatch");
        assert_eq!(
            decode("1\n0\n1-0\n").ok(),
            Some(vec![e(1, 0)]),
            "crc 0 unchecked"
        );
    }

    #[test]
    fn persists_appends_and_falls_back_to_the_backup() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("epochFileCheckpoint");
        let mut f = EpochFile::open(&path).expect("empty");
        assert_eq!(f.last_epoch(), -1);
        assert_eq!(f.append(e(1, 0)), Ok(true));
        assert_eq!(f.append(e(2, 500)), Ok(true));
        assert_eq!(f.append(e(2, 900)), Ok(false), "same epoch");
        assert_eq!(f.append(e(3, 400)), Ok(false), "start going back");
        assert_eq!(EpochFile::open(&path).expect("read").entries(), f.entries());
        std::fs::write(&path, "garbage").expect("corrupt");
        assert_eq!(
            EpochFile::open(&path).expect("bak").entries(),
            vec![e(1, 0)],
            "the backup holds the content before the last write"
        );
    }

    #[test]
    fn consistent_point_is_where_the_shared_epoch_ends_first() {
        // The old master wrote epoch 2 up to 1500; the new master (epoch 3 from 1200) had
        // epoch 2 up to 1200 only.
        let old = EpochFile::in_memory(&[e(1, 0), e(2, 1000)]);
        let new = EpochFile::in_memory(&[e(1, 0), e(2, 1000), e(3, 1200)]);
        assert_eq!(old.consistent_point(1500, &new, 2000), Some(1200));
        assert_eq!(new.end_of(2, 2000), Some(1200));
        assert_eq!(new.entry_at(1199), Some(e(2, 1000)));
        assert_eq!(new.entry_at(5000), Some(e(3, 1200)));
        let stranger = EpochFile::in_memory(&[e(1, 50)]);
        assert_eq!(old.consistent_point(1500, &stranger, 100), None);
    }
}
