//! POP_MESSAGE, ACK_MESSAGE, BATCH_ACK_MESSAGE and CHANGE_MESSAGE_INVISIBLETIME
//! (docs/pop.md). State lives in [`crate::pop`]; every change is fsynced to the pop ledger
//! before the response.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use ferromq_common::now_ms;
use ferromq_protocol::body::{perm, SubscriptionData};
use ferromq_protocol::header::pop::{
    AckMessageRequestHeader, ChangeInvisibleTimeRequestHeader, ChangeInvisibleTimeResponseHeader,
    PopMessageRequestHeader, PopMessageResponseHeader,
};
use ferromq_protocol::message::{decode_all, property, DecodeOptions};
use ferromq_protocol::{names, CommandHeader, RemotingCommand, ResponseCode};
use ferromq_store::store::MessageFilter;
use ferromq_store::GetMessageStatus;
use futures::future::select_all;

use super::pop_order;
use crate::filters::{sql_selector, SqlFilter, TagFilter};
use crate::pop::batch_ack::BatchAckBody;
use crate::pop::handle::{pop_retry_topic, real_topic, retry_mark, ExtraInfo, OffsetInfos};
use crate::pop::ledger::{Key, Record};
use crate::pop::Claim;
use crate::response::{bad_header, fail, ok, Response};
use crate::state::Broker;

/// Apache's cap on `maxMsgNums`.
const MAX_POP_NUMS: i32 = 32;
/// Longest long poll, whatever the client asks.
const MAX_POLL: Duration = Duration::from_secs(60);
/// Apache's `isTimeoutTooMuch` slack, ms.
const TIMEOUT_SLACK_MS: i64 = 500;
/// Offsets one BATCH_ACK_MESSAGE may ack (Apache's clients send one pop's worth per queue).
const MAX_BATCH_ACK_OFFSETS: usize = 65_536;
/// Bytes one pop reads from one queue at most.
const MAX_BYTES: usize = 4 * 1024 * 1024;

static DICE: AtomicU64 = AtomicU64::new(0x9e37_79b9);

/// A cheap pseudo-random number in `0..n` (the retry-first choice and the first queue).
fn dice(n: u64) -> u64 {
    let mut x = DICE.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed) ^ now_ms() as u64;
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x % n.max(1)
}

/// A POP response: `code`, the header on every outcome (the client needs its required fields).
fn pop_response(code: ResponseCode, remark: &str, header: &PopMessageResponseHeader) -> Response {
    RemotingCommand::response(code, Some(remark.to_owned())).with_header(header)
}

/// What one pass over the queues found.
#[derive(Default)]
struct Found {
    bodies: Vec<Bytes>,
    infos: OffsetInfos,
    rest: i64,
    /// `orderCountInfo` entries (orderly pops).
    order_counts: Vec<String>,
}

/// The per-request settings a pass needs.
struct PopCtx<'a> {
    h: &'a PopMessageRequestHeader,
    filter: &'a dyn MessageFilter,
    pop_time: i64,
    revive_qid: i32,
    broker_name: String,
}

/// POP state lives on the master (its ledger is not replicated): a slave refuses POP requests.
fn refuse_on_slave(broker: &Broker) -> Result<(), Response> {
    if broker.settings().broker.broker_role.is_master() {
        Ok(())
    } else {
        Err(fail(
            ResponseCode::SYSTEM_ERROR,
            "POP is served by the master only (docs/pop.md)",
        ))
    }
}

