//! Decoding stored records and message bodies (docs/protocol.md, "Stored message record").
//!
//! [`decode_record`] reads one record (or the end-of-file blank) at an offset, for a store
//! walking its files; [`decode_messages`] and [`decode_all`] read a pull / query / view body.
//! [`decode_record_parts`] and [`decode_all_parts`] do the same checks but leave the topic and
//! the properties as the stored bytes ([`MessageParts`]), for a reader (the client's
//! consumers) that decodes them only when asked.

use std::net::SocketAddr;

use bytes::Bytes;

use super::compress::decompress;
use super::cursor::{i32_at, Cursor};
use super::msgid::ip_from_slice;
use super::properties::Properties;
use super::stored::{
    body_crc, MessageExt, MessageVersion, RecordHead, BLANK_HEADER_LEN, BLANK_MAGIC_CODE,
    DEFAULT_MAX_DECOMPRESSED_SIZE,
};
use super::sysflag;
use crate::error::{ProtocolError, Result};

const WHAT: &str = "stored message";

/// What one position of a commitlog or message body holds.
// Boxing the message would cost an allocation per record for the sake of the rare blank.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredRecord {
    /// A message record.
    Message(MessageExt),
    /// End-of-file padding: `len` (its TOTALSIZE, at least 8) is the space left in the file, which
    /// may extend past the bytes given to the decoder. Readers skip to the next file.
    Blank {
        /// The declared length of the padding.
        len: usize,
    },
}

/// How [`decode_record`] treats the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Check BODYCRC against the stored body (store recovery does; clients do not).
    pub verify_crc: bool,
    /// Decompress a compressed body and clear the compressed sysFlag bit (Java client decode).
    pub decompress: bool,
    /// Largest body decompression may produce; beyond it decoding fails.
    pub max_decompressed_size: usize,
}

impl Default for DecodeOptions {
    /// Raw decoding: no CRC check, no decompression.
    fn default() -> Self {
        DecodeOptions {
            verify_crc: false,
            decompress: false,
            max_decompressed_size: DEFAULT_MAX_DECOMPRESSED_SIZE,
        }
    }
}

impl DecodeOptions {
    /// What a client does with a pull body: decompress, no CRC check.
    pub const fn client() -> Self {
        DecodeOptions {
            verify_crc: false,
            decompress: true,
            max_decompressed_size: DEFAULT_MAX_DECOMPRESSED_SIZE,
        }
    }

    /// What store recovery does: verify CRCs, keep bodies as stored.
    pub const fn store() -> Self {
        DecodeOptions {
            verify_crc: true,
            decompress: false,
            max_decompressed_size: DEFAULT_MAX_DECOMPRESSED_SIZE,
        }
    }
}

fn read_host(cur: &mut Cursor<'_>, v6: bool, field: &'static str) -> Result<SocketAddr> {
    let ip = cur.take(if v6 { 16 } else { 4 }, field)?;
    let ip = ip_from_slice(ip).ok_or_else(|| ProtocolError::malformed(WHAT, "bad address"))?;
    let port = cur.i32(field)?;
    let port = u16::try_from(port)
        .map_err(|_| ProtocolError::malformed(WHAT, format!("{field} port {port} out of range")))?;
    Ok(SocketAddr::new(ip, port))
}

/// Decodes the record at `offset` in `buf`, returning it and its length (TOTALSIZE).
///
/// Never panics and never allocates according to a length field: every length is checked
/// against TOTALSIZE, and TOTALSIZE against the input. The fields must add up to TOTALSIZE
/// exactly. The topic must be UTF-8; properties are decoded leniently (see
/// [`Properties::decode_bytes`]).
pub fn decode_record(
    buf: &Bytes,
    offset: usize,
    opts: &DecodeOptions,
) -> Result<(StoredRecord, usize)> {
    Ok(match decode_record_parts(buf, offset, opts)? {
        (RecordParts::Message(parts), len) => (StoredRecord::Message(parts.into_message()), len),
        (RecordParts::Blank { len }, total) => (StoredRecord::Blank { len }, total),
    })
}

