//! `cloneGroupOffset`, `resetOffsetByTime` and `statsAll`.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use clap::{ArgAction, Args};
use ferromq_client::Admin;
use ferromq_protocol::body::BrokerStatsData;

use crate::common::{connect, print_json, print_out, Failure, Json, Namesrv, Outcome};

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
    /// `now`, milliseconds since the epoch, or `yyyy-MM-dd#HH:mm:ss:SSS` (UTC).
    #[arg(short = 's', long = "timestamp")]
    timestamp: String,
    /// Move offsets forward too (true), not only back.
    #[arg(short = 'f', long = "force", action = ArgAction::Set, default_value_t = true)]
    force: bool,
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

/// `yyyy-MM-dd#HH:mm:ss:SSS` (UTC) as milliseconds since the epoch.
fn parse_date(text: &str) -> Option<i64> {
    let (date, time) = text.split_once('#')?;
    let d: Vec<i64> = date
        .split('-')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let t: Vec<i64> = time
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let (&[y, m, day], &[hh, mm, ss, ms]) = (d.as_slice(), t.as_slice()) else {
        return None;
    };
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    // Days from a civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + hh) * 60 + mm) * 60_000 + ss * 1000 + ms)
}

/// The `-s` value as milliseconds.
pub(crate) fn parse_timestamp(text: &str) -> Result<i64, Failure> {
    if text == "now" {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        return Ok(now);
    }
    text.parse()
        .ok()
        .or_else(|| parse_date(text))
        .ok_or_else(|| {
            Failure::usage(
                "reset offset",
                format!("bad timestamp {text}: now, milliseconds or yyyy-MM-dd#HH:mm:ss:SSS"),
            )
        })
}

/// INVOKE_BROKER_TO_RESET_OFFSET on each master of the topic: Apache's start line, then
/// `#brokerName  #queueId  #offset` rows (`%-40s  %-40d  %-40d`).
pub(crate) async fn reset_offset_by_time(args: ResetOffsetByTimeArgs) -> Outcome {
    let raw = args.timestamp.trim();
    let timestamp = parse_timestamp(raw)?;
    let admin = connect(&args.ns)?;
    let result = async {
        let (group, topic) = (args.group.trim(), args.topic.trim());
        let mut table = std::collections::BTreeMap::new();
        for addr in route_masters(&admin, &args.ns, topic).await? {
            let t = admin
                .reset_offset_by_time_at(&addr, group, topic, timestamp, args.force)
                .await
                .map_err(Failure::at(&addr))?;
            table.extend(t);
        }
        let mut out = String::new();
        let _ = writeln!(
            out,
            "start reset consumer offset by specified, group[{group}], topic[{topic}], force[{}], timestamp(string)[{raw}], timestamp(long)[{timestamp}]",
            args.force
        );
        let _ = writeln!(out, "{:<40}  {:<40}  {:<40}", "#brokerName", "#queueId", "#offset");
        for (mq, offset) in &table {
            let _ = writeln!(out, "{:<40}  {:<40}  {offset:<40}", mq.broker_name, mq.queue_id);
        }
        print_out(&out);
        Ok(())
    }
    .await;
    admin.shutdown().await;
    result
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
        for topic in &topics {
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
            for group in &groups {
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
    fn apache_dates_parse_as_utc() {
        assert_eq!(parse_date("1970-01-01#00:00:00:000"), Some(0));
        assert_eq!(
            parse_date("2024-02-29#23:59:59:007"),
            Some(1_709_251_199_007)
        );
        assert_eq!(parse_date("2024-13-01#00:00:00:000"), None);
        assert_eq!(parse_date("2024-01-01 00:00:00"), None);
        assert!(parse_timestamp("now").is_ok_and(|t| t > 1_700_000_000_000));
        assert_eq!(
            parse_timestamp("1700000000000").ok(),
            Some(1_700_000_000_000)
        );
    }
}
