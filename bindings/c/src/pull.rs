//! `fmq_pull_consumer`: a lite pull consumer; the caller polls for messages (a batch with
//! fmq_pull_consumer_poll, one at a time over the core's buffer with
//! fmq_pull_consumer_next_message), and may pause, resume and seek queues.

use std::ffi::{c_char, c_void};
use std::sync::Mutex;

use ferromq_client::{
    ConsumeFrom, ConsumeFromKind, Error, FilterExpression, Lifecycle, PullConsumer,
    PullConsumerOptions,
};
use ferromq_common::lock;
use ferromq_protocol::body::MessageQueue;

use crate::error::{fmq_result, guard, guard_value};
use crate::ffi::{check_out, handle, into_handle, namespace_arg, str_arg, take_handle, write_out};
use crate::message::fmq_message_view;
use crate::options::{check_created, choice, client_config, millis, shutdown};
use crate::runtime::block_on;

/// Receives one polled message. `message` and its strings are valid during the call only.
/// Runs on the thread that called fmq_pull_consumer_poll (or _next_message), before that call
/// returns; it must not shut down or free the consumer.
pub type fmq_poll_callback =
    Option<extern "C" fn(message: *const fmq_message_view, userdata: *mut c_void)>;

/// A lite pull consumer: settings, then fmq_pull_consumer_start, then subscribe or assign,
/// then poll. Thread-safe except for fmq_pull_consumer_free.
#[derive(Debug)]
pub struct fmq_pull_consumer {
    settings: Mutex<Settings>,
    lifecycle: Lifecycle<PullConsumer>,
}

#[derive(Debug)]
struct Settings {
    options: PullConsumerOptions,
    /// The consume-from kind and time as given; the core combines (and checks) them at start.
    consume_from: Option<ConsumeFromKind>,
    consume_timestamp: Option<i64>,
}

impl fmq_pull_consumer {
    fn configure(&self, op: &'static str, f: impl FnOnce(&mut Settings)) -> Result<(), Error> {
        check_created(op, &self.lifecycle)?;
        f(&mut lock(&self.settings));
        Ok(())
    }

    fn consumer(&self, op: &'static str) -> Result<PullConsumer, Error> {
        self.lifecycle.get(op)
    }
}

/// The queue `queue_id` of broker group `broker_name` of `topic`.
fn queue_arg(
    op: &'static str,
    topic: *const c_char,
    broker_name: *const c_char,
    queue_id: i32,
) -> Result<MessageQueue, Error> {
    let topic = str_arg(op, "topic", topic)?;
    let broker = str_arg(op, "broker_name", broker_name)?;
    if queue_id < 0 {
        return Err(Error::invalid(
            op,
            format!("queue id {queue_id} is negative"),
        ));
    }
    Ok(MessageQueue::new(topic, broker, queue_id))
}

/// The assigned queues a pause or resume names: one queue, or (broker_name NULL) every
/// assigned queue of `topic`.
fn queues_arg(
    op: &'static str,
    c: &PullConsumer,
    topic: *const c_char,
    broker_name: *const c_char,
    queue_id: i32,
) -> Result<Vec<MessageQueue>, Error> {
    if broker_name.is_null() {
        let topic = str_arg(op, "topic", topic)?;
        Ok(c.assignment()
            .into_iter()
            .filter(|q| q.topic == topic)
            .collect())
    } else {
        Ok(vec![queue_arg(op, topic, broker_name, queue_id)?])
    }
}

/// A new pull consumer of `group` for `namesrv` (offsets are stored on the broker under the
/// group; auto commit every 5 s). On success `*out` is it.
#[no_mangle]
pub extern "C" fn fmq_pull_consumer_new(
    namesrv: *const c_char,
    group: *const c_char,
    out: *mut *mut fmq_pull_consumer,
) -> fmq_result {
    guard(|| {
        let op = "fmq_pull_consumer_new";
        check_out(op, "out", out)?;
        let client = client_config(op, str_arg(op, "namesrv", namesrv)?)?;
        let group = str_arg(op, "group", group)?;
        if group.is_empty() {
            return Err(Error::invalid(op, "the consumer group is empty"));
        }
        let settings = Settings {
            options: PullConsumerOptions {
                client,
                group: group.to_owned(),
                ..PullConsumerOptions::default()
            },
            consume_from: None,
            consume_timestamp: None,
        };
        write_out(
            out,
            into_handle(fmq_pull_consumer {
                settings: Mutex::new(settings),
                lifecycle: Lifecycle::new("pull consumer"),
            }),
        );
        Ok(())
    })
}

