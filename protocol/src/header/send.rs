//! Send headers (docs/protocol.md, "Send headers"): `SEND_MESSAGE` (10) with long names,
//! `SEND_MESSAGE_V2` (310) and `SEND_BATCH_MESSAGE` (320) with the one-letter keys `a`..`n`, and
//! the send response.

use crate::codes::RequestCode;
use crate::command::RemotingCommand;
use crate::error::{ProtocolError, Result};
use crate::ext::{CommandHeader, ExtFields};

command_header! {
    /// `SendMessageRequestHeader`: the long-name send header of `SEND_MESSAGE` (10), and the one
    /// structure the broker works with for every send code (see [`Self::from_request`]).
    pub struct SendMessageRequestHeader {
        /// Producer group of the sender.
        producer_group: String, "producerGroup", required;
        /// Target topic.
        topic: String, "topic", required;
        /// Auto-create template topic, normally `TBW102`.
        default_topic: String, "defaultTopic", required;
        /// Queue count for an auto-created topic (client default 4).
        default_topic_queue_nums: i32, "defaultTopicQueueNums", required;
        /// Target queue; negative lets the broker pick a writable queue.
        queue_id: i32, "queueId", required;
        /// `MessageSysFlag` bits (docs/protocol.md, "sysFlag").
        sys_flag: i32, "sysFlag", required;
        /// Producer-side creation time, ms.
        born_timestamp: i64, "bornTimestamp", required;
        /// User flag, opaque to the broker.
        flag: i32, "flag", required;
        /// Properties string (docs/protocol.md, "Properties").
        properties: String, "properties", optional;
        /// Times the message was consumed before (meaningful for `%RETRY%` topics; Java reads
        /// null as 0).
        reconsume_times: i32, "reconsumeTimes", optional;
        /// Unit mode (Java reads null as false).
        unit_mode: bool, "unitMode", optional;
        /// Whether the body is a batch (Java reads null as false).
        batch: bool, "batch", optional;
        /// Maximum redeliveries before the DLQ ("consumeRetryTimes").
        max_reconsume_times: i32, "maxReconsumeTimes", optional;
        /// 5.x broker name (`RpcRequestHeader.bname`; `n` in the V2 header).
        broker_name: String, "bname", optional;
    }
}

command_header! {
    /// `SendMessageRequestHeaderV2`: the abbreviated send header of `SEND_MESSAGE_V2` (310) and
    /// `SEND_BATCH_MESSAGE` (320). Same fields as [`SendMessageRequestHeader`] under keys
    /// `a`..`n`.
    pub struct SendMessageRequestHeaderV2 {
        /// `a`: producer group.
        producer_group: String, "a", required;
        /// `b`: target topic.
        topic: String, "b", required;
        /// `c`: auto-create template topic, normally `TBW102`.
        default_topic: String, "c", required;
        /// `d`: queue count for an auto-created topic.
        default_topic_queue_nums: i32, "d", required;
        /// `e`: target queue; negative lets the broker pick one.
        queue_id: i32, "e", required;
        /// `f`: `MessageSysFlag` bits.
        sys_flag: i32, "f", required;
        /// `g`: producer-side creation time, ms.
        born_timestamp: i64, "g", required;
        /// `h`: user flag.
        flag: i32, "h", required;
        /// `i`: properties string.
        properties: String, "i", optional;
        /// `j`: reconsume times.
        reconsume_times: i32, "j", optional;
        /// `k`: unit mode.
        unit_mode: bool, "k", optional;
        /// `l`: maximum redeliveries ("consumeRetryTimes").
        max_reconsume_times: i32, "l", optional;
        /// `m`: whether the body is a batch.
        batch: bool, "m", optional;
        /// `n`: broker name.
        broker_name: String, "n", optional;
    }
}

command_header! {
    /// `SendMessageResponseHeader`, plus the two non-field ext keys Java brokers add to every
    /// send response.
    pub struct SendMessageResponseHeader {
        /// The **offsetMsgId** (store host + commitlog offset); comma-joined for a batch.
        msg_id: String, "msgId", required;
        /// Queue actually written.
        queue_id: i32, "queueId", required;
        /// Logical queue offset (of the first message of a batch).
        queue_offset: i64, "queueOffset", required;
        /// Set by the broker to the message's UNIQ_KEY.
        transaction_id: String, "transactionId", optional;
        /// 5.x inner-batch (autoBatch) unique id.
        batch_uniq_id: String, "batchUniqId", optional;
        /// 5.x recall handle.
        recall_handle: String, "recallHandle", optional;
        /// Ext `MSG_REGION`: broker region id (default `DefaultRegion`); not a Java header field.
        msg_region: String, "MSG_REGION", optional;
        /// Ext `TRACE_ON`: whether tracing is enabled; not a Java header field.
        trace_on: bool, "TRACE_ON", optional;
    }
}

