//! Controller headers (Java `header/controller/**`, RIP-44 controller mode): what brokers and
//! `mqadmin` send to a controller (codes 1001-1013) and what it answers.
//!
//! Java fills most of these fields with defaults before it reads the wire (`""`, `-1`, `false`,
//! the current time), so a missing key is not an error there; every field is optional here and
//! the controller applies Java's default. Keys are the Java field names, including `isLeader`
//! and `isCleanLivingBroker` (fields, not bean properties, name header keys).

command_header! {
    /// `GetNextBrokerIdRequestHeader` (1012, `CONTROLLER_GET_NEXT_BROKER_ID`).
    pub struct GetNextBrokerIdRequestHeader {
        /// Cluster name.
        cluster_name: String, "clusterName", optional;
        /// Broker name (the broker set).
        broker_name: String, "brokerName", optional;
    }
}

command_header! {
    /// `GetNextBrokerIdResponseHeader`.
    pub struct GetNextBrokerIdResponseHeader {
        /// Cluster name, as asked.
        cluster_name: String, "clusterName", optional;
        /// Broker name, as asked.
        broker_name: String, "brokerName", optional;
        /// The id the broker should apply for (1 for a new broker set).
        next_broker_id: i64, "nextBrokerId", optional;
    }
}

command_header! {
    /// `ApplyBrokerIdRequestHeader` (1013, `CONTROLLER_APPLY_BROKER_ID`).
    pub struct ApplyBrokerIdRequestHeader {
        /// Cluster name.
        cluster_name: String, "clusterName", optional;
        /// Broker name.
        broker_name: String, "brokerName", optional;
        /// The id applied for.
        applied_broker_id: i64, "appliedBrokerId", optional;
        /// `address;timestamp`: the broker's address, then a stamp that tells its restarts from
        /// another broker taking the id.
        register_check_code: String, "registerCheckCode", optional;
    }
}

command_header! {
    /// `ApplyBrokerIdResponseHeader`.
    pub struct ApplyBrokerIdResponseHeader {
        /// Cluster name, as asked.
        cluster_name: String, "clusterName", optional;
        /// Broker name, as asked.
        broker_name: String, "brokerName", optional;
    }
}

command_header! {
    /// `RegisterBrokerToControllerRequestHeader` (1003, `CONTROLLER_REGISTER_BROKER`).
    pub struct RegisterBrokerToControllerRequestHeader {
        /// Cluster name.
        cluster_name: String, "clusterName", optional;
        /// Broker name.
        broker_name: String, "brokerName", optional;
        /// The broker's id (applied for before).
        broker_id: i64, "brokerId", optional;
        /// The broker's address now.
        broker_address: String, "brokerAddress", optional;
        /// When the broker sent it (ms).
        invoke_time: i64, "invokeTime", optional;
    }
}

command_header! {
    /// `RegisterBrokerToControllerResponseHeader`; the body is a `SyncStateSet`.
    pub struct RegisterBrokerToControllerResponseHeader {
        /// Cluster name.
        cluster_name: String, "clusterName", optional;
        /// Broker name.
        broker_name: String, "brokerName", optional;
        /// The master's id, when a live master exists.
        master_broker_id: i64, "masterBrokerId", optional;
        /// The master's address.
        master_address: String, "masterAddress", optional;
        /// The master epoch.
        master_epoch: i32, "masterEpoch", optional;
        /// The sync state set epoch.
        sync_state_set_epoch: i32, "syncStateSetEpoch", optional;
    }
}

command_header! {
    /// `AlterSyncStateSetRequestHeader` (1001); the body is the new `SyncStateSet` with the
    /// epoch the master last saw.
    pub struct AlterSyncStateSetRequestHeader {
        /// Broker name.
        broker_name: String, "brokerName", optional;
        /// The master asking (must be the current master).
        master_broker_id: i64, "masterBrokerId", optional;
        /// The master epoch it holds (must be current).
        master_epoch: i32, "masterEpoch", optional;
        /// When it was sent (ms).
        invoke_time: i64, "invokeTime", optional;
    }
}

command_header! {
    /// `AlterSyncStateSetResponseHeader`; the body is the new `SyncStateSet`.
    pub struct AlterSyncStateSetResponseHeader {
        /// The sync state set epoch after the change.
        new_sync_state_set_epoch: i32, "newSyncStateSetEpoch", optional;
    }
}

command_header! {
    /// `ElectMasterRequestHeader` (1002, `CONTROLLER_ELECT_MASTER`).
    pub struct ElectMasterRequestHeader {
        /// Cluster name (Java default `""`).
        cluster_name: String, "clusterName", optional;
        /// Broker name (Java default `""`).
        broker_name: String, "brokerName", optional;
        /// The broker that asks, or the one designated; -1 (Java's default) = the controller's
        /// choice.
        broker_id: i64, "brokerId", optional;
        /// Whether `brokerId` must be the new master (`mqadmin electMaster`).
        designate_elect: bool, "designateElect", optional;
        /// When it was sent (ms).
        invoke_time: i64, "invokeTime", optional;
    }
}

command_header! {
    /// `ElectMasterResponseHeader`; the body is an `ElectMasterResponseBody`.
    pub struct ElectMasterResponseHeader {
        /// The master's id.
        master_broker_id: i64, "masterBrokerId", optional;
        /// The master's address.
        master_address: String, "masterAddress", optional;
        /// The master epoch.
        master_epoch: i32, "masterEpoch", optional;
        /// The sync state set epoch.
        sync_state_set_epoch: i32, "syncStateSetEpoch", optional;
    }
}

