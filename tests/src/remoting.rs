//! A minimal blocking RocketMQ remoting client (JSON headers) for readiness checks and probes.
//!
//! Deliberately independent of `ferromq-protocol`: the harness must be able to check our
//! servers without trusting our own codec. Frame: `int32 length` (excluding itself),
//! `int32 serializeType << 24 | headerLen`, JSON header, body.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use serde_json::{json, Map, Value};

/// `GET_ROUTEINFO_BY_TOPIC`.
pub const GET_ROUTEINFO_BY_TOPIC: i32 = 105;
/// `GET_BROKER_CLUSTER_INFO`.
pub const GET_BROKER_CLUSTER_INFO: i32 = 106;
/// Request version of the 5.3.3 Java client (`MQVersion.Version.V5_3_3.ordinal()`).
pub const VERSION_5_3_3: i32 = 479;
/// Largest frame accepted (Apache's default `frameMaxLength`).
pub const MAX_FRAME: usize = 16 * 1024 * 1024;

/// A decoded response.
#[derive(Debug, Clone)]
pub struct Response {
    /// Response code (0 = SUCCESS).
    pub code: i64,
    /// The whole JSON header.
    pub header: Value,
    /// The body bytes (possibly empty).
    pub body: Vec<u8>,
}

impl Response {
    /// The `remark` header field, if any.
    pub fn remark(&self) -> Option<&str> {
        self.header.get("remark").and_then(Value::as_str)
    }

    /// The body as (lossy) UTF-8 text.
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Encodes a JSON-header request frame the way a Java 5.3.3 client does (sorted keys, compact).
pub fn encode_request(
    code: i32,
    version: i32,
    opaque: i32,
    ext_fields: &[(&str, &str)],
    body: &[u8],
) -> Vec<u8> {
    let ext: Map<String, Value> = ext_fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
        .collect();
    // serde_json's Map is a BTreeMap without the preserve_order feature: keys come out sorted.
    let header = json!({
        "code": code,
        "extFields": ext,
        "flag": 0,
        "language": "JAVA",
        "opaque": opaque,
        "serializeTypeCurrentRPC": "JSON",
        "version": version,
    });
    let header = serde_json::to_vec(&header).expect("a JSON value serialises");
    let mut frame = Vec::with_capacity(8 + header.len() + body.len());
    let length = u32::try_from(4 + header.len() + body.len()).expect("frame under 4 GiB");
    let header_len = u32::try_from(header.len()).expect("header under 4 GiB");
    frame.extend_from_slice(&length.to_be_bytes());
    frame.extend_from_slice(&(header_len & 0x00FF_FFFF).to_be_bytes());
    frame.extend_from_slice(&header);
    frame.extend_from_slice(body);
    frame
}

/// Decodes one whole frame (length prefix included) with a JSON header.
pub fn decode_frame(frame: &[u8]) -> io::Result<Response> {
    let bad = |msg: &str| io::Error::new(io::ErrorKind::InvalidData, msg.to_owned());
    if frame.len() < 8 {
        return Err(bad("frame shorter than 8 bytes"));
    }
    let word = u32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
    if word >> 24 != 0 {
        return Err(bad("not a JSON header (serializeType != 0)"));
    }
    let header_len = (word & 0x00FF_FFFF) as usize;
    let header_bytes = frame
        .get(8..8 + header_len)
        .ok_or_else(|| bad("header past end of frame"))?;
    let header: Value = serde_json::from_slice(header_bytes)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("header JSON: {e}")))?;
    let code = header
        .get("code")
        .and_then(Value::as_i64)
        .ok_or_else(|| bad("header without code"))?;
    Ok(Response {
        code,
        header,
        body: frame[8 + header_len..].to_vec(),
    })
}

/// Reads one whole frame (length prefix included).
pub fn read_frame(stream: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len)?;
    let n = u32::from_be_bytes(len) as usize;
    if !(4..=MAX_FRAME).contains(&n) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame length {n}"),
        ));
    }
    let mut frame = vec![0u8; 4 + n];
    frame[..4].copy_from_slice(&len);
    stream.read_exact(&mut frame[4..])?;
    Ok(frame)
}

