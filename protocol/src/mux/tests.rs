//! The multiplexer's rules, with `u64` milliseconds as the clock and labels as waiters.

use super::*;
use crate::codes::{RequestCode, ResponseCode};

type TestMux = Mux<&'static str, u64>;

fn request() -> RemotingCommand {
    RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC)
}

fn response(opaque: i32) -> RemotingCommand {
    RemotingCommand::response(ResponseCode::SUCCESS, None).with_opaque(opaque)
}

fn completed(inbound: Inbound<&'static str>) -> (&'static str, i32) {
    match inbound {
        Inbound::Response { waiter, response } => (waiter, response.opaque),
        other => panic!("expected a completed waiter, got {other:?}"),
    }
}

fn unmatched(inbound: Inbound<&'static str>) -> i32 {
    match inbound {
        Inbound::Unmatched(frame) => frame.opaque,
        other => panic!("expected an unmatched response, got {other:?}"),
    }
}

#[test]
fn requests_get_consecutive_opaques_from_one_and_request_flags() {
    let mut mux = TestMux::new();
    let mut a = request().into_oneway();
    a.flag |= FLAG_RESPONSE;
    let mut b = request();
    assert_eq!(mux.request(&mut a, "a", 10), Ok(FIRST_OPAQUE));
    assert_eq!(mux.request(&mut b, "b", 10), Ok(FIRST_OPAQUE + 1));
    assert_eq!(a.opaque, FIRST_OPAQUE);
    assert_eq!(b.opaque, FIRST_OPAQUE + 1);
    assert!(
        !a.is_oneway() && !a.is_response(),
        "a request is neither oneway nor a response"
    );
    assert_eq!(mux.pending(), 2);
    assert!(!mux.is_idle());
}

#[test]
fn a_response_completes_its_own_waiter_once() {
    let mut mux = TestMux::new();
    let a = mux.request(&mut request(), "a", 10).unwrap_or_default();
    let b = mux.request(&mut request(), "b", 10).unwrap_or_default();
    assert_eq!(completed(mux.receive(response(b))), ("b", b));
    assert_eq!(
        unmatched(mux.receive(response(b))),
        b,
        "a duplicate answer is dropped"
    );
    assert_eq!(completed(mux.receive(response(a))), ("a", a));
    assert!(mux.is_idle());
    assert_eq!(mux.next_deadline(), None);
}

#[test]
fn a_response_to_an_unknown_opaque_is_unmatched_and_disturbs_nothing() {
    let mut mux = TestMux::new();
    let a = mux.request(&mut request(), "a", 10).unwrap_or_default();
    assert_eq!(unmatched(mux.receive(response(123_456))), 123_456);
    assert_eq!(unmatched(mux.receive(response(a + 1))), a + 1);
    assert_eq!(mux.pending(), 1);
    assert_eq!(completed(mux.receive(response(a))), ("a", a));
}

#[test]
fn opaques_wrap_from_max_to_min() {
    let mut mux = TestMux::new();
    mux.next_opaque = i32::MAX;
    assert_eq!(mux.request(&mut request(), "max", 1), Ok(i32::MAX));
    assert_eq!(mux.oneway(&mut request()), Ok(i32::MIN));
    assert_eq!(mux.request(&mut request(), "min+1", 1), Ok(i32::MIN + 1));
    assert_eq!(
        completed(mux.receive(response(i32::MAX))),
        ("max", i32::MAX)
    );
    assert_eq!(
        completed(mux.receive(response(i32::MIN + 1))),
        ("min+1", i32::MIN + 1)
    );
}

#[test]
fn after_the_wrap_an_opaque_still_pending_is_skipped() {
    let mut mux = TestMux::new();
    let slow = mux
        .request(&mut request(), "slow", 1_000)
        .unwrap_or_default();
    let done = mux
        .request(&mut request(), "done", 1_000)
        .unwrap_or_default();
    assert_eq!(completed(mux.receive(response(done))), ("done", done));
    // 2^32 requests later the counter is back at the slow request's opaque.
    mux.next_opaque = slow;
    let next = mux
        .request(&mut request(), "next", 1_000)
        .unwrap_or_default();
    assert_eq!(
        next, done,
        "the pending opaque is skipped, the finished one reused"
    );
    assert_eq!(completed(mux.receive(response(slow))), ("slow", slow));
    assert_eq!(completed(mux.receive(response(next))), ("next", next));
}

#[test]
fn oneway_requests_take_an_opaque_and_register_nothing() {
    let mut mux = TestMux::new();
    let mut cmd = request();
    let opaque = mux.oneway(&mut cmd).unwrap_or_default();
    assert_eq!(cmd.opaque, opaque);
    assert!(cmd.is_oneway() && !cmd.is_response());
    assert!(mux.is_idle());
    assert_eq!(mux.next_deadline(), None);
    assert_eq!(unmatched(mux.receive(response(opaque))), opaque);
    assert_eq!(mux.request(&mut request(), "a", 1), Ok(opaque + 1));
}

