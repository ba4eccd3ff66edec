//! `printMsg` and `printMsgByQueue`: read a topic's (or one queue's) stored messages with
//! plain pulls, nothing committed, and print them in Apache's layout.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use clap::Args;
use ferromq_client::admin::{PullAnswer, PullStatus};
use ferromq_client::{Admin, MessageView};
use ferromq_protocol::body::{perm, MessageQueue, TopicRouteData};

use crate::common::{connect, print_out, Failure, Namesrv, Outcome};
use crate::java;
use crate::time::parse_millis_or_date;

/// The group the pulls are made as (Apache's `MixAll.TOOLS_CONSUMER_GROUP`).
const TOOLS_CONSUMER_GROUP: &str = "TOOLS_CONSUMER";

/// Messages per pull, as Apache's commands.
const BATCH: i32 = 32;

/// `printMsg` flags (Apache's `PrintMessageSubCommand`).
#[derive(Args, Debug)]
pub(crate) struct PrintMsgArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// Topic.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// Charset the body is printed in (UTF-8; also US-ASCII, ISO-8859-1).
    #[arg(short = 'c', long = "charsetName")]
    charset: Option<String>,
    /// Subscribe expression (`TagA || TagB`; `*`).
    #[arg(short = 's', long = "subExpression")]
    sub_expression: Option<String>,
    /// Begin timestamp: milliseconds or `yyyy-MM-dd#HH:mm:ss:SSS` (local time).
    #[arg(short = 'b', long = "beginTimestamp")]
    begin: Option<String>,
    /// End timestamp: milliseconds or `yyyy-MM-dd#HH:mm:ss:SSS` (local time).
    #[arg(short = 'e', long = "endTimestamp")]
    end: Option<String>,
    /// Print the body: `true` (the default) or `false`.
    #[arg(short = 'd', long = "printBody")]
    print_body: Option<String>,
    /// LMQ parent topic, whose route an LMQ topic's queues are found by.
    #[arg(short = 'l', long = "lmqParentTopic")]
    lmq_parent: Option<String>,
}

/// `printMsgByQueue` flags (Apache's `PrintMessageByQueueCommand`).
#[derive(Args, Debug)]
pub(crate) struct PrintMsgByQueueArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// Topic.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// Broker name.
    #[arg(short = 'a', long = "brokerName")]
    broker: String,
    /// Queue id.
    #[arg(short = 'i', long = "queueId")]
    queue: i32,
    /// Charset the body is printed in (UTF-8; also US-ASCII, ISO-8859-1).
    #[arg(short = 'c', long = "charsetName")]
    charset: Option<String>,
    /// Subscribe expression (`TagA || TagB`; `*`).
    #[arg(short = 's', long = "subExpression")]
    sub_expression: Option<String>,
    /// Begin timestamp: milliseconds or `yyyy-MM-dd#HH:mm:ss:SSS` (local time).
    #[arg(short = 'b', long = "beginTimestamp")]
    begin: Option<String>,
    /// End timestamp: milliseconds or `yyyy-MM-dd#HH:mm:ss:SSS` (local time).
    #[arg(short = 'e', long = "endTimestamp")]
    end: Option<String>,
    /// Print each message: `true` or `false` (the default).
    #[arg(short = 'p', long = "printMsg")]
    print_msg: Option<String>,
    /// Print the body: `true` or `false` (the default).
    #[arg(short = 'd', long = "printBody")]
    print_body: Option<String>,
    /// Count the messages per tag: `true` or `false` (the default).
    #[arg(short = 'f', long = "calculate")]
    calculate: Option<String>,
}

/// Java's `Boolean.parseBoolean`: `true` in any case, anything else false.
pub(crate) fn java_bool(text: &str) -> bool {
    text.trim().eq_ignore_ascii_case("true")
}

/// The charsets a body can be printed in.
#[derive(Debug, Clone, Copy)]
enum Charset {
    Utf8,
    Ascii,
    Latin1,
}

impl Charset {
    /// `-c`, UTF-8 when absent; an unknown charset is refused before anything is read.
    fn parse(name: Option<&str>) -> Result<Charset, Failure> {
        let name = name.map_or("UTF-8", str::trim).to_ascii_uppercase();
        match name.as_str() {
            "UTF-8" | "UTF8" => Ok(Charset::Utf8),
            "US-ASCII" | "ASCII" => Ok(Charset::Ascii),
            "ISO-8859-1" | "ISO8859_1" | "LATIN1" => Ok(Charset::Latin1),
            _ => Err(Failure::usage(
                "print message",
                format!("unsupported charset {name} (UTF-8, US-ASCII or ISO-8859-1)"),
            )),
        }
    }

