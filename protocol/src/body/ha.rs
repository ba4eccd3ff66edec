//! Replication bodies: GET_BROKER_HA_STATUS (`HARuntimeInfo`, what `mqadmin haStatus` prints)
//! and the name server's GET_BROKER_MEMBER_GROUP (`GetBrokerMemberGroupResponseBody`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A broker's replication state (`HARuntimeInfo`). A master fills the connection list; a slave
/// fills [`HaClientRuntimeInfo`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct HaRuntimeInfo {
    /// Whether the broker is a master.
    pub master: bool,
    /// A master's commitlog end.
    pub master_commit_log_max_offset: i64,
    /// How many connected slaves are within `haMaxGapNotInSync` of the master.
    pub in_sync_slave_nums: i32,
    /// A master's slave connections.
    pub ha_connection_info: Vec<HaConnectionRuntimeInfo>,
    /// A slave's link to its master.
    pub ha_client_runtime_info: HaClientRuntimeInfo,
}

json_body!(HaRuntimeInfo);

/// One slave connection of a master (`HARuntimeInfo.HAConnectionRuntimeInfo`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct HaConnectionRuntimeInfo {
    /// The slave's address as the master sees the connection (`ip:port`).
    pub addr: String,
    /// The offset the slave last acknowledged.
    pub slave_ack_offset: i64,
    /// The master's end minus that acknowledgement: the lag in bytes.
    pub diff: i64,
    /// Whether the lag is below `haMaxGapNotInSync`.
    pub in_sync: bool,
    /// Bytes sent to the slave in the last second.
    pub transferred_byte_in_second: i64,
    /// The offset the transfer started from.
    pub transfer_from_where: i64,
}

/// A slave's link to its master (`HARuntimeInfo.HAClientRuntimeInfo`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct HaClientRuntimeInfo {
    /// The master's HA address (empty while none is known).
    pub master_addr: String,
    /// Bytes received from the master in the last second.
    pub transferred_byte_in_second: i64,
    /// The slave's commitlog end.
    pub max_offset: i64,
    /// When the master last sent something (ms since the epoch; 0: never).
    pub last_read_timestamp: i64,
    /// When the slave last reported its offset (ms since the epoch; 0: never).
    pub last_write_timestamp: i64,
    /// The master's flushed offset as the slave knows it (0 where unknown).
    pub master_flush_offset: i64,
}

/// The registered members of one broker name (`BrokerMemberGroup`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BrokerMemberGroup {
    /// Cluster name, as asked.
    pub cluster: String,
    /// Broker name.
    pub broker_name: String,
    /// Broker id to address (0: the master).
    #[serde(deserialize_with = "super::de::id_map")]
    pub broker_addrs: BTreeMap<i64, String>,
}

/// The GET_BROKER_MEMBER_GROUP answer (`GetBrokerMemberGroupResponseBody`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct GetBrokerMemberGroupResponseBody {
    /// The group.
    pub broker_member_group: BrokerMemberGroup,
}

json_body!(GetBrokerMemberGroupResponseBody, bare_int_keys_in: ["brokerAddrs"]);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_group_as_fastjson_writes_it() {
        let mut body = GetBrokerMemberGroupResponseBody::default();
        body.broker_member_group.cluster = "DefaultCluster".into();
        body.broker_member_group.broker_name = "broker-a".into();
        body.broker_member_group
            .broker_addrs
            .insert(0, "10.0.0.1:10911".into());
        body.broker_member_group
            .broker_addrs
            .insert(1, "10.0.0.2:10911".into());
        let text = body.to_json();
        assert_eq!(
            text,
            r#"{"brokerMemberGroup":{"brokerAddrs":{0:"10.0.0.1:10911",1:"10.0.0.2:10911"},"brokerName":"broker-a","cluster":"DefaultCluster"}}"#
        );
        let back = GetBrokerMemberGroupResponseBody::decode(text.as_bytes()).expect("decode");
        assert_eq!(back, body);
    }

    #[test]
    fn ha_runtime_info_field_names() {
        let info = HaRuntimeInfo {
            master: true,
            master_commit_log_max_offset: 100,
            in_sync_slave_nums: 1,
            ha_connection_info: vec![HaConnectionRuntimeInfo {
                addr: "127.0.0.1:50000".into(),
                slave_ack_offset: 90,
                diff: 10,
                in_sync: true,
                transferred_byte_in_second: 5,
                transfer_from_where: 0,
            }],
            ha_client_runtime_info: HaClientRuntimeInfo::default(),
        };
        let text = info.to_json();
        for key in [
            "\"master\":true",
            "\"masterCommitLogMaxOffset\":100",
            "\"inSyncSlaveNums\":1",
            "\"slaveAckOffset\":90",
            "\"diff\":10",
            "\"inSync\":true",
            "\"transferredByteInSecond\":5",
            "\"transferFromWhere\":0",
            "\"haClientRuntimeInfo\":{",
            "\"lastReadTimestamp\":0",
            "\"masterFlushOffset\":0",
        ] {
            assert!(text.contains(key), "{key} missing from {text}");
        }
        assert_eq!(
            HaRuntimeInfo::decode(text.as_bytes()).expect("decode"),
            info
        );
    }
}
