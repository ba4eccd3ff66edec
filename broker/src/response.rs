//! Building responses: every handler answers through these, so a refusal always carries a
//! response code and a reason.

use ferromq_protocol::{ProtocolError, RemotingCommand, ResponseCode};

/// A response to one request.
pub(crate) type Response = RemotingCommand;

/// SUCCESS, no remark.
pub(crate) fn ok() -> Response {
    RemotingCommand::response(ResponseCode::SUCCESS, None)
}

/// A refusal: `code` with the reason as remark.
pub(crate) fn fail(code: ResponseCode, remark: impl Into<String>) -> Response {
    RemotingCommand::response(code, Some(remark.into()))
}

/// The refusal of a request whose header does not decode (Apache answers SYSTEM_ERROR).
pub(crate) fn bad_header(e: ProtocolError) -> Response {
    fail(
        ResponseCode::SYSTEM_ERROR,
        format!("bad request header: {e}"),
    )
}
