//! The ACL 2.0 model (Apache 5.3's `auth` module): users, and per user an ACL of policies whose
//! entries say which actions on which resources, from which addresses, are allowed or denied.
//! Names parse as Apache's enums do (any case); they render in Apache's spelling.

use std::net::IpAddr;

use ferromq_protocol::body::auth::{AclInfo, PolicyEntryInfo, PolicyInfo, UserInfo};
use ferromq_protocol::names::{DLQ_TOPIC_PREFIX, RETRY_TOPIC_PREFIX};

/// `UserType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UserType {
    Super,
    Normal,
}

impl UserType {
    pub(crate) fn parse(s: &str) -> Option<UserType> {
        match s.to_ascii_lowercase().as_str() {
            "super" => Some(UserType::Super),
            "normal" => Some(UserType::Normal),
            _ => None,
        }
    }
    pub(crate) fn name(self) -> &'static str {
        match self {
            UserType::Super => "Super",
            UserType::Normal => "Normal",
        }
    }
}

/// `UserStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UserStatus {
    Enable,
    Disable,
}

impl UserStatus {
    pub(crate) fn parse(s: &str) -> Option<UserStatus> {
        match s.to_ascii_lowercase().as_str() {
            "enable" => Some(UserStatus::Enable),
            "disable" => Some(UserStatus::Disable),
            _ => None,
        }
    }
    pub(crate) fn name(self) -> &'static str {
        match self {
            UserStatus::Enable => "enable",
            UserStatus::Disable => "disable",
        }
    }
}

/// A user: its name is the access key clients sign with, its password the secret key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct User {
    pub(crate) username: String,
    pub(crate) password: String,
    pub(crate) user_type: UserType,
    pub(crate) status: UserStatus,
}

impl User {
    pub(crate) fn is_super(&self) -> bool {
        self.user_type == UserType::Super
    }

    /// The wire / file form (Apache's `UserConverter`).
    pub(crate) fn info(&self) -> UserInfo {
        UserInfo {
            username: Some(self.username.clone()),
            password: Some(self.password.clone()),
            user_type: Some(self.user_type.name().to_owned()),
            user_status: Some(self.status.name().to_owned()),
        }
    }
}

/// `ResourceType` (`Unknown` is not accepted).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum ResourceType {
    Any,
    Cluster,
    Namespace,
    Topic,
    Group,
}

impl ResourceType {
    fn parse(s: &str) -> Option<ResourceType> {
        match s.to_ascii_lowercase().as_str() {
            "any" => Some(ResourceType::Any),
            "cluster" => Some(ResourceType::Cluster),
            "namespace" => Some(ResourceType::Namespace),
            "topic" => Some(ResourceType::Topic),
            "group" => Some(ResourceType::Group),
            _ => None,
        }
    }
    fn name(self) -> &'static str {
        match self {
            ResourceType::Any => "Any",
            ResourceType::Cluster => "Cluster",
            ResourceType::Namespace => "Namespace",
            ResourceType::Topic => "Topic",
            ResourceType::Group => "Group",
        }
    }
}

/// `ResourcePattern`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Pattern {
    Literal,
    Prefixed,
    Any,
}

/// A resource: `Topic:orders` (literal), `Topic:order*` (prefixed), `Topic:*`, or `*`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Resource {
    pub(crate) kind: ResourceType,
    pub(crate) name: String,
    pub(crate) pattern: Pattern,
}

impl Resource {
    pub(crate) fn literal(kind: ResourceType, name: &str) -> Resource {
        Resource {
            kind,
            name: name.to_owned(),
            pattern: Pattern::Literal,
        }
    }

    pub(crate) fn topic(name: &str) -> Resource {
        Resource::literal(ResourceType::Topic, name)
    }

    /// A group; `%RETRY%g` and `%DLQ%g` name the group `g` (Apache's `Resource.ofGroup`).
    pub(crate) fn group(name: &str) -> Resource {
        let name = if name.starts_with(RETRY_TOPIC_PREFIX) {
            name.strip_prefix(RETRY_TOPIC_PREFIX).unwrap_or(name)
        } else {
            name
        };
        let name = name.strip_prefix(DLQ_TOPIC_PREFIX).unwrap_or(name);
        Resource::literal(ResourceType::Group, name)
    }

    pub(crate) fn any_of(kind: ResourceType) -> Resource {
        Resource {
            kind,
            name: String::new(),
            pattern: Pattern::Any,
        }
    }

