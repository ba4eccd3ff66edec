//! Transactional messages (docs/protocol.md, "Transactions").
//!
//! - A prepared message is stored as a **half message** in `RMQ_SYS_TRANS_HALF_TOPIC` queue 0,
//!   with its real topic and queue in `REAL_TOPIC` / `REAL_QID`, `__transactionId__` set, and its
//!   transaction bits reset so it gets a consume-queue entry.
//! - END_TRANSACTION (oneway) commits (the real message is stored with the COMMIT type and
//!   `preparedTransactionOffset`) or rolls back; either writes an **op record** to
//!   `RMQ_SYS_TRANS_OP_HALF_TOPIC` (tag `d`, body = the half queue offset followed by a comma).
//! - The checker, every `transactionCheckInterval`, walks half messages without an op record:
//!   one older than `transactionTimeOut` (or its `CHECK_IMMUNITY_TIME_IN_SECONDS`) is re-appended
//!   with `TRANSACTION_CHECK_TIMES` + 1 and CHECK_TRANSACTION_STATE goes to a live producer of its
//!   group; after `transactionCheckMax` checks it is moved to `TRANS_CHECK_MAX_TIME_TOPIC`.
//!
//! Which half offsets are resolved is kept in memory, rebuilt from the op queue at start; the
//! checker's progress is persisted as consumer offsets of group `CID_RMQ_SYS_TRANS`, as Apache
//! does.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use ferromq_protocol::header::transaction::{
    CheckTransactionStateRequestHeader, EndTransactionRequestHeader,
};
use ferromq_protocol::message::{
    create_message_id, decode_all, property, sysflag, DecodeOptions, MessageExt, Properties,
    TransactionType,
};
use ferromq_protocol::{CommandHeader, RemotingCommand, RequestCode, ResponseCode};
use ferromq_store::store::AcceptAll;

use crate::broker::{bad_header, fail, ok, Broker, Response};

/// Where half messages wait.
pub(crate) const HALF_TOPIC: &str = "RMQ_SYS_TRANS_HALF_TOPIC";
/// Where commit/rollback decisions are recorded.
pub(crate) const OP_TOPIC: &str = "RMQ_SYS_TRANS_OP_HALF_TOPIC";
/// Where half messages checked too often go.
pub(crate) const CHECK_MAX_TOPIC: &str = "TRANS_CHECK_MAX_TIME_TOPIC";
/// The group whose offsets record the checker's progress.
const PROGRESS_GROUP: &str = "CID_RMQ_SYS_TRANS";
/// `commitOrRollback` values.
const COMMIT: i32 = 8;
const ROLLBACK: i32 = 12;

/// Resolved half offsets and the checker's positions.
#[derive(Debug, Default)]
pub(crate) struct TransactionState {
    resolved: Mutex<BTreeSet<i64>>,
}

fn is_prepared(m: &MessageExt) -> bool {
    sysflag::transaction_type(m.sys_flag) == TransactionType::Prepared
        || m.properties.value(property::TRANSACTION_PREPARED) == Some("true")
}

/// A retry of a consumed transactional message: it still carries `TRAN_MSG` (committed messages
/// keep it, as in Apache) because the client's fallback for a failed CONSUMER_SEND_MSG_BACK
/// copies every property (and so sets the prepared bit), but it has reconsume times and a delay
/// level. Apache's SendMessageProcessor does not take such a message for a half message.
fn is_retry_of_transactional(m: &MessageExt) -> bool {
    let delayed = m
        .properties
        .value(property::DELAY_TIME_LEVEL)
        .and_then(|l| l.parse::<i32>().ok())
        .is_some_and(|l| l > 0);
    m.reconsume_times > 0 && delayed
}

