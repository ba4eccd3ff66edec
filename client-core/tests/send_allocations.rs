//! Heap allocations per producer send, counted by a global allocator that counts, against real
//! servers started as processes (`LocalCluster`), so only the client's allocations count.
//!
//! Prints the figure (docs/performance-clients.md, "The client (mqbench)") and fails when a send
//! allocates more than a generous bound: a send path that went back to a map of owned strings per
//! header, or to an allocation per request field, is caught here. Run it with `--nocapture` to see
//! the count.

#![allow(unsafe_code)]
// The figure is the point of the test: printed for docs/performance.md.
#![allow(clippy::print_stdout)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ferromq_client::testing::LocalCluster;
use ferromq_client::{Admin, Message, Producer, ProducerOptions, SendStatus, TopicOptions};

/// The system allocator, counting allocations and the bytes asked for.
struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);
/// Allocations of at least 1 KiB (each one makes glibc consolidate its small-chunk bins).
static LARGE: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        // SAFETY: forwarded with the caller's pointer, layout and size.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's pointer and layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

fn count(size: usize) {
    ALLOCS.fetch_add(1, Ordering::Relaxed);
    BYTES.fetch_add(size as u64, Ordering::Relaxed);
    if size >= 1024 {
        LARGE.fetch_add(1, Ordering::Relaxed);
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// Allocations a sync send of a 1 KiB message with a tag and a key may make. The send path
/// made about 95 before the header map was flattened (docs/performance.md); the bound leaves
/// room for the runtime's own timers and wake-ups without hiding a return to that.
const MAX_ALLOCS_PER_SEND: f64 = 60.0;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_send_allocates_a_bounded_number_of_times() {
    let cluster = tokio::task::spawn_blocking(|| LocalCluster::start(1))
        .await
        .expect("join")
        .expect("cluster");
    let config = cluster.client_config("alloc-count");
    let topic = format!("AllocCount{}", std::process::id());
    let admin = Admin::new(&config).expect("admin");
    admin
        .create_topic("DefaultCluster", &topic, &TopicOptions::default())
        .await
        .expect("create topic");
    let producer = Producer::start(ProducerOptions {
        client: config,
        group: format!("alloc_pg_{}", std::process::id()),
        ..ProducerOptions::default()
    })
    .await
    .expect("producer");
    let body = bytes::Bytes::from(vec![b'x'; 1024]);
    let message = || {
        Message::new(&topic, body.clone())
            .with_tag("TagA")
            .with_keys(["order-4711"])
    };
    // Warm up: the route, the connection, the queue cache (polled: the route appears once the
    // broker has registered the new topic).
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut warm = 0;
    while warm < 200 {
        match producer.send(message()).await {
            Ok(r) if r.status == SendStatus::Ok => warm += 1,
            Ok(_) | Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            other => panic!("warm-up send failed: {other:?}"),
        }
    }
    let sends = 2_000u64;
    let (a0, b0, l0) = (
        ALLOCS.load(Ordering::Relaxed),
        BYTES.load(Ordering::Relaxed),
        LARGE.load(Ordering::Relaxed),
    );
    for _ in 0..sends {
        let r = producer.send(message()).await.expect("send");
        assert_eq!(r.status, SendStatus::Ok);
    }
    let allocs = (ALLOCS.load(Ordering::Relaxed) - a0) as f64 / sends as f64;
    let bytes = (BYTES.load(Ordering::Relaxed) - b0) as f64 / sends as f64;
    let large = (LARGE.load(Ordering::Relaxed) - l0) as f64 / sends as f64;
    println!(
        "per sync send of 1 KiB: {allocs:.1} allocations, {bytes:.0} bytes asked for, \
         {large:.2} allocations of 1 KiB or more"
    );
    producer.shutdown().await;
    admin.shutdown().await;
    tokio::task::spawn_blocking(move || cluster.stop())
        .await
        .expect("stop");
    assert!(
        allocs <= MAX_ALLOCS_PER_SEND,
        "{allocs:.1} allocations per send, more than {MAX_ALLOCS_PER_SEND}"
    );
}
