//! The pull loop of one assigned queue: flow control, long polling, and handing what was
//! pulled to the listener (concurrently or orderly).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use ferromq_protocol::header::pull::PullMessageResponseHeader;
use ferromq_protocol::ResponseCode;

use super::concurrent::consume;
#[cfg(not(target_arch = "wasm32"))]
use super::pool::Job;
use super::state::{lock, pause, Inner, QueueState};
use crate::client::{now_ms, Client};
use crate::consumer::queues::PullRequest;
use crate::consumer::{orderly, MessageModel};
use crate::message::MessageView;

/// Long-poll hold time asked of the broker, and the request timeout around it.
const SUSPEND_MILLIS: i64 = 15_000;
const PULL_TIMEOUT: Duration = Duration::from_secs(30);
/// Pulls one queue until it is dropped or the consumer stops.
pub(crate) async fn pull_loop(inner: Arc<Inner>, qs: Arc<QueueState>, mut next: i64) {
    let mut stop = inner.stop.subscribe();
    let mq = qs.mq.clone();
    let clustering = inner.options.message_model == MessageModel::Clustering;
    loop {
        if qs.dropped.load(Ordering::Acquire) || *stop.borrow() {
            break;
        }
        if let Some(offset) = lock(&qs.reset).take() {
            lock(&qs.pq).clear();
            next = offset;
        }
        let (count, bytes, span) = {
            let mut pq = lock(&qs.pq);
            pq.mark_pulled(now_ms());
            (pq.count(), pq.bytes(), pq.span())
        };
        let (max_count, max_bytes) = inner.options.queue_limits(lock(&inner.queues).len());
        if count > max_count
            || bytes > max_bytes
            || (!inner.is_orderly() && span > inner.options.consume_concurrently_max_span)
        {
            if !pause(&mut stop, Duration::from_millis(50)).await {
                break;
            }
            continue;
        }
        if inner.is_orderly() && !qs.orderly.is_locked() {
            if !pause(&mut stop, Duration::from_millis(500)).await {
                break;
            }
            continue;
        }
        let Some(sub) = lock(&inner.subs).get(&mq.topic).cloned() else {
            break;
        };
        let commit = inner.offsets.get(&mq).filter(|o| clustering && *o > 0);
        let pull = PullRequest {
            group: &inner.options.group,
            mq: &mq,
            sub: &sub,
            offset: next,
            batch: inner.options.pull_batch_size,
            commit,
            suspend_millis: SUSPEND_MILLIS,
            timeout: PULL_TIMEOUT,
            nodes: &inner.nodes,
        };
        let began = crate::rt::Instant::now();
        let pulled = pull.send(&inner.client);
        let response = tokio::select! {
            r = pulled => r,
            _ = stop.changed() => break,
        };
        let pull_rt = began.elapsed();
        let response = match response {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(queue = ?mq, error = %e, "pull failed");
                if !pause(&mut stop, inner.options.pull_retry_delay).await {
                    break;
                }
                continue;
            }
        };
        let code = response.response_code();
        let found = code == ResponseCode::SUCCESS;
        if !matches!(
            code,
            ResponseCode::SUCCESS
                | ResponseCode::PULL_NOT_FOUND
                | ResponseCode::PULL_RETRY_IMMEDIATELY
                | ResponseCode::PULL_OFFSET_MOVED
        ) {
            let delay = if code == ResponseCode::FLOW_CONTROL {
                Duration::from_millis(20)
            } else {
                inner.options.pull_retry_delay
            };
            tracing::debug!(queue = ?mq, %code, remark = ?response.remark, "pull refused");
            if !pause(&mut stop, delay).await {
                break;
            }
            continue;
        }
        let header: PullMessageResponseHeader = match response.header() {
            Ok(h) => h,
            Err(e) => {
                tracing::debug!(error = %e, "bad pull answer");
                if !pause(&mut stop, inner.options.pull_retry_delay).await {
                    break;
                }
                continue;
            }
        };
        // A broker reads the queue's end before the messages, so a message stored in between
        // can come with an end that does not count it: the end is at least where the next
        // pull begins.
        let end = if found {
            header.max_offset.max(header.next_begin_offset)
        } else {
            header.max_offset
        };
        qs.broker_max.store(end, Ordering::Relaxed);
        if code == ResponseCode::PULL_OFFSET_MOVED {
            tracing::info!(queue = ?mq, from = next, to = header.next_begin_offset, "offset moved");
            next = header.next_begin_offset;
            inner.offsets.update(&mq, next, false);
            continue;
        }
        if found {
            let messages = match Client::decode_pulled(&response.body) {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(queue = ?mq, error = %e, "undecodable pull body");
                    Vec::new()
                }
            };
            let filter_tags = sub.expression_type.is_tag() && !sub.is_sub_all();
            let views: Vec<MessageView> =
                MessageView::pulled(messages, &mq, Some(&inner.retry_topic), &inner.ns)
                    .filter(|m| {
                        !filter_tags || m.tag().is_some_and(|t| sub.tags_set.iter().any(|s| s == t))
                    })
                    .collect();
            qs.stats.pulled(pull_rt, views.len());
            if views.is_empty() {
                // Everything filtered out: the offset may move past them.
                let pq = lock(&qs.pq);
                if pq.count() == 0 {
                    inner.offsets.update(&mq, header.next_begin_offset, true);
                }
                drop(pq);
            } else if inner.is_orderly() {
                lock(&qs.pq).put(views.iter().map(|v| (v.queue_offset(), v.body().len())));
                qs.orderly.put(views);
                orderly::kick(&inner, &qs);
            } else {
                lock(&qs.pq).put(views.iter().map(|v| (v.queue_offset(), v.body().len())));
                dispatch(&inner, &qs, views);
            }
        }
        next = header.next_begin_offset;
    }
}

/// Hands pulled messages to the listener in batches of `consume_batch_size`: to the consume
/// threads for a blocking listener, else one task per batch.
fn dispatch(inner: &Arc<Inner>, qs: &Arc<QueueState>, views: Vec<MessageView>) {
    let size = inner.options.consume_batch_size.max(1);
    let mut batches = Vec::with_capacity(views.len().div_ceil(size));
    let mut views = views.into_iter().peekable();
    while views.peek().is_some() {
        batches.push(views.by_ref().take(size).collect::<Vec<_>>());
    }
    #[cfg(not(target_arch = "wasm32"))]
    if let Some(pool) = &inner.pool {
        pool.submit(batches.into_iter().map(|messages| Job {
            inner: inner.clone(),
            qs: qs.clone(),
            messages,
        }));
        return;
    }
    for messages in batches {
        crate::rt::spawn(consume(inner.clone(), qs.clone(), messages));
    }
}
