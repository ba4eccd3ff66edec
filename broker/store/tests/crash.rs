//! Crash safety: a writer process appends and prints every acknowledged message; it is killed
//! with SIGKILL at random moments, many times; after each kill the store is opened (a recovery
//! after a crash) and must hold every acknowledged message byte for byte, with contiguous queue
//! offsets and consume queues that agree with the commitlog.
//!
//! Cycles: 20 per flush mode, or `FERROMQ_CRASH_CYCLES`. The writer is this test binary run
//! again with `crash_writer_child` (ignored in normal runs) and `FMQ_CRASH_DIR` set.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferromq_protocol::message::{decode_all, property, DecodeOptions, MessageExt, Properties};
use ferromq_store::store::{AcceptAll, GetMessageStatus, MessageStore, PutStatus};
use ferromq_store::{FlushDiskType, StoreConfig};

const TOPIC: &str = "CrashTopic";
const QUEUES: i32 = 4;
const WRITERS: u64 = 4;

fn config(dir: &Path, mode: FlushDiskType) -> StoreConfig {
    StoreConfig {
        flush_disk_type: mode,
        // Small files so the run crosses many file boundaries.
        mapped_file_size_commit_log: 256 * 1024,
        mapped_file_size_consume_queue: 20 * 500,
        max_hash_slot_num: 1024,
        max_index_num: 4096,
        ..StoreConfig::with_root(dir)
    }
}

fn body(seq: u64) -> Vec<u8> {
    let len = 50 + (seq % 300) as usize;
    (0..len).map(|i| (seq as usize * 31 + i) as u8).collect()
}

fn message(seq: u64) -> MessageExt {
    let mut properties = Properties::new();
    properties.insert(property::KEYS, format!("key-{seq}"));
    properties.insert("seq", seq.to_string());
    let host: SocketAddr = "127.0.0.1:10911".parse().unwrap();
    MessageExt {
        topic: TOPIC.to_owned(),
        queue_id: (seq % QUEUES as u64) as i32,
        body: Bytes::from(body(seq)),
        properties,
        born_host: host,
        store_host: host,
        born_timestamp: 1_700_000_000_000,
        ..MessageExt::default()
    }
}

/// The writer process: appends forever from several threads, printing
/// `ACK <seq> <commitlog offset> <queue id> <queue offset>` after each acknowledgement.
#[test]
#[ignore = "run by the crash tests as a child process"]
fn crash_writer_child() {
    let Ok(dir) = std::env::var("FMQ_CRASH_DIR") else {
        return;
    };
    let mode = match std::env::var("FMQ_CRASH_MODE").as_deref() {
        Ok("SYNC_FLUSH") => FlushDiskType::SyncFlush,
        _ => FlushDiskType::AsyncFlush,
    };
    let start: u64 = std::env::var("FMQ_CRASH_START").unwrap().parse().unwrap();
    let store = MessageStore::open(config(Path::new(&dir), mode)).unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    for w in 0..WRITERS {
        let (store, tx) = (store.clone(), tx.clone());
        std::thread::spawn(move || {
            for i in 0.. {
                let seq = start + i * WRITERS + w;
                let r = store.put_message(&message(seq)).unwrap().wait();
                if r.status == PutStatus::PutOk {
                    let line = format!(
                        "ACK {seq} {} {} {}",
                        r.append.commit_log_offset,
                        seq % QUEUES as u64,
                        r.append.queue_offset
                    );
                    if tx.send(line).is_err() {
                        return;
                    }
                }
            }
        });
    }
    drop(tx);
    let stdout = std::io::stdout();
    for line in rx {
        let mut out = stdout.lock();
        // The line is written only after the store acknowledged the message.
        writeln!(out, "{line}").unwrap();
        out.flush().unwrap();
    }
}

#[derive(Clone, Copy, Debug)]
struct Ack {
    offset: u64,
    queue_id: i32,
    queue_offset: i64,
}

