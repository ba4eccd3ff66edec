//! SEND_REPLY_MESSAGE (324) and SEND_REPLY_MESSAGE_V2 (325): the reply half of request-reply
//! (docs/request-reply.md).
//!
//! A responder sends its reply to the cluster's reply topic with the requester's client id in
//! the `REPLY_TO_CLIENT` property. The broker finds that client among its registered producers
//! and pushes the reply to it over the client's own connection (PUSH_REPLY_MESSAGE_TO_CLIENT,
//! 326). The answer to the responder says whether the push arrived, as Apache's
//! `ReplyMessageProcessor` does: SUCCESS, or SYSTEM_ERROR with the reason (client unknown, push
//! refused or timed out). With `storeReplyMessageEnable` (the default) the reply is also stored
//! in the reply topic; a store failure is logged and does not change the push's answer.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ferromq_protocol::header::send::{SendMessageRequestHeader, SendMessageResponseHeader};
use ferromq_protocol::message::{create_message_id, property, Properties};
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use ferromq_remoting::Connection;
use ferromq_store::PutStatus;

use crate::response::{bad_header, fail, Response};
use crate::state::Broker;

use super::send::SendRequest;

/// How long the requesting client may take to acknowledge a pushed reply (Apache's
/// `Broker2Client.callClient`: 10 s).
const PUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// The outcome of pushing a reply to its requester: `Ok` or the remark the responder reads.
type Pushed = Result<(), String>;

pub(crate) async fn send_reply(
    broker: &Broker,
    conn: &Connection,
    req: &RemotingCommand,
) -> Response {
    let settings = broker.settings();
    let h = match SendMessageRequestHeader::from_command(req) {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    let queue_id = match super::send::admit_write(broker, &settings, &h).await {
        Ok(queue_id) => queue_id,
        Err(refusal) => return refusal,
    };

    let mut properties = Properties::decode(h.properties.as_deref().unwrap_or(""));
    let pushed = push_to_requester(broker, conn, &h, queue_id, &mut properties, &req.body).await;
    let mut header = SendMessageResponseHeader {
        // "0" when nothing is stored, so that clients parsing the id do not fail (as Apache).
        msg_id: "0".to_owned(),
        queue_id,
        queue_offset: 0,
        msg_region: Some(settings.broker.region_id.clone()),
        trace_on: Some(settings.broker.trace_on),
        ..Default::default()
    };

    if settings.broker.store_reply_message_enable {
        let send = SendRequest {
            broker,
            settings: &settings,
            conn,
            h: &h,
            req,
        };
        let message = send.message(h.topic.clone(), queue_id, properties);
        match broker.store.put_messages(std::slice::from_ref(&message)) {
            Ok(pending) => {
                let result = pending.finish().await;
                match &result.status {
                    PutStatus::PutOk | PutStatus::FlushDiskTimeout => {
                        if let Some((offset, _)) = result.append.records.first() {
                            header.msg_id = create_message_id(broker.store_host, *offset as i64);
                        }
                        header.queue_offset = result.append.queue_offset;
                    }
                    PutStatus::Failed(reason) => {
                        tracing::warn!(topic = %h.topic, %reason, "reply message not stored");
                    }
                }
            }
            Err(e) => tracing::warn!(topic = %h.topic, error = %e, "reply message not stored"),
        }
    }

    match pushed {
        Ok(()) => RemotingCommand::response(ResponseCode::SUCCESS, None).with_header(&header),
        Err(remark) => fail(ResponseCode::SYSTEM_ERROR, remark),
    }
}

/// Pushes the reply to the client named by its `REPLY_TO_CLIENT` property, over that client's
/// connection; stamps `PUSH_REPLY_TIME` on `properties` when the client is found.
async fn push_to_requester(
    broker: &Broker,
    conn: &Connection,
    h: &SendMessageRequestHeader,
    queue_id: i32,
    properties: &mut Properties,
    body: &bytes::Bytes,
) -> Pushed {
    let Some(client_id) = properties
        .value(property::MESSAGE_REPLY_TO_CLIENT)
        .map(str::to_owned)
    else {
        tracing::warn!("REPLY_TO_CLIENT is null, can not reply message");
        return Err(format!(
            "reply message properties[{}] is null",
            property::MESSAGE_REPLY_TO_CLIENT
        ));
    };
    let Some(channel) = broker.clients.find_producer_channel(&client_id) else {
        let remark = format!("push reply message fail, channel of <{client_id}> not found.");
        tracing::warn!(client = %client_id, "{remark}");
        return Err(remark);
    };
    properties.insert(property::PUSH_REPLY_TIME, now_millis().to_string());

    let mut push =
        RemotingCommand::request(RequestCode::PUSH_REPLY_MESSAGE_TO_CLIENT).with_body(body.clone());
    let ext = &mut push.ext_fields;
    ext.insert("bornHost", conn.peer_addr().to_string());
    ext.insert("storeHost", broker.store_host.to_string());
    ext.insert("storeTimestamp", now_millis().to_string());
    ext.insert("producerGroup", h.producer_group.as_str());
    ext.insert("topic", h.topic.as_str());
    ext.insert("defaultTopic", h.default_topic.as_str());
    ext.insert(
        "defaultTopicQueueNums",
        h.default_topic_queue_nums.to_string(),
    );
    ext.insert("queueId", queue_id.to_string());
    ext.insert("sysFlag", h.sys_flag.to_string());
    ext.insert("bornTimestamp", h.born_timestamp.to_string());
    ext.insert("flag", h.flag.to_string());
    ext.insert("properties", properties.encode());
    ext.insert("reconsumeTimes", h.reconsume_times.unwrap_or(0).to_string());
    ext.insert("unitMode", h.unit_mode.unwrap_or(false).to_string());

    match channel.conn.request(push, PUSH_TIMEOUT).await {
        Ok(answer) if answer.code == ResponseCode::SUCCESS.0 => Ok(()),
        Ok(answer) => {
            tracing::warn!(client = %client_id, remark = ?answer.remark, "push reply message refused");
            Err(format!("push reply message to {client_id} fail."))
        }
        Err(e) => {
            tracing::warn!(client = %client_id, error = %e, "push reply message failed");
            Err(format!("push reply message to {client_id} fail."))
        }
    }
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
