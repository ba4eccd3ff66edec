//! Transactional messages (docs/protocol.md, "Transactions"): the half and op records that
//! END_TRANSACTION ([`crate::handlers::transaction`]) and the checker
//! ([`crate::services::transaction_check`]) share.
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

use bytes::Bytes;
use ferromq_protocol::message::{
    create_message_id, decode_all, property, sysflag, DecodeOptions, MessageExt, Properties,
    TransactionType,
};
use ferromq_protocol::ResponseCode;
use ferromq_store::store::AcceptAll;

use crate::records::stored;
use crate::response::{fail, Response};
use crate::state::Broker;

/// Where half messages wait.
pub(crate) const HALF_TOPIC: &str = "RMQ_SYS_TRANS_HALF_TOPIC";
/// Where commit/rollback decisions are recorded.
pub(crate) const OP_TOPIC: &str = "RMQ_SYS_TRANS_OP_HALF_TOPIC";
/// Where half messages checked too often go.
pub(crate) const CHECK_MAX_TOPIC: &str = "TRANS_CHECK_MAX_TIME_TOPIC";
/// The group whose offsets record the checker's progress.
pub(crate) const PROGRESS_GROUP: &str = "CID_RMQ_SYS_TRANS";

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

    /// The half message stored at `commit_log_offset`.
    pub(crate) fn half_message(&self, commit_log_offset: i64) -> Option<MessageExt> {
        let record = self
            .store
            .message_at(u64::try_from(commit_log_offset).ok()?)?;
        decode_all(&record, &DecodeOptions::store()).ok()?.pop()
    }

    /// Records that the half message at `half_queue_offset` has its op record.
    pub(crate) fn mark_resolved(&self, half_queue_offset: i64) {
        self.resolved_halves.insert(half_queue_offset);
    }

    /// Whether the half message at `half_queue_offset` has its op record.
    pub(crate) fn is_resolved(&self, half_queue_offset: i64) -> bool {
        self.resolved_halves.contains(half_queue_offset)
    }

    /// Writes the op record resolving the half message at `half_queue_offset`.
    pub(crate) async fn write_op(&self, half_queue_offset: i64) {
        let mut properties = Properties::new();
        properties.insert(property::TAGS, "d");
        properties.insert(property::WAIT_STORE_MSG_OK, "false");
        let op = MessageExt {
            topic: OP_TOPIC.to_owned(),
            queue_id: 0,
            body: Bytes::from(format!("{half_queue_offset},")),
            properties,
            born_timestamp: ferromq_common::now_ms(),
            born_host: self.store_host,
            store_host: self.store_host,
            ..MessageExt::default()
        };
        let written = match self.store.put_message(&op) {
            Ok(p) => stored(p).await.map(|_| ()),
            Err(e) => Err(e.to_string()),
        };
        match written {
            Ok(()) => self.mark_resolved(half_queue_offset),
            // Unresolved, the half message is checked back later: at least once, never lost.
            Err(reason) => tracing::error!(%reason, "cannot write a transaction op record"),
        }
    }

    /// Puts `m` into `topic` (created when missing) as a normal message.
    pub(crate) async fn put_as(
        &self,
        mut m: MessageExt,
        topic: &str,
        queue_id: i32,
    ) -> Result<(), String> {
        self.ensure_delivery_topic(topic).await;
        m.topic = topic.to_owned();
        m.queue_id = queue_id;
        m.store_host = self.store_host;
        let pending = self.store.put_message(&m).map_err(|e| e.to_string())?;
        stored(pending).await.map(|_| ())
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
