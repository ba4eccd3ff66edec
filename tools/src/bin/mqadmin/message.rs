//! `queryMsgById`, `queryMsgByKey`, `queryMsgByUniqueKey` and `sendMessage`.

use std::fmt::Write as _;

use clap::Args;
use ferromq_client::{Message, MessageView, Producer, ProducerOptions, SendStatus};
use ferromq_protocol::body::MessageQueue;

use crate::common::{
    cluster_info, connect, print_json, print_out, Failure, Json, Namesrv, Outcome,
};
use crate::time::human_time;
use crate::track::{message_tracks, write_tracks};

/// `queryMsgById` flags (Apache's `QueryMsgByIdSubCommand`).
#[derive(Args, Debug)]
pub(crate) struct QueryMsgByIdArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// offsetMsgIds, comma-separated.
    #[arg(short = 'i', long = "msgId")]
    ids: String,
    /// Topic (required, as in Apache 5.3.3): an id that is not an offsetMsgId is looked up as
    /// a client message id in it.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// Also print the body in this charset (only `UTF-8` is known).
    #[arg(short = 'f', long = "bodyFormat")]
    body_format: Option<String>,
    /// With `-d`: the consumer group of the client asked to consume the messages.
    #[arg(short = 'g', long = "consumerGroup")]
    group: Option<String>,
    /// With `-g`: the client id of a push consumer that consumes each message again
    /// (CONSUME_MESSAGE_DIRECTLY) and says how it went.
    #[arg(short = 'd', long = "clientId")]
    client_id: Option<String>,
    #[command(flatten)]
    cluster: Cluster,
}

/// `-c`: the cluster whose brokers a lookup by key asks, or the route of an LMQ topic (Apache's
/// "Cluster name or lmq parent topic, lmq is used to find the route").
#[derive(Args, Debug)]
pub(crate) struct Cluster {
    /// Cluster name, or an LMQ topic's parent topic.
    #[arg(short = 'c', long = "cluster")]
    cluster: Option<String>,
}

impl Cluster {
    fn get(&self) -> Option<&str> {
        self.cluster.as_deref().map(str::trim)
    }
}

/// `queryMsgByKey` flags (Apache's `QueryMsgByKeySubCommand`).
#[derive(Args, Debug)]
pub(crate) struct QueryMsgByKeyArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// Topic.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// Message key.
    #[arg(short = 'k', long = "msgKey")]
    key: String,
    /// Stored from (ms, 0).
    #[arg(short = 'b', long = "beginTimestamp", default_value_t = 0)]
    begin: i64,
    /// Stored until (ms, forever).
    #[arg(short = 'e', long = "endTimestamp", default_value_t = i64::MAX)]
    end: i64,
    /// At most this many per broker (64).
    #[arg(short = 'm', long = "maxNum", default_value_t = 64)]
    max: i32,
    #[command(flatten)]
    cluster: Cluster,
    #[command(flatten)]
    out: Json,
}

/// `queryMsgByUniqueKey` flags (Apache's `QueryMsgByUniqueKeySubCommand`).
#[derive(Args, Debug)]
pub(crate) struct QueryMsgByUniqueKeyArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// The client message id (UNIQ_KEY).
    #[arg(short = 'i', long = "msgId")]
    id: String,
    /// Topic.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// Every copy (at most 32), not only the first stored.
    #[arg(short = 'a', long = "showAll")]
    all: bool,
    #[command(flatten)]
    cluster: Cluster,
}

/// `sendMessage` flags (Apache's `SendMessageCommand`).
#[derive(Args, Debug)]
pub(crate) struct SendMessageArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// Topic.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// Body, as UTF-8 text.
    #[arg(short = 'p', long = "body")]
    body: String,
    /// Keys, space-separated.
    #[arg(short = 'k', long = "key")]
    keys: Option<String>,
    /// Tag.
    #[arg(short = 'c', long = "tags")]
    tag: Option<String>,
    /// Broker name (with `-i`).
    #[arg(short = 'b', long = "broker")]
    broker: Option<String>,
    /// Queue id (needs `-b`).
    #[arg(short = 'i', long = "qid", requires = "broker")]
    queue: Option<i32>,
}

