//! Single sends: sync, async, oneway, to a chosen queue or through a selector; the checks and
//! completion of a message before it leaves (topic, size, UNIQ_KEY, compression), and the retries
//! on another broker with latency-based fault avoidance.

use std::sync::atomic::Ordering;

use bytes::Bytes;
use ferromq_protocol::body::MessageQueue;
use ferromq_protocol::message::{
    compress, property, sysflag, BatchMessage, CompressionType, TransactionType,
};

use super::exchange::Mode;
use super::Producer;
use crate::error::{Error, ErrorKind, Result};
use crate::message::{Message, SendResult};
use crate::rt::Instant;
use crate::selector::{pick_queue, QueueSelector};

/// Refuses an empty topic, one longer than 127 characters and one with characters outside
/// `[%|a-zA-Z0-9_-]`; `operation` names the call in the error.
pub(super) fn validate_topic(operation: &'static str, topic: &str) -> Result<()> {
    if topic.is_empty() {
        return Err(Error::invalid(operation, "the topic is empty"));
    }
    if topic.len() > 127 {
        return Err(Error::invalid(
            operation,
            format!("topic {topic:?} is longer than 127 characters"),
        ));
    }
    if !topic
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'%' | b'|' | b'_' | b'-'))
    {
        return Err(Error::invalid(
            operation,
            format!("topic {topic:?} has characters outside [%|a-zA-Z0-9_-]"),
        ));
    }
    Ok(())
}

impl Producer {
    /// Sends and waits for the broker's answer ("sync" send), retrying up to
    /// [`ProducerOptions::retry_times`] times, on another broker when there is one.
    ///
    /// [`ProducerOptions::retry_times`]: super::ProducerOptions::retry_times
    pub async fn send(&self, message: Message) -> Result<SendResult> {
        self.send_routed(message, Mode::Sync)
            .await
            .and_then(answered)
    }

    /// Sends without waiting for the answer of the caller: the send (with the same retries as
    /// [`Self::send`]) runs as a task on the producer's runtime and `callback` gets its outcome
    /// on a runtime thread. Callable from any thread. (From async code, `send(...).await` in a
    /// spawned task is the same thing.)
    pub fn send_async<F>(&self, message: Message, callback: F)
    where
        F: FnOnce(Result<SendResult>) + Send + 'static,
    {
        let this = self.clone();
        self.inner.runtime.spawn(async move {
            callback(this.send(message).await);
        });
    }

    /// Sends oneway: the broker does not answer, so nothing is known about the outcome beyond
    /// the bytes leaving this process. Never retried.
    pub async fn send_oneway(&self, message: Message) -> Result<()> {
        self.send_routed(message, Mode::Oneway).await.map(|_| ())
    }

    /// Sends to the given queue (one attempt).
    pub async fn send_to_queue(
        &self,
        message: Message,
        queue: &MessageQueue,
    ) -> Result<SendResult> {
        if queue.topic != message.topic() {
            return Err(Error::invalid("send", "the queue belongs to another topic"));
        }
        let began = Instant::now();
        let mut message = message;
        let queue = &self.inner.ns.wrap_queue(queue);
        let result = match self.prepare(&mut message) {
            Ok(sys_flag) => self
                .send_once(&message, sys_flag, queue, Mode::Sync)
                .await
                .and_then(answered),
            Err(e) => Err(e),
        };
        self.observe(began, 1, &result);
        result
    }

    /// Sends to the queue `selector` picks among the topic's writable queues, given `arg` (for
    /// ordered messages: the sharding key). One attempt, so order is never broken by a retry
    /// elsewhere.
    pub async fn send_with_selector(
        &self,
        message: Message,
        selector: &dyn QueueSelector,
        arg: &str,
    ) -> Result<SendResult> {
        let queue = self.select_queue("send", &message, selector, arg).await?;
        self.send_to_queue(message, &queue).await
    }

