//! The broker: shared state and request dispatch.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use ferromq_protocol::body::{
    GetConsumerListByGroupResponseBody, HeartbeatData, TopicConfig, TopicConfigSerializeWrapper,
};
use ferromq_protocol::header::admin::CreateTopicRequestHeader;
use ferromq_protocol::header::client::{
    GetConsumerListByGroupRequestHeader, NotifyConsumerIdsChangedRequestHeader,
    UnregisterClientRequestHeader,
};
use ferromq_protocol::header::offset::*;
use ferromq_protocol::header::query::{
    QueryMessageRequestHeader, QueryMessageResponseHeader, ViewMessageRequestHeader,
};
use ferromq_protocol::{
    names, CommandHeader, ProtocolError, RemotingCommand, RequestCode, ResponseCode,
};
use ferromq_remoting::{Connection, Handler};
use ferromq_store::configs::{ConsumerOffsetTable, SubscriptionGroupTable, TopicConfigTable};
use ferromq_store::MessageStore;
use tokio::sync::Notify;

use crate::clients::{ClientChannel, ClientManager};
use crate::config::Settings;

pub(crate) type Response = RemotingCommand;

pub(crate) fn ok() -> Response {
    RemotingCommand::response(ResponseCode::SUCCESS, None)
}

pub(crate) fn fail(code: ResponseCode, remark: impl Into<String>) -> Response {
    RemotingCommand::response(code, Some(remark.into()))
}

pub(crate) fn bad_header(e: ProtocolError) -> Response {
    fail(
        ResponseCode::SYSTEM_ERROR,
        format!("bad request header: {e}"),
    )
}

/// Waits for a put of the broker's own (a retry, a delivery, a transaction record) to be as
/// durable as the flush policy asks; `Err` when the store failed it (a message stored while a
/// SYNC_FLUSH sync timed out counts as stored, as for producers).
pub(crate) async fn stored(
    pending: ferromq_store::store::Pending,
) -> Result<ferromq_store::PutResult, String> {
    let result = pending.finish().await;
    match &result.status {
        ferromq_store::PutStatus::Failed(reason) => Err(format!("store fault: {reason}")),
        _ => Ok(result),
    }
}

/// Perm bits of a topic.
pub(crate) mod perm {
    pub(crate) const READ: i32 = 4;
    pub(crate) const WRITE: i32 = 2;
    pub(crate) const INHERIT: i32 = 1;
}

/// Default topic new topics are created from.
pub(crate) const AUTO_CREATE_TOPIC_KEY: &str = "TBW102";

/// Messages put and served since start.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) put: std::sync::atomic::AtomicU64,
    pub(crate) got: std::sync::atomic::AtomicU64,
}

/// A running broker's state.
#[derive(Debug)]
pub struct Broker {
    pub(crate) settings: std::sync::RwLock<Arc<Settings>>,
    pub(crate) store: Arc<MessageStore>,
    pub(crate) topics: Arc<TopicConfigTable>,
    pub(crate) groups: Arc<SubscriptionGroupTable>,
    pub(crate) offsets: ConsumerOffsetTable,
    pub(crate) delay_offsets: ferromq_store::configs::DelayOffsetTable,
    /// Delay of each level in ms (`messageDelayLevel`).
    pub(crate) delay_levels: Vec<u64>,
    pub(crate) clients: ClientManager,
    pub(crate) locks: crate::locks::QueueLocks,
    pub(crate) transactions: crate::transaction::TransactionState,
    pub(crate) store_host: SocketAddr,
    /// Long-polling wake-ups per (topic, queue).
    pub(crate) arrivals: Mutex<HashMap<(String, i32), Arc<Notify>>>,
    /// Signals the name-server registration loop that topics changed.
    pub(crate) topics_changed: Notify,
    /// When the broker started.
    pub(crate) started: Instant,
    /// Message counters for runtime info.
    pub(crate) stats: Stats,
    /// Topics created on demand (sends to unknown topics), rate limited.
    pub(crate) topic_creations: crate::limits::RateLimiter,
    /// Groups created on demand (heartbeats, pulls, send-backs), rate limited.
    pub(crate) group_creations: crate::limits::RateLimiter,
}

