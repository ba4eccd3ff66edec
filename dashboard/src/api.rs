//! The JSON API under `/api/` (documented in `dashboard/README.md`).
//!
//! Every answer is a JSON object; failures are `{"error": "..."}` with 400 for bad input, 404
//! for unknown paths, 403/415 for refused writes (checked before these handlers) and 502 when
//! the cluster refused or could not be reached (the error names the operation, the broker's
//! response code and its remark).

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

use ferromq_client::admin::{PullStatus, DEFAULT_CLUSTER};
use ferromq_client::{
    Admin, ClientConfig, Credentials, Error, ErrorKind, Message, MessageView, Producer,
    ProducerOptions, SendResult, SendStatus, TopicOptions,
};
use ferromq_protocol::body::route::perm;
use ferromq_protocol::body::MessageQueue;
use ferromq_protocol::names;
use ferromq_protocol::ResponseCode;
use serde_json::{json, Value};

use crate::http::{Request, Response};
use crate::State;

/// The producer group of the console's test sends and DLQ resends.
pub const TEST_MESSAGE_GROUP: &str = "FERROMQ_DASHBOARD_PRODUCER";
/// The consumer group the console reads messages as (it never commits an offset).
const READER_GROUP: &str = "FERROMQ_DASHBOARD_READER";
/// Most messages a search returns.
const MAX_RESULTS: usize = 64;
/// Most body bytes shown of one message (as text and as hex).
const MAX_BODY_SHOWN: usize = 64 * 1024;

type ApiResult = Result<Value, Response>;

pub(crate) async fn get(state: &State, r: &Request) -> Response {
    match get_api(state, r).await {
        Ok(v) => Response::json(200, &v),
        Err(refusal) => refusal,
    }
}

async fn get_api(state: &State, r: &Request) -> ApiResult {
    match r.path.as_str() {
        "/api/session" => Ok(json!({
            "csrfToken": state.csrf_token,
            "readOnly": state.config.read_only,
            "namesrv": state.config.client.namesrv_addr,
        })),
        "/api/cluster" => cluster(state).await,
        "/api/topics" => topics(state, r.param("q").unwrap_or("")).await,
        "/api/topic" => topic(state, required(r.param("name"), "name")?).await,
        "/api/groups" => groups(state, r.param("q").unwrap_or("")).await,
        "/api/group" => group(state, required(r.param("name"), "name")?).await,
        "/api/messages/by-key" => {
            by_key(
                state,
                required(r.param("topic"), "topic")?,
                required(r.param("key"), "key")?,
            )
            .await
        }
        "/api/messages/by-id" => {
            by_id(
                state,
                required(r.param("topic"), "topic")?,
                required(r.param("id"), "id")?,
            )
            .await
        }
        "/api/messages/by-time" => by_time(state, r).await,
        "/api/messages/trace" => {
            trace(
                state,
                required(r.param("id"), "id")?,
                r.param("traceTopic").filter(|t| !t.is_empty()),
            )
            .await
        }
        "/api/producers" => {
            producers(
                state,
                required(r.param("topic"), "topic")?,
                required(r.param("group"), "group")?,
            )
            .await
        }
        _ => Err(Response::error(404, "no such API")),
    }
}

pub(crate) async fn post(state: &State, r: &Request) -> Response {
    let body: Value = match serde_json::from_slice(&r.body) {
        Ok(v @ Value::Object(_)) => v,
        _ => return Response::error(400, "the body must be a JSON object"),
    };
    let w = match Writer::for_request(state, r) {
        Ok(w) => w,
        Err(refusal) => return refusal,
    };
    let result = match r.path.as_str() {
        "/api/topic/update" => update_topic(&w, &body).await,
        "/api/topic/delete" => delete_topic(&w, &body).await,
        "/api/topic/send" => send(&w, &body).await,
        "/api/group/reset-offset" => reset_offset(&w, &body).await,
        "/api/messages/resend-dlq" => resend_dlq(&w, &body).await,
        _ => Err(Response::error(404, "no such API")),
    };
    w.close().await;
    answer(result)
}

