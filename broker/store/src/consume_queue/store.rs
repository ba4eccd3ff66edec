//! Every consume queue of a store (Apache's `ConsumeQueueStore`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::{ConsumeQueue, CqUnit, CQ_UNIT_SIZE};
use crate::commit_log::DispatchRequest;
use crate::error::{Result, StoreError};

type QueueMap = HashMap<String, HashMap<i32, Arc<ConsumeQueue>>>;

/// The consume queues under one `consumequeue/` directory.
///
/// One dispatcher thread calls [`ConsumeQueueStore::dispatch`]; any number of threads read.
/// The map lock is held only for lookups, for the duration of one append, and to add or remove
/// queues, never across a flush or a scan.
#[derive(Debug)]
pub struct ConsumeQueueStore {
    dir: PathBuf,
    file_size: usize,
    queues: RwLock<QueueMap>,
}

/// Whether `topic` is usable as one directory name (the broker validates topics; this only keeps
/// a bad one from escaping the store directory or failing in the filesystem): not empty, not
/// `.` or `..`, no `/`, `\\` or NUL, at most 255 bytes.
fn is_safe_dir_name(topic: &str) -> bool {
    !topic.is_empty()
        && topic.len() <= 255
        && topic != "."
        && topic != ".."
        && !topic.contains(['/', '\\', '\0'])
}

impl ConsumeQueueStore {
    /// Loads every `<dir>/<topic>/<queueId>/` queue (`dir` may not exist yet). Entries that are
    /// not directories, or queue directories not named by an `i32`, are ignored with a warning.
    /// `file_size` is rounded up to whole units as Apache does. Call
    /// [`ConsumeQueueStore::recover`] before use: until then every file counts as full.
    pub fn load(dir: &Path, file_size: usize) -> Result<Self> {
        let file_size = file_size.div_ceil(CQ_UNIT_SIZE).max(1) * CQ_UNIT_SIZE;
        let mut queues = QueueMap::new();
        for topic_dir in subdirectories(dir)? {
            let Some(topic) = dir_name(&topic_dir) else {
                continue;
            };
            for queue_dir in subdirectories(&topic_dir)? {
                let Some(queue_id) = dir_name(&queue_dir).and_then(|n| n.parse::<i32>().ok())
                else {
                    tracing::warn!(dir = %queue_dir.display(), "not a queue directory; ignored");
                    continue;
                };
                let queue = ConsumeQueue::load(&queue_dir, topic.clone(), queue_id, file_size)?;
                queues
                    .entry(topic.clone())
                    .or_default()
                    .insert(queue_id, Arc::new(queue));
            }
        }
        Ok(ConsumeQueueStore {
            dir: dir.to_owned(),
            file_size,
            queues: RwLock::new(queues),
        })
    }

