//! QUERY_ASSIGNMENT in a cluster of two FerroMQ brokers (docs/pop.md, "Assignments"): the
//! broker asked allocates from the topic's route on the name server, so the answer names the
//! queues of both brokers, as Apache's does.

use std::time::Duration;

use ferromq_tests::remoting::{request, topic_route};
use ferromq_tests::{FerroBroker, FerroNamesrv};

const UPDATE_AND_CREATE_TOPIC: i32 = 17;
const QUERY_ASSIGNMENT: i32 = 400;

fn create_topic(addr: &str, topic: &str) {
    let r = request(
        addr,
        UPDATE_AND_CREATE_TOPIC,
        &[
            ("topic", topic),
            ("defaultTopic", "TBW102"),
            ("readQueueNums", "2"),
            ("writeQueueNums", "2"),
            ("perm", "6"),
            ("topicFilterType", "SINGLE_TAG"),
            ("order", "false"),
        ],
        &[],
        Duration::from_secs(10),
    )
    .expect("create topic");
    assert_eq!(r.code, 0, "{:?}", r.remark());
}

#[test]
fn query_assignment_covers_every_broker_of_the_route() {
    let namesrv = FerroNamesrv::start();
    let a = FerroBroker::start(namesrv.addr(), |s| {
        s.broker.broker_name = "pop-a".into();
        // Every queue to every consumer: no consumer registration needed to see the set.
        s.broker.server_load_balancer_enable = false;
        s.broker.default_message_request_mode = "POP".into();
    });
    let b = FerroBroker::start(namesrv.addr(), |s| s.broker.broker_name = "pop-b".into());
    create_topic(a.addr(), "PopCluster");
    create_topic(b.addr(), "PopCluster");
    ferromq_tests::net::wait_until("both brokers in the route", Duration::from_secs(30), || {
        let route = topic_route(namesrv.addr(), "PopCluster").map_err(|e| e.to_string())?;
        let text = route.body_text();
        Ok(text.contains("pop-a") && text.contains("pop-b"))
    })
    .expect("the name server routes the topic to both brokers");

    let body = serde_json::json!({
        "topic": "PopCluster", "consumerGroup": "PCG", "clientId": "127.0.0.1@c1",
        "strategyName": "AVG", "messageModel": "CLUSTERING"
    })
    .to_string();
    let r = request(
        a.addr(),
        QUERY_ASSIGNMENT,
        &[],
        body.as_bytes(),
        Duration::from_secs(10),
    )
    .expect("query assignment");
    assert_eq!(r.code, 0, "{:?}", r.remark());
    let v: serde_json::Value = serde_json::from_slice(&r.body).expect("JSON body");
    let mut got: Vec<(String, i64, String)> = v["messageQueueAssignments"]
        .as_array()
        .expect("assignments")
        .iter()
        .map(|a| {
            let mq = &a["messageQueue"];
            (
                mq["brokerName"].as_str().unwrap_or_default().to_owned(),
                mq["queueId"].as_i64().unwrap_or(-9),
                a["mode"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    got.sort();
    let want: Vec<(String, i64, String)> = ["pop-a", "pop-b"]
        .iter()
        .flat_map(|b| (0..2).map(move |q| (b.to_string(), q, "POP".to_owned())))
        .collect();
    assert_eq!(got, want);
}
