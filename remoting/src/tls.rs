//! TLS for the remoting transport (rustls, ring provider): the servers' side with Apache's three
//! modes and certificate reload, and the clients' side with a CA file or the system's roots,
//! client certificates and an opt-in "trust any server" switch.
//!
//! Server modes (Apache's `tls.server.mode`):
//! - `disabled`: plaintext only; a TLS ClientHello is not a frame and closes the connection.
//! - `permissive`: both on one port, told apart by the first byte (a TLS record of a
//!   ClientHello starts with `0x16`, a remoting frame with the high byte of its length, which
//!   no accepted frame size reaches).
//! - `enforcing`: TLS only; a plaintext client is closed before it is served.
//!
//! The certificate, key and trust files are checked (one `stat` each) whenever a TLS handshake
//! starts; when any changed, they are loaded again and new connections get the new ones.
//! Connections already open keep theirs. A pair that does not load (a key replaced before its
//! certificate, say) is logged once and the previous one kept until the files change again.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use tokio::net::TcpStream;

/// The first byte of a TLS handshake record (Apache's `HANDSHAKE_MAGIC_CODE`).
pub(crate) const TLS_HANDSHAKE_BYTE: u8 = 0x16;

/// A connection [`ServerTls::accept`] admitted.
#[derive(Debug)]
pub enum Accepted {
    /// Plaintext (a `permissive` port).
    Plain(TcpStream),
    /// TLS, handshake done.
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

/// Why [`ServerTls::accept`] refused a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Closed, failed or silent before its first byte: nothing to serve, nothing to log.
    Silent,
    /// Plaintext on an `enforcing` port.
    Plaintext,
    /// The TLS handshake failed or timed out (untrusted or missing client certificates too).
    Handshake(String),
}

/// A TLS setting that cannot be used: the key and what is wrong, for a start-up error.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TlsError(String);

impl TlsError {
    pub(crate) fn new(msg: impl Into<String>) -> Self {
        TlsError(msg.into())
    }
}

/// Apache's `tls.server.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsMode {
    /// Plaintext only.
    Disabled,
    /// TLS and plaintext on the same port (Apache's default; FerroMQ serves plaintext only
    /// while no certificate is configured).
    #[default]
    Permissive,
    /// TLS only.
    Enforcing,
}

impl TlsMode {
    /// Parses `disabled`, `permissive` or `enforcing` (any case).
    pub fn parse(s: &str) -> Option<TlsMode> {
        match s.trim().to_ascii_lowercase().as_str() {
            "disabled" => Some(TlsMode::Disabled),
            "permissive" => Some(TlsMode::Permissive),
            "enforcing" => Some(TlsMode::Enforcing),
            _ => None,
        }
    }

    /// The name as Apache writes it.
    pub fn name(self) -> &'static str {
        match self {
            TlsMode::Disabled => "disabled",
            TlsMode::Permissive => "permissive",
            TlsMode::Enforcing => "enforcing",
        }
    }
}

/// Apache's `tls.server.need.client.auth`: whether clients present certificates (mTLS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAuth {
    /// Clients are not asked for a certificate.
    #[default]
    None,
    /// Clients are asked; one that presents a certificate must present a trusted one.
    Optional,
    /// Clients without a trusted certificate are refused.
    Require,
}

impl ClientAuth {
    /// Parses `none`, `optional` or `require` (any case).
    pub fn parse(s: &str) -> Option<ClientAuth> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "none" => Some(ClientAuth::None),
            "optional" => Some(ClientAuth::Optional),
            "require" => Some(ClientAuth::Require),
            _ => None,
        }
    }
}

/// The TLS settings of a server's listeners (Apache's `tls.server.*` keys).
#[derive(Debug, Clone, Default)]
pub struct ServerTlsSettings {
    /// `tls.server.mode`.
    pub mode: TlsMode,
    /// `tls.server.certPath`: the certificate chain, PEM, leaf first.
    pub cert_path: Option<PathBuf>,
    /// `tls.server.keyPath`: the private key, PEM (PKCS#8, PKCS#1 RSA or SEC1 EC).
    pub key_path: Option<PathBuf>,
    /// `tls.server.keyPassword`: only for encrypted keys, which FerroMQ refuses.
    pub key_password: Option<String>,
    /// `tls.server.trustCertPath`: the CAs client certificates must chain to.
    pub trust_cert_path: Option<PathBuf>,
    /// `tls.server.need.client.auth`.
    pub client_auth: ClientAuth,
}

