//! `MessageStore` end to end on real files: put, pull by queue offset with Apache's statuses and
//! limits, filters, queries, restarts (clean and after a crash image), retention and disk
//! protection.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use ferromq_protocol::message::{
    decode_all, property, tag_hash_code, DecodeOptions, MessageExt, Properties,
};
use ferromq_store::store::{AcceptAll, MessageFilter};
use ferromq_store::{GetMessageStatus, MessageStore, PutStatus, StoreConfig, StoreError};

fn config(dir: &Path) -> StoreConfig {
    StoreConfig {
        mapped_file_size_commit_log: 64 * 1024,
        mapped_file_size_consume_queue: 20 * 100,
        max_hash_slot_num: 256,
        max_index_num: 1024,
        ..StoreConfig::with_root(dir)
    }
}

fn message(topic: &str, queue_id: i32, i: usize, tag: &str) -> MessageExt {
    let mut properties = Properties::new();
    properties.insert(property::KEYS, format!("order-{i}"));
    properties.insert(property::TAGS, tag);
    properties.insert(
        property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
        format!("UNIQ{i:028}"),
    );
    let host: SocketAddr = "127.0.0.1:10911".parse().unwrap();
    MessageExt {
        topic: topic.to_owned(),
        queue_id,
        body: Bytes::from(format!("body-{i}-{}", "x".repeat(i % 200))),
        properties,
        born_host: host,
        store_host: host,
        born_timestamp: 1_700_000_000_000,
        ..MessageExt::default()
    }
}

fn put(store: &MessageStore, m: &MessageExt) -> i64 {
    let r = store.put_message(m).unwrap().wait();
    assert_eq!(r.status, PutStatus::PutOk);
    r.append.queue_offset
}

fn decode(b: &Bytes) -> MessageExt {
    decode_all(b, &DecodeOptions::store()).unwrap().remove(0)
}

struct Tags(Vec<i64>);
impl MessageFilter for Tags {
    fn matches_tags_code(&self, code: i64) -> bool {
        self.0.contains(&code)
    }
}

#[test]
fn pulls_follow_apaches_statuses_and_limits() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path())).unwrap();
    let none = store.get_message("T", 0, 0, 32, 1 << 20, &AcceptAll);
    assert_eq!(
        (none.status, none.next_begin_offset),
        (GetMessageStatus::NoMatchedLogicQueue, 0)
    );
    for i in 0..100 {
        assert_eq!(
            put(
                &store,
                &message("T", 0, i, if i % 3 == 0 { "A" } else { "B" })
            ),
            i as i64
        );
    }
    assert!(store.wait_dispatched(Duration::from_secs(5)));
    let r = store.get_message("T", 0, 0, 32, 1 << 20, &AcceptAll);
    assert_eq!(r.status, GetMessageStatus::Found);
    assert_eq!(r.messages.len(), 32, "maxTransferCountOnMessageInMemory");
    assert_eq!(
        (r.min_offset, r.max_offset, r.next_begin_offset),
        (0, 100, 32)
    );
    for (k, rec) in r.messages.iter().enumerate() {
        let m = decode(rec);
        assert_eq!(
            (m.queue_offset, m.properties.keys().next()),
            (k as i64, Some(format!("order-{k}").as_str()))
        );
    }
    // Small max bytes: at least one message always comes back.
    assert_eq!(
        store
            .get_message("T", 0, 0, 32, 10, &AcceptAll)
            .messages
            .len(),
        1
    );
    // Tag filter at the consume-queue level: only A's.
    let r = store.get_message(
        "T",
        0,
        0,
        32,
        1 << 20,
        &Tags(vec![i64::from(tag_hash_code("A"))]),
    );
    assert!(r.messages.iter().all(|b| decode(b).tags() == Some("A")));
    assert_eq!(r.messages.len(), 32);
    let no_match = store.get_message("T", 0, 1, 1, 1 << 20, &Tags(vec![42]));
    assert_eq!(no_match.status, GetMessageStatus::NoMatchedMessage);
    assert!(no_match.next_begin_offset > 1, "skips past what it scanned");
    // Offset checks.
    let caught_up = store.get_message("T", 0, 100, 32, 1 << 20, &AcceptAll);
    assert_eq!(
        (caught_up.status, caught_up.next_begin_offset),
        (GetMessageStatus::OffsetOverflowOne, 100)
    );
    let beyond = store.get_message("T", 0, 150, 32, 1 << 20, &AcceptAll);
    assert_eq!(
        (beyond.status, beyond.next_begin_offset),
        (GetMessageStatus::OffsetOverflowBadly, 100)
    );
    store
        .put_message(&message("Empty", 1, 0, "A"))
        .unwrap()
        .wait();
    assert!(store.wait_dispatched(Duration::from_secs(5)));
    assert_eq!(
        store
            .get_message("Empty", 0, 0, 32, 1024, &AcceptAll)
            .status,
        GetMessageStatus::NoMatchedLogicQueue
    );
}

