//! `PullConsumer`: the lite pull consumer (assign or subscribe, poll, seek, commit, pause,
//! resume), also usable as `for await (const message of consumer)`.

use std::time::Duration;

use napi::bindgen_prelude::AsyncGenerator;
use napi::bindgen_prelude::Either;
use napi_derive::napi;

use ferromq_client::{
    Lifecycle, PullConsumer as CorePullConsumer, PullConsumerOptions as CoreOptions,
};

use crate::consumer::{consume_from, Filter};
use crate::error::Fallible;
use crate::message::{MessageQueue, ReceivedMessage};
use crate::options::{client_config, Common, Credentials, TlsOptions};

/// Pull consumer settings.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct PullConsumerOptions {
    /// Name servers, `host:port` separated by `;`.
    pub namesrv_addr: String,
    /// Consumer group (offsets are committed on the broker under it).
    pub group: String,
    /// Instance name (`DEFAULT`).
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
    /// Where a queue without a committed offset starts (`lastOffset`).
    #[napi(ts_type = "ConsumeFrom | 'lastOffset' | 'firstOffset' | 'timestamp'")]
    pub consume_from: Option<String>,
    /// The time for `consumeFrom: 'timestamp'`, ms since the epoch.
    pub consume_timestamp: Option<i64>,
    /// Messages per pull (10).
    pub pull_batch_size: Option<i32>,
    /// Commit consumed offsets in the background and at shutdown (true).
    pub auto_commit: Option<bool>,
    /// Background commit period, ms (5000).
    pub auto_commit_interval_ms: Option<u32>,
}

impl PullConsumerOptions {
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
        if let Some(n) = self.pull_batch_size {
            o.pull_batch_size = n;
        }
        if let Some(b) = self.auto_commit {
            o.auto_commit = b;
        }
        if let Some(ms) = self.auto_commit_interval_ms {
            o.auto_commit_interval = Duration::from_millis(u64::from(ms));
        }
        o.validate()?;
        Ok(o)
    }
}

/// A lite pull consumer. `await start()`, then `subscribe(topic)` (queues shared with the
/// group) or `assign(queues)` (exactly these), then `poll()` or iterate:
/// `for await (const m of consumer) { ... }` yields messages one by one (the core buffers a
/// polled batch) and ends after `shutdown()`. It starts once: a second `start`, or a `start`
/// after `shutdown`, rejects with `IllegalState`.
#[napi(async_iterator)]
pub struct PullConsumer {
    options: PullConsumerOptions,
    lifecycle: Lifecycle<CorePullConsumer>,
}

impl std::fmt::Debug for PullConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PullConsumer")
            .field("group", &self.options.group)
            .finish_non_exhaustive()
    }
}

fn queues(qs: Vec<MessageQueue>) -> Vec<ferromq_protocol::body::MessageQueue> {
    qs.iter().map(MessageQueue::to_core).collect()
}

#[napi]
impl PullConsumer {
    /// A consumer with `options` (not started yet).
    #[napi(constructor)]
    pub fn new(options: PullConsumerOptions) -> Self {
        PullConsumer {
            options,
            lifecycle: Lifecycle::new("pull consumer"),
        }
    }

    fn get(&self, op: &'static str) -> Result<CorePullConsumer, ferromq_client::Error> {
        self.lifecycle.get(op)
    }

    /// Joins the group (no queues yet).
    #[napi(ts_return_type = "Promise<void>")]
    pub async fn start(&self) -> Fallible<()> {
        let r = async {
            let options = self.options.to_core()?;
            self.lifecycle
                .start(|| CorePullConsumer::start(options))
                .await
                .map(|_| ())
        };
        Fallible(r.await)
    }

    /// Subscribes to `topic` (all messages when `filter` is omitted); the group's members
    /// share its queues.
    #[napi(ts_return_type = "Promise<void>")]
    pub async fn subscribe(&self, topic: String, filter: Option<Filter>) -> Fallible<()> {
        let r = async {
            let c = self.get("subscribe")?;
            c.subscribe(&topic, Filter::to_core(filter)?).await
        };
        Fallible(r.await)
    }

    /// Reads exactly `queues`, from their committed offsets (or `consumeFrom`).
    #[napi(ts_return_type = "Promise<void>")]
    pub async fn assign(&self, queues: Vec<MessageQueue>) -> Fallible<()> {
        let r = async {
            let c = self.get("assign")?;
            c.assign(self::queues(queues)).await
        };
        Fallible(r.await)
    }

