//! QueryAssignment, ReceiveMessage (POP with long polling), AckMessage,
//! ChangeInvisibleDuration and ForwardMessageToDeadLetterQueue.

use std::collections::HashMap;
use std::time::Duration;

use ferromq_protocol::header::client::ConsumerSendMsgBackRequestHeader;
use ferromq_protocol::header::pop::{
    AckMessageRequestHeader, ChangeInvisibleTimeRequestHeader, ChangeInvisibleTimeResponseHeader,
    PopMessageRequestHeader, PopMessageResponseHeader,
};
use ferromq_protocol::message::{decode_all, property, DecodeOptions};
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};

use crate::convert::{duration_millis, filter_of, to_grpc, validate_name};
use crate::pb::receive_message_response::Content;
use crate::pb::{self, Code};
use crate::produce::accepted;
use crate::receipt::{self, ReceiptHandle};
use crate::status::{ok, status, ProxyError, ProxyResult};
use crate::{now_ms, Proxy};

/// Longest invisible time (Apache's `maxInvisibleTimeMills`).
const MAX_INVISIBLE_MS: i64 = 12 * 3600 * 1000;
/// Kept from the client's deadline for the answer to travel back.
const POLLING_RESERVE_MS: i64 = 500;
/// Queue id of an assignment: any queue of the broker.
const ANY_QUEUE: i32 = -1;

fn name(r: &Option<pb::Resource>) -> &str {
    r.as_ref().map(|r| r.name.as_str()).unwrap_or_default()
}

fn check_invisible(ms: i64, min: i64) -> ProxyResult<()> {
    if ms < min {
        return Err(ProxyError::new(
            Code::IllegalInvisibleTime,
            format!("the invisibleTime is too small. min is {min}"),
        ));
    }
    if ms > MAX_INVISIBLE_MS {
        return Err(ProxyError::new(
            Code::IllegalInvisibleTime,
            format!("the invisibleTime is too large. max is {MAX_INVISIBLE_MS}"),
        ));
    }
    Ok(())
}

fn not_found() -> pb::ReceiveMessageResponse {
    pb::ReceiveMessageResponse {
        content: Some(Content::Status(status(
            Code::MessageNotFound,
            "no new message",
        ))),
    }
}

impl Proxy {
    pub(crate) async fn assignment(
        &self,
        request: pb::QueryAssignmentRequest,
    ) -> pb::QueryAssignmentResponse {
        match self.try_assignment(&request).await {
            Ok(assignments) => pb::QueryAssignmentResponse {
                status: Some(ok()),
                assignments,
            },
            Err(e) => pb::QueryAssignmentResponse {
                status: Some(e.status()),
                assignments: Vec::new(),
            },
        }
    }

    async fn try_assignment(
        &self,
        request: &pb::QueryAssignmentRequest,
    ) -> ProxyResult<Vec<pb::Assignment>> {
        let topic = name(&request.topic);
        validate_name(topic, "topic", Code::IllegalTopic)?;
        validate_name(name(&request.group), "group", Code::IllegalConsumerGroup)?;
        let route = self.backend.route(topic).await?;
        let types = accepted(self.backend.topic_message_type(topic).await?);
        let mut out = Vec::new();
        for qd in &route.queue_datas {
            if qd.perm & (1 << 2) == 0 || qd.read_queue_nums <= 0 {
                continue;
            }
            let Some(broker) = route.broker(&qd.broker_name) else {
                continue;
            };
            if broker.master_addr().is_none() {
                continue;
            }
            out.push(pb::Assignment {
                message_queue: Some(pb::MessageQueue {
                    topic: request.topic.clone(),
                    id: ANY_QUEUE,
                    permission: pb::Permission::ReadWrite as i32,
                    broker: Some(self.broker_of(broker, request.endpoints.as_ref())),
                    accept_message_types: types.clone(),
                }),
            });
        }
        if out.is_empty() {
            return Err(ProxyError::new(
                Code::Forbidden,
                format!("topic {topic} has no readable queue"),
            ));
        }
        Ok(out)
    }

    pub(crate) async fn receive(
        &self,
        request: pb::ReceiveMessageRequest,
        client_id: Option<&str>,
        deadline: Option<Duration>,
    ) -> Vec<pb::ReceiveMessageResponse> {
        match self.try_receive(&request, client_id, deadline).await {
            Ok(answers) => answers,
            Err(e) => vec![pb::ReceiveMessageResponse {
                content: Some(Content::Status(e.status())),
            }],
        }
    }

