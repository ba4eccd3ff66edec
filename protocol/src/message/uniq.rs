//! The UNIQ_KEY client message id (docs/protocol.md, "UNIQ_KEY", Java `MessageClientIDSetter`).
//!
//! Layout, as upper-case hex (32 characters with an IPv4 address, 56 with IPv6):
//!
//! | bytes | field |
//! |---|---|
//! | 4 or 16 | the client's IP address |
//! | 2 | process id (low 16 bits) |
//! | 4 | Java: the class loader's identity hash; here a per-generator random or given seed |
//! | 4 | milliseconds since the start of the current month (low 32 bits) |
//! | 2 | wrapping counter |
//!
//! Apache computes the month start in the JVM's **local** time zone; this module uses UTC, as
//! there is no time-zone database in a no-I/O crate. Receivers (brokers, index files, clients)
//! only treat the key as an opaque unique string, so the difference is invisible except to
//! [`UniqKey::approximate_timestamp`]-style decoders, which are approximate anyway.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU32, Ordering};

use super::hex::{decode_hex_into, push_hex};
use super::msgid::ip_from_slice;
use crate::error::{ProtocolError, Result};
use ferromq_common::now_ms;

const MS_PER_DAY: i64 = 86_400_000;

/// Generates UNIQ_KEY values; cheap to share between threads (`&self` methods, atomic counter).
#[derive(Debug)]
pub struct UniqIdGenerator {
    /// Hex of the fixed part (ip ‖ pid ‖ seed).
    prefix: String,
    counter: AtomicU32,
}

impl UniqIdGenerator {
    /// A generator for a client at `ip` with process id `pid` and a per-process `seed` (Java uses
    /// the class loader's hash code).
    pub fn new(ip: IpAddr, pid: u16, seed: i32) -> Self {
        let mut prefix = String::with_capacity(44);
        match ip {
            IpAddr::V4(v4) => push_hex(&mut prefix, &v4.octets()),
            IpAddr::V6(v6) => push_hex(&mut prefix, &v6.octets()),
        }
        push_hex(&mut prefix, &pid.to_be_bytes());
        push_hex(&mut prefix, &seed.to_be_bytes());
        UniqIdGenerator {
            prefix,
            counter: AtomicU32::new(0),
        }
    }

    /// A generator using this process's id (`std::process::id`, low 16 bits) and a random seed
    /// from the standard library's hasher keys. Not for `wasm32-unknown-unknown`, which has no
    /// process id: use [`new`](Self::new) there.
    pub fn for_current_process(ip: IpAddr) -> Self {
        use std::hash::{BuildHasher, Hasher};
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        // Truncation to the low bits is the intent for both values.
        let seed = hasher.finish() as i32;
        Self::new(ip, std::process::id() as u16, seed)
    }

    /// The next key, stamped with the system clock. (On `wasm32-unknown-unknown`, where
    /// `SystemTime` is unavailable, call [`next_id_at`](Self::next_id_at) with the host's time.)
    pub fn next_id(&self) -> String {
        self.next_id_at(now_ms())
    }

    /// The next key, stamped with `now_ms` (milliseconds since the Unix epoch). Allocates only
    /// the returned string.
    pub fn next_id_at(&self, now_ms: i64) -> String {
        let since_month = now_ms.wrapping_sub(month_start_utc(now_ms));
        // Java casts to int: keep the low 32 bits.
        let since_month = since_month as u32;
        let counter = self.counter.fetch_add(1, Ordering::Relaxed) as u16;
        let mut out = String::with_capacity(self.prefix.len() + 12);
        out.push_str(&self.prefix);
        push_hex(&mut out, &since_month.to_be_bytes());
        push_hex(&mut out, &counter.to_be_bytes());
        out
    }
}

/// The fields of a UNIQ_KEY generated with Apache's layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UniqKey {
    /// The client's IP address.
    pub ip: IpAddr,
    /// The low 16 bits of the process id.
    pub pid: u16,
    /// The per-process seed (class loader hash in Java).
    pub seed: i32,
    /// Milliseconds since the start of the month it was generated in.
    pub ms_since_month_start: u32,
    /// The counter value.
    pub counter: u16,
}

