//! Listeners that take one message at a time, the one return contract of every binding, and
//! the adapter ([`EachMessage`]) that turns such a listener into the batch listeners a
//! [`PushConsumer`](super::PushConsumer) calls.
//!
//! # The contract
//!
//! A per-message listener answers each message with a [`ConsumeResult`]:
//! - [`ConsumeResult::Success`]: consumed; the offset may move past it.
//! - [`ConsumeResult::ReconsumeLater`]: deliver it again later (clustering: through
//!   `%RETRY%<group>` with growing delays, then `%DLQ%<group>`; orderly: the queue pauses and
//!   the same message comes again).
//! - A failure counts as `ReconsumeLater`: an exception, a thrown error, a rejected promise, a
//!   panic, or an answer that is none of the accepted values ([`Answer::Unusable`]). Failures
//!   are logged (`tracing`, target `ferromq_client::listener`); a message is never dropped
//!   because its listener failed.
//!
//! [`EachMessage`] calls the listener on the messages of a batch in order and stops at the first
//! one that is not a success: the batch is then retried as a whole (a batch is acknowledged as
//! one).
//!
//! # What each language's answer means
//!
//! Bindings only translate the native value into an [`Answer`]; [`Answer::outcome`] decides.
//!
//! | language | success | retry later |
//! |----------|---------|-------------|
//! | Rust | `ConsumeResult::Success` | `ConsumeResult::ReconsumeLater`, a panic |
//! | Python | `None`, `True`, `ConsumeResult.SUCCESS` | `False`, `ConsumeResult.RECONSUME_LATER`, raising |
//! | JavaScript (Node and WASM) | `undefined`, `null`, `true`, `'success'`, or a Promise of one | `false`, `'reconsumeLater'`, throwing, a rejected Promise |
//! | C | `FMQ_CONSUME_SUCCESS` (0) | any other return code |
//!
//! Strings are read with the [`ConsumeResult`] spellings of [`crate::choices`] (so
//! `'RECONSUME_LATER'` is also a retry). Any other value (a number in Python or JavaScript, an
//! object, an unknown string) is unusable: logged, and the message is retried later.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use futures::future::BoxFuture;

use super::{
    AsyncMessageListener, AsyncOrderlyListener, ConsumeResult, MessageListener, OrderlyListener,
    OrderlyResult,
};
use crate::message::MessageView;

/// A listener's answer for one message, as a binding read it from the native value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Nothing returned: Python `None`, JavaScript `undefined` or `null`.
    Nothing,
    /// A boolean: `true` is a success, `false` a retry.
    Bool(bool),
    /// A typed result (Rust, Python's `ConsumeResult`).
    Result(ConsumeResult),
    /// A string, read with the [`ConsumeResult`] spellings.
    Text(String),
    /// A C return code: 0 (`FMQ_CONSUME_SUCCESS`) is a success, anything else a retry.
    Code(i32),
    /// A value of another kind (described for the log).
    Unusable(String),
    /// The listener failed: raised, threw, rejected or panicked (described for the log).
    Failed(String),
}

impl Answer {
    /// What the consumer does with the message. Failures and unusable answers are logged.
    pub fn outcome(&self) -> ConsumeResult {
        match self {
            Answer::Nothing | Answer::Bool(true) => ConsumeResult::Success,
            Answer::Bool(false) => ConsumeResult::ReconsumeLater,
            Answer::Result(r) => *r,
            Answer::Code(0) => ConsumeResult::Success,
            Answer::Code(_) => ConsumeResult::ReconsumeLater,
            Answer::Text(s) => s.parse().unwrap_or_else(|e: crate::Error| {
                tracing::error!(target: "ferromq_client::listener", error = %e,
                    "a message listener answered an unknown string; the message will be redelivered");
                ConsumeResult::ReconsumeLater
            }),
            Answer::Unusable(what) => {
                tracing::error!(target: "ferromq_client::listener", answer = %what,
                    "a message listener answered neither success nor retry; the message will be redelivered");
                ConsumeResult::ReconsumeLater
            }
            Answer::Failed(why) => {
                tracing::error!(target: "ferromq_client::listener", error = %why,
                    "a message listener failed; the message will be redelivered");
                ConsumeResult::ReconsumeLater
            }
        }
    }
}

impl From<ConsumeResult> for OrderlyResult {
    fn from(r: ConsumeResult) -> Self {
        match r {
            ConsumeResult::Success => OrderlyResult::Success,
            ConsumeResult::ReconsumeLater => OrderlyResult::SuspendCurrentQueueAMoment,
        }
    }
}

