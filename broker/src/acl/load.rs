//! Where the ACL rules come from: the main file (`aclFilePath`, `$ROCKETMQ_HOME/conf/plain_acl.yml`
//! or `plain_acl.yml` beside the `-c` config file) and, as Apache 4.9.x and 5.x, every `*.yml` /
//! `*.yaml` file under the `acl/` directory beside it (`$ROCKETMQ_HOME/conf/acl/`). Accounts are
//! taken from the directory's files first (in name order), then from the main file; an access key
//! given again is ignored with a warning. Global white addresses of every file apply.

use std::collections::hash_map::Entry;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::config::BrokerConfig;

use super::file::AclFile;

/// The file name Apache uses.
const FILE_NAME: &str = "plain_acl.yml";
/// The directory of further ACL files, beside the main one.
const DIR_NAME: &str = "acl";
/// How deep the directory is searched.
const MAX_DEPTH: usize = 8;

/// What identifies the files on disk as read: each file's path, modification time and size.
pub(crate) type Stamp = Vec<(PathBuf, Option<SystemTime>, u64)>;

/// The main ACL file: `aclFilePath`, else `$ROCKETMQ_HOME/conf/plain_acl.yml` (`rocketmqHome`),
/// else `plain_acl.yml` beside the broker's config file.
pub(crate) fn file_path(b: &BrokerConfig) -> Result<PathBuf, String> {
    if !b.acl_file_path.trim().is_empty() {
        return Ok(PathBuf::from(b.acl_file_path.trim()));
    }
    if !b.rocketmq_home.trim().is_empty() {
        return Ok(Path::new(b.rocketmq_home.trim())
            .join("conf")
            .join(FILE_NAME));
    }
    if !b.broker_config_path.trim().is_empty() {
        let config = Path::new(b.broker_config_path.trim());
        return Ok(config
            .parent()
            .unwrap_or_else(|| Path::new(""))
            .join(FILE_NAME));
    }
    Err("aclEnable=true but there is no ACL file to read: set aclFilePath or ROCKETMQ_HOME, or start mqbroker with -c".to_owned())
}

/// The files to read, in order: the directory's (sorted), then `main`.
pub(crate) fn files(main: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let dir = main
        .parent()
        .unwrap_or_else(|| Path::new(""))
        .join(DIR_NAME);
    collect(&dir, 0, &mut out);
    out.sort();
    out.retain(|p| p != main);
    out.push(main.to_path_buf());
    out
}

fn collect(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    if depth > MAX_DEPTH {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let is_yaml = path.extension().is_some_and(|e| e == "yml" || e == "yaml");
        if is_yaml && path.is_file() {
            out.push(path);
        } else if path.is_dir() {
            collect(&path, depth + 1, out);
        }
    }
}

/// The stamp of the files now (a missing main file has none).
pub(crate) fn stamp(main: &Path) -> Stamp {
    files(main)
        .into_iter()
        .filter_map(|p| {
            let meta = std::fs::metadata(&p).ok()?;
            Some((p, meta.modified().ok(), meta.len()))
        })
        .collect()
}

/// Reads and merges every file; the error names the file and what is wrong in it. The main
/// file must exist.
pub(crate) fn read(main: &Path) -> Result<(AclFile, Stamp), String> {
    let stamp = stamp(main);
    let mut merged = AclFile::default();
    for path in files(main) {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let file = AclFile::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        merged.global_white.extend(file.global_white);
        let mut repeated = file.duplicate_keys;
        for (key, account) in file.accounts {
            match merged.accounts.entry(key) {
                Entry::Occupied(e) => repeated.push(e.key().clone()),
                Entry::Vacant(e) => {
                    e.insert(account);
                }
            }
        }
        for key in repeated {
            tracing::warn!(file = %path.display(), access_key = %key, "accessKey given again; the first account read is used");
        }
    }
    Ok((merged, stamp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location() {
        let mut b = BrokerConfig {
            rocketmq_home: String::new(),
            ..BrokerConfig::default()
        };
        assert!(file_path(&b).is_err());
        b.broker_config_path = "/etc/ferromq/broker.conf".to_owned();
        assert_eq!(
            file_path(&b),
            Ok(PathBuf::from("/etc/ferromq/plain_acl.yml"))
        );
        b.rocketmq_home = "/opt/rocketmq".to_owned();
        assert_eq!(
            file_path(&b),
            Ok(PathBuf::from("/opt/rocketmq/conf/plain_acl.yml"))
        );
        b.acl_file_path = "/srv/acl.yml".to_owned();
        assert_eq!(file_path(&b), Ok(PathBuf::from("/srv/acl.yml")));
    }

    #[test]
    fn the_acl_directory_adds_accounts_and_addresses() {
        let dir = tempfile::tempdir().expect("dir");
        let main = dir.path().join(FILE_NAME);
        let write = |rel: &str, text: &str| {
            let p = dir.path().join(rel);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, text).expect("write");
        };
        write(
            FILE_NAME,
            "globalWhiteRemoteAddresses: [10.0.0.1]\naccounts:\n  - {accessKey: main-key, secretKey: main-secret}\n  - {accessKey: team-key, secretKey: loses-to-dir}\n",
        );
        write(
            "acl/team.yml",
            "accounts:\n  - {accessKey: team-key, secretKey: team-secret}\n",
        );
        write(
            "acl/nested/ops.yaml",
            "globalWhiteRemoteAddresses: [10.0.0.2]\naccounts:\n  - {accessKey: ops-key1, secretKey: ops-secret}\n",
        );
        write("acl/notes.txt", "not: [yaml");
        let (rules, stamp) = read(&main).expect("valid");
        assert_eq!(stamp.len(), 3);
        assert_eq!(rules.accounts.len(), 3);
        assert_eq!(rules.accounts["team-key"].secret_key, "team-secret");
        assert_eq!(rules.global_white.len(), 2);
        // A bad file in the directory is an error naming it; so is a missing main file.
        write("acl/bad.yml", "accounts: [");
        let e = read(&main).expect_err("bad");
        assert!(e.contains("bad.yml"), "{e}");
        std::fs::remove_file(dir.path().join("acl/bad.yml")).expect("rm");
        std::fs::remove_file(&main).expect("rm");
        let e = read(&main).expect_err("missing");
        assert!(e.contains(FILE_NAME), "{e}");
    }
}
