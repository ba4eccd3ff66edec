//! `Producer`: sync (awaited), oneway, to a queue, by sharding key and batch sends, and
//! request-reply (requests awaiting their reply, and replies).

use std::time::Duration;

use napi::bindgen_prelude::Either;
use napi::Env;
use napi_derive::napi;

use ferromq_client::{
    ForeignSelector, Lifecycle, Producer as CoreProducer, ProducerOptions as CoreOptions,
    SelectByHash,
};

use crate::error::Fallible;
use crate::message::{Message, MessageQueue, ReceivedMessage, SendResult};
use crate::metrics::ProducerMetrics;
use crate::options::{client_config, Common, Credentials, TlsOptions};
use crate::promise::JsPromise;
use crate::selector::{JsSelector, SelectorFn};

/// Producer settings.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct ProducerOptions {
    /// Name servers, `host:port` separated by `;`.
    pub namesrv_addr: String,
    /// Producer group (`DEFAULT_PRODUCER`; required and unique for transactions).
    pub group: Option<String>,
    /// Instance name: objects with the same name servers and instance name share one
    /// connection set and client id (`DEFAULT`).
    pub instance_name: Option<String>,
    /// Timeout of ordinary requests to name servers and brokers, ms (3000).
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
    /// Timeout of one send attempt, ms (3000).
    pub send_timeout_ms: Option<u32>,
    /// Extra attempts of a failed send, on another broker when there is one (2).
    pub retry_times: Option<u32>,
    /// Largest body or batch accepted, bytes (4 MiB).
    pub max_message_size: Option<u32>,
    /// Bodies longer than this are compressed, bytes (4096).
    pub compress_threshold: Option<u32>,
    /// Record each accepted send in the trace topic, Apache's format (Java `enableMsgTrace`; false).
    pub enable_msg_trace: Option<bool>,
    /// The trace topic (Java `customizedTraceTopic`; `RMQ_SYS_TRACE_TOPIC`).
    pub trace_topic: Option<String>,
}

impl ProducerOptions {
    pub(crate) fn to_core(&self) -> Result<CoreOptions, ferromq_client::Error> {
        let mut o = CoreOptions {
            client: client_config(Common {
                namesrv_addr: &self.namesrv_addr,
                instance_name: self.instance_name.as_deref(),
                request_timeout_ms: self.request_timeout_ms,
                credentials: self.credentials.as_ref(),
                tls: self.tls.as_ref(),
                namespace: self.namespace.as_deref(),
            })?,
            ..CoreOptions::default()
        };
        if let Some(g) = &self.group {
            o.group = g.clone();
        }
        if let Some(ms) = self.send_timeout_ms {
            o.send_timeout = Duration::from_millis(u64::from(ms));
        }
        if let Some(n) = self.retry_times {
            o.retry_times = n;
        }
        if let Some(n) = self.max_message_size {
            o.max_message_size = n as usize;
        }
        if let Some(n) = self.compress_threshold {
            o.compress_threshold = n as usize;
        }
        o.enable_msg_trace = self.enable_msg_trace.unwrap_or(false);
        o.trace_topic = self.trace_topic.clone();
        Ok(o)
    }
}

/// How a request is sent and how long it waits (docs/request-reply.md).
#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct RequestOptions {
    /// How long the request may take, send included, ms (3000). Without a reply by then the
    /// promise rejects with `Timeout` (a reply arriving later is dropped); 0 and negative
    /// values are refused.
    pub timeout_ms: Option<i64>,
    /// Send the request to this queue (one attempt).
    pub queue: Option<MessageQueue>,
    /// Send the request to the queue this key hashes to, as `sendWithShardingKey`; `queue`
    /// wins when both are given.
    pub sharding_key: Option<String>,
}

/// The default request timeout, ms.
const REQUEST_TIMEOUT_MS: u64 = 3000;

impl RequestOptions {
    /// The whole timeout; a negative one is refused here, zero by the core.
    fn timeout(&self) -> Result<Duration, ferromq_client::Error> {
        match self.timeout_ms {
            None => Ok(Duration::from_millis(REQUEST_TIMEOUT_MS)),
            Some(ms) => u64::try_from(ms).map(Duration::from_millis).map_err(|_| {
                ferromq_client::Error::invalid("request", "timeoutMs must not be negative")
            }),
        }
    }
}