/// POP_MESSAGE.
pub(crate) async fn pop_message(broker: &Broker, req: &RemotingCommand) -> Response {
    if let Err(refusal) = refuse_on_slave(broker) {
        return refusal;
    }
    let settings = broker.settings();
    let h = match PopMessageRequestHeader::read_ext(&req.ext_fields) {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    let now = now_ms();
    let born = if h.born_time == 0 { now } else { h.born_time };
    let mut header = PopMessageResponseHeader {
        pop_time: now,
        invisible_time: h.invisible_time,
        ..Default::default()
    };
    if h.poll_time > 0 && now - born - h.poll_time > TIMEOUT_SLACK_MS {
        return pop_response(
            ResponseCode::POLLING_TIMEOUT,
            &format!(
                "the broker[{}] pop message is timeout too much",
                settings.broker.broker_ip1
            ),
            &header,
        );
    }
    if settings.broker.broker_permission & perm::READ == 0 {
        return fail(
            ResponseCode::NO_PERMISSION,
            format!(
                "the broker[{}] pop message is forbidden",
                settings.broker.broker_ip1
            ),
        );
    }
    if h.max_msg_nums > MAX_POP_NUMS {
        return fail(
            ResponseCode::INVALID_PARAMETER,
            format!(
                "the broker[{}] pop message's num is greater than 32",
                settings.broker.broker_ip1
            ),
        );
    }
    if h.max_msg_nums < 1 {
        return fail(
            ResponseCode::INVALID_PARAMETER,
            format!("maxMsgNums {} is below 1", h.max_msg_nums),
        );
    }
    if h.invisible_time < 0 {
        return fail(
            ResponseCode::INVALID_PARAMETER,
            format!("invisibleTime {} is negative", h.invisible_time),
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
            format!("the topic[{}] peeking message is forbidden", h.topic),
        );
    }
    // Pop retry topics are read through their normal topic; internal topics are not consumed.
    if h.topic.starts_with(names::RETRY_TOPIC_PREFIX) || names::is_internal_topic(&h.topic) {
        return fail(
            ResponseCode::NO_PERMISSION,
            format!("the topic[{}] cannot be popped", h.topic),
        );
    }
    let queue_id = if h.queue_id < 0 { -1 } else { h.queue_id };
    if queue_id >= topic.read_queue_nums {
        return fail(
            ResponseCode::INVALID_PARAMETER,
            format!(
                "queueId[{}] is illegal, topic:[{}] topicConfig.readQueueNums:[{}] consumer:[{}]",
                queue_id, h.topic, topic.read_queue_nums, h.consumer_group
            ),
        );
    }
    match broker.group_for(&h.consumer_group) {
        Ok(g) if !g.consume_enable => {
            return fail(
                ResponseCode::NO_PERMISSION,
                format!("subscription group no permission, {}", h.consumer_group),
            )
        }
        Ok(_) => {}
        Err(refusal) => return refusal,
    }
    let expr = h
        .exp
        .clone()
        .filter(|e| !e.trim().is_empty())
        .unwrap_or_else(|| "*".to_owned());
    let sql = h
        .exp_type
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("SQL92"));
    let tag_filter;
    let sql_filter;
    let filter: &dyn MessageFilter = if sql {
        match sql_selector(broker, &expr) {
            Ok(selector) => {
                sql_filter = SqlFilter { selector };
                &sql_filter
            }
            Err(mut refusal) => {
                refusal.code = ResponseCode::SUBSCRIPTION_PARSE_FAILED.0;
                return refusal;
            }
        }
    } else {
        tag_filter = TagFilter::new(&SubscriptionData::tag(h.topic.as_str(), &expr, 0));
        &tag_filter
    };
    let order = h.order == Some(true);
    let revive_qid = if order {
        pop_order::ORDER_REVIVE_QID
    } else {
        broker.pop.revive_qid(settings.broker.revive_queue_num)
    };
    header.revive_qid = revive_qid;
    let poll = Duration::from_millis(u64::try_from(h.poll_time).unwrap_or(0)).min(MAX_POLL);
    let deadline = tokio::time::Instant::now() + poll;
    let mut parked = None;
    let result = loop {
        let pop_time = now_ms();
        let ctx = PopCtx {
            h: &h,
            filter,
            pop_time,
            revive_qid,
            broker_name: settings.broker.broker_name.clone(),
        };
        // Listen before reading, so an arrival between the read and the wait is not missed.
        let mut wakes = Vec::new();
        for (t, q) in watched_queues(broker, &h, queue_id, topic.read_queue_nums) {
            wakes.push(broker.arrival(&t, q));
        }
        let mut notified: Vec<_> = wakes.iter().map(|w| Box::pin(w.notified())).collect();
        for n in &mut notified {
            n.as_mut().enable();
        }
        let found = match pop_pass(broker, &ctx, queue_id, topic.read_queue_nums).await {
            Ok(f) => f,
            Err(refusal) => break Err(refusal),
        };
        header.pop_time = pop_time;
        if !found.bodies.is_empty() || poll.is_zero() || tokio::time::Instant::now() >= deadline {
            break Ok(found);
        }
        if parked.is_none() {
            let key = format!("{}@{}@{}", h.topic, h.consumer_group, queue_id);
            parked = broker.pop.park(key, settings.broker.max_pop_polling_size);
            if parked.is_none() {
                header.rest_num = found.rest;
                return pop_response(
                    ResponseCode::POLLING_FULL,
                    "the polling queue is full",
                    &header,
                );
            }
        }
        let _ = tokio::time::timeout_at(deadline, select_all(notified)).await;
    };
    drop(parked);
    let found = match result {
        Ok(f) => f,
        Err(refusal) => return refusal,
    };
    header.rest_num = found.rest;
    if found.bodies.is_empty() {
        return pop_response(
            ResponseCode::POLLING_TIMEOUT,
            "NO_MESSAGE_IN_QUEUE",
            &header,
        );
    }
    let (start, msgs) = found.infos.finish();
    header.start_offset_info = start;
    header.msg_offset_info = msgs;
    if order {
        header.order_count_info = Some(found.order_counts.join(";"));
    }
    let mut body = Vec::with_capacity(found.bodies.iter().map(Bytes::len).sum());
    for b in &found.bodies {
        body.extend_from_slice(b);
    }
    let mut resp = pop_response(ResponseCode::SUCCESS, "FOUND", &header);
    resp.body = body.into();
    resp
}

