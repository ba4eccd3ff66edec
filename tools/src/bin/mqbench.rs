//! `mqbench`: FerroMQ's benchmark, in the spirit of Apache RocketMQ's benchmark Producer,
//! Consumer and TransactionProducer, over the FerroMQ client.
//!
//! ```text
//! mqbench producer    -n 127.0.0.1:9876 -t BenchmarkTest -w 16 -s 1024 --duration 60 [--mode sync|async|oneway] [--inflight N] [--batch N] [--json]
//! mqbench consumer    -n 127.0.0.1:9876 -t BenchmarkTest -g bench_consumer --duration 60 [--from-first] [--messages N] [--json]
//! mqbench transaction -n 127.0.0.1:9876 -t BenchmarkTest -w 16 -s 1024 --duration 60 [--check-percent 10] [--json]
//! mqbench request     -n 127.0.0.1:9876 -t BenchmarkRpc --concurrency 16 -s 128 --duration 60 [--request-timeout 3000] [--json]
//! mqbench pingpong    --duration 10 [--request-bytes 1400] [--response-bytes 300] [--spin] [--json]
//! ```
//!
//! A line every 10 s (TPS, failures, average / p50 / p99 / p999 / max latency), a live
//! progress line on a terminal, and a final summary; `--json` prints JSON lines instead.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use ferromq_client::{
    Admin, ClientConfig, ConsumeFrom, Credentials, MessageModel, ProducerOptions,
    PushConsumerOptions, TlsConfig, TopicOptions,
};
use ferromq_tools::bench::consumer::ConsumerBench;
use ferromq_tools::bench::pingpong::PingPongBench;
use ferromq_tools::bench::producer::{ProducerBench, SendMode};
use ferromq_tools::bench::request::RequestBench;
use ferromq_tools::bench::run::Timing;
use ferromq_tools::bench::transaction::TransactionBench;
use ferromq_tools::bench::Reporter;

#[derive(Parser, Debug)]
#[command(name = "mqbench", version, about = "FerroMQ / RocketMQ benchmark")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Send as fast as possible and report send TPS and latency.
    Producer(ProducerArgs),
    /// Consume and report TPS and born-to-consumed latency.
    Consumer(ConsumerArgs),
    /// Transactional sends (half message, local transaction, commit) and their latency.
    Transaction(TransactionArgs),
    /// Request-reply round trips against a responder this run starts (docs/request-reply.md).
    Request(RequestArgs),
    /// This machine's loopback request/response limit: frames of a sync send's sizes over
    /// 127.0.0.1, one in flight, no broker (the yardstick of `producer -w 1`).
    Pingpong(PingPongArgs),
}

#[derive(Args, Debug, Clone)]
struct Common {
    /// Name server addresses, `;`-separated.
    #[arg(
        short = 'n',
        long,
        default_value = "127.0.0.1:9876",
        env = "NAMESRV_ADDR"
    )]
    namesrv: String,
    /// Topic.
    #[arg(short = 't', long, default_value = "BenchmarkTest")]
    topic: String,
    /// Measured seconds.
    #[arg(long, default_value_t = 60)]
    duration: u64,
    /// Seconds between report lines.
    #[arg(long, default_value_t = 10)]
    interval: u64,
    /// End the measured run once this many messages succeeded (sent, or consumed), before
    /// `--duration` if it comes first: `consumer --from-first --messages 1000000` measures
    /// draining a backlog of that size.
    #[arg(long)]
    messages: Option<u64>,
    /// JSON lines instead of text.
    #[arg(long)]
    json: bool,
    /// ACL access key: requests are signed (with `--secret-key`).
    #[arg(long, requires = "secret_key", env = "FERROMQ_ACCESS_KEY")]
    access_key: Option<String>,
    /// ACL secret key.
    #[arg(
        long,
        requires = "access_key",
        env = "FERROMQ_SECRET_KEY",
        hide_env_values = true
    )]
    secret_key: Option<String>,
    /// Dial TLS, trusting the CAs in this PEM file.
    #[arg(long)]
    tls_ca: Option<std::path::PathBuf>,
    /// Dial TLS and accept any server certificate (Apache's test mode; benchmarks only).
    #[arg(long, conflicts_with = "tls_ca")]
    tls_insecure: bool,
}

impl Common {
    fn timing(&self) -> Timing {
        Timing {
            duration: Duration::from_secs(self.duration.max(1)),
            interval: Duration::from_secs(self.interval.max(1)),
            drain: Duration::from_secs(10),
            messages: self.messages.filter(|n| *n > 0),
        }
    }

    fn client(&self, instance: &str) -> ClientConfig {
        let credentials = match (&self.access_key, &self.secret_key) {
            (Some(ak), Some(sk)) => Some(Credentials::new(ak, sk)),
            _ => None,
        };
        let tls = (self.tls_ca.is_some() || self.tls_insecure).then(|| TlsConfig {
            ca_file: self.tls_ca.clone(),
            // Benchmarks dial 127.0.0.1: the chain is what matters.
            verify_hostname: false,
            trust_any_server: self.tls_insecure,
            ..TlsConfig::default()
        });
        ClientConfig {
            namesrv_addr: self.namesrv.clone(),
            instance_name: instance.to_owned(),
            credentials,
            tls,
            ..ClientConfig::default()
        }
    }
}

