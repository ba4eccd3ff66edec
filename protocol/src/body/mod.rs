//! JSON bodies (docs/protocol.md, "JSON bodies").
//!
//! Typed bodies encoded exactly as Java's fastjson writes them: compact, bean properties in
//! alphabetical order (structs declare their fields in that order, and writing goes through
//! [`crate::json`], whose objects are sorted), `null` fields omitted, enums as names, `isX()`
//! booleans as key `x`. Decoding is lenient like fastjson: unknown fields are ignored, missing
//! or `null` fields take their Java defaults, numbers may be strings, map keys may be unquoted,
//! and unknown enum names are kept in an `Other` variant.
//!
//! Every type has `encode(&self) -> Vec<u8>`, `to_json(&self) -> String` and
//! `decode(&[u8]) -> Result<Self>`; the exceptions take a style or mode:
//!
//! - [`route`]: [`TopicRouteData::encode`] takes a [`RouteJsonStyle`] (legacy bare-key or
//!   standard JSON, chosen per request with [`RouteJsonStyle::for_request`]);
//! - [`cluster`]: [`ClusterInfo`] is always the legacy bare-key form;
//! - [`topic`] and [`register`]: topic configs, data versions and the REGISTER_BROKER body in
//!   JSON and in its zlib-compressed binary form;
//! - [`heartbeat`]: HEART_BEAT data and its enums;
//! - [`queue`]: [`MessageQueue`] and the lock/unlock bodies;
//! - [`connection`]: consumer/producer connection listings and CHECK_CLIENT_CONFIG;
//! - [`misc`]: topic lists, KV tables, the name server KV config file, consumer id lists;
//! - [`stats`]: statistics bodies keyed by `MessageQueue` beans (docs/protocol.md, "Maps keyed by
//!   objects");
//! - [`running`]: a consumer's running info (GET_CONSUMER_RUNNING_INFO), also bean-keyed;
//! - [`auth`]: ACL 2.0 users and ACLs (`UserInfo`, `AclInfo`);
//! - [`controller`]: controller mode's sync state sets and replica listings.

#[macro_use]
mod macros;
mod de;

pub mod auth;
pub mod cluster;
pub mod connection;
pub mod controller;
pub mod ha;
pub mod heartbeat;
pub mod misc;
pub mod queue;
pub mod register;
pub mod route;
pub mod running;
pub mod stats;
pub mod topic;

pub use cluster::ClusterInfo;
pub use connection::{CheckClientRequestBody, Connection, ConsumerConnection, ProducerConnection};
pub use controller::{
    BrokerReplicasInfo, ElectMasterResponseBody, EpochEntry, EpochEntryCache, ReplicaIdentity,
    ReplicasInfo, SyncStateSet,
};
pub use ha::{
    BrokerMemberGroup, GetBrokerMemberGroupResponseBody, HaClientRuntimeInfo,
    HaConnectionRuntimeInfo, HaRuntimeInfo,
};
pub use heartbeat::{
    ConsumeFromWhere, ConsumeType, ConsumerData, ExpressionType, HeartbeatData, MessageModel,
    ProducerData, SubscriptionData,
};
pub use misc::{
    BrokerStatsData, BrokerStatsItem, ConsumeQueueData, GetConsumerListByGroupResponseBody,
    GroupForbidden, KVTable, KvConfigFile, QueryConsumeQueueResponseBody, QueryConsumeTimeSpanBody,
    QueueTimeSpan, TopicList,
};
pub use queue::{
    LockBatchRequestBody, LockBatchResponseBody, MessageQueue, UnlockBatchRequestBody,
};
pub use register::{RegisterBrokerBody, DEFAULT_MAX_INFLATED};
pub use route::{
    perm, topic_sys_flag, BrokerData, QueueData, RouteJsonStyle, TopicRouteData, MASTER_ID,
};
pub use running::{ConsumeStatus, ConsumerRunningInfo, PopProcessQueueInfo, ProcessQueueInfo};
pub use stats::{
    ConsumeStats, ConsumeStatsList, GetConsumerStatusBody, OffsetWrapper, QueueOffsets,
    ResetOffsetBody, TopicOffset, TopicStatsTable,
};
pub use topic::{DataVersion, TopicConfig, TopicConfigSerializeWrapper, TopicFilterType};
