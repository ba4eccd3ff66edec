//! `Admin`: the core's admin client (cluster, topics, statistics, consumer progress, messages
//! by key or id, broker runtime figures) with plain-object results, shaped as the WASM
//! package's.

use std::collections::HashMap;
use std::sync::Arc;

use napi::bindgen_prelude::Either;
use napi_derive::napi;

use ferromq_client::admin::DEFAULT_CLUSTER;
use ferromq_client::{
    Admin as CoreAdmin, ClientConfig, Lifecycle, TopicOptions as CoreTopicOptions,
};
use ferromq_protocol::body::BrokerData;

use crate::error::Fallible;
use crate::message::ReceivedMessage;
use crate::options::{client_config, Common, Credentials, TlsOptions};

/// Admin client settings.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct AdminOptions {
    /// Name servers, `host:port` separated by `;`.
    pub namesrv_addr: String,
    /// Instance name (`DEFAULT`).
    pub instance_name: Option<String>,
    /// Timeout of requests, ms (3000).
    pub request_timeout_ms: Option<u32>,
    /// ACL 1.0 credentials: every request is signed with them (brokers with `aclEnable=true`).
    /// Objects sharing an instance name share the first one's credentials and TLS settings.
    pub credentials: Option<Credentials>,
    /// TLS to the name servers and brokers: `true` (the system's trusted roots) or the
    /// settings; plaintext when absent or false.
    pub tls: Option<Either<bool, TlsOptions>>,
}

/// How to create a topic.
#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct TopicOptions {
    /// The cluster whose masters get the topic (`DefaultCluster`).
    pub cluster: Option<String>,
    /// Read and write queues per broker (8).
    pub queue_nums: Option<i32>,
    /// Mark the topic as ordered (false).
    pub order: Option<bool>,
}

/// A topic's queues on one broker group, as the name servers publish them.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct TopicQueues {
    /// The broker group.
    pub broker_name: String,
    /// Readable queues.
    pub read_queue_nums: i32,
    /// Writable queues.
    pub write_queue_nums: i32,
    /// Permission bits (2 = write, 4 = read, 6 = both).
    pub perm: i32,
}

/// A broker group of a topic's route.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct RouteBroker {
    /// The cluster.
    pub cluster: String,
    /// The broker group.
    pub broker_name: String,
    /// Broker id (`0` = master) to address.
    pub addrs: HashMap<String, String>,
}

/// A topic's route.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct TopicRoute {
    /// Queues per broker group.
    pub queues: Vec<TopicQueues>,
    /// The broker groups serving the topic.
    pub brokers: Vec<RouteBroker>,
}

/// The name servers' cluster table.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct ClusterInfo {
    /// Every broker group.
    pub brokers: Vec<RouteBroker>,
    /// Cluster name to its broker names.
    pub clusters: HashMap<String, Vec<String>>,
}

/// The offsets of one queue of a topic.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct QueueStats {
    /// The topic.
    pub topic: String,
    /// The broker group.
    pub broker_name: String,
    /// The queue.
    pub queue_id: i32,
    /// The smallest offset still stored.
    pub min_offset: i64,
    /// The next offset to be written.
    pub max_offset: i64,
    /// Store time of the last message, ms.
    pub last_update_timestamp: i64,
}

/// How far a consumer group has consumed one queue.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct QueueProgress {
    /// The topic.
    pub topic: String,
    /// The broker group.
    pub broker_name: String,
    /// The queue.
    pub queue_id: i32,
    /// The queue's max offset.
    pub broker_offset: i64,
    /// The group's committed offset.
    pub consumer_offset: i64,
    /// The group's pull offset.
    pub pull_offset: i64,
    /// Store time of the last consumed message, ms.
    pub last_timestamp: i64,
}

fn route_broker(b: &BrokerData) -> RouteBroker {
    RouteBroker {
        cluster: b.cluster.clone(),
        broker_name: b.broker_name.clone(),
        addrs: b
            .broker_addrs
            .iter()
            .map(|(id, addr)| (id.to_string(), addr.clone()))
            .collect(),
    }
}

