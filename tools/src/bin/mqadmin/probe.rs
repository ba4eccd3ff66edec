//! `queryMsgByOffset` and `checkMsgSendRT`: one message read at a queue offset, and the round
//! trip of sends to each queue in turn.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use clap::Args;
use ferromq_client::{
    ClientConfig, ConsumeFrom, Message, Producer, ProducerOptions, PullConsumer,
    PullConsumerOptions,
};
use ferromq_protocol::body::{perm, MessageQueue};

use crate::common::{connect, print_out, Failure, Namesrv, Outcome};
use crate::message::{body_file, write_message};

/// How long `queryMsgByOffset` waits for the message.
const READ_WAIT: Duration = Duration::from_secs(5);

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

/// The message at one queue offset, printed as `queryMsgById` prints it; nothing when the
/// queue has none there (as Apache).
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
    let consumer = PullConsumer::start(PullConsumerOptions {
        client: ClientConfig::new(args.ns.namesrv.as_str(), Some("mqadmin".to_owned())),
        group: "TOOLS_CONSUMER".to_owned(),
        consume_from: ConsumeFrom::FirstOffset,
        auto_commit: false,
        ..PullConsumerOptions::default()
    })
    .await?;
    let result = async {
        consumer.assign(vec![mq.clone()]).await?;
        consumer.seek(&mq, args.offset).await?;
        let started = Instant::now();
        while started.elapsed() < READ_WAIT {
            let batch = consumer.poll(Duration::from_millis(500)).await?;
            if let Some(m) = batch.iter().find(|m| m.queue_offset() == args.offset) {
                let mut out = String::new();
                let path = body_file(m, "");
                write_message(&mut out, m, true, &path);
                if utf8 {
                    let _ = writeln!(
                        out,
                        "{:<20} {}",
                        "Message Body:",
                        String::from_utf8_lossy(m.body())
                    );
                }
                print_out(&out);
                break;
            }
            if batch.iter().any(|m| m.queue_offset() > args.offset) {
                break;
            }
        }
        Ok(())
    }
    .await;
    consumer.shutdown().await;
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
        client: ClientConfig::new(args.ns.namesrv.as_str(), Some("mqadmin".to_owned())),
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
