//! `Admin`: topic creation on a cluster.

use std::collections::HashMap;
use std::sync::Arc;

use napi_derive::napi;

use ferromq_client::admin::DEFAULT_CLUSTER;
use ferromq_client::{
    Admin as CoreAdmin, ClientConfig, Lifecycle, TopicOptions as CoreTopicOptions,
};

use crate::error::Fallible;
use crate::options::client_config;

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

/// Admin operations.
#[napi]
#[derive(Debug)]
pub struct Admin {
    config: ClientConfig,
    lifecycle: Lifecycle<Arc<CoreAdmin>>,
}

#[napi]
impl Admin {
    /// An admin client; it connects on first use. After `shutdown()` its calls reject with
    /// `IllegalState`.
    #[napi(constructor)]
    pub fn new(options: AdminOptions) -> Self {
        Admin {
            config: client_config(
                &options.namesrv_addr,
                options.instance_name.as_deref(),
                options.request_timeout_ms,
            ),
            lifecycle: Lifecycle::new("admin"),
        }
    }

    fn get(&self, op: &'static str) -> Result<Arc<CoreAdmin>, ferromq_client::Error> {
        self.lifecycle
            .get_or_start(op, || CoreAdmin::new(&self.config).map(Arc::new))
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
                brokers: route
                    .broker_datas
                    .iter()
                    .map(|b| RouteBroker {
                        cluster: b.cluster.clone(),
                        broker_name: b.broker_name.clone(),
                        addrs: b
                            .broker_addrs
                            .iter()
                            .map(|(id, addr)| (id.to_string(), addr.clone()))
                            .collect(),
                    })
                    .collect(),
            })
        };
        Fallible(r.await)
    }

    /// Releases the connections, for good (a second call does nothing).
    #[napi]
    pub async fn shutdown(&self) {
        self.lifecycle.shutdown().await;
    }
}
