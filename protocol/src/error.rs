//! The one error type of the wire layer.

use std::borrow::Cow;

/// Why bytes could not be decoded into (or a value encoded as) RocketMQ wire data.
///
/// Decoders return this for every malformed input; they never panic and never allocate more than
/// the configured frame limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The input ended before `what` was complete.
    #[error("{what} is truncated: needs {needed} bytes, {available} available")]
    Truncated {
        /// The structure being decoded.
        what: &'static str,
        /// Bytes the structure needs.
        needed: usize,
        /// Bytes that were there.
        available: usize,
    },
    /// A length exceeds a limit (frame size, header size, field width).
    #[error("{what} of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// The structure whose size is over the limit.
        what: &'static str,
        /// Its size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The bytes are not a valid `what`.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// The structure being decoded.
        what: &'static str,
        /// What is wrong with it.
        reason: Cow<'static, str>,
    },
    /// A required (`@CFNotNull`) header field is absent.
    #[error("{header}: required field `{field}` is missing")]
    MissingField {
        /// The header type.
        header: &'static str,
        /// The wire key of the field.
        field: &'static str,
    },
    /// A header field is present but cannot be parsed as its type.
    #[error("{header}: field `{field}` has an invalid value {value:?}")]
    InvalidField {
        /// The header type.
        header: &'static str,
        /// The wire key of the field.
        field: &'static str,
        /// The offending text.
        value: String,
    },
    /// JSON text that even a lenient (fastjson-like) reader rejects.
    #[error("invalid JSON at byte {offset}: {reason}")]
    Json {
        /// Byte offset of the error.
        offset: usize,
        /// What was expected.
        reason: Cow<'static, str>,
    },
}

impl ProtocolError {
    /// Shorthand for [`ProtocolError::Malformed`].
    pub fn malformed(what: &'static str, reason: impl Into<Cow<'static, str>>) -> Self {
        ProtocolError::Malformed {
            what,
            reason: reason.into(),
        }
    }

    /// Shorthand for [`ProtocolError::Truncated`].
    pub fn truncated(what: &'static str, needed: usize, available: usize) -> Self {
        ProtocolError::Truncated {
            what,
            needed,
            available,
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = ProtocolError> = std::result::Result<T, E>;
