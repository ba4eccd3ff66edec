//! The on-disk store is Apache RocketMQ's, both ways:
//!
//! 1. [`apache_writes_ferromq_reads`]: a real Apache 5.3.3 broker stores messages sent by the
//!    official Java client (small commitlog, consume-queue and index files, so every kind of
//!    file rolls over), stops gracefully, and FerroMQ's `MessageStore` opens that directory
//!    without crash recovery and finds every message where the client was told it is: queue,
//!    queue offset, commitlog offset, body, keys, tag, properties, consume-queue unit, and by
//!    key through Apache's index files.
//! 2. [`ferromq_writes_apache_reads`]: FerroMQ's `MessageStore` writes messages and
//!    `config/topics.json`, shuts down cleanly, then a real Apache broker opens that directory
//!    and serves the messages to the official Java client (lite pull consumer from the first
//!    offset): same queue offsets, commitlog offsets, ids, bodies, keys, tags and properties;
//!    the broker reports the same min/max offsets, finds messages by key through FerroMQ's
//!    index files and by offsetMsgId, and its `store.log` shows a normal (not crash) recovery
//!    that kept the whole commitlog. After Apache stops, FerroMQ reopens the store cleanly.
//!
//! Both use the same deterministic content as `tests/compat/java/.../StoreData.java`; the two
//! tests run in parallel in about 30 s on 2 cores (JVM start-ups and Apache's ~10 s graceful
//! shutdown dominate).
//! Need `java` (17) and `mvn` on PATH; print `SKIPPED: ...` and pass otherwise (set
//! `FERROMQ_COMPAT_REQUIRED=1` to fail instead).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use ferromq_protocol::body::TopicConfig;
use ferromq_protocol::message::{
    body_crc, compress, create_message_id, decode_all, decompress, property, sysflag,
    tag_hash_code, CompressionType, DecodeOptions, MessageExt, MessageId, Properties,
};
use ferromq_store::configs::TopicConfigTable;
use ferromq_store::store::AcceptAll;
use ferromq_store::{GetMessageStatus, MessageStore, PutStatus, StoreConfig};
use ferromq_tests::clients::{java_store_consume, java_store_produce};
use ferromq_tests::compat::REGISTRATION_TIMEOUT;
use ferromq_tests::net::free_broker_port;
use ferromq_tests::{require_tools, ApacheBroker, ApacheNamesrv, BrokerOptions};

const TOOLS: &[&str] = &["java", "mvn"];

/// `mappedFileSizeCommitLog` on both sides: 1 MiB, so ~2.4 MiB of messages span 3 files.
const COMMIT_LOG_FILE_SIZE: u64 = 1 << 20;
/// `mappedFileSizeConsumeQueue`: 16 units per file, so each queue (50 messages) spans 4 files.
const CONSUME_QUEUE_FILE_SIZE: u64 = 16 * 20;
/// `maxHashSlotNum` / `maxIndexNum`: tiny index files (3 entries per message), so the index
/// rolls over to new files and key chains share slots.
const MAX_HASH_SLOT_NUM: u32 = 64;
const MAX_INDEX_NUM: u32 = 256;
/// Messages per test and the topic's queues (message `i` goes to queue `i % QUEUES`).
const MESSAGES: usize = 200;
const QUEUES: i32 = 4;
/// How long a broker may take to exit after `SIGTERM` (it flushes and unregisters).
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(60);
/// Java's default `compressMsgBodyOverHowmuch`: bodies of this size and more are compressed.
const COMPRESS_OVER: usize = 4096;

// ---- Deterministic content, in step with tests/compat/java/.../StoreData.java ----

fn body_size(i: usize) -> usize {
    match i % 16 {
        15 => 150_000 + (i * 131) % 10_000,
        7 => 20_000 + (i * 71) % 5_000,
        _ => 16 + (i * 977) % 2_000,
    }
}

/// xorshift32 bytes (Java `int` arithmetic: wrapping multiply, logical right shift).
fn body(i: usize) -> Vec<u8> {
    let seed = u32::try_from(i).expect("small index");
    let mut x = 0x9E37_79B9_u32 ^ seed.wrapping_mul(0x85EB_CA6B);
    if x == 0 {
        x = 1;
    }
    (0..body_size(i))
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x.to_le_bytes()[0]
        })
        .collect()
}

