//! Store benchmarks, each printed beside this machine's own limit measured in the same run by
//! this program (CONTRIBUTING.md, "Benchmarks": compare in one run, quote ratios).
//!
//! `cargo bench -p ferromq-store --bench store` (set `FERROMQ_BENCH_SECS` for longer rounds).
//!
//! 1. ASYNC_FLUSH append throughput for 128 B, 1 KiB and 4 KiB bodies, against a plain
//!    sequential `write()` loop of the same record bytes to a file on the same disk.
//! 2. SYNC_FLUSH with 1, 16 and 64 concurrent writers: messages per second and messages
//!    acknowledged per `fdatasync`, against the raw `write`+`fdatasync` rate of 4 KiB blocks.
//! 3. Read throughput: every record read back by commitlog offset (zero-copy slices), and by
//!    queue offset through `MessageStore::get_message` in pulls of 32 (what a broker pull does).
//! 4. Roll-over: the longest single append, the longest append that rolled over to a new file,
//!    and the longest concurrent reader call (`CommitLog::max_offset`, which takes the files
//!    lock) while a writer fills 128 MiB files as fast as it can, against the median append.
//!    Long appends that do not roll over are the kernel throttling a writer that dirties pages
//!    faster than the disk takes them.
//!
//! `FERROMQ_BENCH_ONLY=rollover` runs only case 4.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::io::Write;
use std::net::SocketAddr;
use std::os::unix::fs::FileExt;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferromq_protocol::message::{property, MessageExt, Properties};
use ferromq_store::commit_log::CommitLog;
use ferromq_store::flush::FlushOutcome;
use ferromq_store::store::AcceptAll;
use ferromq_store::{FlushDiskType, GetMessageStatus, MessageStore, StoreConfig};