/// Writes the body where Apache does (`<tmp>/rocketmq/msgbodys/<id>`); its path.
pub(crate) fn body_file(m: &MessageView, suffix: &str) -> String {
    let dir = std::env::temp_dir().join("rocketmq").join("msgbodys");
    let path = dir.join(format!("{}{suffix}", m.msg_id()));
    if let Err(e) = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, m.body())) {
        eprintln!("mqadmin: cannot write {}: {e}", path.display());
    }
    path.display().to_string()
}

/// One message as Apache's `printMsg` (`%-20s %s` lines), `OffsetID:` first when `offset_id`.
pub(crate) fn write_message(out: &mut String, m: &MessageView, offset_id: bool, body_path: &str) {
    write_message_with(out, m, offset_id, body_path, &[]);
}

/// [`write_message`], with `extra` properties that the client adds to the message's own (a
/// pull's `MIN_OFFSET` and `MAX_OFFSET`).
pub(crate) fn write_message_with(
    out: &mut String,
    m: &MessageView,
    offset_id: bool,
    body_path: &str,
    extra: &[(&str, String)],
) {
    let e = m.ext();
    let mut line = |k: &str, v: String| {
        let _ = writeln!(out, "{k:<20} {v}");
    };
    if offset_id {
        line("OffsetID:", m.offset_msg_id());
    }
    line("Topic:", e.topic.clone());
    line("Tags:", format!("[{}]", m.tag().unwrap_or("null")));
    let keys = m.keys();
    line(
        "Keys:",
        format!(
            "[{}]",
            if keys.is_empty() {
                "null".to_owned()
            } else {
                keys.join(" ")
            }
        ),
    );
    line("Queue ID:", e.queue_id.to_string());
    line("Queue Offset:", e.queue_offset.to_string());
    line("CommitLog Offset:", e.commit_log_offset.to_string());
    line("Reconsume Times:", e.reconsume_times.to_string());
    line("Born Timestamp:", human_time(e.born_timestamp));
    line("Store Timestamp:", human_time(e.store_timestamp));
    line("Born Host:", e.born_host.to_string());
    line("Store Host:", e.store_host.to_string());
    line("System Flag:", e.sys_flag.to_string());
    // Java's Map.toString of the HashMap the decoder fills (created with capacity 128).
    let mut props: Vec<(String, String)> = m.properties().into_iter().collect();
    for (k, v) in extra {
        props.retain(|(p, _)| p != k);
        props.push(((*k).to_owned(), v.clone()));
    }
    props.sort_by_key(|(k, _)| crate::java::bucket(crate::java::string_hash(k), 128));
    let props = props
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ");
    line("Properties:", format!("{{{props}}}"));
    line("Message Body Path:", body_path.to_owned());
}

/// VIEW_MESSAGE_BY_ID for each offsetMsgId, each printed as Apache's `printMsg`; as Apache, an
/// id that is not one (or that its broker does not find) is then looked up as a client message
/// id in `-t` (the first copy stored in the last three days).
pub(crate) async fn query_msg_by_id(args: QueryMsgByIdArgs) -> Outcome {
    let utf8 = match args.body_format.as_deref().map(str::trim) {
        None => false,
        Some(f) if f.eq_ignore_ascii_case("UTF-8") || f.eq_ignore_ascii_case("UTF8") => true,
        Some(f) => {
            return Err(Failure::usage(
                "query message",
                format!("unknown charset {f}"),
            ))
        }
    };
    let admin = connect(&args.ns)?;
    let result = async {
        // The broker addresses, to tell offsetMsgIds from client ids.
        let brokers: std::collections::BTreeSet<String> = cluster_info(&admin, &args.ns)
            .await?
            .broker_addr_table
            .values()
            .flat_map(|b| b.broker_addrs.values().cloned())
            .collect();
        let topic = args.topic.trim();
        let mut out = String::new();
        if let (Some(group), Some(client)) = (&args.group, &args.client_id) {
            let (group, client) = (group.trim(), client.trim());
            for id in args.ids.split(',').map(str::trim).filter(|i| !i.is_empty()) {
                push_message(&admin, &brokers, group, client, topic, id, &mut out).await?;
            }
            print_out(&out);
            return Ok(());
        }
        for id in args.ids.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            // A refusal names the broker the id points at.
            let at = ferromq_protocol::message::MessageId::parse(id)
                .map(|i| i.address.to_string())
                .unwrap_or_else(|_| id.to_owned());
            // An id whose address is no broker's (a client id) is not looked up there: no
            // connection to a host that is not a broker.
            let viewed = if brokers.contains(&at) {
                admin.view_by_offset_id(id).await
            } else {
                Err(ferromq_client::Error::invalid(
                    "view message",
                    format!("no message {id}"),
                ))
            };
            let m = match viewed {
                Ok(m) => m,
                Err(e) => {
                    let since = crate::time::now_millis() - 3 * 24 * 3600 * 1000;
                    let mut found = admin
                        .query_messages(topic, id, 32, (since, i64::MAX), true, args.cluster.get())
                        .await
                        .map_err(Failure::at(&args.ns.namesrv))?;
                    if found.is_empty() {
                        return Err(Failure::at(&at)(e));
                    }
                    found.swap_remove(0)
                }
            };
            let path = body_file(&m, "");
            write_message(&mut out, &m, true, &path);
            if utf8 {
                let _ = writeln!(
                    out,
                    "{:<20} {}",
                    "Message Body:",
                    String::from_utf8_lossy(m.body())
                );
            }
            write_tracks(&mut out, message_tracks(&admin, &m).await, "\n");
        }
        print_out(&out);
        Ok(())
    }
    .await;
    admin.shutdown().await;
    result
}

