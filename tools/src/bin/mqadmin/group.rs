//! `updateSubGroup`, `deleteSubGroup`, `consumerProgress`, `consumerConnection` and
//! `producerConnection`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use clap::{ArgAction, ArgGroup, Args};
use ferromq_client::{Admin, SubscriptionGroup};
use ferromq_protocol::body::{Connection, ConsumeStats, ConsumeType, ConsumerConnection};
use ferromq_protocol::{ResponseCode, Version};

use crate::common::{
    brokers_of, cluster_info, connect, print_json, print_out, Failure, Json, Namesrv, Outcome,
};
use crate::java;
use crate::time::human_time;

/// `updateSubGroup` flags (Apache's `UpdateSubGroupSubCommand`): `-b` or `-c`, `-g`.
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("target").required(true).args(["broker", "cluster"])))]
pub(crate) struct UpdateSubGroupArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// Create on this broker.
    #[arg(short = 'b', long = "brokerAddr")]
    broker: Option<String>,
    /// Create on every master of this cluster.
    #[arg(short = 'c', long = "clusterName")]
    cluster: Option<String>,
    /// Consumer group.
    #[arg(short = 'g', long = "groupName")]
    group: String,
    /// The group may consume.
    #[arg(short = 's', long = "consumeEnable", action = ArgAction::Set)]
    consume_enable: Option<bool>,
    /// A new group starts from the minimum offsets (false, as Apache's command sets it).
    #[arg(short = 'm', long = "consumeFromMinEnable", action = ArgAction::Set)]
    from_min: Option<bool>,
    /// Broadcast consumption allowed (false, as Apache's command sets it).
    #[arg(short = 'd', long = "consumeBroadcastEnable", action = ArgAction::Set)]
    broadcast: Option<bool>,
    /// Orderly consumption.
    #[arg(short = 'o', long = "consumeMessageOrderly", action = ArgAction::Set)]
    orderly: Option<bool>,
    /// Retry queues.
    #[arg(short = 'q', long = "retryQueueNums")]
    retry_queue_nums: Option<i32>,
    /// Deliveries before the dead-letter queue.
    #[arg(short = 'r', long = "retryMaxTimes")]
    retry_max_times: Option<i32>,
    /// The broker id consumers pull from.
    #[arg(short = 'i', long = "brokerId")]
    broker_id: Option<i64>,
    /// The broker id to pull from when consumption is slow.
    #[arg(short = 'w', long = "whichBrokerWhenConsumeSlowly")]
    slow_broker_id: Option<i64>,
    /// Tell consumers when membership changes.
    #[arg(short = 'a', long = "notifyConsumerIdsChanged", action = ArgAction::Set)]
    notify: Option<bool>,
    /// Attributes to add or change (`+key=value`) or remove (`-key`), comma-separated.
    #[arg(long = "attributes")]
    attributes: Option<String>,
}

/// Apache's `AttributeParser.parseToMap`: `+a=b,+c=d,-e` to `{+a: b, +c: d, -e: ""}`; a key
/// set without `+`, removed without `-`, or given twice is refused.
pub(crate) fn parse_attributes(text: &str) -> Result<BTreeMap<String, String>, Failure> {
    let bad = |m: String| Failure::usage("update subscription group", m);
    let mut out = BTreeMap::new();
    if text.is_empty() {
        return Ok(out);
    }
    for kv in text.split(',') {
        let (key, value) = match kv.split_once('=') {
            Some((k, v)) if k.contains('+') => (k, v.split('=').next().unwrap_or_default()),
            Some((k, _)) => return Err(bad(format!("add/alter attribute format is wrong: {k}"))),
            None if kv.contains('-') => (kv, ""),
            None => return Err(bad(format!("delete attribute format is wrong: {kv}"))),
        };
        if out.insert(key.to_owned(), value.to_owned()).is_some() {
            return Err(bad(format!("key duplication: {key}")));
        }
    }
    Ok(out)
}

