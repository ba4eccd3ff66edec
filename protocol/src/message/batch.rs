//! The SEND_BATCH_MESSAGE body (docs/protocol.md, "Batch body", Java
//! `MessageDecoder.encodeMessages`).
//!
//! Each message is written as:
//!
//! | field | size | value |
//! |---|---|---|
//! | TOTALSIZE | 4 | `22 + body + properties` |
//! | MAGICCODE | 4 | 0 |
//! | BODYCRC | 4 | 0 |
//! | FLAG | 4 | user flag |
//! | BODYLEN + BODY | 4 + n | never compressed |
//! | PROPERTIESLEN + PROPERTIES | 2 + n | this message's own properties string |
//!
//! The topic and the batch-level properties travel in the request header. 5.x inner-batch
//! records (sysFlag `INNER_BATCH | NEED_UNWRAP`) carry the same layout as their body.

use bytes::{BufMut, Bytes, BytesMut};

use super::cursor::{i32_at, Cursor};
use super::properties::{Properties, MAX_PROPERTIES_LEN};
use crate::error::{ProtocolError, Result};

/// Fixed bytes of one batch entry: TOTALSIZE, MAGICCODE, BODYCRC, FLAG, BODYLEN, PROPERTIESLEN.
pub const BATCH_ENTRY_OVERHEAD: usize = 4 + 4 + 4 + 4 + 4 + 2;

const WHAT: &str = "batch message";

/// One message of a batch: what the batch body carries of it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchMessage {
    /// User flag.
    pub flag: i32,
    /// Body (uncompressed).
    pub body: Bytes,
    /// This message's properties (UNIQ_KEY, KEYS, TAGS, WAIT, ...).
    pub properties: Properties,
}

impl BatchMessage {
    /// Length of this entry in the batch body.
    pub fn encoded_len(&self) -> usize {
        BATCH_ENTRY_OVERHEAD + self.body.len() + self.properties.encoded_len()
    }
}

/// Length of the batch body for `messages`.
pub fn batch_encoded_len(messages: &[BatchMessage]) -> usize {
    messages.iter().map(BatchMessage::encoded_len).sum()
}

/// Writes the batch body for `messages` into `dst` and returns its length.
///
/// Fails, writing nothing, if a properties string exceeds 32767 bytes, an entry exceeds
/// `i32::MAX` bytes, or `dst` lacks room. The Java client's other rules (same topic, same WAIT,
/// no DELAY, no retry topic) concern the request and are the caller's.
pub fn encode_batch<B: BufMut + ?Sized>(messages: &[BatchMessage], dst: &mut B) -> Result<usize> {
    let mut total = 0usize;
    for m in messages {
        let props = m.properties.encoded_len();
        if props > MAX_PROPERTIES_LEN {
            return Err(ProtocolError::TooLarge {
                what: "batch message properties",
                len: props,
                max: MAX_PROPERTIES_LEN,
            });
        }
        let len = m.encoded_len();
        if len > i32::MAX as usize {
            return Err(ProtocolError::TooLarge {
                what: WHAT,
                len,
                max: i32::MAX as usize,
            });
        }
        total = total.saturating_add(len);
    }
    if dst.remaining_mut() < total {
        return Err(ProtocolError::TooLarge {
            what: "batch body (destination buffer)",
            len: total,
            max: dst.remaining_mut(),
        });
    }
    for m in messages {
        // Checked above: every length fits its field.
        dst.put_i32(m.encoded_len() as i32);
        dst.put_i32(0);
        dst.put_i32(0);
        dst.put_i32(m.flag);
        dst.put_i32(m.body.len() as i32);
        dst.put_slice(&m.body);
        dst.put_i16(m.properties.encoded_len() as i16);
        m.properties.encode_to(dst);
    }
    Ok(total)
}

/// The batch body for `messages` as a fresh buffer.
pub fn encode_batch_to_bytes(messages: &[BatchMessage]) -> Result<Bytes> {
    let mut buf = BytesMut::with_capacity(batch_encoded_len(messages));
    encode_batch(messages, &mut buf)?;
    Ok(buf.freeze())
}

/// One message of a batch body as it arrived: its properties not decoded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawBatchEntry {
    /// User flag.
    pub flag: i32,
    /// Body: a zero-copy slice of the batch body.
    pub body: Bytes,
    /// The properties text: a zero-copy slice of the batch body.
    pub properties: Bytes,
}

/// Reads the entry at `offset` of a batch body without decoding its properties, returning it
/// and its length (the checks of [`decode_batch_entry`]).
pub fn decode_batch_raw_entry(buf: &Bytes, offset: usize) -> Result<(RawBatchEntry, usize)> {
    let input = buf.get(offset..).unwrap_or_default();
    let total = i32_at(input, 0).ok_or_else(|| ProtocolError::truncated(WHAT, 4, input.len()))?;
    let total = usize::try_from(total)
        .map_err(|_| ProtocolError::malformed(WHAT, format!("negative TOTALSIZE {total}")))?;
    if total < BATCH_ENTRY_OVERHEAD {
        return Err(ProtocolError::malformed(
            WHAT,
            format!("TOTALSIZE {total} below the {BATCH_ENTRY_OVERHEAD}-byte minimum"),
        ));
    }
    if total > input.len() {
        return Err(ProtocolError::truncated(WHAT, total, input.len()));
    }
    let mut cur = Cursor::new(WHAT, &input[..total]);
    cur.take(12, "TOTALSIZE, MAGICCODE and BODYCRC")?;
    let flag = cur.i32("FLAG")?;
    let body_len = cur.i32("BODYLEN")?;
    let body = cur.counted(i64::from(body_len), "BODYLEN", "BODY")?;
    let props_len = cur.i16("PROPERTIESLEN")?;
    let properties = cur.counted(i64::from(props_len), "PROPERTIESLEN", "PROPERTIES")?;
    cur.end("PROPERTIES")?;
    // Both are slices of `buf`.
    let entry = RawBatchEntry {
        flag,
        body: buf.slice_ref(body),
        properties: buf.slice_ref(properties),
    };
    Ok((entry, total))
}

/// Decodes the entry at `offset` of a batch body, returning it and its length.
///
/// Bodies are zero-copy slices of `buf`. TOTALSIZE must match the entry's fields exactly;
/// MAGICCODE and BODYCRC are ignored, as the broker does.
pub fn decode_batch_entry(buf: &Bytes, offset: usize) -> Result<(BatchMessage, usize)> {
    let (raw, total) = decode_batch_raw_entry(buf, offset)?;
    let message = BatchMessage {
        flag: raw.flag,
        body: raw.body,
        properties: Properties::decode_bytes(&raw.properties),
    };
    Ok((message, total))
}

/// Reads a whole batch body without decoding properties (the broker's send path).
pub fn decode_batch_raw(buf: &Bytes) -> Result<Vec<RawBatchEntry>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let (entry, len) = decode_batch_raw_entry(buf, pos)?;
        out.push(entry);
        pos += len;
    }
    Ok(out)
}

/// Decodes a whole batch body (the broker splits it into messages).
pub fn decode_batch(buf: &Bytes) -> Result<Vec<BatchMessage>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let (message, len) = decode_batch_entry(buf, pos)?;
        out.push(message);
        pos += len;
    }
    Ok(out)
}
