//! The client shared by every producer and consumer of a process that uses the same name
//! servers and instance name (Java's `MQClientInstance`): the client id, the transport, the
//! name-server failover, the topic route cache (refreshed every 30 s), heartbeats to every
//! broker (every 30 s), and the dispatch of requests brokers send to the client.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use ferromq_common::lock;
use ferromq_protocol::body::{
    ConsumerData, GetConsumerListByGroupResponseBody, HeartbeatData, MessageQueue, ProducerData,
    TopicRouteData, MASTER_ID,
};
use ferromq_protocol::header::client::{
    GetConsumerListByGroupRequestHeader, UnregisterClientRequestHeader,
};
use ferromq_protocol::header::namesrv::GetRouteInfoRequestHeader;
use ferromq_protocol::message::{DecodeOptions, MessageExt, UniqIdGenerator};
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use futures::future::BoxFuture;

use crate::acl::Credentials;
use crate::brokers::{self, BrokerAddr, RefreshThrottle};
use crate::error::{Error, ErrorKind, Result};
use crate::inbound;
use crate::transport::{InboundHandler, Transport, TransportFactory};

/// Settings shared by producers and consumers (Java `ClientConfig`).
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Name server addresses, `;`-separated (`host:port;host:port`). The client sticks to one
    /// and moves to the next when it fails.
    pub namesrv_addr: String,
    /// Instance name (the one rule for every binding). Producers and consumers with the same
    /// name servers and instance name share one client. Left at [`Self::DEFAULT_INSTANCE`], it
    /// is made per process: clients are shared within a process only (a child after `fork()`
    /// never reuses its parent's client), and the client id gets `<pid>#<nanos>` as in Java.
    /// On wasm32, where there are no processes, "process" means the loaded module (a random
    /// number drawn once stands in for the pid). Set distinct names to keep two members of one
    /// group in one process apart.
    pub instance_name: String,
    /// Timeout of ordinary requests (Java `mqClientApiTimeout`, 3 s).
    pub request_timeout: Duration,
    /// Route refresh period (30 s).
    pub route_refresh_interval: Duration,
    /// Heartbeat period (30 s).
    pub heartbeat_interval: Duration,
    /// The IP put in the client id and message ids; detected when `None`.
    pub client_ip: Option<IpAddr>,
    /// ACL 1.0 credentials: when set, every request is signed (docs/protocol.md, "ACL signing").
    pub credentials: Option<Credentials>,
    /// The transport to use; `None` is the tokio TCP transport (required on wasm32, which has
    /// no default).
    pub transport: Option<TransportFactory>,
    /// TLS for the tokio TCP transport (to name servers and brokers); `None` (the default) is
    /// plaintext. Servers in `enforcing` mode need it; `permissive` ones take either. Not used
    /// by a custom [`Self::transport`] (nor on wasm32). Clients sharing an instance name share
    /// the first one's TLS settings.
    pub tls: Option<TlsConfig>,
    /// The namespace of the producers and consumers made with these settings (Java
    /// `ClientConfig.setNamespace`; docs/namespaces.md): topics and groups go on the wire as
    /// `ns%name`, and what the application receives has `ns%` taken off again. `None` (or
    /// empty) is no namespace. Checked when a producer or consumer starts: 1 to 125
    /// characters out of `[a-zA-Z0-9_|-]`. The admin client ignores it, as Apache's does.
    pub namespace: Option<String>,
}

/// TLS settings of the TCP transport (docs/tls.md).
///
/// By default the server's certificate must chain to the system's trusted roots and name the
/// host dialed: the name server's address as configured, the broker's IP as the route gives it
/// (`brokerIP1`). Certificates from a private CA that do not carry the brokers' IPs need
/// [`Self::server_name`] (one name for the cluster) or `verify_hostname = false`.
///
/// Apache's Java client, by contrast, trusts any server by default (`tls.test.mode.enable`
/// is true) and never checks names; [`Self::trust_any_server`] is that behaviour, off by default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    /// A PEM file of the CAs server certificates must chain to; `None` uses the system's roots.
    pub ca_file: Option<std::path::PathBuf>,
    /// Whether the certificate must name the host dialed (or [`Self::server_name`]); false
    /// checks only its chain, as Apache's client does with `tls.client.authServer=true`. Only
    /// sensible with a private [`Self::ca_file`]. Default true.
    pub verify_hostname: bool,
    /// The name every server's certificate is checked against (and sent as SNI) instead of the
    /// host dialed.
    pub server_name: Option<String>,
    /// A client certificate chain (PEM) for servers that require one (`tls.server.need.client.auth`).
    pub cert_file: Option<std::path::PathBuf>,
    /// The client certificate's private key (PEM: PKCS#8, RSA or EC; not encrypted).
    pub key_file: Option<std::path::PathBuf>,
    /// Trust any server certificate, unverified: the traffic is encrypted but an active man in
    /// the middle can read it. For tests only; Apache's `tls.test.mode.enable`. Default false.
    pub trust_any_server: bool,
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            ca_file: None,
            verify_hostname: true,
            server_name: None,
            cert_file: None,
            key_file: None,
            trust_any_server: false,
        }
    }
}