impl Broker {
    /// Turns a prepared message into a half message; `Err` carries the refusal.
    pub(crate) fn prepare_half(&self, m: &mut MessageExt) -> Result<bool, Response> {
        if !is_prepared(m) {
            return Ok(false);
        }
        if is_retry_of_transactional(m) {
            // Apache stores it with the client's prepared bit, which (by its dispatch rules, not
            // tried) gets no consume-queue entry, so the retry is lost; here it is a normal
            // (delayed) retry.
            m.sys_flag =
                sysflag::with_transaction_type(m.sys_flag, TransactionType::NotTransaction);
            return Ok(false);
        }
        if self.settings().broker.reject_transaction_message {
            return Err(fail(
                ResponseCode::NO_PERMISSION,
                "the broker rejects transactional messages (rejectTransactionMessage)",
            ));
        }
        if let Some(uniq) = m.properties.uniq_key().map(str::to_owned) {
            m.properties.insert(property::TRANSACTION_ID, uniq);
        }
        m.properties.insert(property::REAL_TOPIC, m.topic.as_str());
        m.properties
            .insert(property::REAL_QUEUE_ID, m.queue_id.to_string());
        m.sys_flag = sysflag::with_transaction_type(m.sys_flag, TransactionType::NotTransaction);
        m.topic = HALF_TOPIC.to_owned();
        m.queue_id = 0;
        Ok(true)
    }

    fn half_message(&self, commit_log_offset: i64) -> Option<MessageExt> {
        let record = self
            .store
            .message_at(u64::try_from(commit_log_offset).ok()?)?;
        decode_all(&record, &DecodeOptions::store()).ok()?.pop()
    }

    fn mark_resolved(&self, half_queue_offset: i64) {
        self.transactions
            .resolved
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(half_queue_offset);
    }

    fn is_resolved(&self, half_queue_offset: i64) -> bool {
        self.transactions
            .resolved
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&half_queue_offset)
    }

    async fn write_op(&self, half_queue_offset: i64) {
        let mut properties = Properties::new();
        properties.insert(property::TAGS, "d");
        properties.insert(property::WAIT_STORE_MSG_OK, "false");
        let op = MessageExt {
            topic: OP_TOPIC.to_owned(),
            queue_id: 0,
            body: Bytes::from(format!("{half_queue_offset},")),
            properties,
            born_timestamp: crate::now_ms(),
            born_host: self.store_host,
            store_host: self.store_host,
            ..MessageExt::default()
        };
        let written = match self.store.put_message(&op) {
            Ok(p) => crate::broker::stored(p).await.map(|_| ()),
            Err(e) => Err(e.to_string()),
        };
        match written {
            Ok(()) => self.mark_resolved(half_queue_offset),
            // Unresolved, the half message is checked back later: at least once, never lost.
            Err(reason) => tracing::error!(%reason, "cannot write a transaction op record"),
        }
    }

    /// Puts `m` into `topic` (created when missing) as a normal message.
    async fn put_as(&self, mut m: MessageExt, topic: &str, queue_id: i32) -> Result<(), String> {
        self.ensure_delivery_topic(topic).await;
        m.topic = topic.to_owned();
        m.queue_id = queue_id;
        m.store_host = self.store_host;
        let pending = self.store.put_message(&m).map_err(|e| e.to_string())?;
        crate::broker::stored(pending).await.map(|_| ())
    }

    /// Rebuilds the resolved set from op records not yet behind the checker (at start).
    pub(crate) fn load_transaction_state(&self) {
        let from = self.offsets.query(PROGRESS_GROUP, OP_TOPIC, 0).unwrap_or(0);
        let max = self.store.max_offset_in_queue(OP_TOPIC, 0);
        let mut offset = from;
        while offset < max {
            let r = self
                .store
                .get_message(OP_TOPIC, 0, offset, 32, usize::MAX, &AcceptAll);
            if r.messages.is_empty() {
                break;
            }
            for record in &r.messages {
                if let Ok(ms) = decode_all(record, &DecodeOptions::store()) {
                    for m in ms {
                        for o in String::from_utf8_lossy(&m.body)
                            .split(',')
                            .filter_map(|s| s.trim().parse().ok())
                        {
                            self.mark_resolved(o);
                        }
                    }
                }
            }
            offset = r.next_begin_offset;
        }
    }
}

