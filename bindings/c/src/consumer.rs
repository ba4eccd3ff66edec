//! `fmq_push_consumer`: the library pulls and calls a C listener for every message.
//!
//! The listener contract ([`ferromq_client::EachMessage`], [`ferromq_client::Answer`]), the
//! option rules and spellings and the lifecycle are the core's; this file translates.

use std::ffi::{c_char, c_void};
use std::sync::Mutex;
use std::time::Duration;

use ferromq_client::{
    Allocation, Answer, ConsumeFrom, ConsumeFromKind, ConsumeResult, EachMessage, Error,
    ExpressionType, FilterExpression, Lifecycle, MessageModel, MessageView, PerMessageListener,
    PushConsumer, PushConsumerOptions,
};
use ferromq_common::lock;

use crate::error::{fmq_result, guard, guard_value};
use crate::ffi::{
    check_out, handle, into_handle, namespace_arg, str_arg, take_handle, write_out, UserData,
};
use crate::message::fmq_message_view;
use crate::options::{check_created, choice, client_config, millis, shutdown};
use crate::runtime::block_on;

/// What a listener did with a message. A listener returns an `int32_t`: these two values,
/// or any other value, which counts as a failure (see fmq_message_callback).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum fmq_consume_status {
    /// Consumed (0); the offset may move past it.
    FMQ_CONSUME_SUCCESS = 0,
    /// Deliver it again later (1). Concurrent: redelivered through `%RETRY%<group>` with
    /// reconsume times + 1, after the maximum reconsume times to `%DLQ%<group>`. Orderly: the
    /// queue pauses and the message is offered again.
    FMQ_CONSUME_RETRY_LATER = 1,
}

/// A push consumer's listener: one message per call. The return value is the FerroMQ
/// listener contract, the same in every language:
/// - `0` (FMQ_CONSUME_SUCCESS): consumed;
/// - `1` (FMQ_CONSUME_RETRY_LATER): deliver it again later;
/// - any other value, e.g. `-1`, is a failure, which also means "deliver it again later"
///   (a message is never dropped because its listener failed).
///
/// With a consume batch size above 1 the messages of a batch are offered one by one, in
/// order; the first that is not consumed stops the batch and the whole batch is redelivered.
/// `message` and all its strings are valid during the call only.
///
/// Runs on a FerroMQ runtime blocking-pool thread, several at once for a concurrent consumer
/// (up to the consume threads, 20), one at a time per queue for an orderly one. It may block
/// and may call the blocking FerroMQ functions (e.g. send with a producer), but must never
/// shut down or free its own consumer.
pub type fmq_message_callback =
    Option<extern "C" fn(message: *const fmq_message_view, userdata: *mut c_void) -> i32>;

#[derive(Debug)]
struct Settings {
    options: PushConsumerOptions,
    subscriptions: Vec<(String, FilterExpression)>,
    orderly: bool,
    /// The consume-from kind and time as given; the core combines (and checks) them at start.
    consume_from: Option<ConsumeFromKind>,
    consume_timestamp: Option<i64>,
}

/// A push consumer. Settings and subscriptions before fmq_push_consumer_start. Thread-safe
/// except for fmq_push_consumer_free.
#[derive(Debug)]
pub struct fmq_push_consumer {
    settings: Mutex<Settings>,
    pub(crate) lifecycle: Lifecycle<PushConsumer>,
}

impl fmq_push_consumer {
    fn configure(&self, op: &'static str, f: impl FnOnce(&mut Settings)) -> Result<(), Error> {
        check_created(op, &self.lifecycle)?;
        f(&mut lock(&self.settings));
        Ok(())
    }

    fn subscribe(
        &self,
        op: &'static str,
        topic: *const c_char,
        expression: FilterExpression,
    ) -> Result<(), Error> {
        let topic = str_arg(op, "topic", topic)?.to_owned();
        self.configure(op, |s| {
            s.subscriptions.retain(|(t, _)| *t != topic);
            s.subscriptions.push((topic, expression));
        })
    }
}

/// An optional string argument (NULL: none).
pub(crate) fn opt_str(
    op: &'static str,
    name: &str,
    p: *const c_char,
) -> Result<Option<String>, Error> {
    if p.is_null() {
        Ok(None)
    } else {
        str_arg(op, name, p).map(|s| Some(s.to_owned()))
    }
}

