//! The HEART_BEAT body and its parts (docs/protocol.md, "Heartbeat").
//!
//! Java 5.x clients add `heartbeatFingerprint` and `withoutSub`; the Go client and 4.x Java
//! clients send neither. Both are `Option`s here so a decoded heartbeat re-encodes in the shape
//! it arrived in.

use serde::{Deserialize, Serialize};

use crate::json;

name_enum! {
    /// How a consumer receives messages (`ConsumeType`).
    ConsumeType, default ConsumePassively {
        /// Pull consumer.
        ConsumeActively = "CONSUME_ACTIVELY",
        /// Push consumer (the default).
        ConsumePassively = "CONSUME_PASSIVELY",
        /// 5.x POP consumer.
        ConsumePop = "CONSUME_POP",
    }
}

name_enum! {
    /// How a group shares messages (`MessageModel`).
    MessageModel, default Clustering {
        /// Every consumer gets every message.
        Broadcasting = "BROADCASTING",
        /// Each message goes to one consumer of the group (the default).
        Clustering = "CLUSTERING",
    }
}

name_enum! {
    /// Where a new consumer group starts (`ConsumeFromWhere`).
    ConsumeFromWhere, default ConsumeFromLastOffset {
        /// From the end (the default).
        ConsumeFromLastOffset = "CONSUME_FROM_LAST_OFFSET",
        /// Deprecated; behaves as `CONSUME_FROM_LAST_OFFSET`.
        ConsumeFromLastOffsetAndFromMinWhenBootFirst =
            "CONSUME_FROM_LAST_OFFSET_AND_FROM_MIN_WHEN_BOOT_FIRST",
        /// Deprecated; behaves as `CONSUME_FROM_LAST_OFFSET`.
        ConsumeFromMinOffset = "CONSUME_FROM_MIN_OFFSET",
        /// Deprecated; behaves as `CONSUME_FROM_LAST_OFFSET`.
        ConsumeFromMaxOffset = "CONSUME_FROM_MAX_OFFSET",
        /// From the first stored message.
        ConsumeFromFirstOffset = "CONSUME_FROM_FIRST_OFFSET",
        /// From the consumer's `consumeTimestamp`.
        ConsumeFromTimestamp = "CONSUME_FROM_TIMESTAMP",
    }
}

impl ConsumeFromWhere {
    /// Whether this is one of the three deprecated values that behave as
    /// `CONSUME_FROM_LAST_OFFSET`.
    pub fn is_deprecated(&self) -> bool {
        matches!(
            self,
            ConsumeFromWhere::ConsumeFromLastOffsetAndFromMinWhenBootFirst
                | ConsumeFromWhere::ConsumeFromMinOffset
                | ConsumeFromWhere::ConsumeFromMaxOffset
        )
    }
}

name_enum! {
    /// The language of a subscription expression (`ExpressionType`, a string in Java).
    ExpressionType, default Tag {
        /// `TagA || TagB` or `*` (the default).
        Tag = "TAG",
        /// SQL92 over message properties.
        Sql92 = "SQL92",
    }
}

impl ExpressionType {
    /// Java's `ExpressionType.isTagType`: `TAG`, or empty.
    pub fn is_tag(&self) -> bool {
        match self {
            ExpressionType::Tag => true,
            ExpressionType::Other(s) => s.is_empty(),
            ExpressionType::Sql92 => false,
        }
    }
}

/// The expression that subscribes to every tag.
pub const SUB_ALL: &str = "*";

/// One topic subscription of a consumer group (`SubscriptionData`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SubscriptionData {
    /// Legacy class filtering (always false in practice).
    #[serde(deserialize_with = "json::lenient::bool")]
    pub class_filter_mode: bool,
    /// Java `String.hashCode` of each tag.
    #[serde(deserialize_with = "super::de::i32_vec")]
    pub code_set: Vec<i32>,
    /// `TAG` or `SQL92`.
    pub expression_type: ExpressionType,
    /// The expression: `*`, `TagA || TagB`, or SQL92 text.
    #[serde(deserialize_with = "json::lenient::string")]
    pub sub_string: String,
    /// Milliseconds timestamp of the subscription; newer replaces older.
    #[serde(deserialize_with = "json::lenient::i64")]
    pub sub_version: i64,
    /// The tags of a TAG expression (empty for `*`).
    #[serde(deserialize_with = "super::de::string_vec")]
    pub tags_set: Vec<String>,
    /// The topic.
    #[serde(deserialize_with = "json::lenient::string")]
    pub topic: String,
}

