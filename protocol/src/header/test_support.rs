//! Shared checks for header tests.

use std::fmt::Debug;

use crate::error::ProtocolError;
use crate::ext::{CommandHeader, ExtFields};

/// A map from literal pairs.
pub(crate) fn ext_of(pairs: &[(&str, &str)]) -> ExtFields {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Checks one header against its golden map:
/// - `value` renders to exactly `golden` and parses back from it;
/// - the default value round-trips;
/// - removing each key in `required` fails with `MissingField` naming it;
/// - removing any other key still parses.
pub(crate) fn check_header<H>(value: &H, golden: &[(&'static str, &str)], required: &[&str])
where
    H: CommandHeader + Debug + PartialEq + Default,
{
    let ext = ext_of(golden);
    assert_eq!(value.to_ext(), ext, "{} golden map", H::NAME);
    assert_eq!(H::read_ext(&ext).as_ref(), Ok(value), "{} parse", H::NAME);
    assert_eq!(H::read_ext(&value.to_ext()).as_ref(), Ok(value));

    let default = H::default();
    assert_eq!(H::read_ext(&default.to_ext()), Ok(default));

    for (key, _) in golden {
        let mut cut = ext.clone();
        cut.remove(key);
        let parsed = H::read_ext(&cut);
        if required.contains(key) {
            assert_eq!(
                parsed,
                Err(ProtocolError::MissingField {
                    header: H::NAME,
                    field: key,
                }),
                "{} without {key}",
                H::NAME
            );
        } else {
            assert!(parsed.is_ok(), "{} without optional {key}", H::NAME);
        }
    }
    for key in required {
        assert!(
            golden.iter().any(|(k, _)| k == key),
            "{}: required {key} not in golden map",
            H::NAME
        );
    }
}

/// Checks that `bad` under `key` is rejected as `InvalidField` naming `key`.
pub(crate) fn check_invalid<H>(golden: &[(&str, &str)], key: &'static str, bad: &str)
where
    H: CommandHeader + Debug,
{
    let mut ext = ext_of(golden);
    ext.insert(key, bad);
    match H::read_ext(&ext) {
        Err(ProtocolError::InvalidField { field, value, .. }) => {
            assert_eq!((field, value.as_str()), (key, bad));
        }
        other => panic!(
            "{}: expected InvalidField for {key}, got {other:?}",
            H::NAME
        ),
    }
}
