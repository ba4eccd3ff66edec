//! SEND_BATCH_MESSAGE body codec.

use bytes::{Bytes, BytesMut};
use ferromq_protocol::message::{
    batch_encoded_len, decode_batch, decode_batch_entry, encode_batch, encode_batch_to_bytes,
    property, BatchMessage, Properties,
};

fn messages() -> Vec<BatchMessage> {
    (0..3)
        .map(|i| BatchMessage {
            flag: i,
            body: Bytes::from(format!("body-{i} ✓")),
            properties: [
                (property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX, format!("ID{i}")),
                (property::TAGS, "TagA".to_owned()),
                (property::KEYS, "ключ".to_owned()),
            ]
            .into_iter()
            .collect(),
        })
        .collect()
}

#[test]
fn golden_single_entry() {
    let m = BatchMessage {
        flag: 1,
        body: Bytes::from_static(b"hi"),
        properties: [("K", "v")].into_iter().collect(),
    };
    // 22 + 2 + 4 = 28 bytes; magic and CRC are 0.
    let expected: &[u8] = &[
        0, 0, 0, 28, // TOTALSIZE
        0, 0, 0, 0, // MAGICCODE
        0, 0, 0, 0, // BODYCRC
        0, 0, 0, 1, // FLAG
        0, 0, 0, 2, b'h', b'i', // BODY
        0, 4, b'K', 1, b'v', 2, // PROPERTIES
    ];
    let encoded = encode_batch_to_bytes(std::slice::from_ref(&m)).expect("encode");
    assert_eq!(encoded.as_ref(), expected);
    assert_eq!(decode_batch(&encoded).expect("decode"), vec![m]);
}

#[test]
fn round_trip() {
    let msgs = messages();
    let body = encode_batch_to_bytes(&msgs).expect("encode");
    assert_eq!(body.len(), batch_encoded_len(&msgs));
    assert_eq!(decode_batch(&body).expect("decode"), msgs);
    let (first, len) = decode_batch_entry(&body, 0).expect("first");
    assert_eq!(first, msgs[0]);
    assert_eq!(len, msgs[0].encoded_len());
    assert!(decode_batch(&Bytes::new()).expect("empty").is_empty());
}

#[test]
fn every_truncation_is_an_error() {
    let body = encode_batch_to_bytes(&messages()).expect("encode");
    let boundaries: Vec<usize> = {
        let mut at = 0;
        let mut v = vec![0];
        for m in messages() {
            at += m.encoded_len();
            v.push(at);
        }
        v
    };
    for cut in 0..body.len() {
        let res = decode_batch(&body.slice(..cut));
        if boundaries.contains(&cut) {
            // Cutting between entries leaves a shorter valid batch.
            assert!(res.is_ok(), "cut {cut}");
        } else {
            assert!(res.is_err(), "cut {cut}");
        }
    }
}

#[test]
fn inconsistent_sizes_are_rejected() {
    let body = encode_batch_to_bytes(&messages()[..1]).expect("encode");
    for total in [-1i32, 0, 21, body.len() as i32 - 1, body.len() as i32 + 1] {
        let mut raw = BytesMut::from(&body[..]);
        raw[..4].copy_from_slice(&total.to_be_bytes());
        assert!(decode_batch(&raw.freeze()).is_err(), "total {total}");
    }
    let mut raw = BytesMut::from(&body[..]);
    raw[16..20].copy_from_slice(&(-1i32).to_be_bytes()); // negative BODYLEN
    assert!(decode_batch(&raw.freeze()).is_err());
}

#[test]
fn oversized_properties_are_refused() {
    let mut props = Properties::new();
    props.insert("big", "x".repeat(40_000));
    let m = BatchMessage {
        properties: props,
        ..BatchMessage::default()
    };
    let mut sink = BytesMut::new();
    assert!(encode_batch(&[m], &mut sink).is_err());
    assert!(sink.is_empty());
}
