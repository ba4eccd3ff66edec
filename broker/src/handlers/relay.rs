//! Admin requests the broker relays to its consumers (docs/protocol.md, "Admin codes"): an
//! operator's tool reaches a consumer through the broker it is connected to.
//!
//! - GET_CONSUMER_RUNNING_INFO (307) and CONSUME_MESSAGE_DIRECTLY (309) go to one client, and its
//!   answer comes back as is (`mqadmin consumerStatus`, `consumeMessage`);
//! - INVOKE_BROKER_TO_RESET_OFFSET (222) works out each queue's offset for a timestamp and tells
//!   every consumer of the group to reset (RESET_CONSUMER_CLIENT_OFFSET, oneway);
//! - INVOKE_BROKER_TO_GET_CONSUMER_STATUS (223) asks each consumer of the group for its offsets
//!   (GET_CONSUMER_STATUS_FROM_CLIENT) and answers them together.
//!
//! Every call to a client is bounded (a consumer that never answers costs the admin request its
//! timeout, nothing more) and answered with Apache's codes and remarks.

use std::collections::BTreeMap;
use std::time::Duration;

use ferromq_protocol::body::{GetConsumerStatusBody, MessageQueue, QueueOffsets, ResetOffsetBody};
use ferromq_protocol::header::client::{
    ConsumeMessageDirectlyResultRequestHeader, GetConsumerRunningInfoRequestHeader,
    GetConsumerStatusRequestHeader, ResetOffsetRequestHeader,
};
use ferromq_protocol::message::MessageId;
use ferromq_protocol::{CommandHeader, RemotingCommand, RequestCode, ResponseCode};
use ferromq_remoting::RemotingError;

use crate::clients::ClientChannel;
use crate::response::{bad_header, fail, ok, Response};
use crate::state::Broker;

/// How long a relayed call may wait for the client (Apache: 10 s).
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a consumer may take to report its offsets (Apache: 5 s).
const STATUS_TIMEOUT: Duration = Duration::from_secs(5);

