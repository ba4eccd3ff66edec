//! [`Producer::recall`]: cancels a timer message before it is due with the recall handle of its
//! send result (`RECALL_MESSAGE`, docs/protocol.md "Recalling timer messages"), as Java's
//! `DefaultMQProducer.recallMessage`.

use ferromq_protocol::header::recall::{
    RecallHandle, RecallMessageRequestHeader, RecallMessageResponseHeader,
};
use ferromq_protocol::{names, RemotingCommand, RequestCode, ResponseCode};

use crate::error::{Error, Result};
use crate::producer::Producer;

const OP: &str = "recall";

impl Producer {
    /// Recalls the timer message of `topic` whose send answered `recall_handle`
    /// ([`SendResult::recall_handle`](crate::message::SendResult::recall_handle)); returns the
    /// message's id. The broker that stores it must have `recallMessageEnable=true`; a handle
    /// that does not decode is [`ErrorKind::InvalidArgument`](crate::error::ErrorKind), a
    /// message already due is the broker's ILLEGAL_OPERATION.
    pub async fn recall(&self, topic: &str, recall_handle: &str) -> Result<String> {
        names::check_topic(topic).map_err(|e| Error::invalid(OP, e.to_string()))?;
        if topic.starts_with(names::RETRY_TOPIC_PREFIX)
            || topic.starts_with(names::DLQ_TOPIC_PREFIX)
        {
            return Err(Error::invalid(OP, "topic is not supported"));
        }
        let handle = RecallHandle::decode(recall_handle).map_err(|r| Error::invalid(OP, r))?;
        let (client, ns, timeout, group) = self.recall_parts();
        let topic = ns.wrap(topic);
        let addr = client.master_addr_for(&handle.broker_name, &topic).await?;
        let header = RecallMessageRequestHeader {
            producer_group: Some(ns.wrap(group)),
            topic,
            recall_handle: recall_handle.to_owned(),
            broker_name: Some(handle.broker_name),
        };
        let request = RemotingCommand::request_with_header(RequestCode::RECALL_MESSAGE, &header);
        let response = client.broker_request(&addr, request, timeout).await?;
        if response.response_code() != ResponseCode::SUCCESS {
            return Err(Error::from_response(OP, &response));
        }
        let answer: RecallMessageResponseHeader =
            response.header().map_err(|e| Error::protocol(OP, e))?;
        Ok(answer.msg_id)
    }
}