/// A producer. `await producer.start()` before sending, `await producer.shutdown()` at the end.
/// It starts once: a second `start`, or a `start` after `shutdown`, rejects with
/// `IllegalState` (create a new producer).
///
/// Every send returns a Promise; for "async" sends, start many and await them together.
#[napi]
#[derive(Debug)]
pub struct Producer {
    options: ProducerOptions,
    lifecycle: Lifecycle<CoreProducer>,
}

#[napi]
impl Producer {
    /// A producer with `options` (not started yet).
    #[napi(constructor)]
    pub fn new(options: ProducerOptions) -> Self {
        Producer {
            options,
            lifecycle: Lifecycle::new("producer"),
        }
    }

    fn get(&self, op: &'static str) -> Result<CoreProducer, ferromq_client::Error> {
        self.lifecycle.get(op)
    }

    /// Connects to the name servers and registers the group.
    #[napi(ts_return_type = "Promise<void>")]
    pub async fn start(&self) -> Fallible<()> {
        let started = match self.options.to_core() {
            Ok(options) => self.lifecycle.start(|| CoreProducer::start(options)).await,
            Err(e) => Err(e),
        };
        Fallible(started.map(|_| ()))
    }

    /// Sends and resolves with the broker's answer (retried on failure, as configured).
    #[napi(ts_return_type = "Promise<SendResult>")]
    pub fn send(&self, env: Env, message: Message) -> napi::Result<JsPromise> {
        let p = self.get("send");
        let m = message.into_core();
        JsPromise::new(
            &env,
            async move { p?.send(m).await.map(SendResult::from_core) },
        )
    }

    /// `send` that blocks the JavaScript thread until the broker answered and returns the
    /// SendResult (throws the same errors). The request is written and its answer awaited on
    /// the calling thread, without the hops of a Promise (a runtime task, then the event
    /// loop): for scripts that send one message at a time and have nothing else to run
    /// meanwhile. Timers and I/O callbacks wait while it blocks (at most the send timeout
    /// times the attempts).
    #[napi(ts_return_type = "SendResult")]
    pub fn send_sync(&self, message: Message) -> Fallible<SendResult> {
        let r = self.get("send").and_then(|p| {
            let m = message.into_core();
            // Polled here, inside the runtime's context (`ferromq_client::blocking`).
            napi::bindgen_prelude::within_runtime_if_available(|| {
                ferromq_client::blocking::block_here(p.send(m))
            })
            .map(SendResult::from_core)
        });
        Fallible(r)
    }

