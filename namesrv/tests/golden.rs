//! The real Apache 5.3.3 broker's REGISTER_BROKER frame, replayed into FerroMQ's name server,
//! yields the same route and cluster-info bodies, byte for byte, as the Apache 5.3.3 name server
//! answered after the same registration (vectors in `protocol/tests/vectors`).
#![allow(clippy::unwrap_used)]

use bytes::BytesMut;
use ferromq_namesrv::{kv::KvStore, NameServer, NamesrvConfig};
use ferromq_protocol::frame::FrameDecoder;
use ferromq_protocol::header::namesrv::GetRouteInfoRequestHeader;
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode, Version};

fn vector(name: &str) -> RemotingCommand {
    let path = format!(
        "{}/../protocol/tests/vectors/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut buf = BytesMut::from(&std::fs::read(&path).unwrap()[..]);
    FrameDecoder::default().decode(&mut buf).unwrap().unwrap()
}

#[test]
fn routes_after_a_real_registration_match_apache_byte_for_byte() {
    let ns = NameServer::new(NamesrvConfig::default(), KvStore::in_memory());
    let reg = ns.process(None, &vector("broker-5.3.3-register.bin"));
    assert_eq!(
        reg.response_code(),
        ResponseCode::SUCCESS,
        "{:?}",
        reg.remark
    );
    assert!(
        reg.ext_fields.get("masterAddr").is_none(),
        "a master has no master"
    );

    for (version, apache) in [
        (317, "apache-namesrv-5.3.3-route-v317.bin"),
        (479, "apache-namesrv-5.3.3-route-v479.bin"),
    ] {
        let header = GetRouteInfoRequestHeader {
            topic: "TBW102".to_owned(),
            accept_standard_json_only: None,
        };
        let req =
            RemotingCommand::request_with_header(RequestCode::GET_ROUTEINFO_BY_TOPIC, &header)
                .with_version(Version(version));
        let ours = ns.process(None, &req);
        assert_eq!(ours.response_code(), ResponseCode::SUCCESS);
        assert_eq!(
            String::from_utf8_lossy(&ours.body),
            String::from_utf8_lossy(&vector(apache).body),
            "route for a version {version} request"
        );
    }
    let ours = ns.process(
        None,
        &RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_INFO),
    );
    assert_eq!(
        String::from_utf8_lossy(&ours.body),
        String::from_utf8_lossy(&vector("apache-namesrv-5.3.3-cluster-info.bin").body)
    );
}
