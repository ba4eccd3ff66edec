//! The push consumer (Java `DefaultMQPushConsumer`): rebalance every 20 s and on
//! NOTIFY_CONSUMER_IDS_CHANGED, one long-polling pull loop per assigned queue with flow control,
//! a pool of consume workers running the user's listener, retries through the broker
//! (CONSUMER_SEND_MSG_BACK, falling back to a direct send to `%RETRY%<group>`), and offsets
//! committed every 5 s and on shutdown (docs/protocol.md, "Rebalancing", "Push consumption and
//! retries" and "Long polling").

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use ferromq_protocol::body::{
    ConsumeFromWhere, ConsumeType, ConsumerData, ConsumerRunningInfo, MessageQueue,
    SubscriptionData,
};
use ferromq_protocol::header::client::ConsumerSendMsgBackRequestHeader;
use ferromq_protocol::header::pull::PullMessageResponseHeader;
use ferromq_protocol::message::{property, MessageExt};
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use futures::future::BoxFuture;
use tokio::sync::{Notify, Semaphore};

use super::allocate::{AllocateStrategy, Averagely};
use super::nodes::PullNodes;
use super::offset_store::OffsetStore;
use super::orderly::{self, OrderlyState};
use super::process_queue::ProcessQueue;
use super::queues::{self, PullRequest};
use super::stats::{StatsTable, TopicStats};
use super::{
    guarded, AsyncMessageListener, AsyncOrderlyListener, ConsumeFrom, ConsumeResult,
    FilterExpression, MessageListener, MessageModel, OnBlockingThread, OrderlyListener,
    OrderlyResult,
};
use crate::client::{now_ms, Client, ClientConfig, ConsumerHandle};
use crate::error::{Error, ErrorKind, Result};
use crate::message::{Message, MessageView};
use crate::metrics::{ConsumerMetrics, QueueLag};
use crate::namespace::Namespace;
use crate::producer::{Producer, ProducerOptions};
use crate::trace::{data::consume_code, Role, Tracer};
pub(super) use ferromq_common::lock;

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

/// Long-poll hold time asked of the broker, and the request timeout around it.
const SUSPEND_MILLIS: i64 = 15_000;
const PULL_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub(super) struct QueueState {
    pub(super) mq: MessageQueue,
    pub(super) pq: Mutex<ProcessQueue>,
    pub(super) dropped: AtomicBool,
    reset: Mutex<Option<i64>>,
    /// Orderly only: the broker lock and the pulled messages waiting, by offset.
    pub(super) orderly: OrderlyState,
    /// The statistics of the queue's topic.
    pub(super) stats: Arc<TopicStats>,
    /// The queue's end as the broker last reported it (-1 before the first answer).
    broker_max: AtomicI64,
}

impl QueueState {
    fn new(mq: MessageQueue, stats: Arc<TopicStats>) -> Self {
        QueueState {
            mq,
            pq: Mutex::new(ProcessQueue::started(now_ms())),
            dropped: AtomicBool::new(false),
            reset: Mutex::new(None),
            orderly: OrderlyState::default(),
            stats,
            broker_max: AtomicI64::new(-1),
        }
    }
}

/// The user's listener, concurrent or orderly.
#[derive(Clone)]
pub(super) enum Listener {
    Concurrent(Arc<dyn AsyncMessageListener>),
    Orderly(Arc<dyn AsyncOrderlyListener>),
}

pub(super) struct Inner {
    pub(super) client: Client,
    pub(super) options: PushConsumerOptions,
    pub(super) subs: Mutex<BTreeMap<String, SubscriptionData>>,
    pub(super) listener: Listener,
    pub(super) queues: Mutex<HashMap<MessageQueue, Arc<QueueState>>>,
    pub(super) offsets: OffsetStore,
    /// Which broker of its broker name each queue is pulled from next.
    nodes: PullNodes,
    pub(super) permits: Arc<Semaphore>,
    pub(super) rebalance: Notify,
    pub(super) stop: tokio::sync::watch::Sender<bool>,
    pub(super) retry_producer: Option<Producer>,
    closed: AtomicBool,
    pub(super) retry_topic: String,
    /// Pull and consume rates per topic (running info's `statusTable`).
    pub(super) stats: Arc<StatsTable>,
    /// When the consumer started, ms.
    pub(super) started_ms: i64,
    /// Rebalances that changed the assigned queues.
    rebalances: AtomicU64,
    /// The namespace: subscriptions, queues and the group are wrapped (`ns%name`); messages
    /// and queues handed to the application are not.
    pub(super) ns: Namespace,
    /// Set with [`PushConsumerOptions::enable_msg_trace`].
    pub(super) tracer: Option<Arc<Tracer>>,
}

