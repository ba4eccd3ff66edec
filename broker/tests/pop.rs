//! POP consumption through a real broker over remoting (docs/pop.md): pop, ack, batch ack and
//! change-invisible round trips, redelivery through the pop retry topic after the invisible
//! time, long polling, and Apache's answers to bad input.
#![allow(clippy::unwrap_used)]

mod pop_support;
mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use ferromq_protocol::header::send::SendMessageResponseHeader;
use ferromq_protocol::{CommandHeader, ResponseCode};
use pop_support::*;
use support::{send_request, TestBroker};

async fn broker() -> TestBroker {
    TestBroker::start(|s| {
        s.broker.revive_interval = 50;
        // Deterministic reads: the normal topic first, then the retry topic.
        s.broker.pop_from_retry_probability = 0;
    })
    .await
}

async fn send_all(c: &ferromq_remoting::Connection, topic: &str, bodies: &[String]) {
    let mut next = 0;
    for b in bodies {
        let resp = c
            .request(send_request(topic, 0, b.as_bytes(), "tag", b), T)
            .await
            .unwrap();
        assert_eq!(
            resp.response_code(),
            ResponseCode::SUCCESS,
            "{:?}",
            resp.remark
        );
        next = SendMessageResponseHeader::read_ext(&resp.ext_fields)
            .unwrap()
            .queue_offset
            + 1;
    }
    // Sends are acknowledged before the consume queue has them.
    support::wait_max_offset(c, topic, 0, next).await;
}

fn bodies(n: usize, prefix: &str) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

#[tokio::test]
async fn pop_ack_change_and_redelivery_round_trip() {
    let b = broker().await;
    let c = b.client().await;
    send_all(&c, "PopT", &bodies(4, "m")).await;

    // Sends are acknowledged before the consume queue has them: poll briefly.
    let r = pop(&c, "G", "PopT", 32, 60_000, 3000).await;
    assert_eq!(r.code, ResponseCode::SUCCESS, "{:?}", r.remark);
    assert_eq!(r.remark.as_deref(), Some("FOUND"));
    let h = r.header.unwrap();
    assert_eq!(h.invisible_time, 60_000);
    assert_eq!(h.rest_num, 0);
    assert_eq!(h.start_offset_info.as_deref(), Some("0 0 0"));
    assert_eq!(h.msg_offset_info.as_deref(), Some("0 0 0,1,2,3"));
    let got: Vec<String> = r.messages.iter().map(Popped::body).collect();
    assert_eq!(got, bodies(4, "m"));

    // Nothing left: POLLING_TIMEOUT, with every required header field.
    let again = pop(&c, "G", "PopT", 32, 60_000, 0).await;
    assert_eq!(again.code, ResponseCode::POLLING_TIMEOUT);
    assert!(again.header.is_some(), "the timeout carries the header");
    // Another group has its own offsets.
    let other = pop(&c, "G2", "PopT", 2, 60_000, 3000).await;
    assert_eq!(other.messages.len(), 2);

    assert_eq!(ack(&c, "G", &r.messages[0]).await, ResponseCode::SUCCESS);
    assert_eq!(ack(&c, "G", &r.messages[1]).await, ResponseCode::SUCCESS);
    // Acking twice is a no-op.
    assert_eq!(ack(&c, "G", &r.messages[1]).await, ResponseCode::SUCCESS);

    // m2 becomes visible again at once (300 ms); m3 stays invisible for a minute.
    let (code, new_handle) = change(&c, "G", &r.messages[2], 300).await;
    assert_eq!(code, ResponseCode::SUCCESS);
    let new_handle = new_handle.unwrap();
    let back = pop_until(&c, "G", "PopT", 1, 60_000, Duration::from_secs(10)).await;
    assert_eq!(back.len(), 1, "only the changed message comes back");
    let m = &back[0];
    assert_eq!(m.body(), "m2");
    assert_eq!(m.msg.reconsume_times, 1, "revived with reconsumeTimes + 1");
    assert_eq!(
        m.msg.topic, "PopT",
        "a retry message goes out under its normal topic"
    );
    assert_eq!(m.real_topic, "%RETRY%G_PopT");
    assert!(m.msg.properties.value("1ST_POP_TIME").is_some());

    // Acks of the revived original (its changed handle, and the stale pre-change handle) are
    // no-ops; the retry copy is acked with its own handle.
    let p2 = &r.messages[2];
    let (code, _) = ack_raw(&c, "G", &p2.real_topic, p2.queue_id, p2.offset, &new_handle).await;
    assert_eq!(code, ResponseCode::SUCCESS);
    assert_eq!(ack(&c, "G", p2).await, ResponseCode::SUCCESS);
    assert_eq!(ack(&c, "G", m).await, ResponseCode::SUCCESS);
    let none = pop(&c, "G", "PopT", 32, 60_000, 500).await;
    assert_eq!(none.code, ResponseCode::POLLING_TIMEOUT);
    b.stop().await;
}

