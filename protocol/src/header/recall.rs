//! Recall headers (docs/protocol.md, "Recalling timer messages"): `RECALL_MESSAGE` (370) and
//! its answer, and the recall handle a send answer carries for a timer message.
//!
//! A handle is Apache's `RecallMessageHandle.HandleV1`: the text
//! `v1 <topic> <brokerName> <timestamp> <uniqueMessageId>` (space-separated) in URL-safe base64
//! with padding. The timestamp is the message's delivery time (`TIMER_OUT_MS`) plus one, as the
//! Java broker writes it; it is kept as text, as Java keeps it.

command_header! {
    /// `RecallMessageRequestHeader` of `RECALL_MESSAGE` (370).
    pub struct RecallMessageRequestHeader {
        /// Producer group of the caller (may be absent).
        producer_group: String, "producerGroup", optional;
        /// Topic the message was sent to; must equal the handle's.
        topic: String, "topic", required;
        /// The handle of the send answer.
        recall_handle: String, "recallHandle", required;
        /// 5.x broker name (`RpcRequestHeader.bname`).
        broker_name: String, "bname", optional;
    }
}

command_header! {
    /// `RecallMessageResponseHeader`: the unique id of the recalled message.
    pub struct RecallMessageResponseHeader {
        /// The message's unique id (`UNIQ_KEY`).
        msg_id: String, "msgId", required;
    }
}

/// A decoded recall handle (Apache's `RecallMessageHandle.HandleV1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecallHandle {
    /// The message's topic (the real topic, not the timer topic).
    pub topic: String,
    /// Name of the broker that stores it.
    pub broker_name: String,
    /// The timestamp text (delivery time + 1 ms); Java does not check it is a number here.
    pub timestamp: String,
    /// The message's unique id (`UNIQ_KEY`).
    pub message_id: String,
}

/// Version tag of the only handle format.
const VERSION_1: &str = "v1";

/// Why a handle does not decode; the text is Java's `DecoderException` message.
pub const INVALID_HANDLE: &str = "recall handle is invalid";

impl RecallHandle {
    /// The handle text, as Java's `HandleV1.buildHandle` (no check of the parts).
    pub fn encode(&self) -> String {
        let raw = [
            VERSION_1,
            &self.topic,
            &self.broker_name,
            &self.timestamp,
            &self.message_id,
        ]
        .join(" ");
        crate::base64::encode_url(raw.as_bytes())
    }

    /// Parses a handle as Java's `RecallMessageHandle.decodeHandle`: URL-safe base64 (padding
    /// optional), then at least five space-separated parts of which the first is `v1`; more
    /// parts are ignored. `Err` carries Java's message.
    pub fn decode(text: &str) -> Result<RecallHandle, &'static str> {
        if text.is_empty() {
            return Err(INVALID_HANDLE);
        }
        let bytes = crate::base64::decode_url(text).ok_or(INVALID_HANDLE)?;
        let raw = String::from_utf8_lossy(&bytes);
        // Java's String.split drops trailing empty strings.
        let mut items: Vec<&str> = raw.split(' ').collect();
        while items.last().is_some_and(|s| s.is_empty()) {
            items.pop();
        }
        if items.first() != Some(&VERSION_1) || items.len() < 5 {
            return Err(INVALID_HANDLE);
        }
        Ok(RecallHandle {
            topic: items[1].to_owned(),
            broker_name: items[2].to_owned(),
            timestamp: items[3].to_owned(),
            message_id: items[4].to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::test_support::check_header;

    const GOLDEN: &str =
        "djEgVG9waWNBIGJyb2tlci1hIDE3MDAwMDAwMDAwMDEgN0YwMDAwMDEwMDAxMDAwMDAwMDAwMDAx";

    fn sample() -> RecallHandle {
        RecallHandle {
            topic: "TopicA".into(),
            broker_name: "broker-a".into(),
            timestamp: "1700000000001".into(),
            message_id: "7F0000010001000000000001".into(),
        }
    }

    #[test]
    fn handle_matches_java_bytes() {
        assert_eq!(sample().encode(), GOLDEN);
        assert_eq!(RecallHandle::decode(GOLDEN), Ok(sample()));
        // Java's URL decoder takes the text without its padding too.
        let h = RecallHandle {
            timestamp: "12".into(),
            ..sample()
        };
        let text = h.encode();
        assert_eq!(
            text,
            "djEgVG9waWNBIGJyb2tlci1hIDEyIDdGMDAwMDAxMDAwMTAwMDAwMDAwMDAwMQ=="
        );
        assert_eq!(RecallHandle::decode(text.trim_end_matches('=')), Ok(h));
    }

    #[test]
    fn bad_handles_are_refused_like_java() {
        let enc = |s: &str| crate::base64::encode_url(s.as_bytes());
        for bad in [
            String::new(),
            "not base64!".to_owned(),
            "+/+/".to_owned(), // the standard alphabet, not the URL one
            "A".to_owned(),
            "AB=".to_owned(),
            enc("v2 TopicA broker-a 1 id"),
            enc("v1 TopicA broker-a 1"),
            enc("v1 TopicA broker-a 1 "),
        ] {
            assert_eq!(RecallHandle::decode(&bad), Err(INVALID_HANDLE), "{bad:?}");
        }
        // Extra parts are ignored, as Java does.
        let h = RecallHandle::decode(&enc("v1 T b 5 id extra")).expect("decodes");
        assert_eq!(h.message_id, "id");
    }

    #[test]
    fn base64_round_trips_every_length() {
        let data: Vec<u8> = (0..=255u8).collect();
        for n in 0..40 {
            let e = crate::base64::encode_url(&data[..n]);
            assert_eq!(
                crate::base64::decode_url(&e).as_deref(),
                Some(&data[..n]),
                "{n}"
            );
        }
        assert_eq!(crate::base64::encode_url(&[0xfb, 0xff, 0xfe]), "-__-");
    }

    #[test]
    fn headers_round_trip() {
        check_header(
            &RecallMessageRequestHeader {
                producer_group: Some("PG".into()),
                topic: "TopicA".into(),
                recall_handle: GOLDEN.into(),
                broker_name: Some("broker-a".into()),
            },
            &[
                ("producerGroup", "PG"),
                ("topic", "TopicA"),
                ("recallHandle", GOLDEN),
                ("bname", "broker-a"),
            ],
            &["topic", "recallHandle"],
        );
        check_header(
            &RecallMessageResponseHeader {
                msg_id: "7F0000010001000000000001".into(),
            },
            &[("msgId", "7F0000010001000000000001")],
            &["msgId"],
        );
    }
}