/// A message record with its topic and properties left as the bytes they are stored as (no
/// `String` for the topic, no map for the properties): what a reader that needs only some
/// of a record, or needs them later, decodes ([`decode_record_parts`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageParts {
    /// Every field but the topic and the properties (those are empty here).
    pub head: MessageExt,
    /// The topic, checked to be UTF-8 (see [`Self::topic`]).
    pub topic: Bytes,
    /// The PROPERTIES text as stored.
    pub properties: Bytes,
}

impl MessageParts {
    /// The topic.
    pub fn topic(&self) -> &str {
        // Checked when decoded; a failure here cannot happen and yields "".
        std::str::from_utf8(&self.topic).unwrap_or_default()
    }

    /// The properties, decoded as [`decode_record`] decodes them.
    pub fn decode_properties(&self) -> Properties {
        Properties::decode_bytes(&self.properties)
    }

    /// The whole message, as [`decode_record`] returns it.
    pub fn into_message(self) -> MessageExt {
        let mut msg = self.head;
        msg.topic = std::str::from_utf8(&self.topic)
            .unwrap_or_default()
            .to_owned();
        msg.properties = Properties::decode_bytes(&self.properties);
        msg
    }
}

/// What [`decode_record_parts`] found at one position.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordParts {
    /// A message record.
    Message(MessageParts),
    /// End-of-file padding (see [`StoredRecord::Blank`]).
    Blank {
        /// The declared length of the padding.
        len: usize,
    },
}

/// [`decode_record`] without building the topic `String` and the properties map: the same
/// checks and errors, the topic and the properties as slices of `buf`.
pub fn decode_record_parts(
    buf: &Bytes,
    offset: usize,
    opts: &DecodeOptions,
) -> Result<(RecordParts, usize)> {
    let input = buf.get(offset..).unwrap_or_default();
    let decompressed = |head: &RecordHead, body: &[u8]| -> Result<Option<Vec<u8>>> {
        if !(opts.decompress && sysflag::is_compressed(head.sys_flag)) {
            return Ok(None);
        }
        let ty = sysflag::compression_type(head.sys_flag)?;
        decompress(body, ty, opts.max_decompressed_size).map(Some)
    };
    let (record, plain) = match parse_record(input, opts.verify_crc, decompressed)? {
        Parsed::Message(record, plain) => (record, plain),
        Parsed::Blank(len) if len < BLANK_HEADER_LEN => {
            return Err(ProtocolError::malformed(
                WHAT,
                "blank record shorter than 8 bytes",
            ))
        }
        Parsed::Blank(len) => return Ok((RecordParts::Blank { len }, len)),
    };
    let mut head = record.head;
    // The body, topic and properties are slices of `buf`.
    let body = match plain {
        Some(plain) => {
            head.sys_flag = sysflag::clear_compressed(head.sys_flag);
            Bytes::from(plain)
        }
        None => buf.slice_ref(record.body),
    };
    let parts = MessageParts {
        head: head.into_message(record.total as i32, body),
        topic: buf.slice_ref(record.topic.as_bytes()),
        properties: buf.slice_ref(record.properties),
    };
    Ok((RecordParts::Message(parts), record.total))
}

/// A stored message record checked and split by [`parse_record`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordLayout<'a> {
    /// TOTALSIZE.
    pub(crate) total: usize,
    /// The fixed fields, the version (magic code) included.
    pub(crate) head: RecordHead,
    /// BODY, as stored.
    pub(crate) body: &'a [u8],
    /// TOPIC.
    pub(crate) topic: &'a str,
    /// PROPERTIES, undecoded.
    pub(crate) properties: &'a [u8],
}

/// What [`parse_record`] found at the start of its input.
#[derive(Debug)]
pub(crate) enum Parsed<'a, T> {
    /// A blank (end-of-file) record of this TOTALSIZE (not checked against the 8-byte minimum).
    Blank(usize),
    /// A message record, and what the body check returned for it.
    Message(RecordLayout<'a>, T),
}