/// `deleteSubGroup` flags (Apache's `DeleteSubscriptionGroupCommand`).
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("target").required(true).args(["broker", "cluster"])))]
pub(crate) struct DeleteSubGroupArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// Delete from this broker.
    #[arg(short = 'b', long = "brokerAddr")]
    broker: Option<String>,
    /// Delete from every master of this cluster (and the group's retry and DLQ topics).
    #[arg(short = 'c', long = "clusterName")]
    cluster: Option<String>,
    /// Consumer group.
    #[arg(short = 'g', long = "groupName")]
    group: String,
    /// Also remove the group's offsets.
    #[arg(short = 'r', long = "removeOffset", action = ArgAction::Set, default_value_t = false)]
    remove_offset: bool,
}

/// `consumerProgress` flags (Apache's `ConsumerProgressSubCommand`).
#[derive(Args, Debug)]
pub(crate) struct ConsumerProgressArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// Consumer group; without it, every group with a retry topic.
    #[arg(short = 'g', long = "groupName")]
    group: Option<String>,
    /// Only this topic.
    #[arg(short = 't', long = "topicName")]
    topic: Option<String>,
    /// Only the masters of this cluster.
    #[arg(short = 'c', long = "cluster")]
    cluster: Option<String>,
    /// `true`: a `#Client IP` column, the address of the consumer each queue is allocated to.
    #[arg(short = 's', long = "showClientIP")]
    show_client_ip: Option<String>,
    #[command(flatten)]
    out: Json,
}

/// `consumerConnection` flags (Apache's `ConsumerConnectionSubCommand`).
#[derive(Args, Debug)]
pub(crate) struct ConsumerConnectionArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// Consumer group.
    #[arg(short = 'g', long = "consumerGroup")]
    group: String,
    /// Ask this broker only.
    #[arg(short = 'b', long = "brokerAddr")]
    broker: Option<String>,
    #[command(flatten)]
    out: Json,
}

/// `producerConnection` flags (Apache's `ProducerConnectionSubCommand`).
#[derive(Args, Debug)]
pub(crate) struct ProducerConnectionArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// Producer group.
    #[arg(short = 'g', long = "producerGroup")]
    group: String,
    /// A topic the producers send to (its brokers are asked).
    #[arg(short = 't', long = "topic")]
    topic: String,
    #[command(flatten)]
    out: Json,
}

/// The masters of `cluster`, or of every cluster.
async fn masters(
    admin: &Admin,
    ns: &Namesrv,
    cluster: Option<&str>,
) -> Result<Vec<String>, Failure> {
    let info = cluster_info(admin, ns).await?;
    let groups = match cluster {
        Some(c) => brokers_of(&info, c.trim())?,
        None => info.broker_addr_table.values().collect(),
    };
    Ok(groups
        .into_iter()
        .filter_map(|b| b.master_addr().map(str::to_owned))
        .collect())
}

/// The masters that hold `topic` (its route), else every master of the cluster (or all).
pub(crate) async fn masters_of(
    admin: &Admin,
    ns: &Namesrv,
    topic: &str,
    cluster: Option<&str>,
) -> Result<Vec<String>, Failure> {
    match admin.topic_route(topic).await {
        Ok(route) if cluster.is_none() => Ok(route
            .broker_datas
            .iter()
            .filter_map(|b| b.master_addr().map(str::to_owned))
            .collect()),
        _ => masters(admin, ns, cluster).await,
    }
}

/// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP on a broker or every master of a cluster: `create
/// subscription group to <addr> success.` per broker, then the settings.
pub(crate) async fn update_sub_group(args: UpdateSubGroupArgs) -> Outcome {
    let mut g = SubscriptionGroup::new(args.group.trim());
    // Apache's command turns these two off unless asked.
    g.consume_broadcast_enable = args.broadcast.unwrap_or(false);
    g.consume_from_min_enable = args.from_min.unwrap_or(false);
    if let Some(v) = args.consume_enable {
        g.consume_enable = v;
    }
    if let Some(v) = args.orderly {
        g.consume_message_orderly = v;
    }
    if let Some(v) = args.retry_queue_nums {
        g.retry_queue_nums = v;
    }
    if let Some(v) = args.retry_max_times {
        g.retry_max_times = v;
    }
    if let Some(v) = args.broker_id {
        g.broker_id = v;
    }
    if let Some(v) = args.slow_broker_id {
        g.which_broker_when_consume_slowly = v;
    }
    if let Some(v) = args.notify {
        g.notify_consumer_ids_changed_enable = v;
    }
    if let Some(a) = &args.attributes {
        g.attributes = parse_attributes(a.trim())?;
    }
    let admin = connect(&args.ns)?;
    let result = async {
        let addrs = match &args.broker {
            Some(b) => vec![b.trim().to_owned()],
            None => masters(&admin, &args.ns, args.cluster.as_deref()).await?,
        };
        for addr in addrs {
            admin
                .create_subscription_group_at(&addr, &g)
                .await
                .map_err(Failure::at(&addr))?;
            print_out(&format!("create subscription group to {addr} success.\n"));
        }
        // Apache's `SubscriptionGroupConfig.toString` (Guava's toStringHelper); the settings
        // Apache has and FerroMQ's command does not set are at Apache's defaults.
        // In the order of Java's `HashMap` (16 buckets).
        let mut attributes: Vec<_> = g.attributes.iter().collect();
        attributes.sort_by_cached_key(|(k, _)| java::bucket(java::string_hash(k), 16));
        let attributes = attributes
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ");
        print_out(&format!(
            "SubscriptionGroupConfig{{groupName={}, consumeEnable={}, consumeFromMinEnable={}, consumeBroadcastEnable={}, consumeMessageOrderly={}, retryQueueNums={}, retryMaxTimes={}, groupRetryPolicy=GroupRetryPolicy{{type=CUSTOMIZED, exponentialRetryPolicy=null, customizedRetryPolicy=null}}, brokerId={}, whichBrokerWhenConsumeSlowly={}, notifyConsumerIdsChangedEnable={}, groupSysFlag=0, consumeTimeoutMinute=15, subscriptionDataSet=null, attributes={{{attributes}}}}}\n",
            g.group_name,
            g.consume_enable,
            g.consume_from_min_enable,
            g.consume_broadcast_enable,
            g.consume_message_orderly,
            g.retry_queue_nums,
            g.retry_max_times,
            g.broker_id,
            g.which_broker_when_consume_slowly,
            g.notify_consumer_ids_changed_enable,
        ));
        Ok(())
    }
    .await;
    admin.shutdown().await;
    result
}

/// DELETE_SUBSCRIPTIONGROUP on a broker, or on every master of a cluster followed by the
/// group's `%RETRY%` and `%DLQ%` topics, with Apache's lines.
pub(crate) async fn delete_sub_group(args: DeleteSubGroupArgs) -> Outcome {
    let admin = connect(&args.ns)?;
    let result = async {
        let group = args.group.trim();
        if let Some(addr) = &args.broker {
            let addr = addr.trim();
            admin
                .delete_subscription_group_at(addr, group, args.remove_offset)
                .await
                .map_err(Failure::at(addr))?;
            print_out(&format!(
                "delete subscription group [{group}] from broker [{addr}] success.\n"
            ));
            return Ok(());
        }
        let cluster = args.cluster.as_deref().unwrap_or_default().trim();
        for addr in masters(&admin, &args.ns, Some(cluster)).await? {
            admin
                .delete_subscription_group_at(&addr, group, args.remove_offset)
                .await
                .map_err(Failure::at(&addr))?;
            print_out(&format!(
                "delete subscription group [{group}] from broker [{addr}] in cluster [{cluster}] success.\n"
            ));
        }
        // As Apache: the retry and DLQ topics go too; one that does not exist is no failure.
        for topic in [format!("%RETRY%{group}"), format!("%DLQ%{group}")] {
            if let Err(e) = admin.delete_topic(cluster, &topic).await {
                if e.response_code() != Some(ResponseCode::TOPIC_NOT_EXIST) {
                    eprintln!("mqadmin: {}", Failure::from(e));
                }
            }
        }
        Ok(())
    }
    .await;
    admin.shutdown().await;
    result
}

/// A group's merged consume stats across `addrs`.
async fn consume_stats(
    admin: &Admin,
    addrs: &[String],
    group: &str,
    topic: Option<&str>,
) -> Result<ConsumeStats, Failure> {
    let mut all = ConsumeStats::default();
    for addr in addrs {
        let s = admin
            .consume_stats_at(addr, group, topic)
            .await
            .map_err(Failure::at(addr))?;
        all.consume_tps += s.consume_tps;
        all.offset_table.extend(s.offset_table);
    }
    Ok(all)
}

