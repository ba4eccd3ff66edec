//! The lite pull consumer (Java `DefaultLitePullConsumer`): the application polls. Queues come
//! from a subscription (rebalanced among the group like a push consumer) or are assigned by
//! hand; background tasks long-poll each queue into a buffer; `poll` hands out batches, `seek`
//! moves a queue, `commit` stores the consumed offsets on the broker, and `pause` / `resume`
//! stop and restart fetching of queues. `next_message` and `messages` hand polled messages out
//! one at a time (`buffer.rs`).

mod buffer;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use ferromq_protocol::body::running::{
    PROP_CONSUMER_START_TIMESTAMP, PROP_CONSUME_ORDERLY, PROP_CONSUME_TYPE,
};
use ferromq_protocol::body::{
    ConsumeFromWhere, ConsumeType, ConsumerData, ConsumerRunningInfo, MessageQueue,
    SubscriptionData,
};
use ferromq_protocol::header::pull::PullMessageResponseHeader;
use ferromq_protocol::message::MessageExt;
use ferromq_protocol::ResponseCode;
use futures::future::BoxFuture;
use tokio::sync::{mpsc, Notify};

use super::allocate::{AllocateStrategy, Averagely};
use super::nodes::PullNodes;
use super::offset_store::OffsetStore;
use super::process_queue::ProcessQueue;
use super::push::{lock, pause};
use super::queues::{self, GroupView, PullRequest};
use super::stats::{StatsTable, TopicStats};
use super::{ConsumeFrom, FilterExpression, MessageModel};
use crate::client::{now_ms, Client, ClientConfig, ConsumerHandle};
use crate::error::{Error, Result};
use crate::message::MessageView;
use crate::namespace::Namespace;
use crate::rt::Instant;

/// Lite pull consumer settings.
#[derive(Debug, Clone)]
pub struct PullConsumerOptions {
    /// Shared client settings.
    pub client: ClientConfig,
    /// Consumer group (offsets are stored on the broker under it).
    pub group: String,
    /// Where a queue without a committed offset starts.
    pub consume_from: ConsumeFrom,
    /// Messages per pull (10).
    pub pull_batch_size: i32,
    /// Buffered messages per queue before fetching pauses (1000).
    pub pull_threshold_for_queue: usize,
    /// Commit consumed offsets in the background every `auto_commit_interval` (true).
    pub auto_commit: bool,
    /// Background commit period (5 s).
    pub auto_commit_interval: Duration,
    /// Queue allocation among the group's members (subscribe mode).
    pub allocate: Arc<dyn AllocateStrategy>,
    /// Rebalance period (subscribe mode, 20 s).
    pub rebalance_interval: Duration,
    /// Pause after a failed pull (1 s).
    pub pull_retry_delay: Duration,
}

impl Default for PullConsumerOptions {
    fn default() -> Self {
        PullConsumerOptions {
            client: ClientConfig::default(),
            group: String::new(),
            consume_from: ConsumeFrom::LastOffset,
            pull_batch_size: 10,
            pull_threshold_for_queue: 1000,
            auto_commit: true,
            auto_commit_interval: Duration::from_secs(5),
            allocate: Arc::new(Averagely),
            rebalance_interval: Duration::from_secs(20),
            pull_retry_delay: Duration::from_secs(1),
        }
    }
}

/// Long-poll hold time of a lite pull, and the request timeout around it.
const SUSPEND_MILLIS: i64 = 20_000;
const PULL_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug)]
struct LiteQueue {
    mq: MessageQueue,
    next: Mutex<i64>,
    generation: AtomicU64,
    buffered: AtomicUsize,
    paused: AtomicBool,
    dropped: AtomicBool,
    wake: Notify,
    /// Fetched messages not polled yet, and the queue's timestamps (running info).
    pq: Mutex<ProcessQueue>,
    /// The statistics of the queue's topic.
    stats: Arc<TopicStats>,
}

impl LiteQueue {
    /// Forgets the fetched messages of `batch` (polled, or stale after a seek).
    fn settle(&self, batch: &[MessageView], polled: bool) {
        let mut pq = lock(&self.pq);
        pq.remove(batch.iter().map(MessageView::queue_offset));
        if polled {
            pq.mark_consumed(now_ms());
        }
    }

    /// Moves the queue to `offset`: what was fetched before no longer counts.
    fn reposition(&self, offset: i64) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        *lock(&self.next) = offset;
        lock(&self.pq).clear();
    }
}

