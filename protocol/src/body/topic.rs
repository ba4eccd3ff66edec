//! Topic configs and data versions (docs/protocol.md, "Topic configs and broker registration" and
//! "Small bodies"): `TopicConfig`, its compact string form, `DataVersion` and
//! `TopicConfigSerializeWrapper` (GET_ALL_TOPIC_CONFIG, and the core of the REGISTER_BROKER body in
//! [`super::register`]).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::route::perm;
use crate::error::{ProtocolError, Result};
use crate::json::{self, Value};
use ferromq_common::now_ms;

name_enum! {
    /// How a topic's messages carry tags (`TopicFilterType`).
    TopicFilterType, default SingleTag {
        /// One tag per message (the default).
        SingleTag = "SINGLE_TAG",
        /// Several tags per message.
        MultiTag = "MULTI_TAG",
    }
}

/// Java's default queue count of a new `TopicConfig`.
pub const DEFAULT_QUEUE_NUMS: i32 = 16;

/// A topic's configuration on a broker (`TopicConfig`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TopicConfig {
    /// 5.x attributes (e.g. `message.type`); keys and values must not contain spaces.
    #[serde(deserialize_with = "super::de::string_map")]
    pub attributes: BTreeMap<String, String>,
    /// Ordered topic (`isOrder()`).
    #[serde(deserialize_with = "json::lenient::bool")]
    pub order: bool,
    /// [`perm`] bits; default read|write (6).
    #[serde(deserialize_with = "json::lenient::i32")]
    pub perm: i32,
    /// Readable queues; default 16.
    #[serde(deserialize_with = "json::lenient::i32")]
    pub read_queue_nums: i32,
    /// Tag filter type; default `SINGLE_TAG`.
    pub topic_filter_type: TopicFilterType,
    /// The topic name.
    #[serde(deserialize_with = "json::lenient::string")]
    pub topic_name: String,
    /// `topicSysFlag` bits.
    #[serde(deserialize_with = "json::lenient::i32")]
    pub topic_sys_flag: i32,
    /// Writable queues; default 16.
    #[serde(deserialize_with = "json::lenient::i32")]
    pub write_queue_nums: i32,
}

impl Default for TopicConfig {
    fn default() -> Self {
        TopicConfig {
            attributes: BTreeMap::new(),
            order: false,
            perm: perm::READ_WRITE,
            read_queue_nums: DEFAULT_QUEUE_NUMS,
            topic_filter_type: TopicFilterType::SingleTag,
            topic_name: String::new(),
            topic_sys_flag: 0,
            write_queue_nums: DEFAULT_QUEUE_NUMS,
        }
    }
}

json_body!(TopicConfig);

impl TopicConfig {
    /// A config with Java's defaults and the given name and queue counts.
    pub fn new(topic_name: impl Into<String>, read_queue_nums: i32, write_queue_nums: i32) -> Self {
        TopicConfig {
            topic_name: topic_name.into(),
            read_queue_nums,
            write_queue_nums,
            ..TopicConfig::default()
        }
    }

    /// The compact form of the compressed register body (Java `TopicConfig.encode()`):
    /// `"topicName readQueueNums writeQueueNums perm topicFilterType attributesJSON"`.
    /// It loses `order` and `topicSysFlag`.
    pub fn encode_compact(&self) -> String {
        format!(
            "{} {} {} {} {} {}",
            self.topic_name,
            self.read_queue_nums,
            self.write_queue_nums,
            self.perm,
            self.topic_filter_type,
            json::to_string(&self.attributes)
        )
    }

