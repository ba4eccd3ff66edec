//! `cloneGroupOffset`, `resetOffsetByTime` and `statsAll`.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use clap::{ArgAction, Args};
use ferromq_client::Admin;
use ferromq_protocol::body::{BrokerStatsData, MessageQueue};
use ferromq_protocol::ResponseCode;

use crate::common::{connect, print_json, print_out, Failure, Json, Namesrv, Outcome};
use crate::time::{now_millis, parse_millis_or_date};

/// `cloneGroupOffset` flags (Apache's `CloneGroupOffsetCommand`).
#[derive(Args, Debug)]
pub(crate) struct CloneGroupOffsetArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// Source group.
    #[arg(short = 's', long = "srcGroup")]
    src: String,
    /// Destination group.
    #[arg(short = 'd', long = "destGroup")]
    dest: String,
    /// Topic.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// The group or the topic is offline: copy even what online consumers do not subscribe to.
    #[arg(short = 'o', long = "offline", action = ArgAction::Set, default_value_t = false)]
    offline: bool,
}

/// `resetOffsetByTime` flags (Apache's `ResetOffsetByTimeCommand`).
#[derive(Args, Debug)]
pub(crate) struct ResetOffsetByTimeArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// Consumer group.
    #[arg(short = 'g', long = "group")]
    group: String,
    /// Topic.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// `now`, milliseconds since the epoch, or `yyyy-MM-dd#HH:mm:ss:SSS` (local time).
    #[arg(short = 's', long = "timestamp")]
    timestamp: String,
    /// Move offsets forward too (true), not only back.
    #[arg(short = 'f', long = "force", action = ArgAction::Set, default_value_t = true)]
    force: bool,
    /// Only one queue: the broker address (with `-q`).
    #[arg(short = 'b', long = "broker", requires = "queue")]
    broker: Option<String>,
    /// Only one queue: its id (with `-b`).
    #[arg(short = 'q', long = "queue", requires = "broker")]
    queue: Option<i32>,
    /// With `-b` and `-q`: this offset rather than the one stored at the timestamp.
    #[arg(short = 'o', long = "offset", requires = "queue")]
    offset: Option<i64>,
    /// Cluster name or LMQ parent topic, whose route an LMQ topic is found by.
    #[arg(short = 'c', long = "cluster")]
    cluster: Option<String>,
}

/// `statsAll` flags (Apache's `StatsAllSubCommand`).
#[derive(Args, Debug)]
pub(crate) struct StatsAllArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// Only topics with traffic in the last day.
    #[arg(short = 'a', long = "activeTopic")]
    active: bool,
    /// Only this topic.
    #[arg(short = 't', long = "topic")]
    topic: Option<String>,
    #[command(flatten)]
    out: Json,
}

/// The masters of `topic`'s route.
async fn route_masters(admin: &Admin, ns: &Namesrv, topic: &str) -> Result<Vec<String>, Failure> {
    let route = admin
        .topic_route(topic)
        .await
        .map_err(Failure::at(&ns.namesrv))?;
    Ok(route
        .broker_datas
        .iter()
        .filter_map(|b| b.master_addr().map(str::to_owned))
        .collect())
}

/// CLONE_GROUP_OFFSET on each master of the topic, then Apache's success line.
pub(crate) async fn clone_group_offset(args: CloneGroupOffsetArgs) -> Outcome {
    let admin = connect(&args.ns)?;
    let result = async {
        let (src, dest, topic) = (args.src.trim(), args.dest.trim(), args.topic.trim());
        for addr in route_masters(&admin, &args.ns, topic).await? {
            admin
                .clone_group_offset_at(&addr, src, dest, topic, args.offline)
                .await
                .map_err(Failure::at(&addr))?;
        }
        print_out(&format!(
            "clone group offset success. srcGroup[{src}], destGroup=[{dest}], topic[{topic}]\n"
        ));
        Ok(())
    }
    .await;
    admin.shutdown().await;
    result
}

/// The `-s` value as milliseconds.
pub(crate) fn parse_timestamp(text: &str) -> Result<i64, Failure> {
    if text == "now" {
        return Ok(now_millis());
    }
    parse_millis_or_date(text).ok_or_else(|| {
        Failure::usage(
            "reset offset",
            format!("bad timestamp {text}: now, milliseconds or yyyy-MM-dd#HH:mm:ss:SSS"),
        )
    })
}

