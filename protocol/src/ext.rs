//! `extFields`: the string map that carries every custom header field (docs/protocol.md, "Custom
//! headers (extFields)").

use std::collections::BTreeMap;
use std::fmt;

use crate::error::{ProtocolError, Result};

/// The `extFields` map of a command. Keys are Java field names (or the one-letter keys of
/// `SendMessageRequestHeaderV2`); values are always strings on the wire.
///
/// Ordered by key so that encoding is deterministic.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ExtFields(BTreeMap<String, String>);

impl ExtFields {
    /// An empty map.
    pub fn new() -> Self {
        ExtFields(BTreeMap::new())
    }

    /// Sets `key` to `value`, returning the previous value.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) -> Option<String> {
        self.0.insert(key.into(), value.into())
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        self.0.remove(key)
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
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
        self.0.insert(field.to_owned(), value.to_string());
    }

    /// Sets a field when `value` is `Some`, as Java omits null fields.
    pub fn put_opt<V: fmt::Display>(&mut self, field: &str, value: Option<V>) {
        if let Some(v) = value {
            self.put(field, v);
        }
    }
}

impl fmt::Debug for ExtFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.0.iter()).finish()
    }
}

impl FromIterator<(String, String)> for ExtFields {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        ExtFields(iter.into_iter().collect())
    }
}

impl<'a> IntoIterator for &'a ExtFields {
    type Item = (&'a String, &'a String);
    type IntoIter = std::collections::btree_map::Iter<'a, String, String>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
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
