//! The queues of a consumer group: which a member reads (allocation among the group's
//! members, or all of them when broadcasting) and where a newly assigned queue starts.

use std::time::Duration;

use ferromq_protocol::body::{perm, MessageQueue, SubscriptionData, TopicRouteData, MASTER_ID};
use ferromq_protocol::header::offset::{GetMaxOffsetRequestHeader, SearchOffsetRequestHeader};
use ferromq_protocol::header::pull::{
    pull_sys_flag, PullMessageRequestHeader, PullMessageResponseHeader,
};
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};

use super::allocate::AllocateStrategy;
use super::nodes::PullNodes;
use super::offset_store::OffsetStore;
use super::{ConsumeFrom, MessageModel};
use crate::client::Client;
use crate::error::{Error, ErrorKind, Result};
use crate::selector::random_u64;

/// What queue assignment needs to know about a group member.
pub(super) struct GroupView<'a> {
    pub(super) client: &'a Client,
    pub(super) group: &'a str,
    pub(super) model: MessageModel,
    pub(super) allocate: &'a dyn AllocateStrategy,
    pub(super) offsets: &'a OffsetStore,
    pub(super) consume_from: ConsumeFrom,
}

/// One PULL_MESSAGE of a push or pull consumer.
pub(super) struct PullRequest<'a> {
    pub(super) group: &'a str,
    pub(super) mq: &'a MessageQueue,
    pub(super) sub: &'a SubscriptionData,
    pub(super) offset: i64,
    pub(super) batch: i32,
    /// The consumer offset to commit on the way (clustering push consumers).
    pub(super) commit: Option<i64>,
    /// How long the broker may hold the request (long polling).
    pub(super) suspend_millis: i64,
    /// Timeout of the whole request (longer than the hold).
    pub(super) timeout: Duration,
    /// The consumer's pull-from-which-broker table: read to address the pull, updated with
    /// the answer's suggestion.
    pub(super) nodes: &'a PullNodes,
}

impl PullRequest<'_> {
    /// Sends the request to the broker the queue's last pull answer suggested (the master at
    /// first), or to another address of the broker name when that one is not in the route,
    /// and returns the answer.
    pub(super) async fn send(&self, client: &Client) -> Result<RemotingCommand> {
        let mq = self.mq;
        let broker = client
            .find_broker_for(&mq.broker_name, self.nodes.node(mq), false, &mq.topic)
            .await?;
        let sys_flag = sys_flag(self.commit.is_some(), broker.is_slave());
        let header = PullMessageRequestHeader {
            consumer_group: self.group.to_owned(),
            topic: self.mq.topic.clone(),
            queue_id: self.mq.queue_id,
            queue_offset: self.offset,
            max_msg_nums: self.batch,
            sys_flag,
            commit_offset: self.commit.unwrap_or(0),
            suspend_timeout_millis: self.suspend_millis,
            subscription: Some(self.sub.sub_string.clone()),
            sub_version: self.sub.sub_version,
            expression_type: Some(self.sub.expression_type.name().to_owned()),
            max_msg_bytes: None,
            request_source: None,
            proxy_forward_client_id: None,
            broker_name: Some(self.mq.broker_name.clone()),
        };
        let request = RemotingCommand::request_with_header(RequestCode::PULL_MESSAGE, &header);
        let response = client
            .broker_request_for(&mq.topic, &broker.addr, request, self.timeout)
            .await?;
        if matches!(
            response.response_code(),
            ResponseCode::SUCCESS
                | ResponseCode::PULL_NOT_FOUND
                | ResponseCode::PULL_RETRY_IMMEDIATELY
                | ResponseCode::PULL_OFFSET_MOVED
        ) {
            if let Ok(h) = response.header::<PullMessageResponseHeader>() {
                self.nodes.suggest(mq, h.suggest_which_broker_id);
            }
        }
        Ok(response)
    }
}

/// The sys flag of a long-polling pull with its subscription, asking the broker to store the
/// consumer offset on the way when there is one to commit, unless the pull goes to a slave: a
/// slave does not take offsets with pulls (Apache's `clearCommitOffsetFlag`), the periodic
/// commit stores them instead.
fn sys_flag(commit: bool, to_slave: bool) -> i32 {
    let flag = pull_sys_flag::build(commit, true, true, false);
    if to_slave {
        flag & !pull_sys_flag::COMMIT_OFFSET
    } else {
        flag
    }
}

/// The queues of a route a consumer may read (docs/protocol.md, "Rebalancing"), sorted.
pub(super) fn subscribe_queues(topic: &str, route: &TopicRouteData) -> Vec<MessageQueue> {
    let mut queues: Vec<MessageQueue> = route
        .queue_datas
        .iter()
        .filter(|q| perm::is_readable(q.perm))
        .flat_map(|q| {
            (0..q.read_queue_nums).map(move |i| MessageQueue::new(topic, &q.broker_name, i))
        })
        .collect();
    queues.sort();
    queues
}

