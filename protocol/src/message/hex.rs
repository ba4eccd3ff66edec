//! Upper-case hex, as Java's `UtilAll.bytes2string` / `string2bytes` do it.

use crate::error::{ProtocolError, Result};

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Appends the upper-case hex form of `bytes` to `out`.
pub(crate) fn push_hex(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        out.push(char::from(HEX_UPPER[usize::from(b >> 4)]));
        out.push(char::from(HEX_UPPER[usize::from(b & 0x0F)]));
    }
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'F' => Some(c - b'A' + 10),
        // Java upper-cases the string before decoding, so lower case is accepted too.
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// Decodes hex text (either case) into `out`, which must be exactly half as long as `text`.
pub(crate) fn decode_hex_into(what: &'static str, text: &str, out: &mut [u8]) -> Result<()> {
    let src = text.as_bytes();
    if src.len() != out.len() * 2 {
        return Err(ProtocolError::malformed(what, "unexpected hex length"));
    }
    for (dst, pair) in out.iter_mut().zip(src.chunks_exact(2)) {
        match (nibble(pair[0]), nibble(pair[1])) {
            (Some(hi), Some(lo)) => *dst = (hi << 4) | lo,
            _ => return Err(ProtocolError::malformed(what, "not a hex digit")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut s = String::new();
        push_hex(&mut s, &[0x00, 0x7F, 0xAB, 0xFF]);
        assert_eq!(s, "007FABFF");
        let mut out = [0u8; 4];
        decode_hex_into("t", "007fabFF", &mut out).expect("valid hex");
        assert_eq!(out, [0x00, 0x7F, 0xAB, 0xFF]);
        assert!(decode_hex_into("t", "0G", &mut out[..1]).is_err());
        assert!(decode_hex_into("t", "0", &mut out[..1]).is_err());
        // A multi-byte character must not be mistaken for digits.
        assert!(decode_hex_into("t", "é", &mut out[..1]).is_err());
    }
}
