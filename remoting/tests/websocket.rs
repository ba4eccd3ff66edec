//! The WebSocket listener with a real WebSocket client: frames in binary messages, one frame per
//! message back, frames split across messages, bad input closing only that connection, pages
//! admitted or refused by origin, and the connection limit.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use ferromq_protocol::frame::{encode_to_bytes, FrameDecoder, DEFAULT_MAX_FRAME_LEN};
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode, SerializeType};
use ferromq_remoting::{serve_websocket, AllowedOrigins, Connection, ConnectionConfig, Handler};
use futures::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

/// Echoes the body, and the peer address it saw in the remark.
struct Echo;

impl Handler for Echo {
    async fn handle(&self, conn: &Connection, req: RemotingCommand) -> Option<RemotingCommand> {
        Some(
            RemotingCommand::response(ResponseCode::SUCCESS, Some(conn.peer_addr().to_string()))
                .with_body(req.body),
        )
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn server() -> (String, tokio::sync::oneshot::Sender<()>) {
    server_with(ConnectionConfig::default(), AllowedOrigins::default()).await
}

async fn server_with(
    config: ConnectionConfig,
    origins: AllowedOrigins,
) -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve_websocket(
        listener,
        Arc::new(Echo),
        config,
        origins,
        async move {
            let _ = rx.await;
        },
    ));
    (format!("ws://{addr}/"), stop)
}

fn request(opaque: i32, body: &'static [u8]) -> Bytes {
    let mut req = RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC)
        .with_body(Bytes::from_static(body));
    req.opaque = opaque;
    encode_to_bytes(&req, SerializeType::Json).unwrap()
}

/// The next binary message, which must be exactly one frame.
async fn response(ws: &mut Ws) -> RemotingCommand {
    let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .expect("a response")
        .expect("open")
        .unwrap();
    let Message::Binary(data) = msg else {
        panic!("binary message expected, got {msg:?}");
    };
    let mut buf = BytesMut::from(&data[..]);
    let cmd = FrameDecoder::new(DEFAULT_MAX_FRAME_LEN)
        .decode(&mut buf)
        .unwrap()
        .expect("a whole frame");
    assert!(buf.is_empty(), "one frame per message");
    cmd
}

#[tokio::test]
async fn frames_travel_in_binary_messages_both_ways() {
    let (url, _stop) = server().await;
    let (mut ws, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    ws.send(Message::Binary(request(7, b"hello")))
        .await
        .unwrap();
    let resp = response(&mut ws).await;
    assert_eq!(resp.opaque, 7);
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    assert_eq!(&resp.body[..], b"hello");
    assert!(resp.remark.unwrap().starts_with("127.0.0.1:"), "TCP peer");

    // Two frames in one message, then one frame split over three messages.
    let mut two = BytesMut::new();
    two.extend_from_slice(&request(8, b"a"));
    two.extend_from_slice(&request(9, b"b"));
    ws.send(Message::Binary(two.freeze())).await.unwrap();
    let mut opaques = vec![
        response(&mut ws).await.opaque,
        response(&mut ws).await.opaque,
    ];
    opaques.sort();
    assert_eq!(opaques, [8, 9]);
    let split = request(10, b"split");
    for part in [&split[..3], &split[3..10], &split[10..]] {
        ws.send(Message::Binary(Bytes::copy_from_slice(part)))
            .await
            .unwrap();
    }
    let resp = response(&mut ws).await;
    assert_eq!((resp.opaque, &resp.body[..]), (10, &b"split"[..]));
}

#[tokio::test]
async fn bad_input_closes_only_that_connection() {
    let (url, _stop) = server().await;
    let (mut good, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    for bad in [
        Message::Text("hello".into()),
        // A frame whose header length exceeds its total length.
        Message::Binary(Bytes::from_static(&[0, 0, 0, 8, 0, 0, 1, 0, 0, 0, 0, 0])),
    ] {
        let (mut ws, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
        ws.send(bad).await.unwrap();
        let end = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                match ws.next().await {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
                    Some(Ok(_)) => {}
                }
            }
        })
        .await;
        assert!(
            end.is_ok(),
            "the server closes a connection that sent bad input"
        );
    }
    good.send(Message::Binary(request(1, b"still here")))
        .await
        .unwrap();
    assert_eq!(&response(&mut good).await.body[..], b"still here");
}

