//! `fmq_producer`: sync, async, oneway, ordered (sharding key), to-queue and batch sends.

use std::ffi::{c_char, c_void};
use std::sync::Mutex;

use ferromq_client::{
    Error, ForeignSelector, Lifecycle, Message, Producer, ProducerOptions, SelectByHash,
    SelectorAnswer, SendResult, SendStatus,
};
use ferromq_common::lock;
use ferromq_protocol::body::MessageQueue;

use crate::error::{c_string, code_of, fmq_result, guard, guard_value};
use crate::ffi::{
    check_out, copy_str, handle, into_handle, namespace_arg, str_arg, take_handle, write_out,
    UserData,
};
use crate::message::fmq_message;
use crate::options::{check_created, client_config, millis, shutdown};
use crate::runtime::{block_on, in_async_callback, runtime};

/// Capacity of the id and name fields of fmq_send_result, NUL included.
pub const FMQ_ID_CAPACITY: usize = 64;

/// How a broker stored an accepted message.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum fmq_send_status {
    /// Stored as configured.
    FMQ_SEND_OK = 0,
    /// Stored, but the disk flush timed out (SYNC_FLUSH brokers).
    FMQ_SEND_FLUSH_DISK_TIMEOUT = 1,
    /// Stored, but the slave did not confirm in time (SYNC_MASTER brokers).
    FMQ_SEND_FLUSH_SLAVE_TIMEOUT = 2,
    /// Stored, but no slave is available (SYNC_MASTER brokers).
    FMQ_SEND_SLAVE_NOT_AVAILABLE = 3,
}

/// The outcome of an accepted send (a plain struct: nothing to free).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct fmq_send_result {
    /// How it was stored.
    pub status: fmq_send_status,
    /// The message id (the producer's unique key), NUL-terminated.
    pub msg_id: [c_char; FMQ_ID_CAPACITY],
    /// The broker's offset message id (store host and commit log offset), NUL-terminated.
    pub offset_msg_id: [c_char; FMQ_ID_CAPACITY],
    /// The broker group written, NUL-terminated (truncated past FMQ_ID_CAPACITY - 1 bytes).
    pub broker_name: [c_char; FMQ_ID_CAPACITY],
    /// The queue written.
    pub queue_id: i32,
    /// The message's offset in that queue.
    pub queue_offset: i64,
}

impl fmq_send_result {
    fn new(r: &SendResult, msg_id: &str, offset_msg_id: &str, queue_offset: i64) -> Self {
        let mut out = fmq_send_result {
            status: match r.status {
                SendStatus::Ok => fmq_send_status::FMQ_SEND_OK,
                SendStatus::FlushDiskTimeout => fmq_send_status::FMQ_SEND_FLUSH_DISK_TIMEOUT,
                SendStatus::FlushSlaveTimeout => fmq_send_status::FMQ_SEND_FLUSH_SLAVE_TIMEOUT,
                _ => fmq_send_status::FMQ_SEND_SLAVE_NOT_AVAILABLE,
            },
            msg_id: [0; FMQ_ID_CAPACITY],
            offset_msg_id: [0; FMQ_ID_CAPACITY],
            broker_name: [0; FMQ_ID_CAPACITY],
            queue_id: r.queue.queue_id,
            queue_offset,
        };
        copy_str(&mut out.msg_id, msg_id);
        copy_str(&mut out.offset_msg_id, offset_msg_id);
        copy_str(&mut out.broker_name, &r.queue.broker_name);
        out
    }

    pub(crate) fn from_core(r: &SendResult) -> Self {
        Self::new(r, &r.msg_id, &r.offset_msg_id, r.queue_offset)
    }

    /// One result per message of the batches sent (ids split, offsets counted up).
    fn per_message(results: &[SendResult]) -> Vec<Self> {
        let mut out = Vec::new();
        for r in results {
            let offset_ids: Vec<&str> = r.offset_msg_id.split(',').collect();
            for (i, id) in r.msg_id.split(',').enumerate() {
                let offset_id = offset_ids.get(i).copied().unwrap_or("");
                let i = i64::try_from(i).unwrap_or(i64::MAX);
                out.push(Self::new(
                    r,
                    id,
                    offset_id,
                    r.queue_offset.saturating_add(i),
                ));
            }
        }
        out
    }
}