impl Broker {
    /// The current settings (runtime updates swap in a new snapshot).
    pub fn settings(&self) -> Arc<Settings> {
        self.settings
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Applies a runtime update (UPDATE_BROKER_CONFIG): only runtime-safe keys, all or nothing.
    pub fn update_settings(
        &self,
        pairs: &[(String, String)],
    ) -> Result<(), ferromq_protocol::settings::SettingError> {
        let mut guard = self.settings.write().unwrap_or_else(|e| e.into_inner());
        let mut next = Settings::clone(&guard);
        let (broker_pairs, store_pairs): (Vec<_>, Vec<_>) = pairs
            .iter()
            .cloned()
            .partition(|(k, _)| crate::config::BrokerConfig::KEYS.contains(&k.trim()));
        next.broker.update_at_runtime(&broker_pairs)?;
        if !store_pairs.is_empty() {
            // Store settings are fixed once the store is open.
            return Err(
                ferromq_protocol::settings::SettingError::NotRuntimeUpdatable {
                    key: store_pairs[0].0.clone(),
                },
            );
        }
        *guard = Arc::new(next);
        Ok(())
    }

    /// The store.
    pub fn store(&self) -> &Arc<MessageStore> {
        &self.store
    }

    /// The wake-up of a queue's held pulls.
    pub(crate) fn arrival(&self, topic: &str, queue_id: i32) -> Arc<Notify> {
        let mut map = self.arrivals.lock().unwrap_or_else(|e| e.into_inner());
        map.entry((topic.to_owned(), queue_id)).or_default().clone()
    }

    /// Wakes pulls held on a queue (called for every dispatched message).
    pub(crate) fn message_arrived(&self, topic: &str, queue_id: i32) {
        let map = self.arrivals.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = map.get(&(topic.to_owned(), queue_id)) {
            n.notify_waiters();
        }
    }

    /// The topic table in its register-broker form.
    pub(crate) fn topic_wrapper(&self) -> TopicConfigSerializeWrapper {
        self.topics.serialize_wrapper()
    }

    /// Creates or replaces a topic, persists the table and re-registers with the name servers.
    pub(crate) async fn put_topic(&self, config: TopicConfig) {
        self.topics.put(config);
        self.persist_topics().await;
        self.topics_changed.notify_one();
    }

    /// Writes `topics.json` if it changed, on a blocking thread (the write ends in an fsync,
    /// which must not stall the runtime's workers); concurrent callers share one write.
    pub(crate) async fn persist_topics(&self) {
        let topics = self.topics.clone();
        match tokio::task::spawn_blocking(move || topics.persist()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "cannot persist topics.json"),
            Err(e) => tracing::error!(error = %e, "topics.json writer failed"),
        }
    }

    /// Finds a topic, creating it from `TBW102` when allowed (Apache's
    /// `createTopicInSendMessageMethod`), at most `topicAutoCreateMaxPerSecond` a second.
    /// `Err` is the refusal to answer.
    pub(crate) async fn topic_for_send(
        &self,
        topic: &str,
        default_queue_nums: i32,
    ) -> Result<TopicConfig, Response> {
        if let Some(t) = self.topics.get(topic) {
            return Ok(t);
        }
        let not_found = || {
            fail(
                ResponseCode::TOPIC_NOT_EXIST,
                format!("topic[{topic}] not exist, apply first please!"),
            )
        };
        let settings = self.settings();
        if !settings.broker.auto_create_topic_enable {
            return Err(not_found());
        }
        let Some(template) = self.topics.get(AUTO_CREATE_TOPIC_KEY) else {
            return Err(not_found());
        };
        if template.perm & perm::INHERIT == 0 {
            return Err(not_found());
        }
        if let Err(e) = names::check_topic(topic) {
            return Err(fail(ResponseCode::INVALID_PARAMETER, e.to_string()));
        }
        let rate = settings.broker.topic_auto_create_max_per_second;
        if !self.topic_creations.try_acquire(rate, Instant::now()) {
            return Err(crate::limits::busy(
                "topics",
                "topicAutoCreateMaxPerSecond",
                rate,
            ));
        }
        let queues = default_queue_nums.clamp(1, template.write_queue_nums.max(1));
        let mut config = TopicConfig::new(topic, queues, queues);
        config.perm = template.perm & !perm::INHERIT;
        let (created, fresh) = self.topics.put_if_absent(config);
        if fresh {
            tracing::info!(topic, queues, "topic auto-created");
            self.persist_topics().await;
            self.topics_changed.notify_one();
        }
        Ok(created)
    }

