//! Statistics bodies keyed by `MessageQueue` beans (docs/protocol.md, "Maps keyed by objects").
//!
//! fastjson writes a bean-keyed map with the bean's JSON as the raw key:
//! `{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:{...}}}`. These types encode
//! exactly that, and decode it, the gson-style `[[key, value], ...]` form the Go client also
//! accepts, and string keys holding the bean's JSON text.

use std::collections::BTreeMap;

use serde::de::{DeserializeOwned, Error as _};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::queue::MessageQueue;
use crate::json::{self, Value};

/// Offsets of one queue of a topic (`TopicOffset`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TopicOffset {
    /// Store time of the last message, ms.
    #[serde(deserialize_with = "json::lenient::i64")]
    pub last_update_timestamp: i64,
    /// Next offset to be written.
    #[serde(deserialize_with = "json::lenient::i64")]
    pub max_offset: i64,
    /// Smallest offset still stored.
    #[serde(deserialize_with = "json::lenient::i64")]
    pub min_offset: i64,
}

/// GET_TOPIC_STATS_INFO (202) response body (`TopicStatsTable`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TopicStatsTable {
    /// Per-queue offsets.
    #[serde(with = "mq_map")]
    pub offset_table: BTreeMap<MessageQueue, TopicOffset>,
    /// Put TPS, sent by some versions only.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::de::opt_f64"
    )]
    pub topic_put_tps: Option<f64>,
}

json_body!(TopicStatsTable, raw_object_keys);

/// A consumer group's progress on one queue (`OffsetWrapper`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct OffsetWrapper {
    /// The queue's max offset.
    #[serde(deserialize_with = "json::lenient::i64")]
    pub broker_offset: i64,
    /// The group's committed offset.
    #[serde(deserialize_with = "json::lenient::i64")]
    pub consumer_offset: i64,
    /// Store time of the last consumed message, ms.
    #[serde(deserialize_with = "json::lenient::i64")]
    pub last_timestamp: i64,
    /// 5.x: the next offset the group will pull (at least `consumer_offset`); the messages
    /// between the two are in flight (`#Inflight` of `mqadmin consumerProgress`).
    #[serde(deserialize_with = "json::lenient::i64")]
    pub pull_offset: i64,
}

/// GET_CONSUME_STATS (208) response body (`ConsumeStats`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ConsumeStats {
    /// Consume TPS of the group.
    #[serde(deserialize_with = "super::de::f64")]
    pub consume_tps: f64,
    /// Per-queue progress.
    #[serde(with = "mq_map")]
    pub offset_table: BTreeMap<MessageQueue, OffsetWrapper>,
}

json_body!(ConsumeStats, raw_object_keys);

impl ConsumeStats {
    /// Java's `computeTotalDiff`: sum of `broker_offset - consumer_offset` (the lag).
    pub fn total_diff(&self) -> i64 {
        self.offset_table
            .values()
            .map(|w| w.broker_offset.wrapping_sub(w.consumer_offset))
            .fold(0i64, i64::wrapping_add)
    }

    /// Java's `computeInflightTotalDiff`: sum of `pull_offset - consumer_offset`, the messages
    /// pulled and not committed yet (`mqadmin consumerProgress` prints it per queue as
    /// `#Inflight`).
    pub fn inflight_total_diff(&self) -> i64 {
        self.offset_table
            .values()
            .map(|w| w.pull_offset.wrapping_sub(w.consumer_offset))
            .fold(0i64, i64::wrapping_add)
    }
}

/// INVOKE_BROKER_TO_RESET_OFFSET / RESET_CONSUMER_CLIENT_OFFSET (220) body (`ResetOffsetBody`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ResetOffsetBody {
    /// The offset to reset each queue to.
    #[serde(with = "mq_map")]
    pub offset_table: BTreeMap<MessageQueue, i64>,
}

json_body!(ResetOffsetBody, raw_object_keys);

/// The GET_BROKER_CONSUME_STATS answer (`ConsumeStatsList`): per group, the consume stats of
/// each topic it has offsets of.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ConsumeStatsList {
    /// The broker's address.
    pub broker_addr: String,
    /// One single-entry map per group: group name to its topics' stats.
    pub consume_stats_list: Vec<BTreeMap<String, Vec<ConsumeStats>>>,
    /// Sum of every lag.
    pub total_diff: i64,
    /// Sum of every in-flight lag (pulled, not yet committed).
    pub total_inflight_diff: i64,
}

json_body!(ConsumeStatsList, raw_object_keys);

/// One consumer's queue offsets, as a `Map<MessageQueue, Long>`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct QueueOffsets(#[serde(with = "mq_map")] pub BTreeMap<MessageQueue, i64>);

/// GET_CONSUMER_STATUS_FROM_CLIENT (221) and INVOKE_BROKER_TO_GET_CONSUMER_STATUS (223) body
/// (`GetConsumerStatusBody`): a client answers its own queues' offsets in `messageQueueTable`;
/// the broker answers every client's in `consumerTable` (client id to its table).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct GetConsumerStatusBody {
    /// One client's queues and their offsets.
    #[serde(with = "mq_map")]
    pub message_queue_table: BTreeMap<MessageQueue, i64>,
    /// Client id to its queues and their offsets.
    pub consumer_table: BTreeMap<String, QueueOffsets>,
}

json_body!(GetConsumerStatusBody, raw_object_keys);

/// Serde for `Map<MessageQueue, V>`: keys written as the queue's compact JSON text (the writer
/// emits it raw with `Style::raw_object_keys`).
pub(super) mod mq_map {
    use super::*;

