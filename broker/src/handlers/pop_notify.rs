//! NOTIFICATION (200054), POLLING_INFO (200055) and PEEK_MESSAGE (200052): whether a group has
//! messages to pop (with long polling), how many pops are parked on a queue, and what a pop
//! would read, without popping (docs/pop.md, "Notification").

use std::time::Duration;

use bytes::Bytes;
use ferromq_common::now_ms;
use ferromq_protocol::body::perm;
use ferromq_protocol::body::SubscriptionData;
use ferromq_protocol::header::pop::{
    NotificationRequestHeader, NotificationResponseHeader, PeekMessageRequestHeader,
    PollingInfoRequestHeader, PollingInfoResponseHeader, PopMessageResponseHeader,
};
use ferromq_protocol::{names, CommandHeader, RemotingCommand, ResponseCode};
use futures::future::select_all;

use crate::filters::TagFilter;
use crate::pop::handle::pop_retry_topic;
use crate::response::{bad_header, fail, Response};
use crate::state::Broker;

/// Longest notification long poll.
const MAX_POLL: Duration = Duration::from_secs(60);

/// The checks NOTIFICATION and POLLING_INFO share with POP; returns the topic's read queues.
fn check(broker: &Broker, topic: &str, group: &str, queue_id: i32) -> Result<i32, Response> {
    let settings = broker.settings();
    if !settings.broker.broker_role.is_master() {
        return Err(fail(
            ResponseCode::SYSTEM_ERROR,
            "POP is served by the master only (docs/pop.md)",
        ));
    }
    if settings.broker.broker_permission & perm::READ == 0 {
        return Err(fail(
            ResponseCode::NO_PERMISSION,
            format!(
                "the broker[{}] peeking message is forbidden",
                settings.broker.broker_ip1
            ),
        ));
    }
    let Some(config) = broker.topics.get(topic) else {
        return Err(fail(
            ResponseCode::TOPIC_NOT_EXIST,
            format!("topic[{topic}] not exist, apply first please!"),
        ));
    };
    if config.perm & perm::READ == 0 {
        return Err(fail(
            ResponseCode::NO_PERMISSION,
            format!("the topic[{topic}] peeking message is forbidden"),
        ));
    }
    if queue_id >= config.read_queue_nums {
        return Err(fail(
            ResponseCode::INVALID_PARAMETER,
            format!(
                "queueId[{queue_id}] is illegal, topic:[{topic}] topicConfig.readQueueNums:[{}] consumer:[{group}]",
                config.read_queue_nums
            ),
        ));
    }
    // Created on demand as for a pop (`autoCreateSubscriptionGroup`), as Apache's lookup does.
    match broker.group_for(group) {
        Err(refusal) => Err(refusal),
        Ok(g) if !g.consume_enable => Err(fail(
            ResponseCode::NO_PERMISSION,
            format!("subscription group no permission, {group}"),
        )),
        Ok(_) => Ok(config.read_queue_nums),
    }
}

/// The queues a notification looks at: the topic's (one or all) and the group's retry topics.
fn queues(broker: &Broker, h: &NotificationRequestHeader, read_queues: i32) -> Vec<(String, i32)> {
    let b = broker.settings();
    let mut out: Vec<(String, i32)> = if h.queue_id < 0 {
        (0..read_queues).map(|q| (h.topic.clone(), q)).collect()
    } else {
        vec![(h.topic.clone(), h.queue_id)]
    };
    let v2 = b.broker.enable_retry_topic_v2;
    out.push((pop_retry_topic(&h.consumer_group, &h.topic, v2), 0));
    if v2 && b.broker.retrieve_message_from_pop_retry_topic_v1 {
        out.push((pop_retry_topic(&h.consumer_group, &h.topic, false), 0));
    }
    out
}

/// Whether the group has something to pop on one of `queues`.
fn has_messages(broker: &Broker, h: &NotificationRequestHeader, queues: &[(String, i32)]) -> bool {
    let group = h.consumer_group.as_str();
    let now = now_ms();
    queues.iter().any(|(topic, q)| {
        if h.order == Some(true)
            && super::pop_order::blocked(broker, group, topic, *q, h.attempt_id.as_deref(), now)
        {
            return false;
        }
        let offset = broker
            .pop
            .offset(group, topic, *q)
            .or_else(|| broker.offsets.query(group, topic, *q).filter(|o| *o >= 0))
            .unwrap_or_else(|| broker.store.min_offset_in_queue(topic, *q).max(0));
        broker.store.max_offset_in_queue(topic, *q) > offset
    })
}

fn notification(has_msg: bool, polling_full: bool) -> Response {
    let h = NotificationResponseHeader {
        has_msg,
        polling_full: polling_full.then_some(true),
    };
    RemotingCommand::response(ResponseCode::SUCCESS, None).with_header(&h)
}

