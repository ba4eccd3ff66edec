//! Apache's TLS keys (`TlsSystemConfig`) turned into [`ServerTlsSettings`] and
//! [`ClientTlsSettings`].
//!
//! Apache reads them from JVM system properties, then lets the file named by `tls.config.file`
//! (default `/etc/rocketmq/tls.properties`, read when it exists) override them. FerroMQ's
//! servers have no system properties: the keys go in the server's config file, and
//! `tls.config.file` overrides them the same way.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::tls::{
    ClientAuth, ClientTlsSettings, ServerTlsSettings, ServerTrust, TlsError, TlsMode,
};

/// `tls.config.file`'s default, Apache's.
pub const DEFAULT_TLS_CONFIG_FILE: &str = "/etc/rocketmq/tls.properties";

/// Apache's TLS keys and their values, as a server resolves them.
#[derive(Debug, Clone, Default)]
pub struct TlsKeys(HashMap<String, String>);

impl TlsKeys {
    /// The `tls.*` keys among a config's `pairs`, overridden by those of `tls.config.file` when
    /// that file exists (the key itself among the pairs, else Apache's default path).
    pub fn resolve<'a>(
        pairs: impl IntoIterator<Item = (&'a str, String)>,
    ) -> Result<TlsKeys, TlsError> {
        let mut keys: HashMap<String, String> = pairs
            .into_iter()
            .filter(|(k, _)| k.starts_with("tls."))
            .map(|(k, v)| (k.to_owned(), v.trim().to_owned()))
            .collect();
        let file = match keys.get("tls.config.file").map(String::as_str) {
            Some("") | None => PathBuf::from(DEFAULT_TLS_CONFIG_FILE),
            Some(path) => PathBuf::from(path),
        };
        if file.is_file() {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| TlsError::new(format!("tls.config.file {}: {e}", file.display())))?;
            for (k, v) in ferromq_common::java_properties::parse(&text) {
                let k = k.trim();
                if k.starts_with("tls.") && k != "tls.config.file" {
                    keys.insert(k.to_owned(), v.trim().to_owned());
                }
            }
            tracing::info!(file = %file.display(), "TLS settings read from tls.config.file");
        }
        Ok(TlsKeys(keys))
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn path(&self, key: &str) -> Option<PathBuf> {
        self.get(key).map(PathBuf::from)
    }

