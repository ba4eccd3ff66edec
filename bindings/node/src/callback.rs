//! Calling JavaScript callbacks from client threads and waiting for their answer.
//!
//! A callback is a `ThreadsafeFunction` that returns either a value or a Promise of it; the
//! calling (blocking) thread waits until the JavaScript thread has run the callback and, for a
//! Promise, until it settled. A callback that throws or rejects is an `Err`.

use std::sync::Mutex;

use napi::bindgen_prelude::JsValuesTupleIntoVec;
use napi::bindgen_prelude::{Either, FromNapiValue, Promise};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Status;

/// A JavaScript callback taking `T` and returning `R` or `Promise<R>`.
pub(crate) type Callback<T, R> = ThreadsafeFunction<T, Either<Promise<R>, R>, T, Status, false>;

/// A callback that can be released: once [`Slot::release`] ran, calls fail and the callback
/// no longer keeps Node's event loop alive.
pub(crate) struct Slot<T, R>
where
    T: 'static + JsValuesTupleIntoVec,
    R: 'static + FromNapiValue,
    Either<Promise<R>, R>: FromNapiValue,
{
    callback: Mutex<Option<std::sync::Arc<Callback<T, R>>>>,
}

impl<T, R> Slot<T, R>
where
    T: 'static + JsValuesTupleIntoVec,
    R: 'static + FromNapiValue + Send,
    Either<Promise<R>, R>: FromNapiValue + Send,
{
    pub(crate) fn new(callback: Callback<T, R>) -> Self {
        Slot {
            callback: Mutex::new(Some(std::sync::Arc::new(callback))),
        }
    }

    /// Drops the callback (it stops holding the event loop open once no call is in flight).
    pub(crate) fn release(&self) {
        self.callback
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
    }

    /// Calls the callback with `arg` and blocks until it returned (or its Promise settled).
    /// Must run on a thread that is not the JavaScript thread.
    pub(crate) fn call_blocking(&self, arg: T) -> Result<R, String> {
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
            move |ret: napi::Result<Either<Promise<R>, R>>, _env| {
                let _ = tx.send(ret.map_err(|e| e.reason.clone()));
                Ok(())
            },
        );
        drop(callback);
        if status != Status::Ok {
            return Err(format!("the callback could not be called: {status}"));
        }
        match rx.recv() {
            Ok(Ok(Either::A(promise))) => {
                futures::executor::block_on(promise).map_err(|e| e.reason.clone())
            }
            Ok(Ok(Either::B(value))) => Ok(value),
            Ok(Err(reason)) => Err(reason),
            Err(_) => Err("the callback was dropped before it answered".to_owned()),
        }
    }
}