/// The clients one write runs with: the operator's own ACL credentials when the page sends
/// them (`X-Access-Key` and `X-Secret-Key`), else the console's (`--access-key`), else none.
/// Under ACL, the cluster decides what either may do.
pub(crate) struct Writer<'a> {
    state: &'a State,
    /// The operator's admin client and settings, when the request carried credentials.
    own: Option<(Admin, ClientConfig)>,
}

impl<'a> Writer<'a> {
    fn for_request(state: &'a State, r: &Request) -> Result<Writer<'a>, Response> {
        let key = r.header("x-access-key").filter(|k| !k.is_empty());
        let secret = r.header("x-secret-key").filter(|k| !k.is_empty());
        let (key, secret) = match (key, secret) {
            (None, None) => return Ok(Writer { state, own: None }),
            (Some(k), Some(s)) => (k, s),
            _ => {
                return Err(bad(
                    "X-Access-Key and X-Secret-Key go together (or neither)",
                ))
            }
        };
        // One client per credential pair, apart from the console's own.
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (key, secret).hash(&mut hasher);
        let config = ClientConfig {
            instance_name: format!("mqdashboard-operator-{:016x}", hasher.finish()),
            credentials: Some(Credentials::new(key, secret)),
            ..state.config.client.clone()
        };
        let admin = Admin::new(&config).map_err(cluster_err)?;
        Ok(Writer {
            state,
            own: Some((admin, config)),
        })
    }

    fn admin(&self) -> &Admin {
        self.own.as_ref().map_or(&self.state.admin, |(a, _)| a)
    }

    /// Sends with the console's producer, or a producer of the operator's for this one send.
    async fn send(&self, message: Message) -> Result<SendResult, Response> {
        let Some((_, config)) = &self.own else {
            return producer(self.state)
                .await?
                .send(message)
                .await
                .map_err(cluster_err);
        };
        let producer = Producer::start(ProducerOptions {
            client: config.clone(),
            group: TEST_MESSAGE_GROUP.to_owned(),
            ..ProducerOptions::default()
        })
        .await
        .map_err(cluster_err)?;
        let sent = producer.send(message).await.map_err(cluster_err);
        producer.shutdown().await;
        sent
    }

    async fn close(self) {
        if let Some((admin, _)) = self.own {
            admin.shutdown().await;
        }
    }
}

fn answer(result: ApiResult) -> Response {
    match result {
        Ok(v) => Response::json(200, &v),
        Err(refusal) => refusal,
    }
}

/// Apache's `MQVersion.getVersionDesc`.
fn version_desc(version: i32) -> String {
    ferromq_protocol::Version(version)
        .release_name()
        .unwrap_or_else(|| format!("V{version}"))
}

fn required<'a>(v: Option<&'a str>, name: &str) -> Result<&'a str, Response> {
    v.filter(|v| !v.is_empty())
        .ok_or_else(|| Response::error(400, format!("{name} is required")))
}

fn field<'a>(body: &'a Value, name: &str) -> Result<&'a str, Response> {
    required(body.get(name).and_then(Value::as_str), name)
}

fn cluster_err(e: Error) -> Response {
    let status = if e.kind() == ErrorKind::InvalidArgument {
        400
    } else {
        502
    };
    Response::error(status, e.to_string())
}

fn bad(message: impl Into<String>) -> Response {
    Response::error(400, message)
}

fn check_topic(topic: &str) -> Result<(), Response> {
    names::check_topic(topic).map_err(|e| bad(format!("topic: {e}")))
}

fn check_group(group: &str) -> Result<(), Response> {
    names::check_group(group).map_err(|e| bad(format!("group: {e}")))
}

