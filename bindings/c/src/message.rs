//! Messages to send ([`fmq_message`], owned by the caller) and received messages
//! ([`fmq_message_view`], lent to a callback).

use std::cell::RefCell;
use std::ffi::{c_char, CString};
use std::ptr;
use std::sync::Mutex;

use ferromq_client::{Message, MessageView};

use crate::error::{c_string, fmq_result, guard, guard_value};
use crate::ffi::{bytes_arg, handle, into_handle, str_arg, take_handle};
use ferromq_common::lock;

/// A message to send: topic, body, tag, keys, properties, delay. Made by fmq_message_new,
/// released by fmq_message_free. Sending does not consume it: one message may be sent
/// several times. Not thread-safe: do not change it while another thread sends it.
#[derive(Debug)]
pub struct fmq_message {
    pub(crate) inner: Message,
    /// Strings handed out by the accessors; freed with the message.
    strings: Mutex<Vec<CString>>,
}

impl fmq_message {
    pub(crate) fn new(inner: Message) -> Self {
        fmq_message {
            inner,
            strings: Mutex::new(Vec::new()),
        }
    }

    fn lend(&self, s: &str) -> *const c_char {
        let c = c_string(s);
        let p = c.as_ptr();
        // The CString's heap buffer does not move when the vector grows.
        lock(&self.strings).push(c);
        p
    }

    fn update(&mut self, f: impl FnOnce(Message) -> Message) {
        let m = std::mem::replace(&mut self.inner, Message::new(String::new(), Vec::new()));
        self.inner = f(m);
    }
}

/// A new message for `topic` with `len` bytes of `body` (copied; `body` may be NULL when
/// `len` is 0). On success `*out` is the new message; free it with fmq_message_free.
#[no_mangle]
pub extern "C" fn fmq_message_new(
    topic: *const c_char,
    body: *const u8,
    len: usize,
    out: *mut *mut fmq_message,
) -> fmq_result {
    guard(|| {
        let op = "fmq_message_new";
        crate::ffi::check_out(op, "out", out)?;
        let topic = str_arg(op, "topic", topic)?;
        let body = bytes_arg(op, "body", body, len)?;
        let message = fmq_message::new(Message::new(topic, body.to_vec()));
        crate::ffi::write_out(out, into_handle(message));
        Ok(())
    })
}

/// Releases a message (NULL: nothing).
#[no_mangle]
pub extern "C" fn fmq_message_free(message: *mut fmq_message) {
    guard_value((), || drop(take_handle(message)));
}

fn set(
    op: &'static str,
    message: *mut fmq_message,
    f: impl FnOnce(&mut fmq_message) -> Result<(), ferromq_client::Error>,
) -> fmq_result {
    guard(|| {
        if message.is_null() {
            return Err(ferromq_client::Error::invalid(op, "the message is NULL"));
        }
        // SAFETY: a live message from fmq_message_new, not used by another thread (header).
        f(unsafe { &mut *message })
    })
}

/// Sets the tag (one per message; consumers filter on it).
#[no_mangle]
pub extern "C" fn fmq_message_set_tag(message: *mut fmq_message, tag: *const c_char) -> fmq_result {
    set("fmq_message_set_tag", message, |m| {
        let tag = str_arg("fmq_message_set_tag", "tag", tag)?.to_owned();
        m.update(|x| x.with_tag(tag));
        Ok(())
    })
}

/// Sets the keys, space-separated ("k1 k2"); the broker indexes each.
#[no_mangle]
pub extern "C" fn fmq_message_set_keys(
    message: *mut fmq_message,
    keys: *const c_char,
) -> fmq_result {
    set("fmq_message_set_keys", message, |m| {
        let keys = str_arg("fmq_message_set_keys", "keys", keys)?.to_owned();
        m.update(|x| x.with_keys(keys.split(' ').filter(|k| !k.is_empty())));
        Ok(())
    })
}