/// Completion of fmq_producer_send_async. On success `result` is FMQ_OK and `send_result`
/// points to the outcome; on failure `send_result` is NULL and `error_message` describes the
/// failure. Both pointers are valid during the call only.
///
/// Runs on a FerroMQ runtime worker thread: return quickly, never block, and do not call the
/// blocking FerroMQ functions (they fail with FMQ_ERR_ILLEGAL_STATE there); never free the
/// producer from it.
pub type fmq_send_callback = Option<
    extern "C" fn(
        result: fmq_result,
        send_result: *const fmq_send_result,
        error_message: *const c_char,
        userdata: *mut c_void,
    ),
>;

/// A producer. Settings (`fmq_producer_set_*`) before fmq_producer_start; sends after it.
/// Every function but fmq_producer_free may be called from any thread, also concurrently.
#[derive(Debug)]
pub struct fmq_producer {
    options: Mutex<ProducerOptions>,
    pub(crate) lifecycle: Lifecycle<Producer>,
}

impl fmq_producer {
    pub(crate) fn producer(&self, op: &'static str) -> Result<Producer, Error> {
        self.lifecycle.get(op)
    }

    fn configure(
        &self,
        op: &'static str,
        f: impl FnOnce(&mut ProducerOptions),
    ) -> Result<(), Error> {
        check_created(op, &self.lifecycle)?;
        f(&mut lock(&self.options));
        Ok(())
    }
}

pub(crate) fn message_arg<'a>(
    op: &'static str,
    m: *const fmq_message,
) -> Result<&'a Message, Error> {
    if m.is_null() {
        return Err(Error::invalid(op, "the message is NULL"));
    }
    // SAFETY: a live message from fmq_message_new (header).
    Ok(unsafe { &(*m).inner })
}

/// A new producer of `group` for the name servers `namesrv` (`host:port`, several separated
/// by `;`). Nothing connects before fmq_producer_start. On success `*out` is the producer.
#[no_mangle]
pub extern "C" fn fmq_producer_new(
    namesrv: *const c_char,
    group: *const c_char,
    out: *mut *mut fmq_producer,
) -> fmq_result {
    guard(|| {
        let op = "fmq_producer_new";
        check_out(op, "out", out)?;
        let client = client_config(op, str_arg(op, "namesrv", namesrv)?)?;
        let group = str_arg(op, "group", group)?;
        if group.is_empty() {
            return Err(Error::invalid(op, "the producer group is empty"));
        }
        let options = ProducerOptions {
            client,
            group: group.to_owned(),
            ..ProducerOptions::default()
        };
        write_out(
            out,
            into_handle(fmq_producer {
                options: Mutex::new(options),
                lifecycle: Lifecycle::new("producer"),
            }),
        );
        Ok(())
    })
}

/// Sets the instance name (default "DEFAULT"): handles with the same name servers and
/// instance name share one connection set. Before start.
#[no_mangle]
pub extern "C" fn fmq_producer_set_instance_name(
    producer: *mut fmq_producer,
    name: *const c_char,
) -> fmq_result {
    guard(|| {
        let op = "fmq_producer_set_instance_name";
        let p = handle(op, producer)?;
        let name = str_arg(op, "name", name)?.to_owned();
        p.configure(op, |o| o.client.instance_name = name)
    })
}

/// Sets the namespace (Apache's client namespace; NULL or "" for none): topics and groups go
/// on the wire as `namespace%name`, while messages, send results and queues show the bare
/// names. Letters, digits, `_`, `-` and `|` only, else FMQ_ERR_INVALID_ARGUMENT. Before start.
#[no_mangle]
pub extern "C" fn fmq_producer_set_namespace(
    producer: *mut fmq_producer,
    namespace: *const c_char,
) -> fmq_result {
    guard(|| {
        let op = "fmq_producer_set_namespace";
        let p = handle(op, producer)?;
        let ns = namespace_arg(op, namespace)?;
        p.configure(op, |o| o.client.namespace = ns)
    })
}

