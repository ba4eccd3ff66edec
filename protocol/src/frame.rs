//! Frames and the two header serializations (docs/protocol.md, "Frames", "Commands", "JSON headers"
//! and "Binary headers").
//!
//! ```text
//! int32 length            = 4 + headerLen + bodyLen (does not count itself)
//! int32 serType<<24 | headerLen
//! header (JSON or ROCKETMQ binary), body
//! ```
//!
//! [`FrameDecoder`] takes whole frames off the front of a buffer and enforces a size limit before
//! anything is allocated; [`encode`] / [`encode_header`] write them. Decoding never panics: every
//! malformed input is a [`ProtocolError`], and a server closes only the offending connection.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::codes::LanguageCode;
use crate::command::{RemotingCommand, SerializeType};
use crate::error::{ProtocolError, Result};
use crate::ext::ExtFields;
use crate::json::{self, Reader, Scalar};

/// Default largest frame, length field included (Java's `frameMaxLength`, 16 MiB).
pub const DEFAULT_MAX_FRAME_LEN: usize = 16 * 1024 * 1024;

/// Largest header the 24-bit length can describe.
pub const MAX_HEADER_LEN: usize = 0x00FF_FFFF;

/// Fixed part of the ROCKETMQ binary header: code, language, version, opaque, flag, remark length
/// and ext length.
const BINARY_FIXED_LEN: usize = 2 + 1 + 2 + 4 + 4 + 4 + 4;

/// Splits whole frames off a receive buffer and decodes them.
#[derive(Clone, Copy, Debug)]
pub struct FrameDecoder {
    max_frame_len: usize,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        FrameDecoder::new(DEFAULT_MAX_FRAME_LEN)
    }
}

impl FrameDecoder {
    /// A decoder that rejects frames larger than `max_frame_len` bytes (length field included).
    pub fn new(max_frame_len: usize) -> Self {
        FrameDecoder { max_frame_len }
    }

    /// The configured limit.
    pub fn max_frame_len(&self) -> usize {
        self.max_frame_len
    }

    /// Checks the length prefix at the front of `src` and returns the total size of the frame
    /// (length field included) once it is known, so a reader can reserve exactly that much.
    pub fn frame_len(&self, src: &[u8]) -> Result<Option<usize>> {
        let Some(prefix) = src.get(..4) else {
            return Ok(None);
        };
        let len = i32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]);
        if len < 4 {
            return Err(ProtocolError::malformed(
                "frame",
                format!("length field {len} is smaller than the 4-byte header-length word"),
            ));
        }
        let total = (len as usize).saturating_add(4);
        if total > self.max_frame_len {
            return Err(ProtocolError::TooLarge {
                what: "frame",
                len: total,
                max: self.max_frame_len,
            });
        }
        Ok(Some(total))
    }

    /// Takes one frame off the front of `src` and decodes it; `Ok(None)` when more bytes are
    /// needed. On error the connection should be closed: the stream position is lost.
    pub fn decode(&self, src: &mut BytesMut) -> Result<Option<RemotingCommand>> {
        let Some(total) = self.frame_len(src)? else {
            return Ok(None);
        };
        if src.len() < total {
            src.reserve(total - src.len());
            return Ok(None);
        }
        let mut frame = src.split_to(total).freeze();
        frame.advance(4);
        decode_frame(frame).map(Some)
    }
}

/// Decodes one frame given without its 4-byte length prefix (header-length word, header, body).
/// The body is a zero-copy slice of `frame`.
pub fn decode_frame(mut frame: Bytes) -> Result<RemotingCommand> {
    if frame.len() < 4 {
        return Err(ProtocolError::truncated("frame", 4, frame.len()));
    }
    let word = frame.get_u32();
    let ser_code = (word >> 24) as u8;
    let header_len = (word & 0x00FF_FFFF) as usize;
    if header_len > frame.len() {
        return Err(ProtocolError::truncated(
            "frame header",
            header_len,
            frame.len(),
        ));
    }
    let header = frame.split_to(header_len);
    let ser = SerializeType::from_code(ser_code).ok_or_else(|| {
        ProtocolError::malformed("frame", format!("unknown header serialize type {ser_code}"))
    })?;
    let mut cmd = match ser {
        SerializeType::Json => decode_json_header(&header)?,
        SerializeType::RocketMq => decode_binary_header(&header)?,
    };
    cmd.serialize_type = ser;
    cmd.body = frame;
    Ok(cmd)
}

