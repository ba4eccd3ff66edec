//! The stored message record (docs/protocol.md, "Stored message record"; docs/store.md, "Commitlog
//! records").
//!
//! One layout serves the commitlog, the pull / POP / QUERY_MESSAGE / VIEW_MESSAGE_BY_ID bodies
//! and the CHECK_TRANSACTION_STATE body. All integers are big endian:
//!
//! | field | size |
//! |---|---|
//! | TOTALSIZE | 4 (whole record) |
//! | MAGICCODE | 4 ([`MessageVersion`]) |
//! | BODYCRC, QUEUEID, FLAG | 4 each |
//! | QUEUEOFFSET, PHYSICALOFFSET | 8 each |
//! | SYSFLAG | 4 |
//! | BORNTIMESTAMP | 8 |
//! | BORNHOST | 4 + 4, or 16 + 4 with sysFlag bit 4 |
//! | STORETIMESTAMP | 8 |
//! | STOREHOST | 4 + 4, or 16 + 4 with sysFlag bit 5 |
//! | RECONSUMETIMES | 4 |
//! | PREPARED TRANSACTION OFFSET | 8 |
//! | BODYLEN + BODY | 4 + n |
//! | TOPICLEN + TOPIC | 1 + n (v1, signed) or 2 + n (v2) |
//! | PROPERTIESLEN + PROPERTIES | 2 + n (signed, at most 32767) |
//!
//! A record starting with a TOTALSIZE and the [`BLANK_MAGIC_CODE`] is the end-of-file padding a
//! commitlog file ends with; [`decode_record`](super::decode_record) reports it as
//! [`StoredRecord::Blank`](super::StoredRecord::Blank). The decoders are in [`super::decode`].

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use bytes::{BufMut, Bytes, BytesMut};

use super::msgid::create_message_id;
use super::properties::{Properties, MAX_PROPERTIES_LEN};
use super::sysflag::{self, TransactionType};
use crate::error::{ProtocolError, Result};

/// Magic code of a v1 record (1-byte topic length): `0xDAA320A7`.
pub const MESSAGE_MAGIC_CODE_V1: i32 = 0xDAA3_20A7_u32 as i32;
/// Magic code of a v2 record (2-byte topic length, 5.x): `0xDAA320AB`.
pub const MESSAGE_MAGIC_CODE_V2: i32 = 0xDAA3_20AB_u32 as i32;
/// Magic code of the end-of-file padding record: `0xCBD43194`.
pub const BLANK_MAGIC_CODE: i32 = 0xCBD4_3194_u32 as i32;
/// Size of a blank record's header (TOTALSIZE + MAGICCODE); the minimum blank length.
pub const BLANK_HEADER_LEN: usize = 8;
/// Longest topic a v1 record can carry (its length is a signed byte).
pub const MAX_TOPIC_LEN_V1: usize = i8::MAX as usize;
/// Longest topic a v2 record can carry (its length is a signed short).
pub const MAX_TOPIC_LEN_V2: usize = i16::MAX as usize;
/// Default [`DecodeOptions::max_decompressed_size`](super::DecodeOptions::max_decompressed_size): 64 MiB.
pub const DEFAULT_MAX_DECOMPRESSED_SIZE: usize = 64 * 1024 * 1024;

/// The record format version, given by the magic code.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum MessageVersion {
    /// Magic `0xDAA320A7`: 1-byte (signed) topic length. The only one 4.x and non-Java clients know.
    #[default]
    V1,
    /// Magic `0xDAA320AB` (5.x): 2-byte topic length.
    V2,
}

impl MessageVersion {
    /// The magic code written for this version.
    pub const fn magic_code(self) -> i32 {
        match self {
            MessageVersion::V1 => MESSAGE_MAGIC_CODE_V1,
            MessageVersion::V2 => MESSAGE_MAGIC_CODE_V2,
        }
    }

    /// The version a magic code stands for, if it is a message magic code.
    pub const fn from_magic_code(magic: i32) -> Option<Self> {
        match magic {
            MESSAGE_MAGIC_CODE_V1 => Some(MessageVersion::V1),
            MESSAGE_MAGIC_CODE_V2 => Some(MessageVersion::V2),
            _ => None,
        }
    }