fn tag(i: usize) -> &'static str {
    ["TagA", "TagB", "TagC"][i % 3]
}

/// The unique key and the key shared by every 5th message.
fn keys(prefix: &str, i: usize) -> [String; 2] {
    [format!("{prefix}-{i}"), format!("{prefix}G-{}", i % 5)]
}

fn note(i: usize) -> String {
    format!("n\u{fc}\u{20ac}\u{4e2d}-{i}")
}

// ---- Shared settings ----

fn store_config(root: &Path) -> StoreConfig {
    StoreConfig {
        mapped_file_size_commit_log: COMMIT_LOG_FILE_SIZE,
        mapped_file_size_consume_queue: CONSUME_QUEUE_FILE_SIZE,
        max_hash_slot_num: MAX_HASH_SLOT_NUM,
        max_index_num: MAX_INDEX_NUM,
        ..StoreConfig::with_root(root)
    }
}

fn broker_options(store_root: &Path, listen_port: Option<u16>) -> BrokerOptions {
    let extra = [
        ("mappedFileSizeCommitLog", COMMIT_LOG_FILE_SIZE.to_string()),
        (
            "mappedFileSizeConsumeQueue",
            CONSUME_QUEUE_FILE_SIZE.to_string(),
        ),
        ("maxHashSlotNum", MAX_HASH_SLOT_NUM.to_string()),
        ("maxIndexNum", MAX_INDEX_NUM.to_string()),
    ];
    BrokerOptions {
        store_root: Some(store_root.to_owned()),
        listen_port,
        extra_config: extra.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        ..BrokerOptions::default()
    }
}

fn broker_socket(addr: &str) -> SocketAddr {
    addr.parse().expect("broker address is ip:port")
}

/// The single message of a stored record, decoded as the store does (body CRC checked, body as
/// stored).
fn decode_record(record: &Bytes) -> MessageExt {
    let mut all = decode_all(record, &DecodeOptions::store())
        .unwrap_or_else(|e| panic!("stored record does not decode: {e}"));
    assert_eq!(all.len(), 1, "one record per commitlog slice");
    all.remove(0)
}

/// The body as the producer sent it (decompressed if the record says so).
fn plain_body(m: &MessageExt) -> Vec<u8> {
    if sysflag::is_compressed(m.sys_flag) {
        let ty = sysflag::compression_type(m.sys_flag).expect("known compression type");
        decompress(&m.body, ty, 16 << 20).expect("compressed body decompresses")
    } else {
        m.body.to_vec()
    }
}

/// `[start offsets]` of the 20-digit-named files in `dir`, checking names and sizes.
fn mapped_files(dir: &Path, size: Option<u64>) -> Vec<u64> {
    let mut starts: Vec<u64> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| {
            let e = e.expect("dir entry");
            let name = e.file_name().to_string_lossy().into_owned();
            assert!(
                name.len() == 20 && name.bytes().all(|b| b.is_ascii_digit()),
                "unexpected file {name} in {}",
                dir.display()
            );
            if let Some(size) = size {
                assert_eq!(e.metadata().expect("metadata").len(), size, "{name}");
            }
            name.parse().expect("digits")
        })
        .collect();
    starts.sort_unstable();
    starts
}

fn dir_len(dir: &Path) -> usize {
    fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .count()
}

// ---- 1. Apache writes, FerroMQ reads ----

/// One `SENT` line of `StoreProduce`.
#[derive(Debug)]
struct Sent {
    i: usize,
    queue_id: i32,
    queue_offset: i64,
    offset_msg_id: String,
    msg_id: String,
}

fn parse_sent(output: &str) -> Vec<Sent> {
    output
        .lines()
        .filter_map(|l| l.strip_prefix("SENT\t"))
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 5, "SENT line {l:?}");
            Sent {
                i: f[0].parse().expect("index"),
                queue_id: f[1].parse().expect("queue id"),
                queue_offset: f[2].parse().expect("queue offset"),
                offset_msg_id: f[3].to_owned(),
                msg_id: f[4].to_owned(),
            }
        })
        .collect()
}

