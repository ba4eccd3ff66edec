//! ACL 1.0 (`aclEnable`, docs/security.md): every request on the broker's remoting ports is
//! checked against `plain_acl.yml` before its handler runs, in the order of Apache's
//! `PlainAccessValidator` / `PlainPermissionManager.validate`:
//!
//! 1. a client address in `globalWhiteRemoteAddresses` passes;
//! 2. no `AccessKey`, or one no account has, is refused;
//! 3. a client address in the account's `whiteRemoteAddress` passes;
//! 4. a `Signature` other than the HMAC-SHA1 of the request under the account's secret is
//!    refused (compared in constant time);
//! 5. sends to `RMQ_SYS_TRACE_TOPIC` pass; admin accounts pass; the admin codes are refused to
//!    other accounts;
//! 6. each topic and group the request touches ([`resource`]) needs its permission from
//!    `topicPerms` / `groupPerms`, else from `defaultTopicPerm` / `defaultGroupPerm`.
//!
//! A refusal is answered as Apache's broker answers an `AclException` thrown by its RPC hook:
//! SYSTEM_ERROR with the exception's text as the remark. The file is polled for changes; a bad
//! edit keeps the last good rules.
//!
//! `ferromq_common::address_rule`: remote address rules; `file`: one YAML file; `load`: which files, read and merged; `perm`: permissions and admin codes;
//! `resource`: what each request code touches; `admin`: the admin codes that edit the files; `refusals`: the rate-limited refusal log.

pub(crate) mod admin;
pub(crate) mod file;
pub(crate) mod load;
pub(crate) mod perm;
pub(crate) mod refusals;
mod resource;

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use ferromq_protocol::acl::{self as signing, ACCESS_KEY, SIGNATURE};
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode, Version};

use crate::config::BrokerConfig;
use crate::response::{fail, Response};
use crate::state::Broker;

pub(crate) use ferromq_common::address_rule::canonical;
use file::AclFile;
use load::Stamp;
use perm::Perm;
use refusals::RefusalLog;

/// How often the file's modification time is looked at.
const RELOAD_POLL: Duration = Duration::from_secs(2);

/// The class name Apache's refusal remarks start with.
const EXCEPTION: &str = "org.apache.rocketmq.acl.common.AclException";

/// Clients at or before V4_9_3 do not sign `_UNIQUE_KEY_QUERY`; Apache's broker leaves it
/// out of their signatures.
const UNIQUE_KEY_QUERY: &str = "_UNIQUE_KEY_QUERY";
pub(crate) const V4_9_3: Version = Version(400);

/// The ACL of a broker with `aclEnable=true`.
#[derive(Debug)]
pub(crate) struct Acl {
    path: PathBuf,
    rules: RwLock<Arc<AclFile>>,
    /// The file as last read, good or bad (a bad edit is reported once).
    stamp: Mutex<Option<Stamp>>,
    refusals: RefusalLog,
    /// Held by an admin request editing the files (`admin`), one at a time.
    edits: Mutex<()>,
}

/// Why a request was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Denial {
    /// Apache's exception message.
    pub(crate) message: String,
}

fn deny(message: String) -> Result<(), Denial> {
    Err(Denial { message })
}

impl Acl {
    /// The ACL `b` asks for: `None` when `aclEnable` is false; an error naming the file when it
    /// cannot be read or parsed.
    pub(crate) fn open(b: &BrokerConfig) -> Result<Option<Acl>, String> {
        if !b.acl_enable {
            return Ok(None);
        }
        let path = load::file_path(b)?;
        let (rules, stamp) = load::read(&path)?;
        tracing::info!(file = %path.display(), accounts = rules.accounts.len(), "ACL enabled");
        Ok(Some(Acl {
            path,
            rules: RwLock::new(Arc::new(rules)),
            stamp: Mutex::new(Some(stamp)),
            refusals: RefusalLog::default(),
            edits: Mutex::new(()),
        }))
    }

