//! `extFields`: the string map that carries every custom header field (docs/protocol.md, "Custom
//! headers (extFields)").

use std::fmt;

use crate::error::{ProtocolError, Result};

/// The `extFields` map of a command. Keys are Java field names (or the one-letter keys of
/// `SendMessageRequestHeaderV2`); values are always strings on the wire.
///
/// Ordered by key so that encoding is deterministic.
///
/// Built for the request path, where every frame decodes one map and every response encodes
/// one: the entries are a sorted vector of spans into one text buffer, and the keys the typed
/// headers use are static strings, so decoding a send header or building a send response
/// allocates twice (the vector and the buffer) instead of twice per field (a
/// `BTreeMap<String, String>` did). Replaced and removed values stay in the buffer as waste
/// until it outweighs the live text, then the buffer is compacted. (One pointer in the command.)
#[derive(Clone, Default)]
pub struct ExtFields(Option<Box<Fields>>);

/// The entries and text of a non-empty [`ExtFields`], boxed so that a command stays small (it
/// is moved by value through every handler and queue) and an empty map allocates nothing.
#[derive(Clone, Debug)]
struct Fields {
    /// Sorted by key, keys unique.
    entries: Vec<Entry>,
    /// The values, and the keys that are not static.
    text: String,
}

/// What an empty map iterates.
static EMPTY: Fields = Fields {
    entries: Vec::new(),
    text: String::new(),
};

#[derive(Clone, Copy, Debug)]
struct Span {
    start: usize,
    end: usize,
}

#[derive(Clone, Copy, Debug)]
enum Key {
    Static(&'static str),
    Text(Span),
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    key: Key,
    value: Span,
}

/// Entries a map starts with at its first insert (a send header has 11-14).
const FIRST_ENTRIES: usize = 16;
/// Text a map starts with at its first insert.
const FIRST_TEXT: usize = 256;

impl Fields {
    fn key_of(&self, e: &Entry) -> &str {
        match e.key {
            Key::Static(k) => k,
            Key::Text(s) => &self.text[s.start..s.end],
        }
    }

    fn value_of(&self, e: &Entry) -> &str {
        &self.text[e.value.start..e.value.end]
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.entries
            .binary_search_by(|e| key_cmp(self.key_of(e), key))
    }

    /// Appends `s` to the text, returning its span.
    fn push_text(&mut self, s: &str) -> Span {
        let start = self.text.len();
        self.text.push_str(s);
        Span {
            start,
            end: self.text.len(),
        }
    }

