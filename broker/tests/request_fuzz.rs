//! Request-level fuzz test of the broker and the name server.
//!
//! One name server and one broker (registered with it) run in-process, in their own runtime on
//! their own thread, on free ports, with their data in a temp dir. For a bounded time and number
//! of requests, workers send *valid-looking* typed requests of every code the broker and the
//! name server handle (real header fields, plausible bodies: heartbeats, batches, register-broker
//! bodies, lock bodies, config updates...), most of them then mutated with hostile values: huge
//! and negative numbers, queue ids out of range, commit-log offsets into the middle of records or
//! beyond the log, names with `/` and `..`, `%RETRY%` / `%DLQ%` prefixes, system topics,
//! properties like `REAL_TOPIC=a/b`, `REAL_QID=-5`, `TIMER_OUT_MS=huge`, `DELAY=...`, huge and
//! garbled bodies, missing fields, numbers as garbage strings. Random codes go to both servers and
//! raw garbage frames go on separate connections.
//!
//! Findings (all collected, then reported together):
//! - a request not answered within [`REQUEST_TIMEOUT`] (a stall), with its code and input;
//! - the dispatcher stalled: a probe message sent every second is not indexed in time (the
//!   requests that wrote to the store since the last good probe are listed);
//! - a panic on any thread (a panic hook counts them);
//! - after the fuzz phase: a canary message sent to a freshly created ordinary topic is not
//!   pullable in time, a server does not answer, the topic's route does not reach the name
//!   server, a file was written outside the store root, the broker does not shut down.
//!
//! Knobs (environment):
//! - `FERROMQ_FUZZ_SEED`: the seed (default [`DEFAULT_SEED`], so CI runs are reproducible;
//!   `clock` takes one from the clock; always printed for replay);
//! - `FERROMQ_FUZZ_SECS`: fuzz duration in seconds (default 30);
//! - `FERROMQ_FUZZ_MAX_REQUESTS`: request bound (default 1,000,000);
//! - `FERROMQ_FUZZ_WORKERS` / `FERROMQ_FUZZ_INFLIGHT`: workers and requests in flight per worker
//!   (default 4 and 4); with `1` and `1` a seed replays the same request sequence;
//! - `FERROMQ_FUZZ_CODES`: comma-separated request codes (numbers or names) to restrict the
//!   generators to, e.g. `310,SEND_BATCH_MESSAGE` (to bisect a finding); `raw` and `random` name
//!   the garbage-frame and random-code generators; a list of only `-CODE` items excludes those;
//! - `FERROMQ_FUZZ_ONLY`: comma-separated case ids (`w0#14,w0#30`, as printed in findings) to
//!   send, skipping every other generated case: with one worker, one request in flight and the
//!   same seed and codes, this replays a subset to minimise a finding (codes whose generators
//!   use answers, END_TRANSACTION and CONSUMER_SEND_MSG_BACK, replay only approximately);
//! - `FERROMQ_FUZZ_TAME_REAL_TOPIC=1`: `REAL_TOPIC` / `REAL_QID` properties get only ordinary
//!   values (`FuzzT1`, `FuzzT2`, queue 0 or 1), to look past the dispatcher stall that a hostile
//!   `REAL_TOPIC` causes;
//! - `FERROMQ_FUZZ_TRACE=1`: print every request as it is sent (`SEND <case id>: ...`);
//! - `FERROMQ_FUZZ_MAX_RSS_MB`: anonymous memory past which the run reports the requests in
//!   flight and exits (default 2048), so that unbounded memory cannot take the machine down.
//!
//! Run: `cargo test -p ferromq-broker --test request_fuzz -- --nocapture`.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use ferromq_broker::Settings;
use ferromq_common::now_ms;
use ferromq_namesrv::NamesrvConfig;
use ferromq_protocol::body::{
    CheckClientRequestBody, ConsumerData, DataVersion, ExpressionType, HeartbeatData, ProducerData,
    RegisterBrokerBody, SubscriptionData, TopicConfig, TopicConfigSerializeWrapper,
};
use ferromq_protocol::ext::ExtFields;
use ferromq_protocol::header::admin::*;
use ferromq_protocol::header::client::*;
use ferromq_protocol::header::namesrv::*;
use ferromq_protocol::header::offset::*;
use ferromq_protocol::header::pull::{PullMessageRequestHeader, PullMessageResponseHeader};
use ferromq_protocol::header::query::{QueryMessageRequestHeader, ViewMessageRequestHeader};
use ferromq_protocol::header::send::{
    SendMessageRequestHeader, SendMessageRequestHeaderV2, SendMessageResponseHeader,
};
use ferromq_protocol::header::transaction::EndTransactionRequestHeader;
use ferromq_protocol::header::{BoundaryType, TopicFilterType};
use ferromq_protocol::message::{
    decode_all, encode_batch_to_bytes, BatchMessage, DecodeOptions, MessageId, Properties,
};
use ferromq_protocol::{CommandHeader, RemotingCommand, RequestCode, ResponseCode};
use ferromq_remoting::{Connection, ConnectionConfig, IgnoreRequests, RemotingError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The seed of a run that names none.
const DEFAULT_SEED: u64 = 20_261_206;
/// A request not answered within this is a stall.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a sent message may take to be dispatched (indexed) before the dispatcher counts as
/// stalled.
const DISPATCH_DEADLINE: Duration = Duration::from_secs(10);
/// Broker name and cluster of the broker under test.
const BROKER_NAME: &str = "broker-fuzz";
const CLUSTER: &str = "DefaultCluster";
/// Ordinary topics created before fuzzing (4 queues each).
const TOPICS: [&str; 4] = ["FuzzT0", "FuzzT1", "FuzzT2", "FuzzT3"];
/// The topic the dispatcher probe writes to; never produced by the generators.
const PROBE_TOPIC: &str = "FuzzProbeTopic";
const GROUPS: [&str; 3] = ["FG0", "FG1", "FG2"];

// ---------------------------------------------------------------------------------------------
// Seeded RNG (splitmix64): reproducible without a dependency.

#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// True with probability `percent` %.
    fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn range_i64(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % (hi - lo).max(1) as u64) as i64
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }

    fn ascii(&mut self, n: usize) -> String {
        const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-%|";
        (0..n).map(|_| *self.pick(CHARS) as char).collect()
    }
}

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    match v.trim().parse() {
        Ok(n) => Some(n),
        Err(_) => panic!("{name}={v:?} is not a number"),
    }
}

/// `VmRSS` of this process (servers and fuzzer), with its anonymous and file-backed parts.
fn memory() -> String {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return "?".into();
    };
    ["VmRSS:", "RssAnon:", "RssFile:"]
        .iter()
        .filter_map(|k| status.lines().find(|l| l.starts_with(k)))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join(", ")
}

// ---------------------------------------------------------------------------------------------
// Panic counting.

static PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let thread = std::thread::current();
        let text = format!("thread `{}`: {info}", thread.name().unwrap_or("<unnamed>"));
        PANICS.lock().unwrap_or_else(|e| e.into_inner()).push(text);
        previous(info);
    }));
}

fn panics() -> Vec<String> {
    PANICS.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

// ---------------------------------------------------------------------------------------------
// The servers, in their own runtime so that a stalled server cannot stall the fuzzer's timers.

#[derive(Debug)]
struct Servers {
    nsrv_addr: String,
    broker_addr: String,
    store_root: PathBuf,
    outer: PathBuf,
    stop_broker: Option<tokio::sync::oneshot::Sender<()>>,
    stop_nsrv: Option<tokio::sync::oneshot::Sender<()>>,
    broker_done: std::sync::mpsc::Receiver<String>,
    _dir: tempfile::TempDir,
}

/// A two-thread runtime on its own thread, running `f`.
fn spawn_runtime<F, Fut>(name: &str, f: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    let name = name.to_owned();
    std::thread::Builder::new()
        .name(name.clone())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name(format!("{name}-rt"))
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(f());
            rt.shutdown_timeout(Duration::from_secs(5));
        })
        .unwrap();
}

/// The name server and the broker, each in its own runtime (as they would be in their own
/// processes: a broker that blocks its threads must not stall the name server).
fn start_servers() -> Servers {
    let dir = tempfile::tempdir().unwrap();
    // The store lives two levels down so that a file written through `..` in a name shows up
    // in `outer` (checked after fuzzing).
    let outer = dir.path().join("outer");
    let store_root = outer.join("data").join("store");
    std::fs::create_dir_all(&store_root).unwrap();
    let nsrv_dir = dir.path().join("namesrv");
    std::fs::create_dir_all(&nsrv_dir).unwrap();
    let (addr_tx, addr_rx) = std::sync::mpsc::channel::<String>();
    let (stop_b_tx, stop_b_rx) = tokio::sync::oneshot::channel::<()>();
    let (stop_n_tx, stop_n_rx) = tokio::sync::oneshot::channel::<()>();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<String>();
    spawn_runtime("fuzz-namesrv", move || async move {
        let nl = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        addr_tx.send(nl.local_addr().unwrap().to_string()).unwrap();
        let config = NamesrvConfig {
            kv_config_path: nsrv_dir.join("kvConfig.json"),
            config_store_path: nsrv_dir.join("namesrv.properties"),
            ..NamesrvConfig::default()
        };
        let _ = ferromq_namesrv::run(nl, config, async move {
            let _ = stop_n_rx.await;
        })
        .await;
    });
    let nsrv_addr = addr_rx.recv_timeout(Duration::from_secs(60)).unwrap();
    let (addr_tx, addr_rx) = std::sync::mpsc::channel::<String>();
    let root = store_root.clone();
    let namesrv_addr = nsrv_addr.clone();
    spawn_runtime("fuzz-broker", move || async move {
        let bl = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = bl.local_addr().unwrap().port();
        let mut settings = Settings::default();
        settings.broker.broker_name = BROKER_NAME.to_owned();
        settings.broker.broker_cluster_name = CLUSTER.to_owned();
        settings.broker.broker_ip1 = "127.0.0.1".to_owned();
        settings.broker.listen_port = port;
        settings.broker.namesrv_addr = namesrv_addr;
        settings.store = ferromq_store::StoreConfig {
            mapped_file_size_commit_log: 8 << 20,
            max_hash_slot_num: 4096,
            max_index_num: 16384,
            max_message_size: 1 << 20,
            ..ferromq_store::StoreConfig::with_root(&root)
        };
        let broker = ferromq_broker::open(settings).await.unwrap();
        addr_tx.send(format!("127.0.0.1:{port}")).unwrap();
        let result = ferromq_broker::run(broker, bl, None, async move {
            let _ = stop_b_rx.await;
        })
        .await;
        let _ = done_tx.send(format!("{result:?}"));
    });
    let broker_addr = addr_rx.recv_timeout(Duration::from_secs(60)).unwrap();
    Servers {
        nsrv_addr,
        broker_addr,
        store_root,
        outer,
        stop_broker: Some(stop_b_tx),
        stop_nsrv: Some(stop_n_tx),
        broker_done: done_rx,
        _dir: dir,
    }
}

async fn connect(addr: &str) -> Result<Connection, RemotingError> {
    Connection::connect(addr, Arc::new(IgnoreRequests), ConnectionConfig::default()).await
}

// ---------------------------------------------------------------------------------------------
// Value pools.

const HOSTILE_NAMES: &[&str] = &[
    "",
    " ",
    "a/b",
    "../../../x",
    "..",
    ".",
    "/",
    "a\\b",
    "%RETRY%",
    "%DLQ%",
    "%RETRY%FG0",
    "%DLQ%FG0",
    "%RETRY%../x",
    "%DLQ%a/b",
    "%RETRY%%RETRY%FG1",
    "rmq_sys_wheel_timer",
    "SCHEDULE_TOPIC_XXXX",
    "RMQ_SYS_TRANS_HALF_TOPIC",
    "RMQ_SYS_TRANS_OP_HALF_TOPIC",
    "TRANS_CHECK_MAX_TIME_TOPIC",
    "SELF_TEST_TOPIC",
    "OFFSET_MOVED_EVENT",
    "TBW102",
    "DefaultCluster",
    BROKER_NAME,
    "rmq_sys_REVIVE_LOG_DefaultCluster",
    "CID_RMQ_SYS_TRANS",
    "TOOLS_CONSUMER",
    "a b",
    "a\nb",
    "a\u{0}b",
    "\u{1}\u{2}",
    "a=b",
    "тема",
    "null",
    "{}",
    "[1,2",
    "\"quoted\"",
    "*",
    "||",
];

const HOSTILE_NUMBERS: &[&str] = &[
    "-1",
    "0",
    "1",
    "-5",
    "2147483647",
    "-2147483648",
    "2147483648",
    "-2147483649",
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775808",
    "99999999999999999999999",
    "1e9",
    "0x10",
    " 5",
    "5 ",
    "abc",
    "",
    "NaN",
    "-0",
    "+7",
    "007",
    "1.5",
    "65536",
];

const HOSTILE_BOOLS: &[&str] = &["yes", "TRUE", "1", "", "null", "tru", "false ", "0"];

const I32S: &[i32] = &[
    0,
    1,
    2,
    3,
    4,
    7,
    8,
    16,
    -1,
    -5,
    1000,
    65536,
    i32::MAX,
    i32::MIN,
    i32::MAX - 1,
];

const I64S: &[i64] = &[
    0,
    1,
    -1,
    5,
    i64::MAX,
    i64::MIN,
    i32::MAX as i64,
    (i32::MAX as i64) + 1,
    8 << 20,
    (8 << 20) - 1,
    1 << 40,
];

const SQL: &[&str] = &[
    "a > 5",
    "TAGS is not null and a between 1 and 3",
    "((((((((((((((((((((a = 1))))))))))))))))))))",
    "a in ('x','y') or b like '%z%'",
    "a >",
    "'unterminated",
    "a = 99999999999999999999999999",
    "not not not not a = 1",
    "a / 0 = 1",
    "TRUE",
    "",
];

/// Topics the broker writes to itself.
const SYSTEM_TOPICS: &[&str] = &[
    "rmq_sys_wheel_timer",
    "rmq_sys_wheel_timer",
    "SCHEDULE_TOPIC_XXXX",
    "RMQ_SYS_TRANS_HALF_TOPIC",
    "RMQ_SYS_TRANS_OP_HALF_TOPIC",
    "%RETRY%FG0",
    "%DLQ%FG0",
];