#[test]
fn expire_takes_exactly_the_waiters_due_earliest_first() {
    let mut mux = TestMux::new();
    let late = mux.request(&mut request(), "late", 300).unwrap_or_default();
    let early = mux
        .request(&mut request(), "early", 100)
        .unwrap_or_default();
    let twin = mux.request(&mut request(), "twin", 100).unwrap_or_default();
    assert_eq!(mux.next_deadline(), Some(100));
    assert!(mux.expire(99).is_empty());
    assert_eq!(mux.expire(100), vec![(early, "early"), (twin, "twin")]);
    assert_eq!(mux.next_deadline(), Some(300));
    assert!(mux.expire(299).is_empty());
    assert_eq!(completed(mux.receive(response(late))), ("late", late));
    assert!(
        mux.expire(1_000).is_empty(),
        "a completed waiter never expires"
    );
}

#[test]
fn a_late_response_after_expiry_is_unmatched() {
    let mut mux = TestMux::new();
    let a = mux.request(&mut request(), "a", 100).unwrap_or_default();
    assert_eq!(mux.expire(150), vec![(a, "a")]);
    assert_eq!(unmatched(mux.receive(response(a))), a);
    assert!(mux.is_idle());
}

#[test]
fn a_forgotten_waiter_neither_expires_nor_completes() {
    let mut mux = TestMux::new();
    let a = mux.request(&mut request(), "a", 100).unwrap_or_default();
    assert_eq!(mux.forget(a), Some("a"));
    assert_eq!(mux.forget(a), None);
    assert_eq!(mux.next_deadline(), None);
    assert!(mux.expire(1_000).is_empty());
    assert_eq!(unmatched(mux.receive(response(a))), a);
}

#[test]
fn close_hands_back_every_waiter_exactly_once_and_refuses_new_requests() {
    let mut mux = TestMux::new();
    let a = mux.request(&mut request(), "a", 100).unwrap_or_default();
    mux.request(&mut request(), "b", 200).unwrap_or_default();
    let mut failed = mux.close();
    failed.sort_unstable();
    assert_eq!(failed, vec!["a", "b"]);
    assert!(mux.is_closed());
    assert!(mux.close().is_empty(), "a second close fails nothing again");
    assert!(
        mux.expire(1_000).is_empty(),
        "closed waiters never expire later"
    );
    assert_eq!(mux.next_deadline(), None);
    assert_eq!(unmatched(mux.receive(response(a))), a);
    assert_eq!(mux.request(&mut request(), "c", 1), Err((Closed, "c")));
    assert_eq!(mux.oneway(&mut request()), Err(Closed));
    assert!(mux.is_idle());
}

#[test]
fn deadlines_add_the_timeout_up_to_a_year() {
    let now = std::time::Instant::now();
    let second = Duration::from_secs(1);
    assert_eq!(deadline(now, second), now + second);
    assert_eq!(deadline(now, Duration::ZERO), now);
    assert_eq!(
        deadline(now, Duration::MAX),
        now + MAX_TIMEOUT,
        "no overflow"
    );
}

#[test]
fn an_inbound_request_goes_to_the_handler_with_its_reply() {
    let mut mux = TestMux::new();
    // The peer's opaques are its own: equal to a pending one of ours, still a request.
    let ours = mux.request(&mut request(), "ours", 100).unwrap_or_default();
    let theirs = RemotingCommand::request(RequestCode::CHECK_TRANSACTION_STATE).with_opaque(ours);
    let Inbound::Request {
        request: got,
        reply,
    } = mux.receive(theirs)
    else {
        panic!("a request from the peer is for the handler");
    };
    assert_eq!(got.request_code(), RequestCode::CHECK_TRANSACTION_STATE);
    assert_eq!(mux.pending(), 1, "our waiter is untouched");
    assert!(!reply.is_oneway());
    let answer = RemotingCommand::response(ResponseCode::SUCCESS, None).with_opaque(-5);
    let mut answer_without_flag = answer.clone();
    answer_without_flag.flag = 0;
    for answer in [answer, answer_without_flag] {
        let sent = reply.response(Some(answer));
        let sent = sent.unwrap_or_default();
        assert_eq!(sent.opaque, ours, "the answer carries the request's opaque");
        assert!(sent.is_response());
    }
    assert!(reply.response(None).is_none(), "no answer, nothing sent");
}

#[test]
fn a_oneway_inbound_request_is_never_answered() {
    let mut mux = TestMux::new();
    let notify = RemotingCommand::request(RequestCode::NOTIFY_CONSUMER_IDS_CHANGED)
        .with_opaque(9)
        .into_oneway();
    let Inbound::Request { reply, .. } = mux.receive(notify) else {
        panic!("a oneway request is for the handler too");
    };
    assert!(reply.is_oneway());
    let answer = RemotingCommand::response(ResponseCode::SUCCESS, None);
    assert!(reply.response(Some(answer)).is_none());
}