#[derive(ValueEnum, Debug, Clone, Copy)]
enum Mode {
    Sync,
    Async,
    Oneway,
}

#[derive(Args, Debug)]
struct ProducerArgs {
    #[command(flatten)]
    common: Common,
    /// Concurrent senders (sync and oneway modes).
    #[arg(short = 'w', long, default_value_t = 16)]
    threads: usize,
    /// Body size in bytes.
    #[arg(short = 's', long, default_value_t = 1024)]
    size: usize,
    /// How messages are sent.
    #[arg(long, value_enum, default_value_t = Mode::Sync)]
    mode: Mode,
    /// Messages per send (SEND_BATCH_MESSAGE when more than 1).
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// Async sends outstanding at once (with `--batch N`, each carries N messages).
    #[arg(long, default_value_t = 1024)]
    inflight: usize,
    /// Producer group.
    #[arg(short = 'g', long, default_value = "benchmark_producer")]
    group: String,
    /// Create the topic with this many queues on every master of `--cluster` first (0: rely
    /// on auto-creation).
    #[arg(long, default_value_t = 8)]
    queues: i32,
    /// Cluster for `--queues`.
    #[arg(long, default_value = "DefaultCluster")]
    cluster: String,
    /// Create this many new topics per second on `--cluster` while sending (topic creation
    /// rewrites the broker's topic table: this shows what it costs the sends).
    #[arg(long, default_value_t = 0)]
    churn_topics: u32,
}

#[derive(Args, Debug)]
struct ConsumerArgs {
    #[command(flatten)]
    common: Common,
    /// Consumer group.
    #[arg(short = 'g', long, default_value = "benchmark_consumer")]
    group: String,
    /// Tag expression.
    #[arg(short = 'e', long, default_value = "*")]
    expression: String,
    /// Listener calls at once.
    #[arg(short = 'w', long, default_value_t = 20)]
    threads: usize,
    /// Start from the first stored message (a new group only) instead of the last.
    #[arg(long)]
    from_first: bool,
    /// Broadcasting instead of clustering.
    #[arg(long)]
    broadcast: bool,
}

#[derive(Args, Debug)]
struct TransactionArgs {
    #[command(flatten)]
    common: Common,
    /// Concurrent senders.
    #[arg(short = 'w', long, default_value_t = 16)]
    threads: usize,
    /// Body size in bytes.
    #[arg(short = 's', long, default_value_t = 1024)]
    size: usize,
    /// Transaction producer group.
    #[arg(short = 'g', long, default_value = "benchmark_transaction_producer")]
    group: String,
    /// Percent answered UNKNOW first, then committed on the broker's check-back.
    #[arg(long, default_value_t = 0)]
    check_percent: u64,
    /// Percent rolled back.
    #[arg(long, default_value_t = 0)]
    rollback_percent: u64,
}

#[derive(Args, Debug)]
struct RequestArgs {
    #[command(flatten)]
    common: Common,
    /// Concurrent requesters, one request in flight each (also `--concurrency`).
    #[arg(short = 'w', long, visible_alias = "concurrency", default_value_t = 16)]
    threads: usize,
    /// Body size in bytes (requests and replies).
    #[arg(short = 's', long, default_value_t = 128)]
    size: usize,
    /// Timeout of one request, ms.
    #[arg(long, default_value_t = 3000)]
    request_timeout: u64,
    /// Create the topic with this many queues on every master of `--cluster` first.
    #[arg(long, default_value_t = 4)]
    queues: i32,
    /// Cluster for `--queues`.
    #[arg(long, default_value = "DefaultCluster")]
    cluster: String,
}

#[derive(Args, Debug)]
struct PingPongArgs {
    #[command(flatten)]
    common: Common,
    /// Bytes of each request frame (a 1 KiB SEND_MESSAGE_V2 from mqbench is about 1,400).
    #[arg(long, default_value_t = 1400)]
    request_bytes: usize,
    /// Bytes of each response frame (a send response is about 300).
    #[arg(long, default_value_t = 300)]
    response_bytes: usize,
    /// Poll non-blocking sockets on both ends instead of sleeping in `recv`: the kernel's
    /// loopback cost without thread wake-ups (keeps two cores busy).
    #[arg(long)]
    spin: bool,
}

async fn create_topic(common: &Common, cluster: &str, queues: i32) {
    if queues <= 0 {
        return;
    }
    let result = async {
        let admin = Admin::new(&common.client("mqbench-admin"))?;
        let options = TopicOptions {
            queue_nums: queues,
            ..TopicOptions::default()
        };
        let r = admin.create_topic(cluster, &common.topic, &options).await;
        admin.shutdown().await;
        r
    }
    .await;
    if let Err(e) = result {
        eprintln!(
            "mqbench: could not create {} with {queues} queues ({e}); relying on auto-creation",
            common.topic
        );
    }
}

