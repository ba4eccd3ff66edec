//! TLS on the remoting ports (docs/tls.md): real name servers and brokers in
//! enforcing and permissive modes, mTLS, certificate reload, and our client over TLS. Every
//! certificate is generated here, at test time, by `rcgen`.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use common::{unique, wait_for};
use ferromq_broker::Settings;
use ferromq_client::{
    Admin, ClientConfig, ConsumeFrom, FilterExpression, Message, Producer, ProducerOptions,
    PullConsumer, PullConsumerOptions, SendStatus, TlsConfig, TopicOptions,
};
use ferromq_namesrv::NamesrvConfig;
use ferromq_protocol::{RemotingCommand, RequestCode};
use ferromq_remoting::{
    ClientTlsSettings, Connection, ConnectionConfig, IgnoreRequests, RemotingError, ServerTrust,
    TlsConnector,
};
use ferromq_tests::{FerroBroker, FerroNamesrv};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};

const WAIT: Duration = Duration::from_secs(30);

/// A test CA writing PEM files into a temp dir.
struct Pki {
    dir: tempfile::TempDir,
}

/// One certificate authority.
struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
    /// Its certificate, PEM.
    path: PathBuf,
}

/// A certificate and its key, PEM files.
#[derive(Clone)]
struct Issued {
    cert: PathBuf,
    key: PathBuf,
}

impl Pki {
    fn new() -> Pki {
        Pki {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn ca(&self, name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().expect("key");
        let issuer = CertifiedIssuer::self_signed(params, key).expect("CA");
        let path = self.path(&format!("{name}.pem"));
        write_atomically(&path, &issuer.pem());
        Ca { issuer, path }
    }

    /// A certificate for `localhost` and 127.0.0.1 signed by `ca`, written as `<name>.pem` and
    /// `<name>.key` (replacing files of that name atomically).
    fn issue(&self, ca: &Ca, name: &str) -> Issued {
        let mut params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                .expect("params");
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &ca.issuer).expect("sign");
        let issued = Issued {
            cert: self.path(&format!("{name}.pem")),
            key: self.path(&format!("{name}.key")),
        };
        write_atomically(&issued.key, &key.serialize_pem());
        write_atomically(&issued.cert, &cert.pem());
        issued
    }
}

fn write_atomically(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).expect("write");
    std::fs::rename(&tmp, path).expect("rename");
}

fn text(p: &Path) -> String {
    p.display().to_string()
}

/// Server TLS keys for a name server.
fn namesrv_tls(c: &mut NamesrvConfig, mode: &str, server: &Issued) {
    c.tls_server_mode = mode.to_owned();
    c.tls_server_cert_path = text(&server.cert);
    c.tls_server_key_path = text(&server.key);
    c.tls_config_file = String::new();
}

/// Server TLS keys for a broker.
fn broker_tls(s: &mut Settings, mode: &str, server: &Issued) {
    let b = &mut s.broker;
    b.tls_server_mode = mode.to_owned();
    b.tls_server_cert_path = text(&server.cert);
    b.tls_server_key_path = text(&server.key);
    b.tls_config_file = String::new();
}

async fn start_namesrv(tweak: impl FnOnce(&mut NamesrvConfig) + Send + 'static) -> FerroNamesrv {
    tokio::task::spawn_blocking(move || FerroNamesrv::start_with(tweak))
        .await
        .expect("name server starts")
}

async fn start_broker(
    namesrv: &str,
    tweak: impl FnOnce(&mut Settings) + Send + 'static,
) -> FerroBroker {
    let namesrv = namesrv.to_owned();
    tokio::task::spawn_blocking(move || FerroBroker::start(&namesrv, tweak))
        .await
        .expect("broker starts")
}

async fn stop<T: Send + 'static>(servers: T) {
    tokio::task::spawn_blocking(move || drop(servers))
        .await
        .expect("servers stop");
}

