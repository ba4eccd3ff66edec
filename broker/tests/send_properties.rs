//! The send path keeps the client's properties text (docs/performance-broker.md, "Fourth round: the
//! send path"): whatever text a client sends, single or batched, what a consumer reads back is what
//! decoding the text into a map, inserting the broker's keys and encoding it again gives, and the
//! dispatcher finds the same tag and keys in it.
#![allow(clippy::unwrap_used)]

use bytes::{BufMut, Bytes, BytesMut};
use ferromq_protocol::header::send::{SendMessageRequestHeaderV2, SendMessageResponseHeader};
use ferromq_protocol::message::{property, MessageExt, Properties};
use ferromq_protocol::{CommandHeader, RemotingCommand, RequestCode, ResponseCode};
use ferromq_remoting::Connection;

mod support;
use support::*;

/// Sends and returns the response header (the send must succeed).
async fn send(c: &Connection, code: RequestCode, h: &SendMessageRequestHeaderV2, body: Bytes) {
    let req = RemotingCommand::request_with_header(code, h).with_body(body);
    let resp = c.request(req, T).await.unwrap();
    assert_eq!(
        resp.response_code(),
        ResponseCode::SUCCESS,
        "{:?}",
        resp.remark
    );
    let h = SendMessageResponseHeader::read_ext(&resp.ext_fields).unwrap();
    assert!(h.transaction_id.is_some());
}

/// Every message of `topic` queue 0, from the start.
async fn pull_all(c: &Connection, topic: &str, n: i64) -> Vec<MessageExt> {
    wait_max_offset(c, topic, 0, n).await;
    let resp = c
        .request(pull_request("GP", topic, 0, 0, 0), T)
        .await
        .unwrap();
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    messages(&resp.body)
}

/// What the map-based path stored: the text decoded, the broker's keys inserted; UNIQ_KEY
/// (generated when missing) checked apart.
fn expected(text: &[u8], single: bool, stored: &Properties) -> Properties {
    let mut p = Properties::decode_bytes(text);
    if single {
        p.insert(property::MSG_REGION, "DefaultRegion");
        p.insert(property::TRACE_SWITCH, "true");
    }
    p.insert(property::CLUSTER, "DefaultCluster");
    if p.uniq_key().is_none() {
        let generated = stored.uniq_key().expect("a UNIQ_KEY is generated");
        p.insert(property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX, generated);
    }
    p
}

const TEXTS: [&str; 10] = [
    "",
    "TAGS\u{1}TagA\u{2}KEYS\u{1}k0 x\u{2}",
    "TAGS\u{1}TagA\u{2}KEYS\u{1}k1",
    "TAGS\u{1}old\u{2}TAGS\u{1}TagA\u{2}KEYS\u{1}k2\u{2}",
    "CLUSTER\u{1}theirs\u{2}MSG_REGION\u{1}r\u{2}TRACE_ON\u{1}no\u{2}TAGS\u{1}TagA\u{2}",
    "UNIQ_KEY\u{1}\u{2}TAGS\u{1}TagA\u{2}\u{1}x\u{2}ab\u{2}\u{2}KEYS\u{1}k5\u{2}",
    "UNIQ_KEY\u{1}mine\u{2}TAGS\u{1}TagA\u{2}",
    "TAGS\u{1}Tag\u{1}A\u{2}KEYS\u{1}k7\u{2}",
    "名前\u{1}值\u{2}TAGS\u{1}TagA\u{2}",
    "TAGS\u{1}TagB\u{2}WAIT\u{1}false\u{2}",
];

