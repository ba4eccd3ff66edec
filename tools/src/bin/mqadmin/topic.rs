//! `topicList`, `topicRoute`, `topicStatus`, `updateTopic` and `deleteTopic`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use clap::{ArgGroup, Args};
use ferromq_protocol::body::{TopicConfig, TopicOffset, TopicStatsTable};

use crate::common::{
    brokers_of, cluster_info, connect, perm_string, print_json, print_out, Failure, Json, Namesrv,
    Outcome,
};
use crate::java;
use crate::time::human_time;

/// The name server KV namespace of order topics' `brokerName:queues` lists (Apache's
/// `NamesrvUtil.NAMESPACE_ORDER_TOPIC_CONFIG`).
pub(crate) const ORDER_TOPIC_CONFIG: &str = "ORDER_TOPIC_CONFIG";

/// `topicList` flags (Apache's `TopicListSubCommand`).
#[derive(Args, Debug)]
pub(crate) struct TopicListArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// Print each topic's cluster and consumer groups.
    #[arg(short = 'c', long = "clusterModel")]
    cluster_model: bool,
    #[command(flatten)]
    out: Json,
}

/// `topicRoute` flags (Apache's `TopicRouteSubCommand`).
#[derive(Args, Debug)]
pub(crate) struct TopicRouteArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// Topic.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// A table instead of JSON.
    #[arg(short = 'l', long = "list")]
    list: bool,
}

/// `topicStatus` flags (Apache's `TopicStatusSubCommand`).
#[derive(Args, Debug)]
pub(crate) struct TopicStatusArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// Topic.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// Ask the masters of this cluster instead of the topic's route.
    #[arg(short = 'c', long = "cluster")]
    cluster: Option<String>,
    #[command(flatten)]
    out: Json,
}

/// `updateTopic` flags (Apache's `UpdateTopicSubCommand`): `-b` or `-c`.
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("target").required(true).args(["broker", "cluster"])))]
pub(crate) struct UpdateTopicArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// Create on this broker.
    #[arg(short = 'b', long = "brokerAddr")]
    broker: Option<String>,
    /// Create on every master of this cluster.
    #[arg(short = 'c', long = "clusterName")]
    cluster: Option<String>,
    /// Topic.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// Attributes, `+a=b,+c=d,-e`.
    #[arg(short = 'a', long = "attributes")]
    attributes: Option<String>,
    /// Read queues (8).
    #[arg(short = 'r', long = "readQueueNums", default_value_t = 8)]
    read: i32,
    /// Write queues (8).
    #[arg(short = 'w', long = "writeQueueNums", default_value_t = 8)]
    write: i32,
    /// Permission: 2 write, 4 read, 6 both.
    #[arg(short = 'p', long = "perm", default_value_t = 6)]
    perm: i32,
    /// Ordered topic (also records the order config on the name servers).
    #[arg(short = 'o', long = "order", default_value_t = false, action = clap::ArgAction::Set)]
    order: bool,
    /// Unit topic.
    #[arg(short = 'u', long = "unit", default_value_t = false, action = clap::ArgAction::Set)]
    unit: bool,
    /// Has unit subscriptions.
    #[arg(short = 's', long = "hasUnitSub", default_value_t = false, action = clap::ArgAction::Set)]
    has_unit_sub: bool,
}

/// `deleteTopic` flags (Apache's `DeleteTopicSubCommand`).
#[derive(Args, Debug)]
pub(crate) struct DeleteTopicArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// Topic.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// Delete from the masters of this cluster.
    #[arg(short = 'c', long = "clusterName")]
    cluster: String,
}

/// Apache's `UtilAll.frontStringAtLeast`: at most `n` characters of `s`.
fn front(s: &str, n: usize) -> &str {
    s.char_indices().nth(n).map_or(s, |(i, _)| &s[..i])
}

