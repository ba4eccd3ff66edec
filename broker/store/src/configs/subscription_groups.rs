//! `config/subscriptionGroup.json`: consumer group settings (Apache `SubscriptionGroupManager`
//! and `SubscriptionGroupConfig`).
//!
//! ```text
//! {"dataVersion":{..},"forbiddenTable":{"<group>":{"<topic>":5}},
//!  "subscriptionGroupTable":{"<group>":{"attributes":{},"brokerId":0,
//!   "consumeBroadcastEnable":true,"consumeEnable":true,"consumeFromMinEnable":true,
//!   "consumeMessageOrderly":false,"consumeTimeoutMinute":15,"groupName":"<group>",
//!   "groupRetryPolicy":{"type":"CUSTOMIZED"},"groupSysFlag":0,
//!   "notifyConsumerIdsChangedEnable":true,"retryMaxTimes":16,"retryQueueNums":1,
//!   "whichBrokerWhenConsumeSlowly":1}}}
//! ```
//!
//! `subscriptionDataSet` and the two retry policy objects are omitted while unset, as fastjson
//! omits `null` fields.

use std::collections::BTreeMap;

use std::sync::RwLock;

use ferromq_protocol::body::DataVersion;
use ferromq_protocol::json;
use serde::{Deserialize, Serialize};

use super::file::{self, de};
use super::table::{ConfigTable, TableContents};
use crate::error::Result;

/// `MixAll.TOOLS_CONSUMER_GROUP`.
pub const TOOLS_CONSUMER_GROUP: &str = "TOOLS_CONSUMER";
/// `MixAll.FILTERSRV_CONSUMER_GROUP`.
pub const FILTERSRV_CONSUMER_GROUP: &str = "FILTERSRV_CONSUMER";
/// `MixAll.SELF_TEST_CONSUMER_GROUP`.
pub const SELF_TEST_CONSUMER_GROUP: &str = "SELF_TEST_C_GROUP";
/// `MixAll.ONS_HTTP_PROXY_GROUP`.
pub const ONS_HTTP_PROXY_GROUP: &str = "CID_ONS-HTTP-PROXY";
/// `MixAll.CID_ONSAPI_PULL_GROUP`.
pub const CID_ONSAPI_PULL_GROUP: &str = "CID_ONSAPI_PULL";
/// `MixAll.CID_ONSAPI_PERMISSION_GROUP`.
pub const CID_ONSAPI_PERMISSION_GROUP: &str = "CID_ONSAPI_PERMISSION";
/// `MixAll.CID_ONSAPI_OWNER_GROUP`.
pub const CID_ONSAPI_OWNER_GROUP: &str = "CID_ONSAPI_OWNER";
/// The transaction check group (`MixAll.CID_SYS_RMQ_TRANS`, whose value is
/// `CID_RMQ_SYS_TRANS`); its half/op queue progress is in the consumer offsets.
pub const CID_SYS_RMQ_TRANS: &str = "CID_RMQ_SYS_TRANS";
/// Groups with this prefix are system groups, created on demand even when auto-creation is off
/// (`MixAll.CID_RMQ_SYS_PREFIX`).
pub const CID_RMQ_SYS_PREFIX: &str = "CID_RMQ_SYS_";
/// Longest group name that may be auto-created ([`ferromq_protocol::names::GROUP_MAX_LENGTH`]:
/// the group's retry topic must fit a file name).
pub const GROUP_NAME_MAX_LENGTH: usize = ferromq_protocol::names::GROUP_MAX_LENGTH;

/// Which retry backoff a group uses (`GroupRetryPolicyType`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum GroupRetryPolicyType {
    /// Exponential backoff ([`ExponentialRetryPolicy`]).
    Exponential,
    /// The delay-level table ([`CustomizedRetryPolicy`]); the default.
    #[default]
    Customized,
    /// A name this crate does not know, kept verbatim.
    Other(String),
}

impl GroupRetryPolicyType {
    /// The Java constant name.
    pub fn name(&self) -> &str {
        match self {
            GroupRetryPolicyType::Exponential => "EXPONENTIAL",
            GroupRetryPolicyType::Customized => "CUSTOMIZED",
            GroupRetryPolicyType::Other(s) => s,
        }
    }
}

