//! `brokerStatus`, `getBrokerConfig` and `updateBrokerConfig`: one broker's (or a cluster's)
//! run-time figures and settings.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use clap::{ArgGroup, Args};
use ferromq_client::Admin;

use crate::common::{
    brokers_of, cluster_info, connect, print_json, print_out, Failure, Json, Namesrv, Outcome,
};

/// `brokerStatus` flags (Apache's `BrokerStatusSubCommand`): `-b` or `-c`.
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("target").required(true).args(["broker", "cluster"])))]
pub(crate) struct BrokerStatusArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// Broker address.
    #[arg(short = 'b', long = "brokerAddr")]
    broker: Option<String>,
    /// Every broker (masters and slaves) of this cluster.
    #[arg(short = 'c', long = "clusterName")]
    cluster: Option<String>,
    #[command(flatten)]
    out: Json,
}

/// `getBrokerConfig` flags (Apache's `GetBrokerConfigCommand`): `-b` or `-c`.
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("target").required(true).args(["broker", "cluster"])))]
pub(crate) struct GetBrokerConfigArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// Broker address.
    #[arg(short = 'b', long = "brokerAddr")]
    broker: Option<String>,
    /// Every broker of this cluster, each master followed by its slaves.
    #[arg(short = 'c', long = "clusterName")]
    cluster: Option<String>,
    #[command(flatten)]
    out: Json,
}

/// `updateBrokerConfig` flags (Apache's `UpdateBrokerConfigSubCommand`).
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("target").required(true).args(["broker", "cluster"])))]
pub(crate) struct UpdateBrokerConfigArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// Broker address.
    #[arg(short = 'b', long = "brokerAddr")]
    broker: Option<String>,
    /// Every master of this cluster (and its slaves with `-a`).
    #[arg(short = 'c', long = "clusterName")]
    cluster: Option<String>,
    /// With `-c`: the slaves too. Apache's flag takes a value it never reads; so does this one.
    #[arg(short = 'a', long = "updateAllBroker", num_args = 0..=1, default_missing_value = "true")]
    all: Option<String>,
    /// Setting name, e.g. `flushDiskType`.
    #[arg(short = 'k', long = "key")]
    key: String,
    /// New value.
    #[arg(short = 'v', long = "value")]
    value: String,
}

/// Every address (master first, then slaves by id) of each broker group of `cluster`, paired
/// with its group's master address.
async fn cluster_addrs(
    admin: &Admin,
    ns: &Namesrv,
    cluster: &str,
) -> Result<Vec<(i64, String, Option<String>)>, Failure> {
    let info = cluster_info(admin, ns).await?;
    let mut out = Vec::new();
    for group in brokers_of(&info, cluster.trim())? {
        let master = group.master_addr().map(str::to_owned);
        for (id, addr) in &group.broker_addrs {
            out.push((*id, addr.clone(), master.clone()));
        }
    }
    Ok(out)
}

/// GET_BROKER_RUNTIME_INFO of a broker (or every broker of a cluster), sorted by key:
/// `%-32s: %s`, with the address first (`%-24s `) for a cluster.
pub(crate) async fn broker_status(args: BrokerStatusArgs) -> Outcome {
    let admin = connect(&args.ns)?;
    let result = async {
        let (addrs, with_addr) = match (&args.broker, &args.cluster) {
            (Some(b), _) => (vec![b.trim().to_owned()], false),
            (None, Some(c)) => (
                cluster_addrs(&admin, &args.ns, c)
                    .await?
                    .into_iter()
                    .map(|(_, addr, _)| addr)
                    .collect(),
                true,
            ),
            (None, None) => (Vec::new(), false),
        };
        let mut out = String::new();
        let mut json = serde_json::Map::new();
        let mut failed = None;
        for addr in addrs {
            let table = match admin.broker_runtime_info(&addr).await {
                Ok(t) => t,
                // Apache goes on with the next broker of a cluster.
                Err(e) if with_addr => {
                    let f = Failure::at(&addr)(e);
                    eprintln!("mqadmin: {f}");
                    failed = Some(f);
                    continue;
                }
                Err(e) => return Err(Failure::at(&addr)(e)),
            };
            for (k, v) in &table {
                if with_addr {
                    let _ = writeln!(out, "{addr:<24} {k:<32}: {v}");
                } else {
                    let _ = writeln!(out, "{k:<32}: {v}");
                }
            }
            json.insert(addr, serde_json::json!(table));
        }
        if args.out.json {
            print_json(&serde_json::Value::Object(json));
        } else {
            print_out(&out);
        }
        failed.map_or(Ok(()), Err)
    }
    .await;
    admin.shutdown().await;
    result
}