/// Decodes a JSON header leniently (docs/protocol.md, "JSON headers"): unknown keys ignored,
/// `remark` and `extFields` may be missing or null, extFields values may be numbers or booleans
/// (C++), trailing whitespace (the C++ client's newline) is accepted, `language` may be a name or
/// an ordinal.
pub fn decode_json_header(header: &[u8]) -> Result<RemotingCommand> {
    let mut r = Reader::new(header);
    let mut cmd = RemotingCommand::default();
    let mut seen_code = false;
    r.begin_object()?;
    while let Some(key) = r.next_key()? {
        match key.as_ref() {
            "code" => {
                cmd.code = json_i32(&mut r, "code")?;
                seen_code = true;
            }
            "opaque" => cmd.opaque = json_i32(&mut r, "opaque")?,
            "flag" => cmd.flag = json_i32(&mut r, "flag")?,
            "version" => cmd.version = json_i32(&mut r, "version")?,
            "language" => {
                cmd.language = match r.scalar_text()? {
                    Scalar::Text(t) => LanguageCode::from_name(&t)
                        .or_else(|| t.parse::<u8>().ok().map(LanguageCode))
                        .unwrap_or(LanguageCode::OTHER),
                    Scalar::Null => LanguageCode::OTHER,
                }
            }
            "remark" => {
                cmd.remark = match r.scalar_text()? {
                    Scalar::Text(t) => Some(t.into_owned()),
                    Scalar::Null => None,
                }
            }
            "extFields" => cmd.ext_fields = json_ext_fields(&mut r)?,
            _ => {
                r.value()?;
            }
        }
    }
    r.end()?;
    if !seen_code {
        return Err(ProtocolError::malformed("JSON header", "no `code` field"));
    }
    Ok(cmd)
}

fn json_i32(r: &mut Reader<'_>, field: &'static str) -> Result<i32> {
    let v = r.integer()?;
    i32::try_from(v).map_err(|_| ProtocolError::InvalidField {
        header: "RemotingCommand",
        field,
        value: v.to_string(),
    })
}

fn json_ext_fields(r: &mut Reader<'_>) -> Result<ExtFields> {
    if r.take_null() {
        return Ok(ExtFields::new());
    }
    // The values are at most the rest of the header: one buffer holds them all.
    let mut ext = ExtFields::with_capacity(16, r.remaining());
    r.begin_object()?;
    while let Some(key) = r.next_key()? {
        ext.insert_with(&key, |text| r.scalar_text_into(text))?;
    }
    Ok(ext)
}

/// Decodes a ROCKETMQ binary header (docs/protocol.md, "Binary headers"). Zero-length keys or
/// values decode to "absent", as Java reads them as null.
pub fn decode_binary_header(header: &[u8]) -> Result<RemotingCommand> {
    const WHAT: &str = "ROCKETMQ header";
    let mut h = header;
    if h.len() < BINARY_FIXED_LEN - 4 {
        return Err(ProtocolError::truncated(
            WHAT,
            BINARY_FIXED_LEN,
            header.len(),
        ));
    }
    let mut cmd = RemotingCommand {
        code: i32::from(h.get_i16()),
        language: LanguageCode(h.get_u8()),
        version: i32::from(h.get_i16()),
        opaque: h.get_i32(),
        flag: h.get_i32(),
        ..RemotingCommand::default()
    };
    let remark = take_len_prefixed(&mut h, 4, WHAT)?;
    if !remark.is_empty() {
        cmd.remark = Some(utf8(remark, "remark")?.to_owned());
    }
    if h.len() < 4 {
        return Err(ProtocolError::truncated(WHAT, 4, h.len()));
    }
    let ext_len = h.get_i32();
    let ext_len = usize::try_from(ext_len)
        .map_err(|_| ProtocolError::malformed(WHAT, format!("negative ext length {ext_len}")))?;
    if ext_len > h.len() {
        return Err(ProtocolError::truncated(WHAT, ext_len, h.len()));
    }
    let mut ext = &h[..ext_len];
    while !ext.is_empty() {
        let key = take_len_prefixed(&mut ext, 2, WHAT)?;
        let val = take_len_prefixed(&mut ext, 4, WHAT)?;
        if !key.is_empty() && !val.is_empty() {
            cmd.ext_fields
                .insert(utf8(key, "ext key")?, utf8(val, "ext value")?);
        }
    }
    Ok(cmd)
}