/// A new push consumer of `group` for the name servers `namesrv`, with the core's defaults
/// (clustering, concurrent, from the last offset, 20 listener threads, one message per
/// listener call, queues allocated averagely). On success `*out` is it.
#[no_mangle]
pub extern "C" fn fmq_push_consumer_new(
    namesrv: *const c_char,
    group: *const c_char,
    out: *mut *mut fmq_push_consumer,
) -> fmq_result {
    guard(|| {
        let op = "fmq_push_consumer_new";
        check_out(op, "out", out)?;
        let client = client_config(op, str_arg(op, "namesrv", namesrv)?)?;
        let group = str_arg(op, "group", group)?;
        if group.is_empty() {
            return Err(Error::invalid(op, "the consumer group is empty"));
        }
        let settings = Settings {
            options: PushConsumerOptions {
                client,
                group: group.to_owned(),
                ..PushConsumerOptions::default()
            },
            subscriptions: Vec::new(),
            orderly: false,
            consume_from: None,
            consume_timestamp: None,
        };
        write_out(
            out,
            into_handle(fmq_push_consumer {
                settings: Mutex::new(settings),
                lifecycle: Lifecycle::new("push consumer"),
            }),
        );
        Ok(())
    })
}

/// Subscribes to `topic` with a tag expression ("*", "TagA", "TagA || TagC"; NULL = "*"),
/// replacing an earlier subscription to it. Before start.
#[no_mangle]
pub extern "C" fn fmq_push_consumer_subscribe(
    consumer: *mut fmq_push_consumer,
    topic: *const c_char,
    tag_expression: *const c_char,
) -> fmq_result {
    guard(|| {
        let op = "fmq_push_consumer_subscribe";
        let c = handle(op, consumer)?;
        let tag = opt_str(op, "tag_expression", tag_expression)?;
        c.subscribe(op, topic, FilterExpression::from_parts(tag, None)?)
    })
}

/// Subscribes to `topic` with a SQL92 expression over message properties, e.g.
/// "a > 5 AND b = 'x'" (the broker needs enablePropertyFilter=true). Before start.
#[no_mangle]
pub extern "C" fn fmq_push_consumer_subscribe_sql92(
    consumer: *mut fmq_push_consumer,
    topic: *const c_char,
    expression: *const c_char,
) -> fmq_result {
    guard(|| {
        let op = "fmq_push_consumer_subscribe_sql92";
        let c = handle(op, consumer)?;
        let sql = str_arg(op, "expression", expression)?.to_owned();
        c.subscribe(op, topic, FilterExpression::from_parts(None, Some(sql))?)
    })
}

/// Subscribes to `topic` with a tag expression or a SQL92 expression, each optional (NULL):
/// neither means every message ("*"); both is FMQ_ERR_INVALID_ARGUMENT. Before start.
#[no_mangle]
pub extern "C" fn fmq_push_consumer_subscribe_filter(
    consumer: *mut fmq_push_consumer,
    topic: *const c_char,
    tag_expression: *const c_char,
    sql92_expression: *const c_char,
) -> fmq_result {
    guard(|| {
        let op = "fmq_push_consumer_subscribe_filter";
        let c = handle(op, consumer)?;
        let tag = opt_str(op, "tag_expression", tag_expression)?;
        let sql = opt_str(op, "sql92_expression", sql92_expression)?;
        c.subscribe(op, topic, FilterExpression::from_parts(tag, sql)?)
    })
}

/// Subscribes to `topic` with `expression` in the language `expression_type`: "tag" or
/// "sql92" (any case; "TAG", "SQL92" and "sql" too). Before start.
#[no_mangle]
pub extern "C" fn fmq_push_consumer_subscribe_typed(
    consumer: *mut fmq_push_consumer,
    topic: *const c_char,
    expression_type: *const c_char,
    expression: *const c_char,
) -> fmq_result {
    guard(|| {
        let op = "fmq_push_consumer_subscribe_typed";
        let c = handle(op, consumer)?;
        let kind: ExpressionType = choice(op, "expression_type", expression_type)?;
        let expression = str_arg(op, "expression", expression)?;
        c.subscribe(op, topic, FilterExpression::new(kind, expression))
    })
}

