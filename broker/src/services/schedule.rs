//! Delayed messages by level (docs/protocol.md, "Delayed and timer messages").
//!
//! A message sent with `DELAY = L` (or sent back for a retry) is stored in `SCHEDULE_TOPIC_XXXX`
//! queue `L - 1` with its real topic and queue in `REAL_TOPIC` / `REAL_QID`; the store gives the
//! consume-queue entry its delivery time as tag code. One task per level follows its queue from
//! the offset in `delayOffset.json`: each entry's level has the same delay, so the queue head is
//! always the next due. The task sleeps until the head is due (or a new entry arrives) and then
//! stores the real message, with `DELAY` removed, in its real topic and queue.

use std::sync::Arc;
use std::time::Duration;

use ferromq_protocol::message::{decode_all, DecodeOptions};
use ferromq_store::commit_log::SCHEDULE_TOPIC;

use crate::records::stored;
use crate::state::Broker;

/// How often an idle level looks again when no arrival wakes it.
const IDLE_POLL: Duration = Duration::from_millis(100);
/// Back-off after a failed delivery.
const RETRY_AFTER: Duration = Duration::from_millis(100);

/// Delivers due messages of one level until `stop`.
async fn deliver_level(
    broker: Arc<Broker>,
    level: i32,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let queue_id = level - 1;
    let mut offset = broker.delay_offsets.get(level).unwrap_or(0);
    loop {
        let wake = broker.arrival(SCHEDULE_TOPIC, queue_id);
        let notified = wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let min = broker.store.min_offset_in_queue(SCHEDULE_TOPIC, queue_id);
        if offset < min {
            offset = min;
        }
        let wait = match broker.store.unit(SCHEDULE_TOPIC, queue_id, offset) {
            None => IDLE_POLL,
            Some(unit) => {
                let now = ferromq_common::now_ms();
                let due = unit.tags_code;
                if due > now {
                    Duration::from_millis(u64::try_from(due - now).unwrap_or(0))
                } else {
                    match deliver(&broker, unit.commit_log_offset).await {
                        Ok(()) => {
                            offset += 1;
                            broker.delay_offsets.update(level, offset);
                            continue;
                        }
                        Err(reason) => {
                            tracing::warn!(level, offset, %reason, "delayed delivery failed; retrying");
                            RETRY_AFTER
                        }
                    }
                }
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = &mut notified => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

async fn deliver(broker: &Broker, commit_log_offset: i64) -> Result<(), String> {
    let record = u64::try_from(commit_log_offset)
        .ok()
        .and_then(|o| broker.store.message_at(o))
        .ok_or("the scheduled message is gone")?;
    let scheduled = decode_all(&record, &DecodeOptions::store())
        .map_err(|e| e.to_string())?
        .pop()
        .ok_or("empty record")?;
    let real = match broker.time_up(&scheduled) {
        Ok(real) => real,
        Err(reason) => {
            // Nowhere to deliver: skip it, as Apache does, and say why.
            tracing::error!(commit_log_offset, %reason, "scheduled message dropped");
            return Ok(());
        }
    };
    broker.ensure_delivery_topic(&real.topic).await;
    let pending = broker.store.put_message(&real).map_err(|e| e.to_string())?;
    // Not durable: the level's offset stays, and the delivery is tried again.
    stored(pending).await?;
    Ok(())
}

/// Starts one delivery task per level.
pub(crate) fn start(
    broker: &Arc<Broker>,
    stop: &tokio::sync::watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (1..=i32::try_from(broker.delay_levels.len()).unwrap_or(0))
        .map(|level| tokio::spawn(deliver_level(broker.clone(), level, stop.clone())))
        .collect()
}