    /// Apache's `Resource.of(key)`: `None` for a blank key or an unknown type.
    pub(crate) fn parse(key: &str) -> Option<Resource> {
        if key.trim().is_empty() {
            return None;
        }
        if key == "*" {
            return Some(Resource::any_of(ResourceType::Any));
        }
        let (kind, name) = key.split_once(':').unwrap_or((key, ""));
        let kind = ResourceType::parse(kind)?;
        Some(if name == "*" {
            Resource::any_of(kind)
        } else if let Some(i) = name.find('*') {
            Resource {
                kind,
                name: name[..i].to_owned(),
                pattern: Pattern::Prefixed,
            }
        } else {
            Resource::literal(kind, name)
        })
    }

    /// The key form (`Topic:orders`, `Group:g*`, `Topic:*`, `*`).
    pub(crate) fn key(&self) -> String {
        if self.kind == ResourceType::Any {
            return "*".to_owned();
        }
        match self.pattern {
            Pattern::Any => format!("{}:*", self.kind.name()),
            Pattern::Literal => format!("{}:{}", self.kind.name(), self.name),
            Pattern::Prefixed => format!("{}:{}*", self.kind.name(), self.name),
        }
    }

    /// Whether this (an entry's resource) covers `target` (a request's literal resource).
    pub(crate) fn covers(&self, target: &Resource) -> bool {
        if self.kind == ResourceType::Any {
            return true;
        }
        if self.kind != target.kind {
            return false;
        }
        match self.pattern {
            Pattern::Any => true,
            Pattern::Literal => self.name == target.name,
            Pattern::Prefixed => target.name.starts_with(&self.name),
        }
    }
}

/// `Action`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    All,
    Pub,
    Sub,
    Create,
    Update,
    Delete,
    Get,
    List,
}

impl Action {
    /// Any case; `Any` and `Unknown` are not actions an entry may hold.
    pub(crate) fn parse(s: &str) -> Option<Action> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "all" => Action::All,
            "pub" => Action::Pub,
            "sub" => Action::Sub,
            "create" => Action::Create,
            "update" => Action::Update,
            "delete" => Action::Delete,
            "get" => Action::Get,
            "list" => Action::List,
            _ => return None,
        })
    }
    pub(crate) fn name(self) -> &'static str {
        match self {
            Action::All => "All",
            Action::Pub => "Pub",
            Action::Sub => "Sub",
            Action::Create => "Create",
            Action::Update => "Update",
            Action::Delete => "Delete",
            Action::Get => "Get",
            Action::List => "List",
        }
    }
}

/// `Decision`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    Allow,
    Deny,
}

impl Decision {
    pub(crate) fn parse(s: &str) -> Option<Decision> {
        match s.trim().to_ascii_lowercase().as_str() {
            "allow" => Some(Decision::Allow),
            "deny" => Some(Decision::Deny),
            _ => None,
        }
    }
    pub(crate) fn name(self) -> &'static str {
        match self {
            Decision::Allow => "Allow",
            Decision::Deny => "Deny",
        }
    }
}

/// `PolicyType`: operators write `Custom` policies; `Default` ones (from the ACL 1.0 migration)
/// apply only when no custom entry matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PolicyType {
    Custom,
    Default,
}

impl PolicyType {
    /// Absent or unknown: `Custom`, as Apache's `initAcl` makes it.
    pub(crate) fn parse(s: Option<&str>) -> PolicyType {
        match s.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
            Some("default") => PolicyType::Default,
            _ => PolicyType::Custom,
        }
    }
    pub(crate) fn name(self) -> &'static str {
        match self {
            PolicyType::Custom => "Custom",
            PolicyType::Default => "Default",
        }
    }
}

/// One entry of a policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) resource: Resource,
    pub(crate) actions: Vec<Action>,
    /// Addresses (`10.0.0.1`) or CIDR ranges (`10.0.0.0/8`); empty: from anywhere.
    pub(crate) source_ips: Vec<String>,
    pub(crate) decision: Decision,
}

impl Entry {
    /// Apache's `isMatchAction`: one of the request's actions is listed, or `All` is.
    fn grants_any(&self, wanted: &[Action]) -> bool {
        !self.actions.is_empty()
            && wanted
                .iter()
                .any(|a| self.actions.contains(a) || self.actions.contains(&Action::All))
    }

    fn admits_ip(&self, ip: IpAddr) -> bool {
        self.source_ips.is_empty() || self.source_ips.iter().any(|r| ip_in_range(ip, r))
    }

    pub(crate) fn matches(&self, resource: &Resource, actions: &[Action], ip: IpAddr) -> bool {
        self.resource.covers(resource) && self.grants_any(actions) && self.admits_ip(ip)
    }

