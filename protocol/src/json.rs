//! JSON as RocketMQ peers write it: a lenient reader and a fastjson-compatible writer.
//!
//! Java peers use fastjson 1.2.x, whose output is not always valid JSON and whose parser accepts
//! more than JSON. This module reads everything the peers in the wild send and writes exactly
//! what Java writes:
//!
//! - Reading ([`parse`], [`Reader`]): object keys may be quoted, single-quoted, bare words or
//!   numbers (`{0:"10.0.0.1:10911"}`), or whole JSON objects (fastjson's bean-keyed maps,
//!   docs/protocol.md, "Maps keyed by objects":
//!   `{{"brokerName":"b","queueId":0,"topic":"T"}:{...}}`); such a key is kept as its compact JSON
//!   text. Strings may be single-quoted; whitespace and a trailing comma before `}`/`]` are
//!   accepted; nesting is limited to [`MAX_DEPTH`]. Errors carry the byte offset.
//! - Writing ([`write`](fn@write), [`to_string`]): compact, keys in the value's (sorted) order, with a
//!   [`Style`] that reproduces fastjson's quirks per field: integer keys written bare inside the
//!   named map fields (route and cluster data), bean keys written as raw JSON, and the
//!   `BrowserCompatible` escaping of non-ASCII characters.
//!
//! Values are `serde_json::Value`s (objects sorted by key), so typed bodies use serde derive.

use std::borrow::Cow;

use serde::de::DeserializeOwned;
use serde::Serialize;
pub use serde_json::Value;
use serde_json::{Map, Number};

use crate::error::{ProtocolError, Result};

/// Deepest nesting the reader accepts; deeper input is an error, never a stack overflow.
pub const MAX_DEPTH: usize = 128;

/// Parses `input` leniently (see the module docs) into a value.
pub fn parse(input: &[u8]) -> Result<Value> {
    let mut r = Reader::new(input);
    let v = r.value()?;
    r.end()?;
    Ok(v)
}

/// Parses `input` leniently and deserializes it into `T`.
pub fn from_slice<T: DeserializeOwned>(input: &[u8]) -> Result<T> {
    let v = parse(input)?;
    serde_json::from_value(v).map_err(|e| ProtocolError::Json {
        offset: 0,
        reason: Cow::Owned(e.to_string()),
    })
}

/// Serializes `value` to compact JSON text in the given style.
pub fn to_string_styled<T: Serialize + ?Sized>(value: &T, style: &Style<'_>) -> String {
    // Serializing plain data structs into a Value cannot fail (all keys are strings).
    let v = serde_json::to_value(value).unwrap_or(Value::Null);
    let mut out = String::new();
    write(&v, style, &mut out);
    out
}

/// Serializes `value` to compact JSON text in the default (fastjson default) style.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> String {
    to_string_styled(value, &Style::default())
}

/// Output quirks to reproduce, per field.
#[derive(Clone, Copy, Debug, Default)]
pub struct Style<'a> {
    /// Maps stored under these field names (at any depth) write integer keys bare, as fastjson
    /// does for `Map<Long, _>`: `"brokerAddrs":{0:"10.0.0.1:10911"}`.
    pub bare_int_keys_in: &'a [&'a str],
    /// Keys that are themselves JSON objects (bean-keyed maps, docs/protocol.md, "Maps keyed by
    /// objects") are written as raw JSON rather than as strings.
    pub raw_object_keys: bool,
    /// Escape every non-ASCII character as `\uXXXX` (fastjson `BrowserCompatible`).
    pub escape_non_ascii: bool,
}

/// Writes `value` compactly into `out`.
pub fn write(value: &Value, style: &Style<'_>, out: &mut String) {
    write_value(value, style, false, out);
}

fn write_value(value: &Value, style: &Style<'_>, bare_keys: bool, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_str(s, style.escape_non_ascii, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, style, false, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let bare = (bare_keys && is_integer(k))
                    || (style.raw_object_keys && k.starts_with('{') && parse(k.as_bytes()).is_ok());
                if bare {
                    out.push_str(k);
                } else {
                    write_str(k, style.escape_non_ascii, out);
                }
                out.push(':');
                let child_bare = style.bare_int_keys_in.contains(&k.as_str());
                write_value(v, style, child_bare, out);
            }
            out.push('}');
        }
    }
}

