//! Apache's ACL 1.0 admin codes (`AdminBrokerProcessor` and `PlainPermissionManager` of 4.9.x
//! and 5.0-5.3.2): accounts and global white addresses edited remotely, written back to the ACL
//! files, and the files' version and content read back.
//!
//! | code | what |
//! |---|---|
//! | UPDATE_AND_CREATE_ACL_CONFIG (50) | create or update one account (header: the `PlainAccessConfig` fields) |
//! | DELETE_ACL_CONFIG (51) | delete one account (header `accessKey`) |
//! | GET_BROKER_CLUSTER_ACL_INFO (52) | the main file's `dataVersion`, every file's, and the broker's names |
//! | UPDATE_GLOBAL_WHITE_ADDRS_CONFIG (53) | replace `globalWhiteRemoteAddresses` of one file |
//! | GET_BROKER_CLUSTER_ACL_CONFIG (54) | every account and global white address (Apache 4.8-4.9.0 only) |
//!
//! An edit rewrites the file holding the account (a new account goes to the main file) as Apache
//! does (comments are not kept), with `dataVersion` advanced; the new text must parse as a whole
//! before it replaces the old (temp file, fsync, rename, fsync of the directory), and the rules
//! are read again at once. Edits are serialized. Only the ACL files the broker reads can be
//! named by UPDATE_GLOBAL_WHITE_ADDRS_CONFIG's `aclFileFullPath`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use ferromq_protocol::{json, RemotingCommand, RequestCode, ResponseCode};
use serde::Serialize;
use serde_yaml_ng::{Mapping, Value};

use crate::response::{fail, ok, Response};
use crate::state::Broker;

use super::file::AclFile;
use super::load;
use super::perm::Perm;
use super::Acl;

/// Apache's failure codes (`ResponseCode`, 4.9.x and 5.x; 5.x reuses the numbers for polling).
const UPDATE_AND_CREATE_ACL_CONFIG_FAILED: ResponseCode = ResponseCode(209);
const DELETE_ACL_CONFIG_FAILED: ResponseCode = ResponseCode(210);
const UPDATE_GLOBAL_WHITE_ADDRS_CONFIG_FAILED: ResponseCode = ResponseCode(211);

/// Apache's minimum: keys of 6 characters or fewer are refused.
const KEY_MIN_LENGTH: usize = 6;

/// Answers the ACL 1.0 admin codes (the admin check ran before, in `Acl::check`). The file
/// work (reads, fsyncs) runs as blocking work where the runtime allows it.
pub(crate) fn handle(broker: &Broker, req: &RemotingCommand) -> Response {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => {
            tokio::task::block_in_place(|| answer(broker, req))
        }
        _ => answer(broker, req),
    }
}