command_header! {
    /// `GetReplicaInfoRequestHeader` (1004, `CONTROLLER_GET_REPLICA_INFO`).
    pub struct GetReplicaInfoRequestHeader {
        /// Broker name.
        broker_name: String, "brokerName", optional;
    }
}

command_header! {
    /// `GetReplicaInfoResponseHeader`; the body is a `SyncStateSet`.
    pub struct GetReplicaInfoResponseHeader {
        /// The master's id (absent while there is none).
        master_broker_id: i64, "masterBrokerId", optional;
        /// The master's address.
        master_address: String, "masterAddress", optional;
        /// The master epoch.
        master_epoch: i32, "masterEpoch", optional;
    }
}

command_header! {
    /// `GetMetaDataResponseHeader` (answer to 1005, `CONTROLLER_GET_METADATA_INFO`).
    pub struct GetMetaDataResponseHeader {
        /// The controller group (`controllerDLegerGroup`).
        group: String, "group", optional;
        /// The leader's id (`n0`), when one is known.
        controller_leader_id: String, "controllerLeaderId", optional;
        /// The leader's address, when one is known.
        controller_leader_address: String, "controllerLeaderAddress", optional;
        /// Whether the answering controller is the leader.
        is_leader: bool, "isLeader", optional;
        /// `id:address;` for every peer.
        peers: String, "peers", optional;
    }
}

command_header! {
    /// `CleanControllerBrokerDataRequestHeader` (1011, `CLEAN_BROKER_DATA`).
    pub struct CleanControllerBrokerDataRequestHeader {
        /// Cluster name.
        cluster_name: String, "clusterName", optional;
        /// Broker name.
        broker_name: String, "brokerName", optional;
        /// `;`-separated broker ids; empty = the whole broker set.
        broker_controller_ids_to_clean: String, "brokerControllerIdsToClean", optional;
        /// Clean even brokers that still heartbeat.
        is_clean_living_broker: bool, "isCleanLivingBroker", optional;
        /// When it was sent (ms).
        invoke_time: i64, "invokeTime", optional;
    }
}

command_header! {
    /// `NotifyBrokerRoleChangedRequestHeader` (1008, controller to broker, oneway); the body is
    /// the new `SyncStateSet`.
    pub struct NotifyBrokerRoleChangedRequestHeader {
        /// The new master's address.
        master_address: String, "masterAddress", optional;
        /// The new master epoch.
        master_epoch: i32, "masterEpoch", optional;
        /// The new sync state set epoch.
        sync_state_set_epoch: i32, "syncStateSetEpoch", optional;
        /// The new master's id.
        master_broker_id: i64, "masterBrokerId", optional;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::test_support::{check_header, check_invalid};

    #[test]
    fn elect_master_request_golden() {
        let h = ElectMasterRequestHeader {
            cluster_name: Some("DefaultCluster".into()),
            broker_name: Some("broker-a".into()),
            broker_id: Some(-1),
            designate_elect: Some(false),
            invoke_time: Some(1_700_000_000_000),
        };
        check_header(
            &h,
            &[
                ("clusterName", "DefaultCluster"),
                ("brokerName", "broker-a"),
                ("brokerId", "-1"),
                ("designateElect", "false"),
                ("invokeTime", "1700000000000"),
            ],
            &[],
        );
        check_invalid::<ElectMasterRequestHeader>(&[("brokerId", "1")], "brokerId", "x");
    }

    #[test]
    fn metadata_and_clean_use_java_field_names() {
        let h = GetMetaDataResponseHeader {
            group: Some("g".into()),
            controller_leader_id: Some("n0".into()),
            controller_leader_address: Some("127.0.0.1:9878".into()),
            is_leader: Some(true),
            peers: Some("n0:127.0.0.1:9878;".into()),
        };
        check_header(
            &h,
            &[
                ("group", "g"),
                ("controllerLeaderId", "n0"),
                ("controllerLeaderAddress", "127.0.0.1:9878"),
                ("isLeader", "true"),
                ("peers", "n0:127.0.0.1:9878;"),
            ],
            &[],
        );
        let c = CleanControllerBrokerDataRequestHeader {
            cluster_name: None,
            broker_name: Some("b".into()),
            broker_controller_ids_to_clean: Some("1;2".into()),
            is_clean_living_broker: Some(false),
            invoke_time: None,
        };
        check_header(
            &c,
            &[
                ("brokerName", "b"),
                ("brokerControllerIdsToClean", "1;2"),
                ("isCleanLivingBroker", "false"),
            ],
            &[],
        );
    }

    #[test]
    fn register_and_apply_round_trip() {
        let h = ApplyBrokerIdRequestHeader {
            cluster_name: Some("c".into()),
            broker_name: Some("b".into()),
            applied_broker_id: Some(1),
            register_check_code: Some("127.0.0.1:10911;1700".into()),
        };
        check_header(
            &h,
            &[
                ("clusterName", "c"),
                ("brokerName", "b"),
                ("appliedBrokerId", "1"),
                ("registerCheckCode", "127.0.0.1:10911;1700"),
            ],
            &[],
        );
        let r = RegisterBrokerToControllerResponseHeader {
            cluster_name: Some("c".into()),
            broker_name: Some("b".into()),
            master_broker_id: Some(1),
            master_address: Some("127.0.0.1:10911".into()),
            master_epoch: Some(2),
            sync_state_set_epoch: Some(3),
        };
        check_header(
            &r,
            &[
                ("clusterName", "c"),
                ("brokerName", "b"),
                ("masterBrokerId", "1"),
                ("masterAddress", "127.0.0.1:10911"),
                ("masterEpoch", "2"),
                ("syncStateSetEpoch", "3"),
            ],
            &[],
        );
    }
}
