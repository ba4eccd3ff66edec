//! Where a send goes: the writable queues of a topic's route (cached per route version), the
//! auto-create fallback for a topic the name servers do not know, and the queue a selector picks.

use std::sync::Arc;

use ferromq_protocol::body::{perm, MessageQueue, TopicRouteData, MASTER_ID};

use super::{Producer, AUTO_CREATE_TOPIC};
use crate::error::{Error, ErrorKind, Result};
use crate::message::Message;
use crate::selector::QueueSelector;

/// The queues a topic's route offers for writing (docs/protocol.md, "Producer queue selection and
/// retries"): masters' writable queues, sorted by broker name, or the `orderTopicConf` list.
pub(super) fn publish_queues(topic: &str, route: &TopicRouteData) -> Vec<MessageQueue> {
    let mut queues = Vec::new();
    if let Some(conf) = route.order_topic_conf.as_deref().filter(|c| !c.is_empty()) {
        for item in conf.split(';') {
            if let Some((broker, n)) = item.split_once(':') {
                let n: i32 = n.trim().parse().unwrap_or(0);
                queues.extend((0..n).map(|i| MessageQueue::new(topic, broker.trim(), i)));
            }
        }
        return queues;
    }
    let mut datas: Vec<_> = route.queue_datas.iter().collect();
    datas.sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
    for qd in datas {
        if !perm::is_writeable(qd.perm) {
            continue;
        }
        let has_master = route
            .broker(&qd.broker_name)
            .is_some_and(|b| b.broker_addrs.contains_key(&MASTER_ID));
        if has_master {
            queues.extend(
                (0..qd.write_queue_nums).map(|i| MessageQueue::new(topic, &qd.broker_name, i)),
            );
        }
    }
    queues
}

impl Producer {
    /// The queue `selector` picks for `message` given `arg`. The selector sees the queues and
    /// the message as the application knows them (without the namespace).
    pub(super) async fn select_queue(
        &self,
        operation: &'static str,
        message: &Message,
        selector: &dyn QueueSelector,
        arg: &str,
    ) -> Result<MessageQueue> {
        let ns = &self.inner.ns;
        let mut queues = self.publish_info(&ns.wrap(message.topic())).await?;
        if ns.is_set() {
            queues = Arc::new(queues.iter().map(|q| ns.unwrap_queue(q)).collect());
        }
        let i = selector.try_select(&queues, message, arg)?;
        queues.get(i).cloned().ok_or_else(|| {
            Error::invalid(
                operation,
                format!("the queue selector chose queue {i} of {}", queues.len()),
            )
        })
    }

    /// The writable queues of `topic`; for a topic the name servers do not know, queues on
    /// the brokers of [`AUTO_CREATE_TOPIC`] (every send names it as the template, so the broker
    /// creates the topic on first use). The list is cached per route version.
    pub(super) async fn publish_info(&self, topic: &str) -> Result<Arc<Vec<MessageQueue>>> {
        let client = &self.inner.client;
        // The route and whether it comes fresh from the name servers.
        let mut found = match client.cached_route(topic) {
            Some(r) => Ok((r, false)),
            None => client.fetch_route(topic).await.map(|r| (r, true)),
        };
        loop {
            let (route, fresh) = match found {
                Ok(r) => r,
                Err(e) if e.kind() == ErrorKind::TopicNotFound => {
                    return self.auto_create_queues(topic, e).await
                }
                Err(e) => return Err(e),
            };
            {
                let cache = self
                    .inner
                    .queue_cache
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                if let Some((r, q)) = cache.get(topic) {
                    if Arc::ptr_eq(r, &route) {
                        return Ok(q.clone());
                    }
                }
            }
            let queues = publish_queues(topic, &route);
            if queues.is_empty() {
                if !fresh {
                    // As Apache's producer does when its cached route offers no queue (say the
                    // only master was down when the route was cached and is back): ask the
                    // name servers instead of failing until the periodic refresh.
                    found = client.fetch_route(topic).await.map(|r| (r, true));
                    continue;
                }
                return Err(Error::new(
                    ErrorKind::TopicNotFound,
                    "send",
                    format!("topic {topic} has no writable queue"),
                ));
            }
            let queues = Arc::new(queues);
            self.inner
                .queue_cache
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(topic.to_owned(), (route, queues.clone()));
            return Ok(queues);
        }
    }

    /// Queues for `topic`, unknown to the name servers (`unknown` says so), on the brokers of
    /// [`AUTO_CREATE_TOPIC`].
    async fn auto_create_queues(
        &self,
        topic: &str,
        unknown: Error,
    ) -> Result<Arc<Vec<MessageQueue>>> {
        let template = self
            .inner
            .client
            .route(AUTO_CREATE_TOPIC)
            .await
            .map_err(|_| {
                Error::new(
                    ErrorKind::TopicNotFound,
                    "send",
                    format!("no route for topic {topic}"),
                )
                .with_source(unknown)
            })?;
        let n = self.inner.options.default_topic_queue_nums;
        let mut queues = Vec::new();
        let mut datas: Vec<_> = template
            .queue_datas
            .iter()
            .filter(|q| perm::is_writeable(q.perm))
            .collect();
        datas.sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
        for qd in datas {
            let count = n.min(qd.read_queue_nums);
            queues.extend((0..count).map(|i| MessageQueue::new(topic, &qd.broker_name, i)));
        }
        if queues.is_empty() {
            return Err(Error::new(
                ErrorKind::TopicNotFound,
                "send",
                format!("no route for topic {topic}"),
            ));
        }
        Ok(Arc::new(queues))
    }
}
