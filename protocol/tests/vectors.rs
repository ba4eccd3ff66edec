//! Golden frames captured from the official Java (5.3.3) and Go (v2.1.2) clients and from the
//! Apache 5.3.3 broker and name server (see `vectors/README.md`): every one decodes with this
//! crate into the values the capture programs sent, and the Apache name server's responses
//! re-encode byte for byte.

use bytes::{Bytes, BytesMut};
use ferromq_protocol::body::{
    ClusterInfo, HeartbeatData, RegisterBrokerBody, RouteJsonStyle, TopicRouteData,
};
use ferromq_protocol::frame::{self, FrameDecoder};
use ferromq_protocol::header::namesrv::{GetRouteInfoRequestHeader, RegisterBrokerRequestHeader};
use ferromq_protocol::header::pull::PullMessageRequestHeader;
use ferromq_protocol::header::send::SendMessageRequestHeader;
use ferromq_protocol::message::{decode_batch, Properties};
use ferromq_protocol::{
    CommandHeader, LanguageCode, RemotingCommand, RequestCode, SerializeType, Version,
};

fn raw(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Decodes a vector file, which must hold exactly one frame.
fn frame(name: &str) -> RemotingCommand {
    let mut buf = BytesMut::from(&raw(name)[..]);
    let cmd = FrameDecoder::default()
        .decode(&mut buf)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .unwrap_or_else(|| panic!("{name}: incomplete frame"));
    assert!(buf.is_empty(), "{name}: trailing bytes");
    cmd
}

fn props(text: Option<&str>) -> Properties {
    Properties::decode(text.expect("properties present"))
}

#[test]
fn java_and_go_single_sends_parse_to_the_same_header() {
    let java = frame("java-5.3.3-send-v2.bin");
    let go = frame("go-2.1.2-send-v1.bin");
    assert_eq!(java.request_code(), RequestCode::SEND_MESSAGE_V2);
    assert_eq!(
        (java.language, java.version),
        (LanguageCode::JAVA, Version::V5_3_3.0)
    );
    assert_eq!(go.request_code(), RequestCode::SEND_MESSAGE);
    assert_eq!(
        (go.language, go.version),
        (LanguageCode::GO, Version::V4_5_2.0)
    );
    for (cmd, group) in [(&java, "capture_pg"), (&go, "capture_go_pg")] {
        let h = SendMessageRequestHeader::from_command(cmd).expect("send header");
        assert_eq!(h.producer_group, group);
        assert_eq!(h.topic, "CaptureTopic");
        assert_eq!(h.default_topic, "TBW102");
        assert_eq!(h.default_topic_queue_nums, 4);
        assert_eq!(h.sys_flag, 0);
        assert!(h.born_timestamp > 1_700_000_000_000);
        let p = props(h.properties.as_deref());
        assert_eq!(p.tags(), Some("TagA"));
        assert_eq!(p.keys().collect::<Vec<_>>(), ["KEY1"]);
        assert_eq!(p.value("a"), Some("1"));
        // 32 hex chars for an IPv4 client address, 56 for IPv6 (docs/protocol.md, "UNIQ_KEY").
        let uniq = p.uniq_key().expect("UNIQ_KEY");
        assert!(
            matches!(uniq.len(), 32 | 56) && uniq.bytes().all(|b| b.is_ascii_hexdigit()),
            "{uniq}"
        );
        assert_eq!(&cmd.body[..], b"hello");
    }
    // Only Java's Message constructors add WAIT=true.
    let h = SendMessageRequestHeader::from_command(&java).expect("send header");
    assert_eq!(props(h.properties.as_deref()).value("WAIT"), Some("true"));
}

#[test]
fn java_batch_body_splits_into_its_messages() {
    let cmd = frame("java-5.3.3-send-batch.bin");
    assert_eq!(cmd.request_code(), RequestCode::SEND_BATCH_MESSAGE);
    let h = SendMessageRequestHeader::from_command(&cmd).expect("batch header");
    assert_eq!(h.batch, Some(true));
    let batch = decode_batch(&cmd.body).expect("batch body");
    assert_eq!(batch.len(), 3);
    for (i, m) in batch.iter().enumerate() {
        assert_eq!(&m.body[..], format!("batch-{i}").as_bytes());
        assert_eq!(
            m.properties.keys().collect::<Vec<_>>(),
            [format!("BATCH{i}").as_str()]
        );
        assert_eq!(m.properties.tags(), Some("TagA"));
    }
}

#[test]
fn heartbeats_from_both_clients_decode() {
    let java =
        HeartbeatData::decode(&frame("java-5.3.3-heartbeat.bin").body).expect("java heartbeat");
    let go = HeartbeatData::decode(&frame("go-2.1.2-heartbeat.bin").body).expect("go heartbeat");
    for (hb, group) in [(&java, "capture_cg"), (&go, "capture_go_cg")] {
        let consumer = hb
            .consumer_data_set
            .iter()
            .find(|c| c.group_name == group)
            .expect("group");
        let sub = consumer
            .subscription_data_set
            .iter()
            .find(|s| s.topic == "CaptureTopic")
            .expect("subscription");
        let mut codes = sub.code_set.clone();
        codes.sort_unstable();
        assert_eq!(
            codes,
            [2_598_919, 2_598_920],
            "Java String.hashCode of TagA, TagB"
        );
        let mut tags = sub.tags_set.clone();
        tags.sort();
        assert_eq!(tags, ["TagA", "TagB"]);
    }
    assert_eq!(java.heartbeat_fingerprint, Some(0));
    assert!(java
        .producer_data_set
        .iter()
        .any(|p| p.group_name == "CLIENT_INNER_PRODUCER"));
    assert_eq!(go.heartbeat_fingerprint, None, "Go sends the 4.9 shape");
}

#[test]
fn pull_requests_and_route_requests_decode() {
    for (name, timeout) in [
        ("java-5.3.3-pull.bin", 15_000),
        ("go-2.1.2-pull.bin", 20_000),
    ] {
        let cmd = frame(name);
        assert_eq!(cmd.request_code(), RequestCode::PULL_MESSAGE);
        let h = PullMessageRequestHeader::read_ext(&cmd.ext_fields).expect("pull header");
        assert_eq!(h.topic, "CaptureTopic", "{name}");
        assert_eq!(h.sys_flag, 2, "{name}: suspend bit only");
        assert_eq!(h.suspend_timeout_millis, timeout, "{name}");
    }
    for (name, style) in [
        ("java-5.3.3-get-route.bin", RouteJsonStyle::Standard),
        ("go-2.1.2-get-route.bin", RouteJsonStyle::Legacy),
    ] {
        let cmd = frame(name);
        let h = GetRouteInfoRequestHeader::read_ext(&cmd.ext_fields).expect("route header");
        assert_eq!(h.topic, "CaptureTopic");
        let got = RouteJsonStyle::for_request(
            Version(cmd.version),
            h.accept_standard_json_only.unwrap_or(false),
        );
        assert_eq!(got, style, "{name}");
    }
}

#[test]
fn real_broker_registration_decodes() {
    let cmd = frame("broker-5.3.3-register.bin");
    let h = RegisterBrokerRequestHeader::read_ext(&cmd.ext_fields).expect("register header");
    assert_eq!(
        (h.broker_name.as_str(), h.cluster_name.as_str(), h.broker_id),
        ("broker-a", "DefaultCluster", 0)
    );
    assert_eq!(
        h.body_crc32,
        Some((crc32fast::hash(&cmd.body) & 0x7FFF_FFFF) as i32)
    );
    let body = RegisterBrokerBody::decode_request(
        &cmd.body,
        h.compressed.unwrap_or(false),
        Version(cmd.version),
    )
    .expect("register body");
    let table = &body.topic_config_serialize_wrapper.topic_config_table;
    assert_eq!(table.len(), 13);
    let tbw = &table["TBW102"];
    assert_eq!(
        (tbw.perm, tbw.read_queue_nums, tbw.write_queue_nums),
        (7, 8, 8)
    );
    assert!(table.contains_key("SCHEDULE_TOPIC_XXXX"));
}

/// Our encoder, given what Apache's name server answered, produces Apache's exact bytes: the
/// JSON header writer and both route styles and the cluster info match fastjson byte for byte.
#[test]
fn apache_namesrv_responses_re_encode_byte_for_byte() {
    for (name, style) in [
        (
            "apache-namesrv-5.3.3-route-v317.bin",
            Some(RouteJsonStyle::Legacy),
        ),
        (
            "apache-namesrv-5.3.3-route-v479.bin",
            Some(RouteJsonStyle::Standard),
        ),
        ("apache-namesrv-5.3.3-cluster-info.bin", None),
    ] {
        let original = raw(name);
        let cmd = frame(name);
        let body = match style {
            Some(style) => TopicRouteData::decode(&cmd.body)
                .expect("route")
                .encode(style),
            None => ClusterInfo::decode(&cmd.body)
                .expect("cluster info")
                .encode(),
        };
        let again = RemotingCommand {
            body: Bytes::from(body),
            ..cmd
        };
        let bytes = frame::encode_to_bytes(&again, SerializeType::Json).expect("encode");
        assert_eq!(
            String::from_utf8_lossy(&bytes[8..]),
            String::from_utf8_lossy(&original[8..]),
            "{name}"
        );
        assert_eq!(&bytes[..], &original[..], "{name}: length words");
    }
    // Java writes `"extFields":{}` for a response header whose fields are all null; FerroMQ omits
    // the empty map. Both decode to the same command.
    let reg = frame("apache-namesrv-5.3.3-register-response.bin");
    assert!(reg.ext_fields.is_empty() && reg.is_response());
}
