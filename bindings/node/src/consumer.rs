//! `PushConsumer`: the client pulls and calls a JavaScript listener for every message.
//!
//! The listener contract, the option rules and the lifecycle are the core's
//! (`ferromq_client::consumer::per_message`, `ferromq_client::choices`,
//! `ferromq_client::lifecycle`); this file translates.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use napi::bindgen_prelude::Either;
use napi_derive::napi;

use ferromq_client::{
    Allocation, ConsumeFrom as CoreConsumeFrom, ConsumeFromKind, EachMessageAsync,
    FilterExpression, Lifecycle, MessageModel as CoreModel, PushConsumer as CorePushConsumer,
    PushConsumerOptions as CoreOptions, State,
};
use ferromq_common::lock;

use crate::error::Fallible;
use crate::listener::ListenerFn;
use crate::message::MessageQueue;
use crate::options::{client_config, Common, Credentials, TlsOptions};

/// How a group's members share messages (the canonical spellings; the core accepts any
/// case and `_`/`-` separators, e.g. `'BROADCASTING'`).
#[napi(string_enum = "lowercase")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageModel {
    /// Each message goes to one member of the group (the default).
    Clustering,
    /// Every member receives every message.
    Broadcasting,
}

/// Where a group without a committed offset starts on a queue (the canonical spellings; the
/// core also accepts `'FIRST_OFFSET'`, `'CONSUME_FROM_FIRST_OFFSET'` and the like).
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
/// `{ sql92: 'a > 5 AND b = \'x\'' }` (the broker needs `enablePropertyFilter=true`); not both.
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
        let f = filter.unwrap_or_default();
        FilterExpression::from_parts(f.tag, f.sql92)
    }
}

/// The core's consume-from position from the `consumeFrom` text and `consumeTimestamp`.
pub(crate) fn consume_from(
    from: Option<&str>,
    timestamp: Option<i64>,
) -> Result<CoreConsumeFrom, ferromq_client::Error> {
    let kind = from.map(str::parse::<ConsumeFromKind>).transpose()?;
    CoreConsumeFrom::new(kind, timestamp)
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
    /// ACL 1.0 credentials: every request is signed with them (brokers with `aclEnable=true`).
    /// Objects sharing an instance name share the first one's credentials and TLS settings.
    pub credentials: Option<Credentials>,
    /// TLS to the name servers and brokers: `true` (the system's trusted roots) or the
    /// settings; plaintext when absent or false.
    pub tls: Option<Either<bool, TlsOptions>>,
    /// Namespace (Apache's client namespace): topics and groups go on the wire as
    /// `namespace%name`, while messages, send results and queues show the bare names. Letters,
    /// digits, `_`, `-` and `|` only; none when absent.
    pub namespace: Option<String>,
    /// `clustering` (default) or `broadcasting`.
    #[napi(ts_type = "MessageModel | 'clustering' | 'broadcasting'")]
    pub message_model: Option<String>,
    /// Where to start without a committed offset (`lastOffset`).
    #[napi(ts_type = "ConsumeFrom | 'lastOffset' | 'firstOffset' | 'timestamp'")]
    pub consume_from: Option<String>,
    /// The time for `consumeFrom: 'timestamp'`, ms since the epoch.
    pub consume_timestamp: Option<i64>,
    /// Consume each queue in order, one message at a time, holding a broker lock on it
    /// (clustering only). A failing listener suspends the queue and retries the message.
    pub orderly: Option<bool>,
    /// Redeliveries before a message goes to `%DLQ%<group>` (16; unlimited for orderly).
    pub max_reconsume_times: Option<i32>,
    /// Listener calls running at once (20).
    pub consume_threads: Option<u32>,
    /// Messages of one queue handed to the consumer together (1; 0 is refused). The listener
    /// still gets one message per call, in order; the first that is not consumed stops the
    /// batch and the whole batch is redelivered.
    pub consume_batch_size: Option<u32>,
    /// How the group's members share queues: `averagely` (default), `averagelyByCircle` or
    /// `consistentHash` (the core also accepts Java's names, any case and `_`/`-` separators).
    #[napi(ts_type = "'averagely' | 'averagelyByCircle' | 'consistentHash'")]
    pub allocation: Option<String>,
    /// Messages per pull (32).
    pub pull_batch_size: Option<i32>,
    /// Rebalance period, ms (20000).
    pub rebalance_interval_ms: Option<u32>,
    /// Offset commit period, ms (5000).
    pub persist_interval_ms: Option<u32>,
    /// Directory of broadcasting offsets (`~/.rocketmq_offsets`).
    pub offset_store_dir: Option<String>,
    /// Record each delivery and the listener's answer in the trace topic (Java `enableMsgTrace`; false).
    pub enable_msg_trace: Option<bool>,
    /// The trace topic (Java `customizedTraceTopic`; `RMQ_SYS_TRACE_TOPIC`).
    pub trace_topic: Option<String>,
    /// A message whose listener call runs longer than this, ms, is redelivered (through
    /// `%RETRY%<group>`, `reconsumeTimes` + 1) and its queue moves on; the call is not
    /// interrupted and its answer no longer counts (Java `consumeTimeout`; 900000 = 15 min;
    /// 0 is refused). Checked every `consumeTimeoutMs`. Not for orderly consumers.
    pub consume_timeout_ms: Option<u32>,
    /// Orderly: the pause before a message the listener refused is offered again, ms (Java
    /// `suspendCurrentQueueTimeMillis`; 1000; 10 to 30000).
    pub suspend_current_queue_time_ms: Option<u32>,
    /// How long `shutdown()` waits for listener calls in flight, ms (Java
    /// `awaitTerminationMillisWhenShutdown`; 10000). A call still running then is abandoned:
    /// its answer is ignored and its message redelivered.
    pub await_termination_ms: Option<u32>,
    /// Pulling a queue pauses above this many cached messages (1000).
    pub pull_threshold_for_queue: Option<u32>,
    /// ... or above this many cached body bytes (100 MiB).
    pub pull_threshold_size_for_queue: Option<u32>,
    /// Replaces `pullThresholdForQueue`: this many cached messages shared evenly among the
    /// queues held, at least 1 each (Java `pullThresholdForTopic`; off when absent).
    pub pull_threshold_for_topic: Option<u32>,
    /// Replaces `pullThresholdSizeForQueue` the same way, in body bytes (Java
    /// `pullThresholdSizeForTopic`, which counts MiB; off when absent).
    pub pull_threshold_size_for_topic: Option<u32>,
}