/// NOTIFICATION.
pub(crate) async fn notification_request(broker: &Broker, req: &RemotingCommand) -> Response {
    let h = match NotificationRequestHeader::read_ext(&req.ext_fields) {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    if h.topic.starts_with(names::RETRY_TOPIC_PREFIX) {
        return fail(
            ResponseCode::NO_PERMISSION,
            format!("the topic[{}] cannot be popped", h.topic),
        );
    }
    let read_queues = match check(broker, &h.topic, &h.consumer_group, h.queue_id) {
        Ok(n) => n,
        Err(refusal) => return refusal,
    };
    let watched = queues(broker, &h, read_queues);
    let born = if h.born_time == 0 {
        now_ms()
    } else {
        h.born_time
    };
    let left = born.saturating_add(h.poll_time).saturating_sub(now_ms());
    let poll = Duration::from_millis(u64::try_from(left).unwrap_or(0)).min(MAX_POLL);
    let deadline = tokio::time::Instant::now() + poll;
    let mut parked = None;
    loop {
        let wakes: Vec<_> = watched.iter().map(|(t, q)| broker.arrival(t, *q)).collect();
        let mut notified: Vec<_> = wakes.iter().map(|w| Box::pin(w.notified())).collect();
        for n in &mut notified {
            n.as_mut().enable();
        }
        if has_messages(broker, &h, &watched) {
            return notification(true, false);
        }
        if poll.is_zero() || tokio::time::Instant::now() >= deadline {
            return notification(false, false);
        }
        if parked.is_none() {
            let key = format!("notify:{}@{}@{}", h.topic, h.consumer_group, h.queue_id);
            let max = broker.settings().broker.max_pop_polling_size;
            parked = broker.pop.park(key, max);
            if parked.is_none() {
                return notification(false, true);
            }
        }
        let _ = tokio::time::timeout_at(deadline, select_all(notified)).await;
    }
}

/// POLLING_INFO.
pub(crate) fn polling_info(broker: &Broker, req: &RemotingCommand) -> Response {
    let h = match PollingInfoRequestHeader::read_ext(&req.ext_fields) {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    if let Err(refusal) = check(broker, &h.topic, &h.consumer_group, h.queue_id) {
        return refusal;
    }
    let key = format!("{}@{}@{}", h.topic, h.consumer_group, h.queue_id);
    let n = broker.pop.parked_on(&key);
    let header = PollingInfoResponseHeader {
        polling_num: i32::try_from(n).unwrap_or(i32::MAX),
    };
    RemotingCommand::response(ResponseCode::SUCCESS, None).with_header(&header)
}

/// PEEK_MESSAGE: up to `maxMsgNums` (at most 32) messages from where the group would pop next,
/// the group's pop retry topics included, changing nothing. PULL_NOT_FOUND when there are none.
pub(crate) fn peek(broker: &Broker, req: &RemotingCommand) -> Response {
    let h = match PeekMessageRequestHeader::read_ext(&req.ext_fields) {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    let read_queues = match check(broker, &h.topic, &h.consumer_group, h.queue_id) {
        Ok(n) => n,
        Err(refusal) => return refusal,
    };
    let as_notification = NotificationRequestHeader {
        consumer_group: h.consumer_group.clone(),
        topic: h.topic.clone(),
        queue_id: if h.queue_id < 0 { -1 } else { h.queue_id },
        ..Default::default()
    };
    let watched = queues(broker, &as_notification, read_queues);
    let want = usize::try_from(h.max_msg_nums.clamp(1, 32)).unwrap_or(1);
    let all = SubscriptionData::tag(h.topic.as_str(), "*", 0);
    let filter = TagFilter::new(&all);
    let mut bodies: Vec<Bytes> = Vec::new();
    let mut rest = 0i64;
    for (topic, q) in &watched {
        let offset = broker
            .pop
            .offset(&h.consumer_group, topic, *q)
            .or_else(|| {
                broker
                    .offsets
                    .query(&h.consumer_group, topic, *q)
                    .filter(|o| *o >= 0)
            })
            .unwrap_or_else(|| broker.store.min_offset_in_queue(topic, *q).max(0));
        let max = broker.store.max_offset_in_queue(topic, *q);
        rest += (max - offset).max(0);
        let left = want.saturating_sub(bodies.len());
        if left == 0 {
            continue;
        }
        let r = broker
            .store
            .get_message(topic, *q, offset, left, 4 * 1024 * 1024, &filter);
        bodies.extend(r.messages);
    }
    let header = PopMessageResponseHeader {
        rest_num: rest,
        ..Default::default()
    };
    if bodies.is_empty() {
        return RemotingCommand::response(
            ResponseCode::PULL_NOT_FOUND,
            Some("NO_MESSAGE_IN_QUEUE".to_owned()),
        )
        .with_header(&header);
    }
    let mut body = Vec::with_capacity(bodies.iter().map(Bytes::len).sum());
    for b in &bodies {
        body.extend_from_slice(b);
    }
    let mut resp = RemotingCommand::response(ResponseCode::SUCCESS, Some("FOUND".to_owned()))
        .with_header(&header);
    resp.body = body.into();
    resp
}
