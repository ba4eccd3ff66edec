//! `mqbench consumer`: consume throughput and end-to-end latency (born timestamp to the
//! listener call) with the FerroMQ push consumer.

use std::sync::Arc;
use std::time::Duration;

use ferromq_client::{
    ConsumeResult, FilterExpression, MessageView, PushConsumer, PushConsumerOptions,
};

use super::run::{run, StopFlag, Timing};
use super::{Reporter, Stats, Summary};
use ferromq_client::rt::now_ms;

/// Settings of a consumer run.
#[derive(Debug, Clone)]
pub struct ConsumerBench {
    /// Push consumer settings (name servers, group, threads, consume-from).
    pub options: PushConsumerOptions,
    /// Topic consumed.
    pub topic: String,
    /// Tag expression.
    pub expression: String,
    /// Timing of the run.
    pub timing: Timing,
}

impl ConsumerBench {
    /// Starts the consumer, runs, and returns the summary (latency = born to consumed).
    pub async fn run(&self, reporter: &Reporter) -> Result<Summary, ferromq_client::Error> {
        let stats = Arc::new(Stats::default());
        let listener = {
            let stats = stats.clone();
            move |messages: &[MessageView]| {
                let now = now_ms();
                for m in messages {
                    let ms = u64::try_from(now - m.born_timestamp()).unwrap_or(0);
                    stats.record_latency(Duration::from_millis(ms));
                }
                ConsumeResult::Success
            }
        };
        let consumer = PushConsumer::start(
            self.options.clone(),
            [(
                self.topic.clone(),
                FilterExpression::tag(self.expression.clone()),
            )],
            listener,
        )
        .await?;
        let stop = StopFlag::default();
        let waiting = stop.clone();
        let summary = run(stats, reporter, self.timing, stop, async move {
            while !waiting.is_raised() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await;
        consumer.shutdown().await;
        Ok(summary)
    }
}