/// The first number of a broker's `a b c` TPS triple (the last 10 s).
fn first_rate(triple: Option<&String>) -> f64 {
    triple
        .and_then(|t| t.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

async fn cluster(state: &State) -> ApiResult {
    let info = state.admin.cluster_info().await.map_err(cluster_err)?;
    let mut clusters = Vec::new();
    for (cluster, broker_names) in &info.cluster_addr_table {
        let mut brokers = Vec::new();
        for name in broker_names {
            let Some(data) = info.broker_addr_table.get(name) else {
                continue;
            };
            for (id, addr) in &data.broker_addrs {
                let mut b = json!({
                    "brokerName": name,
                    "brokerId": id,
                    "addr": addr,
                    "role": if *id == 0 { "MASTER" } else { "SLAVE" },
                });
                match state.admin.broker_runtime_info(addr).await {
                    Ok(rt) => {
                        let get = |k: &str| rt.get(k).cloned().unwrap_or_default();
                        b["version"] = json!(get("brokerVersionDesc"));
                        b["putTps"] = json!(first_rate(rt.get("putTps")));
                        b["getTps"] = json!(first_rate(
                            rt.get("getTransferredTps")
                                .or_else(|| rt.get("getTransferedTps"))
                        ));
                        b["diskRatio"] =
                            json!(get("commitLogDiskRatio").parse::<f64>().unwrap_or(0.0));
                        b["msgPutTotalTodayNow"] = json!(get("msgPutTotalTodayNow"));
                        b["msgGetTotalTodayNow"] = json!(get("msgGetTotalTodayNow"));
                        b["replication"] = replication(&rt);
                    }
                    Err(e) => b["error"] = json!(e.to_string()),
                }
                brokers.push(b);
            }
        }
        clusters.push(json!({ "name": cluster, "brokers": brokers }));
    }
    Ok(json!({ "clusters": clusters }))
}

/// What a broker says of its replication: a master's slaves and how far each is behind, or a
/// slave's master (FerroMQ's runtime keys; absent from Apache's brokers).
fn replication(rt: &BTreeMap<String, String>) -> Value {
    let max: i64 = rt
        .get("commitLogMaxOffset")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let slaves: Vec<Value> = rt
        .get("haSlaveAckOffsets")
        .map(|v| {
            v.split(';')
                .filter_map(|s| s.split_once('='))
                .map(|(addr, ack)| {
                    let ack: i64 = ack.parse().unwrap_or(0);
                    json!({ "addr": addr, "lagBytes": (max - ack).max(0) })
                })
                .collect()
        })
        .unwrap_or_default();
    json!({
        "slaves": slaves,
        "master": rt.get("haMasterAddress").filter(|m| !m.is_empty()),
    })
}

fn topic_kind(topic: &str) -> &'static str {
    if topic.starts_with(names::RETRY_TOPIC_PREFIX) {
        "retry"
    } else if topic.starts_with(names::DLQ_TOPIC_PREFIX) {
        "dlq"
    } else if names::is_internal_topic(topic) {
        "system"
    } else {
        "normal"
    }
}

async fn topics(state: &State, q: &str) -> ApiResult {
    let all = state.admin.topic_list().await.map_err(cluster_err)?;
    let topics: Vec<Value> = all
        .iter()
        .filter(|t| t.contains(q))
        .map(|t| json!({ "name": t, "kind": topic_kind(t) }))
        .collect();
    Ok(json!({ "topics": topics }))
}

async fn topic(state: &State, name: &str) -> ApiResult {
    check_topic(name)?;
    let route = state.admin.topic_route(name).await.map_err(cluster_err)?;
    let stats = state.admin.topic_stats(name).await.map_err(cluster_err)?;
    let queues: Vec<Value> = stats
        .iter()
        .map(|(mq, o)| {
            json!({
                "brokerName": mq.broker_name,
                "queueId": mq.queue_id,
                "minOffset": o.min_offset,
                "maxOffset": o.max_offset,
                "lastUpdateTimestamp": o.last_update_timestamp,
            })
        })
        .collect();
    let mut groups = std::collections::BTreeSet::new();
    for b in &route.broker_datas {
        if let Some(addr) = b.master_addr() {
            if let Ok(g) = state.admin.topic_consumer_groups(addr, name).await {
                groups.extend(g);
            }
        }
    }
    let brokers: Vec<Value> = route
        .broker_datas
        .iter()
        .map(|b| json!({ "brokerName": b.broker_name, "cluster": b.cluster, "addrs": b.broker_addrs }))
        .collect();
    let queue_datas: Vec<Value> = route
        .queue_datas
        .iter()
        .map(|q| {
            json!({
                "brokerName": q.broker_name,
                "readQueueNums": q.read_queue_nums,
                "writeQueueNums": q.write_queue_nums,
                "perm": q.perm,
            })
        })
        .collect();
    Ok(json!({
        "name": name,
        "kind": topic_kind(name),
        "route": { "brokers": brokers, "queueDatas": queue_datas },
        "queues": queues,
        "consumerGroups": groups,
    }))
}

async fn groups(state: &State, q: &str) -> ApiResult {
    let info = state.admin.cluster_info().await.map_err(cluster_err)?;
    let mut names = std::collections::BTreeSet::new();
    for data in info.broker_addr_table.values() {
        if let Some(addr) = data.master_addr() {
            let found = state
                .admin
                .subscription_groups_at(addr)
                .await
                .map_err(cluster_err)?;
            names.extend(found);
        }
    }
    let groups: Vec<Value> = names
        .iter()
        .filter(|g| g.contains(q))
        .map(|g| json!({ "name": g, "system": is_system_group(g) }))
        .collect();
    Ok(json!({ "groups": groups }))
}

/// The groups brokers and tools create for themselves (Apache's `MixAll` names and the
/// `CID_RMQ_SYS_` family), hidden by default on the groups page.
fn is_system_group(group: &str) -> bool {
    const SYSTEM: &[&str] = &[
        "TOOLS_CONSUMER",
        "FILTERSRV_CONSUMER",
        "__MONITOR_CONSUMER",
        "CLIENT_INNER_PRODUCER",
        "SELF_TEST_P_GROUP",
        "SELF_TEST_C_GROUP",
        "CID_ONS-HTTP-PROXY",
        "CID_ONSAPI_PERMISSION",
        "CID_ONSAPI_OWNER",
        "CID_ONSAPI_PULL",
        "CID_SYS_RMQ_TRANS",
        READER_GROUP,
    ];
    SYSTEM.contains(&group) || group.starts_with("CID_RMQ_SYS_")
}

async fn group(state: &State, name: &str) -> ApiResult {
    check_group(name)?;
    let info = state.admin.cluster_info().await.map_err(cluster_err)?;
    let mut members = BTreeMap::new();
    let mut subscriptions = BTreeMap::new();
    let mut consume_type = None;
    let mut message_model = None;
    let mut queues = Vec::new();
    let mut total_lag = 0i64;
    let mut consume_tps = 0f64;
    for data in info.broker_addr_table.values() {
        let Some(addr) = data.master_addr() else {
            continue;
        };
        if let Ok(conn) = state.admin.consumer_connection_at(addr, name).await {
            for c in &conn.connection_set {
                members.insert(
                    c.client_id.clone(),
                    json!({
                        "clientId": c.client_id,
                        "clientAddr": c.client_addr,
                        "language": c.language.to_string(),
                        "version": version_desc(c.version),
                    }),
                );
            }
            for (topic, sub) in &conn.subscription_table {
                subscriptions.insert(topic.clone(), sub.sub_string.clone());
            }
            consume_type = conn.consume_type.map(|t| t.to_string());
            message_model = conn.message_model.map(|m| m.to_string());
        }
        match state.admin.consume_stats_at(addr, name, None).await {
            Ok(stats) => {
                consume_tps += stats.consume_tps;
                for (mq, o) in &stats.offset_table {
                    let lag = (o.broker_offset - o.consumer_offset).max(0);
                    total_lag += lag;
                    queues.push(json!({
                        "topic": mq.topic,
                        "brokerName": mq.broker_name,
                        "queueId": mq.queue_id,
                        "brokerOffset": o.broker_offset,
                        "consumerOffset": o.consumer_offset,
                        "lag": lag,
                        "lastTimestamp": o.last_timestamp,
                    }));
                }
            }
            Err(e) if e.kind() == ErrorKind::Broker => {}
            Err(e) => return Err(cluster_err(e)),
        }
    }
    Ok(json!({
        "name": name,
        "members": members.into_values().collect::<Vec<_>>(),
        "subscriptions": subscriptions,
        "consumeType": consume_type,
        "messageModel": message_model,
        "consumeTps": consume_tps,
        "totalLag": total_lag,
        "queues": queues,
    }))
}

fn message_json(m: &MessageView) -> Value {
    let body = m.body();
    let shown = &body[..body.len().min(MAX_BODY_SHOWN)];
    let ext = m.ext();
    json!({
        "msgId": m.msg_id(),
        "offsetMsgId": m.offset_msg_id(),
        "topic": m.topic(),
        "tag": m.tag(),
        "keys": m.keys(),
        "brokerName": m.queue().broker_name,
        "queueId": m.queue().queue_id,
        "queueOffset": m.queue_offset(),
        "reconsumeTimes": m.reconsume_times(),
        "bornTimestamp": m.born_timestamp(),
        "storeTimestamp": m.store_timestamp(),
        "bornHost": ext.born_host.to_string(),
        "storeHost": ext.store_host.to_string(),
        "properties": m.properties(),
        "bodySize": body.len(),
        "bodyTruncated": body.len() > shown.len(),
        "bodyText": String::from_utf8_lossy(shown),
        "bodyHex": shown.iter().map(|b| format!("{b:02x}")).collect::<String>(),
    })
}

async fn by_key(state: &State, topic: &str, key: &str) -> ApiResult {
    check_topic(topic)?;
    let found = state
        .admin
        .query_by_key(topic, key, MAX_RESULTS as i32)
        .await
        .map_err(cluster_err)?;
    Ok(json!({ "messages": found.iter().take(MAX_RESULTS).map(message_json).collect::<Vec<_>>() }))
}

/// The messages of `topic` with client id (UNIQ_KEY) `id`, else the one at broker offset id
/// `id`.
async fn find_by_id(state: &State, topic: &str, id: &str) -> Result<Vec<MessageView>, Response> {
    check_topic(topic)?;
    if !id.bytes().all(|b| b.is_ascii_hexdigit()) || id.len() > 64 {
        return Err(bad("id: hexadecimal digits expected"));
    }
    let mut found = state
        .admin
        .query_messages(topic, id, MAX_RESULTS as i32, (0, i64::MAX), true, None)
        .await
        .unwrap_or_default();
    if found.is_empty() && id.len() == 32 {
        if let Ok(m) = state.admin.view_by_offset_id(id).await {
            if m.topic() == topic || m.ext().topic == topic {
                found.push(m);
            }
        }
    }
    found.truncate(MAX_RESULTS);
    Ok(found)
}

async fn by_id(state: &State, topic: &str, id: &str) -> ApiResult {
    let found = find_by_id(state, topic, id).await?;
    Ok(json!({ "messages": found.iter().map(message_json).collect::<Vec<_>>() }))
}

/// The trace records of message `id` in `trace_topic` (`RMQ_SYS_TRACE_TOPIC`), oldest first
/// (docs/message-trace.md): what `mqadmin queryMsgTraceById` prints, every field included.
async fn trace(state: &State, id: &str, trace_topic: Option<&str>) -> ApiResult {
    let topic = trace_topic.unwrap_or(ferromq_client::trace::TRACE_TOPIC);
    check_topic(topic)?;
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad("id: hexadecimal digits expected"));
    }
    let found = state
        .admin
        .query_by_key(topic, id, MAX_RESULTS as i32)
        .await
        .unwrap_or_default();
    let mut traces: Vec<(i64, Value)> = Vec::new();
    for m in &found {
        let client_host = m.ext().born_host.ip().to_string();
        let body = String::from_utf8_lossy(m.body());
        for r in ferromq_client::trace::data::decode(&body) {
            if r.msg_id != id {
                continue;
            }
            traces.push((
                r.timestamp,
                json!({
                    "type": r.trace_type.name(), "group": r.group, "clientHost": client_host,
                    "timestamp": r.timestamp, "costTime": r.cost_ms, "success": r.success,
                    "topic": r.topic, "tags": r.tags, "keys": r.keys, "storeHost": r.store_host,
                    "offsetMsgId": r.offset_msg_id, "retryTimes": r.retry_times,
                    "requestId": r.request_id, "contextCode": r.context_code,
                }),
            ));
        }
    }
    traces.sort_by_key(|(t, _)| *t);
    Ok(
        json!({ "traceTopic": topic, "traces": traces.into_iter().map(|(_, v)| v).collect::<Vec<_>>() }),
    )
}