/// Whether `msg_id` (a client's message id: the UNIQ_KEY, or the offsetMsgId where there is
/// none) names `m`; an empty id names nothing in particular and passes.
pub(crate) fn names_the_message(msg_id: &str, m: &MessageExt, broker: &Broker) -> bool {
    let msg_id = msg_id.trim();
    msg_id.is_empty()
        || m.properties
            .uniq_key()
            .is_some_and(|u| u.eq_ignore_ascii_case(msg_id))
        || create_message_id(m.store_host, m.commit_log_offset).eq_ignore_ascii_case(msg_id)
        || create_message_id(broker.store_host, m.commit_log_offset).eq_ignore_ascii_case(msg_id)
}

pub(crate) async fn end_transaction(broker: &Broker, req: &RemotingCommand) -> Response {
    let h = match EndTransactionRequestHeader::read_ext(&req.ext_fields) {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    if h.commit_or_rollback != COMMIT && h.commit_or_rollback != ROLLBACK {
        return ok(); // unknown: leave it for the checker
    }
    let half = match broker.record_at(h.commit_log_offset).await {
        Ok((_, half)) => half,
        Err(reason) => {
            return fail(
                ResponseCode::SYSTEM_ERROR,
                format!("find prepared transaction message failed: {reason}"),
            )
        }
    };
    if half.topic != HALF_TOPIC
        || half.properties.value(property::PRODUCER_GROUP) != Some(h.producer_group.as_str())
        || half.queue_offset != h.tran_state_table_offset
        || !names_the_message(&h.msg_id, &half, broker)
    {
        return fail(
            ResponseCode::SYSTEM_ERROR,
            "the producer group, queue offset, message id or commitlog offset does not match the prepared message",
        );
    }
    if broker.is_resolved(half.queue_offset) {
        return ok();
    }
    if h.commit_or_rollback == COMMIT {
        let (topic, queue_id) = match broker.real_destination(&half) {
            Ok(destination) => destination,
            Err(reason) => {
                return fail(
                    ResponseCode::SYSTEM_ERROR,
                    format!("the prepared message cannot be committed: {reason}"),
                )
            }
        };
        // Every property of the half message stays, `TRAN_MSG=true` too: Apache 5.3.3 delivers
        // committed messages with it (compat_broker_transaction_sql_timer shows both).
        let mut real = half.clone();
        real.sys_flag = sysflag::with_transaction_type(real.sys_flag, TransactionType::Commit);
        real.prepared_transaction_offset = half.commit_log_offset;
        // A committed message with a delay level or timer properties waits like any other.
        real.topic = topic;
        real.queue_id = queue_id;
        if let Err(refusal) = broker.park_if_delayed(&mut real) {
            return refusal;
        }
        let (topic, queue_id) = (real.topic.clone(), real.queue_id);
        if let Err(e) = broker.put_as(real, &topic, queue_id).await {
            return fail(ResponseCode::SYSTEM_ERROR, format!("commit failed: {e}"));
        }
    }
    broker.write_op(half.queue_offset).await;
    ok()
}

/// One checker pass over the half queue.
async fn check_round(broker: &Broker) {
    let settings = broker.settings();
    let b = &settings.broker;
    let mut progress = broker
        .offsets
        .query(PROGRESS_GROUP, HALF_TOPIC, 0)
        .unwrap_or(0);
    let max = broker.store.max_offset_in_queue(HALF_TOPIC, 0);
    let round_start = crate::now_ms();
    let mut offset = progress;
    while offset < max {
        let resolved = broker.is_resolved(offset);
        let Some(unit) = broker.store.unit(HALF_TOPIC, 0, offset) else {
            break;
        };
        if !resolved {
            let Some(half) = broker.half_message(unit.commit_log_offset) else {
                break;
            };
            if half.store_timestamp >= round_start {
                break;
            }
            let checks: i32 = half
                .properties
                .value(property::TRANSACTION_CHECK_TIMES)
                .and_then(|c| c.parse().ok())
                .unwrap_or(0);
            if checks >= b.transaction_check_max {
                tracing::warn!(offset, checks, "transaction checked too often: discarded");
                let _ = broker.put_as(half, CHECK_MAX_TOPIC, 0).await;
                broker.write_op(offset).await;
            } else {
                let immunity = half
                    .properties
                    .value(property::CHECK_IMMUNITY_TIME_IN_SECONDS)
                    .and_then(|s| s.parse::<i64>().ok())
                    .map(|s| s.saturating_mul(1000))
                    .unwrap_or(i64::try_from(b.transaction_time_out).unwrap_or(6000));
                if crate::now_ms().saturating_sub(half.store_timestamp) < immunity {
                    break;
                }
                check_back(broker, half, checks.saturating_add(1)).await;
                // The re-appended copy carries the check from now on.
                broker.mark_resolved(offset);
            }
        }
        offset += 1;
        if broker.is_resolved(progress) && progress + 1 == offset {
            progress = offset;
        }
    }
    broker
        .offsets
        .commit(PROGRESS_GROUP, HALF_TOPIC, 0, progress);
}

/// Re-appends a half message with its check count and asks one live producer of its group.
async fn check_back(broker: &Broker, mut half: MessageExt, checks: i32) {
    half.properties
        .insert(property::TRANSACTION_CHECK_TIMES, checks.to_string());
    let group = half
        .properties
        .value(property::PRODUCER_GROUP)
        .unwrap_or_default()
        .to_owned();
    let appended = match broker.store.put_message(&MessageExt {
        store_host: broker.store_host,
        ..half.clone()
    }) {
        Ok(p) => match crate::broker::stored(p).await {
            Ok(appended) => appended,
            Err(reason) => {
                tracing::error!(%reason, "cannot re-append a half message");
                return;
            }
        },
        Err(e) => {
            tracing::error!(error = %e, "cannot re-append a half message");
            return;
        }
    };
    let Some(producer) = broker
        .clients
        .producer_connections(&group)
        .into_iter()
        .next()
    else {
        tracing::debug!(%group, "no live producer to check a transaction with");
        return;
    };
    let commit_log_offset = i64::try_from(appended.append.commit_log_offset).unwrap_or(0);
    let uniq = half.properties.uniq_key().map(str::to_owned);
    let header = CheckTransactionStateRequestHeader {
        topic: Some(HALF_TOPIC.to_owned()),
        tran_state_table_offset: appended.append.queue_offset,
        commit_log_offset,
        msg_id: uniq.clone(),
        transaction_id: half
            .properties
            .value(property::TRANSACTION_ID)
            .map(str::to_owned)
            .or(uniq),
        offset_msg_id: Some(create_message_id(broker.store_host, commit_log_offset)),
        ..Default::default()
    };
    // The body is the message as the producer sent it: real topic and queue restored.
    let mut view = half;
    view.topic = view
        .properties
        .value(property::REAL_TOPIC)
        .unwrap_or_default()
        .to_owned();
    view.queue_id = view
        .properties
        .value(property::REAL_QUEUE_ID)
        .and_then(|q| q.parse().ok())
        .unwrap_or(0);
    view.queue_offset = appended.append.queue_offset;
    view.commit_log_offset = commit_log_offset;
    let body = match view.encode_to_bytes() {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "cannot encode a check-back body");
            return;
        }
    };
    let cmd = RemotingCommand::request_with_header(RequestCode::CHECK_TRANSACTION_STATE, &header)
        .with_body(body);
    if let Err(e) = producer.conn.request_oneway(cmd).await {
        tracing::debug!(error = %e, "check-back not sent");
    }
}

/// The checker loop (master only).
pub(crate) async fn checker(broker: Arc<Broker>, mut stop: tokio::sync::watch::Receiver<bool>) {
    broker.load_transaction_state();
    loop {
        let every =
            Duration::from_millis(broker.settings().broker.transaction_check_interval.max(100));
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        check_round(&broker).await;
    }
}
