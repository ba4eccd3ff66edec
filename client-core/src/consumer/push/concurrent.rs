//! Concurrent consumption: a listener call per batch (at most `consume_threads` at once), the
//! offsets settled after it, and failed messages returned to the broker for redelivery.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use ferromq_protocol::header::client::ConsumerSendMsgBackRequestHeader;
use ferromq_protocol::message::property;
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use futures::future::BoxFuture;
use tokio::sync::OwnedSemaphorePermit;

use super::state::{lock, pause, Inner, Listener, QueueState};
use crate::client::now_ms;
#[cfg(not(target_arch = "wasm32"))]
use crate::consumer::MessageListener;
use crate::consumer::{guarded, ConsumeResult, MessageModel};
use crate::error::{Error, ErrorKind};
use crate::message::{Message, MessageView};
use crate::trace::data::consume_code;
use crate::trace::ConsumeTrace;

/// Runs the listener on one batch and settles its offsets.
pub(crate) fn consume(
    inner: Arc<Inner>,
    qs: Arc<QueueState>,
    messages: Vec<MessageView>,
) -> BoxFuture<'static, ()> {
    Box::pin(consume_batch(inner, qs, messages))
}

async fn consume_batch(inner: Arc<Inner>, qs: Arc<QueueState>, messages: Vec<MessageView>) {
    // Held until the batch is settled: shutdown waits for the permits (up to
    // `await_termination`), so what ended in time is committed by its final offset commit.
    let Ok(permit) = inner.permits.clone().acquire_owned().await else {
        return;
    };
    if qs.dropped.load(Ordering::Acquire) || inner.closed.load(Ordering::Acquire) {
        return;
    }
    let call = Call::begin(&inner, &qs, &messages);
    let result = match inner.listener.clone() {
        Listener::Concurrent(listener) => {
            guarded(
                listener.consume(messages.clone()),
                ConsumeResult::ReconsumeLater,
            )
            .await
        }
        #[cfg(not(target_arch = "wasm32"))]
        Listener::Blocking(listener) => {
            let batch = messages.clone();
            crate::rt::spawn_blocking(move || call_blocking(listener.as_ref(), &batch))
                .await
                .unwrap_or(ConsumeResult::ReconsumeLater)
        }
        Listener::Orderly(_) => return,
    };
    call.end(&inner, &qs, &messages, result);
    settle(inner, qs, messages, result, permit).await;
}

/// Runs a blocking listener on one batch on this thread (a consume thread, see `pool.rs`) and
/// settles it: a success here, a failure on a runtime task (it returns messages to the broker).
/// Without a permit at once (they are shared with retries), the batch takes the asynchronous
/// path, which waits for one.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn consume_here(job: super::pool::Job) {
    let super::pool::Job {
        inner,
        qs,
        messages,
    } = job;
    let Listener::Blocking(listener) = &inner.listener else {
        return;
    };
    let permit = match inner.permits.clone().try_acquire_owned() {
        Ok(p) => p,
        Err(tokio::sync::TryAcquireError::Closed) => return,
        Err(tokio::sync::TryAcquireError::NoPermits) => {
            crate::rt::spawn(consume(inner, qs, messages));
            return;
        }
    };
    if qs.dropped.load(Ordering::Acquire) || inner.closed.load(Ordering::Acquire) {
        return;
    }
    let call = Call::begin(&inner, &qs, &messages);
    let result = call_blocking(listener.as_ref(), &messages);
    call.end(&inner, &qs, &messages, result);
    if result == ConsumeResult::Success {
        settle_consumed(&inner, &qs, messages.iter().map(MessageView::queue_offset));
        drop(permit);
    } else {
        crate::rt::spawn(settle(inner, qs, messages, result, permit));
    }
}

/// Calls a blocking listener; a panic is a failure.
#[cfg(not(target_arch = "wasm32"))]
fn call_blocking(listener: &dyn MessageListener, messages: &[MessageView]) -> ConsumeResult {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| listener.consume(messages)))
        .unwrap_or_else(|_| {
            tracing::error!("a message listener panicked; the messages count as failed");
            ConsumeResult::ReconsumeLater
        })
}

/// What is recorded around one listener call: the trace, the messages in the call (for the
/// consume timeout), the call's time and the messages consumed or failed.
struct Call {
    began: crate::rt::Instant,
    trace: Option<ConsumeTrace>,
}

impl Call {
    fn begin(inner: &Inner, qs: &QueueState, messages: &[MessageView]) -> Call {
        let began = crate::rt::Instant::now();
        let trace = inner
            .tracer
            .as_ref()
            .and_then(|t| t.before_consume(messages));
        qs.in_listener.begin(messages, began);
        Call { began, trace }
    }

    fn end(self, inner: &Inner, qs: &QueueState, messages: &[MessageView], result: ConsumeResult) {
        qs.in_listener.end(messages);
        if let (Some(t), Some(trace)) = (&inner.tracer, self.trace) {
            let ok = result == ConsumeResult::Success;
            let code = if ok {
                consume_code::SUCCESS
            } else {
                consume_code::FAILED
            };
            t.after_consume(trace, ok, code);
        }
        qs.stats.consume_time(self.began.elapsed());
        if result == ConsumeResult::Success {
            qs.stats.consumed(messages.len(), 0);
        } else {
            qs.stats.consumed(0, messages.len());
        }
    }
}