fn answer(broker: &Broker, req: &RemotingCommand) -> Response {
    let code = req.request_code();
    let failed = match code {
        RequestCode::UPDATE_AND_CREATE_ACL_CONFIG => UPDATE_AND_CREATE_ACL_CONFIG_FAILED,
        RequestCode::DELETE_ACL_CONFIG => DELETE_ACL_CONFIG_FAILED,
        RequestCode::UPDATE_GLOBAL_WHITE_ADDRS_CONFIG => UPDATE_GLOBAL_WHITE_ADDRS_CONFIG_FAILED,
        _ => ResponseCode::SYSTEM_ERROR,
    };
    let Some(acl) = &broker.acl else {
        return fail(failed, "The broker does not enable acl.");
    };
    let field = |k: &str| req.ext_fields.get(k).map(str::to_owned);
    let result = match code {
        RequestCode::UPDATE_AND_CREATE_ACL_CONFIG => {
            let admin = field("admin").is_some_and(|a| a.trim().eq_ignore_ascii_case("true"));
            let update = AccountUpdate {
                access_key: field("accessKey").unwrap_or_default(),
                secret_key: field("secretKey").unwrap_or_default(),
                white_remote_address: field("whiteRemoteAddress"),
                admin,
                default_topic_perm: field("defaultTopicPerm"),
                default_group_perm: field("defaultGroupPerm"),
                topic_perms: field("topicPerms").map(|s| split(&s)),
                group_perms: field("groupPerms").map(|s| split(&s)),
            };
            let key = update.access_key.clone();
            acl.update_account(update).map(|()| ok()).map_err(|e| {
                if e.is_empty() {
                    format!("The accessKey[{key}] corresponding to accessConfig has been updated failed.")
                } else {
                    e
                }
            })
        }
        RequestCode::DELETE_ACL_CONFIG => {
            let key = field("accessKey").unwrap_or_default();
            match acl.delete_account(&key) {
                Ok(true) => Ok(ok()),
                Ok(false) => Err(format!(
                    "The accessKey[{key}] corresponding to accessConfig has been deleted failed."
                )),
                Err(e) => Err(e),
            }
        }
        RequestCode::UPDATE_GLOBAL_WHITE_ADDRS_CONFIG => {
            let addrs = field("globalWhiteAddrs");
            let file = field("aclFileFullPath").unwrap_or_default();
            match &addrs {
                None => Err("The globalWhiteAddresses[null] has been updated failed.".to_owned()),
                Some(a) => acl
                    .update_global_white(split(a), &file)
                    .map(|()| ok())
                    .map_err(|e| {
                        format!("The globalWhiteAddresses[{a}] has been updated failed: {e}")
                    }),
            }
        }
        RequestCode::GET_BROKER_CLUSTER_ACL_INFO => {
            let settings = broker.settings();
            let b = &settings.broker;
            let (version, all) = acl.versions();
            let mut r = ok();
            r.ext_fields.insert("version", version);
            r.ext_fields.insert("allAclFileVersion", all);
            r.ext_fields.insert("brokerName", b.broker_name.clone());
            r.ext_fields.insert("brokerAddr", b.broker_addr());
            r.ext_fields
                .insert("clusterName", b.broker_cluster_name.clone());
            Ok(r)
        }
        _ => Ok(ok().with_body(acl.all_config().into_bytes())),
    };
    result.unwrap_or_else(|remark| {
        tracing::warn!(code = code.0, %remark, "ACL admin request failed");
        fail(failed, remark)
    })
}

/// Java `UtilAll.split(s, ",")`: blank is an empty list.
fn split(s: &str) -> Vec<String> {
    if s.trim().is_empty() {
        return Vec::new();
    }
    s.split(',').map(str::to_owned).collect()
}

/// UPDATE_AND_CREATE_ACL_CONFIG's header (Java `CreateAccessConfigRequestHeader`): `None` leaves
/// a field of an existing account as it is.
#[derive(Debug, Clone, Default)]
pub(crate) struct AccountUpdate {
    pub(crate) access_key: String,
    pub(crate) secret_key: String,
    pub(crate) white_remote_address: Option<String>,
    pub(crate) admin: bool,
    pub(crate) default_topic_perm: Option<String>,
    pub(crate) default_group_perm: Option<String>,
    pub(crate) topic_perms: Option<Vec<String>>,
    pub(crate) group_perms: Option<Vec<String>>,
}

/// Java `Permission.checkResourcePerms`: every item `name=PERM`.
fn check_resource_perms(items: &[String]) -> Result<(), String> {
    for item in items {
        let pieces: Vec<&str> = item.split('=').filter(|p| !p.is_empty()).collect();
        if pieces.len() != 2 {
            return Err(format!(
                "Parse Resource format error for {item}.\nThe expected resource format is 'Res=Perm'. For example: topicA=SUB"
            ));
        }
        if Perm::parse(pieces[1]).is_none() {
            return Err(format!(
                "Parse resource permission error for {item}.\nThe expected permissions are 'SUB' or 'PUB' or 'SUB|PUB' or 'PUB|SUB'."
            ));
        }
    }
    Ok(())
}