    /// Sets the entry of `key` (a static key when `stat` is given) to the value at `value`,
    /// returning the previous value's span.
    fn set(&mut self, key: &str, stat: Option<&'static str>, value: Span) -> Option<Span> {
        match self.find(key) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].value, value)),
            Err(i) => {
                let key = match stat.or_else(|| known_key(key)) {
                    Some(k) => Key::Static(k),
                    None => Key::Text(self.push_text(key)),
                };
                self.entries.insert(i, Entry { key, value });
                None
            }
        }
    }

    /// Called after an insert with the text's capacity before it: when the buffer had to
    /// grow past 1 KiB, rewrites it without the waste (replaced and removed text) if that is
    /// more than the live text. Looking only when the buffer grows keeps the cost of the look
    /// (a pass over the entries) below that of the growth's copy, however many fields a
    /// header has.
    fn compact(&mut self, capacity_before: usize) {
        if self.text.capacity() == capacity_before || self.text.len() < 1024 {
            return;
        }
        let span_len = |s: &Span| s.end - s.start;
        let live: usize = self
            .entries
            .iter()
            .map(|e| {
                span_len(&e.value)
                    + match &e.key {
                        Key::Text(k) => span_len(k),
                        Key::Static(_) => 0,
                    }
            })
            .sum();
        if self.text.len() <= 2 * live {
            return;
        }
        let mut text = String::with_capacity(live);
        for e in &mut self.entries {
            let mut copy = |s: Span| {
                let start = text.len();
                text.push_str(&self.text[s.start..s.end]);
                Span {
                    start,
                    end: text.len(),
                }
            };
            if let Key::Text(k) = e.key {
                e.key = Key::Text(copy(k));
            }
            e.value = copy(e.value);
        }
        self.text = text;
    }

    /// Sets `key` to `value`, returning the previous value.
    fn insert(&mut self, key: impl AsRef<str>, value: impl AsRef<str>) -> Option<String> {
        let capacity = self.text.capacity();
        let value = self.push_text(value.as_ref());
        let old = self
            .set(key.as_ref(), None, value)
            .map(|s| self.text[s.start..s.end].to_owned());
        self.compact(capacity);
        old
    }

    /// Sets the static `key` to `value` (the typed headers' writer: the key is not copied).
    fn insert_static(&mut self, key: &'static str, value: &str) {
        let capacity = self.text.capacity();
        let value = self.push_text(value);
        self.set(key, Some(key), value);
        self.compact(capacity);
    }

    /// Sets `key` to the text `write` appends to the map's buffer (numbers rendered in place,
    /// JSON strings unescaped in place); when `write` returns `Ok(false)` (a JSON null) the key
    /// is left as it was.
    fn insert_with<E>(
        &mut self,
        key: &str,
        write: impl FnOnce(&mut String) -> std::result::Result<bool, E>,
    ) -> std::result::Result<(), E> {
        let capacity = self.text.capacity();
        let start = self.text.len();
        let keep = write(&mut self.text);
        if !matches!(keep, Ok(true)) {
            self.text.truncate(start);
            return keep.map(|_| ());
        }
        let value = Span {
            start,
            end: self.text.len(),
        };
        self.set(key, None, value);
        self.compact(capacity);
        Ok(())
    }

    /// The value of `key`.
    fn get(&self, key: &str) -> Option<&str> {
        // A header has a dozen fields: a scan that compares lengths first beats a binary
        // search of string comparisons there.
        if self.entries.len() <= 16 {
            return self
                .entries
                .iter()
                .find(|e| key_eq(self.key_of(e), key))
                .map(|e| self.value_of(e));
        }
        self.find(key).ok().map(|i| self.value_of(&self.entries[i]))
    }

    /// Removes `key`.
    fn remove(&mut self, key: &str) -> Option<String> {
        let i = self.find(key).ok()?;
        let e = self.entries.remove(i);
        Some(self.value_of(&e).to_owned())
    }

    /// Entries in key order.
    fn iter(&self) -> Iter<'_> {
        Iter {
            map: self,
            entries: self.entries.iter(),
        }
    }
}

impl ExtFields {
    /// An empty map (allocates nothing until the first insert).
    pub fn new() -> Self {
        ExtFields::default()
    }

    /// An empty map with room for `entries` fields of `text` bytes in all.
    pub fn with_capacity(entries: usize, text: usize) -> Self {
        ExtFields(Some(Box::new(Fields {
            entries: Vec::with_capacity(entries),
            text: String::with_capacity(text),
        })))
    }

    fn fields(&self) -> &Fields {
        self.0.as_deref().unwrap_or(&EMPTY)
    }

    fn fields_mut(&mut self) -> &mut Fields {
        self.0.get_or_insert_with(|| {
            Box::new(Fields {
                entries: Vec::with_capacity(FIRST_ENTRIES),
                text: String::with_capacity(FIRST_TEXT),
            })
        })
    }

    /// Sets `key` to `value`, returning the previous value.
    pub fn insert(&mut self, key: impl AsRef<str>, value: impl AsRef<str>) -> Option<String> {
        self.fields_mut().insert(key.as_ref(), value.as_ref())
    }

    /// Sets the static `key` to `value` (the typed headers' writer: the key is not copied).
    pub fn insert_static(&mut self, key: &'static str, value: &str) {
        self.fields_mut().insert_static(key, value)
    }

