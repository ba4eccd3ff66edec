//! The name server over real sockets: `ferromq_namesrv::run` on a free port, driven with raw
//! remoting commands as brokers, clients and operators send them.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use ferromq_namesrv::NamesrvConfig;
use ferromq_protocol::body::{
    ClusterInfo, DataVersion, GetBrokerMemberGroupResponseBody, KVTable, QueueData,
    RegisterBrokerBody, TopicConfig, TopicConfigSerializeWrapper, TopicList, TopicRouteData,
};
use ferromq_protocol::header::namesrv::*;
use ferromq_protocol::{CommandHeader, RemotingCommand, RequestCode, ResponseCode, Version};
use ferromq_remoting::{Connection, ConnectionConfig, IgnoreRequests};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

const T: Duration = Duration::from_secs(5);

struct Nsrv {
    addr: String,
    _stop: oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

impl Nsrv {
    async fn start() -> Nsrv {
        Nsrv::start_with(|_| {}).await
    }

    async fn start_with(tweak: impl FnOnce(&mut NamesrvConfig)) -> Nsrv {
        let dir = tempfile::tempdir().unwrap();
        let mut config = NamesrvConfig {
            kv_config_path: dir.path().join("kvConfig.json"),
            config_store_path: dir.path().join("namesrv.properties"),
            ..NamesrvConfig::default()
        };
        tweak(&mut config);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let (stop, rx) = oneshot::channel::<()>();
        tokio::spawn(ferromq_namesrv::run(listener, config, async move {
            let _ = rx.await;
        }));
        Nsrv {
            addr,
            _stop: stop,
            _dir: dir,
        }
    }

