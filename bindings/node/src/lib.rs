//! The Node.js binding of the FerroMQ client: the npm package `ferromq`, built with napi-rs.
//!
//! It translates types, errors and async only; all behaviour is in `ferromq-client`.
//! Layout: [`error`] (the one mapping of core errors to JavaScript errors), [`message`]
//! (messages, queues, send results), [`metrics`] (client-side counters), [`producer`],
//! [`transaction`], [`consumer`] (push consumer), [`pull`] (lite pull consumer, an async
//! iterator), [`admin`], [`selector`] (a JavaScript queue selector), [`testing`] (the local
//! cluster of `ferromq/testing`) and [`callback`] (calling JavaScript listeners from client
//! threads).
//!
//! Async methods run on napi-rs's tokio runtime, which is the runtime the client core uses:
//! the core never creates one.

// napi-rs's generated glue and the value conversions in `error` need `unsafe`.
#![allow(unsafe_code)]
// The `#[napi]` glue is generated for exported items only.
#![allow(unreachable_pub)]

pub mod admin;
pub mod callback;
pub mod consumer;
pub mod error;
pub mod message;
pub mod metrics;
mod options;
pub mod producer;
pub mod pull;
pub mod selector;
pub mod testing;
pub mod transaction;
