//! `TransactionProducer`: half message, the JavaScript local transaction, then commit or
//! rollback; the broker's check-backs are answered by the JavaScript `check`.
//!
//! Both functions run on the one JavaScript thread and are synchronous (the core's listener
//! is): they return `'commit'`, `'rollback'` or `'unknown'`; a throw counts as `'unknown'` (the
//! broker asks again later), as an exception does in Java.

use std::cell::Cell;
use std::rc::Rc;

use ferromq_client::{
    Lifecycle, Message as CoreMessage, MessageView, ProducerOptions, TransactionListener,
    TransactionProducer as CoreProducer, TransactionState,
};
use js_sys::{Array, Function, Object, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::error::{invalid, to_js, OrJs};
use crate::js;
use crate::message::{from_js, outgoing_to_js, send_result_to_js, to_js as message_to_js};
use crate::producer::options_from;
use crate::registry;

/// The state a function answered: its string read with the core's spellings; a throw or any
/// other answer is `unknown`.
fn state_of(result: Result<JsValue, JsValue>) -> TransactionState {
    result
        .ok()
        .and_then(|v| v.as_string())
        .and_then(|s| s.parse().ok())
        .unwrap_or(TransactionState::Unknown)
}

/// The core listener calling the JavaScript `[execute, check]` registered under `id`.
#[derive(Debug)]
struct JsTransactionListener {
    id: u32,
}

impl JsTransactionListener {
    fn function(&self, index: u32) -> Option<Function> {
        let pair: Array = registry::get(self.id)?.dyn_into().ok()?;
        pair.get(index).dyn_into().ok()
    }
}

impl TransactionListener for JsTransactionListener {
    fn execute(&self, message: &CoreMessage, transaction_id: &str) -> TransactionState {
        match self.function(0) {
            Some(execute) => state_of(execute.call2(
                &JsValue::NULL,
                &outgoing_to_js(message),
                &JsValue::from_str(transaction_id),
            )),
            None => TransactionState::Unknown,
        }
    }

    fn check(&self, message: &MessageView) -> TransactionState {
        match self.function(1) {
            Some(check) => state_of(check.call1(&JsValue::NULL, &message_to_js(message))),
            None => TransactionState::Unknown,
        }
    }
}

/// A transactional producer: `await start({ execute, check })`, `await send(message)` resolves
/// with `{ state, send }`; `await shutdown()` at the end. Options as `Producer`'s (`group`
/// should be unique to this application: check-backs go to the group).
#[wasm_bindgen]
#[derive(Debug)]
pub struct TransactionProducer {
    options: ProducerOptions,
    lifecycle: Lifecycle<CoreProducer>,
    listener_id: Rc<Cell<Option<u32>>>,
}

#[wasm_bindgen]
impl TransactionProducer {
    /// A transactional producer with `options` (not started yet). Throws on unusable options.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "ProducerOptions")] options: JsValue,
    ) -> Result<TransactionProducer, JsValue> {
        Ok(TransactionProducer {
            options: options_from(&options)?,
            lifecycle: Lifecycle::new("transaction producer"),
            listener_id: Rc::new(Cell::new(None)),
        })
    }

    /// Starts with `listener = { execute(message, transactionId), check(message) }`, each
    /// returning `'commit'`, `'rollback'` or `'unknown'`.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn start(
        &self,
        #[wasm_bindgen(unchecked_param_type = "TransactionListener")] listener: JsValue,
    ) -> Promise {
        let lifecycle = self.lifecycle.clone();
        let listener_id = self.listener_id.clone();
        let options = self.options.clone();
        let functions = (|| -> Result<Array, JsValue> {
            let f = |name: &str| {
                js::get(&listener, name)
                    .and_then(|v| v.dyn_into::<Function>().ok())
                    .ok_or_else(|| {
                        invalid("start", format!("the listener needs a `{name}` function"))
                    })
            };
            Ok(Array::of2(&f("execute")?.into(), &f("check")?.into()))
        })();
        future_to_promise(async move {
            let functions = functions?;
            let id = registry::register(functions.into());
            let started = lifecycle
                .start(|| CoreProducer::start(options, JsTransactionListener { id }))
                .await;
            match started {
                Ok(_) => {
                    listener_id.set(Some(id));
                    Ok(JsValue::UNDEFINED)
                }
                Err(e) => {
                    registry::release(id);
                    Err(to_js(&e))
                }
            }
        })
    }

    /// Sends `message` as a half message, runs `execute`, and commits or rolls back; resolves
    /// with `{ state: 'commit' | 'rollback' | 'unknown', send: SendResult }`.
    #[wasm_bindgen(unchecked_return_type = "Promise<TransactionSendResult>")]
    pub fn send(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Message")] message: JsValue,
    ) -> Promise {
        let lifecycle = self.lifecycle.clone();
        let parsed = from_js(&message, "send");
        future_to_promise(async move {
            let (m, _) = parsed?;
            let p = lifecycle.get("send").or_js()?;
            let r = p.send(m).await.or_js()?;
            let o = Object::new();
            js::set(&o, "state", r.state.to_string());
            js::set(&o, "send", send_result_to_js(&r.send));
            Ok(o.into())
        })
    }

    /// The producer's client-side counters since it started (as `Producer.metrics()`; a
    /// transactional send counts as one send). Throws `IllegalState` unless started.
    #[wasm_bindgen(unchecked_return_type = "ProducerMetrics")]
    pub fn metrics(&self) -> Result<JsValue, JsValue> {
        let p = self.lifecycle.get("metrics").or_js()?;
        Ok(crate::metrics::producer_to_js(&p.metrics()))
    }

    /// Stops the producer and releases the listener, for good (a second call does nothing).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn shutdown(&self) -> Promise {
        let lifecycle = self.lifecycle.clone();
        let listener_id = self.listener_id.clone();
        future_to_promise(async move {
            lifecycle.shutdown().await;
            if let Some(id) = listener_id.take() {
                registry::release(id);
            }
            Ok(JsValue::UNDEFINED)
        })
    }
}
