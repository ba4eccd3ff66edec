//! Request-reply (docs/request-reply.md): `fmq_producer_request` (blocking), to a chosen
//! queue (`_to_queue`, `_with_sharding_key`, `_with_selector`), `fmq_producer_request_async`
//! (callback), `fmq_message_reply_to` and `fmq_producer_send_reply`. The behaviour is the
//! core's `Producer::request` family.

use std::ffi::{c_char, c_void};
use std::time::Duration;

use ferromq_client::{Error, ForeignSelector, Message, MessageView, Producer, SelectByHash};
use ferromq_protocol::body::MessageQueue;

use crate::error::{c_string, code_of, fmq_result, guard, guard_value};
use crate::ffi::{
    bytes_arg, check_out, handle, into_handle, str_arg, take_handle, write_out, UserData,
};
use crate::message::{fmq_message, fmq_message_view};
use crate::options::millis;
use crate::producer::{c_answer, fmq_producer, fmq_queue_selector, fmq_send_result, message_arg};
use crate::runtime::{block_on, in_async_callback, runtime};

/// Completion of fmq_producer_request_async. On success `result` is FMQ_OK and `reply` is the
/// reply; on failure `reply` is NULL and `error_message` describes the failure (FMQ_ERR_TIMEOUT
/// when no reply came in time). `reply`, its strings and `error_message` are valid during the
/// call only (copy what you keep), as for a consumer's listener.
///
/// Runs on a FerroMQ runtime worker thread, as fmq_send_callback: return quickly, never block,
/// and do not call the blocking FerroMQ functions (they fail with FMQ_ERR_ILLEGAL_STATE
/// there); fmq_producer_request_async may be called from it. Never free the producer from it.
pub type fmq_request_callback = Option<
    extern "C" fn(
        result: fmq_result,
        reply: *const fmq_message_view,
        error_message: *const c_char,
        userdata: *mut c_void,
    ),
>;

/// Sends `message` as a request (it gets the properties CORRELATION_ID, REPLY_TO_CLIENT and
/// TTL) and waits up to `timeout_ms` (the send included) for the reply a responder sends with
/// fmq_producer_send_reply. Blocks the calling thread. FMQ_ERR_TIMEOUT when no reply came in
/// time (a later reply is dropped); a `timeout_ms` of 0 is FMQ_ERR_INVALID_ARGUMENT. On success
/// `*reply_out` is the reply, owned by the caller: read it with the fmq_message_view_*
/// accessors (its strings live as long as it) and release it with fmq_message_view_free.
#[no_mangle]
pub extern "C" fn fmq_producer_request(
    producer: *const fmq_producer,
    message: *const fmq_message,
    timeout_ms: u32,
    reply_out: *mut *mut fmq_message_view,
) -> fmq_result {
    guard(|| {
        let op = "fmq_producer_request";
        check_out(op, "reply_out", reply_out)?;
        let timeout = millis(op, timeout_ms)?;
        let p = handle(op, producer)?.producer(op)?;
        let m = message_arg(op, message)?.clone();
        let reply = block_on(op, p.request(m, timeout))??;
        write_out(reply_out, into_handle(fmq_message_view::new(&reply)));
        Ok(())
    })
}

/// The common part of the blocking requests: arguments checked, then `request` run with the
/// started producer, the message and the timeout; the reply written to `*reply_out`.
fn blocking_request<F>(
    op: &'static str,
    producer: *const fmq_producer,
    message: *const fmq_message,
    timeout_ms: u32,
    reply_out: *mut *mut fmq_message_view,
    request: impl FnOnce(Producer, Message, Duration) -> F,
) -> Result<(), Error>
where
    F: std::future::Future<Output = Result<MessageView, Error>>,
{
    check_out(op, "reply_out", reply_out)?;
    let timeout = millis(op, timeout_ms)?;
    let p = handle(op, producer)?.producer(op)?;
    let m = message_arg(op, message)?.clone();
    let reply = block_on(op, request(p, m, timeout))??;
    write_out(reply_out, into_handle(fmq_message_view::new(&reply)));
    Ok(())
}

/// fmq_producer_request sent to queue `queue_id` of broker group `broker_name` (as
/// fmq_producer_send_to_queue). Blocks; the reply is the caller's, as for fmq_producer_request.
#[no_mangle]
pub extern "C" fn fmq_producer_request_to_queue(
    producer: *const fmq_producer,
    message: *const fmq_message,
    broker_name: *const c_char,
    queue_id: i32,
    timeout_ms: u32,
    reply_out: *mut *mut fmq_message_view,
) -> fmq_result {
    guard(|| {
        let op = "fmq_producer_request_to_queue";
        let broker = str_arg(op, "broker_name", broker_name)?;
        blocking_request(op, producer, message, timeout_ms, reply_out, |p, m, t| {
            let queue = MessageQueue::new(m.topic(), broker, queue_id);
            async move { p.request_to_queue(m, &queue, t).await }
        })
    })
}

/// fmq_producer_request sent to the queue chosen by hashing `sharding_key` (as
/// fmq_producer_send_with_sharding_key: one key, one queue). Blocks; the reply is the
/// caller's, as for fmq_producer_request.
#[no_mangle]
pub extern "C" fn fmq_producer_request_with_sharding_key(
    producer: *const fmq_producer,
    message: *const fmq_message,
    sharding_key: *const c_char,
    timeout_ms: u32,
    reply_out: *mut *mut fmq_message_view,
) -> fmq_result {
    guard(|| {
        let op = "fmq_producer_request_with_sharding_key";
        let key = str_arg(op, "sharding_key", sharding_key)?.to_owned();
        blocking_request(
            op,
            producer,
            message,
            timeout_ms,
            reply_out,
            |p, m, t| async move { p.request_with_selector(m, &SelectByHash, &key, t).await },
        )
    })
}

