//! The ACL 1.0 file, `plain_acl.yml` in Apache's format (Java `PlainAccessData` and
//! `PlainPermissionManager.load`):
//!
//! ```yaml
//! globalWhiteRemoteAddresses: ["10.10.103.*"]
//! accounts:
//!   - accessKey: RocketMQ
//!     secretKey: "12345678"
//!     whiteRemoteAddress:
//!     admin: false
//!     defaultTopicPerm: DENY
//!     defaultGroupPerm: SUB
//!     topicPerms: [topicA=DENY, topicB=PUB|SUB]
//!     groupPerms: [groupA=SUB]
//! ```
//!
//! Scalars may be written unquoted whatever they look like (`secretKey: 12345678` is the string
//! "12345678", as Apache reads it). Unknown keys (`dataVersion`, ...) are ignored.

use std::collections::HashMap;

use ferromq_protocol::acl::SigningKey;
use ferromq_protocol::names::retry_topic;
use serde_yaml_ng::Value;

use super::perm::Perm;
use ferromq_common::address_rule::AddressRule;

/// One account (`accounts[]`).
#[derive(Debug, Clone)]
pub(crate) struct Account {
    pub(crate) access_key: String,
    pub(crate) secret_key: String,
    /// `secret_key` ready for checking signatures.
    pub(crate) signing: SigningKey,
    /// `whiteRemoteAddress`: addresses this account is admitted from without a signature.
    pub(crate) white_address: AddressRule,
    pub(crate) admin: bool,
    pub(crate) default_topic_perm: Perm,
    pub(crate) default_group_perm: Perm,
    /// Topic permissions by topic, and group permissions by `%RETRY%<group>` (Apache keys both
    /// in one map so).
    pub(crate) resources: HashMap<String, Perm>,
}

/// A parsed ACL file.
#[derive(Debug, Clone, Default)]
pub(crate) struct AclFile {
    /// `globalWhiteRemoteAddresses`.
    pub(crate) global_white: Vec<AddressRule>,
    /// Accounts by access key.
    pub(crate) accounts: HashMap<String, Account>,
    /// Access keys given twice (the first is kept, as Apache does).
    pub(crate) duplicate_keys: Vec<String>,
}

/// Apache's minimum: keys of 6 characters or fewer are refused.
const KEY_MIN_LENGTH: usize = 6;

impl AclFile {
    /// Parses the file's text; the error names what is wrong.
    pub(crate) fn parse(text: &str) -> Result<AclFile, String> {
        let doc: Value = serde_yaml_ng::from_str(text).map_err(|e| format!("not YAML: {e}"))?;
        let mut file = AclFile::default();
        let doc = match doc {
            // An empty file: no accounts, nothing admitted.
            Value::Null => return Ok(file),
            Value::Mapping(m) => m,
            _ => return Err("the top level must be a mapping".to_owned()),
        };
        if let Some(list) = doc.get("globalWhiteRemoteAddresses") {
            for item in strings(list, "globalWhiteRemoteAddresses")? {
                file.global_white.push(
                    AddressRule::parse(&item)
                        .map_err(|e| format!("globalWhiteRemoteAddresses: {e}"))?,
                );
            }
        }
        let accounts = match doc.get("accounts") {
            None | Some(Value::Null) => return Ok(file),
            Some(Value::Sequence(s)) => s,
            Some(_) => return Err("accounts must be a list".to_owned()),
        };
        for (i, entry) in accounts.iter().enumerate() {
            let account = account(entry).map_err(|e| format!("accounts[{i}]: {e}"))?;
            if file.accounts.contains_key(&account.access_key) {
                file.duplicate_keys.push(account.access_key);
            } else {
                file.accounts.insert(account.access_key.clone(), account);
            }
        }
        Ok(file)
    }
}

fn account(entry: &Value) -> Result<Account, String> {
    let Value::Mapping(m) = entry else {
        return Err("an account must be a mapping".to_owned());
    };
    let field = |key: &str| -> Result<Option<String>, String> {
        match m.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => scalar(v)
                .map(Some)
                .ok_or_else(|| format!("{key} must be a single value")),
        }
    };
    let access_key = field("accessKey")?.unwrap_or_default();
    let secret_key = field("secretKey")?.unwrap_or_default();
    if access_key.chars().count() <= KEY_MIN_LENGTH || secret_key.chars().count() <= KEY_MIN_LENGTH
    {
        return Err(format!(
            "accessKey `{access_key}` and secretKey must be set and longer than {KEY_MIN_LENGTH} characters"
        ));
    }
    let white_address = AddressRule::parse(&field("whiteRemoteAddress")?.unwrap_or_default())
        .map_err(|e| format!("whiteRemoteAddress: {e}"))?;
    let admin = match field("admin")?.as_deref().map(str::trim) {
        None => false,
        Some(s) if s.eq_ignore_ascii_case("true") => true,
        Some(s) if s.eq_ignore_ascii_case("false") || s.is_empty() => false,
        Some(s) => return Err(format!("admin must be true or false, not `{s}`")),
    };
    // Apache's default for an absent or unknown default permission is DENY.
    let default_perm = |key: &str| -> Result<Perm, String> {
        match field(key)? {
            None => Ok(Perm::DENY),
            Some(s) => Perm::parse(&s).ok_or_else(|| format!("{key}: {}", bad_perm(&s))),
        }
    };
    let default_topic_perm = default_perm("defaultTopicPerm")?;
    let default_group_perm = default_perm("defaultGroupPerm")?;
    let mut resources = HashMap::new();
    for (key, is_topic) in [("groupPerms", false), ("topicPerms", true)] {
        let Some(list) = m.get(key) else { continue };
        for item in strings(list, key)? {
            // `name=PERM`; Apache splits on `=` dropping empty pieces, so exactly two pieces.
            let pieces: Vec<&str> = item.split('=').filter(|p| !p.is_empty()).collect();
            let [name, perm] = pieces[..] else {
                return Err(format!("{key}: `{item}` is not `name=PERM`"));
            };
            let perm = Perm::parse(perm).ok_or_else(|| format!("{key}: {}", bad_perm(perm)))?;
            let name = name.trim();
            let resource = if is_topic {
                name.to_owned()
            } else {
                retry_topic(name)
            };
            resources.insert(resource, perm);
        }
    }
    Ok(Account {
        access_key,
        signing: SigningKey::new(&secret_key),
        secret_key,
        white_address,
        admin,
        default_topic_perm,
        default_group_perm,
        resources,
    })
}

