//! `queryMsgByOffset` and `checkMsgSendRT`: one message read at a queue offset, and the round
//! trip of sends to each queue in turn.

use std::fmt::Write as _;
use std::time::Instant;

use clap::Args;
use ferromq_client::{Message, Producer, ProducerOptions};
use ferromq_protocol::body::{perm, MessageQueue};

use crate::common::{connect, print_out, Failure, Namesrv, Outcome};
use crate::message::{body_file, write_message_with};
use crate::track::{message_tracks, write_tracks};

/// The group Apache's tools pull as (`MixAll.TOOLS_CONSUMER_GROUP`).
const TOOLS_CONSUMER: &str = "TOOLS_CONSUMER";

/// `queryMsgByOffset` flags (Apache's `QueryMsgByOffsetSubCommand`).
#[derive(Args, Debug)]
pub(crate) struct QueryMsgByOffsetArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// Topic.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// Broker name.
    #[arg(short = 'b', long = "brokerName")]
    broker: String,
    /// Queue id.
    #[arg(short = 'i', long = "queueId")]
    queue: i32,
    /// Queue offset.
    #[arg(short = 'o', long = "offset")]
    offset: i64,
    /// Print the body as text (`UTF-8`).
    #[arg(short = 'f', long = "bodyFormat")]
    body_format: Option<String>,
}

/// `checkMsgSendRT` flags (Apache's `CheckMsgSendRTCommand`).
#[derive(Args, Debug)]
pub(crate) struct CheckMsgSendRtArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// Topic.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// How many messages (100).
    #[arg(short = 'a', long = "amount", default_value_t = 100,
          value_parser = clap::value_parser!(u64).range(1..))]
    amount: u64,
    /// Body size in bytes (128).
    #[arg(short = 's', long = "size", default_value_t = 128)]
    size: usize,
}

/// The message at one queue offset (one PULL_MESSAGE of one message as `TOOLS_CONSUMER`, from
/// the broker's master), printed as `queryMsgById` prints it, `MIN_OFFSET` and `MAX_OFFSET` of
/// the pull among its properties and the MessageTrack lines after it; nothing when the queue
/// has none there (as Apache).
pub(crate) async fn query_msg_by_offset(args: QueryMsgByOffsetArgs) -> Outcome {
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
    let mq = MessageQueue {
        topic: args.topic.trim().to_owned(),
        broker_name: args.broker.trim().to_owned(),
        queue_id: args.queue,
    };
    let admin = connect(&args.ns)?;
    let result = async {
        let route = admin
            .topic_route(&mq.topic)
            .await
            .map_err(Failure::at(&args.ns.namesrv))?;
        let Some(addr) = route
            .broker_datas
            .iter()
            .find(|b| b.broker_name == mq.broker_name)
            .and_then(|b| b.select_addr(0))
            .map(str::to_owned)
        else {
            return Err(Failure::usage(
                "query message",
                format!("The broker[{}] not exist", mq.broker_name),
            ));
        };
        let answer = admin
            .pull_at(&addr, TOOLS_CONSUMER, &mq, "*", args.offset, 1)
            .await
            .map_err(Failure::at(&addr))?;
        let Some(m) = answer.messages.first() else {
            return Ok(());
        };
        let mut out = String::new();
        let path = body_file(m, "");
        let extra = [
            ("MIN_OFFSET", answer.min_offset.to_string()),
            ("MAX_OFFSET", answer.max_offset.to_string()),
        ];
        write_message_with(&mut out, m, true, &path, &extra);
        if utf8 {
            let _ = writeln!(
                out,
                "{:<20} {}",
                "Message Body:",
                String::from_utf8_lossy(m.body())
            );
        }
        write_tracks(&mut out, message_tracks(&admin, m).await, "\n");
        print_out(&out);
        Ok(())
    }
    .await;
    admin.shutdown().await;
    result
}

/// Sends `-a` messages of `-s` bytes to the topic's queues in turn, printing each one's broker,
/// queue, result and round trip, then the average (the first send, which sets up the
/// connection, left out as Apache does).
pub(crate) async fn check_msg_send_rt(args: CheckMsgSendRtArgs) -> Outcome {
    let topic = args.topic.trim().to_owned();
    let admin = connect(&args.ns)?;
    let route = admin.topic_route(&topic).await;
    admin.shutdown().await;
    let route = route.map_err(Failure::at(&args.ns.namesrv))?;
    // The write queues in the order Java's producer lists them: by broker name, then id.
    let mut queues: Vec<MessageQueue> = route
        .queue_datas
        .iter()
        .filter(|q| q.perm & perm::WRITE != 0)
        .flat_map(|q| {
            (0..q.write_queue_nums).map(|id| MessageQueue {
                topic: topic.clone(),
                broker_name: q.broker_name.clone(),
                queue_id: id,
            })
        })
        .collect();
    queues.sort();
    if queues.is_empty() {
        return Err(Failure::usage(
            "checkMsgSendRT",
            format!("topic {topic} has no writable queue"),
        ));
    }
    let producer = Producer::start(ProducerOptions {
        client: crate::common::client_config(&args.ns)?,
        group: format!(
            "mqadmin-rt-{}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis())
        ),
        ..ProducerOptions::default()
    })
    .await?;
    let body = vec![b'a'; args.size];
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<32}  {:<4}  {:<20}    #RT",
        "#Broker Name", "#QID", "#Send Result"
    );
    let mut total_ms = 0u128;
    for i in 0..args.amount {
        let index = usize::try_from(i % queues.len() as u64).unwrap_or(0);
        let queue = &queues[index];
        let started = Instant::now();
        let sent = producer
            .send_to_queue(Message::new(&topic, body.clone()), queue)
            .await;
        let ms = started.elapsed().as_millis();
        if i != 0 {
            total_ms += ms;
        }
        let _ = writeln!(
            out,
            "{:<32}  {:<4}  {:<20}    {ms}",
            queue.broker_name,
            queue.queue_id,
            sent.is_ok()
        );
    }
    producer.shutdown().await;
    let average = if args.amount > 1 {
        total_ms as f64 / (args.amount - 1) as f64
    } else {
        0.0
    };
    let _ = writeln!(out, "Avg RT: {average:.2}");
    print_out(&out);
    Ok(())
}
