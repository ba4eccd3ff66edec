//! A small POP client over raw remoting for the broker's POP tests: pop, ack, batch ack and
//! change-invisible, building receipt handles the way Apache's Java client does.
#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use bytes::Bytes;
use ferromq_common::now_ms;
use ferromq_protocol::header::pop::{
    AckMessageRequestHeader, ChangeInvisibleTimeRequestHeader, ChangeInvisibleTimeResponseHeader,
    PopMessageRequestHeader, PopMessageResponseHeader,
};
use ferromq_protocol::message::{decode_all, property, DecodeOptions, MessageExt};
use ferromq_protocol::{CommandHeader, RemotingCommand, RequestCode, ResponseCode};
use ferromq_remoting::Connection;

pub const T: Duration = Duration::from_secs(30);

/// One popped message with the handle the Java client would give it.
#[derive(Debug, Clone)]
pub struct Popped {
    pub msg: MessageExt,
    pub handle: String,
    /// The topic acks name (the pop retry topic for retried messages).
    pub real_topic: String,
    pub queue_id: i32,
    pub offset: i64,
}

impl Popped {
    pub fn body(&self) -> String {
        String::from_utf8(self.msg.body.to_vec()).unwrap()
    }
}

/// A POP response: code, header (always decoded: required fields must be there) and messages.
pub struct PopResult {
    pub code: ResponseCode,
    pub remark: Option<String>,
    pub header: Option<PopMessageResponseHeader>,
    pub messages: Vec<Popped>,
}

fn field(handle: &str, i: usize) -> &str {
    handle.split(' ').nth(i).unwrap()
}

pub async fn pop(
    c: &Connection,
    group: &str,
    topic: &str,
    max: i32,
    invisible_ms: i64,
    poll_ms: i64,
) -> PopResult {
    pop_with(c, group, topic, max, invisible_ms, poll_ms, |_| {}).await
}

/// [`pop`] with the request header adjusted by `tweak` (order, attemptId, queueId...).
pub async fn pop_with(
    c: &Connection,
    group: &str,
    topic: &str,
    max: i32,
    invisible_ms: i64,
    poll_ms: i64,
    tweak: impl FnOnce(&mut PopMessageRequestHeader),
) -> PopResult {
    let mut h = PopMessageRequestHeader {
        consumer_group: group.into(),
        topic: topic.into(),
        queue_id: -1,
        max_msg_nums: max,
        invisible_time: invisible_ms,
        poll_time: poll_ms,
        born_time: now_ms(),
        init_mode: 0,
        exp_type: Some("TAG".into()),
        exp: Some("*".into()),
        order: Some(false),
        attempt_id: None,
        broker_name: Some("broker-t".into()),
    };
    tweak(&mut h);
    let req = RemotingCommand::request_with_header(RequestCode::POP_MESSAGE, &h);
    let resp = c.request(req, T).await.unwrap();
    let code = resp.response_code();
    let header = PopMessageResponseHeader::read_ext(&resp.ext_fields).ok();
    let mut messages = Vec::new();
    if code == ResponseCode::SUCCESS {
        let hd = header.clone().expect("a FOUND response has the header");
        let starts: Vec<(String, i64)> = hd
            .start_offset_info
            .clone()
            .unwrap_or_default()
            .split(';')
            .map(|e| {
                let p: Vec<&str> = e.split(' ').collect();
                (format!("{}@{}", p[0], p[1]), p[2].parse().unwrap())
            })
            .collect();
        for m in decode_all(&resp.body, &DecodeOptions::client()).unwrap() {
            let handle = match m.properties.value(property::POP_CK) {
                Some(ck) => ck.to_owned(),
                None => {
                    let key = format!("0@{}", m.queue_id);
                    let start = starts.iter().find(|(k, _)| *k == key).unwrap().1;
                    format!(
                        "{start} {} {} {} 0 broker-t {} {}",
                        hd.pop_time, hd.invisible_time, hd.revive_qid, m.queue_id, m.queue_offset
                    )
                }
            };
            let retry = field(&handle, 4).to_owned();
            let real_topic = match retry.as_str() {
                "0" => topic.to_owned(),
                "1" => format!("%RETRY%{group}_{topic}"),
                _ => format!("%RETRY%{group}+{topic}"),
            };
            messages.push(Popped {
                queue_id: field(&handle, 6).parse().unwrap(),
                offset: field(&handle, 7).parse().unwrap(),
                handle,
                real_topic,
                msg: m,
            });
        }
    }
    PopResult {
        code,
        remark: resp.remark.clone(),
        header,
        messages,
    }
}

/// Pops until `want` messages came or `within` passed (each pop long-polls up to 2 s).
pub async fn pop_until(
    c: &Connection,
    group: &str,
    topic: &str,
    want: usize,
    invisible_ms: i64,
    within: Duration,
) -> Vec<Popped> {
    let deadline = std::time::Instant::now() + within;
    let mut out = Vec::new();
    while out.len() < want && std::time::Instant::now() < deadline {
        let r = pop(c, group, topic, 32, invisible_ms, 2000).await;
        assert!(
            r.code == ResponseCode::SUCCESS || r.code == ResponseCode::POLLING_TIMEOUT,
            "{:?} {:?}",
            r.code,
            r.remark
        );
        out.extend(r.messages);
    }
    out
}

pub async fn ack_raw(
    c: &Connection,
    group: &str,
    topic: &str,
    queue_id: i32,
    offset: i64,
    handle: &str,
) -> (ResponseCode, Option<String>) {
    let h = AckMessageRequestHeader {
        consumer_group: group.into(),
        topic: topic.into(),
        queue_id,
        extra_info: handle.into(),
        offset,
        broker_name: Some("broker-t".into()),
    };
    let resp = c
        .request(
            RemotingCommand::request_with_header(RequestCode::ACK_MESSAGE, &h),
            T,
        )
        .await
        .unwrap();
    (resp.response_code(), resp.remark.clone())
}

pub async fn ack(c: &Connection, group: &str, p: &Popped) -> ResponseCode {
    ack_raw(c, group, &p.real_topic, p.queue_id, p.offset, &p.handle)
        .await
        .0
}

/// CHANGE_MESSAGE_INVISIBLETIME; returns the code and the new handle (as the Java client
/// builds it).
pub async fn change(
    c: &Connection,
    group: &str,
    p: &Popped,
    invisible_ms: i64,
) -> (ResponseCode, Option<String>) {
    let h = ChangeInvisibleTimeRequestHeader {
        consumer_group: group.into(),
        topic: p.real_topic.clone(),
        queue_id: p.queue_id,
        extra_info: p.handle.clone(),
        offset: p.offset,
        invisible_time: invisible_ms,
        broker_name: Some("broker-t".into()),
    };
    let resp = c
        .request(
            RemotingCommand::request_with_header(RequestCode::CHANGE_MESSAGE_INVISIBLETIME, &h),
            T,
        )
        .await
        .unwrap();
    let code = resp.response_code();
    let handle = ChangeInvisibleTimeResponseHeader::read_ext(&resp.ext_fields)
        .ok()
        .map(|r| {
            format!(
                "{} {} {} {} {} broker-t {} {}",
                p.offset,
                r.pop_time,
                r.invisible_time,
                r.revive_qid,
                field(&p.handle, 4),
                p.queue_id,
                p.offset
            )
        });
    (code, handle)
}

pub async fn batch_ack(c: &Connection, body: &str) -> ResponseCode {
    let req = RemotingCommand::request(RequestCode::BATCH_ACK_MESSAGE)
        .with_body(Bytes::from(body.to_owned()));
    c.request(req, T).await.unwrap().response_code()
}
