//! `RemotingCommand`: the logical request/response carried by every frame (docs/protocol.md,
//! "Commands").

use bytes::Bytes;

use crate::codes::{LanguageCode, RequestCode, ResponseCode, Version};
use crate::error::Result;
use crate::ext::{CommandHeader, ExtFields};

/// Flag bit 0: the command is a response.
pub const FLAG_RESPONSE: i32 = 0x1;
/// Flag bit 1: the request is oneway and must never be answered.
pub const FLAG_ONEWAY: i32 = 0x2;

/// How a command's header is serialized (the top byte of the frame's second word).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum SerializeType {
    /// fastjson-compatible JSON (type 0): what every client understands.
    #[default]
    Json,
    /// The compact ROCKETMQ binary header (type 1).
    RocketMq,
}

impl SerializeType {
    /// The wire byte.
    pub const fn code(self) -> u8 {
        match self {
            SerializeType::Json => 0,
            SerializeType::RocketMq => 1,
        }
    }

    /// The type for a wire byte, if known.
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(SerializeType::Json),
            1 => Some(SerializeType::RocketMq),
            _ => None,
        }
    }
}

/// One remoting command: a request or a response, with its custom header fields and body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemotingCommand {
    /// A [`RequestCode`] in requests, a [`ResponseCode`] in responses.
    pub code: i32,
    /// The sender's language.
    pub language: LanguageCode,
    /// The sender's `MQVersion` ordinal.
    pub version: i32,
    /// Request id; a response carries its request's value.
    pub opaque: i32,
    /// Bit 0 response, bit 1 oneway.
    pub flag: i32,
    /// Error or status text; `None` is omitted on the wire.
    pub remark: Option<String>,
    /// Custom header fields.
    pub ext_fields: ExtFields,
    /// The payload.
    pub body: Bytes,
    /// The header serialization this command was decoded from (informational).
    pub serialize_type: SerializeType,
}

impl Default for RemotingCommand {
    fn default() -> Self {
        RemotingCommand {
            code: 0,
            language: LanguageCode::JAVA,
            version: Version::V5_3_3.0,
            opaque: 0,
            flag: 0,
            remark: None,
            ext_fields: ExtFields::new(),
            body: Bytes::new(),
            serialize_type: SerializeType::Json,
        }
    }
}

impl RemotingCommand {
    /// A request with `code` and no header fields; set `opaque` before sending.
    pub fn request(code: RequestCode) -> Self {
        RemotingCommand {
            code: code.0,
            ..Default::default()
        }
    }

    /// A request carrying a typed custom header.
    pub fn request_with_header<H: CommandHeader>(code: RequestCode, header: &H) -> Self {
        RemotingCommand {
            code: code.0,
            ext_fields: header.to_ext(),
            ..Default::default()
        }
    }

    /// A response with `code` and `remark`, not yet tied to a request (see [`Self::answering`]).
    pub fn response(code: ResponseCode, remark: impl Into<Option<String>>) -> Self {
        RemotingCommand {
            code: code.0,
            flag: FLAG_RESPONSE,
            remark: remark.into(),
            ..Default::default()
        }
    }

    /// A response to `request`: same opaque, response flag set.
    pub fn answering(
        request: &RemotingCommand,
        code: ResponseCode,
        remark: impl Into<Option<String>>,
    ) -> Self {
        RemotingCommand {
            opaque: request.opaque,
            ..RemotingCommand::response(code, remark)
        }
    }

    /// Sets the opaque (builder style).
    pub fn with_opaque(mut self, opaque: i32) -> Self {
        self.opaque = opaque;
        self
    }

    /// Sets the body (builder style).
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Adds a typed header's fields (builder style).
    pub fn with_header<H: CommandHeader>(mut self, header: &H) -> Self {
        header.write_ext(&mut self.ext_fields);
        self
    }

    /// Sets the language (builder style).
    pub fn with_language(mut self, language: LanguageCode) -> Self {
        self.language = language;
        self
    }

    /// Sets the version ordinal (builder style).
    pub fn with_version(mut self, version: Version) -> Self {
        self.version = version.0;
        self
    }

    /// Marks the request oneway (builder style).
    pub fn into_oneway(mut self) -> Self {
        self.flag |= FLAG_ONEWAY;
        self
    }

    /// Whether this is a response.
    pub fn is_response(&self) -> bool {
        self.flag & FLAG_RESPONSE != 0
    }

    /// Whether this is a oneway request (never answered).
    pub fn is_oneway(&self) -> bool {
        self.flag & FLAG_ONEWAY != 0
    }

    /// The code read as a request code.
    pub fn request_code(&self) -> RequestCode {
        RequestCode(self.code)
    }

    /// The code read as a response code.
    pub fn response_code(&self) -> ResponseCode {
        ResponseCode(self.code)
    }

    /// Decodes the custom header as `H`.
    pub fn header<H: CommandHeader>(&self) -> Result<H> {
        H::read_ext(&self.ext_fields)
    }
}
