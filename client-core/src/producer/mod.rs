//! The producer: sync, async and oneway sends, to a chosen queue or through a selector,
//! batches, retries on another broker with latency-based fault avoidance, compression of large
//! bodies, and UNIQ_KEY message ids (docs/protocol.md, "UNIQ_KEY", "Compression" and "Producer
//! queue selection and retries").

// Layout: `ProducerOptions` (options.rs); the `Producer` type and its lifecycle (here); single
// sends, their checks and retries (send.rs); one attempt on the wire (exchange.rs); batches
// (batch.rs); which queues a topic offers (route.rs); request-reply (request_reply.rs).

mod batch;
mod exchange;
mod options;
mod request_reply;
mod route;
mod send;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ferromq_protocol::body::{MessageQueue, TopicRouteData};

pub use self::options::{ProducerOptions, AUTO_CREATE_TOPIC, DEFAULT_MAX_MESSAGE_SIZE};
use crate::client::{CheckHandler, Client};
use crate::error::{Error, Result};
use crate::metrics::{ProducerCounters, ProducerMetrics};
use crate::namespace::Namespace;
use crate::rt::Instant;
use crate::selector::{random_u64, FaultTracker};
use crate::trace::{Role, Tracer};

/// A route and the publish queues computed from it.
type QueueCacheEntry = (Arc<TopicRouteData>, Arc<Vec<MessageQueue>>);

/// What the clones of a [`Producer`] share.
struct Inner {
    client: Client,
    options: ProducerOptions,
    faults: FaultTracker,
    queue_cache: std::sync::Mutex<HashMap<String, QueueCacheEntry>>,
    next_queue: AtomicUsize,
    runtime: crate::rt::Handle,
    closed: std::sync::atomic::AtomicBool,
    counters: ProducerCounters,
    /// The namespace: topics and the group are wrapped on the wire, send results unwrapped.
    ns: Namespace,
    /// Set with [`ProducerOptions::enable_msg_trace`].
    tracer: Option<Arc<Tracer>>,
}

/// A started producer; cheap to clone (clones share the producer).
#[derive(Clone)]
pub struct Producer {
    inner: Arc<Inner>,
}

impl Producer {
    /// What a recall needs ([`crate::recall`]): the client, the namespace, the send timeout and
    /// the group.
    pub(crate) fn recall_parts(&self) -> (&Client, &Namespace, Duration, &str) {
        let i = &self.inner;
        (&i.client, &i.ns, i.options.send_timeout, &i.options.group)
    }
}

impl std::fmt::Debug for Producer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer")
            .field("group", &self.inner.options.group)
            .field("client", &self.inner.client.id())
            .finish()
    }
}

impl Producer {
    /// Starts a producer (must be called inside a tokio runtime, which the producer keeps using
    /// for [`Self::send_async`]).
    pub async fn start(options: ProducerOptions) -> Result<Producer> {
        Self::start_with(options, None).await
    }

    pub(crate) async fn start_with(
        options: ProducerOptions,
        checker: Option<Arc<dyn CheckHandler>>,
    ) -> Result<Producer> {
        if options.group.is_empty() {
            return Err(Error::invalid("start", "the producer group is empty"));
        }
        // A bad namespace is refused before anything starts.
        Namespace::new(options.client.namespace.as_deref())?;
        let tracer = if options.enable_msg_trace {
            Some(
                Tracer::start(
                    &options.client,
                    &options.group,
                    Role::Produce,
                    options.trace_topic.as_deref(),
                )
                .await?,
            )
        } else {
            None
        };
        let started = Self::start_inner(options, checker, tracer.clone()).await;
        if started.is_err() {
            if let Some(t) = tracer {
                t.shutdown().await;
            }
        }
        started
    }

    /// Starts a producer that records no traces (the trace producer itself).
    pub(crate) async fn start_untraced(options: ProducerOptions) -> Result<Producer> {
        Self::start_inner(options, None, None).await
    }

    async fn start_inner(
        mut options: ProducerOptions,
        checker: Option<Arc<dyn CheckHandler>>,
        tracer: Option<Arc<Tracer>>,
    ) -> Result<Producer> {
        // As Java's producer: the group joins the namespace too.
        let ns = Namespace::new(options.client.namespace.as_deref())?;
        options.group = ns.wrap(&options.group);
        let client = Client::shared(&options.client)?;
        if let Err(e) = client.register_producer(&options.group, checker) {
            client.release();
            return Err(e);
        }
        // As Java's producer start: brokers the shared client already talks to learn the group
        // now (a transaction producer's check-backs must find this client), not at the next
        // periodic heartbeat.
        client.heartbeat().await;
        Ok(Producer {
            inner: Arc::new(Inner {
                client,
                faults: FaultTracker::default(),
                queue_cache: std::sync::Mutex::new(HashMap::new()),
                next_queue: AtomicUsize::new(random_u64() as usize % 1024),
                runtime: crate::rt::Handle::current(),
                closed: std::sync::atomic::AtomicBool::new(false),
                counters: ProducerCounters::default(),
                tracer,
                options,
                ns,
            }),
        })
    }

    /// The shared client this producer uses.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// The producer group, as sent (with the namespace, if any: `ns%group`).
    pub fn group(&self) -> &str {
        &self.inner.options.group
    }

    /// `name` with this producer's namespace (unchanged without one).
    pub(crate) fn wrap(&self, name: &str) -> String {
        self.inner.ns.wrap(name)
    }

    /// What this producer counted since it started: sends, failures and their latency
    /// ([`ProducerMetrics`]).
    pub fn metrics(&self) -> ProducerMetrics {
        self.inner.counters.snapshot()
    }

    /// Counts a send call of `messages` messages begun at `began`.
    pub(super) fn observe<T>(&self, began: Instant, messages: usize, result: &Result<T>) {
        self.inner
            .counters
            .record(result.is_ok(), messages, began.elapsed());
    }

    /// Trace records dropped so far (queue full or trace send failed); 0 without
    /// [`ProducerOptions::enable_msg_trace`].
    pub fn traces_dropped(&self) -> u64 {
        self.inner.tracer.as_ref().map_or(0, |t| t.dropped())
    }

    /// The tracer, with [`ProducerOptions::enable_msg_trace`].
    pub(crate) fn tracer(&self) -> Option<&Tracer> {
        self.inner.tracer.as_deref()
    }

    /// A handle on the tracer, for check-backs answered outside the producer.
    pub(crate) fn tracer_handle(&self) -> Option<Arc<Tracer>> {
        self.inner.tracer.clone()
    }

    /// The trace topic this producer writes to, when tracing.
    pub fn trace_topic(&self) -> Option<&str> {
        self.inner.tracer.as_ref().map(|t| t.topic())
    }

    /// Stops the producer: writes the trace records still queued (at most 5 s), then
    /// unregisters its group from the brokers.
    pub async fn shutdown(&self) {
        if let Some(t) = &self.inner.tracer {
            if !self.inner.closed.load(Ordering::Acquire) {
                t.shutdown().await;
            }
        }
        self.shutdown_untraced().await;
    }

    /// Unregisters the group (the trace producer's own shutdown: it has no tracer).
    pub(crate) async fn shutdown_untraced(&self) {
        if !self.inner.closed.swap(true, Ordering::AcqRel) {
            self.inner
                .client
                .unregister(Some(&self.inner.options.group), None)
                .await;
        }
    }
}
