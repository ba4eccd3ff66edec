//! The properties string (docs/protocol.md, "Properties") and the well-known property names
//! (docs/protocol.md, "Well-known properties").
//!
//! Wire form: `name \u{1} value \u{2}` for every entry, so a trailing `\u{2}` follows the last
//! pair. The same string is the `properties` send-header field and the PROPERTIES part of a
//! stored record.

use std::collections::btree_map::{self, BTreeMap};

use bytes::BufMut;

/// Separator between a name and its value (Java `NAME_VALUE_SEPARATOR`, char 1).
pub const NAME_VALUE_SEPARATOR: char = '\u{1}';
/// Terminator after each pair (Java `PROPERTY_SEPARATOR`, char 2).
pub const PROPERTY_SEPARATOR: char = '\u{2}';
/// Largest encoded properties string a broker stores (`Short.MAX_VALUE`).
pub const MAX_PROPERTIES_LEN: usize = i16::MAX as usize;

/// Well-known property names (Java `MessageConst`).
pub mod property {
    /// User keys, separated by [`KEY_SEPARATOR`]; indexed for QUERY_MESSAGE.
    pub const KEYS: &str = "KEYS";
    /// The message tag.
    pub const TAGS: &str = "TAGS";
    /// `"true"`/`"false"`: wait for the store before answering a send.
    pub const WAIT_STORE_MSG_OK: &str = "WAIT";
    /// Delay level 1..18.
    pub const DELAY_TIME_LEVEL: &str = "DELAY";
    /// Original topic of a retried message.
    pub const RETRY_TOPIC: &str = "RETRY_TOPIC";
    /// Original topic of a delayed, timer or half message.
    pub const REAL_TOPIC: &str = "REAL_TOPIC";
    /// Original queue id of a delayed, timer or half message.
    pub const REAL_QUEUE_ID: &str = "REAL_QID";
    /// `"true"` on transactional half messages.
    pub const TRANSACTION_PREPARED: &str = "TRAN_MSG";
    /// Producer group (transaction check-back).
    pub const PRODUCER_GROUP: &str = "PGROUP";
    /// Queue min offset, added client-side after a pull.
    pub const MIN_OFFSET: &str = "MIN_OFFSET";
    /// Queue max offset, added client-side after a pull.
    pub const MAX_OFFSET: &str = "MAX_OFFSET";
    /// Buyer id (legacy).
    pub const BUYER_ID: &str = "BUYER_ID";
    /// First message id of a retried message.
    pub const ORIGIN_MESSAGE_ID: &str = "ORIGIN_MESSAGE_ID";
    /// Transfer flag (legacy).
    pub const TRANSFER_FLAG: &str = "TRANSFER_FLAG";
    /// Correction flag (legacy).
    pub const CORRECTION_FLAG: &str = "CORRECTION_FLAG";
    /// MQ2 flag (legacy).
    pub const MQ2_FLAG: &str = "MQ2_FLAG";
    /// Reconsume times for direct sends to a retry topic.
    pub const RECONSUME_TIME: &str = "RECONSUME_TIME";
    /// Message region (trace).
    pub const MSG_REGION: &str = "MSG_REGION";
    /// Trace switch.
    pub const TRACE_SWITCH: &str = "TRACE_ON";
    /// Client message id (see [`super::super::uniq`]).
    pub const UNIQ_CLIENT_MESSAGE_ID_KEYIDX: &str = "UNIQ_KEY";
    /// Extended unique info.
    pub const EXTEND_UNIQ_INFO: &str = "EXTEND_UNIQ_INFO";
    /// Max reconsume times for direct sends to a retry topic.
    pub const MAX_RECONSUME_TIMES: &str = "MAX_RECONSUME_TIMES";
    /// Consume start timestamp.
    pub const CONSUME_START_TIMESTAMP: &str = "CONSUME_START_TIME";
    /// Inner batch: number of messages.
    pub const INNER_NUM: &str = "INNER_NUM";
    /// Inner batch: base queue offset.
    pub const INNER_BASE: &str = "INNER_BASE";
    /// Duplicate info.
    pub const DUP_INFO: &str = "DUP_INFO";
    /// First transaction check-back delay override, seconds.
    pub const CHECK_IMMUNITY_TIME_IN_SECONDS: &str = "CHECK_IMMUNITY_TIME_IN_SECONDS";
    /// Broker internal: queue offset of the prepared message.
    pub const TRANSACTION_PREPARED_QUEUE_OFFSET: &str = "TRAN_PREPARED_QUEUE_OFFSET";
    /// Transaction id copy.
    pub const TRANSACTION_ID: &str = "__transactionId__";
    /// Number of transaction check-backs done.
    pub const TRANSACTION_CHECK_TIMES: &str = "TRANSACTION_CHECK_TIMES";
    /// Instance id (namespaces).
    pub const INSTANCE_ID: &str = "INSTANCE_ID";
    /// Request/reply correlation id.
    pub const CORRELATION_ID: &str = "CORRELATION_ID";
    /// Request/reply: client to reply to.
    pub const MESSAGE_REPLY_TO_CLIENT: &str = "REPLY_TO_CLIENT";
    /// Request/reply time to live.
    pub const MESSAGE_TTL: &str = "TTL";
    /// Request/reply arrive time.
    pub const REPLY_MESSAGE_ARRIVE_TIME: &str = "ARRIVE_TIME";
    /// Request/reply push time.
    pub const PUSH_REPLY_TIME: &str = "PUSH_REPLY_TIME";
    /// Broker cluster name, added by the broker on store.
    pub const CLUSTER: &str = "CLUSTER";
    /// Message type (`reply`).
    pub const MESSAGE_TYPE: &str = "MSG_TYPE";
    /// POP checkpoint.
    pub const POP_CK: &str = "POP_CK";
    /// POP checkpoint offset.
    pub const POP_CK_OFFSET: &str = "POP_CK_OFFSET";
    /// First POP time.
    pub const FIRST_POP_TIME: &str = "1ST_POP_TIME";
    /// Sharding key for ordered/FIFO routing.
    pub const SHARDING_KEY: &str = "__SHARDINGKEY";
    /// Forward queue id.
    pub const FORWARD_QUEUE_ID: &str = "PROPERTY_FORWARD_QUEUE_ID";
    /// Redirect flag.
    pub const REDIRECT: &str = "REDIRECT";
    /// LMQ: queues to dispatch to.
    pub const INNER_MULTI_DISPATCH: &str = "INNER_MULTI_DISPATCH";
    /// LMQ: queue offsets.
    pub const INNER_MULTI_QUEUE_OFFSET: &str = "INNER_MULTI_QUEUE_OFFSET";
    /// Trace context.
    pub const TRACE_CONTEXT: &str = "TRACE_CONTEXT";
    /// Timer message: delay in seconds.
    pub const TIMER_DELAY_SEC: &str = "TIMER_DELAY_SEC";
    /// Timer message: delay in milliseconds.
    pub const TIMER_DELAY_MS: &str = "TIMER_DELAY_MS";
    /// Timer message: absolute delivery time, ms.
    pub const TIMER_DELIVER_MS: &str = "TIMER_DELIVER_MS";
    /// Timer internal: enqueue time.
    pub const TIMER_ENQUEUE_MS: &str = "TIMER_ENQUEUE_MS";
    /// Timer internal: dequeue time.
    pub const TIMER_DEQUEUE_MS: &str = "TIMER_DEQUEUE_MS";
    /// Timer internal: roll count.
    pub const TIMER_ROLL_TIMES: &str = "TIMER_ROLL_TIMES";
    /// Timer internal: out time.
    pub const TIMER_OUT_MS: &str = "TIMER_OUT_MS";
    /// Timer internal: unique key of a deleted timer.
    pub const TIMER_DEL_UNIQKEY: &str = "TIMER_DEL_UNIQKEY";
    /// Timer internal: delay level.
    pub const TIMER_DELAY_LEVEL: &str = "TIMER_DELAY_LEVEL";
    /// Born host copy.
    pub const BORN_HOST: &str = "__BORNHOST";
    /// Born timestamp copy.
    pub const BORN_TIMESTAMP: &str = "BORN_TIMESTAMP";
    /// DLQ: original topic.
    pub const DLQ_ORIGIN_TOPIC: &str = "DLQ_ORIGIN_TOPIC";
    /// DLQ: original message id.
    pub const DLQ_ORIGIN_MESSAGE_ID: &str = "DLQ_ORIGIN_MESSAGE_ID";
    /// Optional trailing body CRC written by a store with `enabledAppendPropCRC`.
    pub const CRC32: &str = "__CRC32#";
    /// Prefix of properties that are never persisted.
    pub const TRANSIENT_PREFIX: &str = "__RMQ.TRANSIENT.";
    /// Transient topic sysflag (set by the client when pulling).
    pub const TRANSIENT_TOPIC_CONFIG: &str = "__RMQ.TRANSIENT.TOPIC_SYS_FLAG";
    /// Transient group sysflag (set by the client when pulling).
    pub const TRANSIENT_GROUP_CONFIG: &str = "__RMQ.TRANSIENT.GROUP_SYS_FLAG";
    /// Separator of the values in [`KEYS`].
    pub const KEY_SEPARATOR: &str = " ";
}

