//! `mqbench producer`: send throughput and latency with the FerroMQ client.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use ferromq_client::{Message, Producer, ProducerOptions, SendStatus};

use super::run::{run, StopFlag, Timing};
use super::{Reporter, Stats, Summary};

/// How messages are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendMode {
    /// Each worker sends and waits for the result.
    Sync,
    /// Up to `inflight` sends outstanding at once (of `batch` messages each).
    Async,
    /// Fire and forget: the broker does not answer (latency = time to hand the bytes over).
    Oneway,
}

/// Settings of a producer run.
#[derive(Debug, Clone)]
pub struct ProducerBench {
    /// Producer settings (name servers, group, timeouts).
    pub options: ProducerOptions,
    /// Topic sent to.
    pub topic: String,
    /// Concurrent senders (sync and oneway).
    pub threads: usize,
    /// Body size in bytes.
    pub size: usize,
    /// Messages per send (1 = single sends; more = SEND_BATCH_MESSAGE).
    pub batch: usize,
    /// Sends outstanding at once in async mode (each of `batch` messages).
    pub inflight: usize,
    /// Sync, async or oneway.
    pub mode: SendMode,
    /// Timing of the run.
    pub timing: Timing,
}

impl ProducerBench {
    /// Starts a producer, warms the route up with one send, runs, and returns the summary.
    pub async fn run(&self, reporter: &Reporter) -> Result<Summary, ferromq_client::Error> {
        let producer = Producer::start(self.options.clone()).await?;
        let body = Bytes::from(vec![b'x'; self.size]);
        // Route lookup and connection set-up are not part of the measurement.
        producer
            .send(Message::new(&self.topic, body.clone()))
            .await?;
        let stats = Arc::new(Stats::default());
        let stop = StopFlag::default();
        let workers = self.workers(&producer, &stats, &stop, body);
        let summary = run(stats, reporter, self.timing, stop, workers).await;
        producer.shutdown().await;
        Ok(summary)
    }

    fn workers(
        &self,
        producer: &Producer,
        stats: &Arc<Stats>,
        stop: &StopFlag,
        body: Bytes,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        let (producer, stats, stop) = (producer.clone(), stats.clone(), stop.clone());
        let (topic, mode, batch) = (self.topic.clone(), self.mode, self.batch.max(1));
        // Async: `inflight` sends outstanding at once. Each is a long-lived task that sends,
        // awaits and sends again, so a send's future (about 2 KiB) lives inside its task and is
        // not allocated per send, as a task spawned per send (or a future pushed into a
        // `FuturesUnordered`) would be: that allocation made malloc the largest cost of the
        // client (docs/performance.md).
        let workers = match mode {
            SendMode::Async => self.inflight.max(1),
            SendMode::Sync | SendMode::Oneway => self.threads.max(1),
        };
        async move {
            let message = move || Message::new(&topic, body.clone());
            let tasks: Vec<_> = (0..workers)
                .map(|_| {
                    let (producer, stats, stop, message) = (
                        producer.clone(),
                        stats.clone(),
                        stop.clone(),
                        message.clone(),
                    );
                    tokio::spawn(async move {
                        while !stop.is_raised() {
                            let started = Instant::now();
                            let (ok, n) = send_once(&producer, mode, batch, &message).await;
                            stats.record(ok, n, started.elapsed());
                        }
                    })
                })
                .collect();
            for t in tasks {
                let _ = t.await;
            }
        }
    }
}

/// One send of `batch` messages (SEND_BATCH_MESSAGE when more than one; oneway sends are
/// single); whether it succeeded and how many messages it carried.
async fn send_once(
    producer: &Producer,
    mode: SendMode,
    batch: usize,
    message: &impl Fn() -> Message,
) -> (bool, u64) {
    match (mode, batch) {
        (SendMode::Oneway, _) => (producer.send_oneway(message()).await.is_ok(), 1),
        (_, 1) => (
            producer
                .send(message())
                .await
                .is_ok_and(|r| r.status == SendStatus::Ok),
            1,
        ),
        (_, n) => (
            producer
                .send_batch((0..n).map(|_| message()).collect())
                .await
                .is_ok_and(|rs| rs.iter().all(|r| r.status == SendStatus::Ok)),
            n as u64,
        ),
    }
}
