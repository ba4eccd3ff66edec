//! SEND_MESSAGE, SEND_MESSAGE_V2 and SEND_BATCH_MESSAGE (docs/architecture.md, "A send";
//! docs/protocol.md, "Send headers"): validation as Apache does it, the stored message, and the
//! response Java clients read.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use ferromq_protocol::body::perm;
use ferromq_protocol::header::send::{SendMessageRequestHeader, SendMessageResponseHeader};
use ferromq_protocol::message::{
    create_message_id, decode_batch, property, MessageExt, Properties, UniqIdGenerator,
};
use ferromq_protocol::{names, RemotingCommand, RequestCode, ResponseCode};
use ferromq_remoting::Connection;
use ferromq_store::configs::TIMER_TOPIC;
use ferromq_store::{PutStatus, StoreError};

use crate::transactions::HALF_TOPIC;

use crate::config::{BrokerRole, Settings};
use crate::meters::MessageType;
use crate::replication::Replicated;
use crate::response::{bad_header, fail, ok, Response};
use crate::state::Broker;
use crate::stats::StatsName;

fn uniq_ids(broker: &Broker) -> &'static UniqIdGenerator {
    static GEN: OnceLock<UniqIdGenerator> = OnceLock::new();
    GEN.get_or_init(|| UniqIdGenerator::for_current_process(broker.store_host.ip()))
}

static RANDOM: AtomicU64 = AtomicU64::new(0x9E37_79B9_7F4A_7C15);

fn next_random() -> u64 {
    // xorshift; only spreads sends with queueId < 0 over the queues.
    let mut x = RANDOM.load(Ordering::Relaxed);
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    RANDOM.store(x, Ordering::Relaxed);
    x
}

