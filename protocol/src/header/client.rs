//! Consumer send-back and client management headers (docs/protocol.md, "Send-back and client
//! management headers"), including the broker-to-client requests of docs/protocol.md, "Requests
//! from the broker to the client".

command_header! {
    /// `ConsumerSendMsgBackRequestHeader` (36): return a failed message for redelivery.
    pub struct ConsumerSendMsgBackRequestHeader {
        /// The message's **commitlog** offset.
        offset: i64, "offset", required;
        /// Consumer group.
        group: String, "group", required;
        /// Delay level: 0 lets the broker choose 3 + reconsumeTimes, negative goes to the DLQ.
        delay_level: i32, "delayLevel", required;
        /// The original message's UNIQ_KEY.
        origin_msg_id: String, "originMsgId", optional;
        /// The original topic.
        origin_topic: String, "originTopic", optional;
        /// Unit mode (default false).
        unit_mode: bool, "unitMode", optional;
        /// Maximum redeliveries before the DLQ.
        max_reconsume_times: i32, "maxReconsumeTimes", optional;
        /// 5.x broker name.
        broker_name: String, "bname", optional;
    }
}

command_header! {
    /// `HeartbeatRequestHeader` (34): no fields of its own; the data is in the body.
    pub struct HeartbeatRequestHeader {
        /// 5.x broker name.
        broker_name: String, "bname", optional;
    }
}

command_header! {
    /// `UnregisterClientRequestHeader` (35).
    pub struct UnregisterClientRequestHeader {
        /// Client id.
        client_id: String, "clientID", required;
        /// Producer group to leave.
        producer_group: String, "producerGroup", optional;
        /// Consumer group to leave.
        consumer_group: String, "consumerGroup", optional;
        /// 5.x broker name.
        broker_name: String, "bname", optional;
    }
}

command_header! {
    /// `GetConsumerListByGroupRequestHeader` (38).
    pub struct GetConsumerListByGroupRequestHeader {
        /// Consumer group.
        consumer_group: String, "consumerGroup", required;
        /// 5.x broker name.
        broker_name: String, "bname", optional;
    }
}

command_header! {
    /// `NotifyConsumerIdsChangedRequestHeader` (40, broker to client, oneway).
    pub struct NotifyConsumerIdsChangedRequestHeader {
        /// Consumer group whose members changed.
        consumer_group: String, "consumerGroup", required;
        /// 5.x broker name.
        broker_name: String, "bname", optional;
    }
}

command_header! {
    /// `LockBatchMqRequestHeader` (41): no fields of its own; the queues are in the body.
    pub struct LockBatchMqRequestHeader {
        /// 5.x broker name.
        broker_name: String, "bname", optional;
    }
}

command_header! {
    /// `UnlockBatchMqRequestHeader` (42): no fields of its own; the queues are in the body.
    pub struct UnlockBatchMqRequestHeader {
        /// 5.x broker name.
        broker_name: String, "bname", optional;
    }
}

command_header! {
    /// `GetConsumerRunningInfoRequestHeader` (307, broker to client).
    pub struct GetConsumerRunningInfoRequestHeader {
        /// Consumer group.
        consumer_group: String, "consumerGroup", required;
        /// Client id of the consumer asked.
        client_id: String, "clientId", required;
        /// Whether to include a thread dump.
        jstack_enable: bool, "jstackEnable", optional;
        /// 5.x broker name.
        broker_name: String, "bname", optional;
    }
}

command_header! {
    /// `ResetOffsetRequestHeader` (220, broker to client, oneway); offsets are in the body.
    pub struct ResetOffsetRequestHeader {
        /// Topic.
        topic: String, "topic", required;
        /// Consumer group.
        group: String, "group", required;
        /// Queue (Java default -1: all queues).
        queue_id: i32, "queueId", optional;
        /// Offset to reset to.
        offset: i64, "offset", optional;
        /// Timestamp to reset to, ms.
        timestamp: i64, "timestamp", required;
        /// Reset even forward of the current offset.
        is_force: bool, "isForce", required;
        /// 5.x broker name.
        broker_name: String, "bname", optional;
    }
}

command_header! {
    /// `ConsumeMessageDirectlyResultRequestHeader` (309): an admin asks the broker to have one
    /// consumer consume one message; the broker adds `brokerName` and the message, and relays.
    pub struct ConsumeMessageDirectlyResultRequestHeader {
        /// Consumer group.
        consumer_group: String, "consumerGroup", required;
        /// Client id of the consumer asked.
        client_id: String, "clientId", optional;
        /// The message's offsetMsgId.
        msg_id: String, "msgId", optional;
        /// The broker holding the message (set by the broker when relaying).
        broker_name: String, "brokerName", optional;
        /// Topic.
        topic: String, "topic", optional;
        /// The topic's sysFlag.
        topic_sys_flag: i32, "topicSysFlag", optional;
        /// The group's sysFlag.
        group_sys_flag: i32, "groupSysFlag", optional;
    }
}