#[test]
fn apache_writes_ferromq_reads() {
    if !require_tools("store_compat::apache_writes_ferromq_reads", TOOLS) {
        return;
    }
    let start = Instant::now();
    // Declared first, dropped last: the servers are gone before their store is removed.
    let work = tempfile::Builder::new()
        .prefix("store-compat-apache-")
        .tempdir()
        .expect("tempdir");
    let root = work.path().join("apache-store");
    let topic = "StoreCompatApache";

    let namesrv = ApacheNamesrv::start();
    let mut broker = ApacheBroker::start(namesrv.addr(), broker_options(&root, None));
    broker.wait_registered(namesrv.addr(), REGISTRATION_TIMEOUT);
    let broker_addr = broker_socket(broker.addr());
    eprintln!("Apache broker up after {:.1?}", start.elapsed());

    let run = java_store_produce(namesrv.addr(), topic, MESSAGES);
    if !run.success() {
        eprintln!("{}", broker.log_tail());
    }
    run.assert_success();
    let sent = parse_sent(&run.output);
    assert_eq!(sent.len(), MESSAGES, "SENT lines in:\n{}", run.output);
    eprintln!("{}: ok in {:.1?}", run.name, run.elapsed);

    let stopping = Instant::now();
    let status = broker
        .terminate(SHUTDOWN_TIMEOUT)
        .unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "Apache broker stopped ({status}) in {:.1?}",
        stopping.elapsed()
    );
    drop(broker);
    drop(namesrv);
    assert!(
        !root.join("abort").exists(),
        "Apache left its abort file: not a clean shutdown"
    );

    // Every kind of file rolled over.
    let commit_log_files = mapped_files(&root.join("commitlog"), Some(COMMIT_LOG_FILE_SIZE));
    assert!(
        commit_log_files.len() >= 3,
        "commitlog files {commit_log_files:?}"
    );
    for q in 0..QUEUES {
        let cq = mapped_files(
            &root.join(format!("consumequeue/{topic}/{q}")),
            Some(CONSUME_QUEUE_FILE_SIZE),
        );
        assert!(cq.len() >= 3, "queue {q} files {cq:?}");
    }
    assert!(dir_len(&root.join("index")) >= 2, "index files");

    let store = MessageStore::open(store_config(&root)).expect("FerroMQ opens Apache's store");
    assert!(
        !store.recovered_from_crash(),
        "a gracefully stopped Apache store needs no crash recovery"
    );
    check_apache_messages(&store, topic, broker_addr, &sent);
    store.shutdown().expect("clean shutdown");
    eprintln!("apache_writes_ferromq_reads: ok in {:.1?}", start.elapsed());
}

