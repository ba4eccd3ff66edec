//! `topics.json`: golden text, Apache-written files, the system topics of a real 5.3.3 broker,
//! load/persist with `.bak` fallback.

use bytes::BytesMut;
use ferromq_common::config_file;
use ferromq_protocol::body::{perm, DataVersion, RegisterBrokerBody, TopicConfig};
use ferromq_protocol::frame::FrameDecoder;
use ferromq_protocol::json;
use ferromq_protocol::Version;
use ferromq_store::configs::{system_topics, SystemTopics, TopicConfigTable};

fn vector(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/configs_vectors/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn version(counter: i64, timestamp: i64) -> String {
    format!(r#"{{"counter":{counter},"stateVersion":0,"timestamp":{timestamp}}}"#)
}

#[test]
fn golden_text_of_a_small_table() {
    let text = format!(
        concat!(
            r#"{{"dataVersion":{},"topicConfigTable":{{"#,
            r#""TopicA":{{"attributes":{{}},"order":false,"perm":6,"readQueueNums":4,"topicFilterType":"SINGLE_TAG","topicName":"TopicA","topicSysFlag":0,"writeQueueNums":4}},"#,
            r#""TopicB":{{"attributes":{{"+message.type":"FIFO"}},"order":true,"perm":7,"readQueueNums":2,"topicFilterType":"SINGLE_TAG","topicName":"TopicB","topicSysFlag":0,"writeQueueNums":2}}}}}}"#
        ),
        version(1, 1_700_000_000_000)
    );
    let table = TopicConfigTable::decode(text.as_bytes()).expect("decode");
    assert_eq!(table.encode(), text);
    let b = table.get("TopicB").expect("TopicB");
    assert!(b.order);
    assert_eq!(b.attributes["+message.type"], "FIFO");
}

#[test]
fn apache_written_files_decode_and_re_encode_to_the_same_json() {
    for name in [
        "apache-5.3.3-topics.pretty.json",
        "apache-5.3.3-topics.compact.json",
    ] {
        let text = vector(name);
        let table = TopicConfigTable::decode(&text).expect(name);
        assert_eq!(table.len(), 2, "{name}");
        assert_eq!(table.data_version().counter, 1);
        let b = table.get("TopicB").expect("TopicB");
        assert_eq!((b.perm, b.read_queue_nums, b.order), (7, 2, true));
        // Same JSON value as Apache's (Apache orders the map by hash, we by name).
        assert_eq!(
            json::parse(table.encode().as_bytes()).expect("ours"),
            json::parse(&text).expect("theirs"),
            "{name}"
        );
    }
}

#[test]
fn lenient_input_quoted_numbers_and_unknown_fields() {
    let text = br#"{"dataVersion":{"counter":"3","timestamp":5},"extra":[1],
        "topicConfigTable":{"T":{"topicName":"T","perm":"7","readQueueNums":1,"writeQueueNums":1,"newField":true}}}"#;
    let table = TopicConfigTable::decode(text).expect("lenient");
    assert_eq!(table.data_version().counter, 3);
    assert_eq!(table.get("T").expect("T").perm, 7);
    assert!(TopicConfigTable::decode(b"{\"topicConfigTable\":").is_err());
}

/// The system topics match, field for field, the 13 topics a real Apache 5.3.3 broker
/// (`broker-a`, `DefaultCluster`, autoCreateTopicEnable) registered with its name server.
#[test]
fn system_topics_match_a_real_apache_broker() {
    let path = format!(
        "{}/../../protocol/tests/vectors/broker-5.3.3-register.bin",
        env!("CARGO_MANIFEST_DIR")
    );
    let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let cmd = FrameDecoder::default()
        .decode(&mut BytesMut::from(&raw[..]))
        .expect("frame")
        .expect("complete frame");
    let body = RegisterBrokerBody::decode_request(&cmd.body, false, Version(cmd.version))
        .expect("register body");
    let apache = body.topic_config_serialize_wrapper.topic_config_table;

    let ours: std::collections::BTreeMap<String, TopicConfig> =
        system_topics("DefaultCluster", "broker-a", true, 8)
            .into_iter()
            .map(|t| (t.topic_name.clone(), t))
            .collect();
    assert_eq!(ours, apache);
}

#[test]
fn system_topic_options() {
    let names = |s: &SystemTopics| -> Vec<String> {
        s.topics().into_iter().map(|t| t.topic_name).collect()
    };
    let mut s = SystemTopics::new("C", "B", false, 4);
    assert!(!names(&s).contains(&"TBW102".to_owned()));
    s.cluster_topic_enable = false;
    s.broker_topic_enable = false;
    s.trace_topic_enable = true;
    s.timer_wheel_enable = false;
    let topics = s.topics();
    let find = |n: &str| topics.iter().find(|t| t.topic_name == n).cloned();
    assert_eq!(find("C").expect("cluster topic").perm, perm::INHERIT);
    assert_eq!(find("B").expect("broker topic").perm, perm::INHERIT);
    assert!(find("RMQ_SYS_TRACE_TOPIC").is_some());
    assert!(find("rmq_sys_wheel_timer").is_none());
    let tbw = SystemTopics::new("C", "B", true, 4).topics();
    let tbw = tbw
        .iter()
        .find(|t| t.topic_name == "TBW102")
        .expect("TBW102");
    assert_eq!(
        (tbw.perm, tbw.read_queue_nums, tbw.write_queue_nums),
        (7, 4, 4)
    );
}

#[test]
fn changes_bump_the_data_version_and_defaults_do_not() {
    let table = TopicConfigTable::new();
    assert_eq!(table.add_missing(system_topics("C", "B", true, 8)), 13);
    let v0 = table.data_version();
    assert_eq!(v0.counter, 0);
    assert_eq!(table.add_missing(system_topics("C", "B", true, 8)), 0);

    assert!(table.put(TopicConfig::new("T1", 4, 4)).is_none());
    assert_eq!(table.data_version().counter, 1);
    let (existing, created) = table.put_if_absent(TopicConfig::new("T1", 8, 8));
    assert!(!created);
    assert_eq!(existing.read_queue_nums, 4);
    assert_eq!(table.data_version().counter, 1);
    let (_, created) = table.put_if_absent(TopicConfig::new("T2", 8, 8));
    assert!(created);
    assert_eq!(table.data_version().counter, 2);
    assert_eq!(
        table.with_topic("T2", |t| t.write_queue_nums),
        Some(8),
        "borrowed read"
    );
    assert!(table.delete("nope").is_none());
    assert_eq!(table.data_version().counter, 2);
    assert_eq!(
        table.delete("T2").map(|t| t.topic_name).as_deref(),
        Some("T2")
    );
    assert_eq!(table.data_version().counter, 3);
    assert!(table.contains("T1") && !table.contains("T2"));

    let w = table.serialize_wrapper();
    assert_eq!(w.data_version, table.data_version());
    assert_eq!(w.topic_config_table.len(), table.len());
    assert_eq!(table.names().len(), table.list().len());
    assert!(w.mapping_data_version.is_none());
}

#[test]
fn load_persist_reload_and_fall_back_to_bak() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config").join(TopicConfigTable::FILE_NAME);

    let table = TopicConfigTable::load(&path).expect("fresh dir");
    assert!(table.is_empty());
    table.put(TopicConfig::new("T1", 4, 4));
    assert!(table.persist().expect("persist"));
    assert!(!table.persist().expect("clean"), "nothing changed");
    assert!(!table.is_dirty());

    let reloaded = TopicConfigTable::load(&path).expect("reload");
    assert_eq!(reloaded.encode(), table.encode());
    assert_eq!(reloaded.path(), Some(path.as_path()));

    table.put(TopicConfig::new("T2", 1, 1));
    assert!(table.persist().expect("second persist"));
    // The previous file is now the backup; tear the file as a crash of Apache's in-place write
    // would.
    let bak = config_file::backup_path(&path);
    assert!(bak.exists());
    let full = std::fs::read(&path).expect("read");
    std::fs::write(&path, &full[..full.len() / 2]).expect("tear");
    let recovered = TopicConfigTable::load(&path).expect("from .bak");
    assert!(recovered.contains("T1") && !recovered.contains("T2"));
    assert!(
        recovered.is_dirty(),
        "a table loaded from .bak rewrites its file"
    );
    assert!(recovered.persist().expect("repair"));
    assert!(TopicConfigTable::load(&path)
        .expect("repaired")
        .contains("T1"));

    // Both torn: an error, not an empty table.
    std::fs::write(&path, b"{\"topicConfigTable\":{").expect("tear");
    std::fs::write(&bak, b"{\"dataVer").expect("tear bak");
    assert!(TopicConfigTable::load(&path).is_err());
}

#[test]
fn in_memory_tables_do_not_write() {
    let table = TopicConfigTable::decode(b"{}").expect("empty object");
    assert!(table.is_empty());
    assert_eq!(table.data_version(), DataVersion::default());
    table.put(TopicConfig::new("T", 1, 1));
    assert!(!table.persist().expect("no file"));
    assert!(table.path().is_none());
}