    /// Sends without waiting for the broker (no answer, never retried); resolves once the
    /// bytes are written.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn send_oneway(&self, env: Env, message: Message) -> napi::Result<JsPromise> {
        let p = self.get("send");
        let m = message.into_core();
        JsPromise::new(&env, async move { p?.send_oneway(m).await })
    }

    /// Sends to the given queue (one attempt).
    #[napi(ts_return_type = "Promise<SendResult>")]
    pub fn send_to_queue(
        &self,
        env: Env,
        message: Message,
        queue: MessageQueue,
    ) -> napi::Result<JsPromise> {
        let p = self.get("send");
        let m = message.into_core();
        let q = queue.to_core();
        JsPromise::new(&env, async move {
            p?.send_to_queue(m, &q).await.map(SendResult::from_core)
        })
    }

    /// Sends to the queue chosen by hashing `shardingKey` (ordered messages: all messages of
    /// one key land in one queue, in send order). One attempt.
    #[napi(ts_return_type = "Promise<SendResult>")]
    pub fn send_with_sharding_key(
        &self,
        env: Env,
        message: Message,
        sharding_key: String,
    ) -> napi::Result<JsPromise> {
        let p = self.get("send");
        let m = message.into_core();
        JsPromise::new(&env, async move {
            p?.send_with_selector(m, &SelectByHash, &sharding_key)
                .await
                .map(SendResult::from_core)
        })
    }

    /// Sends to the queue `selector(message, queueCount)` picks among the topic's writable
    /// queues: it returns an index from 0 to `queueCount - 1` (one attempt, as with a sharding
    /// key). It runs on the JavaScript thread while the send waits. A throw or any other answer
    /// rejects with `InvalidArgument` (nothing is sent).
    #[napi(
        ts_args_type = "message: Message, selector: (message: Message, queueCount: number) => number",
        ts_return_type = "Promise<SendResult>"
    )]
    pub async fn send_with_selector(
        &self,
        message: Message,
        selector: SelectorFn,
    ) -> Fallible<SendResult> {
        let js = JsSelector::new(selector);
        let selector = ForeignSelector(|m: &ferromq_client::Message, n: usize| js.answer(m, n));
        let r = async {
            let p = self.get("send")?;
            p.send_with_selector(message.into_core(), &selector, "")
                .await
                .map(SendResult::from_core)
        };
        let r = r.await;
        js.release();
        Fallible(r)
    }

    /// Sends messages of one topic as batches (split to respect the size limit); resolves with
    /// one result per batch sent.
    #[napi(ts_return_type = "Promise<Array<SendResult>>")]
    pub fn send_batch(&self, env: Env, messages: Vec<Message>) -> napi::Result<JsPromise> {
        let p = self.get("send batch");
        let messages: Vec<_> = messages.into_iter().map(Message::into_core).collect();
        JsPromise::new(&env, async move {
            p?.send_batch(messages)
                .await
                .map(|v| v.into_iter().map(SendResult::from_core).collect::<Vec<_>>())
        })
    }

    /// Sends `message` as a request and resolves with its reply (docs/request-reply.md): a
    /// responder consuming the topic answers with `replyTo(request, body)` and `sendReply`.
    /// Rejects with `Timeout` when no reply arrives within `options.timeoutMs` (3000 ms, send
    /// included).
    #[napi(ts_return_type = "Promise<ReceivedMessage>")]
    pub async fn request(
        &self,
        message: Message,
        options: Option<RequestOptions>,
    ) -> Fallible<ReceivedMessage> {
        let options = options.unwrap_or_default();
        let r = async {
            let timeout = options.timeout()?;
            let p = self.get("request")?;
            let m = message.into_core();
            let reply = match (options.queue, options.sharding_key) {
                (Some(q), _) => p.request_to_queue(m, &q.to_core(), timeout).await,
                (None, Some(k)) => p.request_with_selector(m, &SelectByHash, &k, timeout).await,
                (None, None) => p.request(m, timeout).await,
            };
            reply.map(|v| ReceivedMessage::from_core(&v))
        };
        Fallible(r.await)
    }

    /// A request to the queue `selector(message, queueCount)` picks, as in `sendWithSelector`.
    /// `options.queue` and `options.shardingKey` are refused here (`InvalidArgument`).
    #[napi(
        ts_args_type = "message: Message, selector: (message: Message, queueCount: number) => number, options?: RequestOptions | undefined | null",
        ts_return_type = "Promise<ReceivedMessage>"
    )]
    pub async fn request_with_selector(
        &self,
        message: Message,
        selector: SelectorFn,
        options: Option<RequestOptions>,
    ) -> Fallible<ReceivedMessage> {
        let options = options.unwrap_or_default();
        let js = JsSelector::new(selector);
        let selector = ForeignSelector(|m: &ferromq_client::Message, n: usize| js.answer(m, n));
        let r = async {
            if options.queue.is_some() || options.sharding_key.is_some() {
                return Err(ferromq_client::Error::invalid(
                    "request",
                    "requestWithSelector takes no queue or shardingKey (the selector picks)",
                ));
            }
            let timeout = options.timeout()?;
            let p = self.get("request")?;
            p.request_with_selector(message.into_core(), &selector, "", timeout)
                .await
                .map(|v| ReceivedMessage::from_core(&v))
        };
        let r = r.await;
        js.release();
        Fallible(r)
    }

    /// Sends a reply built with `replyTo(request, body)`; resolves once the broker handed it
    /// to the requester (a requester that is gone or gave up rejects with `Broker`). A message
    /// that is not a reply rejects with `InvalidArgument`. (`send` sends a reply the same way.)
    #[napi(ts_return_type = "Promise<SendResult>")]
    pub async fn send_reply(&self, reply: Message) -> Fallible<SendResult> {
        let r = async {
            let p = self.get("send reply")?;
            p.send_reply(reply.into_core())
                .await
                .map(SendResult::from_core)
        };
        Fallible(r.await)
    }

    /// The producer's client-side counters since it started (a snapshot): sends, messages,
    /// failed sends and a histogram of send latency. Throws `IllegalState` unless started.
    #[napi(ts_return_type = "ProducerMetrics")]
    pub fn metrics(&self) -> Fallible<ProducerMetrics> {
        Fallible(
            self.get("metrics")
                .map(|p| ProducerMetrics::from_core(&p.metrics())),
        )
    }

    /// Unregisters the group and stops the producer for good; later sends fail with
    /// `IllegalState`, a second call does nothing.
    #[napi]
    pub async fn shutdown(&self) {
        self.lifecycle.shutdown().await;
    }
}
