//! Consume queues against Apache's layout: files, units, recovery, truncation, retention and
//! lookup by time.

use std::path::{Path, PathBuf};

use ferromq_protocol::message::sysflag;
use ferromq_store::commit_log::DispatchRequest;
use ferromq_store::consume_queue::{ConsumeQueueStore, CqUnit, TimeBoundary};

/// 8 units per file.
const FILE_SIZE: usize = 20 * 8;
const TOPIC: &str = "TopicTest";

fn req(queue_id: i32, commit_log_offset: u64, size: usize, queue_offset: i64) -> DispatchRequest {
    DispatchRequest {
        topic: TOPIC.to_owned(),
        queue_id,
        commit_log_offset,
        size,
        queue_offset,
        tags_code: commit_log_offset as i64 * 7,
        store_timestamp: 0,
        sys_flag: 0,
        uniq_key: None,
        keys: None,
        prepared_transaction_offset: 0,
    }
}

/// `n` records of queue 0 at commitlog offsets 0, 100, 200, ... (size 100), queue offsets 0..n.
fn requests(n: i64) -> Vec<DispatchRequest> {
    (0..n).map(|i| req(0, i as u64 * 100, 100, i)).collect()
}

fn store(dir: &Path) -> ConsumeQueueStore {
    let store = ConsumeQueueStore::load(dir, FILE_SIZE).expect("load");
    store.recover().expect("recover");
    store
}

fn dispatch_all(store: &ConsumeQueueStore, reqs: &[DispatchRequest]) {
    for r in reqs {
        store.dispatch(r).expect("dispatch");
    }
}

fn queue_dir(dir: &Path, queue_id: i32) -> PathBuf {
    dir.join(TOPIC).join(queue_id.to_string())
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn unit_of(r: &DispatchRequest) -> CqUnit {
    CqUnit {
        commit_log_offset: r.commit_log_offset as i64,
        size: r.size as i32,
        tags_code: r.tags_code,
    }
}

/// Every unit of queue `queue_id`, read one by one.
fn all_units(store: &ConsumeQueueStore, queue_id: i32) -> Vec<(i64, CqUnit)> {
    let q = store.queue(TOPIC, queue_id).expect("queue");
    (q.min_offset()..q.max_offset())
        .map(|o| (o, q.unit(o).expect("unit")))
        .collect()
}

#[test]
fn dispatches_across_files_and_reloads_identically() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(dir.path());
    let reqs = requests(30);
    for (i, r) in reqs.iter().enumerate() {
        store.dispatch(r).expect("dispatch");
        // Another queue interleaved, at commitlog offsets between queue 0's records.
        if i % 3 == 0 {
            store
                .dispatch(&req(1, r.commit_log_offset + 50, 10, i as i64 / 3))
                .expect("dispatch q1");
        }
    }
    let q = store.queue(TOPIC, 0).expect("queue 0");
    assert_eq!((q.topic(), q.queue_id()), (TOPIC, 0));
    assert_eq!((q.min_offset(), q.max_offset()), (0, 30));
    assert_eq!(q.max_phy_offset(), 3000);
    assert_eq!(q.unit(17), Some(unit_of(&reqs[17])));
    assert_eq!(q.unit(30), None);
    assert_eq!(q.unit(-1), None);
    assert_eq!(
        file_names(&queue_dir(dir.path(), 0)),
        [
            "00000000000000000000",
            "00000000000000000160",
            "00000000000000000320",
            "00000000000000000480"
        ]
    );
    // One file per read, like Apache's travelCqFileNumWhenGetMessage = 1.
    let batch = q.units(5, 10);
    assert_eq!(
        batch,
        (5..8)
            .map(|i| (i, unit_of(&reqs[i as usize])))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        q.units(8, 2).iter().map(|u| u.0).collect::<Vec<_>>(),
        [8, 9]
    );
    assert_eq!(q.units(28, 10).len(), 2);
    assert!(q.units(30, 10).is_empty());
    assert_eq!(store.max_phy_offset(), 3000);
    assert_eq!(
        store
            .queue(TOPIC, 1)
            .map(|q| (q.max_offset(), q.max_phy_offset())),
        Some((10, 2760))
    );
    assert_eq!(store.topics(), [TOPIC]);
    assert_eq!(
        store
            .queues_of(TOPIC)
            .iter()
            .map(|q| q.queue_id())
            .collect::<Vec<_>>(),
        [0, 1]
    );
    let mut next = store.next_offsets();
    next.sort();
    assert_eq!(next, [(TOPIC.to_owned(), 0, 30), (TOPIC.to_owned(), 1, 10)]);

    let before: Vec<_> = (0..2).map(|id| all_units(&store, id)).collect();
    store.flush().expect("flush");
    drop((q, store));
    let store = self::store(dir.path());
    let after: Vec<_> = (0..2).map(|id| all_units(&store, id)).collect();
    assert_eq!(before, after);
    assert_eq!(after[0].len(), 30);
    assert_eq!(store.max_phy_offset(), 3000);
    let q = store.queue(TOPIC, 0).expect("queue 0");
    assert_eq!(
        (q.min_offset(), q.max_offset(), q.max_phy_offset()),
        (0, 30, 3000)
    );
    // Appends continue where the reloaded queue ends.
    store.dispatch(&req(0, 3000, 100, 30)).expect("dispatch");
    assert_eq!(q.max_offset(), 31);
    assert_eq!(q.unit(30).map(|u| u.commit_log_offset), Some(3000));
}

