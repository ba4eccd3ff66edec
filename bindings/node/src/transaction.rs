//! `TransactionProducer`: half message, local transaction in JavaScript, commit or rollback,
//! and the broker's check-backs answered by JavaScript.

use std::sync::{Arc, Mutex};

use napi::bindgen_prelude::FnArgs;
use napi_derive::napi;

use ferromq_client::{
    Lifecycle, Message as CoreMessage, MessageView, TransactionListener,
    TransactionProducer as CoreTransactionProducer, TransactionState as CoreState,
};
use ferromq_common::lock;

use crate::callback::{Callback, Slot};
use crate::error::Fallible;
use crate::message::{Message, ReceivedMessage, SendResult};
use crate::producer::ProducerOptions;

/// The outcome of a local transaction.
#[napi(string_enum = "lowercase")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionState {
    /// Deliver the message.
    Commit,
    /// Discard the message.
    Rollback,
    /// Not known yet: the broker asks `check` later.
    Unknown,
}

impl TransactionState {
    fn to_core(self) -> CoreState {
        match self {
            TransactionState::Commit => CoreState::Commit,
            TransactionState::Rollback => CoreState::Rollback,
            TransactionState::Unknown => CoreState::Unknown,
        }
    }

    fn from_core(s: CoreState) -> Self {
        match s {
            CoreState::Commit => TransactionState::Commit,
            CoreState::Rollback => TransactionState::Rollback,
            CoreState::Unknown => TransactionState::Unknown,
        }
    }
}

/// The JavaScript side of transactions. Each function may return a Promise; a throw, a
/// rejection or anything but `'commit'`/`'rollback'`/`'unknown'` counts as `'unknown'`.
#[napi(object, object_to_js = false)]
pub struct TransactionCallbacks {
    /// Runs the local transaction for the half message just stored.
    #[napi(
        ts_type = "(message: Message, transactionId: string) => TransactionState | Promise<TransactionState>"
    )]
    pub execute: Callback<FnArgs<(Message, String)>, TransactionState>,
    /// Answers the broker's check-back for a half message still undecided.
    #[napi(ts_type = "(message: ReceivedMessage) => TransactionState | Promise<TransactionState>")]
    pub check: Callback<ReceivedMessage, TransactionState>,
}

impl std::fmt::Debug for TransactionCallbacks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransactionCallbacks")
            .finish_non_exhaustive()
    }
}

struct JsTransactionListener {
    execute: Arc<Slot<FnArgs<(Message, String)>, TransactionState>>,
    check: Arc<Slot<ReceivedMessage, TransactionState>>,
}

impl TransactionListener for JsTransactionListener {
    fn execute(&self, message: &CoreMessage, transaction_id: &str) -> CoreState {
        let args = FnArgs::from((Message::from_core(message), transaction_id.to_owned()));
        // Called on a runtime worker inside `send`: let the runtime move other tasks away
        // while this thread waits for JavaScript.
        let answer = tokio::task::block_in_place(|| self.execute.call_blocking(args));
        answer.map_or(CoreState::Unknown, |s| s.to_core())
    }

    fn check(&self, message: &MessageView) -> CoreState {
        self.check
            .call_blocking(ReceivedMessage::from_core(message))
            .map_or(CoreState::Unknown, |s| s.to_core())
    }
}

/// What a transactional send did.
#[napi(object)]
#[derive(Debug)]
pub struct TransactionSendResult {
    /// The half message's send result.
    pub send: SendResult,
    /// What the local transaction decided.
    pub state: TransactionState,
}

/// A producer of transactional messages: `await start({ execute, check })`, then `send`.
/// The producer group should be unique to this producer: the broker's check-backs go to it.
#[napi]
pub struct TransactionProducer {
    options: ProducerOptions,
    lifecycle: Lifecycle<CoreTransactionProducer>,
    callbacks: Mutex<Vec<Box<dyn Fn() + Send>>>,
}

impl std::fmt::Debug for TransactionProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransactionProducer")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

#[napi]
impl TransactionProducer {
    /// A transactional producer with `options` (not started yet).
    #[napi(constructor)]
    pub fn new(options: ProducerOptions) -> Self {
        TransactionProducer {
            options,
            lifecycle: Lifecycle::new("transaction producer"),
            callbacks: Mutex::new(Vec::new()),
        }
    }

    /// Starts the producer; `callbacks.execute` runs each local transaction and
    /// `callbacks.check` answers the broker's check-backs until `shutdown()`.
    #[napi(ts_return_type = "Promise<void>")]
    pub async fn start(&self, callbacks: TransactionCallbacks) -> Fallible<()> {
        let r = async {
            let execute = Arc::new(Slot::new(callbacks.execute));
            let check = Arc::new(Slot::new(callbacks.check));
            let listener = JsTransactionListener {
                execute: execute.clone(),
                check: check.clone(),
            };
            let release = {
                let (e, c) = (execute.clone(), check.clone());
                move || {
                    e.release();
                    c.release();
                }
            };
            let started = match self.options.to_core() {
                Ok(options) => {
                    self.lifecycle
                        .start(|| CoreTransactionProducer::start(options, listener))
                        .await
                }
                Err(e) => Err(e),
            };
            match started {
                Ok(_) => {
                    lock(&self.callbacks).push(Box::new(release));
                    Ok(())
                }
                Err(e) => {
                    release();
                    Err(e)
                }
            }
        };
        Fallible(r.await)
    }

    /// Sends `message` as a half message, runs `execute` and ends the transaction with its
    /// answer.
    #[napi(ts_return_type = "Promise<TransactionSendResult>")]
    pub async fn send(&self, message: Message) -> Fallible<TransactionSendResult> {
        let r = async {
            let p = self.lifecycle.get("send")?;
            let sent = p.send(message.into_core()).await?;
            Ok(TransactionSendResult {
                send: SendResult::from_core(sent.send),
                state: TransactionState::from_core(sent.state),
            })
        };
        Fallible(r.await)
    }

    /// The producer's client-side counters since it started (as `Producer.metrics()`; a
    /// transactional send counts as one send). Throws `IllegalState` unless started.
    #[napi(ts_return_type = "ProducerMetrics")]
    pub fn metrics(&self) -> Fallible<crate::metrics::ProducerMetrics> {
        Fallible(
            self.lifecycle
                .get("metrics")
                .map(|p| crate::metrics::ProducerMetrics::from_core(&p.metrics())),
        )
    }

    /// Stops the producer and releases the callbacks.
    #[napi]
    pub async fn shutdown(&self) {
        self.lifecycle.shutdown().await;
        for release in lock(&self.callbacks).drain(..) {
            release();
        }
    }
}
