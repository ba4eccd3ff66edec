//! Small pieces shared by FerroMQ's servers.
//!
//! - [`config_file`]: crash-safe config files in Apache's layout (`<file>` plus `<file>.bak`).

#![warn(missing_docs)]

pub mod config_file;
