//! FerroMQ broker: the RocketMQ remoting server on top of [`ferromq_store`].
//!
//! The folder shows the architecture:
//!
//! - `state`: the shared [`Broker`] (settings, store, config tables, clients); `catalog`
//!   (topics and groups, created on demand within limits), `records` (reading records at offsets
//!   clients name), `transactions` (half and op records), `delays` (parking delayed and timer
//!   messages), `filters` (tag and SQL92), `clients`,
//!   `locks` and `limits` hold the domain rules the handlers and services share;
//! - `acl`: ACL 1.0, the checks run before every request's handler when `aclEnable` is set;
//!   `auth`: ACL 2.0 (users, ACLs, `authenticationEnabled` / `authorizationEnabled`) beside it;
//! - `dispatch`: which handler answers each request code; `handlers`: one file per request
//!   family (send, pull, client, offset, query, topic, group, transaction, locks, admin, retry,
//!   pop); `pop`: POP consumption state (the fsynced pop ledger, revive; docs/pop.md);
//!   `response`: how every answer and refusal is built;
//! - `services`: the background tasks (name-server registration, housekeeping, delay levels,
//!   timers, the transaction checker, replication), each with its start and stop;
//!   `replication` is what the HA services and SYNC_MASTER sends share;
//! - `replicas`: controller mode (`enableControllerMode`), the broker's side of the controllers:
//!   its id, its role, the sync state set (with `services::ha::autoswitch` replicating);
//! - [`config`]: Apache's broker keys; one properties file configures broker and store;
//! - [`open`], [`bind`], [`run`]: open the store, bind the configured listeners, serve until
//!   shutdown (what `mqbroker` and the tests call).

#![warn(missing_docs)]

pub mod clients;
pub mod config;

mod acl;
mod auth;
mod catalog;
mod delays;
mod dispatch;
mod filters;
#[cfg(feature = "grpc")]
pub mod grpc;
mod handlers;
mod limits;
mod locks;
mod meters;
mod metrics;
mod pop;
mod records;
mod replicas;
mod replication;
mod response;
mod server;
mod services;
mod state;
mod stats;
mod transactions;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock, Weak};

use ferromq_store::configs::{
    system_groups, ConsumerOffsetTable, DelayOffsetTable, SubscriptionGroupTable, SystemTopics,
    TopicConfigTable,
};
use ferromq_store::dispatch::ArrivalListener;
use ferromq_store::MessageStore;

pub use config::{BrokerConfig, Settings};
pub use dispatch::BrokerHandler;
pub use server::{bind, bind_web_socket, run};
pub use state::Broker;

/// Why the broker could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// The store could not open or close.
    #[error(transparent)]
    Store(#[from] ferromq_store::StoreError),
    /// A socket or file error.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The configuration cannot work.
    #[error("invalid configuration: {0}")]
    Config(String),
}

/// Opens the store and config files of `settings` and builds the broker (no sockets yet).
pub async fn open(mut settings: Settings) -> Result<Arc<Broker>, BrokerError> {
    replicas::check_settings(&settings).map_err(BrokerError::Config)?;
    // Controller mode: a slave taking no writes until the controllers decide, and a former
    // master's unacknowledged tail cut before anything reads the store.
    let truncate_to = replicas::startup_truncation(&settings).await;
    if settings.broker.enable_controller_mode {
        settings.broker.broker_role = config::BrokerRole::Slave;
    }
    let store_host: SocketAddr = settings.broker.broker_addr().parse().map_err(|_| {
        BrokerError::Config(format!(
            "brokerIP1 `{}` is not an IP address",
            settings.broker.broker_ip1
        ))
    })?;
    // Before the store opens: a bad ACL file stops start-up at once.
    let acl = acl::Acl::open(&settings.broker).map_err(BrokerError::Config)?;
    let auth = auth::Auth::open(&settings.broker, &settings.store.config_dir())
        .map_err(BrokerError::Config)?;
    let cell: Arc<OnceLock<Weak<Broker>>> = Arc::new(OnceLock::new());
    let listener_cell = cell.clone();
    let listener: ArrivalListener = Arc::new(move |req| {
        if let Some(b) = listener_cell.get().and_then(Weak::upgrade) {
            b.message_arrived(&req.topic, req.queue_id);
        }
    });
    let store_config = settings.store.clone();
    let store = tokio::task::spawn_blocking(move || {
        MessageStore::open_truncated(store_config, Some(listener), truncate_to)
    })
    .await
    .map_err(|e| BrokerError::Config(format!("store open panicked: {e}")))??;
    let dir = settings.store.config_dir();
    let topics = TopicConfigTable::load(dir.join("topics.json"))?;
    let b = &settings.broker;
    let mut system = SystemTopics::new(
        b.broker_cluster_name.as_str(),
        b.broker_name.as_str(),
        b.auto_create_topic_enable,
        b.default_topic_queue_nums,
    );
    if b.trace_topic_enable {
        let name = b.msg_trace_topic_name.trim();
        ferromq_protocol::names::check_topic(name)
            .map_err(|e| BrokerError::Config(format!("msgTraceTopicName: {e}")))?;
        system.trace_topic_enable = true;
        system.msg_trace_topic_name = name.to_owned();
    }
    topics.add_missing(system.topics());
    let groups = SubscriptionGroupTable::load(dir.join("subscriptionGroup.json"))?;
    groups.add_missing(system_groups());
    let offsets = ConsumerOffsetTable::load(dir.join("consumerOffset.json"))?;
    let delay_offsets = DelayOffsetTable::load(dir.join("delayOffset.json"))?;
    let delay_levels = settings.store.delay_levels();
    let broker = Arc::new(Broker {
        store,
        topics: Arc::new(topics),
        groups: Arc::new(groups),
        offsets,
        delay_offsets,
        delay_levels,
        clients: Default::default(),
        locks: Default::default(),
        resolved_halves: Default::default(),
        replication: Default::default(),
        store_host,
        arrivals: Default::default(),
        topics_changed: Default::default(),
        started: std::time::Instant::now(),
        stats: crate::stats::Stats::new(ferromq_common::now_ms()),
        topic_creations: Default::default(),
        group_creations: Default::default(),
        pop: pop::PopService::open(&settings.store.root_file("pop"), &dir)?,
        acl,
        auth: Arc::new(auth),
        settings: std::sync::RwLock::new(Arc::new(settings)),
    });
    let _ = cell.set(Arc::downgrade(&broker));
    let weak = Arc::downgrade(&broker);
    broker.store.set_append_listener(Arc::new(move |end| {
        if let Some(b) = weak.upgrade() {
            b.replication.appended(end);
        }
    }));
    if broker.settings().broker.enable_controller_mode {
        let path = replicas::epoch_path(&broker.settings());
        let epochs = services::ha::autoswitch::epoch::EpochFile::open(&path)
            .map_err(|e| BrokerError::Config(format!("storePathEpochFile: {e}")))?;
        broker.replication.auto.load_epochs(epochs);
    }
    broker.persist_all();
    acl::spawn_reloader(&broker);
    Ok(broker)
}
