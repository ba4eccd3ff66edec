//! `Admin`: the core's admin client (cluster, topics, statistics, consumer progress, messages
//! by key or id) with plain-object results.

use std::sync::Arc;

use ferromq_client::admin::DEFAULT_CLUSTER;
use ferromq_client::{Admin as CoreAdmin, Lifecycle, TopicOptions};
use ferromq_protocol::body::{BrokerData, MessageQueue};
use js_sys::{Array, Object, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::consumer::opt_i32;
use crate::error::OrJs;
use crate::js;
use crate::message::to_js as message_to_js;
use crate::options::client_config;

/// `{ cluster, brokerName, addrs: { id: 'ip:port' } }`.
fn broker_to_js(b: &BrokerData) -> JsValue {
    let o = Object::new();
    js::set(&o, "cluster", b.cluster.as_str());
    js::set(&o, "brokerName", b.broker_name.as_str());
    let addrs = Object::new();
    for (id, addr) in &b.broker_addrs {
        js::set(&addrs, &id.to_string(), addr.as_str());
    }
    js::set(&o, "addrs", addrs);
    o.into()
}

/// `{ topic, brokerName, queueId }` plus the fields `extra` sets.
fn queue_with(mq: &MessageQueue, extra: impl FnOnce(&Object)) -> JsValue {
    let o = Object::new();
    js::set(&o, "topic", mq.topic.as_str());
    js::set(&o, "brokerName", mq.broker_name.as_str());
    js::set(&o, "queueId", mq.queue_id);
    extra(&o);
    o.into()
}

/// Admin operations: `new Admin({ namesrvAddr })`, then `clusterInfo`, `createTopic`,
/// `deleteTopic`, `topicRoute`, `topicStats`, `consumerProgress`, `queryByKey`, `viewMessage`;
/// `shutdown` at the end, after which calls reject with `IllegalState`.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Admin {
    lifecycle: Lifecycle<Arc<CoreAdmin>>,
}

/// Runs `call` with the started admin and converts its answer with `to_js`.
macro_rules! admin_call {
    ($self:ident, $op:literal, |$admin:ident| $call:expr, |$value:ident| $to_js:expr) => {{
        let lifecycle = $self.lifecycle.clone();
        future_to_promise(async move {
            let $admin = lifecycle.get($op).or_js()?;
            let $value = $call.await.or_js()?;
            Ok($to_js)
        })
    }};
}