    /// Creates a derived topic (a group's retry or dead-letter topic) if missing.
    pub(crate) async fn ensure_group_topic(&self, name: &str, queues: i32) {
        if self.topics.contains(name) {
            return;
        }
        let mut config = TopicConfig::new(name, queues, queues);
        config.perm = perm::READ | perm::WRITE;
        if self.topics.put_if_absent(config).1 {
            self.persist_topics().await;
            self.topics_changed.notify_one();
        }
    }

    /// Creates the retry topic of a consumer group (`%RETRY%<group>`) if missing.
    pub(crate) async fn ensure_retry_topic(&self, group: &str) -> String {
        let name = names::retry_topic(group);
        let queues = self
            .groups
            .get(group)
            .map(|g| g.retry_queue_nums)
            .unwrap_or(1)
            .max(1);
        self.ensure_group_topic(&name, queues).await;
        name
    }

    fn channel(conn: &Connection, client_id: &str, req: &RemotingCommand) -> ClientChannel {
        ClientChannel {
            conn: conn.clone(),
            client_id: client_id.to_owned(),
            language: req.language,
            version: req.version,
            last_update: Instant::now(),
        }
    }

    async fn heartbeat(&self, conn: &Connection, req: &RemotingCommand) -> Response {
        let data = match HeartbeatData::decode(&req.body) {
            Ok(d) => d,
            Err(e) => {
                return fail(
                    ResponseCode::SYSTEM_ERROR,
                    format!("bad heartbeat body: {e}"),
                )
            }
        };
        if let Err(refusal) = self.check_heartbeat(&data) {
            return refusal;
        }
        for consumer in &data.consumer_data_set {
            if let Err(refusal) = self.group_for(&consumer.group_name) {
                tracing::warn!(group = %consumer.group_name, reason = ?refusal.remark, "heartbeat of a group that cannot be created");
                return refusal;
            }
            self.ensure_retry_topic(&consumer.group_name).await;
            let channel = Broker::channel(conn, &data.client_id, req);
            if self.clients.register_consumer(channel, consumer) {
                tracing::info!(group = %consumer.group_name, client = %data.client_id, "consumer joined");
                self.notify_ids_changed(&consumer.group_name);
            }
        }
        for producer in &data.producer_data_set {
            self.clients.register_producer(
                &producer.group_name,
                Broker::channel(conn, &data.client_id, req),
            );
        }
        let mut resp = ok();
        resp.ext_fields.insert("IS_SUB_CHANGE", "true");
        resp
    }

    /// A heartbeat's sizes and names (`heartbeatMaxGroups`, `heartbeatMaxSubscriptions`).
    fn check_heartbeat(&self, data: &HeartbeatData) -> Result<(), Response> {
        let settings = self.settings();
        let b = &settings.broker;
        let groups = data.consumer_data_set.len() + data.producer_data_set.len();
        if groups > b.heartbeat_max_groups {
            return Err(fail(
                ResponseCode::SYSTEM_ERROR,
                format!(
                    "the heartbeat names {groups} groups, more than heartbeatMaxGroups {}",
                    b.heartbeat_max_groups
                ),
            ));
        }
        let invalid = |e: names::NameError| fail(ResponseCode::INVALID_PARAMETER, e.to_string());
        for consumer in &data.consumer_data_set {
            names::check_group(&consumer.group_name).map_err(invalid)?;
            let subs = consumer.subscription_data_set.len();
            if subs > b.heartbeat_max_subscriptions {
                return Err(fail(
                    ResponseCode::SYSTEM_ERROR,
                    format!(
                        "group {} subscribes {subs} topics in one heartbeat, more than heartbeatMaxSubscriptions {}",
                        consumer.group_name, b.heartbeat_max_subscriptions
                    ),
                ));
            }
            for sub in &consumer.subscription_data_set {
                names::check_topic(&sub.topic).map_err(invalid)?;
            }
        }
        for producer in &data.producer_data_set {
            names::check_group(&producer.group_name).map_err(invalid)?;
        }
        Ok(())
    }