fn is_integer(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Appends `s` as a JSON string literal, escaping as fastjson does.
pub fn write_str(s: &str, escape_non_ascii: bool, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let esc: Option<&str> = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\u{8}' => Some("\\b"),
            '\u{c}' => Some("\\f"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            _ => None,
        };
        let needs_unicode = (c as u32) < 0x20 || (escape_non_ascii && !c.is_ascii());
        if esc.is_none() && !needs_unicode {
            continue;
        }
        out.push_str(&s[start..i]);
        start = i + c.len_utf8();
        if let Some(e) = esc {
            out.push_str(e);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str("\\u");
                for shift in [12, 8, 4, 0] {
                    out.push(HEX[usize::from((*unit >> shift) & 0xF)] as char);
                }
            }
        }
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// A scalar JSON value as text, the way fastjson converts it to a Java `String` field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scalar<'a> {
    /// `null`.
    Null,
    /// A string, number or boolean rendered as text (`0` → `"0"`, `true` → `"true"`).
    Text(Cow<'a, str>),
}

/// A lenient pull reader over JSON bytes, for hand-written fast paths (the command header) and
/// for [`parse`].
#[derive(Debug)]
pub struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
    depth: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `input`.
    pub fn new(input: &'a [u8]) -> Self {
        Reader {
            input,
            pos: 0,
            depth: 0,
        }
    }

    /// Current byte offset.
    pub fn offset(&self) -> usize {
        self.pos
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.input.len().saturating_sub(self.pos)
    }

    fn err<T>(&self, reason: &'static str) -> Result<T> {
        Err(ProtocolError::Json {
            offset: self.pos,
            reason: Cow::Borrowed(reason),
        })
    }

    fn skip_ws(&mut self) {
        while let Some(b) = self.input.get(self.pos) {
            if matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0c) {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.input.get(self.pos).copied()
    }

    /// Checks that only whitespace remains.
    pub fn end(&mut self) -> Result<()> {
        match self.peek() {
            None => Ok(()),
            Some(_) => self.err("trailing characters after the JSON value"),
        }
    }

    /// Consumes a `null` literal if it is next, returning whether it did.
    pub fn take_null(&mut self) -> bool {
        if self.peek() == Some(b'n') && self.input[self.pos..].starts_with(b"null") {
            self.pos += 4;
            true
        } else {
            false
        }
    }

    /// Consumes `{`.
    pub fn begin_object(&mut self) -> Result<()> {
        if self.peek() != Some(b'{') {
            return self.err("expected '{'");
        }
        self.pos += 1;
        self.enter()
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.err("nesting too deep");
        }
        Ok(())
    }

    /// The next key of the current object, or `None` at its closing `}` (consumed). Handles the
    /// separating commas and a trailing comma.
    pub fn next_key(&mut self) -> Result<Option<Cow<'a, str>>> {
        loop {
            match self.peek() {
                Some(b'}') => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(None);
                }
                Some(b',') => {
                    self.pos += 1;
                    continue;
                }
                None => return self.err("unterminated object"),
                Some(_) => break,
            }
        }
        let key = self.key()?;
        if self.peek() != Some(b':') {
            return self.err("expected ':' after an object key");
        }
        self.pos += 1;
        Ok(Some(key))
    }

    fn key(&mut self) -> Result<Cow<'a, str>> {
        match self.peek() {
            Some(b'"') | Some(b'\'') => self.string(),
            Some(b'{') | Some(b'[') => {
                let v = self.value()?;
                let mut s = String::new();
                write(&v, &Style::default(), &mut s);
                Ok(Cow::Owned(s))
            }
            Some(_) => {
                let start = self.pos;
                while let Some(b) = self.input.get(self.pos) {
                    if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'$' | b'-' | b'.' | b'+') {
                        self.pos += 1;
                    } else {
                        break;
                    }
                }
                if start == self.pos {
                    return self.err("expected an object key");
                }
                // Only ASCII bytes were consumed, so this is valid UTF-8.
                Ok(Cow::Borrowed(
                    std::str::from_utf8(&self.input[start..self.pos]).unwrap_or_default(),
                ))
            }
            None => self.err("expected an object key"),
        }
    }

    /// Reads a scalar as text, or skips a nested value (returned as its compact JSON text).
    pub fn scalar_text(&mut self) -> Result<Scalar<'a>> {
        match self.peek() {
            Some(b'"') | Some(b'\'') => Ok(Scalar::Text(self.string()?)),
            Some(b'{') | Some(b'[') => {
                let v = self.value()?;
                let mut s = String::new();
                write(&v, &Style::default(), &mut s);
                Ok(Scalar::Text(Cow::Owned(s)))
            }
            Some(_) => {
                let start = self.pos;
                match self.literal_or_number()? {
                    Value::Null => Ok(Scalar::Null),
                    _ => Ok(Scalar::Text(Cow::Borrowed(
                        std::str::from_utf8(&self.input[start..self.pos]).unwrap_or_default(),
                    ))),
                }
            }
            None => self.err("expected a value"),
        }
    }

    /// Reads an integer (accepting a quoted number, as fastjson does).
    pub fn integer(&mut self) -> Result<i64> {
        let at = self.pos;
        match self.scalar_text()? {
            Scalar::Text(t) => t.trim().parse::<i64>().map_err(|_| ProtocolError::Json {
                offset: at,
                reason: Cow::Borrowed("expected an integer"),
            }),
            Scalar::Null => self.err("expected an integer, found null"),
        }
    }

    /// Reads any value.
    pub fn value(&mut self) -> Result<Value> {
        match self.peek() {
            Some(b'{') => {
                self.begin_object()?;
                let mut map = Map::new();
                while let Some(k) = self.next_key()? {
                    let v = self.value()?;
                    map.insert(k.into_owned(), v);
                }
                Ok(Value::Object(map))
            }
            Some(b'[') => {
                self.pos += 1;
                self.enter()?;
                let mut items = Vec::new();
                loop {
                    match self.peek() {
                        Some(b']') => {
                            self.pos += 1;
                            self.depth -= 1;
                            return Ok(Value::Array(items));
                        }
                        Some(b',') => self.pos += 1,
                        None => return self.err("unterminated array"),
                        Some(_) => items.push(self.value()?),
                    }
                }
            }
            Some(b'"') | Some(b'\'') => Ok(Value::String(self.string()?.into_owned())),
            Some(_) => self.literal_or_number(),
            None => self.err("expected a value"),
        }
    }

    fn literal_or_number(&mut self) -> Result<Value> {
        let rest = &self.input[self.pos..];
        for (word, v) in [
            (&b"null"[..], Value::Null),
            (b"true", Value::Bool(true)),
            (b"false", Value::Bool(false)),
        ] {
            if rest.starts_with(word) {
                self.pos += word.len();
                return Ok(v);
            }
        }
        let start = self.pos;
        while let Some(b) = self.input.get(self.pos) {
            if b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E') {
                self.pos += 1;
            } else {
                break;
            }
        }
        let text = std::str::from_utf8(&self.input[start..self.pos]).unwrap_or_default();
        if text.is_empty() {
            return self.err("unexpected character");
        }
        if let Ok(i) = text.parse::<i64>() {
            return Ok(Value::Number(i.into()));
        }
        if let Ok(u) = text.parse::<u64>() {
            return Ok(Value::Number(u.into()));
        }
        match text.parse::<f64>().ok().and_then(Number::from_f64) {
            Some(n) => Ok(Value::Number(n)),
            None => {
                self.pos = start;
                self.err("invalid number")
            }
        }
    }

    /// Reads a double- or single-quoted string, borrowing when it has no escapes.
    pub fn string(&mut self) -> Result<Cow<'a, str>> {
        let quote = match self.peek() {
            Some(q @ (b'"' | b'\'')) => q,
            _ => return self.err("expected a string"),
        };
        self.pos += 1;
        let start = self.pos;
        // Fast path: no escapes.
        while let Some(&b) = self.input.get(self.pos) {
            if b == quote {
                let s = std::str::from_utf8(&self.input[start..self.pos])
                    .or_else(|_| self.err("string is not UTF-8"))?;
                self.pos += 1;
                return Ok(Cow::Borrowed(s));
            }
            if b == b'\\' {
                break;
            }
            self.pos += 1;
        }
        let mut out = String::with_capacity(self.pos - start + 16);
        self.pos = start;
        self.string_rest(quote, &mut out)?;
        Ok(Cow::Owned(out))
    }

    /// Reads a string, number or boolean as text appended to `out` (escapes decoded in place,
    /// nothing allocated); `Ok(false)` for `null`, which appends nothing. A nested value is
    /// appended as its compact JSON text, as [`Self::scalar_text`] returns it.
    pub fn scalar_text_into(&mut self, out: &mut String) -> Result<bool> {
        match self.peek() {
            Some(q @ (b'"' | b'\'')) => {
                self.pos += 1;
                self.string_rest(q, out)?;
                Ok(true)
            }
            _ => match self.scalar_text()? {
                Scalar::Text(t) => {
                    out.push_str(&t);
                    Ok(true)
                }
                Scalar::Null => Ok(false),
            },
        }
    }

    /// Appends the rest of a string whose opening `quote` is consumed to `out`, decoding
    /// escapes, and consumes the closing quote.
    fn string_rest(&mut self, quote: u8, out: &mut String) -> Result<()> {
        loop {
            let start = self.pos;
            while let Some(&b) = self.input.get(self.pos) {
                if b == quote || b == b'\\' {
                    break;
                }
                self.pos += 1;
            }
            // Escapes start with an ASCII byte, so a run between them is whole UTF-8 or not at all.
            let run = std::str::from_utf8(&self.input[start..self.pos])
                .or_else(|_| self.err("string is not UTF-8"))?;
            out.push_str(run);
            let Some(&b) = self.input.get(self.pos) else {
                return self.err("unterminated string");
            };
            self.pos += 1;
            if b == quote {
                return Ok(());
            }
            let Some(&e) = self.input.get(self.pos) else {
                return self.err("unterminated escape");
            };
            self.pos += 1;
            match e {
                b'"' | b'\\' | b'/' | b'\'' => out.push(char::from(e)),
                b'b' => out.push('\u{8}'),
                b'f' => out.push('\u{c}'),
                b'n' => out.push('\n'),
                b'r' => out.push('\r'),
                b't' => out.push('\t'),
                b'x' => {
                    let v = self.hex(2)?;
                    out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
                }
                b'u' => {
                    let hi = self.hex(4)?;
                    let c = if (0xD800..0xDC00).contains(&hi)
                        && self.input[self.pos..].starts_with(b"\\u")
                    {
                        let save = self.pos;
                        self.pos += 2;
                        let lo = self.hex(4)?;
                        if (0xDC00..0xE000).contains(&lo) {
                            char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
                        } else {
                            self.pos = save;
                            None
                        }
                    } else {
                        char::from_u32(hi)
                    };
                    out.push(c.unwrap_or('\u{fffd}'));
                }
                _ => return self.err("invalid escape"),
            }
        }
    }

    fn hex(&mut self, n: usize) -> Result<u32> {
        let Some(digits) = self.input.get(self.pos..self.pos + n) else {
            return self.err("truncated escape");
        };
        let mut v = 0u32;
        for d in digits {
            let x = match d {
                b'0'..=b'9' => d - b'0',
                b'a'..=b'f' => d - b'a' + 10,
                b'A'..=b'F' => d - b'A' + 10,
                _ => return self.err("invalid hex digit in escape"),
            };
            v = v * 16 + u32::from(x);
        }
        self.pos += n;
        Ok(v)
    }
}

