//! TLS on the gRPC port, Apache's default "permissive" mode: TLS and plaintext on the same port,
//! told apart by the client's first byte (`0x16` starts a TLS handshake). Some SDKs (Go) always
//! dial with TLS and skip certificate checks; others (Java) use plaintext unless told otherwise.
//! The certificate is `tlsCertPath`/`tlsKeyPath` when given, else a throw-away self-signed one
//! (as Apache's proxy does). ALPN offers `h2`, which gRPC clients require.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tonic::transport::server::{Connected, TcpConnectInfo};

/// How long a new connection may stay silent before it is dropped.
const FIRST_BYTE: Duration = Duration::from_secs(10);
/// How long a TLS handshake may take.
const HANDSHAKE: Duration = Duration::from_secs(10);
const TLS_HANDSHAKE_BYTE: u8 = 0x16;

/// The rustls configuration of the gRPC port.
pub fn server_config(
    cert_path: Option<&str>,
    key_path: Option<&str>,
) -> Result<Arc<rustls::ServerConfig>, String> {
    let (certs, key) = match (cert_path, key_path) {
        (Some(c), Some(k)) => {
            let certs = CertificateDer::pem_file_iter(c)
                .map_err(|e| format!("tlsCertPath {c}: {e}"))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("tlsCertPath {c}: {e}"))?;
            let key =
                PrivateKeyDer::from_pem_file(k).map_err(|e| format!("tlsKeyPath {k}: {e}"))?;
            (certs, key)
        }
        (None, None) => {
            let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
            let generated = rcgen::generate_simple_self_signed(names)
                .map_err(|e| format!("self-signed certificate: {e}"))?;
            let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
                generated.signing_key.serialize_der(),
            ));
            (vec![generated.cert.der().clone()], key)
        }
        _ => return Err("tlsCertPath and tlsKeyPath go together".to_owned()),
    };
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("TLS certificate: {e}"))?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}

/// A connection of the gRPC port, plaintext or TLS.
#[derive(Debug)]
pub enum Conn {
    /// Plaintext HTTP/2.
    Plain(TcpStream),
    /// HTTP/2 over TLS.
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

impl Conn {
    fn tcp(&self) -> &TcpStream {
        match self {
            Conn::Plain(s) => s,
            Conn::Tls(s) => s.get_ref().0,
        }
    }
}

impl Connected for Conn {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        TcpConnectInfo {
            local_addr: self.tcp().local_addr().ok(),
            remote_addr: self.tcp().peer_addr().ok(),
        }
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

async fn classify(
    stream: TcpStream,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    peer: SocketAddr,
) -> Option<Conn> {
    let _ = stream.set_nodelay(true);
    let Some(acceptor) = acceptor else {
        return Some(Conn::Plain(stream));
    };
    let mut first = [0u8; 1];
    match tokio::time::timeout(FIRST_BYTE, stream.peek(&mut first)).await {
        Ok(Ok(1)) => {}
        _ => return None,
    }
    if first[0] != TLS_HANDSHAKE_BYTE {
        return Some(Conn::Plain(stream));
    }
    match tokio::time::timeout(HANDSHAKE, acceptor.accept(stream)).await {
        Ok(Ok(s)) => Some(Conn::Tls(Box::new(s))),
        Ok(Err(e)) => {
            tracing::debug!(%peer, error = %e, "gRPC TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::debug!(%peer, "gRPC TLS handshake timed out");
            None
        }
    }
}

/// Accepts connections on `listener` (each classified on its own task, so a silent client
/// holds up no one) and hands them to the server through the returned stream; abort the task to
/// close the listener.
pub fn incoming(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> (
    tokio_stream::wrappers::ReceiverStream<std::io::Result<Conn>>,
    tokio::task::JoinHandle<()>,
) {
    let (tx, rx) = mpsc::channel(128);
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let task = tokio::spawn(async move {
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "gRPC accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let out = tx.clone();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Some(conn) = classify(stream, acceptor, peer).await {
                    let _ = out.send(Ok(conn)).await;
                }
            });
            if tx.is_closed() {
                break;
            }
        }
    });
    (tokio_stream::wrappers::ReceiverStream::new(rx), task)
}