impl ClientConfig {
    /// The default instance name (see [`Self::instance_name`]).
    pub const DEFAULT_INSTANCE: &'static str = "DEFAULT";

    /// The default settings for the name servers `namesrv_addr`, with an instance name when
    /// given (else [`Self::DEFAULT_INSTANCE`]): the common part of every binding's options.
    pub fn new(namesrv_addr: impl Into<String>, instance_name: Option<String>) -> Self {
        let mut c = ClientConfig {
            namesrv_addr: namesrv_addr.into(),
            ..ClientConfig::default()
        };
        if let Some(name) = instance_name {
            c.instance_name = name;
        }
        c
    }

    /// The name clients are shared under: the instance name, with the process id for the
    /// default one.
    fn sharing_name(&self) -> String {
        if self.instance_name == Self::DEFAULT_INSTANCE {
            format!("{}@{}", Self::DEFAULT_INSTANCE, process_id())
        } else {
            self.instance_name.clone()
        }
    }
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            namesrv_addr: "127.0.0.1:9876".to_owned(),
            instance_name: ClientConfig::DEFAULT_INSTANCE.to_owned(),
            request_timeout: Duration::from_secs(3),
            route_refresh_interval: Duration::from_secs(30),
            heartbeat_interval: Duration::from_secs(30),
            client_ip: None,
            credentials: None,
            transport: None,
            tls: None,
            namespace: None,
        }
    }
}

/// What the client needs from a registered consumer.
pub(crate) trait ConsumerHandle: Send + Sync + 'static {
    /// Its heartbeat entry.
    fn consumer_data(&self) -> ConsumerData;
    /// Rebalance soon (NOTIFY_CONSUMER_IDS_CHANGED).
    fn trigger_rebalance(&self);
    /// Reset queue offsets (RESET_CONSUMER_CLIENT_OFFSET).
    fn reset_offsets(&self, offsets: BTreeMap<MessageQueue, i64>);
    /// The offsets in memory of `topic`'s queues (GET_CONSUMER_STATUS_FROM_CLIENT).
    fn queue_offsets(&self, topic: &str) -> BTreeMap<MessageQueue, i64>;
    /// GET_CONSUMER_RUNNING_INFO: the consumer's settings, subscriptions, queues and rates
    /// (the client adds its own properties, [`Client::running_properties`]); a description
    /// of its tasks in `jstack` when `jstack` is asked for.
    fn running_info(&self, jstack: bool) -> ferromq_protocol::body::ConsumerRunningInfo;
    /// CONSUME_MESSAGE_DIRECTLY: run the listener on one message; `Some(true)` = consumed.
    fn consume_directly(
        &self,
        message: MessageExt,
        broker_name: String,
    ) -> BoxFuture<'static, Option<bool>>;
}

/// What the client needs from a transactional producer group: answering check-backs.
pub(crate) trait CheckHandler: Send + Sync + 'static {
    /// Answers one CHECK_TRANSACTION_STATE that came from broker `addr`.
    fn check(
        &self,
        addr: String,
        header: ferromq_protocol::header::transaction::CheckTransactionStateRequestHeader,
        message: MessageExt,
    ) -> BoxFuture<'static, ()>;
}

