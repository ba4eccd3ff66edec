//! The admin client (what `mqadmin` builds on): cluster info, topic routes, topic creation and
//! deletion on every master of a cluster, topic statistics, consumer progress, and messages by
//! key or id.

use std::sync::Arc;

use ferromq_protocol::body::{
    perm, BrokerStatsData, ClusterInfo, ConsumeStats, ConsumerConnection, HaRuntimeInfo, KVTable,
    MessageQueue, OffsetWrapper, ProducerConnection, ResetOffsetBody, TopicConfig, TopicList,
    TopicOffset, TopicRouteData, TopicStatsTable, MASTER_ID,
};
use ferromq_protocol::header::admin::{
    CloneGroupOffsetRequestHeader, CreateTopicRequestHeader, DeleteSubscriptionGroupRequestHeader,
    DeleteTopicRequestHeader, GetConsumeStatsRequestHeader, GetConsumerConnectionListRequestHeader,
    GetProducerConnectionListRequestHeader, GetSubscriptionGroupConfigRequestHeader,
    GetTopicStatsInfoRequestHeader, QueryTopicConsumeByWhoRequestHeader,
    ViewBrokerStatsDataRequestHeader,
};
use ferromq_protocol::header::client::{
    GetConsumerRunningInfoRequestHeader, ResetOffsetRequestHeader,
};
use ferromq_protocol::header::namesrv::{
    AddWritePermOfBrokerRequestHeader, AddWritePermOfBrokerResponseHeader,
    DeleteKVConfigRequestHeader, DeleteTopicFromNamesrvRequestHeader, GetKVConfigRequestHeader,
    GetKVConfigResponseHeader, PutKVConfigRequestHeader, WipeWritePermOfBrokerRequestHeader,
    WipeWritePermOfBrokerResponseHeader,
};
use ferromq_protocol::header::offset::{
    SearchOffsetRequestHeader, SearchOffsetResponseHeader, UpdateConsumerOffsetRequestHeader,
};
use ferromq_protocol::header::pull::{
    pull_sys_flag, PullMessageRequestHeader, PullMessageResponseHeader,
};
use ferromq_protocol::header::query::{QueryMessageRequestHeader, ViewMessageRequestHeader};
use ferromq_protocol::header::TopicFilterType;
use ferromq_protocol::message::MessageId;
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use std::collections::{BTreeMap, BTreeSet};

use crate::client::{Client, ClientConfig};
use crate::error::{Error, ErrorKind, Result};
use crate::message::MessageView;

/// The cluster topics are created on when a binding's user names none (the broker's default
/// `brokerClusterName`).
pub const DEFAULT_CLUSTER: &str = "DefaultCluster";

/// How to create a topic.
#[derive(Debug, Clone)]
pub struct TopicOptions {
    /// Read and write queues per broker (8).
    pub queue_nums: i32,
    /// Permissions (read + write).
    pub perm: i32,
    /// Ordered topic flag.
    pub order: bool,
}

impl Default for TopicOptions {
    fn default() -> Self {
        TopicOptions {
            queue_nums: 8,
            perm: perm::READ_WRITE,
            order: false,
        }
    }
}

/// A subscription group's settings (Apache's `SubscriptionGroupConfig`), as
/// [`Admin::create_subscription_group_at`] sends them. The defaults are Apache's.
#[derive(Debug, Clone)]
pub struct SubscriptionGroup {
    /// Group name.
    pub group_name: String,
    /// The group may consume (true).
    pub consume_enable: bool,
    /// A new group starts from the queues' minimum offsets (true).
    pub consume_from_min_enable: bool,
    /// Broadcast consumption allowed (true).
    pub consume_broadcast_enable: bool,
    /// Orderly consumption (false).
    pub consume_message_orderly: bool,
    /// Retry queues (1).
    pub retry_queue_nums: i32,
    /// Deliveries before the dead-letter queue (16).
    pub retry_max_times: i32,
    /// The broker id consumers pull from (0, the master).
    pub broker_id: i64,
    /// The broker id to pull from when consumption is slow (1).
    pub which_broker_when_consume_slowly: i64,
    /// Tell consumers when the group's membership changes (true).
    pub notify_consumer_ids_changed_enable: bool,
    /// Attributes, `+key` to value (`-key` to remove).
    pub attributes: BTreeMap<String, String>,
}

impl SubscriptionGroup {
    /// Apache's defaults for `group_name`.
    pub fn new(group_name: &str) -> Self {
        SubscriptionGroup {
            group_name: group_name.to_owned(),
            consume_enable: true,
            consume_from_min_enable: true,
            consume_broadcast_enable: true,
            consume_message_orderly: false,
            retry_queue_nums: 1,
            retry_max_times: 16,
            broker_id: MASTER_ID,
            which_broker_when_consume_slowly: 1,
            notify_consumer_ids_changed_enable: true,
            attributes: BTreeMap::new(),
        }
    }

    /// The JSON body, properties in fastjson's alphabetical order.
    fn to_json(&self) -> String {
        use ferromq_protocol::json::write_str;
        let mut out = String::from("{\"attributes\":{");
        for (i, (k, v)) in self.attributes.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_str(k, false, &mut out);
            out.push(':');
            write_str(v, false, &mut out);
        }
        out.push_str(&format!(
            "}},\"brokerId\":{},\"consumeBroadcastEnable\":{},\"consumeEnable\":{},\"consumeFromMinEnable\":{},\"consumeMessageOrderly\":{},\"groupName\":",
            self.broker_id,
            self.consume_broadcast_enable,
            self.consume_enable,
            self.consume_from_min_enable,
            self.consume_message_orderly,
        ));
        write_str(&self.group_name, false, &mut out);
        out.push_str(&format!(
            ",\"notifyConsumerIdsChangedEnable\":{},\"retryMaxTimes\":{},\"retryQueueNums\":{},\"whichBrokerWhenConsumeSlowly\":{}}}",
            self.notify_consumer_ids_changed_enable,
            self.retry_max_times,
            self.retry_queue_nums,
            self.which_broker_when_consume_slowly,
        ));
        out
    }
}