pub(crate) async fn send_message(
    broker: &Broker,
    conn: &Connection,
    req: &RemotingCommand,
) -> Response {
    // One settings snapshot per request (a runtime update swaps in a new one).
    let settings = broker.settings();
    let h = match SendMessageRequestHeader::from_command(req) {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    let queue_id = match admit_write(broker, &settings, &h).await {
        Ok(queue_id) => queue_id,
        Err(refusal) => return refusal,
    };
    // A retry message redelivered too often goes to the group's dead-letter queue; so does one
    // sent back by an orderly consumer (the group holds queue locks), as Apache's
    // `handleRetryAndDLQ` does: orderly clients send back only what they gave up on.
    let (target_topic, queue_id) = match h.topic.strip_prefix(names::RETRY_TOPIC_PREFIX) {
        Some(group) => {
            let max = broker.max_reconsume_times(group, h.max_reconsume_times, req.version);
            if h.reconsume_times.unwrap_or(0) > max
                || broker.locks.any_live(group, std::time::Instant::now())
            {
                (broker.ensure_dlq_topic(group).await, 0)
            } else {
                (h.topic.clone(), queue_id)
            }
        }
        None => (h.topic.clone(), queue_id),
    };
    let batch = req.request_code() == RequestCode::SEND_BATCH_MESSAGE;
    if batch && h.topic.starts_with(names::RETRY_TOPIC_PREFIX) {
        return fail(
            ResponseCode::MESSAGE_ILLEGAL,
            "batch request does not support retry group",
        );
    }

    let to_dlq = target_topic != h.topic;
    let base = |body: Bytes, flag: i32, mut properties: Properties| {
        if to_dlq {
            // Dead letters wait for nothing (Apache sets delay level 0 on this path).
            properties.remove(property::DELAY_TIME_LEVEL);
        }
        if properties.uniq_key().is_none() {
            properties.insert(
                property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
                uniq_ids(broker).next_id(),
            );
        }
        properties.insert("CLUSTER", settings.broker.broker_cluster_name.as_str());
        MessageExt {
            topic: target_topic.clone(),
            queue_id,
            flag,
            body,
            properties,
            sys_flag: h.sys_flag,
            born_timestamp: h.born_timestamp,
            born_host: conn.peer_addr(),
            store_host: broker.store_host,
            reconsume_times: h.reconsume_times.unwrap_or(0),
            ..MessageExt::default()
        }
    };
    let meters = &broker.stats.meters;
    let mut kind = None;
    let messages: Vec<MessageExt> = if batch {
        if meters.is_enabled() {
            let properties = Properties::decode(h.properties.as_deref().unwrap_or(""));
            kind = Some(MessageType::of(&properties));
        }
        match decode_batch(&req.body) {
            Ok(entries) if !entries.is_empty() => entries
                .into_iter()
                .map(|e| base(e.body, e.flag, e.properties))
                .collect(),
            Ok(_) => return fail(ResponseCode::MESSAGE_ILLEGAL, "empty batch"),
            Err(e) => {
                return fail(
                    ResponseCode::MESSAGE_ILLEGAL,
                    format!("bad batch body: {e}"),
                )
            }
        }
    } else {
        let mut properties = Properties::decode(h.properties.as_deref().unwrap_or(""));
        if meters.is_enabled() {
            kind = Some(MessageType::of(&properties));
        }
        // What Apache 5.3.3's send hook context stamps on every single message it stores.
        properties.insert(property::MSG_REGION, settings.broker.region_id.as_str());
        properties.insert(
            property::TRACE_SWITCH,
            if settings.broker.trace_on {
                "true"
            } else {
                "false"
            },
        );
        let mut message = base(req.body.clone(), h.flag, properties);
        match broker.prepare_half(&mut message) {
            Ok(true) => {}
            Ok(false) => {
                if let Err(refusal) = broker.park_if_delayed(&mut message) {
                    return refusal;
                }
            }
            Err(refusal) => return refusal,
        }
        vec![message]
    };

    let pending = match broker.store.put_messages(&messages) {
        Ok(p) => p,
        Err(StoreError::MessageIllegal(reason)) => {
            return fail(ResponseCode::MESSAGE_ILLEGAL, reason)
        }
        Err(e @ StoreError::NotWritable(_)) => {
            return fail(ResponseCode::SERVICE_NOT_AVAILABLE, e.to_string())
        }
        Err(e) => return fail(ResponseCode::SYSTEM_ERROR, e.to_string()),
    };
    let result = pending.finish().await;
    let mut resp = match &result.status {
        PutStatus::PutOk => ok(),
        PutStatus::FlushDiskTimeout => RemotingCommand::response(
            ResponseCode::FLUSH_DISK_TIMEOUT,
            Some(
                "flush disk timeout: the message is stored but not yet confirmed on disk"
                    .to_owned(),
            ),
        ),
        // A write or sync of the store failed: not acknowledged (Apache answers SEND_OK here,
        // apache/rocketmq#2706).
        PutStatus::Failed(reason) => {
            return fail(ResponseCode::SYSTEM_ERROR, format!("store fault: {reason}"))
        }
    };
    let wait = messages
        .first()
        .is_none_or(|m| m.properties.wait_store_msg_ok());
    if settings.broker.enable_controller_mode {
        if wait {
            if let Some(refusal) =
                crate::replicas::replicated(broker, &settings, result.append.end_offset()).await
            {
                resp = refusal;
            }
        }
    } else if settings.broker.broker_role == BrokerRole::SyncMaster && wait {
        // As Apache, a replica's answer overrides the flush's.
        if let Some(refusal) = replicated(broker, &settings, result.append.end_offset()).await {
            resp = refusal;
        }
    }
    let stats = &broker.stats;
    stats
        .put
        .fetch_add(messages.len() as u64, std::sync::atomic::Ordering::Relaxed);
    // By the topic the producer named (a delayed message is stored under the schedule topic).
    stats
        .keyed
        .add(StatsName::TopicPutNums, &h.topic, messages.len() as u64);
    let bytes: usize = messages.iter().map(|m| m.body.len()).sum();
    stats
        .keyed
        .add(StatsName::TopicPutSize, &h.topic, bytes as u64);
    if let Some(kind) = kind {
        meters.message_in(
            &h.topic,
            kind,
            messages.len() as u64,
            result.append.bytes as u64,
        );
    }
    if to_dlq {
        meters.sent_to_dlq(&h.producer_group, &h.topic);
    }
    if messages.first().is_some_and(|m| m.topic == HALF_TOPIC) {
        meters.half_stored(&h.topic);
    }
    let msg_id = match result.append.records.as_slice() {
        [(offset, _)] => create_message_id(broker.store_host, *offset as i64),
        records => records
            .iter()
            .map(|(offset, _)| create_message_id(broker.store_host, *offset as i64))
            .collect::<Vec<_>>()
            .join(","),
    };
    let transaction_id = messages
        .first()
        .and_then(|m| m.properties.uniq_key())
        .map(str::to_owned);
    // A single timer message can be recalled until it is due (Apache's attachRecallHandle).
    let recall_handle = match messages.as_slice() {
        [m] if !batch && m.topic == TIMER_TOPIC => {
            crate::handlers::recall::handle_for(&settings.broker.broker_name, m)
        }
        _ => None,
    };
    let header = SendMessageResponseHeader {
        msg_id,
        recall_handle,
        queue_id,
        queue_offset: result.append.queue_offset,
        transaction_id,
        msg_region: Some(settings.broker.region_id.clone()),
        trace_on: Some(settings.broker.trace_on),
        ..Default::default()
    };
    resp.with_header(&header)
}

/// What a slave answers a write (Apache's remark for SERVICE_NOT_AVAILABLE).
/// The checks a message written to a topic passes before anything is stored, for sends and
/// replies alike: this broker is a writable master, the topic's name is legal and not one only
/// the broker writes, the topic exists (or is auto-created) and is writable, and the queue is
/// one of its queues. Returns the queue to write to (`queueId < 0`: one picked at random).
pub(crate) async fn admit_write(
    broker: &Broker,
    settings: &Settings,
    h: &SendMessageRequestHeader,
) -> Result<i32, Response> {
    if !settings.broker.broker_role.is_master() {
        return Err(fail(
            ResponseCode::SERVICE_NOT_AVAILABLE,
            SLAVE_REFUSES_WRITES,
        ));
    }
    if settings.broker.enable_controller_mode {
        crate::replicas::admit(broker, settings)?;
    }
    if settings.broker.broker_permission & perm::WRITE == 0 {
        return Err(fail(
            ResponseCode::NO_PERMISSION,
            format!(
                "the broker[{}] sending message is forbidden",
                settings.broker.broker_name
            ),
        ));
    }
    if let Err(e) = names::check_topic(&h.topic) {
        return Err(fail(ResponseCode::INVALID_PARAMETER, e.to_string()));
    }
    // Apache refuses the schedule and transaction topics; FerroMQ refuses every topic only the
    // broker writes (the timer topic too, whose REAL_TOPIC the broker would otherwise trust).
    if names::is_internal_topic(&h.topic) {
        return Err(fail(
            ResponseCode::NO_PERMISSION,
            format!("Sending message to topic[{}] is forbidden.", h.topic),
        ));
    }
    let topic = match broker
        .topic_for_send(&h.topic, h.default_topic_queue_nums)
        .await
    {
        Ok(topic) => topic,
        Err(refusal) => return Err(refusal),
    };
    if topic.perm & perm::WRITE == 0 {
        return Err(fail(
            ResponseCode::NO_PERMISSION,
            format!("the topic[{}] sending message is forbidden", h.topic),
        ));
    }
    let queues = topic.write_queue_nums.max(topic.read_queue_nums).max(1);
    let queue_id = if h.queue_id < 0 {
        (next_random() % topic.write_queue_nums.max(1) as u64) as i32
    } else {
        h.queue_id
    };
    if queue_id >= queues {
        return Err(fail(
            ResponseCode::INVALID_PARAMETER,
            format!("request queueId[{queue_id}] is illegal, topic has {queues} queues"),
        ));
    }
    Ok(queue_id)
}

pub(crate) const SLAVE_REFUSES_WRITES: &str = "service not available now: this broker is a slave \
    (brokerRole=SLAVE), messages are put to its master";

/// Waits for a SYNC_MASTER's slaves to have everything below `end`; the response that
/// replaces SUCCESS when they do not.
async fn replicated(broker: &Broker, settings: &Settings, end: u64) -> Option<Response> {
    let b = &settings.broker;
    let needed = usize::try_from(b.in_sync_replicas.saturating_sub(1).max(1)).unwrap_or(1);
    let master_end = broker.store.commit_log().max_offset();
    let timeout = Duration::from_millis(b.slave_timeout);
    match broker
        .replication
        .wait(end, needed, master_end, b.ha_max_gap_not_in_sync, timeout)
        .await
    {
        Replicated::Yes => None,
        Replicated::NoSlave => Some(RemotingCommand::response(
            ResponseCode::SLAVE_NOT_AVAILABLE,
            Some(format!(
                "the message is stored on the master, but fewer than {needed} slave(s) are \
                 connected and within haMaxGapNotInSync to replicate it"
            )),
        )),
        Replicated::TimedOut => Some(RemotingCommand::response(
            ResponseCode::FLUSH_SLAVE_TIMEOUT,
            Some(format!(
                "the message is stored on the master, but its slave(s) did not acknowledge it \
                 within slaveTimeout {} ms",
                b.slave_timeout
            )),
        )),
    }
}