/// Reads the record at the start of `input`: what every reader of stored records
/// ([`decode_record_parts`], [`RecordView::parse`](super::RecordView::parse)) checks, in one
/// order, so that they fail alike.
///
/// TOTALSIZE must not be negative and must fit in `input`; the magic code must be a message's
/// or the blank's (a blank is returned without reading further); every length is checked
/// against TOTALSIZE and the fields must add up to it exactly; ports must be in range; with
/// `verify_crc`, BODYCRC must match the body; the topic must be UTF-8. `on_body` runs right
/// after the CRC check and before the topic is read (a decoder decompresses there), so its
/// error comes before the errors of the fields after the body.
#[inline]
pub(crate) fn parse_record<'a, T>(
    input: &'a [u8],
    verify_crc: bool,
    on_body: impl FnOnce(&RecordHead, &'a [u8]) -> Result<T>,
) -> Result<Parsed<'a, T>> {
    let (Some(total), Some(magic)) = (i32_at(input, 0), i32_at(input, 4)) else {
        return Err(ProtocolError::truncated(
            WHAT,
            BLANK_HEADER_LEN,
            input.len(),
        ));
    };
    let total = usize::try_from(total)
        .map_err(|_| ProtocolError::malformed(WHAT, format!("negative TOTALSIZE {total}")))?;
    if magic == BLANK_MAGIC_CODE {
        return Ok(Parsed::Blank(total));
    }
    let version = MessageVersion::from_magic_code(magic).ok_or_else(|| {
        ProtocolError::malformed(WHAT, format!("unknown magic code {:#010X}", magic as u32))
    })?;
    if total > input.len() {
        return Err(ProtocolError::truncated(WHAT, total, input.len()));
    }
    let mut cur = Cursor::new(WHAT, &input[..total]);
    cur.take(8, "TOTALSIZE")?;
    let crc = cur.i32("BODYCRC")?;
    let queue_id = cur.i32("QUEUEID")?;
    let flag = cur.i32("FLAG")?;
    let queue_offset = cur.i64("QUEUEOFFSET")?;
    let commit_log_offset = cur.i64("PHYSICALOFFSET")?;
    let sys_flag = cur.i32("SYSFLAG")?;
    let born_timestamp = cur.i64("BORNTIMESTAMP")?;
    let born_v6 = sysflag::check(sys_flag, sysflag::BORNHOST_V6);
    let born_host = read_host(&mut cur, born_v6, "BORNHOST")?;
    let store_timestamp = cur.i64("STORETIMESTAMP")?;
    let store_v6 = sysflag::check(sys_flag, sysflag::STOREHOST_V6);
    let store_host = read_host(&mut cur, store_v6, "STOREHOST")?;
    let head = RecordHead {
        version,
        body_crc: crc,
        queue_id,
        flag,
        queue_offset,
        commit_log_offset,
        sys_flag,
        born_timestamp,
        born_host,
        store_timestamp,
        store_host,
        reconsume_times: cur.i32("RECONSUMETIMES")?,
        prepared_transaction_offset: cur.i64("PREPARED TRANSACTION OFFSET")?,
    };

    let body_len = cur.i32("BODYLEN")?;
    let body = cur.counted(i64::from(body_len), "BODYLEN", "BODY")?;
    if verify_crc && body_crc(body) != crc {
        return Err(ProtocolError::malformed(WHAT, "body CRC mismatch"));
    }
    let checked = on_body(&head, body)?;

    let topic_len = match version {
        MessageVersion::V1 => i64::from(cur.i8("TOPICLEN")?),
        MessageVersion::V2 => i64::from(cur.i16("TOPICLEN")?),
    };
    let topic = std::str::from_utf8(cur.counted(topic_len, "TOPICLEN", "TOPIC")?)
        .map_err(|_| ProtocolError::malformed(WHAT, "topic is not UTF-8"))?;

    let props_len = cur.i16("PROPERTIESLEN")?;
    let properties = cur.counted(i64::from(props_len), "PROPERTIESLEN", "PROPERTIES")?;
    cur.end("PROPERTIES")?;
    let record = RecordLayout {
        total,
        head,
        body,
        topic,
        properties,
    };
    Ok(Parsed::Message(record, checked))
}

/// Iterates the messages of a pull / query / view body (records back to back until the end).
///
/// Yields each message or the first error, after which it stops. A blank record is an error
/// here: brokers never send one.
#[derive(Debug, Clone)]
pub struct MessageIter<'a> {
    buf: &'a Bytes,
    pos: usize,
    opts: DecodeOptions,
    failed: bool,
}