/// The pop retry topics this broker reads for a group, in order.
fn retry_topics(broker: &Broker, group: &str, topic: &str) -> Vec<String> {
    let b = &broker.settings().broker;
    let mut out = Vec::new();
    if b.enable_retry_topic_v2 {
        out.push(pop_retry_topic(group, topic, true));
        if b.retrieve_message_from_pop_retry_topic_v1 {
            out.push(pop_retry_topic(group, topic, false));
        }
    } else {
        out.push(pop_retry_topic(group, topic, false));
    }
    out
}

fn watched_queues(
    broker: &Broker,
    h: &PopMessageRequestHeader,
    queue_id: i32,
    read_queues: i32,
) -> Vec<(String, i32)> {
    let mut out: Vec<(String, i32)> = retry_topics(broker, &h.consumer_group, &h.topic)
        .into_iter()
        .map(|t| (t, 0))
        .collect();
    if queue_id < 0 {
        out.extend((0..read_queues).map(|q| (h.topic.clone(), q)));
    } else {
        out.push((h.topic.clone(), queue_id));
    }
    out
}

/// One pass: the retry topic(s) first with `popFromRetryProbability`, the normal queue(s), then
/// the retry topic(s) if the batch is not full.
async fn pop_pass(
    broker: &Broker,
    ctx: &PopCtx<'_>,
    queue_id: i32,
    read_queues: i32,
) -> Result<Found, Response> {
    let h = ctx.h;
    let want = usize::try_from(h.max_msg_nums).unwrap_or(1);
    let probability = broker.settings().broker.pop_from_retry_probability;
    let retry_first = dice(100) < u64::try_from(probability).unwrap_or(0);
    // Orderly pops never read the retry topics: redelivery is the blocked batch itself.
    let retries = if h.order == Some(true) {
        Vec::new()
    } else {
        retry_topics(broker, &h.consumer_group, &h.topic)
    };
    let mut found = Found::default();
    if retry_first {
        for t in &retries {
            pop_queue(broker, ctx, t, 0, want, &mut found).await?;
        }
    }
    let queues: Vec<i32> = if queue_id < 0 {
        let n = read_queues.max(0);
        let first = dice(u64::try_from(n).unwrap_or(1)) as i32;
        (0..n).map(|i| (first + i) % n.max(1)).collect()
    } else {
        vec![queue_id]
    };
    for q in queues {
        pop_queue(broker, ctx, &h.topic, q, want, &mut found).await?;
    }
    if !retry_first {
        for t in &retries {
            pop_queue(broker, ctx, t, 0, want, &mut found).await?;
        }
    }
    Ok(found)
}

/// The offset a group starts popping a queue at when it has none (Apache's getInitOffset): MIN
/// and retry topics from the first message; MAX from the last one, or from 0 when the queue was
/// never cleaned (Apache: when its first message is still in memory).
fn init_offset(broker: &Broker, topic: &str, queue_id: i32, init_mode: i32) -> i64 {
    let min = broker.store.min_offset_in_queue(topic, queue_id);
    if init_mode == 0 || topic.starts_with(names::RETRY_TOPIC_PREFIX) {
        min.max(0)
    } else if min <= 0 {
        0
    } else {
        (broker.store.max_offset_in_queue(topic, queue_id) - 1).max(0)
    }
}

