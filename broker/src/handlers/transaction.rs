//! END_TRANSACTION: a producer commits or rolls back a half message (docs/protocol.md,
//! "Transactions").

use ferromq_protocol::header::transaction::EndTransactionRequestHeader;
use ferromq_protocol::message::{property, sysflag, TransactionType};
use ferromq_protocol::{CommandHeader, RemotingCommand, ResponseCode};

use crate::response::{bad_header, fail, ok, Response};
use crate::state::Broker;
use crate::transactions::{names_the_message, HALF_TOPIC};

/// `commitOrRollback` values.
const COMMIT: i32 = 8;
const ROLLBACK: i32 = 12;

/// The topic the producer sent a half message to.
pub(crate) fn real_topic(half: &ferromq_protocol::message::MessageExt) -> &str {
    half.properties
        .value(property::REAL_TOPIC)
        .unwrap_or(half.topic.as_str())
}

/// END_TRANSACTION (oneway from clients; answered all the same).
pub(crate) async fn end_transaction(broker: &Broker, req: &RemotingCommand) -> Response {
    if !broker.settings().broker.broker_role.is_master() {
        // Apache answers SLAVE_NOT_AVAILABLE without a remark.
        return fail(
            ResponseCode::SLAVE_NOT_AVAILABLE,
            "this broker is a slave: end transactions on its master",
        );
    }
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
        let born_s = ferromq_common::now_ms().saturating_sub(half.born_timestamp) / 1000;
        broker
            .stats
            .meters
            .committed(real_topic(&half), u64::try_from(born_s).unwrap_or(0));
    } else {
        broker.stats.meters.rolled_back(real_topic(&half));
    }
    broker.write_op(half.queue_offset).await;
    ok()
}