fn secs() -> Duration {
    let s = std::env::var("FERROMQ_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    Duration::from_secs_f64(s)
}

fn message(body_len: usize) -> MessageExt {
    let mut properties = Properties::new();
    properties.insert(
        property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
        "7F0000010B2C18B4AAC25F4E9C3A0000",
    );
    properties.insert(property::WAIT_STORE_MSG_OK, "true");
    properties.insert(property::TAGS, "TagA");
    let host: SocketAddr = "127.0.0.1:10911".parse().unwrap();
    MessageExt {
        topic: "BenchmarkTest".to_owned(),
        body: Bytes::from(vec![b'x'; body_len]),
        properties,
        born_host: host,
        store_host: host,
        born_timestamp: 1_700_000_000_000,
        ..MessageExt::default()
    }
}

fn store_config(dir: &std::path::Path, flush: FlushDiskType) -> StoreConfig {
    StoreConfig {
        mapped_file_size_commit_log: 256 * 1024 * 1024,
        flush_disk_type: flush,
        ..StoreConfig::with_root(dir)
    }
}

/// Appends for `dur`; returns (messages, bytes, seconds).
fn append_round(body_len: usize, dur: Duration) -> (u64, u64, f64) {
    let dir = tempfile::tempdir_in(bench_dir()).unwrap();
    let log =
        Arc::new(CommitLog::load(&store_config(dir.path(), FlushDiskType::AsyncFlush)).unwrap());
    let flusher = log.clone();
    let t = std::thread::spawn(move || flusher.flusher().run(flusher.files()));
    let m = message(body_len);
    let start = Instant::now();
    let (mut n, mut bytes) = (0u64, 0u64);
    while start.elapsed() < dur {
        for _ in 0..256 {
            let r = log.append(&m).unwrap();
            bytes += r.bytes as u64;
            n += 1;
        }
    }
    let el = start.elapsed().as_secs_f64();
    log.flusher().stop();
    t.join().unwrap();
    (n, bytes, el)
}

/// The same record bytes through one `write()` each, sequentially, for `dur`.
fn write_loop_round(body_len: usize, dur: Duration) -> (u64, u64, f64) {
    let dir = tempfile::tempdir_in(bench_dir()).unwrap();
    let mut record = Vec::new();
    message(body_len).encode(&mut record).unwrap();
    let mut f = std::fs::File::create(dir.path().join("plain")).unwrap();
    let start = Instant::now();
    let (mut n, mut bytes) = (0u64, 0u64);
    while start.elapsed() < dur {
        for _ in 0..256 {
            f.write_all(&record).unwrap();
            n += 1;
            bytes += record.len() as u64;
        }
        if bytes > 4 << 30 {
            break;
        }
    }
    (n, bytes, start.elapsed().as_secs_f64())
}

fn sync_round(writers: usize, dur: Duration) -> (u64, u64, f64) {
    let dir = tempfile::tempdir_in(bench_dir()).unwrap();
    let log =
        Arc::new(CommitLog::load(&store_config(dir.path(), FlushDiskType::SyncFlush)).unwrap());
    let flusher = log.clone();
    let t = std::thread::spawn(move || flusher.flusher().run(flusher.files()));
    let start = Instant::now();
    let handles: Vec<_> = (0..writers)
        .map(|_| {
            let log = log.clone();
            std::thread::spawn(move || {
                let m = message(1024);
                let mut n = 0u64;
                while start.elapsed() < dur {
                    let r = log.append(&m).unwrap();
                    assert_eq!(
                        log.flush_ticket(r.end_offset()).wait(),
                        FlushOutcome::Flushed
                    );
                    n += 1;
                }
                n
            })
        })
        .collect();
    let n: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    let el = start.elapsed().as_secs_f64();
    let syncs = log.flusher().stats().syncs.load(Ordering::Relaxed);
    log.flusher().stop();
    t.join().unwrap();
    (n, syncs, el)
}

/// Raw `pwrite(4 KiB) + fdatasync` cycles per second: the disk's durable-ack limit.
fn fdatasync_round(dur: Duration) -> f64 {
    let dir = tempfile::tempdir_in(bench_dir()).unwrap();
    let f = std::fs::File::create(dir.path().join("sync")).unwrap();
    let block = vec![7u8; 4096];
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < dur {
        f.write_all_at(&block, (n % 4096) * 4096).unwrap();
        f.sync_data().unwrap();
        n += 1;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn read_round(dur: Duration) -> (u64, u64, f64) {
    let dir = tempfile::tempdir_in(bench_dir()).unwrap();
    let log = CommitLog::load(&store_config(dir.path(), FlushDiskType::AsyncFlush)).unwrap();
    let m = message(1024);
    let offsets: Vec<u64> = (0..100_000)
        .map(|_| log.append(&m).unwrap().commit_log_offset)
        .collect();
    let start = Instant::now();
    let (mut n, mut bytes) = (0u64, 0u64);
    while start.elapsed() < dur {
        for off in &offsets {
            let rec = log.read_record(*off).unwrap();
            bytes += rec.len() as u64;
            n += 1;
        }
    }
    (n, bytes, start.elapsed().as_secs_f64())
}

/// Pulls of 32 by queue offset over 4 queues of 25,000 1 KiB messages.
fn pull_round(dur: Duration) -> (u64, u64, f64) {
    let dir = tempfile::tempdir_in(bench_dir()).unwrap();
    let store = MessageStore::open(store_config(dir.path(), FlushDiskType::AsyncFlush)).unwrap();
    for i in 0..100_000 {
        let mut m = message(1024);
        m.queue_id = i % 4;
        store.put_message(&m).unwrap().wait();
    }
    assert!(store.wait_dispatched(Duration::from_secs(60)));
    let start = Instant::now();
    let (mut n, mut bytes) = (0u64, 0u64);
    'outer: while start.elapsed() < dur {
        for q in 0..4 {
            let mut offset = 0;
            loop {
                let r = store.get_message("BenchmarkTest", q, offset, 32, 1 << 20, &AcceptAll);
                if r.status != GetMessageStatus::Found {
                    break;
                }
                n += r.messages.len() as u64;
                bytes += r.total_size() as u64;
                offset = r.next_begin_offset;
                if start.elapsed() >= dur {
                    break 'outer;
                }
            }
        }
    }
    let el = start.elapsed().as_secs_f64();
    store.shutdown().unwrap();
    (n, bytes, el)
}

/// memcpy of 64 MiB buffers: the cost a copying read path would pay, MiB/s.
fn memcpy_round(dur: Duration) -> f64 {
    let src = vec![1u8; 64 << 20];
    let mut dst = vec![0u8; 64 << 20];
    let start = Instant::now();
    let mut bytes = 0u64;
    while start.elapsed() < dur {
        dst.copy_from_slice(&src);
        std::hint::black_box(&dst);
        bytes += src.len() as u64;
    }
    bytes as f64 / start.elapsed().as_secs_f64() / 1048576.0
}

/// Fills `files` commitlog files of 128 MiB with 1 KiB messages while a reader polls
/// `max_offset()`.
fn rollover_round(files: u64) -> Rollover {
    let dir = tempfile::tempdir_in(bench_dir()).unwrap();
    let size = 128 * 1024 * 1024u64;
    let config = StoreConfig {
        mapped_file_size_commit_log: size,
        ..store_config(dir.path(), FlushDiskType::AsyncFlush)
    };
    let log = Arc::new(CommitLog::load(&config).unwrap());
    let flusher = log.clone();
    let t = std::thread::spawn(move || flusher.flusher().run(flusher.files()));
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (reader_log, reader_done) = (log.clone(), done.clone());
    let reader = std::thread::spawn(move || {
        let mut worst = Duration::ZERO;
        while !reader_done.load(Ordering::Relaxed) {
            let s = Instant::now();
            std::hint::black_box(reader_log.max_offset());
            worst = worst.max(s.elapsed());
        }
        worst
    });
    let m = message(1024);
    let mut lat = Vec::new();
    let mut roll_worst = Duration::ZERO;
    let mut file = u64::MAX;
    while log.max_offset() < files * size {
        let s = Instant::now();
        let r = log.append(&m).unwrap();
        let took = s.elapsed();
        lat.push(took);
        if r.commit_log_offset / size != file {
            file = r.commit_log_offset / size;
            roll_worst = roll_worst.max(took);
        }
    }
    done.store(true, Ordering::Relaxed);
    let reader_worst = reader.join().unwrap();
    log.flusher().stop();
    t.join().unwrap();
    lat.sort();
    Rollover {
        median: lat[lat.len() / 2],
        worst: lat[lat.len() - 1],
        roll_worst,
        reader_worst,
    }
}

struct Rollover {
    median: Duration,
    worst: Duration,
    /// The longest append that rolled over to a new file.
    roll_worst: Duration,
    reader_worst: Duration,
}

fn bench_dir() -> std::path::PathBuf {
    std::env::var_os("FERROMQ_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported here.
    let dur = secs();
    let rounds = 3;
    if std::env::var("FERROMQ_BENCH_ONLY").as_deref() == Ok("rollover") {
        rollover();
        return;
    }
    println!(
        "store benchmark: {rounds} alternating rounds of {dur:?} each, medians (dir: {})",
        bench_dir().display()
    );
    println!("\n1. ASYNC_FLUSH append vs plain write() loop of the same bytes");
    for body in [128usize, 1024, 4096] {
        let (mut ours, mut plain, mut ours_mib) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..rounds {
            let (n, b, s) = append_round(body, dur);
            ours.push(n as f64 / s);
            ours_mib.push(b as f64 / s / 1048576.0);
            let (n, _, s) = write_loop_round(body, dur);
            plain.push(n as f64 / s);
        }
        let (o, p) = (median(ours), median(plain));
        println!(
            "   body {body:>5} B: store {o:>10.0} msg/s ({:>6.0} MiB/s) | write() loop {p:>10.0} msg/s | ratio {:.2}",
            median(ours_mib),
            o / p
        );
    }
    println!("\n2. SYNC_FLUSH group commit, 1 KiB bodies");
    let raw = median((0..rounds).map(|_| fdatasync_round(dur / 2)).collect());
    println!("   machine limit: {raw:.0} pwrite(4 KiB)+fdatasync per second");
    for writers in [1usize, 16, 64] {
        let (mut rates, mut per_sync) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            let (n, syncs, s) = sync_round(writers, dur);
            rates.push(n as f64 / s);
            per_sync.push(n as f64 / syncs.max(1) as f64);
        }
        let per = median(per_sync);
        println!(
            "   {writers:>2} writers: {:>8.0} msg/s acknowledged, {per:>5.1} msgs per fdatasync ({:.0}% of waiting writers per sync)",
            median(rates),
            100.0 * per / writers as f64
        );
    }
    let memcpy = median((0..rounds).map(|_| memcpy_round(dur / 2)).collect());
    println!("\n3. Reads of 1 KiB records (zero-copy slices)");
    println!("   machine limit for a copying read: memcpy {memcpy:.0} MiB/s");
    let (mut rates, mut mibs) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let (n, b, s) = read_round(dur);
        rates.push(n as f64 / s);
        mibs.push(b as f64 / s / 1048576.0);
    }
    println!(
        "   by commitlog offset: {:.0} records/s ({:.0} MiB/s)",
        median(rates),
        median(mibs)
    );
    let (mut rates, mut mibs) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let (n, b, s) = pull_round(dur);
        rates.push(n as f64 / s);
        mibs.push(b as f64 / s / 1048576.0);
    }
    println!(
        "   by queue offset (pulls of 32): {:.0} messages/s ({:.0} MiB/s)",
        median(rates),
        median(mibs)
    );
    rollover();
}

fn rollover() {
    println!("\n4. Roll-over of 128 MiB commitlog files (8 files, 1 KiB bodies, ASYNC_FLUSH)");
    for round in 0..3 {
        let r = rollover_round(8);
        println!(
            "   round {round}: append median {:?}, longest append {:?}, longest roll-over append {:?}, longest reader call {:?}",
            r.median, r.worst, r.roll_worst, r.reader_worst
        );
    }
}