    async fn try_receive(
        &self,
        request: &pb::ReceiveMessageRequest,
        client_id: Option<&str>,
        deadline: Option<Duration>,
    ) -> ProxyResult<Vec<pb::ReceiveMessageResponse>> {
        let group = name(&request.group);
        validate_name(group, "group", Code::IllegalConsumerGroup)?;
        let queue = request.message_queue.clone().unwrap_or_default();
        let topic = name(&queue.topic).to_owned();
        validate_name(&topic, "topic", Code::IllegalTopic)?;
        let settings = client_id.and_then(|id| self.sessions.settings(id));
        let subscription = match settings.as_ref().and_then(|s| s.pub_sub.clone()) {
            Some(pb::settings::PubSub::Subscription(s)) => Some(s),
            _ => None,
        };
        let (exp_type, exp) = filter_of(request.filter_expression.as_ref())?;
        // Apache's ReceiveMessageActivity: an auto-renewed receive pops for the default
        // invisible time (crate::renew keeps extending it), unchecked against the minimum.
        let auto_renew = request.auto_renew && self.config.enable_proxy_auto_renew;
        let invisible = if auto_renew {
            self.config.default_invisible_time_mills
        } else {
            let d = request.invisible_duration.as_ref().ok_or_else(|| {
                ProxyError::new(Code::IllegalInvisibleTime, "invisible duration is required")
            })?;
            let ms = duration_millis(d).ok_or_else(|| {
                ProxyError::new(Code::IllegalInvisibleTime, "invisible duration is negative")
            })?;
            check_invisible(ms, self.config.min_invisible_time_mills_for_recv)?;
            ms
        };
        let max = self
            .config
            .grpc_client_consumer_max_long_polling_timeout_millis;
        let mut polling = match &request.long_polling_timeout {
            Some(d) => duration_millis(d).ok_or_else(|| {
                ProxyError::new(Code::IllegalPollingTime, "long polling timeout is negative")
            })?,
            None => subscription
                .as_ref()
                .and_then(|s| s.long_polling_timeout.as_ref())
                .and_then(duration_millis)
                .unwrap_or(max),
        };
        polling = polling.min(max);
        if let Some(d) = deadline {
            let left = i64::try_from(d.as_millis()).unwrap_or(i64::MAX) - POLLING_RESERVE_MS;
            polling = polling.min(left.max(0));
        }
        let batch = request.batch_size;
        if batch <= 0 {
            return Err(ProxyError::bad_request(format!(
                "batch size {batch} is illegal"
            )));
        }
        let batch = batch.min(
            self.config
                .grpc_client_consumer_long_polling_batch_size
                .max(1),
        );
        let fifo = subscription.as_ref().and_then(|s| s.fifo).unwrap_or(false);
        let route = self.backend.route(&topic).await?;
        let wanted = queue
            .broker
            .as_ref()
            .map(|b| b.name.as_str())
            .unwrap_or_default();
        let broker = route
            .broker_datas
            .iter()
            .filter(|b| b.master_addr().is_some())
            .find(|b| wanted.is_empty() || b.broker_name == wanted)
            .ok_or_else(|| {
                ProxyError::new(
                    Code::NotFound,
                    format!("broker {wanted} of topic {topic} not found"),
                )
            })?;
        let broker_name = broker.broker_name.clone();
        let addr = broker.master_addr().unwrap_or_default().to_owned();
        let header = PopMessageRequestHeader {
            consumer_group: group.to_owned(),
            topic: topic.clone(),
            queue_id: ANY_QUEUE,
            max_msg_nums: batch,
            invisible_time: invisible,
            poll_time: polling,
            born_time: now_ms(),
            init_mode: 1,
            exp_type: Some(exp_type.to_owned()),
            exp: Some(exp),
            order: Some(fifo),
            attempt_id: request.attempt_id.clone(),
            broker_name: Some(broker_name.clone()),
        };
        let command = RemotingCommand::request_with_header(RequestCode::POP_MESSAGE, &header);
        let wait =
            self.backend.timeout() + Duration::from_millis(u64::try_from(polling).unwrap_or(0));
        let response = self.backend.request(&addr, command, wait).await?;
        match response.response_code() {
            ResponseCode::SUCCESS => {}
            ResponseCode::POLLING_TIMEOUT | ResponseCode::PULL_NOT_FOUND => {
                return Ok(vec![not_found()])
            }
            ResponseCode::POLLING_FULL => {
                return Err(ProxyError::new(Code::TooManyRequests, "polling full"))
            }
            _ => return Err(ProxyError::from_response(&response)),
        }
        let head: PopMessageResponseHeader = response
            .header()
            .map_err(|e| ProxyError::new(Code::InternalServerError, e.to_string()))?;
        let messages = decode_all(&response.body, &DecodeOptions::default()).map_err(|e| {
            ProxyError::new(Code::InternalServerError, format!("bad pop body: {e}"))
        })?;
        if messages.is_empty() {
            return Ok(vec![pb::ReceiveMessageResponse {
                content: Some(Content::Status(status(
                    Code::MessageNotFound,
                    "no match message",
                ))),
            }]);
        }
        let starts = start_offsets(head.start_offset_info.as_deref());
        let counts = order_counts(head.order_count_info.as_deref());
        let now = now_ms();
        let mut out = vec![pb::ReceiveMessageResponse {
            content: Some(Content::Status(ok())),
        }];
        let max_attempts = settings
            .as_ref()
            .and_then(|s| s.backoff_policy.as_ref())
            .map(|p| p.max_attempts)
            .filter(|n| *n > 0);
        for mut m in messages {
            // Orderly pops count deliveries in `orderCountInfo`, not in the stored message.
            if let Some(n) = counts.get(&(m.queue_id, m.queue_offset)) {
                m.reconsume_times = *n;
            }
            if m.properties.value(property::POP_CK).is_none() {
                let start = starts.get(&m.queue_id).copied().unwrap_or(m.queue_offset);
                let handle = receipt::build(
                    start,
                    head.pop_time,
                    head.invisible_time,
                    head.revive_qid,
                    "0",
                    &broker_name,
                    m.queue_id,
                    m.queue_offset,
                );
                m.properties.insert(property::POP_CK, handle);
            }
            let mut message = to_grpc(&m, &topic, now);
            let Some(sys) = message.system_properties.as_mut() else {
                continue;
            };
            if let Some(h) = sys.receipt_handle.as_mut() {
                if h.split(' ').count() == 8 {
                    h.push_str(&format!(" {}", m.commit_log_offset));
                }
            }
            sys.invisible_duration = Some(crate::convert::duration_of(invisible));
            // Out of attempts: to the DLQ instead of to the client (Apache's
            // PopMessageResultFilterImpl: reconsumeTimes >= maxAttempts).
            if max_attempts.is_some_and(|max| m.reconsume_times >= max) {
                let handle = sys.receipt_handle.clone().unwrap_or_default();
                let id = sys.message_id.clone();
                if let Err(e) = self.dead_letter(group, &topic, &handle, &id).await {
                    tracing::warn!(%group, %topic, message = %id, error = %e, "DLQ forward failed");
                }
                continue;
            }
            if let (true, Some(client), Some(handle)) = (auto_renew, client_id, &sys.receipt_handle)
            {
                self.renewals
                    .track(client, group, &topic, handle, invisible);
            }
            out.push(pb::ReceiveMessageResponse {
                content: Some(Content::Message(message)),
            });
        }
        if out.len() == 1 {
            return Ok(vec![not_found()]);
        }
        Ok(out)
    }

