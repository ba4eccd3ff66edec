//! The producer: sync, async and oneway sends, to a chosen queue or through a selector,
//! batches, retries on another broker with latency-based fault avoidance, compression of large
//! bodies, and UNIQ_KEY message ids (docs/protocol.md, "UNIQ_KEY", "Compression" and "Producer
//! queue selection and retries").

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ferromq_protocol::body::{perm, MessageQueue, TopicRouteData, MASTER_ID};
use ferromq_protocol::header::send::{SendMessageRequestHeaderV2, SendMessageResponseHeader};
use ferromq_protocol::message::{
    batch_encoded_len, compress, encode_batch_to_bytes, property, sysflag, BatchMessage,
    CompressionType, TransactionType,
};
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};

use crate::client::{now_ms, CheckHandler, Client, ClientConfig};
use crate::error::{Error, ErrorKind, Result};
use crate::message::{Message, MessageView, SendResult, SendStatus};
use crate::metrics::{ProducerCounters, ProducerMetrics};
use crate::namespace::Namespace;
use crate::rt::Instant;
use crate::selector::{pick_queue, random_u64, FaultTracker, QueueSelector};
use crate::trace::{Role, SendAnswer, Tracer};

/// The topic whose route a producer borrows for a topic the name servers do not know yet; the
/// broker then creates the topic on the first send (`autoCreateTopicEnable`).
pub const AUTO_CREATE_TOPIC: &str = "TBW102";

/// Largest body (and batch) a producer sends, 4 MiB as Java.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 4 * 1024 * 1024;

/// Producer settings (Java `DefaultMQProducer`).
#[derive(Debug, Clone)]
pub struct ProducerOptions {
    /// Shared client settings (name servers, instance name, timeouts).
    pub client: ClientConfig,
    /// Producer group (required for transactions; heartbeats carry it).
    pub group: String,
    /// Timeout of one send attempt (3 s).
    pub send_timeout: Duration,
    /// Extra attempts of a failed sync or async send, on another broker if there is one (2).
    pub retry_times: u32,
    /// Bodies longer than this are zlib-compressed (4 KiB).
    pub compress_threshold: usize,
    /// zlib level (5).
    pub compress_level: u32,
    /// Largest body or batch accepted (4 MiB).
    pub max_message_size: usize,
    /// Avoid brokers that were slow or failing for a while (Java `sendLatencyFaultEnable`).
    pub latency_fault_enable: bool,
    /// Queues of a topic the broker auto-creates on first send (4).
    pub default_topic_queue_nums: i32,
    /// Records each accepted send in the trace topic (Java `enableMsgTrace`, off;
    /// docs/message-trace.md).
    pub enable_msg_trace: bool,
    /// The trace topic when tracing (Java `customizedTraceTopic`); `None` or blank is
    /// `RMQ_SYS_TRACE_TOPIC`.
    pub trace_topic: Option<String>,
}

impl Default for ProducerOptions {
    fn default() -> Self {
        ProducerOptions {
            client: ClientConfig::default(),
            group: "DEFAULT_PRODUCER".to_owned(),
            send_timeout: Duration::from_secs(3),
            retry_times: 2,
            compress_threshold: 4 * 1024,
            compress_level: 5,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            latency_fault_enable: false,
            default_topic_queue_nums: 4,
            enable_msg_trace: false,
            trace_topic: None,
        }
    }
}

/// A route and the publish queues computed from it.
type QueueCacheEntry = (Arc<TopicRouteData>, Arc<Vec<MessageQueue>>);

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

/// How the send is delivered.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Sync,
    Oneway,
}

/// The queues a topic's route offers for writing (docs/protocol.md, "Producer queue selection and
/// retries"): masters' writable queues, sorted by broker name, or the `orderTopicConf` list.
pub(crate) fn publish_queues(topic: &str, route: &TopicRouteData) -> Vec<MessageQueue> {
    let mut queues = Vec::new();
    if let Some(conf) = route.order_topic_conf.as_deref().filter(|c| !c.is_empty()) {
        for item in conf.split(';') {
            if let Some((broker, n)) = item.split_once(':') {
                let n: i32 = n.trim().parse().unwrap_or(0);
                queues.extend((0..n).map(|i| MessageQueue::new(topic, broker.trim(), i)));
            }
        }
        return queues;
    }
    let mut datas: Vec<_> = route.queue_datas.iter().collect();
    datas.sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
    for qd in datas {
        if !perm::is_writeable(qd.perm) {
            continue;
        }
        let has_master = route
            .broker(&qd.broker_name)
            .is_some_and(|b| b.broker_addrs.contains_key(&MASTER_ID));
        if has_master {
            queues.extend(
                (0..qd.write_queue_nums).map(|i| MessageQueue::new(topic, &qd.broker_name, i)),
            );
        }
    }
    queues
}

