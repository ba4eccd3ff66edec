//! `updateSubGroup`, `consumerProgress`, `consumerConnection`, `producerConnection` and
//! `deleteSubGroup` against a real name server and broker with a live producer and consumer.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ferromq_client::{
    Admin, ClientConfig, ConsumeFrom, ConsumeResult, FilterExpression, Message, MessageView,
    Producer, ProducerOptions, PullConsumer, PullConsumerOptions, PushConsumer,
    PushConsumerOptions,
};
use ferromq_protocol::ResponseCode;
use support::{cluster, ok};

const WAIT: Duration = Duration::from_secs(30);

fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

#[test]
fn groups_are_created_watched_and_deleted() {
    let (ns, broker) = cluster("broker-g");
    let ns = ns.addr();
    ok(&[
        "updateTopic",
        "-n",
        ns,
        "-c",
        "DefaultCluster",
        "-t",
        "GroupTopic",
        "-r",
        "2",
        "-w",
        "2",
    ]);

    let created = ok(&[
        "updateSubGroup",
        "-n",
        ns,
        "-c",
        "DefaultCluster",
        "-g",
        "cg1",
        "-r",
        "5",
    ]);
    let mut lines = created.lines();
    assert_eq!(
        lines.next(),
        Some(format!("create subscription group to {} success.", broker.addr()).as_str())
    );
    let config = lines.next().unwrap_or_default();
    assert!(
        config.starts_with("SubscriptionGroupConfig{groupName=cg1, "),
        "{config}"
    );
    assert!(config.contains("retryMaxTimes=5"), "{config}");

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let admin = rt
        .block_on(async { Admin::new(&ClientConfig::new(ns, Some("check".to_owned()))) })
        .expect("admin");
    let stored = rt
        .block_on(admin.subscription_group_at(broker.addr(), "cg1"))
        .expect("the group exists");
    assert_eq!(stored["retryMaxTimes"], 5, "{stored}");
    assert_eq!(stored["consumeBroadcastEnable"], false, "{stored}");

    // A producer sends 4 messages; a consumer of cg1 takes them all.
    let producer = rt
        .block_on(Producer::start(ProducerOptions {
            client: ClientConfig::new(ns, Some("pg1".to_owned())),
            group: "pg1".to_owned(),
            ..ProducerOptions::default()
        }))
        .expect("producer");
    for i in 0..4 {
        rt.block_on(producer.send(Message::new("GroupTopic", format!("m{i}"))))
            .expect("send");
    }
    let got = Arc::new(AtomicUsize::new(0));
    let counter = got.clone();
    let consumer = rt
        .block_on(PushConsumer::start(
            PushConsumerOptions {
                client: ClientConfig::new(ns, Some("cg1".to_owned())),
                group: "cg1".to_owned(),
                consume_from: ConsumeFrom::FirstOffset,
                ..PushConsumerOptions::default()
            },
            [("GroupTopic".to_owned(), FilterExpression::all())],
            move |batch: &[MessageView]| {
                counter.fetch_add(batch.len(), Ordering::SeqCst);
                ConsumeResult::Success
            },
        ))
        .expect("consumer");

    // consumerProgress -g: per queue, until the committed offsets reach the 4 messages.
    let mut text = String::new();
    ferromq_tests::net::wait_until("cg1 commits all 4", WAIT, || {
        let r = support::run(&[
            "consumerProgress",
            "-n",
            ns,
            "-g",
            "cg1",
            "-t",
            "GroupTopic",
        ]);
        text = r.stdout;
        Ok(r.code == Some(0)
            && text.contains("Consume Diff Total: 0\n")
            && got.load(Ordering::SeqCst) >= 4)
    })
    .unwrap_or_else(|e| panic!("{e}: {text}"));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        words(lines[0]),
        [
            "#Topic",
            "#Broker",
            "Name",
            "#QID",
            "#Broker",
            "Offset",
            "#Consumer",
            "Offset",
            "#Diff",
            "#Inflight",
            "#LastTime"
        ]
    );
    let rows: Vec<Vec<&str>> = lines[1..3].iter().map(|l| words(l)).collect();
    assert_eq!(rows[0][..3], ["GroupTopic", "broker-g", "0"], "{text}");
    assert_eq!(rows[1][..3], ["GroupTopic", "broker-g", "1"], "{text}");
    let offsets: i64 = rows
        .iter()
        .map(|r| r[3].parse::<i64>().expect("offset"))
        .sum();
    assert_eq!(offsets, 4, "{text}");
    for r in &rows {
        assert_eq!(r[3], r[4], "consumed up to the end: {text}");
        assert_eq!(r[5], "0");
    }
    assert_eq!(lines[3], "");
    assert!(lines[4].starts_with("Consume TPS: "), "{text}");
    let json: serde_json::Value = serde_json::from_str(&ok(&[
        "consumerProgress",
        "-n",
        ns,
        "-g",
        "cg1",
        "-t",
        "GroupTopic",
        "--json",
    ]))
    .expect("JSON");
    assert_eq!(json["diffTotal"], 0, "{json}");
    assert_eq!(json["queues"].as_array().map(Vec::len), Some(2));

    // consumerConnection: the one consumer, its subscription and the group's model.
    let conn = ok(&[
        "consumerConnection",
        "-n",
        ns,
        "-g",
        "cg1",
        "-b",
        broker.addr(),
    ]);
    let lines: Vec<&str> = conn.lines().collect();
    assert_eq!(
        words(lines[0]),
        ["#ClientId", "#ClientAddr", "#Language", "#Version"]
    );
    let row = words(lines[1]);
    assert!(row[0].contains("cg1"), "{conn}");
    assert!(row[1].starts_with("127.0.0.1:"), "{conn}");
    assert_eq!(row[2], "RUST", "{conn}");
    assert_eq!(lines[2], "");
    assert_eq!(lines[3], "Below is subscription:");
    assert_eq!(words(lines[4]), ["#Topic", "#SubExpression"]);
    assert!(
        lines.iter().any(|l| words(l) == ["GroupTopic", "*"]),
        "{conn}"
    );
    assert!(
        conn.contains("\nConsumeType: CONSUME_PASSIVELY\n"),
        "{conn}"
    );
    assert!(conn.contains("\nMessageModel: CLUSTERING\n"), "{conn}");
    assert!(
        conn.contains("\nConsumeFromWhere: CONSUME_FROM_FIRST_OFFSET\n"),
        "{conn}"
    );

    // consumerProgress without -g: every group with a retry topic, with its live consumers.
    let mut all = String::new();
    ferromq_tests::net::wait_until("cg1 is listed", WAIT, || {
        all = ok(&["consumerProgress", "-n", ns]);
        Ok(all.lines().any(|l| l.starts_with("cg1 ")))
    })
    .unwrap_or_else(|e| panic!("{e}: {all}"));
    assert_eq!(
        words(all.lines().next().unwrap_or_default()),
        ["#Group", "#Count", "#Version", "#Type", "#Model", "#TPS", "#Diff", "Total"]
    );
    let row = all
        .lines()
        .find(|l| l.starts_with("cg1 "))
        .map(words)
        .unwrap_or_default();
    assert_eq!(row[1], "1", "{all}");
    assert_eq!(row[3..5], ["PUSH", "CLUSTERING"], "{all}");
    assert_eq!(row.last(), Some(&"0"), "{all}");
    // A pull consumer: its type, but no model (as Apache, which names the model of push
    // groups only).
    let puller = rt
        .block_on(async {
            let c = PullConsumer::start(PullConsumerOptions {
                client: ClientConfig::new(ns, Some("pull-g".to_owned())),
                group: "pull-g".to_owned(),
                ..PullConsumerOptions::default()
            })
            .await?;
            c.subscribe("GroupTopic", FilterExpression::all()).await?;
            Ok::<_, ferromq_client::Error>(c)
        })
        .expect("pull consumer");
    let mut all = String::new();
    ferromq_tests::net::wait_until("pull-g is listed online", WAIT, || {
        all = ok(&["consumerProgress", "-n", ns]);
        Ok(all
            .lines()
            .any(|l| l.starts_with("pull-g ") && words(l).get(1) == Some(&"1")))
    })
    .unwrap_or_else(|e| panic!("{e}: {all}"));
    let row = all
        .lines()
        .find(|l| l.starts_with("pull-g "))
        .map(words)
        .unwrap_or_default();
    assert_eq!(row.len(), 6, "no model: {all}");
    assert_eq!(row[3], "PULL", "{all}");
    rt.block_on(puller.shutdown());

    // consumerStatus: the consumer's running info through the broker's relay.
    let status = ok(&["consumerStatus", "-n", ns, "-g", "cg1"]);
    let lines: Vec<&str> = status.lines().collect();
    assert_eq!(
        words(lines[0]),
        [
            "#Index",
            "#ClientId",
            "#Version",
            "#ConsumerRunningInfoFile"
        ]
    );
    let row = words(lines[1]);
    assert_eq!(row[0], "1", "{status}");
    let client_id = row[1].to_owned();
    let file = std::fs::read_to_string(row[3]).expect("the running info file");
    assert!(file.starts_with("#Consumer Properties#\n"), "{file}");
    assert!(
        status.contains("\n\nSame subscription in the same group of consumer\n"),
        "{status}"
    );
    // The same running info, asked again: equal but for the live rates, which moved meanwhile.
    let one = ok(&["consumerStatus", "-n", ns, "-g", "cg1", "-i", &client_id]);
    assert_eq!(without_rates(&one), without_rates(&file));
    let json: serde_json::Value =
        serde_json::from_str(&ok(&["consumerStatus", "-n", ns, "-g", "cg1", "--json"]))
            .expect("JSON");
    assert!(
        json[client_id.as_str()]["subscriptionSet"].is_array(),
        "{json}"
    );
    // The topic and the group's retry topic, numbered from 001.
    let subs: Vec<Vec<&str>> = one
        .lines()
        .filter(|l| l.contains(" Topic: "))
        .map(words)
        .collect();
    assert_eq!(subs.len(), 2, "{one}");
    assert_eq!(subs[0][0], "001");
    assert_eq!(subs[1][0], "002");
    assert!(
        subs.iter().any(|w| w[1..]
            == [
                "Topic:",
                "GroupTopic",
                "ClassFilter:",
                "false",
                "SubExpression:",
                "*"
            ]),
        "{one}"
    );

    // producerConnection: the producer, numbered from 0001.
    let prod = ok(&[
        "producerConnection",
        "-n",
        ns,
        "-g",
        "pg1",
        "-t",
        "GroupTopic",
    ]);
    let row = words(prod.lines().next().unwrap_or_default());
    assert_eq!(row.first(), Some(&"0001"), "{prod}");
    assert_eq!(row.get(3), Some(&"RUST"), "{prod}");
    assert_eq!(prod.lines().count(), 1, "{prod}");

    rt.block_on(consumer.shutdown());
    rt.block_on(producer.shutdown());

    let deleted = ok(&["deleteSubGroup", "-n", ns, "-b", broker.addr(), "-g", "cg1"]);
    assert_eq!(
        deleted,
        format!(
            "delete subscription group [cg1] from broker [{}] success.\n",
            broker.addr()
        )
    );
    let e = rt
        .block_on(admin.subscription_group_at(broker.addr(), "cg1"))
        .expect_err("deleted");
    assert_eq!(
        e.response_code(),
        Some(ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST)
    );
    rt.block_on(admin.shutdown());
}

/// A running-info file without its `#Consumer RT&TPS#` section (rates computed when asked).
fn without_rates(info: &str) -> String {
    let Some(start) = info.find("#Consumer RT&TPS#") else {
        return info.to_owned();
    };
    let end = info[start..]
        .find("\n\n\n")
        .map_or(info.len(), |i| start + i);
    format!("{}{}", &info[..start], &info[end..])
}
