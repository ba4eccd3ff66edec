//! Body compression (docs/protocol.md, "Compression", Java `common/compression/*`).
//!
//! | type | sysFlag bits 8-10 | Java 5.x library | here |
//! |---|---|---|---|
//! | zlib | 3, or 0 (pre-5.x producers) | `java.util.zip.Deflater`/`InflaterInputStream` (zlib-wrapped deflate) | `flate2` (pure-Rust miniz_oxide backend) |
//! | LZ4 | 1 | lz4-java `LZ4FrameOutputStream`/`LZ4FrameInputStream` (LZ4 **frame** format) | `lz4_flex::frame` |
//! | Zstandard | 2 | zstd-jni `ZstdOutputStream`/`ZstdInputStream` (one zstd frame) | `ruzstd` |
//!
//! All three are pure Rust and build for `wasm32-unknown-unknown`. The level only applies to
//! zlib: lz4-java's frame stream and `lz4_flex` have no level, and `ruzstd` implements only its
//! "fastest" level (about zstd level 1), which any zstd decoder reads.
//!
//! Decompression never produces more than the caller's `max_output` bytes: a body that inflates
//! beyond it (a zip bomb) fails with [`ProtocolError::TooLarge`]. For Zstandard the window size
//! declared in the frame header (which the decoder allocates up front) is also checked against
//! `max(max_output, 8 MiB)`.

use std::io::{Read, Write};

use crate::error::{ProtocolError, Result};

/// Java's default `rocketmq.message.compressLevel`.
pub const DEFAULT_COMPRESS_LEVEL: u32 = 5;
/// Java's default `compressMsgBodyOverHowmuch`: bodies of at least this many bytes are compressed.
pub const DEFAULT_COMPRESS_THRESHOLD: usize = 4096;
/// Largest Zstandard window accepted regardless of `max_output` (Java's default levels use 2 MiB).
const ZSTD_MIN_WINDOW_LIMIT: u64 = 8 * 1024 * 1024;

/// A body compression algorithm (Java `CompressionType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompressionType {
    /// LZ4 frame format (value 1).
    Lz4,
    /// Zstandard (value 2).
    Zstd,
    /// zlib-wrapped deflate (value 3; value 0 in a sysFlag also means zlib).
    Zlib,
}

impl CompressionType {
    /// The value stored in sysFlag bits 8-10.
    pub const fn value(self) -> i32 {
        match self {
            CompressionType::Lz4 => 1,
            CompressionType::Zstd => 2,
            CompressionType::Zlib => 3,
        }
    }

    /// The type for a sysFlag field value; 0 means zlib (Java `findByValue`).
    pub fn from_value(value: i32) -> Result<Self> {
        match value {
            1 => Ok(CompressionType::Lz4),
            2 => Ok(CompressionType::Zstd),
            0 | 3 => Ok(CompressionType::Zlib),
            _ => Err(ProtocolError::malformed(
                "compression type",
                format!("unknown compression type value {value}"),
            )),
        }
    }

    /// The type for a configuration name (`LZ4`, `ZSTD`, `ZLIB`; trimmed, any case).
    pub fn from_name(name: &str) -> Result<Self> {
        let name = name.trim();
        if name.eq_ignore_ascii_case("LZ4") {
            Ok(CompressionType::Lz4)
        } else if name.eq_ignore_ascii_case("ZSTD") {
            Ok(CompressionType::Zstd)
        } else if name.eq_ignore_ascii_case("ZLIB") {
            Ok(CompressionType::Zlib)
        } else {
            Err(ProtocolError::malformed(
                "compression type",
                format!("unsupported compression type name {name:?}"),
            ))
        }
    }

    /// The upper-case name Java uses.
    pub const fn name(self) -> &'static str {
        match self {
            CompressionType::Lz4 => "LZ4",
            CompressionType::Zstd => "ZSTD",
            CompressionType::Zlib => "ZLIB",
        }
    }
}

fn io_error(what: &'static str, err: impl std::fmt::Display) -> ProtocolError {
    ProtocolError::malformed(what, err.to_string())
}

/// Compresses `data` with `ty`. `level` (0-9) is used by zlib only; see the module docs.
pub fn compress(data: &[u8], ty: CompressionType, level: u32) -> Result<Vec<u8>> {
    match ty {
        CompressionType::Zlib => {
            let mut enc = flate2::write::ZlibEncoder::new(
                Vec::with_capacity(data.len() / 2 + 64),
                flate2::Compression::new(level.min(9)),
            );
            enc.write_all(data).map_err(|e| io_error("zlib body", e))?;
            enc.finish().map_err(|e| io_error("zlib body", e))
        }
        CompressionType::Lz4 => {
            let mut enc =
                lz4_flex::frame::FrameEncoder::new(Vec::with_capacity(data.len() / 2 + 64));
            enc.write_all(data).map_err(|e| io_error("lz4 body", e))?;
            enc.finish().map_err(|e| io_error("lz4 body", e))
        }
        CompressionType::Zstd => Ok(ruzstd::encoding::compress_to_vec(
            data,
            ruzstd::encoding::CompressionLevel::Fastest,
        )),
    }
}

