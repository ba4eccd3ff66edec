//! ACL credentials and TLS: the C forms of the core's `Credentials` and `TlsConfig`
//! ([`fmq_tls_options`]), their checks, and the process-wide settings of the `fmq_admin_*`
//! calls (which have no handle). Each handle has its own `fmq_<type>_set_credentials` and
//! `fmq_<type>_set_tls` in its file.

use std::ffi::c_char;
use std::path::PathBuf;
use std::sync::Mutex;

use ferromq_client::{ClientConfig, Credentials, Error, TlsConfig};
use ferromq_common::lock;

use crate::error::{fmq_result, guard};
use crate::ffi::str_arg;

/// fmq_tls_options.flags: check only the certificate's chain, not that it names the host
/// dialed (or `server_name`). Only sensible with a private `ca_file`.
pub const FMQ_TLS_NO_VERIFY_HOSTNAME: u32 = 1;
/// fmq_tls_options.flags: accept any server certificate, unverified (encrypted, but open to
/// an active man in the middle). For tests only.
pub const FMQ_TLS_TRUST_ANY_SERVER: u32 = 2;

/// TLS settings for fmq_*_set_tls (a plain struct, read during the call only; zero it and set
/// what you need). Every connection of the handle (name servers and brokers) then uses TLS.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct fmq_tls_options {
    /// A PEM file of the CAs server certificates must chain to; NULL: the system's roots.
    pub ca_file: *const c_char,
    /// A client certificate chain (PEM) for servers requiring one (mTLS); NULL: none.
    pub cert_file: *const c_char,
    /// The client certificate's private key (PEM, not encrypted); given with `cert_file`.
    pub key_file: *const c_char,
    /// The name every server certificate is checked against (and sent as SNI); NULL: the
    /// host dialed (the name server address, the broker's IP from the route).
    pub server_name: *const c_char,
    /// FMQ_TLS_* bits; 0 for none.
    pub flags: u32,
}

/// An optional string argument: NULL is `None`, an empty string too.
fn opt_str(op: &'static str, name: &str, p: *const c_char) -> Result<Option<String>, Error> {
    if p.is_null() {
        return Ok(None);
    }
    let s = str_arg(op, name, p)?;
    Ok((!s.is_empty()).then(|| s.to_owned()))
}

/// A file argument that must exist (checked now, so a typo fails the setter and not start).
fn opt_file(op: &'static str, name: &str, p: *const c_char) -> Result<Option<PathBuf>, Error> {
    let Some(path) = opt_str(op, name, p)? else {
        return Ok(None);
    };
    std::fs::metadata(&path).map_err(|e| Error::invalid(op, format!("{name} {path}: {e}")))?;
    Ok(Some(PathBuf::from(path)))
}

/// Credentials from C: `access_key` NULL clears them (`None`); otherwise both keys are
/// needed and non-empty, `security_token` is optional.
pub(crate) fn credentials(
    op: &'static str,
    access_key: *const c_char,
    secret_key: *const c_char,
    security_token: *const c_char,
) -> Result<Option<Credentials>, Error> {
    if access_key.is_null() {
        return Ok(None);
    }
    let access_key = str_arg(op, "access_key", access_key)?;
    let secret_key = str_arg(op, "secret_key", secret_key)?;
    if access_key.is_empty() || secret_key.is_empty() {
        return Err(Error::invalid(
            op,
            "access_key and secret_key must not be empty",
        ));
    }
    Ok(Some(Credentials {
        access_key: access_key.to_owned(),
        secret_key: secret_key.to_owned(),
        security_token: opt_str(op, "security_token", security_token)?,
    }))
}

/// TLS settings from C: NULL is plaintext (`None`).
pub(crate) fn tls(
    op: &'static str,
    options: *const fmq_tls_options,
) -> Result<Option<TlsConfig>, Error> {
    if options.is_null() {
        return Ok(None);
    }
    // SAFETY: a readable fmq_tls_options for the duration of the call (header).
    let o = unsafe { *options };
    let known = FMQ_TLS_NO_VERIFY_HOSTNAME | FMQ_TLS_TRUST_ANY_SERVER;
    if o.flags & !known != 0 {
        return Err(Error::invalid(
            op,
            format!("unknown fmq_tls_options.flags bits {:#x}", o.flags & !known),
        ));
    }
    let cert_file = opt_file(op, "cert_file", o.cert_file)?;
    let key_file = opt_file(op, "key_file", o.key_file)?;
    if cert_file.is_some() != key_file.is_some() {
        return Err(Error::invalid(op, "cert_file and key_file go together"));
    }
    Ok(Some(TlsConfig {
        ca_file: opt_file(op, "ca_file", o.ca_file)?,
        verify_hostname: o.flags & FMQ_TLS_NO_VERIFY_HOSTNAME == 0,
        server_name: opt_str(op, "server_name", o.server_name)?,
        cert_file,
        key_file,
        trust_any_server: o.flags & FMQ_TLS_TRUST_ANY_SERVER != 0,
    }))
}

/// What the fmq_admin_* calls use.
static ADMIN: Mutex<(Option<Credentials>, Option<TlsConfig>)> = Mutex::new((None, None));

/// Applies the admin calls' credentials and TLS to `config`.
pub(crate) fn apply_admin(config: &mut ClientConfig) {
    let admin = lock(&ADMIN);
    config.credentials = admin.0.clone();
    config.tls = admin.1.clone();
}

/// Sets the ACL credentials every later fmq_admin_* call of this process signs its requests
/// with (creating and deleting topics needs an account with `admin: true` on brokers with
/// aclEnable=true). `security_token` may be NULL; `access_key` NULL clears them. Any thread.
#[no_mangle]
pub extern "C" fn fmq_admin_set_credentials(
    access_key: *const c_char,
    secret_key: *const c_char,
    security_token: *const c_char,
) -> fmq_result {
    guard(|| {
        let op = "fmq_admin_set_credentials";
        let c = credentials(op, access_key, secret_key, security_token)?;
        lock(&ADMIN).0 = c;
        Ok(())
    })
}

/// Sets the TLS every later fmq_admin_* call of this process uses (see fmq_tls_options);
/// NULL: plaintext again. Files are checked to exist here. Any thread.
#[no_mangle]
pub extern "C" fn fmq_admin_set_tls(options: *const fmq_tls_options) -> fmq_result {
    guard(|| {
        let op = "fmq_admin_set_tls";
        let t = tls(op, options)?;
        lock(&ADMIN).1 = t;
        Ok(())
    })
}
