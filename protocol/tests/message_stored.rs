//! Stored record codec: golden bytes, round trips, truncation.

use std::net::SocketAddr;

use bytes::{BufMut, Bytes, BytesMut};
use ferromq_protocol::message::{
    body_crc, compress, decode_all, decode_messages, decode_record, property, sysflag,
    CompressionType, DecodeOptions, MessageExt, MessageVersion, Properties, StoredRecord,
    BLANK_MAGIC_CODE,
};
use ferromq_protocol::ProtocolError;

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("socket address")
}

/// The message the golden bytes below encode.
fn golden_message() -> MessageExt {
    MessageExt {
        store_size: 125,
        version: MessageVersion::V1,
        body_crc: 0x3610_A686, // CRC32("hello") & 0x7FFFFFFF
        queue_id: 3,
        flag: 0,
        queue_offset: 5,
        commit_log_offset: 4096,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        born_host: addr("192.168.1.2:50000"),
        store_timestamp: 1_700_000_000_123,
        store_host: addr("127.0.0.1:10911"),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: Bytes::from_static(b"hello"),
        topic: "TopicTest".to_owned(),
        properties: [
            (property::TAGS, "TagA"),
            (property::WAIT_STORE_MSG_OK, "true"),
        ]
        .into_iter()
        .collect(),
    }
}

/// Derived by hand from the field table of docs/protocol.md, "Stored message record".
const GOLDEN_HEX: &str = concat!(
    "0000007D",             // TOTALSIZE 125 = 91 fixed + 5 body + 9 topic + 20 properties
    "DAA320A7",             // MAGICCODE v1
    "3610A686",             // BODYCRC
    "00000003",             // QUEUEID
    "00000000",             // FLAG
    "0000000000000005",     // QUEUEOFFSET
    "0000000000001000",     // PHYSICALOFFSET 4096
    "00000000",             // SYSFLAG
    "0000018BCFE56800",     // BORNTIMESTAMP 1700000000000
    "C0A80102",             // BORNHOST 192.168.1.2
    "0000C350",             //   port 50000
    "0000018BCFE5687B",     // STORETIMESTAMP 1700000000123
    "7F000001",             // STOREHOST 127.0.0.1
    "00002A9F",             //   port 10911
    "00000000",             // RECONSUMETIMES
    "0000000000000000",     // PREPARED TRANSACTION OFFSET
    "00000005",             // BODYLEN
    "68656C6C6F",           // "hello"
    "09",                   // TOPICLEN
    "546F70696354657374",   // "TopicTest"
    "0014",                 // PROPERTIESLEN 20
    "54414753015461674102", // TAGS \1 TagA \2
    "57414954017472756502", // WAIT \1 true \2
);

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn golden() -> Vec<u8> {
    unhex(GOLDEN_HEX)
}

#[test]
fn golden_encode_and_decode() {
    let msg = golden_message();
    assert_eq!(body_crc(b"hello"), 0x3610_A686);
    assert_eq!(msg.encoded_len(), 125);
    let golden = golden();
    assert_eq!(golden.len(), 125);
    assert_eq!(msg.encode_to_bytes().expect("encode").as_ref(), &golden[..]);

    let buf = Bytes::from(golden);
    let (rec, len) = decode_record(&buf, 0, &DecodeOptions::store()).expect("decode");
    assert_eq!(len, 125);
    assert_eq!(rec, StoredRecord::Message(msg.clone()));
    assert_eq!(msg.offset_msg_id(), "7F00000100002A9F0000000000001000");
    assert_eq!(msg.msg_id(), msg.offset_msg_id());
    assert_eq!(msg.tags(), Some("TagA"));
}

#[test]
fn body_is_zero_copy() {
    let buf = Bytes::from(golden());
    let (rec, _) = decode_record(&buf, 0, &DecodeOptions::default()).expect("decode");
    let StoredRecord::Message(m) = rec else {
        panic!("not a message")
    };
    let start = buf.as_ptr() as usize;
    let body = m.body.as_ptr() as usize;
    assert_eq!(body - start, 88);
}

fn rich_message() -> MessageExt {
    let mut props = Properties::new();
    props.insert(
        property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
        "AC1100020001000000000000000A0001",
    );
    props.insert(property::KEYS, "k1 k2 ключ");
    props.insert("用户", "值✓ 🦀");
    let mut m = MessageExt {
        version: MessageVersion::V1,
        queue_id: 7,
        flag: -1,
        queue_offset: i64::MAX,
        commit_log_offset: 123_456_789_012,
        sys_flag: sysflag::TRANSACTION_COMMIT_TYPE | sysflag::MULTI_TAGS,
        born_timestamp: 1,
        born_host: addr("[2001:db8::7]:40000"),
        store_timestamp: -1,
        store_host: addr("[::1]:10911"),
        reconsume_times: 16,
        prepared_transaction_offset: 99,
        body: Bytes::from(vec![0xAB; 1000]),
        topic: "rich-topic".to_owned(),
        properties: props,
        ..MessageExt::default()
    };
    m.refresh_body_crc();
    m.store_size = m.encoded_len() as i32;
    m
}