#[tokio::test]
async fn unacked_messages_come_back_after_the_invisible_time() {
    let b = broker().await;
    let c = b.client().await;
    send_all(&c, "PopR", &bodies(6, "r")).await;
    let r = pop(&c, "G", "PopR", 6, 800, 3000).await;
    assert_eq!(r.messages.len(), 6);
    for p in r.messages.iter().filter(|p| p.offset % 2 == 0) {
        assert_eq!(ack(&c, "G", p).await, ResponseCode::SUCCESS);
    }
    // A batch ack (Apache's body: short names, base64 BitSet) of offset 1 at popTime.
    let pt = r.header.as_ref().unwrap().pop_time;
    let body = format!(
        r#"{{"brokerName":"broker-t","acks":[{{"c":"G","t":"PopR","r":"0","so":0,"q":0,"rq":0,"pt":{pt},"it":800,"b":"Ag=="}}]}}"#
    );
    assert_eq!(batch_ack(&c, &body).await, ResponseCode::SUCCESS);
    let back = pop_until(&c, "G", "PopR", 2, 60_000, Duration::from_secs(10)).await;
    let got: BTreeSet<String> = back.iter().map(Popped::body).collect();
    assert_eq!(got, ["r3", "r5"].iter().map(|s| s.to_string()).collect());
    assert!(back.iter().all(|p| p.msg.reconsume_times == 1));
    b.stop().await;
}