impl Serialize for GroupRetryPolicyType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for GroupRetryPolicyType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde_json::Value;
        Ok(match Value::deserialize(d)? {
            Value::Null => GroupRetryPolicyType::default(),
            // fastjson also accepts the enum ordinal.
            Value::Number(n) if n.as_i64() == Some(0) => GroupRetryPolicyType::Exponential,
            Value::Number(n) if n.as_i64() == Some(1) => GroupRetryPolicyType::Customized,
            Value::String(s) if s == "EXPONENTIAL" => GroupRetryPolicyType::Exponential,
            Value::String(s) if s == "CUSTOMIZED" => GroupRetryPolicyType::Customized,
            Value::String(s) => GroupRetryPolicyType::Other(s),
            other => GroupRetryPolicyType::Other(other.to_string()),
        })
    }
}

/// `ExponentialRetryPolicy`: delay = min(max, initial × multiplier^reconsumeTimes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ExponentialRetryPolicy {
    /// First delay in ms (5 s).
    #[serde(deserialize_with = "json::lenient::i64")]
    pub initial: i64,
    /// Longest delay in ms (2 h).
    #[serde(deserialize_with = "json::lenient::i64")]
    pub max: i64,
    /// Growth factor (2).
    #[serde(deserialize_with = "json::lenient::i64")]
    pub multiplier: i64,
}

impl Default for ExponentialRetryPolicy {
    fn default() -> Self {
        ExponentialRetryPolicy {
            initial: 5_000,
            max: 7_200_000,
            multiplier: 2,
        }
    }
}

/// `CustomizedRetryPolicy`: delays in ms indexed by reconsume times + 2 (the delay levels).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CustomizedRetryPolicy {
    /// Delays in ms; Java's default is the 18 delay levels `1s 5s 10s 30s 1m .. 2h`.
    #[serde(deserialize_with = "de::null_default")]
    pub next: Vec<i64>,
}

impl Default for CustomizedRetryPolicy {
    fn default() -> Self {
        const S: i64 = 1_000;
        const M: i64 = 60 * S;
        CustomizedRetryPolicy {
            next: vec![
                S,
                5 * S,
                10 * S,
                30 * S,
                M,
                2 * M,
                3 * M,
                4 * M,
                5 * M,
                6 * M,
                7 * M,
                8 * M,
                9 * M,
                10 * M,
                20 * M,
                30 * M,
                60 * M,
                120 * M,
            ],
        }
    }
}

/// A group's retry backoff (`GroupRetryPolicy`); by default `{"type":"CUSTOMIZED"}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct GroupRetryPolicy {
    /// Settings of the customized policy; Java's defaults when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customized_retry_policy: Option<CustomizedRetryPolicy>,
    /// Settings of the exponential policy; Java's defaults when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exponential_retry_policy: Option<ExponentialRetryPolicy>,
    /// Which policy applies.
    #[serde(rename = "type")]
    pub policy_type: GroupRetryPolicyType,
}

/// One subscription remembered with a group (`SimpleSubscriptionData`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SimpleSubscriptionData {
    /// The filter expression (`*`, `TagA || TagB`, SQL92).
    #[serde(deserialize_with = "json::lenient::string")]
    pub expression: String,
    /// `TAG` or `SQL92`.
    #[serde(deserialize_with = "json::lenient::string")]
    pub expression_type: String,
    /// The topic.
    #[serde(deserialize_with = "json::lenient::string")]
    pub topic: String,
    /// Subscription version.
    #[serde(deserialize_with = "json::lenient::i64")]
    pub version: i64,
}

