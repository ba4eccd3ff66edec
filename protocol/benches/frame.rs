//! Frame and send-header hot paths: what a broker does for every SEND_MESSAGE_V2 it receives and
//! every response it writes.

use bytes::{Bytes, BytesMut};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ferromq_protocol::frame::{self, FrameDecoder};
use ferromq_protocol::header::send::SendMessageRequestHeaderV2;
use ferromq_protocol::{CommandHeader, RemotingCommand, RequestCode, SerializeType};

fn send_header() -> SendMessageRequestHeaderV2 {
    SendMessageRequestHeaderV2 {
        producer_group: "please_rename_unique_group_name".to_owned(),
        topic: "BenchmarkTest".to_owned(),
        default_topic: "TBW102".to_owned(),
        default_topic_queue_nums: 4,
        queue_id: 3,
        sys_flag: 0,
        born_timestamp: 1_732_000_000_000,
        flag: 0,
        properties: Some(
            "KEYS\u{1}order-4711\u{2}TAGS\u{1}TagA\u{2}WAIT\u{1}true\u{2}UNIQ_KEY\u{1}7F0000010B2C18B4AAC2\
             5F4E9C3A0000\u{2}"
                .to_owned(),
        ),
        reconsume_times: Some(0),
        unit_mode: Some(false),
        max_reconsume_times: None,
        batch: Some(false),
        broker_name: Some("broker-a".to_owned()),
    }
}

fn send_request() -> RemotingCommand {
    RemotingCommand::request_with_header(RequestCode::SEND_MESSAGE_V2, &send_header())
        .with_opaque(4711)
        .with_body(Bytes::from(vec![b'x'; 1024]))
}

fn bench_frames(c: &mut Criterion) {
    let cmd = send_request();
    for ser in [SerializeType::Json, SerializeType::RocketMq] {
        let encoded = frame::encode_to_bytes(&cmd, ser).expect("encode");
        let mut g = c.benchmark_group(format!("frame/{ser:?}"));
        g.throughput(Throughput::Elements(1));
        g.bench_function("encode send_v2 1KiB", |b| {
            let mut buf = BytesMut::with_capacity(4096);
            b.iter(|| {
                buf.clear();
                frame::encode(black_box(&cmd), ser, &mut buf).expect("encode");
                black_box(buf.len())
            })
        });
        g.bench_function("decode send_v2 1KiB", |b| {
            let decoder = FrameDecoder::default();
            b.iter(|| {
                let mut buf = BytesMut::from(&encoded[..]);
                black_box(decoder.decode(&mut buf).expect("decode").expect("frame"))
            })
        });
        g.finish();
    }
}

fn bench_send_header(c: &mut Criterion) {
    let header = send_header();
    let ext = header.to_ext();
    let mut g = c.benchmark_group("send_header_v2");
    g.throughput(Throughput::Elements(1));
    g.bench_function("to_ext", |b| {
        b.iter(|| black_box(black_box(&header).to_ext()))
    });
    g.bench_function("read_ext", |b| {
        b.iter(|| black_box(SendMessageRequestHeaderV2::read_ext(black_box(&ext)).expect("valid")))
    });
    g.finish();
}

/// What a broker does for every send it answers: the response header into extFields, then the
/// frame's header bytes.
fn bench_send_response(c: &mut Criterion) {
    use ferromq_protocol::header::send::SendMessageResponseHeader;
    use ferromq_protocol::ResponseCode;
    let header = SendMessageResponseHeader {
        msg_id: "7F00000100002A9F0000000000ABCDEF".to_owned(),
        queue_id: 3,
        queue_offset: 123_456,
        transaction_id: Some("7F0000010B2C18B4AAC25F4E9C3A0000".to_owned()),
        msg_region: Some("DefaultRegion".to_owned()),
        trace_on: Some(true),
        ..Default::default()
    };
    let mut g = c.benchmark_group("send_response");
    g.throughput(Throughput::Elements(1));
    g.bench_function("build and encode", |b| {
        let mut buf = BytesMut::with_capacity(4096);
        b.iter(|| {
            let resp = RemotingCommand::response(ResponseCode::SUCCESS, None)
                .with_opaque(4711)
                .with_header(black_box(&header));
            buf.clear();
            frame::encode_header(&resp, SerializeType::Json, 0, &mut buf).expect("encode");
            black_box(buf.len())
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    bench_frames,
    bench_send_header,
    bench_send_response
);
criterion_main!(benches);
