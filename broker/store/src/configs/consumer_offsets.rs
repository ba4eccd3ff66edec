//! `config/consumerOffset.json`: committed consumer offsets (Apache `ConsumerOffsetManager`).
//!
//! The file maps `"<topic>@<group>"` to `{queueId: nextOffset}`, with integer keys written bare
//! as fastjson writes `Map<Integer, Long>`. Apache 5.3.3 also writes its `dataVersion` and a
//! `groupTopicMap` derived from the keys (from a getter); both are written here too, and
//! `groupTopicMap` is ignored on reading:
//!
//! ```text
//! {"dataVersion":{"counter":0,"stateVersion":0,"timestamp":..},
//!  "groupTopicMap":{"G1":["T1"]},"offsetTable":{"T1@G1":{0:123,1:456}}}
//! ```
//!
//! The stored offset is the **next** offset to consume. Transaction half/op queue progress lives
//! here too, under group `CID_RMQ_SYS_TRANS`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};

use ferromq_protocol::body::DataVersion;
use ferromq_protocol::json::{self, Value};

use super::file::{self, read_data_version, read_int_map, write_int_map};
use super::table::{ConfigTable, TableContents};
use crate::error::Result;

/// Separator of topic and group in the file's keys.
pub const TOPIC_GROUP_SEPARATOR: char = '@';

/// Apache `consumerOffsetUpdateVersionStep`: the data version advances once per this many
/// commits.
pub const DEFAULT_VERSION_STEP: u64 = 500;

/// Queue id to next offset, for one topic and group.
type QueueOffsets = BTreeMap<i32, i64>;

/// topic -> group -> queue offsets. Commits to an existing (topic, group) take the outer lock
/// shared and only that pair's mutex, and look both names up by `&str`, so they neither
/// allocate nor contend with commits of other groups.
type Table = HashMap<String, HashMap<String, Mutex<QueueOffsets>>>;

/// What `consumerOffset.json` holds: the offsets, the data version and the commit count; and,
/// in memory only, the next offset each group will pull (Apache's `pullOffsetTable`).
#[derive(Debug)]
pub struct ConsumerOffsets {
    table: RwLock<Table>,
    /// Next offset to pull per (topic, group, queue), recorded by every pull the broker serves
    /// and never persisted. Bounded like `table` by the queues the groups read; dropped with
    /// the group's or topic's offsets.
    pulls: RwLock<Table>,
    data_version: Mutex<DataVersion>,
    commits: AtomicU64,
    version_step: u64,
}

impl ConsumerOffsets {
    fn with(table: Table, data_version: DataVersion) -> Self {
        ConsumerOffsets {
            table: RwLock::new(table),
            pulls: RwLock::new(Table::new()),
            data_version: Mutex::new(data_version),
            commits: AtomicU64::new(0),
            version_step: DEFAULT_VERSION_STEP,
        }
    }
}

impl TableContents for ConsumerOffsets {
    const FILE_NAME: &'static str = "consumerOffset.json";

    fn empty() -> Self {
        Self::with(Table::new(), DataVersion::now())
    }

    /// Fastjson's text, pretty or compact, with bare or quoted queue ids, or ours. Unknown
    /// fields such as `groupTopicMap` are ignored; keys without `@` cannot be addressed by
    /// (group, topic) and are dropped.
    fn decode(bytes: &[u8]) -> Result<Self> {
        let (table, version) = decode_parts(bytes)?;
        Ok(Self::with(table, version))
    }