    /// Sets `key` to the text `write` appends to the map's buffer (numbers rendered in place,
    /// JSON strings unescaped in place); when `write` returns `Ok(false)` (a JSON null) the key
    /// is left as it was.
    pub(crate) fn insert_with<E>(
        &mut self,
        key: &str,
        write: impl FnOnce(&mut String) -> std::result::Result<bool, E>,
    ) -> std::result::Result<(), E> {
        self.fields_mut().insert_with(key, write)
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields().get(key)
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        self.0.as_deref_mut()?.remove(key)
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.fields().find(key).is_ok()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.fields().entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.fields().entries.is_empty()
    }

    /// Entries in key order.
    pub fn iter(&self) -> Iter<'_> {
        self.fields().iter()
    }

    /// A required string field.
    pub fn req_str(&self, header: &'static str, field: &'static str) -> Result<String> {
        self.get(field)
            .map(str::to_owned)
            .ok_or(ProtocolError::MissingField { header, field })
    }

    /// An optional string field.
    pub fn opt_str(&self, field: &str) -> Option<String> {
        self.get(field).map(str::to_owned)
    }

    /// A required number (`int`, `long`) parsed as Java's `Integer.parseInt`/`Long.parseLong` do.
    pub fn req_num<T: JavaNumber>(&self, header: &'static str, field: &'static str) -> Result<T> {
        match self.get(field) {
            Some(v) => T::parse_java(v).ok_or_else(|| ProtocolError::InvalidField {
                header,
                field,
                value: v.to_owned(),
            }),
            None => Err(ProtocolError::MissingField { header, field }),
        }
    }

    /// An optional number; present but unparsable is an error.
    pub fn opt_num<T: JavaNumber>(
        &self,
        header: &'static str,
        field: &'static str,
    ) -> Result<Option<T>> {
        match self.get(field) {
            Some(v) => T::parse_java(v)
                .map(Some)
                .ok_or_else(|| ProtocolError::InvalidField {
                    header,
                    field,
                    value: v.to_owned(),
                }),
            None => Ok(None),
        }
    }

    /// A required boolean: Java's `Boolean.parseBoolean` (only `true`, any case, is true).
    pub fn req_bool(&self, header: &'static str, field: &'static str) -> Result<bool> {
        self.get(field)
            .map(parse_java_bool)
            .ok_or(ProtocolError::MissingField { header, field })
    }

    /// An optional boolean, parsed as [`ExtFields::req_bool`].
    pub fn opt_bool(&self, field: &str) -> Option<bool> {
        self.get(field).map(parse_java_bool)
    }

    /// Sets a field from any `Display` value (numbers, booleans as `true`/`false`).
    pub fn put(&mut self, field: &str, value: impl fmt::Display) {
        use fmt::Write;
        let _ = self.insert_with(field, |text| {
            let _ = write!(text, "{value}");
            Ok::<bool, fmt::Error>(true)
        });
    }

    /// Sets a field when `value` is `Some`, as Java omits null fields.
    pub fn put_opt<V: fmt::Display>(&mut self, field: &str, value: Option<V>) {
        if let Some(v) = value {
            self.put(field, v);
        }
    }
}

