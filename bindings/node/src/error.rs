//! The one place where `ferromq_client::Error` becomes a JavaScript error.
//!
//! A failed call rejects with an `Error` whose `message` is the core's text and which carries:
//! - `code`: the stable [`ErrorCode`] name of the core's `ErrorKind` (switch on it);
//! - `retryable`: whether trying again (possibly on another broker) may help;
//! - `operation`: what failed (`send`, `pull`, `route`, ...);
//! - `responseCode` / `remark`: the RocketMQ response code and remark when a server refused.
//!
//! napi-rs builds rejections from its own `Status` codes, so fallible async methods return
//! [`Fallible`], whose conversion runs on the JavaScript thread, builds the error object there
//! and rejects the promise with it.

use napi::bindgen_prelude::{JsValue, ToNapiValue, TypeName};
use napi::{sys, Env, Status, ValueType};
use napi_derive::napi;

use ferromq_client::{Error as CoreError, ErrorKind};

/// The stable names found in `err.code` of every error FerroMQ raises.
///
/// Arguments of the wrong JavaScript type (a missing `topic`, a number as `body`) are refused
/// by the napi-rs layer before they reach the client, with `err.code === 'InvalidArg'`.
#[napi(string_enum)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The caller passed something unusable (empty topic, oversized body, bad expression).
    InvalidArgument,
    /// No connection could be made to a name server or broker.
    Connect,
    /// No answer within the request timeout.
    Timeout,
    /// The connection closed before the answer arrived.
    ConnectionClosed,
    /// The topic has no route or no usable queue.
    TopicNotFound,
    /// A broker or name server answered with an error response code (see `err.responseCode`).
    Broker,
    /// A peer sent something that could not be decoded.
    Protocol,
    /// The producer or consumer is not started or already shut down.
    IllegalState,
    /// A local file (broadcast offsets) could not be read or written.
    Io,
    /// A kind this version of the binding does not know yet (the core added one).
    Unknown,
}

/// The code of a core error kind.
pub(crate) fn code_of(kind: ErrorKind) -> ErrorCode {
    match kind {
        ErrorKind::InvalidArgument => ErrorCode::InvalidArgument,
        ErrorKind::Connect => ErrorCode::Connect,
        ErrorKind::Timeout => ErrorCode::Timeout,
        ErrorKind::ConnectionClosed => ErrorCode::ConnectionClosed,
        ErrorKind::TopicNotFound => ErrorCode::TopicNotFound,
        ErrorKind::Broker => ErrorCode::Broker,
        ErrorKind::Protocol => ErrorCode::Protocol,
        ErrorKind::IllegalState => ErrorCode::IllegalState,
        ErrorKind::Io => ErrorCode::Io,
        _ => ErrorCode::Unknown,
    }
}

impl ErrorCode {
    fn as_str(&self) -> &'static str {
        match self {
            ErrorCode::InvalidArgument => "InvalidArgument",
            ErrorCode::Connect => "Connect",
            ErrorCode::Timeout => "Timeout",
            ErrorCode::ConnectionClosed => "ConnectionClosed",
            ErrorCode::TopicNotFound => "TopicNotFound",
            ErrorCode::Broker => "Broker",
            ErrorCode::Protocol => "Protocol",
            ErrorCode::IllegalState => "IllegalState",
            ErrorCode::Io => "Io",
            ErrorCode::Unknown => "Unknown",
        }
    }
}

/// Builds the JavaScript error object for `e` (on the JavaScript thread).
fn js_error(env: &Env, e: &CoreError) -> napi::Result<napi::Error> {
    let code = code_of(e.kind()).as_str();
    let mut obj = env.create_error(napi::Error::new(Status::GenericFailure, e.to_string()))?;
    obj.set("code", code)?;
    obj.set("retryable", e.is_retryable())?;
    obj.set("operation", e.operation())?;
    if let Some(rc) = e.response_code() {
        obj.set("responseCode", rc.0)?;
    }
    if let Some(remark) = e.remark() {
        obj.set("remark", remark)?;
    }
    Ok(napi::Error::from(obj.to_unknown()))
}

/// A core result that settles a promise: resolves with the value, or rejects with the
/// JavaScript error described in this module.
#[derive(Debug)]
pub struct Fallible<T>(pub Result<T, CoreError>);

impl<T> From<Result<T, CoreError>> for Fallible<T> {
    fn from(r: Result<T, CoreError>) -> Self {
        Fallible(r)
    }
}

impl<T: TypeName> TypeName for Fallible<T> {
    fn type_name() -> &'static str {
        T::type_name()
    }

    fn value_type() -> ValueType {
        T::value_type()
    }
}

#[allow(unsafe_code)]
impl<T: ToNapiValue> ToNapiValue for Fallible<T> {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        match val.0 {
            // SAFETY: called by napi-rs with the live env of the JavaScript thread.
            Ok(v) => unsafe { T::to_napi_value(env, v) },
            Err(e) => Err(js_error(&Env::from_raw(env), &e)?),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_maps_to_its_own_code() {
        let kinds = ErrorKind::ALL;
        let mut codes: Vec<&str> = kinds.iter().map(|k| code_of(*k).as_str()).collect();
        for (kind, code) in kinds.iter().zip(&codes) {
            assert_eq!(
                kind.as_str(),
                *code,
                "the code is the core's stable kind name"
            );
        }
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), kinds.len());
    }
}
