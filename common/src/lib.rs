//! Small pieces shared by FerroMQ's servers.
//!
//! - [`mod@settings`] and its [`settings!`] macro: typed settings bound to Apache's property keys;
//! - [`java_properties`]: reading and writing Java `.properties` text;
//! - [`config_file`]: crash-safe config files in Apache's layout (`<file>` plus `<file>.bak`);
//! - [`now_ms`]: the wall clock in milliseconds, as RocketMQ stamps messages and files;
//! - [`lock`]: poison-tolerant mutex locking;
//! - [`address_rule`]: remote address rules in Apache's ACL syntax (`192.168.1.*`, `10.0.0.1-9`);
//! - [`cli`]: the `-c` / `-p` / `-h` command line of the name server and the controller.

#![warn(missing_docs)]

pub mod address_rule;
pub mod cli;
pub mod config_file;
pub mod java_properties;
pub mod settings;
mod sync;
mod time;

pub use sync::lock;
pub use time::now_ms;
