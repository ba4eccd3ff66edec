//! Topics: creation and deletion on a cluster's masters or one broker, statistics, lists, and
//! who consumes a topic.

use std::collections::{BTreeMap, BTreeSet};

use ferromq_protocol::body::{MessageQueue, TopicConfig, TopicList, TopicOffset, TopicStatsTable};
use ferromq_protocol::header::admin::{
    CreateTopicRequestHeader, DeleteTopicRequestHeader, GetTopicStatsInfoRequestHeader,
    QueryTopicConsumeByWhoRequestHeader,
};
use ferromq_protocol::header::namesrv::DeleteTopicFromNamesrvRequestHeader;
use ferromq_protocol::header::TopicFilterType;
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};

use crate::error::{Error, Result};

use super::{Admin, TopicOptions};

impl Admin {
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
}
