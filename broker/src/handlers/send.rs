//! SEND_MESSAGE, SEND_MESSAGE_V2 and SEND_BATCH_MESSAGE (docs/architecture.md, "A send";
//! docs/protocol.md, "Send headers"): validation as Apache does it, the stored message, and the
//! response Java clients read.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use ferromq_protocol::body::perm;
use ferromq_protocol::header::send::{SendMessageRequestHeader, SendMessageResponseHeader};
use ferromq_protocol::message::{
    create_message_id, property, MessageExt, Properties, UniqIdGenerator,
};
use ferromq_protocol::{names, RemotingCommand, RequestCode, ResponseCode};
use ferromq_remoting::Connection;
use ferromq_store::configs::TIMER_TOPIC;
use ferromq_store::store::Pending;
use ferromq_store::{PutStatus, StoreError};

use crate::transactions::HALF_TOPIC;

use crate::config::{BrokerRole, Settings};
use crate::meters::MessageType;
use crate::replication::Replicated;
use crate::response::{bad_header, fail, ok, Response};
use crate::state::Broker;
use crate::stats::StatsName;

pub(super) fn uniq_ids(broker: &Broker) -> &'static UniqIdGenerator {
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
    let send = SendRequest {
        broker,
        settings: &settings,
        conn,
        h: &h,
        req,
    };
    let put = if batch {
        super::send_wire::put_batch(&send, &target_topic, queue_id)
    } else {
        let plain = if to_dlq {
            None
        } else {
            super::send_wire::put_plain(&send, &target_topic, queue_id)
        };
        match plain {
            Some(put) => put,
            None => put_single(&send, target_topic, queue_id, to_dlq),
        }
    };
    let put = match put {
        Ok(put) => put,
        Err(refusal) => return refusal,
    };

    let result = put.pending.finish().await;
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
    if settings.broker.enable_controller_mode {
        if put.wait {
            if let Some(refusal) =
                crate::replicas::replicated(broker, &settings, result.append.end_offset()).await
            {
                resp = refusal;
            }
        }
    } else if settings.broker.broker_role == BrokerRole::SyncMaster && put.wait {
        // As Apache, a replica's answer overrides the flush's.
        if let Some(refusal) = replicated(broker, &settings, result.append.end_offset()).await {
            resp = refusal;
        }
    }
    let stats = &broker.stats;
    stats
        .put
        .fetch_add(put.count as u64, std::sync::atomic::Ordering::Relaxed);
    // By the topic the producer named (a delayed message is stored under the schedule topic).
    stats
        .keyed
        .add(StatsName::TopicPutNums, &h.topic, put.count as u64);
    stats
        .keyed
        .add(StatsName::TopicPutSize, &h.topic, put.body_bytes as u64);
    let meters = &broker.stats.meters;
    if let Some(kind) = put.kind {
        meters.message_in(&h.topic, kind, put.count as u64, result.append.bytes as u64);
    }
    if to_dlq {
        meters.sent_to_dlq(&h.producer_group, &h.topic);
    }
    if put.half {
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
    let header = SendMessageResponseHeader {
        msg_id,
        recall_handle: put.recall_handle,
        queue_id,
        queue_offset: result.append.queue_offset,
        transaction_id: put.transaction_id,
        msg_region: Some(settings.broker.region_id.clone()),
        trace_on: Some(settings.broker.trace_on),
        ..Default::default()
    };
    resp.with_header(&header)
}

/// A send (or reply) request and what storing its messages reads: the broker, this request's
/// settings snapshot, the sender's connection, the decoded header and the request (its body).
#[derive(Clone, Copy)]
pub(super) struct SendRequest<'a> {
    pub(super) broker: &'a Broker,
    pub(super) settings: &'a Settings,
    pub(super) conn: &'a Connection,
    pub(super) h: &'a SendMessageRequestHeader,
    pub(super) req: &'a RemotingCommand,
}

impl SendRequest<'_> {
    /// The single message the request carries, to store in `topic` queue `queue_id` with
    /// `properties`: the header's flag, sysFlag, born timestamp and reconsume times, the
    /// request's body, the sender's address as the born host, this broker as the store host.
    pub(super) fn message(
        &self,
        topic: String,
        queue_id: i32,
        properties: Properties,
    ) -> MessageExt {
        let h = self.h;
        MessageExt {
            topic,
            queue_id,
            flag: h.flag,
            body: self.req.body.clone(),
            properties,
            sys_flag: h.sys_flag,
            born_timestamp: h.born_timestamp,
            born_host: self.conn.peer_addr(),
            store_host: self.broker.store_host,
            reconsume_times: h.reconsume_times.unwrap_or(0),
            ..MessageExt::default()
        }
    }
}

/// A put on its way to the store's flush, and what the response and statistics need of it.
pub(super) struct Put {
    pub(super) pending: Pending,
    /// Messages stored.
    pub(super) count: usize,
    /// Their bodies' bytes.
    pub(super) body_bytes: usize,
    /// Whether the sender waits for the store (the first message's WAIT).
    pub(super) wait: bool,
    /// Stored as a half (prepared transactional) message.
    pub(super) half: bool,
    /// The first message's UNIQ_KEY (the response's transaction id).
    pub(super) transaction_id: Option<String>,
    /// A parked timer message's recall handle.
    pub(super) recall_handle: Option<String>,
    /// The metrics' message type, when metrics are on.
    pub(super) kind: Option<MessageType>,
}

/// The response for a store's refusal of a put.
pub(super) fn store_refusal(e: StoreError) -> Response {
    match e {
        StoreError::MessageIllegal(reason) => fail(ResponseCode::MESSAGE_ILLEGAL, reason),
        e @ StoreError::NotWritable(_) => fail(ResponseCode::SERVICE_NOT_AVAILABLE, e.to_string()),
        e => fail(ResponseCode::SYSTEM_ERROR, e.to_string()),
    }
}

/// A single message through a [`Properties`] map: a dead letter, a prepared (half) message, a
/// delayed or timer message, which the broker moves to another topic (`send_wire.rs` takes the
/// plain ones).
fn put_single(
    send: &SendRequest<'_>,
    target_topic: String,
    queue_id: i32,
    to_dlq: bool,
) -> Result<Put, Response> {
    let SendRequest {
        broker,
        settings,
        h,
        ..
    } = *send;
    let mut properties = Properties::decode(h.properties.as_deref().unwrap_or(""));
    let meters = &broker.stats.meters;
    let kind = meters.is_enabled().then(|| MessageType::of(&properties));
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
    let mut message = send.message(target_topic, queue_id, properties);
    if !broker.prepare_half(&mut message)? {
        broker.park_if_delayed(&mut message)?;
    }
    let pending = broker.store.put_message(&message).map_err(store_refusal)?;
    // A single timer message can be recalled until it is due (Apache's attachRecallHandle).
    let recall_handle = if message.topic == TIMER_TOPIC {
        crate::handlers::recall::handle_for(&settings.broker.broker_name, &message)
    } else {
        None
    };
    Ok(Put {
        pending,
        count: 1,
        body_bytes: message.body.len(),
        wait: message.properties.wait_store_msg_ok(),
        half: message.topic == HALF_TOPIC,
        transaction_id: message.properties.uniq_key().map(str::to_owned),
        recall_handle,
        kind,
    })
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