#[test]
fn unit_bytes_on_disk_are_apaches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(dir.path());
    let mut r = req(3, 0x1234, 0x56, 0);
    r.tags_code = -1;
    store.dispatch(&r).expect("dispatch");
    store.flush().expect("flush");
    let bytes = std::fs::read(queue_dir(dir.path(), 3).join("00000000000000000000")).expect("read");
    assert_eq!(bytes.len(), FILE_SIZE);
    assert_eq!(
        bytes[..20],
        [
            0, 0, 0, 0, 0, 0, 0x12, 0x34, // commitlog offset 4660
            0, 0, 0, 0x56, // size 86
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // tags code -1
        ]
    );
    assert!(bytes[20..].iter().all(|b| *b == 0));
}

#[test]
fn recovery_truncates_a_torn_tail() {
    // (what is written after the 11th unit, at byte 60 of the second file)
    let torn_tails: [(&str, Vec<u8>); 3] = [
        ("garbage", vec![0xff; 20]),
        // The first 10 bytes of unit 11 (offset 1100, size 100) only: the size reads as 0.
        (
            "first half",
            CqUnit {
                commit_log_offset: 1100,
                size: 100,
                tags_code: 7,
            }
            .encode()[..10]
                .to_vec(),
        ),
        // The last 10 bytes only (its first half was on a page that never reached the disk):
        // offset 0 and a plausible size, which Apache's offset/size test would keep.
        ("second half", {
            let mut b = CqUnit {
                commit_log_offset: 1100,
                size: 100,
                tags_code: 7,
            }
            .encode();
            b[..10].fill(0);
            b[8..12].copy_from_slice(&100i32.to_be_bytes());
            b.to_vec()
        }),
    ];
    for (what, tail) in torn_tails {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store(dir.path());
        dispatch_all(&store, &requests(11));
        store.flush().expect("flush");
        drop(store);
        let path = queue_dir(dir.path(), 0).join("00000000000000000160");
        let mut bytes = std::fs::read(&path).expect("read");
        bytes[60..60 + tail.len()].copy_from_slice(&tail);
        // More garbage further on must go too.
        bytes[100..120].copy_from_slice(&[0x11; 20]);
        std::fs::write(&path, &bytes).expect("write");

        let store = self::store(dir.path());
        let q = store.queue(TOPIC, 0).expect("queue");
        assert_eq!(q.max_offset(), 11, "{what}");
        assert_eq!(q.max_phy_offset(), 1100, "{what}");
        assert_eq!(
            q.unit(10).map(|u| u.commit_log_offset),
            Some(1000),
            "{what}"
        );
        assert_eq!(q.unit(11), None, "{what}");
        let bytes = std::fs::read(&path).expect("read");
        assert!(bytes[60..].iter().all(|b| *b == 0), "{what}: tail zeroed");
        store.dispatch(&req(0, 1100, 100, 11)).expect("dispatch");
        assert_eq!(
            q.unit(11).map(|u| u.commit_log_offset),
            Some(1100),
            "{what}"
        );
    }
}

