//! `consumerStatus`: each consumer's running state, through the broker it is connected to.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use clap::Args;

use crate::common::{connect, print_json, print_out, Failure, Json, Namesrv, Outcome};
use crate::group::{connection, masters_of, version_desc};

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

/// Apache's `ConsumerRunningInfo.formatString` for what FerroMQ's clients report: properties,
/// subscriptions, and the per-queue sections (empty unless the client fills `mqTable`).
fn format_running_info(info: &serde_json::Value) -> String {
    let mut out = String::from("#Consumer Properties#\n");
    if let Some(props) = info["properties"].as_object() {
        for (k, v) in props {
            let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
            let _ = writeln!(out, "{k:<40}: {v}");
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
    out.push_str("\n\n#Consumer Offset#\n");
    let _ = writeln!(
        out,
        "{:<64}  {:<32}  {:<4}  {:<20}",
        "#Topic", "#Broker Name", "#QID", "#Consumer Offset"
    );
    out.push_str("\n\n#Consumer MQ Detail#\n");
    let _ = writeln!(
        out,
        "{:<64}  {:<32}  {:<4}  {:<20}",
        "#Topic", "#Broker Name", "#QID", "#ProcessQueueInfo"
    );
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
        if let Some(first) = infos.values().next() {
            let subs = subscriptions(first);
            if infos.values().all(|i| subscriptions(i) == subs) {
                out.push_str("\n\nSame subscription in the same group of consumer\n");
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
