//! The broker's own admin codes mqadmin and dashboards use (docs/protocol.md, "Admin codes"):
//! GET_BROKER_RUNTIME_INFO, GET_BROKER_HA_STATUS, the producer and consumer connection lists, GET_BROKER_CONFIG and
//! UPDATE_BROKER_CONFIG (safe keys only). Topic and group management live in [`super::topic`]
//! and [`super::group`].

use std::collections::BTreeMap;

use ferromq_protocol::body::{
    BrokerStatsData, BrokerStatsItem, Connection as ConnectionInfo, ConsumerConnection,
    HaConnectionRuntimeInfo, HaRuntimeInfo, KVTable, ProducerConnection,
};
use ferromq_protocol::header::admin::{
    GetBrokerConfigResponseHeader, GetConsumerConnectionListRequestHeader,
    GetProducerConnectionListRequestHeader, ViewBrokerStatsDataRequestHeader,
};
use ferromq_protocol::{CommandHeader, RemotingCommand, RequestCode, ResponseCode};
use ferromq_store::StoreConfig;

use crate::config::{BrokerConfig, CONFIG_BLACKLIST};
use crate::response::{bad_header, fail, ok, Response};
use crate::state::Broker;
use crate::stats::StatsName;
use ferromq_common::settings::SettingError;

/// Setting names whose values are never returned by GET_BROKER_CONFIG.
fn is_secret(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    [
        "secret",
        "password",
        "token",
        "accesskey",
        "credential",
        "authenticationuser",
    ]
    .iter()
    .any(|s| k.contains(s))
}

/// GET_BROKER_HA_STATUS (`mqadmin haStatus`): a master's slaves with their lag, or a slave's
/// link to its master, as Apache's `HARuntimeInfo`.
pub(crate) fn ha_status(broker: &Broker) -> Response {
    let settings = broker.settings();
    let end = broker.store.commit_log().max_offset();
    let now = ferromq_common::now_ms();
    let signed = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let mut info = HaRuntimeInfo::default();
    if settings.broker.broker_role.is_master() {
        info.master = true;
        info.master_commit_log_max_offset = signed(end);
        for link in broker.replication.slaves() {
            let diff = end.saturating_sub(link.ack);
            let in_sync = diff < settings.broker.ha_max_gap_not_in_sync;
            info.in_sync_slave_nums += i32::from(in_sync);
            info.ha_connection_info.push(HaConnectionRuntimeInfo {
                addr: link.addr.to_string(),
                slave_ack_offset: signed(link.ack),
                diff: signed(diff),
                in_sync,
                transferred_byte_in_second: signed(link.sent.per_second(now)),
                transfer_from_where: signed(link.transfer_from),
            });
        }
    } else {
        let client = &mut info.ha_client_runtime_info;
        client.max_offset = signed(end);
        match broker.replication.master_link() {
            Some(link) => {
                client.master_addr = link.addr;
                client.last_read_timestamp = link.last_read_ms;
                client.last_write_timestamp = link.last_write_ms;
                client.transferred_byte_in_second = signed(link.received.per_second(now));
            }
            None => {
                client.master_addr = broker
                    .replication
                    .master_target(&settings.broker.ha_master_address)
                    .unwrap_or_default();
            }
        }
    }
    ok().with_body(info.encode())
}

