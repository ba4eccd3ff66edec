//! `PushConsumer`: the client pulls and calls a JavaScript listener for every message.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use napi_derive::napi;

use ferromq_client::{
    ConsumeFrom as CoreConsumeFrom, ConsumeResult, FilterExpression, MessageListener,
    MessageModel as CoreModel, MessageView, OrderlyListener, OrderlyResult,
    PushConsumer as CorePushConsumer, PushConsumerOptions as CoreOptions,
};

use crate::callback::{Callback, Ignored, Slot};
use crate::error::{illegal_state, invalid, Fallible};
use crate::message::{MessageQueue, ReceivedMessage};
use crate::options::client_config;

/// How a group's members share messages.
#[napi(string_enum = "lowercase")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageModel {
    /// Each message goes to one member of the group (the default).
    Clustering,
    /// Every member receives every message.
    Broadcasting,
}

/// Where a group without a committed offset starts on a queue.
#[napi(string_enum = "camelCase")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumeFrom {
    /// After the last stored message (the default).
    LastOffset,
    /// From the first stored message.
    FirstOffset,
    /// From the first message stored at or after `consumeTimestamp`.
    Timestamp,
}

/// What to receive from a topic: `{ tag: 'A || C' }` (`*` for everything, the default) or
/// `{ sql92: 'a > 5 AND b = \'x\'' }` (the broker needs `enablePropertyFilter=true`).
#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// A tag expression: `*` or `TagA || TagB`.
    pub tag: Option<String>,
    /// A SQL92 expression over message properties.
    pub sql92: Option<String>,
}

impl Filter {
    pub(crate) fn to_core(
        filter: Option<Filter>,
    ) -> Result<FilterExpression, ferromq_client::Error> {
        match filter.unwrap_or_default() {
            Filter {
                tag: Some(_),
                sql92: Some(_),
            } => Err(invalid("subscribe", "give either tag or sql92, not both")),
            Filter { sql92: Some(e), .. } => Ok(FilterExpression::sql92(e)),
            Filter { tag: Some(e), .. } => Ok(FilterExpression::tag(e)),
            Filter { .. } => Ok(FilterExpression::all()),
        }
    }
}

pub(crate) fn consume_from(
    from: Option<ConsumeFrom>,
    timestamp: Option<i64>,
) -> Result<CoreConsumeFrom, ferromq_client::Error> {
    Ok(match from {
        None | Some(ConsumeFrom::LastOffset) => CoreConsumeFrom::LastOffset,
        Some(ConsumeFrom::FirstOffset) => CoreConsumeFrom::FirstOffset,
        Some(ConsumeFrom::Timestamp) => {
            CoreConsumeFrom::Timestamp(timestamp.ok_or_else(|| {
                invalid("start", "consumeFrom 'timestamp' needs consumeTimestamp")
            })?)
        }
    })
}

/// Push consumer settings.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct PushConsumerOptions {
    /// Name servers, `host:port` separated by `;`.
    pub namesrv_addr: String,
    /// Consumer group.
    pub group: String,
    /// Instance name (`DEFAULT`). Two members of one group in one process need different
    /// instance names.
    pub instance_name: Option<String>,
    /// Timeout of ordinary requests, ms (3000).
    pub request_timeout_ms: Option<u32>,
    /// `clustering` (default) or `broadcasting`.
    pub message_model: Option<MessageModel>,
    /// Where to start without a committed offset (`lastOffset`).
    pub consume_from: Option<ConsumeFrom>,
    /// The time for `consumeFrom: 'timestamp'`, ms since the epoch.
    pub consume_timestamp: Option<i64>,
    /// Consume each queue in order, one message at a time, holding a broker lock on it
    /// (clustering only). A failing listener suspends the queue and retries the message.
    pub orderly: Option<bool>,
    /// Redeliveries before a message goes to `%DLQ%<group>` (16; unlimited for orderly).
    pub max_reconsume_times: Option<i32>,
    /// Listener calls running at once (20).
    pub consume_threads: Option<u32>,
    /// Messages per pull (32).
    pub pull_batch_size: Option<i32>,
    /// Rebalance period, ms (20000).
    pub rebalance_interval_ms: Option<u32>,
    /// Offset commit period, ms (5000).
    pub persist_interval_ms: Option<u32>,
    /// Directory of broadcasting offsets (`~/.rocketmq_offsets`).
    pub offset_store_dir: Option<String>,
}

impl PushConsumerOptions {
    fn to_core(&self) -> Result<CoreOptions, ferromq_client::Error> {
        let mut o = CoreOptions {
            client: client_config(
                &self.namesrv_addr,
                self.instance_name.as_deref(),
                self.request_timeout_ms,
            ),
            group: self.group.clone(),
            consume_from: consume_from(self.consume_from, self.consume_timestamp)?,
            ..CoreOptions::default()
        };
        if self.message_model == Some(MessageModel::Broadcasting) {
            o.message_model = CoreModel::Broadcasting;
        }
        if let Some(n) = self.max_reconsume_times {
            o.max_reconsume_times = n;
        }
        if let Some(n) = self.consume_threads {
            o.consume_threads = (n as usize).max(1);
        }
        if let Some(n) = self.pull_batch_size {
            o.pull_batch_size = n;
        }
        if let Some(ms) = self.rebalance_interval_ms {
            o.rebalance_interval = Duration::from_millis(u64::from(ms));
        }
        if let Some(ms) = self.persist_interval_ms {
            o.persist_interval = Duration::from_millis(u64::from(ms));
        }
        if let Some(dir) = &self.offset_store_dir {
            o.offset_store_dir = Some(dir.into());
        }
        Ok(o)
    }
}

