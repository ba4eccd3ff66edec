//! TLS on the HA port (docs/tls.md, "The HA port"): the port follows `tls.server.mode` as the
//! remoting ports do and a slave with `tls.enable=true` dials its master with TLS. A pair with
//! both enforcing replicates; a plaintext slave is refused by an enforcing master; a permissive
//! master still replicates to a plaintext slave (Apache's slaves speak plaintext). Certificates
//! are made at test time by `rcgen`.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferromq_broker::config::BrokerRole;
use ferromq_broker::Settings;
use ferromq_protocol::body::KVTable;
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use ferromq_remoting::{
    ClientTlsSettings, Connection, ConnectionConfig, IgnoreRequests, ServerTrust, TlsConnector,
};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

mod support;
use support::*;

const WAIT: Duration = Duration::from_secs(30);

/// A CA and a certificate for 127.0.0.1 signed by it, as PEM files (in the returned dir).
#[derive(Clone)]
struct Pki {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

fn pki() -> (Pki, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, "ha-ca");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
    let params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    let path = |n: &str| dir.path().join(n);
    std::fs::write(path("ca.pem"), issuer.pem()).unwrap();
    std::fs::write(path("broker.pem"), cert.pem()).unwrap();
    std::fs::write(path("broker.key"), key.serialize_pem()).unwrap();
    let pki = Pki {
        ca: path("ca.pem"),
        cert: path("broker.pem"),
        key: path("broker.key"),
    };
    (pki, dir)
}

fn text(p: &Path) -> String {
    p.display().to_string()
}

/// The broker's server TLS in `mode`; with `client`, its own connections use TLS too.
fn tls(s: &mut Settings, pki: &Pki, mode: &str, client: bool) {
    let b = &mut s.broker;
    b.tls_config_file = String::new();
    b.tls_server_mode = mode.to_owned();
    b.tls_server_cert_path = text(&pki.cert);
    b.tls_server_key_path = text(&pki.key);
    b.tls_enable = client;
    b.tls_client_trust_cert_path = text(&pki.ca);
}

async fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

async fn master(pki: &Pki, mode: &'static str, ha_port: u16) -> TestBroker {
    let pki = pki.clone();
    TestBroker::start(move |s: &mut Settings| {
        tls(s, &pki, mode, false);
        s.broker.broker_role = BrokerRole::AsyncMaster;
        s.broker.ha_listen_port = ha_port;
        s.broker.broker_ip2 = "127.0.0.1".to_owned();
        s.broker.ha_send_heartbeat_interval = 200;
    })
    .await
}

async fn slave(pki: &Pki, ha_port: u16, tls_enable: bool) -> TestBroker {
    let pki = pki.clone();
    TestBroker::start(move |s: &mut Settings| {
        tls(s, &pki, "permissive", tls_enable);
        s.broker.broker_role = BrokerRole::Slave;
        s.broker.broker_id = 1;
        s.broker.ha_master_address = format!("127.0.0.1:{ha_port}");
        s.broker.ha_send_heartbeat_interval = 200;
    })
    .await
}

/// A TLS connection to `addr`, trusting the test CA.
async fn tls_client(addr: &str, pki: &Pki) -> Connection {
    let connector = TlsConnector::new(&ClientTlsSettings {
        trust: ServerTrust::CaFile(pki.ca.clone()),
        verify_hostname: true,
        server_name: None,
        cert_path: None,
        key_path: None,
    })
    .unwrap();
    let config = ConnectionConfig {
        tls: Some(connector),
        ..ConnectionConfig::default()
    };
    Connection::connect(addr, Arc::new(IgnoreRequests), config)
        .await
        .unwrap()
}

async fn max_offset(c: &Connection) -> u64 {
    let r = c
        .request(
            RemotingCommand::request(RequestCode::GET_BROKER_RUNTIME_INFO),
            T,
        )
        .await
        .unwrap();
    KVTable::decode(&r.body).unwrap().table["commitLogMaxOffset"]
        .parse()
        .unwrap()
}

/// Sends `n` messages to the master and waits until the slave's commitlog ends where the
/// master's does.
async fn replicates(m: &Connection, s: &Connection, n: usize) {
    let r = m
        .request(create_topic_request("HaTls", 1), T)
        .await
        .unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{r:?}");
    for i in 0..n {
        let r = m
            .request(
                send_request("HaTls", 0, format!("m{i}").as_bytes(), "T", "k"),
                T,
            )
            .await
            .unwrap();
        assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{r:?}");
    }
    let end = max_offset(m).await;
    assert!(end > 0);
    let deadline = Instant::now() + WAIT;
    loop {
        let at = max_offset(s).await;
        if at == end {
            return;
        }
        assert!(Instant::now() < deadline, "slave at {at}, master at {end}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enforcing_pair_replicates_over_tls() {
    let (pki, _dir) = pki();
    let ha = free_port().await;
    let m = master(&pki, "enforcing", ha).await;
    let s = slave(&pki, ha, true).await;
    let (mc, sc) = (
        tls_client(&m.addr, &pki).await,
        tls_client(&s.addr, &pki).await,
    );
    replicates(&mc, &sc, 20).await;

    // Plaintext on the enforcing HA port: a slave's first report is closed unanswered.
    let mut raw = TcpStream::connect(("127.0.0.1", ha)).await.unwrap();
    raw.write_all(&0i64.to_be_bytes()).await.unwrap();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(WAIT, raw.read(&mut buf))
        .await
        .expect("the master closes a plaintext HA connection")
        .unwrap_or(0);
    assert_eq!(
        n, 0,
        "a plaintext slave got {n} bytes from an enforcing master"
    );

    // The TLS slave is still served (the refusal cost it nothing).
    replicates(&mc, &sc, 5).await;
    s.stop().await;
    m.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plaintext_slave_is_refused_by_an_enforcing_master() {
    let (pki, _dir) = pki();
    let ha = free_port().await;
    let m = master(&pki, "enforcing", ha).await;
    // The TLS slave replicates; the plaintext one, started first, never gets a byte.
    let plain = slave(&pki, ha, false).await;
    let tls_slave = slave(&pki, ha, true).await;
    let mc = tls_client(&m.addr, &pki).await;
    let (pc, tc) = (
        tls_client(&plain.addr, &pki).await,
        tls_client(&tls_slave.addr, &pki).await,
    );
    replicates(&mc, &tc, 10).await;
    assert_eq!(max_offset(&pc).await, 0, "the plaintext slave replicated");
    tls_slave.stop().await;
    plain.stop().await;
    m.stop().await;
}

/// Apache's HA has no TLS: a permissive master keeps serving plaintext slaves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permissive_master_serves_plaintext_slaves() {
    let (pki, _dir) = pki();
    let ha = free_port().await;
    let m = master(&pki, "permissive", ha).await;
    let s = slave(&pki, ha, false).await;
    replicates(&m.client().await, &s.client().await, 10).await;
    s.stop().await;
    m.stop().await;
}
