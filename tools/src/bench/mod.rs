//! `mqbench`: lock-free statistics, the reporter, the timing loop, and the producer, consumer,
//! transaction, request-reply and loopback ping-pong benchmarks over the FerroMQ client.

pub mod consumer;
pub mod pingpong;
pub mod producer;
pub mod report;
pub mod request;
pub mod run;
pub mod stats;
pub mod transaction;

pub use report::Reporter;
pub use stats::{Histogram, Snapshot, Stats, Summary};