struct Batch {
    queue: Arc<LiteQueue>,
    generation: u64,
    messages: Vec<MessageView>,
    next: i64,
}

struct Inner {
    client: Client,
    options: PullConsumerOptions,
    subs: Mutex<BTreeMap<String, SubscriptionData>>,
    assigned_mode: AtomicBool,
    queues: Mutex<HashMap<MessageQueue, Arc<LiteQueue>>>,
    offsets: OffsetStore,
    /// Which broker of its broker name each queue is pulled from next.
    nodes: PullNodes,
    tx: mpsc::Sender<Batch>,
    rx: tokio::sync::Mutex<mpsc::Receiver<Batch>>,
    stop: tokio::sync::watch::Sender<bool>,
    rebalance: Notify,
    /// Serializes queue-set changes (timer rebalance, subscribe, assign).
    updating: tokio::sync::Mutex<()>,
    closed: AtomicBool,
    /// Polled messages not handed out yet (`next_message`).
    buffer: buffer::Buffer,
    /// Pull rates and polled messages per topic (running info's `statusTable`).
    stats: Arc<StatsTable>,
    /// When the consumer started, ms.
    started_ms: i64,
    /// The namespace: the group, topics and queues are wrapped inside (`ns%name`); what the
    /// API takes and returns is not.
    ns: Namespace,
}

/// A started lite pull consumer; cheap to clone.
#[derive(Clone)]
pub struct PullConsumer {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for PullConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PullConsumer")
            .field("group", &self.inner.options.group)
            .field("client", &self.inner.client.id())
            .finish()
    }
}

impl Inner {
    fn group_view(&self) -> GroupView<'_> {
        GroupView {
            client: &self.client,
            group: &self.options.group,
            model: MessageModel::Clustering,
            allocate: self.options.allocate.as_ref(),
            offsets: &self.offsets,
            consume_from: self.options.consume_from,
        }
    }
}

impl PullConsumer {
    /// Starts a consumer of `options.group` with no queues yet: call [`Self::subscribe`] or
    /// [`Self::assign`]. Must be called inside a tokio runtime.
    pub async fn start(mut options: PullConsumerOptions) -> Result<PullConsumer> {
        options.validate()?;
        let ns = Namespace::new(options.client.namespace.as_deref())?;
        options.group = ns.wrap(&options.group);
        let client = Client::shared(&options.client)?;
        let (tx, rx) = mpsc::channel(1024);
        let (stop, _) = tokio::sync::watch::channel(false);
        let inner = Arc::new(Inner {
            client: client.clone(),
            offsets: OffsetStore::broker(&options.group),
            nodes: PullNodes::default(),
            options,
            subs: Mutex::new(BTreeMap::new()),
            assigned_mode: AtomicBool::new(false),
            queues: Mutex::new(HashMap::new()),
            tx,
            rx: tokio::sync::Mutex::new(rx),
            stop,
            rebalance: Notify::new(),
            updating: tokio::sync::Mutex::new(()),
            closed: AtomicBool::new(false),
            buffer: buffer::Buffer::default(),
            stats: Arc::new(StatsTable::default()),
            started_ms: now_ms(),
            ns,
        });
        let handle = Arc::new(Handle {
            inner: Arc::downgrade(&inner),
        });
        if let Err(e) = client.register_consumer(&inner.options.group, handle) {
            client.release();
            return Err(e);
        }
        let consumer = PullConsumer { inner };
        consumer.spawn_timers();
        Ok(consumer)
    }

