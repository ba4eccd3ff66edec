//! A JavaScript function as the core's `QueueSelector`: `(message, queueCount) => index`.

use std::sync::Arc;

use napi::bindgen_prelude::{FnArgs, FromNapiValue};
use napi::{sys, Status};

use ferromq_client::{Message as CoreMessage, SelectorAnswer};

use crate::callback::{Callback, Slot};
use crate::message::Message;

/// What a selector returned: a number, or a description of anything else.
#[derive(Debug)]
pub struct Chosen(Result<f64, String>);

impl FromNapiValue for Chosen {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        let mut kind = sys::ValueType::napi_undefined;
        // SAFETY: napi-rs calls this on the JavaScript thread with a live env and value.
        let status = unsafe { sys::napi_typeof(env, value, &mut kind) };
        if status != sys::Status::napi_ok {
            return Err(napi::Error::new(Status::from(status), "not a value"));
        }
        Ok(Chosen(match kind {
            // SAFETY: as above; the value was just read to be a number.
            sys::ValueType::napi_number => Ok(unsafe { f64::from_napi_value(env, value)? }),
            sys::ValueType::napi_undefined => Err("undefined".to_owned()),
            sys::ValueType::napi_null => Err("null".to_owned()),
            sys::ValueType::napi_string => Err("a string".to_owned()),
            sys::ValueType::napi_boolean => Err("a boolean".to_owned()),
            _ => Err("a value of another type".to_owned()),
        }))
    }
}

/// The selector function as the producer takes it.
pub type SelectorFn = Callback<FnArgs<(Message, u32)>, Chosen>;

/// The core's queue selector calling a JavaScript function with `(message, queueCount)` on the
/// JavaScript thread while the send waits. A throw, or an answer that is not an integer from 0
/// to `queueCount - 1`, fails the send with `InvalidArgument` (nothing is sent).
#[derive(Debug)]
pub struct JsSelector(Arc<Slot<FnArgs<(Message, u32)>, Chosen>>);

impl JsSelector {
    /// The selector calling `f`.
    pub fn new(f: SelectorFn) -> Self {
        JsSelector(Arc::new(Slot::new(f)))
    }

    /// Lets go of the function (it no longer keeps the event loop alive).
    pub fn release(&self) {
        self.0.release();
    }
}

impl JsSelector {
    /// Calls the function with `(message, queueCount)` and says what it answered; the core
    /// ([`ForeignSelector`](ferromq_client::ForeignSelector)) checks the answer.
    pub fn answer(&self, message: &CoreMessage, count: usize) -> SelectorAnswer {
        let args = FnArgs::from((
            Message::from_core(message),
            u32::try_from(count).unwrap_or(u32::MAX),
        ));
        // Called on a runtime worker inside `send`: let the runtime move other tasks away
        // while this thread waits for JavaScript.
        match tokio::task::block_in_place(|| self.0.call_blocking(args)) {
            Err(reason) => SelectorAnswer::Failed(format!("threw: {reason}")),
            Ok(Chosen(Ok(n))) => SelectorAnswer::Number(n),
            Ok(Chosen(Err(what))) => SelectorAnswer::Unusable(what),
        }
    }
}
