//! Pull headers (docs/protocol.md, "Pull headers"): `PULL_MESSAGE` (11) and `LITE_PULL_MESSAGE`
//! (361).

command_header! {
    /// `PullMessageRequestHeader` (11, and 361 when [`pull_sys_flag::LITE_PULL_MESSAGE`] is set).
    pub struct PullMessageRequestHeader {
        /// Consumer group.
        consumer_group: String, "consumerGroup", required;
        /// Topic to read.
        topic: String, "topic", required;
        /// Queue to read.
        queue_id: i32, "queueId", required;
        /// Logical offset to read from.
        queue_offset: i64, "queueOffset", required;
        /// Maximum messages to return (push consumer 32, lite pull 10).
        max_msg_nums: i32, "maxMsgNums", required;
        /// [`pull_sys_flag`] bits.
        sys_flag: i32, "sysFlag", required;
        /// Consumer offset to persist (only with [`pull_sys_flag::COMMIT_OFFSET`]).
        commit_offset: i64, "commitOffset", required;
        /// Long-poll hold time, ms (push 15000, lite pull 20000).
        suspend_timeout_millis: i64, "suspendTimeoutMillis", required;
        /// Subscription expression (sent with [`pull_sys_flag::SUBSCRIPTION`]).
        subscription: String, "subscription", optional;
        /// Subscription version (ms timestamp).
        sub_version: i64, "subVersion", required;
        /// `TAG` (default) or `SQL92`.
        expression_type: String, "expressionType", optional;
        /// 5.x byte limit of the answer (push default 262144).
        max_msg_bytes: i32, "maxMsgBytes", optional;
        /// 5.x proxy request source.
        request_source: i32, "requestSource", optional;
        /// 5.x proxy-forwarded client id (the key's typo is Java's).
        proxy_forward_client_id: String, "proxyFrowardClientId", optional;
        /// 5.x broker name.
        broker_name: String, "bname", optional;
    }
}

command_header! {
    /// `PullMessageResponseHeader`; the four required fields must be present for every pull
    /// response code 0/19/20/21.
    pub struct PullMessageResponseHeader {
        /// Broker id to pull from next: 0 master, 1 slave.
        suggest_which_broker_id: i64, "suggestWhichBrokerId", required;
        /// Next offset to request.
        next_begin_offset: i64, "nextBeginOffset", required;
        /// Queue minimum logical offset.
        min_offset: i64, "minOffset", required;
        /// Queue maximum logical offset (exclusive).
        max_offset: i64, "maxOffset", required;
        /// Static-topic mapping delta.
        offset_delta: i64, "offsetDelta", optional;
        /// 5.x topic sys flag.
        topic_sys_flag: i32, "topicSysFlag", optional;
        /// 5.x group sys flag.
        group_sys_flag: i32, "groupSysFlag", optional;
        /// 5.x forbidden type.
        forbidden_type: i32, "forbiddenType", optional;
    }
}

/// `PullSysFlag` bits of [`PullMessageRequestHeader::sys_flag`] (Java `PullSysFlag`).
pub mod pull_sys_flag {
    /// Bit 0: the broker (master only) stores `commitOffset`.
    pub const COMMIT_OFFSET: i32 = 0x1;
    /// Bit 1: the broker may hold the request (long polling).
    pub const SUSPEND: i32 = 0x2;
    /// Bit 2: use `subscription`/`expressionType` from the header.
    pub const SUBSCRIPTION: i32 = 0x4;
    /// Bit 3: obsolete filter-server class filter.
    pub const CLASS_FILTER: i32 = 0x8;
    /// Bit 4: lite pull (sent as code 361).
    pub const LITE_PULL_MESSAGE: i32 = 0x10;

    /// Builds flags as Java's `PullSysFlag.buildSysFlag(commitOffset, suspend, subscription,
    /// classFilter)`.
    pub fn build(
        commit_offset: bool,
        suspend: bool,
        subscription: bool,
        class_filter: bool,
    ) -> i32 {
        let mut flag = 0;
        if commit_offset {
            flag |= COMMIT_OFFSET;
        }
        if suspend {
            flag |= SUSPEND;
        }
        if subscription {
            flag |= SUBSCRIPTION;
        }
        if class_filter {
            flag |= CLASS_FILTER;
        }
        flag
    }

    /// Whether `bit` is set in `flag`.
    pub fn has(flag: i32, bit: i32) -> bool {
        flag & bit == bit
    }