/// One group's consumers, from the first of `addrs` that has any, with that broker.
pub(crate) async fn connection(
    admin: &Admin,
    addrs: &[String],
    group: &str,
) -> Result<(String, ConsumerConnection), Failure> {
    let mut last = None;
    for addr in addrs {
        match admin.consumer_connection_at(addr, group).await {
            Ok(c) if !c.connection_set.is_empty() => return Ok((addr.clone(), c)),
            Ok(_) => {}
            Err(e) => last = Some(Failure::at(addr)(e)),
        }
    }
    Err(last.unwrap_or_else(|| {
        Failure::usage(
            "consumer connection",
            format!("the consumer group {group} is not online"),
        )
    }))
}

/// With `-g`: per queue the broker and consumer offsets, the lag, in-flight count and last
/// consumed time, then the totals (Apache's layout). Without: every group with a retry topic,
/// its consumer count, version, type, model, TPS and total lag.
pub(crate) async fn consumer_progress(args: ConsumerProgressArgs) -> Outcome {
    let admin = connect(&args.ns)?;
    let result = async {
        match &args.group {
            Some(group) => group_progress(&admin, &args, group.trim()).await,
            None => all_groups(&admin, &args).await,
        }
    }
    .await;
    admin.shutdown().await;
    result
}

async fn group_progress(admin: &Admin, args: &ConsumerProgressArgs, group: &str) -> Outcome {
    let topic = args.topic.as_deref().map(str::trim);
    let route_topic = topic.map_or_else(|| format!("%RETRY%{group}"), str::to_owned);
    let addrs = masters_of(admin, &args.ns, &route_topic, args.cluster.as_deref()).await?;
    let stats = consume_stats(admin, &addrs, group, topic).await?;
    if stats.offset_table.is_empty() {
        return Err(Failure::usage(
            "consumer progress",
            "Not found the consumer group consume stats, because return offset table is empty, maybe the consumer not consume any message",
        ));
    }
    let mut queues: Vec<_> = stats.offset_table.iter().collect();
    queues.sort_by(|(a, _), (b, _)| {
        (&a.topic, &a.broker_name, a.queue_id).cmp(&(&b.topic, &b.broker_name, b.queue_id))
    });
    let show_ip = args
        .show_client_ip
        .as_deref()
        .is_some_and(|s| s.eq_ignore_ascii_case("true"));
    let owners = if show_ip {
        allocation(admin, &addrs, group).await
    } else {
        BTreeMap::new()
    };
    let mut out = String::new();
    let mut rows = Vec::new();
    let ip_head = if show_ip {
        format!("{:<20} ", "#Client IP")
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "{:<64}  {:<32}  {:<4}  {:<20}  {:<20}  {ip_head}{:<20} {:<20}#LastTime",
        "#Topic",
        "#Broker Name",
        "#QID",
        "#Broker Offset",
        "#Consumer Offset",
        "#Diff",
        "#Inflight"
    );
    let (mut diff_total, mut inflight_total) = (0i64, 0i64);
    for (mq, o) in queues {
        let diff = o.broker_offset - o.consumer_offset;
        let inflight = o.pull_offset - o.consumer_offset;
        diff_total += diff;
        inflight_total += inflight;
        // `yyyy-MM-dd HH:mm:ss`.
        let last = if o.last_timestamp == 0 {
            "N/A".to_owned()
        } else {
            let t = human_time(o.last_timestamp);
            t.get(..19).unwrap_or(&t).to_owned()
        };
        let owner = owners.get(mq).map(String::as_str);
        let ip = if show_ip {
            format!("{:<20} ", owner.unwrap_or("N/A"))
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "{:<64}  {:<32}  {:<4}  {:<20}  {:<20}  {ip}{diff:<20} {inflight:<20} {last}",
            mq.topic, mq.broker_name, mq.queue_id, o.broker_offset, o.consumer_offset
        );
        let mut row = serde_json::json!({
            "topic": mq.topic, "brokerName": mq.broker_name, "queueId": mq.queue_id,
            "brokerOffset": o.broker_offset, "consumerOffset": o.consumer_offset,
            "diff": diff, "inflight": inflight, "lastTimestamp": o.last_timestamp,
        });
        if show_ip {
            row["clientIp"] = owner.map_or(serde_json::Value::Null, Into::into);
        }
        rows.push(row);
    }
    let _ = writeln!(out, "\nConsume TPS: {:.2}", stats.consume_tps);
    let _ = writeln!(out, "Consume Diff Total: {diff_total}");
    let _ = writeln!(out, "Consume Inflight Total: {inflight_total}");
    if args.out.json {
        print_json(&serde_json::json!({
            "queues": rows, "consumeTps": stats.consume_tps,
            "diffTotal": diff_total, "inflightTotal": inflight_total,
        }));
    } else {
        print_out(&out);
    }
    Ok(())
}

