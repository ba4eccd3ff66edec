//! `mqbench`: a benchmark in the spirit of Apache's benchmark Producer / Consumer /
//! TransactionProducer, built on `ferromq-client`.
//!
//! - [`args`]: the command line;
//! - [`stats`]: throughput and latency percentiles per report period and in total;
//! - [`run`]: runs a benchmark until its duration ends or `stop` completes, printing a line per
//!   period (send TPS, max / average / p50 / p99 / p999 latency, failures; for the consumer the
//!   latency is born-to-consumed) and a final summary, as text or JSON lines, plus a live
//!   progress line when the output is a terminal.

pub mod args;
pub mod stats;

use std::future::Future;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferromq_client::{
    ClientConfig, ConsumeFrom, ConsumeResult, FilterExpression, Message, MessageView, Producer,
    ProducerOptions, PushConsumer, PushConsumerOptions, TransactionListener, TransactionProducer,
    TransactionState,
};

use crate::args::{Command, Options, SendMode};
use crate::stats::{Recorder, Summary};

/// Runs the benchmark of `options`, writing reports to `out`; returns the totals.
pub async fn run<W, S>(options: &Options, out: W, stop: S) -> ferromq_client::Result<Summary>
where
    W: Write + Send + 'static,
    S: Future<Output = ()> + Send,
{
    let recorder = Arc::new(Recorder::default());
    let running = Arc::new(AtomicBool::new(true));
    let started = Instant::now();
    let client = ClientConfig {
        namesrv_addr: options.namesrv.clone(),
        instance_name: format!("mqbench-{}", std::process::id()),
        ..ClientConfig::default()
    };
    let workers = match options.command {
        Command::Producer => start_producer(options, client, &recorder, &running).await?,
        Command::Transaction => start_transaction(options, client, &recorder, &running).await?,
        Command::Consumer => start_consumer(options, client, &recorder).await?,
    };
    let reporter = {
        let recorder = recorder.clone();
        let options = options.clone();
        let mut out = out;
        tokio::spawn(async move {
            let mut last = Instant::now();
            let mut ticker = tokio::time::interval_at(
                tokio::time::Instant::now() + options.interval,
                options.interval,
            );
            let mut progress = tokio::time::interval(Duration::from_millis(500));
            let terminal = !options.json && std::io::IsTerminal::is_terminal(&std::io::stdout());
            loop {
                tokio::select! {
                    _ = ticker.tick() => {
                        let w = recorder.take();
                        let now = Instant::now();
                        report(&mut out, &options, "interval", &w.summary(now - last), terminal);
                        last = now;
                    }
                    _ = progress.tick(), if terminal => {
                        let t = recorder.total();
                        let _ = write!(out, "\r{} ok, {} failed, {:.0} s ", t.ok, t.failed, started.elapsed().as_secs_f64());
                        let _ = out.flush();
                    }
                }
            }
        })
    };
    match options.duration {
        Some(d) => {
            tokio::select! {
                _ = tokio::time::sleep(d) => {}
                _ = stop => {}
            }
        }
        None => stop.await,
    }
    running.store(false, Ordering::Release);
    workers.stop().await;
    reporter.abort();
    let _ = reporter.await;
    let _ = recorder.take();
    Ok(recorder.total().summary(started.elapsed()))
}

/// Writes one report line.
pub fn report<W: Write>(out: &mut W, options: &Options, kind: &str, s: &Summary, terminal: bool) {
    let what = match options.command {
        Command::Consumer => "consume",
        _ => "send",
    };
    if terminal {
        let _ = write!(out, "\r");
    }
    if options.json {
        let line = serde_json::json!({
            "kind": kind,
            "command": format!("{:?}", options.command).to_lowercase(),
            "tps": s.tps, "ok": s.ok, "failed": s.failed,
            "max_ms": s.max_ms, "avg_ms": s.avg_ms,
            "p50_ms": s.p50_ms, "p99_ms": s.p99_ms, "p999_ms": s.p999_ms,
        });
        let _ = writeln!(out, "{line}");
    } else {
        let _ = writeln!(
            out,
            "[{kind}] {what} TPS: {:.0}  max RT(ms): {:.3}  avg RT(ms): {:.3}  p50: {:.3}  p99: {:.3}  p999: {:.3}  ok: {}  failed: {}",
            s.tps, s.max_ms, s.avg_ms, s.p50_ms, s.p99_ms, s.p999_ms, s.ok, s.failed
        );
    }
    let _ = out.flush();
}

enum Workers {
    Tasks(
        Vec<tokio::task::JoinHandle<()>>,
        Option<Producer>,
        Option<TransactionProducer>,
    ),
    Consumer(PushConsumer),
}

