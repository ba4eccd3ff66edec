//! Recovery never silently deletes synced data: an invalid commitlog record before the offset
//! the checkpoint records as synced stops start-up with the file, the offset and the key that
//! forces recovery; with `forceRecoverCorruptCommitLog=true` the log is truncated there. A torn
//! tail past that offset is still truncated silently.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use ferromq_protocol::message::{MessageExt, Properties};
use ferromq_store::checkpoint::CheckpointFile;
use ferromq_store::store::AcceptAll;
use ferromq_store::{FlushDiskType, MessageStore, PutStatus, StoreConfig, StoreError};

fn config(dir: &Path) -> StoreConfig {
    StoreConfig {
        mapped_file_size_commit_log: 64 * 1024,
        mapped_file_size_consume_queue: 20 * 100,
        max_hash_slot_num: 256,
        max_index_num: 1024,
        flush_disk_type: FlushDiskType::SyncFlush,
        ..StoreConfig::with_root(dir)
    }
}

fn body(i: usize) -> String {
    format!("body-{i:04}-payload")
}

fn message(i: usize) -> MessageExt {
    let host: SocketAddr = "127.0.0.1:10911".parse().unwrap();
    MessageExt {
        topic: "T".to_owned(),
        body: Bytes::from(body(i)),
        properties: Properties::new(),
        born_host: host,
        store_host: host,
        born_timestamp: 1_700_000_000_000,
        ..MessageExt::default()
    }
}

/// Puts 20 messages, stops cleanly; returns each record's (commitlog offset, size).
fn write_and_stop(dir: &Path) -> Vec<(u64, usize)> {
    let store = MessageStore::open(config(dir)).unwrap();
    let mut records = Vec::new();
    for i in 0..20 {
        let r = store.put_message(&message(i)).unwrap().wait();
        assert_eq!(r.status, PutStatus::PutOk);
        records.push(r.append.records[0]);
    }
    store.shutdown().unwrap();
    records
}

/// Flips one byte of message `i`'s body in the commitlog file.
fn flip_body_byte(dir: &Path, records: &[(u64, usize)], i: usize) {
    let path = dir.join("commitlog").join(format!("{:020}", 0));
    let mut bytes = std::fs::read(&path).unwrap();
    let (offset, size) = records[i];
    let rec = offset as usize..offset as usize + size;
    let needle = body(i).into_bytes();
    let at = bytes[rec.clone()]
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap()
        + rec.start;
    bytes[at] ^= 0x20;
    std::fs::write(&path, bytes).unwrap();
}

fn pullable(store: &MessageStore) -> usize {
    assert!(store.wait_dispatched(Duration::from_secs(5)));
    let mut n = 0;
    let mut offset = 0;
    loop {
        let r = store.get_message("T", 0, offset, 32, 1 << 20, &AcceptAll);
        if r.messages.is_empty() {
            return n;
        }
        n += r.messages.len();
        offset = r.next_begin_offset;
    }
}

#[test]
fn a_corrupt_record_before_the_synced_offset_stops_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let records = write_and_stop(dir.path());
    let (bad_offset, _) = records[10];
    flip_body_byte(dir.path(), &records, 10);

    let e = MessageStore::open(config(dir.path())).expect_err("corruption must stop start-up");
    let text = e.to_string();
    assert!(matches!(e, StoreError::Corrupt(_)), "{e:?}");
    assert!(
        text.contains("00000000000000000000"),
        "names the file: {text}"
    );
    assert!(
        text.contains(&format!("offset {bad_offset}")),
        "names the offset: {text}"
    );
    assert!(
        text.contains("forceRecoverCorruptCommitLog=true"),
        "names the key: {text}"
    );
    // Nothing was deleted by the refused start.
    let len = std::fs::metadata(dir.path().join("commitlog").join(format!("{:020}", 0)))
        .unwrap()
        .len();
    assert_eq!(len, 64 * 1024);

    let forced = MessageStore::open(StoreConfig {
        force_recover_corrupt_commit_log: true,
        ..config(dir.path())
    })
    .expect("forced recovery opens");
    assert_eq!(
        forced.commit_log().max_offset(),
        bad_offset,
        "truncated at the corrupt record"
    );
    assert_eq!(pullable(&forced), 10, "the records before it stay");
    assert_eq!(forced.max_offset_in_queue("T", 0), 10);
    let r = forced.put_message(&message(99)).unwrap().wait();
    assert_eq!(
        (r.status, r.append.queue_offset, r.append.commit_log_offset),
        (PutStatus::PutOk, 10, bad_offset)
    );
}

#[test]
fn a_torn_tail_past_the_synced_offset_is_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let records = write_and_stop(dir.path());
    // Pretend the last five records were never synced (a crash image): the checkpoint says
    // the log was synced up to record 15 and the abort file is there.
    let (synced_to, _) = records[15];
    let (file, mut cp) = CheckpointFile::open(&dir.path().join("checkpoint")).unwrap();
    cp.flushed_offset = Some(synced_to);
    cp.dispatched_offset = Some(synced_to);
    file.write(&cp).unwrap();
    drop(file);
    std::fs::write(dir.path().join("abort"), b"1").unwrap();
    // Record 17 is torn.
    flip_body_byte(dir.path(), &records, 17);

    let store = MessageStore::open(config(dir.path())).expect("a torn tail is no error");
    assert!(store.recovered_from_crash());
    assert_eq!(store.commit_log().max_offset(), records[17].0);
    assert_eq!(pullable(&store), 17);
}
