//! Apache's trace data format (`TraceDataEncoder`): the body of a message in the trace topic is
//! a run of records, each ended by [`FIELD_SEPARATOR`] (char 2), whose fields are separated by
//! [`CONTENT_SEPARATOR`] (char 1). The first field names the record type; the order of the
//! others depends on it (docs/message-trace.md, "Trace data format").

use std::fmt::Write as _;

/// Separates the fields of one record (Java `TraceConstants.CONTENT_SPLITOR`).
pub const CONTENT_SEPARATOR: char = '\u{1}';
/// Ends a record (Java `TraceConstants.FIELD_SPLITOR`).
pub const FIELD_SEPARATOR: char = '\u{2}';

/// What a trace record describes (Java `TraceType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TraceType {
    /// A send the broker accepted.
    Pub,
    /// A recall (5.x); decoded, never written by FerroMQ.
    Recall,
    /// A message handed to a listener.
    SubBefore,
    /// A listener's answer for a message.
    SubAfter,
    /// A transaction committed or rolled back by the producer.
    EndTransaction,
}

impl TraceType {
    /// Java's enum name, the first field of a record.
    pub fn name(self) -> &'static str {
        match self {
            TraceType::Pub => "Pub",
            TraceType::Recall => "Recall",
            TraceType::SubBefore => "SubBefore",
            TraceType::SubAfter => "SubAfter",
            TraceType::EndTransaction => "EndTransaction",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "Pub" => TraceType::Pub,
            "Recall" => TraceType::Recall,
            "SubBefore" => TraceType::SubBefore,
            "SubAfter" => TraceType::SubAfter,
            "EndTransaction" => TraceType::EndTransaction,
            _ => return None,
        })
    }
}

/// Java `MessageType` ordinals, as a `Pub` record carries them.
pub mod msg_type {
    /// `Normal_Msg`.
    pub const NORMAL: i32 = 0;
    /// `Trans_Msg_Half`: the half message of a transaction.
    pub const TRANS_HALF: i32 = 1;
    /// `Trans_msg_Commit`.
    pub const TRANS_COMMIT: i32 = 2;
    /// `Delay_Msg`: a delay level or a delivery time.
    pub const DELAY: i32 = 3;
    /// `Order_Msg`.
    pub const ORDER: i32 = 4;
}

/// Java `ConsumeReturnType` ordinals, a `SubAfter` record's context code.
pub mod consume_code {
    /// `SUCCESS`.
    pub const SUCCESS: i32 = 0;
    /// `TIME_OUT`.
    pub const TIME_OUT: i32 = 1;
    /// `EXCEPTION`: the listener panicked or threw.
    pub const EXCEPTION: i32 = 2;
    /// `RETURNNULL`.
    pub const RETURN_NULL: i32 = 3;
    /// `FAILED`: the listener asked for a redelivery.
    pub const FAILED: i32 = 4;
}

/// One record of trace data: the fields of Java's `TraceContext` and its `TraceBean` flattened
/// (one record per message). Fields a record type does not carry stay at their defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceRecord {
    /// The record type.
    pub trace_type: TraceType,
    /// When the traced step began, ms since the epoch (`SubAfter`: absent from old clients,
    /// then 0).
    pub timestamp: i64,
    /// The broker's `regionId`.
    pub region_id: String,
    /// The producer or consumer group.
    pub group: String,
    /// Pairs a `SubBefore` with its `SubAfter`.
    pub request_id: String,
    /// The traced message's topic.
    pub topic: String,
    /// The traced message's id (UNIQ_KEY).
    pub msg_id: String,
    /// The broker's offsetMsgId (`Pub`).
    pub offset_msg_id: String,
    /// The tag (the text `null` when there is none, as Java writes it).
    pub tags: String,
    /// The keys, space-separated (`null` when there are none, as Java writes it).
    pub keys: String,
    /// The broker address the message was sent to (`Pub`).
    pub store_host: String,
    /// The producer's address, only in records of old clients.
    pub client_host: String,
    /// Body bytes (`Pub`).
    pub body_length: i32,
    /// How long the step took, ms (per message for a consumed batch).
    pub cost_ms: i32,
    /// A [`msg_type`] ordinal (`Pub`, `EndTransaction`).
    pub msg_type: i32,
    /// Whether the send or the consumption succeeded.
    pub success: bool,
    /// Redeliveries before this one (`SubBefore`).
    pub retry_times: i32,
    /// A [`consume_code`] (`SubAfter`).
    pub context_code: i32,
    /// `EndTransaction`: the transaction id.
    pub transaction_id: String,
    /// `EndTransaction`: `COMMIT_MESSAGE`, `ROLLBACK_MESSAGE` or `UNKNOW`.
    pub transaction_state: String,
    /// `EndTransaction`: whether the outcome came from a check-back.
    pub from_transaction_check: bool,
}