/// Every topic, one per line; with `-c`, `#Cluster Name  #Topic  #Consumer Group` rows (one per
/// group; retry and DLQ topics left out), in Apache's widths. Topics and groups come in the order
/// Apache's tool prints them, a Java `HashSet`'s (names that share a hash bucket in name order,
/// where Apache keeps the server's order).
pub(crate) async fn topic_list(args: TopicListArgs) -> Outcome {
    let admin = connect(&args.ns)?;
    let result = async {
        let topics = admin
            .topic_list()
            .await
            .map_err(Failure::at(&args.ns.namesrv))?;
        let mut out = String::new();
        if !args.cluster_model {
            if args.out.json {
                print_json(&serde_json::json!(topics));
                return Ok(());
            }
            // Apache prints the name server's list as a Java `HashSet` iterates it.
            for t in java::set_order(&topics) {
                let _ = writeln!(out, "{t}");
            }
            print_out(&out);
            return Ok(());
        }
        let info = cluster_info(&admin, &args.ns).await?;
        let _ = writeln!(
            out,
            "{:<20}  {:<48}  {:<48}",
            "#Cluster Name", "#Topic", "#Consumer Group"
        );
        let mut rows = Vec::new();
        for topic in java::set_order(&topics) {
            if topic.starts_with("%RETRY%") || topic.starts_with("%DLQ%") {
                continue;
            }
            let mut cluster = String::new();
            let mut groups = BTreeSet::new();
            // As Apache: a topic whose route or groups cannot be read still gets a row.
            if let Ok(route) = admin.topic_route(topic).await {
                if let Some(first) = route.broker_datas.first() {
                    cluster = info
                        .cluster_addr_table
                        .iter()
                        .find(|(_, names)| names.contains(&first.broker_name))
                        .map(|(c, _)| c.clone())
                        .unwrap_or_default();
                }
                for b in &route.broker_datas {
                    if let Some(addr) = b.master_addr() {
                        if let Ok(g) = admin.topic_consumer_groups(addr, topic).await {
                            groups.extend(g);
                        }
                    }
                }
            }
            rows.push(serde_json::json!({"cluster": cluster, "topic": topic, "groups": groups}));
            if groups.is_empty() {
                groups.insert(String::new());
            }
            for g in java::set_order(&groups) {
                let _ = writeln!(
                    out,
                    "{:<20}  {:<64}  {:<64}",
                    front(&cluster, 20),
                    front(topic, 64),
                    front(g, 64)
                );
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

/// A topic's route as JSON (Apache: `toJson(true)`; here with quoted `brokerAddrs` keys, so it
/// is valid JSON), or with `-l` Apache's table and its `Total:` line.
pub(crate) async fn topic_route(args: TopicRouteArgs) -> Outcome {
    let admin = connect(&args.ns)?;
    let result = async {
        let topic = args.topic.trim();
        let route = admin
            .topic_route(topic)
            .await
            .map_err(Failure::at(&args.ns.namesrv))?;
        if !args.list {
            let value = serde_json::to_value(&*route).unwrap_or_default();
            print_json(&value);
            return Ok(());
        }
        let row = |out: &mut String, c: &str, b: &str, a: &str, r: &str, w: &str, p: &str| {
            let _ = writeln!(out, "{c:<45} {b:<32} {a:<50} {r:<10} {w:<11} {p:<5}");
        };
        let mut out = String::new();
        row(
            &mut out,
            "#ClusterName",
            "#BrokerName",
            "#BrokerAddrs",
            "#ReadQueue",
            "#WriteQueue",
            "#Perm",
        );
        let queues: BTreeMap<&str, _> = route
            .queue_datas
            .iter()
            .map(|q| (q.broker_name.as_str(), q))
            .collect();
        let mut brokers: Vec<_> = route.broker_datas.iter().collect();
        brokers.sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
        let (mut total_read, mut total_write) = (0, 0);
        for b in brokers {
            let Some(q) = queues.get(b.broker_name.as_str()) else {
                continue;
            };
            total_read += q.read_queue_nums;
            total_write += q.write_queue_nums;
            // Java's Map.toString: {0=addr, 1=addr}.
            let addrs = b
                .broker_addrs
                .iter()
                .map(|(id, a)| format!("{id}={a}"))
                .collect::<Vec<_>>()
                .join(", ");
            row(
                &mut out,
                &b.cluster,
                &b.broker_name,
                &format!("{{{addrs}}}"),
                &q.read_queue_nums.to_string(),
                &q.write_queue_nums.to_string(),
                &q.perm.to_string(),
            );
        }
        let _ = writeln!(out, "{}", "-".repeat(158));
        row(
            &mut out,
            "Total:",
            &queues.len().to_string(),
            "",
            &total_read.to_string(),
            &total_write.to_string(),
            "",
        );
        print_out(&out);
        Ok(())
    }
    .await;
    admin.shutdown().await;
    result
}

/// Per queue (sorted by broker name, then queue id): broker name, queue id, min and max offset
/// and the last store time; then `Topic Put TPS`. Apache's widths.
pub(crate) async fn topic_status(args: TopicStatusArgs) -> Outcome {
    let admin = connect(&args.ns)?;
    let result = async {
        let topic = args.topic.trim();
        let addrs: Vec<String> = match &args.cluster {
            Some(c) => {
                let info = cluster_info(&admin, &args.ns).await?;
                brokers_of(&info, c.trim())?
                    .into_iter()
                    .filter_map(|b| b.master_addr().map(str::to_owned))
                    .collect()
            }
            None => admin
                .topic_route(topic)
                .await
                .map_err(Failure::at(&args.ns.namesrv))?
                .broker_datas
                .iter()
                .filter_map(|b| b.master_addr().map(str::to_owned))
                .collect(),
        };
        let mut all = TopicStatsTable::default();
        let mut tps = 0.0;
        for addr in &addrs {
            let t = admin
                .topic_stats_at(addr, topic)
                .await
                .map_err(Failure::at(addr))?;
            tps += t.topic_put_tps.unwrap_or(0.0);
            all.offset_table.extend(t.offset_table);
        }
        if args.out.json {
            let queues: Vec<_> = all
                .offset_table
                .iter()
                .map(|(mq, o)| {
                    serde_json::json!({
                        "brokerName": mq.broker_name, "queueId": mq.queue_id,
                        "minOffset": o.min_offset, "maxOffset": o.max_offset,
                        "lastUpdateTimestamp": o.last_update_timestamp,
                    })
                })
                .collect();
            print_json(&serde_json::json!({"queues": queues, "topicPutTps": tps}));
            return Ok(());
        }
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<32}  {:<4}  {:<20}  {:<20}    #Last Updated",
            "#Broker Name", "#QID", "#Min Offset", "#Max Offset"
        );
        let mut queues: Vec<_> = all.offset_table.iter().collect();
        queues.sort_by(|(a, _), (b, _)| {
            (&a.topic, &a.broker_name, a.queue_id).cmp(&(&b.topic, &b.broker_name, b.queue_id))
        });
        for (
            mq,
            TopicOffset {
                min_offset,
                max_offset,
                last_update_timestamp,
            },
        ) in queues
        {
            let when = if *last_update_timestamp > 0 {
                human_time(*last_update_timestamp)
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "{:<32}  {:<4}  {min_offset:<20}  {max_offset:<20}    {when}",
                front(&mq.broker_name, 32),
                mq.queue_id
            );
        }
        let _ = writeln!(out, "\nTopic Put TPS: {tps:?}");
        print_out(&out);
        Ok(())
    }
    .await;
    admin.shutdown().await;
    result
}

/// Apache's `AttributeParser.parseToMap`: `+a=b,-c` to `{"+a": "b", "-c": ""}`.
fn parse_attributes(text: &str) -> Result<BTreeMap<String, String>, Failure> {
    let mut out = BTreeMap::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = match part.split_once('=') {
            Some((k, v)) if k.starts_with('+') => (k, v),
            None if part.starts_with('-') => (part, ""),
            _ => {
                return Err(Failure::usage(
                    "update topic",
                    format!("bad attribute {part}: +key=value or -key"),
                ))
            }
        };
        out.insert(key.to_owned(), value.to_owned());
    }
    Ok(out)
}

/// UPDATE_AND_CREATE_TOPIC on a broker or every master of a cluster: `create topic to <addr>
/// success.` per broker, the order config line for `-o true`, then the config as Apache's
/// `TopicConfig.toString`.
pub(crate) async fn update_topic(args: UpdateTopicArgs) -> Outcome {
    let config = TopicConfig {
        topic_name: args.topic.trim().to_owned(),
        read_queue_nums: args.read,
        write_queue_nums: args.write,
        perm: args.perm,
        order: args.order,
        // TopicSysFlag.buildSysFlag: unit 1, unit subscription 2.
        topic_sys_flag: i32::from(args.unit) | i32::from(args.has_unit_sub) << 1,
        attributes: match &args.attributes {
            Some(a) => parse_attributes(a)?,
            None => BTreeMap::new(),
        },
        ..TopicConfig::default()
    };
    let admin = connect(&args.ns)?;
    let result = async {
        let info = cluster_info(&admin, &args.ns).await?;
        let targets: Vec<(String, String)> = match (&args.broker, &args.cluster) {
            (Some(addr), _) => {
                let addr = addr.trim();
                let name = info
                    .broker_addr_table
                    .values()
                    .find(|b| b.broker_addrs.values().any(|a| a == addr))
                    .map(|b| b.broker_name.clone())
                    .unwrap_or_default();
                vec![(name, addr.to_owned())]
            }
            (None, Some(c)) => brokers_of(&info, c.trim())?
                .into_iter()
                .filter_map(|b| b.master_addr().map(|a| (b.broker_name.clone(), a.to_owned())))
                .collect(),
            (None, None) => Vec::new(),
        };
        for (_, addr) in &targets {
            admin
                .create_topic_at(addr, &config)
                .await
                .map_err(Failure::at(addr))?;
            print_out(&format!("create topic to {addr} success.\n"));
        }
        if config.order {
            let conf = targets
                .iter()
                .map(|(name, _)| format!("{name}:{}", config.write_queue_nums))
                .collect::<Vec<_>>()
                .join(";");
            admin
                .put_kv_config(ORDER_TOPIC_CONFIG, &config.topic_name, &conf)
                .await
                .map_err(Failure::at(&args.ns.namesrv))?;
            let scope = if args.broker.is_some() { "broker" } else { "cluster" };
            print_out(&format!("set {scope} orderConf. isOrder=true, orderConf=[{conf}]\n"));
        }
        let attributes = config
            .attributes
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ");
        print_out(&format!(
            "TopicConfig [topicName={}, readQueueNums={}, writeQueueNums={}, perm={}, topicFilterType=SINGLE_TAG, topicSysFlag={}, order={}, attributes={{{attributes}}}]\n",
            config.topic_name,
            config.read_queue_nums,
            config.write_queue_nums,
            perm_string(config.perm),
            config.topic_sys_flag,
            config.order,
        ));
        Ok(())
    }
    .await;
    admin.shutdown().await;
    result
}

/// DELETE_TOPIC_IN_BROKER on every master of the cluster, then DELETE_TOPIC_IN_NAMESRV, with
/// Apache's two success lines.
pub(crate) async fn delete_topic(args: DeleteTopicArgs) -> Outcome {
    let admin = connect(&args.ns)?;
    let result = async {
        let topic = args.topic.trim();
        let cluster = args.cluster.trim();
        let info = cluster_info(&admin, &args.ns).await?;
        for b in brokers_of(&info, cluster)? {
            if let Some(addr) = b.master_addr() {
                admin
                    .delete_topic_at(addr, topic)
                    .await
                    .map_err(Failure::at(addr))?;
            }
        }
        print_out(&format!(
            "delete topic [{topic}] from cluster [{cluster}] success.\n"
        ));
        admin
            .delete_topic_in_namesrv(topic, Some(cluster))
            .await
            .map_err(Failure::at(&args.ns.namesrv))?;
        print_out(&format!(
            "delete topic [{topic}] from NameServer success.\n"
        ));
        Ok(())
    }
    .await;
    admin.shutdown().await;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_parse_as_apaches() {
        let a = parse_attributes("+message.type=FIFO,-x").expect("valid");
        assert_eq!(a.get("+message.type").map(String::as_str), Some("FIFO"));
        assert_eq!(a.get("-x").map(String::as_str), Some(""));
        assert!(parse_attributes("a=b").is_err());
    }

    #[test]
    fn front_cuts_at_characters() {
        assert_eq!(front("abcdef", 3), "abc");
        assert_eq!(front("ab", 3), "ab");
        assert_eq!(front("ééé", 2), "éé");
    }
}
