//! The message `sysFlag` bits (docs/protocol.md, "sysFlag", Java `MessageSysFlag`).
//!
//! The flag travels as a signed 32-bit integer in the stored record, in the send header and in
//! the consume queue; these helpers operate on that `i32` directly. Topic-level and pull-request
//! sysflags are different bit sets and live with their headers.

use super::compress::CompressionType;
use crate::error::Result;

/// The body is compressed (by the producer); the algorithm is in [`COMPRESSION_TYPE_MASK`].
pub const COMPRESSED: i32 = 0x1;
/// The broker sets this for topics configured as MULTI_TAG.
pub const MULTI_TAGS: i32 = 0x1 << 1;
/// Mask of the two transaction-type bits (2-3); see [`TransactionType`].
pub const TRANSACTION_TYPE_MASK: i32 = 0x3 << 2;
/// Transaction type: not a transactional message.
pub const TRANSACTION_NOT_TYPE: i32 = 0;
/// Transaction type: half (prepared) message.
pub const TRANSACTION_PREPARED_TYPE: i32 = 0x1 << 2;
/// Transaction type: committed message.
pub const TRANSACTION_COMMIT_TYPE: i32 = 0x2 << 2;
/// Transaction type: rolled-back message.
pub const TRANSACTION_ROLLBACK_TYPE: i32 = 0x3 << 2;
/// The born host is IPv6 (16 address bytes in the stored record).
pub const BORNHOST_V6: i32 = 0x1 << 4;
/// The store host is IPv6 (16 address bytes in the stored record).
pub const STOREHOST_V6: i32 = 0x1 << 5;
/// 5.x inner batch: the client must unwrap the body as a batch (with [`INNER_BATCH`]).
pub const NEED_UNWRAP: i32 = 0x1 << 6;
/// 5.x inner batch: one stored record carries a whole batch.
pub const INNER_BATCH: i32 = 0x1 << 7;
/// Shift of the 3-bit compression type field.
pub const COMPRESSION_TYPE_SHIFT: u32 = 8;
/// Mask of the compression type field (bits 8-10). Value 0 means zlib (pre-5.x producers).
pub const COMPRESSION_TYPE_MASK: i32 = 0x7 << COMPRESSION_TYPE_SHIFT;
/// Compression type field value for LZ4.
pub const COMPRESSION_LZ4_TYPE: i32 = 0x1 << COMPRESSION_TYPE_SHIFT;
/// Compression type field value for Zstandard.
pub const COMPRESSION_ZSTD_TYPE: i32 = 0x2 << COMPRESSION_TYPE_SHIFT;
/// Compression type field value for zlib (5.x producers; older ones leave the field 0).
pub const COMPRESSION_ZLIB_TYPE: i32 = 0x3 << COMPRESSION_TYPE_SHIFT;

/// The transaction type held in bits 2-3 of the sysFlag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransactionType {
    /// Not transactional (0x0).
    NotTransaction,
    /// Half message waiting for commit or rollback (0x4).
    Prepared,
    /// Committed (0x8).
    Commit,
    /// Rolled back (0xC).
    Rollback,
}

impl TransactionType {
    /// The bits of this type, already shifted into place.
    pub const fn bits(self) -> i32 {
        match self {
            TransactionType::NotTransaction => TRANSACTION_NOT_TYPE,
            TransactionType::Prepared => TRANSACTION_PREPARED_TYPE,
            TransactionType::Commit => TRANSACTION_COMMIT_TYPE,
            TransactionType::Rollback => TRANSACTION_ROLLBACK_TYPE,
        }
    }
}

/// True if any bit of `mask` is set in `flag` (Java `MessageSysFlag.check`).
pub const fn check(flag: i32, mask: i32) -> bool {
    flag & mask != 0
}

/// The transaction type of `flag` (Java `getTransactionValue`).
pub const fn transaction_type(flag: i32) -> TransactionType {
    match flag & TRANSACTION_TYPE_MASK {
        TRANSACTION_PREPARED_TYPE => TransactionType::Prepared,
        TRANSACTION_COMMIT_TYPE => TransactionType::Commit,
        TRANSACTION_ROLLBACK_TYPE => TransactionType::Rollback,
        _ => TransactionType::NotTransaction,
    }
}

/// `flag` with its transaction type replaced by `ty` (Java `resetTransactionValue`).
pub const fn with_transaction_type(flag: i32, ty: TransactionType) -> i32 {
    (flag & !TRANSACTION_TYPE_MASK) | ty.bits()
}

/// True if the body is compressed.
pub const fn is_compressed(flag: i32) -> bool {
    flag & COMPRESSED != 0
}

/// `flag` without the compressed bit (Java `clearCompressedFlag`); the type bits are kept.
pub const fn clear_compressed(flag: i32) -> i32 {
    flag & !COMPRESSED
}

/// The compression algorithm named by bits 8-10; 0 and 3 both mean zlib.
///
/// Fails with [`crate::ProtocolError::Malformed`] for the undefined values 4-7. The result is
/// meaningful only when [`is_compressed`] is true.
pub fn compression_type(flag: i32) -> Result<CompressionType> {
    CompressionType::from_value((flag & COMPRESSION_TYPE_MASK) >> COMPRESSION_TYPE_SHIFT)
}

/// `flag` marked as compressed with `ty` (sets [`COMPRESSED`] and the 5.x type bits).
pub const fn with_compression(flag: i32, ty: CompressionType) -> i32 {
    (flag & !COMPRESSION_TYPE_MASK) | COMPRESSED | (ty.value() << COMPRESSION_TYPE_SHIFT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_values() {
        assert_eq!(TRANSACTION_ROLLBACK_TYPE, 0x0C);
        assert_eq!(BORNHOST_V6, 0x10);
        assert_eq!(STOREHOST_V6, 0x20);
        assert_eq!(NEED_UNWRAP, 0x40);
        assert_eq!(INNER_BATCH, 0x80);
        assert_eq!(COMPRESSION_ZLIB_TYPE, 0x300);
        assert_eq!(COMPRESSION_TYPE_MASK, 0x700);
    }

    #[test]
    fn transaction_bits() {
        for ty in [
            TransactionType::NotTransaction,
            TransactionType::Prepared,
            TransactionType::Commit,
            TransactionType::Rollback,
        ] {
            let flag = with_transaction_type(COMPRESSED | TRANSACTION_ROLLBACK_TYPE, ty);
            assert_eq!(transaction_type(flag), ty);
            assert!(is_compressed(flag));
        }
    }

    #[test]
    fn compression_bits() {
        assert_eq!(compression_type(COMPRESSED), Ok(CompressionType::Zlib));
        assert_eq!(compression_type(0x301), Ok(CompressionType::Zlib));
        assert_eq!(compression_type(0x101), Ok(CompressionType::Lz4));
        assert_eq!(compression_type(0x201), Ok(CompressionType::Zstd));
        assert!(compression_type(0x401).is_err());
        let f = with_compression(0x100 | MULTI_TAGS, CompressionType::Zstd);
        assert_eq!(f, 0x200 | MULTI_TAGS | COMPRESSED);
        assert_eq!(clear_compressed(f), 0x200 | MULTI_TAGS);
        assert!(check(f, MULTI_TAGS));
    }
}
