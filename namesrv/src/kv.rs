//! KV config: namespaced key/value pairs kept by the name server (`ORDER_TOPIC_CONFIG` and
//! friends), persisted to `kvConfig.json` as Apache writes it: `{"configTable":{ns:{k:v}}}`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ferromq_common::config_file;
use ferromq_protocol::body::KvConfigFile;
use ferromq_protocol::names;

/// The namespace of ordered-topic queue layouts (`brokerName:queueNum;...` per topic).
pub const ORDER_TOPIC_CONFIG: &str = "ORDER_TOPIC_CONFIG";

/// Bounds on what clients may store (`kvConfigMaxEntries`, `kvConfigMaxValueLength`).
#[derive(Clone, Copy, Debug)]
pub struct KvLimits {
    /// Most pairs over all namespaces.
    pub max_entries: usize,
    /// Longest value, in bytes.
    pub max_value_len: usize,
}

impl Default for KvLimits {
    fn default() -> Self {
        KvLimits {
            max_entries: 10_000,
            max_value_len: 4096,
        }
    }
}

/// Longest key, in bytes.
const MAX_KEY_LEN: usize = 255;

/// Why a KV change was refused or not persisted.
#[derive(Debug, thiserror::Error)]
pub enum KvError {
    /// The namespace, key or value breaks a rule or a limit.
    #[error("{0}")]
    Invalid(String),
    /// The file could not be written.
    #[error("cannot persist KV config: {0}")]
    Io(#[from] std::io::Error),
}

/// One write of the whole table, taken after a change; run it off the request path
/// ([`KvWrite::run`]). Writes of older snapshots that arrive late are skipped.
#[derive(Debug)]
#[must_use = "a KV change is durable only once its write has run"]
pub struct KvWrite {
    path: PathBuf,
    text: Vec<u8>,
    version: u64,
    written: Arc<Mutex<u64>>,
}

impl KvWrite {
    /// Writes the snapshot crash-safely unless a newer one is already on disk.
    pub fn run(self) -> std::io::Result<()> {
        let mut written = self.written.lock().unwrap_or_else(|e| e.into_inner());
        if *written >= self.version {
            return Ok(());
        }
        config_file::write(&self.path, &self.text)?;
        *written = self.version;
        Ok(())
    }
}

/// The KV table with its file.
#[derive(Debug)]
pub struct KvStore {
    path: Option<PathBuf>,
    table: BTreeMap<String, BTreeMap<String, String>>,
    limits: KvLimits,
    version: u64,
    written: Arc<Mutex<u64>>,
}

impl KvStore {
    /// An empty store that persists nothing (tests, or no writable home).
    pub fn in_memory() -> Self {
        KvStore {
            path: None,
            table: BTreeMap::new(),
            limits: KvLimits::default(),
            version: 0,
            written: Arc::default(),
        }
    }

    /// Loads `path` (a missing file is an empty table; a broken one falls back to the `.bak`
    /// written by the previous save, then to an error).
    pub fn load(path: &Path) -> std::io::Result<Self> {
        let table = config_file::read(path, KvConfigFile::decode)?
            .map(|f| f.config_table)
            .unwrap_or_default();
        Ok(KvStore {
            path: Some(path.to_owned()),
            table,
            ..KvStore::in_memory()
        })
    }

    /// Sets the limits new pairs must respect (pairs already stored are kept).
    pub fn set_limits(&mut self, limits: KvLimits) {
        self.limits = limits;
    }

    /// The value of `key` in `namespace`.
    pub fn get(&self, namespace: &str, key: &str) -> Option<&str> {
        self.table.get(namespace)?.get(key).map(String::as_str)
    }

    /// All pairs of `namespace`, if it has any.
    pub fn namespace(&self, namespace: &str) -> Option<&BTreeMap<String, String>> {
        self.table.get(namespace).filter(|m| !m.is_empty())
    }

    /// Pairs held, over all namespaces.
    pub fn entries(&self) -> usize {
        self.table.values().map(BTreeMap::len).sum()
    }

