//! Request dispatch: one function per name server request code, answering as Apache's
//! `DefaultRequestProcessor` / `ClientRequestProcessor` do.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use ferromq_protocol::body::{
    BrokerMemberGroup, DataVersion, GetBrokerMemberGroupResponseBody, KVTable, RegisterBrokerBody,
    RouteJsonStyle, TopicConfigSerializeWrapper, TopicList, TopicRouteData,
};
use ferromq_protocol::header::namesrv::*;
use ferromq_protocol::{
    CommandHeader, ProtocolError, RemotingCommand, RequestCode, ResponseCode, Version,
};
use ferromq_remoting::rpc_metrics::RpcLatencies;
use ferromq_remoting::{Connection, Handler};

use crate::allow::WriteAllowList;
use crate::config::NamesrvConfig;
use crate::kv::{KvLimits, KvStore, KvWrite, ORDER_TOPIC_CONFIG};
use crate::route::{Registration, RouteRegistry, UnitTopicKind};
use ferromq_common::lock;

/// The name server's state and request handler.
#[derive(Debug)]
pub struct NameServer {
    config: RwLock<NamesrvConfig>,
    routes: RwLock<RouteRegistry>,
    kv: Mutex<KvStore>,
    /// Connections brokers registered over, to close them when the broker expires.
    broker_conns: Mutex<HashMap<u64, Connection>>,
    started: Instant,
    /// `writeAllowList`: who may change the name server.
    allow: WriteAllowList,
    /// Request latencies, recorded while metrics are exported.
    pub(crate) rpc: RpcLatencies,
}

type Response = RemotingCommand;

fn ok() -> Response {
    RemotingCommand::response(ResponseCode::SUCCESS, None)
}

fn fail(code: ResponseCode, remark: impl Into<String>) -> Response {
    RemotingCommand::response(code, Some(remark.into()))
}

fn bad_header(e: ProtocolError) -> Response {
    fail(
        ResponseCode::SYSTEM_ERROR,
        format!("bad request header: {e}"),
    )
}

impl NameServer {
    /// A name server with `config` and an already loaded KV store.
    pub fn new(config: NamesrvConfig, mut kv: KvStore) -> Self {
        kv.set_limits(KvLimits {
            max_entries: config.kv_config_max_entries,
            max_value_len: config.kv_config_max_value_length,
        });
        let mut routes = RouteRegistry::new();
        routes.set_delete_topic_with_broker_registration(
            config.delete_topic_with_broker_registration,
        );
        let allow = WriteAllowList::parse(&config.write_allow_list).unwrap_or_else(|e| {
            tracing::error!(error = %e, "no address may change the name server");
            WriteAllowList::nobody()
        });
        NameServer {
            allow,
            config: RwLock::new(config),
            routes: RwLock::new(routes),
            kv: Mutex::new(kv),
            broker_conns: Mutex::new(HashMap::new()),
            started: Instant::now(),
            rpc: RpcLatencies::default(),
        }
    }

    /// A copy of the current configuration.
    pub fn config(&self) -> NamesrvConfig {
        self.settings(NamesrvConfig::clone)
    }

    /// Reads the configuration in place (request paths use this: no copy per request).
    fn settings<R>(&self, f: impl FnOnce(&NamesrvConfig) -> R) -> R {
        f(&self.config.read().unwrap_or_else(|e| e.into_inner()))
    }

