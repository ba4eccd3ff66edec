//! `clusterRT`: the send response time of every broker of a cluster (or of all), measured by
//! sending to each broker's own topic (the topic named after the broker) again and again.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use clap::Args;
use ferromq_client::{Message, Producer, ProducerOptions};

use crate::common::{cluster_info, connect, print_out, Failure, Namesrv, Outcome};
use crate::print::java_bool;
use crate::time::{fixed_zone_time, now_millis};

/// `clusterRT` flags (Apache's `CLusterSendMsgRTCommand`).
#[derive(Args, Debug)]
pub(crate) struct ClusterRtArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// Messages sent to each broker per round.
    #[arg(short = 'a', long = "amount", default_value_t = 100,
          value_parser = clap::value_parser!(u64).range(1..))]
    amount: u64,
    /// Body size in bytes.
    #[arg(short = 's', long = "size", default_value_t = 128)]
    size: usize,
    /// Only this cluster (default: every cluster).
    #[arg(short = 'c', long = "cluster")]
    cluster: Option<String>,
    /// `true`: print `time|machineRoom|cluster|broker|rt` lines (times in GMT+8, as Apache)
    /// instead of the table.
    #[arg(short = 'p', long = "printLog")]
    print_log: Option<String>,
    /// Machine room named in the `-p true` lines.
    #[arg(short = 'm', long = "machineRoom", default_value = "noname")]
    machine_room: String,
    /// Seconds between rounds.
    #[arg(short = 'i', long = "interval", default_value_t = 10)]
    interval: u64,
    /// Stop after this many rounds (FerroMQ's addition; Apache's runs until stopped).
    #[arg(long = "rounds", value_parser = clap::value_parser!(u64).range(1..))]
    rounds: Option<u64>,
}

/// Sends `amount` messages to `broker`'s topic; the mean time of all but the first (ms, NaN for
/// one message, as Apache's), the sends that worked and those that failed.
async fn measure(producer: &Producer, broker: &str, body: &[u8], amount: u64) -> (f64, u64, u64) {
    let (mut ok, mut failed) = (0, 0);
    let mut elapsed = Duration::ZERO;
    for i in 0..amount {
        let start = Instant::now();
        match producer.send(Message::new(broker, body.to_vec())).await {
            Ok(_) => ok += 1,
            Err(_) => failed += 1,
        }
        // The first send, which may set up routes and connections, is not counted.
        if i != 0 {
            elapsed += start.elapsed();
        }
    }
    let rt = elapsed.as_secs_f64() * 1000.0 / (amount - 1) as f64;
    (rt, ok, failed)
}

/// Each round: per cluster and broker one row (`%-24s  %-24s  %-8s  %-16s  %-16s` under
/// Apache's header), or one `-p true` line; rounds `-i` seconds apart until stopped (or
/// `--rounds`).
pub(crate) async fn cluster_rt(args: ClusterRtArgs) -> Outcome {
    let admin = connect(&args.ns)?;
    let info = cluster_info(&admin, &args.ns).await;
    admin.shutdown().await;
    let info = info?;
    let clusters: Vec<String> = match &args.cluster {
        Some(c) => vec![c.trim().to_owned()],
        None => info.cluster_addr_table.keys().cloned().collect(),
    };
    let as_log = args.print_log.as_deref().is_some_and(java_bool);
    let producer = Producer::start(ProducerOptions {
        client: crate::common::client_config(&args.ns)?,
        group: now_millis().to_string(),
        ..ProducerOptions::default()
    })
    .await?;
    let result = async {
        if !as_log {
            print_out(&format!(
                "{:<24}  {:<24}  {:<4}  {:<8}  {:<8}\n",
                "#Cluster Name", "#Broker Name", "#RT", "#successCount", "#failCount"
            ));
        }
        let body = vec![b'a'; args.size];
        let mut round = 0;
        loop {
            for cluster in &clusters {
                let Some(brokers) = info.cluster_addr_table.get(cluster) else {
                    print_out(&format!("cluster [{cluster}] not exist\n"));
                    return Err(Failure::usage(
                        "cluster RT",
                        format!("no cluster {cluster}"),
                    ));
                };
                for broker in brokers {
                    let (rt, ok, failed) = measure(&producer, broker, &body, args.amount).await;
                    let mut out = String::new();
                    if as_log {
                        let _ = writeln!(
                            out,
                            "{}|{}|{cluster}|{broker}|{:.0}",
                            fixed_zone_time(now_millis(), 8 * 3600),
                            args.machine_room.trim(),
                            rt.round()
                        );
                    } else {
                        let _ = writeln!(
                            out,
                            "{cluster:<24}  {broker:<24}  {:<8}  {ok:<16}  {failed:<16}",
                            format!("{rt:.2}")
                        );
                    }
                    print_out(&out);
                }
            }
            round += 1;
            if args.rounds.is_some_and(|n| round >= n) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_secs(args.interval)).await;
        }
    }
    .await;
    producer.shutdown().await;
    result
}