/// What identifies a file's version cheaply: its modification time and length.
type Stamp = Option<(SystemTime, u64)>;

fn stamp(path: &Path) -> Stamp {
    std::fs::metadata(path)
        .ok()
        .map(|m| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()))
}

struct Loaded {
    config: Arc<rustls::ServerConfig>,
    /// The stamps the config was loaded from.
    stamps: Vec<Stamp>,
    /// Stamps that failed to load (logged once).
    failed: Option<Vec<Stamp>>,
}

/// A server's TLS: the mode and the current rustls configuration, reloaded when its files change.
pub struct ServerTls {
    settings: ServerTlsSettings,
    loaded: Mutex<Loaded>,
}

impl fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerTls")
            .field("mode", &self.settings.mode)
            .field("cert_path", &self.settings.cert_path)
            .finish_non_exhaustive()
    }
}

/// The ring provider: small and portable (no C toolchain beyond a compiler, builds for every
/// binding's target). rustls 0.23.48 deprecates it for lacking post-quantum key exchange, which
/// the aws-lc-rs provider has; moving to it is a build-cost decision for later.
#[allow(deprecated)]
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl ServerTls {
    /// Loads the certificate and key. `None` when the listeners serve plaintext only:
    /// `disabled`, or `permissive` without `tls.server.certPath` (FerroMQ's default: Apache
    /// generates a throw-away self-signed certificate then, which no client can verify).
    /// `enforcing` without a certificate, a file that does not load, an encrypted key, or client
    /// authentication without `tls.server.trustCertPath` are errors.
    pub fn new(settings: ServerTlsSettings) -> Result<Option<Arc<ServerTls>>, TlsError> {
        let has_cert = settings.cert_path.is_some() || settings.key_path.is_some();
        match settings.mode {
            TlsMode::Disabled => return Ok(None),
            TlsMode::Permissive if !has_cert => return Ok(None),
            _ => {}
        }
        if settings.cert_path.is_none() || settings.key_path.is_none() {
            return Err(TlsError::new(format!(
                "tls.server.mode={} needs both tls.server.certPath and tls.server.keyPath",
                settings.mode.name()
            )));
        }
        let stamps = Self::stamps_of(&settings);
        let config = build_server_config(&settings)?;
        Ok(Some(Arc::new(ServerTls {
            settings,
            loaded: Mutex::new(Loaded {
                config,
                stamps,
                failed: None,
            }),
        })))
    }

    /// The mode.
    pub fn mode(&self) -> TlsMode {
        self.settings.mode
    }

    /// Accepts one connection as the mode says: waits up to `first_byte` for the client's first
    /// byte, tells TLS (`0x16`) from plaintext, refuses plaintext when enforcing, and completes
    /// the TLS handshake within `handshake`. The remoting ports and the broker's HA port both
    /// accept through this.
    pub async fn accept(
        &self,
        stream: TcpStream,
        first_byte: std::time::Duration,
        handshake: std::time::Duration,
    ) -> Result<Accepted, Refused> {
        let mut first = [0u8; 1];
        match tokio::time::timeout(first_byte, stream.peek(&mut first)).await {
            Ok(Ok(1)) => {}
            _ => return Err(Refused::Silent),
        }
        if first[0] != TLS_HANDSHAKE_BYTE {
            if self.mode() == TlsMode::Enforcing {
                return Err(Refused::Plaintext);
            }
            return Ok(Accepted::Plain(stream));
        }
        let _ = stream.set_nodelay(true);
        let acceptor = tokio_rustls::TlsAcceptor::from(self.config());
        match tokio::time::timeout(handshake, acceptor.accept(stream)).await {
            Ok(Ok(s)) => Ok(Accepted::Tls(Box::new(s))),
            Ok(Err(e)) => Err(Refused::Handshake(format!("TLS handshake failed: {e}"))),
            Err(_) => Err(Refused::Handshake("TLS handshake timed out".to_owned())),
        }
    }

    fn stamps_of(settings: &ServerTlsSettings) -> Vec<Stamp> {
        [
            &settings.cert_path,
            &settings.key_path,
            &settings.trust_cert_path,
        ]
        .into_iter()
        .map(|p| p.as_deref().and_then(stamp))
        .collect()
    }

    /// The configuration for a new connection: reloaded first if a file changed.
    pub(crate) fn config(&self) -> Arc<rustls::ServerConfig> {
        let stamps = Self::stamps_of(&self.settings);
        let mut loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        if loaded.stamps == stamps || loaded.failed.as_ref() == Some(&stamps) {
            return loaded.config.clone();
        }
        match build_server_config(&self.settings) {
            Ok(config) => {
                tracing::info!(
                    cert = ?self.settings.cert_path,
                    "TLS certificate files changed: reloaded, new connections use them"
                );
                loaded.config = config;
                loaded.stamps = stamps;
                loaded.failed = None;
            }
            Err(e) => {
                tracing::warn!(
                    error = %e,
                    "TLS certificate files changed but do not load; still using the previous ones"
                );
                loaded.failed = Some(stamps);
            }
        }
        loaded.config.clone()
    }
}

