//! Producers and consumers known to the broker, by group, from their heartbeats
//! (docs/protocol.md, "Heartbeat"): who is online, what each consumer group subscribes to, and the
//! connections to call back on (NOTIFY_CONSUMER_IDS_CHANGED, check-transaction).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ferromq_common::lock;
use ferromq_protocol::body::{ConsumerData, SubscriptionData};
use ferromq_protocol::LanguageCode;
use ferromq_remoting::Connection;

/// One client connection in a group.
#[derive(Clone, Debug)]
pub struct ClientChannel {
    /// The connection (requests to the client travel on it).
    pub conn: Connection,
    /// The client id (`ip@instance`).
    pub client_id: String,
    /// The client's language.
    pub language: LanguageCode,
    /// The client's version ordinal.
    pub version: i32,
    /// Last heartbeat.
    pub last_update: Instant,
}

/// Most members of one group on one connection (a proxy's clients; a plain client is one).
/// Bounds what one connection heartbeating made-up client ids can make the broker hold.
pub const MAX_MEMBERS_PER_CONNECTION: usize = 10_000;

/// A member of a consumer group: its connection id and client id. One connection usually
/// carries one client, but a gRPC proxy heartbeats each of its gRPC clients under its own id
/// over its one connection (docs/grpc.md, "Admin commands"), and each is a member.
pub type MemberKey = (u64, String);

/// A consumer group: its members and their subscriptions.
#[derive(Clone, Debug, Default)]
pub struct ConsumerGroup {
    /// Members by connection id and client id.
    pub channels: BTreeMap<MemberKey, ClientChannel>,
    /// Subscriptions by topic (the newest heartbeat wins).
    pub subscriptions: HashMap<String, SubscriptionData>,
    /// The latest consumer data (consume type, message model, consume-from).
    pub data: Option<ConsumerData>,
}

/// All producer and consumer groups.
#[derive(Debug, Default)]
pub struct ClientManager {
    consumers: Mutex<HashMap<String, ConsumerGroup>>,
    producers: Mutex<HashMap<String, BTreeMap<u64, ClientChannel>>>,
}

impl ClientManager {
    /// Records a consumer heartbeat; returns whether the group's membership changed.
    pub fn register_consumer(&self, channel: ClientChannel, data: &ConsumerData) -> bool {
        let mut consumers = lock(&self.consumers);
        let group = consumers.entry(data.group_name.clone()).or_default();
        let key = (channel.conn.id(), channel.client_id.clone());
        let changed = !group.channels.contains_key(&key);
        if changed {
            let conn = channel.conn.id();
            let on_conn = group
                .channels
                .range((conn, String::new())..)
                .take_while(|((c, _), _)| *c == conn)
                .count();
            if on_conn >= MAX_MEMBERS_PER_CONNECTION {
                tracing::warn!(group = %data.group_name, client = %channel.client_id, "heartbeat ignored: {MAX_MEMBERS_PER_CONNECTION} clients of the group on one connection already");
                return false;
            }
        }
        group.channels.insert(key, channel);
        for sub in &data.subscription_data_set {
            group.subscriptions.insert(sub.topic.clone(), sub.clone());
        }
        group.data = Some(data.clone());
        changed
    }

    /// Records a producer heartbeat.
    pub fn register_producer(&self, group: &str, channel: ClientChannel) {
        lock(&self.producers)
            .entry(group.to_owned())
            .or_default()
            .insert(channel.conn.id(), channel);
    }

    /// Removes client `client_id` of connection `conn_id` from a consumer group
    /// (UNREGISTER_CLIENT); returns whether it was there.
    pub fn unregister_consumer(&self, group: &str, conn_id: u64, client_id: &str) -> bool {
        let mut consumers = lock(&self.consumers);
        let Some(g) = consumers.get_mut(group) else {
            return false;
        };
        let removed = g
            .channels
            .remove(&(conn_id, client_id.to_owned()))
            .is_some();
        if g.channels.is_empty() {
            consumers.remove(group);
        }
        removed
    }

    /// Removes a client from a producer group.
    pub fn unregister_producer(&self, group: &str, conn_id: u64) {
        let mut producers = lock(&self.producers);
        if let Some(g) = producers.get_mut(group) {
            g.remove(&conn_id);
            if g.is_empty() {
                producers.remove(group);
            }
        }
    }

