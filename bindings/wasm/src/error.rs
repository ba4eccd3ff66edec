//! The one place where `ferromq_client::Error` becomes a JavaScript error.
//!
//! A failed call rejects (or throws) with an `Error` whose `message` is the core's text and
//! which carries:
//! - `code`: the stable name of the core's `ErrorKind` (`InvalidArgument`, `Connect`,
//!   `Timeout`, `ConnectionClosed`, `TopicNotFound`, `Broker`, `Protocol`, `IllegalState`, `Io`;
//!   `Unknown` for a kind this binding does not know yet);
//! - `retryable`: whether trying again (possibly on another broker) may help;
//! - `operation`: what failed (`send`, `pull`, `route`, ...);
//! - `responseCode` / `remark`: the RocketMQ response code and remark when a server refused.

use ferromq_client::{Error as CoreError, ErrorKind};
use wasm_bindgen::prelude::*;

/// The `code` of a core error kind (the core's stable kind name).
pub(crate) fn code_of(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidArgument => "InvalidArgument",
        ErrorKind::Connect => "Connect",
        ErrorKind::Timeout => "Timeout",
        ErrorKind::ConnectionClosed => "ConnectionClosed",
        ErrorKind::TopicNotFound => "TopicNotFound",
        ErrorKind::Broker => "Broker",
        ErrorKind::Protocol => "Protocol",
        ErrorKind::IllegalState => "IllegalState",
        ErrorKind::Io => "Io",
        _ => "Unknown",
    }
}

/// Every kind the binding maps, for the mapping check (`errorCodes()` in JavaScript).
pub(crate) const KINDS: [ErrorKind; 9] = ErrorKind::ALL;

fn set(obj: &JsValue, key: &str, value: &JsValue) {
    // Setting a property on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(obj, &JsValue::from_str(key), value);
}

/// The JavaScript error for `e`.
pub(crate) fn to_js(e: &CoreError) -> JsValue {
    let err: JsValue = js_sys::Error::new(&e.to_string()).into();
    set(&err, "code", &JsValue::from_str(code_of(e.kind())));
    set(&err, "retryable", &JsValue::from_bool(e.is_retryable()));
    set(&err, "operation", &JsValue::from_str(e.operation()));
    if let Some(rc) = e.response_code() {
        set(&err, "responseCode", &JsValue::from_f64(f64::from(rc.0)));
    }
    if let Some(remark) = e.remark() {
        set(&err, "remark", &JsValue::from_str(remark));
    }
    err
}

/// A core result with its error as a JavaScript error.
pub(crate) trait OrJs<T> {
    /// `self`, with the error converted by [`to_js`].
    fn or_js(self) -> Result<T, JsValue>;
}

impl<T> OrJs<T> for ferromq_client::Result<T> {
    fn or_js(self) -> Result<T, JsValue> {
        self.map_err(|e| to_js(&e))
    }
}

/// An `InvalidArgument` error raised by the binding's own checks, as a JavaScript error.
pub(crate) fn invalid(operation: &'static str, message: impl Into<String>) -> JsValue {
    to_js(&CoreError::invalid(operation, message))
}

/// An `IllegalState` error raised by the binding itself, as a JavaScript error.
pub(crate) fn illegal_state(operation: &'static str, message: &str) -> JsValue {
    to_js(&CoreError::illegal_state(operation, message))
}

/// Text of a thrown JavaScript value, for messages.
pub(crate) fn js_text(v: &JsValue) -> String {
    if let Some(e) = v.dyn_ref::<js_sys::Error>() {
        return String::from(e.message());
    }
    v.as_string().unwrap_or_else(|| format!("{v:?}"))
}

/// The `code` of every error kind, in the core's order (the check that each kind maps to its
/// own code runs in the JavaScript tests).
#[wasm_bindgen(js_name = errorCodes)]
pub fn error_codes() -> Vec<String> {
    KINDS
        .iter()
        .map(|k| {
            debug_assert_eq!(k.as_str(), code_of(*k));
            format!("{}={}", k.as_str(), code_of(*k))
        })
        .collect()
}