/// Sets the instance name (default "DEFAULT"); two members of one group in one process need
/// different names. Before start.
#[no_mangle]
pub extern "C" fn fmq_push_consumer_set_instance_name(
    consumer: *mut fmq_push_consumer,
    name: *const c_char,
) -> fmq_result {
    guard(|| {
        let op = "fmq_push_consumer_set_instance_name";
        let c = handle(op, consumer)?;
        let name = str_arg(op, "name", name)?.to_owned();
        c.configure(op, |s| s.options.client.instance_name = name)
    })
}

/// Sets the namespace (Apache's client namespace; NULL or "" for none): topics and groups go
/// on the wire as `namespace%name`, while messages, send results and queues show the bare
/// names. Letters, digits, `_`, `-` and `|` only, else FMQ_ERR_INVALID_ARGUMENT. Before start.
#[no_mangle]
pub extern "C" fn fmq_push_consumer_set_namespace(
    consumer: *mut fmq_push_consumer,
    namespace: *const c_char,
) -> fmq_result {
    guard(|| {
        let op = "fmq_push_consumer_set_namespace";
        let c = handle(op, consumer)?;
        let ns = namespace_arg(op, namespace)?;
        c.configure(op, |s| s.options.client.namespace = ns)
    })
}

/// Signs every request of this push consumer with ACL 1.0 credentials (brokers with aclEnable=true).
/// `security_token` may be NULL; `access_key` NULL removes them. Before start.
#[no_mangle]
pub extern "C" fn fmq_push_consumer_set_credentials(
    consumer: *mut fmq_push_consumer,
    access_key: *const c_char,
    secret_key: *const c_char,
    security_token: *const c_char,
) -> fmq_result {
    guard(|| {
        let op = "fmq_push_consumer_set_credentials";
        let h = handle(op, consumer)?;
        let c = crate::security::credentials(op, access_key, secret_key, security_token)?;
        h.configure(op, |s| s.options.client.credentials = c)
    })
}

/// Connects to the name servers and brokers over TLS as `options` says (see fmq_tls_options;
/// the struct is read during the call only); NULL: plaintext again. Files are checked to exist
/// here, loaded at start. Before start.
#[no_mangle]
pub extern "C" fn fmq_push_consumer_set_tls(
    consumer: *mut fmq_push_consumer,
    options: *const crate::security::fmq_tls_options,
) -> fmq_result {
    guard(|| {
        let op = "fmq_push_consumer_set_tls";
        let h = handle(op, consumer)?;
        let t = crate::security::tls(op, options)?;
        h.configure(op, |s| s.options.client.tls = t)
    })
}

/// Orderly consumption (true): each queue is locked on the broker and consumed one message
/// at a time, in order. Clustering only. Before start.
#[no_mangle]
pub extern "C" fn fmq_push_consumer_set_orderly(
    consumer: *mut fmq_push_consumer,
    orderly: bool,
) -> fmq_result {
    guard(|| {
        let op = "fmq_push_consumer_set_orderly";
        handle(op, consumer)?.configure(op, |s| s.orderly = orderly)
    })
}

/// Broadcasting (true: every member receives every message; offsets kept in local files)
/// or clustering (false, the default: each message to one member). Before start.
#[no_mangle]
pub extern "C" fn fmq_push_consumer_set_broadcasting(
    consumer: *mut fmq_push_consumer,
    broadcasting: bool,
) -> fmq_result {
    guard(|| {
        let op = "fmq_push_consumer_set_broadcasting";
        handle(op, consumer)?.configure(op, |s| {
            s.options.message_model = if broadcasting {
                MessageModel::Broadcasting
            } else {
                MessageModel::Clustering
            }
        })
    })
}

/// The message model by name: "clustering" (the default) or "broadcasting" (any case;
/// "BROADCASTING" too). Before start.
#[no_mangle]
pub extern "C" fn fmq_push_consumer_set_message_model(
    consumer: *mut fmq_push_consumer,
    model: *const c_char,
) -> fmq_result {
    guard(|| {
        let op = "fmq_push_consumer_set_message_model";
        let c = handle(op, consumer)?;
        let model: MessageModel = choice(op, "model", model)?;
        c.configure(op, |s| s.options.message_model = model)
    })
}