fn param_ms(r: &Request, name: &str) -> Result<i64, Response> {
    required(r.param(name), name)?
        .parse()
        .map_err(|_| bad(format!("{name}: milliseconds since the epoch expected")))
}

/// The messages stored in `[begin, end]` (ms) in every queue of `topic`, oldest first per
/// queue, at most `max` (64) in all.
async fn by_time(state: &State, r: &Request) -> ApiResult {
    let topic = required(r.param("topic"), "topic")?;
    check_topic(topic)?;
    let (begin, end) = (param_ms(r, "begin")?, param_ms(r, "end")?);
    if end < begin {
        return Err(bad("end is before begin"));
    }
    let max = r
        .param("max")
        .and_then(|m| m.parse::<usize>().ok())
        .unwrap_or(MAX_RESULTS)
        .clamp(1, MAX_RESULTS);
    let route = state.admin.topic_route(topic).await.map_err(cluster_err)?;
    let mut out = Vec::new();
    'brokers: for qd in &route.queue_datas {
        let Some(addr) = route.broker(&qd.broker_name).and_then(|b| b.master_addr()) else {
            continue;
        };
        for queue_id in 0..qd.read_queue_nums.clamp(0, 1024) {
            let mq = MessageQueue::new(topic, &qd.broker_name, queue_id);
            let mut offset = state
                .admin
                .search_offset_at(addr, topic, queue_id, begin)
                .await
                .map_err(cluster_err)?;
            'queue: loop {
                let want = (max - out.len()).min(32) as i32;
                let answer = state
                    .admin
                    .pull_at(addr, READER_GROUP, &mq, "*", offset, want)
                    .await
                    .map_err(cluster_err)?;
                if answer.status != PullStatus::Found || answer.next_begin_offset <= offset {
                    break;
                }
                for m in &answer.messages {
                    if m.store_timestamp() > end {
                        break 'queue;
                    }
                    if m.store_timestamp() >= begin {
                        out.push(message_json(m));
                        if out.len() >= max {
                            break 'brokers;
                        }
                    }
                }
                offset = answer.next_begin_offset;
            }
        }
    }
    Ok(json!({ "messages": out }))
}