/// Sets the user property `name` to `value` (SQL92 filters see it).
#[no_mangle]
pub extern "C" fn fmq_message_set_property(
    message: *mut fmq_message,
    name: *const c_char,
    value: *const c_char,
) -> fmq_result {
    set("fmq_message_set_property", message, |m| {
        let op = "fmq_message_set_property";
        let name = str_arg(op, "name", name)?.to_owned();
        let value = str_arg(op, "value", value)?.to_owned();
        if name.is_empty() {
            return Err(ferromq_client::Error::invalid(
                op,
                "the property name is empty",
            ));
        }
        m.update(|x| x.with_property(name, value));
        Ok(())
    })
}

/// Delivers after delay level `level` (1-based into the broker's messageDelayLevel list;
/// 1 = 1 s, 2 = 5 s, 3 = 10 s with the default list).
#[no_mangle]
pub extern "C" fn fmq_message_set_delay_level(message: *mut fmq_message, level: i32) -> fmq_result {
    set("fmq_message_set_delay_level", message, |m| {
        if level < 0 {
            return Err(ferromq_client::Error::invalid(
                "fmq_message_set_delay_level",
                "the delay level is negative",
            ));
        }
        m.update(|x| x.with_delay_level(level));
        Ok(())
    })
}

/// Delivers at `deliver_time_ms` (milliseconds since the Unix epoch; timer messages).
#[no_mangle]
pub extern "C" fn fmq_message_set_deliver_time(
    message: *mut fmq_message,
    deliver_time_ms: i64,
) -> fmq_result {
    set("fmq_message_set_deliver_time", message, |m| {
        m.update(|x| x.with_deliver_time_ms(deliver_time_ms));
        Ok(())
    })
}

/// The body of a message (owned by it; valid until it is changed or freed). `*len` gets
/// its length. NULL when `message` or `len` is NULL.
#[no_mangle]
pub extern "C" fn fmq_message_body(message: *const fmq_message, len: *mut usize) -> *const u8 {
    guard_value(ptr::null(), || {
        let Ok(m) = handle("fmq_message_body", message) else {
            return ptr::null();
        };
        if len.is_null() {
            return ptr::null();
        }
        crate::ffi::write_out(len, m.inner.body().len());
        m.inner.body().as_ptr()
    })
}

/// The topic of a message (owned by the message; valid until it is freed). NULL when
/// `message` is NULL.
#[no_mangle]
pub extern "C" fn fmq_message_topic(message: *const fmq_message) -> *const c_char {
    guard_value(ptr::null(), || match handle("fmq_message_topic", message) {
        Ok(m) => m.lend(m.inner.topic()),
        Err(_) => ptr::null(),
    })
}

/// The tag of a message, or NULL when it has none (owned by the message; valid until it is
/// freed).
#[no_mangle]
pub extern "C" fn fmq_message_tag(message: *const fmq_message) -> *const c_char {
    guard_value(ptr::null(), || match handle("fmq_message_tag", message) {
        Ok(m) => m.inner.tag().map_or(ptr::null(), |t| m.lend(t)),
        Err(_) => ptr::null(),
    })
}

/// The property `name` of a message (user or system, e.g. "KEYS"), or NULL when absent
/// (owned by the message; valid until it is freed).
#[no_mangle]
pub extern "C" fn fmq_message_property(
    message: *const fmq_message,
    name: *const c_char,
) -> *const c_char {
    guard_value(ptr::null(), || {
        let (Ok(m), Ok(name)) = (
            handle("fmq_message_property", message),
            str_arg("fmq_message_property", "name", name),
        ) else {
            return ptr::null();
        };
        m.inner.property(name).map_or(ptr::null(), |v| m.lend(v))
    })
}

/// A received message, lent to a callback: it and every pointer its accessors return are
/// valid only until the callback returns (copy what you keep). Accessors may be called
/// only on the callback's thread. The one exception is the reply that fmq_producer_request
/// returns: the caller owns it, its strings live until fmq_message_view_free, and it may be
/// used from one thread at a time.
#[derive(Debug)]
pub struct fmq_message_view {
    pub(crate) view: MessageView,
    /// Strings handed out so far; freed with the view after the callback.
    strings: RefCell<Vec<CString>>,
}

impl fmq_message_view {
    pub(crate) fn new(view: &MessageView) -> Self {
        fmq_message_view {
            view: view.clone(),
            strings: RefCell::new(Vec::new()),
        }
    }