fn check_apache_messages(
    store: &Arc<MessageStore>,
    topic: &str,
    broker: SocketAddr,
    sent: &[Sent],
) {
    let mut per_queue: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
    let mut max_phy = 0;
    let mut end = 0;
    for s in sent {
        let id = MessageId::parse(&s.offset_msg_id).expect("offsetMsgId parses");
        assert_eq!(id.address, broker, "offsetMsgId store host of #{}", s.i);
        let phy = u64::try_from(id.offset).expect("non-negative offset");
        max_phy = max_phy.max(phy);
        let what = format!("#{} ({}@{} phy {phy})", s.i, s.queue_id, s.queue_offset);

        let got = store.get_message(topic, s.queue_id, s.queue_offset, 1, usize::MAX, &AcceptAll);
        assert_eq!(got.status, GetMessageStatus::Found, "{what}");
        assert_eq!(got.queue_offsets, [s.queue_offset], "{what}");
        let record = &got.messages[0];
        end = end.max(phy + u64::try_from(record.len()).expect("len"));
        assert_eq!(
            store.message_at(phy).as_ref(),
            Some(record),
            "{what}: the record at the offsetMsgId's offset"
        );
        let unit = store
            .unit(topic, s.queue_id, s.queue_offset)
            .expect("consume queue unit");
        assert_eq!(unit.commit_log_offset, id.offset, "{what}: unit offset");
        assert_eq!(
            usize::try_from(unit.size).ok(),
            Some(record.len()),
            "{what}: unit size"
        );
        assert_eq!(
            unit.tags_code,
            i64::from(tag_hash_code(tag(s.i))),
            "{what}: tag code"
        );

        let m = decode_record(record);
        assert_eq!(m.topic, topic, "{what}");
        assert_eq!(m.queue_id, s.queue_id, "{what}");
        assert_eq!(m.queue_offset, s.queue_offset, "{what}");
        assert_eq!(m.commit_log_offset, id.offset, "{what}");
        assert_eq!(m.store_host, broker, "{what}: store host");
        assert!(m.born_host.ip().is_loopback(), "{what}: born host");
        assert_eq!(
            sysflag::is_compressed(m.sys_flag),
            body_size(s.i) >= COMPRESS_OVER,
            "{what}: compressed flag, sysFlag {:#x}",
            m.sys_flag
        );
        assert!(plain_body(&m) == body(s.i), "{what}: body differs");
        assert_eq!(m.properties.tags(), Some(tag(s.i)), "{what}");
        assert_eq!(
            m.properties.keys().collect::<Vec<_>>(),
            keys("SK", s.i),
            "{what}"
        );
        assert_eq!(m.properties.uniq_key(), Some(s.msg_id.as_str()), "{what}");
        let idx = s.i.to_string();
        let size = body_size(s.i).to_string();
        let note = note(s.i);
        for (name, value) in [("idx", &idx), ("size", &size), ("note", &note)] {
            assert_eq!(m.properties.value(name), Some(value.as_str()), "{what}");
        }
        per_queue
            .entry(s.queue_id)
            .or_default()
            .push(s.queue_offset);
    }
    assert!(
        max_phy >= 2 * COMMIT_LOG_FILE_SIZE,
        "messages reach the third commitlog file"
    );
    // Recovery kept exactly Apache's records: nothing truncated, nothing invented after them.
    assert_eq!(store.commit_log().max_offset(), end, "commitlog end");
    assert_eq!(store.dispatched_offset(), end, "dispatched up to the end");

    // Queue offsets are contiguous from 0, and a full scan sees exactly the sent messages.
    assert_eq!(per_queue.len(), QUEUES as usize);
    for (&q, offsets) in &mut per_queue {
        offsets.sort_unstable();
        let count = i64::try_from(offsets.len()).expect("count");
        assert_eq!(*offsets, (0..count).collect::<Vec<_>>(), "queue {q}");
        assert_eq!(store.queue_range(topic, q), Some((0, count)), "queue {q}");
        let mut next = 0;
        let mut seen = 0;
        loop {
            let got = store.get_message(topic, q, next, 7, usize::MAX, &AcceptAll);
            if got.status == GetMessageStatus::OffsetOverflowOne {
                break;
            }
            assert_eq!(got.status, GetMessageStatus::Found, "queue {q} at {next}");
            assert_eq!(got.queue_offsets.first(), Some(&next), "queue {q}");
            seen += got.messages.len();
            next = got.next_begin_offset;
        }
        assert_eq!(next, count, "queue {q} scan end");
        assert_eq!(seen, offsets.len(), "queue {q} scan count");
    }

    // Apache's index files answer FerroMQ's key queries.
    let by_key = |key: &str| -> BTreeSet<String> {
        store
            .query_message(topic, key, 64, 0, i64::MAX)
            .messages
            .iter()
            .map(decode_record)
            .filter(|m| m.topic == topic)
            .filter(|m| {
                m.properties.keys().any(|k| k == key) || m.properties.uniq_key() == Some(key)
            })
            .filter_map(|m| m.properties.uniq_key().map(str::to_owned))
            .collect()
    };
    for s in sent {
        let [unique, _] = keys("SK", s.i);
        let one = BTreeSet::from([s.msg_id.clone()]);
        assert_eq!(by_key(&unique), one, "query by key {unique}");
        assert_eq!(by_key(&s.msg_id), one, "query by UNIQ_KEY of #{}", s.i);
    }
    for g in 0..5 {
        let expected: BTreeSet<String> = sent
            .iter()
            .filter(|s| s.i % 5 == g)
            .map(|s| s.msg_id.clone())
            .collect();
        assert_eq!(
            by_key(&format!("SKG-{g}")),
            expected,
            "query by key SKG-{g}"
        );
    }
}

// ---- 2. FerroMQ writes, Apache reads ----

/// What FerroMQ stored for message `i`.
#[derive(Debug)]
struct Written {
    i: usize,
    queue_id: i32,
    queue_offset: i64,
    phy: u64,
    uniq: String,
    born_timestamp: i64,
    stored_body_crc: i32,
}

