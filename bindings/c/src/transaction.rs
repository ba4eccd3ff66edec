//! `fmq_transaction_producer`: half messages, a local-transaction callback and check-backs.

use std::ffi::{c_char, c_void};
use std::sync::Mutex;

use ferromq_client::{
    Error, Lifecycle, Message, MessageView, ProducerOptions, TransactionListener,
    TransactionProducer, TransactionState,
};
use ferromq_common::lock;

use crate::error::{c_string, fmq_result, guard, guard_value};
use crate::ffi::{
    check_out, handle, into_handle, namespace_arg, str_arg, take_handle, write_out, UserData,
};
use crate::message::{fmq_message, fmq_message_view};
use crate::options::{check_created, client_config, shutdown};
use crate::producer::fmq_send_result;
use crate::runtime::{block_on, in_async_callback};

/// The state of a local transaction.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum fmq_transaction_state {
    /// Deliver the message.
    FMQ_TRANSACTION_COMMIT = 0,
    /// Discard the message.
    FMQ_TRANSACTION_ROLLBACK = 1,
    /// Not known yet: the broker asks again later through the check callback.
    FMQ_TRANSACTION_UNKNOWN = 2,
}

fn state_of(value: i32) -> TransactionState {
    match value {
        0 => TransactionState::Commit,
        1 => TransactionState::Rollback,
        _ => TransactionState::Unknown,
    }
}

/// Runs the local transaction of a half message just stored; returns an
/// fmq_transaction_state value (any other number counts as FMQ_TRANSACTION_UNKNOWN).
/// `message` (the message given to fmq_transaction_producer_send) and `transaction_id` are
/// valid during the call only.
///
/// Runs on the thread that called fmq_transaction_producer_send, inside the library's
/// runtime: it may do the local work, but must not call blocking FerroMQ functions (they fail
/// with FMQ_ERR_ILLEGAL_STATE there).
pub type fmq_transaction_execute_callback = Option<
    extern "C" fn(
        message: *const fmq_message,
        transaction_id: *const c_char,
        userdata: *mut c_void,
    ) -> i32,
>;

/// Answers a broker's check-back for a half message still undecided; returns an
/// fmq_transaction_state value. `message` is valid during the call only.
///
/// Runs on a FerroMQ runtime blocking-pool thread (possibly several at once); it may block,
/// but must never shut down or free its producer.
pub type fmq_transaction_check_callback =
    Option<extern "C" fn(message: *const fmq_message_view, userdata: *mut c_void) -> i32>;

#[derive(Clone, Copy)]
struct CTransactionListener {
    execute: extern "C" fn(*const fmq_message, *const c_char, *mut c_void) -> i32,
    check: extern "C" fn(*const fmq_message_view, *mut c_void) -> i32,
    userdata: UserData,
}

impl TransactionListener for CTransactionListener {
    fn execute(&self, message: &Message, transaction_id: &str) -> TransactionState {
        let m = fmq_message::new(message.clone());
        let id = c_string(transaction_id);
        let userdata = self.userdata;
        guard_value(TransactionState::Unknown, || {
            state_of(in_async_callback(|| {
                (self.execute)(&m, id.as_ptr(), userdata.0)
            }))
        })
    }

    fn check(&self, message: &MessageView) -> TransactionState {
        let view = fmq_message_view::new(message);
        guard_value(TransactionState::Unknown, || {
            state_of((self.check)(&view, self.userdata.0))
        })
    }
}

/// A transactional producer. Thread-safe except for fmq_transaction_producer_free.
#[derive(Debug)]
pub struct fmq_transaction_producer {
    options: Mutex<ProducerOptions>,
    listener: CTransactionListenerBox,
    pub(crate) lifecycle: Lifecycle<TransactionProducer>,
}

struct CTransactionListenerBox(CTransactionListener);

impl std::fmt::Debug for CTransactionListenerBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CTransactionListener")
    }
}