    /// Tells every member of a group that membership changed (they rebalance at once).
    pub(crate) fn notify_ids_changed(&self, group: &str) {
        if !self.settings().broker.notify_consumer_ids_changed_enable {
            return;
        }
        for conn in self.clients.consumer_connections(group) {
            let header = NotifyConsumerIdsChangedRequestHeader {
                consumer_group: group.to_owned(),
                ..Default::default()
            };
            let cmd = RemotingCommand::request_with_header(
                RequestCode::NOTIFY_CONSUMER_IDS_CHANGED,
                &header,
            );
            tokio::spawn(async move {
                let _ = conn.request_oneway(cmd).await;
            });
        }
    }

    /// CHECK_CLIENT_CONFIG: Java consumers with a SQL92 subscription ask before starting.
    fn check_client_config(&self, req: &RemotingCommand) -> Response {
        let body = match ferromq_protocol::body::CheckClientRequestBody::decode(&req.body) {
            Ok(b) => b,
            Err(e) => return fail(ResponseCode::SYSTEM_ERROR, format!("bad check body: {e}")),
        };
        match body.subscription_data {
            Some(sub) if sub.expression_type == ferromq_protocol::body::ExpressionType::Sql92 => {
                match crate::pull::sql_selector(self, &sub.sub_string) {
                    Ok(_) => ok(),
                    Err(refusal) => refusal,
                }
            }
            _ => ok(),
        }
    }

    fn unregister_client(&self, conn: &Connection, req: &RemotingCommand) -> Response {
        let h = match UnregisterClientRequestHeader::read_ext(&req.ext_fields) {
            Ok(h) => h,
            Err(e) => return bad_header(e),
        };
        if let Some(group) = h.producer_group.filter(|g| !g.is_empty()) {
            self.clients.unregister_producer(&group, conn.id());
        }
        if let Some(group) = h.consumer_group.filter(|g| !g.is_empty()) {
            if self.clients.unregister_consumer(&group, conn.id()) {
                self.notify_ids_changed(&group);
            }
        }
        ok()
    }

    fn consumer_list(&self, req: &RemotingCommand) -> Response {
        let h = match GetConsumerListByGroupRequestHeader::read_ext(&req.ext_fields) {
            Ok(h) => h,
            Err(e) => return bad_header(e),
        };
        let ids = self.clients.consumer_ids(&h.consumer_group);
        if ids.is_empty() {
            return fail(
                ResponseCode::SYSTEM_ERROR,
                format!("no consumer for this group, {}", h.consumer_group),
            );
        }
        ok().with_body(
            GetConsumerListByGroupResponseBody {
                consumer_id_list: ids,
            }
            .encode(),
        )
    }

    fn query_consumer_offset(&self, req: &RemotingCommand) -> Response {
        let h = match QueryConsumerOffsetRequestHeader::read_ext(&req.ext_fields) {
            Ok(h) => h,
            Err(e) => return bad_header(e),
        };
        if let Some(offset) = self.offsets.query(&h.consumer_group, &h.topic, h.queue_id) {
            return ok().with_header(&QueryConsumerOffsetResponseHeader { offset });
        }
        // Apache answers 0 for a group's first boot when the queue's first message is still
        // "in memory"; the whole of a live queue counts as such here.
        if h.set_zero_if_not_found != Some(false)
            && self.store.min_offset_in_queue(&h.topic, h.queue_id) <= 0
        {
            return ok().with_header(&QueryConsumerOffsetResponseHeader { offset: 0 });
        }
        fail(
            ResponseCode::QUERY_NOT_FOUND,
            "Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first",
        )
    }

    /// UPDATE_CONSUMER_OFFSET, checked as Apache 5.x checks it: the group exists (or may be
    /// created), the topic exists and the queue is one of its queues, so a client cannot grow
    /// the offset table with names of its own.
    fn update_consumer_offset(&self, req: &RemotingCommand) -> Response {
        let h = match UpdateConsumerOffsetRequestHeader::read_ext(&req.ext_fields) {
            Ok(h) => h,
            Err(e) => return bad_header(e),
        };
        if let Err(refusal) = self.group_for(&h.consumer_group) {
            return refusal;
        }
        if let Err(refusal) = self.existing_queue(&h.topic, h.queue_id) {
            return refusal;
        }
        self.offsets
            .commit(&h.consumer_group, &h.topic, h.queue_id, h.commit_offset);
        ok()
    }