/// Admin operations: `clusterInfo`, `createTopic`, `deleteTopic`, `topicRoute`, `topicStats`,
/// `consumerProgress`, `queryByKey`, `viewMessage`, `brokerRuntimeInfo`; `shutdown` at the end.
#[napi]
#[derive(Debug)]
pub struct Admin {
    /// The settings, or why they are unusable (the operation and message of the
    /// InvalidArgument error every call then rejects with).
    config: Result<ClientConfig, (&'static str, String)>,
    lifecycle: Lifecycle<Arc<CoreAdmin>>,
}

#[napi]
impl Admin {
    /// An admin client; it connects on first use. After `shutdown()` its calls reject with
    /// `IllegalState`.
    #[napi(constructor)]
    pub fn new(options: AdminOptions) -> Self {
        Admin {
            config: client_config(Common {
                namesrv_addr: &options.namesrv_addr,
                instance_name: options.instance_name.as_deref(),
                request_timeout_ms: options.request_timeout_ms,
                credentials: options.credentials.as_ref(),
                tls: options.tls.as_ref(),
                // Apache's admin client applies no namespace.
                namespace: None,
            })
            .map_err(|e| (e.operation(), e.message().to_owned())),
            lifecycle: Lifecycle::new("admin"),
        }
    }

    fn get(&self, op: &'static str) -> Result<Arc<CoreAdmin>, ferromq_client::Error> {
        self.lifecycle.get_or_start(op, || {
            let config = match &self.config {
                Ok(c) => c,
                Err((op, msg)) => return Err(ferromq_client::Error::invalid(op, msg.clone())),
            };
            CoreAdmin::new(config).map(Arc::new)
        })
    }

    /// Creates (or updates) `topic` on every master of the cluster.
    #[napi(ts_return_type = "Promise<void>")]
    pub async fn create_topic(&self, topic: String, options: Option<TopicOptions>) -> Fallible<()> {
        let r = async {
            let o = options.unwrap_or_default();
            let mut core = CoreTopicOptions::default();
            if let Some(n) = o.queue_nums {
                core.queue_nums = n;
            }
            if let Some(b) = o.order {
                core.order = b;
            }
            let cluster = o.cluster.unwrap_or_else(|| DEFAULT_CLUSTER.to_owned());
            self.get("create topic")?
                .create_topic(&cluster, &topic, &core)
                .await
        };
        Fallible(r.await)
    }

    /// The topic's route, fresh from the name servers (`TopicNotFound` if it has none).
    #[napi(ts_return_type = "Promise<TopicRoute>")]
    pub async fn topic_route(&self, topic: String) -> Fallible<TopicRoute> {
        let r = async {
            let route = self.get("topic route")?.topic_route(&topic).await?;
            Ok(TopicRoute {
                queues: route
                    .queue_datas
                    .iter()
                    .map(|q| TopicQueues {
                        broker_name: q.broker_name.clone(),
                        read_queue_nums: q.read_queue_nums,
                        write_queue_nums: q.write_queue_nums,
                        perm: q.perm,
                    })
                    .collect(),
                brokers: route.broker_datas.iter().map(route_broker).collect(),
            })
        };
        Fallible(r.await)
    }

    /// The name servers' cluster table: every broker group and the broker names of each
    /// cluster.
    #[napi(ts_return_type = "Promise<ClusterInfo>")]
    pub async fn cluster_info(&self) -> Fallible<ClusterInfo> {
        let r = async {
            let info = self.get("cluster info")?.cluster_info().await?;
            Ok(ClusterInfo {
                brokers: info.broker_addr_table.values().map(route_broker).collect(),
                clusters: info
                    .cluster_addr_table
                    .iter()
                    .map(|(name, members)| (name.clone(), members.iter().cloned().collect()))
                    .collect(),
            })
        };
        Fallible(r.await)
    }