    /// Compact: `dataVersion`, `groupTopicMap`, `offsetTable`, with entries sorted by topic
    /// then group, queue ids ascending and written bare.
    fn encode(&self) -> String {
        let version = file::lock(&self.data_version).clone();
        let table = file::read(&self.table);
        let mut entries: Vec<(&str, &str, &Mutex<QueueOffsets>)> = table
            .iter()
            .flat_map(|(topic, groups)| {
                groups
                    .iter()
                    .map(move |(group, q)| (topic.as_str(), group.as_str(), q))
            })
            .collect();
        entries.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        let mut group_topics: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (topic, group, _) in &entries {
            group_topics.entry(group).or_default().push(topic);
        }

        let mut out = String::with_capacity(64 + entries.len() * 64);
        out.push_str("{\"dataVersion\":");
        out.push_str(&version.to_json());
        out.push_str(",\"groupTopicMap\":{");
        for (i, (group, topics)) in group_topics.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            json::write_str(group, false, &mut out);
            out.push_str(":[");
            for (j, topic) in topics.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                json::write_str(topic, false, &mut out);
            }
            out.push(']');
        }
        out.push_str("},\"offsetTable\":{");
        let mut key = String::new();
        for (i, (topic, group, queues)) in entries.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            key.clear();
            key.push_str(topic);
            key.push(TOPIC_GROUP_SEPARATOR);
            key.push_str(group);
            json::write_str(&key, false, &mut out);
            out.push(':');
            write_int_map(&file::lock(queues), &mut out);
        }
        out.push_str("}}");
        out
    }

    /// Merges rather than replaces, as Apache's slave sync does (`putAll`): the master's
    /// offsets win, offsets only the slave has are kept.
    fn replace_with(&self, other: Self) {
        let theirs = other.table.into_inner().unwrap_or_else(|e| e.into_inner());
        let mut ours = file::write(&self.table);
        for (topic, groups) in theirs {
            let mine = ours.entry(topic).or_default();
            for (group, queues) in groups {
                let queues = queues.into_inner().unwrap_or_else(|e| e.into_inner());
                file::lock(mine.entry(group).or_default()).extend(queues);
            }
        }
        drop(ours);
        let version = other
            .data_version
            .into_inner()
            .unwrap_or_else(|e| e.into_inner());
        *file::lock(&self.data_version) = version;
    }
}

/// Committed consumer offsets, stored in `config/consumerOffset.json`.
///
/// Shared by reference (`Arc`) between tasks and threads. Changes only mark the table dirty;
/// the broker calls [`ConfigTable::persist`] periodically (Apache: every
/// `flushConsumerOffsetInterval` = 5 s) and at shutdown, from a blocking context.
pub type ConsumerOffsetTable = ConfigTable<ConsumerOffsets>;

impl ConfigTable<ConsumerOffsets> {
    /// Sets how many commits advance the data version once (Apache
    /// `consumerOffsetUpdateVersionStep`, default [`DEFAULT_VERSION_STEP`]; 0 is taken as 1).
    pub fn with_version_step(mut self, step: u64) -> Self {
        self.contents_mut().version_step = step.max(1);
        self
    }

    /// Records `offset` (the next offset to consume) for queue `queue_id` of `topic` in
    /// `group`. Allocates only the first time a (topic, group) pair is seen.
    pub fn commit(&self, group: &str, topic: &str, queue_id: i32, offset: i64) {
        self.set(group, topic, queue_id, offset, false);
    }

    /// Like [`Self::commit`], but never lowers a recorded offset; whether it recorded `offset`.
    /// For commits that ride on pulls: a connection's requests are served concurrently, so a
    /// pull sent just before a consumer's final commit may be handled just after it.
    pub fn commit_forward(&self, group: &str, topic: &str, queue_id: i32, offset: i64) -> bool {
        self.set(group, topic, queue_id, offset, true)
    }

    fn set(&self, group: &str, topic: &str, queue_id: i32, offset: i64, forward: bool) -> bool {
        let put = |queues: &mut QueueOffsets| match queues.get(&queue_id) {
            Some(old) if forward && *old >= offset => Err(()),
            _ => Ok(queues.insert(queue_id, offset)),
        };
        {
            let table = file::read(&self.contents().table);
            if let Some(queues) = table.get(topic).and_then(|g| g.get(group)) {
                let Ok(old) = put(&mut file::lock(queues)) else {
                    return false;
                };
                self.committed(group, topic, queue_id, offset, old);
                return true;
            }
        }
        let old = {
            let mut table = file::write(&self.contents().table);
            let queues = table
                .entry(topic.to_owned())
                .or_default()
                .entry(group.to_owned())
                .or_default()
                .get_mut()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match put(queues) {
                Ok(old) => old,
                Err(()) => return false,
            }
        };
        self.committed(group, topic, queue_id, offset, old);
        true
    }

