//! The broker's side of its gRPC endpoint's access control (docs/grpc.md, "ACL"): the endpoint
//! (`ferromq_proxy`, local mode) reads each call's credentials and resources, and this
//! [`Guard`] decides with the broker's own ACL 1.0 rules and ACL 2.0 users and ACLs, through the
//! same code that checks remoting requests. The endpoint's own remoting requests are signed with
//! `innerClientAuthenticationCredentials` (ACL 2.0 alone) or the broker's in-process secret
//! (`auth::in_process`).

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use ferromq_protocol::names::retry_topic;
use ferromq_proxy::auth::{self as grpc, Call, Guard, Refusal, Signer, Want};
use ferromq_proxy::Security;

use crate::acl::perm::Perm;
use crate::auth::context::Want as AuthWant;
use crate::auth::in_process::ACCESS_KEY_NAME;
use crate::auth::model;
use crate::state::Broker;

/// What the endpoint of `broker` checks calls with and signs its requests with: nothing when
/// neither `aclEnable` nor ACL 2.0 is on.
pub fn security(broker: &Arc<Broker>) -> Security {
    if broker.acl.is_none() && !broker.auth.enabled() {
        return Security::default();
    }
    // ACL 2.0 alone with `innerClientAuthenticationCredentials`: every broker of the cluster
    // holds that super user, so the endpoint's requests to other brokers pass too. Otherwise the
    // in-process secret, which only this broker knows.
    let signer = match (&broker.acl, &broker.auth.inner) {
        (None, Some(inner)) => Signer::new(&inner.access_key, &inner.secret_key),
        _ => Signer::new(ACCESS_KEY_NAME, broker.auth.in_process.secret()),
    };
    Security {
        guard: Some(Arc::new(BrokerGuard(broker.clone()))),
        signer: Some(signer),
    }
}

struct BrokerGuard(Arc<Broker>);

impl std::fmt::Debug for BrokerGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BrokerGuard")
    }
}

/// ACL 1.0's view of a want: `%RETRY%<group>` for a group; PUB, SUB, or ANY when either does.
fn v1_needed(wants: &[Want]) -> Vec<(Cow<'static, str>, Perm)> {
    wants
        .iter()
        .map(|w| {
            let name = match &w.resource {
                grpc::Resource::Topic(t) => t.clone(),
                grpc::Resource::Group(g) => retry_topic(g),
            };
            let publish = w.actions.contains(&grpc::Action::Pub);
            let perm = if publish && w.actions.contains(&grpc::Action::Sub) {
                Perm::ANY
            } else if publish {
                Perm::PUB
            } else {
                Perm::SUB
            };
            (Cow::Owned(name), perm)
        })
        .collect()
}

/// ACL 2.0's view of a want.
fn v2_want(w: &Want) -> AuthWant {
    let resource = match &w.resource {
        grpc::Resource::Topic(t) => model::Resource::topic(t),
        grpc::Resource::Group(g) => model::Resource::group(g),
    };
    let actions = w
        .actions
        .iter()
        .map(|a| match a {
            grpc::Action::Pub => model::Action::Pub,
            grpc::Action::Sub => model::Action::Sub,
            grpc::Action::Get => model::Action::Get,
            grpc::Action::Update => model::Action::Update,
        })
        .collect();
    (resource, actions)
}

impl Guard for BrokerGuard {
    fn check(&self, call: &Call<'_>) -> Result<(), Refusal> {
        let broker = &self.0;
        let ip = call.peer.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let code = grpc::remoting_code(call.rpc);
        let credentials = call.credentials.as_ref().ok().and_then(Option::as_ref);
        let access_key = credentials.map(|c| c.access_key.as_str());
        // ACL 1.0 first: Apache 5.3.2's interceptor runs before the ACL 2.0 pipeline.
        if let Some(acl) = &broker.acl {
            let verdict = match call.credentials {
                Err(message) => Err(message.clone()),
                Ok(_) => acl
                    .decide(
                        ip,
                        access_key,
                        |account| credentials.is_some_and(|c| c.signed_by(&account.secret_key)),
                        || {
                            call.wants
                                .as_ref()
                                .map(|w| v1_needed(w))
                                .map_err(Clone::clone)
                        },
                        code,
                    )
                    .map_err(|d| d.message),
            };
            if let Err(message) = verdict {
                acl.refusals()
                    .refused(access_key.unwrap_or_default(), code, ip, &message);
                return Err(Refusal::PermissionDenied(message));
            }
        }
        let auth = &broker.auth;
        let (authentication, authorization) = auth.switches();
        if !authentication && !authorization {
            return Ok(());
        }
        let (skip_authentication, skip_authorization) = auth.grpc_listed(call.rpc);
        let verdict = (|| {
            if authentication && !skip_authentication {
                let credentials = call.credentials.as_ref().map_err(Clone::clone)?;
                auth.authenticate_user(credentials.as_ref().map(|c| c.access_key.as_str()), |u| {
                    credentials
                        .as_ref()
                        .is_some_and(|c| c.signed_by(&u.password))
                })?;
            }
            if authorization && !skip_authorization {
                let wants = call.wants.as_ref().map_err(Clone::clone)?;
                let wants: Vec<AuthWant> = wants.iter().map(v2_want).collect();
                auth.authorize_wants(access_key, ip, &wants)?;
            }
            Ok::<(), String>(())
        })();
        verdict.map_err(|message| {
            auth.refusals()
                .refused(access_key.unwrap_or_default(), code, ip, &message);
            Refusal::Unauthorized(message)
        })
    }
}
