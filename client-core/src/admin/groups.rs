//! Consumer groups: subscription groups, progress and consume statistics, connections, offset
//! cloning and resets, running info relayed to a client, offset updates.

use std::collections::{BTreeMap, BTreeSet};

use ferromq_protocol::body::{
    ConsumeStats, ConsumerConnection, MessageQueue, OffsetWrapper, ProducerConnection,
    ResetOffsetBody,
};
use ferromq_protocol::header::admin::{
    CloneGroupOffsetRequestHeader, DeleteSubscriptionGroupRequestHeader,
    GetConsumeStatsRequestHeader, GetConsumerConnectionListRequestHeader,
    GetProducerConnectionListRequestHeader, GetSubscriptionGroupConfigRequestHeader,
};
use ferromq_protocol::header::client::{
    GetConsumerRunningInfoRequestHeader, ResetOffsetRequestHeader,
};
use ferromq_protocol::header::offset::UpdateConsumerOffsetRequestHeader;
use ferromq_protocol::{RemotingCommand, RequestCode};

use crate::error::{Error, Result};

use super::{Admin, SubscriptionGroup};

impl Admin {
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

    /// The names of every subscription group a broker holds (GET_ALL_SUBSCRIPTIONGROUP_CONFIG
    /// 201, the broker's `subscriptionGroup.json`), system groups included.
    pub async fn subscription_groups_at(&self, broker_addr: &str) -> Result<BTreeSet<String>> {
        let request = RemotingCommand::request(RequestCode::GET_ALL_SUBSCRIPTIONGROUP_CONFIG);
        let response = self
            .broker_call("subscription groups", broker_addr, request)
            .await?;
        let all = ferromq_protocol::json::parse(&response.body)
            .map_err(|e| Error::protocol("subscription groups", e))?;
        Ok(all
            .get("subscriptionGroupTable")
            .and_then(|t| t.as_object())
            .map(|t| t.keys().cloned().collect())
            .unwrap_or_default())
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
}
