//! What the push consumer's tasks share: the consumer's state ([`Inner`]), each assigned
//! queue's state ([`QueueState`]) and the listener.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferromq_protocol::body::{MessageQueue, SubscriptionData};
use tokio::sync::{Notify, Semaphore};

use super::expire::InListener;
use super::PushConsumerOptions;
use crate::client::{now_ms, Client};
use crate::consumer::nodes::PullNodes;
use crate::consumer::offset_store::OffsetStore;
use crate::consumer::orderly::OrderlyState;
use crate::consumer::process_queue::ProcessQueue;
use crate::consumer::queues;
use crate::consumer::stats::{StatsTable, TopicStats};
#[cfg(not(target_arch = "wasm32"))]
use crate::consumer::MessageListener;
use crate::consumer::{AsyncMessageListener, AsyncOrderlyListener};
use crate::namespace::Namespace;
use crate::producer::Producer;
use crate::trace::Tracer;
pub(crate) use ferromq_common::lock;

#[derive(Debug)]
pub(crate) struct QueueState {
    pub(crate) mq: MessageQueue,
    pub(crate) pq: Mutex<ProcessQueue>,
    pub(crate) dropped: AtomicBool,
    pub(crate) reset: Mutex<Option<i64>>,
    /// Orderly only: the broker lock and the pulled messages waiting, by offset.
    pub(crate) orderly: OrderlyState,
    /// The statistics of the queue's topic.
    pub(crate) stats: Arc<TopicStats>,
    /// The queue's end as the broker last reported it (-1 before the first answer).
    pub(crate) broker_max: AtomicI64,
    /// Concurrent only: the messages in a listener call, for the consume timeout.
    pub(crate) in_listener: InListener,
}

impl QueueState {
    pub(crate) fn new(mq: MessageQueue, stats: Arc<TopicStats>) -> Self {
        QueueState {
            mq,
            pq: Mutex::new(ProcessQueue::started(now_ms())),
            dropped: AtomicBool::new(false),
            reset: Mutex::new(None),
            orderly: OrderlyState::default(),
            stats,
            broker_max: AtomicI64::new(-1),
            in_listener: InListener::default(),
        }
    }
}

/// The user's listener, concurrent or orderly.
#[derive(Clone)]
pub(crate) enum Listener {
    Concurrent(Arc<dyn AsyncMessageListener>),
    /// A blocking concurrent listener, called on the consumer's consume threads (`pool.rs`).
    #[cfg(not(target_arch = "wasm32"))]
    Blocking(Arc<dyn MessageListener>),
    Orderly(Arc<dyn AsyncOrderlyListener>),
}

pub(crate) struct Inner {
    pub(crate) client: Client,
    pub(crate) options: PushConsumerOptions,
    pub(crate) subs: Mutex<BTreeMap<String, SubscriptionData>>,
    pub(crate) listener: Listener,
    pub(crate) queues: Mutex<HashMap<MessageQueue, Arc<QueueState>>>,
    pub(crate) offsets: OffsetStore,
    /// Which broker of its broker name each queue is pulled from next.
    pub(crate) nodes: PullNodes,
    pub(crate) permits: Arc<Semaphore>,
    pub(crate) rebalance: Notify,
    pub(crate) stop: tokio::sync::watch::Sender<bool>,
    pub(crate) retry_producer: Option<Producer>,
    pub(crate) closed: AtomicBool,
    pub(crate) retry_topic: String,
    /// Pull and consume rates per topic (running info's `statusTable`).
    pub(crate) stats: Arc<StatsTable>,
    /// When the consumer started, ms.
    pub(crate) started_ms: i64,
    /// Rebalances that changed the assigned queues.
    pub(crate) rebalances: AtomicU64,
    /// The namespace: subscriptions, queues and the group are wrapped (`ns%name`); messages
    /// and queues handed to the application are not.
    pub(crate) ns: Namespace,
    /// Set with [`PushConsumerOptions::enable_msg_trace`].
    pub(crate) tracer: Option<Arc<Tracer>>,
    /// The consume threads of a [`Listener::Blocking`].
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) pool: Option<super::pool::Pool>,
}

impl Inner {
    pub(crate) fn group_view(&self) -> queues::GroupView<'_> {
        queues::GroupView {
            client: &self.client,
            group: &self.options.group,
            model: self.options.message_model,
            allocate: self.options.allocate.as_ref(),
            offsets: &self.offsets,
            consume_from: self.options.consume_from,
        }
    }

    pub(crate) fn is_orderly(&self) -> bool {
        matches!(self.listener, Listener::Orderly(_))
    }
}

/// Waits `d` or until `stop` fires; returns false when stopped.
pub(crate) async fn pause(stop: &mut tokio::sync::watch::Receiver<bool>, d: Duration) -> bool {
    if *stop.borrow() {
        return false;
    }
    tokio::select! {
        _ = crate::rt::sleep(d) => !*stop.borrow(),
        _ = stop.changed() => false,
    }
}