    fn routes_mut(&self) -> std::sync::RwLockWriteGuard<'_, RouteRegistry> {
        self.routes.write().unwrap_or_else(|e| e.into_inner())
    }

    fn routes(&self) -> std::sync::RwLockReadGuard<'_, RouteRegistry> {
        self.routes.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Removes brokers that have been silent too long and closes their connections.
    pub fn scan_not_active_brokers(&self) {
        let expired = self.routes_mut().expire(Instant::now());
        for (addr, conn_id) in expired {
            tracing::warn!(broker = %addr, "broker expired: no registration within its timeout");
            if let Some(conn) = conn_id.and_then(|id| lock(&self.broker_conns).remove(&id)) {
                conn.close();
            }
        }
    }

    /// Answers one request (never called for responses); a KV change is written to disk
    /// before this returns.
    pub fn process(&self, conn: Option<&Connection>, req: &RemotingCommand) -> Response {
        let (response, write) = self.process_deferred(conn, req);
        match write {
            Some(write) => finish_kv_write(response, write.run()),
            None => response,
        }
    }

    /// Answers one request, leaving the file write of a KV change to the caller.
    fn process_deferred(
        &self,
        conn: Option<&Connection>,
        req: &RemotingCommand,
    ) -> (Response, Option<KvWrite>) {
        if let Some(conn) = conn {
            if let Err((code, remark)) = self.allow.admit(conn.peer_addr().ip(), req.request_code())
            {
                return (fail(code, remark), None);
            }
        }
        match req.request_code() {
            RequestCode::PUT_KV_CONFIG => self.put_kv(req),
            RequestCode::DELETE_KV_CONFIG => self.delete_kv(req),
            _ => (self.process_in_memory(conn, req), None),
        }
    }

    fn process_in_memory(&self, conn: Option<&Connection>, req: &RemotingCommand) -> Response {
        let code = req.request_code();
        match code {
            RequestCode::GET_KV_CONFIG => self.get_kv(req),
            RequestCode::GET_KVLIST_BY_NAMESPACE => self.kv_list(req),
            RequestCode::QUERY_DATA_VERSION => self.query_data_version(req),
            RequestCode::REGISTER_BROKER => self.register_broker(conn, req),
            RequestCode::UNREGISTER_BROKER => self.unregister_broker(req),
            RequestCode::BROKER_HEARTBEAT => self.broker_heartbeat(req),
            RequestCode::GET_ROUTEINFO_BY_TOPIC => self.route_by_topic(req),
            RequestCode::GET_BROKER_CLUSTER_INFO => {
                ok().with_body(self.routes().cluster_info().encode())
            }
            RequestCode::GET_BROKER_MEMBER_GROUP => self.member_group(req),
            RequestCode::WIPE_WRITE_PERM_OF_BROKER => self.change_write_perm(req, false),
            RequestCode::ADD_WRITE_PERM_OF_BROKER => self.change_write_perm(req, true),
            RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER => {
                if !self.settings(|c| c.enable_all_topic_list) {
                    return fail(ResponseCode::SYSTEM_ERROR, "disable");
                }
                topic_list(self.routes().topics(), None)
            }
            RequestCode::DELETE_TOPIC_IN_NAMESRV => self.delete_topic(req),
            RequestCode::REGISTER_TOPIC_IN_NAMESRV => self.register_topic(req),
            RequestCode::GET_TOPICS_BY_CLUSTER => self.topics_by_cluster(req),
            RequestCode::GET_SYSTEM_TOPIC_LIST_FROM_NS => {
                let (topics, addr) = self.routes().system_topics();
                topic_list(topics, addr)
            }
            RequestCode::GET_UNIT_TOPIC_LIST => self.unit_topics(UnitTopicKind::Unit),
            RequestCode::GET_HAS_UNIT_SUB_TOPIC_LIST => self.unit_topics(UnitTopicKind::HasUnitSub),
            RequestCode::GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST => {
                self.unit_topics(UnitTopicKind::HasUnitSubNotUnit)
            }
            RequestCode::UPDATE_NAMESRV_CONFIG => self.update_config(req),
            RequestCode::GET_NAMESRV_CONFIG => {
                ok().with_body(self.settings(NamesrvConfig::to_properties).into_bytes())
            }
            other => fail(
                ResponseCode::REQUEST_CODE_NOT_SUPPORTED,
                format!(" request type {} not supported", other.0),
            ),
        }
    }

    /// PUT_KV_CONFIG in memory; the write to run before answering.
    fn put_kv(&self, req: &RemotingCommand) -> (Response, Option<KvWrite>) {
        let h = match PutKVConfigRequestHeader::read_ext(&req.ext_fields) {
            Ok(h) => h,
            Err(e) => return (bad_header(e), None),
        };
        match lock(&self.kv).put(&h.namespace, &h.key, &h.value) {
            Ok(write) => (ok(), Some(write)),
            Err(e) => (fail(ResponseCode::SYSTEM_ERROR, e.to_string()), None),
        }
    }

    fn get_kv(&self, req: &RemotingCommand) -> Response {
        let h = match GetKVConfigRequestHeader::read_ext(&req.ext_fields) {
            Ok(h) => h,
            Err(e) => return bad_header(e),
        };
        match lock(&self.kv).get(&h.namespace, &h.key) {
            Some(v) => ok().with_header(&GetKVConfigResponseHeader {
                value: Some(v.to_owned()),
            }),
            None => fail(
                ResponseCode::QUERY_NOT_FOUND,
                format!("No config item, Namespace: {} Key: {}", h.namespace, h.key),
            ),
        }
    }

    /// DELETE_KV_CONFIG in memory; the write to run before answering.
    fn delete_kv(&self, req: &RemotingCommand) -> (Response, Option<KvWrite>) {
        match DeleteKVConfigRequestHeader::read_ext(&req.ext_fields) {
            Ok(h) => (ok(), Some(lock(&self.kv).delete(&h.namespace, &h.key))),
            Err(e) => (bad_header(e), None),
        }
    }

    fn kv_list(&self, req: &RemotingCommand) -> Response {
        let h = match GetKVListByNamespaceRequestHeader::read_ext(&req.ext_fields) {
            Ok(h) => h,
            Err(e) => return bad_header(e),
        };
        match lock(&self.kv).namespace(&h.namespace) {
            Some(table) => ok().with_body(
                KVTable {
                    table: table.clone(),
                }
                .encode(),
            ),
            None => fail(
                ResponseCode::QUERY_NOT_FOUND,
                format!("No config item, Namespace: {}", h.namespace),
            ),
        }
    }

    fn query_data_version(&self, req: &RemotingCommand) -> Response {
        let h = match QueryDataVersionRequestHeader::read_ext(&req.ext_fields) {
            Ok(h) => h,
            Err(e) => return bad_header(e),
        };
        let theirs = match DataVersion::decode(&req.body) {
            Ok(v) => v,
            Err(e) => {
                return fail(
                    ResponseCode::SYSTEM_ERROR,
                    format!("bad DataVersion body: {e}"),
                )
            }
        };
        let mut routes = self.routes_mut();
        let ours = routes
            .data_version(&h.cluster_name, &h.broker_addr)
            .cloned();
        let changed = ours.as_ref() != Some(&theirs);
        routes.touch(&h.cluster_name, &h.broker_addr, Instant::now());
        let mut resp = ok().with_header(&QueryDataVersionResponseHeader { changed });
        if let Some(v) = ours {
            resp.body = v.encode().into();
        }
        resp
    }

    fn register_broker(&self, conn: Option<&Connection>, req: &RemotingCommand) -> Response {
        let h = match RegisterBrokerRequestHeader::read_ext(&req.ext_fields) {
            Ok(h) => h,
            Err(e) => return bad_header(e),
        };
        let expected_crc = h.body_crc32.unwrap_or(0);
        if expected_crc != 0 && !req.body.is_empty() {
            let crc = (crc32fast::hash(&req.body) & 0x7FFF_FFFF) as i32;
            if crc != expected_crc {
                tracing::warn!(broker = %h.broker_addr, "register broker: body crc32 does not match");
                return fail(ResponseCode::SYSTEM_ERROR, "crc32 not match");
            }
        }
        let version = Version(req.version);
        let (topics, filter_servers) = if req.body.is_empty() {
            (TopicConfigSerializeWrapper::default(), Vec::new())
        } else if version >= Version::V3_0_11 {
            match RegisterBrokerBody::decode_request(
                &req.body,
                h.compressed.unwrap_or(false),
                version,
            ) {
                Ok(b) => (b.topic_config_serialize_wrapper, b.filter_server_list),
                Err(e) => {
                    return fail(
                        ResponseCode::SYSTEM_ERROR,
                        format!("bad register body: {e}"),
                    )
                }
            }
        } else {
            match TopicConfigSerializeWrapper::decode(&req.body) {
                Ok(w) => (w, Vec::new()),
                Err(e) => {
                    return fail(
                        ResponseCode::SYSTEM_ERROR,
                        format!("bad register body: {e}"),
                    )
                }
            }
        };
        let registration = Registration {
            cluster: h.cluster_name,
            broker_addr: h.broker_addr,
            broker_name: h.broker_name,
            broker_id: h.broker_id,
            ha_server_addr: h.ha_server_addr,
            zone_name: req.ext_fields.opt_str("__ZONE_NAME"),
            timeout: h
                .heartbeat_timeout_millis
                .filter(|ms| *ms > 0)
                .map(|ms| Duration::from_millis(ms.unsigned_abs())),
            enable_acting_master: h.enable_acting_master,
            topics,
            filter_servers,
            conn_id: conn.map(Connection::id),
        };
        let addr = registration.broker_addr.clone();
        let result = match self.routes_mut().register(registration, Instant::now()) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(broker = %addr, error = %e, "registration refused");
                return fail(ResponseCode::SYSTEM_ERROR, "register broker failed");
            }
        };
        if let Some(conn) = conn {
            lock(&self.broker_conns).insert(conn.id(), conn.clone());
        }
        tracing::debug!(broker = %addr, "broker registered");
        let mut resp = ok().with_header(&RegisterBrokerResponseHeader {
            ha_server_addr: result.ha_server_addr,
            master_addr: result.master_addr,
        });
        if self.settings(|c| c.return_order_topic_config_to_broker) {
            if let Some(table) = lock(&self.kv).namespace(ORDER_TOPIC_CONFIG) {
                resp.body = KVTable {
                    table: table.clone(),
                }
                .encode()
                .into();
            }
        }
        resp
    }

    fn unregister_broker(&self, req: &RemotingCommand) -> Response {
        let h = match UnRegisterBrokerRequestHeader::read_ext(&req.ext_fields) {
            Ok(h) => h,
            Err(e) => return bad_header(e),
        };
        self.routes_mut()
            .unregister(&h.cluster_name, &h.broker_addr, &h.broker_name, h.broker_id);
        tracing::info!(broker = %h.broker_addr, name = %h.broker_name, "broker unregistered");
        ok()
    }

    fn broker_heartbeat(&self, req: &RemotingCommand) -> Response {
        match BrokerHeartbeatRequestHeader::read_ext(&req.ext_fields) {
            Ok(h) => {
                self.routes_mut()
                    .touch(&h.cluster_name, &h.broker_addr, Instant::now());
                ok()
            }
            Err(e) => bad_header(e),
        }
    }

    fn route_by_topic(&self, req: &RemotingCommand) -> Response {
        let h = match GetRouteInfoRequestHeader::read_ext(&req.ext_fields) {
            Ok(h) => h,
            Err(e) => return bad_header(e),
        };
        let (wait_for_service, order_message_enable) = self.settings(|c| {
            let wait = c.need_wait_for_service.then(|| {
                Duration::from_secs(u64::try_from(c.wait_seconds_for_service).unwrap_or(0))
            });
            (wait, c.order_message_enable)
        });
        if wait_for_service.is_some_and(|wait| self.started.elapsed() < wait) {
            return fail(ResponseCode::SYSTEM_ERROR, "name server not ready");
        }
        let route: Option<TopicRouteData> = self.routes().route(&h.topic);
        match route {
            Some(mut route) => {
                if order_message_enable {
                    route.order_topic_conf = lock(&self.kv)
                        .get(ORDER_TOPIC_CONFIG, &h.topic)
                        .map(str::to_owned);
                }
                let style = RouteJsonStyle::for_request(
                    Version(req.version),
                    h.accept_standard_json_only.unwrap_or(false),
                );
                ok().with_body(route.encode(style))
            }
            None => fail(
                ResponseCode::TOPIC_NOT_EXIST,
                format!(
                    "No topic route info in name server for the topic: {}",
                    h.topic
                ),
            ),
        }
    }

    /// GET_BROKER_MEMBER_GROUP: the registered addresses of one broker name (empty when unknown,
    /// as Apache answers).
    fn member_group(&self, req: &RemotingCommand) -> Response {
        let h = match GetBrokerMemberGroupRequestHeader::read_ext(&req.ext_fields) {
            Ok(h) => h,
            Err(e) => return bad_header(e),
        };
        let body = GetBrokerMemberGroupResponseBody {
            broker_member_group: BrokerMemberGroup {
                broker_addrs: self.routes().broker_addrs(&h.broker_name),
                cluster: h.cluster_name,
                broker_name: h.broker_name,
            },
        };
        ok().with_body(body.encode())
    }

    fn change_write_perm(&self, req: &RemotingCommand, add: bool) -> Response {
        if add {
            match AddWritePermOfBrokerRequestHeader::read_ext(&req.ext_fields) {
                Ok(h) => {
                    let n = self.routes_mut().add_write_perm(&h.broker_name);
                    ok().with_header(&AddWritePermOfBrokerResponseHeader { add_topic_count: n })
                }
                Err(e) => bad_header(e),
            }
        } else {
            match WipeWritePermOfBrokerRequestHeader::read_ext(&req.ext_fields) {
                Ok(h) => {
                    let n = self.routes_mut().wipe_write_perm(&h.broker_name);
                    ok().with_header(&WipeWritePermOfBrokerResponseHeader {
                        wipe_topic_count: n,
                    })
                }
                Err(e) => bad_header(e),
            }
        }
    }

    fn delete_topic(&self, req: &RemotingCommand) -> Response {
        match DeleteTopicFromNamesrvRequestHeader::read_ext(&req.ext_fields) {
            Ok(h) => {
                let cluster = h.cluster_name.filter(|c| !c.is_empty());
                self.routes_mut().delete_topic(&h.topic, cluster.as_deref());
                ok()
            }
            Err(e) => bad_header(e),
        }
    }

    fn register_topic(&self, req: &RemotingCommand) -> Response {
        let h = match RegisterTopicRequestHeader::read_ext(&req.ext_fields) {
            Ok(h) => h,
            Err(e) => return bad_header(e),
        };
        if !req.body.is_empty() {
            match TopicRouteData::decode(&req.body) {
                Ok(route) => self
                    .routes_mut()
                    .register_topic(&h.topic, &route.queue_datas),
                Err(e) => return fail(ResponseCode::SYSTEM_ERROR, format!("bad route body: {e}")),
            }
        }
        ok()
    }

    fn topics_by_cluster(&self, req: &RemotingCommand) -> Response {
        if !self.settings(|c| c.enable_topic_list) {
            return fail(ResponseCode::SYSTEM_ERROR, "disable");
        }
        match GetTopicsByClusterRequestHeader::read_ext(&req.ext_fields) {
            Ok(h) => topic_list(self.routes().topics_of_cluster(&h.cluster), None),
            Err(e) => bad_header(e),
        }
    }

    fn unit_topics(&self, kind: UnitTopicKind) -> Response {
        if !self.settings(|c| c.enable_topic_list) {
            return fail(ResponseCode::SYSTEM_ERROR, "disable");
        }
        topic_list(self.routes().topics_by_sys_flag(kind), None)
    }

    fn update_config(&self, req: &RemotingCommand) -> Response {
        let Ok(text) = std::str::from_utf8(&req.body) else {
            return fail(
                ResponseCode::SYSTEM_ERROR,
                "string2Properties error: body is not UTF-8",
            );
        };
        let pairs = ferromq_common::java_properties::parse(text);
        let mut config = self.config.write().unwrap_or_else(|e| e.into_inner());
        match config.update_at_runtime(&pairs) {
            Ok(()) => {
                self.routes_mut().set_delete_topic_with_broker_registration(
                    config.delete_topic_with_broker_registration,
                );
                let keys: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
                tracing::info!(?keys, "name server config updated");
                ok()
            }
            Err(crate::config::ConfigError::NotRuntimeUpdatable { key }) => fail(
                ResponseCode::NO_PERMISSION,
                format!(
                    "Can not update config in black list. `{key}` cannot be changed at run time"
                ),
            ),
            Err(e) => fail(ResponseCode::SYSTEM_ERROR, e.to_string()),
        }
    }
}

