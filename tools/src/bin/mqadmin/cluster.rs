//! `clusterList` and `haStatus`: the brokers of each cluster and their replication.

use std::fmt::Write as _;

use clap::Args;
use ferromq_protocol::body::HaRuntimeInfo;

use crate::common::{
    cluster_info, connect, print_json, print_out, Failure, Json, Namesrv, Outcome,
};

/// `clusterList` flags (Apache's `ClusterListSubCommand`).
#[derive(Args, Debug)]
pub(crate) struct ClusterListArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// Only this cluster.
    #[arg(short = 'c', long = "clusterName")]
    cluster: Option<String>,
    #[command(flatten)]
    out: Json,
}

/// `haStatus` flags (Apache's `HAStatusSubCommand`).
#[derive(Args, Debug)]
pub(crate) struct HaStatusArgs {
    #[command(flatten)]
    ns: Namesrv,
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
    #[command(flatten)]
    out: Json,
}

/// The first figure of a TPS triple (`"12.50 11.00 10.00"`).
fn first_tps(value: Option<&String>) -> f64 {
    value
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// Every broker the name servers list, with its version, TPS and whether it is active.
pub(crate) async fn cluster_list(args: ClusterListArgs) -> Outcome {
    let admin = connect(&args.ns)?;
    let result = async {
        let info = cluster_info(&admin, &args.ns).await?;
        let mut out = String::new();
        let mut rows = Vec::new();
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
                    let (version, tps_in, tps_out, active) =
                        match admin.broker_runtime_info(addr).await {
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
                    rows.push(serde_json::json!({
                        "cluster": cluster, "brokerName": name, "brokerId": id, "addr": addr,
                        "version": version, "inTps": tps_in, "outTps": tps_out, "activated": active,
                    }));
                }
            }
        }
        if args.out.json {
            print_json(&serde_json::Value::Array(rows));
        } else {
            print_out(&out);
        }
        Ok(())
    }
    .await;
    admin.shutdown().await;
    result
}

/// A master's slaves and their lag, or a slave's link to its master.
pub(crate) async fn ha_status(args: HaStatusArgs) -> Outcome {
    let admin = connect(&args.ns)?;
    let result = async {
        loop {
            let addrs = match (&args.broker, &args.cluster) {
                (Some(addr), _) => vec![addr.trim().to_owned()],
                (None, Some(cluster)) => {
                    let info = cluster_info(&admin, &args.ns).await?;
                    info.brokers_of(cluster.trim())
                        .filter_map(|b| b.master_addr().map(str::to_owned))
                        .collect()
                }
                (None, None) => Vec::new(),
            };
            let mut out = String::new();
            let mut json = serde_json::Map::new();
            for addr in addrs {
                let status = admin
                    .broker_ha_status(&addr)
                    .await
                    .map_err(Failure::at(&addr))?;
                write_ha_status(&mut out, &addr, &status);
                json.insert(addr, serde_json::to_value(&status).unwrap_or_default());
            }
            if args.out.json {
                print_json(&serde_json::Value::Object(json));
            } else {
                print_out(&out);
            }
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