impl Inner {
    fn group_view(&self) -> queues::GroupView<'_> {
        queues::GroupView {
            client: &self.client,
            group: &self.options.group,
            model: self.options.message_model,
            allocate: self.options.allocate.as_ref(),
            offsets: &self.offsets,
            consume_from: self.options.consume_from,
        }
    }

    pub(super) fn is_orderly(&self) -> bool {
        matches!(self.listener, Listener::Orderly(_))
    }
}

/// A started push consumer; cheap to clone.
#[derive(Clone)]
pub struct PushConsumer {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for PushConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushConsumer")
            .field("group", &self.inner.options.group)
            .field("client", &self.inner.client.id())
            .finish()
    }
}

fn subscription(topic: &str, expression: &FilterExpression) -> Result<SubscriptionData> {
    let version = now_ms();
    match expression {
        FilterExpression::Tag(e) => Ok(SubscriptionData::tag(topic, e, version)),
        FilterExpression::Sql92(e) => {
            ferromq_protocol::filter::Selector::parse(e).map_err(|err| {
                Error::invalid("subscribe", format!("bad SQL92 expression {e:?}: {err}"))
            })?;
            Ok(SubscriptionData::sql92(topic, e.clone(), version))
        }
    }
}

/// Waits `d` or until `stop` fires; returns false when stopped.
pub(super) async fn pause(stop: &mut tokio::sync::watch::Receiver<bool>, d: Duration) -> bool {
    if *stop.borrow() {
        return false;
    }
    tokio::select! {
        _ = crate::rt::sleep(d) => !*stop.borrow(),
        _ = stop.changed() => false,
    }
}

impl PushConsumer {
    /// Starts a consumer of `options.group` with `subscriptions` and `listener`: it joins the
    /// group, rebalances at once and starts pulling. Must be called inside a tokio runtime.
    pub async fn start<L: MessageListener>(
        options: PushConsumerOptions,
        subscriptions: impl IntoIterator<Item = (String, FilterExpression)>,
        listener: L,
    ) -> Result<PushConsumer> {
        Self::start_async(options, subscriptions, OnBlockingThread(Arc::new(listener))).await
    }

    /// [`start`](Self::start) with an asynchronous listener: its futures are awaited on the
    /// consumer's tasks, at most `consume_threads` at once.
    pub async fn start_async<L: AsyncMessageListener>(
        options: PushConsumerOptions,
        subscriptions: impl IntoIterator<Item = (String, FilterExpression)>,
        listener: L,
    ) -> Result<PushConsumer> {
        Self::start_with(
            options,
            subscriptions,
            Listener::Concurrent(Arc::new(listener)),
        )
        .await
    }

    /// Starts an orderly consumer: each queue is locked on the broker (LOCK_BATCH_MQ, renewed
    /// every 20 s) and consumed by one listener call at a time, in offset order; a failed
    /// batch is retried after a pause, and after `max_reconsume_times` (default unlimited for
    /// orderly) goes to the DLQ. Clustering only.
    pub async fn start_orderly<L: OrderlyListener>(
        options: PushConsumerOptions,
        subscriptions: impl IntoIterator<Item = (String, FilterExpression)>,
        listener: L,
    ) -> Result<PushConsumer> {
        Self::start_orderly_async(options, subscriptions, OnBlockingThread(Arc::new(listener)))
            .await
    }

    /// [`start_orderly`](Self::start_orderly) with an asynchronous listener: one future at a
    /// time per queue, awaited before the queue's next batch.
    pub async fn start_orderly_async<L: AsyncOrderlyListener>(
        options: PushConsumerOptions,
        subscriptions: impl IntoIterator<Item = (String, FilterExpression)>,
        listener: L,
    ) -> Result<PushConsumer> {
        if options.message_model == MessageModel::Broadcasting {
            return Err(Error::invalid(
                "start",
                "orderly consumption needs clustering",
            ));
        }
        Self::start_with(
            options,
            subscriptions,
            Listener::Orderly(Arc::new(listener)),
        )
        .await
    }