json_body!(SubscriptionData);

/// Java `String.hashCode` (UTF-16 code units, wrapping), the tag code of a subscription.
fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, u| h.wrapping_mul(31).wrapping_add(i32::from(u)))
}

impl SubscriptionData {
    /// A TAG subscription built like Java's `FilterAPI.buildSubscriptionData`: empty or `*`
    /// subscribes to all; otherwise tags are split on `||`, trimmed, empty ones dropped.
    pub fn tag(topic: impl Into<String>, expression: &str, sub_version: i64) -> Self {
        let mut sd = SubscriptionData {
            topic: topic.into(),
            sub_version,
            ..SubscriptionData::default()
        };
        let expr = expression.trim();
        if expr.is_empty() || expr == SUB_ALL {
            sd.sub_string = SUB_ALL.to_owned();
            return sd;
        }
        sd.sub_string = expression.to_owned();
        for tag in expr.split("||").map(str::trim).filter(|t| !t.is_empty()) {
            if !sd.tags_set.iter().any(|t| t == tag) {
                sd.tags_set.push(tag.to_owned());
                sd.code_set.push(java_string_hash(tag));
            }
        }
        sd
    }

    /// A SQL92 subscription.
    pub fn sql92(
        topic: impl Into<String>,
        expression: impl Into<String>,
        sub_version: i64,
    ) -> Self {
        SubscriptionData {
            topic: topic.into(),
            sub_string: expression.into(),
            sub_version,
            expression_type: ExpressionType::Sql92,
            ..SubscriptionData::default()
        }
    }

    /// Whether this subscribes to every tag (`*` or empty, TAG type).
    pub fn is_sub_all(&self) -> bool {
        self.expression_type.is_tag() && matches!(self.sub_string.trim(), "" | SUB_ALL)
    }
}

/// A producer group of a client (`ProducerData`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ProducerData {
    /// The producer group.
    #[serde(deserialize_with = "json::lenient::string")]
    pub group_name: String,
}

/// A consumer group of a client (`ConsumerData`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ConsumerData {
    /// Where the group starts.
    pub consume_from_where: ConsumeFromWhere,
    /// Pull, push or pop.
    pub consume_type: ConsumeType,
    /// The consumer group.
    #[serde(deserialize_with = "json::lenient::string")]
    pub group_name: String,
    /// Clustering or broadcasting.
    pub message_model: MessageModel,
    /// The subscriptions (including the group's `%RETRY%` topic for push consumers).
    #[serde(deserialize_with = "super::de::object_vec")]
    pub subscription_data_set: Vec<SubscriptionData>,
    /// Unit mode (always false in practice).
    #[serde(deserialize_with = "json::lenient::bool")]
    pub unit_mode: bool,
}

/// The HEART_BEAT body (`HeartbeatData`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct HeartbeatData {
    /// The client id (`ip@pid#...`); JSON key `clientID`.
    #[serde(rename = "clientID", deserialize_with = "json::lenient::string")]
    pub client_id: String,
    /// Consumer groups of the client.
    #[serde(deserialize_with = "super::de::object_vec")]
    pub consumer_data_set: Vec<ConsumerData>,
    /// 5.x: fingerprint of the subscriptions (0 means heartbeat V1 semantics).
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::de::opt_i32"
    )]
    pub heartbeat_fingerprint: Option<i32>,
    /// Producer groups of the client (Java clients include `CLIENT_INNER_PRODUCER`).
    #[serde(deserialize_with = "super::de::object_vec")]
    pub producer_data_set: Vec<ProducerData>,
    /// 5.x heartbeat V2: subscriptions omitted because the fingerprint is unchanged.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::de::opt_bool"
    )]
    pub without_sub: Option<bool>,
}

json_body!(HeartbeatData);

#[cfg(test)]
mod tests {
    use super::*;

    const JAVA_5X: &str = r#"{"clientID":"192.168.1.10@12345#1234567890","consumerDataSet":[{"consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","consumeType":"CONSUME_PASSIVELY","groupName":"GID_A","messageModel":"CLUSTERING","subscriptionDataSet":[{"classFilterMode":false,"codeSet":[2598919],"expressionType":"TAG","subString":"TagA","subVersion":1700000000000,"tagsSet":["TagA"],"topic":"T1"},{"classFilterMode":false,"codeSet":[],"expressionType":"TAG","subString":"*","subVersion":1700000000001,"tagsSet":[],"topic":"%RETRY%GID_A"}],"unitMode":false}],"heartbeatFingerprint":0,"producerDataSet":[{"groupName":"PID_A"},{"groupName":"CLIENT_INNER_PRODUCER"}],"withoutSub":false}"#;