pub(crate) struct Inner {
    pub(crate) id: String,
    pub(crate) config: ClientConfig,
    namesrvs: Vec<String>,
    ns_index: AtomicUsize,
    pub(crate) transport: Arc<dyn Transport>,
    routes: Mutex<HashMap<String, Arc<TopicRouteData>>>,
    brokers: Mutex<HashMap<String, BTreeMap<i64, String>>>,
    /// Route refreshes forced by transport failures ([`Client::refresh_route_soon`]).
    forced_refreshes: RefreshThrottle,
    producers: Mutex<HashMap<String, Option<Arc<dyn CheckHandler>>>>,
    consumers: Mutex<HashMap<String, Arc<dyn ConsumerHandle>>>,
    pub(crate) uniq: UniqIdGenerator,
    users: AtomicUsize,
    stop: tokio::sync::watch::Sender<bool>,
    key: (String, String),
    /// The ACL credentials with their key prepared, when the config has credentials.
    signer: Option<crate::acl::Signer>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Every handle is gone (normally after the last `release`): close what is left.
        let _ = self.stop.send(true);
        self.transport.close();
    }
}

/// A shared client instance; cheap to clone.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("id", &self.inner.id)
            .field("namesrvs", &self.inner.namesrvs)
            .finish()
    }
}

type Registry = Mutex<HashMap<(String, String), Weak<Inner>>>;

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The first non-loopback address of this host, found by asking the OS which source address it
/// would use for an outside destination (no packet is sent); loopback if there is none.
fn local_ip() -> IpAddr {
    std::net::UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| {
            s.connect("192.0.2.1:9")?;
            s.local_addr()
        })
        .map(|a| a.ip())
        .ok()
        .filter(|ip| !ip.is_unspecified())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]))
}