/// xorshift: random kill moments, reproducible from the printed seed.
fn next_rand(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn run_cycle(
    dir: &Path,
    mode: FlushDiskType,
    start: u64,
    kill_after: Duration,
) -> BTreeMap<u64, Ack> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "crash_writer_child",
            "--ignored",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("FMQ_CRASH_DIR", dir)
        .env(
            "FMQ_CRASH_MODE",
            if mode == FlushDiskType::SyncFlush {
                "SYNC_FLUSH"
            } else {
                "ASYNC_FLUSH"
            },
        )
        .env("FMQ_CRASH_START", start.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // Wait for the first acknowledgement (the writer is running), then kill at the chosen moment.
    let mut acks = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let parse = |line: String, acks: &mut BTreeMap<u64, Ack>| {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.first() == Some(&"ACK") && f.len() == 5 {
            acks.insert(
                f[1].parse().unwrap(),
                Ack {
                    offset: f[2].parse().unwrap(),
                    queue_id: f[3].parse().unwrap(),
                    queue_offset: f[4].parse().unwrap(),
                },
            );
        }
    };
    while acks.is_empty() {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("writer acknowledges");
        parse(line, &mut acks);
    }
    let kill_at = Instant::now() + kill_after;
    while let Ok(line) = rx.recv_timeout(kill_at.saturating_duration_since(Instant::now())) {
        parse(line, &mut acks);
        if Instant::now() >= kill_at {
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    for line in rx {
        parse(line, &mut acks);
    }
    reader.join().unwrap();
    acks
}

fn verify(dir: &Path, mode: FlushDiskType, all_acks: &BTreeMap<u64, Ack>) {
    let store = MessageStore::open(config(dir, mode)).unwrap();
    assert!(
        store.recovered_from_crash(),
        "the abort file marks the kill"
    );
    let opts = DecodeOptions {
        verify_crc: true,
        ..DecodeOptions::store()
    };
    // Every acknowledged message is there, byte for byte, where the writer was told it is.
    for (seq, ack) in all_acks {
        let rec = store
            .message_at(ack.offset)
            .unwrap_or_else(|| panic!("acked seq {seq} at {} is gone", ack.offset));
        let m = decode_all(&rec, &opts).unwrap().remove(0);
        assert_eq!(&m.body[..], &body(*seq)[..], "seq {seq} body");
        assert_eq!(m.properties.value("seq"), Some(seq.to_string().as_str()));
        assert_eq!(
            (m.queue_id, m.queue_offset),
            (ack.queue_id, ack.queue_offset),
            "seq {seq} position"
        );
        let unit = store
            .unit(TOPIC, ack.queue_id, ack.queue_offset)
            .expect("consume queue unit");
        assert_eq!(
            unit.commit_log_offset, ack.offset as i64,
            "seq {seq}: consume queue agrees"
        );
    }
    // Every queue is contiguous from 0 and each unit points at its own record.
    for q in 0..QUEUES {
        let max = store.max_offset_in_queue(TOPIC, q);
        let got = store.get_message(TOPIC, q, 0, usize::MAX, usize::MAX, &AcceptAll);
        assert!(
            max == 0 || got.status == GetMessageStatus::Found,
            "queue {q}: {:?}",
            got.status
        );
        for qoff in 0..max {
            let unit = store
                .unit(TOPIC, q, qoff)
                .unwrap_or_else(|| panic!("queue {q} hole at {qoff}"));
            let rec = store
                .message_at(unit.commit_log_offset as u64)
                .expect("record of a unit");
            let m = decode_all(&rec, &opts).unwrap().remove(0);
            assert_eq!(
                (m.topic.as_str(), m.queue_id, m.queue_offset),
                (TOPIC, q, qoff)
            );
            assert_eq!(rec.len() as i32, unit.size);
        }
    }
    // The commitlog reads as one contiguous run of valid records.
    let log = store.commit_log();
    let mut off = log.min_offset();
    while off < log.max_offset() {
        match log.scan(off, true) {
            ferromq_store::commit_log::Scan::Message(r) => off += r.size as u64,
            ferromq_store::commit_log::Scan::EndOfFile => off = log.next_file_start(off),
            ferromq_store::commit_log::Scan::End | ferromq_store::commit_log::Scan::Incomplete => {
                panic!("invalid record at {off} below the end {}", log.max_offset())
            }
        }
    }
    store.shutdown().unwrap();
}

fn crash_cycles(mode: FlushDiskType) {
    let cycles: u64 = std::env::var("FERROMQ_CRASH_CYCLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let dir = tempfile::tempdir().unwrap();
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!("crash test {mode:?}: {cycles} cycles, seed {seed}");
    let mut all = BTreeMap::new();
    for cycle in 0..cycles {
        let kill_after = Duration::from_millis(5 + next_rand(&mut seed) % 150);
        let acks = run_cycle(dir.path(), mode, cycle * 10_000_000, kill_after);
        assert!(!acks.is_empty());
        all.extend(acks);
        verify(dir.path(), mode, &all);
    }
    println!(
        "crash test {mode:?}: {} acknowledged messages verified after {cycles} kills",
        all.len()
    );
}

#[test]
fn sigkill_under_sync_flush_loses_no_acknowledged_message() {
    crash_cycles(FlushDiskType::SyncFlush);
}

#[test]
fn process_kill_under_async_flush_loses_nothing_acknowledged() {
    crash_cycles(FlushDiskType::AsyncFlush);
}
