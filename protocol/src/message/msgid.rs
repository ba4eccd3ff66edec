//! The offsetMsgId (docs/protocol.md, "offsetMsgId", Java
//! `MessageDecoder.createMessageId/decodeMessageId`).
//!
//! `hex_upper(store host IP (4 or 16 bytes) ‖ port (i32) ‖ commitlog offset (i64))`, big endian:
//! 32 hex characters for an IPv4 store host, 56 for IPv6. Clients send VIEW_MESSAGE_BY_ID
//! straight to that address, with that offset.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use super::hex::{decode_hex_into, push_hex};
use crate::error::{ProtocolError, Result};

/// Length of an IPv4 offsetMsgId in hex characters.
pub const MESSAGE_ID_V4_LEN: usize = 32;
/// Length of an IPv6 offsetMsgId in hex characters.
pub const MESSAGE_ID_V6_LEN: usize = 56;

/// A decoded offsetMsgId: the broker's store address and the record's commitlog offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageId {
    /// The store host (the broker's advertised address).
    pub address: SocketAddr,
    /// The commitlog (physical) offset of the record.
    pub offset: i64,
}

impl MessageId {
    /// A message id for `address` and `offset`.
    pub const fn new(address: SocketAddr, offset: i64) -> Self {
        MessageId { address, offset }
    }

    /// Parses a 32 (IPv4) or 56 (IPv6) character hex id; either case is accepted.
    pub fn parse(text: &str) -> Result<Self> {
        const WHAT: &str = "offsetMsgId";
        let mut raw = [0u8; 28];
        let ip_len = match text.len() {
            MESSAGE_ID_V4_LEN => 4,
            MESSAGE_ID_V6_LEN => 16,
            len => {
                return Err(ProtocolError::malformed(
                    WHAT,
                    format!("length {len}, expected 32 or 56 hex characters"),
                ))
            }
        };
        let raw = &mut raw[..ip_len + 12];
        decode_hex_into(WHAT, text, raw)?;
        let (ip, rest) = raw.split_at(ip_len);
        let (port, offset) = rest.split_at(4);
        let ip = ip_from_slice(ip).ok_or_else(|| ProtocolError::malformed(WHAT, "bad address"))?;
        let port = port_from_be(port).ok_or_else(|| ProtocolError::malformed(WHAT, "bad port"))?;
        let mut off = [0u8; 8];
        off.copy_from_slice(offset);
        Ok(MessageId {
            address: SocketAddr::new(ip, port),
            offset: i64::from_be_bytes(off),
        })
    }

    /// Appends the hex form to `out`.
    pub fn write_to(&self, out: &mut String) {
        match self.address.ip() {
            IpAddr::V4(ip) => push_hex(out, &ip.octets()),
            IpAddr::V6(ip) => push_hex(out, &ip.octets()),
        }
        push_hex(out, &i32::from(self.address.port()).to_be_bytes());
        push_hex(out, &self.offset.to_be_bytes());
    }
}

/// The offsetMsgId text for a store host and commitlog offset.
pub fn create_message_id(store_host: SocketAddr, commit_log_offset: i64) -> String {
    let mut out = String::with_capacity(if store_host.is_ipv4() {
        MESSAGE_ID_V4_LEN
    } else {
        MESSAGE_ID_V6_LEN
    });
    MessageId::new(store_host, commit_log_offset).write_to(&mut out);
    out
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::with_capacity(MESSAGE_ID_V6_LEN);
        self.write_to(&mut s);
        f.write_str(&s)
    }
}

impl FromStr for MessageId {
    type Err = ProtocolError;

    fn from_str(s: &str) -> Result<Self> {
        MessageId::parse(s)
    }
}

/// An IP address from 4 or 16 bytes.
pub(crate) fn ip_from_slice(bytes: &[u8]) -> Option<IpAddr> {
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        Some(IpAddr::V4(Ipv4Addr::from(v4)))
    } else if let Ok(v6) = <[u8; 16]>::try_from(bytes) {
        Some(IpAddr::V6(Ipv6Addr::from(v6)))
    } else {
        None
    }
}

/// A port from a big-endian i32; Java's `InetSocketAddress` rejects values outside 0..=65535.
pub(crate) fn port_from_be(bytes: &[u8]) -> Option<u16> {
    let raw = <[u8; 4]>::try_from(bytes).ok()?;
    u16::try_from(i32::from_be_bytes(raw)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_example() {
        let addr: SocketAddr = "127.0.0.1:10911".parse().expect("addr");
        assert_eq!(
            create_message_id(addr, 0),
            "7F00000100002A9F0000000000000000"
        );
        let id = MessageId::new(addr, 0x0123_4567_89AB_CDEF);
        let text = id.to_string();
        assert_eq!(text, "7F00000100002A9F0123456789ABCDEF");
        assert_eq!(text.parse::<MessageId>(), Ok(id));
        assert_eq!(MessageId::parse(&text.to_lowercase()), Ok(id));
    }

    #[test]
    fn ipv6() {
        let addr: SocketAddr = "[2001:db8::1]:8080".parse().expect("addr");
        let text = create_message_id(addr, -1);
        assert_eq!(text.len(), 56);
        assert_eq!(
            text,
            "20010DB8000000000000000000000001\
             00001F90FFFFFFFFFFFFFFFF"
        );
        assert_eq!(MessageId::parse(&text), Ok(MessageId::new(addr, -1)));
    }

    #[test]
    fn rejects_bad_input() {
        assert!(MessageId::parse("").is_err());
        assert!(MessageId::parse("7F00000100002A9F000000000000000").is_err());
        assert!(MessageId::parse("7F00000100002A9F000000000000000G").is_err());
        // Port 0x00010000 is out of range.
        assert!(MessageId::parse("7F000001000100000000000000000000").is_err());
        // 32 bytes but not 32 characters.
        assert!(MessageId::parse(&"é".repeat(16)).is_err());
    }
}
