//! ACL 1.0 signatures: what a broker with `aclEnable` computes for every request it receives (and
//! a signing client for every request it sends), for a send of a 1 KiB and of a 1 MiB body.

use bytes::Bytes;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ferromq_protocol::{acl, RemotingCommand, RequestCode};

fn send(body: usize) -> RemotingCommand {
    let mut r = RemotingCommand::request(RequestCode::SEND_MESSAGE_V2)
        .with_body(Bytes::from(vec![b'x'; body]));
    for (k, v) in [
        ("a", "please_rename_unique_group_name"),
        ("b", "BenchmarkTest"),
        ("c", "TBW102"),
        ("d", "4"),
        ("e", "3"),
        ("f", "0"),
        ("g", "1732000000000"),
        ("h", "0"),
        (
            "i",
            "KEYS\u{1}order-4711\u{2}TAGS\u{1}TagA\u{2}WAIT\u{1}true\u{2}",
        ),
        ("j", "0"),
        ("k", "false"),
        ("m", "false"),
        ("bname", "broker-a"),
        ("AccessKey", "RocketMQ"),
        ("Signature", "G4OotWCLgBupD1S1NUxNoPiRSh0="),
    ] {
        r.ext_fields.insert(k, v);
    }
    r
}

fn bench_signature(c: &mut Criterion) {
    let mut g = c.benchmark_group("acl_signature");
    for (name, size) in [("send_1k", 1024), ("send_1m", 1 << 20)] {
        let r = send(size);
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_function(name, |b| {
            b.iter(|| acl::signature(black_box("12345678"), black_box(&r)))
        });
        // The broker's way: the key's pads hashed once per account.
        let key = acl::SigningKey::new("12345678");
        g.bench_function(format!("{name}_prepared_key"), |b| {
            b.iter(|| black_box(&key).sign(black_box(&r)))
        });
    }
    g.finish();
}

criterion_group!(benches, bench_signature);
criterion_main!(benches);
