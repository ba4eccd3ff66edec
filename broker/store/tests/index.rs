//! The key index against Apache's `IndexFile` format and query rules (docs/store.md, "Index
//! files").
//!
//! Files here use 64 slots and 32 entries (936 bytes; 31 usable entries per file). Each dispatch
//! is followed by `end_of_pass`, as the store's dispatcher ends each pass: the index gathers its
//! writes until then.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use ferromq_protocol::message::{sysflag, tag_hash_code};
use ferromq_store::commit_log::DispatchRequest;
use ferromq_store::index::{index_key_hash, IndexService, QueryOffsetResult};

const SLOTS: u32 = 64;
const ENTRIES: u32 = 32;
const FILE_SIZE: usize = 40 + 64 * 4 + 32 * 20;
const BASE_TS: i64 = 1_700_000_000_000;

fn req(
    topic: &str,
    offset: u64,
    ts: i64,
    uniq: Option<&str>,
    keys: Option<&str>,
) -> DispatchRequest {
    DispatchRequest {
        topic: topic.to_owned(),
        queue_id: 0,
        commit_log_offset: offset,
        size: 100,
        queue_offset: 0,
        tags_code: 0,
        store_timestamp: ts,
        sys_flag: 0,
        uniq_key: uniq.map(str::to_owned),
        keys: keys.map(str::to_owned),
        prepared_transaction_offset: 0,
    }
}

fn open(dir: &Path) -> IndexService {
    IndexService::load(dir, SLOTS, ENTRIES, true, 0).expect("load index")
}

/// `(name, bytes)` of every file in `dir`, by name.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .expect("list")
        .map(|e| {
            let e = e.expect("entry");
            (
                e.file_name().into_string().expect("utf-8 name"),
                std::fs::read(e.path()).expect("read"),
            )
        })
        .collect();
    v.sort();
    v
}