fn text(s: &str) -> Value {
    Value::String(s.to_owned())
}

fn list(items: &[String]) -> Value {
    Value::Sequence(items.iter().map(|s| text(s)).collect())
}

/// `accounts` of a file's document, created empty when absent.
fn accounts_of(doc: &mut Mapping) -> Result<&mut Vec<Value>, String> {
    let entry = doc
        .entry(text("accounts"))
        .or_insert_with(|| Value::Sequence(Vec::new()));
    if entry.is_null() {
        *entry = Value::Sequence(Vec::new());
    }
    match entry {
        Value::Sequence(s) => Ok(s),
        _ => Err("accounts must be a list".to_owned()),
    }
}

fn key_of(account: &Value) -> Option<String> {
    match account.get("accessKey")? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Reads a file as a YAML mapping (missing or empty: an empty mapping).
fn read_doc(path: &Path) -> Result<Mapping, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    match serde_yaml_ng::from_str::<Value>(&text) {
        Ok(Value::Null) => Ok(Mapping::new()),
        Ok(Value::Mapping(m)) => Ok(m),
        Ok(_) => Err(format!(
            "{}: the top level must be a mapping",
            path.display()
        )),
        Err(e) => Err(format!("{}: not YAML: {e}", path.display())),
    }
}

/// A file's `dataVersion` (Apache keeps a one-item list of `{timestamp, counter}`); absent: the
/// file's modification time and counter 0.
fn data_version(doc: &Mapping, path: &Path) -> (i64, i64) {
    let first = doc
        .get("dataVersion")
        .and_then(|v| v.as_sequence())
        .and_then(|s| s.first());
    let number = |k: &str| first.and_then(|v| v.get(k)).and_then(Value::as_i64);
    match (number("timestamp"), number("counter")) {
        (Some(t), Some(c)) => (t, c),
        _ => {
            let modified = std::fs::metadata(path)
                .and_then(|m| m.modified())
                .unwrap_or(UNIX_EPOCH);
            (millis(modified), 0)
        }
    }
}

