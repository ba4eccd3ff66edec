//! `topicClusterList`, `updateTopicPerm`, `allocateMQ` and `updateOrderConf`: what a topic's
//! route says, and the settings kept beside it.

use clap::Args;
use ferromq_client::{AllocateStrategy, Averagely};
use ferromq_protocol::body::{perm, MessageQueue, TopicConfig, MASTER_ID};

use crate::common::{
    cluster_info, connect, print_json, print_out, Failure, Json, Namesrv, Outcome,
};
use crate::java;
use crate::topic::ORDER_TOPIC_CONFIG;

/// `topicClusterList` flags (Apache's `TopicClusterSubCommand`).
#[derive(Args, Debug)]
pub(crate) struct TopicClusterListArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// Topic name.
    #[arg(short = 't', long = "topic")]
    topic: String,
    #[command(flatten)]
    json: Json,
}

/// `updateTopicPerm` flags (Apache's `UpdateTopicPermSubCommand`).
#[derive(Args, Debug)]
pub(crate) struct UpdateTopicPermArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// Topic name.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// New permission: 2 write, 4 read, 6 both.
    #[arg(short = 'p', long = "perm")]
    perm: i32,
    /// Only this master's queues.
    #[arg(short = 'b', long = "brokerAddr", conflicts_with = "cluster")]
    broker: Option<String>,
    /// Every master of this cluster that has the topic.
    #[arg(short = 'c', long = "clusterName")]
    cluster: Option<String>,
}

/// `allocateMQ` flags (Apache's `AllocateMQSubCommand`).
#[derive(Args, Debug)]
pub(crate) struct AllocateMqArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// Topic name.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// The consumers' ids (IPs), comma-separated.
    #[arg(short = 'i', long = "ipList")]
    ips: String,
}

/// `updateOrderConf` flags (Apache's `UpdateOrderConfCommand`).
#[derive(Args, Debug)]
pub(crate) struct UpdateOrderConfArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// Topic name.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// `put`, `get` or `delete`.
    #[arg(short = 'm', long = "method")]
    method: String,
    /// The order configuration, `brokerName:queues;...` (with `put`).
    #[arg(short = 'v', long = "orderConf")]
    order_conf: Option<String>,
}

/// The clusters whose brokers hold the topic, one per line.
pub(crate) async fn topic_cluster_list(args: TopicClusterListArgs) -> Outcome {
    let admin = connect(&args.ns)?;
    let result = async {
        let topic = args.topic.trim();
        let route = admin
            .topic_route(topic)
            .await
            .map_err(Failure::at(&args.ns.namesrv))?;
        let info = cluster_info(&admin, &args.ns).await?;
        let clusters: std::collections::BTreeSet<&String> = route
            .broker_datas
            .iter()
            .filter_map(|b| {
                info.cluster_addr_table
                    .iter()
                    .find(|(_, names)| names.contains(&b.broker_name))
                    .map(|(cluster, _)| cluster)
            })
            .collect();
        if args.json.json {
            print_json(&serde_json::json!({ "topic": topic, "clusters": clusters }));
        } else {
            let text: String = clusters.iter().map(|c| format!("{c}\n")).collect();
            print_out(&text);
        }
        Ok(())
    }
    .await;
    admin.shutdown().await;
    result
}

/// Sets the topic's permission on each master of its route (or only `-b`'s, or `-c`'s), with
/// Apache's lines.
pub(crate) async fn update_topic_perm(args: UpdateTopicPermArgs) -> Outcome {
    if args.perm & !perm::READ_WRITE != 0 || args.perm & perm::READ_WRITE == 0 {
        return Err(Failure::usage(
            "updateTopicPerm",
            format!("perm {} is not 2 (write), 4 (read) or 6 (both)", args.perm),
        ));
    }
    let admin = connect(&args.ns)?;
    let result = async {
        let topic = args.topic.trim();
        let route = admin
            .topic_route(topic)
            .await
            .map_err(Failure::at(&args.ns.namesrv))?;
        let info = if args.cluster.is_some() {
            Some(cluster_info(&admin, &args.ns).await?)
        } else {
            None
        };
        let mut done = 0;
        for broker in &route.broker_datas {
            let Some(addr) = broker.broker_addrs.get(&MASTER_ID) else {
                continue;
            };
            if args.broker.as_deref().is_some_and(|b| b.trim() != addr) {
                continue;
            }
            if let (Some(cluster), Some(info)) = (&args.cluster, &info) {
                let in_cluster = info
                    .cluster_addr_table
                    .get(cluster.trim())
                    .is_some_and(|names| names.contains(&broker.broker_name));
                if !in_cluster {
                    continue;
                }
            }
            let Some(queues) = route
                .queue_datas
                .iter()
                .find(|q| q.broker_name == broker.broker_name)
            else {
                continue;
            };
            if queues.perm == args.perm {
                print_out("new perm equals to the old one!\n");
                continue;
            }
            let config = TopicConfig {
                topic_name: topic.to_owned(),
                read_queue_nums: queues.read_queue_nums,
                write_queue_nums: queues.write_queue_nums,
                perm: args.perm,
                topic_sys_flag: queues.topic_sys_flag,
                ..TopicConfig::default()
            };
            admin
                .create_topic_at(addr, &config)
                .await
                .map_err(Failure::at(addr))?;
            print_out(&format!(
                "update topic perm from {} to {} in {addr} success.\n",
                queues.perm, args.perm
            ));
            done += 1;
        }
        if done == 0 && args.broker.is_some() {
            return Err(Failure::usage(
                "updateTopicPerm",
                "the broker is not a master of the topic's route",
            ));
        }
        Ok(())
    }
    .await;
    admin.shutdown().await;
    result
}