/// The properties of a message: names to values, ordered by name.
///
/// Java keeps them in a `HashMap`, so the wire order is meaningless; a sorted map makes the
/// encoding deterministic. Read access goes through [`Deref`](std::ops::Deref) to the map.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Properties {
    map: BTreeMap<String, String>,
}

impl Properties {
    /// No properties.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `name` to `value`, returning the previous value.
    ///
    /// Java does not validate names or values either; a name or value that contains
    /// [`NAME_VALUE_SEPARATOR`] or [`PROPERTY_SEPARATOR`], or an empty one, does not survive
    /// the round trip.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) -> Option<String> {
        self.map.insert(name.into(), value.into())
    }

    /// Removes `name`, returning its value.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        self.map.remove(name)
    }

    /// The value of `name` as a string slice.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.map.get(name).map(String::as_str)
    }

    /// The [`property::TAGS`] value.
    pub fn tags(&self) -> Option<&str> {
        self.value(property::TAGS)
    }

    /// The [`property::KEYS`] value split on spaces (empty pieces skipped).
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.value(property::KEYS)
            .unwrap_or("")
            .split(property::KEY_SEPARATOR)
            .filter(|k| !k.is_empty())
    }

    /// Whether the sender waits for the store (Apache's `isWaitStoreMsgOK`): true unless
    /// [`property::WAIT_STORE_MSG_OK`] says `false`. A message that does not wait is acknowledged
    /// without waiting for a sync flush or a slave.
    pub fn wait_store_msg_ok(&self) -> bool {
        self.value(property::WAIT_STORE_MSG_OK)
            .is_none_or(|v| !v.eq_ignore_ascii_case("false"))
    }

    /// The [`property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX`] value (the client message id).
    pub fn uniq_key(&self) -> Option<&str> {
        self.value(property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX)
    }

    /// The underlying map, for mutation beyond [`insert`](Self::insert)/[`remove`](Self::remove).
    pub fn as_map_mut(&mut self) -> &mut BTreeMap<String, String> {
        &mut self.map
    }

    /// The underlying map.
    pub fn into_map(self) -> BTreeMap<String, String> {
        self.map
    }

    /// Length in bytes of [`encode`](Self::encode)'s output.
    pub fn encoded_len(&self) -> usize {
        self.map.iter().map(|(k, v)| k.len() + v.len() + 2).sum()
    }

    /// The wire string (`name\u{1}value\u{2}` per entry).
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(self.encoded_len());
        for (k, v) in &self.map {
            out.push_str(k);
            out.push(NAME_VALUE_SEPARATOR);
            out.push_str(v);
            out.push(PROPERTY_SEPARATOR);
        }
        out
    }

    /// Writes the wire string into `dst` (exactly [`encoded_len`](Self::encoded_len) bytes).
    pub fn encode_to<B: BufMut + ?Sized>(&self, dst: &mut B) {
        for (k, v) in &self.map {
            dst.put_slice(k.as_bytes());
            dst.put_u8(1);
            dst.put_slice(v.as_bytes());
            dst.put_u8(2);
        }
    }

    /// Parses a wire string with Java's rules (`string2messageProperties`).
    ///
    /// Segments between [`PROPERTY_SEPARATOR`]s are kept only if they have a non-empty name
    /// before the first [`NAME_VALUE_SEPARATOR`] and a non-empty value after it (so segments
    /// shorter than 3 characters are dropped); the value may itself contain char 1. A missing
    /// final separator is tolerated. A repeated name keeps the last value.
    pub fn decode(text: &str) -> Self {
        Self::decode_bytes(text.as_bytes())
    }

    /// [`decode`](Self::decode) for raw bytes; invalid UTF-8 becomes U+FFFD as in Java's
    /// `new String(bytes, UTF_8)`. The separators are ASCII, so splitting bytes first gives the
    /// same pieces as splitting the decoded string.
    pub fn decode_bytes(raw: &[u8]) -> Self {
        let mut map = BTreeMap::new();
        for segment in raw.split(|&b| b == 2) {
            if segment.len() < 3 {
                continue;
            }
            let Some(sep) = segment.iter().position(|&b| b == 1) else {
                continue;
            };
            if sep == 0 || sep + 1 >= segment.len() {
                continue;
            }
            let name = String::from_utf8_lossy(&segment[..sep]).into_owned();
            let value = String::from_utf8_lossy(&segment[sep + 1..]).into_owned();
            map.insert(name, value);
        }
        Properties { map }
    }
}