/// Where a queue without a committed offset starts: true = the first stored message, false
/// (default) = after the last one. Before start.
#[no_mangle]
pub extern "C" fn fmq_push_consumer_set_consume_from_first(
    consumer: *mut fmq_push_consumer,
    first: bool,
) -> fmq_result {
    guard(|| {
        let op = "fmq_push_consumer_set_consume_from_first";
        handle(op, consumer)?.configure(op, |s| {
            s.consume_from = Some(if first {
                ConsumeFromKind::FirstOffset
            } else {
                ConsumeFromKind::LastOffset
            })
        })
    })
}

/// Where a queue without a committed offset starts, by name: "lastOffset" (the default),
/// "firstOffset" or "timestamp" (any case, `_`/`-` ignored; Java's "CONSUME_FROM_FIRST_OFFSET"
/// too). "timestamp" needs fmq_push_consumer_set_consume_timestamp. An unknown name is
/// FMQ_ERR_INVALID_ARGUMENT. Before start.
#[no_mangle]
pub extern "C" fn fmq_push_consumer_set_consume_from(
    consumer: *mut fmq_push_consumer,
    consume_from: *const c_char,
) -> fmq_result {
    guard(|| {
        let op = "fmq_push_consumer_set_consume_from";
        let c = handle(op, consumer)?;
        let kind: ConsumeFromKind = choice(op, "consume_from", consume_from)?;
        c.configure(op, |s| s.consume_from = Some(kind))
    })
}

/// The time (ms since the epoch) to start from with consume-from "timestamp". Given with
/// any other consume-from, fmq_push_consumer_start fails with FMQ_ERR_INVALID_ARGUMENT.
/// Before start.
#[no_mangle]
pub extern "C" fn fmq_push_consumer_set_consume_timestamp(
    consumer: *mut fmq_push_consumer,
    timestamp_ms: i64,
) -> fmq_result {
    guard(|| {
        let op = "fmq_push_consumer_set_consume_timestamp";
        handle(op, consumer)?.configure(op, |s| s.consume_timestamp = Some(timestamp_ms))
    })
}

/// How the group's members share queues, by name: "averagely" (the default),
/// "averagelyByCircle" or "consistentHash" (any case; "avg", "avgByCircle" too). Before start.
#[no_mangle]
pub extern "C" fn fmq_push_consumer_set_allocation(
    consumer: *mut fmq_push_consumer,
    strategy: *const c_char,
) -> fmq_result {
    guard(|| {
        let op = "fmq_push_consumer_set_allocation";
        let c = handle(op, consumer)?;
        let allocation: Allocation = choice(op, "strategy", strategy)?;
        c.configure(op, |s| s.options.allocate = allocation.strategy())
    })
}

/// Redeliveries before a message goes to `%DLQ%<group>` (default 16; -1 = default; below -1
/// is refused at start). Before start.
#[no_mangle]
pub extern "C" fn fmq_push_consumer_set_max_reconsume_times(
    consumer: *mut fmq_push_consumer,
    times: i32,
) -> fmq_result {
    guard(|| {
        let op = "fmq_push_consumer_set_max_reconsume_times";
        handle(op, consumer)?.configure(op, |s| s.options.max_reconsume_times = times)
    })
}

/// Listener calls running at once (default 20; 0 is refused at start). Before start.
#[no_mangle]
pub extern "C" fn fmq_push_consumer_set_consume_threads(
    consumer: *mut fmq_push_consumer,
    threads: u32,
) -> fmq_result {
    guard(|| {
        let op = "fmq_push_consumer_set_consume_threads";
        let n = usize::try_from(threads).map_err(|_| Error::invalid(op, "too many threads"))?;
        handle(op, consumer)?.configure(op, |s| s.options.consume_threads = n)
    })
}

/// Messages offered per listener batch (default 1; 0 is refused at start). The C listener
/// still gets one message per call; a batch is acknowledged (or redelivered) as a whole.
/// Before start.
#[no_mangle]
pub extern "C" fn fmq_push_consumer_set_consume_batch_size(
    consumer: *mut fmq_push_consumer,
    size: u32,
) -> fmq_result {
    guard(|| {
        let op = "fmq_push_consumer_set_consume_batch_size";
        let n = usize::try_from(size).map_err(|_| Error::invalid(op, "the size is too big"))?;
        handle(op, consumer)?.configure(op, |s| s.options.consume_batch_size = n)
    })
}