/// `queryMsgById -g -d` (Apache's `pushMsg`): a push consumer consumes message `id` (an
/// offsetMsgId, else a client id looked up in `topic`) again; prints its
/// `ConsumeMessageDirectlyResult` as Apache's `toString`.
async fn push_message(
    admin: &ferromq_client::Admin,
    brokers: &std::collections::BTreeSet<String>,
    group: &str,
    client: &str,
    topic: &str,
    id: &str,
    out: &mut String,
) -> Result<(), Failure> {
    let offset_id = match ferromq_protocol::message::MessageId::parse(id) {
        Ok(m) if brokers.contains(&m.address.to_string()) => id.to_owned(),
        _ => {
            let since = crate::time::now_millis() - 3 * 24 * 3600 * 1000;
            let found = admin
                .query_messages(topic, id, 1, (since, i64::MAX), true, None)
                .await?;
            match found.first() {
                Some(m) => m.offset_msg_id(),
                None => {
                    return Err(Failure::usage(
                        "consume message directly",
                        format!("no message {id} in {topic}"),
                    ))
                }
            }
        }
    };
    // The broker that stores the message relays both calls (the consumer is connected to it).
    let at = ferromq_protocol::message::MessageId::parse(&offset_id)
        .map(|m| m.address.to_string())
        .unwrap_or_default();
    let info = admin
        .consumer_running_info_at(&at, group, client, false)
        .await
        .map_err(Failure::at(&at))?;
    if info["properties"]["PROP_CONSUME_TYPE"].as_str() != Some("CONSUME_PASSIVELY") {
        let _ = writeln!(
            out,
            "this {client} client is not push consumer ,not support direct push "
        );
        return Ok(());
    }
    let r = admin
        .consume_message_directly(group, client, topic, &offset_id)
        .await
        .map_err(Failure::at(&at))?;
    let _ = write!(
        out,
        "ConsumeMessageDirectlyResult [order={}, autoCommit={}, consumeResult={}, remark={}, spentTimeMills={}]",
        r["order"].as_bool().unwrap_or(false),
        r["autoCommit"].as_bool().unwrap_or(true),
        r["consumeResult"].as_str().unwrap_or("null"),
        r["remark"].as_str().unwrap_or("null"),
        r["spentTimeMills"].as_i64().unwrap_or(0),
    );
    Ok(())
}

