//! Reading records at offsets a client names, and destinations the broker reads back from
//! records, without trusting either; and waiting for the broker's own writes to be stored.
//!
//! VIEW_MESSAGE_BY_ID, END_TRANSACTION and CONSUMER_SEND_MSG_BACK carry a commitlog offset. Read
//! as is, an offset into the middle of a record could make the broker decode bytes a client wrote
//! into a message body as a record of its own (a forged half message with any `REAL_TOPIC`).
//! [`Broker::record_at`] accepts an offset only when the record there says it is stored at that
//! offset and the consume queue it names holds a unit pointing at it: units are written by the
//! dispatcher, which walks the commitlog from record to record, so a forged record has none.

use std::time::{Duration, Instant};

use bytes::Bytes;
use ferromq_protocol::message::{decode_all, property, DecodeOptions, MessageExt};
use ferromq_protocol::names;

use crate::state::Broker;

/// How long a read waits for a just-written record to reach its consume queue.
const DISPATCH_WAIT: Duration = Duration::from_secs(3);
/// Poll interval of that wait.
const DISPATCH_POLL: Duration = Duration::from_millis(1);

/// Waits for a put of the broker's own (a retry, a delivery, a transaction record) to be as
/// durable as the flush policy asks; `Err` when the store failed it (a message stored while a
/// SYNC_FLUSH sync timed out counts as stored, as for producers).
pub(crate) async fn stored(
    pending: ferromq_store::store::Pending,
) -> Result<ferromq_store::PutResult, String> {
    let result = pending.finish().await;
    match &result.status {
        ferromq_store::PutStatus::Failed(reason) => Err(format!("store fault: {reason}")),
        _ => Ok(result),
    }
}

impl Broker {
    /// The record stored at `offset`, checked to start there; `Err` says why it is refused.
    pub(crate) async fn record_at(&self, offset: i64) -> Result<(Bytes, MessageExt), String> {
        let at = u64::try_from(offset).map_err(|_| "a negative offset".to_owned())?;
        let record = self
            .store
            .message_at(at)
            .ok_or_else(|| "no record at this offset".to_owned())?;
        let message = decode_all(&record, &DecodeOptions::store())
            .ok()
            .and_then(|mut v| v.pop())
            .ok_or_else(|| "no record at this offset".to_owned())?;
        if message.commit_log_offset != offset {
            return Err("the offset is not the start of a record".to_owned());
        }
        let deadline = Instant::now() + DISPATCH_WAIT;
        while self.store.dispatched_offset() <= at {
            if Instant::now() >= deadline {
                return Err("the record is not dispatched yet".to_owned());
            }
            tokio::time::sleep(DISPATCH_POLL).await;
        }
        let indexed = self
            .store
            .unit(&message.topic, message.queue_id, message.queue_offset)
            .is_some_and(|u| u.commit_log_offset == offset);
        if !indexed {
            return Err("the offset is not the start of a record".to_owned());
        }
        Ok((record, message))
    }

    /// Where a parked message (delay level, timer, transaction) goes when it is released: its
    /// `REAL_TOPIC` and `REAL_QID`, checked like a producer's topic and queue.
    pub(crate) fn real_destination(&self, parked: &MessageExt) -> Result<(String, i32), String> {
        let topic = parked
            .properties
            .value(property::REAL_TOPIC)
            .ok_or("no REAL_TOPIC")?;
        names::check_topic(topic).map_err(|e| format!("REAL_TOPIC: {e}"))?;
        if names::is_internal_topic(topic) {
            return Err(format!("REAL_TOPIC {topic} is an internal topic"));
        }
        let queue_id: i32 = parked
            .properties
            .value(property::REAL_QUEUE_ID)
            .and_then(|q| q.trim().parse().ok())
            .ok_or("no REAL_QID")?;
        let queues = self
            .topics
            .get(topic)
            .map(|t| t.write_queue_nums.max(t.read_queue_nums))
            .unwrap_or(1)
            .max(1);
        if queue_id < 0 {
            return Err(format!("REAL_QID {queue_id} is negative"));
        }
        // The topic may have fewer queues than when the message was parked: keep the message,
        // in one of the queues it has now.
        Ok((topic.to_owned(), queue_id % queues))
    }
}
