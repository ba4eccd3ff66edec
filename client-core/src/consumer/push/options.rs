//! The push consumer's settings.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::client::ClientConfig;
use crate::consumer::allocate::{AllocateStrategy, Averagely};
use crate::consumer::{ConsumeFrom, MessageModel};

/// Push consumer settings.
#[derive(Debug, Clone)]
pub struct PushConsumerOptions {
    /// Shared client settings.
    pub client: ClientConfig,
    /// Consumer group.
    pub group: String,
    /// Clustering (each message to one member) or broadcasting (to every member).
    pub message_model: MessageModel,
    /// Where a group without a committed offset starts.
    pub consume_from: ConsumeFrom,
    /// Listener calls running at once, at most (Java `consumeThreadMax`, 20). A blocking
    /// listener gets threads of its own up to this many: as many awake as there are CPUs while
    /// its calls return quickly, more while calls block (a thread found inside the same call
    /// for a millisecond or more).
    pub consume_threads: usize,
    /// Messages per listener call (1).
    pub consume_batch_size: usize,
    /// Messages per pull (32).
    pub pull_batch_size: i32,
    /// Pulling of a queue pauses above this many unconsumed messages (1000, at least 1).
    pub pull_threshold_for_queue: usize,
    /// ... or above this many unconsumed body bytes (100 MiB, at least 1).
    pub pull_threshold_size_for_queue: usize,
    /// When set, replaces `pull_threshold_for_queue`: this many unconsumed messages divided
    /// evenly among the queues this member holds, at least 1 each (Java
    /// `pullThresholdForTopic`; `None`, the default, is Java's -1). As in Java the division is
    /// by every queue the consumer holds, whatever their topic, and is redone when the
    /// assignment changes.
    pub pull_threshold_for_topic: Option<usize>,
    /// When set, replaces `pull_threshold_size_for_queue` the same way: this many unconsumed
    /// body bytes divided among the queues held (Java `pullThresholdSizeForTopic`, which counts
    /// MiB; `None` by default).
    pub pull_threshold_size_for_topic: Option<usize>,
    /// ... or (concurrent listener) when the first and last unconsumed messages are this far
    /// apart (2000, Java `consumeConcurrentlyMaxSpan`): one stuck message stops its queue.
    pub consume_concurrently_max_span: i64,
    /// Redeliveries before the DLQ; -1 means 16.
    pub max_reconsume_times: i32,
    /// Concurrent listeners: a message whose listener call began longer ago than this is
    /// returned to the broker for redelivery (CONSUMER_SEND_MSG_BACK, delay level 3) and
    /// dropped from the queue's cache, so the committed offset can move past it; the call
    /// itself is not interrupted and its answer is then ignored. Checked every
    /// `consume_timeout` (the first check one period after the start), so a stuck message is
    /// returned between one and two periods after its call began, as in Java. Only the oldest
    /// unconsumed messages of a queue are checked (up to 16 per queue and check), those that
    /// hold its offset back. Java `consumeTimeout` (15 minutes); more than zero. Broadcasting
    /// has no redelivery: there an expired message is dropped, as a failed one is.
    pub consume_timeout: Duration,
    /// Orderly listeners: how long a queue waits before a batch the listener answered with
    /// [`OrderlyResult::SuspendCurrentQueueAMoment`](crate::OrderlyResult) is offered again
    /// (Java `suspendCurrentQueueTimeMillis`, 1 s). From 10 ms to 30 s: Java clamps to that
    /// range where FerroMQ refuses anything outside it.
    pub suspend_current_queue_time: Duration,
    /// How long [`shutdown`](super::PushConsumer::shutdown) waits for listener calls in
    /// flight (Java `awaitTerminationMillisWhenShutdown`). Calls that end within it have their
    /// offsets committed before `shutdown` returns; a call still running after it is abandoned:
    /// it is not interrupted, but its answer is ignored and its messages, not committed, are
    /// redelivered to whoever holds the queue next. 10 s by default (FerroMQ's behaviour before
    /// the option existed); Java's default is 0, which does not wait at all.
    pub await_termination: Duration,
    /// Queue allocation among the group's members.
    pub allocate: Arc<dyn AllocateStrategy>,
    /// Rebalance period (20 s).
    pub rebalance_interval: Duration,
    /// Offset commit period (5 s).
    pub persist_interval: Duration,
    /// Pause after a failed pull (3 s).
    pub pull_retry_delay: Duration,
    /// Directory of broadcasting offsets (`~/.rocketmq_offsets` when `None`).
    pub offset_store_dir: Option<PathBuf>,
    /// Records each message handed to the listener, and its answer, in the trace topic (Java
    /// `enableMsgTrace`, off; docs/message-trace.md).
    pub enable_msg_trace: bool,
    /// The trace topic when tracing (Java `customizedTraceTopic`); `None` or blank is
    /// `RMQ_SYS_TRACE_TOPIC`.
    pub trace_topic: Option<String>,
}

impl Default for PushConsumerOptions {
    fn default() -> Self {
        PushConsumerOptions {
            client: ClientConfig::default(),
            group: String::new(),
            message_model: MessageModel::Clustering,
            consume_from: ConsumeFrom::LastOffset,
            consume_threads: 20,
            consume_batch_size: 1,
            pull_batch_size: 32,
            pull_threshold_for_queue: 1000,
            pull_threshold_size_for_queue: 100 * 1024 * 1024,
            pull_threshold_for_topic: None,
            pull_threshold_size_for_topic: None,
            consume_concurrently_max_span: 2000,
            max_reconsume_times: -1,
            consume_timeout: Duration::from_secs(15 * 60),
            suspend_current_queue_time: Duration::from_secs(1),
            await_termination: Duration::from_secs(10),
            allocate: Arc::new(Averagely),
            rebalance_interval: Duration::from_secs(20),
            persist_interval: Duration::from_secs(5),
            pull_retry_delay: Duration::from_secs(3),
            offset_store_dir: None,
            enable_msg_trace: false,
            trace_topic: None,
        }
    }
}

impl PushConsumerOptions {
    /// The flow-control limits of one queue (messages, body bytes) while `queues` queues are
    /// held: the per-queue thresholds, or, where set, the topic thresholds divided among the
    /// queues, at least 1 each (Java's `RebalancePushImpl.messageQueueChanged`).
    pub(crate) fn queue_limits(&self, queues: usize) -> (usize, usize) {
        let share = |total: Option<usize>, per_queue: usize| {
            total.map_or(per_queue, |t| (t / queues.max(1)).max(1))
        };
        (
            share(self.pull_threshold_for_topic, self.pull_threshold_for_queue),
            share(
                self.pull_threshold_size_for_topic,
                self.pull_threshold_size_for_queue,
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_thresholds_are_shared_among_the_queues_held() {
        let o = PushConsumerOptions {
            pull_threshold_for_queue: 7,
            pull_threshold_size_for_queue: 70,
            ..PushConsumerOptions::default()
        };
        assert_eq!(o.queue_limits(4), (7, 70));
        let o = PushConsumerOptions {
            pull_threshold_for_topic: Some(1000),
            pull_threshold_size_for_topic: Some(10 << 20),
            ..o
        };
        assert_eq!(o.queue_limits(10), (100, 1 << 20));
        assert_eq!(o.queue_limits(0), (1000, 10 << 20));
        assert_eq!(o.queue_limits(3000), (1, 3495));
        let few = PushConsumerOptions {
            pull_threshold_size_for_topic: Some(2),
            ..o
        };
        assert_eq!(few.queue_limits(5).1, 1);
    }
}