    fn handle_of(&self, text: &str) -> ProxyResult<ReceiptHandle> {
        let handle = ReceiptHandle::decode(text)?;
        if handle.is_expired(now_ms()) {
            return Err(ProxyError::new(
                Code::InvalidReceiptHandle,
                "receipt handle is expired",
            ));
        }
        Ok(handle)
    }

    pub(crate) async fn ack(&self, request: pb::AckMessageRequest) -> pb::AckMessageResponse {
        let group = name(&request.group).to_owned();
        let topic = name(&request.topic).to_owned();
        if let Err(e) = validate_name(&group, "group", Code::IllegalConsumerGroup)
            .and_then(|_| validate_name(&topic, "topic", Code::IllegalTopic))
        {
            return pb::AckMessageResponse {
                status: Some(e.status()),
                entries: Vec::new(),
            };
        }
        if request.entries.is_empty() {
            return pb::AckMessageResponse {
                status: Some(status(Code::BadRequest, "no entry to ack")),
                entries: Vec::new(),
            };
        }
        let mut entries = Vec::with_capacity(request.entries.len());
        for entry in &request.entries {
            let text = self
                .renewals
                .take(&entry.receipt_handle)
                .await
                .unwrap_or_else(|| entry.receipt_handle.clone());
            let result = self.ack_one(&group, &topic, &text).await;
            entries.push(pb::AckMessageResultEntry {
                message_id: entry.message_id.clone(),
                receipt_handle: entry.receipt_handle.clone(),
                status: Some(match result {
                    Ok(()) => ok(),
                    Err(e) => e.status(),
                }),
            });
        }
        let failed: Vec<&pb::AckMessageResultEntry> = entries
            .iter()
            .filter(|e| e.status.as_ref().is_some_and(|s| s.code != Code::Ok as i32))
            .collect();
        let overall = if failed.is_empty() {
            ok()
        } else if entries.len() == 1 {
            failed[0].status.clone().unwrap_or_else(ok)
        } else {
            status(Code::MultipleResults, "MULTIPLE_RESULTS")
        };
        pb::AckMessageResponse {
            status: Some(overall),
            entries,
        }
    }