/// A consumer group's settings on this broker (`SubscriptionGroupConfig`), with Java's
/// defaults.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SubscriptionGroupConfig {
    /// 5.x attributes.
    #[serde(deserialize_with = "de::string_map")]
    pub attributes: BTreeMap<String, String>,
    /// Broker id consumers read from (0, the master).
    #[serde(deserialize_with = "json::lenient::i64")]
    pub broker_id: i64,
    /// Broadcast consumption allowed (true).
    #[serde(deserialize_with = "json::lenient::bool")]
    pub consume_broadcast_enable: bool,
    /// Consumption allowed at all (true).
    #[serde(deserialize_with = "json::lenient::bool")]
    pub consume_enable: bool,
    /// A new group may start from the minimum offset (true).
    #[serde(deserialize_with = "json::lenient::bool")]
    pub consume_from_min_enable: bool,
    /// Orderly consumption (false).
    #[serde(deserialize_with = "json::lenient::bool")]
    pub consume_message_orderly: bool,
    /// Push consumer consume timeout in minutes (15).
    #[serde(deserialize_with = "json::lenient::i32")]
    pub consume_timeout_minute: i32,
    /// The group name.
    #[serde(deserialize_with = "json::lenient::string")]
    pub group_name: String,
    /// Retry backoff.
    #[serde(deserialize_with = "de::null_default")]
    pub group_retry_policy: GroupRetryPolicy,
    /// `groupSysFlag` bits (0).
    #[serde(deserialize_with = "json::lenient::i32")]
    pub group_sys_flag: i32,
    /// Send NOTIFY_CONSUMER_IDS_CHANGED on membership changes (true).
    #[serde(deserialize_with = "json::lenient::bool")]
    pub notify_consumer_ids_changed_enable: bool,
    /// Retries before a message goes to the DLQ (16).
    #[serde(deserialize_with = "json::lenient::i32")]
    pub retry_max_times: i32,
    /// Queues of the group's `%RETRY%` topic (1).
    #[serde(deserialize_with = "json::lenient::i32")]
    pub retry_queue_nums: i32,
    /// Subscriptions remembered with the group (unset by default, then omitted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_data_set: Option<Vec<SimpleSubscriptionData>>,
    /// Broker id suggested when consumption is slow (1).
    #[serde(deserialize_with = "json::lenient::i64")]
    pub which_broker_when_consume_slowly: i64,
}

impl Default for SubscriptionGroupConfig {
    fn default() -> Self {
        SubscriptionGroupConfig {
            attributes: BTreeMap::new(),
            broker_id: 0,
            consume_broadcast_enable: true,
            consume_enable: true,
            consume_from_min_enable: true,
            consume_message_orderly: false,
            consume_timeout_minute: 15,
            group_name: String::new(),
            group_retry_policy: GroupRetryPolicy::default(),
            group_sys_flag: 0,
            notify_consumer_ids_changed_enable: true,
            retry_max_times: 16,
            retry_queue_nums: 1,
            subscription_data_set: None,
            which_broker_when_consume_slowly: 1,
        }
    }
}

impl SubscriptionGroupConfig {
    /// A group with Java's defaults.
    pub fn new(group_name: impl Into<String>) -> Self {
        SubscriptionGroupConfig {
            group_name: group_name.into(),
            ..SubscriptionGroupConfig::default()
        }
    }
}

/// Whether `group` is a system group (`MixAll.isSysConsumerGroup`).
pub fn is_sys_consumer_group(group: &str) -> bool {
    group.starts_with(CID_RMQ_SYS_PREFIX)
}

/// Whether `group` may be auto-created: the project's one name rule,
/// [`ferromq_protocol::names::check_group`] (Apache's characters, at most
/// [`GROUP_NAME_MAX_LENGTH`] bytes).
pub fn is_valid_group_name(group: &str) -> bool {
    ferromq_protocol::names::check_group(group).is_ok()
}

/// The groups an Apache 5.3.3 broker creates at startup (`SubscriptionGroupManager.init`).
pub fn system_groups() -> Vec<SubscriptionGroupConfig> {
    [
        TOOLS_CONSUMER_GROUP,
        FILTERSRV_CONSUMER_GROUP,
        SELF_TEST_CONSUMER_GROUP,
        ONS_HTTP_PROXY_GROUP,
        CID_ONSAPI_PULL_GROUP,
        CID_ONSAPI_PERMISSION_GROUP,
        CID_ONSAPI_OWNER_GROUP,
        CID_SYS_RMQ_TRANS,
    ]
    .into_iter()
    .map(SubscriptionGroupConfig::new)
    .collect()
}

/// group -> topic -> forbidden bits.
type ForbiddenTable = BTreeMap<String, BTreeMap<String, i32>>;

/// The file's shape.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct FileBody {
    #[serde(deserialize_with = "de::null_default")]
    data_version: DataVersion,
    #[serde(deserialize_with = "de::null_default")]
    forbidden_table: ForbiddenTable,
    #[serde(deserialize_with = "de::null_default")]
    subscription_group_table: BTreeMap<String, SubscriptionGroupConfig>,
}

/// The file's shape, borrowed from the table so encoding copies nothing.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FileView<'a> {
    data_version: &'a DataVersion,
    forbidden_table: &'a ForbiddenTable,
    subscription_group_table: &'a BTreeMap<String, SubscriptionGroupConfig>,
}