    /// Width of the topic length field.
    pub const fn topic_len_size(self) -> usize {
        match self {
            MessageVersion::V1 => 1,
            MessageVersion::V2 => 2,
        }
    }
}

/// A stored message: every field of the record (Java `MessageExt`).
///
/// Built by [`decode_record`](super::decode_record) (the body is a zero-copy slice of the input) or by hand for
/// [`encode`](MessageExt::encode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageExt {
    /// TOTALSIZE as read. [`encode`](Self::encode) ignores it and writes the real length.
    pub store_size: i32,
    /// The record version (magic code). Encoding upgrades to v2 when the topic needs it.
    pub version: MessageVersion,
    /// `CRC32(body) & 0x7FFFFFFF` of the stored body; see [`body_crc`].
    pub body_crc: i32,
    /// Queue id.
    pub queue_id: i32,
    /// User flag.
    pub flag: i32,
    /// Logical offset in the consume queue.
    pub queue_offset: i64,
    /// Physical (commitlog) offset of the record.
    pub commit_log_offset: i64,
    /// The sysFlag (see [`sysflag`]). Encoding derives the two IPv6 bits from the hosts.
    pub sys_flag: i32,
    /// Producer clock, ms since the epoch.
    pub born_timestamp: i64,
    /// Producer address.
    pub born_host: SocketAddr,
    /// Broker clock at store time, ms since the epoch.
    pub store_timestamp: i64,
    /// Broker (store) address; with the offset it forms the offsetMsgId.
    pub store_host: SocketAddr,
    /// Number of redeliveries.
    pub reconsume_times: i32,
    /// Commitlog offset of the half message for committed transactional messages, else 0.
    pub prepared_transaction_offset: i64,
    /// The body (as stored: compressed if the compressed sysFlag bit is set).
    pub body: Bytes,
    /// The topic.
    pub topic: String,
    /// The properties.
    pub properties: Properties,
}

impl Default for MessageExt {
    fn default() -> Self {
        let unspecified = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);
        MessageExt {
            store_size: 0,
            version: MessageVersion::V1,
            body_crc: 0,
            queue_id: 0,
            flag: 0,
            queue_offset: 0,
            commit_log_offset: 0,
            sys_flag: 0,
            born_timestamp: 0,
            born_host: unspecified,
            store_timestamp: 0,
            store_host: unspecified,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: Bytes::new(),
            topic: String::new(),
            properties: Properties::new(),
        }
    }
}

/// `CRC32(body) & 0x7FFFFFFF`, the BODYCRC field (Java `UtilAll.crc32`).
pub fn body_crc(body: &[u8]) -> i32 {
    (crc32fast::hash(body) & 0x7FFF_FFFF) as i32
}

fn host_len(addr: &SocketAddr) -> usize {
    if addr.is_ipv4() {
        8
    } else {
        20
    }
}

/// Bytes of the record before BODYLEN, without the two host fields.
const FIXED_BEFORE_BODY: usize = 4 + 4 + 4 + 4 + 4 + 8 + 8 + 4 + 8 + 8 + 4 + 8;

impl MessageExt {
    /// The version [`encode`](Self::encode) writes: [`version`](Self::version), or v2 when the
    /// topic is longer than 127 bytes.
    pub fn encoded_version(&self) -> MessageVersion {
        self.head().encoded_version(self.topic.len())
    }

    /// The sysFlag [`encode`](Self::encode) writes: [`sys_flag`](Self::sys_flag) with the IPv6
    /// bits set from the born and store hosts.
    pub fn encoded_sys_flag(&self) -> i32 {
        self.head().encoded_sys_flag()
    }

    /// The length of the encoded record (what [`encode`](Self::encode) writes on success).
    pub fn encoded_len(&self) -> usize {
        self.head().encoded_len(
            self.body.len(),
            self.topic.len(),
            self.properties.encoded_len(),
        )
    }

    /// The fields other than the body, the topic and the properties.
    fn head(&self) -> RecordHead {
        RecordHead {
            version: self.version,
            body_crc: self.body_crc,
            queue_id: self.queue_id,
            flag: self.flag,
            queue_offset: self.queue_offset,
            commit_log_offset: self.commit_log_offset,
            sys_flag: self.sys_flag,
            born_timestamp: self.born_timestamp,
            born_host: self.born_host,
            store_timestamp: self.store_timestamp,
            store_host: self.store_host,
            reconsume_times: self.reconsume_times,
            prepared_transaction_offset: self.prepared_transaction_offset,
        }
    }