#[test]
fn ipv6_round_trip() {
    let m = rich_message();
    let buf = m.encode_to_bytes().expect("encode");
    assert_eq!(buf.len(), 115 + 1000 + 10 + m.properties.encoded_len());
    let (rec, len) = decode_record(&buf, 0, &DecodeOptions::store()).expect("decode");
    assert_eq!(len, buf.len());
    let StoredRecord::Message(d) = rec else {
        panic!("not a message")
    };
    assert_eq!(
        d.sys_flag & (sysflag::BORNHOST_V6 | sysflag::STOREHOST_V6),
        0x30
    );
    let mut expected = m.clone();
    expected.sys_flag = m.encoded_sys_flag();
    assert_eq!(d, expected);
    assert_eq!(d.offset_msg_id().len(), 56);
    assert_eq!(d.msg_id(), "AC1100020001000000000000000A0001");
}

#[test]
fn long_topic_uses_v2() {
    for (len, version) in [
        (127, MessageVersion::V1),
        (128, MessageVersion::V2),
        (1000, MessageVersion::V2),
    ] {
        let mut m = golden_message();
        m.topic = "t".repeat(len);
        m.store_size = m.encoded_len() as i32;
        assert_eq!(m.encoded_version(), version);
        let buf = m.encode_to_bytes().expect("encode");
        assert_eq!(&buf[4..8], &version.magic_code().to_be_bytes());
        let (rec, _) = decode_record(&buf, 0, &DecodeOptions::store()).expect("decode");
        m.version = version;
        assert_eq!(rec, StoredRecord::Message(m));
    }
}

#[test]
fn client_decode_inflates_and_clears_bit() {
    let plain = Bytes::from(vec![b'x'; 10_000]);
    for ty in [
        CompressionType::Zlib,
        CompressionType::Lz4,
        CompressionType::Zstd,
    ] {
        let mut m = golden_message();
        m.body = Bytes::from(compress(&plain, ty, 5).expect("compress"));
        m.sys_flag = sysflag::with_compression(0, ty);
        m.refresh_body_crc();
        let buf = m.encode_to_bytes().expect("encode");

        let raw = decode_all(&buf, &DecodeOptions::store()).expect("raw");
        assert_eq!(raw[0].body, m.body);
        assert!(raw[0].is_compressed());

        let client = decode_all(&buf, &DecodeOptions::client()).expect("client");
        assert_eq!(client[0].body, plain);
        assert!(!client[0].is_compressed());
        assert_eq!(
            client[0].sys_flag,
            sysflag::clear_compressed(sysflag::with_compression(0, ty))
        );

        let tight = DecodeOptions {
            max_decompressed_size: 9_999,
            ..DecodeOptions::client()
        };
        assert!(matches!(
            decode_all(&buf, &tight),
            Err(ProtocolError::TooLarge { .. })
        ));
    }
    // Pre-5.x producers: only bit 0 set means zlib.
    let mut m = golden_message();
    m.body = Bytes::from(compress(&plain, CompressionType::Zlib, 5).expect("compress"));
    m.sys_flag = sysflag::COMPRESSED;
    let buf = m.encode_to_bytes().expect("encode");
    let client = decode_all(&buf, &DecodeOptions::client()).expect("client");
    assert_eq!(client[0].body, plain);
    assert_eq!(client[0].sys_flag, 0);
}

#[test]
fn crc_mismatch_detected_only_when_asked() {
    let mut m = golden_message();
    m.body_crc ^= 1;
    let buf = m.encode_to_bytes().expect("encode");
    assert!(decode_record(&buf, 0, &DecodeOptions::default()).is_ok());
    assert!(decode_record(&buf, 0, &DecodeOptions::store()).is_err());
}

#[test]
fn pull_body_of_several_records() {
    let mut body = BytesMut::new();
    let a = golden_message();
    let b = rich_message();
    a.encode(&mut body).expect("a");
    b.encode(&mut body).expect("b");
    a.encode(&mut body).expect("a again");
    let body = body.freeze();
    let all = decode_all(&body, &DecodeOptions::client()).expect("decode");
    assert_eq!(all.len(), 3);
    assert_eq!(all[0], a);
    assert_eq!(all[1].topic, b.topic);
    assert_eq!(all[2], a);
    // Garbage at the end: the valid ones come first, then the error, then nothing.
    let mut bad = BytesMut::from(&body[..]);
    bad.put_slice(&[0, 0, 0, 9, 1, 2, 3]);
    let bad = bad.freeze();
    let items: Vec<_> = decode_messages(&bad, &DecodeOptions::default()).collect();
    assert_eq!(items.len(), 4);
    assert!(items[..3].iter().all(Result::is_ok));
    assert!(items[3].is_err());
    assert!(decode_all(&Bytes::new(), &DecodeOptions::default())
        .expect("empty")
        .is_empty());
}