impl TraceRecord {
    /// An empty record of `trace_type`.
    pub fn new(trace_type: TraceType) -> Self {
        TraceRecord {
            trace_type,
            timestamp: 0,
            region_id: String::new(),
            group: String::new(),
            request_id: String::new(),
            topic: String::new(),
            msg_id: String::new(),
            offset_msg_id: String::new(),
            tags: String::new(),
            keys: String::new(),
            store_host: String::new(),
            client_host: String::new(),
            body_length: 0,
            cost_ms: 0,
            msg_type: msg_type::NORMAL,
            success: true,
            retry_times: 0,
            context_code: 0,
            transaction_id: String::new(),
            transaction_state: String::new(),
            from_transaction_check: false,
        }
    }

    /// Appends this record in Java's field order (the LOCAL access channel's `SubAfter`,
    /// which carries the timestamp and group).
    pub fn encode_into(&self, out: &mut String) {
        let c = CONTENT_SEPARATOR;
        let t = self.trace_type.name();
        // Writing to a String cannot fail.
        let _ = match self.trace_type {
            TraceType::Pub => write!(
                out,
                "{t}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}",
                self.timestamp,
                self.region_id,
                self.group,
                self.topic,
                self.msg_id,
                self.tags,
                self.keys,
                self.store_host,
                self.body_length,
                self.cost_ms,
                self.msg_type,
                self.offset_msg_id,
                self.success,
            ),
            TraceType::SubBefore => write!(
                out,
                "{t}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}",
                self.timestamp,
                self.region_id,
                self.group,
                self.request_id,
                self.msg_id,
                self.retry_times,
                self.keys,
            ),
            TraceType::SubAfter => write!(
                out,
                "{t}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}",
                self.request_id,
                self.msg_id,
                self.cost_ms,
                self.success,
                self.keys,
                self.context_code,
                self.timestamp,
                self.group,
            ),
            TraceType::EndTransaction => write!(
                out,
                "{t}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}",
                self.timestamp,
                self.region_id,
                self.group,
                self.topic,
                self.msg_id,
                self.tags,
                self.keys,
                self.store_host,
                self.msg_type,
                self.transaction_id,
                self.transaction_state,
                self.from_transaction_check,
            ),
            TraceType::Recall => write!(
                out,
                "{t}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}",
                self.timestamp, self.region_id, self.group, self.topic, self.msg_id, self.success,
            ),
        };
        out.push(FIELD_SEPARATOR);
    }

    /// This record as trace data.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(128);
        self.encode_into(&mut out);
        out
    }
}

/// The records of a trace message body, in order. Records of an unknown type, or too short or
/// with a malformed number for their type, are skipped (a trace topic may hold anything a
/// client wrote).
pub fn decode(data: &str) -> Vec<TraceRecord> {
    data.split(FIELD_SEPARATOR)
        .filter(|r| !r.is_empty())
        .filter_map(decode_record)
        .collect()
}

