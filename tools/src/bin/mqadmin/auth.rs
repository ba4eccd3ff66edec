//! ACL 2.0 users and ACLs (Apache 5.3+): createUser, updateUser, deleteUser, getUser, listUser,
//! createAcl, updateAcl, deleteAcl, getAcl, listAcl, with the flags and output of Apache's
//! `tools/command/auth/*SubCommand`.
//!
//! `-b` targets one broker, `-c` a cluster: a change goes to every broker of the cluster
//! (masters and slaves, each keeps its own users and ACLs), a read asks the masters. An
//! auth-enabled broker takes these from a super user: sign with `--accessKey` / `--secretKey`
//! or, as Apache's tools, `$ROCKETMQ_HOME/conf/tools.yml` (see `credentials`).

use std::fmt::Write as _;

use clap::{ArgGroup, Args};
use ferromq_client::admin::auth::{acl_info, user_info};
use ferromq_client::Admin;
use ferromq_protocol::body::auth::{AclInfo, UserInfo};

use crate::common::{connect, print_out, Failure, Namesrv, Outcome};

/// `-b` or `-c`, one of them required.
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("target").required(true).args(["broker", "cluster"])))]
pub(crate) struct Target {
    /// Broker address.
    #[arg(short = 'b', long = "brokerAddr")]
    broker: Option<String>,
    /// Every broker of this cluster (a read: its masters).
    #[arg(short = 'c', long = "clusterName")]
    cluster: Option<String>,
}

/// `createUser` flags (Apache's `CreateUserSubCommand`).
#[derive(Args, Debug)]
pub(crate) struct CreateUserArgs {
    #[command(flatten)]
    ns: Namesrv,
    #[command(flatten)]
    target: Target,
    /// The user name (the access key it signs with).
    #[arg(short = 'u', long = "username")]
    username: String,
    /// The password (the secret key).
    #[arg(short = 'p', long = "password")]
    password: String,
    /// `Super` or `Normal` (the broker's default: `Normal`).
    #[arg(short = 't', long = "userType")]
    user_type: Option<String>,
}

/// `updateUser` flags (Apache's `UpdateUserSubCommand`): one of `-p`, `-t`, `-s`.
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("change").required(true).args(["password", "user_type", "user_status"])))]
pub(crate) struct UpdateUserArgs {
    #[command(flatten)]
    ns: Namesrv,
    #[command(flatten)]
    target: Target,
    /// The user to change.
    #[arg(short = 'u', long = "username")]
    username: String,
    /// A new password.
    #[arg(short = 'p', long = "password")]
    password: Option<String>,
    /// A new type, `Super` or `Normal`.
    #[arg(short = 't', long = "userType")]
    user_type: Option<String>,
    /// A new status, `enable` or `disable`.
    #[arg(short = 's', long = "userStatus")]
    user_status: Option<String>,
}

/// `deleteUser` flags (Apache's `DeleteUserSubCommand`).
#[derive(Args, Debug)]
pub(crate) struct DeleteUserArgs {
    #[command(flatten)]
    ns: Namesrv,
    #[command(flatten)]
    target: Target,
    /// The user to delete.
    #[arg(short = 'u', long = "username")]
    username: String,
}

/// `getUser` flags (Apache's `GetUserSubCommand`).
#[derive(Args, Debug)]
pub(crate) struct GetUserArgs {
    #[command(flatten)]
    ns: Namesrv,
    #[command(flatten)]
    target: Target,
    /// The user.
    #[arg(short = 'u', long = "username")]
    username: Option<String>,
}

/// `listUser` flags (Apache's `ListUserSubCommand`).
#[derive(Args, Debug)]
pub(crate) struct ListUserArgs {
    #[command(flatten)]
    ns: Namesrv,
    #[command(flatten)]
    target: Target,
    /// Only the users whose name contains this.
    #[arg(short = 'f', long = "filter")]
    filter: Option<String>,
}

