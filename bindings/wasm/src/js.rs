//! Reading plain JavaScript objects (options, messages) and building plain result objects.

use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::error::invalid;

/// Property `key` of `obj`, `None` when missing, `undefined` or `null`.
pub(crate) fn get(obj: &JsValue, key: &str) -> Option<JsValue> {
    if !obj.is_object() {
        return None;
    }
    Reflect::get(obj, &JsValue::from_str(key))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

/// An optional string property.
pub(crate) fn opt_string(
    obj: &JsValue,
    key: &str,
    op: &'static str,
) -> Result<Option<String>, JsValue> {
    match get(obj, key) {
        None => Ok(None),
        Some(v) => v
            .as_string()
            .map(Some)
            .ok_or_else(|| invalid(op, format!("`{key}` must be a string"))),
    }
}

/// A required string property.
pub(crate) fn string(obj: &JsValue, key: &str, op: &'static str) -> Result<String, JsValue> {
    opt_string(obj, key, op)?.ok_or_else(|| invalid(op, format!("`{key}` is required")))
}

/// An optional finite number property.
pub(crate) fn opt_number(
    obj: &JsValue,
    key: &str,
    op: &'static str,
) -> Result<Option<f64>, JsValue> {
    match get(obj, key) {
        None => Ok(None),
        Some(v) => match v.as_f64() {
            Some(n) if n.is_finite() => Ok(Some(n)),
            _ => Err(invalid(op, format!("`{key}` must be a finite number"))),
        },
    }
}

/// An optional non-negative integer property that fits `u32`.
pub(crate) fn opt_u32(obj: &JsValue, key: &str, op: &'static str) -> Result<Option<u32>, JsValue> {
    match opt_number(obj, key, op)? {
        None => Ok(None),
        Some(n) if n >= 0.0 && n <= f64::from(u32::MAX) && n.fract() == 0.0 => Ok(Some(n as u32)),
        Some(_) => Err(invalid(
            op,
            format!("`{key}` must be a non-negative integer"),
        )),
    }
}

/// An optional integer property (`i64` within JavaScript's safe integers).
pub(crate) fn opt_i64(obj: &JsValue, key: &str, op: &'static str) -> Result<Option<i64>, JsValue> {
    const SAFE: f64 = 9_007_199_254_740_991.0;
    match opt_number(obj, key, op)? {
        None => Ok(None),
        Some(n) if n.abs() <= SAFE && n.fract() == 0.0 => Ok(Some(n as i64)),
        Some(_) => Err(invalid(op, format!("`{key}` must be an integer"))),
    }
}

/// An optional boolean property.
pub(crate) fn opt_bool(
    obj: &JsValue,
    key: &str,
    op: &'static str,
) -> Result<Option<bool>, JsValue> {
    match get(obj, key) {
        None => Ok(None),
        Some(v) => v
            .as_bool()
            .map(Some)
            .ok_or_else(|| invalid(op, format!("`{key}` must be a boolean"))),
    }
}

/// Bytes of a string (UTF-8), `Uint8Array` (or other typed array view) or `ArrayBuffer`.
pub(crate) fn bytes(v: &JsValue, what: &str, op: &'static str) -> Result<Vec<u8>, JsValue> {
    if let Some(s) = v.as_string() {
        return Ok(s.into_bytes());
    }
    if let Some(a) = v.dyn_ref::<js_sys::Uint8Array>() {
        return Ok(a.to_vec());
    }
    if let Some(b) = v.dyn_ref::<js_sys::ArrayBuffer>() {
        return Ok(js_sys::Uint8Array::new(b).to_vec());
    }
    if js_sys::ArrayBuffer::is_view(v) {
        let view: &js_sys::Object = v.unchecked_ref();
        let buffer = Reflect::get(view, &"buffer".into())?;
        let offset = Reflect::get(view, &"byteOffset".into())?
            .as_f64()
            .unwrap_or(0.0);
        let len = Reflect::get(view, &"byteLength".into())?
            .as_f64()
            .unwrap_or(0.0);
        let arr =
            js_sys::Uint8Array::new_with_byte_offset_and_length(&buffer, offset as u32, len as u32);
        return Ok(arr.to_vec());
    }
    Err(invalid(
        op,
        format!("`{what}` must be a string, a Uint8Array or an ArrayBuffer"),
    ))
}

/// A `{ name: value }` object of strings as pairs, sorted by name.
pub(crate) fn string_map(
    v: &JsValue,
    what: &str,
    op: &'static str,
) -> Result<Vec<(String, String)>, JsValue> {
    if !v.is_object() {
        return Err(invalid(
            op,
            format!("`{what}` must be an object of strings"),
        ));
    }
    let mut out = Vec::new();
    for entry in Object::entries(v.unchecked_ref()).iter() {
        let pair: js_sys::Array = entry.unchecked_into();
        let k = pair.get(0).as_string().unwrap_or_default();
        let value = pair.get(1);
        let value = match value.as_string() {
            Some(s) => s,
            None if value.as_bool().is_some() => value.as_bool().unwrap_or_default().to_string(),
            // A number as JavaScript prints it (`String(2)` is "2", not "2.0").
            None if value.as_f64().is_some() => js_sys::Number::from(value.clone())
                .to_string_with_radix(10)
                .map(String::from)
                .unwrap_or_default(),
            None => {
                return Err(invalid(
                    op,
                    format!("`{what}.{k}` must be a string (or a number or boolean)"),
                ))
            }
        };
        out.push((k, value));
    }
    out.sort();
    Ok(out)
}

/// Sets `key` on a plain result object.
pub(crate) fn set(obj: &Object, key: &str, value: impl Into<JsValue>) {
    let _ = Reflect::set(obj, &JsValue::from_str(key), &value.into());
}

/// Safe conversion of an `i64` to a JavaScript number.
pub(crate) fn num(v: i64) -> JsValue {
    JsValue::from_f64(v as f64)
}
