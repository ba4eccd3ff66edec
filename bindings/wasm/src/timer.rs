//! Timeouts whose JavaScript timer is cleared when they are dropped.
//!
//! `ferromq_client::rt::sleep` leaves its `setTimeout` armed when the sleep is dropped early; a
//! request answered in 1 ms would then keep a 30 s timer (a long-poll pull's timeout) alive, and
//! with it Node's event loop after everything was shut down. The transport's own timeouts use
//! this instead: the timer lives in a local task that clears it as soon as the (`Send`) future
//! waiting on it goes away.

use std::future::Future;
use std::time::Duration;

use futures::channel::oneshot;
use futures::future::{select, Either};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &js_sys::Function, ms: i32) -> JsValue;

    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(handle: &JsValue);
}

/// Completes after `duration`; dropping it first clears the timer.
fn sleep(duration: Duration) -> impl Future<Output = ()> + Send + 'static {
    let (fired_tx, fired_rx) = oneshot::channel::<()>();
    let (cancel_tx, cancel_rx) = oneshot::channel::<()>();
    let ms = i32::try_from(duration.as_millis()).unwrap_or(i32::MAX);
    wasm_bindgen_futures::spawn_local(async move {
        let mut handle = JsValue::UNDEFINED;
        let promise = js_sys::Promise::new(&mut |resolve, _reject| {
            handle = set_timeout(&resolve, ms);
        });
        match select(JsFuture::from(promise), cancel_rx).await {
            Either::Left(_) => {
                let _ = fired_tx.send(());
            }
            Either::Right(_) => clear_timeout(&handle),
        }
    });
    async move {
        // Dropped with this future (fired or not): the task then clears the timer.
        let _cancel = cancel_tx;
        let _ = fired_rx.await;
    }
}

/// Waits for `future`, at most `duration`; `None` when the time ran out.
pub(crate) async fn timeout<F: Future>(duration: Duration, future: F) -> Option<F::Output> {
    let future = std::pin::pin!(future);
    let timer = std::pin::pin!(sleep(duration));
    match select(future, timer).await {
        Either::Left((out, _)) => Some(out),
        Either::Right(_) => None,
    }
}