/// `createAcl` / `updateAcl` flags (Apache's `CreateAclSubCommand`, `UpdateAclSubCommand`).
#[derive(Args, Debug)]
pub(crate) struct AclArgs {
    #[command(flatten)]
    ns: Namesrv,
    #[command(flatten)]
    target: Target,
    /// The subject, `User:<name>`.
    #[arg(short = 's', long = "subject")]
    subject: String,
    /// Resources, comma-separated: `Topic:orders`, `Group:g*`, `Cluster:c`, `*`, ...
    #[arg(short = 'r', long = "resources")]
    resources: String,
    /// Actions, comma-separated: `Pub`, `Sub`, `Create`, `Update`, `Delete`, `Get`, `List`,
    /// `All`.
    #[arg(short = 'a', long = "actions")]
    actions: String,
    /// Source addresses or CIDR ranges, comma-separated (none: any).
    #[arg(short = 'i', long = "sourceIp")]
    source_ip: Option<String>,
    /// `Allow` or `Deny`.
    #[arg(short = 'd', long = "decision")]
    decision: String,
}

/// `deleteAcl` flags (Apache's `DeleteAclSubCommand`).
#[derive(Args, Debug)]
pub(crate) struct DeleteAclArgs {
    #[command(flatten)]
    ns: Namesrv,
    #[command(flatten)]
    target: Target,
    /// The subject, `User:<name>`.
    #[arg(short = 's', long = "subject")]
    subject: String,
    /// Only the entry on this resource (none: the whole ACL).
    #[arg(short = 'r', long = "resources")]
    resource: Option<String>,
}

/// `getAcl` flags (Apache's `GetAclSubCommand`).
#[derive(Args, Debug)]
pub(crate) struct GetAclArgs {
    #[command(flatten)]
    ns: Namesrv,
    #[command(flatten)]
    target: Target,
    /// The subject, `User:<name>`.
    #[arg(short = 's', long = "subject")]
    subject: Option<String>,
}

/// `listAcl` flags (Apache's `ListAclSubCommand`).
#[derive(Args, Debug)]
pub(crate) struct ListAclArgs {
    #[command(flatten)]
    ns: Namesrv,
    #[command(flatten)]
    target: Target,
    /// Only the subjects containing this.
    #[arg(short = 's', long = "subject")]
    subject: Option<String>,
    /// Only the entries whose resource contains this.
    #[arg(short = 'r', long = "resource")]
    resource: Option<String>,
}

/// Apache trims every value (`StringUtils.trim`).
fn trimmed(value: &Option<String>) -> Option<String> {
    value.as_deref().map(|v| v.trim().to_owned())
}

/// A comma-separated list as Apache splits it: trimmed items, empty ones dropped.
fn list(value: &str) -> Vec<String> {
    value
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.trim().to_owned())
        .collect()
}

/// Runs `body` with an admin client, then releases it.
async fn with_admin<F, Fut>(ns: &Namesrv, body: F) -> Outcome
where
    F: FnOnce(Admin) -> Fut,
    Fut: std::future::Future<Output = (Admin, Outcome)>,
{
    let admin = connect(ns)?;
    let (admin, result) = body(admin).await;
    admin.shutdown().await;
    result
}

/// The brokers a change goes to: `-b`, or every broker of `-c`.
async fn write_targets(admin: &Admin, target: &Target) -> Result<Vec<String>, Failure> {
    match (&target.broker, &target.cluster) {
        (Some(b), _) => Ok(vec![b.trim().to_owned()]),
        (None, Some(c)) => Ok(admin.cluster_broker_addrs(c.trim(), false).await?),
        (None, None) => Ok(Vec::new()),
    }
}

