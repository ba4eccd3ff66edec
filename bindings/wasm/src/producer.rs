//! `Producer`: sync (awaited) sends, by sharding key or a JavaScript queue selector, batches
//! and oneway sends.

use ferromq_client::{
    ForeignSelector, Lifecycle, Message as CoreMessage, Producer as CoreProducer, ProducerOptions,
    SelectByHash, SelectorAnswer,
};
use js_sys::{Array, Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::future_to_promise;

use crate::error::{js_text, OrJs};
use crate::js;
use crate::message::{from_js, outgoing_to_js, send_result_to_js};
use crate::options::{client_config, opt_ms};
use crate::registry;

/// Calls the JavaScript selector registered under `id` with `(message, queueCount)` (on the
/// JavaScript thread, inside the send) and says what it answered; the core
/// ([`ForeignSelector`]) checks the answer, as for the Node package.
fn answer(id: u32, message: &CoreMessage, count: usize) -> SelectorAnswer {
    let Some(f) = registry::get(id).and_then(|f| f.dyn_into::<Function>().ok()) else {
        return SelectorAnswer::Failed("is gone".to_owned());
    };
    let answer = match f.call2(
        &JsValue::NULL,
        &outgoing_to_js(message),
        &JsValue::from_f64(count as f64),
    ) {
        Ok(a) => a,
        Err(e) => return SelectorAnswer::Failed(format!("threw: {}", js_text(&e))),
    };
    match answer.as_f64() {
        Some(n) => SelectorAnswer::Number(n),
        None => SelectorAnswer::Unusable(
            if answer.is_undefined() {
                "undefined"
            } else if answer.is_null() {
                "null"
            } else if answer.is_string() {
                "a string"
            } else if answer.as_bool().is_some() {
                "a boolean"
            } else {
                "a value of another type"
            }
            .to_owned(),
        ),
    }
}

/// A producer: `new Producer({ namesrvAddr: 'ws://127.0.0.1:9877/', group })`, `await
/// start()`, sends, `await shutdown()`. It starts once: a second `start`, or a `start` after
/// `shutdown`, rejects with `IllegalState` (create a new producer).
///
/// Options: `namesrvAddr` (required), `group` (`DEFAULT_PRODUCER`), `instanceName`,
/// `requestTimeoutMs`, `sendTimeoutMs` (3000), `retryTimes` (2), `maxMessageSize` (4 MiB),
/// `compressThreshold` (4096), `enableMsgTrace` (false), `traceTopic` (`RMQ_SYS_TRACE_TOPIC`).
#[wasm_bindgen]
#[derive(Debug)]
pub struct Producer {
    options: ProducerOptions,
    pub(crate) lifecycle: Lifecycle<CoreProducer>,
}

pub(crate) fn options_from(v: &JsValue) -> Result<ProducerOptions, JsValue> {
    const OP: &str = "producer";
    let mut o = ProducerOptions {
        client: client_config(v, OP)?,
        ..ProducerOptions::default()
    };
    if let Some(g) = js::opt_string(v, "group", OP)? {
        o.group = g;
    }
    if let Some(d) = opt_ms(v, "sendTimeoutMs", OP)? {
        o.send_timeout = d;
    }
    if let Some(n) = js::opt_u32(v, "retryTimes", OP)? {
        o.retry_times = n;
    }
    if let Some(n) = js::opt_u32(v, "maxMessageSize", OP)? {
        o.max_message_size = n as usize;
    }
    if let Some(n) = js::opt_u32(v, "compressThreshold", OP)? {
        o.compress_threshold = n as usize;
    }
    o.enable_msg_trace = js::opt_bool(v, "enableMsgTrace", OP)?.unwrap_or(false);
    o.trace_topic = js::opt_string(v, "traceTopic", OP)?;
    Ok(o)
}

#[wasm_bindgen]
impl Producer {
    /// A producer with `options` (not started yet). Throws on unusable options.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "ProducerOptions")] options: JsValue,
    ) -> Result<Producer, JsValue> {
        Ok(Producer {
            options: options_from(&options)?,
            lifecycle: Lifecycle::new("producer"),
        })
    }

    /// Connects to the name servers and registers the group.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn start(&self) -> Promise {
        let options = self.options.clone();
        let lifecycle = self.lifecycle.clone();
        future_to_promise(async move {
            lifecycle
                .start(|| CoreProducer::start(options))
                .await
                .or_js()?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Sends `message` and resolves with the broker's answer `{ status, msgId, queueId,
    /// queueOffset, ... }`. With `shardingKey` set, the queue is chosen by hashing it (as
    /// Java's `SelectMessageQueueByHash`: all messages of a key go to one queue, in order; one
    /// attempt); otherwise the send is retried on failure as configured.
    #[wasm_bindgen(unchecked_return_type = "Promise<SendResult>")]
    pub fn send(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Message")] message: JsValue,
    ) -> Promise {
        self.send_keyed(&message, None)
    }

    /// Sends to the queue chosen by hashing `shardingKey` (same as `send` with the
    /// `shardingKey` field).
    #[wasm_bindgen(js_name = sendWithShardingKey, unchecked_return_type = "Promise<SendResult>")]
    pub fn send_with_sharding_key(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Message")] message: JsValue,
        #[wasm_bindgen(js_name = shardingKey)] sharding_key: String,
    ) -> Promise {
        self.send_keyed(&message, Some(sharding_key))
    }

    /// Sends to the queue `selector(message, queueCount)` picks among the topic's writable
    /// queues: it returns an index from 0 to `queueCount - 1` (one attempt, as with a sharding
    /// key). A throw or any other answer rejects with `InvalidArgument` (nothing is sent).
    #[wasm_bindgen(js_name = sendWithSelector, unchecked_return_type = "Promise<SendResult>")]
    pub fn send_with_selector(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Message")] message: JsValue,
        #[wasm_bindgen(unchecked_param_type = "QueueSelector")] selector: Function,
    ) -> Promise {
        let lifecycle = self.lifecycle.clone();
        let parsed = from_js(&message, "send");
        future_to_promise(async move {
            let (m, _) = parsed?;
            let p = lifecycle.get("send").or_js()?;
            let id = registry::register(selector.into());
            let selector = ForeignSelector(move |m: &CoreMessage, n: usize| answer(id, m, n));
            let r = p.send_with_selector(m, &selector, "").await;
            registry::release(id);
            r.map(|r| send_result_to_js(&r)).or_js()
        })
    }

    /// Sends without waiting for the broker (no answer, never retried); resolves once the
    /// bytes are handed to the WebSocket.
    #[wasm_bindgen(js_name = sendOneway, unchecked_return_type = "Promise<void>")]
    pub fn send_oneway(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Message")] message: JsValue,
    ) -> Promise {
        let lifecycle = self.lifecycle.clone();
        let parsed = from_js(&message, "send");
        future_to_promise(async move {
            let (m, _) = parsed?;
            let p = lifecycle.get("send").or_js()?;
            p.send_oneway(m).await.map(|()| JsValue::UNDEFINED).or_js()
        })
    }

    /// Sends messages of one topic as batches (split to respect the size limit); resolves with
    /// one result per batch.
    #[wasm_bindgen(js_name = sendBatch, unchecked_return_type = "Promise<SendResult[]>")]
    pub fn send_batch(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Message[]")] messages: Array,
    ) -> Promise {
        let lifecycle = self.lifecycle.clone();
        let parsed: Result<Vec<_>, JsValue> = messages
            .iter()
            .map(|m| from_js(&m, "send batch").map(|(m, _)| m))
            .collect();
        future_to_promise(async move {
            let messages = parsed?;
            let p = lifecycle.get("send batch").or_js()?;
            let results = p.send_batch(messages).await.or_js()?;
            Ok(results
                .iter()
                .map(send_result_to_js)
                .collect::<Array>()
                .into())
        })
    }

    /// The producer's client-side counters since it started (a snapshot): sends, messages,
    /// failed sends and a histogram of send latency. Throws `IllegalState` unless started.
    #[wasm_bindgen(unchecked_return_type = "ProducerMetrics")]
    pub fn metrics(&self) -> Result<JsValue, JsValue> {
        let p = self.lifecycle.get("metrics").or_js()?;
        Ok(crate::metrics::producer_to_js(&p.metrics()))
    }

    /// Unregisters the group and stops the producer, for good (a second call does nothing);
    /// later sends fail with `IllegalState`.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn shutdown(&self) -> Promise {
        let lifecycle = self.lifecycle.clone();
        future_to_promise(async move {
            lifecycle.shutdown().await;
            Ok(JsValue::UNDEFINED)
        })
    }
}

impl Producer {
    /// `send`, with the queue chosen by hashing `key` (or the message's `shardingKey` field when
    /// `key` is `None`).
    fn send_keyed(&self, message: &JsValue, key: Option<String>) -> Promise {
        let lifecycle = self.lifecycle.clone();
        let parsed = from_js(message, "send");
        future_to_promise(async move {
            let (m, field) = parsed?;
            let p = lifecycle.get("send").or_js()?;
            let r = match key.or(field) {
                Some(key) => p.send_with_selector(m, &SelectByHash, &key).await,
                None => p.send(m).await,
            };
            r.map(|r| send_result_to_js(&r)).or_js()
        })
    }
}