type ListenerSlot = Slot<ReceivedMessage, Ignored>;

/// The core listener that calls the JavaScript one; a throw or a rejection fails the batch.
struct JsListener(Arc<ListenerSlot>);

impl JsListener {
    fn consume_all(&self, messages: &[MessageView]) -> bool {
        messages
            .iter()
            .all(|m| self.0.call_blocking(ReceivedMessage::from_core(m)).is_ok())
    }
}

impl MessageListener for JsListener {
    fn consume(&self, messages: &[MessageView]) -> ConsumeResult {
        if self.consume_all(messages) {
            ConsumeResult::Success
        } else {
            ConsumeResult::ReconsumeLater
        }
    }
}

impl OrderlyListener for JsListener {
    fn consume(&self, messages: &[MessageView]) -> OrderlyResult {
        if self.consume_all(messages) {
            OrderlyResult::Success
        } else {
            OrderlyResult::SuspendCurrentQueueAMoment
        }
    }
}

/// A push consumer: `subscribe(...)`, then `start(listener)`; `shutdown()` at the end (until
/// then the listener keeps the process alive).
///
/// The listener gets one message per call and may return a Promise; a listener that throws
/// or rejects asks for a redelivery (clustering: later, through `%RETRY%<group>`, with
/// `reconsumeTimes` + 1, and after `maxReconsumeTimes` to `%DLQ%<group>`; orderly: the queue
/// pauses and the message is offered again).
#[napi]
pub struct PushConsumer {
    options: PushConsumerOptions,
    subscriptions: Mutex<Vec<(String, FilterExpression)>>,
    inner: Mutex<Option<CorePushConsumer>>,
    listener: Mutex<Option<Arc<ListenerSlot>>>,
}

impl std::fmt::Debug for PushConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushConsumer")
            .field("group", &self.options.group)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[napi]
impl PushConsumer {
    /// A consumer with `options` (not started yet).
    #[napi(constructor)]
    pub fn new(options: PushConsumerOptions) -> Self {
        PushConsumer {
            options,
            subscriptions: Mutex::new(Vec::new()),
            inner: Mutex::new(None),
            listener: Mutex::new(None),
        }
    }

    /// Subscribes to `topic` with `filter` (all messages when omitted); before or after
    /// `start`.
    #[napi(ts_return_type = "Promise<void>")]
    pub async fn subscribe(&self, topic: String, filter: Option<Filter>) -> Fallible<()> {
        let r = async {
            let expression = Filter::to_core(filter)?;
            let started = lock(&self.inner).clone();
            match started {
                Some(c) => c.subscribe(&topic, expression).await,
                None => {
                    let mut subs = lock(&self.subscriptions);
                    subs.retain(|(t, _)| *t != topic);
                    subs.push((topic, expression));
                    Ok(())
                }
            }
        };
        Fallible(r.await)
    }

    /// Joins the group and starts consuming with `listener`.
    #[napi(
        ts_args_type = "listener: (message: ReceivedMessage) => void | Promise<void>",
        ts_return_type = "Promise<void>"
    )]
    pub async fn start(&self, listener: Callback<ReceivedMessage, Ignored>) -> Fallible<()> {
        let r = async {
            if lock(&self.inner).is_some() {
                return Err(illegal_state("start", "the consumer is already started"));
            }
            let options = self.options.to_core()?;
            let subs = lock(&self.subscriptions).clone();
            let slot = Arc::new(Slot::new(listener));
            let js = JsListener(slot.clone());
            let started = if self.options.orderly == Some(true) {
                CorePushConsumer::start_orderly(options, subs, js).await
            } else {
                CorePushConsumer::start(options, subs, js).await
            };
            match started {
                Ok(c) => {
                    *lock(&self.inner) = Some(c);
                    *lock(&self.listener) = Some(slot);
                    Ok(())
                }
                Err(e) => {
                    slot.release();
                    Err(e)
                }
            }
        };
        Fallible(r.await)
    }

    /// The queues currently assigned to this member.
    #[napi]
    pub fn assigned_queues(&self) -> Vec<MessageQueue> {
        lock(&self.inner)
            .as_ref()
            .map(|c| {
                c.assigned_queues()
                    .iter()
                    .map(MessageQueue::from_core)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Stops pulling, waits (up to 10 s) for listener calls in flight, commits offsets, leaves
    /// the group and releases the listener.
    #[napi]
    pub async fn shutdown(&self) {
        let c = lock(&self.inner).clone();
        if let Some(c) = c {
            c.shutdown().await;
        }
        if let Some(slot) = lock(&self.listener).take() {
            slot.release();
        }
    }
}