    fn spawn_timers(&self) {
        crate::rt::spawn(super::stats::sampler(
            self.inner.stats.clone(),
            self.inner.stop.subscribe(),
        ));
        let inner = self.inner.clone();
        let mut stop = inner.stop.subscribe();
        crate::rt::spawn(async move {
            let mut backoff = Duration::from_secs(1);
            loop {
                let unfinished = if lock(&inner.subs).is_empty() {
                    false
                } else {
                    rebalance(&inner).await
                };
                let wait = if unfinished {
                    let w = backoff.min(inner.options.rebalance_interval);
                    backoff = backoff.saturating_mul(2);
                    w
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
        if self.inner.options.auto_commit {
            let inner = self.inner.clone();
            let mut stop = inner.stop.subscribe();
            crate::rt::spawn(async move {
                while pause(&mut stop, inner.options.auto_commit_interval).await {
                    let queues: Vec<MessageQueue> = lock(&inner.queues).keys().cloned().collect();
                    if let Err(e) = inner.offsets.persist(&inner.client, &queues).await {
                        tracing::debug!(error = %e, "auto commit failed");
                    }
                }
            });
        }
    }

    /// The client this consumer uses (its id is how operators' tools address it).
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    fn is_shut_down(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire)
    }

    fn check_open(&self, op: &'static str) -> Result<()> {
        if self.is_shut_down() {
            return Err(Error::illegal_state(op, "the consumer is shut down"));
        }
        Ok(())
    }

    /// Subscribes to `topic`: its queues are shared among the group's members by rebalancing.
    pub async fn subscribe(&self, topic: &str, expression: FilterExpression) -> Result<()> {
        self.check_open("subscribe")?;
        if self.inner.assigned_mode.load(Ordering::Acquire) {
            return Err(Error::illegal_state(
                "subscribe",
                "queues were assigned by hand",
            ));
        }
        let topic = &self.inner.ns.wrap(topic);
        let sub = match expression {
            FilterExpression::Tag(e) => SubscriptionData::tag(topic, &e, now_ms()),
            FilterExpression::Sql92(e) => SubscriptionData::sql92(topic, e, now_ms()),
        };
        lock(&self.inner.subs).insert(topic.to_owned(), sub);
        self.inner.client.fetch_route(topic).await?;
        self.inner.client.heartbeat().await;
        rebalance(&self.inner).await;
        Ok(())
    }

    /// Reads exactly `queues` (no rebalancing), from their committed offsets.
    pub async fn assign(&self, queues: Vec<MessageQueue>) -> Result<()> {
        self.check_open("assign")?;
        if !lock(&self.inner.subs).is_empty() && !self.inner.assigned_mode.load(Ordering::Acquire) {
            return Err(Error::illegal_state(
                "assign",
                "the consumer has subscriptions",
            ));
        }
        self.inner.assigned_mode.store(true, Ordering::Release);
        let queues: Vec<MessageQueue> = queues
            .iter()
            .map(|mq| self.inner.ns.wrap_queue(mq))
            .collect();
        {
            let mut subs = lock(&self.inner.subs);
            for mq in &queues {
                subs.entry(mq.topic.clone())
                    .or_insert_with(|| SubscriptionData::tag(&mq.topic, "*", now_ms()));
            }
        }
        for mq in &queues {
            self.inner.client.route(&mq.topic).await?;
        }
        let wanted: HashSet<MessageQueue> = queues.into_iter().collect();
        update_queues(&self.inner, wanted).await;
        Ok(())
    }

    /// The readable queues of `topic`.
    pub async fn fetch_queues(&self, topic: &str) -> Result<Vec<MessageQueue>> {
        let route = self
            .inner
            .client
            .fetch_route(&self.inner.ns.wrap(topic))
            .await?;
        Ok(queues::subscribe_queues(topic, &route))
    }

    /// The queues currently read.
    pub fn assignment(&self) -> Vec<MessageQueue> {
        let ns = &self.inner.ns;
        let mut q: Vec<_> = lock(&self.inner.queues)
            .keys()
            .map(|mq| ns.unwrap_queue(mq))
            .collect();
        q.sort();
        q
    }

    /// The next batch of messages of one queue, waiting up to `timeout`; empty if none came
    /// or the consumer shut down meanwhile. Messages left by [`Self::next_message`] come first.
    /// The consumed offset of that queue moves past the batch (committed by [`Self::commit`]
    /// or the auto commit).
    pub async fn poll(&self, timeout: Duration) -> Result<Vec<MessageView>> {
        self.check_open("poll")?;
        let buffered = self.inner.buffer.take_all();
        if !buffered.is_empty() {
            return Ok(buffered);
        }
        self.poll_batch(timeout).await
    }

    /// One batch from the fetch tasks (not the buffer).
    async fn poll_batch(&self, timeout: Duration) -> Result<Vec<MessageView>> {
        let mut stop = self.inner.stop.subscribe();
        self.check_open("poll")?;
        let deadline = Instant::now() + timeout;
        let mut rx = self.inner.rx.lock().await;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let batch = tokio::select! {
                b = crate::rt::timeout(left, rx.recv()) => match b {
                    Ok(Some(b)) => b,
                    Ok(None) | Err(_) => return Ok(Vec::new()),
                },
                _ = stop.changed() => return Ok(Vec::new()),
            };
            let q = &batch.queue;
            q.buffered.fetch_sub(batch.messages.len(), Ordering::AcqRel);
            if q.dropped.load(Ordering::Acquire)
                || q.generation.load(Ordering::Acquire) != batch.generation
            {
                q.settle(&batch.messages, false);
                continue;
            }
            q.settle(&batch.messages, true);
            q.stats.consumed(batch.messages.len(), 0);
            self.inner.offsets.update(&q.mq, batch.next, false);
            return Ok(batch.messages);
        }
    }

    /// The state of `mq` (as the application names it).
    fn queue(&self, op: &'static str, mq: &MessageQueue) -> Result<Arc<LiteQueue>> {
        let wrapped = self.inner.ns.wrap_queue(mq);
        lock(&self.inner.queues)
            .get(&wrapped)
            .cloned()
            .ok_or_else(|| {
                Error::invalid(op, format!("queue {mq:?} is not assigned to this consumer"))
            })
    }

    /// Continues `mq` from `offset`: buffered messages of the queue are discarded.
    pub async fn seek(&self, mq: &MessageQueue, offset: i64) -> Result<()> {
        let q = self.queue("seek", mq)?;
        self.inner.buffer.discard(mq);
        q.reposition(offset);
        self.inner.offsets.update(&q.mq, offset, false);
        q.wake.notify_one();
        Ok(())
    }

    /// Continues `mq` from its first message.
    pub async fn seek_to_begin(&self, mq: &MessageQueue) -> Result<()> {
        self.seek(mq, 0).await
    }

    /// Continues `mq` after its last message.
    pub async fn seek_to_end(&self, mq: &MessageQueue) -> Result<()> {
        let wrapped = self.inner.ns.wrap_queue(mq);
        let end = queues::max_offset(&self.inner.group_view(), &wrapped).await?;
        self.seek(mq, end).await
    }

    /// Stores the consumed offsets of every queue on the broker now.
    pub async fn commit(&self) -> Result<()> {
        self.check_open("commit")?;
        let queues: Vec<MessageQueue> = lock(&self.inner.queues).keys().cloned().collect();
        self.inner
            .offsets
            .persist(&self.inner.client, &queues)
            .await
    }

    /// The offset committed on the broker for `mq`, if any.
    pub async fn committed(&self, mq: &MessageQueue) -> Result<Option<i64>> {
        let store = OffsetStore::broker(&self.inner.options.group);
        let wrapped = self.inner.ns.wrap_queue(mq);
        store.read_stored(&self.inner.client, &wrapped).await
    }

    /// Stops fetching `queues` (already buffered batches are still returned).
    pub fn pause(&self, queues: &[MessageQueue]) {
        for mq in queues {
            if let Some(q) = lock(&self.inner.queues).get(&self.inner.ns.wrap_queue(mq)) {
                q.paused.store(true, Ordering::Release);
                // Interrupt a long poll in flight.
                q.wake.notify_one();
            }
        }
    }

    /// Restarts fetching `queues`.
    pub fn resume(&self, queues: &[MessageQueue]) {
        for mq in queues {
            if let Some(q) = lock(&self.inner.queues).get(&self.inner.ns.wrap_queue(mq)) {
                q.paused.store(false, Ordering::Release);
                q.wake.notify_one();
            }
        }
    }

    /// Commits (with auto commit on), stops fetching and leaves the group.
    pub async fn shutdown(&self) {
        let inner = &self.inner;
        if inner.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let _ = inner.stop.send(true);
        inner.buffer.clear();
        let queues: Vec<MessageQueue> = lock(&inner.queues).keys().cloned().collect();
        if inner.options.auto_commit {
            if let Err(e) = inner.offsets.persist(&inner.client, &queues).await {
                tracing::warn!(error = %e, "final offset commit failed");
            }
        }
        for q in lock(&inner.queues).values() {
            q.dropped.store(true, Ordering::Release);
        }
        inner
            .client
            .unregister(None, Some(&inner.options.group))
            .await;
    }
}

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
            consume_from_where: ConsumeFromWhere::ConsumeFromLastOffset,
            consume_type: ConsumeType::ConsumeActively,
            group_name: inner.options.group.clone(),
            message_model: MessageModel::Clustering.wire(),
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
            if let Some(q) = queues.get(&mq) {
                q.reposition(offset);
                inner.offsets.update(&mq, offset, false);
                q.wake.notify_one();
            }
        }
    }

    fn running_info(&self, _jstack: bool) -> ConsumerRunningInfo {
        self.inner
            .upgrade()
            .map(|inner| running_info(&inner))
            .unwrap_or_default()
    }

    fn consume_directly(
        &self,
        _message: MessageExt,
        _broker_name: String,
    ) -> BoxFuture<'static, Option<bool>> {
        Box::pin(async { None })
    }
}

