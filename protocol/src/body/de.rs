//! Lenient serde helpers for body fields, complementing [`crate::json::lenient`].
//!
//! Each accepts what fastjson would accept for the Java field type: `null` for any container,
//! numbers and booleans where strings are expected, numeric strings where numbers are expected.

use std::collections::{BTreeMap, BTreeSet};

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serializer};
use serde_json::Value;

use crate::codes::LanguageCode;

/// Any `T: Default`, with `null` meaning the default.
pub(crate) fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A scalar as a Java `String` (`0` → `"0"`); `None` for null, error for containers.
fn scalar_string<E: serde::de::Error>(v: Value) -> Result<Option<String>, E> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        _ => Err(E::custom("expected a string")),
    }
}

fn items<E: serde::de::Error>(v: Value) -> Result<Vec<Value>, E> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Array(a) => Ok(a),
        _ => Err(E::custom("expected an array")),
    }
}

fn entries<E: serde::de::Error>(v: Value) -> Result<serde_json::Map<String, Value>, E> {
    match v {
        Value::Null => Ok(serde_json::Map::new()),
        Value::Object(m) => Ok(m),
        _ => Err(E::custom("expected an object")),
    }
}

fn integer<E: serde::de::Error>(v: &Value) -> Result<Option<i64>, E> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => Ok(n.as_i64().or_else(|| n.as_f64().map(|f| f as i64))),
        Value::String(s) => s
            .trim()
            .trim_matches('"')
            .parse::<i64>()
            .map(Some)
            .map_err(|_| E::custom(format!("expected an integer, found {s:?}"))),
        _ => Err(E::custom("expected an integer")),
    }
}

/// A list of strings; items may be numbers, `null` items are dropped.
pub(crate) fn string_vec<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let mut out = Vec::new();
    for item in items::<D::Error>(Value::deserialize(d)?)? {
        out.extend(scalar_string::<D::Error>(item)?);
    }
    Ok(out)
}

/// A set of strings; items may be numbers, `null` items are dropped.
pub(crate) fn string_set<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeSet<String>, D::Error> {
    Ok(string_vec(d)?.into_iter().collect())
}

/// A list of `i32`; items may be numeric strings, `null` items are dropped.
pub(crate) fn i32_vec<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<i32>, D::Error> {
    let mut out = Vec::new();
    for item in items::<D::Error>(Value::deserialize(d)?)? {
        if let Some(i) = integer::<D::Error>(&item)? {
            out.push(i32::try_from(i).map_err(|_| D::Error::custom("integer out of i32 range"))?);
        }
    }
    Ok(out)
}

/// A `Map<String, String>`; values may be numbers or booleans, `null` values are dropped.
pub(crate) fn string_map<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    let mut out = BTreeMap::new();
    for (k, v) in entries::<D::Error>(Value::deserialize(d)?)? {
        if let Some(s) = scalar_string::<D::Error>(v)? {
            out.insert(k, s);
        }
    }
    Ok(out)
}

/// A `Map<Long, String>` such as `brokerAddrs`, from quoted or bare integer keys.
pub(crate) fn id_map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<i64, String>, D::Error> {
    let mut out = BTreeMap::new();
    for (k, v) in entries::<D::Error>(Value::deserialize(d)?)? {
        let id = integer::<D::Error>(&Value::String(k))?.unwrap_or(0);
        if let Some(s) = scalar_string::<D::Error>(v)? {
            out.insert(id, s);
        }
    }
    Ok(out)
}

/// A `Map<String, T>` whose `null` values are dropped.
pub(crate) fn object_map<'de, D, T>(d: D) -> Result<BTreeMap<String, T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let mut out = BTreeMap::new();
    for (k, v) in entries::<D::Error>(Value::deserialize(d)?)? {
        if !v.is_null() {
            out.insert(k, serde_json::from_value(v).map_err(D::Error::custom)?);
        }
    }
    Ok(out)
}

/// A list of `T` whose `null` items are dropped.
pub(crate) fn object_vec<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    items::<D::Error>(Value::deserialize(d)?)?
        .into_iter()
        .filter(|v| !v.is_null())
        .map(|v| serde_json::from_value(v).map_err(D::Error::custom))
        .collect()
}

/// A `double` from a number or numeric string; `null` is 0.
pub(crate) fn f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(0.0),
        Value::Number(n) => Ok(n.as_f64().unwrap_or(0.0)),
        Value::String(s) if s.trim().is_empty() => Ok(0.0),
        Value::String(s) => s
            .trim()
            .parse::<f64>()
            .map_err(|_| D::Error::custom(format!("expected a number, found {s:?}"))),
        _ => Err(D::Error::custom("expected a number")),
    }
}

/// An optional `double` from a number or numeric string.
pub(crate) fn opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let v = Value::deserialize(d)?;
    if v.is_null() {
        return Ok(None);
    }
    f64(v).map(Some).map_err(D::Error::custom)
}

/// An optional `bool` from a boolean, `"true"`/`"false"` or a number.
pub(crate) fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    let v = Value::deserialize(d)?;
    if v.is_null() {
        return Ok(None);
    }
    crate::json::lenient::bool(v)
        .map(Some)
        .map_err(D::Error::custom)
}

/// An optional `i32` from a number or numeric string.
pub(crate) fn opt_i32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i32>, D::Error> {
    match integer::<D::Error>(&Value::deserialize(d)?)? {
        None => Ok(None),
        Some(i) => i32::try_from(i)
            .map(Some)
            .map_err(|_| D::Error::custom("integer out of i32 range")),
    }
}

/// [`LanguageCode`] as its Java enum name (fastjson writes enums by name).
pub(crate) mod language {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(code: &LanguageCode, s: S) -> Result<S::Ok, S::Error> {
        match code.name() {
            Some(name) => s.serialize_str(name),
            None => s.serialize_u8(code.value()),
        }
    }

    /// From the name or the ordinal (= the code); unknown names and `null` become `OTHER`.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<LanguageCode, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) => Ok(LanguageCode::from_name(s.trim())
                .or_else(|| s.trim().parse::<u8>().ok().map(LanguageCode))
                .unwrap_or(LanguageCode::OTHER)),
            Value::Number(n) => Ok(n
                .as_i64()
                .and_then(|i| u8::try_from(i).ok())
                .map(LanguageCode)
                .unwrap_or(LanguageCode::OTHER)),
            Value::Null => Ok(LanguageCode::OTHER),
            _ => Err(D::Error::custom("expected a language name")),
        }
    }
}
