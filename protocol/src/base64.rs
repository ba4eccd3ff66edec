//! Base64 as Java's `java.util.Base64` writes it (with `=` padding): the standard alphabet for
//! ACL signatures, the URL-safe one for recall handles. Small enough not to need a crate, and
//! the protocol crate builds for wasm32 without one.

const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn encode_with(data: &[u8], alphabet: &[u8; 64]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(alphabet[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `Base64.getEncoder().encodeToString`.
pub(crate) fn encode(data: &[u8]) -> String {
    encode_with(data, STANDARD)
}

/// `Base64.getUrlEncoder().encodeToString`.
pub(crate) fn encode_url(data: &[u8]) -> String {
    encode_with(data, URL)
}

/// `Base64.getUrlDecoder().decode`: the URL alphabet only, padding optional but exact when
/// present, a lone trailing character refused.
pub(crate) fn decode_url(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let body = bytes
        .strip_suffix(b"==")
        .or_else(|| bytes.strip_suffix(b"="));
    let (body, padded) = match body {
        Some(b) => (b, true),
        None => (bytes, false),
    };
    if padded && (!bytes.len().is_multiple_of(4) || body.len().is_multiple_of(4)) {
        return None;
    }
    if body.len() % 4 == 1 {
        return None;
    }
    let value = |c: u8| URL.iter().position(|&a| a == c).map(|p| p as u32);
    let mut out = Vec::with_capacity(body.len() / 4 * 3 + 2);
    for chunk in body.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= value(c)? << (18 - 6 * i);
        }
        for i in 0..chunk.len() - 1 {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    Some(out)
}
