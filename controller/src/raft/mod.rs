//! The Raft layer: openraft's types for the controller, and the storage and network it runs on.
//!
//! - [`log_store`]: the durable log (one append-only file, a checksum per entry), the vote and
//!   the committed and purged positions (small files replaced atomically);
//! - [`state_machine`]: the applied [`ReplicasState`](crate::state::ReplicasState) and its
//!   snapshots on disk;
//! - [`network`]: Raft RPCs between controllers, carried as remoting frames with private
//!   request codes on the controller port;
//! - [`fsutil`]: crash-safe file replacement.

pub mod fsutil;
pub mod log_store;
pub mod network;
pub mod state_machine;

use std::io::Cursor;

use serde::{Deserialize, Serialize};

use crate::state::Event;

/// A Raft log entry's application payload: the events of one controller request, applied
/// together.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// The events, in order.
    pub events: Vec<Event>,
}

openraft::declare_raft_types!(
    /// openraft's type parameters for the controller: node ids are `u64` (hashes of the peer
    /// ids), nodes carry their controller address, entries carry a [`Request`].
    pub TypeConfig:
        D = Request,
        R = (),
);

/// A Raft node id.
pub type NodeId = u64;
/// A Raft node: its address.
pub type Node = openraft::BasicNode;
/// The Raft handle.
pub type Raft = openraft::Raft<TypeConfig>;
/// A log entry.
pub type Entry = openraft::Entry<TypeConfig>;
/// A log id.
pub type LogId = openraft::LogId<NodeId>;
/// A storage error.
pub type StorageError = openraft::StorageError<NodeId>;
