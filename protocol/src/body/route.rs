//! Topic route data: the GET_ROUTEINFO_BY_TOPIC body (docs/protocol.md, "Route data").
//!
//! The name server picks one of two encodings per request with [`RouteJsonStyle::for_request`]:
//! fastjson's default, which writes the `brokerAddrs` ids as bare (unquoted) keys, or the
//! `BrowserCompatible` standard JSON. Both are compact: the Go client splits the raw
//! `brokerAddrs` text on `,` and `:`.
//!
//! Known differences from Java's bytes, none of which a client parser depends on: map keys are
//! written in string order, so broker ids 10 and up sort before 2 (Java's `HashMap` iterates
//! small ids numerically); and the standard style escapes non-ASCII but not `/`, whose
//! `BrowserCompatible` handling was not verified against fastjson.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::codes::Version;
use crate::error::Result;
use crate::json::{self, Style, Value};

/// Topic and queue permission bits (`PermName`).
pub mod perm {
    /// Priority queue.
    pub const PRIORITY: i32 = 8;
    /// Consumers may read.
    pub const READ: i32 = 4;
    /// Producers may write.
    pub const WRITE: i32 = 2;
    /// Inherited by auto-created topics (`TBW102`).
    pub const INHERIT: i32 = 1;
    /// Read and write: the perm of a normal topic.
    pub const READ_WRITE: i32 = READ | WRITE;

    /// Whether `perm` allows reading.
    pub const fn is_readable(perm: i32) -> bool {
        perm & READ == READ
    }

    /// Whether `perm` allows writing.
    pub const fn is_writeable(perm: i32) -> bool {
        perm & WRITE == WRITE
    }

    /// Whether `perm` carries the inherit bit.
    pub const fn is_inherited(perm: i32) -> bool {
        perm & INHERIT == INHERIT
    }

    /// Whether `perm` carries the priority bit.
    pub const fn is_priority(perm: i32) -> bool {
        perm & PRIORITY == PRIORITY
    }

    /// Java's `perm2String`: `R`, `W`, `X` (inherit) or `-` per position, e.g. `"RW-"`.
    pub fn to_string(perm: i32) -> String {
        let mut s = String::with_capacity(3);
        s.push(if is_readable(perm) { 'R' } else { '-' });
        s.push(if is_writeable(perm) { 'W' } else { '-' });
        s.push(if is_inherited(perm) { 'X' } else { '-' });
        s
    }
}

/// `topicSysFlag` bits (`TopicSysFlag`).
pub mod topic_sys_flag {
    /// The topic is a unit topic.
    pub const FLAG_UNIT: i32 = 1;
    /// The topic has unit subscriptions.
    pub const FLAG_UNIT_SUB: i32 = 1 << 1;
}

/// The broker id of a master.
pub const MASTER_ID: i64 = 0;

/// Which JSON the name server writes for a route (docs/protocol.md, "Route data" and "Quirks of
/// real clients").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteJsonStyle {
    /// fastjson default: bare integer `brokerAddrs` keys (`{0:"10.0.0.1:10911"}`).
    Legacy,
    /// `BrowserCompatible`: quoted keys, non-ASCII escaped as `\uXXXX`, map keys sorted.
    Standard,
}

impl RouteJsonStyle {
    /// The style a Java name server ≥ 4.9.4 answers with: standard when the request `version`
    /// is at least V4_9_4 (401) or its header has `acceptStandardJsonOnly=true`, else legacy.
    pub fn for_request(request_version: Version, accept_standard_json_only: bool) -> Self {
        if accept_standard_json_only || request_version >= Version::V4_9_4 {
            RouteJsonStyle::Standard
        } else {
            RouteJsonStyle::Legacy
        }
    }

    /// The writer style. The legacy form also writes static-topic `currIdMap` ids bare.
    pub fn style(self) -> Style<'static> {
        match self {
            RouteJsonStyle::Legacy => Style {
                bare_int_keys_in: &["brokerAddrs", "currIdMap"],
                ..Style::default()
            },
            RouteJsonStyle::Standard => Style {
                escape_non_ascii: true,
                ..Style::default()
            },
        }
    }
}