    /// The rules in force, read-locked for the time of one check (a reload waits for it).
    fn rules(&self) -> std::sync::RwLockReadGuard<'_, Arc<AclFile>> {
        self.rules.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads the file again if it changed since last read; a file that no longer parses (or
    /// is gone) keeps the rules in force, and says why once per change.
    pub(crate) fn reload_if_changed(&self) {
        let now = Some(load::stamp(&self.path));
        {
            let mut last = self.stamp.lock().unwrap_or_else(|e| e.into_inner());
            if now == *last {
                return;
            }
            *last = now;
        }
        match load::read(&self.path) {
            Ok((rules, stamp)) => {
                tracing::info!(file = %self.path.display(), accounts = rules.accounts.len(), "ACL file reloaded");
                *self.rules.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(rules);
                *self.stamp.lock().unwrap_or_else(|e| e.into_inner()) = Some(stamp);
            }
            Err(e) => {
                tracing::error!(error = %e, "ACL file not reloaded; the last good rules stay in force");
            }
        }
    }

    /// Reads the files again now (after an admin request rewrote one).
    fn reload_now(&self) {
        *self.stamp.lock().unwrap_or_else(|e| e.into_inner()) = None;
        self.reload_if_changed();
    }

    /// Checks `req` from `ip` (Apache's order, module docs).
    pub(crate) fn check(&self, ip: IpAddr, req: &RemotingCommand) -> Result<(), Denial> {
        let old_client = req.version <= V4_9_3.0;
        self.decide(
            ip,
            req.ext_fields.get(ACCESS_KEY),
            |account| {
                let expected = account
                    .signing
                    .sign_with(req, |k| old_client && k == UNIQUE_KEY_QUERY);
                req.ext_fields.get(SIGNATURE).is_some_and(|given| {
                    signing::constant_time_eq(expected.as_bytes(), given.as_bytes())
                })
            },
            || resource::resources(req),
            req.request_code(),
        )
    }

    /// Apache's checks in order: `signed` says whether the request carries the account's
    /// signature, `needed` lists what it touches (computed only once the signature passed),
    /// `code` is its request code (for the admin codes). Shared by the remoting requests and the
    /// gRPC endpoint's calls (`crate::grpc`).
    pub(crate) fn decide<'n>(
        &self,
        ip: IpAddr,
        access_key: Option<&str>,
        signed: impl FnOnce(&file::Account) -> bool,
        needed: impl FnOnce() -> Result<Vec<(std::borrow::Cow<'n, str>, Perm)>, String>,
        code: RequestCode,
    ) -> Result<(), Denial> {
        let rules = self.rules();
        if rules.global_white.iter().any(|r| r.matches(ip)) {
            return Ok(());
        }
        let Some(access_key) = access_key else {
            return deny("No accessKey is configured".to_owned());
        };
        let Some(account) = rules.accounts.get(access_key) else {
            return deny(format!("No acl config for {access_key}"));
        };
        if account.white_address.matches(ip) {
            return Ok(());
        }
        if !signed(account) {
            return deny(format!("Check signature failed for accessKey={access_key}"));
        }
        let needed = needed().map_err(|message| Denial { message })?;
        if needed
            .iter()
            .any(|(r, p)| r == "RMQ_SYS_TRACE_TOPIC" && *p == Perm::PUB)
        {
            return Ok(());
        }
        if account.admin {
            return Ok(());
        }
        if perm::needs_admin(code) {
            return deny(format!(
                "Need admin permission for request code={}, but accessKey={access_key} is not",
                code.0
            ));
        }
        for (resource, needed) in &needed {
            let group = resource.strip_prefix(ferromq_protocol::names::RETRY_TOPIC_PREFIX);
            let shown = match group {
                Some(g) => format!("group:{g}"),
                None => format!("topic:{resource}"),
            };
            match account.resources.get(resource.as_ref()) {
                Some(owned) => {
                    if !needed.granted_by(*owned) {
                        return deny(format!("No permission for {shown}"));
                    }
                }
                None => {
                    let owned = if group.is_some() {
                        account.default_group_perm
                    } else {
                        account.default_topic_perm
                    };
                    if !needed.granted_by(owned) {
                        return deny(format!("No default permission for {shown}"));
                    }
                }
            }
        }
        Ok(())
    }

    #[cfg_attr(not(feature = "grpc"), allow(dead_code))]
    /// The refusal log (shared with the gRPC endpoint's checks).
    pub(crate) fn refusals(&self) -> &RefusalLog {
        &self.refusals
    }

    /// Checks `req` from `ip`; a refusal is logged (rate-limited) and returned as the answer.
    pub(crate) fn admit(&self, ip: IpAddr, req: &RemotingCommand) -> Result<(), Response> {
        self.check(ip, req).map_err(|denial| {
            let access_key = req.ext_fields.get(ACCESS_KEY).unwrap_or_default();
            self.refusals
                .refused(access_key, req.request_code(), ip, &denial.message);
            fail(
                ResponseCode::SYSTEM_ERROR,
                format!("{EXCEPTION}: {}", denial.message),
            )
        })
    }
}

/// Codes a slave sends its master to copy its tables (`services::ha::sync`); they pass from
/// an address holding an HA connection to this broker, which is already trusted with the whole
/// commitlog.
pub(crate) fn is_slave_sync(code: RequestCode) -> bool {
    matches!(
        code,
        RequestCode::GET_ALL_TOPIC_CONFIG
            | RequestCode::GET_ALL_CONSUMER_OFFSET
            | RequestCode::GET_ALL_DELAY_OFFSET
            | RequestCode::GET_ALL_SUBSCRIPTIONGROUP_CONFIG
    )
}

/// Polls the ACL file of `broker` for changes until the broker is gone.
pub(crate) fn spawn_reloader(broker: &Arc<Broker>) {
    if broker.acl.is_none() {
        return;
    }
    let weak: Weak<Broker> = Arc::downgrade(broker);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(RELOAD_POLL).await;
            let Some(broker) = weak.upgrade() else { return };
            let _ = tokio::task::spawn_blocking(move || {
                if let Some(acl) = &broker.acl {
                    acl.reload_if_changed();
                }
            })
            .await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: &str = "\
globalWhiteRemoteAddresses: [10.0.0.*]
accounts:
  - {accessKey: alice-key, secretKey: alice-secret, defaultTopicPerm: SUB, defaultGroupPerm: SUB,
     topicPerms: [Orders=PUB|SUB, Audit=DENY], groupPerms: [blocked=DENY]}
  - {accessKey: admin-key, secretKey: admin-secret, admin: true}
  - {accessKey: office-key, secretKey: office-secret, whiteRemoteAddress: 192.168.1.1-9}
";

    fn acl() -> Acl {
        Acl {
            path: PathBuf::new(),
            rules: RwLock::new(Arc::new(AclFile::parse(RULES).expect("valid"))),
            stamp: Mutex::new(None),
            refusals: RefusalLog::default(),
            edits: Mutex::new(()),
        }
    }

    fn signed(
        code: RequestCode,
        fields: &[(&str, &str)],
        key: &str,
        secret: &str,
    ) -> RemotingCommand {
        let mut r = RemotingCommand::request(code);
        for (k, v) in fields {
            r.ext_fields.insert(*k, *v);
        }
        r.ext_fields.insert(ACCESS_KEY, key);
        let s = signing::signature(secret, &r);
        r.ext_fields.insert(SIGNATURE, s);
        r
    }

    fn message(r: Result<(), Denial>) -> String {
        r.expect_err("refused").message
    }

    #[test]
    fn apache_order_and_messages() {
        let acl = acl();
        let ip: IpAddr = "127.0.0.1".parse().expect("ip");
        let send = |topic: &str| {
            signed(
                RequestCode::SEND_MESSAGE_V2,
                &[("b", topic)],
                "alice-key",
                "alice-secret",
            )
        };
        assert_eq!(acl.check(ip, &send("Orders")), Ok(()));
        assert_eq!(
            message(acl.check(ip, &send("Other"))),
            "No default permission for topic:Other"
        );
        assert_eq!(
            message(acl.check(ip, &send("Audit"))),
            "No permission for topic:Audit"
        );
        let pull = signed(
            RequestCode::PULL_MESSAGE,
            &[("topic", "Other"), ("consumerGroup", "g")],
            "alice-key",
            "alice-secret",
        );
        assert_eq!(acl.check(ip, &pull), Ok(()));
        let back = signed(
            RequestCode::CONSUMER_SEND_MSG_BACK,
            &[("group", "blocked")],
            "alice-key",
            "alice-secret",
        );
        assert_eq!(
            message(acl.check(ip, &back)),
            "No permission for group:blocked"
        );
        let trace = signed(
            RequestCode::SEND_MESSAGE,
            &[("topic", "RMQ_SYS_TRACE_TOPIC")],
            "alice-key",
            "alice-secret",
        );
        assert_eq!(acl.check(ip, &trace), Ok(()));

        let create = |key: &str, secret: &str| {
            signed(
                RequestCode::UPDATE_AND_CREATE_TOPIC,
                &[("topic", "T")],
                key,
                secret,
            )
        };
        assert_eq!(
            message(acl.check(ip, &create("alice-key", "alice-secret"))),
            "Need admin permission for request code=17, but accessKey=alice-key is not"
        );
        assert_eq!(acl.check(ip, &create("admin-key", "admin-secret")), Ok(()));
        assert_eq!(
            message(acl.check(ip, &create("admin-key", "alice-secret"))),
            "Check signature failed for accessKey=admin-key"
        );
        let mut replay = send("Orders").with_body(&b"other body"[..]);
        replay.ext_fields.insert("c", "x");
        assert_eq!(
            message(acl.check(ip, &replay)),
            "Check signature failed for accessKey=alice-key"
        );
        let mut unsigned = RemotingCommand::request(RequestCode::SEND_MESSAGE_V2);
        unsigned.ext_fields.insert("b", "Orders");
        assert_eq!(
            message(acl.check(ip, &unsigned)),
            "No accessKey is configured"
        );
        unsigned.ext_fields.insert(ACCESS_KEY, "mallory");
        assert_eq!(
            message(acl.check(ip, &unsigned)),
            "No acl config for mallory"
        );
        unsigned.ext_fields.insert(ACCESS_KEY, "office-key");
        assert_eq!(
            acl.check("192.168.1.5".parse().expect("ip"), &unsigned),
            Ok(())
        );
        assert!(acl
            .check("192.168.1.10".parse().expect("ip"), &unsigned)
            .is_err());
        unsigned.ext_fields.remove(ACCESS_KEY);
        assert_eq!(
            acl.check("10.0.0.7".parse().expect("ip"), &unsigned),
            Ok(())
        );
        assert_eq!(
            acl.check("::ffff:10.0.0.7".parse().expect("ip"), &unsigned),
            Ok(())
        );
    }

    #[test]
    fn old_clients_may_add_the_unique_key_flag_after_signing() {
        let acl = acl();
        let ip: IpAddr = "127.0.0.1".parse().expect("ip");
        let mut r = signed(
            RequestCode::QUERY_MESSAGE,
            &[("topic", "Orders")],
            "alice-key",
            "alice-secret",
        );
        r.ext_fields.insert(UNIQUE_KEY_QUERY, "true");
        r.version = 400;
        assert_eq!(acl.check(ip, &r), Ok(()));
        r.version = 401;
        assert!(acl.check(ip, &r).is_err());
    }

    #[test]
    fn a_bad_edit_keeps_the_last_good_rules() {
        let dir = std::env::temp_dir().join(format!("ferromq-acl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("plain_acl.yml");
        std::fs::write(&path, RULES).expect("write");
        let b = BrokerConfig {
            acl_enable: true,
            acl_file_path: path.display().to_string(),
            ..BrokerConfig::default()
        };
        let acl = Acl::open(&b).expect("valid").expect("enabled");
        let ip: IpAddr = "127.0.0.1".parse().expect("ip");
        let send = signed(
            RequestCode::SEND_MESSAGE_V2,
            &[("b", "Orders")],
            "alice-key",
            "alice-secret",
        );
        assert_eq!(acl.check(ip, &send), Ok(()));
        // Unchanged: nothing read. Broken: the old rules stay. Fixed: the new rules apply.
        acl.reload_if_changed();
        std::fs::write(&path, "accounts: [").expect("write");
        acl.reload_if_changed();
        assert_eq!(acl.check(ip, &send), Ok(()));
        std::fs::write(&path, "accounts: []\n").expect("write");
        acl.reload_if_changed();
        assert_eq!(message(acl.check(ip, &send)), "No acl config for alice-key");
        std::fs::remove_file(&path).expect("remove");
        acl.reload_if_changed();
        assert!(acl.check(ip, &send).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