#[test]
fn queries_lookups_and_times() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path())).unwrap();
    let before = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let mut offsets = Vec::new();
    for i in 0..50 {
        let r = store
            .put_message(&message("Q", i as i32 % 2, i, "A"))
            .unwrap()
            .wait();
        offsets.push(r.append.commit_log_offset);
    }
    assert!(store.wait_dispatched(Duration::from_secs(5)));
    let after = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        + 1;
    let found = store.query_message("Q", "order-7", 32, before, after);
    assert_eq!(found.messages.len(), 1);
    assert_eq!(
        decode(&found.messages[0]).properties.keys().next(),
        Some("order-7")
    );
    let by_uniq = store.query_message("Q", &format!("UNIQ{:028}", 8), 32, before, after);
    assert_eq!(by_uniq.messages.len(), 1);
    assert!(store
        .query_message("Q", "order-7", 32, after + 10_000, after + 20_000)
        .messages
        .is_empty());
    assert!(store
        .query_message("Other", "order-7", 32, before, after)
        .messages
        .is_empty());
    // View by commitlog offset.
    assert_eq!(
        decode(&store.message_at(offsets[3]).unwrap())
            .properties
            .keys()
            .next(),
        Some("order-3")
    );
    // Offset by time and earliest time.
    assert_eq!(store.offset_by_time("Q", 0, before - 1000, false), 0);
    assert_eq!(store.offset_by_time("Q", 0, after + 1000, true), 24);
    let earliest = store.earliest_message_time("Q", 1).unwrap();
    assert!((before..=after).contains(&earliest));
}

#[test]
fn restarts_keep_everything_and_continue_offsets() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = MessageStore::open(config(dir.path())).unwrap();
        for i in 0..300 {
            put(&store, &message("R", (i % 3) as i32, i, "A"));
        }
        store.shutdown().unwrap();
        assert!(
            !dir.path().join("abort").exists(),
            "clean shutdown removes the abort file"
        );
    }
    let store = MessageStore::open(config(dir.path())).unwrap();
    assert!(!store.recovered_from_crash());
    assert_eq!(store.max_offset_in_queue("R", 1), 100);
    assert_eq!(
        put(&store, &message("R", 1, 300, "A")),
        100,
        "queue offsets continue"
    );
    // A copy of a live store directory is a crash image: abort file present, files as in memory.
    assert!(store.wait_dispatched(Duration::from_secs(5)));
    let image = tempfile::tempdir().unwrap();
    copy_dir(dir.path(), image.path());
    std::fs::remove_file(image.path().join("lock")).unwrap();
    let crashed = MessageStore::open(config(image.path())).unwrap();
    assert!(crashed.recovered_from_crash());
    assert_eq!(crashed.max_offset_in_queue("R", 1), 101);
    let r = crashed.get_message("R", 1, 100, 1, 1 << 20, &AcceptAll);
    assert_eq!(
        decode(&r.messages[0]).properties.keys().next(),
        Some("order-300")
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

#[test]
fn a_second_store_on_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _store = MessageStore::open(config(dir.path())).unwrap();
    assert!(matches!(
        MessageStore::open(config(dir.path())),
        Err(StoreError::Locked(_))
    ));
}