/// Sets the instance name (default "DEFAULT"). Before start.
#[no_mangle]
pub extern "C" fn fmq_pull_consumer_set_instance_name(
    consumer: *mut fmq_pull_consumer,
    name: *const c_char,
) -> fmq_result {
    guard(|| {
        let op = "fmq_pull_consumer_set_instance_name";
        let c = handle(op, consumer)?;
        let name = str_arg(op, "name", name)?.to_owned();
        c.configure(op, |s| s.options.client.instance_name = name)
    })
}

/// Sets the namespace (Apache's client namespace; NULL or "" for none): topics and groups go
/// on the wire as `namespace%name`, while messages, send results and queues show the bare
/// names. Letters, digits, `_`, `-` and `|` only, else FMQ_ERR_INVALID_ARGUMENT. Before start.
#[no_mangle]
pub extern "C" fn fmq_pull_consumer_set_namespace(
    consumer: *mut fmq_pull_consumer,
    namespace: *const c_char,
) -> fmq_result {
    guard(|| {
        let op = "fmq_pull_consumer_set_namespace";
        let c = handle(op, consumer)?;
        let ns = namespace_arg(op, namespace)?;
        c.configure(op, |s| s.options.client.namespace = ns)
    })
}

/// Signs every request of this pull consumer with ACL 1.0 credentials (brokers with aclEnable=true).
/// `security_token` may be NULL; `access_key` NULL removes them. Before start.
#[no_mangle]
pub extern "C" fn fmq_pull_consumer_set_credentials(
    consumer: *mut fmq_pull_consumer,
    access_key: *const c_char,
    secret_key: *const c_char,
    security_token: *const c_char,
) -> fmq_result {
    guard(|| {
        let op = "fmq_pull_consumer_set_credentials";
        let h = handle(op, consumer)?;
        let c = crate::security::credentials(op, access_key, secret_key, security_token)?;
        h.configure(op, |s| s.options.client.credentials = c)
    })
}

/// Connects to the name servers and brokers over TLS as `options` says (see fmq_tls_options;
/// the struct is read during the call only); NULL: plaintext again. Files are checked to exist
/// here, loaded at start. Before start.
#[no_mangle]
pub extern "C" fn fmq_pull_consumer_set_tls(
    consumer: *mut fmq_pull_consumer,
    options: *const crate::security::fmq_tls_options,
) -> fmq_result {
    guard(|| {
        let op = "fmq_pull_consumer_set_tls";
        let h = handle(op, consumer)?;
        let t = crate::security::tls(op, options)?;
        h.configure(op, |s| s.options.client.tls = t)
    })
}

