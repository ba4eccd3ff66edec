//! `consumerStatus`: each consumer's running state, through the broker it is connected to.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use clap::Args;

use crate::common::{connect, print_json, print_out, Failure, Json, Namesrv, Outcome};
use crate::group::{connection, masters_of, version_desc};
use crate::time::human_time;

/// `consumerStatus` flags (Apache's `ConsumerStatusSubCommand`).
#[derive(Args, Debug)]
pub(crate) struct ConsumerStatusArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// Consumer group.
    #[arg(short = 'g', long = "consumerGroup")]
    group: String,
    /// Only this client, printed in full.
    #[arg(short = 'i', long = "clientId")]
    client_id: Option<String>,
    /// Ask through this broker.
    #[arg(short = 'b', long = "brokerAddr")]
    broker: Option<String>,
    /// Ask for the client's thread stacks too.
    #[arg(short = 's', long = "jstack")]
    jstack: bool,
    #[command(flatten)]
    out: Json,
}

/// A `mqTable` / `mqPopTable` key (fastjson writes the `MessageQueue` bean as the key): topic,
/// broker name, queue id; `None` for a key that is no queue.
fn queue_of(key: &str) -> Option<(String, String, i64)> {
    let mq: serde_json::Value = serde_json::from_str(key).ok()?;
    Some((
        mq["topic"].as_str()?.to_owned(),
        mq["brokerName"].as_str()?.to_owned(),
        mq["queueId"].as_i64()?,
    ))
}

/// The entries of a queue-keyed map of a running info, in Apache's `TreeMap<MessageQueue>`
/// order (topic, broker name, queue id).
fn queue_table<'a>(
    info: &'a serde_json::Value,
    field: &str,
) -> Vec<((String, String, i64), &'a serde_json::Value)> {
    let mut rows: Vec<_> = info[field]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((queue_of(k)?, v)))
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    rows
}

/// A JSON scalar as Java's string concatenation prints it (`0`, `true`, `1.5`).
fn java_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "0".to_owned(),
        other => other.to_string(),
    }
}

/// Apache's `UtilAll.timeMillisToHumanString`: `yyyyMMddHHmmssSSS`.
fn compact_time(millis: i64) -> String {
    human_time(millis)
        .chars()
        .filter(char::is_ascii_digit)
        .collect()
}

/// Apache's `ProcessQueueInfo.toString`.
fn process_queue_text(pq: &serde_json::Value) -> String {
    let n = |k: &str| java_text(&pq[k]);
    let b = |k: &str| pq[k].as_bool().unwrap_or(false);
    let t = |k: &str| compact_time(pq[k].as_i64().unwrap_or(0));
    format!(
        "ProcessQueueInfo [commitOffset={}, cachedMsgMinOffset={}, cachedMsgMaxOffset={}, \
         cachedMsgCount={}, cachedMsgSizeInMiB={}, transactionMsgMinOffset={}, \
         transactionMsgMaxOffset={}, transactionMsgCount={}, locked={}, tryUnlockTimes={}, \
         lastLockTimestamp={}, droped={}, lastPullTimestamp={}, lastConsumeTimestamp={}]",
        n("commitOffset"),
        n("cachedMsgMinOffset"),
        n("cachedMsgMaxOffset"),
        n("cachedMsgCount"),
        n("cachedMsgSizeInMiB"),
        n("transactionMsgMinOffset"),
        n("transactionMsgMaxOffset"),
        n("transactionMsgCount"),
        b("locked"),
        n("tryUnlockTimes"),
        t("lastLockTimestamp"),
        b("droped"),
        t("lastPullTimestamp"),
        t("lastConsumeTimestamp"),
    )
}

