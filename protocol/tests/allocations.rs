//! Heap allocations of the frame and header work every send costs, on both sides: counted by a
//! global allocator that counts (this test binary's own). The figures are printed (run with
//! `--nocapture`; docs/performance.md quotes them) and held under bounds that a return to a map
//! of owned strings per header would break.

#![allow(unsafe_code)]
// The figures are the point of the test: printed for docs/performance.md.
#![allow(clippy::print_stdout)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use bytes::{Bytes, BytesMut};
use ferromq_protocol::frame::{self, FrameDecoder};
use ferromq_protocol::header::send::{
    SendMessageRequestHeader, SendMessageRequestHeaderV2, SendMessageResponseHeader,
};
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode, SerializeType};

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; only a counter is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's pointer, layout and size.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's pointer and layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// Tests run on several threads; each measurement holds this so that only its own
/// allocations land between its two readings.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Allocations `f` makes, per call, over `n` calls (after one warm-up call).
fn allocations<T>(n: u64, mut f: impl FnMut() -> T) -> f64 {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    drop(f());
    let before = ALLOCS.load(Ordering::Relaxed);
    for _ in 0..n {
        drop(std::hint::black_box(f()));
    }
    (ALLOCS.load(Ordering::Relaxed) - before) as f64 / n as f64
}

/// The header the FerroMQ client sends with a 1 KiB message carrying a tag and a key.
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
            "KEYS\u{1}order-4711\u{2}TAGS\u{1}TagA\u{2}WAIT\u{1}true\u{2}UNIQ_KEY\u{1}\
             7F0000010B2C18B4AAC25F4E9C3A0000\u{2}"
                .to_owned(),
        ),
        reconsume_times: Some(0),
        unit_mode: Some(false),
        max_reconsume_times: None,
        batch: Some(false),
        broker_name: Some("broker-a".to_owned()),
    }
}

fn response_header() -> SendMessageResponseHeader {
    SendMessageResponseHeader {
        msg_id: "7F00000100002A9F0000000000ABCDEF".to_owned(),
        queue_id: 3,
        queue_offset: 123_456,
        transaction_id: Some("7F0000010B2C18B4AAC25F4E9C3A0000".to_owned()),
        msg_region: Some("DefaultRegion".to_owned()),
        trace_on: Some(true),
        ..Default::default()
    }
}

#[test]
fn the_broker_side_of_a_send_allocates_a_handful_of_times() {
    let body = Bytes::from(vec![b'x'; 1024]);
    let request =
        RemotingCommand::request_with_header(RequestCode::SEND_MESSAGE_V2, &send_header())
            .with_opaque(4711)
            .with_body(body);
    let wire = frame::encode_to_bytes(&request, SerializeType::Json).expect("encode");
    let decoder = FrameDecoder::default();
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let decode = allocations(1000, || {
        buf.clear();
        buf.extend_from_slice(&wire);
        let cmd = decoder.decode(&mut buf).expect("decode").expect("frame");
        SendMessageRequestHeader::from_command(&cmd).expect("header")
    });
    let header = response_header();
    let mut out = BytesMut::with_capacity(4096);
    let respond = allocations(1000, || {
        let resp = RemotingCommand::response(ResponseCode::SUCCESS, None)
            .with_opaque(4711)
            .with_header(&header);
        out.clear();
        frame::encode_header(&resp, SerializeType::Json, 0, &mut out).expect("encode");
        resp
    });
    println!(
        "broker: decode a SEND_MESSAGE_V2 frame and its header {decode:.1} allocations; \
         build and encode the response {respond:.1}"
    );
    // The frame (1), extFields (2), the header's five strings (5), and slack.
    assert!(decode <= 12.0, "{decode} allocations to decode a send");
    // extFields (2) and slack; the header text is written from a per-thread buffer.
    assert!(respond <= 4.0, "{respond} allocations to answer a send");
}

#[test]
fn the_client_side_of_a_send_allocates_a_handful_of_times() {
    let header = send_header();
    let body = Bytes::from(vec![b'x'; 1024]);
    let mut out = BytesMut::with_capacity(4096);
    let request = allocations(1000, || {
        let cmd = RemotingCommand::request_with_header(RequestCode::SEND_MESSAGE_V2, &header)
            .with_opaque(1)
            .with_body(body.clone());
        out.clear();
        frame::encode_header(&cmd, SerializeType::Json, cmd.body.len(), &mut out).expect("encode");
        cmd
    });
    let resp = RemotingCommand::response(ResponseCode::SUCCESS, None)
        .with_opaque(1)
        .with_header(&response_header());
    let wire = frame::encode_to_bytes(&resp, SerializeType::Json).expect("encode");
    let decoder = FrameDecoder::default();
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let response = allocations(1000, || {
        buf.clear();
        buf.extend_from_slice(&wire);
        let cmd = decoder.decode(&mut buf).expect("decode").expect("frame");
        cmd.header::<SendMessageResponseHeader>().expect("header")
    });
    println!(
        "client: build and encode a send request {request:.1} allocations; decode the \
         response and its header {response:.1}"
    );
    assert!(
        request <= 4.0,
        "{request} allocations to build a send request"
    );
    // The frame (1), extFields (2), the header's three strings (3), and slack.
    assert!(
        response <= 8.0,
        "{response} allocations to read a send response"
    );
}
