//! Name server headers (docs/protocol.md, "Name server headers", Java `header/namesrv/`).

command_header! {
    /// `GetRouteInfoRequestHeader` (105, `GET_ROUTEINFO_BY_TOPIC`).
    pub struct GetRouteInfoRequestHeader {
        /// Topic to route.
        topic: String, "topic", required;
        /// 4.9.4+: the client wants quoted (standard JSON) `brokerAddrs` keys.
        accept_standard_json_only: bool, "acceptStandardJsonOnly", optional;
    }
}

command_header! {
    /// `RegisterBrokerRequestHeader` (103); the body is a `RegisterBrokerBody`.
    pub struct RegisterBrokerRequestHeader {
        /// Broker name.
        broker_name: String, "brokerName", required;
        /// Broker address clients use, `ip:port`.
        broker_addr: String, "brokerAddr", required;
        /// Cluster name.
        cluster_name: String, "clusterName", required;
        /// HA address for slaves.
        ha_server_addr: String, "haServerAddr", required;
        /// Broker id: 0 master, > 0 slave.
        broker_id: i64, "brokerId", required;
        /// 5.x heartbeat timeout, ms.
        heartbeat_timeout_millis: i64, "heartbeatTimeoutMillis", optional;
        /// 5.x acting-master support (unset means an old broker).
        enable_acting_master: bool, "enableActingMaster", optional;
        /// Whether the body is compressed.
        compressed: bool, "compressed", optional;
        /// CRC32 & 0x7FFFFFFF of the body; 0 means no check.
        body_crc32: i32, "bodyCrc32", optional;
    }
}

command_header! {
    /// `RegisterBrokerResponseHeader`; the body is a KVTable (order topic config).
    pub struct RegisterBrokerResponseHeader {
        /// The master's HA address (for slaves).
        ha_server_addr: String, "haServerAddr", optional;
        /// The master's address (for slaves).
        master_addr: String, "masterAddr", optional;
    }
}

command_header! {
    /// `UnRegisterBrokerRequestHeader` (104).
    pub struct UnRegisterBrokerRequestHeader {
        /// Broker name.
        broker_name: String, "brokerName", required;
        /// Broker address.
        broker_addr: String, "brokerAddr", required;
        /// Cluster name.
        cluster_name: String, "clusterName", required;
        /// Broker id.
        broker_id: i64, "brokerId", required;
    }
}

command_header! {
    /// `BrokerHeartbeatRequestHeader` (904, oneway, 5.x light heartbeat).
    pub struct BrokerHeartbeatRequestHeader {
        /// Cluster name.
        cluster_name: String, "clusterName", required;
        /// Broker address.
        broker_addr: String, "brokerAddr", required;
        /// Broker name.
        broker_name: String, "brokerName", required;
        /// Broker id.
        broker_id: i64, "brokerId", optional;
        /// Controller epoch.
        epoch: i32, "epoch", optional;
        /// Max commitlog offset.
        max_offset: i64, "maxOffset", optional;
        /// Confirmed commitlog offset.
        confirm_offset: i64, "confirmOffset", optional;
        /// Heartbeat timeout, ms (the key's spelling is Java's).
        heartbeat_timeout_millis: i64, "heartbeatTimeoutMills", optional;
        /// Controller election priority.
        election_priority: i32, "electionPriority", optional;
    }
}

command_header! {
    /// `QueryDataVersionRequestHeader` (322); the body is the broker's DataVersion.
    pub struct QueryDataVersionRequestHeader {
        /// Broker name.
        broker_name: String, "brokerName", required;
        /// Broker address.
        broker_addr: String, "brokerAddr", required;
        /// Cluster name.
        cluster_name: String, "clusterName", required;
        /// Broker id.
        broker_id: i64, "brokerId", required;
    }
}

command_header! {
    /// `QueryDataVersionResponseHeader`.
    pub struct QueryDataVersionResponseHeader {
        /// Whether the name server's DataVersion differs from the broker's.
        changed: bool, "changed", required;
    }
}

/// FerroMQ: the KV namespace in which a broker with a WebSocket listener announces it to the
/// name servers (key: the broker address `ip:port` as in route data, value: `ws://ip:port/`), so
/// browser clients find the WebSocket endpoint of every broker in a route.
pub const WEBSOCKET_KV_NAMESPACE: &str = "FERROMQ_WEBSOCKET";

command_header! {
    /// `PutKVConfigRequestHeader` (100).
    pub struct PutKVConfigRequestHeader {
        /// Namespace.
        namespace: String, "namespace", required;
        /// Key.
        key: String, "key", required;
        /// Value.
        value: String, "value", required;
    }
}

command_header! {
    /// `GetKVConfigRequestHeader` (101).
    pub struct GetKVConfigRequestHeader {
        /// Namespace.
        namespace: String, "namespace", required;
        /// Key.
        key: String, "key", required;
    }
}