fn be_i32(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn be_i64(b: &[u8], at: usize) -> i64 {
    i64::from_be_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn offsets(r: &QueryOffsetResult) -> Vec<i64> {
    r.phy_offsets.clone()
}

/// Message `i` of the standard workload: offset `i*100`, stored `i` seconds after `BASE_TS`,
/// UNIQ_KEY `U<i>`, KEYS `k<i%3>` (two entries per message).
fn workload(index: &IndexService, range: std::ops::Range<u64>) {
    for i in range {
        let ts = BASE_TS + i64::try_from(i).expect("small") * 1000;
        let key = format!("k{}", i % 3);
        index
            .dispatch(&req("T", i * 100, ts, Some(&format!("U{i}")), Some(&key)))
            .expect("dispatch");
        index.end_of_pass().expect("end of pass");
    }
}

fn query_all(index: &IndexService, key: &str) -> Vec<i64> {
    offsets(&index.query("T", key, 1000, 0, i64::MAX))
}

#[test]
fn golden_layout_matches_apache() {
    let dir = tempfile::tempdir().expect("tempdir");
    let index = open(dir.path());
    let ts1 = 1_700_000_000_123;
    index
        .dispatch(&req("TopicTest", 1234, ts1, None, Some("k1")))
        .expect("dispatch");
    index.end_of_pass().expect("end of pass");
    index
        .dispatch(&req("TopicTest", 2000, ts1 + 5_500, None, Some("k1")))
        .expect("dispatch");
    index.end_of_pass().expect("end of pass");
    index.flush().expect("flush");

    let all = files(dir.path());
    assert_eq!(all.len(), 1);
    let (name, bytes) = &all[0];
    assert_eq!(name.len(), 17);
    assert!(name.bytes().all(|b| b.is_ascii_digit()), "{name}");
    assert_eq!(bytes.len(), FILE_SIZE);

    // "TopicTest#k1".hashCode() = 2746024 = 0x0029E6A8; 2746024 % 64 = 40.
    assert_eq!(index_key_hash("TopicTest#k1"), 2_746_024);
    let header = hex(
        "0000018BCFE5687B 0000018BCFE57DF7 00000000000004D2 00000000000007D0 00000001 00000003",
    );
    assert_eq!(&bytes[..40], &header[..], "header");
    let slot = 40 + 40 * 4;
    assert_eq!(
        &bytes[slot..slot + 4],
        &hex("00000002")[..],
        "slot 40 -> entry 2"
    );
    let entries = 40 + 64 * 4;
    assert_eq!(
        &bytes[entries..entries + 20],
        &[0u8; 20][..],
        "entry 0 unused"
    );
    assert_eq!(
        &bytes[entries + 20..entries + 40],
        &hex("0029E6A8 00000000000004D2 00000000 00000000")[..],
        "entry 1: hash, offset, 0 s, no previous"
    );
    assert_eq!(
        &bytes[entries + 40..entries + 60],
        &hex("0029E6A8 00000000000007D0 00000005 00000001")[..],
        "entry 2: 5.5 s later -> 5, previous entry 1"
    );
    let others = bytes[40..entries]
        .chunks(4)
        .enumerate()
        .filter(|(i, s)| *i != 40 && s.iter().any(|b| *b != 0))
        .count();
    assert_eq!(others, 0, "no other slot written");
    assert!(bytes[entries + 60..].iter().all(|b| *b == 0));
}

#[test]
fn reads_a_fresh_apache_file_with_index_count_zero() {
    // Apache writes the header only with the first entry, so a new file is all zeros.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("20240101000000000"), vec![0u8; FILE_SIZE]).expect("write");
    let index = open(dir.path());
    index
        .dispatch(&req("T", 10, BASE_TS, None, Some("a")))
        .expect("dispatch");
    index.end_of_pass().expect("end of pass");
    let all = files(dir.path());
    assert_eq!(all.len(), 1, "the existing file is used");
    assert_eq!(be_i32(&all[0].1, 36), 2, "entry 1 written, indexCount 2");
    assert_eq!(query_all(&index, "a"), vec![10]);
}

#[test]
fn java_min_value_hash_maps_to_slot_zero() {
    assert_eq!(tag_hash_code("T#jllgvmc"), i32::MIN);
    assert_eq!(index_key_hash("T#jllgvmc"), 0);
    let dir = tempfile::tempdir().expect("tempdir");
    let index = open(dir.path());
    index
        .dispatch(&req("T", 77, BASE_TS, None, Some("jllgvmc")))
        .expect("dispatch");
    index.end_of_pass().expect("end of pass");
    let bytes = &files(dir.path())[0].1;
    assert_eq!(be_i32(bytes, 40), 1, "slot 0 holds entry 1");
    let entry = 40 + 64 * 4 + 20;
    assert_eq!(be_i32(bytes, entry), 0, "stored hash is 0");
    assert_eq!(be_i64(bytes, entry + 4), 77);
    assert_eq!(query_all(&index, "jllgvmc"), vec![77]);
}

#[test]
fn queries_by_key_and_uniq_key_within_a_time_range() {
    let dir = tempfile::tempdir().expect("tempdir");
    let index = open(dir.path());
    for i in 0..5u64 {
        let ts = BASE_TS + i64::try_from(i).expect("small") * 10_000;
        let keys = format!("order-{} common", i % 2);
        index
            .dispatch(&req("T", i * 100, ts, Some(&format!("U{i}")), Some(&keys)))
            .expect("dispatch");
        index.end_of_pass().expect("end of pass");
    }
    index
        .dispatch(&req("Other", 900, BASE_TS + 40_000, None, Some("common")))
        .expect("dispatch");
    index.end_of_pass().expect("end of pass");

    assert_eq!(query_all(&index, "common"), vec![400, 300, 200, 100, 0]);
    assert_eq!(query_all(&index, "order-1"), vec![300, 100]);
    assert_eq!(query_all(&index, "U3"), vec![300]);
    assert_eq!(query_all(&index, "missing"), Vec::<i64>::new());
    assert_eq!(
        offsets(&index.query("Other", "common", 64, 0, i64::MAX)),
        vec![900]
    );

    let r = index.query("T", "common", 64, BASE_TS + 20_000, BASE_TS + 40_000);
    assert_eq!(r.phy_offsets, vec![400, 300, 200], "inclusive time range");
    let r = index.query("T", "common", 64, BASE_TS + 15_000, BASE_TS + 25_000);
    assert_eq!(r.phy_offsets, vec![200]);
    let r = index.query("T", "common", 2, 0, i64::MAX);
    assert_eq!(
        r.phy_offsets,
        vec![400, 300],
        "capped at max_num, newest first"
    );
    assert!(index
        .query("T", "common", 0, 0, i64::MAX)
        .phy_offsets
        .is_empty());
    assert_eq!(r.index_last_update_timestamp, BASE_TS + 40_000);
    assert_eq!(r.index_last_update_phyoffset, 900);
    assert_eq!(index.last_update(), (BASE_TS + 40_000, 900));
}

#[test]
fn hash_collisions_follow_the_chain_and_compare_hashes() {
    // Different hashes, same slot: 78715155 % 64 == 78715219 % 64 == 19.
    assert_ne!(index_key_hash("T#c10"), index_key_hash("T#c32"));
    assert_eq!(index_key_hash("T#c10") % 64, 19);
    assert_eq!(index_key_hash("T#c32") % 64, 19);
    // Same hash: "Aa".hashCode() == "BB".hashCode().
    assert_eq!(index_key_hash("T#Aa"), index_key_hash("T#BB"));

    let dir = tempfile::tempdir().expect("tempdir");
    let index = open(dir.path());
    for (offset, key) in [
        (100, "c10"),
        (200, "c32"),
        (300, "c10"),
        (400, "Aa"),
        (500, "BB"),
    ] {
        index
            .dispatch(&req("T", offset, BASE_TS + offset as i64, None, Some(key)))
            .expect("dispatch");
        index.end_of_pass().expect("end of pass");
    }
    assert_eq!(
        query_all(&index, "c10"),
        vec![300, 100],
        "c32 skipped in the chain"
    );
    assert_eq!(query_all(&index, "c32"), vec![200]);
    assert_eq!(
        query_all(&index, "Aa"),
        vec![500, 400],
        "an equal hash is a candidate; the caller re-checks keys"
    );
    assert_eq!(query_all(&index, "BB"), vec![500, 400]);

    let bytes = &files(dir.path())[0].1;
    let entries = 40 + 64 * 4;
    assert_eq!(be_i32(bytes, 40 + 19 * 4), 3, "slot 19 -> entry 3");
    assert_eq!(
        be_i32(bytes, entries + 3 * 20 + 16),
        2,
        "entry 3 -> entry 2"
    );
    assert_eq!(
        be_i32(bytes, entries + 2 * 20 + 16),
        1,
        "entry 2 -> entry 1"
    );
    assert_eq!(be_i32(bytes, 32), 2, "hashSlotCount: slots 19 and Aa's");
}

#[test]
fn rolls_over_and_queries_span_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let index = open(dir.path());
    workload(&index, 0..100);
    index.flush().expect("flush");

    let all = files(dir.path());
    assert_eq!(all.len(), 7, "200 entries at 31 per file");
    let names: Vec<&String> = all.iter().map(|(n, _)| n).collect();
    assert!(names.windows(2).all(|w| w[0] < w[1]), "{names:?}");
    for (i, (_, bytes)) in all.iter().enumerate() {
        assert_eq!(bytes.len(), FILE_SIZE);
        let count = be_i32(bytes, 36);
        assert_eq!(count, if i < 6 { 32 } else { 200 - 6 * 31 + 1 });
        if i > 0 {
            let prev = &all[i - 1].1;
            assert!(
                be_i64(bytes, 16) >= be_i64(prev, 24),
                "begin offset >= previous end"
            );
            assert!(
                be_i64(bytes, 0) >= be_i64(prev, 8),
                "begin time >= previous end"
            );
        }
    }

    let k0: Vec<i64> = (0..100)
        .rev()
        .filter(|i| i % 3 == 0)
        .map(|i| i * 100)
        .collect();
    assert_eq!(query_all(&index, "k0"), k0);
    for i in 0..100i64 {
        assert_eq!(query_all(&index, &format!("U{i}")), vec![i * 100], "U{i}");
    }
    let r = index.query("T", "k1", 64, BASE_TS + 40_000, BASE_TS + 60_000);
    let want: Vec<i64> = (40..=60)
        .rev()
        .filter(|i| i % 3 == 1)
        .map(|i| i * 100)
        .collect();
    assert_eq!(r.phy_offsets, want);
    assert_eq!(index.last_update(), (BASE_TS + 99_000, 9_900));
    assert_eq!(
        index.flushed_index_timestamp(),
        be_i64(&all[5].1, 8),
        "end time of the newest full file"
    );
}

#[test]
fn reload_after_clean_exit_gives_the_same_answers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keys: Vec<String> = ["k0", "k1", "k2", "U0", "U42", "U99"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let before: Vec<Vec<i64>> = {
        let index = open(dir.path());
        workload(&index, 0..100);
        index.flush().expect("flush");
        keys.iter().map(|k| query_all(&index, k)).collect()
    };
    let index = open(dir.path());
    let after: Vec<Vec<i64>> = keys.iter().map(|k| query_all(&index, k)).collect();
    assert_eq!(before, after);
    assert_eq!(index.last_update(), (BASE_TS + 99_000, 9_900));

    workload(&index, 100..101);
    assert_eq!(files(dir.path()).len(), 7, "continues in the last file");
    assert_eq!(query_all(&index, "U100"), vec![10_000]);
    assert_eq!(query_all(&index, "k1")[..2], [10_000, 9_700]);
}

#[test]
fn abnormal_exit_deletes_files_newer_than_the_checkpoint() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let index = open(dir.path());
        workload(&index, 0..100);
    }
    let all = files(dir.path());
    assert_eq!(all.len(), 7);
    let checkpoint = be_i64(&all[2].1, 8);
    let kept_end = be_i64(&all[2].1, 24);

    // A clean exit keeps everything whatever the checkpoint says.
    assert_eq!(
        IndexService::load(dir.path(), SLOTS, ENTRIES, true, checkpoint)
            .expect("load")
            .last_update(),
        (BASE_TS + 99_000, 9_900)
    );

    let index = IndexService::load(dir.path(), SLOTS, ENTRIES, false, checkpoint).expect("load");
    assert_eq!(
        files(dir.path()).len(),
        3,
        "files 4..7 end after the checkpoint"
    );
    assert_eq!(index.last_update(), (checkpoint, kept_end));
    assert_eq!(index.flushed_index_timestamp(), checkpoint);
    assert_eq!(query_all(&index, "U0"), vec![0]);
    assert!(query_all(&index, "U99").is_empty());

    // Recovery re-dispatches from before the surviving end: everything is back, once.
    workload(&index, 30..100);
    for i in 0..100i64 {
        assert_eq!(query_all(&index, &format!("U{i}")), vec![i * 100], "U{i}");
    }
    let k2: Vec<i64> = (0..100)
        .rev()
        .filter(|i| i % 3 == 2)
        .map(|i| i * 100)
        .collect();
    assert_eq!(query_all(&index, "k2"), k2);
}

