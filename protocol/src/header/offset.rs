//! Offset headers (docs/protocol.md, "Offset headers"): query/update consumer offset, min/max
//! offset, search by timestamp and earliest store time.

use crate::header::BoundaryType;

command_header! {
    /// `QueryConsumerOffsetRequestHeader` (14).
    pub struct QueryConsumerOffsetRequestHeader {
        /// Consumer group.
        consumer_group: String, "consumerGroup", required;
        /// Topic.
        topic: String, "topic", required;
        /// Queue.
        queue_id: i32, "queueId", required;
        /// 5.x: answer 0 instead of `QUERY_NOT_FOUND` when possible (clients leave it unset).
        set_zero_if_not_found: bool, "setZeroIfNotFound", optional;
        /// 5.x broker name.
        broker_name: String, "bname", optional;
    }
}

command_header! {
    /// `QueryConsumerOffsetResponseHeader`.
    pub struct QueryConsumerOffsetResponseHeader {
        /// The stored consumer offset.
        offset: i64, "offset", required;
    }
}

command_header! {
    /// `UpdateConsumerOffsetRequestHeader` (15).
    pub struct UpdateConsumerOffsetRequestHeader {
        /// Consumer group.
        consumer_group: String, "consumerGroup", required;
        /// Topic.
        topic: String, "topic", required;
        /// Queue.
        queue_id: i32, "queueId", required;
        /// Offset to store.
        commit_offset: i64, "commitOffset", required;
        /// 5.x broker name.
        broker_name: String, "bname", optional;
    }
}

command_header! {
    /// `GetMaxOffsetRequestHeader` (30).
    pub struct GetMaxOffsetRequestHeader {
        /// Topic.
        topic: String, "topic", required;
        /// Queue.
        queue_id: i32, "queueId", required;
        /// 5.x: committed offset only (default true).
        committed: bool, "committed", optional;
        /// 5.x broker name.
        broker_name: String, "bname", optional;
    }
}

command_header! {
    /// `GetMaxOffsetResponseHeader`.
    pub struct GetMaxOffsetResponseHeader {
        /// Queue max logical offset (exclusive).
        offset: i64, "offset", required;
    }
}

command_header! {
    /// `GetMinOffsetRequestHeader` (31).
    pub struct GetMinOffsetRequestHeader {
        /// Topic.
        topic: String, "topic", required;
        /// Queue.
        queue_id: i32, "queueId", required;
        /// 5.x broker name.
        broker_name: String, "bname", optional;
    }
}

command_header! {
    /// `GetMinOffsetResponseHeader`.
    pub struct GetMinOffsetResponseHeader {
        /// Queue min logical offset.
        offset: i64, "offset", required;
    }
}

command_header! {
    /// `SearchOffsetRequestHeader` (29).
    pub struct SearchOffsetRequestHeader {
        /// Topic.
        topic: String, "topic", required;
        /// Queue.
        queue_id: i32, "queueId", required;
        /// Store timestamp to search for, ms.
        timestamp: i64, "timestamp", required;
        /// 5.x boundary (`LOWER`/`UPPER`; unset means lower).
        boundary_type: BoundaryType, "boundaryType", optional;
        /// 5.x broker name.
        broker_name: String, "bname", optional;
    }
}

command_header! {
    /// `SearchOffsetResponseHeader`.
    pub struct SearchOffsetResponseHeader {
        /// The logical offset found.
        offset: i64, "offset", required;
    }
}

command_header! {
    /// `GetEarliestMsgStoretimeRequestHeader` (32).
    pub struct GetEarliestMsgStoretimeRequestHeader {
        /// Topic.
        topic: String, "topic", required;
        /// Queue.
        queue_id: i32, "queueId", required;
        /// 5.x broker name.
        broker_name: String, "bname", optional;
    }
}

