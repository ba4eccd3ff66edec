//! `Producer`: sync (awaited) sends, by sharding key, batches and oneway sends.

use std::cell::RefCell;
use std::rc::Rc;

use ferromq_client::{Producer as CoreProducer, ProducerOptions, SelectByHash};
use js_sys::{Array, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::error::{illegal_state, to_js};
use crate::js;
use crate::message::{from_js, send_result_to_js};
use crate::options::{client_config, opt_ms};

/// A producer: `new Producer({ namesrvAddr: 'ws://127.0.0.1:9877/', group })`, `await
/// start()`, sends, `await shutdown()`.
///
/// Options: `namesrvAddr` (required), `group` (`DEFAULT_PRODUCER`), `instanceName`,
/// `requestTimeoutMs`, `sendTimeoutMs` (3000), `retryTimes` (2), `maxMessageSize` (4 MiB),
/// `compressThreshold` (4096).
#[wasm_bindgen]
#[derive(Debug)]
pub struct Producer {
    options: ProducerOptions,
    inner: Rc<RefCell<Option<CoreProducer>>>,
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
    Ok(o)
}

fn started(
    inner: &Rc<RefCell<Option<CoreProducer>>>,
    op: &'static str,
) -> Result<CoreProducer, JsValue> {
    inner
        .borrow()
        .clone()
        .ok_or_else(|| illegal_state(op, "the producer is not started"))
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
            inner: Rc::new(RefCell::new(None)),
        })
    }

    /// Connects to the name servers and registers the group; calling it again does nothing.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn start(&self) -> Promise {
        let options = self.options.clone();
        let inner = self.inner.clone();
        future_to_promise(async move {
            if inner.borrow().is_some() {
                return Ok(JsValue::UNDEFINED);
            }
            let p = CoreProducer::start(options).await.map_err(|e| to_js(&e))?;
            *inner.borrow_mut() = Some(p);
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

    /// Sends without waiting for the broker (no answer, never retried); resolves once the
    /// bytes are handed to the WebSocket.
    #[wasm_bindgen(js_name = sendOneway, unchecked_return_type = "Promise<void>")]
    pub fn send_oneway(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Message")] message: JsValue,
    ) -> Promise {
        let inner = self.inner.clone();
        let parsed = from_js(&message, "send");
        future_to_promise(async move {
            let (m, _) = parsed?;
            let p = started(&inner, "send")?;
            p.send_oneway(m)
                .await
                .map(|()| JsValue::UNDEFINED)
                .map_err(|e| to_js(&e))
        })
    }

    /// Sends messages of one topic as batches (split to respect the size limit); resolves with
    /// one result per batch.
    #[wasm_bindgen(js_name = sendBatch, unchecked_return_type = "Promise<SendResult[]>")]
    pub fn send_batch(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Message[]")] messages: Array,
    ) -> Promise {
        let inner = self.inner.clone();
        let parsed: Result<Vec<_>, JsValue> = messages
            .iter()
            .map(|m| from_js(&m, "send batch").map(|(m, _)| m))
            .collect();
        future_to_promise(async move {
            let messages = parsed?;
            let p = started(&inner, "send batch")?;
            let results = p.send_batch(messages).await.map_err(|e| to_js(&e))?;
            Ok(results
                .iter()
                .map(send_result_to_js)
                .collect::<Array>()
                .into())
        })
    }

    /// Unregisters the group and stops the producer; later sends fail with `IllegalState`.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn shutdown(&self) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let p = inner.borrow().clone();
            if let Some(p) = p {
                p.shutdown().await;
            }
            Ok(JsValue::UNDEFINED)
        })
    }
}

impl Producer {
    /// `send`, with the queue chosen by hashing `key` (or the message's `shardingKey` field when
    /// `key` is `None`).
    fn send_keyed(&self, message: &JsValue, key: Option<String>) -> Promise {
        let inner = self.inner.clone();
        let parsed = from_js(message, "send");
        future_to_promise(async move {
            let (m, field) = parsed?;
            let p = started(&inner, "send")?;
            let r = match key.or(field) {
                Some(key) => p.send_with_selector(m, &SelectByHash, &key).await,
                None => p.send(m).await,
            };
            r.map(|r| send_result_to_js(&r)).map_err(|e| to_js(&e))
        })
    }
}