fn take_len_prefixed<'a>(buf: &mut &'a [u8], width: usize, what: &'static str) -> Result<&'a [u8]> {
    if buf.len() < width {
        return Err(ProtocolError::truncated(what, width, buf.len()));
    }
    let len = if width == 2 {
        i64::from(buf.get_i16())
    } else {
        i64::from(buf.get_i32())
    };
    let len = usize::try_from(len)
        .map_err(|_| ProtocolError::malformed(what, format!("negative length {len}")))?;
    if len > buf.len() {
        return Err(ProtocolError::truncated(what, len, buf.len()));
    }
    let (head, tail) = buf.split_at(len);
    *buf = tail;
    Ok(head)
}

fn utf8<'a>(b: &'a [u8], what: &'static str) -> Result<&'a str> {
    std::str::from_utf8(b).map_err(|_| ProtocolError::malformed(what, "not valid UTF-8"))
}

/// Encodes `cmd` as a whole frame (length, header, body) appended to `dst`.
pub fn encode(cmd: &RemotingCommand, ser: SerializeType, dst: &mut BytesMut) -> Result<()> {
    encode_header(cmd, ser, cmd.body.len(), dst)?;
    dst.extend_from_slice(&cmd.body);
    Ok(())
}

/// Encodes `cmd` as a whole frame into a new buffer.
pub fn encode_to_bytes(cmd: &RemotingCommand, ser: SerializeType) -> Result<Bytes> {
    let mut dst = BytesMut::with_capacity(256 + cmd.body.len());
    encode(cmd, ser, &mut dst)?;
    Ok(dst.freeze())
}

/// Encodes the length prefix and header of a frame whose body of `body_len` bytes the caller
/// writes next (possibly from several slices, e.g. mapped store files), ignoring `cmd.body`.
///
/// Codes that do not fit the binary header's int16 (all POP codes) are written as JSON whatever
/// `ser` says, since Java would silently truncate them.
pub fn encode_header(
    cmd: &RemotingCommand,
    ser: SerializeType,
    body_len: usize,
    dst: &mut BytesMut,
) -> Result<()> {
    let ser = match ser {
        SerializeType::RocketMq
            if i16::try_from(cmd.code).is_err() || i16::try_from(cmd.version).is_err() =>
        {
            SerializeType::Json
        }
        s => s,
    };
    let start = dst.len();
    dst.put_u64(0); // length and header-length words, patched below
    match ser {
        SerializeType::Json => write_json_header(cmd, dst),
        SerializeType::RocketMq => write_binary_header(cmd, dst)?,
    }
    let header_len = dst.len() - start - 8;
    if header_len > MAX_HEADER_LEN {
        dst.truncate(start);
        return Err(ProtocolError::TooLarge {
            what: "header",
            len: header_len,
            max: MAX_HEADER_LEN,
        });
    }
    let total = 4 + header_len + body_len;
    let Ok(total) = i32::try_from(total) else {
        dst.truncate(start);
        return Err(ProtocolError::TooLarge {
            what: "frame",
            len: total,
            max: i32::MAX as usize,
        });
    };
    let word = (u32::from(ser.code()) << 24) | header_len as u32;
    dst[start..start + 4].copy_from_slice(&total.to_be_bytes());
    dst[start + 4..start + 8].copy_from_slice(&word.to_be_bytes());
    Ok(())
}

