//! `statsAll`, `cloneGroupOffset` and `resetOffsetByTime` against a real name server and
//! broker with a live consumer.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ferromq_client::{
    ClientConfig, ConsumeFrom, ConsumeResult, FilterExpression, Message, MessageView, Producer,
    ProducerOptions, PushConsumer, PushConsumerOptions,
};
use ferromq_protocol::body::MessageQueue;
use support::{cluster, ok, run};

const WAIT: Duration = Duration::from_secs(40);

fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// The consumer offsets of `group` on `topic`, by queue id, from `consumerProgress --json`.
fn consumer_offsets(ns: &str, group: &str, topic: &str) -> Vec<i64> {
    let r = run(&[
        "consumerProgress",
        "-n",
        ns,
        "-g",
        group,
        "-t",
        topic,
        "--json",
    ]);
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&r.stdout) else {
        return Vec::new();
    };
    v["queues"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|q| q["consumerOffset"].as_i64())
        .collect()
}

#[test]
fn offsets_are_cloned_and_reset_and_traffic_is_counted() {
    let (ns, broker) = cluster("broker-o");
    let ns = ns.addr();
    ok(&[
        "updateTopic",
        "-n",
        ns,
        "-c",
        "DefaultCluster",
        "-t",
        "OffTopic",
        "-r",
        "2",
        "-w",
        "2",
    ]);

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let producer = rt
        .block_on(Producer::start(ProducerOptions {
            client: ClientConfig::new(ns, Some("po".to_owned())),
            group: "po".to_owned(),
            ..ProducerOptions::default()
        }))
        .expect("producer");
    for i in 0..6 {
        let queue = MessageQueue {
            topic: "OffTopic".to_owned(),
            broker_name: "broker-o".to_owned(),
            queue_id: i % 2,
        };
        rt.block_on(producer.send_to_queue(Message::new("OffTopic", format!("m{i}")), &queue))
            .expect("send");
    }
    rt.block_on(producer.shutdown());
    let got = Arc::new(AtomicUsize::new(0));
    let counter = got.clone();
    let consumer = rt
        .block_on(PushConsumer::start(
            PushConsumerOptions {
                client: ClientConfig::new(ns, Some("cgo".to_owned())),
                group: "cgo".to_owned(),
                consume_from: ConsumeFrom::FirstOffset,
                ..PushConsumerOptions::default()
            },
            [("OffTopic".to_owned(), FilterExpression::all())],
            move |batch: &[MessageView]| {
                counter.fetch_add(batch.len(), Ordering::SeqCst);
                ConsumeResult::Success
            },
        ))
        .expect("consumer");
    ferromq_tests::net::wait_until("cgo commits 3 + 3", WAIT, || {
        Ok(consumer_offsets(ns, "cgo", "OffTopic") == [3, 3])
    })
    .expect("consumed");

    // statsAll: the topic and its group, no lag, 6 messages in and out once the broker's
    // statistics have sampled them.
    let mut stats = String::new();
    ferromq_tests::net::wait_until("the day's counts", WAIT, || {
        stats = ok(&["statsAll", "-n", ns, "-t", "OffTopic"]);
        Ok(stats
            .lines()
            .nth(1)
            .is_some_and(|l| words(l).get(5) == Some(&"6") && words(l).get(6) == Some(&"6")))
    })
    .unwrap_or_else(|e| panic!("{e}: {stats}"));
    let lines: Vec<&str> = stats.lines().collect();
    assert_eq!(
        words(lines[0]),
        [
            "#Topic",
            "#Consumer",
            "Group",
            "#Accumulation",
            "#InTPS",
            "#OutTPS",
            "#InMsg24Hour",
            "#OutMsg24Hour"
        ]
    );
    assert_eq!(words(lines[1])[..3], ["OffTopic", "cgo", "0"], "{stats}");
    assert_eq!(lines.len(), 2, "{stats}");

    // cloneGroupOffset: a new group gets cgo's offsets.
    assert_eq!(
        ok(&[
            "cloneGroupOffset",
            "-n",
            ns,
            "-s",
            "cgo",
            "-d",
            "cgcopy",
            "-t",
            "OffTopic"
        ]),
        "clone group offset success. srcGroup[cgo], destGroup=[cgcopy], topic[OffTopic]\n"
    );
    assert_eq!(consumer_offsets(ns, "cgcopy", "OffTopic"), [3, 3]);

    // resetOffsetByTime to the beginning: every queue back to 0, and the consumer told.
    let reset = ok(&[
        "resetOffsetByTime",
        "-n",
        ns,
        "-g",
        "cgo",
        "-t",
        "OffTopic",
        "-s",
        "0",
    ]);
    let lines: Vec<&str> = reset.lines().collect();
    assert_eq!(
        lines[0],
        "start reset consumer offset by specified, group[cgo], topic[OffTopic], force[true], timestamp(string)[0], timestamp(long)[0]"
    );
    assert_eq!(words(lines[1]), ["#brokerName", "#queueId", "#offset"]);
    // Queues in the order of Java's hash map, as Apache prints them: 1 before 0 here.
    assert_eq!(words(lines[2]), ["broker-o", "1", "0"], "{reset}");
    assert_eq!(words(lines[3]), ["broker-o", "0", "0"], "{reset}");
    // The consumer starts over and takes all 6 again.
    ferromq_tests::net::wait_until("redelivery", WAIT, || Ok(got.load(Ordering::SeqCst) >= 12))
        .expect("the consumer consumes again from 0");

    rt.block_on(consumer.shutdown());
    ferromq_tests::net::wait_until("the consumer is gone", WAIT, || {
        Ok(run(&["consumerConnection", "-n", ns, "-g", "cgo"]).code == Some(1))
    })
    .expect("cgo offline");
    // No consumer online: as Apache, the offsets are written on the broker directly, with
    // Apache's rollback table (queues in the order of Java's hash map: 1 before 0 here).
    let offline = ok(&[
        "resetOffsetByTime",
        "-n",
        ns,
        "-g",
        "cgo",
        "-t",
        "OffTopic",
        "-s",
        "0",
    ]);
    let lines: Vec<&str> = offline.lines().collect();
    assert_eq!(
        lines[0],
        "reset consumer offset by specified consumerGroup[cgo], topic[OffTopic], force[true], timestamp(string)[0], timestamp(long)[0]"
    );
    assert_eq!(
        words(lines[1]),
        [
            "#brokerName",
            "#queueId",
            "#brokerOffset",
            "#consumerOffset",
            "#timestampOffset",
            "#resetOffset"
        ]
    );
    assert_eq!(
        words(lines[2]),
        ["broker-o", "1", "3", "3", "0", "0"],
        "{offline}"
    );
    assert_eq!(
        words(lines[3]),
        ["broker-o", "0", "3", "3", "0", "0"],
        "{offline}"
    );
    assert_eq!(lines.len(), 4, "{offline}");
    assert_eq!(consumer_offsets(ns, "cgo", "OffTopic"), [0, 0]);
    // Without -f true an offline reset only moves back: to the end, nothing changes.
    let kept = ok(&[
        "resetOffsetByTime",
        "-n",
        ns,
        "-g",
        "cgo",
        "-t",
        "OffTopic",
        "-s",
        "now",
        "-f",
        "false",
    ]);
    assert_eq!(
        words(kept.lines().nth(2).unwrap_or_default()),
        ["broker-o", "1", "3", "0", "3", "0"],
        "{kept}"
    );
    assert_eq!(consumer_offsets(ns, "cgo", "OffTopic"), [0, 0]);

    // -b / -q / -o: one queue, to the offset given.
    let one = ok(&[
        "resetOffsetByTime",
        "-n",
        ns,
        "-g",
        "cgo",
        "-t",
        "OffTopic",
        "-s",
        "now",
        "-b",
        broker.addr(),
        "-q",
        "1",
        "-o",
        "2",
    ]);
    let now_line = one.lines().next().unwrap_or_default();
    assert!(
        now_line.starts_with(&format!(
            "start reset consumer offset by specified, group[cgo], topic[OffTopic], queueId[1], broker[{}], timestamp(string)[now], timestamp(long)[",
            broker.addr()
        )),
        "{one}"
    );
    assert_eq!(
        one.lines().nth(1),
        Some("reset consumer offset to 2"),
        "{one}"
    );
    assert_eq!(consumer_offsets(ns, "cgo", "OffTopic"), [0, 2]);
    // Without -o, the offset stored at the timestamp: the end for now.
    let to_end = ok(&[
        "resetOffsetByTime",
        "-n",
        ns,
        "-g",
        "cgo",
        "-t",
        "OffTopic",
        "-s",
        "now",
        "-b",
        broker.addr(),
        "-q",
        "0",
    ]);
    assert_eq!(
        to_end.lines().nth(1),
        Some("reset consumer offset to 3"),
        "{to_end}"
    );
    assert_eq!(consumer_offsets(ns, "cgo", "OffTopic"), [3, 2]);
    assert_eq!(
        run(&[
            "resetOffsetByTime",
            "-n",
            ns,
            "-g",
            "cgo",
            "-t",
            "OffTopic",
            "-s",
            "0",
            "-q",
            "1"
        ])
        .code,
        Some(2),
        "-q needs -b"
    );
    let bad = run(&[
        "resetOffsetByTime",
        "-n",
        ns,
        "-g",
        "cgo",
        "-t",
        "OffTopic",
        "-s",
        "yesterday",
    ]);
    assert_eq!(bad.code, Some(1), "{bad:?}");
    assert!(
        bad.stderr.contains("bad timestamp yesterday"),
        "{}",
        bad.stderr
    );
}
