//! Remote address rules of ACL 1.0 (Java `RemoteAddressStrategyFactory`): which client addresses
//! `globalWhiteRemoteAddresses` and an account's `whiteRemoteAddress` admit without a signature
//! (the broker's ACL), and who may make changes on the name server (`adminAllowList`).
//!
//! The forms, as Apache's:
//! - blank: admits no address;
//! - `*`, `*.*.*.*`, `*:*:*:*:*:*:*:*`: admits every address;
//! - one address, IPv4 or IPv6 (`192.168.0.1`, `::1`);
//! - a list, `192.168.0.1,192.168.0.2`, or a last part in braces, `192.168.1.{1,2,3}`;
//! - a range in one part, `*` or `low-high`: `192.168.1.*`, `192.168.1.1-100`, `192.168.*`,
//!   `10.1-5.*.*`; the parts after the first range are not looked at (as Apache, which compares
//!   the parts before it and that one part). IPv6 ranges are written in full, hex parts:
//!   `fd00:0:0:0:0:0:0:*`.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv6Addr};

/// One address rule, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressRule {
    /// Blank: admits no address.
    Nothing,
    /// `*`: admits every address.
    Everything,
    /// One address or a list of them.
    Set(HashSet<IpAddr>),
    /// Exact leading parts, then one part in a range; later parts are any.
    Range {
        /// IPv6 (8 hex parts) rather than IPv4 (4 decimal parts).
        v6: bool,
        /// The parts before the ranged one.
        head: Vec<u16>,
        /// The ranged part's bounds, inclusive.
        low: u16,
        /// Upper bound, inclusive.
        high: u16,
    },
}

impl AddressRule {
    /// Parses one rule; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<AddressRule, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(AddressRule::Nothing);
        }
        if matches!(text, "*" | "*.*.*.*" | "*:*:*:*:*:*:*:*") {
            return Ok(AddressRule::Everything);
        }
        let bad = |why: &str| format!("bad remote address `{text}`: {why}");
        if let Some(open) = text.strip_suffix('}') {
            // `a.b.c.{x,y}` or `a:b:...:{x,y}`.
            let Some((head, items)) = open.rsplit_once('{') else {
                return Err(bad("`}` without `{`"));
            };
            if !(head.ends_with('.') || head.ends_with(':')) {
                return Err(bad("the braces must hold the last part"));
            }
            let mut set = HashSet::new();
            for item in items.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                set.insert(
                    one_address(&format!("{head}{item}"))
                        .ok_or_else(|| bad(&format!("`{head}{item}` is not an IP address")))?,
                );
            }
            if set.is_empty() {
                return Err(bad("empty braces"));
            }
            return Ok(AddressRule::Set(set));
        }
        if text.contains(',') {
            let mut set = HashSet::new();
            for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                set.insert(
                    one_address(item)
                        .ok_or_else(|| bad(&format!("`{item}` is not an IP address")))?,
                );
            }
            return Ok(AddressRule::Set(set));
        }
        if text.contains('*') || text.contains('-') {
            return parse_range(text).map_err(|why| bad(&why));
        }
        one_address(text)
            .map(|ip| AddressRule::Set(HashSet::from([ip])))
            .ok_or_else(|| bad("not an IP address"))
    }

    /// Whether `ip` is admitted.
    pub fn matches(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match self {
            AddressRule::Nothing => false,
            AddressRule::Everything => true,
            AddressRule::Set(set) => set.contains(&ip),
            AddressRule::Range {
                v6,
                head,
                low,
                high,
            } => {
                let parts: Vec<u16> = match (ip, v6) {
                    (IpAddr::V4(a), false) => a.octets().iter().map(|&o| u16::from(o)).collect(),
                    (IpAddr::V6(a), true) => a.segments().to_vec(),
                    _ => return false,
                };
                parts.starts_with(head)
                    && parts
                        .get(head.len())
                        .is_some_and(|p| (*low..=*high).contains(p))
            }
        }
    }
}

/// An IPv4-mapped IPv6 address as the IPv4 address it carries (a dual-stack listener sees
/// IPv4 clients so).
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

