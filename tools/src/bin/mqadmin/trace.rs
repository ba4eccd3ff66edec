//! `queryMsgTraceById`: the trace records of one message, read from the trace topic's index by
//! message id and printed in Apache's layout (`QueryMsgTraceByIdSubCommand`; docs/message-trace.md).

use std::fmt::Write as _;

use clap::Args;
use ferromq_client::trace::{data, TraceRecord, TraceType, TRACE_TOPIC};
use ferromq_client::{Error, ErrorKind};

use crate::common::{connect, print_json, print_out, Json, Namesrv, Outcome};
use crate::time::local_seconds;

/// `queryMsgTraceById` flags (Apache's `QueryMsgTraceByIdSubCommand`).
#[derive(Args, Debug)]
pub(crate) struct QueryMsgTraceByIdArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// The message id (the client id, UNIQ_KEY).
    #[arg(short = 'i', long = "msgId")]
    id: String,
    /// The trace topic (`RMQ_SYS_TRACE_TOPIC`).
    #[arg(short = 't', long = "traceTopic")]
    trace_topic: Option<String>,
    /// Trace messages stored from (ms, 0).
    #[arg(short = 'b', long = "beginTimestamp", default_value_t = 0)]
    begin: i64,
    /// Trace messages stored until (ms, forever).
    #[arg(short = 'e', long = "endTimestamp", default_value_t = i64::MAX)]
    end: i64,
    /// At most this many trace messages per broker (64).
    #[arg(short = 'c', long = "maxNum", default_value_t = 64)]
    max: i32,
    #[command(flatten)]
    out: Json,
}

/// One record of the message with the address of the client that wrote it (Apache's
/// `TraceView`: the trace message's born host, without the port).
struct View {
    record: TraceRecord,
    client_host: String,
}

/// Apache's layout: each `Pub` record under a producer header, then per consumer group a
/// header and its `SubAfter` records, each block followed by a blank line. Groups are printed
/// in name order (Apache's order is a hash map's), records in time order.
fn render(views: &[View]) -> String {
    let mut out = String::new();
    let row = |out: &mut String, cols: [&str; 6]| {
        let _ = writeln!(
            out,
            "{:<10} {:<20} {:<20} {:<20} {:<10} {:<10}",
            cols[0], cols[1], cols[2], cols[3], cols[4], cols[5]
        );
    };
    let status = |r: &TraceRecord| if r.success { "success" } else { "failed" };
    for v in views
        .iter()
        .filter(|v| v.record.trace_type == TraceType::Pub)
    {
        let r = &v.record;
        row(
            &mut out,
            [
                "#Type",
                "#ProducerGroup",
                "#ClientHost",
                "#SendTime",
                "#CostTimes",
                "#Status",
            ],
        );
        row(
            &mut out,
            [
                "Pub",
                &r.group,
                &v.client_host,
                &local_seconds(r.timestamp),
                &format!("{}ms", r.cost_ms),
                status(r),
            ],
        );
        out.push('\n');
    }
    let mut groups: std::collections::BTreeMap<&str, Vec<&View>> = Default::default();
    for v in views
        .iter()
        .filter(|v| v.record.trace_type == TraceType::SubAfter)
    {
        groups.entry(v.record.group.as_str()).or_default().push(v);
    }
    for subs in groups.values() {
        row(
            &mut out,
            [
                "#Type",
                "#ConsumerGroup",
                "#ClientHost",
                "#ConsumerTime",
                "#CostTimes",
                "#Status",
            ],
        );
        for v in subs {
            let r = &v.record;
            row(
                &mut out,
                [
                    "Sub",
                    &r.group,
                    &v.client_host,
                    &local_seconds(r.timestamp),
                    &format!("{}ms", r.cost_ms),
                    status(r),
                ],
            );
        }
        out.push('\n');
    }
    out
}

/// QUERY_MESSAGE by the message id in the trace topic, then the records naming that id.
pub(crate) async fn query_msg_trace_by_id(args: QueryMsgTraceByIdArgs) -> Outcome {
    let id = args.id.trim().to_owned();
    let topic = match args.trace_topic.as_deref().map(str::trim) {
        Some(t) if !t.is_empty() => t.to_owned(),
        _ => TRACE_TOPIC.to_owned(),
    };
    let admin = connect(&args.ns)?;
    let result = async {
        let found = admin
            .query_messages(&topic, &id, args.max, (args.begin, args.end), false, None)
            .await?;
        if found.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "query message trace",
                format!("no trace of message {id} in {topic}"),
            )
            .into());
        }
        let mut views = Vec::new();
        for m in &found {
            let body = String::from_utf8_lossy(m.body());
            let client_host = m.ext().born_host.ip().to_string();
            views.extend(
                data::decode(&body)
                    .into_iter()
                    .filter(|r| r.msg_id == id)
                    .map(|record| View {
                        record,
                        client_host: client_host.clone(),
                    }),
            );
        }
        views.sort_by_key(|v| v.record.timestamp);
        if args.out.json {
            let rows: Vec<_> = views
                .iter()
                .map(|v| {
                    let r = &v.record;
                    serde_json::json!({
                        "type": r.trace_type.name(), "group": r.group, "clientHost": v.client_host,
                        "timestamp": r.timestamp, "costTime": r.cost_ms, "success": r.success,
                        "topic": r.topic, "msgId": r.msg_id, "offsetMsgId": r.offset_msg_id,
                        "tags": r.tags, "keys": r.keys, "storeHost": r.store_host,
                        "regionId": r.region_id, "requestId": r.request_id,
                        "retryTimes": r.retry_times, "contextCode": r.context_code,
                    })
                })
                .collect();
            print_json(&serde_json::Value::Array(rows));
        } else {
            print_out(&render(&views));
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
    fn apache_layout() {
        let pub_record = TraceRecord {
            group: "pg".into(),
            timestamp: 0,
            cost_ms: 3,
            ..TraceRecord::new(TraceType::Pub)
        };
        let sub = TraceRecord {
            group: "cg".into(),
            cost_ms: 1,
            success: false,
            ..TraceRecord::new(TraceType::SubAfter)
        };
        let before = TraceRecord::new(TraceType::SubBefore);
        let views: Vec<View> = [pub_record, before, sub]
            .into_iter()
            .map(|record| View {
                record,
                client_host: "10.0.0.9".into(),
            })
            .collect();
        let text = render(&views);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 6, "{text}");
        assert_eq!(
            lines[0],
            "#Type      #ProducerGroup       #ClientHost          #SendTime            #CostTimes #Status   "
        );
        assert!(lines[1].starts_with("Pub        pg                   10.0.0.9             "));
        assert!(
            lines[1].ends_with(" 3ms        success   "),
            "{:?}",
            lines[1]
        );
        assert_eq!(lines[2], "");
        assert!(lines[3]
            .starts_with("#Type      #ConsumerGroup       #ClientHost          #ConsumerTime"));
        assert!(
            lines[4].ends_with(" 1ms        failed    "),
            "{:?}",
            lines[4]
        );
        assert_eq!(lines[5], "");
    }
}