/// One broker group (master and slaves) in a route or cluster table.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BrokerData {
    /// Broker id (0 = master) to `ip:port`.
    #[serde(deserialize_with = "super::de::id_map")]
    pub broker_addrs: BTreeMap<i64, String>,
    /// The broker group name.
    #[serde(deserialize_with = "json::lenient::string")]
    pub broker_name: String,
    /// The cluster the group belongs to.
    #[serde(deserialize_with = "json::lenient::string")]
    pub cluster: String,
    /// 5.x: acting-master HA mode.
    #[serde(deserialize_with = "json::lenient::bool")]
    pub enable_acting_master: bool,
    /// 5.x: the zone, when set.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "json::lenient::opt_string"
    )]
    pub zone_name: Option<String>,
}

impl BrokerData {
    /// A group with no addresses yet.
    pub fn new(cluster: impl Into<String>, broker_name: impl Into<String>) -> Self {
        BrokerData {
            cluster: cluster.into(),
            broker_name: broker_name.into(),
            ..BrokerData::default()
        }
    }

    /// The master's address (id 0), if registered.
    pub fn master_addr(&self) -> Option<&str> {
        self.broker_addrs.get(&MASTER_ID).map(String::as_str)
    }

    /// Java's `selectBrokerAddr`: the master, else one of the slaves chosen by `pick` (the
    /// caller's random or round-robin number, taken modulo the number of addresses).
    pub fn select_addr(&self, pick: usize) -> Option<&str> {
        if let Some(master) = self.master_addr() {
            return Some(master);
        }
        let n = self.broker_addrs.len();
        if n == 0 {
            return None;
        }
        self.broker_addrs.values().nth(pick % n).map(String::as_str)
    }

    /// The address for `broker_id`, if registered.
    pub fn addr(&self, broker_id: i64) -> Option<&str> {
        self.broker_addrs.get(&broker_id).map(String::as_str)
    }
}

/// A broker group's queues of one topic.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct QueueData {
    /// The broker group.
    #[serde(deserialize_with = "json::lenient::string")]
    pub broker_name: String,
    /// [`perm`] bits.
    #[serde(deserialize_with = "json::lenient::i32")]
    pub perm: i32,
    /// Number of readable queues.
    #[serde(deserialize_with = "json::lenient::i32")]
    pub read_queue_nums: i32,
    /// [`topic_sys_flag`] bits (`topicSynFlag` before 4.9.0 is accepted too).
    #[serde(alias = "topicSynFlag", deserialize_with = "json::lenient::i32")]
    pub topic_sys_flag: i32,
    /// Number of writable queues.
    #[serde(deserialize_with = "json::lenient::i32")]
    pub write_queue_nums: i32,
}

/// The route of one topic.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TopicRouteData {
    /// The broker groups serving the topic.
    #[serde(deserialize_with = "super::de::object_vec")]
    pub broker_datas: Vec<BrokerData>,
    /// Broker address to filter-server addresses; the Java name server always sends `{}`.
    #[serde(deserialize_with = "super::de::nullable")]
    pub filter_server_table: BTreeMap<String, Vec<String>>,
    /// `"brokerA:4;brokerB:4"`, only with `orderMessageEnable` and a KV entry.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "json::lenient::opt_string"
    )]
    pub order_topic_conf: Option<String>,
    /// The queues per broker group.
    #[serde(deserialize_with = "super::de::object_vec")]
    pub queue_datas: Vec<QueueData>,
    /// 5.x static topics: broker name to `TopicQueueMappingInfo`, kept as opaque JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic_queue_mapping_by_broker: Option<BTreeMap<String, Value>>,
}

impl TopicRouteData {
    /// Encodes in the given style (pick it with [`RouteJsonStyle::for_request`]).
    pub fn encode(&self, style: RouteJsonStyle) -> Vec<u8> {
        self.to_json(style).into_bytes()
    }

    /// The JSON text [`Self::encode`] produces.
    pub fn to_json(&self, style: RouteJsonStyle) -> String {
        json::to_string_styled(self, &style.style())
    }

