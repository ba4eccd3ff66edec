//! Classic master/slave replication, wire- and disk-compatible with Apache's HA service
//! (docs/protocol.md, "Replication"): a master serves its commitlog on `haListenPort`
//! ([`master`]); a slave copies it byte for byte into its own store ([`slave`]) and keeps its
//! master's tables ([`sync`]).

pub(crate) mod autoswitch;
pub(crate) mod master;
pub(crate) mod slave;
pub(crate) mod sync;
mod wire;