fn bad_perm(s: &str) -> String {
    format!("`{s}` is not DENY, PUB, SUB, PUB|SUB or SUB|PUB")
}

/// A YAML scalar as the string Apache would read (numbers and booleans as written).
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A list of scalars (a single scalar counts as a one-item list; null as empty).
fn strings(v: &Value, key: &str) -> Result<Vec<String>, String> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Sequence(items) => items
            .iter()
            .filter(|i| !i.is_null())
            .map(|i| scalar(i).ok_or_else(|| format!("{key} must be a list of values")))
            .collect(),
        other => scalar(other)
            .map(|s| vec![s])
            .ok_or_else(|| format!("{key} must be a list of values")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const APACHE_SAMPLE: &str = "\
globalWhiteRemoteAddresses:
  - 10.10.103.*
  - 192.168.0.*

accounts:
  - accessKey: RocketMQ
    secretKey: 12345678
    whiteRemoteAddress:
    admin: false
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - topicA=DENY
      - topicB=PUB|SUB
      - topicC=SUB
    groupPerms:
      # the group should convert to retry topic
      - groupA=DENY
      - groupB=PUB|SUB
      - groupC=SUB

  - accessKey: rocketmq2
    secretKey: 12345678
    whiteRemoteAddress: 192.168.1.*
    # if it is admin, it could access all resources
    admin: true
";

    #[test]
    fn apache_sample_file() {
        let f = AclFile::parse(APACHE_SAMPLE).expect("valid");
        assert_eq!(f.global_white.len(), 2);
        let a = &f.accounts["RocketMQ"];
        assert_eq!(a.secret_key, "12345678");
        assert!(!a.admin);
        assert_eq!(a.white_address, AddressRule::Nothing);
        assert_eq!(
            (a.default_topic_perm, a.default_group_perm),
            (Perm::DENY, Perm::SUB)
        );
        assert_eq!(a.resources["topicB"], Perm::PUB | Perm::SUB);
        assert_eq!(a.resources["%RETRY%groupA"], Perm::DENY);
        assert_eq!(a.resources.len(), 6);
        let b = &f.accounts["rocketmq2"];
        assert!(b.admin);
        assert!(b.white_address.matches("192.168.1.9".parse().expect("ip")));
        assert_eq!(b.default_topic_perm, Perm::DENY);
    }

    #[test]
    fn the_shipped_example_parses() {
        let f = AclFile::parse(include_str!("../../../conf/plain_acl.yml")).expect("valid");
        assert!(f.global_white.is_empty());
        assert_eq!(
            f.accounts["app-orders"].resources["%RETRY%audit"],
            Perm::DENY
        );
        assert!(f.accounts["ops-admin"].admin);
    }

    #[test]
    fn empty_and_bad_files() {
        assert!(AclFile::parse("").expect("empty").accounts.is_empty());
        for (text, needle) in [
            ("accounts: [", "not YAML"),
            ("- a\n- b\n", "mapping"),
            ("accounts:\n  - accessKey: short\n    secretKey: 12345678\n", "longer than 6"),
            ("accounts:\n  - accessKey: RocketMQ\n", "longer than 6"),
            (
                "accounts:\n  - accessKey: RocketMQ\n    secretKey: 12345678\n    topicPerms: [a=PUBSUB]\n",
                "topicPerms",
            ),
            (
                "accounts:\n  - accessKey: RocketMQ\n    secretKey: 12345678\n    groupPerms: [a]\n",
                "name=PERM",
            ),
            (
                "accounts:\n  - accessKey: RocketMQ\n    secretKey: 12345678\n    whiteRemoteAddress: nowhere\n",
                "whiteRemoteAddress",
            ),
            ("globalWhiteRemoteAddresses: [1.2.3]\n", "globalWhiteRemoteAddresses"),
            (
                "accounts:\n  - accessKey: RocketMQ\n    secretKey: 12345678\n    admin: yes please\n",
                "admin",
            ),
        ] {
            let err = AclFile::parse(text).expect_err(text);
            assert!(err.contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn a_repeated_key_keeps_the_first() {
        let f = AclFile::parse(
            "accounts:\n  - {accessKey: RocketMQ, secretKey: first123}\n  - {accessKey: RocketMQ, secretKey: second12}\n",
        )
        .expect("valid");
        assert_eq!(f.accounts["RocketMQ"].secret_key, "first123");
        assert_eq!(f.duplicate_keys, ["RocketMQ"]);
    }
}
