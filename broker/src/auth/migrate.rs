//! `migrateAuthFromV1Enabled`: ACL 1.0 accounts become users and ACLs at start, as Apache's
//! `AuthMigrator` maps them. An account whose user exists is left alone. An admin account
//! becomes a super user; `topicPerms` / `groupPerms` items become a `Custom` policy on the
//! literal topic / group; `defaultTopicPerm` / `defaultGroupPerm` a `Default` policy on
//! `Topic:*` / `Group:*`. `PUB` → Pub, `SUB` → Sub, `PUB|SUB` → Pub and Sub, each Allow;
//! `DENY` → All, Deny. White addresses are not migrated (Apache does not either).

use ferromq_protocol::names::RETRY_TOPIC_PREFIX;

use super::metadata::Metadata;
use super::model::{
    Acl, Action, Decision, Entry, Policy, PolicyType, Resource, ResourceType, User, UserStatus,
    UserType,
};
use crate::acl::file::Account;
use crate::acl::perm::Perm;
use crate::config::BrokerConfig;

/// Migrates the accounts of the ACL 1.0 file of `b`; returns whether anything changed. A file
/// that cannot be found or read is logged and skipped (Apache logs and goes on too).
pub(crate) fn from_v1(b: &BrokerConfig, metadata: &Metadata) -> bool {
    let read = crate::acl::load::file_path(b).and_then(|p| crate::acl::load::read(&p));
    let file = match read {
        Ok((file, _)) => file,
        Err(e) => {
            tracing::warn!(error = %e, "ACL 2.0: nothing migrated from ACL 1.0");
            return false;
        }
    };
    let mut accounts: Vec<&Account> = file.accounts.values().collect();
    accounts.sort_by(|a, b| a.access_key.cmp(&b.access_key));
    metadata.change(|t| {
        let mut changed = false;
        for account in accounts {
            if t.users.contains_key(&account.access_key) {
                continue;
            }
            let (user, acl) = convert(account);
            tracing::info!(user = %user.username, "ACL 2.0: migrated from ACL 1.0");
            t.users.insert(user.username.clone(), user);
            if let Some(acl) = acl {
                t.acls.insert(acl.username.clone(), acl);
            }
            changed = true;
        }
        changed
    })
}

/// Apache's `parseActions` / `parseDecision` for one ACL 1.0 permission.
fn entry(resource: Resource, perm: Perm) -> Entry {
    let publ = Perm::PUB.granted_by(perm);
    let sub = Perm::SUB.granted_by(perm);
    let (actions, decision) = match (publ, sub) {
        (true, true) => (vec![Action::Pub, Action::Sub], Decision::Allow),
        (true, false) => (vec![Action::Pub], Decision::Allow),
        (false, true) => (vec![Action::Sub], Decision::Allow),
        (false, false) => (vec![Action::All], Decision::Deny),
    };
    Entry {
        resource,
        actions,
        source_ips: Vec::new(),
        decision,
    }
}

fn convert(a: &Account) -> (User, Option<Acl>) {
    let user = User {
        username: a.access_key.clone(),
        password: a.secret_key.clone(),
        user_type: if a.admin {
            UserType::Super
        } else {
            UserType::Normal
        },
        status: UserStatus::Enable,
    };
    let mut names: Vec<(&String, &Perm)> = a.resources.iter().collect();
    names.sort_by(|a, b| a.0.cmp(b.0));
    let custom: Vec<Entry> = names
        .into_iter()
        .map(|(name, perm)| {
            let resource = match name.strip_prefix(RETRY_TOPIC_PREFIX) {
                Some(group) => Resource::group(group),
                None => Resource::topic(name),
            };
            entry(resource, *perm)
        })
        .collect();
    let mut policies = Vec::new();
    if !custom.is_empty() {
        policies.push(Policy {
            kind: PolicyType::Custom,
            entries: custom,
        });
    }
    // The ACL 1.0 file reader gives an absent default as DENY, as Apache's validator reads it.
    policies.push(Policy {
        kind: PolicyType::Default,
        entries: vec![
            entry(Resource::any_of(ResourceType::Topic), a.default_topic_perm),
            entry(Resource::any_of(ResourceType::Group), a.default_group_perm),
        ],
    });
    let acl = Acl {
        username: a.access_key.clone(),
        policies,
    };
    (user, Some(acl))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl::file::AclFile;

    #[test]
    fn accounts_map_as_apaches_migrator_maps_them() {
        let file = AclFile::parse(
            "accounts:\n  - {accessKey: app-orders, secretKey: secret-123, defaultTopicPerm: SUB, \
             defaultGroupPerm: DENY, topicPerms: [orders=PUB|SUB, pay=DENY], groupPerms: [g1=SUB]}\n  \
             - {accessKey: ops-admin, secretKey: secret-456, admin: true}\n",
        )
        .expect("parses");
        let (user, acl) = convert(&file.accounts["app-orders"]);
        assert_eq!(user.user_type, UserType::Normal);
        let acl = acl.expect("acl");
        let info = acl.info();
        let text =
            String::from_utf8(ferromq_protocol::body::auth::AclInfoList(vec![info]).encode())
                .expect("utf8");
        assert!(
            text.contains(
                r#"{"actions":["Pub","Sub"],"decision":"Allow","resource":"Topic:orders"}"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"{"actions":["All"],"decision":"Deny","resource":"Topic:pay"}"#),
            "{text}"
        );
        assert!(
            text.contains(r#"{"actions":["Sub"],"decision":"Allow","resource":"Group:g1"}"#),
            "{text}"
        );
        assert!(text.contains(r#""policyType":"Default""#), "{text}");
        let ip = "10.0.0.1".parse().expect("ip");
        let decide = |r: Resource, a: Action| acl.decide(&r, &[a], ip).map(|e| e.decision);
        assert_eq!(
            decide(Resource::topic("orders"), Action::Pub),
            Some(Decision::Allow)
        );
        assert_eq!(
            decide(Resource::topic("other"), Action::Sub),
            Some(Decision::Allow)
        );
        assert_eq!(decide(Resource::topic("other"), Action::Pub), None);
        assert_eq!(
            decide(Resource::group("g2"), Action::Sub),
            Some(Decision::Deny)
        );
        let (admin, _) = convert(&file.accounts["ops-admin"]);
        assert!(admin.is_super());
    }
}