/// A UNIQ_KEY-shaped id (32 hex digits), deterministic.
fn uniq_key(i: usize) -> String {
    format!("7F0000010F3C46524D51{i:012X}")
}

fn ferromq_message(topic: &str, i: usize, store_host: SocketAddr, born: i64) -> MessageExt {
    let plain = body(i);
    let (stored, sys_flag) = if plain.len() >= COMPRESS_OVER {
        // As the Java producer does with big bodies: zlib, flagged in sysFlag.
        let z = compress(&plain, CompressionType::Zlib, 5).expect("zlib");
        (z, sysflag::with_compression(0, CompressionType::Zlib))
    } else {
        (plain, 0)
    };
    let mut properties = Properties::new();
    properties.insert(property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX, uniq_key(i));
    properties.insert(property::KEYS, keys("FK", i).join(" "));
    properties.insert(property::TAGS, tag(i));
    properties.insert(property::WAIT_STORE_MSG_OK, "true");
    properties.insert("idx", i.to_string());
    properties.insert("size", body_size(i).to_string());
    properties.insert("note", note(i));
    MessageExt {
        topic: topic.to_owned(),
        queue_id: i32::try_from(i).expect("small") % QUEUES,
        sys_flag,
        body: Bytes::from(stored),
        properties,
        born_host: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 54321),
        store_host,
        born_timestamp: born,
        ..MessageExt::default()
    }
}

/// Writes [`MESSAGES`] messages and `config/topics.json`; returns them and the commitlog end.
fn write_with_ferromq(root: &Path, topic: &str, store_host: SocketAddr) -> (Vec<Written>, u64) {
    let store = MessageStore::open(store_config(root)).expect("open a new FerroMQ store");
    let born_base = i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_millis(),
    )
    .expect("ms fit i64");
    let mut written = Vec::with_capacity(MESSAGES);
    let mut next_offset: HashMap<i32, i64> = HashMap::new();
    let mut end = 0;
    for i in 0..MESSAGES {
        let born = born_base + i64::try_from(i).expect("small");
        let m = ferromq_message(topic, i, store_host, born);
        let put = store.put_message(&m).expect("put").wait();
        assert_eq!(put.status, PutStatus::PutOk, "#{i}");
        let expected_offset = next_offset.entry(m.queue_id).or_insert(0);
        assert_eq!(put.append.queue_offset, *expected_offset, "#{i}");
        *expected_offset += 1;
        end = put.append.end_offset();
        written.push(Written {
            i,
            queue_id: m.queue_id,
            queue_offset: put.append.queue_offset,
            phy: put.append.commit_log_offset,
            uniq: uniq_key(i),
            born_timestamp: born,
            stored_body_crc: body_crc(&m.body),
        });
    }
    assert!(
        store.wait_dispatched(Duration::from_secs(30)),
        "consume queues and index caught up"
    );

    let topics = TopicConfigTable::load(
        store
            .config()
            .config_dir()
            .join(TopicConfigTable::FILE_NAME),
    )
    .expect("load topics.json");
    topics.put(TopicConfig::new(topic, QUEUES, QUEUES));
    assert!(topics.persist().expect("write topics.json"));
    store.shutdown().expect("clean shutdown");
    drop(store);
    assert!(!root.join("abort").exists(), "FerroMQ left its abort file");
    (written, end)
}

/// One `RECV` line of `StoreConsume` as `name -> value` (properties as `p.NAME`).
fn parse_recv(line: &str) -> HashMap<&str, &str> {
    line.split('\t')
        .skip(1)
        .map(|f| {
            f.split_once('=')
                .unwrap_or_else(|| panic!("field {f:?} in {line:?}"))
        })
        .collect()
}

