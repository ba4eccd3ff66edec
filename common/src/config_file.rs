//! Config files written so that a crash at any moment leaves a readable file.
//!
//! Apache overwrites `<file>` in place after copying it to `<file>.bak`, with no fsync and no
//! rename, so a crash mid-write can leave a torn file (docs/store.md, "Config files"). Here a write
//! goes to `<file>.tmp`, is fsynced, the old file is copied to `<file>.bak` (so Java tools that
//! fall back to it still find it), the temp file is renamed over `<file>` and the directory is
//! fsynced. Reading falls back to `<file>.bak` when `<file>` is missing, empty or unparsable, as
//! Apache's `ConfigManager` does.

use std::io::Write;
use std::path::{Path, PathBuf};

/// `<path>.bak`.
pub fn backup_path(path: &Path) -> PathBuf {
    with_suffix(path, ".bak")
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

/// Writes `bytes` to `path` crash-safely (see the module docs), creating parent directories.
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = with_suffix(path, ".tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    if path.exists() {
        std::fs::copy(path, backup_path(path))?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        // Make the rename itself durable; not every filesystem lets a directory be fsynced.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// Reads and parses `path`, falling back to `<path>.bak` when the file is missing, empty or does
/// not parse. `Ok(None)` when neither exists (a fresh store).
pub fn read<T, E: std::fmt::Display>(
    path: &Path,
    parse: impl Fn(&[u8]) -> Result<T, E>,
) -> std::io::Result<Option<T>> {
    let primary = read_one(path, &parse);
    match primary {
        Ok(Some(v)) => Ok(Some(v)),
        Ok(None) | Err(_) => match read_one(&backup_path(path), &parse) {
            Ok(Some(v)) => Ok(Some(v)),
            Ok(None) => primary,
            Err(e) => primary.and(Err(e)),
        },
    }
}

fn read_one<T, E: std::fmt::Display>(
    path: &Path,
    parse: &impl Fn(&[u8]) -> Result<T, E>,
) -> std::io::Result<Option<T>> {
    match std::fs::read(path) {
        Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Ok(None),
        Ok(bytes) => parse(&bytes).map(Some).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(b: &[u8]) -> Result<String, String> {
        let s = String::from_utf8(b.to_vec()).map_err(|e| e.to_string())?;
        if s.ends_with('}') {
            Ok(s)
        } else {
            Err("torn".to_owned())
        }
    }

    #[test]
    fn writes_keep_a_backup_and_reads_fall_back_to_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config").join("topics.json");
        assert_eq!(read(&path, parse).expect("fresh"), None);
        write(&path, b"{1}").expect("write");
        write(&path, b"{2}").expect("write");
        assert_eq!(std::fs::read(backup_path(&path)).expect("bak"), b"{1}");
        assert_eq!(read(&path, parse).expect("read").as_deref(), Some("{2}"));
        std::fs::write(&path, b"{3").expect("tear");
        assert_eq!(read(&path, parse).expect("backup").as_deref(), Some("{1}"));
        std::fs::write(&path, b"").expect("empty");
        assert_eq!(read(&path, parse).expect("backup").as_deref(), Some("{1}"));
        std::fs::write(backup_path(&path), b"{x").expect("tear bak");
        assert!(read(&path, parse).is_err() || read(&path, parse).expect("x").is_none());
        assert!(!with_suffix(&path, ".tmp").exists());
    }
}
