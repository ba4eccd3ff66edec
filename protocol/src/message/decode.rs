//! Decoding stored records and message bodies (docs/protocol.md, "Stored message record").
//!
//! [`decode_record`] reads one record (or the end-of-file blank) at an offset, for a store
//! walking its files; [`decode_messages`] and [`decode_all`] read a pull / query / view body.

use std::net::SocketAddr;

use bytes::Bytes;

use super::compress::decompress;
use super::cursor::{i32_at, Cursor};
use super::msgid::ip_from_slice;
use super::properties::Properties;
use super::stored::{
    body_crc, MessageExt, MessageVersion, BLANK_HEADER_LEN, BLANK_MAGIC_CODE,
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
    let input = buf.get(offset..).unwrap_or_default();
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
        if total < BLANK_HEADER_LEN {
            return Err(ProtocolError::malformed(
                WHAT,
                "blank record shorter than 8 bytes",
            ));
        }
        return Ok((StoredRecord::Blank { len: total }, total));
    }
    let version = MessageVersion::from_magic_code(magic).ok_or_else(|| {
        ProtocolError::malformed(WHAT, format!("unknown magic code {:#010X}", magic as u32))
    })?;
    if total > input.len() {
        return Err(ProtocolError::truncated(WHAT, total, input.len()));
    }
    let mut cur = Cursor::new(WHAT, &input[..total]);
    cur.take(8, "TOTALSIZE")?;
    let mut msg = MessageExt {
        store_size: total as i32,
        version,
        body_crc: cur.i32("BODYCRC")?,
        queue_id: cur.i32("QUEUEID")?,
        flag: cur.i32("FLAG")?,
        queue_offset: cur.i64("QUEUEOFFSET")?,
        commit_log_offset: cur.i64("PHYSICALOFFSET")?,
        sys_flag: cur.i32("SYSFLAG")?,
        ..MessageExt::default()
    };
    msg.born_timestamp = cur.i64("BORNTIMESTAMP")?;
    msg.born_host = read_host(
        &mut cur,
        sysflag::check(msg.sys_flag, sysflag::BORNHOST_V6),
        "BORNHOST",
    )?;
    msg.store_timestamp = cur.i64("STORETIMESTAMP")?;
    msg.store_host = read_host(
        &mut cur,
        sysflag::check(msg.sys_flag, sysflag::STOREHOST_V6),
        "STOREHOST",
    )?;
    msg.reconsume_times = cur.i32("RECONSUMETIMES")?;
    msg.prepared_transaction_offset = cur.i64("PREPARED TRANSACTION OFFSET")?;

    let body_len = cur.i32("BODYLEN")?;
    let body_len = cur.len_from(i64::from(body_len), "BODYLEN")?;
    let body_start = offset + cur.pos();
    let body = cur.take(body_len, "BODY")?;
    if opts.verify_crc && body_crc(body) != msg.body_crc {
        return Err(ProtocolError::malformed(WHAT, "body CRC mismatch"));
    }
    msg.body = if opts.decompress && sysflag::is_compressed(msg.sys_flag) {
        let ty = sysflag::compression_type(msg.sys_flag)?;
        let plain = decompress(body, ty, opts.max_decompressed_size)?;
        msg.sys_flag = sysflag::clear_compressed(msg.sys_flag);
        Bytes::from(plain)
    } else {
        buf.slice(body_start..body_start + body_len)
    };

    let topic_len = match version {
        MessageVersion::V1 => i64::from(cur.i8("TOPICLEN")?),
        MessageVersion::V2 => i64::from(cur.i16("TOPICLEN")?),
    };
    let topic_len = cur.len_from(topic_len, "TOPICLEN")?;
    let topic = cur.take(topic_len, "TOPIC")?;
    msg.topic = std::str::from_utf8(topic)
        .map_err(|_| ProtocolError::malformed(WHAT, "topic is not UTF-8"))?
        .to_owned();

    let props_len = cur.i16("PROPERTIESLEN")?;
    let props_len = cur.len_from(i64::from(props_len), "PROPERTIESLEN")?;
    msg.properties = Properties::decode_bytes(cur.take(props_len, "PROPERTIES")?);

    if cur.remaining() != 0 {
        return Err(ProtocolError::malformed(
            WHAT,
            format!(
                "{} bytes after PROPERTIES within TOTALSIZE",
                cur.remaining()
            ),
        ));
    }
    Ok((StoredRecord::Message(msg), total))
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

/// All messages of a pull / query / view body, or the first error.
pub fn decode_all(buf: &Bytes, opts: &DecodeOptions) -> Result<Vec<MessageExt>> {
    decode_messages(buf, opts).collect()
}