/// One request over a fresh connection: `Ok` once the server answered (whatever the code).
async fn ping(addr: &str, tls: Option<ClientTlsSettings>) -> Result<(), RemotingError> {
    let tls = tls.map(|t| TlsConnector::new(&t).expect("client TLS"));
    let config = ConnectionConfig {
        tls,
        ..ConnectionConfig::default()
    };
    let conn = Connection::connect(addr, Arc::new(IgnoreRequests), config).await?;
    let request = RemotingCommand::request(RequestCode::GET_BROKER_RUNTIME_INFO);
    let answered = conn
        .request(request, Duration::from_secs(5))
        .await
        .map(|_| ());
    conn.close();
    answered
}

fn trusting(ca: &Path) -> ClientTlsSettings {
    ClientTlsSettings {
        trust: ServerTrust::CaFile(ca.to_owned()),
        verify_hostname: true,
        ..ClientTlsSettings::default()
    }
}

fn client(namesrv: &str, tls: Option<TlsConfig>) -> ClientConfig {
    ClientConfig {
        namesrv_addr: namesrv.to_owned(),
        instance_name: unique("tls"),
        tls,
        ..ClientConfig::default()
    }
}

fn tls_trusting(ca: &Path) -> TlsConfig {
    TlsConfig {
        ca_file: Some(ca.to_owned()),
        ..TlsConfig::default()
    }
}

async fn create_topic(config: &ClientConfig, broker: &str, topic: &str) {
    let admin = Admin::new(config).expect("admin");
    wait_for("broker registration", WAIT, || async {
        admin
            .cluster_info()
            .await
            .map(|c| {
                c.broker_addr_table
                    .values()
                    .any(|b| b.broker_addrs.values().any(|a| a == broker))
            })
            .unwrap_or(false)
    })
    .await;
    let options = TopicOptions {
        queue_nums: 2,
        ..TopicOptions::default()
    };
    admin
        .create_topic("DefaultCluster", topic, &options)
        .await
        .expect("create topic");
    wait_for("topic route", WAIT, || async {
        admin.topic_route(topic).await.is_ok()
    })
    .await;
    admin.shutdown().await;
}

