//! A network namespace joined to the host by a veth pair, for partition tests.
//!
//! [`Netns::create`] makes namespace `fmq<pid>-<n>` with the veth end `198.18.X.Y+1/30` inside and
//! `198.18.X.Y/30` on the host (RFC 2544's benchmarking range, which no real network uses; X from
//! the process id, Y from a counter, so parallel test processes do not collide). A server started with `ip netns exec <name>` listens inside and is reached from
//! the host at the inner address; it reaches host servers listening on the outer address.
//! [`Netns::cut`] takes the namespace's end down (packets in both directions are dropped; TCP
//! connections are not closed, as when a cable is pulled) and [`Netns::restore`] brings it back.
//! Dropping the value deletes the namespace and the pair.
//!
//! It needs `CAP_NET_ADMIN` and the `ip` tool; without them `create` returns the reason, and the
//! test prints `SKIPPED: ...` (or fails when `FERROMQ_NETNS_REQUIRED=1`).

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// A namespace with a veth pair to the host.
#[derive(Debug)]
pub struct Netns {
    /// The namespace's name (for `ip netns exec`).
    pub name: String,
    /// The host end's interface name.
    pub host_if: String,
    /// The namespace end's interface name.
    pub ns_if: String,
    /// The host end's address (servers on the host listen here).
    pub host_ip: String,
    /// The namespace end's address.
    pub ns_ip: String,
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run `ip`: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`ip {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl Netns {
    /// Creates the namespace and the veth pair, both ends up. `Err` names why it cannot (no
    /// `ip`, no `CAP_NET_ADMIN`).
    pub fn create() -> Result<Netns, String> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let name = format!("fmq{pid}-{n}");
        let tag = format!("{}{n}", pid % 100_000);
        let host_if = format!("fmqh{tag}");
        let ns_if = format!("fmqn{tag}");
        let (x, y) = (pid % 256, 1 + (n % 63) * 4);
        let host_ip = format!("198.18.{x}.{y}");
        let ns_ip = format!("198.18.{x}.{}", y + 1);
        ip(&["netns", "add", &name]).map_err(|e| format!("{e} (needs CAP_NET_ADMIN)"))?;
        let me = Netns {
            name,
            host_if,
            ns_if,
            host_ip,
            ns_ip,
        };
        let ns = me.name.as_str();
        ip(&[
            "link",
            "add",
            &me.host_if,
            "type",
            "veth",
            "peer",
            "name",
            &me.ns_if,
        ])?;
        ip(&["link", "set", &me.ns_if, "netns", ns])?;
        ip(&[
            "addr",
            "add",
            &format!("{}/30", me.host_ip),
            "dev",
            &me.host_if,
        ])?;
        ip(&["link", "set", &me.host_if, "up"])?;
        let inner = format!("{}/30", me.ns_ip);
        ip(&[
            "netns", "exec", ns, "ip", "addr", "add", &inner, "dev", &me.ns_if,
        ])?;
        ip(&["netns", "exec", ns, "ip", "link", "set", &me.ns_if, "up"])?;
        ip(&["netns", "exec", ns, "ip", "link", "set", "lo", "up"])?;
        Ok(me)
    }

    /// Cuts the namespace off: its end of the pair goes down. (Not the host end: an IPv4
    /// interface taken down loses its local routes, so host servers listening on the host end's
    /// address would be cut off from the host too.)
    pub fn cut(&self) {
        self.inner_link("down");
    }

    /// Joins it again: its end comes up.
    pub fn restore(&self) {
        self.inner_link("up");
    }

    fn inner_link(&self, state: &str) {
        ip(&[
            "netns",
            "exec",
            &self.name,
            "ip",
            "link",
            "set",
            &self.ns_if,
            state,
        ])
        .unwrap_or_else(|e| panic!("{e}"));
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting the namespace removes its veth end and with it the host end.
        let _ = ip(&["netns", "del", &self.name]);
        let _ = ip(&["link", "del", &self.host_if]);
    }
}
