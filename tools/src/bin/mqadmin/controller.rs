//! Controller mode (Apache's `command/controller/`, `ha/GetSyncStateSetSubCommand` and
//! `broker/GetBrokerEpochSubCommand`): getControllerMetaData, getSyncStateSet, getBrokerEpoch,
//! getControllerConfig, updateControllerConfig, electMaster, cleanBrokerMetadata. Flags and
//! output are Apache's; `-bn` (brokerName) is spelled as Apache spells it (see `main`).

use std::fmt::Write as _;
use std::time::Duration;

use clap::{ArgGroup, Args};
use ferromq_client::admin::CleanBrokerData;
use ferromq_client::Admin;
use ferromq_protocol::body::{EpochEntryCache, ReplicaIdentity};

use crate::common::{
    brokers_of, cluster_info, connect, print_json, print_out, Failure, Json, Namesrv, Outcome,
};

/// `-a`: a controller address, or Apache's `;`-separated list (the first one is asked, except
/// by the config commands, which ask every one).
#[derive(Args, Debug, Clone)]
pub(crate) struct ControllerAddr {
    /// Controller address(es), `host:port;host:port`.
    #[arg(short = 'a', long = "controllerAddress")]
    controller: String,
    /// Name servers, `host:port;host:port`: used by `getSyncStateSet -c`, accepted (and not
    /// needed) by the others, as Apache's tool accepts `-n` on every command.
    #[arg(short = 'n', long = "namesrvAddr", env = "NAMESRV_ADDR")]
    namesrv: Option<String>,
}

impl ControllerAddr {
    fn all(&self) -> Vec<String> {
        self.controller
            .trim()
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    fn first(&self) -> Result<String, Failure> {
        self.all()
            .into_iter()
            .next()
            .ok_or_else(|| Failure::usage("controller", "-a names no controller"))
    }
}

/// The admin client: on the name servers when `-n` is given (or needed), else on the
/// controller (no name server is asked then).
fn admin(namesrv: Option<&str>, controller: &str) -> Result<Admin, Failure> {
    connect(&Namesrv {
        namesrv: namesrv.unwrap_or(controller).to_owned(),
        access_key: None,
        secret_key: None,
    })
}

/// `getControllerMetaData` flags.
#[derive(Args, Debug)]
pub(crate) struct GetControllerMetaDataArgs {
    #[command(flatten)]
    a: ControllerAddr,
    #[command(flatten)]
    out: Json,
}

/// `#ControllerGroup`, the leader and one `#Peer:` line per peer.
pub(crate) async fn get_controller_meta_data(args: GetControllerMetaDataArgs) -> Outcome {
    let addr = args.a.first()?;
    let admin = admin(None, &addr)?;
    let result = admin.controller_metadata(&addr).await;
    admin.shutdown().await;
    let meta = result.map_err(Failure::at(&addr))?;
    if args.out.json {
        let peers: Vec<&str> = meta
            .peers
            .iter()
            .flat_map(|p| p.split(';'))
            .filter(|p| !p.is_empty())
            .collect();
        print_json(&serde_json::json!({
            "group": meta.group,
            "controllerLeaderId": meta.controller_leader_id,
            "controllerLeaderAddress": meta.controller_leader_address,
            "isLeader": meta.is_leader,
            "peers": peers,
        }));
        return Ok(());
    }
    let or_null = |v: &Option<String>| v.clone().unwrap_or_else(|| "null".to_owned());
    let mut out = String::new();
    let _ = write!(out, "\n#ControllerGroup\t{}", or_null(&meta.group));
    let _ = write!(
        out,
        "\n#ControllerLeaderId\t{}",
        or_null(&meta.controller_leader_id)
    );
    let _ = write!(
        out,
        "\n#ControllerLeaderAddress\t{}",
        or_null(&meta.controller_leader_address)
    );
    for peer in meta.peers.iter().flat_map(|p| p.split(';')) {
        if !peer.is_empty() {
            let _ = write!(out, "\n#Peer:\t{peer}");
        }
    }
    out.push('\n');
    print_out(&out);
    Ok(())
}

/// `-b` broker name or `-c` cluster, and `-i` (getSyncStateSet, getBrokerEpoch).
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("target").required(true).args(["broker", "cluster"])))]
pub(crate) struct Brokers {
    /// Broker name.
    #[arg(short = 'b', long = "brokerName")]
    broker: Option<String>,
    /// Every broker name of this cluster.
    #[arg(short = 'c', long = "clusterName")]
    cluster: Option<String>,
    /// Print again every this many seconds, until stopped.
    #[arg(short = 'i', long = "interval", num_args = 0..=1, default_missing_value = "3")]
    interval: Option<u64>,
}