/// The brokers a read asks: `-b`, or the masters of `-c` (none is an error, as Apache's).
async fn read_targets(
    admin: &Admin,
    target: &Target,
    command: &str,
) -> Result<Vec<String>, Failure> {
    match (&target.broker, &target.cluster) {
        (Some(b), _) => Ok(vec![b.trim().to_owned()]),
        (None, Some(c)) => {
            let masters = admin.cluster_broker_addrs(c.trim(), true).await?;
            if masters.is_empty() {
                return Err(Failure::usage(
                    "auth",
                    format!("{command} command failed, there is no broker in cluster."),
                ));
            }
            Ok(masters)
        }
        (None, None) => Ok(Vec::new()),
    }
}

/// Runs one change on each target, printing `<verb> to <addr> success.` after each.
async fn change_each<F, Fut>(admin: &Admin, target: &Target, verb: &str, mut op: F) -> Outcome
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = ferromq_client::Result<()>>,
{
    for addr in write_targets(admin, target).await? {
        op(addr.clone()).await.map_err(Failure::at(&addr))?;
        print_out(&format!("{verb} to {addr} success.\n"));
    }
    Ok(())
}

/// `createUser`.
pub(crate) async fn create_user(args: CreateUserArgs) -> Outcome {
    let user = user_info(
        args.username.trim(),
        Some(args.password.trim()),
        trimmed(&args.user_type).as_deref(),
        None,
    );
    with_admin(&args.ns, |admin| async {
        let r = change_each(&admin, &args.target, "create user", |addr| {
            let (admin, user) = (&admin, &user);
            async move { admin.create_user_at(&addr, user).await }
        })
        .await;
        (admin, r)
    })
    .await
}

/// `updateUser`.
pub(crate) async fn update_user(args: UpdateUserArgs) -> Outcome {
    let user = user_info(
        args.username.trim(),
        trimmed(&args.password).as_deref(),
        trimmed(&args.user_type).as_deref(),
        trimmed(&args.user_status).as_deref(),
    );
    with_admin(&args.ns, |admin| async {
        let r = change_each(&admin, &args.target, "update user", |addr| {
            let (admin, user) = (&admin, &user);
            async move { admin.update_user_at(&addr, user).await }
        })
        .await;
        (admin, r)
    })
    .await
}

/// `deleteUser` (Apache prints `delete user to <addr> success.`).
pub(crate) async fn delete_user(args: DeleteUserArgs) -> Outcome {
    let username = args.username.trim().to_owned();
    with_admin(&args.ns, |admin| async {
        let r = change_each(&admin, &args.target, "delete user", |addr| {
            let (admin, username) = (&admin, &username);
            async move { admin.delete_user_at(&addr, username).await }
        })
        .await;
        (admin, r)
    })
    .await
}

/// Apache's user row layout.
fn user_row(out: &mut String, cells: [&str; 4]) {
    let _ = writeln!(
        out,
        "{:<16}  {:<22}  {:<22}  {:<22}",
        cells[0], cells[1], cells[2], cells[3]
    );
}

/// The `#UserName ...` header and a row per user; an absent field prints `null`, as Java's.
fn users_text(users: &[UserInfo]) -> String {
    let mut out = String::new();
    user_row(
        &mut out,
        ["#UserName", "#Password", "#UserType", "#UserStatus"],
    );
    let or_null = |v: &Option<String>| v.clone().unwrap_or_else(|| "null".to_owned());
    for u in users {
        user_row(
            &mut out,
            [
                &or_null(&u.username),
                &or_null(&u.password),
                &or_null(&u.user_type),
                &or_null(&u.user_status),
            ],
        );
    }
    out
}

/// `getUser`: the user as the broker (or the first master of the cluster that has it) knows
/// it; nothing when none has it.
pub(crate) async fn get_user(args: GetUserArgs) -> Outcome {
    let username = trimmed(&args.username).unwrap_or_default();
    with_admin(&args.ns, |admin| async {
        let r = async {
            for addr in read_targets(&admin, &args.target, "GetUserSubCommand").await? {
                let user = admin
                    .get_user_at(&addr, &username)
                    .await
                    .map_err(Failure::at(&addr))?;
                if let Some(user) = user {
                    print_out(&users_text(&[user]));
                    break;
                }
            }
            Ok(())
        }
        .await;
        (admin, r)
    })
    .await
}

