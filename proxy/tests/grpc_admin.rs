//! Operator commands relayed to gRPC clients, and `auto_renew` receives, against a real FerroMQ
//! name server and broker with an in-process `mqproxy`:
//! - a gRPC consumer is listed by the broker under its own client id; GET_CONSUMER_RUNNING_INFO
//!   with jstack and CONSUME_MESSAGE_DIRECTLY reach it as Telemetry commands with nonces, and its
//!   answers come back to the operator; a client that never answers gets the operator an error;
//! - a message received with `auto_renew` and a short invisible time is not redelivered while
//!   held, acks fine later, and comes back once its client terminates.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferromq_client::transport::{InboundHandler, Transport};
use ferromq_client::{Admin, Message, Producer, ProducerOptions, TcpTransport};
use ferromq_protocol::header::client::ConsumeMessageDirectlyResultRequestHeader;
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use ferromq_proxy::pb::{self, telemetry_command::Command, Code, MessageType};
use futures::future::BoxFuture;
use support::*;
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(30);

fn push_settings(group: &str, topic: &str, access: pb::Endpoints) -> pb::Settings {
    let mut s = consumer_settings(group, topic, access);
    s.client_type = Some(pb::ClientType::PushConsumer as i32);
    s.user_agent = Some(pb::Ua {
        language: pb::Language::Java as i32,
        version: "5.0.8".to_owned(),
        platform: "test".to_owned(),
        hostname: "test-host".to_owned(),
    });
    s
}