async fn producers(state: &State, topic: &str, group: &str) -> ApiResult {
    check_topic(topic)?;
    check_group(group)?;
    let route = state.admin.topic_route(topic).await.map_err(cluster_err)?;
    let mut seen = BTreeMap::new();
    for b in &route.broker_datas {
        let Some(addr) = b.master_addr() else {
            continue;
        };
        match state.admin.producer_connection_at(addr, group).await {
            Ok(conn) => {
                for c in &conn.connection_set {
                    seen.insert(
                        c.client_id.clone(),
                        json!({
                            "clientId": c.client_id,
                            "clientAddr": c.client_addr,
                            "language": c.language.to_string(),
                            "version": version_desc(c.version),
                            "brokerName": b.broker_name,
                        }),
                    );
                }
            }
            Err(e) if e.kind() == ErrorKind::Broker => {}
            Err(e) => return Err(cluster_err(e)),
        }
    }
    Ok(json!({ "connections": seen.into_values().collect::<Vec<_>>() }))
}

fn cluster_of(body: &Value) -> &str {
    body.get("cluster")
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty())
        .unwrap_or(DEFAULT_CLUSTER)
}

async fn update_topic(w: &Writer<'_>, body: &Value) -> ApiResult {
    let name = field(body, "name")?;
    check_topic(name)?;
    if names::is_internal_topic(name) {
        return Err(bad("system topics are not edited from the console"));
    }
    let queues = body.get("queues").and_then(Value::as_i64).unwrap_or(8);
    if !(1..=1024).contains(&queues) {
        return Err(bad("queues: 1 to 1024"));
    }
    let perm = body
        .get("perm")
        .and_then(Value::as_i64)
        .unwrap_or(i64::from(perm::READ_WRITE));
    if ![2, 4, 6].contains(&perm) {
        return Err(bad("perm: 2 (write), 4 (read) or 6 (read and write)"));
    }
    let options = TopicOptions {
        queue_nums: queues as i32,
        perm: perm as i32,
        order: body.get("order").and_then(Value::as_bool).unwrap_or(false),
    };
    w.admin()
        .create_topic(cluster_of(body), name, &options)
        .await
        .map_err(cluster_err)?;
    Ok(json!({ "ok": true }))
}