/// VIEW_BROKER_STATS_DATA (`mqadmin statsAll`): one statistic of one key over the last minute,
/// hour and day: `TOPIC_PUT_NUMS` / `TOPIC_PUT_SIZE` by topic, `GROUP_GET_NUMS` /
/// `GROUP_GET_SIZE` by `topic@group`.
pub(crate) fn view_stats(broker: &Broker, req: &RemotingCommand) -> Response {
    let h = match ViewBrokerStatsDataRequestHeader::read_ext(&req.ext_fields) {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    let windows = StatsName::from_apache(&h.stats_name).and_then(|name| {
        broker
            .stats
            .keyed
            .view(name, &h.stats_key, ferromq_common::now_ms())
    });
    let Some([minute, hour, day]) = windows else {
        return fail(
            ResponseCode::SYSTEM_ERROR,
            format!("The stats <{}> <{}> not exist", h.stats_name, h.stats_key),
        );
    };
    let item = |w: crate::stats::Window| BrokerStatsItem {
        avgpt: w.avgpt,
        sum: i64::try_from(w.sum).unwrap_or(i64::MAX),
        tps: w.tps,
    };
    let data = BrokerStatsData {
        stats_day: item(day),
        stats_hour: item(hour),
        stats_minute: item(minute),
    };
    ok().with_body(data.encode())
}

/// GET_BROKER_RUNTIME_INFO: counters and store figures, as Apache names them.
pub(crate) fn runtime_info(broker: &Broker) -> Response {
    let store = &broker.store;
    let log = store.commit_log();
    let uptime = broker.started.elapsed().as_secs_f64().max(1.0);
    let now = ferromq_common::now_ms();
    // Apache's TPS triples: the last 10 s, 60 s and 600 s.
    let windows = [10, 60, 600].map(|w| broker.stats.rates(w, now));
    let tps = |pick: fn(&crate::stats::Rates) -> f64| {
        let [a, b, c] = windows.each_ref().map(pick);
        format!("{a:.2} {b:.2} {c:.2}")
    };
    let days = broker.stats.days();
    let disk =
        ferromq_store::retention::disk_used_percent(&store.config().commit_log_dir()).unwrap_or(0);
    let mut t = BTreeMap::new();
    let mut set = |k: &str, v: String| {
        t.insert(k.to_owned(), v);
    };
    set("brokerVersionDesc", "V5_3_3".to_owned());
    set(
        "brokerVersion",
        ferromq_protocol::Version::V5_3_3.0.to_string(),
    );
    set(
        "bootTimestamp",
        (now - (uptime * 1000.0) as i64).to_string(),
    );
    // Totals at yesterday's and today's midnight (UTC; 0 when the broker was not running then)
    // and now: `clusterList -m` prints the differences.
    set(
        "msgPutTotalYesterdayMorning",
        days.yesterday_morning.0.to_string(),
    );
    set("msgPutTotalTodayMorning", days.today_morning.0.to_string());
    set("msgPutTotalTodayNow", days.now.0.to_string());
    set(
        "msgGetTotalYesterdayMorning",
        days.yesterday_morning.1.to_string(),
    );
    set("msgGetTotalTodayMorning", days.today_morning.1.to_string());
    set("msgGetTotalTodayNow", days.now.1.to_string());
    set("putTps", tps(|r| r.put));
    set("getTransferedTps", tps(|r| r.got));
    set("getTransferredTps", tps(|r| r.got));
    set("getFoundTps", tps(|r| r.found));
    set("getMissTps", tps(|r| r.missed));
    set("getTotalTps", tps(|r| r.found + r.missed));
    // Requests are served on the connection's task, not queued for a thread pool: nothing
    // waits in a queue, so the sizes and head wait times Apache's tools print are 0.
    for pool in ["send", "pull", "litePull", "ack", "query"] {
        set(&format!("{pool}ThreadPoolQueueSize"), "0".to_owned());
        set(
            &format!("{pool}ThreadPoolQueueHeadWaitTimeMills"),
            "0".to_owned(),
        );
    }
    set("EndTransactionQueueSize", "0".to_owned());
    set("pageCacheLockTimeMills", "0".to_owned());
    set("commitLogMinOffset", log.min_offset().to_string());
    set("commitLogMaxOffset", log.max_offset().to_string());
    set(
        "dispatchBehindBytes",
        log.max_offset()
            .saturating_sub(store.dispatched_offset())
            .to_string(),
    );
    set("commitLogDiskRatio", format!("{:.2}", disk as f64 / 100.0));
    set(
        "consumeQueueDiskRatio",
        format!("{:.2}", disk as f64 / 100.0),
    );
    set("commitLogDirCapacity", format!("Used : {disk}%"));
    set(
        "earliestMessageTimeStamp",
        store.earliest_store_time().unwrap_or(0).to_string(),
    );
    set("brokerActive", "true".to_owned());
    // FerroMQ: why the store refuses writes after an I/O fault (empty while healthy), and the
    // records the dispatcher could not index and skipped.
    set(
        "storeFault",
        store.fault().map(|r| r.to_string()).unwrap_or_default(),
    );
    set(
        "dispatchSkippedRecords",
        store.undispatchable_records().to_string(),
    );
    // FerroMQ: replication as this broker sees it. A master lists its slaves with the offset
    // each acknowledged; a slave names the master it replicates.
    let slaves = broker.replication.slaves();
    set("haSlaveCount", slaves.len().to_string());
    set(
        "haSlaveAckOffsets",
        slaves
            .iter()
            .map(|s| format!("{}={}", s.addr, s.ack))
            .collect::<Vec<_>>()
            .join(";"),
    );
    set(
        "haMasterAddress",
        broker.replication.master_ha_addr().unwrap_or_default(),
    );
    ok().with_body(KVTable { table: t }.encode())
}

/// GET_CONSUMER_CONNECTION_LIST or GET_PRODUCER_CONNECTION_LIST: a group's live clients.
pub(crate) fn connections(broker: &Broker, code: RequestCode, req: &RemotingCommand) -> Response {
    let info = |c: &crate::clients::ClientChannel| ConnectionInfo {
        client_addr: c.conn.peer_addr().to_string(),
        client_id: c.client_id.clone(),
        language: c.language,
        version: c.version,
    };
    if code == RequestCode::GET_CONSUMER_CONNECTION_LIST {
        let h = match GetConsumerConnectionListRequestHeader::read_ext(&req.ext_fields) {
            Ok(h) => h,
            Err(e) => return bad_header(e),
        };
        let Some(group) = broker.clients.consumer_group(&h.consumer_group) else {
            return fail(
                ResponseCode::CONSUMER_NOT_ONLINE,
                format!("the consumer group[{}] not online", h.consumer_group),
            );
        };
        let data = group.data.clone().unwrap_or_default();
        let body = ConsumerConnection {
            connection_set: group.channels.values().map(info).collect(),
            consume_from_where: Some(data.consume_from_where),
            consume_type: Some(data.consume_type),
            message_model: Some(data.message_model),
            subscription_table: group.subscriptions.clone().into_iter().collect(),
        };
        ok().with_body(body.encode())
    } else {
        let h = match GetProducerConnectionListRequestHeader::read_ext(&req.ext_fields) {
            Ok(h) => h,
            Err(e) => return bad_header(e),
        };
        let set: Vec<ConnectionInfo> = broker
            .clients
            .producer_connections(&h.producer_group)
            .iter()
            .map(info)
            .collect();
        if set.is_empty() {
            return fail(ResponseCode::SYSTEM_ERROR, "the producer group not exist");
        }
        ok().with_body(
            ProducerConnection {
                connection_set: set,
            }
            .encode(),
        )
    }
}

/// GET_ALL_PRODUCER_INFO (`mqadmin producer -b`): every producer connected to this broker, by
/// group, as Apache's `ProducerTableInfo`.
pub(crate) fn all_producers(broker: &Broker) -> Response {
    use ferromq_protocol::json::Value;
    let now_ms = ferromq_common::now_ms();
    let data: std::collections::BTreeMap<String, Value> = broker
        .clients
        .producers()
        .into_iter()
        .map(|(group, channels)| {
            let list = channels
                .iter()
                .map(|c| {
                    let age =
                        i64::try_from(c.last_update.elapsed().as_millis()).unwrap_or(i64::MAX);
                    Value::Object(
                        [
                            ("clientId", Value::String(c.client_id.clone())),
                            ("remoteIP", Value::String(c.conn.peer_addr().to_string())),
                            (
                                "language",
                                Value::String(c.language.name().unwrap_or("OTHER").to_owned()),
                            ),
                            ("version", Value::from(i64::from(c.version))),
                            (
                                "lastUpdateTimestamp",
                                Value::from(now_ms.saturating_sub(age)),
                            ),
                        ]
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), v))
                        .collect(),
                    )
                })
                .collect();
            (group, Value::Array(list))
        })
        .collect();
    let body = Value::Object(
        [("data".to_owned(), Value::Object(data.into_iter().collect()))]
            .into_iter()
            .collect(),
    );
    ok().with_body(ferromq_protocol::json::to_string(&body).into_bytes())
}