    /// Encodes the record into `dst`, with no body limit beyond the format's. See
    /// [`encode_with_limit`](Self::encode_with_limit).
    pub fn encode<B: BufMut + ?Sized>(&self, dst: &mut B) -> Result<usize> {
        self.encode_with_limit(dst, i32::MAX as usize)
    }

    /// Encodes the record into `dst` and returns its length.
    ///
    /// Fields are written as they are, except TOTALSIZE (the real length), the magic code
    /// ([`encoded_version`](Self::encoded_version)) and the IPv6 sysFlag bits
    /// ([`encoded_sys_flag`](Self::encoded_sys_flag)); BODYCRC is written as given (see
    /// [`refresh_body_crc`](Self::refresh_body_crc)). Fails, writing nothing, when the body is
    /// longer than `max_body_size`, the topic longer than 32767 bytes, the properties string
    /// longer than 32767 bytes, or `dst` has less room than [`encoded_len`](Self::encoded_len).
    pub fn encode_with_limit<B: BufMut + ?Sized>(
        &self,
        dst: &mut B,
        max_body_size: usize,
    ) -> Result<usize> {
        self.head().encode(
            dst,
            max_body_size,
            &self.body,
            &self.topic,
            self.properties.encoded_len(),
            |dst| self.properties.encode_to(dst),
        )
    }

    /// The record as a fresh buffer.
    pub fn encode_to_bytes(&self) -> Result<Bytes> {
        let mut buf = BytesMut::with_capacity(self.encoded_len());
        self.encode(&mut buf)?;
        Ok(buf.freeze())
    }

    /// Sets [`body_crc`](Self::body_crc) from the current body.
    pub fn refresh_body_crc(&mut self) {
        self.body_crc = body_crc(&self.body);
    }

    /// The offsetMsgId of this record (store host + commitlog offset).
    pub fn offset_msg_id(&self) -> String {
        create_message_id(self.store_host, self.commit_log_offset)
    }

    /// What Java's `MessageClientExt.getMsgId()` returns: the UNIQ_KEY property if present,
    /// else the offsetMsgId.
    pub fn msg_id(&self) -> String {
        match self.properties.uniq_key() {
            Some(key) => key.to_owned(),
            None => self.offset_msg_id(),
        }
    }

    /// The TAGS property.
    pub fn tags(&self) -> Option<&str> {
        self.properties.tags()
    }

    /// The transaction type from the sysFlag.
    pub fn transaction_type(&self) -> TransactionType {
        sysflag::transaction_type(self.sys_flag)
    }

    /// True if the body is (still) compressed.
    pub fn is_compressed(&self) -> bool {
        sysflag::is_compressed(self.sys_flag)
    }
}

/// The fields of a record other than its body, topic and properties: what
/// [`MessageExt::encode_with_limit`] and [`super::wire::WireMessage`] write, and what
/// [`super::decode`] reads for the decoders and [`RecordView`](super::RecordView).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordHead {
    pub(crate) version: MessageVersion,
    pub(crate) body_crc: i32,
    pub(crate) queue_id: i32,
    pub(crate) flag: i32,
    pub(crate) queue_offset: i64,
    pub(crate) commit_log_offset: i64,
    pub(crate) sys_flag: i32,
    pub(crate) born_timestamp: i64,
    pub(crate) born_host: SocketAddr,
    pub(crate) store_timestamp: i64,
    pub(crate) store_host: SocketAddr,
    pub(crate) reconsume_times: i32,
    pub(crate) prepared_transaction_offset: i64,
}

impl RecordHead {
    /// A message of these fields, TOTALSIZE `store_size` and `body`; no topic, no properties.
    pub(crate) fn into_message(self, store_size: i32, body: Bytes) -> MessageExt {
        MessageExt {
            store_size,
            version: self.version,
            body_crc: self.body_crc,
            queue_id: self.queue_id,
            flag: self.flag,
            queue_offset: self.queue_offset,
            commit_log_offset: self.commit_log_offset,
            sys_flag: self.sys_flag,
            born_timestamp: self.born_timestamp,
            born_host: self.born_host,
            store_timestamp: self.store_timestamp,
            store_host: self.store_host,
            reconsume_times: self.reconsume_times,
            prepared_transaction_offset: self.prepared_transaction_offset,
            body,
            ..MessageExt::default()
        }
    }

