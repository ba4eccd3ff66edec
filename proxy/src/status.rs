//! gRPC answers: the `Status` (a [`Code`] and a message) inside each response, as Apache's
//! `ResponseBuilder` builds it, and the one error type of the proxy.

use ferromq_protocol::{RemotingCommand, ResponseCode};

use crate::pb::{Code, Status};

/// A failed request: the [`Code`] the client sees and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyError {
    /// The answer's code.
    pub code: Code,
    /// The answer's message.
    pub message: String,
}

/// Result of the proxy's operations.
pub type ProxyResult<T> = Result<T, ProxyError>;

impl ProxyError {
    /// An error with `code` and `message`.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        ProxyError {
            code,
            message: message.into(),
        }
    }

    /// `BAD_REQUEST` with `message`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ProxyError::new(Code::BadRequest, message)
    }

    /// The error of a broker or name server answer that was not SUCCESS (Apache's
    /// `RESPONSE_CODE_MAPPING`; anything unmapped is `INTERNAL_SERVER_ERROR`).
    pub fn from_response(response: &RemotingCommand) -> Self {
        let code = response.response_code();
        let message = response
            .remark
            .clone()
            .unwrap_or_else(|| code.value().to_string());
        ProxyError::new(code_of(code), message)
    }

    /// The error of a request that never got an answer.
    pub fn remoting(error: impl std::fmt::Display) -> Self {
        let text = error.to_string();
        let code = if text.contains("timed out") || text.contains("timeout") {
            Code::ProxyTimeout
        } else {
            Code::InternalServerError
        };
        ProxyError::new(code, text)
    }

    /// This error as the `Status` of a response.
    pub fn status(&self) -> Status {
        status(self.code, &self.message)
    }
}

impl std::fmt::Display for ProxyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str_name(), self.message)
    }
}

impl std::error::Error for ProxyError {}

/// A `Status` with `code` and `message`.
pub fn status(code: Code, message: &str) -> Status {
    Status {
        code: code as i32,
        message: message.to_owned(),
    }
}

/// `OK` with the message `OK`, as Apache answers.
pub fn ok() -> Status {
    status(Code::Ok, "OK")
}

/// Apache's mapping of a remoting response code to a gRPC [`Code`].
pub fn code_of(code: ResponseCode) -> Code {
    match code {
        ResponseCode::SUCCESS => Code::Ok,
        ResponseCode::SYSTEM_BUSY => Code::TooManyRequests,
        ResponseCode::REQUEST_CODE_NOT_SUPPORTED => Code::NotImplemented,
        ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST => Code::ConsumerGroupNotFound,
        ResponseCode::TOPIC_NOT_EXIST => Code::TopicNotFound,
        ResponseCode::NO_PERMISSION => Code::Forbidden,
        ResponseCode::MESSAGE_ILLEGAL => Code::BadRequest,
        ResponseCode::FLUSH_DISK_TIMEOUT => Code::MasterPersistenceTimeout,
        ResponseCode::FLUSH_SLAVE_TIMEOUT => Code::SlavePersistenceTimeout,
        ResponseCode::SLAVE_NOT_AVAILABLE => Code::HaNotAvailable,
        _ => Code::InternalServerError,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_remoting_codes_like_apache() {
        assert_eq!(code_of(ResponseCode::SUCCESS), Code::Ok);
        assert_eq!(code_of(ResponseCode::SYSTEM_BUSY), Code::TooManyRequests);
        assert_eq!(
            code_of(ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST),
            Code::ConsumerGroupNotFound
        );
        assert_eq!(code_of(ResponseCode(9999)), Code::InternalServerError);
        let r = RemotingCommand::response(ResponseCode::TOPIC_NOT_EXIST, "no topic".to_owned());
        let e = ProxyError::from_response(&r);
        assert_eq!(e.code, Code::TopicNotFound);
        assert_eq!(e.status().message, "no topic");
    }
}
