//! ACL 1.0 administration (Apache 4.9.x and 5.0-5.3.2 brokers with `aclEnable=true`, and
//! FerroMQ's): accounts and global white addresses of a broker's `plain_acl.yml`, and the file's
//! version. The admin client must itself be signed by an admin account
//! (`ClientConfig::credentials`).

use std::collections::BTreeMap;

use ferromq_protocol::{json, RemotingCommand, RequestCode};

use crate::error::{Error, Result};

use super::Admin;

/// One account of `plain_acl.yml` (Apache's `PlainAccessConfig`), as sent by
/// [`Admin::update_acl_account`] and listed by [`Admin::acl_config`]. `None` fields of an update
/// leave an existing account's value as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AclAccount {
    /// The access key (more than 6 characters).
    pub access_key: String,
    /// The secret key (more than 6 characters; required by the broker on every update).
    pub secret_key: Option<String>,
    /// One address rule admitting this account without a signature.
    pub white_remote_address: Option<String>,
    /// Admin account: every request passes, admin codes included.
    pub admin: bool,
    /// `DENY`, `PUB`, `SUB` or `PUB|SUB` for topics not listed.
    pub default_topic_perm: Option<String>,
    /// The same for groups.
    pub default_group_perm: Option<String>,
    /// `topic=PERM` items.
    pub topic_perms: Option<Vec<String>>,
    /// `group=PERM` items.
    pub group_perms: Option<Vec<String>>,
}

/// A broker's ACL files and their versions (GET_BROKER_CLUSTER_ACL_INFO).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AclVersion {
    /// The broker's cluster.
    pub cluster_name: String,
    /// The broker's name.
    pub broker_name: String,
    /// The broker's address.
    pub broker_addr: String,
    /// The main file's version counter (advanced by every remote edit of it).
    pub counter: i64,
    /// The main file's version timestamp (ms).
    pub timestamp: i64,
    /// Every ACL file's version, by path: (counter, timestamp in ms) (Apache 4.9.x and FerroMQ
    /// brokers).
    pub file_versions: BTreeMap<String, (i64, i64)>,
}

/// Every account and global white address of a broker (GET_BROKER_CLUSTER_ACL_CONFIG).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AclConfig {
    /// `globalWhiteRemoteAddresses` of every file.
    pub global_white_addrs: Vec<String>,
    /// The accounts.
    pub plain_access_configs: Vec<AclAccount>,
}

