//! `TransactionProducer`: half message, the JavaScript local transaction, then commit or
//! rollback; the broker's check-backs are answered by the JavaScript `check`.
//!
//! Both functions run on the one JavaScript thread and are synchronous (the core's listener
//! is): they return `'commit'`, `'rollback'` or `'unknown'`; a throw counts as `'unknown'` (the
//! broker asks again later), as an exception does in Java.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use ferromq_client::{
    Message as CoreMessage, MessageView, ProducerOptions, TransactionListener,
    TransactionProducer as CoreProducer, TransactionState,
};
use js_sys::{Function, Object, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::error::{illegal_state, invalid, to_js};
use crate::js;
use crate::message::{from_js, outgoing_to_js, send_result_to_js, to_js as message_to_js};
use crate::producer::options_from;

thread_local! {
    /// `(execute, check)` by id (JavaScript functions are not `Send`; the core's listener is).
    static LISTENERS: RefCell<HashMap<u32, (Function, Function)>> = RefCell::new(HashMap::new());
    static NEXT_ID: std::cell::Cell<u32> = const { std::cell::Cell::new(1) };
}

fn state_of(result: Result<JsValue, JsValue>) -> TransactionState {
    let Ok(v) = result else {
        return TransactionState::Unknown;
    };
    match v.as_string().map(|s| s.to_ascii_lowercase()).as_deref() {
        Some("commit" | "commit_message") => TransactionState::Commit,
        Some("rollback" | "rollback_message") => TransactionState::Rollback,
        _ => TransactionState::Unknown,
    }
}

fn state_name(state: TransactionState) -> &'static str {
    match state {
        TransactionState::Commit => "commit",
        TransactionState::Rollback => "rollback",
        TransactionState::Unknown => "unknown",
    }
}

/// The core listener calling the JavaScript functions registered under `id`.
#[derive(Debug)]
struct JsTransactionListener {
    id: u32,
}

impl JsTransactionListener {
    fn functions(&self) -> Option<(Function, Function)> {
        LISTENERS.with(|l| l.borrow().get(&self.id).cloned())
    }
}

impl TransactionListener for JsTransactionListener {
    fn execute(&self, message: &CoreMessage, transaction_id: &str) -> TransactionState {
        match self.functions() {
            Some((execute, _)) => state_of(execute.call2(
                &JsValue::NULL,
                &outgoing_to_js(message),
                &JsValue::from_str(transaction_id),
            )),
            None => TransactionState::Unknown,
        }
    }

    fn check(&self, message: &MessageView) -> TransactionState {
        match self.functions() {
            Some((_, check)) => state_of(check.call1(&JsValue::NULL, &message_to_js(message))),
            None => TransactionState::Unknown,
        }
    }
}

#[derive(Debug, Default)]
struct State {
    core: Option<CoreProducer>,
    listener_id: Option<u32>,
}

/// A transactional producer: `await start({ execute, check })`, `await send(message)` resolves
/// with `{ state, send }`; `await shutdown()` at the end. Options as `Producer`'s (`group`
/// should be unique to this application: check-backs go to the group).
#[wasm_bindgen]
#[derive(Debug)]
pub struct TransactionProducer {
    options: ProducerOptions,
    state: Rc<RefCell<State>>,
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
            state: Rc::new(RefCell::new(State::default())),
        })
    }

    /// Starts with `listener = { execute(message, transactionId), check(message) }`, each
    /// returning `'commit'`, `'rollback'` or `'unknown'`.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn start(
        &self,
        #[wasm_bindgen(unchecked_param_type = "TransactionListener")] listener: JsValue,
    ) -> Promise {
        let state = self.state.clone();
        let options = self.options.clone();
        let functions = (|| -> Result<(Function, Function), JsValue> {
            let f = |name: &str| {
                js::get(&listener, name)
                    .and_then(|v| v.dyn_into::<Function>().ok())
                    .ok_or_else(|| {
                        invalid("start", format!("the listener needs a `{name}` function"))
                    })
            };
            Ok((f("execute")?, f("check")?))
        })();
        future_to_promise(async move {
            let functions = functions?;
            if state.borrow().listener_id.is_some() {
                return Err(illegal_state("start", "the producer is already started"));
            }
            let id = NEXT_ID.with(|n| {
                let id = n.get();
                n.set(id.wrapping_add(1));
                id
            });
            LISTENERS.with(|l| l.borrow_mut().insert(id, functions));
            state.borrow_mut().listener_id = Some(id);
            match CoreProducer::start(options, JsTransactionListener { id }).await {
                Ok(p) => {
                    state.borrow_mut().core = Some(p);
                    Ok(JsValue::UNDEFINED)
                }
                Err(e) => {
                    LISTENERS.with(|l| l.borrow_mut().remove(&id));
                    state.borrow_mut().listener_id = None;
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
        let state = self.state.clone();
        let parsed = from_js(&message, "send");
        future_to_promise(async move {
            let (m, _) = parsed?;
            let p = state
                .borrow()
                .core
                .clone()
                .ok_or_else(|| illegal_state("send", "the producer is not started"))?;
            let r = p.send(m).await.map_err(|e| to_js(&e))?;
            let o = Object::new();
            js::set(&o, "state", state_name(r.state));
            js::set(&o, "send", send_result_to_js(&r.send));
            Ok(o.into())
        })
    }

    /// Stops the producer and releases the listener.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn shutdown(&self) -> Promise {
        let state = self.state.clone();
        future_to_promise(async move {
            let core = state.borrow_mut().core.take();
            if let Some(p) = core {
                p.shutdown().await;
            }
            if let Some(id) = state.borrow_mut().listener_id.take() {
                LISTENERS.with(|l| l.borrow_mut().remove(&id));
            }
            Ok(JsValue::UNDEFINED)
        })
    }
}
