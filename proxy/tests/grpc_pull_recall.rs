//! PullMessage and RecallMessage through the proxy against a real name server and broker.

mod support;

use std::time::{Duration, Instant};

use ferromq_proxy::pb::{self, pull_message_response::Content, Code, MessageType};
use support::*;

/// What one PullMessage answered: the status, the messages, the next offset.
#[derive(Debug)]
struct Pulled {
    code: Code,
    message: String,
    messages: Vec<pb::Message>,
    next: Option<i64>,
}

fn pull_request(
    queue: &pb::MessageQueue,
    offset: i64,
    filter: &str,
    poll: Option<Duration>,
) -> pb::PullMessageRequest {
    pb::PullMessageRequest {
        group: resource("GrpcPullGroup"),
        message_queue: Some(queue.clone()),
        offset,
        batch_size: 32,
        filter_expression: Some(pb::FilterExpression {
            r#type: pb::FilterType::Tag as i32,
            expression: filter.to_owned(),
        }),
        long_polling_timeout: poll.map(|d| prost_types::Duration {
            seconds: d.as_secs() as i64,
            nanos: 0,
        }),
    }
}

async fn pull(client: &mut Client, r: pb::PullMessageRequest) -> Pulled {
    let mut stream = client
        .pull_message(request(r, "puller"))
        .await
        .expect("pull rpc")
        .into_inner();
    let mut out = Pulled {
        code: Code::Unspecified,
        message: String::new(),
        messages: Vec::new(),
        next: None,
    };
    let mut order = Vec::new();
    while let Some(item) = stream.message().await.expect("pull stream") {
        match item.content {
            Some(Content::Status(s)) => {
                order.push('s');
                out.code = Code::try_from(s.code).unwrap_or(Code::Unspecified);
                out.message = s.message;
            }
            Some(Content::Message(m)) => {
                order.push('m');
                out.messages.push(m);
            }
            Some(Content::NextOffset(n)) => {
                order.push('n');
                out.next = Some(n);
            }
            None => {}
        }
    }
    // Status first; the next offset, when sent, last.
    assert_eq!(order.first(), Some(&'s'), "{order:?}");
    if out.next.is_some() {
        assert_eq!(order.last(), Some(&'n'), "{order:?}");
    }
    out
}

async fn send(client: &mut Client, m: pb::Message) -> pb::SendResultEntry {
    let r = client
        .send_message(request(pb::SendMessageRequest { messages: vec![m] }, "p"))
        .await
        .expect("rpc")
        .into_inner();
    assert_eq!(code(&r.status), Code::Ok, "{r:?}");
    r.entries.into_iter().next().expect("one entry")
}

fn tagged(topic: &str, body: &str, tag: &str) -> pb::Message {
    let mut m = message(topic, body, MessageType::Normal);
    if let Some(sys) = m.system_properties.as_mut() {
        sys.tag = Some(tag.to_owned());
    }
    m
}

fn tag(m: &pb::Message) -> String {
    m.system_properties
        .as_ref()
        .and_then(|s| s.tag.clone())
        .unwrap_or_default()
}