command_header! {
    /// `GetEarliestMsgStoretimeResponseHeader`.
    pub struct GetEarliestMsgStoretimeResponseHeader {
        /// Store time of the queue's first message, ms.
        timestamp: i64, "timestamp", required;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ext::CommandHeader;
    use crate::header::test_support::{check_header, check_invalid, ext_of};

    #[test]
    fn query_consumer_offset() {
        let h = QueryConsumerOffsetRequestHeader {
            consumer_group: "cg".into(),
            topic: "t".into(),
            queue_id: 1,
            set_zero_if_not_found: Some(false),
            broker_name: Some("b".into()),
        };
        let g: &[(&str, &str)] = &[
            ("consumerGroup", "cg"),
            ("topic", "t"),
            ("queueId", "1"),
            ("setZeroIfNotFound", "false"),
            ("bname", "b"),
        ];
        check_header(&h, g, &["consumerGroup", "topic", "queueId"]);
        check_invalid::<QueryConsumerOffsetRequestHeader>(g, "queueId", "one");
        check_header(
            &QueryConsumerOffsetResponseHeader { offset: -1 },
            &[("offset", "-1")],
            &["offset"],
        );
    }

    #[test]
    fn update_consumer_offset() {
        let h = UpdateConsumerOffsetRequestHeader {
            consumer_group: "cg".into(),
            topic: "t".into(),
            queue_id: 0,
            commit_offset: 77,
            broker_name: None,
        };
        let g: &[(&str, &str)] = &[
            ("consumerGroup", "cg"),
            ("topic", "t"),
            ("queueId", "0"),
            ("commitOffset", "77"),
        ];
        check_header(
            &h,
            g,
            &["consumerGroup", "topic", "queueId", "commitOffset"],
        );
    }

    #[test]
    fn min_max_earliest() {
        let max = GetMaxOffsetRequestHeader {
            topic: "t".into(),
            queue_id: 3,
            committed: Some(true),
            broker_name: Some("b".into()),
        };
        let g: &[(&str, &str)] = &[
            ("topic", "t"),
            ("queueId", "3"),
            ("committed", "true"),
            ("bname", "b"),
        ];
        check_header(&max, g, &["topic", "queueId"]);
        let min = GetMinOffsetRequestHeader {
            topic: "t".into(),
            queue_id: 3,
            broker_name: Some("b".into()),
        };
        let g: &[(&str, &str)] = &[("topic", "t"), ("queueId", "3"), ("bname", "b")];
        check_header(&min, g, &["topic", "queueId"]);
        let earliest = GetEarliestMsgStoretimeRequestHeader {
            topic: "t".into(),
            queue_id: 3,
            broker_name: Some("b".into()),
        };
        check_header(&earliest, g, &["topic", "queueId"]);
        check_header(
            &GetMaxOffsetResponseHeader { offset: 10 },
            &[("offset", "10")],
            &["offset"],
        );
        check_header(
            &GetMinOffsetResponseHeader { offset: 0 },
            &[("offset", "0")],
            &["offset"],
        );
        check_header(
            &GetEarliestMsgStoretimeResponseHeader {
                timestamp: 1_700_000_000_000,
            },
            &[("timestamp", "1700000000000")],
            &["timestamp"],
        );
    }

    #[test]
    fn search_offset() {
        let h = SearchOffsetRequestHeader {
            topic: "t".into(),
            queue_id: 2,
            timestamp: 1_700_000_000_000,
            boundary_type: Some(BoundaryType::Upper),
            broker_name: Some("b".into()),
        };
        let g: &[(&str, &str)] = &[
            ("topic", "t"),
            ("queueId", "2"),
            ("timestamp", "1700000000000"),
            ("boundaryType", "UPPER"),
            ("bname", "b"),
        ];
        check_header(&h, g, &["topic", "queueId", "timestamp"]);
        let mut ext = ext_of(g);
        ext.insert("boundaryType", "upper");
        assert_eq!(SearchOffsetRequestHeader::read_ext(&ext), Ok(h.clone()));
        ext.insert("boundaryType", "lower");
        assert_eq!(
            SearchOffsetRequestHeader::read_ext(&ext).map(|h| h.boundary_type),
            Ok(Some(BoundaryType::Lower))
        );
        check_header(
            &SearchOffsetResponseHeader { offset: 5 },
            &[("offset", "5")],
            &["offset"],
        );
    }
}
