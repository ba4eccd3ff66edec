//! `fmq_push_consumer`: the library pulls and calls a C listener for every message.

use std::ffi::{c_char, c_void};
use std::sync::Mutex;

use ferromq_client::{
    ConsumeFrom, ConsumeResult, Error, FilterExpression, MessageListener, MessageModel,
    MessageView, OrderlyListener, OrderlyResult, PushConsumer, PushConsumerOptions,
};

use crate::error::{fmq_result, guard, guard_value};
use crate::ffi::{check_out, handle, into_handle, str_arg, take_handle, write_out, UserData};
use crate::message::fmq_message_view;
use crate::options::{client_config, lock, Phase};
use crate::runtime::block_on;

/// What a listener did with a message.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum fmq_consume_status {
    /// Consumed; the offset may move past it.
    FMQ_CONSUME_SUCCESS = 0,
    /// Failed. Concurrent: redelivered later through `%RETRY%<group>` with reconsume times + 1,
    /// after the maximum reconsume times to `%DLQ%<group>`. Orderly: the queue pauses and the
    /// message is offered again.
    FMQ_CONSUME_RETRY_LATER = 1,
}

/// A push consumer's listener: one message per call; returns an fmq_consume_status value
/// (anything but FMQ_CONSUME_SUCCESS counts as FMQ_CONSUME_RETRY_LATER). `message` and all
/// its strings are valid during the call only.
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
}

/// A push consumer. Settings and subscriptions before fmq_push_consumer_start. Thread-safe
/// except for fmq_push_consumer_free.
#[derive(Debug)]
pub struct fmq_push_consumer {
    settings: Mutex<Settings>,
    phase: Mutex<Phase<PushConsumer>>,
}

impl fmq_push_consumer {
    fn configure(&self, op: &'static str, f: impl FnOnce(&mut Settings)) -> Result<(), Error> {
        lock(&self.phase).check_new(op)?;
        f(&mut lock(&self.settings));
        Ok(())
    }
}

/// A new push consumer of `group` for the name servers `namesrv`. Defaults: clustering,
/// concurrent, starting from the last offset, 20 listener threads. On success `*out` is it.
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
        };
        write_out(
            out,
            into_handle(fmq_push_consumer {
                settings: Mutex::new(settings),
                phase: Mutex::new(Phase::New),
            }),
        );
        Ok(())
    })
}

/// Subscribes to `topic` with a tag expression ("*", "TagA", "TagA || TagC"; NULL = "*").
/// Before start.
#[no_mangle]
pub extern "C" fn fmq_push_consumer_subscribe(
    consumer: *mut fmq_push_consumer,
    topic: *const c_char,
    tag_expression: *const c_char,
) -> fmq_result {
    guard(|| {
        let op = "fmq_push_consumer_subscribe";
        let c = handle(op, consumer)?;
        let topic = str_arg(op, "topic", topic)?.to_owned();
        let expr = if tag_expression.is_null() {
            FilterExpression::all()
        } else {
            FilterExpression::tag(str_arg(op, "tag_expression", tag_expression)?)
        };
        c.configure(op, |s| s.subscriptions.push((topic, expr)))
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
        let topic = str_arg(op, "topic", topic)?.to_owned();
        let expr = FilterExpression::sql92(str_arg(op, "expression", expression)?);
        c.configure(op, |s| s.subscriptions.push((topic, expr)))
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
            s.options.consume_from = if first {
                ConsumeFrom::FirstOffset
            } else {
                ConsumeFrom::LastOffset
            }
        })
    })
}

/// Redeliveries before a message goes to `%DLQ%<group>` (default 16; -1 = default). Before start.
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

/// Listener calls running at once (default 20, at least 1). Before start.
#[no_mangle]
pub extern "C" fn fmq_push_consumer_set_consume_threads(
    consumer: *mut fmq_push_consumer,
    threads: u32,
) -> fmq_result {
    guard(|| {
        let op = "fmq_push_consumer_set_consume_threads";
        let n = usize::try_from(threads.max(1)).unwrap_or(1);
        handle(op, consumer)?.configure(op, |s| s.options.consume_threads = n)
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

/// The C listener as the core's listener.
struct CListener {
    callback: extern "C" fn(*const fmq_message_view, *mut c_void) -> i32,
    userdata: UserData,
}

impl CListener {
    fn consume_all(&self, messages: &[MessageView]) -> bool {
        messages.iter().all(|m| {
            let view = fmq_message_view::new(m);
            guard_value(false, || {
                (self.callback)(&view, self.userdata.0)
                    == fmq_consume_status::FMQ_CONSUME_SUCCESS as i32
            })
        })
    }
}

impl MessageListener for CListener {
    fn consume(&self, messages: &[MessageView]) -> ConsumeResult {
        if self.consume_all(messages) {
            ConsumeResult::Success
        } else {
            ConsumeResult::ReconsumeLater
        }
    }
}

impl OrderlyListener for CListener {
    fn consume(&self, messages: &[MessageView]) -> OrderlyResult {
        if self.consume_all(messages) {
            OrderlyResult::Success
        } else {
            OrderlyResult::SuspendCurrentQueueAMoment
        }
    }
}

/// Joins the group and starts consuming: `listener` is called with `userdata` for every
/// message (see fmq_message_callback for its thread). Blocks until started.
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
        let mut phase = lock(&c.phase);
        phase.check_new(op)?;
        let (options, subs, orderly) = {
            let s = lock(&c.settings);
            (s.options.clone(), s.subscriptions.clone(), s.orderly)
        };
        let listener = CListener {
            callback,
            userdata: UserData(userdata),
        };
        let started = if orderly {
            block_on(op, PushConsumer::start_orderly(options, subs, listener))??
        } else {
            block_on(op, PushConsumer::start(options, subs, listener))??
        };
        *phase = Phase::Started(started);
        Ok(())
    })
}

/// Stops consuming: waits (up to 10 s) for listener calls in flight, commits the offsets and
/// leaves the group. After it returns the listener is not called again (unless a call was
/// still running after those 10 s). Blocks; idempotent.
#[no_mangle]
pub extern "C" fn fmq_push_consumer_shutdown(consumer: *mut fmq_push_consumer) -> fmq_result {
    guard(|| {
        let op = "fmq_push_consumer_shutdown";
        let c = handle(op, consumer)?;
        let previous = std::mem::replace(&mut *lock(&c.phase), Phase::Closed);
        if let Phase::Started(started) = previous {
            block_on(op, started.shutdown())?;
        }
        Ok(())
    })
}

/// Shuts the consumer down if needed and releases it (NULL: nothing). Never from a listener.
#[no_mangle]
pub extern "C" fn fmq_push_consumer_free(consumer: *mut fmq_push_consumer) {
    guard_value((), || {
        if let Some(c) = take_handle(consumer) {
            if let Phase::Started(started) = std::mem::replace(&mut *lock(&c.phase), Phase::Closed)
            {
                let _ = block_on("fmq_push_consumer_free", started.shutdown());
            }
        }
    });
}
