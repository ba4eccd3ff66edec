//! Free loopback ports below the kernel's ephemeral range, never handed out twice per process.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::net::{Ipv4Addr, TcpListener};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use super::server::lock;

/// Ports handed out by this process, so two servers started back to back never get the same one
/// before either has bound it.
fn handed_out() -> &'static Mutex<HashSet<u16>> {
    static PORTS: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    PORTS.get_or_init(|| Mutex::new(HashSet::new()))
}

/// The low end of the kernel's ephemeral range (local ports of outgoing connections).
fn ephemeral_low() -> u16 {
    fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(32_768)
}

/// A pseudo-random port in `[10002, ephemeral low - 1)`, different per call and per process.
fn candidate() -> u16 {
    static STATE: AtomicU64 = AtomicU64::new(0);
    let mut x = STATE.load(Ordering::Relaxed);
    if x == 0 {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        x = nanos ^ (u64::from(std::process::id()) << 32) | 1;
    }
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    STATE.store(x, Ordering::Relaxed);
    let low = 10_002u16;
    let high = ephemeral_low().max(low + 1_000) - 1;
    low + u16::try_from(x % u64::from(high - low)).unwrap_or(0)
}

/// `n` consecutive ports starting at a free candidate `p`, all bindable now and not handed out
/// before; returns them.
pub(super) fn free_ports(n: u16) -> Vec<u16> {
    for _ in 0..10_000 {
        let p = candidate();
        let ports: Vec<u16> = (p..p + n).collect();
        let bindable = ports
            .iter()
            .map(|&q| TcpListener::bind((Ipv4Addr::UNSPECIFIED, q)))
            .collect::<io::Result<Vec<_>>>()
            .is_ok();
        if bindable {
            let mut set = lock(handed_out());
            if ports.iter().all(|q| !set.contains(q)) {
                set.extend(&ports);
                return ports;
            }
        }
    }
    // Practically unreachable; the server's bind error then says what happened.
    (20_000..20_000 + n).collect()
}

/// A broker's `listenPort` p with `p - 2` (the fast port), `p - 1` and `p + 1` (HA) free.
pub(super) fn free_broker_port() -> u16 {
    free_ports(4)[2]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_ports_are_distinct_and_below_the_ephemeral_range() {
        let a = free_broker_port();
        let b = free_broker_port();
        assert_ne!(a, b);
        assert!(a + 1 < ephemeral_low() && b + 1 < ephemeral_low());
        assert!(a.abs_diff(b) >= 4, "{a} and {b} overlap");
    }
}
