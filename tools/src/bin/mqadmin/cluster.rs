//! `clusterList` and `haStatus`: the brokers of each cluster and their replication.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use clap::Args;
use ferromq_protocol::body::HaRuntimeInfo;

use crate::common::{
    cluster_info, connect, print_json, print_out, Failure, Json, Namesrv, Outcome,
};
use crate::time::human_time;

/// `clusterList` flags (Apache's `ClusterListSubCommand`).
#[derive(Args, Debug)]
pub(crate) struct ClusterListArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// Only this cluster.
    #[arg(short = 'c', long = "clusterName")]
    cluster: Option<String>,
    /// Message totals of yesterday and today instead of the runtime columns.
    #[arg(short = 'm', long = "moreStats")]
    more_stats: bool,
    /// Print again every this many seconds, until interrupted.
    #[arg(short = 'i', long = "interval")]
    interval: Option<u64>,
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

/// A runtime-info value as Java's `%s` prints a `String` that may be absent: `null`.
fn text(t: &BTreeMap<String, String>, key: &str) -> String {
    t.get(key).cloned().unwrap_or_else(|| "null".to_owned())
}

/// The first figure of a TPS triple (`"12.50 11.00 10.00"`).
fn first_tps(value: Option<&String>) -> f64 {
    value
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// Milliseconds since the epoch.
fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// One broker's row of Apache's `printClusterBaseInfo`, from its runtime info (`None`: the
/// broker did not answer, and Apache prints empty values, zeros and `false`).
fn base_row(
    (cluster, name, id, addr): (&str, &str, i64, &str),
    table: Option<&BTreeMap<String, String>>,
    now: i64,
) -> (String, serde_json::Value) {
    let empty = BTreeMap::new();
    let answered = table.is_some();
    let t = table.unwrap_or(&empty);
    let get = |key: &str| {
        if answered {
            text(t, key)
        } else {
            String::new()
        }
    };
    let or_n = |key: &str| match (answered, t.get(key)) {
        (false, _) => String::new(),
        (true, Some(v)) => v.clone(),
        (true, None) => "N".to_owned(),
    };
    let version = get("brokerVersionDesc");
    let tps_in = first_tps(t.get("putTps"));
    let tps_out = first_tps(t.get("getTransferredTps"));
    let active = t.get("brokerActive").is_some_and(|a| a == "true");
    // Apache parses the timer figures in this order and keeps zeros from the first that fails.
    let mut timer = (0i64, 0i64, 0i64, 0f32, 0f32);
    let _ = (|| -> Option<()> {
        timer.0 = t.get("timerReadBehind")?.parse().ok()?;
        timer.1 = t.get("timerOffsetBehind")?.parse().ok()?;
        timer.2 = t.get("timerCongestNum")?.parse().ok()?;
        timer.3 = t.get("timerEnqueueTps")?.parse().ok()?;
        timer.4 = t.get("timerDequeueTps")?.parse().ok()?;
        Some(())
    })();
    let hour = t
        .get("earliestMessageTimeStamp")
        .and_then(|v| v.parse::<i64>().ok())
        .map_or(0.0, |ts| (now - ts) as f64 / 1000.0 / 60.0 / 60.0);
    let space = t
        .get("commitLogDiskRatio")
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0);
    let in_load = format!(
        "{tps_in:9.2}({},{}ms)",
        get("sendThreadPoolQueueSize"),
        get("sendThreadPoolQueueHeadWaitTimeMills")
    );
    let out_load = format!(
        "{tps_out:9.2}({},{}ms|{},{}ms)",
        get("pullThreadPoolQueueSize"),
        get("pullThreadPoolQueueHeadWaitTimeMills"),
        or_n("ackThreadPoolQueueSize"),
        or_n("ackThreadPoolQueueHeadWaitTimeMills")
    );
    let timer_text = format!(
        "{}-{}({:.1}w, {:.1}, {:.1})",
        timer.0,
        timer.1,
        timer.2 as f32 / 10000.0,
        timer.3,
        timer.4
    );
    let pc_wait = get("pageCacheLockTimeMills");
    let line = format!(
        "{cluster:<22}  {name:<22}  {id:<4}  {addr:<22} {version:<16}  {in_load:>16}  {out_load:>30}  {timer_text:<22}  {pc_wait:>11}  {:<12}  {:<8}  {active:>10}",
        format!("{hour:.2}"),
        format!("{space:.4}"),
    );
    let json = serde_json::json!({
        "cluster": cluster, "brokerName": name, "brokerId": id, "addr": addr,
        "version": version, "inTps": tps_in, "outTps": tps_out, "activated": active,
        "hour": hour, "space": space,
    });
    (line, json)
}

