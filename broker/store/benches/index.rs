//! The key index's per-message cost: what the dispatcher spends indexing a record's `UNIQ_KEY`
//! (and a record with two `KEYS` besides), passes of 64 records each closed by
//! [`IndexService::end_of_pass`], in a file of Apache's default size (5,000,000 slots,
//! 20,000,000 entries) on the disk the temporary directory is on.
//!
//! ```text
//! cargo bench -p ferromq-store --bench index
//! ```
#![allow(clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ferromq_store::commit_log::DispatchRequest;
use ferromq_store::index::IndexService;

const PASS: usize = 64;

fn request(n: u64, keys: Option<&str>) -> DispatchRequest {
    DispatchRequest {
        topic: "BenchmarkTest".to_owned(),
        queue_id: (n % 4) as i32,
        commit_log_offset: n * 1200,
        size: 1200,
        queue_offset: (n / 4) as i64,
        tags_code: 0,
        store_timestamp: 1_765_000_000_000 + (n / 1000) as i64,
        sys_flag: 0,
        uniq_key: Some(format!("7F0000010B2C18B4AAC25F4E{n:08X}")),
        keys: keys.map(str::to_owned),
        prepared_transaction_offset: 0,
    }
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("index");
    g.throughput(Throughput::Elements(PASS as u64));
    for (name, keys) in [
        ("uniq key", None),
        ("uniq key + 2 keys", Some("order-1 user-2")),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let index = IndexService::load(dir.path(), 5_000_000, 20_000_000, true, 0).unwrap();
        let mut n = 0u64;
        g.bench_function(format!("dispatch pass of {PASS}/{name}"), |b| {
            b.iter_batched(
                || {
                    let reqs: Vec<_> = (0..PASS as u64).map(|i| request(n + i, keys)).collect();
                    n += PASS as u64;
                    reqs
                },
                |reqs| {
                    for r in &reqs {
                        index.dispatch(r).unwrap();
                    }
                    index.end_of_pass().unwrap();
                },
                BatchSize::SmallInput,
            );
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
