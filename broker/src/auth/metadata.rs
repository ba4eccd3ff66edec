//! Users and ACLs, in memory and in the store's config directory: `users.json` (a JSON array
//! of `UserInfo`) and `acls.json` (a JSON array of `AclInfo`), written crash-safely as the
//! broker's other config files are (`ferromq_common::config_file`: temp file, fsync, rename,
//! directory fsync, `.bak` kept; a torn file is read from its `.bak`, and start-up stops when
//! neither parses). Apache keeps the same records in RocksDB under the same directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};

use ferromq_common::config_file;
use ferromq_protocol::body::auth::{AclInfoList, UserInfo, UserInfoList};

use super::model::{acl_from_info, Acl, User, UserStatus, UserType};

pub(crate) const USERS_FILE: &str = "users.json";
pub(crate) const ACLS_FILE: &str = "acls.json";

/// The tables, keyed by user name (so listed in Apache's order: by subject key).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Tables {
    pub(crate) users: BTreeMap<String, User>,
    pub(crate) acls: BTreeMap<String, Acl>,
}

/// The users and ACLs of a broker.
#[derive(Debug)]
pub(crate) struct Metadata {
    dir: PathBuf,
    tables: RwLock<Tables>,
    /// Held while a snapshot is taken and written, so files are written in change order.
    writing: Mutex<()>,
}

/// A user from its wire form; `None` without a name or password.
pub(crate) fn user_from_info(info: &UserInfo) -> Option<User> {
    let username = info.username.clone().filter(|s| !s.trim().is_empty())?;
    let password = info.password.clone().filter(|s| !s.trim().is_empty())?;
    Some(User {
        username,
        password,
        user_type: info
            .user_type
            .as_deref()
            .and_then(UserType::parse)
            .unwrap_or(UserType::Normal),
        status: info
            .user_status
            .as_deref()
            .and_then(UserStatus::parse)
            .unwrap_or(UserStatus::Enable),
    })
}

fn parse_users(bytes: &[u8]) -> Result<BTreeMap<String, User>, String> {
    let list = UserInfoList::decode(bytes).map_err(|e| e.to_string())?;
    let mut out = BTreeMap::new();
    for (i, info) in list.0.iter().enumerate() {
        let user = user_from_info(info).ok_or_else(|| format!("[{i}]: no username or password"))?;
        out.insert(user.username.clone(), user);
    }
    Ok(out)
}

fn parse_acls(bytes: &[u8]) -> Result<BTreeMap<String, Acl>, String> {
    let list = AclInfoList::decode(bytes).map_err(|e| e.to_string())?;
    let mut out = BTreeMap::new();
    for (i, info) in list.0.iter().enumerate() {
        let acl = acl_from_info(info, "").map_err(|e| format!("[{i}]: {e}"))?;
        out.insert(acl.username.clone(), acl);
    }
    Ok(out)
}

impl Tables {
    pub(crate) fn users_json(&self) -> Vec<u8> {
        UserInfoList(self.users.values().map(User::info).collect()).encode()
    }

    pub(crate) fn acls_json(&self) -> Vec<u8> {
        AclInfoList(self.acls.values().map(Acl::info).collect()).encode()
    }

    /// Tables from the two JSON documents (a master's AUTH_LIST_USER / AUTH_LIST_ACL
    /// answers; an empty body is an empty table).
    pub(crate) fn from_json(users: &[u8], acls: &[u8]) -> Result<Tables, String> {
        let blank = |b: &[u8]| b.iter().all(u8::is_ascii_whitespace);
        Ok(Tables {
            users: if blank(users) {
                BTreeMap::new()
            } else {
                parse_users(users).map_err(|e| format!("users: {e}"))?
            },
            acls: if blank(acls) {
                BTreeMap::new()
            } else {
                parse_acls(acls).map_err(|e| format!("acls: {e}"))?
            },
        })
    }
}

impl Metadata {
    /// Reads `dir/users.json` and `dir/acls.json` (or their `.bak`); the error names the file.
    pub(crate) fn open(dir: &Path) -> Result<Metadata, String> {
        let read = |name: &str| -> Result<Option<Vec<u8>>, String> {
            let path = dir.join(name);
            config_file::read(&path, |b| -> Result<Vec<u8>, String> {
                // Parse here so a torn file falls back to its backup.
                if name == USERS_FILE {
                    parse_users(b)?;
                } else {
                    parse_acls(b)?;
                }
                Ok(b.to_vec())
            })
            .map_err(|e| format!("{} (and its .bak): {e}", path.display()))
        };
        let users = read(USERS_FILE)?.unwrap_or_default();
        let acls = read(ACLS_FILE)?.unwrap_or_default();
        let tables = Tables::from_json(&users, &acls)?;
        Ok(Metadata {
            dir: dir.to_owned(),
            tables: RwLock::new(tables),
            writing: Mutex::new(()),
        })
    }

    pub(crate) fn read<T>(&self, f: impl FnOnce(&Tables) -> T) -> T {
        f(&self.tables.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Changes the tables in memory (persist with [`Metadata::persist`]).
    pub(crate) fn change<T>(&self, f: impl FnOnce(&mut Tables) -> T) -> T {
        f(&mut self.tables.write().unwrap_or_else(|e| e.into_inner()))
    }

    pub(crate) fn user(&self, name: &str) -> Option<User> {
        self.read(|t| t.users.get(name).cloned())
    }

    /// Writes both files (blocking: call off the runtime's workers).
    pub(crate) fn persist(&self) -> std::io::Result<()> {
        let _order = self.writing.lock().unwrap_or_else(|e| e.into_inner());
        let (users, acls) = self.read(|t| (t.users_json(), t.acls_json()));
        config_file::write(&self.dir.join(USERS_FILE), &users)?;
        config_file::write(&self.dir.join(ACLS_FILE), &acls)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survives_a_torn_file_and_refuses_two() {
        let dir = tempfile::tempdir().expect("dir");
        let m = Metadata::open(dir.path()).expect("fresh");
        for name in ["a", "b"] {
            m.change(|t| {
                t.users.insert(
                    name.into(),
                    User {
                        username: name.into(),
                        password: "pw".into(),
                        user_type: UserType::Normal,
                        status: UserStatus::Enable,
                    },
                )
            });
            m.persist().expect("persist");
        }
        let again = Metadata::open(dir.path()).expect("reads");
        assert_eq!(again.read(|t| t.users.len()), 2);
        std::fs::write(dir.path().join(USERS_FILE), b"[{\"username\":").expect("tear");
        let from_bak = Metadata::open(dir.path()).expect("falls back");
        assert_eq!(from_bak.read(|t| t.users.len()), 1);
        std::fs::write(dir.path().join("users.json.bak"), b"{").expect("tear");
        let e = Metadata::open(dir.path()).expect_err("both torn");
        assert!(e.contains("users.json"), "{e}");
    }
}
