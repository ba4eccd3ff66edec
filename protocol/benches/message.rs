//! Stored-message codec throughput: decode and encode of a 1 KiB message with 5 properties, and a
//! pull body of 32 such messages decoded the way a consumer does: whole records (`decode_all`, what
//! the client did before the fourth round), records with the topic and properties left as bytes
//! (`decode_all_parts`, what it does now), and those parts with every message's properties decoded
//! after all (a listener that reads a property of each message). Then the broker's send and
//! dispatch work on a properties text, with a map and without one (`send_properties`,
//! `dispatch_fields`; docs/performance-broker.md, "Fourth round: the send path").
//!
//! ```text
//! cargo bench -p ferromq-protocol --bench message -- --warm-up-time 1 --measurement-time 3
//! ```

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ferromq_protocol::message::scan::{append_to, Scan};
use ferromq_protocol::message::{
    decode_all, decode_all_parts, decode_record, property, tag_hash_code, Appended, DecodeOptions,
    MessageExt, Properties, RecordView, StoredRecord,
};

fn message() -> MessageExt {
    let mut m = MessageExt {
        queue_id: 3,
        queue_offset: 123_456,
        commit_log_offset: 987_654_321,
        born_timestamp: 1_700_000_000_000,
        born_host: "10.0.0.7:50123".parse().expect("addr"),
        store_timestamp: 1_700_000_000_005,
        store_host: "10.0.0.1:10911".parse().expect("addr"),
        body: Bytes::from(vec![b'x'; 1024]),
        topic: "BenchmarkTest".to_owned(),
        properties: [
            (
                property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
                "0A0000070C3A1B2C3D4E01020304AB01",
            ),
            (property::TAGS, "TagA"),
            (property::KEYS, "order-42 user-7"),
            (property::WAIT_STORE_MSG_OK, "true"),
            (property::CLUSTER, "DefaultCluster"),
        ]
        .into_iter()
        .collect(),
        ..MessageExt::default()
    };
    m.refresh_body_crc();
    m
}

fn bench(c: &mut Criterion) {
    let msg = message();
    let encoded = msg.encode_to_bytes().expect("encode");
    let mut group = c.benchmark_group("stored_message_1KiB");
    group.throughput(Throughput::Bytes(encoded.len() as u64));
    group.bench_function("decode", |b| {
        b.iter(|| decode_record(black_box(&encoded), 0, &DecodeOptions::default()))
    });
    group.bench_function("decode_verify_crc", |b| {
        b.iter(|| decode_record(black_box(&encoded), 0, &DecodeOptions::store()))
    });
    let mut buf = BytesMut::with_capacity(encoded.len() * 2);
    group.bench_function("encode", |b| {
        b.iter(|| {
            buf.clear();
            black_box(&msg).encode(&mut buf)
        })
    });
    group.finish();

    let pull = 32;
    let body = Bytes::from(encoded.repeat(pull));
    let opts = DecodeOptions::client();
    let mut group = c.benchmark_group("pull_body_32x1KiB");
    group.throughput(Throughput::Elements(pull as u64));
    group.bench_function("decode_all", |b| {
        b.iter(|| decode_all(black_box(&body), &opts).expect("decode"))
    });
    group.bench_function("decode_all_parts", |b| {
        b.iter(|| decode_all_parts(black_box(&body), &opts).expect("decode"))
    });
    group.bench_function("decode_all_parts+properties", |b| {
        b.iter(|| {
            let parts = decode_all_parts(black_box(&body), &opts).expect("decode");
            parts
                .iter()
                .map(|p| p.decode_properties().len())
                .sum::<usize>()
        })
    });
    group.finish();
}

/// What a Java producer's single send carries.
const CLIENT_TEXT: &str = "KEYS\u{1}order-42 user-7\u{2}TAGS\u{1}TagA\u{2}\
    UNIQ_KEY\u{1}0A0000070C3A1B2C3D4E01020304AB01\u{2}WAIT\u{1}true\u{2}";

/// A single send's properties, from the client's text to the bytes stored: decoded into a map,
/// the broker's keys inserted, the values it needs copied out, encoded (before), against one
/// scan and the keys appended to the text (after).
fn send_properties(c: &mut Criterion) {
    let mut group = c.benchmark_group("send_properties");
    let mut out = Vec::with_capacity(512);
    group.bench_function("map: decode, insert 3, encode", |b| {
        b.iter(|| {
            out.clear();
            let mut p = Properties::decode(black_box(CLIENT_TEXT));
            p.insert(property::MSG_REGION, "DefaultRegion");
            p.insert(property::TRACE_SWITCH, "true");
            let uniq = p.uniq_key().map(str::to_owned);
            p.insert(property::CLUSTER, "DefaultCluster");
            let wait = p.wait_store_msg_ok();
            p.encode_to(&mut out);
            black_box((uniq, wait, out.len()))
        })
    });
    group.bench_function("text: scan, append 3", |b| {
        b.iter(|| {
            out.clear();
            let text = black_box(CLIENT_TEXT).as_bytes();
            let scan = Scan::new(
                text,
                &[
                    property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
                    property::WAIT_STORE_MSG_OK,
                    property::TRANSACTION_PREPARED,
                    property::DELAY_TIME_LEVEL,
                    property::TIMER_DELIVER_MS,
                    property::TIMER_DELAY_SEC,
                    property::TIMER_DELAY_MS,
                ],
            );
            let mut appended = Appended::new();
            appended.push(property::MSG_REGION, "DefaultRegion");
            appended.push(property::TRACE_SWITCH, "true");
            appended.push(property::CLUSTER, "DefaultCluster");
            append_to(&mut out, text, appended.as_slice());
            let uniq = scan.str(0).map(str::to_owned);
            black_box((uniq, scan.canonical, out.len()))
        })
    });
    group.finish();
}

/// What the dispatcher reads from a stored record: the whole record decoded into a
/// `MessageExt` (before) against a borrowed view and one scan (after); both copy the topic,
/// UNIQ_KEY and KEYS out as the dispatch request does.
fn dispatch_fields(c: &mut Criterion) {
    let encoded = message().encode_to_bytes().expect("encode");
    let mut group = c.benchmark_group("dispatch_fields");
    group.bench_function("decode_record", |b| {
        b.iter(|| {
            let Ok((StoredRecord::Message(m), _)) =
                decode_record(black_box(&encoded), 0, &DecodeOptions::store())
            else {
                unreachable!()
            };
            let tags = m.properties.tags().map(tag_hash_code);
            let uniq = m.properties.uniq_key().map(str::to_owned);
            let keys = m.properties.value(property::KEYS).map(str::to_owned);
            black_box((m.topic.clone(), tags, uniq, keys))
        })
    });
    group.bench_function("view + scan", |b| {
        b.iter(|| {
            let v = RecordView::parse(black_box(&encoded), true).expect("record");
            let s = v.scan(&[
                property::TAGS,
                property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
                property::KEYS,
                property::DELAY_TIME_LEVEL,
                property::TIMER_OUT_MS,
            ]);
            let tags = s.values[0].map(|t| tag_hash_code(&String::from_utf8_lossy(t)));
            let uniq = s.values[1].map(|u| String::from_utf8_lossy(u).into_owned());
            let keys = s.values[2].map(|k| String::from_utf8_lossy(k).into_owned());
            black_box((v.topic.to_owned(), tags, uniq, keys))
        })
    });
    group.finish();
}

criterion_group!(benches, bench, send_properties, dispatch_fields);
criterion_main!(benches);