command_header! {
    /// `GetKVConfigResponseHeader`; an absent item is answered with code 22 instead.
    pub struct GetKVConfigResponseHeader {
        /// The value.
        value: String, "value", optional;
    }
}

command_header! {
    /// `DeleteKVConfigRequestHeader` (102).
    pub struct DeleteKVConfigRequestHeader {
        /// Namespace.
        namespace: String, "namespace", required;
        /// Key.
        key: String, "key", required;
    }
}

command_header! {
    /// `GetKVListByNamespaceRequestHeader` (219).
    pub struct GetKVListByNamespaceRequestHeader {
        /// Namespace.
        namespace: String, "namespace", required;
    }
}

command_header! {
    /// `DeleteTopicFromNamesrvRequestHeader` (216).
    pub struct DeleteTopicFromNamesrvRequestHeader {
        /// Topic.
        topic: String, "topic", required;
        /// Only from this cluster (all when unset).
        cluster_name: String, "clusterName", optional;
    }
}

command_header! {
    /// `RegisterTopicRequestHeader` (217); the body is a TopicRouteData.
    pub struct RegisterTopicRequestHeader {
        /// Topic.
        topic: String, "topic", required;
    }
}

command_header! {
    /// `WipeWritePermOfBrokerRequestHeader` (205).
    pub struct WipeWritePermOfBrokerRequestHeader {
        /// Broker name.
        broker_name: String, "brokerName", required;
    }
}

command_header! {
    /// `WipeWritePermOfBrokerResponseHeader`.
    pub struct WipeWritePermOfBrokerResponseHeader {
        /// Number of topics whose write permission was removed.
        wipe_topic_count: i32, "wipeTopicCount", required;
    }
}

command_header! {
    /// `AddWritePermOfBrokerRequestHeader` (327, 5.x).
    pub struct AddWritePermOfBrokerRequestHeader {
        /// Broker name.
        broker_name: String, "brokerName", required;
    }
}

command_header! {
    /// `AddWritePermOfBrokerResponseHeader` (5.x).
    pub struct AddWritePermOfBrokerResponseHeader {
        /// Number of topics whose write permission was restored.
        add_topic_count: i32, "addTopicCount", required;
    }
}

command_header! {
    /// `GetBrokerMemberGroupRequestHeader` (901, 5.x): the members of one broker name.
    pub struct GetBrokerMemberGroupRequestHeader {
        /// Cluster name (echoed in the answer; Apache looks the group up by name only).
        cluster_name: String, "clusterName", required;
        /// Broker name.
        broker_name: String, "brokerName", required;
    }
}