    async fn ack_one(&self, group: &str, topic: &str, text: &str) -> ProxyResult<()> {
        let handle = self.handle_of(text)?;
        let addr = self.backend.master_addr(&handle.broker_name, topic).await?;
        let header = AckMessageRequestHeader {
            consumer_group: group.to_owned(),
            topic: handle.real_topic(topic, group),
            queue_id: handle.queue_id,
            extra_info: handle.text.clone(),
            offset: handle.offset,
            broker_name: Some(handle.broker_name.clone()),
        };
        let command = RemotingCommand::request_with_header(RequestCode::ACK_MESSAGE, &header);
        let response = self
            .backend
            .request(&addr, command, self.backend.timeout())
            .await?;
        if response.response_code() == ResponseCode::SUCCESS {
            Ok(())
        } else {
            Err(ProxyError::from_response(&response))
        }
    }

    pub(crate) async fn change_invisible(
        &self,
        request: pb::ChangeInvisibleDurationRequest,
    ) -> pb::ChangeInvisibleDurationResponse {
        match self.try_change_invisible(&request).await {
            Ok(handle) => pb::ChangeInvisibleDurationResponse {
                status: Some(ok()),
                receipt_handle: handle,
            },
            Err(e) => pb::ChangeInvisibleDurationResponse {
                status: Some(e.status()),
                receipt_handle: String::new(),
            },
        }
    }

    async fn try_change_invisible(
        &self,
        request: &pb::ChangeInvisibleDurationRequest,
    ) -> ProxyResult<String> {
        let group = name(&request.group);
        let topic = name(&request.topic);
        validate_name(group, "group", Code::IllegalConsumerGroup)?;
        validate_name(topic, "topic", Code::IllegalTopic)?;
        let ms = request
            .invisible_duration
            .as_ref()
            .and_then(duration_millis)
            .ok_or_else(|| {
                ProxyError::new(Code::IllegalInvisibleTime, "invisible duration is required")
            })?;
        if ms > MAX_INVISIBLE_MS {
            return Err(ProxyError::new(
                Code::IllegalInvisibleTime,
                format!("the invisibleTime is too large. max is {MAX_INVISIBLE_MS}"),
            ));
        }
        // An auto-renewed message: the proxy's latest handle, and no more renewals.
        let text = self
            .renewals
            .take(&request.receipt_handle)
            .await
            .unwrap_or_else(|| request.receipt_handle.clone());
        self.change_invisible_of(group, topic, &text, ms).await
    }

    /// Changes the invisible time of the message of handle `text` to `ms`; the new handle.
    pub(crate) async fn change_invisible_of(
        &self,
        group: &str,
        topic: &str,
        text: &str,
        ms: i64,
    ) -> ProxyResult<String> {
        let handle = self.handle_of(text)?;
        let addr = self.backend.master_addr(&handle.broker_name, topic).await?;
        let real_topic = handle.real_topic(topic, group);
        let header = ChangeInvisibleTimeRequestHeader {
            consumer_group: group.to_owned(),
            topic: real_topic,
            queue_id: handle.queue_id,
            extra_info: handle.text.clone(),
            offset: handle.offset,
            invisible_time: ms,
            broker_name: Some(handle.broker_name.clone()),
        };
        let command = RemotingCommand::request_with_header(
            RequestCode::CHANGE_MESSAGE_INVISIBLETIME,
            &header,
        );
        let response = self
            .backend
            .request(&addr, command, self.backend.timeout())
            .await?;
        if response.response_code() != ResponseCode::SUCCESS {
            return Err(ProxyError::from_response(&response));
        }
        let head: ChangeInvisibleTimeResponseHeader = response
            .header()
            .map_err(|e| ProxyError::new(Code::InternalServerError, e.to_string()))?;
        let mut text = receipt::build(
            handle.offset,
            head.pop_time,
            head.invisible_time,
            head.revive_qid,
            &handle.topic_type,
            &handle.broker_name,
            handle.queue_id,
            handle.offset,
        );
        if let Some(c) = handle.commit_log_offset {
            text.push_str(&format!(" {c}"));
        }
        Ok(text)
    }

