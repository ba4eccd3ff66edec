//! One send attempt on the wire: the request header, the request to the queue's master, the
//! broker's answer turned into a [`SendResult`], and the trace record of an accepted send.

use ferromq_protocol::body::MessageQueue;
use ferromq_protocol::header::send::{SendMessageRequestHeaderV2, SendMessageResponseHeader};
use ferromq_protocol::message::{property, BatchMessage};
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};

use super::{Producer, AUTO_CREATE_TOPIC};
use crate::client::now_ms;
use crate::error::{Error, Result};
use crate::message::{Message, SendResult, SendStatus};
use crate::trace::SendAnswer;

/// How the send is delivered.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Sync,
    Oneway,
}

/// What one send attempt carries, for the trace records.
#[derive(Clone, Copy)]
pub(super) enum Traced<'a> {
    One(&'a Message),
    /// A batch to `topic` (as sent), with its entries in order.
    Batch(&'a str, &'a [BatchMessage]),
}

impl Producer {
    /// The request header of `message` to `queue` (`batch`: the wrapper message of a batch); a
    /// message to a retry topic carries its reconsume counts.
    pub(super) fn header(
        &self,
        message: &Message,
        sys_flag: i32,
        queue: &MessageQueue,
        batch: bool,
    ) -> SendMessageRequestHeaderV2 {
        let retry = message
            .topic()
            .starts_with(ferromq_protocol::names::RETRY_TOPIC_PREFIX);
        SendMessageRequestHeaderV2 {
            producer_group: self.inner.options.group.clone(),
            topic: message.topic().to_owned(),
            default_topic: AUTO_CREATE_TOPIC.to_owned(),
            default_topic_queue_nums: self.inner.options.default_topic_queue_nums,
            queue_id: queue.queue_id,
            sys_flag,
            born_timestamp: now_ms(),
            flag: message.flag(),
            properties: Some(message.properties().encode()),
            reconsume_times: Some(if retry {
                message
                    .property(property::RECONSUME_TIME)
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0)
            } else {
                0
            }),
            unit_mode: Some(false),
            max_reconsume_times: if retry {
                message
                    .property(property::MAX_RECONSUME_TIMES)
                    .and_then(|v| v.parse().ok())
            } else {
                None
            },
            batch: Some(batch),
            broker_name: Some(queue.broker_name.clone()),
        }
    }

    /// One attempt of a single message to `queue`: SEND_MESSAGE_V2, or SEND_REPLY_MESSAGE_V2
    /// for a reply.
    pub(super) async fn send_once(
        &self,
        message: &Message,
        sys_flag: i32,
        queue: &MessageQueue,
        mode: Mode,
    ) -> Result<Option<SendResult>> {
        let header = self.header(message, sys_flag, queue, false);
        // A reply (MSG_TYPE=reply) goes as SEND_REPLY_MESSAGE_V2, as Java's client sends it.
        let code = if message.is_reply() {
            RequestCode::SEND_REPLY_MESSAGE_V2
        } else {
            RequestCode::SEND_MESSAGE_V2
        };
        let request =
            RemotingCommand::request_with_header(code, &header).with_body(message.body().clone());
        let id = message
            .property(property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX)
            .unwrap_or_default()
            .to_owned();
        self.exchange(request, queue, mode, id, Traced::One(message))
            .await
    }

    /// Sends `request` to the master of `queue`'s broker and turns its answer into a
    /// [`SendResult`] (`None` when oneway); records the trace of an accepted send.
    pub(super) async fn exchange(
        &self,
        request: RemotingCommand,
        queue: &MessageQueue,
        mode: Mode,
        msg_id: String,
        traced: Traced<'_>,
    ) -> Result<Option<SendResult>> {
        let began_ms = now_ms();
        let client = &self.inner.client;
        let addr = client
            .master_addr_for(&queue.broker_name, &queue.topic)
            .await
            .or_else(|e| client.master_addr(&queue.broker_name).ok_or(e))?;
        if mode == Mode::Oneway {
            client.broker_oneway(&addr, request).await?;
            return Ok(None);
        }
        let response = client
            .broker_request(&addr, request, self.inner.options.send_timeout)
            .await?;
        let status = match response.response_code() {
            ResponseCode::SUCCESS => SendStatus::Ok,
            ResponseCode::FLUSH_DISK_TIMEOUT => SendStatus::FlushDiskTimeout,
            ResponseCode::FLUSH_SLAVE_TIMEOUT => SendStatus::FlushSlaveTimeout,
            ResponseCode::SLAVE_NOT_AVAILABLE => SendStatus::SlaveNotAvailable,
            _ => return Err(Error::from_response("send", &response)),
        };
        let header: SendMessageResponseHeader =
            response.header().map_err(|e| Error::protocol("send", e))?;
        let result = SendResult {
            status,
            msg_id,
            offset_msg_id: header.msg_id,
            // What the application sent to: the topic without the namespace.
            queue: MessageQueue::new(
                self.inner.ns.unwrap(&queue.topic),
                queue.broker_name.clone(),
                header.queue_id,
            ),
            queue_offset: header.queue_offset,
            transaction_id: header.transaction_id,
            recall_handle: header.recall_handle,
        };
        if let Some(tracer) = &self.inner.tracer {
            let answer = SendAnswer {
                result: &result,
                broker_addr: &addr,
                region: header.msg_region.as_deref(),
                trace_on: header.trace_on,
                began_ms,
            };
            match traced {
                Traced::One(message) => tracer.on_send(message, &answer),
                Traced::Batch(topic, entries) => tracer.on_send_batch(topic, entries, &answer),
            }
        }
        Ok(Some(result))
    }
}
