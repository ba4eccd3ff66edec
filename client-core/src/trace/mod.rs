//! Message trace (docs/message-trace.md): with `enable_msg_trace` set, a producer records each
//! send the broker accepted (a transaction producer also each transaction it ended) and a push
//! consumer each message it handed to its listener, and a background task writes those records
//! to the trace topic (`RMQ_SYS_TRACE_TOPIC` unless another is chosen) in Apache's trace data format ([`data`]), keyed by message id and keys so
//! `mqadmin queryMsgTraceById` (Apache's or FerroMQ's) finds them.
//!
//! Tracing never blocks or fails the user's send or consumption: records go into a bounded
//! queue, a full queue drops the record (counted, see [`crate::Producer::traces_dropped`]), and a
//! failed trace send is logged and counted the same way. Shutdown flushes what is queued,
//! waiting at most 5 s.

pub mod data;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferromq_protocol::message::{property, BatchMessage};
use tokio::sync::{mpsc, oneshot};

pub use data::{TraceRecord, TraceType};

use crate::client::{now_ms, ClientConfig};
use crate::error::{Error, Result};
use crate::message::{Message, MessageView, SendResult, SendStatus};
use crate::namespace::Namespace;
use crate::producer::{Producer, ProducerOptions};
use crate::transaction::TransactionState;

/// The default trace topic (Java `TopicValidator.RMQ_SYS_TRACE_TOPIC`).
pub const TRACE_TOPIC: &str = "RMQ_SYS_TRACE_TOPIC";
/// Prefix of the trace producer's group: `_INNER_TRACE_PRODUCER-<group>-<PRODUCE|CONSUME>-<n>`.
pub const TRACE_PRODUCER_GROUP_PREFIX: &str = "_INNER_TRACE_PRODUCER";
/// Prefix of the trace producer's instance name (`..._<name servers>`), so its client is
/// apart from the traced one's, as Java's.
pub const TRACE_INSTANCE_NAME: &str = "PID_CLIENT_INNER_TRACE_PRODUCER";
/// Records waiting to be written; more are dropped (Java's 2048).
pub const TRACE_QUEUE_CAPACITY: usize = 2048;
/// Records written in one trace message at most (Java's batch limit, 20).
const BATCH: usize = 20;
/// Trace data bytes in one trace message at most (Java's 128000).
const MAX_TRACE_BODY: usize = 128_000;
/// How long shutdown waits for queued records to be written.
const FLUSH_WAIT: Duration = Duration::from_secs(5);

/// Whose steps a tracer records (Java `TraceDispatcher.Type`), part of the trace group name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Produce,
    Consume,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Produce => "PRODUCE",
            Role::Consume => "CONSUME",
        }
    }
}

static TRACER_COUNT: AtomicU64 = AtomicU64::new(0);

/// The trace topic a `customized` option names (blank means the default), checked.
pub fn trace_topic(customized: Option<&str>) -> Result<String> {
    match customized.map(str::trim) {
        None | Some("") => Ok(TRACE_TOPIC.to_owned()),
        Some(t) => {
            ferromq_protocol::names::check_topic(t)
                .map_err(|e| Error::invalid("start", format!("trace topic: {e}")))?;
            Ok(t.to_owned())
        }
    }
}

/// Records trace records of one producer or push consumer and writes them in the background.
pub(crate) struct Tracer {
    topic: String,
    /// The group without the namespace.
    group: String,
    /// The traced client's namespace: records name topics and groups without it, as Java's
    /// trace hooks (`NamespaceUtil.withoutNamespace`).
    ns: Namespace,
    sender: Mutex<Option<mpsc::Sender<TraceRecord>>>,
    finished: Mutex<Option<oneshot::Receiver<()>>>,
    dropped: Arc<AtomicU64>,
    producer: Producer,
}

impl std::fmt::Debug for Tracer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracer")
            .field("topic", &self.topic)
            .field("group", &self.group)
            .finish()
    }
}

/// The broker's answer to one send attempt, for its `Pub` records.
pub(crate) struct SendAnswer<'a> {
    pub(crate) result: &'a SendResult,
    pub(crate) broker_addr: &'a str,
    /// The answer's `MSG_REGION`.
    pub(crate) region: Option<&'a str>,
    /// The answer's `TRACE_ON`: `Some(false)` turns the record off.
    pub(crate) trace_on: Option<bool>,
    /// When the attempt began (ms since the epoch).
    pub(crate) began_ms: i64,
}