fn millis(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A `DataVersion` as Java's fastjson writes it.
fn version_json(timestamp: i64, counter: i64) -> json::Value {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct DataVersion {
        counter: i64,
        state_version: i64,
        timestamp: i64,
    }
    serde_json_value(&DataVersion {
        counter,
        state_version: 0,
        timestamp,
    })
}

fn serde_json_value<T: Serialize>(v: &T) -> json::Value {
    json::parse(json::to_string(v).as_bytes()).unwrap_or(json::Value::Null)
}

/// Writes `text` over `path` crash-safely, keeping the old file's permissions (it holds
/// secrets): a temp file beside it, fsync, rename, fsync of the directory.
fn write_file(path: &Path, text: &str) -> Result<(), String> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."));
    let mut tmp_name = path.file_name().unwrap_or_default().to_owned();
    tmp_name.push(".writing");
    let tmp = dir.join(tmp_name);
    let io = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
    {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut f = options.open(&tmp).map_err(io)?;
        if let Ok(meta) = std::fs::metadata(path) {
            f.set_permissions(meta.permissions()).map_err(io)?;
        }
        f.write_all(text.as_bytes()).map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    if let Err(e) = std::fs::rename(&tmp, path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    // Make the rename durable; not every filesystem lets a directory be fsynced.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

impl Acl {
    /// Advances `doc`'s `dataVersion`, checks that it parses, writes it to `path` and reads the
    /// rules again.
    fn commit(&self, path: &Path, mut doc: Mapping) -> Result<(), String> {
        let (timestamp, counter) = data_version(&doc, path);
        let now = millis(SystemTime::now()).max(timestamp);
        let mut version = Mapping::new();
        version.insert(text("timestamp"), Value::from(now));
        version.insert(text("counter"), Value::from(counter.saturating_add(1)));
        doc.insert(
            text("dataVersion"),
            Value::Sequence(vec![Value::Mapping(version)]),
        );
        let out = serde_yaml_ng::to_string(&Value::Mapping(doc))
            .map_err(|e| format!("cannot write YAML: {e}"))?;
        AclFile::parse(&out)?;
        write_file(path, &out)?;
        tracing::info!(file = %path.display(), "ACL file rewritten by an admin request");
        self.reload_now();
        Ok(())
    }

    /// The files read, in order (the acl/ directory's, then the main file).
    fn files(&self) -> Vec<PathBuf> {
        load::files(&self.path)
    }

    /// The first file whose `accounts` hold `key`, with its document.
    fn file_with(&self, key: &str) -> Result<Option<(PathBuf, Mapping)>, String> {
        for path in self.files() {
            let doc = read_doc(&path)?;
            let found = doc
                .get("accounts")
                .and_then(Value::as_sequence)
                .is_some_and(|s| s.iter().any(|a| key_of(a).as_deref() == Some(key)));
            if found {
                return Ok(Some((path, doc)));
            }
        }
        Ok(None)
    }

    /// Creates or updates an account (Java `updateAccessConfig` / `createAclAccessConfigMap`).
    pub(crate) fn update_account(&self, u: AccountUpdate) -> Result<(), String> {
        let _edit = self.edits.lock().unwrap_or_else(|e| e.into_inner());
        if u.access_key.chars().count() <= KEY_MIN_LENGTH
            || u.secret_key.chars().count() <= KEY_MIN_LENGTH
        {
            return Err(format!(
                "The accessKey={} and secretKey cannot be null and length should longer than {KEY_MIN_LENGTH}",
                u.access_key
            ));
        }
        check_resource_perms(u.topic_perms.as_deref().unwrap_or_default())?;
        check_resource_perms(u.group_perms.as_deref().unwrap_or_default())?;
        let (path, mut doc) = match self.file_with(&u.access_key)? {
            Some(found) => found,
            None => (self.path.clone(), read_doc(&self.path)?),
        };
        let accounts = accounts_of(&mut doc)?;
        let index = accounts
            .iter()
            .position(|a| key_of(a).as_deref() == Some(u.access_key.as_str()));
        let mut account = match index {
            Some(i) => match accounts.remove(i) {
                Value::Mapping(m) => m,
                _ => Mapping::new(),
            },
            None => Mapping::new(),
        };
        account.insert(text("accessKey"), text(&u.access_key));
        account.insert(text("secretKey"), text(&u.secret_key));
        if let Some(w) = &u.white_remote_address {
            account.insert(text("whiteRemoteAddress"), text(w));
        }
        account.insert(text("admin"), Value::Bool(u.admin));
        for (key, value) in [
            ("defaultTopicPerm", &u.default_topic_perm),
            ("defaultGroupPerm", &u.default_group_perm),
        ] {
            if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                account.insert(text(key), text(v));
            }
        }
        for (key, value) in [
            ("topicPerms", &u.topic_perms),
            ("groupPerms", &u.group_perms),
        ] {
            if let Some(items) = value {
                account.insert(text(key), list(items));
            }
        }
        // Apache removes the old entry and appends the new one.
        accounts.push(Value::Mapping(account));
        self.commit(&path, doc)
    }

    /// Deletes an account (Java `deleteAccessConfig`); `false` when no file holds it.
    pub(crate) fn delete_account(&self, key: &str) -> Result<bool, String> {
        let _edit = self.edits.lock().unwrap_or_else(|e| e.into_inner());
        if key.is_empty() {
            return Ok(false);
        }
        let Some((path, mut doc)) = self.file_with(key)? else {
            return Ok(false);
        };
        accounts_of(&mut doc)?.retain(|a| key_of(a).as_deref() != Some(key));
        self.commit(&path, doc)?;
        Ok(true)
    }

    /// Replaces `globalWhiteRemoteAddresses` of `file` (empty: the main file), which must be one
    /// of the ACL files read (Apache: any existing file under `rocketmq.home.dir`).
    pub(crate) fn update_global_white(&self, addrs: Vec<String>, file: &str) -> Result<(), String> {
        let _edit = self.edits.lock().unwrap_or_else(|e| e.into_inner());
        let path = if file.trim().is_empty() {
            self.path.clone()
        } else {
            let wanted = std::fs::canonicalize(file.trim())
                .map_err(|e| format!("{file} is not an ACL file of this broker: {e}"))?;
            self.files()
                .into_iter()
                .find(|p| std::fs::canonicalize(p).ok().as_ref() == Some(&wanted))
                .ok_or_else(|| format!("{file} is not an ACL file of this broker"))?
        };
        let mut doc = read_doc(&path)?;
        doc.insert(text("globalWhiteRemoteAddresses"), list(&addrs));
        self.commit(&path, doc)
    }

    /// The main file's `dataVersion` and every file's (path to version), as Java's JSON.
    pub(crate) fn versions(&self) -> (String, String) {
        let mut main = version_json(0, 0);
        let mut all = json::Value::Object(Default::default());
        for path in self.files() {
            let Ok(doc) = read_doc(&path) else { continue };
            if !path.exists() {
                continue;
            }
            let (t, c) = data_version(&doc, &path);
            let v = version_json(t, c);
            if path == self.path {
                main = v.clone();
            }
            if let Some(o) = all.as_object_mut() {
                o.insert(path.display().to_string(), v);
            }
        }
        (json::to_string(&main), json::to_string(&all))
    }

    /// Every account and global white address of the files (Java `getAllAclConfig`, the body of
    /// GET_BROKER_CLUSTER_ACL_CONFIG): the first account of an access key wins.
    pub(crate) fn all_config(&self) -> String {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct PlainAccessConfig {
            access_key: String,
            admin: bool,
            #[serde(skip_serializing_if = "Option::is_none")]
            default_group_perm: Option<String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            default_topic_perm: Option<String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            group_perms: Option<Vec<String>>,
            #[serde(skip_serializing_if = "Option::is_none")]
            secret_key: Option<String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            topic_perms: Option<Vec<String>>,
            #[serde(skip_serializing_if = "Option::is_none")]
            white_remote_address: Option<String>,
        }
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct AclConfig {
            global_white_addrs: Vec<String>,
            plain_access_configs: Vec<PlainAccessConfig>,
        }
        let scalar = |v: Option<&Value>| match v? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        };
        let strings = |v: Option<&Value>| {
            v.and_then(Value::as_sequence)
                .map(|s| s.iter().filter_map(|i| scalar(Some(i))).collect::<Vec<_>>())
        };
        let mut out = AclConfig {
            global_white_addrs: Vec::new(),
            plain_access_configs: Vec::new(),
        };
        let mut seen = std::collections::HashSet::new();
        for path in self.files() {
            let Ok(doc) = read_doc(&path) else { continue };
            out.global_white_addrs
                .extend(strings(doc.get("globalWhiteRemoteAddresses")).unwrap_or_default());
            let accounts = doc.get("accounts").and_then(Value::as_sequence);
            for a in accounts.into_iter().flatten() {
                let Some(key) = key_of(a) else { continue };
                if !seen.insert(key.clone()) {
                    continue;
                }
                out.plain_access_configs.push(PlainAccessConfig {
                    access_key: key,
                    admin: scalar(a.get("admin")).is_some_and(|s| s.eq_ignore_ascii_case("true")),
                    default_group_perm: scalar(a.get("defaultGroupPerm")),
                    default_topic_perm: scalar(a.get("defaultTopicPerm")),
                    group_perms: strings(a.get("groupPerms")),
                    secret_key: scalar(a.get("secretKey")),
                    topic_perms: strings(a.get("topicPerms")),
                    white_remote_address: scalar(a.get("whiteRemoteAddress")),
                });
            }
        }
        json::to_string(&out)
    }
}
