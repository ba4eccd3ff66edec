//! Query and view headers (docs/protocol.md, "Query and view headers"): `QUERY_MESSAGE` (12) and
//! `VIEW_MESSAGE_BY_ID` (33).

command_header! {
    /// `QueryMessageRequestHeader` (12), plus the `_UNIQUE_KEY_QUERY` ext key.
    pub struct QueryMessageRequestHeader {
        /// Topic.
        topic: String, "topic", required;
        /// Index key (a message key, or a UNIQ_KEY when `unique_key_query`).
        key: String, "key", required;
        /// Maximum messages to return.
        max_num: i32, "maxNum", required;
        /// Range start, ms.
        begin_timestamp: i64, "beginTimestamp", required;
        /// Range end, ms.
        end_timestamp: i64, "endTimestamp", required;
        /// Ext `_UNIQUE_KEY_QUERY` (not a Java header field): the key is a UNIQ_KEY and the
        /// broker caps results at `defaultQueryMaxNum`.
        unique_key_query: bool, "_UNIQUE_KEY_QUERY", optional;
        /// 5.x broker name.
        broker_name: String, "bname", optional;
    }
}

command_header! {
    /// `QueryMessageResponseHeader`; the body is the concatenated stored messages.
    pub struct QueryMessageResponseHeader {
        /// Last index update time, ms.
        index_last_update_timestamp: i64, "indexLastUpdateTimestamp", required;
        /// Commitlog offset the index covers up to.
        index_last_update_phyoffset: i64, "indexLastUpdatePhyoffset", required;
    }
}

command_header! {
    /// `ViewMessageRequestHeader` (33); the body of the answer is one stored message.
    pub struct ViewMessageRequestHeader {
        /// 5.x topic.
        topic: String, "topic", optional;
        /// The message's commitlog offset.
        offset: i64, "offset", required;
        /// 5.x broker name.
        broker_name: String, "bname", optional;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::test_support::{check_header, check_invalid};

    #[test]
    fn query_message() {
        let h = QueryMessageRequestHeader {
            topic: "t".into(),
            key: "k1".into(),
            max_num: 32,
            begin_timestamp: 0,
            end_timestamp: i64::MAX,
            unique_key_query: Some(true),
            broker_name: Some("b".into()),
        };
        let g: &[(&str, &str)] = &[
            ("topic", "t"),
            ("key", "k1"),
            ("maxNum", "32"),
            ("beginTimestamp", "0"),
            ("endTimestamp", "9223372036854775807"),
            ("_UNIQUE_KEY_QUERY", "true"),
            ("bname", "b"),
        ];
        check_header(
            &h,
            g,
            &["topic", "key", "maxNum", "beginTimestamp", "endTimestamp"],
        );
        check_invalid::<QueryMessageRequestHeader>(g, "endTimestamp", "9223372036854775808");
        check_header(
            &QueryMessageResponseHeader {
                index_last_update_timestamp: 1,
                index_last_update_phyoffset: 2,
            },
            &[
                ("indexLastUpdateTimestamp", "1"),
                ("indexLastUpdatePhyoffset", "2"),
            ],
            &["indexLastUpdateTimestamp", "indexLastUpdatePhyoffset"],
        );
    }

    #[test]
    fn view_message() {
        check_header(
            &ViewMessageRequestHeader {
                topic: Some("t".into()),
                offset: 4096,
                broker_name: Some("b".into()),
            },
            &[("topic", "t"), ("offset", "4096"), ("bname", "b")],
            &["offset"],
        );
    }
}
