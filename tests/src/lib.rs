//! Cross-process test harness for FerroMQ.
//!
//! Integration and compatibility tests start real servers and the official Apache RocketMQ
//! clients as child processes on free ports, wait for conditions with deadlines (never fixed
//! sleeps), and stop everything they started when dropped, even on panic.
//!
//! Layout:
//! - [`net`]: free ports (including the broker's `p-2, p, p+1` triple) and condition polling.
//! - [`process`]: [`ChildGuard`], which kills and reaps a child's process group on drop, and
//!   bounded runs of client programs with captured output.
//! - [`toolchain`]: finding `java`, `mvn`, `go` and printing `SKIPPED: ...` when one is missing.
//! - [`artifacts`]: the Apache jars and the Java/Go compat programs under `tests/compat/`,
//!   built once per run and cached in `tests/compat/.cache/` and the Maven/Go caches.
//! - [`apache`]: the real Apache RocketMQ name server and broker (Maven Central jars).
//! - [`pki`]: a CA and a server certificate for TLS tests.
//! - [`jvm`]: Apache's controller and controller-mode broker as bare JVMs (controller tests).
//! - [`remoting`]: a minimal blocking RocketMQ remoting client for readiness checks
//!   (`GET_BROKER_CLUSTER_INFO`, `GET_ROUTEINFO_BY_TOPIC`).
//! - [`recorder`]: the Python frame recorder used to make golden vectors.
//! - [`clients`]: the official Java (`rocketmq-client` 5.3.3) and Go
//!   (`rocketmq-client-go/v2` v2.1.2) client programs.
//! - [`ha`]: master/slave helpers (2m-2s layout, topics on the masters, slave caught up, routes)
//!   on top of `ferromq_client::testing::LocalCluster`, which runs FerroMQ's `mqnamesrv` and
//!   `mqbroker` binaries as processes (kill -9, restart, promotion).
//! - [`compat`]: the end-to-end acceptance scenario, run against any name server address.
//! - [`ferro`]: FerroMQ's own name server and broker, in-process on free ports.
//! - [`cmode`]: controller mode as processes (`mqnamesrv`, `mqcontroller`, `mqbroker` replicas
//!   of one broker set) and what the controllers say about the set; [`netns`]: a network
//!   namespace with a veth pair to cut a broker off the network.
//! - [`grpc`]: Apache's proxy in local mode (gRPC `MessagingService`), topic/group set-up and
//!   the official 5.x gRPC SDK programs (Java `rocketmq-client-java`, Go `golang/v5`).
//! - [`proxies`]: gRPC proxies in cluster mode in front of several brokers (FerroMQ's
//!   `mqproxy`, Apache's `rocketmq-proxy`), with the set-up of topics on every master and the
//!   SDK scenario runs through them ([`proxies::ScenariosAcross`]).
//! - [`mqadmin`]: Apache's `mqadmin` and ours as processes, and the Java `AdminFixture`;
//!   [`listing`] compares two `mqadmin` outputs' headers, columns and rows.

pub mod apache;
pub mod artifacts;
pub mod clients;
pub mod cmode;
pub mod compat;
pub mod ferro;
pub mod grpc;
pub mod ha;
pub mod jvm;
pub mod listing;
pub mod mqadmin;
pub mod net;
pub mod netns;
pub mod pki;
pub mod process;
pub mod proxies;
pub mod recorder;
pub mod remoting;
pub mod toolchain;

pub use apache::{ApacheBroker, ApacheNamesrv, BrokerOptions};
pub use clients::{ClientRun, CLIENT_TIMEOUT};
pub use compat::{clients_round_trip, official_clients_round_trip, COMPAT_TOOLS};
pub use ferro::{FerroBroker, FerroNamesrv, StoppedBroker};
pub use process::ChildGuard;
pub use toolchain::require_tools;