#[test]
fn delete_expired_never_deletes_the_last_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let index = open(dir.path());
    workload(&index, 0..100);
    let all = files(dir.path());
    let end_of_second = u64::try_from(be_i64(&all[1].1, 24)).expect("positive");

    assert_eq!(index.delete_expired(0).expect("delete"), 0);
    assert_eq!(
        index.delete_expired(end_of_second).expect("delete"),
        1,
        "end == min stays"
    );
    assert_eq!(index.delete_expired(end_of_second + 1).expect("delete"), 1);
    let left = files(dir.path());
    assert_eq!(left.len(), 5);
    assert_eq!(left[0].0, all[2].0, "the oldest files went");
    assert!(query_all(&index, "U0").is_empty());

    assert_eq!(index.delete_expired(u64::MAX).expect("delete"), 4);
    assert_eq!(index.delete_expired(u64::MAX).expect("delete"), 0);
    let left = files(dir.path());
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].0, all[6].0, "the newest file stays");
    assert_eq!(query_all(&index, "U99"), vec![9_900]);
}

#[test]
fn re_dispatch_is_idempotent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let index = open(dir.path());
    workload(&index, 0..100);
    index
        .dispatch(&req(
            "T",
            10_000,
            BASE_TS + 100_000,
            Some("last"),
            Some("k0 k0 x"),
        ))
        .expect("dispatch");
    index.end_of_pass().expect("end of pass");
    let before = files(dir.path());

    // Replays (abnormal recovery) of everything, and of the newest record alone.
    workload(&index, 0..100);
    for _ in 0..2 {
        index
            .dispatch(&req(
                "T",
                10_000,
                BASE_TS + 100_000,
                Some("last"),
                Some("k0 k0 x"),
            ))
            .expect("dispatch");
        index.end_of_pass().expect("end of pass");
    }
    assert_eq!(files(dir.path()), before, "nothing written again");

    let k0 = query_all(&index, "k0");
    assert_eq!(
        k0.len(),
        BTreeSet::from_iter(&k0).len(),
        "no duplicates: {k0:?}"
    );
    assert_eq!(k0[..2], [10_000, 9_900]);
    assert_eq!(query_all(&index, "last"), vec![10_000]);
    assert_eq!(query_all(&index, "x"), vec![10_000]);
}

