//! A small admin client: cluster info, topic routes, and topic creation on every master of a
//! cluster (what `mqadmin updateTopic -c` does).

use std::sync::Arc;

use ferromq_protocol::body::{perm, ClusterInfo, TopicRouteData, MASTER_ID};
use ferromq_protocol::header::admin::CreateTopicRequestHeader;
use ferromq_protocol::header::TopicFilterType;
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};

use crate::client::{Client, ClientConfig};
use crate::error::{Error, ErrorKind, Result};

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
        let info = self.cluster_info().await?;
        let brokers = info.cluster_addr_table.get(cluster).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidArgument,
                "create topic",
                format!("no cluster {cluster}"),
            )
        })?;
        let mut created = 0;
        for name in brokers {
            let Some(addr) = info
                .broker_addr_table
                .get(name)
                .and_then(|b| b.broker_addrs.get(&MASTER_ID))
            else {
                continue;
            };
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
            let response = self
                .client
                .broker_request(addr, request, self.client.timeout())
                .await?;
            if response.response_code() != ResponseCode::SUCCESS {
                return Err(Error::from_response("create topic", &response));
            }
            created += 1;
        }
        if created == 0 {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "create topic",
                format!("cluster {cluster} has no master"),
            ));
        }
        Ok(())
    }

    /// Releases the shared client.
    pub async fn shutdown(&self) {
        if !self.closed.swap(true, std::sync::atomic::Ordering::AcqRel) {
            self.client.release();
        }
    }
}
