//! Connection listings and client checks (docs/protocol.md, "Small bodies"):
//! GET_CONSUMER_CONNECTION_LIST (203), GET_PRODUCER_CONNECTION_LIST (204) and CHECK_CLIENT_CONFIG
//! (46) bodies.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::heartbeat::{ConsumeFromWhere, ConsumeType, MessageModel, SubscriptionData};
use crate::codes::LanguageCode;
use crate::json;

/// One client connection (`Connection`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Connection {
    /// The client's `ip:port`.
    #[serde(deserialize_with = "json::lenient::string")]
    pub client_addr: String,
    /// The client id.
    #[serde(deserialize_with = "json::lenient::string")]
    pub client_id: String,
    /// The client's language, written as its name (`"JAVA"`).
    #[serde(with = "super::de::language")]
    pub language: LanguageCode,
    /// The client's `MQVersion` ordinal.
    #[serde(deserialize_with = "json::lenient::i32")]
    pub version: i32,
}

impl Default for Connection {
    fn default() -> Self {
        Connection {
            client_addr: String::new(),
            client_id: String::new(),
            language: LanguageCode::JAVA,
            version: 0,
        }
    }
}

/// The connections and settings of a consumer group (`ConsumerConnection`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ConsumerConnection {
    /// The group's live connections.
    #[serde(deserialize_with = "super::de::object_vec")]
    pub connection_set: Vec<Connection>,
    /// Where the group starts, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consume_from_where: Option<ConsumeFromWhere>,
    /// Pull, push or pop, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consume_type: Option<ConsumeType>,
    /// Clustering or broadcasting, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_model: Option<MessageModel>,
    /// Topic to subscription.
    #[serde(deserialize_with = "super::de::object_map")]
    pub subscription_table: BTreeMap<String, SubscriptionData>,
}

json_body!(ConsumerConnection);

impl ConsumerConnection {
    /// Java's `computeMinVersion`: the lowest client version, `i32::MAX` with no connection.
    pub fn min_version(&self) -> i32 {
        self.connection_set
            .iter()
            .map(|c| c.version)
            .min()
            .unwrap_or(i32::MAX)
    }
}

/// The connections of a producer group (`ProducerConnection`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ProducerConnection {
    /// The group's live connections.
    #[serde(deserialize_with = "super::de::object_vec")]
    pub connection_set: Vec<Connection>,
}

json_body!(ProducerConnection);

/// CHECK_CLIENT_CONFIG request body (`CheckClientRequestBody`): validates a subscription (e.g.
/// SQL92 syntax) before the client uses it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CheckClientRequestBody {
    /// The client id.
    #[serde(deserialize_with = "json::lenient::string")]
    pub client_id: String,
    /// The consumer group.
    #[serde(deserialize_with = "json::lenient::string")]
    pub group: String,
    /// 5.x namespace, if any.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "json::lenient::opt_string"
    )]
    pub namespace: Option<String>,
    /// The subscription to check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_data: Option<SubscriptionData>,
}

json_body!(CheckClientRequestBody);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consumer_connection_round_trip() {
        let mut cc = ConsumerConnection {
            connection_set: vec![Connection {
                client_addr: "10.0.0.5:50000".into(),
                client_id: "10.0.0.5@1".into(),
                language: LanguageCode::GO,
                version: 317,
            }],
            consume_type: Some(ConsumeType::ConsumePassively),
            message_model: Some(MessageModel::Clustering),
            consume_from_where: Some(ConsumeFromWhere::ConsumeFromFirstOffset),
            ..ConsumerConnection::default()
        };
        cc.subscription_table
            .insert("T".into(), SubscriptionData::tag("T", "*", 5));
        let text = cc.to_json();
        assert_eq!(
            text,
            r#"{"connectionSet":[{"clientAddr":"10.0.0.5:50000","clientId":"10.0.0.5@1","language":"GO","version":317}],"consumeFromWhere":"CONSUME_FROM_FIRST_OFFSET","consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING","subscriptionTable":{"T":{"classFilterMode":false,"codeSet":[],"expressionType":"TAG","subString":"*","subVersion":5,"tagsSet":[],"topic":"T"}}}"#
        );
        assert_eq!(ConsumerConnection::decode(text.as_bytes()).expect("rt"), cc);
        assert_eq!(cc.min_version(), 317);
        assert_eq!(ConsumerConnection::default().min_version(), i32::MAX);
    }

    #[test]
    fn producer_connection_and_languages() {
        let p = ProducerConnection::decode(
            br#"{"connectionSet":[{"clientId":"a","language":12,"version":"479"},{"language":"BASIC"}]}"#,
        )
        .expect("lenient");
        assert_eq!(p.connection_set[0].language, LanguageCode::RUST);
        assert_eq!(p.connection_set[0].version, 479);
        assert_eq!(p.connection_set[1].language, LanguageCode::OTHER);
        assert!(p.to_json().contains(r#""language":"RUST""#));
    }

    #[test]
    fn check_client_body() {
        let body = CheckClientRequestBody {
            client_id: "c".into(),
            group: "g".into(),
            namespace: None,
            subscription_data: Some(SubscriptionData::sql92("T", "a > 1", 7)),
        };
        let text = body.to_json();
        assert!(text.starts_with(r#"{"clientId":"c","group":"g","subscriptionData":{"#));
        assert!(text.contains(r#""expressionType":"SQL92""#));
        assert_eq!(
            CheckClientRequestBody::decode(text.as_bytes()).expect("rt"),
            body
        );
    }
}
