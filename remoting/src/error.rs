//! Transport errors.

use std::time::Duration;

use ferromq_protocol::ProtocolError;

/// Why a remoting call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemotingError {
    /// The peer could not be reached.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// The address dialed.
        addr: String,
        /// The socket error.
        source: std::io::Error,
    },
    /// The connection closed before the response arrived.
    #[error("connection closed")]
    Closed,
    /// No response within the timeout.
    #[error("no response within {0:?}")]
    Timeout(Duration),
    /// The command could not be encoded.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
}

impl RemotingError {
    /// Whether trying again (possibly elsewhere) may succeed.
    pub fn is_retryable(&self) -> bool {
        !matches!(self, RemotingError::Protocol(_))
    }
}