    /// `flag` without [`COMMIT_OFFSET`] (Java `clearCommitOffsetFlag`, used when pulling from a
    /// slave).
    pub fn clear_commit_offset(flag: i32) -> i32 {
        flag & !COMMIT_OFFSET
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::ext::CommandHeader;
    use crate::header::test_support::{check_header, check_invalid};

    const REQ_GOLDEN: &[(&str, &str)] = &[
        ("consumerGroup", "cg"),
        ("topic", "TopicTest"),
        ("queueId", "2"),
        ("queueOffset", "100"),
        ("maxMsgNums", "32"),
        ("sysFlag", "3"),
        ("commitOffset", "99"),
        ("suspendTimeoutMillis", "15000"),
        ("subscription", "TagA || TagB"),
        ("subVersion", "1700000000000"),
        ("expressionType", "TAG"),
        ("maxMsgBytes", "262144"),
        ("requestSource", "-1"),
        ("proxyFrowardClientId", "client@1"),
        ("bname", "broker-a"),
    ];

    fn sample_req() -> PullMessageRequestHeader {
        PullMessageRequestHeader {
            consumer_group: "cg".into(),
            topic: "TopicTest".into(),
            queue_id: 2,
            queue_offset: 100,
            max_msg_nums: 32,
            sys_flag: pull_sys_flag::build(true, true, false, false),
            commit_offset: 99,
            suspend_timeout_millis: 15000,
            subscription: Some("TagA || TagB".into()),
            sub_version: 1_700_000_000_000,
            expression_type: Some("TAG".into()),
            max_msg_bytes: Some(262_144),
            request_source: Some(-1),
            proxy_forward_client_id: Some("client@1".into()),
            broker_name: Some("broker-a".into()),
        }
    }

    #[test]
    fn request_golden_and_required() {
        check_header(
            &sample_req(),
            REQ_GOLDEN,
            &[
                "consumerGroup",
                "topic",
                "queueId",
                "queueOffset",
                "maxMsgNums",
                "sysFlag",
                "commitOffset",
                "suspendTimeoutMillis",
                "subVersion",
            ],
        );
        check_invalid::<PullMessageRequestHeader>(REQ_GOLDEN, "queueOffset", "1e3");
    }

    #[test]
    fn response_golden_and_required() {
        let h = PullMessageResponseHeader {
            suggest_which_broker_id: 0,
            next_begin_offset: 132,
            min_offset: 0,
            max_offset: 200,
            offset_delta: Some(-5),
            topic_sys_flag: Some(0),
            group_sys_flag: Some(0),
            forbidden_type: Some(1),
        };
        let golden: &[(&str, &str)] = &[
            ("suggestWhichBrokerId", "0"),
            ("nextBeginOffset", "132"),
            ("minOffset", "0"),
            ("maxOffset", "200"),
            ("offsetDelta", "-5"),
            ("topicSysFlag", "0"),
            ("groupSysFlag", "0"),
            ("forbiddenType", "1"),
        ];
        check_header(
            &h,
            golden,
            &[
                "suggestWhichBrokerId",
                "nextBeginOffset",
                "minOffset",
                "maxOffset",
            ],
        );
        check_invalid::<PullMessageResponseHeader>(golden, "maxOffset", "x");
    }

    #[test]
    fn sys_flag_bits() {
        assert_eq!(pull_sys_flag::build(true, true, true, true), 0xF);
        let f = pull_sys_flag::build(true, true, false, false) | pull_sys_flag::LITE_PULL_MESSAGE;
        assert!(pull_sys_flag::has(f, pull_sys_flag::LITE_PULL_MESSAGE));
        assert!(!pull_sys_flag::has(f, pull_sys_flag::SUBSCRIPTION));
        assert_eq!(pull_sys_flag::clear_commit_offset(f), 0x12);
    }

    prop_compose! {
        fn any_req()(
            strings in proptest::collection::vec(".*", 2),
            ints in any::<(i32, i32, i32)>(),
            longs in any::<(i64, i64, i64, i64)>(),
            subscription in proptest::option::of(".*"),
            expression_type in proptest::option::of("TAG|SQL92"),
            opt_ints in any::<(Option<i32>, Option<i32>)>(),
            proxy_forward_client_id in proptest::option::of(".*"),
            broker_name in proptest::option::of(".*"),
        ) -> PullMessageRequestHeader {
            PullMessageRequestHeader {
                consumer_group: strings[0].clone(),
                topic: strings[1].clone(),
                queue_id: ints.0,
                max_msg_nums: ints.1,
                sys_flag: ints.2,
                queue_offset: longs.0,
                commit_offset: longs.1,
                suspend_timeout_millis: longs.2,
                sub_version: longs.3,
                subscription,
                expression_type,
                max_msg_bytes: opt_ints.0,
                request_source: opt_ints.1,
                proxy_forward_client_id,
                broker_name,
            }
        }
    }

    proptest! {
        #[test]
        fn request_round_trips(h in any_req()) {
            prop_assert_eq!(PullMessageRequestHeader::read_ext(&h.to_ext()), Ok(h));
        }

        #[test]
        fn response_round_trips(
            longs in any::<(i64, i64, i64, i64, Option<i64>)>(),
            ints in any::<(Option<i32>, Option<i32>, Option<i32>)>(),
        ) {
            let h = PullMessageResponseHeader {
                suggest_which_broker_id: longs.0,
                next_begin_offset: longs.1,
                min_offset: longs.2,
                max_offset: longs.3,
                offset_delta: longs.4,
                topic_sys_flag: ints.0,
                group_sys_flag: ints.1,
                forbidden_type: ints.2,
            };
            prop_assert_eq!(PullMessageResponseHeader::read_ext(&h.to_ext()), Ok(h));
        }
    }
}
