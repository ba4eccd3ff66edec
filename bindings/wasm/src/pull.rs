//! `PullConsumer`: the lite pull consumer (subscribe or assign, poll, seek, commit, pause,
//! resume), also `for await (const m of consumer)` over the core's `next_message`.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use ferromq_client::{
    FilterExpression, Lifecycle, PullConsumer as CorePullConsumer, PullConsumerOptions, State,
};
use ferromq_protocol::body::MessageQueue;
use js_sys::{Array, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::consumer::{consume_from, filter_from, opt_i32};
use crate::error::OrJs;
use crate::js;
use crate::message::{queue_from_js, queue_to_js, to_js as message_to_js};
use crate::options::{client_config, opt_ms};

fn options_from(v: &JsValue) -> Result<PullConsumerOptions, JsValue> {
    const OP: &str = "pull consumer";
    let mut o = PullConsumerOptions {
        client: client_config(v, OP)?,
        group: js::string(v, "group", OP)?,
        consume_from: consume_from(v, OP)?,
        ..PullConsumerOptions::default()
    };
    if let Some(n) = opt_i32(v, "pullBatchSize", OP)? {
        o.pull_batch_size = n;
    }
    if let Some(b) = js::opt_bool(v, "autoCommit", OP)? {
        o.auto_commit = b;
    }
    if let Some(d) = opt_ms(v, "autoCommitIntervalMs", OP)? {
        o.auto_commit_interval = d;
    }
    if let Some(d) = opt_ms(v, "rebalanceIntervalMs", OP)? {
        o.rebalance_interval = d;
    }
    o.validate().or_js()?;
    Ok(o)
}

fn queues_from(queues: &Array, op: &'static str) -> Result<Vec<MessageQueue>, JsValue> {
    queues.iter().map(|q| queue_from_js(&q, op)).collect()
}

/// A lite pull consumer: `subscribe(topic, filter)` (before or after `start`) or, once started,
/// `assign(queues)`; `await start()`, then `await poll()`, `await nextMessage()` or
/// `for await (const message of consumer) { ... }` (one message at a time from the core's
/// buffer; ends after `shutdown()`). It starts once: a second `start`, or a `start` after
/// `shutdown`, rejects with `IllegalState`.
///
/// Options: `namesrvAddr`, `group` (required), `instanceName`, `requestTimeoutMs`,
/// `consumeFrom` (`lastOffset`), `consumeTimestamp`, `pullBatchSize` (10), `autoCommit`
/// (true), `autoCommitIntervalMs` (5000), `rebalanceIntervalMs` (20000).
#[wasm_bindgen]
#[derive(Debug)]
pub struct PullConsumer {
    options: PullConsumerOptions,
    lifecycle: Lifecycle<CorePullConsumer>,
    /// Subscriptions made before `start`.
    subscriptions: Rc<RefCell<Vec<(String, FilterExpression)>>>,
}

#[wasm_bindgen]
impl PullConsumer {
    /// A consumer with `options` (not started yet). Throws on unusable options.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "PullConsumerOptions")] options: JsValue,
    ) -> Result<PullConsumer, JsValue> {
        Ok(PullConsumer::with(options_from(&options)?))
    }

    /// Subscribes to `topic` with `filter` (as `PushConsumer.subscribe`); before or after
    /// `start`.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn subscribe(
        &self,
        topic: String,
        #[wasm_bindgen(unchecked_param_type = "Filter | undefined")] filter: JsValue,
    ) -> Promise {
        let lifecycle = self.lifecycle.clone();
        let subscriptions = self.subscriptions.clone();
        let expression = filter_from(&filter, "subscribe");
        future_to_promise(async move {
            let expression = expression?;
            match lifecycle.state() {
                State::Created | State::Starting => {
                    let mut subs = subscriptions.borrow_mut();
                    subs.retain(|(t, _)| *t != topic);
                    subs.push((topic, expression));
                }
                State::Started | State::ShutDown => {
                    let c = lifecycle.get("subscribe").or_js()?;
                    c.subscribe(&topic, expression).await.or_js()?;
                }
            }
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Joins the group and starts pulling in the background.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn start(&self) -> Promise {
        let lifecycle = self.lifecycle.clone();
        let options = self.options.clone();
        let subs = self.subscriptions.clone();
        future_to_promise(async move {
            let subs = subs.borrow().clone();
            lifecycle
                .start(|| async move {
                    let c = CorePullConsumer::start(options).await?;
                    for (topic, expression) in subs {
                        if let Err(e) = c.subscribe(&topic, expression).await {
                            c.shutdown().await;
                            return Err(e);
                        }
                    }
                    Ok(c)
                })
                .await
                .or_js()?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// The next batch of messages of one queue (first what `nextMessage` left buffered),
    /// waiting up to `timeoutMs` (1000); empty if none came. The queue's consumed offset moves
    /// past the batch.
    #[wasm_bindgen(unchecked_return_type = "Promise<ReceivedMessage[]>")]
    pub fn poll(&self, #[wasm_bindgen(js_name = timeoutMs)] timeout_ms: Option<u32>) -> Promise {
        let lifecycle = self.lifecycle.clone();
        future_to_promise(async move {
            let c = lifecycle.get("poll").or_js()?;
            let timeout = Duration::from_millis(u64::from(timeout_ms.unwrap_or(1000)));
            let batch = c.poll(timeout).await.or_js()?;
            Ok(batch.iter().map(message_to_js).collect::<Array>().into())
        })
    }

    /// The next message, one at a time (a polled batch is buffered by the core and counts as
    /// consumed as a whole), waiting up to `timeoutMs` (without it: until a message comes);
    /// `null` when the time passed or the consumer was shut down.
    #[wasm_bindgen(js_name = nextMessage, unchecked_return_type = "Promise<ReceivedMessage | null>")]
    pub fn next_message(
        &self,
        #[wasm_bindgen(js_name = timeoutMs)] timeout_ms: Option<u32>,
    ) -> Promise {
        let lifecycle = self.lifecycle.clone();
        future_to_promise(async move {
            let c = lifecycle.get("next message").or_js()?;
            let limit = timeout_ms.map(|ms| Duration::from_millis(u64::from(ms)));
            let m = c.next_message(limit).await.or_js()?;
            Ok(m.as_ref().map_or(JsValue::NULL, message_to_js))
        })
    }

    /// The readable queues of `topic` (to `assign`).
    #[wasm_bindgen(js_name = fetchQueues, unchecked_return_type = "Promise<MessageQueue[]>")]
    pub fn fetch_queues(&self, topic: String) -> Promise {
        let lifecycle = self.lifecycle.clone();
        future_to_promise(async move {
            let c = lifecycle.get("fetch queues").or_js()?;
            let queues = c.fetch_queues(&topic).await.or_js()?;
            Ok(queues.iter().map(queue_to_js).collect::<Array>().into())
        })
    }

    /// Reads exactly `queues` (instead of subscriptions and rebalancing), from their committed
    /// offsets (or `consumeFrom`).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn assign(
        &self,
        #[wasm_bindgen(unchecked_param_type = "MessageQueue[]")] queues: Array,
    ) -> Promise {
        let lifecycle = self.lifecycle.clone();
        let parsed = queues_from(&queues, "assign");
        future_to_promise(async move {
            let queues = parsed?;
            let c = lifecycle.get("assign").or_js()?;
            c.assign(queues).await.or_js()?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// The queues currently read (empty before `start`).
    #[wasm_bindgen(unchecked_return_type = "MessageQueue[]")]
    pub fn assignment(&self) -> Array {
        self.lifecycle
            .current()
            .map(|c| c.assignment().iter().map(queue_to_js).collect())
            .unwrap_or_default()
    }

    /// Continues `queue` from `offset` (its buffered messages are dropped).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn seek(
        &self,
        #[wasm_bindgen(unchecked_param_type = "MessageQueue")] queue: JsValue,
        offset: f64,
    ) -> Promise {
        self.seek_with("seek", &queue, Some(offset as i64))
    }

    /// Continues `queue` from its first message.
    #[wasm_bindgen(js_name = seekToBegin, unchecked_return_type = "Promise<void>")]
    pub fn seek_to_begin(
        &self,
        #[wasm_bindgen(unchecked_param_type = "MessageQueue")] queue: JsValue,
    ) -> Promise {
        self.seek_with("seek", &queue, Some(0))
    }

    /// Continues `queue` after its last message.
    #[wasm_bindgen(js_name = seekToEnd, unchecked_return_type = "Promise<void>")]
    pub fn seek_to_end(
        &self,
        #[wasm_bindgen(unchecked_param_type = "MessageQueue")] queue: JsValue,
    ) -> Promise {
        self.seek_with("seek", &queue, None)
    }

    /// Stops fetching `queues` (messages already fetched are still returned). Throws
    /// `IllegalState` unless started.
    pub fn pause(
        &self,
        #[wasm_bindgen(unchecked_param_type = "MessageQueue[]")] queues: Array,
    ) -> Result<(), JsValue> {
        let queues = queues_from(&queues, "pause")?;
        self.lifecycle.get("pause").or_js()?.pause(&queues);
        Ok(())
    }

    /// Restarts fetching `queues`. Throws `IllegalState` unless started.
    pub fn resume(
        &self,
        #[wasm_bindgen(unchecked_param_type = "MessageQueue[]")] queues: Array,
    ) -> Result<(), JsValue> {
        let queues = queues_from(&queues, "resume")?;
        self.lifecycle.get("resume").or_js()?.resume(&queues);
        Ok(())
    }

    /// Stores the consumed offsets on the broker now.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn commit(&self) -> Promise {
        let lifecycle = self.lifecycle.clone();
        future_to_promise(async move {
            lifecycle.get("commit").or_js()?.commit().await.or_js()?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// The offset committed on the broker for `queue` (`null` if none).
    #[wasm_bindgen(unchecked_return_type = "Promise<number | null>")]
    pub fn committed(
        &self,
        #[wasm_bindgen(unchecked_param_type = "MessageQueue")] queue: JsValue,
    ) -> Promise {
        let lifecycle = self.lifecycle.clone();
        let parsed = queue_from_js(&queue, "committed");
        future_to_promise(async move {
            let mq = parsed?;
            let c = lifecycle.get("committed").or_js()?;
            let offset = c.committed(&mq).await.or_js()?;
            Ok(offset.map_or(JsValue::NULL, js::num))
        })
    }

    /// Whether `shutdown()` was called.
    #[wasm_bindgen(getter)]
    pub fn closed(&self) -> bool {
        self.lifecycle.state() == State::ShutDown
    }

    /// Commits offsets (auto commit), leaves the group and stops; iteration ends. For good: a
    /// second call does nothing.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn shutdown(&self) -> Promise {
        let lifecycle = self.lifecycle.clone();
        future_to_promise(async move {
            lifecycle.shutdown().await;
            Ok(JsValue::UNDEFINED)
        })
    }
}

impl PullConsumer {
    fn with(options: PullConsumerOptions) -> PullConsumer {
        PullConsumer {
            options,
            lifecycle: Lifecycle::new("pull consumer"),
            subscriptions: Rc::new(RefCell::new(Vec::new())),
        }
    }

    /// `seek` to `offset`, or to the end of the queue when `None`.
    fn seek_with(&self, op: &'static str, queue: &JsValue, offset: Option<i64>) -> Promise {
        let lifecycle = self.lifecycle.clone();
        let parsed = queue_from_js(queue, op);
        future_to_promise(async move {
            let mq = parsed?;
            let c = lifecycle.get(op).or_js()?;
            match offset {
                Some(offset) => c.seek(&mq, offset).await,
                None => c.seek_to_end(&mq).await,
            }
            .or_js()?;
            Ok(JsValue::UNDEFINED)
        })
    }
}

/// Makes `PullConsumer` async-iterable: `for await (const m of consumer)` takes `nextMessage()`
/// until the consumer is shut down (or was never started). Installed on the class prototype when the module loads.
pub(crate) fn install_async_iterator() -> Result<(), JsValue> {
    let generator = crate::pull_iterator();
    let probe = PullConsumer::with(PullConsumerOptions::default());
    let obj = JsValue::from(probe);
    let proto = js_sys::Reflect::get_prototype_of(&obj)?;
    js_sys::Reflect::set(&proto, &js_sys::Symbol::async_iterator(), &generator)?;
    // Free the probe's Rust side.
    if let Ok(free) = js_sys::Reflect::get(&obj, &JsValue::from_str("free")) {
        if let Some(free) = wasm_bindgen::JsCast::dyn_ref::<js_sys::Function>(&free) {
            let _ = free.call0(&obj);
        }
    }
    Ok(())
}
