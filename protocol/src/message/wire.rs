//! A message to store whose properties stay the text the client sent
//! (docs/performance-broker.md, "Fourth round: the send path").
//!
//! [`WireMessage`] is what a broker stores for a plain send: the client's properties text as it
//! arrived, followed by the few properties the broker sets ([`Appended`]), written into the record
//! without a [`Properties`](super::Properties) map in between ([`super::scan`] has the rules that
//! make this equivalent). [`EncodeRecord`] is what a store needs of a message to append it,
//! implemented by both [`WireMessage`] and [`MessageExt`].

use std::net::SocketAddr;

use bytes::{BufMut, Bytes};

use super::scan::{append_to, appended_len};
use super::stored::{MessageExt, MessageVersion, RecordHead};
use super::sysflag;
use crate::error::Result;

/// Most properties a broker appends to one message.
pub const MAX_APPENDED: usize = 4;

/// Properties appended after a message's text, in order (a later one wins over an earlier one
/// and over the text). At most [`MAX_APPENDED`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Appended<'a> {
    pairs: [(&'a str, &'a str); MAX_APPENDED],
    len: usize,
}

impl<'a> Appended<'a> {
    /// None.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `name` = `value`.
    ///
    /// # Panics
    /// When [`MAX_APPENDED`] pairs are there already (a programming error: the broker appends
    /// a fixed set).
    pub fn push(&mut self, name: &'a str, value: &'a str) {
        assert!(self.len < MAX_APPENDED, "more than {MAX_APPENDED} appended");
        self.pairs[self.len] = (name, value);
        self.len += 1;
    }

    /// The pairs, in order.
    pub fn as_slice(&self) -> &[(&'a str, &'a str)] {
        &self.pairs[..self.len]
    }
}

/// A message to append to a commitlog, its properties a wire text plus [`Appended`] pairs.
///
/// The queue offset, physical offset, store timestamp and BODYCRC are the store's to fill in
/// (they are written as 0); the prepared transaction offset is 0.
#[derive(Debug, Clone)]
pub struct WireMessage<'a> {
    /// The topic.
    pub topic: &'a str,
    /// Queue id.
    pub queue_id: i32,
    /// User flag.
    pub flag: i32,
    /// The body.
    pub body: Bytes,
    /// The properties text, stored as given: should be canonical
    /// ([`Scan::canonical`](super::scan::Scan::canonical)), or a reader may see the client's
    /// invalid bytes or junk segments that re-encoding would have dropped.
    pub properties: &'a [u8],
    /// Properties written after [`properties`](Self::properties).
    pub appended: Appended<'a>,
    /// The sysFlag (the IPv6 bits are set from the hosts).
    pub sys_flag: i32,
    /// Producer clock, ms since the epoch.
    pub born_timestamp: i64,
    /// Producer address.
    pub born_host: SocketAddr,
    /// Broker address.
    pub store_host: SocketAddr,
    /// Number of redeliveries.
    pub reconsume_times: i32,
    /// What the WAIT property says for a reader
    /// ([`wait_store_msg_ok`](super::Properties::wait_store_msg_ok)); the caller, who scanned
    /// the text, sets it.
    pub wait_store_msg_ok: bool,
}

impl WireMessage<'_> {
    fn head(&self) -> RecordHead {
        RecordHead {
            version: MessageVersion::V1,
            body_crc: 0,
            queue_id: self.queue_id,
            flag: self.flag,
            queue_offset: 0,
            commit_log_offset: 0,
            sys_flag: self.sys_flag,
            born_timestamp: self.born_timestamp,
            born_host: self.born_host,
            store_timestamp: 0,
            store_host: self.store_host,
            reconsume_times: self.reconsume_times,
            prepared_transaction_offset: 0,
        }
    }
}

/// What a store needs of a message to append it.
pub trait EncodeRecord {
    /// The topic.
    fn topic(&self) -> &str;
    /// The queue id.
    fn queue_id(&self) -> i32;
    /// The sysFlag as given.
    fn sys_flag(&self) -> i32;
    /// The body (as stored).
    fn body(&self) -> &[u8];
    /// Length of the properties text written.
    fn properties_len(&self) -> usize;
    /// Whether the sender waits for the store (the WAIT property).
    fn wait_store_msg_ok(&self) -> bool;
    /// Whether the born host is written as IPv6 (its field is then 20 bytes, else 8).
    fn born_host_v6(&self) -> bool;
    /// Length of the encoded record.
    fn encoded_len(&self) -> usize;
    /// Writes the record (see [`MessageExt::encode_with_limit`]).
    fn encode_record<B: BufMut + ?Sized>(&self, dst: &mut B, max_body_size: usize)
        -> Result<usize>;
}