    fn committed(&self, group: &str, topic: &str, queue_id: i32, offset: i64, old: Option<i64>) {
        self.changed();
        if old.is_some_and(|old| offset < old) {
            tracing::debug!(
                group,
                topic,
                queue_id,
                offset,
                old,
                "consumer offset moved back"
            );
        }
        let n = self.contents().commits.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_multiple_of(self.contents().version_step) {
            file::lock(&self.contents().data_version).next_version();
        }
    }

    /// Records that `group` will pull queue `queue_id` of `topic` from `offset` next (Apache's
    /// `commitPullOffset`, called with the next begin offset of every pull served). Memory only;
    /// allocates only the first time a (topic, group) pair is seen.
    pub fn commit_pull(&self, group: &str, topic: &str, queue_id: i32, offset: i64) {
        {
            let pulls = file::read(&self.contents().pulls);
            if let Some(queues) = pulls.get(topic).and_then(|g| g.get(group)) {
                file::lock(queues).insert(queue_id, offset);
                return;
            }
        }
        file::write(&self.contents().pulls)
            .entry(topic.to_owned())
            .or_default()
            .entry(group.to_owned())
            .or_default()
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(queue_id, offset);
    }

    /// The next offset `group` will pull from queue `queue_id` of `topic`, as last recorded by
    /// [`Self::commit_pull`] (Apache's `queryPullOffset` falls back to the committed offset;
    /// callers do that with [`Self::query`]).
    pub fn query_pull(&self, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
        let pulls = file::read(&self.contents().pulls);
        let queues = pulls.get(topic)?.get(group)?;
        let offset = file::lock(queues).get(&queue_id).copied();
        offset
    }

    /// The committed offset of queue `queue_id` of `topic` in `group` (Apache answers -1 for
    /// `None`).
    pub fn query(&self, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
        let table = file::read(&self.contents().table);
        let queues = table.get(topic)?.get(group)?;
        let offset = file::lock(queues).get(&queue_id).copied();
        offset
    }

    /// All committed offsets of `topic` in `group`, by queue id.
    pub fn offsets(&self, group: &str, topic: &str) -> Option<BTreeMap<i32, i64>> {
        let table = file::read(&self.contents().table);
        let queues = table.get(topic)?.get(group)?;
        let offsets = file::lock(queues).clone();
        Some(offsets)
    }