    fn lend(&self, s: &str) -> *const c_char {
        let c = c_string(s);
        let p = c.as_ptr();
        // The CString's heap buffer does not move when the vector grows.
        self.strings.borrow_mut().push(c);
        p
    }
}

pub(crate) fn with_view<T>(
    view: *const fmq_message_view,
    fallback: T,
    f: impl FnOnce(&fmq_message_view) -> T,
) -> T {
    if view.is_null() {
        return fallback;
    }
    // SAFETY: a view lent to the running callback (header).
    let v = unsafe { &*view };
    guard_value(fallback, || f(v))
}

/// The topic the producer sent to (also for redeliveries). NULL when `view` is NULL.
#[no_mangle]
pub extern "C" fn fmq_message_view_topic(view: *const fmq_message_view) -> *const c_char {
    with_view(view, ptr::null(), |v| v.lend(v.view.topic()))
}

/// The body; `*len` gets its length (may be 0). NULL when `view` or `len` is NULL.
#[no_mangle]
pub extern "C" fn fmq_message_view_body(
    view: *const fmq_message_view,
    len: *mut usize,
) -> *const u8 {
    with_view(view, ptr::null(), |v| {
        if len.is_null() {
            return ptr::null();
        }
        crate::ffi::write_out(len, v.view.body().len());
        v.view.body().as_ptr()
    })
}

/// The tag, or NULL when the message has none.
#[no_mangle]
pub extern "C" fn fmq_message_view_tag(view: *const fmq_message_view) -> *const c_char {
    with_view(view, ptr::null(), |v| match v.view.tag() {
        Some(tag) => v.lend(tag),
        None => ptr::null(),
    })
}

/// The keys, space-separated ("" when none).
#[no_mangle]
pub extern "C" fn fmq_message_view_keys(view: *const fmq_message_view) -> *const c_char {
    with_view(view, ptr::null(), |v| v.lend(&v.view.keys().join(" ")))
}

/// The property `name` (user or system), or NULL when absent.
#[no_mangle]
pub extern "C" fn fmq_message_view_property(
    view: *const fmq_message_view,
    name: *const c_char,
) -> *const c_char {
    with_view(view, ptr::null(), |v| {
        let Ok(name) = str_arg("fmq_message_view_property", "name", name) else {
            return ptr::null();
        };
        match v.view.property(name) {
            Some(value) => v.lend(value),
            None => ptr::null(),
        }
    })
}

/// The message id (the producer's unique key, as Java's getMsgId()).
#[no_mangle]
pub extern "C" fn fmq_message_view_msg_id(view: *const fmq_message_view) -> *const c_char {
    with_view(view, ptr::null(), |v| v.lend(&v.view.msg_id()))
}

/// The broker group of the queue it was pulled from.
#[no_mangle]
pub extern "C" fn fmq_message_view_broker_name(view: *const fmq_message_view) -> *const c_char {
    with_view(view, ptr::null(), |v| v.lend(&v.view.queue().broker_name))
}

/// The id of the queue it was pulled from (-1 when `view` is NULL).
#[no_mangle]
pub extern "C" fn fmq_message_view_queue_id(view: *const fmq_message_view) -> i32 {
    with_view(view, -1, |v| v.view.queue().queue_id)
}

/// Its offset in that queue (-1 when `view` is NULL).
#[no_mangle]
pub extern "C" fn fmq_message_view_queue_offset(view: *const fmq_message_view) -> i64 {
    with_view(view, -1, |v| v.view.queue_offset())
}

/// How many times it was redelivered before this delivery (-1 when `view` is NULL).
#[no_mangle]
pub extern "C" fn fmq_message_view_reconsume_times(view: *const fmq_message_view) -> i32 {
    with_view(view, -1, |v| v.view.reconsume_times())
}

/// When the producer created it, ms since the epoch (-1 when `view` is NULL).
#[no_mangle]
pub extern "C" fn fmq_message_view_born_timestamp(view: *const fmq_message_view) -> i64 {
    with_view(view, -1, |v| v.view.born_timestamp())
}

/// When the broker stored it, ms since the epoch (-1 when `view` is NULL).
#[no_mangle]
pub extern "C" fn fmq_message_view_store_timestamp(view: *const fmq_message_view) -> i64 {
    with_view(view, -1, |v| v.view.store_timestamp())
}
