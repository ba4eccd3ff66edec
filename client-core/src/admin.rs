//! The admin client (what `mqadmin` builds on): cluster info, topic routes, topic creation and
//! deletion on every master of a cluster, topic statistics, consumer progress, and messages by
//! key or id.

use std::sync::Arc;

use ferromq_protocol::body::{
    perm, ClusterInfo, ConsumeStats, HaRuntimeInfo, KVTable, MessageQueue, OffsetWrapper,
    TopicOffset, TopicRouteData, TopicStatsTable, MASTER_ID,
};
use ferromq_protocol::header::admin::{
    CreateTopicRequestHeader, DeleteTopicRequestHeader, GetConsumeStatsRequestHeader,
    GetTopicStatsInfoRequestHeader,
};
use ferromq_protocol::header::namesrv::DeleteTopicFromNamesrvRequestHeader;
use ferromq_protocol::header::query::{QueryMessageRequestHeader, ViewMessageRequestHeader};
use ferromq_protocol::header::TopicFilterType;
use ferromq_protocol::message::MessageId;
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use std::collections::BTreeMap;

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

    /// Releases the shared client.
    pub async fn shutdown(&self) {
        if !self.closed.swap(true, std::sync::atomic::Ordering::AcqRel) {
            self.client.release();
        }
    }
}
