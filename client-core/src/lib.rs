//! FerroMQ's client core: the RocketMQ client behaviour that every language binding wraps.
//!
//! Layout:
//! - [`error`]: the one [`Error`] type with a stable [`ErrorKind`] and a retryable flag;
//! - [`transport`]: the [`Transport`] trait (requests to an address, inbound requests from
//!   brokers) and its tokio TCP implementation with a per-address connection pool;
//! - [`client`]: the [`Client`] shared per name-server list and instance name (client id,
//!   name-server failover, route cache, heartbeats, broker-to-client requests); which address
//!   of a broker name a request goes to (the master, or a slave for reads and offsets while
//!   the master is gone) is the private `brokers` module;
//! - [`consumer`]: [`PushConsumer`] (concurrent and orderly), [`PullConsumer`], listeners, allocation strategies, offset stores;
//!   [`consumer::per_message`]: the one listener contract of every binding ([`Answer`],
//!   [`EachMessage`]);
//! - [`choices`]: the option enums bindings receive as text, with their accepted spellings;
//! - [`lifecycle`]: created → started → shut down ([`Lifecycle`]), as bindings present objects;
//! - [`namespace`]: Apache's `ns%topic` namespaces ([`ClientConfig::namespace`]);
//! - [`acl`]: ACL 1.0 request signing ([`Credentials`] in [`ClientConfig`]);
//! - [`message`]: [`Message`] to send, [`MessageView`] received, [`SendResult`];
//! - [`metrics`]: client-side counters ([`ProducerMetrics`], [`ConsumerMetrics`]);
//! - [`producer`]: [`Producer`] (sync / async / oneway, selectors, batches, retries);
//! - [`transaction`]: [`TransactionProducer`] and the [`TransactionListener`] trait;
//! - [`trace`]: message trace (Apache's trace data format, the background trace writer);
//! - [`selector`]: [`QueueSelector`] and the built-in selectors, fault avoidance;
//! - [`rt`]: tasks, timers and clocks: tokio natively, the JS event loop on wasm32.
//! - [`blocking`] (native): waiting for a future on the calling thread, for the bindings'
//!   blocking calls.
//!
//! Wire formats come from `ferromq-protocol`; this crate adds behaviour only. The core never
//! creates a tokio runtime: call it from one the application (or binding) owns.
//!
//! ```no_run
//! use ferromq_client::{
//!     ClientConfig, ConsumeResult, FilterExpression, Message, MessageView, Producer,
//!     ProducerOptions, PushConsumer, PushConsumerOptions,
//! };
//!
//! # async fn demo() -> ferromq_client::Result<()> {
//! let client = ClientConfig {
//!     namesrv_addr: "127.0.0.1:9876".to_owned(),
//!     ..ClientConfig::default()
//! };
//! let producer = Producer::start(ProducerOptions {
//!     client: client.clone(),
//!     group: "demo_producer".to_owned(),
//!     ..ProducerOptions::default()
//! })
//! .await?;
//! let sent = producer
//!     .send(Message::new("TopicTest", "hello").with_tag("TagA").with_keys(["k1"]))
//!     .await?;
//! println!("sent {} to {:?}", sent.msg_id, sent.queue);
//!
//! let consumer = PushConsumer::start(
//!     PushConsumerOptions {
//!         client,
//!         group: "demo_consumer".to_owned(),
//!         ..PushConsumerOptions::default()
//!     },
//!     [("TopicTest".to_owned(), FilterExpression::tag("TagA"))],
//!     |messages: &[MessageView]| {
//!         for m in messages {
//!             println!("received {}", m.msg_id());
//!         }
//!         ConsumeResult::Success
//!     },
//! )
//! .await?;
//! // ... later:
//! consumer.shutdown().await;
//! producer.shutdown().await;
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

pub mod acl;
pub mod admin;
#[cfg(not(target_arch = "wasm32"))]
pub mod blocking;
mod brokers;
pub mod choices;
pub mod client;
pub mod consumer;
pub mod error;
mod inbound;
pub mod lifecycle;
pub mod message;
pub mod metrics;
pub mod mux;
pub mod namespace;
pub mod producer;
mod recall;
pub mod request;
pub mod rt;
pub mod selector;
#[cfg(not(target_arch = "wasm32"))]
mod tcp;
#[cfg(all(feature = "testing", not(target_arch = "wasm32")))]
pub mod testing;
pub mod trace;
pub mod transaction;
pub mod transport;

pub use acl::Credentials;
pub use admin::{AclAccount, AclConfig, AclVersion, Admin, SubscriptionGroup, TopicOptions};
pub use choices::{Allocation, ConsumeFromKind, ExpressionType};
pub use client::{Client, ClientConfig, TlsConfig};
pub use consumer::allocate::{
    AllocateStrategy, Averagely, AveragelyByCircle, ByConfig, ByMachineRoom, ConsistentHash,
    MachineRoomNearby, MachineRoomResolver,
};
pub use consumer::per_message::{
    Answer, AsyncPerMessageListener, EachMessage, EachMessageAsync, PerMessageListener,
};
pub use consumer::{
    AsyncMessageListener, AsyncOrderlyListener, ConsumeFrom, ConsumeResult, FilterExpression,
    MessageListener, MessageModel, OrderlyListener, OrderlyResult, PullConsumer,
    PullConsumerOptions, PushConsumer, PushConsumerOptions,
};
pub use error::{Error, ErrorKind, Result};
pub use lifecycle::{Lifecycle, Service, State};
pub use message::{Message, MessageView, SendResult, SendStatus};
pub use metrics::{ConsumerMetrics, LatencyHistogram, ProducerMetrics, QueueLag};
pub use producer::{Producer, ProducerOptions};
pub use selector::{
    ForeignSelector, QueueSelector, SelectByHash, SelectByRandom, SelectRoundRobin, SelectorAnswer,
};
pub use transaction::{
    TransactionListener, TransactionProducer, TransactionSendResult, TransactionState,
};
#[cfg(not(target_arch = "wasm32"))]
pub use transport::TcpTransport;
pub use transport::{InboundHandler, Transport, TransportFactory};
