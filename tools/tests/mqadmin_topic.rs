//! `updateTopic`, `topicList`, `topicRoute`, `topicStatus` and `deleteTopic` against a real name
//! server and broker, in Apache's layouts: a created topic shows in the listing and its route,
//! messages sent to one queue show in its max offset, and a deleted topic is gone.

mod support;

use std::time::Duration;

use ferromq_client::{ClientConfig, Message, Producer, ProducerOptions};
use ferromq_protocol::body::MessageQueue;
use support::{cluster, ok, run};

fn send_to_queue(namesrv: &str, topic: &str, broker_name: &str, queue_id: i32, n: usize) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let producer = Producer::start(ProducerOptions {
            client: ClientConfig::new(namesrv, Some("mqadmin-test".to_owned())),
            group: "mqadmin-test-producer".to_owned(),
            ..ProducerOptions::default()
        })
        .await
        .expect("producer");
        let queue = MessageQueue {
            topic: topic.to_owned(),
            broker_name: broker_name.to_owned(),
            queue_id,
        };
        for i in 0..n {
            producer
                .send_to_queue(Message::new(topic, format!("m{i}")), &queue)
                .await
                .expect("send");
        }
        producer.shutdown().await;
    });
}

fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

#[test]
fn a_topic_is_created_listed_routed_counted_and_deleted() {
    let (ns, broker) = cluster("broker-t");
    let ns = ns.addr();
    let created = ok(&[
        "updateTopic",
        "-n",
        ns,
        "-c",
        "DefaultCluster",
        "-t",
        "AdminTopic",
        "-r",
        "4",
        "-w",
        "4",
    ]);
    assert_eq!(
        created,
        format!(
            "create topic to {} success.\nTopicConfig [topicName=AdminTopic, readQueueNums=4, writeQueueNums=4, perm=RW-, topicFilterType=SINGLE_TAG, topicSysFlag=0, order=false, attributes={{}}]\n",
            broker.addr()
        )
    );
    ferromq_tests::net::wait_until("the topic is listed", Duration::from_secs(30), || {
        Ok(ok(&["topicList", "-n", ns])
            .lines()
            .any(|l| l == "AdminTopic"))
    })
    .expect("topicList shows the topic");
    let listed: Vec<String> =
        serde_json::from_str(&ok(&["topicList", "-n", ns, "--json"])).expect("JSON list");
    assert!(listed.iter().any(|t| t == "AdminTopic"), "{listed:?}");

    // The route, as JSON and as Apache's `-l` table.
    let route: serde_json::Value =
        serde_json::from_str(&ok(&["topicRoute", "-n", ns, "-t", "AdminTopic"])).expect("JSON");
    assert_eq!(route["queueDatas"][0]["brokerName"], "broker-t", "{route}");
    assert_eq!(route["queueDatas"][0]["readQueueNums"], 4);
    assert_eq!(route["queueDatas"][0]["perm"], 6);
    assert_eq!(route["brokerDatas"][0]["brokerAddrs"]["0"], broker.addr());
    let table = ok(&["topicRoute", "-n", ns, "-t", "AdminTopic", "-l"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        words(lines[0]),
        [
            "#ClusterName",
            "#BrokerName",
            "#BrokerAddrs",
            "#ReadQueue",
            "#WriteQueue",
            "#Perm"
        ]
    );
    assert_eq!(
        words(lines[1]),
        [
            "DefaultCluster",
            "broker-t",
            &format!("{{0={}}}", broker.addr()),
            "4",
            "4",
            "6"
        ]
    );
    assert_eq!(lines[2], "-".repeat(158));
    assert_eq!(words(lines[3]), ["Total:", "1", "4", "4"]);

    // Three messages on queue 1: its max offset is 3, the others stay at 0.
    send_to_queue(ns, "AdminTopic", "broker-t", 1, 3);
    // The consume queue is written behind the commit log: wait until it has all three.
    let mut status = String::new();
    ferromq_tests::net::wait_until("queue 1 holds 3", Duration::from_secs(30), || {
        status = ok(&["topicStatus", "-n", ns, "-t", "AdminTopic"]);
        Ok(status
            .lines()
            .nth(2)
            .is_some_and(|l| words(l).get(3) == Some(&"3")))
    })
    .unwrap_or_else(|e| panic!("{e}: {status}"));
    let lines: Vec<&str> = status.lines().collect();
    assert_eq!(
        words(lines[0]),
        ["#Broker", "Name", "#QID", "#Min", "Offset", "#Max", "Offset", "#Last", "Updated"]
    );
    assert_eq!(words(lines[1]), ["broker-t", "0", "0", "0"], "{status}");
    let q1 = words(lines[2]);
    assert_eq!(q1[..4], ["broker-t", "1", "0", "3"], "{status}");
    // The last store time as `yyyy-MM-dd HH:mm:ss,SSS`, or nothing when the broker reports 0
    // (as Apache prints it; FerroMQ's broker does not track it yet).
    let json: serde_json::Value = serde_json::from_str(&ok(&[
        "topicStatus",
        "-n",
        ns,
        "-t",
        "AdminTopic",
        "--json",
    ]))
    .expect("JSON");
    if json["queues"][1]["lastUpdateTimestamp"] == 0 {
        assert_eq!(q1.len(), 4, "{status}");
    } else {
        assert_eq!(q1.len(), 6, "{status}");
        assert_eq!(q1[4].len(), 10);
        assert_eq!(q1[5].len(), 12);
        assert_eq!(&q1[5][8..9], ",");
    }
    assert_eq!(words(lines[4]), ["broker-t", "3", "0", "0"]);
    assert_eq!(lines[5], "");
    assert!(lines[6].starts_with("Topic Put TPS: "), "{status}");
    let json: serde_json::Value = serde_json::from_str(&ok(&[
        "topicStatus",
        "-n",
        ns,
        "-t",
        "AdminTopic",
        "--json",
    ]))
    .expect("JSON");
    assert_eq!(json["queues"][1]["maxOffset"], 3, "{json}");
    assert_eq!(json["queues"].as_array().map(Vec::len), Some(4));

    // The cluster listing names the topic's cluster; nobody consumes it yet.
    let by_cluster = ok(&["topicList", "-n", ns, "-c"]);
    assert_eq!(
        words(by_cluster.lines().next().unwrap_or_default()),
        ["#Cluster", "Name", "#Topic", "#Consumer", "Group"]
    );
    assert!(
        by_cluster
            .lines()
            .any(|l| words(l) == ["DefaultCluster", "AdminTopic"]),
        "{by_cluster}"
    );

    // An order topic on one broker records its order config on the name server.
    let ordered = ok(&[
        "updateTopic",
        "-n",
        ns,
        "-b",
        broker.addr(),
        "-t",
        "OrderTopic",
        "-o",
        "true",
    ]);
    assert!(
        ordered.contains("set broker orderConf. isOrder=true, orderConf=[broker-t:8]\n"),
        "{ordered}"
    );
    assert!(ordered.contains("order=true"), "{ordered}");

    let deleted = ok(&[
        "deleteTopic",
        "-n",
        ns,
        "-t",
        "AdminTopic",
        "-c",
        "DefaultCluster",
    ]);
    assert_eq!(
        deleted,
        "delete topic [AdminTopic] from cluster [DefaultCluster] success.\ndelete topic [AdminTopic] from NameServer success.\n"
    );
    assert!(!ok(&["topicList", "-n", ns])
        .lines()
        .any(|l| l == "AdminTopic"));
    let gone = run(&["topicRoute", "-n", ns, "-t", "AdminTopic"]);
    assert_eq!(gone.code, Some(1), "{gone:?}");
    assert!(
        gone.stderr.starts_with(&format!("mqadmin: {ns} 17 ")),
        "{}",
        gone.stderr
    );
}