#[tokio::test]
async fn single_sends_store_what_the_decoded_map_stored() {
    let broker = TestBroker::start(|_| {}).await;
    let c = broker.client().await;
    subscribe(&c, "GP", "Props", "*").await;
    for (i, text) in TEXTS.iter().enumerate() {
        let body = Bytes::from(format!("m{i}"));
        send(
            &c,
            RequestCode::SEND_MESSAGE_V2,
            &send_header("Props", (*text).to_owned()),
            body,
        )
        .await;
    }
    // A text of repeats that fits only without them once the broker's keys are appended:
    // stored decoded and encoded again, as before.
    let long = format!("{}TAGS\u{1}TagA\u{2}", "K\u{1}v\u{2}".repeat(8170));
    send(
        &c,
        RequestCode::SEND_MESSAGE_V2,
        &send_header("Props", long.clone()),
        Bytes::from_static(b"long"),
    )
    .await;
    let got = pull_all(&c, "Props", TEXTS.len() as i64 + 1).await;
    let mut texts: Vec<&str> = TEXTS.to_vec();
    texts.push(&long);
    for (m, text) in got.iter().zip(&texts) {
        assert_eq!(
            m.properties,
            expected(text.as_bytes(), true, &m.properties),
            "{text:?}"
        );
    }
    assert_eq!(got[6].properties.uniq_key(), Some("mine"));
    assert_eq!(got[4].properties.value("CLUSTER"), Some("DefaultCluster"));

    // The dispatcher read the tag a reader sees: a tag subscription filters on it.
    subscribe(&c, "GT", "Props", "TagA").await;
    let resp = c
        .request(pull_request("GT", "Props", 0, 0, 0), T)
        .await
        .unwrap();
    let tagged: Vec<String> = messages(&resp.body)
        .iter()
        .map(|m| String::from_utf8_lossy(&m.body).into_owned())
        .collect();
    assert_eq!(
        tagged,
        ["m1", "m2", "m3", "m4", "m5", "m6", "m8", "long"],
        "TagA only (m0 has no tag, m7's tag is `Tag\\u{{1}}A`, m9's TagB)"
    );
    // ... and the keys: a key sent without a final separator, and one after junk segments.
    for (key, body) in [("k1", "m2"), ("k5", "m5"), ("x", "m1")] {
        let resp = c.request(query_request("Props", key), T).await.unwrap();
        assert_eq!(resp.response_code(), ResponseCode::SUCCESS, "{key}");
        assert_eq!(&messages(&resp.body)[0].body[..], body.as_bytes(), "{key}");
    }
    broker.stop().await;
}

/// A batch body with these properties texts (raw bytes: a batch entry need not be UTF-8).
fn batch_body(texts: &[&[u8]]) -> Bytes {
    let mut b = BytesMut::new();
    for (i, text) in texts.iter().enumerate() {
        let body = format!("b{i}");
        b.put_i32((20 + 2 + body.len() + text.len()) as i32);
        b.put_i32(0);
        b.put_i32(0);
        b.put_i32(0);
        b.put_i32(body.len() as i32);
        b.put_slice(body.as_bytes());
        b.put_i16(text.len() as i16);
        b.put_slice(text);
    }
    b.freeze()
}

#[tokio::test]
async fn batches_store_what_the_decoded_map_stored() {
    let broker = TestBroker::start(|_| {}).await;
    let c = broker.client().await;
    subscribe(&c, "GP", "Batch", "*").await;
    let mut texts: Vec<&[u8]> = TEXTS.iter().map(|t| t.as_bytes()).collect();
    texts.push(b"TAGS\x01\xff\xfeA\x02KEYS\x01\xc3\x02");
    texts.push(b"\xffTAGS\x01TagA\x02");
    let body = batch_body(&texts);
    send(
        &c,
        RequestCode::SEND_BATCH_MESSAGE,
        &send_header("Batch", String::new()),
        body,
    )
    .await;
    let got = pull_all(&c, "Batch", texts.len() as i64).await;
    assert_eq!(got.len(), texts.len());
    for (m, text) in got.iter().zip(&texts) {
        assert_eq!(
            m.properties,
            expected(text, false, &m.properties),
            "{text:?}"
        );
    }
    assert_eq!(got[10].properties.tags(), Some("\u{FFFD}\u{FFFD}A"));
    broker.stop().await;
}