/// Signs every request of this producer with ACL 1.0 credentials (brokers with aclEnable=true).
/// `security_token` may be NULL; `access_key` NULL removes them. Before start.
#[no_mangle]
pub extern "C" fn fmq_producer_set_credentials(
    producer: *mut fmq_producer,
    access_key: *const c_char,
    secret_key: *const c_char,
    security_token: *const c_char,
) -> fmq_result {
    guard(|| {
        let op = "fmq_producer_set_credentials";
        let h = handle(op, producer)?;
        let c = crate::security::credentials(op, access_key, secret_key, security_token)?;
        h.configure(op, |o| o.client.credentials = c)
    })
}

/// Connects to the name servers and brokers over TLS as `options` says (see fmq_tls_options;
/// the struct is read during the call only); NULL: plaintext again. Files are checked to exist
/// here, loaded at start. Before start.
#[no_mangle]
pub extern "C" fn fmq_producer_set_tls(
    producer: *mut fmq_producer,
    options: *const crate::security::fmq_tls_options,
) -> fmq_result {
    guard(|| {
        let op = "fmq_producer_set_tls";
        let h = handle(op, producer)?;
        let t = crate::security::tls(op, options)?;
        h.configure(op, |o| o.client.tls = t)
    })
}

/// Sets the timeout of one send attempt in ms (default 3000). Before start.
#[no_mangle]
pub extern "C" fn fmq_producer_set_send_timeout(
    producer: *mut fmq_producer,
    ms: u32,
) -> fmq_result {
    guard(|| {
        let op = "fmq_producer_set_send_timeout";
        let p = handle(op, producer)?;
        let timeout = millis(op, ms)?;
        p.configure(op, |o| o.send_timeout = timeout)
    })
}

/// Sets how many times a failed sync or async send is retried (default 2). Before start.
#[no_mangle]
pub extern "C" fn fmq_producer_set_retry_times(
    producer: *mut fmq_producer,
    times: u32,
) -> fmq_result {
    guard(|| {
        let op = "fmq_producer_set_retry_times";
        let p = handle(op, producer)?;
        p.configure(op, |o| o.retry_times = times)
    })
}

/// Sets the largest body (or batch) accepted, in bytes (default 4 MiB). Before start.
#[no_mangle]
pub extern "C" fn fmq_producer_set_max_message_size(
    producer: *mut fmq_producer,
    bytes: usize,
) -> fmq_result {
    guard(|| {
        let op = "fmq_producer_set_max_message_size";
        let p = handle(op, producer)?;
        if bytes == 0 {
            return Err(Error::invalid(op, "the maximum message size is 0"));
        }
        p.configure(op, |o| o.max_message_size = bytes)
    })
}

/// Message trace (Java's enableMsgTrace / customizedTraceTopic; off by default): with `enable`,
/// each accepted send is recorded in `trace_topic` (NULL: RMQ_SYS_TRACE_TOPIC) in Apache's
/// trace format. An illegal topic fails the start. Before start.
#[no_mangle]
pub extern "C" fn fmq_producer_set_msg_trace(
    producer: *mut fmq_producer,
    enable: bool,
    trace_topic: *const c_char,
) -> fmq_result {
    guard(|| {
        let op = "fmq_producer_set_msg_trace";
        let p = handle(op, producer)?;
        let topic = crate::consumer::opt_str(op, "trace_topic", trace_topic)?;
        p.configure(op, |o| {
            o.enable_msg_trace = enable;
            o.trace_topic = topic;
        })
    })
}

