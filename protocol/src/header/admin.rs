//! Admin headers used by SDKs and tools (docs/protocol.md, "Admin headers").

use crate::header::TopicFilterType;

command_header! {
    /// `CreateTopicRequestHeader` (17, `UPDATE_AND_CREATE_TOPIC`).
    pub struct CreateTopicRequestHeader {
        /// Topic to create or update.
        topic: String, "topic", required;
        /// Template topic (normally `TBW102`).
        default_topic: String, "defaultTopic", required;
        /// Readable queue count.
        read_queue_nums: i32, "readQueueNums", required;
        /// Writable queue count.
        write_queue_nums: i32, "writeQueueNums", required;
        /// Permission bits (2 write, 4 read, 1 inherit).
        perm: i32, "perm", required;
        /// Tag filter type.
        topic_filter_type: TopicFilterType, "topicFilterType", required;
        /// Topic sys flag.
        topic_sys_flag: i32, "topicSysFlag", optional;
        /// Whether the topic is ordered.
        order: bool, "order", required;
        /// 5.x attributes, e.g. `+message.type=NORMAL`.
        attributes: String, "attributes", optional;
        /// 5.x: force the update.
        force: bool, "force", optional;
        /// 5.x broker name.
        broker_name: String, "bname", optional;
    }
}

command_header! {
    /// `DeleteTopicRequestHeader` (215, `DELETE_TOPIC_IN_BROKER`).
    pub struct DeleteTopicRequestHeader {
        /// Topic to delete.
        topic: String, "topic", required;
        /// 5.x broker name.
        broker_name: String, "bname", optional;
    }
}

command_header! {
    /// `GetTopicStatsInfoRequestHeader` (202).
    pub struct GetTopicStatsInfoRequestHeader {
        /// Topic.
        topic: String, "topic", required;
        /// 5.x broker name.
        broker_name: String, "bname", optional;
    }
}

command_header! {
    /// `GetTopicConfigRequestHeader` (351): one topic's config.
    pub struct GetTopicConfigRequestHeader {
        /// Topic.
        topic: String, "topic", required;
        /// 5.x: include the logical queue mapping (FerroMQ has none).
        lo: bool, "lo", optional;
    }
}

command_header! {
    /// `GetSubscriptionGroupConfigRequestHeader` (352): one group's config.
    pub struct GetSubscriptionGroupConfigRequestHeader {
        /// Consumer group.
        group: String, "group", required;
    }
}

command_header! {
    /// `CloneGroupOffsetRequestHeader` (314): copy one group's offsets to another.
    pub struct CloneGroupOffsetRequestHeader {
        /// Group copied from.
        src_group: String, "srcGroup", required;
        /// Group copied to.
        dest_group: String, "destGroup", required;
        /// Only this topic (empty or absent: every topic the source group has offsets of).
        topic: String, "topic", optional;
        /// Copy even topics the source group's online consumers do not subscribe to.
        offline: bool, "offline", optional;
    }
}

command_header! {
    /// `ViewBrokerStatsDataRequestHeader` (315): one statistic of one key (`mqadmin statsAll`).
    pub struct ViewBrokerStatsDataRequestHeader {
        /// The statistic, e.g. `TOPIC_PUT_NUMS`, `GROUP_GET_NUMS`.
        stats_name: String, "statsName", required;
        /// Its key: a topic, or `topic@group`.
        stats_key: String, "statsKey", required;
    }
}

command_header! {
    /// `GetConsumeStatsInBrokerHeader` (317): every group's consume stats on this broker.
    pub struct GetConsumeStatsInBrokerHeader {
        /// Only topics marked order.
        is_order: bool, "isOrder", required;
    }
}

command_header! {
    /// `QueryConsumeTimeSpanRequestHeader` (303): per queue, the time span of its messages and
    /// of the group's consumption.
    pub struct QueryConsumeTimeSpanRequestHeader {
        /// Topic.
        topic: String, "topic", required;
        /// Consumer group.
        group: String, "group", required;
    }
}

