//! Pull bodies and batch bodies from a hostile peer: the stored-message and batch decoders must
//! give messages or an error, never a panic, and decompression stays within its limit.
#![no_main]

use bytes::Bytes;
use ferromq_protocol::message::{decode_all, decode_batch, DecodeOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let bytes = Bytes::copy_from_slice(data);
    let mut options = DecodeOptions::client();
    options.max_decompressed_size = 1 << 20;
    let _ = decode_all(&bytes, &options);
    let _ = decode_all(&bytes, &DecodeOptions::store());
    let _ = decode_batch(&bytes);
});