/// Sets the timeout of name-server and other non-send requests in ms (default 3000).
/// Before start.
#[no_mangle]
pub extern "C" fn fmq_producer_set_request_timeout(
    producer: *mut fmq_producer,
    ms: u32,
) -> fmq_result {
    guard(|| {
        let op = "fmq_producer_set_request_timeout";
        let p = handle(op, producer)?;
        let timeout = millis(op, ms)?;
        p.configure(op, |o| o.client.request_timeout = timeout)
    })
}

/// Connects to the name servers and registers the group. Blocks the calling thread.
/// A producer starts once: FMQ_ERR_ILLEGAL_STATE when it is started already or was shut down
/// (make a new one). A failed start leaves it unstarted, so it may be started again.
#[no_mangle]
pub extern "C" fn fmq_producer_start(producer: *mut fmq_producer) -> fmq_result {
    guard(|| {
        let op = "fmq_producer_start";
        let p = handle(op, producer)?;
        let options = lock(&p.options).clone();
        block_on(op, p.lifecycle.start(|| Producer::start(options)))??;
        Ok(())
    })
}

/// Sends `message` and waits for the broker's answer, retrying on failure (sync send).
/// Blocks the calling thread. On success `*out` gets the outcome.
#[no_mangle]
pub extern "C" fn fmq_producer_send(
    producer: *const fmq_producer,
    message: *const fmq_message,
    out: *mut fmq_send_result,
) -> fmq_result {
    guard(|| {
        let op = "fmq_producer_send";
        check_out(op, "out", out)?;
        let p = handle(op, producer)?.producer(op)?;
        let m = message_arg(op, message)?.clone();
        let r = block_on(op, p.send(m))??;
        write_out(out, fmq_send_result::from_core(&r));
        Ok(())
    })
}

/// Sends `message` without waiting: returns at once, and `callback` gets the outcome later
/// (see fmq_send_callback for its thread) with `userdata`. FMQ_OK means the send was
/// started; the callback is then called exactly once. Safe to call from any thread, also
/// from callbacks.
#[no_mangle]
pub extern "C" fn fmq_producer_send_async(
    producer: *const fmq_producer,
    message: *const fmq_message,
    callback: fmq_send_callback,
    userdata: *mut c_void,
) -> fmq_result {
    guard(|| {
        let op = "fmq_producer_send_async";
        let Some(callback) = callback else {
            return Err(Error::invalid(op, "the callback is NULL"));
        };
        let p = handle(op, producer)?.producer(op)?;
        let m = message_arg(op, message)?.clone();
        let userdata = UserData(userdata);
        // The producer's tasks run on the binding's runtime.
        let _entered = runtime()?.enter();
        p.send_async(m, move |r| {
            let userdata = userdata;
            guard_value((), || match r {
                Ok(r) => {
                    let sr = fmq_send_result::from_core(&r);
                    in_async_callback(|| {
                        callback(fmq_result::FMQ_OK, &sr, c"".as_ptr(), userdata.0)
                    });
                }
                Err(e) => {
                    let text = c_string(&e.to_string());
                    in_async_callback(|| {
                        callback(
                            code_of(e.kind()),
                            std::ptr::null(),
                            text.as_ptr(),
                            userdata.0,
                        )
                    });
                }
            });
        });
        Ok(())
    })
}

/// Sends `message` oneway: no answer from the broker, never retried; FMQ_OK means the bytes
/// were written. Blocks the calling thread until then.
#[no_mangle]
pub extern "C" fn fmq_producer_send_oneway(
    producer: *const fmq_producer,
    message: *const fmq_message,
) -> fmq_result {
    guard(|| {
        let op = "fmq_producer_send_oneway";
        let p = handle(op, producer)?.producer(op)?;
        let m = message_arg(op, message)?.clone();
        block_on(op, p.send_oneway(m))?
    })
}