impl Iterator for MessageIter<'_> {
    type Item = Result<MessageExt>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.buf.len() {
            return None;
        }
        let item = match decode_record(self.buf, self.pos, &self.opts) {
            Ok((StoredRecord::Message(msg), len)) => {
                self.pos += len;
                Ok(msg)
            }
            Ok((StoredRecord::Blank { .. }, _)) => Err(ProtocolError::malformed(
                WHAT,
                "blank (end-of-file) record in a message body",
            )),
            Err(e) => Err(e),
        };
        self.failed = item.is_err();
        Some(item)
    }
}

impl std::iter::FusedIterator for MessageIter<'_> {}

/// The messages of a pull / query / view body, lazily.
pub fn decode_messages<'a>(buf: &'a Bytes, opts: &DecodeOptions) -> MessageIter<'a> {
    MessageIter {
        buf,
        pos: 0,
        opts: *opts,
        failed: false,
    }
}

/// The messages of a pull / query / view body as [`MessageParts`], or the first error (the
/// same errors as [`decode_all`]).
pub fn decode_all_parts(buf: &Bytes, opts: &DecodeOptions) -> Result<Vec<MessageParts>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        match decode_record_parts(buf, pos, opts)? {
            (RecordParts::Message(parts), len) => {
                out.push(parts);
                pos += len;
            }
            (RecordParts::Blank { .. }, _) => {
                return Err(ProtocolError::malformed(
                    WHAT,
                    "blank (end-of-file) record in a message body",
                ))
            }
        }
    }
    Ok(out)
}

/// All messages of a pull / query / view body, or the first error.
pub fn decode_all(buf: &Bytes, opts: &DecodeOptions) -> Result<Vec<MessageExt>> {
    decode_messages(buf, opts).collect()
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;

    use super::*;
    use crate::message::property;

    fn record(topic: &str) -> Bytes {
        let mut properties = Properties::new();
        properties.insert(property::TAGS, "TagA");
        properties.insert(property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX, "ID");
        let msg = MessageExt {
            topic: topic.to_owned(),
            queue_offset: 7,
            body: Bytes::from_static(b"hello"),
            properties,
            ..MessageExt::default()
        };
        let mut buf = BytesMut::new();
        msg.encode(&mut buf).expect("encode");
        buf.freeze()
    }

    #[test]
    fn parts_are_the_record_without_its_topic_and_properties_built() {
        let buf = record("TopicA");
        let opts = DecodeOptions::client();
        let (StoredRecord::Message(whole), len) = decode_record(&buf, 0, &opts).expect("record")
        else {
            panic!("a message");
        };
        let (RecordParts::Message(parts), parts_len) =
            decode_record_parts(&buf, 0, &opts).expect("parts")
        else {
            panic!("a message");
        };
        assert_eq!(len, parts_len);
        assert_eq!(parts.topic(), "TopicA");
        assert!(parts.head.topic.is_empty() && parts.head.properties.is_empty());
        assert_eq!(parts.decode_properties(), whole.properties);
        assert_eq!(parts.into_message(), whole);
        let two = [buf.clone(), buf].concat();
        let all = decode_all_parts(&Bytes::from(two), &opts).expect("two");
        assert_eq!(all.len(), 2);
    }

    #[test]
    fn parts_fail_as_the_record_does() {
        let buf = record("TopicA");
        let opts = DecodeOptions::client();
        // Cut at every byte: the same error, or both succeed.
        for cut in 0..buf.len() {
            let short = buf.slice(..cut);
            let whole = decode_record(&short, 0, &opts).map(|(_, n)| n);
            let parts = decode_record_parts(&short, 0, &opts).map(|(_, n)| n);
            assert_eq!(whole, parts, "cut at {cut}");
            assert_eq!(
                decode_all(&short, &opts).map(|v| v.len()),
                decode_all_parts(&short, &opts).map(|v| v.len()),
                "cut at {cut}"
            );
        }
        // A topic that is not UTF-8.
        let mut bad = buf.to_vec();
        let at = bad.windows(6).position(|w| w == b"TopicA").expect("topic");
        bad[at] = 0xFF;
        let bad = Bytes::from(bad);
        assert!(decode_record_parts(&bad, 0, &opts).is_err());
        assert_eq!(
            decode_record(&bad, 0, &opts).map(|(_, n)| n),
            decode_record_parts(&bad, 0, &opts).map(|(_, n)| n)
        );
    }
}
