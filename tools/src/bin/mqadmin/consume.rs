//! `consumeMessage`: print a topic's stored messages (or one queue's, from an offset) without
//! committing anything.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use clap::Args;
use ferromq_client::{ConsumeFrom, PullConsumer, PullConsumerOptions};
use ferromq_protocol::body::{MessageQueue, TopicOffset};

use crate::common::{connect, print_out, Failure, Namesrv, Outcome};
use crate::offset::parse_timestamp;

/// How long a queue may yield nothing before its range is given up.
const QUIET: Duration = Duration::from_secs(5);

/// `consumeMessage` flags (Apache's `ConsumeMessageCommand`).
#[derive(Args, Debug)]
pub(crate) struct ConsumeMessageArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// Topic.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// Only this broker's queues.
    #[arg(short = 'b', long = "brokerName")]
    broker: Option<String>,
    /// Only this queue (needs `-b`).
    #[arg(short = 'i', long = "queueId", requires = "broker")]
    queue: Option<i32>,
    /// From this queue offset (needs `-i`).
    #[arg(short = 'o', long = "offset", requires = "queue")]
    offset: Option<i64>,
    /// Consumer group the pulls are made as (nothing is committed).
    #[arg(short = 'g', long = "consumerGroup", default_value = "TOOLS_CONSUMER")]
    group: String,
    /// Stored from (ms or `yyyy-MM-dd#HH:mm:ss:SSS` in local time).
    #[arg(short = 's', long = "beginTimestamp")]
    begin: Option<String>,
    /// Stored until (ms or `yyyy-MM-dd#HH:mm:ss:SSS` in local time).
    #[arg(short = 'e', long = "endTimestamp")]
    end: Option<String>,
    /// At most this many messages (128).
    #[arg(short = 'c', long = "MessageNumber", default_value_t = 128,
          value_parser = clap::value_parser!(i64).range(1..))]
    count: i64,
}

/// The selected queues with the offset range to print: the stored range, narrowed by `-s`
/// and `-e` (SEARCH_OFFSET_BY_TIMESTAMP at the queue's master).
async fn select_queues(
    admin: &ferromq_client::Admin,
    args: &ConsumeMessageArgs,
    topic: &str,
    begin: Option<i64>,
    end: Option<i64>,
) -> Result<Vec<(MessageQueue, TopicOffset)>, Failure> {
    let stats = admin
        .topic_stats(topic)
        .await
        .map_err(Failure::at(&args.ns.namesrv))?;
    let route = if begin.is_some() || end.is_some() {
        Some(
            admin
                .topic_route(topic)
                .await
                .map_err(Failure::at(&args.ns.namesrv))?,
        )
    } else {
        None
    };
    let mut out = Vec::new();
    for (mq, mut range) in stats {
        if args
            .broker
            .as_deref()
            .is_some_and(|b| b.trim() != mq.broker_name)
            || args.queue.is_some_and(|q| q != mq.queue_id)
        {
            continue;
        }
        let addr = route.as_ref().and_then(|r| {
            r.broker_datas
                .iter()
                .find(|b| b.broker_name == mq.broker_name)
                .and_then(|b| b.master_addr().map(str::to_owned))
        });
        if let Some(addr) = &addr {
            if let Some(t) = begin {
                range.min_offset = admin
                    .search_offset_at(addr, topic, mq.queue_id, t)
                    .await
                    .map_err(Failure::at(addr))?;
            }
            if let Some(t) = end {
                range.max_offset = admin
                    .search_offset_at(addr, topic, mq.queue_id, t)
                    .await
                    .map_err(Failure::at(addr))?;
            }
        }
        out.push((mq, range));
    }
    Ok(out)
}

/// Java's `MessageQueue.toString`.
fn mq_string(mq: &MessageQueue) -> String {
    format!(
        "MessageQueue [topic={}, brokerName={}, queueId={}]",
        mq.topic, mq.broker_name, mq.queue_id
    )
}

/// Each selected queue from its minimum (or `-o`) to its end, at most `-c` messages in all:
/// `Consume ok`, one `MSGID: <id> <queue, offset, keys, tag> BODY: <utf-8>` line per
/// message, then `<queue> print msg finished. status=NO_NEW_MSG, offset=<next>`.
pub(crate) async fn consume_message(args: ConsumeMessageArgs) -> Outcome {
    let topic = args.topic.trim().to_owned();
    let begin = args
        .begin
        .as_deref()
        .map(|t| parse_timestamp(t.trim()))
        .transpose()?;
    let end = args
        .end
        .as_deref()
        .map(|t| parse_timestamp(t.trim()))
        .transpose()?;
    if let (Some(b), Some(e)) = (begin, end) {
        if b > e {
            return Err(Failure::usage(
                "consume message",
                "Please make sure that the beginTimestamp is less than or equal to the endTimestamp",
            ));
        }
    }
    let admin = connect(&args.ns)?;
    let selected = select_queues(&admin, &args, &topic, begin, end).await;
    admin.shutdown().await;
    let selected = selected?;
    let consumer = PullConsumer::start(PullConsumerOptions {
        client: crate::common::client_config(&args.ns)?,
        group: args.group.trim().to_owned(),
        consume_from: ConsumeFrom::FirstOffset,
        auto_commit: false,
        ..PullConsumerOptions::default()
    })
    .await?;
    let result = async {
        let mut left = args.count;
        let mut out = String::new();
        for (mq, range) in selected {
            if left <= 0 {
                break;
            }
            let start = args.offset.map_or(range.min_offset, |o| o.max(range.min_offset));
            if start >= range.max_offset {
                // As Apache: past the end with `-o`, else an empty queue read to its end.
                if args.offset.is_some() {
                    let _ = writeln!(out, "{} no matched msg, offset={start}", mq_string(&mq));
                } else {
                    let _ = writeln!(
                        out,
                        "{} print msg finished. status=NO_NEW_MSG, offset={start}",
                        mq_string(&mq)
                    );
                }
                continue;
            }
            let mut end = range.max_offset;
            if end - start > left {
                let _ = writeln!(
                    out,
                    "The older {left} message of the {} queue will be provided",
                    mq.queue_id
                );
                end = start + left;
            }
            consumer.assign(vec![mq.clone()]).await?;
            consumer.seek(&mq, start).await?;
            let mut next = start;
            let mut quiet_since = Instant::now();
            while next < end && quiet_since.elapsed() < QUIET {
                let batch = consumer.poll(Duration::from_millis(500)).await?;
                if batch.is_empty() {
                    continue;
                }
                quiet_since = Instant::now();
                out.push_str("Consume ok\n");
                for m in batch.iter().filter(|m| m.queue_offset() < end) {
                    let _ = writeln!(
                        out,
                        "MSGID: {} MessageExt [brokerName={}, queueId={}, queueOffset={}, keys={}, tags={}] BODY: {}",
                        m.msg_id(),
                        mq.broker_name,
                        mq.queue_id,
                        m.queue_offset(),
                        m.keys().join(" "),
                        m.tag().unwrap_or_default(),
                        String::from_utf8_lossy(m.body())
                    );
                    next = m.queue_offset() + 1;
                    left -= 1;
                }
            }
            let _ = writeln!(
                out,
                "{} print msg finished. status=NO_NEW_MSG, offset={next}",
                mq_string(&mq)
            );
        }
        print_out(&out);
        Ok(())
    }
    .await;
    consumer.shutdown().await;
    result
}
