//! Bad input gets Apache's codes and leaves other streams alone; the broker's own
//! `grpcServerPort` (local mode) serves the same service.

mod support;

use std::time::Duration;

use ferromq_client::testing::LocalCluster;
use ferromq_proxy::pb::{self, Code, MessageType};
use support::*;

async fn send_status(client: &mut Client, messages: Vec<pb::Message>) -> Code {
    let r = client
        .send_message(request(pb::SendMessageRequest { messages }, "bad"))
        .await
        .expect("rpc")
        .into_inner();
    code(&r.status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_apache_codes_and_other_streams_go_on() {
    let env = start(&[]).await;
    env.create_topic("GrpcBad", "NORMAL").await;
    let mut client = env.client().await;

    // A long poll running on another stream of the same connection while the bad requests go.
    let mut poller = client.clone();
    let long_poll = tokio::spawn(async move {
        receive_once(
            &mut poller,
            "bad-c",
            "GrpcBadGroup",
            "GrpcBad",
            Duration::from_secs(30),
            Duration::from_secs(5),
        )
        .await
    });

    // Messages.
    assert_eq!(
        send_status(&mut client, vec![]).await,
        Code::MessageCorrupted
    );
    let mut m = message("GrpcBad", "x", MessageType::Normal);
    m.body.clear();
    assert_eq!(
        send_status(&mut client, vec![m]).await,
        Code::MessageBodyEmpty
    );
    let mut m = message("GrpcBad", "x", MessageType::Normal);
    m.body = vec![b'x'; 4 * 1024 * 1024 + 1];
    assert_eq!(
        send_status(&mut client, vec![m]).await,
        Code::MessageBodyTooLarge
    );
    let mut m = message("GrpcBad", "x", MessageType::Normal);
    m.system_properties
        .as_mut()
        .expect("sys")
        .message_id
        .clear();
    assert_eq!(
        send_status(&mut client, vec![m]).await,
        Code::IllegalMessageId
    );
    let mut m = message("GrpcBad", "x", MessageType::Normal);
    m.user_properties
        .insert("UNIQ_KEY".to_owned(), "mine".to_owned());
    assert_eq!(
        send_status(&mut client, vec![m]).await,
        Code::IllegalMessagePropertyKey
    );
    let mut m = message("GrpcBad", "x", MessageType::Normal);
    m.system_properties.as_mut().expect("sys").tag = Some("a|b".to_owned());
    assert_eq!(
        send_status(&mut client, vec![m]).await,
        Code::IllegalMessageTag
    );
    let m = message("bad topic!", "x", MessageType::Normal);
    assert_eq!(send_status(&mut client, vec![m]).await, Code::IllegalTopic);
    let mut m = message("GrpcBad", "x", MessageType::Normal);
    m.system_properties.as_mut().expect("sys").message_type = 99;
    assert_eq!(send_status(&mut client, vec![m]).await, Code::BadRequest);
    let mixed = vec![
        message("GrpcBad", "x", MessageType::Normal),
        message("GrpcOther", "y", MessageType::Normal),
    ];
    assert_eq!(
        send_status(&mut client, mixed).await,
        Code::MessageCorrupted
    );

    // A gRPC message beyond the server's 16 MiB limit fails that call only.
    let mut m = message("GrpcBad", "x", MessageType::Normal);
    m.body = vec![b'x'; 17 * 1024 * 1024];
    let err = client
        .send_message(request(pb::SendMessageRequest { messages: vec![m] }, "bad"))
        .await
        .expect_err("an oversized gRPC message is refused");
    assert!(
        matches!(
            err.code(),
            tonic::Code::OutOfRange | tonic::Code::ResourceExhausted
        ),
        "{err:?}"
    );

    // Receipt handles: forged, expired; and an unknown transaction resolution.
    let ack = |handle: &str| pb::AckMessageRequest {
        group: resource("GrpcBadGroup"),
        topic: resource("GrpcBad"),
        entries: vec![pb::AckMessageEntry {
            message_id: "m".to_owned(),
            receipt_handle: handle.to_owned(),
            lite_topic: None,
        }],
    };
    for forged in ["nonsense", "1 2 3 4 0 broker-a x 7", ""] {
        let r = client
            .ack_message(request(ack(forged), "bad"))
            .await
            .expect("rpc")
            .into_inner();
        assert_eq!(code(&r.status), Code::InvalidReceiptHandle, "{forged:?}");
        assert_eq!(code(&r.entries[0].status), Code::InvalidReceiptHandle);
    }
    let expired = "0 1000 30000 0 0 broker-a 0 0 0";
    let r = client
        .ack_message(request(ack(expired), "bad"))
        .await
        .expect("rpc")
        .into_inner();
    assert_eq!(code(&r.status), Code::InvalidReceiptHandle);
    assert!(r.status.expect("status").message.contains("expired"));
    let r = client
        .change_invisible_duration(request(
            pb::ChangeInvisibleDurationRequest {
                group: resource("GrpcBadGroup"),
                topic: resource("GrpcBad"),
                receipt_handle: "garbage".to_owned(),
                invisible_duration: Some(prost_types::Duration {
                    seconds: 20,
                    nanos: 0,
                }),
                message_id: "m".to_owned(),
                lite_topic: None,
                suspend: None,
            },
            "bad",
        ))
        .await
        .expect("rpc")
        .into_inner();
    assert_eq!(code(&r.status), Code::InvalidReceiptHandle);
    let r = client
        .end_transaction(request(
            pb::EndTransactionRequest {
                topic: resource("GrpcBad"),
                message_id: "m".to_owned(),
                transaction_id: "t".to_owned(),
                resolution: 42,
                source: 0,
                trace_context: String::new(),
            },
            "bad",
        ))
        .await
        .expect("rpc")
        .into_inner();
    assert_eq!(code(&r.status), Code::BadRequest);

    // Receive: an invisible duration below the minimum, and a bad group name.
    let (c, _) = receive_once(
        &mut client,
        "bad",
        "GrpcBadGroup",
        "GrpcBad",
        Duration::from_secs(0),
        Duration::from_secs(1),
    )
    .await;
    assert_eq!(c, Code::IllegalInvisibleTime);
    let (c, _) = receive_once(
        &mut client,
        "bad",
        "bad group",
        "GrpcBad",
        Duration::from_secs(30),
        Duration::from_secs(1),
    )
    .await;
    assert_eq!(c, Code::IllegalConsumerGroup);

    // A message sent now reaches the long poll that was parked through all of the above.
    assert_eq!(
        send_status(
            &mut client,
            vec![message("GrpcBad", "good", MessageType::Normal)]
        )
        .await,
        Code::Ok
    );
    let (c, got) = long_poll.await.expect("join");
    assert_eq!(c, Code::Ok);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body, b"good");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_serves_grpc_in_local_mode() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let cluster = tokio::task::spawn_blocking(move || {
        LocalCluster::builder()
            .brokers(1)
            .broker_config(format!("grpcServerPort={port}"))
            .start()
    })
    .await
    .expect("join")
    .expect("cluster");
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut client = loop {
        if let Ok(channel) = tonic::transport::Channel::from_shared(format!("http://{addr}"))
            .expect("uri")
            .connect()
            .await
        {
            break pb::messaging_service_client::MessagingServiceClient::new(channel);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "grpcServerPort never listened"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // Local mode: each queue's broker endpoint is that broker's host with the gRPC port.
    let route = loop {
        let r = client
            .query_route(request(
                pb::QueryRouteRequest {
                    topic: resource("TBW102"),
                    endpoints: Some(endpoints(addr)),
                },
                "local",
            ))
            .await
            .expect("rpc")
            .into_inner();
        if code(&r.status) == Code::Ok {
            break r;
        }
        assert!(std::time::Instant::now() < deadline, "no route: {r:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let broker_host = cluster.broker(0).addr();
    let broker_host = broker_host.rsplit_once(':').expect("host:port").0;
    assert!(!route.message_queues.is_empty());
    for q in &route.message_queues {
        let e = q
            .broker
            .as_ref()
            .and_then(|b| b.endpoints.as_ref())
            .expect("endpoints");
        assert_eq!(e.addresses.len(), 1);
        assert_eq!(e.addresses[0].host, broker_host);
        assert_eq!(e.addresses[0].port, i32::from(port));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_update_get_and_query() {
    let env = start(&[]).await;
    env.create_topic("GrpcOffsets", "NORMAL").await;
    let mut client = env.client().await;
    for i in 0..8 {
        let m = message("GrpcOffsets", &format!("o{i}"), MessageType::Normal);
        assert_eq!(send_status(&mut client, vec![m]).await, Code::Ok);
    }
    let route = client
        .query_route(request(
            pb::QueryRouteRequest {
                topic: resource("GrpcOffsets"),
                endpoints: Some(endpoints(env.grpc_addr)),
            },
            "off",
        ))
        .await
        .expect("rpc")
        .into_inner();
    // The consume queues are written just after the sends are answered: poll for all 8.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let mut total = 0;
        for q in &route.message_queues {
            let query = |policy: pb::QueryOffsetPolicy| pb::QueryOffsetRequest {
                message_queue: Some(q.clone()),
                query_offset_policy: policy as i32,
                timestamp: None,
            };
            let end = client
                .query_offset(request(query(pb::QueryOffsetPolicy::End), "off"))
                .await
                .expect("rpc")
                .into_inner();
            assert_eq!(code(&end.status), Code::Ok, "{end:?}");
            let begin = client
                .query_offset(request(query(pb::QueryOffsetPolicy::Beginning), "off"))
                .await
                .expect("rpc")
                .into_inner();
            assert_eq!(begin.offset, 0);
            total += end.offset;
        }
        if total == 8 {
            break;
        }
        assert!(
            total < 8 && std::time::Instant::now() < deadline,
            "max offsets sum to {total}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let q = route.message_queues[0].clone();
    let updated = client
        .update_offset(request(
            pb::UpdateOffsetRequest {
                group: resource("GrpcOffsetGroup"),
                message_queue: Some(q.clone()),
                offset: 1,
            },
            "off",
        ))
        .await
        .expect("rpc")
        .into_inner();
    assert_eq!(code(&updated.status), Code::Ok, "{updated:?}");
    let got = client
        .get_offset(request(
            pb::GetOffsetRequest {
                group: resource("GrpcOffsetGroup"),
                message_queue: Some(q.clone()),
            },
            "off",
        ))
        .await
        .expect("rpc")
        .into_inner();
    assert_eq!((code(&got.status), got.offset), (Code::Ok, 1));
    let bad = client
        .query_offset(request(
            pb::QueryOffsetRequest {
                message_queue: Some(q),
                query_offset_policy: 7,
                timestamp: None,
            },
            "off",
        ))
        .await
        .expect("rpc")
        .into_inner();
    assert_eq!(code(&bad.status), Code::BadRequest);
}