#[test]
fn duplicates_across_a_rollover_are_reported_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let index = open(dir.path());
    // 30 entries, then one message with three keys straddles the end of the first file.
    for i in 0..30u64 {
        index
            .dispatch(&req("T", i, BASE_TS, None, Some("fill")))
            .expect("dispatch");
        index.end_of_pass().expect("end of pass");
    }
    let straddle = req("T", 30, BASE_TS + 1_000, None, Some("a b"));
    index.dispatch(&straddle).expect("dispatch");
    index.end_of_pass().expect("end of pass");
    let all = files(dir.path());
    assert_eq!(all.len(), 2);
    assert_eq!(be_i32(&all[1].1, 36), 2, "b went to the new file");
    // A crash replay of the straddling record indexes "a" again, in the new file.
    index.dispatch(&straddle).expect("dispatch");
    index.end_of_pass().expect("end of pass");
    assert_eq!(be_i32(&files(dir.path())[1].1, 36), 3, "a written again");
    assert_eq!(query_all(&index, "a"), vec![30]);
    assert_eq!(query_all(&index, "b"), vec![30]);
}

#[test]
fn rolled_back_transactions_are_not_indexed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let index = open(dir.path());
    let mut r = req("T", 100, BASE_TS, Some("rb"), Some("rb-key"));
    r.sys_flag = sysflag::TRANSACTION_ROLLBACK_TYPE;
    index.dispatch(&r).expect("dispatch");
    index.end_of_pass().expect("end of pass");
    assert!(files(dir.path()).is_empty(), "no file for nothing to index");
    for (offset, flag) in [
        (200, sysflag::TRANSACTION_PREPARED_TYPE),
        (300, sysflag::TRANSACTION_COMMIT_TYPE),
    ] {
        let mut r = req("T", offset, BASE_TS, Some("tx"), None);
        r.sys_flag = flag;
        index.dispatch(&r).expect("dispatch");
        index.end_of_pass().expect("end of pass");
    }
    assert!(query_all(&index, "rb").is_empty());
    assert!(query_all(&index, "rb-key").is_empty());
    assert_eq!(query_all(&index, "tx"), vec![300, 200]);
}

