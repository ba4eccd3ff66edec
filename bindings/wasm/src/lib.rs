//! The WebAssembly binding of the FerroMQ client: the npm package `ferromq-wasm`, the same
//! client core as the Rust, Python, Node and C packages, over a WebSocket transport, for
//! browsers and Node (with the `ws` package as `globalThis.WebSocket`).
//!
//! Layout:
//! - `transport`: the core's `Transport` over `WebSocket` (one local task per connection,
//!   broker endpoints looked up in the name servers' `FERROMQ_WEBSOCKET` KV namespace);
//! - `options`: the client settings common to every object;
//! - [`producer`], [`transaction`], [`consumer`] (push), [`pull`], [`admin`]: the JavaScript
//!   classes; [`request`]: request-reply (`Producer.request`, `sendReply`, `createReply`);
//! - `message`: messages, received messages and send results as plain objects;
//! - `metrics`: the client-side counters as plain objects;
//! - `registry`: the JavaScript functions the core's callbacks (listeners, selectors) call;
//! - [`offline`]: the stored-message codec, SQL92 selectors and tag hash codes;
//! - [`error`]: `ferromq_client::Error` as a JavaScript `Error` with `code` and `retryable`.
//!
//! Behaviour lives in `ferromq-client`; this crate translates types, errors and async only.

pub mod admin;
pub mod consumer;
pub mod error;
mod js;
mod message;
mod metrics;
pub mod offline;
mod options;
pub mod producer;
pub mod pull;
mod registry;
pub mod request;
pub mod transaction;
mod transport;
mod types;

use wasm_bindgen::prelude::*;

// Two small functions written in JavaScript (no `eval`, so a strict Content-Security-Policy
// needs nothing extra): the `text()` of received messages and the async iterator of
// `PullConsumer`.
#[wasm_bindgen(inline_js = "
export function messageText() { return new TextDecoder().decode(this.body); }
export async function* pullMessages() {
  for (;;) {
    let m;
    try { m = await this.nextMessage(); }
    catch (e) { if (e && e.code === 'IllegalState') return; throw e; }
    if (m === null || m === undefined) return;
    yield m;
  }
}
export function textFunction() { return messageText; }
export function pullIterator() { return pullMessages; }
")]
extern "C" {
    /// `function () { return new TextDecoder().decode(this.body) }`.
    #[wasm_bindgen(js_name = textFunction)]
    fn text_function() -> js_sys::Function;
    /// `async function* () { ... }` taking `this.nextMessage()` until it answers `null` (shut
    /// down) or `IllegalState` (not started, or shut down).
    #[wasm_bindgen(js_name = pullIterator)]
    fn pull_iterator() -> js_sys::Function;
}

/// Runs when the module is instantiated: makes `PullConsumer` async-iterable.
#[wasm_bindgen(start)]
pub fn start() -> Result<(), JsValue> {
    pull::install_async_iterator()
}

/// The package version.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}
