//! A throw-away certificate authority and a server certificate for `localhost` and
//! `127.0.0.1`, as PEM files in a temporary directory, for TLS tests.

use std::path::PathBuf;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

/// The files of [`Pki::new`]; the directory goes when this is dropped.
#[derive(Debug)]
pub struct Pki {
    /// The CA certificate (what clients trust).
    pub ca: PathBuf,
    /// The server certificate, signed by the CA.
    pub cert: PathBuf,
    /// The server certificate's private key (PKCS#8).
    pub key: PathBuf,
    _dir: tempfile::TempDir,
}

impl Pki {
    /// A fresh CA named `name` and a server certificate it signed.
    pub fn new(name: &str) -> Pki {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.distinguished_name.push(DnType::CommonName, name);
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("CA key"))
            .expect("CA");
        let mut params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                .expect("server params");
        params.distinguished_name.push(DnType::CommonName, "server");
        let key = KeyPair::generate().expect("server key");
        let cert = params.signed_by(&key, &ca).expect("sign");
        let pki = Pki {
            ca: dir.path().join("ca.pem"),
            cert: dir.path().join("server.pem"),
            key: dir.path().join("server.key"),
            _dir: dir,
        };
        std::fs::write(&pki.ca, ca.pem()).expect("write the CA");
        std::fs::write(&pki.cert, cert.pem()).expect("write the certificate");
        std::fs::write(&pki.key, key.serialize_pem()).expect("write the key");
        pki
    }
}