fn account_of(v: &json::Value) -> AclAccount {
    let text = |k: &str| match v.get(k) {
        Some(json::Value::String(s)) => Some(s.clone()),
        Some(json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let list = |k: &str| {
        v.get(k).and_then(json::Value::as_array).map(|items| {
            items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect()
        })
    };
    AclAccount {
        access_key: text("accessKey").unwrap_or_default(),
        secret_key: text("secretKey"),
        white_remote_address: text("whiteRemoteAddress"),
        admin: v
            .get("admin")
            .and_then(json::Value::as_bool)
            .unwrap_or(false),
        default_topic_perm: text("defaultTopicPerm"),
        default_group_perm: text("defaultGroupPerm"),
        topic_perms: list("topicPerms"),
        group_perms: list("groupPerms"),
    }
}

fn counter_of(v: &json::Value) -> (i64, i64) {
    let n = |k: &str| v.get(k).and_then(json::Value::as_i64).unwrap_or_default();
    (n("counter"), n("timestamp"))
}

impl Admin {
    /// Creates or updates an account on one broker (UPDATE_AND_CREATE_ACL_CONFIG 50,
    /// `mqadmin updateAclConfig`).
    pub async fn update_acl_account(&self, broker_addr: &str, account: &AclAccount) -> Result<()> {
        let mut request = RemotingCommand::request(RequestCode::UPDATE_AND_CREATE_ACL_CONFIG);
        let e = &mut request.ext_fields;
        e.insert("accessKey", account.access_key.clone());
        e.insert("admin", account.admin.to_string());
        let optional = [
            ("secretKey", account.secret_key.clone()),
            ("whiteRemoteAddress", account.white_remote_address.clone()),
            ("defaultTopicPerm", account.default_topic_perm.clone()),
            ("defaultGroupPerm", account.default_group_perm.clone()),
            (
                "topicPerms",
                account.topic_perms.as_ref().map(|p| p.join(",")),
            ),
            (
                "groupPerms",
                account.group_perms.as_ref().map(|p| p.join(",")),
            ),
        ];
        for (key, value) in optional {
            if let Some(v) = value {
                e.insert(key, v);
            }
        }
        self.broker_call("update ACL account", broker_addr, request)
            .await?;
        Ok(())
    }

    /// Deletes an account on one broker (DELETE_ACL_CONFIG 51, `mqadmin deleteAclConfig`).
    pub async fn delete_acl_account(&self, broker_addr: &str, access_key: &str) -> Result<()> {
        let mut request = RemotingCommand::request(RequestCode::DELETE_ACL_CONFIG);
        request.ext_fields.insert("accessKey", access_key);
        self.broker_call("delete ACL account", broker_addr, request)
            .await?;
        Ok(())
    }

    /// Replaces the global white addresses of one broker's ACL file (UPDATE_GLOBAL_WHITE_ADDRS_CONFIG
    /// 53, `mqadmin updateGlobalWhiteAddr`); `acl_file` `None` is the main file.
    pub async fn update_acl_global_white_addrs(
        &self,
        broker_addr: &str,
        addrs: &[String],
        acl_file: Option<&str>,
    ) -> Result<()> {
        let mut request = RemotingCommand::request(RequestCode::UPDATE_GLOBAL_WHITE_ADDRS_CONFIG);
        request
            .ext_fields
            .insert("globalWhiteAddrs", addrs.join(","));
        if let Some(f) = acl_file {
            request.ext_fields.insert("aclFileFullPath", f);
        }
        self.broker_call("update ACL global white addresses", broker_addr, request)
            .await?;
        Ok(())
    }

    /// The version of one broker's ACL files (GET_BROKER_CLUSTER_ACL_INFO 52,
    /// `mqadmin clusterAclConfigVersion`).
    pub async fn acl_version(&self, broker_addr: &str) -> Result<AclVersion> {
        const OP: &str = "ACL version";
        let request = RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_ACL_INFO);
        let response = self.broker_call(OP, broker_addr, request).await?;
        let e = &response.ext_fields;
        let field = |k: &str| e.get(k).unwrap_or_default().to_owned();
        let version =
            json::parse(field("version").as_bytes()).map_err(|e| Error::protocol(OP, e))?;
        let (counter, timestamp) = counter_of(&version);
        let mut file_versions = BTreeMap::new();
        if let Some(all) = e.get("allAclFileVersion") {
            let all = json::parse(all.as_bytes()).map_err(|e| Error::protocol(OP, e))?;
            for (path, v) in all.as_object().into_iter().flatten() {
                file_versions.insert(path.clone(), counter_of(v));
            }
        }
        Ok(AclVersion {
            cluster_name: field("clusterName"),
            broker_name: field("brokerName"),
            broker_addr: field("brokerAddr"),
            counter,
            timestamp,
            file_versions,
        })
    }

    /// Every account and global white address of one broker (GET_BROKER_CLUSTER_ACL_CONFIG 54,
    /// `mqadmin getAccessConfigSubCommand` of Apache 4.8-4.9.0; FerroMQ brokers answer it, later
    /// Apache brokers do not). Secrets included: admin accounts only.
    pub async fn acl_config(&self, broker_addr: &str) -> Result<AclConfig> {
        const OP: &str = "ACL config";
        let request = RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_ACL_CONFIG);
        let response = self.broker_call(OP, broker_addr, request).await?;
        let body = json::parse(&response.body).map_err(|e| Error::protocol(OP, e))?;
        let global_white_addrs = body
            .get("globalWhiteAddrs")
            .and_then(json::Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|i| i.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let plain_access_configs = body
            .get("plainAccessConfigs")
            .and_then(json::Value::as_array)
            .map(|a| a.iter().map(account_of).collect())
            .unwrap_or_default();
        Ok(AclConfig {
            global_white_addrs,
            plain_access_configs,
        })
    }
}
