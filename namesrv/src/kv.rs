//! KV config: namespaced key/value pairs kept by the name server (`ORDER_TOPIC_CONFIG` and
//! friends), persisted to `kvConfig.json` as Apache writes it: `{"configTable":{ns:{k:v}}}`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ferromq_common::config_file;
use ferromq_protocol::body::KvConfigFile;

/// The namespace of ordered-topic queue layouts (`brokerName:queueNum;...` per topic).
pub const ORDER_TOPIC_CONFIG: &str = "ORDER_TOPIC_CONFIG";

/// The KV table with its file.
#[derive(Debug)]
pub struct KvStore {
    path: Option<PathBuf>,
    table: BTreeMap<String, BTreeMap<String, String>>,
}

impl KvStore {
    /// An empty store that persists nothing (tests, or no writable home).
    pub fn in_memory() -> Self {
        KvStore {
            path: None,
            table: BTreeMap::new(),
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
        })
    }

    /// The value of `key` in `namespace`.
    pub fn get(&self, namespace: &str, key: &str) -> Option<&str> {
        self.table.get(namespace)?.get(key).map(String::as_str)
    }

    /// All pairs of `namespace`, if it has any.
    pub fn namespace(&self, namespace: &str) -> Option<&BTreeMap<String, String>> {
        self.table.get(namespace).filter(|m| !m.is_empty())
    }

    /// Sets a value and persists.
    pub fn put(&mut self, namespace: &str, key: &str, value: &str) -> std::io::Result<()> {
        self.table
            .entry(namespace.to_owned())
            .or_default()
            .insert(key.to_owned(), value.to_owned());
        self.persist()
    }

    /// Removes a value and persists.
    pub fn delete(&mut self, namespace: &str, key: &str) -> std::io::Result<()> {
        if let Some(ns) = self.table.get_mut(namespace) {
            ns.remove(key);
            if ns.is_empty() {
                self.table.remove(namespace);
            }
        }
        self.persist()
    }

    fn persist(&self) -> std::io::Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let file = KvConfigFile {
            config_table: self.table.clone(),
        };
        config_file::write(path, file.encode().as_ref())
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
        kv.put(ORDER_TOPIC_CONFIG, "T1", "broker-a:4").expect("put");
        kv.put("NS", "k", "v").expect("put");
        kv.delete("NS", "k").expect("delete");
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
        kv.put("NS", "a", "1").expect("put");
        kv.put("NS", "b", "2").expect("put");
        std::fs::write(&path, b"{\"configTable\":{\"NS\":{\"a\"").expect("tear");
        let back = KvStore::load(&path).expect("backup used");
        assert_eq!(back.get("NS", "a"), Some("1"));
    }
}