/// One broker's row of Apache's `printClusterMoreStats`: messages put and got yesterday and
/// today (zeros from the first figure the broker did not send).
fn more_stats_row(cluster: &str, name: &str, table: Option<&BTreeMap<String, String>>) -> String {
    let mut totals = [0i64; 4];
    if let Some(t) = table {
        let num = |k: &str| t.get(k).and_then(|v| v.parse::<i64>().ok());
        let _ = (|| -> Option<()> {
            let put = |k| num(&format!("msgPutTotal{k}"));
            let get = |k| num(&format!("msgGetTotal{k}"));
            totals[0] = put("TodayMorning")? - put("YesterdayMorning")?;
            totals[1] = get("TodayMorning")? - get("YesterdayMorning")?;
            totals[2] = put("TodayNow")? - put("TodayMorning")?;
            totals[3] = get("TodayNow")? - get("TodayMorning")?;
            Some(())
        })();
    }
    let [a, b, c, d] = totals;
    format!("{cluster:<16}  {name:<32} {a:>14} {b:>14} {c:>14} {d:>14}\n")
}

/// Every broker the name servers list, in Apache's columns: version, in/out TPS with the send,
/// pull and ack queues, timer progress, page-cache lock wait, hours of messages kept, disk use
/// and whether it is active; or, with `-m`, message totals.
pub(crate) async fn cluster_list(args: ClusterListArgs) -> Outcome {
    let admin = connect(&args.ns)?;
    let result = async {
        loop {
            let info = cluster_info(&admin, &args.ns).await?;
            let mut out = String::new();
            let mut rows = Vec::new();
            if args.more_stats {
                let _ = writeln!(
                    out,
                    "{:<16}  {:<32} {:>14} {:>14} {:>14} {:>14}",
                    "#Cluster Name",
                    "#Broker Name",
                    "#InTotalYest",
                    "#OutTotalYest",
                    "#InTotalToday",
                    "#OutTotalToday"
                );
            } else {
                let _ = writeln!(
                    out,
                    "{:<22}  {:<22}  {:<4}  {:<22} {:<16}  {:>16}  {:>30}  {:<22}  {:<11}  {:<12}  {:<8}  {:<10}",
                    "#Cluster Name",
                    "#Broker Name",
                    "#BID",
                    "#Addr",
                    "#Version",
                    "#InTPS(LOAD)",
                    "#OutTPS(LOAD)",
                    "#Timer(Progress)",
                    "#PCWait(ms)",
                    "#Hour",
                    "#SPACE",
                    "#ACTIVATED"
                );
            }
            // As Apache: a named cluster is listed even if the name servers do not know it.
            let clusters: Vec<&str> = match args.cluster.as_deref().map(str::trim) {
                Some(c) => vec![c],
                None => info.cluster_addr_table.keys().map(String::as_str).collect(),
            };
            for cluster in clusters {
                let names = info.cluster_addr_table.get(cluster).into_iter().flatten();
                for name in names {
                    let Some(group) = info.broker_addr_table.get(name) else {
                        continue;
                    };
                    for (id, addr) in &group.broker_addrs {
                        let table = match admin.broker_runtime_info(addr).await {
                            Ok(t) => Some(t),
                            Err(e) => {
                                eprintln!("mqadmin: {}", Failure::at(addr)(e));
                                None
                            }
                        };
                        if args.more_stats {
                            out.push_str(&more_stats_row(cluster, name, table.as_ref()));
                        } else {
                            let key = (cluster, name.as_str(), *id, addr.as_str());
                            let (line, json) = base_row(key, table.as_ref(), now_millis());
                            out.push_str(&line);
                            out.push('\n');
                            rows.push(json);
                        }
                    }
                }
            }
            if args.out.json && !args.more_stats {
                print_json(&serde_json::Value::Array(rows));
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
        let _ = writeln!(out, "#LastReadTime\t{}", human_time(c.last_read_timestamp));
        let _ = writeln!(
            out,
            "#LastWriteTime\t{}",
            human_time(c.last_write_timestamp)
        );
        let _ = writeln!(out, "#MasterFlushOffset\t{}", c.master_flush_offset);
    }
}