/// How a pull ended (Apache's `PullStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullStatus {
    /// Messages were found (some may have been filtered out).
    Found,
    /// Nothing at or after the offset yet.
    NoNewMsg,
    /// Messages were there, none matched the expression.
    NoMatchedMsg,
    /// The offset is outside the queue.
    OffsetIllegal,
}

/// What [`Admin::pull_at`] got.
#[derive(Debug)]
pub struct PullAnswer {
    /// How the pull ended.
    pub status: PullStatus,
    /// The offset to pull from next.
    pub next_begin_offset: i64,
    /// The queue's minimum offset.
    pub min_offset: i64,
    /// The queue's maximum offset (exclusive).
    pub max_offset: i64,
    /// The messages, in queue order.
    pub messages: Vec<MessageView>,
}

/// Admin operations over the shared [`Client`].
#[derive(Debug)]
pub struct Admin {
    client: Client,
    closed: std::sync::atomic::AtomicBool,
}

impl Admin {
    /// An admin client (inside a tokio runtime).
    pub fn new(config: &ClientConfig) -> Result<Admin> {
        Ok(Admin {
            client: Client::shared(config)?,
            closed: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// The cluster table of the name servers.
    pub async fn cluster_info(&self) -> Result<ClusterInfo> {
        let request = RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_INFO);
        let response = self.client.namesrv_request(request).await?;
        if response.response_code() != ResponseCode::SUCCESS {
            return Err(Error::from_response("cluster info", &response));
        }
        ClusterInfo::decode(&response.body).map_err(|e| Error::protocol("cluster info", e))
    }

    /// A topic's route, fresh from the name servers.
    pub async fn topic_route(&self, topic: &str) -> Result<Arc<TopicRouteData>> {
        self.client.fetch_route(topic).await
    }

    /// Creates (or updates) `topic` on every master of `cluster` with UPDATE_AND_CREATE_TOPIC.
    pub async fn create_topic(
        &self,
        cluster: &str,
        topic: &str,
        options: &TopicOptions,
    ) -> Result<()> {
        let masters = self.masters("create topic", cluster).await?;
        if masters.is_empty() {
            return Err(Error::invalid(
                "create topic",
                format!("cluster {cluster} has no master"),
            ));
        }
        for (_, addr) in masters {
            let header = CreateTopicRequestHeader {
                topic: topic.to_owned(),
                default_topic: crate::producer::AUTO_CREATE_TOPIC.to_owned(),
                read_queue_nums: options.queue_nums,
                write_queue_nums: options.queue_nums,
                perm: options.perm,
                topic_filter_type: TopicFilterType::SingleTag,
                topic_sys_flag: Some(0),
                order: options.order,
                attributes: None,
                force: None,
                broker_name: None,
            };
            let request =
                RemotingCommand::request_with_header(RequestCode::UPDATE_AND_CREATE_TOPIC, &header);
            self.broker_call("create topic", &addr, request).await?;
        }
        Ok(())
    }

    /// The masters of `cluster`, by broker name.
    async fn masters(&self, op: &'static str, cluster: &str) -> Result<Vec<(String, String)>> {
        let info = self.cluster_info().await?;
        let brokers = info
            .cluster_addr_table
            .get(cluster)
            .ok_or_else(|| Error::invalid(op, format!("no cluster {cluster}")))?;
        Ok(brokers
            .iter()
            .filter_map(|name| {
                info.broker_addr_table
                    .get(name)
                    .and_then(|b| b.broker_addrs.get(&MASTER_ID))
                    .map(|addr| (name.clone(), addr.clone()))
            })
            .collect())
    }

    async fn broker_call(
        &self,
        op: &'static str,
        addr: &str,
        request: RemotingCommand,
    ) -> Result<RemotingCommand> {
        let response = self
            .client
            .broker_request(addr, request, self.client.timeout())
            .await?;
        if response.response_code() != ResponseCode::SUCCESS {
            return Err(Error::from_response(op, &response));
        }
        Ok(response)
    }

    /// Deletes `topic` from every master of `cluster` and from the name servers.
    pub async fn delete_topic(&self, cluster: &str, topic: &str) -> Result<()> {
        for (_, addr) in self.masters("delete topic", cluster).await? {
            let header = DeleteTopicRequestHeader {
                topic: topic.to_owned(),
                broker_name: None,
            };
            let request =
                RemotingCommand::request_with_header(RequestCode::DELETE_TOPIC_IN_BROKER, &header);
            self.broker_call("delete topic", &addr, request).await?;
        }
        let header = DeleteTopicFromNamesrvRequestHeader {
            topic: topic.to_owned(),
            cluster_name: Some(cluster.to_owned()),
        };
        let request =
            RemotingCommand::request_with_header(RequestCode::DELETE_TOPIC_IN_NAMESRV, &header);
        let response = self.client.namesrv_request(request).await?;
        if response.response_code() != ResponseCode::SUCCESS {
            return Err(Error::from_response("delete topic", &response));
        }
        Ok(())
    }

    /// A broker's runtime figures (GET_BROKER_RUNTIME_INFO): `putTps`, `commitLogMaxOffset`,
    /// `brokerVersionDesc`, ... as the broker names them.
    pub async fn broker_runtime_info(&self, broker_addr: &str) -> Result<BTreeMap<String, String>> {
        let request = RemotingCommand::request(RequestCode::GET_BROKER_RUNTIME_INFO);
        let response = self
            .broker_call("broker runtime info", broker_addr, request)
            .await?;
        let table = KVTable::decode(&response.body)
            .map_err(|e| Error::protocol("broker runtime info", e))?;
        Ok(table.table.into_iter().collect())
    }

    /// A broker's replication state (GET_BROKER_HA_STATUS, what `mqadmin haStatus` prints): a
    /// master's slaves with their lag, or a slave's link to its master.
    pub async fn broker_ha_status(&self, broker_addr: &str) -> Result<HaRuntimeInfo> {
        let request = RemotingCommand::request(RequestCode::GET_BROKER_HA_STATUS);
        let response = self
            .broker_call("broker HA status", broker_addr, request)
            .await?;
        HaRuntimeInfo::decode(&response.body).map_err(|e| Error::protocol("broker HA status", e))
    }

    /// Min / max offsets of every queue of `topic`, from each broker of its route.
    pub async fn topic_stats(&self, topic: &str) -> Result<BTreeMap<MessageQueue, TopicOffset>> {
        let route = self.client.fetch_route(topic).await?;
        let mut out = BTreeMap::new();
        for b in &route.broker_datas {
            let Some(addr) = b.master_addr() else {
                continue;
            };
            let header = GetTopicStatsInfoRequestHeader {
                topic: topic.to_owned(),
                broker_name: None,
            };
            let request =
                RemotingCommand::request_with_header(RequestCode::GET_TOPIC_STATS_INFO, &header);
            let response = self.broker_call("topic stats", addr, request).await?;
            let table = TopicStatsTable::decode(&response.body)
                .map_err(|e| Error::protocol("topic stats", e))?;
            out.extend(table.offset_table);
        }
        Ok(out)
    }

    /// A consumer group's progress on `topic` (broker and consumer offsets per queue).
    pub async fn consumer_progress(
        &self,
        group: &str,
        topic: &str,
    ) -> Result<BTreeMap<MessageQueue, OffsetWrapper>> {
        let route = self.client.fetch_route(topic).await?;
        let mut out = BTreeMap::new();
        for b in &route.broker_datas {
            let Some(addr) = b.master_addr() else {
                continue;
            };
            let header = GetConsumeStatsRequestHeader {
                consumer_group: group.to_owned(),
                topic: Some(topic.to_owned()),
                topic_list: None,
                broker_name: None,
            };
            let request =
                RemotingCommand::request_with_header(RequestCode::GET_CONSUME_STATS, &header);
            let response = self.broker_call("consumer progress", addr, request).await?;
            let stats = ConsumeStats::decode(&response.body)
                .map_err(|e| Error::protocol("consumer progress", e))?;
            out.extend(stats.offset_table);
        }
        Ok(out)
    }

    /// Messages of `topic` whose keys include `key`, from every broker's index (at most
    /// `max` per broker).
    pub async fn query_by_key(&self, topic: &str, key: &str, max: i32) -> Result<Vec<MessageView>> {
        let route = self.client.fetch_route(topic).await?;
        let mut out = Vec::new();
        for b in &route.broker_datas {
            let Some(addr) = b.master_addr() else {
                continue;
            };
            let header = QueryMessageRequestHeader {
                topic: topic.to_owned(),
                key: key.to_owned(),
                max_num: max,
                begin_timestamp: 0,
                end_timestamp: i64::MAX,
                unique_key_query: None,
                broker_name: None,
            };
            let request = RemotingCommand::request_with_header(RequestCode::QUERY_MESSAGE, &header);
            let response = self
                .client
                .broker_request(addr, request, self.client.timeout())
                .await?;
            match response.response_code() {
                ResponseCode::SUCCESS => {
                    for m in Client::decode_messages(&response.body)? {
                        if m.properties.keys().any(|k| k == key) {
                            out.push(MessageView::new(m, &b.broker_name, None));
                        }
                    }
                }
                ResponseCode::QUERY_NOT_FOUND => {}
                _ => return Err(Error::from_response("query message", &response)),
            }
        }
        Ok(out)
    }

    /// Messages of `topic` stored between `begin` and `end` (ms) whose keys include `key`, or
    /// with `unique`, whose UNIQ_KEY (client message id) is `key`: QUERY_MESSAGE 12 on every
    /// master of the topic's route, at most `max` per broker (`mqadmin queryMsgByKey`,
    /// `queryMsgByUniqueKey`). With `cluster`, only that cluster's brokers are asked; for an
    /// LMQ topic (`%LMQ%…`) or `rmq_sys_wheel_timer`, which have no route of their own, the
    /// route of the topic named `cluster` (the cluster, or an LMQ parent topic) is used instead,
    /// and its index is asked under that name. TopicNotFound when no broker is left to ask.
    pub async fn query_messages(
        &self,
        topic: &str,
        key: &str,
        max: i32,
        (begin, end): (i64, i64),
        unique: bool,
        cluster: Option<&str>,
    ) -> Result<Vec<MessageView>> {
        let cluster = cluster.filter(|c| !c.is_empty());
        let lmq = topic.starts_with("%LMQ%");
        let route_topic = match cluster {
            Some(c) if lmq || topic == "rmq_sys_wheel_timer" => c,
            _ => topic,
        };
        let route = self.client.fetch_route(route_topic).await?;
        let mut out = Vec::new();
        let mut asked = 0;
        for b in &route.broker_datas {
            let Some(addr) = b.master_addr() else {
                continue;
            };
            if !lmq && cluster.is_some_and(|c| c != b.cluster) {
                continue;
            }
            asked += 1;
            // An LMQ's index is asked under its parent topic, as Apache does.
            let header = QueryMessageRequestHeader {
                topic: if lmq { route_topic } else { topic }.to_owned(),
                key: key.to_owned(),
                max_num: max,
                begin_timestamp: begin,
                end_timestamp: end,
                unique_key_query: unique.then_some(true),
                broker_name: None,
            };
            let request = RemotingCommand::request_with_header(RequestCode::QUERY_MESSAGE, &header);
            let response = self
                .client
                .broker_request(addr, request, self.client.timeout())
                .await?;
            match response.response_code() {
                ResponseCode::SUCCESS => {
                    for m in Client::decode_messages(&response.body)? {
                        // The index is hashed: keep only real matches.
                        let matches = if unique {
                            m.properties.uniq_key() == Some(key)
                        } else {
                            m.properties.keys().any(|k| k == key)
                        };
                        if matches && (lmq || unique || m.topic == topic) {
                            out.push(MessageView::new(m, &b.broker_name, None));
                        }
                    }
                }
                ResponseCode::QUERY_NOT_FOUND => {}
                _ => return Err(Error::from_response("query message", &response)),
            }
        }
        if asked == 0 {
            return Err(Error::new(
                ErrorKind::TopicNotFound,
                "query message",
                format!("The topic[{topic}] not matched route info"),
            ));
        }
        Ok(out)
    }

    /// The message with a broker offsetMsgId (store address + commitlog offset).
    pub async fn view_by_offset_id(&self, offset_msg_id: &str) -> Result<MessageView> {
        let id = MessageId::parse(offset_msg_id)
            .map_err(|e| Error::invalid("view message", e.to_string()))?;
        let addr = id.address.to_string();
        let header = ViewMessageRequestHeader {
            topic: None,
            offset: id.offset,
            broker_name: None,
        };
        let request =
            RemotingCommand::request_with_header(RequestCode::VIEW_MESSAGE_BY_ID, &header);
        let response = self.broker_call("view message", &addr, request).await?;
        let message = Client::decode_messages(&response.body)?
            .pop()
            .ok_or_else(|| Error::new(ErrorKind::Protocol, "view message", "empty answer"))?;
        let broker = self.client.broker_name_of(&addr).unwrap_or_default();
        Ok(MessageView::new(message, &broker, None))
    }

    /// A broker's settings (GET_BROKER_CONFIG 26, `mqadmin getBrokerConfig`), in the order the
    /// broker lists them; secrets are never sent.
    pub async fn broker_config(&self, broker_addr: &str) -> Result<Vec<(String, String)>> {
        let request = RemotingCommand::request(RequestCode::GET_BROKER_CONFIG);
        let response = self
            .broker_call("broker config", broker_addr, request)
            .await?;
        let text = std::str::from_utf8(&response.body).map_err(|_| {
            Error::new(
                ErrorKind::Protocol,
                "broker config",
                "the config is not UTF-8",
            )
        })?;
        Ok(ferromq_common::java_properties::parse(text))
    }

    /// Changes one setting of a broker at run time (UPDATE_BROKER_CONFIG 25,
    /// `mqadmin updateBrokerConfig`). The broker refuses keys that are unsafe to change live.
    pub async fn update_broker_config(
        &self,
        broker_addr: &str,
        key: &str,
        value: &str,
    ) -> Result<()> {
        let body = ferromq_common::java_properties::to_string([(key, value)]);
        let request = RemotingCommand::request(RequestCode::UPDATE_BROKER_CONFIG)
            .with_body(body.into_bytes());
        self.broker_call("update broker config", broker_addr, request)
            .await?;
        Ok(())
    }

    /// Every topic the name servers know (GET_ALL_TOPIC_LIST_FROM_NAMESERVER 206,
    /// `mqadmin topicList`).
    pub async fn topic_list(&self) -> Result<BTreeSet<String>> {
        let request = RemotingCommand::request(RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER);
        let response = self.client.namesrv_request(request).await?;
        if response.response_code() != ResponseCode::SUCCESS {
            return Err(Error::from_response("topic list", &response));
        }
        let list =
            TopicList::decode(&response.body).map_err(|e| Error::protocol("topic list", e))?;
        Ok(list.topic_list)
    }

    /// The consumer groups with offsets on `topic` at one broker (QUERY_TOPIC_CONSUME_BY_WHO
    /// 300; Apache's `GroupList`).
    pub async fn topic_consumer_groups(
        &self,
        broker_addr: &str,
        topic: &str,
    ) -> Result<BTreeSet<String>> {
        let header = QueryTopicConsumeByWhoRequestHeader {
            topic: topic.to_owned(),
            broker_name: None,
        };
        let request =
            RemotingCommand::request_with_header(RequestCode::QUERY_TOPIC_CONSUME_BY_WHO, &header);
        let response = self
            .broker_call("topic consumers", broker_addr, request)
            .await?;
        let value = ferromq_protocol::json::parse(&response.body)
            .map_err(|e| Error::protocol("topic consumers", e))?;
        Ok(value
            .get("groupList")
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
            .filter_map(|g| g.as_str().map(str::to_owned))
            .collect())
    }

    /// One broker's statistics of `topic` (GET_TOPIC_STATS_INFO 202, what `mqadmin topicStatus`
    /// prints): min / max offset and last store time per queue, and the put TPS.
    pub async fn topic_stats_at(&self, broker_addr: &str, topic: &str) -> Result<TopicStatsTable> {
        let header = GetTopicStatsInfoRequestHeader {
            topic: topic.to_owned(),
            broker_name: None,
        };
        let request =
            RemotingCommand::request_with_header(RequestCode::GET_TOPIC_STATS_INFO, &header);
        let response = self
            .broker_call("topic stats", broker_addr, request)
            .await?;
        TopicStatsTable::decode(&response.body).map_err(|e| Error::protocol("topic stats", e))
    }

    /// Creates or updates `config` on one broker (UPDATE_AND_CREATE_TOPIC 17, `mqadmin
    /// updateTopic -b`); read and write queue counts may differ.
    pub async fn create_topic_at(&self, broker_addr: &str, config: &TopicConfig) -> Result<()> {
        let attributes = (!config.attributes.is_empty()).then(|| {
            config
                .attributes
                .iter()
                .map(|(k, v)| {
                    if v.is_empty() {
                        k.clone()
                    } else {
                        format!("{k}={v}")
                    }
                })
                .collect::<Vec<_>>()
                .join(",")
        });
        let header = CreateTopicRequestHeader {
            topic: config.topic_name.clone(),
            default_topic: crate::producer::AUTO_CREATE_TOPIC.to_owned(),
            read_queue_nums: config.read_queue_nums,
            write_queue_nums: config.write_queue_nums,
            perm: config.perm,
            topic_filter_type: match config.topic_filter_type {
                ferromq_protocol::body::TopicFilterType::MultiTag => TopicFilterType::MultiTag,
                _ => TopicFilterType::SingleTag,
            },
            topic_sys_flag: Some(config.topic_sys_flag),
            order: config.order,
            attributes,
            force: None,
            broker_name: None,
        };
        let request =
            RemotingCommand::request_with_header(RequestCode::UPDATE_AND_CREATE_TOPIC, &header);
        self.broker_call("create topic", broker_addr, request)
            .await?;
        Ok(())
    }

    /// Deletes `topic` from one broker only (DELETE_TOPIC_IN_BROKER 215).
    pub async fn delete_topic_at(&self, broker_addr: &str, topic: &str) -> Result<()> {
        let header = DeleteTopicRequestHeader {
            topic: topic.to_owned(),
            broker_name: None,
        };
        let request =
            RemotingCommand::request_with_header(RequestCode::DELETE_TOPIC_IN_BROKER, &header);
        self.broker_call("delete topic", broker_addr, request)
            .await?;
        Ok(())
    }

    /// Deletes `topic`'s route from every name server (DELETE_TOPIC_IN_NAMESRV 216), for one
    /// cluster or, with `None`, all.
    pub async fn delete_topic_in_namesrv(&self, topic: &str, cluster: Option<&str>) -> Result<()> {
        let header = DeleteTopicFromNamesrvRequestHeader {
            topic: topic.to_owned(),
            cluster_name: cluster.map(str::to_owned),
        };
        let request =
            RemotingCommand::request_with_header(RequestCode::DELETE_TOPIC_IN_NAMESRV, &header);
        self.namesrv_call("delete topic", request).await?;
        Ok(())
    }

    /// Stores `key = value` in a name server KV namespace (PUT_KV_CONFIG 100, `mqadmin
    /// updateKvConfig`; `ORDER_TOPIC_CONFIG` holds order topics' `brokerName:queues` lists).
    pub async fn put_kv_config(&self, namespace: &str, key: &str, value: &str) -> Result<()> {
        let header = PutKVConfigRequestHeader {
            namespace: namespace.to_owned(),
            key: key.to_owned(),
            value: value.to_owned(),
        };
        let request = RemotingCommand::request_with_header(RequestCode::PUT_KV_CONFIG, &header);
        self.namesrv_call("put KV config", request).await?;
        Ok(())
    }

    /// The value of a name server KV item (GET_KV_CONFIG 101); `None` when absent
    /// (QUERY_NOT_FOUND).
    pub async fn kv_config(&self, namespace: &str, key: &str) -> Result<Option<String>> {
        let header = GetKVConfigRequestHeader {
            namespace: namespace.to_owned(),
            key: key.to_owned(),
        };
        let request = RemotingCommand::request_with_header(RequestCode::GET_KV_CONFIG, &header);
        let response = self.client.namesrv_request(request).await?;
        match response.response_code() {
            ResponseCode::SUCCESS => {
                use ferromq_protocol::ext::CommandHeader as _;
                let header = GetKVConfigResponseHeader::read_ext(&response.ext_fields)
                    .map_err(|e| Error::protocol("get KV config", e))?;
                Ok(header.value)
            }
            ResponseCode::QUERY_NOT_FOUND => Ok(None),
            _ => Err(Error::from_response("get KV config", &response)),
        }
    }

    /// Removes a name server KV item (DELETE_KV_CONFIG 102, `mqadmin deleteKvConfig`).
    pub async fn delete_kv_config(&self, namespace: &str, key: &str) -> Result<()> {
        let header = DeleteKVConfigRequestHeader {
            namespace: namespace.to_owned(),
            key: key.to_owned(),
        };
        let request = RemotingCommand::request_with_header(RequestCode::DELETE_KV_CONFIG, &header);
        self.namesrv_call("delete KV config", request).await?;
        Ok(())
    }

    /// The name server's settings (GET_NAMESRV_CONFIG 319, `mqadmin getNamesrvConfig`), from
    /// the first name server that answers (one [`Admin`] per address reaches each).
    pub async fn namesrv_config(&self) -> Result<Vec<(String, String)>> {
        let request = RemotingCommand::request(RequestCode::GET_NAMESRV_CONFIG);
        let response = self.namesrv_call("name server config", request).await?;
        let text = std::str::from_utf8(&response.body).map_err(|_| {
            Error::new(
                ErrorKind::Protocol,
                "name server config",
                "the config is not UTF-8",
            )
        })?;
        Ok(ferromq_common::java_properties::parse(text))
    }

    /// Changes one name server setting at run time (UPDATE_NAMESRV_CONFIG 318, `mqadmin
    /// updateNamesrvConfig`), on the first name server that answers.
    pub async fn update_namesrv_config(&self, key: &str, value: &str) -> Result<()> {
        let body = ferromq_common::java_properties::to_string([(key, value)]);
        let request = RemotingCommand::request(RequestCode::UPDATE_NAMESRV_CONFIG)
            .with_body(body.into_bytes());
        self.namesrv_call("update name server config", request)
            .await?;
        Ok(())
    }

    /// Removes write permission from every topic of `broker_name` in the name server's routes
    /// (WIPE_WRITE_PERM_OF_BROKER 205, `mqadmin wipeWritePerm`); the number of topics changed.
    pub async fn wipe_write_perm(&self, broker_name: &str) -> Result<i32> {
        let header = WipeWritePermOfBrokerRequestHeader {
            broker_name: broker_name.to_owned(),
        };
        let request =
            RemotingCommand::request_with_header(RequestCode::WIPE_WRITE_PERM_OF_BROKER, &header);
        let response = self.namesrv_call("wipe write perm", request).await?;
        use ferromq_protocol::ext::CommandHeader as _;
        WipeWritePermOfBrokerResponseHeader::read_ext(&response.ext_fields)
            .map(|h| h.wipe_topic_count)
            .map_err(|e| Error::protocol("wipe write perm", e))
    }

    /// Gives write permission back to every topic of `broker_name` (ADD_WRITE_PERM_OF_BROKER
    /// 327, `mqadmin addWritePerm`); the number of topics changed.
    pub async fn add_write_perm(&self, broker_name: &str) -> Result<i32> {
        let header = AddWritePermOfBrokerRequestHeader {
            broker_name: broker_name.to_owned(),
        };
        let request =
            RemotingCommand::request_with_header(RequestCode::ADD_WRITE_PERM_OF_BROKER, &header);
        let response = self.namesrv_call("add write perm", request).await?;
        use ferromq_protocol::ext::CommandHeader as _;
        AddWritePermOfBrokerResponseHeader::read_ext(&response.ext_fields)
            .map(|h| h.add_topic_count)
            .map_err(|e| Error::protocol("add write perm", e))
    }

    async fn namesrv_call(
        &self,
        op: &'static str,
        request: RemotingCommand,
    ) -> Result<RemotingCommand> {
        let response = self.client.namesrv_request(request).await?;
        if response.response_code() != ResponseCode::SUCCESS {
            return Err(Error::from_response(op, &response));
        }
        Ok(response)
    }

    /// Creates or updates a subscription group on one broker
    /// (UPDATE_AND_CREATE_SUBSCRIPTIONGROUP 200, `mqadmin updateSubGroup`).
    pub async fn create_subscription_group_at(
        &self,
        broker_addr: &str,
        group: &SubscriptionGroup,
    ) -> Result<()> {
        let request = RemotingCommand::request(RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP)
            .with_body(group.to_json().into_bytes());
        self.broker_call("create subscription group", broker_addr, request)
            .await?;
        Ok(())
    }

    /// One subscription group's settings on a broker, as the broker's JSON
    /// (GET_SUBSCRIPTIONGROUP_CONFIG 352; SUBSCRIPTION_GROUP_NOT_EXIST when absent).
    pub async fn subscription_group_at(
        &self,
        broker_addr: &str,
        group: &str,
    ) -> Result<ferromq_protocol::json::Value> {
        let header = GetSubscriptionGroupConfigRequestHeader {
            group: group.to_owned(),
        };
        let request = RemotingCommand::request_with_header(
            RequestCode::GET_SUBSCRIPTIONGROUP_CONFIG,
            &header,
        );
        let response = self
            .broker_call("subscription group", broker_addr, request)
            .await?;
        ferromq_protocol::json::parse(&response.body)
            .map_err(|e| Error::protocol("subscription group", e))
    }

    /// Deletes a subscription group from one broker, and its offsets with `clean_offset`
    /// (DELETE_SUBSCRIPTIONGROUP 207, `mqadmin deleteSubGroup`).
    pub async fn delete_subscription_group_at(
        &self,
        broker_addr: &str,
        group: &str,
        clean_offset: bool,
    ) -> Result<()> {
        let header = DeleteSubscriptionGroupRequestHeader {
            group_name: group.to_owned(),
            clean_offset: Some(clean_offset),
            broker_name: None,
        };
        let request =
            RemotingCommand::request_with_header(RequestCode::DELETE_SUBSCRIPTIONGROUP, &header);
        self.broker_call("delete subscription group", broker_addr, request)
            .await?;
        Ok(())
    }

    /// A group's progress at one broker (GET_CONSUME_STATS 208, `mqadmin consumerProgress`):
    /// per queue the broker's and the group's offsets and the last consumed store time, on
    /// `topic` or on every topic the group has offsets of.
    pub async fn consume_stats_at(
        &self,
        broker_addr: &str,
        group: &str,
        topic: Option<&str>,
    ) -> Result<ConsumeStats> {
        let header = GetConsumeStatsRequestHeader {
            consumer_group: group.to_owned(),
            topic: topic.map(str::to_owned),
            topic_list: None,
            broker_name: None,
        };
        let request = RemotingCommand::request_with_header(RequestCode::GET_CONSUME_STATS, &header);
        let response = self
            .broker_call("consume stats", broker_addr, request)
            .await?;
        ConsumeStats::decode(&response.body).map_err(|e| Error::protocol("consume stats", e))
    }

    /// The consumers of a group connected to one broker, with their subscriptions
    /// (GET_CONSUMER_CONNECTION_LIST 203, `mqadmin consumerConnection`; CONSUMER_NOT_ONLINE when
    /// none is).
    pub async fn consumer_connection_at(
        &self,
        broker_addr: &str,
        group: &str,
    ) -> Result<ConsumerConnection> {
        let header = GetConsumerConnectionListRequestHeader {
            consumer_group: group.to_owned(),
            broker_name: None,
        };
        let request = RemotingCommand::request_with_header(
            RequestCode::GET_CONSUMER_CONNECTION_LIST,
            &header,
        );
        let response = self
            .broker_call("consumer connection", broker_addr, request)
            .await?;
        ConsumerConnection::decode(&response.body)
            .map_err(|e| Error::protocol("consumer connection", e))
    }

    /// The producers of a group connected to one broker (GET_PRODUCER_CONNECTION_LIST 204,
    /// `mqadmin producerConnection`).
    pub async fn producer_connection_at(
        &self,
        broker_addr: &str,
        group: &str,
    ) -> Result<ProducerConnection> {
        let header = GetProducerConnectionListRequestHeader {
            producer_group: group.to_owned(),
            broker_name: None,
        };
        let request = RemotingCommand::request_with_header(
            RequestCode::GET_PRODUCER_CONNECTION_LIST,
            &header,
        );
        let response = self
            .broker_call("producer connection", broker_addr, request)
            .await?;
        ProducerConnection::decode(&response.body)
            .map_err(|e| Error::protocol("producer connection", e))
    }

    /// Copies `src_group`'s offsets on `topic` to `dest_group` at one broker
    /// (CLONE_GROUP_OFFSET 314, `mqadmin cloneGroupOffset`); with `offline`, even when the
    /// source group's online consumers do not subscribe to the topic.
    pub async fn clone_group_offset_at(
        &self,
        broker_addr: &str,
        src_group: &str,
        dest_group: &str,
        topic: &str,
        offline: bool,
    ) -> Result<()> {
        let header = CloneGroupOffsetRequestHeader {
            src_group: src_group.to_owned(),
            dest_group: dest_group.to_owned(),
            topic: Some(topic.to_owned()),
            offline: Some(offline),
        };
        let request =
            RemotingCommand::request_with_header(RequestCode::CLONE_GROUP_OFFSET, &header);
        self.broker_call("clone group offset", broker_addr, request)
            .await?;
        Ok(())
    }

    /// Moves a group's offsets on `topic` at one broker to the first message stored at or
    /// after `timestamp` (ms; -1: the end) and tells its online consumers
    /// (INVOKE_BROKER_TO_RESET_OFFSET 222, `mqadmin resetOffsetByTime`). Without `force` an
    /// offset only moves back. The new offset of each queue; CONSUMER_NOT_ONLINE when no
    /// consumer of the group is connected.
    pub async fn reset_offset_by_time_at(
        &self,
        broker_addr: &str,
        group: &str,
        topic: &str,
        timestamp: i64,
        force: bool,
    ) -> Result<BTreeMap<MessageQueue, i64>> {
        let header = ResetOffsetRequestHeader {
            topic: topic.to_owned(),
            group: group.to_owned(),
            queue_id: None,
            offset: None,
            timestamp,
            is_force: force,
            broker_name: None,
        };
        self.invoke_reset_at(broker_addr, &header).await
    }

    /// Resets `group`'s offset on one queue of `topic` at `broker_addr` to `offset`
    /// (INVOKE_BROKER_TO_RESET_OFFSET with `queueId`, Apache's `resetOffsetByQueueId`): the
    /// broker commits it and tells the group's online consumers.
    pub async fn reset_queue_offset_at(
        &self,
        broker_addr: &str,
        group: &str,
        topic: &str,
        queue_id: i32,
        offset: i64,
    ) -> Result<BTreeMap<MessageQueue, i64>> {
        let header = ResetOffsetRequestHeader {
            topic: topic.to_owned(),
            group: group.to_owned(),
            queue_id: Some(queue_id),
            offset: Some(offset),
            timestamp: 0,
            is_force: false,
            broker_name: None,
        };
        self.invoke_reset_at(broker_addr, &header).await
    }

    async fn invoke_reset_at(
        &self,
        broker_addr: &str,
        header: &ResetOffsetRequestHeader,
    ) -> Result<BTreeMap<MessageQueue, i64>> {
        let request = RemotingCommand::request_with_header(
            RequestCode::INVOKE_BROKER_TO_RESET_OFFSET,
            header,
        );
        let response = self
            .broker_call("reset offset", broker_addr, request)
            .await?;
        ResetOffsetBody::decode(&response.body)
            .map(|b| b.offset_table)
            .map_err(|e| Error::protocol("reset offset", e))
    }

    /// One broker statistic of one key over the last minute, hour and day
    /// (VIEW_BROKER_STATS_DATA 315, `mqadmin statsAll`): `TOPIC_PUT_NUMS` / `TOPIC_PUT_SIZE`
    /// keyed by topic, `GROUP_GET_NUMS` / `GROUP_GET_SIZE` by `topic@group`.
    pub async fn broker_stats_at(
        &self,
        broker_addr: &str,
        stats_name: &str,
        stats_key: &str,
    ) -> Result<BrokerStatsData> {
        let header = ViewBrokerStatsDataRequestHeader {
            stats_name: stats_name.to_owned(),
            stats_key: stats_key.to_owned(),
        };
        let request =
            RemotingCommand::request_with_header(RequestCode::VIEW_BROKER_STATS_DATA, &header);
        let response = self
            .broker_call("broker stats", broker_addr, request)
            .await?;
        BrokerStatsData::decode(&response.body).map_err(|e| Error::protocol("broker stats", e))
    }

    /// A consumer's running state, relayed by the broker it is connected to
    /// (GET_CONSUMER_RUNNING_INFO 307, `mqadmin consumerStatus`): Apache's
    /// `ConsumerRunningInfo` JSON (`properties`, `subscriptionSet`, `mqTable`, `statusTable`).
    pub async fn consumer_running_info_at(
        &self,
        broker_addr: &str,
        group: &str,
        client_id: &str,
        jstack: bool,
    ) -> Result<ferromq_protocol::json::Value> {
        let header = GetConsumerRunningInfoRequestHeader {
            consumer_group: group.to_owned(),
            client_id: client_id.to_owned(),
            jstack_enable: Some(jstack),
            broker_name: None,
        };
        let request =
            RemotingCommand::request_with_header(RequestCode::GET_CONSUMER_RUNNING_INFO, &header);
        let response = self
            .broker_call("consumer running info", broker_addr, request)
            .await?;
        ferromq_protocol::json::parse(&response.body)
            .map_err(|e| Error::protocol("consumer running info", e))
    }

    /// The offset of the first message of one queue stored at or after `timestamp` (ms)
    /// (SEARCH_OFFSET_BY_TIMESTAMP 29, `mqadmin consumeMessage -s / -e`).
    pub async fn search_offset_at(
        &self,
        broker_addr: &str,
        topic: &str,
        queue_id: i32,
        timestamp: i64,
    ) -> Result<i64> {
        let header = SearchOffsetRequestHeader {
            topic: topic.to_owned(),
            queue_id,
            timestamp,
            boundary_type: None,
            broker_name: None,
        };
        let request =
            RemotingCommand::request_with_header(RequestCode::SEARCH_OFFSET_BY_TIMESTAMP, &header);
        let response = self
            .broker_call("search offset", broker_addr, request)
            .await?;
        use ferromq_protocol::ext::CommandHeader as _;
        SearchOffsetResponseHeader::read_ext(&response.ext_fields)
            .map(|h| h.offset)
            .map_err(|e| Error::protocol("search offset", e))
    }

    /// One PULL_MESSAGE of up to `max` messages of `mq` from `offset` at one broker, as
    /// `group`, filtered by the TAG `expression` (`*`: all), without holding the request or
    /// committing anything (`mqadmin printMsg`, `printMsgByQueue`). As Apache's pull consumer,
    /// messages whose tag the expression does not name are dropped on the way.
    pub async fn pull_at(
        &self,
        broker_addr: &str,
        group: &str,
        mq: &MessageQueue,
        expression: &str,
        offset: i64,
        max: i32,
    ) -> Result<PullAnswer> {
        let sub = ferromq_protocol::body::SubscriptionData::tag(mq.topic.as_str(), expression, 0);
        let header = PullMessageRequestHeader {
            consumer_group: group.to_owned(),
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            queue_offset: offset,
            max_msg_nums: max,
            sys_flag: pull_sys_flag::build(false, false, true, false),
            commit_offset: 0,
            suspend_timeout_millis: 0,
            subscription: Some(sub.sub_string.clone()),
            sub_version: 0,
            expression_type: Some("TAG".to_owned()),
            max_msg_bytes: None,
            request_source: None,
            proxy_forward_client_id: None,
            broker_name: Some(mq.broker_name.clone()),
        };
        let request = RemotingCommand::request_with_header(RequestCode::PULL_MESSAGE, &header);
        let response = self
            .client
            .broker_request(broker_addr, request, self.client.timeout())
            .await?;
        let status = match response.response_code() {
            ResponseCode::SUCCESS => PullStatus::Found,
            ResponseCode::PULL_NOT_FOUND => PullStatus::NoNewMsg,
            ResponseCode::PULL_RETRY_IMMEDIATELY => PullStatus::NoMatchedMsg,
            ResponseCode::PULL_OFFSET_MOVED => PullStatus::OffsetIllegal,
            _ => return Err(Error::from_response("pull message", &response)),
        };
        let h = response
            .header::<PullMessageResponseHeader>()
            .map_err(|e| Error::protocol("pull message", e))?;
        let mut messages = Vec::new();
        if status == PullStatus::Found {
            for m in Client::decode_messages(&response.body)? {
                let tag = m.properties.tags();
                if sub.tags_set.is_empty()
                    || tag.is_some_and(|t| sub.tags_set.iter().any(|s| s == t))
                {
                    messages.push(MessageView::new(m, &mq.broker_name, None));
                }
            }
        }
        Ok(PullAnswer {
            status,
            next_begin_offset: h.next_begin_offset,
            min_offset: h.min_offset,
            max_offset: h.max_offset,
            messages,
        })
    }

    /// Stores a group's offset of one queue at one broker (UPDATE_CONSUMER_OFFSET 15,
    /// `mqadmin resetOffsetByTime` when no consumer of the group is online).
    pub async fn update_consumer_offset_at(
        &self,
        broker_addr: &str,
        group: &str,
        mq: &MessageQueue,
        offset: i64,
    ) -> Result<()> {
        let header = UpdateConsumerOffsetRequestHeader {
            consumer_group: group.to_owned(),
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            commit_offset: offset,
            broker_name: Some(mq.broker_name.clone()),
        };
        let request =
            RemotingCommand::request_with_header(RequestCode::UPDATE_CONSUMER_OFFSET, &header);
        self.broker_call("update consumer offset", broker_addr, request)
            .await?;
        Ok(())
    }

    /// Releases the shared client.
    pub async fn shutdown(&self) {
        if !self.closed.swap(true, std::sync::atomic::Ordering::AcqRel) {
            self.client.release();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subscription_group_body_is_json_with_apaches_names() {
        let mut g = SubscriptionGroup::new("g\"1");
        g.retry_max_times = 3;
        g.attributes.insert("+k".to_owned(), "v".to_owned());
        let v = ferromq_protocol::json::parse(g.to_json().as_bytes()).expect("valid JSON");
        assert_eq!(v["groupName"], "g\"1");
        assert_eq!(v["retryMaxTimes"], 3);
        assert_eq!(v["consumeEnable"], true);
        assert_eq!(v["whichBrokerWhenConsumeSlowly"], 1);
        assert_eq!(v["attributes"]["+k"], "v");
    }
}
