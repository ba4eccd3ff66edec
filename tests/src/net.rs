//! Free ports and waiting for conditions with a deadline.

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

/// How often [`wait_until`] re-checks its condition.
pub const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// Ports this process has handed out, so two servers started back to back never get the same one
/// before either has bound it.
fn handed_out() -> &'static Mutex<HashSet<u16>> {
    static PORTS: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    PORTS.get_or_init(|| Mutex::new(HashSet::new()))
}

fn reserve(ports: &[u16]) -> bool {
    let mut set = handed_out().lock().unwrap_or_else(|e| e.into_inner());
    if ports.iter().any(|p| set.contains(p)) {
        return false;
    }
    set.extend(ports.iter().copied());
    true
}

fn bind_any(port: u16) -> std::io::Result<TcpListener> {
    TcpListener::bind((Ipv4Addr::UNSPECIFIED, port))
}

/// The kernel's ephemeral port range (`ip_local_port_range`): the local ports of outgoing
/// connections. A server port picked there can be taken by some test's client connection
/// between the check and the server's bind, so ports are picked below it.
fn ephemeral_low() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(32_768)
}

/// A pseudo-random candidate port in `[10002, ephemeral low - 1)`, different per call and per
/// process (xorshift over time, process id and a counter).
fn candidate() -> u16 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static STATE: AtomicU64 = AtomicU64::new(0);
    let seed = || {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        nanos ^ (u64::from(std::process::id()) << 32) | 1
    };
    let mut x = STATE.load(Ordering::Relaxed);
    if x == 0 {
        x = seed();
    }
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    STATE.store(x, Ordering::Relaxed);
    // Room for a broker's p - 2 and p + 1 on either side.
    let low = 10_002u16;
    let high = ephemeral_low().max(low + 1_000) - 1;
    low + u16::try_from(x % u64::from(high - low)).unwrap_or(0)
}

/// A TCP port that was free on all interfaces when checked, outside the kernel's ephemeral
/// range, and that this process has not handed out before.
pub fn free_port() -> u16 {
    for _ in 0..10_000 {
        let port = candidate();
        if bind_any(port).is_ok() && reserve(&[port]) {
            return port;
        }
    }
    panic!("no free TCP port found after 10000 attempts");
}

/// A port `p` such that `p - 2`, `p` and `p + 1` are all free: an Apache broker with
/// `listenPort = p` also opens the VIP channel on `p - 2` and the HA port on `p + 1`.
pub fn free_broker_port() -> u16 {
    for _ in 0..10_000 {
        let port = candidate();
        // Hold all three at once so the check is about the same moment.
        let held = [port - 2, port, port + 1].map(bind_any);
        if held.iter().all(Result::is_ok) && reserve(&[port - 2, port, port + 1]) {
            return port;
        }
    }
    panic!("no free broker port triple (p-2, p, p+1) found after 10000 attempts");
}

/// Polls `check` every [`POLL_INTERVAL`] until it returns `Ok(true)`. Returns an error naming
/// `what` when `timeout` passes, or at once when `check` returns an error (e.g. the server
/// process died).
pub fn wait_until(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Result<bool, String>,
) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    loop {
        if check()? {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!("timed out after {timeout:?} waiting for {what}"));
        }
        thread::sleep(POLL_INTERVAL);
    }
}

/// Whether something accepts TCP connections at `addr` right now.
pub fn port_accepts(addr: &str) -> bool {
    let Ok(addr) = addr.parse::<SocketAddr>() else {
        return false;
    };
    TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok()
}

/// Waits until something accepts TCP connections at `addr` (`"127.0.0.1:port"`).
pub fn wait_for_port(addr: &str, timeout: Duration) -> Result<(), String> {
    wait_until(&format!("{addr} to accept connections"), timeout, || {
        Ok(port_accepts(addr))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_ports_are_distinct_and_bindable() {
        let a = free_port();
        let b = free_port();
        assert_ne!(a, b);
        TcpListener::bind((Ipv4Addr::LOCALHOST, a)).expect("free port binds");
    }

    #[test]
    fn broker_port_triple_is_free() {
        let p = free_broker_port();
        assert!(
            p + 1 < ephemeral_low(),
            "{p} is outside the ephemeral range"
        );
        for q in [p - 2, p, p + 1] {
            TcpListener::bind((Ipv4Addr::UNSPECIFIED, q)).expect("port of the triple binds");
        }
    }

    #[test]
    fn wait_for_port_sees_a_listener_and_times_out_without_one() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        wait_for_port(&addr, Duration::from_secs(5)).expect("listener is seen");
        drop(listener);
        let err = wait_for_port(&addr, Duration::from_millis(200)).expect_err("nothing listens");
        assert!(err.contains("timed out"), "{err}");
    }

    #[test]
    fn wait_until_stops_on_error() {
        let err = wait_until("x", Duration::from_secs(5), || Err("child died".into()))
            .expect_err("error aborts the wait");
        assert_eq!(err, "child died");
    }
}
