//! GET_CONSUMER_RUNNING_INFO (307) answer (`ConsumerRunningInfo`): what a client reports about
//! one of its consumers when an operator asks through the broker (`mqadmin consumerStatus`).
//!
//! `mqTable` and `mqPopTable` are keyed by `MessageQueue` beans and written the fastjson way
//! (the bean's JSON as a raw key, docs/protocol.md, "Maps keyed by objects"); Apache's tools
//! parse exactly that.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::heartbeat::SubscriptionData;
use super::queue::MessageQueue;
use super::stats::mq_map;
use crate::json;

/// `ConsumerRunningInfo.PROP_NAMESERVER_ADDR`: the name servers, `;`-separated.
pub const PROP_NAMESERVER_ADDR: &str = "PROP_NAMESERVER_ADDR";
/// `PROP_THREADPOOL_CORE_SIZE`: listener calls that may run at once.
pub const PROP_THREADPOOL_CORE_SIZE: &str = "PROP_THREADPOOL_CORE_SIZE";
/// `PROP_CONSUMEORDERLY`: `true` for an orderly listener.
pub const PROP_CONSUME_ORDERLY: &str = "PROP_CONSUMEORDERLY";
/// `PROP_CONSUME_TYPE`: `CONSUME_PASSIVELY` (push) or `CONSUME_ACTIVELY` (pull).
pub const PROP_CONSUME_TYPE: &str = "PROP_CONSUME_TYPE";
/// `PROP_CLIENT_VERSION`: the client's protocol version name (`V5_3_3`).
pub const PROP_CLIENT_VERSION: &str = "PROP_CLIENT_VERSION";
/// `PROP_CONSUMER_START_TIMESTAMP`: when the consumer started, ms. Apache's `consumerStatus`
/// parses it as a number, so it must be present.
pub const PROP_CONSUMER_START_TIMESTAMP: &str = "PROP_CONSUMER_START_TIMESTAMP";

/// The state of one assigned queue (`ProcessQueueInfo`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ProcessQueueInfo {
    /// How many messages are pulled and not yet consumed.
    #[serde(deserialize_with = "json::lenient::i32")]
    pub cached_msg_count: i32,
    /// Largest offset of the messages pulled and not yet consumed.
    #[serde(deserialize_with = "json::lenient::i64")]
    pub cached_msg_max_offset: i64,
    /// Smallest offset of the messages pulled and not yet consumed.
    #[serde(deserialize_with = "json::lenient::i64")]
    pub cached_msg_min_offset: i64,
    /// Their body bytes, in whole MiB.
    #[serde(rename = "cachedMsgSizeInMiB", deserialize_with = "json::lenient::i32")]
    pub cached_msg_size_in_mib: i32,
    /// The offset the consumer will commit (in memory), -1 if none.
    #[serde(deserialize_with = "json::lenient::i64")]
    pub commit_offset: i64,
    /// The queue was released (Apache's spelling).
    #[serde(deserialize_with = "json::lenient::bool")]
    pub droped: bool,
    /// When a listener last finished with messages of the queue, ms.
    #[serde(deserialize_with = "json::lenient::i64")]
    pub last_consume_timestamp: i64,
    /// Orderly: when the broker lock was last granted, ms (the queue's start otherwise).
    #[serde(deserialize_with = "json::lenient::i64")]
    pub last_lock_timestamp: i64,
    /// When the queue was last pulled, ms.
    #[serde(deserialize_with = "json::lenient::i64")]
    pub last_pull_timestamp: i64,
    /// Orderly: whether the queue's broker lock is held.
    #[serde(deserialize_with = "json::lenient::bool")]
    pub locked: bool,
    /// Orderly: messages handed to the listener and not settled yet.
    #[serde(deserialize_with = "json::lenient::i32")]
    pub transaction_msg_count: i32,
    /// ... the largest of their offsets.
    #[serde(deserialize_with = "json::lenient::i64")]
    pub transaction_msg_max_offset: i64,
    /// ... the smallest of their offsets.
    #[serde(deserialize_with = "json::lenient::i64")]
    pub transaction_msg_min_offset: i64,
    /// Orderly: unlock attempts of a released queue while its listener still ran.
    #[serde(deserialize_with = "json::lenient::i64")]
    pub try_unlock_times: i64,
}

/// The state of one queue consumed by POP (`PopProcessQueueInfo`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PopProcessQueueInfo {
    /// The queue was released (Apache's spelling).
    #[serde(deserialize_with = "json::lenient::bool")]
    pub droped: bool,
    /// When the queue was last popped, ms.
    #[serde(deserialize_with = "json::lenient::i64")]
    pub last_pop_timestamp: i64,
    /// Messages popped and not acknowledged yet.
    #[serde(deserialize_with = "json::lenient::i32")]
    pub wait_ack_count: i32,
}

/// One topic's pull and consume rates over the last minute (`ConsumeStatus`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConsumeStatus {
    /// Messages that failed in the listener over the last hour.
    #[serde(rename = "consumeFailedMsgs", deserialize_with = "json::lenient::i64")]
    pub consume_failed_msgs: i64,
    /// Messages per second that failed in the listener.
    #[serde(rename = "consumeFailedTPS", deserialize_with = "super::de::f64")]
    pub consume_failed_tps: f64,
    /// Messages per second consumed successfully.
    #[serde(rename = "consumeOKTPS", deserialize_with = "super::de::f64")]
    pub consume_ok_tps: f64,
    /// Average time of one listener call, ms (over the last hour when the last minute had
    /// none).
    #[serde(rename = "consumeRT", deserialize_with = "super::de::f64")]
    pub consume_rt: f64,
    /// Average time of one pull that found messages, ms.
    #[serde(rename = "pullRT", deserialize_with = "super::de::f64")]
    pub pull_rt: f64,
    /// Messages per second pulled.
    #[serde(rename = "pullTPS", deserialize_with = "super::de::f64")]
    pub pull_tps: f64,
}