/// Pops up to `want - found` messages of one queue and records them durably.
async fn pop_queue(
    broker: &Broker,
    ctx: &PopCtx<'_>,
    topic: &str,
    queue_id: i32,
    want: usize,
    found: &mut Found,
) -> Result<(), Response> {
    let h = ctx.h;
    let group = h.consumer_group.as_str();
    if topic != h.topic && !broker.topics.contains(topic) {
        return Ok(());
    }
    let max_offset = broker.store.max_offset_in_queue(topic, queue_id);
    let Some(_guard) = broker.pop.try_queue(group, topic, queue_id) else {
        // Another pop of this group holds the queue: skip it rather than wait.
        return Ok(());
    };
    let mut offset = match broker.pop.offset(group, topic, queue_id) {
        Some(o) => o,
        None => match broker.offsets.query(group, topic, queue_id) {
            Some(o) if o >= 0 => o,
            _ => init_offset(broker, topic, queue_id, h.init_mode),
        },
    };
    let left = want.saturating_sub(found.bodies.len());
    let order = h.order == Some(true);
    let attempt = h.attempt_id.as_deref();
    if left == 0
        || (order && pop_order::blocked(broker, group, topic, queue_id, attempt, ctx.pop_time))
    {
        found.rest += (max_offset - offset).max(0);
        return Ok(());
    }
    let mut result = None;
    // Offsets corrected by the store (too small, overflow, a hole) are read again once.
    for _ in 0..2 {
        let r = broker
            .store
            .get_message(topic, queue_id, offset, left, MAX_BYTES, ctx.filter);
        match r.status {
            GetMessageStatus::OffsetTooSmall
            | GetMessageStatus::OffsetOverflowBadly
            | GetMessageStatus::OffsetFoundNull
                if r.next_begin_offset != offset =>
            {
                offset = r.next_begin_offset;
            }
            _ => {
                result = Some(r);
                break;
            }
        }
    }
    let Some(r) = result else {
        return Ok(());
    };
    let next = if r.status == GetMessageStatus::Found
        || r.status == GetMessageStatus::NoMatchedMessage
        || r.status == GetMessageStatus::MessageWasRemoving
    {
        r.next_begin_offset.max(offset)
    } else {
        offset
    };
    let known = broker.pop.offset(group, topic, queue_id);
    if r.messages.is_empty() {
        if known != Some(next) {
            let rec = Record::Offset {
                g: group.to_owned(),
                t: topic.to_owned(),
                q: queue_id,
                n: next,
            };
            write(broker, vec![rec]).await?;
            broker.offsets.commit(group, topic, queue_id, next);
        }
        found.rest += (r.max_offset - next).max(0);
        return Ok(());
    }
    let offsets = r.queue_offsets.clone();
    if order {
        let counts = pop_order::counts(broker, group, topic, queue_id, attempt, &offsets);
        let start = offsets.first().copied().unwrap_or(offset);
        let rec = Record::OrderPop {
            g: group.to_owned(),
            t: topic.to_owned(),
            q: queue_id,
            pt: ctx.pop_time,
            it: h.invisible_time,
            a: h.attempt_id.clone(),
            o: offsets.clone(),
            c: counts.iter().map(|(o, c)| (*o, *c)).collect(),
            n: start,
        };
        write(broker, vec![rec]).await?;
        broker.offsets.commit(group, topic, queue_id, start);
        found
            .order_counts
            .extend(pop_order::count_info(queue_id, &offsets, &counts));
        found.bodies.extend(r.messages);
        found.infos.add(topic, queue_id, start, &offsets);
        found.rest += (r.max_offset - next).max(0);
        return Ok(());
    }
    let rec = Record::Pop {
        g: group.to_owned(),
        t: topic.to_owned(),
        q: queue_id,
        pt: ctx.pop_time,
        it: h.invisible_time,
        rq: ctx.revive_qid,
        o: offsets.clone(),
        n: next,
    };
    write(broker, vec![rec]).await?;
    broker.offsets.commit(group, topic, queue_id, next);
    if u64::try_from(h.invisible_time).unwrap_or(0) < broker.settings().broker.revive_interval {
        // Due before the revive task's next look.
        broker.pop.revive_wake.notify_one();
    }
    let start = offsets.first().copied().unwrap_or(offset);
    let mark = retry_mark(topic);
    for (bytes, qo) in r.messages.into_iter().zip(offsets.iter()) {
        if mark == 0 {
            found.bodies.push(bytes);
            continue;
        }
        // A retry message goes out under its normal topic, with its handle already set (the
        // client builds handles only for messages without one).
        let handle = ExtraInfo {
            ck_offset: start,
            pop_time: ctx.pop_time,
            invisible_time: h.invisible_time,
            revive_qid: ctx.revive_qid,
            retry: mark,
            broker_name: ctx.broker_name.clone(),
            queue_id,
            queue_offset: *qo,
        };
        let recoded = decode_all(&bytes, &DecodeOptions::store())
            .ok()
            .and_then(|mut v| v.pop())
            .and_then(|mut m| {
                if m.properties.value(property::POP_CK).is_none() {
                    m.properties.insert(property::POP_CK, handle.build());
                }
                m.topic = h.topic.clone();
                m.encode_to_bytes().ok()
            });
        match recoded {
            Some(b) => found.bodies.push(b),
            None => found.bodies.push(bytes),
        }
    }
    found.infos.add(topic, queue_id, start, &offsets);
    found.rest += (r.max_offset - next).max(0);
    Ok(())
}