#[test]
fn recovery_drops_files_after_an_invalid_unit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(dir.path());
    dispatch_all(&store, &requests(20));
    store.flush().expect("flush");
    drop(store);
    // Zero the last unit of the first file: it and both later files go.
    let qdir = queue_dir(dir.path(), 0);
    let first = qdir.join("00000000000000000000");
    let mut bytes = std::fs::read(&first).expect("read");
    bytes[140..160].fill(0);
    std::fs::write(&first, &bytes).expect("write");
    let store = self::store(dir.path());
    let q = store.queue(TOPIC, 0).expect("queue");
    assert_eq!((q.max_offset(), q.max_phy_offset()), (7, 700));
    assert_eq!(file_names(&qdir), ["00000000000000000000"]);
    assert_eq!(store.next_offsets(), [(TOPIC.to_owned(), 0, 7)]);
}

#[test]
fn redispatch_is_idempotent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(dir.path());
    let reqs = requests(20);
    dispatch_all(&store, &reqs);
    let before = all_units(&store, 0);
    dispatch_all(&store, &reqs);
    store.dispatch(&reqs[3]).expect("old record again");
    assert_eq!(all_units(&store, 0), before);
    assert_eq!(store.queue(TOPIC, 0).map(|q| q.max_offset()), Some(20));
    // The same after a reload (recovery re-dispatches from an older commitlog offset).
    drop(store);
    let store = self::store(dir.path());
    dispatch_all(&store, &reqs[10..]);
    assert_eq!(all_units(&store, 0), before);
}

#[test]
fn units_behind_the_write_position_are_skipped_and_gaps_written_in_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(dir.path());
    dispatch_all(&store, &requests(5));
    // A newer record claiming an old queue offset: built already (Apache skips it).
    store.dispatch(&req(0, 10_000, 100, 2)).expect("dispatch");
    let q = store.queue(TOPIC, 0).expect("queue");
    assert_eq!((q.max_offset(), q.max_phy_offset()), (5, 500));
    assert_eq!(q.unit(2).map(|u| u.commit_log_offset), Some(200));
    // A gap (a bug upstream) is logged and the unit written at the write position, as Apache
    // does.
    store.dispatch(&req(0, 10_000, 100, 7)).expect("dispatch");
    assert_eq!((q.max_offset(), q.max_phy_offset()), (6, 10_100));
    assert_eq!(q.unit(5).map(|u| u.commit_log_offset), Some(10_000));
}

#[test]
fn non_consumable_records_get_no_unit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(dir.path());
    for flag in [
        sysflag::TRANSACTION_PREPARED_TYPE,
        sysflag::TRANSACTION_ROLLBACK_TYPE,
    ] {
        let mut r = req(0, 0, 100, 0);
        r.sys_flag = flag;
        store.dispatch(&r).expect("dispatch");
    }
    assert!(store.queue(TOPIC, 0).is_none());
    let mut r = req(0, 0, 100, 0);
    r.sys_flag = sysflag::TRANSACTION_COMMIT_TYPE;
    store.dispatch(&r).expect("dispatch");
    assert_eq!(store.queue(TOPIC, 0).map(|q| q.max_offset()), Some(1));
}

