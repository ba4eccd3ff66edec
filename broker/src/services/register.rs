//! Registration with the name servers: at start, every `registerNameServerPeriod` (clamped to
//! 10-60 s as Apache does) and at once when topics change; unregistration on shutdown.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use ferromq_protocol::body::RegisterBrokerBody;
use ferromq_protocol::header::namesrv::{
    DeleteKVConfigRequestHeader, PutKVConfigRequestHeader, RegisterBrokerRequestHeader,
    RegisterBrokerResponseHeader, UnRegisterBrokerRequestHeader, WEBSOCKET_KV_NAMESPACE,
};
use ferromq_protocol::{CommandHeader, RemotingCommand, RequestCode, ResponseCode};
use ferromq_remoting::{Connection, IgnoreRequests};

use crate::state::Broker;

const TIMEOUT: Duration = Duration::from_secs(6);
/// Register bodies larger than this are sent compressed whatever `compressedRegister` says.
const COMPRESS_ABOVE: usize = 1 << 20;

/// The broker's connections to its name servers.
#[derive(Debug, Default)]
pub(crate) struct NamesrvLinks {
    conns: HashMap<String, Connection>,
    /// Connections on which the WebSocket endpoint was announced.
    announced: std::collections::HashSet<u64>,
}

async fn connection(
    broker: &Broker,
    addr: &str,
    conns: &mut HashMap<String, Connection>,
) -> Option<Connection> {
    if let Some(c) = conns.get(addr).filter(|c| !c.is_closed()) {
        return Some(c.clone());
    }
    let config = match crate::server::outbound_config(&broker.settings().broker) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(namesrv = addr, error = %e, "cannot reach name server");
            return None;
        }
    };
    match Connection::connect(addr, Arc::new(IgnoreRequests), config).await {
        Ok(c) => {
            conns.insert(addr.to_owned(), c.clone());
            Some(c)
        }
        Err(e) => {
            tracing::warn!(namesrv = addr, error = %e, "cannot reach name server");
            None
        }
    }
}

/// Registers with every configured name server once.
pub(crate) async fn register_all(broker: &Broker, links: &mut NamesrvLinks) {
    let settings = broker.settings();
    let b = &settings.broker;
    // Controller mode: not before the controllers gave this broker its role.
    if b.enable_controller_mode
        && broker.replication.auto.role() == crate::services::ha::autoswitch::Role::Unknown
    {
        return;
    }
    let register = RegisterBrokerBody {
        filter_server_list: Vec::new(),
        topic_config_serialize_wrapper: broker.topic_wrapper(),
    };
    let version = RemotingCommand::request(RequestCode::REGISTER_BROKER).version;
    let json = register.encode();
    let compressed = b.compressed_register || json.len() > COMPRESS_ABOVE;
    let body = if compressed {
        Bytes::from(register.encode_compressed(ferromq_protocol::Version(version)))
    } else {
        Bytes::from(json)
    };
    let header = RegisterBrokerRequestHeader {
        broker_name: b.broker_name.clone(),
        broker_addr: b.broker_addr(),
        cluster_name: b.broker_cluster_name.clone(),
        ha_server_addr: b.ha_addr(),
        broker_id: b.broker_id,
        enable_acting_master: Some(false),
        compressed: Some(compressed),
        body_crc32: Some(ferromq_protocol::message::body_crc(&body)),
        ..Default::default()
    };
    for addr in b.namesrv_addrs() {
        let Some(conn) = connection(broker, &addr, &mut links.conns).await else {
            continue;
        };
        let req = RemotingCommand::request_with_header(RequestCode::REGISTER_BROKER, &header)
            .with_body(body.clone());
        match conn.request(broker.auth.signed(req), TIMEOUT).await {
            Ok(r) if r.response_code() == ResponseCode::SUCCESS => {
                tracing::debug!(namesrv = %addr, "registered");
                if !b.broker_role.is_master() {
                    learn_master(broker, &r);
                }
                // Announced once per connection, so a restarted name server learns it again.
                if b.web_socket_listen_port != 0
                    && !links.announced.contains(&conn.id())
                    && announce_websocket(&conn, &addr, b).await
                {
                    links.announced.insert(conn.id());
                }
            }
            Ok(r) => {
                tracing::warn!(namesrv = %addr, code = r.code, remark = ?r.remark, "registration refused")
            }
            Err(e) => {
                tracing::warn!(namesrv = %addr, error = %e, "registration failed");
                links.conns.remove(&addr);
            }
        }
    }
}