/// GET_BROKER_CONFIG of a broker, or of each master of a cluster followed by its slaves, each
/// under Apache's `============...============` banner, one `%-50s=  %s` line per setting.
pub(crate) async fn get_broker_config(args: GetBrokerConfigArgs) -> Outcome {
    let admin = connect(&args.ns)?;
    let result = async {
        let targets: Vec<(String, String)> = match (&args.broker, &args.cluster) {
            (Some(b), _) => {
                let b = b.trim().to_owned();
                vec![(format!("============{b}============"), b)]
            }
            (None, Some(c)) => {
                let addrs = cluster_addrs(&admin, &args.ns, c).await?;
                let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
                for (id, addr, master) in addrs {
                    let Some(master) = master else { continue };
                    let slaves = groups.entry(master).or_default();
                    if id != ferromq_protocol::body::MASTER_ID {
                        slaves.push(addr);
                    }
                }
                let mut t = Vec::new();
                for (master, slaves) in groups {
                    t.push((
                        format!("============Master: {master}============"),
                        master.clone(),
                    ));
                    for slave in slaves {
                        t.push((
                            format!(
                                "============My Master: {master}=====Slave: {slave}============"
                            ),
                            slave,
                        ));
                    }
                }
                t
            }
            (None, None) => Vec::new(),
        };
        let mut out = String::new();
        let mut json = serde_json::Map::new();
        for (banner, addr) in targets {
            let config = admin
                .broker_config(&addr)
                .await
                .map_err(Failure::at(&addr))?;
            let _ = writeln!(out, "{banner}");
            if config.is_empty() {
                let _ = writeln!(out, "Broker[{addr}] has no config property!");
                continue;
            }
            for (k, v) in &config {
                let _ = writeln!(out, "{k:<50}=  {v}");
            }
            let _ = writeln!(out);
            json.insert(
                addr,
                serde_json::Value::Object(
                    config
                        .into_iter()
                        .map(|(k, v)| (k, serde_json::Value::String(v)))
                        .collect(),
                ),
            );
        }
        if args.out.json {
            print_json(&serde_json::Value::Object(json));
        } else {
            print_out(&out);
        }
        Ok(())
    }
    .await;
    admin.shutdown().await;
    result
}

/// UPDATE_BROKER_CONFIG on a broker, or on every master (every broker with `-a`) of a cluster:
/// `update broker config success, <addr>` per broker.
pub(crate) async fn update_broker_config(args: UpdateBrokerConfigArgs) -> Outcome {
    let admin = connect(&args.ns)?;
    let result = async {
        let addrs: Vec<String> = match (&args.broker, &args.cluster) {
            (Some(b), _) => vec![b.trim().to_owned()],
            (None, Some(c)) => cluster_addrs(&admin, &args.ns, c)
                .await?
                .into_iter()
                .filter(|(id, _, _)| args.all.is_some() || *id == ferromq_protocol::body::MASTER_ID)
                .map(|(_, addr, _)| addr)
                .collect(),
            (None, None) => Vec::new(),
        };
        let (key, value) = (args.key.trim(), args.value.trim());
        for addr in addrs {
            admin
                .update_broker_config(&addr, key, value)
                .await
                .map_err(Failure::at(&addr))?;
            print_out(&format!("update broker config success, {addr}\n"));
        }
        Ok(())
    }
    .await;
    admin.shutdown().await;
    result
}
