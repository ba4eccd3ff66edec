//! The WebSocket listener with TLS (`wss://`): a client trusting the test CA is served in
//! enforcing and permissive mode; a plain `ws://` client is closed under enforcing (promptly,
//! not left hanging) and served under permissive; a client that does not trust the server's
//! certificate gets no connection. Certificates are made here by `rcgen`.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use ferromq_protocol::frame::{encode_to_bytes, FrameDecoder, DEFAULT_MAX_FRAME_LEN};
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode, SerializeType};
use ferromq_remoting::{
    serve_websocket_tls, AllowedOrigins, Connection, ConnectionConfig, Handler, ServerTls,
    ServerTlsSettings, TlsMode,
};
use futures::{SinkExt, StreamExt};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

const WAIT: Duration = Duration::from_secs(10);

/// Answers every request with SUCCESS and its body.
struct Echo;

impl Handler for Echo {
    async fn handle(&self, _conn: &Connection, req: RemotingCommand) -> Option<RemotingCommand> {
        Some(RemotingCommand::response(ResponseCode::SUCCESS, None).with_body(req.body))
    }
}

/// A CA and a server certificate for `localhost` / 127.0.0.1 signed by it, as PEM files.
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
        .push(DnType::CommonName, "test CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
    let server =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = server.signed_by(&key, &issuer).unwrap();
    let pki = Pki {
        ca: dir.path().join("ca.pem"),
        cert: dir.path().join("server.pem"),
        key: dir.path().join("server.key"),
        _dir: dir,
    };
    std::fs::write(&pki.ca, issuer.pem()).unwrap();
    std::fs::write(&pki.cert, cert.pem()).unwrap();
    std::fs::write(&pki.key, key.serialize_pem()).unwrap();
    pki
}

/// A WebSocket listener with TLS in `mode`; its port and the stop switch.
async fn server(pki: &Pki, mode: TlsMode) -> (u16, tokio::sync::oneshot::Sender<()>) {
    let tls = ServerTls::new(ServerTlsSettings {
        mode,
        cert_path: Some(pki.cert.clone()),
        key_path: Some(pki.key.clone()),
        ..ServerTlsSettings::default()
    })
    .unwrap();
    assert!(tls.is_some(), "a certificate is configured");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve_websocket_tls(
        listener,
        Arc::new(Echo),
        ConnectionConfig::default(),
        AllowedOrigins::default(),
        tls,
        async move {
            let _ = rx.await;
        },
    ));
    (port, stop)
}

#[allow(deprecated)] // ring: see remoting/src/tls.rs
fn client_tls(ca: Option<&PathBuf>) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    if let Some(ca) = ca {
        for cert in CertificateDer::pem_file_iter(ca).unwrap() {
            roots.add(cert.unwrap()).unwrap();
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// A `wss://` connection to `localhost:port` trusting `ca`.
async fn wss(
    port: u16,
    ca: Option<&PathBuf>,
) -> std::io::Result<WebSocketStream<tokio_rustls::client::TlsStream<TcpStream>>> {
    let tcp = TcpStream::connect(("127.0.0.1", port)).await?;
    let name = ServerName::try_from("localhost").unwrap();
    let tls = client_tls(ca).connect(name, tcp).await?;
    let (ws, _) = tokio_tungstenite::client_async(format!("wss://localhost:{port}/"), tls)
        .await
        .map_err(std::io::Error::other)?;
    Ok(ws)
}

/// A plain `ws://` connection.
async fn ws(port: u16) -> Result<WebSocketStream<TcpStream>, String> {
    let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    tokio_tungstenite::client_async(format!("ws://127.0.0.1:{port}/"), tcp)
        .await
        .map(|(ws, _)| ws)
        .map_err(|e| e.to_string())
}

/// One request over `ws`, whose response must carry the same body.
async fn round_trip<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut WebSocketStream<S>) {
    let mut req = RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC)
        .with_body(bytes::Bytes::from_static(b"over tls"));
    req.opaque = 7;
    let frame = encode_to_bytes(&req, SerializeType::Json).unwrap();
    ws.send(Message::Binary(frame)).await.unwrap();
    let msg = tokio::time::timeout(WAIT, ws.next())
        .await
        .expect("a response in time")
        .expect("open")
        .unwrap();
    let Message::Binary(data) = msg else {
        panic!("binary message expected, got {msg:?}");
    };
    let mut buf = BytesMut::from(&data[..]);
    let resp = FrameDecoder::new(DEFAULT_MAX_FRAME_LEN)
        .decode(&mut buf)
        .unwrap()
        .expect("a whole frame");
    assert_eq!(resp.opaque, 7);
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    assert_eq!(&resp.body[..], b"over tls");
}

#[tokio::test]
async fn enforcing_serves_wss_and_closes_plain_ws() {
    let pki = pki();
    let (port, _stop) = server(&pki, TlsMode::Enforcing).await;

    let mut client = wss(port, Some(&pki.ca)).await.expect("wss connects");
    round_trip(&mut client).await;

    // Plain: closed before the upgrade is answered, well before the handshake timeout.
    let plain = tokio::time::timeout(Duration::from_secs(5), ws(port))
        .await
        .expect("a plain client is refused promptly, not left hanging");
    assert!(
        plain.is_err(),
        "plain ws:// must be refused under enforcing"
    );

    // The refusal closed only that connection.
    round_trip(&mut client).await;
}

#[tokio::test]
async fn permissive_serves_wss_and_plain_ws_on_one_port() {
    let pki = pki();
    let (port, _stop) = server(&pki, TlsMode::Permissive).await;
    let mut secure = wss(port, Some(&pki.ca)).await.expect("wss connects");
    round_trip(&mut secure).await;
    let mut plain = ws(port).await.expect("ws connects under permissive");
    round_trip(&mut plain).await;
}

#[tokio::test]
async fn a_client_not_trusting_the_ca_gets_no_connection() {
    let pki = pki();
    let (port, _stop) = server(&pki, TlsMode::Enforcing).await;
    let err = tokio::time::timeout(WAIT, wss(port, None))
        .await
        .expect("the handshake fails in time");
    let Err(err) = err else {
        panic!("an untrusted certificate must fail the handshake");
    };
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "unexpected error: {err}"
    );
    // The server keeps serving trusting clients.
    let mut client = wss(port, Some(&pki.ca)).await.expect("wss connects");
    round_trip(&mut client).await;
}