/// Decompresses `data` compressed with `ty`, failing if the output would exceed `max_output`.
///
/// Empty input is an error for every type (a valid stream has at least a header).
pub fn decompress(data: &[u8], ty: CompressionType, max_output: usize) -> Result<Vec<u8>> {
    if data.is_empty() {
        return Err(ProtocolError::malformed(
            "compressed body",
            format!("empty {} stream", ty.name()),
        ));
    }
    match ty {
        CompressionType::Zlib => read_bounded(
            "zlib body",
            flate2::read::ZlibDecoder::new(data),
            data.len(),
            max_output,
        ),
        CompressionType::Lz4 => {
            // lz4_flex's streaming decoder takes EOF at a block boundary as the end of the
            // stream; check the frame is complete first so truncation is always an error.
            lz4_frame_check(data)?;
            read_bounded(
                "lz4 body",
                lz4_flex::frame::FrameDecoder::new(data),
                data.len(),
                max_output,
            )
        }
        CompressionType::Zstd => {
            let window = zstd_window_size(data)?;
            let limit = ZSTD_MIN_WINDOW_LIMIT.max(u64::try_from(max_output).unwrap_or(u64::MAX));
            if window > limit {
                return Err(ProtocolError::TooLarge {
                    what: "zstd window",
                    len: usize::try_from(window).unwrap_or(usize::MAX),
                    max: usize::try_from(limit).unwrap_or(usize::MAX),
                });
            }
            let dec = ruzstd::decoding::StreamingDecoder::new(data)
                .map_err(|e| io_error("zstd body", e))?;
            read_bounded("zstd body", dec, data.len(), max_output)
        }
    }
}

/// Reads all of `reader`, failing once more than `max_output` bytes come out.
fn read_bounded(
    what: &'static str,
    reader: impl Read,
    input_len: usize,
    max_output: usize,
) -> Result<Vec<u8>> {
    // Guess a ratio of 4 for the first allocation, never beyond the cap.
    let mut out = Vec::with_capacity(input_len.saturating_mul(4).min(max_output));
    let cap = u64::try_from(max_output)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    reader
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|e| io_error(what, e))?;
    if out.len() > max_output {
        return Err(ProtocolError::TooLarge {
            what: "decompressed body",
            len: out.len(),
            max: max_output,
        });
    }
    Ok(out)
}

/// Checks that `data` starts with one complete LZ4 frame: header, blocks and end mark (and the
/// content checksum when the header announces one). Block contents are checked by the decoder.
fn lz4_frame_check(data: &[u8]) -> Result<()> {
    const WHAT: &str = "lz4 frame";
    let truncated = |needed: usize| ProtocolError::truncated(WHAT, needed, data.len());
    let u32_at = |at: usize| -> Result<u32> {
        let bytes = data.get(at..at + 4).ok_or_else(|| truncated(at + 4))?;
        Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    };
    if u32_at(0)? != 0x184D_2204 {
        return Err(ProtocolError::malformed(WHAT, "bad LZ4 frame magic number"));
    }
    let flg = *data.get(4).ok_or_else(|| truncated(5))?;
    let block_checksum = flg & 0x10 != 0;
    let content_size = flg & 0x08 != 0;
    let content_checksum = flg & 0x04 != 0;
    let dict_id = flg & 0x01 != 0;
    // FLG, BD, optional content size and dictionary id, header checksum.
    let mut pos = 4 + 2 + if content_size { 8 } else { 0 } + if dict_id { 4 } else { 0 } + 1;
    if pos > data.len() {
        return Err(truncated(pos));
    }
    loop {
        let block = u32_at(pos)?;
        pos += 4;
        if block == 0 {
            break;
        }
        let len = (block & 0x7FFF_FFFF) as usize + if block_checksum { 4 } else { 0 };
        pos = pos.checked_add(len).ok_or_else(|| truncated(usize::MAX))?;
        if pos > data.len() {
            return Err(truncated(pos));
        }
    }
    if content_checksum && pos + 4 > data.len() {
        return Err(truncated(pos + 4));
    }
    Ok(())
}

