//! POP headers of RocketMQ 5.x (docs/protocol.md, "POP headers"; always sent with a JSON header
//! since the codes exceed 32767).

command_header! {
    /// `PopMessageRequestHeader` (200050).
    pub struct PopMessageRequestHeader {
        /// Consumer group.
        consumer_group: String, "consumerGroup", required;
        /// Topic.
        topic: String, "topic", required;
        /// Queue; -1 means any.
        queue_id: i32, "queueId", required;
        /// Maximum messages to return.
        max_msg_nums: i32, "maxMsgNums", required;
        /// How long popped messages stay invisible, ms.
        invisible_time: i64, "invisibleTime", required;
        /// Long-poll time, ms.
        poll_time: i64, "pollTime", required;
        /// Request creation time, ms.
        born_time: i64, "bornTime", required;
        /// Start for a new group: 0 MIN, 1 MAX.
        init_mode: i32, "initMode", required;
        /// Filter expression type (`TAG`/`SQL92`).
        exp_type: String, "expType", optional;
        /// Filter expression.
        exp: String, "exp", optional;
        /// Orderly pop (Java sends `false` by default).
        order: bool, "order", optional;
        /// Attempt id for idempotent retries.
        attempt_id: String, "attemptId", optional;
        /// 5.x broker name.
        broker_name: String, "bname", optional;
    }
}

command_header! {
    /// `PopMessageResponseHeader`; the body holds the messages.
    pub struct PopMessageResponseHeader {
        /// Time of the pop, ms.
        pop_time: i64, "popTime", required;
        /// Invisible time granted, ms.
        invisible_time: i64, "invisibleTime", required;
        /// Revive queue of the checkpoint.
        revive_qid: i32, "reviveQid", required;
        /// Messages left in the queue(s).
        rest_num: i64, "restNum", required;
        /// Start offsets per queue (encoded string).
        start_offset_info: String, "startOffsetInfo", optional;
        /// Message offsets per queue (encoded string).
        msg_offset_info: String, "msgOffsetInfo", optional;
        /// Orderly consume counts (encoded string).
        order_count_info: String, "orderCountInfo", optional;
    }
}

command_header! {
    /// `AckMessageRequestHeader` (200051).
    pub struct AckMessageRequestHeader {
        /// Consumer group.
        consumer_group: String, "consumerGroup", required;
        /// Topic.
        topic: String, "topic", required;
        /// Queue.
        queue_id: i32, "queueId", required;
        /// The message's `POP_CK` extra info.
        extra_info: String, "extraInfo", required;
        /// The message's queue offset.
        offset: i64, "offset", required;
        /// 5.x broker name.
        broker_name: String, "bname", optional;
    }
}

command_header! {
    /// `ChangeInvisibleTimeRequestHeader` (200053).
    pub struct ChangeInvisibleTimeRequestHeader {
        /// Consumer group.
        consumer_group: String, "consumerGroup", required;
        /// Topic.
        topic: String, "topic", required;
        /// Queue.
        queue_id: i32, "queueId", required;
        /// The message's `POP_CK` extra info.
        extra_info: String, "extraInfo", required;
        /// The message's queue offset.
        offset: i64, "offset", required;
        /// New invisible time, ms.
        invisible_time: i64, "invisibleTime", required;
        /// 5.x broker name.
        broker_name: String, "bname", optional;
    }
}

command_header! {
    /// `ChangeInvisibleTimeResponseHeader`.
    pub struct ChangeInvisibleTimeResponseHeader {
        /// New pop time, ms.
        pop_time: i64, "popTime", required;
        /// Invisible time granted, ms.
        invisible_time: i64, "invisibleTime", required;
        /// Revive queue of the new checkpoint.
        revive_qid: i32, "reviveQid", required;
    }
}

command_header! {
    /// `NotificationRequestHeader` (200054).
    pub struct NotificationRequestHeader {
        /// Consumer group.
        consumer_group: String, "consumerGroup", required;
        /// Topic.
        topic: String, "topic", required;
        /// Queue; -1 means any.
        queue_id: i32, "queueId", required;
        /// Long-poll time, ms.
        poll_time: i64, "pollTime", required;
        /// Request creation time, ms.
        born_time: i64, "bornTime", required;
        /// Orderly consumption.
        order: bool, "order", optional;
        /// Attempt id.
        attempt_id: String, "attemptId", optional;
        /// 5.x broker name.
        broker_name: String, "bname", optional;
    }
}

command_header! {
    /// `NotificationResponseHeader`.
    pub struct NotificationResponseHeader {
        /// Whether messages are available.
        has_msg: bool, "hasMsg", required;
        /// Whether the broker's polling slots are full.
        polling_full: bool, "pollingFull", optional;
    }
}

command_header! {
    /// `PeekMessageRequestHeader` (200052).
    pub struct PeekMessageRequestHeader {
        /// Topic.
        topic: String, "topic", required;
        /// Queue.
        queue_id: i32, "queueId", required;
        /// Maximum messages to return.
        max_msg_nums: i32, "maxMsgNums", required;
        /// Consumer group.
        consumer_group: String, "consumerGroup", required;
        /// 5.x broker name.
        broker_name: String, "bname", optional;
    }
}

command_header! {
    /// `PollingInfoRequestHeader` (200055).
    pub struct PollingInfoRequestHeader {
        /// Consumer group.
        consumer_group: String, "consumerGroup", required;
        /// Topic.
        topic: String, "topic", required;
        /// Queue.
        queue_id: i32, "queueId", required;
        /// 5.x broker name.
        broker_name: String, "bname", optional;
    }
}

