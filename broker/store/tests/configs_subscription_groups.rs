//! `subscriptionGroup.json`: Java defaults, byte-exact group JSON against Apache's, Apache's
//! pretty file with system groups and a forbidden table, auto-creation, load/persist.

use ferromq_protocol::json;
use ferromq_store::configs::subscription_groups::{
    is_valid_group_name, CID_SYS_RMQ_TRANS, GROUP_NAME_MAX_LENGTH,
};
use ferromq_store::configs::{
    system_groups, CustomizedRetryPolicy, GroupRetryPolicyType, SubscriptionGroupConfig,
    SubscriptionGroupTable,
};

fn vector(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/configs_vectors/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

const DEFAULT_GROUP_JSON: &str = concat!(
    r#"{"attributes":{},"brokerId":0,"consumeBroadcastEnable":true,"consumeEnable":true,"#,
    r#""consumeFromMinEnable":true,"consumeMessageOrderly":false,"consumeTimeoutMinute":15,"#,
    r#""groupName":"G1","groupRetryPolicy":{"type":"CUSTOMIZED"},"groupSysFlag":0,"#,
    r#""notifyConsumerIdsChangedEnable":true,"retryMaxTimes":16,"retryQueueNums":1,"#,
    r#""whichBrokerWhenConsumeSlowly":1}"#
);

#[test]
fn java_defaults_and_golden_file_text() {
    assert_eq!(
        json::to_string(&SubscriptionGroupConfig::new("G1")),
        DEFAULT_GROUP_JSON
    );
    let table = SubscriptionGroupTable::new();
    table.update(SubscriptionGroupConfig::new("G1"));
    let v = table.data_version();
    assert_eq!(v.counter, 1);
    let expected = format!(
        r#"{{"dataVersion":{{"counter":1,"stateVersion":0,"timestamp":{}}},"forbiddenTable":{{}},"subscriptionGroupTable":{{"G1":{DEFAULT_GROUP_JSON}}}}}"#,
        v.timestamp
    );
    assert_eq!(table.encode(), expected);
    assert_eq!(
        SubscriptionGroupTable::decode(expected.as_bytes())
            .expect("round trip")
            .encode(),
        expected
    );
}

/// A group with every optional part set is written exactly as Apache writes it.
#[test]
fn group_json_matches_apache_byte_for_byte() {
    let text = vector("apache-5.3.3-subscriptionGroupConfig.compact.json");
    let config: SubscriptionGroupConfig = json::from_slice(&text).expect("decode");
    assert_eq!(config.group_name, "GroupA");
    assert_eq!(config.retry_max_times, 3);
    assert!(!config.consume_broadcast_enable);
    assert_eq!(
        config.group_retry_policy.policy_type,
        GroupRetryPolicyType::Exponential
    );
    let sub = &config
        .subscription_data_set
        .as_ref()
        .expect("subscriptions")[0];
    assert_eq!(
        (sub.topic.as_str(), sub.expression.as_str(), sub.version),
        ("TopicA", "TagA || TagB", 5)
    );
    assert_eq!(json::to_string(&config).as_bytes(), &text[..]);
}

/// The file Apache writes to disk, with its eight startup groups.
#[test]
fn decodes_apache_pretty_file_and_matches_its_system_groups() {
    let text = vector("apache-5.3.3-subscriptionGroup.pretty.json");
    let table = SubscriptionGroupTable::decode(&text).expect("decode");
    assert_eq!(table.len(), 9);
    assert_eq!(table.data_version().counter, 1);
    assert_eq!(table.forbidden("GroupA", "TopicA"), 5);
    assert!(table.is_forbidden("GroupA", "TopicA", 2));
    assert!(!table.is_forbidden("GroupA", "TopicA", 1));
    for group in system_groups() {
        assert_eq!(
            table.get(&group.group_name).as_ref(),
            Some(&group),
            "{}",
            group.group_name
        );
    }
    assert_eq!(
        json::parse(table.encode().as_bytes()).expect("ours"),
        json::parse(&text).expect("theirs")
    );
}

#[test]
fn lenient_input() {
    let text = br#"{"subscriptionGroupTable":{"G":{"groupName":"G","retryMaxTimes":"5",
        "groupRetryPolicy":null,"attributes":{"a":1},"subscriptionDataSet":null,"newField":[]}},
        "forbiddenTable":null}"#;
    let table = SubscriptionGroupTable::decode(text).expect("lenient");
    let g = table.get("G").expect("G");
    assert_eq!(g.retry_max_times, 5);
    assert_eq!(g.retry_queue_nums, 1, "missing fields take Java defaults");
    assert_eq!(g.attributes["a"], "1");
    assert_eq!(
        g.group_retry_policy.policy_type,
        GroupRetryPolicyType::Customized
    );
    assert!(g.subscription_data_set.is_none());
    assert_eq!(table.data_version().counter, 0);

    let policy: ferromq_store::configs::GroupRetryPolicy =
        json::from_slice(br#"{"type":"CUSTOMIZED","customizedRetryPolicy":{}}"#).expect("policy");
    assert_eq!(
        policy.customized_retry_policy,
        Some(CustomizedRetryPolicy::default())
    );
    assert_eq!(CustomizedRetryPolicy::default().next.len(), 18);
    assert!(SubscriptionGroupTable::decode(b"{\"subscriptionGroupTable\":{").is_err());
}