    #[test]
    fn java_5x_heartbeat_round_trips_byte_exact() {
        let hb = HeartbeatData::decode(JAVA_5X.as_bytes()).expect("decode");
        assert_eq!(hb.client_id, "192.168.1.10@12345#1234567890");
        let c = &hb.consumer_data_set[0];
        assert_eq!(c.consume_type, ConsumeType::ConsumePassively);
        assert_eq!(c.subscription_data_set[0].code_set, vec![2_598_919]);
        assert!(c.subscription_data_set[1].is_sub_all());
        assert_eq!(hb.heartbeat_fingerprint, Some(0));
        assert_eq!(hb.without_sub, Some(false));
        assert_eq!(hb.to_json(), JAVA_5X);
        let built = SubscriptionData::tag("T1", "TagA", 1_700_000_000_000);
        assert_eq!(built, c.subscription_data_set[0]);
    }

    #[test]
    fn go_and_cpp_shaped_heartbeats_decode() {
        let go = br#"{"clientID":"10.0.0.9@4242","producerDataSet":[],"consumerDataSet":[{"groupName":"g","consumeType":"CONSUME_ACTIVELY","messageModel":"BROADCASTING","consumeFromWhere":"CONSUME_FROM_FIRST_OFFSET","subscriptionDataSet":[{"classFilterMode":false,"topic":"T","subString":"a || b","tagsSet":["a","b"],"codeSet":[97,98],"subVersion":1,"expressionType":"TAG"}],"unitMode":false}]}"#;
        let hb = HeartbeatData::decode(go).expect("go");
        assert_eq!(hb.heartbeat_fingerprint, None);
        assert_eq!(hb.without_sub, None);
        assert!(!hb.to_json().contains("withoutSub"));
        let c = &hb.consumer_data_set[0];
        assert_eq!(c.message_model, MessageModel::Broadcasting);
        assert_eq!(
            c.subscription_data_set[0],
            SubscriptionData::tag("T", "a || b", 1)
        );

        // C++: enums as ordinals, subVersion as a string, extra fields.
        let cpp = br#"{"clientID":"c","consumerDataSet":[{"consumeFromWhere":4,"consumeType":1,"groupName":"g","messageModel":1,"subscriptionDataSet":[{"subString":"*","subVersion":"1700000000000","topic":"T","codeSet":["5"]}],"unitMode":"false","x":null}],"producerDataSet":null}"#;
        let hb = HeartbeatData::decode(cpp).expect("cpp");
        let c = &hb.consumer_data_set[0];
        assert_eq!(
            c.consume_from_where,
            ConsumeFromWhere::ConsumeFromFirstOffset
        );
        assert_eq!(c.consume_type, ConsumeType::ConsumePassively);
        assert_eq!(c.message_model, MessageModel::Clustering);
        assert_eq!(c.subscription_data_set[0].sub_version, 1_700_000_000_000);
        assert_eq!(c.subscription_data_set[0].code_set, vec![5]);
    }

    #[test]
    fn unknown_enum_names_are_kept() {
        let hb = HeartbeatData::decode(
            br#"{"consumerDataSet":[{"consumeType":"CONSUME_WEIRDLY","consumeFromWhere":null,"messageModel":9}]}"#,
        )
        .expect("odd");
        let c = &hb.consumer_data_set[0];
        assert_eq!(c.consume_type, ConsumeType::Other("CONSUME_WEIRDLY".into()));
        assert_eq!(
            c.consume_from_where,
            ConsumeFromWhere::ConsumeFromLastOffset
        );
        assert_eq!(c.message_model, MessageModel::Other("9".into()));
        assert!(hb.to_json().contains(r#""consumeType":"CONSUME_WEIRDLY""#));
        assert!(ConsumeFromWhere::ConsumeFromMinOffset.is_deprecated());
        assert!(ExpressionType::Other(String::new()).is_tag());
        assert!(!SubscriptionData::sql92("T", "a > 1", 1).is_sub_all());
    }

    #[test]
    fn tag_codes_are_java_string_hashes() {
        assert_eq!(java_string_hash("TagA"), 2_598_919);
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("é"), 233);
        let sd = SubscriptionData::tag("T", " * ", 0);
        assert_eq!(sd.sub_string, "*");
        assert!(sd.tags_set.is_empty());
    }
}
