//! The admin codes Apache's `mqadmin` and dashboards read one topic or group with:
//! GET_TOPIC_CONFIG (351) and GET_SUBSCRIPTIONGROUP_CONFIG (352), with Apache's bodies and
//! refusals for what the broker does not have.
#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use ferromq_protocol::body::TopicConfig;
use ferromq_protocol::header::admin::{
    GetSubscriptionGroupConfigRequestHeader, GetTopicConfigRequestHeader,
};
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use ferromq_store::configs::subscription_groups::SubscriptionGroupConfig;

mod support;
use support::*;

#[tokio::test]
async fn one_topic_and_one_group_config() {
    let broker = TestBroker::start(|_| {}).await;
    let c = broker.client().await;
    let created = c.request(create_topic_request("Cfg", 3), T).await.unwrap();
    assert_eq!(created.response_code(), ResponseCode::SUCCESS);

    let get_topic = |topic: &str| {
        let h = GetTopicConfigRequestHeader {
            topic: topic.to_owned(),
            lo: Some(true),
        };
        RemotingCommand::request_with_header(RequestCode::GET_TOPIC_CONFIG, &h)
    };
    let r = c.request(get_topic("Cfg"), T).await.unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    let config = TopicConfig::decode(&r.body).unwrap();
    assert_eq!(config.topic_name, "Cfg");
    assert_eq!((config.read_queue_nums, config.write_queue_nums), (3, 3));
    assert_eq!(config.perm, 6);
    let r = c.request(get_topic("Missing"), T).await.unwrap();
    assert_eq!(r.response_code(), ResponseCode::TOPIC_NOT_EXIST);
    assert!(r.remark.unwrap_or_default().contains("Missing"));
    // No topic field: a clear refusal, not some other topic's config.
    let r = c
        .request(RemotingCommand::request(RequestCode::GET_TOPIC_CONFIG), T)
        .await
        .unwrap();
    assert_ne!(r.response_code(), ResponseCode::SUCCESS);
    assert!(r.remark.unwrap_or_default().contains("topic"));

    let group = br#"{"groupName":"CfgGroup","consumeEnable":true,"retryMaxTimes":5,"brokerId":0}"#;
    let r = c
        .request(
            RemotingCommand::request(RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP)
                .with_body(Bytes::from_static(group)),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    let get_group = |group: &str| {
        let h = GetSubscriptionGroupConfigRequestHeader {
            group: group.to_owned(),
        };
        RemotingCommand::request_with_header(RequestCode::GET_SUBSCRIPTIONGROUP_CONFIG, &h)
    };
    let r = c.request(get_group("CfgGroup"), T).await.unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    let text = String::from_utf8_lossy(&r.body).into_owned();
    assert!(text.contains(r#""groupName":"CfgGroup""#), "{text}");
    let config: SubscriptionGroupConfig = ferromq_protocol::json::from_slice(&r.body).unwrap();
    assert_eq!(config.group_name, "CfgGroup");
    assert_eq!(config.retry_max_times, 5);
    assert!(config.consume_enable);
    let r = c.request(get_group("NoSuchGroup"), T).await.unwrap();
    assert_eq!(
        r.response_code(),
        ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST
    );
    broker.stop().await;
}
