//! The push consumer (Java `DefaultMQPushConsumer`): rebalance every 20 s and on
//! NOTIFY_CONSUMER_IDS_CHANGED, one long-polling pull loop per assigned queue with flow control,
//! a pool of consume workers running the user's listener, retries through the broker
//! (CONSUMER_SEND_MSG_BACK, falling back to a direct send to `%RETRY%<group>`), and offsets
//! committed every 5 s and on shutdown (docs/protocol.md, "Rebalancing", "Push consumption and
//! retries" and "Long polling").

mod concurrent;
mod expire;
mod handle;
mod options;
#[cfg(not(target_arch = "wasm32"))]
mod pool;
mod pull_loop;
mod rebalance;
mod state;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferromq_protocol::body::{MessageQueue, SubscriptionData};
use tokio::sync::{Notify, Semaphore};

use super::nodes::PullNodes;
use super::offset_store::OffsetStore;
use super::orderly;
use super::stats::StatsTable;
use super::{
    AsyncMessageListener, AsyncOrderlyListener, FilterExpression, MessageListener, MessageModel,
    OnBlockingThread, OrderlyListener,
};
use crate::client::{now_ms, Client, ClientConfig};
use crate::error::{Error, Result};
use crate::metrics::{ConsumerMetrics, QueueLag};
use crate::namespace::Namespace;
use crate::producer::{Producer, ProducerOptions};
use crate::trace::{Role, Tracer};
use handle::Handle;
use rebalance::rebalance;

pub(super) use concurrent::resend;
pub use options::PushConsumerOptions;
pub(super) use state::{lock, pause, Inner, Listener, QueueState};

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

impl PushConsumer {
    /// Starts a consumer of `options.group` with `subscriptions` and `listener`: it joins the
    /// group, rebalances at once and starts pulling. Must be called inside a tokio runtime.
    pub async fn start<L: MessageListener>(
        options: PushConsumerOptions,
        subscriptions: impl IntoIterator<Item = (String, FilterExpression)>,
        listener: L,
    ) -> Result<PushConsumer> {
        #[cfg(not(target_arch = "wasm32"))]
        let listener = Listener::Blocking(Arc::new(listener));
        #[cfg(target_arch = "wasm32")]
        let listener = Listener::Concurrent(Arc::new(OnBlockingThread(Arc::new(listener))));
        Self::start_with(options, subscriptions, listener).await
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
        #[cfg(not(target_arch = "wasm32"))]
        let pool = matches!(listener, Listener::Blocking(_))
            .then(|| pool::Pool::new(options.consume_threads, &options.group));
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
            #[cfg(not(target_arch = "wasm32"))]
            pool,
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
        } else {
            crate::rt::spawn(expire::expire_loop(self.inner.clone()));
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

    /// Stops pulling, waits (up to [`PushConsumerOptions::await_termination`], 10 s by
    /// default) for listener calls in flight, commits the offsets of what was consumed and
    /// leaves the group. A call still running after that is abandoned: its answer is ignored
    /// and its messages are redelivered to the group.
    pub async fn shutdown(&self) {
        let inner = &self.inner;
        if inner.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let _ = inner.stop.send(true);
        // Each call holds a permit until its batch is settled.
        let all = u32::try_from(inner.options.consume_threads.max(1)).unwrap_or(u32::MAX);
        let drained = crate::rt::timeout(
            inner.options.await_termination,
            inner.permits.acquire_many(all),
        )
        .await;
        if drained.is_err() {
            tracing::warn!(
                group = %inner.options.group,
                waited = ?inner.options.await_termination,
                "listener calls still running at shutdown; their messages will be redelivered"
            );
        }
        inner.permits.close();
        drop(drained);
        #[cfg(not(target_arch = "wasm32"))]
        if let Some(pool) = &inner.pool {
            pool.close();
        }
        // Dropped first, so an abandoned call that ends from now on commits nothing.
        for qs in lock(&inner.queues).values() {
            qs.dropped.store(true, Ordering::Release);
        }
        let queues: Vec<MessageQueue> = lock(&inner.queues).keys().cloned().collect();
        if let Err(e) = inner.offsets.persist(&inner.client, &queues).await {
            tracing::warn!(error = %e, "final offset commit failed");
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
