//! FerroMQ's message store, with Apache RocketMQ's on-disk layout.
//!
//! A store directory written by Apache RocketMQ opens here, and the reverse, because every file
//! keeps Apache's format (docs/store.md, "Compatibility checklist"):
//!
//! - [`store`]: [`MessageStore`], the facade: open and recover, put (with SYNC_FLUSH group
//!   commit or ASYNC_FLUSH), pull by queue offset, query by key, look up by commitlog offset;
//! - [`commit_log`], [`mapped_file`], [`mapped_file_queue`], [`flush`]: the commitlog in mapped
//!   files named by offset, Apache's record layout, group commit;
//! - [`consume_queue`]: 20-byte units per topic/queue; [`index`]: the key index (IndexFile);
//! - [`dispatch`]: the thread that builds both from the commitlog; [`checkpoint`];
//! - `replica`: a master's reads for its slaves and a slave's appends of its master's bytes;
//! - [`fault`]: the sticky I/O fault (after a failed write or sync the store acknowledges
//!   nothing until restarted) and a test seam that injects I/O errors;
//! - [`retention`]: `deleteWhen` / `fileReservedTime` / disk-ratio clean-up and refusing writes
//!   when the disk is too full;
//! - [`config`]: Apache's `MessageStoreConfig` keys;
//! - [`configs`]: `config/*.json` (topics, consumer offsets, delay offsets, subscription
//!   groups) in Apache's shapes, written crash-safely.

#![warn(missing_docs)]

mod admin;
pub mod checkpoint;
pub mod commit_log;
pub mod config;
pub mod configs;
pub mod consume_queue;
pub mod dispatch;
pub mod error;
pub mod fault;
pub mod flush;
pub mod index;
pub mod mapped_file;
pub mod mapped_file_queue;
mod reads;
mod recovery;
mod replica;
pub mod retention;
pub mod store;

pub use config::{FlushDiskType, StoreConfig};
pub use error::{Result, StoreError};
pub use store::{GetMessageResult, GetMessageStatus, MessageStore, PutResult, PutStatus};