async fn delete_topic(w: &Writer<'_>, body: &Value) -> ApiResult {
    let name = field(body, "name")?;
    check_topic(name)?;
    if names::is_internal_topic(name) {
        return Err(bad("system topics are not deleted from the console"));
    }
    w.admin()
        .delete_topic(cluster_of(body), name)
        .await
        .map_err(cluster_err)?;
    Ok(json!({ "ok": true }))
}

async fn producer(state: &State) -> Result<&Producer, Response> {
    state
        .producer
        .get_or_try_init(|| {
            Producer::start(ProducerOptions {
                client: state.config.client.clone(),
                group: TEST_MESSAGE_GROUP.to_owned(),
                ..ProducerOptions::default()
            })
        })
        .await
        .map_err(cluster_err)
}

async fn send(w: &Writer<'_>, body: &Value) -> ApiResult {
    let topic = field(body, "topic")?;
    check_topic(topic)?;
    let text = body.get("body").and_then(Value::as_str).unwrap_or("");
    if text.is_empty() {
        return Err(bad("body is required"));
    }
    let mut message = Message::new(topic, text.to_owned());
    if let Some(tag) = body
        .get("tag")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
    {
        message = message.with_tag(tag);
    }
    if let Some(keys) = body
        .get("keys")
        .and_then(Value::as_str)
        .filter(|k| !k.is_empty())
    {
        message = message.with_keys(keys.split_whitespace());
    }
    let result = w.send(message).await?;
    Ok(json!({
        "status": match result.status {
            SendStatus::Ok => "SEND_OK",
            SendStatus::FlushDiskTimeout => "FLUSH_DISK_TIMEOUT",
            SendStatus::FlushSlaveTimeout => "FLUSH_SLAVE_TIMEOUT",
            SendStatus::SlaveNotAvailable => "SLAVE_NOT_AVAILABLE",
            _ => "UNKNOWN",
        },
        "msgId": result.msg_id,
        "offsetMsgId": result.offset_msg_id,
        "brokerName": result.queue.broker_name,
        "queueId": result.queue.queue_id,
        "queueOffset": result.queue_offset,
    }))
}