/// `getSyncStateSet` flags: `-b` or `-c` (with `-n`), `-i` to repeat.
#[derive(Args, Debug)]
pub(crate) struct GetSyncStateSetArgs {
    #[command(flatten)]
    a: ControllerAddr,
    #[command(flatten)]
    brokers: Brokers,
    #[command(flatten)]
    out: Json,
}

/// Apache's `ReplicaIdentity.toString()`.
fn replica(r: &ReplicaIdentity) -> String {
    format!(
        "ReplicaIdentity{{brokerName='{}', brokerId={}, brokerAddress='{}', alive={}}}",
        r.broker_name, r.broker_id, r.broker_address, r.alive
    )
}

/// The broker names of `cluster` from the name servers.
async fn names_of(admin: &Admin, namesrv: &str, cluster: &str) -> Result<Vec<String>, Failure> {
    let ns = Namesrv {
        namesrv: namesrv.to_owned(),
        access_key: None,
        secret_key: None,
    };
    let info = cluster_info(admin, &ns).await?;
    Ok(brokers_of(&info, cluster)?
        .iter()
        .map(|b| b.broker_name.clone())
        .collect())
}

async fn sync_state_once(admin: &Admin, args: &GetSyncStateSetArgs, addr: &str) -> Outcome {
    let names = match (&args.brokers.broker, &args.brokers.cluster, &args.a.namesrv) {
        (Some(b), _, _) => vec![b.trim().to_owned()],
        (None, Some(c), Some(ns)) => names_of(admin, ns, c.trim()).await?,
        _ => return Err(Failure::usage("getSyncStateSet", "-c needs -n")),
    };
    let info = admin
        .sync_state_data(addr, &names)
        .await
        .map_err(Failure::at(addr))?;
    if args.out.json {
        print_json(&serde_json::to_value(&info.replicas_info_table).unwrap_or_default());
        return Ok(());
    }
    let num = |v: Option<i64>| v.map_or_else(|| "null".to_owned(), |v| v.to_string());
    let mut out = String::new();
    for (name, set) in &info.replicas_info_table {
        let _ = write!(
            out,
            "\n#brokerName\t{name}\n#MasterBrokerId\t{}\n#MasterAddr\t{}\n#MasterEpoch\t{}\n\
             #SyncStateSetEpoch\t{}\n#SyncStateSetNums\t{}\n",
            num(set.master_broker_id),
            set.master_address.as_deref().unwrap_or("null"),
            num(set.master_epoch.map(i64::from)),
            num(set.sync_state_set_epoch.map(i64::from)),
            set.in_sync_replicas.len()
        );
        for r in &set.in_sync_replicas {
            let _ = write!(out, "\nInSyncReplica:\t{}\n", replica(r));
        }
        for r in &set.not_in_sync_replicas {
            let _ = write!(out, "\nNotInSyncReplica:\t{}\n", replica(r));
        }
    }
    print_out(&out);
    Ok(())
}

/// Each broker set's master, epochs and replicas, as the controller leader records them.
pub(crate) async fn get_sync_state_set(args: GetSyncStateSetArgs) -> Outcome {
    let addr = args.a.first()?;
    let admin = admin(args.a.namesrv.as_deref(), &addr)?;
    let result = repeat(args.brokers.interval, || {
        sync_state_once(&admin, &args, &addr)
    })
    .await;
    admin.shutdown().await;
    result
}

/// Runs `once`, then again every `interval` seconds for ever (Apache's `-i`).
async fn repeat<F, Fut>(interval: Option<u64>, mut once: F) -> Outcome
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Outcome>,
{
    once().await?;
    if let Some(secs) = interval {
        loop {
            tokio::time::sleep(Duration::from_secs(secs)).await;
            once().await?;
        }
    }
    Ok(())
}

/// `getBrokerEpoch` flags: `-b` (its master and slaves) or `-c` (every broker), `-i` to repeat.
#[derive(Args, Debug)]
pub(crate) struct GetBrokerEpochArgs {
    #[command(flatten)]
    ns: Namesrv,
    #[command(flatten)]
    brokers: Brokers,
    #[command(flatten)]
    out: Json,
}

/// Apache's block for one broker: the last epoch ends at the log's end.
fn epoch_block(addr: &str, cache: &EpochEntryCache) -> String {
    let mut out = format!(
        "\n#clusterName\t{}\n#brokerName\t{}\n#brokerAddr\t{addr}\n#brokerId\t{}",
        cache.cluster_name, cache.broker_name, cache.broker_id
    );
    let last = cache.epoch_list.len().saturating_sub(1);
    for (i, e) in cache.epoch_list.iter().enumerate() {
        let end = if i == last {
            cache.max_offset
        } else {
            e.end_offset
        };
        let _ = write!(
            out,
            "\n#Epoch: EpochEntry{{epoch={}, startOffset={}, endOffset={end}}}",
            e.epoch, e.start_offset
        );
    }
    out.push('\n');
    out
}

