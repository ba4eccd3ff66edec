//! PULL_MESSAGE with long polling (docs/protocol.md, "Pull headers" and "Long polling").
//!
//! A pull that finds nothing new and carries the suspend flag is held on its queue's wake-up
//! (one `Notify` per topic and queue, signalled by the store's dispatcher for every message)
//! until a message arrives or `suspendTimeoutMillis` passes, instead of Apache's per-arrival
//! re-execution plus 5 s scans.

use std::sync::atomic::Ordering;
use std::time::Duration;

use ferromq_protocol::body::{perm, ExpressionType, SubscriptionData, MASTER_ID};
use ferromq_protocol::header::pull::{
    pull_sys_flag, PullMessageRequestHeader, PullMessageResponseHeader,
};
use ferromq_protocol::{CommandHeader, RemotingCommand, ResponseCode};
use ferromq_store::store::MessageFilter;
use ferromq_store::{GetMessageResult, GetMessageStatus};

use crate::filters::{sql_selector, SqlFilter, TagFilter};
use crate::handlers::group::READ_FORBIDDEN_BIT;
use crate::response::{bad_header, fail, Response};
use crate::state::Broker;
use crate::stats::StatsName;

/// Longest hold, whatever the client asks or `shortPollingTimeMills` says.
const MAX_HOLD: Duration = Duration::from_secs(30);
/// Default transfer cap of one pull (Apache's maxMsgBytes default for push consumers).
const DEFAULT_MAX_BYTES: usize = 256 * 1024;

/// The response code and next offset for a store result, as Apache's pull processor maps them.
fn response_code(r: &GetMessageResult, requested: i64) -> (ResponseCode, i64) {
    match r.status {
        GetMessageStatus::Found => (ResponseCode::SUCCESS, r.next_begin_offset),
        GetMessageStatus::NoMatchedMessage | GetMessageStatus::MessageWasRemoving => {
            (ResponseCode::PULL_RETRY_IMMEDIATELY, r.next_begin_offset)
        }
        GetMessageStatus::NoMatchedLogicQueue | GetMessageStatus::NoMessageInQueue => {
            if requested != 0 {
                (ResponseCode::PULL_OFFSET_MOVED, 0)
            } else {
                (ResponseCode::PULL_NOT_FOUND, 0)
            }
        }
        GetMessageStatus::OffsetFoundNull | GetMessageStatus::OffsetOverflowOne => {
            (ResponseCode::PULL_NOT_FOUND, r.next_begin_offset)
        }
        GetMessageStatus::OffsetOverflowBadly | GetMessageStatus::OffsetTooSmall => {
            (ResponseCode::PULL_OFFSET_MOVED, r.next_begin_offset)
        }
    }
}