/// The directory of broadcasting offset files (default ~/.rocketmq_offsets). Before start.
#[no_mangle]
pub extern "C" fn fmq_push_consumer_set_offset_store_dir(
    consumer: *mut fmq_push_consumer,
    dir: *const c_char,
) -> fmq_result {
    guard(|| {
        let op = "fmq_push_consumer_set_offset_store_dir";
        let c = handle(op, consumer)?;
        let dir = str_arg(op, "dir", dir)?.to_owned();
        c.configure(op, |s| s.options.offset_store_dir = Some(dir.into()))
    })
}

/// Message trace (Java's enableMsgTrace / customizedTraceTopic; off by default): with `enable`,
/// each message handed to the listener and its answer are recorded in `trace_topic`
/// (NULL: RMQ_SYS_TRACE_TOPIC) in Apache's trace format. An illegal topic fails the start.
/// Before start.
#[no_mangle]
pub extern "C" fn fmq_push_consumer_set_msg_trace(
    consumer: *mut fmq_push_consumer,
    enable: bool,
    trace_topic: *const c_char,
) -> fmq_result {
    guard(|| {
        let op = "fmq_push_consumer_set_msg_trace";
        let c = handle(op, consumer)?;
        let topic = opt_str(op, "trace_topic", trace_topic)?;
        c.configure(op, |s| {
            s.options.enable_msg_trace = enable;
            s.options.trace_topic = topic;
        })
    })
}

/// The consume timeout in ms (Java consumeTimeout; default 15 minutes; 0 is refused): a message
/// whose listener call has run longer is returned to the broker for redelivery (reconsume
/// times + 1) and its queue's offset moves past it. The call is not interrupted; its answer
/// then no longer counts for that message. Checked every `ms`. Concurrent consumers only.
/// Before start.
#[no_mangle]
pub extern "C" fn fmq_push_consumer_set_consume_timeout(
    consumer: *mut fmq_push_consumer,
    ms: u32,
) -> fmq_result {
    guard(|| {
        let op = "fmq_push_consumer_set_consume_timeout";
        let c = handle(op, consumer)?;
        let timeout = millis(op, ms)?;
        c.configure(op, |s| s.options.consume_timeout = timeout)
    })
}

/// Orderly consumers: the pause in ms before a message the listener refused is offered again
/// (Java suspendCurrentQueueTimeMillis; default 1000; outside 10..=30000 is refused at start).
/// Before start.
#[no_mangle]
pub extern "C" fn fmq_push_consumer_set_suspend_current_queue_time(
    consumer: *mut fmq_push_consumer,
    ms: u32,
) -> fmq_result {
    guard(|| {
        let op = "fmq_push_consumer_set_suspend_current_queue_time";
        let time = Duration::from_millis(u64::from(ms));
        handle(op, consumer)?.configure(op, |s| s.options.suspend_current_queue_time = time)
    })
}

/// How long shutdown waits for listener calls in flight, in ms (Java
/// awaitTerminationMillisWhenShutdown; default 10000; 0 does not wait). A call still running
/// after that is abandoned: it may still run after shutdown returns, its answer is ignored and
/// its message is redelivered. Before start.
#[no_mangle]
pub extern "C" fn fmq_push_consumer_set_await_termination(
    consumer: *mut fmq_push_consumer,
    ms: u32,
) -> fmq_result {
    guard(|| {
        let op = "fmq_push_consumer_set_await_termination";
        let time = Duration::from_millis(u64::from(ms));
        handle(op, consumer)?.configure(op, |s| s.options.await_termination = time)
    })
}

/// Pulling of a queue pauses above `messages` cached messages (default 1000) or `bytes` cached
/// body bytes (default 100 MiB); 0 is refused at start. Before start.
#[no_mangle]
pub extern "C" fn fmq_push_consumer_set_pull_thresholds_for_queue(
    consumer: *mut fmq_push_consumer,
    messages: u32,
    bytes: u64,
) -> fmq_result {
    guard(|| {
        let op = "fmq_push_consumer_set_pull_thresholds_for_queue";
        let bytes = usize::try_from(bytes).map_err(|_| Error::invalid(op, "too many bytes"))?;
        handle(op, consumer)?.configure(op, |s| {
            s.options.pull_threshold_for_queue = messages as usize;
            s.options.pull_threshold_size_for_queue = bytes;
        })
    })
}