#[test]
fn queries_run_while_dispatching() {
    let dir = tempfile::tempdir().expect("tempdir");
    let index = Arc::new(open(dir.path()));
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let (index, done) = (index.clone(), done.clone());
            std::thread::spawn(move || {
                let mut rounds = 0;
                while !done.load(Ordering::Acquire) || rounds == 0 {
                    let got = index.query("T", "hot", 64, 0, i64::MAX).phy_offsets;
                    assert!(got.windows(2).all(|w| w[0] > w[1]), "{got:?}");
                    assert!(got.iter().all(|o| o % 7 == 0), "{got:?}");
                    rounds += 1;
                }
            })
        })
        .collect();
    for i in 0..500u64 {
        index
            .dispatch(&req(
                "T",
                i * 7,
                BASE_TS + i64::try_from(i).expect("small"),
                None,
                Some("hot"),
            ))
            .expect("dispatch");
        index.end_of_pass().expect("end of pass");
    }
    done.store(true, Ordering::Release);
    for r in readers {
        r.join().expect("reader");
    }
    let newest: Vec<i64> = (436..500).rev().map(|i| i * 7).collect();
    assert_eq!(index.query("T", "hot", 64, 0, i64::MAX).phy_offsets, newest);
}

#[test]
fn destroy_all_then_start_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let index = open(dir.path());
    workload(&index, 0..40);
    index.destroy_all().expect("destroy");
    assert!(files(dir.path()).is_empty());
    assert_eq!(index.last_update(), (0, 0));
    assert_eq!(
        index.query("T", "U1", 64, 0, i64::MAX),
        QueryOffsetResult::default()
    );
    workload(&index, 0..1);
    assert_eq!(query_all(&index, "U0"), vec![0]);
}

