//! The admin client (what `mqadmin` builds on): cluster info and topic routes here, and by
//! subject in the submodules: topics, groups (subscription groups, progress, offsets, requests
//! relayed to clients), messages, brokers, the name servers, ACL 1.0 (`acl`) and the controllers of controller mode (`controller`).

use std::collections::BTreeMap;
use std::sync::Arc;

use ferromq_protocol::body::{perm, ClusterInfo, TopicRouteData, MASTER_ID};
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};

use crate::client::{Client, ClientConfig};
use crate::error::{Error, Result};
use crate::message::MessageView;

pub mod auth;
pub use acl::{AclAccount, AclConfig, AclVersion};
pub use controller::CleanBrokerData;

mod acl;
mod brokers;
mod controller;
mod groups;
mod messages;
mod namesrv;
mod topics;

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
