//! The one place where errors become C: the numbered [`fmq_result`], the per-thread last
//! error text ([`fmq_error_message`]), and the panic guard every export runs in.

use std::any::Any;
use std::cell::RefCell;
use std::ffi::{c_char, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use ferromq_client::{Error, ErrorKind};

/// The outcome of a call: `FMQ_OK` (0) or the kind of failure. The numbers are stable; new
/// kinds may be added at the end. Switch on it, and read fmq_error_message() for the text.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum fmq_result {
    /// Success.
    FMQ_OK = 0,
    /// The caller passed something unusable: a NULL pointer, invalid UTF-8, an empty topic,
    /// an oversized body, a bad filter expression.
    FMQ_ERR_INVALID_ARGUMENT = 1,
    /// No connection could be made to a name server or broker.
    FMQ_ERR_CONNECT = 2,
    /// No answer within the request timeout.
    FMQ_ERR_TIMEOUT = 3,
    /// The connection closed before the answer arrived.
    FMQ_ERR_CONNECTION_CLOSED = 4,
    /// The topic has no route (unknown to every name server) or no usable queue.
    FMQ_ERR_TOPIC_NOT_FOUND = 5,
    /// A broker or name server answered with an error response code.
    FMQ_ERR_BROKER = 6,
    /// A peer sent something that could not be decoded.
    FMQ_ERR_PROTOCOL = 7,
    /// The handle is not started, already started, or shut down.
    FMQ_ERR_ILLEGAL_STATE = 8,
    /// A local file (broadcasting offsets) could not be read or written.
    FMQ_ERR_IO = 9,
    /// A bug: the library panicked. The handle involved should not be used any more.
    FMQ_ERR_PANIC = 10,
    /// A failure of a kind this version of the binding does not know (newer client core).
    FMQ_ERR_UNKNOWN = 11,
}

/// The result code of a core error kind.
pub(crate) fn code_of(kind: ErrorKind) -> fmq_result {
    match kind {
        ErrorKind::InvalidArgument => fmq_result::FMQ_ERR_INVALID_ARGUMENT,
        ErrorKind::Connect => fmq_result::FMQ_ERR_CONNECT,
        ErrorKind::Timeout => fmq_result::FMQ_ERR_TIMEOUT,
        ErrorKind::ConnectionClosed => fmq_result::FMQ_ERR_CONNECTION_CLOSED,
        ErrorKind::TopicNotFound => fmq_result::FMQ_ERR_TOPIC_NOT_FOUND,
        ErrorKind::Broker => fmq_result::FMQ_ERR_BROKER,
        ErrorKind::Protocol => fmq_result::FMQ_ERR_PROTOCOL,
        ErrorKind::IllegalState => fmq_result::FMQ_ERR_ILLEGAL_STATE,
        ErrorKind::Io => fmq_result::FMQ_ERR_IO,
        _ => fmq_result::FMQ_ERR_UNKNOWN,
    }
}

struct LastError {
    message: CString,
    retryable: bool,
    /// The server's response code, -1 when no server answered with an error.
    response_code: i32,
}

thread_local! {
    static LAST_ERROR: RefCell<LastError> = RefCell::new(LastError {
        message: CString::default(),
        retryable: false,
        response_code: -1,
    });
}

/// A C string from Rust text (interior NULs, which C cannot show, become spaces).
pub(crate) fn c_string(s: &str) -> CString {
    CString::new(s.replace('\0', " ")).unwrap_or_default()
}

fn set_last_error(message: &str, retryable: bool, response_code: i32) {
    LAST_ERROR.with(|last| {
        *last.borrow_mut() = LastError {
            message: c_string(message),
            retryable,
            response_code,
        };
    });
}

/// Records `e` as this thread's last error and returns its code.
pub(crate) fn fail(e: &Error) -> fmq_result {
    let code = e.response_code().map_or(-1, |c| c.0);
    set_last_error(&e.to_string(), e.is_retryable(), code);
    code_of(e.kind())
}

fn panic_text(payload: &(dyn Any + Send)) -> String {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    format!("ferromq panicked: {what}")
}

/// Runs the body of an export: its error becomes the result code and this thread's last
/// error, and a panic becomes `FMQ_ERR_PANIC` instead of unwinding into C.
pub(crate) fn guard(body: impl FnOnce() -> Result<(), Error>) -> fmq_result {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => fmq_result::FMQ_OK,
        Ok(Err(e)) => fail(&e),
        Err(payload) => {
            set_last_error(&panic_text(payload.as_ref()), false, -1);
            fmq_result::FMQ_ERR_PANIC
        }
    }
}

/// Runs an accessor that cannot fail: a panic gives `fallback`.
pub(crate) fn guard_value<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|payload| {
        set_last_error(&panic_text(payload.as_ref()), false, -1);
        fallback
    })
}

/// The text of the last failure on the calling thread ("" when no call failed yet).
///
/// The string belongs to the library and stays valid until the next failing call on this
/// thread. Callbacks that report an error get their own message argument instead.
#[no_mangle]
pub extern "C" fn fmq_error_message() -> *const c_char {
    guard_value(c"".as_ptr(), || {
        LAST_ERROR.with(|last| last.borrow().message.as_ptr())
    })
}