    fn read_map(&self) -> RwLockReadGuard<'_, QueueMap> {
        self.queues.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_map(&self) -> RwLockWriteGuard<'_, QueueMap> {
        self.queues.write().unwrap_or_else(|e| e.into_inner())
    }

    fn all(&self) -> Vec<Arc<ConsumeQueue>> {
        self.read_map()
            .values()
            .flat_map(|q| q.values().cloned())
            .collect()
    }

    /// The `consumequeue/` directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Bytes per consume-queue file (a multiple of 20).
    pub fn file_size(&self) -> usize {
        self.file_size
    }

    /// Recovery, before any reader or dispatch: for each queue, scans units from its third-last
    /// file and truncates after the last valid one ([`ConsumeQueue`] rules), then derives its
    /// min offset and max commitlog offset.
    pub fn recover(&self) -> Result<()> {
        for queue in self.all() {
            queue.recover()?;
        }
        Ok(())
    }

    /// The largest commitlog end (offset + size) any queue refers to: where commitlog recovery
    /// may stop re-dispatching.
    pub fn max_phy_offset(&self) -> u64 {
        self.all()
            .iter()
            .map(|q| u64::try_from(q.max_phy_offset()).unwrap_or(0))
            .max()
            .unwrap_or(0)
    }

    /// Recovery, after [`Self::recover`]: drops every unit whose record starts at or past
    /// `commit_log_offset` (the recovered end of the commitlog).
    pub fn truncate_from(&self, commit_log_offset: u64) -> Result<()> {
        let offset = i64::try_from(commit_log_offset).unwrap_or(i64::MAX);
        for queue in self.all() {
            queue.truncate_from(offset)?;
        }
        Ok(())
    }

    /// `(topic, queue id, max offset)` of every queue: the next queue offsets the commitlog
    /// assigns.
    pub fn next_offsets(&self) -> Vec<(String, i32, i64)> {
        self.all()
            .iter()
            .map(|q| (q.topic().to_owned(), q.queue_id(), q.max_offset()))
            .collect()
    }

    /// Appends the unit of one commitlog record, creating its queue on first use. Records that
    /// are not consumable (prepared or rolled-back transaction messages) are ignored; a record
    /// the queue already indexes is skipped, so recovery may re-dispatch freely. Only one thread
    /// may dispatch. No allocation happens when the queue exists.
    pub fn dispatch(&self, req: &DispatchRequest) -> Result<()> {
        if !req.is_consumable() {
            return Ok(());
        }
        let unit = CqUnit {
            commit_log_offset: i64::try_from(req.commit_log_offset).map_err(|_| {
                StoreError::MessageIllegal(format!(
                    "commitlog offset {} out of range",
                    req.commit_log_offset
                ))
            })?,
            size: i32::try_from(req.size).map_err(|_| {
                StoreError::MessageIllegal(format!("record size {} out of range", req.size))
            })?,
            tags_code: req.tags_code,
        };
        loop {
            {
                // Held across the append so that delete_topic/destroy_all wait for it, and never
                // write into a queue they removed.
                let map = self.read_map();
                if let Some(queue) = map
                    .get(req.topic.as_str())
                    .and_then(|q| q.get(&req.queue_id))
                {
                    return queue.put(unit, req.queue_offset);
                }
            }
            self.create(&req.topic, req.queue_id)?;
        }
    }

    /// Creates a queue. A topic that cannot name a directory, or a negative queue id, is
    /// refused with a permanent error ([`StoreError::MessageIllegal`]) before the filesystem is
    /// touched.
    fn create(&self, topic: &str, queue_id: i32) -> Result<()> {
        if !is_safe_dir_name(topic) {
            return Err(StoreError::MessageIllegal(format!(
                "topic {topic:?} cannot name a consume queue directory (empty, `.`, `..`, `/`, \
                 `\\`, NUL or over 255 bytes)"
            )));
        }
        if queue_id < 0 {
            return Err(StoreError::MessageIllegal(format!(
                "queue id {queue_id} of topic {topic:?} is negative"
            )));
        }
        let mut map = self.write_map();
        if map.get(topic).is_some_and(|q| q.contains_key(&queue_id)) {
            return Ok(());
        }
        let dir = self.dir.join(topic).join(queue_id.to_string());
        let queue = Arc::new(ConsumeQueue::load(
            &dir,
            topic.to_owned(),
            queue_id,
            self.file_size,
        )?);
        map.entry(topic.to_owned())
            .or_default()
            .insert(queue_id, queue);
        Ok(())
    }

    /// One queue.
    pub fn queue(&self, topic: &str, queue_id: i32) -> Option<Arc<ConsumeQueue>> {
        self.read_map().get(topic)?.get(&queue_id).cloned()
    }

    /// The queues of a topic, by queue id.
    pub fn queues_of(&self, topic: &str) -> Vec<Arc<ConsumeQueue>> {
        let mut queues: Vec<_> = self
            .read_map()
            .get(topic)
            .map(|q| q.values().cloned().collect())
            .unwrap_or_default();
        queues.sort_by_key(|q| q.queue_id());
        queues
    }

    /// Every topic with at least one queue, sorted.
    pub fn topics(&self) -> Vec<String> {
        let mut topics: Vec<String> = self.read_map().keys().cloned().collect();
        topics.sort();
        topics
    }

    /// Syncs every queue's unsynced units. Every queue is attempted; the first error is
    /// returned.
    pub fn flush(&self) -> Result<()> {
        let mut first_error = None;
        for queue in self.all() {
            if let Err(e) = queue.files.flush() {
                tracing::error!(error = %e, topic = queue.topic(), queue_id = queue.queue_id(), "consume queue flush failed");
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Deletes a topic's queues and their files. Readers holding a queue keep reading what they
    /// have mapped.
    pub fn delete_topic(&self, topic: &str) -> Result<()> {
        let removed = self.write_map().remove(topic);
        if let Some(queues) = removed {
            for queue in queues.values() {
                queue.destroy()?;
            }
        }
        if is_safe_dir_name(topic) {
            let _ = std::fs::remove_dir(self.dir.join(topic));
        }
        Ok(())
    }

    /// Retention, once the commitlog's min offset has advanced: in every queue, deletes the
    /// oldest files whose last unit points below `commit_log_min_offset` (never a queue's newest
    /// file) and raises the min offset to the first unit still in the commitlog. Returns the
    /// number of files deleted.
    pub fn clean_expired(&self, commit_log_min_offset: u64) -> Result<usize> {
        let offset = i64::try_from(commit_log_min_offset).unwrap_or(i64::MAX);
        let mut deleted = 0;
        for queue in self.all() {
            deleted += queue.delete_expired(offset)?;
        }
        Ok(deleted)
    }

    /// Raises every queue's min offset to its first unit whose record is at or after
    /// `commit_log_min_offset` (startup, after recovery; [`Self::clean_expired`] does it too).
    pub fn correct_min_offsets(&self, commit_log_min_offset: u64) {
        let offset = i64::try_from(commit_log_min_offset).unwrap_or(i64::MAX);
        for queue in self.all() {
            queue.correct_min_offset(offset);
        }
    }

    /// Deletes every queue (recovery found an empty commitlog but consume queues exist).
    pub fn destroy_all(&self) -> Result<()> {
        let removed = std::mem::take(&mut *self.write_map());
        for (topic, queues) in removed {
            for queue in queues.values() {
                queue.destroy()?;
            }
            if is_safe_dir_name(&topic) {
                let _ = std::fs::remove_dir(self.dir.join(&topic));
            }
        }
        Ok(())
    }
}

/// The subdirectories of `dir` (none if it does not exist).
fn subdirectories(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::io("list", dir, e)),
    };
    let mut dirs = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| StoreError::io("list", dir, e))?;
        let is_dir = entry
            .file_type()
            .map_err(|e| StoreError::io("stat", entry.path(), e))?
            .is_dir();
        if is_dir {
            dirs.push(entry.path());
        } else {
            tracing::warn!(path = %entry.path().display(), "not a directory; ignored");
        }
    }
    dirs.sort();
    Ok(dirs)
}

fn dir_name(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str();
    if name.is_none() {
        tracing::warn!(dir = %path.display(), "directory name is not UTF-8; ignored");
    }
    name.map(str::to_owned)
}
