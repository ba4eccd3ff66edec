//! `mqbench transaction`: transactional sends (half message, local transaction, END_TRANSACTION)
//! with the FerroMQ transaction producer; a share of them can be left unknown so the broker's
//! check-back path is exercised too.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use ferromq_client::{
    Message, MessageView, ProducerOptions, SendStatus, TransactionListener, TransactionProducer,
    TransactionState,
};

use super::run::{run, StopFlag, Timing};
use super::{Reporter, Stats, Summary};

/// Settings of a transaction run.
#[derive(Debug, Clone)]
pub struct TransactionBench {
    /// Producer settings (the group is the transaction producer group).
    pub options: ProducerOptions,
    /// Topic sent to.
    pub topic: String,
    /// Concurrent senders.
    pub threads: usize,
    /// Body size in bytes.
    pub size: usize,
    /// Percent of transactions answered UNKNOW first (committed on check-back).
    pub check_percent: u64,
    /// Percent of transactions rolled back.
    pub rollback_percent: u64,
    /// Timing of the run.
    pub timing: Timing,
}

/// Decides by a counter: the first `rollback` of every 100 roll back, the next `check` are
/// unknown, the rest commit. Check-backs always commit.
#[derive(Debug)]
struct Decider {
    next: AtomicU64,
    rollback: u64,
    check: u64,
    checks: Arc<AtomicU64>,
}

impl TransactionListener for Decider {
    fn execute(&self, _message: &Message, _transaction_id: &str) -> TransactionState {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % 100;
        if i < self.rollback {
            TransactionState::Rollback
        } else if i < self.rollback + self.check {
            TransactionState::Unknown
        } else {
            TransactionState::Commit
        }
    }

    fn check(&self, _message: &MessageView) -> TransactionState {
        self.checks.fetch_add(1, Ordering::Relaxed);
        TransactionState::Commit
    }
}

impl TransactionBench {
    /// Runs; returns the summary and the number of check-backs answered.
    pub async fn run(&self, reporter: &Reporter) -> Result<(Summary, u64), ferromq_client::Error> {
        let checks = Arc::new(AtomicU64::new(0));
        let producer = TransactionProducer::start(
            self.options.clone(),
            Decider {
                next: AtomicU64::new(0),
                rollback: self.rollback_percent.min(100),
                check: self.check_percent.min(100 - self.rollback_percent.min(100)),
                checks: checks.clone(),
            },
        )
        .await?;
        let body = Bytes::from(vec![b'x'; self.size]);
        producer
            .send(Message::new(&self.topic, body.clone()))
            .await?;
        let stats = Arc::new(Stats::default());
        let stop = StopFlag::default();
        let workers = {
            let (producer, stats, stop, topic) = (
                producer.clone(),
                stats.clone(),
                stop.clone(),
                self.topic.clone(),
            );
            let threads = self.threads.max(1);
            async move {
                let tasks: Vec<_> = (0..threads)
                    .map(|_| {
                        let (producer, stats, stop, topic, body) = (
                            producer.clone(),
                            stats.clone(),
                            stop.clone(),
                            topic.clone(),
                            body.clone(),
                        );
                        tokio::spawn(async move {
                            while !stop.is_raised() {
                                let started = Instant::now();
                                let ok = producer
                                    .send(Message::new(&topic, body.clone()))
                                    .await
                                    .is_ok_and(|r| r.send.status == SendStatus::Ok);
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
        producer.shutdown().await;
        Ok((summary, checks.load(Ordering::Relaxed)))
    }
}
