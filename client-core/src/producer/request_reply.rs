//! Request-reply on the producer (docs/request-reply.md).

use std::time::Duration;

use ferromq_protocol::body::MessageQueue;
use ferromq_protocol::message::property;

use super::Producer;
use crate::error::{Error, ErrorKind, Result};
use crate::message::{Message, MessageView, SendResult};
use crate::rt::Instant;
use crate::selector::QueueSelector;

/// Request-reply (docs/request-reply.md): a request is a message sent with a correlation id;
/// the call completes when the reply the broker pushes back arrives, or fails with
/// [`ErrorKind::Timeout`] when none arrives within the timeout (a late reply is then dropped).
impl Producer {
    /// Sends `message` as a request and waits up to `timeout` (send included) for its reply
    /// (Java's `DefaultMQProducer.request(msg, timeout)`).
    pub async fn request(&self, message: Message, timeout: Duration) -> Result<MessageView> {
        self.request_on(message, timeout, None).await
    }

    /// [`Self::request`] sent to the given queue.
    pub async fn request_to_queue(
        &self,
        message: Message,
        queue: &MessageQueue,
        timeout: Duration,
    ) -> Result<MessageView> {
        self.request_on(message, timeout, Some(queue.clone())).await
    }

    /// [`Self::request`] sent to the queue `selector` picks given `arg`.
    pub async fn request_with_selector(
        &self,
        message: Message,
        selector: &dyn QueueSelector,
        arg: &str,
        timeout: Duration,
    ) -> Result<MessageView> {
        let queue = self
            .select_queue("request", &message, selector, arg)
            .await?;
        self.request_on(message, timeout, Some(queue)).await
    }

    /// [`Self::request`] without waiting in the caller: the request runs as a task on the
    /// producer's runtime and `callback` gets the reply or the error on a runtime thread
    /// (Java's `request(msg, RequestCallback, timeout)`).
    pub fn request_async<F>(&self, message: Message, timeout: Duration, callback: F)
    where
        F: FnOnce(Result<MessageView>) + Send + 'static,
    {
        let this = self.clone();
        self.inner.runtime.spawn(async move {
            callback(this.request(message, timeout).await);
        });
    }

    /// Sends a reply built with [`Message::reply_to`] (SEND_REPLY_MESSAGE_V2). The broker
    /// answers SUCCESS only once the requester took the reply. [`Self::send`] sends a reply the
    /// same way; this refuses a message that is not a reply.
    pub async fn send_reply(&self, reply: Message) -> Result<SendResult> {
        if !reply.is_reply() {
            return Err(Error::invalid(
                "send reply",
                "not a reply message (build it with Message::reply_to)",
            ));
        }
        self.send(reply).await
    }

    async fn request_on(
        &self,
        mut message: Message,
        timeout: Duration,
        queue: Option<MessageQueue>,
    ) -> Result<MessageView> {
        if timeout.is_zero() {
            return Err(Error::invalid("request", "the timeout is zero"));
        }
        let began = Instant::now();
        let id = crate::request::correlation_id();
        let client_id = self.inner.client.id().to_owned();
        let ttl = timeout.as_millis().to_string();
        let props = message.properties_mut();
        props.insert(property::CORRELATION_ID, id.as_str());
        props.insert(property::MESSAGE_REPLY_TO_CLIENT, client_id);
        props.insert(property::MESSAGE_TTL, ttl);
        // The broker pushes the reply over the connection this client heartbeats on as a
        // producer: on a first request to a topic, make sure its brokers know this client (as
        // Java's `prepareSendRequest`).
        let wrapped = self.inner.ns.wrap(message.topic());
        if self.inner.client.cached_route(&wrapped).is_none() {
            self.publish_info(&wrapped).await?;
            self.inner.client.heartbeat().await;
        }
        let pending = crate::request::Pending::register(id);
        let send = async {
            match &queue {
                Some(q) => self.send_to_queue(message, q).await,
                None => self.send(message).await,
            }
        };
        match crate::rt::timeout(timeout, send).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    "request",
                    format!("the request was not sent within {} ms", timeout.as_millis()),
                ))
            }
        }
        let left = timeout.saturating_sub(began.elapsed());
        let reply = pending.wait(left.max(Duration::from_millis(1))).await?;
        Ok(self.inner.ns.unwrap_view(reply))
    }
}
