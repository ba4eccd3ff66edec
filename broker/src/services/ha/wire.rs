//! The classic HA protocol's frames (Apache's `DefaultHAConnection` / `DefaultHAClient`), all
//! integers big-endian:
//!
//! - slave to master, a report: `i64 maxPhyOffset`, the end of the slave's commitlog;
//! - master to slave, a transfer: `i64 startPhyOffset | i32 bodySize` and `bodySize` bytes of
//!   the master's commitlog from that offset (`bodySize` 0: a heartbeat).

/// Bytes of a report.
pub(crate) const REPORT_LEN: usize = 8;
/// Bytes of a transfer header.
pub(crate) const HEADER_LEN: usize = 12;

/// A report of `offset`.
pub(crate) fn report(offset: u64) -> [u8; REPORT_LEN] {
    (offset as i64).to_be_bytes()
}

/// The last complete report in `buf` (Apache's master reads whole reports and keeps the last).
pub(crate) fn last_report(buf: &[u8]) -> Option<i64> {
    let whole = buf.len() - buf.len() % REPORT_LEN;
    let last = buf.get(whole.checked_sub(REPORT_LEN)?..whole)?;
    Some(i64::from_be_bytes(last.try_into().ok()?))
}

/// A transfer header for `size` bytes at `offset`.
pub(crate) fn header(offset: u64, size: usize) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..8].copy_from_slice(&(offset as i64).to_be_bytes());
    h[8..].copy_from_slice(&i32::try_from(size).unwrap_or(i32::MAX).to_be_bytes());
    h
}

/// A transfer header's offset and size.
pub(crate) fn parse_header(h: &[u8; HEADER_LEN]) -> (i64, i32) {
    let mut offset = [0u8; 8];
    offset.copy_from_slice(&h[..8]);
    let mut size = [0u8; 4];
    size.copy_from_slice(&h[8..]);
    (i64::from_be_bytes(offset), i32::from_be_bytes(size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_partial_reports_wait() {
        assert_eq!(parse_header(&header(1 << 40, 32768)), (1 << 40, 32768));
        let mut buf = Vec::new();
        buf.extend_from_slice(&report(7));
        buf.extend_from_slice(&report(9));
        buf.extend_from_slice(&report(11)[..3]);
        assert_eq!(
            last_report(&buf),
            Some(9),
            "the torn third report is not read"
        );
        assert_eq!(last_report(&buf[..5]), None);
    }
}
