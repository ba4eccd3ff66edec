//! Typed custom headers (docs/protocol.md, "Custom headers (extFields)").
//!
//! Every header is a plain struct with public fields and a [`CommandHeader`](crate::ext::CommandHeader) impl that maps it to
//! and from [`ExtFields`] without loss. Required (`@CFNotNull`) fields are plain types, the rest
//! are `Option`s; wire keys are the Java field names (or the one-letter keys of
//! [`SendMessageRequestHeaderV2`]). Numbers are rendered and parsed as Java's `toString` /
//! `parseInt` do, booleans as `true`/`false` and parsed as `Boolean.parseBoolean` (only `true`, in
//! any case, is true), enums by constant name.
//!
//! Where Java only logs a missing or unparsable field (and then usually fails with
//! `SYSTEM_ERROR`), `read_ext` returns [`ProtocolError::MissingField`] or
//! [`ProtocolError::InvalidField`] naming the field. Unknown keys are ignored.
//!
//! The 5.x `RpcRequestHeader` superclass key `bname` (broker name) is an optional `broker_name`
//! field on the broker request headers that inherit it in Java; the other superclass keys (`ns`,
//! `nsd`, `oway`, `lo`) are not modelled and are ignored when read.
//!
//! One file per request family: [`send`], [`pull`], [`offset`], [`transaction`], [`client`],
//! [`query`], [`recall`], [`admin`], [`auth`], [`namesrv`], [`controller`], [`pop`].

use std::fmt;
use std::str::FromStr;

use crate::error::{ProtocolError, Result};
use crate::ext::{parse_java_bool, ExtFields, JavaNumber};

/// Declares a header struct and its [`CommandHeader`](crate::ext::CommandHeader) impl from a field list.
///
/// ```text
/// command_header! {
///     /// Docs of the header.
///     pub struct GetMinOffsetRequestHeader {
///         /// Docs of the field.
///         topic: String, "topic", required;
///         broker_name: String, "bname", optional;
///     }
/// }
/// ```
///
/// `required` fields have the given type and are reported as
/// [`ProtocolError::MissingField`] when absent; `optional` fields are `Option<T>` and are omitted
/// from the map when `None`. `T` is any [`HeaderField`] type: `String`, `i32`, `i64`, `bool` or
/// one of the header enums. Fields are read in declaration order, so the first missing or bad
/// field is the one reported.
macro_rules! command_header {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$fmeta:meta])*
                $field:ident : $ty:ty, $key:literal, $kind:ident;
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Default)]
        pub struct $name {
            $(
                $(#[$fmeta])*
                pub $field: command_header!(@ty $kind $ty),
            )*
        }

        impl $crate::ext::CommandHeader for $name {
            const NAME: &'static str = stringify!($name);

            fn write_ext(&self, ext: &mut $crate::ext::ExtFields) {
                let _ = &ext;
                $( command_header!(@write $kind ext, $key, self.$field); )*
            }

            fn read_ext(ext: &$crate::ext::ExtFields) -> $crate::error::Result<Self> {
                let _ = ext;
                Ok($name {
                    $( $field: command_header!(@read $kind ext, $key, $ty), )*
                })
            }
        }
    };

    (@ty required $ty:ty) => { $ty };
    (@ty optional $ty:ty) => { ::std::option::Option<$ty> };

    (@write required $ext:ident, $key:literal, $value:expr) => {
        $crate::header::HeaderField::write_field(&$value, $ext, $key)
    };
    (@write optional $ext:ident, $key:literal, $value:expr) => {
        if let Some(v) = &$value {
            $crate::header::HeaderField::write_field(v, $ext, $key)
        }
    };

    (@read required $ext:ident, $key:literal, $ty:ty) => {
        match $ext.get($key) {
            Some(raw) => <$ty as $crate::header::HeaderField>::parse_field(
                <Self as $crate::ext::CommandHeader>::NAME,
                $key,
                raw,
            )?,
            None => {
                return Err($crate::error::ProtocolError::MissingField {
                    header: <Self as $crate::ext::CommandHeader>::NAME,
                    field: $key,
                })
            }
        }
    };
    (@read optional $ext:ident, $key:literal, $ty:ty) => {
        match $ext.get($key) {
            Some(raw) => Some(<$ty as $crate::header::HeaderField>::parse_field(
                <Self as $crate::ext::CommandHeader>::NAME,
                $key,
                raw,
            )?),
            None => None,
        }
    };
}

pub mod admin;
pub mod auth;
pub mod client;
pub mod controller;
pub mod namesrv;
pub mod offset;
pub mod pop;
pub mod pull;
pub mod query;
pub mod recall;
pub mod send;
pub mod transaction;

#[cfg(test)]
mod test_support;

pub use admin::*;
pub use auth::*;
pub use client::*;
pub use controller::*;
pub use namesrv::*;
pub use offset::*;
pub use pop::*;
pub use pull::*;
pub use query::*;
pub use recall::*;
pub use send::*;
pub use transaction::*;

/// A type that one header field can hold: how it is rendered into and parsed from its
/// `extFields` string.
pub(crate) trait HeaderField: Sized {
    /// Parses `raw`, the value under `key` of header `header`.
    fn parse_field(header: &'static str, key: &'static str, raw: &str) -> Result<Self>;

    /// Writes the value under `key`.
    fn write_field(&self, ext: &mut ExtFields, key: &'static str);
}

impl HeaderField for String {
    fn parse_field(_header: &'static str, _key: &'static str, raw: &str) -> Result<Self> {
        Ok(raw.to_owned())
    }