    pub(in crate::body) fn serialize<S, V>(
        map: &BTreeMap<MessageQueue, V>,
        s: S,
    ) -> Result<S::Ok, S::Error>
    where
        S: Serializer,
        V: Serialize,
    {
        let mut m = s.serialize_map(Some(map.len()))?;
        for (k, v) in map {
            m.serialize_entry(&k.to_json(), v)?;
        }
        m.end()
    }

    pub(in crate::body) fn deserialize<'de, D, V>(
        d: D,
    ) -> Result<BTreeMap<MessageQueue, V>, D::Error>
    where
        D: Deserializer<'de>,
        V: DeserializeOwned,
    {
        let mut out = BTreeMap::new();
        match Value::deserialize(d)? {
            Value::Null => {}
            Value::Object(entries) => {
                for (k, v) in entries {
                    let mq = MessageQueue::from_json_text(&k).map_err(D::Error::custom)?;
                    out.insert(mq, value::<D, V>(v)?);
                }
            }
            Value::Array(pairs) => {
                for pair in pairs {
                    let Value::Array(mut kv) = pair else {
                        return Err(D::Error::custom("expected a [key, value] pair"));
                    };
                    if kv.len() != 2 {
                        return Err(D::Error::custom("expected a [key, value] pair"));
                    }
                    let v = kv.pop().unwrap_or_default();
                    let mq = match kv.pop().unwrap_or_default() {
                        Value::String(text) => MessageQueue::from_json_text(&text),
                        other => serde_json::from_value(other).map_err(|e| {
                            crate::error::ProtocolError::malformed("MessageQueue", e.to_string())
                        }),
                    }
                    .map_err(D::Error::custom)?;
                    out.insert(mq, value::<D, V>(v)?);
                }
            }
            _ => return Err(D::Error::custom("expected a MessageQueue-keyed map")),
        }
        Ok(out)
    }

    fn value<'de, D: Deserializer<'de>, V: DeserializeOwned>(v: Value) -> Result<V, D::Error> {
        serde_json::from_value(v).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mq(q: i32) -> MessageQueue {
        MessageQueue::new("T", "b", q)
    }

    #[test]
    fn topic_stats_object_key_form() {
        let mut t = TopicStatsTable::default();
        t.offset_table.insert(
            mq(0),
            TopicOffset {
                last_update_timestamp: 0,
                max_offset: 10,
                min_offset: 0,
            },
        );
        let golden = r#"{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:{"lastUpdateTimestamp":0,"maxOffset":10,"minOffset":0}}}"#;
        assert_eq!(t.to_json(), golden);
        assert_eq!(TopicStatsTable::decode(golden.as_bytes()).expect("rt"), t);
    }

    #[test]
    fn consume_stats_forms() {
        let mut c = ConsumeStats {
            consume_tps: 1.5,
            ..ConsumeStats::default()
        };
        for q in 0..2 {
            c.offset_table.insert(
                mq(q),
                OffsetWrapper {
                    broker_offset: 10,
                    consumer_offset: 7,
                    last_timestamp: 1,
                    pull_offset: 8,
                },
            );
        }
        let text = c.to_json();
        assert!(text.starts_with(
            r#"{"consumeTps":1.5,"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:{"brokerOffset":10,"consumerOffset":7,"lastTimestamp":1,"pullOffset":8},"#
        ));
        assert_eq!(ConsumeStats::decode(text.as_bytes()).expect("rt"), c);
        assert_eq!(c.total_diff(), 6);

        let gson = br#"{"consumeTps":"1.5","offsetTable":[[{"brokerName":"b","queueId":0,"topic":"T"},{"brokerOffset":10,"consumerOffset":7,"lastTimestamp":1,"pullOffset":8}],["{\"brokerName\":\"b\",\"queueId\":1,\"topic\":\"T\"}",{"brokerOffset":"10","consumerOffset":7,"lastTimestamp":1,"pullOffset":8}]]}"#;
        assert_eq!(ConsumeStats::decode(gson).expect("gson"), c);
        let quoted = br#"{"offsetTable":{"{\"brokerName\":\"b\",\"queueId\":0,\"topic\":\"T\"}":{"brokerOffset":3}}}"#;
        let q = ConsumeStats::decode(quoted).expect("string keys");
        assert_eq!(q.offset_table[&mq(0)].broker_offset, 3);
        assert!(ConsumeStats::decode(br#"{"offsetTable":[[1]]}"#).is_err());
        assert!(ConsumeStats::decode(br#"{"offsetTable":{"nope":{}}}"#).is_err());
    }

    #[test]
    fn reset_offset_body() {
        let mut r = ResetOffsetBody::default();
        r.offset_table.insert(mq(1), 42);
        let text = r.to_json();
        assert_eq!(
            text,
            r#"{"offsetTable":{{"brokerName":"b","queueId":1,"topic":"T"}:42}}"#
        );
        assert_eq!(ResetOffsetBody::decode(text.as_bytes()).expect("rt"), r);

        let mut status = GetConsumerStatusBody::default();
        status.message_queue_table.insert(mq(1), 7);
        status.consumer_table.insert(
            "c1".into(),
            QueueOffsets(status.message_queue_table.clone()),
        );
        let text = status.to_json();
        assert_eq!(
            text,
            r#"{"consumerTable":{"c1":{{"brokerName":"b","queueId":1,"topic":"T"}:7}},"messageQueueTable":{{"brokerName":"b","queueId":1,"topic":"T"}:7}}"#
        );
        assert_eq!(
            GetConsumerStatusBody::decode(text.as_bytes()).expect("rt"),
            status
        );
    }
}