async fn producer(config: ClientConfig) -> Producer {
    let group = unique("tls_pg");
    Producer::start(ProducerOptions {
        client: config,
        group,
        ..ProducerOptions::default()
    })
    .await
    .expect("producer starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enforcing_servers_serve_tls_clients_and_close_plaintext_ones() {
    let pki = Pki::new();
    let ca = pki.ca("ca");
    let server = pki.issue(&ca, "server");
    let namesrv = start_namesrv({
        let server = server.clone();
        move |c| namesrv_tls(c, "enforcing", &server)
    })
    .await;
    let broker = start_broker(namesrv.addr(), {
        let (server, ca) = (server.clone(), ca.path.clone());
        move |s| {
            broker_tls(s, "enforcing", &server);
            // The broker registers with the enforcing name server over TLS.
            s.broker.tls_enable = true;
            s.broker.tls_client_trust_cert_path = text(&ca);
        }
    })
    .await;
    let config = client(namesrv.addr(), Some(tls_trusting(&ca.path)));
    let topic = unique("TlsTopic");
    create_topic(&config, broker.addr(), &topic).await;

    let producer = producer(config.clone()).await;
    for i in 0..4 {
        let sent = producer
            .send(Message::new(&topic, format!("secret {i}")))
            .await
            .expect("send over TLS");
        assert_eq!(sent.status, SendStatus::Ok);
    }
    let consumer = PullConsumer::start(PullConsumerOptions {
        client: client(namesrv.addr(), Some(tls_trusting(&ca.path))),
        group: unique("tls_cg"),
        consume_from: ConsumeFrom::FirstOffset,
        ..PullConsumerOptions::default()
    })
    .await
    .expect("consumer starts");
    consumer
        .subscribe(&topic, FilterExpression::tag("*"))
        .await
        .expect("subscribe");
    let mut bodies = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    while bodies.len() < 4 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "consumed {bodies:?}"
        );
        for m in consumer
            .poll(Duration::from_millis(500))
            .await
            .expect("poll over TLS")
        {
            bodies.push(String::from_utf8_lossy(m.body()).into_owned());
        }
    }
    bodies.sort();
    assert_eq!(bodies, ["secret 0", "secret 1", "secret 2", "secret 3"]);

    // Plaintext is closed on both servers, on the broker's main and fast ports.
    let fast = {
        let (host, port) = broker.addr().rsplit_once(':').expect("host:port");
        format!("{host}:{}", port.parse::<u16>().expect("port") - 2)
    };
    for addr in [namesrv.addr(), broker.addr(), fast.as_str()] {
        let refused = ping(addr, None).await;
        assert!(
            matches!(refused, Err(RemotingError::Closed)),
            "{addr}: {refused:?}"
        );
        ping(addr, Some(trusting(&ca.path)))
            .await
            .unwrap_or_else(|e| panic!("{addr} over TLS: {e}"));
    }
    // A client whose CA did not sign the servers' certificate is refused by itself.
    let other = pki.ca("other");
    assert!(ping(broker.addr(), Some(trusting(&other.path)))
        .await
        .is_err());
    // The TLS client kept working throughout.
    let sent = producer
        .send(Message::new(&topic, "after"))
        .await
        .expect("send after the plaintext attempts");
    assert_eq!(sent.status, SendStatus::Ok);

    consumer.shutdown().await;
    producer.shutdown().await;
    stop((broker, namesrv)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permissive_servers_serve_plaintext_and_tls_on_one_port() {
    let pki = Pki::new();
    let ca = pki.ca("ca");
    let server = pki.issue(&ca, "server");
    let namesrv = start_namesrv({
        let server = server.clone();
        move |c| namesrv_tls(c, "permissive", &server)
    })
    .await;
    let broker = start_broker(namesrv.addr(), {
        let server = server.clone();
        move |s| broker_tls(s, "permissive", &server)
    })
    .await;
    for addr in [namesrv.addr(), broker.addr()] {
        ping(addr, None)
            .await
            .unwrap_or_else(|e| panic!("{addr} plaintext: {e}"));
        ping(addr, Some(trusting(&ca.path)))
            .await
            .unwrap_or_else(|e| panic!("{addr} over TLS: {e}"));
    }
    // Both kinds of client send through the same ports.
    let topic = unique("MixedTopic");
    create_topic(&client(namesrv.addr(), None), broker.addr(), &topic).await;
    for tls in [None, Some(tls_trusting(&ca.path))] {
        let secure = tls.is_some();
        let producer = producer(client(namesrv.addr(), tls)).await;
        let sent = producer
            .send(Message::new(&topic, "either"))
            .await
            .unwrap_or_else(|e| panic!("send (TLS: {secure}): {e}"));
        assert_eq!(sent.status, SendStatus::Ok);
        producer.shutdown().await;
    }
    stop((broker, namesrv)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_and_default_servers_refuse_tls_and_serve_plaintext() {
    let pki = Pki::new();
    let ca = pki.ca("ca");
    let server = pki.issue(&ca, "server");
    // `disabled` ignores the certificate it is given; the default (permissive without a
    // certificate) is plaintext too.
    let namesrv = start_namesrv({
        let server = server.clone();
        move |c| namesrv_tls(c, "disabled", &server)
    })
    .await;
    let broker = start_broker(namesrv.addr(), |s| s.broker.tls_config_file = String::new()).await;
    for addr in [namesrv.addr(), broker.addr()] {
        assert!(
            ping(addr, Some(trusting(&ca.path))).await.is_err(),
            "{addr} refuses TLS"
        );
        ping(addr, None)
            .await
            .unwrap_or_else(|e| panic!("{addr} plaintext after a TLS attempt: {e}"));
    }
    stop((broker, namesrv)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn required_client_certificates_refuse_clients_without_one() {
    let pki = Pki::new();
    let ca = pki.ca("ca");
    let server = pki.issue(&ca, "server");
    let client_cert = pki.issue(&ca, "client");
    let stranger_ca = pki.ca("stranger-ca");
    let stranger = pki.issue(&stranger_ca, "stranger");
    let namesrv = start_namesrv(|_| {}).await;
    let broker = start_broker(namesrv.addr(), {
        let (server, ca) = (server.clone(), ca.path.clone());
        move |s| {
            broker_tls(s, "enforcing", &server);
            s.broker.tls_server_need_client_auth = "require".to_owned();
            s.broker.tls_server_trust_cert_path = text(&ca);
        }
    })
    .await;
    let with = |id: &Issued| ClientTlsSettings {
        cert_path: Some(id.cert.clone()),
        key_path: Some(id.key.clone()),
        ..trusting(&ca.path)
    };
    assert!(
        ping(broker.addr(), Some(trusting(&ca.path))).await.is_err(),
        "a client without a certificate is refused"
    );
    assert!(
        ping(broker.addr(), Some(with(&stranger))).await.is_err(),
        "a certificate from another CA is refused"
    );
    ping(broker.addr(), Some(with(&client_cert)))
        .await
        .expect("a client with a trusted certificate is served");
    stop((broker, namesrv)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaced_certificate_files_serve_new_connections_without_a_restart() {
    let pki = Pki::new();
    let first_ca = pki.ca("first-ca");
    let second_ca = pki.ca("second-ca");
    let server = pki.issue(&first_ca, "server");
    let namesrv = start_namesrv(|_| {}).await;
    let broker = start_broker(namesrv.addr(), {
        let server = server.clone();
        move |s| broker_tls(s, "enforcing", &server)
    })
    .await;
    let addr = broker.addr().to_owned();
    ping(&addr, Some(trusting(&first_ca.path)))
        .await
        .expect("the first certificate is served");
    assert!(ping(&addr, Some(trusting(&second_ca.path))).await.is_err());
    let kept = Connection::connect(
        &addr,
        Arc::new(IgnoreRequests),
        ConnectionConfig {
            tls: Some(TlsConnector::new(&trusting(&first_ca.path)).expect("TLS")),
            ..ConnectionConfig::default()
        },
    )
    .await
    .expect("connect");

    // Same file names, a certificate from another CA.
    pki.issue(&second_ca, "server");
    wait_for("the new certificate", WAIT, || async {
        ping(&addr, Some(trusting(&second_ca.path))).await.is_ok()
    })
    .await;
    assert!(
        ping(&addr, Some(trusting(&first_ca.path))).await.is_err(),
        "new connections no longer get the old certificate"
    );
    // The connection opened before the change keeps its session.
    let request = RemotingCommand::request(RequestCode::GET_BROKER_RUNTIME_INFO);
    kept.request(request, Duration::from_secs(5))
        .await
        .expect("an open connection is kept");
    kept.close();
    stop((broker, namesrv)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_tls_settings_are_reported_clearly() {
    let pki = Pki::new();
    let ca = pki.ca("ca");
    let server = pki.issue(&ca, "server");
    // An encrypted key is refused with a message saying so.
    let encrypted = pki.path("encrypted.key");
    write_atomically(
        &encrypted,
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n",
    );
    let err = ferromq_remoting::ServerTls::new(ferromq_remoting::ServerTlsSettings {
        mode: ferromq_remoting::TlsMode::Enforcing,
        cert_path: Some(server.cert.clone()),
        key_path: Some(encrypted),
        ..ferromq_remoting::ServerTlsSettings::default()
    })
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(
        err.contains("encrypted private keys are not supported"),
        "{err}"
    );
    // A client CA file that does not exist stops the client at start.
    let missing = TlsConfig {
        ca_file: Some(pki.path("missing.pem")),
        ..TlsConfig::default()
    };
    let err = Admin::new(&client("127.0.0.1:1", Some(missing)))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("missing.pem"), "{err}");
}