/// Polls `check` until it holds or `WAIT` passes.
async fn until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + WAIT;
    while !check().await {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen in {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[derive(Debug)]
struct NoInbound;

impl InboundHandler for NoInbound {
    fn handle(&self, _: String, _: RemotingCommand) -> BoxFuture<'static, Option<RemotingCommand>> {
        Box::pin(async { None })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_info_and_consume_directly_reach_grpc_clients() {
    let env = start(&[]).await;
    let (topic, group) = ("GrpcAdminTopic", "GrpcAdminGroup");
    env.create_topic(topic, "NORMAL").await;
    env.create_group(group, false, 16).await;
    let broker = env.cluster.broker(0).addr();
    let admin = Admin::new(&env.cluster.client_config("grpc-admin-test")).expect("admin");
    let mut client = env.client().await;
    let access = endpoints(env.grpc_addr);

    // A push consumer that answers the proxy's commands, and one that never answers.
    let (answer, mut commands, answers) = telemetry(
        &mut client,
        "grpc-admin-c1",
        push_settings(group, topic, access.clone()),
    )
    .await;
    assert_eq!(code(&answer.status), Code::Ok);
    let (answer, _mute_in, _mute_keep) = telemetry(
        &mut client,
        "grpc-admin-mute",
        push_settings(group, topic, access.clone()),
    )
    .await;
    assert_eq!(code(&answer.status), Code::Ok);
    let (verified_tx, mut verified) = mpsc::channel::<pb::Message>(4);
    let responder = tokio::spawn(async move {
        while let Ok(Some(c)) = commands.message().await {
            let reply = match c.command {
                Some(Command::PrintThreadStackTraceCommand(p)) => {
                    // First an answer with a nonce nobody sent: ignored by the proxy.
                    let stray = pb::TelemetryCommand {
                        status: Some(pb::Status {
                            code: Code::Ok as i32,
                            message: String::new(),
                        }),
                        command: Some(Command::ThreadStackTrace(pb::ThreadStackTrace {
                            nonce: format!("{}-stray", p.nonce),
                            thread_stack_trace: Some("stray".to_owned()),
                        })),
                    };
                    if answers.send(stray).await.is_err() {
                        return;
                    }
                    Command::ThreadStackTrace(pb::ThreadStackTrace {
                        nonce: p.nonce,
                        thread_stack_trace: Some(
                            "\"main\" RUNNABLE at Listener.consume".to_owned(),
                        ),
                    })
                }
                Some(Command::VerifyMessageCommand(v)) => {
                    if let Some(m) = v.message {
                        let _ = verified_tx.send(m).await;
                    }
                    Command::VerifyMessageResult(pb::VerifyMessageResult { nonce: v.nonce })
                }
                _ => continue,
            };
            let reply = pb::TelemetryCommand {
                status: Some(pb::Status {
                    code: Code::Ok as i32,
                    message: String::new(),
                }),
                command: Some(reply),
            };
            if answers.send(reply).await.is_err() {
                return;
            }
        }
    });

    // The broker lists both under their own ids (the proxy heartbeats them).
    until("both gRPC consumers listed by the broker", || async {
        admin
            .consumer_connection_at(&broker, group)
            .await
            .map(|cc| {
                let ids: Vec<&str> = cc
                    .connection_set
                    .iter()
                    .map(|c| c.client_id.as_str())
                    .collect();
                ids.contains(&"grpc-admin-c1") && ids.contains(&"grpc-admin-mute")
            })
            .unwrap_or(false)
    })
    .await;

    // consumerStatus -s: the client's thread dump, with the settings the proxy knows.
    let info = admin
        .consumer_running_info_at(&broker, group, "grpc-admin-c1", true)
        .await
        .expect("running info of c1");
    assert_eq!(
        info["jstack"].as_str(),
        Some("\"main\" RUNNABLE at Listener.consume"),
        "{info}"
    );
    assert_eq!(
        info["properties"]["PROP_CONSUME_TYPE"].as_str(),
        Some("CONSUME_PASSIVELY")
    );
    assert!(info["properties"]["PROP_CONSUMER_START_TIMESTAMP"]
        .as_str()
        .is_some_and(|t| t.parse::<i64>().is_ok()));
    assert_eq!(
        info["subscriptionSet"][0]["topic"].as_str(),
        Some(topic),
        "{info}"
    );

    // Without jstack the proxy answers alone; with it, the mute client costs a clear error.
    let info = admin
        .consumer_running_info_at(&broker, group, "grpc-admin-mute", false)
        .await
        .expect("running info of the mute client");
    assert!(info.get("jstack").is_none_or(|j| j.is_null()), "{info}");
    let err = admin
        .consumer_running_info_at(&broker, group, "grpc-admin-mute", true)
        .await
        .expect_err("the mute client never answers");
    let text = err.to_string();
    assert!(text.contains("did not answer"), "{text}");

    // CONSUME_MESSAGE_DIRECTLY: the client verifies the message and says it consumed it.
    let producer = Producer::start(ProducerOptions {
        client: env.cluster.client_config("grpc-admin-producer"),
        group: "grpc_admin_pg".to_owned(),
        ..ProducerOptions::default()
    })
    .await
    .expect("producer");
    let sent = producer
        .send(Message::new(topic, "verify me"))
        .await
        .expect("send");
    let transport = TcpTransport::new(Arc::new(NoInbound));
    let direct = |client_id: &str| {
        let header = ConsumeMessageDirectlyResultRequestHeader {
            consumer_group: group.to_owned(),
            client_id: Some(client_id.to_owned()),
            msg_id: Some(sent.offset_msg_id.clone()),
            topic: Some(topic.to_owned()),
            ..Default::default()
        };
        RemotingCommand::request_with_header(RequestCode::CONSUME_MESSAGE_DIRECTLY, &header)
    };
    let r = transport
        .request(&broker, direct("grpc-admin-c1"), Duration::from_secs(15))
        .await
        .expect("consume directly");
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    let body: serde_json::Value = serde_json::from_slice(&r.body).expect("json body");
    assert_eq!(body["consumeResult"].as_str(), Some("CR_SUCCESS"), "{body}");
    let m = verified.recv().await.expect("the client saw the message");
    assert_eq!(m.body, b"verify me");
    let r = transport
        .request(&broker, direct("grpc-admin-mute"), Duration::from_secs(15))
        .await
        .expect("consume directly (mute)");
    assert_eq!(
        r.response_code(),
        ResponseCode::SYSTEM_BUSY,
        "{:?}",
        r.remark
    );
    assert!(r
        .remark
        .as_deref()
        .unwrap_or_default()
        .contains("did not answer"));

    // The client terminates: the broker no longer lists it.
    let done = client
        .notify_client_termination(request(
            pb::NotifyClientTerminationRequest {
                group: resource(group),
            },
            "grpc-admin-c1",
        ))
        .await
        .expect("rpc")
        .into_inner();
    assert_eq!(code(&done.status), Code::Ok);
    until("the terminated client leaves the broker's list", || async {
        admin
            .consumer_connection_at(&broker, group)
            .await
            .map(|cc| {
                cc.connection_set
                    .iter()
                    .all(|c| c.client_id != "grpc-admin-c1")
            })
            .unwrap_or(true)
    })
    .await;
    responder.abort();
    transport.close();
}

fn auto_renew_request(group: &str, topic: &str) -> pb::ReceiveMessageRequest {
    pb::ReceiveMessageRequest {
        group: resource(group),
        message_queue: Some(pb::MessageQueue {
            topic: resource(topic),
            id: -1,
            ..Default::default()
        }),
        filter_expression: None,
        batch_size: 1,
        invisible_duration: None,
        auto_renew: true,
        long_polling_timeout: Some(prost_types::Duration {
            seconds: 2,
            nanos: 0,
        }),
        attempt_id: None,
    }
}

async fn receive_auto_renew(
    client: &mut Client,
    client_id: &str,
    group: &str,
    topic: &str,
) -> pb::Message {
    let deadline = Instant::now() + WAIT;
    loop {
        let mut stream = client
            .receive_message(request(auto_renew_request(group, topic), client_id))
            .await
            .expect("receive rpc")
            .into_inner();
        while let Some(item) = stream.message().await.expect("receive stream") {
            if let Some(pb::receive_message_response::Content::Message(m)) = item.content {
                return m;
            }
        }
        assert!(
            Instant::now() < deadline,
            "nothing received with auto_renew"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_renew_holds_messages_until_ack_or_termination() {
    // Popped for 3 s, renewed when 1.5 s are left, looked at every 300 ms.
    let env = start_with(&[], |c| {
        c.default_invisible_time_mills = 3_000;
        c.renew_ahead_time_millis = 1_500;
        c.renew_schedule_period_millis = 300;
    })
    .await;
    let (topic, group) = ("GrpcRenewTopic", "GrpcRenewGroup");
    env.create_topic(topic, "NORMAL").await;
    env.create_group(group, false, 16).await;
    let mut client = env.client().await;
    let access = endpoints(env.grpc_addr);
    let (_, _slow_in, _slow_keep) = telemetry(
        &mut client,
        "renew-slow",
        push_settings(group, topic, access.clone()),
    )
    .await;
    let (_, _other_in, _other_keep) = telemetry(
        &mut client,
        "renew-other",
        consumer_settings(group, topic, access.clone()),
    )
    .await;

    let sender = client.clone();
    let send = move |body: &'static str| {
        let mut client = sender.clone();
        async move {
            let r = client
                .send_message(request(
                    pb::SendMessageRequest {
                        messages: vec![message(topic, body, MessageType::Normal)],
                    },
                    "renew-producer",
                ))
                .await
                .expect("rpc")
                .into_inner();
            assert_eq!(code(&r.status), Code::Ok, "{r:?}");
        }
    };

    // The slow consumer holds a message for more than three invisible times: nobody else
    // gets it meanwhile, and its ack with the handle it got works.
    send("held").await;
    let held = receive_auto_renew(&mut client, "renew-slow", group, topic).await;
    assert_eq!(held.body, b"held");
    let until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < until {
        let (_, got) = receive_once(
            &mut client,
            "renew-other",
            group,
            topic,
            Duration::from_secs(30),
            Duration::from_secs(1),
        )
        .await;
        assert!(got.is_empty(), "redelivered while held: {got:?}");
    }
    let ack = client
        .ack_message(request(
            pb::AckMessageRequest {
                group: resource(group),
                topic: resource(topic),
                entries: vec![pb::AckMessageEntry {
                    message_id: id(&held),
                    receipt_handle: handle(&held),
                    lite_topic: None,
                }],
            },
            "renew-slow",
        ))
        .await
        .expect("rpc")
        .into_inner();
    assert_eq!(code(&ack.status), Code::Ok, "{ack:?}");
    let (_, got) = receive_once(
        &mut client,
        "renew-other",
        group,
        topic,
        Duration::from_secs(30),
        Duration::from_secs(4),
    )
    .await;
    assert!(got.is_empty(), "an acked message came back: {got:?}");

    // Another held message comes back once its client terminates.
    send("released").await;
    let released = receive_auto_renew(&mut client, "renew-slow", group, topic).await;
    assert_eq!(released.body, b"released");
    let done = client
        .notify_client_termination(request(
            pb::NotifyClientTerminationRequest {
                group: resource(group),
            },
            "renew-slow",
        ))
        .await
        .expect("rpc")
        .into_inner();
    assert_eq!(code(&done.status), Code::Ok);
    let back = receive_n(&mut client, "renew-other", group, topic, 1, WAIT).await;
    assert_eq!(back.len(), 1, "the released message did not come back");
    assert_eq!(back[0].body, b"released");
    assert_eq!(id(&back[0]), id(&released));
}