#[derive(Debug)]
struct Inner {
    data_version: DataVersion,
    forbidden: ForbiddenTable,
    groups: BTreeMap<String, SubscriptionGroupConfig>,
}

/// What `subscriptionGroup.json` holds: the group settings, the forbidden table and the data
/// version, under one lock.
#[derive(Debug)]
pub struct SubscriptionGroups(RwLock<Inner>);

impl SubscriptionGroups {
    fn with(body: FileBody) -> Self {
        SubscriptionGroups(RwLock::new(Inner {
            data_version: body.data_version,
            forbidden: body.forbidden_table,
            groups: body.subscription_group_table,
        }))
    }
}

impl TableContents for SubscriptionGroups {
    const FILE_NAME: &'static str = "subscriptionGroup.json";

    fn empty() -> Self {
        Self::with(FileBody {
            data_version: DataVersion::now(),
            ..FileBody::default()
        })
    }

    /// Unknown fields are ignored.
    fn decode(bytes: &[u8]) -> Result<Self> {
        Ok(Self::with(decode_body(bytes)?))
    }

    /// Compact, keys sorted as fastjson writes them.
    fn encode(&self) -> String {
        let inner = file::read(&self.0);
        json::to_string(&FileView {
            data_version: &inner.data_version,
            forbidden_table: &inner.forbidden,
            subscription_group_table: &inner.groups,
        })
    }
    fn replace_with(&self, other: Self) {
        let other = other.0.into_inner().unwrap_or_else(|e| e.into_inner());
        *file::write(&self.0) = other;
    }
}

/// The broker's consumer group settings, stored in `config/subscriptionGroup.json`.
///
/// Reads take a shared lock. Every change bumps the [`DataVersion`] except `add_missing`.
/// System groups are not added by loading; see `add_missing` and [`system_groups`]. Call
/// [`ConfigTable::persist`] (from a blocking context) after changing it, as Apache persists this
/// file on every change.
pub type SubscriptionGroupTable = ConfigTable<SubscriptionGroups>;

impl ConfigTable<SubscriptionGroups> {
    /// The settings of `group`.
    pub fn get(&self, group: &str) -> Option<SubscriptionGroupConfig> {
        file::read(&self.contents().0).groups.get(group).cloned()
    }

    /// Whether `group` exists.
    pub fn contains(&self, group: &str) -> bool {
        file::read(&self.contents().0).groups.contains_key(group)
    }

    /// Runs `f` on the settings of `group` under the shared lock, without cloning them.
    pub fn with_group<R>(
        &self,
        group: &str,
        f: impl FnOnce(&SubscriptionGroupConfig) -> R,
    ) -> Option<R> {
        file::read(&self.contents().0).groups.get(group).map(f)
    }

    /// The settings of `group`, creating them with Java's defaults when the group is unknown,
    /// `auto_create` (`autoCreateSubscriptionGroup`) is on or the group is a system group, and
    /// the name is valid (Apache `findSubscriptionGroupConfig`). `None` when the group does not
    /// exist and may not be created.
    pub fn get_or_create(&self, group: &str, auto_create: bool) -> Option<SubscriptionGroupConfig> {
        if let Some(found) = self.get(group) {
            return Some(found);
        }
        if !(auto_create || is_sys_consumer_group(group)) || !is_valid_group_name(group) {
            return None;
        }
        let created = {
            let mut inner = file::write(&self.contents().0);
            if let Some(found) = inner.groups.get(group) {
                return Some(found.clone());
            }
            let config = SubscriptionGroupConfig::new(group);
            inner.groups.insert(group.to_owned(), config.clone());
            inner.data_version.next_version();
            config
        };
        tracing::info!(group, "subscription group auto-created");
        self.changed();
        Some(created)
    }

    /// Adds or replaces the settings named by `config.group_name` and bumps the data version;
    /// returns the previous settings. Attributes are stored as given (Apache's `+key`/`-key`
    /// attribute merging is the caller's business).
    pub fn update(&self, config: SubscriptionGroupConfig) -> Option<SubscriptionGroupConfig> {
        let old = {
            let mut inner = file::write(&self.contents().0);
            let old = inner.groups.insert(config.group_name.clone(), config);
            inner.data_version.next_version();
            old
        };
        self.changed();
        old
    }