#[test]
fn load_checks_sizes_and_settings() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let index = open(dir.path());
        workload(&index, 0..1);
    }
    assert!(
        IndexService::load(dir.path(), SLOTS * 2, ENTRIES, true, 0).is_err(),
        "a file of another size is reported"
    );
    assert!(IndexService::load(dir.path(), 0, ENTRIES, true, 0).is_err());
    assert!(IndexService::load(dir.path(), SLOTS, 1, true, 0).is_err());

    // An empty file (creation cut short) is removed; other names are left alone.
    std::fs::write(dir.path().join("20990101000000000"), b"").expect("write");
    std::fs::write(dir.path().join("notes.txt"), b"hi").expect("write");
    let index = open(dir.path());
    assert_eq!(query_all(&index, "U0"), vec![0]);
    let names: Vec<String> = files(dir.path()).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"notes.txt".to_owned()));
    assert!(!names.contains(&"20990101000000000".to_owned()));
}

#[test]
fn default_size_files_are_sparse() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let index = IndexService::load(dir.path(), 5_000_000, 20_000_000, true, 0).expect("load");
    index
        .dispatch(&req("T", 0, BASE_TS, Some("u"), Some("k")))
        .expect("dispatch");
    index.end_of_pass().expect("end of pass");
    index.flush().expect("flush");
    let path = std::fs::read_dir(dir.path())
        .expect("list")
        .next()
        .expect("one file")
        .expect("entry")
        .path();
    let meta = std::fs::metadata(&path).expect("stat");
    assert_eq!(meta.len(), 420_000_040, "Apache's default index file size");
    // The hash slots (20,000,040 bytes with the header) are allocated up front, so that storing
    // into their mapping can never meet a full disk; of the entries only touched pages count.
    assert!(
        meta.blocks() * 512 < 21 << 20,
        "only the slots and touched pages take space: {} bytes",
        meta.blocks() * 512
    );
    assert_eq!(query_all(&index, "u"), vec![0]);
}