#[test]
fn blank_record() {
    let mut raw = BytesMut::new();
    golden_message().encode(&mut raw).expect("encode");
    raw.put_i32(4096);
    raw.put_i32(BLANK_MAGIC_CODE);
    let buf = raw.freeze();
    let (blank, len) = decode_record(&buf, 125, &DecodeOptions::default()).expect("blank");
    assert_eq!(blank, StoredRecord::Blank { len: 4096 });
    assert_eq!(len, 4096);
    // Not acceptable inside a message body.
    assert!(decode_all(&buf, &DecodeOptions::default()).is_err());
    // A blank shorter than its own header is malformed.
    let tiny = Bytes::from([0, 0, 0, 4, 0xCB, 0xD4, 0x31, 0x94].to_vec());
    assert!(decode_record(&tiny, 0, &DecodeOptions::default()).is_err());
}

#[test]
fn every_truncation_is_an_error() {
    for m in [golden_message(), rich_message()] {
        let full = m.encode_to_bytes().expect("encode");
        for cut in 0..full.len() {
            let part = full.slice(..cut);
            assert!(
                decode_record(&part, 0, &DecodeOptions::client()).is_err(),
                "cut {cut}"
            );
            assert!(decode_all(&part, &DecodeOptions::client()).is_err() || cut == 0);
        }
        // A TOTALSIZE too small or too big for the fields is malformed, not a panic.
        for delta in [-1i32, 1] {
            let mut raw = BytesMut::from(&full[..]);
            raw.put_u8(0);
            let total = full.len() as i32 + delta;
            raw[..4].copy_from_slice(&total.to_be_bytes());
            assert!(decode_record(&raw.freeze(), 0, &DecodeOptions::default()).is_err());
        }
    }
}

#[test]
fn bad_fields_are_rejected() {
    let full = golden_message().encode_to_bytes().expect("encode");
    let patch = |at: usize, bytes: &[u8]| {
        let mut raw = BytesMut::from(&full[..]);
        raw[at..at + bytes.len()].copy_from_slice(bytes);
        decode_record(&raw.freeze(), 0, &DecodeOptions::default())
    };
    assert!(patch(0, &(-1i32).to_be_bytes()).is_err()); // negative TOTALSIZE
    assert!(patch(4, &[0, 0, 0, 0]).is_err()); // unknown magic
    assert!(patch(52, &(-1i32).to_be_bytes()).is_err()); // born port out of range
    assert!(patch(52, &65536i32.to_be_bytes()).is_err());
    assert!(patch(84, &(-5i32).to_be_bytes()).is_err()); // negative BODYLEN
    assert!(patch(84, &i32::MAX.to_be_bytes()).is_err()); // huge BODYLEN
    assert!(patch(93, &[0xFF]).is_err()); // negative (v1 signed byte) topic length
    assert!(patch(93, &[0x80]).is_err()); // -128, not 128
    assert!(patch(94, &[0xFF]).is_err()); // topic not UTF-8
    assert!(patch(103, &[0x80, 0x00]).is_err()); // negative PROPERTIESLEN
                                                 // Offsets past the end are a truncation, not a panic.
    assert!(decode_record(&full, 1000, &DecodeOptions::default()).is_err());
    assert!(decode_record(&full, usize::MAX, &DecodeOptions::default()).is_err());
}

#[test]
fn encode_limits() {
    let mut m = golden_message();
    let mut sink = BytesMut::new();
    assert!(matches!(
        m.encode_with_limit(&mut sink, 4),
        Err(ProtocolError::TooLarge {
            what: "message body",
            ..
        })
    ));
    assert!(sink.is_empty());
    m.properties.insert("big", "v".repeat(32_767));
    assert!(matches!(
        m.encode(&mut sink),
        Err(ProtocolError::TooLarge {
            what: "message properties",
            ..
        })
    ));
    let mut m = golden_message();
    m.topic = "t".repeat(32_768);
    assert!(m.encode(&mut sink).is_err());
    // A fixed-size destination that is too small.
    let m = golden_message();
    let mut small = [0u8; 124];
    assert!(m.encode(&mut &mut small[..]).is_err());
    let mut exact = [0u8; 125];
    assert_eq!(m.encode(&mut &mut exact[..]).expect("fits"), 125);
    assert_eq!(&exact[..], &golden()[..]);
}
