//! UpdateOffset, GetOffset and QueryOffset (the lite pull consumer's offsets) over the remoting
//! offset requests of the queue's master.

use ferromq_protocol::header::offset::{
    GetMaxOffsetRequestHeader, GetMaxOffsetResponseHeader, GetMinOffsetRequestHeader,
    GetMinOffsetResponseHeader, QueryConsumerOffsetRequestHeader,
    QueryConsumerOffsetResponseHeader, SearchOffsetRequestHeader, SearchOffsetResponseHeader,
    UpdateConsumerOffsetRequestHeader,
};
use ferromq_protocol::{CommandHeader, RemotingCommand, RequestCode, ResponseCode};

use crate::convert::{ts_millis, validate_name};
use crate::pb::{self, Code, QueryOffsetPolicy};
use crate::status::{ok, ProxyError, ProxyResult};
use crate::Proxy;

/// Topic, broker name and queue id of a request's queue.
pub(crate) fn queue_of(q: &Option<pb::MessageQueue>) -> ProxyResult<(String, String, i32)> {
    let q = q
        .as_ref()
        .ok_or_else(|| ProxyError::bad_request("message queue is required"))?;
    let topic = q.topic.as_ref().map(|t| t.name.clone()).unwrap_or_default();
    validate_name(&topic, "topic", Code::IllegalTopic)?;
    let broker = q
        .broker
        .as_ref()
        .map(|b| b.name.clone())
        .unwrap_or_default();
    if broker.is_empty() {
        return Err(ProxyError::bad_request("the message queue names no broker"));
    }
    if q.id < 0 {
        return Err(ProxyError::bad_request(format!(
            "queue id {} is illegal",
            q.id
        )));
    }
    Ok((topic, broker, q.id))
}

impl Proxy {
    async fn offset_call<H: CommandHeader>(
        &self,
        code: RequestCode,
        header: &H,
        broker: &str,
        topic: &str,
    ) -> ProxyResult<RemotingCommand> {
        let addr = self.backend.master_addr(broker, topic).await?;
        let request = RemotingCommand::request_with_header(code, header);
        let response = self
            .backend
            .request(&addr, request, self.backend.timeout())
            .await?;
        match response.response_code() {
            ResponseCode::SUCCESS => Ok(response),
            ResponseCode::QUERY_NOT_FOUND => Err(ProxyError::new(
                Code::OffsetNotFound,
                response
                    .remark
                    .clone()
                    .unwrap_or_else(|| "offset not found".to_owned()),
            )),
            _ => Err(ProxyError::from_response(&response)),
        }
    }

    pub(crate) async fn update_offset(
        &self,
        r: pb::UpdateOffsetRequest,
    ) -> pb::UpdateOffsetResponse {
        let result = async {
            let group = r
                .group
                .as_ref()
                .map(|g| g.name.as_str())
                .unwrap_or_default();
            validate_name(group, "group", Code::IllegalConsumerGroup)?;
            let (topic, broker, queue_id) = queue_of(&r.message_queue)?;
            if r.offset < 0 {
                return Err(ProxyError::new(
                    Code::IllegalOffset,
                    "offset cannot be negative",
                ));
            }
            let header = UpdateConsumerOffsetRequestHeader {
                consumer_group: group.to_owned(),
                topic: topic.clone(),
                queue_id,
                commit_offset: r.offset,
                broker_name: Some(broker.clone()),
            };
            self.offset_call(
                RequestCode::UPDATE_CONSUMER_OFFSET,
                &header,
                &broker,
                &topic,
            )
            .await
            .map(|_| ())
        }
        .await;
        let result: ProxyResult<()> = result;
        pb::UpdateOffsetResponse {
            status: Some(result.map_or_else(|e| e.status(), |()| ok())),
        }
    }

    pub(crate) async fn get_offset(&self, r: pb::GetOffsetRequest) -> pb::GetOffsetResponse {
        let result = async {
            let group = r
                .group
                .as_ref()
                .map(|g| g.name.as_str())
                .unwrap_or_default();
            validate_name(group, "group", Code::IllegalConsumerGroup)?;
            let (topic, broker, queue_id) = queue_of(&r.message_queue)?;
            let header = QueryConsumerOffsetRequestHeader {
                consumer_group: group.to_owned(),
                topic: topic.clone(),
                queue_id,
                set_zero_if_not_found: Some(false),
                broker_name: Some(broker.clone()),
            };
            let response = self
                .offset_call(RequestCode::QUERY_CONSUMER_OFFSET, &header, &broker, &topic)
                .await?;
            let h: QueryConsumerOffsetResponseHeader = response
                .header()
                .map_err(|e| ProxyError::new(Code::InternalServerError, e.to_string()))?;
            Ok::<i64, ProxyError>(h.offset)
        }
        .await;
        match result {
            Ok(offset) => pb::GetOffsetResponse {
                status: Some(ok()),
                offset,
            },
            Err(e) => pb::GetOffsetResponse {
                status: Some(e.status()),
                offset: 0,
            },
        }
    }

    pub(crate) async fn query_offset(&self, r: pb::QueryOffsetRequest) -> pb::QueryOffsetResponse {
        let result = async {
            let (topic, broker, queue_id) = queue_of(&r.message_queue)?;
            let policy = QueryOffsetPolicy::try_from(r.query_offset_policy).map_err(|_| {
                ProxyError::bad_request(format!("unknown offset policy {}", r.query_offset_policy))
            })?;
            let bad = |e: ferromq_protocol::ProtocolError| {
                ProxyError::new(Code::InternalServerError, e.to_string())
            };
            match policy {
                QueryOffsetPolicy::Beginning => {
                    let h = GetMinOffsetRequestHeader {
                        topic: topic.clone(),
                        queue_id,
                        broker_name: Some(broker.clone()),
                    };
                    let resp = self
                        .offset_call(RequestCode::GET_MIN_OFFSET, &h, &broker, &topic)
                        .await?;
                    resp.header::<GetMinOffsetResponseHeader>()
                        .map(|h| h.offset)
                        .map_err(bad)
                }
                QueryOffsetPolicy::End => {
                    let h = GetMaxOffsetRequestHeader {
                        topic: topic.clone(),
                        queue_id,
                        committed: Some(true),
                        broker_name: Some(broker.clone()),
                    };
                    let resp = self
                        .offset_call(RequestCode::GET_MAX_OFFSET, &h, &broker, &topic)
                        .await?;
                    resp.header::<GetMaxOffsetResponseHeader>()
                        .map(|h| h.offset)
                        .map_err(bad)
                }
                QueryOffsetPolicy::Timestamp => {
                    let at = r.timestamp.as_ref().ok_or_else(|| {
                        ProxyError::bad_request("a timestamp is required for the TIMESTAMP policy")
                    })?;
                    let h = SearchOffsetRequestHeader {
                        topic: topic.clone(),
                        queue_id,
                        timestamp: ts_millis(at),
                        boundary_type: None,
                        broker_name: Some(broker.clone()),
                    };
                    let resp = self
                        .offset_call(RequestCode::SEARCH_OFFSET_BY_TIMESTAMP, &h, &broker, &topic)
                        .await?;
                    resp.header::<SearchOffsetResponseHeader>()
                        .map(|h| h.offset)
                        .map_err(bad)
                }
            }
        }
        .await;
        match result {
            Ok(offset) => pb::QueryOffsetResponse {
                status: Some(ok()),
                offset,
            },
            Err(e) => pb::QueryOffsetResponse {
                status: Some(e.status()),
                offset: 0,
            },
        }
    }
}