/// GET_CONSUMER_RUNNING_INFO (307) response body (`ConsumerRunningInfo`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ConsumerRunningInfo {
    /// A thread dump when asked for (`jstackEnable`); a Rust client describes its tasks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jstack: Option<String>,
    /// Per POP-consumed queue, its state.
    #[serde(with = "mq_map")]
    pub mq_pop_table: BTreeMap<MessageQueue, PopProcessQueueInfo>,
    /// Per assigned queue, its state.
    #[serde(with = "mq_map")]
    pub mq_table: BTreeMap<MessageQueue, ProcessQueueInfo>,
    /// The consumer's settings and the `PROP_*` entries.
    #[serde(deserialize_with = "super::de::string_map")]
    pub properties: BTreeMap<String, String>,
    /// Per subscribed topic, its rates.
    #[serde(deserialize_with = "super::de::object_map")]
    pub status_table: BTreeMap<String, ConsumeStatus>,
    /// The subscriptions (a sorted set in Java).
    #[serde(deserialize_with = "super::de::object_vec")]
    pub subscription_set: Vec<SubscriptionData>,
    /// Free-form entries a user adds.
    #[serde(deserialize_with = "super::de::string_map")]
    pub user_consumer_info: BTreeMap<String, String>,
}

json_body!(ConsumerRunningInfo, raw_object_keys);

impl ConsumerRunningInfo {
    /// The running info from JSON already parsed with [`json::parse`] (queue keys are then
    /// strings holding the bean's JSON), as `Admin::consumer_running_info_at` returns it.
    pub fn from_value(value: json::Value) -> crate::error::Result<Self> {
        serde_json::from_value(value).map_err(|e| {
            crate::error::ProtocolError::malformed("ConsumerRunningInfo", e.to_string())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_keys_are_raw_beans_and_names_are_apaches() {
        let mut info = ConsumerRunningInfo::default();
        info.properties
            .insert(PROP_CONSUME_TYPE.to_owned(), "CONSUME_PASSIVELY".to_owned());
        info.subscription_set
            .push(SubscriptionData::tag("T", "*", 1));
        info.mq_table.insert(
            MessageQueue::new("T", "b", 1),
            ProcessQueueInfo {
                commit_offset: 7,
                cached_msg_size_in_mib: 1,
                droped: true,
                ..ProcessQueueInfo::default()
            },
        );
        info.status_table.insert(
            "T".to_owned(),
            ConsumeStatus {
                consume_ok_tps: 2.5,
                consume_failed_msgs: 3,
                ..ConsumeStatus::default()
            },
        );
        let text = info.to_json();
        assert!(
            text.contains(r#""mqTable":{{"brokerName":"b","queueId":1,"topic":"T"}:{"#),
            "{text}"
        );
        for name in [
            "\"cachedMsgSizeInMiB\":1",
            "\"commitOffset\":7",
            "\"droped\":true",
            "\"consumeOKTPS\":2.5",
            "\"consumeFailedMsgs\":3",
            "\"pullRT\":",
            "\"mqPopTable\":{}",
            "\"subscriptionSet\":[{",
        ] {
            assert!(text.contains(name), "{name} in {text}");
        }
        assert!(!text.contains("jstack"), "{text}");
        assert_eq!(
            ConsumerRunningInfo::decode(text.as_bytes()).expect("rt"),
            info
        );
    }

    #[test]
    fn decodes_what_apaches_client_writes() {
        // Shape of a Java 5.3.3 push consumer's answer (trimmed): numbers as numbers, a
        // Properties object, a raw bean key.
        let java = br#"{"jstack":"","mqPopTable":{},"mqTable":{{"brokerName":"b","queueId":0,"topic":"T"}:{"cachedMsgCount":2,"cachedMsgMaxOffset":9,"cachedMsgMinOffset":8,"cachedMsgSizeInMiB":0,"commitOffset":8,"droped":false,"lastConsumeTimestamp":1700000000000,"lastLockTimestamp":1700000000000,"lastPullTimestamp":1700000000001,"locked":false,"transactionMsgCount":0,"transactionMsgMaxOffset":0,"transactionMsgMinOffset":0,"tryUnlockTimes":0}},"properties":{"PROP_CONSUMER_START_TIMESTAMP":"1700000000000","consumeThreadMax":"20"},"statusTable":{"T":{"consumeFailedMsgs":0,"consumeFailedTPS":0.0,"consumeOKTPS":1.5,"consumeRT":2.0,"pullRT":3.0,"pullTPS":4.0}},"subscriptionSet":[{"classFilterMode":false,"codeSet":[],"expressionType":"TAG","subString":"*","subVersion":1,"tagsSet":[],"topic":"T"}],"userConsumerInfo":{}}"#;
        let info = ConsumerRunningInfo::decode(java).expect("decode");
        let pq = &info.mq_table[&MessageQueue::new("T", "b", 0)];
        assert_eq!((pq.cached_msg_count, pq.commit_offset), (2, 8));
        assert_eq!(info.status_table["T"].pull_tps, 4.0);
        assert_eq!(info.subscription_set[0].topic, "T");
        assert_eq!(info.jstack.as_deref(), Some(""));
    }
}