/// GET_BROKER_CONFIG: every setting but secrets, as Java properties.
pub(crate) fn broker_config(broker: &Broker) -> Response {
    let settings = broker.settings();
    let pairs = settings
        .broker
        .to_pairs()
        .into_iter()
        .chain(settings.store.to_pairs())
        .filter(|(k, _)| !is_secret(k));
    let text = ferromq_common::java_properties::to_string(pairs);
    ok().with_header(&GetBrokerConfigResponseHeader {
        version: String::from_utf8_lossy(&broker.topics.data_version().encode()).into_owned(),
    })
    .with_body(text.into_bytes())
}

/// UPDATE_BROKER_CONFIG: runtime-safe keys only, all or nothing.
pub(crate) async fn update_broker_config(broker: &Broker, req: &RemotingCommand) -> Response {
    let Ok(text) = std::str::from_utf8(&req.body) else {
        return fail(
            ResponseCode::SYSTEM_ERROR,
            "string2Properties error: body is not UTF-8",
        );
    };
    let pairs = ferromq_common::java_properties::parse(text);
    // Every key is checked before any is applied: a request changes all its keys or none.
    for (key, _) in &pairs {
        let key = key.trim();
        if CONFIG_BLACKLIST.contains(&key) {
            return fail(
                ResponseCode::NO_PERMISSION,
                format!("Can not update config in black list. `{key}` names a path, a port, an address or the broker's identity"),
            );
        }
        let known = BrokerConfig::KEYS.contains(&key) || StoreConfig::KEYS.contains(&key);
        if !known {
            return fail(
                ResponseCode::INVALID_PARAMETER,
                format!("`{key}` is not a setting FerroMQ's broker knows"),
            );
        }
        if !BrokerConfig::is_runtime_updatable(key) && !StoreConfig::is_runtime_updatable(key) {
            return fail(
                ResponseCode::SYSTEM_ERROR,
                format!("`{key}` takes effect only when the broker starts: set it in the broker's properties file and restart it"),
            );
        }
    }
    let before = broker.settings();
    match broker.update_settings(&pairs) {
        Ok(()) => {
            tracing::info!(keys = ?pairs.iter().map(|(k, _)| k).collect::<Vec<_>>(), "broker config updated");
            let after = broker.settings();
            if after.broker.default_topic_queue_nums != before.broker.default_topic_queue_nums {
                broker
                    .resize_default_topic(after.broker.default_topic_queue_nums)
                    .await;
            }
            broker.topics_changed.notify_one();
            ok()
        }
        Err(e @ SettingError::BadValue { .. }) => {
            fail(ResponseCode::INVALID_PARAMETER, e.to_string())
        }
        Err(e) => fail(ResponseCode::SYSTEM_ERROR, e.to_string()),
    }
}
