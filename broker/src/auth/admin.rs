//! The ACL 2.0 admin codes (3001-3010) with Apache's `AdminBrokerProcessor` semantics: answer
//! codes and remarks, super-user-only rules, user and ACL validation. Every change is written to
//! the config directory before the answer.

use ferromq_protocol::acl::ACCESS_KEY;
use ferromq_protocol::body::auth::{AclInfo, AclInfoList, UserInfo, UserInfoList};
use ferromq_protocol::header::auth::{
    CreateAclRequestHeader, CreateUserRequestHeader, DeleteAclRequestHeader,
    DeleteUserRequestHeader, GetAclRequestHeader, GetUserRequestHeader, ListAclsRequestHeader,
    ListUsersRequestHeader, UpdateAclRequestHeader, UpdateUserRequestHeader,
};
use ferromq_protocol::{CommandHeader, RemotingCommand, RequestCode, ResponseCode};

use super::metadata::user_from_info;
use super::model::{acl_from_info, parse_subject, Acl, PolicyType, Resource, UserStatus, UserType};
use crate::response::{bad_header, fail, ok, Response};
use crate::state::Broker;

/// Most users a broker keeps (FerroMQ's bound; Apache has none).
const MAX_USERS: usize = 100_000;
/// Most entries one user's ACL holds (FerroMQ's bound; Apache has none).
const MAX_ENTRIES: usize = 10_000;

/// Apache's answer to an `AuthenticationException` / `AuthorizationException`.
fn refused(message: impl Into<String>) -> Response {
    fail(ResponseCode::NO_PERMISSION, message)
}

/// Whether the request is signed by someone other than a super user (Apache's
/// `isNotSuperUserLogin`: unsigned requests count as super, authentication being off).
fn not_super_login(broker: &Broker, req: &RemotingCommand) -> bool {
    match req.ext_fields.get(ACCESS_KEY).filter(|k| !k.is_empty()) {
        None => false,
        Some(name) => !broker
            .auth
            .metadata
            .user(name)
            .is_some_and(|u| u.is_super()),
    }
}

async fn persist(broker: &Broker) -> Option<Response> {
    let auth = broker.auth.clone();
    match tokio::task::spawn_blocking(move || auth.metadata.persist()).await {
        Ok(Ok(())) => None,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "cannot persist the ACL 2.0 files");
            Some(fail(
                ResponseCode::SYSTEM_ERROR,
                format!("cannot persist users / ACLs: {e}"),
            ))
        }
        Err(e) => Some(fail(
            ResponseCode::SYSTEM_ERROR,
            format!("writer failed: {e}"),
        )),
    }
}

fn user_body(req: &RemotingCommand) -> Result<UserInfo, Response> {
    if req.body.is_empty() {
        return Ok(UserInfo::default());
    }
    UserInfo::decode(&req.body).map_err(|e| {
        fail(
            ResponseCode::SYSTEM_ERROR,
            format!("bad UserInfo body: {e}"),
        )
    })
}

/// Answers one of the AUTH_* codes.
pub(crate) async fn handle(broker: &Broker, req: &RemotingCommand) -> Response {
    match req.request_code() {
        RequestCode::AUTH_CREATE_USER => create_user(broker, req).await,
        RequestCode::AUTH_UPDATE_USER => update_user(broker, req).await,
        RequestCode::AUTH_DELETE_USER => delete_user(broker, req).await,
        RequestCode::AUTH_GET_USER => get_user(broker, req),
        RequestCode::AUTH_LIST_USER => list_users(broker, req),
        RequestCode::AUTH_CREATE_ACL | RequestCode::AUTH_UPDATE_ACL => put_acl(broker, req).await,
        RequestCode::AUTH_DELETE_ACL => delete_acl(broker, req).await,
        RequestCode::AUTH_GET_ACL => get_acl(broker, req),
        _ => list_acls(broker, req),
    }
}