    async fn start_with(
        mut options: PushConsumerOptions,
        subscriptions: impl IntoIterator<Item = (String, FilterExpression)>,
        listener: Listener,
    ) -> Result<PushConsumer> {
        options.validate()?;
        // As Java's consumer: the group, its retry topic and the subscribed topics join the
        // namespace (`ns%group`, `%RETRY%ns%group`, `ns%topic`).
        let ns = Namespace::new(options.client.namespace.as_deref())?;
        options.group = ns.wrap(&options.group);
        let mut subs = BTreeMap::new();
        for (topic, expr) in subscriptions {
            let topic = ns.wrap(&topic);
            subs.insert(topic.clone(), subscription(&topic, &expr)?);
        }
        if subs.is_empty() {
            return Err(Error::invalid("start", "no subscription"));
        }
        let retry_topic = ferromq_protocol::names::retry_topic(&options.group);
        let clustering = options.message_model == MessageModel::Clustering;
        if clustering {
            subs.insert(
                retry_topic.clone(),
                SubscriptionData::tag(&retry_topic, "*", now_ms()),
            );
        }
        let tracer = if options.enable_msg_trace {
            Some(
                Tracer::start(
                    &options.client,
                    &options.group,
                    Role::Consume,
                    options.trace_topic.as_deref(),
                )
                .await?,
            )
        } else {
            None
        };
        let stop_tracer = |tracer: Option<Arc<Tracer>>| async move {
            if let Some(t) = tracer {
                t.shutdown().await;
            }
        };
        let client = match Client::shared(&options.client) {
            Ok(c) => c,
            Err(e) => {
                stop_tracer(tracer).await;
                return Err(e);
            }
        };
        let offsets = if clustering {
            OffsetStore::broker(&options.group)
        } else {
            let dir = options.offset_store_dir.clone().unwrap_or_else(|| {
                std::env::var_os("HOME")
                    .map(PathBuf::from)
                    .unwrap_or_default()
                    .join(".rocketmq_offsets")
            });
            let path = dir
                .join(client.id())
                .join(&options.group)
                .join("offsets.json");
            match OffsetStore::file(&options.group, path) {
                Ok(s) => s,
                Err(e) => {
                    client.release();
                    stop_tracer(tracer).await;
                    return Err(e);
                }
            }
        };
        let retry_producer = if clustering {
            let producer_options = ProducerOptions {
                // The retry topic is wrapped already.
                client: ClientConfig {
                    namespace: None,
                    ..options.client.clone()
                },
                group: format!("CLIENT_INNER_PRODUCER_{}", options.group),
                ..ProducerOptions::default()
            };
            match Producer::start(producer_options).await {
                Ok(p) => Some(p),
                Err(e) => {
                    client.release();
                    stop_tracer(tracer).await;
                    return Err(e);
                }
            }
        } else {
            None
        };
        let (stop, _) = tokio::sync::watch::channel(false);
        let inner = Arc::new(Inner {
            permits: Arc::new(Semaphore::new(options.consume_threads.max(1))),
            client: client.clone(),
            subs: Mutex::new(subs),
            listener,
            queues: Mutex::new(HashMap::new()),
            offsets,
            nodes: PullNodes::default(),
            rebalance: Notify::new(),
            stop,
            retry_producer,
            closed: AtomicBool::new(false),
            retry_topic,
            stats: Arc::new(StatsTable::default()),
            started_ms: now_ms(),
            rebalances: AtomicU64::new(0),
            tracer,
            options,
            ns,
        });
        let handle = Arc::new(Handle {
            inner: Arc::downgrade(&inner),
        });
        if let Err(e) = client.register_consumer(&inner.options.group, handle) {
            if let Some(p) = &inner.retry_producer {
                p.shutdown().await;
            }
            stop_tracer(inner.tracer.clone()).await;
            client.release();
            return Err(e);
        }
        let topics: Vec<String> = lock(&inner.subs).keys().cloned().collect();
        for topic in &topics {
            if let Err(e) = client.fetch_route(topic).await {
                tracing::warn!(%topic, error = %e, "no route yet for a subscribed topic");
            }
        }
        client.heartbeat().await;
        let consumer = PushConsumer { inner };
        consumer.spawn_timers();
        Ok(consumer)
    }