/// Which consumer holds each queue (Apache's `getMessageQueueAllocationResult`): the queues of
/// each online consumer's running info (`mqTable`), to the host part of its client id. A
/// consumer that does not answer, or lists no queues, leaves its queues out (`N/A`).
async fn allocation(
    admin: &Admin,
    addrs: &[String],
    group: &str,
) -> BTreeMap<ferromq_protocol::body::MessageQueue, String> {
    let mut out = BTreeMap::new();
    let Ok((addr, conn)) = connection(admin, addrs, group).await else {
        return out;
    };
    for c in &conn.connection_set {
        let Ok(info) = admin
            .consumer_running_info_at(&addr, group, &c.client_id, false)
            .await
        else {
            continue;
        };
        let host = c.client_id.split('@').next().unwrap_or_default();
        for key in info["mqTable"]
            .as_object()
            .into_iter()
            .flat_map(|t| t.keys())
        {
            // fastjson writes the queue itself as the key, kept here as its JSON text.
            if let Ok(mq) = ferromq_protocol::json::from_slice(key.as_bytes()) {
                out.insert(mq, host.to_owned());
            }
        }
    }
    out
}

/// Apache's `MQVersion.getVersionDesc`.
pub(crate) fn version_desc(version: i32) -> String {
    Version(version)
        .release_name()
        .unwrap_or_else(|| format!("V{version}"))
}

async fn all_groups(admin: &Admin, args: &ConsumerProgressArgs) -> Outcome {
    let topics = admin
        .topic_list()
        .await
        .map_err(Failure::at(&args.ns.namesrv))?;
    let mut out = String::new();
    let mut rows = Vec::new();
    let _ = writeln!(
        out,
        "{:<64}  {:<6}  {:<24} {:<5}  {:<14}  {:<7}  #Diff Total",
        "#Group", "#Count", "#Version", "#Type", "#Model", "#TPS"
    );
    // In the order Apache's `HashSet` of topics iterates.
    for topic in crate::java::set_order(&topics) {
        let Some(group) = topic.strip_prefix("%RETRY%") else {
            continue;
        };
        let addrs = masters_of(admin, &args.ns, topic, args.cluster.as_deref()).await?;
        // As Apache: a group whose stats or connections cannot be read still gets a row.
        let stats = consume_stats(admin, &addrs, group, None).await.ok();
        let conn = connection(admin, &addrs, group).await.ok().map(|(_, c)| c);
        let (tps, diff) = stats.map_or((0, 0), |s| {
            let diff = s
                .offset_table
                .values()
                .map(|o| o.broker_offset - o.consumer_offset)
                .sum::<i64>();
            (s.consume_tps as i64, diff)
        });
        let count = conn.as_ref().map_or(0, |c| c.connection_set.len());
        let version = match conn
            .as_ref()
            .and_then(|c| c.connection_set.iter().map(|x| x.version).min())
        {
            Some(v) if count > 0 => version_desc(v),
            _ => "OFFLINE".to_owned(),
        };
        // As Apache's GroupConsumeInfo: the type of an online group; the model of an online
        // push group only.
        let (kind, model) = match conn.as_ref().filter(|_| count > 0) {
            Some(c) if c.consume_type == Some(ConsumeType::ConsumeActively) => {
                ("PULL", String::new())
            }
            Some(c) => (
                "PUSH",
                match (&c.consume_type, &c.message_model) {
                    (Some(ConsumeType::ConsumePassively), Some(m)) => m.name().to_owned(),
                    _ => String::new(),
                },
            ),
            None => ("", String::new()),
        };
        let _ = writeln!(
            out,
            "{group:<64}  {count:<6}  {version:<24} {kind:<5}  {model:<14}  {tps:<7}  {diff}"
        );
        rows.push(serde_json::json!({
            "group": group, "count": count, "version": version, "type": kind,
            "model": model, "tps": tps, "diffTotal": diff,
        }));
    }
    if args.out.json {
        print_json(&serde_json::Value::Array(rows));
    } else {
        print_out(&out);
    }
    Ok(())
}

