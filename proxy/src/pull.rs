//! PullMessage (lite pull): messages of one queue from an offset, over the broker's remoting
//! `PULL_MESSAGE`. Apache 5.3.3's proxy does not serve this RPC (it answers UNIMPLEMENTED), so
//! the answer follows the proto and the remoting pull results (docs/grpc.md, "PullMessage"):
//! the stream carries a `Status`, then the messages, then `next_offset` (the offset to pull
//! from next), as ReceiveMessage carries a status then messages.
//!
//! | remoting answer | status | messages | next_offset |
//! |---|---|---|---|
//! | SUCCESS (FOUND) | OK | the batch, tags checked by name | yes |
//! | PULL_RETRY_IMMEDIATELY (nothing matched) | MESSAGE_NOT_FOUND | none | yes |
//! | PULL_NOT_FOUND (no new message) | MESSAGE_NOT_FOUND | none | yes |
//! | PULL_OFFSET_MOVED (offset out of range) | ILLEGAL_OFFSET | none | the corrected offset |

use std::time::Duration;

use ferromq_protocol::header::pull::{
    pull_sys_flag, PullMessageRequestHeader, PullMessageResponseHeader,
};
use ferromq_protocol::message::tag::TagSubscription;
use ferromq_protocol::message::{decode_all, DecodeOptions};
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};

use crate::convert::{duration_millis, filter_of, to_grpc, validate_name};
use crate::offsets::queue_of;
use crate::pb::pull_message_response::Content;
use crate::pb::{self, Code};
use crate::status::{ok, status, ProxyError, ProxyResult};
use crate::{now_ms, Proxy};

/// Kept from the client's deadline for the answer to travel back.
const POLLING_RESERVE_MS: i64 = 500;
/// Permission bit "readable" of a queue.
const PERM_READ: i32 = 1 << 2;

fn answer(content: Content) -> pb::PullMessageResponse {
    pb::PullMessageResponse {
        content: Some(content),
    }
}

impl Proxy {
    pub(crate) async fn pull(
        &self,
        request: pb::PullMessageRequest,
        deadline: Option<Duration>,
    ) -> Vec<pb::PullMessageResponse> {
        match self.try_pull(&request, deadline).await {
            Ok(answers) => answers,
            Err(e) => vec![answer(Content::Status(e.status()))],
        }
    }

