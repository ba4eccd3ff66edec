//! The consumer as the client sees it ([`ConsumerHandle`]): its heartbeat data, rebalance
//! triggers, offset queries and resets, running info and CONSUME_MESSAGE_DIRECTLY.

use std::collections::BTreeMap;
use std::sync::Weak;

use ferromq_protocol::body::{
    ConsumeFromWhere, ConsumeType, ConsumerData, ConsumerRunningInfo, MessageQueue,
};
use ferromq_protocol::message::MessageExt;
use futures::future::BoxFuture;

use super::state::{lock, Inner, Listener};
use crate::client::ConsumerHandle;
use crate::consumer::{guarded, ConsumeFrom, ConsumeResult, OrderlyResult};
use crate::message::MessageView;

/// The consumer as the client sees it (weak, so the client does not keep it alive).
pub(crate) struct Handle {
    pub(crate) inner: Weak<Inner>,
}

impl ConsumerHandle for Handle {
    fn consumer_data(&self) -> ConsumerData {
        let Some(inner) = self.inner.upgrade() else {
            return ConsumerData::default();
        };
        let subscription_data_set = lock(&inner.subs).values().cloned().collect();
        ConsumerData {
            consume_from_where: match inner.options.consume_from {
                ConsumeFrom::LastOffset => ConsumeFromWhere::ConsumeFromLastOffset,
                ConsumeFrom::FirstOffset => ConsumeFromWhere::ConsumeFromFirstOffset,
                ConsumeFrom::Timestamp(_) => ConsumeFromWhere::ConsumeFromTimestamp,
            },
            consume_type: ConsumeType::ConsumePassively,
            group_name: inner.options.group.clone(),
            message_model: inner.options.message_model.wire(),
            subscription_data_set,
            unit_mode: false,
        }
    }

    fn trigger_rebalance(&self) {
        if let Some(inner) = self.inner.upgrade() {
            inner.rebalance.notify_one();
        }
    }

    fn queue_offsets(&self, topic: &str) -> BTreeMap<MessageQueue, i64> {
        self.inner
            .upgrade()
            .map(|inner| inner.offsets.of_topic(topic))
            .unwrap_or_default()
    }

    fn reset_offsets(&self, offsets: BTreeMap<MessageQueue, i64>) {
        let Some(inner) = self.inner.upgrade() else {
            return;
        };
        let queues = lock(&inner.queues);
        for (mq, offset) in offsets {
            inner.offsets.update(&mq, offset, false);
            if let Some(qs) = queues.get(&mq) {
                *lock(&qs.reset) = Some(offset);
            }
        }
    }

    fn running_info(&self, jstack: bool) -> ConsumerRunningInfo {
        self.inner
            .upgrade()
            .map(|inner| crate::consumer::running::push_info(&inner, jstack))
            .unwrap_or_default()
    }

    fn consume_directly(
        &self,
        message: MessageExt,
        broker_name: String,
    ) -> BoxFuture<'static, Option<bool>> {
        let inner = self.inner.upgrade();
        Box::pin(async move {
            let inner = inner?;
            let view = MessageView::new(message, &broker_name, Some(&inner.retry_topic));
            let view = inner.ns.unwrap_view(view);
            match inner.listener.clone() {
                Listener::Concurrent(l) => {
                    let r = guarded(l.consume(vec![view]), ConsumeResult::ReconsumeLater).await;
                    Some(r == ConsumeResult::Success)
                }
                #[cfg(not(target_arch = "wasm32"))]
                Listener::Blocking(l) => {
                    let r = crate::rt::spawn_blocking(move || l.consume(&[view]))
                        .await
                        .unwrap_or(ConsumeResult::ReconsumeLater);
                    Some(r == ConsumeResult::Success)
                }
                Listener::Orderly(l) => {
                    let failed = OrderlyResult::SuspendCurrentQueueAMoment;
                    let r = guarded(l.consume(vec![view]), failed).await;
                    Some(r == OrderlyResult::Success)
                }
            }
        })
    }
}
