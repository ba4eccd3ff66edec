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

/// A TCP port that was free on all interfaces when checked and that this process has not handed
/// out before.
pub fn free_port() -> u16 {
    for _ in 0..1000 {
        let listener = bind_any(0).expect("bind an ephemeral TCP port");
        let port = listener
            .local_addr()
            .expect("local address of a bound socket")
            .port();
        if reserve(&[port]) {
            return port;
        }
    }
    panic!("no free TCP port found after 1000 attempts");
}

/// A port `p` such that `p - 2`, `p` and `p + 1` are all free: an Apache broker with
/// `listenPort = p` also opens the VIP channel on `p - 2` and the HA port on `p + 1`.
pub fn free_broker_port() -> u16 {
    for _ in 0..1000 {
        let listener = bind_any(0).expect("bind an ephemeral TCP port");
        let port = listener
            .local_addr()
            .expect("local address of a bound socket")
            .port();
        if !(3..u16::MAX).contains(&port) {
            continue;
        }
        // Hold all three at once so the check is about the same moment.
        let vip = bind_any(port - 2);
        let ha = bind_any(port + 1);
        if vip.is_ok() && ha.is_ok() && reserve(&[port - 2, port, port + 1]) {
            return port;
        }
    }
    panic!("no free broker port triple (p-2, p, p+1) found after 1000 attempts");
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