async fn create_user(broker: &Broker, req: &RemotingCommand) -> Response {
    let h = match CreateUserRequestHeader::read_ext(&req.ext_fields) {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    if h.username.is_empty() {
        return fail(ResponseCode::INVALID_PARAMETER, "The username is blank");
    }
    let mut info = match user_body(req) {
        Ok(i) => i,
        Err(r) => return r,
    };
    info.username = Some(h.username.clone());
    let wants_super = info.user_type.as_deref().and_then(UserType::parse) == Some(UserType::Super);
    if wants_super && not_super_login(broker, req) {
        return fail(
            ResponseCode::SYSTEM_ERROR,
            "The super user can only be create by super user",
        );
    }
    if h.username.trim().is_empty() {
        return refused("username can not be blank");
    }
    let Some(user) = user_from_info(&info) else {
        return refused("password can not be blank");
    };
    let created = broker.auth.metadata.change(|t| {
        if t.users.contains_key(&user.username) {
            return Err(refused("The user is existed"));
        }
        if t.users.len() >= MAX_USERS {
            return Err(fail(
                ResponseCode::SYSTEM_ERROR,
                format!("this broker keeps at most {MAX_USERS} users"),
            ));
        }
        t.users.insert(user.username.clone(), user);
        Ok(())
    });
    if let Err(r) = created {
        return r;
    }
    persist(broker).await.unwrap_or_else(ok)
}

async fn update_user(broker: &Broker, req: &RemotingCommand) -> Response {
    let h = match UpdateUserRequestHeader::read_ext(&req.ext_fields) {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    if h.username.is_empty() {
        return fail(ResponseCode::INVALID_PARAMETER, "The username is blank");
    }
    let info = match user_body(req) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let user_type = info.user_type.as_deref().and_then(UserType::parse);
    let not_super = not_super_login(broker, req);
    if user_type == Some(UserType::Super) && not_super {
        return fail(
            ResponseCode::SYSTEM_ERROR,
            "The super user can only be update by super user",
        );
    }
    if h.username.trim().is_empty() {
        return refused("username can not be blank");
    }
    let status = info.user_status.as_deref().and_then(UserStatus::parse);
    let password = info.password.filter(|p| !p.trim().is_empty());
    let result = broker.auth.metadata.change(|t| {
        let Some(old) = t.users.get_mut(&h.username) else {
            return Err("The user is not exist");
        };
        if old.is_super() && not_super {
            return Err("The super user can only be update by super user");
        }
        if let Some(p) = password {
            old.password = p;
        }
        if let Some(k) = user_type {
            old.user_type = k;
        }
        if let Some(s) = status {
            old.status = s;
        }
        Ok(())
    });
    if let Err(message) = result {
        return refused(message);
    }
    persist(broker).await.unwrap_or_else(ok)
}

async fn delete_user(broker: &Broker, req: &RemotingCommand) -> Response {
    let h = match DeleteUserRequestHeader::read_ext(&req.ext_fields) {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    if h.username.trim().is_empty() {
        return refused("username can not be blank");
    }
    let not_super = not_super_login(broker, req);
    let result = broker.auth.metadata.change(|t| {
        let Some(old) = t.users.get(&h.username) else {
            return Ok(false);
        };
        if old.is_super() && not_super {
            return Err("The super user can only be update by super user");
        }
        t.users.remove(&h.username);
        t.acls.remove(&h.username);
        Ok(true)
    });
    match result {
        Err(message) => refused(message),
        Ok(false) => ok(),
        Ok(true) => persist(broker).await.unwrap_or_else(ok),
    }
}

fn get_user(broker: &Broker, req: &RemotingCommand) -> Response {
    let h = match GetUserRequestHeader::read_ext(&req.ext_fields) {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    if h.username.trim().is_empty() {
        return fail(ResponseCode::INVALID_PARAMETER, "The username is blank");
    }
    match broker.auth.metadata.user(&h.username) {
        Some(u) => ok().with_body(u.info().encode()),
        None => ok(),
    }
}

fn list_users(broker: &Broker, req: &RemotingCommand) -> Response {
    let h = match ListUsersRequestHeader::read_ext(&req.ext_fields) {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    let filter = h.filter.filter(|f| !f.trim().is_empty());
    let users: Vec<UserInfo> = broker.auth.metadata.read(|t| {
        t.users
            .values()
            .filter(|u| filter.as_deref().is_none_or(|f| u.username.contains(f)))
            .map(|u| u.info())
            .collect()
    });
    if users.is_empty() {
        return ok();
    }
    ok().with_body(UserInfoList(users).encode())
}

/// AUTH_CREATE_ACL and AUTH_UPDATE_ACL (the same in Apache: entries merge into the ACL).
async fn put_acl(broker: &Broker, req: &RemotingCommand) -> Response {
    let subject = if req.request_code() == RequestCode::AUTH_CREATE_ACL {
        CreateAclRequestHeader::read_ext(&req.ext_fields).map(|h| h.subject)
    } else {
        UpdateAclRequestHeader::read_ext(&req.ext_fields).map(|h| h.subject)
    };
    let subject = match subject {
        Ok(s) => s,
        Err(e) => return bad_header(e),
    };
    let info = if req.body.is_empty() {
        AclInfo::default()
    } else {
        match AclInfo::decode(&req.body) {
            Ok(i) => i,
            Err(e) => return fail(ResponseCode::SYSTEM_ERROR, format!("bad AclInfo body: {e}")),
        }
    };
    if info.policies.is_empty() {
        return fail(ResponseCode::SYSTEM_ERROR, "The body of acl is null");
    }
    let acl = match acl_from_info(&info, &subject) {
        Ok(a) => a,
        Err(message) => return refused(message),
    };
    let result = broker.auth.metadata.change(|t| {
        if !t.users.contains_key(&acl.username) {
            return Err(format!("The subject of {} is not exist.", acl.subject()));
        }
        let mut merged = match t.acls.get(&acl.username) {
            Some(old) => old.clone(),
            None => Acl {
                username: acl.username.clone(),
                policies: Vec::new(),
            },
        };
        merged.merge(acl.policies);
        if merged
            .policies
            .iter()
            .map(|p| p.entries.len())
            .sum::<usize>()
            > MAX_ENTRIES
        {
            return Err(format!("an ACL holds at most {MAX_ENTRIES} entries"));
        }
        t.acls.insert(merged.username.clone(), merged);
        Ok(())
    });
    if let Err(message) = result {
        return refused(message);
    }
    persist(broker).await.unwrap_or_else(ok)
}

async fn delete_acl(broker: &Broker, req: &RemotingCommand) -> Response {
    let h = match DeleteAclRequestHeader::read_ext(&req.ext_fields) {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    let Some(name) = parse_subject(&h.subject) else {
        return refused("The subject is null.");
    };
    let kind = PolicyType::parse(h.policy_type.as_deref());
    let resource = h.resource.as_deref().and_then(Resource::parse);
    let result = broker.auth.metadata.change(|t| {
        if !t.users.contains_key(name) {
            return Err("The subject is not exist.");
        }
        let Some(acl) = t.acls.get_mut(name) else {
            return Err("The acl is not exist.");
        };
        match &resource {
            Some(r) => {
                acl.remove(kind, r);
                if acl.policies.is_empty() {
                    t.acls.remove(name);
                }
            }
            None => {
                t.acls.remove(name);
            }
        }
        Ok(())
    });
    if let Err(message) = result {
        return refused(message);
    }
    persist(broker).await.unwrap_or_else(ok)
}

fn get_acl(broker: &Broker, req: &RemotingCommand) -> Response {
    let h = match GetAclRequestHeader::read_ext(&req.ext_fields) {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    let Some(name) = parse_subject(&h.subject) else {
        return refused("The subject is not exist.");
    };
    broker.auth.metadata.read(|t| {
        if !t.users.contains_key(name) {
            return refused("The subject is not exist.");
        }
        match t.acls.get(name) {
            Some(acl) => ok().with_body(acl.info().encode()),
            None => ok(),
        }
    })
}

fn list_acls(broker: &Broker, req: &RemotingCommand) -> Response {
    let h = match ListAclsRequestHeader::read_ext(&req.ext_fields) {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    let subject_filter = h.subject_filter.filter(|f| !f.trim().is_empty());
    let resource_filter = h.resource_filter.filter(|f| !f.trim().is_empty());
    let acls: Vec<AclInfo> = broker.auth.metadata.read(|t| {
        t.acls
            .values()
            .filter(|a| {
                subject_filter
                    .as_deref()
                    .is_none_or(|f| a.subject().contains(f))
            })
            .filter_map(|a| {
                let mut a = a.clone();
                // Apache's quirk: a resource filter found in the subject keeps every entry.
                if let Some(f) = resource_filter.as_deref() {
                    if !a.subject().contains(f) {
                        for p in &mut a.policies {
                            p.entries.retain(|e| e.resource.key().contains(f));
                        }
                        a.policies.retain(|p| !p.entries.is_empty());
                    }
                }
                (!a.policies.is_empty()).then(|| a.info())
            })
            .collect()
    });
    if acls.is_empty() {
        return ok();
    }
    ok().with_body(AclInfoList(acls).encode())
}
