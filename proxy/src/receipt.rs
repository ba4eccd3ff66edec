//! Receipt handles: Apache's `ReceiptHandle` text, which is the broker's `POP_CK` extra info
//! (docs/pop.md, "Receipt handles"):
//! `ckQueueOffset popTime invisibleTime reviveQid retry brokerName queueId queueOffset [commitLogOffset]`.

use crate::pb::Code;
use crate::status::{ProxyError, ProxyResult};

/// A parsed receipt handle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptHandle {
    /// Pop time, ms.
    pub retrieve_time: i64,
    /// Invisible time granted, ms.
    pub invisible_time: i64,
    /// `0` normal topic, `1`/`2` pop retry topic v1/v2.
    pub topic_type: String,
    /// Broker that holds the message.
    pub broker_name: String,
    /// Queue of the message.
    pub queue_id: i32,
    /// Queue offset of the message.
    pub offset: i64,
    /// Commitlog offset of the message (the proxy's ninth field), when present.
    pub commit_log_offset: Option<i64>,
    /// The text as received.
    pub text: String,
}

impl ReceiptHandle {
    /// Parses `text`; `INVALID_RECEIPT_HANDLE` when it is not a handle.
    pub fn decode(text: &str) -> ProxyResult<ReceiptHandle> {
        let bad = |why: &str| {
            ProxyError::new(
                Code::InvalidReceiptHandle,
                format!("receipt handle is invalid: {why}"),
            )
        };
        let parts: Vec<&str> = text.split(' ').collect();
        if parts.len() < 8 {
            return Err(bad(&format!("{} fields, at least 8 expected", parts.len())));
        }
        let num = |i: usize| {
            parts[i]
                .parse::<i64>()
                .map_err(|_| bad(&format!("field {i} is not a number")))
        };
        num(0)?;
        let retrieve_time = num(1)?;
        let invisible_time = num(2)?;
        num(3)?;
        let queue_id = parts[6]
            .parse::<i32>()
            .map_err(|_| bad("queue id is not a number"))?;
        let offset = num(7)?;
        let commit_log_offset = if parts.len() >= 9 {
            Some(num(8)?)
        } else {
            None
        };
        if parts[5].is_empty() {
            return Err(bad("no broker name"));
        }
        Ok(ReceiptHandle {
            retrieve_time,
            invisible_time,
            topic_type: parts[4].to_owned(),
            broker_name: parts[5].to_owned(),
            queue_id,
            offset,
            commit_log_offset,
            text: text.to_owned(),
        })
    }

    /// The topic the broker holds the message in: the group's pop retry topic for a retried
    /// message (Apache's `ReceiptHandle.getRealTopic`).
    pub fn real_topic(&self, topic: &str, group: &str) -> String {
        match self.topic_type.as_str() {
            "1" => format!("%RETRY%{group}_{topic}"),
            "2" => format!("%RETRY%{group}+{topic}"),
            _ => topic.to_owned(),
        }
    }

    /// Whether the handle's invisible time is over at `now_ms` (Apache's `isExpired`).
    pub fn is_expired(&self, now_ms: i64) -> bool {
        self.retrieve_time.saturating_add(self.invisible_time) <= now_ms
    }
}

/// The handle of a popped message that came without one (as Apache's client builds it).
#[allow(clippy::too_many_arguments)]
pub fn build(
    ck_offset: i64,
    pop_time: i64,
    invisible_time: i64,
    revive_qid: i32,
    retry: &str,
    broker_name: &str,
    queue_id: i32,
    queue_offset: i64,
) -> String {
    format!("{ck_offset} {pop_time} {invisible_time} {revive_qid} {retry} {broker_name} {queue_id} {queue_offset}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejects_forgeries() {
        let text = build(3, 1000, 30000, 1, "0", "broker-a", 2, 7);
        let h = ReceiptHandle::decode(&text).expect("decode");
        assert_eq!(h.broker_name, "broker-a");
        assert_eq!((h.queue_id, h.offset), (2, 7));
        assert!(!h.is_expired(30_999));
        assert!(h.is_expired(31_000));
        for forged in [
            "",
            "abc",
            "1 2 3 4 0 b 1",
            "1 2 3 4 0 b x 5",
            "1 2 3 4 0  1 5",
        ] {
            let e = ReceiptHandle::decode(forged).expect_err("must be refused");
            assert_eq!(e.code, Code::InvalidReceiptHandle, "{forged:?}");
        }
    }
}