/// The keys of the typed headers a broker or client reads and writes on every message (the
/// send header's `a`..`n`, the pull header, the send response, the RPC superclass keys): stored
/// as static strings instead of copied into each map.
fn known_key(key: &str) -> Option<&'static str> {
    const KEYS: &[&str] = &[
        "a",
        "b",
        "c",
        "d",
        "e",
        "f",
        "g",
        "h",
        "i",
        "j",
        "k",
        "l",
        "m",
        "n",
        "bname",
        "lo",
        "ns",
        "nsd",
        "oway",
        "msgId",
        "queueId",
        "queueOffset",
        "transactionId",
        "MSG_REGION",
        "TRACE_ON",
        "batchUniqId",
        "topic",
        "consumerGroup",
        "commitOffset",
        "maxMsgNums",
        "sysFlag",
        "suspendTimeoutMillis",
        "subscription",
        "subVersion",
        "expressionType",
        "maxMsgBytes",
        "requestSource",
        "proxyFrowardClientId",
        "nextBeginOffset",
        "minOffset",
        "maxOffset",
        "suggestWhichBrokerId",
        "offset",
        "group",
        "producerGroup",
        "flag",
        "bornTimestamp",
        "properties",
        "AccessKey",
        "Signature",
        "unitMode",
        "batch",
        "reconsumeTimes",
        "maxReconsumeTimes",
        "defaultTopic",
        "defaultTopicQueueNums",
        "brokerName",
        "zoneName",
        "forbiddenType",
    ];
    KEYS.iter().copied().find(|k| key_eq(k, key))
}

/// Keys up to this long are compared byte by byte in line (see [`key_eq`]).
const SHORT_KEY: usize = 16;

/// `a == b` without a `memcmp` call for short keys: most header keys are one letter, and a
/// frame's decode and typed read compare a few hundred of them, where the library call cost
/// more than the comparison (docs/performance-broker.md, "Fourth round: the send path").
#[inline]
fn key_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    if a.len() > SHORT_KEY {
        return a == b;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// `a.cmp(b)` (byte order), in line for short keys like [`key_eq`].
#[inline]
fn key_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() > SHORT_KEY || b.len() > SHORT_KEY {
        return a.cmp(b);
    }
    let n = a.len().min(b.len());
    let mut i = 0;
    while i < n {
        if a[i] != b[i] {
            return a[i].cmp(&b[i]);
        }
        i += 1;
    }
    a.len().cmp(&b.len())
}

impl PartialEq for ExtFields {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for ExtFields {}

impl fmt::Debug for ExtFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for ExtFields {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut ext = ExtFields::new();
        for (k, v) in iter {
            ext.insert(k, v);
        }
        ext
    }
}

