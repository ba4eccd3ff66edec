//! ACL 2.0 bodies (Apache 5.3+): users (`UserInfo`) and ACLs (`AclInfo`), the JSON of the
//! `AUTH_*` requests and answers (request codes 3001-3010, headers in [`crate::header::auth`]).
//!
//! Lists travel as JSON arrays ([`UserInfoList`], [`AclInfoList`]). Every field may be absent:
//! an update carries only what changes.

use serde::{Deserialize, Serialize};

use crate::json;

/// A user (`UserInfo`): `{"password":"..","userStatus":"enable","userType":"Normal","username":"alice"}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct UserInfo {
    /// The secret key (Apache returns it in GET_USER / LIST_USER answers).
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "json::lenient::opt_string"
    )]
    pub password: Option<String>,
    /// `enable` or `disable` (Apache's `UserStatus` names, any case).
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "json::lenient::opt_string"
    )]
    pub user_status: Option<String>,
    /// `Super` or `Normal` (Apache's `UserType` names, any case).
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "json::lenient::opt_string"
    )]
    pub user_type: Option<String>,
    /// The user name (the access key clients sign with).
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "json::lenient::opt_string"
    )]
    pub username: Option<String>,
}

json_body!(UserInfo);

/// A JSON array of users (the AUTH_LIST_USER answer).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserInfoList(#[serde(deserialize_with = "super::de::object_vec")] pub Vec<UserInfo>);

json_body!(UserInfoList);

/// A subject's ACL (`AclInfo`): its policies.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AclInfo {
    /// The policies (at most one `Custom` and one `Default`).
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "super::de::object_vec"
    )]
    pub policies: Vec<PolicyInfo>,
    /// `User:<name>`.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "json::lenient::opt_string"
    )]
    pub subject: Option<String>,
}

json_body!(AclInfo);

/// A JSON array of ACLs (the AUTH_LIST_ACL answer).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AclInfoList(#[serde(deserialize_with = "super::de::object_vec")] pub Vec<AclInfo>);

json_body!(AclInfoList);

/// One policy of an ACL (`AclInfo.PolicyInfo`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PolicyInfo {
    /// The entries.
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "super::de::object_vec"
    )]
    pub entries: Vec<PolicyEntryInfo>,
    /// `Custom` (written by operators; absent means this) or `Default`.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "json::lenient::opt_string"
    )]
    pub policy_type: Option<String>,
}

/// One entry of a policy (`AclInfo.PolicyEntryInfo`): a resource, the actions on it, where from,
/// and whether they are allowed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PolicyEntryInfo {
    /// `Pub`, `Sub`, `Create`, `Update`, `Delete`, `Get`, `List`, `All` (any case).
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "super::de::string_vec"
    )]
    pub actions: Vec<String>,
    /// `Allow` or `Deny` (any case).
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "json::lenient::opt_string"
    )]
    pub decision: Option<String>,
    /// `Topic:orders`, `Group:g*`, `Cluster:c`, `*`, ...
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "json::lenient::opt_string"
    )]
    pub resource: Option<String>,
    /// Source addresses or CIDR ranges; empty: any.
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "super::de::string_vec"
    )]
    pub source_ips: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_info_round_trips_in_fastjson_order() {
        let user = UserInfo {
            username: Some("alice".into()),
            password: Some("secret-1".into()),
            user_type: Some("Normal".into()),
            user_status: None,
        };
        let text = user.to_json();
        assert_eq!(
            text,
            r#"{"password":"secret-1","userType":"Normal","username":"alice"}"#
        );
        assert_eq!(UserInfo::decode(text.as_bytes()).expect("decodes"), user);
    }

    #[test]
    fn lists_are_bare_arrays() {
        let list =
            UserInfoList::decode(br#"[{"username":"a"},{"username":"b","userType":"Super"}]"#)
                .expect("decodes");
        assert_eq!(list.0.len(), 2);
        assert_eq!(list.0[1].user_type.as_deref(), Some("Super"));
        assert_eq!(
            list.to_json(),
            r#"[{"username":"a"},{"userType":"Super","username":"b"}]"#
        );
    }

    #[test]
    fn acl_info_as_apache_mqadmin_sends_it() {
        let raw = br#"{"policies":[{"entries":[{"actions":["Pub","Sub"],"decision":"Allow","resource":"Topic:orders","sourceIps":["10.0.0.0/8"]}],"policyType":"Custom"}],"subject":"User:alice"}"#;
        let acl = AclInfo::decode(raw).expect("decodes");
        assert_eq!(acl.subject.as_deref(), Some("User:alice"));
        let entry = &acl.policies[0].entries[0];
        assert_eq!(entry.actions, ["Pub", "Sub"]);
        assert_eq!(entry.source_ips, ["10.0.0.0/8"]);
        assert_eq!(acl.to_json().as_bytes(), raw);
        let list = AclInfoList::decode(&[b"[", &raw[..], b"]"].concat()).expect("decodes");
        assert_eq!(list.0, [acl]);
    }
}