fn connection_json(c: &Connection) -> serde_json::Value {
    serde_json::json!({
        "clientId": c.client_id, "clientAddr": c.client_addr,
        "language": c.language.to_string(), "version": version_desc(c.version),
    })
}

/// The group's consumers (`#ClientId #ClientAddr #Language #Version`), their subscriptions
/// and the group's consume type, model and start point, in Apache's layout.
pub(crate) async fn consumer_connection(args: ConsumerConnectionArgs) -> Outcome {
    let admin = connect(&args.ns)?;
    let result = async {
        let group = args.group.trim();
        let addrs = match &args.broker {
            Some(b) => vec![b.trim().to_owned()],
            None => masters_of(&admin, &args.ns, &format!("%RETRY%{group}"), None).await?,
        };
        let (_, cc) = connection(&admin, &addrs, group).await?;
        let name = |v: Option<&str>| v.unwrap_or("null").to_owned();
        let consume_type = name(cc.consume_type.as_ref().map(|t| t.name()));
        let model = name(cc.message_model.as_ref().map(|t| t.name()));
        let from = name(cc.consume_from_where.as_ref().map(|t| t.name()));
        if args.out.json {
            let subs: BTreeMap<_, _> = cc
                .subscription_table
                .values()
                .map(|s| (s.topic.clone(), s.sub_string.clone()))
                .collect();
            print_json(&serde_json::json!({
                "connections": cc.connection_set.iter().map(connection_json).collect::<Vec<_>>(),
                "subscriptions": subs, "consumeType": consume_type,
                "messageModel": model, "consumeFromWhere": from,
            }));
            return Ok(());
        }
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<36} {:<22} {:<10} #Version",
            "#ClientId", "#ClientAddr", "#Language"
        );
        for c in &cc.connection_set {
            let _ = writeln!(
                out,
                "{:<36} {:<22} {:<10} {}",
                c.client_id,
                c.client_addr,
                c.language.to_string(),
                version_desc(c.version)
            );
        }
        let _ = writeln!(out, "\nBelow is subscription:");
        let _ = writeln!(out, "{:<20} #SubExpression", "#Topic");
        for s in cc.subscription_table.values() {
            let _ = writeln!(out, "{:<20} {}", s.topic, s.sub_string);
        }
        let _ = writeln!(out);
        let _ = writeln!(out, "ConsumeType: {consume_type}");
        let _ = writeln!(out, "MessageModel: {model}");
        let _ = writeln!(out, "ConsumeFromWhere: {from}");
        print_out(&out);
        Ok(())
    }
    .await;
    admin.shutdown().await;
    result
}

/// The group's producers connected to the topic's brokers, numbered, in Apache's
/// `%04d  %-32s %-22s %-8s %s` layout.
pub(crate) async fn producer_connection(args: ProducerConnectionArgs) -> Outcome {
    let admin = connect(&args.ns)?;
    let result = async {
        let group = args.group.trim();
        let route = admin
            .topic_route(args.topic.trim())
            .await
            .map_err(Failure::at(&args.ns.namesrv))?;
        // Merged by client id: a producer is connected to every broker it sends to.
        let mut all: BTreeMap<String, Connection> = BTreeMap::new();
        for b in &route.broker_datas {
            let Some(addr) = b.master_addr() else {
                continue;
            };
            let pc = admin
                .producer_connection_at(addr, group)
                .await
                .map_err(Failure::at(addr))?;
            for c in pc.connection_set {
                all.insert(c.client_id.clone(), c);
            }
        }
        if args.out.json {
            print_json(&serde_json::Value::Array(
                all.values().map(connection_json).collect(),
            ));
            return Ok(());
        }
        let mut out = String::new();
        for (i, c) in (1..).zip(all.values()) {
            let _ = writeln!(
                out,
                "{i:04}  {:<32} {:<22} {:<8} {}",
                c.client_id,
                c.client_addr,
                c.language.to_string(),
                version_desc(c.version)
            );
        }
        print_out(&out);
        Ok(())
    }
    .await;
    admin.shutdown().await;
    result
}
