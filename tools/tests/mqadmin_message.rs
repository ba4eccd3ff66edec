//! `sendMessage`, `queryMsgByKey`, `queryMsgByUniqueKey`, `queryMsgById` and
//! `queryMsgByOffset` against a real name server and broker: a message sent by the tool is found
//! by key, client id, offsetMsgId and queue offset, printed in Apache's layouts, with the
//! MessageTrack lines of the groups consuming its topic.

mod support;

use std::time::Duration;

use support::{cluster, ok};

fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// The value of `label` in `%-20s %s` lines.
fn field<'a>(text: &'a str, label: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix(label).map(str::trim_start))
        .unwrap_or_else(|| panic!("no {label} in {text}"))
}

#[test]
fn a_sent_message_is_found_by_key_client_id_and_offset_id() {
    let (ns, broker) = cluster("broker-m");
    let ns = ns.addr();
    ok(&[
        "updateTopic",
        "-n",
        ns,
        "-c",
        "DefaultCluster",
        "-t",
        "MsgTopic",
        "-r",
        "4",
        "-w",
        "4",
    ]);
    ferromq_tests::net::wait_until("the route", Duration::from_secs(30), || {
        Ok(support::run(&["topicRoute", "-n", ns, "-t", "MsgTopic"]).code == Some(0))
    })
    .expect("routed");

    let sent = ok(&[
        "sendMessage",
        "-n",
        ns,
        "-t",
        "MsgTopic",
        "-p",
        "hello admin",
        "-k",
        "K1",
        "-c",
        "TagA",
        "-b",
        "broker-m",
        "-i",
        "2",
    ]);
    let lines: Vec<&str> = sent.lines().collect();
    assert_eq!(
        words(lines[0]),
        ["#Broker", "Name", "#QID", "#Send", "Result", "#MsgId"]
    );
    let row = words(lines[1]);
    assert_eq!(row[..3], ["broker-m", "2", "SEND_OK"], "{sent}");
    let msg_id = row[3].to_owned();
    assert_eq!(msg_id.len(), 32, "{sent}");

    // The key index is written behind the commit log: poll until it has the message.
    let mut by_key = String::new();
    ferromq_tests::net::wait_until("the key index", Duration::from_secs(30), || {
        by_key = ok(&["queryMsgByKey", "-n", ns, "-t", "MsgTopic", "-k", "K1"]);
        Ok(by_key.lines().count() == 2)
    })
    .unwrap_or_else(|e| panic!("{e}: {by_key}"));
    let lines: Vec<&str> = by_key.lines().collect();
    assert_eq!(words(lines[0]), ["#Message", "ID", "#QID", "#Offset"]);
    assert_eq!(words(lines[1]), [msg_id.as_str(), "2", "0"]);
    let json: serde_json::Value = serde_json::from_str(&ok(&[
        "queryMsgByKey",
        "-n",
        ns,
        "-t",
        "MsgTopic",
        "-k",
        "K1",
        "--json",
    ]))
    .expect("JSON");
    let offset_id = json[0]["offsetMsgId"]
        .as_str()
        .expect("offsetMsgId")
        .to_owned();
    assert!(
        ok(&["queryMsgByKey", "-n", ns, "-t", "MsgTopic", "-k", "K2"])
            .lines()
            .count()
            == 1
    );

    let by_uniq = ok(&[
        "queryMsgByUniqueKey",
        "-n",
        ns,
        "-t",
        "MsgTopic",
        "-i",
        &msg_id,
    ]);
    assert_eq!(field(&by_uniq, "Topic:"), "MsgTopic", "{by_uniq}");
    assert_eq!(field(&by_uniq, "Tags:"), "[TagA]");
    assert_eq!(field(&by_uniq, "Keys:"), "[K1]");
    assert_eq!(field(&by_uniq, "Queue ID:"), "2");
    assert_eq!(field(&by_uniq, "Queue Offset:"), "0");
    assert!(
        field(&by_uniq, "Properties:").contains(&format!("UNIQ_KEY={msg_id}")),
        "{by_uniq}"
    );
    // -c: only the brokers of that cluster are asked.
    let in_cluster = ok(&[
        "queryMsgByKey",
        "-n",
        ns,
        "-t",
        "MsgTopic",
        "-k",
        "K1",
        "-c",
        "DefaultCluster",
    ]);
    assert_eq!(in_cluster, by_key);
    // A cluster none of the topic's brokers is in: Apache's refusal.
    let elsewhere = support::run(&[
        "queryMsgByKey",
        "-n",
        ns,
        "-t",
        "MsgTopic",
        "-k",
        "K1",
        "-c",
        "OtherCluster",
    ]);
    assert_eq!(elsewhere.code, Some(1), "{elsewhere:?}");
    assert!(
        elsewhere
            .stderr
            .contains("The topic[MsgTopic] not matched route info"),
        "{elsewhere:?}"
    );
    let uniq_here = ok(&[
        "queryMsgByUniqueKey",
        "-n",
        ns,
        "-t",
        "MsgTopic",
        "-i",
        &msg_id,
        "-c",
        "DefaultCluster",
    ]);
    assert_eq!(field(&uniq_here, "Queue Offset:"), "0", "{uniq_here}");
    let uniq_elsewhere = support::run(&[
        "queryMsgByUniqueKey",
        "-n",
        ns,
        "-t",
        "MsgTopic",
        "-i",
        &msg_id,
        "-c",
        "OtherCluster",
    ]);
    assert_eq!(uniq_elsewhere.code, Some(1), "{uniq_elsewhere:?}");
    // queryMsgById with a client id: as Apache, looked up by UNIQ_KEY in -t (and -c).
    let by_client_id = ok(&["queryMsgById", "-n", ns, "-t", "MsgTopic", "-i", &msg_id]);
    assert_eq!(field(&by_client_id, "Keys:"), "[K1]", "{by_client_id}");
    let not_there = support::run(&[
        "queryMsgById",
        "-n",
        ns,
        "-t",
        "MsgTopic",
        "-i",
        &msg_id,
        "-c",
        "OtherCluster",
    ]);
    assert_eq!(not_there.code, Some(1), "{not_there:?}");

    let path = field(&by_uniq, "Message Body Path:");
    assert_eq!(std::fs::read(path).expect("body file"), b"hello admin");

    let by_id = ok(&[
        "queryMsgById",
        "-n",
        ns,
        "-t",
        "MsgTopic",
        "-i",
        &offset_id,
        "-f",
        "UTF-8",
    ]);
    assert_eq!(
        by_id.lines().next(),
        Some(format!("{:<20} {offset_id}", "OffsetID:").as_str())
    );
    assert_eq!(field(&by_id, "Topic:"), "MsgTopic");
    assert_eq!(
        field(&by_id, "CommitLog Offset:"),
        field(&by_uniq, "CommitLog Offset:")
    );
    assert_eq!(field(&by_id, "Message Body:"), "hello admin");
    let by_id_in_topic = ok(&["queryMsgById", "-n", ns, "-t", "MsgTopic", "-i", &offset_id]);
    assert_eq!(field(&by_id_in_topic, "OffsetID:"), offset_id);
    // `yyyy-MM-dd HH:mm:ss,SSS`.
    let stored = field(&by_id, "Store Timestamp:");
    assert_eq!(stored.len(), 23, "{stored}");
    assert_eq!(&stored[19..20], ",");

    // consumeMessage: every stored message of the topic, then one queue from an offset.
    for body in ["second", "third"] {
        ok(&[
            "sendMessage",
            "-n",
            ns,
            "-t",
            "MsgTopic",
            "-p",
            body,
            "-b",
            "broker-m",
            "-i",
            "2",
        ]);
    }
    let mut all = String::new();
    ferromq_tests::net::wait_until("3 messages consumed", Duration::from_secs(30), || {
        all = ok(&["consumeMessage", "-n", ns, "-t", "MsgTopic"]);
        Ok(all.lines().filter(|l| l.starts_with("MSGID: ")).count() == 3)
    })
    .unwrap_or_else(|e| panic!("{e}: {all}"));
    let bodies: Vec<&str> = all
        .lines()
        .filter(|l| l.starts_with("MSGID: "))
        .filter_map(|l| l.split_once(" BODY: ").map(|(_, b)| b))
        .collect();
    assert_eq!(bodies, ["hello admin", "second", "third"], "{all}");
    assert!(all.contains("\nConsume ok\n"), "{all}");
    assert!(
        all.starts_with("MessageQueue [topic=MsgTopic, brokerName=broker-m, queueId=0] print msg finished. status=NO_NEW_MSG, offset=0\n"),
        "an empty queue: {all}"
    );
    assert!(all.contains(&format!("MSGID: {msg_id} ")), "{all}");
    assert!(
        all.contains("MessageQueue [topic=MsgTopic, brokerName=broker-m, queueId=2] print msg finished. status=NO_NEW_MSG, offset=3\n"),
        "{all}"
    );
    let one = ok(&[
        "consumeMessage",
        "-n",
        ns,
        "-t",
        "MsgTopic",
        "-b",
        "broker-m",
        "-i",
        "2",
        "-o",
        "1",
        "-c",
        "1",
    ]);
    let bodies: Vec<&str> = one
        .lines()
        .filter_map(|l| l.split_once(" BODY: ").map(|(_, b)| b))
        .collect();
    assert_eq!(bodies, ["second"], "{one}");
    assert_eq!(
        support::run(&["consumeMessage", "-n", ns, "-t", "MsgTopic", "-c", "0"]).code,
        Some(2)
    );

    // -s: from the store time of "second" (in Apache's `yyyy-MM-dd#HH:mm:ss:SSS`).
    let second_id = all
        .lines()
        .find(|l| l.ends_with(" BODY: second"))
        .and_then(|l| words(l).get(1).map(|w| (*w).to_owned()))
        .expect("second's id");
    let second = ok(&[
        "queryMsgByUniqueKey",
        "-n",
        ns,
        "-t",
        "MsgTopic",
        "-i",
        &second_id,
    ]);
    let stored = field(&second, "Store Timestamp:")
        .replacen(' ', "#", 1)
        .replacen(',', ":", 1);
    let since = ok(&["consumeMessage", "-n", ns, "-t", "MsgTopic", "-s", &stored]);
    let bodies: Vec<&str> = since
        .lines()
        .filter_map(|l| l.split_once(" BODY: ").map(|(_, b)| b))
        .collect();
    assert_eq!(bodies, ["second", "third"], "-s {stored}: {since}");

    // An id of no message: the broker's refusal, exit 1.
    let missing = support::run(&[
        "queryMsgById",
        "-n",
        ns,
        "-t",
        "MsgTopic",
        "-i",
        &format!("{}0000000000FFFFFF", &offset_id[..16]),
    ]);
    assert_eq!(missing.code, Some(1), "{missing:?}");
    assert!(
        missing
            .stderr
            .starts_with(&format!("mqadmin: {} ", broker.addr())),
        "{}",
        missing.stderr
    );
}

