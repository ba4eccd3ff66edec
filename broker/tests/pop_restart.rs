//! POP state across `kill -9` of the `mqbroker` binary: messages popped and acked before the
//! kill never come back; popped and unacked ones come back after their invisible time (through
//! the pop retry topic, reconsumeTimes 1); the pop offsets survive, so nothing is popped twice
//! from the normal topic; an orderly batch stays blocked, acked and counted.
#![allow(clippy::unwrap_used)]

mod pop_support;
mod support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use ferromq_protocol::header::send::SendMessageResponseHeader;
use ferromq_protocol::{CommandHeader, ResponseCode};
use ferromq_remoting::Connection;
use pop_support::*;
use support::{connect, mqbroker_conf, start_mqbroker};

#[tokio::test]
async fn acked_pops_stay_acked_and_unacked_come_back_after_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, conf) = mqbroker_conf(
        dir.path(),
        "broker-t",
        "reviveInterval=50\npopFromRetryProbability=0\n",
    );

    let mut broker = start_mqbroker(&conf);
    let c = connect(&addr).await;
    let mut next = 0;
    for i in 0..10 {
        let body = format!("k{i}");
        let resp = c
            .request(
                support::send_request("PopK", 0, body.as_bytes(), "t", &body),
                T,
            )
            .await
            .unwrap();
        assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
        next = SendMessageResponseHeader::read_ext(&resp.ext_fields)
            .unwrap()
            .queue_offset
            + 1;
    }
    support::wait_max_offset(&c, "PopK", 0, next).await;
    let r = pop(&c, "G", "PopK", 32, 3000, 3000).await;
    assert_eq!(r.messages.len(), 10, "{:?}", r.remark);
    for p in r.messages.iter().filter(|p| p.offset % 2 == 0) {
        assert_eq!(ack(&c, "G", p).await, ResponseCode::SUCCESS);
    }
    // Killed right after the last ack's SUCCESS.
    broker.kill().unwrap();
    broker.wait().unwrap();
    assert!(dir.path().join("store").join("pop").join("ledger").exists());

    let mut broker = start_mqbroker(&conf);
    let c = connect(&addr).await;
    let back = pop_until(&c, "G", "PopK", 5, 60_000, Duration::from_secs(20)).await;
    let got: BTreeSet<String> = back.iter().map(Popped::body).collect();
    let odd: BTreeSet<String> = (0..10)
        .filter(|i| i % 2 == 1)
        .map(|i| format!("k{i}"))
        .collect();
    assert_eq!(got, odd, "exactly the unacked half comes back");
    for p in &back {
        assert_eq!(p.msg.reconsume_times, 1, "{}", p.body());
        assert_eq!(
            p.real_topic, "%RETRY%G_PopK",
            "redelivered through the retry topic"
        );
    }
    // The acked half was revived at the same time had it been lost: nothing more comes.
    let more = pop(&c, "G", "PopK", 32, 60_000, 1500).await;
    assert_eq!(
        more.code,
        ResponseCode::POLLING_TIMEOUT,
        "{:?}",
        more.messages.iter().map(Popped::body).collect::<Vec<_>>()
    );
    broker.kill().unwrap();
    broker.wait().unwrap();
}

#[tokio::test]
async fn an_orderly_batch_stays_blocked_and_counted_across_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, conf) = mqbroker_conf(dir.path(), "broker-t", "");
    let fifo = |c: Arc<Connection>, attempt: &'static str| async move {
        pop_with(&c, "FG", "PopF", 2, 60_000, 0, |h| {
            h.order = Some(true);
            h.attempt_id = Some(attempt.to_owned());
        })
        .await
    };
    let mut broker = start_mqbroker(&conf);
    let c = Arc::new(connect(&addr).await);
    let resp = c
        .request(support::create_topic_request("PopF", 1), T)
        .await
        .unwrap();
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    for i in 0..3 {
        let body = format!("f{i}");
        let resp = c
            .request(
                support::send_request("PopF", 0, body.as_bytes(), "t", &body),
                T,
            )
            .await
            .unwrap();
        assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    }
    support::wait_max_offset(&c, "PopF", 0, 3).await;
    let r = fifo(c.clone(), "a1").await;
    assert_eq!(r.messages.len(), 2, "{:?}", r.remark);
    assert_eq!(ack(&c, "FG", &r.messages[0]).await, ResponseCode::SUCCESS);
    broker.kill().unwrap();
    broker.wait().unwrap();

    let mut broker = start_mqbroker(&conf);
    let c = Arc::new(connect(&addr).await);
    let blocked = fifo(c.clone(), "a2").await;
    assert_eq!(
        blocked.code,
        ResponseCode::POLLING_TIMEOUT,
        "offset 1 is still in flight after the restart"
    );
    // Make offset 1 visible now with its pre-crash handle; it comes back counted, then 2.
    let (code, _) = change(&c, "FG", &r.messages[1], 0).await;
    assert_eq!(code, ResponseCode::SUCCESS);
    let back = fifo(c.clone(), "a3").await;
    let offsets: Vec<i64> = back.messages.iter().map(|p| p.offset).collect();
    assert_eq!(offsets, vec![1, 2], "offset 0 stayed acked");
    assert_eq!(
        back.header.unwrap().order_count_info.as_deref(),
        Some("0 qo0%1 1;0 0 0")
    );
    broker.kill().unwrap();
    broker.wait().unwrap();
}
