//! `topicClusterList`, `updateTopicPerm`, `allocateMQ` and `updateOrderConf` against a real name
//! server and broker, in Apache's layouts: each change is read back from the route or the name
//! server's KV store.

mod support;

use std::time::Duration;

use support::{cluster, ok, run};

#[test]
fn topic_route_commands() {
    let (namesrv, broker) = cluster("route-a");
    let ns = namesrv.addr();
    ok(&[
        "updateTopic",
        "-n",
        ns,
        "-c",
        "DefaultCluster",
        "-t",
        "Routed",
        "-r",
        "4",
        "-w",
        "4",
    ]);
    ferromq_tests::net::wait_until("route", Duration::from_secs(30), || {
        Ok(run(&["topicRoute", "-n", ns, "-t", "Routed"]).code == Some(0))
    })
    .expect("the topic's route");

    assert_eq!(
        ok(&["topicClusterList", "-n", ns, "-t", "Routed"]),
        "DefaultCluster\n"
    );

    // Read-only, then read-write again; the route shows each.
    let out = ok(&["updateTopicPerm", "-n", ns, "-t", "Routed", "-p", "4"]);
    assert_eq!(
        out,
        format!(
            "update topic perm from 6 to 4 in {} success.\n",
            broker.addr()
        )
    );
    ferromq_tests::net::wait_until("perm 4 in the route", Duration::from_secs(30), || {
        Ok(ok(&["topicRoute", "-n", ns, "-t", "Routed"]).contains("\"perm\": 4"))
    })
    .expect("read-only in the route");
    let out = ok(&["updateTopicPerm", "-n", ns, "-t", "Routed", "-p", "4"]);
    assert_eq!(out, "new perm equals to the old one!\n");
    ok(&[
        "updateTopicPerm",
        "-n",
        ns,
        "-t",
        "Routed",
        "-p",
        "6",
        "-b",
        broker.addr(),
    ]);
    let bad = run(&["updateTopicPerm", "-n", ns, "-t", "Routed", "-p", "1"]);
    assert_eq!(bad.code, Some(1), "{}", bad.stderr);

    // Two consumers share the 4 queues, 2 each, in Apache's JSON.
    let out = ok(&[
        "allocateMQ",
        "-n",
        ns,
        "-t",
        "Routed",
        "-i",
        "10.0.0.1,10.0.0.2",
    ]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("JSON");
    for ip in ["10.0.0.1", "10.0.0.2"] {
        let queues = v["result"][ip].as_array().expect("queues");
        assert_eq!(queues.len(), 2, "{out}");
        assert_eq!(queues[0]["brokerName"], "route-a");
    }

    // Order configuration in the name server's KV store.
    let out = ok(&[
        "updateOrderConf",
        "-n",
        ns,
        "-t",
        "Routed",
        "-m",
        "put",
        "-v",
        "route-a:4",
    ]);
    assert_eq!(
        out,
        "update orderConf success. topic=[Routed], orderConf=[route-a:4]\n"
    );
    let out = ok(&["updateOrderConf", "-n", ns, "-t", "Routed", "-m", "get"]);
    assert!(out.contains("orderConf=[route-a:4]"), "{out}");
    ok(&["updateOrderConf", "-n", ns, "-t", "Routed", "-m", "delete"]);
    let missing = run(&["updateOrderConf", "-n", ns, "-t", "Routed", "-m", "get"]);
    assert!(
        missing.code == Some(1) || missing.stdout.contains("orderConf=[null]"),
        "{missing:?}"
    );
    let usage = run(&["updateOrderConf", "-n", ns, "-t", "Routed", "-m", "put"]);
    assert_eq!(usage.code, Some(1));
    assert!(usage.stderr.contains("-v"), "{}", usage.stderr);
}

#[test]
fn send_round_trips_and_a_message_by_offset() {
    let (namesrv, _broker) = cluster("probe-a");
    let ns = namesrv.addr();
    ok(&[
        "updateTopic",
        "-n",
        ns,
        "-c",
        "DefaultCluster",
        "-t",
        "Probed",
        "-r",
        "2",
        "-w",
        "2",
    ]);
    ferromq_tests::net::wait_until("route", Duration::from_secs(30), || {
        Ok(run(&["topicRoute", "-n", ns, "-t", "Probed"]).code == Some(0))
    })
    .expect("the topic's route");

    // Four sends, to queues 0, 1, 0, 1, each row with its round trip.
    let out = ok(&[
        "checkMsgSendRT",
        "-n",
        ns,
        "-t",
        "Probed",
        "-a",
        "4",
        "-s",
        "16",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["#Broker", "Name", "#QID", "#Send", "Result", "#RT"]
    );
    let rows: Vec<Vec<&str>> = lines[1..5]
        .iter()
        .map(|l| l.split_whitespace().collect())
        .collect();
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row[0], "probe-a");
        assert_eq!(row[1], (i % 2).to_string());
        assert_eq!(row[2], "true");
        assert!(row[3].parse::<u64>().is_ok(), "{row:?}");
    }
    assert!(lines[5].starts_with("Avg RT: "), "{out}");

    // The second message of queue 1 (offset 1) is one of those 16-byte bodies. As Apache's, the
    // command pulls once: poll until the broker has queued the message.
    let mut out = String::new();
    ferromq_tests::net::wait_until("the message at offset 1", Duration::from_secs(30), || {
        out = ok(&[
            "queryMsgByOffset",
            "-n",
            ns,
            "-t",
            "Probed",
            "-b",
            "probe-a",
            "-i",
            "1",
            "-o",
            "1",
            "-f",
            "UTF-8",
        ]);
        Ok(!out.is_empty())
    })
    .unwrap_or_else(|e| panic!("{e}: {out}"));
    assert!(out.contains("Queue ID:            1"), "{out}");
    assert!(out.contains("Queue Offset:        1"), "{out}");
    assert!(
        out.contains(&format!("Message Body:        {}", "a".repeat(16))),
        "{out}"
    );
    // Past the end: nothing, as Apache.
    let out = ok(&[
        "queryMsgByOffset",
        "-n",
        ns,
        "-t",
        "Probed",
        "-b",
        "probe-a",
        "-i",
        "1",
        "-o",
        "9",
    ]);
    assert_eq!(out, "");
}
