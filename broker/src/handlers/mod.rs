//! Request handlers, one file per request family (mirroring `ferromq_protocol::header`). Each
//! handler takes the broker and the request and answers with a response; [`crate::dispatch`]
//! maps request codes to them.

pub(crate) mod admin;
pub(crate) mod client;
pub(crate) mod group;
pub(crate) mod locks;
pub(crate) mod offset;
pub(crate) mod pop;
pub(crate) mod pop_assign;
pub(crate) mod pop_notify;
pub(crate) mod pop_order;
pub(crate) mod pull;
pub(crate) mod query;
pub(crate) mod recall;
pub(crate) mod relay;
pub(crate) mod reply;
pub(crate) mod retry;
pub(crate) mod send;
pub(crate) mod send_wire;
pub(crate) mod topic;
pub(crate) mod transaction;
