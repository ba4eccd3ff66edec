//! KV config: namespaced key/value pairs kept by the name server (`ORDER_TOPIC_CONFIG` and
//! friends), persisted to `kvConfig.json` as Apache writes it: `{"configTable":{ns:{k:v}}}`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

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
        let table = match read_table(path) {
            Ok(Some(t)) => t,
            Ok(None) => BTreeMap::new(),
            Err(primary) => match read_table(&bak_path(path)) {
                Ok(Some(t)) => {
                    tracing::warn!(path = %path.display(), error = %primary, "kvConfig unreadable, using the backup");
                    t
                }
                _ => return Err(primary),
            },
        };
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
        write_atomically(path, file.encode().as_ref())
    }
}

fn bak_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".bak");
    PathBuf::from(p)
}

fn read_table(path: &Path) -> std::io::Result<Option<BTreeMap<String, BTreeMap<String, String>>>> {
    match std::fs::read(path) {
        Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Ok(None),
        Ok(bytes) => KvConfigFile::decode(&bytes)
            .map(|f| Some(f.config_table))
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Writes `bytes` to `path` so that a crash at any moment leaves either the old or the new
/// content: temp file, fsync, keep the previous file as `.bak`, rename.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    if path.exists() {
        std::fs::copy(path, bak_path(path))?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
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
