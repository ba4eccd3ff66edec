//! The proxy's remoting side: name servers (routes) and brokers (everything else), over the
//! client core's TCP transport. Both modes use it; local mode points it at the broker's own
//! name servers and port.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferromq_client::transport::{InboundHandler, Transport};
use ferromq_client::TcpTransport;
use ferromq_common::lock;
use ferromq_protocol::body::heartbeat::{HeartbeatData, ProducerData};
use ferromq_protocol::body::route::TopicRouteData;
use ferromq_protocol::header::admin::{
    GetSubscriptionGroupConfigRequestHeader, GetTopicConfigRequestHeader,
};
use ferromq_protocol::header::client::UnregisterClientRequestHeader;
use ferromq_protocol::header::namesrv::GetRouteInfoRequestHeader;
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};

use crate::pb::Code;
use crate::status::{ProxyError, ProxyResult};

/// How long a fetched route is used before it is asked again.
const ROUTE_TTL: Duration = Duration::from_secs(5);

/// How long sends pass over a broker that could not be reached (a send that failed on the way,
/// not one the broker refused), as Apache's producers avoid a failing broker for a while: the
/// SDK's retry of that send then goes to another broker instead of the same dead one.
const UNREACHABLE_PAUSE: Duration = Duration::from_secs(10);

/// A topic's message type (`message.type` attribute of its config), Apache's `TopicMessageType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicMessageType {
    /// No attribute could be read.
    Unspecified,
    /// `NORMAL` (the default of a topic without the attribute).
    Normal,
    /// `FIFO`.
    Fifo,
    /// `DELAY`.
    Delay,
    /// `TRANSACTION`.
    Transaction,
    /// `MIXED`: every type.
    Mixed,
}

impl TopicMessageType {
    /// Parses the attribute value (upper case, as Apache stores it).
    pub fn parse(value: Option<&str>) -> TopicMessageType {
        match value {
            None => TopicMessageType::Normal,
            Some(v) => match v.to_ascii_uppercase().as_str() {
                "NORMAL" => TopicMessageType::Normal,
                "FIFO" => TopicMessageType::Fifo,
                "DELAY" => TopicMessageType::Delay,
                "TRANSACTION" => TopicMessageType::Transaction,
                "MIXED" => TopicMessageType::Mixed,
                _ => TopicMessageType::Unspecified,
            },
        }
    }
}

/// Remoting access to the cluster.
pub struct Backend {
    transport: Arc<dyn Transport>,
    namesrvs: Vec<String>,
    next_namesrv: AtomicUsize,
    timeout: Duration,
    routes: Mutex<HashMap<String, (Instant, Arc<TopicRouteData>)>>,
    types: Mutex<HashMap<String, (Instant, TopicMessageType)>>,
    masters: Mutex<HashMap<String, String>>,
    groups: Mutex<HashMap<String, (Instant, Option<serde_json::Value>)>>,
    signer: Option<crate::auth::Signer>,
    unreachable: Mutex<HashMap<String, Instant>>,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend")
            .field("namesrvs", &self.namesrvs)
            .finish_non_exhaustive()
    }
}

impl Backend {
    /// A backend reaching `namesrvs`; requests brokers send to the proxy go to `inbound`; every
    /// request is signed by `signer` when there is one.
    pub fn new(
        namesrvs: Vec<String>,
        timeout: Duration,
        inbound: Arc<dyn InboundHandler>,
        signer: Option<crate::auth::Signer>,
    ) -> Self {
        Backend {
            transport: Arc::new(TcpTransport::new(inbound)),
            namesrvs,
            next_namesrv: AtomicUsize::new(0),
            timeout,
            routes: Mutex::new(HashMap::new()),
            types: Mutex::new(HashMap::new()),
            masters: Mutex::new(HashMap::new()),
            groups: Mutex::new(HashMap::new()),
            signer,
            unreachable: Mutex::new(HashMap::new()),
        }
    }

    /// The remoting timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends `request` to `addr` and waits for the answer (up to `timeout`).
    pub async fn request(
        &self,
        addr: &str,
        mut request: RemotingCommand,
        timeout: Duration,
    ) -> ProxyResult<RemotingCommand> {
        if let Some(signer) = &self.signer {
            signer.sign(&mut request);
        }
        self.transport
            .request(addr, request, timeout)
            .await
            .map_err(ProxyError::remoting)
    }

