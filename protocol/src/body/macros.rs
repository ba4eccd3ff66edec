//! Boilerplate shared by the body families: JSON encode/decode methods and open name enums.

/// Adds `encode`, `to_json` and `decode` to a serde body type.
///
/// `json_body!(T)` writes fastjson's default style; `json_body!(T, raw_object_keys)` writes
/// bean-keyed maps with the bean JSON as a raw key (docs/protocol.md, "Maps keyed by objects");
/// `json_body!(T, bare_int_keys_in: ["field"])` writes the integer keys of those map fields
/// bare (`{0:"addr"}`), as fastjson writes a `Map<Long, _>`.
macro_rules! json_body {
    ($name:ident) => {
        json_body!(@impl $name, $crate::json::Style::default());
    };
    ($name:ident, bare_int_keys_in: [$($key:literal),*]) => {
        json_body!(@impl $name, $crate::json::Style {
            bare_int_keys_in: &[$($key),*],
            ..$crate::json::Style::default()
        });
    };
    ($name:ident, raw_object_keys) => {
        json_body!(@impl $name, $crate::json::Style {
            raw_object_keys: true,
            ..$crate::json::Style::default()
        });
    };
    (@impl $name:ident, $style:expr) => {
        impl $name {
            /// Encodes as compact JSON exactly as Java's fastjson writes it.
            pub fn encode(&self) -> Vec<u8> {
                self.to_json().into_bytes()
            }

            /// The JSON text [`Self::encode`] produces.
            pub fn to_json(&self) -> String {
                $crate::json::to_string_styled(self, &$style)
            }

            /// Decodes leniently: unknown fields are ignored, missing or `null` fields take their
            /// defaults, numbers may arrive as strings and map keys unquoted.
            pub fn decode(bytes: &[u8]) -> $crate::error::Result<Self> {
                $crate::json::from_slice(bytes)
            }
        }
    };
}

/// Declares an enum written as its Java constant name, with an `Other(String)` variant that
/// keeps names this crate does not know (clients in the wild send odd values).
///
/// Decoding accepts the name, or the Java ordinal as a number (fastjson accepts both; the C++
/// client sends ordinals); `null` decodes as the default.
macro_rules! name_enum {
    (
        $(#[$meta:meta])*
        $name:ident, default $default:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A name this crate does not know, kept verbatim.
            Other(String),
        }

        impl $name {
            /// The Java constant name.
            pub fn name(&self) -> &str {
                match self {
                    $( $name::$variant => $text, )*
                    $name::Other(s) => s,
                }
            }

            /// The value for a Java constant name; unknown names become `Other`.
            pub fn from_name(name: &str) -> Self {
                match name {
                    $( $text => $name::$variant, )*
                    other => $name::Other(other.to_owned()),
                }
            }

            /// The value for a Java enum ordinal, if in range.
            pub fn from_ordinal(ordinal: i64) -> Option<Self> {
                let all = [$( $name::$variant ),*];
                usize::try_from(ordinal)
                    .ok()
                    .and_then(|i| all.into_iter().nth(i))
            }
        }

        impl Default for $name {
            fn default() -> Self {
                $name::$default
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                use serde::de::Error as _;
                match serde_json::Value::deserialize(d)? {
                    serde_json::Value::Null => Ok($name::default()),
                    serde_json::Value::String(s) => Ok($name::from_name(&s)),
                    serde_json::Value::Number(n) => Ok(n
                        .as_i64()
                        .and_then($name::from_ordinal)
                        .unwrap_or_else(|| $name::Other(n.to_string()))),
                    _ => Err(D::Error::custom(concat!(
                        "expected a ",
                        stringify!($name),
                        " name or ordinal"
                    ))),
                }
            }
        }
    };
}
