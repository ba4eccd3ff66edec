//! Batches: messages of one topic sent as SEND_BATCH_MESSAGE, split so that no batch exceeds
//! the size limit.

use ferromq_protocol::body::MessageQueue;
use ferromq_protocol::message::{batch_encoded_len, encode_batch_to_bytes, property, BatchMessage};
use ferromq_protocol::{RemotingCommand, RequestCode};

use super::exchange::{Mode, Traced};
use super::send::{answered, validate_topic};
use super::Producer;
use crate::error::{Error, Result};
use crate::message::{Message, SendResult};
use crate::rt::Instant;

impl Producer {
    /// Sends messages of one topic as batches (SEND_BATCH_MESSAGE), split so that no batch
    /// exceeds [`ProducerOptions::max_message_size`]; one result per batch, in order. Delayed
    /// messages and retry topics cannot be batched.
    ///
    /// [`ProducerOptions::max_message_size`]: super::ProducerOptions::max_message_size
    pub async fn send_batch(&self, messages: Vec<Message>) -> Result<Vec<SendResult>> {
        let Some(first) = messages.first() else {
            return Err(Error::invalid("send batch", "no messages"));
        };
        let topic = first.topic().to_owned();
        let wrapped = self.inner.ns.wrap(&topic);
        validate_topic("send batch", &wrapped)?;
        let mut entries = Vec::with_capacity(messages.len());
        for mut m in messages {
            if m.topic() != topic {
                return Err(Error::invalid(
                    "send batch",
                    "all messages of a batch must have the same topic",
                ));
            }
            if m.property(property::DELAY_TIME_LEVEL).is_some() {
                return Err(Error::invalid(
                    "send batch",
                    "delayed messages cannot be batched",
                ));
            }
            if topic.starts_with(ferromq_protocol::names::RETRY_TOPIC_PREFIX) {
                return Err(Error::invalid(
                    "send batch",
                    "retry topics cannot be batched",
                ));
            }
            if m.body().is_empty() {
                return Err(Error::invalid("send batch", "a message body is empty"));
            }
            if m.property(property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX)
                .is_none()
            {
                let id = self.inner.client.inner.uniq.next_id_at(crate::rt::now_ms());
                m.properties_mut()
                    .insert(property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX, id);
            }
            entries.push(BatchMessage {
                flag: m.flag(),
                body: m.body().clone(),
                properties: m.properties().clone(),
            });
        }
        let max = self.inner.options.max_message_size;
        let mut chunks: Vec<Vec<BatchMessage>> = Vec::new();
        let mut size = 0;
        for e in entries {
            let len = e.encoded_len();
            if len > max {
                return Err(Error::invalid(
                    "send batch",
                    format!("a message of {len} bytes exceeds the {max}-byte limit"),
                ));
            }
            match chunks.last_mut() {
                Some(chunk) if size + len <= max => {
                    size += len;
                    chunk.push(e);
                }
                _ => {
                    size = len;
                    chunks.push(vec![e]);
                }
            }
        }
        let mut results = Vec::with_capacity(chunks.len());
        for chunk in chunks {
            debug_assert!(batch_encoded_len(&chunk) <= max);
            let body =
                encode_batch_to_bytes(&chunk).map_err(|e| Error::protocol("send batch", e))?;
            let ids: Vec<&str> = chunk
                .iter()
                .filter_map(|e| e.properties.uniq_key())
                .collect();
            let mut batch = Message::new(wrapped.clone(), body);
            batch
                .properties_mut()
                .insert(property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX, ids.join(","));
            let began = Instant::now();
            let sent = self
                .send_with_retries(&batch, 0, Mode::Sync, Some(&chunk))
                .await
                .and_then(answered);
            self.observe(began, chunk.len(), &sent);
            results.push(sent?);
        }
        Ok(results)
    }

    /// One attempt of an encoded batch (`batch`, whose `entries` are the messages) to `queue`.
    pub(super) async fn send_batch_once(
        &self,
        batch: &Message,
        entries: &[BatchMessage],
        queue: &MessageQueue,
    ) -> Result<Option<SendResult>> {
        let mut header = self.header(batch, 0, queue, true);
        // The batch's own properties carry only WAIT (the ids are inside each entry).
        let mut props = ferromq_protocol::message::Properties::new();
        props.insert(property::WAIT_STORE_MSG_OK, "true");
        header.properties = Some(props.encode());
        let request =
            RemotingCommand::request_with_header(RequestCode::SEND_BATCH_MESSAGE, &header)
                .with_body(batch.body().clone());
        let ids = batch
            .property(property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX)
            .unwrap_or_default()
            .to_owned();
        let traced = Traced::Batch(batch.topic(), entries);
        self.exchange(request, queue, Mode::Sync, ids, traced).await
    }
}