impl UniqKey {
    /// Parses a 32 or 56 character key. Keys are opaque in general (other clients may use any
    /// string), so a failure here only means the key does not follow Apache's layout.
    pub fn parse(text: &str) -> Result<Self> {
        const WHAT: &str = "UNIQ_KEY";
        let ip_len = match text.len() {
            32 => 4,
            56 => 16,
            len => {
                return Err(ProtocolError::malformed(
                    WHAT,
                    format!("length {len}, expected 32 or 56 hex characters"),
                ))
            }
        };
        let mut raw = [0u8; 28];
        let raw = &mut raw[..ip_len + 12];
        decode_hex_into(WHAT, text, raw)?;
        let ip = ip_from_slice(&raw[..ip_len])
            .ok_or_else(|| ProtocolError::malformed(WHAT, "bad address"))?;
        let r = &raw[ip_len..];
        Ok(UniqKey {
            ip,
            pid: u16::from_be_bytes([r[0], r[1]]),
            seed: i32::from_be_bytes([r[2], r[3], r[4], r[5]]),
            ms_since_month_start: u32::from_be_bytes([r[6], r[7], r[8], r[9]]),
            counter: u16::from_be_bytes([r[10], r[11]]),
        })
    }

    /// The generation time as milliseconds since the epoch, assuming it was generated within a
    /// month before `now_ms` (Java `getNearlyTimeFromID`, in UTC rather than local time).
    pub fn approximate_timestamp(&self, now_ms: i64) -> i64 {
        let span = i64::from(self.ms_since_month_start);
        let start = month_start_utc(now_ms);
        if start.saturating_add(span) >= now_ms {
            month_start_utc(start - 1).saturating_add(span)
        } else {
            start + span
        }
    }
}

/// Milliseconds since the epoch of the first instant (UTC) of the month containing `ms`.
pub(crate) fn month_start_utc(ms: i64) -> i64 {
    let days = ms.div_euclid(MS_PER_DAY);
    let (_, _, day) = civil_from_days(days);
    (days - (day - 1)) * MS_PER_DAY
}

/// (year, month 1-12, day 1-31) of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::net::{Ipv4Addr, Ipv6Addr};

    // 2024-02-29T12:34:56.789Z and 2024-02-01T00:00:00Z.
    const LEAP_DAY: i64 = 1_709_210_096_789;
    const FEB_START: i64 = 1_706_745_600_000;

    #[test]
    fn month_start() {
        assert_eq!(month_start_utc(LEAP_DAY), FEB_START);
        assert_eq!(month_start_utc(FEB_START), FEB_START);
        assert_eq!(month_start_utc(FEB_START - 1), 1_704_067_200_000); // 2024-01-01
        assert_eq!(month_start_utc(0), 0);
        assert_eq!(month_start_utc(-1), -31 * MS_PER_DAY); // 1969-12-01
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }

    #[test]
    fn layout_ipv4() {
        let g = UniqIdGenerator::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 0x1234, -2);
        let a = g.next_id_at(LEAP_DAY);
        let b = g.next_id_at(LEAP_DAY);
        let span = (LEAP_DAY - FEB_START) as u32;
        assert_eq!(a, format!("0A0000011234FFFFFFFE{span:08X}0000"));
        assert_eq!(b, format!("0A0000011234FFFFFFFE{span:08X}0001"));
        let k = UniqKey::parse(&b).expect("parse");
        assert_eq!(k.ip, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!((k.pid, k.seed, k.counter), (0x1234, -2, 1));
        assert_eq!(k.approximate_timestamp(LEAP_DAY + 5_000), LEAP_DAY);
        // Read a month later, before the same offset: previous month assumed.
        assert_eq!(
            k.approximate_timestamp(FEB_START + 29 * MS_PER_DAY + 1000),
            LEAP_DAY
        );
    }

    #[test]
    fn layout_ipv6_and_counter_wrap() {
        let g = UniqIdGenerator::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 1, 2);
        g.counter.store(u32::from(u16::MAX), Ordering::Relaxed);
        let a = g.next_id_at(FEB_START);
        assert_eq!(a.len(), 56);
        assert!(a.ends_with("00000000FFFF"));
        assert!(g.next_id_at(FEB_START).ends_with("0000"));
        assert_eq!(
            UniqKey::parse(&a).expect("parse").ip,
            IpAddr::V6(Ipv6Addr::LOCALHOST)
        );
        assert!(UniqKey::parse("xyz").is_err());
        assert!(UniqKey::parse(&"Z".repeat(32)).is_err());
    }

    #[test]
    fn unique_across_threads() {
        let g = std::sync::Arc::new(UniqIdGenerator::for_current_process(IpAddr::V4(
            Ipv4Addr::LOCALHOST,
        )));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let g = g.clone();
                std::thread::spawn(move || (0..1000).map(|_| g.next_id()).collect::<Vec<_>>())
            })
            .collect();
        let mut all = HashSet::new();
        for h in handles {
            for id in h.join().expect("thread") {
                assert_eq!(id.len(), 32);
                assert!(all.insert(id));
            }
        }
    }
}
