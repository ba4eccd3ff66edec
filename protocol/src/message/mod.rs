//! Message encodings (docs/protocol.md, "Message encodings"), shared by the broker store and the
//! client.
//!
//! - [`stored`]: the stored record, which is also the pull / query / view body
//!   ([`MessageExt`], [`MessageExt::encode`]), and [`decode`] its decoders ([`decode_record`],
//!   [`decode_messages`], [`decode_all`]);
//! - [`batch`]: the SEND_BATCH_MESSAGE body ([`BatchMessage`], [`encode_batch`],
//!   [`decode_batch`]);
//! - [`properties`]: the properties string ([`Properties`]) and the well-known names
//!   ([`property`]); [`scan`] reads and extends the string without decoding it;
//! - [`wire`]: a message to store whose properties stay the client's text ([`WireMessage`]), and
//!   what a store needs of a message ([`EncodeRecord`]); [`view`]: the fields of a stored record
//!   read in place ([`RecordView`]);
//! - [`sysflag`]: the message sysFlag bits;
//! - [`msgid`]: the offsetMsgId ([`MessageId`]);
//! - [`uniq`]: the UNIQ_KEY client message id ([`UniqIdGenerator`], [`UniqKey`]);
//! - [`tag`]: tag hash codes and TAG subscriptions ([`tag_hash_code`], [`TagSubscription`]);
//! - [`compress`](mod@compress): zlib, LZ4 and Zstandard bodies ([`CompressionType`], [`compress()`],
//!   [`decompress`]).
//!
//! Decoders never panic and never allocate according to an unchecked length field; every
//! failure is a [`crate::ProtocolError`].

pub mod batch;
pub mod compress;
mod cursor;
pub mod decode;
mod hex;
pub mod msgid;
pub mod properties;
pub mod scan;
pub mod stored;
pub mod sysflag;
pub mod tag;
pub mod uniq;
pub mod view;
pub mod wire;

pub use batch::{
    batch_encoded_len, decode_batch, decode_batch_entry, decode_batch_raw, encode_batch,
    encode_batch_to_bytes, BatchMessage, RawBatchEntry,
};
pub use compress::{compress, decompress, CompressionType};
pub use decode::{
    decode_all, decode_all_parts, decode_messages, decode_record, decode_record_parts,
    DecodeOptions, MessageIter, MessageParts, RecordParts, StoredRecord,
};
pub use msgid::{create_message_id, MessageId};
pub use properties::{property, Properties};
pub use stored::{
    body_crc, MessageExt, MessageVersion, BLANK_MAGIC_CODE, MESSAGE_MAGIC_CODE_V1,
    MESSAGE_MAGIC_CODE_V2,
};
pub use sysflag::TransactionType;
pub use tag::{tag_hash_code, TagSubscription};
pub use uniq::{UniqIdGenerator, UniqKey};
pub use view::RecordView;
pub use wire::{Appended, EncodeRecord, WireMessage};