async fn write(broker: &Broker, records: Vec<Record>) -> Result<(), Response> {
    broker
        .pop
        .write(records)
        .await
        .map_err(|reason| fail(ResponseCode::SYSTEM_ERROR, reason))
}

/// The checks ACK and CHANGE share: the handle parses, the topic exists, the queue is one of
/// its read queues. Returns the parsed handle.
fn check_handle(
    broker: &Broker,
    topic: &str,
    queue_id: i32,
    extra_info: &str,
    group: &str,
) -> Result<ExtraInfo, Response> {
    let handle = ExtraInfo::parse(extra_info).map_err(|e| fail(ResponseCode::SYSTEM_ERROR, e))?;
    let Some(config) = broker.topics.get(topic) else {
        return Err(fail(
            ResponseCode::TOPIC_NOT_EXIST,
            format!("topic[{topic}] not exist, apply first please!"),
        ));
    };
    if queue_id < 0 || queue_id >= config.read_queue_nums {
        return Err(fail(
            ResponseCode::MESSAGE_ILLEGAL,
            format!(
                "queueId[{queue_id}] is illegal, topic:[{topic}] topicConfig.readQueueNums:[{}] consumer:[{group}]",
                config.read_queue_nums
            ),
        ));
    }
    Ok(handle)
}