    /// Removes `group` and its forbidden entries, bumping the data version if it existed;
    /// returns its settings.
    pub fn delete(&self, group: &str) -> Option<SubscriptionGroupConfig> {
        let old = {
            let mut inner = file::write(&self.contents().0);
            inner.forbidden.remove(group);
            let old = inner.groups.remove(group);
            if old.is_some() {
                inner.data_version.next_version();
            }
            old
        };
        if old.is_some() {
            self.changed();
        }
        old
    }

    /// Turns consumption of `group` off (Apache `disableConsume`); returns whether the group
    /// exists.
    pub fn disable_consume(&self, group: &str) -> bool {
        let found = {
            let mut inner = file::write(&self.contents().0);
            let found = match inner.groups.get_mut(group) {
                Some(config) => {
                    config.consume_enable = false;
                    true
                }
                None => false,
            };
            if found {
                inner.data_version.next_version();
            }
            found
        };
        if found {
            self.changed();
        }
        found
    }

    /// Adds each group that does not exist yet, leaving the data version alone (how Apache's
    /// startup groups, [`system_groups`], combine with a loaded file: the file wins). Returns
    /// how many were added.
    pub fn add_missing(&self, configs: impl IntoIterator<Item = SubscriptionGroupConfig>) -> usize {
        let added = {
            let mut inner = file::write(&self.contents().0);
            let mut added = 0;
            for c in configs {
                if !inner.groups.contains_key(&c.group_name) {
                    inner.groups.insert(c.group_name.clone(), c);
                    added += 1;
                }
            }
            added
        };
        if added > 0 {
            self.changed();
        }
        added
    }

    /// The forbidden bits of `group` on `topic` (0 when none).
    pub fn forbidden(&self, group: &str, topic: &str) -> i32 {
        file::read(&self.contents().0)
            .forbidden
            .get(group)
            .and_then(|topics| topics.get(topic))
            .copied()
            .unwrap_or(0)
            .max(0)
    }

    /// Whether bit `index` (0-based) of the forbidden bits of `group` on `topic` is set.
    pub fn is_forbidden(&self, group: &str, topic: &str, index: u32) -> bool {
        let bit = 1i32.checked_shl(index).unwrap_or(0);
        bit != 0 && self.forbidden(group, topic) & bit == bit
    }

    /// Sets (`set`) or clears bit `index` (0-based) of the forbidden bits of `group` on `topic`
    /// and bumps the data version; returns the new bits. An entry that drops to 0 is removed
    /// (Apache removes the group's whole forbidden map then; only the topic's entry goes here).
    pub fn update_forbidden(&self, group: &str, topic: &str, index: u32, set: bool) -> i32 {
        let bit = 1i32.checked_shl(index).unwrap_or(0);
        let value = {
            let mut inner = file::write(&self.contents().0);
            let current = inner
                .forbidden
                .get(group)
                .and_then(|t| t.get(topic))
                .copied()
                .unwrap_or(0)
                .max(0);
            let value = if set { current | bit } else { current & !bit };
            if value > 0 {
                inner
                    .forbidden
                    .entry(group.to_owned())
                    .or_default()
                    .insert(topic.to_owned(), value);
            } else if let Some(topics) = inner.forbidden.get_mut(group) {
                topics.remove(topic);
                if topics.is_empty() {
                    inner.forbidden.remove(group);
                }
            }
            inner.data_version.next_version();
            value
        };
        self.changed();
        value
    }

    /// Group names, sorted.
    pub fn names(&self) -> Vec<String> {
        file::read(&self.contents().0)
            .groups
            .keys()
            .cloned()
            .collect()
    }

    /// Every group's settings, sorted by name.
    pub fn list(&self) -> Vec<SubscriptionGroupConfig> {
        file::read(&self.contents().0)
            .groups
            .values()
            .cloned()
            .collect()
    }

    /// Number of groups.
    pub fn len(&self) -> usize {
        file::read(&self.contents().0).groups.len()
    }

    /// Whether there are no groups.
    pub fn is_empty(&self) -> bool {
        file::read(&self.contents().0).groups.is_empty()
    }

    /// The current data version.
    pub fn data_version(&self) -> DataVersion {
        file::read(&self.contents().0).data_version.clone()
    }
}

fn decode_body(bytes: &[u8]) -> Result<FileBody> {
    json::from_slice(bytes).map_err(|e| file::corrupt("subscriptionGroup.json", e))
}
