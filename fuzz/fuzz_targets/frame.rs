//! Frames from a hostile peer: any bytes fed to the frame decoder and both header decoders must
//! give a command or an error, never a panic, and never allocate past the frame limit.
#![no_main]

use bytes::BytesMut;
use ferromq_protocol::frame::{self, FrameDecoder};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let decoder = FrameDecoder::new(64 * 1024);
    let mut buf = BytesMut::from(data);
    while let Ok(Some(cmd)) = decoder.decode(&mut buf) {
        // Whatever decodes must encode again.
        let _ = frame::encode_to_bytes(&cmd, ferromq_protocol::SerializeType::Json);
    }
    let _ = frame::decode_json_header(data);
    let _ = frame::decode_binary_header(data);
    let _ = ferromq_protocol::json::parse(data);
});