/// The window size a Zstandard frame header declares (RFC 8878 section 3.1.1.1).
fn zstd_window_size(data: &[u8]) -> Result<u64> {
    const WHAT: &str = "zstd frame header";
    let byte = |i: usize| {
        data.get(i)
            .copied()
            .ok_or_else(|| ProtocolError::truncated(WHAT, i + 1, data.len()))
    };
    let magic = [byte(0)?, byte(1)?, byte(2)?, byte(3)?];
    if u32::from_le_bytes(magic) != 0xFD2F_B528 {
        return Err(ProtocolError::malformed(WHAT, "bad zstd magic number"));
    }
    let descriptor = byte(4)?;
    let single_segment = descriptor & 0x20 != 0;
    if !single_segment {
        let wd = byte(5)?;
        let log = 10 + u32::from(wd >> 3);
        let base = 1u64 << log;
        return Ok(base + (base / 8) * u64::from(wd & 7));
    }
    // Single segment: the window is the frame content size.
    let dict_len = [0usize, 1, 2, 4][usize::from(descriptor & 3)];
    let fcs_len = [1usize, 2, 4, 8][usize::from(descriptor >> 6)];
    let start = 5 + dict_len;
    let mut le = [0u8; 8];
    for (i, slot) in le.iter_mut().take(fcs_len).enumerate() {
        *slot = byte(start + i)?;
    }
    let size = u64::from_le_bytes(le);
    Ok(if fcs_len == 2 { size + 256 } else { size })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [CompressionType; 3] = [
        CompressionType::Zlib,
        CompressionType::Lz4,
        CompressionType::Zstd,
    ];

    fn sample() -> Vec<u8> {
        (0..20_000u32)
            .flat_map(|i| (i % 251).to_be_bytes())
            .collect()
    }

    #[test]
    fn round_trip_all_types() {
        let data = sample();
        for ty in ALL {
            let packed = compress(&data, ty, DEFAULT_COMPRESS_LEVEL).expect("compress");
            assert!(packed.len() < data.len(), "{ty:?} did not shrink");
            assert_eq!(
                decompress(&packed, ty, data.len()).expect("decompress"),
                data
            );
            // One byte less than needed is refused.
            assert!(matches!(
                decompress(&packed, ty, data.len() - 1),
                Err(ProtocolError::TooLarge { .. })
            ));
        }
    }

    #[test]
    fn empty_round_trip() {
        for ty in ALL {
            let packed = compress(b"", ty, 5).expect("compress");
            assert_eq!(decompress(&packed, ty, 0).expect("decompress"), b"");
        }
    }

    #[test]
    fn zip_bomb_is_refused() {
        let zeros = vec![0u8; 50 * 1024 * 1024];
        for ty in [CompressionType::Zlib, CompressionType::Lz4] {
            let bomb = compress(&zeros, ty, 9).expect("compress");
            assert!(bomb.len() < 1024 * 1024);
            assert!(matches!(
                decompress(&bomb, ty, 1024 * 1024),
                Err(ProtocolError::TooLarge { .. })
            ));
        }
    }

    #[test]
    fn zstd_huge_window_is_refused() {
        // Magic, descriptor without single segment, window descriptor exponent 31-10 = 2 GiB.
        let frame = [0x28, 0xB5, 0x2F, 0xFD, 0x00, 21 << 3, 0, 0, 0];
        assert!(matches!(
            decompress(&frame, CompressionType::Zstd, 1024),
            Err(ProtocolError::TooLarge {
                what: "zstd window",
                ..
            })
        ));
    }

    #[test]
    fn garbage_and_truncation_fail_cleanly() {
        let data = sample();
        for ty in ALL {
            let packed = compress(&data, ty, 5).expect("compress");
            for cut in [0, 1, 4, 7, packed.len() / 2, packed.len() - 1] {
                assert!(
                    decompress(&packed[..cut], ty, data.len()).is_err(),
                    "{ty:?} cut at {cut}"
                );
            }
            assert!(decompress(b"not compressed at all", ty, 1 << 20).is_err());
        }
    }

    #[test]
    fn every_truncation_fails() {
        let data: Vec<u8> = (0..3000u32).map(|i| (i * 7 % 13) as u8).collect();
        for ty in ALL {
            let packed = compress(&data, ty, 5).expect("compress");
            for cut in 0..packed.len() {
                assert!(
                    decompress(&packed[..cut], ty, data.len()).is_err(),
                    "{ty:?} cut at {cut} of {}",
                    packed.len()
                );
            }
        }
    }

    #[test]
    fn names_and_values() {
        for ty in ALL {
            assert_eq!(CompressionType::from_value(ty.value()), Ok(ty));
            assert_eq!(
                CompressionType::from_name(&ty.name().to_lowercase()),
                Ok(ty)
            );
        }
        assert_eq!(CompressionType::from_value(0), Ok(CompressionType::Zlib));
        assert!(CompressionType::from_value(4).is_err());
        assert!(CompressionType::from_name("snappy").is_err());
    }
}