#[tokio::test]
async fn long_polling_pop_is_woken_by_a_send() {
    let b = broker().await;
    let c = b.client().await;
    send_all(&c, "PopL", &bodies(1, "first")).await;
    let r = pop(&c, "G", "PopL", 32, 60_000, 3000).await;
    assert_eq!(r.messages.len(), 1);
    let c2 = b.client().await;
    let started = Instant::now();
    let waiter = tokio::spawn(async move { pop(&c2, "G", "PopL", 32, 60_000, 10_000).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    send_all(&c, "PopL", &bodies(1, "late")).await;
    let r = waiter.await.unwrap();
    assert_eq!(r.code, ResponseCode::SUCCESS);
    assert_eq!(r.messages[0].body(), "late0");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "woken, not timed out"
    );
    b.stop().await;
}

#[tokio::test]
async fn bad_input_gets_apaches_codes() {
    let b = broker().await;
    let c = b.client().await;
    send_all(&c, "PopB", &bodies(2, "b")).await;

    let r = pop(&c, "G", "PopB", 1000, 60_000, 0).await;
    assert_eq!(r.code, ResponseCode::INVALID_PARAMETER);
    let r = pop(&c, "G", "NoSuchTopic", 1, 60_000, 0).await;
    assert_eq!(r.code, ResponseCode::TOPIC_NOT_EXIST);
    let r = pop(&c, "G", "%RETRY%G_PopB", 1, 60_000, 0).await;
    assert_eq!(r.code, ResponseCode::TOPIC_NOT_EXIST);
    let r = pop(&c, "G", "TBW102", 1, 60_000, 0).await;
    assert_ne!(
        r.code,
        ResponseCode::SUCCESS,
        "system topics are not popped"
    );

    let r = pop(&c, "G", "PopB", 2, 1000, 3000).await;
    assert_eq!(r.messages.len(), 2);
    let p = &r.messages[0];
    // Garbled handles: SYSTEM_ERROR naming the problem.
    for bad in [
        "",
        "1 2 3",
        "x 1 2 3 0 broker-t 0 0",
        "0 1 2 3 9 broker-t 0 0",
    ] {
        let (code, remark) = ack_raw(&c, "G", "PopB", 0, p.offset, bad).await;
        assert_eq!(code, ResponseCode::SYSTEM_ERROR, "{bad:?}");
        assert!(remark.unwrap().contains("extraInfo"));
    }
    // Queue out of range, offset out of range, unknown topic.
    let (code, _) = ack_raw(&c, "G", "PopB", 99, p.offset, &p.handle).await;
    assert_eq!(code, ResponseCode::MESSAGE_ILLEGAL);
    let (code, remark) = ack_raw(&c, "G", "PopB", 0, 1_000_000, &p.handle).await;
    assert_eq!(code, ResponseCode::NO_MESSAGE);
    assert_eq!(remark.as_deref(), Some("offset is illegal"));
    let (code, _) = ack_raw(&c, "G", "Nope", 0, 0, &p.handle).await;
    assert_eq!(code, ResponseCode::TOPIC_NOT_EXIST);
    // A well-formed forged handle and an ack under another group: SUCCESS with no effect.
    let forged = "0 12345 60000 1 0 broker-t 0 0";
    assert_eq!(
        ack_raw(&c, "G", "PopB", 0, 0, forged).await.0,
        ResponseCode::SUCCESS
    );
    assert_eq!(ack(&c, "OtherGroup", p).await, ResponseCode::SUCCESS);
    assert_eq!(batch_ack(&c, "").await, ResponseCode::NO_MESSAGE);
    assert_eq!(
        batch_ack(&c, r#"{"acks":[]}"#).await,
        ResponseCode::NO_MESSAGE
    );
    assert_eq!(batch_ack(&c, "{garbage").await, ResponseCode::SYSTEM_ERROR);
    // Headers missing required fields or with non-numbers: SYSTEM_ERROR naming the field.
    for code in [
        ferromq_protocol::RequestCode::POP_MESSAGE,
        ferromq_protocol::RequestCode::ACK_MESSAGE,
        ferromq_protocol::RequestCode::CHANGE_MESSAGE_INVISIBLETIME,
        ferromq_protocol::RequestCode::NOTIFICATION,
        ferromq_protocol::RequestCode::POLLING_INFO,
    ] {
        let mut req = ferromq_protocol::RemotingCommand::request(code);
        req.ext_fields.insert("consumerGroup", "G");
        req.ext_fields.insert("topic", "PopB");
        req.ext_fields.insert("queueId", "zero");
        let resp = c.request(req, T).await.unwrap();
        assert_eq!(resp.response_code(), ResponseCode::SYSTEM_ERROR, "{code:?}");
        assert!(resp.remark.unwrap().contains("queueId"), "{code:?}");
    }
    // Garbage assignment bodies.
    for code in [
        ferromq_protocol::RequestCode::QUERY_ASSIGNMENT,
        ferromq_protocol::RequestCode::SET_MESSAGE_REQUEST_MODE,
    ] {
        let req = ferromq_protocol::RemotingCommand::request(code)
            .with_body(bytes::Bytes::from_static(b"[1,2"));
        let resp = c.request(req, T).await.unwrap();
        assert_eq!(resp.response_code(), ResponseCode::SYSTEM_ERROR, "{code:?}");
    }
    // Neither forged ack touched the group's messages: both come back after 1 s.
    let back = pop_until(&c, "G", "PopB", 2, 60_000, Duration::from_secs(10)).await;
    let got: BTreeSet<String> = back.iter().map(Popped::body).collect();
    assert_eq!(got, ["b0", "b1"].iter().map(|s| s.to_string()).collect());
    b.stop().await;
}

#[tokio::test]
async fn parked_pops_and_oversized_acks_do_not_stall_other_clients() {
    let b = broker().await;
    let c = b.client().await;
    send_all(&c, "PopS", &bodies(1, "s")).await;
    send_all(&c, "PopIdle", &bodies(1, "i")).await;
    let idle = pop(&c, "G", "PopIdle", 32, 60_000, 3000).await;
    assert_eq!(idle.messages.len(), 1);
    // Twenty pops parked on an empty queue for 4 s each, from one connection.
    let hog = b.client().await;
    let hog = std::sync::Arc::new(hog);
    let parked: Vec<_> = (0..20)
        .map(|_| {
            let hog = hog.clone();
            tokio::spawn(async move { pop(&hog, "G", "PopIdle", 32, 60_000, 4_000).await.code })
        })
        .collect();
    // A batch ack claiming a million offsets is refused without work for the others.
    let many = format!(
        r#"{{"acks":[{}]}}"#,
        (0..20)
            .map(|_| r#"{"c":"G","t":"PopS","r":"0","so":0,"q":0,"pt":1,"b":"////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////"}"#)
            .collect::<Vec<_>>()
            .join(",")
    );
    let code = batch_ack(&c, &many).await;
    assert!(
        code == ResponseCode::SUCCESS || code == ResponseCode::INVALID_PARAMETER,
        "{code:?}"
    );
    let started = Instant::now();
    let other = b.client().await;
    let r = pop(&other, "G2", "PopS", 32, 60_000, 3000).await;
    assert_eq!(r.messages.len(), 1);
    assert_eq!(
        ack(&other, "G2", &r.messages[0]).await,
        ResponseCode::SUCCESS
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // The parked pops are woken by a send, not left to time out.
    send_all(&c, "PopIdle", &bodies(1, "late")).await;
    let mut found = 0;
    for p in parked {
        let code = tokio::time::timeout(Duration::from_secs(25), p)
            .await
            .unwrap()
            .unwrap();
        if code == ResponseCode::SUCCESS {
            found += 1;
        }
    }
    assert_eq!(found, 1, "one message, one pop gets it");
    b.stop().await;
}

async fn notify(
    c: &ferromq_remoting::Connection,
    group: &str,
    topic: &str,
    poll: i64,
) -> (ResponseCode, Option<bool>) {
    use ferromq_protocol::header::pop::{NotificationRequestHeader, NotificationResponseHeader};
    let h = NotificationRequestHeader {
        consumer_group: group.into(),
        topic: topic.into(),
        queue_id: -1,
        poll_time: poll,
        born_time: ferromq_common::now_ms(),
        ..Default::default()
    };
    let req = ferromq_protocol::RemotingCommand::request_with_header(
        ferromq_protocol::RequestCode::NOTIFICATION,
        &h,
    );
    let resp = c.request(req, T).await.unwrap();
    let has = NotificationResponseHeader::read_ext(&resp.ext_fields)
        .ok()
        .map(|r| r.has_msg);
    (resp.response_code(), has)
}

async fn polling_num(c: &ferromq_remoting::Connection, group: &str, topic: &str) -> i32 {
    use ferromq_protocol::header::pop::{PollingInfoRequestHeader, PollingInfoResponseHeader};
    let h = PollingInfoRequestHeader {
        consumer_group: group.into(),
        topic: topic.into(),
        queue_id: -1,
        broker_name: None,
    };
    let req = ferromq_protocol::RemotingCommand::request_with_header(
        ferromq_protocol::RequestCode::POLLING_INFO,
        &h,
    );
    let resp = c.request(req, T).await.unwrap();
    assert_eq!(
        resp.response_code(),
        ResponseCode::SUCCESS,
        "{:?}",
        resp.remark
    );
    PollingInfoResponseHeader::read_ext(&resp.ext_fields)
        .unwrap()
        .polling_num
}

#[tokio::test]
async fn notification_and_polling_info() {
    let b = broker().await;
    let c = b.client().await;
    send_all(&c, "PopN", &bodies(1, "n")).await;
    assert_eq!(
        notify(&c, "G", "PopN", 0).await,
        (ResponseCode::SUCCESS, Some(true))
    );
    let r = pop(&c, "G", "PopN", 32, 60_000, 3000).await;
    assert_eq!(r.messages.len(), 1);
    assert_eq!(
        notify(&c, "G", "PopN", 0).await,
        (ResponseCode::SUCCESS, Some(false))
    );
    assert_eq!(
        notify(&c, "G", "Nope", 0).await.0,
        ResponseCode::TOPIC_NOT_EXIST
    );

    // A parked pop shows in POLLING_INFO; a parked notification is woken by a send.
    let c2 = b.client().await;
    let parked_pop =
        tokio::spawn(async move { pop(&c2, "G", "PopN", 32, 60_000, 3000).await.code });
    let deadline = Instant::now() + Duration::from_secs(5);
    while polling_num(&c, "G", "PopN").await != 1 {
        assert!(Instant::now() < deadline, "the pop never showed as parked");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let c3 = b.client().await;
    let started = Instant::now();
    let waiter = tokio::spawn(async move { notify(&c3, "G", "PopN", 10_000).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    send_all(&c, "PopN", &bodies(1, "later")).await;
    assert_eq!(waiter.await.unwrap(), (ResponseCode::SUCCESS, Some(true)));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(parked_pop.await.unwrap(), ResponseCode::SUCCESS);
    assert_eq!(polling_num(&c, "G", "PopN").await, 0);
    b.stop().await;
}

#[tokio::test]
async fn a_change_to_a_short_invisible_time_wakes_the_revive_task() {
    // A revive task that would otherwise look only every 30 s.
    let b = TestBroker::start(|s| {
        s.broker.revive_interval = 30_000;
        s.broker.pop_from_retry_probability = 0;
    })
    .await;
    let c = b.client().await;
    send_all(&c, "PopW", &bodies(1, "w")).await;
    let r = pop(&c, "G", "PopW", 32, 60_000, 3000).await;
    assert_eq!(r.messages.len(), 1);
    let started = Instant::now();
    assert_eq!(
        change(&c, "G", &r.messages[0], 200).await.0,
        ResponseCode::SUCCESS
    );
    let back = pop_until(&c, "G", "PopW", 1, 60_000, Duration::from_secs(10)).await;
    assert_eq!(back.len(), 1);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    b.stop().await;
}

#[tokio::test]
async fn peek_reads_without_popping() {
    use ferromq_protocol::header::pop::{PeekMessageRequestHeader, PopMessageResponseHeader};
    let b = broker().await;
    let c = b.client().await;
    send_all(&c, "PopP", &bodies(3, "p")).await;
    let peek = |max: i32| {
        let h = PeekMessageRequestHeader {
            topic: "PopP".into(),
            queue_id: -1,
            max_msg_nums: max,
            consumer_group: "G".into(),
            broker_name: None,
        };
        ferromq_protocol::RemotingCommand::request_with_header(
            ferromq_protocol::RequestCode::PEEK_MESSAGE,
            &h,
        )
    };
    for _ in 0..2 {
        let resp = c.request(peek(2), T).await.unwrap();
        assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
        let got: Vec<String> = support::messages(&resp.body)
            .iter()
            .map(|m| String::from_utf8(m.body.to_vec()).unwrap())
            .collect();
        assert_eq!(got, ["p0", "p1"], "peeking twice sees the same messages");
        let h = PopMessageResponseHeader::read_ext(&resp.ext_fields).unwrap();
        assert_eq!(h.rest_num, 3);
    }
    let r = pop(&c, "G", "PopP", 32, 60_000, 3000).await;
    assert_eq!(r.messages.len(), 3, "peek popped nothing");
    let resp = c.request(peek(2), T).await.unwrap();
    assert_eq!(resp.response_code(), ResponseCode::PULL_NOT_FOUND);
    b.stop().await;
}