async fn broker_epoch_once(admin: &Admin, args: &GetBrokerEpochArgs) -> Outcome {
    let info = cluster_info(admin, &args.ns).await?;
    let groups = match (&args.brokers.broker, &args.brokers.cluster) {
        (Some(b), _) => {
            let name = b.trim();
            let group = info.broker_addr_table.get(name).ok_or_else(|| {
                Failure::usage("getBrokerEpoch", format!("no broker named {name}"))
            })?;
            vec![group]
        }
        (None, Some(c)) => brokers_of(&info, c.trim())?,
        (None, None) => Vec::new(),
    };
    let mut json = Vec::new();
    for group in groups {
        for addr in group.broker_addrs.values() {
            let cache = admin
                .broker_epoch_cache(addr)
                .await
                .map_err(Failure::at(addr))?;
            if args.out.json {
                let mut v = serde_json::to_value(&cache).unwrap_or_default();
                v["brokerAddr"] = serde_json::Value::from(addr.as_str());
                json.push(v);
            } else {
                print_out(&epoch_block(addr, &cache));
            }
        }
    }
    if args.out.json {
        print_json(&serde_json::Value::Array(json));
    }
    Ok(())
}

/// Each broker's epochs (GET_BROKER_EPOCH_CACHE), master and slaves.
pub(crate) async fn get_broker_epoch(args: GetBrokerEpochArgs) -> Outcome {
    let admin = connect(&args.ns)?;
    let result = repeat(args.brokers.interval, || broker_epoch_once(&admin, &args)).await;
    admin.shutdown().await;
    result
}

/// `getControllerConfig` flags.
#[derive(Args, Debug)]
pub(crate) struct GetControllerConfigArgs {
    #[command(flatten)]
    a: ControllerAddr,
    #[command(flatten)]
    out: Json,
}