    /// How specific the entry's resource is; lower sorts first (Apache's comparator as fixed
    /// after 5.3.3: a typed resource before `*`, literal before prefixed before `Type:*`, a
    /// longer prefix before a shorter one).
    fn rank(&self) -> (u8, u8, usize) {
        let r = &self.resource;
        if r.kind == ResourceType::Any {
            return (1, 0, 0);
        }
        match r.pattern {
            Pattern::Literal => (0, 0, 0),
            Pattern::Prefixed => (0, 1, usize::MAX - r.name.len()),
            Pattern::Any => (0, 2, 0),
        }
    }

    fn info(&self) -> PolicyEntryInfo {
        PolicyEntryInfo {
            actions: self.actions.iter().map(|a| a.name().to_owned()).collect(),
            decision: Some(self.decision.name().to_owned()),
            resource: Some(self.resource.key()),
            source_ips: self.source_ips.clone(),
        }
    }
}

/// A policy: a type and its entries, at most one per resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Policy {
    pub(crate) kind: PolicyType,
    pub(crate) entries: Vec<Entry>,
}

/// A user's ACL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Acl {
    /// The user's name (the subject is `User:<name>`).
    pub(crate) username: String,
    pub(crate) policies: Vec<Policy>,
}

impl Acl {
    pub(crate) fn subject(&self) -> String {
        format!("User:{}", self.username)
    }

    pub(crate) fn policy(&self, kind: PolicyType) -> Option<&Policy> {
        self.policies.iter().find(|p| p.kind == kind)
    }

    /// Merges `policies` in (Apache's `Acl.updatePolicy`): an entry on a resource already
    /// present replaces its actions, addresses and decision; others are added.
    pub(crate) fn merge(&mut self, policies: Vec<Policy>) {
        for new in policies {
            match self.policies.iter_mut().find(|p| p.kind == new.kind) {
                None => self.policies.push(new),
                Some(old) => {
                    for e in new.entries {
                        match old.entries.iter_mut().find(|o| o.resource == e.resource) {
                            Some(o) => *o = e,
                            None => old.entries.push(e),
                        }
                    }
                }
            }
        }
    }

    /// Removes the entry on `resource` from the `kind` policy, and the policy when empty.
    pub(crate) fn remove(&mut self, kind: PolicyType, resource: &Resource) {
        if let Some(p) = self.policies.iter_mut().find(|p| p.kind == kind) {
            p.entries.retain(|e| e.resource != *resource);
        }
        self.policies
            .retain(|p| p.kind != kind || !p.entries.is_empty());
    }

    /// The entry deciding `actions` on `resource` from `ip` (Apache's `AclAuthorizationHandler`):
    /// the matching custom entries, else the matching default ones, the most specific first,
    /// Deny before Allow among equally specific ones. `None`: nothing matches.
    pub(crate) fn decide(
        &self,
        resource: &Resource,
        actions: &[Action],
        ip: IpAddr,
    ) -> Option<&Entry> {
        [PolicyType::Custom, PolicyType::Default]
            .iter()
            .find_map(|kind| {
                let p = self.policy(*kind)?;
                p.entries
                    .iter()
                    .filter(|e| e.matches(resource, actions, ip))
                    .min_by_key(|e| (e.rank(), e.decision != Decision::Deny))
            })
    }

    /// The wire / file form (Apache's `AclConverter`).
    pub(crate) fn info(&self) -> AclInfo {
        AclInfo {
            subject: Some(self.subject()),
            policies: self
                .policies
                .iter()
                .map(|p| PolicyInfo {
                    policy_type: Some(p.kind.name().to_owned()),
                    entries: p.entries.iter().map(Entry::info).collect(),
                })
                .collect(),
        }
    }
}

