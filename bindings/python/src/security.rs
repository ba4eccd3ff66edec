//! The security options every constructor takes: `credentials=` (ACL 1.0 signing,
//! docs/security.md) and `tls=` (docs/tls.md), read into the core's [`Credentials`] and
//! [`TlsConfig`]. Whether the certificate files parse is the core's business: it reports a
//! bad file when the client is created (`start()`, or the `Admin` constructor).

use std::path::PathBuf;

use ferromq_client::{Credentials, TlsConfig};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PySequence, PyString};

use crate::error;

/// TLS settings of a client (docs/tls.md).
///
/// `TlsConfig(ca_file=None, *, cert_file=None, key_file=None, server_name=None,
/// verify_hostname=True, trust_any_server=False)`. Pass it as `tls=` to any client
/// constructor (`tls=True` is `TlsConfig()`: the system's trusted roots). Every connection of
/// the client, to name servers and brokers, then uses TLS. The files must exist when the
/// object is made; a file that does not parse is reported by `start()`.
#[pyclass(name = "TlsConfig", module = "ferromq", frozen)]
pub(crate) struct PyTlsConfig {
    pub(crate) inner: TlsConfig,
}

/// `path` as given, after checking that it names a readable file.
fn existing(py: Python<'_>, what: &str, path: Option<PathBuf>) -> PyResult<Option<PathBuf>> {
    let Some(path) = path else { return Ok(None) };
    match std::fs::File::open(&path) {
        Ok(_) if path.is_file() => Ok(Some(path)),
        Ok(_) => Err(error::invalid(
            py,
            "tls",
            &format!("{what} {}: not a file", path.display()),
        )),
        Err(e) => Err(error::invalid(
            py,
            "tls",
            &format!("{what} {}: {e}", path.display()),
        )),
    }
}

#[pymethods]
impl PyTlsConfig {
    #[new]
    #[pyo3(signature = (ca_file=None, *, cert_file=None, key_file=None, server_name=None, verify_hostname=true, trust_any_server=false))]
    fn new(
        py: Python<'_>,
        ca_file: Option<PathBuf>,
        cert_file: Option<PathBuf>,
        key_file: Option<PathBuf>,
        server_name: Option<String>,
        verify_hostname: bool,
        trust_any_server: bool,
    ) -> PyResult<Self> {
        if cert_file.is_some() != key_file.is_some() {
            return Err(error::invalid(
                py,
                "tls",
                "cert_file and key_file go together: give both or neither",
            ));
        }
        if server_name.as_deref() == Some("") {
            return Err(error::invalid(py, "tls", "server_name must not be empty"));
        }
        Ok(PyTlsConfig {
            inner: TlsConfig {
                ca_file: existing(py, "ca_file", ca_file)?,
                cert_file: existing(py, "cert_file", cert_file)?,
                key_file: existing(py, "key_file", key_file)?,
                server_name,
                verify_hostname,
                trust_any_server,
            },
        })
    }

    /// The PEM file of the CAs server certificates must chain to; None: the system's roots.
    #[getter]
    fn ca_file(&self) -> Option<PathBuf> {
        self.inner.ca_file.clone()
    }

    /// The client certificate chain (PEM) for servers that require one (mTLS).
    #[getter]
    fn cert_file(&self) -> Option<PathBuf> {
        self.inner.cert_file.clone()
    }

    /// The client certificate's private key (PEM, not encrypted).
    #[getter]
    fn key_file(&self) -> Option<PathBuf> {
        self.inner.key_file.clone()
    }

    /// The name every server certificate is checked against (and sent as SNI) instead of
    /// the host dialed.
    #[getter]
    fn server_name(&self) -> Option<String> {
        self.inner.server_name.clone()
    }

    /// Whether the certificate must name the host dialed (or `server_name`).
    #[getter]
    fn verify_hostname(&self) -> bool {
        self.inner.verify_hostname
    }

    /// Whether any server certificate is accepted unverified (tests only).
    #[getter]
    fn trust_any_server(&self) -> bool {
        self.inner.trust_any_server
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let t = &self.inner;
        let r = |v: Bound<'_, PyAny>| -> PyResult<String> { Ok(v.repr()?.to_string()) };
        Ok(format!(
            "TlsConfig(ca_file={}, cert_file={}, key_file={}, server_name={}, verify_hostname={}, trust_any_server={})",
            r(t.ca_file.clone().into_pyobject(py)?)?,
            r(t.cert_file.clone().into_pyobject(py)?)?,
            r(t.key_file.clone().into_pyobject(py)?)?,
            r(t.server_name.clone().into_pyobject(py)?)?,
            r(t.verify_hostname.into_pyobject(py)?.to_owned().into_any())?,
            r(t.trust_any_server.into_pyobject(py)?.to_owned().into_any())?,
        ))
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<PyTlsConfig>()
            .is_ok_and(|o| o.get().inner == self.inner)
    }
}

/// `credentials=`: None, `(access_key, secret_key)` or `(access_key, secret_key,
/// security_token)`, strings.
pub(crate) fn credentials(
    py: Python<'_>,
    value: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<Credentials>> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(None);
    };
    let usage = "credentials must be (access_key, secret_key) or (access_key, secret_key, security_token), strings";
    let items = match value.cast::<PySequence>() {
        Ok(seq) if !value.is_instance_of::<PyString>() => seq,
        _ => return Err(error::invalid(py, "credentials", usage)),
    };
    let len = items.len()?;
    if !(2..=3).contains(&len) {
        return Err(error::invalid(
            py,
            "credentials",
            &format!("{usage}; got {len} items"),
        ));
    }
    let mut parts = Vec::with_capacity(len);
    for i in 0..len {
        let item = items.get_item(i)?;
        match item.extract::<String>() {
            Ok(s) => parts.push(s),
            Err(_) => return Err(error::invalid(py, "credentials", usage)),
        }
    }
    if parts[0].is_empty() || parts[1].is_empty() {
        return Err(error::invalid(
            py,
            "credentials",
            "access_key and secret_key must not be empty",
        ));
    }
    let mut c = Credentials::new(parts[0].clone(), parts[1].clone());
    c.security_token = parts.get(2).cloned();
    Ok(Some(c))
}

/// `tls=`: None or False (plaintext), True (the system's roots) or a `TlsConfig`.
pub(crate) fn tls(py: Python<'_>, value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<TlsConfig>> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(None);
    };
    if let Ok(b) = value.cast::<PyBool>() {
        return Ok(b.is_true().then(TlsConfig::default));
    }
    if let Ok(c) = value.cast::<PyTlsConfig>() {
        return Ok(Some(c.get().inner.clone()));
    }
    Err(error::invalid(
        py,
        "tls",
        "tls must be True, False, None or a ferromq.TlsConfig",
    ))
}