#[test]
fn a_queue_first_seen_at_a_later_offset_is_padded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(dir.path());
    store.dispatch(&req(0, 5000, 100, 10)).expect("dispatch");
    store.dispatch(&req(0, 5100, 100, 11)).expect("dispatch");
    let q = store.queue(TOPIC, 0).expect("queue");
    assert_eq!((q.min_offset(), q.max_offset()), (10, 12));
    assert_eq!(q.unit(9), None, "padding is never served");
    assert_eq!(q.unit(10).map(|u| u.commit_log_offset), Some(5000));
    assert_eq!(q.max_phy_offset(), 5200);
    let qdir = queue_dir(dir.path(), 0);
    assert_eq!(file_names(&qdir), ["00000000000000000160"]);
    store.flush().expect("flush");
    let bytes = std::fs::read(qdir.join("00000000000000000160")).expect("read");
    let padding = [
        0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    assert_eq!(bytes[..20], padding);
    assert_eq!(bytes[20..40], padding);
    assert_eq!(bytes[40..48], 5000i64.to_be_bytes());

    // In the first file too, and across a reload.
    store.dispatch(&req(1, 6000, 100, 3)).expect("dispatch");
    drop((q, store));
    let store = self::store(dir.path());
    let q0 = store.queue(TOPIC, 0).expect("queue 0");
    assert_eq!(
        (q0.min_offset(), q0.max_offset(), q0.max_phy_offset()),
        (10, 12, 5200)
    );
    let q1 = store.queue(TOPIC, 1).expect("queue 1");
    assert_eq!((q1.min_offset(), q1.max_offset()), (3, 4));
    assert_eq!(q1.units(0, 10), []);
    assert_eq!(q1.units(3, 10).len(), 1);
    // Truncating every real unit keeps the padding and the min offset.
    store.truncate_from(5000).expect("truncate");
    assert_eq!(
        (q0.min_offset(), q0.max_offset(), q0.max_phy_offset()),
        (10, 10, 0)
    );
    store.dispatch(&req(0, 5000, 100, 10)).expect("dispatch");
    assert_eq!(q0.unit(10).map(|u| u.commit_log_offset), Some(5000));
}

#[test]
fn truncate_from_drops_units_at_or_past_an_offset() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(dir.path());
    let reqs = requests(30);
    dispatch_all(&store, &reqs);
    store.dispatch(&req(1, 5, 10, 0)).expect("dispatch");
    let qdir = queue_dir(dir.path(), 0);

    store.truncate_from(1250).expect("truncate");
    let q = store.queue(TOPIC, 0).expect("queue");
    assert_eq!((q.max_offset(), q.max_phy_offset()), (13, 1300));
    assert_eq!(q.unit(12).map(|u| u.commit_log_offset), Some(1200));
    assert_eq!(q.unit(13), None);
    assert_eq!(
        file_names(&qdir),
        ["00000000000000000000", "00000000000000000160"]
    );
    assert_eq!(store.queue(TOPIC, 1).map(|q| q.max_offset()), Some(1));
    assert_eq!(store.max_phy_offset(), 1300);

    // Re-dispatching after the cut restores the same units.
    dispatch_all(&store, &reqs);
    assert_eq!(all_units(&store, 0).len(), 30);

    // A cut on a file boundary removes the whole next file.
    store.truncate_from(1600).expect("truncate");
    assert_eq!(q.max_offset(), 16);
    assert_eq!(
        file_names(&qdir),
        ["00000000000000000000", "00000000000000000160"]
    );
    store.truncate_from(1600).expect("nothing to do");
    assert_eq!(q.max_offset(), 16);
    store.truncate_from(0).expect("truncate everything");
    assert_eq!(
        (q.min_offset(), q.max_offset(), q.max_phy_offset()),
        (0, 0, 0)
    );
    assert_eq!(store.queue(TOPIC, 1).map(|q| q.max_offset()), Some(0));
    assert_eq!(store.max_phy_offset(), 0);
}

