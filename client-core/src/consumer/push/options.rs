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
    /// Listener calls running at once (Java `consumeThreadMax`, 20).
    pub consume_threads: usize,
    /// Messages per listener call (1).
    pub consume_batch_size: usize,
    /// Messages per pull (32).
    pub pull_batch_size: i32,
    /// Pulling of a queue pauses above this many unconsumed messages (1000).
    pub pull_threshold_for_queue: usize,
    /// ... or above this many unconsumed body bytes (100 MiB).
    pub pull_threshold_size_for_queue: usize,
    /// ... or (concurrent listener) when the first and last unconsumed messages are this far
    /// apart (2000, Java `consumeConcurrentlyMaxSpan`): one stuck message stops its queue.
    pub consume_concurrently_max_span: i64,
    /// Redeliveries before the DLQ; -1 means 16.
    pub max_reconsume_times: i32,
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
            consume_concurrently_max_span: 2000,
            max_reconsume_times: -1,
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