async fn reset_offset(w: &Writer<'_>, body: &Value) -> ApiResult {
    let group = field(body, "group")?;
    let topic = field(body, "topic")?;
    check_group(group)?;
    check_topic(topic)?;
    let timestamp = body
        .get("timestamp")
        .and_then(Value::as_i64)
        .ok_or_else(|| bad("timestamp: milliseconds since the epoch expected"))?;
    let route = w.admin().topic_route(topic).await.map_err(cluster_err)?;
    let mut queues = 0;
    for b in &route.broker_datas {
        let Some(addr) = b.master_addr() else {
            continue;
        };
        match w
            .admin()
            .reset_offset_by_time_at(addr, group, topic, timestamp, true)
            .await
        {
            Ok(reset) => queues += reset.len(),
            Err(e) if e.response_code() == Some(ResponseCode::CONSUMER_NOT_ONLINE) => {
                queues += reset_offline(w.admin(), addr, group, topic, timestamp).await?;
            }
            Err(e) => return Err(cluster_err(e)),
        }
    }
    Ok(json!({ "ok": true, "queues": queues }))
}

/// With no member online, the broker cannot push a reset to clients: the group's committed
/// offsets are rewritten directly, queue by queue, as Apache's dashboard and `mqadmin` do.
async fn reset_offline(
    admin: &Admin,
    addr: &str,
    group: &str,
    topic: &str,
    timestamp: i64,
) -> Result<usize, Response> {
    let stats = admin
        .consume_stats_at(addr, group, Some(topic))
        .await
        .map_err(cluster_err)?;
    let mut reset = 0;
    for mq in stats.offset_table.keys().filter(|mq| mq.topic == topic) {
        let offset = admin
            .search_offset_at(addr, topic, mq.queue_id, timestamp)
            .await
            .map_err(cluster_err)?;
        admin
            .update_consumer_offset_at(addr, group, mq, offset)
            .await
            .map_err(cluster_err)?;
        reset += 1;
    }
    Ok(reset)
}