/// The route of `topic`, or for an LMQ topic or `rmq_sys_wheel_timer` with `-c`, of the
/// topic `-c` names (Apache's route topic).
async fn route_of(
    admin: &Admin,
    ns: &Namesrv,
    topic: &str,
    cluster: Option<&str>,
) -> Result<std::sync::Arc<ferromq_protocol::body::TopicRouteData>, Failure> {
    let route_topic = match cluster.filter(|c| !c.is_empty()) {
        Some(c) if topic.starts_with("%LMQ%") || topic == "rmq_sys_wheel_timer" => c,
        _ => topic,
    };
    admin
        .topic_route(route_topic)
        .await
        .map_err(Failure::at(&ns.namesrv))
}

/// INVOKE_BROKER_TO_RESET_OFFSET on each master of the topic: Apache's start line, then
/// `#brokerName  #queueId  #offset` rows (`%-40s  %-40d  %-40d`). When no consumer of the
/// group is online, the offsets are written on the brokers directly, as Apache's
/// `resetOffsetByTimestampOld`. With `-b` and `-q`, that one queue only.
pub(crate) async fn reset_offset_by_time(args: ResetOffsetByTimeArgs) -> Outcome {
    let raw = args.timestamp.trim();
    let timestamp = parse_timestamp(raw)?;
    let admin = connect(&args.ns)?;
    let result = async {
        let (group, topic) = (args.group.trim(), args.topic.trim());
        if let (Some(addr), Some(queue)) = (&args.broker, args.queue) {
            return reset_one_queue(&admin, &args, addr.trim(), queue, timestamp).await;
        }
        let route = route_of(&admin, &args.ns, topic, args.cluster.as_deref()).await?;
        let masters: Vec<String> = route
            .broker_datas
            .iter()
            .filter_map(|b| b.master_addr().map(str::to_owned))
            .collect();
        let mut table = std::collections::BTreeMap::new();
        for addr in &masters {
            match admin
                .reset_offset_by_time_at(addr, group, topic, timestamp, args.force)
                .await
            {
                Ok(t) => table.extend(t),
                Err(e) if e.response_code() == Some(ResponseCode::CONSUMER_NOT_ONLINE) => {
                    return reset_offline(&admin, &args, &route, timestamp).await;
                }
                Err(e) => return Err(Failure::at(addr)(e)),
            }
        }
        let mut out = String::new();
        let _ = writeln!(
            out,
            "start reset consumer offset by specified, group[{group}], topic[{topic}], force[{}], timestamp(string)[{raw}], timestamp(long)[{timestamp}]",
            args.force
        );
        let _ = writeln!(out, "{:<40}  {:<40}  {:<40}", "#brokerName", "#queueId", "#offset");
        // In the order of Apache's table (a `HashMap` of queues).
        let mut queues: Vec<MessageQueue> = table.keys().cloned().collect();
        crate::java::sort_queues(&mut queues);
        for mq in &queues {
            let offset = table.get(mq).copied().unwrap_or_default();
            let _ = writeln!(out, "{:<40}  {:<40}  {offset:<40}", mq.broker_name, mq.queue_id);
        }
        print_out(&out);
        Ok(())
    }
    .await;
    admin.shutdown().await;
    result
}

/// `-b` / `-q`: the queue's offset at the timestamp (or `-o`), when above 0 written at that
/// broker (UPDATE_CONSUMER_OFFSET) and reset there (INVOKE_BROKER_TO_RESET_OFFSET with the
/// queue), which tells the group's online consumers, as Apache's `resetOffsetByQueueId`.
async fn reset_one_queue(
    admin: &Admin,
    args: &ResetOffsetByTimeArgs,
    addr: &str,
    queue: i32,
    timestamp: i64,
) -> Outcome {
    let (group, topic, raw) = (args.group.trim(), args.topic.trim(), args.timestamp.trim());
    print_out(&format!(
        "start reset consumer offset by specified, group[{group}], topic[{topic}], queueId[{queue}], broker[{addr}], timestamp(string)[{raw}], timestamp(long)[{timestamp}]\n"
    ));
    let offset = match args.offset {
        Some(o) => o,
        None => admin
            .search_offset_at(addr, topic, queue, timestamp)
            .await
            .map_err(Failure::at(addr))?,
    };
    print_out(&format!("reset consumer offset to {offset}\n"));
    if offset > 0 {
        let broker = admin
            .topic_route(topic)
            .await
            .ok()
            .and_then(|r| {
                r.broker_datas
                    .iter()
                    .find(|b| b.broker_addrs.values().any(|a| a == addr))
                    .map(|b| b.broker_name.clone())
            })
            .unwrap_or_default();
        let mq = MessageQueue::new(topic, broker, queue);
        admin
            .update_consumer_offset_at(addr, group, &mq, offset)
            .await
            .map_err(Failure::at(addr))?;
        admin
            .reset_queue_offset_at(addr, group, topic, queue, offset)
            .await
            .map_err(Failure::at(addr))?;
    }
    Ok(())
}