    /// Validates and completes a message; returns its sysFlag.
    fn prepare(&self, message: &mut Message) -> Result<i32> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(Error::illegal_state("send", "the producer is shut down"));
        }
        if self.inner.ns.is_set() {
            message.set_topic(self.inner.ns.wrap(message.topic()));
        }
        validate_topic("send", message.topic())?;
        if message.body().is_empty() {
            return Err(Error::invalid("send", "the body is empty"));
        }
        let max = self.inner.options.max_message_size;
        if message.body().len() > max {
            return Err(Error::invalid(
                "send",
                format!(
                    "the body has {} bytes, more than the {max}-byte limit",
                    message.body().len()
                ),
            ));
        }
        if message
            .property(property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX)
            .is_none()
        {
            let id = self.inner.client.inner.uniq.next_id_at(crate::rt::now_ms());
            message
                .properties_mut()
                .insert(property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX, id);
        }
        let mut sys_flag = 0;
        if message.body().len() > self.inner.options.compress_threshold {
            let compressed = compress(
                message.body(),
                CompressionType::Zlib,
                self.inner.options.compress_level,
            )
            .map_err(|e| Error::protocol("send", e))?;
            message.set_body(Bytes::from(compressed));
            sys_flag = sysflag::with_compression(sys_flag, CompressionType::Zlib);
        }
        if message.property(property::TRANSACTION_PREPARED) == Some("true") {
            sys_flag = sysflag::with_transaction_type(sys_flag, TransactionType::Prepared);
        }
        Ok(sys_flag)
    }

    /// Prepares `message` and sends it with retries; counted in the metrics.
    async fn send_routed(&self, mut message: Message, mode: Mode) -> Result<Option<SendResult>> {
        let began = Instant::now();
        let result = match self.prepare(&mut message) {
            Ok(sys_flag) => self.send_with_retries(&message, sys_flag, mode, None).await,
            Err(e) => Err(e),
        };
        self.observe(began, 1, &result);
        result
    }

    /// Sends `message` (or the batch of `batch`, encoded in `message`'s body) to a queue picked
    /// round robin: up to 1 + [`ProducerOptions::retry_times`] attempts (one when oneway), each
    /// on another broker than the last failed one when there is one, and avoiding slow or
    /// failing brokers with [`ProducerOptions::latency_fault_enable`].
    ///
    /// [`ProducerOptions::retry_times`]: super::ProducerOptions::retry_times
    /// [`ProducerOptions::latency_fault_enable`]: super::ProducerOptions::latency_fault_enable
    pub(super) async fn send_with_retries(
        &self,
        message: &Message,
        sys_flag: i32,
        mode: Mode,
        batch: Option<&[BatchMessage]>,
    ) -> Result<Option<SendResult>> {
        let attempts = if mode == Mode::Oneway {
            1
        } else {
            1 + self.inner.options.retry_times
        };
        let faults = self
            .inner
            .options
            .latency_fault_enable
            .then_some(&self.inner.faults);
        let mut last_broker: Option<String> = None;
        let mut last_error = None;
        for attempt in 0..attempts {
            let queues = match self.publish_info(message.topic()).await {
                Ok(q) => q,
                Err(e) if attempt + 1 < attempts && e.is_retryable() => {
                    last_error = Some(e);
                    continue;
                }
                Err(e) => return Err(e),
            };
            let start = self.inner.next_queue.fetch_add(1, Ordering::Relaxed);
            let Some(queue) = pick_queue(&queues, start, last_broker.as_deref(), faults) else {
                break;
            };
            let queue = queue.clone();
            let began = Instant::now();
            let result = if let Some(entries) = batch {
                self.send_batch_once(message, entries, &queue).await
            } else {
                self.send_once(message, sys_flag, &queue, mode).await
            };
            match result {
                Ok(r) => {
                    self.inner
                        .faults
                        .record(&queue.broker_name, began.elapsed(), false);
                    return Ok(r);
                }
                Err(e) => {
                    let isolate = matches!(
                        e.kind(),
                        ErrorKind::Connect | ErrorKind::Timeout | ErrorKind::ConnectionClosed
                    );
                    self.inner
                        .faults
                        .record(&queue.broker_name, began.elapsed(), isolate);
                    if !e.is_retryable() {
                        return Err(e);
                    }
                    tracing::debug!(attempt, broker = %queue.broker_name, error = %e, "send failed; retrying");
                    if e.kind() == ErrorKind::ConnectionClosed || e.kind() == ErrorKind::Connect {
                        // The route may be stale (broker gone); refetch before the next attempt.
                        let _ = self.inner.client.fetch_route(message.topic()).await;
                    }
                    last_broker = Some(queue.broker_name.clone());
                    last_error = Some(e);
                }
            }
        }
        Err(last_error
            .unwrap_or_else(|| Error::new(ErrorKind::TopicNotFound, "send", "no queue to send to")))
    }
}

/// Sync sends always produce a result (only oneway sends give `None`).
pub(super) fn answered(result: Option<SendResult>) -> Result<SendResult> {
    result.ok_or_else(|| Error::illegal_state("send", "no send result"))
}