command_header! {
    /// `QueryConsumeQueueRequestHeader` (321, `mqadmin queryCq`): units of one consume queue.
    pub struct QueryConsumeQueueRequestHeader {
        /// Topic.
        topic: String, "topic", required;
        /// Queue.
        queue_id: i32, "queueId", required;
        /// First queue offset.
        index: i64, "index", required;
        /// How many units.
        count: i32, "count", required;
        /// A group whose subscription to show.
        consumer_group: String, "consumerGroup", optional;
    }
}

command_header! {
    /// `UpdateGroupForbiddenRequestHeader` (353): forbid or allow a group to read a topic.
    pub struct UpdateGroupForbiddenRequestHeader {
        /// Consumer group.
        group: String, "group", required;
        /// Topic.
        topic: String, "topic", required;
        /// Whether the group may read; absent only queries.
        readable: bool, "readable", optional;
    }
}

command_header! {
    /// `GetConsumeStatsRequestHeader` (208).
    pub struct GetConsumeStatsRequestHeader {
        /// Consumer group.
        consumer_group: String, "consumerGroup", required;
        /// Topic (all subscribed topics when unset).
        topic: String, "topic", optional;
        /// 5.x semicolon-separated topic list.
        topic_list: String, "topicList", optional;
        /// 5.x broker name.
        broker_name: String, "bname", optional;
    }
}

command_header! {
    /// `GetConsumerConnectionListRequestHeader` (203).
    pub struct GetConsumerConnectionListRequestHeader {
        /// Consumer group.
        consumer_group: String, "consumerGroup", required;
        /// 5.x broker name.
        broker_name: String, "bname", optional;
    }
}

command_header! {
    /// `GetProducerConnectionListRequestHeader` (204).
    pub struct GetProducerConnectionListRequestHeader {
        /// Producer group.
        producer_group: String, "producerGroup", required;
        /// 5.x broker name.
        broker_name: String, "bname", optional;
    }
}

command_header! {
    /// `GetAllTopicConfigRequestHeader` (21, 5.x paging; 4.9 clients send no header).
    pub struct GetAllTopicConfigRequestHeader {
        /// Index of the first topic of the page.
        topic_seq: i32, "topicSeq", required;
        /// Data version the caller holds.
        data_version: String, "dataVersion", optional;
        /// Page size.
        max_topic_num: i32, "maxTopicNum", optional;
        /// 5.x broker name.
        broker_name: String, "bname", optional;
    }
}

command_header! {
    /// `GetAllTopicConfigResponseHeader` (5.x).
    pub struct GetAllTopicConfigResponseHeader {
        /// Total topic count on the broker.
        total_topic_num: i32, "totalTopicNum", required;
    }
}

command_header! {
    /// `GetBrokerConfigResponseHeader` (26).
    pub struct GetBrokerConfigResponseHeader {
        /// The config's DataVersion as JSON.
        version: String, "version", required;
    }
}

command_header! {
    /// `QueryTopicConsumeByWhoRequestHeader` (300).
    pub struct QueryTopicConsumeByWhoRequestHeader {
        /// Topic.
        topic: String, "topic", required;
        /// 5.x broker name.
        broker_name: String, "bname", optional;
    }
}