    /// Removes a closed or expired connection everywhere; returns the consumer groups it left.
    pub fn connection_gone(&self, conn_id: u64) -> Vec<String> {
        let mut left = Vec::new();
        let mut consumers = lock(&self.consumers);
        consumers.retain(|name, g| {
            let before = g.channels.len();
            g.channels.retain(|(conn, _), _| *conn != conn_id);
            if g.channels.len() != before {
                left.push(name.clone());
            }
            !g.channels.is_empty()
        });
        drop(consumers);
        lock(&self.producers).retain(|_, g| {
            g.remove(&conn_id);
            !g.is_empty()
        });
        left
    }

    /// How many producer and consumer connections are registered (a connection in two groups
    /// counts twice, as Apache counts them).
    pub fn connection_counts(&self) -> (usize, usize) {
        let producers = lock(&self.producers).values().map(BTreeMap::len).sum();
        let consumers = lock(&self.consumers)
            .values()
            .map(|g| g.channels.len())
            .sum();
        (producers, consumers)
    }

    /// Members silent for longer than `timeout` leave their groups (returned as
    /// (group, client id)); the connections left with no live member anywhere are returned to
    /// be closed. A proxy's connection stays open while any of its clients is heartbeated.
    pub fn expire(&self, timeout: Duration) -> (Vec<(String, String)>, Vec<Connection>) {
        let now = Instant::now();
        let stale = |c: &ClientChannel| now.duration_since(c.last_update) > timeout;
        let mut left = Vec::new();
        let mut dead: BTreeMap<u64, Connection> = BTreeMap::new();
        let mut live = std::collections::BTreeSet::new();
        let mut consumers = lock(&self.consumers);
        consumers.retain(|name, g| {
            g.channels.retain(|_, c| {
                if stale(c) {
                    left.push((name.clone(), c.client_id.clone()));
                    dead.insert(c.conn.id(), c.conn.clone());
                    false
                } else {
                    live.insert(c.conn.id());
                    true
                }
            });
            !g.channels.is_empty()
        });
        drop(consumers);
        let mut producers = lock(&self.producers);
        producers.retain(|_, g| {
            g.retain(|_, c| {
                if stale(c) {
                    dead.insert(c.conn.id(), c.conn.clone());
                    false
                } else {
                    live.insert(c.conn.id());
                    true
                }
            });
            !g.is_empty()
        });
        let closing = dead
            .into_iter()
            .filter(|(id, _)| !live.contains(id))
            .map(|(_, conn)| conn)
            .collect();
        (left, closing)
    }

    /// Client ids of a consumer group's members, sorted.
    pub fn consumer_ids(&self, group: &str) -> Vec<String> {
        let consumers = lock(&self.consumers);
        let mut ids: Vec<String> = consumers
            .get(group)
            .map(|g| g.channels.values().map(|c| c.client_id.clone()).collect())
            .unwrap_or_default();
        ids.sort();
        ids.dedup();
        ids
    }

    /// Connections of a consumer group's members.
    pub fn consumer_connections(&self, group: &str) -> Vec<Connection> {
        lock(&self.consumers)
            .get(group)
            .map(|g| g.channels.values().map(|c| c.conn.clone()).collect())
            .unwrap_or_default()
    }

    /// A consumer group's subscription to `topic`.
    pub fn subscription(&self, group: &str, topic: &str) -> Option<SubscriptionData> {
        lock(&self.consumers)
            .get(group)
            .and_then(|g| g.subscriptions.get(topic).cloned())
    }

    /// A snapshot of a consumer group.
    pub fn consumer_group(&self, group: &str) -> Option<ConsumerGroup> {
        lock(&self.consumers).get(group).cloned()
    }

    /// Every producer group with its connections.
    pub fn producers(&self) -> BTreeMap<String, Vec<ClientChannel>> {
        lock(&self.producers)
            .iter()
            .map(|(group, channels)| (group.clone(), channels.values().cloned().collect()))
            .collect()
    }