/// Every controller's settings, one block per controller.
pub(crate) async fn get_controller_config(args: GetControllerConfigArgs) -> Outcome {
    let addrs = args.a.all();
    let first = args.a.first()?;
    let admin = admin(None, &first)?;
    let result = async {
        let mut out = String::new();
        let mut json = serde_json::Map::new();
        for addr in &addrs {
            let config = admin
                .controller_config(addr)
                .await
                .map_err(Failure::at(addr))?;
            if args.out.json {
                let table = config
                    .into_iter()
                    .map(|(k, v)| (k, serde_json::Value::from(v)))
                    .collect();
                json.insert(addr.clone(), serde_json::Value::Object(table));
                continue;
            }
            let _ = writeln!(out, "============{addr}============");
            for (k, v) in config {
                let _ = writeln!(out, "{k:<50}=  {v}");
            }
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

/// `updateControllerConfig` flags.
#[derive(Args, Debug)]
pub(crate) struct UpdateControllerConfigArgs {
    #[command(flatten)]
    a: ControllerAddr,
    /// Setting name, e.g. `enableElectUncleanMaster`.
    #[arg(short = 'k', long = "key")]
    key: String,
    /// New value.
    #[arg(short = 'v', long = "value")]
    value: String,
}

/// Sends the change to every controller named (each keeps its own run-time settings); a
/// refusal is reported after all were asked, as Apache does.
pub(crate) async fn update_controller_config(args: UpdateControllerConfigArgs) -> Outcome {
    let addrs = args.a.all();
    let first = args.a.first()?;
    let (key, value) = (args.key.trim(), args.value.trim());
    let admin = admin(None, &first)?;
    let mut failed = None;
    for addr in &addrs {
        if let Err(e) = admin.update_controller_config(addr, key, value).await {
            failed = Some(Failure::at(addr)(e));
        }
    }
    admin.shutdown().await;
    if let Some(f) = failed {
        return Err(f);
    }
    print_out(&format!(
        "update controller config success![{}]\n{key} : {value}\n",
        addrs.join(", ")
    ));
    Ok(())
}

/// `electMaster` flags (Apache's `ReElectMasterSubCommand`).
#[derive(Args, Debug)]
pub(crate) struct ElectMasterArgs {
    #[command(flatten)]
    a: ControllerAddr,
    /// The broker id that is to become master.
    #[arg(short = 'b', long = "brokerId")]
    broker_id: i64,
    /// The broker set (Apache's `-bn`).
    #[arg(long = "brokerName")]
    broker_name: String,
    /// Cluster name.
    #[arg(short = 'c', long = "clusterName")]
    cluster: String,
}

/// Makes one replica master; prints the new master, its epochs and the set's members.
pub(crate) async fn elect_master(args: ElectMasterArgs) -> Outcome {
    let addr = args.a.first()?;
    let (cluster, name) = (args.cluster.trim(), args.broker_name.trim());
    let admin = admin(None, &addr)?;
    let result = admin
        .elect_master(&addr, cluster, name, args.broker_id)
        .await;
    admin.shutdown().await;
    let (header, body) = result.map_err(Failure::at(&addr))?;
    let show = |v: Option<String>| v.unwrap_or_else(|| "null".to_owned());
    let mut out = format!(
        "\n#ClusterName\t{cluster}\n#BrokerName\t{name}\n#BrokerMasterAddr\t{}\n#MasterEpoch\t{}\n\
         #SyncStateSetEpoch\t{}\n",
        show(header.master_address),
        show(header.master_epoch.map(|e| e.to_string())),
        show(header.sync_state_set_epoch.map(|e| e.to_string())),
    );
    // Apache's tool decodes the answer's body as a member group and so never finds these; the
    // body carries them under `brokerMemberGroup`.
    for (id, broker) in body
        .broker_member_group
        .iter()
        .flat_map(|g| &g.broker_addrs)
    {
        let _ = writeln!(out, "\t#Broker\t{id}\t{broker}");
    }
    print_out(&out);
    Ok(())
}

/// `cleanBrokerMetadata` flags (Apache's `CleanControllerBrokerMetaSubCommand`).
#[derive(Args, Debug)]
pub(crate) struct CleanBrokerMetadataArgs {
    #[command(flatten)]
    a: ControllerAddr,
    /// Broker ids to remove, `1;2;3`; default: the whole broker set.
    #[arg(short = 'b', long = "brokerControllerIdsToClean")]
    ids: Option<String>,
    /// The broker set (Apache's `-bn`).
    #[arg(long = "brokerName")]
    broker_name: String,
    /// Cluster name (required without `-l`).
    #[arg(short = 'c', long = "clusterName")]
    cluster: Option<String>,
    /// Remove brokers even while they heartbeat.
    #[arg(short = 'l', long = "cleanLivingBroker")]
    clean_living: bool,
}

/// Checks `1;2;3` (Apache means to, but its check never runs).
fn broker_ids(text: &str) -> Result<String, Failure> {
    let text = text.trim();
    for id in text.split(';') {
        if id.trim().parse::<i64>().is_err() {
            return Err(Failure::usage(
                "cleanBrokerMetadata",
                format!("-b takes broker ids separated by ';' (e.g. 1;2;3), not {text:?}"),
            ));
        }
    }
    Ok(text.to_owned())
}

/// Removes replicas (or a whole set) from the controllers' records.
pub(crate) async fn clean_broker_metadata(args: CleanBrokerMetadataArgs) -> Outcome {
    let addr = args.a.first()?;
    let cluster = args
        .cluster
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    if !args.clean_living && cluster.is_none() {
        return Err(Failure::usage(
            "cleanBrokerMetadata",
            "cleanLivingBroker option is false, clusterName option can not be empty.",
        ));
    }
    let what = CleanBrokerData {
        cluster: cluster.map(str::to_owned),
        broker_name: args.broker_name.trim().to_owned(),
        broker_ids: args.ids.as_deref().map(broker_ids).transpose()?,
        clean_living_broker: args.clean_living,
    };
    let admin = admin(None, &addr)?;
    let result = admin.clean_broker_data(&addr, &what).await;
    admin.shutdown().await;
    result.map_err(Failure::at(&addr))?;
    print_out(&format!(
        "clear broker {} metadata from controller success! \n",
        what.broker_name
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use ferromq_protocol::body::EpochEntry;

    use super::*;

    #[test]
    fn epoch_block_ends_the_last_epoch_at_the_log_end() {
        let cache = EpochEntryCache {
            broker_id: 2,
            broker_name: "b".into(),
            cluster_name: "c".into(),
            epoch_list: vec![
                EpochEntry {
                    end_offset: 100,
                    epoch: 1,
                    start_offset: 0,
                },
                EpochEntry {
                    end_offset: i64::MAX,
                    epoch: 2,
                    start_offset: 100,
                },
            ],
            max_offset: 250,
        };
        assert_eq!(
            epoch_block("h:1", &cache),
            "\n#clusterName\tc\n#brokerName\tb\n#brokerAddr\th:1\n#brokerId\t2\
             \n#Epoch: EpochEntry{epoch=1, startOffset=0, endOffset=100}\
             \n#Epoch: EpochEntry{epoch=2, startOffset=100, endOffset=250}\n"
        );
    }

    #[test]
    fn broker_ids_must_be_numbers() {
        assert_eq!(broker_ids(" 1;2 ").ok().as_deref(), Some("1;2"));
        assert!(broker_ids("1;x").is_err());
        assert!(broker_ids("").is_err());
    }
}