/// Apache's `ConsumerRunningInfo.formatString`: properties, subscriptions, per-queue commit
/// offsets and process-queue state, pop queues, pull/consume RT and TPS per topic, the user's
/// consume info and the thread stacks (when asked for). Apache's widths, including its rows that
/// are narrower than their headers.
fn format_running_info(info: &serde_json::Value) -> String {
    let mut out = String::from("#Consumer Properties#\n");
    if let Some(props) = info["properties"].as_object() {
        for (k, v) in props {
            let _ = writeln!(out, "{k:<40}: {}", java_text(v));
        }
    }
    out.push_str("\n\n#Consumer Subscription#\n");
    for (i, sub) in (1..).zip(info["subscriptionSet"].as_array().into_iter().flatten()) {
        let _ = writeln!(
            out,
            "{i:03} Topic: {:<40} ClassFilter: {:<8} SubExpression: {}",
            sub["topic"].as_str().unwrap_or_default(),
            sub["classFilterMode"].as_bool().unwrap_or(false),
            sub["subString"].as_str().unwrap_or_default()
        );
    }
    let mq_table = queue_table(info, "mqTable");
    out.push_str("\n\n#Consumer Offset#\n");
    let _ = writeln!(
        out,
        "{:<64}  {:<32}  {:<4}  {:<20}",
        "#Topic", "#Broker Name", "#QID", "#Consumer Offset"
    );
    for ((topic, broker, qid), pq) in &mq_table {
        let offset = java_text(&pq["commitOffset"]);
        let _ = writeln!(out, "{topic:<32}  {broker:<32}  {qid:<4}  {offset:<20}");
    }
    out.push_str("\n\n#Consumer MQ Detail#\n");
    let _ = writeln!(
        out,
        "{:<64}  {:<32}  {:<4}  {:<20}",
        "#Topic", "#Broker Name", "#QID", "#ProcessQueueInfo"
    );
    for ((topic, broker, qid), pq) in &mq_table {
        let _ = writeln!(
            out,
            "{topic:<64}  {broker:<32}  {qid:<4}  {}",
            process_queue_text(pq)
        );
    }
    out.push_str("\n\n#Consumer Pop Detail#\n");
    let _ = writeln!(
        out,
        "{:<32}  {:<32}  {:<4}  {:<20}",
        "#Topic", "#Broker Name", "#QID", "#ProcessQueueInfo"
    );
    for ((topic, broker, qid), pq) in queue_table(info, "mqPopTable") {
        let _ = writeln!(
            out,
            "{topic:<32}  {broker:<32}  {qid:<4}  PopProcessQueueInfo [waitAckCount:{}, droped:{}, lastPopTimestamp:{}]",
            java_text(&pq["waitAckCount"]),
            pq["droped"].as_bool().unwrap_or(false),
            java_text(&pq["lastPopTimestamp"]),
        );
    }
    out.push_str("\n\n#Consumer RT&TPS#\n");
    let _ = writeln!(
        out,
        "{:<64}  {:>14} {:>14} {:>14} {:>14} {:>18} {:>25}",
        "#Topic",
        "#Pull RT",
        "#Pull TPS",
        "#Consume RT",
        "#ConsumeOK TPS",
        "#ConsumeFailed TPS",
        "#ConsumeFailedMsgsInHour"
    );
    for (topic, s) in info["statusTable"].as_object().into_iter().flatten() {
        let f = |k: &str| s[k].as_f64().unwrap_or(0.0);
        let _ = writeln!(
            out,
            "{topic:<32}  {:>14.2} {:>14.2} {:>14.2} {:>14.2} {:>18.2} {:>25}",
            f("pullRT"),
            f("pullTPS"),
            f("consumeRT"),
            f("consumeOKTPS"),
            f("consumeFailedTPS"),
            s["consumeFailedMsgs"].as_i64().unwrap_or(0)
        );
    }
    if let Some(user) = info["userConsumerInfo"].as_object() {
        out.push_str("\n\n#User Consume Info#\n");
        for (k, v) in user {
            let _ = writeln!(out, "{k:<40}: {}", java_text(v));
        }
    }
    if let Some(jstack) = info["jstack"].as_str() {
        out.push_str("\n\n#Consumer jstack#\n");
        out.push_str(jstack);
    }
    out
}

/// A running-info property as text (Java peers send them as strings).
fn property<'a>(info: &'a serde_json::Value, key: &str) -> Option<&'a str> {
    info["properties"][key].as_str()
}

/// Apache's `ConsumerRunningInfo.analyzeSubscription`: the clients' subscriptions differ only
/// when the first client is a push consumer started more than two minutes ago and another
/// client subscribes differently (younger groups may still be rolling out a change).
fn same_subscription(infos: &BTreeMap<String, serde_json::Value>, now: i64) -> bool {
    let Some(first) = infos.values().next() else {
        return true;
    };
    let push = property(first, "PROP_CONSUME_TYPE") == Some("CONSUME_PASSIVELY");
    let started = property(first, "PROP_CONSUMER_START_TIMESTAMP")
        .and_then(|t| t.parse::<i64>().ok())
        .unwrap_or(now);
    if !(push && now - started > 2 * 60 * 1000) {
        return true;
    }
    let subs = subscriptions(first);
    infos.values().all(|i| subscriptions(i) == subs)
}

