//! `mqbench`: lock-free statistics, the reporter, the timing loop, and the producer, consumer,
//! transaction and request-reply benchmarks over the FerroMQ client.

pub mod consumer;
pub mod producer;
pub mod report;
pub mod request;
pub mod run;
pub mod stats;
pub mod transaction;

pub use report::Reporter;
pub use stats::{Histogram, Snapshot, Stats, Summary};