    fn spawn_timers(&self) {
        let inner = self.inner.clone();
        let mut stop = inner.stop.subscribe();
        crate::rt::spawn(async move {
            // Unfinished rounds (a topic without a route yet, a queue still locked by its
            // previous owner) are retried after 1 s, 2 s, 4 s, ... up to the interval.
            let mut backoff = Duration::from_secs(1);
            loop {
                let wait = if rebalance(&inner).await {
                    let wait = backoff.min(inner.options.rebalance_interval);
                    backoff = backoff.saturating_mul(2);
                    wait
                } else {
                    backoff = Duration::from_secs(1);
                    inner.options.rebalance_interval
                };
                tokio::select! {
                    _ = crate::rt::sleep(wait) => {}
                    _ = inner.rebalance.notified() => {}
                    _ = stop.changed() => break,
                }
            }
        });
        if self.inner.is_orderly() {
            crate::rt::spawn(orderly::renew_locks(self.inner.clone()));
        }
        crate::rt::spawn(super::stats::sampler(
            self.inner.stats.clone(),
            self.inner.stop.subscribe(),
        ));
        let inner = self.inner.clone();
        let mut stop = inner.stop.subscribe();
        crate::rt::spawn(async move {
            while pause(&mut stop, inner.options.persist_interval).await {
                let queues: Vec<MessageQueue> = lock(&inner.queues).keys().cloned().collect();
                if let Err(e) = inner.offsets.persist(&inner.client, &queues).await {
                    tracing::debug!(error = %e, "offset commit failed");
                }
            }
        });
    }

    /// Adds (or replaces) a subscription and rebalances.
    pub async fn subscribe(&self, topic: &str, expression: FilterExpression) -> Result<()> {
        let topic = &self.inner.ns.wrap(topic);
        let sub = subscription(topic, &expression)?;
        lock(&self.inner.subs).insert(topic.to_owned(), sub);
        let _ = self.inner.client.fetch_route(topic).await;
        self.inner.client.heartbeat().await;
        self.inner.rebalance.notify_one();
        Ok(())
    }

    /// What this consumer counted since it started, and the lag of each queue it holds
    /// ([`ConsumerMetrics`]).
    pub fn metrics(&self) -> ConsumerMetrics {
        let inner = &self.inner;
        let (consumed, consume_failures, consume_latency) = inner.stats.totals();
        let held: Vec<Arc<QueueState>> = lock(&inner.queues).values().cloned().collect();
        let mut queues: Vec<QueueLag> = held
            .iter()
            .map(|qs| {
                QueueLag::new(
                    inner.ns.unwrap_queue(&qs.mq),
                    inner.offsets.get(&qs.mq).unwrap_or(-1),
                    qs.broker_max.load(Ordering::Relaxed),
                )
            })
            .collect();
        queues.sort_by(|a, b| a.queue.cmp(&b.queue));
        ConsumerMetrics {
            consumed,
            consume_failures,
            consume_latency,
            rebalances: inner.rebalances.load(Ordering::Relaxed),
            queues,
        }
    }

    /// The queues currently assigned to this member.
    pub fn assigned_queues(&self) -> Vec<MessageQueue> {
        let ns = &self.inner.ns;
        let mut q: Vec<_> = lock(&self.inner.queues)
            .keys()
            .map(|mq| ns.unwrap_queue(mq))
            .collect();
        q.sort();
        q
    }

    /// Messages pulled but not yet consumed, over all assigned queues (what flow control
    /// bounds).
    pub fn cached_messages(&self) -> usize {
        lock(&self.inner.queues)
            .values()
            .map(|q| lock(&q.pq).count())
            .sum()
    }

    /// Trace records dropped so far (queue full or trace send failed); 0 without
    /// [`PushConsumerOptions::enable_msg_trace`].
    pub fn traces_dropped(&self) -> u64 {
        self.inner.tracer.as_ref().map_or(0, |t| t.dropped())
    }

    /// The client this consumer uses.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// Stops pulling, waits (up to 10 s) for listener calls in flight, commits the offsets and
    /// leaves the group.
    pub async fn shutdown(&self) {
        let inner = &self.inner;
        if inner.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let _ = inner.stop.send(true);
        let all = u32::try_from(inner.options.consume_threads.max(1)).unwrap_or(u32::MAX);
        let drained =
            crate::rt::timeout(Duration::from_secs(10), inner.permits.acquire_many(all)).await;
        inner.permits.close();
        drop(drained);
        let queues: Vec<MessageQueue> = lock(&inner.queues).keys().cloned().collect();
        if let Err(e) = inner.offsets.persist(&inner.client, &queues).await {
            tracing::warn!(error = %e, "final offset commit failed");
        }
        for qs in lock(&inner.queues).values() {
            qs.dropped.store(true, Ordering::Release);
        }
        if inner.is_orderly() {
            orderly::unlock(inner, &queues).await;
        }
        if let Some(p) = &inner.retry_producer {
            p.shutdown().await;
        }
        if let Some(t) = &inner.tracer {
            t.shutdown().await;
        }
        inner
            .client
            .unregister(None, Some(&inner.options.group))
            .await;
    }
}

