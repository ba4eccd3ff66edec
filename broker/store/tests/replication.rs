//! A replica's store: bytes a master sends are appended at the master's offsets, the replica's
//! commitlog is byte-identical, its consume queues and index are built from those bytes (also
//! when chunks end inside records), and a chunk at any other offset is refused.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use ferromq_protocol::message::{property, MessageExt, Properties};
use ferromq_store::store::AcceptAll;
use ferromq_store::{GetMessageStatus, MessageStore, PutStatus, StoreConfig, StoreError};

const FILE: u64 = 64 * 1024;

fn config(dir: &Path) -> StoreConfig {
    StoreConfig {
        mapped_file_size_commit_log: FILE,
        mapped_file_size_consume_queue: 20 * 100,
        max_hash_slot_num: 256,
        max_index_num: 1024,
        ..StoreConfig::with_root(dir)
    }
}

fn message(topic: &str, queue_id: i32, i: usize) -> MessageExt {
    let mut properties = Properties::new();
    properties.insert(property::KEYS, format!("k-{i}"));
    properties.insert(property::TAGS, "TagA");
    let host: SocketAddr = "127.0.0.1:10911".parse().unwrap();
    MessageExt {
        topic: topic.to_owned(),
        queue_id,
        body: Bytes::from(format!("body-{i}-{}", "x".repeat(i * 37 % 900))),
        properties,
        born_host: host,
        store_host: host,
        born_timestamp: 1_700_000_000_000,
        ..MessageExt::default()
    }
}

fn fill(master: &MessageStore, n: usize) {
    for i in 0..n {
        let r = master
            .put_message(&message("Rep", (i % 3) as i32, i))
            .unwrap()
            .wait();
        assert_eq!(r.status, PutStatus::PutOk);
    }
    assert!(master.wait_dispatched(Duration::from_secs(10)));
}

/// Copies the master's log from `from` to its end in chunks of at most `chunk` bytes, as a
/// master's HA connection does (never crossing a file).
fn replicate(master: &MessageStore, replica: &MessageStore, from: u64, chunk: usize) -> u64 {
    let end = master.commit_log().max_offset();
    let mut at = from;
    while at < end {
        let data = master.replication_data(at, chunk).unwrap();
        assert!(!data.is_empty(), "no data at {at} below {end}");
        replica.append_replicated(at, &data).unwrap();
        at += data.len() as u64;
    }
    at
}

fn log_bytes(store: &MessageStore, from: u64) -> Vec<u8> {
    let log = store.commit_log();
    let mut out = Vec::new();
    let mut at = from;
    while at < log.max_offset() {
        let data = store.replication_data(at, 1 << 20).unwrap();
        out.extend_from_slice(&data);
        at += data.len() as u64;
    }
    out
}

fn queue_bodies(store: &MessageStore, queue_id: i32) -> Vec<Bytes> {
    let r = store.get_message("Rep", queue_id, 0, 1000, usize::MAX, &AcceptAll);
    assert_eq!(r.status, GetMessageStatus::Found, "queue {queue_id}");
    r.messages
}