/// ACK_MESSAGE.
pub(crate) async fn ack_message(broker: &Broker, req: &RemotingCommand) -> Response {
    if let Err(refusal) = refuse_on_slave(broker) {
        return refusal;
    }
    let h = match AckMessageRequestHeader::read_ext(&req.ext_fields) {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    let handle = match check_handle(
        broker,
        &h.topic,
        h.queue_id,
        &h.extra_info,
        &h.consumer_group,
    ) {
        Ok(x) => x,
        Err(refusal) => return refusal,
    };
    let (min, max) = (
        broker.store.min_offset_in_queue(&h.topic, h.queue_id),
        broker.store.max_offset_in_queue(&h.topic, h.queue_id),
    );
    if h.offset < min || h.offset > max {
        return fail(ResponseCode::NO_MESSAGE, "offset is illegal");
    }
    if handle.revive_qid == pop_order::ORDER_REVIVE_QID {
        return pop_order::ack(
            broker,
            &h.consumer_group,
            &h.topic,
            h.queue_id,
            h.offset,
            &handle,
        )
        .await;
    }
    let key = Key {
        group: h.consumer_group.clone(),
        topic: h.topic.clone(),
        queue_id: h.queue_id,
        offset: h.offset,
    };
    ack_keys(broker, vec![(key, handle.pop_time)]).await
}

/// Acks `keys` (each with its handle's pop time) with one ledger write; keys without a
/// matching in-flight entry are no-ops.
async fn ack_keys(broker: &Broker, keys: Vec<(Key, i64)>) -> Response {
    let mut claimed = Vec::new();
    let mut records = Vec::new();
    for (key, pt) in keys {
        if broker.pop.claim(&key, pt) == Claim::Claimed {
            records.push(Record::Ack {
                g: key.group.clone(),
                t: key.topic.clone(),
                q: key.queue_id,
                o: key.offset,
                pt,
            });
            claimed.push(key);
        }
    }
    if records.is_empty() {
        return ok();
    }
    match broker.pop.write(records).await {
        Ok(()) => ok(),
        Err(reason) => {
            broker.pop.release(&claimed);
            fail(ResponseCode::SYSTEM_ERROR, reason)
        }
    }
}

/// BATCH_ACK_MESSAGE.
pub(crate) async fn batch_ack(broker: &Broker, req: &RemotingCommand) -> Response {
    if let Err(refusal) = refuse_on_slave(broker) {
        return refusal;
    }
    if req.body.is_empty() {
        return fail(ResponseCode::NO_MESSAGE, "no acks in the body");
    }
    let body: BatchAckBody = match serde_json::from_slice(&req.body) {
        Ok(b) => b,
        Err(e) => {
            return fail(
                ResponseCode::SYSTEM_ERROR,
                format!("bad BatchAckMessageRequestBody: {e}"),
            )
        }
    };
    let acks = body.acks.unwrap_or_default();
    if acks.is_empty() {
        return fail(ResponseCode::NO_MESSAGE, "no acks in the body");
    }
    let mut keys = Vec::new();
    for ack in &acks {
        let mark = match ack.retry_mark() {
            Ok(m) => m,
            Err(e) => return fail(ResponseCode::SYSTEM_ERROR, e),
        };
        let topic = real_topic(&ack.topic, &ack.group, mark);
        let Some(config) = broker.topics.get(&topic) else {
            continue;
        };
        if ack.queue_id < 0 || ack.queue_id >= config.read_queue_nums {
            continue;
        }
        let (min, max) = (
            broker.store.min_offset_in_queue(&topic, ack.queue_id),
            broker.store.max_offset_in_queue(&topic, ack.queue_id),
        );
        if min < 0 || max < 0 {
            continue;
        }
        let room = MAX_BATCH_ACK_OFFSETS.saturating_sub(keys.len());
        let offsets = match ack.offsets(min, max, room) {
            Ok(o) => o,
            Err(e) => return fail(ResponseCode::INVALID_PARAMETER, e),
        };
        for o in offsets {
            keys.push((
                Key {
                    group: ack.group.clone(),
                    topic: topic.clone(),
                    queue_id: ack.queue_id,
                    offset: o,
                },
                ack.pop_time,
            ));
        }
    }
    ack_keys(broker, keys).await
}

/// CHANGE_MESSAGE_INVISIBLETIME.
pub(crate) async fn change_invisible_time(broker: &Broker, req: &RemotingCommand) -> Response {
    if let Err(refusal) = refuse_on_slave(broker) {
        return refusal;
    }
    let h = match ChangeInvisibleTimeRequestHeader::read_ext(&req.ext_fields) {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    let handle = match check_handle(
        broker,
        &h.topic,
        h.queue_id,
        &h.extra_info,
        &h.consumer_group,
    ) {
        Ok(x) => x,
        Err(refusal) => return refusal,
    };
    let (min, max) = (
        broker.store.min_offset_in_queue(&h.topic, h.queue_id),
        broker.store.max_offset_in_queue(&h.topic, h.queue_id),
    );
    if h.offset < min || h.offset >= max {
        return RemotingCommand::response(ResponseCode::NO_MESSAGE, None);
    }
    if h.invisible_time < 0 {
        return fail(
            ResponseCode::INVALID_PARAMETER,
            format!("invisibleTime {} is negative", h.invisible_time),
        );
    }
    if handle.revive_qid == pop_order::ORDER_REVIVE_QID {
        return pop_order::change(
            broker,
            &h.consumer_group,
            &h.topic,
            h.queue_id,
            h.offset,
            &handle,
            h.invisible_time,
        )
        .await;
    }
    let now = now_ms();
    let key = Key {
        group: h.consumer_group.clone(),
        topic: h.topic.clone(),
        queue_id: h.queue_id,
        offset: h.offset,
    };
    if broker.pop.claim(&key, handle.pop_time) == Claim::Claimed {
        let rec = Record::Change {
            g: key.group.clone(),
            t: key.topic.clone(),
            q: key.queue_id,
            o: key.offset,
            pt: handle.pop_time,
            npt: now,
            it: h.invisible_time,
        };
        if let Err(reason) = broker.pop.write(vec![rec]).await {
            broker.pop.release(&[key]);
            return fail(ResponseCode::SYSTEM_ERROR, reason);
        }
        // The revive task may be asleep until a later entry: let it look again.
        broker.pop.revive_wake.notify_one();
    }
    let header = ChangeInvisibleTimeResponseHeader {
        pop_time: now,
        invisible_time: h.invisible_time,
        revive_qid: handle.revive_qid,
    };
    RemotingCommand::response(ResponseCode::SUCCESS, None).with_header(&header)
}