command_header! {
    /// `PollingInfoResponseHeader`.
    pub struct PollingInfoResponseHeader {
        /// Requests currently held for the queue.
        polling_num: i32, "pollingNum", required;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::test_support::{check_header, check_invalid};

    const CK: &str = "0 1700000000000 60000 3 0 broker-a 1 17";

    #[test]
    fn pop_message() {
        let h = PopMessageRequestHeader {
            consumer_group: "cg".into(),
            topic: "t".into(),
            queue_id: -1,
            max_msg_nums: 32,
            invisible_time: 60_000,
            poll_time: 20_000,
            born_time: 1_700_000_000_000,
            init_mode: 0,
            exp_type: Some("TAG".into()),
            exp: Some("*".into()),
            order: Some(false),
            attempt_id: Some("a-1".into()),
            broker_name: Some("b".into()),
        };
        let g: &[(&str, &str)] = &[
            ("consumerGroup", "cg"),
            ("topic", "t"),
            ("queueId", "-1"),
            ("maxMsgNums", "32"),
            ("invisibleTime", "60000"),
            ("pollTime", "20000"),
            ("bornTime", "1700000000000"),
            ("initMode", "0"),
            ("expType", "TAG"),
            ("exp", "*"),
            ("order", "false"),
            ("attemptId", "a-1"),
            ("bname", "b"),
        ];
        check_header(
            &h,
            g,
            &[
                "consumerGroup",
                "topic",
                "queueId",
                "maxMsgNums",
                "invisibleTime",
                "pollTime",
                "bornTime",
                "initMode",
            ],
        );
        check_invalid::<PopMessageRequestHeader>(g, "pollTime", "20s");
        let r = PopMessageResponseHeader {
            pop_time: 1,
            invisible_time: 2,
            revive_qid: 3,
            rest_num: 4,
            start_offset_info: Some("0 0 5".into()),
            msg_offset_info: Some("0 0 5".into()),
            order_count_info: None,
        };
        check_header(
            &r,
            &[
                ("popTime", "1"),
                ("invisibleTime", "2"),
                ("reviveQid", "3"),
                ("restNum", "4"),
                ("startOffsetInfo", "0 0 5"),
                ("msgOffsetInfo", "0 0 5"),
            ],
            &["popTime", "invisibleTime", "reviveQid", "restNum"],
        );
    }

    #[test]
    fn ack_and_change_invisible_time() {
        let ack = AckMessageRequestHeader {
            consumer_group: "cg".into(),
            topic: "t".into(),
            queue_id: 1,
            extra_info: CK.into(),
            offset: 17,
            broker_name: None,
        };
        let g: &[(&str, &str)] = &[
            ("consumerGroup", "cg"),
            ("topic", "t"),
            ("queueId", "1"),
            ("extraInfo", CK),
            ("offset", "17"),
        ];
        let required = &["consumerGroup", "topic", "queueId", "extraInfo", "offset"];
        check_header(&ack, g, required);
        let change = ChangeInvisibleTimeRequestHeader {
            consumer_group: "cg".into(),
            topic: "t".into(),
            queue_id: 1,
            extra_info: CK.into(),
            offset: 17,
            invisible_time: 30_000,
            broker_name: Some("b".into()),
        };
        let mut g2 = g.to_vec();
        g2.push(("invisibleTime", "30000"));
        g2.push(("bname", "b"));
        let mut required2 = required.to_vec();
        required2.push("invisibleTime");
        check_header(&change, &g2, &required2);
        check_header(
            &ChangeInvisibleTimeResponseHeader {
                pop_time: 1,
                invisible_time: 2,
                revive_qid: 3,
            },
            &[("popTime", "1"), ("invisibleTime", "2"), ("reviveQid", "3")],
            &["popTime", "invisibleTime", "reviveQid"],
        );
    }

    #[test]
    fn notification_peek_polling() {
        let n = NotificationRequestHeader {
            consumer_group: "cg".into(),
            topic: "t".into(),
            queue_id: -1,
            poll_time: 1000,
            born_time: 2000,
            order: Some(true),
            attempt_id: None,
            broker_name: None,
        };
        check_header(
            &n,
            &[
                ("consumerGroup", "cg"),
                ("topic", "t"),
                ("queueId", "-1"),
                ("pollTime", "1000"),
                ("bornTime", "2000"),
                ("order", "true"),
            ],
            &["consumerGroup", "topic", "queueId", "pollTime", "bornTime"],
        );
        check_header(
            &NotificationResponseHeader {
                has_msg: true,
                polling_full: Some(false),
            },
            &[("hasMsg", "true"), ("pollingFull", "false")],
            &["hasMsg"],
        );
        check_header(
            &PeekMessageRequestHeader {
                topic: "t".into(),
                queue_id: 0,
                max_msg_nums: 16,
                consumer_group: "cg".into(),
                broker_name: None,
            },
            &[
                ("topic", "t"),
                ("queueId", "0"),
                ("maxMsgNums", "16"),
                ("consumerGroup", "cg"),
            ],
            &["topic", "queueId", "maxMsgNums", "consumerGroup"],
        );
        check_header(
            &PollingInfoRequestHeader {
                consumer_group: "cg".into(),
                topic: "t".into(),
                queue_id: 0,
                broker_name: None,
            },
            &[("consumerGroup", "cg"), ("topic", "t"), ("queueId", "0")],
            &["consumerGroup", "topic", "queueId"],
        );
        check_header(
            &PollingInfoResponseHeader { polling_num: 2 },
            &[("pollingNum", "2")],
            &["pollingNum"],
        );
    }
}