/// The consumer as the client sees it (weak, so the client does not keep it alive).
struct Handle {
    inner: Weak<Inner>,
}

impl ConsumerHandle for Handle {
    fn consumer_data(&self) -> ConsumerData {
        let Some(inner) = self.inner.upgrade() else {
            return ConsumerData::default();
        };
        let subscription_data_set = lock(&inner.subs).values().cloned().collect();
        ConsumerData {
            consume_from_where: match inner.options.consume_from {
                ConsumeFrom::LastOffset => ConsumeFromWhere::ConsumeFromLastOffset,
                ConsumeFrom::FirstOffset => ConsumeFromWhere::ConsumeFromFirstOffset,
                ConsumeFrom::Timestamp(_) => ConsumeFromWhere::ConsumeFromTimestamp,
            },
            consume_type: ConsumeType::ConsumePassively,
            group_name: inner.options.group.clone(),
            message_model: inner.options.message_model.wire(),
            subscription_data_set,
            unit_mode: false,
        }
    }

    fn trigger_rebalance(&self) {
        if let Some(inner) = self.inner.upgrade() {
            inner.rebalance.notify_one();
        }
    }

    fn queue_offsets(&self, topic: &str) -> BTreeMap<MessageQueue, i64> {
        self.inner
            .upgrade()
            .map(|inner| inner.offsets.of_topic(topic))
            .unwrap_or_default()
    }

    fn reset_offsets(&self, offsets: BTreeMap<MessageQueue, i64>) {
        let Some(inner) = self.inner.upgrade() else {
            return;
        };
        let queues = lock(&inner.queues);
        for (mq, offset) in offsets {
            inner.offsets.update(&mq, offset, false);
            if let Some(qs) = queues.get(&mq) {
                *lock(&qs.reset) = Some(offset);
            }
        }
    }

    fn running_info(&self, jstack: bool) -> ConsumerRunningInfo {
        self.inner
            .upgrade()
            .map(|inner| super::running::push_info(&inner, jstack))
            .unwrap_or_default()
    }

    fn consume_directly(
        &self,
        message: MessageExt,
        broker_name: String,
    ) -> BoxFuture<'static, Option<bool>> {
        let inner = self.inner.upgrade();
        Box::pin(async move {
            let inner = inner?;
            let view = MessageView::new(message, &broker_name, Some(&inner.retry_topic));
            let view = inner.ns.unwrap_view(view);
            match inner.listener.clone() {
                Listener::Concurrent(l) => {
                    let r = guarded(l.consume(vec![view]), ConsumeResult::ReconsumeLater).await;
                    Some(r == ConsumeResult::Success)
                }
                Listener::Orderly(l) => {
                    let failed = OrderlyResult::SuspendCurrentQueueAMoment;
                    let r = guarded(l.consume(vec![view]), failed).await;
                    Some(r == OrderlyResult::Success)
                }
            }
        })
    }
}

