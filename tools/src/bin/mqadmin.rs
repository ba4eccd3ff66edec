//! `mqadmin`: FerroMQ's operator tool, command names and output as Apache RocketMQ's `mqadmin`.
//!
//! ```text
//! mqadmin clusterList -n 127.0.0.1:9876 [-c DefaultCluster]
//! mqadmin haStatus -n 127.0.0.1:9876 (-b 127.0.0.1:10911 | -c DefaultCluster) [-i 3]
//! ```
//!
//! So far: `clusterList` (every broker the name servers list, with its version, TPS and
//! whether it is active) and `haStatus` (a master's slaves and their lag, or a slave's link to
//! its master). Apache's own `mqadmin` works against FerroMQ's servers too.

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use ferromq_client::{Admin, ClientConfig};
use ferromq_protocol::body::HaRuntimeInfo;

#[derive(Parser, Debug)]
#[command(name = "mqadmin", version, about = "FerroMQ / RocketMQ admin tool")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List the brokers of every cluster (or of one), as Apache's `clusterList`.
    #[command(name = "clusterList")]
    ClusterList(ClusterListArgs),
    /// Replication status of a broker, or of every master of a cluster, as Apache's `haStatus`.
    #[command(name = "haStatus")]
    HaStatus(HaStatusArgs),
}

#[derive(Args, Debug)]
struct HaStatusArgs {
    /// Name servers, `host:port;host:port`.
    #[arg(short = 'n', long = "namesrvAddr", env = "NAMESRV_ADDR")]
    namesrv: String,
    /// One broker's address.
    #[arg(
        short = 'b',
        long = "brokerAddr",
        conflicts_with = "cluster",
        required_unless_present = "cluster"
    )]
    broker: Option<String>,
    /// Every master of this cluster.
    #[arg(short = 'c', long = "clusterName")]
    cluster: Option<String>,
    /// Print again every this many seconds, until interrupted.
    #[arg(short = 'i', long = "interval")]
    interval: Option<u64>,
}

#[derive(Args, Debug)]
struct ClusterListArgs {
    /// Name servers, `host:port;host:port`.
    #[arg(short = 'n', long = "namesrvAddr", env = "NAMESRV_ADDR")]
    namesrv: String,
    /// Only this cluster.
    #[arg(short = 'c', long = "clusterName")]
    cluster: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mqadmin: cannot start a runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::ClusterList(args) => cluster_list(args).await,
            Command::HaStatus(args) => ha_status(args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mqadmin: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The first figure of a TPS triple (`"12.50 11.00 10.00"`).
fn first_tps(value: Option<&String>) -> f64 {
    value
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

async fn cluster_list(args: ClusterListArgs) -> Result<(), ferromq_client::Error> {
    let admin = Admin::new(&ClientConfig::new(
        args.namesrv.as_str(),
        Some("mqadmin".to_owned()),
    ))?;
    let info = admin.cluster_info().await?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<22}  {:<22}  {:<4}  {:<22} {:<16}  {:>16}  {:>16}  {:<10}",
        "#Cluster Name",
        "#Broker Name",
        "#BID",
        "#Addr",
        "#Version",
        "#InTPS",
        "#OutTPS",
        "#ACTIVATED"
    );
    for (cluster, names) in &info.cluster_addr_table {
        if args.cluster.as_deref().is_some_and(|c| c != cluster) {
            continue;
        }
        for name in names {
            let Some(group) = info.broker_addr_table.get(name) else {
                continue;
            };
            for (id, addr) in &group.broker_addrs {
                let (version, tps_in, tps_out, active) = match admin.broker_runtime_info(addr).await
                {
                    Ok(t) => (
                        t.get("brokerVersionDesc").cloned().unwrap_or_default(),
                        first_tps(t.get("putTps")),
                        first_tps(t.get("getTransferredTps")),
                        t.get("brokerActive").is_some_and(|a| a == "true"),
                    ),
                    Err(_) => (String::new(), 0.0, 0.0, false),
                };
                let _ = writeln!(
                    out,
                    "{cluster:<22}  {name:<22}  {id:<4}  {addr:<22} {version:<16}  {tps_in:>16.2}  {tps_out:>16.2}  {active:<10}"
                );
            }
        }
    }
    admin.shutdown().await;
    print_out(&out);
    Ok(())
}

async fn ha_status(args: HaStatusArgs) -> Result<(), ferromq_client::Error> {
    let admin = Admin::new(&ClientConfig::new(
        args.namesrv.as_str(),
        Some("mqadmin".to_owned()),
    ))?;
    let result = async {
        loop {
            let addrs = match (&args.broker, &args.cluster) {
                (Some(addr), _) => vec![addr.trim().to_owned()],
                (None, Some(cluster)) => {
                    let info = admin.cluster_info().await?;
                    info.brokers_of(cluster.trim())
                        .filter_map(|b| b.master_addr().map(str::to_owned))
                        .collect()
                }
                (None, None) => Vec::new(),
            };
            let mut out = String::new();
            for addr in addrs {
                let status = admin.broker_ha_status(&addr).await?;
                write_ha_status(&mut out, &addr, &status);
            }
            print_out(&out);
            match args.interval {
                Some(secs) => tokio::time::sleep(std::time::Duration::from_secs(secs.max(1))).await,
                None => return Ok(()),
            }
        }
    }
    .await;
    admin.shutdown().await;
    result
}

/// One broker's `haStatus` block, in Apache's layout.
fn write_ha_status(out: &mut String, addr: &str, s: &HaRuntimeInfo) {
    if s.master {
        let _ = writeln!(
            out,
            "\n#MasterAddr\t{addr}\n#MasterCommitLogMaxOffset\t{}\n#SlaveNum\t{}\n#InSyncSlaveNum\t{}",
            s.master_commit_log_max_offset,
            s.ha_connection_info.len(),
            s.in_sync_slave_nums
        );
        let _ = writeln!(
            out,
            "{:<32}  {:<16} {:>16} {:>16} {:>16} {:>16}",
            "#SlaveAddr",
            "#SlaveAckOffset",
            "#Diff",
            "#TransferSpeed(KB/s)",
            "#Status",
            "#TransferFromWhere"
        );
        for c in &s.ha_connection_info {
            let _ = writeln!(
                out,
                "{:<32}  {:<16} {:>16} {:>16.2} {:>16} {:>16}",
                c.addr,
                c.slave_ack_offset,
                c.diff,
                c.transferred_byte_in_second as f64 / 1024.0,
                if c.in_sync { "OK" } else { "Fall Behind" },
                c.transfer_from_where
            );
        }
    } else {
        let c = &s.ha_client_runtime_info;
        let _ = writeln!(out, "\n#MasterAddr\t{}", c.master_addr);
        let _ = writeln!(out, "#CommitLogMaxOffset\t{}", c.max_offset);
        let _ = writeln!(
            out,
            "#TransferSpeed(KB/s)\t{:.2}",
            c.transferred_byte_in_second as f64 / 1024.0
        );
        let _ = writeln!(out, "#LastReadTime\t{}", c.last_read_timestamp);
        let _ = writeln!(out, "#LastWriteTime\t{}", c.last_write_timestamp);
        let _ = writeln!(out, "#MasterFlushOffset\t{}", c.master_flush_offset);
    }
}

/// Writes `text` to stdout; a reader that went away (`| head`) is not an error.
fn print_out(text: &str) {
    if let Err(e) = std::io::stdout().write_all(text.as_bytes()) {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("mqadmin: cannot write the output: {e}");
        }
    }
}
