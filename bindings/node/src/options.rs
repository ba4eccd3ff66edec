//! Settings shared by every client object: name servers, instance name, request timeout, and
//! the security options (`credentials` for ACL 1.0 signing, docs/security.md; `tls`,
//! docs/tls.md). Whether the certificate files load is the core's business: it reports a bad
//! file when the client is created (`start()`, or an `Admin`'s first call).

use std::time::Duration;

use napi::bindgen_prelude::Either;
use napi_derive::napi;

use ferromq_client::{ClientConfig, Credentials as CoreCredentials, Error, TlsConfig};

/// ACL 1.0 credentials: every request is signed with them (Apache's `AclClientRPCHook`).
#[napi(object)]
#[derive(Clone)]
pub struct Credentials {
    /// The access key (sent with each request).
    pub access_key: String,
    /// The secret key (signs each request; never sent).
    pub secret_key: String,
    /// An optional security token (STS), sent with each request.
    pub security_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key", &self.access_key)
            .finish_non_exhaustive()
    }
}

/// TLS settings; `tls: true` is `{}`: the system's trusted roots, host names checked.
#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// A PEM file of the CAs server certificates must chain to (the system's roots when
    /// absent).
    pub ca_file: Option<String>,
    /// A client certificate chain (PEM) for servers that require one (mTLS); with `keyFile`.
    pub cert_file: Option<String>,
    /// The client certificate's private key (PEM: PKCS#8, RSA or EC; not encrypted).
    pub key_file: Option<String>,
    /// The name every server certificate is checked against (and sent as SNI) instead of the
    /// host dialed.
    pub server_name: Option<String>,
    /// Whether the certificate must name the host dialed or `serverName` (true); false checks
    /// only its chain (sensible with a private `caFile`).
    pub verify_hostname: Option<bool>,
    /// Accept any server certificate, unverified (false). Encrypted but open to an active man
    /// in the middle: for tests only.
    pub trust_any_server: Option<bool>,
}

/// The options every client object shares.
pub(crate) struct Common<'a> {
    pub(crate) namesrv_addr: &'a str,
    pub(crate) instance_name: Option<&'a str>,
    pub(crate) request_timeout_ms: Option<u32>,
    pub(crate) credentials: Option<&'a Credentials>,
    pub(crate) tls: Option<&'a Either<bool, TlsOptions>>,
    pub(crate) namespace: Option<&'a str>,
}

/// The client settings of the common options (the instance-name rule and the defaults are
/// the core's: `ClientConfig::new`); empty credentials or an illegal namespace are an
/// `InvalidArgument` error.
pub(crate) fn client_config(common: Common<'_>) -> Result<ClientConfig, Error> {
    let mut c = ClientConfig::new(common.namesrv_addr, common.instance_name.map(str::to_owned));
    if let Some(ms) = common.request_timeout_ms {
        c.request_timeout = Duration::from_millis(u64::from(ms));
    }
    if let Some(cr) = common.credentials {
        if cr.access_key.is_empty() || cr.secret_key.is_empty() {
            return Err(Error::invalid(
                "credentials",
                "accessKey and secretKey must not be empty",
            ));
        }
        let mut core = CoreCredentials::new(cr.access_key.clone(), cr.secret_key.clone());
        core.security_token = cr.security_token.clone();
        c.credentials = Some(core);
    }
    c.tls = match common.tls {
        None | Some(Either::A(false)) => None,
        Some(Either::A(true)) => Some(TlsConfig::default()),
        Some(Either::B(t)) => Some(tls_config(t)?),
    };
    if let Some(ns) = common.namespace.filter(|ns| !ns.is_empty()) {
        ferromq_client::namespace::validate(ns)?;
        c.namespace = Some(ns.to_owned());
    }
    Ok(c)
}

fn tls_config(t: &TlsOptions) -> Result<TlsConfig, Error> {
    if t.cert_file.is_some() != t.key_file.is_some() {
        return Err(Error::invalid(
            "tls",
            "certFile and keyFile go together: give both or neither",
        ));
    }
    if t.server_name.as_deref() == Some("") {
        return Err(Error::invalid("tls", "serverName must not be empty"));
    }
    let defaults = TlsConfig::default();
    Ok(TlsConfig {
        ca_file: t.ca_file.clone().map(Into::into),
        cert_file: t.cert_file.clone().map(Into::into),
        key_file: t.key_file.clone().map(Into::into),
        server_name: t.server_name.clone(),
        verify_hostname: t.verify_hostname.unwrap_or(defaults.verify_hostname),
        trust_any_server: t.trust_any_server.unwrap_or(defaults.trust_any_server),
    })
}