/// A slave learns its master's addresses from the registration answer, as Apache's slaves do.
fn learn_master(broker: &Broker, answer: &RemotingCommand) {
    let Ok(h) = RegisterBrokerResponseHeader::read_ext(&answer.ext_fields) else {
        return;
    };
    let (Some(ha), Some(master)) = (h.ha_server_addr, h.master_addr) else {
        return;
    };
    if !ha.is_empty() && broker.replication.set_master(&ha, &master) {
        tracing::info!(master = %master, ha = %ha, "the name servers name this slave's master");
    }
}

/// `wss` when the WebSocket port serves TLS only (`tls.server.mode=enforcing`), else `ws`
/// (a permissive port serves both; clients reaching the name servers over `wss://` use `wss://`
/// for the brokers too).
fn websocket_scheme(b: &crate::config::BrokerConfig) -> &'static str {
    let enforcing = b
        .tls_keys()
        .and_then(|k| k.server())
        .is_ok_and(|s| s.mode == ferromq_remoting::TlsMode::Enforcing);
    if enforcing {
        "wss"
    } else {
        "ws"
    }
}

/// Puts the WebSocket endpoint into the name server's KV config; whether it was accepted.
async fn announce_websocket(
    conn: &Connection,
    addr: &str,
    b: &crate::config::BrokerConfig,
) -> bool {
    let header = PutKVConfigRequestHeader {
        namespace: WEBSOCKET_KV_NAMESPACE.to_owned(),
        key: b.broker_addr(),
        value: format!(
            "{}://{}:{}/",
            websocket_scheme(b),
            b.broker_ip1,
            b.web_socket_listen_port
        ),
    };
    let req = RemotingCommand::request_with_header(RequestCode::PUT_KV_CONFIG, &header);
    match conn.request(req, TIMEOUT).await {
        Ok(r) if r.response_code() == ResponseCode::SUCCESS => return true,
        Ok(r) => {
            tracing::warn!(namesrv = %addr, code = r.code, remark = ?r.remark, "WebSocket endpoint not announced")
        }
        Err(e) => tracing::warn!(namesrv = %addr, error = %e, "WebSocket endpoint not announced"),
    }
    false
}

/// Starts registering: now, then periodically and whenever topics change, until `stop`.
pub(crate) fn start(
    broker: &Arc<Broker>,
    stop: &tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(registration_loop(broker.clone(), stop.clone()))
}

async fn registration_loop(broker: Arc<Broker>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let period = Duration::from_millis(
        broker
            .settings()
            .broker
            .register_name_server_period
            .clamp(10_000, 60_000),
    );
    let mut links = NamesrvLinks::default();
    loop {
        register_all(&broker, &mut links).await;
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = broker.topics_changed.notified() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

/// Unregisters from every name server (best effort, on shutdown).
pub(crate) async fn unregister_all(broker: &Broker) {
    let settings = broker.settings();
    let b = &settings.broker;
    let header = UnRegisterBrokerRequestHeader {
        broker_name: b.broker_name.clone(),
        broker_addr: b.broker_addr(),
        cluster_name: b.broker_cluster_name.clone(),
        broker_id: b.broker_id,
    };
    let mut conns = HashMap::new();
    for addr in b.namesrv_addrs() {
        if let Some(conn) = connection(broker, &addr, &mut conns).await {
            let req = RemotingCommand::request_with_header(RequestCode::UNREGISTER_BROKER, &header);
            if let Err(e) = conn.request(broker.auth.signed(req), TIMEOUT).await {
                tracing::warn!(namesrv = %addr, error = %e, "unregistration failed");
            }
            if b.web_socket_listen_port != 0 {
                let forget = DeleteKVConfigRequestHeader {
                    namespace: WEBSOCKET_KV_NAMESPACE.to_owned(),
                    key: b.broker_addr(),
                };
                let req =
                    RemotingCommand::request_with_header(RequestCode::DELETE_KV_CONFIG, &forget);
                let _ = conn.request(broker.auth.signed(req), TIMEOUT).await;
            }
            conn.close();
        }
    }
}