/// GET_CONSUMER_RUNNING_INFO: the named consumer's running info, from the consumer.
pub(crate) async fn consumer_running_info(broker: &Broker, req: &RemotingCommand) -> Response {
    let h = match GetConsumerRunningInfoRequestHeader::read_ext(&req.ext_fields) {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    let mut relayed = RemotingCommand::request(RequestCode::GET_CONSUMER_RUNNING_INFO)
        .with_body(req.body.clone());
    relayed.ext_fields = req.ext_fields.clone();
    call_consumer(broker, &h.consumer_group, &h.client_id, relayed).await
}

/// CONSUME_MESSAGE_DIRECTLY: the named consumer consumes the message `msgId` names, and says
/// how it went.
pub(crate) async fn consume_message_directly(broker: &Broker, req: &RemotingCommand) -> Response {
    let h = match ConsumeMessageDirectlyResultRequestHeader::read_ext(&req.ext_fields) {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    let Some(client_id) = h.client_id.filter(|c| !c.is_empty()) else {
        return fail(ResponseCode::SYSTEM_ERROR, "clientId is required");
    };
    let Some(msg_id) = h.msg_id else {
        return fail(ResponseCode::SYSTEM_ERROR, "msgId is required");
    };
    let offset = match MessageId::parse(&msg_id) {
        Ok(id) => id.offset,
        Err(e) => {
            return fail(
                ResponseCode::SYSTEM_ERROR,
                format!("msgId {msg_id} is not an offset message id: {e}"),
            )
        }
    };
    let record = match broker.record_at(offset).await {
        Ok((record, _)) => record,
        Err(reason) => {
            return fail(
                ResponseCode::SYSTEM_ERROR,
                format!("can not find message by the offset, {offset}: {reason}"),
            )
        }
    };
    let mut ext = req.ext_fields.clone();
    ext.insert("brokerName", broker.settings().broker.broker_name.as_str());
    if let Some(topic) = h.topic.as_deref().and_then(|t| broker.topics.get(t)) {
        ext.insert("topicSysFlag", topic.topic_sys_flag.to_string().as_str());
    }
    if let Some(group) = broker.groups.get(&h.consumer_group) {
        ext.insert("groupSysFlag", group.group_sys_flag.to_string().as_str());
    }
    let mut relayed =
        RemotingCommand::request(RequestCode::CONSUME_MESSAGE_DIRECTLY).with_body(record);
    relayed.ext_fields = ext;
    call_consumer(broker, &h.consumer_group, &client_id, relayed).await
}

/// Sends `relayed` to one consumer of `group` and answers what it answers.
async fn call_consumer(
    broker: &Broker,
    group: &str,
    client_id: &str,
    relayed: RemotingCommand,
) -> Response {
    let Some(channel) = member(broker, group, client_id) else {
        return fail(
            ResponseCode::SYSTEM_ERROR,
            format!("The Consumer <{group}> <{client_id}> not online"),
        );
    };
    match channel.conn.request(relayed, CALL_TIMEOUT).await {
        Ok(answer) => {
            let mut response = RemotingCommand::response(answer.response_code(), answer.remark)
                .with_body(answer.body);
            response.ext_fields = answer.ext_fields;
            response
        }
        Err(RemotingError::Timeout(_)) => fail(
            ResponseCode::CONSUME_MSG_TIMEOUT,
            format!("consumer <{group}> <{client_id}> Timeout: no answer within {CALL_TIMEOUT:?}"),
        ),
        Err(e) => fail(
            ResponseCode::SYSTEM_ERROR,
            format!("invoke consumer <{group}> <{client_id}> Exception: {e}"),
        ),
    }
}

/// The connection of consumer `client_id` in `group`.
fn member(broker: &Broker, group: &str, client_id: &str) -> Option<ClientChannel> {
    broker
        .clients
        .consumer_group(group)?
        .channels
        .into_values()
        .find(|c| c.client_id == client_id)
}

/// INVOKE_BROKER_TO_RESET_OFFSET: each queue's offset for the timestamp (-1: the queue's end),
/// kept where the group already is unless that is further back or `isForce`; with `queueId`
/// only that queue, to `offset` when given (within the queue's range, as Apache checks); every
/// online consumer of the group is told to reset to them, and the table is the answer.
pub(crate) async fn reset_offset(broker: &Broker, req: &RemotingCommand) -> Response {
    let h = match ResetOffsetRequestHeader::read_ext(&req.ext_fields) {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    let Some(topic) = broker.topics.get(&h.topic) else {
        return fail(
            ResponseCode::TOPIC_NOT_EXIST,
            format!(
                "[reset-offset] reset offset failed, no topic in this broker. topic={}",
                h.topic
            ),
        );
    };
    let one = h.queue_id.filter(|q| *q >= 0);
    // Apache refuses when any queue lacks an offset; a queue the group never committed (no
    // message reached it yet) counts as offset 0 here, and only a group with no offset at all
    // on the topic is refused. One queue is reset as Apache 5.x resets on the broker: the group
    // must exist, offsets need not.
    if one.is_some() && !broker.settings().broker.broker_role.is_master() {
        return fail(
            ResponseCode::SYSTEM_ERROR,
            "Can not reset offset in slave broker",
        );
    }
    if one.is_some() && !broker.groups.contains(&h.group) {
        return fail(
            ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST,
            format!("Group {} does not exist", h.group),
        );
    }
    if one.is_none() && broker.offsets.offsets(&h.group, &h.topic).is_none() {
        return fail(
            ResponseCode::SYSTEM_ERROR,
            format!(
                "The consumer group <{}> has no offsets of topic {}",
                h.group, h.topic
            ),
        );
    }
    let broker_name = broker.settings().broker.broker_name.clone();
    let mut table = BTreeMap::new();
    // One queue (`queueId` >= 0, Apache 5.x's `mqadmin resetOffsetByTime -q`): to `offset` when
    // given, else to `timestamp`; every queue otherwise.
    if let Some(queue_id) = one {
        if queue_id >= topic.read_queue_nums.max(topic.write_queue_nums) {
            return fail(
                ResponseCode::SYSTEM_ERROR,
                format!("queueId {queue_id} out of range for topic {}", h.topic),
            );
        }
        if let Some(offset) = h.offset.filter(|o| *o != -1) {
            let min = broker.store.min_offset_in_queue(&h.topic, queue_id);
            let max = broker.store.max_offset_in_queue(&h.topic, queue_id);
            if offset < min || offset > max + 1 {
                return fail(
                    ResponseCode::SYSTEM_ERROR,
                    format!("Target offset {offset} not in consume queue range [{min}-{max}]"),
                );
            }
            let mq = MessageQueue {
                topic: h.topic.clone(),
                broker_name: broker_name.clone(),
                queue_id,
            };
            table.insert(mq, offset);
        }
    }
    let queues = match one {
        _ if !table.is_empty() => 0..0,
        Some(q) => q..q + 1,
        None => 0..topic.write_queue_nums,
    };
    for queue_id in queues {
        let current = broker
            .offsets
            .query(&h.group, &h.topic, queue_id)
            .unwrap_or(0);
        let target = if h.timestamp == -1 {
            broker.store.max_offset_in_queue(&h.topic, queue_id)
        } else {
            broker
                .store
                .offset_by_time(&h.topic, queue_id, h.timestamp, false)
        }
        .max(0);
        let offset = if h.is_force || target < current {
            target
        } else {
            current
        };
        let mq = MessageQueue {
            topic: h.topic.clone(),
            broker_name: broker_name.clone(),
            queue_id,
        };
        table.insert(mq, offset);
    }
    if one.is_some() {
        // Committed here too, so the reset holds with no consumer online.
        for (mq, offset) in &table {
            broker
                .offsets
                .commit(&h.group, &h.topic, mq.queue_id, *offset);
        }
    }
    let body = ResetOffsetBody {
        offset_table: table,
    }
    .encode();
    let consumers = broker
        .clients
        .consumer_group(&h.group)
        .map(|g| g.channels.into_values().collect::<Vec<_>>())
        .unwrap_or_default();
    if consumers.is_empty() && one.is_some() {
        return ok().with_body(body);
    }
    if consumers.is_empty() {
        return fail(
            ResponseCode::CONSUMER_NOT_ONLINE,
            format!(
                "Consumer not online, so can not reset offset, Group: {} Topic: {} Timestamp: {}",
                h.group, h.topic, h.timestamp
            ),
        );
    }
    let notice = ResetOffsetRequestHeader {
        topic: h.topic.clone(),
        group: h.group.clone(),
        timestamp: h.timestamp,
        is_force: h.is_force,
        queue_id: one,
        ..Default::default()
    };
    for c in consumers {
        let cmd = RemotingCommand::request_with_header(
            RequestCode::RESET_CONSUMER_CLIENT_OFFSET,
            &notice,
        )
        .with_body(body.clone());
        if let Err(e) = c.conn.request_oneway(cmd).await {
            tracing::warn!(group = %h.group, client = %c.client_id, error = %e, "reset offset notice not sent");
        }
    }
    ok().with_body(body)
}

/// INVOKE_BROKER_TO_GET_CONSUMER_STATUS: each online consumer's queue offsets for the topic
/// (only `clientAddr`'s when given), asked at once; a consumer that does not answer in time is
/// left out.
pub(crate) async fn consumer_status(broker: &Broker, req: &RemotingCommand) -> Response {
    let h = match GetConsumerStatusRequestHeader::read_ext(&req.ext_fields) {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    let wanted = h.client_addr.clone().filter(|c| !c.trim().is_empty());
    let consumers: Vec<ClientChannel> = broker
        .clients
        .consumer_group(&h.group)
        .map(|g| g.channels.into_values().collect())
        .unwrap_or_default();
    if consumers.is_empty() {
        return fail(
            ResponseCode::SYSTEM_ERROR,
            format!(
                "No Any Consumer online in the consumer group: [{}]",
                h.group
            ),
        );
    }
    let ask = GetConsumerStatusRequestHeader {
        topic: h.topic.clone(),
        group: h.group.clone(),
        ..Default::default()
    };
    let mut calls = tokio::task::JoinSet::new();
    for c in consumers {
        if wanted.as_ref().is_some_and(|w| *w != c.client_id) {
            continue;
        }
        let cmd = RemotingCommand::request_with_header(
            RequestCode::GET_CONSUMER_STATUS_FROM_CLIENT,
            &ask,
        );
        calls.spawn(async move {
            let answer = c.conn.request(cmd, STATUS_TIMEOUT).await;
            (c.client_id, answer)
        });
    }
    let mut status = GetConsumerStatusBody::default();
    while let Some(joined) = calls.join_next().await {
        let Ok((client_id, answer)) = joined else {
            continue;
        };
        match answer {
            Ok(r) if r.response_code() == ResponseCode::SUCCESS => {
                match GetConsumerStatusBody::decode(&r.body) {
                    Ok(body) => {
                        status
                            .consumer_table
                            .insert(client_id, QueueOffsets(body.message_queue_table));
                    }
                    Err(e) => {
                        tracing::warn!(group = %h.group, client = %client_id, error = %e, "bad consumer status")
                    }
                }
            }
            Ok(r) => {
                tracing::debug!(group = %h.group, client = %client_id, code = %r.response_code(), "consumer status refused")
            }
            Err(e) => {
                tracing::debug!(group = %h.group, client = %client_id, error = %e, "consumer status not answered")
            }
        }
    }
    ok().with_body(status.encode())
}
