//! The commitlog on real files: appends, roll-over with Apache's blank record, reads, recovery
//! of a torn tail, and flush tickets.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;

use bytes::Bytes;
use ferromq_protocol::message::{decode_all, property, DecodeOptions, MessageExt, Properties};
use ferromq_store::commit_log::{CommitLog, Scan};
use ferromq_store::flush::FlushOutcome;
use ferromq_store::{FlushDiskType, StoreConfig};

fn config(dir: &std::path::Path, file_size: u64, flush: FlushDiskType) -> StoreConfig {
    StoreConfig {
        mapped_file_size_commit_log: file_size,
        flush_disk_type: flush,
        ..StoreConfig::with_root(dir)
    }
}

fn message(topic: &str, queue_id: i32, body: &[u8], key: &str) -> MessageExt {
    let mut properties = Properties::new();
    properties.insert(property::KEYS, key);
    properties.insert(property::TAGS, "TagA");
    let host: SocketAddr = "127.0.0.1:10911".parse().unwrap();
    MessageExt {
        topic: topic.to_owned(),
        queue_id,
        body: Bytes::copy_from_slice(body),
        properties,
        born_host: "10.0.0.1:5000".parse().unwrap(),
        store_host: host,
        born_timestamp: 1_700_000_000_000,
        ..MessageExt::default()
    }
}

#[test]
fn appends_roll_with_a_blank_record_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let log = CommitLog::load(&config(dir.path(), 1024, FlushDiskType::AsyncFlush)).unwrap();
    let mut offsets = Vec::new();
    for i in 0..20 {
        let r = log
            .append(&message(
                "T",
                i % 2,
                &[b'a' + i as u8; 100],
                &format!("k{i}"),
            ))
            .unwrap();
        assert_eq!(
            r.queue_offset,
            i64::from(i / 2),
            "queue offsets count per queue"
        );
        offsets.push((r.commit_log_offset, r.bytes));
    }
    // Records never span files: each starts and ends inside one 1024-byte file.
    for (off, len) in &offsets {
        assert_eq!(off / 1024, (off + *len as u64 - 1) / 1024);
    }
    assert!(log.files().files().len() > 1);
    // Every record reads back byte-exact with its assigned offsets and a valid CRC.
    for (i, (off, len)) in offsets.iter().enumerate() {
        let bytes = log.read_record(*off).unwrap();
        assert_eq!(bytes.len(), *len);
        let opts = DecodeOptions {
            verify_crc: true,
            ..DecodeOptions::store()
        };
        let m = decode_all(&bytes, &opts).unwrap().remove(0);
        assert_eq!(m.commit_log_offset, *off as i64);
        assert_eq!(m.queue_offset, i as i64 / 2);
        assert_eq!(&m.body[..], &[b'a' + i as u8; 100][..]);
        assert_eq!(
            m.properties.keys().collect::<Vec<_>>(),
            [format!("k{i}").as_str()]
        );
        assert!(m.store_timestamp > 0);
    }
    // The first file ends with Apache's blank marker where the next record did not fit.
    let first_end = offsets
        .iter()
        .take_while(|(o, _)| *o < 1024)
        .map(|(o, l)| o + *l as u64)
        .last()
        .unwrap();
    assert!(matches!(log.scan(first_end, true), Scan::EndOfFile));
    let head = log.read(first_end, 8).unwrap();
    assert_eq!(&head[4..8], &0xCBD4_3194u32.to_be_bytes());
    assert_eq!(
        u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as u64,
        1024 - first_end
    );
}

#[test]
fn recovery_truncates_a_torn_tail_and_keeps_queue_offsets_contiguous() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), 4096, FlushDiskType::AsyncFlush);
    let ends: Vec<u64> = {
        let log = CommitLog::load(&cfg).unwrap();
        (0..10)
            .map(|i| {
                log.append(&message("T", 0, &[i; 50], "k"))
                    .unwrap()
                    .end_offset()
            })
            .collect()
    };
    // Tear the last record: flip one body byte so its CRC fails.
    let path = dir.path().join("commitlog").join("00000000000000000000");
    let mut raw = std::fs::read(&path).unwrap();
    let last_start = ends[8] as usize;
    raw[ends[9] as usize - 60] ^= 0xFF;
    std::fs::write(&path, &raw).unwrap();

    let log = CommitLog::load(&cfg).unwrap();
    let mut seen = Vec::new();
    let end = log
        .recover(0, true, 0, false, |r| seen.push(r.queue_offset))
        .unwrap();
    assert_eq!(end, last_start as u64, "recovery stops at the torn record");
    assert_eq!(seen, (0..9).collect::<Vec<i64>>());
    assert_eq!(log.max_offset(), end);
    // The torn bytes are zeroed, and new appends continue from the end.
    log.set_queue_offset("T", 0, 9);
    let r = log.append(&message("T", 0, b"after", "k")).unwrap();
    assert_eq!((r.commit_log_offset, r.queue_offset), (end, 9));
    let again = CommitLog::load(&cfg).unwrap();
    let mut n = 0;
    assert_eq!(
        again.recover(0, true, 0, false, |_| n += 1).unwrap(),
        r.end_offset()
    );
    assert_eq!(n, 10);
}

#[test]
fn sync_flush_tickets_complete_after_a_sync() {
    let dir = tempfile::tempdir().unwrap();
    let log = std::sync::Arc::new(
        CommitLog::load(&config(dir.path(), 1 << 20, FlushDiskType::SyncFlush)).unwrap(),
    );
    let flusher = log.clone();
    let thread = std::thread::spawn(move || flusher.flusher().run(flusher.files()));
    let mut tickets = Vec::new();
    for i in 0..32 {
        let r = log.append(&message("T", 0, &[i; 10], "k")).unwrap();
        tickets.push((r.end_offset(), log.flush_ticket(r.end_offset())));
    }
    for (end, t) in &tickets {
        assert_eq!(t.wait(), FlushOutcome::Flushed);
        assert!(log.flushed_offset() >= *end);
    }
    let stats = log.flusher().stats();
    let syncs = stats.syncs.load(std::sync::atomic::Ordering::Relaxed);
    assert!((1..=32).contains(&syncs), "{syncs} syncs");
    assert_eq!(stats.acked.load(std::sync::atomic::Ordering::Relaxed), 32);
    log.flusher().stop();
    thread.join().unwrap();
    // After stop, a new ticket cannot be served and says so rather than claiming success.
    let r = log.append(&message("T", 0, b"late", "k")).unwrap();
    let t = log.flush_ticket(r.end_offset());
    assert_eq!(t.wait(), FlushOutcome::TimedOut);
}

#[test]
fn illegal_messages_are_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), 1 << 20, FlushDiskType::AsyncFlush);
    cfg.max_message_size = 1000;
    let log = CommitLog::load(&cfg).unwrap();
    let err = log.append(&message("T", 0, &[0; 1001], "k")).unwrap_err();
    assert!(err.to_string().contains("maxMessageSize"), "{err}");
    let mut huge_props = message("T", 0, b"x", "k");
    huge_props.properties.insert("big", "v".repeat(40_000));
    assert!(log
        .append(&huge_props)
        .unwrap_err()
        .to_string()
        .contains("properties"));
    assert!(log.append(&message("", 0, b"x", "k")).is_err());
    let mixed = [message("T", 0, b"a", "k"), message("T", 1, b"b", "k")];
    assert!(log
        .append_batch(&mixed)
        .unwrap_err()
        .to_string()
        .contains("one topic and queue"));
    assert_eq!(log.max_offset(), 0, "nothing written half-way");
}