fn read_certs(path: &Path, key: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| TlsError::new(format!("{key} {}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(TlsError::new(format!(
            "{key} {}: no PEM certificate in the file",
            path.display()
        )));
    }
    Ok(certs)
}

fn read_key(
    path: &Path,
    key: &str,
    password: Option<&str>,
) -> Result<PrivateKeyDer<'static>, TlsError> {
    let text =
        std::fs::read(path).map_err(|e| TlsError::new(format!("{key} {}: {e}", path.display())))?;
    let encrypted = text.windows(9).any(|w| w == b"ENCRYPTED");
    if encrypted {
        return Err(TlsError::new(format!(
            "{key} {}: encrypted private keys are not supported; decrypt it (openssl pkcs8 \
             -in key.pem -out key-plain.pem) and protect the file's permissions instead",
            path.display()
        )));
    }
    if password.is_some_and(|p| !p.is_empty()) {
        tracing::warn!(file = %path.display(), "{key}: the key is not encrypted; its password is ignored");
    }
    PrivateKeyDer::from_pem_slice(&text).map_err(|e| {
        TlsError::new(format!(
            "{key} {}: no PEM private key (PKCS#8, RSA or EC) in the file: {e}",
            path.display()
        ))
    })
}

fn read_roots(path: &Path, key: &str) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in read_certs(path, key)? {
        roots
            .add(cert)
            .map_err(|e| TlsError::new(format!("{key} {}: {e}", path.display())))?;
    }
    Ok(roots)
}

fn build_server_config(s: &ServerTlsSettings) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let (Some(cert_path), Some(key_path)) = (&s.cert_path, &s.key_path) else {
        return Err(TlsError::new(
            "tls.server.certPath and tls.server.keyPath are both needed",
        ));
    };
    let certs = read_certs(cert_path, "tls.server.certPath")?;
    let key = read_key(key_path, "tls.server.keyPath", s.key_password.as_deref())?;
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::new(e.to_string()))?;
    let builder = match s.client_auth {
        ClientAuth::None => builder.with_no_client_auth(),
        auth => {
            let Some(trust) = &s.trust_cert_path else {
                return Err(TlsError::new(
                    "tls.server.need.client.auth needs tls.server.trustCertPath (the CAs client \
                     certificates are checked against)",
                ));
            };
            let roots = read_roots(trust, "tls.server.trustCertPath")?;
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider());
            let verifier = if auth == ClientAuth::Optional {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            let verifier = verifier
                .build()
                .map_err(|e| TlsError::new(format!("tls.server.trustCertPath: {e}")))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let config = builder.with_single_cert(certs, key).map_err(|e| {
        TlsError::new(format!(
            "tls.server.certPath / tls.server.keyPath: {e} (does the key belong to the certificate?)"
        ))
    })?;
    Ok(Arc::new(config))
}

/// Which servers a client trusts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ServerTrust {
    /// The operating system's trusted roots.
    #[default]
    System,
    /// The CAs in this PEM file.
    CaFile(PathBuf),
    /// Any certificate, unverified: encryption without authentication, open to an active
    /// man in the middle. Apache's Java client does this by default (`tls.test.mode.enable`).
    Any,
}

/// The TLS settings of a client connection.
#[derive(Debug, Clone, Default)]
pub struct ClientTlsSettings {
    /// Which servers are trusted.
    pub trust: ServerTrust,
    /// Whether the server's certificate must name the host dialed (or [`Self::server_name`]).
    /// Off, only its chain is checked (what Apache's Java client does with
    /// `tls.client.authServer=true`); brokers are dialed by the IP they register, which
    /// certificates often do not carry.
    pub verify_hostname: bool,
    /// The name certificates are checked against instead of the dialed host (one name for a
    /// whole cluster, `mq.example.com`). Also sent as SNI.
    pub server_name: Option<String>,
    /// A client certificate chain (PEM) for servers that ask for one (mTLS).
    pub cert_path: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    pub key_path: Option<PathBuf>,
}