/// Where a queue without a committed offset starts: true = the first stored message, false
/// (default) = after the last one. Before start.
#[no_mangle]
pub extern "C" fn fmq_pull_consumer_set_consume_from_first(
    consumer: *mut fmq_pull_consumer,
    first: bool,
) -> fmq_result {
    guard(|| {
        let op = "fmq_pull_consumer_set_consume_from_first";
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
/// "firstOffset" or "timestamp" (the core's spellings, as fmq_push_consumer_set_consume_from).
/// Before start.
#[no_mangle]
pub extern "C" fn fmq_pull_consumer_set_consume_from(
    consumer: *mut fmq_pull_consumer,
    consume_from: *const c_char,
) -> fmq_result {
    guard(|| {
        let op = "fmq_pull_consumer_set_consume_from";
        let c = handle(op, consumer)?;
        let kind: ConsumeFromKind = choice(op, "consume_from", consume_from)?;
        c.configure(op, |s| s.consume_from = Some(kind))
    })
}

/// The time (ms since the epoch) to start from with consume-from "timestamp" (with any other
/// consume-from, fmq_pull_consumer_start fails with FMQ_ERR_INVALID_ARGUMENT). Before start.
#[no_mangle]
pub extern "C" fn fmq_pull_consumer_set_consume_timestamp(
    consumer: *mut fmq_pull_consumer,
    timestamp_ms: i64,
) -> fmq_result {
    guard(|| {
        let op = "fmq_pull_consumer_set_consume_timestamp";
        handle(op, consumer)?.configure(op, |s| s.consume_timestamp = Some(timestamp_ms))
    })
}

/// Commits consumed offsets in the background every 5 s (true, the default) or only on
/// fmq_pull_consumer_commit (false). Before start.
#[no_mangle]
pub extern "C" fn fmq_pull_consumer_set_auto_commit(
    consumer: *mut fmq_pull_consumer,
    auto_commit: bool,
) -> fmq_result {
    guard(|| {
        let op = "fmq_pull_consumer_set_auto_commit";
        handle(op, consumer)?.configure(op, |s| s.options.auto_commit = auto_commit)
    })
}

/// Joins the group (no queues yet). Blocks. The options are checked here
/// (FMQ_ERR_INVALID_ARGUMENT). It starts once: FMQ_ERR_ILLEGAL_STATE when started already or
/// shut down; a failed start leaves it unstarted.
#[no_mangle]
pub extern "C" fn fmq_pull_consumer_start(consumer: *mut fmq_pull_consumer) -> fmq_result {
    guard(|| {
        let op = "fmq_pull_consumer_start";
        let c = handle(op, consumer)?;
        let (mut options, from) = {
            let s = lock(&c.settings);
            (s.options.clone(), (s.consume_from, s.consume_timestamp))
        };
        // The options are checked once the lifecycle allows the start.
        let start = c.lifecycle.start(|| async move {
            options.consume_from = ConsumeFrom::new(from.0, from.1)?;
            options.validate()?;
            PullConsumer::start(options).await
        });
        block_on(op, start)??;
        Ok(())
    })
}

/// Subscribes to `topic` with a tag expression (NULL = "*"): its queues are shared among the
/// group's members by rebalancing. After start. Blocks.
#[no_mangle]
pub extern "C" fn fmq_pull_consumer_subscribe(
    consumer: *mut fmq_pull_consumer,
    topic: *const c_char,
    tag_expression: *const c_char,
) -> fmq_result {
    guard(|| {
        let op = "fmq_pull_consumer_subscribe";
        let c = handle(op, consumer)?.consumer(op)?;
        let topic = str_arg(op, "topic", topic)?;
        let tag = if tag_expression.is_null() {
            None
        } else {
            Some(str_arg(op, "tag_expression", tag_expression)?.to_owned())
        };
        let expr = FilterExpression::from_parts(tag, None)?;
        block_on(op, c.subscribe(topic, expr))?
    })
}

/// Reads every readable queue of `topic` (no rebalancing), from the committed offsets.
/// After start. Blocks. FMQ_ERR_TOPIC_NOT_FOUND when the topic has no route.
#[no_mangle]
pub extern "C" fn fmq_pull_consumer_assign(
    consumer: *mut fmq_pull_consumer,
    topic: *const c_char,
) -> fmq_result {
    guard(|| {
        let op = "fmq_pull_consumer_assign";
        let c = handle(op, consumer)?.consumer(op)?;
        let topic = str_arg(op, "topic", topic)?;
        block_on(op, async {
            let queues = c.fetch_queues(topic).await?;
            if queues.is_empty() {
                return Err(Error::new(
                    ferromq_client::ErrorKind::TopicNotFound,
                    op,
                    format!("{topic} has no readable queue"),
                ));
            }
            c.assign(queues).await
        })?
    })
}

/// Waits up to `timeout_ms` for the next batch of messages of one queue and calls
/// `callback` with `userdata` for each, in order, on this thread. On success `*out_count` is
/// the number of messages (0 when none came). The consumed offset moves past them. Blocks.
#[no_mangle]
pub extern "C" fn fmq_pull_consumer_poll(
    consumer: *mut fmq_pull_consumer,
    timeout_ms: u32,
    callback: fmq_poll_callback,
    userdata: *mut c_void,
    out_count: *mut usize,
) -> fmq_result {
    guard(|| {
        let op = "fmq_pull_consumer_poll";
        check_out(op, "out_count", out_count)?;
        let Some(callback) = callback else {
            return Err(Error::invalid(op, "the callback is NULL"));
        };
        let c = handle(op, consumer)?.consumer(op)?;
        let timeout = millis(op, timeout_ms)?;
        let messages = block_on(op, c.poll(timeout))??;
        for m in &messages {
            let view = fmq_message_view::new(m);
            guard_value((), || callback(&view, userdata));
        }
        write_out(out_count, messages.len());
        Ok(())
    })
}

/// Waits up to `timeout_ms` for the next message and calls `callback` with `userdata` for it
/// on this thread: one message at a time from what earlier polls left, polling when nothing
/// is left. On success `*out_received` says whether a message came (false: the time passed,
/// or the consumer was shut down). Blocks.
#[no_mangle]
pub extern "C" fn fmq_pull_consumer_next_message(
    consumer: *mut fmq_pull_consumer,
    timeout_ms: u32,
    callback: fmq_poll_callback,
    userdata: *mut c_void,
    out_received: *mut bool,
) -> fmq_result {
    guard(|| {
        let op = "fmq_pull_consumer_next_message";
        check_out(op, "out_received", out_received)?;
        let Some(callback) = callback else {
            return Err(Error::invalid(op, "the callback is NULL"));
        };
        let c = handle(op, consumer)?.consumer(op)?;
        let timeout = millis(op, timeout_ms)?;
        let message = block_on(op, c.next_message(Some(timeout)))??;
        if let Some(m) = &message {
            let view = fmq_message_view::new(m);
            guard_value((), || callback(&view, userdata));
        }
        write_out(out_received, message.is_some());
        Ok(())
    })
}

/// Continues queue `queue_id` of broker group `broker_name` of `topic` (an assigned queue)
/// from `offset`: its messages polled but not handed out yet are dropped. Blocks.
#[no_mangle]
pub extern "C" fn fmq_pull_consumer_seek(
    consumer: *mut fmq_pull_consumer,
    topic: *const c_char,
    broker_name: *const c_char,
    queue_id: i32,
    offset: i64,
) -> fmq_result {
    guard(|| {
        let op = "fmq_pull_consumer_seek";
        let c = handle(op, consumer)?.consumer(op)?;
        let mq = queue_arg(op, topic, broker_name, queue_id)?;
        if offset < 0 {
            return Err(Error::invalid(op, format!("offset {offset} is negative")));
        }
        block_on(op, c.seek(&mq, offset))?
    })
}

/// Continues every assigned queue of `topic` after its last message. Blocks.
#[no_mangle]
pub extern "C" fn fmq_pull_consumer_seek_to_end(
    consumer: *mut fmq_pull_consumer,
    topic: *const c_char,
) -> fmq_result {
    guard(|| {
        let op = "fmq_pull_consumer_seek_to_end";
        let c = handle(op, consumer)?.consumer(op)?;
        let topic = str_arg(op, "topic", topic)?;
        block_on(op, async {
            for mq in c.assignment().iter().filter(|q| q.topic == topic) {
                c.seek_to_end(mq).await?;
            }
            Ok(())
        })?
    })
}

/// Stops fetching queue `queue_id` of `broker_name` of `topic`, or with `broker_name` NULL
/// every assigned queue of `topic` (`queue_id` is then ignored). Messages already polled are
/// still handed out. Does not block.
#[no_mangle]
pub extern "C" fn fmq_pull_consumer_pause(
    consumer: *mut fmq_pull_consumer,
    topic: *const c_char,
    broker_name: *const c_char,
    queue_id: i32,
) -> fmq_result {
    guard(|| {
        let op = "fmq_pull_consumer_pause";
        let c = handle(op, consumer)?.consumer(op)?;
        c.pause(&queues_arg(op, &c, topic, broker_name, queue_id)?);
        Ok(())
    })
}

/// Restarts fetching the queues fmq_pull_consumer_pause stopped (same arguments). Does not
/// block.
#[no_mangle]
pub extern "C" fn fmq_pull_consumer_resume(
    consumer: *mut fmq_pull_consumer,
    topic: *const c_char,
    broker_name: *const c_char,
    queue_id: i32,
) -> fmq_result {
    guard(|| {
        let op = "fmq_pull_consumer_resume";
        let c = handle(op, consumer)?.consumer(op)?;
        c.resume(&queues_arg(op, &c, topic, broker_name, queue_id)?);
        Ok(())
    })
}

/// Continues every assigned queue of `topic` from its first message. Blocks.
#[no_mangle]
pub extern "C" fn fmq_pull_consumer_seek_to_begin(
    consumer: *mut fmq_pull_consumer,
    topic: *const c_char,
) -> fmq_result {
    guard(|| {
        let op = "fmq_pull_consumer_seek_to_begin";
        let c = handle(op, consumer)?.consumer(op)?;
        let topic = str_arg(op, "topic", topic)?;
        block_on(op, async {
            for mq in c.assignment().iter().filter(|q| q.topic == topic) {
                c.seek_to_begin(mq).await?;
            }
            Ok(())
        })?
    })
}

/// Stores the consumed offsets of every queue on the broker now. Blocks.
#[no_mangle]
pub extern "C" fn fmq_pull_consumer_commit(consumer: *mut fmq_pull_consumer) -> fmq_result {
    guard(|| {
        let op = "fmq_pull_consumer_commit";
        let c = handle(op, consumer)?.consumer(op)?;
        block_on(op, c.commit())?
    })
}

/// Commits (with auto commit on), stops fetching and leaves the group, for good. Blocks; a
/// second call does nothing.
#[no_mangle]
pub extern "C" fn fmq_pull_consumer_shutdown(consumer: *mut fmq_pull_consumer) -> fmq_result {
    guard(|| {
        let op = "fmq_pull_consumer_shutdown";
        shutdown(op, &handle(op, consumer)?.lifecycle)
    })
}

/// Shuts the consumer down if needed and releases it (NULL: nothing).
#[no_mangle]
pub extern "C" fn fmq_pull_consumer_free(consumer: *mut fmq_pull_consumer) {
    guard_value((), || {
        if let Some(c) = take_handle(consumer) {
            let _ = shutdown("fmq_pull_consumer_free", &c.lifecycle);
        }
    });
}
