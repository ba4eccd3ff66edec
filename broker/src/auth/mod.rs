//! ACL 2.0 (Apache 5.3+'s authentication and authorization; docs/security.md, "ACL 2.0").
//!
//! Before a request's handler, in Apache's order:
//!
//! 1. authentication (`authenticationEnabled`; codes in `authenticationWhitelist` skip it):
//!    the `AccessKey` names an enabled user and `Signature` is the HMAC-SHA1 of the request
//!    under the user's password, computed as ACL 1.0 computes it (`protocol::acl`);
//! 2. authorization (`authorizationEnabled`; `authorizationWhitelist` skips it): each resource
//!    the request touches ([`context`]) with its actions is decided by the user's ACL
//!    ([`model::Acl::decide`]); super users pass; no matching entry or a Deny refuses.
//!
//! A refusal is answered NO_PERMISSION with Apache's message as the remark, and logged
//! rate-limited (the ACL 1.0 refusal log). Users and ACLs ([`metadata`]) live in the store's
//! config directory and are managed with the AUTH_* admin codes ([`admin`]); a slave copies
//! its master's (`services::ha::sync`). [`migrate`] turns ACL 1.0 accounts into users.

pub(crate) mod admin;
pub(crate) mod context;
pub(crate) mod in_process;
mod metadata;
mod migrate;
pub(crate) mod model;

use std::net::IpAddr;

use ferromq_protocol::acl::{self as signing, ACCESS_KEY, SIGNATURE};
use ferromq_protocol::body::auth::UserInfo;
use ferromq_protocol::{RemotingCommand, ResponseCode};
use serde::Deserialize;

use crate::acl::refusals::RefusalLog;
use crate::config::BrokerConfig;
use crate::response::{fail, Response};

pub(crate) use metadata::{Metadata, Tables};
use model::{User, UserStatus, UserType};

/// Apache's provider class names, and FerroMQ's short names, for each provider key.
const PROVIDERS: &[(&str, &[&str])] = &[
    (
        "authenticationProvider",
        &[
            "org.apache.rocketmq.auth.authentication.provider.DefaultAuthenticationProvider",
            "default",
        ],
    ),
    (
        "authenticationMetadataProvider",
        &[
            "org.apache.rocketmq.auth.authentication.provider.LocalAuthenticationMetadataProvider",
            "local",
        ],
    ),
    (
        "authenticationStrategy",
        &[
            "org.apache.rocketmq.auth.authentication.strategy.StatelessAuthenticationStrategy",
            "org.apache.rocketmq.auth.authentication.strategy.StatefulAuthenticationStrategy",
            "stateless",
            "stateful",
        ],
    ),
    (
        "authorizationProvider",
        &[
            "org.apache.rocketmq.auth.authorization.provider.DefaultAuthorizationProvider",
            "default",
        ],
    ),
    (
        "authorizationMetadataProvider",
        &[
            "org.apache.rocketmq.auth.authorization.provider.LocalAuthorizationMetadataProvider",
            "local",
        ],
    ),
    (
        "authorizationStrategy",
        &[
            "org.apache.rocketmq.auth.authorization.strategy.StatelessAuthorizationStrategy",
            "org.apache.rocketmq.auth.authorization.strategy.StatefulAuthorizationStrategy",
            "stateless",
            "stateful",
        ],
    ),
];

/// `innerClientAuthenticationCredentials` (Apache's `SessionCredentials` JSON).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct InnerCredentials {
    pub(crate) access_key: String,
    pub(crate) secret_key: String,
}

impl InnerCredentials {
    /// Signs `req` as a client with these credentials would.
    pub(crate) fn sign(&self, req: &mut RemotingCommand) {
        req.ext_fields.insert(ACCESS_KEY, self.access_key.as_str());
        let s = signing::signature(&self.secret_key, req);
        req.ext_fields.insert(SIGNATURE, s);
    }
}

/// ACL 2.0 of a broker: the switches and the users and ACLs.
#[derive(Debug)]
pub(crate) struct Auth {
    authentication: bool,
    authorization: bool,
    authentication_whitelist: Vec<String>,
    authorization_whitelist: Vec<String>,
    cluster: String,
    pub(crate) metadata: Metadata,
    /// What the broker signs its own requests with.
    pub(crate) inner: Option<InnerCredentials>,
    refusals: RefusalLog,
    /// What the broker's own gRPC endpoint signs its requests with.
    pub(crate) in_process: in_process::InProcess,
}

