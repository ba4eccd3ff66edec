//! Controller bodies (Java `protocol/body/`): the sync state set of a broker set, the answer to
//! an election, and the replica listing of CONTROLLER_GET_SYNC_STATE_DATA.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::ha::BrokerMemberGroup;

/// `SyncStateSet`: the replicas in sync with the master, and the epoch of that set. Body of
/// ALTER_SYNC_STATE_SET (both ways), REGISTER_BROKER and GET_REPLICA_INFO answers, and
/// NOTIFY_BROKER_ROLE_CHANGED.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SyncStateSet {
    /// Broker ids in sync (the master included).
    pub sync_state_set: BTreeSet<i64>,
    /// Bumped at every change of the set.
    pub sync_state_set_epoch: i32,
}

json_body!(SyncStateSet);

/// `ElectMasterResponseBody`: the broker set's members and the new sync state set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ElectMasterResponseBody {
    /// Every replica of the broker set (id to address); absent when nothing was elected.
    pub broker_member_group: Option<BrokerMemberGroup>,
    /// The sync state set after the election.
    pub sync_state_set: BTreeSet<i64>,
}

json_body!(ElectMasterResponseBody, bare_int_keys_in: ["brokerAddrs"]);

/// `BrokerReplicasInfo`: per broker name, its master and replicas (answer of
/// CONTROLLER_GET_SYNC_STATE_DATA, what `mqadmin getSyncStateSet` prints).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BrokerReplicasInfo {
    /// Broker name to its replicas.
    pub replicas_info_table: BTreeMap<String, ReplicasInfo>,
}

json_body!(BrokerReplicasInfo);

/// `BrokerReplicasInfo.ReplicasInfo`: one broker set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ReplicasInfo {
    /// The master's id (absent while there is none).
    pub master_broker_id: Option<i64>,
    /// The master's address.
    pub master_address: Option<String>,
    /// The master epoch.
    pub master_epoch: Option<i32>,
    /// The sync state set epoch.
    pub sync_state_set_epoch: Option<i32>,
    /// Replicas in the sync state set.
    pub in_sync_replicas: Vec<ReplicaIdentity>,
    /// Replicas outside it.
    pub not_in_sync_replicas: Vec<ReplicaIdentity>,
}

/// `BrokerReplicasInfo.ReplicaIdentity`: one replica.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ReplicaIdentity {
    /// Broker name.
    pub broker_name: String,
    /// Broker id.
    pub broker_id: i64,
    /// Broker address.
    pub broker_address: String,
    /// Whether it heartbeats to the controller.
    pub alive: bool,
}

/// `EpochEntry`: one master epoch of a broker's log, from `startOffset` to `endOffset`
/// (`Long.MAX_VALUE` for the open newest epoch in GET_BROKER_EPOCH_CACHE answers).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct EpochEntry {
    /// Where the epoch's messages end (exclusive).
    pub end_offset: i64,
    /// The master epoch.
    pub epoch: i32,
    /// Where the epoch's messages start.
    pub start_offset: i64,
}

/// `EpochEntryCache`: a broker's epochs and log end (answer of GET_BROKER_EPOCH_CACHE 1007,
/// what `mqadmin getBrokerEpoch` prints).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct EpochEntryCache {
    /// The broker's id in its set.
    pub broker_id: i64,
    /// Broker name.
    pub broker_name: String,
    /// Cluster name.
    pub cluster_name: String,
    /// The epochs, oldest first.
    pub epoch_list: Vec<EpochEntry>,
    /// The commitlog's end.
    pub max_offset: i64,
}

json_body!(EpochEntryCache);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_state_set_as_fastjson_writes_it() {
        let s = SyncStateSet {
            sync_state_set: [2, 1].into_iter().collect(),
            sync_state_set_epoch: 3,
        };
        assert_eq!(
            s.to_json(),
            r#"{"syncStateSet":[1,2],"syncStateSetEpoch":3}"#
        );
        assert_eq!(
            SyncStateSet::decode(s.to_json().as_bytes()).expect("decode"),
            s
        );
        let lenient = SyncStateSet::decode(br#"{"syncStateSet":[1],"x":1}"#).expect("decode");
        assert_eq!(lenient.sync_state_set_epoch, 0);
    }

    #[test]
    fn elect_body_writes_member_ids_bare() {
        let mut group = BrokerMemberGroup {
            cluster: "c".into(),
            broker_name: "b".into(),
            ..BrokerMemberGroup::default()
        };
        group.broker_addrs.insert(1, "127.0.0.1:10911".into());
        let body = ElectMasterResponseBody {
            broker_member_group: Some(group),
            sync_state_set: [1].into_iter().collect(),
        };
        let text = body.to_json();
        assert_eq!(
            text,
            r#"{"brokerMemberGroup":{"brokerAddrs":{1:"127.0.0.1:10911"},"brokerName":"b","cluster":"c"},"syncStateSet":[1]}"#
        );
        assert_eq!(
            ElectMasterResponseBody::decode(text.as_bytes()).expect("decode"),
            body
        );
    }

    #[test]
    fn replicas_info_round_trips() {
        let mut info = BrokerReplicasInfo::default();
        info.replicas_info_table.insert(
            "b".into(),
            ReplicasInfo {
                master_broker_id: Some(1),
                master_address: Some("a:1".into()),
                master_epoch: Some(1),
                sync_state_set_epoch: Some(1),
                in_sync_replicas: vec![ReplicaIdentity {
                    broker_name: "b".into(),
                    broker_id: 1,
                    broker_address: "a:1".into(),
                    alive: true,
                }],
                not_in_sync_replicas: vec![],
            },
        );
        let text = info.to_json();
        assert!(text.contains(r#""inSyncReplicas":[{"alive":true,"brokerAddress":"a:1","brokerId":1,"brokerName":"b"}]"#), "{text}");
        assert_eq!(
            BrokerReplicasInfo::decode(text.as_bytes()).expect("decode"),
            info
        );
    }

    #[test]
    fn epoch_cache_as_fastjson_writes_it() {
        let cache = EpochEntryCache {
            broker_id: 2,
            broker_name: "b".into(),
            cluster_name: "c".into(),
            epoch_list: vec![EpochEntry {
                end_offset: i64::MAX,
                epoch: 1,
                start_offset: 0,
            }],
            max_offset: 42,
        };
        let text = cache.to_json();
        assert_eq!(
            text,
            r#"{"brokerId":2,"brokerName":"b","clusterName":"c","epochList":[{"endOffset":9223372036854775807,"epoch":1,"startOffset":0}],"maxOffset":42}"#
        );
        assert_eq!(
            EpochEntryCache::decode(text.as_bytes()).expect("decode"),
            cache
        );
        assert!(EpochEntryCache::decode(br#"{"brokerId":"#).is_err());
    }
}