/// A listener called with one message at a time, on a blocking worker thread (see
/// [`MessageListener`]). Closures `Fn(&MessageView) -> ConsumeResult` are listeners.
pub trait PerMessageListener: Send + Sync + 'static {
    /// Consumes `message` (see the module docs for the contract).
    fn consume_one(&self, message: &MessageView) -> ConsumeResult;
}

impl<F> PerMessageListener for F
where
    F: Fn(&MessageView) -> ConsumeResult + Send + Sync + 'static,
{
    fn consume_one(&self, message: &MessageView) -> ConsumeResult {
        self(message)
    }
}

/// A per-message listener that works asynchronously (JavaScript returning a Promise on a
/// one-thread host).
pub trait AsyncPerMessageListener: Send + Sync + 'static {
    /// Consumes `message`; the future resolves to the outcome.
    fn consume_one(&self, message: MessageView) -> BoxFuture<'static, ConsumeResult>;
}

/// The batch listener over a per-message one: each message in order, stopping at the first
/// that is not a success; a panic counts as a retry. Works as a concurrent
/// ([`MessageListener`]) and as an orderly ([`OrderlyListener`]) listener.
#[derive(Debug)]
pub struct EachMessage<L: ?Sized>(pub Arc<L>);

impl<L> EachMessage<L> {
    /// Wraps `listener`.
    pub fn new(listener: L) -> Self {
        EachMessage(Arc::new(listener))
    }
}

impl<L: PerMessageListener + ?Sized> EachMessage<L> {
    fn consume_all(&self, messages: &[MessageView]) -> ConsumeResult {
        for m in messages {
            let r = catch_unwind(AssertUnwindSafe(|| self.0.consume_one(m)))
                .unwrap_or_else(|_| Answer::Failed("the listener panicked".to_owned()).outcome());
            if r != ConsumeResult::Success {
                return r;
            }
        }
        ConsumeResult::Success
    }
}

impl<L: PerMessageListener + ?Sized> MessageListener for EachMessage<L> {
    fn consume(&self, messages: &[MessageView]) -> ConsumeResult {
        self.consume_all(messages)
    }
}

impl<L: PerMessageListener + ?Sized> OrderlyListener for EachMessage<L> {
    fn consume(&self, messages: &[MessageView]) -> OrderlyResult {
        self.consume_all(messages).into()
    }
}

/// [`EachMessage`] for an [`AsyncPerMessageListener`]: each message's future is awaited before
/// the next message is offered. A panic while awaiting counts as a retry (natively).
#[derive(Debug)]
pub struct EachMessageAsync<L: ?Sized>(pub Arc<L>);

impl<L> EachMessageAsync<L> {
    /// Wraps `listener`.
    pub fn new(listener: L) -> Self {
        EachMessageAsync(Arc::new(listener))
    }
}

impl<L: AsyncPerMessageListener + ?Sized> EachMessageAsync<L> {
    fn consume_all(&self, messages: Vec<MessageView>) -> BoxFuture<'static, ConsumeResult> {
        let listener = self.0.clone();
        Box::pin(async move {
            for m in messages {
                let failed = ConsumeResult::ReconsumeLater;
                let r = super::guarded(listener.consume_one(m), failed).await;
                if r != ConsumeResult::Success {
                    return r;
                }
            }
            ConsumeResult::Success
        })
    }
}

impl<L: AsyncPerMessageListener + ?Sized> AsyncMessageListener for EachMessageAsync<L> {
    fn consume(&self, messages: Vec<MessageView>) -> BoxFuture<'static, ConsumeResult> {
        self.consume_all(messages)
    }
}

impl<L: AsyncPerMessageListener + ?Sized> AsyncOrderlyListener for EachMessageAsync<L> {
    fn consume(&self, messages: Vec<MessageView>) -> BoxFuture<'static, OrderlyResult> {
        let all = self.consume_all(messages);
        Box::pin(async move { all.await.into() })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    fn view(offset: i64) -> MessageView {
        MessageView::for_test("T", offset, format!("m{offset}"))
    }