    /// The consumer groups whose members subscribe to `topic`.
    pub fn groups_subscribed_to(&self, topic: &str) -> Vec<String> {
        lock(&self.consumers)
            .iter()
            .filter(|(_, g)| g.subscriptions.contains_key(topic))
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// The connection of the producer whose client id is `client_id`, in any group (Apache's
    /// `ProducerManager.findChannel`: where a request-reply reply is pushed).
    pub fn find_producer_channel(&self, client_id: &str) -> Option<ClientChannel> {
        lock(&self.producers)
            .values()
            .flat_map(BTreeMap::values)
            .filter(|c| c.client_id == client_id && !c.conn.is_closed())
            .max_by_key(|c| c.last_update)
            .cloned()
    }

    /// Connections of a producer group.
    pub fn producer_connections(&self, group: &str) -> Vec<ClientChannel> {
        lock(&self.producers)
            .get(group)
            .map(|g| g.values().cloned().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use ferromq_remoting::{ConnectionConfig, IgnoreRequests};

    use super::*;

    fn connection() -> (Connection, tokio::io::DuplexStream) {
        let (near, far) = tokio::io::duplex(4096);
        let (read, write) = tokio::io::split(near);
        let addr: std::net::SocketAddr = "127.0.0.1:10911".parse().expect("addr");
        let conn = Connection::start_io(
            read,
            write,
            addr,
            addr,
            Arc::new(IgnoreRequests),
            ConnectionConfig::default(),
        );
        (conn, far)
    }

    fn member(conn: &Connection, client_id: &str, silent: Duration) -> ClientChannel {
        ClientChannel {
            conn: conn.clone(),
            client_id: client_id.to_owned(),
            language: LanguageCode::default(),
            version: 0,
            last_update: Instant::now() - silent,
        }
    }

    fn data(group: &str) -> ConsumerData {
        ConsumerData {
            group_name: group.to_owned(),
            ..ConsumerData::default()
        }
    }

    #[tokio::test]
    async fn one_connection_carries_several_members_that_expire_alone() {
        let clients = ClientManager::default();
        let (proxy, _far) = connection();
        let (plain, _far2) = connection();
        let fresh = Duration::ZERO;
        let old = Duration::from_secs(600);
        assert!(clients.register_consumer(member(&proxy, "grpc-a", fresh), &data("g")));
        assert!(clients.register_consumer(member(&proxy, "grpc-b", old), &data("g")));
        assert!(!clients.register_consumer(member(&proxy, "grpc-a", fresh), &data("g")));
        assert!(clients.register_consumer(member(&plain, "plain", old), &data("g")));
        assert_eq!(clients.consumer_ids("g"), vec!["grpc-a", "grpc-b", "plain"]);

        // The silent members leave; only the connection with no live member left is closed.
        let (left, closing) = clients.expire(Duration::from_secs(120));
        assert_eq!(left.len(), 2, "{left:?}");
        assert_eq!(closing.len(), 1);
        assert_eq!(closing[0].id(), plain.id());
        assert_eq!(clients.consumer_ids("g"), vec!["grpc-a"]);

        // UNREGISTER_CLIENT takes out the named client of the connection only.
        assert!(clients.register_consumer(member(&proxy, "grpc-b", fresh), &data("g")));
        assert!(!clients.unregister_consumer("g", proxy.id(), "nobody"));
        assert!(clients.unregister_consumer("g", proxy.id(), "grpc-b"));
        assert_eq!(clients.consumer_ids("g"), vec!["grpc-a"]);
        assert_eq!(clients.connection_gone(proxy.id()), vec!["g".to_owned()]);
        assert!(clients.consumer_ids("g").is_empty());
    }

    #[tokio::test]
    async fn members_of_one_connection_are_capped() {
        let clients = ClientManager::default();
        let (conn, _far) = connection();
        for i in 0..MAX_MEMBERS_PER_CONNECTION {
            assert!(clients
                .register_consumer(member(&conn, &format!("c{i}"), Duration::ZERO), &data("g")));
        }
        assert!(!clients.register_consumer(member(&conn, "one-more", Duration::ZERO), &data("g")));
        assert_eq!(clients.consumer_ids("g").len(), MAX_MEMBERS_PER_CONNECTION);
    }
}