#[test]
fn a_replica_is_byte_identical_and_indexes_chunks_cut_inside_records() {
    let (m_dir, r_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let master = MessageStore::open(config(m_dir.path())).unwrap();
    let replica = MessageStore::open(config(r_dir.path())).unwrap();
    fill(&master, 400);
    assert!(
        master.commit_log().files().files().len() >= 3,
        "the log spans files, so chunks meet file ends"
    );
    // 1000-byte chunks end inside most records; the dispatcher waits for the rest.
    let end = replicate(&master, &replica, 0, 1000);
    assert_eq!(end, master.commit_log().max_offset());
    assert_eq!(replica.commit_log().max_offset(), end);
    assert_eq!(log_bytes(&replica, 0), log_bytes(&master, 0));
    assert!(replica.wait_dispatched(Duration::from_secs(10)));
    for q in 0..3 {
        assert_eq!(
            replica.max_offset_in_queue("Rep", q),
            master.max_offset_in_queue("Rep", q)
        );
        assert_eq!(queue_bodies(&replica, q), queue_bodies(&master, q));
    }
    let keyed = replica.query_message("Rep", "k-123", 8, 0, i64::MAX);
    assert_eq!(keyed.messages.len(), 1, "the replica's index has the key");
    master.shutdown().unwrap();
    replica.shutdown().unwrap();
}

#[test]
fn a_replica_restarts_where_its_log_ends_and_catches_up() {
    let (m_dir, r_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let master = MessageStore::open(config(m_dir.path())).unwrap();
    fill(&master, 100);
    let first = {
        let replica = MessageStore::open(config(r_dir.path())).unwrap();
        let end = replicate(&master, &replica, 0, 777);
        fill(&master, 100);
        // The link drops 20 bytes into the next record: a torn tail, not kept on restart.
        let partial = master.replication_data(end, 20).unwrap();
        replica.append_replicated(end, &partial).unwrap();
        assert_eq!(replica.commit_log().max_offset(), end + 20);
        replica.shutdown().unwrap();
        end
    };
    let replica = MessageStore::open(config(r_dir.path())).unwrap();
    assert_eq!(
        replica.commit_log().max_offset(),
        first,
        "resumes at its own end"
    );
    replicate(&master, &replica, first, 4096);
    assert_eq!(log_bytes(&replica, 0), log_bytes(&master, 0));
    assert!(replica.wait_dispatched(Duration::from_secs(10)));
    for q in 0..3 {
        assert_eq!(queue_bodies(&replica, q), queue_bodies(&master, q));
    }
    master.shutdown().unwrap();
    replica.shutdown().unwrap();
}

#[test]
fn a_fresh_replica_may_start_at_a_later_file_of_its_master() {
    let (m_dir, r_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let master = MessageStore::open(config(m_dir.path())).unwrap();
    let replica = MessageStore::open(config(r_dir.path())).unwrap();
    fill(&master, 400);
    // What Apache's master does for a replica reporting 0: start at its last file.
    let max = master.commit_log().max_offset();
    let start = max - max % FILE;
    assert!(start > 0);
    replicate(&master, &replica, start, 32 * 1024);
    assert_eq!(replica.commit_log().min_offset(), start);
    assert_eq!(log_bytes(&replica, start), log_bytes(&master, start));
    assert!(replica.wait_dispatched(Duration::from_secs(10)));
    for q in 0..3 {
        let (min, max) = replica.queue_range("Rep", q).unwrap();
        assert_eq!(max, master.max_offset_in_queue("Rep", q));
        assert!(min > 0, "queue {q} starts where the replica's log starts");
        let r = replica.get_message("Rep", q, min, 1000, usize::MAX, &AcceptAll);
        assert_eq!(r.status, GetMessageStatus::Found);
        assert_eq!(r.messages.len() as i64, max - min);
    }
    master.shutdown().unwrap();
    replica.shutdown().unwrap();
}

#[test]
fn chunks_at_other_offsets_are_refused() {
    let (m_dir, r_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let master = MessageStore::open(config(m_dir.path())).unwrap();
    let replica = MessageStore::open(config(r_dir.path())).unwrap();
    fill(&master, 50);
    let data = master.replication_data(0, 4096).unwrap();
    // An empty replica starts at a file boundary only.
    let err = replica.append_replicated(100, &data).unwrap_err();
    assert!(matches!(err, StoreError::NotWritable(_)), "{err}");
    replica.append_replicated(0, &data).unwrap();
    // Behind, ahead, or a gap: refused, and nothing is written.
    for at in [0, 10, data.len() as u64 + 1] {
        let err = replica.append_replicated(at, &data).unwrap_err();
        assert!(err.to_string().contains("ends at"), "{err}");
    }
    assert_eq!(replica.commit_log().max_offset(), data.len() as u64);
    // A chunk that would cross the end of a file is refused.
    let big = vec![0u8; FILE as usize];
    let err = replica
        .append_replicated(data.len() as u64, &big)
        .unwrap_err();
    assert!(err.to_string().contains("crosses"), "{err}");
    master.shutdown().unwrap();
    replica.shutdown().unwrap();
}

#[test]
fn a_slave_takes_its_masters_tables_and_merges_offsets() {
    use ferromq_protocol::body::TopicConfig;
    use ferromq_store::configs::{ConsumerOffsetTable, TopicConfigTable};

    let (master, slave) = (TopicConfigTable::new(), TopicConfigTable::new());
    master.put(TopicConfig::new("T1", 4, 4));
    slave.put(TopicConfig::new("T2", 1, 1));
    slave.replace_from(master.encode().as_bytes()).unwrap();
    assert!(
        slave.contains("T1") && !slave.contains("T2"),
        "{:?}",
        slave.names()
    );
    assert_eq!(slave.data_version(), master.data_version());
    assert!(slave.replace_from(b"{not json").is_err());
    assert!(slave.contains("T1"), "a bad answer changes nothing");

    let (master, slave) = (ConsumerOffsetTable::new(), ConsumerOffsetTable::new());
    master.commit("G", "T1", 0, 5);
    slave.commit("G", "T1", 0, 1);
    slave.commit("G", "T1", 1, 7);
    slave.commit("H", "T2", 0, 3);
    slave.replace_from(master.encode().as_bytes()).unwrap();
    assert_eq!(
        slave.query("G", "T1", 0),
        Some(5),
        "the master's offset wins"
    );
    assert_eq!(
        slave.query("G", "T1", 1),
        Some(7),
        "the slave's own is kept"
    );
    assert_eq!(slave.query("H", "T2", 0), Some(3));
}

/// A replica refuses local writes from its first replicated append (or cut) until it is
/// promoted: a send a broker admitted while it still led may reach the store after the broker
/// turned slave, and must not land between the master's bytes.
#[test]
fn a_replica_refuses_local_writes_until_it_is_promoted() {
    let (m_dir, r_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let master = MessageStore::open(config(m_dir.path())).unwrap();
    let replica = MessageStore::open(config(r_dir.path())).unwrap();
    fill(&master, 20);
    let end = replicate(&master, &replica, 0, 4096);
    assert!(
        replica.put_message(&message("Rep", 0, 1)).is_err(),
        "a local write between replicated bytes"
    );
    assert_eq!(replica.commit_log().max_offset(), end, "nothing appended");
    replica.truncate_replica(end).unwrap();
    assert!(
        replica.put_message(&message("Rep", 0, 2)).is_err(),
        "after a cut"
    );
    assert_eq!(replica.promote(Duration::from_secs(10)).unwrap(), end);
    let r = replica.put_message(&message("Rep", 0, 3)).unwrap().wait();
    assert_eq!(r.status, PutStatus::PutOk, "a promoted replica writes");
    master.shutdown().unwrap();
    replica.shutdown().unwrap();
}