#[test]
fn get_or_create_follows_auto_create_and_system_prefix() {
    let table = SubscriptionGroupTable::new();
    assert!(table.get_or_create("G1", false).is_none());
    assert!(table.is_empty());
    let sys = table
        .get_or_create("CID_RMQ_SYS_X", false)
        .expect("system groups are always created");
    assert_eq!(sys.retry_max_times, 16);
    let created = table.get_or_create("G1", true).expect("auto-created");
    assert_eq!(created, SubscriptionGroupConfig::new("G1"));
    assert_eq!(table.data_version().counter, 2);
    assert_eq!(table.get_or_create("G1", true), Some(created));
    assert_eq!(table.data_version().counter, 2, "found, not created");

    assert!(table.get_or_create("bad name", true).is_none());
    assert!(table.get_or_create("", true).is_none());
    let long = "g".repeat(GROUP_NAME_MAX_LENGTH + 1);
    assert!(table.get_or_create(&long, true).is_none());
    assert!(is_valid_group_name("%RETRY%a|b_c-1"));
}

#[test]
fn update_delete_disable_and_forbidden_bits() {
    let table = SubscriptionGroupTable::new();
    assert_eq!(table.add_missing(system_groups()), 8);
    assert_eq!(table.data_version().counter, 0);
    assert!(table.contains(CID_SYS_RMQ_TRANS));

    let mut g = SubscriptionGroupConfig::new("G");
    g.consume_message_orderly = true;
    assert!(table.update(g.clone()).is_none());
    assert_eq!(table.update(g.clone()), Some(g.clone()));
    assert!(table.disable_consume("G"));
    assert!(!table.disable_consume("nope"));
    assert_eq!(table.with_group("G", |c| c.consume_enable), Some(false));

    assert_eq!(table.update_forbidden("G", "T", 0, true), 1);
    assert_eq!(table.update_forbidden("G", "T", 2, true), 5);
    assert_eq!(table.update_forbidden("G", "U", 1, true), 2);
    assert_eq!(table.update_forbidden("G", "T", 0, false), 4);
    assert_eq!(table.update_forbidden("G", "T", 2, false), 0);
    assert_eq!(table.forbidden("G", "T"), 0);
    assert_eq!(table.forbidden("G", "U"), 2, "other topics keep their bits");

    let before = table.data_version().counter;
    assert!(table.delete("G").is_some());
    assert!(table.delete("G").is_none());
    assert_eq!(
        table.forbidden("G", "U"),
        0,
        "forbidden entries go with the group"
    );
    assert_eq!(table.data_version().counter, before + 1);
    assert_eq!(table.names().len(), 8);
    assert_eq!(table.list().len(), 8);
}

#[test]
fn load_persist_and_bak_fallback() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir
        .path()
        .join("config")
        .join(SubscriptionGroupTable::FILE_NAME);
    let table = SubscriptionGroupTable::load(&path).expect("fresh");
    assert!(table.is_empty());
    table.add_missing(system_groups());
    assert!(table.persist().expect("persist"));
    table.get_or_create("G1", true);
    assert!(table.persist().expect("persist"));

    let reloaded = SubscriptionGroupTable::load(&path).expect("reload");
    assert_eq!(reloaded.encode(), table.encode());

    std::fs::write(&path, b"{\"subscriptionGroupTable\":{\"G1\"").expect("tear");
    let recovered = SubscriptionGroupTable::load(&path).expect("from .bak");
    assert_eq!(recovered.len(), 8);
    assert!(!recovered.contains("G1"));
}
