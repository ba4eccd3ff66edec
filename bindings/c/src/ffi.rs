//! Checked conversions of C arguments: NULL checks, UTF-8 strings, handle boxes, outputs.

use std::ffi::{c_char, c_void, CStr};

use ferromq_client::Error;

/// A required string argument as UTF-8; NULL or invalid UTF-8 is an invalid argument.
pub(crate) fn str_arg<'a>(
    op: &'static str,
    name: &str,
    p: *const c_char,
) -> Result<&'a str, Error> {
    if p.is_null() {
        return Err(Error::invalid(op, format!("{name} is NULL")));
    }
    // SAFETY: the caller promises a NUL-terminated string that outlives the call (header).
    let s = unsafe { CStr::from_ptr(p) };
    s.to_str()
        .map_err(|_| Error::invalid(op, format!("{name} is not valid UTF-8")))
}

/// A namespace argument: NULL or "" is none; otherwise checked by the core's rule.
pub(crate) fn namespace_arg(op: &'static str, p: *const c_char) -> Result<Option<String>, Error> {
    if p.is_null() {
        return Ok(None);
    }
    let ns = str_arg(op, "namespace", p)?;
    if ns.is_empty() {
        return Ok(None);
    }
    ferromq_client::namespace::validate(ns)?;
    Ok(Some(ns.to_owned()))
}

/// A byte buffer argument; NULL is allowed only for an empty buffer.
pub(crate) fn bytes_arg<'a>(
    op: &'static str,
    name: &str,
    p: *const u8,
    len: usize,
) -> Result<&'a [u8], Error> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(Error::invalid(
            op,
            format!("{name} is NULL but its length is {len}"),
        ));
    }
    // SAFETY: the caller promises `len` readable bytes at `p` for the call (header).
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// A required handle argument.
pub(crate) fn handle<'a, T>(op: &'static str, p: *const T) -> Result<&'a T, Error> {
    if p.is_null() {
        return Err(Error::invalid(op, "the handle is NULL"));
    }
    // SAFETY: a non-NULL handle was made by this library's `_new` and not freed (header).
    Ok(unsafe { &*p })
}

/// Fails when an output pointer is NULL (checked before any work is done).
pub(crate) fn check_out<T>(op: &'static str, name: &str, out: *mut T) -> Result<(), Error> {
    if out.is_null() {
        Err(Error::invalid(op, format!("{name} is NULL")))
    } else {
        Ok(())
    }
}

/// Writes an output checked by [`check_out`].
pub(crate) fn write_out<T>(out: *mut T, value: T) {
    // SAFETY: checked non-NULL; the caller promises it points to writable memory (header).
    unsafe { out.write(value) }
}

/// Moves a new handle to C.
pub(crate) fn into_handle<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Takes back a handle for dropping (NULL: nothing).
pub(crate) fn take_handle<T>(p: *mut T) -> Option<Box<T>> {
    if p.is_null() {
        None
    } else {
        // SAFETY: made by `into_handle` and freed only once (header).
        Some(unsafe { Box::from_raw(p) })
    }
}

/// The user's `void *userdata`, handed back to their callbacks on other threads. The user
/// promises (header) that it may be used from the documented threads.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UserData(pub(crate) *mut c_void);

// SAFETY: the pointer is only passed back to the user's callbacks; thread safety of what it
// points to is the user's documented responsibility.
unsafe impl Send for UserData {}
// SAFETY: as above.
unsafe impl Sync for UserData {}

/// Copies `s` into a fixed C buffer, truncating, always NUL-terminated.
pub(crate) fn copy_str(dst: &mut [c_char], s: &str) {
    let n = s.len().min(dst.len().saturating_sub(1));
    for (d, b) in dst.iter_mut().zip(s.as_bytes()[..n].iter()) {
        *d = *b as c_char;
    }
    if let Some(end) = dst.get_mut(n) {
        *end = 0;
    }
}
