//! Robustness of the JSON body decoders: random bytes, truncations and mutations of valid bodies
//! return errors or values, never panic; round trips hold for generated values.

use std::io::Write;

use ferromq_protocol::body::*;
use ferromq_protocol::Version;
use proptest::prelude::*;

fn decode_all(bytes: &[u8]) {
    let _ = TopicRouteData::decode(bytes);
    let _ = ClusterInfo::decode(bytes);
    let _ = HeartbeatData::decode(bytes);
    let _ = TopicConfig::decode(bytes);
    let _ = DataVersion::decode(bytes);
    let _ = TopicConfigSerializeWrapper::decode(bytes);
    let _ = RegisterBrokerBody::decode(bytes);
    let _ = TopicList::decode(bytes);
    let _ = KVTable::decode(bytes);
    let _ = KvConfigFile::decode(bytes);
    let _ = LockBatchRequestBody::decode(bytes);
    let _ = UnlockBatchRequestBody::decode(bytes);
    let _ = LockBatchResponseBody::decode(bytes);
    let _ = GetConsumerListByGroupResponseBody::decode(bytes);
    let _ = ConsumerConnection::decode(bytes);
    let _ = ProducerConnection::decode(bytes);
    let _ = CheckClientRequestBody::decode(bytes);
    let _ = TopicStatsTable::decode(bytes);
    let _ = ConsumeStats::decode(bytes);
    let _ = ResetOffsetBody::decode(bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        let _ = TopicConfig::decode_compact(text);
    }
    for v in [Version::V4_9_8, Version::V5_3_3] {
        let _ = RegisterBrokerBody::decode_compressed(bytes, v, 1 << 20);
        let _ = RegisterBrokerBody::decode_request(bytes, true, v);
    }
}

const SAMPLES: &[&str] = &[
    r#"{"brokerDatas":[{"brokerAddrs":{0:"10.0.0.1:10911"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}"#,
    r#"{"clientID":"c","consumerDataSet":[{"consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","consumeType":"CONSUME_PASSIVELY","groupName":"G","messageModel":"CLUSTERING","subscriptionDataSet":[{"classFilterMode":false,"codeSet":[1],"expressionType":"TAG","subString":"a","subVersion":1,"tagsSet":["a"],"topic":"T"}],"unitMode":false}],"producerDataSet":[{"groupName":"P"}]}"#,
    r#"{"consumeTps":0.0,"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:{"brokerOffset":1,"consumerOffset":0,"lastTimestamp":0,"pullOffset":0}}}"#,
];

fn compressed_sample() -> Vec<u8> {
    let mut body = RegisterBrokerBody::default();
    for t in ["T1", "T2", "%RETRY%G"] {
        body.topic_config_serialize_wrapper
            .topic_config_table
            .insert(t.into(), TopicConfig::new(t, 4, 4));
    }
    body.encode_compressed(Version::V5_3_3)
}

fn deflate(raw: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(raw).expect("write into Vec");
    enc.finish().expect("finish into Vec")
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        decode_all(&bytes);
    }

    #[test]
    fn json_ish_text_never_panics(text in r#"[\{\}\[\]":,0-9a-zA-Z' \-\.]{0,200}"#) {
        decode_all(text.as_bytes());
    }

    #[test]
    fn mutated_samples_never_panic(idx in 0usize..3, pos in any::<usize>(), byte in any::<u8>()) {
        let mut bytes = SAMPLES[idx].as_bytes().to_vec();
        let at = pos % bytes.len();
        bytes[at] = byte;
        decode_all(&bytes);
        decode_all(&bytes[..at]);
    }

    #[test]
    fn mutated_compressed_bodies_never_panic(pos in any::<usize>(), byte in any::<u8>()) {
        let mut bytes = compressed_sample();
        let at = pos % bytes.len();
        bytes[at] ^= byte | 1;
        let _ = RegisterBrokerBody::decode_compressed(&bytes, Version::V5_3_3, 1 << 20);
        let _ = RegisterBrokerBody::decode_compressed(&bytes[..at], Version::V5_3_3, 1 << 20);
    }

    /// Valid zlib around random (mostly malformed) inner layouts: lengths, counts, text.
    #[test]
    fn random_inflated_layouts_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..256),
                                           count in any::<i32>()) {
        let _ = RegisterBrokerBody::decode_compressed(&deflate(&raw), Version::V5_3_3, 1 << 20);
        let mut framed = Vec::new();
        framed.extend_from_slice(&2i32.to_be_bytes());
        framed.extend_from_slice(b"{}");
        framed.extend_from_slice(&count.to_be_bytes());
        framed.extend_from_slice(&raw);
        let _ = RegisterBrokerBody::decode_compressed(&deflate(&framed), Version::V5_3_3, 1 << 20);
    }

    #[test]
    fn topic_config_round_trips(name in "[A-Za-z0-9%_-]{1,40}", r in 0i32..1024, w in 0i32..1024,
                                perm in 0i32..16, multi in any::<bool>(), order in any::<bool>(),
                                sys in 0i32..4, attrs in proptest::collection::btree_map("[a-z.+]{1,8}", "[A-Za-z0-9]{0,8}", 0..3)) {
        let tc = TopicConfig {
            attributes: attrs,
            order,
            perm,
            read_queue_nums: r,
            topic_filter_type: if multi { TopicFilterType::MultiTag } else { TopicFilterType::SingleTag },
            topic_name: name,
            topic_sys_flag: sys,
            write_queue_nums: w,
        };
        prop_assert_eq!(TopicConfig::decode(&tc.encode()).expect("json"), tc.clone());
        let compact = TopicConfig::decode_compact(&tc.encode_compact()).expect("compact");
        prop_assert_eq!(compact, TopicConfig { order: false, topic_sys_flag: 0, ..tc });
    }

    #[test]
    fn route_round_trips(addrs in proptest::collection::btree_map(0i64..20, "[0-9.]{1,15}:[0-9]{1,5}", 0..4),
                         name in "[a-z-]{1,12}", zone in proptest::option::of("[a-zé]{0,6}")) {
        let route = TopicRouteData {
            broker_datas: vec![BrokerData {
                broker_addrs: addrs,
                broker_name: name.clone(),
                cluster: "c".into(),
                enable_acting_master: false,
                zone_name: zone,
            }],
            queue_datas: vec![QueueData { broker_name: name, perm: 6, read_queue_nums: 4, topic_sys_flag: 0, write_queue_nums: 4 }],
            ..TopicRouteData::default()
        };
        for style in [RouteJsonStyle::Legacy, RouteJsonStyle::Standard] {
            let text = route.to_json(style);
            prop_assert!(!text.contains(' '));
            prop_assert_eq!(TopicRouteData::decode(text.as_bytes()).expect("decode"), route.clone());
        }
    }
}