/// Topic-wide pull thresholds (Java pullThresholdForTopic / pullThresholdSizeForTopic, the
/// latter in bytes here): when not -1 (the default, off), `messages` cached messages and
/// `bytes` cached body bytes are shared evenly among the queues the consumer holds (at least 1
/// each) and replace the per-queue thresholds. Below -1 is refused; 0 is refused at start.
/// Before start.
#[no_mangle]
pub extern "C" fn fmq_push_consumer_set_pull_thresholds_for_topic(
    consumer: *mut fmq_push_consumer,
    messages: i64,
    bytes: i64,
) -> fmq_result {
    guard(|| {
        let op = "fmq_push_consumer_set_pull_thresholds_for_topic";
        let limit = |n: i64| match n {
            -1 => Ok(None),
            n => usize::try_from(n).map(Some).map_err(|_| {
                Error::invalid(op, format!("{n} is no threshold: -1 (off) or 1 and more"))
            }),
        };
        let (messages, bytes) = (limit(messages)?, limit(bytes)?);
        handle(op, consumer)?.configure(op, |s| {
            s.options.pull_threshold_for_topic = messages;
            s.options.pull_threshold_size_for_topic = bytes;
        })
    })
}

/// The C listener as the core's per-message listener: its return code is the core's
/// `Answer::Code` (0 success, anything else a retry).
struct CListener {
    callback: extern "C" fn(*const fmq_message_view, *mut c_void) -> i32,
    userdata: UserData,
}

impl PerMessageListener for CListener {
    fn consume_one(&self, message: &MessageView) -> ConsumeResult {
        let view = fmq_message_view::new(message);
        Answer::Code((self.callback)(&view, self.userdata.0)).outcome()
    }
}

/// Joins the group and starts consuming: `listener` is called with `userdata` for every
/// message (see fmq_message_callback for its contract and thread). Blocks until started.
/// The options are checked here (FMQ_ERR_INVALID_ARGUMENT: e.g. a consume timestamp without
/// consume-from "timestamp", no subscription). A consumer starts once: FMQ_ERR_ILLEGAL_STATE
/// when started already or shut down (make a new one); a failed start leaves it unstarted.
#[no_mangle]
pub extern "C" fn fmq_push_consumer_start(
    consumer: *mut fmq_push_consumer,
    listener: fmq_message_callback,
    userdata: *mut c_void,
) -> fmq_result {
    guard(|| {
        let op = "fmq_push_consumer_start";
        let c = handle(op, consumer)?;
        let Some(callback) = listener else {
            return Err(Error::invalid(op, "the listener is NULL"));
        };
        let (mut options, from, subs, orderly) = {
            let s = lock(&c.settings);
            let from = (s.consume_from, s.consume_timestamp);
            (s.options.clone(), from, s.subscriptions.clone(), s.orderly)
        };
        let listener = EachMessage::new(CListener {
            callback,
            userdata: UserData(userdata),
        });
        // The options are checked once the lifecycle allows the start.
        let start = c.lifecycle.start(|| async move {
            options.consume_from = ConsumeFrom::new(from.0, from.1)?;
            options.validate()?;
            if orderly {
                PushConsumer::start_orderly(options, subs, listener).await
            } else {
                PushConsumer::start(options, subs, listener).await
            }
        });
        block_on(op, start)??;
        Ok(())
    })
}

/// Stops consuming, for good: waits (up to the await-termination time, 10 s by default) for
/// listener calls in flight, commits the offsets and leaves the group. After it returns the
/// listener is not called again (unless a call was still running after that time).
/// Blocks; a second call does nothing.
#[no_mangle]
pub extern "C" fn fmq_push_consumer_shutdown(consumer: *mut fmq_push_consumer) -> fmq_result {
    guard(|| {
        let op = "fmq_push_consumer_shutdown";
        shutdown(op, &handle(op, consumer)?.lifecycle)
    })
}

/// Shuts the consumer down if needed and releases it (NULL: nothing). Never from a listener.
#[no_mangle]
pub extern "C" fn fmq_push_consumer_free(consumer: *mut fmq_push_consumer) {
    guard_value((), || {
        if let Some(c) = take_handle(consumer) {
            let _ = shutdown("fmq_push_consumer_free", &c.lifecycle);
        }
    });
}
