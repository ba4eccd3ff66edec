//! Orderly (FIFO) POP through a real broker (docs/pop.md, "Orderly pop"): a popped batch blocks
//! its queue for the group until acked or visible again; unacked messages come back in order
//! with their delivery count in `orderCountInfo`; acks outside the batch are refused, stale ones
//! are no-ops; a retry with the same attemptId gets the same batch.
#![allow(clippy::unwrap_used)]

mod pop_support;
mod support;

use std::time::{Duration, Instant};

use ferromq_protocol::header::send::SendMessageResponseHeader;
use ferromq_protocol::{CommandHeader, ResponseCode};
use pop_support::*;
use support::{create_topic_request, send_request, TestBroker};

async fn fifo(
    c: &ferromq_remoting::Connection,
    max: i32,
    invisible: i64,
    poll: i64,
    attempt: Option<&str>,
) -> PopResult {
    let attempt = attempt.map(str::to_owned);
    pop_with(c, "FG", "PopO", max, invisible, poll, move |h| {
        h.order = Some(true);
        h.attempt_id = attempt;
    })
    .await
}

fn offsets(r: &PopResult) -> Vec<i64> {
    r.messages.iter().map(|p| p.offset).collect()
}

#[tokio::test]
async fn orderly_pop_blocks_redelivers_in_order_and_counts() {
    let b = TestBroker::start(|_| {}).await;
    let c = b.client().await;
    let resp = c.request(create_topic_request("PopO", 1), T).await.unwrap();
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    let mut next = 0;
    for i in 0..4 {
        let body = format!("o{i}");
        let resp = c
            .request(send_request("PopO", 0, body.as_bytes(), "t", &body), T)
            .await
            .unwrap();
        next = SendMessageResponseHeader::read_ext(&resp.ext_fields)
            .unwrap()
            .queue_offset
            + 1;
    }
    support::wait_max_offset(&c, "PopO", 0, next).await;

    let r = fifo(&c, 2, 600, 0, Some("a1")).await;
    assert_eq!(r.code, ResponseCode::SUCCESS, "{:?}", r.remark);
    assert_eq!(offsets(&r), vec![0, 1]);
    let h = r.header.clone().unwrap();
    assert_eq!(h.revive_qid, 999, "orderly handles carry reviveQid 999");
    assert_eq!(h.order_count_info.as_deref(), Some("0 0 0"));
    // The same attempt again (a lost response) gets the same batch; another pop is blocked.
    let again = fifo(&c, 2, 600, 0, Some("a1")).await;
    assert_eq!(offsets(&again), vec![0, 1]);
    let blocked = fifo(&c, 2, 600, 0, Some("a2")).await;
    assert_eq!(blocked.code, ResponseCode::POLLING_TIMEOUT);

    // Ack offset 0 with the current handle; an offset outside the batch is refused; a handle of
    // another pop time (an earlier batch) is stale and changes nothing.
    assert_eq!(
        ack(&c, "FG", &again.messages[0]).await,
        ResponseCode::SUCCESS
    );
    let (code, _) = ack_raw(&c, "FG", "PopO", 0, 3, &again.messages[1].handle).await;
    assert_eq!(code, ResponseCode::MESSAGE_ILLEGAL);
    let current = &again.messages[1].handle;
    let mut fields: Vec<String> = current.split(' ').map(str::to_owned).collect();
    fields[1] = (fields[1].parse::<i64>().unwrap() - 1).to_string();
    let stale = fields.join(" ");
    assert_eq!(
        ack_raw(&c, "FG", "PopO", 0, 1, &stale).await.0,
        ResponseCode::SUCCESS
    );
    let still = fifo(&c, 2, 600, 0, Some("a3")).await;
    assert_eq!(
        still.code,
        ResponseCode::POLLING_TIMEOUT,
        "offset 1 is still unacked"
    );

    // After the invisible time: offset 1 again first, counted once, then 2.
    let deadline = Instant::now() + Duration::from_secs(10);
    let back = loop {
        let r = fifo(&c, 2, 60_000, 1000, Some("a4")).await;
        if r.code == ResponseCode::SUCCESS {
            break r;
        }
        assert!(Instant::now() < deadline, "offset 1 never came back");
    };
    assert_eq!(offsets(&back), vec![1, 2]);
    assert_eq!(
        back.header.as_ref().unwrap().order_count_info.as_deref(),
        Some("0 qo0%1 1;0 0 0")
    );
    // A change of offset 2 keeps the batch's pop time; then both are acked.
    let (code, handle) = change(&c, "FG", &back.messages[1], 60_000).await;
    assert_eq!(code, ResponseCode::SUCCESS);
    assert_eq!(
        handle.unwrap().split(' ').nth(1).unwrap(),
        back.header.as_ref().unwrap().pop_time.to_string()
    );
    for p in &back.messages {
        assert_eq!(ack(&c, "FG", p).await, ResponseCode::SUCCESS);
    }
    let last = fifo(&c, 2, 60_000, 0, Some("a5")).await;
    assert_eq!(
        offsets(&last),
        vec![3],
        "consumption continues after the acked batch"
    );
    assert_eq!(
        last.header.as_ref().unwrap().order_count_info.as_deref(),
        Some("0 0 0")
    );
    b.stop().await;
}
