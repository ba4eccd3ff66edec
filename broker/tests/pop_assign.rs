//! QUERY_ASSIGNMENT and SET_MESSAGE_REQUEST_MODE through a real broker (docs/pop.md,
//! "Assignments"): the default PULL allocation, a group switched to POP (every consumer pops
//! every queue: queueId -1), Apache's refusals, and the mode table on disk.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use bytes::Bytes;
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use ferromq_remoting::Connection;
use support::{create_topic_request, subscribe, TestBroker};

const T: Duration = Duration::from_secs(10);

async fn query(c: &Connection, topic: &str, group: &str, strategy: &str) -> serde_json::Value {
    let body = serde_json::json!({
        "topic": topic, "consumerGroup": group, "clientId": "127.0.0.1@test",
        "strategyName": strategy, "messageModel": "CLUSTERING"
    });
    let req = RemotingCommand::request(RequestCode::QUERY_ASSIGNMENT)
        .with_body(Bytes::from(body.to_string()));
    let resp = c.request(req, T).await.unwrap();
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    serde_json::from_slice(&resp.body).unwrap()
}

async fn set_mode(
    c: &Connection,
    topic: &str,
    group: &str,
    mode: &str,
    share: i32,
) -> ResponseCode {
    let body = serde_json::json!({
        "topic": topic, "consumerGroup": group, "mode": mode, "popShareQueueNum": share
    });
    let req = RemotingCommand::request(RequestCode::SET_MESSAGE_REQUEST_MODE)
        .with_body(Bytes::from(body.to_string()));
    c.request(req, T).await.unwrap().response_code()
}

fn queue_ids(v: &serde_json::Value) -> Vec<(i64, String)> {
    let mut out: Vec<(i64, String)> = v["messageQueueAssignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["messageQueue"]["queueId"].as_i64().unwrap(),
                a["mode"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn assignments_follow_the_request_mode() {
    let b = TestBroker::start(|_| {}).await;
    let c = b.client().await;
    let resp = c
        .request(create_topic_request("AssignT", 4), T)
        .await
        .unwrap();
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    subscribe(&c, "AG", "AssignT", "*").await;

    let pull: Vec<_> = (0..4).map(|q| (q, "PULL".to_owned())).collect();
    assert_eq!(queue_ids(&query(&c, "AssignT", "AG", "AVG").await), pull);
    // An unknown strategy or topic: no assignment set (the client keeps what it has).
    let none = query(&c, "AssignT", "AG", "NOPE").await;
    assert!(none.get("messageQueueAssignments").is_none(), "{none}");
    let none = query(&c, "NoSuchTopic", "AG", "AVG").await;
    assert!(none.get("messageQueueAssignments").is_none(), "{none}");

    assert_eq!(
        set_mode(&c, "AssignT", "AG", "POP", 0).await,
        ResponseCode::SUCCESS
    );
    assert_eq!(
        queue_ids(&query(&c, "AssignT", "AG", "AVG").await),
        vec![(-1, "POP".to_owned())]
    );
    // The group's pull retry topic stays in PULL mode.
    assert_eq!(
        set_mode(&c, "%RETRY%AG", "AG", "POP", 0).await,
        ResponseCode::NO_PERMISSION
    );
    assert_eq!(
        set_mode(&c, "Nope", "AG", "POP", 0).await,
        ResponseCode::TOPIC_NOT_EXIST
    );
    assert_eq!(
        set_mode(&c, "AssignT", "NeverSeenGroup", "POP", 0).await,
        ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST
    );
    assert_eq!(
        set_mode(&c, "AssignT", "AG", "PUSH", 0).await,
        ResponseCode::SYSTEM_ERROR
    );
    let file = b.root().join("config").join("messageRequestMode.json");
    let text = std::fs::read_to_string(file).unwrap();
    assert!(
        text.contains(r#""AssignT":{"AG":{"#) && text.contains(r#""mode":"POP""#),
        "{text}"
    );
    b.stop().await;
}

#[tokio::test]
async fn default_pop_mode_from_the_broker_config() {
    let b = TestBroker::start(|s| s.broker.default_message_request_mode = "POP".into()).await;
    let c = b.client().await;
    let resp = c
        .request(create_topic_request("AssignD", 2), T)
        .await
        .unwrap();
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    subscribe(&c, "DG", "AssignD", "*").await;
    assert_eq!(
        queue_ids(&query(&c, "AssignD", "DG", "AVG").await),
        vec![(-1, "POP".to_owned())]
    );
    b.stop().await;
}