    /// The readable queues of `topic`.
    #[napi(ts_return_type = "Promise<Array<MessageQueue>>")]
    pub async fn fetch_queues(&self, topic: String) -> Fallible<Vec<MessageQueue>> {
        let r = async {
            let c = self.get("fetch queues")?;
            let qs = c.fetch_queues(&topic).await?;
            Ok(qs.iter().map(MessageQueue::from_core).collect())
        };
        Fallible(r.await)
    }

    /// The queues currently read.
    #[napi]
    pub fn assignment(&self) -> Vec<MessageQueue> {
        self.lifecycle
            .current()
            .map(|c| c.assignment().iter().map(MessageQueue::from_core).collect())
            .unwrap_or_default()
    }

    /// The next batch of one queue, waiting up to `timeoutMs` (1000); empty if none came.
    /// The queue's consumed offset moves past the batch.
    #[napi(ts_return_type = "Promise<Array<ReceivedMessage>>")]
    pub async fn poll(&self, timeout_ms: Option<u32>) -> Fallible<Vec<ReceivedMessage>> {
        let r = async {
            let c = self.get("poll")?;
            let timeout = Duration::from_millis(u64::from(timeout_ms.unwrap_or(1000)));
            let batch = c.poll(timeout).await?;
            Ok(batch.iter().map(ReceivedMessage::from_core).collect())
        };
        Fallible(r.await)
    }

    /// Continues `queue` from `offset` (buffered messages of it are dropped).
    #[napi(ts_return_type = "Promise<void>")]
    pub async fn seek(&self, queue: MessageQueue, offset: i64) -> Fallible<()> {
        let r = async {
            let c = self.get("seek")?;
            c.seek(&queue.to_core(), offset).await
        };
        Fallible(r.await)
    }

    /// Continues `queue` from its first message.
    #[napi(ts_return_type = "Promise<void>")]
    pub async fn seek_to_begin(&self, queue: MessageQueue) -> Fallible<()> {
        self.seek(queue, 0).await
    }

    /// Continues `queue` after its last message.
    #[napi(ts_return_type = "Promise<void>")]
    pub async fn seek_to_end(&self, queue: MessageQueue) -> Fallible<()> {
        let r = async {
            let c = self.get("seek")?;
            c.seek_to_end(&queue.to_core()).await
        };
        Fallible(r.await)
    }

    /// Commits the consumed offsets of every queue on the broker now.
    #[napi(ts_return_type = "Promise<void>")]
    pub async fn commit(&self) -> Fallible<()> {
        let r = async { self.get("commit")?.commit().await };
        Fallible(r.await)
    }

    /// The offset committed on the broker for `queue` (`null` if none).
    #[napi(ts_return_type = "Promise<number | null>")]
    pub async fn committed(&self, queue: MessageQueue) -> Fallible<Option<i64>> {
        let r = async {
            let c = self.get("committed")?;
            c.committed(&queue.to_core()).await
        };
        Fallible(r.await)
    }

    /// Stops fetching `queues` (already buffered messages are still returned).
    #[napi]
    pub fn pause(&self, queues: Vec<MessageQueue>) {
        if let Some(c) = self.lifecycle.current() {
            c.pause(&self::queues(queues));
        }
    }

    /// Restarts fetching `queues`.
    #[napi]
    pub fn resume(&self, queues: Vec<MessageQueue>) {
        if let Some(c) = self.lifecycle.current() {
            c.resume(&self::queues(queues));
        }
    }

    /// Commits (with auto commit on), stops fetching and leaves the group; iteration ends.
    /// For good: a second call does nothing.
    #[napi]
    pub async fn shutdown(&self) {
        self.lifecycle.shutdown().await;
    }
}

#[napi]
impl AsyncGenerator for PullConsumer {
    type Yield = ReceivedMessage;
    type Next = ();
    type Return = ();

    fn next(
        &mut self,
        _value: Option<Self::Next>,
    ) -> impl std::future::Future<Output = napi::Result<Option<Self::Yield>>> + Send + 'static {
        let started = self.lifecycle.current();
        async move {
            let Some(c) = started else {
                return Ok(None);
            };
            match c.next_message(None).await {
                Ok(m) => Ok(m.as_ref().map(ReceivedMessage::from_core)),
                Err(e) => Err(napi::Error::from_reason(e.to_string())),
            }
        }
    }
}
