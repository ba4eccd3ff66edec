//! `mqbench request`: request-reply round trips (docs/request-reply.md). The run starts its own
//! responder (a push consumer of the topic answering every request through a producer) and
//! `threads` requesters that each keep one request in flight; the latency is the full round
//! trip (request sent, consumed, reply pushed back).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferromq_client::{
    ConsumeResult, FilterExpression, Message, MessageView, Producer, ProducerOptions, PushConsumer,
    PushConsumerOptions,
};

use super::run::{run, StopFlag, Timing};
use super::{Reporter, Stats, Summary};

/// Settings of a request-reply run.
#[derive(Debug, Clone)]
pub struct RequestBench {
    /// Requester settings.
    pub requester: ProducerOptions,
    /// Responder's producer settings (sends the replies).
    pub replier: ProducerOptions,
    /// Responder's consumer settings.
    pub responder: PushConsumerOptions,
    /// Topic the requests go to.
    pub topic: String,
    /// Concurrent requesters, one request in flight each.
    pub threads: usize,
    /// Body size in bytes (requests and replies).
    pub size: usize,
    /// Timeout of one request.
    pub timeout: Duration,
    /// Timing of the run.
    pub timing: Timing,
}

impl RequestBench {
    /// Runs; returns the summary.
    pub async fn run(&self, reporter: &Reporter) -> Result<Summary, ferromq_client::Error> {
        let replier = Producer::start(self.replier.clone()).await?;
        let answering = replier.clone();
        let responder = PushConsumer::start_async(
            self.responder.clone(),
            [(self.topic.clone(), FilterExpression::all())],
            move |messages: Vec<MessageView>| {
                let replier = answering.clone();
                async move {
                    for m in messages {
                        // A request past its TTL (from an earlier run) has no one waiting.
                        let ttl = m
                            .property(ferromq_protocol::message::property::MESSAGE_TTL)
                            .and_then(|t| t.parse::<i64>().ok())
                            .unwrap_or(0);
                        if m.born_timestamp() + ttl < ferromq_client::rt::now_ms() {
                            continue;
                        }
                        if let Ok(reply) = Message::reply_to(&m, m.body().clone()) {
                            let _ = replier.send_reply(reply).await;
                        }
                    }
                    ConsumeResult::Success
                }
            },
        )
        .await?;
        let requester = Producer::start(self.requester.clone()).await?;
        let body = Bytes::from(vec![b'x'; self.size.max(1)]);
        // One round trip first: routes, heartbeats and the responder's queues settle.
        requester
            .request(
                Message::new(&self.topic, body.clone()),
                Duration::from_secs(30),
            )
            .await?;
        let stats = Arc::new(Stats::default());
        let stop = StopFlag::default();
        let workers = {
            let (requester, stats, stop, topic, timeout) = (
                requester.clone(),
                stats.clone(),
                stop.clone(),
                self.topic.clone(),
                self.timeout,
            );
            let threads = self.threads.max(1);
            async move {
                let tasks: Vec<_> = (0..threads)
                    .map(|_| {
                        let (requester, stats, stop, topic, body) = (
                            requester.clone(),
                            stats.clone(),
                            stop.clone(),
                            topic.clone(),
                            body.clone(),
                        );
                        tokio::spawn(async move {
                            while !stop.is_raised() {
                                let started = Instant::now();
                                let ok = requester
                                    .request(Message::new(&topic, body.clone()), timeout)
                                    .await
                                    .is_ok();
                                stats.record(ok, 1, started.elapsed());
                            }
                        })
                    })
                    .collect();
                for t in tasks {
                    let _ = t.await;
                }
            }
        };
        let summary = run(stats, reporter, self.timing, stop, workers).await;
        requester.shutdown().await;
        responder.shutdown().await;
        replier.shutdown().await;
        Ok(summary)
    }
}
