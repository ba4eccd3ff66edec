//! Consumers: the [`PushConsumer`] with its listener traits and options, the lite
//! [`PullConsumer`], queue allocation strategies ([`allocate`]) and offset stores; the
//! per-message listener contract every binding uses ([`per_message`]) and the option rules
//! (`validate.rs`: [`FilterExpression::from_parts`], [`ConsumeFrom::new`],
//! [`PushConsumerOptions::validate`]).

pub mod allocate;
mod nodes;
mod offset_store;
mod orderly;
pub mod per_message;
mod process_queue;
mod pull;
mod push;
mod queues;
mod running;
mod stats;
mod validate;

pub use crate::choices::{Allocation, ConsumeFromKind, ExpressionType, MessageModel};
pub use per_message::{
    Answer, AsyncPerMessageListener, EachMessage, EachMessageAsync, PerMessageListener,
};
pub use pull::{PullConsumer, PullConsumerOptions};
pub use push::{PushConsumer, PushConsumerOptions};

use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;

use crate::message::MessageView;

/// What a concurrent listener did with a batch of messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConsumeResult {
    /// Consumed; the offset may move past them.
    Success,
    /// Failed; redeliver later through `%RETRY%<group>` (clustering) with growing delays, up
    /// to the maximum reconsume times, then to `%DLQ%<group>`.
    ReconsumeLater,
}

/// The user's concurrent message listener. Called on the consumer's consume threads (at most
/// [`PushConsumerOptions::consume_threads`] calls at once; the threads have the runtime's
/// context, as tokio's blocking threads do), with up to
/// [`PushConsumerOptions::consume_batch_size`] messages of one queue.
pub trait MessageListener: Send + Sync + 'static {
    /// Consumes `messages`.
    fn consume(&self, messages: &[MessageView]) -> ConsumeResult;
}

impl<F> MessageListener for F
where
    F: Fn(&[MessageView]) -> ConsumeResult + Send + Sync + 'static,
{
    fn consume(&self, messages: &[MessageView]) -> ConsumeResult {
        self(messages)
    }
}

/// A concurrent listener whose work is asynchronous: the consumer awaits the returned future
/// (at most [`PushConsumerOptions::consume_threads`] at once) instead of calling a blocking
/// function on a worker thread. For listeners that wait on I/O, and for hosts with one thread
/// (WebAssembly, where the listener is JavaScript returning a Promise). Start it with
/// [`PushConsumer::start_async`].
pub trait AsyncMessageListener: Send + Sync + 'static {
    /// Consumes `messages`.
    fn consume(&self, messages: Vec<MessageView>) -> BoxFuture<'static, ConsumeResult>;
}

impl<F, Fut> AsyncMessageListener for F
where
    F: Fn(Vec<MessageView>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ConsumeResult> + Send + 'static,
{
    fn consume(&self, messages: Vec<MessageView>) -> BoxFuture<'static, ConsumeResult> {
        Box::pin(self(messages))
    }
}

/// The orderly counterpart of [`AsyncMessageListener`]: one future at a time per queue, awaited
/// before the next batch of that queue. Start it with [`PushConsumer::start_orderly_async`].
pub trait AsyncOrderlyListener: Send + Sync + 'static {
    /// Consumes `messages` (consecutive, in offset order).
    fn consume(&self, messages: Vec<MessageView>) -> BoxFuture<'static, OrderlyResult>;
}

impl<F, Fut> AsyncOrderlyListener for F
where
    F: Fn(Vec<MessageView>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = OrderlyResult> + Send + 'static,
{
    fn consume(&self, messages: Vec<MessageView>) -> BoxFuture<'static, OrderlyResult> {
        Box::pin(self(messages))
    }
}

/// A blocking listener seen as an asynchronous one: each call runs on a blocking worker thread
/// ([`crate::rt::spawn_blocking`]); a panic counts as a failure. Orderly listeners (one call
/// at a time per queue) and concurrent ones on wasm32 go this way; concurrent ones natively
/// run on the consume threads (`push/pool.rs`).
pub(crate) struct OnBlockingThread<L: ?Sized>(pub(crate) Arc<L>);

impl<L: MessageListener + ?Sized> AsyncMessageListener for OnBlockingThread<L> {
    fn consume(&self, messages: Vec<MessageView>) -> BoxFuture<'static, ConsumeResult> {
        let listener = self.0.clone();
        Box::pin(async move {
            crate::rt::spawn_blocking(move || listener.consume(&messages))
                .await
                .unwrap_or(ConsumeResult::ReconsumeLater)
        })
    }
}

impl<L: OrderlyListener + ?Sized> AsyncOrderlyListener for OnBlockingThread<L> {
    fn consume(&self, messages: Vec<MessageView>) -> BoxFuture<'static, OrderlyResult> {
        let listener = self.0.clone();
        Box::pin(async move {
            crate::rt::spawn_blocking(move || listener.consume(&messages))
                .await
                .unwrap_or(OrderlyResult::SuspendCurrentQueueAMoment)
        })
    }
}

/// Awaits a listener's future; a panic in it (natively) yields `failed` instead of ending the
/// consumer's task with the messages left in flight.
pub(crate) async fn guarded<T>(future: BoxFuture<'static, T>, failed: T) -> T {
    #[cfg(not(target_arch = "wasm32"))]
    {
        futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(future))
            .await
            .unwrap_or_else(|_| {
                tracing::error!("a message listener panicked; the messages count as failed");
                failed
            })
    }
    #[cfg(target_arch = "wasm32")]
    {
        let _ = failed;
        future.await
    }
}

/// What an orderly listener did with a batch of messages of one queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderlyResult {
    /// Consumed; the queue moves on.
    Success,
    /// Failed; the same messages are offered again after a pause (the queue waits).
    SuspendCurrentQueueAMoment,
}

/// The user's orderly listener: messages of one queue, in order, one call at a time per queue
/// (on a blocking worker thread).
pub trait OrderlyListener: Send + Sync + 'static {
    /// Consumes `messages` (consecutive, in offset order).
    fn consume(&self, messages: &[MessageView]) -> OrderlyResult;
}

impl<F> OrderlyListener for F
where
    F: Fn(&[MessageView]) -> OrderlyResult + Send + Sync + 'static,
{
    fn consume(&self, messages: &[MessageView]) -> OrderlyResult {
        self(messages)
    }
}

/// What a consumer subscribes to in a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterExpression {
    /// A tag expression: `*` or `TagA || TagB`.
    Tag(String),
    /// A SQL92 expression over message properties (the broker needs `enablePropertyFilter`).
    Sql92(String),
}

impl FilterExpression {
    /// Every message of the topic.
    pub fn all() -> Self {
        FilterExpression::Tag("*".to_owned())
    }

    /// A tag expression.
    pub fn tag(expression: impl Into<String>) -> Self {
        FilterExpression::Tag(expression.into())
    }

    /// A SQL92 expression.
    pub fn sql92(expression: impl Into<String>) -> Self {
        FilterExpression::Sql92(expression.into())
    }
}

/// Where a group with no committed offset starts on a queue.
///
/// As with the Java client, the broker is asked for the group's offset first, and brokers
/// answer 0 (not "none") for a queue whose first message is still in memory (docs/protocol.md,
/// "Offset headers"): on a young topic a new group starts from the beginning whatever is chosen
/// here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConsumeFrom {
    /// After the last message (the default).
    #[default]
    LastOffset,
    /// From the first stored message.
    FirstOffset,
    /// From the first message stored at or after this time (ms since the epoch).
    Timestamp(i64),
}