    /// Groups with offsets in `topic` (Apache `whichGroupByTopic`).
    pub fn groups_of_topic(&self, topic: &str) -> BTreeSet<String> {
        file::read(&self.contents().table)
            .get(topic)
            .map(|groups| groups.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Topics `group` has offsets in (Apache `whichTopicByConsumer`).
    pub fn topics_of_group(&self, group: &str) -> BTreeSet<String> {
        file::read(&self.contents().table)
            .iter()
            .filter(|(_, groups)| groups.contains_key(group))
            .map(|(topic, _)| topic.clone())
            .collect()
    }

    /// Copies the offsets of `topic` in `src_group` to `dst_group`, replacing what it had
    /// (Apache `cloneOffset`). Returns whether the source existed.
    pub fn clone_offsets(&self, src_group: &str, dst_group: &str, topic: &str) -> bool {
        let Some(offsets) = self.offsets(src_group, topic) else {
            return false;
        };
        file::write(&self.contents().table)
            .entry(topic.to_owned())
            .or_default()
            .insert(dst_group.to_owned(), Mutex::new(offsets));
        self.bump();
        true
    }

    /// Removes the offsets (and pull offsets) of `topic` in `group`; returns the offsets.
    pub fn remove(&self, group: &str, topic: &str) -> Option<BTreeMap<i32, i64>> {
        {
            let mut pulls = file::write(&self.contents().pulls);
            if let Some(groups) = pulls.get_mut(topic) {
                groups.remove(group);
                if groups.is_empty() {
                    pulls.remove(topic);
                }
            }
        }
        let removed = {
            let mut table = file::write(&self.contents().table);
            let groups = table.get_mut(topic)?;
            let removed = groups.remove(group)?;
            if groups.is_empty() {
                table.remove(topic);
            }
            removed
        };
        self.bump();
        Some(
            removed
                .into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// Removes every offset and pull offset of `group` (Apache `removeOffset`); returns how
    /// many topics it had offsets in.
    pub fn remove_group(&self, group: &str) -> usize {
        file::write(&self.contents().pulls).retain(|_, groups| {
            groups.remove(group);
            !groups.is_empty()
        });
        let removed = {
            let mut table = file::write(&self.contents().table);
            let mut removed = 0;
            table.retain(|_, groups| {
                removed += usize::from(groups.remove(group).is_some());
                !groups.is_empty()
            });
            removed
        };
        if removed > 0 {
            self.bump();
        }
        removed
    }

    /// Removes every offset and pull offset in `topic` (Apache `cleanOffsetByTopic`); returns
    /// how many groups had offsets there.
    pub fn remove_topic(&self, topic: &str) -> usize {
        file::write(&self.contents().pulls).remove(topic);
        let removed = file::write(&self.contents().table)
            .remove(topic)
            .map_or(0, |groups| groups.len());
        if removed > 0 {
            self.bump();
        }
        removed
    }

    /// A copy of the whole table keyed like the file (`"topic@group"`), e.g. for a slave
    /// sync body or admin tools.
    pub fn snapshot(&self) -> BTreeMap<String, BTreeMap<i32, i64>> {
        let table = file::read(&self.contents().table);
        let mut out = BTreeMap::new();
        for (topic, groups) in table.iter() {
            for (group, queues) in groups {
                out.insert(
                    format!("{topic}{TOPIC_GROUP_SEPARATOR}{group}"),
                    file::lock(queues).clone(),
                );
            }
        }
        out
    }

    /// Number of (topic, group) pairs.
    pub fn len(&self) -> usize {
        file::read(&self.contents().table)
            .values()
            .map(HashMap::len)
            .sum()
    }

    /// Whether no offsets are stored.
    pub fn is_empty(&self) -> bool {
        file::read(&self.contents().table).is_empty()
    }

    /// The current data version.
    pub fn data_version(&self) -> DataVersion {
        file::lock(&self.contents().data_version).clone()
    }

    /// Marks a structural change: dirty, and a new data version.
    fn bump(&self) {
        file::lock(&self.contents().data_version).next_version();
        self.changed();
    }
}

const WHAT: &str = "consumerOffset.json";

fn decode_parts(bytes: &[u8]) -> Result<(Table, DataVersion)> {
    let root = json::parse(bytes).map_err(|e| file::corrupt(WHAT, e))?;
    if !root.is_object() {
        return Err(file::corrupt(WHAT, "expected a JSON object"));
    }
    let version = read_data_version(WHAT, &root)?;
    let mut table = Table::new();
    match root.get("offsetTable") {
        None | Some(Value::Null) => {}
        Some(Value::Object(entries)) => {
            for (key, value) in entries {
                let Some(queues) = read_int_map(WHAT, value)? else {
                    continue;
                };
                let Some((topic, group)) = key.split_once(TOPIC_GROUP_SEPARATOR) else {
                    tracing::warn!(key, "consumerOffset.json: key without '@' dropped");
                    continue;
                };
                table
                    .entry(topic.to_owned())
                    .or_default()
                    .insert(group.to_owned(), Mutex::new(queues));
            }
        }
        Some(_) => return Err(file::corrupt(WHAT, "offsetTable is not an object")),
    }
    Ok((table, version))
}