    /// The config of `topic` if it exists and `queue_id` is one of its queues.
    pub(crate) fn existing_queue(
        &self,
        topic: &str,
        queue_id: i32,
    ) -> Result<TopicConfig, Response> {
        let Some(config) = self.topics.get(topic) else {
            return Err(fail(
                ResponseCode::TOPIC_NOT_EXIST,
                format!("topic[{topic}] not exist"),
            ));
        };
        if queue_id < 0 || queue_id >= config.read_queue_nums.max(config.write_queue_nums) {
            return Err(fail(
                ResponseCode::SYSTEM_ERROR,
                format!("QueueId[{queue_id}] is out of range of topic[{topic}]"),
            ));
        }
        Ok(config)
    }

    fn offset_requests(&self, code: RequestCode, req: &RemotingCommand) -> Response {
        let ext = &req.ext_fields;
        match code {
            RequestCode::GET_MAX_OFFSET => match GetMaxOffsetRequestHeader::read_ext(ext) {
                Ok(h) => ok().with_header(&GetMaxOffsetResponseHeader {
                    offset: self.store.max_offset_in_queue(&h.topic, h.queue_id),
                }),
                Err(e) => bad_header(e),
            },
            RequestCode::GET_MIN_OFFSET => match GetMinOffsetRequestHeader::read_ext(ext) {
                Ok(h) => ok().with_header(&GetMinOffsetResponseHeader {
                    offset: self.store.min_offset_in_queue(&h.topic, h.queue_id),
                }),
                Err(e) => bad_header(e),
            },
            RequestCode::SEARCH_OFFSET_BY_TIMESTAMP => {
                match SearchOffsetRequestHeader::read_ext(ext) {
                    Ok(h) => {
                        let upper = matches!(
                            h.boundary_type,
                            Some(ferromq_protocol::header::BoundaryType::Upper)
                        );
                        ok().with_header(&SearchOffsetResponseHeader {
                            offset: self.store.offset_by_time(
                                &h.topic,
                                h.queue_id,
                                h.timestamp,
                                upper,
                            ),
                        })
                    }
                    Err(e) => bad_header(e),
                }
            }
            _ => match GetEarliestMsgStoretimeRequestHeader::read_ext(ext) {
                Ok(h) => ok().with_header(&GetEarliestMsgStoretimeResponseHeader {
                    timestamp: self
                        .store
                        .earliest_message_time(&h.topic, h.queue_id)
                        .unwrap_or(0),
                }),
                Err(e) => bad_header(e),
            },
        }
    }

    async fn view_message(&self, req: &RemotingCommand) -> Response {
        let h = match ViewMessageRequestHeader::read_ext(&req.ext_fields) {
            Ok(h) => h,
            Err(e) => return bad_header(e),
        };
        match self.record_at(h.offset).await {
            Ok((record, _)) => ok().with_body(record),
            Err(reason) => fail(
                ResponseCode::SYSTEM_ERROR,
                format!("can not find message by the offset, {}: {reason}", h.offset),
            ),
        }
    }

    fn query_message(&self, req: &RemotingCommand) -> Response {
        let h = match QueryMessageRequestHeader::read_ext(&req.ext_fields) {
            Ok(h) => h,
            Err(e) => return bad_header(e),
        };
        let max = usize::try_from(h.max_num).unwrap_or(0).max(1);
        let found =
            self.store
                .query_message(&h.topic, &h.key, max, h.begin_timestamp, h.end_timestamp);
        if found.messages.is_empty() {
            return fail(
                ResponseCode::QUERY_NOT_FOUND,
                "can not find message, maybe time range not correct",
            );
        }
        let mut body = Vec::with_capacity(found.messages.iter().map(|m| m.len()).sum());
        for m in &found.messages {
            body.extend_from_slice(m);
        }
        ok().with_header(&QueryMessageResponseHeader {
            index_last_update_timestamp: found.index_last_update_timestamp,
            index_last_update_phyoffset: found.index_last_update_phyoffset,
        })
        .with_body(body)
    }