    /// Java's `new String(bytes, charset)`: what cannot be decoded becomes U+FFFD.
    fn decode(self, bytes: &[u8]) -> String {
        match self {
            Charset::Utf8 => String::from_utf8_lossy(bytes).into_owned(),
            Charset::Ascii => bytes
                .iter()
                .map(|&b| {
                    if b.is_ascii() {
                        char::from(b)
                    } else {
                        '\u{fffd}'
                    }
                })
                .collect(),
            Charset::Latin1 => bytes.iter().map(|&b| char::from(b)).collect(),
        }
    }
}

/// Java's `MessageQueue.toString`.
fn mq_string(mq: &MessageQueue) -> String {
    format!(
        "MessageQueue [topic={}, brokerName={}, queueId={}]",
        mq.topic, mq.broker_name, mq.queue_id
    )
}

/// Apache's pull status names.
fn status_name(s: PullStatus) -> &'static str {
    match s {
        PullStatus::Found => "FOUND",
        PullStatus::NoNewMsg => "NO_NEW_MSG",
        PullStatus::NoMatchedMsg => "NO_MATCHED_MSG",
        PullStatus::OffsetIllegal => "OFFSET_ILLEGAL",
    }
}

/// One pulled message as Apache's `MSGID: <id> <MessageExt.toString> BODY: <body>` line;
/// the pull consumer's `MIN_OFFSET` / `MAX_OFFSET` properties included, as Apache's client adds
/// them.
fn write_pulled(out: &mut String, m: &MessageView, pull: &PullAnswer, body: Option<Charset>) {
    let e = m.ext();
    let mut props: Vec<(String, String)> = m.properties().into_iter().collect();
    props.push(("MIN_OFFSET".to_owned(), pull.min_offset.to_string()));
    props.push(("MAX_OFFSET".to_owned(), pull.max_offset.to_string()));
    // The decoder's `HashMap` of 128 buckets.
    props.sort_by_cached_key(|(k, _)| java::bucket(java::string_hash(k), 128));
    let props = props
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ");
    // Java's `Arrays.toString(byte[])`: signed bytes.
    let bytes = m
        .body()
        .iter()
        .map(|&b| i8::from_ne_bytes([b]).to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let body = body.map_or_else(|| "NOT PRINT BODY".to_owned(), |c| c.decode(m.body()));
    let _ = writeln!(
        out,
        "MSGID: {} MessageExt [brokerName={}, queueId={}, storeSize={}, queueOffset={}, sysFlag={}, bornTimestamp={}, bornHost=/{}, storeTimestamp={}, storeHost=/{}, msgId={}, commitLogOffset={}, bodyCRC={}, reconsumeTimes={}, preparedTransactionOffset={}, toString()=Message{{topic='{}', flag={}, properties={{{props}}}, body=[{bytes}], transactionId='null'}}] BODY: {body}",
        m.msg_id(),
        m.queue().broker_name,
        e.queue_id,
        e.store_size,
        e.queue_offset,
        e.sys_flag,
        e.born_timestamp,
        e.born_host,
        e.store_timestamp,
        e.store_host,
        m.offset_msg_id(),
        e.commit_log_offset,
        e.body_crc,
        e.reconsume_times,
        e.prepared_transaction_offset,
        e.topic,
        e.flag,
    );
}

/// `-b` / `-e` as milliseconds.
fn timestamp(text: Option<&str>) -> Result<Option<i64>, Failure> {
    text.map(|t| {
        parse_millis_or_date(t.trim()).ok_or_else(|| {
            Failure::usage(
                "print message",
                format!("bad timestamp {t}: milliseconds or yyyy-MM-dd#HH:mm:ss:SSS"),
            )
        })
    })
    .transpose()
}

/// The master address of `broker` in `route`.
fn master_of(route: &TopicRouteData, broker: &str) -> Result<String, Failure> {
    route
        .broker_datas
        .iter()
        .find(|b| b.broker_name == broker)
        .and_then(|b| b.master_addr().map(str::to_owned))
        .ok_or_else(|| Failure::usage("print message", format!("no master of broker {broker}")))
}

/// A queue's `[min, max)` offsets, narrowed to the first offsets stored at `begin` / `end`.
async fn offset_range(
    admin: &Admin,
    addr: &str,
    mq: &MessageQueue,
    (begin, end): (Option<i64>, Option<i64>),
) -> Result<(i64, i64), Failure> {
    let stats = admin
        .topic_stats_at(addr, &mq.topic)
        .await
        .map_err(Failure::at(addr))?;
    let range = stats.offset_table.get(mq);
    let mut min = range.map_or(0, |r| r.min_offset);
    let mut max = range.map_or(0, |r| r.max_offset);
    if let Some(t) = begin {
        min = admin
            .search_offset_at(addr, &mq.topic, mq.queue_id, t)
            .await
            .map_err(Failure::at(addr))?;
    }
    if let Some(t) = end {
        max = admin
            .search_offset_at(addr, &mq.topic, mq.queue_id, t)
            .await
            .map_err(Failure::at(addr))?;
    }
    Ok((min, max))
}

/// Every readable queue of a topic, per Apache's `fetchSubscribeMessageQueues`, in its order;
/// `route_topic`'s route names them (an LMQ topic's parent).
async fn queues_of(
    admin: &Admin,
    ns: &Namesrv,
    topic: &str,
    route_topic: &str,
) -> Result<(TopicRouteData, Vec<MessageQueue>), Failure> {
    let route = admin
        .topic_route(route_topic)
        .await
        .map_err(Failure::at(&ns.namesrv))?;
    let mut queues: Vec<MessageQueue> = route
        .queue_datas
        .iter()
        .filter(|q| perm::is_readable(q.perm))
        .flat_map(|q| (0..q.read_queue_nums).map(|i| MessageQueue::new(topic, &q.broker_name, i)))
        .collect();
    queues.sort();
    java::sort_queues(&mut queues);
    Ok(((*route).clone(), queues))
}

/// Per queue: `minOffset=…, maxOffset=…, <queue>`, a line per message pulled in that range,
/// Apache's status lines, and a dashed rule.
pub(crate) async fn print_msg(args: PrintMsgArgs) -> Outcome {
    let charset = Charset::parse(args.charset.as_deref())?;
    let body = args
        .print_body
        .as_deref()
        .is_none_or(java_bool)
        .then_some(charset);
    let expression = args.sub_expression.as_deref().map_or("*", str::trim);
    let range = (
        timestamp(args.begin.as_deref())?,
        timestamp(args.end.as_deref())?,
    );
    let topic = args.topic.trim();
    let admin = connect(&args.ns)?;
    let result = async {
        let route_topic = args.lmq_parent.as_deref().map_or(topic, str::trim);
        let (route, queues) = queues_of(&admin, &args.ns, topic, route_topic).await?;
        for mq in queues {
            let addr = master_of(&route, &mq.broker_name)?;
            let (min, max) = offset_range(&admin, &addr, &mq, range).await?;
            let mq_text = mq_string(&mq);
            print_out(&format!("minOffset={min}, maxOffset={max}, {mq_text}\n"));
            let mut offset = min;
            while offset < max {
                let mut out = String::new();
                let pull = match admin
                    .pull_at(&addr, TOOLS_CONSUMER_GROUP, &mq, expression, offset, BATCH)
                    .await
                {
                    Ok(p) => p,
                    // As Apache: the error is reported and the next queue is read.
                    Err(e) => {
                        eprintln!("mqadmin: {}", Failure::at(&addr)(e));
                        break;
                    }
                };
                let stuck = pull.next_begin_offset <= offset;
                offset = pull.next_begin_offset;
                let status = status_name(pull.status);
                match pull.status {
                    PullStatus::Found => {
                        for m in &pull.messages {
                            write_pulled(&mut out, m, &pull, body);
                        }
                    }
                    PullStatus::NoMatchedMsg => {
                        let _ = writeln!(
                            out,
                            "{mq_text} no matched msg. status={status}, offset={offset}"
                        );
                    }
                    PullStatus::NoNewMsg | PullStatus::OffsetIllegal => {
                        let _ = writeln!(
                            out,
                            "{mq_text} print msg finished. status={status}, offset={offset}"
                        );
                        print_out(&out);
                        break;
                    }
                }
                print_out(&out);
                if stuck {
                    break;
                }
            }
            print_out("--------------------------------------------------------\n");
        }
        Ok(())
    }
    .await;
    admin.shutdown().await;
    result
}

/// One queue from its minimum (or `-b`) to its end (or `-e`): each message with `-p true`,
/// then with `-f true` the count per tag, most frequent first (`Tag: %-30s Count: %s`).
pub(crate) async fn print_msg_by_queue(args: PrintMsgByQueueArgs) -> Outcome {
    let charset = Charset::parse(args.charset.as_deref())?;
    let print_msg = args.print_msg.as_deref().is_some_and(java_bool);
    let body = args
        .print_body
        .as_deref()
        .is_some_and(java_bool)
        .then_some(charset);
    let by_tag = args.calculate.as_deref().is_some_and(java_bool);
    let expression = args.sub_expression.as_deref().map_or("*", str::trim);
    let range = (
        timestamp(args.begin.as_deref())?,
        timestamp(args.end.as_deref())?,
    );
    let mq = MessageQueue::new(args.topic.trim(), args.broker.trim(), args.queue);
    let admin = connect(&args.ns)?;
    let result = async {
        let route = admin
            .topic_route(&mq.topic)
            .await
            .map_err(Failure::at(&args.ns.namesrv))?;
        let addr = master_of(&route, &mq.broker_name)?;
        let (min, max) = offset_range(&admin, &addr, &mq, range).await?;
        let mut tags: BTreeMap<String, u64> = BTreeMap::new();
        let mut offset = min;
        while offset < max {
            let pull = admin
                .pull_at(&addr, TOOLS_CONSUMER_GROUP, &mq, expression, offset, BATCH)
                .await
                .map_err(Failure::at(&addr))?;
            if pull.status != PullStatus::Found {
                break;
            }
            let stuck = pull.next_begin_offset <= offset;
            offset = pull.next_begin_offset;
            let mut out = String::new();
            for m in &pull.messages {
                if let Some(tag) = m.tag().filter(|t| !t.trim().is_empty()) {
                    *tags.entry(tag.to_owned()).or_default() += 1;
                }
                if print_msg {
                    write_pulled(&mut out, m, &pull, body);
                }
            }
            print_out(&out);
            if stuck {
                break;
            }
        }
        if by_tag {
            let mut counted: Vec<_> = tags.into_iter().collect();
            counted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            let mut out = String::new();
            for (tag, n) in counted {
                let _ = writeln!(out, "Tag: {tag:<30} Count: {n}");
            }
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
    fn properties_come_in_apaches_order() {
        // Apache 5.3.3's printMsg printed these properties in this order.
        let mut keys = vec![
            "CLUSTER",
            "KEYS",
            "MSG_REGION",
            "TAGS",
            "TRACE_ON",
            "UNIQ_KEY",
            "WAIT",
            "MIN_OFFSET",
            "MAX_OFFSET",
        ];
        keys.sort_by_cached_key(|k| java::bucket(java::string_hash(k), 128));
        assert_eq!(
            keys,
            [
                "MSG_REGION",
                "CLUSTER",
                "UNIQ_KEY",
                "MIN_OFFSET",
                "TAGS",
                "KEYS",
                "WAIT",
                "TRACE_ON",
                "MAX_OFFSET"
            ]
        );
    }

    #[test]
    fn booleans_are_javas() {
        assert!(java_bool("TRUE"));
        assert!(java_bool(" true "));
        assert!(!java_bool("yes"));
        assert!(!java_bool("1"));
    }

    #[test]
    fn charsets_decode_as_java() {
        assert!(Charset::parse(Some("GBK")).is_err());
        let latin1 = Charset::parse(Some("iso-8859-1")).map(|c| c.decode(&[0x68, 0xe9]));
        assert_eq!(latin1.ok().as_deref(), Some("h\u{e9}"));
        let ascii = Charset::parse(Some("US-ASCII")).map(|c| c.decode(&[0x68, 0xe9]));
        assert_eq!(ascii.ok().as_deref(), Some("h\u{fffd}"));
        let utf8 = Charset::parse(None).map(|c| c.decode("é".as_bytes()));
        assert_eq!(utf8.ok().as_deref(), Some("é"));
    }
}
