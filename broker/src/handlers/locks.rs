//! Orderly consumption's queue locks: LOCK_BATCH_MQ and UNLOCK_BATCH_MQ (the table is
//! [`crate::locks::QueueLocks`]).

use std::time::Instant;

use ferromq_protocol::body::{
    LockBatchRequestBody, LockBatchResponseBody, MessageQueue, UnlockBatchRequestBody,
};
use ferromq_protocol::{names, RemotingCommand, ResponseCode};

use crate::response::{fail, ok, Response};
use crate::state::Broker;

/// LOCK_BATCH_MQ: locks what it can of the queues named, answers the queues now held.
pub(crate) fn lock_batch(broker: &Broker, req: &RemotingCommand) -> Response {
    let body = match LockBatchRequestBody::decode(&req.body) {
        Ok(b) => b,
        Err(e) => return fail(ResponseCode::SYSTEM_ERROR, format!("bad lock body: {e}")),
    };
    if let Err(e) = names::check_group(&body.consumer_group) {
        return fail(ResponseCode::INVALID_PARAMETER, e.to_string());
    }
    // Only queues that exist can be locked, so the lock table is bounded by the topics and
    // groups the broker has, whatever a client names.
    let queues: Vec<MessageQueue> = body
        .mq_set
        .into_iter()
        .filter(|mq| broker.existing_queue(&mq.topic, mq.queue_id).is_ok())
        .collect();
    let held = broker.locks.lock(
        &body.consumer_group,
        &body.client_id,
        queues,
        Instant::now(),
    );
    ok().with_body(
        LockBatchResponseBody {
            lock_ok_mq_set: held.into_iter().collect(),
        }
        .encode(),
    )
}

/// UNLOCK_BATCH_MQ: releases the client's locks on the queues named.
pub(crate) fn unlock_batch(broker: &Broker, req: &RemotingCommand) -> Response {
    match UnlockBatchRequestBody::decode(&req.body) {
        Ok(b) => {
            broker
                .locks
                .unlock(&b.consumer_group, &b.client_id, b.mq_set);
            ok()
        }
        Err(e) => fail(ResponseCode::SYSTEM_ERROR, format!("bad unlock body: {e}")),
    }
}
