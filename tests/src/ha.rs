//! Master/slave helpers on top of [`LocalCluster`] (FerroMQ's `mqnamesrv` and `mqbroker`
//! binaries as processes): the classic 2-master-2-slave layout, topics created on the masters,
//! and waits that read FerroMQ's broker runtime info (a slave caught up with its master) or the
//! name server's routes. Starting, killing, stopping, reconfiguring and restarting brokers, and
//! waiting for the name server to list or drop one, are [`LocalCluster`]'s and
//! [`LocalBroker`]'s own.
//!
//! Every helper panics with a readable message (and the logs' tails) when its deadline passes.

use std::fmt::Write as _;
use std::time::Duration;

use ferromq_client::testing::{BrokerRole, FlushDiskType, LocalBroker, LocalCluster};

use crate::net::wait_until;
use crate::remoting;

/// How long the name server may take to route a topic, or a slave to learn its master's topics.
pub const REGISTRATION_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a slave may take to catch up with its master.
pub const SYNC_TIMEOUT: Duration = Duration::from_secs(60);
/// `GET_BROKER_RUNTIME_INFO`.
pub const GET_BROKER_RUNTIME_INFO: i32 = 28;
/// `UPDATE_AND_CREATE_TOPIC`.
pub const UPDATE_AND_CREATE_TOPIC: i32 = 17;
/// `GET_ALL_TOPIC_CONFIG`.
pub const GET_ALL_TOPIC_CONFIG: i32 = 21;
/// Timeout of one helper request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// The classic 2-master-2-slave layout (`conf/2m-2s-*`): `broker-a` and `broker-b` masters
/// with `master_role`, slaves `broker-a-s` and `broker-b-s`, all with `flush`; returns once the
/// name server lists all four.
pub fn two_masters_two_slaves(master_role: BrokerRole, flush: FlushDiskType) -> LocalCluster {
    LocalCluster::builder()
        .brokers(2)
        .slaves(true)
        .master_role(master_role)
        .flush(flush)
        .start()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The broker named `name` (`broker-a`, `broker-a-s`, ...); panics if there is none.
pub fn broker<'a>(cluster: &'a LocalCluster, name: &str) -> &'a LocalBroker {
    cluster
        .broker_named(name)
        .unwrap_or_else(|| panic!("no broker named {name} in the cluster"))
}

/// The broker's `GET_BROKER_RUNTIME_INFO` table (every value a string).
pub fn runtime_info(cluster: &LocalCluster, name: &str) -> Result<serde_json::Value, String> {
    let addr = broker(cluster, name).addr();
    let r = remoting::request(&addr, GET_BROKER_RUNTIME_INFO, &[], &[], REQUEST_TIMEOUT)
        .map_err(|e| format!("GET_BROKER_RUNTIME_INFO to {name}: {e}"))?;
    if r.code != 0 {
        return Err(format!(
            "GET_BROKER_RUNTIME_INFO to {name}: code {} {:?}",
            r.code,
            r.remark()
        ));
    }
    let v: serde_json::Value = serde_json::from_slice(&r.body)
        .map_err(|e| format!("runtime info of {name}: {e}: {}", r.body_text()))?;
    Ok(v["table"].clone())
}

/// The broker's `commitLogMaxOffset` (`GET_BROKER_RUNTIME_INFO`).
pub fn commit_log_max_offset(cluster: &LocalCluster, name: &str) -> Result<u64, String> {
    let table = runtime_info(cluster, name)?;
    let field = &table["commitLogMaxOffset"];
    field
        .as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| field.as_u64())
        .ok_or_else(|| format!("no commitLogMaxOffset in {name}'s runtime info"))
}

/// Waits until `slave` replicates `master` again and has all of it: its commitlog ends where
/// the master's does, and the master (FerroMQ's `haSlaveAckOffsets`) has a slave connection
/// that acknowledged that end. Equal offsets alone are not enough after a restart: the slave
/// may not have reconnected yet (it retries every 5 s), and until it has, a SYNC_MASTER answers
/// SLAVE_NOT_AVAILABLE. Returns the end.
pub fn wait_in_sync(cluster: &LocalCluster, master: &str, slave: &str) -> u64 {
    let mut last = String::new();
    let mut end = 0;
    let waited = wait_until(
        &format!("{slave} to replicate {master} and catch up"),
        SYNC_TIMEOUT,
        || {
            let (m, s) = match (
                runtime_info(cluster, master),
                commit_log_max_offset(cluster, slave),
            ) {
                (Ok(m), Ok(s)) => (m, s),
                (Err(e), _) | (_, Err(e)) => {
                    last = e;
                    return Ok(false);
                }
            };
            let m_end: u64 = m["commitLogMaxOffset"]
                .as_str()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let acks = m["haSlaveAckOffsets"].as_str().unwrap_or_default();
            last = format!("master at {m_end} (slave acks: '{acks}'), slave at {s}");
            end = m_end;
            let acked = acks.split(';').any(|a| {
                a.rsplit_once('=')
                    .is_some_and(|(_, o)| o == m_end.to_string())
            });
            Ok(m_end == s && acked)
        },
    );
    if let Err(e) = waited {
        panic!("{e}: {last}\n{}", logs_tail(cluster, &[master, slave]));
    }
    end
}