/// Why an ACL body is refused: Apache's `AuthorizationException` messages.
pub(crate) fn acl_from_info(info: &AclInfo, subject: &str) -> Result<Acl, String> {
    let subject = info.subject.as_deref().unwrap_or(subject);
    let username = parse_subject(subject)
        .ok_or_else(|| format!("The subject {subject} is not User:<name>."))?;
    if info.policies.is_empty() {
        return Err("The policies is empty.".to_owned());
    }
    let mut policies: Vec<Policy> = Vec::new();
    for p in &info.policies {
        if p.entries.is_empty() {
            // Apache's converter drops a policy without entries.
            continue;
        }
        let mut entries = Vec::new();
        for e in &p.entries {
            let resource = e
                .resource
                .as_deref()
                .and_then(Resource::parse)
                .ok_or("The resource is null.")?;
            let actions: Vec<Action> = e.actions.iter().filter_map(|a| Action::parse(a)).collect();
            if actions.is_empty() {
                if e.actions
                    .iter()
                    .any(|a| a.trim().eq_ignore_ascii_case("any"))
                {
                    return Err("The actions can not be Any.".to_owned());
                }
                return Err("The actions is empty.".to_owned());
            }
            for ip in &e.source_ips {
                if ip.trim().is_empty() {
                    return Err("The source ip is empty.".to_owned());
                }
                if !valid_ip_or_cidr(ip) {
                    return Err("The source ip is invalid.".to_owned());
                }
            }
            let decision = e
                .decision
                .as_deref()
                .and_then(Decision::parse)
                .ok_or("The decision is null or illegal.")?;
            entries.push(Entry {
                resource,
                actions,
                source_ips: e.source_ips.clone(),
                decision,
            });
        }
        let kind = PolicyType::parse(p.policy_type.as_deref());
        // Two policies of one type in one body merge, as Apache's update does.
        let mut acl = Acl {
            username: String::new(),
            policies: std::mem::take(&mut policies),
        };
        acl.merge(vec![Policy { kind, entries }]);
        policies = acl.policies;
    }
    if policies.is_empty() {
        return Err("The policies is empty.".to_owned());
    }
    Ok(Acl {
        username: username.to_owned(),
        policies,
    })
}

/// `User:<name>` → `<name>` (the only subject type Apache has).
pub(crate) fn parse_subject(subject: &str) -> Option<&str> {
    let (kind, name) = subject.split_once(':')?;
    kind.eq_ignore_ascii_case("user").then_some(name)
}

/// Apache's `IPAddressUtils.isValidIPOrCidr`.
pub(crate) fn valid_ip_or_cidr(s: &str) -> bool {
    match s.split_once('/') {
        None => s.parse::<IpAddr>().is_ok(),
        Some((ip, len)) => match (ip.parse::<IpAddr>(), len.parse::<u8>()) {
            (Ok(IpAddr::V4(_)), Ok(n)) => n <= 32,
            (Ok(IpAddr::V6(_)), Ok(n)) => n <= 128,
            _ => false,
        },
    }
}

