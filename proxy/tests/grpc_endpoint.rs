//! The gRPC endpoint against a real FerroMQ name server and broker: route, telemetry settings,
//! send (normal, FIFO, delay, transaction), receive / ack / change invisible duration, message
//! type enforcement and bad input, through an in-process `mqproxy` (cluster mode).

mod support;

use std::time::Duration;

use ferromq_proxy::pb::{self, telemetry_command::Command, Code, MessageType};
use support::*;

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_settings_send_receive_ack() {
    let env = start(&[]).await;
    env.create_topic("GrpcNormal", "NORMAL").await;
    let mut client = env.client().await;
    let access = endpoints(env.grpc_addr);

    // QueryRoute: 4 read-write queues, reached through the proxy's own address.
    let route = client
        .query_route(request(
            pb::QueryRouteRequest {
                topic: resource("GrpcNormal"),
                endpoints: Some(access.clone()),
            },
            "p1",
        ))
        .await
        .expect("rpc")
        .into_inner();
    assert_eq!(code(&route.status), Code::Ok);
    assert_eq!(route.message_queues.len(), 4);
    for q in &route.message_queues {
        assert_eq!(q.permission, pb::Permission::ReadWrite as i32);
        assert_eq!(q.accept_message_types, vec![MessageType::Normal as i32]);
        let broker = q.broker.as_ref().expect("broker");
        assert_eq!(broker.endpoints.as_ref(), Some(&access));
    }
    // An unknown topic is TOPIC_NOT_FOUND.
    let missing = client
        .query_route(request(
            pb::QueryRouteRequest {
                topic: resource("GrpcNoSuchTopic"),
                endpoints: Some(access.clone()),
            },
            "p1",
        ))
        .await
        .expect("rpc")
        .into_inner();
    assert_eq!(code(&missing.status), Code::TopicNotFound);

    // Heartbeat before any settings: the client is unknown.
    let hb = client
        .heartbeat(request(pb::HeartbeatRequest::default(), "p1"))
        .await
        .expect("rpc")
        .into_inner();
    assert_eq!(code(&hb.status), Code::UnrecognizedClientType);

    // Telemetry: the server answers the producer's settings with its own.
    let (answer, _inbound, _keep) = telemetry(
        &mut client,
        "p1",
        producer_settings(&["GrpcNormal"], access.clone()),
    )
    .await;
    assert_eq!(code(&answer.status), Code::Ok);
    match answer.command {
        Some(Command::Settings(s)) => match s.pub_sub {
            Some(pb::settings::PubSub::Publishing(p)) => {
                assert!(p.validate_message_type);
                assert_eq!(p.max_body_size, 4 * 1024 * 1024);
            }
            other => panic!("publishing settings expected, got {other:?}"),
        },
        other => panic!("settings expected, got {other:?}"),
    }
    let hb = client
        .heartbeat(request(pb::HeartbeatRequest::default(), "p1"))
        .await
        .expect("rpc")
        .into_inner();
    assert_eq!(code(&hb.status), Code::Ok);

    // Send 10 normal messages.
    let mut sent = Vec::new();
    for i in 0..10 {
        let m = message("GrpcNormal", &format!("body-{i}"), MessageType::Normal);
        sent.push(id(&m));
        let r = client
            .send_message(request(pb::SendMessageRequest { messages: vec![m] }, "p1"))
            .await
            .expect("rpc")
            .into_inner();
        assert_eq!(code(&r.status), Code::Ok, "{r:?}");
        assert_eq!(r.entries.len(), 1);
        assert_eq!(r.entries[0].message_id, sent[i]);
    }

    // A consumer receives all 10, acks them; nothing comes back.
    let (answer, _cin, _ckeep) = telemetry(
        &mut client,
        "c1",
        consumer_settings("GrpcGroup", "GrpcNormal", access.clone()),
    )
    .await;
    assert_eq!(code(&answer.status), Code::Ok);
    let got = receive_n(&mut client, "c1", "GrpcGroup", "GrpcNormal", 10, WAIT).await;
    let mut ids: Vec<String> = got.iter().map(id).collect();
    ids.sort();
    let mut want = sent.clone();
    want.sort();
    assert_eq!(ids, want);
    for m in &got {
        let sys = m.system_properties.as_ref().expect("sys");
        assert_eq!(sys.tag.as_deref(), Some("TagA"));
        assert_eq!(sys.delivery_attempt, Some(1));
        assert!(String::from_utf8_lossy(&m.body).starts_with("body-"));
    }
    // Change the invisible time of the first one: a new handle that acks.
    let changed = client
        .change_invisible_duration(request(
            pb::ChangeInvisibleDurationRequest {
                group: resource("GrpcGroup"),
                topic: resource("GrpcNormal"),
                receipt_handle: handle(&got[0]),
                invisible_duration: Some(prost_types::Duration {
                    seconds: 20,
                    nanos: 0,
                }),
                message_id: id(&got[0]),
                lite_topic: None,
                suspend: None,
            },
            "c1",
        ))
        .await
        .expect("rpc")
        .into_inner();
    assert_eq!(code(&changed.status), Code::Ok, "{changed:?}");
    assert_ne!(changed.receipt_handle, handle(&got[0]));
    let mut entries: Vec<pb::AckMessageEntry> = got[1..]
        .iter()
        .map(|m| pb::AckMessageEntry {
            message_id: id(m),
            receipt_handle: handle(m),
            lite_topic: None,
        })
        .collect();
    entries.push(pb::AckMessageEntry {
        message_id: id(&got[0]),
        receipt_handle: changed.receipt_handle.clone(),
        lite_topic: None,
    });
    let acked = client
        .ack_message(request(
            pb::AckMessageRequest {
                group: resource("GrpcGroup"),
                topic: resource("GrpcNormal"),
                entries,
            },
            "c1",
        ))
        .await
        .expect("rpc")
        .into_inner();
    assert_eq!(code(&acked.status), Code::Ok, "{acked:?}");
    assert_eq!(acked.entries.len(), 10);
    let (c, again) = receive_once(
        &mut client,
        "c1",
        "GrpcGroup",
        "GrpcNormal",
        Duration::from_secs(30),
        Duration::from_secs(1),
    )
    .await;
    assert_eq!(c, Code::MessageNotFound);
    assert!(again.is_empty());

    let bye = client
        .notify_client_termination(request(pb::NotifyClientTerminationRequest::default(), "c1"))
        .await
        .expect("rpc")
        .into_inner();
    assert_eq!(code(&bye.status), Code::Ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifo_delay_and_message_type_enforcement() {
    let env = start(&[]).await;
    env.create_topic("GrpcFifo", "FIFO").await;
    env.create_topic("GrpcPlain", "NORMAL").await;
    env.create_topic("GrpcDelay", "DELAY").await;
    let mut client = env.client().await;

    // Messages of one group all land in one queue (consecutive offsets of a new topic).
    let mut offsets = Vec::new();
    for i in 0..5 {
        let mut m = message("GrpcFifo", &format!("fifo-{i}"), MessageType::Fifo);
        if let Some(sys) = m.system_properties.as_mut() {
            sys.message_group = Some("order-42".to_owned());
        }
        let r = client
            .send_message(request(pb::SendMessageRequest { messages: vec![m] }, "p2"))
            .await
            .expect("rpc")
            .into_inner();
        assert_eq!(code(&r.status), Code::Ok, "{r:?}");
        offsets.push(r.entries[0].offset);
    }
    assert!(offsets.windows(2).all(|w| w[1] == w[0] + 1), "{offsets:?}");

    // A FIFO message to a NORMAL topic, and a NORMAL one to the FIFO topic, are refused.
    for (topic, kind) in [
        ("GrpcPlain", MessageType::Fifo),
        ("GrpcFifo", MessageType::Normal),
    ] {
        let r = client
            .send_message(request(
                pb::SendMessageRequest {
                    messages: vec![message(topic, "x", kind)],
                },
                "p2",
            ))
            .await
            .expect("rpc")
            .into_inner();
        assert_eq!(
            code(&r.status),
            Code::MessagePropertyConflictWithType,
            "{topic}"
        );
    }

    // A delayed message is not delivered before its time, then it is.
    let at = ferromq_proxy::now_ms() + 3_000;
    let mut m = message("GrpcDelay", "later", MessageType::Delay);
    if let Some(sys) = m.system_properties.as_mut() {
        sys.delivery_timestamp = Some(ferromq_proxy::convert::ts_of(at));
    }
    let r = client
        .send_message(request(pb::SendMessageRequest { messages: vec![m] }, "p2"))
        .await
        .expect("rpc")
        .into_inner();
    assert_eq!(code(&r.status), Code::Ok, "{r:?}");
    let got = receive_n(&mut client, "c2", "GrpcDelayGroup", "GrpcDelay", 1, WAIT).await;
    assert_eq!(got.len(), 1);
    assert!(
        ferromq_proxy::now_ms() >= at,
        "delivered before its delivery time"
    );
    assert_eq!(got[0].body, b"later");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_commit_rollback_and_check_back() {
    let env = start(&["transactionCheckInterval=1000", "transactionTimeOut=1000"]).await;
    env.create_topic("GrpcTx", "TRANSACTION").await;
    let mut client = env.client().await;
    let access = endpoints(env.grpc_addr);
    let (answer, mut inbound, _keep) = telemetry(
        &mut client,
        "ptx",
        producer_settings(&["GrpcTx"], access.clone()),
    )
    .await;
    assert_eq!(code(&answer.status), Code::Ok);

    let send_half = |body: &'static str| message("GrpcTx", body, MessageType::Transaction);
    let mut ids = Vec::new();
    let mut txs = Vec::new();
    for body in ["commit-me", "roll-me-back", "ask-me"] {
        let m = send_half(body);
        ids.push(id(&m));
        let r = client
            .send_message(request(pb::SendMessageRequest { messages: vec![m] }, "ptx"))
            .await
            .expect("rpc")
            .into_inner();
        assert_eq!(code(&r.status), Code::Ok, "{r:?}");
        txs.push(r.entries[0].transaction_id.clone());
    }
    for (i, resolution) in [
        (0, pb::TransactionResolution::Commit),
        (1, pb::TransactionResolution::Rollback),
    ] {
        let r = client
            .end_transaction(request(
                pb::EndTransactionRequest {
                    topic: resource("GrpcTx"),
                    message_id: ids[i].clone(),
                    transaction_id: txs[i].clone(),
                    resolution: resolution as i32,
                    source: pb::TransactionSource::SourceClient as i32,
                    trace_context: String::new(),
                },
                "ptx",
            ))
            .await
            .expect("rpc")
            .into_inner();
        assert_eq!(code(&r.status), Code::Ok, "{r:?}");
    }
    // An unknown transaction id is INVALID_TRANSACTION_ID.
    let r = client
        .end_transaction(request(
            pb::EndTransactionRequest {
                topic: resource("GrpcTx"),
                message_id: "nope".to_owned(),
                transaction_id: "forged".to_owned(),
                resolution: pb::TransactionResolution::Commit as i32,
                source: pb::TransactionSource::SourceClient as i32,
                trace_context: String::new(),
            },
            "ptx",
        ))
        .await
        .expect("rpc")
        .into_inner();
    assert_eq!(code(&r.status), Code::InvalidTransactionId);

    // The third one is left open: the broker checks back through the proxy's remoting
    // connection, the proxy asks the producer on its Telemetry stream.
    let check = tokio::time::timeout(WAIT, async {
        loop {
            let c = inbound.message().await.expect("stream").expect("command");
            if let Some(Command::RecoverOrphanedTransactionCommand(r)) = c.command {
                return r;
            }
        }
    })
    .await
    .expect("a transaction check within 30 s");
    let checked = check.message.as_ref().expect("message");
    assert_eq!(id(checked), ids[2]);
    assert_eq!(checked.body, b"ask-me");
    let r = client
        .end_transaction(request(
            pb::EndTransactionRequest {
                topic: resource("GrpcTx"),
                message_id: ids[2].clone(),
                transaction_id: check.transaction_id.clone(),
                resolution: pb::TransactionResolution::Commit as i32,
                source: pb::TransactionSource::SourceServerCheck as i32,
                trace_context: String::new(),
            },
            "ptx",
        ))
        .await
        .expect("rpc")
        .into_inner();
    assert_eq!(code(&r.status), Code::Ok, "{r:?}");

    // Exactly the two committed messages are delivered.
    let got = receive_n(&mut client, "ctx", "GrpcTxGroup", "GrpcTx", 2, WAIT).await;
    let mut bodies: Vec<String> = got
        .iter()
        .map(|m| String::from_utf8_lossy(&m.body).into_owned())
        .collect();
    bodies.sort();
    assert_eq!(bodies, vec!["ask-me", "commit-me"]);
    let (c, more) = receive_once(
        &mut client,
        "ctx",
        "GrpcTxGroup",
        "GrpcTx",
        Duration::from_secs(30),
        Duration::from_secs(2),
    )
    .await;
    assert!(
        more.is_empty(),
        "rolled back message delivered: {more:?} ({c:?})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_config_reaches_settings_and_exhausted_messages_go_to_the_dlq() {
    let env = start(&[]).await;
    env.create_topic("GrpcRetry", "NORMAL").await;
    env.create_topic("%DLQ%GrpcDlqGroup", "NORMAL").await;
    env.create_group("GrpcOrderlyGroup", true, 16).await;
    env.create_group("GrpcDlqGroup", false, 1).await;
    let mut client = env.client().await;
    let access = endpoints(env.grpc_addr);

    let subscription_of = |answer: pb::TelemetryCommand| match answer.command {
        Some(Command::Settings(s)) => match s.pub_sub.clone() {
            Some(pb::settings::PubSub::Subscription(sub)) => (s, sub),
            other => panic!("subscription expected, got {other:?}"),
        },
        other => panic!("settings expected, got {other:?}"),
    };
    // An orderly group makes the consumer FIFO.
    let (answer, _o, _okeep) = telemetry(
        &mut client,
        "orderly",
        consumer_settings("GrpcOrderlyGroup", "GrpcRetry", access.clone()),
    )
    .await;
    let (settings, sub) = subscription_of(answer);
    assert_eq!(sub.fifo, Some(true));
    assert_eq!(settings.backoff_policy.expect("backoff").max_attempts, 17);

    // retryMaxTimes 1: two deliveries, then the DLQ.
    let (answer, _d, _dkeep) = telemetry(
        &mut client,
        "dlq",
        consumer_settings("GrpcDlqGroup", "GrpcRetry", access.clone()),
    )
    .await;
    let (settings, sub) = subscription_of(answer);
    assert_eq!(sub.fifo, Some(false));
    assert_eq!(settings.backoff_policy.expect("backoff").max_attempts, 2);

    let m = message("GrpcRetry", "poison", MessageType::Normal);
    let sent_id = id(&m);
    let r = client
        .send_message(request(pb::SendMessageRequest { messages: vec![m] }, "p"))
        .await
        .expect("rpc")
        .into_inner();
    assert_eq!(code(&r.status), Code::Ok);
    let mut attempts = Vec::new();
    let deadline = std::time::Instant::now() + WAIT;
    while attempts.len() < 2 && std::time::Instant::now() < deadline {
        let (_, got) = receive_once(
            &mut client,
            "dlq",
            "GrpcDlqGroup",
            "GrpcRetry",
            Duration::from_secs(1),
            Duration::from_secs(2),
        )
        .await;
        for m in got {
            assert_eq!(id(&m), sent_id);
            attempts.push(m.system_properties.and_then(|s| s.delivery_attempt));
        }
    }
    assert_eq!(attempts, vec![Some(1), Some(2)]);
    // The third pop finds it out of attempts and forwards it to %DLQ%GrpcDlqGroup: the group
    // sees nothing more (it is revived 1 s after the second delivery; polls cover 6 s).
    for _ in 0..3 {
        let (_, again) = receive_once(
            &mut client,
            "dlq",
            "GrpcDlqGroup",
            "GrpcRetry",
            Duration::from_secs(1),
            Duration::from_secs(2),
        )
        .await;
        assert!(again.is_empty(), "delivered a third time: {again:?}");
    }
    let dead = receive_n(
        &mut client,
        "dlq-reader",
        "GrpcDlqReader",
        "%DLQ%GrpcDlqGroup",
        1,
        WAIT,
    )
    .await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body, b"poison");
}
