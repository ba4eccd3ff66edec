//! Queue offsets: a group's committed offset (QUERY_CONSUMER_OFFSET, UPDATE_CONSUMER_OFFSET) and
//! a queue's bounds (GET_MAX_OFFSET, GET_MIN_OFFSET, SEARCH_OFFSET_BY_TIMESTAMP,
//! GET_EARLIEST_MSG_STORETIME), and the delay levels' progress (GET_ALL_DELAY_OFFSET).

use ferromq_protocol::header::offset::*;
use ferromq_protocol::header::BoundaryType;
use ferromq_protocol::{CommandHeader, RemotingCommand, ResponseCode};

use crate::response::{bad_header, fail, ok, Response};
use crate::state::Broker;

/// QUERY_CONSUMER_OFFSET.
pub(crate) fn query_consumer_offset(broker: &Broker, req: &RemotingCommand) -> Response {
    let h = match QueryConsumerOffsetRequestHeader::read_ext(&req.ext_fields) {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    if let Some(offset) = broker
        .offsets
        .query(&h.consumer_group, &h.topic, h.queue_id)
    {
        return ok().with_header(&QueryConsumerOffsetResponseHeader { offset });
    }
    // Apache answers 0 for a group's first boot when the queue's first message is still
    // "in memory"; the whole of a live queue counts as such here.
    if h.set_zero_if_not_found != Some(false)
        && broker.store.min_offset_in_queue(&h.topic, h.queue_id) <= 0
    {
        return ok().with_header(&QueryConsumerOffsetResponseHeader { offset: 0 });
    }
    fail(
        ResponseCode::QUERY_NOT_FOUND,
        "Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first",
    )
}

/// UPDATE_CONSUMER_OFFSET, checked as Apache 5.x checks it: the group exists (or may be
/// created), the topic exists and the queue is one of its queues, so a client cannot grow the
/// offset table with names of its own.
pub(crate) fn update_consumer_offset(broker: &Broker, req: &RemotingCommand) -> Response {
    let h = match UpdateConsumerOffsetRequestHeader::read_ext(&req.ext_fields) {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    if let Err(refusal) = broker.group_for(&h.consumer_group) {
        return refusal;
    }
    if let Err(refusal) = broker.existing_queue(&h.topic, h.queue_id) {
        return refusal;
    }
    broker
        .offsets
        .commit(&h.consumer_group, &h.topic, h.queue_id, h.commit_offset);
    ok()
}

/// GET_MAX_OFFSET: the offset the queue's next message gets.
pub(crate) fn max_offset(broker: &Broker, req: &RemotingCommand) -> Response {
    match GetMaxOffsetRequestHeader::read_ext(&req.ext_fields) {
        Ok(h) => ok().with_header(&GetMaxOffsetResponseHeader {
            offset: broker.store.max_offset_in_queue(&h.topic, h.queue_id),
        }),
        Err(e) => bad_header(e),
    }
}

/// GET_MIN_OFFSET: the queue's first offset still stored.
pub(crate) fn min_offset(broker: &Broker, req: &RemotingCommand) -> Response {
    match GetMinOffsetRequestHeader::read_ext(&req.ext_fields) {
        Ok(h) => ok().with_header(&GetMinOffsetResponseHeader {
            offset: broker.store.min_offset_in_queue(&h.topic, h.queue_id),
        }),
        Err(e) => bad_header(e),
    }
}

/// SEARCH_OFFSET_BY_TIMESTAMP: the first (or, with the upper boundary, last) offset stored at
/// or after a time.
pub(crate) fn search_offset(broker: &Broker, req: &RemotingCommand) -> Response {
    match SearchOffsetRequestHeader::read_ext(&req.ext_fields) {
        Ok(h) => {
            let upper = matches!(h.boundary_type, Some(BoundaryType::Upper));
            ok().with_header(&SearchOffsetResponseHeader {
                offset: broker
                    .store
                    .offset_by_time(&h.topic, h.queue_id, h.timestamp, upper),
            })
        }
        Err(e) => bad_header(e),
    }
}

/// GET_EARLIEST_MSG_STORETIME: the store time of the queue's first message (0 when empty).
pub(crate) fn earliest_time(broker: &Broker, req: &RemotingCommand) -> Response {
    match GetEarliestMsgStoretimeRequestHeader::read_ext(&req.ext_fields) {
        Ok(h) => ok().with_header(&GetEarliestMsgStoretimeResponseHeader {
            timestamp: broker
                .store
                .earliest_message_time(&h.topic, h.queue_id)
                .unwrap_or(0),
        }),
        Err(e) => bad_header(e),
    }
}

/// GET_ALL_DELAY_OFFSET: the delay levels' progress as `delayOffset.json` holds it (what a
/// slave syncs).
pub(crate) fn all_delay_offsets(broker: &Broker) -> Response {
    ok().with_body(broker.delay_offsets.encode().into_bytes())
}
