//! Messages: by key, unique key or offset id, queue offsets by time, and single pulls that
//! commit nothing.

use ferromq_protocol::body::MessageQueue;
use ferromq_protocol::header::offset::{SearchOffsetRequestHeader, SearchOffsetResponseHeader};
use ferromq_protocol::header::pull::{
    pull_sys_flag, PullMessageRequestHeader, PullMessageResponseHeader,
};
use ferromq_protocol::header::query::{QueryMessageRequestHeader, ViewMessageRequestHeader};
use ferromq_protocol::message::MessageId;
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};

use crate::client::Client;
use crate::error::{Error, ErrorKind, Result};
use crate::message::MessageView;

use super::{Admin, PullAnswer, PullStatus};

impl Admin {
    /// Has consumer `client_id` of `group` consume the message of offset id `offset_msg_id`
    /// (CONSUME_MESSAGE_DIRECTLY 309, relayed by the broker that stores it: `mqadmin
    /// queryMsgById -g -d`); the consumer's `ConsumeMessageDirectlyResult` JSON.
    pub async fn consume_message_directly(
        &self,
        group: &str,
        client_id: &str,
        topic: &str,
        offset_msg_id: &str,
    ) -> Result<ferromq_protocol::json::Value> {
        let op = "consume message directly";
        let id = MessageId::parse(offset_msg_id).map_err(|e| Error::invalid(op, e.to_string()))?;
        let header = ferromq_protocol::header::client::ConsumeMessageDirectlyResultRequestHeader {
            consumer_group: group.to_owned(),
            client_id: Some(client_id.to_owned()),
            msg_id: Some(offset_msg_id.to_owned()),
            topic: Some(topic.to_owned()),
            ..Default::default()
        };
        let request =
            RemotingCommand::request_with_header(RequestCode::CONSUME_MESSAGE_DIRECTLY, &header);
        let response = self
            .broker_call(op, &id.address.to_string(), request)
            .await?;
        ferromq_protocol::json::parse(&response.body).map_err(|e| Error::protocol(op, e))
    }

    /// Messages of `topic` whose keys include `key`, from every master's index (at most `max`
    /// per broker), whenever stored.
    pub async fn query_by_key(&self, topic: &str, key: &str, max: i32) -> Result<Vec<MessageView>> {
        self.query_messages(topic, key, max, (0, i64::MAX), false, None)
            .await
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
}
