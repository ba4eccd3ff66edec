//! RecallMessage: cancels a delay (timer) message before it is due, with the recall handle of
//! its SendResultEntry, over the broker's `RECALL_MESSAGE` (Apache 5.3.3's
//! `RecallMessageActivity` and `ProducerProcessor.recallMessage`).

use std::time::Duration;

use ferromq_protocol::header::recall::{
    RecallHandle, RecallMessageRequestHeader, RecallMessageResponseHeader,
};
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};

use crate::backend::TopicMessageType;
use crate::convert::validate_name;
use crate::pb::{self, Code};
use crate::status::{ok, ProxyError, ProxyResult};
use crate::Proxy;

/// Apache's proxy gives the broker 2 s to answer a recall.
const RECALL_TIMEOUT: Duration = Duration::from_secs(2);

impl Proxy {
    pub(crate) async fn recall(
        &self,
        request: pb::RecallMessageRequest,
    ) -> pb::RecallMessageResponse {
        match self.try_recall(&request).await {
            Ok(message_id) => pb::RecallMessageResponse {
                status: Some(ok()),
                message_id,
            },
            Err(e) => pb::RecallMessageResponse {
                status: Some(e.status()),
                message_id: String::new(),
            },
        }
    }

    async fn try_recall(&self, request: &pb::RecallMessageRequest) -> ProxyResult<String> {
        let topic = request
            .topic
            .as_ref()
            .map(|t| t.name.as_str())
            .unwrap_or_default();
        validate_name(topic, "topic", Code::IllegalTopic)?;
        if self.config.enable_topic_message_type_check {
            let kind = self.backend.topic_message_type(topic).await?;
            if !matches!(kind, TopicMessageType::Delay | TopicMessageType::Mixed) {
                return Err(ProxyError::new(
                    Code::MessagePropertyConflictWithType,
                    format!(
                        "TopicMessageType validate failed, the expected type is {}, but actual \
                         type is DELAY",
                        format!("{kind:?}").to_uppercase()
                    ),
                ));
            }
        }
        // Apache's proxy answers a handle that does not decode with INTERNAL_SERVER_ERROR.
        let handle = RecallHandle::decode(&request.recall_handle)
            .map_err(|reason| ProxyError::new(Code::InternalServerError, reason))?;
        let addr = self.backend.master_addr(&handle.broker_name, topic).await?;
        let header = RecallMessageRequestHeader {
            producer_group: None,
            topic: topic.to_owned(),
            recall_handle: request.recall_handle.clone(),
            broker_name: Some(handle.broker_name.clone()),
        };
        let command = RemotingCommand::request_with_header(RequestCode::RECALL_MESSAGE, &header);
        let response = self.backend.request(&addr, command, RECALL_TIMEOUT).await?;
        if response.response_code() != ResponseCode::SUCCESS {
            return Err(ProxyError::from_response(&response));
        }
        let answer: RecallMessageResponseHeader = response
            .header()
            .map_err(|e| ProxyError::new(Code::InternalServerError, e.to_string()))?;
        Ok(answer.msg_id)
    }
}