#[test]
fn retention_deletes_expired_files_with_their_queues() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.file_reserved_time = 0; // every sealed file is expired
    cfg.delete_when = "99".to_owned(); // outside the window unless forced
    cfg.clean_resource_interval = 3_600_000;
    // The disk of the machine running the test must not decide: above 75 % used (CI's disk was),
    // the default diskMaxUsedSpaceRatio deletes expired files outside deleteWhen too.
    cfg.disk_max_used_space_ratio = 101;
    cfg.disk_space_clean_forcibly_ratio = 101;
    cfg.disk_space_warning_level_ratio = 101;
    let store = MessageStore::open(cfg).unwrap();
    for i in 0..600 {
        put(&store, &message("Old", 0, i, "A"));
    }
    assert!(store.wait_dispatched(Duration::from_secs(5)));
    let files_before = store.commit_log().files().files().len();
    assert!(files_before > 2);
    let quiet = store.clean_files(SystemTime::now(), false).unwrap();
    assert_eq!(quiet.commit_log_files, 0, "outside deleteWhen nothing goes");
    let forced = store.clean_files(SystemTime::now(), true).unwrap();
    assert_eq!(forced.commit_log_files, (files_before - 1).min(10));
    assert_eq!(
        store.commit_log().files().files().len(),
        files_before - forced.commit_log_files
    );
    let min = store.min_offset_in_queue("Old", 0);
    assert!(min > 0, "queue min offset follows the commitlog");
    assert!(forced.consume_queue_files > 0);
    let r = store.get_message("Old", 0, 0, 32, 1 << 20, &AcceptAll);
    assert_eq!(
        (r.status, r.next_begin_offset),
        (GetMessageStatus::OffsetTooSmall, min)
    );
    let r = store.get_message("Old", 0, min, 32, 1 << 20, &AcceptAll);
    assert_eq!(
        r.status,
        GetMessageStatus::Found,
        "the rest is still readable"
    );
    // The newest file is never deleted.
    store.clean_files(SystemTime::now(), true).unwrap();
    store.clean_files(SystemTime::now(), true).unwrap();
    assert_eq!(store.commit_log().files().files().len(), 1);
}

#[test]
fn a_too_full_disk_refuses_writes_but_serves_reads() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.clean_resource_interval = 3_600_000;
    cfg.file_reserved_time = 1000;
    let store = MessageStore::open(cfg).unwrap();
    put(&store, &message("D", 0, 0, "A"));
    assert!(store.wait_dispatched(Duration::from_secs(5)));
    // Pretend the disk is at the warning level: this machine's disk is surely above 1%.
    let full = StoreConfig {
        disk_space_warning_level_ratio: 1,
        disk_space_clean_forcibly_ratio: 1,
        ..store.config().clone()
    };
    drop(store);
    let store = MessageStore::open(full).unwrap();
    let report = store.clean_files(SystemTime::now(), false).unwrap();
    assert!(!report.writable);
    let err = store.put_message(&message("D", 0, 1, "A")).unwrap_err();
    assert!(err.to_string().contains("disk full"), "{err}");
    assert_eq!(
        store.get_message("D", 0, 0, 32, 1 << 20, &AcceptAll).status,
        GetMessageStatus::Found
    );
    drop(store);
    let mut relaxed = config(dir.path());
    relaxed.clean_resource_interval = 3_600_000;
    relaxed.disk_space_warning_level_ratio = 101;
    relaxed.disk_space_clean_forcibly_ratio = 101;
    let store = MessageStore::open(relaxed).unwrap();
    assert!(
        store
            .clean_files(SystemTime::now(), false)
            .unwrap()
            .writable
    );
    put(&store, &message("D", 0, 1, "A"));
}

#[test]
fn unused_topics_lose_their_queues_and_live_settings_change() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path())).unwrap();
    put(&store, &message("Kept", 0, 1, "A"));
    put(&store, &message("Gone", 0, 2, "A"));
    assert!(store.wait_dispatched(Duration::from_secs(10)));
    let deleted = store.clean_unused_topics(|t| t == "Kept").unwrap();
    assert_eq!(deleted, ["Gone"]);
    assert_eq!(store.max_offset_in_queue("Kept", 0), 1);
    assert_eq!(store.max_offset_in_queue("Gone", 0), 0);
    assert_eq!(
        store.clean_expired_consume_queues().unwrap(),
        0,
        "nothing expired"
    );

    // Run-time settings: a smaller maxMessageSize refuses at once; a fixed key is refused.
    let mut next = (*store.live_config()).clone();
    next.max_message_size = 4;
    store.update_config(next.clone()).unwrap();
    assert!(matches!(
        store.put_message(&message("Kept", 0, 3, "A")),
        Err(StoreError::MessageIllegal(_))
    ));
    next.mapped_file_size_commit_log *= 2;
    assert_eq!(
        store.update_config(next).unwrap_err(),
        "mappedFileSizeCommitLog"
    );
    assert_eq!(store.live_config().max_message_size, 4);
    store.shutdown().unwrap();
}