/// A client's TLS: what [`crate::ConnectionConfig::tls`] holds. Cheap to clone.
#[derive(Clone)]
pub struct TlsConnector {
    config: Arc<rustls::ClientConfig>,
    server_name: Option<ServerName<'static>>,
}

impl fmt::Debug for TlsConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConnector")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

impl TlsConnector {
    /// Loads the trusted roots and the client certificate.
    pub fn new(s: &ClientTlsSettings) -> Result<TlsConnector, TlsError> {
        let builder = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::new(e.to_string()))?;
        let verifier: Arc<dyn ServerCertVerifier> = match &s.trust {
            ServerTrust::Any => Arc::new(AnyServer(provider())),
            trust => {
                let roots = match trust {
                    ServerTrust::CaFile(path) => read_roots(path, "CA file")?,
                    _ => system_roots()?,
                };
                let webpki =
                    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
                        .build()
                        .map_err(|e| TlsError::new(format!("trusted roots: {e}")))?;
                if s.verify_hostname {
                    webpki
                } else {
                    Arc::new(ChainOnly(webpki))
                }
            }
        };
        let builder = builder
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let config = match (&s.cert_path, &s.key_path) {
            (Some(cert), Some(key)) => builder
                .with_client_auth_cert(
                    read_certs(cert, "client certificate")?,
                    read_key(key, "client key", None)?,
                )
                .map_err(|e| TlsError::new(format!("client certificate and key: {e}")))?,
            (None, None) => builder.with_no_client_auth(),
            _ => {
                return Err(TlsError::new(
                    "a client certificate needs both its certificate and its key",
                ))
            }
        };
        let server_name = match &s.server_name {
            Some(name) => Some(
                ServerName::try_from(name.clone())
                    .map_err(|e| TlsError::new(format!("server name {name:?}: {e}")))?,
            ),
            None => None,
        };
        Ok(TlsConnector {
            config: Arc::new(config),
            server_name,
        })
    }

    /// Performs the client handshake on `stream`, dialed at `addr` (`host:port`).
    pub async fn connect(
        &self,
        addr: &str,
        stream: TcpStream,
    ) -> io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
        let name = match &self.server_name {
            Some(n) => n.clone(),
            None => host_name(addr)?,
        };
        tokio_rustls::TlsConnector::from(self.config.clone())
            .connect(name, stream)
            .await
    }
}

/// The host of `host:port` (IPv6 in brackets) as a TLS server name.
fn host_name(addr: &str) -> io::Result<ServerName<'static>> {
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(host.to_owned()).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{addr}: not a TLS server name: {e}"),
        )
    })
}

fn system_roots() -> Result<RootCertStore, TlsError> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        let errors: Vec<String> = found.errors.iter().map(|e| e.to_string()).collect();
        return Err(TlsError::new(format!(
            "no trusted roots found on this system ({}); give a CA file",
            errors.join("; ")
        )));
    }
    Ok(roots)
}

/// Checks the chain, not the name.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// Trusts any certificate (signatures still checked, so the key exchange is with the holder of
/// the presented certificate's key).
#[derive(Debug)]
struct AnyServer(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyServer {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_and_client_auth_parse_as_apache_writes_them() {
        assert_eq!(TlsMode::parse(" Enforcing "), Some(TlsMode::Enforcing));
        assert_eq!(TlsMode::parse("permissive"), Some(TlsMode::Permissive));
        assert_eq!(TlsMode::parse("DISABLED"), Some(TlsMode::Disabled));
        assert_eq!(TlsMode::parse("strict"), None);
        assert_eq!(ClientAuth::parse("REQUIRE"), Some(ClientAuth::Require));
        assert_eq!(ClientAuth::parse(""), Some(ClientAuth::None));
        assert_eq!(ClientAuth::parse("maybe"), None);
    }

    #[test]
    fn host_names_come_from_addresses() {
        assert!(host_name("10.0.0.1:10911").is_ok());
        assert!(host_name("[::1]:9876").is_ok());
        assert!(host_name("broker-a.example.com:10911").is_ok());
    }

    #[test]
    fn permissive_without_a_certificate_is_plaintext_and_enforcing_is_refused() {
        let none = ServerTls::new(ServerTlsSettings::default()).expect("plaintext");
        assert!(none.is_none());
        let err = ServerTls::new(ServerTlsSettings {
            mode: TlsMode::Enforcing,
            ..ServerTlsSettings::default()
        })
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(err.contains("tls.server.certPath"), "{err}");
    }
}