/// QUERY_MESSAGE by key: `#Message ID  #QID  #Offset` (`%-50s %4s %40s`).
pub(crate) async fn query_msg_by_key(args: QueryMsgByKeyArgs) -> Outcome {
    let admin = connect(&args.ns)?;
    let result = async {
        let found = admin
            .query_messages(
                args.topic.trim(),
                args.key.trim(),
                args.max,
                (args.begin, args.end),
                false,
                args.cluster.get(),
            )
            .await?;
        if args.out.json {
            let rows: Vec<_> = found
                .iter()
                .map(|m| {
                    serde_json::json!({
                        "msgId": m.msg_id(), "offsetMsgId": m.offset_msg_id(),
                        "brokerName": m.queue().broker_name, "queueId": m.queue().queue_id,
                        "queueOffset": m.queue_offset(),
                    })
                })
                .collect();
            print_json(&serde_json::Value::Array(rows));
            return Ok(());
        }
        let mut out = String::new();
        let _ = writeln!(out, "{:<50} {:>4} {:>40}", "#Message ID", "#QID", "#Offset");
        for m in &found {
            let _ = writeln!(
                out,
                "{:<50} {:>4} {:>40}",
                m.msg_id(),
                m.queue().queue_id,
                m.queue_offset()
            );
        }
        print_out(&out);
        Ok(())
    }
    .await;
    admin.shutdown().await;
    result
}

/// QUERY_MESSAGE by UNIQ_KEY: the first stored copy (every copy with `-a`), as Apache's
/// `showMessage`.
pub(crate) async fn query_msg_by_unique_key(args: QueryMsgByUniqueKeyArgs) -> Outcome {
    let admin = connect(&args.ns)?;
    let result = async {
        let mut found = admin
            .query_messages(
                args.topic.trim(),
                args.id.trim(),
                32,
                (0, i64::MAX),
                true,
                args.cluster.get(),
            )
            .await?;
        found.sort_by_key(|m| m.store_timestamp());
        let n = if args.all {
            found.len()
        } else {
            found.len().min(1)
        };
        let mut out = String::new();
        for (i, m) in found.iter().take(n).enumerate() {
            // Apache: `<msgId>` for the first copy, `<msgId>_<i>` for the others.
            let suffix = if i == 0 {
                String::new()
            } else {
                format!("_{i}")
            };
            let path = body_file(m, &suffix);
            write_message(&mut out, m, false, &path);
            // Apache runs the tracks together, without line ends.
            write_tracks(&mut out, message_tracks(&admin, m).await, "");
        }
        print_out(&out);
        Ok(())
    }
    .await;
    admin.shutdown().await;
    result
}

/// Apache's `SendStatus` names.
fn status_name(s: SendStatus) -> &'static str {
    match s {
        SendStatus::Ok => "SEND_OK",
        SendStatus::FlushDiskTimeout => "FLUSH_DISK_TIMEOUT",
        SendStatus::FlushSlaveTimeout => "FLUSH_SLAVE_TIMEOUT",
        SendStatus::SlaveNotAvailable => "SLAVE_NOT_AVAILABLE",
        _ => "UNKNOWN",
    }
}

/// Sends one message (to `-b`/`-i`'s queue when given) and prints `#Broker Name  #QID
/// #Send Result  #MsgId` (`%-32s  %-4s  %-20s    %s`).
pub(crate) async fn send_message(args: SendMessageArgs) -> Outcome {
    let topic = args.topic.trim();
    let mut message = Message::new(topic, args.body.clone().into_bytes());
    if let Some(tag) = &args.tag {
        message = message.with_tag(tag.trim());
    }
    if let Some(keys) = &args.keys {
        message = message.with_keys(keys.split_whitespace());
    }
    let producer = Producer::start(ProducerOptions {
        client: crate::common::client_config(&args.ns)?,
        group: "PID_SMSC".to_owned(),
        ..ProducerOptions::default()
    })
    .await?;
    let sent = match (&args.broker, args.queue) {
        (Some(b), Some(q)) => {
            let queue = MessageQueue {
                topic: topic.to_owned(),
                broker_name: b.trim().to_owned(),
                queue_id: q,
            };
            producer.send_to_queue(message, &queue).await
        }
        _ => producer.send(message).await,
    };
    producer.shutdown().await;
    let sent = sent?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<32}  {:<4}  {:<20}    #MsgId",
        "#Broker Name", "#QID", "#Send Result"
    );
    let _ = writeln!(
        out,
        "{:<32}  {:<4}  {:<20}    {}",
        sent.queue.broker_name,
        sent.queue.queue_id,
        status_name(sent.status),
        sent.msg_id
    );
    print_out(&out);
    Ok(())
}