impl std::ops::Deref for Properties {
    type Target = BTreeMap<String, String>;

    fn deref(&self) -> &Self::Target {
        &self.map
    }
}

impl From<BTreeMap<String, String>> for Properties {
    fn from(map: BTreeMap<String, String>) -> Self {
        Properties { map }
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Properties {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Properties {
            map: iter
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }
}

impl<K: Into<String>, V: Into<String>> Extend<(K, V)> for Properties {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        self.map
            .extend(iter.into_iter().map(|(k, v)| (k.into(), v.into())));
    }
}

impl IntoIterator for Properties {
    type Item = (String, String);
    type IntoIter = btree_map::IntoIter<String, String>;

    fn into_iter(self) -> Self::IntoIter {
        self.map.into_iter()
    }
}

impl<'a> IntoIterator for &'a Properties {
    type Item = (&'a String, &'a String);
    type IntoIter = btree_map::Iter<'a, String, String>;

    fn into_iter(self) -> Self::IntoIter {
        self.map.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_explicit_false_skips_waiting_for_the_store() {
        let mut p = Properties::new();
        assert!(p.wait_store_msg_ok(), "absent: wait");
        for (v, wait) in [
            ("true", true),
            ("false", false),
            ("FALSE", false),
            ("x", true),
        ] {
            p.insert(property::WAIT_STORE_MSG_OK, v);
            assert_eq!(p.wait_store_msg_ok(), wait, "{v}");
        }
    }

    #[test]
    fn encode_has_trailing_separator() {
        let p: Properties = [("TAGS", "TagA"), ("KEYS", "k1 k2")].into_iter().collect();
        assert_eq!(p.encode(), "KEYS\u{1}k1 k2\u{2}TAGS\u{1}TagA\u{2}");
        assert_eq!(p.encoded_len(), p.encode().len());
        let mut buf = Vec::new();
        p.encode_to(&mut buf);
        assert_eq!(buf, p.encode().as_bytes());
        assert_eq!(p.keys().collect::<Vec<_>>(), ["k1", "k2"]);
        assert_eq!(Properties::new().encode(), "");
    }

    #[test]
    fn java_decode_rules() {
        let p = Properties::decode(
            "A\u{1}1\u{2}\u{1}x\u{2}B\u{1}\u{2}ab\u{2}C\u{1}v\u{1}w\u{2}\u{2}D\u{1}2",
        );
        let got: Vec<_> = p.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        // Empty name, empty value and no separator are dropped; the value keeps a later char 1;
        // a missing trailing separator is fine.
        assert_eq!(got, [("A", "1"), ("C", "v\u{1}w"), ("D", "2")]);
        assert!(Properties::decode("").is_empty());
        assert!(Properties::decode("\u{2}\u{2}").is_empty());
        assert_eq!(
            Properties::decode("K\u{1}a\u{2}K\u{1}b\u{2}").value("K"),
            Some("b")
        );
    }

    #[test]
    fn unicode_round_trip() {
        let p: Properties = [("名前", "值 ✓"), ("emoji", "🦀")].into_iter().collect();
        assert_eq!(Properties::decode(&p.encode()), p);
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        let p = Properties::decode_bytes(b"K\x01\xFF\x02");
        assert_eq!(p.value("K"), Some("\u{FFFD}"));
    }
}