/// No consumer online: per master, each queue the group has an offset on (or, when it has
/// none, every readable queue from its minimum) is set to the offset at the timestamp (-1: the
/// end), unless that moves it forward without `-f`; Apache's `RollbackStats` table.
async fn reset_offline(
    admin: &Admin,
    args: &ResetOffsetByTimeArgs,
    route: &ferromq_protocol::body::TopicRouteData,
    timestamp: i64,
) -> Outcome {
    let (group, topic, raw) = (args.group.trim(), args.topic.trim(), args.timestamp.trim());
    let mut rows = Vec::new();
    for b in &route.broker_datas {
        let Some(addr) = b.master_addr() else {
            continue;
        };
        let at = Failure::at;
        let stats = admin
            .consume_stats_at(addr, group, Some(topic))
            .await
            .map_err(at(addr))?;
        // (queue, broker offset, consumer offset)
        let mut queues: Vec<(MessageQueue, i64, i64)> = stats
            .offset_table
            .iter()
            .filter(|(mq, _)| mq.topic == topic)
            .map(|(mq, o)| (mq.clone(), o.broker_offset, o.consumer_offset))
            .collect();
        if queues.is_empty() {
            let read = route
                .queue_datas
                .iter()
                .find(|q| q.broker_name == b.broker_name)
                .map_or(0, |q| q.read_queue_nums);
            let offsets = admin.topic_stats_at(addr, topic).await.map_err(at(addr))?;
            for i in 0..read {
                let mq = MessageQueue::new(topic, b.broker_name.as_str(), i);
                let o = offsets.offset_table.get(&mq);
                let (max, min) = o.map_or((0, 0), |o| (o.max_offset, o.min_offset));
                queues.push((mq, max, min));
            }
        }
        // In the order of Apache's offset table (a hash map of queues).
        queues.sort();
        let mut order: Vec<MessageQueue> = queues.iter().map(|q| q.0.clone()).collect();
        crate::java::sort_queues(&mut order);
        queues.sort_by_key(|q| order.iter().position(|mq| *mq == q.0));
        for (mq, broker_offset, consumer_offset) in queues {
            let target = if timestamp == -1 {
                broker_offset
            } else {
                admin
                    .search_offset_at(addr, topic, mq.queue_id, timestamp)
                    .await
                    .map_err(at(addr))?
            };
            let mut reset = consumer_offset;
            if args.force || target <= consumer_offset {
                reset = target;
                admin
                    .update_consumer_offset_at(addr, group, &mq, target)
                    .await
                    .map_err(at(addr))?;
            }
            rows.push((mq, broker_offset, consumer_offset, target, reset));
        }
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "reset consumer offset by specified consumerGroup[{group}], topic[{topic}], force[{}], timestamp(string)[{raw}], timestamp(long)[{timestamp}]",
        args.force
    );
    let _ = writeln!(
        out,
        "{:<20}  {:<20}  {:<20}  {:<20}  {:<20}  {:<20}",
        "#brokerName",
        "#queueId",
        "#brokerOffset",
        "#consumerOffset",
        "#timestampOffset",
        "#resetOffset"
    );
    for (mq, broker_offset, consumer_offset, target, reset) in rows {
        let _ = writeln!(
            out,
            "{:<20}  {:<20}  {broker_offset:<20}  {consumer_offset:<20}  {target:<20}  {reset:<20}",
            mq.broker_name, mq.queue_id
        );
    }
    print_out(&out);
    Ok(())
}