/// Creates `topic` with `queues` read and write queues on every running master (by its current
/// `brokerRole`; `UPDATE_AND_CREATE_TOPIC`, as `mqadmin updateTopic -c` does); slaves get it
/// from their master's tables (see [`wait_topic_known`]).
pub fn create_topic(cluster: &LocalCluster, topic: &str, queues: u32) {
    let q = queues.to_string();
    let masters = cluster
        .all_brokers()
        .filter(|b| b.role() != Some(BrokerRole::Slave) && b.is_running());
    for b in masters {
        let r = remoting::request(
            &b.addr(),
            UPDATE_AND_CREATE_TOPIC,
            &[
                ("topic", topic),
                ("defaultTopic", "TBW102"),
                ("readQueueNums", &q),
                ("writeQueueNums", &q),
                ("perm", "6"),
                ("topicFilterType", "SINGLE_TAG"),
                ("topicSysFlag", "0"),
                ("order", "false"),
            ],
            &[],
            REQUEST_TIMEOUT,
        )
        .unwrap_or_else(|e| panic!("UPDATE_AND_CREATE_TOPIC {topic} on {}: {e}", b.name()));
        assert_eq!(
            r.code,
            0,
            "UPDATE_AND_CREATE_TOPIC {topic} on {}: {:?}",
            b.name(),
            r.remark()
        );
    }
}

/// Waits until the broker's topic table (`GET_ALL_TOPIC_CONFIG`) has every one of `topics`: a
/// slave's, once it synced its master's tables (every 10 s).
pub fn wait_topic_known(cluster: &LocalCluster, name: &str, topics: &[String]) {
    let addr = broker(cluster, name).addr();
    let mut missing: Vec<String> = topics.to_vec();
    let waited = wait_until(
        &format!("{name} to know the topics"),
        REGISTRATION_TIMEOUT,
        || {
            let r = match remoting::request(&addr, GET_ALL_TOPIC_CONFIG, &[], &[], REQUEST_TIMEOUT)
            {
                Ok(r) if r.code == 0 => r,
                _ => return Ok(false),
            };
            let text = r.body_text();
            missing = topics
                .iter()
                .filter(|t| !text.contains(&format!("\"{t}\"")))
                .cloned()
                .collect();
            Ok(missing.is_empty())
        },
    );
    if let Err(e) = waited {
        panic!(
            "{e}: still missing {missing:?}\n{}",
            logs_tail(cluster, &[name])
        );
    }
}

/// Waits until the name server's route of `topic` has queues of every one of `broker_names`
/// with the address of its running master (`brokerId` 0; after a promotion, the promoted
/// broker) listed.
pub fn wait_route_with_masters(cluster: &LocalCluster, topic: &str, broker_names: &[&str]) {
    let masters: Vec<String> = broker_names
        .iter()
        .map(|name| {
            cluster
                .all_brokers()
                .find(|b| b.broker_name() == *name && b.broker_id() == 0 && b.is_running())
                .map(LocalBroker::addr)
                .unwrap_or_else(|| panic!("no running master of {name}"))
        })
        .collect();
    let mut last = String::new();
    let waited = wait_until(
        &format!("the route of {topic} with masters of {broker_names:?}"),
        REGISTRATION_TIMEOUT,
        || {
            let r = match remoting::topic_route(cluster.namesrv_addr(), topic) {
                Ok(r) if r.code == 0 => r,
                Ok(r) => {
                    last = format!("code {} {:?}", r.code, r.remark());
                    return Ok(false);
                }
                Err(e) => {
                    last = e.to_string();
                    return Ok(false);
                }
            };
            last = r.body_text();
            Ok(broker_names.iter().zip(&masters).all(|(name, master)| {
                // fastjson writes the ids as bare keys (`{0:"addr"}`), JSON as strings.
                last.contains(&format!("\"brokerName\":\"{name}\""))
                    && (last.contains(&format!("0:\"{master}\""))
                        || last.contains(&format!("\"0\":\"{master}\"")))
            }))
        },
    );
    if let Err(e) = waited {
        panic!("{e}; last route: {last}");
    }
}

/// The tails of the named brokers' logs and of the name server's, for a failure message.
pub fn logs_tail(cluster: &LocalCluster, names: &[&str]) -> String {
    let mut out = String::new();
    for name in names {
        let _ = write!(out, "\n{}", broker(cluster, name).log_tail());
    }
    let _ = write!(out, "\n{}", cluster.namesrv_log_tail());
    out
}