/// What each of the consumers would get with the default (averagely) allocation, as JSON.
pub(crate) async fn allocate_mq(args: AllocateMqArgs) -> Outcome {
    let admin = connect(&args.ns)?;
    let result = async {
        let topic = args.topic.trim();
        let route = admin
            .topic_route(topic)
            .await
            .map_err(Failure::at(&args.ns.namesrv))?;
        let queues: Vec<MessageQueue> = route
            .queue_datas
            .iter()
            .filter(|q| q.perm & perm::READ != 0)
            .flat_map(|q| {
                (0..q.read_queue_nums).map(|id| MessageQueue {
                    topic: topic.to_owned(),
                    broker_name: q.broker_name.clone(),
                    queue_id: id,
                })
            })
            .collect();
        // Apache collects the queues into a `HashSet` and hands them to the strategy in that
        // set's order (a consumer's rebalance sorts them first; this command does not).
        let hashes: Vec<i32> = queues.iter().map(java::queue_hash).collect();
        let queues: Vec<MessageQueue> = java::hash_order(&hashes)
            .into_iter()
            .map(|i| queues[i].clone())
            .collect();
        let mut ips: Vec<String> = Vec::new();
        for ip in args
            .ips
            .split(',')
            .map(str::trim)
            .filter(|ip| !ip.is_empty())
        {
            if !ips.iter().any(|known| known == ip) {
                ips.push(ip.to_owned());
            }
        }
        // The result map is a `HashMap` too: its keys print in that map's order.
        let hashes: Vec<i32> = ips.iter().map(|ip| java::string_hash(ip)).collect();
        let mut entries = Vec::new();
        for i in java::hash_order(&hashes) {
            let ip = &ips[i];
            let mine = Averagely.allocate(ip, &queues, &ips);
            let list: Vec<serde_json::Value> = mine
                .iter()
                .map(|mq| {
                    serde_json::json!({
                        "brokerName": mq.broker_name,
                        "queueId": mq.queue_id,
                        "topic": mq.topic,
                    })
                })
                .collect();
            let key = serde_json::Value::String(ip.clone());
            entries.push(format!("{key}:{}", serde_json::Value::Array(list)));
        }
        let text = format!("{{\"result\":{{{}}}}}", entries.join(","));
        print_out(&format!("{text}\n"));
        Ok(())
    }
    .await;
    admin.shutdown().await;
    result
}

/// Reads, writes or deletes the topic's order configuration in the name servers' KV store.
pub(crate) async fn update_order_conf(args: UpdateOrderConfArgs) -> Outcome {
    let topic = args.topic.trim().to_owned();
    let method = args.method.trim();
    if !matches!(method, "get" | "put" | "delete") {
        return Err(Failure::usage(
            "updateOrderConf",
            format!("-m {method}: expected put, get or delete"),
        ));
    }
    let order_conf = args.order_conf.as_deref().map(str::trim).unwrap_or("");
    if method == "put" && order_conf.is_empty() {
        return Err(Failure::usage(
            "updateOrderConf",
            "please set orderConf with option -v.",
        ));
    }
    let admin = connect(&args.ns)?;
    let ns = args.ns.namesrv.as_str();
    let result = async {
        match method {
            "get" => {
                let conf = admin
                    .kv_config(ORDER_TOPIC_CONFIG, &topic)
                    .await
                    .map_err(Failure::at(ns))?;
                print_out(&format!(
                    "get orderConf success. topic=[{topic}], orderConf=[{}] \n",
                    conf.as_deref().unwrap_or("null")
                ));
            }
            "put" => {
                admin
                    .put_kv_config(ORDER_TOPIC_CONFIG, &topic, order_conf)
                    .await
                    .map_err(Failure::at(ns))?;
                print_out(&format!(
                    "update orderConf success. topic=[{topic}], orderConf=[{order_conf}]\n"
                ));
            }
            _ => {
                admin
                    .delete_kv_config(ORDER_TOPIC_CONFIG, &topic)
                    .await
                    .map_err(Failure::at(ns))?;
                print_out(&format!("delete orderConf success. topic=[{topic}]\n"));
            }
        }
        Ok(())
    }
    .await;
    admin.shutdown().await;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queues_come_in_the_order_apaches_allocate_mq_printed() {
        // Apache 5.3.3's allocateMQ -t AdminTopic -i 127.0.0.1@a,127.0.0.1@b gave @a queues 2
        // and 3, @b queues 0 and 1.
        let queues: Vec<MessageQueue> = (0..4)
            .map(|queue_id| MessageQueue {
                topic: "AdminTopic".to_owned(),
                broker_name: "apache-broker-a".to_owned(),
                queue_id,
            })
            .collect();
        let hashes: Vec<i32> = queues.iter().map(java::queue_hash).collect();
        let ids: Vec<i32> = java::hash_order(&hashes)
            .into_iter()
            .map(|i| queues[i].queue_id)
            .collect();
        assert_eq!(ids, [2, 3, 0, 1]);
    }
}