/// One END_TRANSACTION a transaction producer sends, for its `EndTransaction` record.
pub(crate) struct EndTransactionTrace<'a> {
    /// The topic, with or without the namespace.
    pub(crate) topic: &'a str,
    pub(crate) tags: Option<&'a str>,
    pub(crate) keys: Option<&'a str>,
    /// The half message's `MSG_REGION`.
    pub(crate) region: Option<&'a str>,
    /// The message id (UNIQ_KEY).
    pub(crate) msg_id: &'a str,
    pub(crate) transaction_id: Option<&'a str>,
    pub(crate) broker_addr: &'a str,
    pub(crate) state: TransactionState,
    /// Whether this answers a check-back (`fromTransactionCheck`).
    pub(crate) from_check: bool,
}

/// What [`Tracer::before_consume`] recorded, for [`Tracer::after_consume`].
pub(crate) struct ConsumeTrace {
    began_ms: i64,
    before: Vec<TraceRecord>,
}

impl Tracer {
    /// Starts the trace producer for `group`'s producer or consumer (`group` with or without
    /// the client's namespace). The trace producer itself uses no namespace, as Java's (its
    /// dispatcher gets only a 5.x `namespaceV2`): the records go to the trace topic by its bare
    /// name, where Apache's `queryMsgTraceById` looks.
    pub(crate) async fn start(
        client: &ClientConfig,
        group: &str,
        role: Role,
        customized_topic: Option<&str>,
    ) -> Result<Arc<Tracer>> {
        let topic = trace_topic(customized_topic)?;
        let ns = Namespace::new(client.namespace.as_deref())?;
        let group = ns.unwrap(group);
        let n = TRACER_COUNT.fetch_add(1, Ordering::Relaxed) + 1;
        let options = ProducerOptions {
            client: ClientConfig {
                instance_name: format!("{TRACE_INSTANCE_NAME}_{}", client.namesrv_addr),
                namespace: None,
                ..client.clone()
            },
            group: format!("{TRACE_PRODUCER_GROUP_PREFIX}-{group}-{}-{n}", role.name()),
            send_timeout: Duration::from_secs(5),
            enable_msg_trace: false,
            ..ProducerOptions::default()
        };
        let producer = Producer::start_untraced(options).await?;
        let (tx, rx) = mpsc::channel(TRACE_QUEUE_CAPACITY);
        let (done_tx, done_rx) = oneshot::channel();
        let dropped = Arc::new(AtomicU64::new(0));
        crate::rt::spawn(write_loop(
            rx,
            producer.clone(),
            topic.clone(),
            dropped.clone(),
            done_tx,
        ));
        Ok(Arc::new(Tracer {
            topic,
            group,
            ns,
            sender: Mutex::new(Some(tx)),
            finished: Mutex::new(Some(done_rx)),
            dropped,
            producer,
        }))
    }

    /// The trace topic records go to.
    pub(crate) fn topic(&self) -> &str {
        &self.topic
    }

    /// Records dropped so far (queue full, tracer shut down, or the trace send failed).
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn append(&self, record: TraceRecord) {
        let sender = ferromq_common::lock(&self.sender);
        let accepted = sender.as_ref().is_some_and(|s| s.try_send(record).is_ok());
        if !accepted {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            // Logged at the first drop and then every 1000th, so a flood stays readable.
            if n == 1 || n.is_multiple_of(1000) {
                tracing::warn!(dropped = n, topic = %self.topic, "trace queue full; trace records dropped");
            }
        }
    }

    /// Records a send the broker answered (Java `SendMessageTraceHookImpl`).
    pub(crate) fn on_send(&self, message: &Message, answer: &SendAnswer<'_>) {
        if answer.trace_on == Some(false) || self.is_trace_topic(message.topic()) {
            return;
        }
        let delayed = [
            property::DELAY_TIME_LEVEL,
            "__STARTDELIVERTIME",
            property::TIMER_DELIVER_MS,
            property::TIMER_DELAY_MS,
            property::TIMER_DELAY_SEC,
        ]
        .iter()
        .any(|p| message.property(p).is_some());
        let msg_type = if message.property(property::TRANSACTION_PREPARED) == Some("true") {
            data::msg_type::TRANS_HALF
        } else if delayed {
            data::msg_type::DELAY
        } else {
            data::msg_type::NORMAL
        };
        self.append(TraceRecord {
            tags: java_text(message.tag()),
            keys: java_text(message.property(property::KEYS)),
            body_length: i32::try_from(message.body().len()).unwrap_or(i32::MAX),
            msg_type,
            ..self.pub_record(
                message.topic(),
                &answer.result.msg_id,
                &answer.result.offset_msg_id,
                answer,
            )
        });
    }