/// The entries of an [`ExtFields`] in key order.
#[derive(Clone, Debug)]
pub struct Iter<'a> {
    map: &'a Fields,
    entries: std::slice::Iter<'a, Entry>,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a str, &'a str);
    fn next(&mut self) -> Option<Self::Item> {
        let e = self.entries.next()?;
        Some((self.map.key_of(e), self.map.value_of(e)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.entries.size_hint()
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a ExtFields {
    type Item = (&'a str, &'a str);
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Java's `Boolean.parseBoolean`: `true` in any case is true, everything else false.
pub fn parse_java_bool(s: &str) -> bool {
    s.eq_ignore_ascii_case("true")
}

/// Integer types parsed the way `Integer.parseInt` / `Long.parseLong` parse: optional sign,
/// decimal digits, no surrounding spaces, no overflow.
pub trait JavaNumber: Sized + Copy {
    /// Parses `s`, or `None` when Java would throw `NumberFormatException`.
    fn parse_java(s: &str) -> Option<Self>;
}

macro_rules! java_number {
    ($($t:ty),*) => {$(
        impl JavaNumber for $t {
            fn parse_java(s: &str) -> Option<Self> {
                // Rust's parser accepts a leading '+' exactly as Java 7+ does, and rejects
                // whitespace and overflow as Java does.
                s.parse::<$t>().ok()
            }
        }
    )*};
}
java_number!(i8, i16, i32, i64, u8, u16, u32, u64);

/// A typed custom header that maps to and from [`ExtFields`] (docs/protocol.md, "Custom headers
/// (extFields)").
pub trait CommandHeader: Sized {
    /// The Java class name, used in error messages.
    const NAME: &'static str;

    /// Writes every non-null field into `ext` under its wire key.
    fn write_ext(&self, ext: &mut ExtFields);

    /// Reads the header, failing on a missing required field or an unparsable value.
    fn read_ext(ext: &ExtFields) -> Result<Self>;

    /// The header as a fresh map.
    fn to_ext(&self) -> ExtFields {
        let mut ext = ExtFields::new();
        self.write_ext(&mut ext);
        ext
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_comparisons_agree_with_str() {
        let keys = [
            "",
            "a",
            "b",
            "ab",
            "ba",
            "n",
            "nsd",
            "ns",
            "queueId",
            "queueOffset",
            "subscription",
            "suspendTimeoutMillis",
            "suspendTimeoutMilliz",
            "\u{e9}",
            "z\u{e9}",
        ];
        for a in keys {
            for b in keys {
                assert_eq!(key_eq(a, b), a == b, "{a:?} {b:?}");
                assert_eq!(key_cmp(a, b), a.cmp(b), "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn java_number_and_bool_rules() {
        assert_eq!(i32::parse_java("-12"), Some(-12));
        assert_eq!(i32::parse_java("+7"), Some(7));
        assert_eq!(i32::parse_java(" 7"), None);
        assert_eq!(i32::parse_java("2147483648"), None);
        assert_eq!(i64::parse_java("2147483648"), Some(2_147_483_648));
        assert!(parse_java_bool("TRUE"));
        assert!(!parse_java_bool("1"));
        assert!(!parse_java_bool("yes"));
    }

    #[test]
    fn keys_stay_sorted_and_unique_whatever_the_insert_order() {
        let mut a = ExtFields::new();
        a.insert("zeta", "1");
        a.insert_static("b", "topic");
        a.insert("Alpha", "2");
        a.put("queueId", 7);
        assert_eq!(a.insert("zeta", "3").as_deref(), Some("1"));
        let keys: Vec<&str> = a.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["Alpha", "b", "queueId", "zeta"]);
        assert_eq!(a.get("zeta"), Some("3"));
        assert_eq!(a.len(), 4);
        // The same entries inserted otherwise are equal (the buffer layout does not count).
        let b: ExtFields = [
            ("queueId", "7"),
            ("b", "topic"),
            ("zeta", "3"),
            ("Alpha", "2"),
        ]
        .into_iter()
        .collect();
        assert_eq!(a, b);
        assert_eq!(a.remove("b").as_deref(), Some("topic"));
        assert_eq!(a.remove("b"), None);
        assert!(!a.contains_key("b"));
        assert_ne!(a, b);
        assert_eq!(
            format!("{a:?}"),
            r#"{"Alpha": "2", "queueId": "7", "zeta": "3"}"#
        );
    }

    #[test]
    fn rewriting_one_field_many_times_keeps_the_buffer_bounded() {
        let mut ext = ExtFields::new();
        ext.insert("keep", "k".repeat(100));
        for i in 0..10_000 {
            ext.put("counter", i);
            ext.insert(format!("tmp{}", i % 3), "x".repeat(50));
        }
        assert_eq!(ext.get("counter"), Some("9999"));
        assert_eq!(ext.get("keep").map(str::len), Some(100));
        assert_eq!(ext.len(), 5);
        let text = ext.0.as_ref().map_or(0, |f| f.text.len());
        assert!(text < 4096, "buffer grew to {text}");
    }

    #[test]
    fn required_and_optional_fields() {
        let mut ext = ExtFields::new();
        ext.put("queueId", 3);
        ext.put("name", "x");
        ext.insert("bad", "z1");
        assert_eq!(ext.req_num::<i32>("H", "queueId"), Ok(3));
        assert_eq!(
            ext.req_num::<i32>("H", "missing"),
            Err(ProtocolError::MissingField {
                header: "H",
                field: "missing"
            })
        );
        assert!(matches!(
            ext.opt_num::<i64>("H", "bad"),
            Err(ProtocolError::InvalidField { field: "bad", .. })
        ));
        assert_eq!(ext.opt_num::<i64>("H", "none"), Ok(None));
        assert_eq!(ext.req_str("H", "name").as_deref(), Ok("x"));
    }
}
