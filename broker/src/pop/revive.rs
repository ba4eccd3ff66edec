//! Revive: an in-flight message whose invisible time passed without an ack is copied to its
//! group's pop retry topic (queue 0) with `reconsumeTimes + 1`, as Apache 5.x does, and then
//! leaves the ledger. The copy is stored before the REVIVED record is written, so a crash in
//! between revives it again (a duplicate of an unacked message, never a loss).

use std::sync::Arc;
use std::time::Duration;

use ferromq_protocol::message::{decode_all, property, DecodeOptions, MessageExt};
use ferromq_protocol::names::RETRY_TOPIC_PREFIX;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::handle::pop_retry_topic;
use super::ledger::{Entry, Key, Record};
use crate::records::stored;
use crate::state::Broker;

/// Entries revived per pass at most.
const BATCH: usize = 256;
/// Back-off after a failed retry-topic write.
const RETRY_BACKOFF_MS: i64 = 10_000;

/// Starts the revive task (a master only: it writes to the commitlog).
pub(crate) fn start(broker: &Arc<Broker>, stop: &watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(run(broker.clone(), stop.clone()))
}

async fn run(broker: Arc<Broker>, mut stop: watch::Receiver<bool>) {
    loop {
        let every =
            Duration::from_millis(broker.settings().broker.revive_interval.clamp(10, 60_000));
        // Sleep until the earliest entry is due, at most one interval.
        let now = ferromq_common::now_ms();
        let next = broker.pop.ledger.state().due.first().map(|(at, _)| *at);
        let wait = match next {
            Some(at) if at <= now => Duration::ZERO,
            Some(at) => Duration::from_millis(u64::try_from(at - now).unwrap_or(0)).min(every),
            None => every,
        };
        if !wait.is_zero() {
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = broker.pop.revive_wake.notified() => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
        if *stop.borrow() {
            return;
        }
        revive_due(&broker).await;
    }
}

/// Revives every entry due now (at most [`BATCH`]); returns how many were revived.
pub(crate) async fn revive_due(broker: &Broker) -> usize {
    let now = ferromq_common::now_ms();
    let due: Vec<(Key, Entry)> = {
        let mut state = broker.pop.ledger.state();
        let keys: Vec<Key> = state
            .due
            .iter()
            .take_while(|(at, _)| *at <= now)
            .map(|(_, k)| k.clone())
            .collect();
        let mut out = Vec::new();
        for k in keys {
            if out.len() >= BATCH {
                break;
            }
            if let Some(e) = state.inflight.get_mut(&k).filter(|e| !e.busy) {
                e.busy = true;
                out.push((k, e.clone()));
            }
        }
        out
    };
    let mut revived = 0;
    for (key, entry) in due {
        match revive_one(broker, &key, &entry).await {
            Ok(()) => revived += 1,
            Err(reason) => {
                tracing::warn!(group = %key.group, topic = %key.topic, queue = key.queue_id,
                    offset = key.offset, %reason, "pop revive failed; retrying later");
                broker
                    .pop
                    .ledger
                    .state()
                    .postpone(&key, ferromq_common::now_ms() + RETRY_BACKOFF_MS);
            }
        }
    }
    revived
}

async fn revive_one(broker: &Broker, key: &Key, entry: &Entry) -> Result<(), String> {
    let done = Record::Revived {
        g: key.group.clone(),
        t: key.topic.clone(),
        q: key.queue_id,
        o: key.offset,
        pt: entry.pop_time,
    };
    let original = broker
        .store
        .unit(&key.topic, key.queue_id, key.offset)
        .and_then(|u| {
            broker
                .store
                .message_at(u64::try_from(u.commit_log_offset).ok()?)
        })
        .and_then(|bytes| decode_all(&bytes, &DecodeOptions::store()).ok()?.pop());
    let Some(original) = original else {
        // Deleted by retention or with its topic: nothing left to redeliver.
        tracing::warn!(group = %key.group, topic = %key.topic, queue = key.queue_id,
            offset = key.offset, "pop revive: the message is gone; dropping it");
        return broker.pop.write(vec![done]).await;
    };
    let target = if key.topic.starts_with(RETRY_TOPIC_PREFIX) {
        key.topic.clone()
    } else {
        let v2 = broker.settings().broker.enable_retry_topic_v2;
        pop_retry_topic(&key.group, &key.topic, v2)
    };
    broker.ensure_group_topic(&target, 1).await;
    let mut properties = original.properties.clone();
    if original.reconsume_times == 0 || properties.value(property::FIRST_POP_TIME).is_none() {
        properties.insert(property::FIRST_POP_TIME, entry.pop_time.to_string());
    }
    properties.insert(property::WAIT_STORE_MSG_OK, "false");
    let copy = MessageExt {
        topic: target,
        queue_id: 0,
        flag: original.flag,
        body: original.body.clone(),
        properties,
        sys_flag: original.sys_flag,
        born_timestamp: original.born_timestamp,
        born_host: broker.store_host,
        store_host: broker.store_host,
        reconsume_times: original.reconsume_times.saturating_add(1),
        ..MessageExt::default()
    };
    let pending = broker
        .store
        .put_message(&copy)
        .map_err(|e| format!("retry copy not stored: {e}"))?;
    stored(pending).await?;
    broker.pop.write(vec![done]).await
}