/// fmq_producer_request sent to the queue `selector` chooses (see fmq_queue_selector: it runs
/// on this thread, before the request is sent, with `userdata`). Blocks; the reply is the
/// caller's, as for fmq_producer_request.
#[no_mangle]
pub extern "C" fn fmq_producer_request_with_selector(
    producer: *const fmq_producer,
    message: *const fmq_message,
    selector: fmq_queue_selector,
    userdata: *mut c_void,
    timeout_ms: u32,
    reply_out: *mut *mut fmq_message_view,
) -> fmq_result {
    guard(|| {
        let op = "fmq_producer_request_with_selector";
        let Some(callback) = selector else {
            return Err(Error::invalid(op, "the selector is NULL"));
        };
        let userdata = UserData(userdata);
        blocking_request(op, producer, message, timeout_ms, reply_out, |p, m, t| {
            let selector =
                ForeignSelector(move |m: &Message, n: usize| c_answer(callback, &userdata, m, n));
            async move { p.request_with_selector(m, &selector, "", t).await }
        })
    })
}

/// fmq_producer_request without waiting: returns at once, and `callback` gets the reply or
/// the error later (see fmq_request_callback for its thread and the reply's lifetime) with
/// `userdata`. FMQ_OK means the request was started; the callback is then called exactly
/// once, at the latest about `timeout_ms` later. Safe to call from any thread, also from
/// callbacks; any number of requests may be in flight.
#[no_mangle]
pub extern "C" fn fmq_producer_request_async(
    producer: *const fmq_producer,
    message: *const fmq_message,
    timeout_ms: u32,
    callback: fmq_request_callback,
    userdata: *mut c_void,
) -> fmq_result {
    guard(|| {
        let op = "fmq_producer_request_async";
        let Some(callback) = callback else {
            return Err(Error::invalid(op, "the callback is NULL"));
        };
        let timeout = millis(op, timeout_ms)?;
        let p = handle(op, producer)?.producer(op)?;
        let m = message_arg(op, message)?.clone();
        let userdata = UserData(userdata);
        // The producer's tasks run on the binding's runtime.
        let _entered = runtime()?.enter();
        p.request_async(m, timeout, move |r: Result<MessageView, Error>| {
            let userdata = userdata;
            guard_value((), || match r {
                Ok(reply) => {
                    let view = fmq_message_view::new(&reply);
                    in_async_callback(|| {
                        callback(fmq_result::FMQ_OK, &view, c"".as_ptr(), userdata.0)
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

/// Releases a reply returned by fmq_producer_request (NULL: nothing). Only for those: a view
/// lent to a callback belongs to the library and must not be freed.
#[no_mangle]
pub extern "C" fn fmq_message_view_free(view: *mut fmq_message_view) {
    guard_value((), || drop(take_handle(view)));
}

/// The reply to `request` (a request received by a listener, or any view of one) with `len`
/// bytes of `body` (copied; NULL when `len` is 0): its topic is the request's cluster's reply
/// topic (`<cluster>_REPLY_TOPIC`) and it carries the request's CORRELATION_ID,
/// REPLY_TO_CLIENT and TTL. FMQ_ERR_INVALID_ARGUMENT when `request` has no CLUSTER property
/// (it was never stored by a broker, so its reply topic is unknown). On success `*out` is a new
/// message (free it with fmq_message_free); send it with fmq_producer_send_reply. Tag, keys
/// and properties may be added before sending.
#[no_mangle]
pub extern "C" fn fmq_message_reply_to(
    request: *const fmq_message_view,
    body: *const u8,
    len: usize,
    out: *mut *mut fmq_message,
) -> fmq_result {
    guard(|| {
        let op = "fmq_message_reply_to";
        check_out(op, "out", out)?;
        let request = handle(op, request)?;
        let body = bytes_arg(op, "body", body, len)?;
        let reply = Message::reply_to(&request.view, body.to_vec())?;
        write_out(out, into_handle(fmq_message::new(reply)));
        Ok(())
    })
}

/// Sends a reply made by fmq_message_reply_to (SEND_REPLY_MESSAGE_V2): the broker pushes it to
/// the requester and answers FMQ_OK once the requester took it; FMQ_ERR_BROKER when the
/// requester is gone (no producer with its client id is connected) or did not take it.
/// FMQ_ERR_INVALID_ARGUMENT for a message that is not a reply. Blocks the calling thread (a
/// push consumer's listener may call it). On success `*out` gets the outcome.
#[no_mangle]
pub extern "C" fn fmq_producer_send_reply(
    producer: *const fmq_producer,
    reply: *const fmq_message,
    out: *mut fmq_send_result,
) -> fmq_result {
    guard(|| {
        let op = "fmq_producer_send_reply";
        check_out(op, "out", out)?;
        let p = handle(op, producer)?.producer(op)?;
        let m = message_arg(op, reply)?.clone();
        let r = block_on(op, p.send_reply(m))??;
        write_out(out, fmq_send_result::from_core(&r));
        Ok(())
    })
}
