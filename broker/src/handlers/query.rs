//! Looking messages up: VIEW_MESSAGE_BY_ID (by commitlog offset) and QUERY_MESSAGE (by key,
//! through the index).

use ferromq_protocol::header::query::{
    QueryMessageRequestHeader, QueryMessageResponseHeader, ViewMessageRequestHeader,
};
use ferromq_protocol::{CommandHeader, RemotingCommand, ResponseCode};

use crate::response::{bad_header, fail, ok, Response};
use crate::state::Broker;

/// VIEW_MESSAGE_BY_ID: the record at an offset, if a record starts there.
pub(crate) async fn view_message(broker: &Broker, req: &RemotingCommand) -> Response {
    let h = match ViewMessageRequestHeader::read_ext(&req.ext_fields) {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    match broker.record_at(h.offset).await {
        Ok((record, _)) => ok().with_body(record),
        Err(reason) => fail(
            ResponseCode::SYSTEM_ERROR,
            format!("can not find message by the offset, {}: {reason}", h.offset),
        ),
    }
}

/// QUERY_MESSAGE: the records whose key (or unique id) matches, within a time range.
pub(crate) fn query_message(broker: &Broker, req: &RemotingCommand) -> Response {
    let h = match QueryMessageRequestHeader::read_ext(&req.ext_fields) {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    let max = usize::try_from(h.max_num).unwrap_or(0).max(1);
    let found =
        broker
            .store
            .query_message(&h.topic, &h.key, max, h.begin_timestamp, h.end_timestamp);
    if found.messages.is_empty() {
        return fail(
            ResponseCode::QUERY_NOT_FOUND,
            "can not find message, maybe time range not correct",
        );
    }
    let mut body = Vec::with_capacity(found.messages.iter().map(|m| m.len()).sum());
    for m in &found.messages {
        body.extend_from_slice(m);
    }
    ok().with_header(&QueryMessageResponseHeader {
        index_last_update_timestamp: found.index_last_update_timestamp,
        index_last_update_phyoffset: found.index_last_update_phyoffset,
    })
    .with_body(body)
}
