//! `mqadmin`: FerroMQ's operator tool, command names and output as Apache RocketMQ's `mqadmin`.
//!
//! ```text
//! mqadmin clusterList -n 127.0.0.1:9876 [-c DefaultCluster]
//! ```
//!
//! So far: `clusterList` (every broker the name servers list, with its version, TPS and
//! whether it is active). Apache's own `mqadmin` works against FerroMQ's servers too.

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use ferromq_client::{Admin, ClientConfig};

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

/// Writes `text` to stdout; a reader that went away (`| head`) is not an error.
fn print_out(text: &str) {
    if let Err(e) = std::io::stdout().write_all(text.as_bytes()) {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("mqadmin: cannot write the output: {e}");
        }
    }
}