    /// Deletes `topic` from every master of `cluster` (`DefaultCluster`) and from the name
    /// servers.
    #[napi(ts_return_type = "Promise<void>")]
    pub async fn delete_topic(&self, topic: String, cluster: Option<String>) -> Fallible<()> {
        let r = async {
            let cluster = cluster.unwrap_or_else(|| DEFAULT_CLUSTER.to_owned());
            self.get("delete topic")?
                .delete_topic(&cluster, &topic)
                .await
        };
        Fallible(r.await)
    }

    /// The offsets of every queue of `topic`, in queue order.
    #[napi(ts_return_type = "Promise<Array<QueueStats>>")]
    pub async fn topic_stats(&self, topic: String) -> Fallible<Vec<QueueStats>> {
        let r = async {
            let stats = self.get("topic stats")?.topic_stats(&topic).await?;
            Ok(stats
                .iter()
                .map(|(mq, s)| QueueStats {
                    topic: mq.topic.clone(),
                    broker_name: mq.broker_name.clone(),
                    queue_id: mq.queue_id,
                    min_offset: s.min_offset,
                    max_offset: s.max_offset,
                    last_update_timestamp: s.last_update_timestamp,
                })
                .collect())
        };
        Fallible(r.await)
    }

    /// How far `group` has consumed `topic`, per queue.
    #[napi(ts_return_type = "Promise<Array<QueueProgress>>")]
    pub async fn consumer_progress(
        &self,
        group: String,
        topic: String,
    ) -> Fallible<Vec<QueueProgress>> {
        let r = async {
            let progress = self
                .get("consumer progress")?
                .consumer_progress(&group, &topic)
                .await?;
            Ok(progress
                .iter()
                .map(|(mq, p)| QueueProgress {
                    topic: mq.topic.clone(),
                    broker_name: mq.broker_name.clone(),
                    queue_id: mq.queue_id,
                    broker_offset: p.broker_offset,
                    consumer_offset: p.consumer_offset,
                    pull_offset: p.pull_offset,
                    last_timestamp: p.last_timestamp,
                })
                .collect())
        };
        Fallible(r.await)
    }

    /// The messages of `topic` with `key` among their keys, from every broker's index (at most
    /// `max` per broker, 32 when omitted).
    #[napi(ts_return_type = "Promise<Array<ReceivedMessage>>")]
    pub async fn query_by_key(
        &self,
        topic: String,
        key: String,
        max: Option<u32>,
    ) -> Fallible<Vec<ReceivedMessage>> {
        let r = async {
            let max = i32::try_from(max.unwrap_or(32)).unwrap_or(i32::MAX);
            let found = self
                .get("query message")?
                .query_by_key(&topic, &key, max)
                .await?;
            Ok(found.iter().map(ReceivedMessage::from_core).collect())
        };
        Fallible(r.await)
    }

    /// The message with broker id `offsetMsgId` (a send result's `offsetMsgId`).
    #[napi(ts_return_type = "Promise<ReceivedMessage>")]
    pub async fn view_message(&self, offset_msg_id: String) -> Fallible<ReceivedMessage> {
        let r = async {
            let m = self
                .get("view message")?
                .view_by_offset_id(&offset_msg_id)
                .await?;
            Ok(ReceivedMessage::from_core(&m))
        };
        Fallible(r.await)
    }

    /// The runtime figures of the broker at `brokerAddr` (`host:port`): `putTps`,
    /// `commitLogMaxOffset`, `brokerVersionDesc`, ... as the broker names them.
    #[napi(ts_return_type = "Promise<Record<string, string>>")]
    pub async fn broker_runtime_info(
        &self,
        broker_addr: String,
    ) -> Fallible<HashMap<String, String>> {
        let r = async {
            let info = self
                .get("broker runtime info")?
                .broker_runtime_info(&broker_addr)
                .await?;
            Ok(info.into_iter().collect())
        };
        Fallible(r.await)
    }

    /// Releases the connections, for good (a second call does nothing).
    #[napi]
    pub async fn shutdown(&self) {
        self.lifecycle.shutdown().await;
    }
}
