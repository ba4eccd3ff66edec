//! FerroMQ's command-line tools: `mqbench`, a benchmark in the spirit of Apache RocketMQ's
//! benchmark Producer / Consumer / TransactionProducer, over the FerroMQ client.

#![warn(missing_docs)]

pub mod bench;