/// This process's id; on wasm32, which has no processes, a random number drawn once per loaded
/// module (so that two browser tabs get different client ids and message keys).
fn process_id() -> u32 {
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::process::id()
    }
    #[cfg(target_arch = "wasm32")]
    {
        static ID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
        *ID.get_or_init(|| crate::rt::random_u64() as u32)
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn default_transport(config: &ClientConfig) -> Result<TransportFactory> {
    let tls = crate::tcp::connector(config.tls.as_ref())?;
    Ok(TransportFactory::new(move |handler| {
        Arc::new(crate::tcp::TcpTransport::with_tls(handler, tls.clone())) as Arc<dyn Transport>
    }))
}

#[cfg(target_arch = "wasm32")]
fn default_transport(_config: &ClientConfig) -> Result<TransportFactory> {
    Err(Error::invalid(
        "client",
        "wasm32 has no default transport: set ClientConfig::transport",
    ))
}

pub(crate) use crate::rt::now_ms;

/// The shortest time between two route refreshes of one topic forced by transport failures.
const FORCED_REFRESH_PERIOD: Duration = Duration::from_secs(1);

/// The version the client's requests carry (`Version::V5_3_3`), by its Java name.
const CLIENT_VERSION_NAME: &str = "V5_3_3";

impl Client {
    /// The shared client for `config` (same name servers and instance name), created on first
    /// use. Must be called inside a tokio runtime: it spawns the route and heartbeat timers.
    pub fn shared(config: &ClientConfig) -> Result<Client> {
        let namesrvs: Vec<String> = config
            .namesrv_addr
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        if namesrvs.is_empty() {
            return Err(Error::invalid("client", "no name server address"));
        }
        let key = (namesrvs.join(";"), config.sharing_name());
        let mut reg = lock(registry());
        if let Some(inner) = reg.get(&key).and_then(Weak::upgrade) {
            inner.users.fetch_add(1, Ordering::AcqRel);
            return Ok(Client { inner });
        }
        let ip = config.client_ip.unwrap_or_else(local_ip);
        let instance = if config.instance_name == ClientConfig::DEFAULT_INSTANCE {
            let nanos = crate::rt::SystemTime::now()
                .duration_since(crate::rt::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            format!("{}#{}", process_id(), nanos)
        } else {
            config.instance_name.clone()
        };
        let factory = match &config.transport {
            Some(f) => f.clone(),
            None => default_transport(config)?,
        };
        let (stop, _) = tokio::sync::watch::channel(false);
        let inner = Arc::new_cyclic(|weak: &Weak<Inner>| {
            let handler: Arc<dyn InboundHandler> = Arc::new(inbound::Dispatcher {
                client: weak.clone(),
            });
            Inner {
                id: format!("{ip}@{instance}"),
                config: config.clone(),
                namesrvs,
                ns_index: AtomicUsize::new(0),
                transport: (factory.0)(handler),
                routes: Mutex::new(HashMap::new()),
                brokers: Mutex::new(HashMap::new()),
                forced_refreshes: RefreshThrottle::new(FORCED_REFRESH_PERIOD),
                producers: Mutex::new(HashMap::new()),
                consumers: Mutex::new(HashMap::new()),
                uniq: UniqIdGenerator::new(ip, process_id() as u16, crate::rt::random_u64() as i32),
                users: AtomicUsize::new(1),
                stop,
                key: key.clone(),
                signer: config.credentials.as_ref().map(Credentials::prepare),
            }
        });
        reg.insert(key, Arc::downgrade(&inner));
        drop(reg);
        let client = Client { inner };
        client.spawn_timers();
        Ok(client)
    }

    fn spawn_timers(&self) {
        let weak = Arc::downgrade(&self.inner);
        let mut stop = self.inner.stop.subscribe();
        let route_every = self.inner.config.route_refresh_interval;
        let beat_every = self.inner.config.heartbeat_interval;
        crate::rt::spawn(async move {
            let mut routes = crate::rt::Ticker::new(route_every);
            let mut beats = crate::rt::Ticker::new(beat_every);
            loop {
                tokio::select! {
                    _ = routes.tick() => {
                        let Some(inner) = weak.upgrade() else { break };
                        Client { inner }.refresh_routes().await;
                    }
                    _ = beats.tick() => {
                        let Some(inner) = weak.upgrade() else { break };
                        Client { inner }.heartbeat().await;
                    }
                    _ = stop.changed() => break,
                }
            }
        });
    }

    /// This client's id (`ip@instance`).
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// The client-wide entries of a consumer's running info (Apache's `MQClientInstance`
    /// adds `PROP_NAMESERVER_ADDR` and `PROP_CLIENT_VERSION`; `ClientConfig`'s fields come
    /// with the consumer's settings).
    pub(crate) fn running_properties(&self) -> BTreeMap<String, String> {
        use ferromq_protocol::body::running::{PROP_CLIENT_VERSION, PROP_NAMESERVER_ADDR};
        let config = &self.inner.config;
        let namesrvs = self.inner.namesrvs.join(";");
        let ip = self.inner.id.split_once('@').map_or("", |(ip, _)| ip);
        let instance = self.inner.id.split_once('@').map_or("", |(_, i)| i);
        [
            (PROP_NAMESERVER_ADDR, namesrvs.clone()),
            (PROP_CLIENT_VERSION, CLIENT_VERSION_NAME.to_owned()),
            ("namesrvAddr", namesrvs),
            ("clientIP", ip.to_owned()),
            ("instanceName", instance.to_owned()),
            (
                "pollNameServerInterval",
                config.route_refresh_interval.as_millis().to_string(),
            ),
            (
                "heartbeatBrokerInterval",
                config.heartbeat_interval.as_millis().to_string(),
            ),
            (
                "mqClientApiTimeout",
                config.request_timeout.as_millis().to_string(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.inner.config.request_timeout
    }

    /// Sends a request to a name server, trying each one in turn from the current one.
    pub(crate) async fn namesrv_request(
        &self,
        request: RemotingCommand,
    ) -> Result<RemotingCommand> {
        let request = self.signed(request);
        let n = self.inner.namesrvs.len();
        let start = self.inner.ns_index.load(Ordering::Relaxed);
        let mut last = None;
        for i in 0..n {
            let idx = (start + i) % n;
            let addr = &self.inner.namesrvs[idx];
            match self
                .inner
                .transport
                .request(addr, request.clone(), self.timeout())
                .await
            {
                Ok(response) => {
                    self.inner.ns_index.store(idx, Ordering::Relaxed);
                    return Ok(response);
                }
                Err(e) => {
                    tracing::debug!(namesrv = %addr, error = %e, "name server failed; trying the next");
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| Error::invalid("namesrv", "no name server")))
    }

    /// Sends a request to a broker address.
    pub(crate) async fn broker_request(
        &self,
        addr: &str,
        request: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand> {
        let request = self.signed(request);
        self.inner.transport.request(addr, request, timeout).await
    }

    /// `request` signed with the ACL credentials, if any.
    fn signed(&self, mut request: RemotingCommand) -> RemotingCommand {
        if let Some(signer) = &self.inner.signer {
            signer.sign(&mut request);
        }
        request
    }

    /// Sends a oneway request to a broker address.
    pub(crate) async fn broker_oneway(&self, addr: &str, request: RemotingCommand) -> Result<()> {
        let request = self.signed(request);
        self.inner.transport.request_oneway(addr, request).await
    }

    /// Fetches `topic`'s route from the name servers and caches it.
    pub async fn fetch_route(&self, topic: &str) -> Result<Arc<TopicRouteData>> {
        let header = GetRouteInfoRequestHeader {
            topic: topic.to_owned(),
            accept_standard_json_only: None,
        };
        let request =
            RemotingCommand::request_with_header(RequestCode::GET_ROUTEINFO_BY_TOPIC, &header);
        let response = self.namesrv_request(request).await?;
        if response.response_code() != ResponseCode::SUCCESS {
            return Err(Error::from_response("route", &response));
        }
        let route =
            TopicRouteData::decode(&response.body).map_err(|e| Error::protocol("route", e))?;
        let route = Arc::new(route);
        let mut new_broker = false;
        let mut returned = Vec::new();
        {
            let mut brokers = lock(&self.inner.brokers);
            for b in &route.broker_datas {
                let old = brokers.insert(b.broker_name.clone(), b.broker_addrs.clone());
                new_broker |= old.as_ref() != Some(&b.broker_addrs);
                returned.extend(b.broker_addrs.values().filter(|addr| {
                    old.as_ref()
                        .is_some_and(|old| !old.values().any(|known| known == *addr))
                }));
            }
        }
        // A broker the name servers had dropped and list again has restarted: connect to it at
        // once rather than after the backoff its failed connects earned.
        for addr in returned {
            self.inner.transport.forgive(addr);
        }
        if new_broker {
            // Brokers learn about producer groups (for check-backs) and consumers only from
            // heartbeats: greet a new broker at once instead of up to 30 s later.
            let client = self.clone();
            crate::rt::spawn(async move { client.heartbeat().await });
        }
        lock(&self.inner.routes).insert(topic.to_owned(), route.clone());
        Ok(route)
    }

    /// `topic`'s route, from the cache or the name servers.
    pub async fn route(&self, topic: &str) -> Result<Arc<TopicRouteData>> {
        if let Some(route) = lock(&self.inner.routes).get(topic).cloned() {
            return Ok(route);
        }
        self.fetch_route(topic).await
    }

    pub(crate) fn cached_route(&self, topic: &str) -> Option<Arc<TopicRouteData>> {
        lock(&self.inner.routes).get(topic).cloned()
    }

    async fn refresh_routes(&self) {
        let topics: Vec<String> = lock(&self.inner.routes).keys().cloned().collect();
        for topic in topics {
            if let Err(e) = self.fetch_route(&topic).await {
                tracing::debug!(%topic, error = %e, "route refresh failed");
            }
        }
    }

    /// The master address of `broker_name`, if known.
    pub(crate) fn master_addr(&self, broker_name: &str) -> Option<String> {
        self.find_broker(broker_name, MASTER_ID, true)
            .map(|b| b.addr)
    }

    /// The master address of `broker_name`, fetching `topic`'s route once if unknown.
    pub(crate) async fn master_addr_for(&self, broker_name: &str, topic: &str) -> Result<String> {
        self.find_broker_for(broker_name, MASTER_ID, true, topic)
            .await
            .map(|b| b.addr)
    }

    /// An address of `broker_name` from the cached routes (Apache's
    /// `findBrokerAddressInSubscribe`): that of `broker_id` if listed; else, unless
    /// `only_this_broker`, another one of the same broker name (the master if listed, else the
    /// lowest id; see [`brokers::pick`]).
    pub(crate) fn find_broker(
        &self,
        broker_name: &str,
        broker_id: i64,
        only_this_broker: bool,
    ) -> Option<BrokerAddr> {
        lock(&self.inner.brokers)
            .get(broker_name)
            .and_then(|addrs| brokers::pick(addrs, broker_id, only_this_broker))
    }

    /// [`Self::find_broker`], fetching `topic`'s route once when the cache has no answer (the
    /// broker name is unknown, or `only_this_broker` and that id is not listed).
    pub(crate) async fn find_broker_for(
        &self,
        broker_name: &str,
        broker_id: i64,
        only_this_broker: bool,
        topic: &str,
    ) -> Result<BrokerAddr> {
        if let Some(found) = self.find_broker(broker_name, broker_id, only_this_broker) {
            return Ok(found);
        }
        self.fetch_route(topic).await?;
        self.find_broker(broker_name, broker_id, only_this_broker)
            .ok_or_else(|| {
                let what = if !only_this_broker {
                    "no address"
                } else if broker_id == MASTER_ID {
                    "no master"
                } else {
                    "no such broker id"
                };
                Error::new(
                    ErrorKind::TopicNotFound,
                    "route",
                    format!("broker {broker_name} has {what} (id {broker_id})"),
                )
            })
    }

    /// Fetches `topic`'s route again in the background, unless that happened less than a
    /// second ago. Called after a transport failure on a broker of the topic: a dead master
    /// then leaves the address table within about a second (once the name servers dropped
    /// it), not at the next periodic refresh.
    pub(crate) fn refresh_route_soon(&self, topic: &str) {
        if !self
            .inner
            .forced_refreshes
            .try_start(topic, crate::rt::Instant::now())
        {
            return;
        }
        let client = self.clone();
        let topic = topic.to_owned();
        crate::rt::spawn(async move {
            if let Err(e) = client.fetch_route(&topic).await {
                tracing::debug!(%topic, error = %e, "forced route refresh failed");
            }
        });
    }

    /// [`Self::broker_request`] to a broker serving `topic`; a transport failure (no
    /// connection, connection closed, timeout) also refreshes the topic's route soon
    /// ([`Self::refresh_route_soon`]).
    pub(crate) async fn broker_request_for(
        &self,
        topic: &str,
        addr: &str,
        request: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand> {
        let result = self.broker_request(addr, request, timeout).await;
        if let Err(e) = &result {
            if matches!(
                e.kind(),
                ErrorKind::Connect | ErrorKind::ConnectionClosed | ErrorKind::Timeout
            ) {
                self.refresh_route_soon(topic);
            }
        }
        result
    }

    /// The broker name whose address table contains `addr`.
    pub(crate) fn broker_name_of(&self, addr: &str) -> Option<String> {
        lock(&self.inner.brokers)
            .iter()
            .find(|(_, addrs)| addrs.values().any(|a| a == addr))
            .map(|(name, _)| name.clone())
    }

    pub(crate) fn register_producer(
        &self,
        group: &str,
        checker: Option<Arc<dyn CheckHandler>>,
    ) -> Result<()> {
        let mut producers = lock(&self.inner.producers);
        if producers.contains_key(group) {
            return Err(Error::illegal_state(
                "start",
                format!("producer group {group} is already registered on this client; use another instance name"),
            ));
        }
        producers.insert(group.to_owned(), checker);
        Ok(())
    }

    pub(crate) fn register_consumer(
        &self,
        group: &str,
        handle: Arc<dyn ConsumerHandle>,
    ) -> Result<()> {
        let mut consumers = lock(&self.inner.consumers);
        if consumers.contains_key(group) {
            return Err(Error::illegal_state(
                "start",
                format!("consumer group {group} is already registered on this client; use another instance name"),
            ));
        }
        consumers.insert(group.to_owned(), handle);
        Ok(())
    }

    pub(crate) fn consumer(&self, group: &str) -> Option<Arc<dyn ConsumerHandle>> {
        lock(&self.inner.consumers).get(group).cloned()
    }

    pub(crate) fn check_handler(&self, group: &str) -> Option<Arc<dyn CheckHandler>> {
        lock(&self.inner.producers).get(group).cloned().flatten()
    }

    /// Sends a heartbeat (all producer and consumer groups) to every known broker.
    pub async fn heartbeat(&self) {
        let producer_data_set: Vec<ProducerData> = lock(&self.inner.producers)
            .keys()
            .map(|g| ProducerData {
                group_name: g.clone(),
            })
            .collect();
        let consumers: Vec<_> = lock(&self.inner.consumers).values().cloned().collect();
        let consumer_data_set: Vec<ConsumerData> =
            consumers.iter().map(|c| c.consumer_data()).collect();
        if producer_data_set.is_empty() && consumer_data_set.is_empty() {
            return;
        }
        let only_masters = consumer_data_set.is_empty();
        let data = HeartbeatData {
            client_id: self.inner.id.clone(),
            consumer_data_set,
            producer_data_set,
            ..HeartbeatData::default()
        };
        let body = data.encode();
        let addrs: Vec<String> = lock(&self.inner.brokers)
            .values()
            .flat_map(|addrs| {
                addrs
                    .iter()
                    .filter(|(id, _)| !only_masters || **id == MASTER_ID)
                    .map(|(_, a)| a.clone())
                    .collect::<Vec<_>>()
            })
            .collect();
        for addr in addrs {
            let request = RemotingCommand::request(RequestCode::HEART_BEAT).with_body(body.clone());
            match self.broker_request(&addr, request, self.timeout()).await {
                Ok(r) if r.response_code() == ResponseCode::SUCCESS => {}
                Ok(r) => tracing::debug!(%addr, code = %r.response_code(), "heartbeat refused"),
                Err(e) => tracing::debug!(%addr, error = %e, "heartbeat failed"),
            }
        }
    }

    /// The ids of the group's consumers, as the broker at `addr` knows them, sorted.
    pub(crate) async fn consumer_ids(&self, addr: &str, group: &str) -> Result<Vec<String>> {
        let header = GetConsumerListByGroupRequestHeader {
            consumer_group: group.to_owned(),
            broker_name: None,
        };
        let request =
            RemotingCommand::request_with_header(RequestCode::GET_CONSUMER_LIST_BY_GROUP, &header);
        let response = self.broker_request(addr, request, self.timeout()).await?;
        if response.response_code() != ResponseCode::SUCCESS {
            return Err(Error::from_response("consumer list", &response));
        }
        let body = GetConsumerListByGroupResponseBody::decode(&response.body)
            .map_err(|e| Error::protocol("consumer list", e))?;
        let mut ids = body.consumer_id_list;
        ids.sort();
        Ok(ids)
    }

    /// A producer or consumer of this client stops: unregister its group from every broker; the
    /// last user also stops the timers and closes the connections.
    pub(crate) async fn unregister(
        &self,
        producer_group: Option<&str>,
        consumer_group: Option<&str>,
    ) {
        if let Some(g) = producer_group {
            lock(&self.inner.producers).remove(g);
        }
        if let Some(g) = consumer_group {
            lock(&self.inner.consumers).remove(g);
        }
        let addrs: Vec<String> = lock(&self.inner.brokers)
            .values()
            .flat_map(|a| a.values().cloned().collect::<Vec<_>>())
            .collect();
        for addr in addrs {
            let header = UnregisterClientRequestHeader {
                client_id: self.inner.id.clone(),
                producer_group: producer_group.map(str::to_owned),
                consumer_group: consumer_group.map(str::to_owned),
                broker_name: None,
            };
            let request =
                RemotingCommand::request_with_header(RequestCode::UNREGISTER_CLIENT, &header);
            if let Err(e) = self.broker_request(&addr, request, self.timeout()).await {
                tracing::debug!(%addr, error = %e, "unregister failed");
            }
        }
        self.release();
    }

    /// Drops one user's reference; the last one stops the timers and closes the connections.
    pub(crate) fn release(&self) {
        if self.inner.users.fetch_sub(1, Ordering::AcqRel) == 1 {
            let mut reg = lock(registry());
            if let Some(current) = reg.get(&self.inner.key) {
                if current.as_ptr() == Arc::as_ptr(&self.inner) {
                    reg.remove(&self.inner.key);
                }
            }
            drop(reg);
            let _ = self.inner.stop.send(true);
            self.inner.transport.close();
        }
    }

    /// Decodes the messages of a pull body for a consumer (decompressing bodies), leaving
    /// each one's topic and properties as stored (see [`MessageView`](crate::MessageView)).
    pub(crate) fn decode_pulled(
        body: &bytes::Bytes,
    ) -> Result<Vec<ferromq_protocol::message::MessageParts>> {
        ferromq_protocol::message::decode_all_parts(body, &DecodeOptions::client())
            .map_err(|e| Error::protocol("decode", e))
    }

    /// Decodes the messages of a pull/check body for the client (decompressing bodies).
    pub(crate) fn decode_messages(body: &bytes::Bytes) -> Result<Vec<MessageExt>> {
        ferromq_protocol::message::decode_all(body, &DecodeOptions::client())
            .map_err(|e| Error::protocol("decode", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_instance_is_shared_per_process_only() {
        let c = ClientConfig::new("127.0.0.1:9876", None);
        assert_eq!(c.instance_name, ClientConfig::DEFAULT_INSTANCE);
        assert_eq!(c.sharing_name(), format!("DEFAULT@{}", std::process::id()));
        let named = ClientConfig::new("127.0.0.1:9876", Some("app-1".to_owned()));
        assert_eq!(named.sharing_name(), "app-1");
    }
}