    async fn try_pull(
        &self,
        request: &pb::PullMessageRequest,
        deadline: Option<Duration>,
    ) -> ProxyResult<Vec<pb::PullMessageResponse>> {
        let group = request
            .group
            .as_ref()
            .map(|g| g.name.as_str())
            .unwrap_or_default();
        validate_name(group, "group", Code::IllegalConsumerGroup)?;
        let (topic, broker_name, queue_id) = queue_of(&request.message_queue)?;
        if request.offset < 0 {
            return Err(ProxyError::new(
                Code::IllegalOffset,
                format!("offset {} is negative", request.offset),
            ));
        }
        if request.batch_size <= 0 {
            return Err(ProxyError::bad_request(format!(
                "batch size {} is illegal",
                request.batch_size
            )));
        }
        let batch = request.batch_size.min(
            self.config
                .grpc_client_consumer_long_polling_batch_size
                .max(1),
        );
        let (exp_type, exp) = filter_of(request.filter_expression.as_ref())?;
        let tags = if exp_type == "TAG" {
            Some(
                TagSubscription::parse(&exp)
                    .map_err(|e| ProxyError::new(Code::IllegalFilterExpression, e.to_string()))?,
            )
        } else {
            None
        };
        let max = self
            .config
            .grpc_client_consumer_max_long_polling_timeout_millis;
        let mut polling = match &request.long_polling_timeout {
            Some(d) => duration_millis(d).ok_or_else(|| {
                ProxyError::new(Code::IllegalPollingTime, "long polling timeout is negative")
            })?,
            None => 0,
        }
        .min(max);
        if let Some(d) = deadline {
            let left = i64::try_from(d.as_millis()).unwrap_or(i64::MAX) - POLLING_RESERVE_MS;
            polling = polling.min(left.max(0));
        }

        let route = self.backend.route(&topic).await?;
        let queues = route
            .queue_datas
            .iter()
            .find(|q| q.broker_name == broker_name)
            .ok_or_else(|| {
                ProxyError::new(
                    Code::NotFound,
                    format!("broker {broker_name} does not serve topic {topic}"),
                )
            })?;
        if queues.perm & PERM_READ == 0 {
            return Err(ProxyError::new(
                Code::Forbidden,
                format!("topic {topic} is not readable on broker {broker_name}"),
            ));
        }
        if queue_id >= queues.read_queue_nums {
            return Err(ProxyError::bad_request(format!(
                "queue id {queue_id} is illegal: topic {topic} has {} readable queues on broker \
                 {broker_name}",
                queues.read_queue_nums
            )));
        }
        let addr = route
            .broker(&broker_name)
            .and_then(|b| b.master_addr())
            .map(str::to_owned)
            .ok_or_else(|| {
                ProxyError::new(
                    Code::NotFound,
                    format!("broker {broker_name} has no master for topic {topic}"),
                )
            })?;

        let mut sys_flag = pull_sys_flag::SUBSCRIPTION;
        if polling > 0 {
            sys_flag |= pull_sys_flag::SUSPEND;
        }
        let header = PullMessageRequestHeader {
            consumer_group: group.to_owned(),
            topic: topic.clone(),
            queue_id,
            queue_offset: request.offset,
            max_msg_nums: batch,
            sys_flag,
            commit_offset: 0,
            suspend_timeout_millis: polling,
            subscription: Some(exp),
            sub_version: now_ms(),
            expression_type: Some(exp_type.to_owned()),
            broker_name: Some(broker_name.clone()),
            ..Default::default()
        };
        let command = RemotingCommand::request_with_header(RequestCode::PULL_MESSAGE, &header);
        let wait =
            self.backend.timeout() + Duration::from_millis(u64::try_from(polling).unwrap_or(0));
        let response = self.backend.request(&addr, command, wait).await?;
        let code = response.response_code();
        let found = match code {
            ResponseCode::SUCCESS => true,
            ResponseCode::PULL_NOT_FOUND
            | ResponseCode::PULL_RETRY_IMMEDIATELY
            | ResponseCode::PULL_OFFSET_MOVED => false,
            _ => return Err(ProxyError::from_response(&response)),
        };
        let head: PullMessageResponseHeader = response
            .header()
            .map_err(|e| ProxyError::new(Code::InternalServerError, e.to_string()))?;
        let next = answer(Content::NextOffset(head.next_begin_offset));
        if code == ResponseCode::PULL_OFFSET_MOVED {
            return Ok(vec![
                answer(Content::Status(status(
                    Code::IllegalOffset,
                    &format!(
                        "offset {} is out of range [{}, {}]; pull from {}",
                        request.offset, head.min_offset, head.max_offset, head.next_begin_offset
                    ),
                ))),
                next,
            ]);
        }
        let mut out = vec![answer(Content::Status(ok()))];
        if found {
            let messages = decode_all(&response.body, &DecodeOptions::default()).map_err(|e| {
                ProxyError::new(Code::InternalServerError, format!("bad pull body: {e}"))
            })?;
            let now = now_ms();
            for m in messages {
                // The broker filters by tag hash; names are checked here, as clients do.
                if tags
                    .as_ref()
                    .is_some_and(|t| !t.matches_tag(m.properties.tags()))
                {
                    continue;
                }
                out.push(answer(Content::Message(to_grpc(&m, &topic, now))));
            }
        }
        if out.len() == 1 {
            out[0] = answer(Content::Status(status(
                Code::MessageNotFound,
                "no new message",
            )));
        }
        out.push(next);
        Ok(out)
    }
}