    pub(crate) async fn forward_to_dlq(
        &self,
        request: pb::ForwardMessageToDeadLetterQueueRequest,
    ) -> pb::ForwardMessageToDeadLetterQueueResponse {
        let status = match self.try_forward_to_dlq(&request).await {
            Ok(()) => ok(),
            Err(e) => e.status(),
        };
        pb::ForwardMessageToDeadLetterQueueResponse {
            status: Some(status),
        }
    }

    async fn try_forward_to_dlq(
        &self,
        request: &pb::ForwardMessageToDeadLetterQueueRequest,
    ) -> ProxyResult<()> {
        let group = name(&request.group);
        let topic = name(&request.topic);
        validate_name(group, "group", Code::IllegalConsumerGroup)?;
        validate_name(topic, "topic", Code::IllegalTopic)?;
        let text = self
            .renewals
            .take(&request.receipt_handle)
            .await
            .unwrap_or_else(|| request.receipt_handle.clone());
        self.dead_letter(group, topic, &text, &request.message_id)
            .await
    }

    /// Moves the message of `text` to the group's DLQ (`CONSUMER_SEND_MSG_BACK` with no retries
    /// left), then acks it.
    async fn dead_letter(
        &self,
        group: &str,
        topic: &str,
        text: &str,
        message_id: &str,
    ) -> ProxyResult<()> {
        let handle = self.handle_of(text)?;
        let Some(offset) = handle.commit_log_offset else {
            return Err(ProxyError::new(
                Code::InvalidReceiptHandle,
                "receipt handle has no commitlog offset",
            ));
        };
        let addr = self.backend.master_addr(&handle.broker_name, topic).await?;
        let header = ConsumerSendMsgBackRequestHeader {
            offset,
            group: group.to_owned(),
            delay_level: -1,
            origin_msg_id: Some(message_id.to_owned()),
            origin_topic: Some(handle.real_topic(topic, group)),
            unit_mode: Some(false),
            max_reconsume_times: Some(0),
            broker_name: Some(handle.broker_name.clone()),
        };
        let command =
            RemotingCommand::request_with_header(RequestCode::CONSUMER_SEND_MSG_BACK, &header);
        let response = self
            .backend
            .request(&addr, command, self.backend.timeout())
            .await?;
        if response.response_code() != ResponseCode::SUCCESS {
            return Err(ProxyError::from_response(&response));
        }
        self.ack_one(group, topic, text).await
    }
}

/// `orderCountInfo` of an orderly pop: `retry qo<queueId>%<offset> <count>` per message that
/// was delivered before (the `retry queueId minCount` entries are skipped).
fn order_counts(info: Option<&str>) -> HashMap<(i32, i64), i32> {
    let mut out = HashMap::new();
    for part in info.unwrap_or_default().split(';') {
        let f: Vec<&str> = part.split(' ').collect();
        if f.len() != 3 {
            continue;
        }
        let Some((q, o)) = f[1].strip_prefix("qo").and_then(|k| k.split_once('%')) else {
            continue;
        };
        if let (Ok(q), Ok(o), Ok(n)) = (q.parse(), o.parse(), f[2].parse()) {
            out.insert((q, o), n);
        }
    }
    out
}

/// `startOffsetInfo` (`retry queueId startOffset;...`) of normal queues, by queue id.
fn start_offsets(info: Option<&str>) -> HashMap<i32, i64> {
    let mut out = HashMap::new();
    for part in info.unwrap_or_default().split(';') {
        let f: Vec<&str> = part.split(' ').collect();
        if f.len() == 3 && f[0] == "0" {
            if let (Ok(q), Ok(o)) = (f[1].parse(), f[2].parse()) {
                out.insert(q, o);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pop_offset_and_order_infos() {
        let starts = start_offsets(Some("0 1 5;1 0 3;0 2 9"));
        assert_eq!(starts.get(&1), Some(&5));
        assert_eq!(starts.get(&2), Some(&9));
        assert_eq!(starts.get(&0), None);
        let counts = order_counts(Some("0 qo1%5 2;0 qo1%6 1;0 1 0"));
        assert_eq!(counts.get(&(1, 5)), Some(&2));
        assert_eq!(counts.get(&(1, 6)), Some(&1));
        assert_eq!(counts.len(), 2);
        assert!(order_counts(None).is_empty());
    }
}