/// Writes the JSON header as Java's fastjson does: compact, keys sorted, nulls omitted,
/// `language` by name, every extFields value a string.
fn write_json_header(cmd: &RemotingCommand, dst: &mut BytesMut) {
    thread_local! {
        /// The text of the header being written: one buffer per thread instead of one
        /// allocation per frame.
        static SCRATCH: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }
    SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
        Ok(mut s) => {
            s.clear();
            json_header_text(cmd, &mut s);
            dst.extend_from_slice(s.as_bytes());
            if s.capacity() > 64 * 1024 {
                // One huge header (a large remark) does not stay allocated.
                *s = String::new();
            }
        }
        Err(_) => {
            let mut s = String::new();
            json_header_text(cmd, &mut s);
            dst.extend_from_slice(s.as_bytes());
        }
    });
}

fn json_header_text(cmd: &RemotingCommand, s: &mut String) {
    s.reserve(128 + cmd.ext_fields.len() * 24);
    s.push_str("{\"code\":");
    push_int(s, i64::from(cmd.code));
    if !cmd.ext_fields.is_empty() {
        s.push_str(",\"extFields\":{");
        for (i, (k, v)) in cmd.ext_fields.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            json::write_str(k, false, s);
            s.push(':');
            json::write_str(v, false, s);
        }
        s.push('}');
    }
    s.push_str(",\"flag\":");
    push_int(s, i64::from(cmd.flag));
    s.push_str(",\"language\":");
    match cmd.language.name() {
        Some(name) => {
            s.push('"');
            s.push_str(name);
            s.push('"');
        }
        None => push_int(s, i64::from(cmd.language.0)),
    }
    s.push_str(",\"opaque\":");
    push_int(s, i64::from(cmd.opaque));
    if let Some(remark) = &cmd.remark {
        s.push_str(",\"remark\":");
        json::write_str(remark, false, s);
    }
    s.push_str(",\"serializeTypeCurrentRPC\":\"JSON\",\"version\":");
    push_int(s, i64::from(cmd.version));
    s.push('}');
}

fn push_int(s: &mut String, v: i64) {
    s.push_str(itoa::Buffer::new().format(v));
}

fn write_binary_header(cmd: &RemotingCommand, dst: &mut BytesMut) -> Result<()> {
    // Callers have checked that code and version fit.
    dst.put_i16(cmd.code as i16);
    dst.put_u8(cmd.language.0);
    dst.put_i16(cmd.version as i16);
    dst.put_i32(cmd.opaque);
    dst.put_i32(cmd.flag);
    match &cmd.remark {
        Some(r) => {
            dst.put_i32(len_i32(r.len(), "remark")?);
            dst.extend_from_slice(r.as_bytes());
        }
        None => dst.put_i32(0),
    }
    let ext_len: usize = cmd
        .ext_fields
        .iter()
        .map(|(k, v)| 2 + k.len() + 4 + v.len())
        .sum();
    dst.put_i32(len_i32(ext_len, "extFields")?);
    for (k, v) in cmd.ext_fields.iter() {
        let klen = i16::try_from(k.len()).map_err(|_| ProtocolError::TooLarge {
            what: "ext key",
            len: k.len(),
            max: i16::MAX as usize,
        })?;
        dst.put_i16(klen);
        dst.extend_from_slice(k.as_bytes());
        dst.put_i32(len_i32(v.len(), "ext value")?);
        dst.extend_from_slice(v.as_bytes());
    }
    Ok(())
}