/// One rebalance round over every subscribed topic. Returns true when the round is unfinished
/// (a topic has no route or no known member yet, or an orderly queue is still locked by its
/// previous owner): the caller retries soon.
async fn rebalance(inner: &Arc<Inner>) -> bool {
    let mut retry_soon = false;
    let topics: Vec<String> = lock(&inner.subs).keys().cloned().collect();
    let mut wanted: HashSet<MessageQueue> = HashSet::new();
    let mut kept_topics: HashSet<String> = HashSet::new();
    for topic in topics {
        match queues::allocate(&inner.group_view(), &topic).await {
            Ok(mine) => wanted.extend(mine),
            Err(e) => {
                tracing::debug!(%topic, error = %e, "rebalance skipped a topic");
                kept_topics.insert(topic);
                retry_soon = true;
            }
        }
    }
    let (removed, current): (Vec<Arc<QueueState>>, HashSet<MessageQueue>) = {
        let mut queues = lock(&inner.queues);
        let removed_keys: Vec<MessageQueue> = queues
            .keys()
            .filter(|mq| !wanted.contains(*mq) && !kept_topics.contains(&mq.topic))
            .cloned()
            .collect();
        let removed = removed_keys
            .iter()
            .filter_map(|k| queues.remove(k))
            .collect();
        (removed, queues.keys().cloned().collect())
    };
    let mut changed = !removed.is_empty();
    for qs in removed {
        qs.dropped.store(true, Ordering::Release);
        // Orderly: let a listener call in flight finish before committing and unlocking.
        let guard = if inner.is_orderly() {
            crate::rt::timeout(Duration::from_secs(20), qs.orderly.consume_lock.lock())
                .await
                .ok()
        } else {
            None
        };
        let mq = [qs.mq.clone()];
        if let Err(e) = inner.offsets.persist(&inner.client, &mq).await {
            tracing::debug!(error = %e, "commit of a released queue failed");
        }
        inner.offsets.remove(&qs.mq);
        inner.nodes.forget(&qs.mq);
        if inner.is_orderly() {
            orderly::unlock(inner, &mq).await;
        }
        drop(guard);
    }
    for mq in wanted.into_iter().filter(|mq| !current.contains(mq)) {
        if inner.is_orderly() && !orderly::lock_one(inner, &mq).await {
            retry_soon = true;
            continue;
        }
        let offset = match queues::initial_offset(&inner.group_view(), &mq).await {
            Ok(o) => o,
            Err(e) => {
                tracing::debug!(queue = ?mq, error = %e, "no start offset yet");
                continue;
            }
        };
        inner.offsets.update(&mq, offset, false);
        let qs = Arc::new(QueueState::new(mq.clone(), inner.stats.topic(&mq.topic)));
        if inner.is_orderly() {
            qs.orderly.mark_locked();
        }
        if inner.closed.load(Ordering::Acquire) {
            return false;
        }
        lock(&inner.queues).insert(mq, qs.clone());
        crate::rt::spawn(pull_loop(inner.clone(), qs, offset));
        changed = true;
    }
    if changed {
        inner.rebalances.fetch_add(1, Ordering::Relaxed);
    }
    retry_soon
}