const TAG_EXPRS: &[&str] = &[
    "*",
    "TagA",
    "TagA||TagB",
    "||",
    "",
    " || ",
    "a||b||c||d||e||f",
];

/// What the generators know beyond the pools: commit-log and queue offsets seen in answers.
#[derive(Debug, Default)]
struct Learned {
    /// (commit-log offset, queue offset, topic, uniq msg id) of messages stored.
    stored: Vec<(i64, i64, String, String)>,
}

#[derive(Debug)]
struct Gen<'a> {
    rng: &'a mut Rng,
    learned: &'a Learned,
    /// `FERROMQ_FUZZ_TAME_REAL_TOPIC=1`: REAL_TOPIC / REAL_QID only ordinary values.
    tame: bool,
}

impl Gen<'_> {
    fn topic(&mut self) -> String {
        match self.rng.below(100) {
            0..=59 => (*self.rng.pick(&TOPICS)).to_owned(),
            60..=84 => (*self.rng.pick(HOSTILE_NAMES)).to_owned(),
            85..=89 => format!("Fuzz{}", self.rng.ascii(6)),
            90..=94 => format!("%RETRY%{}", self.rng.pick(&GROUPS)),
            95..=97 => "x".repeat(*self.rng.pick(&[127usize, 128, 255, 256, 4000])),
            _ => format!("%DLQ%{}", self.rng.pick(&GROUPS)),
        }
    }

    fn group(&mut self) -> String {
        match self.rng.below(100) {
            0..=69 => (*self.rng.pick(&GROUPS)).to_owned(),
            70..=89 => (*self.rng.pick(HOSTILE_NAMES)).to_owned(),
            90..=94 => "g".repeat(*self.rng.pick(&[255usize, 256, 10_000])),
            _ => self.rng.ascii(8),
        }
    }

    fn name(&mut self) -> String {
        if self.rng.chance(70) {
            {
                let n = 1 + self.rng.below(12);
                self.rng.ascii(n)
            }
        } else {
            (*self.rng.pick(HOSTILE_NAMES)).to_owned()
        }
    }

    /// An ACL 2.0 user name: a few known ones, or a hostile name.
    fn auth_user(&mut self) -> String {
        if self.rng.chance(70) {
            (*self.rng.pick(&["alice", "bob", "root", "carol"])).to_owned()
        } else {
            self.name()
        }
    }

    /// An ACL 2.0 resource key, valid or not.
    fn auth_resource(&mut self) -> String {
        match self.rng.below(6) {
            0 => "*".to_owned(),
            1 => format!("Topic:{}", self.topic()),
            2 => format!("Group:{}*", self.group()),
            3 => "Topic:*".to_owned(),
            4 => format!("Cluster:{CLUSTER}"),
            _ => self.name(),
        }
    }

    fn queue_id(&mut self) -> i32 {
        if self.rng.chance(75) {
            self.rng.below(4) as i32
        } else {
            *self.rng.pick(I32S)
        }
    }

    fn small_i32(&mut self, good_max: i32) -> i32 {
        if self.rng.chance(75) {
            self.rng.below(good_max as usize + 1) as i32
        } else {
            *self.rng.pick(I32S)
        }
    }

    fn i64v(&mut self) -> i64 {
        if self.rng.chance(50) {
            self.rng.range_i64(0, 100)
        } else {
            *self.rng.pick(I64S)
        }
    }

    /// A commit-log offset: a record start, the middle of a record, the end, beyond the log.
    fn commit_offset(&mut self) -> i64 {
        let known = &self.learned.stored;
        match self.rng.below(10) {
            0..=4 if !known.is_empty() => known[self.rng.below(known.len())].0,
            5 if !known.is_empty() => {
                known[self.rng.below(known.len())].0 + self.rng.range_i64(1, 200)
            }
            6 => self.rng.range_i64(0, 1 << 20),
            7 => *self
                .rng
                .pick(&[(8 << 20) - 1, 8 << 20, (8 << 20) + 1, (16 << 20) - 4]),
            _ => *self.rng.pick(I64S),
        }
    }

    fn timestamp(&mut self) -> i64 {
        let now = now_ms();
        match self.rng.below(8) {
            0..=3 => now - self.rng.range_i64(0, 60_000),
            4 => now + self.rng.range_i64(0, 5_000),
            5 => *self.rng.pick(&[0, -1, i64::MAX, i64::MIN]),
            6 => now + 4 * 86_400_000,
            _ => self.rng.range_i64(0, now),
        }
    }

    fn boolean(&mut self) -> bool {
        self.rng.chance(50)
    }

    /// A message properties string with a random selection of (system) properties.
    fn properties(&mut self) -> String {
        let mut p = Properties::new();
        if self.rng.chance(70) {
            p.insert("TAGS", *self.rng.pick(&["TagA", "TagB", "", "a||b", "*"]));
        }
        if self.rng.chance(50) {
            p.insert("KEYS", *self.rng.pick(&["k1", "k1 k2", "", " ", "kk"]));
        }
        if self.rng.chance(40) {
            p.insert("UNIQ_KEY", format!("{:032X}", self.rng.next_u64()));
        }
        if self.rng.chance(30) {
            p.insert("WAIT", *self.rng.pick(&["true", "false", "x"]));
        }
        let now = now_ms();
        let extra = self.rng.below(5);
        for _ in 0..extra {
            let (k, v) = match self.rng.below(18) {
                0 => (
                    "DELAY",
                    self.rng
                        .pick(&["1", "2", "3", "18", "19", "0", "-1", "2147483647", "abc"])
                        .to_string(),
                ),
                1 if self.tame => ("REAL_TOPIC", "FuzzT1".to_owned()),
                1 => ("REAL_TOPIC", self.topic()),
                2 if self.tame => ("REAL_QID", "1".to_owned()),
                2 => ("REAL_QID", self.queue_id().to_string()),
                3 => ("TIMER_DELIVER_MS", self.timer_value(now)),
                4 => (
                    "TIMER_DELAY_SEC",
                    self.rng
                        .pick(&["1", "0", "-1", "3", "259201", "9223372036854775807", "x"])
                        .to_string(),
                ),
                5 => (
                    "TIMER_DELAY_MS",
                    self.rng
                        .pick(&["500", "1000", "0", "-1", "9223372036854775807", "x"])
                        .to_string(),
                ),
                6 => ("TIMER_OUT_MS", self.timer_value(now)),
                7 => (
                    "TRAN_MSG",
                    self.rng.pick(&["true", "false", "TRUE", ""]).to_string(),
                ),
                8 => ("PGROUP", self.group()),
                9 => ("RETRY_TOPIC", self.topic()),
                10 => (
                    "MAX_RECONSUME_TIMES",
                    self.rng.pick(HOSTILE_NUMBERS).to_string(),
                ),
                11 => (
                    "TRAN_PREPARED_QUEUE_OFFSET",
                    self.rng.pick(HOSTILE_NUMBERS).to_string(),
                ),
                12 => ("__transactionId__", self.name()),
                13 => (
                    "CHECK_IMMUNITY_TIME_IN_SECONDS",
                    self.rng.pick(HOSTILE_NUMBERS).to_string(),
                ),
                14 => ("TIMER_DEL_UNIQKEY", self.name()),
                15 => ("INNER_NUM", self.rng.pick(HOSTILE_NUMBERS).to_string()),
                16 => (
                    "TIMER_ROLL_TIMES",
                    self.rng.pick(HOSTILE_NUMBERS).to_string(),
                ),
                _ => ("MIN_OFFSET", self.rng.pick(HOSTILE_NUMBERS).to_string()),
            };
            p.insert(k, v);
        }
        let mut text = p.encode();
        if self.rng.chance(5) {
            // Garbled separators.
            const GARBLED: &[&str] = &[
                "\u{1}",
                "\u{2}",
                "KEY_ONLY",
                "\u{1}\u{1}\u{2}\u{2}",
                "=\u{1}",
            ];
            let garbled = *self.rng.pick::<&str>(GARBLED);
            text.push_str(garbled);
        }
        if self.rng.chance(2) {
            text = "P\u{1}".to_owned() + &"v".repeat(40_000);
        }
        text
    }

    /// Properties of a message the broker itself parked or forwards: a real topic and queue
    /// (often hostile) and a delivery time that comes due during the run.
    fn system_properties(&mut self) -> String {
        let now = now_ms();
        let mut p = Properties::new();
        let real_topic = if self.rng.chance(if self.tame { 0 } else { 50 }) {
            (*self.rng.pick(&[
                "a/b",
                "../x",
                "",
                "%RETRY%",
                "a b",
                "x/../../y",
                "SCHEDULE_TOPIC_XXXX",
                "rmq_sys_wheel_timer",
            ]))
            .to_owned()
        } else {
            if self.tame {
                "FuzzT2".to_owned()
            } else {
                self.topic()
            }
        };
        if self.rng.chance(90) {
            p.insert("REAL_TOPIC", real_topic);
        }
        if self.rng.chance(90) {
            p.insert(
                "REAL_QID",
                (*self.rng.pick(if self.tame {
                    &["0", "1"][..]
                } else {
                    &["0", "1", "-5", "2147483647", "x", ""][..]
                }))
                .to_owned(),
            );
        }
        let due = (now + self.rng.range_i64(0, 2_000)).to_string();
        match self.rng.below(4) {
            0 => {
                p.insert("TIMER_OUT_MS", due);
            }
            1 => {
                p.insert("TIMER_OUT_MS", self.timer_value(now));
            }
            2 => {
                p.insert(
                    "DELAY",
                    (*self.rng.pick(&["1", "2", "0", "-1", "99", "x"])).to_owned(),
                );
            }
            _ => {
                p.insert("TRAN_MSG", "true");
                p.insert("PGROUP", self.group());
            }
        }
        if self.rng.chance(30) {
            p.insert("UNIQ_KEY", format!("{:032X}", self.rng.next_u64()));
        }
        p.encode()
    }

    fn timer_value(&mut self, now: i64) -> String {
        match self.rng.below(7) {
            0 | 1 => (now + self.rng.range_i64(0, 3_000)).to_string(),
            2 => (now - 10_000).to_string(),
            3 => (now + 3 * 86_400_000 + 10_000).to_string(),
            4 => i64::MAX.to_string(),
            5 => (*self.rng.pick(HOSTILE_NUMBERS)).to_owned(),
            _ => (now + self.rng.range_i64(0, 60_000)).to_string(),
        }
    }

    fn message_body(&mut self) -> Vec<u8> {
        match self.rng.below(20) {
            0 => Vec::new(),
            1 => self.rng.bytes(1 << 20),
            2 => self.rng.bytes((1 << 20) + 1),
            3 => {
                let n = self.rng.below(200_000);
                self.rng.bytes(n)
            }
            _ => format!("fuzz-{}", self.rng.next_u64()).into_bytes(),
        }
    }

    fn sys_flag(&mut self) -> i32 {
        match self.rng.below(10) {
            0..=5 => 0,
            6 => 0x4, // TRANSACTION_PREPARED
            7 => 0x8, // TRANSACTION_COMMIT
            8 => 0x1, // COMPRESSED
            _ => *self.rng.pick(I32S),
        }
    }

    fn broker_addr(&mut self, real: &str) -> String {
        match self.rng.below(6) {
            0..=2 => format!("127.0.0.1:{}", 10_000 + self.rng.below(20_000)),
            3 => real.to_owned(),
            _ => self
                .rng
                .pick(&["", "garbage", "1.2.3.4", "[::1]:1", "127.0.0.1:99999", ":"])
                .to_string(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Cases.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Broker,
    Namesrv,
}

/// Codes the broker handles (`broker.rs` `process`, `admin.rs` `process_admin`).
const BROKER_CODES: &[RequestCode] = &[
    RequestCode::SEND_MESSAGE,
    RequestCode::SEND_MESSAGE_V2,
    RequestCode::SEND_BATCH_MESSAGE,
    RequestCode::SEND_REPLY_MESSAGE,
    RequestCode::SEND_REPLY_MESSAGE_V2,
    RequestCode::PULL_MESSAGE,
    RequestCode::LITE_PULL_MESSAGE,
    RequestCode::CONSUMER_SEND_MSG_BACK,
    RequestCode::HEART_BEAT,
    RequestCode::LOCK_BATCH_MQ,
    RequestCode::UNLOCK_BATCH_MQ,
    RequestCode::CHECK_CLIENT_CONFIG,
    RequestCode::END_TRANSACTION,
    RequestCode::UNREGISTER_CLIENT,
    RequestCode::GET_CONSUMER_LIST_BY_GROUP,
    RequestCode::QUERY_CONSUMER_OFFSET,
    RequestCode::UPDATE_CONSUMER_OFFSET,
    RequestCode::GET_MAX_OFFSET,
    RequestCode::GET_MIN_OFFSET,
    RequestCode::SEARCH_OFFSET_BY_TIMESTAMP,
    RequestCode::GET_EARLIEST_MSG_STORETIME,
    RequestCode::VIEW_MESSAGE_BY_ID,
    RequestCode::QUERY_MESSAGE,
    RequestCode::UPDATE_AND_CREATE_TOPIC,
    RequestCode::GET_ALL_TOPIC_CONFIG,
    RequestCode::GET_TOPIC_CONFIG,
    RequestCode::GET_SUBSCRIPTIONGROUP_CONFIG,
    RequestCode::GET_ALL_DELAY_OFFSET,
    RequestCode::GET_BROKER_RUNTIME_INFO,
    RequestCode::GET_BROKER_HA_STATUS,
    RequestCode::GET_CONSUMER_RUNNING_INFO,
    RequestCode::CLONE_GROUP_OFFSET,
    RequestCode::GET_BROKER_CONSUME_STATS,
    RequestCode::QUERY_CONSUME_TIME_SPAN,
    RequestCode::QUERY_CONSUME_QUEUE,
    RequestCode::CLEAN_EXPIRED_CONSUMEQUEUE,
    RequestCode::CLEAN_UNUSED_TOPIC,
    RequestCode::GET_ALL_PRODUCER_INFO,
    RequestCode::UPDATE_AND_GET_GROUP_FORBIDDEN,
    RequestCode::VIEW_BROKER_STATS_DATA,
    RequestCode::CONSUME_MESSAGE_DIRECTLY,
    RequestCode::INVOKE_BROKER_TO_RESET_OFFSET,
    RequestCode::INVOKE_BROKER_TO_GET_CONSUMER_STATUS,
    RequestCode::GET_TOPIC_STATS_INFO,
    RequestCode::GET_CONSUME_STATS,
    RequestCode::GET_CONSUMER_CONNECTION_LIST,
    RequestCode::GET_PRODUCER_CONNECTION_LIST,
    RequestCode::GET_BROKER_CONFIG,
    RequestCode::UPDATE_BROKER_CONFIG,
    RequestCode::DELETE_TOPIC_IN_BROKER,
    RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP,
    RequestCode::GET_ALL_SUBSCRIPTIONGROUP_CONFIG,
    RequestCode::DELETE_SUBSCRIPTIONGROUP,
    RequestCode::GET_ALL_CONSUMER_OFFSET,
    RequestCode::QUERY_TOPIC_CONSUME_BY_WHO,
    RequestCode::AUTH_CREATE_USER,
    RequestCode::AUTH_UPDATE_USER,
    RequestCode::AUTH_DELETE_USER,
    RequestCode::AUTH_GET_USER,
    RequestCode::AUTH_LIST_USER,
    RequestCode::AUTH_CREATE_ACL,
    RequestCode::AUTH_UPDATE_ACL,
    RequestCode::AUTH_DELETE_ACL,
    RequestCode::AUTH_GET_ACL,
    RequestCode::AUTH_LIST_ACL,
    RequestCode::UPDATE_AND_CREATE_ACL_CONFIG,
    RequestCode::DELETE_ACL_CONFIG,
    RequestCode::GET_BROKER_CLUSTER_ACL_INFO,
    RequestCode::UPDATE_GLOBAL_WHITE_ADDRS_CONFIG,
    RequestCode::GET_BROKER_CLUSTER_ACL_CONFIG,
];

/// Codes the name server handles (`processor.rs` `process`).
const NAMESRV_CODES: &[RequestCode] = &[
    RequestCode::PUT_KV_CONFIG,
    RequestCode::GET_KV_CONFIG,
    RequestCode::DELETE_KV_CONFIG,
    RequestCode::GET_KVLIST_BY_NAMESPACE,
    RequestCode::QUERY_DATA_VERSION,
    RequestCode::REGISTER_BROKER,
    RequestCode::UNREGISTER_BROKER,
    RequestCode::BROKER_HEARTBEAT,
    RequestCode::GET_ROUTEINFO_BY_TOPIC,
    RequestCode::GET_BROKER_CLUSTER_INFO,
    RequestCode::GET_BROKER_MEMBER_GROUP,
    RequestCode::WIPE_WRITE_PERM_OF_BROKER,
    RequestCode::ADD_WRITE_PERM_OF_BROKER,
    RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER,
    RequestCode::DELETE_TOPIC_IN_NAMESRV,
    RequestCode::REGISTER_TOPIC_IN_NAMESRV,
    RequestCode::GET_TOPICS_BY_CLUSTER,
    RequestCode::GET_SYSTEM_TOPIC_LIST_FROM_NS,
    RequestCode::GET_UNIT_TOPIC_LIST,
    RequestCode::GET_HAS_UNIT_SUB_TOPIC_LIST,
    RequestCode::GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST,
    RequestCode::UPDATE_NAMESRV_CONFIG,
    RequestCode::GET_NAMESRV_CONFIG,
];

/// What one generated request is.
#[derive(Debug)]
enum Case {
    /// A command to one server.
    Request {
        target: Target,
        cmd: RemotingCommand,
        oneway: bool,
        /// How long to wait before calling it a stall.
        timeout: Duration,
        mutations: Vec<String>,
    },
    /// Raw bytes on a fresh connection to one server.
    Raw {
        target: Target,
        bytes: Vec<u8>,
        what: &'static str,
    },
}

/// Which generators run (`FERROMQ_FUZZ_CODES`).
#[derive(Debug, Clone)]
struct Selection {
    broker: Vec<RequestCode>,
    namesrv: Vec<RequestCode>,
    raw: bool,
    random: bool,
    tame_real_topic: bool,
}

impl Selection {
    fn from_env() -> Selection {
        let all = Selection {
            broker: BROKER_CODES.to_vec(),
            namesrv: NAMESRV_CODES.to_vec(),
            raw: true,
            random: true,
            tame_real_topic: std::env::var("FERROMQ_FUZZ_TAME_REAL_TOPIC").is_ok_and(|v| v == "1"),
        };
        let Ok(list) = std::env::var("FERROMQ_FUZZ_CODES") else {
            return all;
        };
        let items: Vec<&str> = list
            .split(',')
            .map(str::trim)
            .filter(|i| !i.is_empty())
            .collect();
        if items.iter().all(|i| i.starts_with('-')) {
            // Only exclusions: everything but these.
            let mut s = all;
            for item in items {
                let item = &item[1..];
                match item {
                    "raw" => s.raw = false,
                    "random" => s.random = false,
                    _ => {
                        let code = parse_code(item);
                        s.broker.retain(|c| *c != code);
                        s.namesrv.retain(|c| *c != code);
                    }
                }
            }
            return s;
        }
        let mut s = Selection {
            broker: Vec::new(),
            namesrv: Vec::new(),
            raw: false,
            random: false,
            tame_real_topic: all.tame_real_topic,
        };
        for item in items {
            match item {
                "raw" => s.raw = true,
                "random" => s.random = true,
                _ => {
                    let code = parse_code(item);
                    let mut known = false;
                    if BROKER_CODES.contains(&code) {
                        s.broker.push(code);
                        known = true;
                    }
                    if NAMESRV_CODES.contains(&code) {
                        s.namesrv.push(code);
                        known = true;
                    }
                    assert!(
                        known,
                        "FERROMQ_FUZZ_CODES: {code} is handled by neither server"
                    );
                }
            }
        }
        s
    }
}

fn parse_code(item: &str) -> RequestCode {
    item.parse::<i32>()
        .ok()
        .map(RequestCode)
        .or_else(|| RequestCode::from_name(item))
        .unwrap_or_else(|| panic!("FERROMQ_FUZZ_CODES: unknown code {item}"))
}

fn ext<H: CommandHeader>(h: &H) -> ExtFields {
    h.to_ext()
}

/// A valid-looking request of `code` for the broker: header fields and body.
fn broker_request(g: &mut Gen<'_>, code: RequestCode, broker_addr: &str) -> (ExtFields, Vec<u8>) {
    let _ = broker_addr;
    match code {
        RequestCode::SEND_MESSAGE
        | RequestCode::SEND_MESSAGE_V2
        | RequestCode::SEND_BATCH_MESSAGE
        | RequestCode::SEND_REPLY_MESSAGE
        | RequestCode::SEND_REPLY_MESSAGE_V2 => {
            let batch = code == RequestCode::SEND_BATCH_MESSAGE;
            let reply = matches!(
                code,
                RequestCode::SEND_REPLY_MESSAGE | RequestCode::SEND_REPLY_MESSAGE_V2
            );
            // One send in eight goes to a system topic with the properties the broker's own
            // timer / schedule / transaction / retry paths read back.
            let system = g.rng.chance(12);
            let v1 = SendMessageRequestHeader {
                producer_group: g.group(),
                topic: if system {
                    (*g.rng.pick(SYSTEM_TOPICS)).to_owned()
                } else {
                    g.topic()
                },
                default_topic: if g.rng.chance(85) {
                    "TBW102".into()
                } else {
                    g.topic()
                },
                default_topic_queue_nums: g.small_i32(8),
                queue_id: if g.rng.chance(20) { -1 } else { g.queue_id() },
                sys_flag: g.sys_flag(),
                born_timestamp: g.timestamp(),
                flag: g.small_i32(3),
                properties: Some(if system {
                    g.system_properties()
                } else {
                    g.properties()
                }),
                reconsume_times: g.rng.chance(30).then(|| g.small_i32(20)),
                unit_mode: g.rng.chance(10).then(|| g.boolean()),
                batch: batch.then_some(true),
                max_reconsume_times: g.rng.chance(20).then(|| g.small_i32(20)),
                broker_name: g.rng.chance(20).then(|| BROKER_NAME.to_owned()),
            };
            let mut v1 = v1;
            if reply {
                // Replies go to the cluster's reply topic, to a requester the broker does not
                // know (no client here answers a pushed reply), or without one.
                if g.rng.chance(70) {
                    v1.topic = "DefaultCluster_REPLY_TOPIC".to_owned();
                }
                let mut p = Properties::decode(v1.properties.as_deref().unwrap_or(""));
                p.insert("MSG_TYPE", "reply");
                p.insert("CORRELATION_ID", g.rng.ascii(12));
                match g.rng.below(4) {
                    0 => {}
                    1 => {
                        p.insert("REPLY_TO_CLIENT", "");
                    }
                    2 => {
                        p.insert("REPLY_TO_CLIENT", "127.0.0.1@nobody");
                    }
                    _ => {
                        p.insert("REPLY_TO_CLIENT", g.rng.ascii(20));
                    }
                }
                v1.properties = Some(p.encode());
            }
            let body = if batch {
                let n = if g.rng.chance(90) {
                    1 + g.rng.below(5)
                } else {
                    200
                };
                let msgs: Vec<BatchMessage> = (0..n)
                    .map(|_| BatchMessage {
                        flag: g.small_i32(3),
                        body: Bytes::from(g.message_body()),
                        properties: Properties::decode(&g.properties()),
                    })
                    .collect();
                match encode_batch_to_bytes(&msgs) {
                    Ok(b) => b.to_vec(),
                    Err(_) => g.rng.bytes(100),
                }
            } else {
                g.message_body()
            };
            let fields = if matches!(
                code,
                RequestCode::SEND_MESSAGE | RequestCode::SEND_REPLY_MESSAGE
            ) {
                ext(&v1)
            } else {
                ext(&SendMessageRequestHeaderV2 {
                    producer_group: v1.producer_group,
                    topic: v1.topic,
                    default_topic: v1.default_topic,
                    default_topic_queue_nums: v1.default_topic_queue_nums,
                    queue_id: v1.queue_id,
                    sys_flag: v1.sys_flag,
                    born_timestamp: v1.born_timestamp,
                    flag: v1.flag,
                    properties: v1.properties,
                    reconsume_times: v1.reconsume_times,
                    unit_mode: v1.unit_mode,
                    max_reconsume_times: v1.max_reconsume_times,
                    batch: v1.batch,
                    broker_name: v1.broker_name,
                })
            };
            (fields, body)
        }
        RequestCode::PULL_MESSAGE | RequestCode::LITE_PULL_MESSAGE => {
            let sql = g.rng.chance(20);
            let h = PullMessageRequestHeader {
                consumer_group: g.group(),
                topic: g.topic(),
                queue_id: g.queue_id(),
                queue_offset: if g.rng.chance(50) {
                    g.rng.range_i64(0, 4)
                } else {
                    g.i64v()
                },
                max_msg_nums: g.small_i32(32),
                sys_flag: *g.rng.pick(&[0, 1, 2, 3, 4, 6, 7, 8, 15, -1]),
                commit_offset: g.i64v(),
                suspend_timeout_millis: if g.rng.chance(90) {
                    g.rng.range_i64(0, 1500)
                } else {
                    *g.rng.pick(I64S)
                },
                subscription: g.rng.chance(60).then(|| {
                    if sql {
                        (*g.rng.pick(SQL)).to_owned()
                    } else {
                        (*g.rng.pick(TAG_EXPRS)).to_owned()
                    }
                }),
                sub_version: g.i64v(),
                expression_type: g.rng.chance(50).then(|| {
                    if sql {
                        "SQL92"
                    } else {
                        *g.rng.pick(&["TAG", "", "XPATH"])
                    }
                    .to_owned()
                }),
                max_msg_bytes: g.rng.chance(30).then(|| *g.rng.pick(I32S)),
                request_source: g.rng.chance(10).then(|| g.small_i32(3)),
                proxy_forward_client_id: None,
                broker_name: None,
            };
            (ext(&h), Vec::new())
        }
        RequestCode::CONSUMER_SEND_MSG_BACK => {
            let origin = g
                .learned
                .stored
                .get(g.rng.below(g.learned.stored.len().max(1)))
                .cloned();
            let h = ConsumerSendMsgBackRequestHeader {
                offset: g.commit_offset(),
                group: g.group(),
                delay_level: g.small_i32(18),
                origin_msg_id: g
                    .rng
                    .chance(50)
                    .then(|| origin.as_ref().map(|o| o.3.clone()).unwrap_or_default()),
                origin_topic: g.rng.chance(60).then(|| {
                    origin
                        .as_ref()
                        .map(|o| o.2.clone())
                        .unwrap_or_else(|| g.topic())
                }),
                unit_mode: g.rng.chance(10).then(|| g.boolean()),
                max_reconsume_times: g.rng.chance(40).then(|| g.small_i32(16)),
                broker_name: None,
            };
            (ext(&h), Vec::new())
        }
        RequestCode::HEART_BEAT => (ExtFields::new(), heartbeat_body(g)),
        RequestCode::LOCK_BATCH_MQ | RequestCode::UNLOCK_BATCH_MQ => {
            let n = if g.rng.chance(95) {
                g.rng.below(6)
            } else {
                5000
            };
            let mqs: Vec<String> = (0..n)
                .map(|_| {
                    format!(
                        "{{\"brokerName\":{},\"queueId\":{},\"topic\":{}}}",
                        json_str(&if g.rng.chance(80) {
                            BROKER_NAME.to_owned()
                        } else {
                            g.name()
                        }),
                        g.queue_id(),
                        json_str(&g.topic())
                    )
                })
                .collect();
            let body = format!(
                "{{\"clientId\":{},\"consumerGroup\":{},\"mqSet\":[{}],\"onlyThisBroker\":{}}}",
                json_str(&format!("127.0.0.1@{}", g.rng.below(4))),
                json_str(&g.group()),
                mqs.join(","),
                g.boolean()
            );
            (ext(&LockBatchMqRequestHeader::default()), body.into_bytes())
        }
        RequestCode::CHECK_CLIENT_CONFIG => {
            let sql = g.rng.chance(70);
            let body = CheckClientRequestBody {
                client_id: "127.0.0.1@fuzz".into(),
                group: g.group(),
                namespace: None,
                subscription_data: g.rng.chance(90).then(|| SubscriptionData {
                    topic: g.topic(),
                    sub_string: if sql {
                        (*g.rng.pick(SQL)).to_owned()
                    } else {
                        (*g.rng.pick(TAG_EXPRS)).to_owned()
                    },
                    expression_type: if sql {
                        ExpressionType::Sql92
                    } else {
                        ExpressionType::Tag
                    },
                    sub_version: g.i64v(),
                    ..Default::default()
                }),
            };
            (ExtFields::new(), body.encode())
        }
        RequestCode::END_TRANSACTION => {
            let stored = g
                .learned
                .stored
                .get(g.rng.below(g.learned.stored.len().max(1)))
                .cloned();
            let h = EndTransactionRequestHeader {
                topic: g.rng.chance(30).then(|| g.topic()),
                producer_group: g.group(),
                tran_state_table_offset: stored
                    .as_ref()
                    .filter(|_| g.rng.chance(60))
                    .map(|s| s.1)
                    .unwrap_or_else(|| g.i64v()),
                commit_log_offset: g.commit_offset(),
                commit_or_rollback: *g.rng.pick(&[0, 4, 8, 12, -1, 1, i32::MAX]),
                from_transaction_check: g.rng.chance(50).then(|| g.boolean()),
                msg_id: stored
                    .as_ref()
                    .map(|s| s.3.clone())
                    .unwrap_or_else(|| g.name()),
                transaction_id: g.rng.chance(50).then(|| g.name()),
                broker_name: None,
            };
            (ext(&h), Vec::new())
        }
        RequestCode::UNREGISTER_CLIENT => {
            let h = UnregisterClientRequestHeader {
                client_id: format!("127.0.0.1@{}", g.rng.below(4)),
                producer_group: g.rng.chance(60).then(|| g.group()),
                consumer_group: g.rng.chance(60).then(|| g.group()),
                broker_name: None,
            };
            (ext(&h), Vec::new())
        }
        RequestCode::GET_CONSUMER_LIST_BY_GROUP => (
            ext(&GetConsumerListByGroupRequestHeader {
                consumer_group: g.group(),
                broker_name: None,
            }),
            Vec::new(),
        ),
        RequestCode::QUERY_CONSUMER_OFFSET => (
            ext(&QueryConsumerOffsetRequestHeader {
                consumer_group: g.group(),
                topic: g.topic(),
                queue_id: g.queue_id(),
                set_zero_if_not_found: g.rng.chance(50).then(|| g.boolean()),
                broker_name: None,
            }),
            Vec::new(),
        ),
        RequestCode::UPDATE_CONSUMER_OFFSET => (
            ext(&UpdateConsumerOffsetRequestHeader {
                consumer_group: g.group(),
                topic: g.topic(),
                queue_id: g.queue_id(),
                commit_offset: g.i64v(),
                broker_name: None,
            }),
            Vec::new(),
        ),
        RequestCode::GET_MAX_OFFSET => (
            ext(&GetMaxOffsetRequestHeader {
                topic: g.topic(),
                queue_id: g.queue_id(),
                committed: g.rng.chance(30).then(|| g.boolean()),
                broker_name: None,
            }),
            Vec::new(),
        ),
        RequestCode::GET_MIN_OFFSET => (
            ext(&GetMinOffsetRequestHeader {
                topic: g.topic(),
                queue_id: g.queue_id(),
                broker_name: None,
            }),
            Vec::new(),
        ),
        RequestCode::SEARCH_OFFSET_BY_TIMESTAMP => (
            ext(&SearchOffsetRequestHeader {
                topic: g.topic(),
                queue_id: g.queue_id(),
                timestamp: g.timestamp(),
                boundary_type: g.rng.chance(50).then(|| {
                    if g.boolean() {
                        BoundaryType::Upper
                    } else {
                        BoundaryType::Lower
                    }
                }),
                broker_name: None,
            }),
            Vec::new(),
        ),
        RequestCode::GET_EARLIEST_MSG_STORETIME => (
            ext(&GetEarliestMsgStoretimeRequestHeader {
                topic: g.topic(),
                queue_id: g.queue_id(),
                broker_name: None,
            }),
            Vec::new(),
        ),
        RequestCode::VIEW_MESSAGE_BY_ID => (
            ext(&ViewMessageRequestHeader {
                topic: g.rng.chance(50).then(|| g.topic()),
                offset: g.commit_offset(),
                broker_name: None,
            }),
            Vec::new(),
        ),
        RequestCode::QUERY_MESSAGE => (
            ext(&QueryMessageRequestHeader {
                topic: g.topic(),
                key: (*g.rng.pick(&["k1", "kk", "", " ", "k1 k2"])).to_owned(),
                max_num: g.small_i32(64),
                begin_timestamp: if g.rng.chance(70) { 0 } else { g.timestamp() },
                end_timestamp: if g.rng.chance(70) {
                    i64::MAX
                } else {
                    g.timestamp()
                },
                unique_key_query: g.rng.chance(30).then(|| g.boolean()),
                broker_name: None,
            }),
            Vec::new(),
        ),
        RequestCode::UPDATE_AND_CREATE_TOPIC => {
            // Never the probe topic (the dispatcher probe needs it unchanged).
            let mut topic = g.topic();
            if topic == PROBE_TOPIC {
                topic.push('x');
            }
            let h = CreateTopicRequestHeader {
                topic,
                default_topic: "TBW102".into(),
                read_queue_nums: g.small_i32(8),
                write_queue_nums: g.small_i32(8),
                perm: *g.rng.pick(&[6, 6, 6, 7, 2, 4, 0, -1, i32::MAX]),
                topic_filter_type: if g.boolean() {
                    TopicFilterType::SingleTag
                } else {
                    TopicFilterType::MultiTag
                },
                topic_sys_flag: g.rng.chance(30).then(|| g.small_i32(3)),
                order: g.boolean(),
                attributes: g.rng.chance(20).then(|| {
                    (*g.rng.pick(&[
                        "+message.type=NORMAL",
                        "+message.type=FIFO",
                        "+x=y",
                        "-a",
                        "garbage",
                        "+queue.type=BatchCQ",
                    ]))
                    .to_owned()
                }),
                force: g.rng.chance(10).then(|| g.boolean()),
                broker_name: None,
            };
            (ext(&h), Vec::new())
        }
        RequestCode::GET_TOPIC_STATS_INFO => (
            ext(&GetTopicStatsInfoRequestHeader {
                topic: g.topic(),
                broker_name: None,
            }),
            Vec::new(),
        ),
        RequestCode::GET_TOPIC_CONFIG => (
            ext(&GetTopicConfigRequestHeader {
                topic: g.topic(),
                lo: g.rng.chance(50).then(|| g.boolean()),
            }),
            Vec::new(),
        ),
        RequestCode::GET_SUBSCRIPTIONGROUP_CONFIG => (
            ext(&GetSubscriptionGroupConfigRequestHeader { group: g.group() }),
            Vec::new(),
        ),
        RequestCode::GET_CONSUMER_RUNNING_INFO => (
            ext(&GetConsumerRunningInfoRequestHeader {
                consumer_group: g.group(),
                client_id: (*g.rng.pick(&["127.0.0.1@fuzz", "", "nobody"])).to_owned(),
                jstack_enable: g.rng.chance(50).then(|| g.boolean()),
                broker_name: None,
            }),
            Vec::new(),
        ),
        RequestCode::QUERY_CONSUME_TIME_SPAN => (
            ext(&QueryConsumeTimeSpanRequestHeader {
                topic: g.topic(),
                group: g.group(),
            }),
            Vec::new(),
        ),
        RequestCode::QUERY_CONSUME_QUEUE => (
            ext(&QueryConsumeQueueRequestHeader {
                topic: g.topic(),
                queue_id: g.small_i32(8),
                index: *g.rng.pick(&[0, 1, -1, i64::MIN, i64::MAX, 1 << 40]),
                count: *g.rng.pick(&[0, 1, 32, -1, i32::MAX]),
                consumer_group: g.rng.chance(50).then(|| g.group()),
            }),
            Vec::new(),
        ),
        RequestCode::UPDATE_AND_GET_GROUP_FORBIDDEN => {
            let mut group = g.group();
            if group.starts_with("FuzzCanary") {
                group.push('x');
            }
            (
                ext(&UpdateGroupForbiddenRequestHeader {
                    group,
                    topic: g.topic(),
                    readable: g.rng.chance(70).then(|| g.boolean()),
                }),
                Vec::new(),
            )
        }
        RequestCode::GET_BROKER_CONSUME_STATS => (
            ext(&GetConsumeStatsInBrokerHeader {
                is_order: g.boolean(),
            }),
            Vec::new(),
        ),
        RequestCode::CLONE_GROUP_OFFSET => (
            ext(&CloneGroupOffsetRequestHeader {
                src_group: g.group(),
                dest_group: g.group(),
                topic: g.rng.chance(50).then(|| g.topic()),
                offline: g.rng.chance(50).then(|| g.boolean()),
            }),
            Vec::new(),
        ),
        RequestCode::VIEW_BROKER_STATS_DATA => (
            ext(&ViewBrokerStatsDataRequestHeader {
                stats_name: (*g.rng.pick(&[
                    "TOPIC_PUT_NUMS",
                    "GROUP_GET_NUMS",
                    "TOPIC_PUT_SIZE",
                    "nope",
                    "",
                ]))
                .to_owned(),
                stats_key: g.topic(),
            }),
            Vec::new(),
        ),
        RequestCode::CONSUME_MESSAGE_DIRECTLY => (
            ext(&ConsumeMessageDirectlyResultRequestHeader {
                consumer_group: g.group(),
                client_id: g.rng.chance(80).then(|| "127.0.0.1@fuzz".to_owned()),
                msg_id: g.rng.chance(80).then(|| {
                    (*g.rng.pick(&[
                        "7F00000100002A9F0000000000000000",
                        "7F00000100002A9F7FFFFFFFFFFFFFFF",
                        "7F00000100002A9FFFFFFFFFFFFFFFFF",
                        "zz",
                        "",
                    ]))
                    .to_owned()
                }),
                topic: g.rng.chance(50).then(|| g.topic()),
                ..Default::default()
            }),
            Vec::new(),
        ),
        RequestCode::INVOKE_BROKER_TO_RESET_OFFSET => (
            ext(&ResetOffsetRequestHeader {
                topic: g.topic(),
                group: g.group(),
                timestamp: *g.rng.pick(&[-1, 0, i64::MIN, i64::MAX, 1_700_000_000_000]),
                is_force: g.boolean(),
                ..Default::default()
            }),
            Vec::new(),
        ),
        RequestCode::INVOKE_BROKER_TO_GET_CONSUMER_STATUS => (
            ext(&GetConsumerStatusRequestHeader {
                topic: g.topic(),
                group: g.group(),
                client_addr: g.rng.chance(50).then(|| "127.0.0.1@fuzz".to_owned()),
                broker_name: None,
            }),
            Vec::new(),
        ),
        RequestCode::GET_CONSUME_STATS => (
            ext(&GetConsumeStatsRequestHeader {
                consumer_group: g.group(),
                topic: g.rng.chance(60).then(|| g.topic()),
                topic_list: g
                    .rng
                    .chance(20)
                    .then(|| format!("{};{}", g.topic(), g.topic())),
                broker_name: None,
            }),
            Vec::new(),
        ),
        RequestCode::GET_CONSUMER_CONNECTION_LIST => (
            ext(&GetConsumerConnectionListRequestHeader {
                consumer_group: g.group(),
                broker_name: None,
            }),
            Vec::new(),
        ),
        RequestCode::GET_PRODUCER_CONNECTION_LIST => (
            ext(&GetProducerConnectionListRequestHeader {
                producer_group: g.group(),
                broker_name: None,
            }),
            Vec::new(),
        ),
        RequestCode::UPDATE_BROKER_CONFIG => (ExtFields::new(), broker_config_body(g)),
        RequestCode::DELETE_TOPIC_IN_BROKER => {
            let mut topic = g.topic();
            if topic == PROBE_TOPIC {
                topic.push('x');
            }
            (
                ext(&DeleteTopicRequestHeader {
                    topic,
                    broker_name: None,
                }),
                Vec::new(),
            )
        }
        RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP => {
            let body = format!(
                "{{\"brokerId\":{},\"consumeBroadcastEnable\":{},\"consumeEnable\":{},\"consumeFromMinEnable\":{},\"consumeMessageOrderly\":{},\"groupName\":{},\"retryMaxTimes\":{},\"retryQueueNums\":{},\"whichBrokerWhenConsumeSlowly\":{}}}",
                g.small_i32(1),
                g.boolean(),
                g.rng.chance(80),
                g.boolean(),
                g.boolean(),
                json_str(&g.group()),
                g.small_i32(16),
                g.small_i32(2),
                g.small_i32(1)
            );
            (ExtFields::new(), body.into_bytes())
        }
        RequestCode::DELETE_SUBSCRIPTIONGROUP => (
            ext(&DeleteSubscriptionGroupRequestHeader {
                group_name: g.group(),
                clean_offset: g.rng.chance(50).then(|| g.boolean()),
                broker_name: None,
            }),
            Vec::new(),
        ),
        RequestCode::QUERY_TOPIC_CONSUME_BY_WHO => (
            ext(&QueryTopicConsumeByWhoRequestHeader {
                topic: g.topic(),
                broker_name: None,
            }),
            Vec::new(),
        ),
        RequestCode::AUTH_CREATE_USER
        | RequestCode::AUTH_UPDATE_USER
        | RequestCode::AUTH_DELETE_USER
        | RequestCode::AUTH_GET_USER => {
            let username = g.auth_user();
            let mut e = ExtFields::new();
            e.insert("username", username.clone());
            let body = format!(
                "{{\"password\":{},\"userStatus\":{},\"userType\":{},\"username\":{}}}",
                json_str(&g.name()),
                json_str(
                    g.rng
                        .pick::<&str>(&["enable", "disable", "DISABLE", "x", ""])
                ),
                json_str(
                    g.rng
                        .pick::<&str>(&["Normal", "Super", "super", "Root", ""])
                ),
                json_str(&username)
            );
            (e, body.into_bytes())
        }
        RequestCode::AUTH_LIST_USER => {
            let mut e = ExtFields::new();
            if g.rng.chance(50) {
                e.insert("filter", g.auth_user());
            }
            (e, Vec::new())
        }
        RequestCode::AUTH_CREATE_ACL
        | RequestCode::AUTH_UPDATE_ACL
        | RequestCode::AUTH_DELETE_ACL
        | RequestCode::AUTH_GET_ACL => {
            let subject = format!(
                "{}{}",
                g.rng.pick(&["User:", "user:", "Group:", ""]),
                g.auth_user()
            );
            let resource = g.auth_resource();
            let mut e = ExtFields::new();
            e.insert("subject", subject.clone());
            if g.rng.chance(50) {
                e.insert("resource", resource.clone());
                e.insert("policyType", *g.rng.pick(&["Custom", "Default", "x"]));
            }
            let ips = g.rng.pick(&[
                "",
                "\"10.0.0.0/8\"",
                "\"127.0.0.1\"",
                "\"::1/200\"",
                "\"10.*\"",
                "\"\"",
            ]);
            let body = format!(
                "{{\"policies\":[{{\"entries\":[{{\"actions\":[{}],\"decision\":{},\"resource\":{},\"sourceIps\":[{}]}}],\"policyType\":{}}}],\"subject\":{}}}",
                g.rng.pick(&["\"Pub\"", "\"Pub\",\"Sub\"", "\"All\"", "\"Any\"", "", "\"x\""]),
                json_str(g.rng.pick::<&str>(&["Allow", "Deny", "deny", "maybe", ""])),
                json_str(&resource),
                ips,
                json_str(g.rng.pick::<&str>(&["Custom", "Default", "", "x"])),
                json_str(&subject)
            );
            (e, body.into_bytes())
        }
        RequestCode::AUTH_LIST_ACL => {
            let mut e = ExtFields::new();
            if g.rng.chance(50) {
                e.insert("subjectFilter", g.auth_user());
            }
            if g.rng.chance(50) {
                e.insert("resourceFilter", g.auth_resource());
            }
            (e, Vec::new())
        }
        // ACL 1.0 admin codes (the fuzz broker has no ACL: they must be refused cleanly).
        RequestCode::UPDATE_AND_CREATE_ACL_CONFIG
        | RequestCode::DELETE_ACL_CONFIG
        | RequestCode::UPDATE_GLOBAL_WHITE_ADDRS_CONFIG => {
            let mut e = ExtFields::new();
            for key in [
                "accessKey",
                "secretKey",
                "whiteRemoteAddress",
                "defaultTopicPerm",
                "topicPerms",
                "groupPerms",
                "globalWhiteAddrs",
                "aclFileFullPath",
            ] {
                if g.rng.chance(70) {
                    e.insert(key, g.name());
                }
            }
            if g.rng.chance(50) {
                e.insert("admin", g.boolean().to_string());
            }
            (e, Vec::new())
        }
        // GET_ALL_TOPIC_CONFIG, GET_BROKER_RUNTIME_INFO, GET_BROKER_HA_STATUS, GET_BROKER_CONFIG,
        // GET_BROKER_CLUSTER_ACL_INFO, GET_BROKER_CLUSTER_ACL_CONFIG,
        // GET_ALL_SUBSCRIPTIONGROUP_CONFIG, GET_ALL_CONSUMER_OFFSET, GET_ALL_DELAY_OFFSET: no
        // header.
        _ => {
            let mut e = ExtFields::new();
            if g.rng.chance(30) {
                e.insert("topicSeq", *g.rng.pick(HOSTILE_NUMBERS));
                e.insert("maxTopicNum", *g.rng.pick(HOSTILE_NUMBERS));
            }
            (e, Vec::new())
        }
    }
}

fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn heartbeat_body(g: &mut Gen<'_>) -> Vec<u8> {
    let consumers = if g.rng.chance(95) {
        g.rng.below(3)
    } else {
        300
    };
    let hb = HeartbeatData {
        client_id: format!("127.0.0.1@{}", g.rng.below(4)),
        producer_data_set: (0..g.rng.below(3))
            .map(|_| ProducerData {
                group_name: g.group(),
            })
            .collect(),
        consumer_data_set: (0..consumers)
            .map(|_| ConsumerData {
                group_name: g.group(),
                subscription_data_set: (0..1 + g.rng.below(3))
                    .map(|_| {
                        let sql = g.rng.chance(20);
                        SubscriptionData {
                            topic: g.topic(),
                            sub_string: if sql {
                                (*g.rng.pick(SQL)).to_owned()
                            } else {
                                (*g.rng.pick(TAG_EXPRS)).to_owned()
                            },
                            expression_type: if sql {
                                ExpressionType::Sql92
                            } else {
                                ExpressionType::Tag
                            },
                            sub_version: g.i64v(),
                            ..Default::default()
                        }
                    })
                    .collect(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    let mut body = hb.encode();
    if g.rng.chance(10) {
        // Garbled JSON: a truncation or a type confusion.
        let cut = g.rng.below(body.len().max(1));
        body.truncate(cut);
    } else if g.rng.chance(5) {
        body = br#"{"clientID":123,"consumerDataSet":{"a":1},"producerDataSet":[null,{"groupName":null}]}"#.to_vec();
    }
    body
}

/// UPDATE_BROKER_CONFIG bodies. Excluded on purpose: `brokerPermission` values without both
/// read and write (4 and 2), since they legitimately make the canary impossible; the other keys
/// that affect the canary (namesrvAddr) are restored before it.
fn broker_config_body(g: &mut Gen<'_>) -> Vec<u8> {
    let keys: &[&str] = &[
        "brokerPermission",
        "autoCreateTopicEnable",
        "autoCreateSubscriptionGroup",
        "registerNameServerPeriod",
        "traceOn",
        "longPollingEnable",
        "shortPollingTimeMills",
        "notifyConsumerIdsChangedEnable",
        "channelExpiredTimeout",
        "flushConsumerOffsetInterval",
        "enablePropertyFilter",
        "transactionTimeOut",
        "transactionCheckMax",
        "transactionCheckInterval",
        "rejectTransactionMessage",
        "namesrvAddr",
        "maxMessageSize",
        "flushIntervalCommitLog",
        "deleteWhen",
        "fileReservedTime",
        "listenPort",
        "brokerName",
        "storePathRootDir",
        "bogusKey",
        "",
    ];
    let mut text = String::new();
    for _ in 0..1 + g.rng.below(3) {
        let key = *g.rng.pick(keys);
        let value = if key == "brokerPermission" {
            (*g.rng.pick(&["6", "7", "-1", "x", "", "2147483647"])).to_owned()
        } else if key == "namesrvAddr" {
            (*g.rng.pick(&[
                "",
                "garbage",
                "127.0.0.1:1",
                "127.0.0.1:1;127.0.0.1:2",
                "a:b:c",
            ]))
            .to_owned()
        } else if key == "maxMessageSize" {
            // Store keys take effect at run time: a small limit would refuse the canary's
            // sends as it should, so only values the broker must refuse, or large ones.
            (*g.rng
                .pick(&["0", "-1", "x", "", "4194304", "99999999999999999999"]))
            .to_owned()
        } else if g.rng.chance(50) {
            (*g.rng.pick(HOSTILE_NUMBERS)).to_owned()
        } else {
            (*g.rng.pick(&["true", "false", "1000", "10", "0"])).to_owned()
        };
        let _ = writeln!(text, "{key}={value}");
    }
    if g.rng.chance(5) {
        text.push_str("\\u12\n=\n\\\n");
    }
    text.into_bytes()
}

/// A valid-looking request of `code` for the name server.
fn namesrv_request(g: &mut Gen<'_>, code: RequestCode, broker_addr: &str) -> (ExtFields, Vec<u8>) {
    let broker_name = |g: &mut Gen<'_>| {
        if g.rng.chance(40) {
            BROKER_NAME.to_owned()
        } else {
            g.name()
        }
    };
    match code {
        RequestCode::PUT_KV_CONFIG => (
            ext(&PutKVConfigRequestHeader {
                namespace: (*g.rng.pick(&["ORDER_TOPIC_CONFIG", "ns", "", "../ns"])).to_owned(),
                key: g.name(),
                value: if g.rng.chance(5) {
                    "v".repeat(100_000)
                } else {
                    g.name()
                },
            }),
            Vec::new(),
        ),
        RequestCode::GET_KV_CONFIG | RequestCode::DELETE_KV_CONFIG => {
            let h = GetKVConfigRequestHeader {
                namespace: (*g.rng.pick(&["ORDER_TOPIC_CONFIG", "ns", ""])).to_owned(),
                key: g.name(),
            };
            (ext(&h), Vec::new())
        }
        RequestCode::GET_KVLIST_BY_NAMESPACE => (
            ext(&GetKVListByNamespaceRequestHeader {
                namespace: (*g.rng.pick(&["ORDER_TOPIC_CONFIG", "ns", ""])).to_owned(),
            }),
            Vec::new(),
        ),
        RequestCode::QUERY_DATA_VERSION => {
            let h = QueryDataVersionRequestHeader {
                broker_name: broker_name(g),
                broker_addr: g.broker_addr(broker_addr),
                cluster_name: CLUSTER.into(),
                broker_id: g.i64v(),
            };
            (ext(&h), register_body(g).0)
        }
        RequestCode::REGISTER_BROKER => {
            let (body, compressed) = register_body(g);
            let h = RegisterBrokerRequestHeader {
                broker_name: broker_name(g),
                broker_addr: g.broker_addr(broker_addr),
                cluster_name: if g.rng.chance(80) {
                    CLUSTER.into()
                } else {
                    g.name()
                },
                ha_server_addr: g.broker_addr(broker_addr),
                broker_id: if g.rng.chance(60) { 0 } else { g.i64v() },
                heartbeat_timeout_millis: g.rng.chance(40).then(|| g.i64v()),
                enable_acting_master: g.rng.chance(30).then(|| g.boolean()),
                compressed: Some(compressed),
                body_crc32: None,
            };
            (ext(&h), body)
        }
        RequestCode::UNREGISTER_BROKER => (
            ext(&UnRegisterBrokerRequestHeader {
                broker_name: broker_name(g),
                broker_addr: g.broker_addr(broker_addr),
                cluster_name: CLUSTER.into(),
                broker_id: g.i64v(),
            }),
            Vec::new(),
        ),
        RequestCode::BROKER_HEARTBEAT => (
            ext(&BrokerHeartbeatRequestHeader {
                cluster_name: CLUSTER.into(),
                broker_addr: g.broker_addr(broker_addr),
                broker_name: broker_name(g),
                broker_id: g.rng.chance(50).then(|| g.i64v()),
                epoch: g.rng.chance(30).then(|| g.small_i32(3)),
                max_offset: g.rng.chance(30).then(|| g.i64v()),
                confirm_offset: g.rng.chance(30).then(|| g.i64v()),
                heartbeat_timeout_millis: g.rng.chance(30).then(|| g.i64v()),
                election_priority: g.rng.chance(30).then(|| g.small_i32(3)),
            }),
            Vec::new(),
        ),
        RequestCode::GET_ROUTEINFO_BY_TOPIC => (
            ext(&GetRouteInfoRequestHeader {
                topic: g.topic(),
                accept_standard_json_only: g.rng.chance(50).then(|| g.boolean()),
            }),
            Vec::new(),
        ),
        RequestCode::WIPE_WRITE_PERM_OF_BROKER => (
            ext(&WipeWritePermOfBrokerRequestHeader {
                broker_name: broker_name(g),
            }),
            Vec::new(),
        ),
        RequestCode::GET_BROKER_MEMBER_GROUP => (
            ext(&GetBrokerMemberGroupRequestHeader {
                cluster_name: CLUSTER.to_owned(),
                broker_name: broker_name(g),
            }),
            Vec::new(),
        ),
        RequestCode::ADD_WRITE_PERM_OF_BROKER => (
            ext(&AddWritePermOfBrokerRequestHeader {
                broker_name: broker_name(g),
            }),
            Vec::new(),
        ),
        RequestCode::DELETE_TOPIC_IN_NAMESRV => (
            ext(&DeleteTopicFromNamesrvRequestHeader {
                topic: g.topic(),
                cluster_name: g.rng.chance(50).then(|| CLUSTER.to_owned()),
            }),
            Vec::new(),
        ),
        RequestCode::REGISTER_TOPIC_IN_NAMESRV => {
            let wrapper = topic_wrapper(g);
            let body = format!(
                "{{\"topicRouteData\":{{\"brokerDatas\":[{{\"brokerAddrs\":{{0:\"{broker_addr}\"}},\"brokerName\":\"{BROKER_NAME}\",\"cluster\":\"{CLUSTER}\"}}],\"queueDatas\":[{{\"brokerName\":{},\"perm\":{},\"readQueueNums\":{},\"topicSysFlag\":0,\"writeQueueNums\":{}}}]}}}}",
                json_str(&broker_name(g)),
                g.small_i32(7),
                g.small_i32(8),
                g.small_i32(8),
            );
            let _ = wrapper;
            (
                ext(&RegisterTopicRequestHeader { topic: g.topic() }),
                body.into_bytes(),
            )
        }
        RequestCode::GET_TOPICS_BY_CLUSTER => (
            ext(&GetTopicsByClusterRequestHeader {
                cluster: if g.rng.chance(60) {
                    CLUSTER.into()
                } else {
                    g.name()
                },
            }),
            Vec::new(),
        ),
        RequestCode::UPDATE_NAMESRV_CONFIG => {
            let keys = [
                "orderMessageEnable",
                "scanNotActiveBrokerInterval",
                "enableAllTopicList",
                "enableTopicList",
                "deleteTopicWithBrokerRegistration",
                "clusterTest",
                "waitSecondsForService",
                "kvConfigPath",
                "configStorePath",
                "listenPort",
                "bogus",
            ];
            let mut text = String::new();
            for _ in 0..1 + g.rng.below(3) {
                let key = *g.rng.pick(&keys);
                let value = if g.rng.chance(50) {
                    (*g.rng.pick(HOSTILE_NUMBERS)).to_owned()
                } else {
                    (*g.rng.pick(&["true", "false", "1", "100", "/tmp/x"])).to_owned()
                };
                let _ = writeln!(text, "{key}={value}");
            }
            (ExtFields::new(), text.into_bytes())
        }
        // GET_BROKER_CLUSTER_INFO, GET_ALL_TOPIC_LIST_FROM_NAMESERVER,
        // GET_SYSTEM_TOPIC_LIST_FROM_NS, GET_*UNIT*_TOPIC_LIST, GET_NAMESRV_CONFIG: no header.
        _ => (ExtFields::new(), Vec::new()),
    }
}

fn topic_wrapper(g: &mut Gen<'_>) -> TopicConfigSerializeWrapper {
    let n = if g.rng.chance(95) {
        g.rng.below(6)
    } else {
        3000
    };
    let mut table = BTreeMap::new();
    for _ in 0..n {
        let name = g.topic();
        let mut config = TopicConfig::new(name.as_str(), g.small_i32(8), g.small_i32(8));
        config.perm = *g.rng.pick(&[6, 7, 2, 4, 0, -1, i32::MAX]);
        config.order = g.rng.chance(10);
        table.insert(name, config);
    }
    TopicConfigSerializeWrapper {
        data_version: DataVersion {
            counter: g.i64v(),
            state_version: g.i64v(),
            timestamp: g.timestamp(),
        },
        topic_config_table: table,
        ..Default::default()
    }
}

/// A REGISTER_BROKER body and whether it is the compressed form.
fn register_body(g: &mut Gen<'_>) -> (Vec<u8>, bool) {
    let body = RegisterBrokerBody {
        filter_server_list: if g.rng.chance(10) {
            vec!["127.0.0.1:1".into()]
        } else {
            Vec::new()
        },
        topic_config_serialize_wrapper: topic_wrapper(g),
    };
    match g.rng.below(10) {
        0..=5 => (body.encode(), false),
        6 | 7 => (
            body.encode_compressed(ferromq_protocol::Version::V5_3_3),
            true,
        ),
        // Compressed flag with a stream that inflates to megabytes of zeros.
        8 => (zlib_zeros(*g.rng.pick(&[1usize << 20, 4 << 20])), true),
        _ => {
            let n = g.rng.below(2000);
            (g.rng.bytes(n), g.boolean())
        }
    }
}

/// A zlib stream of stored (uncompressed) deflate blocks of zeros that inflates to `n` bytes
/// (no trailing checksum: a decoder sees the zeros, then a truncated stream).
fn zlib_zeros(n: usize) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let mut left = n;
    while left > 0 {
        let len = left.min(65_535);
        left -= len;
        out.push(u8::from(left == 0));
        out.extend_from_slice(&(len as u16).to_le_bytes());
        out.extend_from_slice(&(!(len as u16)).to_le_bytes());
        out.extend(std::iter::repeat_n(0u8, len));
    }
    out
}

/// Applies 1-3 random mutations to a request; returns what was done.
fn mutate(rng: &mut Rng, cmd: &mut RemotingCommand) -> Vec<String> {
    let mut done = Vec::new();
    for _ in 0..1 + rng.below(3) {
        let keys: Vec<String> = cmd.ext_fields.iter().map(|(k, _)| k.to_owned()).collect();
        match rng.below(10) {
            0 if !keys.is_empty() => {
                let k = rng.pick(&keys).clone();
                cmd.ext_fields.remove(&k);
                done.push(format!("removed {k}"));
            }
            1..=4 if !keys.is_empty() => {
                let k = rng.pick(&keys).clone();
                let old = cmd.ext_fields.get(&k).unwrap_or("").to_owned();
                let new = if old.parse::<i64>().is_ok() && rng.chance(80) {
                    (*rng.pick(HOSTILE_NUMBERS)).to_owned()
                } else if (old == "true" || old == "false") && rng.chance(80) {
                    (*rng.pick(HOSTILE_BOOLS)).to_owned()
                } else if rng.chance(70) {
                    (*rng.pick(HOSTILE_NAMES)).to_owned()
                } else {
                    (*rng.pick(HOSTILE_NUMBERS)).to_owned()
                };
                cmd.ext_fields.insert(k.clone(), new.clone());
                done.push(format!("{k}={new:?}"));
            }
            5 => {
                let k = (*rng.pick(&[
                    "x",
                    "topic",
                    "queueId",
                    "bname",
                    "a",
                    "b",
                    "properties",
                    "i",
                    "",
                ]))
                .to_owned();
                let v = (*rng.pick(HOSTILE_NAMES)).to_owned();
                cmd.ext_fields.insert(k.clone(), v.clone());
                done.push(format!("added {k}={v:?}"));
            }
            6 => {
                let n = cmd.body.len();
                if n > 0 {
                    let mut b = cmd.body.to_vec();
                    for _ in 0..1 + rng.below(8) {
                        let i = rng.below(n);
                        b[i] = rng.next_u64() as u8;
                    }
                    cmd.body = Bytes::from(b);
                    done.push("flipped body bytes".into());
                } else {
                    let n = rng.below(300);
                    cmd.body = Bytes::from(rng.bytes(n));
                    done.push(format!("garbage body of {}", cmd.body.len()));
                }
            }
            7 => {
                let n = cmd.body.len();
                let cut = rng.below(n + 1);
                cmd.body.truncate(cut);
                done.push(format!("body truncated to {cut}/{n}"));
            }
            8 => {
                let n = *rng.pick(&[0usize, 1, 17, 4096, 1 << 20, (4 << 20) + 3]);
                cmd.body = Bytes::from(rng.bytes(n));
                done.push(format!("body replaced by {n} random bytes"));
            }
            _ => {
                cmd.version = *rng.pick(&[-1, 0, 37, 413, 999_999, i32::MIN]);
                done.push(format!("version={}", cmd.version));
            }
        }
    }
    done
}

/// Raw bytes that are not a well-formed request.
fn raw_garbage(rng: &mut Rng) -> (Vec<u8>, &'static str) {
    let frame = |serialize: u8, header: &[u8], body: &[u8]| {
        let mut f = Vec::new();
        f.extend_from_slice(&((4 + header.len() + body.len()) as u32).to_be_bytes());
        f.extend_from_slice(&(((serialize as u32) << 24) | header.len() as u32).to_be_bytes());
        f.extend_from_slice(header);
        f.extend_from_slice(body);
        f
    };
    match rng.below(12) {
        0 => {
            let n = 1 + rng.below(4096);
            (rng.bytes(n), "random bytes")
        }
        1 => (0u32.to_be_bytes().to_vec(), "length 0"),
        2 => {
            let mut f = 0x7FFF_FFFFu32.to_be_bytes().to_vec();
            f.extend(rng.bytes(100));
            (f, "length i32::MAX then 100 bytes")
        }
        3 => (0xFFFF_FFFFu32.to_be_bytes().to_vec(), "length -1"),
        4 => {
            let mut f = 8u32.to_be_bytes().to_vec();
            f.extend_from_slice(&0x00FF_FFFFu32.to_be_bytes());
            f.extend_from_slice(b"{}{}");
            (f, "header length beyond the frame")
        }
        5 => (frame(0, b"", &rng.bytes(50)), "header length 0"),
        6 => (
            frame(1, &rng.bytes(40), b""),
            "ROCKETMQ binary header of garbage",
        ),
        7 => (frame(7, b"{\"code\":10}", b""), "unknown serialize type 7"),
        8 => (
            frame(
                0,
                b"{\"code\":\"x\",\"extFields\":{\"a\":[1,{}]},\"flag\":\"no\"}",
                b"",
            ),
            "JSON header with wrong types",
        ),
        9 => {
            let depth = *rng.pick(&[1_000usize, 100_000]);
            let mut h = String::from("{\"code\":34,\"opaque\":1,\"extFields\":");
            h.push_str(&"[".repeat(depth));
            h.push_str(&"]".repeat(depth));
            h.push('}');
            (frame(0, h.as_bytes(), b""), "deeply nested JSON header")
        }
        10 => {
            let mut h = String::from("{\"code\":34,\"opaque\":1,\"flag\":0,\"extFields\":{");
            for i in 0..20_000 {
                let _ = write!(h, "\"k{i}\":\"v\",");
            }
            h.push_str("\"z\":\"z\"}}");
            (frame(0, h.as_bytes(), b""), "20,000 ext fields")
        }
        _ => {
            let mut f = frame(
                0,
                b"{\"code\":310,\"opaque\":5,\"flag\":0,\"extFields\":{}}",
                &rng.bytes(64),
            );
            let cut = rng.below(f.len());
            f.truncate(cut);
            (f, "truncated frame")
        }
    }
}

fn generate(rng: &mut Rng, learned: &Learned, sel: &Selection, broker_addr: &str) -> Case {
    let roll = rng.below(100);
    if sel.raw && roll < 2 {
        let (bytes, what) = raw_garbage(rng);
        let target = if rng.chance(60) {
            Target::Broker
        } else {
            Target::Namesrv
        };
        return Case::Raw {
            target,
            bytes,
            what,
        };
    }
    if sel.random && roll < 5 {
        let code = if rng.chance(70) {
            *rng.pick(RequestCode::ALL)
        } else {
            RequestCode(rng.next_u64() as i32)
        };
        let target = if rng.chance(60) {
            Target::Broker
        } else {
            Target::Namesrv
        };
        let mut cmd = RemotingCommand::request(code);
        if rng.chance(50) {
            let n = rng.below(500);
            cmd.body = Bytes::from(rng.bytes(n));
        }
        let mutations = mutate(rng, &mut cmd);
        return Case::Request {
            target,
            cmd,
            oneway: rng.chance(5),
            timeout: REQUEST_TIMEOUT,
            mutations,
        };
    }
    let total = sel.broker.len() + sel.namesrv.len();
    assert!(total > 0, "FERROMQ_FUZZ_CODES selects no request code");
    let i = rng.below(total);
    let (target, code) = if i < sel.broker.len() {
        (Target::Broker, sel.broker[i])
    } else {
        (Target::Namesrv, sel.namesrv[i - sel.broker.len()])
    };
    let mut g = Gen {
        rng,
        learned,
        tame: sel.tame_real_topic,
    };
    let (fields, body) = match target {
        Target::Broker => broker_request(&mut g, code, broker_addr),
        Target::Namesrv => namesrv_request(&mut g, code, broker_addr),
    };
    let mut cmd = RemotingCommand::request(code);
    cmd.ext_fields = fields;
    cmd.body = Bytes::from(body);
    let mutations = if rng.chance(40) {
        mutate(rng, &mut cmd)
    } else {
        Vec::new()
    };
    // A pull may legitimately be held up to its suspend timeout (capped at 30 s by the broker).
    let timeout = if code == RequestCode::PULL_MESSAGE || code == RequestCode::LITE_PULL_MESSAGE {
        REQUEST_TIMEOUT + Duration::from_secs(30)
    } else {
        REQUEST_TIMEOUT
    };
    Case::Request {
        target,
        cmd,
        oneway: rng.chance(3),
        timeout,
        mutations,
    }
}

fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        format!("{s:?}")
    } else {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{:?}...({} bytes)", &s[..end], s.len())
    }
}

/// A readable, replayable description of a request.
fn describe(target: Target, cmd: &RemotingCommand, oneway: bool, mutations: &[String]) -> String {
    let mut s = format!(
        "{:?} {} (code {}){}",
        target,
        cmd.request_code(),
        cmd.code,
        if oneway { " oneway" } else { "" }
    );
    if cmd.version != ferromq_protocol::Version::V5_3_3.0 {
        let _ = write!(s, " version={}", cmd.version);
    }
    s.push_str(" ext={");
    for (k, v) in cmd.ext_fields.iter() {
        let _ = write!(s, "{k}: {}, ", clip(v, 300));
    }
    s.push('}');
    let body = String::from_utf8_lossy(&cmd.body[..cmd.body.len().min(400)]).into_owned();
    let _ = write!(s, " body[{}]={}", cmd.body.len(), clip(&body, 400));
    if !mutations.is_empty() {
        let _ = write!(s, " mutations=[{}]", mutations.join("; "));
    }
    s
}

// ---------------------------------------------------------------------------------------------
// The fuzz run.

#[derive(Debug, Clone)]
struct Finding {
    kind: &'static str,
    detail: String,
}

#[derive(Debug)]
struct Shared {
    seed: u64,
    deadline: Instant,
    max_requests: u64,
    sent: AtomicU64,
    broker_addr: String,
    nsrv_addr: String,
    selection: Selection,
    findings: Mutex<Vec<Finding>>,
    /// Requests that may have written to the store: (when, case id, description).
    writes: Mutex<VecDeque<(Instant, String)>>,
    /// Per code: (sent, answered SUCCESS).
    stats: Mutex<BTreeMap<i32, (u64, u64)>>,
    /// Requests sent and not answered yet: id -> (sent at, description).
    inflight: Mutex<BTreeMap<String, (Instant, String)>>,
    started: Instant,
    /// `FERROMQ_FUZZ_ONLY`: send only these case ids (the others are generated and skipped).
    only: Option<std::collections::BTreeSet<String>>,
    /// The highest case number in `only`.
    only_max: u64,
    /// `FERROMQ_FUZZ_TRACE=1`: print every request as it is sent.
    trace: bool,
}

impl Shared {
    fn finding(&self, kind: &'static str, detail: String) {
        let detail = format!("at {:.1?}: {detail}", self.started.elapsed());
        println!("FINDING [{kind}] {detail}");
        self.findings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Finding { kind, detail });
    }

    fn done(&self) -> bool {
        Instant::now() >= self.deadline || self.sent.load(Ordering::Relaxed) >= self.max_requests
    }
}

fn is_write(code: RequestCode) -> bool {
    matches!(
        code,
        RequestCode::SEND_MESSAGE
            | RequestCode::SEND_MESSAGE_V2
            | RequestCode::SEND_BATCH_MESSAGE
            | RequestCode::SEND_REPLY_MESSAGE
            | RequestCode::SEND_REPLY_MESSAGE_V2
            | RequestCode::CONSUMER_SEND_MSG_BACK
            | RequestCode::END_TRANSACTION
            | RequestCode::DELETE_TOPIC_IN_BROKER
            | RequestCode::UPDATE_AND_CREATE_TOPIC
            | RequestCode::UPDATE_BROKER_CONFIG
    )
}

async fn conn_for(slot: &mut Option<Connection>, addr: &str) -> Option<Connection> {
    if let Some(c) = slot.as_ref().filter(|c| !c.is_closed()) {
        return Some(c.clone());
    }
    let c = connect(addr).await.ok()?;
    *slot = Some(c.clone());
    Some(c)
}

async fn worker(shared: Arc<Shared>, w: u64, inflight: usize) {
    let mut rng = Rng::new(shared.seed ^ w.wrapping_mul(0xD1B5_4A32_D192_ED03));
    let learned = Arc::new(Mutex::new(Learned::default()));
    let mut broker: Option<Connection> = None;
    let mut nsrv: Option<Connection> = None;
    let mut tasks = tokio::task::JoinSet::new();
    let mut i = 0u64;
    while !shared.done() {
        while tasks.len() >= inflight {
            let _ = tasks.join_next().await;
        }
        let case = {
            let l = learned.lock().unwrap_or_else(|e| e.into_inner());
            generate(&mut rng, &l, &shared.selection, &shared.broker_addr)
        };
        let id = format!("w{w}#{i}");
        i += 1;
        if let Some(only) = &shared.only {
            if !only.contains(&id) {
                if i > shared.only_max {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                continue;
            }
        }
        shared.sent.fetch_add(1, Ordering::Relaxed);
        match case {
            Case::Raw {
                target,
                bytes,
                what,
            } => {
                let addr = match target {
                    Target::Broker => shared.broker_addr.clone(),
                    Target::Namesrv => shared.nsrv_addr.clone(),
                };
                tasks.spawn(async move {
                    if let Ok(mut s) = tokio::net::TcpStream::connect(&addr).await {
                        let _ = s.write_all(&bytes).await;
                        let mut buf = [0u8; 1024];
                        let _ = tokio::time::timeout(Duration::from_millis(500), s.read(&mut buf))
                            .await;
                    }
                    let _ = what;
                });
            }
            Case::Request {
                target,
                cmd,
                oneway,
                timeout,
                mutations,
            } => {
                let code = cmd.request_code();
                let conn = match target {
                    Target::Broker => conn_for(&mut broker, &shared.broker_addr).await,
                    Target::Namesrv => conn_for(&mut nsrv, &shared.nsrv_addr).await,
                };
                let Some(conn) = conn else {
                    shared.finding(
                        "connect",
                        format!(
                            "{id}: cannot connect to the {target:?} (seed {})",
                            shared.seed
                        ),
                    );
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                };
                let desc = describe(target, &cmd, oneway, &mutations);
                if shared.trace {
                    println!("SEND {id}: {}", clip(&desc, 2000));
                }
                // Store writes that were not refused: the suspects of a dispatcher stall.
                let log_write = {
                    let shared = shared.clone();
                    let entry = format!("{id}: {desc}");
                    let sent_at = Instant::now();
                    move |accepted: bool| {
                        if target == Target::Broker && is_write(code) && accepted {
                            let mut wlog = shared.writes.lock().unwrap_or_else(|e| e.into_inner());
                            wlog.push_back((sent_at, entry));
                            while wlog.len() > 20_000 {
                                wlog.pop_front();
                            }
                        }
                    }
                };
                let topic = cmd
                    .ext_fields
                    .get("b")
                    .or_else(|| cmd.ext_fields.get("topic"))
                    .unwrap_or("")
                    .to_owned();
                let shared = shared.clone();
                let learned = learned.clone();
                tasks.spawn(async move {
                    if oneway {
                        let _ = conn.request_oneway(cmd).await;
                        log_write(true);
                        return;
                    }
                    let started = Instant::now();
                    shared
                        .inflight
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(id.clone(), (started, desc.clone()));
                    let result = conn.request(cmd, timeout).await;
                    shared
                        .inflight
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(&id);
                    let mut stats = shared.stats.lock().unwrap_or_else(|e| e.into_inner());
                    let entry = stats.entry(code.0).or_default();
                    entry.0 += 1;
                    match result {
                        Ok(resp) => {
                            if resp.response_code() == ResponseCode::SUCCESS {
                                entry.1 += 1;
                            }
                            drop(stats);
                            log_write(resp.response_code() == ResponseCode::SUCCESS);
                            learn(&learned, code, &topic, &resp);
                            check_answer(&shared, &id, code, &desc, &resp);
                        }
                        Err(RemotingError::Timeout(_)) => {
                            drop(stats);
                            log_write(true);
                            shared.finding(
                                "stall",
                                format!(
                                    "{id}: no answer within {:?} (seed {}): {desc}",
                                    started.elapsed(),
                                    shared.seed
                                ),
                            );
                        }
                        Err(_) => {}
                    }
                });
            }
        }
    }
    while tasks.join_next().await.is_some() {}
}

fn learn(learned: &Mutex<Learned>, code: RequestCode, topic: &str, resp: &RemotingCommand) {
    if !matches!(
        code,
        RequestCode::SEND_MESSAGE | RequestCode::SEND_MESSAGE_V2 | RequestCode::SEND_BATCH_MESSAGE
    ) || resp.response_code() != ResponseCode::SUCCESS
    {
        return;
    }
    let Ok(h) = SendMessageResponseHeader::read_ext(&resp.ext_fields) else {
        return;
    };
    let Some(first) = h.msg_id.split(',').next() else {
        return;
    };
    if let Ok(id) = MessageId::parse(first) {
        let mut l = learned.lock().unwrap_or_else(|e| e.into_inner());
        if l.stored.len() < 10_000 {
            l.stored.push((
                id.offset,
                h.queue_offset,
                topic.to_owned(),
                h.transaction_id.clone().unwrap_or_else(|| first.to_owned()),
            ));
        }
    }
}

/// Answers that are wrong whatever the input.
fn check_answer(shared: &Shared, id: &str, code: RequestCode, desc: &str, resp: &RemotingCommand) {
    if !resp.is_response() {
        shared.finding(
            "wrong answer",
            format!("{id}: the answer is not flagged as a response: {desc}"),
        );
    }
    if resp.response_code() != ResponseCode::SUCCESS {
        return;
    }
    let bad_offset = match code {
        RequestCode::GET_MAX_OFFSET => GetMaxOffsetResponseHeader::read_ext(&resp.ext_fields)
            .map(|h| h.offset < 0)
            .unwrap_or(true),
        RequestCode::GET_MIN_OFFSET => GetMinOffsetResponseHeader::read_ext(&resp.ext_fields)
            .map(|h| h.offset < 0)
            .unwrap_or(true),
        RequestCode::QUERY_CONSUMER_OFFSET => false,
        _ => false,
    };
    if bad_offset {
        shared.finding(
            "wrong answer",
            format!(
                "{id}: SUCCESS with a negative or missing offset {:?}: {desc}",
                resp.ext_fields
            ),
        );
    }
}

/// Every second: a message to the probe topic must be indexed within [`DISPATCH_DEADLINE`];
/// the name server must answer. The first failure lists the store writes since the last
/// good probe.
async fn probe(shared: Arc<Shared>) {
    let mut last_good = Instant::now();
    let mut n = 0u64;
    while !shared.done() {
        tokio::time::sleep(Duration::from_secs(1)).await;
        n += 1;
        let sent_at = Instant::now();
        let (Ok(b), Ok(ns)) = (
            connect(&shared.broker_addr).await,
            connect(&shared.nsrv_addr).await,
        ) else {
            shared.finding("probe", "cannot connect to a server".into());
            return;
        };
        if let Err(e) = ns
            .request(
                RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_INFO),
                REQUEST_TIMEOUT,
            )
            .await
        {
            shared.finding(
                "stall",
                format!("name server probe GET_BROKER_CLUSTER_INFO: {e}"),
            );
            return;
        }
        let body = format!("probe-{n}");
        let offset = match send_plain(&b, PROBE_TOPIC, 0, body.as_bytes()).await {
            Ok(o) => o,
            Err(e) => {
                shared.finding("probe", format!("probe send failed: {e}"));
                return;
            }
        };
        if !wait_indexed(&b, PROBE_TOPIC, 0, offset + 1, DISPATCH_DEADLINE).await {
            let window: Vec<String> = shared
                .writes
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .filter(|(t, _)| *t + Duration::from_secs(2) >= last_good && *t <= sent_at)
                .map(|(_, d)| d.clone())
                .collect();
            let mut detail = format!(
                "probe message {n} (queue offset {offset}) not dispatched within {DISPATCH_DEADLINE:?} (seed {}); {} store-writing requests accepted since the last good probe (sends to system topics or with system properties first):",
                shared.seed,
                window.len()
            );
            let suspicious = |d: &str| {
                [
                    "rmq_sys",
                    "SCHEDULE",
                    "RMQ_SYS",
                    "REAL_TOPIC",
                    "REAL_QID",
                    "TIMER_",
                    "DELAY",
                    "TRAN_MSG",
                    "%RETRY%",
                    "%DLQ%",
                    "END_TRANSACTION",
                    "CONSUMER_SEND_MSG_BACK",
                ]
                .iter()
                .any(|k| d.contains(k))
            };
            for d in window
                .iter()
                .filter(|d| suspicious(d))
                .chain(window.iter().filter(|d| !suspicious(d)))
                .take(40)
            {
                let _ = write!(detail, "\n    {}", clip(d, 1500));
            }
            let ids: Vec<&str> = window.iter().filter_map(|d| d.split(':').next()).collect();
            let _ = write!(
                detail,
                "\n    all {} suspects (for FERROMQ_FUZZ_ONLY): {}",
                ids.len(),
                ids.join(",")
            );
            shared.finding("dispatcher stall", detail);
            return;
        }
        last_good = sent_at;
    }
}

/// Sends one ordinary message; returns its queue offset.
async fn send_plain(
    c: &Connection,
    topic: &str,
    queue_id: i32,
    body: &[u8],
) -> Result<i64, String> {
    let mut props = Properties::new();
    props.insert("WAIT", "true");
    props.insert("TAGS", "canary");
    let h = SendMessageRequestHeaderV2 {
        producer_group: "FuzzCanaryProducer".into(),
        topic: topic.into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id,
        sys_flag: 0,
        born_timestamp: now_ms(),
        flag: 0,
        properties: Some(props.encode()),
        ..Default::default()
    };
    let req = RemotingCommand::request_with_header(RequestCode::SEND_MESSAGE_V2, &h)
        .with_body(Bytes::copy_from_slice(body));
    let resp = c
        .request(req, REQUEST_TIMEOUT)
        .await
        .map_err(|e| format!("SEND_MESSAGE_V2 to {topic}: {e}"))?;
    if resp.response_code() != ResponseCode::SUCCESS {
        return Err(format!(
            "SEND_MESSAGE_V2 to {topic}: {} {:?}",
            resp.code, resp.remark
        ));
    }
    SendMessageResponseHeader::read_ext(&resp.ext_fields)
        .map(|h| h.queue_offset)
        .map_err(|e| format!("send response header: {e}"))
}

/// Polls GET_MAX_OFFSET until the queue holds `n` messages; false on the deadline.
async fn wait_indexed(
    c: &Connection,
    topic: &str,
    queue_id: i32,
    n: i64,
    within: Duration,
) -> bool {
    let deadline = Instant::now() + within;
    loop {
        let h = GetMaxOffsetRequestHeader {
            topic: topic.into(),
            queue_id,
            ..Default::default()
        };
        let req = RemotingCommand::request_with_header(RequestCode::GET_MAX_OFFSET, &h);
        if let Ok(resp) = c.request(req, REQUEST_TIMEOUT).await {
            if GetMaxOffsetResponseHeader::read_ext(&resp.ext_fields).is_ok_and(|h| h.offset >= n) {
                return true;
            }
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn create_topic(c: &Connection, topic: &str, queues: i32) -> Result<(), String> {
    let h = CreateTopicRequestHeader {
        topic: topic.into(),
        default_topic: "TBW102".into(),
        read_queue_nums: queues,
        write_queue_nums: queues,
        perm: 6,
        ..Default::default()
    };
    let resp = c
        .request(
            RemotingCommand::request_with_header(RequestCode::UPDATE_AND_CREATE_TOPIC, &h),
            REQUEST_TIMEOUT,
        )
        .await
        .map_err(|e| format!("UPDATE_AND_CREATE_TOPIC {topic}: {e}"))?;
    if resp.response_code() != ResponseCode::SUCCESS {
        return Err(format!(
            "UPDATE_AND_CREATE_TOPIC {topic}: {} {:?}",
            resp.code, resp.remark
        ));
    }
    Ok(())
}

/// After fuzzing: restore the state the fuzzer may legitimately have changed and that the
/// canary depends on, then check the canary and both servers.
async fn after_fuzz(servers: &Servers, seed: u64, problems: &mut Vec<String>) {
    let Ok(b) = connect(&servers.broker_addr).await else {
        problems.push("cannot connect to the broker after fuzzing".into());
        return;
    };
    let Ok(ns) = connect(&servers.nsrv_addr).await else {
        problems.push("cannot connect to the name server after fuzzing".into());
        return;
    };
    // Restore: the broker's name server address (UPDATE_BROKER_CONFIG namesrvAddr=...) and the
    // name server's topic listing switch (UPDATE_NAMESRV_CONFIG enableAllTopicList=false).
    let restore = RemotingCommand::request(RequestCode::UPDATE_BROKER_CONFIG)
        .with_body(format!("namesrvAddr={}\nbrokerPermission=6\n", servers.nsrv_addr).into_bytes());
    match b.request(restore, REQUEST_TIMEOUT).await {
        Ok(r) if r.response_code() == ResponseCode::SUCCESS => {}
        other => problems.push(format!("restoring the broker config (UPDATE_BROKER_CONFIG namesrvAddr, brokerPermission): {other:?}")),
    }
    let restore = RemotingCommand::request(RequestCode::UPDATE_NAMESRV_CONFIG)
        .with_body(b"enableAllTopicList=true\nenableTopicList=true\n".to_vec());
    match ns.request(restore, REQUEST_TIMEOUT).await {
        Ok(r) if r.response_code() == ResponseCode::SUCCESS => {}
        other => problems.push(format!(
            "restoring the name server config (UPDATE_NAMESRV_CONFIG): {other:?}"
        )),
    }

    // Both servers answer.
    match b
        .request(
            RemotingCommand::request(RequestCode::GET_BROKER_RUNTIME_INFO),
            REQUEST_TIMEOUT,
        )
        .await
    {
        Ok(r) if r.response_code() == ResponseCode::SUCCESS => {}
        other => problems.push(format!(
            "broker GET_BROKER_RUNTIME_INFO after fuzzing: {other:?}"
        )),
    }
    match ns
        .request(
            RemotingCommand::request(RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER),
            REQUEST_TIMEOUT,
        )
        .await
    {
        Ok(r) if r.response_code() == ResponseCode::SUCCESS => {}
        other => problems.push(format!(
            "name server GET_ALL_TOPIC_LIST_FROM_NAMESERVER after fuzzing: {other:?}"
        )),
    }

    // The canary: a fresh ordinary topic, one message, pulled back within a bounded wait.
    let topic = format!("FuzzCanary{seed:x}");
    if let Err(e) = create_topic(&b, &topic, 4).await {
        problems.push(format!("canary: {e}"));
        return;
    }
    // The consumer group, created explicitly (the fuzzer may have switched
    // autoCreateSubscriptionGroup off, which is legitimate).
    let group = r#"{"consumeEnable":true,"groupName":"FuzzCanaryGroup","retryMaxTimes":16,"retryQueueNums":1}"#;
    match b
        .request(
            RemotingCommand::request(RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP)
                .with_body(group.as_bytes().to_vec()),
            REQUEST_TIMEOUT,
        )
        .await
    {
        Ok(r) if r.response_code() == ResponseCode::SUCCESS => {}
        other => problems.push(format!(
            "canary: UPDATE_AND_CREATE_SUBSCRIPTIONGROUP: {other:?}"
        )),
    }
    let body = format!("canary-{seed}");
    let offset = match send_plain(&b, &topic, 1, body.as_bytes()).await {
        Ok(o) => o,
        Err(e) => {
            problems.push(format!("canary: {e}"));
            return;
        }
    };
    let deadline = Instant::now() + DISPATCH_DEADLINE;
    let mut last;
    let pulled = loop {
        let h = PullMessageRequestHeader {
            consumer_group: "FuzzCanaryGroup".into(),
            topic: topic.clone(),
            queue_id: 1,
            queue_offset: offset,
            max_msg_nums: 32,
            // SUBSCRIPTION: the pull carries its subscription, as a pull consumer's does.
            sys_flag: 0x4,
            commit_offset: 0,
            suspend_timeout_millis: 0,
            subscription: Some("*".into()),
            expression_type: Some("TAG".into()),
            sub_version: 1,
            ..Default::default()
        };
        match b
            .request(
                RemotingCommand::request_with_header(RequestCode::PULL_MESSAGE, &h),
                REQUEST_TIMEOUT,
            )
            .await
        {
            Ok(r) if r.response_code() == ResponseCode::SUCCESS => {
                let msgs = decode_all(&r.body, &DecodeOptions::client()).unwrap_or_default();
                let _ = PullMessageResponseHeader::read_ext(&r.ext_fields);
                break msgs.first().map(|m| m.body.to_vec());
            }
            Ok(r) => last = format!("{} {:?}", r.code, r.remark),
            Err(e) => last = e.to_string(),
        }
        if Instant::now() >= deadline {
            problems.push(format!(
                "canary: the message sent to {topic} queue 1 (offset {offset}) was not pullable within {DISPATCH_DEADLINE:?} (last answer: {last}) — dispatcher stalled?"
            ));
            break None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    if let Some(got) = pulled {
        if got != body.as_bytes() {
            problems.push(format!(
                "canary: pulled body {:?}, sent {body:?}",
                String::from_utf8_lossy(&got)
            ));
        }
    }

    // The broker registers the new topic with the name server at once (topics changed).
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let h = GetRouteInfoRequestHeader {
            topic: topic.clone(),
            accept_standard_json_only: None,
        };
        let r = ns
            .request(
                RemotingCommand::request_with_header(RequestCode::GET_ROUTEINFO_BY_TOPIC, &h),
                REQUEST_TIMEOUT,
            )
            .await;
        if matches!(&r, Ok(r) if r.response_code() == ResponseCode::SUCCESS) {
            break;
        }
        if Instant::now() >= deadline {
            problems.push(format!(
                "canary: the route of {topic} did not reach the name server within 15 s: {r:?}"
            ));
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Files written outside the store root (through `..` or `/` in a name).
fn stray_files(outer: &Path, store_root: &Path) -> Vec<PathBuf> {
    let mut stray = Vec::new();
    let mut stack = vec![outer.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.starts_with(store_root) {
                continue;
            }
            if p.is_dir() {
                if !store_root.starts_with(&p) {
                    stray.push(p.clone());
                }
                stack.push(p);
            } else {
                stray.push(p);
            }
        }
    }
    stray
}

/// Anonymous resident memory of this process in MiB.
fn rss_anon_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("RssAnon:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map_or(0, |kib| kib / 1024)
}

/// Unbounded memory would take the machine down before any assertion: past `limit_mib` of
/// anonymous memory, report the requests in flight (the suspects) and exit.
fn start_memory_watchdog(shared: Arc<Shared>, limit_mib: u64) {
    std::thread::Builder::new()
        .name("fuzz-memory-watchdog".into())
        .spawn(move || loop {
            std::thread::sleep(Duration::from_millis(100));
            let rss = rss_anon_mib();
            if rss <= limit_mib {
                continue;
            }
            let mut report = format!(
                "FINDING [unbounded memory] at {:.1?}: anonymous RSS {rss} MiB > FERROMQ_FUZZ_MAX_RSS_MB={limit_mib} (seed {}); requests in flight, oldest first:",
                shared.started.elapsed(),
                shared.seed
            );
            let inflight = shared.inflight.lock().unwrap_or_else(|e| e.into_inner()).clone();
            let mut list: Vec<_> = inflight.into_iter().collect();
            list.sort_by_key(|(_, (t, _))| *t);
            for (id, (t, d)) in list.iter().take(40) {
                let _ = write!(report, "\n    {id} (for {:.1?}): {}", t.elapsed(), clip(d, 1500));
            }
            println!("{report}");
            std::process::exit(101);
        })
        .unwrap();
}

#[test]
fn request_fuzz() {
    install_panic_hook();
    // A fixed seed by default, so CI runs are reproducible; `FERROMQ_FUZZ_SEED=clock` explores.
    let seed = match std::env::var("FERROMQ_FUZZ_SEED").as_deref() {
        Ok("clock") => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1),
        _ => env_u64("FERROMQ_FUZZ_SEED").unwrap_or(DEFAULT_SEED),
    };
    let secs = env_u64("FERROMQ_FUZZ_SECS").unwrap_or(30);
    let max_requests = env_u64("FERROMQ_FUZZ_MAX_REQUESTS").unwrap_or(1_000_000);
    let workers = env_u64("FERROMQ_FUZZ_WORKERS").unwrap_or(4).max(1);
    let inflight = env_u64("FERROMQ_FUZZ_INFLIGHT").unwrap_or(4).max(1) as usize;
    let selection = Selection::from_env();
    let max_rss_mib = env_u64("FERROMQ_FUZZ_MAX_RSS_MB").unwrap_or(2048);
    let only: Option<std::collections::BTreeSet<String>> =
        std::env::var("FERROMQ_FUZZ_ONLY").ok().map(|v| {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        });
    println!(
        "request_fuzz: FERROMQ_FUZZ_SEED={seed} FERROMQ_FUZZ_SECS={secs} workers={workers} in-flight/worker={inflight} max requests={max_requests}"
    );
    let rss_before = memory();

    let mut servers = start_servers();
    println!(
        "request_fuzz: name server {}, broker {} (store {})",
        servers.nsrv_addr,
        servers.broker_addr,
        servers.store_root.display()
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("fuzz-client-rt")
        .enable_all()
        .build()
        .unwrap();
    let mut problems: Vec<String> = Vec::new();
    let shared = rt.block_on(async {
        // Setup: ordinary topics, the probe topic, and one message per topic queue 0 so that
        // commit-log offsets of real records are known.
        let c = connect(&servers.broker_addr).await.unwrap();
        for t in TOPICS.iter().chain([&PROBE_TOPIC]) {
            create_topic(&c, t, 4).await.unwrap();
        }
        // Wait for the broker's registration so that name-server requests see a real broker.
        let ns = connect(&servers.nsrv_addr).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let h = GetRouteInfoRequestHeader {
                topic: TOPICS[0].into(),
                accept_standard_json_only: None,
            };
            let r = ns
                .request(
                    RemotingCommand::request_with_header(RequestCode::GET_ROUTEINFO_BY_TOPIC, &h),
                    REQUEST_TIMEOUT,
                )
                .await
                .unwrap();
            if r.response_code() == ResponseCode::SUCCESS {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the broker did not register with the name server"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        let shared = Arc::new(Shared {
            seed,
            deadline: Instant::now() + Duration::from_secs(secs),
            max_requests,
            sent: AtomicU64::new(0),
            broker_addr: servers.broker_addr.clone(),
            nsrv_addr: servers.nsrv_addr.clone(),
            selection,
            findings: Mutex::default(),
            writes: Mutex::default(),
            stats: Mutex::default(),
            inflight: Mutex::default(),
            started: Instant::now(),
            only_max: only
                .iter()
                .flatten()
                .filter_map(|id| id.split('#').nth(1)?.parse::<u64>().ok())
                .max()
                .unwrap_or(0),
            only,
            trace: std::env::var("FERROMQ_FUZZ_TRACE").is_ok_and(|v| v == "1"),
        });
        start_memory_watchdog(shared.clone(), max_rss_mib);
        let started = Instant::now();
        let mut handles = Vec::new();
        for w in 0..workers {
            handles.push(tokio::spawn(worker(shared.clone(), w, inflight)));
        }
        let probe_task = tokio::spawn(probe(shared.clone()));
        for h in handles {
            if let Err(e) = h.await {
                problems.push(format!("fuzz worker failed: {e}"));
            }
        }
        let _ = probe_task.await;
        println!(
            "request_fuzz: sent {} requests in {:.1?} (seed {seed})",
            shared.sent.load(Ordering::Relaxed),
            started.elapsed()
        );
        after_fuzz(&servers, seed, &mut problems).await;
        shared
    });

    let mut stats = String::new();
    let (mut other_n, mut other_ok) = (0, 0);
    for (code, (n, ok)) in shared
        .stats
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
    {
        let code = RequestCode(*code);
        if BROKER_CODES.contains(&code) || NAMESRV_CODES.contains(&code) {
            let _ = write!(stats, "{code}:{n}/{ok} ");
        } else {
            other_n += n;
            other_ok += ok;
        }
    }
    let _ = write!(stats, "other codes:{other_n}/{other_ok}");
    println!("request_fuzz: answered per code (answered/SUCCESS): {stats}");

    let stray = stray_files(&servers.outer, &servers.store_root);
    if !stray.is_empty() {
        problems.push(format!(
            "files written outside the store root {}: {stray:?}",
            servers.store_root.display()
        ));
    }

    // Shut down: the broker must stop (unregister, close the store) in bounded time.
    if let Some(stop) = servers.stop_broker.take() {
        let _ = stop.send(());
    }
    // A held pull may legitimately delay the stop by up to its 30 s hold.
    let stopping = Instant::now();
    match servers.broker_done.recv_timeout(Duration::from_secs(120)) {
        Ok(r) if r.starts_with("Ok") => {
            println!("request_fuzz: broker stopped in {:.1?}", stopping.elapsed());
            if stopping.elapsed() > Duration::from_secs(40) {
                problems.push(format!(
                    "the broker took {:.1?} to shut down (more than 40 s)",
                    stopping.elapsed()
                ));
            }
        }
        Ok(r) => problems.push(format!("broker run() ended with {r}")),
        Err(_) => problems.push("the broker did not shut down within 120 s".into()),
    }
    if let Some(stop) = servers.stop_nsrv.take() {
        let _ = stop.send(());
    }
    rt.shutdown_timeout(Duration::from_secs(5));

    println!(
        "request_fuzz: memory before: {rss_before}; after: {}",
        memory()
    );

    let findings = shared
        .findings
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let panics = panics();
    let mut report = String::new();
    for p in &panics {
        let _ = write!(report, "\n- [panic] {p}");
    }
    // Stalls of the same code after the first few say nothing new.
    let mut per_kind_code: BTreeMap<String, usize> = BTreeMap::new();
    for f in &findings {
        // The word before " (code N)" is the request code's name.
        let code = f
            .detail
            .split(" (code ")
            .next()
            .and_then(|head| head.rsplit(' ').next())
            .unwrap_or("");
        let key = format!("{} {code}", f.kind);
        let n = per_kind_code.entry(key).or_default();
        *n += 1;
        if *n <= 3 {
            let _ = write!(report, "\n- [{}] {}", f.kind, f.detail);
        }
    }
    for p in &problems {
        let _ = write!(report, "\n- [after fuzz] {p}");
    }
    assert!(
        report.is_empty(),
        "request fuzz (replay with FERROMQ_FUZZ_SEED={seed} FERROMQ_FUZZ_SECS={secs}) found {} panic(s), {} finding(s), {} problem(s) after fuzzing:{report}",
        panics.len(),
        findings.len(),
        problems.len()
    );
}
