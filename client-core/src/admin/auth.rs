//! ACL 2.0 users and ACLs (Apache 5.3+, request codes 3001-3010): what `mqadmin createUser`,
//! `listAcl`, ... send.
//!
//! Each operation exists for one broker (`*_at`, the broker's address) and for a cluster, as
//! Apache's `mqadmin` does with `-c`: a change goes to every broker of the cluster, masters and
//! slaves, since each broker keeps its own users and ACLs; a read asks the masters. A broker's
//! refusal is an [`ErrorKind::Broker`](crate::ErrorKind::Broker) error with its response code
//! and remark ([`Error::response_code`], [`Error::remark`]).
//!
//! The admin client signs its requests when its [`ClientConfig`](crate::ClientConfig) has
//! credentials; an auth-enabled broker takes user and ACL changes from a super user only.

use ferromq_protocol::body::auth::{AclInfo, PolicyEntryInfo, PolicyInfo, UserInfo};
use ferromq_protocol::body::auth::{AclInfoList, UserInfoList};
use ferromq_protocol::body::MASTER_ID;
use ferromq_protocol::header::auth::{
    CreateAclRequestHeader, CreateUserRequestHeader, DeleteAclRequestHeader,
    DeleteUserRequestHeader, GetAclRequestHeader, GetUserRequestHeader, ListAclsRequestHeader,
    ListUsersRequestHeader, UpdateAclRequestHeader, UpdateUserRequestHeader,
};
use ferromq_protocol::{RemotingCommand, RequestCode};

use crate::error::{Error, Result};

use super::Admin;

/// A user as `mqadmin createUser` / `updateUser` sends it; `None` fields are left out (an
/// update changes only what is set).
pub fn user_info(
    username: &str,
    password: Option<&str>,
    user_type: Option<&str>,
    user_status: Option<&str>,
) -> UserInfo {
    UserInfo {
        username: Some(username.to_owned()),
        password: password.map(str::to_owned),
        user_type: user_type.map(str::to_owned),
        user_status: user_status.map(str::to_owned),
    }
}

/// An ACL as `mqadmin createAcl` / `updateAcl` sends it (Apache's `AclInfo.of`): one policy
/// (type left to the broker, `Custom`) with an entry per resource, each with the same
/// actions, source addresses (empty: any) and decision (`Allow` / `Deny`).
///
/// ```
/// let acl = ferromq_client::admin::auth::acl_info(
///     "User:alice", &["Topic:orders", "Group:billing"], &["Pub", "Sub"], &[], "Allow");
/// assert_eq!(acl.policies[0].entries.len(), 2);
/// ```
pub fn acl_info(
    subject: &str,
    resources: &[&str],
    actions: &[&str],
    source_ips: &[&str],
    decision: &str,
) -> AclInfo {
    let owned = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    AclInfo {
        subject: Some(subject.to_owned()),
        policies: vec![PolicyInfo {
            policy_type: None,
            entries: resources
                .iter()
                .map(|resource| PolicyEntryInfo {
                    resource: Some((*resource).to_owned()),
                    actions: owned(actions),
                    source_ips: owned(source_ips),
                    decision: Some(decision.to_owned()),
                })
                .collect(),
        }],
    }
}

/// `Some(text)` unless blank.
fn given(text: Option<&str>) -> Option<String> {
    text.filter(|t| !t.trim().is_empty()).map(str::to_owned)
}

/// The body of an answer that may have none: `None` for an empty body.
fn optional_body(body: &[u8]) -> Option<&[u8]> {
    (!body.iter().all(u8::is_ascii_whitespace)).then_some(body)
}

impl Admin {
    /// Every broker of `cluster` (masters and slaves), or only its masters, ordered by broker
    /// name and id. An unknown cluster is an [`ErrorKind::InvalidArgument`] error.
    ///
    /// [`ErrorKind::InvalidArgument`]: crate::ErrorKind::InvalidArgument
    pub async fn cluster_broker_addrs(
        &self,
        cluster: &str,
        masters_only: bool,
    ) -> Result<Vec<String>> {
        let info = self.cluster_info().await?;
        let names = info
            .cluster_addr_table
            .get(cluster)
            .ok_or_else(|| Error::invalid("cluster brokers", format!("no cluster {cluster}")))?;
        let mut names: Vec<&String> = names.iter().collect();
        names.sort();
        let mut out = Vec::new();
        for name in names {
            let Some(data) = info.broker_addr_table.get(name) else {
                continue;
            };
            let mut ids: Vec<(&i64, &String)> = data.broker_addrs.iter().collect();
            ids.sort();
            out.extend(
                ids.into_iter()
                    .filter(|(id, _)| !masters_only || **id == MASTER_ID)
                    .map(|(_, addr)| addr.clone()),
            );
        }
        Ok(out)
    }