/// Whether trying the last failed call of this thread again (possibly on another broker) may
/// succeed: true for connect, timeout and connection-closed failures and for "busy" broker
/// answers.
#[no_mangle]
pub extern "C" fn fmq_error_is_retryable() -> bool {
    guard_value(false, || LAST_ERROR.with(|last| last.borrow().retryable))
}

/// The RocketMQ response code of the last failure on the calling thread when a server answered
/// with an error (FMQ_ERR_BROKER, FMQ_ERR_TOPIC_NOT_FOUND): e.g. 1 (SYSTEM_ERROR) for a request
/// a broker's ACL refused, 16 (NO_PERMISSION); -1 otherwise.
#[no_mangle]
pub extern "C" fn fmq_error_response_code() -> i32 {
    guard_value(-1, || LAST_ERROR.with(|last| last.borrow().response_code))
}

/// The stable name of a result code ("FMQ_OK", "FMQ_ERR_TIMEOUT", ...), "FMQ_ERR_UNKNOWN" for
/// a number that is none. A static string: never free it.
#[no_mangle]
pub extern "C" fn fmq_result_name(result: i32) -> *const c_char {
    let name: &'static std::ffi::CStr = match result {
        0 => c"FMQ_OK",
        1 => c"FMQ_ERR_INVALID_ARGUMENT",
        2 => c"FMQ_ERR_CONNECT",
        3 => c"FMQ_ERR_TIMEOUT",
        4 => c"FMQ_ERR_CONNECTION_CLOSED",
        5 => c"FMQ_ERR_TOPIC_NOT_FOUND",
        6 => c"FMQ_ERR_BROKER",
        7 => c"FMQ_ERR_PROTOCOL",
        8 => c"FMQ_ERR_ILLEGAL_STATE",
        9 => c"FMQ_ERR_IO",
        10 => c"FMQ_ERR_PANIC",
        _ => c"FMQ_ERR_UNKNOWN",
    };
    name.as_ptr()
}

/// The client core's error kind of a result code, as every FerroMQ binding names it
/// ("InvalidArgument", "IllegalState", "Timeout", ...): what the parity suite prints. "Ok" for
/// FMQ_OK, "Panic" for FMQ_ERR_PANIC, "Unknown" for FMQ_ERR_UNKNOWN and any other number.
/// A static string: never free it.
#[no_mangle]
pub extern "C" fn fmq_error_kind_name(result: i32) -> *const c_char {
    let name: &'static std::ffi::CStr = match result {
        0 => c"Ok",
        1 => c"InvalidArgument",
        2 => c"Connect",
        3 => c"Timeout",
        4 => c"ConnectionClosed",
        5 => c"TopicNotFound",
        6 => c"Broker",
        7 => c"Protocol",
        8 => c"IllegalState",
        9 => c"Io",
        10 => c"Panic",
        _ => c"Unknown",
    };
    name.as_ptr()
}

#[cfg(test)]
mod tests {
    use std::ffi::CStr;

    use super::*;

    const KINDS: [ErrorKind; 9] = ErrorKind::ALL;

    #[test]
    fn every_kind_maps_to_its_own_code_and_name() {
        let mut codes: Vec<i32> = KINDS.iter().map(|k| code_of(*k) as i32).collect();
        for (kind, code) in KINDS.iter().zip(&codes) {
            assert_ne!(*code, 0, "{kind} must not map to FMQ_OK");
            // SAFETY: fmq_result_name returns static NUL-terminated strings.
            let name = unsafe { CStr::from_ptr(fmq_result_name(*code)) };
            let name = name.to_str().expect("ASCII");
            let expected = format!("FMQ_ERR_{}", kind.as_str()).to_uppercase();
            assert_eq!(
                name.replace('_', ""),
                expected.replace('_', ""),
                "the code's name follows the core kind"
            );
        }
        for kind in KINDS {
            // SAFETY: fmq_error_kind_name returns static NUL-terminated strings.
            let name = unsafe { CStr::from_ptr(fmq_error_kind_name(code_of(kind) as i32)) };
            assert_eq!(name.to_str().expect("ASCII"), kind.as_str());
        }
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), KINDS.len());
    }

    #[test]
    fn guard_records_errors_and_catches_panics() {
        let r = guard(|| Err(Error::invalid("test", "bad thing")));
        assert_eq!(r, fmq_result::FMQ_ERR_INVALID_ARGUMENT);
        // SAFETY: the pointer is valid until the next failing call on this thread.
        let text = unsafe { CStr::from_ptr(fmq_error_message()) };
        assert!(text.to_str().expect("UTF-8").contains("bad thing"));
        assert!(!fmq_error_is_retryable());

        let r = guard(|| panic!("boom"));
        assert_eq!(r, fmq_result::FMQ_ERR_PANIC);
        // SAFETY: as above.
        let text = unsafe { CStr::from_ptr(fmq_error_message()) };
        assert!(text.to_str().expect("UTF-8").contains("boom"));
        assert_eq!(guard(|| Ok(())), fmq_result::FMQ_OK);
    }
}
