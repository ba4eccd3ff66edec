//! Typed settings bound to Apache's property keys: what `mqnamesrv -c` and `mqbroker -c` read,
//! what `-p` prints and what UPDATE_*_CONFIG may change.
//!
//! [`settings!`](crate::settings!) declares a struct whose fields each carry an Apache key, a
//! default and whether the key may change at run time. Unlike Apache (which silently ignores
//! unknown keys and bad values, and keeps trailing blanks), values are trimmed, a bad value is an
//! error naming the key, and unknown keys are reported to the caller.

use std::path::PathBuf;

/// A setting that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingError {
    /// The value does not parse as the key's type.
    #[error("invalid value {value:?} for `{key}`: expected {expected}")]
    BadValue {
        /// The key.
        key: String,
        /// The offending value.
        value: String,
        /// What the key takes.
        expected: &'static str,
    },
    /// The key may not change while the server runs.
    #[error("`{key}` cannot be changed at run time")]
    NotRuntimeUpdatable {
        /// The key.
        key: String,
    },
}

/// A type a setting can have.
pub trait SettingValue: Sized {
    /// What the type takes, for error messages.
    const EXPECTED: &'static str;
    /// Parses trimmed text.
    fn parse_setting(s: &str) -> Option<Self>;
    /// Renders as properties text.
    fn render_setting(&self) -> String;
}

impl SettingValue for bool {
    const EXPECTED: &'static str = "true or false";
    fn parse_setting(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        }
    }
    fn render_setting(&self) -> String {
        self.to_string()
    }
}

