//! `fmq_pull_consumer`: a lite pull consumer; the caller polls for messages.

use std::ffi::{c_char, c_void};
use std::sync::Mutex;

use ferromq_client::{ConsumeFrom, Error, FilterExpression, PullConsumer, PullConsumerOptions};

use crate::error::{fmq_result, guard, guard_value};
use crate::ffi::{check_out, handle, into_handle, str_arg, take_handle, write_out};
use crate::message::fmq_message_view;
use crate::options::{client_config, lock, millis, Phase};
use crate::runtime::block_on;

/// Receives one polled message. `message` and its strings are valid during the call only.
/// Runs on the thread that called fmq_pull_consumer_poll, before poll returns; it must not
/// shut down or free the consumer.
pub type fmq_poll_callback =
    Option<extern "C" fn(message: *const fmq_message_view, userdata: *mut c_void)>;

/// A lite pull consumer: settings, then fmq_pull_consumer_start, then subscribe or assign,
/// then poll. Thread-safe except for fmq_pull_consumer_free.
#[derive(Debug)]
pub struct fmq_pull_consumer {
    options: Mutex<PullConsumerOptions>,
    phase: Mutex<Phase<PullConsumer>>,
}

impl fmq_pull_consumer {
    fn configure(
        &self,
        op: &'static str,
        f: impl FnOnce(&mut PullConsumerOptions),
    ) -> Result<(), Error> {
        lock(&self.phase).check_new(op)?;
        f(&mut lock(&self.options));
        Ok(())
    }

    fn consumer(&self, op: &'static str) -> Result<PullConsumer, Error> {
        lock(&self.phase).started(op)
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
        let options = PullConsumerOptions {
            client,
            group: group.to_owned(),
            ..PullConsumerOptions::default()
        };
        write_out(
            out,
            into_handle(fmq_pull_consumer {
                options: Mutex::new(options),
                phase: Mutex::new(Phase::New),
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
        c.configure(op, |o| o.client.instance_name = name)
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
        handle(op, consumer)?.configure(op, |o| {
            o.consume_from = if first {
                ConsumeFrom::FirstOffset
            } else {
                ConsumeFrom::LastOffset
            }
        })
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
        handle(op, consumer)?.configure(op, |o| o.auto_commit = auto_commit)
    })
}

/// Joins the group (no queues yet). Blocks.
#[no_mangle]
pub extern "C" fn fmq_pull_consumer_start(consumer: *mut fmq_pull_consumer) -> fmq_result {
    guard(|| {
        let op = "fmq_pull_consumer_start";
        let c = handle(op, consumer)?;
        let mut phase = lock(&c.phase);
        phase.check_new(op)?;
        let options = lock(&c.options).clone();
        *phase = Phase::Started(block_on(op, PullConsumer::start(options))??);
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
        let expr = if tag_expression.is_null() {
            FilterExpression::all()
        } else {
            FilterExpression::tag(str_arg(op, "tag_expression", tag_expression)?)
        };
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

/// Commits (with auto commit on), stops fetching and leaves the group. Blocks; idempotent.
#[no_mangle]
pub extern "C" fn fmq_pull_consumer_shutdown(consumer: *mut fmq_pull_consumer) -> fmq_result {
    guard(|| {
        let op = "fmq_pull_consumer_shutdown";
        let c = handle(op, consumer)?;
        let previous = std::mem::replace(&mut *lock(&c.phase), Phase::Closed);
        if let Phase::Started(started) = previous {
            block_on(op, started.shutdown())?;
        }
        Ok(())
    })
}

/// Shuts the consumer down if needed and releases it (NULL: nothing).
#[no_mangle]
pub extern "C" fn fmq_pull_consumer_free(consumer: *mut fmq_pull_consumer) {
    guard_value((), || {
        if let Some(c) = take_handle(consumer) {
            if let Phase::Started(started) = std::mem::replace(&mut *lock(&c.phase), Phase::Closed)
            {
                let _ = block_on("fmq_pull_consumer_free", started.shutdown());
            }
        }
    });
}