fn validate_topic(operation: &'static str, topic: &str) -> Result<()> {
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

    /// Sends and waits for the broker's answer ("sync" send), retrying up to
    /// [`ProducerOptions::retry_times`] times, on another broker when there is one.
    pub async fn send(&self, message: Message) -> Result<SendResult> {
        self.send_routed(message, Mode::Sync)
            .await
            .and_then(answered)
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
    fn observe<T>(&self, began: Instant, messages: usize, result: &Result<T>) {
        self.inner
            .counters
            .record(result.is_ok(), messages, began.elapsed());
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

    /// The queue `selector` picks for `message` given `arg`. The selector sees the queues and
    /// the message as the application knows them (without the namespace).
    async fn select_queue(
        &self,
        operation: &'static str,
        message: &Message,
        selector: &dyn QueueSelector,
        arg: &str,
    ) -> Result<MessageQueue> {
        let ns = &self.inner.ns;
        let mut queues = self.publish_info(&ns.wrap(message.topic())).await?;
        if ns.is_set() {
            queues = Arc::new(queues.iter().map(|q| ns.unwrap_queue(q)).collect());
        }
        let i = selector.try_select(&queues, message, arg)?;
        queues.get(i).cloned().ok_or_else(|| {
            Error::invalid(
                operation,
                format!("the queue selector chose queue {i} of {}", queues.len()),
            )
        })
    }

    /// Sends messages of one topic as batches (SEND_BATCH_MESSAGE), split so that no batch
    /// exceeds [`ProducerOptions::max_message_size`]; one result per batch, in order. Delayed
    /// messages and retry topics cannot be batched.
    pub async fn send_batch(&self, messages: Vec<Message>) -> Result<Vec<SendResult>> {
        let Some(first) = messages.first() else {
            return Err(Error::invalid("send batch", "no messages"));
        };
        let topic = first.topic().to_owned();
        let wrapped = self.inner.ns.wrap(&topic);
        validate_topic("send batch", &wrapped)?;
        let mut entries = Vec::with_capacity(messages.len());
        for mut m in messages {
            if m.topic() != topic {
                return Err(Error::invalid(
                    "send batch",
                    "all messages of a batch must have the same topic",
                ));
            }
            if m.property(property::DELAY_TIME_LEVEL).is_some() {
                return Err(Error::invalid(
                    "send batch",
                    "delayed messages cannot be batched",
                ));
            }
            if topic.starts_with(ferromq_protocol::names::RETRY_TOPIC_PREFIX) {
                return Err(Error::invalid(
                    "send batch",
                    "retry topics cannot be batched",
                ));
            }
            if m.body().is_empty() {
                return Err(Error::invalid("send batch", "a message body is empty"));
            }
            if m.property(property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX)
                .is_none()
            {
                let id = self.inner.client.inner.uniq.next_id_at(crate::rt::now_ms());
                m.properties_mut()
                    .insert(property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX, id);
            }
            entries.push(BatchMessage {
                flag: m.flag(),
                body: m.body().clone(),
                properties: m.properties().clone(),
            });
        }
        let max = self.inner.options.max_message_size;
        let mut chunks: Vec<Vec<BatchMessage>> = Vec::new();
        let mut size = 0;
        for e in entries {
            let len = e.encoded_len();
            if len > max {
                return Err(Error::invalid(
                    "send batch",
                    format!("a message of {len} bytes exceeds the {max}-byte limit"),
                ));
            }
            match chunks.last_mut() {
                Some(chunk) if size + len <= max => {
                    size += len;
                    chunk.push(e);
                }
                _ => {
                    size = len;
                    chunks.push(vec![e]);
                }
            }
        }
        let mut results = Vec::with_capacity(chunks.len());
        for chunk in chunks {
            debug_assert!(batch_encoded_len(&chunk) <= max);
            let body =
                encode_batch_to_bytes(&chunk).map_err(|e| Error::protocol("send batch", e))?;
            let ids: Vec<&str> = chunk
                .iter()
                .filter_map(|e| e.properties.uniq_key())
                .collect();
            let mut batch = Message::new(wrapped.clone(), body);
            batch
                .properties_mut()
                .insert(property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX, ids.join(","));
            let began = Instant::now();
            let sent = self
                .send_with_retries(&batch, 0, Mode::Sync, Some(&chunk))
                .await
                .and_then(answered);
            self.observe(began, chunk.len(), &sent);
            results.push(sent?);
        }
        Ok(results)
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

    async fn send_routed(&self, mut message: Message, mode: Mode) -> Result<Option<SendResult>> {
        let began = Instant::now();
        let result = match self.prepare(&mut message) {
            Ok(sys_flag) => self.send_with_retries(&message, sys_flag, mode, None).await,
            Err(e) => Err(e),
        };
        self.observe(began, 1, &result);
        result
    }

    /// The writable queues of `topic`; for a topic the name servers do not know, queues on
    /// the brokers of [`AUTO_CREATE_TOPIC`] (every send names it as the template, so the broker
    /// creates the topic on first use). The list is cached per route version.
    async fn publish_info(&self, topic: &str) -> Result<Arc<Vec<MessageQueue>>> {
        let client = &self.inner.client;
        // The route and whether it comes fresh from the name servers.
        let mut found = match client.cached_route(topic) {
            Some(r) => Ok((r, false)),
            None => client.fetch_route(topic).await.map(|r| (r, true)),
        };
        loop {
            let (route, fresh) = match found {
                Ok(r) => r,
                Err(e) if e.kind() == ErrorKind::TopicNotFound => {
                    return self.auto_create_queues(topic, e).await
                }
                Err(e) => return Err(e),
            };
            {
                let cache = self
                    .inner
                    .queue_cache
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                if let Some((r, q)) = cache.get(topic) {
                    if Arc::ptr_eq(r, &route) {
                        return Ok(q.clone());
                    }
                }
            }
            let queues = publish_queues(topic, &route);
            if queues.is_empty() {
                if !fresh {
                    // As Apache's producer does when its cached route offers no queue (say the
                    // only master was down when the route was cached and is back): ask the
                    // name servers instead of failing until the periodic refresh.
                    found = client.fetch_route(topic).await.map(|r| (r, true));
                    continue;
                }
                return Err(Error::new(
                    ErrorKind::TopicNotFound,
                    "send",
                    format!("topic {topic} has no writable queue"),
                ));
            }
            let queues = Arc::new(queues);
            self.inner
                .queue_cache
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(topic.to_owned(), (route, queues.clone()));
            return Ok(queues);
        }
    }

    /// Queues for `topic`, unknown to the name servers (`unknown` says so), on the brokers of
    /// [`AUTO_CREATE_TOPIC`].
    async fn auto_create_queues(
        &self,
        topic: &str,
        unknown: Error,
    ) -> Result<Arc<Vec<MessageQueue>>> {
        let template = self
            .inner
            .client
            .route(AUTO_CREATE_TOPIC)
            .await
            .map_err(|_| {
                Error::new(
                    ErrorKind::TopicNotFound,
                    "send",
                    format!("no route for topic {topic}"),
                )
                .with_source(unknown)
            })?;
        let n = self.inner.options.default_topic_queue_nums;
        let mut queues = Vec::new();
        let mut datas: Vec<_> = template
            .queue_datas
            .iter()
            .filter(|q| perm::is_writeable(q.perm))
            .collect();
        datas.sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
        for qd in datas {
            let count = n.min(qd.read_queue_nums);
            queues.extend((0..count).map(|i| MessageQueue::new(topic, &qd.broker_name, i)));
        }
        if queues.is_empty() {
            return Err(Error::new(
                ErrorKind::TopicNotFound,
                "send",
                format!("no route for topic {topic}"),
            ));
        }
        Ok(Arc::new(queues))
    }

    async fn send_with_retries(
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

    fn header(
        &self,
        message: &Message,
        sys_flag: i32,
        queue: &MessageQueue,
        batch: bool,
    ) -> SendMessageRequestHeaderV2 {
        let retry = message
            .topic()
            .starts_with(ferromq_protocol::names::RETRY_TOPIC_PREFIX);
        SendMessageRequestHeaderV2 {
            producer_group: self.inner.options.group.clone(),
            topic: message.topic().to_owned(),
            default_topic: AUTO_CREATE_TOPIC.to_owned(),
            default_topic_queue_nums: self.inner.options.default_topic_queue_nums,
            queue_id: queue.queue_id,
            sys_flag,
            born_timestamp: now_ms(),
            flag: message.flag(),
            properties: Some(message.properties().encode()),
            reconsume_times: Some(if retry {
                message
                    .property(property::RECONSUME_TIME)
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0)
            } else {
                0
            }),
            unit_mode: Some(false),
            max_reconsume_times: if retry {
                message
                    .property(property::MAX_RECONSUME_TIMES)
                    .and_then(|v| v.parse().ok())
            } else {
                None
            },
            batch: Some(batch),
            broker_name: Some(queue.broker_name.clone()),
        }
    }

    async fn send_batch_once(
        &self,
        batch: &Message,
        entries: &[BatchMessage],
        queue: &MessageQueue,
    ) -> Result<Option<SendResult>> {
        let mut header = self.header(batch, 0, queue, true);
        // The batch's own properties carry only WAIT (the ids are inside each entry).
        let mut props = ferromq_protocol::message::Properties::new();
        props.insert(property::WAIT_STORE_MSG_OK, "true");
        header.properties = Some(props.encode());
        let request =
            RemotingCommand::request_with_header(RequestCode::SEND_BATCH_MESSAGE, &header)
                .with_body(batch.body().clone());
        let ids = batch
            .property(property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX)
            .unwrap_or_default()
            .to_owned();
        let traced = Traced::Batch(batch.topic(), entries);
        self.exchange(request, queue, Mode::Sync, ids, traced).await
    }

    async fn send_once(
        &self,
        message: &Message,
        sys_flag: i32,
        queue: &MessageQueue,
        mode: Mode,
    ) -> Result<Option<SendResult>> {
        let header = self.header(message, sys_flag, queue, false);
        // A reply (MSG_TYPE=reply) goes as SEND_REPLY_MESSAGE_V2, as Java's client sends it.
        let code = if message.is_reply() {
            RequestCode::SEND_REPLY_MESSAGE_V2
        } else {
            RequestCode::SEND_MESSAGE_V2
        };
        let request =
            RemotingCommand::request_with_header(code, &header).with_body(message.body().clone());
        let id = message
            .property(property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX)
            .unwrap_or_default()
            .to_owned();
        self.exchange(request, queue, mode, id, Traced::One(message))
            .await
    }

    async fn exchange(
        &self,
        request: RemotingCommand,
        queue: &MessageQueue,
        mode: Mode,
        msg_id: String,
        traced: Traced<'_>,
    ) -> Result<Option<SendResult>> {
        let began_ms = now_ms();
        let client = &self.inner.client;
        let addr = client
            .master_addr_for(&queue.broker_name, &queue.topic)
            .await
            .or_else(|e| client.master_addr(&queue.broker_name).ok_or(e))?;
        if mode == Mode::Oneway {
            client.broker_oneway(&addr, request).await?;
            return Ok(None);
        }
        let response = client
            .broker_request(&addr, request, self.inner.options.send_timeout)
            .await?;
        let status = match response.response_code() {
            ResponseCode::SUCCESS => SendStatus::Ok,
            ResponseCode::FLUSH_DISK_TIMEOUT => SendStatus::FlushDiskTimeout,
            ResponseCode::FLUSH_SLAVE_TIMEOUT => SendStatus::FlushSlaveTimeout,
            ResponseCode::SLAVE_NOT_AVAILABLE => SendStatus::SlaveNotAvailable,
            _ => return Err(Error::from_response("send", &response)),
        };
        let header: SendMessageResponseHeader =
            response.header().map_err(|e| Error::protocol("send", e))?;
        let result = SendResult {
            status,
            msg_id,
            offset_msg_id: header.msg_id,
            // What the application sent to: the topic without the namespace.
            queue: MessageQueue::new(
                self.inner.ns.unwrap(&queue.topic),
                queue.broker_name.clone(),
                header.queue_id,
            ),
            queue_offset: header.queue_offset,
            transaction_id: header.transaction_id,
            recall_handle: header.recall_handle,
        };
        if let Some(tracer) = &self.inner.tracer {
            let answer = SendAnswer {
                result: &result,
                broker_addr: &addr,
                region: header.msg_region.as_deref(),
                trace_on: header.trace_on,
                began_ms,
            };
            match traced {
                Traced::One(message) => tracer.on_send(message, &answer),
                Traced::Batch(topic, entries) => tracer.on_send_batch(topic, entries, &answer),
            }
        }
        Ok(Some(result))
    }
}

/// Request-reply (docs/request-reply.md): a request is a message sent with a correlation id;
/// the call completes when the reply the broker pushes back arrives, or fails with
/// [`ErrorKind::Timeout`] when none arrives within the timeout (a late reply is then dropped).
impl Producer {
    /// Sends `message` as a request and waits up to `timeout` (send included) for its reply
    /// (Java's `DefaultMQProducer.request(msg, timeout)`).
    pub async fn request(&self, message: Message, timeout: Duration) -> Result<MessageView> {
        self.request_on(message, timeout, None).await
    }

    /// [`Self::request`] sent to the given queue.
    pub async fn request_to_queue(
        &self,
        message: Message,
        queue: &MessageQueue,
        timeout: Duration,
    ) -> Result<MessageView> {
        self.request_on(message, timeout, Some(queue.clone())).await
    }

    /// [`Self::request`] sent to the queue `selector` picks given `arg`.
    pub async fn request_with_selector(
        &self,
        message: Message,
        selector: &dyn QueueSelector,
        arg: &str,
        timeout: Duration,
    ) -> Result<MessageView> {
        let queue = self
            .select_queue("request", &message, selector, arg)
            .await?;
        self.request_on(message, timeout, Some(queue)).await
    }

    /// [`Self::request`] without waiting in the caller: the request runs as a task on the
    /// producer's runtime and `callback` gets the reply or the error on a runtime thread
    /// (Java's `request(msg, RequestCallback, timeout)`).
    pub fn request_async<F>(&self, message: Message, timeout: Duration, callback: F)
    where
        F: FnOnce(Result<MessageView>) + Send + 'static,
    {
        let this = self.clone();
        self.inner.runtime.spawn(async move {
            callback(this.request(message, timeout).await);
        });
    }

    /// Sends a reply built with [`Message::reply_to`] (SEND_REPLY_MESSAGE_V2). The broker
    /// answers SUCCESS only once the requester took the reply. [`Self::send`] sends a reply the
    /// same way; this refuses a message that is not a reply.
    pub async fn send_reply(&self, reply: Message) -> Result<SendResult> {
        if !reply.is_reply() {
            return Err(Error::invalid(
                "send reply",
                "not a reply message (build it with Message::reply_to)",
            ));
        }
        self.send(reply).await
    }

    async fn request_on(
        &self,
        mut message: Message,
        timeout: Duration,
        queue: Option<MessageQueue>,
    ) -> Result<MessageView> {
        if timeout.is_zero() {
            return Err(Error::invalid("request", "the timeout is zero"));
        }
        let began = Instant::now();
        let id = crate::request::correlation_id();
        let client_id = self.inner.client.id().to_owned();
        let ttl = timeout.as_millis().to_string();
        let props = message.properties_mut();
        props.insert(property::CORRELATION_ID, id.as_str());
        props.insert(property::MESSAGE_REPLY_TO_CLIENT, client_id);
        props.insert(property::MESSAGE_TTL, ttl);
        // The broker pushes the reply over the connection this client heartbeats on as a
        // producer: on a first request to a topic, make sure its brokers know this client (as
        // Java's `prepareSendRequest`).
        let wrapped = self.inner.ns.wrap(message.topic());
        if self.inner.client.cached_route(&wrapped).is_none() {
            self.publish_info(&wrapped).await?;
            self.inner.client.heartbeat().await;
        }
        let pending = crate::request::Pending::register(id);
        let send = async {
            match &queue {
                Some(q) => self.send_to_queue(message, q).await,
                None => self.send(message).await,
            }
        };
        match crate::rt::timeout(timeout, send).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    "request",
                    format!("the request was not sent within {} ms", timeout.as_millis()),
                ))
            }
        }
        let left = timeout.saturating_sub(began.elapsed());
        let reply = pending.wait(left.max(Duration::from_millis(1))).await?;
        Ok(self.inner.ns.unwrap_view(reply))
    }
}

/// What one send attempt carries, for the trace records.
#[derive(Clone, Copy)]
enum Traced<'a> {
    One(&'a Message),
    /// A batch to `topic` (as sent), with its entries in order.
    Batch(&'a str, &'a [BatchMessage]),
}

/// Sync sends always produce a result (only oneway sends give `None`).
fn answered(result: Option<SendResult>) -> Result<SendResult> {
    result.ok_or_else(|| Error::illegal_state("send", "no send result"))
}