fn len_i32(len: usize, what: &'static str) -> Result<i32> {
    i32::try_from(len).map_err(|_| ProtocolError::TooLarge {
        what,
        len,
        max: i32::MAX as usize,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::{RequestCode, ResponseCode};

    fn sample() -> RemotingCommand {
        let mut cmd = RemotingCommand::request(RequestCode::SEND_MESSAGE_V2).with_opaque(17);
        cmd.ext_fields.insert("a", "PID_A");
        cmd.ext_fields
            .insert("i", "KEYS\u{1}k1\u{2}TAGS\u{1}TagA\u{2}");
        cmd.remark = Some("héllo \"x\"".to_owned());
        cmd.body = Bytes::from_static(b"hello body");
        cmd
    }

    #[test]
    fn json_and_binary_round_trip() {
        for ser in [SerializeType::Json, SerializeType::RocketMq] {
            let cmd = sample();
            let mut buf = BytesMut::new();
            encode(&cmd, ser, &mut buf).expect("encode");
            let got = FrameDecoder::default()
                .decode(&mut buf)
                .expect("decode")
                .expect("whole frame");
            assert!(buf.is_empty());
            assert_eq!(
                got,
                RemotingCommand {
                    serialize_type: ser,
                    ..cmd
                }
            );
        }
    }

    #[test]
    fn json_header_is_fastjson_shaped() {
        let cmd = RemotingCommand::response(ResponseCode::SUCCESS, None).with_opaque(3);
        let frame = encode_to_bytes(&cmd, SerializeType::Json).expect("encode");
        let header = &frame[8..];
        assert_eq!(
            std::str::from_utf8(header).expect("utf8"),
            r#"{"code":0,"flag":1,"language":"JAVA","opaque":3,"serializeTypeCurrentRPC":"JSON","version":479}"#
        );
        assert_eq!(&frame[..4], &(4 + header.len() as i32).to_be_bytes());
        assert_eq!(&frame[4..8], &(header.len() as u32).to_be_bytes());
    }

    #[test]
    fn lenient_json_headers_from_other_clients() {
        // C++: numbers as ext values, trailing newline counted in headerLen, extra ext keys.
        let cpp = br#"{"code":310,"extFields":{"a":"PID","d":4,"e":0,"k":false,"AccessKey":""},"flag":0,"language":"CPP","opaque":5,"remark":null,"version":333}
"#;
        let cmd = decode_json_header(cpp).expect("C++ header");
        assert_eq!(cmd.code, 310);
        assert_eq!(cmd.language, LanguageCode::CPP);
        assert_eq!(cmd.ext_fields.get("d"), Some("4"));
        assert_eq!(cmd.ext_fields.get("k"), Some("false"));
        assert_eq!(cmd.remark, None);
        // Go: empty remark, empty extFields, different key order.
        let go = br#"{"code":105,"language":"GO","version":317,"opaque":1,"flag":0,"remark":"","extFields":{}}"#;
        let cmd = decode_json_header(go).expect("Go header");
        assert_eq!(
            (cmd.code, cmd.version, cmd.language),
            (105, 317, LanguageCode::GO)
        );
        assert_eq!(cmd.remark.as_deref(), Some(""));
        // Ordinal language, null extFields, unknown keys.
        let odd = br#"{"code":1,"language":12,"extFields":null,"x":{"y":[1]},"opaque":-3}"#;
        let cmd = decode_json_header(odd).expect("odd header");
        assert_eq!((cmd.language, cmd.opaque), (LanguageCode::RUST, -3));
    }

    #[test]
    fn ext_values_are_unescaped_and_nulls_dropped() {
        let header = br#"{"code":310,"extFields":{"i":"KEYS\u0001k1\u0002T\"q\"","a":null,"b":"Topic","zz":"\uD83D\uDE00 \n"},"flag":0}"#;
        let cmd = decode_json_header(header).expect("header");
        assert_eq!(cmd.ext_fields.get("i"), Some("KEYS\u{1}k1\u{2}T\"q\""));
        assert_eq!(cmd.ext_fields.get("a"), None);
        assert_eq!(cmd.ext_fields.get("b"), Some("Topic"));
        assert_eq!(cmd.ext_fields.get("zz"), Some("\u{1F600} \n"));
        assert_eq!(cmd.ext_fields.len(), 3);
        // Round trip through the writer.
        let mut buf = BytesMut::new();
        encode(&cmd, SerializeType::Json, &mut buf).expect("encode");
        let again = FrameDecoder::default()
            .decode(&mut buf)
            .expect("decode")
            .expect("frame");
        assert_eq!(again.ext_fields, cmd.ext_fields);
        // A bad escape or bad UTF-8 inside a value is an error, not a panic.
        assert!(decode_json_header(br#"{"code":1,"extFields":{"a":"x\q"}}"#).is_err());
        assert!(decode_json_header(b"{\"code\":1,\"extFields\":{\"a\":\"\xff\\n\"}}").is_err());
    }

    #[test]
    fn bad_frames_are_errors() {
        let d = FrameDecoder::new(1024);
        // Over the limit: rejected from the prefix alone, before the bytes arrive.
        let mut big = BytesMut::from(&2000i32.to_be_bytes()[..]);
        assert!(matches!(
            d.decode(&mut big),
            Err(ProtocolError::TooLarge { .. })
        ));
        // Negative and too-small lengths.
        for len in [-1i32, 0, 3] {
            let mut b = BytesMut::from(&len.to_be_bytes()[..]);
            assert!(d.decode(&mut b).is_err(), "length {len}");
        }
        // Header length beyond the frame.
        let mut b = BytesMut::new();
        b.put_i32(8);
        b.put_u32(100);
        b.put_u32(0);
        assert!(matches!(
            d.decode(&mut b),
            Err(ProtocolError::Truncated { .. })
        ));
        // Unknown serialize type.
        let mut b = BytesMut::new();
        b.put_i32(6);
        b.put_u32(0x0500_0002);
        b.put_slice(b"{}");
        assert!(matches!(
            d.decode(&mut b),
            Err(ProtocolError::Malformed { .. })
        ));
        // Garbage JSON header.
        let mut b = BytesMut::new();
        b.put_i32(7);
        b.put_u32(3);
        b.put_slice(b"{x]");
        assert!(d.decode(&mut b).is_err());
    }

    #[test]
    fn partial_frames_wait_for_more_bytes() {
        let bytes = encode_to_bytes(&sample(), SerializeType::Json).expect("encode");
        let d = FrameDecoder::default();
        let mut buf = BytesMut::new();
        for (i, b) in bytes.iter().enumerate() {
            buf.put_u8(*b);
            let got = d.decode(&mut buf).expect("no error on a prefix");
            assert_eq!(got.is_some(), i + 1 == bytes.len());
        }
    }

    #[test]
    fn truncation_at_every_byte_is_an_error_not_a_panic() {
        for ser in [SerializeType::Json, SerializeType::RocketMq] {
            let bytes = encode_to_bytes(&sample(), ser).expect("encode");
            let header_len =
                (u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) & 0xFF_FFFF) as usize;
            let header = &bytes[8..8 + header_len];
            for cut in 0..header.len() {
                let r = match ser {
                    SerializeType::Json => decode_json_header(&header[..cut]),
                    SerializeType::RocketMq => decode_binary_header(&header[..cut]),
                };
                assert!(r.is_err(), "{ser:?} header cut at {cut} decoded");
            }
            for cut in 0..4 {
                assert!(
                    decode_frame(bytes.slice(4..4 + cut)).is_err(),
                    "frame cut at {cut} decoded"
                );
            }
        }
    }

    #[test]
    fn pop_codes_fall_back_to_json() {
        let cmd = RemotingCommand::request(RequestCode::POP_MESSAGE);
        let bytes = encode_to_bytes(&cmd, SerializeType::RocketMq).expect("encode");
        assert_eq!(bytes[4], 0, "serialize type byte must be JSON");
        let got = decode_frame(bytes.slice(4..)).expect("decode");
        assert_eq!(got.code, 200_050);
    }
}