command_header! {
    /// `DeleteSubscriptionGroupRequestHeader` (207).
    pub struct DeleteSubscriptionGroupRequestHeader {
        /// Group to delete.
        group_name: String, "groupName", required;
        /// Also delete the group's offsets.
        clean_offset: bool, "cleanOffset", optional;
        /// 5.x broker name.
        broker_name: String, "bname", optional;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::test_support::{check_header, check_invalid};

    const CREATE_GOLDEN: &[(&str, &str)] = &[
        ("topic", "t"),
        ("defaultTopic", "TBW102"),
        ("readQueueNums", "8"),
        ("writeQueueNums", "8"),
        ("perm", "6"),
        ("topicFilterType", "SINGLE_TAG"),
        ("topicSysFlag", "0"),
        ("order", "false"),
        ("attributes", "+message.type=NORMAL"),
        ("force", "false"),
        ("bname", "b"),
    ];

    #[test]
    fn create_topic() {
        let h = CreateTopicRequestHeader {
            topic: "t".into(),
            default_topic: "TBW102".into(),
            read_queue_nums: 8,
            write_queue_nums: 8,
            perm: 6,
            topic_filter_type: TopicFilterType::SingleTag,
            topic_sys_flag: Some(0),
            order: false,
            attributes: Some("+message.type=NORMAL".into()),
            force: Some(false),
            broker_name: Some("b".into()),
        };
        check_header(
            &h,
            CREATE_GOLDEN,
            &[
                "topic",
                "defaultTopic",
                "readQueueNums",
                "writeQueueNums",
                "perm",
                "topicFilterType",
                "order",
            ],
        );
        check_invalid::<CreateTopicRequestHeader>(CREATE_GOLDEN, "topicFilterType", "ANY");
        check_invalid::<CreateTopicRequestHeader>(CREATE_GOLDEN, "perm", "rw");
    }

    #[test]
    fn single_key_headers() {
        let b = Some("b".to_owned());
        let g: &[(&str, &str)] = &[("topic", "t"), ("bname", "b")];
        check_header(
            &DeleteTopicRequestHeader {
                topic: "t".into(),
                broker_name: b.clone(),
            },
            g,
            &["topic"],
        );
        check_header(
            &GetTopicStatsInfoRequestHeader {
                topic: "t".into(),
                broker_name: b.clone(),
            },
            g,
            &["topic"],
        );
        check_header(
            &QueryTopicConsumeByWhoRequestHeader {
                topic: "t".into(),
                broker_name: b.clone(),
            },
            g,
            &["topic"],
        );
        check_header(
            &GetConsumerConnectionListRequestHeader {
                consumer_group: "cg".into(),
                broker_name: None,
            },
            &[("consumerGroup", "cg")],
            &["consumerGroup"],
        );
        check_header(
            &GetProducerConnectionListRequestHeader {
                producer_group: "pg".into(),
                broker_name: b,
            },
            &[("producerGroup", "pg"), ("bname", "b")],
            &["producerGroup"],
        );
        check_header(
            &GetBrokerConfigResponseHeader {
                version: r#"{"counter":1,"timestamp":2}"#.into(),
            },
            &[("version", r#"{"counter":1,"timestamp":2}"#)],
            &["version"],
        );
        check_header(
            &GetAllTopicConfigResponseHeader { total_topic_num: 3 },
            &[("totalTopicNum", "3")],
            &["totalTopicNum"],
        );
    }

    #[test]
    fn consume_stats_topic_config_and_group_delete() {
        check_header(
            &GetConsumeStatsRequestHeader {
                consumer_group: "cg".into(),
                topic: Some("t".into()),
                topic_list: Some("t;u".into()),
                broker_name: None,
            },
            &[
                ("consumerGroup", "cg"),
                ("topic", "t"),
                ("topicList", "t;u"),
            ],
            &["consumerGroup"],
        );
        check_header(
            &GetAllTopicConfigRequestHeader {
                topic_seq: 0,
                data_version: Some("{}".into()),
                max_topic_num: Some(100),
                broker_name: None,
            },
            &[
                ("topicSeq", "0"),
                ("dataVersion", "{}"),
                ("maxTopicNum", "100"),
            ],
            &["topicSeq"],
        );
        check_header(
            &DeleteSubscriptionGroupRequestHeader {
                group_name: "cg".into(),
                clean_offset: Some(true),
                broker_name: None,
            },
            &[("groupName", "cg"), ("cleanOffset", "true")],
            &["groupName"],
        );
    }
}
