//! The hostile suite of ACL 1.0 and TLS (issue 16): each attack is refused with Apache's
//! answer, leaves a line in the servers' log, and a canary client on the same broker is still
//! served right after it.
//!
//! One broker with `aclEnable=true` and `tls.server.mode=enforcing`: a signature replayed with
//! another body, a signature over other header fields, an account without PUB sending, batch
//! sending and sending back into a topic / group it may not write, a non-admin account trying
//! the ACL 1.0 admin codes (50-54), and plaintext bytes on the enforcing port. One broker with
//! `tls.server.mode=disabled`: a TLS client. A name server with a `writeAllowList` that leaves the
//! clients out: a real broker registering, and KV writes. FerroMQ's servers run in-process
//! (`ferromq_tests::FerroBroker`); the log is captured from their tracing output.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferromq_protocol::acl::{signature, ACCESS_KEY, SIGNATURE};
use ferromq_protocol::header::admin::CreateTopicRequestHeader;
use ferromq_protocol::header::client::ConsumerSendMsgBackRequestHeader;
use ferromq_protocol::header::send::SendMessageRequestHeaderV2;
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use ferromq_remoting::{
    ClientTlsSettings, Connection, ConnectionConfig, IgnoreRequests, ServerTrust, TlsConnector,
};
use ferromq_tests::{FerroBroker, FerroNamesrv};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const T: Duration = Duration::from_secs(10);
const EXCEPTION: &str = "org.apache.rocketmq.acl.common.AclException: ";

/// `canary` may send to Canary; `mallory` may read everything and send nowhere, and group
/// `locked` is denied to her; `ops-admin` is an admin.
const RULES: &str = "\
accounts:
  - {accessKey: canary-key, secretKey: canary-secret, topicPerms: [Canary=PUB|SUB]}
  - accessKey: mallory-key
    secretKey: mallory-secret
    defaultTopicPerm: SUB
    defaultGroupPerm: SUB
    topicPerms: [Orders=SUB]
    groupPerms: [locked=DENY]
  - {accessKey: ops-admin, secretKey: ops-admin-secret, admin: true}
";

// ---------------------------------------------------------------------------------------------
// The servers' log, captured.