    fn write_field(&self, ext: &mut ExtFields, key: &'static str) {
        ext.insert_static(key, self.as_str());
    }
}

fn invalid(header: &'static str, key: &'static str, raw: &str) -> ProtocolError {
    ProtocolError::InvalidField {
        header,
        field: key,
        value: raw.to_owned(),
    }
}

macro_rules! number_field {
    ($($t:ty),*) => {$(
        impl HeaderField for $t {
            fn parse_field(header: &'static str, key: &'static str, raw: &str) -> Result<Self> {
                <$t as JavaNumber>::parse_java(raw).ok_or_else(|| invalid(header, key, raw))
            }

            fn write_field(&self, ext: &mut ExtFields, key: &'static str) {
                ext.insert_static(key, itoa::Buffer::new().format(*self));
            }
        }
    )*};
}
number_field!(i32, i64);

impl HeaderField for bool {
    /// `Boolean.parseBoolean`: never fails; only `true` (any case) is true.
    fn parse_field(_header: &'static str, _key: &'static str, raw: &str) -> Result<Self> {
        Ok(parse_java_bool(raw))
    }

    fn write_field(&self, ext: &mut ExtFields, key: &'static str) {
        ext.insert_static(key, if *self { "true" } else { "false" });
    }
}

/// Which end of a time range `SEARCH_OFFSET_BY_TIMESTAMP` resolves to (Java `BoundaryType`).
///
/// Rendered by constant name (`LOWER`/`UPPER`). Parsed as Java's `BoundaryType.getType`:
/// `upper` in any case is [`BoundaryType::Upper`], anything else [`BoundaryType::Lower`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BoundaryType {
    /// The first message stored at or after the timestamp (the default).
    #[default]
    Lower,
    /// The last message stored at or before the timestamp.
    Upper,
}

impl BoundaryType {
    /// The Java constant name.
    pub fn as_str(self) -> &'static str {
        match self {
            BoundaryType::Lower => "LOWER",
            BoundaryType::Upper => "UPPER",
        }
    }

    /// Java's lenient `BoundaryType.getType`: never fails.
    pub fn parse_lenient(s: &str) -> Self {
        if s.eq_ignore_ascii_case("upper") {
            BoundaryType::Upper
        } else {
            BoundaryType::Lower
        }
    }
}

impl fmt::Display for BoundaryType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl HeaderField for BoundaryType {
    fn parse_field(_header: &'static str, _key: &'static str, raw: &str) -> Result<Self> {
        Ok(BoundaryType::parse_lenient(raw))
    }

    fn write_field(&self, ext: &mut ExtFields, key: &'static str) {
        ext.insert_static(key, self.as_str());
    }
}

/// How a topic's consumers filter (Java `TopicFilterType`), rendered and parsed by exact
/// constant name as Java's `TopicFilterType.valueOf` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TopicFilterType {
    /// `SINGLE_TAG`: one tag per message (the default).
    #[default]
    SingleTag,
    /// `MULTI_TAG`: several tags per message.
    MultiTag,
}

impl TopicFilterType {
    /// The Java constant name.
    pub fn as_str(self) -> &'static str {
        match self {
            TopicFilterType::SingleTag => "SINGLE_TAG",
            TopicFilterType::MultiTag => "MULTI_TAG",
        }
    }
}

impl fmt::Display for TopicFilterType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TopicFilterType {
    type Err = ProtocolError;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "SINGLE_TAG" => Ok(TopicFilterType::SingleTag),
            "MULTI_TAG" => Ok(TopicFilterType::MultiTag),
            _ => Err(invalid("TopicFilterType", "topicFilterType", s)),
        }
    }
}

impl HeaderField for TopicFilterType {
    fn parse_field(header: &'static str, key: &'static str, raw: &str) -> Result<Self> {
        raw.parse().map_err(|_| invalid(header, key, raw))
    }

    fn write_field(&self, ext: &mut ExtFields, key: &'static str) {
        ext.insert_static(key, self.as_str());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundary_type_is_lenient_like_java() {
        assert_eq!(BoundaryType::parse_lenient("UPPER"), BoundaryType::Upper);
        assert_eq!(BoundaryType::parse_lenient("upper"), BoundaryType::Upper);
        assert_eq!(BoundaryType::parse_lenient("Lower"), BoundaryType::Lower);
        assert_eq!(BoundaryType::parse_lenient("sideways"), BoundaryType::Lower);
        assert_eq!(BoundaryType::Upper.to_string(), "UPPER");
    }

    #[test]
    fn topic_filter_type_is_exact() {
        assert_eq!("MULTI_TAG".parse(), Ok(TopicFilterType::MultiTag));
        assert_eq!("SINGLE_TAG".parse(), Ok(TopicFilterType::SingleTag));
        assert!("single_tag".parse::<TopicFilterType>().is_err());
        assert_eq!(TopicFilterType::MultiTag.to_string(), "MULTI_TAG");
    }

    #[test]
    fn field_renderings() {
        let mut ext = ExtFields::new();
        i64::MIN.write_field(&mut ext, "l");
        (-7i32).write_field(&mut ext, "i");
        true.write_field(&mut ext, "t");
        false.write_field(&mut ext, "f");
        assert_eq!(ext.get("l"), Some("-9223372036854775808"));
        assert_eq!(ext.get("i"), Some("-7"));
        assert_eq!(ext.get("t"), Some("true"));
        assert_eq!(ext.get("f"), Some("false"));
        assert_eq!(bool::parse_field("H", "k", "TRUE"), Ok(true));
        assert_eq!(bool::parse_field("H", "k", "1"), Ok(false));
        assert!(matches!(
            i32::parse_field("H", "k", "1.0"),
            Err(ProtocolError::InvalidField { field: "k", .. })
        ));
    }
}