    #[test]
    fn answers_map_to_one_outcome() {
        use ConsumeResult::{ReconsumeLater as Retry, Success};
        let cases = [
            (Answer::Nothing, Success),
            (Answer::Bool(true), Success),
            (Answer::Bool(false), Retry),
            (Answer::Result(Success), Success),
            (Answer::Result(Retry), Retry),
            (Answer::Text("success".into()), Success),
            (Answer::Text("SUCCESS".into()), Success),
            (Answer::Text("reconsumeLater".into()), Retry),
            (Answer::Text("RECONSUME_LATER".into()), Retry),
            (Answer::Text("ok".into()), Retry),
            (Answer::Code(0), Success),
            (Answer::Code(1), Retry),
            (Answer::Code(-7), Retry),
            (Answer::Unusable("a number".into()), Retry),
            (Answer::Failed("TypeError: boom".into()), Retry),
        ];
        for (answer, expected) in cases {
            assert_eq!(answer.outcome(), expected, "{answer:?}");
        }
    }

    #[test]
    fn orderly_outcomes() {
        assert_eq!(
            OrderlyResult::from(ConsumeResult::Success),
            OrderlyResult::Success
        );
        assert_eq!(
            OrderlyResult::from(ConsumeResult::ReconsumeLater),
            OrderlyResult::SuspendCurrentQueueAMoment
        );
    }

    /// Records the offsets it saw; fails (as told) at one offset.
    struct Recorder {
        seen: Mutex<Vec<i64>>,
        fail_at: i64,
        panic: bool,
    }

    impl PerMessageListener for Recorder {
        fn consume_one(&self, message: &MessageView) -> ConsumeResult {
            self.seen
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(message.queue_offset());
            if message.queue_offset() == self.fail_at {
                if self.panic {
                    panic!("listener panic (expected by the test)");
                }
                return ConsumeResult::ReconsumeLater;
            }
            ConsumeResult::Success
        }
    }

    fn recorder(fail_at: i64, panic: bool) -> EachMessage<Recorder> {
        EachMessage::new(Recorder {
            seen: Mutex::new(Vec::new()),
            fail_at,
            panic,
        })
    }

    fn seen(l: &EachMessage<Recorder>) -> Vec<i64> {
        l.0.seen.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    #[test]
    fn each_message_in_order_and_stops_at_the_first_retry() {
        let batch: Vec<_> = (0..4).map(view).collect();
        let all_ok = recorder(-1, false);
        assert_eq!(
            MessageListener::consume(&all_ok, &batch),
            ConsumeResult::Success
        );
        assert_eq!(seen(&all_ok), vec![0, 1, 2, 3]);

        let second_fails = recorder(1, false);
        assert_eq!(
            MessageListener::consume(&second_fails, &batch),
            ConsumeResult::ReconsumeLater
        );
        assert_eq!(seen(&second_fails), vec![0, 1]);
        assert_eq!(
            OrderlyListener::consume(&second_fails, &batch),
            OrderlyResult::SuspendCurrentQueueAMoment
        );
    }

    #[test]
    fn a_panic_is_a_retry() {
        let batch: Vec<_> = (0..3).map(view).collect();
        let panics = recorder(0, true);
        assert_eq!(
            MessageListener::consume(&panics, &batch),
            ConsumeResult::ReconsumeLater
        );
        assert_eq!(seen(&panics), vec![0]);
    }

    #[test]
    fn closures_are_listeners() {
        let l = EachMessage::new(|m: &MessageView| {
            if m.queue_offset() < 2 {
                ConsumeResult::Success
            } else {
                ConsumeResult::ReconsumeLater
            }
        });
        assert_eq!(
            MessageListener::consume(&l, &[view(0), view(1)]),
            ConsumeResult::Success
        );
        assert_eq!(
            MessageListener::consume(&l, &[view(1), view(2)]),
            ConsumeResult::ReconsumeLater
        );
    }

    struct AsyncRecorder(Mutex<Vec<i64>>);

    impl AsyncPerMessageListener for AsyncRecorder {
        fn consume_one(&self, message: MessageView) -> BoxFuture<'static, ConsumeResult> {
            let offset = message.queue_offset();
            self.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(offset);
            Box::pin(async move {
                if offset == 1 {
                    ConsumeResult::ReconsumeLater
                } else {
                    ConsumeResult::Success
                }
            })
        }
    }

    #[test]
    fn async_each_message_stops_at_the_first_retry() {
        let l = EachMessageAsync::new(AsyncRecorder(Mutex::new(Vec::new())));
        let batch: Vec<_> = (0..3).map(view).collect();
        let r = futures::executor::block_on(AsyncMessageListener::consume(&l, batch.clone()));
        assert_eq!(r, ConsumeResult::ReconsumeLater);
        let o = futures::executor::block_on(AsyncOrderlyListener::consume(&l, vec![view(0)]));
        assert_eq!(o, OrderlyResult::Success);
        let seen = l.0 .0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        assert_eq!(seen, vec![0, 1, 0]);
    }
}