/// The topic's queues and the end offset of each, once the consume queues hold `total`.
async fn queues_holding(
    client: &mut Client,
    env: &Env,
    topic: &str,
    total: i64,
) -> Vec<(pb::MessageQueue, i64)> {
    let route = client
        .query_route(request(
            pb::QueryRouteRequest {
                topic: resource(topic),
                endpoints: Some(endpoints(env.grpc_addr)),
            },
            "p",
        ))
        .await
        .expect("rpc")
        .into_inner();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut out = Vec::new();
        for q in &route.message_queues {
            let r = client
                .query_offset(request(
                    pb::QueryOffsetRequest {
                        message_queue: Some(q.clone()),
                        query_offset_policy: pb::QueryOffsetPolicy::End as i32,
                        timestamp: None,
                    },
                    "p",
                ))
                .await
                .expect("rpc")
                .into_inner();
            out.push((q.clone(), r.offset));
        }
        if out.iter().map(|(_, n)| n).sum::<i64>() == total {
            return out;
        }
        assert!(Instant::now() < deadline, "dispatch never reached {total}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_from_offsets_with_filters_and_long_polling() {
    let env = start(&[]).await;
    env.create_topic("GrpcPull", "NORMAL").await;
    let mut client = env.client().await;
    for i in 0..12 {
        let t = if i % 3 == 0 { "TagB" } else { "TagA" };
        send(&mut client, tagged("GrpcPull", &format!("m{i}"), t)).await;
    }
    let queues = queues_holding(&mut client, &env, "GrpcPull", 12).await;

    let mut all = Vec::new();
    let mut only_b = 0;
    for (q, end) in &queues {
        let got = pull(&mut client, pull_request(q, 0, "*", None)).await;
        if *end == 0 {
            assert_eq!(got.code, Code::MessageNotFound, "{got:?}");
        } else {
            assert_eq!(got.code, Code::Ok, "{got:?}");
        }
        assert_eq!(got.messages.len() as i64, *end);
        assert_eq!(got.next, Some(*end), "next offset is the queue's end");
        // From the middle: the rest of the queue.
        if *end >= 2 {
            let tail = pull(&mut client, pull_request(q, 1, "*", None)).await;
            assert_eq!(tail.messages.len() as i64, end - 1);
            assert_eq!(id(&tail.messages[0]), id(&got.messages[1]));
        }
        let b = pull(&mut client, pull_request(q, 0, "TagB", None)).await;
        assert!(b.messages.iter().all(|m| tag(m) == "TagB"), "{b:?}");
        assert_eq!(b.next, Some(*end));
        only_b += b.messages.len();
        all.extend(got.messages);
    }
    assert_eq!(all.len(), 12);
    assert_eq!(only_b, 4);
    let mut bodies: Vec<String> = all
        .iter()
        .map(|m| String::from_utf8(m.body.clone()).expect("utf-8 body"))
        .collect();
    bodies.sort();
    let mut want: Vec<String> = (0..12).map(|i| format!("m{i}")).collect();
    want.sort();
    assert_eq!(bodies, want);

    // At the end: nothing new, the same offset again.
    let (q, end) = queues
        .iter()
        .find(|(_, e)| *e > 0)
        .cloned()
        .expect("a queue holds messages");
    let at_end = pull(&mut client, pull_request(&q, end, "*", None)).await;
    assert_eq!(at_end.code, Code::MessageNotFound);
    assert_eq!(at_end.next, Some(end));
    // Far past the end: out of range, with where to pull from.
    let past = pull(&mut client, pull_request(&q, end + 1000, "*", None)).await;
    assert_eq!(past.code, Code::IllegalOffset, "{past:?}");
    assert_eq!(past.next, Some(end));

    // Long polling: pulls held at the end of every queue; one new message wakes its queue.
    let mut waiters = Vec::new();
    for (q, end) in queues.clone() {
        let mut c = client.clone();
        waiters.push(tokio::spawn(async move {
            let r = pull_request(&q, end, "*", Some(Duration::from_secs(15)));
            let started = Instant::now();
            (pull(&mut c, r).await, started.elapsed())
        }));
    }
    // Let the pulls reach the broker before the send (each is held up to 15 s anyway).
    tokio::time::sleep(Duration::from_millis(500)).await;
    send(&mut client, tagged("GrpcPull", "late", "TagA")).await;
    let mut woken = 0;
    for w in waiters {
        let (got, took) = w.await.expect("join");
        if got.code == Code::Ok {
            woken += 1;
            assert_eq!(got.messages.len(), 1);
            assert_eq!(got.messages[0].body, b"late");
            assert!(
                took < Duration::from_secs(14),
                "woken by the message: {took:?}"
            );
        } else {
            assert_eq!(got.code, Code::MessageNotFound);
        }
    }
    assert_eq!(
        woken, 1,
        "exactly the queue that got the message answered it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_pulls_get_clear_codes() {
    let env = start(&[]).await;
    env.create_topic("GrpcPullBad", "NORMAL").await;
    let mut client = env.client().await;
    let queue = |broker: &str, id: i32, topic: &str| pb::MessageQueue {
        topic: resource(topic),
        id,
        permission: pb::Permission::ReadWrite as i32,
        broker: Some(pb::Broker {
            name: broker.to_owned(),
            id: 0,
            endpoints: None,
        }),
        accept_message_types: vec![],
    };
    let broker = env.cluster.broker(0).name().to_owned();
    let cases = [
        (
            "queue id past the topic's",
            queue(&broker, 99, "GrpcPullBad"),
            0,
            Code::BadRequest,
        ),
        (
            "negative queue id",
            queue(&broker, -1, "GrpcPullBad"),
            0,
            Code::BadRequest,
        ),
        (
            "another broker",
            queue("no-such-broker", 0, "GrpcPullBad"),
            0,
            Code::NotFound,
        ),
        (
            "unknown topic",
            queue(&broker, 0, "GrpcPullNoSuchTopic"),
            0,
            Code::TopicNotFound,
        ),
        (
            "bad topic name",
            queue(&broker, 0, "bad topic!"),
            0,
            Code::IllegalTopic,
        ),
        (
            "negative offset",
            queue(&broker, 0, "GrpcPullBad"),
            -5,
            Code::IllegalOffset,
        ),
    ];
    for (what, q, offset, want) in cases {
        let got = pull(&mut client, pull_request(&q, offset, "*", None)).await;
        assert_eq!(got.code, want, "{what}: {got:?}");
        assert!(got.messages.is_empty());
    }
    let q = queue(&broker, 0, "GrpcPullBad");
    let mut r = pull_request(&q, 0, "*", None);
    r.batch_size = 0;
    assert_eq!(pull(&mut client, r).await.code, Code::BadRequest);
    let mut r = pull_request(&q, 0, "*", None);
    r.group = resource("");
    assert_eq!(pull(&mut client, r).await.code, Code::IllegalConsumerGroup);
    let mut r = pull_request(&q, 0, "*", None);
    r.filter_expression = Some(pb::FilterExpression {
        r#type: 42,
        expression: "x".into(),
    });
    assert_eq!(
        pull(&mut client, r).await.code,
        Code::IllegalFilterExpression
    );
}

fn delayed(topic: &str, body: &str, at: i64) -> pb::Message {
    let mut m = message(topic, body, MessageType::Delay);
    if let Some(sys) = m.system_properties.as_mut() {
        sys.delivery_timestamp = Some(ferromq_proxy::convert::ts_of(at));
    }
    m
}

async fn recall(client: &mut Client, topic: &str, handle: &str) -> pb::RecallMessageResponse {
    client
        .recall_message(request(
            pb::RecallMessageRequest {
                topic: resource(topic),
                recall_handle: handle.to_owned(),
            },
            "p",
        ))
        .await
        .expect("rpc")
        .into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recall_before_delivery_and_apache_codes_after() {
    let env = start(&["recallMessageEnable=true"]).await;
    env.create_topic("GrpcRecall", "DELAY").await;
    env.create_topic("GrpcRecallNormal", "NORMAL").await;
    let mut client = env.client().await;
    let now = ferromq_proxy::now_ms();
    let gone = send(&mut client, delayed("GrpcRecall", "recalled", now + 2_000)).await;
    let kept = send(&mut client, delayed("GrpcRecall", "kept", now + 3_000)).await;
    assert!(
        !gone.recall_handle.is_empty(),
        "a delay send answers a handle"
    );

    let r = recall(&mut client, "GrpcRecall", &gone.recall_handle).await;
    assert_eq!(code(&r.status), Code::Ok, "{r:?}");
    assert_eq!(r.message_id, gone.message_id);

    // "kept" is due after "recalled": once it arrives, "recalled" was handled.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut got = Vec::new();
    while !got.iter().any(|m: &pb::Message| m.body == b"kept") {
        assert!(Instant::now() < deadline, "kept never arrived: {got:?}");
        let (_, mut batch) = receive_once(
            &mut client,
            "c",
            "GrpcRecallGroup",
            "GrpcRecall",
            Duration::from_secs(30),
            Duration::from_secs(2),
        )
        .await;
        got.append(&mut batch);
    }
    let bodies: Vec<&[u8]> = got.iter().map(|m| m.body.as_slice()).collect();
    assert_eq!(bodies, [b"kept".as_slice()]);

    // After delivery: the broker's ILLEGAL_OPERATION, which Apache's proxy answers as
    // INTERNAL_SERVER_ERROR.
    let r = recall(&mut client, "GrpcRecall", &kept.recall_handle).await;
    assert_eq!(code(&r.status), Code::InternalServerError, "{r:?}");
    assert!(r
        .status
        .expect("a status")
        .message
        .contains("timestamp invalid"));
    // A forged handle: Apache's INTERNAL_SERVER_ERROR "recall handle is invalid".
    let r = recall(&mut client, "GrpcRecall", "forged-handle").await;
    assert_eq!(code(&r.status), Code::InternalServerError);
    assert!(r.status.expect("a status").message.contains("invalid"));
    // A NORMAL topic holds no delay message.
    let r = recall(&mut client, "GrpcRecallNormal", &kept.recall_handle).await;
    assert_eq!(code(&r.status), Code::MessagePropertyConflictWithType);
    // A bad topic name.
    let r = recall(&mut client, "bad topic!", &kept.recall_handle).await;
    assert_eq!(code(&r.status), Code::IllegalTopic);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recall_is_forbidden_while_the_broker_has_it_off() {
    let env = start(&[]).await;
    env.create_topic("GrpcRecallOff", "DELAY").await;
    let mut client = env.client().await;
    let at = ferromq_proxy::now_ms() + 60_000;
    let sent = send(&mut client, delayed("GrpcRecallOff", "x", at)).await;
    let r = recall(&mut client, "GrpcRecallOff", &sent.recall_handle).await;
    // The broker's NO_PERMISSION (recallMessageEnable=false, Apache's default).
    assert_eq!(code(&r.status), Code::Forbidden, "{r:?}");
    // A handle naming a broker the topic does not have.
    let other = {
        use ferromq_protocol::header::recall::RecallHandle;
        let mut h = RecallHandle::decode(&sent.recall_handle).expect("our handle decodes");
        h.broker_name = "no-such-broker".into();
        h.encode()
    };
    let r = recall(&mut client, "GrpcRecallOff", &other).await;
    assert_eq!(code(&r.status), Code::NotFound, "{r:?}");
}
