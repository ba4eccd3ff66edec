//! The Apache RocketMQ remoting wire format, with no I/O.
//!
//! Everything a RocketMQ peer puts on a socket or in a store file, as Rust types with encoders
//! and decoders that never panic on bad input:
//!
//! - [`acl`]: ACL 1.0 request signatures (HMAC-SHA1 over the ext fields and body);
//! - [`frame`]: length-prefixed frames and the two header serializations (fastjson-compatible
//!   JSON and the ROCKETMQ binary header), decoding into [`RemotingCommand`];
//! - [`codes`]: request, response and language codes and version ordinals, as open enums;
//! - [`ext`] and [`header`]: the custom header fields (`extFields`) and typed headers for every
//!   request family;
//! - [`json`]: a lenient fastjson-compatible JSON reader and a writer with fastjson's quirks;
//! - [`body`]: the JSON bodies (route data, cluster info, heartbeat, topic configs, ...);
//! - [`message`]: the stored-message codec, batches, message ids, properties, tag hashes and
//!   compression;
//! - [`mux`]: the opaque table of one connection (requests awaiting responses), with no I/O;
//! - [`names`]: the topic and group name rules, and which topics are internal;
//! - [`filter`]: SQL92 message selectors, parsed and evaluated as Apache's broker does.
//!
//! The facts behind every layout are in `docs/protocol.md`; the docs below cite its headings.

#![warn(missing_docs)]

pub mod acl;
mod base64;
pub mod body;
pub mod codes;
pub mod command;
pub mod error;
pub mod ext;
pub mod filter;
pub mod frame;
pub mod header;
pub mod json;
pub mod message;
pub mod mux;
pub mod names;

pub use codes::{LanguageCode, RequestCode, ResponseCode, Version};
pub use command::{RemotingCommand, SerializeType};
pub use error::{ProtocolError, Result};
pub use ext::{CommandHeader, ExtFields};