/// Upgrades to `url` with `origin` as the `Origin` header (none if `None`): Ok with a working
/// connection, or the HTTP status of the refusal.
async fn upgrade(url: &str, origin: Option<&str>) -> Result<Ws, u16> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = url.into_client_request().unwrap();
    if let Some(o) = origin {
        req.headers_mut().insert("origin", o.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((mut ws, _)) => {
            ws.send(Message::Binary(request(1, b"hi"))).await.unwrap();
            assert_eq!(&response(&mut ws).await.body[..], b"hi");
            Ok(ws)
        }
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => Err(resp.status().as_u16()),
        Err(e) => panic!("upgrade failed without an HTTP answer: {e}"),
    }
}

#[tokio::test]
async fn pages_of_the_same_host_are_admitted_others_refused_with_403() {
    let (url, _stop) = server().await;
    let port = url
        .trim_start_matches("ws://127.0.0.1:")
        .trim_end_matches('/');
    // No Origin: not a browser (Node's `ws`, the Rust client).
    assert!(upgrade(&url, None).await.is_ok());
    // A page served from another port of the same host, as examples/wasm/serve.js does; and
    // the other spellings of loopback.
    for page in [
        "http://127.0.0.1:8080",
        "http://127.0.0.1",
        "http://localhost:3000",
        &format!("http://127.0.0.1:{port}"),
    ] {
        assert!(upgrade(&url, Some(page)).await.is_ok(), "{page} admitted");
    }
    for page in [
        "http://evil.example",
        "http://127.0.0.1.evil.example:8080",
        "null",
        "",
    ] {
        assert_eq!(
            upgrade(&url, Some(page)).await.err(),
            Some(403),
            "{page:?} refused"
        );
    }
}

#[tokio::test]
async fn a_configured_list_admits_only_its_origins() {
    let origins = AllowedOrigins::parse(" https://app.example.com , http://127.0.0.1:8080/ ");
    let (url, _stop) = server_with(ConnectionConfig::default(), origins).await;
    assert!(upgrade(&url, None).await.is_ok());
    assert!(upgrade(&url, Some("https://APP.example.com")).await.is_ok());
    assert!(upgrade(&url, Some("http://127.0.0.1:8080")).await.is_ok());
    for page in [
        "http://app.example.com",
        "http://127.0.0.1:8081",
        "https://evil.example",
    ] {
        assert_eq!(
            upgrade(&url, Some(page)).await.err(),
            Some(403),
            "{page} refused"
        );
    }
    let any = AllowedOrigins::parse("*");
    assert!(any.admits(Some("https://anything.example"), Some("broker:9878")));
}

#[test]
fn same_host_compares_host_names_only() {
    let same = AllowedOrigins::default();
    assert!(same.admits(
        Some("https://mq.example.com:8443"),
        Some("MQ.example.com:9878")
    ));
    assert!(same.admits(Some("http://[::1]:8080"), Some("[::1]:9878")));
    assert!(same.admits(Some("http://[::1]:8080"), Some("localhost:9878")));
    assert!(!same.admits(Some("http://[::2]:8080"), Some("[::1]:9878")));
    assert!(!same.admits(Some("https://mq.example.com"), None));
    assert!(!same.admits(Some("mq.example.com"), Some("mq.example.com")));
}

#[tokio::test]
async fn websocket_connections_over_the_limit_are_closed_at_accept() {
    let config = ConnectionConfig {
        max_connections: 1,
        ..ConnectionConfig::default()
    };
    let (url, _stop) = server_with(config, AllowedOrigins::default()).await;
    let mut first = upgrade(&url, None).await.unwrap();
    let second = tokio::time::timeout(
        Duration::from_secs(5),
        tokio_tungstenite::connect_async(&url),
    )
    .await
    .expect("an answer, not a hang");
    assert!(second.is_err(), "the second connection is refused");
    first
        .send(Message::Binary(request(2, b"still")))
        .await
        .unwrap();
    assert_eq!(&response(&mut first).await.body[..], b"still");
}