impl From<SendMessageRequestHeaderV2> for SendMessageRequestHeader {
    fn from(v2: SendMessageRequestHeaderV2) -> Self {
        SendMessageRequestHeader {
            producer_group: v2.producer_group,
            topic: v2.topic,
            default_topic: v2.default_topic,
            default_topic_queue_nums: v2.default_topic_queue_nums,
            queue_id: v2.queue_id,
            sys_flag: v2.sys_flag,
            born_timestamp: v2.born_timestamp,
            flag: v2.flag,
            properties: v2.properties,
            reconsume_times: v2.reconsume_times,
            unit_mode: v2.unit_mode,
            batch: v2.batch,
            max_reconsume_times: v2.max_reconsume_times,
            broker_name: v2.broker_name,
        }
    }
}

impl From<SendMessageRequestHeader> for SendMessageRequestHeaderV2 {
    fn from(v1: SendMessageRequestHeader) -> Self {
        SendMessageRequestHeaderV2 {
            producer_group: v1.producer_group,
            topic: v1.topic,
            default_topic: v1.default_topic,
            default_topic_queue_nums: v1.default_topic_queue_nums,
            queue_id: v1.queue_id,
            sys_flag: v1.sys_flag,
            born_timestamp: v1.born_timestamp,
            flag: v1.flag,
            properties: v1.properties,
            reconsume_times: v1.reconsume_times,
            unit_mode: v1.unit_mode,
            max_reconsume_times: v1.max_reconsume_times,
            batch: v1.batch,
            broker_name: v1.broker_name,
        }
    }
}

impl SendMessageRequestHeader {
    /// Parses the send header of a request with `code` the way the broker does
    /// (`SendMessageRequestHeader.parseRequestHeader`, and the reply processor's variant):
    /// long names for `SEND_MESSAGE` (10) and `SEND_REPLY_MESSAGE` (324), keys `a`..`n` for
    /// `SEND_MESSAGE_V2` (310), `SEND_BATCH_MESSAGE` (320) and `SEND_REPLY_MESSAGE_V2` (325).
    ///
    /// Any other code is [`ProtocolError::Malformed`] (Java returns null there).
    pub fn from_request(code: RequestCode, ext: &ExtFields) -> Result<Self> {
        match code {
            RequestCode::SEND_MESSAGE | RequestCode::SEND_REPLY_MESSAGE => Self::read_ext(ext),
            RequestCode::SEND_MESSAGE_V2
            | RequestCode::SEND_BATCH_MESSAGE
            | RequestCode::SEND_REPLY_MESSAGE_V2 => {
                SendMessageRequestHeaderV2::read_ext(ext).map(Self::from)
            }
            other => Err(ProtocolError::malformed(
                Self::NAME,
                format!("request code {other} carries no send header"),
            )),
        }
    }

