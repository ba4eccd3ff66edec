//! Orderly (FIFO) POP (docs/pop.md, "Orderly pop"): a queue popped with `order=true` is blocked
//! for the group until every message of the last batch is acked or visible again; then the
//! unacked ones come again, from the same queue, in order, with a delivery count
//! (`orderCountInfo`). No revive and no retry topic: the batch itself is the state, kept in the
//! pop ledger (`OrderPop`, `OrderAck`, `OrderChange` records).

use std::collections::BTreeMap;

use ferromq_protocol::header::pop::ChangeInvisibleTimeResponseHeader;
use ferromq_protocol::{RemotingCommand, ResponseCode};

use crate::pop::handle::ExtraInfo;
use crate::pop::ledger::Record;
use crate::response::{fail, ok, Response};
use crate::state::Broker;

/// The revive queue id that marks an orderly handle (Apache's `POP_ORDER_REVIVE_QUEUE`).
pub(crate) const ORDER_REVIVE_QID: i32 = 999;

/// Whether the group's last orderly batch on the queue blocks a pop with `attempt_id` now.
pub(crate) fn blocked(
    broker: &Broker,
    group: &str,
    topic: &str,
    queue_id: i32,
    attempt_id: Option<&str>,
    now: i64,
) -> bool {
    broker
        .pop
        .ledger
        .state()
        .orders
        .get(&(group.to_owned(), topic.to_owned(), queue_id))
        .is_some_and(|b| b.blocks(attempt_id, now))
}

/// The delivery counts of a new batch: an offset that was in the previous batch counts one
/// more delivery (the same as before for a retry of the same attempt, as Apache does).
pub(crate) fn counts(
    broker: &Broker,
    group: &str,
    topic: &str,
    queue_id: i32,
    attempt_id: Option<&str>,
    offsets: &[i64],
) -> BTreeMap<i64, i32> {
    let state = broker.pop.ledger.state();
    let Some(prev) = state
        .orders
        .get(&(group.to_owned(), topic.to_owned(), queue_id))
    else {
        return BTreeMap::new();
    };
    if prev.attempt_id.is_some() && prev.attempt_id.as_deref() == attempt_id {
        return prev.counts.clone();
    }
    offsets
        .iter()
        .filter(|o| prev.offsets.contains(o))
        .map(|o| (*o, prev.counts.get(o).copied().unwrap_or(0) + 1))
        .collect()
}

/// The `orderCountInfo` entries of one queue's batch: `retry qo<queueId>%<offset> count` per
/// counted offset, then `retry queueId minCount` (0 when some offset was never delivered).
pub(crate) fn count_info(
    queue_id: i32,
    offsets: &[i64],
    counts: &BTreeMap<i64, i32>,
) -> Vec<String> {
    let mut out: Vec<String> = counts
        .iter()
        .map(|(o, c)| format!("0 qo{queue_id}%{o} {c}"))
        .collect();
    let min = if counts.len() != offsets.len() {
        0
    } else {
        counts.values().copied().min().unwrap_or(0)
    };
    out.push(format!("0 {queue_id} {min}"));
    out
}

/// ACK_MESSAGE with an orderly handle (Apache's ackOrderly / commitAndNext).
pub(crate) async fn ack(
    broker: &Broker,
    group: &str,
    topic: &str,
    queue_id: i32,
    offset: i64,
    handle: &ExtraInfo,
) -> Response {
    let key = (group.to_owned(), topic.to_owned(), queue_id);
    {
        let state = broker.pop.ledger.state();
        if state.offsets.get(&key).is_some_and(|c| offset < *c) {
            // Already consumed.
            return ok();
        }
        let Some(batch) = state.orders.get(&key) else {
            return ok();
        };
        if batch.offsets.is_empty() {
            return fail(ResponseCode::MESSAGE_ILLEGAL, "the orderly batch is empty");
        }
        if batch.pop_time != handle.pop_time {
            // A stale handle (the queue was popped again since).
            return ok();
        }
        if !batch.offsets.contains(&offset) {
            return fail(
                ResponseCode::MESSAGE_ILLEGAL,
                format!("offset {offset} is not in the orderly batch"),
            );
        }
    }
    let rec = Record::OrderAck {
        g: group.to_owned(),
        t: topic.to_owned(),
        q: queue_id,
        o: offset,
        pt: handle.pop_time,
    };
    if let Err(reason) = broker.pop.write(vec![rec]).await {
        return fail(ResponseCode::SYSTEM_ERROR, reason);
    }
    if let Some(next) = broker.pop.offset(group, topic, queue_id) {
        broker.offsets.commit(group, topic, queue_id, next);
    }
    // The queue may be unblocked now: let parked pops look again.
    broker.message_arrived(topic, queue_id);
    ok()
}

/// CHANGE_MESSAGE_INVISIBLETIME with an orderly handle: the offset becomes visible at
/// `now + invisibleTime`; the answer keeps the batch's pop time.
pub(crate) async fn change(
    broker: &Broker,
    group: &str,
    topic: &str,
    queue_id: i32,
    offset: i64,
    handle: &ExtraInfo,
    invisible_time: i64,
) -> Response {
    let now = ferromq_common::now_ms();
    let at = now.saturating_add(invisible_time);
    let key = (group.to_owned(), topic.to_owned(), queue_id);
    let applies = {
        let state = broker.pop.ledger.state();
        let consumed = state.offsets.get(&key).is_some_and(|c| offset < *c);
        !consumed
            && state
                .orders
                .get(&key)
                .is_some_and(|b| b.pop_time == handle.pop_time && b.offsets.contains(&offset))
    };
    if applies {
        let rec = Record::OrderChange {
            g: group.to_owned(),
            t: topic.to_owned(),
            q: queue_id,
            o: offset,
            pt: handle.pop_time,
            at,
        };
        if let Err(reason) = broker.pop.write(vec![rec]).await {
            return fail(ResponseCode::SYSTEM_ERROR, reason);
        }
    }
    let header = ChangeInvisibleTimeResponseHeader {
        pop_time: handle.pop_time,
        invisible_time: at - handle.pop_time,
        revive_qid: ORDER_REVIVE_QID,
    };
    RemotingCommand::response(ResponseCode::SUCCESS, None).with_header(&header)
}