    async fn client(&self, version: Version) -> Connection {
        let config = ConnectionConfig {
            version,
            ..ConnectionConfig::default()
        };
        Connection::connect(&self.addr, Arc::new(IgnoreRequests), config)
            .await
            .unwrap()
    }
}

async fn call(
    conn: &Connection,
    code: RequestCode,
    header: &impl CommandHeader,
    body: Vec<u8>,
) -> RemotingCommand {
    conn.request(
        RemotingCommand::request_with_header(code, header).with_body(body),
        T,
    )
    .await
    .unwrap()
}

fn topics(names: &[&str]) -> TopicConfigSerializeWrapper {
    let mut w = TopicConfigSerializeWrapper {
        data_version: DataVersion {
            counter: 1,
            state_version: 0,
            timestamp: 1_700_000_000_000,
        },
        ..TopicConfigSerializeWrapper::default()
    };
    for n in names {
        w.topic_config_table
            .insert((*n).to_owned(), TopicConfig::new(*n, 4, 4));
    }
    w
}

fn register_header(name: &str, addr: &str, id: i64) -> RegisterBrokerRequestHeader {
    RegisterBrokerRequestHeader {
        broker_name: name.to_owned(),
        broker_addr: addr.to_owned(),
        cluster_name: "DefaultCluster".to_owned(),
        ha_server_addr: format!("{addr}-ha"),
        broker_id: id,
        compressed: Some(false),
        ..RegisterBrokerRequestHeader::default()
    }
}

async fn register(
    conn: &Connection,
    name: &str,
    addr: &str,
    id: i64,
    names: &[&str],
) -> RemotingCommand {
    let body = RegisterBrokerBody {
        topic_config_serialize_wrapper: topics(names),
        ..RegisterBrokerBody::default()
    };
    call(
        conn,
        RequestCode::REGISTER_BROKER,
        &register_header(name, addr, id),
        body.encode(),
    )
    .await
}

async fn route(conn: &Connection, topic: &str) -> RemotingCommand {
    let h = GetRouteInfoRequestHeader {
        topic: topic.to_owned(),
        accept_standard_json_only: None,
    };
    call(conn, RequestCode::GET_ROUTEINFO_BY_TOPIC, &h, Vec::new()).await
}

async fn wait_until(mut check: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + T;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not reached in time"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn registration_serves_routes_cluster_info_and_topic_lists() {
    let ns = Nsrv::start().await;
    let broker = ns.client(Version::V5_3_3).await;
    let resp = register(&broker, "broker-a", "127.0.0.1:10911", 0, &["T1", "T2"]).await;
    assert_eq!(
        resp.response_code(),
        ResponseCode::SUCCESS,
        "{:?}",
        resp.remark
    );
    register(&broker, "broker-b", "127.0.0.1:20911", 0, &["T1", "T3"]).await;

    let client = ns.client(Version::V5_3_3).await;
    let resp = route(&client, "T1").await;
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    let r = TopicRouteData::decode(&resp.body).unwrap();
    let names: Vec<_> = r
        .queue_datas
        .iter()
        .map(|q| q.broker_name.as_str())
        .collect();
    assert_eq!(names, ["broker-a", "broker-b"]);
    assert_eq!(r.queue_datas[0].write_queue_nums, 4);
    assert_eq!(
        r.broker("broker-a").unwrap().master_addr(),
        Some("127.0.0.1:10911")
    );

    let missing = route(&client, "NOPE").await;
    assert_eq!(missing.response_code(), ResponseCode::TOPIC_NOT_EXIST);
    assert!(missing.remark.unwrap().contains("NOPE"));

    let info = client
        .request(
            RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_INFO),
            T,
        )
        .await
        .unwrap();
    let text = String::from_utf8(info.body.to_vec()).unwrap();
    assert!(
        text.contains(r#""brokerAddrs":{0:"127.0.0.1:10911"}"#),
        "ClusterInfo keeps bare keys: {text}"
    );
    let info = ClusterInfo::decode(&info.body).unwrap();
    assert_eq!(info.cluster_addr_table["DefaultCluster"].len(), 2);

    let all = client
        .request(
            RemotingCommand::request(RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER),
            T,
        )
        .await
        .unwrap();
    let all = TopicList::decode(&all.body).unwrap();
    assert_eq!(
        all.topic_list.iter().collect::<Vec<_>>(),
        ["T1", "T2", "T3"]
    );
    let h = GetTopicsByClusterRequestHeader {
        cluster: "DefaultCluster".to_owned(),
    };
    let by_cluster = TopicList::decode(
        &call(&client, RequestCode::GET_TOPICS_BY_CLUSTER, &h, vec![])
            .await
            .body,
    )
    .unwrap();
    assert_eq!(by_cluster.topic_list.len(), 3);
    let sys = client
        .request(
            RemotingCommand::request(RequestCode::GET_SYSTEM_TOPIC_LIST_FROM_NS),
            T,
        )
        .await
        .unwrap();
    let sys = TopicList::decode(&sys.body).unwrap();
    assert!(sys.topic_list.contains("DefaultCluster") && sys.topic_list.contains("broker-b"));
    assert!(sys.broker_addr.is_some());
}

#[tokio::test]
async fn route_json_follows_the_request_version() {
    let ns = Nsrv::start().await;
    let broker = ns.client(Version::V5_3_3).await;
    register(&broker, "broker-a", "127.0.0.1:10911", 0, &["T", "T2"]).await;
    register(&broker, "broker-a", "127.0.0.1:10921", 1, &["T", "T2"]).await;
    // Go sends version 317: bare numeric keys, compact (its parser splits the raw text).
    let go = ns.client(Version::V4_5_2).await;
    let body = String::from_utf8(route(&go, "T").await.body.to_vec()).unwrap();
    assert!(
        body.contains(r#""brokerAddrs":{0:"127.0.0.1:10911",1:"127.0.0.1:10921"}"#),
        "{body}"
    );
    assert!(!body.contains(' '));
    // Unless it asks for standard JSON.
    let h = GetRouteInfoRequestHeader {
        topic: "T".to_owned(),
        accept_standard_json_only: Some(true),
    };
    let body = call(&go, RequestCode::GET_ROUTEINFO_BY_TOPIC, &h, vec![])
        .await
        .body;
    assert!(String::from_utf8_lossy(&body).contains(r#"{"0":"127.0.0.1:10911","1":"#));
    // 4.9.4+ clients get quoted keys.
    let java = ns.client(Version::V5_3_3).await;
    let body = String::from_utf8(route(&java, "T").await.body.to_vec()).unwrap();
    assert!(
        body.contains(r#""brokerAddrs":{"0":"127.0.0.1:10911","1":"127.0.0.1:10921"}"#),
        "{body}"
    );
    assert!(
        serde_json::from_str::<serde_json::Value>(&body).is_ok(),
        "standard JSON parses strictly"
    );
}

#[tokio::test]
async fn compressed_bodies_crc_checks_and_refused_registrations() {
    let ns = Nsrv::start().await;
    let broker = ns.client(Version::V4_9_8).await;
    let body = RegisterBrokerBody {
        topic_config_serialize_wrapper: topics(&["C1", "C2"]),
        ..RegisterBrokerBody::default()
    };
    let bytes = body.encode_compressed(Version::V4_9_8);
    let mut h = register_header("broker-z", "127.0.0.1:30911", 0);
    h.compressed = Some(true);
    h.body_crc32 = Some((crc32fast::hash(&bytes) & 0x7FFF_FFFF) as i32 ^ 1);
    let bad = call(&broker, RequestCode::REGISTER_BROKER, &h, bytes.clone()).await;
    assert_eq!(
        (bad.response_code(), bad.remark.as_deref()),
        (ResponseCode::SYSTEM_ERROR, Some("crc32 not match"))
    );
    h.body_crc32 = Some((crc32fast::hash(&bytes) & 0x7FFF_FFFF) as i32);
    let good = call(&broker, RequestCode::REGISTER_BROKER, &h, bytes).await;
    assert_eq!(
        good.response_code(),
        ResponseCode::SUCCESS,
        "{:?}",
        good.remark
    );
    assert_eq!(
        route(&broker, "C2").await.response_code(),
        ResponseCode::SUCCESS
    );

    // A first registration carrying exactly one topic is refused, as Apache does.
    let one = register(&broker, "broker-y", "127.0.0.1:40911", 0, &["ONLY"]).await;
    assert_eq!(
        (one.response_code(), one.remark.as_deref()),
        (ResponseCode::SYSTEM_ERROR, Some("register broker failed"))
    );
    // A garbage body is an error, not a crash.
    let junk = call(
        &broker,
        RequestCode::REGISTER_BROKER,
        &h,
        b"\x78\x9c garbage".to_vec(),
    )
    .await;
    assert_eq!(junk.response_code(), ResponseCode::SYSTEM_ERROR);
}

#[tokio::test]
async fn slaves_learn_their_master_and_get_no_route_of_their_own() {
    let ns = Nsrv::start().await;
    let master = ns.client(Version::V5_3_3).await;
    register(&master, "broker-a", "127.0.0.1:10911", 0, &["T", "U"]).await;
    let slave = ns.client(Version::V5_3_3).await;
    let resp = register(&slave, "broker-a", "127.0.0.1:10921", 1, &["T", "U"]).await;
    let h = RegisterBrokerResponseHeader::read_ext(&resp.ext_fields).unwrap();
    assert_eq!(h.master_addr.as_deref(), Some("127.0.0.1:10911"));
    assert_eq!(h.ha_server_addr.as_deref(), Some("127.0.0.1:10911-ha"));

    // GET_BROKER_MEMBER_GROUP lists both; an unknown name is an empty group.
    let members = async |name: &str| {
        let h = GetBrokerMemberGroupRequestHeader {
            cluster_name: "DefaultCluster".to_owned(),
            broker_name: name.to_owned(),
        };
        let r = call(&slave, RequestCode::GET_BROKER_MEMBER_GROUP, &h, vec![]).await;
        assert_eq!(r.response_code(), ResponseCode::SUCCESS);
        GetBrokerMemberGroupResponseBody::decode(&r.body)
            .unwrap()
            .broker_member_group
    };
    let group = members("broker-a").await;
    assert_eq!(
        (group.cluster.as_str(), group.broker_name.as_str()),
        ("DefaultCluster", "broker-a")
    );
    assert_eq!(
        group.broker_addrs,
        BTreeMap::from([
            (0, "127.0.0.1:10911".to_owned()),
            (1, "127.0.0.1:10921".to_owned())
        ])
    );
    assert!(members("nope").await.broker_addrs.is_empty());

    // The master's connection closes (a crash): the group keeps the slave, and the topics
    // keep their queues on broker-a, so consumers can go on reading from the slave.
    master.close();
    wait_until(async || members("broker-a").await.broker_addrs.len() == 1).await;
    assert_eq!(
        members("broker-a").await.broker_addrs,
        BTreeMap::from([(1, "127.0.0.1:10921".to_owned())])
    );
    let r = TopicRouteData::decode(&route(&slave, "T").await.body).unwrap();
    assert_eq!(
        r.queue_datas.len(),
        1,
        "broker-a's queues stay in the route"
    );
    assert_eq!(
        r.broker_datas[0].broker_addrs,
        BTreeMap::from([(1, "127.0.0.1:10921".to_owned())])
    );
}

#[tokio::test]
async fn brokers_leave_by_unregister_connection_close_or_expiry() {
    let ns = Nsrv::start_with(|c| c.scan_not_active_broker_interval = 100).await;
    let client = ns.client(Version::V5_3_3).await;

    // Unregister.
    let a = ns.client(Version::V5_3_3).await;
    register(&a, "broker-a", "127.0.0.1:10911", 0, &["TA", "TA2"]).await;
    let h = UnRegisterBrokerRequestHeader {
        broker_name: "broker-a".to_owned(),
        broker_addr: "127.0.0.1:10911".to_owned(),
        cluster_name: "DefaultCluster".to_owned(),
        broker_id: 0,
    };
    assert_eq!(
        call(&a, RequestCode::UNREGISTER_BROKER, &h, vec![])
            .await
            .response_code(),
        ResponseCode::SUCCESS
    );
    assert_eq!(
        route(&client, "TA").await.response_code(),
        ResponseCode::TOPIC_NOT_EXIST
    );

    // Connection close removes the broker at once.
    let b = ns.client(Version::V5_3_3).await;
    register(&b, "broker-b", "127.0.0.1:20911", 0, &["TB", "TB2"]).await;
    assert_eq!(
        route(&client, "TB").await.response_code(),
        ResponseCode::SUCCESS
    );
    b.close();
    wait_until(async || {
        route(&client, "TB").await.response_code() == ResponseCode::TOPIC_NOT_EXIST
    })
    .await;

    // Expiry: a 300 ms timeout, scanned every 100 ms; the broker's connection is closed too.
    let c = ns.client(Version::V5_3_3).await;
    let body = RegisterBrokerBody {
        topic_config_serialize_wrapper: topics(&["TC", "TC2"]),
        ..RegisterBrokerBody::default()
    };
    let mut h = register_header("broker-c", "127.0.0.1:30911", 0);
    h.heartbeat_timeout_millis = Some(300);
    assert_eq!(
        call(&c, RequestCode::REGISTER_BROKER, &h, body.encode())
            .await
            .response_code(),
        ResponseCode::SUCCESS
    );
    assert_eq!(
        route(&client, "TC").await.response_code(),
        ResponseCode::SUCCESS
    );
    wait_until(async || {
        route(&client, "TC").await.response_code() == ResponseCode::TOPIC_NOT_EXIST
    })
    .await;
    tokio::time::timeout(T, c.closed())
        .await
        .expect("expired broker's connection is closed");
}

#[tokio::test]
async fn data_versions_perms_and_topic_admin() {
    let ns = Nsrv::start().await;
    let broker = ns.client(Version::V5_3_3).await;
    register(&broker, "broker-a", "127.0.0.1:10911", 0, &["T1", "T2"]).await;

    let q = QueryDataVersionRequestHeader {
        broker_name: "broker-a".to_owned(),
        broker_addr: "127.0.0.1:10911".to_owned(),
        cluster_name: "DefaultCluster".to_owned(),
        broker_id: 0,
    };
    let same = call(
        &broker,
        RequestCode::QUERY_DATA_VERSION,
        &q,
        topics(&[]).data_version.encode(),
    )
    .await;
    assert!(
        !QueryDataVersionResponseHeader::read_ext(&same.ext_fields)
            .unwrap()
            .changed
    );
    let newer = DataVersion {
        counter: 2,
        ..topics(&[]).data_version
    };
    let changed = call(&broker, RequestCode::QUERY_DATA_VERSION, &q, newer.encode()).await;
    assert!(
        QueryDataVersionResponseHeader::read_ext(&changed.ext_fields)
            .unwrap()
            .changed
    );

    let wipe = WipeWritePermOfBrokerRequestHeader {
        broker_name: "broker-a".to_owned(),
    };
    let resp = call(
        &broker,
        RequestCode::WIPE_WRITE_PERM_OF_BROKER,
        &wipe,
        vec![],
    )
    .await;
    assert_eq!(
        WipeWritePermOfBrokerResponseHeader::read_ext(&resp.ext_fields)
            .unwrap()
            .wipe_topic_count,
        2
    );
    let r = TopicRouteData::decode(&route(&broker, "T1").await.body).unwrap();
    assert_eq!(r.queue_datas[0].perm & 2, 0, "write permission wiped");
    let add = AddWritePermOfBrokerRequestHeader {
        broker_name: "broker-a".to_owned(),
    };
    call(&broker, RequestCode::ADD_WRITE_PERM_OF_BROKER, &add, vec![]).await;
    let r = TopicRouteData::decode(&route(&broker, "T1").await.body).unwrap();
    assert_eq!(r.queue_datas[0].perm, 6);

    let del = DeleteTopicFromNamesrvRequestHeader {
        topic: "T2".to_owned(),
        cluster_name: None,
    };
    assert_eq!(
        call(&broker, RequestCode::DELETE_TOPIC_IN_NAMESRV, &del, vec![])
            .await
            .response_code(),
        ResponseCode::SUCCESS
    );
    assert_eq!(
        route(&broker, "T2").await.response_code(),
        ResponseCode::TOPIC_NOT_EXIST
    );

    let reg = RegisterTopicRequestHeader {
        topic: "NEW".to_owned(),
    };
    let body = TopicRouteData {
        queue_datas: vec![
            QueueData {
                broker_name: "broker-a".to_owned(),
                perm: 6,
                read_queue_nums: 2,
                topic_sys_flag: 0,
                write_queue_nums: 2,
            },
            QueueData {
                broker_name: "unknown".to_owned(),
                perm: 6,
                read_queue_nums: 2,
                topic_sys_flag: 0,
                write_queue_nums: 2,
            },
        ],
        ..TopicRouteData::default()
    };
    call(
        &broker,
        RequestCode::REGISTER_TOPIC_IN_NAMESRV,
        &reg,
        body.encode(ferromq_protocol::body::RouteJsonStyle::Standard),
    )
    .await;
    let r = TopicRouteData::decode(&route(&broker, "NEW").await.body).unwrap();
    assert_eq!(
        r.queue_datas.len(),
        1,
        "queues of unregistered brokers are ignored"
    );
}

#[tokio::test]
async fn kv_config_persists_and_feeds_ordered_topics() {
    let dir = tempfile::tempdir().unwrap();
    let kv_path = dir.path().join("kv").join("kvConfig.json");
    let path = kv_path.clone();
    let ns = Nsrv::start_with(move |c| {
        c.kv_config_path = path;
        c.order_message_enable = true;
    })
    .await;
    let admin = ns.client(Version::V5_3_3).await;
    let put = PutKVConfigRequestHeader {
        namespace: "ORDER_TOPIC_CONFIG".to_owned(),
        key: "T".to_owned(),
        value: "broker-a:4".to_owned(),
    };
    assert_eq!(
        call(&admin, RequestCode::PUT_KV_CONFIG, &put, vec![])
            .await
            .response_code(),
        ResponseCode::SUCCESS
    );
    let get = GetKVConfigRequestHeader {
        namespace: "ORDER_TOPIC_CONFIG".to_owned(),
        key: "T".to_owned(),
    };
    let resp = call(&admin, RequestCode::GET_KV_CONFIG, &get, vec![]).await;
    assert_eq!(
        GetKVConfigResponseHeader::read_ext(&resp.ext_fields)
            .unwrap()
            .value
            .as_deref(),
        Some("broker-a:4")
    );
    let missing = GetKVConfigRequestHeader {
        namespace: "X".to_owned(),
        key: "y".to_owned(),
    };
    let resp = call(&admin, RequestCode::GET_KV_CONFIG, &missing, vec![]).await;
    assert_eq!(resp.response_code(), ResponseCode::QUERY_NOT_FOUND);
    assert_eq!(
        resp.remark.as_deref(),
        Some("No config item, Namespace: X Key: y")
    );
    // Names that could be paths and values past kvConfigMaxValueLength are refused.
    for (namespace, value) in [("../x", "v".to_owned()), ("NS", "v".repeat(5000))] {
        let bad = PutKVConfigRequestHeader {
            namespace: namespace.to_owned(),
            key: "k".to_owned(),
            value,
        };
        let resp = call(&admin, RequestCode::PUT_KV_CONFIG, &bad, vec![]).await;
        assert_eq!(
            resp.response_code(),
            ResponseCode::SYSTEM_ERROR,
            "{namespace}"
        );
    }
    let text = std::fs::read_to_string(&kv_path).unwrap();
    assert_eq!(
        text,
        r#"{"configTable":{"ORDER_TOPIC_CONFIG":{"T":"broker-a:4"}}}"#
    );

    // Registration answers with the order config; routes carry orderTopicConf.
    let broker = ns.client(Version::V5_3_3).await;
    let resp = register(&broker, "broker-a", "127.0.0.1:10911", 0, &["T", "U"]).await;
    assert_eq!(
        KVTable::decode(&resp.body)
            .unwrap()
            .table
            .get("T")
            .map(String::as_str),
        Some("broker-a:4")
    );
    let r = TopicRouteData::decode(&route(&broker, "T").await.body).unwrap();
    assert_eq!(r.order_topic_conf.as_deref(), Some("broker-a:4"));

    let list = GetKVListByNamespaceRequestHeader {
        namespace: "ORDER_TOPIC_CONFIG".to_owned(),
    };
    let resp = call(&admin, RequestCode::GET_KVLIST_BY_NAMESPACE, &list, vec![]).await;
    assert_eq!(KVTable::decode(&resp.body).unwrap().table.len(), 1);
    let del = DeleteKVConfigRequestHeader {
        namespace: "ORDER_TOPIC_CONFIG".to_owned(),
        key: "T".to_owned(),
    };
    call(&admin, RequestCode::DELETE_KV_CONFIG, &del, vec![]).await;
    let resp = call(&admin, RequestCode::GET_KVLIST_BY_NAMESPACE, &list, vec![]).await;
    assert_eq!(resp.response_code(), ResponseCode::QUERY_NOT_FOUND);
}

#[tokio::test]
async fn config_updates_are_limited_to_safe_keys() {
    let ns = Nsrv::start().await;
    let admin = ns.client(Version::V5_3_3).await;
    let update = |body: &str| {
        RemotingCommand::request(RequestCode::UPDATE_NAMESRV_CONFIG)
            .with_body(body.as_bytes().to_vec())
    };
    let resp = admin
        .request(update("enableAllTopicList=false\n"), T)
        .await
        .unwrap();
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    let resp = admin
        .request(
            RemotingCommand::request(RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER),
            T,
        )
        .await
        .unwrap();
    assert_eq!(
        (resp.response_code(), resp.remark.as_deref()),
        (ResponseCode::SYSTEM_ERROR, Some("disable"))
    );
    for evil in [
        "kvConfigPath=/tmp/evil.json",
        "configStorePath=/etc/cron.d/x",
        "rocketmqHome=/tmp",
        "listenPort=1",
    ] {
        let resp = admin.request(update(evil), T).await.unwrap();
        assert_eq!(resp.response_code(), ResponseCode::NO_PERMISSION, "{evil}");
        assert!(resp
            .remark
            .unwrap()
            .contains("Can not update config in black list"));
    }
    let resp = admin
        .request(RemotingCommand::request(RequestCode::GET_NAMESRV_CONFIG), T)
        .await
        .unwrap();
    let text = String::from_utf8(resp.body.to_vec()).unwrap();
    let pairs: BTreeMap<_, _> = ferromq_common::java_properties::parse(&text)
        .into_iter()
        .collect();
    assert_eq!(
        pairs.get("enableAllTopicList").map(String::as_str),
        Some("false")
    );
    assert!(!pairs["kvConfigPath"].contains("evil"));
}

#[tokio::test]
async fn bad_input_gets_clear_answers_and_the_server_keeps_serving() {
    let ns = Nsrv::start_with(|c| c.frame_max_length = 64 * 1024).await;
    let client = ns.client(Version::V5_3_3).await;
    let resp = client
        .request(RemotingCommand::request(RequestCode(4242)), T)
        .await
        .unwrap();
    assert_eq!(
        resp.response_code(),
        ResponseCode::REQUEST_CODE_NOT_SUPPORTED
    );
    assert_eq!(
        resp.remark.as_deref(),
        Some(" request type 4242 not supported")
    );
    // A missing required header field is named.
    let resp = client
        .request(
            RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC),
            T,
        )
        .await
        .unwrap();
    assert_eq!(resp.response_code(), ResponseCode::SYSTEM_ERROR);
    assert!(resp.remark.unwrap().contains("`topic`"));

    let mut over = Vec::new();
    over.extend_from_slice(&(1_000_000i32).to_be_bytes());
    over.extend_from_slice(&[0u8; 64]);
    let truncated_then_close = b"\x00\x00\x00\x40\x00\x00\x00\x10{\"code\":1".to_vec();
    for bad in [
        b"GET / HTTP/1.1\r\n\r\n".to_vec(),
        over,
        truncated_then_close,
        b"\x00\x00\x00\x06\x00\x00\x00\x02{]".to_vec(),
    ] {
        let mut s = TcpStream::connect(&ns.addr).await.unwrap();
        s.write_all(&bad).await.unwrap();
        let _ = s.shutdown().await;
        let mut buf = [0u8; 64];
        let n = tokio::time::timeout(T, s.read(&mut buf))
            .await
            .expect("closed, not hung")
            .unwrap_or(0);
        assert_eq!(n, 0, "no answer to a malformed frame");
    }
    let resp = route(&client, "whatever").await;
    assert_eq!(
        resp.response_code(),
        ResponseCode::TOPIC_NOT_EXIST,
        "still serving"
    );
}

/// The whole answer to `GET /metrics` on `port`.
async fn scrape(port: u16) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut out = String::new();
    tokio::time::timeout(T, s.read_to_string(&mut out))
        .await
        .expect("answered in time")
        .unwrap();
    out
}

#[tokio::test]
async fn prometheus_metrics_count_brokers_topics_kv_and_requests() {
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let ns = Nsrv::start_with(move |c| {
        c.metrics_exporter_type = ferromq_namesrv::config::MetricsExporterType::Prom;
        c.metrics_prom_exporter_host = "127.0.0.1".to_owned();
        c.metrics_prom_exporter_port = port;
    })
    .await;
    let conn = ns.client(Version::V5_3_3).await;
    for (addr, id) in [("127.0.0.1:10911", 0), ("127.0.0.1:10921", 1)] {
        let r = register(&conn, "broker-a", addr, id, &["Metered", "Other"]).await;
        assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    }
    assert_eq!(
        route(&conn, "Nowhere").await.response_code(),
        ResponseCode::TOPIC_NOT_EXIST
    );
    let put = PutKVConfigRequestHeader {
        namespace: "NS".to_owned(),
        key: "k".to_owned(),
        value: "v".to_owned(),
    };
    let r = call(&conn, RequestCode::PUT_KV_CONFIG, &put, vec![]).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);

    let answer = scrape(port).await;
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let node = format!(r#"node_type="namesrv",node_id="{}""#, ns.addr);
    for line in [
        format!(r#"ferromq_namesrv_brokers{{{node},cluster="DefaultCluster"}} 2"#),
        format!("ferromq_namesrv_topics{{{node}}} 2"),
        format!("ferromq_namesrv_kv_entries{{{node}}} 1"),
        format!(
            r#"rocketmq_rpc_latency_count{{{node},protocol_type="remoting",request_code="get_routeinfo_by_topic",response_code="topic_not_exist",is_long_polling="false",result="success"}} 1"#
        ),
        format!(
            r#"rocketmq_rpc_latency_count{{{node},protocol_type="remoting",request_code="register_broker",response_code="success",is_long_polling="false",result="success"}} 2"#
        ),
    ] {
        assert!(body.lines().any(|l| l == line), "{line}\nin\n{body}");
    }
}

/// `writeAllowList` (FerroMQ only): changes from addresses outside it get NO_PERMISSION and
/// change nothing; reads stay open; the list itself cannot be changed remotely.
#[tokio::test]
async fn write_allow_list_guards_changes_and_leaves_reads_open() {
    // A list this test's client (127.0.0.1) is outside of.
    let closed =
        Nsrv::start_with(|c| c.write_allow_list = "10.0.0.*;192.168.1.{1,2}".to_owned()).await;
    let stranger = closed.client(Version::V5_3_3).await;
    let refused = |resp: &RemotingCommand, code: RequestCode| {
        assert_eq!(
            resp.response_code(),
            ResponseCode::NO_PERMISSION,
            "{code:?}: {resp:?}"
        );
        let remark = resp.remark.as_deref().unwrap_or_default();
        assert!(
            remark.contains(&code.0.to_string())
                && remark.contains("127.0.0.1")
                && remark.contains("writeAllowList"),
            "{remark}"
        );
    };
    let resp = register(
        &stranger,
        "fake-b",
        "127.0.0.1:10911",
        0,
        &["Stolen", "Stolen2"],
    )
    .await;
    refused(&resp, RequestCode::REGISTER_BROKER);
    let put = PutKVConfigRequestHeader {
        namespace: "ORDER_TOPIC_CONFIG".to_owned(),
        key: "Stolen".to_owned(),
        value: "fake-b:8".to_owned(),
    };
    refused(
        &call(&stranger, RequestCode::PUT_KV_CONFIG, &put, Vec::new()).await,
        RequestCode::PUT_KV_CONFIG,
    );
    let config = RemotingCommand::request(RequestCode::UPDATE_NAMESRV_CONFIG)
        .with_body(b"enableAllTopicList=false\n".to_vec());
    refused(
        &stranger.request(config, T).await.unwrap(),
        RequestCode::UPDATE_NAMESRV_CONFIG,
    );
    for code in [
        RequestCode::UNREGISTER_BROKER,
        RequestCode::DELETE_KV_CONFIG,
        RequestCode::WIPE_WRITE_PERM_OF_BROKER,
        RequestCode::ADD_WRITE_PERM_OF_BROKER,
        RequestCode::DELETE_TOPIC_IN_NAMESRV,
        RequestCode::REGISTER_TOPIC_IN_NAMESRV,
    ] {
        let resp = stranger
            .request(RemotingCommand::request(code), T)
            .await
            .unwrap();
        refused(&resp, code);
    }
    // Nothing changed, and reads are served.
    let resp = route(&stranger, "Stolen").await;
    assert_eq!(resp.response_code(), ResponseCode::TOPIC_NOT_EXIST);
    let resp = stranger
        .request(
            RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_INFO),
            T,
        )
        .await
        .unwrap();
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    let info = ClusterInfo::decode(&resp.body).unwrap();
    assert!(info.broker_addr_table.is_empty(), "{info:?}");
    let get = GetKVConfigRequestHeader {
        namespace: "ORDER_TOPIC_CONFIG".to_owned(),
        key: "Stolen".to_owned(),
    };
    let resp = call(&stranger, RequestCode::GET_KV_CONFIG, &get, Vec::new()).await;
    assert_eq!(resp.response_code(), ResponseCode::QUERY_NOT_FOUND);

    // A list holding the client: served as without one, but the list cannot be widened remotely.
    let open = Nsrv::start_with(|c| c.write_allow_list = "10.0.0.*; 127.0.0.1".to_owned()).await;
    let broker = open.client(Version::V5_3_3).await;
    let resp = register(
        &broker,
        "broker-a",
        "127.0.0.1:10911",
        0,
        &["Orders", "Audit"],
    )
    .await;
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS, "{resp:?}");
    assert_eq!(
        route(&broker, "Orders").await.response_code(),
        ResponseCode::SUCCESS
    );
    let resp = call(&broker, RequestCode::PUT_KV_CONFIG, &put, Vec::new()).await;
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    let widen = RemotingCommand::request(RequestCode::UPDATE_NAMESRV_CONFIG)
        .with_body(b"writeAllowList=*\n".to_vec());
    let resp = broker.request(widen, T).await.unwrap();
    assert_eq!(resp.response_code(), ResponseCode::NO_PERMISSION);
    assert!(resp.remark.unwrap().contains("black list"));
}

#[tokio::test]
async fn a_bad_write_allow_list_stops_start_up() {
    let config = NamesrvConfig {
        write_allow_list: "10.0.0".to_owned(),
        listen_port: 0,
        bind_address: "127.0.0.1".to_owned(),
        ..NamesrvConfig::default()
    };
    let e = ferromq_namesrv::bind(&config).await.expect_err("refused");
    assert!(e.to_string().contains("writeAllowList"), "{e}");
}