fn decode_record(record: &str) -> Option<TraceRecord> {
    let f: Vec<&str> = record.split(CONTENT_SEPARATOR).collect();
    let trace_type = TraceType::parse(f.first()?)?;
    let mut r = TraceRecord::new(trace_type);
    let s = |i: usize| f.get(i).map(|v| (*v).to_owned());
    let num = |i: usize| f.get(i)?.trim().parse::<i64>().ok();
    let int = |i: usize| f.get(i)?.trim().parse::<i32>().ok();
    // Java's Boolean.parseBoolean: "true" in any case, anything else is false.
    let flag = |i: usize| f.get(i).is_some_and(|v| v.eq_ignore_ascii_case("true"));
    match trace_type {
        TraceType::Pub => {
            r.timestamp = num(1)?;
            r.region_id = s(2)?;
            r.group = s(3)?;
            r.topic = s(4)?;
            r.msg_id = s(5)?;
            r.tags = s(6)?;
            r.keys = s(7)?;
            r.store_host = s(8)?;
            r.body_length = int(9)?;
            r.cost_ms = int(10)?;
            r.msg_type = int(11)?;
            match f.len() {
                13 => r.success = flag(12),
                n if n >= 14 => {
                    r.offset_msg_id = s(12)?;
                    r.success = flag(13);
                    if n >= 15 {
                        r.client_host = s(14)?;
                    }
                }
                _ => return None,
            }
        }
        TraceType::SubBefore => {
            r.timestamp = num(1)?;
            r.region_id = s(2)?;
            r.group = s(3)?;
            r.request_id = s(4)?;
            r.msg_id = s(5)?;
            r.retry_times = int(6)?;
            r.keys = s(7)?;
        }
        TraceType::SubAfter => {
            r.request_id = s(1)?;
            r.msg_id = s(2)?;
            r.cost_ms = int(3)?;
            r.success = flag(4);
            r.keys = s(5)?;
            if f.len() >= 7 {
                r.context_code = int(6)?;
            }
            if f.len() >= 9 {
                r.timestamp = num(7)?;
                r.group = s(8)?;
            }
        }
        TraceType::EndTransaction => {
            r.timestamp = num(1)?;
            r.region_id = s(2)?;
            r.group = s(3)?;
            r.topic = s(4)?;
            r.msg_id = s(5)?;
            r.tags = s(6)?;
            r.keys = s(7)?;
            r.store_host = s(8)?;
            r.msg_type = int(9)?;
            r.transaction_id = s(10)?;
            r.transaction_state = s(11)?;
            r.from_transaction_check = flag(12);
        }
        TraceType::Recall => {
            r.timestamp = num(1)?;
            r.region_id = s(2)?;
            r.group = s(3)?;
            r.topic = s(4)?;
            r.msg_id = s(5)?;
            r.success = flag(6);
        }
    }
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pub_record() -> TraceRecord {
        TraceRecord {
            timestamp: 1_700_000_000_123,
            region_id: "DefaultRegion".into(),
            group: "pg".into(),
            topic: "T".into(),
            msg_id: "ID1".into(),
            offset_msg_id: "OFF1".into(),
            tags: "TagA".into(),
            keys: "k1 k2".into(),
            store_host: "10.0.0.1:10911".into(),
            body_length: 5,
            cost_ms: 3,
            ..TraceRecord::new(TraceType::Pub)
        }
    }

    #[test]
    fn pub_matches_java_field_order() {
        let got = pub_record().encode();
        let want = [
            "Pub",
            "1700000000123",
            "DefaultRegion",
            "pg",
            "T",
            "ID1",
            "TagA",
            "k1 k2",
            "10.0.0.1:10911",
            "5",
            "3",
            "0",
            "OFF1",
            "true",
        ]
        .join("\u{1}")
            + "\u{2}";
        assert_eq!(got, want);
    }

    #[test]
    fn every_type_round_trips() {
        let before = TraceRecord {
            timestamp: 5,
            region_id: "R".into(),
            group: "cg".into(),
            request_id: "REQ".into(),
            msg_id: "ID1".into(),
            retry_times: 2,
            keys: "null".into(),
            ..TraceRecord::new(TraceType::SubBefore)
        };
        let after = TraceRecord {
            timestamp: 6,
            group: "cg".into(),
            request_id: "REQ".into(),
            msg_id: "ID1".into(),
            cost_ms: 9,
            success: false,
            keys: "k".into(),
            context_code: consume_code::FAILED,
            ..TraceRecord::new(TraceType::SubAfter)
        };
        let end = TraceRecord {
            timestamp: 7,
            region_id: "R".into(),
            group: "pg".into(),
            topic: "T".into(),
            msg_id: "ID2".into(),
            tags: "null".into(),
            keys: "null".into(),
            store_host: "h:1".into(),
            msg_type: msg_type::TRANS_COMMIT,
            transaction_id: "TX".into(),
            transaction_state: "COMMIT_MESSAGE".into(),
            from_transaction_check: true,
            ..TraceRecord::new(TraceType::EndTransaction)
        };
        let recall = TraceRecord {
            timestamp: 8,
            region_id: "R".into(),
            group: "pg".into(),
            topic: "T".into(),
            msg_id: "ID3".into(),
            ..TraceRecord::new(TraceType::Recall)
        };
        let all = vec![pub_record(), before, after, end, recall];
        let mut data = String::new();
        for r in &all {
            r.encode_into(&mut data);
        }
        assert_eq!(decode(&data), all);
    }

    #[test]
    fn old_and_odd_records() {
        // A 4.x Pub record without offsetMsgId, and one with the client host at the end.
        let short =
            "Pub\u{1}1\u{1}R\u{1}g\u{1}T\u{1}ID\u{1}t\u{1}k\u{1}h\u{1}1\u{1}2\u{1}3\u{1}false\u{2}";
        let r = &decode(short)[0];
        assert_eq!(
            (r.msg_type, r.success, r.offset_msg_id.as_str()),
            (3, false, "")
        );
        let long = "Pub\u{1}1\u{1}R\u{1}g\u{1}T\u{1}ID\u{1}t\u{1}k\u{1}h\u{1}1\u{1}2\u{1}0\u{1}O\u{1}true\u{1}1.2.3.4\u{2}";
        assert_eq!(decode(long)[0].client_host, "1.2.3.4");
        // A SubAfter of an old client (no context code, timestamp or group).
        let old = "SubAfter\u{1}REQ\u{1}ID\u{1}4\u{1}true\u{1}k\u{2}";
        let r = &decode(old)[0];
        assert_eq!((r.cost_ms, r.timestamp, r.group.as_str()), (4, 0, ""));
        // Garbage is skipped, the good record after it kept.
        let mixed = format!(
            "Nope\u{1}x\u{2}Pub\u{1}notanumber\u{2}{}",
            pub_record().encode()
        );
        assert_eq!(decode(&mixed), vec![pub_record()]);
        assert!(decode("").is_empty());
    }
}