/// Apache's `compute24HourSum`: the day's sum, else the hour's, else the minute's.
fn day_sum(s: &BrokerStatsData) -> i64 {
    [s.stats_day.sum, s.stats_hour.sum, s.stats_minute.sum]
        .into_iter()
        .find(|&n| n != 0)
        .unwrap_or(0)
}

/// Per topic (retry and DLQ topics left out) and consuming group: lag, in and out TPS over
/// the last minute and messages over the last day, in Apache's layout; `NO_CONSUMER` for a
/// topic nobody consumes.
pub(crate) async fn stats_all(args: StatsAllArgs) -> Outcome {
    let admin = connect(&args.ns)?;
    let result = async {
        let topics = admin
            .topic_list()
            .await
            .map_err(Failure::at(&args.ns.namesrv))?;
        let mut out = String::new();
        let mut rows = Vec::new();
        let _ = writeln!(
            out,
            "{:<64}  {:<64} {:>12} {:>11} {:>11} {:>14} {:>14}",
            "#Topic", "#Consumer Group", "#Accumulation", "#InTPS", "#OutTPS", "#InMsg24Hour", "#OutMsg24Hour"
        );
        // In the order Apache's `HashSet` of topics iterates.
        for topic in crate::java::set_order(&topics) {
            if topic.starts_with("%RETRY%") || topic.starts_with("%DLQ%") {
                continue;
            }
            if args.topic.as_deref().is_some_and(|t| !t.is_empty() && t != topic) {
                continue;
            }
            // As Apache: a topic whose route or figures cannot be read is skipped or counted 0.
            let Ok(masters) = route_masters(&admin, &args.ns, topic).await else {
                continue;
            };
            let (mut in_tps, mut in_day) = (0.0, 0);
            let mut groups = BTreeSet::new();
            for addr in &masters {
                if let Ok(s) = admin.broker_stats_at(addr, "TOPIC_PUT_NUMS", topic).await {
                    in_tps += s.stats_minute.tps;
                    in_day += day_sum(&s);
                }
                if let Ok(g) = admin.topic_consumer_groups(addr, topic).await {
                    groups.extend(g);
                }
            }
            if groups.is_empty() {
                if !args.active || in_day > 0 {
                    let _ = writeln!(
                        out,
                        "{topic:<64}  {:<64} {:>12} {in_tps:>11.2} {:>11} {in_day:>14} {:>14}",
                        "", 0, "", "NO_CONSUMER"
                    );
                    rows.push(serde_json::json!({
                        "topic": topic, "group": null, "inTps": in_tps, "inMsg24Hour": in_day,
                    }));
                }
                continue;
            }
            let groups: Vec<String> = groups.into_iter().collect();
            for group in crate::java::set_order(&groups) {
                let (mut out_tps, mut out_day, mut lag) = (0.0, 0, 0);
                let key = format!("{topic}@{group}");
                for addr in &masters {
                    if let Ok(s) = admin.broker_stats_at(addr, "GROUP_GET_NUMS", &key).await {
                        out_tps += s.stats_minute.tps;
                        out_day += day_sum(&s);
                    }
                    if let Ok(c) = admin.consume_stats_at(addr, group, Some(topic)).await {
                        lag += c
                            .offset_table
                            .values()
                            .map(|o| o.broker_offset - o.consumer_offset)
                            .sum::<i64>();
                    }
                }
                let lag = lag.max(0);
                if !args.active || in_day > 0 || out_day > 0 {
                    let _ = writeln!(
                        out,
                        "{topic:<64}  {group:<64} {lag:>12} {in_tps:>11.2} {out_tps:>11.2} {in_day:>14} {out_day:>14}"
                    );
                    rows.push(serde_json::json!({
                        "topic": topic, "group": group, "accumulation": lag, "inTps": in_tps,
                        "outTps": out_tps, "inMsg24Hour": in_day, "outMsg24Hour": out_day,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_now_millis_or_dates() {
        assert!(parse_timestamp("now").is_ok_and(|t| t > 1_700_000_000_000));
        assert_eq!(
            parse_timestamp("1700000000000").ok(),
            Some(1_700_000_000_000)
        );
        assert!(parse_timestamp("2024-02-29#23:59:59:007").is_ok());
        assert!(parse_timestamp("yesterday").is_err());
    }
}