/// Apache's `ConsumerRunningInfo.analyzeProcessQueue`: for a push consumer, the queues an
/// orderly client cannot lock (or unlock) and the queues a concurrent client has not consumed
/// from for a minute while holding messages.
fn analyze_process_queue(client_id: &str, info: &serde_json::Value, now: i64) -> String {
    let mut out = String::new();
    if property(info, "PROP_CONSUME_TYPE") != Some("CONSUME_PASSIVELY") {
        return out;
    }
    let orderly = property(info, "PROP_CONSUMEORDERLY") == Some("true");
    for ((topic, broker, qid), pq) in queue_table(info, "mqTable") {
        let mq = format!("MessageQueue [topic={topic}, brokerName={broker}, queueId={qid}]");
        let num = |k: &str| pq[k].as_i64().unwrap_or(0);
        if orderly {
            if !pq["locked"].as_bool().unwrap_or(false) {
                let _ = writeln!(
                    out,
                    "{client_id} {mq} can't lock for a while, {}ms",
                    now - num("lastLockTimestamp")
                );
            } else if pq["droped"].as_bool().unwrap_or(false) && num("tryUnlockTimes") > 0 {
                let _ = writeln!(
                    out,
                    "{client_id} {mq} unlock {} times, still failed",
                    num("tryUnlockTimes")
                );
            }
        } else {
            let idle = now - num("lastConsumeTimestamp");
            if idle > 60 * 1000 && num("cachedMsgCount") > 0 {
                let _ = writeln!(
                    out,
                    "{client_id} {mq} can't consume for a while, maybe blocked, {idle}ms"
                );
            }
        }
    }
    out
}

/// The subscriptions of a running info, as `topic subExpression` pairs (to compare clients).
fn subscriptions(info: &serde_json::Value) -> std::collections::BTreeSet<(String, String)> {
    info["subscriptionSet"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            (
                s["topic"].as_str().unwrap_or_default().to_owned(),
                s["subString"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// GET_CONSUMER_RUNNING_INFO of one client (printed as Apache's `formatString`), or of every
/// client of the group: `#Index #ClientId #Version #ConsumerRunningInfoFile` rows (each
/// client's info written to that file) and whether their subscriptions agree.
pub(crate) async fn consumer_status(args: ConsumerStatusArgs) -> Outcome {
    let admin = connect(&args.ns)?;
    let result = async {
        let group = args.group.trim();
        let addrs = match &args.broker {
            Some(b) => vec![b.trim().to_owned()],
            None => masters_of(&admin, &args.ns, &format!("%RETRY%{group}"), None).await?,
        };
        let (addr, cc) = connection(&admin, &addrs, group).await?;
        if let Some(id) = &args.client_id {
            let info = admin
                .consumer_running_info_at(&addr, group, id.trim(), args.jstack)
                .await
                .map_err(Failure::at(&addr))?;
            if args.out.json {
                print_json(&info);
            } else {
                print_out(&format_running_info(&info));
            }
            return Ok(());
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let dir = std::env::temp_dir()
            .join("rocketmq-consumerstatus")
            .join(now.to_string());
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<10} {:<40} {:<20} #ConsumerRunningInfoFile",
            "#Index", "#ClientId", "#Version"
        );
        let mut infos = BTreeMap::new();
        let mut index = 1;
        for c in &cc.connection_set {
            let info = match admin
                .consumer_running_info_at(&addr, group, &c.client_id, args.jstack)
                .await
            {
                Ok(info) => info,
                // As Apache: a client that does not answer is reported and skipped.
                Err(e) => {
                    eprintln!("mqadmin: {}", Failure::at(&addr)(e));
                    continue;
                }
            };
            let path = dir.join(&c.client_id);
            if let Err(e) = std::fs::create_dir_all(&dir)
                .and_then(|()| std::fs::write(&path, format_running_info(&info)))
            {
                eprintln!("mqadmin: cannot write {}: {e}", path.display());
            }
            let _ = writeln!(
                out,
                "{index:<10} {:<40} {:<20} {}",
                c.client_id,
                version_desc(c.version),
                path.display()
            );
            index += 1;
            infos.insert(c.client_id.clone(), info);
        }
        if args.out.json {
            print_json(&serde_json::Value::Object(infos.into_iter().collect()));
            return Ok(());
        }
        if !infos.is_empty() {
            let now = i64::try_from(now).unwrap_or(i64::MAX);
            if same_subscription(&infos, now) {
                // Apache's `analyzeRebalance` always passes.
                out.push_str("\n\nSame subscription in the same group of consumer");
                out.push_str("\n\nRebalance OK\n");
                for (id, info) in &infos {
                    out.push_str(&analyze_process_queue(id, info, now));
                }
            } else {
                out.push_str("\n\nWARN: Different subscription in the same group of consumer!!!\n");
            }
        }
        print_out(&out);
        Ok(())
    }
    .await;
    admin.shutdown().await;
    result
}
