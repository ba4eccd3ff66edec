//! A JavaScript function as the core's `QueueSelector`: `(message, queueCount) => index`.

use std::sync::Arc;

use napi::bindgen_prelude::{FnArgs, FromNapiValue};
use napi::{sys, Status};

use ferromq_client::{Error, Message as CoreMessage, QueueSelector};
use ferromq_protocol::body::MessageQueue;

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

impl QueueSelector for JsSelector {
    fn select(&self, queues: &[MessageQueue], message: &CoreMessage, arg: &str) -> usize {
        self.try_select(queues, message, arg).unwrap_or(0)
    }

    fn try_select(
        &self,
        queues: &[MessageQueue],
        message: &CoreMessage,
        _arg: &str,
    ) -> ferromq_client::Result<usize> {
        let bad = |why: String| Error::invalid("send", why);
        let count = queues.len();
        let args = FnArgs::from((
            Message::from_core(message),
            u32::try_from(count).unwrap_or(u32::MAX),
        ));
        // Called on a runtime worker inside `send`: let the runtime move other tasks away
        // while this thread waits for JavaScript.
        let Chosen(answer) = tokio::task::block_in_place(|| self.0.call_blocking(args))
            .map_err(|reason| bad(format!("the queue selector threw: {reason}")))?;
        match answer {
            Ok(i) if i.fract() == 0.0 && i >= 0.0 && i < count as f64 => Ok(i as usize),
            other => Err(bad(format!(
                "the queue selector answered {}; it must be an integer from 0 to {}",
                other.map_or_else(|what| what, |n| n.to_string()),
                count.saturating_sub(1)
            ))),
        }
    }
}