    /// Parses the compact form like Java's `TopicConfig.decode`: at least five space-separated
    /// fields (4.9 brokers send no attributes); attributes that do not parse (a space inside
    /// them splits the JSON) are ignored, as in Java. Unknown filter types are kept.
    pub fn decode_compact(text: &str) -> Result<Self> {
        let mut parts: Vec<&str> = text.split(' ').collect();
        // Java's String.split drops trailing empty strings.
        while parts.last().is_some_and(|p| p.is_empty()) {
            parts.pop();
        }
        if parts.len() < 5 {
            return Err(ProtocolError::malformed(
                "compact TopicConfig",
                format!("expected at least 5 fields, found {}", parts.len()),
            ));
        }
        let int = |i: usize| -> Result<i32> {
            parts[i].parse::<i32>().map_err(|_| {
                ProtocolError::malformed(
                    "compact TopicConfig",
                    format!("field {i} is not an integer: {:?}", parts[i]),
                )
            })
        };
        let mut tc = TopicConfig {
            topic_name: parts[0].to_owned(),
            read_queue_nums: int(1)?,
            write_queue_nums: int(2)?,
            perm: int(3)?,
            topic_filter_type: TopicFilterType::from_name(parts[4]),
            ..TopicConfig::default()
        };
        if let Some(attrs) = parts.get(5) {
            if let Ok(map) = json::from_slice::<Value>(attrs.as_bytes()) {
                if let Ok(map) = super::de::string_map(map) {
                    tc.attributes = map;
                }
            }
        }
        Ok(tc)
    }
}

/// A version stamp of a broker's topic table (`DataVersion`).
///
/// Ordered like Java's `DataVersion.compare`: by `state_version`, then `counter`, then
/// `timestamp`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DataVersion {
    /// Incremented on every change.
    #[serde(deserialize_with = "json::lenient::i64")]
    pub counter: i64,
    /// 5.x controller state version (absent, hence 0, from 4.x).
    #[serde(deserialize_with = "json::lenient::i64")]
    pub state_version: i64,
    /// Milliseconds since the epoch of the last change.
    #[serde(deserialize_with = "json::lenient::i64")]
    pub timestamp: i64,
}

json_body!(DataVersion);

impl DataVersion {
    /// A fresh version stamped now, as Java's constructor does (`Default` is all zeros).
    pub fn now() -> Self {
        DataVersion {
            timestamp: now_ms(),
            ..DataVersion::default()
        }
    }

    /// Java's `nextVersion()`: counter + 1, timestamp now, state version 0.
    pub fn next_version(&mut self) {
        self.next_version_at(0, now_ms());
    }

    /// `nextVersion(stateVersion)` with an explicit timestamp (for tests and replay).
    pub fn next_version_at(&mut self, state_version: i64, timestamp_ms: i64) {
        self.timestamp = timestamp_ms;
        self.state_version = state_version;
        self.counter = self.counter.wrapping_add(1);
    }
}

impl PartialOrd for DataVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for DataVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.state_version, self.counter, self.timestamp).cmp(&(
            other.state_version,
            other.counter,
            other.timestamp,
        ))
    }
}

/// A broker's topic table with its version (`TopicConfigSerializeWrapper`, and the 5.x
/// `TopicConfigAndMappingSerializeWrapper` whose static-topic mapping fields are kept as opaque
/// JSON so they survive a round trip).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TopicConfigSerializeWrapper {
    /// Version of `topic_config_table`.
    #[serde(deserialize_with = "super::de::nullable")]
    pub data_version: DataVersion,
    /// 5.x: version of the mapping tables.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mapping_data_version: Option<DataVersion>,
    /// Topic name to config.
    #[serde(deserialize_with = "super::de::object_map")]
    pub topic_config_table: BTreeMap<String, TopicConfig>,
    /// 5.x: topic to `TopicQueueMappingDetail` (opaque).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic_queue_mapping_detail_map: Option<BTreeMap<String, Value>>,
    /// 5.x: topic to `TopicQueueMappingInfo` (opaque).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic_queue_mapping_info_map: Option<BTreeMap<String, Value>>,
}

