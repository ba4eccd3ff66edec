//! `consumerOffset.json`: byte-exact golden text against Apache's, Apache-written files with
//! bare keys and `groupTopicMap`, queries, removal, concurrency and load/persist.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use ferromq_common::config_file;
use ferromq_protocol::json::{self, Value};
use ferromq_store::configs::ConsumerOffsetTable;

fn vector(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/configs_vectors/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// Apache's compact text for one entry is reproduced byte for byte.
#[test]
fn re_encodes_apache_compact_text_byte_for_byte() {
    let text = vector("apache-5.3.3-consumerOffset.compact.json");
    let table = ConsumerOffsetTable::decode(&text).expect("decode");
    assert_eq!(table.encode().as_bytes(), &text[..]);
    assert_eq!(table.query("GroupA", "TopicA", 2), Some(30));
    assert_eq!(table.data_version().counter, 1);
}

#[test]
fn golden_text_of_a_small_table() {
    let table = ConsumerOffsetTable::new();
    table.commit("G1", "T1", 1, 456);
    table.commit("G1", "T1", 0, 123);
    table.commit("G2", "T1", 0, 7);
    table.commit("G1", "%RETRY%G1", 0, 0);
    let version = table.data_version();
    let expected = format!(
        concat!(
            r#"{{"dataVersion":{{"counter":0,"stateVersion":0,"timestamp":{}}},"#,
            r#""groupTopicMap":{{"G1":["%RETRY%G1","T1"],"G2":["T1"]}},"#,
            r#""offsetTable":{{"%RETRY%G1@G1":{{0:0}},"T1@G1":{{0:123,1:456}},"T1@G2":{{0:7}}}}}}"#
        ),
        version.timestamp
    );
    assert_eq!(table.encode(), expected);
    let again = ConsumerOffsetTable::decode(expected.as_bytes()).expect("round trip");
    assert_eq!(again.encode(), expected);
    assert_eq!(again.snapshot(), table.snapshot());
}

/// The file Apache writes to disk: pretty-printed, bare queue ids, `groupTopicMap`.
#[test]
fn decodes_apache_pretty_file() {
    let text = vector("apache-5.3.3-consumerOffset.pretty.json");
    let table = ConsumerOffsetTable::decode(&text).expect("decode");
    assert_eq!(table.len(), 4);
    assert_eq!(table.data_version().counter, 2);
    assert_eq!(
        table.offsets("GroupA", "TopicA"),
        Some(BTreeMap::from([(0, 10), (1, 20), (2, 30)]))
    );
    assert_eq!(
        table.query("CID_RMQ_SYS_TRANS", "RMQ_SYS_TRANS_HALF_TOPIC", 0),
        Some(3)
    );
    assert_eq!(table.query("GroupA", "TopicA", 3), None);
    assert_eq!(table.query("Nobody", "TopicA", 0), None);

    // Same offsetTable and dataVersion as Apache's, and the same groupTopicMap up to order.
    let ours = json::parse(table.encode().as_bytes()).expect("ours");
    let theirs = json::parse(&text).expect("theirs");
    for field in ["dataVersion", "offsetTable"] {
        assert_eq!(ours[field], theirs[field], "{field}");
    }
    let as_sets = |v: &Value| -> BTreeMap<String, BTreeSet<String>> {
        v.as_object()
            .expect("groupTopicMap")
            .iter()
            .map(|(g, ts)| {
                let topics = ts.as_array().expect("array").iter();
                (
                    g.clone(),
                    topics
                        .map(|t| t.as_str().expect("str").to_owned())
                        .collect(),
                )
            })
            .collect()
    };
    assert_eq!(
        as_sets(&ours["groupTopicMap"]),
        as_sets(&theirs["groupTopicMap"])
    );
}

#[test]
fn decodes_quoted_keys_string_numbers_and_4x_files_without_data_version() {
    let text = br#"{"offsetTable":{"T@G":{"0":"5",1:6,"2":null},"bad-key":{0:1}},"other":{}}"#;
    let table = ConsumerOffsetTable::decode(text).expect("lenient");
    assert_eq!(
        table.offsets("G", "T"),
        Some(BTreeMap::from([(0, 5), (1, 6)]))
    );
    assert_eq!(
        table.len(),
        1,
        "a key without '@' cannot be addressed and is dropped"
    );
    assert!(
        table.data_version().timestamp > 0,
        "a fresh version, as Java's default"
    );
    assert!(ConsumerOffsetTable::decode(br#"{"offsetTable":{"T@G":{"x":1}}}"#).is_err());
    assert!(ConsumerOffsetTable::decode(br#"{"offsetTable":{"T@G":{0:"x"}}}"#).is_err());
    assert!(ConsumerOffsetTable::decode(b"[]").is_err());
    assert!(ConsumerOffsetTable::decode(b"{}")
        .expect("empty")
        .is_empty());
}

#[test]
fn lookups_by_group_and_topic_and_removal() {
    let table = ConsumerOffsetTable::new();
    table.commit("G1", "T1", 0, 1);
    table.commit("G1", "T2", 0, 2);
    table.commit("G2", "T1", 0, 3);
    assert_eq!(table.groups_of_topic("T1"), set(&["G1", "G2"]));
    assert_eq!(table.topics_of_group("G1"), set(&["T1", "T2"]));
    assert!(table.groups_of_topic("T9").is_empty());

    assert!(table.clone_offsets("G1", "G3", "T1"));
    assert!(!table.clone_offsets("G9", "G3", "T1"));
    assert_eq!(table.query("G3", "T1", 0), Some(1));

    let v = table.data_version().counter;
    assert_eq!(table.remove("G3", "T1"), Some(BTreeMap::from([(0, 1)])));
    assert!(table.remove("G3", "T1").is_none());
    assert!(table.data_version().counter > v);
    assert_eq!(table.remove_group("G1"), 2);
    assert_eq!(table.topics_of_group("G1"), BTreeSet::new());
    assert_eq!(table.remove_topic("T1"), 1);
    assert!(table.is_empty());
    assert_eq!(table.remove_topic("T1"), 0);
}

#[test]
fn data_version_advances_once_per_step_of_commits() {
    let table = ConsumerOffsetTable::new().with_version_step(3);
    for i in 0..7 {
        table.commit("G", "T", 0, i);
    }
    assert_eq!(table.data_version().counter, 2);
    assert_eq!(table.query("G", "T", 0), Some(6));
}

#[test]
fn concurrent_commits_then_persist_and_reload_keep_the_latest_values() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir
        .path()
        .join("config")
        .join(ConsumerOffsetTable::FILE_NAME);
    let table = Arc::new(ConsumerOffsetTable::load(&path).expect("fresh"));
    assert!(table.is_empty());

    const THREADS: i32 = 8;
    const COMMITS: i64 = 2_000;
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let table = Arc::clone(&table);
            std::thread::spawn(move || {
                // Each thread owns one group; all share the topics and queue ids, so both the
                // shared and the create paths race.
                let group = format!("G{t}");
                for i in 1..=COMMITS {
                    for q in 0..4 {
                        table.commit(&group, &format!("T{}", q % 2), q, i * 10 + i64::from(q));
                    }
                    if i % 500 == 0 {
                        table.persist().expect("persist while committing");
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker");
    }
    table.persist().expect("final persist");

    let reloaded = ConsumerOffsetTable::load(&path).expect("reload");
    assert_eq!(reloaded.len(), (THREADS * 2) as usize);
    for t in 0..THREADS {
        for q in 0..4 {
            assert_eq!(
                reloaded.query(&format!("G{t}"), &format!("T{}", q % 2), q),
                Some(COMMITS * 10 + i64::from(q)),
                "G{t} queue {q}"
            );
        }
    }
    assert_eq!(reloaded.snapshot(), table.snapshot());
}

#[test]
fn torn_file_falls_back_to_bak_and_fresh_dir_is_empty() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(ConsumerOffsetTable::FILE_NAME);
    let table = ConsumerOffsetTable::load(&path).expect("fresh");
    table.commit("G", "T", 0, 1);
    table.persist().expect("first");
    table.commit("G", "T", 0, 2);
    table.persist().expect("second");
    assert!(!table.persist().expect("clean"));

    std::fs::write(&path, b"{\"offsetTable\":{\"T@G\":{0:").expect("tear");
    let recovered = ConsumerOffsetTable::load(&path).expect("from .bak");
    assert_eq!(recovered.query("G", "T", 0), Some(1));

    std::fs::write(&path, b"").expect("empty");
    assert_eq!(
        ConsumerOffsetTable::load(&path)
            .expect("empty file")
            .query("G", "T", 0),
        Some(1)
    );
    std::fs::remove_file(config_file::backup_path(&path)).expect("rm bak");
    assert!(ConsumerOffsetTable::load(&path)
        .expect("nothing usable")
        .is_empty());
}

#[test]
fn a_commit_riding_on_a_pull_never_lowers_the_offset() {
    let t = ConsumerOffsetTable::new();
    assert!(t.commit_forward("G", "T", 0, 5), "first commit");
    t.commit("G", "T", 0, 11);
    assert!(!t.commit_forward("G", "T", 0, 10), "a stale pull commit");
    assert_eq!(t.query("G", "T", 0), Some(11));
    assert!(t.commit_forward("G", "T", 0, 12));
    t.commit("G", "T", 0, 3);
    assert_eq!(
        t.query("G", "T", 0),
        Some(3),
        "an explicit commit may go back (a seek)"
    );
}

/// Pull offsets live beside the committed ones, in memory only, and go with their group or
/// topic.
#[test]
fn pull_offsets_are_kept_apart_and_never_written() {
    let table = ConsumerOffsetTable::new();
    table.commit("G", "T", 0, 5);
    table.commit_pull("G", "T", 0, 9);
    table.commit_pull("G", "T", 1, 3);
    table.commit_pull("H", "U", 0, 1);
    assert_eq!(table.query_pull("G", "T", 0), Some(9));
    assert_eq!(table.query_pull("G", "T", 1), Some(3));
    assert_eq!(table.query_pull("G", "T", 2), None);
    assert_eq!(table.query("G", "T", 0), Some(5));
    assert_eq!(table.query("G", "T", 1), None);
    assert!(!table.encode().contains(":9"), "{}", table.encode());
    table.commit_pull("G", "T", 0, 12);
    assert_eq!(table.query_pull("G", "T", 0), Some(12));

    table.remove_group("G");
    assert_eq!(table.query_pull("G", "T", 0), None);
    assert_eq!(table.remove_topic("U"), 0);
    assert_eq!(table.query_pull("H", "U", 0), None);
    table.commit_pull("G", "T", 0, 1);
    table.commit("G", "T", 0, 1);
    table.remove("G", "T");
    assert_eq!(table.query_pull("G", "T", 0), None);
}