fn whitelist(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Refuses a provider Apache's name or ours does not name.
fn check_providers(b: &BrokerConfig) -> Result<(), String> {
    let values = [
        &b.authentication_provider,
        &b.authentication_metadata_provider,
        &b.authentication_strategy,
        &b.authorization_provider,
        &b.authorization_metadata_provider,
        &b.authorization_strategy,
    ];
    for ((key, known), value) in PROVIDERS.iter().zip(values) {
        let v = value.trim();
        if !v.is_empty() && !known.iter().any(|k| k.eq_ignore_ascii_case(v)) {
            return Err(format!(
                "{key}={v}: unknown provider; FerroMQ implements {}",
                known.join(" / ")
            ));
        }
    }
    Ok(())
}

impl Auth {
    /// Reads the keys of `b` and the users and ACLs in `config_dir`, creates the initial and
    /// inner users, and migrates ACL 1.0 accounts when asked. An error stops start-up.
    pub(crate) fn open(b: &BrokerConfig, config_dir: &std::path::Path) -> Result<Auth, String> {
        check_providers(b)?;
        let metadata = Metadata::open(config_dir)?;
        let mut created = Vec::new();
        if !b.init_authentication_user.trim().is_empty() {
            let info =
                UserInfo::decode(b.init_authentication_user.trim().as_bytes()).map_err(|e| {
                    format!("initAuthenticationUser: Init authentication user error: {e}")
                })?;
            let mut user = metadata::user_from_info(&info).ok_or(
                "initAuthenticationUser: Init authentication user error: a username and a password are needed",
            )?;
            user.user_type = UserType::Super;
            created.push(user);
        }
        let inner = if b.inner_client_authentication_credentials.trim().is_empty() {
            None
        } else {
            let c: InnerCredentials = ferromq_protocol::json::from_slice(
                b.inner_client_authentication_credentials.trim().as_bytes(),
            )
            .map_err(|e| format!("innerClientAuthenticationCredentials: {e}"))?;
            if c.access_key.trim().is_empty() || c.secret_key.trim().is_empty() {
                return Err(
                    "innerClientAuthenticationCredentials: an accessKey and a secretKey are needed"
                        .to_owned(),
                );
            }
            created.push(User {
                username: c.access_key.clone(),
                password: c.secret_key.clone(),
                user_type: UserType::Super,
                status: UserStatus::Enable,
            });
            Some(c)
        };
        let mut changed = false;
        metadata.change(|t| {
            for user in created {
                if !t.users.contains_key(&user.username) {
                    tracing::info!(user = %user.username, "ACL 2.0: super user created");
                    t.users.insert(user.username.clone(), user);
                    changed = true;
                }
            }
        });
        if b.migrate_auth_from_v1_enabled {
            changed |= migrate::from_v1(b, &metadata);
        }
        if changed {
            metadata
                .persist()
                .map_err(|e| format!("cannot write the ACL 2.0 files: {e}"))?;
        }
        if b.authentication_enabled || b.authorization_enabled {
            tracing::info!(
                authentication = b.authentication_enabled,
                authorization = b.authorization_enabled,
                users = metadata.read(|t| t.users.len()),
                "ACL 2.0 enabled"
            );
        }
        Ok(Auth {
            authentication: b.authentication_enabled,
            authorization: b.authorization_enabled,
            authentication_whitelist: whitelist(&b.authentication_whitelist),
            authorization_whitelist: whitelist(&b.authorization_whitelist),
            cluster: b.broker_cluster_name.clone(),
            metadata,
            inner,
            refusals: RefusalLog::default(),
            in_process: in_process::InProcess::default(),
        })
    }

    /// `req` signed with `innerClientAuthenticationCredentials` when set (Apache's broker
    /// signs its requests to name servers and masters so); else unchanged.
    pub(crate) fn signed(&self, mut req: RemotingCommand) -> RemotingCommand {
        if let Some(inner) = &self.inner {
            inner.sign(&mut req);
        }
        req
    }

    /// Whether any check is on.
    pub(crate) fn enabled(&self) -> bool {
        self.authentication || self.authorization
    }

    /// Authentication (Apache's `DefaultAuthenticationHandler`).
    fn authenticate(&self, req: &RemotingCommand) -> Result<(), String> {
        if code_listed(&self.authentication_whitelist, req.code) {
            return Ok(());
        }
        let old_client = req.version <= crate::acl::V4_9_3.0;
        self.authenticate_user(req.ext_fields.get(ACCESS_KEY), |user| {
            let expected = signing::signature_with(&user.password, req, |k| {
                old_client && k == "_UNIQUE_KEY_QUERY"
            });
            req.ext_fields.get(SIGNATURE).is_some_and(|given| {
                signing::constant_time_eq(expected.as_bytes(), given.as_bytes())
            })
        })
    }

    /// The user named `name` must exist, be enabled, and have `signed` the request. Shared by
    /// the remoting requests and the gRPC endpoint's calls (`crate::grpc`).
    pub(crate) fn authenticate_user(
        &self,
        name: Option<&str>,
        signed: impl FnOnce(&User) -> bool,
    ) -> Result<(), String> {
        let Some(name) = name.filter(|k| !k.is_empty()) else {
            return Err("username cannot be null.".to_owned());
        };
        // Under the read lock, without copying the user: this runs for every request.
        self.metadata.read(|t| {
            let Some(user) = t.users.get(name) else {
                return Err(format!("User:{name} is not found."));
            };
            if user.status == UserStatus::Disable {
                return Err(format!("User:{name} is disabled."));
            }
            if signed(user) {
                Ok(())
            } else {
                Err("check signature failed.".to_owned())
            }
        })
    }

    /// Authorization (Apache's `UserAuthorizationHandler` then `AclAuthorizationHandler`).
    fn authorize(&self, ip: IpAddr, req: &RemotingCommand) -> Result<(), String> {
        if code_listed(&self.authorization_whitelist, req.code) {
            return Ok(());
        }
        let wants = context::wants(req, &self.cluster)
            .map_err(|_| "parse authorization context error.".to_owned())?;
        self.authorize_wants(req.ext_fields.get(ACCESS_KEY), ip, &wants)
    }

    /// Whether user `name` from `ip` may do each of `wants`. Shared by the remoting requests
    /// and the gRPC endpoint's calls (`crate::grpc`).
    pub(crate) fn authorize_wants(
        &self,
        name: Option<&str>,
        ip: IpAddr,
        wants: &[context::Want],
    ) -> Result<(), String> {
        if wants.is_empty() {
            return Ok(());
        }
        let Some(name) = name.filter(|k| !k.is_empty()) else {
            return Err(
                "Authorization failed. Please verify your access rights and try again.".to_owned(),
            );
        };
        match self
            .metadata
            .read(|t| t.users.get(name).map(User::is_super))
        {
            None => return Err(format!("User:{name} not found.")),
            Some(true) => return Ok(()),
            Some(false) => {}
        }
        let ip = crate::acl::canonical(ip);
        self.metadata.read(|t| {
            let acl = t.acls.get(name);
            for (resource, actions) in wants {
                let refuse = |detail: &str| {
                    Err(format!(
                        "User:{name} has no permission to access {} from {ip}, {detail}",
                        resource.key()
                    ))
                };
                match acl.and_then(|a| a.decide(resource, actions, ip)) {
                    None => return refuse("no matched policies."),
                    Some(e) if e.decision == model::Decision::Deny => {
                        return refuse("the decision is deny.")
                    }
                    Some(_) => {}
                }
            }
            Ok(())
        })
    }

    #[cfg_attr(not(feature = "grpc"), allow(dead_code))]
    /// Whether authentication / authorization are on.
    pub(crate) fn switches(&self) -> (bool, bool) {
        (self.authentication, self.authorization)
    }

    #[cfg_attr(not(feature = "grpc"), allow(dead_code))]
    /// Whether `rpc` (a gRPC request's full name) is in the authentication / authorization
    /// whitelist (Apache compares the whitelists with the name for gRPC calls).
    pub(crate) fn grpc_listed(&self, rpc: &str) -> (bool, bool) {
        (
            self.authentication_whitelist.iter().any(|c| c == rpc),
            self.authorization_whitelist.iter().any(|c| c == rpc),
        )
    }

    #[cfg_attr(not(feature = "grpc"), allow(dead_code))]
    /// The refusal log (shared with the gRPC endpoint's checks).
    pub(crate) fn refusals(&self) -> &RefusalLog {
        &self.refusals
    }

    /// Checks `req` from `ip`; `Err` is the message of the refusal.
    pub(crate) fn check(&self, ip: IpAddr, req: &RemotingCommand) -> Result<(), String> {
        if self.authentication {
            self.authenticate(req)?;
        }
        if self.authorization {
            self.authorize(ip, req)?;
        }
        Ok(())
    }

    /// Checks `req` from `ip`; a refusal is logged (rate-limited) and answered NO_PERMISSION
    /// with Apache's message.
    pub(crate) fn admit(&self, ip: IpAddr, req: &RemotingCommand) -> Result<(), Response> {
        self.check(ip, req).map_err(|message| {
            let access_key = req.ext_fields.get(ACCESS_KEY).unwrap_or_default();
            self.refusals
                .refused(access_key, req.request_code(), ip, &message);
            fail(ResponseCode::NO_PERMISSION, message)
        })
    }
}

/// Whether `code` is in a whitelist of request codes as written in the config (Apache compares
/// `String.valueOf(code)` with each entry), without formatting the code on every request.
fn code_listed(list: &[String], code: i32) -> bool {
    if list.is_empty() {
        return false;
    }
    let mut buf = [0u8; 12];
    let mut cursor = std::io::Cursor::new(&mut buf[..]);
    let _ = std::io::Write::write_fmt(&mut cursor, format_args!("{code}"));
    let len = usize::try_from(cursor.position()).unwrap_or(0);
    let text = &buf[..len];
    list.iter().any(|c| c.as_bytes() == text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apaches_keys_read_from_a_properties_file() {
        let mut s = crate::config::Settings::default();
        let report = s
            .apply_properties(
                "authenticationEnabled=true\nauthorizationEnabled=true\n\
                 authenticationProvider=org.apache.rocketmq.auth.authentication.provider.DefaultAuthenticationProvider\n\
                 initAuthenticationUser={\"username\":\"root\",\"password\":\"pw=1:2\"}\n\
                 innerClientAuthenticationCredentials={\"accessKey\":\"inner\",\"secretKey\":\"sk\"}\n\
                 authenticationWhitelist=10, 11\nmigrateAuthFromV1Enabled=false\nuserCacheMaxNum=5\n",
            )
            .expect("valid");
        assert!(report.unknown_keys.is_empty(), "{:?}", report.unknown_keys);
        let dir = tempfile::tempdir().expect("dir");
        let auth = Auth::open(&s.broker, dir.path()).expect("opens");
        assert!(auth.enabled());
        assert_eq!(auth.authentication_whitelist, ["10", "11"]);
        assert_eq!(auth.metadata.user("root").expect("root").password, "pw=1:2");
        assert!(auth.metadata.user("inner").expect("inner").is_super());
        assert!(dir.path().join("users.json").exists());
    }

    #[test]
    fn whitelisted_codes_compare_as_written() {
        let list = ["10".to_owned(), "-3".to_owned(), "2147483647".to_owned()];
        assert!(code_listed(&list, 10));
        assert!(code_listed(&list, -3));
        assert!(code_listed(&list, i32::MAX));
        assert!(!code_listed(&list, 1));
        assert!(!code_listed(&list, 100));
        assert!(!code_listed(&["010".to_owned()], 10));
        assert!(!code_listed(&[], 10));
    }

    #[test]
    fn unknown_providers_stop_start_up() {
        let dir = tempfile::tempdir().expect("dir");
        let mut b = BrokerConfig {
            authentication_provider:
                "org.apache.rocketmq.auth.authentication.provider.DefaultAuthenticationProvider"
                    .into(),
            authorization_metadata_provider: "local".into(),
            ..BrokerConfig::default()
        };
        assert!(Auth::open(&b, dir.path()).is_ok());
        b.authorization_provider = "com.example.MyProvider".into();
        let e = Auth::open(&b, dir.path()).expect_err("refused");
        assert!(
            e.starts_with("authorizationProvider=com.example.MyProvider"),
            "{e}"
        );
        b.authorization_provider.clear();
        b.init_authentication_user = "{\"username\":\"root\"}".into();
        assert!(Auth::open(&b, dir.path()).is_err());
        b.init_authentication_user = "{\"username\":\"root\",\"password\":\"pw\"}".into();
        let a = Auth::open(&b, dir.path()).expect("opens");
        assert!(a.metadata.user("root").expect("created").is_super());
    }
}