#[test]
fn clean_expired_deletes_old_files_but_never_the_last() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(dir.path());
    dispatch_all(&store, &requests(30));
    let q = store.queue(TOPIC, 0).expect("queue");
    let qdir = queue_dir(dir.path(), 0);

    assert_eq!(
        store.clean_expired(700).expect("clean"),
        0,
        "unit 7 still there"
    );
    assert_eq!(q.min_offset(), 7);
    assert_eq!(store.clean_expired(1700).expect("clean"), 2);
    assert_eq!(
        file_names(&qdir),
        ["00000000000000000320", "00000000000000000480"]
    );
    assert_eq!((q.min_offset(), q.max_offset()), (17, 30));
    assert_eq!(q.unit(16), None);
    assert_eq!(q.unit(17).map(|u| u.commit_log_offset), Some(1700));
    assert_eq!(q.units(10, 5), []);

    assert_eq!(store.clean_expired(10_000).expect("clean"), 1);
    assert_eq!(file_names(&qdir), ["00000000000000000480"]);
    assert_eq!(
        (q.min_offset(), q.max_offset()),
        (30, 30),
        "nothing left to read"
    );
    assert_eq!(q.unit(29), None);

    // After a reload the min offset comes from the first file until corrected again.
    drop((q, store));
    let store = self::store(dir.path());
    let q = store.queue(TOPIC, 0).expect("queue");
    assert_eq!((q.min_offset(), q.max_offset()), (24, 30));
    store.correct_min_offsets(2500);
    assert_eq!(q.min_offset(), 25);
    store.correct_min_offsets(0);
    assert_eq!(q.min_offset(), 25, "never lowered");
    assert_eq!(store.clean_expired(10_000).expect("clean"), 0);
    assert_eq!(q.min_offset(), 30);
}

#[test]
fn truncating_below_a_raised_min_offset_empties_the_queue() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(dir.path());
    dispatch_all(&store, &requests(30));
    assert_eq!(store.clean_expired(1700).expect("clean"), 2);
    store.truncate_from(1000).expect("truncate");
    let q = store.queue(TOPIC, 0).expect("queue");
    assert_eq!(
        (q.min_offset(), q.max_offset(), q.max_phy_offset()),
        (16, 16, 0)
    );
    assert_eq!(
        file_names(&queue_dir(dir.path(), 0)),
        ["00000000000000000320"]
    );
}

#[test]
fn offset_by_time_finds_apaches_lower_and_upper_bounds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(dir.path());
    dispatch_all(&store, &requests(20));
    let q = store.queue(TOPIC, 0).expect("queue");
    // Unit i is stored at 1000 + (i / 3) * 10: runs of three equal times, one of them (units
    // 6, 7, 8) across the first file boundary.
    let time = |offset: i64| Some(1000 + (offset / 100) / 3 * 10);
    let at = |ts: i64, b: TimeBoundary| q.offset_by_time(ts, b, time);
    use TimeBoundary::{Lower, Upper};
    assert_eq!((at(1010, Lower), at(1010, Upper)), (3, 5));
    assert_eq!(
        (at(1020, Lower), at(1020, Upper)),
        (6, 8),
        "run across files"
    );
    assert_eq!((at(1025, Lower), at(1025, Upper)), (9, 8), "between runs");
    assert_eq!((at(1050, Lower), at(1050, Upper)), (15, 17));
    assert_eq!((at(1060, Lower), at(1060, Upper)), (18, 19));
    assert_eq!(
        (at(999, Lower), at(999, Upper)),
        (0, 0),
        "before everything"
    );
    assert_eq!(
        (at(5000, Lower), at(5000, Upper)),
        (20, 19),
        "after everything"
    );

    // Records gone from the commitlog count as older than any time.
    let gone_below_300 = |offset: i64| (offset >= 300).then(|| time(offset)).flatten();
    assert_eq!(q.offset_by_time(1000, Lower, gone_below_300), 3);
    // Units below the min offset are never looked at.
    store.clean_expired(1300).expect("clean");
    assert_eq!(q.min_offset(), 13);
    assert_eq!(at(1000, Lower), 13);
    assert_eq!(at(1000, Upper), 0);
    assert_eq!(at(1040, Upper), 14);

    store.dispatch(&req(1, 0, 1, 0)).expect("dispatch");
    store.truncate_from(0).expect("truncate");
    let empty = store.queue(TOPIC, 1).expect("queue 1");
    assert_eq!(empty.offset_by_time(1000, Lower, time), 0);
}