pub(super) async fn allocate(g: &GroupView<'_>, topic: &str) -> Result<Vec<MessageQueue>> {
    let client = g.client;
    let route = match client.fetch_route(topic).await {
        Ok(r) => r,
        Err(e) => client.cached_route(topic).ok_or(e)?,
    };
    let all = subscribe_queues(topic, &route);
    if g.model == MessageModel::Broadcasting {
        return Ok(all);
    }
    // The group's members as a broker of the topic knows them from heartbeats (which go to
    // slaves too): a master if there is one, else a slave, so a broker name whose master died
    // does not stop the group from rebalancing (Apache's `findBrokerAddrByTopic`).
    let mut candidates: Vec<&str> = route
        .broker_datas
        .iter()
        .filter_map(|b| b.master_addr())
        .collect();
    if candidates.is_empty() {
        candidates = route
            .broker_datas
            .iter()
            .filter_map(|b| b.broker_addrs.values().next().map(String::as_str))
            .collect();
    }
    if candidates.is_empty() {
        return Err(Error::new(
            ErrorKind::TopicNotFound,
            "rebalance",
            "no broker for the topic",
        ));
    }
    let addr = candidates[random_u64() as usize % candidates.len()];
    let ids = client.consumer_ids(addr, g.group).await?;
    if ids.is_empty() {
        return Err(Error::new(
            ErrorKind::Broker,
            "rebalance",
            "the broker knows no member of the group yet",
        ));
    }
    Ok(g.allocate.allocate(client.id(), &all, &ids))
}

async fn offset_request(
    g: &GroupView<'_>,
    mq: &MessageQueue,
    request: RemotingCommand,
    op: &'static str,
) -> Result<i64> {
    let client = g.client;
    // A slave has the same consume queues: it answers when the master is gone.
    let broker = client
        .find_broker_for(&mq.broker_name, MASTER_ID, false, &mq.topic)
        .await?;
    let response = client
        .broker_request_for(&mq.topic, &broker.addr, request, client.timeout())
        .await?;
    if response.response_code() != ResponseCode::SUCCESS {
        return Err(Error::from_response(op, &response));
    }
    response
        .ext_fields
        .get("offset")
        .and_then(|o| o.parse().ok())
        .ok_or_else(|| Error::new(ErrorKind::Protocol, op, "no offset in the answer"))
}

pub(super) async fn max_offset(g: &GroupView<'_>, mq: &MessageQueue) -> Result<i64> {
    let header = GetMaxOffsetRequestHeader {
        topic: mq.topic.clone(),
        queue_id: mq.queue_id,
        committed: None,
        broker_name: Some(mq.broker_name.clone()),
    };
    let request = RemotingCommand::request_with_header(RequestCode::GET_MAX_OFFSET, &header);
    offset_request(g, mq, request, "max offset").await
}

/// Where a newly assigned queue starts (`computePullFromWhere`).
pub(super) async fn initial_offset(g: &GroupView<'_>, mq: &MessageQueue) -> Result<i64> {
    if let Some(offset) = g.offsets.read_stored(g.client, mq).await? {
        return Ok(offset);
    }
    let retry = mq
        .topic
        .starts_with(ferromq_protocol::names::RETRY_TOPIC_PREFIX);
    match g.consume_from {
        ConsumeFrom::FirstOffset => Ok(0),
        ConsumeFrom::LastOffset if retry => Ok(0),
        ConsumeFrom::LastOffset => max_offset(g, mq).await,
        ConsumeFrom::Timestamp(_) if retry => max_offset(g, mq).await,
        ConsumeFrom::Timestamp(ts) => {
            let header = SearchOffsetRequestHeader {
                topic: mq.topic.clone(),
                queue_id: mq.queue_id,
                timestamp: ts,
                boundary_type: None,
                broker_name: Some(mq.broker_name.clone()),
            };
            let request = RemotingCommand::request_with_header(
                RequestCode::SEARCH_OFFSET_BY_TIMESTAMP,
                &header,
            );
            offset_request(g, mq, request, "search offset").await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pull_to_a_slave_never_asks_it_to_store_the_offset() {
        use pull_sys_flag::{has, COMMIT_OFFSET, SUBSCRIPTION, SUSPEND};
        let to_master = sys_flag(true, false);
        assert!(has(to_master, COMMIT_OFFSET));
        let to_slave = sys_flag(true, true);
        assert!(!has(to_slave, COMMIT_OFFSET));
        assert_eq!(to_slave, to_master & !COMMIT_OFFSET, "the other bits stay");
        assert!(has(to_slave, SUSPEND) && has(to_slave, SUBSCRIPTION));
        assert!(!has(sys_flag(false, false), COMMIT_OFFSET));
    }
}
