//! The dispatcher never stalls the store for one record: a record that cannot be dispatched
//! because of the record itself is counted and skipped; a transient failure holds back only its
//! own queue and is retried.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferromq_protocol::message::{MessageExt, Properties};
use ferromq_store::fault::inject::{fail_always, IoOp};
use ferromq_store::store::AcceptAll;
use ferromq_store::{FlushDiskType, GetMessageStatus, MessageStore, PutStatus, StoreConfig};

fn config(dir: &Path, mode: FlushDiskType) -> StoreConfig {
    StoreConfig {
        mapped_file_size_commit_log: 64 * 1024,
        mapped_file_size_consume_queue: 20 * 100,
        max_hash_slot_num: 256,
        max_index_num: 1024,
        flush_disk_type: mode,
        ..StoreConfig::with_root(dir)
    }
}

fn message(topic: &str, queue_id: i32, i: usize) -> MessageExt {
    let host: SocketAddr = "127.0.0.1:10911".parse().unwrap();
    MessageExt {
        topic: topic.to_owned(),
        queue_id,
        body: Bytes::from(format!("body-{i}")),
        properties: Properties::new(),
        born_host: host,
        store_host: host,
        born_timestamp: 1_700_000_000_000,
        ..MessageExt::default()
    }
}

fn put(store: &MessageStore, topic: &str, queue_id: i32, i: usize) {
    let r = store
        .put_message(&message(topic, queue_id, i))
        .unwrap()
        .wait();
    assert_eq!(r.status, PutStatus::PutOk);
}

fn bodies(store: &MessageStore, topic: &str, queue_id: i32) -> Vec<String> {
    let r = store.get_message(topic, queue_id, 0, 32, 1 << 20, &AcceptAll);
    r.messages
        .iter()
        .map(|b| {
            let m = ferromq_protocol::message::decode_all(
                b,
                &ferromq_protocol::message::DecodeOptions::store(),
            )
            .unwrap()
            .remove(0);
            String::from_utf8(m.body.to_vec()).unwrap()
        })
        .collect()
}

#[test]
fn a_record_with_an_illegal_topic_is_skipped_and_counted() {
    for mode in [FlushDiskType::SyncFlush, FlushDiskType::AsyncFlush] {
        let dir = tempfile::tempdir().unwrap();
        let store = MessageStore::open(config(dir.path(), mode)).unwrap();
        // Validating topics is the broker's job; the store stores it, but a consume queue
        // directory cannot be named after it.
        put(&store, "a/b", 0, 0);
        put(&store, "T", 0, 1);
        put(&store, "U", 3, 2);
        put(&store, "T", 0, 3);
        assert!(
            store.wait_dispatched(Duration::from_secs(10)),
            "{mode:?}: dispatch went past the illegal record"
        );
        assert_eq!(bodies(&store, "T", 0), ["body-1", "body-3"], "{mode:?}");
        assert_eq!(bodies(&store, "U", 3), ["body-2"], "{mode:?}");
        assert_eq!(store.undispatchable_records(), 1, "{mode:?}");
        assert!(
            !dir.path().join("consumequeue/a").exists(),
            "{mode:?}: nothing was created for the illegal topic"
        );
        assert_eq!(
            store
                .get_message("a/b", 0, 0, 32, 1 << 20, &AcceptAll)
                .status,
            GetMessageStatus::NoMatchedLogicQueue
        );
        // The checkpoint goes past it too: a clean restart does not re-dispatch it forever.
        store.shutdown().unwrap();
        drop(store);
        assert!(!dir.path().join("abort").exists(), "{mode:?}");
        let store = MessageStore::open(config(dir.path(), mode)).unwrap();
        assert!(store.wait_dispatched(Duration::from_secs(10)));
        assert_eq!(bodies(&store, "T", 0), ["body-1", "body-3"], "{mode:?}");
    }
}

#[test]
fn topic_names_that_would_escape_the_directory_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path(), FlushDiskType::AsyncFlush)).unwrap();
    let long = "x".repeat(255);
    for topic in ["..", ".", "a\0b", "../escape", "x\\y"] {
        put(&store, topic, 0, 0);
    }
    put(&store, &long, 0, 1);
    put(&store, "T", -1, 2);
    put(&store, "T", 0, 3);
    assert!(store.wait_dispatched(Duration::from_secs(10)));
    assert_eq!(store.undispatchable_records(), 6);
    assert_eq!(bodies(&store, &long, 0), ["body-1"], "255 bytes is allowed");
    assert_eq!(bodies(&store, "T", 0), ["body-3"]);
    assert!(!dir.path().join("escape").exists());
}

#[test]
fn a_transient_failure_holds_back_only_its_queue_and_is_retried() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path(), FlushDiskType::SyncFlush)).unwrap();
    // Creating queue H/0 fails (its directory sync: EIO, a transient error) until disarmed.
    let rule = fail_always(&dir.path().join("consumequeue/H"), IoOp::Sync);
    put(&store, "H", 0, 0);
    put(&store, "O", 0, 1);
    put(&store, "H", 0, 2);
    put(&store, "O", 0, 3);
    assert!(
        store.wait_dispatched(Duration::from_secs(10)),
        "the failing queue does not block the others"
    );
    assert!(rule.fired());
    assert_eq!(bodies(&store, "O", 0), ["body-1", "body-3"]);
    assert_eq!(store.max_offset_in_queue("H", 0), 0, "H is held back");
    assert_eq!(
        store.undispatchable_records(),
        0,
        "a transient error skips nothing"
    );
    // Once the disk recovers, the retry dispatches H in order.
    drop(rule);
    let deadline = Instant::now() + Duration::from_secs(20);
    while store.max_offset_in_queue("H", 0) < 2 {
        assert!(Instant::now() < deadline, "held queue never dispatched");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(bodies(&store, "H", 0), ["body-0", "body-2"]);
    assert_eq!(store.undispatchable_records(), 0);
}
