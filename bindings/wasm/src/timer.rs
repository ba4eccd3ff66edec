//! Timers over JavaScript's `setTimeout`, as `Send` futures (the transport's futures must be
//! `Send`; a `JsFuture` is not, so the timer runs in a local task and reports through a
//! oneshot channel).

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
}

/// Completes after `duration`.
pub(crate) fn sleep(duration: Duration) -> impl Future<Output = ()> + Send + 'static {
    let (tx, rx) = oneshot::channel::<()>();
    let ms = i32::try_from(duration.as_millis()).unwrap_or(i32::MAX);
    wasm_bindgen_futures::spawn_local(async move {
        let promise = js_sys::Promise::new(&mut |resolve, _reject| {
            set_timeout(&resolve, ms);
        });
        let _ = JsFuture::from(promise).await;
        let _ = tx.send(());
    });
    async move {
        let _ = rx.await;
    }
}

/// `future`'s output, or `None` when `duration` passes first.
pub(crate) async fn timeout<F>(duration: Duration, future: F) -> Option<F::Output>
where
    F: Future,
{
    let future = std::pin::pin!(future);
    let timer = std::pin::pin!(sleep(duration));
    match select(future, timer).await {
        Either::Left((v, _)) => Some(v),
        Either::Right(((), _)) => None,
    }
}
