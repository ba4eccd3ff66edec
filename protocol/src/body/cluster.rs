//! Cluster info: the GET_BROKER_CLUSTER_INFO body (docs/protocol.md, "Cluster info").
//!
//! Always written in fastjson's default form, with bare `brokerAddrs` keys, in every version.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::route::BrokerData;

/// Every broker group and cluster the name server knows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ClusterInfo {
    /// Broker name to its group.
    #[serde(deserialize_with = "super::de::object_map")]
    pub broker_addr_table: BTreeMap<String, BrokerData>,
    /// Cluster name to its broker names.
    #[serde(deserialize_with = "super::de::object_map")]
    pub cluster_addr_table: BTreeMap<String, BTreeSet<String>>,
}

json_body!(ClusterInfo, bare_int_keys_in: ["brokerAddrs"]);

impl ClusterInfo {
    /// The broker groups of `cluster`, in name order.
    pub fn brokers_of(&self, cluster: &str) -> impl Iterator<Item = &BrokerData> {
        self.cluster_addr_table
            .get(cluster)
            .into_iter()
            .flatten()
            .filter_map(|name| self.broker_addr_table.get(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOLDEN: &str = r#"{"brokerAddrTable":{"broker-a":{"brokerAddrs":{0:"10.0.0.1:10911"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false}},"clusterAddrTable":{"DefaultCluster":["broker-a"]}}"#;

    #[test]
    fn golden_and_round_trip() {
        let mut b = BrokerData::new("DefaultCluster", "broker-a");
        b.broker_addrs.insert(0, "10.0.0.1:10911".into());
        let mut info = ClusterInfo::default();
        info.broker_addr_table.insert("broker-a".into(), b);
        info.cluster_addr_table
            .entry("DefaultCluster".into())
            .or_default()
            .insert("broker-a".into());
        assert_eq!(info.to_json(), GOLDEN);
        let back = ClusterInfo::decode(GOLDEN.as_bytes()).expect("decode");
        assert_eq!(back, info);
        assert_eq!(back.brokers_of("DefaultCluster").count(), 1);
        assert_eq!(back.brokers_of("nope").count(), 0);
    }

    #[test]
    fn lenient_and_broken() {
        let info = ClusterInfo::decode(
            br#"{"brokerAddrTable":null,"clusterAddrTable":{"c":["b","b"]},"x":1}"#,
        )
        .expect("lenient");
        assert_eq!(info.cluster_addr_table["c"].len(), 1);
        for n in 0..GOLDEN.len() {
            assert!(ClusterInfo::decode(&GOLDEN.as_bytes()[..n]).is_err(), "{n}");
        }
    }
}