fn one_address(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    // Strict dotted quads only (no `1.2.3`), as Apache's validator.
    if text.contains(':') {
        text.parse::<Ipv6Addr>()
            .ok()
            .map(|a| canonical(IpAddr::V6(a)))
    } else {
        text.parse().ok()
    }
}

fn parse_range(text: &str) -> Result<AddressRule, String> {
    let v6 = text.contains(':');
    let (parts, max, radix, count): (Vec<&str>, u32, u32, usize) = if v6 {
        if text.contains("::") {
            return Err("write an IPv6 range in full, without `::`".to_owned());
        }
        (text.split(':').collect(), 0xffff, 16, 8)
    } else {
        (text.split('.').collect(), 255, 10, 4)
    };
    if parts.len() > count {
        return Err(format!("more than {count} parts"));
    }
    let number = |s: &str| -> Result<u16, String> {
        u32::from_str_radix(s.trim(), radix)
            .ok()
            .filter(|n| *n <= max)
            .and_then(|n| u16::try_from(n).ok())
            .ok_or_else(|| format!("`{s}` is not a number from 0 to {max}"))
    };
    let mut head = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let part = part.trim();
        let range = if part == "*" {
            Some((0, max as u16))
        } else if let Some((lo, hi)) = part.split_once('-') {
            let (lo, hi) = (number(lo)?, number(hi)?);
            if lo > hi {
                return Err(format!("range `{part}` is empty"));
            }
            Some((lo, hi))
        } else {
            None
        };
        match range {
            // Apache looks for the range from the second part on.
            Some(_) if i == 0 => return Err("the first part cannot be a range".to_owned()),
            Some((low, high)) => {
                return Ok(AddressRule::Range {
                    v6,
                    head,
                    low,
                    high,
                })
            }
            None => head.push(number(part)?),
        }
    }
    Err("no `*` or range part".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(rule: &str, ip: &str) -> bool {
        AddressRule::parse(rule)
            .expect("valid rule")
            .matches(ip.parse().expect("ip"))
    }

    #[test]
    fn apache_forms() {
        assert!(!ok("", "127.0.0.1"));
        assert!(ok("*", "10.1.2.3") && ok("*.*.*.*", "::1"));
        assert!(ok("192.168.0.1", "192.168.0.1") && !ok("192.168.0.1", "192.168.0.2"));
        assert!(ok("127.0.0.1", "::ffff:127.0.0.1"));
        assert!(ok("::1", "::1") && ok("0:0:0:0:0:0:0:1", "::1"));
        assert!(ok("1.1.1.1,2.2.2.2", "2.2.2.2") && !ok("1.1.1.1,2.2.2.2", "3.3.3.3"));
        assert!(ok("192.168.1.{1,2}", "192.168.1.2") && !ok("192.168.1.{1,2}", "192.168.1.3"));
        assert!(ok("192.168.1.*", "192.168.1.77") && !ok("192.168.1.*", "192.168.2.77"));
        assert!(ok("192.168.1.1-100", "192.168.1.100"));
        assert!(!ok("192.168.1.1-100", "192.168.1.101"));
        assert!(ok("192.168.*", "192.168.9.9") && ok("10.1-5.*.*", "10.3.0.1"));
        assert!(!ok("10.1-5.*.*", "10.6.0.1") && !ok("192.168.*", "::1"));
        assert!(ok("fd00:0:0:0:0:0:0:*", "fd00::7") && !ok("fd00:0:0:0:0:0:0:*", "fd01::7"));
        assert!(ok("fd00:0:0:0:0:0:0:a-f", "fd00::b"));
    }

    #[test]
    fn bad_rules_are_refused() {
        for bad in [
            "localhost",
            "192.168.1",
            "192.168.1.300",
            "1.2.3.4,nope",
            "192.168.1.{1,x}",
            "*.1.1.1",
            "192.168.1.9-2",
            "1.2.3.4.5.*",
            "fd00::*",
            "{1,2}",
        ] {
            assert!(AddressRule::parse(bad).is_err(), "{bad}");
        }
    }
}