#[test]
fn delete_topic_and_destroy_all_remove_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(dir.path());
    dispatch_all(&store, &requests(10));
    let mut other = req(2, 5000, 10, 0);
    other.topic = "Other".to_owned();
    store.dispatch(&other).expect("dispatch");
    let held = store.queue(TOPIC, 0).expect("queue");

    store.delete_topic(TOPIC).expect("delete");
    assert!(store.queue(TOPIC, 0).is_none());
    assert_eq!(store.topics(), ["Other"]);
    assert!(!dir.path().join(TOPIC).exists());
    assert_eq!(held.unit(0), None, "a deleted queue serves nothing");
    drop(store);
    let store = self::store(dir.path());
    assert_eq!(store.topics(), ["Other"]);
    assert_eq!(store.max_phy_offset(), 5010);

    store.destroy_all().expect("destroy");
    assert!(store.topics().is_empty());
    assert_eq!(store.max_phy_offset(), 0);
    assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 0);
    // Dispatch starts over.
    store.dispatch(&req(0, 0, 10, 0)).expect("dispatch");
    assert_eq!(store.next_offsets(), [(TOPIC.to_owned(), 0, 1)]);
}

#[test]
fn load_ignores_strays_and_rejects_bad_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join(TOPIC).join("not-a-queue")).expect("mkdir");
    std::fs::write(dir.path().join("stray-file"), b"x").expect("write");
    let store = store(dir.path());
    assert!(store.topics().is_empty());
    let mut bad = req(0, 0, 10, 0);
    bad.topic = "../escape".to_owned();
    assert!(store.dispatch(&bad).is_err());
    drop(store);

    let qdir = queue_dir(dir.path(), 0);
    std::fs::create_dir_all(&qdir).expect("mkdir");
    // A short file that holds data is corrupt ...
    std::fs::write(qdir.join("00000000000000000000"), [1u8; 100]).expect("write");
    assert!(
        ConsumeQueueStore::load(dir.path(), FILE_SIZE).is_err(),
        "file size mismatch"
    );
    // ... while a short all-zero last file is an allocation cut short by a crash: dropped.
    std::fs::write(qdir.join("00000000000000000000"), [0u8; 100]).expect("write");
    let store = ConsumeQueueStore::load(dir.path(), FILE_SIZE).expect("unfinished file dropped");
    assert_eq!(
        store.queue(TOPIC, 0).map(|q| q.max_offset()).unwrap_or(0),
        0
    );
    assert!(!qdir.join("00000000000000000000").exists());
}

#[test]
fn readers_see_consistent_units_while_dispatching() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(dir.path());
    store.dispatch(&req(0, 0, 100, 0)).expect("dispatch");
    let q = store.queue(TOPIC, 0).expect("queue");
    std::thread::scope(|s| {
        let reader = s.spawn(|| {
            let mut seen = 0;
            while seen < 500 {
                let max = q.max_offset();
                for o in seen..max {
                    let u = q.unit(o).expect("published unit");
                    assert_eq!(u.commit_log_offset, o * 100);
                }
                seen = max;
            }
        });
        for i in 1..500 {
            store
                .dispatch(&req(0, i * 100, 100, i as i64))
                .expect("dispatch");
            if i % 50 == 0 {
                store.flush().expect("flush");
            }
        }
        reader.join().expect("reader");
    });
}

#[test]
fn names_that_cannot_be_a_queue_directory_are_refused_permanently_without_touching_the_disk() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("consumequeue");
    let store = store(&dir);
    let long = "x".repeat(256);
    for (topic, queue_id) in [
        ("a/b", 0),
        ("../escape", 0),
        ("..", 0),
        (".", 0),
        ("", 0),
        ("nul\0", 0),
        ("back\\slash", 0),
        (long.as_str(), 0),
        (TOPIC, -1),
    ] {
        let r = DispatchRequest {
            topic: topic.to_owned(),
            ..req(queue_id, 0, 100, 0)
        };
        let e = store.dispatch(&r).expect_err(topic);
        assert!(!e.is_transient(), "{topic:?}/{queue_id}: {e}");
        assert!(store.queue(topic, queue_id).is_none());
    }
    assert!(!dir.exists(), "nothing was created");
    assert!(!tmp.path().join("escape").exists());
    let ok = DispatchRequest {
        topic: "x".repeat(255),
        ..req(0, 0, 100, 0)
    };
    store.dispatch(&ok).expect("255 bytes is a legal name");
}