/// Sends `message` to the queue chosen by hashing `sharding_key` (as Java's
/// SelectMessageQueueByHash): messages with one key go to one queue, in order. One attempt
/// (no retry elsewhere, which could break the order). Blocks. On success `*out` is written.
#[no_mangle]
pub extern "C" fn fmq_producer_send_with_sharding_key(
    producer: *const fmq_producer,
    message: *const fmq_message,
    sharding_key: *const c_char,
    out: *mut fmq_send_result,
) -> fmq_result {
    guard(|| {
        let op = "fmq_producer_send_with_sharding_key";
        check_out(op, "out", out)?;
        let p = handle(op, producer)?.producer(op)?;
        let m = message_arg(op, message)?.clone();
        let key = str_arg(op, "sharding_key", sharding_key)?;
        let r = block_on(op, p.send_with_selector(m, &SelectByHash, key))??;
        write_out(out, fmq_send_result::from_core(&r));
        Ok(())
    })
}

/// Chooses the queue of a send (fmq_producer_send_with_selector) or a request
/// (fmq_producer_request_with_selector): gets the message, the number of writable queues of
/// its topic (at least 1) and the `userdata` given with the call, and returns the index of a
/// queue, `0 <= index < queue_count`. The queues are in the route's order (by broker name,
/// then queue id), the same for every call while the route does not change. Any other answer
/// fails the call with FMQ_ERR_INVALID_ARGUMENT before anything is sent.
///
/// Runs on the thread that called the send or request, before it returns; it must not call the
/// blocking FerroMQ functions (they fail with FMQ_ERR_ILLEGAL_STATE there). `message` is
/// valid during the call only.
pub type fmq_queue_selector = Option<
    extern "C" fn(message: *const fmq_message, queue_count: i32, userdata: *mut c_void) -> i32,
>;

/// Calls the C selector with `(message, queue_count, userdata)` and says what it answered; the
/// core ([`ForeignSelector`]) checks the answer (an index below `queue_count`).
pub(crate) fn c_answer(
    callback: extern "C" fn(*const fmq_message, i32, *mut c_void) -> i32,
    userdata: &UserData,
    message: &Message,
    count: usize,
) -> SelectorAnswer {
    let Ok(count) = i32::try_from(count) else {
        return SelectorAnswer::Failed(
            "cannot be asked: the topic has more queues than an int32_t holds".to_owned(),
        );
    };
    let m = fmq_message::new(message.clone());
    SelectorAnswer::Number(f64::from(in_async_callback(|| {
        callback(&m, count, userdata.0)
    })))
}

/// Sends `message` to the queue `selector` chooses (see fmq_queue_selector), called with
/// `userdata`. One attempt (no retry elsewhere, which could break an order). Blocks. On
/// success `*out` is written.
#[no_mangle]
pub extern "C" fn fmq_producer_send_with_selector(
    producer: *const fmq_producer,
    message: *const fmq_message,
    selector: fmq_queue_selector,
    userdata: *mut c_void,
    out: *mut fmq_send_result,
) -> fmq_result {
    guard(|| {
        let op = "fmq_producer_send_with_selector";
        check_out(op, "out", out)?;
        let Some(callback) = selector else {
            return Err(Error::invalid(op, "the selector is NULL"));
        };
        let p = handle(op, producer)?.producer(op)?;
        let m = message_arg(op, message)?.clone();
        let userdata = UserData(userdata);
        let selector =
            ForeignSelector(move |m: &Message, n: usize| c_answer(callback, &userdata, m, n));
        let r = block_on(op, p.send_with_selector(m, &selector, ""))??;
        write_out(out, fmq_send_result::from_core(&r));
        Ok(())
    })
}

/// Sends `message` to queue `queue_id` of broker group `broker_name` (one attempt). Blocks.
/// On success `*out` is written.
#[no_mangle]
pub extern "C" fn fmq_producer_send_to_queue(
    producer: *const fmq_producer,
    message: *const fmq_message,
    broker_name: *const c_char,
    queue_id: i32,
    out: *mut fmq_send_result,
) -> fmq_result {
    guard(|| {
        let op = "fmq_producer_send_to_queue";
        check_out(op, "out", out)?;
        let p = handle(op, producer)?.producer(op)?;
        let m = message_arg(op, message)?.clone();
        let queue = MessageQueue::new(
            m.topic(),
            str_arg(op, "broker_name", broker_name)?,
            queue_id,
        );
        let r = block_on(op, p.send_to_queue(m, &queue))??;
        write_out(out, fmq_send_result::from_core(&r));
        Ok(())
    })
}

