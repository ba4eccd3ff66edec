//! Browser-style access over WebSocket: the name server and the broker each serve their
//! requests on `webSocketListenPort`, and the broker announces its endpoint in the name
//! server's KV config (`FERROMQ_WEBSOCKET`, key = its address in route data), so a client that
//! only speaks WebSocket finds every broker of a route. Sends and pulls then work over it.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use ferromq_protocol::frame::{encode_to_bytes, FrameDecoder, DEFAULT_MAX_FRAME_LEN};
use ferromq_protocol::header::namesrv::{
    GetKVConfigRequestHeader, GetKVConfigResponseHeader, WEBSOCKET_KV_NAMESPACE,
};
use ferromq_protocol::header::pull::PullMessageRequestHeader;
use ferromq_protocol::header::send::SendMessageRequestHeaderV2;
use ferromq_protocol::message::{decode_all, DecodeOptions};
use ferromq_protocol::{CommandHeader, RemotingCommand, RequestCode, ResponseCode, SerializeType};
use ferromq_tests::net::free_port;
use ferromq_tests::{FerroBroker, FerroNamesrv};
use futures::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// One request, one response, over a WebSocket.
async fn call(ws: &mut Ws, mut req: RemotingCommand, opaque: i32) -> RemotingCommand {
    req.opaque = opaque;
    let frame = encode_to_bytes(&req, SerializeType::Json).unwrap();
    ws.send(Message::Binary(frame)).await.unwrap();
    let mut buf = BytesMut::new();
    let decoder = FrameDecoder::new(DEFAULT_MAX_FRAME_LEN);
    loop {
        if let Some(cmd) = decoder.decode(&mut buf).unwrap() {
            assert_eq!(cmd.opaque, opaque);
            return cmd;
        }
        let msg = tokio::time::timeout(Duration::from_secs(20), ws.next())
            .await
            .expect("an answer")
            .expect("open")
            .unwrap();
        if let Message::Binary(data) = msg {
            buf.extend_from_slice(&data);
        }
    }
}

async fn websocket_endpoint(ns: &mut Ws, broker_addr: &str) -> Option<String> {
    let h = GetKVConfigRequestHeader {
        namespace: WEBSOCKET_KV_NAMESPACE.to_owned(),
        key: broker_addr.to_owned(),
    };
    let resp = call(
        ns,
        RemotingCommand::request_with_header(RequestCode::GET_KV_CONFIG, &h),
        1,
    )
    .await;
    (resp.response_code() == ResponseCode::SUCCESS)
        .then(|| {
            GetKVConfigResponseHeader::read_ext(&resp.ext_fields)
                .unwrap()
                .value
        })
        .flatten()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_only_client_finds_the_broker_and_sends_and_pulls() {
    let ns_ws = free_port();
    let namesrv = FerroNamesrv::start_with(|c| c.web_socket_listen_port = ns_ws);
    let broker_ws = free_port();
    let broker = FerroBroker::start(namesrv.addr(), |s| {
        s.broker.web_socket_listen_port = broker_ws;
    });
    let (mut ns, _) = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{ns_ws}/"))
        .await
        .unwrap();

    // The announcement follows the broker's first registration.
    let deadline = Instant::now() + Duration::from_secs(30);
    let url = loop {
        if let Some(url) = websocket_endpoint(&mut ns, broker.addr()).await {
            break url;
        }
        assert!(Instant::now() < deadline, "no WebSocket endpoint announced");
        tokio::time::sleep(Duration::from_millis(50)).await; // polling, bounded by the deadline
    };
    assert_eq!(url, format!("ws://127.0.0.1:{broker_ws}/"));

    let (mut b, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let send = SendMessageRequestHeaderV2 {
        producer_group: "WS_PG".into(),
        topic: "OverWebSocket".into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 1,
        queue_id: 0,
        properties: Some("KEYS\u{1}k1\u{2}WAIT\u{1}true\u{2}".into()),
        ..Default::default()
    };
    let resp = call(
        &mut b,
        RemotingCommand::request_with_header(RequestCode::SEND_MESSAGE_V2, &send)
            .with_body(Bytes::from_static(b"from a browser")),
        2,
    )
    .await;
    assert_eq!(
        resp.response_code(),
        ResponseCode::SUCCESS,
        "{:?}",
        resp.remark
    );

    let pull = PullMessageRequestHeader {
        consumer_group: "WS_CG".into(),
        topic: "OverWebSocket".into(),
        queue_id: 0,
        queue_offset: 0,
        max_msg_nums: 32,
        // Suspend + subscription in the request: no heartbeat needed.
        sys_flag: 2 | 4,
        subscription: Some("*".into()),
        suspend_timeout_millis: 5_000,
        sub_version: 1,
        ..Default::default()
    };
    let resp = call(
        &mut b,
        RemotingCommand::request_with_header(RequestCode::PULL_MESSAGE, &pull),
        3,
    )
    .await;
    assert_eq!(
        resp.response_code(),
        ResponseCode::SUCCESS,
        "{:?}",
        resp.remark
    );
    let got = decode_all(&resp.body, &DecodeOptions::client()).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(&got[0].body[..], b"from a browser");

    // A clean stop takes the announcement back.
    let addr = broker.addr().to_owned();
    let _stopped = broker.stop();
    assert_eq!(websocket_endpoint(&mut ns, &addr).await, None);
}
