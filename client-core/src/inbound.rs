//! Requests a broker sends to the client (docs/protocol.md, "Requests from the broker to the
//! client"), dispatched to the producer or consumer they concern.

use std::collections::BTreeMap;
use std::sync::Weak;

use ferromq_protocol::body::{GetConsumerStatusBody, ResetOffsetBody};
use ferromq_protocol::header::client::{
    GetConsumerRunningInfoRequestHeader, GetConsumerStatusRequestHeader,
    NotifyConsumerIdsChangedRequestHeader, ResetOffsetRequestHeader,
};
use ferromq_protocol::header::transaction::CheckTransactionStateRequestHeader;
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
                RequestCode::GET_CONSUMER_STATUS_FROM_CLIENT => {
                    let Ok(h) = request.header::<GetConsumerStatusRequestHeader>() else {
                        return error(ResponseCode::SYSTEM_ERROR, "bad header");
                    };
                    // Apache answers an empty table for a group this client does not run.
                    let status = GetConsumerStatusBody {
                        message_queue_table: client
                            .consumer(&h.group)
                            .map(|c| c.queue_offsets(&h.topic))
                            .unwrap_or_default(),
                        ..GetConsumerStatusBody::default()
                    };
                    Some(
                        RemotingCommand::response(ResponseCode::SUCCESS, None)
                            .with_body(status.encode()),
                    )
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
                    let mut info = c.running_info(h.jstack_enable.unwrap_or(false));
                    for (k, v) in client.running_properties() {
                        info.properties.entry(k).or_insert(v);
                    }
                    Some(
                        RemotingCommand::response(ResponseCode::SUCCESS, None)
                            .with_body(info.encode()),
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
                RequestCode::PUSH_REPLY_MESSAGE_TO_CLIENT => {
                    // As Apache's `receiveReplyMessage`: acknowledged once decoded, whether or
                    // not a request still waits for it (a stray reply is logged and dropped).
                    let broker = client.broker_name_of(&addr).unwrap_or_default();
                    match crate::request::decode_push(&request, &broker) {
                        Ok(reply) => {
                            crate::request::complete(reply);
                            Some(RemotingCommand::response(ResponseCode::SUCCESS, None))
                        }
                        Err(e) => {
                            tracing::warn!(broker = %addr, error = %e, "bad reply message push");
                            error(
                                ResponseCode::SYSTEM_ERROR,
                                format!("process reply message fail: {e}"),
                            )
                        }
                    }
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
            crate::rt::spawn(handler.check(addr, header, message));
        }
        None => {
            tracing::warn!(%group, "check-back for a producer group without a transaction listener")
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use ferromq_protocol::body::{ConsumerData, MessageQueue};
    use ferromq_protocol::header::client::GetConsumerRunningInfoRequestHeader;
    use ferromq_protocol::message::MessageExt;

    use super::*;
    use crate::client::{ClientConfig, ConsumerHandle};

    #[derive(Default)]
    struct Recorder {
        rebalances: Mutex<usize>,
        resets: Mutex<Vec<(MessageQueue, i64)>>,
        direct: Mutex<Vec<String>>,
    }

    struct Handle(Arc<Recorder>);

    impl ConsumerHandle for Handle {
        fn consumer_data(&self) -> ConsumerData {
            ConsumerData {
                subscription_data_set: vec![ferromq_protocol::body::SubscriptionData::tag(
                    "T", "A", 1,
                )],
                ..ConsumerData::default()
            }
        }
        fn trigger_rebalance(&self) {
            *self.0.rebalances.lock().expect("lock") += 1;
        }
        fn reset_offsets(&self, offsets: BTreeMap<MessageQueue, i64>) {
            self.0.resets.lock().expect("lock").extend(offsets);
        }
        fn queue_offsets(&self, topic: &str) -> BTreeMap<MessageQueue, i64> {
            self.0
                .resets
                .lock()
                .expect("lock")
                .iter()
                .filter(|(mq, _)| mq.topic == topic)
                .cloned()
                .collect()
        }
        fn running_info(&self, _jstack: bool) -> ferromq_protocol::body::ConsumerRunningInfo {
            let mut info = ferromq_protocol::body::ConsumerRunningInfo {
                subscription_set: self.consumer_data().subscription_data_set,
                ..Default::default()
            };
            info.properties.insert(
                "PROP_CONSUME_TYPE".to_owned(),
                "CONSUME_PASSIVELY".to_owned(),
            );
            info
        }
        fn consume_directly(
            &self,
            message: MessageExt,
            broker: String,
        ) -> BoxFuture<'static, Option<bool>> {
            self.0
                .direct
                .lock()
                .expect("lock")
                .push(format!("{}@{broker}", message.topic));
            Box::pin(async { Some(true) })
        }
    }

    fn request(code: RequestCode, fields: &[(&str, &str)]) -> RemotingCommand {
        let mut r = RemotingCommand::request(code);
        for (k, v) in fields {
            r.ext_fields.insert(*k, *v);
        }
        r
    }

    #[tokio::test]
    async fn broker_requests_reach_the_consumer() {
        let config = ClientConfig {
            namesrv_addr: "127.0.0.1:1".to_owned(),
            instance_name: "inbound-test".to_owned(),
            ..ClientConfig::default()
        };
        let client = Client::shared(&config).expect("client");
        let recorder = Arc::new(Recorder::default());
        client
            .register_consumer("g", Arc::new(Handle(recorder.clone())))
            .expect("register");
        let dispatcher = Dispatcher {
            client: Arc::downgrade(&client.inner),
        };
        let addr = "127.0.0.1:10911".to_owned();

        let notify = request(
            RequestCode::NOTIFY_CONSUMER_IDS_CHANGED,
            &[("consumerGroup", "g")],
        );
        assert!(dispatcher.handle(addr.clone(), notify).await.is_none());
        assert_eq!(*recorder.rebalances.lock().expect("lock"), 1);

        let mq = MessageQueue::new("T", "b", 1);
        let body = ResetOffsetBody {
            offset_table: BTreeMap::from([
                (mq.clone(), 42),
                (MessageQueue::new("Other", "b", 0), 7),
            ]),
        };
        let reset = request(
            RequestCode::RESET_CONSUMER_CLIENT_OFFSET,
            &[
                ("topic", "T"),
                ("group", "g"),
                ("timestamp", "0"),
                ("isForce", "true"),
            ],
        )
        .with_body(body.encode());
        let answer = dispatcher
            .handle(addr.clone(), reset)
            .await
            .expect("answer");
        assert_eq!(answer.response_code(), ResponseCode::SUCCESS);
        assert_eq!(
            *recorder.resets.lock().expect("lock"),
            vec![(mq.clone(), 42)]
        );

        // The broker asks for the offsets of a topic's queues (mqadmin consumerStatus).
        let status = request(
            RequestCode::GET_CONSUMER_STATUS_FROM_CLIENT,
            &[("topic", "T"), ("group", "g")],
        );
        let answer = dispatcher
            .handle(addr.clone(), status)
            .await
            .expect("answer");
        assert_eq!(answer.response_code(), ResponseCode::SUCCESS);
        let body = GetConsumerStatusBody::decode(&answer.body).expect("status body");
        assert_eq!(body.message_queue_table, BTreeMap::from([(mq, 42)]));

        let header = GetConsumerRunningInfoRequestHeader {
            consumer_group: "g".to_owned(),
            client_id: client.id().to_owned(),
            jstack_enable: None,
            broker_name: None,
        };
        let info =
            RemotingCommand::request_with_header(RequestCode::GET_CONSUMER_RUNNING_INFO, &header);
        let answer = dispatcher.handle(addr.clone(), info).await.expect("answer");
        assert_eq!(answer.response_code(), ResponseCode::SUCCESS);
        let text = String::from_utf8_lossy(&answer.body).into_owned();
        assert!(
            text.contains("\"PROP_CONSUME_TYPE\":\"CONSUME_PASSIVELY\""),
            "{text}"
        );
        assert!(text.contains("\"subscriptionSet\":[{"), "{text}");
        assert!(
            text.contains("\"PROP_NAMESERVER_ADDR\":\"127.0.0.1:1\""),
            "{text}"
        );

        let message = MessageExt {
            topic: "T".to_owned(),
            body: bytes::Bytes::from_static(b"x"),
            ..MessageExt::default()
        };
        let direct = request(
            RequestCode::CONSUME_MESSAGE_DIRECTLY,
            &[
                ("consumerGroup", "g"),
                ("clientId", client.id()),
                ("msgId", "m"),
                ("brokerName", "b"),
            ],
        )
        .with_body(message.encode_to_bytes().expect("encode"));
        let answer = dispatcher
            .handle(addr.clone(), direct)
            .await
            .expect("answer");
        assert!(String::from_utf8_lossy(&answer.body).contains("CR_SUCCESS"));
        assert_eq!(
            *recorder.direct.lock().expect("lock"),
            vec!["T@b".to_owned()]
        );

        let unknown = request(RequestCode::PULL_MESSAGE, &[]);
        let answer = dispatcher.handle(addr, unknown).await.expect("answer");
        assert_eq!(
            answer.response_code(),
            ResponseCode::REQUEST_CODE_NOT_SUPPORTED
        );
        client.unregister(None, Some("g")).await;
    }
}
