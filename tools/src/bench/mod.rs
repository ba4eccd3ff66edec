//! The pieces of `mqbench` that do not depend on what is being measured: lock-free statistics
//! and the reporter.

pub mod report;
pub mod stats;

pub use report::Reporter;
pub use stats::{Histogram, Snapshot, Stats, Summary};
