//! QUERY_ASSIGNMENT and SET_MESSAGE_REQUEST_MODE support (docs/pop.md, "Assignments"): the
//! per (topic, group) request mode table, persisted to `config/messageRequestMode.json` in
//! Apache's layout, and the server-side queue allocation of Apache's QueryAssignmentProcessor.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// `SetMessageRequestModeRequestBody`; also the value of the mode table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RequestMode {
    #[serde(default)]
    pub(crate) consumer_group: String,
    #[serde(default = "pull")]
    pub(crate) mode: String,
    #[serde(default)]
    pub(crate) pop_share_queue_num: i32,
    #[serde(default)]
    pub(crate) topic: String,
}

fn pull() -> String {
    "PULL".to_owned()
}

/// `QueryAssignmentRequestBody`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct QueryAssignment {
    pub(crate) topic: String,
    pub(crate) consumer_group: String,
    pub(crate) client_id: String,
    #[serde(default)]
    pub(crate) strategy_name: String,
    #[serde(default)]
    pub(crate) message_model: String,
}

/// A queue as the Java client names it (fields in fastjson's alphabetical order).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Queue {
    pub(crate) topic: String,
    pub(crate) broker_name: String,
    pub(crate) queue_id: i32,
}

/// The file's layout: `{"messageRequestModeMap":{topic:{group:body}}}`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ModeFile {
    #[serde(default)]
    message_request_mode_map: BTreeMap<String, BTreeMap<String, RequestMode>>,
}

/// The request mode table.
#[derive(Debug)]
pub(crate) struct ModeTable {
    path: PathBuf,
    map: Mutex<ModeFile>,
}

impl ModeTable {
    /// Loads `path` (or its `.bak`); a missing file is an empty table.
    pub(crate) fn load(path: PathBuf) -> std::io::Result<ModeTable> {
        let file =
            ferromq_common::config_file::read(&path, |b| serde_json::from_slice::<ModeFile>(b))?
                .unwrap_or_default();
        Ok(ModeTable {
            path,
            map: Mutex::new(file),
        })
    }

    /// The mode set for (topic, group), if any.
    pub(crate) fn get(&self, topic: &str, group: &str) -> Option<RequestMode> {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.message_request_mode_map
            .get(topic)
            .and_then(|g| g.get(group))
            .cloned()
    }

    /// Sets and persists a mode.
    pub(crate) fn set(&self, body: RequestMode) -> std::io::Result<()> {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.message_request_mode_map
            .entry(body.topic.clone())
            .or_default()
            .insert(body.consumer_group.clone(), body);
        let bytes = serde_json::to_vec(&*map).map_err(std::io::Error::other)?;
        ferromq_common::config_file::write(&self.path, &bytes)
    }
}

/// Apache's AllocateMessageQueueAveragely (`AVG`).
fn averagely(cid: &str, all: &[Queue], cids: &[String]) -> Vec<Queue> {
    let Some(index) = cids.iter().position(|c| c == cid) else {
        return Vec::new();
    };
    if all.is_empty() {
        return Vec::new();
    }
    let (n, c) = (all.len(), cids.len());
    let m = n % c;
    let size = if n <= c {
        1
    } else if m > 0 && index < m {
        n / c + 1
    } else {
        n / c
    };
    let start = if m > 0 && index < m {
        index * size
    } else {
        index * size + m
    };
    let range = size.min(n.saturating_sub(start));
    all[start.min(n)..start.min(n) + range].to_vec()
}

/// Apache's AllocateMessageQueueAveragelyByCircle (`AVG_BY_CIRCLE`).
fn by_circle(cid: &str, all: &[Queue], cids: &[String]) -> Vec<Queue> {
    let Some(index) = cids.iter().position(|c| c == cid) else {
        return Vec::new();
    };
    all.iter()
        .enumerate()
        .filter(|(i, _)| i % cids.len() == index)
        .map(|(_, q)| q.clone())
        .collect()
}

/// The queues `cid` gets: `None` for an unknown strategy. `all` and `cids` sorted.
pub(crate) fn allocate(
    strategy: &str,
    cid: &str,
    all: &[Queue],
    cids: &[String],
    pop_share: Option<i32>,
) -> Option<Vec<Queue>> {
    let f: fn(&str, &[Queue], &[String]) -> Vec<Queue> = match strategy {
        "AVG" => averagely,
        "AVG_BY_CIRCLE" => by_circle,
        _ => return None,
    };
    let Some(share) = pop_share else {
        return Some(f(cid, all, cids));
    };
    // POP: every consumer pops every queue (queueId -1 per broker), unless the share number
    // asks for a real split.
    if share <= 0 || share as usize >= cids.len().saturating_sub(1) {
        let mut out: Vec<Queue> = all
            .iter()
            .map(|q| Queue {
                topic: q.topic.clone(),
                broker_name: q.broker_name.clone(),
                queue_id: -1,
            })
            .collect();
        out.dedup();
        return Some(out);
    }
    if cids.len() <= all.len() {
        let mut out = f(cid, all, cids);
        if let Some(mut index) = cids.iter().position(|c| c == cid) {
            for _ in 0..share {
                index = (index + 1) % cids.len();
                out.extend(f(&cids[index], all, cids));
            }
        }
        Some(out)
    } else {
        // More consumers than queues: consumer i gets queue i % n (no queues: no assignment).
        if all.is_empty() {
            return None;
        }
        Some(match cids.iter().position(|c| c == cid) {
            Some(index) => vec![all[index % all.len()].clone()],
            None => Vec::new(),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn queues(n: i32) -> Vec<Queue> {
        (0..n)
            .map(|q| Queue {
                topic: "T".into(),
                broker_name: "b".into(),
                queue_id: q,
            })
            .collect()
    }

    fn ids(v: &[Queue]) -> Vec<i32> {
        v.iter().map(|q| q.queue_id).collect()
    }

    #[test]
    fn strategies_and_pop_sharing() {
        let cids: Vec<String> = vec!["a".into(), "b".into(), "c".into()];
        let all = queues(8);
        assert_eq!(
            ids(&allocate("AVG", "a", &all, &cids, None).unwrap()),
            vec![0, 1, 2]
        );
        assert_eq!(
            ids(&allocate("AVG", "c", &all, &cids, None).unwrap()),
            vec![6, 7]
        );
        assert_eq!(
            ids(&allocate("AVG_BY_CIRCLE", "b", &all, &cids, None).unwrap()),
            vec![1, 4, 7]
        );
        assert!(allocate("NOPE", "a", &all, &cids, None).is_none());
        assert_eq!(
            ids(&allocate("AVG", "b", &all, &cids, Some(-1)).unwrap()),
            vec![-1]
        );
        assert_eq!(
            ids(&allocate("AVG", "a", &all, &cids, Some(1)).unwrap()),
            vec![0, 1, 2, 3, 4, 5]
        );
        let many: Vec<String> = (0..5).map(|i| format!("c{i}")).collect();
        assert_eq!(
            ids(&allocate("AVG", "c4", &queues(2), &many, Some(1)).unwrap()),
            vec![0]
        );
    }

    #[test]
    fn mode_table_persists() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("messageRequestMode.json");
        let t = ModeTable::load(path.clone()).unwrap();
        let body: RequestMode = serde_json::from_str(
            r#"{"topic":"T","consumerGroup":"G","mode":"POP","popShareQueueNum":2}"#,
        )
        .unwrap();
        t.set(body.clone()).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains(r#""messageRequestModeMap":{"T":{"G":"#),
            "{text}"
        );
        assert_eq!(ModeTable::load(path).unwrap().get("T", "G"), Some(body));
    }
}
