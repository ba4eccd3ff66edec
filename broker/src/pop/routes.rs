//! The queues of a topic across the cluster, from the name servers' route (what Apache's
//! QUERY_ASSIGNMENT allocates from, `TopicRouteInfoManager`), cached for [`TTL`]. Only topics
//! this broker has are looked up, so clients cannot make it query the name servers at will.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferromq_protocol::body::{perm, TopicRouteData};
use ferromq_protocol::header::namesrv::GetRouteInfoRequestHeader;
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use ferromq_remoting::{Connection, IgnoreRequests};

use super::assignment::Queue;
use crate::state::Broker;

/// How long a looked-up route is used.
const TTL: Duration = Duration::from_secs(30);
/// Timeout of one name-server lookup.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(3);

/// A looked-up route: when, and the readable queues.
type Route = (Instant, Arc<Vec<Queue>>);

/// Cached routes by topic.
#[derive(Debug, Default)]
pub(crate) struct RouteCache {
    routes: Mutex<HashMap<String, Route>>,
}

impl RouteCache {
    fn cached(&self, topic: &str) -> Option<Arc<Vec<Queue>>> {
        let map = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        map.get(topic)
            .filter(|(at, _)| at.elapsed() < TTL)
            .map(|(_, q)| q.clone())
    }

    fn store(&self, topic: &str, queues: Arc<Vec<Queue>>) {
        let mut map = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, (at, _)| at.elapsed() < TTL);
        map.insert(topic.to_owned(), (Instant::now(), queues));
    }
}

/// The readable queues of `topic` on every broker of its route, sorted; `None` when no name
/// server answers with a route (the caller falls back to this broker's own queues).
pub(crate) async fn cluster_queues(broker: &Broker, topic: &str) -> Option<Arc<Vec<Queue>>> {
    if let Some(q) = broker.pop.routes.cached(topic) {
        return Some(q);
    }
    let settings = broker.settings();
    let config = crate::server::outbound_config(&settings.broker).ok()?;
    for addr in settings.broker.namesrv_addrs() {
        let Ok(conn) = Connection::connect(&addr, Arc::new(IgnoreRequests), config.clone()).await
        else {
            continue;
        };
        let h = GetRouteInfoRequestHeader {
            topic: topic.to_owned(),
            accept_standard_json_only: Some(true),
        };
        let req = RemotingCommand::request_with_header(RequestCode::GET_ROUTEINFO_BY_TOPIC, &h);
        let resp = conn.request(req, LOOKUP_TIMEOUT).await;
        conn.close();
        let Ok(resp) = resp else { continue };
        if resp.response_code() != ResponseCode::SUCCESS {
            continue;
        }
        let Ok(route) = TopicRouteData::decode(&resp.body) else {
            continue;
        };
        let mut queues: Vec<Queue> = route
            .queue_datas
            .iter()
            .filter(|qd| qd.perm & perm::READ != 0)
            .flat_map(|qd| {
                (0..qd.read_queue_nums.clamp(0, 65_536)).map(|queue_id| Queue {
                    topic: topic.to_owned(),
                    broker_name: qd.broker_name.clone(),
                    queue_id,
                })
            })
            .collect();
        queues.sort();
        queues.dedup();
        let queues = Arc::new(queues);
        broker.pop.routes.store(topic, queues.clone());
        return Some(queues);
    }
    None
}
