//! The BATCH_ACK_MESSAGE body: `{"brokerName": "..", "acks": [BatchAck]}`, each BatchAck with
//! Apache's short JSON names (long names accepted too) and the acked offsets as a base64
//! `java.util.BitSet` (bit i = offset `so + i`).

use serde::Deserialize;

/// `BatchAckMessageRequestBody`.
#[derive(Debug, Deserialize)]
pub(crate) struct BatchAckBody {
    #[serde(rename = "brokerName", default)]
    pub(crate) _broker_name: Option<String>,
    #[serde(default)]
    pub(crate) acks: Option<Vec<BatchAck>>,
}

/// Longest `b` (base64 characters) accepted.
const MAX_BIT_SET_CHARS: usize = 1 << 20;

/// One queue's acks.
#[derive(Debug, Deserialize)]
pub(crate) struct BatchAck {
    #[serde(rename = "c", alias = "consumerGroup")]
    pub(crate) group: String,
    #[serde(rename = "t", alias = "topic")]
    pub(crate) topic: String,
    #[serde(rename = "r", alias = "retry", default)]
    pub(crate) retry: Option<String>,
    #[serde(rename = "so", alias = "startOffset")]
    pub(crate) start_offset: i64,
    #[serde(rename = "q", alias = "queueId")]
    pub(crate) queue_id: i32,
    #[serde(rename = "rq", alias = "reviveQueueId", default)]
    pub(crate) _revive_qid: i32,
    #[serde(rename = "pt", alias = "popTime")]
    pub(crate) pop_time: i64,
    #[serde(rename = "it", alias = "invisibleTime", default)]
    pub(crate) _invisible_time: i64,
    #[serde(rename = "b", alias = "bitSet", default)]
    pub(crate) bit_set: Option<String>,
}

impl BatchAck {
    /// The retry mark (0, 1, 2); anything else is an error.
    pub(crate) fn retry_mark(&self) -> Result<u8, String> {
        match self.retry.as_deref().unwrap_or("0") {
            "0" => Ok(0),
            "1" => Ok(1),
            "2" => Ok(2),
            other => Err(format!("bad retry mark {other:?}")),
        }
    }

    /// The acked offsets within `[min, max]` (others are skipped, as Apache does); `Err` when
    /// the set does not decode, is too long, or holds more than `room` offsets in range.
    pub(crate) fn offsets(&self, min: i64, max: i64, room: usize) -> Result<Vec<i64>, String> {
        let text = self.bit_set.as_deref().unwrap_or("");
        // Offsets of one pop may be far apart (filtered messages between them), so the set may
        // be long, but not beyond what a sane batch spans (1 MiB of base64, 6 M offsets).
        if text.len() > MAX_BIT_SET_CHARS {
            return Err(format!(
                "a bit set of {} characters is too long",
                text.len()
            ));
        }
        let bytes = decode_base64(text)?;
        let mut out = Vec::new();
        for (i, byte) in bytes.iter().enumerate() {
            for bit in 0..8 {
                if byte & (1 << bit) == 0 {
                    continue;
                }
                let offset = self.start_offset.saturating_add((i * 8 + bit) as i64);
                if !(min..=max).contains(&offset) {
                    continue;
                }
                if out.len() >= room {
                    return Err(format!("more than {room} offsets in one batch ack"));
                }
                out.push(offset);
            }
        }
        Ok(out)
    }
}

/// Standard base64 (with or without padding).
fn decode_base64(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return Err(format!("bad base64 character {:?}", c as char)),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_short_names_and_bitset() {
        // BitSet {0, 2, 9} = bytes [0b101, 0b10] = base64 "BQI=".
        let body = r#"{"brokerName":"b","acks":[{"c":"g","t":"T","r":"0","so":10,"q":1,"rq":2,"pt":5,"it":60000,"b":"BQI="}]}"#;
        let b: BatchAckBody = serde_json::from_str(body).unwrap();
        let a = &b.acks.unwrap()[0];
        assert_eq!(a.offsets(0, 100, 32).unwrap(), vec![10, 12, 19]);
        assert_eq!(a.offsets(11, 100, 32).unwrap(), vec![12, 19]);
        assert!(a.offsets(0, 100, 2).is_err());
        assert_eq!(a.retry_mark().unwrap(), 0);
        assert!(decode_base64("a*").is_err());
    }
}