impl PushConsumerOptions {
    fn to_core(&self) -> Result<CoreOptions, ferromq_client::Error> {
        let mut o = CoreOptions {
            client: client_config(Common {
                namesrv_addr: &self.namesrv_addr,
                instance_name: self.instance_name.as_deref(),
                request_timeout_ms: self.request_timeout_ms,
                credentials: self.credentials.as_ref(),
                tls: self.tls.as_ref(),
                namespace: self.namespace.as_deref(),
            })?,
            group: self.group.clone(),
            consume_from: consume_from(self.consume_from.as_deref(), self.consume_timestamp)?,
            ..CoreOptions::default()
        };
        if let Some(m) = &self.message_model {
            o.message_model = m.parse::<CoreModel>()?;
        }
        if let Some(n) = self.max_reconsume_times {
            o.max_reconsume_times = n;
        }
        if let Some(n) = self.consume_threads {
            o.consume_threads = n as usize;
        }
        if let Some(n) = self.consume_batch_size {
            o.consume_batch_size = n as usize;
        }
        if let Some(a) = &self.allocation {
            o.allocate = a.parse::<Allocation>()?.strategy();
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
        o.enable_msg_trace = self.enable_msg_trace.unwrap_or(false);
        o.trace_topic = self.trace_topic.clone();
        let ms = |ms: u32| Duration::from_millis(u64::from(ms));
        if let Some(t) = self.consume_timeout_ms {
            o.consume_timeout = ms(t);
        }
        if let Some(t) = self.suspend_current_queue_time_ms {
            o.suspend_current_queue_time = ms(t);
        }
        if let Some(t) = self.await_termination_ms {
            o.await_termination = ms(t);
        }
        if let Some(n) = self.pull_threshold_for_queue {
            o.pull_threshold_for_queue = n as usize;
        }
        if let Some(n) = self.pull_threshold_size_for_queue {
            o.pull_threshold_size_for_queue = n as usize;
        }
        o.pull_threshold_for_topic = self.pull_threshold_for_topic.map(|n| n as usize);
        o.pull_threshold_size_for_topic = self.pull_threshold_size_for_topic.map(|n| n as usize);
        o.validate()?;
        Ok(o)
    }
}

/// A push consumer: `subscribe(...)`, then `start(listener)`; `shutdown()` at the end (until
/// then the listener keeps the process alive). It starts once: a second `start`, or a `start`
/// after `shutdown`, rejects with `IllegalState` (create a new consumer).
///
/// The listener gets one message per call and may return a Promise. It returns (or resolves
/// to) `undefined`, `null`, `true` or `'success'` when the message is consumed, and `false` or
/// `'reconsumeLater'` to have it redelivered; a throw, a rejection or any other value also
/// asks for a redelivery (clustering: later, through `%RETRY%<group>`, with `reconsumeTimes`
/// + 1, and after `maxReconsumeTimes` to `%DLQ%<group>`; orderly: the queue pauses and the
/// message is offered again). This contract is the same in every FerroMQ binding.
///
/// Calls run on the JavaScript thread; messages that arrive while it is busy are handed over
/// together and the listener is called for each in turn (each still answered on its own).
#[napi]
pub struct PushConsumer {
    options: PushConsumerOptions,
    subscriptions: Mutex<Vec<(String, FilterExpression)>>,
    lifecycle: Lifecycle<CorePushConsumer>,
    listener: Mutex<Option<Arc<ListenerFn>>>,
}

impl std::fmt::Debug for PushConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushConsumer")
            .field("group", &self.options.group)
            .finish_non_exhaustive()
    }
}