/// A new transactional producer of `group` (required: check-backs are addressed to it) for
/// `namesrv`, with its two callbacks and their `userdata`. On success `*out` is it.
#[no_mangle]
pub extern "C" fn fmq_transaction_producer_new(
    namesrv: *const c_char,
    group: *const c_char,
    execute: fmq_transaction_execute_callback,
    check: fmq_transaction_check_callback,
    userdata: *mut c_void,
    out: *mut *mut fmq_transaction_producer,
) -> fmq_result {
    guard(|| {
        let op = "fmq_transaction_producer_new";
        check_out(op, "out", out)?;
        let client = client_config(op, str_arg(op, "namesrv", namesrv)?)?;
        let group = str_arg(op, "group", group)?;
        if group.is_empty() {
            return Err(Error::invalid(op, "the producer group is empty"));
        }
        let (Some(execute), Some(check)) = (execute, check) else {
            return Err(Error::invalid(
                op,
                "the execute and check callbacks are required",
            ));
        };
        let options = ProducerOptions {
            client,
            group: group.to_owned(),
            ..ProducerOptions::default()
        };
        let listener = CTransactionListener {
            execute,
            check,
            userdata: UserData(userdata),
        };
        write_out(
            out,
            into_handle(fmq_transaction_producer {
                options: Mutex::new(options),
                listener: CTransactionListenerBox(listener),
                lifecycle: Lifecycle::new("transaction producer"),
            }),
        );
        Ok(())
    })
}

/// Sets the instance name (default "DEFAULT"). Before start.
#[no_mangle]
pub extern "C" fn fmq_transaction_producer_set_instance_name(
    producer: *mut fmq_transaction_producer,
    name: *const c_char,
) -> fmq_result {
    guard(|| {
        let op = "fmq_transaction_producer_set_instance_name";
        let p = handle(op, producer)?;
        let name = str_arg(op, "name", name)?.to_owned();
        check_created(op, &p.lifecycle)?;
        lock(&p.options).client.instance_name = name;
        Ok(())
    })
}

/// Sets the namespace (Apache's client namespace; NULL or "" for none): topics and groups go
/// on the wire as `namespace%name`, while messages, send results and queues show the bare
/// names. Letters, digits, `_`, `-` and `|` only, else FMQ_ERR_INVALID_ARGUMENT. Before start.
#[no_mangle]
pub extern "C" fn fmq_transaction_producer_set_namespace(
    producer: *mut fmq_transaction_producer,
    namespace: *const c_char,
) -> fmq_result {
    guard(|| {
        let op = "fmq_transaction_producer_set_namespace";
        let p = handle(op, producer)?;
        let ns = namespace_arg(op, namespace)?;
        check_created(op, &p.lifecycle)?;
        lock(&p.options).client.namespace = ns;
        Ok(())
    })
}

/// Signs every request of this transaction producer with ACL 1.0 credentials (brokers with aclEnable=true).
/// `security_token` may be NULL; `access_key` NULL removes them. Before start.
#[no_mangle]
pub extern "C" fn fmq_transaction_producer_set_credentials(
    producer: *mut fmq_transaction_producer,
    access_key: *const c_char,
    secret_key: *const c_char,
    security_token: *const c_char,
) -> fmq_result {
    guard(|| {
        let op = "fmq_transaction_producer_set_credentials";
        let h = handle(op, producer)?;
        let c = crate::security::credentials(op, access_key, secret_key, security_token)?;
        check_created(op, &h.lifecycle)?;
        lock(&h.options).client.credentials = c;
        Ok(())
    })
}

/// Connects to the name servers and brokers over TLS as `options` says (see fmq_tls_options;
/// the struct is read during the call only); NULL: plaintext again. Files are checked to exist
/// here, loaded at start. Before start.
#[no_mangle]
pub extern "C" fn fmq_transaction_producer_set_tls(
    producer: *mut fmq_transaction_producer,
    options: *const crate::security::fmq_tls_options,
) -> fmq_result {
    guard(|| {
        let op = "fmq_transaction_producer_set_tls";
        let h = handle(op, producer)?;
        let t = crate::security::tls(op, options)?;
        check_created(op, &h.lifecycle)?;
        lock(&h.options).client.tls = t;
        Ok(())
    })
}

