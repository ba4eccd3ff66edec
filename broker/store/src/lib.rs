//! FerroMQ's message store, with Apache RocketMQ's on-disk layout.
//!
//! A store directory written by Apache RocketMQ opens here, and the reverse, because every file
//! keeps Apache's format (store-and-broker.md sections 0-3):
//!
//! - [`config`]: Apache's `MessageStoreConfig` keys;
//! - [`configs`]: `config/*.json` (topics, consumer offsets, delay offsets, subscription
//!   groups) in Apache's shapes, written crash-safely.

pub mod checkpoint;
pub mod commit_log;
pub mod config;
pub mod dispatch;
pub mod configs;
pub mod consume_queue;
pub mod error;
pub mod flush;
pub mod index;
pub mod mapped_file;
pub mod mapped_file_queue;

pub use config::{FlushDiskType, StoreConfig};
pub use error::{Result, StoreError};