/// The MessageTrack lines of a message view (`MessageTrack [...]`, each on its own line or run
/// together), sorted.
fn tracks(text: &str) -> Vec<String> {
    let mut out: Vec<String> = text
        .split("MessageTrack [")
        .skip(1)
        .map(|t| format!("MessageTrack [{}", t.trim_end()))
        .collect();
    out.sort();
    out
}

fn track(group: &str, kind: &str, desc: &str) -> String {
    format!("MessageTrack [consumerGroup={group}, trackType={kind}, exceptionDesc={desc}]")
}

#[test]
fn message_views_end_with_what_each_group_did_with_the_message() {
    use ferromq_client::{
        Admin, ClientConfig, ConsumeFrom, ConsumeResult, FilterExpression, MessageView,
        PullConsumer, PullConsumerOptions, PushConsumer, PushConsumerOptions,
    };

    let (ns, broker) = cluster("broker-t");
    let ns = ns.addr();
    for topic in ["TrackTopic", "UntrackedTopic"] {
        ok(&[
            "updateTopic",
            "-n",
            ns,
            "-c",
            "DefaultCluster",
            "-t",
            topic,
            "-r",
            "1",
            "-w",
            "1",
        ]);
        ferromq_tests::net::wait_until("the route", Duration::from_secs(30), || {
            Ok(support::run(&["topicRoute", "-n", ns, "-t", topic]).code == Some(0))
        })
        .expect("routed");
    }
    // A TagA message (the one viewed), then a TagB one.
    let send = |topic: &str, tag: &str| {
        let out = ok(&[
            "sendMessage",
            "-n",
            ns,
            "-t",
            topic,
            "-p",
            "tracked",
            "-c",
            tag,
        ]);
        words(out.lines().nth(1).expect("a result row"))[3].to_owned()
    };
    let msg_id = send("TrackTopic", "TagA");
    send("TrackTopic", "TagB");
    let untracked_id = send("UntrackedTopic", "TagA");

    // Three push consumers: every tag, TagB only, and one that goes away once done.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let start = |group: &str, filter: FilterExpression| {
        rt.block_on(PushConsumer::start(
            PushConsumerOptions {
                client: ClientConfig::new(ns, Some(group.to_owned())),
                group: group.to_owned(),
                consume_from: ConsumeFrom::FirstOffset,
                ..PushConsumerOptions::default()
            },
            [("TrackTopic".to_owned(), filter)],
            |_: &[MessageView]| ConsumeResult::Success,
        ))
        .expect("consumer")
    };
    let all = start("track-all", FilterExpression::all());
    let tag_b = start("track-tagb", FilterExpression::tag("TagB"));
    let gone = start("track-gone", FilterExpression::all());
    let admin = rt
        .block_on(async { Admin::new(&ClientConfig::new(ns, Some("check".to_owned()))) })
        .expect("admin");
    ferromq_tests::net::wait_until("every group commits both", Duration::from_secs(60), || {
        let mut done = true;
        for group in ["track-all", "track-tagb", "track-gone"] {
            let stats =
                rt.block_on(admin.consume_stats_at(broker.addr(), group, Some("TrackTopic")));
            done &= stats.is_ok_and(|s| s.offset_table.values().any(|o| o.consumer_offset >= 2));
        }
        Ok(done)
    })
    .expect("the consumers commit");
    rt.block_on(gone.shutdown());
    // A pull consumer of the topic.
    let puller = rt
        .block_on(async {
            let c = PullConsumer::start(PullConsumerOptions {
                client: ClientConfig::new(ns, Some("track-pull".to_owned())),
                group: "track-pull".to_owned(),
                ..PullConsumerOptions::default()
            })
            .await?;
            c.subscribe("TrackTopic", FilterExpression::all()).await?;
            Ok::<_, ferromq_client::Error>(c)
        })
        .expect("pull consumer");
    // A group with an offset on the topic but no retry topic (no route to its consumers).
    let queue = ferromq_protocol::body::MessageQueue {
        topic: "TrackTopic".to_owned(),
        broker_name: "broker-t".to_owned(),
        queue_id: 0,
    };
    rt.block_on(admin.update_consumer_offset_at(broker.addr(), "track-noretry", &queue, 1))
        .expect("offset stored");

    let expected = vec![
        track("track-all", "CONSUMED", "null"),
        track(
            "track-gone",
            "NOT_ONLINE",
            "CODE:206 DESC:the consumer group[track-gone] not online",
        ),
        // As Apache describes the client's failed route lookup.
        track(
            "track-noretry",
            "UNKNOWN",
            "org.apache.rocketmq.client.exception.MQClientException: CODE: 17  DESC: \
             No topic route info in name server for the topic: %RETRY%track-noretry\n\
             For more information, please visit the url, \
             https://rocketmq.apache.org/docs/bestPractice/06FAQ, \
             org.apache.rocketmq.client.impl.MQClientAPIImpl.\
             getTopicRouteInfoFromNameServer(MQClientAPIImpl.java:1998)",
        ),
        track("track-pull", "PULL", "null"),
        track("track-tagb", "CONSUMED_BUT_FILTERED", "null"),
    ];
    // queryMsgById: two blank lines after the view (Apache's `%n%n`), then one track a line.
    let mut by_id = String::new();
    ferromq_tests::net::wait_until("track-gone to go", Duration::from_secs(30), || {
        by_id = ok(&["queryMsgById", "-n", ns, "-t", "TrackTopic", "-i", &msg_id]);
        Ok(tracks(&by_id) == expected)
    })
    .unwrap_or_else(|e| panic!("{e}: {by_id}"));
    let (_, after) = by_id
        .split_once("\nMessage Body Path:")
        .expect("a body path");
    let (_, rest) = after.split_once('\n').expect("a line end");
    assert!(rest.starts_with("\n\nMessageTrack ["), "{by_id}");
    assert_eq!(rest.matches("]\nMessageTrack [").count(), 4, "{by_id}");
    assert!(rest.ends_with("]\n"), "{by_id}");

    // queryMsgByUniqueKey: the tracks run together; the body file is named by the id alone.
    let by_key = ok(&[
        "queryMsgByUniqueKey",
        "-n",
        ns,
        "-t",
        "TrackTopic",
        "-i",
        &msg_id,
    ]);
    assert_eq!(tracks(&by_key), expected, "{by_key}");
    assert_eq!(by_key.matches("]MessageTrack [").count(), 4, "{by_key}");
    assert!(!by_key.contains("]\nMessageTrack ["), "{by_key}");
    let path = field(&by_key, "Message Body Path:");
    assert!(path.ends_with(&format!("/{msg_id}")), "{path}");
    assert_eq!(std::fs::read(path).expect("body file"), b"tracked");

    // queryMsgByOffset: the pull's MIN_OFFSET and MAX_OFFSET among the properties, then the
    // tracks.
    let by_offset = ok(&[
        "queryMsgByOffset",
        "-n",
        ns,
        "-t",
        "TrackTopic",
        "-b",
        "broker-t",
        "-i",
        "0",
        "-o",
        "0",
    ]);
    let props = field(&by_offset, "Properties:");
    assert!(props.contains("MIN_OFFSET=0"), "{by_offset}");
    assert!(props.contains("MAX_OFFSET=2"), "{by_offset}");
    assert_eq!(field(&by_offset, "Tags:"), "[TagA]", "{by_offset}");
    for t in &expected {
        assert!(by_offset.contains(&format!("\n{t}\n")), "{by_offset}");
    }

    // A topic nobody consumes.
    let alone = ok(&[
        "queryMsgById",
        "-n",
        ns,
        "-t",
        "UntrackedTopic",
        "-i",
        &untracked_id,
    ]);
    assert!(alone.ends_with("\n\n\nWARN: No Consumer"), "{alone}");

    // Apache 5.3.3 requires -t.
    let no_topic = support::run(&["queryMsgById", "-n", ns, "-i", &msg_id]);
    assert_eq!(no_topic.code, Some(2), "{no_topic:?}");

    rt.block_on(async {
        all.shutdown().await;
        tag_b.shutdown().await;
        puller.shutdown().await;
        admin.shutdown().await;
    });
}