    /// Records a batch the broker answered: one `Pub` record per message, with its own id,
    /// offsetMsgId, tag, keys and body size, so each is found by its id. (Java records the
    /// batch as one record whose id is the ids joined with commas, which no query by id finds.)
    pub(crate) fn on_send_batch(
        &self,
        topic: &str,
        entries: &[BatchMessage],
        answer: &SendAnswer<'_>,
    ) {
        if answer.trace_on == Some(false) || self.is_trace_topic(topic) {
            return;
        }
        let mut ids = answer.result.msg_id.split(',');
        let mut offset_ids = answer.result.offset_msg_id.split(',');
        for entry in entries {
            let props = &entry.properties;
            let id = props
                .uniq_key()
                .map(str::to_owned)
                .or_else(|| ids.next().map(str::to_owned))
                .unwrap_or_default();
            let offset_id = offset_ids.next().unwrap_or_default();
            self.append(TraceRecord {
                tags: java_text(props.value(property::TAGS)),
                keys: java_text(props.value(property::KEYS)),
                body_length: i32::try_from(entry.body.len()).unwrap_or(i32::MAX),
                msg_type: data::msg_type::NORMAL,
                ..self.pub_record(topic, &id, offset_id, answer)
            });
        }
    }

    /// A `Pub` record of a message of `topic` (as sent) with the answer's fields filled in.
    fn pub_record(
        &self,
        topic: &str,
        msg_id: &str,
        offset_msg_id: &str,
        answer: &SendAnswer<'_>,
    ) -> TraceRecord {
        TraceRecord {
            timestamp: answer.began_ms,
            region_id: answer.region.unwrap_or_default().to_owned(),
            group: self.group.clone(),
            topic: self.ns.unwrap(topic),
            msg_id: msg_id.to_owned(),
            offset_msg_id: offset_msg_id.to_owned(),
            store_host: answer.broker_addr.to_owned(),
            cost_ms: elapsed_ms(answer.began_ms),
            success: answer.result.status == SendStatus::Ok,
            ..TraceRecord::new(TraceType::Pub)
        }
    }

    /// Whether `topic` is the trace topic (its own records are never traced).
    fn is_trace_topic(&self, topic: &str) -> bool {
        topic.starts_with(self.topic.as_str())
    }

    /// Records the end of a transaction (Java `EndTransactionTraceHookImpl`): decided by the
    /// local listener, or answering a broker's check-back (`from_check`).
    pub(crate) fn on_end_transaction(&self, end: &EndTransactionTrace<'_>) {
        if self.is_trace_topic(end.topic) {
            return;
        }
        let region = end
            .region
            .filter(|r| !r.is_empty())
            .unwrap_or("DefaultRegion");
        self.append(TraceRecord {
            timestamp: now_ms(),
            region_id: region.to_owned(),
            group: self.group.clone(),
            topic: self.ns.unwrap(end.topic),
            msg_id: end.msg_id.to_owned(),
            tags: java_text(end.tags),
            keys: java_text(end.keys),
            store_host: end.broker_addr.to_owned(),
            msg_type: data::msg_type::TRANS_COMMIT,
            transaction_id: java_text(end.transaction_id),
            transaction_state: end.state.java_name().to_owned(),
            from_transaction_check: end.from_check,
            ..TraceRecord::new(TraceType::EndTransaction)
        });
    }

    /// Records messages handed to the listener (Java `ConsumeMessageTraceHookImpl`, before);
    /// messages the broker marked `TRACE_ON=false` are left out.
    pub(crate) fn before_consume(&self, messages: &[MessageView]) -> Option<ConsumeTrace> {
        let began_ms = now_ms();
        let request_id = self
            .producer
            .client()
            .inner
            .uniq
            .next_id_at(crate::rt::now_ms());
        let before: Vec<TraceRecord> = messages
            .iter()
            .filter(|m| m.property(property::TRACE_SWITCH) != Some("false"))
            .map(|m| TraceRecord {
                timestamp: began_ms,
                region_id: m
                    .property(property::MSG_REGION)
                    .unwrap_or_default()
                    .to_owned(),
                group: self.group.clone(),
                request_id: request_id.clone(),
                topic: self.ns.unwrap(m.topic()),
                msg_id: m.msg_id(),
                tags: java_text(m.tag()),
                keys: java_text(m.property(property::KEYS)),
                retry_times: m.reconsume_times(),
                ..TraceRecord::new(TraceType::SubBefore)
            })
            .collect();
        if before.is_empty() {
            return None;
        }
        for r in &before {
            self.append(r.clone());
        }
        Some(ConsumeTrace { began_ms, before })
    }