/// The running info of a lite pull consumer (Apache's
/// `DefaultLitePullConsumerImpl.consumerRunningInfo`, plus the `statusTable` Apache leaves
/// empty here: pull RT and TPS, and as consumed the messages `poll` handed out).
fn running_info(inner: &Inner) -> ConsumerRunningInfo {
    let o = &inner.options;
    let properties = [
        (PROP_CONSUME_TYPE, "CONSUME_ACTIVELY".to_owned()),
        (PROP_CONSUME_ORDERLY, "false".to_owned()),
        (PROP_CONSUMER_START_TIMESTAMP, inner.started_ms.to_string()),
        ("consumerGroup", o.group.clone()),
        (
            "messageModel",
            MessageModel::Clustering.wire().name().to_owned(),
        ),
        (
            "consumeFromWhere",
            super::running::consume_from_where(o.consume_from)
                .name()
                .to_owned(),
        ),
        ("allocateMessageQueueStrategy", o.allocate.name().to_owned()),
        ("pullBatchSize", o.pull_batch_size.to_string()),
        (
            "pullThresholdForQueue",
            o.pull_threshold_for_queue.to_string(),
        ),
        ("autoCommit", o.auto_commit.to_string()),
        (
            "autoCommitIntervalMillis",
            o.auto_commit_interval.as_millis().to_string(),
        ),
        (
            "pullTimeDelayMillsWhenException",
            o.pull_retry_delay.as_millis().to_string(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let mut info = ConsumerRunningInfo {
        properties,
        subscription_set: lock(&inner.subs).values().cloned().collect(),
        ..ConsumerRunningInfo::default()
    };
    let queues: Vec<Arc<LiteQueue>> = lock(&inner.queues).values().cloned().collect();
    for q in queues {
        let mut pq = lock(&q.pq).info();
        pq.commit_offset = inner.offsets.get(&q.mq).unwrap_or(-1);
        pq.droped = q.dropped.load(Ordering::Acquire);
        info.mq_table.insert(q.mq.clone(), pq);
    }
    for sub in &info.subscription_set {
        info.status_table
            .insert(sub.topic.clone(), inner.stats.status(&sub.topic));
    }
    info
}

/// Rebalances the subscribed topics; true when the round is unfinished.
async fn rebalance(inner: &Arc<Inner>) -> bool {
    if inner.assigned_mode.load(Ordering::Acquire) {
        return false;
    }
    let topics: Vec<String> = lock(&inner.subs).keys().cloned().collect();
    let mut wanted = HashSet::new();
    let mut unfinished = false;
    for topic in topics {
        match queues::allocate(&inner.group_view(), &topic).await {
            Ok(mine) => wanted.extend(mine),
            Err(e) => {
                tracing::debug!(%topic, error = %e, "rebalance skipped a topic");
                unfinished = true;
                // Keep what this topic had.
                wanted.extend(
                    lock(&inner.queues)
                        .keys()
                        .filter(|q| q.topic == topic)
                        .cloned(),
                );
            }
        }
    }
    update_queues(inner, wanted).await;
    unfinished
}

async fn update_queues(inner: &Arc<Inner>, wanted: HashSet<MessageQueue>) {
    let _serial = inner.updating.lock().await;
    let removed: Vec<Arc<LiteQueue>> = {
        let mut queues = lock(&inner.queues);
        let keys: Vec<MessageQueue> = queues
            .keys()
            .filter(|q| !wanted.contains(*q))
            .cloned()
            .collect();
        keys.iter().filter_map(|k| queues.remove(k)).collect()
    };
    for q in removed {
        q.dropped.store(true, Ordering::Release);
        q.wake.notify_one();
        let mq = [q.mq.clone()];
        if let Err(e) = inner.offsets.persist(&inner.client, &mq).await {
            tracing::debug!(error = %e, "commit of a released queue failed");
        }
        inner.offsets.remove(&q.mq);
        inner.nodes.forget(&q.mq);
    }
    let current: HashSet<MessageQueue> = lock(&inner.queues).keys().cloned().collect();
    for mq in wanted.into_iter().filter(|q| !current.contains(q)) {
        let offset = match queues::initial_offset(&inner.group_view(), &mq).await {
            Ok(o) => o,
            Err(e) => {
                tracing::debug!(queue = ?mq, error = %e, "no start offset yet");
                continue;
            }
        };
        inner.offsets.update(&mq, offset, false);
        let q = Arc::new(LiteQueue {
            mq: mq.clone(),
            next: Mutex::new(offset),
            generation: AtomicU64::new(0),
            buffered: AtomicUsize::new(0),
            paused: AtomicBool::new(false),
            dropped: AtomicBool::new(false),
            wake: Notify::new(),
            pq: Mutex::new(ProcessQueue::started(now_ms())),
            stats: inner.stats.topic(&mq.topic),
        });
        lock(&inner.queues).insert(mq, q.clone());
        crate::rt::spawn(fetch_loop(inner.clone(), q));
    }
}

/// Long-polls one queue into the shared buffer.
async fn fetch_loop(inner: Arc<Inner>, q: Arc<LiteQueue>) {
    let mut stop = inner.stop.subscribe();
    let mq = q.mq.clone();
    loop {
        if q.dropped.load(Ordering::Acquire) || *stop.borrow() {
            break;
        }
        if q.paused.load(Ordering::Acquire)
            || q.buffered.load(Ordering::Acquire) > inner.options.pull_threshold_for_queue
        {
            tokio::select! {
                _ = q.wake.notified() => {}
                _ = crate::rt::sleep(Duration::from_millis(50)) => {}
                _ = stop.changed() => break,
            }
            continue;
        }
        let Some(sub) = lock(&inner.subs).get(&mq.topic).cloned() else {
            break;
        };
        let generation = q.generation.load(Ordering::Acquire);
        let offset = *lock(&q.next);
        lock(&q.pq).mark_pulled(now_ms());
        let pull = PullRequest {
            group: &inner.options.group,
            mq: &mq,
            sub: &sub,
            offset,
            batch: inner.options.pull_batch_size,
            commit: None,
            suspend_millis: SUSPEND_MILLIS,
            timeout: PULL_TIMEOUT,
            nodes: &inner.nodes,
        };
        let began = Instant::now();
        let pulled = pull.send(&inner.client);
        let response = tokio::select! {
            r = pulled => r,
            // A seek, resume or drop interrupts the long poll.
            _ = q.wake.notified() => continue,
            _ = stop.changed() => break,
        };
        let retry = |e: String| {
            tracing::debug!(queue = ?mq, error = %e, "lite pull failed");
        };
        let response = match response {
            Ok(r) => r,
            Err(e) => {
                retry(e.to_string());
                if !pause(&mut stop, inner.options.pull_retry_delay).await {
                    break;
                }
                continue;
            }
        };
        let code = response.response_code();
        if !matches!(
            code,
            ResponseCode::SUCCESS
                | ResponseCode::PULL_NOT_FOUND
                | ResponseCode::PULL_RETRY_IMMEDIATELY
                | ResponseCode::PULL_OFFSET_MOVED
        ) {
            retry(format!("code {code}"));
            if !pause(&mut stop, inner.options.pull_retry_delay).await {
                break;
            }
            continue;
        }
        let Ok(header) = response.header::<PullMessageResponseHeader>() else {
            retry("bad pull header".to_owned());
            if !pause(&mut stop, inner.options.pull_retry_delay).await {
                break;
            }
            continue;
        };
        if q.generation.load(Ordering::Acquire) != generation {
            continue;
        }
        *lock(&q.next) = header.next_begin_offset;
        if code != ResponseCode::SUCCESS {
            continue;
        }
        let pull_rt = began.elapsed();
        let messages = Client::decode_pulled(&response.body).unwrap_or_default();
        let filter_tags = sub.expression_type.is_tag() && !sub.is_sub_all();
        let views: Vec<MessageView> = MessageView::pulled(messages, &mq, None, &inner.ns)
            .filter(|m| {
                !filter_tags || m.tag().is_some_and(|t| sub.tags_set.iter().any(|s| s == t))
            })
            .collect();
        q.stats.pulled(pull_rt, views.len());
        if views.is_empty() {
            continue;
        }
        lock(&q.pq).put(views.iter().map(|v| (v.queue_offset(), v.body().len())));
        q.buffered.fetch_add(views.len(), Ordering::AcqRel);
        let batch = Batch {
            queue: q.clone(),
            generation,
            messages: views,
            next: header.next_begin_offset,
        };
        tokio::select! {
            r = inner.tx.send(batch) => if r.is_err() { break },
            _ = stop.changed() => break,
        }
    }
}
