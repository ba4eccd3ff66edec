//! Small bodies (docs/protocol.md, "Small bodies" and "Name server behaviour"): topic lists, KV
//! tables, the name server's KV config file and the consumer id list.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::json;

/// A set of topic names, optionally with the broker that holds them (`TopicList`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TopicList {
    /// The broker address, when the list is about one broker.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "json::lenient::opt_string"
    )]
    pub broker_addr: Option<String>,
    /// The topics.
    #[serde(deserialize_with = "super::de::string_set")]
    pub topic_list: BTreeSet<String>,
}

json_body!(TopicList);

/// A string-to-string table (`KVTable`), e.g. the REGISTER_BROKER response body.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct KVTable {
    /// The entries.
    #[serde(deserialize_with = "super::de::string_map")]
    pub table: BTreeMap<String, String>,
}

json_body!(KVTable);

/// The name server's persisted KV config (`kvConfig.json`, `KVConfigSerializeWrapper`):
/// `{"configTable":{namespace:{key:value}}}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct KvConfigFile {
    /// Namespace to its key/value table.
    #[serde(deserialize_with = "kv_namespaces")]
    pub config_table: BTreeMap<String, BTreeMap<String, String>>,
}

json_body!(KvConfigFile);

fn kv_namespaces<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, BTreeMap<String, String>>, D::Error> {
    use serde::de::Error as _;
    let raw: BTreeMap<String, json::Value> = super::de::nullable(d)?;
    let mut out = BTreeMap::new();
    for (ns, table) in raw {
        if table.is_null() {
            continue;
        }
        out.insert(ns, super::de::string_map(table).map_err(D::Error::custom)?);
    }
    Ok(out)
}

impl KvConfigFile {
    /// The value of `key` in `namespace`.
    pub fn get(&self, namespace: &str, key: &str) -> Option<&str> {
        self.config_table
            .get(namespace)
            .and_then(|t| t.get(key))
            .map(String::as_str)
    }
}

/// The client ids of a consumer group (`GetConsumerListByGroupResponseBody`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct GetConsumerListByGroupResponseBody {
    /// Client ids (`ip@pid#...`).
    #[serde(deserialize_with = "super::de::string_vec")]
    pub consumer_id_list: Vec<String>,
}

json_body!(GetConsumerListByGroupResponseBody);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_list() {
        let mut l = TopicList::default();
        l.topic_list.extend(["T2".to_string(), "T1".to_string()]);
        assert_eq!(l.to_json(), r#"{"topicList":["T1","T2"]}"#);
        l.broker_addr = Some("10.0.0.1:10911".into());
        assert_eq!(
            l.to_json(),
            r#"{"brokerAddr":"10.0.0.1:10911","topicList":["T1","T2"]}"#
        );
        assert_eq!(TopicList::decode(&l.encode()).expect("rt"), l);
        assert!(TopicList::decode(b"{topicList:null}")
            .expect("null")
            .topic_list
            .is_empty());
    }

    #[test]
    fn kv_table_and_config_file() {
        let mut t = KVTable::default();
        t.table.insert("T1".into(), "broker-a:4".into());
        assert_eq!(t.to_json(), r#"{"table":{"T1":"broker-a:4"}}"#);
        assert_eq!(KVTable::decode(&t.encode()).expect("rt"), t);
        assert_eq!(
            KVTable::decode(br#"{"table":{"n":5}}"#).expect("num").table["n"],
            "5"
        );

        let text = r#"{"configTable":{"ORDER_TOPIC_CONFIG":{"T1":"broker-a:4;broker-b:4"}}}"#;
        let f = KvConfigFile::decode(text.as_bytes()).expect("file");
        assert_eq!(
            f.get("ORDER_TOPIC_CONFIG", "T1"),
            Some("broker-a:4;broker-b:4")
        );
        assert_eq!(f.get("ORDER_TOPIC_CONFIG", "T2"), None);
        assert_eq!(f.to_json(), text);
        assert!(KvConfigFile::decode(br#"{"configTable":{"a":null}}"#)
            .expect("null ns")
            .config_table
            .is_empty());
        assert!(KvConfigFile::decode(&text.as_bytes()[..20]).is_err());
    }

    #[test]
    fn consumer_list() {
        let b = GetConsumerListByGroupResponseBody {
            consumer_id_list: vec!["10.0.0.5@1234".into()],
        };
        assert_eq!(b.to_json(), r#"{"consumerIdList":["10.0.0.5@1234"]}"#);
        assert_eq!(
            GetConsumerListByGroupResponseBody::decode(&b.encode()).expect("rt"),
            b
        );
    }
}

/// One window of a broker statistic (`BrokerStatsItem`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BrokerStatsItem {
    /// Per call (`sum` divided by the calls that added to it).
    pub avgpt: f64,
    /// What was added in the window.
    pub sum: i64,
    /// Per second.
    pub tps: f64,
}

/// The VIEW_BROKER_STATS_DATA answer (`BrokerStatsData`): the last minute, hour and day.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BrokerStatsData {
    /// The last 24 hours.
    pub stats_day: BrokerStatsItem,
    /// The last hour.
    pub stats_hour: BrokerStatsItem,
    /// The last minute.
    pub stats_minute: BrokerStatsItem,
}

json_body!(BrokerStatsData);

/// One queue's time span (`QueueTimeSpan`, QUERY_CONSUME_TIME_SPAN).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct QueueTimeSpan {
    /// Store time of the last message the group consumed (the oldest kept when none).
    pub consume_time_stamp: i64,
    /// How long the next message to consume has waited, ms (0 when caught up).
    pub delay_time: i64,
    /// Store time of the newest message.
    pub max_time_stamp: i64,
    /// The queue.
    pub message_queue: super::MessageQueue,
    /// Store time of the oldest message kept.
    pub min_time_stamp: i64,
}

/// The QUERY_CONSUME_TIME_SPAN answer (`QueryConsumeTimeSpanBody`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct QueryConsumeTimeSpanBody {
    /// One entry per write queue.
    pub consume_time_span_set: Vec<QueueTimeSpan>,
}

json_body!(QueryConsumeTimeSpanBody);

/// A group's read permission on a topic (`GroupForbidden`, UPDATE_AND_GET_GROUP_FORBIDDEN).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct GroupForbidden {
    /// Consumer group.
    pub group: String,
    /// Whether it may read the topic.
    pub readable: bool,
    /// Topic.
    pub topic: String,
}

json_body!(GroupForbidden);

/// One consume queue unit (`ConsumeQueueData`, QUERY_CONSUME_QUEUE).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ConsumeQueueData {
    /// Whether the group's filter matches (only with extended units, which FerroMQ has not).
    pub eval: bool,
    /// A note about the unit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub msg: Option<String>,
    /// Commitlog offset of the record.
    pub physic_offset: i64,
    /// Record size.
    pub physic_size: i32,
    /// Tag hash code.
    pub tags_code: i64,
}

/// The QUERY_CONSUME_QUEUE answer (`QueryConsumeQueueResponseBody`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct QueryConsumeQueueResponseBody {
    /// The group's subscription, as online consumers registered it; or why there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter_data: Option<String>,
    /// The queue's end.
    pub max_queue_index: i64,
    /// The queue's first kept offset.
    pub min_queue_index: i64,
    /// The units asked for.
    pub queue_data: Vec<ConsumeQueueData>,
    /// The group's subscription to the topic, when it has online consumers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_data: Option<super::SubscriptionData>,
}

json_body!(QueryConsumeQueueResponseBody);