/// Settles a batch after its listener call: failed messages go back to the broker (those that
/// cannot are consumed again here in 5 s), then the offsets move past the rest.
async fn settle(
    inner: Arc<Inner>,
    qs: Arc<QueueState>,
    messages: Vec<MessageView>,
    result: ConsumeResult,
    permit: OwnedSemaphorePermit,
) {
    let mut done: Vec<i64> = messages.iter().map(MessageView::queue_offset).collect();
    if result == ConsumeResult::ReconsumeLater {
        if inner.options.message_model == MessageModel::Broadcasting {
            tracing::warn!(
                count = messages.len(),
                "broadcast consumption failed; messages dropped"
            );
        } else {
            let mut later = Vec::new();
            for m in &messages {
                // Returned already by the consume timeout (expire.rs): not again.
                if !lock(&qs.pq).contains(m.queue_offset()) {
                    continue;
                }
                if !send_back(&inner, m, 0).await {
                    later.push(m.clone());
                }
            }
            if !later.is_empty() {
                done.retain(|o| !later.iter().any(|m| m.queue_offset() == *o));
                let (inner, qs) = (inner.clone(), qs.clone());
                crate::rt::spawn(async move {
                    let mut stop = inner.stop.subscribe();
                    if pause(&mut stop, Duration::from_secs(5)).await {
                        consume(inner, qs, later).await;
                    }
                });
            }
        }
    }
    settle_consumed(&inner, &qs, done);
    drop(permit);
}

/// Removes settled messages from the queue's cache and moves its offset (unless the queue was
/// dropped meanwhile).
fn settle_consumed(inner: &Inner, qs: &QueueState, done: impl IntoIterator<Item = i64>) {
    if qs.dropped.load(Ordering::Acquire) {
        return;
    }
    let offset = {
        let mut pq = lock(&qs.pq);
        pq.mark_consumed(now_ms());
        pq.remove(done)
    };
    if let Some(offset) = offset {
        inner.offsets.update(&qs.mq, offset, true);
    }
}

pub(crate) fn max_reconsume_times(inner: &Inner) -> i32 {
    if inner.options.max_reconsume_times < 0 {
        16
    } else {
        inner.options.max_reconsume_times
    }
}

/// Returns a failed message to the broker for redelivery at `delay_level` (0: the broker's
/// choice, 3 + the times it was consumed again); falls back to sending it to `%RETRY%<group>`
/// directly (delay level 3 + those times, as Java). False if both failed.
pub(crate) async fn send_back(inner: &Arc<Inner>, m: &MessageView, delay_level: i32) -> bool {
    let ext = m.ext();
    let max = max_reconsume_times(inner);
    let header = ConsumerSendMsgBackRequestHeader {
        offset: ext.commit_log_offset,
        group: inner.options.group.clone(),
        delay_level,
        origin_msg_id: Some(m.msg_id()),
        origin_topic: Some(inner.ns.wrap(m.topic())),
        unit_mode: Some(false),
        max_reconsume_times: Some(max),
        broker_name: Some(m.queue().broker_name.clone()),
    };
    let request =
        RemotingCommand::request_with_header(RequestCode::CONSUMER_SEND_MSG_BACK, &header);
    let sent = match inner.client.master_addr(&m.queue().broker_name) {
        Some(addr) => {
            inner
                .client
                .broker_request(&addr, request, Duration::from_secs(5))
                .await
        }
        None => Err(Error::new(
            ErrorKind::TopicNotFound,
            "send back",
            "broker unknown",
        )),
    };
    match sent {
        Ok(r) if r.response_code() == ResponseCode::SUCCESS => return true,
        Ok(r) => {
            tracing::debug!(code = %r.response_code(), "send-back refused; sending to the retry topic")
        }
        Err(e) => tracing::debug!(error = %e, "send-back failed; sending to the retry topic"),
    }
    resend(
        inner,
        m,
        ext.reconsume_times + 1,
        Some(3 + ext.reconsume_times),
    )
    .await
}

/// Sends a copy of `m` to `%RETRY%<group>` through the consumer's internal producer, as Java's
/// client does when the broker's send-back fails (and for orderly messages out of retries):
/// `RETRY_TOPIC`, `ORIGIN_MESSAGE_ID`, `RECONSUME_TIME`, `MAX_RECONSUME_TIMES`, an optional
/// delay level, the transaction flag cleared.
pub(crate) async fn resend(
    inner: &Arc<Inner>,
    m: &MessageView,
    reconsume_time: i32,
    delay: Option<i32>,
) -> bool {
    let Some(producer) = &inner.retry_producer else {
        return false;
    };
    let ext = m.ext();
    let max = if inner.is_orderly() && inner.options.max_reconsume_times < 0 {
        i32::MAX
    } else {
        max_reconsume_times(inner)
    };
    let mut retry = Message::new(inner.retry_topic.clone(), m.body().clone()).with_flag(ext.flag);
    for (k, v) in ext.properties.clone().into_map() {
        retry = retry.with_property(k, v);
    }
    let origin = m
        .property(property::ORIGIN_MESSAGE_ID)
        .map(str::to_owned)
        .unwrap_or_else(|| m.msg_id());
    retry = retry
        .with_property(property::ORIGIN_MESSAGE_ID, origin)
        .with_property(property::RETRY_TOPIC, inner.ns.wrap(m.topic()))
        .with_property(property::RECONSUME_TIME, reconsume_time.to_string())
        .with_property(property::MAX_RECONSUME_TIMES, max.to_string());
    if let Some(level) = delay {
        retry = retry.with_delay_level(level);
    }
    retry
        .properties_mut()
        .remove(property::TRANSACTION_PREPARED);
    match producer.send(retry).await {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(error = %e, "could not return a failed message; consuming it again later");
            false
        }
    }
}