command_header! {
    /// `GetTopicsByClusterRequestHeader` (224).
    pub struct GetTopicsByClusterRequestHeader {
        /// Cluster name.
        cluster: String, "cluster", required;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ext::CommandHeader;
    use crate::header::test_support::{check_header, check_invalid, ext_of};

    const BROKER_ID: &[(&str, &str)] = &[
        ("brokerName", "broker-a"),
        ("brokerAddr", "10.0.0.1:10911"),
        ("clusterName", "DefaultCluster"),
        ("brokerId", "0"),
    ];
    const BROKER_ID_REQUIRED: &[&str] = &["brokerName", "brokerAddr", "clusterName", "brokerId"];

    #[test]
    fn route_info() {
        let h = GetRouteInfoRequestHeader {
            topic: "t".into(),
            accept_standard_json_only: Some(true),
        };
        let g: &[(&str, &str)] = &[("topic", "t"), ("acceptStandardJsonOnly", "true")];
        check_header(&h, g, &["topic"]);
        let mut ext = ext_of(g);
        ext.insert("acceptStandardJsonOnly", "yes");
        assert_eq!(
            GetRouteInfoRequestHeader::read_ext(&ext).map(|h| h.accept_standard_json_only),
            Ok(Some(false))
        );
    }

    #[test]
    fn register_broker() {
        let h = RegisterBrokerRequestHeader {
            broker_name: "broker-a".into(),
            broker_addr: "10.0.0.1:10911".into(),
            cluster_name: "DefaultCluster".into(),
            ha_server_addr: "10.0.0.1:10912".into(),
            broker_id: 0,
            heartbeat_timeout_millis: Some(120_000),
            enable_acting_master: Some(false),
            compressed: Some(false),
            body_crc32: Some(2_147_483_647),
        };
        let g: &[(&str, &str)] = &[
            ("brokerName", "broker-a"),
            ("brokerAddr", "10.0.0.1:10911"),
            ("clusterName", "DefaultCluster"),
            ("haServerAddr", "10.0.0.1:10912"),
            ("brokerId", "0"),
            ("heartbeatTimeoutMillis", "120000"),
            ("enableActingMaster", "false"),
            ("compressed", "false"),
            ("bodyCrc32", "2147483647"),
        ];
        check_header(
            &h,
            g,
            &[
                "brokerName",
                "brokerAddr",
                "clusterName",
                "haServerAddr",
                "brokerId",
            ],
        );
        check_invalid::<RegisterBrokerRequestHeader>(g, "brokerId", "master");
        check_header(
            &RegisterBrokerResponseHeader {
                ha_server_addr: Some("h:1".into()),
                master_addr: Some("m:2".into()),
            },
            &[("haServerAddr", "h:1"), ("masterAddr", "m:2")],
            &[],
        );
    }

    #[test]
    fn unregister_and_query_data_version() {
        let un = UnRegisterBrokerRequestHeader {
            broker_name: "broker-a".into(),
            broker_addr: "10.0.0.1:10911".into(),
            cluster_name: "DefaultCluster".into(),
            broker_id: 0,
        };
        check_header(&un, BROKER_ID, BROKER_ID_REQUIRED);
        let q = QueryDataVersionRequestHeader {
            broker_name: un.broker_name,
            broker_addr: un.broker_addr,
            cluster_name: un.cluster_name,
            broker_id: 0,
        };
        check_header(&q, BROKER_ID, BROKER_ID_REQUIRED);
        check_header(
            &QueryDataVersionResponseHeader { changed: true },
            &[("changed", "true")],
            &["changed"],
        );
    }

    #[test]
    fn broker_heartbeat() {
        let h = BrokerHeartbeatRequestHeader {
            cluster_name: "c".into(),
            broker_addr: "a:1".into(),
            broker_name: "b".into(),
            broker_id: Some(1),
            epoch: Some(2),
            max_offset: Some(3),
            confirm_offset: Some(4),
            heartbeat_timeout_millis: Some(5),
            election_priority: Some(6),
        };
        check_header(
            &h,
            &[
                ("clusterName", "c"),
                ("brokerAddr", "a:1"),
                ("brokerName", "b"),
                ("brokerId", "1"),
                ("epoch", "2"),
                ("maxOffset", "3"),
                ("confirmOffset", "4"),
                ("heartbeatTimeoutMills", "5"),
                ("electionPriority", "6"),
            ],
            &["clusterName", "brokerAddr", "brokerName"],
        );
    }

    #[test]
    fn kv_config() {
        let nk: &[(&str, &str)] = &[("namespace", "ORDER_TOPIC_CONFIG"), ("key", "t")];
        check_header(
            &PutKVConfigRequestHeader {
                namespace: "ORDER_TOPIC_CONFIG".into(),
                key: "t".into(),
                value: "broker-a:4".into(),
            },
            &[
                ("namespace", "ORDER_TOPIC_CONFIG"),
                ("key", "t"),
                ("value", "broker-a:4"),
            ],
            &["namespace", "key", "value"],
        );
        check_header(
            &GetKVConfigRequestHeader {
                namespace: "ORDER_TOPIC_CONFIG".into(),
                key: "t".into(),
            },
            nk,
            &["namespace", "key"],
        );
        check_header(
            &DeleteKVConfigRequestHeader {
                namespace: "ORDER_TOPIC_CONFIG".into(),
                key: "t".into(),
            },
            nk,
            &["namespace", "key"],
        );
        check_header(
            &GetKVConfigResponseHeader {
                value: Some("broker-a:4".into()),
            },
            &[("value", "broker-a:4")],
            &[],
        );
        check_header(
            &GetKVListByNamespaceRequestHeader {
                namespace: "ns".into(),
            },
            &[("namespace", "ns")],
            &["namespace"],
        );
    }

    #[test]
    fn topics_and_permissions() {
        check_header(
            &DeleteTopicFromNamesrvRequestHeader {
                topic: "t".into(),
                cluster_name: Some("c".into()),
            },
            &[("topic", "t"), ("clusterName", "c")],
            &["topic"],
        );
        check_header(
            &RegisterTopicRequestHeader { topic: "t".into() },
            &[("topic", "t")],
            &["topic"],
        );
        check_header(
            &GetTopicsByClusterRequestHeader {
                cluster: "c".into(),
            },
            &[("cluster", "c")],
            &["cluster"],
        );
        let b: &[(&str, &str)] = &[("brokerName", "broker-a")];
        check_header(
            &WipeWritePermOfBrokerRequestHeader {
                broker_name: "broker-a".into(),
            },
            b,
            &["brokerName"],
        );
        check_header(
            &AddWritePermOfBrokerRequestHeader {
                broker_name: "broker-a".into(),
            },
            b,
            &["brokerName"],
        );
        check_header(
            &WipeWritePermOfBrokerResponseHeader {
                wipe_topic_count: 7,
            },
            &[("wipeTopicCount", "7")],
            &["wipeTopicCount"],
        );
        check_header(
            &AddWritePermOfBrokerResponseHeader { add_topic_count: 7 },
            &[("addTopicCount", "7")],
            &["addTopicCount"],
        );
    }
}