/// Apache's `IPAddressUtils.isIPInRange`: an address equals the client's, or a CIDR range holds
/// it. An IPv4-mapped IPv6 client matches its IPv4 form.
pub(crate) fn ip_in_range(ip: IpAddr, range: &str) -> bool {
    let ip = crate::acl::canonical(ip);
    let Some((base, len)) = range.split_once('/') else {
        return range
            .parse::<IpAddr>()
            .is_ok_and(|r| crate::acl::canonical(r) == ip);
    };
    let (Ok(base), Ok(len)) = (base.parse::<IpAddr>(), len.parse::<u32>()) else {
        return false;
    };
    match (crate::acl::canonical(base), ip) {
        (IpAddr::V4(b), IpAddr::V4(i)) if len <= 32 => {
            let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
            u32::from(b) & mask == u32::from(i) & mask
        }
        (IpAddr::V6(b), IpAddr::V6(i)) if len <= 128 => {
            let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
            u128::from(b) & mask == u128::from(i) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(resource: &str, actions: &[Action], ips: &[&str], decision: Decision) -> Entry {
        Entry {
            resource: Resource::parse(resource).expect("resource"),
            actions: actions.to_vec(),
            source_ips: ips.iter().map(|s| (*s).to_owned()).collect(),
            decision,
        }
    }

    #[test]
    fn resources_parse_and_render() {
        for key in ["*", "Topic:*", "Topic:orders", "Group:g*", "Cluster:c"] {
            assert_eq!(Resource::parse(key).expect("parses").key(), key);
        }
        assert_eq!(
            Resource::parse("topic:a").expect("any case").key(),
            "Topic:a"
        );
        assert!(Resource::parse("Queue:a").is_none());
        assert!(Resource::parse(" ").is_none());
        assert_eq!(Resource::group("%RETRY%g"), Resource::group("g"));
        assert_eq!(Resource::group("%DLQ%g").name, "g");
    }

    #[test]
    fn the_most_specific_entry_decides_and_deny_wins_ties() {
        let ip: IpAddr = "192.168.0.1".parse().expect("ip");
        let (pubs, allow, deny) = (&[Action::Pub][..], Decision::Allow, Decision::Deny);
        // Apache's evaluate9 (after its comparator fix).
        let acl = Acl {
            username: "test".into(),
            policies: vec![Policy {
                kind: PolicyType::Custom,
                entries: vec![
                    entry("*", pubs, &["192.168.0.0/24"], allow),
                    entry("Topic:*", pubs, &["192.168.0.0/24"], allow),
                    entry("Topic:test*", pubs, &["192.168.0.0/24"], allow),
                    entry("Topic:test_*", pubs, &["192.168.0.0/24"], deny),
                    entry("Topic:test_001", pubs, &["192.168.0.0/24"], deny),
                ],
            }],
        };
        let decide = |t: &str| {
            acl.decide(&Resource::topic(t), pubs, ip)
                .map(|e| e.decision)
        };
        assert_eq!(decide("test_001"), Some(deny));
        assert_eq!(decide("test_002"), Some(deny));
        assert_eq!(decide("testx"), Some(allow));
        assert_eq!(decide("other"), Some(allow));
        let far: IpAddr = "10.0.0.1".parse().expect("ip");
        assert_eq!(acl.decide(&Resource::topic("testx"), pubs, far), None);
        assert_eq!(
            acl.decide(&Resource::topic("testx"), &[Action::Sub], ip),
            None
        );
        // Default entries count only when no custom one matches.
        let mut two = acl.clone();
        two.policies.push(Policy {
            kind: PolicyType::Default,
            entries: vec![entry("Group:*", &[Action::Sub], &[], allow)],
        });
        assert_eq!(
            two.decide(&Resource::group("g"), &[Action::Sub], far)
                .map(|e| e.decision),
            Some(allow)
        );
        let tie = Policy {
            kind: PolicyType::Custom,
            entries: vec![
                entry("Topic:a*", &[Action::All], &[], allow),
                entry("Topic:a*", &[Action::All], &[], deny),
            ],
        };
        let tie = Acl {
            username: "t".into(),
            policies: vec![tie],
        };
        assert_eq!(
            tie.decide(&Resource::topic("ab"), pubs, ip)
                .map(|e| e.decision),
            Some(deny)
        );
    }

    #[test]
    fn source_ips_as_apache_reads_them() {
        let ip: IpAddr = "10.1.2.3".parse().expect("ip");
        assert!(ip_in_range(ip, "10.1.2.3"));
        assert!(ip_in_range(ip, "10.0.0.0/8"));
        assert!(ip_in_range(ip, "0.0.0.0/0"));
        assert!(!ip_in_range(ip, "10.1.3.0/24"));
        assert!(ip_in_range(
            "::ffff:10.1.2.3".parse().expect("ip"),
            "10.1.2.0/24"
        ));
        assert!(ip_in_range("fd00::1".parse().expect("ip"), "fd00::/16"));
        assert!(!ip_in_range(ip, "10.1.2.*"));
        assert!(valid_ip_or_cidr("10.0.0.0/8") && valid_ip_or_cidr("::1"));
        assert!(!valid_ip_or_cidr("10.0.0.0/33") && !valid_ip_or_cidr("10.*"));
    }

    #[test]
    fn acl_bodies_are_checked_as_apache_checks_them() {
        let info = |entry: PolicyEntryInfo| AclInfo {
            subject: None,
            policies: vec![PolicyInfo {
                entries: vec![entry],
                policy_type: None,
            }],
        };
        let good = PolicyEntryInfo {
            actions: vec!["pub".into(), "bogus".into()],
            decision: Some("allow".into()),
            resource: Some("Topic:t".into()),
            source_ips: vec![],
        };
        let acl = acl_from_info(&info(good.clone()), "User:u").expect("valid");
        assert_eq!(acl.policies[0].entries[0].actions, [Action::Pub]);
        assert_eq!(acl.policies[0].kind, PolicyType::Custom);
        let bad = |f: &dyn Fn(&mut PolicyEntryInfo)| {
            let mut e = good.clone();
            f(&mut e);
            acl_from_info(&info(e), "User:u").expect_err("refused")
        };
        assert_eq!(
            bad(&|e| e.resource = Some("Nope:x".into())),
            "The resource is null."
        );
        assert_eq!(
            bad(&|e| e.actions = vec!["Any".into()]),
            "The actions can not be Any."
        );
        assert_eq!(bad(&|e| e.actions.clear()), "The actions is empty.");
        assert_eq!(
            bad(&|e| e.decision = None),
            "The decision is null or illegal."
        );
        assert_eq!(
            bad(&|e| e.source_ips = vec!["1.2.3".into()]),
            "The source ip is invalid."
        );
        assert!(acl_from_info(&info(good), "Group:g").is_err());
    }
}