fn topic_list(topics: BTreeSet<String>, broker_addr: Option<String>) -> Response {
    ok().with_body(
        TopicList {
            broker_addr,
            topic_list: topics,
        }
        .encode(),
    )
}

/// The answer to a KV change once its write ran.
fn finish_kv_write(response: Response, written: std::io::Result<()>) -> Response {
    match written {
        Ok(()) => response,
        Err(e) => fail(
            ResponseCode::SYSTEM_ERROR,
            format!("cannot persist KV config: {e}"),
        ),
    }
}

impl Handler for NameServer {
    async fn handle(&self, conn: &Connection, request: RemotingCommand) -> Option<RemotingCommand> {
        if !self.rpc.is_enabled() {
            return Some(self.answer(conn, &request).await);
        }
        let start = Instant::now();
        let response = self.answer(conn, &request).await;
        self.rpc.record(
            request.code,
            response.code,
            false,
            request.is_oneway(),
            start.elapsed(),
        );
        Some(response)
    }

    fn on_close(&self, conn: &Connection) {
        lock(&self.broker_conns).remove(&conn.id());
        let gone = self.routes_mut().connection_closed(conn.id());
        for addr in gone {
            tracing::info!(broker = %addr, "broker connection closed; routes removed");
        }
    }
}

impl NameServer {
    /// Answers `request`; a KV write's fsync runs on a blocking thread.
    async fn answer(&self, conn: &Connection, request: &RemotingCommand) -> Response {
        let (response, write) = self.process_deferred(Some(conn), request);
        match write {
            // The write ends in an fsync: on a blocking thread, not on a runtime worker.
            Some(write) => match tokio::task::spawn_blocking(move || write.run()).await {
                Ok(result) => finish_kv_write(response, result),
                Err(e) => fail(
                    ResponseCode::SYSTEM_ERROR,
                    format!("KV config writer failed: {e}"),
                ),
            },
            None => response,
        }
    }