/// Sends `count` messages of one topic as a batch (split into several when larger than
/// 4 MiB). Delayed messages cannot be batched. Blocks. On success `out` (an array of
/// `count` results, given by the caller) gets one result per message, in order.
#[no_mangle]
pub extern "C" fn fmq_producer_send_batch(
    producer: *const fmq_producer,
    messages: *const *const fmq_message,
    count: usize,
    out: *mut fmq_send_result,
) -> fmq_result {
    guard(|| {
        let op = "fmq_producer_send_batch";
        check_out(op, "out", out)?;
        let p = handle(op, producer)?;
        if count == 0 {
            return Err(Error::invalid(op, "the batch is empty"));
        }
        if messages.is_null() {
            return Err(Error::invalid(op, "messages is NULL"));
        }
        let p = p.producer(op)?;
        // SAFETY: the caller passes an array of `count` message pointers (header).
        let list = unsafe { std::slice::from_raw_parts(messages, count) };
        let batch = list
            .iter()
            .map(|m| message_arg(op, *m).cloned())
            .collect::<Result<Vec<_>, _>>()?;
        let results = block_on(op, p.send_batch(batch))??;
        let per_message = fmq_send_result::per_message(&results);
        if per_message.len() != count {
            return Err(Error::new(
                ferromq_client::ErrorKind::Protocol,
                op,
                format!(
                    "{count} messages sent but {} ids returned",
                    per_message.len()
                ),
            ));
        }
        for (i, r) in per_message.into_iter().enumerate() {
            // SAFETY: `out` holds `count` results (header); i < count.
            write_out(unsafe { out.add(i) }, r);
        }
        Ok(())
    })
}

/// Stops the producer (unregisters its group), for good: it cannot be started again. Blocks.
/// Sends fail afterwards; pending async completions still get called. A second call does
/// nothing.
#[no_mangle]
pub extern "C" fn fmq_producer_shutdown(producer: *mut fmq_producer) -> fmq_result {
    guard(|| {
        let op = "fmq_producer_shutdown";
        shutdown(op, &handle(op, producer)?.lifecycle)
    })
}

/// Shuts the producer down if needed and releases it (NULL: nothing). Never call it from a
/// callback, nor while another thread uses the producer.
#[no_mangle]
pub extern "C" fn fmq_producer_free(producer: *mut fmq_producer) {
    guard_value((), || {
        if let Some(p) = take_handle(producer) {
            let _ = shutdown("fmq_producer_free", &p.lifecycle);
        }
    });
}

#[cfg(test)]
mod tests {
    use std::ffi::CStr;

    use super::*;
    use crate::error::fmq_error_message;

    #[test]
    fn set_namespace_checks_the_name_before_start() {
        let mut p: *mut fmq_producer = std::ptr::null_mut();
        let r = fmq_producer_new(c"127.0.0.1:9876".as_ptr(), c"pg".as_ptr(), &mut p);
        assert_eq!(r, fmq_result::FMQ_OK);
        let r = fmq_producer_set_namespace(p, c"bad%ns".as_ptr());
        assert_eq!(r, fmq_result::FMQ_ERR_INVALID_ARGUMENT);
        // SAFETY: valid until the next failing call on this thread.
        let text = unsafe { CStr::from_ptr(fmq_error_message()) };
        assert!(text.to_str().expect("UTF-8").contains("namespace"));
        for ok in [c"tenant_A-1|x".as_ptr(), c"".as_ptr(), std::ptr::null()] {
            assert_eq!(fmq_producer_set_namespace(p, ok), fmq_result::FMQ_OK);
        }
        fmq_producer_free(p);
    }
}