#[wasm_bindgen]
impl Admin {
    /// An admin client. Throws on unusable options.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "ClientOptions")] options: JsValue,
    ) -> Result<Admin, JsValue> {
        let config = client_config(&options, "admin")?;
        let admin = CoreAdmin::new(&config).or_js()?;
        Ok(Admin {
            lifecycle: Lifecycle::started("admin", Arc::new(admin)),
        })
    }

    /// The name servers' cluster table: `{ brokers: [{ cluster, brokerName, addrs }],
    /// clusters: { name: [brokerName] } }`.
    #[wasm_bindgen(js_name = clusterInfo, unchecked_return_type = "Promise<ClusterInfo>")]
    pub fn cluster_info(&self) -> Promise {
        admin_call!(self, "cluster info", |admin| admin.cluster_info(), |info| {
            let brokers: Array = info.broker_addr_table.values().map(broker_to_js).collect();
            let clusters = Object::new();
            for (name, members) in &info.cluster_addr_table {
                let names: Array = members.iter().map(|m| JsValue::from_str(m)).collect();
                js::set(&clusters, name, names);
            }
            let o = Object::new();
            js::set(&o, "brokers", brokers);
            js::set(&o, "clusters", clusters);
            o.into()
        })
    }

    /// Creates (or updates) `topic` on every master of `options.cluster`
    /// (`DefaultCluster`) with `options.queueNums` queues (8).
    #[wasm_bindgen(js_name = createTopic, unchecked_return_type = "Promise<void>")]
    pub fn create_topic(
        &self,
        topic: String,
        #[wasm_bindgen(unchecked_param_type = "TopicOptions | undefined")] options: JsValue,
    ) -> Promise {
        const OP: &str = "create topic";
        let parsed = (|| -> Result<(String, TopicOptions), JsValue> {
            let cluster = js::opt_string(&options, "cluster", OP)?
                .unwrap_or_else(|| DEFAULT_CLUSTER.to_owned());
            let mut o = TopicOptions::default();
            if let Some(n) = opt_i32(&options, "queueNums", OP)? {
                o.queue_nums = n;
            }
            if let Some(b) = js::opt_bool(&options, "order", OP)? {
                o.order = b;
            }
            Ok((cluster, o))
        })();
        let lifecycle = self.lifecycle.clone();
        future_to_promise(async move {
            let (cluster, o) = parsed?;
            let admin = lifecycle.get(OP).or_js()?;
            admin.create_topic(&cluster, &topic, &o).await.or_js()?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Deletes `topic` from every master of `cluster` (`DefaultCluster`) and from the name
    /// servers.
    #[wasm_bindgen(js_name = deleteTopic, unchecked_return_type = "Promise<void>")]
    pub fn delete_topic(&self, topic: String, cluster: Option<String>) -> Promise {
        let cluster = cluster.unwrap_or_else(|| DEFAULT_CLUSTER.to_owned());
        admin_call!(
            self,
            "delete topic",
            |admin| admin.delete_topic(&cluster, &topic),
            |_done| JsValue::UNDEFINED
        )
    }

    /// The route of `topic`, fresh from the name servers: `{ brokers: [{ cluster, brokerName,
    /// addrs }], queues: [{ brokerName, readQueueNums, writeQueueNums, perm }] }`
    /// (`TopicNotFound` when it has none).
    #[wasm_bindgen(js_name = topicRoute, unchecked_return_type = "Promise<TopicRoute>")]
    pub fn topic_route(&self, topic: String) -> Promise {
        admin_call!(
            self,
            "topic route",
            |admin| admin.topic_route(&topic),
            |route| {
                let brokers: Array = route.broker_datas.iter().map(broker_to_js).collect();
                let queues: Array = route
                    .queue_datas
                    .iter()
                    .map(|q| {
                        let o = Object::new();
                        js::set(&o, "brokerName", q.broker_name.as_str());
                        js::set(&o, "readQueueNums", q.read_queue_nums);
                        js::set(&o, "writeQueueNums", q.write_queue_nums);
                        js::set(&o, "perm", q.perm);
                        JsValue::from(o)
                    })
                    .collect();
                let o = Object::new();
                js::set(&o, "brokers", brokers);
                js::set(&o, "queues", queues);
                o.into()
            }
        )
    }

    /// The offsets of every queue of `topic`: `[{ topic, brokerName, queueId, minOffset,
    /// maxOffset, lastUpdateTimestamp }]`.
    #[wasm_bindgen(js_name = topicStats, unchecked_return_type = "Promise<QueueStats[]>")]
    pub fn topic_stats(&self, topic: String) -> Promise {
        admin_call!(
            self,
            "topic stats",
            |admin| admin.topic_stats(&topic),
            |stats| {
                let rows: Array = stats
                    .iter()
                    .map(|(mq, s)| {
                        queue_with(mq, |o| {
                            js::set(o, "minOffset", js::num(s.min_offset));
                            js::set(o, "maxOffset", js::num(s.max_offset));
                            js::set(o, "lastUpdateTimestamp", js::num(s.last_update_timestamp));
                        })
                    })
                    .collect();
                rows.into()
            }
        )
    }

    /// How far `group` has consumed `topic`: `[{ topic, brokerName, queueId, brokerOffset,
    /// consumerOffset, pullOffset, lastTimestamp }]`.
    #[wasm_bindgen(js_name = consumerProgress, unchecked_return_type = "Promise<QueueProgress[]>")]
    pub fn consumer_progress(&self, group: String, topic: String) -> Promise {
        admin_call!(
            self,
            "consumer progress",
            |admin| admin.consumer_progress(&group, &topic),
            |progress| {
                let rows: Array = progress
                    .iter()
                    .map(|(mq, p)| {
                        queue_with(mq, |o| {
                            js::set(o, "brokerOffset", js::num(p.broker_offset));
                            js::set(o, "consumerOffset", js::num(p.consumer_offset));
                            js::set(o, "pullOffset", js::num(p.pull_offset));
                            js::set(o, "lastTimestamp", js::num(p.last_timestamp));
                        })
                    })
                    .collect();
                rows.into()
            }
        )
    }

    /// The messages of `topic` with `key` among their keys, from every broker's index (at most
    /// `max` per broker, 32 when omitted).
    #[wasm_bindgen(js_name = queryByKey, unchecked_return_type = "Promise<ReceivedMessage[]>")]
    pub fn query_by_key(&self, topic: String, key: String, max: Option<u32>) -> Promise {
        let max = i32::try_from(max.unwrap_or(32)).unwrap_or(i32::MAX);
        admin_call!(
            self,
            "query message",
            |admin| admin.query_by_key(&topic, &key, max),
            |found| found.iter().map(message_to_js).collect::<Array>().into()
        )
    }

    /// The message with broker id `offsetMsgId` (a send result's `offsetMsgId`).
    #[wasm_bindgen(js_name = viewMessage, unchecked_return_type = "Promise<ReceivedMessage>")]
    pub fn view_message(
        &self,
        #[wasm_bindgen(js_name = offsetMsgId)] offset_msg_id: String,
    ) -> Promise {
        admin_call!(
            self,
            "view message",
            |admin| admin.view_by_offset_id(&offset_msg_id),
            |m| message_to_js(&m)
        )
    }

    /// Releases the shared client, for good (a second call does nothing).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn shutdown(&self) -> Promise {
        let lifecycle = self.lifecycle.clone();
        future_to_promise(async move {
            lifecycle.shutdown().await;
            Ok(JsValue::UNDEFINED)
        })
    }
}