    /// Decodes either style leniently.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        json::from_slice(bytes)
    }

    /// The broker group named `broker_name`.
    pub fn broker(&self, broker_name: &str) -> Option<&BrokerData> {
        self.broker_datas
            .iter()
            .find(|b| b.broker_name == broker_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> TopicRouteData {
        let mut b = BrokerData::new("DefaultCluster", "broker-a");
        b.broker_addrs.insert(0, "10.0.0.1:10911".into());
        TopicRouteData {
            broker_datas: vec![b],
            queue_datas: vec![QueueData {
                broker_name: "broker-a".into(),
                perm: 6,
                read_queue_nums: 4,
                topic_sys_flag: 0,
                write_queue_nums: 4,
            }],
            ..TopicRouteData::default()
        }
    }

    const LEGACY: &str = r#"{"brokerDatas":[{"brokerAddrs":{0:"10.0.0.1:10911"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}"#;

    #[test]
    fn golden_legacy_and_standard() {
        let r = sample();
        assert_eq!(r.to_json(RouteJsonStyle::Legacy), LEGACY);
        assert_eq!(
            r.to_json(RouteJsonStyle::Standard),
            LEGACY.replace("{0:", "{\"0\":")
        );
        for style in [RouteJsonStyle::Legacy, RouteJsonStyle::Standard] {
            assert_eq!(TopicRouteData::decode(&r.encode(style)).expect("decode"), r);
        }
    }

    #[test]
    fn standard_escapes_non_ascii_and_quotes_slave_ids() {
        let mut r = sample();
        r.broker_datas[0]
            .broker_addrs
            .insert(1, "10.0.0.2:10911".into());
        r.broker_datas[0].zone_name = Some("zé".into());
        r.order_topic_conf = Some("broker-a:4".into());
        let std = r.to_json(RouteJsonStyle::Standard);
        assert!(std.contains(r#""brokerAddrs":{"0":"10.0.0.1:10911","1":"10.0.0.2:10911"}"#));
        assert!(std.contains(r#""zoneName":"z\u00e9""#));
        let legacy = r.to_json(RouteJsonStyle::Legacy);
        assert!(legacy.contains(r#""brokerAddrs":{0:"10.0.0.1:10911",1:"10.0.0.2:10911"}"#));
        assert!(legacy.contains(r#""orderTopicConf":"broker-a:4","queueDatas""#));
        assert_eq!(TopicRouteData::decode(std.as_bytes()).expect("std"), r);
        assert_eq!(
            TopicRouteData::decode(legacy.as_bytes()).expect("legacy"),
            r
        );
    }

    #[test]
    fn style_follows_request_version() {
        assert_eq!(
            RouteJsonStyle::for_request(Version::V4_5_2, false),
            RouteJsonStyle::Legacy
        );
        assert_eq!(
            RouteJsonStyle::for_request(Version(400), true),
            RouteJsonStyle::Standard
        );
        assert_eq!(
            RouteJsonStyle::for_request(Version::V4_9_4, false),
            RouteJsonStyle::Standard
        );
    }

    #[test]
    fn lenient_route_decoding() {
        let text = br#"{"brokerDatas":[{"brokerAddrs":{"0":"a:1",'1':"b:2"},"brokerName":"x","extra":[1]},null],
            "queueDatas":[{"brokerName":"x","perm":"6","readQueueNums":"8","topicSynFlag":1,"writeQueueNums":8}],
            "filterServerTable":null}"#;
        let r = TopicRouteData::decode(text).expect("lenient");
        assert_eq!(r.broker_datas.len(), 1);
        assert_eq!(r.broker_datas[0].addr(1), Some("b:2"));
        assert_eq!(r.broker_datas[0].cluster, "");
        assert_eq!(r.queue_datas[0].read_queue_nums, 8);
        assert_eq!(r.queue_datas[0].topic_sys_flag, 1);
        assert!(r.filter_server_table.is_empty());
        assert!(TopicRouteData::decode(&LEGACY.as_bytes()[..40]).is_err());
    }

    #[test]
    fn broker_address_selection() {
        let mut b = BrokerData::new("c", "b");
        assert_eq!(b.select_addr(3), None);
        b.broker_addrs.insert(2, "s2".into());
        b.broker_addrs.insert(1, "s1".into());
        assert_eq!(b.master_addr(), None);
        assert_eq!(b.select_addr(0), Some("s1"));
        assert_eq!(b.select_addr(3), Some("s2"));
        b.broker_addrs.insert(0, "m".into());
        assert_eq!(b.select_addr(1), Some("m"));
        assert_eq!(perm::to_string(6), "RW-");
        assert_eq!(perm::to_string(7), "RWX");
        assert!(perm::is_readable(4) && !perm::is_writeable(4));
    }
}
