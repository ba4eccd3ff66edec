//! The Node.js binding of the FerroMQ client: the npm package `ferromq`, built with napi-rs.
//!
//! It translates types, errors and async only; all behaviour is in `ferromq-client`.
//! Layout: [`error`] (the one mapping of core errors to JavaScript errors), [`message`]
//! (messages, queues, send results), [`metrics`] (client-side counters), [`producer`],
//! [`transaction`], [`consumer`] (push consumer), [`pull`] (lite pull consumer, an async
//! iterator), [`admin`], [`selector`] (a JavaScript queue selector), [`testing`] (the local
//! cluster of `ferromq/testing`), [`callback`] (calling JavaScript callbacks from client
//! threads and waiting for them), [`listener`] (the push consumer's listener, called in
//! batches) and [`promise`] (Promises settled by futures polled on the JavaScript thread), the
//! last two over `jsthread` (one thread-safe function per line, woken once per batch).
//!
//! Async methods run on napi-rs's tokio runtime, which is the runtime the client core uses:
//! the core never creates one. The producer's sends are polled on the JavaScript thread inside
//! that runtime's context instead of being spawned on it ([`promise`]).

// napi-rs's generated glue and the value conversions in `error` need `unsafe`.
#![allow(unsafe_code)]
// The `#[napi]` glue is generated for exported items only.
#![allow(unreachable_pub)]

pub mod admin;
pub mod callback;
pub mod consumer;
pub mod error;
mod jsthread;
pub mod listener;
pub mod message;
pub mod metrics;
mod options;
pub mod producer;
pub mod promise;
pub mod pull;
pub mod selector;
pub mod testing;
pub mod transaction;