/// Lenient serde field deserializers: accept what fastjson accepts for a typed Java field.
///
/// Use with `#[serde(deserialize_with = "crate::json::lenient::i64")]` and friends.
pub mod lenient {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer};
    use serde_json::Value;

    fn to_i64<E: serde::de::Error>(v: &Value) -> Result<Option<i64>, E> {
        match v {
            Value::Null => Ok(None),
            Value::Number(n) => n
                .as_i64()
                .or_else(|| n.as_f64().map(|f| f as i64))
                .map(Some)
                .ok_or_else(|| E::custom("number out of range")),
            Value::String(s) if s.trim().is_empty() => Ok(None),
            Value::String(s) => s
                .trim()
                .parse::<i64>()
                .map(Some)
                .map_err(|_| E::custom(format!("expected an integer, found {s:?}"))),
            Value::Bool(b) => Ok(Some(i64::from(*b))),
            _ => Err(E::custom("expected an integer")),
        }
    }

    /// An `i64` from a number or a numeric string; null is 0.
    pub fn i64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        Ok(to_i64::<D::Error>(&Value::deserialize(d)?)?.unwrap_or(0))
    }

    /// An `i32` from a number or a numeric string; null is 0.
    pub fn i32<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
        let v = to_i64::<D::Error>(&Value::deserialize(d)?)?.unwrap_or(0);
        i32::try_from(v).map_err(|_| D::Error::custom("integer out of i32 range"))
    }

    /// An optional `i64`.
    pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        to_i64::<D::Error>(&Value::deserialize(d)?)
    }

    /// A `bool` from a boolean, `"true"`/`"false"` or a number; null is false.
    pub fn bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        match Value::deserialize(d)? {
            Value::Null => Ok(false),
            Value::Bool(b) => Ok(b),
            Value::String(s) => Ok(s.trim().eq_ignore_ascii_case("true")),
            Value::Number(n) => Ok(n.as_f64().is_some_and(|f| f != 0.0)),
            _ => Err(D::Error::custom("expected a boolean")),
        }
    }

    /// A `String` from a string, number or boolean; null is empty.
    pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        Ok(opt_string(d)?.unwrap_or_default())
    }

    /// An optional `String` from a string, number or boolean.
    pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        match Value::deserialize(d)? {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s)),
            Value::Number(n) => Ok(Some(n.to_string())),
            Value::Bool(b) => Ok(Some(b.to_string())),
            _ => Err(D::Error::custom("expected a string")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fastjson_unquoted_numeric_keys() {
        let v =
            parse(br#"{"brokerAddrs":{0:"10.0.0.1:10911",1:"10.0.0.2:10911"},"brokerName":"a"}"#)
                .unwrap_or_default();
        assert_eq!(v["brokerAddrs"]["0"], "10.0.0.1:10911");
        assert_eq!(v["brokerAddrs"]["1"], "10.0.0.2:10911");
    }

    #[test]
    fn reads_bean_keyed_maps_as_compact_text() {
        let v = parse(
            br#"{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:{"maxOffset":10}}}"#,
        )
        .unwrap_or_default();
        let table = v["offsetTable"].as_object().cloned().unwrap_or_default();
        let (k, val) = table
            .iter()
            .next()
            .map(|(k, v)| (k.clone(), v.clone()))
            .unwrap_or_default();
        assert_eq!(k, r#"{"brokerName":"b","queueId":0,"topic":"T"}"#);
        assert_eq!(val["maxOffset"], 10);
    }

    #[test]
    fn lenient_forms_are_accepted() {
        let v = parse(b" {'a':'x', b : [1,2,], \"c\":\"\\u00e9\\n\"} \n").unwrap_or_default();
        assert_eq!(v["a"], "x");
        assert_eq!(v["b"], serde_json::json!([1, 2]));
        assert_eq!(v["c"], "é\n");
        let v = parse(br#"{"s":"\ud83d\ude00"}"#).unwrap_or_default();
        assert_eq!(v["s"], "😀");
    }

    #[test]
    fn malformed_input_is_an_error_with_offset() {
        for bad in [
            &b"{"[..],
            b"{\"a\"}",
            b"[1,",
            b"\"abc",
            b"{\"a\":tru}",
            b"{} x",
            b"",
            b"\"\\u12\"",
        ] {
            assert!(
                matches!(parse(bad), Err(ProtocolError::Json { .. })),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let deep = "[".repeat(MAX_DEPTH + 1);
        assert!(parse(deep.as_bytes()).is_err());
    }

    #[test]
    fn writer_reproduces_fastjson_quirks() {
        let v = serde_json::json!({"brokerAddrs": {"0": "a:1", "1": "b:2"}, "name": "é", "topics": {"123": 1}});
        let mut out = String::new();
        write(
            &v,
            &Style {
                bare_int_keys_in: &["brokerAddrs"],
                ..Style::default()
            },
            &mut out,
        );
        assert_eq!(
            out,
            r#"{"brokerAddrs":{0:"a:1",1:"b:2"},"name":"é","topics":{"123":1}}"#
        );
        let mut out = String::new();
        write(
            &v,
            &Style {
                escape_non_ascii: true,
                ..Style::default()
            },
            &mut out,
        );
        assert_eq!(
            out,
            r#"{"brokerAddrs":{"0":"a:1","1":"b:2"},"name":"\u00e9","topics":{"123":1}}"#
        );
        let keyed = serde_json::json!({"t": {r#"{"queueId":0}"#: 5}});
        let mut out = String::new();
        write(
            &keyed,
            &Style {
                raw_object_keys: true,
                ..Style::default()
            },
            &mut out,
        );
        assert_eq!(out, r#"{"t":{{"queueId":0}:5}}"#);
    }

    #[test]
    fn strings_escape_control_characters() {
        let mut out = String::new();
        write_str("a\u{1}b\u{2}\"\\\t", false, &mut out);
        assert_eq!(out, r#""a\u0001b\u0002\"\\\t""#);
        assert_eq!(
            parse(out.as_bytes()).unwrap_or_default(),
            "a\u{1}b\u{2}\"\\\t"
        );
    }

    #[test]
    fn lenient_field_deserializers() {
        #[derive(serde::Deserialize)]
        struct T {
            #[serde(deserialize_with = "lenient::i64")]
            a: i64,
            #[serde(deserialize_with = "lenient::bool")]
            b: bool,
            #[serde(deserialize_with = "lenient::string")]
            c: String,
        }
        let t: T = from_slice(br#"{"a":"42","b":"true","c":7}"#).expect("lenient");
        assert_eq!((t.a, t.b, t.c.as_str()), (42, true, "7"));
    }
}