impl EncodeRecord for WireMessage<'_> {
    fn topic(&self) -> &str {
        self.topic
    }

    fn queue_id(&self) -> i32 {
        self.queue_id
    }

    fn sys_flag(&self) -> i32 {
        self.sys_flag
    }

    fn body(&self) -> &[u8] {
        &self.body
    }

    fn properties_len(&self) -> usize {
        appended_len(self.properties, self.appended.as_slice())
    }

    fn wait_store_msg_ok(&self) -> bool {
        self.wait_store_msg_ok
    }

    fn born_host_v6(&self) -> bool {
        self.born_host.is_ipv6()
    }

    fn encoded_len(&self) -> usize {
        self.head()
            .encoded_len(self.body.len(), self.topic.len(), self.properties_len())
    }

    fn encode_record<B: BufMut + ?Sized>(
        &self,
        dst: &mut B,
        max_body_size: usize,
    ) -> Result<usize> {
        self.head().encode(
            dst,
            max_body_size,
            &self.body,
            self.topic,
            self.properties_len(),
            |dst| append_to(dst, self.properties, self.appended.as_slice()),
        )
    }
}

impl EncodeRecord for MessageExt {
    fn topic(&self) -> &str {
        &self.topic
    }

    fn queue_id(&self) -> i32 {
        self.queue_id
    }

    fn sys_flag(&self) -> i32 {
        self.sys_flag
    }

    fn body(&self) -> &[u8] {
        &self.body
    }

    fn properties_len(&self) -> usize {
        self.properties.encoded_len()
    }

    fn wait_store_msg_ok(&self) -> bool {
        self.properties.wait_store_msg_ok()
    }

    fn born_host_v6(&self) -> bool {
        self.encoded_sys_flag() & sysflag::BORNHOST_V6 != 0
    }

    fn encoded_len(&self) -> usize {
        MessageExt::encoded_len(self)
    }

    fn encode_record<B: BufMut + ?Sized>(
        &self,
        dst: &mut B,
        max_body_size: usize,
    ) -> Result<usize> {
        self.encode_with_limit(dst, max_body_size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{decode_record, DecodeOptions, Properties, StoredRecord};

    #[test]
    fn a_wire_message_decodes_as_the_map_built_message() {
        let text = "TAGS\u{1}a\u{2}CLUSTER\u{1}client\u{2}KEYS\u{1}k1 k2";
        let mut appended = Appended::new();
        appended.push("CLUSTER", "c1");
        appended.push("UNIQ_KEY", "u1");
        let host: SocketAddr = "10.0.0.1:1234".parse().unwrap_or_else(|_| unreachable!());
        let wire = WireMessage {
            topic: "T",
            queue_id: 3,
            flag: 7,
            body: Bytes::from_static(b"hello"),
            properties: text.as_bytes(),
            appended,
            sys_flag: 0,
            born_timestamp: 11,
            born_host: "[::1]:9".parse().unwrap_or_else(|_| unreachable!()),
            store_host: host,
            reconsume_times: 2,
            wait_store_msg_ok: true,
        };
        let mut properties = Properties::decode(text);
        properties.insert("CLUSTER", "c1");
        properties.insert("UNIQ_KEY", "u1");
        let ext = MessageExt {
            topic: "T".into(),
            queue_id: 3,
            flag: 7,
            body: Bytes::from_static(b"hello"),
            properties,
            born_timestamp: 11,
            born_host: wire.born_host,
            store_host: host,
            reconsume_times: 2,
            ..MessageExt::default()
        };
        let mut buf = Vec::new();
        let n = wire.encode_record(&mut buf, 1 << 20);
        assert_eq!(n.ok(), Some(buf.len()));
        assert_eq!(buf.len(), EncodeRecord::encoded_len(&wire));
        assert!(wire.born_host_v6() && ext.born_host_v6());
        let decoded = decode_record(&Bytes::from(buf), 0, &DecodeOptions::default());
        let Ok((StoredRecord::Message(mut got), _)) = decoded else {
            panic!("{decoded:?}")
        };
        got.store_size = 0;
        let mut want = ext.clone();
        want.sys_flag = ext.encoded_sys_flag();
        assert_eq!(got, want);
    }
}
