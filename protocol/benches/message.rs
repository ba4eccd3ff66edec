//! Stored-message codec throughput: decode and encode of a 1 KiB message with 5 properties,
//! and a pull body of 32 such messages decoded the way a consumer does: whole records
//! (`decode_all`, what the client did before the fourth round), records with the topic and
//! properties left as bytes (`decode_all_parts`, what it does now), and those parts with every
//! message's properties decoded after all (a listener that reads a property of each message).
//!
//! ```text
//! cargo bench -p ferromq-protocol --bench message -- --warm-up-time 1 --measurement-time 3
//! ```

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ferromq_protocol::message::{
    decode_all, decode_all_parts, decode_record, property, DecodeOptions, MessageExt,
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

criterion_group!(benches, bench);
criterion_main!(benches);