/// Sends one request on a fresh connection to `addr` and returns the response.
pub fn request(
    addr: &str,
    code: i32,
    ext_fields: &[(&str, &str)],
    body: &[u8],
    timeout: Duration,
) -> io::Result<Response> {
    static OPAQUE: AtomicI32 = AtomicI32::new(1);
    let sock: SocketAddr = addr
        .parse()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("address {addr}: {e}")))?;
    let mut stream = TcpStream::connect_timeout(&sock, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let opaque = OPAQUE.fetch_add(1, Ordering::Relaxed);
    stream.write_all(&encode_request(
        code,
        VERSION_5_3_3,
        opaque,
        ext_fields,
        body,
    ))?;
    let response = decode_frame(&read_frame(&mut stream)?)?;
    let got = response.header.get("opaque").and_then(Value::as_i64);
    if got != Some(i64::from(opaque)) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("response opaque {got:?}, request opaque {opaque}"),
        ));
    }
    Ok(response)
}

/// `GET_BROKER_CLUSTER_INFO` from a name server.
pub fn broker_cluster_info(namesrv: &str) -> io::Result<Response> {
    request(
        namesrv,
        GET_BROKER_CLUSTER_INFO,
        &[],
        &[],
        Duration::from_secs(5),
    )
}

/// `GET_ROUTEINFO_BY_TOPIC` from a name server.
pub fn topic_route(namesrv: &str, topic: &str) -> io::Result<Response> {
    request(
        namesrv,
        GET_ROUTEINFO_BY_TOPIC,
        &[("topic", topic)],
        &[],
        Duration::from_secs(5),
    )
}

/// Sends request `code` with `fields` and `body` to `addr`, signed as the ACL account or user
/// `who` (access key, secret key) the way Apache's `AclClientRPCHook` signs; panics unless the
/// answer is SUCCESS.
pub fn signed_request(
    addr: &str,
    who: (&str, &str),
    code: ferromq_protocol::RequestCode,
    fields: &[(&str, &str)],
    body: &str,
) {
    let mut cmd =
        ferromq_protocol::RemotingCommand::request(code).with_body(body.as_bytes().to_vec());
    for (k, v) in fields {
        cmd.ext_fields.insert(*k, *v);
    }
    cmd.ext_fields.insert("AccessKey", who.0);
    let signature = ferromq_protocol::acl::signature(who.1, &cmd);
    let mut all: Vec<(&str, &str)> = fields.to_vec();
    all.push(("AccessKey", who.0));
    all.push(("Signature", &signature));
    let r = request(addr, code.0, &all, body.as_bytes(), Duration::from_secs(10)).expect("request");
    assert_eq!(r.code, 0, "{code:?}: {:?}", r.remark());
}

/// Creates `topic` (4 queues) on the broker at `addr` with a request signed as `who`.
pub fn create_topic_signed(addr: &str, who: (&str, &str), topic: &str) {
    signed_request(
        addr,
        who,
        ferromq_protocol::RequestCode::UPDATE_AND_CREATE_TOPIC,
        &[
            ("topic", topic),
            ("defaultTopic", "TBW102"),
            ("readQueueNums", "4"),
            ("writeQueueNums", "4"),
            ("perm", "6"),
            ("topicFilterType", "SINGLE_TAG"),
            ("order", "false"),
        ],
        "",
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_frame_layout() {
        let frame = encode_request(105, 479, 7, &[("topic", "T")], b"xy");
        let len = u32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]) as usize;
        assert_eq!(len, frame.len() - 4);
        let header_len = u32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]) as usize;
        let header = std::str::from_utf8(&frame[8..8 + header_len]).expect("utf8");
        assert_eq!(
            header,
            r#"{"code":105,"extFields":{"topic":"T"},"flag":0,"language":"JAVA","opaque":7,"serializeTypeCurrentRPC":"JSON","version":479}"#
        );
        assert_eq!(&frame[8 + header_len..], b"xy");
        let decoded = decode_frame(&frame).expect("decodes");
        assert_eq!(decoded.code, 105);
        assert_eq!(decoded.body, b"xy");
    }

    #[test]
    fn truncated_frames_are_errors() {
        let frame = encode_request(106, 479, 1, &[], &[]);
        for cut in 0..frame.len() {
            assert!(read_frame(&mut &frame[..cut]).is_err(), "cut at {cut}");
        }
        assert!(read_frame(&mut &frame[..]).is_ok());
    }
}