    /// Sets a value in memory; the returned write makes it durable.
    pub fn put(&mut self, namespace: &str, key: &str, value: &str) -> Result<KvWrite, KvError> {
        names::check_namespace(namespace).map_err(|e| KvError::Invalid(e.to_string()))?;
        if key.is_empty() || key.len() > MAX_KEY_LEN || key.chars().any(char::is_control) {
            return Err(KvError::Invalid(format!(
                "a KV key must be 1 to {MAX_KEY_LEN} bytes without control characters"
            )));
        }
        if value.len() > self.limits.max_value_len {
            return Err(KvError::Invalid(format!(
                "the value is {} bytes, longer than kvConfigMaxValueLength {}",
                value.len(),
                self.limits.max_value_len
            )));
        }
        if self.get(namespace, key).is_none() && self.entries() >= self.limits.max_entries {
            return Err(KvError::Invalid(format!(
                "the KV config holds {} pairs, kvConfigMaxEntries",
                self.limits.max_entries
            )));
        }
        self.table
            .entry(namespace.to_owned())
            .or_default()
            .insert(key.to_owned(), value.to_owned());
        Ok(self.snapshot())
    }

    /// Removes a value in memory; the returned write makes it durable.
    pub fn delete(&mut self, namespace: &str, key: &str) -> KvWrite {
        if let Some(ns) = self.table.get_mut(namespace) {
            ns.remove(key);
            if ns.is_empty() {
                self.table.remove(namespace);
            }
        }
        self.snapshot()
    }

    fn snapshot(&mut self) -> KvWrite {
        self.version += 1;
        let text = match &self.path {
            Some(_) => KvConfigFile {
                config_table: self.table.clone(),
            }
            .encode(),
            None => Vec::new(),
        };
        KvWrite {
            path: self.path.clone().unwrap_or_default(),
            text,
            // A store without a file has nothing to write: the write is already "done".
            version: if self.path.is_some() { self.version } else { 0 },
            written: self.written.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persists_and_reloads() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("namesrv").join("kvConfig.json");
        let mut kv = KvStore::load(&path).expect("missing file is empty");
        kv.put(ORDER_TOPIC_CONFIG, "T1", "broker-a:4")
            .expect("put")
            .run()
            .expect("write");
        let stale = kv.put("NS", "k", "v").expect("put");
        kv.delete("NS", "k").run().expect("delete");
        stale.run().expect("an older snapshot is skipped");
        let text = std::fs::read_to_string(&path).expect("written");
        assert_eq!(
            text,
            r#"{"configTable":{"ORDER_TOPIC_CONFIG":{"T1":"broker-a:4"}}}"#
        );
        let again = KvStore::load(&path).expect("reload");
        assert_eq!(again.get(ORDER_TOPIC_CONFIG, "T1"), Some("broker-a:4"));
        assert!(again.namespace("NS").is_none());
    }

    #[test]
    fn a_torn_file_falls_back_to_the_backup() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("kvConfig.json");
        let mut kv = KvStore::load(&path).expect("empty");
        kv.put("NS", "a", "1").expect("put").run().expect("write");
        kv.put("NS", "b", "2").expect("put").run().expect("write");
        std::fs::write(&path, b"{\"configTable\":{\"NS\":{\"a\"").expect("tear");
        let back = KvStore::load(&path).expect("backup used");
        assert_eq!(back.get("NS", "a"), Some("1"));
    }

    #[test]
    fn names_and_sizes_are_bounded() {
        let mut kv = KvStore::in_memory();
        kv.set_limits(KvLimits {
            max_entries: 2,
            max_value_len: 8,
        });
        for (ns, key, value) in [("a/b", "k", "v"), ("NS", "", "v"), ("NS", "k\n", "v")] {
            assert!(kv.put(ns, key, value).is_err(), "{ns:?} {key:?}");
        }
        let long = kv.put("NS", "k", "123456789").expect_err("too long");
        assert!(
            long.to_string().contains("kvConfigMaxValueLength"),
            "{long}"
        );
        let _ = kv.put("NS", "a", "1").expect("first");
        let _ = kv.put("NS", "b", "2").expect("second");
        let full = kv.put("NS", "c", "3").expect_err("full");
        assert!(full.to_string().contains("kvConfigMaxEntries"), "{full}");
        let _ = kv
            .put("NS", "a", "10")
            .expect("replacing a pair is not a new one");
    }
}