#[napi]
impl PushConsumer {
    /// A consumer with `options` (not started yet).
    #[napi(constructor)]
    pub fn new(options: PushConsumerOptions) -> Self {
        PushConsumer {
            options,
            subscriptions: Mutex::new(Vec::new()),
            lifecycle: Lifecycle::new("push consumer"),
            listener: Mutex::new(None),
        }
    }

    /// Subscribes to `topic` with `filter` (all messages when omitted); before or after
    /// `start`.
    #[napi(ts_return_type = "Promise<void>")]
    pub async fn subscribe(&self, topic: String, filter: Option<Filter>) -> Fallible<()> {
        let r = async {
            let expression = Filter::to_core(filter)?;
            match self.lifecycle.state() {
                State::Created | State::Starting => {
                    let mut subs = lock(&self.subscriptions);
                    subs.retain(|(t, _)| *t != topic);
                    subs.push((topic, expression));
                    Ok(())
                }
                State::Started | State::ShutDown => {
                    let c = self.lifecycle.get("subscribe")?;
                    c.subscribe(&topic, expression).await
                }
            }
        };
        Fallible(r.await)
    }

    /// Joins the group and starts consuming with `listener`.
    #[napi(
        ts_args_type = "listener: (message: ReceivedMessage) => void | null | boolean | 'success' | 'reconsumeLater' | Promise<void | null | boolean | 'success' | 'reconsumeLater'>",
        ts_return_type = "Promise<void>"
    )]
    pub async fn start(&self, listener: ListenerFn) -> Fallible<()> {
        let listener = Arc::new(listener);
        let r = async {
            let options = self.options.to_core()?;
            let subs = lock(&self.subscriptions).clone();
            let js = EachMessageAsync::new(listener.listener());
            let orderly = self.options.orderly == Some(true);
            self.lifecycle
                .start(|| async move {
                    if orderly {
                        CorePushConsumer::start_orderly_async(options, subs, js).await
                    } else {
                        CorePushConsumer::start_async(options, subs, js).await
                    }
                })
                .await
        };
        match r.await {
            Ok(_) => {
                *lock(&self.listener) = Some(listener);
                Fallible(Ok(()))
            }
            Err(e) => {
                listener.release();
                Fallible(Err(e))
            }
        }
    }

    /// The queues currently assigned to this member.
    #[napi]
    pub fn assigned_queues(&self) -> Vec<MessageQueue> {
        self.lifecycle
            .current()
            .map(|c| {
                c.assigned_queues()
                    .iter()
                    .map(MessageQueue::from_core)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The consumer's client-side counters since it started (a snapshot): messages consumed
    /// and failed, a histogram of listener latency, rebalances, and each held queue with its
    /// lag. Throws `IllegalState` unless started.
    #[napi(ts_return_type = "ConsumerMetrics")]
    pub fn metrics(&self) -> Fallible<crate::metrics::ConsumerMetrics> {
        Fallible(
            self.lifecycle
                .get("metrics")
                .map(|c| crate::metrics::ConsumerMetrics::from_core(&c.metrics())),
        )
    }

    /// Stops pulling, waits (up to `awaitTerminationMs`, 10 s) for listener calls in flight, commits offsets, leaves
    /// the group and releases the listener. For good: a second call does nothing.
    #[napi]
    pub async fn shutdown(&self) {
        self.lifecycle.shutdown().await;
        if let Some(slot) = lock(&self.listener).take() {
            slot.release();
        }
    }
}