    /// [`Self::from_request`] on a decoded command.
    pub fn from_command(command: &RemotingCommand) -> Result<Self> {
        Self::from_request(command.request_code(), &command.ext_fields)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::header::test_support::{check_header, check_invalid, ext_of};

    const PROPS: &str =
        "KEYS\u{1}k1\u{2}UNIQ_KEY\u{1}7F0000010001\u{2}TAGS\u{1}TagA\u{2}WAIT\u{1}true";

    fn sample_v1() -> SendMessageRequestHeader {
        SendMessageRequestHeader {
            producer_group: "pg".into(),
            topic: "TopicTest".into(),
            default_topic: "TBW102".into(),
            default_topic_queue_nums: 4,
            queue_id: 3,
            sys_flag: 0,
            born_timestamp: 1_700_000_000_123,
            flag: 0,
            properties: Some(PROPS.into()),
            reconsume_times: Some(0),
            unit_mode: Some(false),
            batch: Some(false),
            max_reconsume_times: Some(16),
            broker_name: Some("broker-a".into()),
        }
    }

    const V2_GOLDEN: &[(&str, &str)] = &[
        ("a", "pg"),
        ("b", "TopicTest"),
        ("c", "TBW102"),
        ("d", "4"),
        ("e", "3"),
        ("f", "0"),
        ("g", "1700000000123"),
        ("h", "0"),
        ("i", PROPS),
        ("j", "0"),
        ("k", "false"),
        ("l", "16"),
        ("m", "false"),
        ("n", "broker-a"),
    ];

    /// As the Go client sends SEND_MESSAGE (10): long names, fixed defaultTopic/QueueNums.
    const GO_V1: &[(&str, &str)] = &[
        ("producerGroup", "pg"),
        ("topic", "TopicTest"),
        ("queueId", "3"),
        ("sysFlag", "0"),
        ("bornTimestamp", "1700000000123"),
        ("flag", "0"),
        ("reconsumeTimes", "0"),
        ("unitMode", "false"),
        ("maxReconsumeTimes", "16"),
        ("defaultTopic", "TBW102"),
        ("defaultTopicQueueNums", "4"),
        ("batch", "false"),
        ("properties", PROPS),
        ("bname", "broker-a"),
    ];

    #[test]
    fn v2_golden_and_required() {
        let v2 = SendMessageRequestHeaderV2::from(sample_v1());
        check_header(&v2, V2_GOLDEN, &["a", "b", "c", "d", "e", "f", "g", "h"]);
        check_invalid::<SendMessageRequestHeaderV2>(V2_GOLDEN, "g", "12x");
        check_invalid::<SendMessageRequestHeaderV2>(V2_GOLDEN, "d", "2147483648");
    }

    #[test]
    fn v1_golden_and_required() {
        check_header(
            &sample_v1(),
            GO_V1,
            &[
                "producerGroup",
                "topic",
                "defaultTopic",
                "defaultTopicQueueNums",
                "queueId",
                "sysFlag",
                "bornTimestamp",
                "flag",
            ],
        );
        check_invalid::<SendMessageRequestHeader>(GO_V1, "queueId", "");
    }

    #[test]
    fn go_long_names_parse_like_java_v2() {
        let go = SendMessageRequestHeader::from_request(RequestCode::SEND_MESSAGE, &ext_of(GO_V1));
        let java = SendMessageRequestHeader::from_request(
            RequestCode::SEND_MESSAGE_V2,
            &ext_of(V2_GOLDEN),
        );
        let batch = SendMessageRequestHeader::from_request(
            RequestCode::SEND_BATCH_MESSAGE,
            &ext_of(V2_GOLDEN),
        );
        assert_eq!(go, Ok(sample_v1()));
        assert_eq!(java, Ok(sample_v1()));
        assert_eq!(batch, Ok(sample_v1()));
    }

    #[test]
    fn from_request_picks_names_by_code() {
        // V1 names under a V2 code are not understood, as in Java.
        assert!(matches!(
            SendMessageRequestHeader::from_request(RequestCode::SEND_MESSAGE_V2, &ext_of(GO_V1)),
            Err(ProtocolError::MissingField { field: "a", .. })
        ));
        assert!(matches!(
            SendMessageRequestHeader::from_request(RequestCode::PULL_MESSAGE, &ext_of(GO_V1)),
            Err(ProtocolError::Malformed { .. })
        ));
        let cmd = RemotingCommand::request_with_header(
            RequestCode::SEND_MESSAGE_V2,
            &SendMessageRequestHeaderV2::from(sample_v1()),
        );
        assert_eq!(
            SendMessageRequestHeader::from_command(&cmd),
            Ok(sample_v1())
        );
    }

    #[test]
    fn booleans_are_lenient_like_java() {
        let mut ext = ext_of(V2_GOLDEN);
        ext.insert("k", "TRUE");
        ext.insert("m", "1");
        let h = SendMessageRequestHeaderV2::read_ext(&ext).expect("parses");
        assert_eq!((h.unit_mode, h.batch), (Some(true), Some(false)));
    }

    #[test]
    fn response_golden() {
        let h = SendMessageResponseHeader {
            msg_id: "7F00000100002A9F0000000000000064".into(),
            queue_id: 1,
            queue_offset: 42,
            transaction_id: Some("7F0000010001".into()),
            batch_uniq_id: None,
            recall_handle: None,
            msg_region: Some("DefaultRegion".into()),
            trace_on: Some(true),
        };
        check_header(
            &h,
            &[
                ("msgId", "7F00000100002A9F0000000000000064"),
                ("queueId", "1"),
                ("queueOffset", "42"),
                ("transactionId", "7F0000010001"),
                ("MSG_REGION", "DefaultRegion"),
                ("TRACE_ON", "true"),
            ],
            &["msgId", "queueId", "queueOffset"],
        );
    }

    prop_compose! {
        fn any_v1()(
            strings in proptest::collection::vec(".*", 3),
            nums in any::<(i32, i32, i32, i32, i64)>(),
            properties in proptest::option::of(".*"),
            reconsume_times in any::<Option<i32>>(),
            unit_mode in any::<Option<bool>>(),
            batch in any::<Option<bool>>(),
            max_reconsume_times in any::<Option<i32>>(),
            broker_name in proptest::option::of("[a-z0-9-]{0,12}"),
        ) -> SendMessageRequestHeader {
            SendMessageRequestHeader {
                producer_group: strings[0].clone(),
                topic: strings[1].clone(),
                default_topic: strings[2].clone(),
                default_topic_queue_nums: nums.0,
                queue_id: nums.1,
                sys_flag: nums.2,
                flag: nums.3,
                born_timestamp: nums.4,
                properties,
                reconsume_times,
                unit_mode,
                batch,
                max_reconsume_times,
                broker_name,
            }
        }
    }

    proptest! {
        #[test]
        fn v1_round_trips(h in any_v1()) {
            prop_assert_eq!(SendMessageRequestHeader::read_ext(&h.to_ext()), Ok(h.clone()));
        }

        #[test]
        fn v2_round_trips_and_converts_losslessly(h in any_v1()) {
            let v2 = SendMessageRequestHeaderV2::from(h.clone());
            let ext = v2.to_ext();
            prop_assert_eq!(SendMessageRequestHeaderV2::read_ext(&ext), Ok(v2.clone()));
            prop_assert_eq!(SendMessageRequestHeader::from(v2), h.clone());
            prop_assert_eq!(
                SendMessageRequestHeader::from_request(RequestCode::SEND_MESSAGE_V2, &ext),
                Ok(h)
            );
        }
    }
}
