//! Calling JavaScript callbacks from client threads and waiting for their answer.
//!
//! A callback is a `ThreadsafeFunction` that returns either a value or a Promise of it; the
//! calling (blocking) thread waits until the JavaScript thread has run the callback and, for a
//! Promise, until it settled. A callback that throws or rejects is an `Err`.

use std::sync::{Arc, Mutex};

use napi::bindgen_prelude::{FromNapiValue, JsValuesTupleIntoVec, Promise};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{sys, Status};

/// What a callback returned: a value now, or a Promise of one.
pub enum Answer<R: 'static + FromNapiValue> {
    /// A Promise, awaited by the caller.
    Later(Promise<R>),
    /// A plain value.
    Now(R),
}

impl<R: 'static + FromNapiValue> FromNapiValue for Answer<R> {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        let mut is_promise = false;
        // SAFETY: napi-rs calls this on the JavaScript thread with a live env and value.
        let status = unsafe { sys::napi_is_promise(env, value, &mut is_promise) };
        if status != sys::Status::napi_ok {
            return Err(napi::Error::new(Status::from(status), "not a value"));
        }
        // SAFETY: as above.
        unsafe {
            if is_promise {
                Promise::from_napi_value(env, value).map(Answer::Later)
            } else {
                R::from_napi_value(env, value).map(Answer::Now)
            }
        }
    }
}

impl<R: 'static + FromNapiValue> std::fmt::Debug for Answer<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Answer::Later(_) => "Answer::Later",
            Answer::Now(_) => "Answer::Now",
        })
    }
}

/// A message listener's return value, read as the core's [`ferromq_client::Answer`]:
/// `undefined` / `null`, a boolean, a string, or (unusable) anything else. The contract (what
/// each means) is the core's; this only reads the JavaScript value.
#[derive(Debug)]
pub struct Returned(pub ferromq_client::Answer);

impl FromNapiValue for Returned {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        use ferromq_client::Answer;
        let mut kind = sys::ValueType::napi_undefined;
        // SAFETY: napi-rs calls this on the JavaScript thread with a live env and value.
        let status = unsafe { sys::napi_typeof(env, value, &mut kind) };
        if status != sys::Status::napi_ok {
            return Err(napi::Error::new(Status::from(status), "not a value"));
        }
        // SAFETY: as above; each conversion matches the type just read.
        let answer = unsafe {
            match kind {
                sys::ValueType::napi_undefined | sys::ValueType::napi_null => Answer::Nothing,
                sys::ValueType::napi_boolean => Answer::Bool(bool::from_napi_value(env, value)?),
                sys::ValueType::napi_string => Answer::Text(String::from_napi_value(env, value)?),
                sys::ValueType::napi_number => Answer::Unusable("a number".to_owned()),
                sys::ValueType::napi_object => Answer::Unusable("an object".to_owned()),
                sys::ValueType::napi_function => Answer::Unusable("a function".to_owned()),
                _ => Answer::Unusable("a value of another type".to_owned()),
            }
        };
        Ok(Returned(answer))
    }
}

/// A JavaScript callback taking `T` and returning `R` or `Promise<R>`.
pub type Callback<T, R> = ThreadsafeFunction<T, Answer<R>, T, Status, false>;

/// A callback that can be released: once [`Slot::release`] ran, calls fail and the callback
/// no longer keeps Node's event loop alive.
pub struct Slot<T, R>
where
    T: 'static + JsValuesTupleIntoVec,
    R: 'static + FromNapiValue,
{
    callback: Mutex<Option<Arc<Callback<T, R>>>>,
}

impl<T, R> std::fmt::Debug for Slot<T, R>
where
    T: 'static + JsValuesTupleIntoVec,
    R: 'static + FromNapiValue,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slot").finish_non_exhaustive()
    }
}

impl<T, R> Slot<T, R>
where
    T: 'static + JsValuesTupleIntoVec,
    R: 'static + FromNapiValue + Send,
{
    pub fn new(callback: Callback<T, R>) -> Self {
        Slot {
            callback: Mutex::new(Some(Arc::new(callback))),
        }
    }

    /// Drops the callback (it stops holding the event loop open once no call is in flight).
    pub fn release(&self) {
        self.callback
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
    }

    /// Calls the callback with `arg` and blocks until it returned (or its Promise settled).
    /// Must run on a thread that is not the JavaScript thread.
    pub fn call_blocking(&self, arg: T) -> Result<R, String> {
        let callback = self
            .callback
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(|| "the callback was released".to_owned())?;
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let status = callback.call_with_return_value(
            arg,
            ThreadsafeFunctionCallMode::NonBlocking,
            move |ret: napi::Result<Answer<R>>, _env| {
                let _ = tx.send(ret.map_err(|e| e.reason.clone()));
                Ok(())
            },
        );
        drop(callback);
        if status != Status::Ok {
            return Err(format!("the callback could not be called: {status}"));
        }
        match rx.recv() {
            Ok(Ok(Answer::Later(promise))) => {
                futures::executor::block_on(promise).map_err(|e| e.reason.clone())
            }
            Ok(Ok(Answer::Now(value))) => Ok(value),
            Ok(Err(reason)) => Err(reason),
            Err(_) => Err("the callback was dropped before it answered".to_owned()),
        }
    }
}