/// `listUser`: the users of the broker, or of the first master of the cluster that lists any
/// (then `get user from <addr> success.`).
pub(crate) async fn list_user(args: ListUserArgs) -> Outcome {
    let filter = trimmed(&args.filter);
    with_admin(&args.ns, |admin| async {
        let r = async {
            let cluster = args.target.broker.is_none();
            for addr in read_targets(&admin, &args.target, "ListUserSubCommand").await? {
                let users = admin
                    .list_users_at(&addr, filter.as_deref())
                    .await
                    .map_err(Failure::at(&addr))?;
                if users.is_empty() {
                    continue;
                }
                let mut out = users_text(&users);
                if cluster {
                    let _ = writeln!(out, "get user from {addr} success.");
                }
                print_out(&out);
                break;
            }
            Ok(())
        }
        .await;
        (admin, r)
    })
    .await
}

/// The ACL of `createAcl` / `updateAcl` flags.
fn acl_of(args: &AclArgs) -> AclInfo {
    let resources = list(&args.resources);
    let actions = list(&args.actions);
    let source_ips = args.source_ip.as_deref().map(list).unwrap_or_default();
    fn refs(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }
    acl_info(
        args.subject.trim(),
        &refs(&resources),
        &refs(&actions),
        &refs(&source_ips),
        args.decision.trim(),
    )
}

/// `createAcl`.
pub(crate) async fn create_acl(args: AclArgs) -> Outcome {
    let acl = acl_of(&args);
    with_admin(&args.ns, |admin| async {
        let r = change_each(&admin, &args.target, "create acl", |addr| {
            let (admin, acl) = (&admin, &acl);
            async move { admin.create_acl_at(&addr, acl).await }
        })
        .await;
        (admin, r)
    })
    .await
}

/// `updateAcl`.
pub(crate) async fn update_acl(args: AclArgs) -> Outcome {
    let acl = acl_of(&args);
    with_admin(&args.ns, |admin| async {
        let r = change_each(&admin, &args.target, "update acl", |addr| {
            let (admin, acl) = (&admin, &acl);
            async move { admin.update_acl_at(&addr, acl).await }
        })
        .await;
        (admin, r)
    })
    .await
}

/// `deleteAcl` (Apache prints `delete acl to <addr> success.`).
pub(crate) async fn delete_acl(args: DeleteAclArgs) -> Outcome {
    let subject = args.subject.trim().to_owned();
    let resource = trimmed(&args.resource);
    with_admin(&args.ns, |admin| async {
        let r = change_each(&admin, &args.target, "delete acl", |addr| {
            let (admin, subject, resource) = (&admin, &subject, &resource);
            async move {
                admin
                    .delete_acl_at(&addr, subject, resource.as_deref())
                    .await
            }
        })
        .await;
        (admin, r)
    })
    .await
}

/// Apache's ACL row layout.
fn acl_row(out: &mut String, cells: [&str; 6]) {
    let _ = writeln!(
        out,
        "{:<16}  {:<10}  {:<22}  {:<20}  {:<24}  {:<10}",
        cells[0], cells[1], cells[2], cells[3], cells[4], cells[5]
    );
}

/// A Java `List.toString()`: `[a, b]`.
fn java_list(items: &[String]) -> String {
    format!("[{}]", items.join(", "))
}