/// Pulls one queue until it is dropped or the consumer stops.
async fn pull_loop(inner: Arc<Inner>, qs: Arc<QueueState>, mut next: i64) {
    let mut stop = inner.stop.subscribe();
    let mq = qs.mq.clone();
    let clustering = inner.options.message_model == MessageModel::Clustering;
    loop {
        if qs.dropped.load(Ordering::Acquire) || *stop.borrow() {
            break;
        }
        if let Some(offset) = lock(&qs.reset).take() {
            lock(&qs.pq).clear();
            next = offset;
        }
        let (count, bytes, span) = {
            let mut pq = lock(&qs.pq);
            pq.mark_pulled(now_ms());
            (pq.count(), pq.bytes(), pq.span())
        };
        if count > inner.options.pull_threshold_for_queue
            || bytes > inner.options.pull_threshold_size_for_queue
            || (!inner.is_orderly() && span > inner.options.consume_concurrently_max_span)
        {
            if !pause(&mut stop, Duration::from_millis(50)).await {
                break;
            }
            continue;
        }
        if inner.is_orderly() && !qs.orderly.is_locked() {
            if !pause(&mut stop, Duration::from_millis(500)).await {
                break;
            }
            continue;
        }
        let Some(sub) = lock(&inner.subs).get(&mq.topic).cloned() else {
            break;
        };
        let commit = inner.offsets.get(&mq).filter(|o| clustering && *o > 0);
        let pull = PullRequest {
            group: &inner.options.group,
            mq: &mq,
            sub: &sub,
            offset: next,
            batch: inner.options.pull_batch_size,
            commit,
            suspend_millis: SUSPEND_MILLIS,
            timeout: PULL_TIMEOUT,
            nodes: &inner.nodes,
        };
        let began = crate::rt::Instant::now();
        let pulled = pull.send(&inner.client);
        let response = tokio::select! {
            r = pulled => r,
            _ = stop.changed() => break,
        };
        let pull_rt = began.elapsed();
        let response = match response {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(queue = ?mq, error = %e, "pull failed");
                if !pause(&mut stop, inner.options.pull_retry_delay).await {
                    break;
                }
                continue;
            }
        };
        let code = response.response_code();
        let found = code == ResponseCode::SUCCESS;
        if !matches!(
            code,
            ResponseCode::SUCCESS
                | ResponseCode::PULL_NOT_FOUND
                | ResponseCode::PULL_RETRY_IMMEDIATELY
                | ResponseCode::PULL_OFFSET_MOVED
        ) {
            let delay = if code == ResponseCode::FLOW_CONTROL {
                Duration::from_millis(20)
            } else {
                inner.options.pull_retry_delay
            };
            tracing::debug!(queue = ?mq, %code, remark = ?response.remark, "pull refused");
            if !pause(&mut stop, delay).await {
                break;
            }
            continue;
        }
        let header: PullMessageResponseHeader = match response.header() {
            Ok(h) => h,
            Err(e) => {
                tracing::debug!(error = %e, "bad pull answer");
                if !pause(&mut stop, inner.options.pull_retry_delay).await {
                    break;
                }
                continue;
            }
        };
        qs.broker_max.store(header.max_offset, Ordering::Relaxed);
        if code == ResponseCode::PULL_OFFSET_MOVED {
            tracing::info!(queue = ?mq, from = next, to = header.next_begin_offset, "offset moved");
            next = header.next_begin_offset;
            inner.offsets.update(&mq, next, false);
            continue;
        }
        if found {
            let messages = match Client::decode_messages(&response.body) {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(queue = ?mq, error = %e, "undecodable pull body");
                    Vec::new()
                }
            };
            let filter_tags = sub.expression_type.is_tag() && !sub.is_sub_all();
            let views: Vec<MessageView> = messages
                .into_iter()
                .filter(|m| {
                    !filter_tags
                        || m.tags()
                            .is_some_and(|t| sub.tags_set.iter().any(|s| s == t))
                })
                .map(|m| {
                    let view = MessageView::new(m, &mq.broker_name, Some(&inner.retry_topic));
                    inner.ns.unwrap_view(view)
                })
                .collect();
            qs.stats.pulled(pull_rt, views.len());
            if views.is_empty() {
                // Everything filtered out: the offset may move past them.
                let pq = lock(&qs.pq);
                if pq.count() == 0 {
                    inner.offsets.update(&mq, header.next_begin_offset, true);
                }
                drop(pq);
            } else if inner.is_orderly() {
                lock(&qs.pq).put(views.iter().map(|v| (v.queue_offset(), v.body().len())));
                qs.orderly.put(views);
                orderly::kick(&inner, &qs);
            } else {
                lock(&qs.pq).put(views.iter().map(|v| (v.queue_offset(), v.body().len())));
                for chunk in views.chunks(inner.options.consume_batch_size.max(1)) {
                    crate::rt::spawn(consume(inner.clone(), qs.clone(), chunk.to_vec()));
                }
            }
        }
        next = header.next_begin_offset;
    }
}

/// Runs the listener on one batch and settles its offsets.
fn consume(
    inner: Arc<Inner>,
    qs: Arc<QueueState>,
    messages: Vec<MessageView>,
) -> BoxFuture<'static, ()> {
    Box::pin(consume_batch(inner, qs, messages))
}

async fn consume_batch(inner: Arc<Inner>, qs: Arc<QueueState>, messages: Vec<MessageView>) {
    let Ok(permit) = inner.permits.clone().acquire_owned().await else {
        return;
    };
    if qs.dropped.load(Ordering::Acquire) {
        return;
    }
    let Listener::Concurrent(listener) = inner.listener.clone() else {
        return;
    };
    let began = crate::rt::Instant::now();
    let trace = inner
        .tracer
        .as_ref()
        .and_then(|t| t.before_consume(&messages));
    let result = guarded(
        listener.consume(messages.clone()),
        ConsumeResult::ReconsumeLater,
    )
    .await;
    drop(permit);
    if let (Some(t), Some(trace)) = (&inner.tracer, trace) {
        let ok = result == ConsumeResult::Success;
        let code = if ok {
            consume_code::SUCCESS
        } else {
            consume_code::FAILED
        };
        t.after_consume(trace, ok, code);
    }
    qs.stats.consume_time(began.elapsed());
    if result == ConsumeResult::Success {
        qs.stats.consumed(messages.len(), 0);
    } else {
        qs.stats.consumed(0, messages.len());
    }
    let mut done: Vec<i64> = messages.iter().map(MessageView::queue_offset).collect();
    if result == ConsumeResult::ReconsumeLater {
        if inner.options.message_model == MessageModel::Broadcasting {
            tracing::warn!(
                count = messages.len(),
                "broadcast consumption failed; messages dropped"
            );
        } else {
            let mut later = Vec::new();
            for m in &messages {
                if !send_back(&inner, m).await {
                    later.push(m.clone());
                }
            }
            if !later.is_empty() {
                done.retain(|o| !later.iter().any(|m| m.queue_offset() == *o));
                let (inner, qs) = (inner.clone(), qs.clone());
                crate::rt::spawn(async move {
                    let mut stop = inner.stop.subscribe();
                    if pause(&mut stop, Duration::from_secs(5)).await {
                        consume(inner, qs, later).await;
                    }
                });
            }
        }
    }
    if qs.dropped.load(Ordering::Acquire) {
        return;
    }
    let offset = {
        let mut pq = lock(&qs.pq);
        pq.mark_consumed(now_ms());
        pq.remove(done)
    };
    if let Some(offset) = offset {
        inner.offsets.update(&qs.mq, offset, true);
    }
}