    /// The name server's metrics in Prometheus text format: live brokers per cluster, topics,
    /// KV pairs, and request latencies; every series labelled `node_type="namesrv"` and
    /// `node_id` (`node`).
    pub fn render_metrics(&self, node: &str) -> String {
        use std::fmt::Write as _;
        let labels = format!(r#"node_type="namesrv",node_id="{}""#, escape_label(node));
        let mut out = String::with_capacity(2048);
        let info = self.routes().cluster_info();
        let topics = self.routes().topics().len();
        let _ = writeln!(
            out,
            "# HELP ferromq_namesrv_brokers Broker nodes registered, by cluster."
        );
        let _ = writeln!(out, "# TYPE ferromq_namesrv_brokers gauge");
        for (cluster, names) in &info.cluster_addr_table {
            let nodes: usize = names
                .iter()
                .filter_map(|n| info.broker_addr_table.get(n))
                .map(|b| b.broker_addrs.len())
                .sum();
            let _ = writeln!(
                out,
                r#"ferromq_namesrv_brokers{{{labels},cluster="{}"}} {nodes}"#,
                escape_label(cluster)
            );
        }
        let kv = lock(&self.kv).entries();
        for (name, help, value) in [
            ("ferromq_namesrv_topics", "Topics with a route.", topics),
            ("ferromq_namesrv_kv_entries", "KV config pairs held.", kv),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} gauge");
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        }
        self.rpc.render(&mut out, &labels);
        out
    }
}

/// A label value as the text format wants it.
fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