#[test]
fn ferromq_writes_apache_reads() {
    if !require_tools("store_compat::ferromq_writes_apache_reads", TOOLS) {
        return;
    }
    let start = Instant::now();
    let work = tempfile::Builder::new()
        .prefix("store-compat-ferromq-")
        .tempdir()
        .expect("tempdir");
    let root = work.path().join("ferromq-store");
    let topic = "StoreCompatFerro";
    let port = free_broker_port();
    let store_host = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);

    let (written, end) = write_with_ferromq(&root, topic, store_host);
    let commit_log_files = mapped_files(&root.join("commitlog"), Some(COMMIT_LOG_FILE_SIZE));
    assert!(
        commit_log_files.len() >= 3,
        "commitlog files {commit_log_files:?}"
    );
    assert!(dir_len(&root.join("index")) >= 2, "index files");
    eprintln!(
        "FerroMQ wrote {MESSAGES} messages in {:.1?}",
        start.elapsed()
    );

    let namesrv = ApacheNamesrv::start();
    let mut broker = ApacheBroker::start(namesrv.addr(), broker_options(&root, Some(port)));
    broker.wait_registered(namesrv.addr(), REGISTRATION_TIMEOUT);
    eprintln!("Apache broker up after {:.1?}", start.elapsed());
    // Apache took FerroMQ's shutdown as clean and kept every byte (its recovery is done before
    // the broker registers; logback writes through).
    let store_log = fs::read_to_string(broker.log_dir().join("store.log")).unwrap_or_default();
    for needle in [
        "last shutdown normally".to_owned(),
        format!("the max phy offset = {end}"),
    ] {
        assert!(
            store_log.contains(&needle),
            "Apache's store.log lacks {needle:?}:\n{store_log}"
        );
    }

    let query_keys: Vec<String> = ["FK-0", "FK-15", "FK-100", "FK-199", "FKG-0", "FKG-3"]
        .map(str::to_owned)
        .to_vec();
    let run = java_store_consume(namesrv.addr(), topic, MESSAGES, &query_keys);
    if !run.success() {
        eprintln!("{}", broker.log_tail());
    }
    run.assert_success();
    eprintln!("{}: ok in {:.1?}", run.name, run.elapsed);
    check_apache_view(&run.output, &written, store_host, &query_keys);

    let status = broker
        .terminate(SHUTDOWN_TIMEOUT)
        .unwrap_or_else(|e| panic!("{e}"));
    eprintln!("Apache broker stopped ({status})");
    drop(broker);
    drop(namesrv);

    // And back: FerroMQ reopens the store Apache has just run on, cleanly, with nothing lost.
    let store = MessageStore::open(store_config(&root)).expect("FerroMQ reopens the store");
    assert!(
        !store.recovered_from_crash(),
        "Apache's graceful stop needs no crash recovery"
    );
    assert_eq!(store.commit_log().max_offset(), end, "commitlog end");
    for q in 0..QUEUES {
        let count = written.iter().filter(|w| w.queue_id == q).count();
        let count = i64::try_from(count).expect("count");
        assert_eq!(store.queue_range(topic, q), Some((0, count)), "queue {q}");
    }
    for w in written.iter().step_by(7) {
        let got = store.get_message(topic, w.queue_id, w.queue_offset, 1, usize::MAX, &AcceptAll);
        assert_eq!(got.status, GetMessageStatus::Found, "#{}", w.i);
        let m = decode_record(&got.messages[0]);
        assert_eq!(m.properties.uniq_key(), Some(w.uniq.as_str()), "#{}", w.i);
        assert!(plain_body(&m) == body(w.i), "#{}: body differs", w.i);
    }
    store.shutdown().expect("clean shutdown");
    eprintln!("ferromq_writes_apache_reads: ok in {:.1?}", start.elapsed());
}