json_body!(TopicConfigSerializeWrapper);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_config_json_and_defaults() {
        let tc = TopicConfig::new("T1", 4, 4);
        assert_eq!(
            tc.to_json(),
            r#"{"attributes":{},"order":false,"perm":6,"readQueueNums":4,"topicFilterType":"SINGLE_TAG","topicName":"T1","topicSysFlag":0,"writeQueueNums":4}"#
        );
        assert_eq!(TopicConfig::decode(&tc.encode()).expect("rt"), tc);
        let d = TopicConfig::decode(
            br#"{"topicName":"X","perm":"7","topicFilterType":"ODD","extra":1}"#,
        )
        .expect("lenient");
        assert_eq!((d.read_queue_nums, d.write_queue_nums, d.perm), (16, 16, 7));
        assert_eq!(d.topic_filter_type, TopicFilterType::Other("ODD".into()));
        assert_eq!(
            TopicConfig::decode(br#"{"topicFilterType":1}"#)
                .expect("ordinal")
                .topic_filter_type,
            TopicFilterType::MultiTag
        );
    }

    #[test]
    fn compact_form() {
        let mut tc = TopicConfig::new("T1", 8, 4);
        tc.attributes.insert("+message.type".into(), "FIFO".into());
        let s = tc.encode_compact();
        assert_eq!(s, r#"T1 8 4 6 SINGLE_TAG {"+message.type":"FIFO"}"#);
        assert_eq!(TopicConfig::decode_compact(&s).expect("rt"), tc);
        let old = TopicConfig::decode_compact("T2 1 2 7 MULTI_TAG").expect("4.9");
        assert_eq!(old.topic_filter_type, TopicFilterType::MultiTag);
        assert!(old.attributes.is_empty());
        let spaced = TopicConfig::decode_compact(r#"T3 1 1 6 SINGLE_TAG {"a": "b"}"#)
            .expect("attributes ignored");
        assert!(spaced.attributes.is_empty());
        assert!(TopicConfig::decode_compact("T 1 2 6 ").is_err());
        assert!(TopicConfig::decode_compact("T x 2 6 SINGLE_TAG").is_err());
        assert!(TopicConfig::decode_compact("").is_err());
    }

    #[test]
    fn data_version() {
        let mut v = DataVersion::default();
        assert_eq!(
            v.to_json(),
            r#"{"counter":0,"stateVersion":0,"timestamp":0}"#
        );
        let before = v.clone();
        v.next_version_at(0, 1_700_000_000_000);
        assert_eq!(
            v.to_json(),
            r#"{"counter":1,"stateVersion":0,"timestamp":1700000000000}"#
        );
        assert!(v > before);
        let mut w = v.clone();
        w.next_version();
        assert_eq!(w.counter, 2);
        assert!(w.timestamp > 0);
        let c = DataVersion::decode(br#"{"counter":"3","timestamp":5}"#).expect("4.x");
        assert_eq!((c.counter, c.state_version, c.timestamp), (3, 0, 5));
    }

    #[test]
    fn wrapper_round_trip_keeps_mapping_fields() {
        let text = r#"{"dataVersion":{"counter":2,"stateVersion":0,"timestamp":9},"mappingDataVersion":{"counter":0,"stateVersion":0,"timestamp":1},"topicConfigTable":{"T1":{"attributes":{},"order":false,"perm":6,"readQueueNums":4,"topicFilterType":"SINGLE_TAG","topicName":"T1","topicSysFlag":0,"writeQueueNums":4}},"topicQueueMappingDetailMap":{},"topicQueueMappingInfoMap":{"T1":{"bname":"b","currIdMap":{"0":1}}}}"#;
        let w = TopicConfigSerializeWrapper::decode(text.as_bytes()).expect("decode");
        assert_eq!(w.topic_config_table["T1"].read_queue_nums, 4);
        assert_eq!(w.to_json(), text);
        let bare = TopicConfigSerializeWrapper::decode(b"{}").expect("empty");
        assert_eq!(
            bare.to_json(),
            r#"{"dataVersion":{"counter":0,"stateVersion":0,"timestamp":0},"topicConfigTable":{}}"#
        );
    }
}