    /// Runs `op` on every broker of `cluster` (masters and slaves), in order, stopping at the
    /// first failure. The addresses done.
    async fn on_every_broker<'a, F, Fut>(&'a self, cluster: &str, mut op: F) -> Result<Vec<String>>
    where
        F: FnMut(&'a Admin, String) -> Fut,
        Fut: std::future::Future<Output = Result<()>> + 'a,
    {
        let addrs = self.cluster_broker_addrs(cluster, false).await?;
        for addr in &addrs {
            op(self, addr.clone()).await?;
        }
        Ok(addrs)
    }

    /// Creates a user on one broker (AUTH_CREATE_USER 3001). Only a super user may create a
    /// `Super` user.
    pub async fn create_user_at(&self, broker_addr: &str, user: &UserInfo) -> Result<()> {
        let header = CreateUserRequestHeader {
            username: user.username.clone().unwrap_or_default(),
        };
        let request = RemotingCommand::request_with_header(RequestCode::AUTH_CREATE_USER, &header)
            .with_body(user.encode());
        self.broker_call("create user", broker_addr, request)
            .await?;
        Ok(())
    }

    /// Changes a user on one broker (AUTH_UPDATE_USER 3002): the fields set in `user`.
    pub async fn update_user_at(&self, broker_addr: &str, user: &UserInfo) -> Result<()> {
        let header = UpdateUserRequestHeader {
            username: user.username.clone().unwrap_or_default(),
        };
        let request = RemotingCommand::request_with_header(RequestCode::AUTH_UPDATE_USER, &header)
            .with_body(user.encode());
        self.broker_call("update user", broker_addr, request)
            .await?;
        Ok(())
    }

    /// Deletes a user from one broker (AUTH_DELETE_USER 3003).
    pub async fn delete_user_at(&self, broker_addr: &str, username: &str) -> Result<()> {
        let header = DeleteUserRequestHeader {
            username: username.to_owned(),
        };
        let request = RemotingCommand::request_with_header(RequestCode::AUTH_DELETE_USER, &header);
        self.broker_call("delete user", broker_addr, request)
            .await?;
        Ok(())
    }

    /// A user of one broker (AUTH_GET_USER 3004), `None` when it has no such user. The answer
    /// carries the password, as Apache's does.
    pub async fn get_user_at(&self, broker_addr: &str, username: &str) -> Result<Option<UserInfo>> {
        let header = GetUserRequestHeader {
            username: username.to_owned(),
        };
        let request = RemotingCommand::request_with_header(RequestCode::AUTH_GET_USER, &header);
        let response = self.broker_call("get user", broker_addr, request).await?;
        optional_body(&response.body)
            .map(|b| UserInfo::decode(b).map_err(|e| Error::protocol("get user", e)))
            .transpose()
    }

    /// The users of one broker whose name contains `filter` (all when `None` or blank;
    /// AUTH_LIST_USER 3005).
    pub async fn list_users_at(
        &self,
        broker_addr: &str,
        filter: Option<&str>,
    ) -> Result<Vec<UserInfo>> {
        let header = ListUsersRequestHeader {
            filter: given(filter),
        };
        let request = RemotingCommand::request_with_header(RequestCode::AUTH_LIST_USER, &header);
        let response = self.broker_call("list users", broker_addr, request).await?;
        match optional_body(&response.body) {
            Some(body) => Ok(UserInfoList::decode(body)
                .map_err(|e| Error::protocol("list users", e))?
                .0),
            None => Ok(Vec::new()),
        }
    }

    /// Creates an ACL on one broker (AUTH_CREATE_ACL 3006); see [`acl_info`].
    pub async fn create_acl_at(&self, broker_addr: &str, acl: &AclInfo) -> Result<()> {
        let header = CreateAclRequestHeader {
            subject: acl.subject.clone().unwrap_or_default(),
        };
        let request = RemotingCommand::request_with_header(RequestCode::AUTH_CREATE_ACL, &header)
            .with_body(acl.encode());
        self.broker_call("create acl", broker_addr, request).await?;
        Ok(())
    }

    /// Changes an ACL on one broker (AUTH_UPDATE_ACL 3007): its entries replace the subject's
    /// entries on the same resources.
    pub async fn update_acl_at(&self, broker_addr: &str, acl: &AclInfo) -> Result<()> {
        let header = UpdateAclRequestHeader {
            subject: acl.subject.clone().unwrap_or_default(),
        };
        let request = RemotingCommand::request_with_header(RequestCode::AUTH_UPDATE_ACL, &header)
            .with_body(acl.encode());
        self.broker_call("update acl", broker_addr, request).await?;
        Ok(())
    }

    /// Deletes a subject's ACL entry on `resource` from one broker, or its whole ACL when
    /// `resource` is `None` (AUTH_DELETE_ACL 3008).
    pub async fn delete_acl_at(
        &self,
        broker_addr: &str,
        subject: &str,
        resource: Option<&str>,
    ) -> Result<()> {
        let header = DeleteAclRequestHeader {
            subject: subject.to_owned(),
            policy_type: None,
            resource: resource.map(str::to_owned),
        };
        let request = RemotingCommand::request_with_header(RequestCode::AUTH_DELETE_ACL, &header);
        self.broker_call("delete acl", broker_addr, request).await?;
        Ok(())
    }

    /// A subject's ACL on one broker (AUTH_GET_ACL 3009), `None` when it has none.
    pub async fn get_acl_at(&self, broker_addr: &str, subject: &str) -> Result<Option<AclInfo>> {
        let header = GetAclRequestHeader {
            subject: subject.to_owned(),
        };
        let request = RemotingCommand::request_with_header(RequestCode::AUTH_GET_ACL, &header);
        let response = self.broker_call("get acl", broker_addr, request).await?;
        optional_body(&response.body)
            .map(|b| AclInfo::decode(b).map_err(|e| Error::protocol("get acl", e)))
            .transpose()
    }

    /// The ACLs of one broker whose subject contains `subject_filter` and, of those, the
    /// entries whose resource contains `resource_filter` (`None` or blank: no filter;
    /// AUTH_LIST_ACL 3010).
    pub async fn list_acls_at(
        &self,
        broker_addr: &str,
        subject_filter: Option<&str>,
        resource_filter: Option<&str>,
    ) -> Result<Vec<AclInfo>> {
        let header = ListAclsRequestHeader {
            subject_filter: given(subject_filter),
            resource_filter: given(resource_filter),
        };
        let request = RemotingCommand::request_with_header(RequestCode::AUTH_LIST_ACL, &header);
        let response = self.broker_call("list acls", broker_addr, request).await?;
        match optional_body(&response.body) {
            Some(body) => Ok(AclInfoList::decode(body)
                .map_err(|e| Error::protocol("list acls", e))?
                .0),
            None => Ok(Vec::new()),
        }
    }

    /// [`Admin::create_user_at`] on every broker of `cluster`; the addresses done.
    pub async fn create_user(&self, cluster: &str, user: &UserInfo) -> Result<Vec<String>> {
        self.on_every_broker(cluster, |a, addr| async move {
            a.create_user_at(&addr, user).await
        })
        .await
    }

    /// [`Admin::update_user_at`] on every broker of `cluster`; the addresses done.
    pub async fn update_user(&self, cluster: &str, user: &UserInfo) -> Result<Vec<String>> {
        self.on_every_broker(cluster, |a, addr| async move {
            a.update_user_at(&addr, user).await
        })
        .await
    }

    /// [`Admin::delete_user_at`] on every broker of `cluster`; the addresses done.
    pub async fn delete_user(&self, cluster: &str, username: &str) -> Result<Vec<String>> {
        self.on_every_broker(cluster, |a, addr| async move {
            a.delete_user_at(&addr, username).await
        })
        .await
    }

    /// [`Admin::create_acl_at`] on every broker of `cluster`; the addresses done.
    pub async fn create_acl(&self, cluster: &str, acl: &AclInfo) -> Result<Vec<String>> {
        self.on_every_broker(cluster, |a, addr| async move {
            a.create_acl_at(&addr, acl).await
        })
        .await
    }

    /// [`Admin::update_acl_at`] on every broker of `cluster`; the addresses done.
    pub async fn update_acl(&self, cluster: &str, acl: &AclInfo) -> Result<Vec<String>> {
        self.on_every_broker(cluster, |a, addr| async move {
            a.update_acl_at(&addr, acl).await
        })
        .await
    }

    /// [`Admin::delete_acl_at`] on every broker of `cluster`; the addresses done.
    pub async fn delete_acl(
        &self,
        cluster: &str,
        subject: &str,
        resource: Option<&str>,
    ) -> Result<Vec<String>> {
        self.on_every_broker(cluster, |a, addr| async move {
            a.delete_acl_at(&addr, subject, resource).await
        })
        .await
    }

    /// A user as the first master of `cluster` that has it knows it (as `mqadmin getUser -c`).
    pub async fn get_user(&self, cluster: &str, username: &str) -> Result<Option<UserInfo>> {
        for addr in self.cluster_broker_addrs(cluster, true).await? {
            if let Some(user) = self.get_user_at(&addr, username).await? {
                return Ok(Some(user));
            }
        }
        Ok(None)
    }

    /// The users of the first master of `cluster` that lists any (as `mqadmin listUser -c`).
    pub async fn list_users(&self, cluster: &str, filter: Option<&str>) -> Result<Vec<UserInfo>> {
        for addr in self.cluster_broker_addrs(cluster, true).await? {
            let users = self.list_users_at(&addr, filter).await?;
            if !users.is_empty() {
                return Ok(users);
            }
        }
        Ok(Vec::new())
    }

    /// A subject's ACL on each master of `cluster` that has one, by master address (as
    /// `mqadmin getAcl -c`, which prints every master's).
    pub async fn get_acl(&self, cluster: &str, subject: &str) -> Result<Vec<(String, AclInfo)>> {
        let mut out = Vec::new();
        for addr in self.cluster_broker_addrs(cluster, true).await? {
            if let Some(acl) = self.get_acl_at(&addr, subject).await? {
                out.push((addr, acl));
            }
        }
        Ok(out)
    }

    /// [`Admin::list_acls_at`] on each master of `cluster`, by master address (as `mqadmin
    /// listAcl -c`); masters that list none are left out.
    pub async fn list_acls(
        &self,
        cluster: &str,
        subject_filter: Option<&str>,
        resource_filter: Option<&str>,
    ) -> Result<Vec<(String, Vec<AclInfo>)>> {
        let mut out = Vec::new();
        for addr in self.cluster_broker_addrs(cluster, true).await? {
            let acls = self
                .list_acls_at(&addr, subject_filter, resource_filter)
                .await?;
            if !acls.is_empty() {
                out.push((addr, acls));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_acl_is_one_policy_with_an_entry_per_resource_as_apache_sends_it() {
        let acl = acl_info(
            "User:alice",
            &["Topic:orders", "Group:g"],
            &["Pub", "Sub"],
            &[],
            "Allow",
        );
        assert_eq!(
            acl.to_json(),
            r#"{"policies":[{"entries":[{"actions":["Pub","Sub"],"decision":"Allow","resource":"Topic:orders"},{"actions":["Pub","Sub"],"decision":"Allow","resource":"Group:g"}]}],"subject":"User:alice"}"#
        );
    }

    #[test]
    fn a_user_leaves_out_what_is_not_set() {
        let user = user_info("bob", None, None, Some("disable"));
        assert_eq!(
            user.to_json(),
            r#"{"userStatus":"disable","username":"bob"}"#
        );
    }

    #[test]
    fn an_empty_answer_is_no_body() {
        assert_eq!(optional_body(b""), None);
        assert_eq!(optional_body(b" \n"), None);
        assert_eq!(optional_body(b"{}"), Some(&b"{}"[..]));
        assert_eq!(given(Some("  ")), None);
        assert_eq!(given(Some("a")).as_deref(), Some("a"));
    }
}
