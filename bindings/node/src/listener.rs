//! The push consumer's JavaScript listener, called in batches on the JavaScript thread.
//!
//! The core hands each message to an asynchronous per-message listener
//! ([`ferromq_client::AsyncPerMessageListener`]), at most `consumeThreads` at once. Here each
//! message is posted to the listener's line to the JavaScript thread (`jsthread`):
//! messages that arrive while the JavaScript thread is busy are delivered together, by one
//! thread-safe-function call that calls the user's listener once per message, in arrival
//! order, and hands each answer back to the message's own future. So every message still has
//! its own call and its own answer (acknowledged or redelivered alone); a listener that throws
//! fails only that message; a Promise it returns is awaited by that message's future on the
//! runtime, so asynchronous listeners still run concurrently. An orderly consumer offers a
//! queue's next message only after the previous one was answered, so a queue's order holds.

use std::sync::Arc;

use futures::channel::oneshot;
use futures::future::BoxFuture;
use napi::bindgen_prelude::{FromNapiValue, ToNapiValue, TypeName, Unknown};
use napi::{sys, ValueType};

use ferromq_client::{Answer, AsyncPerMessageListener, ConsumeResult, MessageView};

use crate::callback::{self, Returned};
use crate::jsthread::{Handler, JsThread};
use crate::message::ReceivedMessage;

/// What a listener call gave: its answer (or the Promise of one), or why it failed.
type Outcome = Result<callback::Answer<Returned>, String>;

/// A message waiting for its listener call.
pub(crate) struct Item {
    message: MessageView,
    answer: oneshot::Sender<Outcome>,
}

/// Calls the listener (the line's function) for each delivered message.
pub(crate) struct Deliver;

impl Handler for Deliver {
    type Item = Item;

    fn handle(&self, env: sys::napi_env, function: sys::napi_value, items: Vec<Item>) {
        let mut recv = std::ptr::null_mut();
        // SAFETY: on the JavaScript thread with its live env.
        unsafe { sys::napi_get_undefined(env, &mut recv) };
        for item in items {
            let outcome = call(env, function, recv, &item.message);
            // A receiver that is gone (the consumer shut down) no longer needs the answer.
            let _ = item.answer.send(outcome);
        }
    }
}

/// One listener call, in a handle scope of its own (a batch may be long).
fn call(
    env: sys::napi_env,
    function: sys::napi_value,
    recv: sys::napi_value,
    message: &MessageView,
) -> Outcome {
    let mut scope = std::ptr::null_mut();
    // SAFETY: on the JavaScript thread with its live env; the scope is closed below.
    unsafe { sys::napi_open_handle_scope(env, &mut scope) };
    // SAFETY: as above; every value used lives in the open scope.
    let outcome = unsafe { call_in_scope(env, function, recv, message) };
    if !scope.is_null() {
        // SAFETY: the scope opened above, closed once.
        unsafe { sys::napi_close_handle_scope(env, scope) };
    }
    outcome
}

/// # Safety
/// On the JavaScript thread of `env`, inside a handle scope.
unsafe fn call_in_scope(
    env: sys::napi_env,
    function: sys::napi_value,
    recv: sys::napi_value,
    message: &MessageView,
) -> Outcome {
    let arg = ReceivedMessage::from_core(message);
    // SAFETY: per the function's contract.
    let arg = unsafe { ReceivedMessage::to_napi_value(env, arg) }.map_err(|e| e.reason)?;
    let mut result = std::ptr::null_mut();
    // SAFETY: per the function's contract; `arg` is one live value.
    let status = unsafe { sys::napi_call_function(env, recv, function, 1, &arg, &mut result) };
    if status == sys::Status::napi_pending_exception {
        let mut thrown = std::ptr::null_mut();
        // SAFETY: per the function's contract; clears the exception so later calls can run.
        unsafe { sys::napi_get_and_clear_last_exception(env, &mut thrown) };
        // SAFETY: `thrown` is the live value just taken.
        let error = napi::Error::from_unknown_without_coercion(unsafe {
            Unknown::from_raw_unchecked(env, thrown)
        });
        return Err(error.reason.clone());
    }
    if status != sys::Status::napi_ok {
        return Err(format!("the listener could not be called ({status})"));
    }
    // SAFETY: per the function's contract; `result` is the call's live return value.
    unsafe { callback::Answer::<Returned>::from_napi_value(env, result) }.map_err(|e| e.reason)
}

/// The JavaScript listener function as `PushConsumer.start` takes it: a line to the JavaScript
/// thread made from it. It keeps the event loop alive until the consumer shuts down (or until
/// neither the consumer object nor the running core consumer holds it any more).
pub struct ListenerFn(JsThread<Deliver>);

impl Drop for ListenerFn {
    fn drop(&mut self) {
        self.0.close();
    }
}

impl std::fmt::Debug for ListenerFn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ListenerFn")
    }
}

impl ListenerFn {
    /// Lets go of the function (it stops holding the event loop open); messages not yet
    /// delivered to it are answered as failures (redelivered).
    pub(crate) fn release(&self) {
        self.0.close();
    }

    /// The core's listener over this function (it holds the function until the core drops
    /// it).
    pub(crate) fn listener(self: &Arc<Self>) -> JsListener {
        JsListener(self.clone())
    }
}

impl TypeName for ListenerFn {
    fn type_name() -> &'static str {
        "Function"
    }

    fn value_type() -> ValueType {
        ValueType::Function
    }
}

impl FromNapiValue for ListenerFn {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        let mut kind = sys::ValueType::napi_undefined;
        // SAFETY: napi-rs calls this on the JavaScript thread with a live env and value.
        unsafe { sys::napi_typeof(env, value, &mut kind) };
        if kind != sys::ValueType::napi_function {
            return Err(napi::Error::new(
                napi::Status::FunctionExpected,
                "the listener must be a function",
            ));
        }
        JsThread::new(env, value, "ferromq_listener", Deliver).map(ListenerFn)
    }
}

/// The core's per-message listener posting each message to the JavaScript listener's line.
pub(crate) struct JsListener(Arc<ListenerFn>);

impl AsyncPerMessageListener for JsListener {
    fn consume_one(&self, message: MessageView) -> BoxFuture<'static, ConsumeResult> {
        let (tx, rx) = oneshot::channel();
        let posted = self.0 .0.post(Item {
            message,
            answer: tx,
        });
        Box::pin(async move {
            let answer = match posted {
                Err(_) => Answer::Failed("the listener was released".to_owned()),
                Ok(()) => match rx.await {
                    Ok(Ok(callback::Answer::Now(Returned(answer)))) => answer,
                    Ok(Ok(callback::Answer::Later(promise))) => match promise.await {
                        Ok(Returned(answer)) => answer,
                        Err(e) => Answer::Failed(e.reason.clone()),
                    },
                    Ok(Err(reason)) => Answer::Failed(reason),
                    Err(_) => Answer::Failed("the listener was released before it ran".to_owned()),
                },
            };
            answer.outcome()
        })
    }
}