fn log_buffer() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = buf.clone();
        let installed = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing_subscriber::filter::LevelFilter::WARN)
            .with_writer(move || Capture(writer.clone()))
            .try_init();
        assert!(
            installed.is_ok(),
            "cannot capture the log (is FERROMQ_TEST_LOG set?)"
        );
        buf
    })
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Waits until one captured log line holds every piece of `needles`.
async fn logged(needles: &[&str]) {
    let deadline = Instant::now() + T;
    loop {
        let text = String::from_utf8_lossy(&log_buffer().lock().unwrap()).into_owned();
        if text
            .lines()
            .any(|line| needles.iter().all(|n| line.contains(n)))
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no log line with {needles:?} in:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Certificates, servers and clients.

struct Pki {
    _dir: tempfile::TempDir,
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "hostile-ca");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
    let params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    let path = |n: &str| dir.path().join(n);
    std::fs::write(path("ca.pem"), issuer.pem()).unwrap();
    std::fs::write(path("broker.pem"), cert.pem()).unwrap();
    std::fs::write(path("broker.key"), key.serialize_pem()).unwrap();
    Pki {
        ca: path("ca.pem"),
        cert: path("broker.pem"),
        key: path("broker.key"),
        _dir: dir,
    }
}

fn text(p: &Path) -> String {
    p.display().to_string()
}

/// A broker serving TLS in `mode`, with ACL 1.0 on when `acl` names the rules file.
async fn broker(pki: &Pki, mode: &'static str, acl: Option<PathBuf>) -> FerroBroker {
    let (cert, key) = (text(&pki.cert), text(&pki.key));
    tokio::task::spawn_blocking(move || {
        FerroBroker::start("", move |s| {
            let b = &mut s.broker;
            b.tls_config_file = String::new();
            b.tls_server_mode = mode.to_owned();
            b.tls_server_cert_path = cert;
            b.tls_server_key_path = key;
            if let Some(acl) = acl {
                b.acl_enable = true;
                b.acl_file_path = text(&acl);
            }
        })
    })
    .await
    .unwrap()
}

async fn stop(b: FerroBroker) {
    tokio::task::spawn_blocking(move || drop(b)).await.unwrap();
}

async fn connect(addr: &str, ca: Option<&Path>) -> Connection {
    let tls = ca.map(|ca| {
        TlsConnector::new(&ClientTlsSettings {
            trust: ServerTrust::CaFile(ca.to_path_buf()),
            verify_hostname: true,
            server_name: None,
            cert_path: None,
            key_path: None,
        })
        .unwrap()
    });
    let config = ConnectionConfig {
        tls,
        ..ConnectionConfig::default()
    };
    Connection::connect(addr, Arc::new(IgnoreRequests), config)
        .await
        .unwrap()
}

fn sign(mut r: RemotingCommand, key: &str, secret: &str) -> RemotingCommand {
    r.ext_fields.insert(ACCESS_KEY, key);
    let s = signature(secret, &r);
    r.ext_fields.insert(SIGNATURE, s);
    r
}

fn send(code: RequestCode, topic: &str, body: &str) -> RemotingCommand {
    let h = SendMessageRequestHeaderV2 {
        producer_group: "PG".into(),
        topic: topic.into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 1,
        queue_id: 0,
        ..Default::default()
    };
    let mut r = RemotingCommand::request_with_header(RequestCode::SEND_MESSAGE_V2, &h)
        .with_body(Bytes::from(body.to_owned()));
    r.code = code.0;
    r
}

fn assert_refused(r: &RemotingCommand, message: &str) {
    assert_eq!(r.response_code(), ResponseCode::SYSTEM_ERROR, "{r:?}");
    assert_eq!(
        r.remark.as_deref(),
        Some(format!("{EXCEPTION}{message}").as_str()),
        "{r:?}"
    );
}

/// The canary's next send on its own connection is stored.
struct Canary {
    conn: Connection,
    sent: usize,
}

impl Canary {
    async fn still_served(&mut self, after: &str) {
        self.sent += 1;
        let body = format!("canary-{}", self.sent);
        let r = self
            .conn
            .request(
                sign(
                    send(RequestCode::SEND_MESSAGE_V2, "Canary", &body),
                    "canary-key",
                    "canary-secret",
                ),
                T,
            )
            .await
            .unwrap();
        assert_eq!(
            r.response_code(),
            ResponseCode::SUCCESS,
            "canary not served after {after}: {r:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The suite.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acl_and_enforcing_tls_refuse_every_attack_and_keep_serving() {
    log_buffer();
    let pki = pki();
    let rules_dir = tempfile::tempdir().unwrap();
    let rules = rules_dir.path().join("plain_acl.yml");
    std::fs::write(&rules, RULES).unwrap();
    let b = broker(&pki, "enforcing", Some(rules.clone())).await;
    let ca = Some(pki.ca.as_path());
    let admin = connect(b.addr(), ca).await;
    for topic in ["Canary", "Orders"] {
        let h = CreateTopicRequestHeader {
            topic: topic.into(),
            default_topic: "TBW102".into(),
            read_queue_nums: 1,
            write_queue_nums: 1,
            perm: 6,
            ..Default::default()
        };
        let r = RemotingCommand::request_with_header(RequestCode::UPDATE_AND_CREATE_TOPIC, &h);
        let r = admin
            .request(sign(r, "ops-admin", "ops-admin-secret"), T)
            .await
            .unwrap();
        assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{r:?}");
    }
    let mut canary = Canary {
        conn: connect(b.addr(), ca).await,
        sent: 0,
    };
    canary.still_served("start").await;
    let mallory = connect(b.addr(), ca).await;
    let call = |r: RemotingCommand| mallory.request(r, T);

    // 1. The canary's signed send, captured, replayed with another body.
    let signed = sign(
        send(RequestCode::SEND_MESSAGE_V2, "Canary", "pay 10"),
        "canary-key",
        "canary-secret",
    );
    let replay = signed.clone().with_body(Bytes::from_static(b"pay 1000000"));
    let r = call(replay).await.unwrap();
    assert_refused(&r, "Check signature failed for accessKey=canary-key");
    logged(&[
        "ACL refused",
        "canary-key",
        "code=310",
        "Check signature failed",
    ])
    .await;
    canary.still_served("a replayed signature").await;

    // 2. An admin's signature kept over other header fields (another topic, another queue).
    let mut other = sign(
        send(RequestCode::SEND_MESSAGE_V2, "Canary", "ok"),
        "ops-admin",
        "ops-admin-secret",
    );
    other.ext_fields.insert("b", "Orders");
    other.ext_fields.insert("e", "3");
    let r = call(other).await.unwrap();
    assert_refused(&r, "Check signature failed for accessKey=ops-admin");
    logged(&[
        "ACL refused",
        "ops-admin",
        "code=310",
        "Check signature failed",
    ])
    .await;
    canary.still_served("a signature over other fields").await;

    // 3. No PUB: send, batch send, send-back into a denied group.
    let mine = |r| sign(r, "mallory-key", "mallory-secret");
    let r = call(mine(send(RequestCode::SEND_MESSAGE_V2, "Orders", "x")))
        .await
        .unwrap();
    assert_refused(&r, "No permission for topic:Orders");
    logged(&["ACL refused", "mallory-key", "code=310", "topic:Orders"]).await;
    canary.still_served("a send without PUB").await;
    let r = call(mine(send(RequestCode::SEND_BATCH_MESSAGE, "Orders", "x")))
        .await
        .unwrap();
    assert_refused(&r, "No permission for topic:Orders");
    logged(&["ACL refused", "mallory-key", "code=320", "topic:Orders"]).await;
    canary.still_served("a batch without PUB").await;
    let back = ConsumerSendMsgBackRequestHeader {
        offset: 0,
        group: "locked".into(),
        delay_level: 0,
        ..Default::default()
    };
    let back = RemotingCommand::request_with_header(RequestCode::CONSUMER_SEND_MSG_BACK, &back);
    let r = call(mine(back)).await.unwrap();
    assert_refused(&r, "No permission for group:locked");
    logged(&["ACL refused", "mallory-key", "code=36", "group:locked"]).await;
    canary.still_served("a send-back into a denied group").await;

    // 4. The ACL 1.0 admin codes from a non-admin: refused before any handler; the file stays.
    let before = std::fs::read_to_string(&rules).unwrap();
    for code in [
        RequestCode::UPDATE_AND_CREATE_ACL_CONFIG,
        RequestCode::DELETE_ACL_CONFIG,
        RequestCode::GET_BROKER_CLUSTER_ACL_INFO,
        RequestCode::UPDATE_GLOBAL_WHITE_ADDRS_CONFIG,
        RequestCode::GET_BROKER_CLUSTER_ACL_CONFIG,
    ] {
        let mut r = RemotingCommand::request(code);
        r.ext_fields.insert("accessKey", "mallory-key");
        r.ext_fields.insert("secretKey", "mallory-secret");
        r.ext_fields.insert("admin", "true");
        r.ext_fields.insert("globalWhiteAddrs", "*");
        let r = call(mine(r)).await.unwrap();
        assert_refused(
            &r,
            &format!(
                "Need admin permission for request code={}, but accessKey=mallory-key is not",
                code.0
            ),
        );
        logged(&["ACL refused", "mallory-key", &format!("code={}", code.0)]).await;
        canary
            .still_served(&format!("ACL admin code {}", code.0))
            .await;
    }
    assert_eq!(std::fs::read_to_string(&rules).unwrap(), before);

    // 5. Plaintext bytes (a valid, signed frame) on the enforcing port: closed unanswered.
    let addr = b.addr().to_owned();
    let mut raw = TcpStream::connect(&addr).await.unwrap();
    let frame = sign(
        send(RequestCode::SEND_MESSAGE_V2, "Canary", "plain"),
        "canary-key",
        "canary-secret",
    );
    let frame =
        ferromq_protocol::frame::encode_to_bytes(&frame, ferromq_protocol::SerializeType::Json)
            .unwrap();
    raw.write_all(&frame).await.unwrap();
    let mut buf = [0u8; 256];
    let n = tokio::time::timeout(T, raw.read(&mut buf))
        .await
        .expect("closed in time")
        .unwrap_or(0);
    assert_eq!(n, 0, "plaintext was answered: {:?}", &buf[..n]);
    logged(&["closing plaintext connection", "enforcing"]).await;
    canary.still_served("plaintext on an enforcing port").await;

    // Nothing refused was stored: Canary holds the canary's messages only (the consume queue
    // is written after the send is answered: polled).
    let want = canary.sent.to_string();
    let deadline = Instant::now() + T;
    loop {
        let max = ferromq_protocol::header::offset::GetMaxOffsetRequestHeader {
            topic: "Canary".into(),
            queue_id: 0,
            ..Default::default()
        };
        let r = RemotingCommand::request_with_header(RequestCode::GET_MAX_OFFSET, &max);
        let r = canary
            .conn
            .request(sign(r, "canary-key", "canary-secret"), T)
            .await
            .unwrap();
        let got = r.ext_fields.get("offset").map(str::to_owned);
        if got.as_deref() == Some(want.as_str()) {
            break;
        }
        let stored: Option<usize> = got.as_deref().and_then(|g| g.parse().ok());
        assert!(
            stored.is_some_and(|n| n < canary.sent),
            "more than the canary's messages stored: {r:?}"
        );
        assert!(Instant::now() < deadline, "max offset {got:?}, want {want}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop((admin, mallory, canary));
    stop(b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_client_on_a_disabled_port_is_closed_and_others_served() {
    log_buffer();
    let pki = pki();
    let b = broker(&pki, "disabled", None).await;
    let plain = connect(b.addr(), None).await;
    let ping = || RemotingCommand::request(RequestCode::GET_BROKER_RUNTIME_INFO);
    let r = plain.request(ping(), T).await.unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);

    let tls = TlsConnector::new(&ClientTlsSettings {
        trust: ServerTrust::CaFile(pki.ca.clone()),
        verify_hostname: true,
        server_name: None,
        cert_path: None,
        key_path: None,
    })
    .unwrap();
    let config = ConnectionConfig {
        tls: Some(tls),
        ..ConnectionConfig::default()
    };
    let refused = tokio::time::timeout(
        T,
        Connection::connect(b.addr(), Arc::new(IgnoreRequests), config),
    )
    .await
    .expect("refused in time");
    assert!(
        refused.is_err(),
        "a TLS handshake succeeded on a disabled port"
    );
    logged(&["closing connection: bad frame"]).await;

    let r = plain.request(ping(), T).await.unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    drop(plain);
    stop(b).await;
}

/// A name server whose `writeAllowList` leaves out this host: a real broker cannot register (so
/// no client is sent to it), a KV write is refused with NO_PERMISSION, both logged; reads are
/// served throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_server_allow_list_keeps_strangers_from_registering() {
    log_buffer();
    let namesrv = tokio::task::spawn_blocking(|| {
        FerroNamesrv::start_with(|c| c.write_allow_list = "10.0.0.*".to_owned())
    })
    .await
    .unwrap();
    let ns = namesrv.addr().to_owned();
    let broker = tokio::task::spawn_blocking(move || {
        FerroBroker::start(&ns, |s| s.broker.broker_name = "stranger-b".to_owned())
    })
    .await
    .unwrap();
    // The broker registers at start and every 30 s: its first attempt is refused and logged.
    logged(&["writeAllowList", "request code 103", "127.0.0.1"]).await;

    let reader = connect(namesrv.addr(), None).await;
    let r = reader
        .request(
            RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_INFO),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    let info = String::from_utf8_lossy(&r.body).into_owned();
    assert!(!info.contains("stranger-b"), "{info}");

    let mut put = RemotingCommand::request(RequestCode::PUT_KV_CONFIG);
    put.ext_fields.insert("namespace", "ORDER_TOPIC_CONFIG");
    put.ext_fields.insert("key", "Orders");
    put.ext_fields.insert("value", "stranger-b:8");
    let r = reader.request(put, T).await.unwrap();
    assert_eq!(r.response_code(), ResponseCode::NO_PERMISSION, "{r:?}");
    logged(&["writeAllowList", "request code 100"]).await;
    let r = reader
        .request(
            RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_INFO),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    drop(reader);
    stop(broker).await;
    tokio::task::spawn_blocking(move || drop(namesrv))
        .await
        .unwrap();
}
