//! `MessageQueue` and the LOCK_BATCH_MQ / UNLOCK_BATCH_MQ bodies (docs/protocol.md, "Queue locks").

use std::cmp::Ordering;
use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::json;

/// One queue of a topic on a broker group (`MessageQueue`), always
/// `{"brokerName","queueId","topic"}` in JSON.
///
/// Ordered like Java's `compareTo`: by topic, then broker name, then queue id.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct MessageQueue {
    /// The broker group.
    #[serde(deserialize_with = "json::lenient::string")]
    pub broker_name: String,
    /// The queue id within the topic on that broker group.
    #[serde(deserialize_with = "json::lenient::i32")]
    pub queue_id: i32,
    /// The topic.
    #[serde(deserialize_with = "json::lenient::string")]
    pub topic: String,
}

json_body!(MessageQueue);

impl MessageQueue {
    /// A queue.
    pub fn new(topic: impl Into<String>, broker_name: impl Into<String>, queue_id: i32) -> Self {
        MessageQueue {
            topic: topic.into(),
            broker_name: broker_name.into(),
            queue_id,
        }
    }

    /// Parses the compact JSON text of a queue, as found in bean-keyed map keys
    /// (docs/protocol.md, "Maps keyed by objects").
    pub fn from_json_text(text: &str) -> Result<Self> {
        json::from_slice(text.as_bytes())
    }
}

impl PartialOrd for MessageQueue {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for MessageQueue {
    fn cmp(&self, other: &Self) -> Ordering {
        self.topic
            .cmp(&other.topic)
            .then_with(|| self.broker_name.cmp(&other.broker_name))
            .then_with(|| self.queue_id.cmp(&other.queue_id))
    }
}

/// LOCK_BATCH_MQ request body (`LockBatchRequestBody`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct LockBatchRequestBody {
    /// The locking client.
    #[serde(deserialize_with = "json::lenient::string")]
    pub client_id: String,
    /// The consumer group.
    #[serde(deserialize_with = "json::lenient::string")]
    pub consumer_group: String,
    /// The queues to lock.
    #[serde(deserialize_with = "mq_set")]
    pub mq_set: BTreeSet<MessageQueue>,
    /// 5.x: lock only on the receiving broker (no forwarding to its replicas).
    #[serde(deserialize_with = "json::lenient::bool")]
    pub only_this_broker: bool,
}

json_body!(LockBatchRequestBody);

/// UNLOCK_BATCH_MQ request body (`UnlockBatchRequestBody`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct UnlockBatchRequestBody {
    /// The unlocking client.
    #[serde(deserialize_with = "json::lenient::string")]
    pub client_id: String,
    /// The consumer group.
    #[serde(deserialize_with = "json::lenient::string")]
    pub consumer_group: String,
    /// The queues to unlock.
    #[serde(deserialize_with = "mq_set")]
    pub mq_set: BTreeSet<MessageQueue>,
    /// 5.x: unlock only on the receiving broker.
    #[serde(deserialize_with = "json::lenient::bool")]
    pub only_this_broker: bool,
}

json_body!(UnlockBatchRequestBody);

/// LOCK_BATCH_MQ response body (`LockBatchResponseBody`): the subset actually locked.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LockBatchResponseBody {
    /// The locked queues; JSON key `lockOKMQSet`.
    #[serde(rename = "lockOKMQSet", deserialize_with = "mq_set")]
    pub lock_ok_mq_set: BTreeSet<MessageQueue>,
}

json_body!(LockBatchResponseBody);

fn mq_set<'de, D: serde::Deserializer<'de>>(d: D) -> Result<BTreeSet<MessageQueue>, D::Error> {
    Ok(super::de::object_vec(d)?.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_queue_json_and_order() {
        let mq = MessageQueue::new("T1", "broker-a", 0);
        assert_eq!(
            mq.to_json(),
            r#"{"brokerName":"broker-a","queueId":0,"topic":"T1"}"#
        );
        assert_eq!(MessageQueue::from_json_text(&mq.to_json()).expect("rt"), mq);
        let mut v = [
            MessageQueue::new("T2", "a", 0),
            MessageQueue::new("T1", "b", 0),
            MessageQueue::new("T1", "a", 10),
            MessageQueue::new("T1", "a", 2),
        ];
        v.sort();
        let ids: Vec<_> = v
            .iter()
            .map(|m| (m.topic.as_str(), m.broker_name.as_str(), m.queue_id))
            .collect();
        assert_eq!(
            ids,
            [
                ("T1", "a", 2),
                ("T1", "a", 10),
                ("T1", "b", 0),
                ("T2", "a", 0)
            ]
        );
    }

    #[test]
    fn lock_bodies() {
        let text = r#"{"clientId":"c1","consumerGroup":"GID_A","mqSet":[{"brokerName":"broker-a","queueId":0,"topic":"T1"}],"onlyThisBroker":false}"#;
        let req = LockBatchRequestBody::decode(text.as_bytes()).expect("lock");
        assert_eq!(req.to_json(), text);
        let un = UnlockBatchRequestBody::decode(text.as_bytes()).expect("unlock");
        assert_eq!(un.to_json(), text);
        let resp = LockBatchResponseBody {
            lock_ok_mq_set: req.mq_set.clone(),
        };
        assert_eq!(
            resp.to_json(),
            r#"{"lockOKMQSet":[{"brokerName":"broker-a","queueId":0,"topic":"T1"}]}"#
        );
        assert_eq!(
            LockBatchResponseBody::decode(&resp.encode()).expect("rt"),
            resp
        );
        let lenient = LockBatchRequestBody::decode(
            br#"{"consumerGroup":"g","mqSet":[{"brokerName":"b","queueId":"3","topic":"T"}]}"#,
        )
        .expect("4.x");
        assert_eq!(lenient.mq_set.iter().next().map(|m| m.queue_id), Some(3));
        assert!(!lenient.only_this_broker);
    }
}