/// The `#Subject ...` header and a row per entry of every policy (a subject without policies
/// gets one row of blanks), as Apache prints them: lists as Java's `[a, b]`, absent values as
/// `null` (Apache's broker leaves out the source addresses of an entry that has none).
fn acls_text(acls: &[AclInfo]) -> String {
    let mut out = String::new();
    acl_row(
        &mut out,
        [
            "#Subject",
            "#PolicyType",
            "#Resource",
            "#Actions",
            "#SourceIp",
            "#Decision",
        ],
    );
    let or_null = |v: &Option<String>| v.clone().unwrap_or_else(|| "null".to_owned());
    for acl in acls {
        let subject = or_null(&acl.subject);
        if acl.policies.is_empty() {
            acl_row(&mut out, [&subject, "", "", "", "", ""]);
        }
        for policy in &acl.policies {
            let policy_type = or_null(&policy.policy_type);
            for entry in &policy.entries {
                let source_ips = if entry.source_ips.is_empty() {
                    "null".to_owned()
                } else {
                    java_list(&entry.source_ips)
                };
                acl_row(
                    &mut out,
                    [
                        &subject,
                        &policy_type,
                        &or_null(&entry.resource),
                        &java_list(&entry.actions),
                        &source_ips,
                        &or_null(&entry.decision),
                    ],
                );
            }
        }
    }
    out
}

/// `getAcl`: the subject's ACL on the broker, or on each master of the cluster that has one.
pub(crate) async fn get_acl(args: GetAclArgs) -> Outcome {
    let subject = trimmed(&args.subject).unwrap_or_default();
    with_admin(&args.ns, |admin| async {
        let r = async {
            for addr in read_targets(&admin, &args.target, "GetAclSubCommand").await? {
                let acl = admin
                    .get_acl_at(&addr, &subject)
                    .await
                    .map_err(Failure::at(&addr))?;
                if let Some(acl) = acl {
                    print_out(&acls_text(&[acl]));
                }
            }
            Ok(())
        }
        .await;
        (admin, r)
    })
    .await
}

/// `listAcl`: the ACLs of the broker, or of each master of the cluster that lists any.
pub(crate) async fn list_acl(args: ListAclArgs) -> Outcome {
    let subject = trimmed(&args.subject);
    let resource = trimmed(&args.resource);
    with_admin(&args.ns, |admin| async {
        let r = async {
            for addr in read_targets(&admin, &args.target, "ListAclSubCommand").await? {
                let acls = admin
                    .list_acls_at(&addr, subject.as_deref(), resource.as_deref())
                    .await
                    .map_err(Failure::at(&addr))?;
                if !acls.is_empty() {
                    print_out(&acls_text(&acls));
                }
            }
            Ok(())
        }
        .await;
        (admin, r)
    })
    .await
}

#[cfg(test)]
mod tests {
    use ferromq_protocol::body::auth::{PolicyEntryInfo, PolicyInfo};

    use super::*;

    #[test]
    fn lists_split_as_apaches_tools() {
        assert_eq!(list(" Topic:a , Group:b,,"), ["Topic:a", "Group:b"]);
    }

    #[test]
    fn users_print_in_apaches_columns() {
        let text = users_text(&[user_info("alice", Some("secret"), Some("Normal"), None)]);
        assert_eq!(
            text,
            "#UserName         #Password               #UserType               #UserStatus           \n\
             alice             secret                  Normal                  null                  \n"
        );
    }

    #[test]
    fn acls_print_one_row_per_entry_with_java_lists() {
        let acl = AclInfo {
            subject: Some("User:alice".into()),
            policies: vec![PolicyInfo {
                policy_type: Some("Custom".into()),
                entries: vec![
                    PolicyEntryInfo {
                        resource: Some("Topic:orders".into()),
                        actions: vec!["Pub".into(), "Sub".into()],
                        source_ips: vec![],
                        decision: Some("Allow".into()),
                    },
                    PolicyEntryInfo {
                        resource: Some("Group:g".into()),
                        actions: vec!["Sub".into()],
                        source_ips: vec!["10.0.0.0/8".into(), "127.0.0.1".into()],
                        decision: Some("Deny".into()),
                    },
                ],
            }],
        };
        let text = acls_text(&[acl]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(
            lines[1],
            "User:alice        Custom      Topic:orders            [Pub, Sub]            null                      Allow     "
        );
        assert!(lines[2].contains("[10.0.0.0/8, 127.0.0.1]"), "{}", lines[2]);
    }
}
