//! `config/*.json` in Apache's shapes: the broker's four config tables.
//!
//! | file | table | Apache class |
//! |---|---|---|
//! | `topics.json` | [`TopicConfigTable`] | `TopicConfigManager` |
//! | `consumerOffset.json` | [`ConsumerOffsetTable`] | `ConsumerOffsetManager` |
//! | `delayOffset.json` | [`DelayOffsetTable`] | `ScheduleMessageService` |
//! | `subscriptionGroup.json` | [`SubscriptionGroupTable`] | `SubscriptionGroupManager` |
//! | `timerProgress.properties` | [`TimerProgress`] | FerroMQ's own (Apache: `timercheck`) |
//!
//! Each table is a [`ConfigTable`] over the file's contents ([`TableContents`]: the data with
//! its own std locks, and its JSON), shared by reference (`Arc`) between tokio tasks and store
//! threads; no lock is held across file I/O. Every table has the same life cycle:
//!
//! - `load(path)` at startup: a missing file gives an empty table; a torn or empty file falls
//!   back to `<file>.bak` (what Apache's `ConfigManager.load` does), and only when neither
//!   parses is it an error;
//! - changes in memory, which only mark the table dirty;
//! - `persist()`: if anything changed, snapshot the JSON under the lock, then write it outside
//!   the lock with [`ferromq_common::config_file::write`] (temp file, fsync, `<file>.bak`,
//!   rename, directory fsync), so a crash never leaves a torn file (docs/store.md, "Config files");
//! - `encode()` / `decode(bytes)` for the JSON text without files (tests, admin bodies, slave
//!   sync).
//!
//! The JSON is what Apache 5.3.3 writes (checked against its classes): fields sorted
//! alphabetically, `null` fields omitted, integer map keys bare (`{0:123}`), as fastjson writes
//! `Map<Integer, _>`, so Apache reads our files. We write compact JSON where Apache's
//! `ConfigManager.persist` pretty-prints; readers of either accept both. Reading is lenient like
//! fastjson: bare or quoted keys, numbers as strings, unknown fields ignored, any field order.
//!
//! Startup defaults are separate from loading, as in Apache where the constructor adds them and
//! the loaded file overrides them: [`system_topics`] and [`system_groups`] give the defaults,
//! and `add_missing` adds those the file lacks.

mod file;
mod table;

pub mod consumer_offsets;
pub mod delay_offsets;
pub mod subscription_groups;
pub mod timer_progress;
pub mod topics;

pub use consumer_offsets::{ConsumerOffsetTable, ConsumerOffsets};
pub use delay_offsets::{DelayOffsetTable, DelayOffsets};
pub use subscription_groups::{
    system_groups, CustomizedRetryPolicy, ExponentialRetryPolicy, GroupRetryPolicy,
    GroupRetryPolicyType, SimpleSubscriptionData, SubscriptionGroupConfig, SubscriptionGroupTable,
    SubscriptionGroups,
};
pub use table::{ConfigTable, TableContents};
pub use timer_progress::TimerProgress;
pub use topics::{system_topics, SystemTopics, TopicConfigTable, Topics, TIMER_TOPIC};
