//! The topics and subscription groups the broker knows: lookups, on-demand creation within the
//! rate limits, the derived retry and dead-letter topics, and persisting the tables off the
//! runtime's workers.

use std::time::Instant;

use ferromq_protocol::body::{perm, TopicConfig, TopicConfigSerializeWrapper};
use ferromq_protocol::{names, ResponseCode, Version};
use ferromq_store::configs::subscription_groups::SubscriptionGroupConfig;

use crate::limits::busy;
use crate::response::{fail, Response};
use crate::state::Broker;

/// Default topic new topics are created from.
pub(crate) const AUTO_CREATE_TOPIC_KEY: &str = "TBW102";

impl Broker {
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

    /// `defaultTopicQueueNums` changed at run time: `TBW102` (when it exists) takes that many
    /// read and write queues, so topics created on send from now on get them.
    pub(crate) async fn resize_default_topic(&self, queues: i32) {
        if let Some(mut template) = self.topics.get(AUTO_CREATE_TOPIC_KEY) {
            template.read_queue_nums = queues;
            template.write_queue_nums = queues;
            self.put_topic(template).await;
        }
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

    /// Writes `subscriptionGroup.json` if it changed, on a blocking thread.
    pub(crate) async fn persist_groups(&self) {
        let groups = self.groups.clone();
        match tokio::task::spawn_blocking(move || groups.persist()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "cannot persist subscriptionGroup.json"),
            Err(e) => tracing::error!(error = %e, "subscriptionGroup.json writer failed"),
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
            return Err(busy("topics", "topicAutoCreateMaxPerSecond", rate));
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

    /// Creates the topic a released message goes to if it is missing (as Apache's delivery
    /// does); a refusal (auto-creation off or rate limited) is logged and the message is stored
    /// all the same, never dropped.
    pub(crate) async fn ensure_delivery_topic(&self, topic: &str) {
        if let Err(refusal) = self.topic_for_send(topic, 1).await {
            tracing::warn!(topic, reason = ?refusal.remark, "delivering to a topic without config");
        }
    }

    /// Creates a derived topic (a group's retry or dead-letter topic) if missing.
    pub(crate) async fn ensure_group_topic(&self, name: &str, queues: i32) {
        if self.topics.contains(name) {
            return;
        }
        let mut config = TopicConfig::new(name, queues, queues);
        config.perm = perm::READ_WRITE;
        if self.topics.put_if_absent(config).1 {
            self.persist_topics().await;
            self.topics_changed.notify_one();
        }
    }

    /// Creates the retry topic of a consumer group (`%RETRY%<group>`) if missing, with the
    /// group's `retryQueueNums` queues (at least 1, at most `maxTopicQueueNums`: a group
    /// written before the cap, or copied from a master, cannot make a topic of billions).
    pub(crate) async fn ensure_retry_topic(&self, group: &str) -> String {
        let name = names::retry_topic(group);
        let max = self.settings().broker.max_topic_queue_nums.max(1);
        let queues = self
            .groups
            .get(group)
            .map(|g| g.retry_queue_nums)
            .unwrap_or(1)
            .clamp(1, max);
        self.ensure_group_topic(&name, queues).await;
        name
    }

    /// Creates `%DLQ%<group>` (one queue, readable so operators can drain it) if missing.
    pub(crate) async fn ensure_dlq_topic(&self, group: &str) -> String {
        let name = names::dlq_topic(group);
        self.ensure_group_topic(&name, 1).await;
        name
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

    /// The settings of `group`, creating it when `autoCreateSubscriptionGroup` allows and the
    /// creation rate limit has room; otherwise the refusal to answer.
    pub(crate) fn group_for(&self, group: &str) -> Result<SubscriptionGroupConfig, Response> {
        if let Some(found) = self.groups.get(group) {
            return Ok(found);
        }
        if let Err(e) = names::check_group(group) {
            return Err(fail(ResponseCode::INVALID_PARAMETER, e.to_string()));
        }
        let settings = self.settings();
        let b = &settings.broker;
        if b.auto_create_subscription_group {
            let rate = b.subscription_group_auto_create_max_per_second;
            if !self.group_creations.try_acquire(rate, Instant::now()) {
                return Err(busy(
                    "subscription groups",
                    "subscriptionGroupAutoCreateMaxPerSecond",
                    rate,
                ));
            }
        }
        self.groups
            .get_or_create(group, b.auto_create_subscription_group)
            .ok_or_else(|| {
                fail(
                    ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST,
                    format!("subscription group [{group}] does not exist"),
                )
            })
    }

    /// The most redeliveries a group allows: the request's own limit for clients that send one
    /// (V3_4_9 and later), else the group's `retryMaxTimes`.
    pub(crate) fn max_reconsume_times(
        &self,
        group: &str,
        requested: Option<i32>,
        version: i32,
    ) -> i32 {
        match requested {
            Some(max) if Version(version) >= Version::V3_4_9 => max,
            _ => self
                .groups
                .get(group)
                .map(|g| g.retry_max_times)
                .unwrap_or(16),
        }
    }
}
