//! Request dispatch: which handler answers each request code.

use std::sync::Arc;

use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use ferromq_remoting::{Connection, Handler};

use crate::acl::canonical;
use crate::handlers::{
    admin, client, group, locks, offset, pop, pop_assign, pop_notify, pull, query, recall, relay,
    reply, retry, send, topic, transaction,
};
use crate::response::{fail, Response};
use crate::state::Broker;

/// Answers one request.
async fn process(broker: &Broker, conn: &Connection, req: RemotingCommand) -> Response {
    let code = req.request_code();
    let req = &req;
    if let Err(refusal) = admit_all(broker, conn, req) {
        return refusal;
    }
    if is_table_write(code) && !broker.settings().broker.broker_role.is_master() {
        // A slave's topics and groups are its master's, copied every 10 s: a change made here
        // would vanish at the next copy. Apache 4.x and 5.0-5.1 answer this; later versions
        // accept the write and lose it the same way.
        return fail(
            ResponseCode::SYSTEM_ERROR,
            "Can't modify topic or subscription group from slave broker, please execute it from master broker.",
        );
    }
    match code {
        // Messages.
        RequestCode::SEND_MESSAGE
        | RequestCode::SEND_MESSAGE_V2
        | RequestCode::SEND_BATCH_MESSAGE => send::send_message(broker, conn, req).await,
        RequestCode::SEND_REPLY_MESSAGE | RequestCode::SEND_REPLY_MESSAGE_V2 => {
            reply::send_reply(broker, conn, req).await
        }
        RequestCode::PULL_MESSAGE | RequestCode::LITE_PULL_MESSAGE => {
            pull::pull_message(broker, req).await
        }
        // POP consumption (docs/pop.md).
        RequestCode::POP_MESSAGE => pop::pop_message(broker, req).await,
        RequestCode::ACK_MESSAGE => pop::ack_message(broker, req).await,
        RequestCode::BATCH_ACK_MESSAGE => pop::batch_ack(broker, req).await,
        RequestCode::CHANGE_MESSAGE_INVISIBLETIME => pop::change_invisible_time(broker, req).await,
        RequestCode::NOTIFICATION => pop_notify::notification_request(broker, req).await,
        RequestCode::POLLING_INFO => pop_notify::polling_info(broker, req),
        RequestCode::PEEK_MESSAGE => pop_notify::peek(broker, req),
        RequestCode::QUERY_ASSIGNMENT => pop_assign::query_assignment(broker, req).await,
        RequestCode::SET_MESSAGE_REQUEST_MODE => pop_assign::set_request_mode(broker, req),
        // Controller mode (docs/controller.md).
        RequestCode::NOTIFY_BROKER_ROLE_CHANGED => crate::replicas::notified(broker, req),
        RequestCode::GET_BROKER_EPOCH_CACHE => crate::replicas::epoch_cache(broker),
        RequestCode::CONSUMER_SEND_MSG_BACK => retry::send_back(broker, req).await,
        RequestCode::END_TRANSACTION => transaction::end_transaction(broker, req).await,
        RequestCode::RECALL_MESSAGE => recall::recall_message(broker, conn, req).await,
        // Clients.
        RequestCode::HEART_BEAT => client::heartbeat(broker, conn, req).await,
        RequestCode::UNREGISTER_CLIENT => client::unregister_client(broker, conn, req),
        RequestCode::CHECK_CLIENT_CONFIG => client::check_client_config(broker, req),
        RequestCode::GET_CONSUMER_LIST_BY_GROUP => client::consumer_list(broker, req),
        RequestCode::LOCK_BATCH_MQ => locks::lock_batch(broker, req),
        RequestCode::UNLOCK_BATCH_MQ => locks::unlock_batch(broker, req),
        // Offsets.
        RequestCode::QUERY_CONSUMER_OFFSET => offset::query_consumer_offset(broker, req),
        RequestCode::UPDATE_CONSUMER_OFFSET => offset::update_consumer_offset(broker, req),
        RequestCode::GET_MAX_OFFSET => offset::max_offset(broker, req),
        RequestCode::GET_MIN_OFFSET => offset::min_offset(broker, req),
        RequestCode::SEARCH_OFFSET_BY_TIMESTAMP => offset::search_offset(broker, req),
        RequestCode::GET_EARLIEST_MSG_STORETIME => offset::earliest_time(broker, req),
        RequestCode::GET_ALL_DELAY_OFFSET => offset::all_delay_offsets(broker),
        // Lookups.
        RequestCode::VIEW_MESSAGE_BY_ID => query::view_message(broker, req).await,
        RequestCode::QUERY_MESSAGE => query::query_message(broker, req),
        // Topics.
        RequestCode::UPDATE_AND_CREATE_TOPIC => topic::create_topic(broker, req).await,
        RequestCode::DELETE_TOPIC_IN_BROKER => topic::delete_topic(broker, req).await,
        RequestCode::GET_ALL_TOPIC_CONFIG => topic::all_topic_config(broker),
        RequestCode::GET_TOPIC_CONFIG => topic::topic_config(broker, req),
        RequestCode::GET_TOPIC_STATS_INFO => topic::topic_stats(broker, req),
        RequestCode::QUERY_CONSUME_QUEUE => topic::query_consume_queue(broker, req),
        RequestCode::CLEAN_UNUSED_TOPIC => topic::clean_unused_topics(broker).await,
        RequestCode::CLEAN_EXPIRED_CONSUMEQUEUE => {
            topic::clean_expired_consume_queues(broker).await
        }
        // Subscription groups.
        RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP => group::update_group(broker, req).await,
        RequestCode::GET_ALL_SUBSCRIPTIONGROUP_CONFIG => group::all_groups(broker),
        RequestCode::GET_SUBSCRIPTIONGROUP_CONFIG => group::group_config(broker, req),
        RequestCode::DELETE_SUBSCRIPTIONGROUP => group::delete_group(broker, req).await,
        RequestCode::GET_ALL_CONSUMER_OFFSET => group::all_offsets(broker),
        RequestCode::CLONE_GROUP_OFFSET => group::clone_group_offset(broker, req),
        RequestCode::GET_CONSUME_STATS => group::consume_stats(broker, req),
        RequestCode::GET_BROKER_CONSUME_STATS => group::broker_consume_stats(broker, req),
        RequestCode::QUERY_CONSUME_TIME_SPAN => group::consume_time_span(broker, req),
        RequestCode::UPDATE_AND_GET_GROUP_FORBIDDEN => group::group_forbidden(broker, req).await,
        RequestCode::QUERY_TOPIC_CONSUME_BY_WHO => group::consumed_by(broker, req),
        // The broker itself.
        RequestCode::GET_BROKER_RUNTIME_INFO => admin::runtime_info(broker),
        RequestCode::GET_BROKER_HA_STATUS => admin::ha_status(broker),
        RequestCode::VIEW_BROKER_STATS_DATA => admin::view_stats(broker, req),
        RequestCode::GET_CONSUMER_CONNECTION_LIST | RequestCode::GET_PRODUCER_CONNECTION_LIST => {
            admin::connections(broker, code, req)
        }
        // Relayed to consumers.
        RequestCode::GET_CONSUMER_RUNNING_INFO => relay::consumer_running_info(broker, req).await,
        RequestCode::CONSUME_MESSAGE_DIRECTLY => relay::consume_message_directly(broker, req).await,
        RequestCode::INVOKE_BROKER_TO_RESET_OFFSET => relay::reset_offset(broker, req).await,
        RequestCode::INVOKE_BROKER_TO_GET_CONSUMER_STATUS => {
            relay::consumer_status(broker, req).await
        }
        RequestCode::GET_ALL_PRODUCER_INFO => admin::all_producers(broker),
        RequestCode::GET_BROKER_CONFIG => admin::broker_config(broker),
        RequestCode::UPDATE_BROKER_CONFIG => admin::update_broker_config(broker, req).await,
        // ACL 2.0 users and ACLs.
        RequestCode::AUTH_CREATE_USER
        | RequestCode::AUTH_UPDATE_USER
        | RequestCode::AUTH_DELETE_USER
        | RequestCode::AUTH_GET_USER
        | RequestCode::AUTH_LIST_USER
        | RequestCode::AUTH_CREATE_ACL
        | RequestCode::AUTH_UPDATE_ACL
        | RequestCode::AUTH_DELETE_ACL
        | RequestCode::AUTH_GET_ACL
        | RequestCode::AUTH_LIST_ACL => crate::auth::admin::handle(broker, req).await,
        RequestCode::UPDATE_AND_CREATE_ACL_CONFIG
        | RequestCode::DELETE_ACL_CONFIG
        | RequestCode::GET_BROKER_CLUSTER_ACL_INFO
        | RequestCode::UPDATE_GLOBAL_WHITE_ADDRS_CONFIG
        | RequestCode::GET_BROKER_CLUSTER_ACL_CONFIG => crate::acl::admin::handle(broker, req),
        other => fail(
            ResponseCode::REQUEST_CODE_NOT_SUPPORTED,
            format!(" request type {} not supported", other.0),
        ),
    }
}

