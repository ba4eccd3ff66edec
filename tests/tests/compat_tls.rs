//! Issue 16, TLS: the official Java client (5.3.3) with `tls.enable=true` sends and consumes
//! through FerroMQ's name server and broker in enforcing mode (plaintext refused), verifying
//! their certificate against a CA (`tls.client.trustCertPath`, test mode off) and, separately,
//! in Apache's default test mode (any certificate trusted). Certificates are generated here
//! with `rcgen`. In permissive mode, Java clients with and without TLS share the servers.
//!
//! Needs `java` (17) and `mvn` on PATH; prints `SKIPPED: ...` and passes otherwise (set
//! `FERROMQ_COMPAT_REQUIRED=1` to fail instead).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ferromq_protocol::{RemotingCommand, RequestCode};
use ferromq_remoting::{
    ClientTlsSettings, Connection, ConnectionConfig, IgnoreRequests, ServerTrust, TlsConnector,
};
use ferromq_tests::clients::java_produce_consume_with;
use ferromq_tests::{require_tools, FerroBroker, FerroNamesrv};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

/// A CA and a server certificate (localhost, 127.0.0.1) in a temp dir: (dir, ca, cert, key).
fn pki() -> (tempfile::TempDir, PathBuf, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "compat-ca");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca =
        CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("key")).expect("CA");
    let mut params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .expect("params");
    params.distinguished_name.push(DnType::CommonName, "server");
    let key = KeyPair::generate().expect("key");
    let cert = params.signed_by(&key, &ca).expect("sign");
    let paths = (
        dir.path().join("ca.pem"),
        dir.path().join("server.pem"),
        dir.path().join("server.key"),
    );
    std::fs::write(&paths.0, ca.pem()).expect("write");
    std::fs::write(&paths.1, cert.pem()).expect("write");
    std::fs::write(&paths.2, key.serialize_pem()).expect("write");
    (dir, paths.0, paths.1, paths.2)
}

fn text(p: &Path) -> String {
    p.display().to_string()
}

/// Asks the name server over TLS (trusting `ca`) for the cluster info; the plaintext answer
/// when `ca` is `None`.
fn cluster_info(namesrv: &str, ca: Option<&Path>) -> Result<String, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let tls = match ca {
            Some(ca) => Some(
                TlsConnector::new(&ClientTlsSettings {
                    trust: ServerTrust::CaFile(ca.to_owned()),
                    verify_hostname: true,
                    ..ClientTlsSettings::default()
                })
                .map_err(|e| e.to_string())?,
            ),
            None => None,
        };
        let config = ConnectionConfig {
            tls,
            ..ConnectionConfig::default()
        };
        let conn = Connection::connect(namesrv, Arc::new(IgnoreRequests), config)
            .await
            .map_err(|e| e.to_string())?;
        let request = RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_INFO);
        let answer = conn.request(request, Duration::from_secs(5)).await;
        conn.close();
        answer
            .map(|r| String::from_utf8_lossy(&r.body).into_owned())
            .map_err(|e| e.to_string())
    })
}

#[test]
fn java_client_with_tls_enabled_round_trips_through_enforcing_servers() {
    if !require_tools("compat_tls", &["java", "mvn"]) {
        return;
    }
    let (_dir, ca, cert, key) = pki();
    let namesrv = FerroNamesrv::start_with(|c| {
        c.tls_server_mode = "enforcing".to_owned();
        c.tls_server_cert_path = text(&cert);
        c.tls_server_key_path = text(&key);
        c.tls_config_file = String::new();
    });
    let broker = FerroBroker::start(namesrv.addr(), |s| {
        let b = &mut s.broker;
        b.tls_server_mode = "enforcing".to_owned();
        b.tls_server_cert_path = text(&cert);
        b.tls_server_key_path = text(&key);
        b.tls_config_file = String::new();
        b.tls_enable = true;
        b.tls_client_trust_cert_path = text(&ca);
    });
    ferromq_tests::net::wait_until(
        "broker registration over TLS",
        Duration::from_secs(30),
        || Ok(cluster_info(namesrv.addr(), Some(&ca))?.contains(broker.addr())),
    )
    .expect("the broker registers with the name server over TLS");
    assert!(
        cluster_info(namesrv.addr(), None).is_err(),
        "the enforcing name server refuses plaintext"
    );

    // Apache's client verifying the servers against the CA.
    let verified = [
        "-Dtls.enable=true".to_owned(),
        "-Dtls.test.mode.enable=false".to_owned(),
        "-Dtls.client.authServer=true".to_owned(),
        format!("-Dtls.client.trustCertPath={}", ca.display()),
    ];
    java_produce_consume_with(namesrv.addr(), "CompatTlsVerified", 8, &verified).assert_success();
    // Apache's defaults with TLS on: test mode, any certificate trusted.
    java_produce_consume_with(
        namesrv.addr(),
        "CompatTlsTestMode",
        8,
        &["-Dtls.enable=true".to_owned()],
    )
    .assert_success();
}

#[test]
fn java_clients_with_and_without_tls_share_permissive_servers() {
    if !require_tools("compat_tls", &["java", "mvn"]) {
        return;
    }
    let (_dir, ca, cert, key) = pki();
    let namesrv = FerroNamesrv::start_with(|c| {
        c.tls_server_mode = "permissive".to_owned();
        c.tls_server_cert_path = text(&cert);
        c.tls_server_key_path = text(&key);
        c.tls_config_file = String::new();
    });
    let broker = FerroBroker::start(namesrv.addr(), |s| {
        let b = &mut s.broker;
        b.tls_server_mode = "permissive".to_owned();
        b.tls_server_cert_path = text(&cert);
        b.tls_server_key_path = text(&key);
        b.tls_config_file = String::new();
    });
    ferromq_tests::net::wait_until("broker registration", Duration::from_secs(30), || {
        Ok(cluster_info(namesrv.addr(), None)?.contains(broker.addr()))
    })
    .expect("the broker registers with the name server");
    assert!(
        cluster_info(namesrv.addr(), Some(&ca))
            .expect("TLS answer")
            .contains(broker.addr()),
        "the permissive name server answers over TLS too"
    );
    java_produce_consume_with(
        namesrv.addr(),
        "CompatTlsPermissive",
        8,
        &["-Dtls.enable=true".to_owned()],
    )
    .assert_success();
    java_produce_consume_with(namesrv.addr(), "CompatPlainPermissive", 8, &[]).assert_success();
}