macro_rules! number_setting {
    ($($t:ty),*) => {$(
        impl SettingValue for $t {
            const EXPECTED: &'static str = concat!("a number (", stringify!($t), ")");
            fn parse_setting(s: &str) -> Option<Self> {
                s.parse().ok()
            }
            fn render_setting(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
number_setting!(u8, u16, i32, u32, i64, u64, usize, f64);

impl SettingValue for String {
    const EXPECTED: &'static str = "text";
    fn parse_setting(s: &str) -> Option<Self> {
        Some(s.to_owned())
    }
    fn render_setting(&self) -> String {
        self.clone()
    }
}

impl SettingValue for PathBuf {
    const EXPECTED: &'static str = "a path";
    fn parse_setting(s: &str) -> Option<Self> {
        (!s.is_empty()).then(|| PathBuf::from(s))
    }
    fn render_setting(&self) -> String {
        self.display().to_string()
    }
}

/// What loading properties text found besides the settings.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LoadReport {
    /// Keys no settings struct knows (ignored).
    pub unknown_keys: Vec<String>,
    /// Deprecated spellings that were accepted, as `(old, new)`.
    pub renamed_keys: Vec<(String, &'static str)>,
}

/// Declares a settings struct. Each field: doc comments, `name: Type = default, "apacheKey",
/// runtime_updatable;`, optionally followed by `aliases ["oldKey"]` for old spellings.
///
/// Generates `Default`, `Debug` (key = value), `set(key, value) -> Result<bool, SettingError>`
/// (`Ok(false)` for an unknown key), `KEYS`, `is_runtime_updatable(key)`, `to_pairs()`.
#[macro_export]
macro_rules! settings {
    (
        $(#[$smeta:meta])*
        pub struct $name:ident {
            $( $(#[$doc:meta])* $field:ident : $ty:ty = $default:expr, $key:literal, $runtime:literal
               $(, aliases [$($alias:literal),*])? ; )*
        }
    ) => {
        $(#[$smeta])*
        #[derive(Clone, PartialEq)]
        pub struct $name {
            $( $(#[$doc])* pub $field: $ty, )*
        }

        impl Default for $name {
            fn default() -> Self {
                $name { $( $field: $default, )* }
            }
        }

        impl $name {
            /// Every key these settings understand.
            pub const KEYS: &'static [&'static str] = &[$($key),*];

            /// Sets `key` (or an old spelling of it) from text. `Ok(None)` means the key is
            /// unknown; `Ok(Some(canonical))` names the key that was set.
            pub fn set_key(&mut self, key: &str, value: &str)
                -> ::std::result::Result<Option<&'static str>, $crate::settings::SettingError>
            {
                let value = value.trim();
                match key.trim() {
                    $( $key $($(| $alias)*)? => {
                        self.$field = <$ty as $crate::settings::SettingValue>::parse_setting(value)
                            .ok_or_else(|| $crate::settings::SettingError::BadValue {
                                key: $key.to_owned(),
                                value: value.to_owned(),
                                expected: <$ty as $crate::settings::SettingValue>::EXPECTED,
                            })?;
                        Ok(Some($key))
                    } )*
                    _ => Ok(None),
                }
            }

            /// Sets `key` from text; `Ok(false)` means the key is unknown.
            pub fn set(&mut self, key: &str, value: &str)
                -> ::std::result::Result<bool, $crate::settings::SettingError>
            {
                self.set_key(key, value).map(|k| k.is_some())
            }

            /// Whether `key` may change at run time.
            pub fn is_runtime_updatable(key: &str) -> bool {
                match key.trim() {
                    $( $key => $runtime, )*
                    _ => false,
                }
            }

            /// Every setting as `(key, value)` text, in declaration order.
            pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
                vec![ $( ($key, $crate::settings::SettingValue::render_setting(&self.$field)), )* ]
            }

            /// Applies properties text on top of the current values.
            pub fn apply_properties(&mut self, text: &str)
                -> ::std::result::Result<$crate::settings::LoadReport, $crate::settings::SettingError>
            {
                let mut report = $crate::settings::LoadReport::default();
                for (k, v) in $crate::java_properties::parse(text) {
                    match self.set_key(&k, &v)? {
                        None => report.unknown_keys.push(k),
                        Some(canonical) if canonical != k.trim() => {
                            report.renamed_keys.push((k, canonical))
                        }
                        Some(_) => {}
                    }
                }
                Ok(report)
            }

            /// Applies a runtime update: every key is checked first, so a rejected update
            /// changes nothing. Unknown keys are rejected too.
            pub fn update_at_runtime(&mut self, pairs: &[(String, String)])
                -> ::std::result::Result<(), $crate::settings::SettingError>
            {
                let mut next = self.clone();
                for (k, v) in pairs {
                    if !Self::is_runtime_updatable(k) {
                        return Err($crate::settings::SettingError::NotRuntimeUpdatable {
                            key: k.clone(),
                        });
                    }
                    next.set(k, v)?;
                }
                *self = next;
                Ok(())
            }

            /// The settings as properties text.
            pub fn to_properties(&self) -> String {
                $crate::java_properties::to_string(self.to_pairs())
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                let mut m = f.debug_map();
                for (k, v) in self.to_pairs() {
                    m.entry(&k, &v);
                }
                m.finish()
            }
        }
    };
}

/// `metricsExporterType`: where a server's metrics go (Apache's names, or their ordinals).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricsExporterType {
    /// `DISABLE` (0, the default): no metrics.
    Disable,
    /// `OTLP_GRPC` (1): not supported by FerroMQ; reported at start-up, nothing exported.
    OtlpGrpc,
    /// `PROM` (2): Prometheus text format on `metricsPromExporterHost`:`metricsPromExporterPort`
    /// at `/metrics`.
    Prom,
    /// `LOG` (3): not supported by FerroMQ; reported at start-up, nothing exported.
    Log,
}

impl SettingValue for MetricsExporterType {
    const EXPECTED: &'static str = "DISABLE, OTLP_GRPC, PROM or LOG (or 0-3)";
    fn parse_setting(s: &str) -> Option<Self> {
        match s {
            "DISABLE" | "0" => Some(MetricsExporterType::Disable),
            "OTLP_GRPC" | "1" => Some(MetricsExporterType::OtlpGrpc),
            "PROM" | "2" => Some(MetricsExporterType::Prom),
            "LOG" | "3" => Some(MetricsExporterType::Log),
            _ => None,
        }
    }
    fn render_setting(&self) -> String {
        match self {
            MetricsExporterType::Disable => "DISABLE",
            MetricsExporterType::OtlpGrpc => "OTLP_GRPC",
            MetricsExporterType::Prom => "PROM",
            MetricsExporterType::Log => "LOG",
        }
        .to_owned()
    }
}

#[cfg(test)]
#[allow(unreachable_pub, dead_code)]
mod tests {
    crate::settings! {
        /// Test settings.
        pub struct Demo {
            /// A port.
            port: u16 = 9876, "listenPort", false;
            /// A size with an old spelling.
            size: u64 = 10, "mappedFileSizeCommitLog", false, aliases ["mapedFileSizeCommitLog"];
            /// A runtime flag.
            flag: bool = false, "someFlag", true;
        }
    }

    #[test]
    fn keys_aliases_and_errors() {
        let mut d = Demo::default();
        let report = d
            .apply_properties("listenPort = 1234 \nmapedFileSizeCommitLog=99\nnope=1\n")
            .expect("valid");
        assert_eq!((d.port, d.size), (1234, 99));
        assert_eq!(report.unknown_keys, ["nope"]);
        assert_eq!(
            report.renamed_keys,
            [(
                "mapedFileSizeCommitLog".to_owned(),
                "mappedFileSizeCommitLog"
            )]
        );
        let err = d.apply_properties("listenPort=x").expect_err("bad");
        assert_eq!(
            err.to_string(),
            "invalid value \"x\" for `listenPort`: expected a number (u16)"
        );
        assert!(d
            .update_at_runtime(&[("someFlag".into(), "true".into())])
            .is_ok());
        assert!(d
            .update_at_runtime(&[("listenPort".into(), "1".into())])
            .is_err());
        assert!(d.flag);
    }
}
