//! The one error type of the client: a stable [`ErrorKind`], whether retrying may help, the
//! operation that failed, the broker's response code and remark when a broker refused, and the
//! underlying cause as [`std::error::Error::source`].

use std::fmt;

use ferromq_protocol::{ProtocolError, RemotingCommand, ResponseCode};
#[cfg(not(target_arch = "wasm32"))]
use ferromq_remoting::RemotingError;

/// What went wrong, in a form that bindings map to a class or code. New kinds may be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The caller passed something unusable (empty topic, oversized body, bad expression).
    InvalidArgument,
    /// No connection could be made to a name server or broker.
    Connect,
    /// No answer within the request timeout.
    Timeout,
    /// The connection closed before the answer arrived.
    ConnectionClosed,
    /// The topic has no route (unknown to every name server) or no usable queue.
    TopicNotFound,
    /// A broker or name server answered with an error response code (see
    /// [`Error::response_code`]).
    Broker,
    /// A peer sent something that could not be decoded.
    Protocol,
    /// The client, producer or consumer is not started or already shut down.
    IllegalState,
    /// A local file (broadcast offsets) could not be read or written.
    Io,
}

impl ErrorKind {
    /// Every kind, in declaration order (bindings check their mapping against it).
    pub const ALL: [ErrorKind; 9] = [
        ErrorKind::InvalidArgument,
        ErrorKind::Connect,
        ErrorKind::Timeout,
        ErrorKind::ConnectionClosed,
        ErrorKind::TopicNotFound,
        ErrorKind::Broker,
        ErrorKind::Protocol,
        ErrorKind::IllegalState,
        ErrorKind::Io,
    ];

    /// A stable name, e.g. for bindings and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidArgument => "InvalidArgument",
            ErrorKind::Connect => "Connect",
            ErrorKind::Timeout => "Timeout",
            ErrorKind::ConnectionClosed => "ConnectionClosed",
            ErrorKind::TopicNotFound => "TopicNotFound",
            ErrorKind::Broker => "Broker",
            ErrorKind::Protocol => "Protocol",
            ErrorKind::IllegalState => "IllegalState",
            ErrorKind::Io => "Io",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A client error.
pub struct Error {
    kind: ErrorKind,
    operation: &'static str,
    message: String,
    retryable: bool,
    response_code: Option<ResponseCode>,
    remark: Option<String>,
    source: Option<Source>,
}

/// `Result` with the client's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error of `kind` raised by `operation`.
    pub fn new(kind: ErrorKind, operation: &'static str, message: impl Into<String>) -> Self {
        let retryable = matches!(
            kind,
            ErrorKind::Connect | ErrorKind::Timeout | ErrorKind::ConnectionClosed
        );
        Error {
            kind,
            operation,
            message: message.into(),
            retryable,
            response_code: None,
            remark: None,
            source: None,
        }
    }

    /// An [`ErrorKind::InvalidArgument`] error.
    pub fn invalid(operation: &'static str, message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidArgument, operation, message)
    }

    /// An [`ErrorKind::IllegalState`] error.
    pub fn illegal_state(operation: &'static str, message: impl Into<String>) -> Self {
        Error::new(ErrorKind::IllegalState, operation, message)
    }

    /// An [`ErrorKind::Broker`] error from an error response, keeping its code and remark.
    /// Retryable for the codes the Java producer retries on another broker.
    pub fn from_response(operation: &'static str, response: &RemotingCommand) -> Self {
        let code = response.response_code();
        let remark = response.remark.clone();
        let kind = if code == ResponseCode::TOPIC_NOT_EXIST {
            ErrorKind::TopicNotFound
        } else {
            ErrorKind::Broker
        };
        let mut e = Error::new(
            kind,
            operation,
            format!(
                "response code {code} ({})",
                remark.as_deref().unwrap_or("no remark")
            ),
        );
        e.retryable = is_retryable_code(code);
        e.response_code = Some(code);
        e.remark = remark;
        e
    }

    /// Attaches a cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// Overrides the retryable flag.
    pub fn with_retryable(mut self, retryable: bool) -> Self {
        self.retryable = retryable;
        self
    }

    /// The kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The operation that failed (`send`, `pull`, `route`, ...).
    pub fn operation(&self) -> &'static str {
        self.operation
    }

    /// Whether trying again (possibly on another broker) may succeed.
    pub fn is_retryable(&self) -> bool {
        self.retryable
    }

    /// The RocketMQ response code, when a server answered with an error.
    pub fn response_code(&self) -> Option<ResponseCode> {
        self.response_code
    }

    /// The server's remark, when a server answered with an error.
    pub fn remark(&self) -> Option<&str> {
        self.remark.as_deref()
    }

    /// The human-readable message (without operation or source).
    pub fn message(&self) -> &str {
        &self.message
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn remoting(operation: &'static str, addr: &str, e: RemotingError) -> Self {
        let kind = match &e {
            RemotingError::Connect { .. } => ErrorKind::Connect,
            RemotingError::Closed => ErrorKind::ConnectionClosed,
            RemotingError::Timeout(_) => ErrorKind::Timeout,
            _ => ErrorKind::Protocol,
        };
        Error::new(kind, operation, format!("request to {addr} failed")).with_source(e)
    }

    pub(crate) fn protocol(operation: &'static str, e: ProtocolError) -> Self {
        Error::new(ErrorKind::Protocol, operation, "undecodable answer").with_source(e)
    }
}

/// The response codes after which the Java producer retries (on another broker).
fn is_retryable_code(code: ResponseCode) -> bool {
    matches!(
        code,
        ResponseCode::TOPIC_NOT_EXIST
            | ResponseCode::SERVICE_NOT_AVAILABLE
            | ResponseCode::SYSTEM_ERROR
            | ResponseCode::SYSTEM_BUSY
            | ResponseCode::NO_PERMISSION
            | ResponseCode::NO_BUYER_ID
            | ResponseCode::NOT_IN_CURRENT_UNIT
    )
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind)
            .field("operation", &self.operation)
            .field("message", &self.message)
            .field("retryable", &self.retryable);
        if let Some(code) = self.response_code {
            d.field("response_code", &code);
        }
        if let Some(remark) = &self.remark {
            d.field("remark", remark);
        }
        if let Some(source) = &self.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} failed ({}): {}",
            self.operation, self.kind, self.message
        )?;
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|s| s.as_ref() as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_errors_keep_code_remark_and_retryability() {
        let busy = RemotingCommand::response(ResponseCode::SYSTEM_BUSY, Some("busy".to_owned()));
        let e = Error::from_response("send", &busy);
        assert_eq!(e.kind(), ErrorKind::Broker);
        assert_eq!(e.response_code(), Some(ResponseCode::SYSTEM_BUSY));
        assert_eq!(e.remark(), Some("busy"));
        assert!(e.is_retryable());
        let illegal = RemotingCommand::response(ResponseCode::MESSAGE_ILLEGAL, None);
        assert!(!Error::from_response("send", &illegal).is_retryable());
        let missing = RemotingCommand::response(ResponseCode::TOPIC_NOT_EXIST, None);
        assert_eq!(
            Error::from_response("route", &missing).kind(),
            ErrorKind::TopicNotFound
        );
    }

    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn remoting_errors_chain_their_source() {
        let e = Error::remoting(
            "send",
            "127.0.0.1:1",
            RemotingError::Timeout(std::time::Duration::from_secs(1)),
        );
        assert_eq!(e.kind(), ErrorKind::Timeout);
        assert!(e.is_retryable());
        assert!(std::error::Error::source(&e).is_some());
        assert!(e.to_string().contains("send failed (Timeout)"));
    }
}