impl Workers {
    async fn stop(self) {
        match self {
            Workers::Tasks(tasks, producer, tx) => {
                for t in tasks {
                    let _ = t.await;
                }
                if let Some(p) = producer {
                    p.shutdown().await;
                }
                if let Some(t) = tx {
                    t.shutdown().await;
                }
            }
            Workers::Consumer(c) => c.shutdown().await,
        }
    }
}

fn body(size: usize) -> Vec<u8> {
    (0..size).map(|i| b'a' + (i % 26) as u8).collect()
}

async fn start_producer(
    options: &Options,
    client: ClientConfig,
    recorder: &Arc<Recorder>,
    running: &Arc<AtomicBool>,
) -> ferromq_client::Result<Workers> {
    let producer = Producer::start(ProducerOptions {
        client,
        group: options.group.clone(),
        ..ProducerOptions::default()
    })
    .await?;
    let body = body(options.size);
    let mut tasks = Vec::new();
    for _ in 0..options.threads {
        let (p, recorder, running, topic, body) = (
            producer.clone(),
            recorder.clone(),
            running.clone(),
            options.topic.clone(),
            body.clone(),
        );
        let (mode, batch, in_flight) = (options.mode, options.batch, options.in_flight);
        tasks.push(tokio::spawn(async move {
            let permits = Arc::new(tokio::sync::Semaphore::new(in_flight));
            while running.load(Ordering::Acquire) {
                let began = Instant::now();
                match mode {
                    SendMode::Sync if batch > 1 => {
                        let msgs = (0..batch)
                            .map(|_| Message::new(&topic, body.clone()))
                            .collect();
                        match p.send_batch(msgs).await {
                            Ok(_) => recorder.ok(batch as u64, began.elapsed()),
                            Err(_) => recorder.failed(batch as u64),
                        }
                    }
                    SendMode::Sync => match p.send(Message::new(&topic, body.clone())).await {
                        Ok(_) => recorder.ok(1, began.elapsed()),
                        Err(_) => recorder.failed(1),
                    },
                    SendMode::Oneway => {
                        match p.send_oneway(Message::new(&topic, body.clone())).await {
                            Ok(()) => recorder.ok(1, began.elapsed()),
                            Err(_) => recorder.failed(1),
                        }
                    }
                    SendMode::Async => {
                        let Ok(permit) = permits.clone().acquire_owned().await else {
                            break;
                        };
                        let recorder = recorder.clone();
                        p.send_async(Message::new(&topic, body.clone()), move |r| {
                            match r {
                                Ok(_) => recorder.ok(1, began.elapsed()),
                                Err(_) => recorder.failed(1),
                            }
                            drop(permit);
                        });
                    }
                }
            }
            // Let outstanding async sends finish.
            let _ = permits.acquire_many(in_flight as u32).await;
        }));
    }
    Ok(Workers::Tasks(tasks, Some(producer), None))
}

struct CommitAll;

impl TransactionListener for CommitAll {
    fn execute(&self, _message: &Message, _transaction_id: &str) -> TransactionState {
        TransactionState::Commit
    }

    fn check(&self, _message: &MessageView) -> TransactionState {
        TransactionState::Commit
    }
}

async fn start_transaction(
    options: &Options,
    client: ClientConfig,
    recorder: &Arc<Recorder>,
    running: &Arc<AtomicBool>,
) -> ferromq_client::Result<Workers> {
    let producer = TransactionProducer::start(
        ProducerOptions {
            client,
            group: options.group.clone(),
            ..ProducerOptions::default()
        },
        CommitAll,
    )
    .await?;
    let body = body(options.size);
    let mut tasks = Vec::new();
    for _ in 0..options.threads {
        let (p, recorder, running, topic, body) = (
            producer.clone(),
            recorder.clone(),
            running.clone(),
            options.topic.clone(),
            body.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while running.load(Ordering::Acquire) {
                let began = Instant::now();
                match p.send(Message::new(&topic, body.clone())).await {
                    Ok(_) => recorder.ok(1, began.elapsed()),
                    Err(_) => recorder.failed(1),
                }
            }
        }));
    }
    Ok(Workers::Tasks(tasks, None, Some(producer)))
}

async fn start_consumer(
    options: &Options,
    client: ClientConfig,
    recorder: &Arc<Recorder>,
) -> ferromq_client::Result<Workers> {
    let recorder = recorder.clone();
    let consumer = PushConsumer::start(
        PushConsumerOptions {
            client,
            group: options.group.clone(),
            consume_from: ConsumeFrom::LastOffset,
            consume_threads: options.threads,
            ..PushConsumerOptions::default()
        },
        [(options.topic.clone(), FilterExpression::all())],
        move |messages: &[MessageView]| {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0);
            for m in messages {
                let e2e = (now - m.born_timestamp()).max(0) as u64;
                recorder.ok(1, Duration::from_millis(e2e));
            }
            ConsumeResult::Success
        },
    )
    .await?;
    Ok(Workers::Consumer(consumer))
}
