//! Helpers of the config tables: the file with its change tracking ([`ConfigFile`], used by
//! [`super::ConfigTable`]), lock helpers and JSON helpers.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use ferromq_common::config_file;
use ferromq_protocol::body::DataVersion;
use serde_json::Value;

use crate::error::{Result, StoreError};

/// Read-locks `lock`. A panic while a table was locked cannot leave it half-updated (every
/// update is a single map operation), so a poisoned lock is simply taken over.
pub(crate) fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

/// Write-locks `lock` (see [`read`] about poisoning).
pub(crate) fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) use ferromq_common::lock;

/// A decode failure of `what`.
pub(crate) fn corrupt(what: &str, reason: impl Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {reason}"))
}

/// Reads `path` (falling back to `<path>.bak`) and decodes it; `None` when neither exists.
pub(crate) fn load<T>(path: &Path, decode: impl Fn(&[u8]) -> Result<T>) -> Result<Option<T>> {
    config_file::read(path, decode).map_err(|e| StoreError::io("load", path, e))
}

/// A table's file and whether the table changed since it was last written.
///
/// Every mutation bumps `changes` after changing the table; [`ConfigFile::persist`] remembers
/// which change count its snapshot covered, so a change racing with a persist is written by
/// the next one. Persists are serialized by the `io` mutex, so an older snapshot never
/// overwrites a newer one. A freshly loaded table counts as changed, so its first persist
/// rewrites the file (repairing a torn file that was loaded from `.bak`).
#[derive(Debug)]
pub(crate) struct ConfigFile {
    path: Option<PathBuf>,
    changes: AtomicU64,
    /// The change count the file on disk covers.
    written: AtomicU64,
    /// Held while writing, so persists run one at a time.
    io: Mutex<()>,
}

impl ConfigFile {
    /// A table stored at `path`, or held in memory only when `None`.
    pub(crate) fn new(path: Option<PathBuf>) -> Self {
        ConfigFile {
            path,
            changes: AtomicU64::new(1),
            written: AtomicU64::new(0),
            io: Mutex::new(()),
        }
    }

    pub(crate) fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Records a change; call after the table was changed.
    pub(crate) fn mark_dirty(&self) {
        self.changes.fetch_add(1, Ordering::AcqRel);
    }

    pub(crate) fn is_dirty(&self) -> bool {
        self.changes.load(Ordering::Acquire) != self.written.load(Ordering::Acquire)
    }

    /// Writes `encode()` crash-safely if anything changed since the last write. `encode`
    /// snapshots the table under its own lock; the file is written after that lock is released.
    /// [`Self::is_dirty`] does not wait for a write in progress.
    pub(crate) fn persist(&self, encode: impl FnOnce() -> String) -> Result<bool> {
        let Some(path) = &self.path else {
            return Ok(false);
        };
        let _io = lock(&self.io);
        let seen = self.changes.load(Ordering::Acquire);
        if seen == self.written.load(Ordering::Acquire) {
            return Ok(false);
        }
        let text = encode();
        config_file::write(path, text.as_bytes())
            .map_err(|e| StoreError::io("persist", path, e))?;
        self.written.store(seen, Ordering::Release);
        Ok(true)
    }
}

/// Serde helpers for fields fastjson may write as `null`.
pub(crate) mod de {
    use std::collections::BTreeMap;

    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer};
    use serde_json::Value;

    /// `null` decodes as the type's default.
    pub(crate) fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de> + Default,
    {
        Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
    }

    /// A `Map<String, String>`: `null` is empty, scalar values become their text (as fastjson
    /// converts them), `null` values are dropped.
    pub(crate) fn string_map<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<String, String>, D::Error> {
        let Some(map) = Option::<BTreeMap<String, Value>>::deserialize(d)? else {
            return Ok(BTreeMap::new());
        };
        let mut out = BTreeMap::new();
        for (k, v) in map {
            let text = match v {
                Value::Null => continue,
                Value::String(s) => s,
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => return Err(D::Error::custom("expected a string map value")),
            };
            out.insert(k, text);
        }
        Ok(out)
    }
}

/// An integer from a JSON number or numeric string, as fastjson reads a `Long`.
pub(crate) fn json_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// An integer map key (`0` or `"0"`, both reach us as the text `0`).
pub(crate) fn int_key(key: &str) -> Option<i32> {
    key.trim().parse().ok()
}

/// Writes `{0:123,1:456}` with bare integer keys.
pub(crate) fn write_int_map(map: &BTreeMap<i32, i64>, out: &mut String) {
    use std::fmt::Write as _;
    out.push('{');
    for (i, (k, v)) in map.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        // Writing into a String cannot fail.
        let _ = write!(out, "{k}:{v}");
    }
    out.push('}');
}

/// Reads `{0:123,"1":"456"}` (bare or quoted keys, numeric or string values; `null` values
/// skipped); `None` for `null`.
pub(crate) fn read_int_map(what: &str, value: &Value) -> Result<Option<BTreeMap<i32, i64>>> {
    let map = match value {
        Value::Null => return Ok(None),
        Value::Object(map) => map,
        _ => return Err(corrupt(what, "expected an object of queue offsets")),
    };
    let mut out = BTreeMap::new();
    for (k, v) in map {
        if v.is_null() {
            continue;
        }
        let key =
            int_key(k).ok_or_else(|| corrupt(what, format!("key {k:?} is not an integer")))?;
        let offset =
            json_i64(v).ok_or_else(|| corrupt(what, format!("value of {k} is not an integer")))?;
        out.insert(key, offset);
    }
    Ok(Some(out))
}

/// Decodes the file's `dataVersion`, or a fresh one when absent (4.x files, Java's default).
pub(crate) fn read_data_version(what: &str, root: &Value) -> Result<DataVersion> {
    match root.get("dataVersion") {
        None | Some(Value::Null) => Ok(DataVersion::now()),
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|e| corrupt(what, format!("dataVersion: {e}"))),
    }
}