pub(super) fn max_reconsume_times(inner: &Inner) -> i32 {
    if inner.options.max_reconsume_times < 0 {
        16
    } else {
        inner.options.max_reconsume_times
    }
}

/// Returns a failed message to the broker for redelivery; falls back to sending it to
/// `%RETRY%<group>` directly. False if both failed.
pub(super) async fn send_back(inner: &Arc<Inner>, m: &MessageView) -> bool {
    let ext = m.ext();
    let max = max_reconsume_times(inner);
    let header = ConsumerSendMsgBackRequestHeader {
        offset: ext.commit_log_offset,
        group: inner.options.group.clone(),
        delay_level: 0,
        origin_msg_id: Some(m.msg_id()),
        origin_topic: Some(inner.ns.wrap(m.topic())),
        unit_mode: Some(false),
        max_reconsume_times: Some(max),
        broker_name: Some(m.queue().broker_name.clone()),
    };
    let request =
        RemotingCommand::request_with_header(RequestCode::CONSUMER_SEND_MSG_BACK, &header);
    let sent = match inner.client.master_addr(&m.queue().broker_name) {
        Some(addr) => {
            inner
                .client
                .broker_request(&addr, request, Duration::from_secs(5))
                .await
        }
        None => Err(Error::new(
            ErrorKind::TopicNotFound,
            "send back",
            "broker unknown",
        )),
    };
    match sent {
        Ok(r) if r.response_code() == ResponseCode::SUCCESS => return true,
        Ok(r) => {
            tracing::debug!(code = %r.response_code(), "send-back refused; sending to the retry topic")
        }
        Err(e) => tracing::debug!(error = %e, "send-back failed; sending to the retry topic"),
    }
    resend(
        inner,
        m,
        ext.reconsume_times + 1,
        Some(3 + ext.reconsume_times),
    )
    .await
}

/// Sends a copy of `m` to `%RETRY%<group>` through the consumer's internal producer, as Java's
/// client does when the broker's send-back fails (and for orderly messages out of retries):
/// `RETRY_TOPIC`, `ORIGIN_MESSAGE_ID`, `RECONSUME_TIME`, `MAX_RECONSUME_TIMES`, an optional
/// delay level, the transaction flag cleared.
pub(super) async fn resend(
    inner: &Arc<Inner>,
    m: &MessageView,
    reconsume_time: i32,
    delay: Option<i32>,
) -> bool {
    let Some(producer) = &inner.retry_producer else {
        return false;
    };
    let ext = m.ext();
    let max = if inner.is_orderly() && inner.options.max_reconsume_times < 0 {
        i32::MAX
    } else {
        max_reconsume_times(inner)
    };
    let mut retry = Message::new(inner.retry_topic.clone(), m.body().clone()).with_flag(ext.flag);
    for (k, v) in ext.properties.clone().into_map() {
        retry = retry.with_property(k, v);
    }
    let origin = m
        .property(property::ORIGIN_MESSAGE_ID)
        .map(str::to_owned)
        .unwrap_or_else(|| m.msg_id());
    retry = retry
        .with_property(property::ORIGIN_MESSAGE_ID, origin)
        .with_property(property::RETRY_TOPIC, inner.ns.wrap(m.topic()))
        .with_property(property::RECONSUME_TIME, reconsume_time.to_string())
        .with_property(property::MAX_RECONSUME_TIMES, max.to_string());
    if let Some(level) = delay {
        retry = retry.with_delay_level(level);
    }
    retry
        .properties_mut()
        .remove(property::TRANSACTION_PREPARED);
    match producer.send(retry).await {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(error = %e, "could not return a failed message; consuming it again later");
            false
        }
    }
}