/// Properties a resent copy does not keep: the broker's (queue bounds, delivery state) and
/// those that would delay or re-route it.
const NOT_RESENT: &[&str] = &[
    "MIN_OFFSET",
    "MAX_OFFSET",
    "DELAY",
    "TIMER_DELIVER_MS",
    "TIMER_DELAY_SEC",
    "TIMER_DELAY_MS",
    "TIMER_OUT_MS",
    "__STARTDELIVERTIME",
    "REAL_TOPIC",
    "REAL_QID",
    "TRAN_MSG",
    "PGROUP",
    "CLUSTER",
];

/// Sends a copy of a dead-lettered message to the group's retry topic, where the group's
/// consumers receive it again under its original topic.
async fn resend_dlq(w: &Writer<'_>, body: &Value) -> ApiResult {
    let group = field(body, "group")?;
    let id = field(body, "id")?;
    check_group(group)?;
    let dlq = names::dlq_topic(group);
    let Some(view) = find_by_id(w.state, &dlq, id).await?.into_iter().next() else {
        return Err(Response::error(404, format!("no message {id} in {dlq}")));
    };
    let mut message = Message::new(names::retry_topic(group), view.body().clone());
    for (k, v) in view.properties() {
        if !NOT_RESENT.contains(&k.as_str()) {
            message = message.with_property(k, v);
        }
    }
    if view.property("RETRY_TOPIC").is_none() {
        message = message.with_property("RETRY_TOPIC", view.topic().to_owned());
    }
    let result = w.send(message).await?;
    Ok(json!({ "ok": true, "msgId": result.msg_id }))
}