command_header! {
    /// `GetConsumerStatusRequestHeader` (221, broker to client).
    pub struct GetConsumerStatusRequestHeader {
        /// Topic.
        topic: String, "topic", required;
        /// Consumer group.
        group: String, "group", required;
        /// Client address filter.
        client_addr: String, "clientAddr", optional;
        /// 5.x broker name.
        broker_name: String, "bname", optional;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::test_support::{check_header, check_invalid};

    #[test]
    fn send_back() {
        let h = ConsumerSendMsgBackRequestHeader {
            offset: 4096,
            group: "cg".into(),
            delay_level: 0,
            origin_msg_id: Some("U".into()),
            origin_topic: Some("t".into()),
            unit_mode: Some(false),
            max_reconsume_times: Some(16),
            broker_name: Some("b".into()),
        };
        let g: &[(&str, &str)] = &[
            ("offset", "4096"),
            ("group", "cg"),
            ("delayLevel", "0"),
            ("originMsgId", "U"),
            ("originTopic", "t"),
            ("unitMode", "false"),
            ("maxReconsumeTimes", "16"),
            ("bname", "b"),
        ];
        check_header(&h, g, &["offset", "group", "delayLevel"]);
        check_invalid::<ConsumerSendMsgBackRequestHeader>(g, "delayLevel", "-");
    }

    #[test]
    fn body_only_headers() {
        let g: &[(&str, &str)] = &[("bname", "b")];
        let b = Some("b".to_owned());
        check_header(
            &HeartbeatRequestHeader {
                broker_name: b.clone(),
            },
            g,
            &[],
        );
        check_header(
            &LockBatchMqRequestHeader {
                broker_name: b.clone(),
            },
            g,
            &[],
        );
        check_header(&UnlockBatchMqRequestHeader { broker_name: b }, g, &[]);
        check_header(&HeartbeatRequestHeader::default(), &[], &[]);
    }

    #[test]
    fn group_headers() {
        let h = UnregisterClientRequestHeader {
            client_id: "10.0.0.1@1".into(),
            producer_group: Some("pg".into()),
            consumer_group: None,
            broker_name: None,
        };
        check_header(
            &h,
            &[("clientID", "10.0.0.1@1"), ("producerGroup", "pg")],
            &["clientID"],
        );
        check_header(
            &GetConsumerListByGroupRequestHeader {
                consumer_group: "cg".into(),
                broker_name: Some("b".into()),
            },
            &[("consumerGroup", "cg"), ("bname", "b")],
            &["consumerGroup"],
        );
        check_header(
            &NotifyConsumerIdsChangedRequestHeader {
                consumer_group: "cg".into(),
                broker_name: None,
            },
            &[("consumerGroup", "cg")],
            &["consumerGroup"],
        );
    }

    #[test]
    fn broker_to_client_requests() {
        check_header(
            &GetConsumerRunningInfoRequestHeader {
                consumer_group: "cg".into(),
                client_id: "c1".into(),
                jstack_enable: Some(false),
                broker_name: None,
            },
            &[
                ("consumerGroup", "cg"),
                ("clientId", "c1"),
                ("jstackEnable", "false"),
            ],
            &["consumerGroup", "clientId"],
        );
        let reset = ResetOffsetRequestHeader {
            topic: "t".into(),
            group: "cg".into(),
            queue_id: Some(-1),
            offset: Some(5),
            timestamp: 1_700_000_000_000,
            is_force: true,
            broker_name: None,
        };
        let g: &[(&str, &str)] = &[
            ("topic", "t"),
            ("group", "cg"),
            ("queueId", "-1"),
            ("offset", "5"),
            ("timestamp", "1700000000000"),
            ("isForce", "true"),
        ];
        check_header(&reset, g, &["topic", "group", "timestamp", "isForce"]);
        check_header(
            &GetConsumerStatusRequestHeader {
                topic: "t".into(),
                group: "cg".into(),
                client_addr: Some("10.0.0.1:1234".into()),
                broker_name: None,
            },
            &[
                ("topic", "t"),
                ("group", "cg"),
                ("clientAddr", "10.0.0.1:1234"),
            ],
            &["topic", "group"],
        );
    }
}
