//! The admin and ops codes mqadmin and dashboards use (docs/protocol.md, "Admin codes"): runtime
//! info, topic and consume stats, connection lists, broker config (read, and update of safe keys
//! only), topic and subscription-group management.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use ferromq_protocol::body::{
    Connection as ConnectionInfo, ConsumeStats, ConsumerConnection, KVTable, MessageQueue,
    OffsetWrapper, ProducerConnection, TopicOffset, TopicStatsTable,
};
use ferromq_protocol::header::admin::*;
use ferromq_protocol::{names, CommandHeader, RemotingCommand, RequestCode, ResponseCode};
use ferromq_store::configs::subscription_groups::SubscriptionGroupConfig;

use crate::broker::{bad_header, fail, ok, Broker, Response};

/// Setting names whose values are never returned by GET_BROKER_CONFIG.
fn is_secret(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["secret", "password", "token", "accesskey"]
        .iter()
        .any(|s| k.contains(s))
}

impl Broker {
    fn runtime_info(&self) -> Response {
        let store = &self.store;
        let log = store.commit_log();
        let uptime = self.started.elapsed().as_secs_f64().max(1.0);
        let put = self.stats.put.load(Ordering::Relaxed);
        let got = self.stats.got.load(Ordering::Relaxed);
        let tps = |n: u64| {
            let rate = n as f64 / uptime;
            format!("{rate:.2} {rate:.2} {rate:.2}")
        };
        let disk = ferromq_store::retention::disk_used_percent(&store.config().commit_log_dir())
            .unwrap_or(0);
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
            (crate::now_ms() - (uptime * 1000.0) as i64).to_string(),
        );
        set("msgPutTotalYesterdayMorning", "0".to_owned());
        set("msgPutTotalTodayMorning", "0".to_owned());
        set("msgPutTotalTodayNow", put.to_string());
        set("msgGetTotalYesterdayMorning", "0".to_owned());
        set("msgGetTotalTodayMorning", "0".to_owned());
        set("msgGetTotalTodayNow", got.to_string());
        set("putTps", tps(put));
        set("getTransferedTps", tps(got));
        set("getTransferredTps", tps(got));
        set("getFoundTps", tps(got));
        set("getMissTps", "0.00 0.00 0.00".to_owned());
        set("getTotalTps", tps(got));
        set("sendThreadPoolQueueSize", "0".to_owned());
        set("pullThreadPoolQueueSize", "0".to_owned());
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
        set("earliestMessageTimeStamp", "0".to_owned());
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
        ok().with_body(KVTable { table: t }.encode())
    }

    fn topic_stats(&self, req: &RemotingCommand) -> Response {
        let h = match GetTopicStatsInfoRequestHeader::read_ext(&req.ext_fields) {
            Ok(h) => h,
            Err(e) => return bad_header(e),
        };
        let Some(topic) = self.topics.get(&h.topic) else {
            return fail(
                ResponseCode::TOPIC_NOT_EXIST,
                format!("topic[{}] not exist", h.topic),
            );
        };
        let broker_name = self.settings().broker.broker_name.clone();
        let mut table = TopicStatsTable::default();
        for q in 0..topic.write_queue_nums.max(topic.read_queue_nums) {
            let (min, max) = self.store.queue_range(&h.topic, q).unwrap_or((0, 0));
            table.offset_table.insert(
                MessageQueue {
                    broker_name: broker_name.clone(),
                    queue_id: q,
                    topic: h.topic.clone(),
                },
                TopicOffset {
                    last_update_timestamp: 0,
                    max_offset: max,
                    min_offset: min,
                },
            );
        }
        ok().with_body(table.encode())
    }

    fn consume_stats(&self, req: &RemotingCommand) -> Response {
        let h = match GetConsumeStatsRequestHeader::read_ext(&req.ext_fields) {
            Ok(h) => h,
            Err(e) => return bad_header(e),
        };
        let topics: Vec<String> = match &h.topic {
            Some(t) if !t.is_empty() => vec![t.clone()],
            _ => self
                .offsets
                .topics_of_group(&h.consumer_group)
                .into_iter()
                .collect(),
        };
        let broker_name = self.settings().broker.broker_name.clone();
        let mut stats = ConsumeStats::default();
        for topic in topics {
            let Some(config) = self.topics.get(&topic) else {
                continue;
            };
            for q in 0..config.read_queue_nums {
                let broker_offset = self.store.max_offset_in_queue(&topic, q);
                let consumer_offset = self
                    .offsets
                    .query(&h.consumer_group, &topic, q)
                    .unwrap_or(0);
                stats.offset_table.insert(
                    MessageQueue {
                        broker_name: broker_name.clone(),
                        queue_id: q,
                        topic: topic.clone(),
                    },
                    OffsetWrapper {
                        broker_offset,
                        consumer_offset,
                        last_timestamp: 0,
                        pull_offset: consumer_offset,
                    },
                );
            }
        }
        ok().with_body(stats.encode())
    }

    fn connections(&self, code: RequestCode, req: &RemotingCommand) -> Response {
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
            let Some(group) = self.clients.consumer_group(&h.consumer_group) else {
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
            let set: Vec<ConnectionInfo> = self
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

    fn broker_config(&self) -> Response {
        let settings = self.settings();
        let pairs = settings
            .broker
            .to_pairs()
            .into_iter()
            .chain(settings.store.to_pairs())
            .filter(|(k, _)| !is_secret(k));
        let text = ferromq_protocol::java_properties::to_string(pairs);
        ok().with_header(&GetBrokerConfigResponseHeader {
            version: String::from_utf8_lossy(&self.topics.data_version().encode()).into_owned(),
        })
        .with_body(text.into_bytes())
    }

    fn update_broker_config(&self, req: &RemotingCommand) -> Response {
        let Ok(text) = std::str::from_utf8(&req.body) else {
            return fail(
                ResponseCode::SYSTEM_ERROR,
                "string2Properties error: body is not UTF-8",
            );
        };
        let pairs = ferromq_protocol::java_properties::parse(text);
        match self.update_settings(&pairs) {
            Ok(()) => {
                tracing::info!(keys = ?pairs.iter().map(|(k, _)| k).collect::<Vec<_>>(), "broker config updated");
                self.topics_changed.notify_one();
                ok()
            }
            Err(ferromq_protocol::settings::SettingError::NotRuntimeUpdatable { key }) => fail(
                ResponseCode::NO_PERMISSION,
                format!(
                    "Can not update config in black list. `{key}` cannot be changed at run time"
                ),
            ),
            Err(e) => fail(ResponseCode::SYSTEM_ERROR, e.to_string()),
        }
    }

    async fn delete_topic(&self, req: &RemotingCommand) -> Response {
        let h = match DeleteTopicRequestHeader::read_ext(&req.ext_fields) {
            Ok(h) => h,
            Err(e) => return bad_header(e),
        };
        if let Err(refusal) = crate::limits::admin_topic(&h.topic) {
            return refusal;
        }
        self.topics.delete(&h.topic);
        self.persist_topics().await;
        self.offsets.remove_topic(&h.topic);
        if let Err(e) = self.store.delete_topic(&h.topic) {
            return fail(
                ResponseCode::SYSTEM_ERROR,
                format!("delete topic failed: {e}"),
            );
        }
        self.topics_changed.notify_one();
        ok()
    }

    /// Writes `subscriptionGroup.json` if it changed, on a blocking thread.
    async fn persist_groups(&self) {
        let groups = self.groups.clone();
        match tokio::task::spawn_blocking(move || groups.persist()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "cannot persist subscriptionGroup.json"),
            Err(e) => tracing::error!(error = %e, "subscriptionGroup.json writer failed"),
        }
    }

    async fn groups_admin(&self, code: RequestCode, req: &RemotingCommand) -> Response {
        match code {
            RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP => {
                match ferromq_protocol::json::from_slice::<SubscriptionGroupConfig>(&req.body) {
                    Ok(config) => {
                        if let Err(e) = names::check_group(&config.group_name) {
                            return fail(ResponseCode::INVALID_PARAMETER, e.to_string());
                        }
                        self.groups.update(config);
                        self.persist_groups().await;
                        ok()
                    }
                    Err(e) => fail(
                        ResponseCode::SYSTEM_ERROR,
                        format!("bad subscription group body: {e}"),
                    ),
                }
            }
            RequestCode::GET_ALL_SUBSCRIPTIONGROUP_CONFIG => {
                ok().with_body(self.groups.encode().into_bytes())
            }
            RequestCode::DELETE_SUBSCRIPTIONGROUP => {
                match DeleteSubscriptionGroupRequestHeader::read_ext(&req.ext_fields) {
                    Ok(h) => {
                        self.groups.delete(&h.group_name);
                        if h.clean_offset == Some(true) {
                            self.offsets.remove_group(&h.group_name);
                        }
                        self.persist_groups().await;
                        ok()
                    }
                    Err(e) => bad_header(e),
                }
            }
            _ => ok().with_body(self.offsets.encode().into_bytes()),
        }
    }

    fn consumed_by(&self, req: &RemotingCommand) -> Response {
        match QueryTopicConsumeByWhoRequestHeader::read_ext(&req.ext_fields) {
            Ok(h) => {
                let groups: Vec<String> =
                    self.offsets.groups_of_topic(&h.topic).into_iter().collect();
                let body = format!(
                    "{{\"groupList\":{}}}",
                    ferromq_protocol::json::to_string(&groups)
                );
                ok().with_body(body.into_bytes())
            }
            Err(e) => bad_header(e),
        }
    }

    /// Admin requests; `None` when `code` is not one of them.
    pub(crate) async fn process_admin(
        &self,
        code: RequestCode,
        req: &RemotingCommand,
    ) -> Option<Response> {
        Some(match code {
            RequestCode::GET_BROKER_RUNTIME_INFO => self.runtime_info(),
            RequestCode::GET_TOPIC_STATS_INFO => self.topic_stats(req),
            RequestCode::GET_CONSUME_STATS => self.consume_stats(req),
            RequestCode::GET_CONSUMER_CONNECTION_LIST
            | RequestCode::GET_PRODUCER_CONNECTION_LIST => self.connections(code, req),
            RequestCode::GET_BROKER_CONFIG => self.broker_config(),
            RequestCode::UPDATE_BROKER_CONFIG => self.update_broker_config(req),
            RequestCode::DELETE_TOPIC_IN_BROKER => self.delete_topic(req).await,
            RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP
            | RequestCode::GET_ALL_SUBSCRIPTIONGROUP_CONFIG
            | RequestCode::DELETE_SUBSCRIPTIONGROUP
            | RequestCode::GET_ALL_CONSUMER_OFFSET => self.groups_admin(code, req).await,
            RequestCode::QUERY_TOPIC_CONSUME_BY_WHO => self.consumed_by(req),
            _ => return None,
        })
    }
}