/// Creates `per_second` new topics a second until aborted, and says how many it made.
async fn churn_topics(common: Common, cluster: String, per_second: u32) {
    let admin = match Admin::new(&common.client("mqbench-churn")) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("mqbench: no topic churn: {e}");
            return;
        }
    };
    let every = std::time::Duration::from_secs(1) / per_second;
    let options = TopicOptions {
        queue_nums: 4,
        ..TopicOptions::default()
    };
    let mut tick = tokio::time::interval(every);
    for i in 0u64.. {
        tick.tick().await;
        let topic = format!("mqbench_churn_{}_{i}", std::process::id());
        if let Err(e) = admin.create_topic(&cluster, &topic, &options).await {
            eprintln!("mqbench: topic churn: {e}");
        }
    }
}

async fn main_async(cli: Cli) -> Result<(), ferromq_client::Error> {
    match cli.command {
        Command::Producer(a) => {
            create_topic(&a.common, &a.cluster, a.queues).await;
            let bench = ProducerBench {
                options: ProducerOptions {
                    client: a.common.client("mqbench-producer"),
                    group: a.group.clone(),
                    compress_threshold: usize::MAX,
                    ..ProducerOptions::default()
                },
                topic: a.common.topic.clone(),
                threads: a.threads,
                size: a.size,
                batch: a.batch,
                inflight: a.inflight,
                mode: match a.mode {
                    Mode::Sync => SendMode::Sync,
                    Mode::Async => SendMode::Async,
                    Mode::Oneway => SendMode::Oneway,
                },
                timing: a.common.timing(),
            };
            let reporter = Reporter::new("producer", "send RT", a.common.json);
            let churn = (a.churn_topics > 0).then(|| {
                tokio::spawn(churn_topics(
                    a.common.clone(),
                    a.cluster.clone(),
                    a.churn_topics,
                ))
            });
            let result = bench.run(&reporter).await;
            if let Some(churn) = churn {
                churn.abort();
            }
            result?;
        }
        Command::Consumer(a) => {
            let bench = ConsumerBench {
                options: PushConsumerOptions {
                    client: a.common.client("mqbench-consumer"),
                    group: a.group.clone(),
                    consume_threads: a.threads.max(1),
                    consume_from: if a.from_first {
                        ConsumeFrom::FirstOffset
                    } else {
                        ConsumeFrom::LastOffset
                    },
                    message_model: if a.broadcast {
                        MessageModel::Broadcasting
                    } else {
                        MessageModel::Clustering
                    },
                    ..PushConsumerOptions::default()
                },
                topic: a.common.topic.clone(),
                expression: a.expression.clone(),
                timing: a.common.timing(),
            };
            let reporter = Reporter::new("consumer", "born-to-consumed", a.common.json);
            bench.run(&reporter).await?;
        }
        Command::Transaction(a) => {
            let bench = TransactionBench {
                options: ProducerOptions {
                    client: a.common.client("mqbench-transaction"),
                    group: a.group.clone(),
                    compress_threshold: usize::MAX,
                    ..ProducerOptions::default()
                },
                topic: a.common.topic.clone(),
                threads: a.threads,
                size: a.size,
                check_percent: a.check_percent,
                rollback_percent: a.rollback_percent,
                timing: a.common.timing(),
            };
            let reporter = Reporter::new("transaction", "send RT", a.common.json);
            let (_, checks) = bench.run(&reporter).await?;
            eprintln!("mqbench: {checks} check-backs answered");
        }
        Command::Request(a) => {
            create_topic(&a.common, &a.cluster, a.queues).await;
            let bench = RequestBench {
                requester: ProducerOptions {
                    client: a.common.client("mqbench-requester"),
                    group: "benchmark_requester".to_owned(),
                    compress_threshold: usize::MAX,
                    ..ProducerOptions::default()
                },
                replier: ProducerOptions {
                    client: a.common.client("mqbench-replier"),
                    group: "benchmark_replier".to_owned(),
                    compress_threshold: usize::MAX,
                    ..ProducerOptions::default()
                },
                responder: PushConsumerOptions {
                    client: a.common.client("mqbench-responder"),
                    group: "benchmark_responder".to_owned(),
                    consume_from: ConsumeFrom::FirstOffset,
                    ..PushConsumerOptions::default()
                },
                topic: a.common.topic.clone(),
                threads: a.threads,
                size: a.size,
                timeout: Duration::from_millis(a.request_timeout.max(1)),
                timing: a.common.timing(),
            };
            let reporter = Reporter::new("request", "round trip", a.common.json);
            bench.run(&reporter).await?;
        }
        Command::Pingpong(a) => {
            let bench = PingPongBench {
                request_len: a.request_bytes,
                response_len: a.response_bytes,
                spin: a.spin,
                timing: a.common.timing(),
            };
            let reporter = Reporter::new("pingpong", "round trip", a.common.json);
            if let Err(e) = bench.run(&reporter).await {
                return Err(ferromq_client::Error::new(
                    ferromq_client::ErrorKind::Connect,
                    "pingpong",
                    format!("loopback ping-pong failed: {e}"),
                ));
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mqbench: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(main_async(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mqbench: {e}");
            ExitCode::FAILURE
        }
    }
}