    fn flag(&self, key: &str, default: bool) -> Result<bool, TlsError> {
        match self.get(key).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(v) => Err(TlsError::new(format!(
                "invalid value {v:?} for `{key}`: expected true or false"
            ))),
        }
    }

    /// The listeners' settings: `tls.server.mode` (permissive), `tls.server.certPath`,
    /// `tls.server.keyPath`, `tls.server.keyPassword`, `tls.server.trustCertPath`,
    /// `tls.server.need.client.auth` (none).
    pub fn server(&self) -> Result<ServerTlsSettings, TlsError> {
        let mode = match self.get("tls.server.mode") {
            None => TlsMode::Permissive,
            Some(v) => TlsMode::parse(v).ok_or_else(|| {
                TlsError::new(format!(
                    "invalid value {v:?} for `tls.server.mode`: expected disabled, permissive or enforcing"
                ))
            })?,
        };
        let client_auth = match self.get("tls.server.need.client.auth") {
            None => ClientAuth::None,
            Some(v) => ClientAuth::parse(v).ok_or_else(|| {
                TlsError::new(format!(
                    "invalid value {v:?} for `tls.server.need.client.auth`: expected none, optional or require"
                ))
            })?,
        };
        Ok(ServerTlsSettings {
            mode,
            cert_path: self.path("tls.server.certPath"),
            key_path: self.path("tls.server.keyPath"),
            key_password: self.get("tls.server.keyPassword").map(str::to_owned),
            trust_cert_path: self.path("tls.server.trustCertPath"),
            client_auth,
        })
    }

    /// The settings of connections the server dials (a broker to its name servers and master),
    /// `None` unless `tls.enable=true`. Trust: any server when `tls.test.mode.enable=true` or
    /// `tls.client.authServer=false`; else the CAs of `tls.client.trustCertPath`, or the system's
    /// when it is not set. Certificates are checked for their chain, not their name (brokers
    /// and name servers are dialed by IP), as Apache's client does. FerroMQ's defaults of both
    /// switches are the secure ones (Apache's default trusts any server).
    pub fn client(&self) -> Result<Option<ClientTlsSettings>, TlsError> {
        if !self.flag("tls.enable", false)? {
            return Ok(None);
        }
        if self.get("tls.client.keyPassword").is_some() {
            tracing::warn!("tls.client.keyPassword: encrypted keys are not supported; ignored");
        }
        let insecure = self.flag("tls.test.mode.enable", false)?
            || !self.flag("tls.client.authServer", true)?;
        let trust = if insecure {
            ServerTrust::Any
        } else {
            match self.path("tls.client.trustCertPath") {
                Some(p) => ServerTrust::CaFile(p),
                None => ServerTrust::System,
            }
        };
        Ok(Some(ClientTlsSettings {
            trust,
            verify_hostname: false,
            server_name: None,
            cert_path: self.path("tls.client.certPath"),
            key_path: self.path("tls.client.keyPath"),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tls_config_file_overrides_the_server_config() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("tls.properties");
        std::fs::write(
            &file,
            "tls.server.certPath = /etc/tls/b.pem\ntls.server.need.client.auth=REQUIRE\n\
             tls.enable=true\ntls.client.trustCertPath=/etc/tls/ca.pem\nlistenPort=1\n",
        )
        .expect("write");
        let file_key = file.display().to_string();
        let pairs = [
            ("listenPort", "10911".to_owned()),
            ("tls.server.mode", "enforcing".to_owned()),
            ("tls.server.certPath", "/etc/tls/a.pem".to_owned()),
            ("tls.server.keyPath", "/etc/tls/a.key".to_owned()),
            ("tls.config.file", file_key),
        ];
        let keys = TlsKeys::resolve(pairs).expect("resolve");
        let server = keys.server().expect("server");
        assert_eq!(server.mode, TlsMode::Enforcing);
        assert_eq!(server.cert_path, Some(PathBuf::from("/etc/tls/b.pem")));
        assert_eq!(server.key_path, Some(PathBuf::from("/etc/tls/a.key")));
        assert_eq!(server.client_auth, ClientAuth::Require);
        let client = keys.client().expect("client").expect("tls.enable");
        assert_eq!(
            client.trust,
            ServerTrust::CaFile(PathBuf::from("/etc/tls/ca.pem"))
        );
        assert!(!client.verify_hostname);
    }

    #[test]
    fn defaults_are_permissive_plaintext_clients_and_bad_values_name_their_key() {
        let missing = [("tls.config.file", "/nonexistent/tls.properties".to_owned())];
        let keys = TlsKeys::resolve(missing.clone()).expect("resolve");
        let server = keys.server().expect("server");
        assert_eq!(
            (server.mode, server.client_auth, server.cert_path),
            (TlsMode::Permissive, ClientAuth::None, None)
        );
        assert!(keys.client().expect("client").is_none());
        let bad = TlsKeys::resolve([("tls.server.mode", "strict".to_owned()), missing[0].clone()])
            .expect("resolve");
        let err = bad
            .server()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("tls.server.mode"), "{err}");
        let test_mode = TlsKeys::resolve([
            ("tls.enable", "true".to_owned()),
            ("tls.test.mode.enable", "true".to_owned()),
            missing[0].clone(),
        ])
        .expect("resolve");
        let client = test_mode.client().expect("client").expect("enabled");
        assert_eq!(client.trust, ServerTrust::Any);
    }
}