/// PULL_MESSAGE and LITE_PULL_MESSAGE.
pub(crate) async fn pull_message(broker: &Broker, req: &RemotingCommand) -> Response {
    // One settings snapshot per request (a runtime update swaps in a new one).
    let settings = broker.settings();
    let h = match PullMessageRequestHeader::read_ext(&req.ext_fields) {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    if settings.broker.broker_permission & perm::READ == 0 {
        return fail(
            ResponseCode::NO_PERMISSION,
            "the broker pulling message is forbidden",
        );
    }
    let Some(topic) = broker.topics.get(&h.topic) else {
        return fail(
            ResponseCode::TOPIC_NOT_EXIST,
            format!("topic[{}] not exist, apply first please!", h.topic),
        );
    };
    if topic.perm & perm::READ == 0 {
        return fail(
            ResponseCode::NO_PERMISSION,
            format!("the topic[{}] pulling message is forbidden", h.topic),
        );
    }
    if h.queue_id < 0 || h.queue_id >= topic.read_queue_nums {
        return fail(
            ResponseCode::SYSTEM_ERROR,
            format!(
                "queueId[{}] is illegal, topic: [{}] topicConfig.readQueueNums: [{}]",
                h.queue_id, h.topic, topic.read_queue_nums
            ),
        );
    }
    let group = match broker.group_for(&h.consumer_group) {
        Ok(g) if !g.consume_enable => {
            return fail(
                ResponseCode::NO_PERMISSION,
                format!("subscription group no permission, {}", h.consumer_group),
            )
        }
        Ok(g) => g,
        Err(refusal) => return refusal,
    };
    // UPDATE_AND_GET_GROUP_FORBIDDEN (Apache's read bit, index 2).
    if broker
        .groups
        .is_forbidden(&h.consumer_group, &h.topic, READ_FORBIDDEN_BIT)
    {
        return fail(
            ResponseCode::NO_PERMISSION,
            format!(
                "the consumer group[{}] is forbidden for topic[{}]",
                h.consumer_group, h.topic
            ),
        );
    }
    let sys_flag = h.sys_flag;
    let subscription = if pull_sys_flag::has(sys_flag, pull_sys_flag::SUBSCRIPTION) {
        let expr = h.subscription.clone().unwrap_or_else(|| "*".to_owned());
        Some(SubscriptionData::tag(
            h.topic.as_str(),
            &expr,
            h.sub_version,
        ))
    } else {
        broker.clients.subscription(&h.consumer_group, &h.topic)
    };
    let Some(subscription) = subscription else {
        return fail(
            ResponseCode::SUBSCRIPTION_NOT_EXIST,
            format!(
                "consumer's group info not exist, group: {} topic: {}",
                h.consumer_group, h.topic
            ),
        );
    };
    let sql = match &h.expression_type {
        Some(t) if pull_sys_flag::has(sys_flag, pull_sys_flag::SUBSCRIPTION) => {
            t.eq_ignore_ascii_case("SQL92")
        }
        _ => subscription.expression_type == ExpressionType::Sql92,
    };
    let tag_filter;
    let sql_filter;
    let filter: &dyn MessageFilter = if sql {
        match sql_selector(broker, &subscription.sub_string) {
            Ok(selector) => {
                sql_filter = SqlFilter { selector };
                &sql_filter
            }
            Err(refusal) => return refusal,
        }
    } else {
        tag_filter = TagFilter::new(&subscription);
        &tag_filter
    };
    let is_slave = !settings.broker.broker_role.is_master();
    // A slave whose master is up sends consumers back to it (Apache does so while the group's
    // lowest broker id is the master's): what it has, it serves; for anything else it answers
    // at once instead of holding the pull, so the consumer asks the master without delay.
    let master_up = is_slave && broker.replication.master_link().is_some();
    // Commits ride on pulls to the master only (Apache ignores them on a slave; its clients
    // clear the flag when they pull from one).
    if !is_slave
        && pull_sys_flag::has(sys_flag, pull_sys_flag::COMMIT_OFFSET)
        && h.commit_offset >= 0
    {
        // Forward only: this pull may have been sent just before the consumer's final commit of
        // a queue it hands over in a rebalance, and be handled just after it (requests of one
        // connection run concurrently); a stale offset here would make the next owner consume
        // messages again.
        broker
            .offsets
            .commit_forward(&h.consumer_group, &h.topic, h.queue_id, h.commit_offset);
    }
    // Apache caps what one pull transfers by count and bytes (maxTransferCountOnMessageInMemory
    // / InDisk, maxTransferBytes...); the count also bounds how much of the queue is scanned.
    let store = &settings.store;
    let max_msgs = usize::try_from(h.max_msg_nums).unwrap_or(1).clamp(
        1,
        store
            .max_transfer_count_on_message_in_memory
            .max(store.max_transfer_count_on_message_in_disk)
            .max(1),
    );
    let max_bytes = h
        .max_msg_bytes
        .and_then(|b| usize::try_from(b).ok())
        .filter(|b| *b > 0)
        .unwrap_or(DEFAULT_MAX_BYTES);
    let suspend = pull_sys_flag::has(sys_flag, pull_sys_flag::SUSPEND);
    let hold = if settings.broker.long_polling_enable {
        Duration::from_millis(u64::try_from(h.suspend_timeout_millis).unwrap_or(0))
    } else {
        Duration::from_millis(settings.broker.short_polling_time_mills)
    }
    .min(MAX_HOLD);

    let mut held = false;
    let (result, code, next) = loop {
        let wake = broker.arrival(&h.topic, h.queue_id);
        let notified = wake.notified();
        tokio::pin!(notified);
        // Register before reading, so an arrival between the read and the wait is not missed.
        notified.as_mut().enable();
        let r = broker.store.get_message(
            &h.topic,
            h.queue_id,
            h.queue_offset,
            max_msgs,
            max_bytes,
            filter,
        );
        let (code, mut next) = response_code(&r, h.queue_offset);
        let corrected = !matches!(
            r.status,
            GetMessageStatus::Found
                | GetMessageStatus::NoMatchedMessage
                | GetMessageStatus::MessageWasRemoving
        );
        if is_slave && corrected && !settings.broker.offset_check_in_slave {
            next = h.queue_offset;
        }
        if code == ResponseCode::PULL_NOT_FOUND && suspend && !held && !hold.is_zero() && !master_up
        {
            held = true;
            ferromq_remoting::rpc_metrics::mark_long_polled();
            let meters = &broker.stats.meters;
            let _held = meters
                .is_enabled()
                .then(|| meters.processing.held(req.request_code()));
            let _ = tokio::time::timeout(hold, notified).await;
            continue;
        }
        break (r, code, next);
    };
    // Where the group will read next (Apache's commitPullOffset, on every pull served): the
    // messages between it and the committed offset are in flight (GET_CONSUME_STATS).
    broker
        .offsets
        .commit_pull(&h.consumer_group, &h.topic, h.queue_id, next);
    // Where the consumer should pull next (Apache): with slaveReadEnable, a consumer far
    // behind (its messages no longer in memory) is sent to whichBrokerWhenConsumeSlowly, others
    // to the group's brokerId; without it, always to the master.
    let suggest = if settings.broker.slave_read_enable {
        if result.suggest_pulling_from_slave {
            group.which_broker_when_consume_slowly
        } else {
            group.broker_id
        }
    } else {
        MASTER_ID
    };
    let (suggest, code) = if master_up && !result.suggest_pulling_from_slave {
        let code = if code == ResponseCode::SUCCESS {
            code
        } else {
            ResponseCode::PULL_RETRY_IMMEDIATELY
        };
        (MASTER_ID, code)
    } else {
        (suggest, code)
    };
    let header = PullMessageResponseHeader {
        suggest_which_broker_id: suggest,
        next_begin_offset: next,
        min_offset: result.min_offset,
        max_offset: result.max_offset,
        ..Default::default()
    };
    let mut resp =
        RemotingCommand::response(code, Some(result.status.name().to_owned())).with_header(&header);
    let stats = &broker.stats;
    if code != ResponseCode::SUCCESS {
        stats.missed.fetch_add(1, Ordering::Relaxed);
    }
    if code == ResponseCode::SUCCESS {
        stats.found.fetch_add(1, Ordering::Relaxed);
        stats
            .got
            .fetch_add(result.messages.len() as u64, Ordering::Relaxed);
        let key = format!("{}@{}", h.topic, h.consumer_group);
        stats
            .keyed
            .add(StatsName::GroupGetNums, &key, result.messages.len() as u64);
        let bytes: usize = result.messages.iter().map(|m| m.len()).sum();
        stats.keyed.add(StatsName::GroupGetSize, &key, bytes as u64);
        let cold = result.suggest_pulling_from_slave;
        let messages = result.messages;
        let concat = move || {
            let mut body = Vec::with_capacity(messages.iter().map(|m| m.len()).sum());
            for m in &messages {
                body.extend_from_slice(m);
            }
            body
        };
        // Records beyond accessMessageInMemoryMaxRatio are likely not in the page cache: the copy
        // would fault them in on a runtime worker, stalling every connection it serves.
        resp.body = if cold {
            match tokio::task::spawn_blocking(concat).await {
                Ok(body) => body.into(),
                Err(e) => {
                    return fail(ResponseCode::SYSTEM_ERROR, format!("pull copy failed: {e}"))
                }
            }
        } else {
            concat().into()
        };
    }
    resp
}