/// The ACL 1.0 and ACL 2.0 checks (docs/security.md), before any handler. With both on, both
/// must pass, as in Apache 5.3.2 (its ACL 1.0 RPC hook runs first and its refusal is kept while
/// the ACL 2.0 pipeline runs; an ACL 2.0 refusal is the one answered). A slave copying its
/// master's tables passes from the address of its HA connection.
fn admit_all(broker: &Broker, conn: &Connection, req: &RemotingCommand) -> Result<(), Response> {
    let auth = broker.auth.enabled();
    if broker.acl.is_none() && !auth {
        return Ok(());
    }
    if broker.auth.in_process.signed(req) {
        // The broker's own gRPC endpoint, which checked the client's call (docs/grpc.md).
        return Ok(());
    }
    let ip = conn.peer_addr().ip();
    if crate::acl::is_slave_sync(req.request_code())
        && broker
            .replication
            .slaves()
            .iter()
            .any(|s| canonical(s.addr.ip()) == canonical(ip))
    {
        return Ok(());
    }
    let v1 = broker.acl.as_ref().map_or(Ok(()), |acl| acl.admit(ip, req));
    if auth {
        broker.auth.admit(ip, req)?;
    }
    v1
}

/// Codes that change the topic or subscription group tables (or, CLEAN_UNUSED_TOPIC, the
/// queues of topics missing from them: a slave's table lags its master's).
fn is_table_write(code: RequestCode) -> bool {
    matches!(
        code,
        RequestCode::UPDATE_AND_CREATE_TOPIC
            | RequestCode::DELETE_TOPIC_IN_BROKER
            | RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP
            | RequestCode::DELETE_SUBSCRIPTIONGROUP
            | RequestCode::UPDATE_AND_GET_GROUP_FORBIDDEN
            | RequestCode::CLEAN_UNUSED_TOPIC
    )
}

/// The remoting handler: one per listener, sharing the broker.
#[derive(Debug, Clone)]
pub struct BrokerHandler(pub(crate) Arc<Broker>);

impl Handler for BrokerHandler {
    async fn handle(&self, conn: &Connection, request: RemotingCommand) -> Option<RemotingCommand> {
        if !self.0.stats.rpc.is_enabled() {
            return Some(process(&self.0, conn, request).await);
        }
        let start = std::time::Instant::now();
        let _serving = (self.0.stats.meters.processing).serving(request.request_code());
        let (code, oneway) = (request.code, request.is_oneway());
        let (response, held) =
            ferromq_remoting::rpc_metrics::watch_long_polling(process(&self.0, conn, request))
                .await;
        let elapsed = start.elapsed();
        self.0
            .stats
            .rpc
            .record(code, response.code, held, oneway, elapsed);
        Some(response)
    }

    fn on_close(&self, conn: &Connection) {
        client::connection_closed(&self.0, conn);
    }
}