    /// UPDATE_AND_CREATE_TOPIC: a valid name that is not an internal topic, queue counts within
    /// `maxTopicQueueNums`, and permission bits Apache knows.
    async fn create_topic(&self, req: &RemotingCommand) -> Response {
        let h = match CreateTopicRequestHeader::read_ext(&req.ext_fields) {
            Ok(h) => h,
            Err(e) => return bad_header(e),
        };
        if let Err(refusal) = crate::limits::admin_topic(&h.topic) {
            return refusal;
        }
        let max = self.settings().broker.max_topic_queue_nums;
        for (what, n) in [("read", h.read_queue_nums), ("write", h.write_queue_nums)] {
            if !(0..=max).contains(&n) {
                return fail(
                    ResponseCode::INVALID_PARAMETER,
                    format!("{what}QueueNums {n} is out of range 0..={max} (maxTopicQueueNums)"),
                );
            }
        }
        if h.perm & !(perm::READ | perm::WRITE | perm::INHERIT) != 0 {
            return fail(
                ResponseCode::INVALID_PARAMETER,
                format!(
                    "perm {} is not a combination of 4 (read), 2 (write) and 1 (inherit)",
                    h.perm
                ),
            );
        }
        let mut config = TopicConfig::new(h.topic.as_str(), h.read_queue_nums, h.write_queue_nums);
        config.perm = h.perm;
        config.order = h.order;
        config.topic_sys_flag = h.topic_sys_flag.unwrap_or(0);
        self.put_topic(config).await;
        ok()
    }

    /// Answers one request.
    pub(crate) async fn process(
        &self,
        conn: &Connection,
        req: RemotingCommand,
    ) -> Option<Response> {
        let code = req.request_code();
        Some(match code {
            RequestCode::SEND_MESSAGE
            | RequestCode::SEND_MESSAGE_V2
            | RequestCode::SEND_BATCH_MESSAGE => crate::send::send_message(self, conn, &req).await,
            RequestCode::PULL_MESSAGE | RequestCode::LITE_PULL_MESSAGE => {
                crate::pull::pull_message(self, &req).await
            }
            RequestCode::CONSUMER_SEND_MSG_BACK => crate::retry::send_back(self, &req).await,
            RequestCode::HEART_BEAT => self.heartbeat(conn, &req).await,
            RequestCode::LOCK_BATCH_MQ => self.lock_batch(&req),
            RequestCode::CHECK_CLIENT_CONFIG => self.check_client_config(&req),
            RequestCode::END_TRANSACTION => crate::transaction::end_transaction(self, &req).await,
            RequestCode::UNLOCK_BATCH_MQ => self.unlock_batch(&req),
            RequestCode::UNREGISTER_CLIENT => self.unregister_client(conn, &req),
            RequestCode::GET_CONSUMER_LIST_BY_GROUP => self.consumer_list(&req),
            RequestCode::QUERY_CONSUMER_OFFSET => self.query_consumer_offset(&req),
            RequestCode::UPDATE_CONSUMER_OFFSET => self.update_consumer_offset(&req),
            RequestCode::GET_MAX_OFFSET
            | RequestCode::GET_MIN_OFFSET
            | RequestCode::SEARCH_OFFSET_BY_TIMESTAMP
            | RequestCode::GET_EARLIEST_MSG_STORETIME => self.offset_requests(code, &req),
            RequestCode::VIEW_MESSAGE_BY_ID => self.view_message(&req).await,
            RequestCode::QUERY_MESSAGE => self.query_message(&req),
            RequestCode::UPDATE_AND_CREATE_TOPIC => self.create_topic(&req).await,
            RequestCode::GET_ALL_TOPIC_CONFIG => ok().with_body(self.topic_wrapper().encode()),
            other => match self.process_admin(other, &req).await {
                Some(resp) => resp,
                None => fail(
                    ResponseCode::REQUEST_CODE_NOT_SUPPORTED,
                    format!(" request type {} not supported", other.0),
                ),
            },
        })
    }
}

/// The remoting handler: one per listener, sharing the broker.
#[derive(Debug, Clone)]
pub struct BrokerHandler(pub(crate) Arc<Broker>);

impl Handler for BrokerHandler {
    async fn handle(&self, conn: &Connection, request: RemotingCommand) -> Option<RemotingCommand> {
        self.0.process(conn, request).await
    }

    fn on_close(&self, conn: &Connection) {
        for group in self.0.clients.connection_gone(conn.id()) {
            tracing::info!(%group, peer = %conn.peer_addr(), "consumer left");
            self.0.notify_ids_changed(&group);
        }
    }
}