/// Message trace (Java's enableMsgTrace / customizedTraceTopic; off by default), as
/// fmq_producer_set_msg_trace: with `enable`, each accepted half message is recorded in
/// `trace_topic` (NULL: RMQ_SYS_TRACE_TOPIC) in Apache's trace format, and so is each end of a
/// transaction (an EndTransaction record for the local decision, and one with
/// fromTransactionCheck=true for each answer to a check-back). An illegal topic fails the
/// start. Before start.
#[no_mangle]
pub extern "C" fn fmq_transaction_producer_set_msg_trace(
    producer: *mut fmq_transaction_producer,
    enable: bool,
    trace_topic: *const c_char,
) -> fmq_result {
    guard(|| {
        let op = "fmq_transaction_producer_set_msg_trace";
        let p = handle(op, producer)?;
        let topic = crate::consumer::opt_str(op, "trace_topic", trace_topic)?;
        check_created(op, &p.lifecycle)?;
        let mut o = lock(&p.options);
        o.enable_msg_trace = enable;
        o.trace_topic = topic;
        Ok(())
    })
}

/// Connects and registers the group (check-backs may arrive from now on). Blocks. It starts
/// once: FMQ_ERR_ILLEGAL_STATE when started already or shut down; a failed start leaves it
/// unstarted.
#[no_mangle]
pub extern "C" fn fmq_transaction_producer_start(
    producer: *mut fmq_transaction_producer,
) -> fmq_result {
    guard(|| {
        let op = "fmq_transaction_producer_start";
        let p = handle(op, producer)?;
        let options = lock(&p.options).clone();
        let listener = p.listener.0;
        block_on(
            op,
            p.lifecycle
                .start(|| TransactionProducer::start(options, listener)),
        )??;
        Ok(())
    })
}

/// Sends `message` as a half message, runs the execute callback on this thread and ends the
/// transaction with its answer. Blocks. On success `*out` gets the half message's send
/// result and `*out_state` the local transaction's state.
#[no_mangle]
pub extern "C" fn fmq_transaction_producer_send(
    producer: *const fmq_transaction_producer,
    message: *const fmq_message,
    out: *mut fmq_send_result,
    out_state: *mut fmq_transaction_state,
) -> fmq_result {
    guard(|| {
        let op = "fmq_transaction_producer_send";
        check_out(op, "out", out)?;
        check_out(op, "out_state", out_state)?;
        let p = handle(op, producer)?.lifecycle.get(op)?;
        if message.is_null() {
            return Err(Error::invalid(op, "the message is NULL"));
        }
        // SAFETY: a live message from fmq_message_new (header).
        let m = unsafe { &(*message).inner }.clone();
        let r = block_on(op, p.send(m))??;
        write_out(out, fmq_send_result::from_core(&r.send));
        write_out(
            out_state,
            match r.state {
                TransactionState::Commit => fmq_transaction_state::FMQ_TRANSACTION_COMMIT,
                TransactionState::Rollback => fmq_transaction_state::FMQ_TRANSACTION_ROLLBACK,
                TransactionState::Unknown => fmq_transaction_state::FMQ_TRANSACTION_UNKNOWN,
            },
        );
        Ok(())
    })
}

/// Stops the producer (no more check-backs once it returns), for good. Blocks; a second call
/// does nothing.
#[no_mangle]
pub extern "C" fn fmq_transaction_producer_shutdown(
    producer: *mut fmq_transaction_producer,
) -> fmq_result {
    guard(|| {
        let op = "fmq_transaction_producer_shutdown";
        shutdown(op, &handle(op, producer)?.lifecycle)
    })
}

/// Shuts the producer down if needed and releases it (NULL: nothing). Never from a callback.
#[no_mangle]
pub extern "C" fn fmq_transaction_producer_free(producer: *mut fmq_transaction_producer) {
    guard_value((), || {
        if let Some(p) = take_handle(producer) {
            let _ = shutdown("fmq_transaction_producer_free", &p.lifecycle);
        }
    });
}