fn check_apache_view(
    output: &str,
    written: &[Written],
    store_host: SocketAddr,
    keys_asked: &[String],
) {
    let by_place: HashMap<(i32, i64), &Written> = written
        .iter()
        .map(|w| ((w.queue_id, w.queue_offset), w))
        .collect();
    let by_offset_msg_id: HashMap<String, &Written> = written
        .iter()
        .map(|w| {
            (
                create_message_id(store_host, i64::try_from(w.phy).expect("offset")),
                w,
            )
        })
        .collect();

    // The broker's view of the queues.
    let mut offsets = BTreeMap::new();
    for line in output.lines().filter_map(|l| l.strip_prefix("OFFSETS\t")) {
        let f: Vec<i64> = line
            .split('\t')
            .map(|v| v.parse().expect("number"))
            .collect();
        offsets.insert(i32::try_from(f[0]).expect("queue id"), (f[1], f[2]));
    }
    let mut expected_offsets = BTreeMap::new();
    for w in written {
        let e = expected_offsets.entry(w.queue_id).or_insert((0, 0));
        e.1 = e.1.max(w.queue_offset + 1);
    }
    assert_eq!(
        offsets, expected_offsets,
        "broker's (min, max) offsets per queue"
    );

    // Every message, once, intact.
    let mut seen = BTreeSet::new();
    for line in output.lines().filter(|l| l.starts_with("RECV\t")) {
        let f = parse_recv(line);
        let num = |name: &str| -> i64 {
            f.get(name)
                .unwrap_or_else(|| panic!("no {name} in {line}"))
                .parse()
                .unwrap_or_else(|e| panic!("{name} in {line}: {e}"))
        };
        let place = (i32::try_from(num("qid")).expect("qid"), num("qoff"));
        let w = by_place
            .get(&place)
            .unwrap_or_else(|| panic!("Apache served an unknown message: {line}"));
        assert!(seen.insert(place), "delivered twice: {line}");
        let i = w.i;
        let what = format!("#{i} ({}@{})", w.queue_id, w.queue_offset);
        let phy = i64::try_from(w.phy).expect("offset");
        assert_eq!(num("phy"), phy, "{what}: commitlog offset");
        assert_eq!(f["msgId"], w.uniq, "{what}: msgId");
        assert_eq!(
            f["offsetMsgId"],
            create_message_id(store_host, phy),
            "{what}: offsetMsgId"
        );
        assert!(
            f["storeHost"].ends_with(&store_host.to_string()),
            "{what}: store host {}",
            f["storeHost"]
        );
        assert_eq!(num("born"), w.born_timestamp, "{what}: born timestamp");
        let plain = body(i);
        assert_eq!(
            num("len"),
            i64::try_from(plain.len()).expect("len"),
            "{what}: body length"
        );
        assert_eq!(num("crc"), i64::from(body_crc(&plain)), "{what}: body CRC");
        assert_eq!(
            num("storedCrc"),
            i64::from(w.stored_body_crc),
            "{what}: stored BODYCRC"
        );
        let keys = keys("FK", i).join(" ");
        let idx = i.to_string();
        let size = body_size(i).to_string();
        let note = note(i);
        for (name, value) in [
            ("p.KEYS", keys.as_str()),
            ("p.TAGS", tag(i)),
            ("p.UNIQ_KEY", w.uniq.as_str()),
            ("p.idx", idx.as_str()),
            ("p.size", size.as_str()),
            ("p.note", note.as_str()),
        ] {
            assert_eq!(f.get(name).copied(), Some(value), "{what}: {name}");
        }
    }
    assert_eq!(seen.len(), written.len(), "messages delivered");
    assert!(
        output.contains(&format!("OK: received {}", written.len())),
        "no OK line:\n{output}"
    );

    // Apache's queries through FerroMQ's index files.
    let mut answered = 0;
    for line in output.lines().filter_map(|l| l.strip_prefix("QUERY\t")) {
        let (key, ids) = line.split_once('\t').unwrap_or((line, ""));
        let got: BTreeSet<&str> = ids.split(',').filter(|s| !s.is_empty()).collect();
        let expected: BTreeSet<&str> = written
            .iter()
            .filter(|w| keys("FK", w.i).iter().any(|k| k == key))
            .map(|w| w.uniq.as_str())
            .collect();
        assert_eq!(got, expected, "Apache's query by key {key}");
        answered += 1;
    }
    assert_eq!(answered, keys_asked.len(), "QUERY lines");

    // Apache's VIEW_MESSAGE_BY_ID at FerroMQ's commitlog offsets.
    let mut viewed = 0;
    for line in output.lines().filter_map(|l| l.strip_prefix("VIEW\t")) {
        let (offset_msg_id, msg_id) = line.split_once('\t').expect("VIEW line");
        let w = by_offset_msg_id
            .get(offset_msg_id)
            .unwrap_or_else(|| panic!("viewed unknown id {offset_msg_id}"));
        assert_eq!(msg_id, w.uniq, "view by {offset_msg_id}");
        viewed += 1;
    }
    assert!(viewed >= written.len() / 10, "VIEW lines: {viewed}");
}