    /// Sends `request` to `addr` without waiting for an answer.
    pub async fn oneway(&self, addr: &str, mut request: RemotingCommand) -> ProxyResult<()> {
        if let Some(signer) = &self.signer {
            signer.sign(&mut request);
        }
        self.transport
            .request_oneway(addr, request)
            .await
            .map_err(ProxyError::remoting)
    }

    async fn namesrv_request(&self, request: RemotingCommand) -> ProxyResult<RemotingCommand> {
        let mut last = ProxyError::new(Code::InternalServerError, "no name server configured");
        let start = self.next_namesrv.fetch_add(1, Ordering::Relaxed);
        for i in 0..self.namesrvs.len() {
            let addr = &self.namesrvs[(start + i) % self.namesrvs.len()];
            match self.request(addr, request.clone(), self.timeout).await {
                Ok(r) => return Ok(r),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Notes that a request to broker `broker_name` got no answer (connection refused, closed
    /// or timed out): sends pass over it for a while ([`Backend::reachable`]) and routes are
    /// asked again, since the name server may have dropped it by now.
    pub fn broker_unreachable(&self, broker_name: &str) {
        lock(&self.unreachable).insert(broker_name.to_owned(), Instant::now());
        lock(&self.routes).clear();
    }

    /// Whether `broker_name` answered the last request sent to it, or failed long enough ago.
    pub fn reachable(&self, broker_name: &str) -> bool {
        let mut unreachable = lock(&self.unreachable);
        match unreachable.get(broker_name) {
            Some(at) if at.elapsed() < UNREACHABLE_PAUSE => false,
            Some(_) => {
                unreachable.remove(broker_name);
                true
            }
            None => true,
        }
    }

    /// The topic's route (cached for a few seconds); `TOPIC_NOT_FOUND` when no broker has it.
    pub async fn route(&self, topic: &str) -> ProxyResult<Arc<TopicRouteData>> {
        if let Some((at, route)) = lock(&self.routes).get(topic) {
            if at.elapsed() < ROUTE_TTL {
                return Ok(route.clone());
            }
        }
        let header = GetRouteInfoRequestHeader {
            topic: topic.to_owned(),
            accept_standard_json_only: Some(true),
        };
        let request =
            RemotingCommand::request_with_header(RequestCode::GET_ROUTEINFO_BY_TOPIC, &header);
        let response = self.namesrv_request(request).await?;
        match response.response_code() {
            ResponseCode::SUCCESS => {}
            ResponseCode::TOPIC_NOT_EXIST => {
                lock(&self.routes).remove(topic);
                return Err(ProxyError::new(
                    Code::TopicNotFound,
                    format!("topic {topic} not found"),
                ));
            }
            _ => return Err(ProxyError::from_response(&response)),
        }
        let route = TopicRouteData::decode(&response.body).map_err(|e| {
            ProxyError::new(
                Code::InternalServerError,
                format!("bad route of {topic}: {e}"),
            )
        })?;
        {
            let mut masters = lock(&self.masters);
            for b in &route.broker_datas {
                if let Some(addr) = b.master_addr() {
                    masters.insert(b.broker_name.clone(), addr.to_owned());
                }
            }
        }
        let route = Arc::new(route);
        lock(&self.routes).insert(topic.to_owned(), (Instant::now(), route.clone()));
        Ok(route)
    }

    /// The master address of `broker_name`, from the routes fetched so far (fetching `topic`'s
    /// route when the broker is not known yet).
    pub async fn master_addr(&self, broker_name: &str, topic: &str) -> ProxyResult<String> {
        if let Some(addr) = lock(&self.masters).get(broker_name) {
            return Ok(addr.clone());
        }
        let route = self.route(topic).await?;
        route
            .broker(broker_name)
            .and_then(|b| b.master_addr())
            .map(str::to_owned)
            .ok_or_else(|| {
                ProxyError::new(
                    Code::NotFound,
                    format!("broker {broker_name} has no master for topic {topic}"),
                )
            })
    }

    /// The topic's `message.type` (read from a broker's topic config; cached with the route).
    pub async fn topic_message_type(&self, topic: &str) -> ProxyResult<TopicMessageType> {
        if let Some((at, t)) = lock(&self.types).get(topic) {
            if at.elapsed() < ROUTE_TTL {
                return Ok(*t);
            }
        }
        let route = self.route(topic).await?;
        let mut found = TopicMessageType::Unspecified;
        for broker in &route.broker_datas {
            let Some(addr) = broker.master_addr() else {
                continue;
            };
            let header = GetTopicConfigRequestHeader {
                topic: topic.to_owned(),
                ..Default::default()
            };
            let request =
                RemotingCommand::request_with_header(RequestCode::GET_TOPIC_CONFIG, &header);
            let Ok(response) = self.request(addr, request, self.timeout).await else {
                continue;
            };
            if response.response_code() != ResponseCode::SUCCESS {
                continue;
            }
            let Ok(json) = ferromq_protocol::json::parse(&response.body) else {
                continue;
            };
            let attr = json
                .get("topicConfig")
                .unwrap_or(&json)
                .get("attributes")
                .and_then(|a| a.get("message.type"))
                .and_then(|v| v.as_str());
            found = TopicMessageType::parse(attr);
            break;
        }
        lock(&self.types).insert(topic.to_owned(), (Instant::now(), found));
        Ok(found)
    }

    /// The subscription group config of `group` (Apache's `SubscriptionGroupConfig` JSON) from
    /// a master of `topic`; `None` when no broker has it.
    pub async fn group_config(&self, group: &str, topic: &str) -> Option<serde_json::Value> {
        if let Some((at, g)) = lock(&self.groups).get(group) {
            if at.elapsed() < ROUTE_TTL {
                return g.clone();
            }
        }
        let route = self.route(topic).await.ok()?;
        let mut found = None;
        for broker in &route.broker_datas {
            let Some(addr) = broker.master_addr() else {
                continue;
            };
            let header = GetSubscriptionGroupConfigRequestHeader {
                group: group.to_owned(),
            };
            let request = RemotingCommand::request_with_header(
                RequestCode::GET_SUBSCRIPTIONGROUP_CONFIG,
                &header,
            );
            let Ok(response) = self.request(addr, request, self.timeout).await else {
                continue;
            };
            if response.response_code() == ResponseCode::SUCCESS {
                found = ferromq_protocol::json::parse(&response.body).ok();
                if found.is_some() {
                    break;
                }
            }
        }
        lock(&self.groups).insert(group.to_owned(), (Instant::now(), found.clone()));
        found
    }

    /// Registers `group` as a producer group of client `client_id` with every master of
    /// `topic` (so that the broker sends its transaction checks to this proxy).
    pub async fn heartbeat_producer(&self, client_id: &str, group: &str, topic: &str) {
        let Ok(route) = self.route(topic).await else {
            return;
        };
        let data = HeartbeatData {
            client_id: client_id.to_owned(),
            producer_data_set: vec![ProducerData {
                group_name: group.to_owned(),
            }],
            ..HeartbeatData::default()
        };
        let body = data.encode();
        for broker in &route.broker_datas {
            if let Some(addr) = broker.master_addr() {
                let request =
                    RemotingCommand::request(RequestCode::HEART_BEAT).with_body(body.clone());
                if let Err(e) = self.request(addr, request, self.timeout).await {
                    tracing::debug!(%addr, error = %e, "producer heartbeat failed");
                }
            }
        }
    }

    /// Sends the heartbeat `data` to every master of `topic` (a gRPC consumer registered under
    /// its own client id, docs/grpc.md "Admin commands").
    pub async fn heartbeat(&self, data: &HeartbeatData, topic: &str) {
        let Ok(route) = self.route(topic).await else {
            return;
        };
        let body = data.encode();
        for broker in &route.broker_datas {
            if let Some(addr) = broker.master_addr() {
                let request =
                    RemotingCommand::request(RequestCode::HEART_BEAT).with_body(body.clone());
                if let Err(e) = self.request(addr, request, self.timeout).await {
                    tracing::debug!(%addr, error = %e, "consumer heartbeat failed");
                }
            }
        }
    }

    /// Takes consumer `client_id` out of `group` on every master of `topic`
    /// (UNREGISTER_CLIENT).
    pub async fn unregister_consumer(&self, client_id: &str, group: &str, topic: &str) {
        let Ok(route) = self.route(topic).await else {
            return;
        };
        let header = UnregisterClientRequestHeader {
            client_id: client_id.to_owned(),
            producer_group: None,
            consumer_group: Some(group.to_owned()),
            broker_name: None,
        };
        for broker in &route.broker_datas {
            if let Some(addr) = broker.master_addr() {
                let request =
                    RemotingCommand::request_with_header(RequestCode::UNREGISTER_CLIENT, &header);
                if let Err(e) = self.request(addr, request, self.timeout).await {
                    tracing::debug!(%addr, error = %e, "consumer unregistration failed");
                }
            }
        }
    }

    /// Closes every connection.
    pub fn close(&self) {
        self.transport.close();
    }
}