    /// The version written for a topic of `topic_len` bytes.
    pub(crate) fn encoded_version(&self, topic_len: usize) -> MessageVersion {
        if topic_len > MAX_TOPIC_LEN_V1 {
            MessageVersion::V2
        } else {
            self.version
        }
    }

    /// The sysFlag written: the IPv6 bits set from the hosts.
    pub(crate) fn encoded_sys_flag(&self) -> i32 {
        let mut flag = self.sys_flag & !(sysflag::BORNHOST_V6 | sysflag::STOREHOST_V6);
        if self.born_host.is_ipv6() {
            flag |= sysflag::BORNHOST_V6;
        }
        if self.store_host.is_ipv6() {
            flag |= sysflag::STOREHOST_V6;
        }
        flag
    }

    /// The record's length with a body, topic and properties of these lengths.
    pub(crate) fn encoded_len(&self, body: usize, topic: usize, properties: usize) -> usize {
        FIXED_BEFORE_BODY
            + host_len(&self.born_host)
            + host_len(&self.store_host)
            + 4
            + body
            + self.encoded_version(topic).topic_len_size()
            + topic
            + 2
            + properties
    }

    /// Writes the record; `properties` writes exactly `props_len` bytes (see
    /// [`MessageExt::encode_with_limit`] for the checks).
    pub(crate) fn encode<B: BufMut + ?Sized>(
        &self,
        dst: &mut B,
        max_body_size: usize,
        body: &[u8],
        topic: &str,
        props_len: usize,
        properties: impl FnOnce(&mut B),
    ) -> Result<usize> {
        if body.len() > max_body_size {
            return Err(ProtocolError::TooLarge {
                what: "message body",
                len: body.len(),
                max: max_body_size,
            });
        }
        if topic.len() > MAX_TOPIC_LEN_V2 {
            return Err(ProtocolError::TooLarge {
                what: "topic",
                len: topic.len(),
                max: MAX_TOPIC_LEN_V2,
            });
        }
        if props_len > MAX_PROPERTIES_LEN {
            return Err(ProtocolError::TooLarge {
                what: "message properties",
                len: props_len,
                max: MAX_PROPERTIES_LEN,
            });
        }
        let total = self.encoded_len(body.len(), topic.len(), props_len);
        let total_i32 = i32::try_from(total).map_err(|_| ProtocolError::TooLarge {
            what: "stored message",
            len: total,
            max: i32::MAX as usize,
        })?;
        if dst.remaining_mut() < total {
            return Err(ProtocolError::TooLarge {
                what: "stored message (destination buffer)",
                len: total,
                max: dst.remaining_mut(),
            });
        }
        let version = self.encoded_version(topic.len());
        dst.put_i32(total_i32);
        dst.put_i32(version.magic_code());
        dst.put_i32(self.body_crc);
        dst.put_i32(self.queue_id);
        dst.put_i32(self.flag);
        dst.put_i64(self.queue_offset);
        dst.put_i64(self.commit_log_offset);
        dst.put_i32(self.encoded_sys_flag());
        dst.put_i64(self.born_timestamp);
        put_host(dst, &self.born_host);
        dst.put_i64(self.store_timestamp);
        put_host(dst, &self.store_host);
        dst.put_i32(self.reconsume_times);
        dst.put_i64(self.prepared_transaction_offset);
        // Lengths below were bounded above, so the casts cannot truncate.
        dst.put_i32(body.len() as i32);
        dst.put_slice(body);
        match version {
            MessageVersion::V1 => dst.put_i8(topic.len() as i8),
            MessageVersion::V2 => dst.put_i16(topic.len() as i16),
        }
        dst.put_slice(topic.as_bytes());
        dst.put_i16(props_len as i16);
        properties(dst);
        Ok(total)
    }
}

fn put_host<B: BufMut + ?Sized>(dst: &mut B, addr: &SocketAddr) {
    match addr.ip() {
        IpAddr::V4(ip) => dst.put_slice(&ip.octets()),
        IpAddr::V6(ip) => dst.put_slice(&ip.octets()),
    }
    dst.put_i32(i32::from(addr.port()));
}
