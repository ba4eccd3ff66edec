//! `brokerStatus`, `getBrokerConfig` and `updateBrokerConfig` against a real broker: Apache's
//! line layouts, a change that shows in the next read, and a refused key's exit line.

mod support;

use support::{cluster, ok, run};

/// The value of `key` in `%-32s: %s` / `%-50s=  %s` lines.
fn value_of<'a>(text: &'a str, key: &str, sep: &str) -> Option<&'a str> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(sep)?;
        (k.trim_end() == key).then_some(v)
    })
}

#[test]
fn broker_status_prints_the_runtime_table_sorted() {
    let (ns, broker) = cluster("broker-s");
    let text = ok(&["brokerStatus", "-n", ns.addr(), "-b", broker.addr()]);
    assert_eq!(
        value_of(&text, "brokerVersionDesc", ": "),
        Some("V5_3_3"),
        "{text}"
    );
    assert!(
        value_of(&text, "commitLogMaxOffset", ": ").is_some(),
        "{text}"
    );
    let keys: Vec<&str> = text
        .lines()
        .map(|l| l.split_once(": ").map_or(l, |(k, _)| k).trim_end())
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(keys, sorted, "Apache sorts the keys");
    // Key column 32 wide, as `%-32s: %s`.
    let line = text
        .lines()
        .find(|l| l.starts_with("putTps"))
        .expect("putTps");
    assert_eq!(line.find(": "), Some(32), "{line}");

    // By cluster: every line starts with the broker address (`%-24s %-32s: %s`).
    let by_cluster = ok(&["brokerStatus", "-n", ns.addr(), "-c", "DefaultCluster"]);
    assert!(!by_cluster.is_empty());
    for l in by_cluster.lines() {
        assert!(l.starts_with(broker.addr()), "{l}");
    }
    assert_eq!(by_cluster.lines().count(), text.lines().count());

    let json = ok(&[
        "brokerStatus",
        "-n",
        ns.addr(),
        "-b",
        broker.addr(),
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(v[broker.addr()]["brokerVersionDesc"], "V5_3_3", "{json}");
}

#[test]
fn broker_config_is_read_and_updated() {
    let (ns, broker) = cluster("broker-cfg");
    let text = ok(&["getBrokerConfig", "-n", ns.addr(), "-b", broker.addr()]);
    assert_eq!(
        text.lines().next(),
        Some(format!("============{}============", broker.addr()).as_str())
    );
    assert_eq!(
        value_of(&text, "brokerName", "=  "),
        Some("broker-cfg"),
        "{text}"
    );
    let line = text
        .lines()
        .find(|l| l.starts_with("brokerName"))
        .expect("line");
    assert_eq!(line.find("=  "), Some(50), "`%-50s=  %s`: {line}");

    let updated = ok(&[
        "updateBrokerConfig",
        "-n",
        ns.addr(),
        "-b",
        broker.addr(),
        "-k",
        "defaultTopicQueueNums",
        "-v",
        "5",
    ]);
    assert_eq!(
        updated,
        format!("update broker config success, {}\n", broker.addr())
    );
    let by_cluster = ok(&["getBrokerConfig", "-n", ns.addr(), "-c", "DefaultCluster"]);
    assert_eq!(
        by_cluster.lines().next(),
        Some(format!("============Master: {}============", broker.addr()).as_str())
    );
    assert_eq!(
        value_of(&by_cluster, "defaultTopicQueueNums", "=  "),
        Some("5")
    );

    let json = ok(&[
        "getBrokerConfig",
        "-n",
        ns.addr(),
        "-b",
        broker.addr(),
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(v[broker.addr()]["defaultTopicQueueNums"], "5", "{json}");

    // A key the broker refuses: exit 1, `mqadmin: <broker> <code> <reason>`.
    let refused = run(&[
        "updateBrokerConfig",
        "-n",
        ns.addr(),
        "-c",
        "DefaultCluster",
        "-k",
        "brokerName",
        "-v",
        "x",
    ]);
    assert_eq!(refused.code, Some(1), "{refused:?}");
    let prefix = format!("mqadmin: {} 16 ", broker.addr());
    assert!(refused.stderr.starts_with(&prefix), "{}", refused.stderr);
    assert!(refused.stderr.contains("black list"), "{}", refused.stderr);
    let after = ok(&["getBrokerConfig", "-n", ns.addr(), "-b", broker.addr()]);
    assert_eq!(value_of(&after, "brokerName", "=  "), Some("broker-cfg"));
}

#[test]
fn bad_command_lines_exit_2_and_help_names_the_flags() {
    let unknown = run(&["noSuchCommand"]);
    assert_eq!(unknown.code, Some(2), "{unknown:?}");
    let missing = run(&["brokerStatus", "-n", "127.0.0.1:1"]);
    assert_eq!(missing.code, Some(2), "-b or -c is required: {missing:?}");
    assert!(missing.stderr.contains("Usage"), "{}", missing.stderr);
    let help = ok(&["help", "updateTopic"]);
    for flag in [
        "-t, --topic",
        "-c, --clusterName",
        "-b, --brokerAddr",
        "-r, --readQueueNums",
        "-w, --writeQueueNums",
        "-p, --perm",
        "-o, --order",
    ] {
        assert!(help.contains(flag), "{flag} in {help}");
    }
    // An unreachable name server is a failure, not a usage error.
    let unreachable = run(&["topicList", "-n", "127.0.0.1:1"]);
    assert_eq!(unreachable.code, Some(1), "{unreachable:?}");
    assert!(
        unreachable.stderr.starts_with("mqadmin: 127.0.0.1:1"),
        "{}",
        unreachable.stderr
    );
}