    /// Records the listener's answer for what [`Self::before_consume`] recorded: `success`
    /// and a [`data::consume_code`].
    pub(crate) fn after_consume(&self, trace: ConsumeTrace, success: bool, code: i32) {
        let n = i64::try_from(trace.before.len()).unwrap_or(1).max(1);
        let cost = i32::try_from(now_ms().saturating_sub(trace.began_ms) / n).unwrap_or(i32::MAX);
        let now = now_ms();
        for b in trace.before {
            self.append(TraceRecord {
                timestamp: now,
                region_id: b.region_id,
                group: b.group,
                request_id: b.request_id,
                topic: b.topic,
                msg_id: b.msg_id,
                keys: b.keys,
                cost_ms: cost,
                success,
                context_code: code,
                ..TraceRecord::new(TraceType::SubAfter)
            });
        }
    }

    /// Writes what is queued (waiting at most 5 s) and stops the trace producer.
    pub(crate) async fn shutdown(&self) {
        drop(ferromq_common::lock(&self.sender).take());
        let finished = ferromq_common::lock(&self.finished).take();
        if let Some(finished) = finished {
            if crate::rt::timeout(FLUSH_WAIT, finished).await.is_err() {
                tracing::warn!(topic = %self.topic, "trace records still unwritten after 5 s; dropped");
            }
        }
        self.producer.shutdown_untraced().await;
    }
}

/// Java writes a missing tag or key as the text `null` (string concatenation of a null).
fn java_text(v: Option<&str>) -> String {
    v.unwrap_or("null").to_owned()
}

fn elapsed_ms(began_ms: i64) -> i32 {
    i32::try_from(now_ms().saturating_sub(began_ms).max(0)).unwrap_or(i32::MAX)
}

/// The index keys of a record: the message id and its keys (Java `TraceTransferBean`).
fn keys_of(record: &TraceRecord, keys: &mut BTreeSet<String>) {
    keys.insert(record.msg_id.clone());
    if record.keys != "null" {
        keys.extend(
            record
                .keys
                .split(property::KEY_SEPARATOR)
                .filter(|k| !k.is_empty())
                .map(str::to_owned),
        );
    }
}

async fn write_loop(
    mut rx: mpsc::Receiver<TraceRecord>,
    producer: Producer,
    topic: String,
    dropped: Arc<AtomicU64>,
    finished: oneshot::Sender<()>,
) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        // One trace message per traced topic, as Java groups them.
        let mut by_topic: BTreeMap<String, Vec<TraceRecord>> = BTreeMap::new();
        for r in batch {
            by_topic.entry(r.topic.clone()).or_default().push(r);
        }
        for records in by_topic.into_values() {
            let mut body = String::new();
            let mut keys = BTreeSet::new();
            let mut count = 0u64;
            for r in records {
                let encoded = r.encode();
                if !body.is_empty() && body.len() + encoded.len() > MAX_TRACE_BODY {
                    write(
                        &producer, &topic, &mut body, &mut keys, &mut count, &dropped,
                    )
                    .await;
                }
                keys_of(&r, &mut keys);
                body.push_str(&encoded);
                count += 1;
            }
            write(
                &producer, &topic, &mut body, &mut keys, &mut count, &dropped,
            )
            .await;
        }
    }
    let _ = finished.send(());
}

async fn write(
    producer: &Producer,
    topic: &str,
    body: &mut String,
    keys: &mut BTreeSet<String>,
    count: &mut u64,
    dropped: &AtomicU64,
) {
    if body.is_empty() {
        return;
    }
    let message = Message::new(topic, std::mem::take(body)).with_keys(std::mem::take(keys));
    if let Err(e) = producer.send(message).await {
        let n = dropped.fetch_add(*count, Ordering::Relaxed) + *count;
        tracing::warn!(%topic, error = %e, dropped = n, "trace send failed; its records are dropped");
    }
    *count = 0;
}
