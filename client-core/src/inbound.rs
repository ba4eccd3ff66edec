//! Requests a broker sends to the client (protocol.md 2.4), dispatched to the producer or
//! consumer they concern.

use std::collections::BTreeMap;
use std::sync::Weak;

use ferromq_protocol::body::ResetOffsetBody;
use ferromq_protocol::header::client::{
    GetConsumerRunningInfoRequestHeader, NotifyConsumerIdsChangedRequestHeader,
    ResetOffsetRequestHeader,
};
use ferromq_protocol::header::transaction::CheckTransactionStateRequestHeader;
use ferromq_protocol::json;
use ferromq_protocol::message::property;
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use futures::future::BoxFuture;

use crate::client::{Client, Inner};
use crate::transport::InboundHandler;

pub(crate) struct Dispatcher {
    pub(crate) client: Weak<Inner>,
}

fn error(code: ResponseCode, remark: impl Into<String>) -> Option<RemotingCommand> {
    Some(RemotingCommand::response(code, Some(remark.into())))
}

impl InboundHandler for Dispatcher {
    fn handle(
        &self,
        addr: String,
        request: RemotingCommand,
    ) -> BoxFuture<'static, Option<RemotingCommand>> {
        let client = self.client.upgrade().map(|inner| Client { inner });
        Box::pin(async move {
            let client = client?;
            match request.request_code() {
                RequestCode::CHECK_TRANSACTION_STATE => {
                    check_transaction(&client, addr, request).await
                }
                RequestCode::NOTIFY_CONSUMER_IDS_CHANGED => {
                    if let Ok(h) = request.header::<NotifyConsumerIdsChangedRequestHeader>() {
                        if let Some(c) = client.consumer(&h.consumer_group) {
                            c.trigger_rebalance();
                        }
                    }
                    None
                }
                RequestCode::RESET_CONSUMER_CLIENT_OFFSET => {
                    let h = request.header::<ResetOffsetRequestHeader>().ok()?;
                    let body = ResetOffsetBody::decode(&request.body).ok()?;
                    if let Some(c) = client.consumer(&h.group) {
                        let offsets: BTreeMap<_, _> = body
                            .offset_table
                            .into_iter()
                            .filter(|(mq, _)| mq.topic == h.topic)
                            .collect();
                        c.reset_offsets(offsets);
                    }
                    Some(RemotingCommand::response(ResponseCode::SUCCESS, None))
                }
                RequestCode::GET_CONSUMER_RUNNING_INFO => {
                    let Ok(h) = request.header::<GetConsumerRunningInfoRequestHeader>() else {
                        return error(ResponseCode::SYSTEM_ERROR, "bad header");
                    };
                    let Some(c) = client.consumer(&h.consumer_group) else {
                        return error(
                            ResponseCode::SYSTEM_ERROR,
                            format!(
                                "The Consumer Group <{}> not exist in this consumer",
                                h.consumer_group
                            ),
                        );
                    };
                    let props = c.running_properties();
                    let value = json::Value::Object(
                        [(
                            "properties".to_owned(),
                            json::Value::Object(
                                props
                                    .into_iter()
                                    .map(|(k, v)| (k, json::Value::String(v)))
                                    .collect(),
                            ),
                        )]
                        .into_iter()
                        .collect(),
                    );
                    let body = json::to_string(&value);
                    Some(
                        RemotingCommand::response(ResponseCode::SUCCESS, None)
                            .with_body(body.into_bytes()),
                    )
                }
                RequestCode::CONSUME_MESSAGE_DIRECTLY => {
                    let group = request.ext_fields.get("consumerGroup").map(str::to_owned);
                    let broker = request.ext_fields.get("brokerName").map(str::to_owned);
                    let (Some(group), Ok(mut messages)) =
                        (group, Client::decode_messages(&request.body))
                    else {
                        return error(ResponseCode::SYSTEM_ERROR, "bad request");
                    };
                    let (Some(c), Some(message)) = (client.consumer(&group), messages.pop()) else {
                        return error(ResponseCode::SYSTEM_ERROR, "no such consumer or message");
                    };
                    let broker = broker
                        .or_else(|| client.broker_name_of(&addr))
                        .unwrap_or_default();
                    let result = c.consume_directly(message, broker).await;
                    let consume_result = match result {
                        Some(true) => "CR_SUCCESS",
                        Some(false) => "CR_LATER",
                        None => "CR_THROW_EXCEPTION",
                    };
                    let body = format!(
                        "{{\"autoCommit\":true,\"consumeResult\":\"{consume_result}\",\"order\":false,\"spentTimeMills\":0}}"
                    );
                    Some(
                        RemotingCommand::response(ResponseCode::SUCCESS, None)
                            .with_body(body.into_bytes()),
                    )
                }
                other => error(
                    ResponseCode::REQUEST_CODE_NOT_SUPPORTED,
                    format!("request code {other} not supported by the client"),
                ),
            }
        })
    }
}

async fn check_transaction(
    client: &Client,
    addr: String,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let header = request
        .header::<CheckTransactionStateRequestHeader>()
        .ok()?;
    let message = Client::decode_messages(&request.body).ok()?.pop()?;
    let group = message
        .properties
        .value(property::PRODUCER_GROUP)?
        .to_owned();
    match client.check_handler(&group) {
        Some(handler) => {
            // Answer off the connection's read path: the listener may take a while.
            tokio::spawn(handler.check(addr, header, message));
        }
        None => {
            tracing::warn!(%group, "check-back for a producer group without a transaction listener")
        }
    }
    None
}
