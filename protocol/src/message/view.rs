//! A stored record's fields read in place (docs/performance-broker.md, "Fourth round: the send
//! path").
//!
//! [`RecordView::parse`] checks a record exactly as [`decode_record`](super::decode_record)
//! does with [`DecodeOptions::store`](super::DecodeOptions::store) (lengths add up to TOTALSIZE,
//! ports in range, a UTF-8 topic, optionally the body CRC: both read it with one parser) but
//! borrows the body, topic and properties text instead of copying them into a
//! [`MessageExt`](super::MessageExt): what a store's dispatcher needs to find a record's queue,
//! tag and keys (with [`super::scan`]).

use super::decode::{parse_record, Parsed};
use super::scan::Scan;
use super::stored::MessageVersion;
use crate::error::{ProtocolError, Result};

const WHAT: &str = "stored message";

/// The fields of one stored message record, borrowed from its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordView<'a> {
    /// TOTALSIZE.
    pub store_size: usize,
    /// The record version.
    pub version: MessageVersion,
    /// Queue id.
    pub queue_id: i32,
    /// User flag.
    pub flag: i32,
    /// Logical offset in the consume queue.
    pub queue_offset: i64,
    /// Physical (commitlog) offset written in the record.
    pub commit_log_offset: i64,
    /// The sysFlag.
    pub sys_flag: i32,
    /// Producer clock, ms.
    pub born_timestamp: i64,
    /// Broker clock at store time, ms.
    pub store_timestamp: i64,
    /// Number of redeliveries.
    pub reconsume_times: i32,
    /// Commitlog offset of the half message of a committed transactional message, else 0.
    pub prepared_transaction_offset: i64,
    /// The body as stored.
    pub body: &'a [u8],
    /// The topic.
    pub topic: &'a str,
    /// The properties text, undecoded.
    pub properties: &'a [u8],
}

impl<'a> RecordView<'a> {
    /// Reads the message record at the start of `input`; fails where
    /// [`decode_record`](super::decode_record) fails, and on a blank (end-of-file) record.
    /// `verify_crc` checks BODYCRC.
    pub fn parse(input: &'a [u8], verify_crc: bool) -> Result<Self> {
        let record = match parse_record(input, verify_crc, |_, _| Ok(()))? {
            Parsed::Message(record, ()) => record,
            Parsed::Blank(_) => {
                return Err(ProtocolError::malformed(WHAT, "blank (end-of-file) record"))
            }
        };
        let head = record.head;
        Ok(RecordView {
            store_size: record.total,
            version: head.version,
            queue_id: head.queue_id,
            flag: head.flag,
            queue_offset: head.queue_offset,
            commit_log_offset: head.commit_log_offset,
            sys_flag: head.sys_flag,
            born_timestamp: head.born_timestamp,
            store_timestamp: head.store_timestamp,
            reconsume_times: head.reconsume_times,
            prepared_transaction_offset: head.prepared_transaction_offset,
            body: record.body,
            topic: record.topic,
            properties: record.properties,
        })
    }

    /// One pass over the properties for `names` (see [`Scan`]).
    pub fn scan<const N: usize>(&self, names: &[&str; N]) -> Scan<'a, N> {
        Scan::new(self.properties, names)
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::message::{
        decode_record, DecodeOptions, MessageExt, Properties, StoredRecord, BLANK_MAGIC_CODE,
    };

    fn record() -> Vec<u8> {
        let mut m = MessageExt {
            topic: "TopicTest".into(),
            queue_id: 2,
            flag: 5,
            queue_offset: 9,
            commit_log_offset: 4096,
            born_timestamp: 1,
            store_timestamp: 2,
            reconsume_times: 3,
            prepared_transaction_offset: 77,
            body: Bytes::from_static(b"body bytes"),
            properties: [("TAGS", "a"), ("UNIQ_KEY", "u"), ("KEYS", "k1 k2")]
                .into_iter()
                .collect::<Properties>(),
            born_host: "[::1]:80".parse().unwrap_or_else(|_| unreachable!()),
            store_host: "1.2.3.4:10911".parse().unwrap_or_else(|_| unreachable!()),
            ..MessageExt::default()
        };
        m.refresh_body_crc();
        m.encode_to_bytes().map(|b| b.to_vec()).unwrap_or_default()
    }

    #[test]
    fn reads_what_decode_record_reads() {
        let raw = record();
        let bytes = Bytes::from(raw.clone());
        let Ok((StoredRecord::Message(m), len)) = decode_record(&bytes, 0, &DecodeOptions::store())
        else {
            panic!("decode")
        };
        let Ok(v) = RecordView::parse(&raw, true) else {
            panic!("view")
        };
        assert_eq!(v.store_size, len);
        assert_eq!(
            (v.queue_id, v.flag, v.queue_offset, v.commit_log_offset),
            (m.queue_id, m.flag, m.queue_offset, m.commit_log_offset)
        );
        assert_eq!(
            (v.sys_flag, v.born_timestamp, v.store_timestamp),
            (m.sys_flag, m.born_timestamp, m.store_timestamp)
        );
        assert_eq!(
            (v.reconsume_times, v.prepared_transaction_offset),
            (m.reconsume_times, m.prepared_transaction_offset)
        );
        assert_eq!((v.body, v.topic), (&m.body[..], m.topic.as_str()));
        assert_eq!(Properties::decode_bytes(v.properties), m.properties);
        let scan = v.scan(&["TAGS", "KEYS", "UNIQ_KEY"]);
        assert_eq!(
            [scan.str(0), scan.str(1), scan.str(2)],
            [Some("a"), Some("k1 k2"), Some("u")]
        );
    }

    /// Every cut, every corrupted byte: the view fails exactly when the decoder fails.
    #[test]
    fn fails_where_decode_record_fails() {
        let raw = record();
        let check = |input: &[u8], crc: bool| {
            let opts = DecodeOptions {
                verify_crc: crc,
                ..DecodeOptions::store()
            };
            let decoded = decode_record(&Bytes::copy_from_slice(input), 0, &opts);
            let decoded_ok = matches!(decoded, Ok((StoredRecord::Message(_), _)));
            assert_eq!(
                RecordView::parse(input, crc).is_ok(),
                decoded_ok,
                "{input:?} crc {crc}"
            );
        };
        for cut in 0..raw.len() {
            check(&raw[..cut], false);
        }
        for at in 0..raw.len() {
            for value in [0u8, 0x7F, 0x80, 0xFF] {
                let mut bad = raw.clone();
                bad[at] = value;
                check(&bad, true);
                check(&bad, false);
            }
        }
        let mut blank = raw.clone();
        blank[4..8].copy_from_slice(&BLANK_MAGIC_CODE.to_be_bytes());
        assert!(RecordView::parse(&blank, false).is_err());
    }
}
